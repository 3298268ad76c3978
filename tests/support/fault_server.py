"""A fault-injecting OpenAI-compatible server for the ``openai`` LLM backend's tests.

Loopback only, one daemon thread per request, and bounded: no handler holds a connection longer
than ``hold_s`` seconds, and ``close()`` stops everything. ``mode`` picks the fault:

ok        a normal streamed reply ending in finish_reason and [DONE]
never     accepts the request and never answers (no status line)
500       HTTP 500 with an OpenAI-style error body
401       HTTP 401 whose message echoes the Authorization header (the API key)
malformed half a reply, then an event that is not JSON and carries the Authorization header
half      half a reply, then the connection closes without finish_reason or [DONE]
trickle   one byte at a time, never a line end
keepalive only ": keep-alive" comments, never a token
empty     finish_reason and [DONE] without any text
refuse    (not served here: ``refused_url()`` is a port nobody listens on)
"""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HALF = ["The capital", " of France"]


def refused_url() -> str:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    return f"http://127.0.0.1:{port}/v1"


class FaultServer:
    def __init__(self, mode: str = "ok", hold_s: float = 10.0) -> None:
        self.mode, self.hold_s = mode, hold_s
        self.stop = threading.Event()
        self.requests = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                server.requests += 1
                try:
                    getattr(server, "answer_" + server.mode)(self)
                except OSError:  # the client gave up first
                    pass
                self.close_connection = True

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.httpd.block_on_close = False
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()

    # ------------------------------------------------------------------ helpers

    def _hold(self) -> None:
        self.stop.wait(self.hold_s)

    @staticmethod
    def _sse(h) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "text/event-stream")
        h.send_header("Connection", "close")
        h.end_headers()

    @staticmethod
    def _event(h, payload) -> None:
        data = payload if isinstance(payload, str) else json.dumps(payload)
        h.wfile.write(f"data: {data}\n\n".encode())
        h.wfile.flush()

    @staticmethod
    def _chunk(text: str, finish: str | None = None) -> dict:
        return {"choices": [{"index": 0, "delta": {"content": text} if text else {}, "finish_reason": finish}]}

    def _json(self, h, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        h.send_header("Connection", "close")
        h.end_headers()
        h.wfile.write(data)

    # ------------------------------------------------------------------ modes

    def answer_ok(self, h) -> None:
        self._sse(h)
        for piece in ("Paris", " is the capital", " of France."):
            self._event(h, self._chunk(piece))
        self._event(h, self._chunk("", "stop"))
        self._event(h, "[DONE]")

    def answer_never(self, h) -> None:
        self._hold()

    def answer_500(self, h) -> None:
        self._json(h, 500, {"error": {"message": "CUDA out of memory on the server"}})

    def answer_401(self, h) -> None:
        self._json(h, 401, {"error": {"message": f"Invalid header: {h.headers.get('Authorization')}"}})

    def answer_malformed(self, h) -> None:
        self._sse(h)
        self._event(h, self._chunk(HALF[0]))
        self._event(h, "{oops " + str(h.headers.get("Authorization")))

    def answer_half(self, h) -> None:
        self._sse(h)
        for piece in HALF:
            self._event(h, self._chunk(piece))
        # then the connection closes: no finish_reason, no [DONE]

    def answer_trickle(self, h) -> None:
        self._sse(h)
        end = time.monotonic() + self.hold_s
        while time.monotonic() < end and not self.stop.is_set():
            h.wfile.write(b"d")
            h.wfile.flush()
            time.sleep(0.05)

    def answer_keepalive(self, h) -> None:
        self._sse(h)
        end = time.monotonic() + self.hold_s
        while time.monotonic() < end and not self.stop.is_set():
            h.wfile.write(b": keep-alive\n\n")
            h.wfile.flush()
            time.sleep(0.1)

    def answer_empty(self, h) -> None:
        self._sse(h)
        self._event(h, {"choices": [{"index": 0, "delta": {"role": "assistant"}, "finish_reason": None}]})
        self._event(h, self._chunk("", "stop"))
        self._event(h, "[DONE]")

    def close(self) -> None:
        self.stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()
