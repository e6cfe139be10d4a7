"""The local stand-in servers' HTTP server: a client hanging up mid-answer is not an error."""
from __future__ import annotations

import socket
import struct
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from lakeprep.trials.loopback import LoopbackServer, QuietHTTPServer


class _Slow(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/bug":
            raise ValueError("a bug in a handler")
        time.sleep(0.3)  # the client has reset the connection by now
        self.send_response(200)
        self.end_headers()
        for _ in range(64):
            self.wfile.write(b"x" * 65536)

    def log_message(self, *args):
        pass


class _Server(LoopbackServer):
    def __init__(self, server_class):
        self.httpd = server_class(("127.0.0.1", 0), _Slow)


def _serve(server_class, path: str, capsys) -> str:
    with _Server(server_class) as server:
        client = socket.create_connection(server.httpd.server_address)
        client.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        # Linger 0: close() sends a reset, as a client process that gave up does.
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        client.close()
        time.sleep(1.0)
    return capsys.readouterr().err


def test_a_client_that_hung_up_prints_nothing(capsys):
    assert "Traceback" not in _serve(QuietHTTPServer, "/", capsys)


def test_the_stdlib_server_would_print_a_traceback(capsys):
    # What the quiet server is for: the same exchange on the plain server.
    err = _serve(ThreadingHTTPServer, "/", capsys)
    assert "BrokenPipeError" in err or "ConnectionResetError" in err


def test_a_handler_bug_is_still_reported(capsys):
    assert "ValueError: a bug in a handler" in _serve(QuietHTTPServer, "/bug", capsys)


@pytest.mark.parametrize("name", ["ReplayServer", "ChatServer"])
def test_both_stand_in_servers_use_it(name, tmp_path):
    import json

    from lakeprep.trials import chat_server, replay
    (tmp_path / "studies.json").write_text(json.dumps([]))
    server = (replay.ReplayServer(tmp_path) if name == "ReplayServer"
              else chat_server.ChatServer())
    try:
        assert isinstance(server.httpd, QuietHTTPServer)
    finally:
        server.httpd.server_close()
