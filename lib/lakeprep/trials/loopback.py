"""The background-thread life cycle shared by the local test servers that stand in for remote
APIs (lakeprep.trials.replay for ClinicalTrials.gov, lakeprep.trials.chat_server for an
OpenAI-compatible LLM): ``with Server(...) as srv:`` serves on a daemon thread until the block
ends."""
from __future__ import annotations

import threading
from http.server import ThreadingHTTPServer


class LoopbackServer:
    """Subclasses set ``self.httpd`` (a ThreadingHTTPServer) and name their thread."""

    thread_name = "loopback-http"
    httpd: ThreadingHTTPServer

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
