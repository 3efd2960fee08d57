"""``tls.inject_into_ssl()`` / ``tls.extract_from_ssl()``: ``tls.ssl`` behind the stdlib ``ssl``.

An application-level switch.  A library should never call it: it changes what every
``ssl.SSLContext(...)``, ``ssl.create_default_context()`` and ``ssl.SSLSocket`` check
in the process means.  Libraries take a ``tls.ssl`` context as an argument instead.

How
---
The stdlib module's dictionary is never written.  Injection gives the module object a
``types.ModuleType`` subclass (``module.__class__`` assignment, allowed for modules
since Python 3.5, and supported by PyPy) whose data descriptors shadow the replaced
names.  So:

* every attribute read from outside sees ``tls.ssl``: ``ssl.SSLContext``,
  ``from ssl import SSLContext``, ``getattr(ssl, ...)``, asyncio's
  ``isinstance(ctx, ssl.SSLContext)`` in ``start_tls``, http.client's
  ``ssl._create_default_https_context()``, urllib.request's
  ``ssl.create_default_context(ssl.Purpose.SERVER_AUTH, ...)``;
* the stdlib's own code keeps its own names: ``Lib/ssl.py`` looks up its globals
  (``SSLContext``, ``SSLSocket``, ``_ASN1Object``...) in that untouched dictionary,
  e.g. ``super(SSLContext, SSLContext).options.__set__(self, value)`` in its property
  setters and ``super(SSLSocket, self).__init__`` in ``SSLSocket._create``.  Writing
  tls's classes into the dictionary would break every stdlib context that exists
  before injection (or is made through a reference captured earlier) the first time
  one of those runs;
* ``extract_from_ssl()`` restores the module's class: ``vars(ssl)`` never changed, so
  every attribute is again the identical object.

What is replaced (only names both modules have, so nothing is added to ``ssl``):
the classes and factories that make or wrap connections -- ``SSLContext``,
``SSLSocket``, ``SSLObject``, ``SSLSession``, ``create_default_context``,
``_create_default_https_context``, ``_create_stdlib_context``,
``_create_unverified_context``, ``get_server_certificate``, ``wrap_socket`` -- and
``Purpose`` with its base ``_ASN1Object``, because the replaced factories and
``SSLContext.load_default_certs`` only accept tls's purposes and callers pass
``ssl.Purpose.SERVER_AUTH`` read from the module (urllib.request does).

What is deliberately not replaced:

* the exceptions.  tls's ``SSLError``, ``SSLWantReadError``, ``SSLCertVerificationError``
  (= ``CertificateError``)... subclass the stdlib's, so ``except ssl.SSLError`` and
  tuples captured at import (asyncio.sslproto's ``SSLAgainErrors``) already catch what
  tls raises.  Replacing them would make the same clauses miss what a stdlib context
  made before injection raises: risk, no gain.
* ``MemoryBIO``.  asyncio makes ``ssl.MemoryBIO()`` pairs and hands them to the
  context's ``wrap_bio``.  tls's ``wrap_bio`` accepts the stdlib's MemoryBIO, but the
  stdlib's ``wrap_bio`` refuses any other type (TypeError), so replacing it would break
  asyncio for every stdlib context that outlives injection (aiohttp, requests and
  others make theirs at import).  tls's SSLObject serves a stdlib MemoryBIO through a
  private BIO pair; the price is one more copy per record (in a loopback measurement
  of asyncio bulk echo: lost in the noise on CPython, 20-35% slower on PyPy).  Adding
  "MemoryBIO" to REPLACED trades that robustness for the speed.
* constants, enums, flags, version numbers, pure helpers (``DER_cert_to_PEM_cert``,
  ``match_hostname``...): the same values either way (ints compare equal across the
  two modules' enums), nothing to gain.

Names the program already replaced with its own objects (another injector, a test
double) are left as they are; a stdlib object found under another of the replaced
names (``ssl._create_default_https_context = ssl._create_unverified_context``, a
common way to turn verification off) maps to tls's counterpart of that object.

Modules that captured a replaced name at import are patched too, while they are
loaded: urllib3's ``urllib3.util.ssl_.SSLContext`` / ``urllib3.util.SSLContext`` (what
``create_urllib3_context`` instantiates; the two names urllib3's own PyOpenSSL
injection patches).  asyncio, http.client and urllib.request (CPython 3.9-3.13,
PyPy 3.9) hold the ``ssl`` module itself and need nothing more; ftplib's captured
``_SSLSocket`` (FTP_TLS unwraps data connections that are instances of it) needs
nothing either, as tls.ssl.SSLSocket subclasses the stdlib's.  Extraction gives
those modules back the stdlib's objects, also when they were imported while
injected.

Contexts, sockets and connections made while injected stay tls objects after
extraction; contexts made before injection stay stdlib ones (so call it first, or run
the program with ``python -m tls run``).  ``asyncio``'s ``loop.start_tls`` accepts
only instances of ``ssl.SSLContext``: without injection that refuses a ``tls.ssl``
context, with it a stdlib one.
"""

from __future__ import annotations

import importlib
import sys
import threading

# The stdlib names whose tls.ssl counterparts take over.
REPLACED = (
    "SSLContext",
    "SSLSocket",
    "SSLObject",
    "SSLSession",
    "create_default_context",
    "_create_default_https_context",
    "_create_stdlib_context",
    "_create_unverified_context",
    "get_server_certificate",
    "wrap_socket",
    "Purpose",
    "_ASN1Object",
)

# Module-level names other modules bound from ``ssl`` at import: {module: {attribute: ssl name}}.
CAPTURED = {
    "urllib3.util.ssl_": {"SSLContext": "SSLContext"},
    "urllib3.util": {"SSLContext": "SSLContext"},
}

_lock = threading.Lock()
_replacements: dict = {}  # name -> object served in place of the stdlib's, while injected
_state = None  # while injected: (ssl, its class before, the injected class, [(module, attr, original)])
_MISSING = object()


def _shadow(name):
    """A data descriptor for ``name`` on the injected module class: tls's object while
    injected, the module's own value otherwise (a stale class is harmless)."""

    def get(module):
        value = _replacements.get(name, _MISSING)
        if value is not _MISSING:
            return value
        try:
            return module.__dict__[name]
        except KeyError:
            raise AttributeError(f"module {module.__name__!r} has no attribute {name!r}") from None

    def set_(module, value):
        # e.g. ``ssl._create_default_https_context = ssl._create_unverified_context``
        # while injected: effective until extraction, which restores the stdlib's value.
        with _lock:
            if name in _replacements:
                _replacements[name] = value
                return
        module.__dict__[name] = value

    def delete(module):
        if name in _replacements:
            raise AttributeError(f"cannot delete ssl.{name} while tls is injected")
        try:
            del module.__dict__[name]
        except KeyError:
            raise AttributeError(name) from None

    return property(get, set_, delete, f"ssl.{name}, served by tls.ssl while tls is injected")


def _injected_class(base):
    return type(
        "TLSInjectedModule",
        (base,),
        {"__module__": __name__, "__slots__": (), **{name: _shadow(name) for name in REPLACED}},
    )


def _counterpart(std, tls_ssl, value):
    """tls.ssl's object standing for the stdlib object ``value``, or None when ``value``
    is not one of the stdlib's replaceable objects (the program's own, say)."""
    name = getattr(value, "__name__", None)
    if name in REPLACED and std.__dict__.get(name) is value:
        return getattr(tls_ssl, name, None)
    return None


def _patch_captured(std, replacements):
    """Point the loaded modules' captured names at tls's objects; what was changed."""
    changed = []
    for module_name, attributes in CAPTURED.items():
        module = sys.modules.get(module_name)
        if module is None:
            continue
        for attribute, ssl_name in attributes.items():
            new = replacements.get(ssl_name)
            if new is not None and getattr(module, attribute, _MISSING) is std.__dict__.get(ssl_name):
                changed.append((module, attribute, module.__dict__[attribute]))
                setattr(module, attribute, new)
    return changed


def inject_into_ssl():
    """Make ``tls.ssl`` the implementation behind the stdlib ``ssl`` module's classes and
    factories for the whole process (see the module docstring).  Idempotent."""
    global _state
    with _lock:
        if _state is not None:
            return
        import ssl as std

        tls_ssl = importlib.import_module("tls.ssl")
        replacements = {}
        for name in REPLACED:
            current = std.__dict__.get(name, _MISSING)
            if current is _MISSING:
                continue  # never add a name the running stdlib lacks (wrap_socket on 3.12+)
            new = _counterpart(std, tls_ssl, current)
            if new is not None:
                replacements[name] = new
        original_class = type(std)
        injected_class = _injected_class(original_class)
        _replacements.update(replacements)
        try:
            std.__class__ = injected_class
        except BaseException:
            _replacements.clear()
            raise
        changed = _patch_captured(std, replacements)
        _state = (std, original_class, injected_class, changed)


def extract_from_ssl():
    """Undo ``inject_into_ssl()``: the stdlib ``ssl`` module and the modules that captured
    its names hold the identical objects they held before.  Idempotent."""
    global _state
    with _lock:
        if _state is None:
            return
        std, original_class, injected_class, changed = _state
        if type(std) is injected_class:
            std.__class__ = original_class
        # else someone gave ssl yet another class on top of ours: leave it; with no
        # replacements left, our descriptors in its MRO serve the module's own values.
        tls_objects = dict(_replacements)
        _replacements.clear()
        for module, attribute, original in changed:
            setattr(module, attribute, original)
        # Modules imported while injected captured tls's objects: give them the stdlib's.
        for module_name, attributes in CAPTURED.items():
            module = sys.modules.get(module_name)
            if module is None:
                continue
            for attribute, ssl_name in attributes.items():
                tls_object = tls_objects.get(ssl_name, _MISSING)
                if module.__dict__.get(attribute) is tls_object:
                    setattr(module, attribute, std.__dict__[ssl_name])
        _state = None


def is_injected():
    """True between ``inject_into_ssl()`` and ``extract_from_ssl()``."""
    return _state is not None
