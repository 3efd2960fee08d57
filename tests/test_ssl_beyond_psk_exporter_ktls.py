"""Issue 7, items 3, 4 and 7: external PSKs, keying material export and channel
binding, kernel TLS.

- PSKs: CPython 3.13's ``set_psk_client_callback``/``set_psk_server_callback``, checked
  against tls itself, against the stdlib of a CPython 3.13 run in a subprocess (the
  stdlib here, 3.11 or PyPy 3.9, has no PSKs) and against ``openssl s_server``/``s_client``
  with ``-psk``, on TLS 1.2 and 1.3; error behaviour compared with 3.13's.
- ``export_keying_material`` and ``get_channel_binding("tls-exporter")``: both ends agree,
  and agree with ``openssl s_server``/``s_client -keymatexport`` (the stdlib has no such API).
- Kernel TLS: ``OP_ENABLE_KTLS``, ``ktls_send_enabled``/``ktls_recv_enabled`` and
  ``sendfile``.  Where the kernel has no ``tls`` module or OpenSSL was built without kTLS,
  the properties are False and sendfile falls back; the kTLS-only test skips saying which.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import queue
import re
import shutil
import socket
import ssl as std
import subprocess
import sys
import threading

import pytest
from ssl_certs import Pair

import tls.ssl as tssl
from tls._binding import clear_errors, lib

TIMEOUT = 10
KEY = bytes.fromhex("c0ffee00112233445566778899aabbcc")
VERSIONS = ["TLSv1_2", "TLSv1_3"]


@pytest.fixture(autouse=True)
def _forget_peer_errors():
    """PyPy's stdlib ssl leaves its failures on the shared OpenSSL error queue; tls's own
    cleanliness is checked by the suite-wide fixture and by explicit asserts below."""
    yield
    if sys.implementation.name != "cpython":
        clear_errors()


def version_text(version):
    return version.replace("_", ".")


def psk_contexts(version, client_cb=None, server_cb=None, hint=None, mod=tssl):
    """A PSK client and server context of ``mod`` (no certificates), limited to ``version``;
    TLS 1.2 offers only the PSK cipher suites."""
    server = mod.SSLContext(mod.PROTOCOL_TLS_SERVER)
    client = mod.SSLContext(mod.PROTOCOL_TLS_CLIENT)
    for ctx in (client, server):
        ctx.minimum_version = ctx.maximum_version = getattr(mod.TLSVersion, version)
        if version == "TLSv1_2":
            ctx.set_ciphers("PSK")
    client.set_psk_client_callback(client_cb or (lambda hint: ("client-id", KEY)))
    server.set_psk_server_callback(server_cb or (lambda identity: KEY), hint)
    return client, server


class Unraisable:
    """Collect what reaches ``sys.unraisablehook`` (where CPython and cffi report an
    exception raised by a callback OpenSSL called)."""

    def __init__(self, monkeypatch):
        self.seen = []
        monkeypatch.setattr(sys, "unraisablehook", lambda args: self.seen.append(args.exc_value))

    def types(self):
        return [type(e) for e in self.seen]


# ----------------------------------------------------------------------------- peers
def _python313():
    """A CPython 3.13+ whose stdlib ssl has PSKs, or None."""
    candidates = [shutil.which(f"python3.{minor}") for minor in range(13, 20)]
    candidates += sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.1[3-9]*/bin/python")))
    for path in candidates:
        if not path:
            continue
        try:
            out = subprocess.run(
                [path, "-c", "import ssl; print(hasattr(ssl.SSLContext, 'set_psk_client_callback'))"],
                capture_output=True,
                text=True,
                timeout=30,
            )
        except (OSError, subprocess.TimeoutExpired):
            continue
        if out.stdout.strip() == "True":
            return path
    return None


PYTHON313 = _python313()
needs_313 = pytest.mark.skipif(
    PYTHON313 is None, reason="no CPython 3.13+ found (python3.13 on PATH or under ~/.pyenv) to be the peer"
)

# The stdlib peer, run by CPython 3.13: argv[1] is a JSON config; it prints JSON lines.
PEER_313 = r"""
import json, socket, ssl, sys
cfg = json.loads(sys.argv[1])
seen = []
key = bytes.fromhex(cfg["key"])
side = ssl.PROTOCOL_TLS_SERVER if cfg["role"] == "server" else ssl.PROTOCOL_TLS_CLIENT
ctx = ssl.SSLContext(side)
ctx.minimum_version = ctx.maximum_version = getattr(ssl.TLSVersion, cfg["version"])
if cfg["version"] == "TLSv1_2":
    ctx.set_ciphers("PSK")
if cfg["role"] == "server":
    ctx.set_psk_server_callback(lambda identity: seen.append(identity) or key, cfg.get("hint"))
    ls = socket.create_server(("127.0.0.1", 0))
    ls.settimeout(10)
    print(json.dumps({"port": ls.getsockname()[1]}), flush=True)
    raw, _ = ls.accept()
    raw.settimeout(10)
    conn = ctx.wrap_socket(raw, server_side=True)
else:
    ctx.set_psk_client_callback(lambda hint: seen.append(hint) or (cfg["identity"], key))
    raw = socket.create_connection(("127.0.0.1", cfg["port"]), timeout=10)
    conn = ctx.wrap_socket(raw, server_hostname="localhost")
try:
    conn.sendall(b"ping from 3.13\n")
    data = conn.recv(100)
    print(json.dumps({"seen": seen, "version": conn.version(), "cipher": conn.cipher()[0],
                      "data": data.decode(), "tls_unique": conn.get_channel_binding().hex()}), flush=True)
except ssl.SSLError as exc:
    print(json.dumps({"seen": seen, "error": exc.reason}), flush=True)
conn.close()
"""


@contextlib.contextmanager
def python313_peer(config):
    proc = subprocess.Popen(
        [PYTHON313, "-I", "-c", PEER_313, json.dumps(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield proc
    finally:
        try:
            proc.wait(TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(TIMEOUT)
        proc.stdout.close()
        proc.stderr.close()


def _json_line(proc):
    line = proc.stdout.readline()
    assert line, f"the 3.13 peer printed nothing: {proc.stderr.read()}"
    return json.loads(line)


class Lines:
    """Read a process's output lines in a thread (never blocks the test on a pipe)."""

    def __init__(self, stream):
        self.queue = queue.Queue()
        self.thread = threading.Thread(target=self._pump, args=(stream,), daemon=True)
        self.thread.start()

    def _pump(self, stream):
        for line in iter(stream.readline, b""):
            self.queue.put(line.decode("utf-8", "replace"))
        self.queue.put(None)

    def until(self, predicate, timeout=TIMEOUT):
        """Lines up to the first one ``predicate`` accepts (which is returned last)."""
        lines = []
        while True:
            try:
                line = self.queue.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(f"no expected line within {timeout} s; got {lines}") from None
            if line is None:
                raise AssertionError(f"the process ended first; got {lines}")
            lines.append(line)
            if predicate(line):
                return lines


def _stop(proc, lines=None):
    """Wait for (or kill) ``proc``, join the thread reading its output, close its pipes."""
    if proc.stdin is not None:
        try:
            proc.stdin.close()
        except OSError:
            pass
    try:
        proc.wait(TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(TIMEOUT)
    if lines is not None:
        lines.thread.join(TIMEOUT)
        assert not lines.thread.is_alive(), "the output reader hung"
    proc.stdout.close()


@contextlib.contextmanager
def background(fn):
    """Run ``fn`` in a thread during the block; it is joined at the end and its exception
    re-raised (the sockets it uses time out, so it never outlives the block for long)."""
    errors = []

    def run():
        try:
            fn()
        except BaseException as exc:  # re-raised below
            errors.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield
    finally:
        thread.join(TIMEOUT * 3)
    assert not thread.is_alive(), "the peer thread hung"
    if errors:
        raise errors[0]


def _openssl_version_args(version):
    return ["-tls1_2", "-cipher", "PSK"] if version == "TLSv1_2" else ["-tls1_3"]


@contextlib.contextmanager
def openssl_psk_server(version, *extra, identity="client-id", hint=None):
    # (hint may be bytes: the CLI sends its argument's bytes as they are)
    """``openssl s_server -nocert -psk`` on an ephemeral loopback port: (port, output Lines)."""
    args = ["openssl", "s_server", "-accept", "127.0.0.1:0", "-nocert", "-naccept", "1"]
    args += ["-psk", KEY.hex(), "-psk_identity", identity, *_openssl_version_args(version), *extra]
    if hint is not None:
        args += ["-psk_hint", hint]
    # stdin stays open: s_server ends the connection when its stdin reaches EOF
    proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    lines = Lines(proc.stdout)
    try:
        accept = lines.until(lambda line: line.startswith("ACCEPT"))[-1]
        yield int(accept.rsplit(":", 1)[1]), lines
    finally:
        proc.terminate()
        _stop(proc, lines)


@contextlib.contextmanager
def openssl_client(port, version, *extra, psk=True, identity="client-id"):
    """``openssl s_client`` to 127.0.0.1:port: (process, output Lines)."""
    args = ["openssl", "s_client", "-connect", f"127.0.0.1:{port}"]
    if psk:
        args += ["-psk", KEY.hex(), "-psk_identity", identity, *_openssl_version_args(version)]
    else:
        args += ["-tls1_2" if version == "TLSv1_2" else "-tls1_3"]
    args += list(extra)
    proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    lines = Lines(proc.stdout)
    try:
        yield proc, lines
    finally:
        _stop(proc, lines)


def keying_material(lines):
    """The hex 'Keying material:' an openssl s_server/s_client prints after its handshake."""
    found = lines.until(lambda line: "Keying material:" in line or line.strip() == "Error")[-1]
    assert "Keying material:" in found, f"openssl could not export: {found}"
    return bytes.fromhex(found.split(":", 1)[1].strip())


def accept_tls(ls, ctx):
    raw, _ = ls.accept()
    raw.settimeout(TIMEOUT)
    try:
        return ctx.wrap_socket(raw, server_side=True)
    except BaseException:
        raw.close()
        raise


def connect_tls(port, ctx, **kw):
    kw.setdefault("server_hostname", "localhost")
    raw = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    try:
        return ctx.wrap_socket(raw, **kw)
    except BaseException:
        raw.close()
        raise


@contextlib.contextmanager
def listening():
    with socket.create_server(("127.0.0.1", 0)) as ls:
        ls.settimeout(TIMEOUT)
        yield ls


# ============================================================================= 3. external PSKs
def test_psk_constants_and_methods_exist():
    assert tssl.HAS_PSK is True
    ctx = tssl.SSLContext(tssl.PROTOCOL_TLS_CLIENT)
    assert ctx.set_psk_client_callback(None) is None
    if hasattr(std, "HAS_PSK"):  # CPython 3.13+
        assert tssl.HAS_PSK == std.HAS_PSK


# Each scenario: what CPython 3.13 answers to a call, compared outcome for outcome.
API_SCENARIOS = r"""
def scenarios(ssl):
    S = lambda: ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    C = lambda: ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    cb = lambda x: b"k"
    return [
        ("client cb on server", lambda: S().set_psk_client_callback(lambda h: ("a", b"k"))),
        ("server cb on client", lambda: C().set_psk_server_callback(cb)),
        ("client cb not callable", lambda: C().set_psk_client_callback(1)),
        ("server cb not callable", lambda: S().set_psk_server_callback("nope")),
        ("client cb None", lambda: C().set_psk_client_callback(None)),
        ("server cb None", lambda: S().set_psk_server_callback(None)),
        ("hint 256", lambda: S().set_psk_server_callback(cb, "x" * 256)),
        ("hint 257", lambda: S().set_psk_server_callback(cb, "x" * 257)),
        ("hint 128 x 2-byte", lambda: S().set_psk_server_callback(cb, "\u00e9" * 128)),
        ("hint 129 x 2-byte", lambda: S().set_psk_server_callback(cb, "\u00e9" * 129)),
        ("hint too long but no cb", lambda: S().set_psk_server_callback(None, "x" * 257)),
        ("hint bytes", lambda: S().set_psk_server_callback(cb, b"x")),
        ("hint int with no cb", lambda: S().set_psk_server_callback(None, 3)),
        ("hint NUL", lambda: S().set_psk_server_callback(cb, "a\0b")),
        ("hint surrogate", lambda: S().set_psk_server_callback(cb, "\udc80")),
        ("hint keyword", lambda: S().set_psk_server_callback(callback=cb, identity_hint="h")),
        ("client no args", lambda: C().set_psk_client_callback()),
        ("server no args", lambda: S().set_psk_server_callback()),
        ("PROTOCOL_TLS both", lambda: [c.set_psk_client_callback(lambda h: (None, b"k"))
                                       or c.set_psk_server_callback(cb)
                                       for c in [ssl.SSLContext(ssl.PROTOCOL_TLS)]]),
    ]


def outcomes(ssl):
    import re, warnings
    warnings.simplefilter("ignore")
    out = {}
    for name, call in scenarios(ssl):
        try:
            call()
            out[name] = "ok"
        except Exception as exc:
            text = re.sub(r"_ssl\.c:\d+", "_ssl.c:N", str(exc))
            text = re.sub(r"(callback|set_psk_\w+)\(\) (missing|takes)", r"\2", text)
            out[name] = f"{type(exc).__name__}: {text}"
    return out
"""

# CPython 3.13.0's answers (the live 3.13 is compared too when it is there).
_HINT_TYPE = "TypeError: set_psk_server_callback() argument 'identity_hint' must be str or None, not "
API_SPEC = {
    "client cb on server": "SSLError: Cannot add PSK client callback to a PROTOCOL_TLS_SERVER context "
    "(_ssl.c:N)",
    "server cb on client": "SSLError: Cannot add PSK server callback to a PROTOCOL_TLS_CLIENT context "
    "(_ssl.c:N)",
    "client cb not callable": "TypeError: callback must be callable",
    "server cb not callable": "TypeError: callback must be callable",
    "client cb None": "ok",
    "server cb None": "ok",
    "hint 256": "ok",
    "hint 257": "ValueError: failed to set identity hint",
    "hint 128 x 2-byte": "ok",
    "hint 129 x 2-byte": "ValueError: failed to set identity hint",
    "hint too long but no cb": "ok",
    "hint bytes": _HINT_TYPE + "bytes",
    "hint int with no cb": _HINT_TYPE + "int",
    "hint NUL": "ValueError: embedded null character",
    "hint surrogate": "UnicodeEncodeError: 'utf-8' codec can't encode character '\\udc80' in position 0: "
    "surrogates not allowed",
    "hint keyword": "ok",
    "PROTOCOL_TLS both": "ok",
}


def _api_outcomes_here():
    namespace = {}
    exec(API_SCENARIOS, namespace)
    return namespace["outcomes"](tssl)


def test_psk_setter_errors_are_cpython_313s():
    ours = _api_outcomes_here()
    for name, expected in API_SPEC.items():
        assert ours[name] == expected, name
    # a missing argument is a TypeError on every interpreter (its wording is the interpreter's)
    assert ours["client no args"].startswith("TypeError") and ours["server no args"].startswith("TypeError")


@needs_313
def test_psk_setter_errors_equal_live_cpython_313():
    code = API_SCENARIOS + "\nimport json, ssl\nprint(json.dumps(outcomes(ssl)))\n"
    out = subprocess.run([PYTHON313, "-I", "-c", code], capture_output=True, text=True, timeout=60)
    theirs = json.loads(out.stdout)
    ours = _api_outcomes_here()
    for name in API_SPEC:
        assert ours[name] == theirs[name], name


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("client_bio", [tssl.MemoryBIO, std.MemoryBIO], ids=["tls-bio", "std-bio"])
def test_psk_handshake_over_memory_bios(version, client_bio):
    hints, identities = [], []
    client, server = psk_contexts(
        version,
        lambda hint: hints.append(hint) or ("client-id", KEY),
        lambda identity: identities.append(identity) or KEY,
        hint="server-hint",
    )
    pair = Pair(client, server, client_bio=client_bio)
    pair.handshake()
    assert pair.client.version() == pair.server.version() == version_text(version)
    assert identities == ["client-id"]
    # TLS 1.3 has no identity hint: the client callback gets None
    assert hints == (["server-hint"] if version == "TLSv1_2" else [None])
    name = pair.client.cipher()[0]
    assert "PSK" in name if version == "TLSv1_2" else name.endswith("_SHA256")
    assert pair.client.getpeercert() is None  # no certificate: the PSK authenticated the server
    assert pair.send(pair.client, pair.server, b"over a PSK") == b"over a PSK"
    assert pair.client.export_keying_material("EXPORTER-psk", 32) == pair.server.export_keying_material(
        "EXPORTER-psk", 32
    )


@pytest.mark.parametrize("version", VERSIONS)
def test_psk_identity_forms(version):
    """None and "" are an empty identity (the server's callback sees None; TLS 1.3 refuses
    it, in OpenSSL's client, as with CPython 3.13); bytes are taken as UTF-8, as CPython
    3.13 does; bytes-like PSKs are accepted."""
    for sent, key, expected in [
        (None, KEY, None),
        ("", KEY, None),
        (b"raw-id", memoryview(KEY), "raw-id"),
        ("id-\u00e9", bytearray(KEY), "id-\u00e9"),
        ("i" * 255, KEY, "i" * 255),
    ]:
        seen = []
        client, server = psk_contexts(
            version, lambda hint, sent=sent, key=key: (sent, key), lambda i, seen=seen: seen.append(i) or KEY
        )
        if not sent and version == "TLSv1_3":
            with pytest.raises(std.SSLError, match="internal error"):
                Pair(client, server).handshake()
            assert seen == []
            continue
        pair = Pair(client, server)
        pair.handshake()
        assert seen == [expected]


@pytest.mark.parametrize("version", VERSIONS)
def test_psk_longest_key(version):
    client, server = psk_contexts(version, lambda hint: ("id", b"k" * 512), lambda i: b"k" * 512)
    Pair(client, server).handshake()


def _failed_handshake(client, server):
    """Run a handshake meant to fail: (client error reason, server error reason)."""
    pair = Pair(client, server)
    errors = {}
    for _ in range(10):
        for name in ("client", "server"):
            if name in errors:
                continue
            try:
                getattr(pair, name).do_handshake()
            except std.SSLWantReadError:
                pass
            except std.SSLError as exc:
                errors[name] = exc.reason
        if not pair.transfer() and len(errors) == 2:
            break
    return errors.get("client"), errors.get("server")


# name -> (client callback, server callback, version), as source text so that the live
# CPython 3.13 runs the very same callbacks; the PSK callbacks misbehave.
FAILURES = {
    "client raises": ("lambda h: 1 / 0", "lambda i: KEY", "TLSv1_2"),
    "client returns a list": ("lambda h: ['id', KEY]", "lambda i: KEY", "TLSv1_2"),
    "client returns a 3-tuple": ("lambda h: ('id', KEY, 1)", "lambda i: KEY", "TLSv1_2"),
    "client psk is str": ("lambda h: ('id', 'key')", "lambda i: KEY", "TLSv1_2"),
    "client identity is int": ("lambda h: (5, KEY)", "lambda i: KEY", "TLSv1_2"),
    "client identity 256": ("lambda h: ('i' * 256, KEY)", "lambda i: KEY", "TLSv1_2"),
    "client psk 513": ("lambda h: ('id', b'k' * 513)", "lambda i: KEY", "TLSv1_2"),
    "client psk empty": ("lambda h: ('id', b'')", "lambda i: KEY", "TLSv1_2"),
    "server raises": ("lambda h: ('id', KEY)", "lambda i: 1 / 0", "TLSv1_2"),
    "server returns str": ("lambda h: ('id', KEY)", "lambda i: 'key'", "TLSv1_2"),
    "server returns a tuple": ("lambda h: ('id', KEY)", "lambda i: ('id', KEY)", "TLSv1_2"),
    "server psk empty": ("lambda h: ('id', KEY)", "lambda i: b''", "TLSv1_2"),
    "server psk 513": ("lambda h: ('id', KEY)", "lambda i: b'k' * 513", "TLSv1_2"),
    "keys differ": ("lambda h: ('id', KEY)", "lambda i: b'other key'", "TLSv1_2"),
    "1.3 keys differ": ("lambda h: ('id', KEY)", "lambda i: b'other key'", "TLSv1_3"),
    "1.3 client raises": ("lambda h: 1 / 0", "lambda i: KEY", "TLSv1_3"),
    "1.3 server raises": ("lambda h: ('id', KEY)", "lambda i: 1 / 0", "TLSv1_3"),
}

# What CPython 3.13.0 answers on OpenSSL 3.0 (other OpenSSL releases send other alerts
# for some): (client reason, server reason).
FAILURE_SPEC = {
    "client raises": ("PSK_IDENTITY_NOT_FOUND", "SSLV3_ALERT_HANDSHAKE_FAILURE"),
    "client returns a list": ("PSK_IDENTITY_NOT_FOUND", "SSLV3_ALERT_HANDSHAKE_FAILURE"),
    "client returns a 3-tuple": ("PSK_IDENTITY_NOT_FOUND", "SSLV3_ALERT_HANDSHAKE_FAILURE"),
    "client psk is str": ("PSK_IDENTITY_NOT_FOUND", "SSLV3_ALERT_HANDSHAKE_FAILURE"),
    "client identity is int": ("PSK_IDENTITY_NOT_FOUND", "SSLV3_ALERT_HANDSHAKE_FAILURE"),
    "client identity 256": ("PSK_IDENTITY_NOT_FOUND", "SSLV3_ALERT_HANDSHAKE_FAILURE"),
    "client psk 513": ("PSK_IDENTITY_NOT_FOUND", "SSLV3_ALERT_HANDSHAKE_FAILURE"),
    "client psk empty": ("PSK_IDENTITY_NOT_FOUND", "SSLV3_ALERT_HANDSHAKE_FAILURE"),
    "server raises": ("TLSV1_ALERT_UNKNOWN_PSK_IDENTITY", "PSK_IDENTITY_NOT_FOUND"),
    "server returns str": ("TLSV1_ALERT_UNKNOWN_PSK_IDENTITY", "PSK_IDENTITY_NOT_FOUND"),
    "server returns a tuple": ("TLSV1_ALERT_UNKNOWN_PSK_IDENTITY", "PSK_IDENTITY_NOT_FOUND"),
    "server psk empty": ("TLSV1_ALERT_UNKNOWN_PSK_IDENTITY", "PSK_IDENTITY_NOT_FOUND"),
    "server psk 513": ("TLSV1_ALERT_UNKNOWN_PSK_IDENTITY", "PSK_IDENTITY_NOT_FOUND"),
    "keys differ": ("SSLV3_ALERT_BAD_RECORD_MAC", "DECRYPTION_FAILED_OR_BAD_RECORD_MAC"),
    "1.3 keys differ": ("SSLV3_ALERT_ILLEGAL_PARAMETER", "BINDER_DOES_NOT_VERIFY"),
    "1.3 client raises": ("SSLV3_ALERT_HANDSHAKE_FAILURE", "NO_SUITABLE_SIGNATURE_ALGORITHM"),
    "1.3 server raises": ("SSLV3_ALERT_HANDSHAKE_FAILURE", "NO_SUITABLE_SIGNATURE_ALGORITHM"),
}

# The exception each misbehaving callback reports through sys.unraisablehook (None: none,
# OpenSSL itself refuses, e.g. an empty PSK).
FAILURE_REPORTED = {
    "client raises": ZeroDivisionError,
    "client returns a list": TypeError,
    "client returns a 3-tuple": TypeError,
    "client psk is str": TypeError,
    "client identity is int": TypeError,
    "client identity 256": ValueError,
    "client psk 513": ValueError,
    "client psk empty": None,
    "server raises": ZeroDivisionError,
    "server returns str": TypeError,
    "server returns a tuple": TypeError,
    "server psk empty": None,
    "server psk 513": ValueError,
    "keys differ": None,
    "1.3 keys differ": None,
    "1.3 client raises": ZeroDivisionError,
    "1.3 server raises": ZeroDivisionError,
}


@pytest.mark.parametrize("name", sorted(FAILURES))
def test_psk_callback_failure_aborts_the_handshake_as_in_cpython_313(name, monkeypatch):
    reported = Unraisable(monkeypatch)
    client_cb, server_cb, version = FAILURES[name]
    client, server = psk_contexts(version, eval(client_cb), eval(server_cb))
    outcome = _failed_handshake(client, server)
    assert outcome[0] or outcome[1]  # it failed
    if tssl.OPENSSL_VERSION_INFO[:2] == (3, 0):  # the release the table was recorded with
        assert outcome == FAILURE_SPEC[name]
    expected = FAILURE_REPORTED[name]
    assert reported.types() == ([] if expected is None else [expected])


FAILURE_DRIVER_313 = r"""
import json, ssl, sys
sys.unraisablehook = lambda args: None
KEY = bytes.fromhex(sys.argv[1])
def failed(ccb, scb, version):
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    for ctx in (client, server):
        ctx.minimum_version = ctx.maximum_version = getattr(ssl.TLSVersion, version)
        if version == "TLSv1_2":
            ctx.set_ciphers("PSK")
    client.set_psk_client_callback(ccb)
    server.set_psk_server_callback(scb)
    bios = [ssl.MemoryBIO() for _ in range(4)]
    c = client.wrap_bio(bios[0], bios[1], server_hostname="localhost")
    s = server.wrap_bio(bios[2], bios[3], server_side=True)
    errors = {}
    for _ in range(10):
        for name, obj in (("client", c), ("server", s)):
            if name in errors:
                continue
            try:
                obj.do_handshake()
            except ssl.SSLWantReadError:
                pass
            except ssl.SSLError as exc:
                errors[name] = exc.reason
        moved = False
        for src, dst in ((bios[1], bios[2]), (bios[3], bios[0])):
            data = src.read()
            if data:
                dst.write(data)
                moved = True
        if not moved and len(errors) == 2:
            break
    return [errors.get("client"), errors.get("server")]
"""


def _same_reason(ours, theirs):
    """CPython's error-name table lacks some of OpenSSL's names (3.13.0 has no name for
    "tlsv1 alert unknown psk identity": its reason is None, the message the same); tls's
    names more.  A name both give must be the same."""
    return ours == theirs or (theirs is None and ours is not None)


@needs_313
def test_psk_callback_failures_equal_live_cpython_313(monkeypatch):
    """The failure table above, run by the live CPython 3.13 with the same callbacks, on
    the same OpenSSL as tls (its _ssl loads the library LD_LIBRARY_PATH gives)."""
    version_code = "import ssl; print(ssl.OPENSSL_VERSION)"
    theirs_version = subprocess.run([PYTHON313, "-I", "-c", version_code], capture_output=True, text=True)
    if theirs_version.stdout.strip() != tssl.OPENSSL_VERSION:
        pytest.skip(f"CPython 3.13 loads {theirs_version.stdout.strip()}, tls {tssl.OPENSSL_VERSION}")
    lines = [FAILURE_DRIVER_313, "out = {}"]
    for name, (client_cb, server_cb, version) in FAILURES.items():
        lines.append(f"out[{name!r}] = failed({client_cb}, {server_cb}, {version!r})")
    lines.append("print(json.dumps(out))")
    code = "\n".join(lines)
    out = subprocess.run([PYTHON313, "-I", "-c", code, KEY.hex()], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    theirs = json.loads(out.stdout)
    Unraisable(monkeypatch)  # the misbehaving callbacks' reports
    for name, (client_cb, server_cb, version) in FAILURES.items():
        ours = _failed_handshake(*psk_contexts(version, eval(client_cb), eval(server_cb)))
        assert all(map(_same_reason, ours, theirs[name])), (name, ours, theirs[name])


def test_psk_hint_that_is_not_utf8_fails_the_handshake_quietly(monkeypatch):
    """A server hint that is not UTF-8 fails the handshake without calling the callback and
    without an exception to report, as in CPython 3.13."""
    reported = Unraisable(monkeypatch)
    called = []
    client, _ = psk_contexts("TLSv1_2", lambda hint: called.append(hint) or ("client-id", KEY))
    with openssl_psk_server("TLSv1_2", hint=b"caf\xe9") as (port, _):
        with pytest.raises(std.SSLError):
            connect_tls(port, client)
    assert called == [] and reported.seen == []


# (version, side whose callback is unset) -> (client reason, server reason), as CPython 3.13.0
UNSET_SPEC = {
    ("TLSv1_2", "server"): ("SSLV3_ALERT_HANDSHAKE_FAILURE", "NO_SHARED_CIPHER"),
    ("TLSv1_2", "client"): ("NO_CIPHERS_AVAILABLE", "UNEXPECTED_MESSAGE"),
    ("TLSv1_3", "server"): ("TLSV1_ALERT_PROTOCOL_VERSION", "UNSUPPORTED_PROTOCOL"),
    ("TLSv1_3", "client"): ("SSLV3_ALERT_HANDSHAKE_FAILURE", "NO_SUITABLE_SIGNATURE_ALGORITHM"),
}


@pytest.mark.parametrize("version, side", sorted(UNSET_SPEC))
def test_psk_callbacks_unset_with_none(version, side):
    """None removes the callback: no PSK cipher (TLS 1.2) or no PSK (TLS 1.3) remains, and
    without certificates the handshake fails as CPython 3.13's does."""
    client, server = psk_contexts(version)
    if side == "server":
        server.set_psk_server_callback(None, "ignored hint")
    else:
        client.set_psk_client_callback(None)
    assert _failed_handshake(client, server) == UNSET_SPEC[version, side]


def test_psk_client_callback_is_taken_when_the_connection_is_made():
    """As in CPython (OpenSSL copies the callback into each SSL when it is made): a callback
    set after wrap_bio is not used by that connection; one removed after it finds nothing."""
    calls = []
    client, server = psk_contexts("TLSv1_3")
    client.set_psk_client_callback(lambda hint: calls.append(hint) or ("client-id", KEY))
    pair = Pair(client, server)
    client.set_psk_client_callback(None)
    with pytest.raises(std.SSLError):
        pair.handshake()
    client, server = psk_contexts("TLSv1_3")
    client.set_psk_client_callback(None)
    pair = Pair(client, server)
    client.set_psk_client_callback(lambda hint: calls.append(hint) or ("client-id", KEY))
    with pytest.raises(std.SSLError):
        pair.handshake()
    assert calls == []


def test_psk_server_callback_follows_the_sni_switch(certs):
    """The server callback is looked up on the connection's context when it runs, so an SNI
    callback that switches context switches PSK tables too (as CPython reads ctx->...)."""
    client, first = psk_contexts("TLSv1_2")
    _, second = psk_contexts("TLSv1_2", server_cb=lambda identity: KEY)
    first.set_psk_server_callback(lambda identity: b"wrong key")
    first.sni_callback = lambda sslobj, name, ctx: setattr(sslobj, "context", second)
    pair = Pair(client, first)
    pair.handshake()
    assert pair.server.context is second


def test_psk_tls13_resumes_and_a_refused_psk_falls_back_to_the_certificate(certs):
    """TLS 1.3 uses an external PSK as a resumption (session_reused is True); a server that
    also has a certificate and refuses the PSK goes on with a certificate handshake."""
    client, server = psk_contexts("TLSv1_3")
    pair = Pair(client, server)
    pair.handshake()
    assert pair.client.session_reused and pair.server.session_reused
    client, server = psk_contexts("TLSv1_3", server_cb=lambda identity: b"")
    server.load_cert_chain(certs.server, certs.server_key)
    client.load_verify_locations(certs.ca)
    pair = Pair(client, server)
    pair.handshake()
    assert not pair.client.session_reused
    assert pair.client.getpeercert()["subjectAltName"][0] == ("DNS", "localhost")


@needs_313
@pytest.mark.parametrize("version", VERSIONS)
def test_psk_tls_client_against_cpython_313_server(version):
    client, _ = psk_contexts(version)
    hints = []
    client.set_psk_client_callback(lambda hint: hints.append(hint) or ("client-id", KEY))
    config = {"role": "server", "version": version, "key": KEY.hex(), "hint": "hint-313"}
    with python313_peer(config) as proc:
        port = _json_line(proc)["port"]
        with connect_tls(port, client) as conn:
            assert conn.recv(100) == b"ping from 3.13\n"
            conn.sendall(b"pong from tls")
            result = _json_line(proc)
            assert conn.version() == version_text(version)
            assert result["tls_unique"] == (conn.get_channel_binding() or b"").hex()
    assert result["seen"] == ["client-id"]
    assert result["version"] == version_text(version) and result["data"] == "pong from tls"
    assert hints == (["hint-313"] if version == "TLSv1_2" else [None])


@needs_313
@pytest.mark.parametrize("version", VERSIONS)
def test_psk_tls_server_against_cpython_313_client(version):
    _, server = psk_contexts(version, hint="tls-hint")
    identities = []
    server.set_psk_server_callback(lambda identity: identities.append(identity) or KEY, "tls-hint")
    with listening() as ls:
        config = {"role": "client", "version": version, "key": KEY.hex(), "identity": "id-313",
                  "port": ls.getsockname()[1]}
        with python313_peer(config) as proc:
            with accept_tls(ls, server) as conn:
                assert conn.recv(100) == b"ping from 3.13\n"
                conn.sendall(b"pong from tls")
                result = _json_line(proc)
                assert result["tls_unique"] == conn.get_channel_binding().hex()
    assert identities == ["id-313"]
    assert result["version"] == version_text(version) and result["data"] == "pong from tls"
    assert result["seen"] == (["tls-hint"] if version == "TLSv1_2" else [None])


@pytest.mark.parametrize("version", VERSIONS)
def test_psk_tls_client_against_openssl_s_server(version):
    hints = []
    client, _ = psk_contexts(version, lambda hint: hints.append(hint) or ("client-id", KEY))
    with openssl_psk_server(version, "-keymatexport", "EXPORTER-tls-test", hint="cli-hint") as (port, lines):
        with connect_tls(port, client) as conn:
            theirs = keying_material(lines)
            assert conn.version() == version_text(version)
            assert conn.export_keying_material("EXPORTER-tls-test", 20) == theirs
    assert hints == (["cli-hint"] if version == "TLSv1_2" else [None])


@pytest.mark.parametrize("version", VERSIONS)
def test_psk_tls_client_with_wrong_identity_or_key_against_openssl_s_server(version):
    client, _ = psk_contexts(version, lambda hint: ("someone-else", KEY))
    with openssl_psk_server(version) as (port, lines):
        if version == "TLSv1_2":
            # s_server only warns about an unexpected identity (and goes on with its key)
            with connect_tls(port, client):
                warning = lines.until(lambda line: "PSK warning" in line)[-1]
            assert "got 'someone-else'" in warning
        else:  # its TLS 1.3 session lookup finds no PSK for it
            with pytest.raises(std.SSLError):
                connect_tls(port, client)
    client, _ = psk_contexts(version, lambda hint: ("client-id", b"not the key"))
    with openssl_psk_server(version) as (port, _):
        with pytest.raises(std.SSLError):
            with connect_tls(port, client) as conn:
                conn.recv(1)  # TLS 1.2: the client's side of the handshake may end before the failure


@pytest.mark.parametrize("version", VERSIONS)
def test_psk_tls_server_against_openssl_s_client(version):
    identities = []
    _, server = psk_contexts(version, server_cb=lambda identity: identities.append(identity) or KEY)
    with listening() as ls:
        extra = ("-keymatexport", "EXPORTER-tls-test")
        with openssl_client(ls.getsockname()[1], version, *extra) as (proc, lines):
            with accept_tls(ls, server) as conn:
                theirs = keying_material(lines)
                assert conn.export_keying_material(b"EXPORTER-tls-test", 20) == theirs
                proc.stdin.write(b"hello from s_client\n")
                proc.stdin.flush()
                assert conn.recv(100) == b"hello from s_client\n"
                assert conn.version() == version_text(version)
    assert identities == ["client-id"]


# ============================================================================= 4. keying material
def cert_contexts(certs, version, options=0, mods=(tssl, tssl)):
    """A verifying client and an RSA server context (modules ``mods``), at most ``version``,
    with ``options`` added on both."""
    cmod, smod = mods
    client = cmod.SSLContext(cmod.PROTOCOL_TLS_CLIENT)
    client.load_verify_locations(certs.ca)
    server = smod.SSLContext(smod.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(certs.server, certs.server_key)
    client.maximum_version = getattr(cmod.TLSVersion, version)
    server.maximum_version = getattr(smod.TLSVersion, version)
    for ctx in (client, server):
        ctx.options |= options
    return client, server


def cert_pair(certs, version, options=0):
    return Pair(*cert_contexts(certs, version, options))


@pytest.mark.parametrize("version", VERSIONS)
def test_export_keying_material_both_ends_agree(certs, version):
    pair = cert_pair(certs, version)
    pair.handshake()
    c, s = pair.client, pair.server
    for length in (1, 16, 32, 100, 1000):
        ours = c.export_keying_material("EXPORTER-x", length)
        assert len(ours) == length and ours == s.export_keying_material("EXPORTER-x", length)
    # label given as str or bytes-like; the same bytes give the same material
    expected = c.export_keying_material("EXPORTER-x", 32)
    assert expected == s.export_keying_material(bytearray(b"EXPORTER-x"), 32)
    assert expected == s.export_keying_material(memoryview(b"EXPORTER-x"), 32)
    # different labels or contexts give different material; a context is bytes-like
    base = c.export_keying_material("EXPORTER-x", 32)
    assert c.export_keying_material("EXPORTER-y", 32) != base
    with_ctx = c.export_keying_material("EXPORTER-x", 32, b"context")
    assert with_ctx == s.export_keying_material("EXPORTER-x", 32, bytearray(b"context"))
    assert with_ctx != base and with_ctx != c.export_keying_material("EXPORTER-x", 32, b"context2")
    # a shorter output is not a prefix of a longer one on TLS 1.3 (the length is hashed in)
    # but is on TLS 1.2 (a PRF stream)
    prefix = c.export_keying_material("EXPORTER-x", 16) == base[:16]
    assert prefix == (version == "TLSv1_2")
    # no context (None) and an empty context differ on TLS 1.2 (RFC 5705) and are the same on
    # TLS 1.3 (RFC 8446 section 7.5)
    empty = c.export_keying_material("EXPORTER-x", 32, b"")
    assert empty == s.export_keying_material("EXPORTER-x", 32, b"")
    assert (empty == base) == (version == "TLSv1_3")
    # the material is the session's: another connection gets other material
    other = cert_pair(certs, version)
    other.handshake()
    assert other.client.export_keying_material("EXPORTER-x", 32) != base


@pytest.mark.parametrize("version", VERSIONS)
def test_export_keying_material_on_sslsockets(certs, version):
    client_ctx, server_ctx = cert_contexts(certs, version)
    result = {}
    with listening() as ls:

        def serve():
            with accept_tls(ls, server_ctx) as conn:
                result["server"] = conn.export_keying_material("EXPORTER-sock", 48, b"ctx")
                if version == "TLSv1_3":
                    result["server_binding"] = conn.get_channel_binding("tls-exporter")
                conn.sendall(b"x")

        with background(serve), connect_tls(ls.getsockname()[1], client_ctx) as conn:
            assert conn.recv(1) == b"x"
            ours = conn.export_keying_material("EXPORTER-sock", 48, b"ctx")
            binding = conn.get_channel_binding("tls-exporter") if version == "TLSv1_3" else None
            if version != "TLSv1_3":  # renegotiation is allowed: RFC 9266 leaves it undefined
                with pytest.raises(ValueError, match="renegotiation"):
                    conn.get_channel_binding("tls-exporter")
    assert ours == result["server"] and len(ours) == 48
    assert binding == result.get("server_binding")


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("length", [20, 32, 64])
def test_export_keying_material_equals_openssl_s_server(certs, version, length):
    label = f"EXPORTER-Test-{length}"
    client = tssl.SSLContext(tssl.PROTOCOL_TLS_CLIENT)
    client.load_verify_locations(certs.ca)
    client.maximum_version = getattr(tssl.TLSVersion, version)
    args = ["openssl", "s_server", "-accept", "127.0.0.1:0", "-naccept", "1", "-cert", certs.server,
            "-key", certs.server_key, "-keymatexport", label, "-keymatexportlen", str(length)]
    proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    lines = Lines(proc.stdout)
    try:
        port = int(lines.until(lambda line: line.startswith("ACCEPT"))[-1].rsplit(":", 1)[1])
        with connect_tls(port, client) as conn:
            theirs = keying_material(lines)
            assert conn.version() == version_text(version)
            assert conn.export_keying_material(label, length) == theirs
            if version == "TLSv1_3":
                assert conn.export_keying_material(label, length, b"") == theirs
            else:
                assert conn.export_keying_material(label, length, b"") != theirs
    finally:
        proc.terminate()
        _stop(proc, lines)


@pytest.mark.parametrize("version", VERSIONS)
def test_export_keying_material_equals_openssl_s_client(certs, version):
    server = tssl.SSLContext(tssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(certs.server, certs.server_key)
    server.maximum_version = getattr(tssl.TLSVersion, version)
    server.options |= tssl.OP_NO_RENEGOTIATION
    with listening() as ls:
        extra = ("-keymatexport", "EXPORTER-Channel-Binding", "-keymatexportlen", "32")
        with openssl_client(ls.getsockname()[1], version, *extra, psk=False) as (proc, lines):
            with accept_tls(ls, server) as conn:
                theirs = keying_material(lines)
                assert conn.export_keying_material("EXPORTER-Channel-Binding", 32) == theirs
                # RFC 9266's tls-exporter is that very value (TLS 1.2: with the extended
                # master secret, which OpenSSL negotiates, and no renegotiation)
                assert conn.get_channel_binding("tls-exporter") == theirs


def test_tls_exporter_channel_binding(certs):
    pair = cert_pair(certs, "TLSv1_3")
    assert pair.client.get_channel_binding("tls-exporter") is None  # before the handshake
    assert pair.server.get_channel_binding("tls-exporter") is None
    pair.handshake()
    binding = pair.client.get_channel_binding("tls-exporter")
    assert len(binding) == 32 and binding == pair.server.get_channel_binding("tls-exporter")
    assert binding == pair.client.export_keying_material(b"EXPORTER-Channel-Binding", 32)
    # tls-unique is still there (and something else)
    assert pair.client.get_channel_binding("tls-unique") == pair.server.get_channel_binding()
    assert pair.client.get_channel_binding() != binding
    with pytest.raises(ValueError, match="'tls-server-end-point' channel binding type not implemented"):
        pair.client.get_channel_binding("tls-server-end-point")
    # CHANNEL_BINDING_TYPES stays the stdlib's list (tls.ssl is a drop-in)
    assert tssl.CHANNEL_BINDING_TYPES == std.CHANNEL_BINDING_TYPES == ["tls-unique"]


def test_tls_exporter_on_tls12_needs_ems_and_no_renegotiation(certs):
    # OpenSSL negotiates the extended master secret by default, but renegotiation is allowed
    pair = cert_pair(certs, "TLSv1_2")
    pair.handshake()
    for side in (pair.client, pair.server):
        with pytest.raises(ValueError, match="renegotiation disabled"):
            side.get_channel_binding("tls-exporter")
    # with OP_NO_RENEGOTIATION, it is defined (RFC 9266)
    pair = cert_pair(certs, "TLSv1_2", tssl.OP_NO_RENEGOTIATION)
    pair.handshake()
    binding = pair.client.get_channel_binding("tls-exporter")
    assert binding == pair.server.get_channel_binding("tls-exporter")
    assert binding == pair.client.export_keying_material("EXPORTER-Channel-Binding", 32)
    # without the extended master secret (OpenSSL's SSL_OP_NO_EXTENDED_MASTER_SECRET is bit 0)
    pair = cert_pair(certs, "TLSv1_2", tssl.OP_NO_RENEGOTIATION | 1)
    pair.handshake()
    for side in (pair.client, pair.server):
        with pytest.raises(ValueError, match="extended master secret"):
            side.get_channel_binding("tls-exporter")
        assert side.get_channel_binding("tls-unique")


def test_export_keying_material_bad_inputs(certs):
    pair = cert_pair(certs, "TLSv1_3")
    with pytest.raises(ValueError, match="handshake not done yet"):
        pair.client.export_keying_material("EXPORTER-x", 32)
    pair.handshake()
    c = pair.client
    bad = [
        ((None, 32), TypeError, "label must be an ASCII str or a bytes-like object, not NoneType"),
        ((42, 32), TypeError, "not int"),
        (("EXPORTER-\u00e9", 32), UnicodeEncodeError, "ascii"),
        (("EXPORTER-x", "32"), TypeError, "cannot be interpreted as an integer"),
        (("EXPORTER-x", 3.0), TypeError, "cannot be interpreted as an integer"),
        (("EXPORTER-x", 0), ValueError, "length must be positive"),
        (("EXPORTER-x", -1), ValueError, "length must be positive"),
        (("EXPORTER-x", 2**31), OverflowError, "2147483647"),
        (("EXPORTER-x", 32, "ctx"), TypeError, "context must be a bytes-like object or None, not str"),
        (("EXPORTER-x", 32, 7), TypeError, "not int"),
        (("EXPORTER-x", 32, b"c" * 65536), ValueError, "65535"),
    ]
    for args, exc_type, text in bad:
        with pytest.raises(exc_type, match=re.escape(text)):
            c.export_keying_material(*args)
    assert c.export_keying_material("EXPORTER-x", 32, b"c" * 65535)  # the longest context
    # what OpenSSL refuses is an SSLError, and leaves the queue clean
    with pytest.raises(tssl.SSLError):
        c.export_keying_material("x" * 250, 32)  # a TLS 1.3 label holds 249 bytes after "tls13 "
    hash_len = 48 if c.cipher()[0].endswith("SHA384") else 32
    assert len(c.export_keying_material("EXPORTER-x", 255 * hash_len)) == 255 * hash_len
    with pytest.raises(tssl.SSLError):
        c.export_keying_material("EXPORTER-x", 255 * hash_len + 1)  # HKDF-Expand's limit
    assert len(c.export_keying_material("x" * 249, 32)) == 32
    assert len(c.export_keying_material("", 32)) == 32
    # TLS 1.2 reserves the PRF's own labels (RFC 5705 section 4)
    pair12 = cert_pair(certs, "TLSv1_2")
    pair12.handshake()
    for reserved in ("client finished", "server finished", "master secret", "key expansion"):
        with pytest.raises(tssl.SSLError, match="ILLEGAL_EXPORTER_LABEL|illegal exporter label"):
            pair12.client.export_keying_material(reserved, 12)
    assert len(pair12.client.export_keying_material("EXPORTER-x", 100_000)) == 100_000


def test_export_and_binding_on_sslsocket_without_tls_layer(certs):
    ctx = tssl.SSLContext(tssl.PROTOCOL_TLS_CLIENT)
    with ctx.wrap_socket(socket.socket(), server_hostname="localhost") as sock:
        with pytest.raises(ValueError, match="handshake not done yet"):
            sock.export_keying_material("EXPORTER-x", 32)
        assert sock.get_channel_binding("tls-exporter") is None
        assert sock.get_channel_binding("tls-unique") is None
        with pytest.raises(ValueError, match="not implemented"):
            sock.get_channel_binding("nope")
        assert sock.ktls_send_enabled is False and sock.ktls_recv_enabled is False


# ============================================================================= 7. kernel TLS
TCP_ULP = getattr(socket, "TCP_ULP", 31)  # Linux's value; Python names it from 3.12 on


def _loopback_pair():
    with socket.create_server(("127.0.0.1", 0)) as ls:
        a = socket.create_connection(ls.getsockname(), timeout=TIMEOUT)
        b, _ = ls.accept()
    return a, b


def ktls_unavailable_reason():
    """Why kernel TLS cannot work here, or None when OpenSSL and the kernel both offer it."""
    if not lib.TLS_HAS_KTLS:
        return "OpenSSL was built without kernel TLS (OPENSSL_NO_KTLS)"
    if not sys.platform.startswith("linux"):
        return f"kernel TLS is probed on Linux only (this is {sys.platform})"
    a, b = _loopback_pair()
    try:
        a.setsockopt(socket.IPPROTO_TCP, TCP_ULP, b"tls")
    except OSError as exc:
        try:
            with open("/proc/sys/net/ipv4/tcp_available_ulp") as f:
                ulps = f.read().strip() or "none"
        except OSError:
            ulps = "unreadable"
        return (
            f"the kernel has no tls ULP (setsockopt(TCP_ULP, 'tls'): {exc.strerror}; "
            f"/proc/sys/net/ipv4/tcp_available_ulp: {ulps})"
        )
    finally:
        a.close()
        b.close()
    return None


KTLS_UNAVAILABLE = ktls_unavailable_reason()


def test_op_enable_ktls_constant():
    assert tssl.OP_ENABLE_KTLS == 8 and isinstance(tssl.OP_ENABLE_KTLS, tssl.Options)
    assert tssl.Options.OP_ENABLE_KTLS is tssl.OP_ENABLE_KTLS
    if hasattr(std, "OP_ENABLE_KTLS"):  # CPython 3.12+
        assert tssl.OP_ENABLE_KTLS == std.OP_ENABLE_KTLS
    ctx = tssl.SSLContext(tssl.PROTOCOL_TLS_CLIENT)
    ctx.options |= tssl.OP_ENABLE_KTLS
    assert ctx.options & tssl.OP_ENABLE_KTLS
    ctx.options &= ~tssl.OP_ENABLE_KTLS
    assert not ctx.options & tssl.OP_ENABLE_KTLS


def test_ktls_properties_on_sslobject_are_false(certs):
    pair = cert_pair(certs, "TLSv1_2", tssl.OP_ENABLE_KTLS)
    assert pair.client.ktls_send_enabled is False
    pair.handshake()
    assert pair.client.ktls_send_enabled is False and pair.client.ktls_recv_enabled is False
    assert pair.server.ktls_send_enabled is False and pair.server.ktls_recv_enabled is False


def _sendfile_scenario(certs, tmp_path, version, ktls, sender, payload, offset=0, count=None):
    """A tls SSLSocket (client or server, per ``sender``) sends ``payload``'s file with
    sendfile to a stdlib SSLSocket; returns (bytes received, sent count, file position
    after, (ktls_send_enabled, ktls_recv_enabled))."""
    path = tmp_path / "payload"
    path.write_bytes(payload)
    expected = len(payload) - offset if count is None else count
    client, server = cert_contexts(certs, version, mods=(tssl, std) if sender == "client" else (std, tssl))
    if ktls:
        (client if sender == "client" else server).options |= tssl.OP_ENABLE_KTLS
    received = {}

    def receive(conn):
        got = bytearray()
        while len(got) < expected:
            data = conn.recv(1 << 16)
            if not data:
                break
            got += data
        conn.sendall(b"done")
        received["data"] = bytes(got)

    def send(conn):
        with open(path, "rb") as f:
            sent = conn.sendfile(f, offset, count)
            position = f.tell()
        flags = (conn.ktls_send_enabled, conn.ktls_recv_enabled)
        assert conn.recv(4) == b"done"
        return sent, position, flags

    outcome = {}

    def serve():
        with accept_tls(ls, server) as conn:
            if sender == "server":
                outcome["send"] = send(conn)
            else:
                receive(conn)

    with listening() as ls, background(serve), connect_tls(ls.getsockname()[1], client) as conn:
        if sender == "client":
            outcome["send"] = send(conn)
        else:
            receive(conn)
    sent, position, flags = outcome["send"]
    return received["data"], sent, position, flags


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("sender", ["client", "server"])
@pytest.mark.parametrize("ktls", [False, True], ids=["plain", "OP_ENABLE_KTLS"])
def test_sendfile_with_and_without_op_enable_ktls(certs, tmp_path, version, sender, ktls):
    payload = os.urandom(1_000_003)
    data, sent, position, flags = _sendfile_scenario(certs, tmp_path, version, ktls, sender, payload)
    assert data == payload and sent == len(payload)
    if not ktls or KTLS_UNAVAILABLE:
        assert flags == (False, False)  # everything fell back silently
    data, sent, position, _ = _sendfile_scenario(
        certs, tmp_path, version, ktls, sender, payload, offset=1000, count=500_000
    )
    assert data == payload[1000:501_000] and sent == 500_000 and position == 501_000


class ReadOnly:
    """A binary file object with only read/seek (no readinto, no fileno)."""

    mode = "rb"

    def __init__(self, data):
        import io

        self._f = io.BytesIO(data)
        self.read, self.seek, self.tell = self._f.read, self._f.seek, self._f.tell


@pytest.mark.parametrize("sender_mod", [tssl, std], ids=["tls", "stdlib"])
def test_sendfile_without_ktls_follows_the_stdlib_rules(certs, tmp_path, sender_mod):
    """Without kernel TLS, tls reads 256 KiB at a time into one buffer (the stdlib: 8 KiB
    bytes objects) under the stdlib's rules: offset 0 sends from the current position, a
    count stops early, the file position ends at offset + sent; the same outcomes for both
    implementations."""
    payload = os.urandom(700_001)
    path = tmp_path / "f"
    path.write_bytes(payload)
    client, server = cert_contexts(certs, "TLSv1_3", mods=(sender_mod, std))
    cases = []  # (sent, position, expected bytes)

    def send_all(conn):
        with open(path, "rb") as f:
            f.seek(10)
            cases.append((conn.sendfile(f), f.tell(), payload[10:]))
            cases.append((conn.sendfile(f, 5, 7), f.tell(), payload[5:12]))
            cases.append((conn.sendfile(f, 600_000, 10**9), f.tell(), payload[600_000:]))
        reader = ReadOnly(payload)
        cases.append((conn.sendfile(reader, 1, 300_000), reader.tell(), payload[1:300_001]))

    expected_total = len(payload) - 10 + 7 + len(payload) - 600_000 + 300_000
    got = bytearray()

    def receive():
        with accept_tls(ls, server) as conn:
            while len(got) < expected_total:
                data = conn.recv(1 << 16)
                if not data:
                    break
                got.extend(data)
            conn.sendall(b"done")

    with listening() as ls, background(receive), connect_tls(ls.getsockname()[1], client) as conn:
        send_all(conn)
        assert conn.recv(4) == b"done"
    assert [(sent, position) for sent, position, _ in cases] == [
        # (CPython's quirk: with offset 0 the position ends at offset + sent, not 10 + sent)
        (len(payload) - 10, len(payload) - 10),
        (7, 12),
        (len(payload) - 600_000, len(payload)),
        (300_000, 300_001),
    ]
    assert bytes(got) == b"".join(data for _, _, data in cases)


def test_sendfile_position_after_a_timeout_counts_what_the_peer_gets(certs, tmp_path):
    """socket.sendfile's contract: after an error, file.tell() says how much was sent.  A
    peer that stops reading makes the sender time out; it then reads everything in flight,
    and that must be exactly what the file position says."""
    path = tmp_path / "payload"
    path.write_bytes(os.urandom(16 << 20))  # far more than the socket buffers hold
    go, done, received = threading.Event(), threading.Event(), []
    with listening() as ls:
        server = std.SSLContext(std.PROTOCOL_TLS_SERVER)
        server.load_cert_chain(certs.server, certs.server_key)

        def serve():
            with accept_tls(ls, server) as conn:
                assert go.wait(TIMEOUT)
                got = 0
                with contextlib.suppress(std.SSLEOFError):  # the sender's FIN mid-record
                    while True:
                        data = conn.recv(65536)
                        if not data:
                            break
                        got += len(data)
                received.append(got)
                done.set()

        client = tssl.SSLContext(tssl.PROTOCOL_TLS_CLIENT)
        client.load_verify_locations(certs.ca)
        with background(serve), connect_tls(ls.getsockname()[1], client) as conn:
            conn.settimeout(0.5)
            with open(path, "rb") as f:
                with pytest.raises(socket.timeout):  # TimeoutError from Python 3.10
                    conn.sendfile(f)
                sent = f.tell()
            go.set()
            socket.socket.shutdown(conn, socket.SHUT_WR)  # FIN after what is in flight
            assert done.wait(TIMEOUT)  # open until the peer has read it all
    assert 0 < sent < 16 << 20
    assert received == [sent]


def test_sendfile_bad_inputs(certs, tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"x" * 100)
    with listening() as ls:
        ctx = std.SSLContext(std.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(certs.server, certs.server_key)

        def serve():
            with accept_tls(ls, ctx) as conn:
                assert conn.recv(10) == b"bye"

        client = tssl.SSLContext(tssl.PROTOCOL_TLS_CLIENT)
        client.load_verify_locations(certs.ca)
        client.options |= tssl.OP_ENABLE_KTLS
        with background(serve), connect_tls(ls.getsockname()[1], client) as conn:
            with open(path) as text_file, pytest.raises(ValueError, match="binary mode"):
                conn.sendfile(text_file)
            with open(path, "rb") as f:
                with pytest.raises(ValueError, match="count must be a positive integer"):
                    conn.sendfile(f, count=0)
                with pytest.raises(TypeError, match="count must be a positive integer"):
                    conn.sendfile(f, count="1")
                conn.settimeout(0)
                with pytest.raises(ValueError, match="non-blocking sockets are not supported"):
                    conn.sendfile(f)
                conn.settimeout(TIMEOUT)
                # the engine's SSL_sendfile without kernel TLS: an SSLError, queue clean
                if KTLS_UNAVAILABLE:
                    with pytest.raises(tssl.SSLError):
                        conn._sslobj.sendfile(f.fileno(), 0, 10)
            conn.sendall(b"bye")


def test_sendfile_kernel_path_falls_back_for_files_sendfile_cannot_read(certs, monkeypatch):
    """The SSL_sendfile path (taken when ktls_send_enabled) hands anything sendfile(2)
    cannot read -- no file descriptor, one that is not a regular file -- to the send-based
    path.  Forced here by making the connection report kTLS on; nothing then reaches
    SSL_sendfile."""
    import io

    from tls import _ssl as engine

    monkeypatch.setattr(engine._SocketConnection, "ktls_send_enabled", lambda self: True)
    monkeypatch.setattr(
        engine._SocketConnection, "sendfile", lambda *a: pytest.fail("SSL_sendfile reached")
    )
    payload = os.urandom(50_000)
    with listening() as ls:
        ctx = std.SSLContext(std.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(certs.server, certs.server_key)
        got = bytearray()

        def serve():
            with accept_tls(ls, ctx) as conn:
                while len(got) < 2 * len(payload):
                    data = conn.recv(65536)
                    if not data:
                        break
                    got.extend(data)
                conn.sendall(b"done")

        client = tssl.SSLContext(tssl.PROTOCOL_TLS_CLIENT)
        client.load_verify_locations(certs.ca)
        r, w = os.pipe()

        class PipeBacked(io.BytesIO):
            def fileno(self):
                return r  # a descriptor sendfile(2) cannot read from

        try:
            with background(serve), connect_tls(ls.getsockname()[1], client) as conn:
                assert conn.ktls_send_enabled is True  # (forced)
                assert conn.sendfile(io.BytesIO(payload)) == len(payload)
                assert conn.sendfile(PipeBacked(payload)) == len(payload)
                assert conn.recv(4) == b"done"
        finally:
            os.close(r)
            os.close(w)
    assert bytes(got) == payload * 2


@pytest.mark.skipif(KTLS_UNAVAILABLE is not None, reason=f"kernel TLS unavailable: {KTLS_UNAVAILABLE}")
@pytest.mark.parametrize("sender", ["client", "server"])
def test_ktls_enabled_and_sendfile_goes_through_the_kernel(certs, tmp_path, sender, monkeypatch):
    """Where OpenSSL and the kernel offer kTLS: with OP_ENABLE_KTLS and an AES-GCM suite the
    socket reports kTLS sending on, and sendfile goes through SSL_sendfile."""
    from tls import _ssl as engine

    calls = []
    real = engine._SocketConnection.sendfile
    monkeypatch.setattr(
        engine._SocketConnection, "sendfile", lambda self, *a: calls.append(a) or real(self, *a)
    )
    payload = os.urandom(3_000_001)
    data, sent, position, flags = _sendfile_scenario(certs, tmp_path, "TLSv1_2", True, sender, payload)
    assert data == payload and sent == len(payload) and position == len(payload)
    assert flags[0] is True and isinstance(flags[1], bool)
    assert calls
