"""tls.hashes against known answers, against hashlib, with bad input and threads."""

import array
import copy
import glob
import hashlib
import io
import os
import pickle
import platform
import re
import sys
import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

import vectors
from tls import hashes

CPYTHON = platform.python_implementation() == "CPython"
only_cpython_hashlib = pytest.mark.skipif(
    not CPYTHON or sys.version_info < (3, 11),
    reason="CPython >= 3.11's hashlib is the spec (PyPy's and 3.9's differ in messages and error types)",
)

FIXED = sorted(
    n for n in hashes.algorithms_available if n not in ("shake_128", "shake_256", "blake2b", "blake2s")
)


def _hashlib_has(name):
    try:
        hashlib.new(name)
    except ValueError:
        return False
    return True


def _hashlib_new(name, data=b""):
    # PyPy's hashlib.new("shake_128") gives a fixed-size object: use its named constructors.
    return getattr(hashlib, name)(data) if name in hashlib.algorithms_guaranteed else hashlib.new(name, data)


# Algorithms both have (the differential tests need hashlib to know them too).
COMMON = [n for n in FIXED if _hashlib_has(n)]


# ---------------------------------------------------------------------------
# Known answers


def _kat_files(folder, pattern):
    files = sorted(glob.glob(vectors.path("hashes", folder, pattern)))
    assert files, f"no vector files for {folder}/{pattern}"
    return [os.path.basename(f) for f in files]


_SHA_NAMES = {
    "SHA1": "sha1",
    "SHA224": "sha224",
    "SHA256": "sha256",
    "SHA384": "sha384",
    "SHA512": "sha512",
    "SHA512_224": "sha512_224",
    "SHA512_256": "sha512_256",
    "SHA3_224": "sha3_224",
    "SHA3_256": "sha3_256",
    "SHA3_384": "sha3_384",
    "SHA3_512": "sha3_512",
}


def _sha_cases():
    for folder in ("SHA1", "SHA2", "SHA3"):
        for pattern in ("*ShortMsg.rsp", "*LongMsg.rsp"):
            for fname in _kat_files(folder, pattern):
                algo = _SHA_NAMES[re.sub(r"(ShortMsg|LongMsg)\.rsp$", "", fname)]
                yield pytest.param(algo, folder, fname, id=fname)


@pytest.mark.parametrize("algo,folder,fname", list(_sha_cases()))
def test_sha_known_answers(algo, folder, fname):
    records = vectors.load_nist("hashes", folder, fname)
    assert len(records) > 10
    constructor = getattr(hashes, algo)
    for record in records:
        msg = vectors.message(record)  # these files are byte-oriented
        expected = record["md"]
        assert constructor(msg).hexdigest() == expected
        assert hashes.new(algo, msg).hexdigest() == expected
        # the same through a running context: split, copied midway
        h = constructor()
        h.update(msg[: len(msg) // 2])
        h2 = h.copy()
        h2.update(msg[len(msg) // 2 :])
        assert h2.hexdigest() == expected


@pytest.mark.parametrize("bits", ["128", "256"])
@pytest.mark.parametrize("kind", ["ShortMsg", "LongMsg"])
def test_shake_known_answers(bits, kind):
    records = vectors.load_nist("hashes", "SHAKE", f"SHAKE{bits}{kind}.rsp")
    assert len(records) > 10
    constructor = getattr(hashes, f"shake_{bits}")
    for record in records:
        msg = vectors.message(record)
        length = int(record["outputlen"]) // 8
        assert constructor(msg).hexdigest(length) == record["output"]
        h = constructor(msg[:1])
        h.update(msg[1:])
        assert h.digest(length) == vectors.unhex(record["output"])


@pytest.mark.parametrize("bits", ["128", "256"])
def test_shake_variable_output(bits):
    records = vectors.load_nist("hashes", "SHAKE", f"SHAKE{bits}VariableOut.rsp")
    assert len(records) > 100
    for record in records:
        bit_length = int(record["outputlen"])
        assert bit_length % 8 == 0
        msg = vectors.unhex(record["msg"])
        assert hashes.new(f"shake_{bits}", msg).hexdigest(bit_length // 8) == record["output"]


@pytest.mark.parametrize("algo", ["blake2b", "blake2s"])
def test_blake2_known_answers(algo):
    records = vectors.load_nist("hashes", "blake2", f"{algo}.txt")
    assert len(records) > 3
    for record in records:
        msg = vectors.message(record)
        assert getattr(hashes, algo)(msg).hexdigest() == record["md"]
        assert hashes.new(algo, msg).hexdigest() == record["md"]


def test_md5_known_answers():
    records = vectors.load_nist("hashes", "MD5", "rfc-1321.txt")
    assert len(records) == 7
    for record in records:
        assert hashes.md5(vectors.message(record)).hexdigest() == record["md"]


def test_sha256_monte_carlo():
    records = vectors.load_nist("hashes", "SHA2", "SHA256Monte.rsp")
    seed = vectors.unhex(records[0]["seed"])
    expected = [r["md"] for r in records]
    assert len(expected) == 100
    sha256 = hashes.sha256
    for checkpoint in expected:
        md = [seed, seed, seed]
        for _ in range(1000):
            md = [md[1], md[2], sha256(md[0] + md[1] + md[2]).digest()]
        seed = md[2]
        assert seed.hex() == checkpoint


# ---------------------------------------------------------------------------
# Differential tests against hashlib

_BUFFER_KINDS = ["bytes", "bytearray", "memoryview", "array"]


def _as(kind, data):
    if kind == "bytearray":
        return bytearray(data)
    if kind == "memoryview":
        return memoryview(data)
    if kind == "array":
        return array.array("B", data)
    return data


@pytest.mark.parametrize("name", COMMON)
@given(
    data=st.binary(max_size=6000),
    cuts=st.lists(st.integers(0, 6000), max_size=5),
    copy_at=st.integers(0, 6),
    kind=st.sampled_from(_BUFFER_KINDS),
    initial=st.booleans(),
)
def test_differential_fixed(name, data, cuts, copy_at, kind, initial):
    points = sorted({0, len(data), *(c for c in cuts if c <= len(data))})
    chunks = [data[a:b] for a, b in zip(points, points[1:])]
    if initial and chunks:
        ours, ref = hashes.new(name, _as(kind, chunks[0])), hashlib.new(name, chunks[0])
        chunks = chunks[1:]
    else:
        ours, ref = hashes.new(name), hashlib.new(name)
    ours_copy = None
    for i, chunk in enumerate(chunks):
        if i == copy_at:
            ours_copy, ref_copy = ours.copy(), ref.copy()
        ours.update(_as(kind, chunk))
        ref.update(chunk)
        assert ours.digest() == ref.digest()  # digest() leaves the object usable
    assert ours.digest() == ref.digest()
    assert ours.hexdigest() == ref.hexdigest()
    if ours_copy is not None:
        assert ours_copy.hexdigest() == ref_copy.hexdigest()
        ours_copy.update(b"tail")
        ref_copy.update(b"tail")
        assert ours_copy.digest() == ref_copy.digest()


@pytest.mark.parametrize("name", ["shake_128", "shake_256"])
def test_shake_every_length(name):
    for data in (b"", b"abc", bytes(range(256)) * 3):
        ours, ref = getattr(hashes, name)(data), getattr(hashlib, name)(data)
        running = getattr(hashes, name)()
        running.update(data[:7])
        running.update(data[7:])
        for length in range(0, 301):
            expected = ref.digest(length)
            assert ours.digest(length) == expected
            assert running.digest(length) == expected
        assert ours.hexdigest(300) == ref.hexdigest(300)


@pytest.mark.parametrize("name", ["shake_128", "shake_256"])
@given(data=st.binary(max_size=2000), cut=st.integers(0, 2000), length=st.integers(0, 1000))
def test_differential_shake(name, data, cut, length):
    ours = hashes.new(name, data[:cut])
    ref = _hashlib_new(name, data[:cut])
    snapshot = ours.copy()
    ours.update(data[cut:])
    ref.update(data[cut:])
    assert ours.digest(length) == ref.digest(length)
    assert snapshot.digest(length) == _hashlib_new(name, data[:cut]).digest(length)


def _blake2_supported_unkeyed(name, digest_size, salt, person):
    """Whether the running OpenSSL's BLAKE2 digest takes these (3.0 takes none of them)."""
    cls = getattr(hashes, name)
    return digest_size == cls.MAX_DIGEST_SIZE and not salt and not person


@pytest.mark.parametrize("name", ["blake2b", "blake2s"])
@given(data=st.data())
def test_differential_blake2(name, data):
    cls = getattr(hashes, name)
    key = data.draw(st.binary(max_size=cls.MAX_KEY_SIZE), "key")
    salt = data.draw(st.binary(max_size=cls.SALT_SIZE), "salt")
    person = data.draw(st.binary(max_size=cls.PERSON_SIZE), "person")
    digest_size = data.draw(st.integers(1, cls.MAX_DIGEST_SIZE), "digest_size")
    msg = data.draw(st.binary(max_size=1000), "msg")
    cut = data.draw(st.integers(0, len(msg)), "cut")
    kwargs = dict(key=key, salt=salt, person=person, digest_size=digest_size)
    ref = getattr(hashlib, name)(msg[:cut], **kwargs)
    try:
        ours = cls(msg[:cut], **kwargs)
    except ValueError as exc:
        # Only an unkeyed non-default configuration may be refused, and then
        # only because the running OpenSSL's digest cannot take it.
        assert not key
        assert not _blake2_supported_unkeyed(name, digest_size, salt, person)
        assert "cannot honour" in str(exc)
        return
    assert ours.name == ref.name == name
    assert ours.digest_size == ref.digest_size == digest_size
    assert ours.block_size == ref.block_size
    snapshot = ours.copy()
    ours.update(bytearray(msg[cut:]))
    ref.update(msg[cut:])
    assert ours.hexdigest() == ref.hexdigest()
    assert snapshot.digest() == getattr(hashlib, name)(msg[:cut], **kwargs).digest()
    assert hashes.new(name, msg, **kwargs).digest() == ours.digest()


@only_cpython_hashlib
@pytest.mark.parametrize("name", ["blake2b", "blake2s"])
@given(
    digest_size=st.integers(-3, 70) | st.sampled_from([2**31, 2**70]),
    key_len=st.integers(0, 70),
    salt_len=st.integers(0, 20),
    person_len=st.integers(0, 20),
)
def test_blake2_errors_match_hashlib(name, digest_size, key_len, salt_len, person_len):
    kwargs = dict(digest_size=digest_size, key=b"k" * key_len, salt=b"s" * salt_len, person=b"p" * person_len)
    try:
        getattr(hashlib, name)(b"x", **kwargs)
    except Exception as exc:  # noqa: BLE001 - comparing whatever hashlib raises
        with pytest.raises(type(exc)) as info:
            getattr(hashes, name)(b"x", **kwargs)
        assert str(info.value) == str(exc)
        return
    try:
        getattr(hashes, name)(b"x", **kwargs)
    except ValueError as exc:  # hashlib accepts it; only an OpenSSL limit may refuse it
        assert key_len == 0 and "cannot honour" in str(exc)


def test_blake2_keyed_matches_hashlib_everywhere():
    for name in ("blake2b", "blake2s"):
        cls = getattr(hashes, name)
        for key_len in (1, cls.MAX_KEY_SIZE):
            for size in (1, cls.MAX_DIGEST_SIZE // 2, cls.MAX_DIGEST_SIZE):
                kw = dict(key=b"K" * key_len, digest_size=size, salt=b"S" * cls.SALT_SIZE, person=b"P")
                assert cls(b"abc", **kw).digest() == getattr(hashlib, name)(b"abc", **kw).digest()


# ---------------------------------------------------------------------------
# Attributes, names, module contents


@pytest.mark.parametrize("name", COMMON + ["shake_128", "shake_256", "blake2b", "blake2s"])
def test_attributes_match_hashlib(name):
    ours, ref = hashes.new(name), _hashlib_new(name)
    assert (ours.name, ours.digest_size, ours.block_size) == (ref.name, ref.digest_size, ref.block_size)
    copied = ours.copy()
    assert (copied.name, copied.digest_size, copied.block_size) == (ref.name, ref.digest_size, ref.block_size)
    if name in hashlib.algorithms_guaranteed:
        named = getattr(hashes, name)()
        assert (named.name, named.digest_size) == (ref.name, ref.digest_size)
        assert named.block_size == ref.block_size


def test_algorithm_sets():
    assert hashes.algorithms_guaranteed == hashlib.algorithms_guaranteed
    assert hashes.algorithms_guaranteed <= hashes.algorithms_available
    for name in hashes.algorithms_available:
        assert hashes.new(name).name == name
    if CPYTHON:  # same OpenSSL, and CPython's naming is the spec
        assert hashes.algorithms_available == hashlib.algorithms_available


@pytest.mark.parametrize(
    "alias,name",
    [
        ("SHA256", "sha256"),
        ("Sha256", "sha256"),
        ("SHA2-256", "sha256"),
        ("sha-256", "sha256"),
        ("SHA512-224", "sha512_224"),
        ("sha512-256", "sha512_256"),
        ("SHA512_224", "sha512_224"),
        ("SHA3-384", "sha3_384"),
        ("SHAKE128", "shake_128"),
        ("BLAKE2b512", "blake2b"),
        ("BLAKE2S-256", "blake2s"),
        ("ssl3-sha1", "sha1"),
        ("RIPEMD160", "ripemd160"),
        ("MD5-SHA1", "md5-sha1"),
    ],
)
def test_openssl_aliases(alias, name):
    h = hashes.new(alias, b"abc")
    assert h.name == name
    if "shake" in name:
        assert h.digest(20) == _hashlib_new(name, b"abc").digest(20)
    else:
        assert h.digest() == _hashlib_new(name, b"abc").digest()
    if CPYTHON:
        assert h.name == hashlib.new(alias).name


def test_repr_and_pickling():
    h = hashes.sha256(b"x")
    assert re.fullmatch(r"<sha256 tls\.hashes\.\w+ object @ 0x[0-9a-f]+>", repr(h))
    assert repr(hashes.new("shake_256")).startswith("<shake_256 tls.hashes.")
    for obj in (h, hashes.sha256(), hashes.blake2b(key=b"k")):
        with pytest.raises(TypeError, match="cannot pickle"):
            pickle.dumps(obj)
        with pytest.raises(TypeError, match="cannot pickle"):
            copy.copy(obj)
    with pytest.raises(AttributeError):
        h.name = "md5"
    with pytest.raises(AttributeError):
        h.anything = 1


def test_blake2_class_constants():
    for name in ("blake2b", "blake2s"):
        ours, ref = getattr(hashes, name), getattr(hashlib, name)
        for const in ("MAX_DIGEST_SIZE", "MAX_KEY_SIZE", "SALT_SIZE", "PERSON_SIZE"):
            assert getattr(ours, const) == getattr(ref, const)
        assert isinstance(ours(), ours) and isinstance(ours(key=b"k"), ours)
        assert isinstance(ours(key=b"k").copy(), ours)


def test_string_keyword_like_hashlib():
    assert hashes.sha256(string=b"abc").digest() == hashlib.sha256(b"abc").digest()
    assert hashes.new("sha256", data=b"abc").digest() == hashlib.sha256(b"abc").digest()
    assert hashes.new("blake2b", data=b"abc").digest() == hashlib.blake2b(b"abc").digest()


# ---------------------------------------------------------------------------
# Buffers, laziness, large input


def test_buffer_types():
    ref = hashlib.sha256(b"\x01\x00\x00\x00\x02\x00\x00\x00").hexdigest()
    for data in (
        array.array("I", [1, 2]),
        memoryview(array.array("I", [1, 2])),
        memoryview(bytearray(b"\x01\x00\x00\x00\x02\x00\x00\x00")).cast("B", (2, 4)),
    ):
        assert hashes.sha256(data).hexdigest() == ref
        h = hashes.sha256()
        h.update(data)
        assert h.hexdigest() == ref
        h = hashes.sha256(b"")
        h.update(b"")
        h.update(data)
        assert h.hexdigest() == ref


@pytest.mark.parametrize("size", [10, 4096, 4097, 100000])
@pytest.mark.parametrize("name,kwargs", [("sha256", {}), ("blake2b", {}), ("blake2s", {"key": b"k"})])
def test_mutable_input_every_constructor(size, name, kwargs):
    data = bytearray(b"a" * size)
    expected = getattr(hashlib, name)(bytes(data), **kwargs).digest()
    made = [getattr(hashes, name)(data, **kwargs), hashes.new(name, data, **kwargs)]
    streamed = getattr(hashes, name)(**kwargs)
    streamed.update(data)
    made += [streamed, made[0].copy()]
    data[:] = b"b" * size
    for h in made:
        assert h.digest() == expected


@pytest.mark.parametrize("size", [10, 4096, 4097, 100000])
def test_mutable_input_is_taken_at_call_time(size):
    data = bytearray(b"a" * size)
    expected = hashlib.sha256(bytes(data)).digest()
    lazy = hashes.sha256(data)
    streamed = hashes.sha256()
    streamed.update(data)
    copied = lazy.copy()
    data[:] = b"b" * size  # the objects must not see this
    data.append(0)  # nor keep the buffer exported
    assert lazy.digest() == streamed.digest() == copied.digest() == expected


def test_digest_does_not_finalize():
    h = hashes.sha256(b"a")
    first = h.digest()
    assert h.digest() == first
    h.update(b"b")
    assert h.digest() == hashlib.sha256(b"ab").digest()
    assert h.digest() == hashlib.sha256(b"ab").digest()
    h.update(b"c")
    assert h.hexdigest() == hashlib.sha256(b"abc").hexdigest()


@pytest.mark.parametrize("chunk", [1, 63, 1000, 4095, 4096, 4097])
def test_small_updates_joined_then_handed_to_a_context(chunk):
    # Short updates are kept and joined while the total stays small; crossing
    # the limit hands everything to a context. Every step must match hashlib.
    ours, ref = hashes.sha256(), hashlib.sha256()
    for i in range(12):
        piece = bytes([i]) * chunk
        ours.update(piece)
        ref.update(piece)
        assert ours.digest() == ref.digest()
        snapshot = ours.copy()
        snapshot.update(b"tail")
        so_far = b"".join(bytes([j]) * chunk for j in range(i + 1))
        assert snapshot.digest() == hashlib.sha256(so_far + b"tail").digest()


def test_copies_are_independent():
    base = hashes.sha256(b"x")
    lazy_copy = base.copy()
    base.update(b"y")
    running_copy = base.copy()
    base.update(b"z")
    lazy_copy.update(b"1")
    running_copy.update(b"2")
    assert base.digest() == hashlib.sha256(b"xyz").digest()
    assert lazy_copy.digest() == hashlib.sha256(b"x1").digest()
    assert running_copy.digest() == hashlib.sha256(b"xy2").digest()


def test_input_over_2gib():
    # 2**31 zero bytes and a distinct tail: any truncation of the length changes the digest.
    tail = bytes(range(1, 18))
    big = bytearray(2**31 + 17)
    big[2**31 :] = tail
    zeros = bytes(1 << 24)
    ref = hashlib.sha256(b"xy")
    for _ in range(2**31 // len(zeros)):
        ref.update(zeros)
    ref.update(tail)
    h = hashes.sha256(b"x")
    h.update(b"y")  # a running context: the plain update() path
    h.update(memoryview(big))
    assert h.digest() == ref.digest()


# ---------------------------------------------------------------------------
# Bad input


@pytest.mark.parametrize(
    "make",
    [
        lambda d: hashes.sha256(d),
        lambda d: hashes.new("md5", d),
        lambda d: hashes.blake2b(d),
        lambda d: hashes.shake_128(d),
    ],
)
def test_bad_data(make):
    with pytest.raises(TypeError, match="^Strings must be encoded before hashing$"):
        make("abc")
    for bad in (None, 1, 1.5, object()):
        with pytest.raises(TypeError, match="^object supporting the buffer API required$"):
            make(bad)
    with pytest.raises(BufferError):
        make(memoryview(b"abcdef")[::2])


@pytest.mark.parametrize(
    "make",
    [
        hashes.sha256,
        hashes.shake_256,
        lambda: hashes.blake2s(key=b"k"),
        lambda: hashes.sha256(b"started").copy(),
    ],
)
def test_bad_update(make):
    for h in (make(), make()):
        h.update(b"x")  # both the lazy and the running state
        with pytest.raises(TypeError, match="^Strings must be encoded before hashing$"):
            h.update("abc")
        for bad in (None, 1, [1]):
            with pytest.raises(TypeError, match="^object supporting the buffer API required$"):
                h.update(bad)
        with pytest.raises(TypeError):
            h.update()
        with pytest.raises(BufferError):
            h.update(memoryview(b"abcdef")[::2])


def test_bad_names():
    for bad in (None, 1, b"sha256", "sha256\x00", ["sha256"]):
        with pytest.raises(TypeError, match="^name must be a string$"):
            hashes.new(bad)
    hashes.new("SHA512_224")  # hashlib's alias: must not make "Sha512_224" (no OpenSSL name) valid
    for bad in ("nope", "", "sha257", "BLAKE2B", "md4x", "SHA3_256", "Sha3_256", "SHAKE_128", "Sha512_224"):
        with pytest.raises(ValueError, match=f"^unsupported hash type {bad}$"):
            hashes.new(bad)
    with pytest.raises(TypeError, match="'foo' is an invalid keyword argument for new"):
        hashes.new("sha256", foo=1)
    with pytest.raises(TypeError):
        hashes.new("sha256", b"x", string=b"y")
    with pytest.raises(TypeError):
        hashes.new("blake2b", string=b"y")
    with pytest.raises(TypeError):
        hashes.sha256(b"a", b"b")
    with pytest.raises(TypeError):
        hashes.sha256(data=b"a")


def test_bad_names_leave_no_openssl_error():
    from tls._binding import lib

    with pytest.raises(ValueError):
        hashes.new("no-such-digest")
    assert lib.ERR_peek_error() == 0


def test_shake_lengths():
    h = hashes.shake_128(b"x")
    for state in (h, h.copy()):
        with pytest.raises(TypeError):
            state.digest()
        with pytest.raises(TypeError):
            state.hexdigest()
        with pytest.raises(ValueError, match="negative digest length"):
            state.digest(-1)
        with pytest.raises(ValueError, match="negative digest length"):
            state.hexdigest(-1)
        with pytest.raises(OverflowError):
            state.digest(2**64)
        with pytest.raises(MemoryError):
            state.digest(2**62)
        with pytest.raises(TypeError):
            state.digest(1.5)
        with pytest.raises(TypeError):
            state.digest("3")
        assert state.digest(0) == b""
        assert state.digest(True) == hashlib.shake_128(b"x").digest(1)
        assert state.digest(length=5) == hashlib.shake_128(b"x").digest(5)
    with pytest.raises(TypeError):
        hashes.sha256().digest(3)


@pytest.mark.parametrize("name", ["blake2b", "blake2s"])
def test_bad_blake2_parameters(name):
    cls = getattr(hashes, name)
    mx, kx, sx, px = cls.MAX_DIGEST_SIZE, cls.MAX_KEY_SIZE, cls.SALT_SIZE, cls.PERSON_SIZE
    for field in ("key", "salt", "person"):
        for bad in ("a", None, 1):
            with pytest.raises(TypeError, match="a bytes-like object is required"):
                cls(**{field: bad})
    with pytest.raises(ValueError, match=f"^maximum key length is {kx} bytes$"):
        cls(key=b"k" * (kx + 1))
    with pytest.raises(ValueError, match=f"^maximum salt length is {sx} bytes$"):
        cls(key=b"k", salt=b"s" * (sx + 1))
    with pytest.raises(ValueError, match=f"^maximum person length is {px} bytes$"):
        cls(key=b"k", person=b"p" * (px + 1))
    for size in (0, -1, mx + 1):
        with pytest.raises(ValueError, match=f"^digest_size must be between 1 and {mx} bytes$"):
            cls(key=b"k", digest_size=size)
    with pytest.raises(OverflowError):
        cls(digest_size=2**70)
    with pytest.raises(TypeError):
        cls(digest_size=1.0)
    with pytest.raises(TypeError):
        cls(b"", 32)  # data is the only positional argument
    # hashlib's own range checks for the tree parameters...
    with pytest.raises(ValueError, match="fanout must be between 0 and 255"):
        cls(fanout=256)
    with pytest.raises(ValueError, match="depth must be between 1 and 255"):
        cls(depth=0)
    with pytest.raises(ValueError, match="value must be positive"):
        cls(leaf_size=-1)
    with pytest.raises(OverflowError, match="leaf_size is too large"):
        cls(leaf_size=2**32)
    with pytest.raises(ValueError, match="value must be positive"):
        cls(node_offset=-1)
    with pytest.raises(ValueError, match="node_depth must be between 0 and 255"):
        cls(node_depth=256)
    with pytest.raises(ValueError, match=f"inner_size must be between 0 and is {mx}"):
        cls(inner_size=mx + 1)
    # ...and valid tree parameters OpenSSL cannot honour are refused, never ignored
    for kw in (
        dict(fanout=0),
        dict(depth=2),
        dict(leaf_size=1),
        dict(node_offset=1),
        dict(node_depth=1),
        dict(inner_size=1),
        dict(last_node=True),
        dict(key=b"k", last_node=1),
    ):
        with pytest.raises(ValueError, match="cannot honour tree hashing"):
            cls(**kw)
    # defaults spelled out are fine
    assert (
        cls(
            b"a", fanout=1, depth=1, leaf_size=0, node_offset=0, node_depth=0, inner_size=0, last_node=False
        ).digest()
        == getattr(hashlib, name)(b"a").digest()
    )


def test_blake2_unkeyed_parameters_need_openssl_support():
    from tls._binding import ffi, lib

    md = hashes._algorithm("blake2b").md
    settable = lib.EVP_MD_settable_ctx_params(md)
    has_size = settable != ffi.NULL and lib.OSSL_PARAM_locate_const(settable, b"size") != ffi.NULL
    if has_size:
        h = hashes.blake2b(b"abc", digest_size=20)
        assert h.digest() == hashlib.blake2b(b"abc", digest_size=20).digest()
    else:
        with pytest.raises(ValueError, match=r"cannot honour blake2b\(digest_size=20\)"):
            hashes.blake2b(b"abc", digest_size=20)
    # keyed: always through BLAKE2BMAC, which takes size, salt and person
    assert (
        hashes.blake2b(b"abc", key=b"k", digest_size=20).digest()
        == hashlib.blake2b(b"abc", key=b"k", digest_size=20).digest()
    )


def test_usedforsecurity_false():
    for name in ("md5", "sha1", "sha256", "sha3_256", "shake_128"):
        ours = getattr(hashes, name)(b"abc", usedforsecurity=False)
        ref = getattr(hashlib, name)(b"abc", usedforsecurity=False)
        assert ours.name == ref.name
        if "shake" in name:
            assert ours.digest(16) == ref.digest(16)
        else:
            assert ours.digest() == ref.digest()
        # fetched separately (properties "-fips"), not the usedforsecurity=True algorithm
        assert ours._alg is not getattr(hashes, name)(b"abc")._alg
        assert hashes.new(name, b"abc", usedforsecurity=False)._alg is ours._alg
    assert (
        hashes.blake2b(b"a", key=b"k", usedforsecurity=False).digest()
        == hashlib.blake2b(b"a", key=b"k").digest()
    )


@only_cpython_hashlib
def test_bad_input_messages_match_hashlib():
    cases = [
        lambda m: m.sha256("abc"),
        lambda m: m.sha256(None),
        lambda m: m.new("nope"),
        lambda m: m.new(None),
        lambda m: m.new("sha256", foo=1),
        lambda m: m.sha256().update("abc"),
        lambda m: m.sha256().update(None),
        lambda m: m.blake2b(key="a"),
        lambda m: m.blake2b(salt=b"s" * 17),
        lambda m: m.blake2s(digest_size=0),
        lambda m: m.blake2b(fanout=-1),
        lambda m: m.blake2b(inner_size=65),
        lambda m: m.blake2b(node_offset=-1),
        lambda m: m.shake_128().digest(2**64),
        lambda m: m.shake_128().digest(1.5),
    ]
    for case in cases:
        with pytest.raises(Exception) as ref:  # noqa: B017 - whatever hashlib raises
            case(hashlib)
        with pytest.raises(type(ref.value)) as ours:
            case(hashes)
        assert str(ours.value) == str(ref.value)


# ---------------------------------------------------------------------------
# file_digest


def test_file_digest(tmp_path):
    content = os.urandom(300_000)
    path = tmp_path / "data.bin"
    path.write_bytes(content)
    expected = hashlib.sha256(content).hexdigest()
    with open(path, "rb") as f:
        assert hashes.file_digest(f, "sha256").hexdigest() == expected
    with open(path, "rb") as f:
        assert hashes.file_digest(f, hashes.sha256, _bufsize=1000).hexdigest() == expected
    with open(path, "rb", buffering=0) as f:
        assert hashes.file_digest(f, hashlib.sha256).hexdigest() == expected
    bio = io.BytesIO(content)
    assert hashes.file_digest(bio, "sha256").hexdigest() == expected
    bio.write(b"more")  # the BytesIO buffer was let go
    with open(path) as f:
        with pytest.raises(ValueError, match="is not a file-like object in binary reading mode"):
            hashes.file_digest(f, "sha256")
    with pytest.raises(ValueError, match="unsupported hash type nope"):
        hashes.file_digest(io.BytesIO(b""), "nope")


# ---------------------------------------------------------------------------
# Threads


def _run_threads(target, n=8):
    errors = []

    def wrapper(i):
        try:
            target(i)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    barrier = threading.Barrier(n)

    def start(i):
        barrier.wait()
        wrapper(i)

    threads = [threading.Thread(target=start, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors


def test_threads_hashing_the_same_data_agree():
    data = os.urandom(100_000)
    expected = {
        "oneshot": hashes.sha256(data).digest(),
        "stream": hashlib.sha256(data).digest(),
        "small": hashes.sha256(data[:64]).digest(),
    }
    assert expected["oneshot"] == expected["stream"]
    results = [[] for _ in range(8)]

    def work(i):
        for _ in range(50):
            results[i].append(("oneshot", hashes.sha256(data).digest()))
            h = hashes.sha256()
            for start in range(0, len(data), 7000):
                h.update(memoryview(data)[start : start + 7000])
            results[i].append(("stream", h.copy().digest()))
            results[i].append(("small", hashes.new("sha256", data[:64]).digest()))

    _run_threads(work)
    for per_thread in results:
        assert len(per_thread) == 150
        for kind, value in per_thread:
            assert value == expected[kind]


@pytest.mark.parametrize("chunk_size", [16, 5000, 70000])
def test_threads_sharing_one_object(chunk_size):
    chunk = bytes(range(256)) * (chunk_size // 256) + b"z" * (chunk_size % 256)
    rounds = 40 if chunk_size < 50000 else 8
    for start_lazy in (True, False):
        # A fresh object each time, so the lazy -> running transition races too.
        h = hashes.sha256() if start_lazy else hashes.sha256(b"")
        if not start_lazy:
            h.update(b"")
            h.update(b"")  # running from the start
        seen = []

        def work(i, h=h, seen=seen):
            for j in range(rounds):
                h.update(chunk if j % 2 else bytearray(chunk))
                if j % 5 == 0:
                    seen.append(h.copy().digest())
                    h.digest()

        _run_threads(work)
        assert h.digest() == hashlib.sha256(chunk * (8 * rounds)).digest()
        assert len(seen) == 8 * len(range(0, rounds, 5))


def test_threads_sharing_keyed_blake2():
    chunk = os.urandom(3000)
    h = hashes.blake2b(key=b"key", digest_size=32)

    def work(i):
        for _ in range(30):
            h.update(chunk)
            h.copy().digest()

    _run_threads(work)
    assert h.digest() == hashlib.blake2b(chunk * 240, key=b"key", digest_size=32).digest()


def test_lazy_update_finding_a_started_context():
    # What a thread sees when another one started the context while it was
    # in update(): _first_update() must feed the running context (white-box:
    # the race itself cannot be forced).
    for data in (b"x" * 10, bytearray(b"y" * 5000), memoryview(b"z" * 10)):
        h = hashes.sha256(b"a")
        h.update(b"b")
        h._first_update(data)
        assert h.digest() == hashlib.sha256(b"ab" + bytes(data)).digest()


def test_hash_types_cannot_be_instantiated():
    for cls in (hashes.HASH, hashes.HASHXOF):
        with pytest.raises(TypeError, match="cannot create"):
            cls()
    assert isinstance(hashes.new("sha256"), hashes.HASH)
    assert isinstance(hashes.new("shake_128"), hashes.HASHXOF)
    assert isinstance(hashes.sha256(), hashes.HASH)


def test_stdlib_hmac_accepts_the_constructors():
    import hmac

    for name in ("sha256", "sha3_256", "blake2b"):
        ours, ref = getattr(hashes, name), getattr(hashlib, name)
        assert hmac.new(b"k" * 200, b"msg", ours).digest() == hmac.new(b"k" * 200, b"msg", ref).digest()
        assert hmac.digest(b"k", b"msg", ours) == hmac.digest(b"k", b"msg", ref)


def test_kdfs_reexported_like_hashlib():
    assert hashes.pbkdf2_hmac("sha256", b"pw", b"salt", 3, 40) == hashlib.pbkdf2_hmac(
        "sha256", b"pw", b"salt", 3, 40
    )
    got = hashes.scrypt(b"pw", salt=b"salt", n=16, r=1, p=1, dklen=24)
    # RFC 7914's first vector is for an empty password and salt; check ours against it too.
    assert hashes.scrypt(b"", salt=b"", n=16, r=1, p=1, dklen=64).hex().startswith("77d6576238657b20")
    if hasattr(hashlib, "scrypt"):
        assert got == hashlib.scrypt(b"pw", salt=b"salt", n=16, r=1, p=1, dklen=24)
    assert {"pbkdf2_hmac", "scrypt"} <= set(hashes.__all__)
