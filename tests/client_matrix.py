"""What the client test modules (tests/test_ssl_clients*.py) share: each client runs with
a tls.ssl context against a tls.ssl and a stdlib server, stdlib clients against tls.ssl
servers, and the stdlib pair is the reference; on 127.0.0.1 and ::1.  The two autouse
fixtures take effect in the modules that import them."""

import re
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


def error_chain(exc):
    """The exceptions a client wrapped around the ssl error, outermost first."""
    chain = [exc]
    while not isinstance(exc, ssl.SSLError):
        inner = getattr(exc, "reason", None)  # URLError, MaxRetryError
        if not isinstance(inner, BaseException):
            inner = exc.args[0] if exc.args and isinstance(exc.args[0], BaseException) else None
        if inner is None:
            break
        chain.append(inner)
        exc = inner
    return chain


def describe_error(exc):
    """What a program can see of an exception, with tls.ssl's classes read as their stdlib
    bases (tls.ssl's exceptions subclass the stdlib's) and no _ssl.c line number."""
    if isinstance(exc, ssl.SSLError):
        stdlib_class = next(c.__name__ for c in type(exc).__mro__ if getattr(ssl, c.__name__, None) is c)
        text = re.sub(r" \(_ssl\.c:\d+\)$", "", str(exc))
        fields = ("errno", "reason", "library", "verify_code", "verify_message")
        return ("ssl." + stdlib_class, text, *(getattr(exc, f, None) for f in fields))
    return f"{type(exc).__module__}.{type(exc).__qualname__}"


def connections(context):
    """How many handshakes this context completed (client or server side)."""
    stats = context.session_stats()
    return stats["connect_good"] + stats["accept_good"]


def url(host, port, path="/"):
    return f"https://[{host}]:{port}{path}" if ":" in host else f"https://{host}:{port}{path}"
