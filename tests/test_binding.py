import subprocess
import sys

import pytest

from tls import _binding
from tls._binding import ffi, lib


def test_fingerprint_matches_declarations():
    from tls import c

    assert ffi.string(lib.tls_binding_fingerprint()).decode() == c.fingerprint()


def test_failure_drains_queue_into_exception():
    md = lib.EVP_MD_fetch(ffi.NULL, b"no-such-digest", ffi.NULL)
    assert md == ffi.NULL
    with pytest.raises(_binding.OpenSSLError) as info:
        _binding.raise_error("fetching no-such-digest")
    err = info.value
    assert isinstance(err, ValueError)
    assert err.errors and err.library == "digital envelope routines"
    assert err.reason == "unsupported"
    assert "no-such-digest" in str(err)
    assert lib.ERR_peek_error() == 0


def test_failure_then_success_sees_no_stale_error():
    assert lib.EVP_MD_fetch(ffi.NULL, b"no-such-digest", ffi.NULL) == ffi.NULL
    with pytest.raises(_binding.OpenSSLError):
        _binding.raise_error("first")
    md = lib.EVP_MD_fetch(ffi.NULL, b"SHA256", ffi.NULL)
    assert md != ffi.NULL
    lib.EVP_MD_free(md)
    assert _binding.consume_errors() == []


def test_openssl_assert_reports_queue():
    lib.EVP_MD_fetch(ffi.NULL, b"no-such-digest", ffi.NULL)
    with pytest.raises(_binding.InternalError, match="unsupported"):
        _binding.openssl_assert(0, "EVP_MD_fetch")
    assert lib.ERR_peek_error() == 0


def test_runtime_version_check():
    # the real pair passed at import
    _binding.check_runtime_version(lib.OPENSSL_VERSION_NUMBER, lib.OpenSSL_version_num())
    for built, loaded in [
        (0x30000160, 0x30000160),  # the same
        (0x30000160, 0x30500070),  # a newer minor release loaded
        (0x30000160, 0x300000F0),  # an older patch release of the same minor
        (0x30500070, 0x40000000),  # a newer major
    ]:
        _binding.check_runtime_version(built, loaded)
    for built, loaded in [(0x30500070, 0x30000160), (0x30200000, 0x30100000), (0x40000000, 0x30500070)]:
        with pytest.raises(ImportError, match="compiled against OpenSSL .* is loaded"):
            _binding.check_runtime_version(built, loaded)
    with pytest.raises(ImportError, match=r"against OpenSSL 3\.5\.7 but OpenSSL 3\.0\.22 is loaded"):
        _binding.check_runtime_version(0x30500070, 0x30000160)


def test_versions_and_lists():
    assert _binding.openssl_version_loaded().startswith("OpenSSL 3.")
    assert _binding.openssl_version_built().startswith("OpenSSL 3.")
    digests = _binding.list_names(lib.TLS_LIST_DIGESTS)
    assert "SHA2-256" in digests and "SHA3-256" in digests
    assert "HMAC" in _binding.list_names(lib.TLS_LIST_MACS)
    assert {"HKDF", "PBKDF2", "SCRYPT"} <= set(_binding.list_names(lib.TLS_LIST_KDFS))
    # Names keep OpenSSL's spelling (which is "aes-128-gcm" for some ciphers): compare folded.
    assert "aes-128-gcm" in {n.lower() for n in _binding.list_names(lib.TLS_LIST_CIPHERS)}


def _run(*args):
    """Run this interpreter on the very tls these tests import (installed or built in
    place), from a directory where no source tree can shadow it."""
    import os
    import tempfile

    import tls

    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(os.path.abspath(tls.__file__))))
    with tempfile.TemporaryDirectory() as cwd:
        return subprocess.run(
            [sys.executable, *args], capture_output=True, text=True, check=True, cwd=cwd, env=env
        ).stdout


def test_import_changes_nothing_outside_tls():
    code = (
        "import sys, builtins, hashlib, hmac, ssl\n"
        "before = (dict(vars(builtins)), dict(vars(hashlib)), dict(vars(hmac)), dict(vars(ssl)))\n"
        "mods = set(sys.modules)\n"
        "import tls, tls.hashes, tls.hmac, tls.kdf, tls.random, tls.ciphers, tls.ciphers.aead, tls.ssl\n"
        "after = (dict(vars(builtins)), dict(vars(hashlib)), dict(vars(hmac)), dict(vars(ssl)))\n"
        "assert before == after, 'importing tls changed a stdlib module'\n"
        "new = {m for m in set(sys.modules) - mods if not m.startswith('tls')}\n"
        "print(sorted(new))\n"
    )
    out = _run("-c", code)
    assert "ssl" not in out


def test_import_is_fast():
    code = "import time; t = time.perf_counter()\nimport tls._binding\nprint(time.perf_counter() - t)\n"
    # Not a benchmark: a guard against parsing headers or compiling at import.
    assert float(_run("-c", code)) < 1.0


def test_info_command():
    out = _run("-m", "tls", "info")
    assert "OpenSSL loaded" in out and "digests (" in out and "KDFs (" in out


def test_stale_compiled_module_is_refused():
    # A binding compiled from other declarations than the package holds must not load.
    code = (
        "import tls.c\n"
        "tls.c.fingerprint = lambda: 'not-the-built-one'\n"
        "try:\n"
        "    import tls._binding\n"
        "except ImportError as exc:\n"
        "    print('refused:', exc)\n"
    )
    out = _run("-c", code)
    assert out.startswith("refused:") and "reinstall tls" in out
