"""tls.hmac against RFC vectors and the stdlib hmac (CPython 3.11's is the spec)."""

import array
import contextlib
import functools
import hashlib
import hmac
import mmap
import threading
import types

import pytest
from hypothesis import given
from hypothesis import strategies as st

import tls.hmac
import vectors

# Every fixed-size digest both the stdlib and OpenSSL offer here.
DIGESTS = [
    name
    for name in (
        "md5", "sha1", "sha224", "sha256", "sha384", "sha512", "sha512_224", "sha512_256",
        "sha3_224", "sha3_256", "sha3_384", "sha3_512", "blake2b", "blake2s", "ripemd160", "sm3",
    )
    if name in hashlib.algorithms_available
]

KAT_FILES = [
    ("rfc-2202-md5.txt", "md5"),
    ("rfc-2202-sha1.txt", "sha1"),
    ("rfc-4231-sha224.txt", "sha224"),
    ("rfc-4231-sha256.txt", "sha256"),
    ("rfc-4231-sha384.txt", "sha384"),
    ("rfc-4231-sha512.txt", "sha512"),
]


def _kat_cases():
    for filename, name in KAT_FILES:
        for i, rec in enumerate(vectors.load_nist("HMAC", filename)):
            yield pytest.param(name, vectors.unhex(rec["key"]), vectors.unhex(rec["msg"]),
                               vectors.unhex(rec["md"]), id=f"{name}-{i}")


KATS = list(_kat_cases())

# tls.hmac keeps small messages pending (no OpenSSL context) up to
# _PENDING_MAX bytes; tests run with 0 too, so every path is exercised.
PENDING = pytest.mark.parametrize("pending_max", [0, tls.hmac._PENDING_MAX], ids=["context", "pending"])


@contextlib.contextmanager
def pending_limit(n):
    saved = tls.hmac._PENDING_MAX
    tls.hmac._PENDING_MAX = n
    try:
        yield
    finally:
        tls.hmac._PENDING_MAX = saved


def test_kat_count():
    assert len(KATS) == 7 + 7 + 6 * 4  # RFC 2202: 7 each; RFC 4231: 6 each (truncation case left out)


@PENDING
@pytest.mark.parametrize("name, key, msg, md", KATS)
def test_known_answers(name, key, msg, md, pending_max):
    with pending_limit(pending_max):
        _check_known_answer(name, key, msg, md)


def _check_known_answer(name, key, msg, md):
    assert tls.hmac.digest(key, msg, name) == md
    assert tls.hmac.new(key, msg, name).digest() == md
    h = tls.hmac.new(bytearray(key), digestmod=name)
    for i in range(0, len(msg), 7):  # many updates: the keyed-context path
        h.update(memoryview(msg)[i:i + 7])
    assert h.digest() == md
    assert h.hexdigest() == md.hex()
    assert h.copy().digest() == md
    assert h.name == f"hmac-{name}"


@pytest.mark.parametrize("name", DIGESTS)
def test_attributes_match_stdlib(name):
    ours, theirs = tls.hmac.new(b"k", digestmod=name), hmac.new(b"k", digestmod=name)
    expected = (theirs.name, theirs.digest_size, theirs.block_size)
    assert (ours.name, ours.digest_size, ours.block_size) == expected
    # the attributes stay right once a context exists
    ours.update(b"a")
    ours.update(b"b")
    assert (ours.name, ours.digest_size, ours.block_size) == expected


@pytest.mark.parametrize("alias, name", [("SHA256", "hmac-sha256"), ("SHA2-256", "hmac-sha256"),
                                         ("sha512-256", "hmac-sha512_256"), ("sha3_512", "hmac-sha3_512"),
                                         ("RIPEMD160", "hmac-ripemd160")])
def test_openssl_aliases_get_hashlib_names(alias, name):
    try:
        h = tls.hmac.new(b"key", b"msg", alias)
    except ValueError:
        pytest.skip(f"{alias} is not offered by the loaded providers")
    assert h.name == name


@PENDING
@pytest.mark.parametrize("name", DIGESTS)  # every digest, each with its own examples
@given(
    key=st.binary(max_size=300),  # up to more than twice the largest block size (SHA3-224: 144)
    data=st.binary(max_size=3000),
    cuts=st.lists(st.integers(min_value=0, max_value=3000), max_size=6),
    copy_at=st.integers(min_value=0, max_value=6),
)
def test_differential_against_stdlib(pending_max, name, key, data, cuts, copy_at):
    with pending_limit(pending_max):
        _check_differential(name, key, data, cuts, copy_at)


def _check_differential(name, key, data, cuts, copy_at):
    expected = hmac.new(key, data, name).digest()
    assert tls.hmac.digest(key, data, name) == expected
    assert tls.hmac.new(key, data, name).digest() == expected
    points = sorted({min(c, len(data)) for c in cuts} | {0, len(data)})
    chunks = [data[a:b] for a, b in zip(points, points[1:])]
    ours = tls.hmac.new(key, digestmod=name)
    ref = hmac.new(key, digestmod=name)
    copy = None
    for i, chunk in enumerate(chunks):
        if i == copy_at:
            copy, ref_copy = ours.copy(), ref.copy()
        ours.update(chunk)
        ref.update(chunk)
        assert ours.digest() == ref.digest()  # digest() midway leaves the object usable
    assert ours.digest() == expected
    if copy is not None:
        assert copy.digest() == ref_copy.digest()
        copy.update(b"tail")
        ref_copy.update(b"tail")
        assert copy.hexdigest() == ref_copy.hexdigest()
        assert ours.digest() == expected  # the copy is independent


@given(key=st.binary(max_size=200), data=st.binary(max_size=300))
def test_digestmod_forms(key, data):
    expected = hmac.digest(key, data, "sha256")
    assert tls.hmac.new(key, data, hashlib.sha256).digest() == expected
    assert tls.hmac.digest(key, data, hashlib.sha256) == expected

    module = types.SimpleNamespace(new=lambda d=b"": hashlib.sha256(d))  # a PEP 247 module: only ``new``
    assert tls.hmac.new(key, data, module).digest() == expected
    assert tls.hmac.digest(key, data, module) == expected


def test_digestmod_not_offered_by_openssl_falls_back_like_stdlib():
    # a BLAKE2b with a 20-byte digest: same name as OpenSSL's BLAKE2B-512, other size
    def cons(d=b""):
        return hashlib.blake2b(d, digest_size=20)

    for key in (b"k", b"k" * 200):
        expected = hmac.new(key, b"abc", cons)
        ours = tls.hmac.new(key, b"abc", cons)
        assert ours.digest() == expected.digest()
        assert (ours.name, ours.digest_size, ours.block_size) == ("hmac-blake2b", 20, 128)
        other = ours.copy()
        other.update(b"def")
        expected.update(b"def")
        assert other.hexdigest() == expected.hexdigest()
        assert tls.hmac.digest(key, b"abc", cons) == hmac.digest(key, b"abc", cons)


@PENDING
def test_buffer_types(pending_max):
    with pending_limit(pending_max):
        _check_buffer_types()


def _check_buffer_types():
    expected = hmac.new(b"key", b"\x01\x00\x00\x00\x02\x00\x00\x00", "sha256").digest()
    for msg in (array.array("I", [1, 2]), memoryview(b"\x01\x00\x00\x00\x02\x00\x00\x00"),
                bytearray(b"\x01\x00\x00\x00\x02\x00\x00\x00")):
        if array.array("I", [1]).tobytes() != b"\x01\x00\x00\x00":
            pytest.skip("big-endian")
        assert tls.hmac.new(b"key", msg, "sha256").digest() == expected
        assert tls.hmac.digest(b"key", msg, "sha256") == expected
        assert tls.hmac.digest(memoryview(b"key"), msg, "sha256") == expected
        h = tls.hmac.new(b"key", digestmod="sha256")
        h.update(msg)
        assert h.digest() == expected


@PENDING
def test_key_and_message_are_copied(pending_max):
    with pending_limit(pending_max):
        key, msg, more = bytearray(b"key"), bytearray(b"message"), bytearray(b"more")
        h = tls.hmac.new(key, msg, "sha256")
        h.update(more)
        key[:] = b"XXX"
        msg[:] = b"XXXXXXX"
        more[:] = b"XXXX"
        assert h.digest() == hmac.digest(b"key", b"messagemore", "sha256")


def test_empty_key_and_message():
    for name in DIGESTS:
        assert tls.hmac.new(b"", b"", name).digest() == hmac.new(b"", b"", name).digest()
        assert tls.hmac.digest(bytearray(), bytearray(), name) == hmac.digest(b"", b"", name)


# (callable, exception type, message) as CPython 3.11's hmac gives them
ERRORS = [
    (lambda: tls.hmac.new(b"k"), TypeError, "Missing required parameter 'digestmod'."),
    (lambda: tls.hmac.new(b"k", digestmod=None), TypeError, "Missing required parameter 'digestmod'."),
    (lambda: tls.hmac.HMAC(b"k", b"m", ""), TypeError, "Missing required parameter 'digestmod'."),
    (lambda: tls.hmac.new("k", digestmod="sha256"), TypeError,
     "key: expected bytes or bytearray, but got 'str'"),
    (lambda: tls.hmac.new(None, digestmod="sha256"), TypeError,
     "key: expected bytes or bytearray, but got 'NoneType'"),
    (lambda: tls.hmac.new(memoryview(b"k"), digestmod="sha256"), TypeError,
     "key: expected bytes or bytearray, but got 'memoryview'"),
    (lambda: tls.hmac.new(b"k", "msg", "sha256"), TypeError, "Strings must be encoded before hashing"),
    (lambda: tls.hmac.new(b"k", digestmod="sha256").update("x"), TypeError,
     "Strings must be encoded before hashing"),
    (lambda: tls.hmac.new(b"k", digestmod="sha256").update(None), TypeError,
     "object supporting the buffer API required"),
    (lambda: tls.hmac.new(b"k", digestmod="sha256").update(5), TypeError,
     "object supporting the buffer API required"),
    (lambda: tls.hmac.new(b"k", digestmod="foo"), ValueError, "unsupported hash type foo"),
    (lambda: tls.hmac.digest(b"k", b"m", "foo"), ValueError, "unsupported hash type foo"),
    (lambda: tls.hmac.digest(b"k", b"m", ""), ValueError, "unsupported hash type "),
    (lambda: tls.hmac.digest("k", b"m", "sha256"), TypeError, "a bytes-like object is required, not 'str'"),
    (lambda: tls.hmac.digest(b"k", "m", "sha256"), TypeError, "a bytes-like object is required, not 'str'"),
    (lambda: tls.hmac.digest(b"k", None, "sha256"), TypeError,
     "a bytes-like object is required, not 'NoneType'"),
    (lambda: tls.hmac.new(b"k", digestmod=5), AttributeError, None),
    (lambda: tls.hmac.digest(b"k", b"m", None), AttributeError, None),
]


@pytest.mark.parametrize("call, exc, message", ERRORS)
def test_bad_input(call, exc, message):
    with pytest.raises(exc) as info:
        call()
    if message is not None:
        assert str(info.value) == message


@pytest.mark.parametrize(
    "name", ["shake_128", "shake_256", "SHAKE-128", "nonexistent", "sha256\0", "sha256é", "NULL"]
)
def test_unusable_digests_raise_value_error(name):
    with pytest.raises(ValueError):
        tls.hmac.new(b"k", b"m", name)
    with pytest.raises(ValueError):
        tls.hmac.digest(b"k", b"m", name)
    # the failed probe leaves OpenSSL's error queue clean for the next call
    assert tls.hmac.digest(b"k", b"m", "sha256") == hmac.digest(b"k", b"m", "sha256")


def test_module_attributes():
    assert tls.hmac.digest_size is None
    assert tls.hmac.trans_5C == hmac.trans_5C and tls.hmac.trans_36 == hmac.trans_36
    assert issubclass(tls.hmac.HMAC, object) and tls.hmac.HMAC.blocksize == 64


# -- compare_digest ----------------------------------------------------------------
@given(a=st.binary(max_size=40), b=st.binary(max_size=40), same=st.booleans())
def test_compare_digest_bytes(a, b, same):
    if same:
        b = a
    assert tls.hmac.compare_digest(a, b) == hmac.compare_digest(a, b) == (a == b)
    assert tls.hmac.compare_digest(bytearray(a), memoryview(b)) == (a == b)


@given(a=st.text(alphabet=st.characters(max_codepoint=127), max_size=20),
       b=st.text(alphabet=st.characters(max_codepoint=127), max_size=20), same=st.booleans())
def test_compare_digest_ascii_str(a, b, same):
    if same:
        b = a
    assert tls.hmac.compare_digest(a, b) == hmac.compare_digest(a, b) == (a == b)


COMPARE_TYPE_ERRORS = [
    ("é", "é", "comparing strings with non-ASCII characters is not supported"),
    ("a", "é", "comparing strings with non-ASCII characters is not supported"),
    ("a", b"a", "a bytes-like object is required, not 'str'"),
    (b"a", "a", "a bytes-like object is required, not 'str'"),
    (1, 1, "unsupported operand types(s) or combination of types: 'int' and 'int'"),
    (1, "a", "unsupported operand types(s) or combination of types: 'int' and 'str'"),
    (None, b"", "a bytes-like object is required, not 'NoneType'"),
    (b"", None, "a bytes-like object is required, not 'NoneType'"),
    (["a"], b"a", "a bytes-like object is required, not 'list'"),
]


@pytest.mark.parametrize("a, b, message", COMPARE_TYPE_ERRORS)
def test_compare_digest_type_errors(a, b, message):
    with pytest.raises(TypeError) as info:
        tls.hmac.compare_digest(a, b)
    assert str(info.value) == message
    with pytest.raises(TypeError):
        hmac.compare_digest(a, b)  # the stdlib agrees it is a TypeError


def test_compare_digest_other_buffers_and_lengths():
    assert tls.hmac.compare_digest(array.array("b", [97]), b"a")
    assert not tls.hmac.compare_digest(b"a", b"ab")
    assert not tls.hmac.compare_digest("a", "ab")
    assert tls.hmac.compare_digest(b"", b"")
    assert not tls.hmac.compare_digest(b"abc", b"abd")
    with pytest.raises(TypeError):
        tls.hmac.compare_digest(a=b"", b=b"")


# -- threads ---------------------------------------------------------------------------
def _run_threads(target, n=8):
    errors = []

    def wrapper(i):
        try:
            target(i)
        except BaseException as exc:  # reported below, never lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=wrapper, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors


def test_threads_compute_the_same_hmacs():
    keys = [bytes([i]) * (i * 20) for i in range(10)]
    msgs = [bytes([i]) * (i * 1000) for i in range(10)]
    serial = [(hmac.digest(k, m, "sha256"), hmac.new(k, m, "sha512").hexdigest()) for k, m in zip(keys, msgs)]
    results = {}

    def work(i):
        out = []
        for _ in range(30):
            out = []
            for k, m in zip(keys, msgs):
                h = tls.hmac.new(k, digestmod="sha512")
                h.update(m[: len(m) // 2])
                h.update(m[len(m) // 2:])
                out.append((tls.hmac.digest(k, m, "sha256"), h.hexdigest()))
        results[i] = out

    _run_threads(work)
    assert len(results) == 8
    assert all(r == serial for r in results.values())


@PENDING
@pytest.mark.parametrize("first_update", [False, True])
def test_threads_sharing_one_object(first_update, pending_max):
    with pending_limit(pending_max):
        _check_threads_sharing_one_object(first_update)


def _check_threads_sharing_one_object(first_update):
    # All chunks are equal, so any interleaving gives the same result as the
    # serial one if and only if no update is lost or torn.
    chunk = bytes(range(256)) * 16
    per_thread, n = 200, 8
    shared = tls.hmac.new(b"shared key", digestmod="sha256")
    if first_update:
        shared.update(chunk)  # starts lazy: the threads race on the transition
    barrier = threading.Barrier(n)

    def work(i):
        barrier.wait()
        for j in range(per_thread):
            shared.update(chunk)
            if j % 50 == 0:
                shared.digest()  # digest and copy race with updates too
                shared.copy()

    _run_threads(work, n)
    serial = hmac.new(b"shared key", digestmod="sha256")
    serial.update(chunk * (n * per_thread + first_update))
    assert shared.digest() == serial.digest()


@PENDING
def test_threads_racing_on_a_fresh_object(pending_max):
    with pending_limit(pending_max):
        _check_threads_racing_on_a_fresh_object()


def _check_threads_racing_on_a_fresh_object():
    # Many fresh objects, each raced by two threads from the lazy state on.
    for _ in range(50):
        shared = tls.hmac.new(b"k", digestmod="sha1")
        barrier = threading.Barrier(2)

        def work(i, shared=shared, barrier=barrier):
            barrier.wait()
            for _ in range(20):
                shared.update(b"x")

        _run_threads(work, 2)
        assert shared.digest() == hmac.new(b"k", b"x" * 40, "sha1").digest()


def test_input_over_2_gib():
    # An anonymous mapping reads as zero pages: 2 GiB + 5 bytes of input
    # without allocating them.  Nothing may be truncated to a C int.  The
    # expected value was computed with the stdlib (hmac, and by hand over
    # hashlib.sha1 in 16 MiB pieces).
    size = 2**31 + 5
    expected = bytes.fromhex("169e5e64e033b8c8b522519750929cdcea2d3e3a")
    try:
        mapped = mmap.mmap(-1, size)
    except (OSError, ValueError, OverflowError):
        pytest.skip("cannot map 2 GiB here")
    with mapped:
        view = memoryview(mapped)
        try:
            assert tls.hmac.digest(b"key", view, "sha1") == expected
            h = tls.hmac.new(b"key", b"", "sha1")
            h.update(view)  # too big to stay pending: fed to a keyed context
            assert h.digest() == expected
        finally:
            view.release()


def test_keyed_blake2_constructor_is_not_mistaken_for_plain_blake2():
    # name "blake2b", 64-byte digest, 128-byte block: only the key differs,
    # so this must not become OpenSSL's plain HMAC-BLAKE2b.
    cons = functools.partial(hashlib.blake2b, key=b"inner key")
    assert tls.hmac.new(b"k", b"msg", cons).digest() == hmac.new(b"k", b"msg", cons).digest()
    assert tls.hmac.digest(b"k", b"msg", cons) == hmac.digest(b"k", b"msg", cons)
    assert tls.hmac.digest(b"k", b"msg", cons) != hmac.digest(b"k", b"msg", "blake2b")


@pytest.mark.parametrize("name", ["md5", "sha1", "sha256", "sha512", "sha3_256", "blake2b", "blake2s"])
def test_hashlib_constructors_use_openssl(name):
    cons = getattr(hashlib, name)
    h = tls.hmac.new(b"k", b"msg", cons)
    assert h._d is not None  # OpenSSL's HMAC, not the Python fallback
    assert h.digest() == hmac.new(b"k", b"msg", cons).digest()


@pytest.mark.parametrize("name", ["md5", "sha1", "sha256", "sha512", "sha3_256", "blake2b"])
def test_tls_hashes_constructors_as_digestmod(name):
    from tls import hashes

    key, msg = b"k" * 70, b"message" * 30
    expected = hmac.new(key, msg, name).digest()
    ctor = getattr(hashes, name)
    assert tls.hmac.new(key, msg, ctor).digest() == expected
    assert tls.hmac.digest(key, msg, ctor) == expected
    h = tls.hmac.new(key, digestmod=ctor)
    h.update(msg[:5])
    h.update(msg[5:])
    assert h.digest() == expected and h.name == f"hmac-{name}"
