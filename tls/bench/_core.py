"""The measuring machinery: cases, warm-up, interleaved timed repetitions.

A :class:`Case` is one operation at one size with up to three implementations
("tls", "stdlib", "cryptography"), each a zero-argument callable doing the
operation once.  :func:`measure` warms every implementation up (long enough for
PyPy's JIT), then runs several timed repetitions that interleave them, so the
ratios between implementations survive a noisy, shared machine.
"""

from __future__ import annotations

import importlib
import statistics
import time

IMPLEMENTATIONS = ("tls", "stdlib", "cryptography")

_now = time.perf_counter


class Unavailable:
    """An implementation that could not be set up; ``reason`` says why."""

    __slots__ = ("reason",)

    def __init__(self, reason):
        self.reason = reason

    def __repr__(self):
        return f"Unavailable({self.reason!r})"


def load(module_name):
    """Import ``module_name``; return ``(module, None)`` or ``(None, Unavailable(reason))``."""
    try:
        return importlib.import_module(module_name), None
    except Exception as exc:  # ImportError, or a broken build raising anything else
        return None, Unavailable(f"{type(exc).__name__}: {exc}")


class Case:
    """One benchmark case.

    ``impls`` maps an implementation name to a zero-argument callable doing one
    operation, to an :class:`Unavailable` (it should exist but cannot be used
    here), or to ``None`` (no such implementation: e.g. the stdlib has no AEAD).
    ``check`` optionally maps implementation names to zero-argument callables
    returning the bytes one operation produces; before timing, an implementation
    whose output differs from the others' is reported as an error instead of
    being timed.  ``openssl`` is the ``openssl speed`` selection giving the C
    figure for this operation (e.g. ``("-evp", "sha256")``), or None.
    ``close``, if given, releases what the implementations hold (peer processes,
    sockets); :func:`run_case` calls it once the case is measured, whatever happened.
    """

    __slots__ = ("group", "name", "size", "impls", "check", "openssl", "note", "close")

    def __init__(self, group, name, size, impls, check=None, openssl=None, note="", close=None):
        self.group = group
        self.name = name
        self.size = size
        self.impls = {impl: impls.get(impl) for impl in IMPLEMENTATIONS}
        unknown = set(impls) - set(IMPLEMENTATIONS)
        if unknown:
            raise ValueError(f"unknown implementation names: {sorted(unknown)}")
        self.check = check or {}
        self.openssl = openssl
        self.note = note
        self.close = close

    @property
    def id(self):
        return f"{self.group}/{self.name}"

    def __repr__(self):
        return f"<Case {self.id}>"


_LOOP_SOURCE = """
def loop(fn, n, keep):
    for i in range(n):
        keep[i & 7] = fn()
"""


def _make_loop():
    """A new timing loop with its own code object.

    PyPy's JIT compiles a loop per code object: sharing one loop between
    implementations would make the first one measured the main trace and the
    others bridges off it.  Each result is stored into ``keep`` (a list the
    caller holds), so the JIT cannot prove the result unused and drop the work.
    """
    namespace = {}
    exec(compile(_LOOP_SOURCE, "<tls.bench loop>", "exec"), namespace)
    return namespace["loop"]


def _warm_up(loop, fn, seconds, keep):
    """Run ``fn`` for at least ``seconds``; return its rate (ops/s) over the last batch."""
    n = 1
    deadline = _now() + seconds
    while True:
        t0 = _now()
        loop(fn, n, keep)
        dt = _now() - t0
        if t0 + dt >= deadline and dt > 0.002:
            return n / dt
        if dt < 0.02:
            n *= 2
        elif dt > 0.1 and n > 1:
            n //= 2


def loop_overhead_ns(seconds=0.05):
    """Cost of the measuring loop itself per operation (an empty callable), in ns."""
    keep = [None] * 8

    def fn():
        return None

    rate = _warm_up(_make_loop(), fn, seconds, keep)
    return 1e9 / rate


def _outputs_differ(case):
    """Return ``{impl: message}`` for implementations whose output differs from the reference's.

    The reference is the first of stdlib, cryptography (in that order) with a
    check; an implementation whose check raises is reported too.
    """
    outputs, errors = {}, {}
    for impl in IMPLEMENTATIONS:
        produce = case.check.get(impl)
        if produce is None or not callable(case.impls.get(impl)):
            continue
        try:
            outputs[impl] = bytes(produce())
        except Exception as exc:
            errors[impl] = f"{type(exc).__name__}: {exc}"
    reference = next((impl for impl in ("stdlib", "cryptography") if impl in outputs), None)
    for impl, out in outputs.items():
        if reference is not None and out != outputs[reference]:
            errors[impl] = f"wrong output (differs from {reference})"
    return errors


def measure(case, warmup, seconds, repetitions):
    """Measure every usable implementation of ``case``.

    Returns ``{impl: result}`` where result is a dict with ``status`` "ok"
    (``ops_per_s`` median, ``min``, ``max``, ``samples``, ``iterations``),
    "unavailable" or "error" (``reason``), or "n/a" (no such implementation).
    """
    results = {}
    active = {}
    bad_output = _outputs_differ(case)
    for impl in IMPLEMENTATIONS:
        fn = case.impls[impl]
        if fn is None:
            results[impl] = {"status": "n/a"}
        elif isinstance(fn, Unavailable):
            results[impl] = {"status": "unavailable", "reason": fn.reason}
        elif impl in bad_output:
            results[impl] = {"status": "error", "reason": bad_output[impl]}
        else:
            active[impl] = fn
    keep = [None] * 8
    counts = {}
    loops = {impl: _make_loop() for impl in active}
    for impl, fn in list(active.items()):
        try:
            rate = _warm_up(loops[impl], fn, warmup, keep)
        except Exception as exc:
            results[impl] = {"status": "error", "reason": f"{type(exc).__name__}: {exc}"}
            del active[impl]
            continue
        counts[impl] = max(1, int(rate * seconds / repetitions))
    samples = {impl: [] for impl in active}
    for _ in range(repetitions):
        for impl, fn in list(active.items()):  # interleaved: tls, stdlib, cryptography, tls, ...
            n = counts[impl]
            try:
                t0 = _now()
                loops[impl](fn, n, keep)
                dt = _now() - t0
            except Exception as exc:  # failed after warming up: report it, keep measuring the others
                results[impl] = {"status": "error", "reason": f"{type(exc).__name__}: {exc}"}
                del active[impl], samples[impl]
                continue
            samples[impl].append(n / dt if dt > 0 else float("inf"))
    for impl, rates in samples.items():
        results[impl] = {
            "status": "ok",
            "ops_per_s": statistics.median(rates),
            "mb_per_s": statistics.median(rates) * case.size / 1e6,
            "min": min(rates),
            "max": max(rates),
            "iterations": counts[impl],
            "samples": rates,
        }
    return {impl: results[impl] for impl in IMPLEMENTATIONS}


def run_case(case, warmup, seconds, repetitions):
    """:func:`measure` the case, then release its resources (``case.close``) even if measuring failed."""
    try:
        return measure(case, warmup, seconds, repetitions)
    finally:
        if case.close is not None:
            case.close()


def paired_ratio(results, num, den):
    """Median over repetitions of ``num``'s rate / ``den``'s rate in the same repetition.

    Repetitions interleave the implementations, so each pair ran under the same
    machine load: the median of the per-repetition ratios is steadier than the
    ratio of the medians.  None when either side has no figure.
    """
    a, b = results.get(num, {}), results.get(den, {})
    if a.get("status") != "ok" or b.get("status") != "ok":
        return None
    return statistics.median(x / y for x, y in zip(a["samples"], b["samples"]))
