"""Loaders for cipher vector files that ``load_nist`` cannot read as they are."""

from __future__ import annotations

from vectors import path, unhex


def load_gcm(*parts):
    """NIST CAVP GCM records (``gcmEncryptExtIV*`` / ``gcmDecrypt*``).

    Each record has bytes under ``key``, ``iv``, ``pt``, ``aad``, ``ct``, ``tag``
    (``pt`` is None for a record marked ``FAIL``), and ``fail`` (bool).  The
    ``[Keylen = ...]`` style headers are kept as ints under ``keylen``, ``ivlen``,
    ``ptlen``, ``aadlen``, ``taglen`` (bits).
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
                key, _, value = line[1:-1].partition("=")
                section[key.strip().lower()] = int(value)
                continue
            if line == "FAIL":
                current["fail"] = True
                current["pt"] = None
                continue
            key, sep, value = line.partition("=")
            if not sep:
                continue
            key = key.strip().lower()
            if key == "count":
                current = dict(section, fail=False)
                records.append(current)
                continue
            current[key] = unhex(value.strip())
    return records


def load_camellia_ecb(*parts):
    """The NTT Camellia ECB files: ``K No.nnn : hex bytes`` followed by ``P``/``C`` pairs.

    Returns dicts with ``key``, ``plaintext``, ``ciphertext`` as bytes.
    """
    records = []
    key = plaintext = None
    with open(path(*parts), encoding="utf-8") as fh:
        for raw in fh:
            line = raw.strip()
            if not line or line.startswith("#") or ":" not in line:
                continue
            label, _, value = line.partition(":")
            data = bytes.fromhex(value.replace(" ", ""))
            kind = label.split()[0]
            if kind == "K":
                key = data
            elif kind == "P":
                plaintext = data
            elif kind == "C":
                records.append({"key": key, "plaintext": plaintext, "ciphertext": data})
    return records
