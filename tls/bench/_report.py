"""Run records (what ``--json`` writes), the text table, and the ``compare`` report (Markdown + chart)."""

from __future__ import annotations

import datetime
import json
import math
import os
import platform
import sys

from tls.bench import _core, _targets

FORMAT = "tls-bench/1"
COLUMNS = ("tls", "stdlib", "cryptography")
BIG = 16 * 1024  # from this size on, tables show MB/s instead of ops/s


# ---------------------------------------------------------------------------- run records

def interpreter_info():
    impl = platform.python_implementation()
    version = platform.python_version()
    info = {"implementation": impl, "version": version, "executable": sys.executable}
    if impl == "PyPy":
        v = sys.pypy_version_info
        info["pypy_version"] = f"{v.major}.{v.minor}.{v.micro}"
        info["label"] = f"PyPy {info['pypy_version']} (Python {version})"
    else:
        info["label"] = f"{impl} {version}"
    return info


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.lower().startswith(("model name", "cpu model", "hardware")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _versions(openssl):
    from tls import __version__

    versions = {"tls": __version__}
    try:
        from tls import _binding

        versions["openssl_built"] = _binding.openssl_version_built()
        versions["openssl_loaded"] = _binding.openssl_version_loaded()
    except Exception as exc:
        versions["openssl_built"] = versions["openssl_loaded"] = f"unavailable: {type(exc).__name__}: {exc}"
    try:
        import cryptography

        versions["cryptography"] = cryptography.__version__
    except Exception as exc:
        versions["cryptography"] = None
        versions["cryptography_missing"] = f"{type(exc).__name__}: {exc}"
    try:
        import cffi

        versions["cffi"] = cffi.__version__
    except Exception:
        versions["cffi"] = None
    versions["openssl_binary"] = openssl.version() if openssl.binary else None
    return versions


def run_header(interp, openssl, warmup, seconds, repetitions, quick, groups, patterns):
    return {
        "format": FORMAT,
        "date": datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat(),
        "interpreter": interp,
        "label": interp["label"],
        "versions": _versions(openssl),
        "machine": {"cpu_model": _cpu_model(), "cpu_count": os.cpu_count(), "platform": platform.platform()},
        "settings": {
            "warmup_s": warmup, "seconds": seconds, "repetitions": repetitions, "quick": quick,
            "openssl": openssl.enabled and bool(openssl.binary), "groups": list(groups),
            "case_patterns": list(patterns),
        },
        "cases": [],
    }


def case_record(case, results, c_figure):
    ratios = {
        "tls/stdlib": _core.paired_ratio(results, "tls", "stdlib"),
        "tls/cryptography": _core.paired_ratio(results, "tls", "cryptography"),
        "tls/openssl": None,
    }
    if results["tls"].get("status") == "ok" and c_figure.get("status") == "ok":
        ratios["tls/openssl"] = results["tls"]["ops_per_s"] / c_figure["ops_per_s"]
    return {"group": case.group, "name": case.name, "size": case.size, "note": case.note,
            "results": results, "openssl": c_figure, "ratios": ratios}


def write_json(record, path):
    with open(path, "w") as f:
        json.dump(record, f, indent=1, sort_keys=False)
        f.write("\n")


def load_run(path):
    with open(path) as f:
        try:
            record = json.load(f)
        except ValueError as exc:
            raise ValueError(f"not JSON: {exc}")
    if not isinstance(record, dict) or not str(record.get("format", "")).startswith("tls-bench/"):
        raise ValueError("not a tls bench run (no 'format': 'tls-bench/...')")
    if not isinstance(record.get("cases"), list) or "interpreter" not in record:
        raise ValueError("incomplete tls bench run (no cases or interpreter)")
    record.setdefault("label", record["interpreter"].get("label", "?"))
    record["file"] = path
    return record


# ---------------------------------------------------------------------------- formatting

def _rate(result, size):
    """One figure: ops/s below 16 KiB, MB/s from there on."""
    if size >= BIG:
        return f"{result['mb_per_s']:.0f}" if result["mb_per_s"] >= 100 else f"{result['mb_per_s']:.1f}"
    ops = result["ops_per_s"]
    if ops >= 1e6:
        return f"{ops / 1e6:.2f}M"
    if ops >= 1e3:
        return f"{ops / 1e3:.1f}k"
    return f"{ops:.0f}"


def _spread(result):
    median = result["ops_per_s"]
    if "min" not in result or not median:
        return ""
    return f" ±{(result['max'] - result['min']) / 2 / median * 100:.0f}%"


def _ratio(value):
    return "-" if value is None else f"{value:.2f}x"


def unit(size):
    return "MB/s" if size >= BIG else "ops/s"


class _Notes:
    """Numbered footnotes for cells that hold no figure (unavailable, error, skipped)."""

    def __init__(self):
        self.numbers = {}

    def cell(self, what, result):
        status = result.get("status", "n/a")
        if status == "n/a":
            return "-"
        text = f"{what}: {status}: {result.get('reason', '')}".rstrip(": ")
        number = self.numbers.setdefault(text, len(self.numbers) + 1)
        short = {"unavailable": "unavail", "error": "ERROR", "skipped": "skip"}.get(status, status)
        return f"{short}[{number}]"

    def lines(self):
        return [f"[{n}] {text}" for text, n in self.numbers.items()]


def _cells(case, notes, spread=True):
    cells = []
    for impl in COLUMNS:
        result = case["results"].get(impl, {"status": "n/a"})
        if result.get("status") == "ok":
            cells.append(_rate(result, case["size"]) + (_spread(result) if spread else ""))
        else:
            cells.append(notes.cell(impl, result))
    c_figure = case.get("openssl") or {"status": "n/a"}
    cells.append(_rate(c_figure, case["size"]) if c_figure.get("status") == "ok"
                 else notes.cell("OpenSSL C", c_figure))
    ratios = case["ratios"]
    cells += [_ratio(ratios["tls/stdlib"]), _ratio(ratios["tls/cryptography"]), _ratio(ratios["tls/openssl"])]
    return cells


def _targets_cell(verdicts):
    if not verdicts:
        return ""
    missed = [v for v in verdicts if v["met"] is False]
    unknown = [v for v in verdicts if v["met"] is None]
    if missed:
        return f"NOT met {len(missed)}/{len(verdicts)}"
    if len(unknown) == len(verdicts):
        return "no data"
    if unknown:
        return f"met {len(verdicts) - len(unknown)}, no data {len(unknown)}"
    return "met" if len(verdicts) == 1 else f"met {len(verdicts)}/{len(verdicts)}"


def _align(rows):
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    out = []
    for row in rows:
        out.append("  ".join(str(cell).ljust(w) for cell, w in zip(row, widths)).rstrip())
    return out


HEADER = ("case", "unit", "tls", "stdlib", "cryptography", "OpenSSL C", "tls/stdlib", "tls/crypt", "tls/C")


def _measured(verdict):
    if verdict.get("measured"):
        return verdict["measured"]
    return "-" if verdict["ratio"] is None else f"{verdict['ratio']:.3f}x"


def _verdict_rows(verdicts):
    rows = []
    for v in verdicts:
        status = "no data" if v["met"] is None else ("met" if v["met"] else "NOT met")
        rows.append((status, _measured(v), v["case"], v["target"], v.get("why", "")))
    return rows


def text_table(record):
    """The single-run table printed at the end of ``python -m tls bench``."""
    verdicts = record.get("targets", [])
    by_case = {}
    for v in verdicts:
        by_case.setdefault(v["case"], []).append(v)
    notes = _Notes()
    rows = [HEADER + ("targets",)]
    for case in record["cases"]:
        case_id = f"{case['group']}/{case['name']}"
        rows.append((case_id, unit(case["size"]), *_cells(case, notes), _targets_cell(by_case.get(case_id))))
    s = record["settings"]
    lines = [
        f"tls bench on {record['label']}, {record['date']}, {record['machine']['cpu_model']} "
        f"({record['machine']['cpu_count']} CPUs), {record['versions'].get('openssl_loaded')}",
        f"median of {s['repetitions']} interleaved repetitions after {s['warmup_s']:g} s warm-up "
        f"per implementation; ±: half the min-max spread; ratios: median of per-repetition ratios "
        f"(tls/C: of medians); MB = 10^6 bytes",
        "",
    ]
    lines += _align(rows)
    legends = record.get("legends", {})
    if legends:
        lines.append("")
        lines += [f"{group}: {text}" for group, text in legends.items()]
    if notes.numbers:
        lines.append("")
        lines += notes.lines()
    if verdicts:
        lines += ["", "Targets on this interpreter (cross-interpreter targets: python -m tls bench compare):"]
        lines += ["  " + line for line in _align(_verdict_rows(verdicts))]
    return "\n".join(lines)


def progress_summary(case):
    parts = []
    for impl in COLUMNS:
        result = case["results"].get(impl, {})
        if result.get("status") == "ok":
            parts.append(f"{impl} {_rate(result, case['size'])} {unit(case['size'])}{_spread(result)}")
        elif result.get("status") not in (None, "n/a"):
            parts.append(f"{impl} {result['status']}")
    c_figure = case.get("openssl") or {}
    if c_figure.get("status") == "ok":
        parts.append(f"C {_rate(c_figure, case['size'])}")
    return ", ".join(parts)


# ---------------------------------------------------------------------------- memory (--memory)

MIB = 1024 * 1024
MEMORY_HEADER = ("workload", "impl", "per round", "rate", "start", "after warm-up", "RSS per round", "end",
                 "growth", "peak", "verdict")


def _mib(value):
    return f"{value / MIB:.1f}"


def _count(n):
    if n >= 1000 and n % 1000 == 0:
        return f"{n // 1000}k"
    return str(n)


def _per_second(value):
    if not value:
        return "-"
    if value >= 1e6:
        return f"{value / 1e6:.2f}M/s"
    if value >= 1e3:
        return f"{value / 1e3:.1f}k/s"
    return f"{value:.0f}/s"


def memory_verdict(impl, result):
    """tls rows are judged against the target; the others are references, marked the same way."""
    grows = _targets.grows(result)
    if grows is None:
        return ""
    if impl == "tls":
        return "NOT met" if grows else "met"
    return "GROWS (ref)" if grows else "flat (ref)"


def memory_summary(result):
    """One line of progress for one measured process."""
    if result.get("status") != "ok":
        return f"{result.get('status')}: {result.get('reason', '')}"
    return (f"{_mib(result['rss_after_warmup'])} -> {_mib(result['rss_end'])} MiB "
            f"({result['growth_pct']:+.1f}%), peak {_mib(result['peak_rss'])} MiB, "
            f"{_per_second(result.get('ops_per_s'))}")


def _memory_rows(memory, notes):
    rows = []
    for workload in memory["workloads"]:
        first = True
        for impl in COLUMNS:
            result = workload["results"].get(impl, {"status": "n/a"})
            if result.get("status") == "n/a":
                continue
            name = f"{workload['group']}/{workload['name']}" if first else ""
            first = False
            per_round = f"{_count(result.get('ops_per_round', workload['ops_per_round']))} {workload['unit']}"
            if result.get("ops_per_round", workload["ops_per_round"]) != workload["ops_per_round"]:
                per_round += "*"
            if result.get("status") != "ok":
                rows.append((name, impl, per_round, notes.cell(impl, result)) + ("",) * 7)
                continue
            rounds = " ".join(_mib(r["rss"]) for r in result["rounds"])
            rows.append((name, impl, per_round, _per_second(result.get("ops_per_s")),
                         _mib(result["rss_start"]), _mib(result["rss_after_warmup"]), rounds,
                         _mib(result["rss_end"]), f"{result['growth_pct']:+.1f}%", _mib(result["peak_rss"]),
                         memory_verdict(impl, result)))
    return rows


def _memory_method(memory):
    s = memory["settings"]
    return (f"each workload and implementation in a fresh process; 1 warm-up round, then {s['rounds']} "
            f"rounds; RSS in MiB (2^20 bytes), start: before the warm-up, then after each round's "
            f"gc.collect(); growth: end / after warm-up - 1; target: tls grows < "
            f"{_targets.GROWTH_LIMIT_PCT:g}%" + (f"; *: a reference slower than {s['reference_round_s']:g} s "
                                                 f"a round ran fewer operations"
                                                 if s.get("reference_round_s") else ""))


def _memory_source(memory):
    for workload in memory["workloads"]:
        for result in workload["results"].values():
            if result.get("status") == "ok":
                return result["source"]
    return "no reading"


def memory_text_table(record):
    """The table printed at the end of ``python -m tls bench --memory``."""
    memory = record["memory"]
    notes = _Notes()
    lines = [
        f"tls bench --memory on {record['label']}, {record['date']}, {record['machine']['cpu_model']} "
        f"({record['machine']['cpu_count']} CPUs), {record['versions'].get('openssl_loaded')}",
        _memory_method(memory) + f"; RSS from {_memory_source(memory)}",
        "",
    ]
    lines += _align([MEMORY_HEADER] + _memory_rows(memory, notes))
    lines += ["", "memory: " + record.get("legends", {}).get("memory", "")]
    if notes.numbers:
        lines += [""] + notes.lines()
    verdicts = memory.get("targets", [])
    if verdicts:
        met = sum(1 for v in verdicts if v["met"])
        missed = sum(1 for v in verdicts if v["met"] is False)
        unknown = len(verdicts) - met - missed
        lines += ["", f"Memory target: {met} met, {missed} not met, {unknown} without data."]
        lines += ["  " + line for line in _align(_verdict_rows(verdicts))]
    return "\n".join(lines)


def memory_markdown(runs, notes):
    """The ``## Memory`` section of the compare report: one table per run with a memory section."""
    with_memory = [run for run in runs if run.get("memory")]
    if not with_memory:
        return []
    lines = ["", "## Memory", ""]
    legend = next((r["legends"]["memory"] for r in with_memory if "memory" in r.get("legends", {})), None)
    if legend:
        lines += [legend, ""]
    for run in with_memory:
        memory = run["memory"]
        method = _memory_method(memory) + f"; RSS from {_memory_source(memory)}."
        lines += [f"### {run['label']}", "", method, ""]
        lines += _md_table([MEMORY_HEADER] + _memory_rows(memory, notes))
        lines.append("")
    return lines[:-1]


# ---------------------------------------------------------------------------- compare

def _label_runs(runs):
    seen = {}
    for run in runs:
        seen[run["label"]] = seen.get(run["label"], 0) + 1
    for run in runs:
        if seen[run["label"]] > 1:
            run["label"] = f"{run['label']} ({os.path.basename(run['file'])})"


def _md_table(rows):
    out = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows[1:]]
    return out


def _case_index(runs):
    order, seen = [], set()
    for run in runs:
        for case in run["cases"]:
            key = (case["group"], case["name"])
            if key not in seen:
                seen.add(key)
                order.append(key)
    lookup = {(run["label"], c["group"], c["name"]): c for run in runs for c in run["cases"]}
    return order, lookup


def _figure(case, impl):
    if case is None:
        return None
    result = case.get("openssl") if impl == "openssl" else case["results"].get(impl)
    return result["ops_per_s"] if result and result.get("status") == "ok" else None


def cross_ratios(runs, order, lookup):
    """Columns "tls on A / X on B" for every pair of runs of different interpreters with data."""
    columns = []
    numerators = sorted(runs, key=lambda run: run["interpreter"]["implementation"] != "PyPy")  # PyPy first
    for a in numerators:
        for b in runs:
            if a is b or a["interpreter"]["implementation"] == b["interpreter"]["implementation"]:
                continue
            for impl in ("stdlib", "cryptography"):
                values = {}
                for key in order:
                    num = _figure(lookup.get((a["label"],) + key), "tls")
                    den = _figure(lookup.get((b["label"],) + key), impl)
                    if num is not None and den is not None:
                        values[key] = num / den
                if values:
                    columns.append((f"tls on {a['label']} / {impl} on {b['label']}", values))
    return columns


def _settings_cell(run):
    s = run["settings"]
    quick = " (quick)" if s.get("quick") else ""
    if s.get("memory"):
        memory = run.get("memory", {}).get("settings", {})
        return f"memory: 1 warm-up + {memory.get('rounds', '?')} rounds" + quick
    return f"{s['warmup_s']:g} s / {s['seconds']:g} s / {s['repetitions']}" + quick


def markdown(runs):
    order, lookup = _case_index(runs)
    lines = ["# tls benchmark report", "",
             "Figures are medians (ops/s below 16 KiB, MB/s = 10^6 bytes/s from 16 KiB on); "
             "same-run ratios are medians of per-repetition ratios (implementations interleaved); "
             "cross-interpreter ratios divide medians of different runs.", "", "## Runs", ""]
    rows = [("run", "file", "date", "tls", "OpenSSL loaded", "cryptography", "CPU",
             "warm-up / timed / reps, or memory rounds")]
    for run in runs:
        v = run["versions"]
        rows.append((run["label"], os.path.basename(run["file"]), run["date"], v.get("tls"),
                     v.get("openssl_loaded"), v.get("cryptography") or "not importable",
                     f"{run['machine']['cpu_model']} ×{run['machine']['cpu_count']}",
                     _settings_cell(run)))
    lines += _md_table(rows)
    commands = [f"- {run['label']}: `{run['command']}`" for run in runs if run.get("command")]
    if commands:
        lines += ["", "Made with:", ""] + commands
    notes = _Notes()
    groups = []
    for group, _ in order:
        if group not in groups:
            groups.append(group)
    for group in groups:
        lines += ["", f"## {group}", ""]
        legend = next((r["legends"][group] for r in runs if group in r.get("legends", {})), None)
        if legend:
            lines += [legend, ""]
        rows = [("case", "run") + HEADER[1:]]
        for key in order:
            if key[0] != group:
                continue
            for run in runs:
                case = lookup.get((run["label"],) + key)
                if case is not None:
                    rows.append((key[1], run["label"], unit(case["size"]), *_cells(case, notes)))
        lines += _md_table(rows)
    lines += memory_markdown(runs, notes)
    columns = cross_ratios(runs, order, lookup)
    if columns:
        lines += ["", "## Cross-interpreter ratios", ""]
        rows = [("case",) + tuple(title for title, _ in columns)]
        for key in order:
            rows.append((f"{key[0]}/{key[1]}",) + tuple(_ratio(values.get(key)) for _, values in columns))
        lines += _md_table(rows)
    verdicts = _targets.judge_runs(runs)
    if verdicts:
        lines += ["", "## Targets", ""]
        met = sum(1 for v in verdicts if v["met"])
        missed = sum(1 for v in verdicts if v["met"] is False)
        lines += [f"{met} met, {missed} not met, {len(verdicts) - met - missed} without data.", ""]
        rows = [("status", "measured", "target", "case", "run", "why no data")]
        for v in verdicts:
            status = "met" if v["met"] else ("**NOT met**" if v["met"] is False else "no data")
            rows.append((status, _measured(v), v["target"], v["case"], v["run"], v.get("why", "")))
        lines += _md_table(rows)
    if notes.numbers:
        lines += ["", "## Notes", ""] + [f"- {line}" for line in notes.lines()]
    return "\n".join(lines) + "\n"


def _chart_base(runs, lookup, key):
    """A case's yardstick: the OpenSSL C figure (from any run), else the fastest figure of all runs."""
    for run in runs:
        c_figure = _figure(lookup.get((run["label"],) + key), "openssl")
        if c_figure:
            return c_figure, True
    fastest = max((_figure(lookup.get((run["label"],) + key), impl) or 0) for run in runs for impl in COLUMNS)
    return fastest or None, False


def _minor_label(value, _pos):
    """Label the 2x and 5x minor ticks of a log axis, leave the others blank."""
    if value <= 0:
        return ""
    mantissa = round(value / 10 ** math.floor(math.log10(value)))
    return f"{value:g}" if mantissa in (2, 5) else ""


def chart(runs, path):
    """Draw a chart: per case, every (interpreter, implementation) figure divided by OpenSSL's C figure."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    order, lookup = _case_index(runs)
    groups = []
    for group, _ in order:
        if group not in groups:
            groups.append(group)
    series = [(run, impl) for run in runs for impl in COLUMNS
              if any(_figure(c, impl) for c in run["cases"])]
    most = max(sum(1 for k in order if k[0] == g) for g in groups)
    fig, axes = plt.subplots(len(groups), 1, figsize=(max(8.0, 0.75 * most + 3), 4.8 * len(groups)),
                             squeeze=False)
    width = 0.8 / max(1, len(series))
    for ax, group in zip(axes[:, 0], groups):
        keys = [k for k in order if k[0] == group]
        bases = [_chart_base(runs, lookup, key) for key in keys]
        for i, (run, impl) in enumerate(series):
            xs, ys = [], []
            for x, (key, (base, _)) in enumerate(zip(keys, bases)):
                value = _figure(lookup.get((run["label"],) + key), impl)
                if value is not None and base:
                    xs.append(x - 0.4 + width * (i + 0.5))
                    ys.append(value / base)
            if xs:
                ax.bar(xs, ys, width, label=f"{impl} on {run['label']}")
        ax.set_xticks(range(len(keys)))
        ax.set_xticklabels([k[1] + ("" if has_c else " *") for k, (_, has_c) in zip(keys, bases)],
                           rotation=35, ha="right", fontsize=8)
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.yaxis.set_minor_formatter(FuncFormatter(_minor_label))
        ax.tick_params(axis="y", which="minor", labelsize=7)
        ax.axhline(1.0, color="black", linewidth=0.8)
        ax.set_ylabel("÷ OpenSSL C figure" + ("" if all(has_c for _, has_c in bases) else
                                             "\n(* no C figure: ÷ fastest)"))
        ax.set_title(f"{group}: median rate relative to OpenSSL's own C figure (log scale)")
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.005, 1.0))
        ax.grid(axis="y", which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_report(runs, out):
    """Write OUT.md and, when matplotlib imports, OUT.png; return (paths written, note or None)."""
    _label_runs(runs)
    md_path, png_path = out + ".md", out + ".png"
    folder = os.path.dirname(os.path.abspath(md_path))
    os.makedirs(folder, exist_ok=True)
    text = markdown(runs)
    note = None
    if not any(run["cases"] for run in runs):  # only --memory runs: no rates to draw
        with open(md_path, "w") as f:
            f.write(text)
        return [md_path], None
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        note = ("no chart: matplotlib is not importable on this interpreter; "
                "pip install '.[bench]' (or matplotlib) to draw " + png_path)
    else:
        chart(runs, png_path)
        text += f"\n![tls benchmark chart]({os.path.basename(png_path)})\n"
    with open(md_path, "w") as f:
        f.write(text)
    return ([md_path] + ([] if note else [png_path])), note
