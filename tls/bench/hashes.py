"""Group ``hashes``: SHA-256 and HMAC-SHA256, ``tls.hashes``/``tls.hmac`` against ``hashlib``/``hmac``.

Cases, at 64 B, 1 KiB and 1 MiB:

- ``sha256-oneshot``: ``sha256(data).digest()``;
- ``sha256-stream``: ``h = sha256(); h.update(part)`` for each of 4 equal parts; ``h.digest()``
  (a new object per message, the message fed in 4 updates);
- ``hmac-sha256-oneshot``: ``hmac.digest(key, data, "sha256")``;
- ``hmac-sha256-stream``: ``h = hmac.new(key, digestmod="sha256")``; 4 updates; ``h.digest()``.

The C figure is ``openssl speed -evp sha256`` / ``-hmac sha256`` (one message per
operation, no split) for every case.
"""

from __future__ import annotations

import hashlib
import hmac

from tls.bench._core import Case, Unavailable, load

GROUP = "hashes"
SIZES = (("64B", 64), ("1KiB", 1024), ("1MiB", 1024 * 1024))
PARTS = 4
KEY = bytes(range(32))

LEGEND = (
    "one-shot: sha256(data).digest() / hmac.digest(key, data, 'sha256'); "
    f"stream: a new object per message, the message fed in {PARTS} equal update() calls, then digest(). "
    "C: openssl speed -evp sha256 / -hmac sha256 (one message per operation)."
)


def _message(size):
    return bytes((i * 7 + 3) & 0xFF for i in range(size))


def _sha256_oneshot(mod, data):
    sha256 = mod.sha256

    def op():
        return sha256(data).digest()

    return op


def _sha256_stream(mod, parts):
    sha256 = mod.sha256
    p0, p1, p2, p3 = parts

    def op():
        h = sha256()
        h.update(p0)
        h.update(p1)
        h.update(p2)
        h.update(p3)
        return h.digest()

    return op


def _hmac_oneshot(mod, data):
    digest = mod.digest

    def op():
        return digest(KEY, data, "sha256")

    return op


def _hmac_stream(mod, parts):
    new = mod.new
    p0, p1, p2, p3 = parts

    def op():
        h = new(KEY, digestmod="sha256")
        h.update(p0)
        h.update(p1)
        h.update(p2)
        h.update(p3)
        return h.digest()

    return op


def _build(make, module, missing, arg):
    if module is None:
        return missing
    try:
        return make(module, arg)
    except AttributeError as exc:  # a module that lacks part of the API
        return Unavailable(f"{module.__name__}: {exc}")


def cases():
    tls_hashes, tls_hashes_missing = load("tls.hashes")
    tls_hmac, tls_hmac_missing = load("tls.hmac")
    result = []
    for label, size in SIZES:
        data = _message(size)
        step = size // PARTS
        parts = [data[i * step:(i + 1) * step] for i in range(PARTS - 1)] + [data[(PARTS - 1) * step:]]
        for kind, make, tls_mod, tls_missing, std_mod, arg, selection in (
            ("sha256-oneshot", _sha256_oneshot, tls_hashes, tls_hashes_missing, hashlib, data,
             ("-evp", "sha256")),
            ("sha256-stream", _sha256_stream, tls_hashes, tls_hashes_missing, hashlib, parts,
             ("-evp", "sha256")),
            ("hmac-sha256-oneshot", _hmac_oneshot, tls_hmac, tls_hmac_missing, hmac, data,
             ("-hmac", "sha256")),
            ("hmac-sha256-stream", _hmac_stream, tls_hmac, tls_hmac_missing, hmac, parts,
             ("-hmac", "sha256")),
        ):
            impls = {"tls": _build(make, tls_mod, tls_missing, arg), "stdlib": make(std_mod, arg)}
            # every op returns the digest, so the ops themselves serve as the output check
            result.append(Case(GROUP, f"{kind}-{label}", size, impls, check=impls, openssl=selection))
    return result
