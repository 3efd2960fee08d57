"""Randomness from OpenSSL's CSPRNG (``RAND_bytes``), shaped like :mod:`secrets`.

``SystemRandom`` is a :class:`random.Random` subclass like
``random.SystemRandom``, drawing from ``RAND_bytes`` instead of ``os.urandom``.
"""

from __future__ import annotations

import base64 as _base64
import binascii as _binascii
import operator as _operator
import random as _random

from tls._binding import ffi, lib, raise_error

__all__ = [
    "SystemRandom",
    "choice",
    "randbelow",
    "randbits",
    "token_bytes",
    "token_hex",
    "token_urlsafe",
]

DEFAULT_ENTROPY = 32  # number of bytes to return by default, as in secrets

_CHUNK = 2**30  # RAND_bytes takes an int: larger requests are filled piecewise
_RECIP_BPF = 2.0**-53  # 1 / 2**BPF, BPF = 53 bits of a double
# Uninitialised allocation: every byte is overwritten by RAND_bytes.
_alloc = ffi.new_allocator(should_clear_after_alloc=False)


def _rand_bytes(n):
    """``n`` bytes from RAND_bytes; ``n`` is an int >= 0."""
    if n == 0:
        return b""
    out = _alloc("unsigned char[]", n)
    offset = 0
    while offset < n:
        chunk = min(n - offset, _CHUNK)
        if lib.RAND_bytes(out + offset, chunk) != 1:
            raise_error("RAND_bytes failed (the random generator could not be seeded)", OSError)
        offset += chunk
    return ffi.buffer(out, n)[:]


def _urandom(n):
    # os.urandom's argument rules: an index, non-negative.
    n = _operator.index(n)
    if n < 0:
        raise ValueError("negative argument not allowed")
    return _rand_bytes(n)


class SystemRandom(_random.Random):
    """A ``random.Random`` drawing from OpenSSL's CSPRNG, like ``random.SystemRandom``.

    It has no state: ``seed`` is ignored, ``getstate``/``setstate`` raise
    NotImplementedError.
    """

    def random(self):
        """Get the next random number in the range 0.0 <= X < 1.0."""
        return (int.from_bytes(_rand_bytes(7), "big") >> 3) * _RECIP_BPF

    def getrandbits(self, k):
        """getrandbits(k) -> x.  Generates an int with k random bits."""
        if k < 0:
            raise ValueError("number of bits must be non-negative")
        numbytes = (k + 7) // 8  # bits / 8 and rounded up
        x = int.from_bytes(_urandom(numbytes), "big")
        return x >> (numbytes * 8 - k)  # trim excess bits

    def randbytes(self, n):
        """Generate n random bytes."""
        return _urandom(n)

    def seed(self, *args, **kwds):
        "Stub method.  Not used for a system random number generator."
        return None

    def _notimplemented(self, *args, **kwds):
        "Method should not be called for a system random number generator."
        raise NotImplementedError("System entropy source does not have state.")

    getstate = setstate = _notimplemented


_sysrand = SystemRandom()

randbits = _sysrand.getrandbits
choice = _sysrand.choice


def randbelow(exclusive_upper_bound):
    """Return a random int in the range [0, n)."""
    if exclusive_upper_bound <= 0:
        raise ValueError("Upper bound must be positive.")
    return _sysrand._randbelow(exclusive_upper_bound)


def token_bytes(nbytes=None):
    """Return a random byte string containing *nbytes* bytes (default 32)."""
    if nbytes is None:
        nbytes = DEFAULT_ENTROPY
    return _urandom(nbytes)


def token_hex(nbytes=None):
    """Return a random text string, in hexadecimal: two digits per random byte."""
    return _binascii.hexlify(token_bytes(nbytes)).decode("ascii")


def token_urlsafe(nbytes=None):
    """Return a random URL-safe text string, in Base64 encoding, from *nbytes* random bytes."""
    tok = token_bytes(nbytes)
    return _base64.urlsafe_b64encode(tok).rstrip(b"=").decode("ascii")
