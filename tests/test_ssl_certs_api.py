"""Certificate-returning APIs compared with the stdlib ``ssl`` for the same
certificates: ``get_server_certificate`` against ``openssl s_server`` on loopback
(ephemeral ports, every process stopped), ``getpeercert`` through handshakes and
``get_ca_certs`` for certificates with every SAN kind, AIA, CRL distribution
points and non-ASCII (UTF8String) subject fields."""

import contextlib
import inspect
import os
import socket
import ssl as std
import subprocess
import sys
import threading

import pytest
from ssl_certs import Pair, ipv6_loopback, make_odd_certs, openssl_s_server, stdlib_rejects_der_cadata

import tls.ssl as tssl

# the stdlib's get_server_certificate took ``timeout`` in 3.10 (PyPy 3.9's has none)
STD_HAS_TIMEOUT = "timeout" in inspect.signature(std.get_server_certificate).parameters
# CPython 3.11's behaviour is the spec; PyPy 3.9's stdlib ssl differs in places
# (it reports a peer's early close during the handshake as SSLZeroReturnError)
STD_IS_SPEC = sys.implementation.name == "cpython" and sys.version_info >= (3, 11)


@pytest.fixture(scope="module")
def odd(tmp_path_factory):
    return make_odd_certs(tmp_path_factory.mktemp("odd_certs"))


ODD = [
    "big_serial",
    "negative_serial",
    "zero_serial",
    "empty_subject",
    "edge_names",
    "generalized_time",
    "crl_points",
    "v1",
]


# PyPy 3.9's stdlib decodes an empty subject as None (CPython: an empty tuple)
PYPY_STD_DEVIATIONS = {"empty_subject"}


def _forget_stdlib_errors():
    from tls._binding import clear_errors

    clear_errors()  # PyPy's stdlib ssl leaves its failures on the shared OpenSSL error queue


def s_server(cert, key, *extra, host="127.0.0.1"):
    """An ``openssl s_server -www`` on an ephemeral loopback port (a context manager)."""
    return openssl_s_server(cert, key, "-www", *extra, host=host)


@pytest.fixture(scope="module")
def servers(certs):
    """name -> port of one s_server per certificate kind, for the whole module."""
    with contextlib.ExitStack() as stack:
        yield {
            "rsa": stack.enter_context(s_server(certs.server, certs.server_key)),
            "ec": stack.enter_context(s_server(certs.server_ec, certs.server_ec_key)),
            "rich": stack.enter_context(s_server(certs.rich, certs.rich_key)),
            "many_names": stack.enter_context(s_server(certs.many_names, certs.many_names_key)),
            "chain": stack.enter_context(
                s_server(certs.chained, certs.chained_key, "-cert_chain", certs.intermediate)
            ),
        }


def _der(path):
    with open(path) as f:
        return std.PEM_cert_to_DER_cert(f.read())


def _std_get(addr, **kw):
    if not STD_HAS_TIMEOUT:
        kw.pop("timeout", None)
    try:
        return std.get_server_certificate(addr, **kw)
    finally:
        _forget_stdlib_errors()


# ----------------------------------------------------------------------------- get_server_certificate
def test_get_server_certificate_signature_is_cpythons():
    params = list(inspect.signature(tssl.get_server_certificate).parameters.values())
    assert [p.name for p in params] == ["addr", "ssl_version", "ca_certs", "timeout"]
    assert all(p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD for p in params)
    assert params[1].default == tssl.PROTOCOL_TLS_CLIENT == std.PROTOCOL_TLS_CLIENT
    assert params[2].default is None
    assert params[3].default is socket._GLOBAL_DEFAULT_TIMEOUT
    if STD_HAS_TIMEOUT:
        theirs = inspect.signature(std.get_server_certificate).parameters
        assert list(theirs) == [p.name for p in params]
        assert theirs["timeout"].default is params[3].default


@pytest.mark.parametrize(
    "kind,cert", [("rsa", "server"), ("ec", "server_ec"), ("rich", "rich"), ("chain", "chained")]
)
def test_get_server_certificate_equals_stdlib(certs, servers, kind, cert):
    addr = ("127.0.0.1", servers[kind])
    ours = tssl.get_server_certificate(addr)
    assert isinstance(ours, str)
    assert ours == _std_get(addr)
    assert ours.startswith(tssl.PEM_HEADER + "\n") and ours.endswith(tssl.PEM_FOOTER + "\n")
    assert tssl.PEM_cert_to_DER_cert(ours) == _der(getattr(certs, cert))  # the leaf, not the chain
    # every keyword, the way callers spell them
    assert (
        tssl.get_server_certificate(addr, ssl_version=tssl.PROTOCOL_TLS_CLIENT, ca_certs=None, timeout=10)
        == ours
    )


@pytest.mark.parametrize("kind", ["rsa", "chain", "many_names"])
def test_get_server_certificate_verifies_with_ca_certs_but_not_the_name(certs, servers, kind):
    # many_names names neither 127.0.0.1 nor localhost: like CPython, only the chain is checked
    addr = ("127.0.0.1", servers[kind])
    ours = tssl.get_server_certificate(addr, ca_certs=certs.ca)
    assert ours == _std_get(addr, ca_certs=certs.ca)
    assert ours == tssl.get_server_certificate(addr)


def test_get_server_certificate_untrusted_with_ca_certs(certs, servers):
    addr = ("127.0.0.1", servers["rsa"])
    with pytest.raises(tssl.SSLCertVerificationError) as ours:
        tssl.get_server_certificate(addr, ca_certs=certs.other_ca)
    with pytest.raises(std.SSLCertVerificationError) as theirs:
        _std_get(addr, ca_certs=certs.other_ca)
    assert ours.value.verify_code == theirs.value.verify_code == 20
    assert ours.value.verify_message == theirs.value.verify_message
    assert isinstance(ours.value, std.SSLCertVerificationError)
    # a missing CA file: the stdlib's FileNotFoundError
    missing = os.path.join(certs.dir, "no-such-ca.pem")
    with pytest.raises(FileNotFoundError):
        tssl.get_server_certificate(addr, ca_certs=missing)
    with pytest.raises(FileNotFoundError):
        _std_get(addr, ca_certs=missing)


def test_get_server_certificate_sends_sni_like_stdlib(certs):
    # the server answers SNI "localhost" with its EC certificate, anything else with RSA
    extra = ("-servername", "localhost", "-cert2", certs.server_ec, "-key2", certs.server_ec_key)
    with s_server(certs.server, certs.server_key, *extra) as port:
        by_name = tssl.get_server_certificate(("localhost", port))
        by_address = tssl.get_server_certificate(("127.0.0.1", port))  # no SNI for an IP address
        if STD_IS_SPEC:  # CPython sends SNI here since 3.10 (PyPy 3.9's stdlib does not)
            assert by_name == _std_get(("localhost", port))
        assert by_address == _std_get(("127.0.0.1", port))
    assert tssl.PEM_cert_to_DER_cert(by_name) == _der(certs.server_ec)
    assert tssl.PEM_cert_to_DER_cert(by_address) == _der(certs.server)


@pytest.mark.parametrize("version", ["-tls1_2", "-tls1_3"])
def test_get_server_certificate_from_a_server_wanting_a_client_certificate(certs, version):
    """TLS 1.3: the client's handshake ends before the server judges it (the certificate
    comes back); TLS 1.2: the server's alert arrives first (SSLError) -- as in the stdlib."""
    with s_server(certs.server, certs.server_key, "-Verify", "1", "-CAfile", certs.ca, version) as port:
        addr = ("127.0.0.1", port)
        if version == "-tls1_3":
            assert tssl.get_server_certificate(addr) == _std_get(addr)
            assert tssl.PEM_cert_to_DER_cert(tssl.get_server_certificate(addr)) == _der(certs.server)
        else:
            with pytest.raises(tssl.SSLError) as ours:
                tssl.get_server_certificate(addr)
            with pytest.raises(std.SSLError) as theirs:
                _std_get(addr)
            assert ours.value.reason == theirs.value.reason == "SSLV3_ALERT_HANDSHAKE_FAILURE"
            assert str(ours.value).rsplit(" (", 1)[0] == str(theirs.value).rsplit(" (", 1)[0]


@pytest.mark.skipif(not ipv6_loopback(), reason="no IPv6 loopback here")
def test_get_server_certificate_ipv6(certs):
    with s_server(certs.server, certs.server_key, host="::1") as port:
        ours = tssl.get_server_certificate(("::1", port), ca_certs=certs.ca)
        assert ours == _std_get(("::1", port), ca_certs=certs.ca)
    assert tssl.PEM_cert_to_DER_cert(ours) == _der(certs.server)


@contextlib.contextmanager
def fake_server(behaviour):
    """A plain TCP listener on 127.0.0.1 misbehaving as told; yields its address."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(10)
                if behaviour == "close_after_hello":
                    conn.recv(65536)
                elif behaviour == "garbage":
                    conn.recv(65536)
                    conn.sendall(b"HTTP/1.0 400 Bad Request\r\n\r\n")
                elif behaviour == "reset":
                    conn.recv(65536)
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                elif behaviour == "silent":
                    stop.wait(10)

    thread = None
    if behaviour != "never_accept":
        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
    try:
        yield listener.getsockname()
    finally:
        stop.set()
        with contextlib.suppress(OSError):
            listener.shutdown(socket.SHUT_RDWR)
        listener.close()
        if thread is not None:
            thread.join(10)
            assert not thread.is_alive()


@pytest.mark.parametrize("behaviour", ["silent", "never_accept"])
def test_get_server_certificate_timeout(behaviour):
    with fake_server(behaviour) as addr:
        with pytest.raises(socket.timeout) as ours:
            tssl.get_server_certificate(addr, timeout=0.2)
        assert str(ours.value) == "_ssl.c:0: The handshake operation timed out"
        assert ours.value.__cause__ is None and ours.value.__context__ is None
        if sys.version_info >= (3, 10):
            assert isinstance(ours.value, TimeoutError)
        if STD_HAS_TIMEOUT:
            with pytest.raises(socket.timeout) as theirs:
                _std_get(addr, timeout=0.2)
            assert type(ours.value) is type(theirs.value)
            assert str(ours.value).split(": ", 1)[1] == str(theirs.value).split(": ", 1)[1]


@pytest.mark.parametrize(
    "behaviour,exc_type,errno",
    [
        ("close_after_hello", tssl.SSLEOFError, tssl.SSL_ERROR_EOF),
        ("garbage", tssl.SSLError, 1),
        ("reset", ConnectionResetError, None),
    ],
)
def test_get_server_certificate_peer_misbehaves(behaviour, exc_type, errno):
    with fake_server(behaviour) as addr:
        with pytest.raises(OSError) as ours:
            tssl.get_server_certificate(addr, timeout=10)
        with pytest.raises(OSError) as theirs:
            _std_get(addr, timeout=10)
    assert type(ours.value) is exc_type
    if errno is not None:
        assert ours.value.errno == errno
        assert str(ours.value).startswith("[SSL: ")
    if not STD_IS_SPEC:
        return
    assert isinstance(ours.value, type(theirs.value))
    if errno is not None:
        assert ours.value.errno == theirs.value.errno == errno
        assert (ours.value.library, ours.value.reason) == (theirs.value.library, theirs.value.reason)
        assert str(ours.value).rsplit(" (", 1)[0] == str(theirs.value).rsplit(" (", 1)[0]
    else:
        assert ours.value.errno == theirs.value.errno


def test_get_server_certificate_bad_address():
    port = None
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    for get in (tssl.get_server_certificate, _std_get):
        with pytest.raises(ConnectionRefusedError):
            get(("127.0.0.1", port))
    for addr, exc in [(("127.0.0.1",), ValueError), (("127.0.0.1", port, 0, 0), ValueError), (42, TypeError)]:
        with pytest.raises(exc):
            tssl.get_server_certificate(addr)
        with pytest.raises(exc):
            _std_get(addr)


# ----------------------------------------------------------------------------- getpeercert / get_ca_certs
def _client(mod, certs, check_hostname=True):
    ctx = mod.SSLContext(mod.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = check_hostname
    ctx.load_verify_locations(certs.ca)
    return ctx


def _server(mod, cert, key):
    ctx = mod.SSLContext(mod.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    return ctx


@pytest.mark.parametrize("which", ["rich", "many_names", "chained_full"])
@pytest.mark.parametrize("version", ["TLSv1_2", "TLSv1_3"])
def test_getpeercert_equals_stdlib_for_rich_certificates(certs, which, version):
    key = {"rich": certs.rich_key, "many_names": certs.many_names_key, "chained_full": certs.chained_key}[
        which
    ]
    results = []
    for mod in (tssl, std):
        cctx = _client(mod, certs, check_hostname=which != "many_names")
        cctx.maximum_version = getattr(mod.TLSVersion, version)
        pair = Pair(cctx, _server(std, getattr(certs, which), key))
        pair.handshake()
        results.append((pair.client.getpeercert(), pair.client.getpeercert(binary_form=True)))
    (ours, ours_der), (theirs, theirs_der) = results
    assert ours == theirs
    assert list(ours) == list(theirs)  # same key order
    assert ours_der == theirs_der
    if which == "rich":
        kinds = [kind for kind, _ in ours["subjectAltName"]]
        assert {"DNS", "IP Address", "email", "URI", "DirName"} <= set(kinds)
        assert ("IP Address", "2001:DB8:0:1:0:0:0:FF") in ours["subjectAltName"]
        assert ours["OCSP"] == ("http://ocsp.example.com/", "http://ocsp2.example.com/")
        assert ours["caIssuers"] == ("http://ca.example.com/ca.der",)
        assert ours["crlDistributionPoints"] == (
            "http://crl.example.com/rich.crl",
            "ldap://crl.example.com/cn=rich",
        )
        assert (("organizationalUnitName", "日本語"),) in ours["subject"]
        assert (("localityName", "Genève"),) in ours["subject"]


def test_getpeercert_of_a_rich_client_certificate_equals_stdlib(certs):
    results = []
    for mod in (tssl, std):
        sctx = _server(mod, certs.server, certs.server_key)
        sctx.verify_mode = mod.CERT_REQUIRED
        sctx.load_verify_locations(certs.ca)
        cctx = _client(std, certs)
        cctx.load_cert_chain(certs.rich, certs.rich_key)
        pair = Pair(cctx, sctx)
        pair.handshake()
        results.append((pair.server.getpeercert(), pair.server.getpeercert(True)))
    assert results[0] == results[1]
    assert list(results[0][0]) == list(results[1][0])
    assert results[0][0]["OCSP"]


def _pem(path):
    with open(path) as f:
        return f.read()


@pytest.mark.parametrize("form", ["cafile", "pem_cadata", "der_cadata"])
def test_get_ca_certs_equals_stdlib_for_rich_certificates(certs, form):
    # leaves (server, rich, many_names) are in the store but are not CAs: left out, as by CPython
    paths = [
        certs.ca,
        certs.rich_ca,
        certs.intermediate,
        certs.server,
        certs.rich,
        certs.other_ca,
        certs.many_names,
    ]
    bundle = os.path.join(certs.dir, "ca_api_bundle.pem")
    with open(bundle, "w") as f:
        f.write("".join(_pem(p) for p in paths))
    std_pem_only = form == "der_cadata" and stdlib_rejects_der_cadata(certs.ca)
    results = []
    for mod in (tssl, std):
        ctx = mod.SSLContext(mod.PROTOCOL_TLS_CLIENT)
        if form == "cafile":
            ctx.load_verify_locations(cafile=bundle)
        elif form == "pem_cadata" or (mod is std and std_pem_only):
            ctx.load_verify_locations(cadata="".join(_pem(p) for p in paths))
        else:
            ctx.load_verify_locations(cadata=b"".join(_der(p) for p in paths))
        results.append((ctx.get_ca_certs(), ctx.get_ca_certs(binary_form=True), ctx.cert_store_stats()))
    (ours, ours_der, ours_stats), (theirs, theirs_der, theirs_stats) = results
    assert ours == theirs  # same dicts in the same (store) order
    assert [list(d) for d in ours] == [list(d) for d in theirs]
    assert ours_der == theirs_der
    assert all(type(d) is bytes for d in ours_der)
    assert ours_stats == theirs_stats == {"x509": 7, "crl": 0, "x509_ca": 4}
    assert sorted(ours_der) == sorted(
        _der(p) for p in (certs.ca, certs.rich_ca, certs.intermediate, certs.other_ca)
    )
    rich = [d for d in ours if d["subject"][-2] == (("commonName", "rich CA"),)]
    assert rich and rich[0]["crlDistributionPoints"] and rich[0]["caIssuers"]


def test_get_ca_certs_capath_fills_after_a_handshake_like_stdlib(certs, tmp_path):
    # a capath directory is only read when verification looks a CA up
    capath = tmp_path / "capath"
    capath.mkdir()
    (capath / "ca.pem").write_text(_pem(certs.ca))
    subprocess.run(["openssl", "rehash", str(capath)], check=True, capture_output=True)
    results = []
    for mod in (tssl, std):
        cctx = mod.SSLContext(mod.PROTOCOL_TLS_CLIENT)
        cctx.load_verify_locations(capath=str(capath))
        before = cctx.get_ca_certs()
        pair = Pair(cctx, _server(std, certs.server, certs.server_key))
        pair.handshake()
        results.append((before, cctx.get_ca_certs(), cctx.get_ca_certs(True), cctx.cert_store_stats()))
    assert results[0] == results[1]
    assert results[0][0] == []
    assert results[0][2] == [_der(certs.ca)]


@pytest.mark.parametrize(
    "kw,exc_type",
    [
        ({"ssl_version": tssl.PROTOCOL_TLS_SERVER}, tssl.SSLError),
        ({"ssl_version": 999}, ValueError),
        ({"ssl_version": "x"}, TypeError),
        ({"ca_certs": 42}, TypeError),
        ({"ca_certs": "server_key"}, tssl.SSLError),  # a file with no certificate in it
        ({"timeout": -1}, ValueError),
        ({"timeout": 0}, BlockingIOError),  # a non-blocking connect
        ({"timeout": "x"}, TypeError),
    ],
    ids=repr,
)
def test_get_server_certificate_bad_arguments_like_stdlib(certs, servers, kw, exc_type):
    if kw.get("ca_certs") == "server_key":
        kw = {"ca_certs": certs.server_key}
    addr = ("127.0.0.1", servers["rsa"])
    with pytest.raises(exc_type) as ours:
        tssl.get_server_certificate(addr, **kw)
    if STD_IS_SPEC:
        with pytest.raises(std.SSLError if exc_type is tssl.SSLError else exc_type) as theirs:
            _std_get(addr, **kw)
        assert str(ours.value).rsplit(" (", 1)[0] == str(theirs.value).rsplit(" (", 1)[0]


def test_get_server_certificate_accepts_what_the_stdlib_does(certs, servers):
    addr = ("127.0.0.1", servers["rsa"])
    expected = _std_get(addr)
    with pytest.warns(DeprecationWarning, match="PROTOCOL_TLS is deprecated"):
        assert tssl.get_server_certificate(addr, tssl.PROTOCOL_TLS) == expected  # still a client
    assert tssl.get_server_certificate(addr, ca_certs=certs.ca.encode()) == expected  # bytes path
    assert tssl.get_server_certificate(addr, timeout=None) == expected  # blocking
    assert tssl.get_server_certificate(["127.0.0.1", servers["rsa"]]) == expected  # any pair


# ----------------------------------------------------------------------------- unusual encodings
@pytest.mark.parametrize("name", ODD)
def test_odd_certificates_decode_like_stdlib(odd, name):
    from tls import _ssl

    ours = _ssl._test_decode_cert(odd[name])
    theirs = std._ssl._test_decode_cert(odd[name])
    if STD_IS_SPEC or name not in PYPY_STD_DEVIATIONS:
        assert ours == theirs
        assert list(ours) == list(theirs)
    if name == "big_serial":
        assert ours["serialNumber"] == "7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF01"
        assert (("1.3.6.1.4.1.55555.1", "unknown oid"),) in ours["subject"]  # no name: the dotted OID
    elif name == "negative_serial":
        assert ours["serialNumber"] == "-05"
    elif name == "empty_subject":
        assert ours["subject"] == () and ours["subjectAltName"] == (("DNS", "x.example"),)
    elif name == "edge_names":
        assert ("IP Address", "0:0:0:0:0:FFFF:102:304") in ours["subjectAltName"]
        assert ours["OCSP"] == ("http://o.example/",)  # only URI access locations
    elif name == "generalized_time":
        assert ours["notAfter"].endswith(" 2136 GMT")
        assert tssl.cert_time_to_seconds(ours["notAfter"]) == std.cert_time_to_seconds(ours["notAfter"])
    elif name == "crl_points":
        assert ours["crlDistributionPoints"] == ("http://x.example/1.crl", "ldap://x.example/2")
    elif name == "v1":
        assert ours["version"] == 1
        assert (("commonName", "c"), ("organizationName", "a"), ("organizationalUnitName", "b")) in ours[
            "subject"
        ]


@pytest.mark.parametrize("name", ODD)
def test_odd_certificates_through_a_handshake_like_stdlib(odd, name):
    """The certificate as the server's, trusted as itself (no name check): getpeercert,
    both forms, or the same verification failure."""
    results = []
    for mod in (tssl, std):
        cctx = mod.SSLContext(mod.PROTOCOL_TLS_CLIENT)
        cctx.check_hostname = False
        cctx.load_verify_locations(odd[name])
        pair = Pair(cctx, _server(std, odd[name], odd["key"]))
        try:
            pair.handshake()
            results.append((pair.client.getpeercert(), pair.client.getpeercert(True)))
        except std.SSLError as exc:
            results.append((type(exc).__name__, exc.verify_code, exc.verify_message))
        _forget_stdlib_errors()
        results.append(cctx.get_ca_certs())
    if STD_IS_SPEC or name not in PYPY_STD_DEVIATIONS:
        assert results[:2] == results[2:]
    # every one of them is a valid self-signed certificate: accepted, decoded, listed as a CA
    assert isinstance(results[0][0], dict)
    assert results[0][1] == _der(odd[name])
    assert results[1] == [results[0][0]]  # v1 self-signed certificates count as CAs too


# ----------------------------------------------------------------------------- cadata edge cases
def _cadata_cases(certs):
    ca, rich_ca, crl = _pem(certs.ca), _pem(certs.rich_ca), _pem(certs.crl)
    der = _der(certs.ca)
    return {
        # name: (cadata, CPython 3.11's outcome: cert_store_stats x509 count or an exception type)
        "empty_str": ("", ValueError),  # "Empty certificate data" (CPython 3.10+)
        "empty_bytes": (b"", ValueError),
        "empty_bytearray": (bytearray(), ValueError),
        "empty_memoryview": (memoryview(b""), ValueError),
        "pem_then_crl": (ca + crl, 1),  # PEM blocks other than certificates are skipped
        "crl_between_certs": (ca + crl + rich_ca, 2),
        "crl_only": (crl, tssl.SSLError),
        "text_around": ("hello\n" + ca + "trailing junk\n", 1),
        "crlf": (ca.replace("\n", "\r\n"), 1),
        "pem_truncated": (ca[:-40], tssl.SSLError),
        "pem_as_bytes": (ca.encode(), tssl.SSLError),  # bytes are DER
        "der_twice": (der + der, 1),
        "der_truncated": (der[:-5], tssl.SSLError),
        "der_then_junk": (der + b"junk", tssl.SSLError),
        "der_then_pem": (der + ca.encode(), tssl.SSLError),
        "non_ascii_str": ("é" + ca, TypeError),
    }


@pytest.mark.parametrize(
    "case",
    [
        "empty_str",
        "empty_bytes",
        "empty_bytearray",
        "empty_memoryview",
        "pem_then_crl",
        "crl_between_certs",
        "crl_only",
        "text_around",
        "crlf",
        "pem_truncated",
        "pem_as_bytes",
        "der_twice",
        "der_truncated",
        "der_then_junk",
        "der_then_pem",
        "non_ascii_str",
    ],
)
def test_cadata_edge_cases_like_stdlib(certs, case):
    cadata, expected = _cadata_cases(certs)[case]
    # the stdlib's copy of valid DER as PEM where the stdlib cannot load DER here
    std_cadata = cadata
    if case == "der_twice" and stdlib_rejects_der_cadata(certs.ca):
        std_cadata = _pem(certs.ca) * 2
    outcomes = []
    for mod in (tssl, std):
        ctx = mod.SSLContext(mod.PROTOCOL_TLS_CLIENT)
        try:
            ctx.load_verify_locations(cadata=std_cadata if mod is std else cadata)
            outcomes.append(("ok", ctx.cert_store_stats(), ctx.get_ca_certs(True)))
        except Exception as exc:  # noqa: BLE001 - the outcome is what is compared
            outcomes.append((type(exc), str(exc).rsplit(" (", 1)[0]))
        _forget_stdlib_errors()
    ours, theirs = outcomes
    if isinstance(expected, int):
        assert ours[0] == "ok" and ours[1]["x509"] == expected and ours[1]["crl"] == 0
    else:
        assert issubclass(ours[0], expected)
        if expected is ValueError:
            assert ours[1] == "Empty certificate data"
    if STD_IS_SPEC:
        assert ours[1:] == theirs[1:]
        assert ours[0] == theirs[0] or issubclass(ours[0], theirs[0])


# ----------------------------------------------------------------------------- odd files
def _file_cases(certs, tmp):
    def write(name, *parts, mode="w"):
        path = os.path.join(tmp, name)
        with open(path, mode) as f:
            for part in parts:
                f.write(part)
        return path

    server, key = _pem(certs.server), _pem(certs.server_key)
    der_key = subprocess.run(
        ["openssl", "pkey", "-in", certs.server_key, "-outform", "DER"], check=True, capture_output=True
    ).stdout
    empty = write("empty.pem")
    # name: (call on a context, CPython 3.11's outcome: "ok", an OSError subclass or SSLError)
    return {
        "certfile_is_a_directory": (lambda c: c.load_cert_chain(tmp, certs.server_key), IsADirectoryError),
        "keyfile_is_a_directory": (lambda c: c.load_cert_chain(certs.server, tmp), IsADirectoryError),
        "cafile_is_a_directory": (lambda c: c.load_verify_locations(cafile=tmp), IsADirectoryError),
        "capath_is_a_file": (lambda c: c.load_verify_locations(capath=certs.ca), "ok"),  # read lazily
        "cafile_missing": (
            lambda c: c.load_verify_locations(cafile=os.path.join(tmp, "nope")),
            FileNotFoundError,
        ),
        "certfile_missing": (lambda c: c.load_cert_chain(os.path.join(tmp, "nope")), FileNotFoundError),
        "certfile_empty": (lambda c: c.load_cert_chain(empty, certs.server_key), tssl.SSLError),
        "keyfile_empty": (lambda c: c.load_cert_chain(certs.server, empty), tssl.SSLError),
        "cafile_empty": (lambda c: c.load_verify_locations(cafile=empty), tssl.SSLError),
        "der_key": (
            lambda c: c.load_cert_chain(certs.server, write("k.der", der_key, mode="wb")),
            tssl.SSLError,
        ),
        "der_cert": (
            lambda c: c.load_cert_chain(write("c.der", _der(certs.server), mode="wb"), certs.server_key),
            tssl.SSLError,
        ),
        "key_then_cert_in_one_file": (lambda c: c.load_cert_chain(write("kc.pem", key, server)), "ok"),
        "cert_then_key_in_one_file": (lambda c: c.load_cert_chain(write("ck.pem", server, key)), "ok"),
        "crl_before_the_certificate": (
            lambda c: c.load_cert_chain(write("crl_c.pem", _pem(certs.crl), server), certs.server_key),
            "ok",
        ),
        "chain_with_the_intermediates_key": (
            lambda c: c.load_cert_chain(certs.chained_full, certs.intermediate_key),
            tssl.SSLError,
        ),
    }


FILE_CASES = [
    "certfile_is_a_directory",
    "keyfile_is_a_directory",
    "cafile_is_a_directory",
    "capath_is_a_file",
    "cafile_missing",
    "certfile_missing",
    "certfile_empty",
    "keyfile_empty",
    "cafile_empty",
    "der_key",
    "der_cert",
    "key_then_cert_in_one_file",
    "cert_then_key_in_one_file",
    "crl_before_the_certificate",
    "chain_with_the_intermediates_key",
]


@pytest.mark.parametrize("case", FILE_CASES)
def test_file_loading_failures_like_stdlib(certs, tmp_path, case):
    call, expected = _file_cases(certs, str(tmp_path))[case]
    outcomes = []
    for mod in (tssl, std):
        ctx = mod.SSLContext(mod.PROTOCOL_TLS_SERVER)
        try:
            call(ctx)
            outcomes.append(("ok",))
        except Exception as exc:  # noqa: BLE001 - the outcome is what is compared
            outcomes.append((type(exc), getattr(exc, "errno", None), str(exc).rsplit(" (", 1)[0]))
        _forget_stdlib_errors()
    ours, theirs = outcomes
    if expected == "ok":
        assert ours == ("ok",)
    else:
        assert ours[0] is expected if expected is not tssl.SSLError else issubclass(ours[0], tssl.SSLError)
    if STD_IS_SPEC:
        assert ours[1:] == theirs[1:]
        assert ours[0] == theirs[0] or issubclass(ours[0], theirs[0])


def _stdlib_server_once(certs, version):
    """A stdlib TLS server for one connection in a thread; yields (address, outcome list)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    ctx = std.SSLContext(std.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(certs.server, certs.server_key)
    ctx.maximum_version = getattr(std.TLSVersion, version)
    outcome = []

    def serve():
        conn, _ = listener.accept()
        conn.settimeout(10)
        try:
            with ctx.wrap_socket(conn, server_side=True):
                outcome.append("ok")
        except (std.SSLError, OSError) as exc:
            outcome.append(getattr(exc, "reason", None) or type(exc).__name__)
        finally:
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return listener, thread, outcome


@pytest.mark.parametrize("version", ["TLSv1_2", "TLSv1_3"])
def test_get_server_certificate_failure_sends_the_alert_like_stdlib(certs, version):
    """The server learns why: the client's "unknown CA" alert, not a bare EOF."""
    seen = []
    for get in (tssl.get_server_certificate, _std_get):
        listener, thread, outcome = _stdlib_server_once(certs, version)
        try:
            with pytest.raises(std.SSLCertVerificationError):
                get(listener.getsockname(), ca_certs=certs.other_ca)
            thread.join(10)
            assert not thread.is_alive()
        finally:
            listener.close()
        _forget_stdlib_errors()
        seen.append(outcome)
    assert seen[0] == seen[1] == ["TLSV1_ALERT_UNKNOWN_CA"]
