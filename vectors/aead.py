"""Loaders for AEAD known-answer files that ``vectors.load_nist`` does not fit.

- NIST CAVP GCM and CCM files: ``vectors.load_cavp`` (re-exported here).
- BoringSSL-style AEAD files (``ciphers/ChaCha20Poly1305/boringssl.txt``):
  ``KEY= hex`` lines, values either hex or a double-quoted ASCII string.
"""

from __future__ import annotations

from vectors import load_cavp, path, unhex

__all__ = ["load_boringssl_aead", "load_cavp", "unhex"]


def _value(text):
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return text[1:-1].encode("ascii")
    return unhex(text)


def load_boringssl_aead(*parts):
    """Records of a BoringSSL AEAD test file: dicts of bytes under lower-cased keys."""
    records = []
    record = None
    with open(path(*parts), encoding="utf-8") as fh:
        for raw in fh:
            line = raw.strip()
            if not line or line[0] == "#":
                continue
            key, sep, value = line.partition("=")
            if not sep:
                continue
            key = key.strip().lower()
            if key == "count":
                record = {"count": value.strip()}
                records.append(record)
                continue
            record[key] = _value(value)
    return records
