"""Group ``ciphers``: AES-128-GCM and ChaCha20-Poly1305, ``tls.ciphers.aead`` against ``cryptography``.

Cases, encrypt and decrypt, at 64 B, 16 KiB and 1 MiB, each message with a
12-byte nonce and 13 bytes of associated data (the TLS record shape that
``openssl speed -aead`` also times):

- ``<aead>-<direction>-64B``: ``encrypt``/``decrypt`` returning bytes;
- ``<aead>-<direction>-16KiB`` and ``-1MiB``: ``encrypt_into``/``decrypt_into`` a
  buffer allocated once (both tls and cryptography);
- ``<aead>-<direction>-bytes-16KiB`` and ``-1MiB``: plain ``encrypt``/``decrypt``
  returning a fresh bytes object per message;
- ``<aead>-encrypt-inplace-16KiB`` and ``-1MiB``: ``encrypt_into`` with the
  message and the output in one buffer, which is how ``openssl speed`` runs, so
  this is the row to set against the C figure (separate buffers double the
  working set);
- ``<aead>-decrypt-inplace-16KiB`` and ``-1MiB``: ``decrypt_into`` the buffer
  holding the ciphertext, the C figure's counterpart for decryption.  A stream
  cipher's decryption of its own output gives back its input, so each call turns
  the buffer from ciphertext to plaintext or back; the 16-byte tag is swapped
  between calls so that every call authenticates a genuine message.

The stdlib has no AEAD, so its column stays empty.  The C figure is
``openssl speed -aead -evp <cipher> [-decrypt]``.
"""

from __future__ import annotations

from tls.bench._core import Case, Unavailable, load

GROUP = "ciphers"
SIZES = (("64B", 64), ("16KiB", 16 * 1024), ("1MiB", 1024 * 1024))
INTO_FROM = 16 * 1024  # from this size on, the main rows use the *_into APIs
NONCE = bytes(range(12))
AAD = bytes(range(100, 113))
TAG = 16
AEADS = (
    # case prefix, class name, key length, openssl speed cipher
    ("aes128gcm", "AESGCM", 16, "aes-128-gcm"),
    ("chacha20poly1305", "ChaCha20Poly1305", 32, "chacha20-poly1305"),
)

LEGEND = (
    "AEAD messages carry a 12-byte nonce and 13 bytes of AAD. Rows of 16 KiB and more use "
    "encrypt_into/decrypt_into into a buffer allocated once; '-inplace' rows encrypt_into/decrypt_into "
    "the buffer holding the message (as openssl speed does); '-bytes' rows use encrypt/decrypt returning "
    "bytes. "
    "C: openssl speed -aead -evp <cipher> [-decrypt]."
)


def _message(size):
    return bytes((i * 13 + 5) & 0xFF for i in range(size))


def _keyed(module, missing, class_name, key):
    """An AEAD object of ``module`` or an Unavailable saying why there is none."""
    if module is None:
        return missing
    try:
        return getattr(module, class_name)(key)
    except Exception as exc:
        return Unavailable(f"{class_name}(key) failed: {type(exc).__name__}: {exc}")


def _ops(aead, direction, data, into):
    """Return ``(op, check)``: one operation, and a callable giving its output bytes."""
    if isinstance(aead, Unavailable):
        return aead, None
    if not into:
        fn = aead.encrypt if direction == "encrypt" else aead.decrypt

        def op():
            return fn(NONCE, data, AAD)

        return op, op
    if not hasattr(aead, f"{direction}_into"):
        return Unavailable(f"{type(aead).__module__}.{type(aead).__name__} has no {direction}_into"), None
    if direction == "encrypt":
        fn, buf = aead.encrypt_into, bytearray(len(data) + TAG)
    else:
        fn, buf = aead.decrypt_into, bytearray(len(data) - TAG)

    def op_into():
        return fn(NONCE, data, AAD, buf)

    def check():
        return bytes(buf[:op_into()])

    return op_into, check


def _encrypt_in_place(aead, data):
    """Return ``(op, check)`` for ``encrypt_into`` over the buffer that holds the message."""
    if isinstance(aead, Unavailable):
        return aead, None
    if not hasattr(aead, "encrypt_into"):
        return Unavailable(f"{type(aead).__module__}.{type(aead).__name__} has no encrypt_into"), None
    fn, n = aead.encrypt_into, len(data)

    def loaded():
        buf = bytearray(n + TAG)
        buf[:n] = data
        return buf, memoryview(buf)[:n]

    buf, message = loaded()

    def op_in_place():
        return fn(NONCE, message, AAD, buf)  # re-encrypts what the last call left: same work

    def check():
        fresh, fresh_message = loaded()
        return bytes(fresh[: fn(NONCE, fresh_message, AAD, fresh)])

    return op_in_place, check


def _decrypt_in_place(aead, plaintext):
    """Return ``(op, check)`` for ``decrypt_into`` over the buffer that holds the ciphertext.

    With C = encrypt(P) carrying tag T_C, and encrypt(C) = P carrying tag T_P (the
    same keystream), decrypting C||T_C in place leaves P, and P||T_P decrypts back
    to C: every call is a full, authenticated decryption of a genuine message.
    """
    if isinstance(aead, Unavailable):
        return aead, None
    if not hasattr(aead, "decrypt_into"):
        return Unavailable(f"{type(aead).__module__}.{type(aead).__name__} has no decrypt_into"), None
    n = len(plaintext)
    try:
        sealed = aead.encrypt(NONCE, plaintext, AAD)
        tags = (sealed[n:], aead.encrypt(NONCE, sealed[:n], AAD)[n:])  # T_C, then T_P
    except Exception as exc:
        return Unavailable(f"encrypt failed: {type(exc).__name__}: {exc}"), None
    fn = aead.decrypt_into
    buf = bytearray(sealed)
    whole, body = memoryview(buf), memoryview(buf)[:n]
    state = [0]  # which tag the buffer needs next: 0 -> it holds C, 1 -> it holds P

    def op_in_place():
        done = fn(NONCE, whole, AAD, body)
        state[0] ^= 1
        buf[n:] = tags[state[0]]
        return done

    def check():
        fresh = bytearray(sealed)
        return bytes(fresh[: fn(NONCE, memoryview(fresh), AAD, memoryview(fresh)[:n])])

    return op_in_place, check


def cases():
    tls_aead, tls_missing = load("tls.ciphers.aead")
    ref_aead, ref_missing = load("cryptography.hazmat.primitives.ciphers.aead")
    result = []
    for prefix, class_name, key_len, cipher in AEADS:
        key = bytes(range(1, key_len + 1))
        tls_obj = _keyed(tls_aead, tls_missing, class_name, key)
        ref_obj = _keyed(ref_aead, ref_missing, class_name, key)
        maker = next((obj for obj in (ref_obj, tls_obj) if not isinstance(obj, Unavailable)), None)
        for label, size in SIZES:
            plaintext = _message(size)
            ciphertext = None
            if maker is not None:
                try:
                    ciphertext = maker.encrypt(NONCE, plaintext, AAD)
                except Exception:
                    ciphertext = None
            for direction in ("encrypt", "decrypt"):
                data = plaintext if direction == "encrypt" else ciphertext
                selection = ["-aead", "-evp", cipher] + (["-decrypt"] if direction == "decrypt" else [])
                variants = [(f"{prefix}-{direction}-{label}", size >= INTO_FROM)]
                if size >= INTO_FROM:
                    variants.append((f"{prefix}-{direction}-bytes-{label}", False))
                for name, into in variants:
                    impls, check = {}, {}
                    for impl, obj in (("tls", tls_obj), ("cryptography", ref_obj)):
                        if data is None and not isinstance(obj, Unavailable):
                            obj = Unavailable("no ciphertext to decrypt (no working encrypt)")
                        impls[impl], check[impl] = _ops(obj, direction, data, into)
                    result.append(Case(GROUP, name, size, impls, check=check, openssl=tuple(selection)))
                if size >= INTO_FROM:
                    in_place = _encrypt_in_place if direction == "encrypt" else _decrypt_in_place
                    impls, check = {}, {}
                    for impl, obj in (("tls", tls_obj), ("cryptography", ref_obj)):
                        impls[impl], check[impl] = in_place(obj, plaintext)
                    result.append(
                        Case(GROUP, f"{prefix}-{direction}-inplace-{label}", size, impls, check=check,
                             openssl=tuple(selection))
                    )
    return result
