"""tls.ssl against real OpenSSL peers on 127.0.0.1 (ephemeral ports): ``openssl
s_server`` (one process for the module) and ``openssl s_client`` (one per test).
The TLS side is an SSLObject over MemoryBIOs, pumped over a plain socket."""

import socket
import subprocess

import pytest
from ssl_certs import openssl_s_server

import tls.ssl as tssl


@pytest.fixture(scope="module")
def s_server(certs):
    """One ``openssl s_server -rev`` (echoes each line reversed) for the module."""
    with openssl_s_server(certs.server, certs.server_key, "-rev", "-alpn", "http/1.1") as port:
        yield port


class SocketPump:
    """Drive an SSLObject over a blocking socket (what SSLSocket will do natively)."""

    def __init__(self, sock, sslobj, incoming, outgoing):
        self.sock, self.obj, self.incoming, self.outgoing = sock, sslobj, incoming, outgoing

    def flush(self):
        data = self.outgoing.read()
        if data:
            self.sock.sendall(data)

    def fill(self):
        data = self.sock.recv(65536)
        if not data:
            self.incoming.write_eof()
        else:
            self.incoming.write(data)

    def call(self, fn, *args):
        while True:
            try:
                result = fn(*args)
                self.flush()
                return result
            except tssl.SSLWantReadError:
                self.flush()
                self.fill()


def connect(port, ctx, **kw):
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    incoming, outgoing = tssl.MemoryBIO(), tssl.MemoryBIO()
    obj = ctx.wrap_bio(incoming, outgoing, **kw)
    return SocketPump(sock, obj, incoming, outgoing)


@pytest.mark.parametrize("version", ["TLSv1_2", "TLSv1_3"])
def test_client_against_s_server(certs, s_server, version):
    ctx = tssl.create_default_context(cafile=certs.ca)
    ctx.maximum_version = getattr(tssl.TLSVersion, version)
    ctx.set_alpn_protocols(["h2", "http/1.1"])
    pump = connect(s_server, ctx, server_hostname="localhost")
    try:
        pump.call(pump.obj.do_handshake)
        assert pump.obj.version() == version.replace("_", ".")
        assert pump.obj.selected_alpn_protocol() == "http/1.1"
        assert pump.obj.getpeercert()["subjectAltName"][0] == ("DNS", "localhost")
        pump.call(pump.obj.write, b"hello openssl\n")
        received = b""
        while b"\n" not in received:
            received += pump.call(pump.obj.read, 1024)
        assert received == b"hello openssl"[::-1] + b"\n"
    finally:
        pump.sock.close()


def test_client_rejects_s_server_on_wrong_name(certs, s_server):
    ctx = tssl.create_default_context(cafile=certs.ca)
    pump = connect(s_server, ctx, server_hostname="wrong.example")
    try:
        with pytest.raises(tssl.SSLCertVerificationError) as info:
            pump.call(pump.obj.do_handshake)
        assert info.value.verify_code == 62
    finally:
        pump.sock.close()


@pytest.mark.parametrize("version", ["-tls1_2", "-tls1_3"])
def test_server_against_s_client(certs, version):
    ctx = tssl.SSLContext(tssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(certs.server_ec, certs.server_ec_key)
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    client = subprocess.Popen(
        [
            "openssl",
            "s_client",
            "-connect",
            f"127.0.0.1:{port}",
            "-CAfile",
            certs.ca,
            "-servername",
            "localhost",
            "-verify_return_error",
            "-verify_hostname",
            "localhost",
            "-quiet",
            version,
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        listener.settimeout(10)
        conn, _ = listener.accept()
        conn.settimeout(10)
        incoming, outgoing = tssl.MemoryBIO(), tssl.MemoryBIO()
        pump = SocketPump(conn, ctx.wrap_bio(incoming, outgoing, server_side=True), incoming, outgoing)
        pump.call(pump.obj.do_handshake)
        client.stdin.write(b"ping from s_client\n")
        client.stdin.flush()
        received = b""
        while b"\n" not in received:
            received += pump.call(pump.obj.read, 1024)
        assert received == b"ping from s_client\n"
        pump.call(pump.obj.write, received.upper())
        line = client.stdout.readline()
        assert line == b"PING FROM S_CLIENT\n"
        assert pump.obj.version() == ("TLSv1.2" if version == "-tls1_2" else "TLSv1.3")
        conn.close()
    finally:
        listener.close()
        client.kill()
        client.wait(10)
        for stream in (client.stdin, client.stdout, client.stderr):
            stream.close()
