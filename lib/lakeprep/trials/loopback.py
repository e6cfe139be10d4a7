"""The background-thread life cycle shared by the local test servers that stand in for remote
APIs (lakeprep.trials.replay for ClinicalTrials.gov, lakeprep.trials.chat_server for an
OpenAI-compatible LLM): ``with Server(...) as srv:`` serves on a daemon thread until the block
ends."""
from __future__ import annotations

import sys
import threading
from http.server import ThreadingHTTPServer


class QuietHTTPServer(ThreadingHTTPServer):
    """A threading HTTP server whose handler threads die with the process, and which says
    nothing when a client hangs up mid-answer: the timeout tests make clients give up on slow
    answers on purpose, and the stdlib printed each as a BrokenPipeError traceback on stderr."""

    daemon_threads = True

    def handle_error(self, request, client_address):
        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            return
        super().handle_error(request, client_address)


class LoopbackServer:
    """Subclasses call :meth:`_bind` in their constructor and name their thread."""

    thread_name = "loopback-http"
    httpd: QuietHTTPServer
    _thread: threading.Thread | None = None

    def _bind(self, host: str, port: int, handler, state) -> None:
        """Listen on ``host:port`` (0 = a free port); handlers reach ``state`` as
        ``self.server.state``."""
        self.httpd = QuietHTTPServer((host, port), handler)
        self.httpd.state = state  # type: ignore[attr-defined]

    def start(self):
        # A short poll interval: stop() returns quickly between tests.
        self._thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,),
                                        daemon=True, name=self.thread_name)
        self._thread.start()
        return self

    def _before_stop(self) -> None:
        """Hook: release handlers that wait (e.g. simulated slow responses)."""

    def stop(self) -> None:
        self._before_stop()
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
