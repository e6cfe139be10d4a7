"""A local ClinicalTrials.gov API v2 that replays recorded studies, with injectable faults.

Used by the tests (API client, end-to-end job) and by ``make run-trials``: the job talks HTTP to
it exactly as it talks to clinicaltrials.gov, so pagination, incremental filters, retries and
resumption are exercised over a real socket. It serves, from ``<fixtures>/studies.json`` (a JSON
list of study objects in the v2 shape) and ``<fixtures>/metadata.json``:

  GET /api/v2/version            {"apiVersion", "dataTimestamp"}
  GET /api/v2/studies/metadata   the metadata tree
  GET /api/v2/studies            pageSize (default 10, max 1000), pageToken (opaque, bound to
                                 the query), countTotal, fields (top-level keys, dotted paths and
                                 a few piece names), query.term / query.cond (substring),
                                 filter.advanced (AREA[LastUpdatePostDate]RANGE[from,to]; other
                                 terms are ignored)

Faults (``--fault``, or POST /_replay/faults with a JSON list of the same strings) are
``KIND[:key=value,...]``; KIND is 429, 500, 503, slow, hang, malformed or drop; keys: ``page``
(exact studies page index), ``from_page`` (that page and later), ``path`` (studies, version,
metadata; default studies), ``times`` (how often it fires; -1 = forever; default 1),
``retry_after`` (429/503 header value), ``delay`` (seconds, slow). Examples:
``429:page=1,retry_after=2``, ``500:from_page=3,times=-1``, ``slow:page=0,delay=3``.

Test control: GET /_replay/requests (what was asked, in order), POST /_replay/reset (forget
requests), POST /_replay/studies (replace the served studies with a posted JSON list).
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import json
import logging
import re
import sys
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from lakeprep.trials.loopback import LoopbackServer

log = logging.getLogger("lakeprep.trials.replay")

PREFIX = "/api/v2"
DEFAULT_PAGE_SIZE = 10  # the real API's default when pageSize is absent
MAX_PAGE_SIZE = 1000
FAULT_KINDS = ("429", "500", "503", "slow", "hang", "malformed", "drop")
# Piece names the real API accepts in `fields`, mapped to paths (enough for narrowing tests).
PIECES = {
    "NCTId": "protocolSection.identificationModule.nctId",
    "BriefTitle": "protocolSection.identificationModule.briefTitle",
    "OverallStatus": "protocolSection.statusModule.overallStatus",
    "LastUpdatePostDate": "protocolSection.statusModule.lastUpdatePostDateStruct",
    "Condition": "protocolSection.conditionsModule.conditions",
    "Phase": "protocolSection.designModule.phases",
}
_RANGE = re.compile(r"AREA\[LastUpdatePostDate\]RANGE\[\s*([^,\]]+)\s*,\s*([^\]]+)\s*\]", re.I)


@dataclass
class Fault:
    kind: str
    path: str = "studies"
    page: int | None = None
    from_page: int | None = None
    times: int = 1
    retry_after: str | None = None
    delay: float = 0.0

    @classmethod
    def parse(cls, spec: str) -> Fault:
        kind, _, rest = spec.partition(":")
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r} in {spec!r}; known: {FAULT_KINDS}")
        fault = cls(kind=kind)
        for item in filter(None, rest.split(",")):
            key, _, value = item.partition("=")
            if key in ("page", "from_page", "times"):
                setattr(fault, key, int(value))
            elif key == "delay":
                fault.delay = float(value)
            elif key in ("retry_after", "path"):
                setattr(fault, key, value)
            else:
                raise ValueError(f"unknown fault option {key!r} in {spec!r}")
        return fault

    def matches(self, path: str, page: int | None) -> bool:
        if self.times == 0 or path != self.path:
            return False
        if self.page is not None and page != self.page:
            return False
        if self.from_page is not None and (page is None or page < self.from_page):
            return False
        return True


def _date_key(value: str | None) -> str:
    """Partial dates compare as the first day of their period ("2015-08" -> "2015-08-01")."""
    if not value:
        return ""
    parts = value.split("-")
    return "-".join(parts + ["01"] * (3 - len(parts)))


def _get_path(obj, path: str):
    for part in path.split("."):
        if not isinstance(obj, dict) or part not in obj:
            return None
        obj = obj[part]
    return obj


def _select_fields(study: dict, fields: list[str]) -> dict:
    out: dict = {}
    for f in fields:
        path = PIECES.get(f, f)
        value = _get_path(study, path)
        if value is None:
            continue
        node = out
        parts = path.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return out


class ReplayState:
    """Studies, faults and the request log, shared by the handler threads."""

    def __init__(self, studies: list, metadata, api_version: str, data_timestamp: str,
                 faults: list[Fault] | None = None):
        self.lock = threading.Lock()
        self.studies = studies
        self.metadata = metadata
        self.api_version = api_version
        self.data_timestamp = data_timestamp
        self.faults = list(faults or [])
        self.requests: list[dict] = []
        self.stopping = threading.Event()

    def take_fault(self, path: str, page: int | None) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.matches(path, page):
                    if fault.times > 0:
                        fault.times -= 1
                    return fault
        return None


class _Handler(BaseHTTPRequestHandler):
    server_version = "lakeprep-ctgov-replay/1"
    protocol_version = "HTTP/1.1"

    @property
    def state(self) -> ReplayState:
        return self.server.state  # type: ignore[attr-defined]

    def log_message(self, fmt, *args):  # route the stdlib's access log to logging
        log.debug("%s " + fmt, self.address_string(), *args)

    # -- responses ---------------------------------------------------------------------------

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, obj) -> None:
        self._send(status, json.dumps(obj).encode())

    def _error(self, status: int, message: str) -> None:
        self._send(status, message.encode(), {"Content-Type": "text/plain"})

    # -- routing -----------------------------------------------------------------------------

    def do_GET(self):  # noqa: N802 (stdlib naming)
        url = urlparse(self.path)
        params = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        if url.path == "/_replay/requests":
            with self.state.lock:
                return self._json(200, list(self.state.requests))
        routes = {f"{PREFIX}/version": "version", f"{PREFIX}/studies/metadata": "metadata",
                  f"{PREFIX}/studies": "studies"}
        name = routes.get(url.path.rstrip("/"))
        if name is None:
            return self._error(404, f"no such endpoint: {url.path}")
        page = None
        if name == "studies":
            try:
                offset, size, _ = self._paging(params)
                page = offset // size
            except ValueError:
                page = None
        with self.state.lock:
            self.state.requests.append({"path": name, "params": params, "page": page,
                                        "time": time.time()})
        fault = self.state.take_fault(name, page)
        if fault is not None and self._inject(fault, name, params):
            return
        if name == "version":
            return self._json(200, {"apiVersion": self.state.api_version,
                                    "dataTimestamp": self.state.data_timestamp})
        if name == "metadata":
            if self.state.metadata is None:
                return self._error(404, "no metadata.json in the fixtures")
            return self._json(200, self.state.metadata)
        try:
            body = self._studies_page(params)
        except ValueError as exc:
            return self._error(400, str(exc))
        if fault is not None and fault.kind == "malformed":
            # A response cut short by a proxy: valid start, no end.
            body = body[: max(1, len(body) // 2)]
        self._send(200, body)

    def do_POST(self):  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        payload = json.loads(self.rfile.read(length) or b"null")
        url = urlparse(self.path)
        with self.state.lock:
            if url.path == "/_replay/faults":
                self.state.faults = [Fault.parse(s) for s in payload or []]
            elif url.path == "/_replay/reset":
                self.state.requests.clear()
            elif url.path == "/_replay/studies":
                self.state.studies = list(payload)
            else:
                return self._error(404, f"no such control endpoint: {url.path}")
        self._json(200, {"ok": True})

    # -- faults ------------------------------------------------------------------------------

    def _inject(self, fault: Fault, name: str, params: dict) -> bool:
        """Apply ``fault``; True when the response has been dealt with."""
        log.info("fault %s on %s %s", fault.kind, name, params.get("pageToken", ""))
        if fault.kind in ("429", "500", "503"):
            headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
            self._send(int(fault.kind), b'{"error": "injected"}', headers)
            return True
        if fault.kind == "slow":
            time.sleep(fault.delay)
            return False
        if fault.kind == "hang":
            # Until the server stops: the client's read timeout is what ends the request.
            self.state.stopping.wait(3600)
            self.close_connection = True
            return True
        if fault.kind == "drop":
            # Close the socket without a status line: the client sees the connection reset.
            self.close_connection = True
            return True
        return False  # malformed: served below, cut in half

    # -- /studies ----------------------------------------------------------------------------

    @staticmethod
    def _query_key(params: dict) -> str:
        keys = sorted(k for k in params if k.startswith(("query.", "filter.")) or k == "fields")
        return hashlib.sha256(json.dumps([(k, params[k]) for k in keys]).encode()).hexdigest()[:12]

    def _paging(self, params: dict) -> tuple[int, int, str]:
        size = int(params.get("pageSize") or DEFAULT_PAGE_SIZE)
        if not 1 <= size <= MAX_PAGE_SIZE:
            raise ValueError(f"pageSize must be between 1 and {MAX_PAGE_SIZE}")
        key = self._query_key(params)
        token = params.get("pageToken")
        if not token:
            return 0, size, key
        try:
            decoded = json.loads(base64.urlsafe_b64decode(token.encode() + b"=="))
            offset, bound = int(decoded["o"]), decoded["q"]
        except (ValueError, KeyError, TypeError):
            raise ValueError(f"invalid pageToken {token!r}") from None
        if bound != key:
            raise ValueError("pageToken does not belong to this query")
        return offset, size, key

    def _matching(self, params: dict) -> list:
        studies = self.state.studies
        adv = params.get("filter.advanced", "")
        m = _RANGE.search(adv)
        if m:
            low, high = (v.strip().upper() for v in m.groups())
            lo = "" if low == "MIN" else _date_key(low)
            hi = None if high == "MAX" else _date_key(high)

            def in_range(s):
                d = _date_key(_get_path(s, "protocolSection.statusModule."
                                           "lastUpdatePostDateStruct.date"))
                return bool(d) and d >= lo and (hi is None or d <= hi)
            studies = [s for s in studies if in_range(s)]
        cond = params.get("query.cond", "").lower()
        if cond:
            studies = [s for s in studies if any(
                cond in str(c).lower() for c in
                _get_path(s, "protocolSection.conditionsModule.conditions") or [])]
        term = params.get("query.term", "").lower()
        if term:
            studies = [s for s in studies if term in json.dumps(s).lower()]
        return studies

    def _studies_page(self, params: dict) -> bytes:
        offset, size, key = self._paging(params)
        with self.state.lock:
            matching = self._matching(params)
        chunk = matching[offset:offset + size]
        fields = [f.strip() for f in params.get("fields", "").split(",") if f.strip()]
        if fields:
            unknown = [f for f in fields if f not in PIECES and not re.fullmatch(r"[a-z][\w.]*", f)]
            if unknown:
                raise ValueError(f"unknown fields: {unknown}")
            chunk = [_select_fields(s, fields) for s in chunk]
        out: dict = {}
        if params.get("countTotal", "").lower() == "true":
            out["totalCount"] = len(matching)
        out["studies"] = chunk
        if offset + size < len(matching):
            token = json.dumps({"o": offset + size, "q": key}, separators=(",", ":"))
            out["nextPageToken"] = base64.urlsafe_b64encode(token.encode()).decode().rstrip("=")
        return json.dumps(out, ensure_ascii=False).encode("utf-8")


class ReplayServer(LoopbackServer):
    thread_name = "ctgov-replay"

    """The server on a background thread: ``with ReplayServer(fixtures) as srv: srv.base_url``."""

    def __init__(self, fixtures: str | Path, port: int = 0, host: str = "127.0.0.1",
                 faults: list[str] | None = None, api_version: str = "2.0.5",
                 data_timestamp: str = "2026-11-20T09:00:05"):
        fixtures = Path(fixtures)
        studies_file = fixtures / "studies.json"
        if not studies_file.exists():
            raise FileNotFoundError(f"replay: {studies_file} not found")
        studies = json.loads(studies_file.read_text(encoding="utf-8"))
        meta_file = fixtures / "metadata.json"
        metadata = json.loads(meta_file.read_text(encoding="utf-8")) if meta_file.exists() else None
        self.state = ReplayState(studies, metadata, api_version, data_timestamp,
                                 [Fault.parse(f) for f in faults or []])
        self._bind(host, port, _Handler, self.state)

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://{self.httpd.server_address[0]}:{self.port}{PREFIX}"

    def set_faults(self, specs: list[str]) -> None:
        with self.state.lock:
            self.state.faults = [Fault.parse(s) for s in specs]

    def requests(self, path: str | None = None) -> list[dict]:
        with self.state.lock:
            return [r for r in self.state.requests if path is None or r["path"] == path]

    def _before_stop(self) -> None:
        self.state.stopping.set()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m lakeprep.trials.replay",
        description="Serve recorded ClinicalTrials.gov studies as a local API v2 "
                    "(/api/v2/studies, /version, /studies/metadata), optionally with faults.")
    parser.add_argument("--fixtures", required=True, metavar="DIR",
                        help="folder with studies.json (and metadata.json)")
    parser.add_argument("--port", type=int, default=8765, help="TCP port (default 8765; 0 = any)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--fault", action="append", default=[], metavar="SPEC",
                        help="inject a fault, e.g. 429:page=1,retry_after=2 (repeatable)")
    parser.add_argument("--data-timestamp", default="2026-11-20T09:00:05",
                        help="dataTimestamp reported by /version")
    parser.add_argument("--port-file", metavar="PATH",
                        help="write the bound port here once listening (for scripts using --port 0)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        server = ReplayServer(args.fixtures, args.port, args.host, args.fault,
                              data_timestamp=args.data_timestamp)
    except (FileNotFoundError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.port_file:
        Path(args.port_file).write_text(str(server.port))
    log.info("serving %d studies at %s", len(server.state.studies), server.base_url)
    try:
        server.httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.state.stopping.set()
        server.httpd.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
