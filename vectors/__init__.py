"""Loaders for known-answer test vectors.

Files come from the ``cryptography_vectors`` package (NIST CAVP ``.rsp`` and
RFC ``.txt`` files); the project's own fixtures sit beside this module.
"""

from __future__ import annotations

import os
from functools import cache


class VectorsUnavailable(RuntimeError):
    pass


@cache
def root():
    """The directory of the installed ``cryptography_vectors`` package."""
    try:
        import cryptography_vectors
    except ImportError as exc:  # a test dependency: fail loudly, never skip silently
        raise VectorsUnavailable(
            "known-answer tests need the test extra: pip install '.[test]' (cryptography_vectors)"
        ) from exc
    return os.path.dirname(os.path.abspath(cryptography_vectors.__file__))


def path(*parts):
    """Path of a vector file, e.g. ``path("hashes", "SHA2", "SHA256ShortMsg.rsp")``."""
    return os.path.join(root(), *parts)


def load_nist(*parts):
    """Parse a ``KEY = VALUE`` vector file into a list of dicts.

    Keys are lower-cased.  ``[Section]`` headers (``[L = 20]`` or ``[SHA-256]``)
    are merged into the records that follow them, under ``section`` and, for
    ``[K = V]`` headers, under ``k``.  A record ends where one of its keys
    appears again (blank lines are not reliable separators in these files).
    Comment lines start with ``#``.
    """
    records = []
    section = {}
    current = None
    with open(path(*parts), encoding="utf-8") as fh:
        for raw in fh:
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("[") and line.endswith("]"):
                inner = line[1:-1].strip()
                if "=" in inner:
                    key, _, value = inner.partition("=")
                    section = {**section, key.strip().lower(): value.strip()}
                else:
                    section = {"section": inner}
                current = None
                continue
            key, sep, value = line.partition("=")
            if not sep:
                continue
            key = key.strip().lower()
            if current is None or key in current:
                current = dict(section)
                records.append(current)
            current[key] = value.strip()
    return records


def unhex(value):
    return bytes.fromhex(value) if value else b""


def message(record):
    """The message of a NIST hash record: ``Len`` is in bits, and ``Len = 0`` has ``Msg = 00``."""
    length = int(record["len"])
    if length % 8:
        raise ValueError("bit-oriented message")
    return unhex(record["msg"])[: length // 8]


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
    """Records of a NIST CAVP ``.rsp`` file with ``FAIL`` markers (GCM, CCM) as fresh dicts.

    A record starts at ``Count = N``; ``KEY = VALUE`` lines before the first
    ``Count`` of a section (CCM's ``Key``/``Nonce``) and ``[A = 1, B = 2]``
    headers belong to every record of that section; a bare ``FAIL`` line marks a
    record that must not authenticate (``fail`` is then True).  Keys are
    lower-cased; values stay text.
    """
    return [dict(r) for r in _read_cavp(tuple(parts))]
