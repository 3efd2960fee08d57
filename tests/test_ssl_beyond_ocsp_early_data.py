"""Beyond the stdlib: OCSP stapling and TLS 1.3 early data (0-RTT) in tls.ssl.

OCSP: a real response made by ``openssl ocsp`` for the test CA's server certificate
(an index.txt for the CA, the CA signing as its own responder), stapled by a tls server
(fixed bytes or a callback) and by ``openssl s_server -status_file``, received by tls
clients and by ``openssl s_client -status``; TLS 1.2 and 1.3.

Early data: sessions resumed with 0-RTT between tls peers (SSLObject over MemoryBIOs,
SSLSocket blocking and non-blocking), against ``openssl s_server -early_data`` and
``openssl s_client -sess_in ... -early_data FILE``; rejection, replay and bad states.

Everything on 127.0.0.1 with ephemeral ports; every thread, process and socket is
stopped, joined or closed by the test that starts it.
"""

from __future__ import annotations

import contextlib
import os
import select
import socket
import ssl as stdlib_ssl
import subprocess
import threading

import pytest
from socket_peers import Peer, listener
from ssl_certs import Pair

import tls.ssl as tssl

TIMEOUT = 10
VERSIONS = {"TLSv1.2": tssl.TLSVersion.TLSv1_2, "TLSv1.3": tssl.TLSVersion.TLSv1_3}

needs_ocsp = pytest.mark.skipif(
    not tssl.HAS_OCSP_STAPLING, reason="the loaded OpenSSL was built without OCSP (no-ocsp)"
)
needs_tls13 = pytest.mark.skipif(not tssl.HAS_TLSv1_3, reason="the loaded OpenSSL has no TLS 1.3")


# ----------------------------------------------------------------------------- fixtures
def _openssl(*args, cwd):
    return subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60).stdout


@pytest.fixture(scope="module")
def ocsp(certs, tmp_path_factory):
    """A DER OCSP response (status good) for ``certs.server``, made by ``openssl ocsp``
    as a responder: the test CA's index.txt lists the certificate, the CA signs."""
    d = str(tmp_path_factory.mktemp("ocsp"))
    serial = _openssl("x509", "-in", certs.server, "-noout", "-serial", cwd=d).decode().strip()
    serial = serial.split("=", 1)[1]
    with open(os.path.join(d, "index.txt"), "w") as f:
        f.write(f"V\t301231235959Z\t\t{serial}\tunknown\t/CN=localhost\n")
    path = os.path.join(d, "resp.der")
    _openssl(
        "ocsp",
        "-index", "index.txt",
        "-rsigner", certs.ca,
        "-rkey", certs.ca_key,
        "-CA", certs.ca,
        "-issuer", certs.ca,
        "-cert", certs.server,
        "-respout", path,
        "-ndays", "1",
        cwd=d,
    )  # fmt: skip
    with open(path, "rb") as f:
        der = f.read()
    text = _openssl("ocsp", "-respin", path, "-resp_text", "-noverify", cwd=d).decode()
    assert "OCSP Response Status: successful" in text and "Cert Status: good" in text
    return der, path


def server_ctx(certs, **settings):
    ctx = tssl.SSLContext(tssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(certs.server, certs.server_key)
    for name, value in settings.items():
        setattr(ctx, name, value)
    return ctx


def client_ctx(certs, **settings):
    ctx = tssl.create_default_context(cafile=certs.ca)
    for name, value in settings.items():
        setattr(ctx, name, value)
    return ctx


def connect(ls):
    return socket.create_connection(ls.getsockname()[:2], timeout=TIMEOUT)


class Proc:
    """An openssl command whose output is collected by a thread; always stopped."""

    def __init__(self, args, stdin=subprocess.PIPE):
        self.proc = subprocess.Popen(
            ["openssl", *args], stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        self.output = b""
        self.changed = threading.Condition()
        self.reader = None

    def start_reader(self):
        def read():
            while True:
                data = self.proc.stdout.read1(65536)
                with self.changed:
                    if data:
                        self.output += data
                    self.changed.notify_all()
                if not data:
                    return

        self.reader = threading.Thread(target=read, daemon=True)
        self.reader.start()

    def wait_for(self, needle):
        with self.changed:
            found = self.changed.wait_for(lambda: needle in self.output, TIMEOUT * 3)
        assert found, f"{needle!r} not in the output of openssl: {self.output.decode(errors='replace')}"

    def send(self, data):
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def finish(self):
        """Wait for the process to end by itself; its whole output."""
        self.proc.wait(TIMEOUT * 3)
        self.stop()
        return self.output

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
        self.proc.wait(TIMEOUT)
        if self.reader is not None:
            self.reader.join(TIMEOUT)
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                stream.close()


@contextlib.contextmanager
def s_server(certs, *extra):
    """``openssl s_server`` on an ephemeral port; yields (Proc, port).  Its stdin stays
    open (at EOF it would quit) and what is written there goes to the client."""
    server = Proc(
        ["s_server", "-accept", "127.0.0.1:0", "-cert", certs.server, "-key", certs.server_key, *extra]
    )
    try:
        port = None
        for _ in range(20):
            line = server.proc.stdout.readline().decode()
            if line.startswith("ACCEPT"):
                port = int(line.rsplit(":", 1)[1])
                break
        assert port, "openssl s_server did not report its port"
        server.start_reader()
        yield server, port
    finally:
        server.stop()


def s_client(port, *extra):
    """``openssl s_client`` (not quiet: it prints what it saw) that waits for the server to close."""
    client = Proc(["s_client", "-connect", f"127.0.0.1:{port}", "-ign_eof", *extra], stdin=subprocess.DEVNULL)
    client.start_reader()
    return client


def handshake_failing(pair, failing, exc_type):
    """Drive ``pair`` until ``failing`` ("client" or "server") raises ``exc_type``;
    then the other side sees the alert.  Returns (callback exception, peer's SSLError)."""
    other = "server" if failing == "client" else "client"
    for _ in range(10):
        for name in ("client", "server"):
            try:
                getattr(pair, name).do_handshake()
            except tssl.SSLWantReadError:
                pass
            except exc_type as exc:
                assert name == failing, f"the {name} failed: {exc!r}"
                pair.transfer()
                with pytest.raises(tssl.SSLError) as peer:
                    for _ in range(3):
                        try:
                            getattr(pair, other).do_handshake()
                        except tssl.SSLWantReadError:
                            pair.transfer()
                return exc, peer.value
        pair.transfer()
    raise AssertionError("the handshake did not fail")


def ticket_session(cctx, sctx, **pair_kw):
    """A full handshake over MemoryBIOs; the client's session once it read the tickets."""
    pair = Pair(cctx, sctx, **pair_kw)
    pair.handshake()
    pair.server.write(b"tickets first")
    pair.transfer()
    assert pair.client.read() == b"tickets first"
    session = pair.client.session
    assert session.has_ticket
    return session


# ============================================================================= OCSP stapling
@needs_ocsp
@pytest.mark.parametrize("version", sorted(VERSIONS))
def test_ocsp_fixed_response_tls_to_tls(certs, ocsp, version):
    der, _ = ocsp
    sctx = server_ctx(certs)
    sctx.set_ocsp_response(der)
    cctx = client_ctx(certs, maximum_version=VERSIONS[version])
    assert cctx.ocsp_stapling is False
    cctx.ocsp_stapling = True
    assert cctx.ocsp_stapling is True
    pair = Pair(cctx, sctx)
    assert pair.client.ocsp_response is None  # before the handshake
    pair.handshake()
    assert pair.client.version() == version
    assert pair.client.ocsp_response == der  # exactly the bytes stapled
    assert pair.server.ocsp_response == der  # what the server stapled


@needs_ocsp
@pytest.mark.parametrize("version", sorted(VERSIONS))
def test_ocsp_not_requested_means_no_staple(certs, ocsp, version):
    der, _ = ocsp
    calls = []
    sctx = server_ctx(certs)
    sctx.set_ocsp_response_callback(lambda conn: calls.append(conn) or der)
    pair = Pair(client_ctx(certs, maximum_version=VERSIONS[version]), sctx)
    pair.handshake()
    assert pair.client.ocsp_response is None
    assert pair.server.ocsp_response is None
    assert calls == []  # only a client that asks makes the server look for a staple


@needs_ocsp
@pytest.mark.parametrize("version", sorted(VERSIONS))
def test_ocsp_requested_but_none_stapled(certs, version):
    seen = []
    cctx = client_ctx(certs, maximum_version=VERSIONS[version])
    cctx.set_ocsp_verify_callback(lambda conn, response: seen.append(response) or True)
    for sctx in (server_ctx(certs), server_ctx(certs)):
        pair = Pair(cctx, sctx)
        pair.handshake()
        assert pair.client.ocsp_response is None
    # the second server has a callback that declines
    sctx.set_ocsp_response_callback(lambda conn: None)
    pair = Pair(cctx, sctx)
    pair.handshake()
    assert pair.client.ocsp_response is None
    assert seen == [None, None, None]


@needs_ocsp
@pytest.mark.parametrize("version", sorted(VERSIONS))
def test_ocsp_response_callback_per_connection(certs, ocsp, version):
    der, _ = ocsp
    calls = []

    def staple(conn):
        calls.append(conn)
        return bytearray(der)  # any bytes-like object

    sctx = server_ctx(certs)
    sctx.set_ocsp_response_callback(staple)
    seen = []
    cctx = client_ctx(certs, maximum_version=VERSIONS[version])
    cctx.set_ocsp_verify_callback(lambda conn, response: seen.append((conn, response)) or True)
    assert cctx.ocsp_stapling is True  # a verify callback asks for staples
    pair = Pair(cctx, sctx)
    pair.handshake()
    assert calls == [pair.server]  # the public SSLObject, as for the SNI callback
    assert seen == [(pair.client, der)]
    assert pair.client.ocsp_response == der


@needs_ocsp
@pytest.mark.parametrize("version", sorted(VERSIONS))
def test_ocsp_verify_callback_rejects(certs, ocsp, version):
    der, _ = ocsp
    sctx = server_ctx(certs)
    sctx.set_ocsp_response(der)
    cctx = client_ctx(certs, maximum_version=VERSIONS[version])
    cctx.set_ocsp_verify_callback(lambda conn, response: response != der)
    exc, peer = handshake_failing(Pair(cctx, sctx), "client", tssl.SSLError)
    assert exc.reason == "INVALID_STATUS_RESPONSE"
    assert "bad certificate status response" in str(peer)


@needs_ocsp
@pytest.mark.parametrize("version", sorted(VERSIONS))
def test_ocsp_verify_callback_error_reaches_the_client(certs, ocsp, version):
    der, _ = ocsp
    sctx = server_ctx(certs)
    sctx.set_ocsp_response(der)
    cctx = client_ctx(certs, maximum_version=VERSIONS[version])

    def verify(conn, response):
        raise LookupError("no such responder")

    cctx.set_ocsp_verify_callback(verify)
    exc, peer = handshake_failing(Pair(cctx, sctx), "client", LookupError)
    assert str(exc) == "no such responder"
    assert "internal error" in str(peer)


@needs_ocsp
@pytest.mark.parametrize("version", sorted(VERSIONS))
@pytest.mark.parametrize(
    "result, exc_type",
    [(ZeroDivisionError, ZeroDivisionError), ("text", TypeError), (b"not der", ValueError), (42, TypeError)],
)
def test_ocsp_response_callback_error_reaches_the_server(certs, version, result, exc_type):
    def staple(conn):
        if result is ZeroDivisionError:
            return 1 / 0
        return result

    sctx = server_ctx(certs)
    sctx.set_ocsp_response_callback(staple)
    cctx = client_ctx(certs, maximum_version=VERSIONS[version], ocsp_stapling=True)
    exc, peer = handshake_failing(Pair(cctx, sctx), "server", exc_type)
    assert "internal error" in str(peer)
    # the context still serves: a client that does not ask is not affected
    pair = Pair(client_ctx(certs, maximum_version=VERSIONS[version]), sctx)
    pair.handshake()


@needs_ocsp
def test_ocsp_staple_of_the_context_an_sni_callback_picks(certs, ocsp):
    der, _ = ocsp
    first = server_ctx(certs)
    stapling = server_ctx(certs)
    stapling.set_ocsp_response(der)
    plain = server_ctx(certs)
    cctx = client_ctx(certs, ocsp_stapling=True)
    for picked, expected in ((stapling, der), (plain, None)):
        first.set_ocsp_response_callback(lambda conn: 1 / 0)  # never asked: the picked context is
        first.sni_callback = lambda obj, name, ctx, picked=picked: setattr(obj, "context", picked)
        pair = Pair(cctx, first)
        pair.handshake()
        assert pair.server.context is picked
        assert pair.client.ocsp_response == expected


@needs_ocsp
def test_ocsp_callbacks_on_foreign_bios(certs, ocsp):
    """The stdlib's MemoryBIO (asyncio's) on both ends: same staple, same errors."""
    der, _ = ocsp
    sctx = server_ctx(certs)
    sctx.set_ocsp_response_callback(lambda conn: der)
    cctx = client_ctx(certs)
    cctx.set_ocsp_verify_callback(lambda conn, response: response == der)
    pair = Pair(cctx, sctx, client_bio=stdlib_ssl.MemoryBIO, server_bio=stdlib_ssl.MemoryBIO)
    pair.handshake()
    assert pair.client.ocsp_response == der
    sctx.set_ocsp_response_callback(lambda conn: {}[0])
    pair = Pair(cctx, sctx, client_bio=stdlib_ssl.MemoryBIO, server_bio=stdlib_ssl.MemoryBIO)
    handshake_failing(pair, "server", KeyError)


@needs_ocsp
@pytest.mark.parametrize("version", sorted(VERSIONS))
def test_ocsp_resumed_session_has_no_staple(certs, ocsp, version):
    """Resumption sends no certificate, so no staple, and the verify callback (which
    judged the session's first handshake) is not asked again (TLS 1.3 would ask it)."""
    der, _ = ocsp
    seen = []
    sctx = server_ctx(certs)
    sctx.set_ocsp_response(der)
    cctx = client_ctx(certs, maximum_version=VERSIONS[version])
    cctx.set_ocsp_verify_callback(lambda conn, response: seen.append(response) or True)
    session = ticket_session(cctx, sctx)
    pair = Pair(cctx, sctx)
    pair.client.session = session
    pair.handshake()
    assert pair.client.session_reused
    assert pair.client.ocsp_response is None
    assert seen == [der]


@needs_ocsp
@pytest.mark.parametrize("version", sorted(VERSIONS))
def test_ocsp_sockets_tls_to_tls(certs, ocsp, version):
    der, _ = ocsp
    calls = []
    sctx = server_ctx(certs)
    sctx.set_ocsp_response_callback(lambda conn: calls.append(conn) or der)
    cctx = client_ctx(certs, maximum_version=VERSIONS[version], ocsp_stapling=True)

    def server(conn):
        with sctx.wrap_socket(conn, server_side=True) as s:
            assert calls == [s]  # the SSLSocket itself
            s.sendall(b"stapled")

    with listener() as ls:
        peer = Peer(ls, server)
        with cctx.wrap_socket(connect(ls), server_hostname="localhost") as s:
            assert s.version() == version
            assert s.ocsp_response == der
            assert s.recv(100) == b"stapled"
        peer.join()


@needs_ocsp
def test_ocsp_socket_callback_error_surfaces_and_closes(certs):
    """An exception from the response callback leaves do_handshake (in accept's wrap here)
    as itself, and the half-made server socket is closed."""
    sctx = server_ctx(certs)
    sctx.set_ocsp_response_callback(lambda conn: 1 / 0)
    cctx = client_ctx(certs, ocsp_stapling=True)

    def server(conn):
        fd = conn.fileno()
        with pytest.raises(ZeroDivisionError) as info:
            sctx.wrap_socket(conn, server_side=True)
        # closed by wrap_socket, not left to the garbage collector (the traceback in
        # ``info`` keeps the half-made socket alive)
        with pytest.raises(OSError):
            os.fstat(fd)
        del info

    with listener() as ls:
        peer = Peer(ls, server)
        with pytest.raises(tssl.SSLError, match="internal error"):
            with cctx.wrap_socket(connect(ls), server_hostname="localhost"):
                pass
        peer.join()


@needs_ocsp
@pytest.mark.parametrize("version", ["-tls1_2", "-tls1_3"])
def test_ocsp_client_against_s_server_status_file(certs, ocsp, version):
    der, path = ocsp
    with s_server(certs, "-status_file", path, version) as (server, port):
        for stapling in (True, False):
            cctx = client_ctx(certs, ocsp_stapling=stapling)
            with cctx.wrap_socket(
                socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT), server_hostname="localhost"
            ) as s:
                assert s.version() == ("TLSv1.2" if version == "-tls1_2" else "TLSv1.3")
                assert s.ocsp_response == (der if stapling else None)


@needs_ocsp
@pytest.mark.parametrize("version", ["-tls1_2", "-tls1_3"])
@pytest.mark.parametrize("how", ["fixed", "callback"])
def test_ocsp_server_seen_by_s_client(certs, ocsp, version, how):
    der, _ = ocsp
    sctx = server_ctx(certs)
    if how == "fixed":
        sctx.set_ocsp_response(memoryview(der))
    else:
        sctx.set_ocsp_response_callback(lambda conn: der)
    with listener() as ls:
        port = ls.getsockname()[1]
        for status in (True, False):
            extra = ("-status",) if status else ()
            client = s_client(port, "-CAfile", certs.ca, "-verify_return_error", version, *extra)
            try:
                conn, _ = ls.accept()
                with sctx.wrap_socket(conn, server_side=True) as s:
                    s.sendall(b"bye\n")
                output = client.finish().decode(errors="replace")
            finally:
                client.stop()
            if status:
                assert "OCSP Response Status: successful" in output, output
                assert "Cert Status: good" in output, output
            else:
                assert "OCSP Response Status" not in output, output
            assert "Verify return code: 0 (ok)" in output, output


@needs_ocsp
def test_ocsp_bad_input(certs, ocsp):
    der, _ = ocsp
    sctx = server_ctx(certs)
    cctx = client_ctx(certs)
    for bad in ("text", 42, object(), [1, 2]):
        with pytest.raises(TypeError):
            sctx.set_ocsp_response(bad)
    with pytest.raises(ValueError, match="empty"):
        sctx.set_ocsp_response(b"")
    with pytest.raises(ValueError, match="not a DER-encoded OCSP response"):
        sctx.set_ocsp_response(b"\x30\x03\x0a\x01")
    with pytest.raises(ValueError, match="not a DER-encoded OCSP response"):
        sctx.set_ocsp_response(der[:-1])
    with pytest.raises(ValueError, match="trailing data"):
        sctx.set_ocsp_response(der + b"\0")
    with pytest.raises(TypeError, match="callable"):
        sctx.set_ocsp_response_callback(der)
    with pytest.raises(TypeError, match="callable"):
        cctx.set_ocsp_verify_callback(42)
    # each side's settings belong to its kind of context
    with pytest.raises(ValueError, match="TLS_CLIENT"):
        cctx.set_ocsp_response(der)
    with pytest.raises(ValueError, match="TLS_CLIENT"):
        cctx.set_ocsp_response_callback(lambda conn: der)
    with pytest.raises(ValueError, match="TLS_SERVER"):
        sctx.ocsp_stapling = True
    with pytest.raises(ValueError, match="TLS_SERVER"):
        sctx.set_ocsp_verify_callback(lambda conn, response: True)
    assert sctx.ocsp_stapling is False


@needs_ocsp
def test_ocsp_settings_replace_and_clear(certs, ocsp):
    der, _ = ocsp
    sctx = server_ctx(certs)
    cctx = client_ctx(certs, ocsp_stapling=True)

    def staple():
        pair = Pair(cctx, sctx)
        pair.handshake()
        return pair.client.ocsp_response

    sctx.set_ocsp_response_callback(lambda conn: 1 / 0)
    sctx.set_ocsp_response(der)  # replaces the callback
    assert staple() == der
    sctx.set_ocsp_response(None)
    assert staple() is None
    sctx.set_ocsp_response(der)
    sctx.set_ocsp_response_callback(None)  # clears the fixed response too
    assert staple() is None
    cctx.set_ocsp_verify_callback(lambda conn, response: False)
    cctx.set_ocsp_verify_callback(None)  # removed: stapling stays on, nothing judged
    sctx.set_ocsp_response(der)
    assert cctx.ocsp_stapling is True
    assert staple() == der
    cctx.ocsp_stapling = False
    assert staple() is None


def test_ocsp_response_of_unconnected_socket_is_none(certs):
    with socket.socket() as raw:
        s = client_ctx(certs).wrap_socket(raw, server_hostname="localhost")
        with s:
            assert s.ocsp_response is None
            assert s.early_data_accepted is False


# ============================================================================= early data
def early_server(certs, max_early_data=4096, **settings):
    return server_ctx(certs, max_early_data=max_early_data, **settings)


def read_all_early(conn, size=16384):
    chunks = []
    while True:
        chunk = conn.read_early_data(size)
        if not chunk:
            return chunks
        chunks.append(chunk)


def early_pair(cctx, sctx, session, data, **pair_kw):
    """A resumed MemoryBIO connection where the client sends ``data`` as early data and
    the server reads early data before its handshake.  Returns (pair, early chunks)."""
    pair = Pair(cctx, sctx, **pair_kw)
    pair.client.session = session
    assert pair.client.write_early_data(data) == len(data)
    pair.transfer()
    chunks = []
    while True:
        try:
            chunk = pair.server.read_early_data(5)
        except tssl.SSLWantReadError:
            # the rest comes once the client has seen the server's flight
            pair.transfer()
            try:
                pair.client.do_handshake()
            except tssl.SSLWantReadError:
                pass
            pair.transfer()
            continue
        if not chunk:
            break
        chunks.append(chunk)
    assert pair.server.read_early_data() == b""  # and again: finished
    pair.handshake()
    return pair, chunks


@needs_tls13
@pytest.mark.parametrize("bio", ["tls", "stdlib"])
def test_early_data_memory_bio(certs, bio):
    pair_kw = {}
    if bio == "stdlib":
        pair_kw = dict(client_bio=stdlib_ssl.MemoryBIO, server_bio=stdlib_ssl.MemoryBIO)
    sctx = early_server(certs, max_early_data=1000)
    assert sctx.max_early_data == 1000
    cctx = client_ctx(certs)
    session = ticket_session(cctx, sctx, **pair_kw)
    assert session.max_early_data == 1000
    pair, chunks = early_pair(cctx, sctx, session, b"GET /idempotent 0-RTT", **pair_kw)
    assert b"".join(chunks) == b"GET /idempotent 0-RTT"
    assert len(chunks) > 1 and all(len(c) <= 5 for c in chunks)  # read in pieces of len
    assert pair.client.session_reused and pair.server.session_reused
    assert pair.client.early_data_accepted and pair.server.early_data_accepted
    assert pair.send(pair.client, pair.server, b"after the handshake") == b"after the handshake"
    assert pair.send(pair.server, pair.client, b"reply") == b"reply"


@needs_tls13
def test_early_data_in_several_writes_up_to_the_limit(certs):
    sctx = early_server(certs, max_early_data=20)
    cctx = client_ctx(certs)
    session = ticket_session(cctx, sctx)
    pair = Pair(cctx, sctx)
    pair.client.session = session
    assert pair.client.write_early_data(b"0123456789") == 10
    assert pair.client.write_early_data(memoryview(b"abcdefghij")) == 10
    with pytest.raises(ValueError, match="limited to 20 bytes by the session \\(20 written already\\)"):
        pair.client.write_early_data(b"x")
    pair.transfer()
    chunks = []
    while True:
        try:
            chunk = pair.server.read_early_data()
        except tssl.SSLWantReadError:
            pair.transfer()
            with contextlib.suppress(tssl.SSLWantReadError):
                pair.client.do_handshake()
            pair.transfer()
            continue
        if not chunk:
            break
        chunks.append(chunk)
    pair.handshake()
    assert b"".join(chunks) == b"0123456789abcdefghij"
    assert pair.client.early_data_accepted


def assert_rejected_and_resent(pair, data):
    """Rejected early data never reaches the server's reads; the caller resends it."""
    assert not pair.client.early_data_accepted
    assert not pair.server.early_data_accepted
    assert pair.send(pair.client, pair.server, b"resent: " + data) == b"resent: " + data
    with pytest.raises(tssl.SSLWantReadError):  # nothing else came through
        pair.server.read()


@needs_tls13
def test_early_data_rejected_by_a_server_not_opted_in(certs):
    sctx = early_server(certs)
    cctx = client_ctx(certs)
    session = ticket_session(cctx, sctx)
    sctx.max_early_data = 0  # the ticket offered 0-RTT; this server now refuses it
    pair, chunks = early_pair(cctx, sctx, session, b"early")
    assert chunks == []
    # Tickets issued with 0-RTT on (and anti-replay, the default) are stateful: a server
    # that no longer takes early data looks for stateless ones, so this is a full handshake.
    assert not pair.client.session_reused
    assert_rejected_and_resent(pair, b"early")


@needs_tls13
def test_early_data_rejected_when_the_server_does_not_read_it(certs):
    """Opting in takes both max_early_data and read_early_data: a server that starts with
    do_handshake skips the early data."""
    sctx = early_server(certs)
    cctx = client_ctx(certs)
    session = ticket_session(cctx, sctx)
    pair = Pair(cctx, sctx)
    pair.client.session = session
    pair.client.write_early_data(b"early")
    pair.handshake()
    assert pair.client.session_reused
    assert_rejected_and_resent(pair, b"early")


@needs_tls13
def test_early_data_replayed_ticket_is_refused(certs):
    """OpenSSL's anti-replay (the server's session cache, on by default): a ticket takes
    0-RTT once; the replayed early data is not read and the handshake is a full one."""
    sctx = early_server(certs)
    cctx = client_ctx(certs)
    session = ticket_session(cctx, sctx)
    first, chunks = early_pair(cctx, sctx, session, b"pay 10$")
    assert chunks == [b"pay 1", b"0$"] and first.server.early_data_accepted
    replay, chunks = early_pair(cctx, sctx, session, b"pay 10$")
    assert chunks == []
    assert not replay.client.session_reused
    assert_rejected_and_resent(replay, b"pay 10$")


@needs_tls13
def test_early_data_without_a_server_offer(certs):
    """A server that never opted in issues tickets without 0-RTT: the client is told
    before anything is sent, and read_early_data on such a server just finishes."""
    sctx = server_ctx(certs)
    assert sctx.max_early_data == 0
    cctx = client_ctx(certs)
    session = ticket_session(cctx, sctx)
    assert session.max_early_data == 0
    pair = Pair(cctx, sctx)
    pair.client.session = session
    with pytest.raises(ValueError, match="max_early_data > 0"):
        pair.client.write_early_data(b"early")
    with contextlib.suppress(tssl.SSLWantReadError):
        pair.client.do_handshake()
    pair.transfer()
    assert pair.server.read_early_data() == b""
    pair.handshake()
    assert pair.client.session_reused and not pair.client.early_data_accepted


@needs_tls13
def test_early_data_bad_states(certs):
    sctx = early_server(certs, max_early_data=100)
    cctx = client_ctx(certs)
    session = ticket_session(cctx, sctx)

    pair = Pair(cctx, sctx)  # no session
    with pytest.raises(ValueError, match="needs a TLS 1.3 session"):
        pair.client.write_early_data(b"x")
    with pytest.raises(ValueError, match="is for servers"):
        pair.client.read_early_data()
    with pytest.raises(ValueError, match="is for clients"):
        pair.server.write_early_data(b"x")

    pair = Pair(cctx, sctx)
    pair.client.session = session
    with pytest.raises(ValueError, match="limited to 100 bytes"):
        pair.client.write_early_data(b"x" * 101)
    with pytest.raises(TypeError, match="bytes-like"):
        pair.client.write_early_data("text")
    assert pair.client.write_early_data(b"x") == 1  # still usable after refused calls
    with pytest.raises(tssl.SSLWantReadError):
        pair.client.do_handshake()  # the handshake has started: no more early data
    with pytest.raises(ValueError, match="can only be written before the handshake"):
        pair.client.write_early_data(b"y")
    pair.transfer()
    with pytest.raises(tssl.SSLWantReadError):
        pair.server.do_handshake()  # nor can the server read it once its handshake started
    with pytest.raises(ValueError, match="can only be read before the handshake"):
        pair.server.read_early_data()
    pair.handshake()
    with pytest.raises(ValueError, match="can only be written before the handshake"):
        pair.client.write_early_data(b"x")
    with pytest.raises(ValueError, match="can only be read before the handshake"):
        pair.server.read_early_data()

    pair = Pair(cctx, sctx)
    for bad_len in (0, -1):
        with pytest.raises(ValueError, match="positive"):
            pair.server.read_early_data(bad_len)
    with pytest.raises(TypeError):
        pair.server.read_early_data("16")


@needs_tls13
def test_early_data_needs_tls13(certs):
    sctx = early_server(certs)
    # a TLS 1.2 session never carries 0-RTT
    sctx12 = early_server(certs, maximum_version=tssl.TLSVersion.TLSv1_2)
    cctx = client_ctx(certs)
    session12 = ticket_session(cctx, sctx12)
    assert session12.max_early_data == 0
    pair = Pair(cctx, sctx12)
    pair.client.session = session12
    with pytest.raises(ValueError, match="needs a TLS 1.3 session"):
        pair.client.write_early_data(b"x")
    # a client limited to TLS 1.2 with a TLS 1.3 session that allows 0-RTT
    session13 = ticket_session(cctx, sctx)
    cctx.maximum_version = tssl.TLSVersion.TLSv1_2
    pair = Pair(cctx, sctx)
    pair.client.session = session13
    with pytest.raises(ValueError, match="needs TLS 1.3"):
        pair.client.write_early_data(b"x")


def test_max_early_data_bad_input(certs):
    sctx = server_ctx(certs)
    for bad in (-1, 2**32):
        with pytest.raises(ValueError):
            sctx.max_early_data = bad
    for bad in (1.5, "16", None):
        with pytest.raises(TypeError):
            sctx.max_early_data = bad
    sctx.max_early_data = 2**32 - 1
    assert sctx.max_early_data == 2**32 - 1
    sctx.max_early_data = 0
    assert sctx.max_early_data == 0
    cctx = client_ctx(certs)
    with pytest.raises(ValueError, match="not a server context"):
        cctx.max_early_data = 100
    assert cctx.max_early_data == 0


# ----------------------------------------------------------------------------- over sockets
def socket_session(cctx, sctx):
    """A full handshake over loopback sockets; the client's session with its ticket."""

    def server(conn):
        with sctx.wrap_socket(conn, server_side=True) as s:
            s.sendall(b"ticket")
            assert s.recv(10) == b""
            s.unwrap()

    with listener() as ls:
        peer = Peer(ls, server)
        with cctx.wrap_socket(connect(ls), server_hostname="localhost") as s:
            assert s.recv(10) == b"ticket"  # the tickets came before
            session = s.session
            # A clean close: a server that meets a ragged EOF sends a fatal alert, and OpenSSL
            # then drops the connection's session from the cache, where the (stateful) tickets
            # of a server taking early data live.
            s.unwrap()
        peer.join()
    assert session.has_ticket
    return session


@needs_tls13
@pytest.mark.parametrize("accept", [True, False])
def test_early_data_sockets_tls_to_tls(certs, accept):
    sctx = early_server(certs)
    cctx = client_ctx(certs)
    session = socket_session(cctx, sctx)
    if not accept:
        sctx.max_early_data = 0

    def server(conn):
        with sctx.wrap_socket(conn, server_side=True, do_handshake_on_connect=False) as s:
            chunks = read_all_early(s, 4)
            s.do_handshake()
            s.sendall(b"".join(chunks).upper() or b"-")
            return chunks, s.early_data_accepted, s.recv(100)

    with listener() as ls:
        peer = Peer(ls, server)
        raw = connect(ls)
        with cctx.wrap_socket(
            raw, server_hostname="localhost", session=session, do_handshake_on_connect=False
        ) as s:
            assert s.write_early_data(b"GET /0rtt") == 9
            s.do_handshake()
            assert s.session_reused is accept  # stateful tickets: see the MemoryBIO rejection test
            assert s.early_data_accepted is accept
            assert s.recv(100) == (b"GET /0RTT" if accept else b"-")
            if not s.early_data_accepted:
                s.sendall(b"GET /0rtt")  # what the caller does after a rejection
            else:
                s.sendall(b"next")
        chunks, accepted, after = peer.join()
    assert accepted is accept
    if accept:
        assert b"".join(chunks) == b"GET /0rtt" and len(chunks) == 3
        assert after == b"next"
    else:
        assert chunks == [] and after == b"GET /0rtt"


@needs_tls13
def test_early_data_non_blocking_server(certs):
    sctx = early_server(certs)
    cctx = client_ctx(certs)
    session = socket_session(cctx, sctx)
    waiting = threading.Event()

    def wait(s):
        assert select.select([s], [], [], TIMEOUT)[0], "nothing came"

    def server(conn):
        conn.setblocking(False)
        with sctx.wrap_socket(conn, server_side=True, do_handshake_on_connect=False) as s:
            want_reads = 0
            chunks = []
            while True:
                try:
                    chunk = s.read_early_data()
                except tssl.SSLWantReadError:
                    want_reads += 1
                    waiting.set()
                    wait(s)
                    continue
                if not chunk:
                    break
                chunks.append(chunk)
            while True:
                try:
                    s.do_handshake()
                    break
                except tssl.SSLWantReadError:
                    wait(s)
            accepted = s.early_data_accepted
            s.setblocking(True)
            s.sendall(b"ok")
            return want_reads, chunks, accepted

    with listener() as ls:
        peer = Peer(ls, server)
        with cctx.wrap_socket(
            connect(ls), server_hostname="localhost", session=session, do_handshake_on_connect=False
        ) as s:
            assert waiting.wait(TIMEOUT)  # the server asked for data before any was sent
            s.write_early_data(b"non-blocking 0-RTT")
            s.do_handshake()
            assert s.early_data_accepted
            assert s.recv(10) == b"ok"
        want_reads, chunks, accepted = peer.join()
    assert want_reads >= 1
    assert b"".join(chunks) == b"non-blocking 0-RTT"
    assert accepted


@needs_tls13
def test_early_data_socket_bad_states(certs):
    sctx = early_server(certs)
    cctx = client_ctx(certs)
    session = socket_session(cctx, sctx)
    with socket.socket() as raw:  # not connected yet: no TLS layer
        s = cctx.wrap_socket(raw, server_hostname="localhost", session=session)
        with s:
            with pytest.raises(ValueError, match="closed or unwrapped"):
                s.write_early_data(b"x")
            with pytest.raises(ValueError, match="closed or unwrapped"):
                s.read_early_data()

    def server(conn):
        with sctx.wrap_socket(conn, server_side=True) as s:
            with pytest.raises(ValueError, match="can only be read before the handshake"):
                s.read_early_data()
            with pytest.raises(ValueError, match="is for clients"):
                s.write_early_data(b"x")
            s.sendall(b"done")

    with listener() as ls:
        peer = Peer(ls, server)
        with cctx.wrap_socket(connect(ls), server_hostname="localhost", session=session) as s:
            with pytest.raises(ValueError, match="can only be written before the handshake"):
                s.write_early_data(b"x")
            assert s.recv(10) == b"done"
        peer.join()


# ----------------------------------------------------------------------------- real OpenSSL peers
@needs_tls13
def test_early_data_against_s_server(certs):
    with s_server(certs, "-early_data") as (server, port):
        cctx = client_ctx(certs)
        with cctx.wrap_socket(
            socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT), server_hostname="localhost"
        ) as s:
            server.send(b"from s_server\n")  # s_server sends its stdin to the client
            assert s.recv(100) == b"from s_server\n"  # read after the tickets
            session = s.session
            s.unwrap()  # a clean close keeps the session (see socket_session)
        assert session.max_early_data == 16384  # what s_server -early_data offers

        with cctx.wrap_socket(
            socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT),
            server_hostname="localhost",
            session=session,
            do_handshake_on_connect=False,
        ) as s:
            s.write_early_data(b"early bird from tls\n")
            s.do_handshake()
            assert s.session_reused and s.early_data_accepted
            server.wait_for(b"Early data received:")
            server.wait_for(b"early bird from tls\n")
            server.wait_for(b"End of early data")
            s.sendall(b"after the handshake\n")
            server.wait_for(b"after the handshake\n")

        # the same ticket again: s_server's anti-replay refuses the early data
        with cctx.wrap_socket(
            socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT),
            server_hostname="localhost",
            session=session,
            do_handshake_on_connect=False,
        ) as s:
            s.write_early_data(b"replayed\n")
            s.do_handshake()
            assert not s.early_data_accepted
            server.wait_for(b"Early data was rejected")
            s.sendall(b"resent after rejection\n")
            server.wait_for(b"resent after rejection\n")
    assert b"replayed" not in server.output


@needs_tls13
def test_early_data_from_s_client(certs, tmp_path):
    sctx = early_server(certs)
    sess = str(tmp_path / "sess.pem")
    early = tmp_path / "early.txt"
    early.write_bytes(b"GET / from s_client 0-RTT\n")
    with listener() as ls:
        port = ls.getsockname()[1]
        client = s_client(port, "-CAfile", certs.ca, "-sess_out", sess)
        try:
            conn, _ = ls.accept()
            with sctx.wrap_socket(conn, server_side=True) as s:
                s.sendall(b"hello\n")
                client.wait_for(b"hello\n")  # it has read the tickets, which come first
            client.finish()
        finally:
            client.stop()
        assert os.path.getsize(sess) > 0

        client = s_client(port, "-CAfile", certs.ca, "-sess_in", sess, "-early_data", str(early))
        try:
            conn, _ = ls.accept()
            with sctx.wrap_socket(conn, server_side=True, do_handshake_on_connect=False) as s:
                s.settimeout(TIMEOUT)
                chunks = read_all_early(s)
                s.do_handshake()
                assert s.session_reused and s.early_data_accepted
                s.sendall(b"".join(chunks).upper())
                client.wait_for(b"GET / FROM S_CLIENT 0-RTT\n")
            output = client.finish().decode(errors="replace")
        finally:
            client.stop()
    assert b"".join(chunks) == b"GET / from s_client 0-RTT\n"
    assert "Early data was accepted" in output, output
    assert "Reused, TLSv1.3" in output, output
