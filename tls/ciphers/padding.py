"""PKCS #7 padding, shaped like ``cryptography.hazmat.primitives.padding``.

    padder = PKCS7(128).padder()
    padded = padder.update(data) + padder.finalize()
    unpadder = PKCS7(128).unpadder()
    data = unpadder.update(padded) + unpadder.finalize()

Pure Python: a padder passes data through and only counts it; an unpadder
holds back the last block until ``finalize``.
"""

from __future__ import annotations

import abc
import hmac

from tls.exceptions import AlreadyFinalized

__all__ = ["PKCS7", "PaddingContext"]


class PaddingContext(metaclass=abc.ABCMeta):
    @abc.abstractmethod
    def update(self, data) -> bytes:
        """Pad or unpad ``data``; return what is ready."""

    @abc.abstractmethod
    def finalize(self) -> bytes:
        """Return the rest; the context cannot be used afterwards."""


def _byte_padding_check(block_size):
    if not isinstance(block_size, int) or isinstance(block_size, bool):
        raise TypeError(f"block_size must be an int (in bits), not {type(block_size).__name__}")
    if not (0 <= block_size <= 2040):
        raise ValueError("block_size must be in range(0, 2041).")
    if block_size % 8 != 0:
        raise ValueError("block_size must be a multiple of 8.")
    if block_size == 0:
        raise ValueError("block_size must be at least 8 (bits).")


def _as_bytes(data):
    if type(data) is bytes:
        return data
    if isinstance(data, str):
        raise TypeError("data must be bytes-like, not str (encode it first)")
    try:
        return memoryview(data).tobytes()
    except TypeError:
        raise TypeError(f"data must be bytes-like, not {type(data).__name__}")


class PKCS7:
    """PKCS #7 padding for a cipher whose ``block_size`` is given in bits (8 to 2040)."""

    def __init__(self, block_size):
        _byte_padding_check(block_size)
        self.block_size = block_size

    def padder(self):
        return _PKCS7PaddingContext(self.block_size)

    def unpadder(self):
        return _PKCS7UnpaddingContext(self.block_size)


class _PKCS7PaddingContext(PaddingContext):
    __slots__ = ("_block", "_length", "_done")

    def __init__(self, block_size):
        self._block = block_size // 8
        self._length = 0
        self._done = False

    def update(self, data):
        if self._done:
            raise AlreadyFinalized("Context was already finalized.")
        data = _as_bytes(data)
        self._length += len(data)
        return data

    def finalize(self):
        if self._done:
            raise AlreadyFinalized("Context was already finalized.")
        self._done = True
        pad = self._block - self._length % self._block
        return bytes((pad,)) * pad


class _PKCS7UnpaddingContext(PaddingContext):
    __slots__ = ("_block", "_buffer", "_done")

    def __init__(self, block_size):
        self._block = block_size // 8
        self._buffer = b""
        self._done = False

    def update(self, data):
        if self._done:
            raise AlreadyFinalized("Context was already finalized.")
        buffered = self._buffer + _as_bytes(data) if self._buffer else _as_bytes(data)
        # Hold back the last (possibly padded) block; release every whole block before it.
        ready = (len(buffered) - 1) // self._block * self._block if buffered else 0
        self._buffer = buffered[ready:]
        return buffered[:ready]

    def finalize(self):
        if self._done:
            raise AlreadyFinalized("Context was already finalized.")
        self._done = True
        block, size = self._buffer, self._block
        self._buffer = b""
        if len(block) != size:
            raise ValueError("Invalid padding bytes.")
        pad = block[-1]
        # Compare the whole pad region without an early exit on the first wrong byte.
        valid = 0 < pad <= size
        expected = bytes((pad,)) * pad if valid else b"\x00"
        tail = block[size - pad :] if valid else b"\x01"
        if not hmac.compare_digest(tail, expected) or not valid:
            raise ValueError("Invalid padding bytes.")
        return block[: size - pad]
