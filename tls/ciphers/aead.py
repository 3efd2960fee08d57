"""Authenticated encryption, shaped like ``cryptography.hazmat.primitives.ciphers.aead``.

``AESGCM``, ``AESCCM``, ``AESOCB3``, ``AESSIV``, ``AESGCMSIV`` and ``ChaCha20Poly1305``
take the same arguments, check them the same way and raise the same exceptions as
their ``cryptography`` namesakes; ``encrypt`` returns ciphertext followed by the tag
(AES-SIV: the tag first, as RFC 5297 orders it) and ``decrypt`` returns the plaintext
or raises ``InvalidTag``.  ``encrypt_into`` / ``decrypt_into`` write into a caller's
writable buffer of exactly the result's size and return the number of bytes written;
when authentication fails the buffer is zeroed, so no unauthenticated plaintext
is left in it.

How it is fast: each object keeps two key-scheduled ``EVP_CIPHER_CTX`` (one per
direction, inside a ``TLS_AEAD`` handle, see ``tls/c/cipher.py``); per message only
the nonce is set, and the whole operation (nonce, AAD, data, final, tag) is one C
call.  Threads may share an object: a call that finds its context busy keys a
private one.  ``close()`` frees the OpenSSL objects early; the garbage collector
does otherwise.

Differences from ``cryptography``: AES-GCM, ChaCha20-Poly1305 and AES-OCB3 accept
messages and associated data of any size (``cryptography`` stops at 2**31 - 1
bytes); AES-CCM rejects a message too long for its nonce with ``ValueError`` also
at exactly 2**(8*(15 - len(nonce))) bytes.
"""

from __future__ import annotations

import threading

from tls._binding import clear_errors, ffi, lib, raise_error
from tls.exceptions import InvalidTag, UnsupportedAlgorithm
from tls.random import token_bytes  # keys come from the one RAND_bytes wrapper

__all__ = ["AESCCM", "AESGCM", "AESGCMSIV", "AESOCB3", "AESSIV", "ChaCha20Poly1305"]

_NULL = ffi.NULL
_crypt = lib.tls_aead_crypt
_from_buffer = ffi.from_buffer
_buffer = ffi.buffer
_alloc = ffi.new_allocator(should_clear_after_alloc=False)
_INT_MAX = 2**31 - 1
_BAD_TAG = lib.TLS_AEAD_BAD_TAG
_TOO_LONG = lib.TLS_AEAD_TOO_LONG
_CLOSED = lib.TLS_AEAD_CLOSED
_UNLIMITED = 2**64 - 1
# Before OpenSSL 3.5 AES-SIV and AES-GCM-SIV mishandle an empty message.
_EMPTY_SIV_OK = lib.OpenSSL_version_num() >= 0x30500000
# What the OpenSSL handle owns (two AES key schedules, GHASH tables, the key):
# tells PyPy's GC that the small cdata stands for real memory.
_HANDLE_SIZE = 2048

# encrypt()/decrypt() must return bytes: the C call writes into a per-thread scratch
# buffer (a fresh cdata costs 0.16 us on CPython and far more on PyPy for 16 KiB),
# then one copy makes the bytes.  The buffer is popped while in use, so a signal
# handler that encrypts in the middle of a call gets a buffer of its own.
_SCRATCH = 1 << 16
_scratch = threading.local()


def _scratch_stack():
    stack = _scratch.__dict__.get("stack")
    if stack is None:
        stack = _scratch.stack = []
    return stack


# Larger results (up to 4 MiB) also go through a per-thread buffer, kept for the
# next call: a fresh multi-MiB allocation is page-faulted in on every call, which
# cost CPython 80% of AES-GCM's 1 MiB throughput.
_BIG_SCRATCH = 1 << 22


def _big_take(size):
    buf = _scratch.__dict__.pop("big", None)
    if buf is None or len(buf) < size:
        buf = _alloc("unsigned char[]", size)
    return buf


def _big_give(buf):
    if len(buf) <= _BIG_SCRATCH:
        _scratch.big = buf


_fetched = {}
_fetch_lock = threading.Lock()


def _fetch(name):
    """The EVP_CIPHER for ``name``, fetched once per process; None if unavailable."""
    try:
        return _fetched[name]
    except KeyError:
        pass
    with _fetch_lock:
        if name not in _fetched:
            cipher = lib.EVP_CIPHER_fetch(_NULL, name.encode("ascii"), _NULL)
            if cipher == _NULL:
                clear_errors()  # an expected failure: the provider lacks it
                _fetched[name] = None
            else:
                _fetched[name] = ffi.gc(cipher, lib.EVP_CIPHER_free)
        return _fetched[name]


def _as_buffer(obj, name):
    """A zero-copy ``char[]`` view of any buffer; TypeError naming the argument otherwise."""
    try:
        return _from_buffer(obj)
    except TypeError:
        if isinstance(obj, memoryview) and not obj.c_contiguous:  # PyPy's cffi says TypeError
            raise BufferError("Buffer is not contiguous.") from None
        hint = "\nDid you mean to pass a bytestring instead?" if isinstance(obj, str) else ""
        message = f"argument '{name}': Cannot convert \"{type(obj)}\" instance to a buffer.{hint}"
        raise TypeError(message) from None


def _as_writable(obj):
    try:
        return _from_buffer(obj, require_writable=True)
    except (TypeError, BufferError):
        # cffi's wording differs between CPython and PyPy: say it as cryptography does
        try:
            view = memoryview(obj)
        except TypeError:
            raise TypeError(f"argument 'buf': Cannot convert \"{type(obj)}\" instance to a buffer.") from None
        if view.readonly:
            raise TypeError("argument 'buf': Buffer is not writable.") from None
        if not view.c_contiguous:
            raise BufferError("Buffer is not contiguous.") from None
        raise


def _key_bits(bit_length, allowed):
    if not isinstance(bit_length, int):
        raise TypeError(
            f"argument 'bit_length': '{type(bit_length).__name__}' object cannot be interpreted as an integer"
        )
    if bit_length < 0:
        raise OverflowError("can't convert negative int to unsigned")
    if bit_length not in allowed:
        *head, last = (str(b) for b in allowed)
        raise ValueError(f"bit_length must be {', '.join(head)}, or {last}")
    return token_bytes(bit_length // 8)


class _AEAD:
    """What every AEAD class shares: the handle, error mapping, ``close``."""

    __slots__ = ("_h", "__weakref__")
    _name = ""
    _tag = 16
    _one_shot = False  # CCM, SIV and GCM-SIV take each input in one int-sized call

    def _new_handle(self, cipher_name, mode, key, keylen, taglen=16, max_data=_UNLIMITED):
        cipher = _fetch(cipher_name)
        if cipher is None:
            raise UnsupportedAlgorithm(f"{self._algorithm} is not supported by this version of OpenSSL")
        h = lib.tls_aead_new(cipher, mode, key, keylen, taglen, max_data)
        if h == _NULL:
            raise_error(f"{self._name}: cannot set up {cipher_name}")
        self._h = ffi.gc(h, lib.tls_aead_free, size=_HANDLE_SIZE)

    def close(self):
        """Free the OpenSSL context now (the object cannot be used afterwards)."""
        lib.tls_aead_close(self._h)

    def _fail(self, rc, encrypting):
        if rc == _BAD_TAG:
            raise InvalidTag()
        if rc == _TOO_LONG:
            if self._one_shot:
                raise OverflowError("Data or associated data too long. Max 2**31 - 1 bytes")
            raise ValueError(f"Data too long for {self._algorithm} (max {self._max_data} bytes)")
        if rc == _CLOSED:
            raise ValueError(f"this {self._name} object was closed")
        raise_error(f"{self._name} {'encryption' if encrypting else 'decryption'} failed")

    def __repr__(self):
        return f"<{type(self).__module__}.{type(self).__name__} object at {id(self):#x}>"


def _nonce_methods(lo, hi, message, check_length=None):
    """encrypt/decrypt/encrypt_into/decrypt_into for the AEADs that take a nonce.

    The methods are closures over this AEAD's constants, so the hot path reads no
    class attributes; ``check_length(nonce_len, data_len)`` adds a mode's own limit.
    """

    def encrypt(self, nonce, data, associated_data):
        if type(nonce) is not bytes:
            nonce = _as_buffer(nonce, "nonce")
        nlen = len(nonce)
        if nlen < lo or nlen > hi:
            raise ValueError(message)
        if type(data) is not bytes:
            data = _as_buffer(data, "data")
        n = len(data)
        if associated_data is None:
            aad = _NULL
            alen = 0
        else:
            aad = associated_data
            if type(aad) is not bytes:
                aad = _as_buffer(aad, "associated_data")
            alen = len(aad)
        if check_length is not None:
            check_length(self, nlen, n, alen, True)
        size = n + self._tag
        if size > _SCRATCH:
            out = _big_take(size)
            rc = _crypt(self._h, 1, nonce, nlen, aad, alen, data, n, out)
            if rc != 1:
                _big_give(out)
                self._fail(rc, True)
            result = _buffer(out, size)[:]
            _big_give(out)
            return result
        try:
            stack = _scratch.stack
        except AttributeError:
            stack = _scratch_stack()
        out = stack.pop() if stack else _alloc("unsigned char[]", _SCRATCH)
        rc = _crypt(self._h, 1, nonce, nlen, aad, alen, data, n, out)
        if rc != 1:
            stack.append(out)
            self._fail(rc, True)
        result = _buffer(out, size)[:]
        stack.append(out)
        return result

    def decrypt(self, nonce, data, associated_data):
        if type(nonce) is not bytes:
            nonce = _as_buffer(nonce, "nonce")
        nlen = len(nonce)
        if nlen < lo or nlen > hi:
            raise ValueError(message)
        if type(data) is not bytes:
            data = _as_buffer(data, "data")
        n = len(data)
        if associated_data is None:
            aad = _NULL
            alen = 0
        else:
            aad = associated_data
            if type(aad) is not bytes:
                aad = _as_buffer(aad, "associated_data")
            alen = len(aad)
        size = n - self._tag
        if size < 0:
            raise InvalidTag()
        if check_length is not None:
            check_length(self, nlen, size, alen, False)
        if size > _SCRATCH:
            out = _big_take(size)
            rc = _crypt(self._h, 0, nonce, nlen, aad, alen, data, n, out)
            if rc != 1:
                _big_give(out)
                self._fail(rc, False)
            result = _buffer(out, size)[:]
            _big_give(out)
            return result
        try:
            stack = _scratch.stack
        except AttributeError:
            stack = _scratch_stack()
        out = stack.pop() if stack else _alloc("unsigned char[]", _SCRATCH)
        rc = _crypt(self._h, 0, nonce, nlen, aad, alen, data, n, out)
        if rc != 1:
            stack.append(out)  # the C helper zeroed what it wrote
            self._fail(rc, False)
        result = _buffer(out, size)[:]
        stack.append(out)
        return result

    def encrypt_into(self, nonce, data, associated_data, buf):
        if type(nonce) is not bytes:
            nonce = _as_buffer(nonce, "nonce")
        if type(data) is not bytes:
            data = _as_buffer(data, "data")
        if associated_data is None:
            aad = _NULL
            alen = 0
        else:
            aad = associated_data
            if type(aad) is not bytes:
                aad = _as_buffer(aad, "associated_data")
            alen = len(aad)
        out = _as_writable(buf)
        nlen = len(nonce)
        if nlen < lo or nlen > hi:
            raise ValueError(message)
        n = len(data)
        if check_length is not None:
            check_length(self, nlen, n, alen, True)
        size = n + self._tag
        if len(out) != size:
            raise ValueError(f"buffer must be {size} bytes")
        rc = _crypt(self._h, 1, nonce, nlen, aad, alen, data, n, out)
        if rc != 1:
            self._fail(rc, True)
        return size

    def decrypt_into(self, nonce, data, associated_data, buf):
        if type(nonce) is not bytes:
            nonce = _as_buffer(nonce, "nonce")
        if type(data) is not bytes:
            data = _as_buffer(data, "data")
        if associated_data is None:
            aad = _NULL
            alen = 0
        else:
            aad = associated_data
            if type(aad) is not bytes:
                aad = _as_buffer(aad, "associated_data")
            alen = len(aad)
        out = _as_writable(buf)
        nlen = len(nonce)
        if nlen < lo or nlen > hi:
            raise ValueError(message)
        size = len(data) - self._tag
        if size < 0:
            raise InvalidTag()
        if check_length is not None:
            check_length(self, nlen, size, alen, False)
        if len(out) != size:
            raise ValueError(f"buffer must be {size} bytes")
        rc = _crypt(self._h, 0, nonce, nlen, aad, alen, data, size + self._tag, out)
        if rc != 1:
            self._fail(rc, False)
        return size

    encrypt.__doc__ = "Encrypt and authenticate ``data``; return ciphertext followed by the tag."
    decrypt.__doc__ = "Authenticate and decrypt ``data`` (ciphertext, tag); raise InvalidTag if not genuine."
    encrypt_into.__doc__ = "Like encrypt(), into ``buf`` (len(data) + tag bytes); return the bytes written."
    decrypt_into.__doc__ = (
        "Like decrypt(), into ``buf`` (exactly len(data) - tag bytes); return the bytes written. "
        "On InvalidTag the buffer is zeroed."
    )
    return encrypt, decrypt, encrypt_into, decrypt_into


def _one_shot_length(self, nlen, n, alen, encrypting):
    if n > _INT_MAX or alen > _INT_MAX:
        raise OverflowError("Data or associated data too long. Max 2**31 - 1 bytes")
    if encrypting and n == 0 and not _EMPTY_SIV_OK:
        raise ValueError("data must not be zero length")


def _ccm_length(self, nlen, n, alen, encrypting):
    if n > _INT_MAX or alen > _INT_MAX:
        raise OverflowError("Data or associated data too long. Max 2**31 - 1 bytes")
    # RFC 3610 2.1: the length field has 15 - len(nonce) bytes.
    if n >= 1 << (8 * (15 - nlen)):
        raise ValueError("Data too long for nonce")


class AESGCM(_AEAD):
    """AES in Galois/Counter Mode (NIST SP 800-38D): 128/192/256-bit keys, 8- to 128-byte nonces."""

    __slots__ = ()
    _name = "AESGCM"
    _algorithm = "AES-GCM"
    _max_data = 2**36 - 32

    def __init__(self, key):
        key = _as_buffer(key, "key")
        keylen = len(key)
        if keylen not in (16, 24, 32):
            raise ValueError("AESGCM key must be 128, 192, or 256 bits.")
        self._new_handle(f"AES-{keylen * 8}-GCM", lib.TLS_AEAD_GCM, key, keylen, 16, self._max_data)

    @staticmethod
    def generate_key(bit_length):
        """A random key of ``bit_length`` (128, 192 or 256) bits."""
        return _key_bits(bit_length, (128, 192, 256))

    encrypt, decrypt, encrypt_into, decrypt_into = _nonce_methods(
        8, 128, "Nonce must be between 8 and 128 bytes"
    )


class ChaCha20Poly1305(_AEAD):
    """ChaCha20-Poly1305 (RFC 8439): 256-bit key, 12-byte nonce."""

    __slots__ = ()
    _name = "ChaCha20Poly1305"
    _algorithm = "ChaCha20Poly1305"
    _max_data = (2**32 - 1) * 64  # the 32-bit block counter; block 0 keys Poly1305

    def __init__(self, key):
        key = _as_buffer(key, "key")
        if len(key) != 32:
            raise ValueError("ChaCha20Poly1305 key must be 32 bytes.")
        self._new_handle("ChaCha20-Poly1305", lib.TLS_AEAD_CHACHA20_POLY1305, key, 32, 16, self._max_data)

    @staticmethod
    def generate_key():
        """A random 256-bit key."""
        return token_bytes(32)

    encrypt, decrypt, encrypt_into, decrypt_into = _nonce_methods(12, 12, "Nonce must be 12 bytes")


class AESOCB3(_AEAD):
    """AES in OCB3 mode (RFC 7253): 128/192/256-bit keys, 12- to 15-byte nonces, 16-byte tag."""

    __slots__ = ()
    _name = "AESOCB3"
    _algorithm = "AES-OCB3"

    def __init__(self, key):
        key = _as_buffer(key, "key")
        keylen = len(key)
        if keylen not in (16, 24, 32):
            raise ValueError("AESOCB3 key must be 128, 192, or 256 bits.")
        self._new_handle(f"AES-{keylen * 8}-OCB", lib.TLS_AEAD_OCB, key, keylen)

    @staticmethod
    def generate_key(bit_length):
        """A random key of ``bit_length`` (128, 192 or 256) bits."""
        return _key_bits(bit_length, (128, 192, 256))

    encrypt, decrypt, encrypt_into, decrypt_into = _nonce_methods(
        12, 15, "Nonce must be between 12 and 15 bytes"
    )


class AESCCM(_AEAD):
    """AES in CCM mode (RFC 3610, NIST SP 800-38C): 7- to 13-byte nonces, tags of 4-16 even bytes.

    A nonce of ``len(nonce)`` bytes allows messages shorter than 2**(8*(15 - len(nonce))) bytes
    (and never over 2**31 - 1: CCM takes the message in one call).
    """

    __slots__ = ("_tag",)
    _name = "AESCCM"
    _algorithm = "AES-CCM"
    _one_shot = True

    def __init__(self, key, tag_length=16):
        key = _as_buffer(key, "key")
        keylen = len(key)
        if keylen not in (16, 24, 32):
            raise ValueError("AESCCM key must be 128, 192, or 256 bits.")
        if tag_length is None:
            tag_length = 16
        if not isinstance(tag_length, int):
            kind = type(tag_length).__name__
            raise TypeError(f"argument 'tag_length': '{kind}' object cannot be interpreted as an integer")
        if tag_length < 0:
            raise OverflowError("can't convert negative int to unsigned")
        if tag_length not in (4, 6, 8, 10, 12, 14, 16):
            raise ValueError("Invalid tag_length")
        self._tag = int(tag_length)
        self._new_handle(f"AES-{keylen * 8}-CCM", lib.TLS_AEAD_CCM, key, keylen, self._tag, _INT_MAX)

    @staticmethod
    def generate_key(bit_length):
        """A random key of ``bit_length`` (128, 192 or 256) bits."""
        return _key_bits(bit_length, (128, 192, 256))

    encrypt, decrypt, encrypt_into, decrypt_into = _nonce_methods(
        7, 13, "Nonce must be between 7 and 13 bytes", _ccm_length
    )


class AESGCMSIV(_AEAD):
    """AES-GCM-SIV (RFC 8452): nonce-misuse resistant, 12-byte nonce.  Needs OpenSSL 3.2 or newer."""

    __slots__ = ()
    _name = "AESGCMSIV"
    _algorithm = "AES-GCM-SIV"
    _one_shot = True

    def __init__(self, key):
        key = _as_buffer(key, "key")
        keylen = len(key)
        if keylen not in (16, 24, 32):
            raise ValueError("AES-GCM-SIV key must be 128, 192 or 256 bits.")
        self._new_handle(f"AES-{keylen * 8}-GCM-SIV", lib.TLS_AEAD_GCM_SIV, key, keylen, 16, _INT_MAX)

    @staticmethod
    def generate_key(bit_length):
        """A random key of ``bit_length`` (128, 192 or 256) bits."""
        return _key_bits(bit_length, (128, 192, 256))

    encrypt, decrypt, encrypt_into, decrypt_into = _nonce_methods(
        12, 12, "Nonce must be 12 bytes long", _one_shot_length
    )


class AESSIV(_AEAD):
    """AES-SIV (RFC 5297): deterministic AEAD; a 256/384/512-bit key (two AES keys).

    ``associated_data`` is a list of buffers, each authenticated as its own item (a
    nonce, if used, is simply the last item).  The output is the tag followed by
    the ciphertext.
    """

    __slots__ = ()
    _name = "AESSIV"
    _algorithm = "AES-SIV"
    _one_shot = True

    def __init__(self, key):
        key = _as_buffer(key, "key")
        keylen = len(key)
        if keylen not in (32, 48, 64):
            raise ValueError("AESSIV key must be 256, 384, or 512 bits.")
        self._new_handle(f"AES-{keylen * 4}-SIV", lib.TLS_AEAD_SIV, key, keylen, 16, _INT_MAX)

    @staticmethod
    def generate_key(bit_length):
        """A random key of ``bit_length`` (256, 384 or 512) bits."""
        return _key_bits(bit_length, (256, 384, 512))

    @staticmethod
    def _aad(associated_data):
        if associated_data is None:
            return _NULL, _NULL, 0, ()
        if not isinstance(associated_data, list):
            kind = type(associated_data).__name__
            raise TypeError(f"argument 'associated_data': '{kind}' object is not an instance of 'list'")
        views = [_as_buffer(item, "associated_data") for item in associated_data]
        count = len(views)
        for view in views:
            if len(view) > _INT_MAX:
                raise OverflowError("Data or associated data too long. Max 2**31 - 1 bytes")
        ptrs = ffi.new("const unsigned char *[]", views) if count else _NULL
        lens = ffi.new("size_t[]", [len(v) for v in views]) if count else _NULL
        return ptrs, lens, count, views  # keep the views alive through the call

    def _run(self, enc, data, associated_data, out, size):
        ptrs, lens, count, _keep = self._aad(associated_data)
        rc = lib.tls_aead_crypt_v(self._h, enc, ptrs, lens, count, data, len(data), out)
        if rc != 1:
            self._fail(rc, enc)
        return size

    def encrypt(self, data, associated_data):
        """Return the tag followed by the ciphertext of ``data``."""
        data = _as_buffer(data, "data")
        _one_shot_length(self, 0, len(data), 0, True)
        size = len(data) + 16
        out = _alloc("unsigned char[]", size)
        self._run(1, data, associated_data, out, size)
        return _buffer(out, size)[:]

    def encrypt_into(self, data, associated_data, buf):
        """Like encrypt(), into ``buf`` (exactly len(data) + 16 bytes); return the bytes written."""
        data = _as_buffer(data, "data")
        out = _as_writable(buf)
        _one_shot_length(self, 0, len(data), 0, True)
        size = len(data) + 16
        if len(out) != size:
            raise ValueError(f"buffer must be {size} bytes")
        return self._run(1, data, associated_data, out, size)

    def decrypt(self, data, associated_data):
        """Authenticate and decrypt tag-and-ciphertext ``data``; raise InvalidTag if not genuine."""
        data = _as_buffer(data, "data")
        size = len(data) - 16
        if size < 0:
            raise InvalidTag()
        _one_shot_length(self, 0, size, 0, False)
        out = _alloc("unsigned char[]", size)
        self._run(0, data, associated_data, out, size)
        return _buffer(out, size)[:]

    def decrypt_into(self, data, associated_data, buf):
        """Like decrypt(), into ``buf`` (exactly len(data) - 16 bytes); zeroed on InvalidTag."""
        data = _as_buffer(data, "data")
        out = _as_writable(buf)
        size = len(data) - 16
        if size < 0:
            raise InvalidTag()
        _one_shot_length(self, 0, size, 0, False)
        if len(out) != size:
            raise ValueError(f"buffer must be {size} bytes")
        return self._run(0, data, associated_data, out, size)
