"""The HTTP servers tests crawl: portals on 127.0.0.1, and 127.0.0.2 as the "off-site" host that must
receive nothing. One owner for the server boilerplate the crawl tests share."""
from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


def serve(host: str, handler) -> ThreadingHTTPServer:
    """`handler` served on a free port of `host` in a daemon thread."""
    server = ThreadingHTTPServer((host, 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class QuietHandler(BaseHTTPRequestHandler):
    """A handler that answers with `_send` and keeps the test output clean."""

    def _send(self, ctype, body: bytes, status: int = 200):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


def off_site(hits: list) -> ThreadingHTTPServer:
    """127.0.0.2, recording every path asked of it in `hits` (a test asserts it stays empty);
    skips the test where that address cannot be bound."""
    class OffSite(QuietHandler):
        def do_GET(self):
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()

        do_POST = do_GET

    try:
        return serve("127.0.0.2", OffSite)
    except OSError:
        pytest.skip("127.0.0.2 is not bindable here")
