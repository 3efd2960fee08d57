"""Loaders for cipher vector files that ``load_nist`` cannot read as they are."""

from __future__ import annotations

from vectors import load_cavp, path, unhex


def load_gcm(*parts):
    """NIST CAVP GCM records (``gcmEncryptExtIV*`` / ``gcmDecrypt*``).

    Each record has bytes under ``key``, ``iv``, ``pt``, ``aad``, ``ct``, ``tag``
    (``pt`` is None for a record marked ``FAIL``), and ``fail`` (bool).  The
    section headers are ints under ``keylen``, ``ivlen``, ``ptlen``, ``aadlen``,
    ``taglen`` (bits).
    """
    records = []
    for raw in load_cavp(*parts):
        record = {k: int(raw[k]) for k in ("keylen", "ivlen", "ptlen", "aadlen", "taglen")}
        record.update({k: unhex(raw.get(k, "")) for k in ("key", "iv", "pt", "aad", "ct", "tag")})
        record["fail"] = raw["fail"]
        if record["fail"]:
            record["pt"] = None
        records.append(record)
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
