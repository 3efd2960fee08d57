"""Loaders for AEAD known-answer files that ``vectors.load_nist`` does not fit.

- NIST CAVP response files for GCM and CCM (``ciphers/AES/GCM``, ``ciphers/AES/CCM``):
  a record starts at ``Count = N``; ``KEY = VALUE`` lines that come before the first
  ``Count`` of a section (CCM's ``Key``/``Nonce``) and ``[A = 1, B = 2]`` headers
  belong to every record of that section; a bare ``FAIL`` line marks a record
  that must not authenticate.
- BoringSSL-style AEAD files (``ciphers/ChaCha20Poly1305/boringssl.txt``):
  ``KEY= hex`` lines, values either hex or a double-quoted ASCII string.
"""

from __future__ import annotations

from functools import cache

from vectors import path, unhex

__all__ = ["load_boringssl_aead", "load_cavp", "unhex"]


@cache
def _read_cavp(parts):
    records = []
    context = {}   # header fields and pre-Count lines of the current section
    top = {}       # lines before the first section header (VADT's "Plen = 24")
    record = None
    seen_section = False
    with open(path(*parts), encoding="utf-8") as fh:
        for raw in fh:
            line = raw.strip()
            if not line or line[0] == "#":
                continue
            if line[0] == "[":
                if record is not None or not seen_section:
                    context = dict(top)  # a new block of headers starts a new section
                seen_section = True
                record = None
                for item in line.strip("[]").split(","):
                    key, _, value = item.partition("=")
                    context[key.strip().lower()] = value.strip()
                continue
            if line == "FAIL":
                record["fail"] = True
                continue
            key, sep, value = line.partition("=")
            if not sep:
                continue
            key = key.strip().lower()
            value = value.strip()
            if key == "count":
                record = dict(context)
                record["count"] = value
                record["fail"] = False
                records.append(record)
            elif record is not None:
                record[key] = value
            elif seen_section:
                context[key] = value
            else:
                top[key] = value
    return tuple(records)


def load_cavp(*parts):
    """Records of a CAVP ``.rsp`` file as fresh dicts (keys lower-cased, ``fail`` a bool)."""
    return [dict(r) for r in _read_cavp(tuple(parts))]


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
