"""hashlib's digest names and OpenSSL's, in one place for hashes, hmac and kdf.

CPython's ``_hashlib`` keeps a table of hashlib's names (and, for most, an
upper-case alias) with the OpenSSL name each fetches; any other name goes to
OpenSSL as given.  Going back, OpenSSL's canonical names map to hashlib's, and
anything else is reported lower-cased ("md5-sha1", "sm3", "whirlpool").
"""

_FETCH = {}
for _py, _alias, _ossl in (
    ("md5", "MD5", "MD5"),
    ("sha1", "SHA1", "SHA1"),
    ("sha224", "SHA224", "SHA224"),
    ("sha256", "SHA256", "SHA256"),
    ("sha384", "SHA384", "SHA384"),
    ("sha512", "SHA512", "SHA512"),
    ("sha512_224", "SHA512_224", "SHA512-224"),
    ("sha512_256", "SHA512_256", "SHA512-256"),
    ("sha3_224", None, "SHA3-224"),
    ("sha3_256", None, "SHA3-256"),
    ("sha3_384", None, "SHA3-384"),
    ("sha3_512", None, "SHA3-512"),
    ("shake_128", "SHAKE128", "SHAKE128"),
    ("shake_256", "SHAKE256", "SHAKE256"),
    ("blake2s", "BLAKE2s256", "BLAKE2s256"),
    ("blake2b", "BLAKE2b512", "BLAKE2b512"),
):
    _FETCH[_py] = _ossl
    if _alias:
        _FETCH[_alias] = _ossl

_PYTHON = {}
for _py, _names in (
    ("md5", "MD5 SSL3-MD5"),
    ("sha1", "SHA1 SHA-1 SSL3-SHA1"),
    ("sha224", "SHA2-224 SHA-224 SHA224"),
    ("sha256", "SHA2-256 SHA-256 SHA256"),
    ("sha384", "SHA2-384 SHA-384 SHA384"),
    ("sha512", "SHA2-512 SHA-512 SHA512"),
    ("sha512_224", "SHA2-512/224 SHA-512/224 SHA512-224"),
    ("sha512_256", "SHA2-512/256 SHA-512/256 SHA512-256"),
    ("sha3_224", "SHA3-224"),
    ("sha3_256", "SHA3-256"),
    ("sha3_384", "SHA3-384"),
    ("sha3_512", "SHA3-512"),
    ("shake_128", "SHAKE-128 SHAKE128"),
    ("shake_256", "SHAKE-256 SHAKE256"),
    ("blake2b", "BLAKE2B-512 BLAKE2b512"),
    ("blake2s", "BLAKE2S-256 BLAKE2s256"),
    ("ripemd160", "RIPEMD-160 RIPEMD160 RIPEMD RMD160"),
):
    for _n in _names.split():
        _PYTHON[_n.upper()] = _py
del _py, _alias, _ossl, _names, _n


def known_fetch_name(name):
    """The OpenSSL name CPython fetches for one of hashlib's names or aliases, else None."""
    return _FETCH.get(name)


def fetch_name(name):
    """The name to hand ``EVP_MD_fetch`` for a hashlib-style ``name``."""
    return _FETCH.get(name, name)


def python_name(openssl_name):
    """hashlib's name for a digest OpenSSL calls ``openssl_name``."""
    return _PYTHON.get(openssl_name.upper(), openssl_name.lower())
