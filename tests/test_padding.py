"""tls.ciphers.padding.PKCS7: fixed answers, round trips, bad padding, and cryptography as reference."""

import array

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tls.ciphers import AlreadyFinalized
from tls.ciphers.padding import PKCS7, PaddingContext

NO_CRYPTOGRAPHY = (
    "cryptography (the differential reference) is not installed for this interpreter; "
    "the other padding tests still run"
)


def pad(block_size, data, splits=()):
    padder = PKCS7(block_size).padder()
    out, start = [], 0
    for cut in sorted(splits) + [len(data)]:
        out.append(padder.update(data[start:cut]))
        start = cut
    return b"".join(out) + padder.finalize()


def unpad(block_size, data, splits=()):
    unpadder = PKCS7(block_size).unpadder()
    out, start = [], 0
    for cut in sorted(splits) + [len(data)]:
        out.append(unpadder.update(data[start:cut]))
        start = cut
    return b"".join(out) + unpadder.finalize()


@pytest.mark.parametrize(
    "block_size, data, padded",
    [
        (128, b"", b"\x10" * 16),
        (128, b"1111111111", b"1111111111\x06\x06\x06\x06\x06\x06"),
        (128, b"111111111111111122222222222222", b"111111111111111122222222222222\x02\x02"),
        (128, b"1" * 16, b"1" * 16 + b"\x10" * 16),
        (64, b"abc", b"abc\x05\x05\x05\x05\x05"),
        (8, b"abc", b"abc\x01"),
        (2040, b"", b"\xff" * 255),
    ],
)
def test_known_answers(block_size, data, padded):
    assert pad(block_size, data) == padded
    assert unpad(block_size, padded) == data


@pytest.mark.parametrize(
    "block_size, padded",
    [
        (128, b"1111111111111111"),  # last byte 0x31 > 16
        (128, b"111111111111111\x00"),  # a zero pad length
        (128, b"11111111111111\x01\x02"),  # pad bytes disagree
        (128, b"1111111111111\x03\x03\x02"),
        (128, b"1111111111111111\x10"),  # not a whole number of blocks
        (128, b"111111111111111"),  # short
        (128, b""),  # nothing at all
        (64, b"\x09" * 8),  # pad length longer than the block
        (128, b"\x11" * 16),
    ],
)
def test_invalid_padding(block_size, padded):
    unpadder = PKCS7(block_size).unpadder()
    unpadder.update(padded)
    with pytest.raises(ValueError, match="Invalid padding bytes."):
        unpadder.finalize()
    with pytest.raises(AlreadyFinalized):
        unpadder.finalize()


@pytest.mark.parametrize(
    "block_size, exc, message",
    [
        (-8, ValueError, r"range\(0, 2041\)"),
        (2048, ValueError, r"range\(0, 2041\)"),
        (7, ValueError, "multiple of 8"),
        (0, ValueError, "at least 8"),
        ("8", TypeError, "int"),
        (8.0, TypeError, "int"),
        (None, TypeError, "int"),
    ],
)
def test_bad_block_size(block_size, exc, message):
    with pytest.raises(exc, match=message):
        PKCS7(block_size)


def test_bad_data_and_state():
    for ctx in (PKCS7(128).padder(), PKCS7(128).unpadder()):
        assert isinstance(ctx, PaddingContext)
        with pytest.raises(TypeError, match="str"):
            ctx.update("text")
        with pytest.raises(TypeError, match="bytes-like"):
            ctx.update(5)
        with pytest.raises(TypeError, match="bytes-like"):
            ctx.update(None)
    padder = PKCS7(128).padder()
    padder.update(b"abc")
    padder.finalize()
    with pytest.raises(AlreadyFinalized):
        padder.update(b"")
    with pytest.raises(AlreadyFinalized):
        padder.finalize()
    unpadder = PKCS7(128).unpadder()
    unpadder.update(b"a" * 15 + b"\x01")
    assert unpadder.finalize() == b"a" * 15
    with pytest.raises(AlreadyFinalized):
        unpadder.update(b"")


def test_any_buffer_type():
    data = b"0123456789"
    for wrap in (bytes, bytearray, memoryview, lambda b: array.array("B", b)):
        padder = PKCS7(128).padder()
        padded = padder.update(wrap(data)) + padder.finalize()
        assert padded == pad(128, data)
        unpadder = PKCS7(128).unpadder()
        assert unpadder.update(wrap(padded)) + unpadder.finalize() == data
    padder = PKCS7(128).padder()
    padded = padder.update(array.array("I", [1, 2, 3])) + padder.finalize()
    assert len(padded) == 16 and padded[12:] == b"\x04" * 4


def test_unpadder_holds_back_only_the_last_block():
    unpadder = PKCS7(128).unpadder()
    assert unpadder.update(b"a" * 16) == b""
    assert unpadder.update(b"b" * 16) == b"a" * 16
    assert unpadder.update(b"c" * 15 + b"\x01") == b"b" * 16
    assert unpadder.finalize() == b"c" * 15


block_sizes = st.sampled_from([8, 64, 128, 256, 2040])


@given(block_sizes, st.binary(max_size=600), st.lists(st.integers(0, 600), max_size=5))
def test_round_trip(block_size, data, splits):
    splits = [min(s, len(data)) for s in splits]
    padded = pad(block_size, data, splits)
    size = block_size // 8
    assert len(padded) % size == 0 and 0 < len(padded) - len(data) <= size
    assert padded == pad(block_size, data)
    assert unpad(block_size, padded, [min(s, len(padded)) for s in splits]) == data


@given(block_sizes, st.binary(max_size=300), st.lists(st.integers(0, 600), max_size=4))
def test_differential_against_cryptography(block_size, data, splits):
    padding = pytest.importorskip("cryptography.hazmat.primitives.padding", reason=NO_CRYPTOGRAPHY)
    padder = padding.PKCS7(block_size).padder()
    reference = padder.update(data) + padder.finalize()
    assert pad(block_size, data, [min(s, len(data)) for s in splits]) == reference
    # Unpadding arbitrary input: both accept or both reject, with the same result.
    for candidate in (reference, data):
        unpadder = padding.PKCS7(block_size).unpadder()
        try:
            expected = unpadder.update(candidate) + unpadder.finalize()
        except ValueError:
            with pytest.raises(ValueError, match="Invalid padding bytes."):
                unpad(block_size, candidate)
        else:
            assert unpad(block_size, candidate, [min(s, len(candidate)) for s in splits]) == expected
