"""Certificate-chain verification as an API, with the verifier a TLS handshake uses.

``verify_chain(leaf, intermediates, trusted)`` builds and checks a certification path
the way ``tls.ssl`` checks a peer during a handshake (``X509_verify_cert`` under
libssl's ``"ssl_server"``/``"ssl_client"`` verification defaults, trusted-first path
building, no partial wildcards in host names) and returns the verified chain as DER
certificates, leaf first -- what ``SSLSocket.get_verified_chain()`` returns after a
handshake.  A chain that does not verify raises ``tls.ssl.SSLCertVerificationError``
with the ``verify_code``, ``verify_message``, ``library``, ``reason`` and text a
handshake failing on the same chain raises.

Beyond a handshake it can check against CRLs handed in (``crls=``), at another time
(``at_time=``) and with RFC 5280 certificate-policy processing (``policies=``,
``explicit_policy=``, ``inhibit_any_policy=``, ``inhibit_policy_mapping=``).

Certificates and CRLs are given as PEM (``str`` or bytes) or DER (bytes-like); a
sequence argument may also be one PEM bundle.  Everything OpenSSL allocates lives for
one call and is freed before it returns.
"""

from __future__ import annotations

import datetime as _datetime
import math
import operator

from tls import ssl as _tls_ssl
from tls._binding import OpenSSLError, consume_errors, ffi, lib, openssl_assert, verify_result_message

__all__ = ["verify_chain"]

_PEM_MARKER = b"-----BEGIN"
_ANY_POLICY_OID = "2.5.29.32.0"
_PURPOSE_OIDS = {"1.3.6.1.5.5.7.3.1": "server", "1.3.6.1.5.5.7.3.2": "client"}
_VERIFY_DEFAULTS = {"server": b"ssl_server", "client": b"ssl_client"}
_LONG_MAX = 2 ** (8 * ffi.sizeof("long") - 1) - 1
_ULONG_MAX = 2 ** (8 * ffi.sizeof("unsigned long")) - 1
_TIME_MIN = -(2 ** (8 * ffi.sizeof("time_t") - 1))
_TIME_MAX = 2 ** (8 * ffi.sizeof("time_t") - 1) - 1
# The location suffix tls.ssl's errors carry ("(_ssl.c:0)"), so str(exc) is the text a
# failed handshake gives (tests/test_x509.py compares the two).
_LOCATION = "_ssl.c:0"


def verify_chain(
    leaf,
    intermediates,
    trusted,
    *,
    hostname=None,
    purpose="server",
    at_time=None,
    crls=(),
    verify_flags=None,
    policies=None,
    explicit_policy=False,
    inhibit_any_policy=False,
    inhibit_policy_mapping=False,
):
    """Verify ``leaf`` up to one of the ``trusted`` certificates; return the chain.

    leaf
        The certificate to verify: PEM (``str`` or bytes) or DER (bytes-like).
    intermediates
        Untrusted certificates that may complete the path (what a peer sends after
        its own certificate), in any order: an iterable of certificates (empty when
        there are none), or one PEM bundle.
    trusted
        The trust anchors: an iterable of certificates (at least one), or one PEM
        bundle.  ``SSLContext.get_ca_certs(binary_form=True)`` gives a context's.
    hostname
        When given, the leaf must be valid for this DNS name (wildcards as a
        handshake allows them) or, when it is an IPv4/IPv6 address, for that IP.
    purpose
        ``"server"`` (the leaf is a TLS server's: what a client checks) or
        ``"client"`` (a TLS client's: what a server checks); ``ssl.Purpose.SERVER_AUTH``
        and ``ssl.Purpose.CLIENT_AUTH`` mean the same.
    at_time
        Verify as of this moment instead of now: an aware ``datetime`` or POSIX
        seconds (int or float).
    crls
        Certificate revocation lists (PEM or DER; an iterable or one PEM bundle).
        When any are given, every certificate of the chain must be covered by a
        valid CRL (``VERIFY_CRL_CHECK_CHAIN``, unless ``verify_flags`` asks for
        ``VERIFY_CRL_CHECK_LEAF``); indirect CRLs, reason partitions and delta CRLs
        are processed (OpenSSL's extended CRL support).
    verify_flags
        ``ssl.VerifyFlags`` as ``SSLContext.verify_flags`` takes them (e.g.
        ``VERIFY_X509_STRICT``, ``VERIFY_X509_PARTIAL_CHAIN``); default
        ``VERIFY_X509_TRUSTED_FIRST``, a default client context's.
    policies
        RFC 5280 certificate-policy processing: the initial policy set, as dotted
        OIDs (``"anyPolicy"`` for 2.5.29.32.0).  ``None`` (the default) means no
        policy processing, as in a handshake; it is on as soon as ``policies`` is
        given or one of the three switches below is true (with ``anyPolicy`` as the
        initial set when ``policies`` is ``None``).
    explicit_policy
        initial-explicit-policy: the path must be valid for a policy of the set.
    inhibit_any_policy
        initial-any-policy-inhibit: ``anyPolicy`` in certificates matches nothing.
    inhibit_policy_mapping
        initial-policy-mapping-inhibit: policy mappings are not followed.

    Returns the verified chain as a list of DER ``bytes``, the leaf first and the
    trust anchor last.  Raises ``tls.ssl.SSLCertVerificationError`` when the chain
    does not verify, ``TypeError``/``ValueError`` for unusable arguments
    (unparsable certificates and CRLs raise ``tls.exceptions.OpenSSLError``, a
    ``ValueError``).
    """
    purpose_name = _purpose(purpose)
    check_time = _posix_time(at_time)
    shown_host, host = _hostname(hostname)
    flags = _verify_flags(verify_flags)
    policy_oids = _policies(policies, explicit_policy, inhibit_any_policy, inhibit_policy_mapping)

    owned = []  # every X509 / X509_CRL parsed here, freed in the finally below
    store = ctx = untrusted = crl_stack = ffi.NULL
    try:
        leaf_certs = _parse(leaf, "leaf", _CERT, owned, single=True)
        inter_certs = _parse_many(intermediates, "intermediates", _CERT, owned)
        trusted_certs = _parse_many(trusted, "trusted", _CERT, owned)
        if not trusted_certs:
            raise ValueError("trusted must hold at least one certificate")
        crl_objs = _parse_many(crls, "crls", _CRL, owned)
        if crl_objs and not flags & lib.X509_V_FLAG_CRL_CHECK:
            flags |= lib.X509_V_FLAG_CRL_CHECK | lib.X509_V_FLAG_CRL_CHECK_ALL
        if crl_objs:
            flags |= lib.X509_V_FLAG_EXTENDED_CRL_SUPPORT | lib.X509_V_FLAG_USE_DELTAS
        if policy_oids is not None:
            flags |= lib.X509_V_FLAG_POLICY_CHECK
            if explicit_policy:
                flags |= lib.X509_V_FLAG_EXPLICIT_POLICY
            if inhibit_any_policy:
                flags |= lib.X509_V_FLAG_INHIBIT_ANY
            if inhibit_policy_mapping:
                flags |= lib.X509_V_FLAG_INHIBIT_MAP

        store = lib.X509_STORE_new()
        openssl_assert(store != ffi.NULL, "X509_STORE_new")
        for cert in trusted_certs:
            if not lib.X509_STORE_add_cert(store, cert):
                _raise_unless_duplicate("X509_STORE_add_cert")
        untrusted = _stack(inter_certs)
        crl_stack = _stack(crl_objs)

        ctx = lib.X509_STORE_CTX_new()
        openssl_assert(ctx != ffi.NULL, "X509_STORE_CTX_new")
        if not lib.tls_X509_STORE_CTX_init(ctx, store, leaf_certs[0], untrusted):
            _raise("X509_STORE_CTX_init")
        # What libssl's ssl_verify_cert_chain does: the named defaults set purpose and trust.
        if not lib.X509_STORE_CTX_set_default(ctx, _VERIFY_DEFAULTS[purpose_name]):
            _raise("X509_STORE_CTX_set_default")
        lib.tls_X509_STORE_CTX_set0_crls(ctx, crl_stack)
        param = lib.X509_STORE_CTX_get0_param(ctx)
        openssl_assert(lib.X509_VERIFY_PARAM_set_flags(param, flags), "X509_VERIFY_PARAM_set_flags")
        lib.X509_VERIFY_PARAM_set_hostflags(param, lib.X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS)
        if check_time is not None:
            lib.X509_VERIFY_PARAM_set_time(param, check_time)
        if host is not None:
            _set_host(param, host)
        for oid in policy_oids or ():
            _add_policy(param, oid)

        ret = lib.X509_verify_cert(ctx)
        if ret == 1:
            consume_errors()  # a verified chain leaves nothing behind, but never a stale entry
            return _chain_der(lib.tls_X509_STORE_CTX_get0_chain(ctx))
        code = lib.X509_STORE_CTX_get_error(ctx)
        errors = consume_errors()
        if ret < 0 and code in (lib.X509_V_OK, lib.X509_V_ERR_UNSPECIFIED) and errors:
            raise OpenSSLError("X509_verify_cert failed", errors)
        raise _verification_error(code, shown_host)
    finally:
        if ctx != ffi.NULL:
            lib.X509_STORE_CTX_free(ctx)
        for stack in (untrusted, crl_stack):
            if stack != ffi.NULL:
                lib.OPENSSL_sk_free(stack)  # the certificates and CRLs are freed below
        if store != ffi.NULL:
            lib.X509_STORE_free(store)
        for free, obj in owned:
            free(obj)


def _stack(items):
    """An untyped OpenSSL stack borrowing ``items`` (X509 or X509_CRL pointers)."""
    stack = lib.OPENSSL_sk_new_null()
    openssl_assert(stack != ffi.NULL, "OPENSSL_sk_new_null")
    for item in items:
        if lib.OPENSSL_sk_push(stack, item) <= 0:
            lib.OPENSSL_sk_free(stack)
            openssl_assert(False, "OPENSSL_sk_push")
    return stack


# --------------------------------------------------------------------------- results
def _chain_der(stack):
    openssl_assert(stack != ffi.NULL, "X509_STORE_CTX_get0_chain")
    chain = []
    for i in range(lib.OPENSSL_sk_num(stack)):
        cert = ffi.cast("X509 *", lib.OPENSSL_sk_value(stack, i))
        n = lib.i2d_X509(cert, ffi.NULL)
        if n < 0:
            _raise("i2d_X509")
        buf = ffi.new("unsigned char[]", n)
        openssl_assert(lib.i2d_X509(cert, ffi.new("unsigned char **", buf)) == n, "i2d_X509")
        chain.append(ffi.buffer(buf, n)[:])
    return chain


def _verification_error(code, hostname):
    """The SSLCertVerificationError a handshake raises for the same verify result."""
    message = verify_result_message(code, hostname)
    exc = _tls_ssl.SSLCertVerificationError(
        1, f"[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: {message} ({_LOCATION})"
    )
    exc.library = "SSL"
    exc.reason = "CERTIFICATE_VERIFY_FAILED"
    exc.verify_code = code
    exc.verify_message = message
    return exc


def _raise(what):
    raise OpenSSLError(f"{what} failed", consume_errors())


def _raise_unless_duplicate(what):
    """Adding a certificate the store already holds is not an error."""
    errors = consume_errors()
    if errors and all(
        (e.lib, e.reason) == (lib.ERR_LIB_X509, lib.X509_R_CERT_ALREADY_IN_HASH_TABLE) for e in errors
    ):
        return
    raise OpenSSLError(f"{what} failed", errors)


# --------------------------------------------------------------------------- parameters
def _purpose(purpose):
    if isinstance(purpose, str):
        if purpose in _VERIFY_DEFAULTS:
            return purpose
        raise ValueError(f"purpose must be 'server' or 'client', not {purpose!r}")
    oid = getattr(purpose, "oid", None)  # ssl.Purpose.SERVER_AUTH / CLIENT_AUTH (either module)
    if isinstance(oid, str) and oid in _PURPOSE_OIDS:
        return _PURPOSE_OIDS[oid]
    raise TypeError(f"purpose must be 'server', 'client' or an ssl.Purpose, not {type(purpose).__name__}")


def _posix_time(at_time):
    if at_time is None:
        return None
    if isinstance(at_time, _datetime.datetime):
        if at_time.tzinfo is None or at_time.utcoffset() is None:
            raise ValueError("at_time must be a timezone-aware datetime (e.g. tzinfo=datetime.timezone.utc)")
        delta = at_time - _datetime.datetime(1970, 1, 1, tzinfo=_datetime.timezone.utc)
        seconds = delta.days * 86400 + delta.seconds
    elif isinstance(at_time, bool) or not isinstance(at_time, (int, float)):
        raise TypeError(f"at_time must be a datetime or POSIX seconds, not {type(at_time).__name__}")
    elif isinstance(at_time, float):
        if not math.isfinite(at_time):
            raise ValueError("at_time must be a finite number of seconds")
        seconds = math.floor(at_time)
    else:
        seconds = at_time
    if not _TIME_MIN <= seconds <= _TIME_MAX:
        raise ValueError("at_time is out of range")
    return seconds


def _hostname(hostname):
    """(the name as error messages show it, the ASCII bytes OpenSSL checks) or (None, None)."""
    if hostname is None:
        return None, None
    if isinstance(hostname, (bytes, bytearray)):
        hostname = bytes(hostname).decode("ascii")
    if not isinstance(hostname, str):
        raise TypeError(f"hostname must be str, not {type(hostname).__name__}")
    if not hostname or hostname.startswith("."):
        raise ValueError("hostname cannot be an empty string or start with a leading dot.")
    if "\0" in hostname:
        raise ValueError("embedded null character")
    # A U-label name is checked (and shown in errors) in its A-label form, as SSLContext
    # encodes server_hostname.
    raw = hostname.encode("ascii") if hostname.isascii() else hostname.encode("idna")
    return raw.decode("ascii"), raw


def _set_host(param, host):
    # An address (IPv4 or IPv6 text) is matched against iPAddress names, anything else
    # against DNS names: what the handshake's hostname setup does.
    if lib.X509_VERIFY_PARAM_set1_ip_asc(param, host) == 1:
        return
    consume_errors()  # not an address (nothing queued, but never keep a stale entry)
    if not lib.X509_VERIFY_PARAM_set1_host(param, host, len(host)):
        _raise("X509_VERIFY_PARAM_set1_host")


def _verify_flags(verify_flags):
    if verify_flags is None:
        return lib.X509_V_FLAG_TRUSTED_FIRST
    if isinstance(verify_flags, bool):
        raise TypeError("verify_flags must be an int (ssl.VerifyFlags), not bool")
    try:
        flags = operator.index(verify_flags)
    except TypeError:
        kind = type(verify_flags).__name__
        raise TypeError(f"verify_flags must be an int (ssl.VerifyFlags), not {kind}") from None
    if not 0 <= flags <= _ULONG_MAX:
        raise ValueError("verify_flags out of range")
    return flags


def _policies(policies, explicit_policy, inhibit_any_policy, inhibit_policy_mapping):
    for name, value in (
        ("explicit_policy", explicit_policy),
        ("inhibit_any_policy", inhibit_any_policy),
        ("inhibit_policy_mapping", inhibit_policy_mapping),
    ):
        if not isinstance(value, bool):
            raise TypeError(f"{name} must be a bool, not {type(value).__name__}")
    if policies is None:
        if explicit_policy or inhibit_any_policy or inhibit_policy_mapping:
            return [_ANY_POLICY_OID]
        return None
    if isinstance(policies, (str, bytes)):
        raise TypeError("policies must be an iterable of OID strings, not a single string")
    oids = []
    for oid in policies:
        if not isinstance(oid, str):
            raise TypeError(f"a policy must be an OID string, not {type(oid).__name__}")
        oids.append(_ANY_POLICY_OID if oid == "anyPolicy" else oid)
    if not oids:
        raise ValueError("policies must name at least one policy (use None for no policy processing)")
    return oids


def _add_policy(param, oid):
    if "\0" in oid or not oid.isascii():
        raise ValueError(f"not a dotted OID: {oid!r}")
    obj = lib.OBJ_txt2obj(oid.encode("ascii"), 1)  # 1: numeric form only
    if obj == ffi.NULL:
        consume_errors()
        raise ValueError(f"not a dotted OID: {oid!r}")
    if not lib.X509_VERIFY_PARAM_add0_policy(param, obj):  # takes obj only on success
        lib.ASN1_OBJECT_free(obj)
        _raise("X509_VERIFY_PARAM_add0_policy")


# --------------------------------------------------------------------------- parsing
class _Kind:
    def __init__(self, label, d2i, pem_read, free):
        self.label = label
        self.d2i = d2i
        self.pem_read = pem_read
        self.free = free


_CERT = _Kind("certificate", lib.d2i_X509, lib.PEM_read_bio_X509, lib.X509_free)
_CRL = _Kind("CRL", lib.d2i_X509_CRL, lib.PEM_read_bio_X509_CRL, lib.X509_CRL_free)
_NO_PASSWORD = ffi.addressof(lib, "tls_pem_password_cb")  # never prompts on a terminal


def _as_bytes(data, what):
    if isinstance(data, str):
        try:
            raw = data.encode("ascii")
        except UnicodeEncodeError:
            raise ValueError(f"{what}: PEM text must be ASCII") from None
        if _PEM_MARKER not in raw:
            raise ValueError(f"{what}: a str must hold PEM text (-----BEGIN ...); DER goes in bytes")
        return raw
    try:
        return bytes(memoryview(data))
    except TypeError:
        raise TypeError(
            f"{what} must be PEM (str or bytes) or DER (a bytes-like object), not {type(data).__name__}"
        ) from None


def _parse_many(items, what, kind, owned):
    """An iterable of PEM/DER items, or one str/bytes-like holding a PEM bundle."""
    if items is None:
        return []
    if isinstance(items, (str, bytes, bytearray, memoryview)):
        return _parse(items, what, kind, owned)
    try:
        iterator = iter(items)
    except TypeError:
        raise TypeError(
            f"{what} must be an iterable of {kind.label}s or a PEM bundle, not {type(items).__name__}"
        ) from None
    parsed = []
    for i, item in enumerate(iterator):
        if isinstance(item, (list, tuple)):
            raise TypeError(f"{what}[{i}] must be a {kind.label} (PEM or DER), not {type(item).__name__}")
        parsed.extend(_parse(item, f"{what}[{i}]", kind, owned))
    return parsed


def _parse(data, what, kind, owned, single=False):
    raw = _as_bytes(data, what)
    if not raw:
        raise ValueError(f"{what}: empty {kind.label} data")
    if len(raw) > _LONG_MAX:
        raise OverflowError(f"{what}: {kind.label} data too long")
    # A PEM block starts a line; DER may carry the same text inside a name.
    pem = raw.startswith(_PEM_MARKER) or b"\n" + _PEM_MARKER in raw
    found = _parse_pem(raw, what, kind, owned) if pem else _parse_der(raw, what, kind, owned)
    if single and len(found) != 1:
        raise ValueError(f"{what} must be exactly one {kind.label}, got {len(found)}")
    return found


def _parse_der(raw, what, kind, owned):
    found = []
    buf = ffi.from_buffer(raw)
    start = ffi.cast("const unsigned char *", buf)
    pos = ffi.new("const unsigned char **", start)
    end = len(raw)
    while True:
        done = pos[0] - start
        if done >= end:
            return found
        obj = kind.d2i(ffi.NULL, pos, end - done)
        if obj == ffi.NULL:
            raise OpenSSLError(f"{what}: not a DER {kind.label} (at byte {done})", consume_errors())
        owned.append((kind.free, obj))
        found.append(obj)


def _parse_pem(raw, what, kind, owned):
    found = []
    bio = lib.BIO_new_mem_buf(raw, len(raw))
    openssl_assert(bio != ffi.NULL, "BIO_new_mem_buf")
    try:
        while True:
            obj = kind.pem_read(bio, ffi.NULL, _NO_PASSWORD, ffi.NULL)
            if obj == ffi.NULL:
                break
            owned.append((kind.free, obj))
            found.append(obj)
    finally:
        lib.BIO_free(bio)
    errors = consume_errors()
    # Reading stops at the end of the data with PEM_R_NO_START_LINE; anything else is a
    # malformed block (bad base64, a body that does not parse).
    last = (errors[-1].lib, errors[-1].reason) if errors else None
    if not found:
        raise OpenSSLError(f"{what}: no PEM {kind.label} found", errors)
    if last != (lib.ERR_LIB_PEM, lib.PEM_R_NO_START_LINE):
        raise OpenSSLError(f"{what}: malformed PEM {kind.label}", errors)
    return found
