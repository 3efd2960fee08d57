"""tls.ssl against the stdlib ssl over memory BIOs: handshakes, data, ALPN, client
certificates, unwrap, certificate verification failures."""

import ssl as std
import sys
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ssl_certs import PASSWORD, Pair, assert_error_queue_clean

import tls.ssl as tssl

STD_IS_SPEC = sys.implementation.name == "cpython" and sys.version_info >= (3, 11)


def forget_stdlib_errors():
    """PyPy's stdlib ssl leaves its failures on the (shared) OpenSSL error queue."""
    from tls._binding import clear_errors

    clear_errors()


def client_ctx(mod, certs, version=None, cafile=None):
    ctx = mod.SSLContext(mod.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(cafile or certs.ca)
    if version is not None:
        ctx.maximum_version = getattr(mod.TLSVersion, version)
    return ctx


def server_ctx(mod, certs, kind="rsa", version=None):
    ctx = mod.SSLContext(mod.PROTOCOL_TLS_SERVER)
    if kind == "rsa":
        ctx.load_cert_chain(certs.server, certs.server_key)
    else:
        ctx.load_cert_chain(certs.server_ec, certs.server_ec_key)
    if version is not None:
        ctx.maximum_version = getattr(mod.TLSVersion, version)
    return ctx


# (client module, server module, MemoryBIO class for the tls side)
SIDES = [
    pytest.param(tssl, std, None, id="tls-client/std-server"),
    pytest.param(std, tssl, None, id="std-client/tls-server"),
    pytest.param(tssl, tssl, None, id="tls-both"),
    pytest.param(tssl, std, std.MemoryBIO, id="tls-client-on-std-bios/std-server"),
    pytest.param(std, tssl, std.MemoryBIO, id="std-client/tls-server-on-std-bios"),
]


def make_pair(cmod, smod, bio, cctx, sctx, **kw):
    cbio = bio if (bio is not None and cmod is tssl) else None
    sbio = bio if (bio is not None and smod is tssl) else None
    return Pair(cctx, sctx, client_bio=cbio, server_bio=sbio, **kw)


@pytest.mark.parametrize("cmod,smod,bio", SIDES)
@pytest.mark.parametrize("version", ["TLSv1_2", "TLSv1_3"])
@pytest.mark.parametrize("kind", ["rsa", "ec"])
def test_handshake_matrix(certs, cmod, smod, bio, version, kind):
    pair = make_pair(cmod, smod, bio, client_ctx(cmod, certs, version), server_ctx(smod, certs, kind))
    tls_side = pair.client if cmod is tssl else pair.server
    assert tls_side.version() is None and tls_side.cipher() is None
    pair.handshake()
    expected = version.replace("_", ".")
    assert pair.client.version() == pair.server.version() == expected
    assert pair.client.cipher() == pair.server.cipher()
    name, proto, bits = pair.client.cipher()
    assert proto == expected and bits >= 128
    if kind == "ec":
        assert version == "TLSv1_3" or "ECDSA" in name
    else:
        assert version == "TLSv1_3" or "RSA" in name
    assert pair.client.selected_alpn_protocol() is None
    assert pair.server.getpeercert() is None  # no client certificate asked for
    assert pair.client.server_side is False and pair.server.server_side is True
    assert pair.client.server_hostname == "localhost" and pair.server.server_hostname is None
    with open(certs.server if kind == "rsa" else certs.server_ec) as f:
        der = std.PEM_cert_to_DER_cert(f.read())
    assert pair.client.getpeercert(binary_form=True) == der
    # data both ways
    assert pair.send(pair.client, pair.server, b"ping") == b"ping"
    assert pair.send(pair.server, pair.client, b"pong" * 1000) == b"pong" * 1000


@pytest.mark.parametrize("cmod,smod,bio", SIDES)
def test_one_mebibyte_in_pieces(certs, cmod, smod, bio):
    pair = make_pair(cmod, smod, bio, client_ctx(cmod, certs), server_ctx(smod, certs))
    pair.handshake()
    data = bytes(range(256)) * 4096
    assert pair.send(pair.client, pair.server, data, chunk=10000, read_size=7000) == data
    assert pair.send(pair.server, pair.client, bytearray(data), chunk=65536) == data


@pytest.mark.parametrize("bio", [tssl.MemoryBIO, std.MemoryBIO])
def test_read_into_buffer_and_pending(certs, bio):
    pair = Pair(client_ctx(tssl, certs), server_ctx(std, certs), client_bio=bio)
    pair.handshake()
    pair.server.write(b"x" * 5000)
    pair.transfer()
    buf = bytearray(100)
    assert pair.client.read(10, buf) == 10
    assert bytes(buf[:10]) == b"x" * 10
    assert pair.client.pending() == 4990
    assert pair.client.read(-1, buf) == 100  # len <= 0 means the buffer's size
    mv = memoryview(bytearray(8000))
    assert pair.client.read(0, mv) == 4890
    assert pair.client.read(0) == b""
    with pytest.raises(tssl.SSLWantReadError):
        pair.client.read(10, buf)
    with pytest.raises(TypeError):
        pair.client.read(10, b"immutable")


def test_stdlib_getpeercert_differential(certs):
    for kind in ("rsa", "ec"):
        results = []
        for cmod in (tssl, std):
            pair = Pair(client_ctx(cmod, certs), server_ctx(std, certs, kind))
            pair.handshake()
            results.append(pair.client.getpeercert())
        assert results[0] == results[1]
        assert set(results[0]) >= {
            "subject",
            "issuer",
            "version",
            "serialNumber",
            "notBefore",
            "notAfter",
            "subjectAltName",
        }
    # the client certificate, seen by the server
    outcomes = []
    for smod in (tssl, std):
        sctx = server_ctx(smod, certs)
        sctx.verify_mode = smod.CERT_REQUIRED
        sctx.load_verify_locations(certs.ca)
        cctx = client_ctx(std, certs)
        cctx.load_cert_chain(certs.client, certs.client_key)
        pair = Pair(cctx, sctx)
        pair.handshake()
        outcomes.append(pair.server.getpeercert())
    assert outcomes[0] == outcomes[1]
    assert ("email", "client@example.com") in outcomes[0]["subjectAltName"]


def test_getpeercert_unverified_is_empty(certs):
    cctx = tssl.SSLContext(tssl.PROTOCOL_TLS_CLIENT)
    cctx.check_hostname = False
    cctx.verify_mode = tssl.CERT_NONE
    pair = Pair(cctx, server_ctx(std, certs))
    pair.handshake()
    assert pair.client.getpeercert() == {}
    assert pair.client.getpeercert(True)


@pytest.mark.parametrize("cmod,smod,bio", SIDES)
@pytest.mark.parametrize(
    "client_protos,server_protos,expected",
    [(["h2", "http/1.1"], ["http/1.1", "h2"], "http/1.1"), (["h2"], ["spdy/3"], None), ([], ["h2"], None)],
)
def test_alpn(certs, cmod, smod, bio, client_protos, server_protos, expected):
    cctx, sctx = client_ctx(cmod, certs), server_ctx(smod, certs)
    cctx.set_alpn_protocols(client_protos)
    sctx.set_alpn_protocols(server_protos)
    pair = make_pair(cmod, smod, bio, cctx, sctx)
    pair.handshake()
    assert pair.client.selected_alpn_protocol() == expected
    assert pair.server.selected_alpn_protocol() == expected


@pytest.mark.parametrize("cmod,smod,bio", SIDES)
@pytest.mark.parametrize("version", ["TLSv1_2", "TLSv1_3"])
def test_client_certificate_required(certs, cmod, smod, bio, version):
    sctx = server_ctx(smod, certs, version=version)
    sctx.verify_mode = smod.CERT_REQUIRED
    sctx.load_verify_locations(certs.ca)
    cctx = client_ctx(cmod, certs)
    cctx.load_cert_chain(certs.client, certs.client_key)
    pair = make_pair(cmod, smod, bio, cctx, sctx)
    pair.handshake()
    peer = pair.server.getpeercert()
    assert ((("commonName", "client"),)) in peer["subject"]

    # without a client certificate the server refuses the handshake
    pair = make_pair(cmod, smod, bio, client_ctx(cmod, certs), sctx)
    with pytest.raises(std.SSLError) as info:
        pair.handshake()
        pair.send(pair.client, pair.server, b"x")  # TLS 1.3: the client learns it on its first read
    if smod is std:
        forget_stdlib_errors()
    assert info.value.reason in (
        "PEER_DID_NOT_RETURN_A_CERTIFICATE",
        "TLSV13_ALERT_CERTIFICATE_REQUIRED",
        "SSLV3_ALERT_HANDSHAKE_FAILURE",
    )


def _unwrap_script(pair):
    """Both sides shut down; returns what each step did (for a differential check)."""
    out = []

    def step(name, fn):
        try:
            result = fn()
            out.append((name, result))
        except std.SSLError as exc:
            out.append((name, type(exc).__name__.replace("tls.", "")))

    pair.send(pair.client, pair.server, b"before close")
    step("client.unwrap", pair.client.unwrap)
    pair.transfer()
    step("server.read", lambda: pair.server.read(100))
    step("server.unwrap", pair.server.unwrap)
    pair.transfer()
    step("client.unwrap", pair.client.unwrap)
    step("client.read", lambda: pair.client.read(100))
    return out


@pytest.mark.parametrize("cmod,smod,bio", SIDES)
def test_unwrap_matches_stdlib(certs, cmod, smod, bio):
    reference = Pair(client_ctx(std, certs), server_ctx(std, certs))
    reference.handshake()
    expected = _unwrap_script(reference)
    pair = make_pair(cmod, smod, bio, client_ctx(cmod, certs), server_ctx(smod, certs))
    pair.handshake()
    assert _unwrap_script(pair) == expected
    assert expected[0] == ("client.unwrap", "SSLWantReadError"), expected


def test_eof_without_close_notify(certs):
    for bio in (tssl.MemoryBIO, std.MemoryBIO):
        pair = Pair(client_ctx(tssl, certs), server_ctx(std, certs), client_bio=bio)
        pair.handshake()
        pair.c_in.write_eof()
        with pytest.raises(tssl.SSLEOFError) as info:
            pair.client.read(10)
        assert isinstance(info.value, std.SSLEOFError)
        assert info.value.errno == tssl.SSL_ERROR_EOF


# ----------------------------------------------------------------------------- verification failures
def _failure(mod, certs, cert, key, hostname="localhost", cafile=None, bio=None):
    sctx = std.SSLContext(std.PROTOCOL_TLS_SERVER)
    sctx.load_cert_chain(cert, key)
    cctx = client_ctx(mod, certs, cafile=cafile)
    pair = Pair(cctx, sctx, client_bio=bio if mod is tssl else None, server_hostname=hostname)
    with pytest.raises(std.SSLCertVerificationError) as info:
        pair.handshake()
    if mod is std:
        forget_stdlib_errors()
    return info.value


def _strip_location(text):
    return text.rsplit(" (", 1)[0]


@pytest.mark.parametrize("bio", [None, std.MemoryBIO])
@pytest.mark.parametrize(
    "case,code",
    [
        ("self_signed", 18),  # X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT
        ("unknown_ca", 20),  # X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY
        ("wrong_host", 62),  # X509_V_ERR_HOSTNAME_MISMATCH
        ("wrong_ip", 64),  # X509_V_ERR_IP_ADDRESS_MISMATCH
        ("expired", 10),  # X509_V_ERR_CERT_HAS_EXPIRED
    ],
)
def test_bad_certificates_rejected(certs, bio, case, code):
    args = {
        "self_signed": (certs.self_signed, certs.self_signed_key),
        "unknown_ca": (certs.unknown_server, certs.unknown_server_key),
        "wrong_host": (certs.server, certs.server_key, "example.com"),
        "wrong_ip": (certs.server, certs.server_key, "127.0.0.2"),
        "expired": (certs.expired, certs.expired_key),
    }[case]
    if args[0] is None:
        pytest.skip("this openssl CLI cannot make a back-dated certificate")
    ours = _failure(tssl, certs, *args, bio=bio)
    theirs = _failure(std, certs, *args)
    assert isinstance(ours, tssl.SSLCertVerificationError)
    assert isinstance(ours, tssl.CertificateError) and isinstance(ours, ValueError)
    assert ours.verify_code == theirs.verify_code == code
    assert ours.verify_message == theirs.verify_message
    assert (
        (ours.library, ours.reason) == (theirs.library, theirs.reason) == ("SSL", "CERTIFICATE_VERIFY_FAILED")
    )
    assert _strip_location(str(ours)) == _strip_location(str(theirs))
    assert ours.errno == theirs.errno == 1
    if case == "wrong_host":
        assert ours.verify_message == "Hostname mismatch, certificate is not valid for 'example.com'."


def test_ip_address_hostname_accepted(certs):
    for host in ("127.0.0.1", "::1"):
        pair = Pair(client_ctx(tssl, certs), server_ctx(std, certs), server_hostname=host)
        pair.handshake()
        assert pair.client.server_hostname == host


def test_hostname_check_can_be_disabled(certs):
    cctx = client_ctx(tssl, certs)
    cctx.check_hostname = False
    pair = Pair(cctx, server_ctx(std, certs), server_hostname="example.com")
    pair.handshake()
    assert pair.client.verify_mode if hasattr(pair.client, "verify_mode") else True


def test_idna_hostname_is_encoded(certs):
    pair = Pair(client_ctx(tssl, certs), server_ctx(std, certs), server_hostname="bücher.example")
    assert pair.client.server_hostname == "xn--bcher-kva.example"
    with pytest.raises(tssl.SSLCertVerificationError) as info:
        pair.handshake()
    assert "xn--bcher-kva.example" in info.value.verify_message


# ----------------------------------------------------------------------------- bad input on objects
def test_wrap_bio_bad_input(certs):
    cctx = client_ctx(tssl, certs)
    sctx = server_ctx(tssl, certs)
    a, b = tssl.MemoryBIO(), tssl.MemoryBIO()
    with pytest.raises(TypeError):
        cctx.wrap_bio(1, b)
    with pytest.raises(TypeError):
        cctx.wrap_bio(a, "x")
    with pytest.raises(ValueError, match="leading dot"):
        cctx.wrap_bio(a, b, server_hostname="")
    with pytest.raises(UnicodeError):
        cctx.wrap_bio(a, b, server_hostname=".example")
    # CPython's messages (PyPy's stdlib does not check this at all)
    for ctx, side, text in (
        (cctx, True, "Cannot create a server socket with a PROTOCOL_TLS_CLIENT context"),
        (sctx, False, "Cannot create a client socket with a PROTOCOL_TLS_SERVER context"),
    ):
        with pytest.raises(tssl.SSLError) as ours:
            ctx.wrap_bio(a, b, server_side=side, server_hostname="localhost" if not side else None)
        assert _strip_location(str(ours.value)) == text
    with pytest.raises(TypeError):
        tssl.SSLObject()


def test_operations_before_handshake(certs):
    obj = client_ctx(tssl, certs).wrap_bio(tssl.MemoryBIO(), tssl.MemoryBIO(), server_hostname="localhost")
    ref = client_ctx(std, certs).wrap_bio(std.MemoryBIO(), std.MemoryBIO(), server_hostname="localhost")
    for o in (obj, ref):
        with pytest.raises(std.SSLWantReadError):
            o.read()
        with pytest.raises(std.SSLWantReadError):
            o.write(b"x")
        with pytest.raises(ValueError, match="handshake not done yet"):
            o.getpeercert()
        with pytest.raises(ValueError, match="size should not be negative"):
            o.read(-1)
        assert o.pending() == 0 and o.selected_alpn_protocol() is None
    assert obj.cipher() is None and obj.version() is None  # PyPy's stdlib answers 'TLSv1.3' here
    with pytest.raises(TypeError):
        obj.write("text")
    with pytest.raises(tssl.SSLError) as ours:
        tssl.SSLContext(tssl.PROTOCOL_TLS_SERVER).wrap_bio(
            tssl.MemoryBIO(), tssl.MemoryBIO(), server_side=True
        ).unwrap()
    assert ours.value.reason == "SHUTDOWN_WHILE_IN_INIT"
    with pytest.raises(tssl.SSLWantReadError) as info:
        obj.read()
    assert info.value.errno == tssl.SSL_ERROR_WANT_READ
    assert str(info.value).startswith("The operation did not complete (read) (")


def test_except_stdlib_ssl_error_catches(certs):
    pair = Pair(client_ctx(tssl, certs, cafile=certs.other_ca), server_ctx(std, certs))
    try:
        pair.handshake()
    except std.SSLError as exc:  # the clause asyncio/urllib3/requests use
        assert isinstance(exc, tssl.SSLError)
        assert isinstance(exc, OSError)
    else:
        raise AssertionError("handshake with an untrusted server succeeded")


def test_encrypted_key_handshake(certs):
    sctx = tssl.SSLContext(tssl.PROTOCOL_TLS_SERVER)
    sctx.load_cert_chain(certs.server, certs.server_key_encrypted, password=PASSWORD)
    pair = Pair(client_ctx(std, certs), sctx)
    pair.handshake()
    assert pair.send(pair.server, pair.client, b"ok") == b"ok"


def test_context_subclass_and_sslobject_class(certs):
    class MyObject(tssl.SSLObject):
        pass

    class MyContext(tssl.SSLContext):
        sslobject_class = MyObject

        def __init__(self, protocol=None, extra=None):
            self.extra = extra

    ctx = MyContext(tssl.PROTOCOL_TLS_CLIENT, extra=5)
    ctx.load_verify_locations(certs.ca)
    assert ctx.extra == 5 and ctx.protocol is tssl.PROTOCOL_TLS_CLIENT
    pair = Pair(ctx, server_ctx(std, certs))
    assert type(pair.client) is MyObject and pair.client.context is ctx
    pair.handshake()


# ----------------------------------------------------------------------------- connection queries
@pytest.mark.parametrize("cmod,smod,bio", SIDES)
@pytest.mark.parametrize("version", ["TLSv1_2", "TLSv1_3"])
def test_channel_binding_and_shared_ciphers(certs, cmod, smod, bio, version):
    pair = make_pair(cmod, smod, bio, client_ctx(cmod, certs, version), server_ctx(smod, certs))
    for obj in (pair.client, pair.server):
        assert obj.get_channel_binding() is None
    if smod is tssl or STD_IS_SPEC:
        assert pair.server.shared_ciphers() is None
    pair.handshake()
    client_cb = pair.client.get_channel_binding("tls-unique")
    assert client_cb
    if STD_IS_SPEC or cmod is smod:  # PyPy 3.9's stdlib returns the wrong Finished message
        assert client_cb == pair.server.get_channel_binding()
    with pytest.raises(ValueError, match="'tls-server-end-point' channel binding type not implemented"):
        (pair.client if cmod is tssl else pair.server).get_channel_binding("tls-server-end-point")
    if cmod is tssl or STD_IS_SPEC:  # PyPy 3.9's stdlib answers a list on the client side
        assert pair.client.shared_ciphers() is None
    shared = pair.server.shared_ciphers()
    assert pair.server.cipher() in shared
    assert pair.client.session_reused is False and pair.server.session_reused is False
    assert pair.client.compression() is None


@pytest.mark.skipif(not STD_IS_SPEC, reason="PyPy 3.9's stdlib has other default ciphers (CPython 3.9's)")
def test_shared_ciphers_equal_stdlib(certs):
    results = []
    for smod in (tssl, std):
        cctx = client_ctx(std, certs)
        cctx.set_ciphers("ECDHE+AESGCM")
        pair = Pair(cctx, server_ctx(smod, certs))
        pair.handshake()
        results.append(pair.server.shared_ciphers())
    assert results[0] == results[1]


def test_server_hostname_on_server_side_is_accepted_like_cpython(certs):
    # CPython's wrap_bio accepts it (only SSLSocket refuses); the name is kept and
    # a server-side object never sends SNI with it.
    sctx = server_ctx(tssl, certs)
    obj = sctx.wrap_bio(tssl.MemoryBIO(), tssl.MemoryBIO(), server_side=True, server_hostname="localhost")
    assert obj.server_hostname == "localhost" and obj.server_side


def test_threads_handshake_and_transfer_concurrently(certs):
    import threading

    cctx, sctx = client_ctx(tssl, certs), server_ctx(tssl, certs, "ec")
    bad = client_ctx(tssl, certs, cafile=certs.other_ca)
    failures = []

    def worker(index):
        try:
            for round_ in range(5):
                pair = Pair(cctx, sctx)
                pair.handshake()
                data = bytes([index, round_]) * 20000
                assert pair.send(pair.client, pair.server, data) == data
                # a failure in this thread must not leak into another thread's queue
                pair = Pair(bad, sctx)
                try:
                    pair.handshake()
                except tssl.SSLCertVerificationError as exc:
                    assert exc.verify_code == 20
                else:
                    raise AssertionError("untrusted handshake succeeded")
                assert_error_queue_clean()
        except BaseException as exc:  # reported below
            failures.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures, failures


@pytest.mark.parametrize("bio", [tssl.MemoryBIO, std.MemoryBIO])
def test_large_single_write(certs, bio):
    pair = Pair(client_ctx(tssl, certs), server_ctx(std, certs), client_bio=bio)
    pair.handshake()
    data = bytes(range(251)) * (3 * 4096 + 7)  # ~3 MiB, more than one piece
    assert pair.client.write(memoryview(data)) == len(data)
    pair.transfer()
    received = bytearray()
    while len(received) < len(data):
        received += pair.server.read(1 << 16)
    assert received == data


# ----------------------------------------------------------------------------- context extras
@pytest.mark.parametrize("cmod,smod,bio", SIDES)
def test_post_handshake_auth(certs, cmod, smod, bio):
    sctx = server_ctx(smod, certs)
    sctx.verify_mode = smod.CERT_REQUIRED
    sctx.load_verify_locations(certs.ca)
    sctx.post_handshake_auth = True
    cctx = client_ctx(cmod, certs)
    cctx.load_cert_chain(certs.client, certs.client_key)
    cctx.post_handshake_auth = True
    assert cctx.post_handshake_auth is True
    pair = make_pair(cmod, smod, bio, cctx, sctx)
    pair.handshake()
    assert pair.server.getpeercert() is None  # nothing asked during the handshake
    pair.server.verify_client_post_handshake()
    assert pair.send(pair.server, pair.client, b"request") == b"request"  # carries the CertificateRequest
    assert pair.send(pair.client, pair.server, b"answer") == b"answer"  # carries the certificate
    assert ((("commonName", "client"),)) in pair.server.getpeercert()["subject"]


def test_verify_client_post_handshake_errors(certs):
    sctx = server_ctx(tssl, certs, version="TLSv1_2")
    pair = Pair(client_ctx(std, certs), sctx)
    pair.handshake()
    with pytest.raises(tssl.SSLError) as info:
        pair.server.verify_client_post_handshake()  # TLS 1.2, and no PHA offered
    assert info.value.library == "SSL" and info.value.reason


def test_session_stats_and_tickets(certs):
    stats = []
    for smod in (tssl, std):
        sctx = server_ctx(smod, certs)
        assert sctx.num_tickets == 2
        sctx.num_tickets = 1
        assert sctx.num_tickets == 1
        with pytest.raises(ValueError, match="non-negative"):
            sctx.num_tickets = -1
        for _ in range(3):
            Pair(client_ctx(std, certs), sctx).handshake()
        stats.append(sctx.session_stats())
    assert stats[0]["accept"] == stats[0]["accept_good"] == 3
    if STD_IS_SPEC:
        assert stats[0] == stats[1]


def test_set_ecdh_curve(certs):
    sctx = server_ctx(tssl, certs)
    sctx.set_ecdh_curve("secp384r1")
    cctx = client_ctx(std, certs)
    pair = Pair(cctx, sctx)
    pair.handshake()
    assert pair.send(pair.client, pair.server, b"x") == b"x"
    other = client_ctx(std, certs)
    other.set_ecdh_curve("prime256v1")  # no group in common: the server must refuse
    with pytest.raises(std.SSLError):
        Pair(other, sctx).handshake()
    forget_stdlib_errors()
    with pytest.raises(ValueError, match="unknown elliptic curve name 'nope'"):
        sctx.set_ecdh_curve("nope")
    with pytest.raises(TypeError):
        sctx.set_ecdh_curve(1)


# ----------------------------------------------------------------------------- SNI
def _der(path):
    with open(path) as f:
        return std.PEM_cert_to_DER_cert(f.read())


@pytest.mark.parametrize("bio", [tssl.MemoryBIO, std.MemoryBIO])
def test_sni_callback_switches_context(certs, bio):
    rsa, ec = server_ctx(tssl, certs, "rsa"), server_ctx(tssl, certs, "ec")
    seen = []

    def callback(sslobj, servername, ctx):
        seen.append((sslobj, servername, ctx))
        if servername == "localhost":
            sslobj.context = ec

    rsa.sni_callback = callback
    assert rsa.sni_callback is callback
    pair = Pair(client_ctx(std, certs), rsa, server_bio=bio)
    pair.handshake()
    assert seen == [(pair.server, "localhost", rsa)]
    assert pair.server.context is ec
    assert pair.client.getpeercert(True) == _der(certs.server_ec)
    # an IP address is not sent as SNI: the callback sees None and keeps the context
    seen.clear()
    pair = Pair(client_ctx(std, certs), rsa, server_bio=bio, server_hostname="127.0.0.1")
    pair.handshake()
    assert seen[0][1] is None and pair.client.getpeercert(True) == _der(certs.server)
    rsa.sni_callback = None
    assert rsa.sni_callback is None
    with pytest.raises(TypeError, match="not a callable object"):
        rsa.sni_callback = 5
    with pytest.raises(TypeError, match="The value must be a SSLContext"):
        pair.server.context = std.SSLContext(std.PROTOCOL_TLS_SERVER)


def test_sni_callback_alert_and_exception(certs, monkeypatch):
    import sys

    reported = []
    monkeypatch.setattr(sys, "unraisablehook", lambda args: reported.append(args.exc_type))
    outcomes = []
    for smod in (tssl, std):
        for behaviour in ("alert", "raise"):
            sctx = server_ctx(smod, certs)

            def callback(sslobj, servername, ctx, behaviour=behaviour, smod=smod):
                if behaviour == "raise":
                    raise ZeroDivisionError
                return smod.ALERT_DESCRIPTION_ACCESS_DENIED

            sctx.sni_callback = callback
            pair = Pair(client_ctx(std, certs), sctx)
            with pytest.raises(std.SSLWantReadError):
                pair.client.do_handshake()
            pair.transfer()
            with pytest.raises(std.SSLError) as server_error:
                pair.server.do_handshake()
            pair.transfer()
            with pytest.raises(std.SSLError) as client_error:
                pair.client.do_handshake()
            forget_stdlib_errors()
            outcomes.append((behaviour, server_error.value.reason, client_error.value.reason))
    assert outcomes[:2] == [
        ("alert", "CALLBACK_FAILED", "TLSV1_ALERT_ACCESS_DENIED"),
        ("raise", "CALLBACK_FAILED", "SSLV3_ALERT_HANDSHAKE_FAILURE"),
    ]
    if STD_IS_SPEC:
        assert outcomes[:2] == outcomes[2:]
    assert ZeroDivisionError in reported


def test_set_servername_callback(certs):
    sctx = server_ctx(tssl, certs)
    names = []
    sctx.set_servername_callback(lambda sslobj, name, ctx: names.append(name))
    Pair(client_ctx(std, certs), sctx, server_hostname="localhost").handshake()
    assert names == ["localhost"]
    sctx.set_servername_callback(None)
    assert sctx.sni_callback is None
    with pytest.raises(ValueError):
        client_ctx(tssl, certs).sni_callback = print


# ----------------------------------------------------------------------------- sessions
def _session_after_data(pair):
    """TLS 1.3 tickets arrive after the handshake: one round of data delivers them."""
    assert pair.send(pair.server, pair.client, b"hello") == b"hello"
    assert pair.send(pair.client, pair.server, b"hi") == b"hi"
    return pair.client.session


@pytest.mark.parametrize("cmod,smod,bio", SIDES)
@pytest.mark.parametrize("version", ["TLSv1_2", "TLSv1_3"])
def test_session_resumption(certs, cmod, smod, bio, version):
    cctx, sctx = client_ctx(cmod, certs, version), server_ctx(smod, certs)
    first = make_pair(cmod, smod, bio, cctx, sctx)
    before = int(time.time())
    first.handshake()
    assert first.client.session_reused is False
    session = _session_after_data(first)
    after = int(time.time())
    assert session is not None and session.has_ticket
    assert session.timeout > 0 and session.ticket_lifetime_hint > 0
    # seconds since the epoch (SSL_SESSION_get_time_ex on OpenSSL 3.3+) while the pair ran
    assert type(session.time) is int and before <= session.time <= after
    if cmod is tssl or STD_IS_SPEC:  # PyPy 3.9's stdlib returns a list here
        assert isinstance(session.id, bytes)
    cbio = bio if (bio is not None and cmod is tssl) else None
    second = Pair(cctx, sctx, client_bio=cbio, server_bio=bio if (bio and smod is tssl) else None)
    second.client.session = session
    second.handshake()
    assert second.client.session_reused is True and second.server.session_reused is True
    # and the wrap_bio(session=...) spelling
    bio_class = cbio or (tssl.MemoryBIO if cmod is tssl else std.MemoryBIO)
    third = cctx.wrap_bio(bio_class(), bio_class(), server_hostname="localhost", session=session)
    assert third.session is not None


def test_session_errors(certs):
    cctx, sctx = client_ctx(tssl, certs), server_ctx(tssl, certs)
    pair = Pair(cctx, sctx)
    pair.handshake()
    session = _session_after_data(pair)
    assert session == pair.client.session and not session != pair.client.session
    with pytest.raises(TypeError):
        hash(session)
    with pytest.raises(TypeError):
        tssl.SSLSession()
    fresh = Pair(cctx, sctx)
    with pytest.raises(TypeError, match="Value is not a SSLSession."):
        fresh.client.session = "session"
    with pytest.raises(ValueError, match="Cannot set session for server-side SSLSocket."):
        fresh.server.session = pair.server.session
    with pytest.raises(ValueError, match="Session refers to a different SSLContext."):
        Pair(client_ctx(tssl, certs), sctx).client.session = session
    with pytest.raises(ValueError, match="Cannot set session after handshake."):
        pair.client.session = session


# ----------------------------------------------------------------------------- key log
def _keylog_labels(path):
    with open(path) as f:
        lines = f.read().splitlines()
    assert lines[0] == "# TLS secrets log file, generated by OpenSSL / Python"
    labels = []
    for line in lines[1:]:
        label, client_random, secret = line.split(" ")
        assert len(client_random) == 64 and int(client_random, 16) >= 0
        assert len(secret) in (64, 96) and int(secret, 16) >= 0
        labels.append(label)
    return sorted(labels)


@pytest.mark.parametrize("version", ["TLSv1_2", "TLSv1_3"])
def test_keylog_file(certs, tmp_path, version):
    results = []
    # PyPy 3.9's stdlib has no keylog_filename: compare where it has
    mods = (tssl, std) if hasattr(std.SSLContext, "keylog_filename") else (tssl,)
    for cmod in mods:
        path = tmp_path / f"{cmod.__name__}-{version}.log"
        cctx = client_ctx(cmod, certs, version)
        assert cctx.keylog_filename is None
        cctx.keylog_filename = path
        assert cctx.keylog_filename == path
        pair = Pair(cctx, server_ctx(std, certs))
        pair.handshake()
        cctx.keylog_filename = None
        Pair(cctx, server_ctx(std, certs)).handshake()  # not logged any more
        results.append(_keylog_labels(path))
    assert results[0] == results[-1]
    expected = (
        ["CLIENT_RANDOM"]
        if version == "TLSv1_2"
        else [
            "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
            "CLIENT_TRAFFIC_SECRET_0",
            "EXPORTER_SECRET",
            "SERVER_HANDSHAKE_TRAFFIC_SECRET",
            "SERVER_TRAFFIC_SECRET_0",
        ]
    )
    assert results[0] == expected


def test_keylog_server_side_and_errors(certs, tmp_path):
    sctx = server_ctx(tssl, certs)
    sctx.keylog_filename = str(tmp_path / "server.log")
    sctx.keylog_filename = str(tmp_path / "server.log")  # reopened in append mode: one header
    Pair(client_ctx(std, certs), sctx).handshake()
    assert len(_keylog_labels(tmp_path / "server.log")) == 5
    with pytest.raises(FileNotFoundError):
        sctx.keylog_filename = str(tmp_path / "missing" / "x.log")
    with pytest.raises(TypeError):
        sctx.keylog_filename = 1
    assert sctx.keylog_filename == str(tmp_path / "server.log")


def test_sslkeylogfile_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("SSLKEYLOGFILE", str(tmp_path / "env.log"))
    ctx = tssl.create_default_context()
    assert ctx.keylog_filename == str(tmp_path / "env.log")


def test_set_npn_protocols_like_cpython():
    ctx = tssl.SSLContext(tssl.PROTOCOL_TLS_CLIENT)
    with pytest.warns(DeprecationWarning, match="NPN is deprecated"):
        with pytest.raises(AttributeError):
            ctx.set_npn_protocols(["http/1.1"])
    with pytest.warns(DeprecationWarning):
        with pytest.raises(tssl.SSLError, match="NPN protocols must be 1 to 255 in length"):
            ctx.set_npn_protocols([""])


# ----------------------------------------------------------------------------- chains
@pytest.mark.parametrize("bio", [tssl.MemoryBIO, std.MemoryBIO])
def test_verified_and_unverified_chains(certs, bio):
    sctx = server_ctx(tssl, certs)
    sctx.verify_mode = tssl.CERT_REQUIRED
    sctx.load_verify_locations(certs.ca)
    cctx = client_ctx(tssl, certs)
    cctx.load_cert_chain(certs.client, certs.client_key)
    pair = Pair(cctx, sctx, client_bio=bio, server_bio=bio)
    assert pair.client.get_verified_chain() == [] and pair.client.get_unverified_chain() == []
    pair.handshake()
    server, client, ca = _der(certs.server), _der(certs.client), _der(certs.ca)
    assert pair.client.get_verified_chain() == [server, ca]
    assert pair.server.get_verified_chain() == [client, ca]
    # each side also sends the CA: OpenSSL builds the chain from its own store
    assert pair.client.get_unverified_chain() == [server, ca]
    assert pair.server.get_unverified_chain() == [client, ca]
    # a side whose store lacks the CA sends the leaf alone
    pair = Pair(client_ctx(tssl, certs), server_ctx(tssl, certs), client_bio=bio, server_bio=bio)
    pair.handshake()
    assert pair.client.get_unverified_chain() == [server]
    assert pair.client.get_verified_chain() == [server, ca]
    if hasattr(std.SSLObject, "get_verified_chain"):  # CPython >= 3.13
        ref = Pair(client_ctx(std, certs), server_ctx(std, certs))
        ref.handshake()
        assert ref.client.get_verified_chain() == pair.client.get_verified_chain()


# ----------------------------------------------------------------------------- DHE
def test_load_dh_params_enables_dhe(certs):
    for smod in (tssl, std):
        sctx = server_ctx(smod, certs, version="TLSv1_2")
        cctx = client_ctx(std, certs, "TLSv1_2")
        cctx.set_ciphers("DHE-RSA-AES128-GCM-SHA256")
        with pytest.raises(std.SSLError):  # no DH parameters: no DHE
            Pair(cctx, sctx).handshake()
        forget_stdlib_errors()
        sctx.load_dh_params(certs.dh_params)
        pair = Pair(cctx, sctx)
        pair.handshake()
        assert pair.server.cipher()[0] == "DHE-RSA-AES128-GCM-SHA256"


def test_load_dh_params_errors(certs):
    outcomes = []
    for smod in (tssl, std):
        sctx = smod.SSLContext(smod.PROTOCOL_TLS_SERVER)
        with pytest.raises(FileNotFoundError) as info:
            sctx.load_dh_params(certs.dir + "/missing.pem")
        if smod is tssl or STD_IS_SPEC:  # PyPy 3.9's stdlib leaves filename unset
            assert info.value.filename == certs.dir + "/missing.pem"
        with pytest.raises(smod.SSLError) as info:
            sctx.load_dh_params(certs.ca)  # a certificate, not parameters
        outcomes.append((info.value.library, info.value.reason))
        forget_stdlib_errors()
    assert outcomes[0] == ("PEM", "NO_START_LINE")
    if STD_IS_SPEC:
        assert outcomes[0] == outcomes[1]


# ----------------------------------------------------------------------------- ALPN differential
_protocol = st.sampled_from(["h2", "http/1.1", "spdy/3", "x", "h3", "acme-tls/1"])


@settings(max_examples=25, deadline=None)
@given(client=st.lists(_protocol, max_size=4), server=st.lists(_protocol, max_size=4))
def test_alpn_selection_matches_stdlib(certs, client, server):
    results = []
    for smod in (tssl, std):
        cctx, sctx = client_ctx(std, certs), server_ctx(smod, certs)
        cctx.set_alpn_protocols(client)
        sctx.set_alpn_protocols(server)
        pair = Pair(cctx, sctx)
        pair.handshake()
        results.append((pair.client.selected_alpn_protocol(), pair.server.selected_alpn_protocol()))
    assert results[0] == results[1]
    expected = next((p for p in server if p in client), None)
    assert results[0] == (expected, expected)


def test_same_memory_bio_for_both_ends(certs):
    # Useless for a real connection, but must neither crash nor leak a reference.
    bio = tssl.MemoryBIO()
    obj = client_ctx(tssl, certs).wrap_bio(bio, bio, server_hostname="localhost")
    with pytest.raises(tssl.SSLError):  # reads its own ClientHello back
        for _ in range(3):
            try:
                obj.do_handshake()
            except tssl.SSLWantReadError:
                pass
    del obj
    bio.write(b"still usable")
    assert bio.read().endswith(b"still usable")
