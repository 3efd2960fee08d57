"""More real ssl-using programs, unchanged, with an explicitly passed ``tls.ssl`` context
(no injection): ``imaplib`` (IMAP4_SSL and STARTTLS), ``ftplib.FTP_TLS`` (AUTH TLS, TLS
data connections, CCC), and mutual TLS (a client certificate) through ``http.client``,
``urllib`` and ``urllib3``. The servers are tests/https_servers.py's.

As in tests/test_ssl_clients.py: each client runs with a ``tls.ssl`` context against a
``tls.ssl`` server and a stdlib server, stdlib clients run against ``tls.ssl`` servers,
and the all-stdlib pair is the reference; every context's ``session_stats()`` shows the
handshakes it made, the servers record the commands (and whether they came over TLS)
and the bytes they received. Loopback only: 127.0.0.1 and ::1, ephemeral ports.

Two tls.ssl bugs these tests found stay covered: ftplib decides with
``isinstance(sock, ssl.SSLSocket)`` whether to unwrap a TLS data connection (and whether
``ccc()`` may run), so tls.ssl.SSLSocket subclasses the stdlib's (before, data
connections closed without close_notify and TLS 1.3 uploads lost their tail); and a
read or write that fails must give the caller's buffer back
(test_failed_io_releases_the_callers_buffer).
"""

import ftplib
import http.client
import imaplib
import io
import os
import ssl
import subprocess
import sys
import urllib.error
import urllib.request
from types import SimpleNamespace

import pytest
import urllib3
from client_matrix import (  # noqa: F401 (autouse fixtures)
    HOSTS,
    MODULES,
    PAIRS,
    connections,
    describe_error,
    error_chain,
    no_proxies,
    stdlib_ssl_untouched,
    url,
)
from https_servers import TIMEOUT, body_for, ftp_server, https_server, imap_server
from ssl_certs import assert_error_queue_clean

import tls.ssl
from tls._binding import clear_errors

VERSIONS = ["TLSv1_2", "TLSv1_3"]  # the server's maximum_version





def server_context(mod, certs, version=None, client_certs=False):
    ctx = mod.SSLContext(mod.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(certs.server, certs.server_key)
    if version is not None:
        ctx.maximum_version = getattr(mod.TLSVersion, version)
    if client_certs:  # mutual TLS: a certificate from the test CA is required
        ctx.verify_mode = mod.CERT_REQUIRED
        ctx.load_verify_locations(certs.ca)
    return ctx


def client_context(mod, certs, client_cert=False):
    ctx = mod.create_default_context(cafile=certs.ca)
    if client_cert:
        ctx.load_cert_chain(certs.client, certs.client_key)
    return ctx


def pair_id(pair):
    return f"client_{pair[0]}-server_{pair[1]}"


def _contexts(pair, certs, version=None):
    """A client and a server context from the pair's modules (the server: localhost, 127.0.0.1, ::1)."""
    client_mod, server_mod = (MODULES[name] for name in pair)
    return SimpleNamespace(
        client=client_context(client_mod, certs),
        server=server_context(server_mod, certs, version),
        client_mod=client_mod,
        server_mod=server_mod,
    )


@pytest.fixture(params=PAIRS, ids=pair_id)
def ctx(request, certs):
    return _contexts(request.param, certs)


# ----------------------------------------------------------------------------- imaplib


def _message(size):
    """A mail message of about ``size`` bytes, CRLF lines (as imaplib sends them)."""
    body = body_for(f"/imap?size={size}")
    lines = [body[i : i + 76] for i in range(0, len(body), 76)]
    return (
        b"From: a@localhost\r\nTo: b@localhost\r\nSubject: tls imaplib\r\n\r\n"
        + b"\r\n".join(lines)
        + b"\r\n"
    )


MESSAGE = _message(200_000)
AFTER_LOGIN = ["LOGIN", "APPEND", "SELECT", "FETCH", "LOGOUT"]


def _imap_session(imap):
    """Log in, store MESSAGE, read it back, log out: what the server must see after CAPABILITY."""
    assert imap.login("tlsuser", "pass word") == ("OK", [b"LOGIN completed"])
    assert imap.append("INBOX", None, None, MESSAGE)[0] == "OK"
    assert imap.select("INBOX") == ("OK", [b"1"])
    typ, data = imap.fetch("1", "(BODY[])")
    assert typ == "OK"
    assert data[0][0] == b"1 (BODY[] {%d}" % len(MESSAGE)
    assert data[0][1] == MESSAGE  # 200 kB through the TLS socket's makefile, both ways
    assert imap.logout()[0] == "BYE"


@pytest.mark.parametrize("host", HOSTS)
def test_imaplib_imap4_ssl(ctx, host):
    with imap_server(ctx.server, host) as server:
        with imaplib.IMAP4_SSL(host, server.port, ssl_context=ctx.client, timeout=TIMEOUT) as imap:
            assert isinstance(imap.sock, ctx.client_mod.SSLSocket)
            assert imap.sock.version() in ("TLSv1.2", "TLSv1.3")
            assert imap.sock.getpeercert()["subject"][-1] == (("commonName", "localhost"),)
            assert "IMAP4REV1" in imap.capabilities and "STARTTLS" not in imap.capabilities
            _imap_session(imap)
    assert server.errors == []
    assert server.mailbox == [MESSAGE]
    assert server.logins == [b'tlsuser "pass word"']
    assert server.commands == [(verb, True) for verb in ["CAPABILITY", *AFTER_LOGIN]]
    assert connections(ctx.client) == connections(ctx.server) == 1


def test_imaplib_starttls(ctx):
    with imap_server(ctx.server, starttls=True) as server:
        with imaplib.IMAP4("127.0.0.1", server.port, timeout=TIMEOUT) as imap:
            assert "STARTTLS" in imap.capabilities and "LOGINDISABLED" in imap.capabilities
            with pytest.raises(imaplib.IMAP4.error, match="PRIVACYREQUIRED"):
                imap.login("tlsuser", "pass word")  # this server wants TLS first
            assert imap.starttls(ssl_context=ctx.client)[0] == "OK"
            assert isinstance(imap.sock, ctx.client_mod.SSLSocket)
            assert "STARTTLS" not in imap.capabilities  # asked again, over TLS
            _imap_session(imap)
    assert server.errors == []
    assert server.mailbox == [MESSAGE]
    assert server.logins == [b'tlsuser "pass word"']
    plain = [("CAPABILITY", False), ("LOGIN", False), ("STARTTLS", False)]
    assert server.commands == plain + [(verb, True) for verb in ["CAPABILITY", *AFTER_LOGIN]]
    assert connections(ctx.client) == connections(ctx.server) == 1


# ----------------------------------------------------------------------------- ftplib

DOWNLOAD = body_for("/ftp/download?size=300000")
UPLOAD = bytes(range(256)) * 900  # 230400 bytes

@pytest.fixture(params=PAIRS, ids=pair_id)
def ftp_pair(request):
    return request.param


def _ftp(ctx, server, host):
    """An FTP_TLS client connected to ``server``, logged in over TLS (AUTH TLS) and PROT P."""
    ftp = ftplib.FTP_TLS(context=ctx.client, timeout=TIMEOUT)
    try:
        assert ftp.connect(host, server.port).startswith("220 ")
        assert ftp.login("tls user", "pass word") == "230 Logged in"
        assert isinstance(ftp.sock, ctx.client_mod.SSLSocket)
        assert ftp.prot_p() == "200 Protection level set to P"
    except BaseException:
        ftp.close()
        raise
    return ftp


def _retr(ftp, name):
    chunks = []
    assert ftp.retrbinary("RETR " + name, chunks.append) == "226 Transfer complete"
    return b"".join(chunks)


def _pasv(host):
    return "EPSV" if ":" in host else "PASV"


LOGIN_VERBS = [("AUTH", False), ("USER", True), ("PASS", True), ("PBSZ", True), ("PROT", True)]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("host", HOSTS)
def test_ftplib_retrbinary(ftp_pair, certs, host, version):
    """Login over TLS, a download over a TLS data connection, then one in clear (PROT C)."""
    ctx = _contexts(ftp_pair, certs, version)
    with ftp_server(ctx.server, host) as server:
        server.files["download.bin"] = DOWNLOAD
        with _ftp(ctx, server, host) as ftp:
            assert _retr(ftp, "download.bin") == DOWNLOAD
            assert ftp.prot_c() == "200 Protection level set to C"
            assert _retr(ftp, "download.bin") == DOWNLOAD
    assert server.errors == []
    assert server.logins == [("tls user", "pass word")]
    tls_version = version.replace("_", ".")
    assert [t[:4] for t in server.transfers] == [
        ("RETR", "download.bin", len(DOWNLOAD), tls_version),  # the data connection was TLS ...
        ("RETR", "download.bin", len(DOWNLOAD), None),  # ... and then not
    ]
    transfer = [("TYPE", True), (_pasv(host), True), ("RETR", True)]
    assert server.commands == LOGIN_VERBS + transfer + [("PROT", True)] + transfer + [("QUIT", True)]
    # the control connection and one data connection: no session reuse between them
    assert connections(ctx.client) == connections(ctx.server) == 2


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("host", HOSTS)
def test_ftplib_storbinary(ftp_pair, certs, host, version):
    """An upload over a TLS data connection, read back."""
    ctx = _contexts(ftp_pair, certs, version)
    with ftp_server(ctx.server, host) as server:
        with _ftp(ctx, server, host) as ftp:
            reply = ftp.storbinary("STOR upload.bin", io.BytesIO(UPLOAD), blocksize=10000)
            assert reply == "226 Transfer complete"
            assert _retr(ftp, "upload.bin") == UPLOAD
    assert server.errors == []
    assert server.files == {"upload.bin": UPLOAD}
    tls_version = version.replace("_", ".")
    assert [t[:4] for t in server.transfers] == [
        ("STOR", "upload.bin", len(UPLOAD), tls_version),
        ("RETR", "upload.bin", len(UPLOAD), tls_version),
    ]
    transfer = [("TYPE", True), (_pasv(host), True)]
    stor, retr = transfer + [("STOR", True)], transfer + [("RETR", True)]
    assert server.commands == LOGIN_VERBS + stor + retr + [("QUIT", True)]
    assert connections(ctx.client) == connections(ctx.server) == 3


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("client", ["tls", "ssl"])
def test_ftplib_data_connections_end_with_close_notify(client, certs, version):
    """ftplib unwraps each TLS data connection after a transfer, as FTPS servers expect
    (a TCP FIN alone could be a truncation); the server answers with its own close_notify.

    The server is tls.ssl's: PyPy 7.3.11's stdlib ssl cannot tell (with
    ``suppress_ragged_eofs=False`` its recv returns b"" on a bare FIN, and its unwrap
    succeeds without the peer's close_notify)."""
    ctx = _contexts((client, "tls"), certs, version)
    with ftp_server(ctx.server) as server:
        server.files["download.bin"] = DOWNLOAD
        with _ftp(ctx, server, "127.0.0.1") as ftp:
            assert _retr(ftp, "download.bin") == DOWNLOAD
            ftp.storbinary("STOR upload.bin", io.BytesIO(UPLOAD))
    assert server.errors == []
    assert [(verb, ending) for verb, _, _, _, ending in server.transfers] == [
        ("RETR", "close_notify"),
        ("STOR", "close_notify"),
    ]


def test_ftplib_ccc(ftp_pair, certs):
    """CCC: the control connection goes back to clear text after login (close_notify both ways)."""
    ctx = _contexts(ftp_pair, certs)
    with ftp_server(ctx.server) as server:
        with _ftp(ctx, server, "127.0.0.1") as ftp:
            assert ftp.ccc() == "200 Clearing the control connection"
            assert ftp.voidcmd("NOOP") == "200 NOOP ok"
    assert server.errors == []
    assert server.commands == LOGIN_VERBS + [("CCC", True), ("NOOP", False), ("QUIT", False)]
    assert connections(ctx.client) == connections(ctx.server) == 1


# ----------------------------------------------------------------------------- mutual TLS


@pytest.fixture(params=PAIRS, ids=pair_id)
def mtls(request, certs):
    """A client context with the client certificate, a server context requiring one."""
    client_mod, server_mod = (MODULES[name] for name in request.param)
    return SimpleNamespace(
        client=client_context(client_mod, certs, client_cert=True),
        server=server_context(server_mod, certs, client_certs=True),
        client_mod=client_mod,
        server_mod=server_mod,
    )


def _check_client_cert(seen):
    """The server's getpeercert() of certs.client (made by tests/ssl_certs.py)."""
    assert seen["subject"] == ((("organizationName", "tls tests"),), (("commonName", "client"),))
    assert seen["issuer"] == ((("organizationName", "tls tests"),), (("commonName", "tls test CA"),))
    assert seen["subjectAltName"] == (("email", "client@example.com"),)
    assert seen["serialNumber"] == "03EA"  # 1002


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("wrap", ["connection", "listener"])
def test_mutual_tls_http_client(mtls, certs, wrap, version):
    mtls.server.maximum_version = getattr(mtls.server_mod.TLSVersion, version)
    with https_server(mtls.server, wrap=wrap) as server:
        conn = http.client.HTTPSConnection("localhost", server.port, context=mtls.client, timeout=TIMEOUT)
        try:
            for path in ("/m?size=100", "/n?size=50000"):
                conn.request("GET", path)
                assert conn.getresponse().read() == body_for(path)
            assert isinstance(conn.sock, mtls.client_mod.SSLSocket)
            assert conn.sock.version() == version.replace("_", ".")
            assert conn.sock.getpeercert()["subject"][-1] == (("commonName", "localhost"),)
        finally:
            conn.close()
    assert server.errors == []
    assert len(server.peer_certs) == 1
    _check_client_cert(server.peer_certs[0])
    assert connections(mtls.client) == connections(mtls.server) == 1


def test_mutual_tls_urllib3(mtls):
    with https_server(mtls.server) as server:
        with urllib3.PoolManager(ssl_context=mtls.client, timeout=TIMEOUT, retries=False) as pool:
            for path in ("/u?size=10", "/v?size=80000"):
                response = pool.request("GET", url("localhost", server.port, path))
                assert response.status == 200
                assert response.data == body_for(path)
            assert (
                pool.request("POST", url("localhost", server.port), body=b"mtls" * 5000).data
                == b"mtls" * 5000
            )
            for key in pool.pools.keys():  # close the kept-alive connection now (see test_ssl_clients)
                pool.pools[key].close()
    assert server.errors == []
    assert len(server.peer_certs) == 1
    _check_client_cert(server.peer_certs[0])
    assert connections(mtls.client) == connections(mtls.server) == 1


@pytest.mark.parametrize(
    "verify_mode, client_cert, seen",
    [("CERT_NONE", True, False), ("CERT_OPTIONAL", False, False), ("CERT_OPTIONAL", True, True)],
)
def test_mutual_tls_optional(ctx, certs, verify_mode, client_cert, seen):
    """A server not requiring a certificate: with CERT_NONE it asks for none (its
    getpeercert() is None even when the client has one); with CERT_OPTIONAL it takes one
    when the client has it and goes on without otherwise."""
    client = client_context(ctx.client_mod, certs, client_cert=client_cert)
    ctx.server.verify_mode = getattr(ctx.server_mod, verify_mode)
    ctx.server.load_verify_locations(certs.ca)
    with https_server(ctx.server) as server:
        conn = http.client.HTTPSConnection("localhost", server.port, context=client, timeout=TIMEOUT)
        try:
            conn.request("GET", "/w")
            assert conn.getresponse().read() == body_for("/w")
        finally:
            conn.close()
    assert server.errors == []
    assert len(server.peer_certs) == 1
    if seen:
        _check_client_cert(server.peer_certs[0])
    else:
        assert server.peer_certs == [None]
    assert connections(client) == connections(ctx.server) == 1


def _get_http_client(context, port):
    conn = http.client.HTTPSConnection("localhost", port, context=context, timeout=TIMEOUT)
    try:
        conn.request("GET", "/")
        conn.getresponse().read()
    finally:
        conn.close()


def _get_urllib(context, port):
    urllib.request.urlopen(url("localhost", port), context=context, timeout=TIMEOUT).close()


def _get_urllib3_pool_manager(context, port):
    with urllib3.PoolManager(ssl_context=context, timeout=TIMEOUT) as pool:  # default retries
        pool.request("GET", url("localhost", port))


def _get_urllib3_connection_pool(context, port):
    with urllib3.HTTPSConnectionPool("localhost", port, ssl_context=context, timeout=TIMEOUT) as pool:
        pool.request("GET", "/", retries=False)


# client: (how to use it, what it raises when the server refuses it, by TLS version).
# Under TLS 1.2 the server's alert ends the client's handshake; under TLS 1.3 the client's
# handshake is over before the server checks for a certificate: the alert comes when the
# client reads the response (urllib's request() has succeeded then: no URLError around it).
REFUSED_CLIENTS = {
    "http.client": (_get_http_client, {"TLSv1_2": ssl.SSLError, "TLSv1_3": ssl.SSLError}),
    "urllib": (_get_urllib, {"TLSv1_2": urllib.error.URLError, "TLSv1_3": ssl.SSLError}),
    "urllib3.PoolManager": (
        _get_urllib3_pool_manager,
        dict.fromkeys(VERSIONS, urllib3.exceptions.MaxRetryError),
    ),
    "urllib3.HTTPSConnectionPool": (
        _get_urllib3_connection_pool,
        dict.fromkeys(VERSIONS, urllib3.exceptions.SSLError),
    ),
}
# the alert a refused client reads: handshake_failure (40) under TLS 1.2, certificate_required (116) in 1.3
ALERTS = {"TLSv1_2": "SSLV3_ALERT_HANDSHAKE_FAILURE", "TLSv1_3": "TLSV13_ALERT_CERTIFICATE_REQUIRED"}


def _refused(client, mod, certs, server_mod, version):
    """Run ``client`` with a ``mod`` context and no certificate against a server requiring one:
    (what the client raised, what the server recorded, the client context's handshakes)."""
    use = REFUSED_CLIENTS[client][0]
    context = client_context(mod, certs)
    server_ctx = server_context(server_mod, certs, version, client_certs=True)
    error = None
    with https_server(server_ctx, linger=True) as server:
        try:
            use(context, server.port)
        except Exception as exc:
            error = exc
    assert error is not None, f"{client} was not refused"
    assert connections(server_ctx) == 0
    assert server.peer_certs == []
    if mod is tls.ssl:
        assert_error_queue_clean()  # (this thread's queue; the server threads' are checked by the server)
    else:
        clear_errors()  # PyPy's stdlib ssl leaves its failure on the shared queue
    return error, server.errors, connections(context)


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("server_mod", ["tls", "ssl"])
@pytest.mark.parametrize("client", sorted(REFUSED_CLIENTS))
def test_client_without_certificate_refused_like_stdlib(certs, client, server_mod, version):
    server_mod = MODULES[server_mod]
    got, server_saw, handshakes = _refused(client, tls.ssl, certs, server_mod, version)
    want, server_saw_stdlib, handshakes_stdlib = _refused(client, ssl, certs, server_mod, version)

    expected = REFUSED_CLIENTS[client][1][version]
    assert isinstance(got, expected) and isinstance(want, expected)
    chain = error_chain(got)
    assert isinstance(chain[-1], tls.ssl.SSLError)  # raised by tls.ssl ...
    assert chain[-1].reason == ALERTS[version]  # ... on reading the server's alert
    assert [describe_error(e) for e in chain] == [describe_error(e) for e in error_chain(want)]
    # the client's view of the handshake: failed under TLS 1.2, finished under TLS 1.3
    assert handshakes == handshakes_stdlib == (1 if version == "TLSv1_3" else 0) * len(server_saw)
    # the server refused the same way, as many times (urllib3 retries)
    assert server_saw
    assert [describe_error(e) for e in server_saw] == [describe_error(e) for e in server_saw_stdlib]
    assert all(e.reason == "PEER_DID_NOT_RETURN_A_CERTIFICATE" for e in server_saw)


# ----------------------------------------------------------------------------- a failed read or write

# Run in a child process: on CPython the bug crashes the interpreter (SIGSEGV) when the
# garbage collector meets the leftover export.
_FAILED_IO = r"""
import gc, socket, ssl, sys, threading
import tls.ssl

ca, cert, key = sys.argv[1:4]
server_ctx = tls.ssl.SSLContext(tls.ssl.PROTOCOL_TLS_SERVER)
server_ctx.load_cert_chain(cert, key)
client_ctx = tls.ssl.create_default_context(cafile=ca)


def connected(then):
    # a TLS connection whose server, after the handshake, does ``then`` to the plain socket
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(10)

    def serve():
        conn, _ = listener.accept()
        listener.close()
        with server_ctx.wrap_socket(conn, server_side=True) as s:
            s.settimeout(10)
            then(s)

    thread = threading.Thread(target=serve)
    thread.start()
    raw = socket.create_connection(listener.getsockname(), timeout=10)
    return client_ctx.wrap_socket(raw, server_hostname="localhost"), thread


def garbage_then_wait(s):
    socket.socket.sendall(s, b"not a TLS record " * 8)
    socket.socket.recv(s, 1)  # until the client closes


# 1. recv_into a bytearray fails: the bytearray is the caller's again (it can grow)
client, thread = connected(garbage_then_wait)
buf = bytearray(1000)
try:
    client.recv_into(buf)
except ssl.SSLError:
    try:
        buf.append(0)
        print("recv_into: released")
    except BufferError:
        print("recv_into: still exported")
client.close()
thread.join()

# 2. the same through makefile (as http.client reads), the exception kept in a cycle
def read_through_makefile():
    client, thread = connected(garbage_then_wait)
    f = client.makefile("rb")
    try:
        f.read(100)
    except ssl.SSLError as exc:
        error = exc  # exc -> traceback -> this frame -> exc
    f.close()
    client.close()
    thread.join()
    return type(error).__name__

print("makefile read:", read_through_makefile())
gc.collect()
print("collected")

# 3. sendall to a peer that closed: the write's own error, not a BufferError
client, thread = connected(lambda s: None)
thread.join()
try:
    for _ in range(100):
        client.sendall(bytearray(100000))
    print("sendall: no error")
except OSError:
    print("sendall: OSError")
except BufferError:
    print("sendall: BufferError")
client.close()

# 4. SSLObject.read(n, buffer) wanting more data (memory BIOs, as asyncio reads)
obj = client_ctx.wrap_bio(tls.ssl.MemoryBIO(), tls.ssl.MemoryBIO(), server_hostname="localhost")
buf = bytearray(100)
try:
    obj.read(10, buf)
except ssl.SSLWantReadError:
    try:
        buf.append(0)
        print("SSLObject.read: released")
    except BufferError:
        print("SSLObject.read: still exported")
"""


def test_failed_io_releases_the_callers_buffer(certs, tmp_path):
    """A read or write that raises gives the caller's buffer back, as the stdlib does: the
    error is the I/O's own and nothing is left for the garbage collector to trip over."""
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(os.path.abspath(tls.__file__))))
    env.pop("PYTHONSAFEPATH", None)
    result = subprocess.run(
        [sys.executable, "-c", _FAILED_IO, certs.ca, certs.server, certs.server_key],
        capture_output=True,
        text=True,
        cwd=str(tmp_path),
        env=env,
        timeout=120,
    )
    assert result.stdout.splitlines() == [
        "recv_into: released",
        "makefile read: SSLError",
        "collected",
        "sendall: OSError",
        "SSLObject.read: released",
    ], result.stderr[-2000:]
    assert result.returncode == 0, result.stderr[-2000:]
