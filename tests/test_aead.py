"""tls.ciphers.aead: known answers, differential tests against cryptography, tamper,
round-trip, thread and bad-input tests for every AEAD."""

from __future__ import annotations

import array
import gc
import os
import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

import vectors
from tls.ciphers.aead import AESCCM, AESGCM, AESGCMSIV, AESOCB3, AESSIV, ChaCha20Poly1305
from tls.exceptions import InvalidTag, UnsupportedAlgorithm
from vectors.aead import load_boringssl_aead, load_cavp

unhex = vectors.unhex


def _gcm_siv_reason():
    try:
        AESGCMSIV(bytes(16))
    except UnsupportedAlgorithm as exc:
        return str(exc)
    return None


GCM_SIV_UNAVAILABLE = _gcm_siv_reason()
needs_gcm_siv = pytest.mark.skipif(GCM_SIV_UNAVAILABLE is not None, reason=str(GCM_SIV_UNAVAILABLE))


def _empty_siv_ok():
    try:
        AESSIV(bytes(32)).encrypt(b"", None)
    except ValueError:
        return False
    return True


EMPTY_SIV_OK = _empty_siv_ok()


# --- one description per AEAD: how to build it and call it --------------------------------------------

class Spec:
    def __init__(self, name, cls, key_sizes, nonce_sizes, tag=16, kwargs=None, available=True):
        self.name = name
        self.cls = cls
        self.key_sizes = key_sizes
        self.nonce_sizes = nonce_sizes  # () for AES-SIV
        self.tag = tag
        self.kwargs = kwargs or {}
        self.available = available

    def __repr__(self):
        return self.name

    def make(self, key):
        return self.cls(key, **self.kwargs)

    # uniform call shapes: AES-SIV has no nonce and a list of associated data
    def aad_arg(self, aad):
        if not self.nonce_sizes:
            return None if aad is None else [aad]
        return aad

    def encrypt(self, obj, nonce, data, aad):
        if not self.nonce_sizes:
            return obj.encrypt(data, self.aad_arg(aad))
        return obj.encrypt(nonce, data, aad)

    def decrypt(self, obj, nonce, data, aad):
        if not self.nonce_sizes:
            return obj.decrypt(data, self.aad_arg(aad))
        return obj.decrypt(nonce, data, aad)

    def encrypt_into(self, obj, nonce, data, aad, buf):
        if not self.nonce_sizes:
            return obj.encrypt_into(data, self.aad_arg(aad), buf)
        return obj.encrypt_into(nonce, data, aad, buf)

    def decrypt_into(self, obj, nonce, data, aad, buf):
        if not self.nonce_sizes:
            return obj.decrypt_into(data, self.aad_arg(aad), buf)
        return obj.decrypt_into(nonce, data, aad, buf)

    @property
    def min_data(self):
        if self.cls in (AESSIV, AESGCMSIV) and not EMPTY_SIV_OK:
            return 1
        return 0


SPECS = [
    Spec("AESGCM", AESGCM, (16, 24, 32), (8, 12, 16, 64, 128)),
    Spec("ChaCha20Poly1305", ChaCha20Poly1305, (32,), (12,)),
    Spec("AESOCB3", AESOCB3, (16, 24, 32), (12, 13, 14, 15)),
    Spec("AESCCM", AESCCM, (16, 24, 32), (7, 8, 10, 12, 13)),
    Spec("AESCCM-tag8", AESCCM, (16, 32), (7, 11, 13), tag=8, kwargs={"tag_length": 8}),
    Spec("AESCCM-tag4", AESCCM, (16,), (7, 13), tag=4, kwargs={"tag_length": 4}),
    Spec("AESSIV", AESSIV, (32, 48, 64), ()),
    Spec("AESGCMSIV", AESGCMSIV, (16, 24, 32), (12,), available=GCM_SIV_UNAVAILABLE is None),
]


def _spec_params():
    params = []
    for spec in SPECS:
        marks = () if spec.available else (needs_gcm_siv,)
        params.append(pytest.param(spec, id=spec.name, marks=marks))
    return params


spec_params = pytest.mark.parametrize("spec", _spec_params())


# --- known answers ---------------------------------------------------------------------------------------

def _bits(value):
    return int(value) // 8


@pytest.mark.parametrize(
    "filename,step",
    [
        ("gcmDecrypt128.rsp", 1),
        ("gcmEncryptExtIV128.rsp", 1),
        ("gcmDecrypt192.rsp", 7),
        ("gcmDecrypt256.rsp", 7),
        ("gcmEncryptExtIV192.rsp", 7),
        ("gcmEncryptExtIV256.rsp", 7),
    ],
)
def test_gcm_nist(filename, step):
    """NIST CAVP GCM: all of the 128-bit files, every 7th record of the others.

    AESGCM takes 8- to 128-byte nonces and makes 16-byte tags: records with a 1-byte
    IV are skipped; shorter NIST tags are compared as a prefix on encryption, and
    decryption is checked only where the tag is 16 bytes.
    """
    records = load_cavp("ciphers", "AES", "GCM", filename)[::step]
    objects = {}
    checked = failures = 0
    for r in records:
        iv = unhex(r["iv"])
        if not 8 <= len(iv) <= 128:
            continue
        key = unhex(r["key"])
        gcm = objects.setdefault(key, AESGCM(key))  # one object per key: contexts are reused
        ct, aad, tag = unhex(r["ct"]), unhex(r["aad"]), unhex(r["tag"])
        assert len(iv) == _bits(r["ivlen"]) and len(tag) == _bits(r["taglen"])
        if r["fail"]:
            if len(tag) == 16:
                with pytest.raises(InvalidTag):
                    gcm.decrypt(iv, ct + tag, aad)
                failures += 1
            continue
        pt = unhex(r["pt"])
        out = gcm.encrypt(iv, pt, aad or None)
        assert out[: len(pt)] == ct
        assert out[len(pt) : len(pt) + len(tag)] == tag
        if len(tag) == 16:
            assert gcm.decrypt(iv, ct + tag, aad) == pt
        checked += 1
    assert checked > len(records) // 4  # a third have a 1-byte IV, some are FAIL records
    if "Decrypt" in filename:
        assert failures > 0


CCM_FILES = [  # every NIST CCM response file
    f"{kind}{bits}.rsp" for kind in ("DVPT", "VADT", "VNT", "VPT", "VTT") for bits in (128, 192, 256)
]


@pytest.mark.parametrize("filename", CCM_FILES)
def test_ccm_nist(filename):
    """Every record of every NIST CCM response file (DVPT carries Pass/Fail decryptions)."""
    records = load_cavp("ciphers", "AES", "CCM", filename)
    objects = {}
    passes = fails = 0
    for r in records:
        key = unhex(r["key"])
        tlen = int(r["tlen"])
        ccm = objects.setdefault((key, tlen), AESCCM(key, tag_length=tlen))
        nonce = unhex(r["nonce"])
        assert len(nonce) == int(r["nlen"])
        aad = unhex(r["adata"])[: int(r["alen"])]
        ct = unhex(r["ct"])
        if r.get("result", "Pass").startswith("Fail"):
            with pytest.raises(InvalidTag):
                ccm.decrypt(nonce, ct, aad)
            buf = bytearray(b"\xaa" * (len(ct) - tlen))
            with pytest.raises(InvalidTag):
                ccm.decrypt_into(nonce, ct, aad, buf)
            assert buf == bytes(len(buf))
            fails += 1
            continue
        pt = unhex(r["payload"])[: int(r["plen"])]
        assert ccm.encrypt(nonce, pt, aad) == ct
        assert ccm.decrypt(nonce, ct, aad) == pt
        passes += 1
    assert passes > 0
    assert fails > 0 or not filename.startswith("DVPT")


@pytest.mark.parametrize(
    "filename",
    ["rfc7253.txt", "openssl.txt", "test-vector-1-nonce104.txt", "test-vector-1-nonce112.txt",
     "test-vector-1-nonce120.txt"],
)
def test_ocb3_vectors(filename):
    records = vectors.load_nist("ciphers", "AES", "OCB3", filename)
    assert records
    for r in records:
        key, nonce = unhex(r["key"]), unhex(r["nonce"])
        aad, pt, ct = unhex(r["aad"]), unhex(r["plaintext"]), unhex(r["ciphertext"])
        assert len(ct) == len(pt) + 16
        ocb = AESOCB3(key)
        assert ocb.encrypt(nonce, pt, aad) == ct
        assert ocb.decrypt(nonce, ct, aad) == pt


def test_siv_vectors():
    records = vectors.load_nist("ciphers", "AES", "SIV", "openssl.txt")
    assert len(records) == 4
    for r in records:
        key = unhex(r["key"])
        aad = [unhex(r[k]) for k in ("aad", "aad2", "aad3") if k in r]
        pt, ct, tag = unhex(r["plaintext"]), unhex(r["ciphertext"]), unhex(r["tag"])
        siv = AESSIV(key)
        assert siv.encrypt(pt, aad) == tag + ct
        assert siv.decrypt(tag + ct, aad) == pt


@needs_gcm_siv
@pytest.mark.parametrize("filename", ["openssl.txt", "aes-192-gcm-siv.txt"])
def test_gcm_siv_vectors(filename):
    records = vectors.load_nist("ciphers", "AES", "GCM-SIV", filename)
    assert records
    for r in records:
        key, iv = unhex(r["key"]), unhex(r["iv"])
        aad = unhex(r.get("aad", ""))
        pt, ct, tag = unhex(r["plaintext"]), unhex(r["ciphertext"]), unhex(r["tag"])
        if not pt and not EMPTY_SIV_OK:
            continue
        siv = AESGCMSIV(key)
        assert siv.encrypt(iv, pt, aad) == ct + tag
        assert siv.decrypt(iv, ct + tag, aad) == pt


def test_chacha20poly1305_openssl_vectors():
    records = vectors.load_nist("ciphers", "ChaCha20Poly1305", "openssl.txt")
    assert len(records) == 5
    failing = 0
    for r in records:
        key, iv, aad = unhex(r["key"]), unhex(r["iv"]), unhex(r["aad"])
        pt, ct, tag = unhex(r["plaintext"]), unhex(r["ciphertext"]), unhex(r["tag"])
        chacha = ChaCha20Poly1305(key)
        if r.get("result") == "CIPHERFINAL_ERROR":
            with pytest.raises(InvalidTag):
                chacha.decrypt(iv, ct + tag, aad)
            failing += 1
            continue
        assert chacha.encrypt(iv, pt, aad) == ct + tag
        assert chacha.decrypt(iv, ct + tag, aad) == pt
    assert failing == 1


def test_chacha20poly1305_boringssl_vectors():
    """RFC 7539 section 2.8.2 and BoringSSL's padding/nonce edge cases."""
    records = load_boringssl_aead("ciphers", "ChaCha20Poly1305", "boringssl.txt")
    assert len(records) == 66
    for r in records:
        chacha = ChaCha20Poly1305(r["key"])
        assert chacha.encrypt(r["nonce"], r["in"], r["ad"]) == r["ct"] + r["tag"]
        assert chacha.decrypt(r["nonce"], r["ct"] + r["tag"], r["ad"]) == r["in"]


# --- round trips (hypothesis), on both interpreters ------------------------------------------------------

def _draw_nonce(spec, data):
    if not spec.nonce_sizes:
        return None
    return data.draw(st.sampled_from(spec.nonce_sizes).flatmap(lambda n: st.binary(min_size=n, max_size=n)))


@spec_params
@given(data=st.data())
def test_round_trip(spec, data):
    key = data.draw(st.sampled_from(spec.key_sizes).flatmap(lambda n: st.binary(min_size=n, max_size=n)))
    nonce = _draw_nonce(spec, data)
    msg = data.draw(st.binary(min_size=spec.min_data, max_size=600))
    aad = data.draw(st.none() | st.binary(max_size=100))
    obj = spec.make(key)
    ct = spec.encrypt(obj, nonce, msg, aad)
    assert len(ct) == len(msg) + spec.tag
    assert spec.decrypt(obj, nonce, ct, aad) == msg
    # the same through the _into APIs and other buffer types
    buf = bytearray(len(ct))
    assert spec.encrypt_into(obj, nonce, memoryview(msg), aad, buf) == len(ct)
    assert bytes(buf) == ct
    out = array.array("B", bytes(len(msg)))
    assert spec.decrypt_into(obj, nonce, bytearray(ct), aad, out) == len(msg)
    assert out.tobytes() == msg
    # encryption is deterministic for a given nonce (the context keeps no per-message state)
    assert spec.encrypt(obj, nonce, msg, aad) == ct


@spec_params
@pytest.mark.parametrize("size", [0, 1, 65536 - 16, 65536 - 15, 65536, 200_000])
def test_sizes_around_the_scratch_buffer(spec, size):
    """encrypt()/decrypt() use a per-thread scratch buffer up to 64 KiB and a fresh one above."""
    if size < spec.min_data:
        pytest.skip("this OpenSSL cannot encrypt an empty AES-SIV/GCM-SIV message")
    key = bytes(range(spec.key_sizes[0]))
    obj = spec.make(key)
    nonce = bytes(spec.nonce_sizes[0]) if spec.nonce_sizes else None  # CCM: the longest messages
    msg = bytes(i % 251 for i in range(size))
    ct = spec.encrypt(obj, nonce, msg, b"a")
    buf = bytearray(len(ct))
    spec.encrypt_into(obj, nonce, msg, b"a", buf)
    assert ct == buf
    small = spec.encrypt(obj, nonce, b"x" * 3, b"a")  # reuses the scratch buffer
    assert spec.decrypt(obj, nonce, ct, b"a") == msg
    assert spec.decrypt(obj, nonce, small, b"a") == b"x" * 3
    assert ct == buf  # results are copies, untouched by later calls


@spec_params
def test_object_reuse_across_nonce_lengths(spec):
    """One object, nonces of every allowed length interleaved: each result matches a fresh object's."""
    key = os.urandom(spec.key_sizes[0])
    shared = spec.make(key)
    msg = os.urandom(77)
    for _ in range(3):
        for size in spec.nonce_sizes or (None,):
            nonce = os.urandom(size) if size else None
            ct = spec.encrypt(shared, nonce, msg, b"hdr")
            assert ct == spec.encrypt(spec.make(key), nonce, msg, b"hdr")
            assert spec.decrypt(shared, nonce, ct, b"hdr") == msg


def test_none_and_empty_aad_agree():
    key = os.urandom(16)
    for obj in (AESGCM(key), AESOCB3(key), AESCCM(key), ChaCha20Poly1305(key * 2)):
        assert obj.encrypt(b"n" * 12, b"msg", None) == obj.encrypt(b"n" * 12, b"msg", b"")


def test_siv_associated_data_items_are_distinct():
    siv = AESSIV(os.urandom(32))
    base = siv.encrypt(b"msg", None)
    assert siv.encrypt(b"msg", []) == base
    assert siv.encrypt(b"msg", [b""]) != base  # an empty item still counts
    assert siv.encrypt(b"msg", [b"ab"]) != siv.encrypt(b"msg", [b"a", b"b"])
    assert siv.decrypt(siv.encrypt(b"msg", [b"a", b"b"]), [b"a", b"b"]) == b"msg"
    with pytest.raises(InvalidTag):
        siv.decrypt(siv.encrypt(b"msg", [b"a", b"b"]), [b"ab"])


# --- differential tests against cryptography (CPython; skipped where it does not install) ----------------

def _reference(spec):
    pytest.importorskip(
        "cryptography", reason="cryptography (the differential reference) is not installed here"
    )
    from cryptography.hazmat.primitives.ciphers import aead

    return getattr(aead, spec.cls.__name__)


def _reference_min_data(spec, ref_cls):
    """The shortest message both tls and the reference take.  cryptography 43.0.3 (the
    reference on PyPy) refuses an empty AES-SIV/AES-GCM-SIV message, which tls encrypts
    where the loaded OpenSSL handles it (3.5 on)."""
    if spec.min_data > 0:
        return spec.min_data
    ref = ref_cls(bytes(spec.key_sizes[0]), **spec.kwargs)
    try:
        spec.encrypt(ref, bytes(spec.nonce_sizes[0]) if spec.nonce_sizes else None, b"", None)
    except ValueError:
        return 1
    return 0


@spec_params
@given(data=st.data())
def test_matches_cryptography(spec, data):
    ref_cls = _reference(spec)
    key = data.draw(st.sampled_from(spec.key_sizes).flatmap(lambda n: st.binary(min_size=n, max_size=n)))
    nonce = _draw_nonce(spec, data)
    msg = data.draw(st.binary(min_size=_reference_min_data(spec, ref_cls), max_size=300))
    aad = data.draw(st.none() | st.binary(max_size=64))
    mine, ref = spec.make(key), ref_cls(key, **spec.kwargs)
    expected = spec.encrypt(ref, nonce, msg, aad)
    assert spec.encrypt(mine, nonce, msg, aad) == expected
    assert spec.decrypt(mine, nonce, expected, aad) == msg


@given(
    data=st.binary(min_size=1, max_size=200),
    items=st.lists(st.binary(max_size=40), max_size=5),
)
def test_siv_lists_match_cryptography(data, items):
    ref_cls = _reference(SPECS[6])
    key = bytes(range(64))
    assert AESSIV(key).encrypt(data, items) == ref_cls(key).encrypt(data, items)


# --- tampering ---------------------------------------------------------------------------------------------

def _flips(blob):
    for i in range(len(blob) * 8):
        flipped = bytearray(blob)
        flipped[i // 8] ^= 1 << (i % 8)
        yield bytes(flipped)


@spec_params
def test_any_flipped_bit_fails(spec):
    """Every bit of ciphertext, tag, nonce and associated data matters; nothing leaks on failure."""
    key = os.urandom(spec.key_sizes[0])
    obj = spec.make(key)
    nonce = os.urandom(spec.nonce_sizes[0]) if spec.nonce_sizes else None
    msg, aad = b"attack at dawn!!!", b"header"
    ct = spec.encrypt(obj, nonce, msg, aad)
    buf = bytearray(len(msg))
    for bad in _flips(ct):
        with pytest.raises(InvalidTag):
            spec.decrypt(obj, nonce, bad, aad)
        buf[:] = b"\xaa" * len(buf)
        with pytest.raises(InvalidTag):
            spec.decrypt_into(obj, nonce, bad, aad, buf)
        assert buf == bytes(len(buf)), "decrypt_into left data in the buffer"
    for bad in _flips(aad):
        with pytest.raises(InvalidTag):
            spec.decrypt(obj, nonce, ct, bad)
    if nonce is not None:
        for bad in _flips(nonce):
            with pytest.raises(InvalidTag):
                spec.decrypt(obj, bad, ct, aad)
    # dropping or adding associated data fails too; truncation fails
    with pytest.raises(InvalidTag):
        spec.decrypt(obj, nonce, ct, None)
    with pytest.raises(InvalidTag):
        spec.decrypt(obj, nonce, ct[:-1], aad)
    with pytest.raises(InvalidTag):
        spec.decrypt(obj, nonce, ct[: spec.tag - 1], aad)
    # the object still works after all those failures
    assert spec.decrypt(obj, nonce, ct, aad) == msg


# --- threads -----------------------------------------------------------------------------------------------

@spec_params
def test_threads_share_one_object(spec):
    key = os.urandom(spec.key_sizes[-1])
    shared = spec.make(key)
    reference = spec.make(key)
    jobs = []
    for i in range(64):
        nonce = os.urandom(spec.nonce_sizes[i % len(spec.nonce_sizes)]) if spec.nonce_sizes else None
        msg = os.urandom(1 + (i * 37) % 3000)
        aad = os.urandom(i % 20)
        jobs.append((nonce, msg, aad, spec.encrypt(reference, nonce, msg, aad)))
    errors = []
    start = threading.Barrier(6)

    def work(offset):
        try:
            start.wait()
            for rnd in range(25):
                for j in range(offset + rnd, offset + rnd + len(jobs), 3):
                    nonce, msg, aad, ct = jobs[j % len(jobs)]
                    if spec.encrypt(shared, nonce, msg, aad) != ct:
                        errors.append(("encrypt", j))
                    if spec.decrypt(shared, nonce, ct, aad) != msg:
                        errors.append(("decrypt", j))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(repr(exc))

    threads = [threading.Thread(target=work, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


# --- large inputs ------------------------------------------------------------------------------------------

def _big_round_trip(obj, nonce, size):
    data = bytearray(size + 16)  # zeroed: big messages stay zeros (no second copy on the heap)
    view = memoryview(data)
    if size < 1 << 20:
        view[:size] = b"\x5a" * size
    data[size - 5 : size] = b"tail!"
    assert obj.encrypt_into(nonce, view[:size], b"aad", data) == size + 16  # in place
    tag = bytes(data[size:])
    head = bytes(data[:64])
    assert obj.decrypt_into(nonce, data, b"aad", view[:size]) == size  # in place
    assert data[size - 5 : size] == b"tail!"
    assert not any(data[: 1 << 16])
    return tag, head


@pytest.mark.skipif(
    os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES") < 6 << 30,
    reason="needs about 6 GiB of free memory",
)
@pytest.mark.parametrize("cls,key", [(AESGCM, bytes(16)), (ChaCha20Poly1305, bytes(32))])
def test_message_over_2_gib(cls, key):
    """A 2**31 + 33 byte message crosses the int-sized chunks; checked against a short prefix
    and, where cryptography is importable, against its streaming primitives."""
    size = 2**31 + 33
    nonce = b"\x01" * 12
    obj = cls(key)
    tag, head = _big_round_trip(obj, nonce, size)
    # CTR-style modes: the first bytes do not depend on the total length
    assert obj.encrypt(nonce, bytes(64), None)[:64] == head
    try:
        from cryptography.hazmat.primitives import poly1305
        from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    except ImportError:
        return
    gc.collect()  # PyPy: the round trip's 2 GiB buffer goes before the next is made
    msg = bytearray(size)
    msg[size - 5 :] = b"tail!"
    chunk = 1 << 28
    if cls is AESGCM:
        enc = Cipher(algorithms.AES(key), modes.GCM(nonce)).encryptor()
        enc.authenticate_additional_data(b"aad")
        mv = memoryview(msg)
        for i in range(0, size, chunk):
            enc.update(mv[i : i + chunk])
        enc.finalize()
        assert enc.tag == tag
    else:
        block0 = Cipher(algorithms.ChaCha20(key, b"\0" * 4 + nonce), None).encryptor().update(bytes(64))
        stream = Cipher(algorithms.ChaCha20(key, b"\1\0\0\0" + nonce), None).encryptor()
        mac = poly1305.Poly1305(block0[:32])
        mac.update(b"aad" + bytes(13))
        mv = memoryview(msg)
        for i in range(0, size, chunk):
            mac.update(stream.update(mv[i : i + chunk]))
        mac.update(bytes(-size % 16))
        mac.update((3).to_bytes(8, "little") + size.to_bytes(8, "little"))
        assert mac.finalize() == tag


# --- bad input ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "cls,bad_sizes,message",
    [
        (AESGCM, (0, 15, 17, 33), "AESGCM key must be 128, 192, or 256 bits."),
        (AESCCM, (0, 8, 31), "AESCCM key must be 128, 192, or 256 bits."),
        (AESOCB3, (0, 20, 64), "AESOCB3 key must be 128, 192, or 256 bits."),
        (AESSIV, (16, 24, 32 + 1, 128), "AESSIV key must be 256, 384, or 512 bits."),
        (ChaCha20Poly1305, (16, 31, 33), "ChaCha20Poly1305 key must be 32 bytes."),
        (AESGCMSIV, (0, 8, 64), "AES-GCM-SIV key must be 128, 192 or 256 bits."),
    ],
)
def test_bad_key_size(cls, bad_sizes, message):
    for size in bad_sizes:
        with pytest.raises(ValueError, match=message.replace(".", r"\.")):
            cls(bytes(size))


@pytest.mark.parametrize("cls", [AESGCM, AESCCM, AESOCB3, AESSIV, ChaCha20Poly1305, AESGCMSIV])
@pytest.mark.parametrize("key", ["k" * 32, None, 32, 3.0, [0] * 32])
def test_key_not_a_buffer(cls, key):
    with pytest.raises(TypeError, match="argument 'key'"):
        cls(key)


@pytest.mark.skipif(GCM_SIV_UNAVAILABLE is None, reason="this OpenSSL provides AES-GCM-SIV")
def test_gcm_siv_unsupported():
    with pytest.raises(UnsupportedAlgorithm, match="AES-GCM-SIV is not supported by this version of OpenSSL"):
        AESGCMSIV(bytes(16))


def test_generate_key():
    for cls, sizes in ((AESGCM, (128, 192, 256)), (AESCCM, (128, 192, 256)), (AESOCB3, (128, 192, 256)),
                       (AESGCMSIV, (128, 192, 256)), (AESSIV, (256, 384, 512))):
        for bits in sizes:
            key = cls.generate_key(bits)
            assert type(key) is bytes and len(key) == bits // 8
        assert cls.generate_key(sizes[0]) != cls.generate_key(sizes[0])
        allowed = ", ".join(map(str, sizes[:2])) + f", or {sizes[2]}"
        for bad in (0, 1, 64, 512 if sizes[0] == 128 else 128, 1024, True):
            with pytest.raises(ValueError, match=f"bit_length must be {allowed}"):
                cls.generate_key(bad)
        with pytest.raises(TypeError):
            cls.generate_key("128")
        with pytest.raises(TypeError):
            cls.generate_key(128.0)
        with pytest.raises(OverflowError):
            cls.generate_key(-128)
        with pytest.raises(TypeError):
            cls.generate_key()
    assert len(ChaCha20Poly1305.generate_key()) == 32
    with pytest.raises(TypeError):
        ChaCha20Poly1305.generate_key(256)


def test_ccm_tag_length():
    key = bytes(16)
    for ok in (4, 6, 8, 10, 12, 14, 16):
        assert len(AESCCM(key, ok).encrypt(b"n" * 13, b"x", None)) == 1 + ok
    assert len(AESCCM(key, tag_length=None).encrypt(b"n" * 13, b"x", None)) == 17
    for bad in (0, 2, 3, 5, 7, 15, 17, 18, 32, True):
        with pytest.raises(ValueError, match="Invalid tag_length"):
            AESCCM(key, bad)
    with pytest.raises(OverflowError):
        AESCCM(key, -4)
    for bad in ("16", 16.0, b"16"):
        with pytest.raises(TypeError, match="tag_length"):
            AESCCM(key, bad)


@pytest.mark.parametrize(
    "obj,ok,bad,message",
    [
        (AESGCM(bytes(16)), (8, 12, 128), (0, 1, 7, 129, 256), "Nonce must be between 8 and 128 bytes"),
        (AESCCM(bytes(16)), (7, 13), (0, 6, 14, 16), "Nonce must be between 7 and 13 bytes"),
        (AESOCB3(bytes(16)), (12, 15), (0, 11, 16), "Nonce must be between 12 and 15 bytes"),
        (ChaCha20Poly1305(bytes(32)), (12,), (0, 8, 11, 13, 24), "Nonce must be 12 bytes"),
    ],
    ids=["AESGCM", "AESCCM", "AESOCB3", "ChaCha20Poly1305"],
)
def test_nonce_sizes(obj, ok, bad, message):
    for size in ok:
        ct = obj.encrypt(bytes(size), b"data", None)
        assert obj.decrypt(bytes(size), ct, None) == b"data"
    for size in bad:
        nonce = bytes(size)
        for method, args in (
            (obj.encrypt, (nonce, b"data", None)),
            (obj.decrypt, (nonce, bytes(40), None)),
            (obj.decrypt, (nonce, b"", None)),  # the nonce is checked before the length
            (obj.encrypt_into, (nonce, b"data", None, bytearray(20))),
            (obj.decrypt_into, (nonce, bytes(40), None, bytearray(40))),
        ):
            with pytest.raises(ValueError, match=message):
                method(*args)


@needs_gcm_siv
def test_gcm_siv_nonce_size():
    obj = AESGCMSIV(bytes(16))
    for size in (0, 8, 11, 13, 16):
        with pytest.raises(ValueError, match="Nonce must be 12 bytes long"):
            obj.encrypt(bytes(size), b"data", None)


@spec_params
def test_str_and_non_buffers_rejected(spec):
    obj = spec.make(bytes(spec.key_sizes[0]))
    nonce = bytes(spec.nonce_sizes[0]) if spec.nonce_sizes else None
    if nonce is not None:
        with pytest.raises(TypeError, match="(?s)argument 'nonce'.*bytestring"):
            obj.encrypt("n" * len(nonce), b"data", None)
        with pytest.raises(TypeError, match="argument 'nonce'"):
            obj.decrypt(None, bytes(40), None)
    with pytest.raises(TypeError, match="(?s)argument 'data'.*bytestring"):
        spec.encrypt(obj, nonce, "data", None)
    with pytest.raises(TypeError, match="argument 'data'"):
        spec.encrypt(obj, nonce, None, None)
    with pytest.raises(TypeError, match="argument 'data'"):
        spec.decrypt(obj, nonce, 12345, None)
    with pytest.raises(TypeError, match="argument 'associated_data'"):
        if spec.nonce_sizes:
            obj.encrypt(nonce, b"data", "aad")
        else:
            obj.encrypt(b"data", ["aad"])
    with pytest.raises(TypeError):
        spec.encrypt(obj, nonce, b"data")  # associated_data is required (may be None)


def test_siv_associated_data_must_be_a_list():
    siv = AESSIV(bytes(32))
    for bad in ((b"a",), b"a", bytearray(b"a"), {b"a"}):
        with pytest.raises(TypeError, match="is not an instance of 'list'"):
            siv.encrypt(b"data", bad)
        with pytest.raises(TypeError, match="is not an instance of 'list'"):
            siv.decrypt(bytes(20), bad)


@spec_params
def test_short_ciphertext_is_invalid_tag(spec):
    obj = spec.make(bytes(spec.key_sizes[0]))
    nonce = bytes(spec.nonce_sizes[0]) if spec.nonce_sizes else None
    for size in range(spec.tag):
        with pytest.raises(InvalidTag):
            spec.decrypt(obj, nonce, bytes(size), None)
        with pytest.raises(InvalidTag):
            spec.decrypt_into(obj, nonce, bytes(size), None, bytearray(0))


@spec_params
def test_into_buffer_checks(spec):
    obj = spec.make(bytes(spec.key_sizes[0]))
    nonce = bytes(spec.nonce_sizes[0]) if spec.nonce_sizes else None
    msg = b"sixteen byte msg"
    ct = spec.encrypt(obj, nonce, msg, None)
    for size in (len(ct) - 1, len(ct) + 1, 0):
        with pytest.raises(ValueError, match=f"buffer must be {len(ct)} bytes"):
            spec.encrypt_into(obj, nonce, msg, None, bytearray(size))
    for size in (len(msg) - 1, len(msg) + 1, len(ct)):
        with pytest.raises(ValueError, match=f"buffer must be {len(msg)} bytes"):
            spec.decrypt_into(obj, nonce, ct, None, bytearray(size))
    for readonly in (bytes(len(ct)), memoryview(bytes(len(ct)))):
        with pytest.raises(TypeError, match="argument 'buf': Buffer is not writable."):
            spec.encrypt_into(obj, nonce, msg, None, readonly)
    with pytest.raises(TypeError, match="argument 'buf'"):
        spec.encrypt_into(obj, nonce, msg, None, "x" * len(ct))
    with pytest.raises(BufferError):
        spec.encrypt_into(obj, nonce, msg, None, memoryview(bytearray(2 * len(ct)))[::2])
    # a wider item type is fine: the size counts bytes
    assert len(ct) % 4 == 0
    wide = array.array("I", bytes(len(ct)))
    assert spec.encrypt_into(obj, nonce, msg, None, wide) == len(ct)
    assert wide.tobytes() == ct


def test_ccm_message_length_limit():
    ccm = AESCCM(bytes(16))
    nonce = bytes(13)  # 2-byte length field: messages up to 65535 bytes
    assert len(ccm.encrypt(nonce, bytes(65535), None)) == 65535 + 16
    with pytest.raises(ValueError, match="Data too long for nonce"):
        ccm.encrypt(nonce, bytes(65536), None)
    with pytest.raises(ValueError, match="Data too long for nonce"):
        ccm.decrypt(nonce, bytes(65536 + 16), None)
    with pytest.raises(ValueError, match="Data too long for nonce"):
        ccm.encrypt_into(nonce, bytes(65536), None, bytearray(65536 + 16))
    assert len(ccm.encrypt(bytes(12), bytes(65536), None)) == 65536 + 16  # 3-byte length field


@pytest.mark.skipif(EMPTY_SIV_OK, reason="this OpenSSL handles an empty AES-SIV message")
def test_siv_empty_message_before_openssl_3_5():
    with pytest.raises(ValueError, match="data must not be zero length"):
        AESSIV(bytes(32)).encrypt(b"", None)
    with pytest.raises(ValueError, match="data must not be zero length"):
        AESSIV(bytes(32)).encrypt_into(b"", [b"x"], bytearray(16))


def test_one_shot_modes_refuse_over_2_gib():
    """CCM, SIV and GCM-SIV take the message (and each AAD item) in one int-sized call:
    OverflowError, as in cryptography.  bytes(n) is zero pages, so this is cheap."""
    big = bytes(2**31)
    small = b"x" * 32
    ccm = AESCCM(bytes(16))
    with pytest.raises(OverflowError, match=r"Max 2\*\*31 - 1 bytes"):
        ccm.encrypt(bytes(7), big, None)
    with pytest.raises(OverflowError, match=r"Max 2\*\*31 - 1 bytes"):
        ccm.encrypt(bytes(7), small, big)
    with pytest.raises(OverflowError, match=r"Max 2\*\*31 - 1 bytes"):
        ccm.decrypt(bytes(7), big + bytes(16), None)
    siv = AESSIV(bytes(32))
    with pytest.raises(OverflowError, match=r"Max 2\*\*31 - 1 bytes"):
        siv.encrypt(big, None)
    with pytest.raises(OverflowError, match=r"Max 2\*\*31 - 1 bytes"):
        siv.encrypt(small, [b"", big])
    with pytest.raises(OverflowError, match=r"Max 2\*\*31 - 1 bytes"):
        siv.decrypt_into(big + bytes(16), None, bytearray(1))


@spec_params
def test_close(spec):
    obj = spec.make(bytes(spec.key_sizes[0]))
    nonce = bytes(spec.nonce_sizes[0]) if spec.nonce_sizes else None
    ct = spec.encrypt(obj, nonce, b"data", None)
    obj.close()
    obj.close()  # idempotent
    with pytest.raises(ValueError, match="closed"):
        spec.encrypt(obj, nonce, b"data", None)
    buf = bytearray(b"\xaa" * 4)
    with pytest.raises(ValueError, match="closed"):
        spec.decrypt_into(obj, nonce, ct, None, buf)
    assert buf == bytes(4)


def test_signatures_match_cryptography():
    import inspect

    for cls in (AESGCM, AESCCM, AESOCB3, ChaCha20Poly1305, AESGCMSIV):
        for name in ("encrypt", "decrypt"):
            assert list(inspect.signature(getattr(cls, name)).parameters) == [
                "self", "nonce", "data", "associated_data"]
        for name in ("encrypt_into", "decrypt_into"):
            assert list(inspect.signature(getattr(cls, name)).parameters) == [
                "self", "nonce", "data", "associated_data", "buf"]
    assert list(inspect.signature(AESSIV.encrypt).parameters) == ["self", "data", "associated_data"]
    assert list(inspect.signature(AESCCM).parameters) == ["key", "tag_length"]
    assert inspect.signature(AESCCM).parameters["tag_length"].default == 16
    # keyword arguments work as in cryptography
    gcm = AESGCM(key=bytes(16))
    ct = gcm.encrypt(nonce=bytes(12), data=b"x", associated_data=None)
    assert gcm.decrypt(nonce=bytes(12), data=ct, associated_data=None) == b"x"
