"""Group ``tls``: TLS 1.3 between two SSLObjects over MemoryBIOs, ``tls.ssl`` against the stdlib ``ssl``.

A client and a server SSLObject live in one process, each over its own pair of
MemoryBIOs; the bytes one side writes are moved by hand to the other side
(``incoming.write(outgoing.read())``), so the MemoryBIO paths are measured too.

Cases:

- ``handshake-p256`` and ``handshake-rsa2048``: one full TLS 1.3 handshake (new
  SSLObjects and MemoryBIOs, no session resumption) with a P-256 (ECDSA) or an
  RSA-2048 server certificate; the client verifies the chain and the host name;
- ``bulk-16KiB`` and ``bulk-1KiB``: on a connected pair, the client writes one
  message, the records are moved to the server, which reads until it holds the
  whole message (``read(n)`` returning bytes), so the receiving side is timed;
- ``load-cadata-bundle`` and ``load-cadata-bundle-der``: a new client context loading
  the system's CA bundle (about 150 certificates) with ``load_verify_locations(cadata=)``,
  as PEM text (str) or as the concatenated DER certificates (bytes).  Without a system
  bundle both implementations are unavailable, with the reason.

The certificates are made at bench start with the ``openssl`` CLI in a temporary
directory; without the binary the group is unavailable.  There is no ``openssl
speed`` figure for these operations (``openssl s_time`` needs a network server),
so the C column stays empty.
"""

from __future__ import annotations

import os
import shutil
import ssl as _stdlib_ssl
import subprocess
import tempfile

from tls.bench._core import Case, Unavailable, load

GROUP = "tls"
HOSTNAME = "localhost"
BULK_SIZES = (("16KiB", 16 * 1024), ("1KiB", 1024))
CERTS = (
    # case suffix, openssl req -newkey argument, extra -pkeyopt
    ("p256", "ec", ["-pkeyopt", "ec_paramgen_curve:prime256v1"]),
    ("rsa2048", "rsa:2048", []),
)

LEGEND = (
    "TLS 1.3, client and server SSLObject in one process over MemoryBIOs, bytes moved by hand. "
    "handshake: a full handshake (new objects, client verifies chain and host name) with a P-256 or "
    "RSA-2048 server certificate; bulk: client write() of one message, records moved, server read() "
    "until it holds the message. load-cadata-bundle: a new client context loading the system CA bundle "
    "(~150 certificates) from memory, PEM str or (-der) DER bytes. No C figure (openssl s_time needs "
    "a network server)."
)
# Where the system's CA bundle usually is, after the stdlib's own idea of it.
CA_BUNDLES = (
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/cert.pem",
    "/etc/ssl/ca-bundle.pem",
)


def _make_certs(folder, certs=CERTS):
    """Self-signed server certificates for ``HOSTNAME``: {suffix: (certfile, keyfile)}.

    ``certs`` is a subset of :data:`CERTS` (the ``sockets`` group makes only the P-256 one).
    """
    openssl = shutil.which("openssl")
    if openssl is None:
        raise RuntimeError("no openssl binary on PATH (needed to make the certificates)")
    made = {}
    for suffix, newkey, opts in certs:
        cert = os.path.join(folder, f"{suffix}.crt")
        key = os.path.join(folder, f"{suffix}.key")
        cmd = [openssl, "req", "-x509", "-newkey", newkey, *opts, "-nodes", "-keyout", key, "-out", cert,
               "-days", "2", "-subj", f"/CN={HOSTNAME}", "-addext", f"subjectAltName=DNS:{HOSTNAME}"]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        if proc.returncode != 0:
            raise RuntimeError(f"openssl req failed: {proc.stderr.strip()[-200:]}")
        made[suffix] = (cert, key)
    return made


def _contexts(mod, cert, key):
    """(client context, server context) of ``mod`` (tls.ssl or ssl), TLS 1.3 only."""
    server = mod.SSLContext(mod.PROTOCOL_TLS_SERVER)
    server.minimum_version = mod.TLSVersion.TLSv1_3
    server.load_cert_chain(cert, key)
    client = mod.SSLContext(mod.PROTOCOL_TLS_CLIENT)
    client.minimum_version = mod.TLSVersion.TLSv1_3
    client.load_verify_locations(cafile=cert)
    return client, server


def _handshaker(mod, client_ctx, server_ctx):
    """A function making a connected (client, c_in, c_out, server, s_in, s_out) with one full handshake."""
    MemoryBIO = mod.MemoryBIO
    WantRead = mod.SSLWantReadError
    cwrap, swrap = client_ctx.wrap_bio, server_ctx.wrap_bio

    def connect():
        c_in, c_out, s_in, s_out = MemoryBIO(), MemoryBIO(), MemoryBIO(), MemoryBIO()
        client = cwrap(c_in, c_out, server_hostname=HOSTNAME)
        server = swrap(s_in, s_out, server_side=True)
        client_done = server_done = False
        for _ in range(8):
            if not client_done:
                try:
                    client.do_handshake()
                    client_done = True
                except WantRead:
                    pass
                s_in.write(c_out.read())
            if not server_done:
                try:
                    server.do_handshake()
                    server_done = True
                except WantRead:
                    pass
                c_in.write(s_out.read())
            if client_done and server_done:
                return client, c_in, c_out, server, s_in, s_out
        raise RuntimeError("the handshake did not complete")

    return connect


def _handshake_op(connect):
    def op():
        return connect()[0]

    def check():
        client, _, _, server, _, _ = connect()
        return f"{client.version()} {server.version()} {client.cipher()[0]}".encode()

    return op, check


def _bulk_op(connect, size):
    client, c_in, c_out, server, s_in, s_out = connect()
    c_in.write(s_out.read())
    try:  # the client takes the session tickets now, so no later read is left with work
        client.read(1)
    except Exception:
        pass
    message = bytes((i * 11 + 7) & 0xFF for i in range(size))
    write, pull, push, read = client.write, c_out.read, s_in.write, server.read

    def op():
        write(message)
        push(pull())
        data = read(size)
        if len(data) < size:
            parts = [data]
            got = len(data)
            while got < size:
                more = read(size - got)
                parts.append(more)
                got += len(more)
            data = b"".join(parts)
        return data

    return op, op


def _system_bundle():
    """(PEM text, DER bytes, certificate count) of the system CA bundle; RuntimeError without one."""
    paths = [_stdlib_ssl.get_default_verify_paths().cafile, *CA_BUNDLES]
    for path in paths:
        if path and os.path.isfile(path):
            with open(path, encoding="ascii") as f:
                pem = f.read()
            blocks = pem.split(_stdlib_ssl.PEM_HEADER)[1:]
            ders = [_stdlib_ssl.PEM_cert_to_DER_cert(_stdlib_ssl.PEM_HEADER + block.split(
                _stdlib_ssl.PEM_FOOTER)[0] + _stdlib_ssl.PEM_FOOTER) for block in blocks]
            if ders:
                return pem, b"".join(ders), len(ders)
    raise RuntimeError("no system CA bundle (looked for " + ", ".join(p for p in paths if p) + ")")


def _cadata_op(mod, data):
    """Load ``data`` as cadata into a new client context of ``mod``; check: the store's stats."""
    SSLContext, client = mod.SSLContext, mod.PROTOCOL_TLS_CLIENT

    def op():
        ctx = SSLContext(client)
        ctx.load_verify_locations(cadata=data)
        return ctx

    def check():
        return repr(sorted(op().cert_store_stats().items())).encode()

    check()  # fails here (set-up) where this implementation refuses the data
    return op, check


def _cadata_cases(tls_ssl, tls_missing):
    try:
        pem, der, count = _system_bundle()
    except (OSError, ValueError, RuntimeError) as exc:
        pem = der = None
        missing = Unavailable(str(exc))
    result = []
    for name, data in (("load-cadata-bundle", pem), ("load-cadata-bundle-der", der)):
        impls, check = {}, {}
        for impl, mod, mod_missing in (("tls", tls_ssl, tls_missing), ("stdlib", _stdlib_ssl, None)):
            if data is None:
                impls[impl], check[impl] = missing, None
            elif mod is None:
                impls[impl], check[impl] = mod_missing, None
            else:
                try:
                    impls[impl], check[impl] = _cadata_op(mod, data)
                except Exception as exc:
                    impls[impl] = Unavailable(f"set-up failed: {type(exc).__name__}: {exc}")
                    check[impl] = None
        result.append(Case(GROUP, name, len(data) if data is not None else 0, impls, check=check))
    return result


def cases():
    tls_ssl, tls_missing = load("tls.ssl")
    folder = tempfile.mkdtemp(prefix="tls-bench-")
    try:
        try:
            certs = _make_certs(folder)
        except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
            certs, missing = None, Unavailable(str(exc))
        contexts = {}
        for impl, mod, mod_missing in (("tls", tls_ssl, tls_missing), ("stdlib", _stdlib_ssl, None)):
            for suffix, _, _ in CERTS:
                if certs is None:
                    contexts[impl, suffix] = missing
                elif mod is None:
                    contexts[impl, suffix] = mod_missing
                else:
                    try:
                        contexts[impl, suffix] = _handshaker(mod, *_contexts(mod, *certs[suffix]))
                    except Exception as exc:
                        contexts[impl, suffix] = Unavailable(f"set-up failed: {type(exc).__name__}: {exc}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    def build(impl, suffix, make, *args):
        connect = contexts[impl, suffix]
        if isinstance(connect, Unavailable):
            return connect, None
        try:
            return make(connect, *args)
        except Exception as exc:
            return Unavailable(f"set-up failed: {type(exc).__name__}: {exc}"), None

    result = []
    for suffix, _, _ in CERTS:
        impls, check = {}, {}
        for impl in ("tls", "stdlib"):
            impls[impl], check[impl] = build(impl, suffix, _handshake_op)
        result.append(Case(GROUP, f"handshake-{suffix}", 1, impls, check=check))
    for label, size in BULK_SIZES:
        impls, check = {}, {}
        for impl in ("tls", "stdlib"):
            impls[impl], check[impl] = build(impl, CERTS[0][0], _bulk_op, size)
        result.append(Case(GROUP, f"bulk-{label}", size, impls, check=check))
    result.extend(_cadata_cases(tls_ssl, tls_missing))
    return result
