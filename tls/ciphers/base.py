"""``Cipher`` and its contexts over OpenSSL's EVP_CIPHER API.

One ``EVP_CIPHER`` per OpenSSL name is fetched once and cached for the life of
the process.  Each context owns one key-scheduled ``EVP_CIPHER_CTX`` (freed at
``finalize`` and, as a fallback, by the GC) and one reusable output buffer, so
``update`` allocates nothing on the C side per call; ``update_into`` writes
straight into the caller's buffer.
"""

from __future__ import annotations

import threading

from tls._binding import clear_errors, consume_errors, ffi, lib, openssl_assert, raise_error
from tls.ciphers import modes
from tls.ciphers.algorithms import (
    AES,
    AES128,
    AES256,
    SM4,
    Camellia,
    ChaCha20,
    CipherAlgorithm,
    _byte_length,
)
from tls.exceptions import AlreadyFinalized, AlreadyUpdated, InvalidTag, NotYetFinalized, UnsupportedAlgorithm

__all__ = [
    "AEADCipherContext",
    "AEADDecryptionContext",
    "AEADEncryptionContext",
    "Cipher",
    "CipherContext",
]

# EVP_CipherUpdate takes an ``int`` length: larger inputs go through in chunks of this size
# (a multiple of every block size, so block modes see whole blocks at chunk boundaries).
_CHUNK = 1 << 30
# Output buffers up to this size are kept by the context and reused; larger ones are one-off.
_KEEP_SCRATCH = (1 << 20) + 64
# Scratch buffers need not be zeroed: OpenSSL writes before Python reads.
_alloc = ffi.new_allocator(should_clear_after_alloc=False)
_XTS_MAX = 16 << 20  # OpenSSL refuses XTS data units over 2**20 blocks
_CTX_SIZE = 1024  # rough bytes OpenSSL allocates per EVP_CIPHER_CTX (provider context, key schedule)

_fetched = {}
_fetch_lock = threading.Lock()


def _fetch(name):
    """The cached ``EVP_CIPHER`` for an OpenSSL name, or NULL when the providers lack it."""
    cipher = _fetched.get(name)
    if cipher is None:
        with _fetch_lock:
            cipher = _fetched.get(name)
            if cipher is None:
                cipher = lib.EVP_CIPHER_fetch(ffi.NULL, name.encode("ascii"), ffi.NULL)
                if cipher == ffi.NULL:
                    clear_errors()  # an expected failure: leave the queue clean
                _fetched[name] = cipher
    return cipher


_MODE_SUFFIX = (
    (modes.CBC, "CBC"),
    (modes.CTR, "CTR"),
    (modes.ECB, "ECB"),
    (modes.OFB, "OFB"),
    (modes.CFB8, "CFB8"),
    (modes.CFB, "CFB"),
    (modes.XTS, "XTS"),
    (modes.GCM, "GCM"),
)


def _openssl_name(algorithm, mode):
    """OpenSSL's name for (algorithm, mode), or None when tls knows no such cipher."""
    if isinstance(algorithm, ChaCha20):
        return "ChaCha20" if mode is None else None
    if mode is None:
        return None
    suffix = next((s for cls, s in _MODE_SUFFIX if isinstance(mode, cls)), None)
    if suffix is None:
        return None
    bits = algorithm.key_size // 2 if suffix == "XTS" else algorithm.key_size
    if isinstance(algorithm, (AES, AES128, AES256)):
        return f"AES-{bits}-{suffix}"
    if isinstance(algorithm, Camellia):
        return f"CAMELLIA-{bits}-{suffix}"
    if isinstance(algorithm, SM4):
        return f"SM4-{suffix}"
    return None


def _input(data, name="data"):
    """A pointer OpenSSL can read and its length; bytes pass through uncopied."""
    if type(data) is bytes:
        return data, len(data)
    if isinstance(data, str):
        raise TypeError(f"{name} must be bytes-like, not str (encode it first)")
    if type(data) is memoryview and not data.c_contiguous:
        raise BufferError(f"{name}: the buffer is not contiguous")
    try:
        buf = ffi.from_buffer(data)
    except TypeError:
        raise TypeError(f"{name} must be bytes-like, not {type(data).__name__}")
    return buf, len(buf)


_WRITABLE = "buf must be a writable bytes-like object (e.g. bytearray), not "


def _output(buf):
    """A writable pointer into the caller's buffer (no copy) and its length in bytes."""
    if isinstance(buf, (bytes, str)):
        raise TypeError(_WRITABLE + type(buf).__name__)
    if type(buf) is memoryview and not buf.c_contiguous:
        # PyPy would hand back a copy of a strided view: the output would be lost.
        raise BufferError("buf: the buffer is not contiguous")
    try:
        out = ffi.from_buffer(buf, require_writable=True)
    except TypeError:
        raise TypeError(_WRITABLE + type(buf).__name__)
    except BufferError:
        raise TypeError("buf must be writable (a read-only buffer was given)")
    return out, len(out)


class Cipher:
    """``Cipher(algorithm, mode)``: ``encryptor()`` / ``decryptor()`` make one-message contexts."""

    # ``Cipher[modes.GCM]`` works in annotations, as with cryptography's generic Cipher.
    __class_getitem__ = classmethod(lambda cls, item: cls)

    def __init__(self, algorithm, mode, backend=None):
        if not isinstance(algorithm, CipherAlgorithm):
            raise TypeError("Expected interface of CipherAlgorithm.")
        if mode is not None:
            if not isinstance(mode, modes.Mode):
                raise TypeError("Expected interface of Mode (e.g. modes.CBC(iv)), or None for ChaCha20.")
            mode.validate_for_algorithm(algorithm)
        self.algorithm = algorithm
        self.mode = mode

    def encryptor(self):
        if isinstance(self.mode, modes.ModeWithAuthenticationTag):
            if self.mode.tag is not None:
                raise ValueError("Authentication tag must be None when encrypting.")
            return AEADEncryptionContext(self.algorithm, self.mode, 1)
        return CipherContext(self.algorithm, self.mode, 1)

    def decryptor(self):
        if isinstance(self.mode, modes.ModeWithAuthenticationTag):
            return AEADDecryptionContext(self.algorithm, self.mode, 0)
        return CipherContext(self.algorithm, self.mode, 0)


def _mode_name(mode):
    return "None" if mode is None else mode.name


class CipherContext:
    """One encryption or decryption: ``update``/``update_into`` any number of times, then ``finalize``."""

    __slots__ = ("_ctx", "_scratch", "_chars", "_scratch_size", "_outlen", "_slack", "_kind", "_limit")

    def __init__(self, algorithm, mode, encrypt):
        name = _openssl_name(algorithm, mode)
        cipher = _fetch(name) if name is not None else ffi.NULL
        if cipher == ffi.NULL:
            if name is not None:
                why = f" (no provider offers {name})"
            elif mode is None:
                why = "; a block cipher needs a mode, e.g. modes.CBC(iv)"
            else:
                why = ""
            raise UnsupportedAlgorithm(
                f"cipher {algorithm.name} in {_mode_name(mode)} mode is not supported "
                f"by the loaded OpenSSL{why}"
            )
        if isinstance(mode, modes.ModeWithInitializationVector):
            iv = mode.initialization_vector
        elif isinstance(mode, modes.ModeWithNonce):
            iv = mode.nonce
        elif isinstance(mode, modes.ModeWithTweak):
            iv = mode.tweak
        elif isinstance(algorithm, ChaCha20):
            iv = algorithm.nonce
        else:
            iv = None
        key = algorithm.key
        kind = _mode_name(mode)
        if kind == "XTS":
            key_bytes = bytes(memoryview(key).cast("B"))
            half = len(key_bytes) // 2
            if key_bytes[:half] == key_bytes[half:]:
                raise ValueError("In XTS mode duplicated keys are not allowed")
        key_ptr, key_len = _input(key, "key")
        iv_ptr, iv_len = _input(iv, "initialization_vector") if iv is not None else (ffi.NULL, 0)

        # OpenSSL reads exactly the cipher's key and IV length from these pointers: a buffer that
        # shrank after validation (a bytearray resized in place) must not become an over-read.
        wanted = lib.EVP_CIPHER_get_key_length(cipher)
        if key_len != wanted:
            raise ValueError(f"key is {key_len} bytes; {name} takes {wanted}")
        wanted = lib.EVP_CIPHER_get_iv_length(cipher)
        if kind != "GCM" and iv_len != wanted:
            raise ValueError(f"initialization vector is {iv_len} bytes; {name} takes {wanted}")
        evp = cipher
        ctx = lib.EVP_CIPHER_CTX_new()
        openssl_assert(ctx != ffi.NULL, "EVP_CIPHER_CTX_new")
        # size: what OpenSSL holds for it (context + key schedule), so PyPy's GC feels it.
        self._ctx = ctx = ffi.gc(ctx, lib.EVP_CIPHER_CTX_free, size=_CTX_SIZE)
        if kind == "GCM" and iv_len != 12:
            # The IV length must be set between choosing the cipher and giving the IV.
            if not lib.EVP_CipherInit_ex2(ctx, cipher, ffi.NULL, ffi.NULL, encrypt, ffi.NULL):
                self._free()
                raise_error(f"cannot initialise {name}")
            if not lib.EVP_CIPHER_CTX_ctrl(ctx, lib.EVP_CTRL_AEAD_SET_IVLEN, iv_len, ffi.NULL):
                self._free()
                raise_error(f"{name} refused an IV of {iv_len} bytes", ValueError)
            cipher = ffi.NULL
        if not lib.EVP_CipherInit_ex2(ctx, cipher, key_ptr, iv_ptr, encrypt, ffi.NULL):
            self._free()
            raise_error(f"cannot initialise {name} with this key and IV", ValueError)
        if kind in ("ECB", "CBC"):
            # cryptography's contexts never pad: whole blocks in, whole blocks out.
            openssl_assert(lib.EVP_CIPHER_CTX_set_padding(ctx, 0), "EVP_CIPHER_CTX_set_padding")
        # EVP_CipherUpdate may emit up to len + block_size - 1 bytes (1 for stream modes).
        self._slack = lib.EVP_CIPHER_get_block_size(evp) - 1
        self._kind = kind
        self._outlen = ffi.new("int *")
        self._scratch = ffi.NULL
        self._scratch_size = 0
        self._limit = -1  # longest input update() handles with the scratch buffer as it is

    # -- internals -------------------------------------------------------------------------------------

    def _free(self):
        ctx = self._ctx
        self._ctx = None
        if ctx is not None:
            ffi.gc(ctx, None)  # cancel the GC fallback: freed here, exactly once
            lib.EVP_CIPHER_CTX_free(ctx)

    def _buffer(self, size):
        """An output buffer of at least ``size`` bytes: the context's own when small enough."""
        if size <= self._scratch_size:
            return self._scratch
        if size > _KEEP_SCRATCH:
            return _alloc("unsigned char[]", size)
        size = max(size, 256, min(2 * self._scratch_size, _KEEP_SCRATCH))
        self._scratch = _alloc("unsigned char[]", size)
        self._chars = ffi.cast("char *", self._scratch)  # ffi.unpack of char* is the fastest copy out
        self._scratch_size = size
        if self._kind != "XTS":
            # update() may now take its fast path for inputs up to this length.
            self._limit = size - self._slack
        return self._scratch

    def _check_xts(self, n):
        if n < 16:
            raise ValueError(
                "In XTS mode you must supply at least a full block in each update call (each call is one "
                "data unit). For AES this is 16 bytes."
            )
        if n > _XTS_MAX:
            raise ValueError("XTS data units are limited to 2**20 blocks (16 MiB) per update call.")

    def _process(self, ctx, out, src, n):
        """Run EVP_CipherUpdate over ``n`` bytes, chunked below 2**31; return bytes written."""
        outlen = self._outlen
        if n <= _CHUNK:
            if not lib.EVP_CipherUpdate(ctx, out, outlen, src, n):
                raise_error(f"{self._kind} update failed")
            return outlen[0]
        written = 0
        src = ffi.cast("unsigned char *", ffi.from_buffer(src) if type(src) is bytes else src)
        aad = out == ffi.NULL  # GCM associated data: nothing is written
        for start in range(0, n, _CHUNK):
            step = min(_CHUNK, n - start)
            if not lib.EVP_CipherUpdate(ctx, out if aad else out + written, outlen, src + start, step):
                raise_error(f"{self._kind} update failed")
            written += outlen[0]
        return written

    def _update_slow(self, ctx, src, n):
        if self._kind == "XTS":
            if n == 0:
                return b""
            self._check_xts(n)
        out = self._buffer(n + self._slack)
        written = self._process(ctx, out, src, n)
        return ffi.buffer(out, written)[:]

    # -- public API ------------------------------------------------------------------------------------

    def update(self, data):
        ctx = self._ctx
        if ctx is None:
            raise AlreadyFinalized("Context was already finalized.")
        if type(data) is bytes:
            src, n = data, len(data)
        else:
            src, n = _input(data)
        if n <= self._limit:
            # Fast path: the context's scratch buffer is large enough (never taken in XTS mode).
            outlen = self._outlen
            if not lib.EVP_CipherUpdate(ctx, self._scratch, outlen, src, n):
                raise_error(f"{self._kind} update failed")
            return ffi.unpack(self._chars, outlen[0])
        return self._update_slow(ctx, src, n)

    def update_into(self, data, buf):
        ctx = self._ctx
        if ctx is None:
            raise AlreadyFinalized("Context was already finalized.")
        if type(data) is bytes:
            src, n = data, len(data)
        else:
            src, n = _input(data)
        if type(buf) is bytearray:  # always writable and contiguous
            out, size = ffi.from_buffer(buf), len(buf)
        else:
            out, size = _output(buf)
        if size < n + self._slack:
            raise ValueError(f"buffer must be at least {n + self._slack} bytes for this payload")
        if self._kind == "XTS":
            if n == 0:
                return 0
            self._check_xts(n)
        if n <= _CHUNK:
            outlen = self._outlen
            if not lib.EVP_CipherUpdate(ctx, out, outlen, src, n):
                raise_error(f"{self._kind} update failed")
            return outlen[0]
        return self._process(ctx, out, src, n)

    def finalize(self):
        ctx = self._ctx
        if ctx is None:
            raise AlreadyFinalized("Context was already finalized.")
        out = self._buffer(self._slack + 1 + 32)
        try:
            if not lib.EVP_CipherFinal_ex(ctx, out, self._outlen):
                if self._kind in ("ECB", "CBC"):
                    clear_errors()
                    raise ValueError("The length of the provided data is not a multiple of the block length.")
                raise_error(f"{self._kind} finalize failed")
            return ffi.buffer(out, self._outlen[0])[:]
        finally:
            self._free()

    def reset_nonce(self, nonce):
        """Restart a CTR or ChaCha20 keystream at ``nonce`` (16 bytes) with the same key."""
        ctx = self._ctx
        if ctx is None:
            raise AlreadyFinalized("Context was already finalized.")
        if self._kind not in ("CTR", "None"):
            raise UnsupportedAlgorithm("This algorithm or mode does not support resetting the nonce.")
        src, n = _input(nonce, "nonce")
        if n != 16:
            raise ValueError("Nonce must be 16 bytes long")
        if not lib.EVP_CipherInit_ex2(ctx, ffi.NULL, ffi.NULL, src, -1, ffi.NULL):
            raise_error("cannot reset the nonce")


class AEADCipherContext(CipherContext):
    """A GCM context: also ``authenticate_additional_data`` before the first ``update``."""

    __slots__ = ("_min_tag_length", "_tag", "_aad_count", "_count", "_updated")

    def __init__(self, algorithm, mode, encrypt):
        super().__init__(algorithm, mode, encrypt)
        self._min_tag_length = mode._min_tag_length
        self._tag = None
        self._aad_count = 0
        self._count = 0
        self._updated = False

    def _count_bytes(self, data):
        """Bytes this update would bring the total to; refuses past GCM's limit (before any work)."""
        n = len(data) if type(data) is bytes else _byte_length("data", data)
        total = self._count + n
        if total > modes.GCM._MAX_ENCRYPTED_BYTES:
            raise ValueError(f"GCM has a maximum encrypted byte limit of {modes.GCM._MAX_ENCRYPTED_BYTES}")
        return total

    def update(self, data):
        total = self._count_bytes(data) if self._ctx is not None else 0
        result = CipherContext.update(self, data)
        self._count = total
        self._updated = True
        return result

    def update_into(self, data, buf):
        total = self._count_bytes(data) if self._ctx is not None else 0
        result = CipherContext.update_into(self, data, buf)
        self._count = total
        self._updated = True
        return result

    def authenticate_additional_data(self, data):
        ctx = self._ctx
        if ctx is None:
            raise AlreadyFinalized("Context was already finalized.")
        if self._updated:
            raise AlreadyUpdated("Update has been called on this context.")
        src, n = _input(data)
        if self._aad_count + n > modes.GCM._MAX_AAD_BYTES:
            raise ValueError(f"GCM has a maximum AAD byte limit of {modes.GCM._MAX_AAD_BYTES}")
        if n:
            self._process(ctx, ffi.NULL, src, n)
        self._aad_count += n

    def reset_nonce(self, nonce):
        if self._ctx is None:
            raise AlreadyFinalized("Context was already finalized.")
        raise UnsupportedAlgorithm("This algorithm or mode does not support resetting the nonce.")


class AEADEncryptionContext(AEADCipherContext):
    """GCM encryption: ``tag`` (16 bytes) is available after ``finalize``."""

    __slots__ = ()

    @property
    def tag(self):
        if self._ctx is not None:
            raise NotYetFinalized("You must finalize encryption before getting the tag.")
        return self._tag

    def finalize(self):
        ctx = self._ctx
        if ctx is None:
            raise AlreadyFinalized("Context was already finalized.")
        out = self._buffer(64)
        try:
            if not lib.EVP_CipherFinal_ex(ctx, out, self._outlen):
                raise_error(f"{self._kind} finalize failed")
            result = ffi.buffer(out, self._outlen[0])[:]
            tag = ffi.new("unsigned char[16]")
            openssl_assert(
                lib.EVP_CIPHER_CTX_ctrl(ctx, lib.EVP_CTRL_AEAD_GET_TAG, 16, tag), "reading the GCM tag"
            )
            self._tag = ffi.buffer(tag, 16)[:]
            return result
        finally:
            self._free()


class AEADDecryptionContext(AEADCipherContext):
    """GCM decryption: the tag comes from the mode or from ``finalize_with_tag``; a
    mismatch raises ``InvalidTag`` (the context is finalized either way)."""

    __slots__ = ()

    def __init__(self, algorithm, mode, encrypt):
        super().__init__(algorithm, mode, encrypt)
        self._tag = mode.tag

    def finalize(self):
        if self._ctx is None:
            raise AlreadyFinalized("Context was already finalized.")
        if self._tag is None:
            raise ValueError("Authentication tag must be provided when decrypting.")
        return self._finalize_with(self._tag)

    def finalize_with_tag(self, tag):
        if self._ctx is None:
            raise AlreadyFinalized("Context was already finalized.")
        if not isinstance(tag, bytes):
            raise TypeError(f"tag must be bytes, not {type(tag).__name__}")
        if self._tag is not None:
            raise ValueError("Authentication tag must be provided only once.")
        minimum = max(self._min_tag_length, 1)
        if len(tag) < minimum:
            raise ValueError(f"Authentication tag must be {minimum} bytes or longer.")
        if len(tag) > 16:
            raise ValueError("Authentication tag cannot be more than 16 bytes.")
        return self._finalize_with(tag)

    def _finalize_with(self, tag):
        ctx = self._ctx
        out = self._buffer(64)
        try:
            openssl_assert(
                lib.EVP_CIPHER_CTX_ctrl(ctx, lib.EVP_CTRL_AEAD_SET_TAG, len(tag), ffi.from_buffer(tag)),
                "setting the GCM tag",
            )
            if not lib.EVP_CipherFinal_ex(ctx, out, self._outlen):
                consume_errors()  # a failed tag check may or may not queue an error
                raise InvalidTag()
            return ffi.buffer(out, self._outlen[0])[:]
        finally:
            self._free()
