"""Loopback TLS servers for the client tests (tests/test_ssl_clients*.py), built the
way ordinary programs build them, from whatever ``SSLContext`` they are given (the
stdlib's or ``tls.ssl``'s):

``https_server(context, host, wrap)``  a ``http.server.ThreadingHTTPServer`` serving
    ``body_for(path)`` to GET and echoing POST bodies, HTTP/1.1 keep-alive.
    ``wrap="listener"`` wraps the listening socket (the pattern in the ``http.server``
    docs: ``accept`` returns handshaken ``SSLSocket``\\ s); ``wrap="connection"`` wraps
    each accepted socket with ``server_side=True`` in its worker thread.
    ``linger=True`` (with ``wrap="connection"``) keeps a connection whose handshake
    failed open until the client closes it (see ``_drain``).
``smtp_server(context, host, starttls)``  a threaded SMTP server speaking just enough
    (greeting, EHLO/HELO, NOOP, MAIL, RCPT, DATA, RSET, QUIT, and STARTTLS when
    ``starttls`` is set) over implicit TLS (``starttls=False``) or STARTTLS.
``imap_server(context, host, starttls)``  a threaded IMAP4rev1 server speaking just enough
    (greeting, CAPABILITY, STARTTLS, LOGIN, APPEND, SELECT, FETCH n (BODY[]), NOOP,
    LOGOUT), over implicit TLS or STARTTLS; LOGIN is refused before TLS.
``ftp_server(context, host)``  a threaded explicit-FTPS server (AUTH TLS, USER, PASS,
    PBSZ, PROT C/P, TYPE, PASV/EPSV, RETR, STOR, CCC, NOOP, QUIT): login needs TLS, data
    connections are passive and TLS after ``PROT P`` (a new session: no reuse of the
    control connection's required); each transfer records how its connection ended.

Every server records what a test checks: the commands (and whether each came over TLS),
the bytes received, the client certificates seen (``server.peer_certs``).

All bind an ephemeral port on 127.0.0.1 or ::1, give every connection a 10 s
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
import ssl
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
    linger = False  # wrap="connection": after a failed handshake, wait for the client to close

    def __init__(self, address, handler, context, wrap):
        if wrap not in ("listener", "connection", None):
            raise ValueError(wrap)
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.context = context
        self.wrap = wrap
        self.errors = []
        self.peer_certs = []  # getpeercert() of every TLS connection, once handshaken
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
                if self.wrap == "listener":
                    self._note_peer(request)
                return super().finish_request(request, client_address)
            # wrap_socket detaches ``request``; closing the SSLSocket closes the connection
            linger = self.linger
            with self.context.wrap_socket(
                request, server_side=True, do_handshake_on_connect=not linger
            ) as tls_sock:
                if linger:
                    try:
                        tls_sock.do_handshake()
                    except OSError:
                        _drain(tls_sock)
                        raise
                self._note_peer(tls_sock)
                super().finish_request(tls_sock, client_address)
        finally:
            self._check_error_queue()

    def handle_error(self, request, client_address):
        self._record(sys.exc_info()[1])

    def _check_error_queue(self):
        left = self._leftover_errors() if self._leftover_errors else None
        if left:
            self._record(AssertionError(f"OpenSSL errors left in a server thread: {left}"))

    def _note_peer(self, tls_sock):
        cert = tls_sock.getpeercert()
        with self._errors_lock:
            self.peer_certs.append(cert)

    def _record(self, exc):
        with self._errors_lock:
            self.errors.append(exc)


def _drain(sock):
    """Read and drop the plain bytes of ``sock`` until the peer closes (or the timeout).

    After a failed server handshake, this keeps the connection open until the client has
    read the server's alert: under TLS 1.3 a client finishes its handshake before the server
    checks its certificate and sends its request at once; closing right away could reset the
    connection under that request and race the alert away."""
    try:
        while socket.socket.recv(sock, 65536):  # the TCP stream itself, not TLS
            pass
    except OSError:
        pass


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
    def __init__(self, address, context, wrap="connection", linger=False):
        if linger and wrap != "connection":
            raise ValueError("linger needs wrap='connection'")
        self.linger = linger
        super().__init__(address, _HTTPHandler, context, wrap)


def https_server(context, host="127.0.0.1", wrap="connection", linger=False):
    """A running ``HTTPSServer`` on an ephemeral port (a context manager)."""
    return _serving(HTTPSServer((host, 0), context, wrap, linger))


# ----------------------------------------------------------------------------- SMTP


class _LineHandler(socketserver.StreamRequestHandler):
    """A line-based protocol whose connection may switch to TLS midway (STARTTLS, AUTH TLS)."""

    timeout = TIMEOUT

    def _send(self, line):
        self.wfile.write(line + b"\r\n")
        self.wfile.flush()

    def _start_tls(self, context):
        # the client waits for our reply before its ClientHello: nothing is buffered in rfile
        self.rfile.close()
        self.wfile.close()
        self.connection = context.wrap_socket(self.connection, server_side=True)
        self.server._note_peer(self.connection)
        self.tls = True
        self.rfile = self.connection.makefile("rb")
        self.wfile = self.connection.makefile("wb")

    def finish(self):
        super().finish()
        if self.connection is not self.request:  # the STARTTLS socket (``request`` is detached)
            self.connection.close()


class _SMTPHandler(_LineHandler):
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


class SMTPServer(_TLSServerMixin, socketserver.ThreadingTCPServer):
    def __init__(self, address, context, starttls=False):
        self.starttls_context = context if starttls else None
        self.commands = []  # (verb, over TLS?)
        self.messages = []
        super().__init__(address, _SMTPHandler, context, None if starttls else "connection")


def smtp_server(context, host="127.0.0.1", starttls=False):
    """A running ``SMTPServer`` on an ephemeral port: implicit TLS, or STARTTLS (a context manager)."""
    return _serving(SMTPServer((host, 0), context, starttls))


# ----------------------------------------------------------------------------- IMAP


class _IMAPHandler(_LineHandler):
    def handle(self):
        server = self.server
        self.tls = server.wrap is not None
        self._send(b"* OK tls tests IMAP4rev1 server ready")
        while True:
            line = self.rfile.readline(65536)
            if not line:
                return
            tag, _, rest = line.rstrip(b"\r\n").partition(b" ")
            verb, _, args = rest.partition(b" ")
            verb = verb.upper().decode("ascii", "replace")
            server.commands.append((verb, self.tls))
            done = tag + b" OK " + verb.encode() + b" completed"
            if verb == "CAPABILITY":
                offer_tls = server.starttls_context is not None and not self.tls
                self._send(b"* CAPABILITY IMAP4rev1" + (b" STARTTLS LOGINDISABLED" if offer_tls else b""))
                self._send(done)
            elif verb == "STARTTLS" and server.starttls_context is not None and not self.tls:
                self._send(tag + b" OK Begin TLS negotiation now")
                self._start_tls(server.starttls_context)
            elif verb == "LOGIN":
                if self.tls:
                    server.logins.append(args)
                    self._send(done)
                else:
                    self._send(tag + b" NO [PRIVACYREQUIRED] LOGIN needs TLS")
            elif verb == "APPEND" and args.endswith(b"}"):  # APPEND mailbox {size}: a literal follows
                size = int(args[args.rindex(b"{") + 1 : -1])
                self._send(b"+ Ready for literal data")
                server.mailbox.append(self.rfile.read(size))
                self.rfile.readline(3)  # the CRLF ending the command
                self._send(done)
            elif verb == "SELECT":
                self._send(b"* %d EXISTS" % len(server.mailbox))
                self._send(b"* 0 RECENT")
                self._send(b"* FLAGS (\\Seen)")
                self._send(tag + b" OK [READ-WRITE] SELECT completed")
            elif verb == "FETCH" and args.endswith(b" (BODY[])"):  # FETCH n (BODY[])
                number = args.split(b" ", 1)[0]
                message = server.mailbox[int(number) - 1]
                self.wfile.write(b"* %s FETCH (BODY[] {%d}\r\n%s)\r\n" % (number, len(message), message))
                self._send(done)
            elif verb == "NOOP":
                self._send(done)
            elif verb == "LOGOUT":
                # one write: imaplib may close as soon as it has read the BYE
                self._send(b"* BYE tls tests IMAP server logging out\r\n" + done)
                return
            else:
                self._send(tag + b" BAD command unknown or arguments invalid")


class IMAPServer(_TLSServerMixin, socketserver.ThreadingTCPServer):
    def __init__(self, address, context, starttls=False):
        self.starttls_context = context if starttls else None
        self.commands = []  # (verb, over TLS?)
        self.logins = []  # LOGIN's arguments, as sent
        self.mailbox = []  # APPENDed messages; FETCH n reads message n
        super().__init__(address, _IMAPHandler, context, None if starttls else "connection")


def imap_server(context, host="127.0.0.1", starttls=False):
    """A running ``IMAPServer`` on an ephemeral port: implicit TLS, or STARTTLS (a context manager)."""
    return _serving(IMAPServer((host, 0), context, starttls))


# ----------------------------------------------------------------------------- FTP


class _FTPHandler(_LineHandler):
    def handle(self):
        self.tls = False  # the control connection
        self.protect_data = False  # PROT P
        self.passive = None  # the listener for the next data connection
        self.user = None
        self._send(b"220 tls tests FTP server ready")
        try:
            self._serve(self.server)
        finally:
            if self.passive is not None:
                self.passive.close()

    def _serve(self, server):
        while True:
            line = self.rfile.readline(4096)
            if not line:
                return
            verb, _, arg = line.rstrip(b"\r\n").decode("utf-8").partition(" ")
            verb = verb.upper()
            server.commands.append((verb, self.tls))
            if verb == "AUTH" and arg.upper() == "TLS" and not self.tls:
                self._send(b"234 AUTH TLS successful")
                self._start_tls(server.context)
            elif verb == "USER":
                self.user = arg
                self._send(b"331 Password required" if self.tls else b"530 AUTH TLS first")
            elif verb == "PASS" and self.tls and self.user is not None:
                server.logins.append((self.user, arg))
                self._send(b"230 Logged in")
            elif verb == "PBSZ" and self.tls:
                self._send(b"200 PBSZ=0")
            elif verb == "PROT" and arg in ("C", "P") and self.tls:
                self.protect_data = arg == "P"
                self._send(b"200 Protection level set to " + arg.encode())
            elif verb == "TYPE":
                self._send(b"200 Type set to " + arg.encode())
            elif verb in ("PASV", "EPSV"):
                self._open_passive(verb)
            elif verb in ("RETR", "STOR") and self.passive is None:
                self._send(b"425 Use PASV or EPSV first")
            elif verb == "RETR" and arg not in server.files:
                self._send(b"550 No such file")
            elif verb == "RETR":
                self._send(b"150 Opening BINARY mode data connection")
                version, ending = self._send_data(server.files[arg])
                server.transfers.append(("RETR", arg, len(server.files[arg]), version, ending))
                self._send(b"226 Transfer complete")
            elif verb == "STOR":
                self._send(b"150 Ready to receive")
                data, version, ending = self._receive_data()
                server.transfers.append(("STOR", arg, len(data), version, ending))
                if ending in ("close_notify", "eof"):
                    server.files[arg] = data
                    self._send(b"226 Transfer complete")
                else:
                    self._send(b"426 Connection closed; transfer aborted")
            elif verb == "CCC" and self.tls:
                self._send(b"200 Clearing the control connection")
                self._end_tls()
            elif verb == "NOOP":
                self._send(b"200 NOOP ok")
            elif verb == "QUIT":
                self._send(b"221 Goodbye")
                return
            else:
                self._send(b"502 Command not implemented")

    def _end_tls(self):
        # after our 200 the client sends nothing but its close_notify: nothing is buffered in rfile
        self.rfile.close()
        self.wfile.close()
        self.connection = self.connection.unwrap()
        self.tls = False
        self.rfile = self.connection.makefile("rb")
        self.wfile = self.connection.makefile("wb")

    def _open_passive(self, verb):
        host = self.connection.getsockname()[0]
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        if verb == "PASV" and family != socket.AF_INET:
            self._send(b"522 Use EPSV over IPv6")
            return
        if self.passive is not None:
            self.passive.close()
        self.passive = socket.socket(family)
        self.passive.settimeout(TIMEOUT)
        self.passive.bind((host, 0))
        self.passive.listen(1)
        port = self.passive.getsockname()[1]
        if verb == "PASV":
            numbers = host.split(".") + [str(port >> 8), str(port & 0xFF)]
            self._send(b"227 Entering Passive Mode (%s)" % ",".join(numbers).encode())
        else:
            self._send(b"229 Entering Extended Passive Mode (|||%d|)" % port)

    def _data_connection(self):
        """The accepted data connection, TLS (with ragged EOFs reported) under PROT P."""
        listener, self.passive = self.passive, None
        try:
            conn = listener.accept()[0]
        finally:
            listener.close()
        conn.settimeout(TIMEOUT)
        if not self.protect_data:
            return conn
        try:
            return self.server.context.wrap_socket(conn, server_side=True, suppress_ragged_eofs=False)
        finally:
            conn.close()  # detached by a successful wrap_socket: closes nothing then

    def _send_data(self, data):
        """Send ``data``, then (TLS) unwrap: (TLS version or None, how it ended)."""
        with self._data_connection() as conn:
            version = conn.version() if self.protect_data else None
            conn.sendall(data)
            if not self.protect_data:
                return version, "eof"
            try:
                conn.unwrap()  # close_notify both ways, as a client's unwrap() expects
            except OSError as exc:  # the client closed without its close_notify
                return version, _ending(exc)
            return version, "close_notify"

    def _receive_data(self):
        """Receive until the client's end: (data, TLS version or None, how it ended)."""
        chunks = []
        with self._data_connection() as conn:
            version = conn.version() if self.protect_data else None
            try:
                while True:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    chunks.append(chunk)
                if self.protect_data:
                    conn.unwrap()  # the client's close_notify came: ours answers its unwrap()
                    return b"".join(chunks), version, "close_notify"
            except OSError as exc:
                return b"".join(chunks), version, _ending(exc)
        return b"".join(chunks), version, "eof"


def _ending(exc):
    """How a TLS data connection ended when not with close_notify both ways."""
    if isinstance(exc, ssl.SSLEOFError):
        return "eof"  # a TCP FIN without close_notify (a ragged EOF)
    return f"{type(exc).__name__}: {exc}"


class FTPServer(_TLSServerMixin, socketserver.ThreadingTCPServer):
    """Explicit FTPS (AUTH TLS), passive data connections, TLS on them after PROT P."""

    def __init__(self, address, context):
        self.commands = []  # (verb, control connection over TLS?)
        self.logins = []  # (user, password)
        self.files = {}  # name -> bytes, for RETR and STOR
        self.transfers = []  # (verb, name, size, data connection's TLS version, how it ended)
        super().__init__(address, _FTPHandler, context, None)


def ftp_server(context, host="127.0.0.1"):
    """A running ``FTPServer`` on an ephemeral port (a context manager)."""
    return _serving(FTPServer((host, 0), context))
