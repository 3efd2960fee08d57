"""asyncio drives tls.ssl contexts through its own stdlib MemoryBIOs (the foreign-BIO
path of SSLObject): loopback echo in both roles, no injection needed."""

import asyncio
import ssl as std

import pytest

import tls.ssl as tssl


def contexts(certs, client_mod, server_mod):
    cctx = client_mod.SSLContext(client_mod.PROTOCOL_TLS_CLIENT)
    cctx.load_verify_locations(certs.ca)
    sctx = server_mod.SSLContext(server_mod.PROTOCOL_TLS_SERVER)
    sctx.load_cert_chain(certs.server_ec, certs.server_ec_key)
    return cctx, sctx


async def echo_roundtrip(cctx, sctx, payload):
    async def handle(reader, writer):
        data = await reader.readexactly(len(payload))
        writer.write(data)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=sctx)
    port = server.sockets[0].getsockname()[1]
    try:
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", port, ssl=cctx, server_hostname="localhost"
        )
        writer.write(payload)
        await writer.drain()
        echoed = await reader.readexactly(len(payload))
        version = writer.get_extra_info("ssl_object").version()
        writer.close()
        return echoed, version
    finally:
        server.close()
        await server.wait_closed()


@pytest.mark.parametrize(
    "client_mod,server_mod",
    [(tssl, std), (std, tssl), (tssl, tssl)],
    ids=["tls-client", "tls-server", "both"],
)
def test_asyncio_echo(certs, client_mod, server_mod):
    payload = bytes(range(256)) * 256  # 64 KiB
    cctx, sctx = contexts(certs, client_mod, server_mod)
    echoed, version = asyncio.run(echo_roundtrip(cctx, sctx, payload))
    assert echoed == payload
    assert version == "TLSv1.3"


def test_asyncio_untrusted_server_fails_with_stdlib_error_type(certs):
    cctx = tssl.SSLContext(tssl.PROTOCOL_TLS_CLIENT)
    cctx.load_verify_locations(certs.other_ca)
    _, sctx = contexts(certs, tssl, std)
    with pytest.raises(std.SSLCertVerificationError):
        asyncio.run(echo_roundtrip(cctx, sctx, b"x"))
    from tls._binding import clear_errors

    clear_errors()  # the stdlib server side may leave its alert on the queue (PyPy)
