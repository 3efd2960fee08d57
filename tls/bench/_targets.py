"""The project's performance targets (issues 2 to 6) as data, and their evaluation.

A target says: on ``interpreter`` ("CPython", "PyPy" or None for both), for every
case whose id matches one of ``cases`` (fnmatch patterns), tls's median rate
divided by ``versus``'s (an implementation name or "openssl", the C figure) must
be at least ``at_least``.  ``versus_on`` names another interpreter for a
cross-interpreter target (tls on PyPy against the stdlib on CPython); those can
only be judged by ``compare``, which has runs from both.

A :class:`MemoryTarget` (``--memory``) bounds instead the RSS growth of tls's
runs of the matching memory workloads, from after the warm-up round to the end.
"""

from __future__ import annotations

import fnmatch

from tls.bench._core import paired_ratio


class Target:
    __slots__ = ("issue", "interpreter", "cases", "versus", "versus_on", "at_least", "text")

    def __init__(self, issue, interpreter, cases, versus, at_least, versus_on=None, text=""):
        self.issue = issue
        self.interpreter = interpreter
        self.cases = cases
        self.versus = versus
        self.versus_on = versus_on
        self.at_least = at_least
        self.text = text

    @property
    def cross(self):
        return self.versus_on is not None

    def requirement(self):
        on = f" on {self.versus_on}" if self.versus_on else ""
        versus = "OpenSSL C" if self.versus == "openssl" else self.versus
        return f">= {self.at_least:g}x {versus}{on}"

    def label(self):
        where = self.interpreter or "both"
        return f"#{self.issue} {where}: tls {self.requirement()}"

    def applies_to(self, case_id, interpreter):
        if self.interpreter is not None and self.interpreter != interpreter:
            return False
        return any(fnmatch.fnmatchcase(case_id, pattern) for pattern in self.cases)


_HASH_64 = ["hashes/sha256-*-64B"]
_HMAC_64 = ["hashes/hmac-sha256-*-64B"]
# Against OpenSSL's C figure (openssl speed works in place): the in-place encrypt_into and
# decrypt_into rows.
_AEAD_VS_C_1MIB = ["ciphers/*-inplace-1MiB"]
_AEAD_VS_C_BIG = ["ciphers/*-inplace-16KiB"] + _AEAD_VS_C_1MIB
_TLS_HANDSHAKES = ["tls/handshake-*"]
_TLS_BULK = ["tls/bulk-*"]
_SOCKETS_BULK = ["sockets/sendall-64MiB", "sockets/recv_into-16KiB", "sockets/recv-16KiB"]

TARGETS = (
    # issue 2: hashing family
    Target(2, "PyPy", _HASH_64 + _HMAC_64, "stdlib", 4.0),
    Target(2, "PyPy", _HASH_64 + _HMAC_64, "stdlib", 1.0, versus_on="CPython"),
    Target(2, "CPython", _HASH_64, "stdlib", 0.8),
    Target(2, "CPython", _HMAC_64, "stdlib", 1.0),
    Target(2, None, ["hashes/*-1MiB"], "stdlib", 0.97),
    # issue 3: AEADs
    Target(3, "PyPy", ["ciphers/aes128gcm-*-64B"], "cryptography", 10.0),
    Target(3, "PyPy", ["ciphers/aes128gcm-*-64B"], "cryptography", 1.0, versus_on="CPython"),
    Target(3, None, _AEAD_VS_C_1MIB, "openssl", 0.9),
    # issue 6: the standing targets (hash/HMAC/AEAD part; the tls and sockets groups add theirs)
    Target(6, "PyPy", ["hashes/*"], "stdlib", 1.0, versus_on="CPython"),
    Target(6, "PyPy", ["ciphers/*"], "cryptography", 1.0, versus_on="CPython"),
    Target(6, "PyPy", ["hashes/*-1MiB"] + _AEAD_VS_C_BIG, "openssl", 0.8),
    Target(6, "CPython", ["ciphers/*-64B"], "cryptography", 0.8),
    Target(6, "CPython", ["hashes/*-1MiB"] + _AEAD_VS_C_1MIB, "openssl", 0.95),
    # issues 4 and 6: TLS over MemoryBIO pairs
    Target(4, None, _TLS_HANDSHAKES, "stdlib", 1.0),
    Target(4, "CPython", _TLS_BULK, "stdlib", 1.0),
    Target(4, "PyPy", _TLS_BULK, "stdlib", 1.6),
    Target(4, "PyPy", _TLS_BULK, "stdlib", 0.9, versus_on="CPython"),
    # issue 5: SSLSocket over loopback TCP
    Target(5, None, ["sockets/https-roundtrip"], "stdlib", 1.0),
    Target(5, "PyPy", _SOCKETS_BULK, "stdlib", 1.0),
    Target(5, "PyPy", _SOCKETS_BULK, "stdlib", 1.0, versus_on="CPython"),
    # issue 7: certificates from memory
    Target(7, None, ["tls/load-cadata-*"], "stdlib", 1.0),
)


def _figure(case, impl):
    """The median ops/s of ``impl`` ("openssl" for the C figure) in one case record, or None."""
    result = case.get("openssl") if impl == "openssl" else case["results"].get(impl)
    if result and result.get("status") == "ok":
        return result["ops_per_s"]
    return None


def _why_missing(case, impl, interpreter):
    result = case.get("openssl") if impl == "openssl" else case["results"].get(impl)
    status = (result or {}).get("status", "not measured")
    name = "OpenSSL C" if impl == "openssl" else impl
    return f"no {name} figure on {interpreter} ({status})"


def judge(target, case, interpreter, other=None, other_interpreter=None):
    """Evaluate ``target`` on one case record (from a run on ``interpreter``).

    For a cross-interpreter target, ``other`` is the same case from the run on
    ``other_interpreter``.  Returns a dict: target label, case, ratio, met (True,
    False, or None when there is no data, with ``why``).
    """
    out = {"target": target.label(), "issue": target.issue, "case": f"{case['group']}/{case['name']}",
           "requirement": target.requirement(), "at_least": target.at_least, "ratio": None, "met": None}
    if _figure(case, "tls") is None:
        out["why"] = _why_missing(case, "tls", interpreter)
        return out
    if target.cross:
        if other is None:
            out["why"] = f"no run on {target.versus_on}"
            return out
        den = _figure(other, target.versus)
        if den is None:
            out["why"] = _why_missing(other, target.versus, other_interpreter)
            return out
        out["ratio"] = _figure(case, "tls") / den
    elif target.versus == "openssl":
        den = _figure(case, "openssl")
        if den is None:
            out["why"] = _why_missing(case, "openssl", interpreter)
            return out
        out["ratio"] = _figure(case, "tls") / den
    else:
        ratio = paired_ratio(case["results"], "tls", target.versus)
        if ratio is None:
            out["why"] = _why_missing(case, target.versus, interpreter)
            return out
        out["ratio"] = ratio
    out["met"] = out["ratio"] >= target.at_least
    return out


def judge_run(run):
    """Every same-interpreter target on one run's cases (cross targets need ``compare``)."""
    interpreter = run["interpreter"]["implementation"]
    verdicts = []
    for case in run["cases"]:
        case_id = f"{case['group']}/{case['name']}"
        for target in TARGETS:
            if not target.cross and target.applies_to(case_id, interpreter):
                verdicts.append(judge(target, case, interpreter))
    return verdicts


def judge_runs(runs):
    """Every target over several runs (typically one CPython and one PyPy run), cross ones and those on
    ``--memory`` runs included."""
    verdicts = []
    by_interp = {}
    for run in runs:
        by_interp.setdefault(run["interpreter"]["implementation"], run)
    for run in runs:
        interpreter = run["interpreter"]["implementation"]
        label = run["label"]
        for case in run["cases"]:
            case_id = f"{case['group']}/{case['name']}"
            for target in TARGETS:
                if not target.applies_to(case_id, interpreter):
                    continue
                other = other_run = None
                if target.cross:
                    other_run = by_interp.get(target.versus_on)
                    if other_run is not None:
                        other = next((c for c in other_run["cases"]
                                      if c["group"] == case["group"] and c["name"] == case["name"]), None)
                verdict = judge(target, case, interpreter, other,
                                other_run["label"] if other_run else target.versus_on)
                verdict["run"] = label
                verdicts.append(verdict)
        for verdict in judge_memory(run.get("memory") or {}, interpreter):
            verdict["run"] = label
            verdicts.append(verdict)
    return verdicts


# ---------------------------------------------------------------------------- memory (--memory)

class MemoryTarget:
    """On ``interpreter`` (None: both), tls's RSS must grow by less than ``growth_below`` percent from
    after the warm-up round to the end, in every memory workload matching ``workloads``."""

    __slots__ = ("issue", "interpreter", "workloads", "growth_below")

    def __init__(self, issue, interpreter, workloads, growth_below):
        self.issue = issue
        self.interpreter = interpreter
        self.workloads = workloads
        self.growth_below = growth_below

    def requirement(self):
        return f"RSS growth < {self.growth_below:g}% after warm-up"

    def label(self):
        return f"#{self.issue} {self.interpreter or 'both'}: tls {self.requirement()}"

    def applies_to(self, workload_id, interpreter):
        if self.interpreter is not None and self.interpreter != interpreter:
            return False
        return any(fnmatch.fnmatchcase(workload_id, pattern) for pattern in self.workloads)


MEMORY_TARGETS = (
    # issue 6: 1 million hash/AEAD operations, 10,000 handshakes (and the other workloads) stay flat
    MemoryTarget(6, None, ["*"], 5.0),
)
GROWTH_LIMIT_PCT = MEMORY_TARGETS[0].growth_below  # what the tables mark reference columns against


def grows(result, limit=GROWTH_LIMIT_PCT):
    """True/False: a measured memory result grew by ``limit`` percent or more; None without a figure."""
    if result.get("status") != "ok":
        return None
    return result["growth_pct"] >= limit


def judge_memory(memory, interpreter):
    """Every memory target on one run's ``memory`` section: verdicts like :func:`judge`'s, with
    ``growth_pct`` (and ``measured``, its text) instead of a ratio."""
    verdicts = []
    for workload in memory.get("workloads", []):
        workload_id = f"{workload['group']}/{workload['name']}"
        for target in MEMORY_TARGETS:
            if not target.applies_to(workload_id, interpreter):
                continue
            result = workload["results"].get("tls", {"status": "n/a"})
            out = {"target": target.label(), "issue": target.issue, "case": f"memory/{workload_id}",
                   "requirement": target.requirement(), "growth_below": target.growth_below,
                   "growth_pct": None, "ratio": None, "met": None}
            if result.get("status") == "ok":
                out["growth_pct"] = result["growth_pct"]
                out["measured"] = f"{result['growth_pct']:+.1f}%"
                out["met"] = result["growth_pct"] < target.growth_below
            else:
                reason = result.get("reason")
                out["why"] = f"no tls figure on {interpreter} ({result.get('status', 'not measured')}"
                out["why"] += f": {reason})" if reason else ")"
            verdicts.append(out)
    return verdicts
