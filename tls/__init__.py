"""tls: OpenSSL for Python through cffi, on CPython and PyPy.

Importing ``tls`` loads nothing and changes nothing outside this package; the
areas load on first use: ``tls.hashes`` (hashlib), ``tls.hmac``, ``tls.kdf``,
``tls.random``, ``tls.ciphers``.
"""

from tls.__about__ import __version__

__all__ = ["__version__"]
