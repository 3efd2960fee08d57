"""tls.kdf: PBKDF2 (RFC 6070), scrypt, HKDF (RFC 5869) vectors; hashlib differential and parity."""

import hashlib
import hmac
import os
import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

import tls.kdf
import vectors
from tls.exceptions import UnsupportedAlgorithm

HAS_STDLIB_SCRYPT = hasattr(hashlib, "scrypt")
# The two costly RFC vectors (PBKDF2 with 16777216 iterations, scrypt with N=2**20
# and 1 GiB of memory) run only when asked: TLS_SLOW_TESTS=1.
SLOW = pytest.mark.skipif(os.environ.get("TLS_SLOW_TESTS") != "1", reason="slow vector: set TLS_SLOW_TESTS=1")


# -- PBKDF2 ------------------------------------------------------------------------------
def _pbkdf2_cases():
    for rec in vectors.load_nist("KDF", "rfc-6070-PBKDF2-SHA1.txt"):
        iterations = int(rec["iterations"])
        marks = (SLOW,) if iterations > 100_000 else ()
        yield pytest.param(
            rec["password"].replace("\\0", "\0").encode(),
            rec["salt"].replace("\\0", "\0").encode(),
            iterations,
            int(rec["length"]),
            vectors.unhex(rec["derived_key"]),
            id=f"count-{rec['count']}",
            marks=marks,
        )


PBKDF2_CASES = list(_pbkdf2_cases())


def test_pbkdf2_vector_count():
    assert len(PBKDF2_CASES) == 6


@pytest.mark.parametrize("password, salt, iterations, length, expected", PBKDF2_CASES)
def test_pbkdf2_known_answers(password, salt, iterations, length, expected):
    assert tls.kdf.pbkdf2_hmac("sha1", password, salt, iterations, length) == expected
    got = tls.kdf.pbkdf2_hmac("sha1", bytearray(password), memoryview(salt), iterations, dklen=length)
    assert got == expected


def _pbkdf2_reference(name, password, salt, iterations, dklen):
    """RFC 8018 section 5.2 written out with the stdlib hmac."""
    size = hashlib.new(name).digest_size
    dklen = dklen or size
    out = b""
    block = 1
    while len(out) < dklen:
        u = hmac.new(password, salt + block.to_bytes(4, "big"), name).digest()
        t = int.from_bytes(u, "big")
        for _ in range(iterations - 1):
            u = hmac.new(password, u, name).digest()
            t ^= int.from_bytes(u, "big")
        out += t.to_bytes(size, "big")
        block += 1
    return out[:dklen]


def test_pbkdf2_reference_is_right():
    expected = hashlib.pbkdf2_hmac("sha256", b"pw", b"salt", 3, 70)
    assert _pbkdf2_reference("sha256", b"pw", b"salt", 3, 70) == expected


@given(
    name=st.sampled_from(["sha1", "sha256", "sha512", "md5", "sha3_256", "sha224"]),
    password=st.binary(max_size=200),
    salt=st.binary(max_size=64),
    iterations=st.integers(min_value=1, max_value=50),
    dklen=st.one_of(st.none(), st.integers(min_value=1, max_value=200)),
)
def test_pbkdf2_against_hashlib(name, password, salt, iterations, dklen):
    try:
        expected = hashlib.pbkdf2_hmac(name, password, salt, iterations, dklen)
    except ValueError:  # PyPy 3.9's hashlib.pbkdf2_hmac lacks SHA-3
        expected = _pbkdf2_reference(name, password, salt, iterations, dklen)
    assert tls.kdf.pbkdf2_hmac(name, password, salt, iterations, dklen) == expected
    assert tls.kdf.pbkdf2_hmac(hash_name=name, password=password, salt=salt, iterations=iterations,
                               dklen=dklen) == expected


def test_pbkdf2_default_length_is_the_digest_size():
    assert len(tls.kdf.pbkdf2_hmac("sha512", b"p", b"s", 1)) == 64
    assert len(tls.kdf.pbkdf2_hmac("sha1", b"p", b"s", 1, None)) == 20


# (call, exception, message): CPython 3.11 hashlib's messages
P = tls.kdf.pbkdf2_hmac
S = tls.kdf.scrypt
PBKDF2_ERRORS = [
    (lambda: P(b"sha256", b"p", b"s", 1), TypeError,
     "pbkdf2_hmac() argument 'hash_name' must be str, not bytes"),
    (lambda: P(None, b"p", b"s", 1), TypeError,
     "pbkdf2_hmac() argument 'hash_name' must be str, not None"),
    (lambda: P("sha256", "p", b"s", 1), TypeError, "a bytes-like object is required, not 'str'"),
    (lambda: P("sha256", b"p", "s", 1), TypeError, "a bytes-like object is required, not 'str'"),
    (lambda: P("sha256", None, b"s", 1), TypeError,
     "a bytes-like object is required, not 'NoneType'"),
    (lambda: P("sha256", b"p", None, 1), TypeError,
     "a bytes-like object is required, not 'NoneType'"),
    (lambda: P("sha256", b"p", b"s", 0), ValueError, "iteration value must be greater than 0."),
    (lambda: P("sha256", b"p", b"s", -1), ValueError, "iteration value must be greater than 0."),
    (lambda: P("sha256", b"p", b"s", 2**31), OverflowError, "iteration value is too great."),
    (lambda: P("sha256", b"p", b"s", 2**63), OverflowError,
     "Python int too large to convert to C long"),
    (lambda: P("sha256", b"p", b"s", 1.0), TypeError,
     "'float' object cannot be interpreted as an integer"),
    (lambda: P("sha256", b"p", b"s", "1"), TypeError,
     "'str' object cannot be interpreted as an integer"),
    (lambda: P("sha256", b"p", b"s", 1, 0), ValueError, "key length must be greater than 0."),
    (lambda: P("sha256", b"p", b"s", 1, -5), ValueError, "key length must be greater than 0."),
    (lambda: P("sha256", b"p", b"s", 1, 2**31), OverflowError, "key length is too great."),
    (lambda: P("sha256", b"p", b"s", 1, 1.5), TypeError,
     "'float' object cannot be interpreted as an integer"),
    (lambda: P("foo", b"p", b"s", 1), ValueError, "unsupported hash type foo"),
    (lambda: P("shake_128", b"p", b"s", 1), ValueError, None),
]


@pytest.mark.parametrize("call, exc, message", PBKDF2_ERRORS)
def test_pbkdf2_bad_input(call, exc, message):
    with pytest.raises(exc) as info:
        call()
    if message is not None:
        assert str(info.value) == message


def test_pbkdf2_accepts_what_sp800_132_would_reject():
    # short salt, few iterations, short key: hashlib allows them, so must we (pkcs5=1)
    assert tls.kdf.pbkdf2_hmac("sha256", b"", b"", 1, 1) == hashlib.pbkdf2_hmac("sha256", b"", b"", 1, 1)


# -- scrypt ------------------------------------------------------------------------------
def _scrypt_cases():
    for rec in vectors.load_nist("KDF", "scrypt.txt"):
        n = int(rec["n"])
        marks = (SLOW,) if n > 16384 else ()
        yield pytest.param(
            rec["password"].encode(), rec["salt"].encode(), n, int(rec["r"]), int(rec["p"]),
            int(rec["length"]), vectors.unhex(rec["derived_key"]), id=f"count-{rec['count']}", marks=marks,
        )


SCRYPT_CASES = list(_scrypt_cases())


def test_scrypt_vector_count():
    assert len(SCRYPT_CASES) == 4


@pytest.mark.parametrize("password, salt, n, r, p, length, expected", SCRYPT_CASES)
def test_scrypt_known_answers(password, salt, n, r, p, length, expected):
    maxmem = 2**31 - 1 if 128 * r * n > 32 * 1024 * 1024 else 0
    assert tls.kdf.scrypt(password, salt=salt, n=n, r=r, p=p, maxmem=maxmem, dklen=length) == expected


@pytest.mark.skipif(not HAS_STDLIB_SCRYPT, reason="this interpreter's hashlib has no scrypt")
@given(
    password=st.binary(max_size=64),
    salt=st.binary(max_size=32),
    log_n=st.integers(min_value=1, max_value=6),
    r=st.integers(min_value=1, max_value=4),
    p=st.integers(min_value=1, max_value=3),
    dklen=st.integers(min_value=1, max_value=100),
)
def test_scrypt_against_hashlib(password, salt, log_n, r, p, dklen):
    expected = hashlib.scrypt(password, salt=salt, n=2**log_n, r=r, p=p, dklen=dklen)
    assert tls.kdf.scrypt(password, salt=salt, n=2**log_n, r=r, p=p, dklen=dklen) == expected


def test_scrypt_default_dklen_and_buffers():
    out = tls.kdf.scrypt(bytearray(b"pw"), salt=memoryview(b"s"), n=16, r=1, p=1)
    assert len(out) == 64
    assert tls.kdf.scrypt(b"pw", salt=b"s", n=16, r=1, p=1, dklen=8) == out[:8]


SCRYPT_ERRORS = [
    (lambda: S(b"pw", b"s", 16, 1, 1), TypeError, None),  # keyword-only
    (lambda: S(b"pw", n=16, r=1, p=1), TypeError, "salt is required"),
    (lambda: S(b"pw", salt=b"s", r=1, p=1), TypeError, "n is required and must be an unsigned int"),
    (lambda: S(b"pw", salt=b"s", n=16, p=1), TypeError, "r is required and must be an unsigned int"),
    (lambda: S(b"pw", salt=b"s", n=16, r=1), TypeError, "p is required and must be an unsigned int"),
    (lambda: S("pw", salt=b"s", n=16, r=1, p=1), TypeError,
     "a bytes-like object is required, not 'str'"),
    (lambda: S(b"pw", salt="s", n=16, r=1, p=1), TypeError,
     "a bytes-like object is required, not 'str'"),
    (lambda: S(None, salt=b"s", n=16, r=1, p=1), TypeError,
     "a bytes-like object is required, not 'NoneType'"),
    (lambda: S(b"pw", salt=b"s", n=15, r=1, p=1), ValueError, "n must be a power of 2."),
    (lambda: S(b"pw", salt=b"s", n=1, r=1, p=1), ValueError, "n must be a power of 2."),
    (lambda: S(b"pw", salt=b"s", n=0, r=1, p=1), ValueError, "n must be a power of 2."),
    (lambda: S(b"pw", salt=b"s", n=-16, r=1, p=1), TypeError,
     "n is required and must be an unsigned int"),
    (lambda: S(b"pw", salt=b"s", n=16.0, r=1, p=1), TypeError,
     "scrypt() argument 'n' must be int, not float"),
    (lambda: S(b"pw", salt=b"s", n=16, r=1.0, p=1), TypeError,
     "scrypt() argument 'r' must be int, not float"),
    (lambda: S(b"pw", salt=b"s", n=16, r=0, p=1), ValueError,
     "Invalid parameter combination for n, r, p, maxmem."),
    (lambda: S(b"pw", salt=b"s", n=16, r=1, p=0), ValueError,
     "Invalid parameter combination for n, r, p, maxmem."),
    (lambda: S(b"pw", salt=b"s", n=16, r=-1, p=1), TypeError,
     "r is required and must be an unsigned int"),
    (lambda: S(b"pw", salt=b"s", n=16, r=1, p=1, dklen=0), ValueError,
     "dklen must be greater than 0 and smaller than 2147483647"),
    (lambda: S(b"pw", salt=b"s", n=16, r=1, p=1, dklen=2**31), ValueError,
     "dklen must be greater than 0 and smaller than 2147483647"),
    (lambda: S(b"pw", salt=b"s", n=16, r=1, p=1, maxmem=-1), ValueError,
     "maxmem must be positive and smaller than 2147483647"),
    (lambda: S(b"pw", salt=b"s", n=16, r=1, p=1, maxmem=2**31), ValueError,
     "maxmem must be positive and smaller than 2147483647"),
    (lambda: S(b"pw", salt=b"s", n=16, r=1, p=1, maxmem=2**64), OverflowError,
     "Python int too large to convert to C long"),
    (lambda: S(b"pw", salt=b"s", n=16, r=1, p=1, dklen=None), TypeError,
     "'NoneType' object cannot be interpreted as an integer"),
]


@pytest.mark.parametrize("call, exc, message", SCRYPT_ERRORS)
def test_scrypt_bad_input(call, exc, message):
    with pytest.raises(exc) as info:
        call()
    if message is not None:
        assert str(info.value) == message


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(n=2**20, r=8, p=1),  # 1 GiB > the 32 MiB default limit
        dict(n=2**14, r=8, p=1, maxmem=2**24),
        dict(n=16, r=1, p=1, maxmem=1000),
        dict(n=16, r=2**30, p=1),
        dict(n=2**32, r=1, p=1),
    ],
)
def test_scrypt_memory_limit_is_a_value_error_with_the_reason(kwargs):
    with pytest.raises(ValueError, match="memory limit exceeded"):
        tls.kdf.scrypt(b"pw", salt=b"s", **kwargs)
    # the failure leaves no stale error behind
    assert len(tls.kdf.scrypt(b"pw", salt=b"s", n=16, r=1, p=1)) == 64


# -- HKDF --------------------------------------------------------------------------------
def _hkdf_cases():
    for filename, name in (("rfc-5869-HKDF-SHA1.txt", "sha1"), ("rfc-5869-HKDF-SHA256.txt", "sha256")):
        for rec in vectors.load_nist("KDF", filename):
            yield pytest.param(
                name, vectors.unhex(rec["ikm"]), vectors.unhex(rec["salt"]), vectors.unhex(rec["info"]),
                int(rec["l"]), vectors.unhex(rec["prk"]), vectors.unhex(rec["okm"]),
                id=f"{name}-{rec['count']}",
            )


HKDF_CASES = list(_hkdf_cases())


def test_hkdf_vector_count():
    assert len(HKDF_CASES) == 7  # RFC 5869: 3 with SHA-256, 4 with SHA-1


@pytest.mark.parametrize("name, ikm, salt, info, length, prk, okm", HKDF_CASES)
def test_hkdf_known_answers(name, ikm, salt, info, length, prk, okm):
    assert tls.kdf.hkdf_extract(name, ikm, salt=salt) == prk
    assert tls.kdf.hkdf_expand(name, prk, info=info, length=length) == okm
    assert tls.kdf.hkdf(name, ikm, salt=salt, info=info, length=length) == okm
    constructor = getattr(hashlib, name)
    assert tls.kdf.hkdf(constructor, bytearray(ikm), salt=memoryview(salt), info=info, length=length) == okm
    if not salt:  # RFC 5869: "not provided" means HashLen zeros, the same PRK as an empty salt
        assert tls.kdf.hkdf_extract(name, ikm, salt=None) == prk


def _rfc5869(name, ikm, salt, info, length):
    """RFC 5869 written out with the stdlib hmac, as the reference."""
    size = hashlib.new(name).digest_size
    prk = hmac.new(salt if salt is not None else bytes(size), ikm, name).digest()
    okm, block, i = b"", b"", 1
    while len(okm) < length:
        block = hmac.new(prk, block + info + bytes([i]), name).digest()
        okm += block
        i += 1
    return prk, okm[:length]


@given(
    name=st.sampled_from(["sha1", "sha256", "sha512", "sha3_256"]),
    ikm=st.binary(max_size=100),
    salt=st.one_of(st.none(), st.binary(max_size=100)),
    info=st.binary(max_size=100),
    length=st.integers(min_value=1, max_value=300),
)
def test_hkdf_against_reference(name, ikm, salt, info, length):
    prk, okm = _rfc5869(name, ikm, salt, info, length)
    assert tls.kdf.hkdf_extract(name, ikm, salt=salt) == prk
    assert tls.kdf.hkdf_expand(name, prk, info=info, length=length) == okm
    assert tls.kdf.hkdf(name, ikm, salt=salt, info=info, length=length) == okm


@pytest.mark.parametrize("name, size", [("sha1", 20), ("sha256", 32), ("sha512", 64)])
def test_hkdf_length_limits(name, size):
    assert len(tls.kdf.hkdf(name, b"ikm", salt=None, info=b"", length=255 * size)) == 255 * size
    assert len(tls.kdf.hkdf_expand(name, bytes(size), info=None, length=1)) == 1
    for bad in (0, -1, 255 * size + 1):
        with pytest.raises(ValueError):
            tls.kdf.hkdf(name, b"ikm", salt=None, info=b"", length=bad)
        with pytest.raises(ValueError):
            tls.kdf.hkdf_expand(name, bytes(size), info=b"", length=bad)


HKDF_ERRORS = [
    (lambda: tls.kdf.hkdf("sha256", "ikm", salt=None, info=b"", length=32), TypeError),
    (lambda: tls.kdf.hkdf("sha256", None, salt=None, info=b"", length=32), TypeError),
    (lambda: tls.kdf.hkdf("sha256", b"ikm", salt="salt", info=b"", length=32), TypeError),
    (lambda: tls.kdf.hkdf("sha256", b"ikm", salt=None, info="info", length=32), TypeError),
    (lambda: tls.kdf.hkdf("sha256", b"ikm", salt=None, info=b"", length=32.0), TypeError),
    (lambda: tls.kdf.hkdf("sha256", b"ikm", salt=None, info=b"", length="32"), TypeError),
    (lambda: tls.kdf.hkdf("sha256", b"ikm", b"salt", b"info", 32), TypeError),  # keyword-only
    (lambda: tls.kdf.hkdf("foo", b"ikm", salt=None, info=b"", length=32), ValueError),
    (lambda: tls.kdf.hkdf("shake_128", b"ikm", salt=None, info=b"", length=32), ValueError),
    (lambda: tls.kdf.hkdf(42, b"ikm", salt=None, info=b"", length=32), TypeError),
    (lambda: tls.kdf.hkdf(lambda: hashlib.blake2b(key=b"k"), b"ikm", salt=None, info=b"", length=32),
     TypeError),
    (lambda: tls.kdf.hkdf_extract("sha256", "ikm", salt=None), TypeError),
    (lambda: tls.kdf.hkdf_expand("sha256", "prk", info=b"", length=32), TypeError),
    (lambda: tls.kdf.hkdf_expand("nonexistent", b"prk", info=b"", length=32), ValueError),
]


@pytest.mark.parametrize("call, exc", HKDF_ERRORS)
def test_hkdf_bad_input(call, exc):
    with pytest.raises(exc):
        call()


def test_kdf_objects_are_fetched_once():
    tls.kdf.hkdf("sha256", b"a", salt=None, info=b"", length=8)
    first = tls.kdf._KDFS["HKDF"]
    tls.kdf.hkdf("sha1", b"a", salt=None, info=b"", length=8)
    assert tls.kdf._KDFS["HKDF"] is first
    assert {"mode", "digest", "key", "salt", "info"} <= first.settable


def test_unsettable_parameter_is_refused():
    tls.kdf.pbkdf2_hmac("sha256", b"p", b"s", 1)
    params = tls.kdf._Params(tls.kdf._KDFS["PBKDF2"])
    with pytest.raises(UnsupportedAlgorithm):
        params.octets("info", b"not a PBKDF2 parameter")


def test_threads_derive_the_same_keys():
    expected = [tls.kdf.pbkdf2_hmac("sha256", bytes([i]), b"salt", 100) for i in range(8)]
    expected_h = [tls.kdf.hkdf("sha256", bytes([i]), salt=b"s", info=b"i", length=100) for i in range(8)]
    results, errors = {}, []

    def work(t):
        try:
            for _ in range(20):
                got = [tls.kdf.pbkdf2_hmac("sha256", bytes([i]), b"salt", 100) for i in range(8)]
                got_h = [tls.kdf.hkdf("sha256", bytes([i]), salt=b"s", info=b"i", length=100)
                         for i in range(8)]
            results[t] = (got, got_h)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert all(r == (expected, expected_h) for r in results.values()) and len(results) == 8
