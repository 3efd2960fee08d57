"""``python -m tls bench``: the tool runs, writes the JSON it promises, merges runs, rejects bad arguments.

Nothing here is timed: the runs use tiny warm-up/timing settings and the
assertions are about structure, statuses and consistency, never about speed.
"""

import copy
import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile

import pytest

import tls
from tls import bench
from tls.bench import _core, _openssl_speed, _report, _targets, memory

IS_PYPY = sys.implementation.name == "pypy"
TINY = ["--seconds", "0.005", "--warmup", "0.005", "--repetitions", "2"]
STATUSES = {"ok", "unavailable", "error", "n/a"}


def _env():
    env = dict(os.environ)
    root = os.path.dirname(os.path.dirname(os.path.abspath(tls.__file__)))
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _bench(*args, timeout=300):
    # From a neutral directory: with -m, the working directory comes first on sys.path, and a
    # source checkout there (no compiled binding) would shadow the tls under test.
    with tempfile.TemporaryDirectory() as cwd:
        return subprocess.run([sys.executable, "-m", "tls", "bench", *args], capture_output=True,
                              text=True, env=_env(), timeout=timeout, cwd=cwd)


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    path = tmp_path_factory.mktemp("bench") / "run.json"
    proc = _bench("--quick", *TINY, "--no-openssl", "--json", str(path))
    assert proc.returncode == 0, proc.stderr
    with open(path) as f:
        return proc, json.load(f), str(path)


# ---------------------------------------------------------------------------- the run and its JSON

def test_quick_run_covers_every_group_and_writes_the_promised_json(quick_run):
    proc, record, _ = quick_run
    assert record["format"] == _report.FORMAT
    assert record["interpreter"]["implementation"] == ("PyPy" if IS_PYPY else "CPython")
    assert record["interpreter"]["label"] == record["label"]
    versions = record["versions"]
    assert versions["tls"] == tls.__version__
    assert versions["openssl_loaded"].startswith("OpenSSL 3.")
    assert versions["openssl_built"].startswith("OpenSSL 3.")
    assert "cryptography" in versions
    assert record["machine"]["cpu_model"]
    assert record["date"].endswith("+00:00")
    assert record["settings"]["quick"] is True and record["settings"]["openssl"] is False
    assert record["command"].startswith("python -m tls bench --quick ")
    assert {case["group"] for case in record["cases"]} == set(bench.GROUPS)
    assert set(record["legends"]) == set(bench.GROUPS)
    for case in record["cases"]:
        assert set(case["results"]) == set(_core.IMPLEMENTATIONS)
        for impl, result in case["results"].items():
            assert result["status"] in STATUSES, (case["name"], impl, result)
            if result["status"] == "ok":
                assert len(result["samples"]) == 2
                assert result["min"] <= result["ops_per_s"] <= result["max"]
                assert result["mb_per_s"] == pytest.approx(result["ops_per_s"] * case["size"] / 1e6)
            elif result["status"] != "n/a":
                assert result["reason"]
        assert case["openssl"]["status"] in ("unavailable", "n/a")
        assert set(case["ratios"]) == {"tls/stdlib", "tls/cryptography", "tls/openssl"}
        # every case id is a row of the printed table
        assert f"{case['group']}/{case['name']} " in proc.stdout


def test_hash_cases_measure_the_stdlib_and_ciphers_have_no_stdlib(quick_run):
    _, record, _ = quick_run
    for case in record["cases"]:
        if case["group"] == "hashes":
            assert case["results"]["stdlib"]["status"] == "ok", case
            assert case["results"]["cryptography"]["status"] == "n/a"
        if case["group"] == "ciphers":
            assert case["results"]["stdlib"]["status"] == "n/a"
    names = {case["name"] for case in record["cases"]}
    for size in ("64B", "1KiB", "1MiB"):
        for kind in ("sha256-oneshot", "sha256-stream", "hmac-sha256-oneshot", "hmac-sha256-stream"):
            assert f"{kind}-{size}" in names
    for aead in ("aes128gcm", "chacha20poly1305"):
        for direction in ("encrypt", "decrypt"):
            assert f"{aead}-{direction}-64B" in names
            for size in ("16KiB", "1MiB"):
                assert f"{aead}-{direction}-{size}" in names
                assert f"{aead}-{direction}-bytes-{size}" in names
        for size in ("16KiB", "1MiB"):
            assert f"{aead}-encrypt-inplace-{size}" in names
            assert f"{aead}-decrypt-inplace-{size}" in names


@pytest.mark.parametrize("class_name, key_len", [("AESGCM", 16), ("ChaCha20Poly1305", 32)])
def test_decrypt_in_place_authenticates_a_genuine_message_every_call(class_name, key_len):
    from tls.bench import ciphers as bench_ciphers
    from tls.ciphers import aead

    obj = getattr(aead, class_name)(bytes(range(key_len)))
    plaintext = bench_ciphers._message(4096)
    op, check = bench_ciphers._decrypt_in_place(obj, plaintext)
    for _ in range(5):  # an odd count: the buffer must flip back and forth, each tag valid
        assert op() == len(plaintext)
    assert check() == plaintext


def test_tls_group_measures_handshakes_and_bulk_against_the_stdlib(quick_run):
    # The quick run covers the tls group: every case has a measured stdlib figure
    # (the same handshake/bulk over the stdlib's MemoryBIO pair), no cryptography
    # column, and no C figure (there is no openssl speed for these operations).
    _, record, _ = quick_run
    tls_cases = {case["name"]: case for case in record["cases"] if case["group"] == "tls"}
    assert set(tls_cases) == {"handshake-p256", "handshake-rsa2048", "bulk-16KiB", "bulk-1KiB",
                              "load-cadata-bundle", "load-cadata-bundle-der"}
    for case in tls_cases.values():
        if case["name"].startswith("load-cadata"):
            # no system bundle, or (DER) a stdlib that refuses it (CPython issue 151504): with the reason
            for impl in ("tls", "stdlib"):
                assert case["results"][impl]["status"] in ("ok", "unavailable"), case
            continue
        assert case["results"]["stdlib"]["status"] == "ok", case
        assert case["results"]["cryptography"]["status"] == "n/a"
        assert case["openssl"]["status"] == "n/a"
    assert tls_cases["bulk-16KiB"]["size"] == 16 * 1024 and tls_cases["bulk-1KiB"]["size"] == 1024
    judged = {v["case"] for v in record["targets"]}
    assert {f"tls/{name}" for name in tls_cases} <= judged


def test_tls_group_ops_complete_a_handshake_and_deliver_the_message():
    from tls.bench import tls as tls_group

    cases = {case.name: case for case in tls_group.cases() if not case.name.startswith("load-cadata")}
    for name, case in cases.items():
        for impl in ("tls", "stdlib"):
            assert callable(case.impls[impl]), (name, impl, case.impls[impl])
    for impl in ("tls", "stdlib"):
        out = cases["handshake-p256"].check[impl]().decode()
        assert out.startswith("TLSv1.3 TLSv1.3 TLS_"), out
        assert cases["bulk-1KiB"].check[impl]() == bytes((i * 11 + 7) & 0xFF for i in range(1024))
        assert len(cases["bulk-16KiB"].impls[impl]()) == 16 * 1024


def test_tls_group_cadata_cases_load_the_system_bundle_or_say_why_not():
    from tls.bench import tls as tls_group

    cases = {case.name: case for case in tls_group.cases() if case.name.startswith("load-cadata")}
    assert set(cases) == {"load-cadata-bundle", "load-cadata-bundle-der"}
    try:
        _, _, count = tls_group._system_bundle()
    except RuntimeError:
        for case in cases.values():
            assert all(isinstance(case.impls[impl], _core.Unavailable) for impl in ("tls", "stdlib"))
            assert "no system CA bundle" in case.impls["tls"].reason
        return
    for case in cases.values():
        assert case.size > 0
        stats = case.check["tls"]().decode()
        assert f"('x509', {count})" in stats
        if callable(case.impls["stdlib"]):
            assert case.check["stdlib"]() == case.check["tls"]()


def test_tls_group_cadata_cases_without_a_system_bundle_are_unavailable(monkeypatch):
    from tls.bench import tls as tls_group

    monkeypatch.setattr(tls_group, "CA_BUNDLES", ())
    monkeypatch.setattr(tls_group._stdlib_ssl, "get_default_verify_paths",
                        lambda: ssl.DefaultVerifyPaths(None, None, "", "", "", ""))
    cases = [case for case in tls_group.cases() if case.name.startswith("load-cadata")]
    assert len(cases) == 2
    for case in cases:
        for impl in ("tls", "stdlib"):
            assert isinstance(case.impls[impl], _core.Unavailable)
            assert "no system CA bundle" in case.impls[impl].reason


def test_tls_group_without_openssl_binary_is_unavailable_with_the_reason(monkeypatch):
    from tls.bench import tls as tls_group

    monkeypatch.setattr(tls_group.shutil, "which", lambda name: None)
    for case in tls_group.cases():
        if case.name.startswith("load-cadata"):  # needs no certificates of its own
            continue
        for impl in ("tls", "stdlib"):
            result = case.impls[impl]
            assert isinstance(result, _core.Unavailable), (case.name, impl)
            assert "openssl" in result.reason


# ---------------------------------------------------------------------------- the sockets group

SOCKETS_CASES = {"https-roundtrip": 1, "sendall-64MiB": 64 * 1024 * 1024,
                 "recv_into-16KiB": 1024 * 1024, "recv-16KiB": 1024 * 1024,
                 # --quick: sendfile of a 16 MiB file (256 MiB in a full run)
                 "sendfile-16MiB": 16 * 1024 * 1024, "sendfile-ktls-16MiB": 16 * 1024 * 1024}


def _sockets_cases_in(record):
    return {case["name"]: case for case in record["cases"] if case["group"] == "sockets"}


def _assert_valid_sockets_cases(record, repetitions):
    cases = _sockets_cases_in(record)
    assert {name: case["size"] for name, case in cases.items()} == SOCKETS_CASES
    for case in cases.values():
        for impl in ("tls", "stdlib"):
            result = case["results"][impl]
            assert result["status"] == "ok", (case["name"], impl, result)
            assert len(result["samples"]) == repetitions and all(s > 0 for s in result["samples"])
            assert result["min"] <= result["ops_per_s"] <= result["max"]
        assert case["results"]["cryptography"]["status"] == "n/a"
        assert case["openssl"]["status"] == "n/a"
        assert case["ratios"]["tls/stdlib"] > 0
    judged = {v["case"] for v in record["targets"]}
    assert "sockets/https-roundtrip" in judged  # a target on both interpreters
    if IS_PYPY:  # (issue 7's sendfile cases are reported, with no target to judge)
        assert {f"sockets/{name}" for name in cases if not name.startswith("sendfile-")} <= judged
    assert "sockets" in record["legends"] and "TCP_NODELAY" in record["legends"]["sockets"]


def test_sockets_group_in_the_quick_run_is_measured_for_both_implementations(quick_run):
    _, record, _ = quick_run
    _assert_valid_sockets_cases(record, repetitions=2)


def test_sockets_group_alone_with_quick_settings(tmp_path):
    # The group as one runs it: its own --quick settings (3 repetitions), not the tiny ones.
    path = tmp_path / "sockets.json"
    proc = _bench("sockets", "--quick", "--no-openssl", "--json", str(path))
    assert proc.returncode == 0, proc.stderr
    record = json.loads(path.read_text())
    assert record["settings"]["groups"] == ["sockets"]
    assert {case["group"] for case in record["cases"]} == {"sockets"}
    _assert_valid_sockets_cases(record, repetitions=3)
    for name in SOCKETS_CASES:
        assert f"sockets/{name} " in proc.stdout


def _peer_processes(cases):
    return [case.close.__self__._peer for case in cases if case.close.__self__._peer is not None]


def test_sockets_group_full_run_sends_a_256MiB_file():
    from tls.bench import sockets

    sizes = {case.name: case.size for case in sockets.cases()}
    assert sizes["sendfile-256MiB"] == sizes["sendfile-ktls-256MiB"] == 256 * 1024 * 1024
    assert "sendfile-16MiB" not in sizes


def test_sockets_group_listing_cases_starts_nothing_and_close_stops_the_peers():
    from tls.bench import sockets

    cases = sockets.cases(quick=True)
    assert [case.name for case in cases] == list(SOCKETS_CASES)
    assert not _peer_processes(cases)  # peers start on an implementation's first use
    try:
        checked = {}
        for case in cases:
            outputs = checked[case.name] = {impl: case.check[impl]() for impl in ("tls", "stdlib")}
            assert outputs["tls"] == outputs["stdlib"], case.name
            for impl in ("tls", "stdlib"):  # a timed operation after the check, blocking mode
                assert case.impls[impl]() is not None
        assert checked["recv-16KiB"]["tls"] == sockets.peer.pattern(1024 * 1024)
        assert checked["sendfile-16MiB"]["tls"] == checked["sendfile-ktls-16MiB"]["tls"] == sockets.peer.ACK
        assert cases[0].check["tls"]() == sockets.peer.response()
        peers = _peer_processes(cases)
        assert len(peers) == len(cases)
        assert all(p._proc.poll() is None for p in peers)
    finally:
        for case in cases:
            case.close()
    assert all(p._proc.returncode is not None for p in peers)
    assert not _peer_processes(cases)


def _corrupting_module(method):
    """A stand-in for tls.ssl: the stdlib, but its SSLSocket gets ``method``'s bytes slightly wrong."""
    import types

    class Corrupting(ssl.SSLSocket):
        def sendall(self, data, flags=0):
            if method == "sendall":
                data = bytearray(data)
                data[-1] ^= 1
            return super().sendall(data, flags)

        def recv(self, buflen=1024, flags=0):
            data = super().recv(buflen, flags)
            if method == "recv" and data:
                data = data[:-1] + bytes([data[-1] ^ 1])
            return data

        def recv_into(self, buffer, nbytes=None, flags=0):
            n = super().recv_into(buffer, nbytes, flags)
            if method == "recv_into" and n:
                buffer[0] ^= 1
            return n

    class Context(ssl.SSLContext):
        sslsocket_class = Corrupting

    return types.SimpleNamespace(SSLContext=Context, TLSVersion=ssl.TLSVersion,
                                 PROTOCOL_TLS_CLIENT=ssl.PROTOCOL_TLS_CLIENT)


@pytest.mark.parametrize("method, broken", [
    ("sendall", {"https-roundtrip", "sendall-64MiB"}),  # the request, the 64 MiB
    # the response, the acks, the stream
    ("recv", {"https-roundtrip", "sendall-64MiB", "recv-16KiB", "sendfile-16MiB", "sendfile-ktls-16MiB"}),
    ("recv_into", {"recv_into-16KiB"}),
])
def test_sockets_group_reports_an_implementation_that_transfers_wrong_bytes(monkeypatch, method, broken):
    from tls.bench import sockets

    monkeypatch.setattr(sockets, "_implementations",
                        lambda: {"tls": _corrupting_module(method), "stdlib": ssl})
    for case in sockets.cases(quick=True):
        results = _core.run_case(case, warmup=0.005, seconds=0.005, repetitions=1)
        assert results["stdlib"]["status"] == "ok", (case.name, results["stdlib"])
        if case.name in broken:
            assert results["tls"]["status"] == "error", (case.name, results["tls"])
            reason = results["tls"]["reason"]
            assert any(word in reason for word in ("differ", "did not receive", "closed after")), reason
        else:
            assert results["tls"]["status"] == "ok", (case.name, results["tls"])
        assert case.close.__self__._peer is None  # run_case closed the case


def test_sockets_group_peer_that_cannot_start_is_an_error_with_the_reason(monkeypatch):
    from tls.bench import sockets

    monkeypatch.setenv(sockets.PEER_PYTHON_ENV, shutil.which("false") or "/bin/false")
    case = sockets.cases()[0]
    results = _core.run_case(case, warmup=0.005, seconds=0.005, repetitions=1)
    for impl in ("tls", "stdlib"):
        assert results[impl]["status"] == "error"
        assert "did not start" in results[impl]["reason"] and "exit status 1" in results[impl]["reason"]


def test_sockets_group_without_openssl_binary_is_unavailable(monkeypatch):
    from tls.bench import sockets

    monkeypatch.setattr(sockets.shutil, "which", lambda name: None)
    for case in sockets.cases():
        for impl in ("tls", "stdlib"):
            assert isinstance(case.impls[impl], _core.Unavailable) and "openssl" in case.impls[impl].reason


def test_cryptography_column_says_why_it_is_missing(quick_run):
    _, record, _ = quick_run
    try:
        import cryptography  # noqa: F401
    except ImportError:
        expected = "unavailable"
    else:
        expected = "ok"
    for case in record["cases"]:
        if case["group"] == "ciphers":
            result = case["results"]["cryptography"]
            if expected == "ok" and result["status"] == "unavailable" and "_into" in result["reason"]:
                # cryptography before 45 (the one PyPy gets) has no encrypt_into/decrypt_into
                assert "-bytes-" not in case["name"] and not case["name"].endswith("-64B"), case
                continue
            assert result["status"] == expected, result
            if expected == "unavailable":
                assert "cryptography" in result["reason"]


def test_every_tls_row_is_measured(quick_run):
    # tls.hashes, tls.hmac and tls.ciphers.aead all exist: a tls row that is not
    # measured (unavailable, or its output disagreeing with the reference) is a failure.
    _, record, _ = quick_run
    for case in record["cases"]:
        result = case["results"]["tls"]
        assert result["status"] == "ok", (case["group"], case["name"], result)
        assert result["ops_per_s"] > 0


def test_single_run_targets_are_judged(quick_run):
    proc, record, _ = quick_run
    assert record["targets"], "the hash cases have targets on every interpreter"
    for verdict in record["targets"]:
        assert verdict["met"] in (True, False, None)
        if verdict["met"] is not None:
            assert verdict["met"] == (verdict["ratio"] >= verdict["at_least"])
    requirements = [v["requirement"] for v in record["targets"]]
    assert not any("on CPython" in r or "on PyPy" in r for r in requirements)
    assert "Targets on this interpreter" in proc.stdout


def test_progress_goes_to_stderr(quick_run):
    proc, record, _ = quick_run
    label = record["label"]
    for case in record["cases"]:
        assert f"[{label}] {case['group']} " in proc.stderr
        assert f" {case['name']} ... " in proc.stderr


@pytest.mark.skipif(shutil.which("openssl") is None, reason="no openssl binary on PATH")
def test_openssl_speed_gives_the_c_figure(tmp_path):
    path = tmp_path / "c.json"
    proc = _bench("--case", "hashes/sha256-oneshot-1MiB", *TINY, "--json", str(path))
    assert proc.returncode == 0, proc.stderr
    (case,) = json.loads(path.read_text())["cases"]
    c_figure = case["openssl"]
    assert c_figure["status"] == "ok", c_figure
    assert c_figure["ops_per_s"] > 0
    assert c_figure["mb_per_s"] == pytest.approx(c_figure["ops_per_s"] * 1024 * 1024 / 1e6)
    assert "-evp sha256" in c_figure["command"] and "-bytes 1048576" in c_figure["command"]
    if case["results"]["tls"]["status"] == "ok":
        assert case["ratios"]["tls/openssl"] == pytest.approx(
            case["results"]["tls"]["ops_per_s"] / c_figure["ops_per_s"])


def test_parse_openssl_speed_machine_readable_output():
    text = "+DT:AES-128-GCM:1:64\n+R:1610789:AES-128-GCM:0.520000\n+H:64\n+F:25:AES-128-GCM:198250953.85\n"
    ops, mbs = _openssl_speed.parse_mr(text, 64)
    assert ops == pytest.approx(198250953.85 / 64)
    assert mbs == pytest.approx(198.25095385)
    ops, mbs = _openssl_speed.parse_mr("+R:1000:hmac(sha256):0.5\n", 1024)
    assert ops == pytest.approx(2000) and mbs == pytest.approx(2000 * 1024 / 1e6)
    with pytest.raises(ValueError):
        _openssl_speed.parse_mr("speed: unknown option\n", 64)


def test_openssl_speed_failures_become_a_status(tmp_path):
    fake = tmp_path / "openssl"
    fake.write_text("#!/bin/sh\necho 'speed: Unknown algorithm' >&2\nexit 1\n")
    fake.chmod(0o755)
    speed = _openssl_speed.OpenSSLSpeed(binary=str(fake))
    result = speed.figure(("-evp", "sha256"), 64)
    assert result["status"] == "error" and "Unknown algorithm" in result["reason"]
    assert speed.figure(("-evp", "sha256"), 64) is result  # cached: run once per size
    disabled = _openssl_speed.OpenSSLSpeed(enabled=False)
    assert disabled.figure(("-evp", "sha256"), 64)["status"] == "unavailable"
    assert speed.figure(None, 64) == {"status": "n/a"}


# ---------------------------------------------------------------------------- the framework

def _case(**impls):
    return _core.Case("test", "sha256-64B", 64, impls, check=dict(impls))


def test_measure_interleaves_and_reports_every_implementation():
    import hashlib

    data = b"x" * 64
    case = _case(tls=lambda: hashlib.sha256(data).digest(), stdlib=lambda: hashlib.sha256(data).digest(),
                 cryptography=_core.Unavailable("ImportError: nope"))
    results = _core.measure(case, warmup=0.005, seconds=0.01, repetitions=3)
    assert list(results) == list(_core.IMPLEMENTATIONS)
    for impl in ("tls", "stdlib"):
        assert results[impl]["status"] == "ok"
        assert len(results[impl]["samples"]) == 3
        assert results[impl]["iterations"] >= 1
    assert results["cryptography"] == {"status": "unavailable", "reason": "ImportError: nope"}
    ratio = _core.paired_ratio(results, "tls", "stdlib")
    assert ratio > 0
    assert _core.paired_ratio(results, "tls", "cryptography") is None


def test_measure_reports_broken_and_wrong_implementations_without_timing_them():
    import hashlib

    data = b"y" * 64

    def broken():
        raise RuntimeError("boom")

    case = _case(tls=lambda: hashlib.sha256(data + b"!").digest(),
                 stdlib=lambda: hashlib.sha256(data).digest(), cryptography=None)
    results = _core.measure(case, warmup=0.005, seconds=0.005, repetitions=2)
    assert results["tls"]["status"] == "error" and "wrong output" in results["tls"]["reason"]
    assert results["stdlib"]["status"] == "ok"
    assert results["cryptography"] == {"status": "n/a"}
    case = _core.Case("test", "x", 1, {"tls": broken, "stdlib": lambda: b"."})
    results = _core.measure(case, warmup=0.005, seconds=0.005, repetitions=2)
    assert results["tls"] == {"status": "error", "reason": "RuntimeError: boom"}
    assert results["stdlib"]["status"] == "ok"


def test_an_implementation_failing_while_timed_is_reported_and_the_others_still_measured():
    armed = []

    def flaky():  # fine while warming up; fails once the stdlib (warmed up after it) has run
        if armed:
            raise OSError("went away")
        return b"."

    def stdlib():
        armed.append(1)
        return b"."

    case = _core.Case("test", "x", 1, {"tls": flaky, "stdlib": stdlib})
    results = _core.measure(case, warmup=0.005, seconds=0.01, repetitions=2)
    assert results["tls"] == {"status": "error", "reason": "OSError: went away"}
    assert results["stdlib"]["status"] == "ok" and len(results["stdlib"]["samples"]) == 2


def test_case_rejects_unknown_implementation_names():
    with pytest.raises(ValueError):
        _core.Case("g", "n", 1, {"openssl": lambda: None})


def test_each_loop_is_its_own_code_and_keeps_results_alive():
    assert _core._make_loop().__code__ is not _core._make_loop().__code__
    keep = [None] * 8
    loop = _core._make_loop()
    loop(iter(range(10)).__next__, 10, keep)
    assert sorted(keep) == [2, 3, 4, 5, 6, 7, 8, 9]


def test_load_reports_why_a_module_is_missing():
    module, missing = _core.load("tls.no_such_module")
    assert module is None and "No module named" in missing.reason
    module, missing = _core.load("json")
    assert module is json and missing is None


def test_a_tls_module_missing_part_of_the_api_is_unavailable_not_a_crash(monkeypatch):
    import types

    from tls.bench import hashes

    monkeypatch.setitem(sys.modules, "tls.hmac", types.ModuleType("tls.hmac"))
    hmac_cases = [case for case in hashes.cases() if case.name.startswith("hmac-")]
    assert hmac_cases
    for case in hmac_cases:
        assert isinstance(case.impls["tls"], _core.Unavailable)
        assert "has no attribute" in case.impls["tls"].reason
        assert callable(case.impls["stdlib"])


# ---------------------------------------------------------------------------- targets

def _record(implementation, tls_rate, stdlib_rate, c_rate=None, name="sha256-oneshot-64B", group="hashes"):
    def ok(rate):
        return {"status": "ok", "ops_per_s": rate, "samples": [rate, rate], "min": rate, "max": rate}

    case = {"group": group, "name": name, "size": 64,
            "results": {"tls": ok(tls_rate), "stdlib": ok(stdlib_rate), "cryptography": {"status": "n/a"}},
            "openssl": ok(c_rate) if c_rate else {"status": "unavailable", "reason": "test"}}
    return {"interpreter": {"implementation": implementation}, "label": implementation, "cases": [case]}


def test_targets_same_interpreter():
    verdicts = _targets.judge_run(_record("CPython", 0.9, 1.0))
    (v,) = [v for v in verdicts if v["case"] == "hashes/sha256-oneshot-64B"]
    assert v["met"] is True and v["ratio"] == pytest.approx(0.9) and v["at_least"] == 0.8
    (v,) = _targets.judge_run(_record("CPython", 0.7, 1.0))
    assert v["met"] is False
    # PyPy: >= 4x its own stdlib; the cross-interpreter one is left to compare
    (v,) = _targets.judge_run(_record("PyPy", 3.0, 1.0))
    assert v["met"] is False and v["at_least"] == 4.0
    (v,) = _targets.judge_run(_record("PyPy", 5.0, 1.0))
    assert v["met"] is True


def test_targets_cross_interpreter_and_missing_data():
    cpython = _record("CPython", 1.0, 2.0)
    pypy = _record("PyPy", 2.5, 0.5)
    verdicts = _targets.judge_runs([cpython, pypy])
    cross = [v for v in verdicts if v["run"] == "PyPy" and "on CPython" in v["requirement"]]
    assert cross and all(v["ratio"] == pytest.approx(2.5 / 2.0) and v["met"] for v in cross)
    alone = _targets.judge_runs([pypy])
    cross = [v for v in alone if "on CPython" in v["requirement"]]
    assert cross and all(v["met"] is None and "no run on CPython" in v["why"] for v in cross)
    c_target = _targets.judge_run(_record("CPython", 1.0, 1.0, name="sha256-oneshot-1MiB"))
    (v,) = [v for v in c_target if "OpenSSL C" in v["requirement"]]
    assert v["met"] is None and "no OpenSSL C figure" in v["why"]
    c_target = _targets.judge_run(_record("CPython", 0.5, 0.5, c_rate=1.0, name="sha256-oneshot-1MiB"))
    (v,) = [v for v in c_target if "OpenSSL C" in v["requirement"]]
    assert v["met"] is False and v["ratio"] == pytest.approx(0.5)


def test_every_target_matches_some_case():
    ids = []
    for name in bench.GROUPS:
        module = __import__(bench.GROUPS[name], fromlist=["cases"])
        ids += [case.id for case in module.cases()]
    for target in _targets.TARGETS:
        assert any(target.applies_to(case_id, target.interpreter) for case_id in ids), target.label()


# ---------------------------------------------------------------------------- compare

def _other_interpreter(record):
    other = copy.deepcopy(record)
    impl = "CPython" if record["interpreter"]["implementation"] == "PyPy" else "PyPy"
    other["interpreter"] = {"implementation": impl, "version": "3.x", "label": f"{impl} test"}
    other["label"] = f"{impl} test"
    for case in other["cases"]:
        for result in case["results"].values():
            if result["status"] == "ok":
                result["ops_per_s"] *= 2
                result["samples"] = [s * 2 for s in result["samples"]]
    return other


def test_compare_merges_runs_into_a_report(quick_run, tmp_path):
    _, record, path = quick_run
    other_path = tmp_path / "other.json"
    other_path.write_text(json.dumps(_other_interpreter(record)))
    out = tmp_path / "out" / "report"
    proc = _bench("compare", path, str(other_path), "--out", str(out), timeout=120)
    assert proc.returncode == 0, proc.stderr
    text = (tmp_path / "out" / "report.md").read_text()
    other_label = _other_interpreter(record)["label"]
    assert "## Runs" in text and f"| {record['label']} |" in text and f"| {other_label} |" in text
    for group in bench.GROUPS:
        assert f"## {group}" in text
    for case in record["cases"]:
        assert f"| {case['name']} | {record['label']} |" in text
    assert "## Targets" in text
    assert f"`{record['command']}`" in text
    stdlib_rows = [c for c in record["cases"] if c["results"]["stdlib"]["status"] == "ok"
                   and c["results"]["tls"]["status"] == "ok"]
    if stdlib_rows:
        assert "## Cross-interpreter ratios" in text and "/ stdlib on" in text
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert "pip install '.[bench]'" in proc.stderr
        assert not (tmp_path / "out" / "report.png").exists()
    else:
        assert (tmp_path / "out" / "report.png").stat().st_size > 1000


def test_compare_labels_two_runs_of_one_interpreter_apart(quick_run, tmp_path):
    _, record, path = quick_run
    second = tmp_path / "second.json"
    second.write_text(json.dumps(record))
    runs = [_report.load_run(path), _report.load_run(str(second))]
    _report._label_runs(runs)
    assert runs[0]["label"] != runs[1]["label"]
    assert "second.json" in runs[1]["label"]


# ---------------------------------------------------------------------------- --memory

@pytest.fixture(scope="module")
def memory_run(tmp_path_factory):
    path = tmp_path_factory.mktemp("bench") / "memory.json"
    proc = _bench("--memory", "--quick", "--json", str(path))
    assert proc.returncode == 0, proc.stderr
    with open(path) as f:
        return proc, json.load(f), str(path)


def _cryptography_importable():
    try:
        import cryptography.hazmat.primitives.ciphers.aead  # noqa: F401
    except ImportError:
        return False
    return True


def test_memory_quick_run_measures_every_workload_in_the_table_and_the_json(memory_run):
    proc, record, _ = memory_run
    assert record["format"] == _report.FORMAT and record["cases"] == []
    assert record["settings"]["memory"] is True and record["settings"]["quick"] is True
    assert record["command"] == f"python -m tls bench --memory --quick --json {record['command'].split()[-1]}"
    section = record["memory"]
    rounds, ops_per_round = memory.settings(quick=True)
    assert section["settings"]["rounds"] == rounds == 2
    assert section["settings"]["ops_per_round"] == ops_per_round
    by_id = {f"{w['group']}/{w['name']}": w for w in section["workloads"]}
    assert list(by_id) == [w.id for w in memory.WORKLOADS]
    assert {w.group for w in memory.WORKLOADS} == set(bench.GROUPS)
    for workload in memory.WORKLOADS:
        entry = by_id[workload.id]
        assert entry["unit"] == workload.unit and entry["ops_per_round"] == ops_per_round[workload.unit]
        assert set(entry["results"]) == set(_core.IMPLEMENTATIONS)
        for impl, result in entry["results"].items():
            if impl not in workload.impls:
                assert result == {"status": "n/a"}
            elif impl == "cryptography" and not _cryptography_importable():
                assert result["status"] == "unavailable" and "cryptography" in result["reason"]
            else:
                assert result["status"] == "ok", (workload.id, impl, result)
                readings = [result["rss_after_warmup"]] + [r["rss"] for r in result["rounds"]]
                assert len(result["rounds"]) == rounds and all(r > 0 for r in readings)
                assert result["rss_end"] == readings[-1] and result["rss_start"] > 0
                assert result["peak_rss"] >= max(readings)  # VmHWM: the peak of every reading
                assert result["growth_pct"] == pytest.approx(
                    (result["rss_end"] / result["rss_after_warmup"] - 1) * 100)
                assert all(r["rss_live"] > 0 and r["seconds"] > 0 for r in result["rounds"])
                assert result["ops_per_s"] > 0 and result["ops_per_round"] == entry["ops_per_round"]
                assert "VmRSS" in result["source"]
                if IS_PYPY:
                    assert result["nursery_settled"] >= 2
                else:
                    assert result["nursery_settled"] is None
        # a row of the printed table, its tls line judged against the target
        assert f"{workload.id} " in proc.stdout
        assert f"[{record['label']}] memory " in proc.stderr and f" {workload.id} tls ... " in proc.stderr
    for column in ("start", "after warm-up", "RSS per round", "growth", "peak", "verdict"):
        assert column in proc.stdout
    verdicts = section["targets"]
    assert [v["case"] for v in verdicts] == [f"memory/{w.id}" for w in memory.WORKLOADS]
    for verdict in verdicts:
        assert verdict["met"] == (verdict["growth_pct"] < 5.0)
        assert verdict["requirement"] == "RSS growth < 5% after warm-up"
    assert "Memory target:" in proc.stdout and "memory: Each workload" in proc.stdout


def test_memory_workloads_can_be_selected_like_cases(tmp_path):
    path = tmp_path / "one.json"
    proc = _bench("--memory", "--quick", "--rounds", "1", "hashes", "--case", "sha256-oneshot-*",
                  "--json", str(path))
    assert proc.returncode == 0, proc.stderr
    section = json.loads(path.read_text())["memory"]
    assert [(w["group"], w["name"]) for w in section["workloads"]] == [("hashes", "sha256-oneshot-64B")]
    assert section["settings"]["rounds"] == 1
    assert len(section["workloads"][0]["results"]["tls"]["rounds"]) == 1


FAKE_WORKLOADS = """
import os, time

def leak(impl, resources, size):
    kept = []

    def op():
        block = b"Z" * size  # every page written: resident
        kept.append(block)
        return block

    return op, None


def flat(impl, resources):
    def op():
        return b"."

    return op, None


def broken(impl, resources):
    raise RuntimeError("cannot set up")


def missing(impl, resources):
    import no_such_module_for_the_bench  # noqa: F401


def crash(impl, resources):
    os._exit(3)


def hang(impl, resources):
    time.sleep(60)
"""


def _fake(tmp_path, name, function, *args, impls=("tls", "stdlib")):
    (tmp_path / "fake_memory_workloads.py").write_text(FAKE_WORKLOADS)
    return memory.Workload("fake", name, "ops", f"fake_memory_workloads:{function}", impls, args,
                           path=str(tmp_path))


def test_memory_flags_a_leaking_workload_and_passes_a_flat_one(tmp_path):
    # 100 operations a round, each keeping 256 KiB: 25 MiB a round, far over 5% of any baseline here
    workloads = [_fake(tmp_path, "leak", "leak", 256 * 1024), _fake(tmp_path, "flat", "flat")]
    section = memory.run(workloads, rounds=2, ops_per_round={"ops": 100}, quick=True)
    leak, flat = section["workloads"]
    for impl in ("tls", "stdlib"):
        result = leak["results"][impl]
        assert result["status"] == "ok", result
        assert result["rss_end"] - result["rss_after_warmup"] >= 2 * 100 * 256 * 1024 * 0.9
        assert result["growth_pct"] >= 5.0
        assert result["rounds"][1]["rss"] > result["rounds"][0]["rss"] > result["rss_after_warmup"]
        assert flat["results"][impl]["growth_pct"] < 5.0
    assert _report.memory_verdict("tls", leak["results"]["tls"]) == "NOT met"
    assert _report.memory_verdict("stdlib", leak["results"]["stdlib"]) == "GROWS (ref)"
    assert _report.memory_verdict("tls", flat["results"]["tls"]) == "met"
    assert _report.memory_verdict("stdlib", flat["results"]["stdlib"]) == "flat (ref)"
    verdicts = {v["case"]: v for v in section["targets"]}
    assert verdicts["memory/fake/leak"]["met"] is False and verdicts["memory/fake/flat"]["met"] is True
    record = {"label": "test", "date": "now", "machine": {"cpu_model": "cpu", "cpu_count": 2},
              "versions": {}, "legends": {"memory": memory.LEGEND}, "memory": section}
    text = _report.memory_text_table(record)
    assert "Memory target: 1 met, 1 not met" in text
    assert "NOT met" in text and "GROWS (ref)" in text


def test_memory_reports_workloads_that_fail_unavailable_or_hang(tmp_path):
    workloads = [_fake(tmp_path, "broken", "broken", impls=("tls",)),
                 _fake(tmp_path, "missing", "missing", impls=("tls",)),
                 _fake(tmp_path, "crash", "crash", impls=("tls",))]
    section = memory.run(workloads, rounds=1, ops_per_round={"ops": 10}, quick=True)
    broken, missing, crash = (w["results"]["tls"] for w in section["workloads"])
    assert broken == {"status": "error", "reason": "RuntimeError: cannot set up"}
    assert missing["status"] == "unavailable" and "no_such_module_for_the_bench" in missing["reason"]
    assert crash["status"] == "error" and "exited with status 3" in crash["reason"]
    assert all(v["met"] is None and v["why"] for v in section["targets"])
    hang = memory.spawn(_fake(tmp_path, "hang", "hang"), "tls", {}, 10, 1, timeout=3)
    assert hang == {"status": "error", "reason": "no result after 3 s (killed)"}


def test_a_slow_reference_runs_fewer_operations_and_the_table_marks_it(tmp_path):
    assert memory._fitted(200_000, 3.9, 4.0) == 200_000
    assert memory._fitted(200_000, 8.0, 4.0) == 100_000
    assert memory._fitted(200_000, 8.6, 4.0) == 93_000  # two significant digits
    assert memory._fitted(2_000, 400.0, 4.0) == 20
    # a budget far below one round: the stdlib (a reference) is cut down, tls never is
    workload = _fake(tmp_path, "flat", "flat")
    section = memory.run([workload], rounds=1, ops_per_round={"ops": 50_000}, quick=True)
    assert section["settings"]["reference_round_s"] is None  # --quick: no budget
    results = {impl: memory.spawn(workload, impl, {}, 50_000, 1, timeout=120, budget=1e-9)
               for impl in ("tls", "stdlib")}
    assert results["tls"]["ops_per_round"] == 50_000
    assert results["stdlib"]["ops_requested"] == 50_000 and results["stdlib"]["ops_per_round"] < 50_000
    section["settings"]["reference_round_s"] = 1e-9
    section["workloads"][0]["results"].update(results)
    rows = _report._memory_rows(section, _report._Notes())
    assert rows[0][2] == "50k ops" and rows[1][2].endswith(" ops*")
    assert "*: a reference slower than" in _report._memory_method(section)


def test_judge_memory_only_judges_tls_and_says_why_there_is_no_data():
    def ok(growth):
        return {"status": "ok", "growth_pct": growth}

    section = {"workloads": [
        {"group": "hashes", "name": "a", "results": {"tls": ok(4.9), "stdlib": ok(50.0)}},
        {"group": "tls", "name": "b", "results": {"tls": ok(5.0), "stdlib": ok(0.0)}},
        {"group": "tls", "name": "c", "results": {"tls": {"status": "error", "reason": "boom"}}},
    ]}
    a, b, c = _targets.judge_memory(section, "PyPy")
    assert (a["met"], a["measured"], a["case"]) == (True, "+4.9%", "memory/hashes/a")
    assert b["met"] is False
    assert c["met"] is None and "error: boom" in c["why"] and "PyPy" in c["why"]
    assert _targets.grows({"status": "error"}) is None


def test_compare_adds_a_memory_table_per_interpreter(quick_run, memory_run, tmp_path):
    _, memory_record, memory_path = memory_run
    other = copy.deepcopy(memory_record)
    impl = "CPython" if IS_PYPY else "PyPy"
    other["interpreter"] = {"implementation": impl, "version": "3.x", "label": f"{impl} test"}
    other["label"] = f"{impl} test"
    other["memory"]["workloads"][0]["results"]["tls"]["growth_pct"] = 12.5  # one leak on the other
    other_path = tmp_path / "other-memory.json"
    other_path.write_text(json.dumps(other))
    out = tmp_path / "report"
    proc = _bench("compare", quick_run[2], memory_path, str(other_path), "--out", str(out), timeout=120)
    assert proc.returncode == 0, proc.stderr
    text = (tmp_path / "report.md").read_text()
    assert "## Memory" in text and "## hashes" in text  # the speed run's tables stay
    # the speed run and the memory run have one label: compare tells them apart by file name
    for label in (f"{memory_record['label']} (memory.json)", other["label"]):
        assert f"### {label}" in text
    for workload in memory.WORKLOADS:
        assert text.count(f"| {workload.id} | tls |") == 2
    assert "memory: 1 warm-up + 2 rounds (quick)" in text
    target = _targets.MEMORY_TARGETS[0].label()
    assert f"| **NOT met** | +12.5% | {target} | memory/{memory.WORKLOADS[0].id} | {other['label']} |" in text


def test_compare_of_memory_runs_alone_writes_only_the_markdown(memory_run, tmp_path):
    out = tmp_path / "mem"
    proc = _bench("compare", memory_run[2], "--out", str(out), timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "mem.md").exists() and not (tmp_path / "mem.png").exists()
    assert "## Memory" in (tmp_path / "mem.md").read_text()


def test_every_memory_target_matches_some_workload():
    for target in _targets.MEMORY_TARGETS:
        assert any(target.applies_to(w.id, target.interpreter) for w in memory.WORKLOADS), target.label()


# ---------------------------------------------------------------------------- argument errors

@pytest.mark.parametrize("argv, message", [
    (["nosuchgroup"], "unknown group"),
    (["--group", "nosuchgroup"], "unknown group"),
    (["--seconds", "-1"], "--seconds"),
    (["--seconds", "abc"], "--seconds"),
    (["--warmup", "0"], "--warmup"),
    (["--repetitions", "0"], "--repetitions"),
    (["--bogus"], "unrecognized arguments"),
    (["--json", "/dev/null/x.json"], "cannot write --json"),  # a folder that cannot be made
    (["--case", "no-case-is-called-this", "--no-openssl", *TINY], "no case matches"),
    (["compare"], "the following arguments are required"),
    (["--memory", "--seconds", "1"], "not with --memory"),
    (["--memory", "--repetitions", "3", "--warmup", "1"], "--warmup, --repetitions: not with --memory"),
    (["--rounds", "2"], "--rounds applies to --memory only"),
    (["--memory", "--rounds", "0"], "--rounds"),
    (["--memory", "--case", "no-workload-is-called-this"], "no memory workload matches"),
])
def test_bad_arguments_exit_2_with_a_message(argv, message, capsys):
    assert bench.main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "error:" in err


def test_json_folder_is_made_before_measuring(tmp_path):
    # tox -m bench writes each run into a folder of its own that may not exist yet
    path = tmp_path / "runs" / "deeper" / "run.json"
    argv = ["--case", "hashes/sha256-oneshot-64B", "--no-openssl", *TINY, "--json", str(path)]
    assert bench.main(argv) == 0
    assert json.loads(path.read_text())["cases"]


def test_compare_rejects_files_that_are_not_runs(tmp_path, capsys):
    junk = tmp_path / "junk.json"
    junk.write_text("not json")
    assert bench.main(["compare", str(junk)]) == 2
    assert "junk.json" in capsys.readouterr().err
    junk.write_text(json.dumps({"some": "dict"}))
    assert bench.main(["compare", str(junk)]) == 2
    assert "not a tls bench run" in capsys.readouterr().err
    assert bench.main(["compare", str(tmp_path / "missing.json")]) == 2
    assert "missing.json" in capsys.readouterr().err


def test_bad_arguments_through_python_m_tls():
    proc = _bench("--group", "nosuchgroup")
    assert proc.returncode == 2
    assert "unknown group(s): nosuchgroup" in proc.stderr
    assert proc.stdout == ""
