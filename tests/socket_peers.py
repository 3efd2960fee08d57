"""Loopback scaffolding for socket tests: a listening socket and a peer thread."""

from __future__ import annotations

import contextlib
import socket
import threading

TIMEOUT = 10


@contextlib.contextmanager
def listener(host="127.0.0.1"):
    """A listening TCP socket on ``host`` (IPv4 or IPv6 loopback), an ephemeral port."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as ls:
        ls.bind((host, 0))
        ls.listen(8)
        ls.settimeout(TIMEOUT)
        yield ls


class Peer:
    """Run ``script(conn)`` in a thread on the next accepted connection; ``join``
    re-raises its exception (if any) and returns its result."""

    def __init__(self, ls, script):
        self.error = None
        self.result = None

        def run():
            try:
                conn, _ = ls.accept()
                with conn:
                    conn.settimeout(TIMEOUT)
                    self.result = script(conn)
            except BaseException as exc:  # reported by join()
                self.error = exc

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()

    def join(self):
        self.thread.join(TIMEOUT * 3)
        assert not self.thread.is_alive(), "peer thread hung"
        if self.error is not None:
            raise self.error
        return self.result
