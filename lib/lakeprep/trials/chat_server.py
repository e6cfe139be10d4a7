"""A local OpenAI-compatible chat-completions server, with injectable faults.

Where it sits: the stand-in for a paid LLM API in the tests of issue 9's condition
standardization (lakeprep.trials.standardize) and for ``make``-style local runs without a key.
The job talks HTTP to it exactly as to api.openai.com (``POST <base>/chat/completions`` with a
Bearer key, JSON in, a ``chat.completion`` object out), so batching, validation, retries,
timeouts and fallbacks are exercised over a real socket.

Answers: the last user message must be the JSON the standardizer sends
(``{"names": [{"id", "name", "candidates": [{"mesh_id", "term"}]}]}``). For each name the server
answers from ``knowledge`` (lower-cased name -> (canonical name, MeSH id)) when it knows the
name, else picks the candidate whose term shares most words with the name (the first candidate
on ties), else echoes the name with no MeSH id. That is a deterministic, plausible answerer, not
a language model: agreement figures measured against it say nothing about a real model.

Faults (``faults=[...]`` or ``set_faults``) are ``KIND[:key=value,...]``; KIND is ``429``,
``500``, ``401``, ``slow`` (sleep ``delay`` s, then answer), ``invalid_json`` (content that is
not JSON), ``bad_body`` (an HTTP 200 body that is not JSON), ``wrong_id`` (a MeSH id nobody
derived, D999999), ``missing`` (answers only the first name); keys: ``times`` (how often it
fires, -1 forever, default 1), ``retry_after`` (429 header), ``delay`` (slow).
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler

from lakeprep.trials.loopback import LoopbackServer

FAULT_KINDS = ("429", "500", "401", "slow", "invalid_json", "bad_body", "wrong_id", "missing")
# A syntactically valid descriptor id that no study derives: the validator must reject it.
UNKNOWN_MESH_ID = "D999999"


@dataclass
class Fault:
    kind: str
    times: int = 1
    retry_after: str | None = None
    delay: float = 0.0

    @classmethod
    def parse(cls, spec: str) -> Fault:
        kind, _, rest = spec.partition(":")
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r} (one of {', '.join(FAULT_KINDS)})")
        fault = cls(kind)
        for part in filter(None, rest.split(",")):
            key, _, value = part.partition("=")
            if key == "times":
                fault.times = int(value)
            elif key == "retry_after":
                fault.retry_after = value
            elif key == "delay":
                fault.delay = float(value)
            else:
                raise ValueError(f"unknown fault key {key!r} in {spec!r}")
        return fault


@dataclass
class ChatState:
    api_key: str | None
    knowledge: dict[str, tuple[str, str | None]]
    faults: list[Fault]
    lock: threading.Lock = field(default_factory=threading.Lock)
    # One entry per request: names asked, model, whether the key matched, the fault served.
    requests: list[dict] = field(default_factory=list)

    def next_fault(self) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.times != 0:
                    if fault.times > 0:
                        fault.times -= 1
                    return fault
        return None


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", text.lower()))


def answer_names(names: list[dict], knowledge: dict[str, tuple[str, str | None]]) -> list[dict]:
    """The server's deterministic answer for one batch (see the module docstring)."""
    out = []
    for item in names:
        name = str(item.get("name", ""))
        known = knowledge.get(name.strip().lower())
        if known:
            out.append({"id": item.get("id"), "canonical_name": known[0], "mesh_id": known[1]})
            continue
        best, best_overlap = None, 0
        for cand in item.get("candidates") or []:
            overlap = len(_words(name) & _words(str(cand.get("term", ""))))
            if overlap > best_overlap:
                best, best_overlap = cand, overlap
        if best is None and item.get("candidates"):
            best = item["candidates"][0]
        if best is not None:
            out.append({"id": item.get("id"), "canonical_name": best.get("term"),
                        "mesh_id": best.get("mesh_id")})
        else:
            out.append({"id": item.get("id"), "canonical_name": name.strip(), "mesh_id": None})
    return out


class _Handler(BaseHTTPRequestHandler):
    server_version = "lakeprep-chat/1.0"

    def log_message(self, fmt, *args):  # keep test output quiet
        pass

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _error(self, status: int, message: str, kind: str, headers=None) -> None:
        self._send(status, json.dumps({"error": {"message": message, "type": kind,
                                                 "code": None}}).encode(), headers)

    def do_POST(self):  # noqa: N802 (http.server's naming)
        state: ChatState = self.server.state
        if not self.path.rstrip("/").endswith("/chat/completions"):
            return self._error(404, f"no route {self.path}", "invalid_request_error")
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
            names = json.loads(body["messages"][-1]["content"])["names"]
        except (ValueError, KeyError, IndexError, TypeError):
            return self._error(400, "expected the standardizer's JSON request",
                               "invalid_request_error")
        key_ok = state.api_key is None or \
            self.headers.get("Authorization") == f"Bearer {state.api_key}"
        fault = state.next_fault()
        with state.lock:
            state.requests.append({"names": [n.get("name") for n in names],
                                   "model": body.get("model"), "key_ok": key_ok,
                                   "response_format": body.get("response_format"),
                                   "fault": fault.kind if fault else None})
        if not key_ok:
            return self._error(401, "Incorrect API key provided", "invalid_request_error")
        if fault is not None:
            if fault.kind == "429":
                headers = {"Retry-After": fault.retry_after} if fault.retry_after else None
                return self._error(429, "Rate limit reached", "rate_limit_error", headers)
            if fault.kind in ("500", "401"):
                return self._error(int(fault.kind), "injected fault", "server_error")
            if fault.kind == "slow":
                time.sleep(fault.delay)
            if fault.kind == "bad_body":
                return self._send(200, b"<html>upstream proxy error</html>")
        results = answer_names(names, state.knowledge)
        if fault is not None and fault.kind == "wrong_id":
            results = [{**r, "mesh_id": UNKNOWN_MESH_ID} for r in results]
        if fault is not None and fault.kind == "missing":
            results = results[:1]
        content = json.dumps({"results": results})
        if fault is not None and fault.kind == "invalid_json":
            content = "Sure! Here are the results: " + content[: len(content) // 2]
        reply = {"id": f"chatcmpl-local-{len(state.requests)}", "object": "chat.completion",
                 "created": int(time.time()), "model": body.get("model"),
                 "choices": [{"index": 0, "finish_reason": "stop",
                              "message": {"role": "assistant", "content": content}}],
                 "usage": {"prompt_tokens": length // 4, "completion_tokens": len(content) // 4,
                           "total_tokens": (length + len(content)) // 4}}
        self._send(200, json.dumps(reply).encode())


class ChatServer(LoopbackServer):
    thread_name = "chat-completions"

    """The server on a background thread: ``with ChatServer() as srv: srv.base_url``.

    ``api_key``: when set, requests without ``Authorization: Bearer <api_key>`` get HTTP 401.
    """

    def __init__(self, port: int = 0, host: str = "127.0.0.1", api_key: str | None = None,
                 knowledge: dict[str, tuple[str, str | None]] | None = None,
                 faults: list[str] | None = None):
        self.state = ChatState(api_key, {k.strip().lower(): v for k, v in (knowledge or {}).items()},
                               [Fault.parse(f) for f in faults or []])
        self._bind(host, port, _Handler, self.state)

    @property
    def base_url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def set_faults(self, specs: list[str]) -> None:
        with self.state.lock:
            self.state.faults = [Fault.parse(s) for s in specs]

    @property
    def requests(self) -> list[dict]:
        with self.state.lock:
            return list(self.state.requests)



def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m lakeprep.trials.chat_server",
        description="Serve a local OpenAI-compatible /v1/chat/completions for the condition "
                    "standardizer (deterministic answers, optional faults).")
    parser.add_argument("--port", type=int, default=8099)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--fault", action="append", default=[], metavar="SPEC",
                        help=f"KIND[:times=N,retry_after=S,delay=S]; KIND in {FAULT_KINDS}")
    args = parser.parse_args(argv)
    try:
        server = ChatServer(args.port, args.host, faults=args.fault)
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"chat-completions server on {server.base_url}", file=sys.stderr)
    try:
        server.httpd.serve_forever(0.2)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
