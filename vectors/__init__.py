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
