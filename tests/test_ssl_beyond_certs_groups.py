"""Issue 7, items 1 and 2: certificates, keys and CAs from memory; TLS 1.3 cipher suites
and key-exchange groups.

- ``load_cert_chain(certdata=, keydata=)``: PEM (str, bytes, bytearray, memoryview) or DER,
  chains, encrypted keys under the stdlib's password rules, every bad input; handshakes
  against the stdlib and ``openssl s_client`` on loopback.
- ``load_verify_locations(cadata=)`` (loaded in C in one crossing): the system bundle and
  odd PEM shapes give what the stdlib gives.
- ``set_ciphersuites``, ``set_groups``, ``get_groups``, ``SSLObject.group()`` /
  ``SSLSocket.group()`` (CPython 3.15's API): negotiated suite and group against the
  stdlib, ``openssl s_server`` and ``openssl s_client``; mismatches fail as the stdlib
  fails; the hybrid post-quantum group X25519MLKEM768 where the OpenSSL in use offers it.
"""

import contextlib
import os
import re
import socket
import ssl as std
import subprocess
import sys
import threading

import pytest
from ssl_certs import PASSWORD, Pair, openssl_s_server

import tls.ssl as tssl
from tls import _ssl
from tls._binding import clear_errors, lib

STD_IS_SPEC = sys.implementation.name == "cpython" and sys.version_info >= (3, 11)
SYSTEM_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


@pytest.fixture(autouse=True)
def _forget_stdlib_errors():
    yield
    clear_errors()  # PyPy's stdlib ssl may leave its own failures on the shared queue


def _read(path, mode="r"):
    with open(path, mode) as f:
        return f.read()


def _der(path):
    return std.PEM_cert_to_DER_cert(_read(path))


def _openssl(*args, data=None):
    return subprocess.run(["openssl", *args], input=data, check=True, capture_output=True).stdout


@pytest.fixture(scope="module")
def keys(certs):
    """The chained leaf's key in every form load_cert_chain(keydata=) takes, made by the CLI."""
    key = certs.chained_key
    return {
        "pem": _read(key),
        "der_pkcs8": _openssl("pkcs8", "-topk8", "-nocrypt", "-in", key, "-outform", "DER"),
        "der_traditional": _openssl("rsa", "-in", key, "-outform", "DER", "-traditional"),
        "pem_traditional": _openssl("rsa", "-in", key, "-traditional").decode(),
        "pem_encrypted": _openssl("pkcs8", "-topk8", "-in", key, "-passout", "pass:" + PASSWORD).decode(),
        "pem_traditional_encrypted": _openssl(
            "rsa", "-in", key, "-traditional", "-aes128", "-passout", "pass:" + PASSWORD
        ).decode(),
        "der_encrypted": _openssl(
            "pkcs8", "-topk8", "-in", key, "-outform", "DER", "-passout", "pass:" + PASSWORD
        ),
    }


def _chain_pem(certs):
    return _read(certs.chained_full)  # leaf, then the intermediate


def _chain_der(certs):
    return _der(certs.chained) + _der(certs.intermediate)


def _client(mod, certs):
    """A client of ``mod`` trusting only the root CA: the server must send the intermediate."""
    ctx = mod.SSLContext(mod.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(certs.ca)
    return ctx


def _server(**data):
    ctx = tssl.SSLContext(tssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(**data)
    return ctx


def _served_chain(server_ctx, certs, client_mod=std):
    """Handshake a ``client_mod`` client (trusting the root only) with ``server_ctx``;
    the DER chain the client received, leaf first."""
    pair = Pair(_client(client_mod, certs), server_ctx)
    pair.handshake()
    assert pair.client.getpeercert()["subject"] == ((("commonName", "localhost"),),)
    return pair.server.getpeercert(True), pair


# ----------------------------------------------------------------------------- certdata / keydata
CHAIN_FORMS = {
    "pem_str": lambda c, k: dict(certdata=_chain_pem(c), keydata=k["pem"]),
    "pem_bytes": lambda c, k: dict(certdata=_chain_pem(c).encode(), keydata=k["pem"].encode()),
    "pem_bytearray": lambda c, k: dict(
        certdata=bytearray(_chain_pem(c).encode()), keydata=bytearray(k["pem"].encode())
    ),
    "pem_memoryview": lambda c, k: dict(certdata=memoryview(_chain_pem(c).encode()), keydata=k["pem"]),
    "pem_key_after_chain": lambda c, k: dict(certdata=_chain_pem(c) + k["pem"]),
    "pem_key_before_chain": lambda c, k: dict(certdata=k["pem"] + _chain_pem(c)),
    "der_pkcs8": lambda c, k: dict(certdata=_chain_der(c), keydata=k["der_pkcs8"]),
    "der_traditional": lambda c, k: dict(certdata=_chain_der(c), keydata=k["der_traditional"]),
    "pem_chain_der_key": lambda c, k: dict(certdata=_chain_pem(c), keydata=k["der_pkcs8"]),
    "pem_traditional_key": lambda c, k: dict(certdata=_chain_pem(c), keydata=k["pem_traditional"]),
}


@pytest.mark.parametrize("form", sorted(CHAIN_FORMS))
def test_chain_from_memory_serves_leaf_and_intermediate_to_a_stdlib_client(certs, keys, form):
    server = _server(**CHAIN_FORMS[form](certs, keys))
    pair = Pair(_client(std, certs), server)
    pair.handshake()  # the client trusts only the root: it verified through the intermediate
    assert pair.client.getpeercert()["subject"] == ((("commonName", "localhost"),),)
    assert pair.client.getpeercert(True) == _der(certs.chained)
    assert pair.client.version() == "TLSv1.3"


def test_single_der_certificate_with_its_key(certs):
    key = _openssl("pkey", "-in", certs.server_key, "-outform", "DER")
    pair = Pair(_client(std, certs), _server(certdata=_der(certs.server), keydata=key))
    pair.handshake()
    assert pair.client.getpeercert(True) == _der(certs.server)


def test_chain_from_memory_against_openssl_s_client(certs, keys):
    ctx = _server(certdata=_chain_der(certs), keydata=keys["der_pkcs8"])
    with _tls_server(ctx) as (port, result), _s_client(port, "-CAfile", certs.ca, "-verify_return_error",
                                                         "-verify_hostname", "localhost") as out:
        # s_client accepted the chain through the intermediate it was not given
        assert "Verify return code: 0 (ok)" in out()
    assert "error" not in result


def test_client_certificate_from_memory(certs):
    server_ctx = std.SSLContext(std.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(certs.server, certs.server_key)
    server_ctx.verify_mode = std.CERT_REQUIRED
    server_ctx.load_verify_locations(certs.ca)
    client_ctx = _client(tssl, certs)
    client_ctx.load_cert_chain(certdata=_read(certs.client, "rb"), keydata=_read(certs.client_key))
    pair = Pair(client_ctx, server_ctx)
    pair.handshake()
    pair.send(pair.client, pair.server, b"x")  # TLS 1.3: the server checks the certificate now
    assert pair.server.getpeercert(True) == _der(certs.client)


@pytest.mark.parametrize(
    "password",
    [PASSWORD, PASSWORD.encode(), bytearray(PASSWORD.encode()), lambda: PASSWORD, lambda: PASSWORD.encode(),
     lambda: bytearray(PASSWORD.encode())],
    ids=["str", "bytes", "bytearray", "callable_str", "callable_bytes", "callable_bytearray"],
)
@pytest.mark.parametrize("form", ["pem_encrypted", "pem_traditional_encrypted", "der_encrypted"])
def test_encrypted_key_with_password(certs, keys, form, password):
    calls = []

    def counted():
        calls.append(1)
        return password()

    server = _server(certdata=_chain_pem(certs), keydata=keys[form],
                     password=counted if callable(password) else password)
    pair = Pair(_client(std, certs), server)
    pair.handshake()
    if callable(password):
        assert calls == [1]


def test_password_callback_is_not_called_for_a_plain_key(certs, keys):
    def never():
        raise AssertionError("asked for a password")

    _server(certdata=_chain_pem(certs), keydata=keys["pem"], password=never)


@pytest.mark.parametrize("form", ["pem_encrypted", "pem_traditional_encrypted", "der_encrypted"])
@pytest.mark.parametrize(
    "password", [None, "wrong", lambda: "wrong"], ids=["none", "wrong", "callable_wrong"]
)
def test_encrypted_key_without_the_right_password_is_an_ssl_error(certs, keys, form, password):
    ctx = tssl.SSLContext(tssl.PROTOCOL_TLS_SERVER)
    with pytest.raises(tssl.SSLError) as info:
        ctx.load_cert_chain(certdata=_chain_pem(certs), keydata=keys[form], password=password)
    assert isinstance(info.value, std.SSLError)
    assert info.value.library  # OpenSSL's reason, e.g. PEM BAD_PASSWORD_READ or a failed decryption


def test_password_errors_as_for_files(certs, keys):
    ctx = tssl.SSLContext(tssl.PROTOCOL_TLS_SERVER)
    chain, key = _chain_pem(certs), keys["pem_encrypted"]
    with pytest.raises(TypeError, match="password should be a string or callable"):
        ctx.load_cert_chain(certdata=chain, keydata=key, password=42)
    with pytest.raises(TypeError, match="password callback must return a string"):
        ctx.load_cert_chain(certdata=chain, keydata=key, password=lambda: 42)
    with pytest.raises(ValueError, match="password cannot be longer than 1024 bytes"):
        ctx.load_cert_chain(certdata=chain, keydata=key, password="x" * 2000)
    with pytest.raises(ValueError, match="password cannot be longer than 1024 bytes"):
        ctx.load_cert_chain(certdata=chain, keydata=key, password=lambda: "x" * 2000)

    class Boom(Exception):
        pass

    def boom():
        raise Boom

    with pytest.raises(Boom):
        ctx.load_cert_chain(certdata=chain, keydata=key, password=boom)
    # and the same context still loads when given the password
    ctx.load_cert_chain(certdata=chain, keydata=key, password=PASSWORD)


def test_password_rules_match_the_file_path(certs):
    """The same (wrong type) passwords fail alike for certfile and certdata."""
    for password, exc in ((42, TypeError), (lambda: 42, TypeError), ("x" * 2000, ValueError)):
        outcomes = []
        for kwargs in (dict(certfile=certs.server, keyfile=certs.server_key_encrypted),
                       dict(certdata=_read(certs.server), keydata=_read(certs.server_key_encrypted))):
            ctx = tssl.SSLContext(tssl.PROTOCOL_TLS_SERVER)
            with pytest.raises(exc) as info:
                ctx.load_cert_chain(password=password, **kwargs)
            outcomes.append(str(info.value))
        assert outcomes[0] == outcomes[1]


def test_key_mismatch_is_the_stdlibs_ssl_error_and_changes_nothing(certs, keys):
    server = _server(certdata=_read(certs.server), keydata=_read(certs.server_key))
    with pytest.raises(tssl.SSLError) as info:
        server.load_cert_chain(certdata=_chain_pem(certs), keydata=_read(certs.server_key))
    assert (info.value.library, info.value.reason) == ("X509", "KEY_VALUES_MISMATCH")
    # the same error the stdlib raises for the same files
    with pytest.raises(std.SSLError) as std_info:
        std.SSLContext(std.PROTOCOL_TLS_SERVER).load_cert_chain(certs.chained_full, certs.server_key)
    assert (std_info.value.library, std_info.value.reason) == (info.value.library, info.value.reason)
    # the context still serves what it had
    pair = Pair(_client(std, certs), server)
    pair.handshake()
    assert pair.client.getpeercert(True) == _der(certs.server)


def _stale_error():
    """Leave an entry on the thread's error queue, as other code may (the stdlib's ssl
    shares the queue): a digest OpenSSL does not know."""
    from tls._binding import ffi, lib

    assert lib.EVP_MD_fetch(ffi.NULL, b"no-such-digest", ffi.NULL) == ffi.NULL
    assert lib.ERR_peek_error() != 0


@pytest.mark.parametrize("form", ["pem_str", "der_pkcs8"])
def test_certdata_loads_despite_a_stale_error_left_on_the_queue(certs, keys, form):
    _stale_error()
    server = _server(**CHAIN_FORMS[form](certs, keys))
    pair = Pair(_client(std, certs), server)
    pair.handshake()
    assert pair.client.getpeercert(True) == _der(certs.chained)


@pytest.mark.parametrize("der", [False, True])
def test_cadata_loads_despite_a_stale_error_left_on_the_queue(certs, der):
    # The stdlib ignores whatever precedes its loop's end; so must tls.
    data = _der(certs.ca) if der else _read(certs.ca)
    _stale_error()
    ctx = tssl.SSLContext(tssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(cadata=data)
    assert ctx.cert_store_stats()["x509_ca"] == 1


def test_a_chain_refused_by_the_security_level_changes_nothing(certs, tmp_path):
    """A 1024-bit CA in the chain is refused (CA_KEY_TOO_SMALL at security level 2): the
    context keeps serving its old identity, whose key still matches."""
    key, cert = tmp_path / "weak.key", tmp_path / "weak.pem"
    _openssl("req", "-x509", "-newkey", "rsa:1024", "-nodes", "-keyout", str(key), "-out", str(cert),
             "-days", "2", "-subj", "/CN=weak CA")
    server = _server(certdata=_read(certs.server), keydata=_read(certs.server_key))
    with pytest.raises(tssl.SSLError) as info:
        server.load_cert_chain(certdata=_read(certs.chained) + _read(str(cert)),
                               keydata=_read(certs.chained_key))
    assert (info.value.library, info.value.reason) == ("SSL", "CA_KEY_TOO_SMALL")
    pair = Pair(_client(std, certs), server)
    pair.handshake()
    assert pair.client.getpeercert(True) == _der(certs.server)


def test_der_whose_subject_holds_the_pem_marker_is_still_der(tmp_path):
    key, cert = tmp_path / "odd.key", tmp_path / "odd.der"
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", str(key), "-out", str(cert), "-outform", "DER", "-days", "2",
             "-subj", "/O=-----BEGIN CERTIFICATE-----/CN=localhost",
             "-addext", "subjectAltName=DNS:localhost")
    der = cert.read_bytes()
    assert b"-----BEGIN " in der
    server = _server(certdata=der, keydata=_read(str(key)))
    client = tssl.SSLContext(tssl.PROTOCOL_TLS_CLIENT)
    client.load_verify_locations(cadata=der)
    pair = Pair(client, server)
    pair.handshake()
    assert pair.client.getpeercert(True) == der
    from tls import x509

    assert x509.verify_chain(der, [], [der], hostname="localhost") == [der]


BAD_DATA = {
    # name: (kwargs, exception, message part)
    "empty_cert_str": (dict(certdata=""), ValueError, "Empty certdata"),
    "empty_cert_bytes": (dict(certdata=b""), ValueError, "Empty certdata"),
    "empty_key": (dict(certdata="CHAIN", keydata=b""), ValueError, "Empty keydata"),
    "garbage_cert_str": (dict(certdata="garbage", keydata="KEY"), tssl.SSLError, "no start line"),
    "garbage_cert_bytes": (dict(certdata=b"\x30\x03garbage", keydata="KEY"), tssl.SSLError, ""),
    "garbage_key_str": (
        dict(certdata="CHAIN", keydata="garbage"), tssl.SSLError, "keydata holds no private key"
    ),
    "garbage_key_bytes": (dict(certdata="CHAIN", keydata=b"\x30\x03xyz"), tssl.SSLError, ""),
    "truncated_pem_cert": (dict(certdata="CHAIN[:-60]", keydata="KEY"), tssl.SSLError, ""),
    "truncated_der_cert": (dict(certdata="DER[:-9]", keydata="KEY"), tssl.SSLError, ""),
    "pem_chain_without_key": (dict(certdata="CHAIN"), tssl.SSLError, "certdata holds no private key"),
    "der_chain_without_key": (dict(certdata="DER"), tssl.SSLError, "DER certdata holds no private key"),
    "key_only_as_certdata": (dict(certdata="KEY"), tssl.SSLError, "no start line"),
    "int_cert": (dict(certdata=42), TypeError, "certdata should be an ASCII string or a bytes-like object"),
    "list_cert": (dict(certdata=[b"x"]), TypeError, "certdata should be"),
    "int_key": (dict(certdata="CHAIN", keydata=1.5), TypeError, "keydata should be"),
    "non_ascii_str": (dict(certdata="é" + "CHAIN"), TypeError, "ASCII string"),
    "keydata_alone": (dict(keydata="KEY"), TypeError, "keydata needs certdata"),
    "certfile_and_certdata": (dict(certfile="FILE", certdata="CHAIN"), ValueError, "cannot be mixed"),
    "keyfile_and_certdata": (dict(certdata="CHAIN", keyfile="KEYFILE"), ValueError, "cannot be mixed"),
    "certfile_and_keydata": (dict(certfile="FILE", keydata="KEY"), ValueError, "cannot be mixed"),
}


def _resolve(value, certs):
    if not isinstance(value, str):
        return value
    chain, der, key = _chain_pem(certs), _chain_der(certs), _read(certs.chained_key)
    table = {"CHAIN": chain, "CHAIN[:-60]": chain[:-60], "DER": der, "DER[:-9]": der[:-9], "KEY": key,
             "FILE": certs.chained_full, "KEYFILE": certs.chained_key}
    if value.startswith("é"):
        return "é" + chain
    return table.get(value, value)


@pytest.mark.parametrize("case", sorted(BAD_DATA))
def test_bad_certdata_and_keydata(certs, case):
    kwargs, exc, text = BAD_DATA[case]
    kwargs = {name: _resolve(value, certs) for name, value in kwargs.items()}
    ctx = tssl.SSLContext(tssl.PROTOCOL_TLS_SERVER)
    with pytest.raises(exc) as info:
        ctx.load_cert_chain(**kwargs)
    assert text in str(info.value)
    if exc is tssl.SSLError:
        assert isinstance(info.value, std.SSLError)


def test_certfile_is_still_required_without_data():
    ctx = tssl.SSLContext(tssl.PROTOCOL_TLS_SERVER)
    with pytest.raises(TypeError, match="certfile should be a valid filesystem path"):
        ctx.load_cert_chain()
    with pytest.raises(TypeError):
        ctx.load_cert_chain(None, password="x")


def test_data_arguments_are_keyword_only(certs):
    ctx = tssl.SSLContext(tssl.PROTOCOL_TLS_SERVER)
    with pytest.raises(TypeError):
        ctx.load_cert_chain(None, None, None, _chain_pem(certs))


# ----------------------------------------------------------------------------- cadata
def _bundle():
    if not os.path.isfile(SYSTEM_BUNDLE):
        pytest.skip(f"no system CA bundle at {SYSTEM_BUNDLE}")
    pem = _read(SYSTEM_BUNDLE)
    blocks = re.findall(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----\n?", pem, re.S)
    return pem, blocks


def _load_outcome(mod, cadata):
    ctx = mod.SSLContext(mod.PROTOCOL_TLS_CLIENT)
    try:
        ctx.load_verify_locations(cadata=cadata)
    except Exception as exc:  # noqa: BLE001 - the outcome is what is compared
        clear_errors()
        return type(exc).__name__, getattr(exc, "library", None), getattr(exc, "reason", None)
    return "ok", ctx.cert_store_stats(), ctx.get_ca_certs(True)


def test_system_bundle_as_pem_and_der_loads_what_the_stdlib_loads():
    pem, blocks = _bundle()
    ours = _load_outcome(tssl, pem)
    assert ours[0] == "ok" and ours[1]["x509"] == len(set(blocks))
    assert ours == _load_outcome(std, pem)
    der = b"".join(std.PEM_cert_to_DER_cert(block) for block in blocks)
    assert _load_outcome(tssl, der) == ours
    twice = _load_outcome(tssl, pem + pem)  # duplicates count once in the store
    assert twice[1] == ours[1] and sorted(twice[2]) == sorted(ours[2])
    assert twice[1] == _load_outcome(std, pem + pem)[1]


def _rewrap(block, width):
    body = "".join(block.splitlines()[1:-1])
    lines = [body[i:i + width] for i in range(0, len(body), width)]
    return "\n".join(["-----BEGIN CERTIFICATE-----", *lines, "-----END CERTIFICATE-----"]) + "\n"


def _odd_pem_cases(certs):
    ca, server = _read(certs.ca), _read(certs.server)
    key = _read(certs.server_key)
    line = ca.splitlines()[5]  # a full line of base64
    return {
        "columns_76": _rewrap(ca, 76) + server,
        "columns_40": ca + _rewrap(server, 40),
        "long_comment_line": "#" * 300 + "\n" + ca + "x" * 600 + "\n" + server,
        "dash_lines_between": ca + "---- not a header\n-----\n" + server,
        "key_block_between": ca + key + server,
        "header_line_cr": ca.replace("-----\n", "-----\r\n", 1) + server,
        "spaces_after_footer": ca.replace("CERTIFICATE-----\n", "CERTIFICATE-----   \n") + server,
        "no_final_newline": ca + server.rstrip("\n"),
        "corrupt_base64": ca.replace(ca.splitlines()[5], "!" * 64) + server,
        "corrupt_der_inside": ca.replace(ca.splitlines()[5], "A" * 64) + server,
        "padding_inside_a_line": ca.replace(line, line[:30] + "=" + line[31:]) + server,
        "padding_on_a_full_line": ca.replace(line, line[:62] + "==") + server,
        "truncated_last_block": ca + server[:-80],
        "x509_certificate_label": ca.replace("BEGIN CERTIFICATE", "BEGIN X509 CERTIFICATE").replace(
            "END CERTIFICATE", "END X509 CERTIFICATE") + server,
        "trusted_certificate_label": server + ca.replace("CERTIFICATE-----", "TRUSTED CERTIFICATE-----"),
        "indented_header": " " + ca + server,
    }


ODD_PEM_CASES = [
    "columns_76", "columns_40", "long_comment_line", "dash_lines_between", "key_block_between",
    "header_line_cr", "spaces_after_footer", "no_final_newline", "corrupt_base64", "corrupt_der_inside",
    "padding_inside_a_line", "padding_on_a_full_line",
    "truncated_last_block", "x509_certificate_label", "trusted_certificate_label", "indented_header",
]


@pytest.mark.parametrize("case", ODD_PEM_CASES)
def test_cadata_pem_shapes_outside_the_fast_path_load_as_the_stdlib_loads_them(certs, case):
    cadata = _odd_pem_cases(certs)[case]
    ours = _load_outcome(tssl, cadata)
    theirs = _load_outcome(std, cadata)
    if STD_IS_SPEC:
        assert ours == theirs
    else:
        assert ours[0] == theirs[0] or (ours[0] != "ok" and theirs[0] != "ok")


# ----------------------------------------------------------------------------- helpers: real peers
@contextlib.contextmanager
def _tls_server(ctx):
    """A tls.ssl SSLSocket server on an ephemeral loopback port for one connection:
    yields (port, result); after the block, result holds the connection's ``group``
    and ``cipher``, or the ``error`` it ended with."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(20)
    result = {}

    def serve():
        try:
            conn, _ = listener.accept()
        except OSError as exc:
            result["error"] = exc
            return
        conn.settimeout(20)
        try:
            with ctx.wrap_socket(conn, server_side=True) as tls_conn:
                result["group"] = tls_conn.group()
                result["cipher"] = tls_conn.cipher()
                tls_conn.sendall(b"hello\n")
                tls_conn.recv(100)
        except Exception as exc:  # noqa: BLE001 - reported to the test
            result["error"] = exc
            clear_errors()

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        yield listener.getsockname()[1], result
    finally:
        thread.join(30)
        listener.close()
    assert not thread.is_alive()


@contextlib.contextmanager
def _s_client(port, *args):
    """``openssl s_client`` to 127.0.0.1:port; yields a function returning all it printed."""
    proc = subprocess.Popen(
        ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-servername", "localhost", *args],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    output = []

    def out():
        if not output:
            try:
                text, _ = proc.communicate(b"bye\n", timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                text, _ = proc.communicate(timeout=10)
            output.append(text.decode("utf-8", "replace"))
        return output[0]

    try:
        yield out
        out()
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)


def _handshake_both(pair):
    """Drive a Pair's handshake; (client exception or None, server exception or None)."""
    errors = {"client": None, "server": None}
    done = {"client": False, "server": False}
    for _ in range(50):
        for name in ("client", "server"):
            if done[name] or errors[name] is not None:
                continue
            try:
                getattr(pair, name).do_handshake()
                done[name] = True
            except (std.SSLWantReadError, tssl.SSLWantReadError):
                pass
            except (std.SSLError, OSError) as exc:
                errors[name] = exc
                clear_errors()
        if not pair.transfer() and (errors["client"] or errors["server"] or all(done.values())):
            break
    return errors["client"], errors["server"]


def _server_ctx(mod, certs):
    ctx = mod.SSLContext(mod.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(certs.server, certs.server_key)
    return ctx


# ----------------------------------------------------------------------------- set_ciphersuites
SUITES = ["TLS_AES_256_GCM_SHA384", "TLS_AES_128_GCM_SHA256", "TLS_CHACHA20_POLY1305_SHA256"]


@pytest.mark.parametrize("suite", SUITES)
def test_set_ciphersuites_on_the_server_decides_against_a_stdlib_client(certs, suite):
    server = _server_ctx(tssl, certs)
    server.set_ciphersuites(suite)
    pair = Pair(_client(std, certs), server)
    pair.handshake()
    assert pair.server.cipher()[0] == pair.client.cipher()[0] == suite
    assert pair.client.version() == "TLSv1.3"


@pytest.mark.parametrize("suite", SUITES)
def test_set_ciphersuites_on_the_client_against_a_stdlib_server(certs, suite):
    client = _client(tssl, certs)
    client.set_ciphersuites(suite)
    pair = Pair(client, _server_ctx(std, certs))
    pair.handshake()
    assert pair.client.cipher()[0] == pair.server.cipher()[0] == suite


def test_set_ciphersuites_against_openssl_s_server(certs):
    # TLS_AES_128_CCM_SHA256 is offered by no default client: only set_ciphersuites reaches it
    args = ("-www", "-tls1_3", "-ciphersuites", "TLS_AES_128_CCM_SHA256")
    with openssl_s_server(certs.server, certs.server_key, *args) as port:
        outcomes = []
        for mod in (std, tssl):
            with pytest.raises(mod.SSLError) as info:
                with _tls_client_to_mod(mod, port, _client(mod, certs)):
                    pass
            outcomes.append((info.value.library, info.value.reason))
            clear_errors()
        assert outcomes[0] == outcomes[1]  # no shared suite: the same alert for both clients
        ctx = _client(tssl, certs)
        ctx.set_ciphersuites("TLS_AES_128_CCM_SHA256:TLS_AES_256_GCM_SHA384")
        with _tls_client_to_mod(tssl, port, ctx) as sock:
            assert sock.cipher()[0] == "TLS_AES_128_CCM_SHA256"


@contextlib.contextmanager
def _tls_client_to_mod(mod, port, ctx):
    raw = socket.create_connection(("127.0.0.1", port), timeout=20)
    with raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as sock:
            yield sock


def test_set_ciphersuites_against_openssl_s_client(certs):
    ctx = _server_ctx(tssl, certs)
    ctx.set_ciphersuites("TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256")
    with _tls_server(ctx) as (port, result), _s_client(
        port, "-tls1_3", "-ciphersuites", "TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256"
    ) as out:
        assert "TLS_CHACHA20_POLY1305_SHA256" in out()  # the server's preference wins
    assert result["cipher"][0] == "TLS_CHACHA20_POLY1305_SHA256"


def test_no_shared_suite_fails_the_handshake_as_openssl_does(certs):
    server = _server_ctx(tssl, certs)
    server.set_ciphersuites("TLS_AES_128_GCM_SHA256")
    client = _client(tssl, certs)
    client.set_ciphersuites("TLS_AES_256_GCM_SHA384")
    client.maximum_version = server.minimum_version = tssl.TLSVersion.TLSv1_3
    client_error, server_error = _handshake_both(Pair(client, server))
    assert isinstance(server_error, tssl.SSLError) and isinstance(server_error, std.SSLError)
    assert (server_error.library, server_error.reason) == ("SSL", "NO_SHARED_CIPHER")
    assert isinstance(client_error, tssl.SSLError)
    assert client_error.reason == "SSLV3_ALERT_HANDSHAKE_FAILURE"
    # the stdlib server refuses the same client the same way
    std_server = _server_ctx(std, certs)
    std_server.minimum_version = std.TLSVersion.TLSv1_3
    client2 = _client(tssl, certs)
    client2.set_ciphersuites("TLS_AES_128_CCM_SHA256")
    client_error2, server_error2 = _handshake_both(Pair(client2, std_server))
    assert (server_error2.library, server_error2.reason) == ("SSL", "NO_SHARED_CIPHER")
    assert (client_error2.library, client_error2.reason) == (client_error.library, client_error.reason)


def test_set_ciphersuites_bad_input():
    ctx = tssl.SSLContext(tssl.PROTOCOL_TLS_CLIENT)
    with pytest.raises(tssl.SSLError, match="No cipher can be selected"):
        ctx.set_ciphersuites("TLS_NOT_A_SUITE")
    with pytest.raises(tssl.SSLError):
        ctx.set_ciphersuites("ECDHE-RSA-AES128-GCM-SHA256")  # a TLS 1.2 cipher: set_ciphers'
    with pytest.raises(TypeError, match="must be str, not bytes"):
        ctx.set_ciphersuites(b"TLS_AES_128_GCM_SHA256")
    with pytest.raises(TypeError):
        ctx.set_ciphersuites(None)
    with pytest.raises(ValueError, match="embedded null"):
        ctx.set_ciphersuites("TLS_AES_128_GCM_SHA256\0")
    ctx.set_ciphersuites("")  # permitted: no TLS 1.3 suite at all


# ----------------------------------------------------------------------------- groups
def test_get_groups_lists_what_set_groups_accepts():
    ctx = tssl.SSLContext(tssl.PROTOCOL_TLS_CLIENT)
    groups = ctx.get_groups()
    assert groups and all(isinstance(g, str) and g for g in groups)
    assert len(groups) == len(set(groups))
    assert {"x25519", "secp256r1", "secp384r1"} <= set(groups)
    every = ctx.get_groups(include_aliases=True)
    assert set(groups) < set(every) and "P-256" in every and "P-256" not in groups
    for name in every:
        ctx.set_groups(name)


def test_get_groups_follows_the_version_range():
    ctx = tssl.SSLContext(tssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = tssl.TLSVersion.TLSv1_3
    tls13 = ctx.get_groups()
    assert "x25519" in tls13 and "ffdhe2048" in tls13
    assert "sect163k1" not in tls13 and "brainpoolP256r1" not in tls13  # TLS 1.2 only
    ctx.minimum_version = tssl.TLSVersion.TLSv1_2
    ctx.maximum_version = tssl.TLSVersion.TLSv1_2
    tls12 = ctx.get_groups()
    assert "x25519" in tls12 and "ffdhe2048" not in tls12 and "X25519MLKEM768" not in tls12


@pytest.mark.skipif(not lib.TLS_HAS_IMPLEMENTED_GROUPS,
                    reason="needs OpenSSL 3.5's SSL_CTX_get0_implemented_groups to compare with")
@pytest.mark.parametrize("versions", [(None, None), ("TLSv1_3", None), ("TLSv1_2", "TLSv1_2")])
def test_the_provider_table_fallback_lists_what_openssl_35_lists(versions):
    """get_groups() before OpenSSL 3.5 reads the providers' TLS-GROUP table; on 3.5 both agree."""
    ctx = tssl.SSLContext(tssl.PROTOCOL_TLS_CLIENT)
    if versions[0]:
        ctx.minimum_version = getattr(tssl.TLSVersion, versions[0])
    if versions[1]:
        ctx.maximum_version = getattr(tssl.TLSVersion, versions[1])
    for every in (0, 1):
        assert _ssl._group_names(lib.tls_provider_groups, ctx._ctx, every) == \
            _ssl._group_names(lib.tls_SSL_CTX_implemented_groups, ctx._ctx, every)


def test_set_groups_bad_input():
    ctx = tssl.SSLContext(tssl.PROTOCOL_TLS_CLIENT)
    ctx.set_groups("X25519:P-256")
    for bad in ("P-256:xxx", "nope", ":"):  # ("" is refused by OpenSSL 3.0 and taken by 3.5)
        with pytest.raises(tssl.SSLError):
            ctx.set_groups(bad)
    with pytest.raises(TypeError, match="must be str, not bytes"):
        ctx.set_groups(b"P-256")
    with pytest.raises(TypeError):
        ctx.set_groups(["P-256"])
    with pytest.raises(ValueError, match="embedded null"):
        ctx.set_groups("P-256\0")
    with pytest.raises(TypeError):
        ctx.get_groups(True)  # keyword-only, as in CPython 3.15


def test_group_is_none_before_the_handshake_and_without_tls(certs):
    pair = Pair(_client(tssl, certs), _server_ctx(tssl, certs))
    assert pair.client.group() is None and pair.server.group() is None
    with socket.socket() as raw:
        sock = _client(tssl, certs).wrap_socket(
            raw, server_hostname="localhost", do_handshake_on_connect=False
        )
        assert sock.group() is None  # not connected: no TLS layer yet
        sock.close()


@pytest.mark.parametrize("group, name", [("X25519", "x25519"), ("P-256", "secp256r1"), ("P-384", "secp384r1"),
                                         ("ffdhe2048", "ffdhe2048")])
def test_server_set_groups_decides_against_a_stdlib_client(certs, group, name):
    server = _server_ctx(tssl, certs)
    server.set_groups(group)
    pair = Pair(_client(std, certs), server)
    pair.handshake()  # a HelloRetryRequest where the client's first key share was another group
    assert pair.server.group() == name
    assert pair.client.version() == "TLSv1.3"


@pytest.mark.parametrize("group, name", [("P-521", "secp521r1"), ("x448", "x448")])
def test_client_set_groups_against_a_stdlib_server(certs, group, name):
    client = _client(tssl, certs)
    client.set_groups(group)
    pair = Pair(client, _server_ctx(std, certs))
    pair.handshake()
    assert pair.client.group() == name


def test_group_on_tls12(certs):
    client = _client(tssl, certs)
    client.maximum_version = tssl.TLSVersion.TLSv1_2
    client.set_groups("P-384")
    pair = Pair(client, _server_ctx(std, certs))
    pair.handshake()
    assert pair.client.version() == "TLSv1.2"
    assert pair.client.group() == "secp384r1"


def test_groups_against_openssl_s_server_and_sslsocket(certs):
    with openssl_s_server(certs.server, certs.server_key, "-www", "-groups", "P-256") as port:
        with _tls_client_to_mod(tssl, port, _client(tssl, certs)) as sock:
            assert sock.group() == "secp256r1"
            assert sock.version() == "TLSv1.3"


def test_groups_against_openssl_s_client(certs):
    ctx = _server_ctx(tssl, certs)
    ctx.set_groups("P-384")
    with _tls_server(ctx) as (port, result), _s_client(port, "-groups", "X25519:P-384") as out:
        text = out()
    assert "error" not in result
    assert result["group"] == "secp384r1"  # after a HelloRetryRequest for the server's group
    assert "384" in text  # s_client names the key exchange group it used


def test_no_shared_group_fails_as_the_stdlib_fails(certs):
    with openssl_s_server(certs.server, certs.server_key, "-www", "-groups", "P-256") as port:
        std_ctx = _client(std, certs)
        std_ctx.set_ecdh_curve("secp521r1")  # the stdlib's only way to restrict a client's groups
        ours = _client(tssl, certs)
        ours.set_groups("P-521")
        outcomes = []
        for mod, ctx in ((std, std_ctx), (tssl, ours)):
            with pytest.raises(mod.SSLError) as info:
                with _tls_client_to_mod(mod, port, ctx):
                    pass
            outcomes.append((info.value.library, info.value.reason))
            clear_errors()
        assert outcomes[0] == outcomes[1]


def _offers(group):
    return group in tssl.SSLContext(tssl.PROTOCOL_TLS_CLIENT).get_groups()


PQ_SKIP = pytest.mark.skipif(
    not _offers("X25519MLKEM768"),
    reason=f"the OpenSSL in use ({tssl.OPENSSL_VERSION}) offers no X25519MLKEM768 (OpenSSL 3.5+)",
)


@PQ_SKIP
def test_hybrid_post_quantum_group_with_a_stdlib_server(certs):
    client = _client(tssl, certs)
    client.set_groups("X25519MLKEM768")
    pair = Pair(client, _server_ctx(std, certs))
    pair.handshake()
    assert pair.client.group() == "X25519MLKEM768"
    assert pair.client.version() == "TLSv1.3"


@PQ_SKIP
def test_hybrid_post_quantum_group_on_the_server(certs):
    server = _server_ctx(tssl, certs)
    server.set_groups("X25519MLKEM768:X25519")
    pair = Pair(_client(std, certs), server)  # the stdlib client offers OpenSSL's default list
    pair.handshake()
    assert pair.server.group() == "X25519MLKEM768"
    server.set_groups("X25519")
    pair = Pair(_client(tssl, certs), server)
    pair.handshake()
    assert pair.client.group() == pair.server.group() == "x25519"


def _cli_offers(group):
    proc = subprocess.run(["openssl", "list", "-tls-groups"], capture_output=True, text=True)
    return proc.returncode == 0 and group in proc.stdout.split(":")


@PQ_SKIP
def test_hybrid_post_quantum_group_against_openssl_s_server(certs):
    if not _cli_offers("X25519MLKEM768"):
        pytest.skip("the openssl CLI on PATH offers no X25519MLKEM768 (OpenSSL 3.5+ CLI needed)")
    with openssl_s_server(certs.server, certs.server_key, "-www", "-groups", "X25519MLKEM768") as port:
        with _tls_client_to_mod(tssl, port, _client(tssl, certs)) as sock:
            assert sock.group() == "X25519MLKEM768"  # offered by OpenSSL 3.5's default list
        ours = _client(tssl, certs)
        ours.set_groups("X25519:P-256")
        with pytest.raises(tssl.SSLError):  # no shared group
            with _tls_client_to_mod(tssl, port, ours):
                pass
        clear_errors()
