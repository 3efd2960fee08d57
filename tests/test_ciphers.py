"""tls.ciphers: Cipher/algorithms/modes against known answers, cryptography, and bad input."""

import array
import os
import struct
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tls.ciphers.base
import vectors
from tls._binding import consume_errors
from tls.ciphers import (
    AlreadyFinalized,
    AlreadyUpdated,
    Cipher,
    InvalidTag,
    NotYetFinalized,
    UnsupportedAlgorithm,
    algorithms,
    modes,
)
from vectors.ciphers import load_camellia_ecb, load_gcm

NO_CRYPTOGRAPHY = (
    "cryptography (the differential reference) is not installed for this interpreter; "
    "the known-answer tests still run"
)


def crypt(cipher, data, encrypt=True, splits=()):
    """Run ``data`` through a fresh context, cut at ``splits``; return (output, context)."""
    ctx = cipher.encryptor() if encrypt else cipher.decryptor()
    out = []
    start = 0
    for cut in sorted(splits) + [len(data)]:
        out.append(ctx.update(data[start:cut]))
        start = cut
    out.append(ctx.finalize())
    return b"".join(out), ctx


def available(algorithm, mode):
    try:
        Cipher(algorithm, mode).encryptor()
    except UnsupportedAlgorithm:
        return False
    return True


def assert_queue_clean():
    assert consume_errors() == []


# ----------------------------------------------------------------------------------------------
# Known answers
# ----------------------------------------------------------------------------------------------

AES_NIST = []
for _mode, _prefix, _dir in [
    (modes.ECB, "ECB", "ECB"),
    (modes.CBC, "CBC", "CBC"),
    (modes.OFB, "OFB", "OFB"),
    (modes.CFB, "CFB128", "CFB"),
    (modes.CFB8, "CFB8", "CFB"),
]:
    for _kind in ("GFSbox", "KeySbox", "VarKey", "VarTxt", "MMT"):
        for _bits in (128, 192, 256):
            AES_NIST.append(
                pytest.param(_mode, _dir, f"{_prefix}{_kind}{_bits}.rsp", id=f"{_prefix}{_kind}{_bits}")
            )


def _mode_for(mode_cls, record):
    return mode_cls() if mode_cls is modes.ECB else mode_cls(vectors.unhex(record["iv"]))


def check_records(records, algorithm_cls, mode_of):
    assert records, "no vectors loaded"
    for record in records:
        key = vectors.unhex(record["key"])
        plaintext = vectors.unhex(record["plaintext"])
        ciphertext = vectors.unhex(record["ciphertext"])
        cipher = Cipher(algorithm_cls(key), mode_of(record))
        split = [len(plaintext) // 2] if len(plaintext) > 1 else []
        if record.get("section", "ENCRYPT") == "ENCRYPT":
            assert crypt(cipher, plaintext, True, split)[0] == ciphertext, record
        else:
            assert crypt(cipher, ciphertext, False, split)[0] == plaintext, record
        # Both directions hold for every record.
        assert crypt(cipher, plaintext)[0] == ciphertext, record
        assert crypt(cipher, ciphertext, False)[0] == plaintext, record
    assert_queue_clean()


@pytest.mark.parametrize("mode_cls, directory, filename", AES_NIST)
def test_aes_nist_cavp(mode_cls, directory, filename):
    records = vectors.load_nist("ciphers", "AES", directory, filename)
    check_records(records, algorithms.AES, lambda r: _mode_for(mode_cls, r))


@pytest.mark.parametrize("filename", ["aes-128-ctr.txt", "aes-192-ctr.txt", "aes-256-ctr.txt"])
def test_aes_ctr_rfc3686(filename):
    records = vectors.load_nist("ciphers", "AES", "CTR", filename)
    check_records(records, algorithms.AES, lambda r: modes.CTR(vectors.unhex(r["iv"])))


@pytest.mark.parametrize("flavour", ["tweak-128hexstr", "tweak-dataunitseqno"])
@pytest.mark.parametrize("filename", ["XTSGenAES128.rsp", "XTSGenAES256.rsp"])
def test_aes_xts(flavour, filename):
    records = vectors.load_nist("ciphers", "AES", "XTS", flavour, filename)
    checked = 0
    for record in records:
        if int(record["dataunitlen"]) % 8:
            continue  # bit-granular data units: OpenSSL (and cryptography) work in bytes
        if "i" in record:
            tweak = vectors.unhex(record["i"])
        else:
            tweak = int(record["dataunitseqnumber"]).to_bytes(16, "little")
        cipher = Cipher(algorithms.AES(vectors.unhex(record["key"])), modes.XTS(tweak))
        pt, ct = vectors.unhex(record["pt"]), vectors.unhex(record["ct"])
        assert crypt(cipher, pt)[0] == ct, record
        assert crypt(cipher, ct, False)[0] == pt, record
        checked += 1
    assert checked >= 600
    assert_queue_clean()


def _gcm_records(filename, stride):
    # cryptography (and OpenSSL 3) take 8..128-byte IVs: the 1-byte-IV records are skipped.
    records = [r for r in load_gcm("ciphers", "AES", "GCM", filename) if r["ivlen"] >= 64]
    return records[::stride]


@pytest.mark.parametrize("bits", [128, 192, 256])
def test_aes_gcm_encrypt_nist(bits):
    records = _gcm_records(f"gcmEncryptExtIV{bits}.rsp", 3)
    assert len(records) > 1000
    for r in records:
        enc = Cipher(algorithms.AES(r["key"]), modes.GCM(r["iv"])).encryptor()
        if r["aad"]:
            half = len(r["aad"]) // 2
            enc.authenticate_additional_data(r["aad"][:half])
            enc.authenticate_additional_data(r["aad"][half:])
        ct = enc.update(r["pt"]) + enc.finalize()
        assert ct == r["ct"], r
        assert enc.tag[: len(r["tag"])] == r["tag"], r
    assert_queue_clean()


@pytest.mark.parametrize("bits", [128, 192, 256])
def test_aes_gcm_decrypt_nist(bits):
    records = _gcm_records(f"gcmDecrypt{bits}.rsp", 3)
    assert sum(r["fail"] for r in records) > 300 and sum(not r["fail"] for r in records) > 300
    for i, r in enumerate(records):
        tag = r["tag"]
        if i % 2:
            mode = modes.GCM(r["iv"], tag, min_tag_length=len(tag))
        else:
            mode = modes.GCM(r["iv"], min_tag_length=len(tag))
        dec = Cipher(algorithms.AES(r["key"]), mode).decryptor()
        dec.authenticate_additional_data(r["aad"])
        pt = dec.update(r["ct"])
        if r["fail"]:
            with pytest.raises(InvalidTag):
                dec.finalize() if i % 2 else dec.finalize_with_tag(tag)
        else:
            pt += dec.finalize() if i % 2 else dec.finalize_with_tag(tag)
            assert pt == r["pt"], r
    assert_queue_clean()


@pytest.mark.parametrize("bits", [128, 192, 256])
def test_camellia_ecb_ntt(bits):
    records = load_camellia_ecb("ciphers", "Camellia", f"camellia-{bits}-ecb.txt")
    assert len(records) == 1280
    for r in records:
        cipher = Cipher(algorithms.Camellia(r["key"]), modes.ECB())
        assert crypt(cipher, r["plaintext"])[0] == r["ciphertext"]
        assert crypt(cipher, r["ciphertext"], False)[0] == r["plaintext"]
    assert_queue_clean()


@pytest.mark.parametrize(
    "filename, mode_cls",
    [("camellia-cbc.txt", modes.CBC), ("camellia-cfb.txt", modes.CFB), ("camellia-ofb.txt", modes.OFB)],
)
def test_camellia_modes(filename, mode_cls):
    records = vectors.load_nist("ciphers", "Camellia", filename)
    check_records(records, algorithms.Camellia, lambda r: _mode_for(mode_cls, r))


def _sm4_or_skip(mode):
    if not available(algorithms.SM4(b"\0" * 16), mode):
        pytest.skip(f"the loaded OpenSSL offers no SM4-{mode.name}")


@pytest.mark.parametrize(
    "name, mode_cls",
    [("ecb", modes.ECB), ("cbc", modes.CBC), ("cfb", modes.CFB), ("ofb", modes.OFB), ("ctr", modes.CTR)],
)
def test_sm4_modes(name, mode_cls):
    _sm4_or_skip(mode_cls() if mode_cls is modes.ECB else mode_cls(b"\0" * 16))
    records = vectors.load_nist("ciphers", "SM4", f"draft-ribose-cfrg-sm4-10-{name}.txt")
    check_records(records, algorithms.SM4, lambda r: _mode_for(mode_cls, r))


def test_sm4_gcm_rfc8998():
    records = vectors.load_nist("ciphers", "SM4", "rfc8998.txt")
    assert records
    r = records[0]
    iv = vectors.unhex(r["iv"])
    _sm4_or_skip(modes.GCM(iv))
    key, aad, tag = vectors.unhex(r["key"]), vectors.unhex(r["aad"]), vectors.unhex(r["tag"])
    pt, ct = vectors.unhex(r["plaintext"]), vectors.unhex(r["ciphertext"])
    enc = Cipher(algorithms.SM4(key), modes.GCM(iv)).encryptor()
    enc.authenticate_additional_data(aad)
    assert enc.update(pt) + enc.finalize() == ct
    assert enc.tag == tag
    dec = Cipher(algorithms.SM4(key), modes.GCM(iv, tag)).decryptor()
    dec.authenticate_additional_data(aad)
    assert dec.update(ct) + dec.finalize() == pt


def test_sm4_unavailable_mode_is_unsupported_algorithm():
    # SM4 has no CFB8 in any OpenSSL provider: fetching fails, and says so.
    cipher = Cipher(algorithms.SM4(b"\0" * 16), modes.CFB8(b"\0" * 16))
    with pytest.raises(UnsupportedAlgorithm, match="SM4-CFB8"):
        cipher.encryptor()
    with pytest.raises(UnsupportedAlgorithm):
        cipher.decryptor()
    assert_queue_clean()


def test_chacha20_rfc7539():
    records = vectors.load_nist("ciphers", "ChaCha20", "rfc7539.txt")
    assert len(records) >= 3
    for r in records:
        nonce = struct.pack("<I", int(r["initial_block_counter"])) + vectors.unhex(r["nonce"])
        cipher = Cipher(algorithms.ChaCha20(vectors.unhex(r["key"]), nonce), None)
        pt, ct = vectors.unhex(r["plaintext"]), vectors.unhex(r["ciphertext"])
        assert crypt(cipher, pt, True, [len(pt) // 3])[0] == ct
        assert crypt(cipher, ct, False)[0] == pt
    assert_queue_clean()


# ----------------------------------------------------------------------------------------------
# Cases shared by the property tests: every (algorithm, mode) the loaded OpenSSL offers
# ----------------------------------------------------------------------------------------------

# (algorithm name, key bytes, mode name)
CASES = (
    [("AES", k, m) for k in (16, 24, 32) for m in ("CBC", "CTR", "ECB", "OFB", "CFB", "CFB8", "GCM")]
    + [("AES", k, "XTS") for k in (32, 64)]
    + [("Camellia", k, m) for k in (16, 24, 32) for m in ("CBC", "ECB", "OFB", "CFB", "CTR", "CFB8")]
    + [("SM4", 16, m) for m in ("CBC", "CTR", "ECB", "OFB", "CFB", "GCM")]
    + [("ChaCha20", 32, None)]
)
BLOCK_ONLY = ("ECB", "CBC")


def build(lib_algorithms, lib_modes, case, key, iv, tag=None):
    alg_name, _, mode_name = case
    if alg_name == "ChaCha20":
        return lib_algorithms.ChaCha20(key, iv), None
    alg = getattr(lib_algorithms, alg_name)(key)
    if mode_name == "ECB":
        return alg, lib_modes.ECB()
    if mode_name == "GCM":
        return alg, lib_modes.GCM(iv[:12], tag)
    return alg, getattr(lib_modes, mode_name)(iv)


def ours_available(case):
    alg, mode = build(algorithms, modes, case, os.urandom(case[1]), os.urandom(16))
    return available(alg, mode)


AVAILABLE = [c for c in CASES if ours_available(c)]


def case_id(case):
    return f"{case[0]}-{case[1] * 8}-{case[2]}"


@st.composite
def messages(draw, case):
    """A message valid for the case's mode, a key, an IV/nonce, and split points."""
    alg_name, key_len, mode_name = case
    key = draw(st.binary(min_size=key_len, max_size=key_len))
    if mode_name == "XTS":
        half = key_len // 2
        key = key[:half] + bytes(b ^ 0x5A for b in key[:half]) if key[:half] == key[half:] else key
    iv = draw(st.binary(min_size=16, max_size=16))
    if mode_name in BLOCK_ONLY:
        blocks = draw(st.integers(0, 12))
        data = draw(st.binary(min_size=16 * blocks, max_size=16 * blocks))
    elif mode_name == "XTS":
        data = draw(st.binary(min_size=16, max_size=300))
    else:
        data = draw(st.binary(max_size=300))
    if mode_name == "XTS":
        splits = []  # each XTS update is its own data unit
    else:
        splits = draw(st.lists(st.integers(0, len(data)), max_size=4))
    aad = draw(st.binary(max_size=64)) if mode_name == "GCM" else b""
    return key, iv, data, splits, aad


def run(lib_algorithms, lib_modes, case, key, iv, data, splits, aad, encrypt=True, tag=None):
    alg, mode = build(lib_algorithms, lib_modes, case, key, iv, tag)
    cipher = lib_Cipher(lib_algorithms)(alg, mode)
    ctx = cipher.encryptor() if encrypt else cipher.decryptor()
    if aad:
        ctx.authenticate_additional_data(aad[: len(aad) // 2])
        ctx.authenticate_additional_data(aad[len(aad) // 2 :])
    out = []
    start = 0
    for cut in sorted(splits) + [len(data)]:
        out.append(ctx.update(data[start:cut]))
        start = cut
    out.append(ctx.finalize())
    return b"".join(out), getattr(ctx, "tag", None) if encrypt and case[2] == "GCM" else None


def lib_Cipher(lib_algorithms):
    return Cipher if lib_algorithms is algorithms else _crypto().Cipher


def _crypto():
    from cryptography.hazmat.primitives import ciphers

    return ciphers


# ----------------------------------------------------------------------------------------------
# Differential tests against cryptography
# ----------------------------------------------------------------------------------------------


def _reference_modules():
    pytest.importorskip("cryptography", reason=NO_CRYPTOGRAPHY)
    import warnings

    from cryptography.hazmat.primitives.ciphers import algorithms as c_algorithms
    from cryptography.hazmat.primitives.ciphers import modes as c_modes

    # Camellia, OFB, CFB and CFB8 moved to "decrepit" in later cryptography releases (PyPy
    # gets 43.0.3): take each name from wherever the installed release keeps it.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            from cryptography.hazmat.decrepit.ciphers import algorithms as d_algorithms
        except ImportError:
            d_algorithms = None
        try:
            from cryptography.hazmat.decrepit.ciphers import modes as d_modes
        except ImportError:
            d_modes = None

    def moved(new_home, old_home, name):
        return getattr(new_home, name, None) or getattr(old_home, name)

    class Algorithms:
        AES = c_algorithms.AES
        SM4 = c_algorithms.SM4
        ChaCha20 = c_algorithms.ChaCha20
        Camellia = moved(d_algorithms, c_algorithms, "Camellia")

    class Modes:
        CBC, CTR, ECB, GCM, XTS = c_modes.CBC, c_modes.CTR, c_modes.ECB, c_modes.GCM, c_modes.XTS
        OFB, CFB, CFB8 = (moved(d_modes, c_modes, name) for name in ("OFB", "CFB", "CFB8"))

    return Algorithms, Modes


def reference_available(case, ref_algorithms, ref_modes):
    alg, mode = build(ref_algorithms, ref_modes, case, os.urandom(case[1]), os.urandom(16))
    try:
        _crypto().Cipher(alg, mode).encryptor()
    except Exception:  # cryptography's own UnsupportedAlgorithm
        return False
    return True


@pytest.mark.parametrize("case", AVAILABLE, ids=case_id)
def test_differential_against_cryptography(case):
    ref_algorithms, ref_modes = _reference_modules()
    if not reference_available(case, ref_algorithms, ref_modes):
        pytest.skip(f"cryptography does not offer {case_id(case)}")

    @settings(max_examples=40)
    @given(messages(case))
    def check(drawn):
        key, iv, data, splits, aad = drawn
        ours, our_tag = run(algorithms, modes, case, key, iv, data, splits, aad)
        theirs, their_tag = run(ref_algorithms, ref_modes, case, key, iv, data, sorted(splits)[:1], aad)
        assert ours == theirs
        assert our_tag == their_tag
        back, _ = run(algorithms, modes, case, key, iv, ours, splits[::-1], aad, False, our_tag)
        ref_back, _ = run(ref_algorithms, ref_modes, case, key, iv, ours, [], aad, False, their_tag)
        assert back == ref_back == data

    check()
    assert_queue_clean()


@pytest.mark.parametrize("case", [c for c in AVAILABLE if c[2] in ("CTR", None)], ids=case_id)
def test_differential_reset_nonce(case):
    ref_algorithms, ref_modes = _reference_modules()
    if not reference_available(case, ref_algorithms, ref_modes):
        pytest.skip(f"cryptography does not offer {case_id(case)}")

    @settings(max_examples=30)
    @given(messages(case), st.binary(min_size=16, max_size=16), st.binary(max_size=100))
    def check(drawn, nonce, more):
        key, iv, data, _, _ = drawn
        results = []
        for lib_algorithms, lib_modes in ((algorithms, modes), (ref_algorithms, ref_modes)):
            alg, mode = build(lib_algorithms, lib_modes, case, key, iv)
            ctx = lib_Cipher(lib_algorithms)(alg, mode).encryptor()
            first = ctx.update(data)
            ctx.reset_nonce(nonce)
            results.append((first, ctx.update(more) + ctx.finalize()))
        assert results[0] == results[1]

    check()


def test_error_types_match_cryptography():
    """The same bad calls raise the same exception types in both libraries."""
    ref_algorithms, ref_modes = _reference_modules()
    ref_exceptions = pytest.importorskip("cryptography.exceptions", reason=NO_CRYPTOGRAPHY)
    key, iv = b"k" * 16, b"i" * 16

    def calls(A, M, C):
        return [
            lambda: A.AES(b"k" * 15),
            lambda: A.AES("k" * 16),
            lambda: A.ChaCha20(b"k" * 32, b"n" * 12),
            lambda: M.CBC("x" * 16),
            lambda: M.XTS(b"x" * 15),
            lambda: M.GCM(b"x" * 7),
            lambda: M.GCM(iv, tag=b"t" * 15),
            lambda: M.GCM(iv, tag=b"t" * 8, min_tag_length=3),
            lambda: C(A.AES(key), M.CBC(b"x" * 15)),
            lambda: C(A.AES(key * 4), M.CBC(iv)),
            lambda: C(A.AES(key), M.XTS(iv)),
            lambda: C(A.AES(key * 2), M.XTS(iv)).encryptor(),
            lambda: C(A.AES(key), M.CTR(b"x" * 15)),
            lambda: C(A.ChaCha20(key * 2, iv), M.CTR(iv)),
            lambda: C(A.AES(key), None).encryptor(),
            lambda: C(A.AES(key), M.GCM(iv, tag=b"t" * 17)),
            lambda: C(A.AES(key), M.GCM(iv, tag=b"t" * 16)).encryptor(),
            lambda: C(key, M.ECB()),
        ]

    ours = calls(algorithms, modes, Cipher)
    theirs = calls(ref_algorithms, ref_modes, _crypto().Cipher)
    for i, (a, b) in enumerate(zip(ours, theirs)):
        with pytest.raises(Exception) as ours_info:
            a()
        with pytest.raises(Exception) as theirs_info:
            b()
        ours_type, theirs_type = type(ours_info.value), type(theirs_info.value)
        if theirs_type is ref_exceptions.UnsupportedAlgorithm:
            assert ours_type is UnsupportedAlgorithm, i
        else:
            assert ours_type is theirs_type, (i, ours_info.value, theirs_info.value)


# ----------------------------------------------------------------------------------------------
# Properties that hold everywhere (CPython and PyPy)
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", AVAILABLE, ids=case_id)
def test_round_trip_and_split_invariance(case):
    @settings(max_examples=30)
    @given(messages(case), st.lists(st.integers(0, 400), max_size=4))
    def check(drawn, other_splits):
        key, iv, data, splits, aad = drawn
        whole, tag = run(algorithms, modes, case, key, iv, data, [], aad)
        split, split_tag = run(algorithms, modes, case, key, iv, data, splits, aad)
        assert split == whole and split_tag == tag
        assert len(whole) == len(data)
        other = [] if case[2] == "XTS" else [min(s, len(data)) for s in other_splits]
        back, _ = run(algorithms, modes, case, key, iv, whole, other, aad, False, tag)
        assert back == data
        if data and case[2] not in ("XTS",):
            assert whole != data or len(data) < 4  # it did encrypt

    check()
    assert_queue_clean()


@pytest.mark.parametrize("case", AVAILABLE, ids=case_id)
def test_update_into_matches_update_for_every_buffer_type(case):
    key = os.urandom(case[1])
    if case[2] == "XTS":
        key = bytes(range(case[1]))
    iv = os.urandom(12 if case[2] == "GCM" else 16)  # build() keeps a GCM IV as it is
    data = os.urandom(64)
    expected, _ = run(algorithms, modes, case, key, iv, data, [], b"")
    for wrap in (bytes, bytearray, memoryview, lambda b: array.array("B", b), lambda b: array.array("I", b)):
        alg, mode = build(algorithms, modes, case, wrap(key), wrap(iv))
        enc = Cipher(alg, mode).encryptor()
        assert enc.update(wrap(data)) + enc.finalize() == expected
        enc = Cipher(alg, mode).encryptor()
        out = bytearray(len(data) + 15)
        n = enc.update_into(wrap(data), memoryview(out))
        assert bytes(out[:n]) + enc.finalize() == expected
        # Writing into an array works too, in place.
        enc = Cipher(alg, mode).encryptor()
        out = array.array("B", bytes(len(data) + 15))
        n = enc.update_into(data, out)
        assert out.tobytes()[:n] + enc.finalize() == expected


def test_update_into_in_place():
    key, nonce = os.urandom(16), os.urandom(16)
    data = os.urandom(1000)
    buf = bytearray(data)
    enc = Cipher(algorithms.AES(key), modes.CTR(nonce)).encryptor()
    assert enc.update_into(buf, buf) == 1000
    assert bytes(buf) == crypt(Cipher(algorithms.AES(key), modes.CTR(nonce)), data)[0]


@pytest.mark.parametrize("size", [0, 1, 15, 16, 17, 255, 256, 257, 70000, (1 << 20) + 100])
def test_sizes_across_the_scratch_buffer_limits(size):
    key, iv = os.urandom(32), os.urandom(16)
    data = os.urandom(size)
    for mode in (modes.CTR(iv), modes.CFB8(iv), modes.GCM(iv[:12])):
        enc = Cipher(algorithms.AES(key), mode).encryptor()
        # First a small update (grows the scratch a little), then the big one.
        ct = enc.update(data[:3]) + enc.update(data[3:]) + enc.finalize()
        assert len(ct) == size
        tag = getattr(enc, "tag", None)
        dec_mode = modes.GCM(iv[:12], tag) if tag else mode
        assert crypt(Cipher(algorithms.AES(key), dec_mode), ct, False, [size // 2])[0] == data


def test_chunking_logic_with_small_chunks(monkeypatch):
    """The >2**31 path, exercised cheaply: every chunk boundary must be invisible."""
    key, iv = os.urandom(16), os.urandom(16)
    data = os.urandom(5000)
    aad = os.urandom(333)
    expected = {}
    for name, mode in [("CTR", modes.CTR(iv)), ("CBC", modes.CBC(iv)), ("GCM", modes.GCM(iv))]:
        payload = data[:4992] if name == "CBC" else data
        enc = Cipher(algorithms.AES(key), mode).encryptor()
        if name == "GCM":
            enc.authenticate_additional_data(aad)
        expected[name] = (enc.update(payload) + enc.finalize(), getattr(enc, "tag", None))
    monkeypatch.setattr(tls.ciphers.base, "_CHUNK", 64)
    for name, mode in [("CTR", modes.CTR(iv)), ("CBC", modes.CBC(iv)), ("GCM", modes.GCM(iv))]:
        payload = data[:4992] if name == "CBC" else data
        enc = Cipher(algorithms.AES(key), mode).encryptor()
        if name == "GCM":
            enc.authenticate_additional_data(aad)
        out = bytearray(len(payload) + 15)
        n = enc.update_into(payload, out)
        assert (bytes(out[:n]) + enc.finalize(), getattr(enc, "tag", None)) == expected[name]
        enc = Cipher(algorithms.AES(key), mode).encryptor()
        if name == "GCM":
            enc.authenticate_additional_data(aad)
        assert (enc.update(payload) + enc.finalize(), getattr(enc, "tag", None)) == expected[name]


def test_input_over_2_gib_in_ctr_mode():
    """One update of 2**31 + 17 bytes (encrypted in place, to keep memory near 2 GiB) equals
    the same stream fed in 256 MiB pieces."""
    size = 2**31 + 17
    piece = 1 << 28
    key, nonce = bytes(range(16)), bytes(range(16, 32))
    buf = bytearray(size)
    buf[:: 1 << 20] = b"\x5a" * len(range(0, size, 1 << 20))  # not all zeros
    # The pattern repeats every MiB, so every full piece of plaintext is the same.
    plain_piece = bytes(buf[:piece])
    enc = Cipher(algorithms.AES(key), modes.CTR(nonce)).encryptor()
    assert enc.update_into(buf, buf) == size
    assert enc.finalize() == b""
    reference = Cipher(algorithms.AES(key), modes.CTR(nonce)).encryptor()
    expected = bytearray(piece)
    view = memoryview(buf)
    for start in range(0, size, piece):
        length = min(piece, size - start)
        assert reference.update_into(memoryview(plain_piece)[:length], expected) == length
        assert view[start : start + length] == memoryview(expected)[:length], start
    del view, buf


def test_threads_with_their_own_contexts_agree():
    key, iv = os.urandom(32), os.urandom(16)
    messages_ = [os.urandom(16 * (i + 1) * 7) for i in range(16)]
    algs = [modes.CBC, modes.CTR, modes.CFB8]
    expected = {
        (i, m.__name__): crypt(Cipher(algorithms.AES(key), m(iv)), msg)[0]
        for i, msg in enumerate(messages_)
        for m in algs
    }
    results = {}
    errors = []
    barrier = threading.Barrier(8)

    def worker(t):
        try:
            barrier.wait()
            for _ in range(20):
                for i, msg in enumerate(messages_):
                    for m in algs:
                        ct = crypt(Cipher(algorithms.AES(key), m(iv)), msg, True, [t % len(msg)])[0]
                        results[(t, i, m.__name__)] = ct
                        assert ct == expected[(i, m.__name__)]
                        pt = crypt(Cipher(algorithms.AES(key), m(iv)), ct, False, [len(ct) // 2])[0]
                        assert pt == msg
                enc = Cipher(algorithms.AES(key), modes.GCM(iv)).encryptor()
                enc.authenticate_additional_data(bytes([t]))
                ct = enc.update(messages_[t]) + enc.finalize()
                dec = Cipher(algorithms.AES(key), modes.GCM(iv, enc.tag)).decryptor()
                dec.authenticate_additional_data(bytes([t]))
                assert dec.update(ct) + dec.finalize() == messages_[t]
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors, errors
    assert len(results) == 8 * 16 * 3


# ----------------------------------------------------------------------------------------------
# GCM state machine
# ----------------------------------------------------------------------------------------------

KEY, IV12 = bytes(range(16)), bytes(range(12))


def gcm_encrypt(data=b"secret message", aad=b"header", iv=IV12):
    enc = Cipher(algorithms.AES(KEY), modes.GCM(iv)).encryptor()
    enc.authenticate_additional_data(aad)
    ct = enc.update(data) + enc.finalize()
    return ct, enc.tag


def test_gcm_tag_only_after_finalize():
    enc = Cipher(algorithms.AES(KEY), modes.GCM(IV12)).encryptor()
    with pytest.raises(NotYetFinalized, match="finalize"):
        _ = enc.tag
    enc.update(b"abc")
    with pytest.raises(NotYetFinalized):
        _ = enc.tag
    enc.finalize()
    assert len(enc.tag) == 16


def test_gcm_aad_after_update_is_already_updated():
    enc = Cipher(algorithms.AES(KEY), modes.GCM(IV12)).encryptor()
    enc.authenticate_additional_data(b"a")
    enc.authenticate_additional_data(b"b")
    enc.update(b"data")
    with pytest.raises(AlreadyUpdated):
        enc.authenticate_additional_data(b"c")
    dec = Cipher(algorithms.AES(KEY), modes.GCM(IV12)).decryptor()
    dec.update_into(b"data", bytearray(4))
    with pytest.raises(AlreadyUpdated):
        dec.authenticate_additional_data(b"c")
    # A refused update does not count; an empty one does (as in cryptography).
    enc = Cipher(algorithms.AES(KEY), modes.GCM(IV12)).encryptor()
    with pytest.raises(TypeError):
        enc.update("text")
    enc.authenticate_additional_data(b"a")
    enc.update(b"")
    with pytest.raises(AlreadyUpdated):
        enc.authenticate_additional_data(b"b")


def test_gcm_byte_limits(monkeypatch):
    monkeypatch.setattr(modes.GCM, "_MAX_ENCRYPTED_BYTES", 100)
    monkeypatch.setattr(modes.GCM, "_MAX_AAD_BYTES", 50)
    enc = Cipher(algorithms.AES(KEY), modes.GCM(IV12)).encryptor()
    enc.authenticate_additional_data(b"a" * 50)
    with pytest.raises(ValueError, match="maximum AAD byte limit"):
        enc.authenticate_additional_data(b"a")
    enc.update(b"x" * 60)
    enc.update_into(b"x" * 40, bytearray(40))
    with pytest.raises(ValueError, match="maximum encrypted byte limit"):
        enc.update(b"x")
    with pytest.raises(ValueError, match="maximum encrypted byte limit"):
        enc.update_into(b"x", bytearray(16))
    enc.finalize()


@pytest.mark.parametrize("iv_len", [8, 12, 16, 60, 128])
def test_gcm_iv_lengths_round_trip(iv_len):
    iv = os.urandom(iv_len)
    ct, tag = gcm_encrypt(iv=iv)
    dec = Cipher(algorithms.AES(KEY), modes.GCM(iv, tag)).decryptor()
    dec.authenticate_additional_data(b"header")
    assert dec.update(ct) + dec.finalize() == b"secret message"


def test_gcm_tamper_anything_is_invalid_tag():
    ct, tag = gcm_encrypt()
    variants = [
        (bytes([ct[0] ^ 1]) + ct[1:], tag, b"header", IV12),
        (ct, bytes([tag[0] ^ 1]) + tag[1:], b"header", IV12),
        (ct, tag, b"headeR", IV12),
        (ct, tag, b"header", bytes([IV12[0] ^ 1]) + IV12[1:]),
        (ct + b"x", tag, b"header", IV12),
    ]
    for c, t, a, iv in variants:
        dec = Cipher(algorithms.AES(KEY), modes.GCM(iv, t)).decryptor()
        dec.authenticate_additional_data(a)
        dec.update(c)
        with pytest.raises(InvalidTag):
            dec.finalize()
        # The context is spent either way.
        with pytest.raises(AlreadyFinalized):
            dec.update(b"")
    assert_queue_clean()


def test_gcm_finalize_with_tag_checks():
    ct, tag = gcm_encrypt()
    dec = Cipher(algorithms.AES(KEY), modes.GCM(IV12)).decryptor()
    dec.authenticate_additional_data(b"header")
    assert dec.update(ct) == b"secret message"
    with pytest.raises(ValueError, match="must be provided when decrypting"):
        dec.finalize()
    with pytest.raises(TypeError, match="tag must be bytes"):
        dec.finalize_with_tag(bytearray(tag))
    with pytest.raises(ValueError, match="16 bytes or longer"):
        dec.finalize_with_tag(tag[:15])
    with pytest.raises(ValueError, match="more than 16"):
        dec.finalize_with_tag(tag + b"x")
    assert dec.finalize_with_tag(tag) == b""
    with pytest.raises(AlreadyFinalized):
        dec.finalize_with_tag(tag)

    dec = Cipher(algorithms.AES(KEY), modes.GCM(IV12, tag)).decryptor()
    with pytest.raises(ValueError, match="only once"):
        dec.finalize_with_tag(tag)


def test_gcm_short_tags_with_min_tag_length():
    ct, tag = gcm_encrypt()
    for n in (4, 8, 12):
        dec = Cipher(algorithms.AES(KEY), modes.GCM(IV12, min_tag_length=n)).decryptor()
        dec.authenticate_additional_data(b"header")
        assert dec.update(ct) + dec.finalize_with_tag(tag[:n]) == b"secret message"
        dec = Cipher(algorithms.AES(KEY), modes.GCM(IV12, tag[:n], min_tag_length=n)).decryptor()
        dec.authenticate_additional_data(b"header")
        assert dec.update(ct) + dec.finalize() == b"secret message"
        with pytest.raises(ValueError, match=f"{n} bytes or longer"):
            Cipher(algorithms.AES(KEY), modes.GCM(IV12, min_tag_length=n)).decryptor().finalize_with_tag(
                tag[: n - 1]
            )
    with pytest.raises(ValueError, match="min_tag_length must be >= 4"):
        modes.GCM(IV12, tag[:3], min_tag_length=3)


def test_gcm_encrypt_with_tag_in_mode_is_refused():
    with pytest.raises(ValueError, match="must be None when encrypting"):
        Cipher(algorithms.AES(KEY), modes.GCM(IV12, b"t" * 16)).encryptor()


def test_gcm_decryptor_has_no_tag_and_encryptor_no_finalize_with_tag():
    dec = Cipher(algorithms.AES(KEY), modes.GCM(IV12)).decryptor()
    enc = Cipher(algorithms.AES(KEY), modes.GCM(IV12)).encryptor()
    assert not hasattr(enc, "finalize_with_tag")
    assert not hasattr(Cipher(algorithms.AES(KEY), modes.CTR(IV12 + b"1234")).decryptor(), "tag")
    with pytest.raises(UnsupportedAlgorithm):
        enc.reset_nonce(IV12)
    del dec


# ----------------------------------------------------------------------------------------------
# State errors and bad input
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("make", ["encryptor", "decryptor"])
def test_use_after_finalize(make):
    ctx = getattr(Cipher(algorithms.AES(KEY), modes.CTR(bytes(16))), make)()
    ctx.update(b"abc")
    ctx.finalize()
    for call in (
        lambda: ctx.update(b"x"),
        lambda: ctx.update_into(b"x", bytearray(16)),
        lambda: ctx.finalize(),
        lambda: ctx.reset_nonce(bytes(16)),
    ):
        with pytest.raises(AlreadyFinalized, match="already finalized"):
            call()
    gcm = getattr(
        Cipher(algorithms.AES(KEY), modes.GCM(IV12, None if make == "encryptor" else b"t" * 16)), make
    )()
    try:
        gcm.finalize()
    except InvalidTag:
        pass
    with pytest.raises(AlreadyFinalized):
        gcm.authenticate_additional_data(b"x")


@pytest.mark.parametrize("mode", [modes.ECB(), modes.CBC(bytes(16))])
@pytest.mark.parametrize("make", ["encryptor", "decryptor"])
def test_partial_block_is_value_error_at_finalize(mode, make):
    ctx = getattr(Cipher(algorithms.AES(KEY), mode), make)()
    assert ctx.update(b"a" * 15) == b""
    with pytest.raises(ValueError, match="not a multiple of the block length"):
        ctx.finalize()
    with pytest.raises(AlreadyFinalized):
        ctx.finalize()
    assert_queue_clean()


def test_key_sizes_name_the_allowed_ones():
    with pytest.raises(ValueError, match=r"Invalid key size \(120\) for AES.*128, 192, 256"):
        algorithms.AES(b"k" * 15)
    with pytest.raises(ValueError, match=r"Invalid key size \(256\) for AES.*128"):
        algorithms.AES128(b"k" * 32)
    with pytest.raises(ValueError, match=r"\(128\) for AES.*256"):
        algorithms.AES256(b"k" * 16)
    with pytest.raises(ValueError, match=r"\(512\) for camellia.*128, 192, 256"):
        algorithms.Camellia(b"k" * 64)
    with pytest.raises(ValueError, match=r"\(256\) for SM4.*128"):
        algorithms.SM4(b"k" * 32)
    with pytest.raises(ValueError, match=r"\(128\) for ChaCha20.*256"):
        algorithms.ChaCha20(b"k" * 16, b"n" * 16)
    with pytest.raises(ValueError, match="Only 128, 192, and 256 bit keys"):
        Cipher(algorithms.AES(b"k" * 64), modes.CBC(bytes(16)))


def test_algorithm_attributes():
    aes = algorithms.AES(b"k" * 24)
    assert (aes.name, aes.key_size, aes.block_size, aes.key) == ("AES", 192, 128, b"k" * 24)
    assert algorithms.AES128(b"k" * 16).key_size == 128
    assert algorithms.AES256(b"k" * 32).key_size == 256
    assert algorithms.AES(bytearray(64)).key_size == 512
    assert algorithms.Camellia(b"k" * 32).name == "camellia"
    assert algorithms.SM4(b"k" * 16).block_size == 128
    chacha = algorithms.ChaCha20(b"k" * 32, b"n" * 16)
    assert (chacha.name, chacha.key_size, chacha.nonce) == ("ChaCha20", 256, b"n" * 16)
    assert isinstance(aes, algorithms.BlockCipherAlgorithm)
    assert not isinstance(chacha, algorithms.BlockCipherAlgorithm)
    assert modes.CBC(b"i" * 16).initialization_vector == b"i" * 16
    assert modes.CTR(b"n" * 16).nonce == b"n" * 16
    assert modes.XTS(b"t" * 16).tweak == b"t" * 16
    gcm = modes.GCM(b"i" * 12, b"t" * 16)
    assert (gcm.initialization_vector, gcm.tag, gcm.name) == (b"i" * 12, b"t" * 16, "GCM")
    assert {
        m.name for m in (modes.ECB(), modes.OFB(bytes(16)), modes.CFB(bytes(16)), modes.CFB8(bytes(16)))
    } == {
        "ECB",
        "OFB",
        "CFB",
        "CFB8",
    }


@pytest.mark.parametrize(
    "call, exc, message",
    [
        (lambda: algorithms.AES("k" * 16), TypeError, "key must be bytes-like"),
        (lambda: algorithms.AES(16), TypeError, "key must be bytes-like"),
        (lambda: algorithms.ChaCha20(b"k" * 32, "n" * 16), TypeError, "nonce must be bytes-like"),
        (lambda: algorithms.ChaCha20(b"k" * 32, b"n" * 12), ValueError, "16 bytes"),
        (lambda: modes.CBC("i" * 16), TypeError, "initialization_vector must be bytes-like"),
        (lambda: modes.CTR("n" * 16), TypeError, "nonce must be bytes-like"),
        (lambda: modes.XTS("t" * 16), TypeError, "tweak must be bytes-like"),
        (lambda: modes.XTS(b"t" * 15), ValueError, "tweak must be 128-bits"),
        (lambda: modes.GCM("i" * 12), TypeError, "initialization_vector must be bytes-like"),
        (lambda: modes.GCM(b"i" * 7), ValueError, "between 8 and 128 bytes"),
        (lambda: modes.GCM(b"i" * 129), ValueError, "between 8 and 128 bytes"),
        (lambda: modes.GCM(b"i" * 12, "t" * 16), TypeError, "tag must be bytes"),
        (lambda: modes.GCM(b"i" * 12, b"t" * 15), ValueError, "16 bytes or longer"),
        (lambda: modes.GCM(b"i" * 12, min_tag_length="4"), TypeError, "min_tag_length"),
        (lambda: Cipher(b"k" * 16, modes.ECB()), TypeError, "CipherAlgorithm"),
        (lambda: Cipher(algorithms.AES(KEY), "ECB"), TypeError, "Mode"),
        (
            lambda: Cipher(algorithms.AES(KEY), modes.CBC(b"i" * 15)),
            ValueError,
            r"Invalid IV size \(15\) for CBC",
        ),
        (
            lambda: Cipher(algorithms.AES(KEY), modes.OFB(b"i" * 17)),
            ValueError,
            r"Invalid IV size \(17\) for OFB",
        ),
        (lambda: Cipher(algorithms.AES(KEY), modes.CFB(b"i" * 8)), ValueError, "IV size"),
        (lambda: Cipher(algorithms.AES(KEY), modes.CFB8(b"i" * 8)), ValueError, "IV size"),
        (
            lambda: Cipher(algorithms.AES(KEY), modes.CTR(b"i" * 12)),
            ValueError,
            r"Invalid nonce size \(12\) for CTR",
        ),
        (lambda: Cipher(algorithms.AES(KEY), modes.XTS(b"t" * 16)), ValueError, "XTS specification"),
        (
            lambda: Cipher(algorithms.AES(b"k" * 48), modes.XTS(b"t" * 16)),
            ValueError,
            r"Invalid key size \(384\)",
        ),
        (lambda: Cipher(algorithms.AES256(b"k" * 32), modes.XTS(b"t" * 16)), TypeError, "AES128 and AES256"),
        (
            lambda: Cipher(algorithms.AES(b"k" * 32), modes.XTS(b"t" * 16)).encryptor(),
            ValueError,
            "duplicated keys",
        ),
        (
            lambda: Cipher(algorithms.AES(b"k" * 64), modes.XTS(b"t" * 16)).decryptor(),
            ValueError,
            "duplicated keys",
        ),
        (
            lambda: Cipher(algorithms.AES(KEY), modes.GCM(b"i" * 12, b"t" * 17)),
            ValueError,
            "more than 16 bytes",
        ),
        (
            lambda: Cipher(algorithms.ChaCha20(b"k" * 32, bytes(16)), modes.CTR(bytes(16))),
            UnsupportedAlgorithm,
            "block",
        ),
        (
            lambda: Cipher(algorithms.ChaCha20(b"k" * 32, bytes(16)), modes.GCM(bytes(12))),
            UnsupportedAlgorithm,
            "block",
        ),
        (
            lambda: Cipher(algorithms.ChaCha20(b"k" * 32, bytes(16)), modes.CBC(bytes(16))),
            UnsupportedAlgorithm,
            "block",
        ),
        (lambda: Cipher(algorithms.AES(KEY), None).encryptor(), UnsupportedAlgorithm, "needs a mode"),
        (
            lambda: Cipher(algorithms.Camellia(KEY), modes.GCM(IV12)).encryptor(),
            UnsupportedAlgorithm,
            "CAMELLIA-128-GCM",
        ),
        (
            lambda: Cipher(algorithms.ChaCha20(b"k" * 32, bytes(16)), modes.ECB()).encryptor(),
            UnsupportedAlgorithm,
            "ChaCha20 in ECB mode",
        ),
    ],
)
def test_bad_construction(call, exc, message):
    with pytest.raises(exc, match=message):
        call()
    assert_queue_clean()


def test_bad_data_arguments():
    ctx = Cipher(algorithms.AES(KEY), modes.CTR(bytes(16))).encryptor()
    with pytest.raises(TypeError, match="not str"):
        ctx.update("text")
    with pytest.raises(TypeError, match="bytes-like"):
        ctx.update(12)
    with pytest.raises(TypeError, match="bytes-like"):
        ctx.update(None)
    with pytest.raises(BufferError, match="contiguous"):
        ctx.update(memoryview(b"abcdef")[::2])
    with pytest.raises(TypeError, match="writable"):
        ctx.update_into(b"abc", b"xxxxxx")
    with pytest.raises(TypeError, match="writable"):
        ctx.update_into(b"abc", memoryview(bytearray(8)).toreadonly())
    with pytest.raises(TypeError, match="writable"):
        ctx.update_into(b"abc", "xxxxxx")
    with pytest.raises(BufferError, match="contiguous"):
        ctx.update_into(b"abc", memoryview(bytearray(16))[::2])
    with pytest.raises(ValueError, match="at least 3 bytes"):
        ctx.update_into(b"abc", bytearray(2))
    # Nothing was consumed by the refused calls: the stream continues where it was.
    assert ctx.update(b"abc") == crypt(Cipher(algorithms.AES(KEY), modes.CTR(bytes(16))), b"abc")[0]

    cbc = Cipher(algorithms.AES(KEY), modes.CBC(bytes(16))).encryptor()
    with pytest.raises(ValueError, match="at least 31 bytes"):
        cbc.update_into(b"a" * 16, bytearray(30))
    assert cbc.update_into(b"a" * 16, bytearray(31)) == 16

    gcm = Cipher(algorithms.AES(KEY), modes.GCM(IV12)).encryptor()
    with pytest.raises(TypeError):
        gcm.authenticate_additional_data("aad")
    with pytest.raises(TypeError):
        gcm.update("text")


def test_xts_update_sizes():
    key = bytes(range(64))
    enc = Cipher(algorithms.AES(key), modes.XTS(bytes(16))).encryptor()
    assert enc.update(b"") == b""
    with pytest.raises(ValueError, match="at least a full block"):
        enc.update(b"a" * 15)
    with pytest.raises(ValueError, match="at least a full block"):
        enc.update_into(b"a" * 15, bytearray(64))
    with pytest.raises(ValueError, match="16 MiB"):
        enc.update(bytes((16 << 20) + 1))
    assert len(enc.update(b"a" * 17)) == 17
    assert enc.finalize() == b""


def test_reset_nonce_checks():
    ctr = Cipher(algorithms.AES(KEY), modes.CTR(bytes(16))).encryptor()
    with pytest.raises(ValueError, match="16 bytes"):
        ctr.reset_nonce(bytes(12))
    with pytest.raises(TypeError):
        ctr.reset_nonce("n" * 16)
    first = ctr.update(b"x" * 40)
    ctr.reset_nonce(bytes(16))
    assert ctr.update(b"x" * 40) == first
    cbc = Cipher(algorithms.AES(KEY), modes.CBC(bytes(16))).encryptor()
    with pytest.raises(UnsupportedAlgorithm, match="resetting the nonce"):
        cbc.reset_nonce(bytes(16))
    chacha = Cipher(algorithms.ChaCha20(bytes(32), bytes(16)), None).decryptor()
    first = chacha.update(b"y" * 100)
    chacha.reset_nonce(bytes(16))
    assert chacha.update(b"y" * 100) == first


def test_contexts_free_their_openssl_state():
    ctx = Cipher(algorithms.AES(KEY), modes.CBC(bytes(16))).encryptor()
    ctx.update(b"a" * 32)
    ctx.finalize()
    assert ctx._ctx is None
    # A context dropped without finalize is freed by the GC (no leak, no crash).
    for _ in range(1000):
        Cipher(algorithms.AES(KEY), modes.GCM(IV12)).encryptor().update(b"abc")


def test_algorithms_are_fetched_once():
    Cipher(algorithms.AES(KEY), modes.OFB(bytes(16))).encryptor()
    cached = tls.ciphers.base._fetched["AES-128-OFB"]
    Cipher(algorithms.AES(KEY), modes.OFB(bytes(16))).decryptor()
    assert tls.ciphers.base._fetched["AES-128-OFB"] == cached


def test_cipher_is_subscriptable_like_cryptography():
    assert Cipher[modes.GCM] is Cipher
    cipher = Cipher(algorithms.AES(KEY), modes.ECB(), backend=None)
    assert cipher.mode.name == "ECB" and cipher.algorithm.key == KEY


def test_foreign_algorithm_and_mode_subclasses_are_unsupported():
    class Rot13(algorithms.CipherAlgorithm):
        name = "rot13"
        key_sizes = frozenset([128])
        key_size = 128
        key = bytes(16)

    class Backwards(modes.Mode):
        name = "backwards"

        def validate_for_algorithm(self, algorithm):
            pass

    with pytest.raises(UnsupportedAlgorithm, match="rot13"):
        Cipher(Rot13(), None).encryptor()
    with pytest.raises(UnsupportedAlgorithm, match="AES in backwards mode"):
        Cipher(algorithms.AES(KEY), Backwards()).decryptor()
    assert_queue_clean()
