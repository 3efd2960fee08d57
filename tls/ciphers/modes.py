"""Block cipher modes, named and validated as in ``cryptography.hazmat.primitives.ciphers.modes``.

``validate_for_algorithm`` runs when a ``Cipher`` is built; whether the loaded
OpenSSL offers the (algorithm, mode) pair is decided when a context is created.
"""

from __future__ import annotations

import abc

from tls.ciphers.algorithms import AES128, AES256, BlockCipherAlgorithm, CipherAlgorithm, _byte_length
from tls.exceptions import UnsupportedAlgorithm

__all__ = [
    "CBC",
    "CFB",
    "CFB8",
    "CTR",
    "ECB",
    "GCM",
    "OFB",
    "XTS",
    "Mode",
    "ModeWithAuthenticationTag",
    "ModeWithInitializationVector",
    "ModeWithNonce",
    "ModeWithTweak",
]


class Mode(metaclass=abc.ABCMeta):
    @property
    @abc.abstractmethod
    def name(self) -> str:
        """A string naming this mode (e.g. "ECB", "CBC")."""

    @abc.abstractmethod
    def validate_for_algorithm(self, algorithm: CipherAlgorithm) -> None:
        """Check the invariants of this (mode, algorithm) combination."""


class ModeWithInitializationVector(Mode):
    @property
    @abc.abstractmethod
    def initialization_vector(self):
        """The initialization vector of this mode."""


class ModeWithTweak(Mode):
    @property
    @abc.abstractmethod
    def tweak(self):
        """The tweak of this mode."""


class ModeWithNonce(Mode):
    @property
    @abc.abstractmethod
    def nonce(self):
        """The nonce of this mode."""


class ModeWithAuthenticationTag(Mode):
    @property
    @abc.abstractmethod
    def tag(self):
        """The tag given to the constructor (for decryption), or None."""


def _check_aes_key_length(self, algorithm):
    if algorithm.key_size > 256 and algorithm.name == "AES":
        raise ValueError("Only 128, 192, and 256 bit keys are allowed for this AES mode")


def _require_block_cipher(name, algorithm):
    if not isinstance(algorithm, BlockCipherAlgorithm):
        raise UnsupportedAlgorithm(f"{name} requires a block cipher algorithm")


def _check_iv_and_key_length(self, algorithm):
    _require_block_cipher(self.name, algorithm)
    _check_aes_key_length(self, algorithm)
    iv_len = _byte_length("initialization_vector", self.initialization_vector)
    if iv_len * 8 != algorithm.block_size:
        raise ValueError(
            f"Invalid IV size ({iv_len}) for {self.name}; it must be {algorithm.block_size // 8} bytes "
            f"(the {algorithm.name} block size)."
        )


class _IVMode(ModeWithInitializationVector):
    def __init__(self, initialization_vector):
        _byte_length("initialization_vector", initialization_vector)
        self._initialization_vector = initialization_vector

    @property
    def initialization_vector(self):
        return self._initialization_vector

    validate_for_algorithm = _check_iv_and_key_length


class CBC(_IVMode):
    name = "CBC"


class OFB(_IVMode):
    name = "OFB"


class CFB(_IVMode):
    """CFB with 128-bit feedback (CFB128)."""

    name = "CFB"


class CFB8(_IVMode):
    name = "CFB8"


class ECB(Mode):
    name = "ECB"

    validate_for_algorithm = _check_aes_key_length


class CTR(ModeWithNonce):
    name = "CTR"

    def __init__(self, nonce):
        _byte_length("nonce", nonce)
        self._nonce = nonce

    @property
    def nonce(self):
        return self._nonce

    def validate_for_algorithm(self, algorithm):
        _check_aes_key_length(self, algorithm)
        _require_block_cipher(self.name, algorithm)
        size = _byte_length("nonce", self.nonce)
        if size * 8 != algorithm.block_size:
            raise ValueError(
                f"Invalid nonce size ({size}) for CTR; it must be {algorithm.block_size // 8} bytes "
                f"(the {algorithm.name} block size)."
            )


class XTS(ModeWithTweak):
    name = "XTS"

    def __init__(self, tweak):
        if _byte_length("tweak", tweak) != 16:
            raise ValueError("tweak must be 128-bits (16 bytes)")
        self._tweak = tweak

    @property
    def tweak(self):
        return self._tweak

    def validate_for_algorithm(self, algorithm):
        if isinstance(algorithm, (AES128, AES256)):
            raise TypeError(
                "The AES128 and AES256 classes do not support XTS, please use the standard AES class instead."
            )
        if algorithm.key_size not in (256, 512):
            raise ValueError(
                "The XTS specification requires a 256-bit key for AES-128-XTS and 512-bit key for AES-256-XTS"
            )


class GCM(ModeWithInitializationVector, ModeWithAuthenticationTag):
    """Galois/Counter Mode.  ``tag`` is given for decryption (or later to
    ``finalize_with_tag``); it may be shorter than 16 bytes down to ``min_tag_length``."""

    name = "GCM"
    _MAX_ENCRYPTED_BYTES = (2**39 - 256) // 8
    _MAX_AAD_BYTES = (2**64) // 8

    def __init__(self, initialization_vector, tag=None, min_tag_length=16):
        # OpenSSL 3 accepts GCM IVs of 64 to 1024 bits; cryptography enforces the same range.
        iv_len = _byte_length("initialization_vector", initialization_vector)
        if iv_len < 8 or iv_len > 128:
            raise ValueError("initialization_vector must be between 8 and 128 bytes (64 and 1024 bits).")
        self._initialization_vector = initialization_vector
        if not isinstance(min_tag_length, int) or isinstance(min_tag_length, bool):
            raise TypeError("min_tag_length must be an integer")
        if tag is not None:
            if not isinstance(tag, bytes):
                raise TypeError("tag must be bytes")
            if min_tag_length < 4:
                raise ValueError("min_tag_length must be >= 4")
            if len(tag) < min_tag_length:
                raise ValueError(f"Authentication tag must be {min_tag_length} bytes or longer.")
        self._tag = tag
        self._min_tag_length = min_tag_length

    @property
    def tag(self):
        return self._tag

    @property
    def initialization_vector(self):
        return self._initialization_vector

    def validate_for_algorithm(self, algorithm):
        _check_aes_key_length(self, algorithm)
        _require_block_cipher(self.name, algorithm)
        block_size_bytes = algorithm.block_size // 8
        if self._tag is not None and len(self._tag) > block_size_bytes:
            raise ValueError(f"Authentication tag cannot be more than {block_size_bytes} bytes.")
