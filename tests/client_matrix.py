"""What the client test modules (tests/test_ssl_clients*.py) share: each client runs with
a tls.ssl context against a tls.ssl and a stdlib server, stdlib clients against tls.ssl
servers, and the stdlib pair is the reference; on 127.0.0.1 and ::1.  The two autouse
fixtures take effect in the modules that import them."""

import ssl

import pytest
from ssl_certs import ipv6_loopback

import tls.ssl

MODULES = {"ssl": ssl, "tls": tls.ssl}
PAIRS = [("tls", "tls"), ("tls", "ssl"), ("ssl", "tls"), ("ssl", "ssl")]  # (client, server)
HOSTS = [
    "127.0.0.1",
    pytest.param("::1", marks=pytest.mark.skipif(not ipv6_loopback(), reason="no IPv6 loopback (::1)")),
]
_STDLIB_NAMES = {name: getattr(ssl, name) for name in ("SSLContext", "SSLSocket", "SSLObject", "MemoryBIO")}


@pytest.fixture(autouse=True)
def stdlib_ssl_untouched():
    """Nothing here injects tls: the stdlib names are the stdlib's before and after each test."""
    assert {name: getattr(ssl, name) for name in _STDLIB_NAMES} == _STDLIB_NAMES
    yield
    assert {name: getattr(ssl, name) for name in _STDLIB_NAMES} == _STDLIB_NAMES


@pytest.fixture(autouse=True)
def no_proxies(monkeypatch):
    """urllib and requests read proxy settings from the environment: keep every request on loopback."""
    for name in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("no_proxy", "*")
