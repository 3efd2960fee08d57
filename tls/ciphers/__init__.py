"""Symmetric ciphers shaped like ``cryptography.hazmat.primitives.ciphers``.

    from tls.ciphers import Cipher, algorithms, modes
    encryptor = Cipher(algorithms.AES(key), modes.CTR(nonce)).encryptor()
    ciphertext = encryptor.update(data) + encryptor.finalize()

The AEAD classes (AESGCM, ChaCha20Poly1305, ...) live in ``tls.ciphers.aead``;
PKCS7 padding in ``tls.ciphers.padding``.
"""

from tls.ciphers import algorithms, modes
from tls.ciphers.algorithms import BlockCipherAlgorithm, CipherAlgorithm
from tls.ciphers.base import (
    AEADCipherContext,
    AEADDecryptionContext,
    AEADEncryptionContext,
    Cipher,
    CipherContext,
)
from tls.exceptions import AlreadyFinalized, AlreadyUpdated, InvalidTag, NotYetFinalized, UnsupportedAlgorithm

__all__ = [
    "AEADCipherContext",
    "AEADDecryptionContext",
    "AEADEncryptionContext",
    "AlreadyFinalized",
    "AlreadyUpdated",
    "BlockCipherAlgorithm",
    "Cipher",
    "CipherAlgorithm",
    "CipherContext",
    "InvalidTag",
    "NotYetFinalized",
    "UnsupportedAlgorithm",
    "algorithms",
    "modes",
]
