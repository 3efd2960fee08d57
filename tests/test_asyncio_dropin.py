"""asyncio over tls.ssl: explicit contexts (no injection) against stdlib-ssl peers and
the reverse, STARTTLS (``loop.start_tls``) under injection, many concurrent
connections, and verification failures with the stdlib's exception types.

Everything runs on loopback in one event loop per test, under an overall timeout.
"""

import asyncio
import socket
import ssl as std
import threading

import pytest

import tls
import tls.ssl as tssl
from tls._binding import clear_errors

MODULES = {"tls": tssl, "std": std}
PAIRS = [("tls", "std"), ("std", "tls"), ("tls", "tls")]
PAIR_IDS = ["tls-client-std-server", "std-client-tls-server", "tls-both"]
TIMEOUT = 60


def run(coro):
    async def bounded():
        return await asyncio.wait_for(coro, TIMEOUT)

    return asyncio.run(bounded())


def client_context(certs, mod, cafile=None, client_cert=False):
    ctx = mod.SSLContext(mod.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(cafile or certs.ca)
    if client_cert:
        ctx.load_cert_chain(certs.client, certs.client_key)
    return ctx


def server_context(certs, mod, require_client_cert=False):
    ctx = mod.SSLContext(mod.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(certs.server_ec, certs.server_ec_key)
    if require_client_cert:
        ctx.verify_mode = mod.CERT_REQUIRED
        ctx.load_verify_locations(certs.ca)
    return ctx


def settle_error_queue(*mods):
    """A stdlib peer sharing this thread may leave its own alert on OpenSSL's queue."""
    if std in mods:
        clear_errors()


# --------------------------------------------------------------------------- echo servers


async def start_echo_server(sctx, size, seen=None, backlog=100):
    async def handle(reader, writer):
        try:
            if seen is not None:
                ssl_object = writer.get_extra_info("ssl_object")
                seen.append(
                    (type(ssl_object), ssl_object.selected_alpn_protocol(), writer.get_extra_info("peercert"))
                )
            data = await reader.readexactly(size)
            writer.write(data)
            await writer.drain()
        finally:
            writer.close()

    return await asyncio.start_server(handle, "127.0.0.1", 0, ssl=sctx, backlog=backlog)


class Collector(asyncio.Protocol):
    """A minimal protocol: bytes in a buffer, awaited with ``read_exactly``."""

    def __init__(self):
        self.buffer = bytearray()
        self.transport = None
        self.changed = None
        self.lost = asyncio.get_running_loop().create_future()
        self.eof = False

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.buffer += data
        self._wake()

    def eof_received(self):
        self.eof = True
        self._wake()

    def connection_lost(self, exc):
        self._wake()
        if not self.lost.done():
            self.lost.set_result(exc)

    def _wake(self):
        if self.changed is not None and not self.changed.done():
            self.changed.set_result(None)

    async def read_exactly(self, size):
        while len(self.buffer) < size:
            if self.eof or self.lost.done():
                raise EOFError(bytes(self.buffer))
            self.changed = asyncio.get_running_loop().create_future()
            await self.changed
        data, self.buffer = bytes(self.buffer[:size]), self.buffer[size:]
        return data


async def open_client(api, host, port, cctx, server_hostname="localhost"):
    """(send, receive, extra, close) over ``asyncio.open_connection`` or ``loop.create_connection``."""
    if api == "open_connection":
        reader, writer = await asyncio.open_connection(host, port, ssl=cctx, server_hostname=server_hostname)

        async def send(data):
            writer.write(data)
            await writer.drain()

        async def close():
            writer.close()
            await writer.wait_closed()

        return send, reader.readexactly, writer.get_extra_info, close

    transport, protocol = await asyncio.get_running_loop().create_connection(
        Collector, host, port, ssl=cctx, server_hostname=server_hostname
    )

    async def send(data):
        transport.write(data)

    async def close():
        transport.close()
        await protocol.lost

    return send, protocol.read_exactly, transport.get_extra_info, close


# --------------------------------------------------------------------------- explicit contexts


@pytest.mark.parametrize("api", ["open_connection", "create_connection"])
@pytest.mark.parametrize("client_name,server_name", PAIRS, ids=PAIR_IDS)
def test_explicit_contexts(certs, api, client_name, server_name):
    """Mutual TLS, ALPN and a 64 KiB echo through asyncio with each side's own module."""
    client_mod, server_mod = MODULES[client_name], MODULES[server_name]
    cctx = client_context(certs, client_mod, client_cert=True)
    sctx = server_context(certs, server_mod, require_client_cert=True)
    cctx.set_alpn_protocols(["h2", "http/1.1"])
    sctx.set_alpn_protocols(["http/1.1"])
    payload = bytes(range(256)) * 256
    seen = []

    async def main():
        server = await start_echo_server(sctx, len(payload), seen)
        try:
            port = server.sockets[0].getsockname()[1]
            send, receive, extra, close = await open_client(api, "127.0.0.1", port, cctx)
            await send(payload)
            echoed = await receive(len(payload))
            ssl_object = extra("ssl_object")
            info = (type(ssl_object), ssl_object.version(), ssl_object.selected_alpn_protocol())
            peercert = extra("peercert")
            await close()
            return echoed, info, peercert
        finally:
            server.close()
            await server.wait_closed()

    echoed, (object_class, version, alpn), peercert = run(main())
    assert echoed == payload
    assert object_class is client_mod.SSLObject
    assert version == "TLSv1.3" and alpn == "http/1.1"
    assert dict(peercert["subjectAltName"])["DNS"] == "localhost"
    [(server_object_class, server_alpn, client_cert)] = seen
    assert server_object_class is server_mod.SSLObject and server_alpn == "http/1.1"
    assert client_cert["subjectAltName"] == (("email", "client@example.com"),)
    settle_error_queue(client_mod, server_mod)


# --------------------------------------------------------------------------- STARTTLS

STARTTLS = b"STARTTLS\r\n"
GO = b"GO\r\n"


async def plain_starttls_server(sctx, size, results):
    """A plain TCP server that upgrades on STARTTLS with ``loop.start_tls`` and echoes."""
    loop = asyncio.get_running_loop()

    async def handle(protocol):
        try:
            assert await protocol.read_exactly(len(STARTTLS)) == STARTTLS
            protocol.transport.write(GO)
            transport = await loop.start_tls(protocol.transport, protocol, sctx, server_side=True)
            results.append(type(transport.get_extra_info("ssl_object")))
            transport.write(await protocol.read_exactly(size))
            await protocol.lost  # the client closes first
            transport.close()
        except Exception as exc:  # reported by the test
            results.append(exc)

    class Server(Collector):
        def connection_made(self, transport):
            super().connection_made(transport)
            tasks.append(loop.create_task(handle(self)))

    tasks = []
    server = await loop.create_server(Server, "127.0.0.1", 0)
    return server, tasks


async def starttls_client(port, cctx, payload):
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_connection(Collector, "127.0.0.1", port)
    try:
        transport.write(STARTTLS)
        assert await protocol.read_exactly(len(GO)) == GO
        tls_transport = await loop.start_tls(transport, protocol, cctx, server_hostname="localhost")
        tls_transport.write(payload)
        echoed = await protocol.read_exactly(len(payload))
        object_class = type(tls_transport.get_extra_info("ssl_object"))
        tls_transport.close()
        await protocol.lost
        return echoed, object_class
    finally:
        transport.close()


def stdlib_starttls_thread(certs, size, results):
    """The server side in a thread over blocking stdlib ssl sockets (stdlib code keeps
    working under injection: its module's own names are untouched)."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(10)
    sctx = vars(std)["SSLContext"](std.PROTOCOL_TLS_SERVER)  # the stdlib's class, even under injection
    sctx.load_cert_chain(certs.server, certs.server_key)

    def serve():
        try:
            conn, _ = listener.accept()
            with conn:
                conn.settimeout(10)
                line = b""
                while not line.endswith(b"\n"):
                    line += conn.recv(1)
                assert line == STARTTLS
                conn.sendall(GO)
                with sctx.wrap_socket(conn, server_side=True) as wrapped:
                    results.append(type(wrapped))
                    data = b""
                    while len(data) < size:
                        data += wrapped.recv(size - len(data))
                    wrapped.sendall(data)
                    try:
                        wrapped.unwrap()
                    except (OSError, ValueError):
                        pass
        except BaseException as exc:  # reported by the test
            results.append(exc)
        finally:
            listener.close()

    thread = threading.Thread(target=serve)
    thread.start()
    return listener.getsockname()[1], thread


@pytest.mark.parametrize("server_kind", ["asyncio-start_tls", "stdlib-thread"])
def test_starttls_under_injection(certs, server_kind):
    payload = b"upgraded " * 5000
    results = []
    tls.inject_into_ssl()
    try:
        # code written for the stdlib: its contexts are tls's now
        cctx = std.create_default_context(cafile=certs.ca)
        assert type(cctx) is tssl.SSLContext

        async def main():
            if server_kind == "stdlib-thread":
                port, thread = stdlib_starttls_thread(certs, len(payload), results)
                try:
                    return await starttls_client(port, cctx, payload)
                finally:
                    await asyncio.get_running_loop().run_in_executor(None, thread.join, 30)
                    assert not thread.is_alive()
            sctx = std.SSLContext(std.PROTOCOL_TLS_SERVER)
            sctx.load_cert_chain(certs.server_ec, certs.server_ec_key)
            server, tasks = await plain_starttls_server(sctx, len(payload), results)
            try:
                port = server.sockets[0].getsockname()[1]
                outcome = await starttls_client(port, cctx, payload)
                await asyncio.gather(*tasks)
                return outcome
            finally:
                server.close()
                await server.wait_closed()

        echoed, object_class = run(main())
    finally:
        tls.extract_from_ssl()
    assert echoed == payload
    assert object_class is tssl.SSLObject
    if server_kind == "stdlib-thread":
        assert results == [vars(std)["SSLSocket"]]
        clear_errors()
    else:
        assert results == [tssl.SSLObject]


@pytest.mark.parametrize("injected", [False, True], ids=["tls-context-plain", "stdlib-context-injected"])
def test_start_tls_refuses_the_other_modules_context(certs, injected):
    """asyncio's ``loop.start_tls`` checks ``isinstance(ctx, ssl.SSLContext)``: without
    injection it refuses a tls.ssl context (TypeError); under injection it is the other
    way round, for a stdlib context made before."""
    stdlib_context = std.create_default_context()
    if injected:
        tls.inject_into_ssl()
    try:
        refused = stdlib_context if injected else tssl.create_default_context()

        async def main():
            loop = asyncio.get_running_loop()
            server = await loop.create_server(Collector, "127.0.0.1", 0)
            try:
                port = server.sockets[0].getsockname()[1]
                transport, protocol = await loop.create_connection(Collector, "127.0.0.1", port)
                try:
                    with pytest.raises(TypeError, match="ssl.SSLContext"):
                        await loop.start_tls(transport, protocol, refused, server_hostname="localhost")
                finally:
                    transport.close()
            finally:
                server.close()
                await server.wait_closed()

        run(main())
    finally:
        tls.extract_from_ssl()


# --------------------------------------------------------------------------- injection and asyncio


def test_asyncio_default_context_is_tls_under_injection(certs, monkeypatch):
    """``ssl=True`` makes asyncio call ``ssl.create_default_context()``: tls's under
    injection (trusting the test CA through SSL_CERT_FILE, read by OpenSSL)."""
    monkeypatch.setenv("SSL_CERT_FILE", certs.ca)
    sctx = server_context(certs, std)

    async def main():
        server = await start_echo_server(sctx, 5)
        try:
            port = server.sockets[0].getsockname()[1]
            reader, writer = await asyncio.open_connection(
                "127.0.0.1", port, ssl=True, server_hostname="localhost"
            )
            writer.write(b"hello")
            echoed = await reader.readexactly(5)
            object_class = type(writer.get_extra_info("ssl_object"))
            writer.close()
            await writer.wait_closed()
            return echoed, object_class
        finally:
            server.close()
            await server.wait_closed()

    tls.inject_into_ssl()
    try:
        echoed, object_class = run(main())
    finally:
        tls.extract_from_ssl()
    assert echoed == b"hello" and object_class is tssl.SSLObject
    echoed, object_class = run(main())  # and the stdlib's again after extraction
    assert echoed == b"hello" and object_class is std.SSLObject
    settle_error_queue(std)


def test_stdlib_context_from_before_injection_still_works_in_asyncio(certs):
    """asyncio hands ``ssl.MemoryBIO()`` pairs to the context: that is why injection
    keeps the stdlib's MemoryBIO (the stdlib's wrap_bio accepts no other)."""
    cctx = client_context(certs, std)
    sctx = server_context(certs, tssl)
    payload = b"x" * 70000

    async def main():
        server = await start_echo_server(sctx, len(payload))
        try:
            port = server.sockets[0].getsockname()[1]
            send, receive, extra, close = await open_client("open_connection", "127.0.0.1", port, cctx)
            await send(payload)
            echoed = await receive(len(payload))
            object_class = type(extra("ssl_object"))
            await close()
            return echoed, object_class
        finally:
            server.close()
            await server.wait_closed()

    tls.inject_into_ssl()
    try:
        echoed, object_class = run(main())
    finally:
        tls.extract_from_ssl()
    assert echoed == payload and object_class is std.SSLObject
    settle_error_queue(std)


# --------------------------------------------------------------------------- many connections


def test_200_concurrent_connections_echo_64k(certs):
    cctx = client_context(certs, tssl)
    sctx = server_context(certs, tssl)
    payload = bytes(range(256)) * 256
    count = 200

    async def one(port, index):
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", port, ssl=cctx, server_hostname="localhost"
        )
        try:
            message = payload[index:] + payload[:index]  # each connection its own bytes
            writer.write(message)
            await writer.drain()
            return await reader.readexactly(len(message)) == message
        finally:
            writer.close()
            await writer.wait_closed()

    async def main():
        server = await start_echo_server(sctx, len(payload), backlog=count + 16)
        try:
            port = server.sockets[0].getsockname()[1]
            return await asyncio.gather(*(one(port, i) for i in range(count)), return_exceptions=True)
        finally:
            server.close()
            await server.wait_closed()

    outcomes = run(main())
    failures = [o for o in outcomes if o is not True]
    assert not failures, failures[:3]
    assert len(outcomes) == count


# --------------------------------------------------------------------------- verification failures


@pytest.mark.parametrize("api", ["open_connection", "create_connection"])
@pytest.mark.parametrize("failure", ["wrong-hostname", "untrusted-ca"])
@pytest.mark.parametrize("client_name,server_name", PAIRS, ids=PAIR_IDS)
def test_verification_failure_types(certs, api, failure, client_name, server_name):
    """The stdlib's SSLCertVerificationError (tls's subclasses it), with the same
    verify_code and message as a stdlib client gets."""
    client_mod, server_mod = MODULES[client_name], MODULES[server_name]
    if failure == "untrusted-ca":
        cctx, hostname = client_context(certs, client_mod, cafile=certs.other_ca), "localhost"
    else:
        cctx, hostname = client_context(certs, client_mod), "example.com"
    sctx = server_context(certs, server_mod)

    async def main():
        server = await start_echo_server(sctx, 1)
        try:
            port = server.sockets[0].getsockname()[1]
            await open_client(api, "127.0.0.1", port, cctx, server_hostname=hostname)
        finally:
            server.close()
            await server.wait_closed()

    with pytest.raises(std.SSLCertVerificationError) as caught:
        run(main())
    error = caught.value
    assert isinstance(error, client_mod.SSLCertVerificationError)
    assert isinstance(error, std.SSLError) and isinstance(error, ValueError)
    assert error.reason == "CERTIFICATE_VERIFY_FAILED"
    if failure == "untrusted-ca":
        assert error.verify_code == 20 and error.verify_message == "unable to get local issuer certificate"
    else:
        assert error.verify_code == 62
        assert error.verify_message == "Hostname mismatch, certificate is not valid for 'example.com'."
    settle_error_queue(client_mod, server_mod)
