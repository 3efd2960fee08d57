"""tls.x509.verify_chain: the handshake's certificate verifier as a function.

- differential against a real handshake: every chain of the ``certs`` fixture that a
  tls.ssl client (or, for client certificates, a tls.ssl server) accepts or refuses,
  verify_chain accepts (with the chain ``get_verified_chain()`` gives) or refuses with
  the same exception (type, errno, library, reason, verify_code, verify_message, text);
- the NIST PKITS suite (vectors/pkits.py): every test and subpart gives the outcome
  the PKITS document expects, with the verify code OpenSSL fails it with; the two
  tests OpenSSL is known to get wrong are strict xfails with the reason;
- bad input of every kind.
"""

import datetime
import os
import ssl as std

import pytest
from ssl_certs import Pair

import tls.ssl as tssl
import vectors
from tls import x509
from tls.exceptions import OpenSSLError
from vectors import pkits

UTC = datetime.timezone.utc


def _read(path):
    with open(path) as f:
        return f.read()


def _pem_blocks(path):
    """The PEM certificates of a file, one string each, in file order."""
    text = _read(path)
    end = "-----END CERTIFICATE-----"
    return [block.strip() + "\n" + end + "\n" for block in text.split(end) if "-----BEGIN" in block]


def _der(path):
    return std.PEM_cert_to_DER_cert(_read(path))


def _describe(exc):
    return (
        type(exc).__name__,
        exc.errno,
        exc.library,
        exc.reason,
        exc.verify_code,
        exc.verify_message,
        str(exc),
    )


# ----------------------------------------------------------------------------- differential
def _client_handshake(certs, certfile, keyfile, cafile, hostname, setup):
    """A tls.ssl client (CERT_REQUIRED, check_hostname) against a stdlib server sending
    ``certfile``: ("ok", verified chain) or the description of the exception it raised."""
    from tls._binding import clear_errors

    cctx = tssl.SSLContext(tssl.PROTOCOL_TLS_CLIENT)
    cctx.load_verify_locations(cafile)
    if setup:
        setup(cctx)
    sctx = std.SSLContext(std.PROTOCOL_TLS_SERVER)
    sctx.load_cert_chain(certfile, keyfile)
    pair = Pair(cctx, sctx, server_hostname=hostname)
    try:
        pair.handshake()
        return ("ok", pair.client.get_verified_chain())
    except tssl.SSLCertVerificationError as exc:
        return _describe(exc)
    finally:
        clear_errors()  # what the stdlib server (PyPy) leaves on the shared queue


def _server_handshake(certs, certfile, keyfile, cafile):
    """A tls.ssl server requiring a client certificate, shown ``certfile`` by a stdlib client."""
    from tls._binding import clear_errors

    sctx = tssl.SSLContext(tssl.PROTOCOL_TLS_SERVER)
    sctx.load_cert_chain(certs.server, certs.server_key)
    sctx.verify_mode = tssl.CERT_REQUIRED
    sctx.load_verify_locations(cafile)
    cctx = std.SSLContext(std.PROTOCOL_TLS_CLIENT)
    cctx.load_verify_locations(certs.ca)
    cctx.load_cert_chain(certfile, keyfile)
    pair = Pair(cctx, sctx)
    try:
        pair.handshake()
        return ("ok", pair.server.get_verified_chain())
    except tssl.SSLCertVerificationError as exc:  # the server fails first
        return _describe(exc)
    finally:
        clear_errors()


def _ours(certfile, cafile, **kw):
    blocks = _pem_blocks(certfile)
    try:
        return ("ok", x509.verify_chain(blocks[0], blocks[1:], _read(cafile), **kw))
    except tssl.SSLCertVerificationError as exc:
        return _describe(exc)


def _ca_and_intermediate(certs):
    path = certs.dir + "/x509_ca_and_intermediate.pem"
    with open(path, "w") as out:
        out.write(_read(certs.ca) + _read(certs.intermediate))
    return path


def _flags(value):
    return lambda ctx: setattr(ctx, "verify_flags", ctx.verify_flags | value)


def _crl(flags):
    def setup(ctx, certs):
        ctx.verify_flags |= flags
        ctx.load_verify_locations(certs.crl)

    return setup


# name: (cert, key, CA file ("ca", "intermediate" or "ca_and_intermediate"), hostname,
#        handshake setup, verify_chain keywords, expected: "ok" or the verify_code)
CLIENT_CASES = {
    "server": ("server", "server_key", "ca", "localhost", None, {}, "ok"),
    "server_ec": ("server_ec", "server_ec_key", "ca", "localhost", None, {}, "ok"),
    "chain_sent": ("chained_full", "chained_key", "ca", "localhost", None, {}, "ok"),
    "leaf_without_its_intermediate": ("chained", "chained_key", "ca", "localhost", None, {}, 20),
    "intermediate_trusted": ("chained", "chained_key", "ca_and_intermediate", "localhost", None, {}, "ok"),
    "intermediate_alone_is_no_anchor": ("chained", "chained_key", "intermediate", "localhost", None, {}, 2),
    "partial_chain": (
        "chained",
        "chained_key",
        "intermediate",
        "localhost",
        _flags(tssl.VERIFY_X509_PARTIAL_CHAIN),
        {"verify_flags": tssl.VERIFY_X509_TRUSTED_FIRST | tssl.VERIFY_X509_PARTIAL_CHAIN},
        "ok",
    ),
    "strict": (
        "chained_full",
        "chained_key",
        "ca",
        "localhost",
        _flags(tssl.VERIFY_X509_STRICT),
        {"verify_flags": tssl.VERIFY_X509_TRUSTED_FIRST | tssl.VERIFY_X509_STRICT},
        "ok",
    ),
    "untrusted_ca": ("unknown_server", "unknown_server_key", "ca", "localhost", None, {}, 20),
    "self_signed": ("self_signed", "self_signed_key", "ca", "localhost", None, {}, 18),
    "expired": ("expired", "expired_key", "ca", "localhost", None, {}, 10),
    "not_yet_valid": ("not_yet_valid", "not_yet_valid_key", "ca", "localhost", None, {}, 9),
    "ca_false_intermediate": ("bad_chained_full", "bad_chained_full_key", "ca", "localhost", None, {}, 79),
    "wrong_hostname": ("server", "server_key", "ca", "wrong.example", None, {}, 62),
    "hostname_case": ("server", "server_key", "ca", "LOCALHOST", None, {}, "ok"),
    "trailing_dot": ("server", "server_key", "ca", "localhost.", None, {}, 62),
    "ipv4": ("server", "server_key", "ca", "127.0.0.1", None, {}, "ok"),
    "ipv6": ("server", "server_key", "ca", "::1", None, {}, "ok"),
    "wrong_ipv4": ("server", "server_key", "ca", "127.0.0.2", None, {}, 64),
    "not_a_dotted_quad": ("server", "server_key", "ca", "127.1", None, {}, 62),
    "wildcard_u_label": ("rich", "rich_key", "ca", "www.bücher.example", None, {}, "ok"),
    "wildcard_one_label_only": ("rich", "rich_key", "ca", "a.b.bücher.example", None, {}, 62),
    "ipv6_other_spelling": ("rich", "rich_key", "ca", "2001:DB8:0:1:0:0:0:FF", None, {}, "ok"),
    "wrong_ipv6": ("rich", "rich_key", "ca", "2001:db8::2", None, {}, 64),
    "common_name_ignored_with_sans": ("many_names", "many_names_key", "ca", "many names", None, {}, 62),
    "client_eku_as_server": ("client_eku", "client_eku_key", "ca", "localhost", None, {}, 26),
    "revoked_leaf_check": (
        "revoked",
        "revoked_key",
        "ca",
        "localhost",
        _crl(tssl.VERIFY_CRL_CHECK_LEAF),
        {"crls": "crl", "verify_flags": tssl.VERIFY_CRL_CHECK_LEAF},
        23,
    ),
    "revoked_chain_check": (
        "revoked",
        "revoked_key",
        "ca",
        "localhost",
        _crl(tssl.VERIFY_CRL_CHECK_CHAIN),
        {"crls": "crl"},  # CRLs given: the whole chain is checked by default
        23,
    ),
    "not_revoked": (
        "server",
        "server_key",
        "ca",
        "localhost",
        _crl(tssl.VERIFY_CRL_CHECK_CHAIN),
        {"crls": "crl"},
        "ok",
    ),
    "crl_check_without_a_crl": (
        "server",
        "server_key",
        "ca",
        "localhost",
        _flags(tssl.VERIFY_CRL_CHECK_LEAF),
        {"verify_flags": tssl.VERIFY_CRL_CHECK_LEAF},
        3,
    ),
}


@pytest.mark.parametrize("case", sorted(CLIENT_CASES))
def test_same_outcome_as_a_client_handshake(certs, case):
    cert, key, ca, hostname, setup, kw, expected = CLIENT_CASES[case]
    if getattr(certs, cert) is None:
        pytest.skip(f"this openssl CLI cannot make the {cert} certificate")
    cafile = _ca_and_intermediate(certs) if ca == "ca_and_intermediate" else getattr(certs, ca)
    kw = dict(kw)
    if kw.get("crls") == "crl":
        kw["crls"] = [_read(certs.crl)]
    if setup is not None and setup.__code__.co_argcount == 2:  # the CRL setups need the fixture
        crl_setup = setup
        setup = lambda ctx: crl_setup(ctx, certs)  # noqa: E731
    theirs = _client_handshake(certs, getattr(certs, cert), getattr(certs, key), cafile, hostname, setup)
    ours = _ours(getattr(certs, cert), cafile, hostname=hostname, **kw)
    assert ours == theirs
    if expected == "ok":
        assert ours[0] == "ok" and len(ours[1]) >= 2
        assert ours[1][0] == _der(getattr(certs, cert))  # the leaf first ...
        assert all(isinstance(c, bytes) for c in ours[1])
    else:
        assert ours[0] == "SSLCertVerificationError"
        assert ours[2:5] == ("SSL", "CERTIFICATE_VERIFY_FAILED", expected)


# name: (cert, key, expected) shown as a client certificate to a server trusting the CA
SERVER_CASES = {
    "client": ("client", "client_key", "ok"),
    "client_eku": ("client_eku", "client_eku_key", "ok"),
    "server_eku_as_client": ("server", "server_key", 26),
    "self_signed": ("self_signed", "self_signed_key", 18),
    "untrusted_ca": ("unknown_server", "unknown_server_key", 20),
    # server certificates (extendedKeyUsage serverAuth) offered as client certificates:
    # OpenSSL checks the purpose before the validity period
    "server_chain_sent": ("chained_full", "chained_key", 26),
    "expired_server": ("expired", "expired_key", 26),
}


@pytest.mark.parametrize("case", sorted(SERVER_CASES))
def test_purpose_client_same_outcome_as_a_server_handshake(certs, case):
    cert, key, expected = SERVER_CASES[case]
    if getattr(certs, cert) is None:
        pytest.skip(f"this openssl CLI cannot make the {cert} certificate")
    theirs = _server_handshake(certs, getattr(certs, cert), getattr(certs, key), certs.ca)
    ours = _ours(getattr(certs, cert), certs.ca, purpose="client")
    assert ours == theirs
    assert ours[0] == "ok" if expected == "ok" else ours[4] == expected
    # ssl.Purpose.CLIENT_AUTH (the purpose of a context verifying clients) is the same thing
    for purpose in (std.Purpose.CLIENT_AUTH, tssl.Purpose.CLIENT_AUTH):
        assert _ours(getattr(certs, cert), certs.ca, purpose=purpose) == ours


def test_purpose_decides_which_extended_key_usage_passes(certs):
    ca = _read(certs.ca)
    leaf = _read(certs.client_eku)  # extendedKeyUsage = clientAuth
    assert len(x509.verify_chain(leaf, [], [ca], purpose="client")) == 2
    with pytest.raises(tssl.SSLCertVerificationError) as info:
        x509.verify_chain(leaf, [], [ca])  # purpose="server" is the default
    assert info.value.verify_code == 26
    assert x509.verify_chain(leaf, [], [ca], purpose=std.Purpose.CLIENT_AUTH)
    with pytest.raises(tssl.SSLCertVerificationError):
        x509.verify_chain(leaf, [], [ca], purpose=tssl.Purpose.SERVER_AUTH)


def test_the_exception_is_the_one_tls_ssl_and_the_stdlib_catch(certs):
    with pytest.raises(tssl.SSLCertVerificationError) as info:
        x509.verify_chain(_read(certs.unknown_server), [], [_read(certs.ca)])
    exc = info.value
    assert type(exc) is tssl.SSLCertVerificationError
    bases = (tssl.SSLError, tssl.CertificateError, std.SSLCertVerificationError, std.SSLError, ValueError)
    assert all(isinstance(exc, base) for base in bases)
    assert exc.args == (1, str(exc))
    assert str(exc) == (
        "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: "
        "unable to get local issuer certificate (_ssl.c:0)"
    )


# ----------------------------------------------------------------------------- inputs and outputs
def test_accepts_pem_der_bundles_and_buffers(certs):
    leaf_pem, inter_pem = _pem_blocks(certs.chained_full)
    ca_pem = _read(certs.ca)
    expected = [std.PEM_cert_to_DER_cert(p) for p in (leaf_pem, inter_pem, ca_pem)]
    leaf_der, inter_der, ca_der = expected
    variants = [
        (leaf_pem, [inter_pem], [ca_pem]),
        (leaf_der, [inter_der], [ca_der]),
        (leaf_pem.encode(), inter_pem.encode(), ca_pem.encode()),  # one PEM bundle as bytes
        (bytearray(leaf_der), [memoryview(inter_der)], (c for c in [ca_der])),  # any iterable
        (leaf_pem, inter_der + ca_der, ca_pem),  # concatenated DER; the anchor also untrusted
        (leaf_pem, "junk before\n" + inter_pem + "\njunk after", "# roots\n" + ca_pem + ca_pem),
        (leaf_der, [], [ca_pem, inter_pem]),  # a trusted intermediate: the chain still ends at the root
    ]
    for i, (leaf, inter, trusted) in enumerate(variants):
        assert x509.verify_chain(leaf, inter, trusted, hostname="localhost") == expected, i


def test_trusted_from_a_context(certs):
    ctx = tssl.create_default_context(cafile=certs.ca)
    chain = x509.verify_chain(_read(certs.server), [], ctx.get_ca_certs(binary_form=True))
    assert chain == [_der(certs.server), _der(certs.ca)]


def test_at_time(certs):
    ca = [_read(certs.ca)]
    server = _read(certs.server)  # valid for a year from now; the CA for ten
    soon = datetime.datetime.now(UTC) + datetime.timedelta(days=30)
    for when in (
        soon,
        soon.astimezone(datetime.timezone(datetime.timedelta(hours=-5))),  # any zone
        int(soon.timestamp()),  # POSIX seconds
        soon.timestamp(),
    ):
        assert len(x509.verify_chain(server, [], ca, at_time=when)) == 2
    for when, code in (
        (datetime.datetime(2035, 1, 1, tzinfo=UTC), 10),  # the leaf has expired
        (datetime.datetime(2040, 1, 1, tzinfo=UTC), 10),  # ... and the CA too
        (0, 9),  # 1970: nothing is valid yet
        (-86400.5, 9),
        (datetime.datetime(1950, 1, 1, tzinfo=UTC), 9),
    ):
        with pytest.raises(tssl.SSLCertVerificationError) as info:
            x509.verify_chain(server, [], ca, at_time=when)
        assert info.value.verify_code == code, when
    if certs.not_yet_valid is not None:  # valid from 2099: not yet, and then after its CA
        for when, code in ((None, 9), (datetime.datetime(2100, 1, 1, tzinfo=UTC), 10)):
            with pytest.raises(tssl.SSLCertVerificationError) as info:
                x509.verify_chain(_read(certs.not_yet_valid), [], ca, at_time=when)
            assert info.value.verify_code == code


def test_crls_as_pem_der_and_bundle(certs):
    ca = [_read(certs.ca)]
    crl_pem = _read(certs.crl)
    body = "".join(line for line in crl_pem.splitlines() if "-----" not in line)
    import base64

    crl_der = base64.b64decode(body)
    for crls in ([crl_pem], [crl_der], crl_pem, crl_pem.encode(), [bytearray(crl_der), crl_pem]):
        with pytest.raises(tssl.SSLCertVerificationError) as info:
            x509.verify_chain(_read(certs.revoked), [], ca, crls=crls)
        assert info.value.verify_code == 23
        assert len(x509.verify_chain(_read(certs.server), [], ca, crls=crls)) == 2
    # the CRL's nextUpdate is 30 days out: later, it no longer vouches for anything
    later = datetime.datetime.now(UTC) + datetime.timedelta(days=90)
    with pytest.raises(tssl.SSLCertVerificationError) as info:
        x509.verify_chain(_read(certs.server), [], ca, crls=[crl_pem], at_time=later)
    assert info.value.verify_code == 12  # CRL has expired


def test_hostname_as_bytes_and_mismatch_message(certs):
    ca = [_read(certs.ca)]
    assert x509.verify_chain(_read(certs.server), [], ca, hostname=b"localhost")
    assert x509.verify_chain(_read(certs.server), [], ca, hostname=bytearray(b"127.0.0.1"))
    with pytest.raises(tssl.SSLCertVerificationError) as info:
        x509.verify_chain(_read(certs.server), [], ca, hostname="::2")
    assert info.value.verify_message == "IP address mismatch, certificate is not valid for '::2'."


# ----------------------------------------------------------------------------- PKITS
# The verify code OpenSSL (3.0 to 3.5) fails each test that must not validate with
# (X509_V_ERR_*: 3 UNABLE_TO_GET_CRL, 7 CERT_SIGNATURE_FAILURE, 8 CRL_SIGNATURE_FAILURE,
# 9 CERT_NOT_YET_VALID, 10 CERT_HAS_EXPIRED, 12 CRL_HAS_EXPIRED, 20 UNABLE_TO_GET_ISSUER_
# CERT_LOCALLY, 23 CERT_REVOKED, 25 PATH_LENGTH_EXCEEDED, 34 UNHANDLED_CRITICAL_EXTENSION,
# 35 KEYUSAGE_NO_CRL_SIGN, 36 UNHANDLED_CRITICAL_CRL_EXTENSION, 42 INVALID_POLICY_EXTENSION,
# 43 NO_EXPLICIT_POLICY, 44 DIFFERENT_CRL_SCOPE, 47 PERMITTED_VIOLATION, 48 EXCLUDED_VIOLATION,
# 54 CRL_PATH_VALIDATION_ERROR, 79 INVALID_CA).  Where the PKITS document expects another
# reason OpenSSL still refuses the path: 4.4.8-4.4.10 (revoked, says PKITS) fail on the
# unknown critical CRL extension, 4.4.21 on the revoked CRL signer's own path.
OPENSSL_CODES = {
    "4.1.2": 7, "4.1.3": 7, "4.1.6": 7,
    "4.2.1": 9, "4.2.2": 9, "4.2.5": 10, "4.2.6": 10, "4.2.7": 10,
    "4.3.1": 20, "4.3.2": 20,
    "4.4.1": 3, "4.4.2": 23, "4.4.3": 23, "4.4.4": 8, "4.4.5": 3, "4.4.6": 3, "4.4.8": 36,
    "4.4.9": 36, "4.4.10": 36, "4.4.11": 12, "4.4.12": 12, "4.4.15": 23, "4.4.18": 23,
    "4.4.20": 23, "4.4.21": 54,
    "4.5.2": 23, "4.5.5": 23, "4.5.7": 23, "4.5.8": 79,
    "4.6.1": 79, "4.6.2": 79, "4.6.3": 79, "4.6.5": 25, "4.6.6": 25, "4.6.9": 25, "4.6.10": 25,
    "4.6.11": 25, "4.6.12": 25, "4.6.16": 25,
    "4.7.1": 79, "4.7.2": 79, "4.7.4": 35, "4.7.5": 35,
    "4.10.7": 42, "4.10.8": 42,
    "4.13.2": 47, "4.13.3": 47, "4.13.7": 48, "4.13.8": 48, "4.13.9": 48, "4.13.10": 48,
    "4.13.12": 47, "4.13.13": 47, "4.13.15": 48, "4.13.16": 48, "4.13.17": 48, "4.13.20": 47,
    "4.13.22": 47, "4.13.24": 47, "4.13.26": 48, "4.13.28": 47, "4.13.29": 47, "4.13.31": 47,
    "4.13.33": 48, "4.13.35": 47, "4.13.37": 48, "4.13.38": 47,
    "4.14.2": 23, "4.14.3": 44, "4.14.6": 23, "4.14.8": 44, "4.14.9": 44, "4.14.11": 44,
    "4.14.12": 44, "4.14.14": 44, "4.14.15": 23, "4.14.16": 23, "4.14.17": 3, "4.14.20": 23,
    "4.14.21": 23, "4.14.23": 23, "4.14.26": 44, "4.14.27": 3, "4.14.31": 23, "4.14.32": 23,
    "4.14.34": 23, "4.14.35": 44,
    "4.15.1": 3, "4.15.3": 23, "4.15.4": 23, "4.15.6": 23, "4.15.9": 23, "4.15.10": 12,
    "4.16.2": 34,
}  # fmt: skip
NO_EXPLICIT_POLICY = 43  # every other invalid test of 4.8 to 4.12

# Tests the PKITS document expects to validate and OpenSSL refuses (3.0 to 3.5 alike).
OPENSSL_DIVERGES = {
    "4.1.5": "OpenSSL 3 cannot use a DSA public key without domain parameters (RFC 3279 "
    "parameter inheritance): the CA certificate's key does not decode (X509_PUBKEY_get0), "
    "so no issuer is found for the end entity (verify code 20)",
    "4.14.30": "the CRL issuer's certificate is itself covered by the indirect CRL it signs; "
    "OpenSSL refuses that circular CRL path (verify code 54, CRL_PATH_VALIDATION_ERROR), as "
    "its own PKITS runner expects",
}


def _pkits_params():
    params = []
    for test in pkits.TESTS:
        marks = ()
        if test.id in OPENSSL_DIVERGES:
            marks = pytest.mark.xfail(reason=OPENSSL_DIVERGES[test.id], strict=True)
        params.append(pytest.param(test, id=f"{test.id}-{test.name}", marks=marks))
    return params


def _run_pkits(test, **extra):
    leaf, intermediates, trusted, crls = pkits.inputs(test)
    return x509.verify_chain(
        leaf,
        intermediates,
        trusted,
        crls=crls,
        at_time=pkits.AT_TIME,
        policies=test.policies,
        explicit_policy=test.explicit,
        inhibit_any_policy=test.inhibit_any,
        inhibit_policy_mapping=test.inhibit_map,
        **extra,
    )


@pytest.mark.parametrize("test", _pkits_params())
def test_pkits(test):
    if test.valid:
        chain = _run_pkits(test)
        assert chain[0] == pkits.certificate(test.ee)
        assert chain[-1] == pkits.certificate(pkits.TRUST_ANCHOR)
        return
    with pytest.raises(tssl.SSLCertVerificationError) as info:
        _run_pkits(test)
    assert info.value.verify_code == OPENSSL_CODES.get(test.id, NO_EXPLICIT_POLICY), info.value


def test_pkits_table_covers_every_test():
    ids = [t.id for t in pkits.TESTS]
    assert len(ids) == len(set(ids))
    per_section = {}
    for t in pkits.TESTS:
        per_section.setdefault(t.section, set()).add(".".join(t.id.split(".")[:3]))
    # sections 4.1 to 4.16 of the PKITS document, with their numbers of tests
    assert {s: len(n) for s, n in per_section.items()} == {
        "4.1": 6, "4.2": 8, "4.3": 11, "4.4": 21, "4.5": 8, "4.6": 17, "4.7": 5, "4.8": 20,
        "4.9": 8, "4.10": 14, "4.11": 11, "4.12": 10, "4.13": 38, "4.14": 35, "4.15": 10, "4.16": 2,
    }  # fmt: skip
    assert set(pkits.SECTIONS) == set(per_section)
    for t in pkits.TESTS:  # every file the table names exists, and so does the test's message
        assert t.ee.endswith("EE")
        for kind, names, ext in (("certs", (t.ee, *t.cas), ".crt"), ("crls", t.crls, ".crl")):
            for name in names:
                assert os.path.isfile(vectors.path("x509", "PKITS_data", kind, name + ext)), name
        assert os.path.isfile(vectors.path("x509", "PKITS_data", "smime", f"Signed{t.name}.eml"))
    assert set(OPENSSL_CODES) <= set(ids) and set(OPENSSL_DIVERGES) <= set(ids)
    assert not any(t.valid for t in pkits.TESTS if t.id in OPENSSL_CODES)


def test_pkits_without_policy_processing_is_what_a_handshake_checks():
    # A handshake does no RFC 5280 policy processing: the paths that fail only on
    # policy (4.8.4: no policy common to the path, with requireExplicitPolicy) pass.
    test = next(t for t in pkits.TESTS if t.id == "4.8.4")
    leaf, intermediates, trusted, crls = pkits.inputs(test)
    chain = x509.verify_chain(leaf, intermediates, trusted, crls=crls, at_time=pkits.AT_TIME)
    assert len(chain) == len(test.cas) + 2
    with pytest.raises(tssl.SSLCertVerificationError) as info:
        x509.verify_chain(
            leaf, intermediates, trusted, crls=crls, at_time=pkits.AT_TIME, policies=["anyPolicy"]
        )
    assert info.value.verify_code == NO_EXPLICIT_POLICY


def test_pkits_strict_rejects_a_non_critical_basic_constraints():
    # VERIFY_X509_STRICT is stricter than RFC 5280 path validation: 4.6.4's CA marks
    # basicConstraints non-critical, which PKITS accepts and strict mode does not.
    test = next(t for t in pkits.TESTS if t.id == "4.6.4")
    assert len(_run_pkits(test)) == 3
    with pytest.raises(tssl.SSLCertVerificationError) as info:
        _run_pkits(test, verify_flags=tssl.VERIFY_X509_TRUSTED_FIRST | tssl.VERIFY_X509_STRICT)
    assert info.value.verify_code == 89  # X509_V_ERR_CA_BCONS_NOT_CRITICAL


def test_pkits_crl_leaf_only():
    # 4.4.2: the intermediate CA is revoked; checking the leaf's CRL alone misses it
    test = next(t for t in pkits.TESTS if t.id == "4.4.2")
    with pytest.raises(tssl.SSLCertVerificationError):
        _run_pkits(test)
    assert len(_run_pkits(test, verify_flags=tssl.VERIFY_CRL_CHECK_LEAF)) == 4


# ----------------------------------------------------------------------------- bad input
@pytest.fixture(scope="module")
def good(certs):
    return _read(certs.server), _read(certs.ca)


@pytest.mark.parametrize("leaf", [None, 42, 1.5, ["x"], object()])
def test_leaf_of_a_wrong_type(good, leaf):
    with pytest.raises(TypeError):
        x509.verify_chain(leaf, [], [good[1]])


@pytest.mark.parametrize(
    "leaf",
    [
        b"",
        "",
        b"\x30\x03\x02\x01\x01",  # DER, but no certificate
        b"garbage that is not DER",
        "plain text, no PEM",
        "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n",
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",  # base64, not DER
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",  # no certificate
        "-----BEGIN CERTIFICATE-----\nMIIB",  # truncated
        "-----BEGIN CERTIFICATE----- ünïcode",
    ],
)
def test_leaf_that_is_no_certificate(good, leaf):
    with pytest.raises(ValueError):
        x509.verify_chain(leaf, [], [good[1]])


def test_garbage_raises_openssl_error_with_the_queue(good):
    with pytest.raises(OpenSSLError) as info:
        x509.verify_chain(b"\x30\x82\x01\x00garbage", [], [good[1]])
    assert info.value.errors and info.value.library


def test_leaf_must_be_one_certificate(good):
    with pytest.raises(ValueError, match="exactly one"):
        x509.verify_chain(good[0] + good[1], [], [good[1]])


def test_der_with_trailing_garbage(good):
    der = std.PEM_cert_to_DER_cert(good[0])
    with pytest.raises(ValueError):
        x509.verify_chain(der + b"\x00\x01", [], [good[1]])


@pytest.mark.parametrize("trusted", [[], (), None, iter([])])
def test_empty_trusted(good, trusted):
    with pytest.raises(ValueError, match="trusted"):
        x509.verify_chain(good[0], [], trusted)


@pytest.mark.parametrize("bad", [42, [42], [None], [["nested"]], [b"junk"], ["junk"]])
def test_bad_intermediates_trusted_and_crls(good, bad):
    exc = TypeError if bad == 42 or bad in ([42], [None], [["nested"]]) else ValueError
    with pytest.raises(exc):
        x509.verify_chain(good[0], bad, [good[1]])
    with pytest.raises(exc):
        x509.verify_chain(good[0], [], bad)
    with pytest.raises(exc):
        x509.verify_chain(good[0], [], [good[1]], crls=bad)


def test_crls_that_are_certificates(good):
    with pytest.raises(ValueError, match="CRL"):
        x509.verify_chain(good[0], [], [good[1]], crls=[good[1]])


@pytest.mark.parametrize(
    "purpose,exc",
    [("bogus", ValueError), ("Server", ValueError), ("", ValueError), (1, TypeError), (None, TypeError)],
)
def test_bad_purpose(good, purpose, exc):
    with pytest.raises(exc):
        x509.verify_chain(good[0], [], [good[1]], purpose=purpose)


@pytest.mark.parametrize(
    "at_time,exc",
    [
        (datetime.datetime(2030, 1, 1), ValueError),  # naive: which zone?
        (datetime.date(2030, 1, 1), TypeError),
        ("2030-01-01", TypeError),
        (True, TypeError),
        (float("nan"), ValueError),
        (float("inf"), ValueError),
        (10**30, ValueError),
        (-(10**30), ValueError),
    ],
)
def test_bad_at_time(good, at_time, exc):
    with pytest.raises(exc):
        x509.verify_chain(good[0], [], [good[1]], at_time=at_time)


@pytest.mark.parametrize(
    "hostname,exc",
    [(42, TypeError), (["localhost"], TypeError), ("", ValueError), (".localhost", ValueError),
     ("local\0host", ValueError), (b"\xff", ValueError)],
)  # fmt: skip
def test_bad_hostname(good, hostname, exc):
    with pytest.raises(exc):
        x509.verify_chain(good[0], [], [good[1]], hostname=hostname)


@pytest.mark.parametrize(
    "flags,exc",
    [("1", TypeError), (1.0, TypeError), (True, TypeError), (-1, ValueError), (2**64, ValueError)],
)
def test_bad_verify_flags(good, flags, exc):
    with pytest.raises(exc):
        x509.verify_chain(good[0], [], [good[1]], verify_flags=flags)


@pytest.mark.parametrize(
    "kw,exc",
    [
        ({"policies": "2.5.29.32.0"}, TypeError),  # one string, not a set of them
        ({"policies": [1]}, TypeError),
        ({"policies": 5}, TypeError),
        ({"policies": []}, ValueError),
        ({"policies": ["not an oid"]}, ValueError),
        ({"policies": ["1.2.3\0"]}, ValueError),
        ({"policies": ["1.2.ü"]}, ValueError),
        ({"explicit_policy": 1}, TypeError),
        ({"inhibit_any_policy": "yes"}, TypeError),
        ({"inhibit_policy_mapping": None}, TypeError),
    ],
)
def test_bad_policy_options(good, kw, exc):
    with pytest.raises(exc):
        x509.verify_chain(good[0], [], [good[1]], **kw)


def test_keyword_only(good):
    with pytest.raises(TypeError):
        x509.verify_chain(good[0], [], [good[1]], "localhost")
    with pytest.raises(TypeError):
        x509.verify_chain(good[0])


def test_policy_options_on_a_chain_without_policies(good):
    # the fixture's certificates assert no policy: any policy processing that requires
    # one refuses them, and an initial set alone does not
    assert x509.verify_chain(good[0], [], [good[1]], policies=["anyPolicy"])
    assert x509.verify_chain(good[0], [], [good[1]], inhibit_any_policy=True)
    with pytest.raises(tssl.SSLCertVerificationError) as info:
        x509.verify_chain(good[0], [], [good[1]], explicit_policy=True)
    assert info.value.verify_code == NO_EXPLICIT_POLICY
