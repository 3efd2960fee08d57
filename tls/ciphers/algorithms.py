"""Cipher algorithms, named and validated as in ``cryptography.hazmat.primitives.ciphers.algorithms``.

An algorithm object only holds and checks a key; OpenSSL is asked for the
cipher (``EVP_CIPHER_fetch``) when a ``Cipher`` creates a context, so an
algorithm the loaded providers lack (SM4 in a FIPS-only setup, say) raises
``UnsupportedAlgorithm`` there, exactly like ``cryptography``.
"""

from __future__ import annotations

import abc

__all__ = [
    "AES",
    "AES128",
    "AES256",
    "BlockCipherAlgorithm",
    "Camellia",
    "ChaCha20",
    "CipherAlgorithm",
    "SM4",
]


def _byte_length(name, value):
    """``len`` in bytes of a bytes-like ``value``; TypeError naming ``name`` for anything else."""
    if isinstance(value, (bytes, bytearray)):
        return len(value)
    try:
        view = memoryview(value)
    except TypeError:
        raise TypeError(f"{name} must be bytes-like")
    return view.nbytes


def _verify_key_size(algorithm, key):
    bits = _byte_length("key", key) * 8
    if bits not in algorithm.key_sizes:
        allowed = getattr(algorithm, "_allowed_text", None)
        if allowed is None:
            allowed = ", ".join(map(str, sorted(algorithm.key_sizes)))
        raise ValueError(
            f"Invalid key size ({bits}) for {algorithm.name}; allowed key sizes in bits: {allowed}."
        )
    return key


class CipherAlgorithm(metaclass=abc.ABCMeta):
    """A symmetric cipher: ``name``, ``key_sizes`` (bits) and ``key_size`` (bits)."""

    @property
    @abc.abstractmethod
    def name(self) -> str:
        """A string naming this algorithm (e.g. "AES", "camellia")."""

    @property
    @abc.abstractmethod
    def key_sizes(self) -> frozenset:
        """Valid key sizes for this algorithm in bits."""

    @property
    @abc.abstractmethod
    def key_size(self) -> int:
        """The size of the key being used, in bits."""


class BlockCipherAlgorithm(CipherAlgorithm):
    """A block cipher: also ``block_size`` (bits) and ``key``."""

    key: bytes

    @property
    @abc.abstractmethod
    def block_size(self) -> int:
        """The size of a block in bits."""


class AES(BlockCipherAlgorithm):
    name = "AES"
    block_size = 128
    # 512 is only for AES-256-XTS, whose key is two AES-256 keys.
    key_sizes = frozenset([128, 192, 256, 512])
    _allowed_text = "128, 192, 256 (512 for XTS only)"

    def __init__(self, key):
        self.key = _verify_key_size(self, key)

    @property
    def key_size(self) -> int:
        return _byte_length("key", self.key) * 8


class AES128(BlockCipherAlgorithm):
    name = "AES"
    block_size = 128
    key_sizes = frozenset([128])
    key_size = 128

    def __init__(self, key):
        self.key = _verify_key_size(self, key)


class AES256(BlockCipherAlgorithm):
    name = "AES"
    block_size = 128
    key_sizes = frozenset([256])
    key_size = 256

    def __init__(self, key):
        self.key = _verify_key_size(self, key)


class Camellia(BlockCipherAlgorithm):
    name = "camellia"
    block_size = 128
    key_sizes = frozenset([128, 192, 256])

    def __init__(self, key):
        self.key = _verify_key_size(self, key)

    @property
    def key_size(self) -> int:
        return _byte_length("key", self.key) * 8


class SM4(BlockCipherAlgorithm):
    name = "SM4"
    block_size = 128
    key_sizes = frozenset([128])

    def __init__(self, key):
        self.key = _verify_key_size(self, key)

    @property
    def key_size(self) -> int:
        return _byte_length("key", self.key) * 8


class ChaCha20(CipherAlgorithm):
    """ChaCha20 stream cipher; ``nonce`` is 16 bytes: a 4-byte little-endian block
    counter followed by the 12-byte RFC 7539 nonce (OpenSSL's and cryptography's layout)."""

    name = "ChaCha20"
    key_sizes = frozenset([256])

    def __init__(self, key, nonce):
        self.key = _verify_key_size(self, key)
        if _byte_length("nonce", nonce) != 16:
            raise ValueError("nonce must be 128-bits (16 bytes)")
        self._nonce = nonce

    @property
    def nonce(self):
        return self._nonce

    @property
    def key_size(self) -> int:
        return _byte_length("key", self.key) * 8
