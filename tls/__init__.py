"""tls: OpenSSL for Python through cffi, on CPython and PyPy.

Importing ``tls`` loads nothing and changes nothing outside this package; the
areas load on first use: ``tls.hashes`` (hashlib), ``tls.hmac``, ``tls.kdf``,
``tls.random``, ``tls.ciphers``, ``tls.ssl``, ``tls.x509``.  ``inject_into_ssl()`` (explicit, never
at import) puts ``tls.ssl`` behind the stdlib ``ssl`` module.
"""

from tls.__about__ import __version__

__all__ = ["__version__", "extract_from_ssl", "inject_into_ssl"]


def inject_into_ssl():
    """Make ``tls.ssl`` the implementation behind the stdlib ``ssl`` module's classes and
    factories (``SSLContext``, ``SSLSocket``, ``create_default_context``...) for the whole
    process, so code that uses ``ssl`` -- asyncio, http.client, urllib, urllib3 -- runs on
    tls.  An application-level switch: libraries should pass ``tls.ssl`` contexts
    explicitly instead.  Idempotent and thread-safe; ``extract_from_ssl()`` undoes it.
    ``python -m tls run`` runs a program with it on from its first line."""
    from tls import _inject

    _inject.inject_into_ssl()


def extract_from_ssl():
    """Undo ``inject_into_ssl()``: every attribute of ``ssl`` (and of the modules that
    captured one) is again the identical stdlib object.  Idempotent and thread-safe."""
    from tls import _inject

    _inject.extract_from_ssl()
