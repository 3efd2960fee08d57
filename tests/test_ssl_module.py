"""tls.ssl's module surface against the stdlib ssl: constants, enums, exceptions,
SSLContext settings and loaders, MemoryBIO, bad input."""

import array
import enum
import os
import pathlib
import platform
import ssl as std
import sys
import warnings

import pytest
from hypothesis import given
from hypothesis import strategies as st
from ssl_certs import PASSWORD, stdlib_rejects_der_cadata

import tls.ssl as tssl

PYPY = platform.python_implementation() == "PyPy"
SAME_OPENSSL = std.OPENSSL_VERSION_NUMBER == tssl.OPENSSL_VERSION_NUMBER
# The stdlib is the live reference only where it is the spec (CPython >= 3.11);
# PyPy 3.9's ssl follows CPython 3.9 (other defaults, more OP_ names).
STD_IS_SPEC = sys.implementation.name == "cpython" and sys.version_info >= (3, 11)
MODS = (tssl, std) if STD_IS_SPEC else (tssl,)  # where behaviour is compared side by side
needs_spec_stdlib = pytest.mark.skipif(
    not STD_IS_SPEC, reason="the stdlib ssl here is not CPython 3.11's (PyPy 3.9 follows CPython 3.9)"
)

# CPython 3.11.7's ssl constants (OpenSSL 3.0), the spec on every interpreter.
SPEC_CONSTANTS = {
    "ALERT_DESCRIPTION_ACCESS_DENIED": 49,
    "ALERT_DESCRIPTION_BAD_CERTIFICATE": 42,
    "ALERT_DESCRIPTION_BAD_CERTIFICATE_HASH_VALUE": 114,
    "ALERT_DESCRIPTION_BAD_CERTIFICATE_STATUS_RESPONSE": 113,
    "ALERT_DESCRIPTION_BAD_RECORD_MAC": 20,
    "ALERT_DESCRIPTION_CERTIFICATE_EXPIRED": 45,
    "ALERT_DESCRIPTION_CERTIFICATE_REVOKED": 44,
    "ALERT_DESCRIPTION_CERTIFICATE_UNKNOWN": 46,
    "ALERT_DESCRIPTION_CERTIFICATE_UNOBTAINABLE": 111,
    "ALERT_DESCRIPTION_CLOSE_NOTIFY": 0,
    "ALERT_DESCRIPTION_DECODE_ERROR": 50,
    "ALERT_DESCRIPTION_DECOMPRESSION_FAILURE": 30,
    "ALERT_DESCRIPTION_DECRYPT_ERROR": 51,
    "ALERT_DESCRIPTION_HANDSHAKE_FAILURE": 40,
    "ALERT_DESCRIPTION_ILLEGAL_PARAMETER": 47,
    "ALERT_DESCRIPTION_INSUFFICIENT_SECURITY": 71,
    "ALERT_DESCRIPTION_INTERNAL_ERROR": 80,
    "ALERT_DESCRIPTION_NO_RENEGOTIATION": 100,
    "ALERT_DESCRIPTION_PROTOCOL_VERSION": 70,
    "ALERT_DESCRIPTION_RECORD_OVERFLOW": 22,
    "ALERT_DESCRIPTION_UNEXPECTED_MESSAGE": 10,
    "ALERT_DESCRIPTION_UNKNOWN_CA": 48,
    "ALERT_DESCRIPTION_UNKNOWN_PSK_IDENTITY": 115,
    "ALERT_DESCRIPTION_UNRECOGNIZED_NAME": 112,
    "ALERT_DESCRIPTION_UNSUPPORTED_CERTIFICATE": 43,
    "ALERT_DESCRIPTION_UNSUPPORTED_EXTENSION": 110,
    "ALERT_DESCRIPTION_USER_CANCELLED": 90,
    "CERT_NONE": 0,
    "CERT_OPTIONAL": 1,
    "CERT_REQUIRED": 2,
    "HAS_ALPN": 1,
    "HAS_ECDH": 1,
    "HAS_NEVER_CHECK_COMMON_NAME": 1,
    "HAS_NPN": 0,
    "HAS_SNI": 1,
    "HAS_SSLv2": 0,
    "HAS_SSLv3": 0,
    "HAS_TLSv1": 1,
    "HAS_TLSv1_1": 1,
    "HAS_TLSv1_2": 1,
    "HAS_TLSv1_3": 1,
    "OP_ALL": 2147483728,
    "OP_CIPHER_SERVER_PREFERENCE": 4194304,
    "OP_ENABLE_MIDDLEBOX_COMPAT": 1048576,
    "OP_IGNORE_UNEXPECTED_EOF": 128,
    "OP_NO_COMPRESSION": 131072,
    "OP_NO_RENEGOTIATION": 1073741824,
    "OP_NO_SSLv2": 0,
    "OP_NO_SSLv3": 33554432,
    "OP_NO_TICKET": 16384,
    "OP_NO_TLSv1": 67108864,
    "OP_NO_TLSv1_1": 268435456,
    "OP_NO_TLSv1_2": 134217728,
    "OP_NO_TLSv1_3": 536870912,
    "OP_SINGLE_DH_USE": 0,
    "OP_SINGLE_ECDH_USE": 0,
    "PROTOCOL_SSLv23": 2,
    "PROTOCOL_TLS": 2,
    "PROTOCOL_TLS_CLIENT": 16,
    "PROTOCOL_TLS_SERVER": 17,
    "PROTOCOL_TLSv1": 3,
    "PROTOCOL_TLSv1_1": 4,
    "PROTOCOL_TLSv1_2": 5,
    "SSL_ERROR_EOF": 8,
    "SSL_ERROR_INVALID_ERROR_CODE": 10,
    "SSL_ERROR_SSL": 1,
    "SSL_ERROR_SYSCALL": 5,
    "SSL_ERROR_WANT_CONNECT": 7,
    "SSL_ERROR_WANT_READ": 2,
    "SSL_ERROR_WANT_WRITE": 3,
    "SSL_ERROR_WANT_X509_LOOKUP": 4,
    "SSL_ERROR_ZERO_RETURN": 6,
    "VERIFY_ALLOW_PROXY_CERTS": 64,
    "VERIFY_CRL_CHECK_CHAIN": 12,
    "VERIFY_CRL_CHECK_LEAF": 4,
    "VERIFY_DEFAULT": 0,
    "VERIFY_X509_PARTIAL_CHAIN": 524288,
    "VERIFY_X509_STRICT": 32,
    "VERIFY_X509_TRUSTED_FIRST": 32768,
}


# ----------------------------------------------------------------------------- constants
PREFIXES = ("OP_", "CERT_", "PROTOCOL_", "VERIFY_", "ALERT_DESCRIPTION_", "SSL_ERROR_", "HAS_")


def stdlib_constant_names():
    return sorted(n for n in dir(std) if n.startswith(PREFIXES))


@pytest.mark.parametrize("name", sorted(SPEC_CONSTANTS))
def test_constant_equals_spec(name):
    value = getattr(tssl, name)
    assert value == SPEC_CONSTANTS[name]
    if not name.startswith("HAS_"):
        assert isinstance(value, enum.Enum)


@needs_spec_stdlib
@pytest.mark.parametrize("name", stdlib_constant_names())
def test_constant_equals_stdlib(name):
    ours = getattr(tssl, name)
    theirs = getattr(std, name)
    assert ours == theirs
    assert type(ours).__name__ == type(theirs).__name__
    if hasattr(theirs, "name"):
        assert ours.name == theirs.name


def test_other_module_values_equal_stdlib():
    assert tssl.CHANNEL_BINDING_TYPES == std.CHANNEL_BINDING_TYPES
    assert (tssl.PEM_HEADER, tssl.PEM_FOOTER) == (std.PEM_HEADER, std.PEM_FOOTER)
    if hasattr(std, "_DEFAULT_CIPHERS") and not PYPY:
        assert tssl._DEFAULT_CIPHERS == std._DEFAULT_CIPHERS


def test_openssl_version():
    import tls._binding as b

    assert tssl.OPENSSL_VERSION == b.openssl_version_loaded()
    info = tssl.OPENSSL_VERSION_INFO
    assert (info[0], info[1], info[3]) == tuple(
        int(x) for x in tssl.OPENSSL_VERSION.split()[1].split(".")[:3]
    )
    assert tssl.OPENSSL_VERSION_INFO[0] >= 3
    if not SAME_OPENSSL:
        pytest.skip(f"the stdlib ssl loads another OpenSSL ({std.OPENSSL_VERSION})")
    assert tssl.OPENSSL_VERSION == std.OPENSSL_VERSION
    assert tssl.OPENSSL_VERSION_INFO == std.OPENSSL_VERSION_INFO
    assert tssl.OPENSSL_VERSION_NUMBER == std.OPENSSL_VERSION_NUMBER


@pytest.mark.parametrize(
    "enum",
    [
        "TLSVersion",
        "Options",
        "VerifyMode",
        "VerifyFlags",
        "AlertDescription",
        "SSLErrorNumber",
        "_SSLMethod",
    ],
)
def test_enums_equal_stdlib(enum):
    ours = {k: int(v) for k, v in getattr(tssl, enum).__members__.items()}
    theirs = {k: int(v) for k, v in getattr(std, enum).__members__.items()}
    for name, value in theirs.items():
        if name in ours or STD_IS_SPEC:
            assert ours[name] == value, name


def test_purpose_equals_stdlib():
    for name in ("SERVER_AUTH", "CLIENT_AUTH"):
        assert tuple(getattr(tssl.Purpose, name)) == tuple(getattr(std.Purpose, name))
    assert tssl._ASN1Object.fromnid(129) == std._ASN1Object.fromnid(129)
    assert tssl._ASN1Object.fromname("serverAuth") == std._ASN1Object.fromname("serverAuth")
    assert tssl._ASN1Object("2.5.4.3") == std._ASN1Object("2.5.4.3")
    with pytest.raises(ValueError):
        tssl._ASN1Object("1.2.3.4.5.6.7.8.9.10.11")
    with pytest.raises(ValueError):
        tssl._ASN1Object.fromnid(-1)
    with pytest.raises(ValueError):
        tssl._ASN1Object.fromname("no such thing")


# ----------------------------------------------------------------------------- exceptions
@pytest.mark.parametrize(
    "name",
    [
        "SSLError",
        "SSLZeroReturnError",
        "SSLWantReadError",
        "SSLWantWriteError",
        "SSLSyscallError",
        "SSLEOFError",
        "SSLCertVerificationError",
        "CertificateError",
    ],
)
def test_exceptions_subclass_stdlib(name):
    ours = getattr(tssl, name)
    assert issubclass(ours, getattr(std, name))
    assert issubclass(ours, tssl.SSLError) and issubclass(ours, OSError)
    exc = ours(1, "message")
    assert str(exc) == "message"
    try:
        raise exc
    except std.SSLError as caught:
        assert caught is exc


def test_certificate_error_is_verification_error():
    assert tssl.CertificateError is tssl.SSLCertVerificationError
    assert issubclass(tssl.SSLCertVerificationError, ValueError)


# ----------------------------------------------------------------------------- SSLContext defaults
@needs_spec_stdlib
@pytest.mark.parametrize("protocol", ["PROTOCOL_TLS_CLIENT", "PROTOCOL_TLS_SERVER"])
def test_context_defaults_equal_stdlib(protocol):
    ours = tssl.SSLContext(getattr(tssl, protocol))
    theirs = std.SSLContext(getattr(std, protocol))
    assert ours.protocol == theirs.protocol and ours.protocol.name == protocol
    assert ours.verify_mode == theirs.verify_mode and isinstance(ours.verify_mode, tssl.VerifyMode)
    assert ours.check_hostname == theirs.check_hostname
    assert ours.minimum_version == theirs.minimum_version
    assert ours.maximum_version == theirs.maximum_version
    assert isinstance(ours.minimum_version, tssl.TLSVersion)
    assert ours.verify_flags == theirs.verify_flags and isinstance(ours.verify_flags, tssl.VerifyFlags)
    assert isinstance(ours.options, tssl.Options)
    if SAME_OPENSSL:
        assert ours.options == theirs.options
        assert ours.hostname_checks_common_name == theirs.hostname_checks_common_name
        assert ours.security_level == theirs.security_level
        assert [c["name"] for c in ours.get_ciphers()] == [c["name"] for c in theirs.get_ciphers()]
        assert ours.get_ciphers() == theirs.get_ciphers()
    assert ours.cert_store_stats() == {"x509": 0, "crl": 0, "x509_ca": 0}


def test_context_protocol_argument():
    with pytest.warns(DeprecationWarning):
        ctx = tssl.SSLContext()
    assert ctx.protocol == tssl.PROTOCOL_TLS
    with pytest.raises(ValueError):
        tssl.SSLContext(99)
    with pytest.raises(TypeError):
        tssl.SSLContext("tls")
    with pytest.warns(DeprecationWarning):
        legacy = tssl.SSLContext(tssl.PROTOCOL_TLSv1_2)
    assert legacy.minimum_version == legacy.maximum_version == tssl.TLSVersion.TLSv1_2
    with pytest.raises(ValueError):
        legacy.minimum_version = tssl.TLSVersion.TLSv1_3


def test_check_hostname_coupling():
    for mod in MODS:
        ctx = mod.SSLContext(mod.PROTOCOL_TLS_SERVER)
        assert ctx.verify_mode == mod.CERT_NONE and not ctx.check_hostname
        ctx.check_hostname = True
        assert ctx.verify_mode == mod.CERT_REQUIRED
        with pytest.raises(ValueError, match="check_hostname is enabled"):
            ctx.verify_mode = mod.CERT_NONE
        ctx.check_hostname = False
        ctx.verify_mode = mod.CERT_NONE
        ctx.verify_mode = mod.CERT_OPTIONAL
        assert ctx.verify_mode == mod.CERT_OPTIONAL
        ctx.check_hostname = True
        assert ctx.verify_mode == mod.CERT_OPTIONAL  # only CERT_NONE is upgraded
        with pytest.raises(ValueError):
            ctx.verify_mode = 5
    with pytest.raises(ValueError, match="invalid value for verify_mode"):
        tssl.SSLContext(tssl.PROTOCOL_TLS_SERVER).verify_mode = 5
    with pytest.raises(TypeError):
        tssl.SSLContext(tssl.PROTOCOL_TLS_SERVER).verify_mode = "x"


def test_versions_and_options():
    for mod in MODS:
        ctx = mod.SSLContext(mod.PROTOCOL_TLS_CLIENT)
        ctx.minimum_version = mod.TLSVersion.TLSv1_3
        assert ctx.minimum_version == mod.TLSVersion.TLSv1_3
        ctx.maximum_version = mod.TLSVersion.MAXIMUM_SUPPORTED
        assert ctx.maximum_version == mod.TLSVersion.MAXIMUM_SUPPORTED
        ctx.minimum_version = mod.TLSVersion.MINIMUM_SUPPORTED
        assert ctx.minimum_version == mod.TLSVersion.MINIMUM_SUPPORTED
        with pytest.raises(ValueError, match="Unsupported .* version 0x1"):
            ctx.minimum_version = 1
        with pytest.warns(DeprecationWarning):
            ctx.minimum_version = mod.TLSVersion.TLSv1
        ctx.options |= mod.OP_NO_TICKET
        assert ctx.options & mod.OP_NO_TICKET
        ctx.options &= ~mod.OP_NO_TICKET
        assert not ctx.options & mod.OP_NO_TICKET
        with pytest.warns(DeprecationWarning):
            ctx.options |= mod.OP_NO_TLSv1_1
        ctx.verify_flags |= mod.VERIFY_X509_STRICT
        assert ctx.verify_flags & mod.VERIFY_X509_STRICT
        ctx.verify_flags = mod.VERIFY_DEFAULT
        assert ctx.verify_flags == 0
        ctx.hostname_checks_common_name = False
        assert ctx.hostname_checks_common_name is False
        ctx.hostname_checks_common_name = True
        assert ctx.hostname_checks_common_name is True


def test_context_defaults():
    for protocol in (tssl.PROTOCOL_TLS_CLIENT, tssl.PROTOCOL_TLS_SERVER):
        ctx = tssl.SSLContext(protocol)
        client = protocol == tssl.PROTOCOL_TLS_CLIENT
        assert ctx.verify_mode == (tssl.CERT_REQUIRED if client else tssl.CERT_NONE)
        assert ctx.check_hostname is client
        assert ctx.minimum_version == tssl.TLSVersion.TLSv1_2
        assert ctx.maximum_version == tssl.TLSVersion.MAXIMUM_SUPPORTED
        assert ctx.verify_flags == tssl.VERIFY_X509_TRUSTED_FIRST
        assert ctx.hostname_checks_common_name is True  # CPython 3.11 with OpenSSL 3
        for flag in (tssl.OP_NO_SSLv3, tssl.OP_NO_COMPRESSION, tssl.OP_CIPHER_SERVER_PREFERENCE):
            assert ctx.options & flag
        assert ctx.security_level == 2
        names = [c["name"] for c in ctx.get_ciphers()]
        assert "TLS_AES_256_GCM_SHA384" in names and "ECDHE-RSA-AES128-GCM-SHA256" in names
        assert not any("SHA1" in c["description"].split("Mac=")[1] for c in ctx.get_ciphers())


@needs_spec_stdlib
def test_create_default_context_equals_stdlib():
    for purpose in ("SERVER_AUTH", "CLIENT_AUTH"):
        ours = tssl.create_default_context(getattr(tssl.Purpose, purpose))
        theirs = std.create_default_context(getattr(std.Purpose, purpose))
        for attr in (
            "protocol",
            "verify_mode",
            "check_hostname",
            "minimum_version",
            "maximum_version",
            "verify_flags",
        ):
            assert getattr(ours, attr) == getattr(theirs, attr), attr
        if SAME_OPENSSL:
            assert ours.options == theirs.options
            assert ours.cert_store_stats() == theirs.cert_store_stats()
    assert tssl.create_default_context().minimum_version == tssl.TLSVersion.TLSv1_2
    with pytest.raises(TypeError):
        tssl.create_default_context("serverAuth")
    with pytest.raises(ValueError):
        tssl.create_default_context(tssl._ASN1Object("2.5.4.3"))
    assert tssl._create_default_https_context is tssl.create_default_context
    assert tssl._create_stdlib_context is tssl._create_unverified_context
    unverified = tssl._create_unverified_context()
    assert unverified.verify_mode == tssl.CERT_NONE and not unverified.check_hostname
    assert unverified.protocol == tssl.PROTOCOL_TLS_CLIENT
    with pytest.raises(ValueError, match="certfile must be specified"):
        tssl._create_unverified_context(keyfile="x")


def test_create_default_context_with_cadata(certs):
    with open(certs.ca) as f:
        pem = f.read()
    ctx = tssl.create_default_context(cadata=pem)
    assert ctx.cert_store_stats() == {"x509": 1, "crl": 0, "x509_ca": 1}
    ctx = tssl.create_default_context(cafile=certs.ca)
    assert ctx.cert_store_stats()["x509_ca"] == 1


# ----------------------------------------------------------------------------- load_cert_chain
def test_load_cert_chain_paths(certs):
    ctx = tssl.SSLContext(tssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(certs.server, certs.server_key)
    ctx.load_cert_chain(pathlib.Path(certs.server_ec), pathlib.Path(certs.server_ec_key))
    ctx.load_cert_chain(os.fsencode(certs.server), keyfile=os.fsencode(certs.server_key))
    combined = os.path.join(certs.dir, "combined.pem")
    with open(combined, "w") as out:
        for part in (certs.server, certs.server_key):
            with open(part) as f:
                out.write(f.read())
    ctx.load_cert_chain(combined)


def test_load_cert_chain_missing_file(certs):
    for mod in MODS:
        ctx = mod.SSLContext(mod.PROTOCOL_TLS_SERVER)
        with pytest.raises(FileNotFoundError) as info:
            ctx.load_cert_chain(os.path.join(certs.dir, "missing.pem"))
        assert info.value.errno == 2
        with pytest.raises(FileNotFoundError):
            ctx.load_cert_chain(certs.server, os.path.join(certs.dir, "missing.key"))


def test_load_cert_chain_bad_types(certs):
    ctx = tssl.SSLContext(tssl.PROTOCOL_TLS_SERVER)
    with pytest.raises(TypeError, match="certfile should be a valid filesystem path"):
        ctx.load_cert_chain(1)
    with pytest.raises(TypeError, match="keyfile should be a valid filesystem path"):
        ctx.load_cert_chain(certs.server, 1.5)
    with pytest.raises(TypeError, match="password should be a string or callable"):
        ctx.load_cert_chain(certs.server, certs.server_key_encrypted, password=1)


@pytest.mark.parametrize(
    "password",
    [PASSWORD, PASSWORD.encode(), bytearray(PASSWORD.encode()), lambda: PASSWORD, lambda: PASSWORD.encode()],
    ids=["str", "bytes", "bytearray", "callable-str", "callable-bytes"],
)
def test_load_cert_chain_password_forms(certs, password):
    ctx = tssl.SSLContext(tssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(certs.server, certs.server_key_encrypted, password=password)


def test_load_cert_chain_password_callable_laziness(certs):
    calls = []

    def password():
        calls.append(1)
        return PASSWORD

    ctx = tssl.SSLContext(tssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(certs.server, certs.server_key, password=password)
    assert calls == []  # the key is not encrypted: never asked
    ctx.load_cert_chain(certs.server, certs.server_key_encrypted, password=password)
    assert calls == [1]


def test_load_cert_chain_wrong_password(certs):
    outcomes = []
    for mod in MODS:
        ctx = mod.SSLContext(mod.PROTOCOL_TLS_SERVER)
        with pytest.raises(mod.SSLError) as info:
            ctx.load_cert_chain(certs.server, certs.server_key_encrypted, password="wrong")
        outcomes.append((info.value.library, info.value.reason, info.value.errno))
        with pytest.raises(ZeroDivisionError):
            ctx.load_cert_chain(certs.server, certs.server_key_encrypted, password=lambda: 1 / 0)
        with pytest.raises(TypeError, match="password callback must return a string"):
            ctx.load_cert_chain(certs.server, certs.server_key_encrypted, password=lambda: 5)
        with pytest.raises(ValueError, match="password cannot be longer than 1024 bytes"):
            ctx.load_cert_chain(certs.server, certs.server_key_encrypted, password="x" * 2000)
    if SAME_OPENSSL and STD_IS_SPEC:
        assert outcomes[0] == outcomes[1]


def test_load_cert_chain_encrypted_key_without_password_never_prompts(certs):
    # The stdlib falls back to OpenSSL's terminal prompt here (OSError EINVAL without
    # a tty); tls.ssl never prompts and reports the failure as an SSLError.
    ctx = tssl.SSLContext(tssl.PROTOCOL_TLS_SERVER)
    with pytest.raises(tssl.SSLError) as info:
        ctx.load_cert_chain(certs.server, certs.server_key_encrypted)
    assert info.value.library == "SSL"


def test_load_cert_chain_key_mismatch(certs):
    outcomes = []
    for mod in MODS:
        ctx = mod.SSLContext(mod.PROTOCOL_TLS_SERVER)
        with pytest.raises(mod.SSLError) as info:
            ctx.load_cert_chain(certs.server, certs.client_key)
        assert str(info.value).startswith("[X509: KEY_VALUES_MISMATCH] key values mismatch")
        assert (info.value.library, info.value.reason) == ("X509", "KEY_VALUES_MISMATCH")
        with pytest.raises(mod.SSLError) as info:  # EC key, RSA certificate: another slot
            ctx.load_cert_chain(certs.server, certs.server_ec_key)
        outcomes.append((type(info.value).__name__, info.value.library, info.value.reason, info.value.errno))
    if SAME_OPENSSL and STD_IS_SPEC:
        assert outcomes[0] == outcomes[1]
    from tls._binding import lib

    assert lib.ERR_peek_error() == 0


def test_load_cert_chain_not_a_certificate(certs):
    for mod in MODS:
        ctx = mod.SSLContext(mod.PROTOCOL_TLS_SERVER)
        with pytest.raises(mod.SSLError) as info:
            ctx.load_cert_chain(certs.server_key)  # a key, no certificate
        assert info.value.library in ("PEM", "SSL")


# ----------------------------------------------------------------------------- trust anchors
def _pem(path):
    with open(path) as f:
        return f.read()


def test_load_verify_locations_forms(certs):
    for mod in MODS:
        ctx = mod.SSLContext(mod.PROTOCOL_TLS_CLIENT)
        ctx.load_verify_locations(cafile=certs.ca)
        ctx.load_verify_locations(cafile=pathlib.Path(certs.other_ca))
        assert ctx.cert_store_stats() == {"x509": 2, "crl": 0, "x509_ca": 2}
        ctx = mod.SSLContext(mod.PROTOCOL_TLS_CLIENT)
        ctx.load_verify_locations(cadata=_pem(certs.ca) + "\n" + _pem(certs.other_ca) + _pem(certs.server))
        assert ctx.cert_store_stats() == {"x509": 3, "crl": 0, "x509_ca": 2}
        ctx = mod.SSLContext(mod.PROTOCOL_TLS_CLIENT)
        if mod is tssl or not stdlib_rejects_der_cadata(certs.ca):
            der = std.PEM_cert_to_DER_cert(_pem(certs.ca)) + std.PEM_cert_to_DER_cert(_pem(certs.other_ca))
            ctx.load_verify_locations(cadata=der)
            ctx.load_verify_locations(cadata=bytearray(der))  # duplicates are fine
            ctx.load_verify_locations(cadata=memoryview(der))
            assert ctx.cert_store_stats() == {"x509": 2, "crl": 0, "x509_ca": 2}
        ctx.load_verify_locations(capath=certs.dir)


def test_get_ca_certs_equals_stdlib(certs):
    results = []
    for mod in (tssl, std):
        ctx = mod.SSLContext(mod.PROTOCOL_TLS_CLIENT)
        ctx.load_verify_locations(cadata=_pem(certs.ca) + _pem(certs.other_ca) + _pem(certs.server))
        results.append((ctx.get_ca_certs(), ctx.get_ca_certs(binary_form=True)))
    assert sorted(map(repr, results[0][0])) == sorted(map(repr, results[1][0]))
    assert sorted(results[0][1]) == sorted(results[1][1])
    assert len(results[0][0]) == 2


def test_load_verify_locations_bad_input(certs):
    outcomes = []
    for mod in MODS:
        ctx = mod.SSLContext(mod.PROTOCOL_TLS_CLIENT)
        with pytest.raises(TypeError, match="cannot be all omitted"):
            ctx.load_verify_locations()
        with pytest.raises(TypeError, match="cafile should be a valid filesystem path"):
            ctx.load_verify_locations(cafile=1)
        with pytest.raises(TypeError, match="capath should be a valid filesystem path"):
            ctx.load_verify_locations(capath=1)
        with pytest.raises(TypeError, match="cadata should be an ASCII string or a bytes-like object"):
            ctx.load_verify_locations(cadata=1)
        with pytest.raises(FileNotFoundError):
            ctx.load_verify_locations(cafile=os.path.join(certs.dir, "missing.pem"))
        with pytest.raises(TypeError, match="cadata should be an ASCII string"):
            ctx.load_verify_locations(cadata="é")
        row = []
        for bad in (
            "not pem",
            b"not der",
            _pem(certs.ca)[:200],
            std.PEM_cert_to_DER_cert(_pem(certs.ca))[:100],
            std.PEM_cert_to_DER_cert(_pem(certs.ca)) + b"\x30\x03abc",
        ):
            with pytest.raises(mod.SSLError) as info:
                ctx.load_verify_locations(cadata=bad)
            row.append(info.value.args[1].rsplit(" (", 1)[0] if len(info.value.args) > 1 else info.value.args)
        outcomes.append(row)
    assert outcomes[0][:2] == [
        "no start line: cadata does not contain a certificate",
        "not enough data: cadata does not contain a certificate",
    ]
    if SAME_OPENSSL and STD_IS_SPEC:
        assert outcomes[0] == outcomes[1]


def test_set_default_verify_paths_and_load_default_certs():
    ctx = tssl.SSLContext(tssl.PROTOCOL_TLS_CLIENT)
    ctx.set_default_verify_paths()
    ctx.load_default_certs()
    with pytest.raises(TypeError):
        ctx.load_default_certs("serverAuth")


# ----------------------------------------------------------------------------- ciphers and ALPN
def test_set_ciphers():
    for mod in MODS:
        ctx = mod.SSLContext(mod.PROTOCOL_TLS_CLIENT)
        ctx.set_ciphers("ECDHE-RSA-AES128-GCM-SHA256")
        names = [c["name"] for c in ctx.get_ciphers()]
        assert "ECDHE-RSA-AES128-GCM-SHA256" in names
        assert "ECDHE-RSA-AES256-GCM-SHA384" not in names
        with pytest.raises(mod.SSLError, match="No cipher can be selected"):
            ctx.set_ciphers("nonsense")
        with pytest.raises(TypeError):
            ctx.set_ciphers(b"ALL")
    ours = tssl.SSLContext(tssl.PROTOCOL_TLS_CLIENT)
    theirs = std.SSLContext(std.PROTOCOL_TLS_CLIENT)
    if not STD_IS_SPEC:
        return
    ours.set_ciphers("AES")
    theirs.set_ciphers("AES")
    if SAME_OPENSSL:
        assert ours.get_ciphers() == theirs.get_ciphers()


@pytest.mark.parametrize("protocols", [[b"x" * 256], [""], ["x" * 256], [1], [b"h2"], [None], None])
def test_set_alpn_protocols_invalid(protocols):
    ctx_std = std.SSLContext(std.PROTOCOL_TLS_CLIENT)
    with pytest.raises(Exception) as theirs:
        ctx_std.set_alpn_protocols(protocols)
    ctx = tssl.SSLContext(tssl.PROTOCOL_TLS_CLIENT)
    with pytest.raises(type(theirs.value)) as ours:
        ctx.set_alpn_protocols(protocols)
    assert str(ours.value) == str(theirs.value)


def test_set_alpn_protocols_valid():
    ctx = tssl.SSLContext(tssl.PROTOCOL_TLS_CLIENT)
    ctx.set_alpn_protocols(["h2", "http/1.1"])
    ctx.set_alpn_protocols([])
    ctx.set_alpn_protocols(("x" * 255,))


# ----------------------------------------------------------------------------- MemoryBIO
def test_memory_bio_basics():
    for mod in MODS:
        bio = mod.MemoryBIO()
        assert bio.pending == 0 and not bio.eof
        assert bio.read() == b""
        assert bio.write(b"hello") == 5
        assert bio.write(bytearray(b" ")) == 1
        assert bio.write(memoryview(b"world")) == 5
        assert bio.write(array.array("B", b"!")) == 1
        assert bio.write(b"") == 0
        assert bio.pending == 12
        assert bio.read(5) == b"hello"
        assert bio.read(0) == b""
        assert bio.read() == b" world!"
        bio.write(b"tail")
        bio.write_eof()
        assert not bio.eof and bio.pending == 4
        with pytest.raises(mod.SSLError):
            bio.write(b"more")
        assert bio.read(-1) == b"tail"
        assert bio.eof
        with pytest.raises(TypeError):
            mod.MemoryBIO().write("text")
        with pytest.raises(TypeError):
            mod.MemoryBIO().read("1")


def test_memory_bio_write_after_eof_error():
    texts = []
    for mod in MODS:
        bio = mod.MemoryBIO()
        bio.write_eof()
        with pytest.raises(mod.SSLError) as info:
            bio.write(b"x")
        texts.append((str(info.value), info.value.args))
    if STD_IS_SPEC:
        assert texts[0] == texts[1]
    assert texts[0][1] == ("cannot write() after write_eof()",)


def test_memory_bio_close():
    bio = tssl.MemoryBIO()
    bio.write(b"x")
    bio.close()
    bio.close()


ops = st.lists(
    st.one_of(
        st.tuples(st.just("write"), st.binary(max_size=3000)),
        st.tuples(st.just("read"), st.integers(min_value=-1, max_value=4000)),
        st.tuples(st.just("eof"), st.none()),
    ),
    max_size=30,
)


@given(ops)
def test_memory_bio_differential(sequence):
    ours, theirs = tssl.MemoryBIO(), std.MemoryBIO()
    for op, arg in sequence:
        if op == "write":
            results = []
            for bio, mod in ((ours, tssl), (theirs, std)):
                try:
                    results.append(bio.write(arg))
                except mod.SSLError:
                    results.append("SSLError")
            assert results[0] == results[1]
        elif op == "read":
            assert ours.read(arg) == theirs.read(arg)
        else:
            ours.write_eof()
            theirs.write_eof()
        assert (ours.pending, ours.eof) == (theirs.pending, theirs.eof)


def test_no_warnings_on_import():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        import importlib

        importlib.reload(tssl)


# ----------------------------------------------------------------------------- module functions
def test_pem_der_conversions(certs):
    pem = _pem(certs.ca)
    der = tssl.PEM_cert_to_DER_cert(pem)
    assert der == std.PEM_cert_to_DER_cert(pem)
    assert tssl.DER_cert_to_PEM_cert(der) == std.DER_cert_to_PEM_cert(der)
    assert tssl.PEM_cert_to_DER_cert(tssl.DER_cert_to_PEM_cert(der)) == der
    with pytest.raises(ValueError, match="must start with"):
        tssl.PEM_cert_to_DER_cert("garbage")
    with pytest.raises(ValueError, match="must end with"):
        tssl.PEM_cert_to_DER_cert(tssl.PEM_HEADER + "\nAAAA\n")


def test_cert_time_to_seconds():
    for text in ("Jan  5 09:34:43 2018 GMT", "May 09 00:00:00 2007 GMT", "Dec 31 23:59:60 2019 GMT"):
        assert tssl.cert_time_to_seconds(text) == std.cert_time_to_seconds(text)
    for bad in ("Jan 5 09:34 2018", "Foo  5 09:34:43 2018 GMT", "Jan  5 09:34:43 2018 UTC"):
        with pytest.raises(ValueError):
            tssl.cert_time_to_seconds(bad)


def test_default_verify_paths():
    ours = tssl.get_default_verify_paths()
    assert type(ours).__name__ == "DefaultVerifyPaths"
    assert ours._fields == std.get_default_verify_paths()._fields
    if SAME_OPENSSL:
        assert ours == std.get_default_verify_paths()


def test_rand():
    assert tssl.RAND_status() is True
    assert len(tssl.RAND_bytes(100)) == 100
    assert tssl.RAND_bytes(0) == b""
    assert tssl.RAND_bytes(32) != tssl.RAND_bytes(32)
    with pytest.raises(ValueError):
        tssl.RAND_bytes(-1)
    with pytest.raises(TypeError):
        tssl.RAND_bytes(1.5)


# ----------------------------------------------------------------------------- certificate decoding
@pytest.mark.parametrize(
    "which", ["ca", "server", "server_ec", "client", "self_signed", "unknown_server", "expired", "many_names"]
)
def test_decode_cert_equals_stdlib(certs, which):
    path = getattr(certs, which)
    if path is None:
        pytest.skip("this openssl CLI cannot make a back-dated certificate")
    from tls import _ssl

    ours = _ssl._test_decode_cert(path)
    assert ours == std._ssl._test_decode_cert(path)
    assert list(ours) == list(std._ssl._test_decode_cert(path))  # same key order too
    if which == "many_names":
        kinds = {kind for kind, _ in ours["subjectAltName"]}
        assert kinds >= {"DNS", "email", "URI", "IP Address", "Registered ID", "DirName", "othername"}
        assert ("IP Address", "2001:DB8:0:0:0:0:0:1") in ours["subjectAltName"]
        assert (("stateOrProvinceName", "Zürich"),) in ours["subject"]
    if which == "server":
        assert ours["OCSP"] == ("http://ocsp.example.com/",)
        assert ours["crlDistributionPoints"] == ("http://crl.example.com/ca.crl", "ldap://crl.example.com/ca")


def test_import_leaves_stdlib_ssl_alone():
    import subprocess

    code = (
        "import ssl, _ssl\n"
        "before = (dict(vars(ssl)), dict(vars(_ssl)))\n"
        "import tls.ssl\n"
        "assert (dict(vars(ssl)), dict(vars(_ssl))) == before\n"
        "assert ssl.SSLContext is not tls.ssl.SSLContext\n"
    )
    root = os.path.dirname(os.path.dirname(os.path.abspath(tssl.__file__)))
    env = dict(os.environ, PYTHONPATH=root)
    subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=root)


# ---------------------------------------------------------------- deprecated 3.11 helpers
# CPython 3.11's outcomes, written down so PyPy (whose stdlib follows 3.9) checks them too.
MATCH_HOSTNAME_SPEC = [
    ({"subject": ((("commonName", "example.com"),),)}, "example.com", None),
    ({"subject": ((("commonName", "example.com"),),)}, "EXAMPLE.com", None),
    ({"subjectAltName": (("DNS", "*.a.com"),)}, "x.a.com", None),
    ({"subjectAltName": (("DNS", "*.a.com"),)}, "a.com", "hostname 'a.com' doesn't match '*.a.com'"),
    ({"subjectAltName": (("DNS", "*.a.com"),)}, "x.y.a.com", "hostname 'x.y.a.com' doesn't match '*.a.com'"),
    (
        {"subjectAltName": (("DNS", "*.a.com"), ("DNS", "b.com"))},
        "y.com",
        "hostname 'y.com' doesn't match either of '*.a.com', 'b.com'",
    ),
    ({"subjectAltName": (("IP Address", "127.0.0.1"),)}, "127.0.0.1", None),
    ({"subjectAltName": (("IP Address", "2001:DB8:0:0:0:0:0:1\n"),)}, "2001:db8::1", None),
    ({"subjectAltName": (("DNS", "a.com"),)}, "127.0.0.1", "hostname '127.0.0.1' doesn't match 'a.com'"),
    (
        {"subjectAltName": (("DNS", "127.0.0.1"),)},
        "127.0.0.1",
        "hostname '127.0.0.1' doesn't match '127.0.0.1'",
    ),
    (
        {"subjectAltName": (("IP Address", "127.0.0.1"),)},
        "127.1",
        "hostname '127.1' doesn't match '127.0.0.1'",
    ),
    ({"subjectAltName": (("email", "a@b.c"),), "subject": ((("commonName", "c.com"),),)}, "c.com", None),
    (
        {"subjectAltName": (("DNS", "a.com"),), "subject": ((("commonName", "c.com"),),)},
        "c.com",
        "hostname 'c.com' doesn't match 'a.com'",
    ),
    (
        {"subject": ((("organizationName", "x"),),)},
        "c.com",
        "no appropriate commonName or subjectAltName fields were found",
    ),
    (
        {"subjectAltName": (("DNS", "f*.com"),)},
        "foo.com",
        "partial wildcards in leftmost label are not supported: 'f*.com'.",
    ),
    (
        {"subjectAltName": (("DNS", "*.*.com"),)},
        "foo.com",
        "too many wildcards in certificate DNS name: '*.*.com'.",
    ),
    (
        {"subjectAltName": (("DNS", "a.*.com"),)},
        "foo.com",
        "wildcard can only be present in the leftmost label: 'a.*.com'.",
    ),
    (
        {"subjectAltName": (("DNS", "*"),)},
        "foo",
        "sole wildcard without additional labels are not support: '*'.",
    ),
    ({"subjectAltName": (("DNS", ""),)}, "foo", "hostname 'foo' doesn't match ''"),
]


@pytest.mark.parametrize("cert, hostname, error", MATCH_HOSTNAME_SPEC)
def test_match_hostname(cert, hostname, error):
    with pytest.warns(DeprecationWarning, match=r"ssl\.match_hostname\(\) is deprecated"):
        if error is None:
            assert tssl.match_hostname(cert, hostname) is None
            return
        with pytest.raises(tssl.CertificateError) as e:
            tssl.match_hostname(cert, hostname)
    assert e.value.args == (error,)
    assert isinstance(e.value, std.CertificateError)
    if STD_IS_SPEC:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            with pytest.raises(std.CertificateError) as s:
                std.match_hostname(cert, hostname)
        assert str(e.value) == str(s.value) and s.value.args == e.value.args


def test_match_hostname_needs_a_certificate():
    with pytest.warns(DeprecationWarning), pytest.raises(ValueError, match="empty or no certificate"):
        tssl.match_hostname({}, "x")


def test_module_wrap_socket(certs):
    import socket

    with pytest.warns(DeprecationWarning, match=r"ssl\.wrap_socket\(\) is deprecated"):
        with pytest.raises(ValueError, match="certfile must be specified for server-side operations"):
            tssl.wrap_socket(socket.socket(), server_side=True)
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        server = std.SSLContext(std.PROTOCOL_TLS_SERVER)
        server.load_cert_chain(certs.server, certs.server_key)
        import threading

        def serve():
            conn, _ = listener.accept()
            with server.wrap_socket(conn, server_side=True) as s:
                s.sendall(b"hi")
                s.recv(1)

        thread = threading.Thread(target=serve)
        thread.start()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # also PROTOCOL_TLS's
            raw = socket.create_connection(listener.getsockname(), timeout=10)
            s = tssl.wrap_socket(raw, cert_reqs=tssl.CERT_REQUIRED, ca_certs=certs.ca)
        with s:
            assert isinstance(s, tssl.SSLSocket) and s.recv(2) == b"hi"
            assert s.getpeercert()["subject"]  # verified against ca_certs
            s.sendall(b"x")
        thread.join(10)


def test_protocol_names_and_rand_helpers():
    assert tssl.get_protocol_name(tssl.PROTOCOL_TLS_CLIENT) == "PROTOCOL_TLS_CLIENT"
    assert tssl.get_protocol_name(99) == "<unknown>"
    assert tssl.RAND_add("text", 0.5) is None and tssl.RAND_add(b"bytes", 2) is None
    assert tssl.RAND_add(memoryview(b""), 0) is None
    with pytest.raises(TypeError, match="a bytes-like object is required, not 'int'"):
        tssl.RAND_add(1, 2)
    with pytest.warns(DeprecationWarning, match=r"ssl\.RAND_pseudo_bytes\(\) is deprecated"):
        data, strong = tssl.RAND_pseudo_bytes(16)
    assert len(data) == 16 and strong is True


def test_stdlib_purpose_accepted():
    """Code that imported ssl passes its Purpose to tls.ssl's factories."""
    assert tssl.create_default_context(std.Purpose.SERVER_AUTH).protocol == tssl.PROTOCOL_TLS_CLIENT
    assert tssl.create_default_context(std.Purpose.CLIENT_AUTH).protocol == tssl.PROTOCOL_TLS_SERVER
    ctx = tssl._create_unverified_context(purpose=std.Purpose.SERVER_AUTH)
    assert ctx.verify_mode == tssl.CERT_NONE
    tssl.SSLContext(tssl.PROTOCOL_TLS_CLIENT).load_default_certs(std.Purpose.SERVER_AUTH)
    with pytest.raises(TypeError):
        tssl.create_default_context("1.3.6.1.5.5.7.3.1")


@pytest.mark.skipif(not STD_IS_SPEC, reason="the stdlib ssl here is not CPython 3.11's")
def test_every_public_name_of_the_stdlib_module():
    """tls.ssl has each public name CPython's ssl has, except what ssl.py merely imports
    from socket and other modules for itself."""
    imported_helpers = {"SOCK_STREAM", "SOL_SOCKET", "SO_TYPE", "create_connection", "socket"}
    public = {
        name
        for name, value in vars(std).items()
        if not name.startswith("_") and not isinstance(value, type(std)) and name not in imported_helpers
    }
    assert sorted(public - set(dir(tssl))) == []
