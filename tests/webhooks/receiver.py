"""A real webhook receiver for tests: an HTTP server on 127.0.0.1 in a thread that records
every request and answers from a script (a status code, or a delay before answering)."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class Answer:
    """What the receiver does with one request: wait ``delay_s``, then answer ``status``."""

    status: int = 204
    delay_s: float = 0.0
    location: str | None = None


class Receiver:
    def __init__(self) -> None:
        self.received: list[Received] = []
        self.arrived = 0  # requests read, answered or not yet
        self._script: deque[Answer] = deque()
        self._lock = threading.Lock()
        self.default = Answer()
        self.url = ""

    def plan(self, *answers: Answer) -> None:
        """Answer the next requests so, in order; then ``default``."""
        with self._lock:
            self._script.extend(answers)

    def next_answer(self) -> Answer:
        with self._lock:
            self.arrived += 1
            return self._script.popleft() if self._script else self.default

    def record(self, item: Received) -> None:
        with self._lock:
            self.received.append(item)

    def snapshot(self) -> list[Received]:
        with self._lock:
            return list(self.received)


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            body = self.rfile.read(length)
            answer = receiver.next_answer()
            if answer.delay_s:
                time.sleep(answer.delay_s)
            receiver.record(
                Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            )
            self.send_response(answer.status)
            if answer.location:
                self.send_header("location", answer.location)
            text = b"receiver says no" if answer.status >= 400 else b""
            self.send_header("content-length", str(len(text)))
            self.end_headers()
            self.wfile.write(text)

        def log_message(self, format: str, *args: object) -> None:
            return

    return Handler


@contextmanager
def running_receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
