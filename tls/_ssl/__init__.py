"""The private TLS engine under ``tls.ssl``: the counterpart of CPython's ``_ssl``.

``tls.ssl`` adds the stdlib's conveniences (enums, ``create_default_context``,
``SSLObject``); this package drives OpenSSL: contexts, connections over memory
BIOs, errors, certificates.  Names and behaviour follow ``Modules/_ssl.c``.

I/O path: an ``SSLObject`` over this package's own ``MemoryBIO``s hands their
``BIO``s straight to OpenSSL (no copy at all).  Any other object with
MemoryBIO's interface (the stdlib's ``ssl.MemoryBIO``, as asyncio passes) is
served through a private memory BIO pair: bytes read from ``incoming`` are
written into OpenSSL once, records are moved to ``outgoing`` from one reused
buffer.  Nothing is allocated per record beyond what the interface forces.
"""

from __future__ import annotations

import contextlib
import operator
import os
import select
import socket
import time
import warnings
import weakref

from tls._binding import clear_errors, consume_errors, ffi, lib, openssl_assert, verify_result_message
from tls._ssl import _cert
from tls._ssl._errcodes import LIB_NAMES, REASON_NAMES

try:  # the stdlib module is optional: tls.ssl works where it is absent
    import ssl as _stdlib_ssl
except ImportError:  # pragma: no cover - depends on the interpreter build
    _stdlib_ssl = None

# --------------------------------------------------------------------------- constants
# CPython's own numbering (Modules/_ssl.c), not OpenSSL's.
PROTOCOL_SSLv23 = PROTOCOL_TLS = 2
PROTOCOL_TLSv1 = 3
PROTOCOL_TLSv1_1 = 4
PROTOCOL_TLSv1_2 = 5
PROTOCOL_TLS_CLIENT = 16
PROTOCOL_TLS_SERVER = 17

CERT_NONE = 0
CERT_OPTIONAL = 1
CERT_REQUIRED = 2

SSL_ERROR_SSL = 1
SSL_ERROR_WANT_READ = 2
SSL_ERROR_WANT_WRITE = 3
SSL_ERROR_WANT_X509_LOOKUP = 4
SSL_ERROR_SYSCALL = 5
SSL_ERROR_ZERO_RETURN = 6
SSL_ERROR_WANT_CONNECT = 7
SSL_ERROR_EOF = 8
SSL_ERROR_INVALID_ERROR_CODE = 10

PROTO_MINIMUM_SUPPORTED = -2
PROTO_MAXIMUM_SUPPORTED = -1
PROTO_SSLv3 = lib.SSL3_VERSION
PROTO_TLSv1 = lib.TLS1_VERSION
PROTO_TLSv1_1 = lib.TLS1_1_VERSION
PROTO_TLSv1_2 = lib.TLS1_2_VERSION
PROTO_TLSv1_3 = lib.TLS1_3_VERSION
_PROTO_VERSIONS = (PROTO_SSLv3, PROTO_TLSv1, PROTO_TLSv1_1, PROTO_TLSv1_2, PROTO_TLSv1_3)
_PROTO_NAMES = {
    PROTO_SSLv3: "SSLv3",
    PROTO_TLSv1: "TLSv1",
    PROTO_TLSv1_1: "TLSv1_1",
    PROTO_TLSv1_2: "TLSv1_2",
    PROTO_TLSv1_3: "TLSv1_3",
}

OP_ALL = lib.SSL_OP_ALL & ~lib.SSL_OP_DONT_INSERT_EMPTY_FRAGMENTS
OP_NO_SSLv2 = lib.SSL_OP_NO_SSLv2
OP_NO_SSLv3 = lib.SSL_OP_NO_SSLv3
OP_NO_TLSv1 = lib.SSL_OP_NO_TLSv1
OP_NO_TLSv1_1 = lib.SSL_OP_NO_TLSv1_1
OP_NO_TLSv1_2 = lib.SSL_OP_NO_TLSv1_2
OP_NO_TLSv1_3 = lib.SSL_OP_NO_TLSv1_3
OP_CIPHER_SERVER_PREFERENCE = lib.SSL_OP_CIPHER_SERVER_PREFERENCE
OP_SINGLE_DH_USE = lib.SSL_OP_SINGLE_DH_USE
OP_SINGLE_ECDH_USE = lib.SSL_OP_SINGLE_ECDH_USE
OP_NO_TICKET = lib.SSL_OP_NO_TICKET
OP_NO_COMPRESSION = lib.SSL_OP_NO_COMPRESSION
OP_NO_RENEGOTIATION = lib.SSL_OP_NO_RENEGOTIATION
OP_ENABLE_MIDDLEBOX_COMPAT = lib.SSL_OP_ENABLE_MIDDLEBOX_COMPAT
OP_IGNORE_UNEXPECTED_EOF = lib.SSL_OP_IGNORE_UNEXPECTED_EOF
_OP_NO_PROTOCOLS = OP_NO_SSLv2 | OP_NO_SSLv3 | OP_NO_TLSv1 | OP_NO_TLSv1_1 | OP_NO_TLSv1_2 | OP_NO_TLSv1_3

VERIFY_DEFAULT = 0
VERIFY_CRL_CHECK_LEAF = lib.X509_V_FLAG_CRL_CHECK
VERIFY_CRL_CHECK_CHAIN = lib.X509_V_FLAG_CRL_CHECK | lib.X509_V_FLAG_CRL_CHECK_ALL
VERIFY_X509_STRICT = lib.X509_V_FLAG_X509_STRICT
VERIFY_ALLOW_PROXY_CERTS = lib.X509_V_FLAG_ALLOW_PROXY_CERTS
VERIFY_X509_TRUSTED_FIRST = lib.X509_V_FLAG_TRUSTED_FIRST
VERIFY_X509_PARTIAL_CHAIN = lib.X509_V_FLAG_PARTIAL_CHAIN

HAS_SNI = True
HAS_ECDH = True
HAS_NPN = False
HAS_ALPN = True
HAS_NEVER_CHECK_COMMON_NAME = True
HAS_SSLv2 = False
HAS_SSLv3 = False
HAS_TLSv1 = bool(lib.TLS_HAS_TLSv1)
HAS_TLSv1_1 = bool(lib.TLS_HAS_TLSv1_1)
HAS_TLSv1_2 = bool(lib.TLS_HAS_TLSv1_2)
HAS_TLSv1_3 = bool(lib.TLS_HAS_TLSv1_3)
HAS_TLS_UNIQUE = True

# issue 7: external PSKs (CPython 3.13's HAS_PSK) and kernel TLS (CPython 3.12's OP_ENABLE_KTLS)
HAS_PSK = bool(lib.TLS_HAS_PSK)
OP_ENABLE_KTLS = lib.SSL_OP_ENABLE_KTLS


def _version_info(number):
    status = number & 0xF
    number >>= 4
    patch = number & 0xFF
    number >>= 8
    fix = number & 0xFF
    number >>= 8
    minor = number & 0xFF
    number >>= 8
    return (number & 0xFF, minor, fix, patch, status)


OPENSSL_VERSION_NUMBER = lib.OpenSSL_version_num()
OPENSSL_VERSION_INFO = _version_info(OPENSSL_VERSION_NUMBER)
OPENSSL_VERSION = ffi.string(lib.OpenSSL_version(lib.OPENSSL_VERSION)).decode("ascii")
_OPENSSL_API_VERSION = _version_info(lib.OPENSSL_VERSION_NUMBER)

_DEFAULT_CIPHERS = "@SECLEVEL=2:ECDH+AESGCM:ECDH+CHACHA20:ECDH+AES:DHE+AES:!aNULL:!eNULL:!aDSS:!SHA1:!AESCCM"

# Where an error message names its origin, CPython writes "(_ssl.c:LINE)".  The
# text is kept so that code matching it keeps working; the line is always 0.
_LOCATION = "_ssl.c:0"

_INT_MAX = 2**31 - 1
_KEEP_BIO_SCRATCH = 1 << 20  # MemoryBIO.read scratch buffers up to this size are kept
# Bound once: on CPython a module global is cheaper than an attribute of ``lib``.
_BIO_write = lib.BIO_write
_tls_bio_drain = lib.tls_bio_drain
_tls_BIO_new_mem = lib.tls_BIO_new_mem
_BIO_free = lib.BIO_free
_from_buffer = ffi.from_buffer
_sizeof = ffi.sizeof
_unpack = ffi.unpack  # char[] -> bytes: cheaper than ffi.buffer(...)[:] on CPython


# Scratch and read buffers are written by OpenSSL before being read: no zero-filling.
_new_unzeroed = ffi.new_allocator(should_clear_after_alloc=False)


def _new_chars(n):
    return _new_unzeroed("char[]", n)


def _release(view):
    """Give back the caller's buffer that ``ffi.from_buffer`` holds, when an exception
    leaves: its traceback keeps the cdata alive, and with it the export (a bytearray
    could not be resized, ``with memoryview(...)`` would fail to release it, and the
    reference cycle through the traceback has crashed CPython when collected)."""
    ffi.release(view)


_PASSWORD_CB = ffi.addressof(lib, "tls_pem_password_cb")

# --------------------------------------------------------------------------- exceptions
_std = _stdlib_ssl


def _bases(*ours, std=None, fallback=()):
    if std is not None:
        return (*ours, std)
    return (*ours, *fallback)


class SSLError(*_bases(std=_std and _std.SSLError, fallback=(OSError,))):
    """An error from the TLS layer (``library`` and ``reason`` name OpenSSL's error)."""

    library = None
    reason = None

    def __str__(self):
        if len(self.args) == 2 and isinstance(self.args[1], str):
            return self.args[1]
        return super().__str__()


class SSLZeroReturnError(*_bases(SSLError, std=_std and _std.SSLZeroReturnError)):
    """The TLS connection was closed cleanly (close_notify)."""


class SSLWantReadError(*_bases(SSLError, std=_std and _std.SSLWantReadError)):
    """More incoming data is needed before the operation can complete."""


class SSLWantWriteError(*_bases(SSLError, std=_std and _std.SSLWantWriteError)):
    """Outgoing data must be sent before the operation can complete."""


class SSLSyscallError(*_bases(SSLError, std=_std and _std.SSLSyscallError)):
    """A system error happened below the TLS layer."""


class SSLEOFError(*_bases(SSLError, std=_std and _std.SSLEOFError)):
    """The connection ended in violation of the protocol (no close_notify)."""


class SSLCertVerificationError(
    *_bases(SSLError, std=_std and _std.SSLCertVerificationError, fallback=(ValueError,))
):
    """The peer's certificate failed verification (``verify_code``, ``verify_message``)."""

    verify_code = None
    verify_message = None


del _bases

_ERRSTR = {
    SSL_ERROR_ZERO_RETURN: (SSLZeroReturnError, "TLS/SSL connection has been closed (EOF)"),
    SSL_ERROR_WANT_READ: (SSLWantReadError, "The operation did not complete (read)"),
    SSL_ERROR_WANT_WRITE: (SSLWantWriteError, "The operation did not complete (write)"),
    SSL_ERROR_WANT_X509_LOOKUP: (SSLError, "The operation did not complete (X509 lookup)"),
    SSL_ERROR_WANT_CONNECT: (SSLError, "The operation did not complete (connect)"),
}
_EOF_TEXT = "EOF occurred in violation of protocol"


def _make_error(exc_type, ssl_errno, errstr, errors, verify=None):
    """Build an SSLError the way CPython's fill_and_set_sslerror does, from the
    already drained error queue ``errors`` (the last entry names the error)."""
    lib_name = reason_name = None
    if errors:
        last = errors[-1]
        lib_name = LIB_NAMES.get(last.lib)
        reason_name = REASON_NAMES.get((last.lib, last.reason))
        if errstr is None:
            errstr = last.reason_text
    if errstr is None:
        errstr = "unknown error"
    if verify is not None and reason_name and lib_name:
        msg = f"[{lib_name}: {reason_name}] {errstr}: {verify[1]} ({_LOCATION})"
    elif reason_name and lib_name:
        msg = f"[{lib_name}: {reason_name}] {errstr} ({_LOCATION})"
    elif lib_name:
        msg = f"[{lib_name}] {errstr} ({_LOCATION})"
    else:
        msg = f"{errstr} ({_LOCATION})"
    exc = exc_type(ssl_errno, msg)
    exc.library = lib_name
    exc.reason = reason_name
    if verify is not None:
        exc.verify_code, exc.verify_message = verify
    return exc


def _ssl_error_from_queue(errstr=None, exc_type=SSLError):
    """An SSLError for a failed library call (CPython's _setSSLError): drains the queue."""
    errors = consume_errors()
    errno_ = errors[-1].reason if errors else 0
    return _make_error(exc_type, errno_, errstr if not errors else None, errors)


def _plain_ssl_error(text):
    """SSLError(text) with CPython's location suffix and no library."""
    return SSLError(0, f"{text} ({_LOCATION})")


# --------------------------------------------------------------------------- MemoryBIO
class MemoryBIO:
    """A memory buffer for the TLS layer: bytes written at one end, read at the other."""

    __slots__ = ("_bio", "_eof_written", "_scratch", "_scratch_size", "__weakref__")

    def __init__(self):
        # An empty read means "no data yet" (retry), not EOF, until write_eof().
        bio = _tls_BIO_new_mem()
        if bio == ffi.NULL:
            raise _ssl_error_from_queue("failed to allocate BIO")
        self._bio = ffi.gc(bio, _BIO_free)
        self._eof_written = False
        self._scratch = ffi.NULL  # allocated by the first read() that needs it
        self._scratch_size = 0

    @property
    def pending(self):
        """The number of bytes pending in the memory BIO."""
        return lib.BIO_ctrl_pending(self._bio)

    @property
    def eof(self):
        """Whether the memory BIO is at EOF (write_eof() called and nothing left)."""
        return self._eof_written and lib.BIO_ctrl_pending(self._bio) == 0

    def read(self, size=-1):
        """Read up to ``size`` bytes (all when negative) from the memory BIO."""
        if size.__class__ is not int:
            size = operator.index(size)
        if size > _INT_MAX:
            size = _INT_MAX
        # Hot path: one crossing (pending + BIO_read in tls_bio_drain) into a reused buffer.
        got = _tls_bio_drain(self._bio, self._scratch, self._scratch_size, size)
        if got > 0:
            return _unpack(self._scratch, got)
        if got == 0:
            return b""
        if got == -1:
            raise _ssl_error_from_queue("BIO_read failed")
        need = -2 - got
        buf = _new_chars(need if need > 4096 else 4096)
        if need <= _KEEP_BIO_SCRATCH:
            self._scratch = buf
            self._scratch_size = _sizeof(buf)
        got = _tls_bio_drain(self._bio, buf, _sizeof(buf), size)
        if got <= 0:
            raise _ssl_error_from_queue("BIO_read failed")
        return _unpack(buf, got)

    def write(self, b):
        """Write the bytes-like ``b`` into the memory BIO; returns the count written."""
        if b.__class__ is bytes:  # passed as is: no from_buffer
            data = b
            n = len(b)
        else:
            try:
                data = _from_buffer(b)
            except TypeError:
                raise TypeError(f"a bytes-like object is required, not '{type(b).__name__}'") from None
            n = _sizeof(data)
        try:
            if n > _INT_MAX:
                raise OverflowError(f"string longer than {_INT_MAX} bytes")
            if self._eof_written:
                raise SSLError("cannot write() after write_eof()")
            if n == 0:
                return 0
            written = _BIO_write(self._bio, data, n)
            if written < 0:
                raise _ssl_error_from_queue("BIO_write failed")
            return written
        except BaseException:
            if data is not b:
                _release(data)  # see _release
            raise

    def write_eof(self):
        """Mark EOF: once the buffered bytes are read, reads report a real end of stream."""
        self._eof_written = True
        lib.BIO_set_mem_eof_return(self._bio, 0)

    def close(self):
        """Free the BIO now (an SSLObject using it keeps its own reference)."""
        bio, self._bio = self._bio, None
        if bio is not None:
            ffi.gc(bio, None)
            lib.BIO_free(bio)


def _raise_file_error(errno=0):
    """A file-loading call failed: OSError (FileNotFoundError, ...) when OpenSSL
    could not open the file, as CPython raises from errno; SSLError otherwise.
    The system error is read from the queue (ERR_LIB_SYS carries errno), which
    unlike the C errno is not disturbed by unrelated calls in between.  ``errno``
    (ffi.errno, zeroed before the call and read right after it) covers failures
    OpenSSL does not queue, such as reading a directory (EISDIR)."""
    errors = consume_errors()
    for record in errors:
        if record.lib == lib.ERR_LIB_SYS:
            raise OSError(record.reason, os.strerror(record.reason))
    if errno:
        raise OSError(errno, os.strerror(errno))
    raise _make_error(SSLError, errors[-1].reason if errors else 0, None, errors)


def _fspath_bytes(value, what):
    try:
        return os.fsencode(value)
    except TypeError:
        raise TypeError(f"{what} should be a valid filesystem path") from None


def _password_bytes(value, message):
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    raise TypeError(message)


# ---- certificates and keys from memory (issue 7: load_cert_chain(certdata=, keydata=))
_PEM_BEGIN = b"-----BEGIN "


def _has_pem_block(raw):
    # A PEM block starts a line; DER may carry the same text inside a name.
    return raw.startswith(_PEM_BEGIN) or b"\n" + _PEM_BEGIN in raw


def _pem_or_der(data, what):
    """(bytes, is_pem) of certdata/keydata: str is PEM text (ASCII); bytes-like data is
    PEM when it holds a ``-----BEGIN `` line, DER otherwise."""
    if isinstance(data, str):
        try:
            raw = data.encode("ascii")
        except UnicodeEncodeError:
            raise TypeError(f"{what} should be an ASCII string or a bytes-like object") from None
        pem = True
    else:
        try:
            with memoryview(data) as view:
                raw = view.tobytes()
        except TypeError:
            raise TypeError(f"{what} should be an ASCII string or a bytes-like object") from None
        pem = _has_pem_block(raw)
    if not raw:
        raise ValueError(f"Empty {what}")
    if len(raw) > _INT_MAX:
        raise OverflowError(f"{what} longer than {_INT_MAX} bytes")
    return raw, pem


class _PemPassword:
    """``load_cert_chain``'s password (str, bytes, bytearray, or a callable returning
    one, called only when OpenSSL asks) for tls_pem_password_cb."""

    __slots__ = ("callback", "data", "pw", "_buf")

    def __init__(self, password):
        self.callback = None
        self.data = None
        self.pw = ffi.new("tls_pem_password *")
        self._buf = None
        if password is None:
            return
        if callable(password):
            self.callback = password
        else:
            self._use(_password_bytes(password, "password should be a string or callable"))

    def _use(self, data):
        self.data = data
        self._buf = ffi.new("char[]", data) if data else ffi.new("char[]", 1)
        self.pw.password = self._buf
        self.pw.length = len(data)

    def retry(self):
        """After a failed read: True when the callback has just given the password asked
        for (read again); otherwise the error to raise is the queue's, or ValueError for a
        password too long."""
        pw = self.pw
        if not pw.called:
            return False
        if self.data is None and self.callback is not None:
            consume_errors()
            self._use(_password_bytes(self.callback(), "password callback must return a string"))
            pw.called = 0
            return True
        if self.data is not None and len(self.data) > lib.PEM_BUFSIZE:
            consume_errors()
            raise ValueError(f"password cannot be longer than {lib.PEM_BUFSIZE} bytes")
        return False


@contextlib.contextmanager
def _mem_bio(data):
    """A read-only memory BIO over ``data`` for the block: it reads the caller's memory,
    which ``from_buffer`` keeps in place (PyPy may otherwise hand C a temporary copy that
    lives for one call only), and it is freed at the end, not by the GC."""
    buf = ffi.from_buffer(data)
    bio = lib.BIO_new_mem_buf(buf, len(data))
    openssl_assert(bio != ffi.NULL, "BIO_new_mem_buf")
    try:
        yield bio
    finally:
        lib.BIO_free(bio)


def _read_chain(data, pem, chain):
    """Append the certificates of certdata to ``chain``, leaf first (at least one); the
    caller frees them, also when this raises.  PEM: as SSL_CTX_use_certificate_chain_file
    reads a file; DER: certificates one after the other."""
    with _mem_bio(data) as bio:
        while True:
            if pem:
                reader = lib.PEM_read_bio_X509_AUX if not chain else lib.PEM_read_bio_X509
                cert = reader(bio, ffi.NULL, ffi.NULL, ffi.NULL)
            elif lib.BIO_ctrl_pending(bio) == 0:
                break
            else:
                cert = lib.d2i_X509_bio(bio, ffi.NULL)
            if cert == ffi.NULL:
                break
            chain.append(cert)
    if pem and chain:
        errors = consume_errors()
        # the end of the chain: no further PEM block (anything else is an error)
        if errors and (errors[-1].lib, errors[-1].reason) != (lib.ERR_LIB_PEM, lib.PEM_R_NO_START_LINE):
            raise _make_error(SSLError, errors[-1].reason, None, errors)
    elif not chain or lib.ERR_peek_error():
        raise _ssl_error_from_queue()


def _read_private_key(data, pem, password, what):
    """The private key of keydata (``what``; certdata when the key follows the chain):
    PEM (PKCS#8 or traditional, encrypted or not) or DER (PKCS#8 or traditional; encrypted
    PKCS#8 too), asking ``password`` when encrypted.  The caller frees it."""
    if pem and b"PRIVATE KEY-----" not in data:
        raise _plain_ssl_error(f"no start line: {what} holds no private key")
    if not pem and what == "certdata":
        raise _plain_ssl_error("DER certdata holds no private key: pass keydata")
    while True:
        if pem:
            with _mem_bio(data) as bio:
                pkey = lib.PEM_read_bio_PrivateKey(bio, ffi.NULL, _PASSWORD_CB, password.pw)
        else:
            with _mem_bio(data) as bio:
                pkey = lib.d2i_PrivateKey_bio(bio, ffi.NULL)
            if pkey == ffi.NULL:  # perhaps an encrypted PKCS#8 structure
                first = consume_errors()
                with _mem_bio(data) as bio:
                    pkey = lib.d2i_PKCS8PrivateKey_bio(bio, ffi.NULL, _PASSWORD_CB, password.pw)
                if pkey == ffi.NULL and not password.pw.called:
                    consume_errors()  # not PKCS#8 at all: report the plain reading's failure
                    raise _make_error(SSLError, first[-1].reason if first else 0, None, first)
        if pkey != ffi.NULL:
            consume_errors()  # readers may leave notes of the forms they tried
            return pkey
        if not password.retry():
            raise _ssl_error_from_queue()


# --------------------------------------------------------------------------- contexts
_METHODS = {
    PROTOCOL_TLS: lambda: lib.TLS_method(),
    PROTOCOL_TLS_CLIENT: lambda: lib.TLS_client_method(),
    PROTOCOL_TLS_SERVER: lambda: lib.TLS_server_method(),
    PROTOCOL_TLSv1: lambda: lib.TLS_method(),
    PROTOCOL_TLSv1_1: lambda: lib.TLS_method(),
    PROTOCOL_TLSv1_2: lambda: lib.TLS_method(),
}
_FIXED_VERSION = {
    PROTOCOL_TLSv1: PROTO_TLSv1,
    PROTOCOL_TLSv1_1: PROTO_TLSv1_1,
    PROTOCOL_TLSv1_2: PROTO_TLSv1_2,
}
_DEPRECATED_PROTOCOL = {
    PROTOCOL_TLS: "ssl.PROTOCOL_TLS is deprecated",
    PROTOCOL_TLSv1: "ssl.PROTOCOL_TLSv1 is deprecated",
    PROTOCOL_TLSv1_1: "ssl.PROTOCOL_TLSv1_1 is deprecated",
    PROTOCOL_TLSv1_2: "ssl.PROTOCOL_TLSv1_2 is deprecated",
}


class _SSLContext:
    """The OpenSSL half of ``tls.ssl.SSLContext`` (CPython's ``_ssl._SSLContext``)."""

    def __new__(cls, protocol, *args, **kwargs):
        protocol = operator.index(protocol)
        if protocol not in _METHODS:
            raise ValueError(f"invalid or unsupported protocol version {protocol}")
        if protocol in _DEPRECATED_PROTOCOL:
            warnings.warn(_DEPRECATED_PROTOCOL[protocol], DeprecationWarning, stacklevel=2)
        self = super().__new__(cls)
        ctx = lib.SSL_CTX_new(_METHODS[protocol]())
        if ctx == ffi.NULL:
            raise _ssl_error_from_queue("failed to allocate SSL context")
        self._ctx = ffi.gc(ctx, lib.SSL_CTX_free)
        self._protocol = protocol
        self._alpn = None
        self._check_hostname = False
        self._post_handshake_auth = False
        self._sni_callback = None
        self._keylog_filename = None
        self._keylog_bio = None
        if protocol == PROTOCOL_TLS_CLIENT:
            self._check_hostname = True
            lib.SSL_CTX_set_verify(ctx, lib.SSL_VERIFY_PEER | lib.SSL_VERIFY_FAIL_IF_NO_PEER_CERT, ffi.NULL)
        else:
            lib.SSL_CTX_set_verify(ctx, lib.SSL_VERIFY_NONE, ffi.NULL)
        options = OP_ALL | OP_NO_SSLv2 | OP_NO_SSLv3 | OP_NO_COMPRESSION
        options |= OP_CIPHER_SERVER_PREFERENCE | OP_SINGLE_DH_USE | OP_SINGLE_ECDH_USE
        lib.SSL_CTX_set_options(ctx, options)
        if not lib.SSL_CTX_set_cipher_list(ctx, _DEFAULT_CIPHERS.encode()):
            raise _ssl_error_from_queue("No cipher can be selected.")
        if protocol in _FIXED_VERSION:
            v = _FIXED_VERSION[protocol]
            ok = lib.SSL_CTX_set_min_proto_version(ctx, v) and lib.SSL_CTX_set_max_proto_version(ctx, v)
        else:
            ok = lib.SSL_CTX_set_min_proto_version(ctx, PROTO_TLSv1_2)
        if not ok:
            raise _ssl_error_from_queue("failed to set the protocol version")
        lib.SSL_CTX_set_mode(ctx, lib.SSL_MODE_RELEASE_BUFFERS)
        params = lib.SSL_CTX_get0_param(ctx)
        openssl_assert(lib.X509_VERIFY_PARAM_set_flags(params, lib.X509_V_FLAG_TRUSTED_FIRST))
        lib.X509_VERIFY_PARAM_set_hostflags(params, lib.X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS)
        return self

    # ---- simple settings
    @property
    def protocol(self):
        return self._protocol

    @property
    def options(self):
        return lib.SSL_CTX_get_options(self._ctx)

    @options.setter
    def options(self, value):
        new = operator.index(value)
        if new < 0:
            raise OverflowError("can't convert negative int to unsigned")
        old = lib.SSL_CTX_get_options(self._ctx)
        clear = old & ~new
        add = ~old & new
        if add & _OP_NO_PROTOCOLS:
            warnings.warn(
                "ssl.OP_NO_SSL*/ssl.OP_NO_TLS* options are deprecated", DeprecationWarning, stacklevel=2
            )
        if clear:
            lib.SSL_CTX_clear_options(self._ctx, clear)
        if add:
            lib.SSL_CTX_set_options(self._ctx, add)

    @property
    def verify_mode(self):
        mode = lib.SSL_CTX_get_verify_mode(self._ctx)
        mode &= lib.SSL_VERIFY_PEER | lib.SSL_VERIFY_FAIL_IF_NO_PEER_CERT
        if mode == lib.SSL_VERIFY_NONE:
            return CERT_NONE
        if mode == lib.SSL_VERIFY_PEER:
            return CERT_OPTIONAL
        return CERT_REQUIRED

    @verify_mode.setter
    def verify_mode(self, value):
        n = operator.index(value)
        if n == CERT_NONE and self._check_hostname:
            raise ValueError("Cannot set verify_mode to CERT_NONE when check_hostname is enabled.")
        self._set_verify_mode(n)

    def _set_verify_mode(self, n):
        if n == CERT_NONE:
            mode = lib.SSL_VERIFY_NONE
        elif n == CERT_OPTIONAL:
            mode = lib.SSL_VERIFY_PEER
        elif n == CERT_REQUIRED:
            mode = lib.SSL_VERIFY_PEER | lib.SSL_VERIFY_FAIL_IF_NO_PEER_CERT
        else:
            raise ValueError("invalid value for verify_mode")
        mode |= lib.SSL_CTX_get_verify_mode(self._ctx) & lib.SSL_VERIFY_POST_HANDSHAKE
        lib.SSL_CTX_set_verify(self._ctx, mode, ffi.NULL)

    @property
    def check_hostname(self):
        return self._check_hostname

    @check_hostname.setter
    def check_hostname(self, value):
        value = bool(value)
        if value and lib.SSL_CTX_get_verify_mode(self._ctx) == lib.SSL_VERIFY_NONE:
            self._set_verify_mode(CERT_REQUIRED)
        self._check_hostname = value

    @property
    def verify_flags(self):
        params = lib.SSL_CTX_get0_param(self._ctx)
        return lib.X509_VERIFY_PARAM_get_flags(params)

    @verify_flags.setter
    def verify_flags(self, value):
        new = operator.index(value)
        params = lib.SSL_CTX_get0_param(self._ctx)
        old = lib.X509_VERIFY_PARAM_get_flags(params)
        clear = old & ~new
        add = ~old & new
        if clear and not lib.X509_VERIFY_PARAM_clear_flags(params, clear):
            raise _ssl_error_from_queue()
        if add and not lib.X509_VERIFY_PARAM_set_flags(params, add):
            raise _ssl_error_from_queue()

    @property
    def hostname_checks_common_name(self):
        flags = lib.X509_VERIFY_PARAM_get_hostflags(lib.SSL_CTX_get0_param(self._ctx))
        return not flags & lib.X509_CHECK_FLAG_NEVER_CHECK_SUBJECT

    @hostname_checks_common_name.setter
    def hostname_checks_common_name(self, value):
        params = lib.SSL_CTX_get0_param(self._ctx)
        flags = lib.X509_VERIFY_PARAM_get_hostflags(params)
        if value:
            flags &= ~lib.X509_CHECK_FLAG_NEVER_CHECK_SUBJECT
        else:
            flags |= lib.X509_CHECK_FLAG_NEVER_CHECK_SUBJECT
        lib.X509_VERIFY_PARAM_set_hostflags(params, flags)

    @property
    def security_level(self):
        return lib.SSL_CTX_get_security_level(self._ctx)

    @property
    def sni_callback(self):
        return self._sni_callback

    @sni_callback.setter
    def sni_callback(self, callback):
        if self._protocol == PROTOCOL_TLS_CLIENT:
            raise ValueError("sni_callback cannot be set on TLS_CLIENT context")
        if callback is None:
            lib.SSL_CTX_set_tlsext_servername_callback(self._ctx, ffi.NULL)
        elif not callable(callback):
            raise TypeError("not a callable object")
        else:
            lib.SSL_CTX_set_tlsext_servername_callback(self._ctx, _SERVERNAME_CB)
        self._sni_callback = callback

    @property
    def keylog_filename(self):
        return self._keylog_filename

    @keylog_filename.setter
    def keylog_filename(self, filename):
        if filename is None:
            lib.tls_SSL_CTX_set_keylog(self._ctx, ffi.NULL)
            self._keylog_filename = None
            self._close_keylog()
            return
        path = os.fsencode(filename)
        bio = lib.BIO_new_file(path, b"a")
        if bio == ffi.NULL:
            _raise_file_error()
        bio = ffi.gc(bio, lib.BIO_free)
        # A header for seekable, empty files (this excludes pipes), as CPython.
        if lib.BIO_tell(bio) == 0:
            lib.BIO_puts(bio, b"# TLS secrets log file, generated by OpenSSL / Python\n")
            lib.BIO_flush(bio)
        consume_errors()  # BIO_tell on a pipe
        lib.tls_SSL_CTX_set_keylog(self._ctx, bio)
        self._close_keylog()
        self._keylog_bio = bio
        self._keylog_filename = filename

    def _close_keylog(self):
        bio, self._keylog_bio = self._keylog_bio, None
        if bio is not None:
            ffi.gc(bio, None)
            lib.BIO_free(bio)

    @property
    def post_handshake_auth(self):
        return self._post_handshake_auth

    @post_handshake_auth.setter
    def post_handshake_auth(self, value):
        # Applied per connection in _SSLSocket (as CPython, bpo-37428).
        self._post_handshake_auth = bool(value)

    @property
    def num_tickets(self):
        return lib.SSL_CTX_get_num_tickets(self._ctx)

    @num_tickets.setter
    def num_tickets(self, value):
        n = operator.index(value)
        if n < 0:
            raise ValueError("value must be non-negative")
        if self._protocol != PROTOCOL_TLS_SERVER:
            raise ValueError("SSLContext is not a server context.")
        if lib.SSL_CTX_set_num_tickets(self._ctx, n) != 1:
            consume_errors()
            raise TypeError("Failed to set num tickets.")

    def session_stats(self):
        ctx = self._ctx
        return {
            "number": lib.SSL_CTX_sess_number(ctx),
            "connect": lib.SSL_CTX_sess_connect(ctx),
            "connect_good": lib.SSL_CTX_sess_connect_good(ctx),
            "connect_renegotiate": lib.SSL_CTX_sess_connect_renegotiate(ctx),
            "accept": lib.SSL_CTX_sess_accept(ctx),
            "accept_good": lib.SSL_CTX_sess_accept_good(ctx),
            "accept_renegotiate": lib.SSL_CTX_sess_accept_renegotiate(ctx),
            "hits": lib.SSL_CTX_sess_hits(ctx),
            "misses": lib.SSL_CTX_sess_misses(ctx),
            "timeouts": lib.SSL_CTX_sess_timeouts(ctx),
            "cache_full": lib.SSL_CTX_sess_cache_full(ctx),
        }

    def set_ecdh_curve(self, name):
        raw = os.fsencode(name)
        nid = lib.OBJ_sn2nid(raw)
        if nid == 0:
            consume_errors()
            raise ValueError(f"unknown elliptic curve name {name!r}")
        nids = ffi.new("int[1]", [nid])
        if not lib.SSL_CTX_set1_groups(self._ctx, nids, 1):
            raise _ssl_error_from_queue()

    def _get_version(self, getter, default):
        v = getter(self._ctx)
        return default if v == 0 else v

    def _set_version(self, value, minimum):
        if self._protocol not in (PROTOCOL_TLS, PROTOCOL_TLS_CLIENT, PROTOCOL_TLS_SERVER):
            raise ValueError(
                "The context's protocol doesn't support modification of highest and lowest version."
            )
        v = operator.index(value)
        if v not in _PROTO_VERSIONS and v not in (PROTO_MINIMUM_SUPPORTED, PROTO_MAXIMUM_SUPPORTED):
            raise ValueError(f"Unsupported TLS/SSL version 0x{v:x}")
        if v in (PROTO_SSLv3, PROTO_TLSv1, PROTO_TLSv1_1):
            warnings.warn(f"ssl.TLSVersion.{_PROTO_NAMES[v]} is deprecated", DeprecationWarning, stacklevel=3)
        if minimum:
            if v == PROTO_MINIMUM_SUPPORTED:
                v = 0
            elif v == PROTO_MAXIMUM_SUPPORTED:
                v = PROTO_TLSv1_3
            ok = lib.SSL_CTX_set_min_proto_version(self._ctx, v)
        else:
            if v == PROTO_MAXIMUM_SUPPORTED:
                v = 0
            elif v == PROTO_MINIMUM_SUPPORTED:
                v = PROTO_SSLv3
            ok = lib.SSL_CTX_set_max_proto_version(self._ctx, v)
        if not ok:
            consume_errors()
            raise ValueError(f"Unsupported protocol version 0x{v:x}")

    @property
    def minimum_version(self):
        return self._get_version(lib.SSL_CTX_get_min_proto_version, PROTO_MINIMUM_SUPPORTED)

    @minimum_version.setter
    def minimum_version(self, value):
        self._set_version(value, True)

    @property
    def maximum_version(self):
        return self._get_version(lib.SSL_CTX_get_max_proto_version, PROTO_MAXIMUM_SUPPORTED)

    @maximum_version.setter
    def maximum_version(self, value):
        self._set_version(value, False)

    # ---- ciphers and ALPN
    def set_ciphers(self, cipherlist):
        if not isinstance(cipherlist, str):
            raise TypeError(f"set_ciphers() argument must be str, not {type(cipherlist).__name__}")
        if "\0" in cipherlist:
            raise ValueError("embedded null character")
        if not lib.SSL_CTX_set_cipher_list(self._ctx, cipherlist.encode("utf-8")):
            consume_errors()
            raise SSLError("No cipher can be selected.")

    def get_ciphers(self):
        stack = lib.tls_SSL_CTX_get_ciphers(self._ctx)
        if stack == ffi.NULL:
            return []
        result = []
        for i in range(lib.OPENSSL_sk_num(stack)):
            result.append(_cipher_to_dict(ffi.cast("SSL_CIPHER *", lib.OPENSSL_sk_value(stack, i))))
        return result

    # ---- TLS 1.3 cipher suites and key-exchange groups (issue 7), as CPython 3.15
    def set_ciphersuites(self, ciphersuites):
        """The TLS 1.3 cipher suites allowed, in preference order (``set_ciphers`` sets
        those of TLS 1.2 and older); an empty string allows none."""
        raw = _setting_text(ciphersuites, "set_ciphersuites")
        if not lib.SSL_CTX_set_ciphersuites(self._ctx, raw):
            consume_errors()
            raise SSLError("No cipher can be selected.")

    def set_groups(self, groups):
        """The key-exchange groups allowed, in preference order, as OpenSSL names them
        (``"X25519:P-256"``; ``X25519MLKEM768`` where the OpenSSL in use offers it)."""
        raw = _setting_text(groups, "set_groups")
        if not lib.SSL_CTX_set1_groups_list(self._ctx, raw):
            raise _ssl_error_from_queue("unrecognized group")

    def get_groups(self, *, include_aliases=False):
        """The key-exchange groups this context can use within its minimum and maximum
        versions (every name of each with ``include_aliases``), as CPython 3.15 lists
        them; from the providers' group table where OpenSSL is older than 3.5."""
        return _group_names(lib.tls_SSL_CTX_implemented_groups, self._ctx, 1 if include_aliases else 0)

    def _set_alpn_protocols(self, protos):
        protos = bytes(protos)
        if len(protos) > 0xFFFFFFFF:
            raise OverflowError("protocols longer than 4294967295 bytes")
        data = ffi.new("unsigned char[]", protos) if protos else ffi.NULL
        holder = ffi.new("tls_alpn_protocols *")
        holder.length = len(protos)
        holder.protocols = data
        # SSL_CTX_set_alpn_protos returns 0 on success (sic).
        if lib.SSL_CTX_set_alpn_protos(self._ctx, data, len(protos)):
            consume_errors()
            raise MemoryError()
        lib.tls_SSL_CTX_set_alpn_select(self._ctx, holder)
        self._alpn = (holder, data)  # owned here: the select callback reads them

    # ---- certificates and keys
    def load_cert_chain(self, certfile=None, keyfile=None, password=None, *, certdata=None, keydata=None):
        if certdata is not None or keydata is not None:  # issue 7: from memory
            return self._load_cert_chain_data(certfile, keyfile, password, certdata, keydata)
        certfile = _fspath_bytes(certfile, "certfile")
        keyfile = certfile if keyfile is None else _fspath_bytes(keyfile, "keyfile")
        pw = ffi.new("tls_pem_password *")
        pw_data = None
        callback = None
        if password is not None:
            if callable(password):
                callback = password
            else:
                pw_data = _password_bytes(password, "password should be a string or callable")
        ctx = self._ctx

        def use_password(data):
            nonlocal pw_data
            pw_data = data
            buf = ffi.new("char[]", data) if data else ffi.new("char[]", 1)
            pw.password = buf
            pw.length = len(data)
            return buf

        keep = use_password(pw_data) if pw_data is not None else None
        old_cb = lib.SSL_CTX_get_default_passwd_cb(ctx)
        old_ud = lib.SSL_CTX_get_default_passwd_cb_userdata(ctx)
        lib.SSL_CTX_set_default_passwd_cb(ctx, _PASSWORD_CB)
        lib.SSL_CTX_set_default_passwd_cb_userdata(ctx, pw)
        try:
            ffi.errno = 0
            if lib.SSL_CTX_use_certificate_chain_file(ctx, certfile) != 1:
                self._raise_load_error(pw, pw_data, ffi.errno)
            while True:
                pw.called = 0
                ffi.errno = 0
                if lib.SSL_CTX_use_PrivateKey_file(ctx, keyfile, lib.SSL_FILETYPE_PEM) == 1:
                    break
                errno = ffi.errno
                if callback is not None and pw.called and pw_data is None:
                    consume_errors()
                    result = callback()
                    keep = use_password(_password_bytes(result, "password callback must return a string"))
                    continue
                self._raise_load_error(pw, pw_data, errno)
            if lib.SSL_CTX_check_private_key(ctx) != 1:
                raise _ssl_error_from_queue()
        finally:
            lib.SSL_CTX_set_default_passwd_cb(ctx, old_cb)
            lib.SSL_CTX_set_default_passwd_cb_userdata(ctx, old_ud)
            del keep

    @staticmethod
    def _raise_load_error(pw, pw_data, errno=0):
        if pw.called and pw_data is not None and len(pw_data) > lib.PEM_BUFSIZE:
            consume_errors()
            raise ValueError(f"password cannot be longer than {lib.PEM_BUFSIZE} bytes")
        _raise_file_error(errno)

    # ---- certificates and keys from memory (issue 7: load_cert_chain(certdata=, keydata=))
    def _load_cert_chain_data(self, certfile, keyfile, password, certdata, keydata):
        """The chain (leaf first) and its key from PEM text or DER bytes; nothing touches
        the disk.  Everything is parsed and the key checked against the leaf before the
        context changes, so a failure leaves it as it was."""
        if certfile is not None or keyfile is not None:
            raise ValueError(
                "certfile/keyfile and certdata/keydata cannot be mixed: give the certificate "
                "chain and its key either as files or as data"
            )
        if certdata is None:
            raise TypeError("keydata needs certdata (the certificate chain the key belongs to)")
        cert_bytes, cert_pem = _pem_or_der(certdata, "certdata")
        clear_errors()  # the readers' outcome is judged from the queue: drop stale entries
        if keydata is None:
            key_bytes, key_pem = cert_bytes, cert_pem  # the key follows the chain, as in a certfile
        else:
            key_bytes, key_pem = _pem_or_der(keydata, "keydata")
        password = _PemPassword(password)
        # Everything read here lives for this call only: freed in the finally, not by the GC.
        chain, pkey, intermediates = [], ffi.NULL, ffi.NULL
        try:
            _read_chain(cert_bytes, cert_pem, chain)
            key_what = "certdata" if keydata is None else "keydata"
            pkey = _read_private_key(key_bytes, key_pem, password, key_what)
            if lib.X509_check_private_key(chain[0], pkey) != 1:  # the file path's error text
                raise _ssl_error_from_queue()
            intermediates = lib.OPENSSL_sk_new_null()
            openssl_assert(intermediates != ffi.NULL, "OPENSSL_sk_new_null")
            for cert in chain[1:]:
                openssl_assert(lib.OPENSSL_sk_push(intermediates, cert) > 0, "OPENSSL_sk_push")
            # the context takes its own references
            if lib.tls_SSL_CTX_use_cert_and_key(self._ctx, chain[0], pkey, intermediates) != 1:
                raise _ssl_error_from_queue()
        finally:
            if intermediates != ffi.NULL:
                lib.OPENSSL_sk_free(intermediates)
            if pkey != ffi.NULL:
                lib.EVP_PKEY_free(pkey)
            for cert in chain:
                lib.X509_free(cert)

    def load_verify_locations(self, cafile=None, capath=None, cadata=None):
        if cafile is None and capath is None and cadata is None:
            raise TypeError("cafile, capath and cadata cannot be all omitted")
        cafile = None if cafile is None else _fspath_bytes(cafile, "cafile")
        capath = None if capath is None else _fspath_bytes(capath, "capath")
        if cadata is not None:
            if isinstance(cadata, str):
                try:
                    pem = cadata.encode("ascii")
                except UnicodeEncodeError:
                    raise TypeError("cadata should be an ASCII string or a bytes-like object") from None
                self._add_ca_certs(pem, pem=True)
            else:
                try:
                    data = ffi.from_buffer(cadata)
                except TypeError:
                    raise TypeError("cadata should be an ASCII string or a bytes-like object") from None
                self._add_ca_certs(data, pem=False)
        if cafile is not None or capath is not None:
            ffi.errno = 0
            ok = lib.SSL_CTX_load_verify_locations(
                self._ctx, ffi.NULL if cafile is None else cafile, ffi.NULL if capath is None else capath
            )
            if ok != 1:
                _raise_file_error(ffi.errno)

    def _add_ca_certs(self, data, pem):
        if len(data) == 0:  # CPython 3.10+ (_ssl.c _add_ca_certs)
            raise ValueError("Empty certificate data")
        if len(data) > _INT_MAX:
            raise OverflowError(f"cadata longer than {_INT_MAX} bytes")
        # One crossing for the whole bundle (issue 7: as fast as the stdlib's C loop).
        clear_errors()  # its outcome is judged from the queue: drop stale entries
        add_failed = ffi.new("int *")
        loaded = lib.tls_X509_STORE_add_certs(
            lib.SSL_CTX_get_cert_store(self._ctx), data, len(data), 1 if pem else 0, add_failed
        )
        if add_failed[0]:
            errors = consume_errors()
            raise _make_error(SSLError, errors[-1].reason if errors else 0, None, errors)
        errors = consume_errors()
        if loaded == 0:
            what = "no start line" if pem else "not enough data"
            raise _plain_ssl_error(f"{what}: cadata does not contain a certificate")
        if not errors:
            return
        last = errors[-1]
        if pem and (last.lib, last.reason) == (lib.ERR_LIB_PEM, lib.PEM_R_NO_START_LINE):
            return
        if not pem and (last.lib, last.reason) == (lib.ERR_LIB_ASN1, lib.ASN1_R_HEADER_TOO_LONG):
            return
        raise _make_error(SSLError, last.reason, None, errors)

    def load_dh_params(self, path):
        """Load Diffie-Hellman parameters (PEM) for DHE key exchange."""
        with open(path, "rb") as f:  # OSError with the filename, as CPython
            data = f.read()
        bio = lib.BIO_new_mem_buf(data, len(data))
        openssl_assert(bio != ffi.NULL, "BIO_new_mem_buf")
        try:
            # First the PEM block itself, so that a file without one fails with
            # PEM's NO_START_LINE as in CPython (PEM_read_DHparams).
            der = ffi.new("unsigned char **")
            der_len = ffi.new("long *")
            if not lib.PEM_bytes_read_bio(
                der, der_len, ffi.NULL, lib.PEM_STRING_DHPARAMS, bio, ffi.NULL, ffi.NULL
            ):
                raise _ssl_error_from_queue()
            lib.OPENSSL_free(der[0])
        finally:
            lib.BIO_free(bio)
        bio = lib.BIO_new_mem_buf(data, len(data))
        openssl_assert(bio != ffi.NULL, "BIO_new_mem_buf")
        try:
            pkey = lib.PEM_read_bio_Parameters(bio, ffi.NULL)
        finally:
            lib.BIO_free(bio)
        if pkey == ffi.NULL:
            raise _ssl_error_from_queue()
        if not lib.EVP_PKEY_is_a(pkey, b"DH"):
            lib.EVP_PKEY_free(pkey)
            consume_errors()
            raise _plain_ssl_error("not Diffie-Hellman parameters")
        if not lib.SSL_CTX_set0_tmp_dh_pkey(self._ctx, pkey):  # takes ownership on success only
            lib.EVP_PKEY_free(pkey)
            raise _ssl_error_from_queue()

    def set_default_verify_paths(self):
        if not lib.SSL_CTX_set_default_verify_paths(self._ctx):
            raise _ssl_error_from_queue()

    def _store_certs(self):
        """Every X509 in the context's store (new references the caller frees)."""
        store = lib.SSL_CTX_get_cert_store(self._ctx)
        certs = []
        crl = 0
        openssl_assert(lib.X509_STORE_lock(store), "X509_STORE_lock")
        try:
            objs = lib.tls_X509_STORE_get0_objects(store)
            for i in range(lib.OPENSSL_sk_num(objs)):
                obj = ffi.cast("X509_OBJECT *", lib.OPENSSL_sk_value(objs, i))
                kind = lib.X509_OBJECT_get_type(obj)
                if kind == lib.X509_LU_X509:
                    cert = lib.X509_OBJECT_get0_X509(obj)
                    openssl_assert(lib.X509_up_ref(cert), "X509_up_ref")
                    certs.append(cert)
                elif kind == lib.X509_LU_CRL:
                    crl += 1
        finally:
            lib.X509_STORE_unlock(store)
        return certs, crl

    def cert_store_stats(self):
        certs, crl = self._store_certs()
        ca = 0
        for cert in certs:
            if lib.X509_check_ca(cert):
                ca += 1
            lib.X509_free(cert)
        return {"x509": len(certs), "crl": crl, "x509_ca": ca}

    def get_ca_certs(self, binary_form=False):
        certs, _ = self._store_certs()
        result = []
        try:
            for cert in certs:
                if not lib.X509_check_ca(cert):
                    continue
                if binary_form:
                    result.append(_cert.certificate_der(cert))
                else:
                    result.append(_cert.decode_certificate(cert))
        finally:
            for cert in certs:
                lib.X509_free(cert)
        return result

    # ---- external PSKs (issue 7): CPython 3.13's set_psk_client_callback / set_psk_server_callback
    _psk_client_callback = None
    _psk_server_callback = None

    def set_psk_client_callback(self, callback):
        """Use ``callback(hint) -> (identity, psk)`` for external PSKs (None: stop)."""
        if self._protocol == PROTOCOL_TLS_SERVER:
            raise _plain_ssl_error("Cannot add PSK client callback to a PROTOCOL_TLS_SERVER context")
        if not lib.TLS_HAS_PSK:
            raise NotImplementedError("TLS-PSK is not supported by the OpenSSL tls was built with.")
        if callback is not None and not callable(callback):
            raise TypeError("callback must be callable")
        lib.SSL_CTX_set_psk_client_callback(self._ctx, ffi.NULL if callback is None else _PSK_CLIENT_CB)
        self._psk_client_callback = callback

    def set_psk_server_callback(self, callback, identity_hint=None):
        """Use ``callback(identity) -> psk`` for external PSKs, sending ``identity_hint``
        (TLS 1.2) to clients (None: stop, and drop the hint)."""
        if self._protocol == PROTOCOL_TLS_CLIENT:
            raise _plain_ssl_error("Cannot add PSK server callback to a PROTOCOL_TLS_CLIENT context")
        if not lib.TLS_HAS_PSK:
            raise NotImplementedError("TLS-PSK is not supported by the OpenSSL tls was built with.")
        if identity_hint is not None:
            if not isinstance(identity_hint, str):
                raise TypeError(
                    "set_psk_server_callback() argument 'identity_hint' must be str or None, "
                    f"not {type(identity_hint).__name__}"
                )
            if "\0" in identity_hint:
                raise ValueError("embedded null character")
            hint = identity_hint.encode("utf-8")
        if callback is not None and not callable(callback):
            raise TypeError("callback must be callable")
        if callback is None or identity_hint is None:
            hint = ffi.NULL
        if lib.SSL_CTX_use_psk_identity_hint(self._ctx, hint) != 1:
            consume_errors()
            raise ValueError("failed to set identity hint")
        lib.SSL_CTX_set_psk_server_callback(self._ctx, ffi.NULL if callback is None else _PSK_SERVER_CB)
        self._psk_server_callback = callback

    # ---- connections
    def _wrap_bio(self, incoming, outgoing, server_side, server_hostname, *, owner=None, session=None):
        sock = _SSLSocket(self, incoming, outgoing, server_side, server_hostname, owner)
        if session is not None:
            sock.session = session
        return sock

    def _wrap_socket(self, sock, server_side, server_hostname=None, *, owner=None, session=None):
        conn = _SocketConnection(self, sock, server_side, server_hostname, owner)
        if session is not None:
            conn.session = session
        return conn

    # ---- OCSP stapling (status_request, RFC 6066 section 8): the server staples a response
    # (fixed bytes or what a callback returns), a client asks for one and may judge it.
    _ocsp_server = None  # DER bytes, or a callable returning them (servers)
    _ocsp_stapling = False  # clients: ask for a staple on every new connection
    _ocsp_verify_callback = None  # clients: callable(conn, response) -> accept?

    def _install_ocsp_callback(self):
        if not lib.TLS_HAS_OCSP:
            raise NotImplementedError("OCSP stapling is not available: OpenSSL was built without OCSP")
        openssl_assert(lib.SSL_CTX_set_tlsext_status_cb(self._ctx, _OCSP_STATUS_CB) == 1,
                       "SSL_CTX_set_tlsext_status_cb")

    def set_ocsp_response(self, response):
        """Staple ``response`` (a DER OCSPResponse, bytes-like) in every handshake whose
        client asks for one; None stops stapling.  Replaces a response callback."""
        if self._protocol == PROTOCOL_TLS_CLIENT:
            raise ValueError("set_ocsp_response() cannot be used on a TLS_CLIENT context")
        if response is None:
            self._ocsp_server = None
            return
        self._install_ocsp_callback()
        self._ocsp_server = _ocsp_der(response)

    def set_ocsp_response_callback(self, callback):
        """``callback(conn)`` returns the DER OCSP response to staple for that connection
        (an SSLObject or SSLSocket), or None for none; it runs during the handshake, only
        when the client asked for a staple.  An exception in it fails the handshake and is
        raised to the caller of the server's handshake.  None removes it."""
        if self._protocol == PROTOCOL_TLS_CLIENT:
            raise ValueError("set_ocsp_response_callback() cannot be used on a TLS_CLIENT context")
        if callback is None:
            self._ocsp_server = None
            return
        if not callable(callback):
            raise TypeError("not a callable object")
        self._install_ocsp_callback()
        self._ocsp_server = callback

    @property
    def ocsp_stapling(self):
        """Clients: whether new connections ask the server for a stapled OCSP response."""
        return self._ocsp_stapling

    @ocsp_stapling.setter
    def ocsp_stapling(self, value):
        if self._protocol == PROTOCOL_TLS_SERVER:
            raise ValueError("ocsp_stapling cannot be set on a TLS_SERVER context")
        value = bool(value)
        if value and not lib.TLS_HAS_OCSP:
            raise NotImplementedError("OCSP stapling is not available: OpenSSL was built without OCSP")
        self._ocsp_stapling = value

    def set_ocsp_verify_callback(self, callback):
        """Clients: ``callback(conn, response)`` judges the stapled response (DER bytes, or
        None when the server sent none) during the handshake: a false result fails it with
        the alert bad_certificate_status_response, an exception fails it and is raised to the
        caller.  Setting a callback also turns ``ocsp_stapling`` on; None removes it."""
        if self._protocol == PROTOCOL_TLS_SERVER:
            raise ValueError("set_ocsp_verify_callback() cannot be used on a TLS_SERVER context")
        if callback is None:
            self._ocsp_verify_callback = None
            return
        if not callable(callback):
            raise TypeError("not a callable object")
        self._install_ocsp_callback()
        self._ocsp_verify_callback = callback
        self._ocsp_stapling = True

    # ---- TLS 1.3 early data (0-RTT): servers opt in with max_early_data
    @property
    def max_early_data(self):
        """Servers: the most early data (bytes) a client may send when it resumes a session
        from this context's tickets; 0 (the default) refuses early data."""
        return lib.SSL_CTX_get_max_early_data(self._ctx)

    @max_early_data.setter
    def max_early_data(self, value):
        n = operator.index(value)
        if n < 0 or n > 0xFFFFFFFF:
            raise ValueError("max_early_data must be between 0 and 4294967295")
        if self._protocol != PROTOCOL_TLS_SERVER:
            raise ValueError("SSLContext is not a server context.")
        # What the server takes in (recv_max) must cover what its tickets offer; OpenSSL's
        # default of 16384 stays the floor, so rejected early data can still be skipped.
        recv = max(n, _DEFAULT_RECV_MAX_EARLY_DATA)
        if not lib.SSL_CTX_set_max_early_data(self._ctx, n) or not lib.SSL_CTX_set_recv_max_early_data(
            self._ctx, recv
        ):
            raise _ssl_error_from_queue("failed to set max_early_data")


# ---- TLS 1.3 cipher suites and key-exchange groups (issue 7)
def _setting_text(value, what):
    if not isinstance(value, str):
        raise TypeError(f"{what}() argument must be str, not {type(value).__name__}")
    if "\0" in value:
        raise ValueError("embedded null character")
    return value.encode("ascii", "replace")


def _group_names(lister, ctx, all_names):
    """The names a tls_*_groups lister writes, ':'-joined, as a list."""
    size = 512
    while True:
        buf = ffi.new("char[]", size)
        needed = lister(ctx, all_names, buf, size)
        if needed < 0:
            raise _ssl_error_from_queue("cannot list the groups")
        if needed < size:
            text = ffi.string(buf).decode("ascii", "replace")
            return text.split(":") if text else []
        size = needed + 1


def _nid_name(nid, func):
    if nid == lib.NID_undef:
        return None
    ptr = func(nid)
    return None if ptr == ffi.NULL else ffi.string(ptr).decode("ascii")


def _cipher_to_dict(cipher):
    buf = ffi.new("char[]", 256)
    lib.SSL_CIPHER_description(cipher, buf, 255)
    description = ffi.string(buf).decode("ascii", "replace").rstrip("\n")
    alg_bits = ffi.new("int *")
    strength = lib.SSL_CIPHER_get_bits(cipher, alg_bits)
    return {
        "id": lib.SSL_CIPHER_get_id(cipher),
        "name": ffi.string(lib.SSL_CIPHER_get_name(cipher)).decode("ascii"),
        "protocol": ffi.string(lib.SSL_CIPHER_get_version(cipher)).decode("ascii"),
        "description": description,
        "strength_bits": strength,
        "alg_bits": alg_bits[0],
        "aead": bool(lib.SSL_CIPHER_is_aead(cipher)),
        "symmetric": _nid_name(lib.SSL_CIPHER_get_cipher_nid(cipher), lib.OBJ_nid2ln),
        "digest": _nid_name(lib.SSL_CIPHER_get_digest_nid(cipher), lib.OBJ_nid2ln),
        "kea": _nid_name(lib.SSL_CIPHER_get_kx_nid(cipher), lib.OBJ_nid2ln),
        "auth": _nid_name(lib.SSL_CIPHER_get_auth_nid(cipher), lib.OBJ_nid2ln),
    }


# --------------------------------------------------------------------------- connections
_TRANSFER_SIZE = 1 << 15  # bytes moved per BIO_read when feeding a foreign outgoing BIO
_SSL_OBJECT_SIZE = 48 * 1024
_KEEP_READ_BUFFER = 1 << 16  # read buffers up to this size are kept for the next read()
_WRITE_PIECE = 1 << 20  # largest SSL_write_ex when records go to a foreign outgoing BIO
_WANT_READ = lib.SSL_ERROR_WANT_READ
_WANT_READ_TEXT = f"The operation did not complete (read) ({_LOCATION})"
# Bound once: on CPython a module global is cheaper than an attribute of ``lib``.
_tls_ssl_read = lib.tls_ssl_read
_tls_ssl_write = lib.tls_ssl_write
_tls_SSL_new_mem = lib.tls_SSL_new_mem
_tls_ssl_do_handshake = lib.tls_ssl_do_handshake
_tls_SSL_set_hostname = lib.tls_SSL_set_hostname
_SSL_get_error = lib.SSL_get_error
_ERR_peek_error = lib.ERR_peek_error
_tls_ssl_write_early_data = lib.tls_ssl_write_early_data
_tls_ssl_read_early_data = lib.tls_ssl_read_early_data
_DEFAULT_RECV_MAX_EARLY_DATA = 16384  # OpenSSL's default recv_max_early_data


class _SSLSocket:
    """One TLS connection over memory BIOs (CPython's ``_ssl._SSLSocket`` in BIO mode)."""

    __slots__ = (
        "_ssl",
        "_context",
        "_server_side",
        "server_hostname",
        "_owner_ref",
        "_in_foreign",
        "_out_foreign",
        "_rbio",
        "_wbio",
        "_in_eof",
        "_xfer",
        "_readbuf",
        "_readbuf_size",
        "_shutdown_seen_zero",
        "_handle",
        "_callback_error",  # an exception a Python callback raised, for the caller (OCSP)
        "_early_data_written",
        "_early_data_finished",
        "__weakref__",
    )

    def __init__(self, context, incoming, outgoing, server_side, server_hostname, owner):
        self._start(context, server_side, owner)
        if (
            incoming.__class__ is MemoryBIO
            and outgoing.__class__ is MemoryBIO
            and incoming._bio is not None
            and outgoing._bio is not None
        ):
            # Hot path (handshakes/s): both ends are our MemoryBIOs; one crossing makes the
            # SSL with both BIOs attached, its mode and its connect/accept state.
            rbio, wbio = incoming._bio, outgoing._bio
            ssl = _tls_SSL_new_mem(context._ctx, rbio, wbio, 1 if server_side else 0)
            if ssl == ffi.NULL:
                raise _ssl_error_from_queue("failed to allocate SSL object")
            # size: what an SSL with its record buffers holds, so PyPy's GC sees it
            self._ssl = ffi.gc(ssl, lib.tls_SSL_free, size=_SSL_OBJECT_SIZE)
            self._rbio, self._wbio = rbio, wbio
            state_set = True
        else:
            for name, bio in (("incoming", incoming), ("outgoing", outgoing)):
                if not isinstance(bio, MemoryBIO) and not (hasattr(bio, "read") and hasattr(bio, "write")):
                    raise TypeError(f"{name} must be a MemoryBIO-like object, not {type(bio).__name__}")
            ssl = lib.SSL_new(context._ctx)
            if ssl == ffi.NULL:
                raise _ssl_error_from_queue("failed to allocate SSL object")
            self._ssl = ffi.gc(ssl, lib.tls_SSL_free, size=_SSL_OBJECT_SIZE)
            self._in_foreign, self._rbio = self._attach(incoming)
            try:
                self._out_foreign, self._wbio = self._attach(outgoing)
            except BaseException:
                lib.BIO_free(self._rbio)
                raise
            lib.SSL_set_bio(ssl, self._rbio, self._wbio)
            if self._rbio == self._wbio:
                lib.BIO_free(self._wbio)  # one MemoryBIO for both ends: SSL_set_bio took one reference
            lib.SSL_set_mode(ssl, lib.SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | lib.SSL_MODE_AUTO_RETRY)
            state_set = False
        self._finish(server_hostname, state_set)

    def _start(self, context, server_side, owner):
        """The checks and fields every connection starts with, before its SSL exists."""
        protocol = context._protocol
        if server_side and protocol == PROTOCOL_TLS_CLIENT:
            raise _plain_ssl_error("Cannot create a server socket with a PROTOCOL_TLS_CLIENT context")
        if not server_side and protocol == PROTOCOL_TLS_SERVER:
            raise _plain_ssl_error("Cannot create a client socket with a PROTOCOL_TLS_SERVER context")
        self._context = context
        self._server_side = bool(server_side)
        self.server_hostname = None
        # A weak reference, as CPython keeps it: SSLObject <-> _SSLSocket is no cycle, so
        # both (and the SSL with its buffers) go as soon as the SSLObject does.
        self._owner_ref = None if owner is None else weakref.ref(owner)
        self._in_eof = False
        self._xfer = None
        self._readbuf = None
        self._readbuf_size = 0
        self._shutdown_seen_zero = False
        self._handle = None
        self._in_foreign = self._out_foreign = None
        # OCSP callbacks and TLS 1.3 early data
        self._callback_error = None
        self._early_data_written = 0
        self._early_data_finished = False

    def _finish(self, server_hostname, state_set):
        """What every new SSL gets once it exists: post-handshake auth, host name, SNI handle
        and (unless set already) its connect or accept state."""
        ssl = self._ssl
        context = self._context
        server_side = self._server_side
        if context._post_handshake_auth:
            if server_side:
                # Only servers that verify get SSL_VERIFY_POST_HANDSHAKE (bpo-37428).
                mode = lib.SSL_get_verify_mode(ssl)
                if mode & lib.SSL_VERIFY_PEER:
                    callback = lib.SSL_get_verify_callback(ssl)
                    lib.SSL_set_verify(ssl, mode | lib.SSL_VERIFY_POST_HANDSHAKE, callback)
            else:
                lib.SSL_set_post_handshake_auth(ssl, 1)
        if server_hostname is not None:
            self._configure_hostname(server_hostname)
        if server_side or context._ocsp_stapling or context._psk_client_callback is not None:
            # The SNI, OCSP and PSK callbacks find this object from the SSL (a weak reference:
            # no cycle through the handle).
            self._handle = ffi.new_handle(weakref.ref(self))
            lib.SSL_set_app_data(ssl, self._handle)
        if context._ocsp_stapling and not server_side:  # OCSP stapling: ask for a staple
            openssl_assert(lib.SSL_set_tlsext_status_type(ssl, lib.TLSEXT_STATUSTYPE_ocsp) == 1,
                           "SSL_set_tlsext_status_type")
        if not state_set:
            if server_side:
                lib.SSL_set_accept_state(ssl)
            else:
                lib.SSL_set_connect_state(ssl)

    @property
    def owner(self):
        ref = self._owner_ref
        return None if ref is None else ref()

    @owner.setter
    def owner(self, value):
        self._owner_ref = None if value is None else weakref.ref(value)

    @staticmethod
    def _attach(bio):
        """(foreign object or None, BIO* reference handed to SSL_set_bio)."""
        if isinstance(bio, MemoryBIO) and bio._bio is not None:
            openssl_assert(lib.BIO_up_ref(bio._bio), "BIO_up_ref")
            return None, bio._bio
        own = lib.BIO_new(lib.BIO_s_mem())
        if own == ffi.NULL:
            raise _ssl_error_from_queue("failed to allocate BIO")
        lib.BIO_set_mem_eof_return(own, -1)
        return bio, own

    def _configure_hostname(self, hostname):
        if isinstance(hostname, bytes):
            hostname = hostname.decode("ascii")
        if not isinstance(hostname, str):
            raise TypeError(f"server_hostname must be str, not {type(hostname).__name__}")
        if not hostname or hostname.startswith("."):
            raise ValueError("server_hostname cannot be an empty string or start with a leading dot.")
        if "\0" in hostname:
            raise ValueError("embedded null character")
        raw = hostname.encode("ascii")
        # One crossing: SNI and the name (or IP address) to verify, as CPython does it.
        if not _tls_SSL_set_hostname(self._ssl, raw, 1 if self._context._check_hostname else 0):
            raise _ssl_error_from_queue()
        self.server_hostname = hostname

    # ---- moving bytes to and from foreign BIO objects
    def _pull(self):
        """Feed OpenSSL what the foreign incoming BIO holds; True when something changed."""
        src = self._in_foreign
        if src is None or self._in_eof:
            return False
        data = src.read()
        if data:
            n = len(data)
            if lib.BIO_write(self._rbio, data, n) != n:
                raise _ssl_error_from_queue("BIO_write failed")
            return True
        if src.eof:
            self._in_eof = True
            lib.BIO_set_mem_eof_return(self._rbio, 0)
            return True
        return False

    def _flush(self):
        """Move the records OpenSSL produced into the foreign outgoing BIO."""
        dst = self._out_foreign
        if dst is None:
            return
        wbio = self._wbio
        pending = lib.BIO_ctrl_pending(wbio)
        if not pending:
            return
        buf = self._xfer
        if buf is None:
            buf = self._xfer = ffi.new("char[]", _TRANSFER_SIZE)
        while pending:
            n = lib.BIO_read(wbio, buf, min(pending, _TRANSFER_SIZE))
            if n <= 0:
                raise _ssl_error_from_queue("BIO_read failed")
            dst.write(ffi.buffer(buf, n))
            pending -= n

    def _error(self, ret, err=None):
        """Turn a failed SSL_* call into the exception CPython raises (PySSL_SetError)."""
        if err is None:
            err = _SSL_get_error(self._ssl, ret)
        if err == _WANT_READ:
            # The common case on every non-blocking read, kept cheap: SSL_get_error
            # answers WANT_READ only when the error queue is empty.
            return SSLWantReadError(SSL_ERROR_WANT_READ, _WANT_READ_TEXT)
        if self._callback_error is not None:  # a Python callback failed this handshake
            return self._take_callback_error()
        errors = consume_errors() if _ERR_peek_error() else []
        if err in _ERRSTR:
            exc_type, errstr = _ERRSTR[err]
            return _make_error(exc_type, err, errstr, errors)
        if err == lib.SSL_ERROR_SYSCALL:
            if not errors:
                return _make_error(SSLEOFError, SSL_ERROR_EOF, _EOF_TEXT, errors)
            return _make_error(SSLSyscallError, SSL_ERROR_SYSCALL, "Some I/O error occurred", errors)
        if err == lib.SSL_ERROR_SSL:
            last = errors[-1] if errors else None
            if last is None:
                return _make_error(SSLError, SSL_ERROR_SSL, "A failure in the SSL library occurred", errors)
            if last.lib == lib.ERR_LIB_SSL and last.reason == lib.SSL_R_CERTIFICATE_VERIFY_FAILED:
                return _make_error(SSLCertVerificationError, SSL_ERROR_SSL, None, errors, self._verify_info())
            if last.lib == lib.ERR_LIB_SSL and last.reason == lib.SSL_R_UNEXPECTED_EOF_WHILE_READING:
                return _make_error(SSLEOFError, SSL_ERROR_EOF, _EOF_TEXT, errors)
            return _make_error(SSLError, SSL_ERROR_SSL, None, errors)
        return _make_error(SSLError, SSL_ERROR_INVALID_ERROR_CODE, "Invalid error code", errors)

    def _verify_info(self):
        code = lib.SSL_get_verify_result(self._ssl)
        return code, verify_result_message(code, self.server_hostname)

    # ---- the TLS operations
    def do_handshake(self):
        # One crossing per attempt: tls_ssl_do_handshake gives 1 or -SSL_get_error().
        ssl = self._ssl
        ret = _tls_ssl_do_handshake(ssl)
        if self._in_foreign is None and self._out_foreign is None:
            if ret == 1:
                return
            raise self._error(ret, -ret)
        try:
            while ret != 1:
                err = -ret
                if err == _WANT_READ and self._in_foreign is not None and self._pull():
                    ret = _tls_ssl_do_handshake(ssl)
                    continue
                raise self._error(ret, err)
        finally:
            self._flush()

    def read(self, len=1024, buffer=None):
        # Hot path: one crossing (tls_ssl_read: SSL_read_ex + SSL_get_error on failure)
        # into the caller's buffer or a reused one.
        if buffer is not None:
            try:
                dest = _from_buffer(buffer, require_writable=True)
            except (TypeError, BufferError):
                raise TypeError(
                    f"read() argument 2 must be read-write bytes-like object, not {type(buffer).__name__}"
                ) from None
            size = _sizeof(dest)
            if len <= 0 or len > size:
                len = size
            if len == 0:
                return 0
            try:
                got = _tls_ssl_read(self._ssl, dest, len)
                if got >= 0:
                    if self._out_foreign is not None:
                        self._flush()
                    return got
                return self._read_slow(dest, len, True, -got)
            except BaseException:
                _release(dest)  # see _release
                raise
        if len > self._readbuf_size:
            dest = _new_chars(len)
            if len <= _KEEP_READ_BUFFER:
                self._readbuf = dest
                self._readbuf_size = len
        elif len > 0:
            dest = self._readbuf
        else:
            if len < 0:
                raise ValueError("size should not be negative")
            return b""
        got = _tls_ssl_read(self._ssl, dest, len)
        if got >= 0:
            if self._out_foreign is not None:
                self._flush()
            return _unpack(dest, got)
        return self._read_slow(dest, len, False, -got)

    def _read_slow(self, dest, len, into, err):
        ssl = self._ssl
        try:
            while True:
                if err == _WANT_READ and self._in_foreign is not None and self._pull():
                    got = _tls_ssl_read(ssl, dest, len)
                    if got >= 0:
                        return got if into else _unpack(dest, got)
                    err = -got
                    continue
                if (
                    err == lib.SSL_ERROR_ZERO_RETURN
                    and lib.SSL_get_shutdown(ssl) == lib.SSL_RECEIVED_SHUTDOWN
                ):
                    consume_errors()
                    return 0 if into else b""
                raise self._error(0, err)
        finally:
            if self._out_foreign is not None:
                self._flush()

    def write(self, data):
        if data.__class__ is bytes:  # passed as is: no from_buffer
            src = data
            size = len(data)
        else:
            try:
                src = _from_buffer(data)
            except TypeError:
                raise TypeError(f"a bytes-like object is required, not '{type(data).__name__}'") from None
            size = _sizeof(src)
        try:
            if size > _WRITE_PIECE and self._out_foreign is not None:
                return self._write_pieces(_from_buffer(src) if src is data else src, size)
            written = _tls_ssl_write(self._ssl, src, size)
            if written >= 0:
                if self._out_foreign is not None:
                    self._flush()
                return written
            return self._write_slow(src, size, -written)
        except BaseException:
            if src is not data:
                _release(src)  # see _release
            raise

    def _write_pieces(self, src, size):
        """Large writes to a foreign outgoing BIO: records are moved out piece by
        piece, so the private memory BIO never holds more than one piece."""
        done = 0
        ssl = self._ssl
        while done < size:
            n = min(size - done, _WRITE_PIECE)
            written = _tls_ssl_write(ssl, src + done, n)
            if written >= 0:
                self._flush()
            elif done:
                # Part went out already: report it (the caller resends the rest);
                # the condition (e.g. WANT_READ) shows again on the next write.
                consume_errors()
                return done
            else:
                written = self._write_slow(src, n, -written)
            done += written
        return done

    def _write_slow(self, src, size, err):
        ssl = self._ssl
        try:
            while True:
                if err == _WANT_READ and self._in_foreign is not None and self._pull():
                    written = _tls_ssl_write(ssl, src, size)
                    if written >= 0:
                        return written
                    err = -written
                    continue
                raise self._error(0, err)
        finally:
            if self._out_foreign is not None:
                self._flush()

    def pending(self):
        return lib.SSL_pending(self._ssl)

    def shutdown(self):
        ssl = self._ssl
        zeros = 0
        try:
            while True:
                ret = lib.SSL_shutdown(ssl)
                if ret > 0:
                    return None
                if ret == 0:
                    zeros += 1
                    if zeros > 1:
                        return None
                    self._shutdown_seen_zero = True
                    continue
                err = lib.SSL_get_error(ssl, ret)
                if err == lib.SSL_ERROR_WANT_READ and self._in_foreign is not None and self._pull():
                    continue
                raise self._error(ret)
        finally:
            self._flush()

    # ---- queries
    @property
    def context(self):
        return self._context

    @context.setter
    def context(self, ctx):
        if not isinstance(ctx, _SSLContext):
            raise TypeError("The value must be a SSLContext")
        if lib.SSL_set_SSL_CTX(self._ssl, ctx._ctx) == ffi.NULL:
            raise _ssl_error_from_queue()
        self._context = ctx

    @property
    def server_side(self):
        return self._server_side

    def getpeercert(self, binary_form=False):
        ssl = self._ssl
        if not lib.SSL_is_init_finished(ssl):
            raise ValueError("handshake not done yet")
        cert = lib.SSL_get1_peer_certificate(ssl)
        if cert == ffi.NULL:
            return None
        try:
            if binary_form:
                return _cert.certificate_der(cert)
            if not lib.SSL_CTX_get_verify_mode(self._context._ctx) & lib.SSL_VERIFY_PEER:
                return {}
            return _cert.decode_certificate(cert)
        finally:
            lib.X509_free(cert)

    @staticmethod
    def _chain_der(stack):
        return [
            _cert.certificate_der(ffi.cast("X509 *", lib.OPENSSL_sk_value(stack, i)))
            for i in range(lib.OPENSSL_sk_num(stack))
        ]

    def get_verified_chain(self):
        """DER certificates of the verified chain, leaf first ([] when none), as CPython 3.13."""
        stack = lib.tls_SSL_get0_verified_chain(self._ssl)
        return [] if stack == ffi.NULL else self._chain_der(stack)

    def get_unverified_chain(self):
        """DER certificates the peer sent, leaf first ([] when none), as CPython 3.13."""
        stack = lib.tls_SSL_get_peer_cert_chain(self._ssl)
        if stack == ffi.NULL:
            return []
        chain = self._chain_der(stack)
        if self._server_side:
            # OpenSSL leaves the client's own certificate out of this chain on servers
            peer = lib.SSL_get1_peer_certificate(self._ssl)
            if peer != ffi.NULL:
                try:
                    chain.insert(0, _cert.certificate_der(peer))
                finally:
                    lib.X509_free(peer)
        return chain

    def cipher(self):
        cipher = lib.SSL_get_current_cipher(self._ssl)
        if cipher == ffi.NULL:
            return None
        return self._cipher_tuple(cipher)

    def version(self):
        if not lib.SSL_is_init_finished(self._ssl):
            return None
        version = ffi.string(lib.SSL_get_version(self._ssl)).decode("ascii")
        return None if version == "unknown" else version

    def _cipher_tuple(self, cipher):
        name = ffi.string(lib.SSL_CIPHER_get_name(cipher)).decode("ascii")
        version = ffi.string(lib.SSL_CIPHER_get_version(cipher)).decode("ascii")
        return (name, version, lib.SSL_CIPHER_get_bits(cipher, ffi.NULL))

    def shared_ciphers(self):
        """Ciphers both sides offered, as (name, protocol, bits) (servers only; None otherwise)."""
        server = lib.tls_SSL_get_ciphers(self._ssl)
        client = lib.tls_SSL_get_client_ciphers(self._ssl)
        if server == ffi.NULL or client == ffi.NULL:
            return None
        offered = {lib.OPENSSL_sk_value(client, i) for i in range(lib.OPENSSL_sk_num(client))}
        result = []
        for i in range(lib.OPENSSL_sk_num(server)):
            ptr = lib.OPENSSL_sk_value(server, i)
            if ptr in offered:
                result.append(self._cipher_tuple(ffi.cast("SSL_CIPHER *", ptr)))
        return result

    def session_reused(self):
        return bool(lib.SSL_session_reused(self._ssl))

    @property
    def session(self):
        session = lib.SSL_get1_session(self._ssl)
        if session == ffi.NULL:
            return None
        return SSLSession._wrap(session, self._context)

    @session.setter
    def session(self, session):
        if not isinstance(session, SSLSession):
            raise TypeError("Value is not a SSLSession.")
        if session._ctx._ctx != self._context._ctx:
            raise ValueError("Session refers to a different SSLContext.")
        if self._server_side:
            raise ValueError("Cannot set session for server-side SSLSocket.")
        if lib.SSL_is_init_finished(self._ssl):
            raise ValueError("Cannot set session after handshake.")
        if not lib.SSL_set_session(self._ssl, session._session):
            raise _ssl_error_from_queue()

    def verify_client_post_handshake(self):
        if not lib.SSL_verify_client_post_handshake(self._ssl):
            raise _ssl_error_from_queue()
        self._flush()

    def get_channel_binding(self, cb_type="tls-unique"):
        if cb_type == "tls-exporter":  # issue 7: RFC 9266
            return self._tls_exporter_binding()
        if cb_type != "tls-unique":
            raise ValueError(f"'{cb_type}' channel binding type not implemented")
        buf = ffi.new("unsigned char[]", 128)
        if bool(lib.SSL_session_reused(self._ssl)) ^ (not self._server_side):
            n = lib.SSL_get_finished(self._ssl, buf, 128)
        else:
            n = lib.SSL_get_peer_finished(self._ssl, buf, 128)
        if n == 0:
            return None
        return ffi.buffer(buf, min(n, 128))[:]

    def group(self):
        """The key-exchange group of the handshake (e.g. ``"x25519"``, ``"X25519MLKEM768"``),
        None before it or when none was used (issue 7, as CPython 3.15)."""
        name = lib.tls_SSL_group_name(self._ssl)
        return None if name == ffi.NULL else ffi.string(name).decode("ascii", "replace")

    # ---- keying material export (issue 7): RFC 5705 / RFC 8446 section 7.5, RFC 9266
    def export_keying_material(self, label, length, context=None):
        if isinstance(label, str):
            label = label.encode("ascii")
        else:
            try:
                label = ffi.buffer(ffi.from_buffer(label))[:]
            except TypeError:
                raise TypeError(
                    f"label must be an ASCII str or a bytes-like object, not {type(label).__name__}"
                ) from None
        length = operator.index(length)
        if length < 1:
            raise ValueError("length must be positive")
        if length > _INT_MAX:
            raise OverflowError(f"length must not exceed {_INT_MAX}")
        if context is None:
            ctx_data, ctx_len, use_context = ffi.NULL, 0, 0
        else:
            if isinstance(context, str):
                raise TypeError("context must be a bytes-like object or None, not str")
            try:
                ctx_data = ffi.from_buffer(context)
            except TypeError:
                raise TypeError(
                    f"context must be a bytes-like object or None, not {type(context).__name__}"
                ) from None
            ctx_len, use_context = len(ctx_data), 1
            if ctx_len > 0xFFFF:  # RFC 5705: a 16-bit length
                raise ValueError("context must not be longer than 65535 bytes")
        ssl = self._ssl
        if not lib.SSL_is_init_finished(ssl):
            raise ValueError("handshake not done yet")
        out = ffi.new("unsigned char[]", length)
        ok = lib.SSL_export_keying_material(
            ssl, out, length, label, len(label), ctx_data, ctx_len, use_context
        )
        if ok != 1:
            raise _ssl_error_from_queue("failed to export keying material")
        return ffi.buffer(out, length)[:]

    def _tls_exporter_binding(self):
        """RFC 9266: 32 bytes exported with label "EXPORTER-Channel-Binding" and no context;
        None before the handshake.  TLS 1.2 only with the extended master secret (RFC 7627)
        and renegotiation disabled, as the RFC requires; ValueError otherwise."""
        ssl = self._ssl
        if not lib.SSL_is_init_finished(ssl):
            return None
        if lib.SSL_version(ssl) != lib.TLS1_3_VERSION:
            if not lib.SSL_get_extms_support(ssl):
                raise ValueError(
                    "'tls-exporter' channel binding is not defined for this connection: before TLS 1.3 "
                    "it needs the extended master secret extension (RFC 9266, RFC 7627), which the "
                    "peer did not negotiate"
                )
            if not lib.SSL_get_options(ssl) & OP_NO_RENEGOTIATION:
                raise ValueError(
                    "'tls-exporter' channel binding is not defined for this connection: before TLS 1.3 "
                    "it needs renegotiation disabled (RFC 9266); set OP_NO_RENEGOTIATION"
                )
        return self.export_keying_material(b"EXPORTER-Channel-Binding", 32)

    # ---- kernel TLS (issue 7): whether records go through the kernel's TLS
    def ktls_send_enabled(self):
        return bool(lib.tls_SSL_get_ktls_send(self._ssl))

    def ktls_recv_enabled(self):
        return bool(lib.tls_SSL_get_ktls_recv(self._ssl))

    def selected_alpn_protocol(self):
        out = ffi.new("const unsigned char **")
        outlen = ffi.new("unsigned int *")
        lib.SSL_get0_alpn_selected(self._ssl, out, outlen)
        if out[0] == ffi.NULL or outlen[0] == 0:
            return None
        return ffi.buffer(out[0], outlen[0])[:].decode("ascii", "surrogateescape")

    # ---- OCSP stapling and TLS 1.3 early data
    def _take_callback_error(self):
        """The exception a Python callback raised during the failed call: what OpenSSL
        queued about the failure it caused is dropped."""
        exc, self._callback_error = self._callback_error, None
        consume_errors()
        return exc

    def ocsp_response(self):
        """The stapled OCSP response (DER bytes): on a client, what the server sent; on a
        server, what it stapled.  None when there is none."""
        out = ffi.new("const unsigned char **")
        n = lib.SSL_get_tlsext_status_ocsp_resp(self._ssl, out)
        if n <= 0 or out[0] == ffi.NULL:
            return None
        return ffi.buffer(out[0], n)[:]

    def _ocsp_status(self, ssl):
        """The status callback's work (see tls_ocsp_status_callback)."""
        target = self.owner
        if target is None:
            target = self
        context = self._context
        if self._server_side:
            source = context._ocsp_server
            if source is not None and not isinstance(source, bytes):
                source = source(target)
                if source is not None:
                    source = _ocsp_der(source)
            if source is None:
                return lib.SSL_TLSEXT_ERR_NOACK
            if not lib.tls_SSL_set_ocsp_response(ssl, source, len(source)):
                raise _ssl_error_from_queue("failed to staple the OCSP response")
            return lib.SSL_TLSEXT_ERR_OK
        callback = context._ocsp_verify_callback
        if callback is None or lib.SSL_session_reused(ssl):
            # A resumed session has no certificate and no staple (TLS 1.3 still calls this):
            # it was judged in the handshake that made it.
            return 1
        return 1 if callback(target, self.ocsp_response()) else 0

    @property
    def early_data_accepted(self):
        return lib.SSL_get_early_data_status(self._ssl) == lib.SSL_EARLY_DATA_ACCEPTED

    def write_early_data(self, data):
        try:
            src = _from_buffer(data)
        except TypeError:
            raise TypeError(f"a bytes-like object is required, not '{type(data).__name__}'") from None
        try:
            size = _sizeof(src)
            self._check_early_write(size)
            written = self._early_call(_tls_ssl_write_early_data, src, size, "The write")
        except BaseException:
            _release(src)  # see _release
            raise
        self._early_data_written += written
        return written

    def _check_early_write(self, size):
        ssl = self._ssl
        if self._server_side:
            raise ValueError("write_early_data() is for clients; a server uses read_early_data()")
        if lib.SSL_is_init_finished(ssl):
            raise ValueError("early data can only be written before the handshake")
        max_version = lib.SSL_get_max_proto_version(ssl)
        if max_version and max_version < PROTO_TLSv1_3:
            raise ValueError("early data needs TLS 1.3, which maximum_version excludes")
        session = lib.SSL_get_session(ssl)
        limit = 0 if session == ffi.NULL else lib.SSL_SESSION_get_max_early_data(session)
        if limit == 0:
            raise ValueError(
                "early data needs a TLS 1.3 session to resume whose server accepts early data "
                "(set session to one with max_early_data > 0 before the handshake)"
            )
        if self._early_data_written + size > limit:
            raise ValueError(
                f"early data is limited to {limit} bytes by the session "
                f"({self._early_data_written} written already)"
            )

    def read_early_data(self, len=16384):
        len = operator.index(len)
        if len <= 0:
            raise ValueError("size must be positive")
        if not self._server_side:
            raise ValueError("read_early_data() is for servers; a client uses write_early_data()")
        if self._early_data_finished:
            return b""
        if lib.SSL_is_init_finished(self._ssl):
            raise ValueError("early data can only be read before the handshake")
        dest = _new_chars(len)
        got = self._early_call(_tls_ssl_read_early_data, dest, len, "The read")
        if got == 0:
            self._early_data_finished = True
            return b""
        return _unpack(dest, got)

    def _early_misuse(self):
        """ValueError when OpenSSL refused an early-data call in this connection's state."""
        code = _ERR_peek_error()
        if (
            code
            and lib.ERR_GET_LIB(code) == lib.ERR_LIB_SSL
            and lib.ERR_GET_REASON(code) == lib.ERR_R_SHOULD_NOT_HAVE_BEEN_CALLED
        ):
            consume_errors()
            what = "read" if self._server_side else "written"
            return ValueError(f"early data can only be {what} before the handshake")
        return None

    def _early_call(self, fn, buf, size, what):
        """``fn`` (tls_ssl_write/read_early_data) until it succeeds or must wait."""
        ssl = self._ssl
        try:
            while True:
                ret = fn(ssl, buf, size)
                if ret >= 0:
                    return ret
                err = -ret
                if err == _WANT_READ and self._in_foreign is not None and self._pull():
                    continue
                raise self._early_misuse() or self._error(0, err)
        finally:
            if self._out_foreign is not None:
                self._flush()

    def close(self):
        """Free the OpenSSL connection now (further calls fail)."""
        ssl, self._ssl = self._ssl, None
        if ssl is not None:
            ffi.gc(ssl, None)
            lib.tls_SSL_free(ssl)


# --------------------------------------------------------------------------- socket connections
_tls_SSL_new_socket = lib.tls_SSL_new_socket
_tls_ssl_shutdown = lib.tls_ssl_shutdown
_WANT_WRITE = lib.SSL_ERROR_WANT_WRITE
_ZERO_RETURN = lib.SSL_ERROR_ZERO_RETURN
_POLLIN = getattr(select, "POLLIN", 1)
_POLLOUT = getattr(select, "POLLOUT", 4)
_INFINITY = float("inf")
_SSL_ERROR_NO_SOCKET = 9  # CPython's PY_SSL_ERROR_NO_SOCKET (not exported)
_HANDSHAKE_TIMEOUT = f"{_LOCATION}: The handshake"  # only this timeout names the location
_monotonic = time.monotonic


def _socket_gone():
    """CPython's error for an operation whose socket object no longer exists (or is closed)."""
    return _make_error(SSLError, _SSL_ERROR_NO_SOCKET, "Underlying socket connection gone", [])


class _SocketConnection(_SSLSocket):
    """One TLS connection whose SSL reads and writes a socket's fd itself (CPython's
    ``_ssl._SSLSocket`` in socket mode): no record passes through Python.

    The Python socket keeps the fd and its blocking state: its timeout (None: blocking,
    0: non-blocking, > 0: O_NONBLOCK plus a wait here) is read at every operation, as
    CPython does, so ``settimeout`` between calls takes effect.
    """

    __slots__ = ("_sock_ref",)

    def __init__(self, context, sock, server_side, server_hostname, owner):
        self._start(context, server_side, owner)
        self._sock_ref = weakref.ref(sock)
        ssl = _tls_SSL_new_socket(context._ctx, sock.fileno(), 1 if server_side else 0)
        if ssl == ffi.NULL:
            raise _ssl_error_from_queue("failed to allocate SSL object")
        self._ssl = ffi.gc(ssl, lib.tls_SSL_free, size=_SSL_OBJECT_SIZE)
        self._rbio = self._wbio = None
        self._finish(server_hostname, True)

    def _socket(self):
        """The socket and its timeout; SSLError when the socket object is gone."""
        sock = self._sock_ref()
        if sock is None:
            raise _socket_gone()
        return sock, sock.gettimeout()

    @staticmethod
    def _retry(sock, timeout, err, deadline, what):
        """After ``err`` from an operation: the deadline to retry under (infinite on a
        blocking socket), once the socket is ready as its timeout allows; None when the
        caller must raise (another error, or WANT_* on a non-blocking socket).
        ``what`` starts the timeout message (CPython's texts: only the handshake's
        carries the _ssl.c location)."""
        if (err != _WANT_READ and err != _WANT_WRITE) or timeout == 0:
            return None
        if timeout is None:  # blocking: OpenSSL has waited already, just go on
            return _INFINITY
        if deadline is None:
            deadline = _monotonic() + timeout
        fd = sock.fileno()
        if fd < 0:
            raise SSLError("Underlying socket has been closed.")
        remaining = deadline - _monotonic()
        if remaining > 0:
            poller = select.poll()
            poller.register(fd, _POLLIN if err == _WANT_READ else _POLLOUT)
            # poll() retries on EINTR with the time left and runs signal handlers (PEP 475)
            if poller.poll(remaining * 1000.0 + 0.999):
                return deadline
        raise socket.timeout(f"{what} operation timed out")

    def _io_error(self, err):
        """An SSL_ERROR_SYSCALL with an errno from a handshake or shutdown is the OSError
        itself, as in CPython; every other failure as for memory BIOs."""
        if err == lib.SSL_ERROR_SYSCALL and not _ERR_peek_error():
            code = ffi.errno
            if code:
                return OSError(code, os.strerror(code))
        return self._error(0, err)

    def do_handshake(self):
        sock, timeout = self._socket()
        ssl = self._ssl
        deadline = None
        while True:
            ret = _tls_ssl_do_handshake(ssl)
            if ret == 1:
                return
            deadline = self._retry(sock, timeout, -ret, deadline, _HANDSHAKE_TIMEOUT)
            if deadline is None:
                raise self._io_error(-ret)

    # read() and write() are the memory-BIO class's, whose first SSL_read_ex/SSL_write_ex
    # usually succeeds; only when OpenSSL must wait do _read_slow/_write_slow below look
    # at the socket's timeout.
    def read(self, len=1024, buffer=None):
        if self._sock_ref() is None:
            raise _socket_gone()
        return _SSLSocket.read(self, len, buffer)

    def write(self, data):
        if self._sock_ref() is None:
            raise _socket_gone()
        return _SSLSocket.write(self, data)

    def _read_slow(self, dest, len, into, err):
        sock, timeout = self._socket()
        ssl = self._ssl
        deadline = None
        while True:
            if err == _ZERO_RETURN and lib.SSL_get_shutdown(ssl) == lib.SSL_RECEIVED_SHUTDOWN:
                consume_errors()
                return 0 if into else b""
            deadline = self._retry(sock, timeout, err, deadline, "The read")
            if deadline is None:
                raise self._error(0, err)
            got = _tls_ssl_read(ssl, dest, len)
            if got >= 0:
                return got if into else _unpack(dest, got)
            err = -got

    def _write_slow(self, src, size, err):
        sock, timeout = self._socket()
        ssl = self._ssl
        deadline = None
        while True:
            deadline = self._retry(sock, timeout, err, deadline, "The write")
            if deadline is None:
                raise self._error(0, err)
            # OpenSSL wants the very same buffer again after WANT_WRITE (part of it may be
            # out already); SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER lets its address change.
            written = _tls_ssl_write(ssl, src, size)
            if written >= 0:
                return written
            err = -written

    def _early_call(self, fn, buf, size, what):  # TLS 1.3 early data, waiting as the socket allows
        sock, timeout = self._socket()
        ssl = self._ssl
        deadline = None
        while True:
            ret = fn(ssl, buf, size)
            if ret >= 0:
                return ret
            deadline = self._retry(sock, timeout, -ret, deadline, what)
            if deadline is None:
                raise self._early_misuse() or self._io_error(-ret)

    def shutdown(self):
        sock, timeout = self._socket()
        if sock.fileno() < 0:
            raise _socket_gone()
        ssl = self._ssl
        deadline = None
        zeros = 0
        while True:
            ret = _tls_ssl_shutdown(ssl)
            if ret == 1:
                return sock
            if ret == 0:
                # close_notify sent; a second call waits for the peer's (at most twice, as CPython)
                zeros += 1
                if zeros > 1:
                    return sock
                self._shutdown_seen_zero = True
                continue
            err = -ret
            what = "The read" if err == _WANT_READ else "The write"
            deadline = self._retry(sock, timeout, err, deadline, what)
            if deadline is None:
                raise self._io_error(err)


    # ---- kernel TLS (issue 7): SSL_sendfile, once ktls_send_enabled()
    def sendfile(self, fd, offset, count):
        """Send up to ``count`` bytes of file ``fd`` from ``offset`` through kernel TLS;
        the count sent (0 at the end of the file)."""
        sock, timeout = self._socket()
        ssl = self._ssl
        deadline = None
        while True:
            sent = lib.tls_ssl_sendfile(ssl, fd, offset, count)
            if sent >= 0:
                return sent
            deadline = self._retry(sock, timeout, -sent, deadline, "The write")
            if deadline is None:
                raise self._io_error(-sent)


# --------------------------------------------------------------------------- sessions
class SSLSession:
    """A TLS session a client can resume (CPython's ``_ssl.SSLSession``)."""

    __slots__ = ("_session", "_ctx", "__weakref__")

    def __init__(self, *args, **kwargs):
        raise TypeError("cannot create '_ssl.SSLSession' instances")

    @classmethod
    def _wrap(cls, session, context):
        self = object.__new__(cls)
        self._session = ffi.gc(session, lib.SSL_SESSION_free)
        self._ctx = context
        return self

    @property
    def id(self):
        """Session id"""
        n = ffi.new("unsigned int *")
        ptr = lib.SSL_SESSION_get_id(self._session, n)
        return ffi.buffer(ptr, n[0])[:]

    @property
    def time(self):
        """Session creation time (seconds since epoch)."""
        return lib.SSL_SESSION_get_time(self._session)

    @property
    def timeout(self):
        """Session timeout (delta in seconds)."""
        return lib.SSL_SESSION_get_timeout(self._session)

    @property
    def ticket_lifetime_hint(self):
        """Ticket life time hint."""
        return lib.SSL_SESSION_get_ticket_lifetime_hint(self._session)

    @property
    def has_ticket(self):
        """Does the session contain a ticket?"""
        return bool(lib.SSL_SESSION_has_ticket(self._session))

    @property
    def max_early_data(self):
        """TLS 1.3 early data: how many bytes a client resuming this session may send
        with ``write_early_data`` (0: the server accepts none)."""
        return lib.SSL_SESSION_get_max_early_data(self._session)

    def __eq__(self, other):
        if not isinstance(other, SSLSession):
            return NotImplemented
        return self.id == other.id

    def __ne__(self, other):
        if not isinstance(other, SSLSession):
            return NotImplemented
        return self.id != other.id

    __hash__ = None


# --------------------------------------------------------------------------- SNI
_SERVERNAME_CB = ffi.addressof(lib, "tls_servername_callback")


@ffi.def_extern(error=lib.SSL_TLSEXT_ERR_ALERT_FATAL)
def tls_servername_callback(ssl, alert, arg):
    """OpenSSL's server-name callback -> ``context.sni_callback(sslobject, name, context)``
    with CPython's rules: None continues the handshake, an int is the alert to send,
    an exception (reported as unraisable) fails the handshake with handshake_failure."""
    alert[0] = lib.SSL_AD_HANDSHAKE_FAILURE  # stands if the callback raises
    handle = lib.SSL_get_app_data(ssl)
    sock = ffi.from_handle(handle)() if handle != ffi.NULL else None
    if sock is None:
        return lib.SSL_TLSEXT_ERR_OK
    ctx = sock._context
    callback = ctx._sni_callback
    if callback is None:
        return lib.SSL_TLSEXT_ERR_OK
    name = lib.SSL_get_servername(ssl, lib.TLSEXT_NAMETYPE_host_name)
    if name == ffi.NULL:
        servername = None
    else:
        alert[0] = lib.SSL_AD_INTERNAL_ERROR
        # server_hostname was sent as an A-label: kept as one (bpo-28414)
        servername = ffi.string(name).decode("ascii")
        alert[0] = lib.SSL_AD_HANDSHAKE_FAILURE
    target = sock.owner if sock.owner is not None else sock
    result = callback(target, servername, ctx)
    if result is None:
        return lib.SSL_TLSEXT_ERR_OK
    alert[0] = lib.SSL_AD_INTERNAL_ERROR
    alert[0] = operator.index(result)
    return lib.SSL_TLSEXT_ERR_ALERT_FATAL


# --------------------------------------------------------------------------- OCSP stapling
HAS_OCSP_STAPLING = bool(lib.TLS_HAS_OCSP)
_OCSP_STATUS_CB = ffi.addressof(lib, "tls_ocsp_status_callback")


@ffi.def_extern(error=-1)
def tls_ocsp_status_callback(ssl, arg):
    """OpenSSL's status_request callback, for both ends: on a server it staples the
    context's response (SSL_TLSEXT_ERR_OK) or none (NOACK); on a client it asks the
    context's verify callback (1 accept, 0 reject).  An exception is kept on the
    connection, raised to the caller of the handshake, and fails it here (-1: a fatal
    internal_error alert on either end)."""
    handle = lib.SSL_get_app_data(ssl)
    conn = ffi.from_handle(handle)() if handle != ffi.NULL else None
    if conn is None:
        return -1  # no connection to ask: fail closed
    try:
        return conn._ocsp_status(ssl)
    except BaseException as exc:
        conn._callback_error = exc
        return -1


def _ocsp_der(response):
    """``response`` as bytes, checked to be exactly one DER-encoded OCSPResponse."""
    if isinstance(response, str):
        raise TypeError("an OCSP response must be DER bytes, not 'str'")
    try:
        der = bytes(memoryview(response))
    except TypeError:
        raise TypeError(f"a bytes-like object is required, not '{type(response).__name__}'") from None
    if not der:
        raise ValueError("the OCSP response is empty")
    start = ffi.from_buffer("const unsigned char[]", der)
    cursor = ffi.new("const unsigned char **", start)
    parsed = lib.d2i_OCSP_RESPONSE(ffi.NULL, cursor, len(der))
    if parsed == ffi.NULL:
        consume_errors()
        raise ValueError("not a DER-encoded OCSP response")
    lib.OCSP_RESPONSE_free(parsed)
    if cursor[0] - start != len(der):
        raise ValueError("trailing data after the DER-encoded OCSP response")
    return der

# --------------------------------------------------------------------------- external PSKs (issue 7)
_PSK_CLIENT_CB = ffi.addressof(lib, "tls_psk_client_callback")
_PSK_SERVER_CB = ffi.addressof(lib, "tls_psk_server_callback")


def _psk_callback_and_name(ssl, attribute, name):
    """(the context's PSK callback, the peer's hint or identity as str or None), or None when
    there is no callback or the name is not UTF-8 (the handshake then fails, as in CPython)."""
    handle = lib.SSL_get_app_data(ssl)
    conn = ffi.from_handle(handle)() if handle != ffi.NULL else None
    if conn is None:
        return None
    callback = getattr(conn._context, attribute)
    if callback is None:
        return None
    if name == ffi.NULL or name[0] == b"\0":
        return callback, None
    try:
        return callback, ffi.string(name).decode("utf-8")
    except UnicodeDecodeError:
        return None


def _psk_bytes(value, what):
    if isinstance(value, str):
        raise TypeError(f"{what} must be bytes, not str")
    try:
        return ffi.from_buffer(value)
    except TypeError:
        raise TypeError(f"{what} must be bytes, not {type(value).__name__}") from None


@ffi.def_extern(error=0)
def tls_psk_client_callback(ssl, hint, identity, max_identity_len, psk, max_psk_len):
    """OpenSSL's PSK client callback -> ``callback(hint) -> (identity, psk)`` with CPython
    3.13's rules: 0 (no PSK: the handshake fails) when the callback raises (reported as
    unraisable) or returns something else than a (str/bytes/None, bytes) pair."""
    found = _psk_callback_and_name(ssl, "_psk_client_callback", hint)
    if found is None:
        return 0
    callback, hint_text = found
    result = callback(hint_text)
    if not isinstance(result, tuple) or len(result) != 2:
        raise TypeError(
            f"the PSK client callback must return an (identity, psk) tuple, not {type(result).__name__}"
        )
    ident, key = result
    if ident is None:
        ident = b""
    elif isinstance(ident, str):
        ident = ident.encode("utf-8")
    else:
        ident = ffi.buffer(_psk_bytes(ident, "the PSK identity"))[:]
    if b"\0" in ident:
        raise ValueError("the PSK identity contains a null character")
    key = _psk_bytes(key, "the PSK")
    if len(ident) + 1 > max_identity_len:
        raise ValueError(f"the PSK identity is longer than {max_identity_len - 1} bytes")
    if len(key) > max_psk_len:
        raise ValueError(f"the PSK is longer than {max_psk_len} bytes")
    ffi.memmove(identity, ident, len(ident))
    identity[len(ident)] = b"\0"
    ffi.memmove(psk, key, len(key))
    return len(key)


@ffi.def_extern(error=0)
def tls_psk_server_callback(ssl, identity, psk, max_psk_len):
    """OpenSSL's PSK server callback -> ``callback(identity) -> psk`` (b"": unknown identity)
    with CPython 3.13's rules: 0 (unknown identity) when the callback raises (reported as
    unraisable) or returns something else than bytes."""
    found = _psk_callback_and_name(ssl, "_psk_server_callback", identity)
    if found is None:
        return 0
    callback, identity_text = found
    key = _psk_bytes(callback(identity_text), "the PSK")
    if len(key) > max_psk_len:
        raise ValueError(f"the PSK is longer than {max_psk_len} bytes")
    ffi.memmove(psk, key, len(key))
    return len(key)


# --------------------------------------------------------------------------- module functions
def get_default_verify_paths():
    """(cafile env var, cafile, capath env var, capath) OpenSSL was built with."""

    def text(ptr):
        return ffi.string(ptr).decode("utf-8", "surrogateescape")

    return (
        text(lib.X509_get_default_cert_file_env()),
        text(lib.X509_get_default_cert_file()),
        text(lib.X509_get_default_cert_dir_env()),
        text(lib.X509_get_default_cert_dir()),
    )


def _test_decode_cert(path):
    """The getpeercert() dict of the first PEM certificate in ``path`` (as CPython's
    private ``_ssl._test_decode_cert``, used by tests)."""
    with open(path, "rb") as f:
        data = f.read()
    bio = lib.BIO_new_mem_buf(data, len(data))
    openssl_assert(bio != ffi.NULL, "BIO_new_mem_buf")
    try:
        cert = lib.PEM_read_bio_X509(bio, ffi.NULL, _PASSWORD_CB, ffi.NULL)
    finally:
        lib.BIO_free(bio)
    if cert == ffi.NULL:
        raise _ssl_error_from_queue("Error decoding PEM-encoded file")
    try:
        return _cert.decode_certificate(cert)
    finally:
        lib.X509_free(cert)


def RAND_bytes(n):
    """``n`` cryptographically strong random bytes."""
    n = operator.index(n)
    if n < 0:
        raise ValueError("num must be positive")
    if n == 0:
        return b""
    buf = ffi.new("unsigned char[]", n)
    done = 0
    while done < n:
        chunk = min(n - done, _INT_MAX)
        if lib.RAND_bytes(buf + done, chunk) != 1:
            raise _ssl_error_from_queue()
        done += chunk
    return ffi.buffer(buf, n)[:]


def RAND_status():
    """Whether the random generator has been seeded with enough data."""
    return bool(lib.RAND_status())


def RAND_add(string, entropy, /):
    """Mix ``string`` (str, as UTF-8, or bytes-like) into the generator, crediting
    ``entropy`` bytes of randomness."""
    if isinstance(string, str):
        string = string.encode("utf-8")
    try:
        data = ffi.from_buffer(string)
    except TypeError:
        raise TypeError(f"a bytes-like object is required, not '{type(string).__name__}'") from None
    entropy = float(entropy)
    size = len(data)
    done = 0
    while True:  # in int-sized pieces, at least one call (as for an empty string)
        chunk = min(size - done, _INT_MAX)
        lib.RAND_add(data + done, chunk, entropy)
        done += chunk
        if done >= size:
            return None


def RAND_pseudo_bytes(n):
    """Deprecated: ``(RAND_bytes(n), True)``; the generator is always cryptographic."""
    warnings.warn("ssl.RAND_pseudo_bytes() is deprecated", DeprecationWarning, stacklevel=2)
    return RAND_bytes(n), True


# --------------------------------------------------------------------------- ASN.1 objects
def _asn1obj_to_tuple(obj):
    nid = lib.OBJ_obj2nid(obj)
    if nid == lib.NID_undef:
        raise ValueError("Unknown object")
    buf = ffi.new("char[]", 128)
    n = lib.OBJ_obj2txt(buf, 128, obj, 1)
    if n < 0:
        raise _ssl_error_from_queue()
    return (
        nid,
        ffi.string(lib.OBJ_nid2sn(nid)).decode("ascii"),
        ffi.string(lib.OBJ_nid2ln(nid)).decode("ascii"),
        ffi.string(buf).decode("ascii"),
    )


def txt2obj(txt, name=False):
    """(nid, shortname, longname, oid) for an OID text (or a name when ``name``)."""
    obj = lib.OBJ_txt2obj(txt.encode("ascii"), 0 if name else 1)
    if obj == ffi.NULL:
        consume_errors()
        raise ValueError(f"unknown object '{txt[:100]}'")
    try:
        return _asn1obj_to_tuple(obj)
    finally:
        lib.ASN1_OBJECT_free(obj)


def nid2obj(nid):
    """(nid, shortname, longname, oid) for a NID."""
    nid = operator.index(nid)
    if nid < lib.NID_undef:
        raise ValueError("NID must be positive.")
    obj = lib.OBJ_nid2obj(nid)
    if obj == ffi.NULL:
        consume_errors()
        raise ValueError(f"unknown NID {nid}")
    try:
        return _asn1obj_to_tuple(obj)
    finally:
        lib.ASN1_OBJECT_free(obj)
