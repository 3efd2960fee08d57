"""The one place that loads OpenSSL and turns its error queue into exceptions.

Rules every wrapper follows:
- every OpenSSL call that can fail is checked: ``if not lib.X(...): raise_error(...)``;
- a failure drains the thread's error queue into the exception it raises, so the
  next call never sees a stale error;
- ``openssl_assert`` is for calls that cannot fail unless something is broken.
"""

from __future__ import annotations

from typing import NamedTuple

from tls import c as _declarations

_OLDER_LIBRARY = (
    "A process loads one libssl/libcrypto: the one loaded first (often by the stdlib's "
    "ssl or hashlib) serves every module. Run with the newer library's directory on "
    "LD_LIBRARY_PATH, or rebuild tls against the OpenSSL the process loads."
)

try:
    from tls._openssl import ffi, lib
except ImportError as exc:  # pragma: no cover - depends on the installation
    if "version `OPENSSL_" in str(exc):  # glibc: a symbol version the loaded library lacks
        raise ImportError(
            f"tls._openssl was compiled against a newer OpenSSL than the one loaded ({exc}). "
            + _OLDER_LIBRARY
        ) from exc
    raise ImportError(
        "tls's compiled OpenSSL binding (tls._openssl) is missing or cannot load "
        f"({exc}). Install the package with 'pip install .' (which compiles it) "
        "instead of importing it from a source tree that was never built."
    ) from exc


def check_runtime_version(built, loaded):
    """Refuse an OpenSSL older (major.minor) than the headers tls was compiled with:
    OpenSSL keeps its ABI only for newer releases, and what the build detected from the
    headers (``#if OPENSSL_VERSION_NUMBER``) may be missing from an older library even
    when no symbol says so.  A newer library, or an older patch release, is fine."""
    if loaded >> 20 < built >> 20:
        raise ImportError(
            f"tls._openssl was compiled against OpenSSL {_version_text(built)} but OpenSSL "
            f"{_version_text(loaded)} is loaded. " + _OLDER_LIBRARY
        )


def _version_text(number):
    return f"{number >> 28}.{(number >> 20) & 0xFF}.{(number >> 4) & 0xFF}"


def _check_fingerprint():
    built = ffi.string(lib.tls_binding_fingerprint()).decode()
    expected = _declarations.fingerprint()
    if built != expected:
        raise ImportError(
            "tls._openssl was compiled from other C declarations than this tls package holds "
            f"(built {built}, package {expected}); reinstall tls so the binding is rebuilt."
        )


_check_fingerprint()
check_runtime_version(lib.OPENSSL_VERSION_NUMBER, lib.OpenSSL_version_num())


class ErrorRecord(NamedTuple):
    """One entry of OpenSSL's error queue."""

    code: int
    lib: int
    reason: int
    lib_name: str
    reason_text: str
    data: str

    def __str__(self):
        text = f"[{self.lib_name}] {self.reason_text}"
        return f"{text} ({self.data})" if self.data else text


class OpenSSLError(ValueError):
    """An OpenSSL operation failed; ``errors`` holds the drained error queue.

    ``library`` and ``reason`` name the first (outermost-cause) error, as
    ``ssl.SSLError`` does.  It is a ``ValueError`` because that is what
    ``hashlib`` and ``hmac`` raise for the same failures.
    """

    def __init__(self, message, errors=()):
        self.errors = list(errors)
        first = self.errors[0] if self.errors else None
        self.library = first.lib_name if first else None
        self.reason = first.reason_text if first else None
        if self.errors:
            message = f"{message}: " + "; ".join(str(e) for e in self.errors)
        super().__init__(message)


class InternalError(Exception):
    """OpenSSL failed where it cannot fail unless something is broken."""


def _text(ptr):
    return ffi.string(ptr).decode("utf-8", "replace") if ptr != ffi.NULL else ""


def consume_errors():
    """Drain the calling thread's error queue into a list of ErrorRecord."""
    records = []
    data = ffi.new("const char **")
    flags = ffi.new("int *")
    while True:
        code = lib.ERR_get_error_all(ffi.NULL, ffi.NULL, ffi.NULL, data, flags)
        if code == 0:
            return records
        extra = _text(data[0]) if flags[0] & lib.ERR_TXT_STRING else ""
        lib_name = _text(lib.ERR_lib_error_string(code)) or f"lib({lib.ERR_GET_LIB(code)})"
        reason_text = _text(lib.ERR_reason_error_string(code)) or f"reason({lib.ERR_GET_REASON(code)})"
        records.append(
            ErrorRecord(code, lib.ERR_GET_LIB(code), lib.ERR_GET_REASON(code), lib_name, reason_text, extra)
        )


def clear_errors():
    """Forget whatever an expected failure left on the queue."""
    lib.ERR_clear_error()


def raise_error(message, exc_type=OpenSSLError):
    """Raise ``exc_type`` for a failed call, draining the error queue into it."""
    errors = consume_errors()
    if issubclass(exc_type, OpenSSLError):
        raise exc_type(message, errors)
    if errors:
        message = f"{message}: " + "; ".join(str(e) for e in errors)
    raise exc_type(message)


def openssl_assert(ok, what="OpenSSL call"):
    """For calls that fail only when something is broken (out of memory, a dirty queue)."""
    if not ok:
        errors = consume_errors()
        raise InternalError(
            f"{what} failed unexpectedly (usually out of memory, or an error another "
            f"caller left on OpenSSL's queue): {'; '.join(map(str, errors)) or 'no error queued'}"
        )


def verify_result_message(code, hostname):
    """The text CPython's ssl gives an X509 verify result (``verify_message``): OpenSSL's
    own string, but for host-name and IP mismatches, which name the host."""
    if code == lib.X509_V_ERR_HOSTNAME_MISMATCH:
        return f"Hostname mismatch, certificate is not valid for '{hostname}'."
    if code == lib.X509_V_ERR_IP_ADDRESS_MISMATCH:
        return f"IP address mismatch, certificate is not valid for '{hostname}'."
    return ffi.string(lib.X509_verify_cert_error_string(code)).decode("ascii", "replace")


def openssl_version_built():
    """The OpenSSL version text the binding was compiled against."""
    return ffi.string(lib.OPENSSL_VERSION_TEXT).decode()


def openssl_version_loaded():
    """The OpenSSL version text of the libcrypto actually loaded."""
    return ffi.string(lib.OpenSSL_version(lib.OPENSSL_VERSION)).decode()


def list_names(kind):
    """Every algorithm name (aliases included) the loaded providers offer for ``kind``
    (``lib.TLS_LIST_DIGESTS``, ``..._CIPHERS``, ``..._MACS``, ``..._KDFS``)."""
    size = lib.tls_list_names(kind, ffi.NULL, 0)
    while True:
        buf = ffi.new("char[]", size)
        needed = lib.tls_list_names(kind, buf, size)
        if needed <= size:
            break
        size = needed  # a provider was loaded in between
    names = ffi.buffer(buf, needed)[:].decode("ascii", "replace").split("\n")
    return sorted({n for n in names if n})
