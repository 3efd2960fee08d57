"""Loopback TLS servers for the client tests (tests/test_ssl_clients.py), built the
way ordinary programs build them, from whatever ``SSLContext`` they are given (the
stdlib's or ``tls.ssl``'s):

``https_server(context, host, wrap)``  a ``http.server.ThreadingHTTPServer`` serving
    ``body_for(path)`` to GET and echoing POST bodies, HTTP/1.1 keep-alive.
    ``wrap="listener"`` wraps the listening socket (the pattern in the ``http.server``
    docs: ``accept`` returns handshaken ``SSLSocket``\\ s); ``wrap="connection"`` wraps
    each accepted socket with ``server_side=True`` in its worker thread.
``smtp_server(context, host, starttls)``  a threaded SMTP server speaking just enough
    (greeting, EHLO/HELO, NOOP, MAIL, RCPT, DATA, RSET, QUIT, and STARTTLS when
    ``starttls`` is set) over implicit TLS (``starttls=False``) or STARTTLS.

Both bind an ephemeral port on 127.0.0.1 or ::1, give every connection a 10 s
timeout, record handler exceptions in ``server.errors`` instead of printing them,
and on exit stop the serving thread and join every worker thread. With a ``tls.ssl``
context, every server thread must also leave OpenSSL's (per-thread) error queue
empty after each connection: what is left is recorded in ``server.errors`` too.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.server
import socket
import socketserver
import sys
import threading
from urllib.parse import parse_qs, urlsplit

TIMEOUT = 10.0


def body_for(path):
    """The GET response for ``path``: ``size=N`` bytes (default 64) derived from the whole path."""
    query = parse_qs(urlsplit(path).query)
    size = int(query.get("size", ["64"])[0])
    block = hashlib.sha256(path.encode()).hexdigest().encode()
    return (block * (size // len(block) + 1))[:size]


class _TLSServerMixin:
    """Per-connection TLS, bounded waits, recorded errors, worker threads joined on close."""

    daemon_threads = False  # server_close() joins every worker (block_on_close)
    block_on_close = True
    request_queue_size = 128  # 50 clients connecting at once must not overflow the backlog

    def __init__(self, address, handler, context, wrap):
        if wrap not in ("listener", "connection", None):
            raise ValueError(wrap)
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.context = context
        self.wrap = wrap
        self.errors = []
        self._errors_lock = threading.Lock()
        self._leftover_errors = None
        if type(context).__module__.startswith("tls."):
            from tls._binding import consume_errors

            self._leftover_errors = consume_errors
        super().__init__(address, handler)
        if wrap == "listener":
            self.socket = context.wrap_socket(self.socket, server_side=True)

    @property
    def port(self):
        return self.server_address[1]

    def server_bind(self):
        # TCPServer's bind without HTTPServer's getfqdn() (a reverse lookup, never needed here)
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def get_request(self):
        try:
            sock, address = super().get_request()  # listener: the handshake happens here
        except OSError as exc:
            self._record(exc)
            raise
        finally:
            self._check_error_queue()
        sock.settimeout(TIMEOUT)
        return sock, address

    def finish_request(self, request, client_address):
        try:
            if self.wrap != "connection":
                return super().finish_request(request, client_address)
            # wrap_socket detaches ``request``; closing the SSLSocket closes the connection
            with self.context.wrap_socket(request, server_side=True) as tls_sock:
                super().finish_request(tls_sock, client_address)
        finally:
            self._check_error_queue()

    def handle_error(self, request, client_address):
        self._record(sys.exc_info()[1])

    def _check_error_queue(self):
        left = self._leftover_errors() if self._leftover_errors else None
        if left:
            self._record(AssertionError(f"OpenSSL errors left in a server thread: {left}"))

    def _record(self, exc):
        with self._errors_lock:
            self.errors.append(exc)


@contextlib.contextmanager
def _serving(server):
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        thread.join(TIMEOUT)
        server.server_close()  # closes the listener, joins the workers
        assert not thread.is_alive(), "the serving thread did not stop"


# ----------------------------------------------------------------------------- HTTPS


class _HTTPHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = TIMEOUT

    def do_GET(self):
        self._reply(body_for(self.path))

    def do_POST(self):
        self._reply(self.rfile.read(int(self.headers["Content-Length"])))

    def _reply(self, body):
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):
        pass


class HTTPSServer(_TLSServerMixin, http.server.ThreadingHTTPServer):
    def __init__(self, address, context, wrap="connection"):
        super().__init__(address, _HTTPHandler, context, wrap)


def https_server(context, host="127.0.0.1", wrap="connection"):
    """A running ``HTTPSServer`` on an ephemeral port (a context manager)."""
    return _serving(HTTPSServer((host, 0), context, wrap))


# ----------------------------------------------------------------------------- SMTP


class _SMTPHandler(socketserver.StreamRequestHandler):
    timeout = TIMEOUT

    def handle(self):
        server = self.server
        self.tls = server.wrap is not None
        self._send(b"220 localhost ESMTP tls tests")
        data = None
        while True:
            line = self.rfile.readline(4096)
            if not line:
                return
            if data is not None:  # inside DATA
                if line == b".\r\n":
                    server.messages.append(b"".join(data))
                    data = None
                    self._send(b"250 OK: queued")
                else:
                    data.append(line[1:] if line.startswith(b".") else line)
                continue
            verb = line.split(None, 1)[0].upper() if line.strip() else b""
            server.commands.append((verb.decode("ascii", "replace"), self.tls))
            if verb in (b"EHLO", b"HELO"):
                lines = [b"localhost greets you", b"8BITMIME"]
                if server.starttls_context is not None and not self.tls:
                    lines.append(b"STARTTLS")
                for n, text in enumerate(lines):
                    self._send(b"250" + (b" " if n == len(lines) - 1 else b"-") + text)
            elif verb in (b"NOOP", b"MAIL", b"RCPT", b"RSET"):
                self._send(b"250 OK")
            elif verb == b"DATA":
                data = []
                self._send(b"354 End data with <CR><LF>.<CR><LF>")
            elif verb == b"STARTTLS" and server.starttls_context is not None and not self.tls:
                self._send(b"220 Ready to start TLS")
                self._start_tls(server.starttls_context)
            elif verb == b"QUIT":
                self._send(b"221 Bye")
                return
            else:
                self._send(b"502 Command not implemented")

    def _send(self, line):
        self.wfile.write(line + b"\r\n")
        self.wfile.flush()

    def _start_tls(self, context):
        # the client waits for our 220 before its ClientHello: nothing is buffered in rfile
        self.rfile.close()
        self.wfile.close()
        self.connection = context.wrap_socket(self.connection, server_side=True)
        self.tls = True
        self.rfile = self.connection.makefile("rb")
        self.wfile = self.connection.makefile("wb")

    def finish(self):
        super().finish()
        if self.connection is not self.request:  # the STARTTLS socket (``request`` is detached)
            self.connection.close()


class SMTPServer(_TLSServerMixin, socketserver.ThreadingTCPServer):
    def __init__(self, address, context, starttls=False):
        self.starttls_context = context if starttls else None
        self.commands = []  # (verb, over TLS?)
        self.messages = []
        super().__init__(address, _SMTPHandler, context, None if starttls else "connection")


def smtp_server(context, host="127.0.0.1", starttls=False):
    """A running ``SMTPServer`` on an ephemeral port: implicit TLS, or STARTTLS (a context manager)."""
    return _serving(SMTPServer((host, 0), context, starttls))
