"""A small threaded HTTP server for the sample portals (standard library only)."""
from __future__ import annotations

import hashlib
import os
import threading
import time
import urllib.parse
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from harvester.sample_portals.sites import Catalog, Request, Resp, build

DEFAULT_SLOW_DELAY = 10.0     # seconds the "timeout" page waits before answering
MAX_SLOW_DELAY = 60.0

NOT_FOUND = (b"<html><head><title>404 Not Found</title></head><body><h1>Not Found</h1>"
             b"<p>The requested URL was not found on this server.</p></body></html>")


@lru_cache(maxsize=1)
def catalog() -> Catalog:
    return build()


class _Handler(BaseHTTPRequestHandler):
    server_version = "Apache-Coyote/1.1"
    sys_version = ""
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):   # quiet unless asked
        if self.server.verbose:
            super().log_message(fmt, *args)

    def _serve(self, method: str) -> None:
        if self.server.latency:      # what a real portal costs per request (distributed benchmarks, tests)
            time.sleep(self.server.latency)
        parts = urllib.parse.urlsplit(self.path)
        path = urllib.parse.unquote(parts.path)
        query = parts.query
        form = {}
        if method == "POST":
            n = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(n) if n else b""
            form = {k: v[-1] for k, v in urllib.parse.parse_qs(raw.decode("utf-8", "replace")).items()}
        routes = catalog().routes
        route = None
        if query:   # exact "path?query" routes first (download endpoints, redirect pairs)
            route = routes.get(f"{path}?{query}") or routes.get(f"{path}?{urllib.parse.unquote(query)}")
        if route is None:   # otherwise the path; static pages ignore unknown query strings, as real servers do
            route = routes.get(path)
        if route is None:
            return self._send(Resp(404, "text/html; charset=iso-8859-1", NOT_FOUND), method)
        if callable(route):
            q = {k: v[-1] for k, v in urllib.parse.parse_qs(query, keep_blank_values=True).items()}
            route = route(Request(method, path, q, form, self.headers.get("Host", "")))
        if not callable(routes.get(path)) and route.status == 200 and method == "GET":
            # Static files carry an ETag, as most portal web servers send; dynamic routes do not.
            etag = '"%s"' % hashlib.sha1(route.body).hexdigest()[:16]
            if self.headers.get("If-None-Match") == etag:
                return self._send(Resp(304, route.ctype, b"", [("ETag", etag)]), "HEAD")
            route = Resp(route.status, route.ctype, route.body, [*route.headers, ("ETag", etag)])
        if path in catalog().slow_paths:
            deadline = time.monotonic() + self.server.slow_delay
            while time.monotonic() < deadline and not self.server.stopping.is_set():
                time.sleep(0.05)
        self._send(route, method)

    def _send(self, r: Resp, method: str) -> None:
        with self.server.counter_lock:   # what benchmarks compare between two crawls
            self.server.requests += 1
            self.server.bytes_sent += 0 if method == "HEAD" else len(r.body)
        try:
            self.send_response(r.status)
            self.send_header("Content-Type", r.ctype)
            self.send_header("Content-Length", str(len(r.body)))
            for k, v in r.headers:
                self.send_header(k, v)
            self.end_headers()
            if method != "HEAD":
                self.wfile.write(r.body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def do_GET(self):
        self._serve("GET")

    def do_HEAD(self):
        self._serve("HEAD")

    def do_POST(self):
        self._serve("POST")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        # A crawler that times out or closes early resets the connection: expected, not news.
        import sys
        if isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            return
        super().handle_error(request, client_address)


class SamplePortals:
    """A running server. `base_url` is "http://HOST:PORT"; `stop()` shuts it down."""

    def __init__(self, port: int = 0, host: str = "127.0.0.1", slow_delay: float | None = None,
                 verbose: bool = False, latency: float | None = None):
        catalog()   # build once, before serving
        if slow_delay is None:
            slow_delay = float(os.environ.get("OGI_SAMPLE_SLOW_DELAY", DEFAULT_SLOW_DELAY))
        self.httpd = _Server((host, port), _Handler)
        self.httpd.slow_delay = max(0.0, min(MAX_SLOW_DELAY, float(slow_delay)))
        self.httpd.stopping = threading.Event()
        self.httpd.verbose = verbose
        # Seconds added to every answer (settable while serving: `portals.latency = 0.05`).
        self.httpd.latency = float(os.environ.get("OGI_SAMPLE_LATENCY", 0) if latency is None else latency)
        self.httpd.requests = self.httpd.bytes_sent = 0
        self.httpd.counter_lock = threading.Lock()
        self.host, self.port = self.httpd.server_address[:2]
        self.base_url = f"http://{self.host}:{self.port}"
        self._thread: threading.Thread | None = None

    @property
    def latency(self) -> float:
        return self.httpd.latency

    @latency.setter
    def latency(self, seconds: float) -> None:
        self.httpd.latency = max(0.0, float(seconds))

    def start_background(self) -> "SamplePortals":
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="sample-portals", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self.httpd.serve_forever(poll_interval=0.2)

    def stop(self) -> None:
        self.httpd.stopping.set()
        if self._thread is not None:
            self.httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self.httpd.server_close()

    def __enter__(self) -> "SamplePortals":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def start(port: int = 0, host: str = "127.0.0.1", slow_delay: float | None = None,
          verbose: bool = False, latency: float | None = None) -> SamplePortals:
    """Start the sample portals in a background thread; usable as a context manager."""
    return SamplePortals(port, host, slow_delay, verbose, latency).start_background()
