"""The workers' HTTP endpoint on ``METRICS_PORT``: ``/health/`` and Prometheus metrics on every other path."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

__all__ = ["MetricsServer", "start_metrics_server"]


class MetricsServer:
    """A background HTTP server; ``health()`` says whether the worker loop is alive."""

    def __init__(self, port: int, health: Callable[[], bool], host: str = "0.0.0.0") -> None:
        handler = _handler_for(health)
        self._server = ThreadingHTTPServer((host, port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="metrics-http", daemon=True)

    @property
    def port(self) -> int:
        """The bound port (useful when started on port 0... which callers use only in tests)."""
        return int(self._server.server_address[1])

    def start(self) -> None:
        """Serve in a daemon thread."""
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
        self._server.server_close()


def _handler_for(health: Callable[[], bool]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.rstrip("/").split("?")[0] in ("/health", "/health/live", "/health/ready"):
                ok = health()
                body = json.dumps({"status": "ok" if ok else "unhealthy"}).encode()
                self._reply(200 if ok else 503, "application/json", body)
                return
            self._reply(200, CONTENT_TYPE_LATEST, generate_latest(REGISTRY))

        def _reply(self, status: int, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            del format, args  # scrapes every few seconds would flood the worker's log

    return Handler


def start_metrics_server(port: int, health: Callable[[], bool]) -> MetricsServer | None:
    """Start the server on ``port``; ``None`` when ``port`` is 0 (disabled)."""
    if port <= 0:
        return None
    server = MetricsServer(port, health)
    server.start()
    return server
