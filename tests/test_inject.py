"""``tls.inject_into_ssl()`` / ``tls.extract_from_ssl()`` and ``python -m tls run``.

Injection makes ``tls.ssl`` serve the stdlib ``ssl`` module's classes and factories;
extraction must leave ``ssl`` (and the modules that captured its names) holding the
identical objects as before.  Every test that injects extracts again (fixture).
"""

import contextlib
import ftplib
import http.client
import os
import socket
import ssl
import subprocess
import sys
import threading
import urllib.request

import pytest

import tls
import tls.ssl as tssl
from tls import _inject

# What injection puts behind ssl's names (those both modules have).
EXPECTED = [name for name in _inject.REPLACED if hasattr(tssl, name) and name in vars(ssl)]


def snapshot():
    """Everything injection may touch, by identity."""
    captured = {}
    for module_name, attributes in _inject.CAPTURED.items():
        module = sys.modules.get(module_name)
        if module is not None:
            for attribute in attributes:
                captured[module_name, attribute] = vars(module).get(attribute)
    return {
        "class": type(ssl),
        "vars": dict(vars(ssl)),
        "getattr": {name: getattr(ssl, name) for name in dir(ssl)},
        "captured": captured,
    }


def assert_same(before, after):
    assert after["class"] is before["class"]
    assert after["vars"].keys() == before["vars"].keys()
    for key in ("vars", "getattr", "captured"):
        for name, value in before[key].items():
            assert after[key][name] is value, (key, name)
        assert after[key].keys() == before[key].keys()


@pytest.fixture
def injected():
    assert not _inject.is_injected()
    tls.inject_into_ssl()
    try:
        yield
    finally:
        tls.extract_from_ssl()


@pytest.fixture
def std_snapshot():
    try:
        import urllib3.util.ssl_  # noqa: F401 - a capture site when it is installed
    except ImportError:
        pass
    before = snapshot()
    yield before
    tls.extract_from_ssl()  # whatever the test did
    assert_same(before, snapshot())


# --------------------------------------------------------------------------- the switch


def test_round_trip_restores_every_attribute(std_snapshot):
    assert set(EXPECTED) >= {
        "SSLContext",
        "SSLSocket",
        "SSLObject",
        "SSLSession",
        "create_default_context",
        "Purpose",
    }
    tls.inject_into_ssl()
    for name in EXPECTED:
        assert getattr(ssl, name) is getattr(tssl, name), name
    assert ssl.MemoryBIO is std_snapshot["vars"]["MemoryBIO"]  # deliberately the stdlib's
    assert ssl.SSLError is std_snapshot["vars"]["SSLError"]  # tls's subclass it
    assert vars(ssl) == std_snapshot["vars"]  # the module's dictionary is never written
    tls.extract_from_ssl()
    assert_same(std_snapshot, snapshot())


def test_idempotent_both_ways(std_snapshot):
    tls.extract_from_ssl()  # not injected: nothing happens
    assert_same(std_snapshot, snapshot())
    tls.inject_into_ssl()
    injected_class = type(ssl)
    tls.inject_into_ssl()  # no second layer
    assert type(ssl) is injected_class and type(ssl).__mro__[1] is std_snapshot["class"]
    assert ssl.SSLContext is tssl.SSLContext
    tls.extract_from_ssl()  # one extraction undoes any number of injections
    assert_same(std_snapshot, snapshot())
    tls.extract_from_ssl()
    assert_same(std_snapshot, snapshot())
    tls.inject_into_ssl()
    assert ssl.SSLContext is tssl.SSLContext
    tls.extract_from_ssl()
    assert_same(std_snapshot, snapshot())


def test_concurrent_inject_and_extract(std_snapshot):
    std_context = std_snapshot["vars"]["SSLContext"]
    seen, depths, errors = set(), set(), []
    start = threading.Barrier(8)

    def worker(index):
        try:
            start.wait(timeout=10)
            for i in range(300):
                if (i + index) % 2:
                    tls.inject_into_ssl()
                else:
                    tls.extract_from_ssl()
                seen.add(ssl.SSLContext)
                depths.add(len(type(ssl).__mro__))  # never more than one layer over the module
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    assert not errors
    assert seen <= {std_context, tssl.SSLContext}
    assert depths <= {len(std_snapshot["class"].__mro__), len(std_snapshot["class"].__mro__) + 1}
    tls.inject_into_ssl()
    assert len(type(ssl).__mro__) == len(std_snapshot["class"].__mro__) + 1
    tls.extract_from_ssl()
    assert_same(std_snapshot, snapshot())


def test_factories_make_tls_contexts(injected, certs):
    from ssl import SSLContext  # a `from` import after injection gets tls's too

    assert ssl.SSLContext is SSLContext is tssl.SSLContext
    assert type(ssl.create_default_context()) is tssl.SSLContext
    # urllib.request's call: the purpose read from the module is the one the factory takes
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    assert type(server) is tssl.SSLContext and server.protocol == ssl.PROTOCOL_TLS_SERVER
    client = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=certs.ca)
    assert client.verify_mode == ssl.CERT_REQUIRED and client.check_hostname
    assert type(ssl._create_default_https_context()) is tssl.SSLContext
    assert type(ssl._create_stdlib_context()) is tssl.SSLContext
    unverified = ssl._create_unverified_context()
    assert type(unverified) is tssl.SSLContext and unverified.verify_mode == ssl.CERT_NONE
    # the stdlib's constants and enums are kept and mean the same to a tls context
    client.minimum_version = ssl.TLSVersion.TLSv1_3
    client.options |= ssl.OP_NO_TICKET
    assert client.minimum_version == tssl.TLSVersion.TLSv1_3
    assert client.options & tssl.OP_NO_TICKET
    # http.client takes its default context from ssl at call time
    conn = http.client.HTTPSConnection("localhost", 443)
    assert type(conn._context) is tssl.SSLContext
    conn.close()


def test_tls_errors_are_caught_as_stdlib_errors(injected):
    with pytest.raises(ssl.SSLError):
        ssl.create_default_context().load_cert_chain(os.devnull)
    from tls._binding import clear_errors

    clear_errors()


def test_stdlib_context_made_before_injection_keeps_working(certs):
    """The stdlib's own code (property setters, wrap_socket, wrap_bio) keeps its own
    classes under injection: ssl's dictionary is never written."""
    before = ssl.create_default_context(cafile=certs.ca)
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(certs.server, certs.server_key)
    tls.inject_into_ssl()
    try:
        before.minimum_version = ssl.TLSVersion.TLSv1_2  # super(SSLContext, SSLContext)... inside
        before.options |= ssl.OP_NO_COMPRESSION
        before.verify_mode = ssl.CERT_REQUIRED
        before.verify_flags |= ssl.VERIFY_X509_STRICT
        before.load_default_certs()
        a, b = socket.socketpair()
        with a, b:
            a.settimeout(10)
            b.settimeout(10)
            wrapped = before.wrap_socket(a, server_hostname="localhost", do_handshake_on_connect=False)
            assert type(wrapped).__module__ == "ssl"
            wrapped.close()
        # asyncio's path: ssl.MemoryBIO() pairs handed to the context's wrap_bio
        cin, cout, sin, sout = ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO()
        client = before.wrap_bio(cin, cout, server_hostname="localhost")
        served = server.wrap_bio(sin, sout, server_side=True)
        for _ in range(10):
            for end in (client, served):
                try:
                    end.do_handshake()
                except ssl.SSLWantReadError:
                    pass
            sin.write(cout.read())
            cin.write(sout.read())
        assert client.version() == served.version() == "TLSv1.3"
        # the stdlib's factory, held from before, still makes stdlib contexts
        assert type(vars(ssl)["create_default_context"]()) is vars(ssl)["SSLContext"]
    finally:
        tls.extract_from_ssl()


def test_program_customizations_are_respected(std_snapshot):
    # A common way to turn verification off: the stdlib's own function under another name.
    vars(ssl)["_create_default_https_context"] = ssl._create_unverified_context
    own = vars(ssl)["_create_stdlib_context"] = lambda *args, **kwargs: "the program's own"
    try:
        tls.inject_into_ssl()
        assert ssl._create_default_https_context is tssl._create_unverified_context
        assert ssl._create_stdlib_context is own  # not a stdlib object: left alone
        tls.extract_from_ssl()
        assert (
            vars(ssl)["_create_default_https_context"] is std_snapshot["vars"]["_create_unverified_context"]
        )
        assert ssl._create_stdlib_context is own
    finally:
        vars(ssl)["_create_default_https_context"] = std_snapshot["vars"]["_create_default_https_context"]
        vars(ssl)["_create_stdlib_context"] = std_snapshot["vars"]["_create_stdlib_context"]


def test_assignment_while_injected_lasts_until_extraction(std_snapshot):
    tls.inject_into_ssl()
    ssl._create_default_https_context = ssl._create_unverified_context
    assert ssl._create_default_https_context is tssl._create_unverified_context
    with pytest.raises(AttributeError):
        del ssl.SSLContext
    ssl.some_new_name = 1  # not a replaced name: an ordinary module attribute
    try:
        tls.extract_from_ssl()
        assert ssl._create_default_https_context is std_snapshot["vars"]["_create_default_https_context"]
        assert ssl.some_new_name == 1
    finally:
        del ssl.some_new_name


def test_ftplib_needs_no_patch(std_snapshot):
    """ftplib captured ssl.SSLSocket at import; tls sockets are instances of it anyway."""
    assert "ftplib" not in _inject.CAPTURED
    assert issubclass(tssl.SSLSocket, ftplib._SSLSocket)
    tls.inject_into_ssl()
    assert ftplib._SSLSocket is std_snapshot["vars"]["SSLSocket"]
    tls.extract_from_ssl()


@pytest.fixture
def captor(tmp_path, monkeypatch):
    """A module that binds ssl.SSLSocket at import, registered as a captured name."""
    (tmp_path / "tls_test_captor.py").write_text("from ssl import SSLSocket as _SSLSocket\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(_inject.CAPTURED, "tls_test_captor", {"_SSLSocket": "SSLSocket"})
    yield
    sys.modules.pop("tls_test_captor", None)


def test_captured_names_patched_and_restored(captor):
    import tls_test_captor

    std_socket = vars(ssl)["SSLSocket"]
    assert tls_test_captor._SSLSocket is std_socket
    tls.inject_into_ssl()
    assert tls_test_captor._SSLSocket is tssl.SSLSocket
    tls.extract_from_ssl()
    assert tls_test_captor._SSLSocket is std_socket


def test_module_imported_while_injected_gets_the_stdlib_back(captor):
    try:
        tls.inject_into_ssl()
        import tls_test_captor

        assert tls_test_captor._SSLSocket is tssl.SSLSocket
        tls.extract_from_ssl()
        assert tls_test_captor._SSLSocket is vars(ssl)["SSLSocket"]
    finally:
        tls.extract_from_ssl()


def test_urllib3_makes_tls_contexts_while_injected(std_snapshot):
    urllib3_ssl = pytest.importorskip("urllib3.util.ssl_")
    assert type(urllib3_ssl.create_urllib3_context()) is std_snapshot["vars"]["SSLContext"]
    tls.inject_into_ssl()
    context = urllib3_ssl.create_urllib3_context()
    assert type(context) is tssl.SSLContext
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2 and context.verify_mode == ssl.CERT_REQUIRED
    tls.extract_from_ssl()
    assert type(urllib3_ssl.create_urllib3_context()) is std_snapshot["vars"]["SSLContext"]


@contextlib.contextmanager
def stdlib_https_server(certs, requests=1):
    """A minimal HTTPS server on the stdlib's own classes (even while tls is injected),
    in a thread, answering ``requests`` requests with ``ok``."""
    ctx = vars(ssl)["SSLContext"](ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(certs.server, certs.server_key)
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(10)
    errors = []

    def serve():
        try:
            for _ in range(requests):
                conn, _ = listener.accept()
                conn.settimeout(10)
                with ctx.wrap_socket(conn, server_side=True) as wrapped:
                    data = b""
                    while b"\r\n\r\n" not in data:
                        chunk = wrapped.recv(4096)
                        if not chunk:
                            break
                        data += chunk
                    wrapped.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
        except BaseException as exc:  # reported below
            errors.append(exc)

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        thread.join(timeout=30)
        listener.close()
    assert not thread.is_alive()
    assert not errors


def test_http_client_and_urllib_use_tls_while_injected(certs, injected, monkeypatch):
    """Their default contexts come from ssl at call time: tls's (trusting the test CA
    through SSL_CERT_FILE, which OpenSSL reads)."""
    monkeypatch.setenv("SSL_CERT_FILE", certs.ca)
    with stdlib_https_server(certs, requests=2) as port:
        conn = http.client.HTTPSConnection("localhost", port, timeout=10)
        try:
            conn.request("GET", "/")
            assert type(conn.sock) is tssl.SSLSocket
            assert conn.getresponse().read() == b"ok"
        finally:
            conn.close()
        with urllib.request.urlopen(f"https://localhost:{port}/", timeout=10) as response:
            assert type(response.fp.raw._sock) is tssl.SSLSocket
            assert response.read() == b"ok"
    from tls._binding import clear_errors

    clear_errors()  # what the stdlib server may leave on a queue it shares


# --------------------------------------------------------------------------- importing tls


def _python(*args, cwd, check=False, **environ):
    env = dict(
        os.environ, **environ, PYTHONPATH=os.path.dirname(os.path.dirname(os.path.abspath(tls.__file__)))
    )
    env.pop("PYTHONSAFEPATH", None)
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        cwd=str(cwd),
        env=env,
        timeout=120,
        check=check,
    )


def test_importing_tls_injects_nothing(tmp_path):
    code = (
        "import sys, ssl, types\n"
        "import tls, tls.ssl\n"
        "assert type(ssl) is types.ModuleType and ssl.SSLContext is not tls.ssl.SSLContext\n"
        "print('tls._inject' in sys.modules)\n"
    )
    assert _python("-c", code, cwd=tmp_path, check=True).stdout.strip() == "False"


# --------------------------------------------------------------------------- python -m tls run

PROGRAM = """\
import json, ssl, sys
import tls.ssl
print(json.dumps({
    "same": ssl.SSLContext is tls.ssl.SSLContext,
    "context": type(ssl.create_default_context()).__module__,
    "argv": sys.argv,
    "name": __name__,
    "file": __file__,
    "main": sys.modules["__main__"].__dict__ is globals(),
    "path0": sys.path[0],
}))
if sys.argv[1:2] == ["raise"]:
    def deep():
        raise RuntimeError("from the program")
    deep()
sys.exit(int(sys.argv[1]) if sys.argv[1:2] and sys.argv[1].isdigit() else 0)
"""


def _last_json(stdout):
    import json

    return json.loads(stdout.strip().splitlines()[-1])


def test_run_script(tmp_path):
    (tmp_path / "prog").mkdir()
    script = tmp_path / "prog" / "prog.py"
    script.write_text(PROGRAM)
    result = _python("-m", "tls", "run", os.path.join("prog", "prog.py"), "7", "--flag", "x y", cwd=tmp_path)
    assert result.returncode == 7, result.stderr
    seen = _last_json(result.stdout)
    assert seen["same"] is True and seen["context"] == "tls.ssl"
    assert seen["argv"] == [os.path.join("prog", "prog.py"), "7", "--flag", "x y"]  # as `python prog/prog.py`
    assert seen["name"] == "__main__" and seen["main"] is True
    assert seen["file"] == str(script)
    assert seen["path0"] == os.path.realpath(tmp_path / "prog")


def test_run_module(tmp_path):
    (tmp_path / "progmod.py").write_text(PROGRAM)
    result = _python("-m", "tls", "run", "-m", "progmod", "3", "-m", cwd=tmp_path)
    assert result.returncode == 3, result.stderr
    seen = _last_json(result.stdout)
    assert seen["same"] is True and seen["context"] == "tls.ssl"
    assert seen["argv"] == [str(tmp_path / "progmod.py"), "3", "-m"]  # as `python -m progmod 3 -m`
    assert seen["name"] == "__main__" and seen["main"] is True


def test_run_package_main(tmp_path):
    package = tmp_path / "progpkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "__main__.py").write_text(PROGRAM)
    result = _python("-m", "tls", "run", "-m", "progpkg", "0", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    seen = _last_json(result.stdout)
    assert seen["same"] is True and seen["argv"] == [str(package / "__main__.py"), "0"]


def test_run_exit_status_and_exceptions(tmp_path):
    (tmp_path / "prog.py").write_text(PROGRAM)
    assert _python("-m", "tls", "run", "prog.py", cwd=tmp_path).returncode == 0
    failed = _python("-m", "tls", "run", "prog.py", "raise", cwd=tmp_path)
    assert failed.returncode == 1
    assert failed.stderr.startswith("Traceback (most recent call last):")
    assert "RuntimeError: from the program" in failed.stderr
    assert "in deep" in failed.stderr
    assert "__main__.py" not in failed.stderr and "runpy" not in failed.stderr  # the program's frames only
    message = "import sys; sys.exit('goodbye')"
    (tmp_path / "bye.py").write_text(message)
    bye = _python("-m", "tls", "run", "bye.py", cwd=tmp_path)
    assert bye.returncode == 1 and bye.stderr.strip() == "goodbye"


def test_run_program_makes_https_requests_on_tls(tmp_path, certs):
    program = (
        "import sys, urllib.request\n"
        "with urllib.request.urlopen(sys.argv[1], timeout=10) as response:\n"
        "    kind = type(response.fp.raw._sock).__module__\n"
        "    print(response.read().decode(), kind)\n"
    )
    (tmp_path / "fetch.py").write_text(program)
    with stdlib_https_server(certs) as port:
        result = _python(
            "-m", "tls", "run", "fetch.py", f"https://localhost:{port}/", cwd=tmp_path, SSL_CERT_FILE=certs.ca
        )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["ok", "tls.ssl"]
    from tls._binding import clear_errors

    clear_errors()


def test_run_usage_errors(tmp_path):
    missing = _python("-m", "tls", "run", "missing.py", cwd=tmp_path)
    assert missing.returncode == 2 and "can't open file" in missing.stderr
    no_module = _python("-m", "tls", "run", "-m", "no_such_module_here", cwd=tmp_path)
    assert no_module.returncode == 1 and "No module named no_such_module_here" in no_module.stderr
    assert _python("-m", "tls", "run", cwd=tmp_path).returncode == 2
    assert _python("-m", "tls", "run", "-m", cwd=tmp_path).returncode == 2
    helped = _python("-m", "tls", "run", "--help", cwd=tmp_path)
    assert helped.returncode == 0 and "python -m tls run -m module" in helped.stdout
