"""Group ``sockets``: TLS 1.3 over loopback TCP sockets, ``tls.ssl``'s SSLSocket against the stdlib ``ssl``.

The measured side runs in the bench process, in blocking mode (no timeout, as
``wrap_socket`` returns it), as a client: ``wrap_socket(sock,
server_hostname="localhost")`` on a connected socket, verifying a P-256 (ECDSA)
self-signed certificate.  Cases:

- ``https-roundtrip``: per operation a new TCP connection to 127.0.0.1, a full
  TLS 1.3 handshake (no session resumption), a 1 KiB HTTP-like request sent with
  ``sendall``, the 16 KiB response read with ``recv``, ``close``; round trips/s;
- ``sendall-64MiB``: on one connection, ``sendall`` of 64 MiB, then ``recv`` of
  the peer's 2-byte acknowledgement that all of it arrived (so the figure is
  delivered bytes, not bytes parked in socket buffers); MB/s;
- ``recv_into-16KiB`` and ``recv-16KiB``: on one connection the peer streams
  without pause; an operation reads 1 MiB as 64 calls of ``recv_into`` into one
  preallocated 16 KiB bytearray, or of ``recv(16384)`` (a new bytes object per
  record, the API forces it); MB/s;
- ``sendfile-256MiB`` and ``sendfile-ktls-256MiB`` (16 MiB under ``--quick``): on
  one connection, ``sendfile`` of a 256 MiB file (rewound first), then the peer's
  acknowledgement as for ``sendall``; MB/s.  Without kernel TLS, tls reads the file
  256 KiB at a time into one buffer and writes it through TLS, the stdlib reads 8 KiB
  bytes objects and sends each (its ``_sendfile_use_send``).  The ``-ktls`` case sets
  ``OP_ENABLE_KTLS`` on both implementations' contexts: where OpenSSL and the
  kernel (its ``tls`` module) support kernel TLS for the cipher, tls sends the file
  with ``SSL_sendfile`` (the kernel reads and encrypts it) and the stdlib's records
  go through the kernel too; elsewhere OpenSSL falls back silently and both cases
  measure the same thing.  The case's note says whether tls's socket had kTLS on.

The peer.  Each case starts one peer process, ``_sockets_peer.py`` run by the
same interpreter (or by ``$TLS_BENCH_PEER_PYTHON``) on the stdlib ``ssl``, which
serves both implementations' connections.  Why a process and not a thread: on
CPython and PyPy a server thread shares the GIL with the measured client, so its
Python work would be timed as the client's and the two would serialise on the
lock; a process gets the machine's other core.  Why the stdlib, the same peer for
both columns, and not a peer of the implementation being measured: the
columns then differ only in the measured side, so tls/stdlib is the client's
(or sender's, or reader's) cost alone, with the peer's cost a constant in both.

Who is the bottleneck (measured on a 2-core machine, CPU time over wall time):
in ``https-roundtrip`` the measured client takes about 70% of a core and the
peer about 40% (a serial ping-pong: the peer's server handshake is in both
columns, which damps the ratio toward 1 but cannot hide a slow client); in
``sendall-64MiB`` the measured sender runs at 95-100% of a core, the peer's sink
at 80-88%: the sender is the limit.  In the ``recv`` cases the peer's stream
sender (one ``sendall`` of 4 MiB at a time: a C loop over records on both
interpreters) and the measured reader both run near a full core: on loopback
the sending process also pays the kernel's receive path, so encrypting and
sending a record costs about what receiving and decrypting it does.  A reader
slower than the stdlib's shows fully; a faster one is capped near the pace of
the stdlib sender.  (Sending the stream from an SSLObject in 4 MiB socket
writes, or with TCP_CORK, was tried and is slower.)  The cross-interpreter
ratios (``compare``) divide runs whose peers ran on different interpreters:
set ``TLS_BENCH_PEER_PYTHON`` to the same interpreter for both runs to make them
fully like for like.

Both ends set TCP_NODELAY.  Without it Nagle's algorithm holds each 16 KiB
record (smaller than loopback's 64 KiB MSS) until the previous one is
acknowledged, which halves bulk throughput and can stall a round trip on a
delayed ACK: the figure would measure the TCP stack's timers, not TLS.

The certificate is made once per run with the ``openssl`` CLI; without it the
group is unavailable.  Before timing, each implementation's first operation is
checked: the response equals the expected bytes, the sink compared the 64 MiB it
received with what was sent, the stream reads the expected 1 MiB.  No C figure.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import socket
import ssl as _stdlib_ssl
import subprocess
import sys
import tempfile

from tls.bench import _sockets_peer as peer
from tls.bench._core import Case, Unavailable, load
from tls.bench.tls import CERTS, HOSTNAME, _make_certs

GROUP = "sockets"
PEER_PYTHON_ENV = "TLS_BENCH_PEER_PYTHON"
RECORD = 16 * 1024
CHECK_TIMEOUT = 60.0  # seconds: the checks and set-up never hang; timed operations are blocking
START_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0

LEGEND = (
    "TLS 1.3 over 127.0.0.1 TCP (TCP_NODELAY), the measured side a blocking client SSLSocket in this "
    "process; its peer a separate process on the stdlib ssl (same interpreter unless "
    "$TLS_BENCH_PEER_PYTHON), the same peer for both columns, so they differ only in the measured side. "
    "https-roundtrip: new connection + full handshake (P-256 certificate verified) + 1 KiB request + "
    "16 KiB response + close, per second; sendall-64MiB: sendall of 64 MiB then the peer's 2-byte "
    "acknowledgement of delivery; recv_into-16KiB / recv-16KiB: 1 MiB read from a continuous stream "
    "of 16 KiB records with recv_into(preallocated 16 KiB) or recv(16384); there the peer's sender needs "
    "about a core too, so a reader faster than the stdlib's is capped near its pace. sendfile-*: sendfile "
    "of a file (256 MiB, 16 MiB with --quick) then the acknowledgement; -ktls: with OP_ENABLE_KTLS on "
    "both contexts (kernel TLS where OpenSSL and the kernel offer it, else the same as without). "
    "No C figure."
)


def _implementations():
    """{"tls": module or Unavailable, "stdlib": ssl}: the modules whose SSLSockets are compared."""
    tls_ssl, missing = load("tls.ssl")
    if tls_ssl is not None and not hasattr(tls_ssl.SSLContext, "wrap_socket"):
        tls_ssl, missing = None, Unavailable("tls.ssl has no SSLContext.wrap_socket (SSLSocket) yet")
    return {"tls": tls_ssl if tls_ssl is not None else missing, "stdlib": _stdlib_ssl}


class _Certificate:
    """The P-256 certificate and key as PEM text, made on first use and shared by the group's cases."""

    def __init__(self):
        self._pem = None

    def pem(self):
        if self._pem is None:
            folder = tempfile.mkdtemp(prefix="tls-bench-")
            try:
                cert, key = _make_certs(folder, CERTS[:1])[CERTS[0][0]]
                with open(cert) as c, open(key) as k:
                    self._pem = (c.read(), k.read())
            finally:
                shutil.rmtree(folder, ignore_errors=True)
        return self._pem


class _Peer:
    """One peer process (see ``_sockets_peer``) listening on 127.0.0.1."""

    def __init__(self, mode, cert_pem, key_pem, size=None):
        python = os.environ.get(PEER_PYTHON_ENV) or sys.executable
        self._stderr = tempfile.TemporaryFile()
        self._proc = subprocess.Popen(
            [python, "-I", os.path.abspath(peer.__file__)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=self._stderr, cwd=tempfile.gettempdir())
        try:
            config = {"mode": mode, "cert": cert_pem, "key": key_pem, "size": size}
            try:
                self._proc.stdin.write(json.dumps(config).encode() + b"\n")
                self._proc.stdin.flush()
            except BrokenPipeError:  # it died before reading its configuration
                raise RuntimeError(f"the peer ({python}) did not start: {self._failure()}") from None
            ready, _, _ = select.select([self._proc.stdout], [], [], START_TIMEOUT)
            line = self._proc.stdout.readline() if ready else b""
            if not line.strip().isdigit():
                raise RuntimeError(f"the peer ({python}) did not start: {self._failure()}")
        except BaseException:
            self.stop()
            raise
        self.address = ("127.0.0.1", int(line))

    def _failure(self):
        try:
            self._proc.wait(timeout=1)
        except subprocess.TimeoutExpired:
            return f"no port after {START_TIMEOUT:g} s"
        self._stderr.seek(0)
        lines = self._stderr.read().decode(errors="replace").strip().splitlines()
        return f"exit status {self._proc.returncode}" + (f": {lines[-1]}" if lines else "")

    def stop(self):
        """Close its stdin (it exits at end-of-file) and wait for it; kill it if it lingers."""
        proc = self._proc
        try:
            proc.stdin.close()
        except OSError:
            pass
        try:
            proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        self._stderr.close()


class _Scenario:
    """What one case's implementations share: the peer (started on first use) and their sockets."""

    def __init__(self, mode, certificate, size=None):
        self.mode = mode
        self.certificate = certificate
        self.size = size  # the sink's transfer size (None: the peer's default)
        self.case = None  # the Case it serves (set by cases(); a set-up may add a note)
        self.data_file = None  # the sendfile cases' _File
        self._cleanups = []
        self._peer = None
        self._failed = None
        self._sockets = []

    def address(self):
        if self._failed is not None:
            raise self._failed
        if self._peer is None:
            try:
                self._peer = _Peer(self.mode, *self.certificate.pem(), size=self.size)
            except Exception as exc:
                self._failed = exc
                raise
        return self._peer.address

    def context(self, mod):
        """A client context of ``mod``: TLS 1.3 only, trusting the group's certificate."""
        context = mod.SSLContext(mod.PROTOCOL_TLS_CLIENT)
        context.minimum_version = mod.TLSVersion.TLSv1_3
        context.load_verify_locations(cadata=self.certificate.pem()[0])
        return context

    def connect(self, context, timeout=None):
        """A TCP connection to the peer (TCP_NODELAY) wrapped by ``context``, blocking unless ``timeout``."""
        raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            if timeout is not None:
                raw.settimeout(timeout)
            raw.connect(self.address())
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return context.wrap_socket(raw, server_hostname=HOSTNAME)
        except BaseException:
            raw.close()
            raise

    def keep(self, conn):
        """Hold a long-lived connection until :meth:`close`."""
        self._sockets.append(conn)
        return conn

    def on_close(self, cleanup):
        """Call ``cleanup()`` in :meth:`close`, after the connections are closed."""
        self._cleanups.append(cleanup)

    def close(self):
        sockets, self._sockets = self._sockets, []
        for conn in sockets:
            conn.close()
        cleanups, self._cleanups = self._cleanups, []
        for cleanup in cleanups:
            cleanup()
        peer_process, self._peer = self._peer, None
        if peer_process is not None:
            peer_process.stop()


class _Lazy:
    """An implementation's operation, set up on its first call.

    Listing the cases (``--case`` filtering, tests) thus starts no process and
    opens no socket; ``check`` runs the set-up too, so a failing set-up is
    reported by the check, before any timing.
    """

    __slots__ = ("_setup", "_op", "_check")

    def __init__(self, setup):
        self._setup = setup
        self._op = self._check = None

    def _ready(self):
        if self._op is None:
            self._op, self._check = self._setup()

    def __call__(self):
        op = self._op
        if op is None:
            self._ready()
            op = self._op
        return op()

    def check(self):
        self._ready()
        return self._check()


def _roundtrip(scenario, mod):
    def setup():
        context = scenario.context(mod)
        connect = scenario.connect
        request = peer.request()
        size = peer.RESPONSE_SIZE

        def roundtrip(timeout):
            conn = connect(context, timeout)
            with conn:
                conn.sendall(request)
                data = conn.recv(size)
                if len(data) < size:
                    parts = [data]
                    got = len(data)
                    while got < size:
                        more = conn.recv(size - got)
                        if not more:
                            raise ConnectionError(f"the server closed after {got} of {size} bytes")
                        parts.append(more)
                        got += len(more)
                    data = b"".join(parts)
            return data

        def op():
            return roundtrip(None)

        def check():
            data = roundtrip(CHECK_TIMEOUT)
            if data != peer.response():
                raise RuntimeError("the response read differs from the one the server sent")
            return data

        return op, check

    return _Lazy(setup)


def _checked(conn, op):
    """Run ``op`` once on ``conn`` under a timeout (a check must not hang), then back to blocking mode."""
    conn.settimeout(CHECK_TIMEOUT)
    try:
        return op()
    finally:
        conn.settimeout(None)


def _sendall(scenario, mod, data):
    def setup():
        conn = scenario.keep(scenario.connect(scenario.context(mod), CHECK_TIMEOUT))
        conn.settimeout(None)
        sendall, recv = conn.sendall, conn.recv
        payload = data()

        def op():
            sendall(payload)
            return recv(2)

        def check():
            ack = _checked(conn, op)
            if ack != peer.ACK:
                raise RuntimeError(f"the peer did not receive the bytes sent (it answered {ack!r})")
            return ack

        return op, check

    return _Lazy(setup)


def _stream_reader(scenario, mod, method):
    def setup():
        conn = scenario.keep(scenario.connect(scenario.context(mod), CHECK_TIMEOUT))
        conn.settimeout(None)
        block = peer.STREAM_BLOCK

        if method == "recv_into":
            buffer = bytearray(RECORD)
            recv_into = conn.recv_into

            def op():
                left = block
                while left:
                    n = recv_into(buffer, RECORD if left >= RECORD else left)
                    if not n:
                        raise ConnectionError("the peer ended the stream")
                    left -= n
                return n

            def read_block():
                parts, left = [], block
                while left:
                    n = recv_into(buffer, RECORD if left >= RECORD else left)
                    if not n:
                        raise ConnectionError("the peer ended the stream")
                    parts.append(bytes(buffer[:n]))
                    left -= n
                return b"".join(parts)
        else:
            recv = conn.recv

            def op():
                left = block
                while left:
                    data = recv(RECORD if left >= RECORD else left)
                    if not data:
                        raise ConnectionError("the peer ended the stream")
                    left -= len(data)
                return data

            def read_block():
                parts, left = [], block
                while left:
                    data = recv(RECORD if left >= RECORD else left)
                    if not data:
                        raise ConnectionError("the peer ended the stream")
                    parts.append(data)
                    left -= len(data)
                return b"".join(parts)

        def check():
            data = _checked(conn, read_block)
            if data != peer.pattern(block):
                raise RuntimeError("the bytes read differ from the stream the peer sent")
            return data

        return op, check

    return _Lazy(setup)


# ---- sendfile with and without kernel TLS (issue 7)
SENDFILE_SIZE = 256 * 1024 * 1024
SENDFILE_SIZE_QUICK = 16 * 1024 * 1024


class _File:
    """The file ``sendfile`` sends: ``pattern(size)`` in a temporary file, made on first use
    and shared by a case's implementations; removed by :meth:`remove` (the case's close)."""

    def __init__(self, size):
        self.size = size
        self.path = None

    def get(self):
        if self.path is None:
            fd, path = tempfile.mkstemp(prefix="tls-bench-sendfile-")
            with os.fdopen(fd, "wb") as f:
                f.write(peer.pattern(self.size))
            self.path = path
        return self.path

    def remove(self):
        path, self.path = self.path, None
        if path is not None:
            os.unlink(path)


def _ktls_option(mod):
    """OP_ENABLE_KTLS as ``mod`` names it, else tls.ssl's value (the stdlib has it from 3.12 on;
    before, the same OpenSSL bit works all the same)."""
    value = getattr(mod, "OP_ENABLE_KTLS", None)
    if value is None:
        tls_ssl, _ = load("tls.ssl")
        value = getattr(tls_ssl, "OP_ENABLE_KTLS", None)
    if value is None:
        raise RuntimeError("no OP_ENABLE_KTLS value known (neither this module nor tls.ssl has it)")
    return value


def _sendfile(scenario, mod, ktls):
    def setup():
        context = scenario.context(mod)
        if ktls:
            context.options |= _ktls_option(mod)
        conn = scenario.keep(scenario.connect(context, CHECK_TIMEOUT))
        conn.settimeout(None)
        if ktls and hasattr(conn, "ktls_send_enabled") and scenario.case is not None:
            scenario.case.note = f"tls kTLS send: {'on' if conn.ktls_send_enabled else 'off'}"
        if scenario.data_file.path is None:
            scenario.on_close(scenario.data_file.remove)
        f = scenario.keep(open(scenario.data_file.get(), "rb"))
        sendfile, recv, seek = conn.sendfile, conn.recv, f.seek

        def op():
            seek(0)
            sendfile(f)
            return recv(2)

        def check():
            ack = _checked(conn, op)
            if ack != peer.ACK:
                raise RuntimeError(f"the peer did not receive the file sent (it answered {ack!r})")
            return ack

        return op, check

    return _Lazy(setup)


def cases(quick=False):
    modules = _implementations()
    if shutil.which("openssl") is None:
        missing = Unavailable("no openssl binary on PATH (needed to make the certificate)")
        modules = {impl: missing for impl in modules}
    certificate = _Certificate()
    payload = []

    def sendall_payload():  # 64 MiB, made once for both implementations
        if not payload:
            payload.append(peer.pattern(peer.SENDALL_SIZE))
        return payload[0]

    specs = (
        ("https-roundtrip", 1, "serve", lambda s, mod: _roundtrip(s, mod)),
        ("sendall-64MiB", peer.SENDALL_SIZE, "sink", lambda s, mod: _sendall(s, mod, sendall_payload)),
        ("recv_into-16KiB", peer.STREAM_BLOCK, "stream", lambda s, mod: _stream_reader(s, mod, "recv_into")),
        ("recv-16KiB", peer.STREAM_BLOCK, "stream", lambda s, mod: _stream_reader(s, mod, "recv")),
    )
    file_size = SENDFILE_SIZE_QUICK if quick else SENDFILE_SIZE
    mib = f"{file_size // (1024 * 1024)}MiB"
    specs += (
        (f"sendfile-{mib}", file_size, "sink", lambda s, mod: _sendfile(s, mod, False)),
        (f"sendfile-ktls-{mib}", file_size, "sink", lambda s, mod: _sendfile(s, mod, True)),
    )
    result = []
    for name, size, mode, make in specs:
        scenario = _Scenario(mode, certificate)
        if name.startswith("sendfile-"):
            scenario.size = size
            scenario.data_file = _File(size)
        impls, check = {}, {}
        for impl in ("tls", "stdlib"):
            mod = modules[impl]
            if isinstance(mod, Unavailable):
                impls[impl] = mod
            else:
                impls[impl] = lazy = make(scenario, mod)
                check[impl] = lazy.check
        scenario.case = Case(GROUP, name, size, impls, check=check, close=scenario.close)
        result.append(scenario.case)
    return result
