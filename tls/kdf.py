"""Key derivation over OpenSSL's EVP_KDF: PBKDF2, scrypt (hashlib's signatures) and HKDF.

Each KDF is fetched once and cached; every parameter handed to it is first
checked against ``EVP_KDF_settable_ctx_params`` (a provider that lacks one
raises UnsupportedAlgorithm instead of silently ignoring it).  A derivation
uses one ``EVP_KDF_CTX``, freed explicitly when the call returns.
"""

from __future__ import annotations

import operator
import threading

from tls import _digests
from tls._binding import clear_errors, ffi, lib, raise_error
from tls.exceptions import UnsupportedAlgorithm

__all__ = ["hkdf", "hkdf_expand", "hkdf_extract", "pbkdf2_hmac", "scrypt"]

_NULL = ffi.NULL
_INT_MAX = 2**31 - 1
_LONG_MIN, _LONG_MAX = -(2**63), 2**63 - 1
_ULONG_MAX = 2**64 - 1
_SCRYPT_DEFAULT_MAXMEM = 32 * 1024 * 1024  # EVP_PBE_scrypt's default, which hashlib gets

# OSSL_PARAM keeps a pointer to its key name: each lives in its own cdata so it
# outlives the call that builds the parameter (on PyPy a bytes argument is a
# temporary copy).
_KEYS = {}


def _key(name):
    k = _KEYS.get(name)
    if k is None:
        k = _KEYS.setdefault(name, ffi.new("char[]", name.encode("ascii")))
    return k


# --- digests ------------------------------------------------------------------
_DIGESTS = {}  # name as given -> (OpenSSL canonical name as a cdata, digest size)


def _digest(name):
    """(canonical name cdata, size) of a fixed-size digest, or ValueError."""
    found = _DIGESTS.get(name)
    if found is not None:
        return found
    ossl = _digests.fetch_name(name)
    try:
        encoded = ossl.encode("ascii")
    except UnicodeEncodeError:
        encoded = b""
    md = lib.EVP_MD_fetch(_NULL, encoded, _NULL) if encoded and b"\0" not in encoded else _NULL
    if md == _NULL:
        clear_errors()  # expected: an unknown name
        raise ValueError(f"unsupported hash type {name}")
    try:
        if lib.EVP_MD_get_flags(md) & lib.EVP_MD_FLAG_XOF or lib.EVP_MD_get_size(md) <= 0:
            raise ValueError(f"unsupported hash type {name}: HMAC needs a fixed-size digest")
        canonical = ffi.new("char[]", ffi.string(lib.EVP_MD_get0_name(md)))
        found = (canonical, lib.EVP_MD_get_size(md))
    finally:
        lib.EVP_MD_free(md)
    return _DIGESTS.setdefault(name, found)


# Constructors whose name is a promise (called with no argument they give the
# plain digest of that name); a lambda or a partial could add a BLAKE2 key or
# another digest size that a name cannot carry.
_TRUSTED_MODULES = frozenset(
    {"hashlib", "_hashlib", "_blake2", "_sha3", "_md5", "_sha1", "_sha256", "_sha512"}
)


def _algorithm_name(algorithm):
    """The hash name of ``algorithm``: a name, a hashlib (or tls.hashes)
    constructor, or a hash-algorithm object with ``name`` and ``digest_size``
    (e.g. cryptography's ``hashes.SHA256()``)."""
    if isinstance(algorithm, str):
        return algorithm
    if callable(algorithm):
        module = getattr(algorithm, "__module__", None) or ""
        if not (module in _TRUSTED_MODULES or module == "tls" or module.startswith("tls.")):
            raise TypeError(
                "algorithm must be a hash name or a hashlib/tls.hashes constructor; "
                f"{algorithm!r} may carry parameters a name cannot express"
            )
        probe = algorithm()
    else:
        probe = algorithm
    name = getattr(probe, "name", None)
    if not isinstance(name, str):
        raise TypeError(
            "algorithm must be a hash name, a hashlib constructor or a hash object, "
            f"not {type(algorithm).__name__!r}"
        )
    size = getattr(probe, "digest_size", None)
    if size is not None and size != _digest(name)[1]:
        raise ValueError(f"unsupported hash {name} with a {size}-byte digest")
    return name


# --- KDF fetching and parameters ---------------------------------------------
class _Kdf:
    __slots__ = ("kdf", "settable")

    def __init__(self, kdf, settable):
        self.kdf = kdf
        self.settable = settable


_KDFS = {}
_KDFS_LOCK = threading.Lock()


def _fetch(name, required, optional=()):
    """The cached EVP_KDF ``name``; checks ``required`` parameters are settable
    and records which ``optional`` ones are."""
    k = _KDFS.get(name)
    if k is not None:
        return k
    with _KDFS_LOCK:
        k = _KDFS.get(name)
        if k is not None:
            return k
        kdf = lib.EVP_KDF_fetch(_NULL, name.encode("ascii"), _NULL)
        if kdf == _NULL:
            clear_errors()
            raise UnsupportedAlgorithm(f"the loaded OpenSSL providers offer no {name} KDF")
        kdf = ffi.gc(kdf, lib.EVP_KDF_free)
        table = lib.EVP_KDF_settable_ctx_params(kdf)
        settable = set()
        for param in tuple(required) + tuple(optional):
            if table != _NULL and lib.OSSL_PARAM_locate_const(table, param.encode("ascii")) != _NULL:
                settable.add(param)
            elif param in required:
                raise UnsupportedAlgorithm(f"OpenSSL's {name} KDF does not accept the parameter {param!r}")
        k = _KDFS[name] = _Kdf(kdf, frozenset(settable))
        return k


class _Params:
    """An OSSL_PARAM array under construction; keeps every buffer it points to alive."""

    __slots__ = ("_kdf", "_items", "_keep")

    def __init__(self, kdf):
        self._kdf = kdf
        self._items = []
        self._keep = []

    def _check(self, key):
        if key not in self._kdf.settable:  # never pass what the provider would not accept
            raise UnsupportedAlgorithm(f"parameter {key!r} is not settable on this KDF")
        return _key(key)

    def octets(self, key, buf):
        self._keep.append(buf)
        self._items.append(lib.OSSL_PARAM_construct_octet_string(self._check(key), buf, len(buf)))

    def utf8(self, key, cstr):
        self._keep.append(cstr)
        self._items.append(lib.OSSL_PARAM_construct_utf8_string(self._check(key), cstr, 0))

    def uint64(self, key, value):
        ptr = ffi.new("uint64_t *", value)
        self._keep.append(ptr)
        self._items.append(lib.OSSL_PARAM_construct_uint64(self._check(key), ptr))

    def uint32(self, key, value):
        ptr = ffi.new("uint32_t *", value)
        self._keep.append(ptr)
        self._items.append(lib.OSSL_PARAM_construct_uint32(self._check(key), ptr))

    def int32(self, key, value):
        ptr = ffi.new("int *", value)
        self._keep.append(ptr)
        self._items.append(lib.OSSL_PARAM_construct_int(self._check(key), ptr))

    def array(self):
        arr = ffi.new("OSSL_PARAM[]", len(self._items) + 1)
        for i, item in enumerate(self._items):
            arr[i] = item
        arr[len(self._items)] = lib.OSSL_PARAM_construct_end()
        return arr


def _derive(kdf, params, length, what, param_error):
    """Set ``params`` on a fresh context of ``kdf`` and derive ``length`` bytes."""
    arr = params.array()
    ctx = lib.EVP_KDF_CTX_new(kdf.kdf)
    if ctx == _NULL:
        raise_error("EVP_KDF_CTX_new failed")
    try:
        if not lib.EVP_KDF_CTX_set_params(ctx, arr):
            raise_error(param_error, ValueError)
        out = ffi.new("unsigned char[]", length)
        if lib.EVP_KDF_derive(ctx, out, length, _NULL) <= 0:
            raise_error(f"{what} failed", ValueError)
        result = ffi.buffer(out, length)[:]
        lib.OPENSSL_cleanse(out, length)
        return result
    finally:
        lib.EVP_KDF_CTX_free(ctx)


def _buffer(obj):
    """Any bytes-like object (hashlib's Py_buffer arguments); never str."""
    if isinstance(obj, str):
        raise TypeError(f"a bytes-like object is required, not '{type(obj).__name__}'")
    try:
        return ffi.from_buffer(obj)
    except TypeError:
        raise TypeError(f"a bytes-like object is required, not '{type(obj).__name__}'") from None


def _type_name(obj):
    # how CPython's argument parser names a wrong type
    return "None" if obj is None else type(obj).__name__


def _c_long(value):
    """Python's conversion to a C long (``__index__``, OverflowError beyond 64 bits)."""
    value = operator.index(value)
    if not _LONG_MIN <= value <= _LONG_MAX:
        raise OverflowError("Python int too large to convert to C long")
    return value


# --- PBKDF2 ---------------------------------------------------------------------
def pbkdf2_hmac(hash_name, password, salt, iterations, dklen=None):
    """Password based key derivation function 2 (PKCS #5 v2.0) with HMAC as
    pseudorandom function, like ``hashlib.pbkdf2_hmac``."""
    if not isinstance(hash_name, str):
        raise TypeError(f"pbkdf2_hmac() argument 'hash_name' must be str, not {_type_name(hash_name)}")
    password = _buffer(password)
    salt = _buffer(salt)
    iterations = _c_long(iterations)
    if iterations < 1:
        raise ValueError("iteration value must be greater than 0.")
    if iterations > _INT_MAX:
        raise OverflowError("iteration value is too great.")
    md_name, md_size = _digest(hash_name)
    if dklen is None:
        dklen = md_size
    else:
        dklen = _c_long(dklen)
    if dklen < 1:
        raise ValueError("key length must be greater than 0.")
    if dklen > _INT_MAX:
        raise OverflowError("key length is too great.")
    kdf = _fetch("PBKDF2", ("pass", "salt", "iter", "digest"), ("pkcs5",))
    params = _Params(kdf)
    if "pkcs5" in kdf.settable:
        # pkcs5=1 turns off SP 800-132's lower bounds (salt >= 16 bytes,
        # iterations >= 1000, key >= 14 bytes): hashlib has none.
        params.int32("pkcs5", 1)
    params.utf8("digest", md_name)
    params.octets("pass", password)
    params.octets("salt", salt)
    params.uint64("iter", iterations)
    return _derive(kdf, params, dklen, "PBKDF2", "PBKDF2 rejected its parameters")


# --- scrypt -----------------------------------------------------------------------
def _scrypt_uint(value, name):
    if not isinstance(value, int):
        raise TypeError(f"scrypt() argument '{name}' must be int, not {_type_name(value)}")
    if value < 0 or value > _ULONG_MAX:
        raise TypeError(f"{name} is required and must be an unsigned int")
    return int(value)


def scrypt(password, *, salt=None, n=None, r=None, p=None, maxmem=0, dklen=64):
    """scrypt password-based key derivation function, like ``hashlib.scrypt``."""
    password = _buffer(password)
    if salt is None:
        raise TypeError("salt is required")
    salt = _buffer(salt)
    if n is None:
        raise TypeError("n is required and must be an unsigned int")
    n = _scrypt_uint(n, "n")
    if r is None:
        raise TypeError("r is required and must be an unsigned int")
    r = _scrypt_uint(r, "r")
    if p is None:
        raise TypeError("p is required and must be an unsigned int")
    p = _scrypt_uint(p, "p")
    maxmem = _c_long(maxmem)
    if maxmem < 0 or maxmem > _INT_MAX:
        raise ValueError(f"maxmem must be positive and smaller than {_INT_MAX}")
    dklen = _c_long(dklen)
    if dklen < 1 or dklen > _INT_MAX:
        raise ValueError(f"dklen must be greater than 0 and smaller than {_INT_MAX}")
    if n < 2 or n & (n - 1):
        raise ValueError("n must be a power of 2.")
    if r < 1 or p < 1 or r > 0xFFFFFFFF or p > 0xFFFFFFFF:
        # what the scrypt provider's parameter setter rejects, said the way hashlib does
        raise ValueError("Invalid parameter combination for n, r, p, maxmem.")
    kdf = _fetch("SCRYPT", ("pass", "salt", "n", "r", "p", "maxmem_bytes"))
    params = _Params(kdf)
    params.octets("pass", password)
    params.octets("salt", salt)
    params.uint64("n", n)
    params.uint32("r", r)
    params.uint32("p", p)
    params.uint64("maxmem_bytes", maxmem or _SCRYPT_DEFAULT_MAXMEM)
    return _derive(kdf, params, dklen, "scrypt", "Invalid parameter combination for n, r, p, maxmem.")


# --- HKDF (RFC 5869) -----------------------------------------------------------------
def _length(length, limit):
    if not isinstance(length, int) or isinstance(length, bool):
        raise TypeError(f"length must be an int, not {type(length).__name__!r}")
    if length < 1 or length > limit:
        raise ValueError(f"length must be between 1 and {limit} (255 * the hash size), not {length}")
    return length


def _hkdf_params(algorithm, mode):
    md_name, md_size = _digest(_algorithm_name(algorithm))
    kdf = _fetch("HKDF", ("mode", "digest", "key", "salt", "info"))
    params = _Params(kdf)
    params.int32("mode", mode)
    params.utf8("digest", md_name)
    return params, kdf, md_size


def _salt(salt, md_size):
    # RFC 5869 2.2: a missing salt is HashLen zero octets.
    return ffi.from_buffer(bytes(md_size)) if salt is None else _buffer(salt)


def _info(info):
    return ffi.from_buffer(b"") if info is None else _buffer(info)


def hkdf(algorithm, ikm, *, salt, info, length):
    """HKDF (RFC 5869) extract-then-expand: ``length`` bytes of output keying material.

    ``algorithm``: a hash name or a hashlib-style constructor.  ``salt`` None
    means HashLen zero bytes; ``info`` None means empty.
    """
    params, kdf, md_size = _hkdf_params(algorithm, lib.EVP_KDF_HKDF_MODE_EXTRACT_AND_EXPAND)
    length = _length(length, 255 * md_size)
    params.octets("key", _buffer(ikm))
    params.octets("salt", _salt(salt, md_size))
    params.octets("info", _info(info))
    return _derive(kdf, params, length, "HKDF", "HKDF rejected its parameters")


def hkdf_extract(algorithm, ikm, *, salt):
    """HKDF-Extract (RFC 5869 2.2): the pseudorandom key, hash-size bytes."""
    params, kdf, md_size = _hkdf_params(algorithm, lib.EVP_KDF_HKDF_MODE_EXTRACT_ONLY)
    params.octets("key", _buffer(ikm))
    params.octets("salt", _salt(salt, md_size))
    return _derive(kdf, params, md_size, "HKDF-Extract", "HKDF rejected its parameters")


def hkdf_expand(algorithm, prk, *, info, length):
    """HKDF-Expand (RFC 5869 2.3): ``length`` bytes from the pseudorandom key ``prk``."""
    params, kdf, md_size = _hkdf_params(algorithm, lib.EVP_KDF_HKDF_MODE_EXPAND_ONLY)
    length = _length(length, 255 * md_size)
    params.octets("key", _buffer(prk))
    params.octets("info", _info(info))
    return _derive(kdf, params, length, "HKDF-Expand", "HKDF rejected its parameters")
