"""Real ssl-using programs, unchanged, with an explicitly passed ``tls.ssl`` context
(no injection: the stdlib ``ssl`` module stays as it is throughout).

Clients: ``http.client``, ``urllib.request``, ``urllib3`` (PoolManager and
HTTPSConnectionPool), ``requests`` (through a small adapter passing ``ssl_context``),
``smtplib`` (SMTP_SSL and STARTTLS). Servers: ``http.server`` and a minimal SMTP server
(tests/https_servers.py). Every client runs with a ``tls.ssl`` context against a
``tls.ssl`` server and a stdlib server, stdlib clients run against ``tls.ssl`` servers,
and the all-stdlib pair is the reference. Each context's ``session_stats()`` shows it
really made the connections. Verification failures (wrong name, untrusted CA) must
surface through each client exactly as they do with a stdlib context, and the server
must see the same alert. Loopback only: 127.0.0.1 and ::1, ephemeral ports.
"""

import http.client
import smtplib
import ssl
import threading
import urllib.error
import urllib.request
from types import SimpleNamespace

import pytest
import requests
import requests.adapters
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
from https_servers import TIMEOUT, body_for, https_server, smtp_server
from ssl_certs import assert_error_queue_clean

import tls.ssl
from tls._binding import clear_errors, consume_errors


def server_context(mod, cert, key):
    ctx = mod.SSLContext(mod.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    return ctx


def client_context(mod, cafile):
    return mod.create_default_context(cafile=cafile)


@pytest.fixture(params=PAIRS, ids=lambda p: f"client_{p[0]}-server_{p[1]}")
def ctx(request, certs):
    """A client and a server context from the pair's modules (the server: localhost, 127.0.0.1, ::1)."""
    client_mod, server_mod = (MODULES[name] for name in request.param)
    return SimpleNamespace(
        client=client_context(client_mod, certs.ca),
        server=server_context(server_mod, certs.server, certs.server_key),
        client_mod=client_mod,
    )


def close_pools(manager):
    """Close a PoolManager's kept-alive connections now: the urllib3 here (2.6, 2.7) drops its
    pools in ``PoolManager.clear()`` (so in ``with PoolManager()`` and ``requests.Session.close()``)
    and leaves closing them to the garbage collector; the server's worker would wait until its timeout."""
    for key in manager.pools.keys():
        manager.pools[key].close()


# ----------------------------------------------------------------------------- working clients


@pytest.mark.parametrize("wrap", ["connection", "listener"])
@pytest.mark.parametrize("host", HOSTS)
def test_http_client_and_http_server(ctx, host, wrap):
    with https_server(ctx.server, host, wrap) as server:
        conn = http.client.HTTPSConnection(host, server.port, context=ctx.client, timeout=TIMEOUT)
        try:
            for path in ("/", "/a?size=1", "/b?size=20000", "/c?size=100000"):
                conn.request("GET", path)
                response = conn.getresponse()
                assert response.status == 200
                assert response.read() == body_for(path)
            payload = bytes(range(256)) * 300
            conn.request("POST", "/echo", body=payload)
            assert conn.getresponse().read() == payload
            assert isinstance(conn.sock, ctx.client_mod.SSLSocket)
            assert conn.sock.version() in ("TLSv1.2", "TLSv1.3")
            assert conn.sock.getpeercert()["subject"][-1] == (("commonName", "localhost"),)
        finally:
            conn.close()
    assert server.errors == []
    assert connections(ctx.client) == connections(ctx.server) == 1  # keep-alive: one handshake


@pytest.mark.parametrize("host", HOSTS)
def test_urllib_urlopen(ctx, host):
    with https_server(ctx.server, host) as server:
        for path in ("/x?size=5000", "/y"):
            target = url(host, server.port, path)
            with urllib.request.urlopen(target, context=ctx.client, timeout=TIMEOUT) as r:
                assert r.status == 200
                assert r.headers["Content-Length"] == str(len(body_for(path)))
                assert r.read() == body_for(path)
        request = urllib.request.Request(url(host, server.port, "/post"), data=b"urllib body" * 1000)
        with urllib.request.urlopen(request, context=ctx.client, timeout=TIMEOUT) as r:
            assert r.read() == b"urllib body" * 1000
    assert server.errors == []
    assert connections(ctx.client) == connections(ctx.server) == 3  # urllib closes after each request


@pytest.mark.parametrize("host", HOSTS)
def test_urllib3_pool_manager(ctx, host):
    with https_server(ctx.server, host) as server:
        with urllib3.PoolManager(ssl_context=ctx.client, timeout=TIMEOUT, retries=False) as pool:
            for path in ("/p?size=10", "/q?size=70000", "/r"):
                response = pool.request("GET", url(host, server.port, path))
                assert response.status == 200
                assert response.data == body_for(path)
            response = pool.request("POST", url(host, server.port, "/"), body=b"u3" * 40000)
            assert response.data == b"u3" * 40000
            close_pools(pool)
    assert server.errors == []
    assert connections(ctx.client) == connections(ctx.server) == 1  # one pooled connection


def test_urllib3_https_connection_pool(ctx):
    with https_server(ctx.server) as server:
        with urllib3.HTTPSConnectionPool(
            "127.0.0.1", server.port, ssl_context=ctx.client, maxsize=2, timeout=TIMEOUT, retries=False
        ) as pool:
            assert pool.request("GET", "/a?size=3000").data == body_for("/a?size=3000")
            # streamed in small pieces: many reads from the TLS socket, each part of a record
            response = pool.request("GET", "/big?size=200000", preload_content=False)
            assert b"".join(response.stream(1000)) == body_for("/big?size=200000")
            response.release_conn()
            assert pool.request("GET", "/b").data == body_for("/b")
            assert pool.num_connections == 1
    assert server.errors == []
    assert connections(ctx.client) == connections(ctx.server) == 1


class SSLContextAdapter(requests.adapters.HTTPAdapter):
    """The usual way to give requests an SSLContext: hand it to the adapter's pool manager."""

    def __init__(self, ssl_context, **kwargs):
        self.ssl_context = ssl_context
        super().__init__(**kwargs)

    def init_poolmanager(self, *args, **kwargs):
        kwargs["ssl_context"] = self.ssl_context
        return super().init_poolmanager(*args, **kwargs)


def requests_session(context):
    session = requests.Session()
    session.trust_env = False  # no proxies or netrc from the environment
    session.mount("https://", SSLContextAdapter(context))
    return session


def test_requests_adapter(ctx):
    with https_server(ctx.server) as server, requests_session(ctx.client) as session:
        base = url("127.0.0.1", server.port)
        response = session.get(base + "a?size=12345", timeout=TIMEOUT)
        assert response.status_code == 200
        assert response.content == body_for("/a?size=12345")
        assert session.post(base, json={"tls": [1, 2]}, timeout=TIMEOUT).json() == {"tls": [1, 2]}
        with session.get(base + "s?size=90000", stream=True, timeout=TIMEOUT) as response:
            assert b"".join(response.iter_content(4096)) == body_for("/s?size=90000")
        close_pools(session.get_adapter(base).poolmanager)
    assert server.errors == []
    assert connections(ctx.client) == connections(ctx.server) == 1


MESSAGE = b"From: a@localhost\r\nTo: b@localhost\r\nSubject: tls\r\n\r\nhello\r\n.leading dot\r\n"


@pytest.mark.parametrize("host", HOSTS)
def test_smtplib_smtp_ssl(ctx, host):
    with smtp_server(ctx.server, host) as server:
        with smtplib.SMTP_SSL(host, server.port, context=ctx.client, timeout=TIMEOUT) as smtp:
            assert isinstance(smtp.sock, ctx.client_mod.SSLSocket)
            assert smtp.ehlo()[0] == 250
            assert smtp.noop() == (250, b"OK")
            assert smtp.sendmail("a@localhost", ["b@localhost"], MESSAGE) == {}
    assert server.errors == []
    assert server.messages == [MESSAGE]
    assert ("QUIT", True) in server.commands
    assert connections(ctx.client) == connections(ctx.server) == 1


def test_smtplib_starttls(ctx):
    with smtp_server(ctx.server, starttls=True) as server:
        with smtplib.SMTP("127.0.0.1", server.port, timeout=TIMEOUT) as smtp:
            smtp.ehlo()
            assert smtp.has_extn("starttls")
            assert smtp.starttls(context=ctx.client)[0] == 220
            assert isinstance(smtp.sock, ctx.client_mod.SSLSocket)
            smtp.ehlo()
            assert not smtp.has_extn("starttls")
            assert smtp.sendmail("a@localhost", ["b@localhost"], MESSAGE) == {}
    assert server.errors == []
    assert server.messages == [MESSAGE]
    verbs = [verb for verb, _ in server.commands]
    assert verbs == ["EHLO", "STARTTLS", "EHLO", "MAIL", "RCPT", "DATA", "QUIT"]
    assert [over_tls for _, over_tls in server.commands] == [False, False, True, True, True, True, True]
    assert connections(ctx.client) == connections(ctx.server) == 1


# ----------------------------------------------------------------------------- rejections


def _http_client(context, host, port):
    conn = http.client.HTTPSConnection(host, port, context=context, timeout=TIMEOUT)
    try:
        conn.request("GET", "/")
    finally:
        conn.close()


def _urllib(context, host, port):
    urllib.request.urlopen(url(host, port), context=context, timeout=TIMEOUT).close()


def _urllib3_pool_manager(context, host, port):
    with urllib3.PoolManager(ssl_context=context, timeout=TIMEOUT) as pool:  # default retries
        pool.request("GET", url(host, port))


def _urllib3_connection_pool(context, host, port):
    with urllib3.HTTPSConnectionPool(host, port, ssl_context=context, timeout=TIMEOUT) as pool:
        pool.request("GET", "/", retries=False)


def _requests(context, host, port):
    with requests_session(context) as session:
        session.get(url(host, port), timeout=TIMEOUT)


def _smtp_ssl(context, host, port):
    smtplib.SMTP_SSL(host, port, context=context, timeout=TIMEOUT).close()


def _starttls_server(context):
    return smtp_server(context, starttls=True)


def _smtp_starttls(context, host, port):
    with smtplib.SMTP(host, port, timeout=TIMEOUT) as smtp:
        smtp.starttls(context=context)


# client: (how to use it, its server, what it raises on a failed verification)
REJECTING_CLIENTS = {
    "http.client": (_http_client, https_server, ssl.SSLCertVerificationError),
    "urllib": (_urllib, https_server, urllib.error.URLError),
    "urllib3.PoolManager": (_urllib3_pool_manager, https_server, urllib3.exceptions.MaxRetryError),
    "urllib3.HTTPSConnectionPool": (_urllib3_connection_pool, https_server, urllib3.exceptions.SSLError),
    "requests": (_requests, https_server, requests.exceptions.SSLError),
    "smtplib.SMTP_SSL": (_smtp_ssl, smtp_server, ssl.SSLCertVerificationError),
    "smtplib.starttls": (_smtp_starttls, _starttls_server, ssl.SSLCertVerificationError),
}


# failure: (the name the client connects to, the server's certificate and key, the verify_code)
FAILURES = {
    # a certificate from the trusted CA naming neither localhost nor 127.0.0.1
    "wrong_hostname": ("localhost", "many_names", "many_names_key", 62),  # X509_V_ERR_HOSTNAME_MISMATCH
    "wrong_ip_address": ("127.0.0.1", "many_names", "many_names_key", 64),  # X509_V_ERR_IP_ADDRESS_MISMATCH
    # a localhost certificate from a CA the client does not trust
    "untrusted_ca": ("localhost", "unknown_server", "unknown_server_key", 20),  # ..._GET_ISSUER_CERT_LOCALLY
}


def _reject(client, mod, certs, failure, server_mod):
    """Run ``client`` with a ``mod`` context against a server it must reject:
    (what the client raised, what the server recorded)."""
    use, serve, _ = REJECTING_CLIENTS[client]
    host, cert, key = FAILURES[failure][:3]
    context = client_context(mod, certs.ca)
    with serve(server_context(server_mod, getattr(certs, cert), getattr(certs, key))) as server:
        with pytest.raises(Exception) as info:
            use(context, host, server.port)
    assert connections(context) == 0
    if mod is tls.ssl:
        assert_error_queue_clean()  # (this thread's queue; the server's threads are not checked)
    else:
        clear_errors()  # PyPy's stdlib ssl leaves its failure on the shared queue
    return info.value, server.errors


@pytest.mark.parametrize("server_mod", ["tls", "ssl"])
@pytest.mark.parametrize("failure", sorted(FAILURES))
@pytest.mark.parametrize("client", sorted(REJECTING_CLIENTS))
def test_rejected_like_stdlib(certs, client, failure, server_mod):
    server_mod = MODULES[server_mod]
    expected = REJECTING_CLIENTS[client][2]
    got, server_saw = _reject(client, tls.ssl, certs, failure, server_mod)
    want, server_saw_stdlib = _reject(client, ssl, certs, failure, server_mod)

    assert isinstance(got, expected) and isinstance(want, expected)
    chain = error_chain(got)
    assert isinstance(chain[-1], tls.ssl.SSLCertVerificationError)  # tls.ssl did the verifying
    assert isinstance(error_chain(want)[-1], ssl.SSLCertVerificationError)
    assert chain[-1].verify_code == FAILURES[failure][3]
    assert [describe_error(e) for e in chain] == [describe_error(e) for e in error_chain(want)]
    # the server was told why, the same way, as many times (urllib3 retries)
    assert server_saw
    assert [describe_error(e) for e in server_saw] == [describe_error(e) for e in server_saw_stdlib]


# ----------------------------------------------------------------------------- many clients at once


@pytest.mark.parametrize("wrap", ["connection", "listener"])
def test_threaded_server_many_concurrent_clients(certs, wrap):
    """50 client threads x 20 requests on one ThreadingHTTPServer, every context tls.ssl:
    even threads keep one connection alive, odd ones connect anew for every request."""
    n_clients, n_requests = 50, 20
    server_ctx = server_context(tls.ssl, certs.server, certs.server_key)
    client_ctx = client_context(tls.ssl, certs.ca)  # one context shared by all threads
    start = threading.Barrier(n_clients, timeout=TIMEOUT)
    failures, done = [], []

    def client(i):
        conn = None
        try:
            start.wait()
            for j in range(n_requests):
                if conn is None:
                    conn = http.client.HTTPSConnection(
                        "127.0.0.1", server.port, context=client_ctx, timeout=TIMEOUT
                    )
                path = f"/client{i}/request{j}?size={(i * n_requests + j) * 37 % 20000}"
                conn.request("GET", path)
                response = conn.getresponse()
                body = response.read()
                if response.status != 200 or body != body_for(path):
                    raise AssertionError(f"{path}: {response.status}, {len(body)} bytes")
                done.append(path)
                if i % 2:
                    conn.close()
                    conn = None
        except BaseException as exc:
            failures.append((i, exc))
        finally:
            if conn is not None:
                conn.close()
            left = consume_errors()  # each thread's own OpenSSL error queue
            if left:
                failures.append((i, left))

    with https_server(server_ctx, wrap=wrap) as server:
        threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(n_clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert not any(t.is_alive() for t in threads)
    assert failures == []
    assert server.errors == []
    assert len(done) == len(set(done)) == n_clients * n_requests
    handshakes = n_clients // 2 * (1 + n_requests)
    assert connections(client_ctx) == connections(server_ctx) == handshakes
