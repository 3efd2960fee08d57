"""The peer of the ``sockets`` bench group: a TLS 1.3 server on the stdlib ``ssl``, in its own process.

The group starts it as ``python -I _sockets_peer.py`` (isolated: only the
standard library is imported, whatever the working directory or PYTHONPATH), so
the peer is the same program for both implementations being compared and
shares no GIL with the measured process.  Protocol:

- stdin, first line: JSON ``{"mode": ..., "cert": PEM, "key": PEM}``;
- stdout: one line, the TCP port it listens on at 127.0.0.1, once ready;
- it exits when stdin reaches end-of-file (the group closes it, or the
  measuring process died).

Every accepted connection gets TCP_NODELAY and a server-side stdlib SSLSocket
in blocking mode.  Modes:

``serve``
    HTTPS-like: read a :data:`REQUEST_SIZE` request, answer with the
    :data:`RESPONSE_SIZE` :func:`response` (:data:`BAD_REQUEST` if the request is
    not :func:`request`), close; one connection at a time.
``sink``
    per connection (a thread each): read with ``recv_into`` into a preallocated
    256 KiB buffer; after every :data:`SENDALL_SIZE` bytes (or the configuration's
    ``"size"``) answer ``ok``.  The first transfer of a connection is compared with
    :func:`pattern` and answered ``NO`` if it differs (later ones are only counted, so
    the sink stays fast).
``stream``
    per connection (a thread each): ``sendall`` :func:`pattern` of
    :data:`STREAM_BLOCK` bytes over and over until the peer goes away.

This module is also imported by ``tls.bench.sockets`` for the sizes and the
payloads, so both ends agree on them; it imports nothing outside the stdlib.
"""

import json
import os
import random
import socket
import ssl
import sys
import tempfile
import threading

REQUEST_SIZE = 1024
RESPONSE_SIZE = 16 * 1024
SENDALL_SIZE = 64 * 1024 * 1024
STREAM_BLOCK = 1024 * 1024
SINK_BUFFER = 256 * 1024
ACK = b"ok"
NACK = b"NO"
BAD_REQUEST = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"
_SEED = 0x5EED5
_SHIFT = 4093  # a prime: the 1 MiB blocks of a pattern start at different offsets of one random base


def pattern(size):
    """``size`` deterministic pseudo-random bytes; 1 MiB blocks each differ, so a shifted or repeated
    chunk in a transfer does not go unnoticed."""
    length = STREAM_BLOCK + _SHIFT
    base = memoryview(random.Random(_SEED).getrandbits(8 * length).to_bytes(length, "little"))
    blocks, made, index = [], 0, 0
    while made < size:
        start = (index * 997) % _SHIFT
        n = min(STREAM_BLOCK, size - made)
        blocks.append(base[start:start + n])
        made += n
        index += 1
    return b"".join(blocks)


def request():
    """The client's 1 KiB HTTP/1.1 request (headers padded to exactly REQUEST_SIZE bytes)."""
    head = b"GET /16KiB HTTP/1.1\r\nHost: localhost\r\nAccept: */*\r\nX-Padding: "
    return head + b"p" * (REQUEST_SIZE - len(head) - 4) + b"\r\n\r\n"


def response():
    """The server's answer: an HTTP/1.1 response of exactly RESPONSE_SIZE bytes, headers included."""
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: %05d\r\n\r\n"
    body_size = RESPONSE_SIZE - len(head % 0)
    return head % body_size + pattern(body_size)


def _read_exactly(conn, size):
    parts, got = [], 0
    while got < size:
        data = conn.recv(size - got)
        if not data:
            break
        parts.append(data)
        got += len(data)
    return b"".join(parts)


def _serve(listener, context):
    expected, answer = request(), response()
    while True:
        raw, _ = listener.accept()
        try:
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with context.wrap_socket(raw, server_side=True) as conn:
                if _read_exactly(conn, REQUEST_SIZE) == expected:
                    conn.sendall(answer)
                else:
                    conn.sendall(BAD_REQUEST)
        except OSError:  # a client that went away mid-way: the next one is served
            pass
        finally:
            raw.close()


_expected = {}


def _sink(conn, size=SENDALL_SIZE):
    if size not in _expected:  # made once per process (threads: at worst twice, harmlessly)
        _expected[size] = memoryview(pattern(size))
    expected = _expected[size]
    buffer = bytearray(SINK_BUFFER)
    view = memoryview(buffer)
    recv_into = conn.recv_into
    got, verify, good = 0, True, True
    while True:
        n = recv_into(buffer)
        if not n:
            return
        if verify:
            good = good and got + n <= size and view[:n] == expected[got:got + n]
        got += n
        if got >= size:
            conn.sendall(ACK if good and got == size else NACK)
            got, verify, expected = got - size, False, None


def _stream(conn):
    chunk = pattern(STREAM_BLOCK) * 4
    sendall = conn.sendall
    while True:
        sendall(chunk)


def _per_connection(listener, context, work):
    def run(raw):
        try:
            with context.wrap_socket(raw, server_side=True) as conn:
                work(conn)
        except OSError:  # the measuring side closed its connection
            pass
        finally:
            raw.close()

    while True:
        raw, _ = listener.accept()
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=run, args=(raw,), daemon=True).start()


def _exit_at_eof():
    sys.stdin.buffer.read()
    os._exit(0)


def main():
    config = json.loads(sys.stdin.buffer.readline())
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    with tempfile.TemporaryDirectory(prefix="tls-bench-peer-") as folder:
        cert, key = os.path.join(folder, "cert.pem"), os.path.join(folder, "key.pem")
        for path, text in ((cert, config["cert"]), (key, config["key"])):
            with open(path, "w") as f:
                f.write(text)
        context.load_cert_chain(cert, key)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    threading.Thread(target=_exit_at_eof, daemon=True).start()
    size = config.get("size") or SENDALL_SIZE
    work = {"serve": None, "sink": lambda conn: _sink(conn, size), "stream": _stream}[config["mode"]]
    sys.stdout.write(f"{listener.getsockname()[1]}\n")
    sys.stdout.flush()
    if work is None:
        _serve(listener, context)
    else:
        _per_connection(listener, context, work)


if __name__ == "__main__":
    main()
