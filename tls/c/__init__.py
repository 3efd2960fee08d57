"""The declaration layer: the C text each OpenSSL area contributes to ``tls._openssl``.

Every module here holds only strings: ``INCLUDES`` (headers), ``TYPES`` and
``FUNCTIONS`` (cffi declarations, OpenSSL's names spelled exactly) and
``CUSTOMIZATIONS`` (small C: version stubs, ``TLS_HAS_*`` feature flags and
``tls_*`` helpers).  Symbols the project invents always carry the ``tls_`` /
``TLS_`` prefix.  ``build_ffi.py`` assembles them; the binding checks at import
that the compiled module was built from exactly this text.
"""

import hashlib
import importlib

# Order matters only for C: a module may use types declared by an earlier one.
MODULES = ("crypto", "err", "params", "rand", "evp", "kdf", "cipher", "bio", "x509", "pem", "ssl", "ocsp")


def _load():
    return [importlib.import_module(f"{__name__}.{name}") for name in MODULES]


def cdef():
    """The declarations handed to ``ffi.cdef``."""
    parts = []
    for mod in _load():
        parts.append(mod.TYPES)
    for mod in _load():
        parts.append(mod.FUNCTIONS)
    parts.append("const char *tls_binding_fingerprint(void);")
    return "\n".join(parts)


def source():
    """The C source handed to ``ffi.set_source`` (the fingerprint function excluded)."""
    parts = [
        "#include <openssl/opensslv.h>",
        "#if OPENSSL_VERSION_MAJOR < 3",
        '#error "tls needs OpenSSL 3.0 or newer"',
        "#endif",
    ]
    mods = _load()
    parts.extend(mod.INCLUDES for mod in mods)
    parts.extend(mod.CUSTOMIZATIONS for mod in mods)
    return "\n".join(parts)


def fingerprint():
    """A digest of all the C text; the compiled module must report the same one."""
    return hashlib.sha256((cdef() + "\0" + source()).encode()).hexdigest()[:32]
