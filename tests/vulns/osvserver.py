"""A real HTTP server on 127.0.0.1 (http.server in a thread) that serves OSV archives the
way OSV's bucket does (ETag, Last-Modified, 304, byte ranges), and the ways a hostile or
broken server misbehaves: cutting a transfer short, dripping bytes, lying about the type.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LAST_MODIFIED = "Wed, 01 May 2024 10:00:00 GMT"


@dataclass
class Served:
    """One URL path's content and behaviour."""

    body: bytes
    content_type: str = "application/zip"
    cut_after: int | None = None
    """Send the full Content-Length but close after this many bytes (once)."""
    drip: float = 0.0
    """Seconds between single bytes (a slow-drip server)."""

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha256(self.body).hexdigest()[:16] + '"'


@dataclass
class Site:
    """What the server serves, and the requests it saw (path, headers)."""

    files: dict[str, Served] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)


def _handler(site: Site) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            return

        def do_GET(self) -> None:
            site.requests.append((self.path, dict(self.headers.items())))
            served = site.files.get(self.path)
            if served is None:
                self.send_error(404)
                return
            if self.headers.get("If-None-Match") == served.etag:
                self.send_response(304)
                self.send_header("ETag", served.etag)
                self.end_headers()
                return
            body, start = served.body, 0
            wanted = self.headers.get("Range", "")
            if wanted.startswith("bytes=") and self.headers.get("If-Range") == served.etag:
                start = int(wanted[len("bytes=") :].split("-")[0])
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
            else:
                self.send_response(200)
            self.send_header("Content-Type", served.content_type)
            self.send_header("Content-Length", str(len(body) - start))
            self.send_header("ETag", served.etag)
            self.send_header("Last-Modified", LAST_MODIFIED)
            self.end_headers()
            payload = body[start:]
            if served.cut_after is not None:
                self.wfile.write(payload[: served.cut_after])
                served.cut_after = None
                self.close_connection = True
                return
            if served.drip:
                for i in range(len(payload)):
                    self.wfile.write(payload[i : i + 1])
                    self.wfile.flush()
                    time.sleep(served.drip)
                return
            self.wfile.write(payload)

    return Handler


@contextmanager
def osv_server(site: Site) -> Iterator[str]:
    """Serve ``site`` on a free loopback port; yields the base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(site))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
