"""``python -m tls bench``: tls against the stdlib, cryptography and OpenSSL's own C figure.

    python -m tls bench [GROUP ...] [--quick] [--group NAME] [--case PATTERN]
                        [--seconds S] [--warmup W] [--json FILE] [--no-openssl]
    python -m tls bench --memory [GROUP ...] [--quick] [--case PATTERN] [--rounds N] [--json FILE]
    python -m tls bench compare A.json B.json ... [--out report]

Every group is a module of this package with a ``cases()`` function returning
:class:`tls.bench._core.Case` objects and a ``LEGEND`` string; :data:`GROUPS`
lists them in running order, so a new group (``tls``, ``sockets``) is one module
and one line here; ``cases(quick=False)`` may take ``quick`` to shrink its sizes under
``--quick``.  Progress goes to stderr, the table to stdout.  ``--memory``
measures RSS growth instead of speed (:mod:`tls.bench.memory`); its workloads
belong to the same groups, so ``GROUP``/``--group``/``--case`` select them too.
"""

from __future__ import annotations

import argparse
import fnmatch
import importlib
import inspect
import os
import sys
import time

from tls.bench import _core, _report, _targets, memory
from tls.bench._openssl_speed import OpenSSLSpeed

GROUPS = {
    "hashes": "tls.bench.hashes",
    "ciphers": "tls.bench.ciphers",
    "tls": "tls.bench.tls",
    "sockets": "tls.bench.sockets",
}

DEFAULTS = {  # (warm-up per implementation, timed seconds per implementation, repetitions)
    "full": (0.5, 0.3, 9),
    "quick": (0.04, 0.04, 3),
}


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message)


def _positive_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}")
    if not value > 0 or value != value or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, not {text}")
    return value


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}")
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {text}")
    return value


def _run_parser():
    p = _Parser(prog="python -m tls bench", description=__doc__.split("\n\n")[0],
                epilog="python -m tls bench compare A.json B.json ... --out report: merge runs "
                       f"into report.md and report.png.  Groups: {', '.join(GROUPS)}.")
    p.add_argument("groups", nargs="*", metavar="GROUP", help="groups to run (default: all)")
    p.add_argument("--group", action="append", default=[], metavar="NAME", help="a group to run (repeatable)")
    p.add_argument("--case", action="append", default=[], metavar="PATTERN",
                   help="only cases whose id (group/name) matches: a glob, or a substring (repeatable)")
    p.add_argument("--quick", action="store_true",
                   help="smoke run, under 20 s: short warm-up and timing, C figures for 1 MiB only")
    p.add_argument("--seconds", type=_positive_float, metavar="S",
                   help="timed seconds per implementation per case (default 0.3; --quick 0.04)")
    p.add_argument("--warmup", type=_positive_float, metavar="W",
                   help="warm-up seconds per implementation per case (default 0.5; --quick 0.04)")
    p.add_argument("--repetitions", type=_positive_int, metavar="N",
                   help="timed repetitions, interleaving the implementations (default 9; --quick 3)")
    p.add_argument("--json", metavar="FILE", help="write the run (settings, versions, samples) as JSON")
    p.add_argument("--no-openssl", action="store_true", help="skip the openssl speed C figures")
    p.add_argument("--memory", action="store_true",
                   help="measure peak RSS and RSS growth instead of speed: each workload and implementation "
                        "in a fresh process, a warm-up round, then measured rounds (a few minutes; "
                        "--quick: seconds)")
    p.add_argument("--rounds", type=_positive_int, metavar="N",
                   help="--memory: measured rounds after the warm-up round (default 5; --quick 2)")
    return p


def _compare_parser():
    p = _Parser(prog="python -m tls bench compare",
                description="Merge JSON runs (e.g. one per interpreter) into OUT.md and OUT.png.")
    p.add_argument("files", nargs="+", metavar="RUN.json")
    p.add_argument("--out", default="report", metavar="OUT",
                   help="output path without suffix (default: report)")
    return p


def _matches(case, patterns):
    """A glob matches the case's id (group/name) or its name; other patterns are substrings of the id."""
    if not patterns:
        return True
    for pattern in patterns:
        if any(ch in pattern for ch in "*?["):
            if fnmatch.fnmatchcase(case.id, pattern) or fnmatch.fnmatchcase(case.name, pattern):
                return True
        elif pattern in case.id:
            return True
    return False


def select_groups(names):
    unknown = [n for n in names if n not in GROUPS]
    if unknown:
        raise UsageError(f"unknown group(s): {', '.join(unknown)} (choose from {', '.join(GROUPS)})")
    chosen = [n for n in GROUPS if n in names] if names else list(GROUPS)
    return chosen


def _group_cases(module, quick):
    """A group's cases; a group whose ``cases()`` takes ``quick`` gets it (smaller sizes
    for ``--quick``, as the sockets group's sendfile file)."""
    if "quick" in inspect.signature(module.cases).parameters:
        return module.cases(quick=quick)
    return module.cases()


def run(groups, patterns=(), warmup=0.5, seconds=0.3, repetitions=5, openssl=None, quick=False,
        progress=None):
    """Run the chosen groups; return the run record (what ``--json`` writes)."""
    openssl = openssl if openssl is not None else OpenSSLSpeed(enabled=False)
    progress = progress or (lambda text, end="\n": None)
    interp = _report.interpreter_info()
    started = time.time()
    record = _report.run_header(interp, openssl, warmup, seconds, repetitions, quick, groups, patterns)
    record["loop_overhead_ns"] = _core.loop_overhead_ns()
    legends = {}
    for group in groups:
        module = importlib.import_module(GROUPS[group])
        selected = [c for c in _group_cases(module, quick) if _matches(c, patterns)]
        if selected:
            legends[group] = module.LEGEND
        for index, case in enumerate(selected, 1):
            progress(f"[{interp['label']}] {group} {index}/{len(selected)} {case.name} ... ", end="")
            results = _core.run_case(case, warmup, seconds, repetitions)
            selection = case.openssl
            if quick and case.size < 1024 * 1024 and selection is not None and openssl.enabled:
                c_figure = {"status": "skipped", "reason": "--quick: C figures for 1 MiB cases only"}
            else:
                c_figure = openssl.figure(selection, case.size)
            entry = _report.case_record(case, results, c_figure)
            record["cases"].append(entry)
            progress(_report.progress_summary(entry))
    record["legends"] = legends
    record["targets"] = _targets.judge_run(record)
    record["elapsed_s"] = round(time.time() - started, 2)
    return record


def run_memory(groups, patterns=(), quick=False, rounds=None, progress=None):
    """Run the memory workloads of the chosen groups; return the run record (what ``--json`` writes)."""
    interp = _report.interpreter_info()
    started = time.time()
    workloads = [w for w in memory.WORKLOADS if w.group in groups and _matches(w, patterns)]
    rounds, ops_per_round = memory.settings(quick, rounds)
    no_speed = OpenSSLSpeed(enabled=False)
    record = _report.run_header(interp, no_speed, None, None, None, quick, groups, patterns)
    record["settings"]["memory"] = True
    record["legends"] = {"memory": memory.LEGEND}
    record["targets"] = []  # the speed targets; the memory ones are in record["memory"]["targets"]
    record["memory"] = memory.run(workloads, rounds, ops_per_round, quick, progress=progress,
                                  label=interp["label"], interpreter=interp["implementation"])
    record["elapsed_s"] = round(time.time() - started, 2)
    return record


def _bench(argv):
    args = _run_parser().parse_args(argv)
    groups = select_groups(list(args.groups) + list(args.group))
    if args.memory:
        speed_only = [name for name in ("seconds", "warmup", "repetitions") if getattr(args, name)]
        if speed_only:
            raise UsageError(f"--{', --'.join(speed_only)}: not with --memory (it counts rounds: --rounds)")
    elif args.rounds:
        raise UsageError("--rounds applies to --memory only")
    warmup, seconds, repetitions = DEFAULTS["quick" if args.quick else "full"]
    warmup = args.warmup or warmup
    seconds = args.seconds or seconds
    repetitions = args.repetitions or repetitions
    if args.json:  # fail now, not after a minute of measuring
        folder = os.path.dirname(os.path.abspath(args.json))
        try:
            os.makedirs(folder, exist_ok=True)  # as compare's --out does
        except OSError:
            pass  # reported just below
        if os.path.isdir(args.json) or not os.path.isdir(folder) or not os.access(folder, os.W_OK):
            raise UsageError(f"cannot write --json file {args.json!r}")
    progress = lambda text, end="\n": print(text, end=end, file=sys.stderr, flush=True)  # noqa: E731
    if args.memory:
        record = run_memory(groups, args.case, args.quick, args.rounds, progress)
        record["command"] = " ".join(["python -m tls bench"] + argv)
        if not record["memory"]["workloads"]:
            raise UsageError(f"no memory workload matches {' '.join(args.case)!r} "
                             f"in group(s) {', '.join(groups)}")
        print(_report.memory_text_table(record))
        if args.json:
            _report.write_json(record, args.json)
            print(f"\nwrote {args.json}", file=sys.stderr)
        return 0
    openssl = OpenSSLSpeed(enabled=not args.no_openssl)
    record = run(groups, args.case, warmup, seconds, repetitions, openssl, args.quick, progress=progress)
    record["command"] = " ".join(["python -m tls bench"] + argv)
    if not record["cases"]:
        raise UsageError(f"no case matches {' '.join(args.case)!r} in group(s) {', '.join(groups)}")
    print(_report.text_table(record))
    if args.json:
        _report.write_json(record, args.json)
        print(f"\nwrote {args.json}", file=sys.stderr)
    return 0


def _compare(argv):
    args = _compare_parser().parse_args(argv)
    runs = []
    for path in args.files:
        try:
            runs.append(_report.load_run(path))
        except (OSError, ValueError) as exc:
            raise UsageError(f"{path}: {exc}")
    written, note = _report.write_report(runs, args.out)
    for path in written:
        print(f"wrote {path}")
    if note:
        print(note, file=sys.stderr)
    return 0


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and argv[0] == "compare":
            return _compare(argv[1:])
        return _bench(argv)
    except UsageError as exc:
        prog = "python -m tls bench compare" if argv and argv[0] == "compare" else "python -m tls bench"
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
