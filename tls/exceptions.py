"""Exceptions of the primitive APIs, named as in ``cryptography.exceptions``.

``OpenSSLError`` (a ``ValueError``) is what an unexpected OpenSSL failure raises;
it carries the drained error queue.
"""

from tls._binding import InternalError, OpenSSLError


class UnsupportedAlgorithm(Exception):
    """The loaded OpenSSL (its providers) does not offer this algorithm or parameter."""


class AlreadyFinalized(Exception):
    """The context was finalized; it cannot be used any more."""


class AlreadyUpdated(Exception):
    """Data was already processed; this call must come before the first update."""


class NotYetFinalized(Exception):
    """The value (e.g. a GCM tag) exists only after ``finalize()``."""


class InvalidTag(Exception):
    """Authentication failed: the ciphertext, tag, nonce or associated data is not genuine."""


class InvalidKey(Exception):
    """A derived key did not match the expected one."""


__all__ = [
    "AlreadyFinalized",
    "AlreadyUpdated",
    "InternalError",
    "InvalidKey",
    "InvalidTag",
    "NotYetFinalized",
    "OpenSSLError",
    "UnsupportedAlgorithm",
]
