"""``python -m tls bench --memory``: peak RSS and RSS growth over long runs, tls against its references.

Issue 6's memory target: over 1 million hash/AEAD operations and 10,000 TLS
handshakes, after one warm-up round, the resident set grows by less than 5%
on CPython and on PyPy: nothing leaks through ``ffi.gc`` destructors, handles
or callbacks.  The limit is declared in :mod:`tls.bench._targets`.

Method.  Every workload runs once per implementation, each time in a fresh
process of the same interpreter (``python -I``, from a temporary directory), so
one workload's garbage, heap fragmentation or JIT code never lands in another's
figure, and the stdlib's process never loads tls's binding.  The process sets
the workload up and checks one operation's output (a workload that does nothing
cannot look flat), on PyPy walks the GC's nursery once (:func:`settle_nursery`),
then runs one warm-up round and ``rounds`` measured rounds of the same number of
operations, keeping the last 8 results alive as the speed benchmark does.  It
reads its resident set size (``VmRSS`` in /proc/self/status) before the warm-up
round and after each round, each time after ``gc.collect()``.  Growth, the figure
judged, is RSS after the last round / RSS after the warm-up round - 1: memory that
no collection gives back (a leak), not garbage waiting for the GC.  The peak
(``VmHWM``, over the whole process) shows the rest, what a program sees.  The
uncollected reading of each round is kept in the JSON too (``rss_live``).
Without /proc (not Linux) every reading is ``ru_maxrss``, the peak so far, which
still grows with a leak.

Why collect.  PyPy frees an ``ffi.gc`` object's C memory only after the major
collection that finds the object dead (objects with destructors outlive the
nursery), and ``ffi.new`` buffers at the minor collection that finds them dead;
how late that comes depends on the nursery.  PyPy sizes it at half the cache
size /proc/cpuinfo reports: on the project's VMs, which report a 480 MiB L3,
that is a 240 MiB nursery, minor collections are rare and the first major one
waits for a heap of 8 nurseries (``PYPY_GC_MIN``'s default: ~2 GB).  Measured
there uncollected, every workload dropping objects that own C memory grew by
8% to 320% over 5 rounds, tls's and the references' alike (an ``ffi.new``
output buffer per HMAC digest, an AESGCM per message, handshakes, contexts,
connections; a new AESGCM per message settles only near 3.8 GiB), while with
``PYPY_GC_NURSERY=4MB`` that last one stays flat uncollected.  The collected
readings do not depend on the nursery.

A workload is a builder named by ``"module:function"``, called in the measuring
process as ``builder(impl, resources, *args)``; it returns ``(op, close)``: a
zero-argument callable doing one operation and a callable releasing what the
workload holds (or None).  ``resources`` holds the paths of the certificates
the parent made once for the run.  Builders outside tls (the tests' deliberately
leaking one) name the directory to import them from in :attr:`Workload.path`.
"""

from __future__ import annotations

import gc
import importlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

from tls.bench import _core, _report, _targets

ROUNDS = {"full": 5, "quick": 2}  # measured rounds after the warm-up round
OPS_PER_ROUND = {  # unit -> operations per round (full, quick)
    "ops": (200_000, 2_000),  # hash/HMAC/AEAD: 1 million measured
    "handshakes": (2_000, 20),  # 10,000 measured
    "connections": (600, 10),
    "contexts": (1_000, 20),
}
TIMEOUT = {"full": 900.0, "quick": 300.0}  # seconds per measuring process; killed after it
# A reference implementation (never tls) whose round would take longer than this many seconds runs fewer
# operations per round, so that one slow reference (cryptography on PyPy: ~15k AEAD ops/s) does not
# triple the run; the table marks its count.  tls always runs the full count the target is about.
REFERENCE_ROUND_SECONDS = {"full": 4.0, "quick": None}
PASSWORD = "tls-bench"  # of the encrypted key the context churn loads
KEEP = 8  # results kept alive, as in the speed benchmark's loop

# The 64-byte AEAD messages of tls.bench.ciphers (key bytes 1..n, its NONCE and AAD) encrypted by
# cryptography: every implementation is checked against these fixed answers.
AEAD_64B = {
    "AESGCM": "3e5fbec58bb109f8a9234d05907fca46ce40f53ff24794ee538e60ea181dbfbb"
              "e98ac666ab1843fc4cf8d5639acb3fc945ed61616382c818e9ff0860a4e522cc"
              "258cf40c2522da54103a62707f779c8b",
    "ChaCha20Poly1305": "e5b9aaf4c9e54736b3cfd443f8f1ecb3ad9402f424b6773f6dcf386f9e260f06"
                        "c1963a71e966a7da9029a9c1dc65bb207ec0be2f1d3822e805174b96fc1e1e71"
                        "a906773904b5e806cdfe5e8f05302908",
}
AEAD_KEY_LENGTH = {"AESGCM": 16, "ChaCha20Poly1305": 32}

LEGEND = (
    "Each workload and implementation in a fresh process (python -I): set-up and an output check, on PyPy "
    "a walk through the GC's nursery (its pages touched once), gc.collect(), the start reading, one "
    "warm-up round, then the measured rounds; after each round gc.collect(), then RSS (VmRSS). Growth "
    "(judged): end / after warm-up - 1, memory no collection gives back; peak: VmHWM of the process, "
    "which includes garbage waiting for the GC (on PyPy the GC runs late when /proc/cpuinfo reports a "
    "large cache: the nursery is half of it). "
    "hashes: 64-byte messages, one-shot digest, or a new object fed in 4 updates; ciphers: encrypt then "
    "decrypt a 64-byte message (12-byte nonce, 13-byte AAD) with one keyed object, or a new keyed object "
    "per encryption; tls: a TLS 1.3 handshake over a MemoryBIO pair (P-256 certificate, client verifies, "
    "server SNI callback, ALPN), or an SSLContext made and dropped (load_cert_chain of an encrypted key "
    "with a password callback, load_verify_locations); sockets: a loopback connection per operation "
    "(handshake, 1 KiB request, 16 KiB response, close) to a stdlib peer in another process."
)


class Workload:
    """One memory workload: ``builder`` ("module:function") run for each of ``impls``.

    ``unit`` names what one operation is ("ops", "handshakes", "connections",
    "contexts") and picks the operations per round; ``args`` (JSON values) go
    to the builder after ``(impl, resources)``; ``needs_certs`` asks the parent
    for the certificates; ``path`` is a directory the measuring process puts
    first on sys.path to import the builder from.
    """

    __slots__ = ("group", "name", "unit", "builder", "impls", "args", "needs_certs", "path")

    def __init__(self, group, name, unit, builder, impls, args=(), needs_certs=False, path=None):
        unknown = set(impls) - set(_core.IMPLEMENTATIONS)
        if unknown:
            raise ValueError(f"unknown implementation names: {sorted(unknown)}")
        self.group = group
        self.name = name
        self.unit = unit
        self.builder = builder
        self.impls = tuple(impls)
        self.args = list(args)
        self.needs_certs = needs_certs
        self.path = path

    @property
    def id(self):
        return f"{self.group}/{self.name}"

    def __repr__(self):
        return f"<Workload {self.id}>"


def _own(group, name, unit, builder, impls, args=(), needs_certs=False):
    return Workload(group, name, unit, f"{__name__}:{builder}", impls, args, needs_certs)


_STDLIB = ("tls", "stdlib")
_CRYPTOGRAPHY = ("tls", "cryptography")
WORKLOADS = (
    _own("hashes", "sha256-oneshot-64B", "ops", "build_hash", _STDLIB, ["sha256-oneshot"]),
    _own("hashes", "sha256-stream-64B", "ops", "build_hash", _STDLIB, ["sha256-stream"]),
    _own("hashes", "hmac-sha256-oneshot-64B", "ops", "build_hash", _STDLIB, ["hmac-sha256-oneshot"]),
    _own("hashes", "hmac-sha256-stream-64B", "ops", "build_hash", _STDLIB, ["hmac-sha256-stream"]),
    _own("ciphers", "aes128gcm-encrypt-decrypt-64B", "ops", "build_aead", _CRYPTOGRAPHY, ["AESGCM", False]),
    _own("ciphers", "chacha20poly1305-encrypt-decrypt-64B", "ops", "build_aead", _CRYPTOGRAPHY,
         ["ChaCha20Poly1305", False]),
    _own("ciphers", "aes128gcm-new-key-64B", "ops", "build_aead", _CRYPTOGRAPHY, ["AESGCM", True]),
    _own("tls", "handshake-p256", "handshakes", "build_handshake", _STDLIB, needs_certs=True),
    _own("tls", "context-churn", "contexts", "build_context_churn", _STDLIB, needs_certs=True),
    _own("sockets", "https-roundtrip", "connections", "build_roundtrip", _STDLIB, needs_certs=True),
)


# ---------------------------------------------------------------------------- builders (measuring process)

def _ssl_module(impl):
    return importlib.import_module("tls.ssl" if impl == "tls" else "ssl")


def build_hash(impl, resources, kind):
    """SHA-256 / HMAC-SHA256 of 64 bytes with ``tls.hashes``/``tls.hmac`` or ``hashlib``/``hmac``."""
    import hashlib
    import hmac

    from tls.bench import hashes as group

    is_hmac = kind.startswith("hmac-")
    if impl == "tls":
        mod = importlib.import_module("tls.hmac" if is_hmac else "tls.hashes")
    else:
        mod = hmac if is_hmac else hashlib
    data = group._message(64)
    step = len(data) // group.PARTS
    parts = [data[i * step:(i + 1) * step] for i in range(group.PARTS)]
    make, arg = {
        "sha256-oneshot": (group._sha256_oneshot, data),
        "sha256-stream": (group._sha256_stream, parts),
        "hmac-sha256-oneshot": (group._hmac_oneshot, data),
        "hmac-sha256-stream": (group._hmac_stream, parts),
    }[kind]
    op = make(mod, arg)
    expected = hmac.digest(group.KEY, data, "sha256") if is_hmac else hashlib.sha256(data).digest()
    if op() != expected:
        raise RuntimeError(f"{kind}: wrong digest")
    return op, None


def build_aead(impl, resources, class_name, new_key):
    """Encrypt then decrypt 64 bytes with one keyed object, or (``new_key``) encrypt with a new keyed
    object each time."""
    from tls.bench import ciphers as group

    name = "tls.ciphers.aead" if impl == "tls" else "cryptography.hazmat.primitives.ciphers.aead"
    cls = getattr(importlib.import_module(name), class_name)
    key = bytes(range(1, AEAD_KEY_LENGTH[class_name] + 1))
    data, nonce, aad = group._message(64), group.NONCE, group.AAD
    expected = bytes.fromhex(AEAD_64B[class_name])
    if new_key:
        def op():
            return cls(key).encrypt(nonce, data, aad)

        if op() != expected:
            raise RuntimeError(f"{class_name}: wrong ciphertext")
        return op, None
    aead = cls(key)
    encrypt, decrypt = aead.encrypt, aead.decrypt

    def op_pair():
        return decrypt(nonce, encrypt(nonce, data, aad), aad)

    if encrypt(nonce, data, aad) != expected or op_pair() != data:
        raise RuntimeError(f"{class_name}: wrong ciphertext or plaintext")
    return op_pair, None


def build_handshake(impl, resources):
    """A full TLS 1.3 handshake between two SSLObjects over MemoryBIOs (tls.bench.tls's helpers), with a
    server SNI callback and ALPN on both sides, so the callback paths are exercised too."""
    from tls.bench import tls as group

    mod = _ssl_module(impl)
    client_ctx, server_ctx = group._contexts(mod, resources["cert"], resources["key"])
    calls = [0]

    def sni(sslobj, server_name, context):
        if server_name == group.HOSTNAME:
            calls[0] += 1

    server_ctx.sni_callback = sni
    client_ctx.set_alpn_protocols(["h2", "http/1.1"])
    server_ctx.set_alpn_protocols(["http/1.1"])
    connect = group._handshaker(mod, client_ctx, server_ctx)
    client, _, _, server, _, _ = connect()
    got = (client.version(), server.version(), client.selected_alpn_protocol(), calls[0])
    if got != ("TLSv1.3", "TLSv1.3", "http/1.1", 1):
        raise RuntimeError(f"unexpected handshake: (client version, server version, ALPN, SNI calls) = {got}")

    def op():
        return connect()[0]

    return op, None


def build_context_churn(impl, resources):
    """A server SSLContext made per operation: load_cert_chain (an encrypted key, a password callback) and
    load_verify_locations, then dropped."""
    mod = _ssl_module(impl)
    SSLContext, server = mod.SSLContext, mod.PROTOCOL_TLS_SERVER
    cert, key = resources["cert"], resources["encrypted_key"]
    password = resources["password"]

    def get_password():
        return password

    def op():
        context = SSLContext(server)
        context.load_cert_chain(cert, key, password=get_password)
        context.load_verify_locations(cafile=cert)
        return context

    stats = op().cert_store_stats()
    if stats.get("x509") != 1:
        raise RuntimeError(f"the context does not hold the loaded CA: {stats}")
    return op, None


class _PemFiles:
    """The certificate and key as PEM text, what ``tls.bench.sockets`` scenarios ask for."""

    def __init__(self, cert, key):
        self._paths = (cert, key)

    def pem(self):
        texts = []
        for path in self._paths:
            with open(path) as f:
                texts.append(f.read())
        return tuple(texts)


def build_roundtrip(impl, resources):
    """tls.bench.sockets' https-roundtrip: a new loopback connection per operation to a stdlib peer
    process."""
    from tls.bench import sockets as group

    scenario = group._Scenario("serve", _PemFiles(resources["cert"], resources["key"]))
    try:
        op = group._roundtrip(scenario, _ssl_module(impl))
        op.check()  # sets up; raises if the response differs from the one the peer sent
    except BaseException:
        scenario.close()
        raise
    return op, scenario.close


# ---------------------------------------------------------------------------- the measuring process

def _rss():
    """``(current, peak, source)`` of this process, bytes: VmRSS and VmHWM, else ru_maxrss for both."""
    try:
        with open("/proc/self/status") as f:
            fields = dict(line.split(":", 1) for line in f if line.startswith(("VmRSS:", "VmHWM:")))
        current, peak = (int(fields[name].split()[0]) * 1024 for name in ("VmRSS", "VmHWM"))
        return current, peak, "/proc/self/status VmRSS, peak VmHWM"
    except (OSError, KeyError, ValueError):
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        peak *= 1 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB elsewhere
        return peak, peak, "ru_maxrss (no /proc: every reading is the peak so far)"


def settle_nursery(collections=2, limit=4_000_000):
    """PyPy: allocate short-lived garbage until the GC ran ``collections`` minor collections; their count.

    PyPy's young generation (the nursery) is one fixed block that allocation
    walks through; its pages count in RSS only once first touched.  PyPy sizes
    it from the cache size /proc/cpuinfo reports (half of it: 240 MiB on a VM
    reporting a 480 MiB L3), so a warm-up round that allocates less than that
    leaves pages to be touched in the measured rounds: growth that is no leak and
    stops once the nursery has been walked through.  Walking it before the
    warm-up round removes that from the figures.  None where the interpreter has
    no ``gc.hooks`` (CPython: no nursery).
    """
    hooks = getattr(gc, "hooks", None)
    if hooks is None or not hasattr(hooks, "on_gc_minor"):
        return None
    seen = [0]

    def on_minor(stats):
        seen[0] += stats.count

    sink = [None] * KEEP  # the garbage escapes, so the JIT cannot leave it unallocated
    hooks.on_gc_minor = on_minor
    try:
        for i in range(limit):
            sink[i & 7] = [None] * 126  # ~1 KiB
            if seen[0] >= collections:
                break
    finally:
        hooks.on_gc_minor = None
    return seen[0]


def _round(loop, op, ops, keep):
    """One round of ``ops`` operations, then the readings: RSS as left, RSS after ``gc.collect()``."""
    t0 = time.perf_counter()
    loop(op, ops, keep)
    seconds = time.perf_counter() - t0
    live = _rss()[0]
    gc.collect()
    return {"rss": _rss()[0], "rss_live": live, "seconds": seconds}


def _fitted(ops, seconds, budget):
    """``ops``, or fewer if ``ops`` took more than ``budget`` seconds (two significant digits)."""
    if seconds <= budget:
        return ops
    fitted = max(1, int(ops * budget / seconds))
    unit = 10 ** max(0, len(str(fitted)) - 2)
    return fitted // unit * unit


def measure_here(builder, impl, resources, args, ops, rounds, budget=None):
    """Build the workload, run a warm-up round and ``rounds`` rounds of ``ops`` operations: the readings.

    With a ``budget`` (seconds), an implementation other than tls whose warm-up round took longer runs
    the measured rounds with fewer operations (:data:`REFERENCE_ROUND_SECONDS`; the warm-up round, the
    longer one, still settles it); ``ops_per_round`` says how many they ran.
    """
    module_name, _, function = builder.partition(":")
    try:
        build = getattr(importlib.import_module(module_name), function)
    except ImportError as exc:
        return {"status": "unavailable", "reason": f"{type(exc).__name__}: {exc}"}
    try:
        op, close = build(impl, resources, *args)
    except ImportError as exc:  # cryptography (or tls's binding) not importable here
        return {"status": "unavailable", "reason": f"{type(exc).__name__}: {exc}"}
    try:
        loop = _core._make_loop()
        keep = [None] * KEEP
        requested = ops
        minor_collections = settle_nursery()
        gc.collect()
        rss_start = _rss()[0]
        warm = _round(loop, op, ops, keep)
        if budget and impl != "tls":
            ops = _fitted(ops, warm["seconds"], budget)
        readings = [_round(loop, op, ops, keep) for _ in range(rounds)]
        _, peak, source = _rss()
    finally:
        if close is not None:
            close()
    return {"status": "ok", "ops_per_round": ops, "ops_requested": requested, "rss_start": rss_start,
            "rss_after_warmup": warm["rss"], "rss_after_warmup_live": warm["rss_live"],
            "warmup_seconds": warm["seconds"], "rounds": readings,
            "rss_end": readings[-1]["rss"], "peak_rss": peak, "source": source,
            "nursery_settled": minor_collections}


def _child(config_text):
    """Entry point of the measuring process: one JSON line on stdout, the result."""
    config = json.loads(config_text)
    if config.get("path"):
        sys.path.insert(0, config["path"])
    try:
        result = measure_here(config["builder"], config["impl"], config["resources"], config["args"],
                              config["ops"], config["rounds"], config.get("budget"))
    except Exception as exc:
        result = {"status": "error", "reason": f"{type(exc).__name__}: {exc}"}
    sys.stdout.write("\n" + json.dumps(result) + "\n")
    sys.stdout.flush()


# ---------------------------------------------------------------------------- the parent

_CHILD_CODE = ("import sys; sys.path.insert(0, sys.argv[1]); "
               "from tls.bench.memory import _child; _child(sys.argv[2])")


def _package_root():
    """The directory holding the ``tls`` package in use: the measuring process imports the same one."""
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def spawn(workload, impl, resources, ops, rounds, timeout, budget=None):
    """Measure ``workload`` for ``impl`` in a fresh ``python -I`` process; its result dict."""
    config = {"builder": workload.builder, "impl": impl, "resources": resources, "args": workload.args,
              "ops": ops, "rounds": rounds, "budget": budget, "path": workload.path}
    with tempfile.TemporaryDirectory(prefix="tls-bench-memory-") as cwd:
        try:
            command = [sys.executable, "-I", "-c", _CHILD_CODE, _package_root(), json.dumps(config)]
            proc = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=cwd)
        except subprocess.TimeoutExpired:
            return {"status": "error", "reason": f"no result after {timeout:g} s (killed)"}
    lines = proc.stdout.strip().splitlines()
    try:
        result = json.loads(lines[-1])
    except (IndexError, ValueError):
        tail = proc.stderr.strip().splitlines()
        return {"status": "error",
                "reason": f"the measuring process exited with status {proc.returncode}"
                          + (f": {tail[-1]}" if tail else "")}
    if result.get("status") == "ok":
        result["growth_pct"] = (result["rss_end"] / result["rss_after_warmup"] - 1) * 100
        seconds = sum(r["seconds"] for r in result["rounds"])
        done = result["ops_per_round"] * len(result["rounds"])
        result["ops_per_s"] = done / seconds if seconds > 0 else None
    return result


def make_resources(folder):
    """The P-256 certificate (tls.bench.tls's) and its key, plain and encrypted with :data:`PASSWORD`."""
    from tls.bench.tls import CERTS, _make_certs

    cert, key = _make_certs(folder, CERTS[:1])[CERTS[0][0]]
    encrypted = os.path.join(folder, "p256-encrypted.key")
    cmd = [shutil.which("openssl"), "pkey", "-in", key, "-aes128", "-passout", f"pass:{PASSWORD}",
           "-out", encrypted]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    if proc.returncode != 0:
        raise RuntimeError(f"openssl pkey failed: {proc.stderr.strip()[-200:]}")
    return {"cert": cert, "key": key, "encrypted_key": encrypted, "password": PASSWORD}


def settings(quick=False, rounds=None):
    """``(rounds, {unit: operations per round})`` for a full or ``quick`` run."""
    mode = 1 if quick else 0
    ops_per_round = {unit: n[mode] for unit, n in OPS_PER_ROUND.items()}
    return rounds or ROUNDS["quick" if quick else "full"], ops_per_round


def run(workloads, rounds, ops_per_round, quick=False, timeout=None, progress=None, label="",
        interpreter=None):
    """Measure every workload for each of its implementations; return the run record's ``memory`` section."""
    progress = progress or (lambda text, end="\n": None)
    timeout = timeout or TIMEOUT["quick" if quick else "full"]
    budget = REFERENCE_ROUND_SECONDS["quick" if quick else "full"]
    interpreter = interpreter or _report.interpreter_info()["implementation"]
    section = {
        "settings": {"rounds": rounds, "warmup_rounds": 1, "ops_per_round": dict(ops_per_round),
                     "quick": quick, "keep": KEEP, "timeout_s": timeout, "reference_round_s": budget},
        "workloads": [],
    }
    started = time.time()
    folder = tempfile.mkdtemp(prefix="tls-bench-memory-")
    try:
        resources, missing = {}, None
        if any(w.needs_certs for w in workloads):
            try:
                resources = make_resources(folder)
            except (OSError, TypeError, RuntimeError, subprocess.SubprocessError) as exc:
                missing = f"no certificates: {type(exc).__name__}: {exc}"
        total = sum(len(w.impls) for w in workloads)
        done = 0
        for workload in workloads:
            ops = ops_per_round[workload.unit]
            entry = {"group": workload.group, "name": workload.name, "unit": workload.unit,
                     "ops_per_round": ops,
                     "results": {impl: {"status": "n/a"} for impl in _core.IMPLEMENTATIONS}}
            for impl in workload.impls:
                done += 1
                progress(f"[{label}] memory {done}/{total} {workload.id} {impl} ... ", end="")
                if workload.needs_certs and missing:
                    result = {"status": "unavailable", "reason": missing}
                else:
                    result = spawn(workload, impl, resources, ops, rounds, timeout, budget)
                entry["results"][impl] = result
                progress(_report.memory_summary(result))
            section["workloads"].append(entry)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    section["targets"] = _targets.judge_memory(section, interpreter)
    section["elapsed_s"] = round(time.time() - started, 2)
    return section
