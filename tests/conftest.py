"""Test setup: the ``vectors`` loaders and hypothesis profiles.

Tests run against the *installed* ``tls`` (tox installs it; for a source tree
use ``pip install -e .``).  The repository root is deliberately not put on
``sys.path``, so a source tree without a compiled binding fails loudly instead
of being imported by accident; only the ``vectors`` package is loaded from it.
"""

import importlib.util
import os
import sys

import pytest
from hypothesis import HealthCheck, settings

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _load_vectors_package():
    if "vectors" in sys.modules:
        return
    init = os.path.join(ROOT, "vectors", "__init__.py")
    spec = importlib.util.spec_from_file_location(
        "vectors", init, submodule_search_locations=[os.path.dirname(init)]
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules["vectors"] = module
    spec.loader.exec_module(module)


_load_vectors_package()

settings.register_profile("ci", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=25, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


@pytest.fixture(autouse=True)
def openssl_error_queue_left_clean():
    """Every test ends with this thread's OpenSSL error queue empty: tls never leaves it dirty.

    (Per-module fixtures that also clear what a stdlib peer left run inside this one.)
    """
    from tls._binding import clear_errors, consume_errors

    clear_errors()
    yield
    left = consume_errors()
    assert not left, f"OpenSSL errors left on the queue: {left}"


@pytest.fixture(scope="session")
def certs(tmp_path_factory):
    """The TLS tests' certificates, made once per session with the openssl CLI."""
    from ssl_certs import session_certs

    return session_certs(tmp_path_factory)
