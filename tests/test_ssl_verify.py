"""Certificate verification, differential against the stdlib ``ssl``: every kind
of bad server certificate is refused by a default client context with the same
``SSLCertVerificationError`` (verify_code, verify_message, text) the stdlib gives
for the same certificate over a MemoryBIO handshake; the good chains that look
alike are accepted."""

import ssl as std

import pytest
from ssl_certs import Pair, assert_error_queue_clean, session_certs

import tls.ssl as tssl


@pytest.fixture(scope="session")
def certs(tmp_path_factory):
    return session_certs(tmp_path_factory)


@pytest.fixture(autouse=True)
def clean_error_queue():
    from tls._binding import clear_errors

    clear_errors()  # whatever a stdlib peer may have left in this thread
    yield
    assert_error_queue_clean()


def _client_ctx(mod, cafile):
    ctx = mod.SSLContext(mod.PROTOCOL_TLS_CLIENT)  # the defaults: CERT_REQUIRED, check_hostname
    ctx.load_verify_locations(cafile)
    return ctx


def _server_ctx(certfile, keyfile):
    ctx = std.SSLContext(std.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(certfile, keyfile)
    return ctx


def _handshake(mod, certfile, keyfile, cafile, hostname="localhost", bio=None):
    pair = Pair(
        _client_ctx(mod, cafile),
        _server_ctx(certfile, keyfile),
        client_bio=bio if mod is tssl else None,
        server_hostname=hostname,
    )
    pair.handshake()
    return pair


def _failure(mod, *args, **kw):
    from tls._binding import clear_errors

    with pytest.raises(std.SSLCertVerificationError) as info:
        _handshake(mod, *args, **kw)
    if mod is std:
        clear_errors()  # PyPy's stdlib ssl leaves its failure on the shared queue
    return info.value


def _strip_location(text):
    return text.rsplit(" (", 1)[0]


# X509_V_ERR_* codes (OpenSSL 3: x509_vfy.h): 9 CERT_NOT_YET_VALID, 10 CERT_HAS_EXPIRED,
# 18 DEPTH_ZERO_SELF_SIGNED_CERT, 20 UNABLE_TO_GET_ISSUER_CERT_LOCALLY, 26 INVALID_PURPOSE,
# 62 HOSTNAME_MISMATCH, 64 IP_ADDRESS_MISMATCH, 79 INVALID_CA (24 before OpenSSL 3).
# case: (cert attribute, key attribute, CA file attribute, hostname, OpenSSL X509_V_ERR_*, its message)
CASES = {
    "expired": ("expired", "expired_key", "ca", "localhost", 10, "certificate has expired"),
    "not_yet_valid": (
        "not_yet_valid",
        "not_yet_valid_key",
        "ca",
        "localhost",
        9,
        "certificate is not yet valid",
    ),
    "wrong_host": (
        "server",
        "server_key",
        "ca",
        "wrong.example",
        62,
        "Hostname mismatch, certificate is not valid for 'wrong.example'.",
    ),
    "wrong_ip": (
        "server",
        "server_key",
        "ca",
        "127.0.0.2",
        64,
        "IP address mismatch, certificate is not valid for '127.0.0.2'.",
    ),
    "self_signed": ("self_signed", "self_signed_key", "ca", "localhost", 18, "self-signed certificate"),
    "unknown_ca": (
        "unknown_server",
        "unknown_server_key",
        "ca",
        "localhost",
        20,
        "unable to get local issuer certificate",
    ),
    # the server sends its leaf only; the client trusts only the root
    "incomplete_chain": (
        "chained",
        "chained_key",
        "ca",
        "localhost",
        20,
        "unable to get local issuer certificate",
    ),
    # the server sends leaf + an "intermediate" whose basicConstraints say CA:FALSE
    "ca_false_intermediate": (
        "bad_chained_full",
        "bad_chained_full_key",
        "ca",
        "localhost",
        79,
        "invalid CA certificate",
    ),
    # a clientAuth-only certificate used as a server certificate
    "wrong_eku": ("client_eku", "client_eku_key", "ca", "localhost", 26, "unsuitable certificate purpose"),
}


@pytest.mark.parametrize("bio", [None, std.MemoryBIO], ids=["tls-bios", "std-bios"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_certificate_rejected_like_stdlib(certs, case, bio):
    cert, key, ca, hostname, code, message = CASES[case]
    if getattr(certs, cert) is None:
        pytest.skip("this openssl CLI cannot make a back-dated certificate")
    args = (getattr(certs, cert), getattr(certs, key), getattr(certs, ca), hostname)
    ours = _failure(tssl, *args, bio=bio)
    theirs = _failure(std, *args)
    assert type(ours) is tssl.SSLCertVerificationError
    assert isinstance(ours, tssl.CertificateError) and isinstance(ours, ValueError)
    assert (ours.verify_code, ours.verify_message) == (theirs.verify_code, theirs.verify_message)
    assert ours.verify_code == code
    assert ours.verify_message == message
    assert (
        (ours.library, ours.reason) == (theirs.library, theirs.reason) == ("SSL", "CERTIFICATE_VERIFY_FAILED")
    )
    assert ours.errno == theirs.errno == 1
    assert _strip_location(str(ours)) == _strip_location(str(theirs))
    assert str(ours) == f"[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: {message} (_ssl.c:0)"
    assert ours.args[0] == 1


@pytest.mark.parametrize("mod", [tssl, std], ids=["tls", "std"])
def test_good_chains_that_look_alike_are_accepted(certs, mod):
    # the complete chain (leaf + intermediate) against the root alone
    pair = _handshake(mod, certs.chained_full, certs.chained_key, certs.ca)
    assert pair.client.getpeercert()["issuer"] == (
        (("organizationName", "tls tests"),),
        (("commonName", "tls test intermediate"),),
    )
    # the leaf alone when the client also trusts the intermediate
    both = certs.dir + "/ca_and_intermediate.pem"
    with open(both, "w") as out:
        for path in (certs.ca, certs.intermediate):
            with open(path) as f:
                out.write(f.read())
    _handshake(mod, certs.chained, certs.chained_key, both)
    # the clientAuth-only certificate is fine as a client certificate
    sctx = mod.SSLContext(mod.PROTOCOL_TLS_SERVER)
    sctx.load_cert_chain(certs.server, certs.server_key)
    sctx.verify_mode = mod.CERT_REQUIRED
    sctx.load_verify_locations(certs.ca)
    cctx = std.SSLContext(std.PROTOCOL_TLS_CLIENT)
    cctx.load_verify_locations(certs.ca)
    cctx.load_cert_chain(certs.client_eku, certs.client_eku_key)
    pair = Pair(cctx, sctx)
    pair.handshake()
    assert (
        pair.server.getpeercert()["serialNumber"]
        == std._ssl._test_decode_cert(certs.client_eku)["serialNumber"]
    )


def _server_side_failure(mod, certs, client_cert, client_key):
    """A server requiring client certificates shown a bad one: the failure it raises."""
    from tls._binding import clear_errors

    sctx = mod.SSLContext(mod.PROTOCOL_TLS_SERVER)
    sctx.load_cert_chain(certs.server, certs.server_key)
    sctx.verify_mode = mod.CERT_REQUIRED
    sctx.load_verify_locations(certs.ca)
    cctx = std.SSLContext(std.PROTOCOL_TLS_CLIENT)
    cctx.load_verify_locations(certs.ca)
    cctx.load_cert_chain(client_cert, client_key)
    pair = Pair(cctx, sctx)
    with pytest.raises(std.SSLCertVerificationError) as info:
        pair.handshake()  # the server fails first: the client only learns of it from the alert
    clear_errors()
    return info.value


@pytest.mark.parametrize(
    "cert,key,code",
    [
        ("server", "server_key", 26),  # a serverAuth-only EKU offered as a client certificate
        ("self_signed", "self_signed_key", 18),
        ("unknown_server", "unknown_server_key", 20),
    ],
)
def test_server_rejects_bad_client_certificate_like_stdlib(certs, cert, key, code):
    ours = _server_side_failure(tssl, certs, getattr(certs, cert), getattr(certs, key))
    theirs = _server_side_failure(std, certs, getattr(certs, cert), getattr(certs, key))
    assert type(ours) is tssl.SSLCertVerificationError
    assert ours.verify_code == theirs.verify_code == code
    assert ours.verify_message == theirs.verify_message
    assert _strip_location(str(ours)) == _strip_location(str(theirs))
