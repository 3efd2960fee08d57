"""Certificate verification, differential against the stdlib ``ssl``: every kind
of bad server certificate is refused by a default client context with the same
``SSLCertVerificationError`` (verify_code, verify_message, text) the stdlib gives
for the same certificate over a MemoryBIO handshake; the good chains that look
alike are accepted."""

import ssl as std

import pytest
from ssl_certs import Pair

import tls.ssl as tssl


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


def _der(path):
    with open(path) as f:
        return std.PEM_cert_to_DER_cert(f.read())


def _ca_and_intermediate(certs):
    path = certs.dir + "/ca_and_intermediate.pem"
    with open(path, "w") as out:
        for part in (certs.ca, certs.intermediate):
            with open(part) as f:
                out.write(f.read())
    return path


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
        pytest.skip(f"this openssl CLI cannot make the {cert} certificate")
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
    _handshake(mod, certs.chained, certs.chained_key, _ca_and_intermediate(certs))
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


# ----------------------------------------------------------------------------- names, modes, flags
def _outcome(mod, certfile, keyfile, hostname, setup=None, cafile=None):
    """("ok", serial, server_hostname) or (exception type name, verify_code, verify_message, text)."""
    from tls._binding import clear_errors

    cctx = mod.SSLContext(mod.PROTOCOL_TLS_CLIENT)
    cctx.load_verify_locations(cafile)
    if setup is not None:
        setup(cctx, mod)
    pair = Pair(
        cctx,
        _server_ctx(certfile, keyfile),
        server_hostname=hostname,
    )
    try:
        pair.handshake()
        return ("ok", pair.client.getpeercert(True), pair.client.server_hostname)
    except std.SSLError as exc:
        return (type(exc).__name__, exc.verify_code, exc.verify_message, _strip_location(str(exc)))
    finally:
        clear_errors()  # the stdlib's failures on PyPy


# (cert attribute, hostname, expected: "ok" or the verify_code)
HOSTNAMES = [
    ("rich", "www.bücher.example", "ok"),  # U-label server_hostname, A-label wildcard SAN
    ("rich", "www.xn--bcher-kva.example", "ok"),
    ("rich", "WWW.XN--BCHER-KVA.EXAMPLE", "ok"),
    ("rich", "a.b.bücher.example", 62),  # a wildcard covers one label
    ("rich", "bücher.example", 62),  # ... and not the bare parent
    ("rich", "2001:db8:0:1::ff", "ok"),  # IPv6, any spelling
    ("rich", "2001:DB8:0:1:0:0:0:FF", "ok"),
    ("rich", "2001:db8::2", 64),
    ("rich", "[::1]", 62),  # brackets make it a (bad) host name
    ("rich", "x@example.com", 62),  # an email SAN is no host name
    ("server", "LOCALHOST", "ok"),
    ("server", "localhost.", 62),
    ("server", "127.0.0.1", "ok"),
    ("server", "127.1", 62),  # only dotted quads are addresses
    ("many_names", "many names", 62),  # the common name is not consulted
    ("many_names", "a.example", "ok"),
    ("many_names", "x.b.example", "ok"),
    ("many_names", "10.0.0.1", "ok"),
    ("many_names", "10.0.0.2", 64),
]


@pytest.mark.parametrize("cert,hostname,expected", HOSTNAMES)
def test_hostname_checks_like_stdlib(certs, cert, hostname, expected):
    key = getattr(certs, cert + "_key") if cert != "server" else certs.server_key
    ours = _outcome(tssl, getattr(certs, cert), key, hostname, cafile=certs.ca)
    theirs = _outcome(std, getattr(certs, cert), key, hostname, cafile=certs.ca)
    assert ours == theirs
    assert ours[0] == "ok" if expected == "ok" else ours[:2] == ("SSLCertVerificationError", expected)


def _optional(ctx, mod):
    ctx.verify_mode = mod.CERT_OPTIONAL


def _partial_chain(ctx, mod):
    # the stdlib has the name from 3.10 on (not PyPy 3.9); OpenSSL's flag works in both
    ctx.verify_flags |= getattr(mod, "VERIFY_X509_PARTIAL_CHAIN", int(tssl.VERIFY_X509_PARTIAL_CHAIN))


def _strict(ctx, mod):
    ctx.verify_flags |= mod.VERIFY_X509_STRICT


def _crl_leaf(ctx, mod):
    ctx.verify_flags |= mod.VERIFY_CRL_CHECK_LEAF


def _crl_chain(ctx, mod):
    ctx.verify_flags |= mod.VERIFY_CRL_CHECK_CHAIN


def _no_hostname(ctx, mod):
    ctx.check_hostname = False


def _common_name(ctx, mod):
    ctx.hostname_checks_common_name = True


def _load_crl(certs):
    def setup(ctx, mod):
        ctx.verify_flags |= mod.VERIFY_CRL_CHECK_LEAF
        ctx.load_verify_locations(certs.crl)

    return setup


# (name, cert, key, setup, CA file attribute, expected: "ok" or verify_code)
MODES = [
    ("optional_still_verifies_expired", "expired", "expired_key", _optional, "ca", 10),
    ("optional_still_verifies_unknown", "unknown_server", "unknown_server_key", _optional, "ca", 20),
    ("intermediate_alone_is_not_an_anchor", "chained", "chained_key", None, "intermediate", 2),
    ("partial_chain_makes_it_one", "chained", "chained_key", _partial_chain, "intermediate", "ok"),
    ("strict_accepts_good_certs", "server", "server_key", _strict, "ca", "ok"),
    ("strict_accepts_good_chain", "chained_full", "chained_key", _strict, "ca", "ok"),
    ("crl_check_without_a_crl", "server", "server_key", _crl_leaf, "ca", 3),
    ("crl_chain_check_without_a_crl", "chained_full", "chained_key", _crl_chain, "ca", 3),
    ("no_hostname_check_still_verifies", "expired", "expired_key", _no_hostname, "ca", 10),
    ("common_name_not_consulted_when_sans_exist", "many_names", "many_names_key", _common_name, "ca", 62),
    ("revoked", "revoked", "revoked_key", "load_crl", "ca", 23),
    ("not_revoked", "server", "server_key", "load_crl", "ca", "ok"),
]


@pytest.mark.parametrize("name,cert,key,setup,ca,expected", MODES, ids=[m[0] for m in MODES])
def test_verify_modes_and_flags_like_stdlib(certs, name, cert, key, setup, ca, expected):
    if getattr(certs, cert) is None:
        pytest.skip("this openssl CLI cannot make a back-dated certificate")
    if setup == "load_crl":
        setup = _load_crl(certs)
    hostname = "many names" if cert == "many_names" else "localhost"
    args = (getattr(certs, cert), getattr(certs, key), hostname, setup, getattr(certs, ca))
    ours = _outcome(tssl, *args)
    theirs = _outcome(std, *args)
    assert ours == theirs
    assert ours[0] == "ok" if expected == "ok" else ours[:2] == ("SSLCertVerificationError", expected)


def test_crl_counted_like_stdlib(certs):
    stats = []
    for mod in (tssl, std):
        ctx = mod.SSLContext(mod.PROTOCOL_TLS_CLIENT)
        ctx.load_verify_locations(certs.ca)
        ctx.load_verify_locations(certs.crl)
        stats.append(ctx.cert_store_stats())
    assert stats[0] == stats[1] == {"x509": 1, "crl": 1, "x509_ca": 1}


# ----------------------------------------------------------------------------- chains
def _public_chain(chain):
    """CPython 3.13's public SSLObject.get_(un)verified_chain over 3.11's private _ssl one."""
    if chain is None:
        return []
    return [c if isinstance(c, bytes) else c.public_bytes(std._ssl.ENCODING_DER) for c in chain]


# CPython has had the private _ssl methods since 3.10; PyPy 3.9's stdlib has none
STD_HAS_CHAINS = hasattr(getattr(std._ssl, "_SSLSocket", None), "get_verified_chain")


def _chains(obj):
    if isinstance(obj, tssl.SSLObject):
        return obj.get_verified_chain(), obj.get_unverified_chain()
    return _public_chain(obj._sslobj.get_verified_chain()), _public_chain(obj._sslobj.get_unverified_chain())


CHAIN_CASES = {
    "chain_sent": dict(cert="chained_full", key="chained_key", ca="ca"),
    "chain_sent_unverified": dict(cert="chained_full", key="chained_key", ca="ca", verify=False),
    "leaf_sent_intermediate_trusted": dict(cert="chained", key="chained_key", ca="ca_and_intermediate"),
    "leaf_only_unverified": dict(cert="chained", key="chained_key", ca="ca", verify=False),
    "client_certificate": dict(cert="server", key="server_key", ca="ca", client=("client", "client_key")),
}


def _chain_run(cmod, smod, certs, version, cert, key, ca, verify=True, client=None):
    cafile = _ca_and_intermediate(certs) if ca == "ca_and_intermediate" else getattr(certs, ca)
    cctx = cmod.SSLContext(cmod.PROTOCOL_TLS_CLIENT)
    cctx.load_verify_locations(cafile)
    cctx.maximum_version = getattr(cmod.TLSVersion, version)
    if not verify:
        cctx.check_hostname = False
        cctx.verify_mode = cmod.CERT_NONE
    sctx = smod.SSLContext(smod.PROTOCOL_TLS_SERVER)
    sctx.load_cert_chain(getattr(certs, cert), getattr(certs, key))
    if client:
        cctx.load_cert_chain(getattr(certs, client[0]), getattr(certs, client[1]))
        sctx.verify_mode = smod.CERT_REQUIRED
        sctx.load_verify_locations(certs.ca)
    pair = Pair(cctx, sctx)
    before = _chains(pair.client), _chains(pair.server)
    pair.handshake()
    return before, _chains(pair.client), _chains(pair.server)


@pytest.mark.parametrize("version", ["TLSv1_2", "TLSv1_3"])
@pytest.mark.parametrize("case", sorted(CHAIN_CASES))
@pytest.mark.parametrize("side", ["client", "server"])
def test_verified_and_unverified_chains_like_stdlib(certs, case, version, side):
    if STD_HAS_CHAINS:
        mods = (tssl, std) if side == "client" else (std, tssl)
    else:
        mods = (tssl, tssl)
    ours = _chain_run(*mods, certs, version, **CHAIN_CASES[case])
    if STD_HAS_CHAINS:
        assert ours == _chain_run(std, std, certs, version, **CHAIN_CASES[case])
    assert ours[0] == (([], []), ([], []))  # nothing before the handshake
    # (verified, unverified) chain lengths as the client sees the server
    assert [len(chain) for chain in ours[1]] == {
        "chain_sent": [3, 2],
        "chain_sent_unverified": [3, 2],  # OpenSSL builds the chain even under CERT_NONE
        "leaf_sent_intermediate_trusted": [3, 1],
        "leaf_only_unverified": [1, 1],
        "client_certificate": [2, 2],  # a server with a trust store adds its CA (auto chain)
    }[case]
    if case == "client_certificate":  # the server's view: CPython puts the peer's leaf first
        assert [len(chain) for chain in ours[2]] == [2, 2]
        assert ours[2][1][0] == ours[2][0][0] == _der(certs.client)
