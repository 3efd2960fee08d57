"""The stdlib ``ssl`` API over ``tls``'s OpenSSL binding (CPython 3.11 is the spec).

This module mirrors ``Lib/ssl.py``: it turns the engine's constants into the
stdlib's enums and adds ``SSLContext``, ``SSLObject`` and the context factories
on top of the private engine ``tls._ssl``.  Exceptions also subclass the
stdlib's, so ``except ssl.SSLError`` catches them.  ``SSLSocket`` (from
``SSLContext.wrap_socket``) is a ``socket.socket`` whose OpenSSL connection reads
and writes the file descriptor itself.
"""

from __future__ import annotations

import base64
import errno as _errno
import functools
import ipaddress as _ipaddress
import os
import socket as _socket
import stat as _stat
import sys
import warnings as _warnings
from collections import namedtuple
from enum import Enum as _Enum
from enum import IntEnum as _IntEnum
from enum import IntFlag as _IntFlag

from tls import _ssl
from tls._ssl import (  # noqa: F401 - re-exported names
    _DEFAULT_CIPHERS,
    _LOCATION,
    _OPENSSL_API_VERSION,
    HAS_ALPN,
    HAS_ECDH,
    HAS_NEVER_CHECK_COMMON_NAME,
    HAS_NPN,
    HAS_SNI,
    OPENSSL_VERSION,
    OPENSSL_VERSION_INFO,
    OPENSSL_VERSION_NUMBER,
    HAS_SSLv2,
    HAS_SSLv3,
    HAS_TLSv1,
    HAS_TLSv1_1,
    HAS_TLSv1_2,
    HAS_TLSv1_3,
    MemoryBIO,
    RAND_add,
    RAND_bytes,
    RAND_pseudo_bytes,
    RAND_status,
    SSLCertVerificationError,
    SSLEOFError,
    SSLError,
    SSLSession,
    SSLSyscallError,
    SSLWantReadError,
    SSLWantWriteError,
    SSLZeroReturnError,
    _SSLContext,
)

CertificateError = SSLCertVerificationError
HAS_OCSP_STAPLING = _ssl.HAS_OCSP_STAPLING  # beyond the stdlib: OpenSSL built with OCSP
socket_error = OSError  # a public alias the stdlib module keeps

_RESTRICTED_SERVER_CIPHERS = _DEFAULT_CIPHERS
CHANNEL_BINDING_TYPES = ["tls-unique"]
# issue 7: "tls-exporter" (RFC 9266) works too, but CHANNEL_BINDING_TYPES stays the stdlib's value
HAS_PSK = _ssl.HAS_PSK  # CPython 3.13's name: SSLContext.set_psk_client_callback/set_psk_server_callback
PEM_HEADER = "-----BEGIN CERTIFICATE-----"
PEM_FOOTER = "-----END CERTIFICATE-----"


_SSLMethod = _IntEnum(
    "_SSLMethod",
    {
        n: getattr(_ssl, n)
        for n in (
            "PROTOCOL_TLS",
            "PROTOCOL_TLSv1",
            "PROTOCOL_TLSv1_1",
            "PROTOCOL_TLSv1_2",
            "PROTOCOL_TLS_CLIENT",
            "PROTOCOL_TLS_SERVER",
        )
    },
    module=__name__,
)
globals().update(_SSLMethod.__members__)
PROTOCOL_TLS = PROTOCOL_SSLv23 = _SSLMethod.PROTOCOL_TLS
PROTOCOL_TLS_CLIENT = _SSLMethod.PROTOCOL_TLS_CLIENT
PROTOCOL_TLS_SERVER = _SSLMethod.PROTOCOL_TLS_SERVER
_PROTOCOL_NAMES = {value: name for name, value in _SSLMethod.__members__.items()}


def get_protocol_name(protocol_code):
    """The name of a ``PROTOCOL_*`` value, or ``"<unknown>"``."""
    return _PROTOCOL_NAMES.get(protocol_code, "<unknown>")

Options = _IntFlag(
    "Options", {n: getattr(_ssl, n) for n in dir(_ssl) if n.startswith("OP_")}, module=__name__
)
globals().update(Options.__members__)

AlertDescription = _IntEnum(
    "AlertDescription",
    {
        "ALERT_DESCRIPTION_CLOSE_NOTIFY": 0,
        "ALERT_DESCRIPTION_UNEXPECTED_MESSAGE": 10,
        "ALERT_DESCRIPTION_BAD_RECORD_MAC": 20,
        "ALERT_DESCRIPTION_RECORD_OVERFLOW": 22,
        "ALERT_DESCRIPTION_DECOMPRESSION_FAILURE": 30,
        "ALERT_DESCRIPTION_HANDSHAKE_FAILURE": 40,
        "ALERT_DESCRIPTION_BAD_CERTIFICATE": 42,
        "ALERT_DESCRIPTION_UNSUPPORTED_CERTIFICATE": 43,
        "ALERT_DESCRIPTION_CERTIFICATE_REVOKED": 44,
        "ALERT_DESCRIPTION_CERTIFICATE_EXPIRED": 45,
        "ALERT_DESCRIPTION_CERTIFICATE_UNKNOWN": 46,
        "ALERT_DESCRIPTION_ILLEGAL_PARAMETER": 47,
        "ALERT_DESCRIPTION_UNKNOWN_CA": 48,
        "ALERT_DESCRIPTION_ACCESS_DENIED": 49,
        "ALERT_DESCRIPTION_DECODE_ERROR": 50,
        "ALERT_DESCRIPTION_DECRYPT_ERROR": 51,
        "ALERT_DESCRIPTION_PROTOCOL_VERSION": 70,
        "ALERT_DESCRIPTION_INSUFFICIENT_SECURITY": 71,
        "ALERT_DESCRIPTION_INTERNAL_ERROR": 80,
        "ALERT_DESCRIPTION_USER_CANCELLED": 90,
        "ALERT_DESCRIPTION_NO_RENEGOTIATION": 100,
        "ALERT_DESCRIPTION_UNSUPPORTED_EXTENSION": 110,
        "ALERT_DESCRIPTION_CERTIFICATE_UNOBTAINABLE": 111,
        "ALERT_DESCRIPTION_UNRECOGNIZED_NAME": 112,
        "ALERT_DESCRIPTION_BAD_CERTIFICATE_STATUS_RESPONSE": 113,
        "ALERT_DESCRIPTION_BAD_CERTIFICATE_HASH_VALUE": 114,
        "ALERT_DESCRIPTION_UNKNOWN_PSK_IDENTITY": 115,
    },
    module=__name__,
)
globals().update(AlertDescription.__members__)

SSLErrorNumber = _IntEnum(
    "SSLErrorNumber",
    {n: getattr(_ssl, n) for n in dir(_ssl) if n.startswith("SSL_ERROR_")},
    module=__name__,
)
globals().update(SSLErrorNumber.__members__)

VerifyFlags = _IntFlag(
    "VerifyFlags", {n: getattr(_ssl, n) for n in dir(_ssl) if n.startswith("VERIFY_")}, module=__name__
)
globals().update(VerifyFlags.__members__)

VerifyMode = _IntEnum(
    "VerifyMode",
    {"CERT_NONE": _ssl.CERT_NONE, "CERT_OPTIONAL": _ssl.CERT_OPTIONAL, "CERT_REQUIRED": _ssl.CERT_REQUIRED},
    module=__name__,
)
CERT_NONE = VerifyMode.CERT_NONE
CERT_OPTIONAL = VerifyMode.CERT_OPTIONAL
CERT_REQUIRED = VerifyMode.CERT_REQUIRED


class TLSVersion(_IntEnum):
    MINIMUM_SUPPORTED = _ssl.PROTO_MINIMUM_SUPPORTED
    SSLv3 = _ssl.PROTO_SSLv3
    TLSv1 = _ssl.PROTO_TLSv1
    TLSv1_1 = _ssl.PROTO_TLSv1_1
    TLSv1_2 = _ssl.PROTO_TLSv1_2
    TLSv1_3 = _ssl.PROTO_TLSv1_3
    MAXIMUM_SUPPORTED = _ssl.PROTO_MAXIMUM_SUPPORTED


class _TLSContentType(_IntEnum):
    """Content types (record layer), RFC 8446 section B.1."""

    CHANGE_CIPHER_SPEC = 20
    ALERT = 21
    HANDSHAKE = 22
    APPLICATION_DATA = 23
    HEADER = 0x100
    INNER_CONTENT_TYPE = 0x101


class _ASN1Object(namedtuple("_ASN1Object", "nid shortname longname oid")):
    """ASN.1 object identifier lookup."""

    __slots__ = ()

    def __new__(cls, oid):
        return super().__new__(cls, *_ssl.txt2obj(oid, name=False))

    @classmethod
    def fromnid(cls, nid):
        """Create _ASN1Object from OpenSSL numeric ID."""
        return super().__new__(cls, *_ssl.nid2obj(nid))

    @classmethod
    def fromname(cls, name):
        """Create _ASN1Object from short name, long name or OID."""
        return super().__new__(cls, *_ssl.txt2obj(name, name=True))


# The stdlib's purposes are accepted too (equal tuples: same nid, names and OID), so code
# that passes ssl.Purpose.SERVER_AUTH to a tls.ssl factory works.
_PURPOSE_TYPES = (_ASN1Object,) + ((_ssl._std._ASN1Object,) if _ssl._std is not None else ())


class Purpose(_ASN1Object, _Enum):
    """SSLContext purpose flags with X509v3 Extended Key Usage objects."""

    SERVER_AUTH = "1.3.6.1.5.5.7.3.1"
    CLIENT_AUTH = "1.3.6.1.5.5.7.3.2"


DefaultVerifyPaths = namedtuple(
    "DefaultVerifyPaths",
    "cafile capath openssl_cafile_env openssl_cafile openssl_capath_env openssl_capath",
)


def get_default_verify_paths():
    """Where OpenSSL looks for trusted certificates: a ``DefaultVerifyPaths``.

    ``cafile``/``capath`` are the effective locations (an ``SSL_CERT_FILE`` /
    ``SSL_CERT_DIR`` setting wins over the compiled-in default), or None when
    they do not exist; the other four fields are OpenSSL's raw values.
    """
    raw = _ssl.get_default_verify_paths()
    file_env, default_file, dir_env, default_dir = raw
    cafile = os.environ.get(file_env, default_file)
    capath = os.environ.get(dir_env, default_dir)
    return DefaultVerifyPaths(
        cafile if os.path.isfile(cafile) else None,
        capath if os.path.isdir(capath) else None,
        *raw,
    )


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_CERT_TIME_REST = " %d %H:%M:%S %Y GMT"  # after the month, which is parsed by hand (C locale)


def cert_time_to_seconds(cert_time):
    """Seconds since the Epoch for a certificate time such as ``"May  9 00:00:00 2027 GMT"``
    (the ``notBefore``/``notAfter`` strings of ``getpeercert()``)."""
    import calendar
    import time

    month = cert_time[:3].title()
    if month not in _MONTHS:
        raise ValueError(f'time data {cert_time!r} does not match format "%b{_CERT_TIME_REST}"')
    parsed = time.strptime(cert_time[3:], _CERT_TIME_REST)
    year, _, day, hour, minute, second = parsed[:6]
    return calendar.timegm((year, _MONTHS.index(month) + 1, day, hour, minute, second))


def DER_cert_to_PEM_cert(der_cert_bytes):
    """The PEM text (64-column base64 between the CERTIFICATE markers) of a DER certificate."""
    encoded = base64.standard_b64encode(der_cert_bytes).decode("ascii")
    lines = [encoded[start : start + 64] for start in range(0, len(encoded), 64)]
    return "\n".join([PEM_HEADER, *lines, PEM_FOOTER]) + "\n"


def PEM_cert_to_DER_cert(pem_cert_string):
    """The DER bytes of one PEM certificate."""
    if not pem_cert_string.startswith(PEM_HEADER):
        raise ValueError(f"Invalid PEM encoding; must start with {PEM_HEADER}")
    text = pem_cert_string.strip()
    if not text.endswith(PEM_FOOTER):
        raise ValueError(f"Invalid PEM encoding; must end with {PEM_FOOTER}")
    return base64.decodebytes(text[len(PEM_HEADER) : -len(PEM_FOOTER)].encode("ascii"))


def _length_prefixed(protocols, kind):
    """ALPN/NPN wire form: each protocol name as one length byte and its ASCII bytes."""
    wire = bytearray()
    for protocol in protocols:
        name = bytes(protocol, "ascii")
        if not 0 < len(name) <= 255:
            raise SSLError(f"{kind} protocols must be 1 to 255 in length")
        wire.append(len(name))
        wire += name
    return wire


def _enum_property(name, enum, on_set=None):
    """A property of the engine's ``name`` seen through ``enum`` (values outside it pass as ints)."""
    engine = getattr(_SSLContext, name)

    def get(self):
        value = engine.__get__(self)
        try:
            return enum(value)
        except ValueError:
            return value

    def set_(self, value):
        if on_set is not None:
            on_set(self, value)
        engine.__set__(self, value)

    return property(get, set_)


def _allow_sslv3_minimum(context, value):
    # A minimum of SSLv3 only means something with OP_NO_SSLv3 cleared, as in CPython.
    if value == TLSVersion.SSLv3:
        context.options &= ~Options.OP_NO_SSLv3


class SSLContext(_SSLContext):
    """Settings shared by TLS connections: protocol, verification, certificates, keys, ALPN...

    ``wrap_bio`` makes an ``SSLObject`` (class ``sslobject_class``) that uses them.
    """

    sslobject_class = None  # SSLObject, once it is defined below
    sslsocket_class = None  # SSLSocket, once it is defined below

    def __new__(cls, protocol=None, *args, **kwargs):
        if protocol is None:
            _warnings.warn(
                "ssl.SSLContext() without protocol argument is deprecated.",
                category=DeprecationWarning,
                stacklevel=2,
            )
            protocol = PROTOCOL_TLS
        return _SSLContext.__new__(cls, protocol)

    @staticmethod
    def _ascii_hostname(hostname):
        """A server name as the engine takes it: IDNA A-labels, ASCII text."""
        if hostname is None:
            return None
        if isinstance(hostname, str):
            return hostname.encode("idna").decode("ascii")
        return hostname.decode("ascii")

    def wrap_bio(self, incoming, outgoing, server_side=False, server_hostname=None, session=None):
        return self.sslobject_class._create(
            incoming,
            outgoing,
            server_side=server_side,
            server_hostname=self._ascii_hostname(server_hostname),
            session=session,
            context=self,
        )

    def wrap_socket(
        self,
        sock,
        server_side=False,
        do_handshake_on_connect=True,
        suppress_ragged_eofs=True,
        server_hostname=None,
        session=None,
    ):
        return self.sslsocket_class._create(
            sock=sock,
            server_side=server_side,
            do_handshake_on_connect=do_handshake_on_connect,
            suppress_ragged_eofs=suppress_ragged_eofs,
            server_hostname=server_hostname,
            context=self,
            session=session,
        )

    def set_servername_callback(self, server_name_callback):
        if server_name_callback is None:
            self.sni_callback = None
            return
        if not callable(server_name_callback):
            raise TypeError("not a callable object")

        @functools.wraps(server_name_callback)
        def with_ascii_name(sslobj, servername, sslctx):
            return server_name_callback(sslobj, self._ascii_hostname(servername), sslctx)

        self.sni_callback = with_ascii_name

    def set_npn_protocols(self, npn_protocols):
        _warnings.warn("ssl NPN is deprecated, use ALPN instead", DeprecationWarning, stacklevel=2)
        wire = _length_prefixed(npn_protocols, "NPN")
        # Like a CPython 3.11 whose OpenSSL lacks NPN (HAS_NPN is False): the engine has no
        # _set_npn_protocols, so this ends in the same AttributeError as the stdlib.
        self._set_npn_protocols(wire)

    def set_alpn_protocols(self, alpn_protocols):
        self._set_alpn_protocols(_length_prefixed(alpn_protocols, "ALPN"))

    def load_default_certs(self, purpose=Purpose.SERVER_AUTH):
        if not isinstance(purpose, _PURPOSE_TYPES):
            raise TypeError(purpose)
        self.set_default_verify_paths()

    options = _enum_property("options", Options)
    verify_flags = _enum_property("verify_flags", VerifyFlags)
    verify_mode = _enum_property("verify_mode", VerifyMode)
    minimum_version = _enum_property("minimum_version", TLSVersion, on_set=_allow_sslv3_minimum)
    maximum_version = _enum_property("maximum_version", TLSVersion)

    @property
    def protocol(self):
        return _SSLMethod(_SSLContext.protocol.__get__(self))


class SSLObject:
    """One TLS connection with no I/O of its own (sans-IO), made by ``SSLContext.wrap_bio``.

    Records go out through the ``outgoing`` MemoryBIO and come in through
    ``incoming``; whoever drives the object (asyncio, a socket loop, a test)
    moves those bytes.  ``SSLWantReadError`` means: feed ``incoming``, then retry.
    """

    def __init__(self, *args, **kwargs):
        raise TypeError(
            f"{self.__class__.__name__} does not have a public constructor. "
            f"Instances are returned by SSLContext.wrap_bio()."
        )

    @classmethod
    def _create(cls, incoming, outgoing, server_side=False, server_hostname=None, session=None, context=None):
        self = cls.__new__(cls)
        sslobj = context._wrap_bio(
            incoming,
            outgoing,
            server_side=server_side,
            server_hostname=server_hostname,
            owner=self,
            session=session,
        )
        self._sslobj = sslobj
        return self

    @property
    def context(self):
        """The context in force; a server may switch it (e.g. from an SNI callback)."""
        return self._sslobj.context

    @context.setter
    def context(self, ctx):
        self._sslobj.context = ctx

    @property
    def session(self):
        """The session to resume (set before the handshake) or the one negotiated."""
        return self._sslobj.session

    @session.setter
    def session(self, session):
        self._sslobj.session = session

    @property
    def session_reused(self):
        """True when the handshake resumed a session."""
        return self._sslobj.session_reused()

    @property
    def server_side(self):
        """True for the server end of the connection."""
        return self._sslobj.server_side

    @property
    def server_hostname(self):
        """The name sent as SNI and checked against the certificate (None if unset)."""
        return self._sslobj.server_hostname

    def read(self, len=1024, buffer=None):
        """Up to ``len`` bytes of application data; with ``buffer``, fill it and return the count."""
        if buffer is not None:
            return self._sslobj.read(len, buffer)
        return self._sslobj.read(len)

    def write(self, data):
        """Encrypt ``data`` (any buffer) into ``outgoing``; returns the number of bytes taken."""
        return self._sslobj.write(data)

    def getpeercert(self, binary_form=False):
        """The peer's certificate: a dict in CPython's shape ({} when it was not verified),
        its DER bytes with ``binary_form=True``, or None when the peer sent none."""
        return self._sslobj.getpeercert(binary_form)

    def get_verified_chain(self):
        """The chain OpenSSL verified, leaf first, as DER bytes (the unverified chain
        when verification was off)."""
        return self._sslobj.get_verified_chain()

    def get_unverified_chain(self):
        """The certificates the peer sent, as DER bytes, in the order it sent them."""
        return self._sslobj.get_unverified_chain()

    def selected_npn_protocol(self):
        """Always None (NPN is not built in), after the stdlib's deprecation warning."""
        _warnings.warn("ssl NPN is deprecated, use ALPN instead", DeprecationWarning, stacklevel=2)

    def selected_alpn_protocol(self):
        """The protocol ALPN agreed on, or None."""
        return self._sslobj.selected_alpn_protocol()

    def cipher(self):
        """``(cipher name, protocol version, secret bits)`` of the connection, or None."""
        return self._sslobj.cipher()

    def shared_ciphers(self):
        """On a server: the client's offered ciphers this side also allows (None elsewhere)."""
        return self._sslobj.shared_ciphers()

    # TLS 1.3 key-exchange groups (issue 7)
    def group(self):
        """The key-exchange group of the handshake (e.g. ``"x25519"``), None before it."""
        return self._sslobj.group()

    def get_channel_binding(self, cb_type="tls-unique"):
        """RFC 5929 ``tls-unique`` data (None before the handshake); other types: ValueError."""
        return self._sslobj.get_channel_binding(cb_type)

    def compression(self):
        """Always None: TLS compression is never enabled."""
        return None

    def pending(self):
        """Decrypted bytes ready for ``read`` without more input."""
        return self._sslobj.pending()

    def do_handshake(self):
        """Advance the handshake (SSLWantReadError: it needs more incoming bytes)."""
        self._sslobj.do_handshake()

    def unwrap(self):
        """Send close_notify and wait for the peer's (SSLWantReadError until it comes)."""
        return self._sslobj.shutdown()

    def version(self):
        """The negotiated protocol, e.g. ``"TLSv1.3"`` (None before the handshake)."""
        return self._sslobj.version()

    def verify_client_post_handshake(self):
        """Request a client certificate after the TLS 1.3 handshake (servers)."""
        return self._sslobj.verify_client_post_handshake()

    # ---- OCSP stapling and TLS 1.3 early data (beyond the stdlib)
    @property
    def ocsp_response(self):
        """The stapled OCSP response as DER bytes (a client asks with
        ``SSLContext.ocsp_stapling``), or None when the server sent none."""
        return self._sslobj.ocsp_response()

    def write_early_data(self, data):
        """Clients, before the handshake, resuming a TLS 1.3 session whose
        ``max_early_data`` allows it: send ``data`` as 0-RTT early data (it may be
        replayed: only idempotent requests).  Returns the count taken (all of it).
        Unless ``early_data_accepted`` after the handshake, the server never saw it:
        send it again with ``write``."""
        return self._sslobj.write_early_data(data)

    def read_early_data(self, len=16384):
        """Servers, instead of starting with ``do_handshake``: up to ``len`` bytes of the
        client's early data, or b"" once there is no more (none sent, rejected, or all
        read); then finish with ``do_handshake``.  SSLWantReadError: feed ``incoming``."""
        return self._sslobj.read_early_data(len)

    @property
    def early_data_accepted(self):
        """True when the server accepted the client's early data (final once the
        handshake is done)."""
        return self._sslobj.early_data_accepted

    # ---- issue 7: keying material export (RFC 5705 / RFC 8446 section 7.5), kernel TLS
    def export_keying_material(self, label, length, context=None):
        """``length`` bytes of keying material both ends derive from the session (RFC 5705,
        RFC 8446 section 7.5) for ``label`` (ASCII str or bytes) and ``context`` (bytes, or
        None: no context, which TLS 1.2 tells apart from b""); ValueError before the handshake."""
        return self._sslobj.export_keying_material(label, length, context)

    @property
    def ktls_send_enabled(self):
        """Always False: kernel TLS needs a socket (``SSLSocket``)."""
        return self._sslobj.ktls_send_enabled()

    @property
    def ktls_recv_enabled(self):
        """Always False: kernel TLS needs a socket (``SSLSocket``)."""
        return self._sslobj.ktls_recv_enabled()


def _not_on_tls(name, sock):
    return f"{name} not allowed on instances of {sock.__class__}"


def _no_flags(name, sock):
    return f"non-zero flags not allowed in calls to {name}() on {sock.__class__}"


# Also a subclass of the stdlib's SSLSocket where that exists (as the exceptions are of
# theirs), so isinstance checks in code that imported ssl hold: ftplib unwraps data
# connections and ccc() only for instances of it.  Every method the stdlib class has is
# defined here again, so none of its code runs on a tls socket.
_SSLSocketBases = (_ssl._std.SSLSocket,) if _ssl._std is not None else (_socket.socket,)


_SENDFILE_BLOCK = 256 * 1024  # issue 7: what SSLSocket.sendfile reads at a time without kTLS
_MAX_RECORD = 16384  # TLS's largest record payload


class SSLSocket(*_SSLSocketBases):
    """A ``socket.socket`` carrying TLS, made by ``SSLContext.wrap_socket``.

    OpenSSL reads and writes the file descriptor itself; the socket's timeout
    decides blocking (None), non-blocking (0: ``SSLWantReadError`` and
    ``SSLWantWriteError``) or waiting up to a limit (``socket.timeout``).
    Before the TLS layer exists (an unconnected client) and after ``unwrap()``
    the methods act on the plain socket.
    """

    def __init__(self, *args, **kwargs):
        raise TypeError(
            f"{self.__class__.__name__} does not have a public constructor. "
            f"Instances are returned by SSLContext.wrap_socket()."
        )

    @classmethod
    def _create(
        cls,
        sock,
        server_side=False,
        do_handshake_on_connect=True,
        suppress_ragged_eofs=True,
        server_hostname=None,
        context=None,
        session=None,
    ):
        if sock.getsockopt(_socket.SOL_SOCKET, _socket.SO_TYPE) != _socket.SOCK_STREAM:
            raise NotImplementedError("only stream sockets are supported")
        if server_side:
            if server_hostname:
                raise ValueError("server_hostname can only be specified in client mode")
            if session is not None:
                raise ValueError("session is only supported in client mode")
        if context.check_hostname and not server_hostname:
            raise ValueError("check_hostname requires server_hostname")

        # The new object takes over the descriptor; ``sock`` is left detached.
        fields = dict(family=sock.family, type=sock.type, proto=sock.proto, fileno=sock.fileno())
        self = cls.__new__(cls, **fields)
        _socket.socket.__init__(self, **fields)
        timeout = sock.gettimeout()
        sock.detach()

        self._context = context
        self._session = session
        self._closed = False
        self._sslobj = None
        self.server_side = server_side
        self.server_hostname = context._ascii_hostname(server_hostname)
        self.do_handshake_on_connect = do_handshake_on_connect
        self.suppress_ragged_eofs = suppress_ragged_eofs

        self._connected = self._is_connected()
        self.settimeout(timeout)  # after _is_connected, which may toggle blocking
        if self._connected:
            try:
                self._sslobj = context._wrap_socket(
                    self, server_side, self.server_hostname, owner=self, session=session
                )
                if do_handshake_on_connect:
                    if self.gettimeout() == 0.0:
                        raise ValueError(
                            "do_handshake_on_connect should not be specified for non-blocking sockets"
                        )
                    self.do_handshake()
            except BaseException:  # also what a Python callback (OCSP) raised in the handshake
                self.close()
                raise
        return self

    def _is_connected(self):
        """Whether the socket has a peer.  An unconnected socket that still holds bytes
        (its peer wrote and closed before TLS began) is refused: those bytes never went
        through TLS and must not reach the caller as if they had."""
        try:
            self.getpeername()
            return True
        except OSError as exc:
            if exc.errno != _errno.ENOTCONN:
                raise
        blocking = self.getblocking()
        self.setblocking(False)
        try:
            stray = _socket.socket.recv(self, 1)
        except OSError as exc:
            if exc.errno not in (_errno.ENOTCONN, _errno.EINVAL):
                raise
            stray = b""
        finally:
            self.setblocking(blocking)
        if stray:
            reason = "Closed before TLS handshake with data in recv buffer."
            error = SSLError(_errno.ENOTCONN, reason)
            error.reason = reason
            error.library = None
            try:
                self.close()
            except OSError:
                pass
            raise error
        return False

    # ---- properties
    @property
    def context(self):
        """The SSLContext in force (a server may switch it from an SNI callback)."""
        return self._context

    @context.setter
    def context(self, ctx):
        self._context = ctx
        self._sslobj.context = ctx

    @property
    def session(self):
        """The session negotiated, or the one to resume (set before the handshake)."""
        if self._sslobj is not None:
            return self._sslobj.session
        return None

    @session.setter
    def session(self, session):
        self._session = session
        if self._sslobj is not None:
            self._sslobj.session = session

    @property
    def session_reused(self):
        """True when the handshake resumed a session (None before the TLS layer exists)."""
        if self._sslobj is not None:
            return self._sslobj.session_reused()
        return None

    def dup(self):
        raise NotImplementedError(f"Can't dup() {self.__class__.__name__} instances")

    def _checkClosed(self, msg=None):
        # kept for code written against the stdlib's private helper; nothing to check
        pass

    def _check_connected(self):
        if not self._connected:
            # raises OSError(ENOTCONN) on a socket with no peer
            self.getpeername()

    # ---- TLS data
    def read(self, len=1024, buffer=None):
        """Up to ``len`` decrypted bytes (b"" at the end); with ``buffer``, fill it and
        return the count.  A ragged EOF reads as the end when ``suppress_ragged_eofs``."""
        sslobj = self._sslobj
        if sslobj is None:
            raise ValueError("Read on closed or unwrapped SSL socket.")
        try:
            if buffer is None:
                return sslobj.read(len)
            return sslobj.read(len, buffer)
        except SSLEOFError:
            if self.suppress_ragged_eofs:
                return b"" if buffer is None else 0
            raise

    def write(self, data):
        """Encrypt and send ``data``; returns the number of bytes taken."""
        sslobj = self._sslobj
        if sslobj is None:
            raise ValueError("Write on closed or unwrapped SSL socket.")
        return sslobj.write(data)

    def recv(self, buflen=1024, flags=0):
        sslobj = self._sslobj
        if sslobj is None:
            return _socket.socket.recv(self, buflen, flags)
        if flags != 0:
            raise ValueError(_no_flags("recv", self))
        # read() inlined: this is the hot path of every client
        try:
            return sslobj.read(buflen)
        except SSLEOFError:
            if self.suppress_ragged_eofs:
                return b""
            raise

    def recv_into(self, buffer, nbytes=None, flags=0):
        sslobj = self._sslobj
        if sslobj is None:
            return _socket.socket.recv_into(self, buffer, nbytes or 0, flags)
        if flags != 0:
            raise ValueError(_no_flags("recv_into", self))
        if buffer is None:  # the stdlib then returns bytes, as read() does
            return self.read(1024 if nbytes is None else nbytes)
        try:
            # nbytes 0 or None: the whole buffer (the engine clamps to its size)
            return sslobj.read(nbytes or 0, buffer)
        except SSLEOFError:
            if self.suppress_ragged_eofs:
                return 0
            raise

    def recvfrom(self, buflen=1024, flags=0):
        if self._sslobj is not None:
            raise ValueError(_not_on_tls("recvfrom", self))
        return _socket.socket.recvfrom(self, buflen, flags)

    def recvfrom_into(self, buffer, nbytes=None, flags=0):
        if self._sslobj is not None:
            raise ValueError(_not_on_tls("recvfrom_into", self))
        return _socket.socket.recvfrom_into(self, buffer, nbytes or 0, flags)

    def recvmsg(self, *args, **kwargs):
        raise NotImplementedError(_not_on_tls("recvmsg", self))

    def recvmsg_into(self, *args, **kwargs):
        raise NotImplementedError(_not_on_tls("recvmsg_into", self))

    def send(self, data, flags=0):
        if self._sslobj is None:
            return _socket.socket.send(self, data, flags)
        if flags != 0:
            raise ValueError(_no_flags("send", self))
        return self._sslobj.write(data)

    def sendall(self, data, flags=0):
        if self._sslobj is None:
            return _socket.socket.sendall(self, data, flags)
        if flags != 0:
            raise ValueError(_no_flags("sendall", self))
        # One write takes it all (OpenSSL loops over records and partial sends); the
        # loop covers a partial count all the same.
        with memoryview(data) as view, view.cast("B") as flat:
            total = len(flat)
            done = self._sslobj.write(flat)
            while done < total:
                done += self._sslobj.write(flat[done:])
        return None

    def sendto(self, data, flags_or_addr, addr=None):
        if self._sslobj is not None:
            raise ValueError(_not_on_tls("sendto", self))
        if addr is None:
            return _socket.socket.sendto(self, data, flags_or_addr)
        return _socket.socket.sendto(self, data, flags_or_addr, addr)

    def sendmsg(self, *args, **kwargs):
        raise NotImplementedError(_not_on_tls("sendmsg", self))

    def sendfile(self, file, offset=0, count=None):
        """Send a file: with kernel TLS sending (``ktls_send_enabled``) a regular file goes
        through ``SSL_sendfile`` (the kernel encrypts it, no copy through Python); otherwise
        it is read in 256 KiB pieces into one buffer and written through TLS."""
        if self._sslobj is None:
            return _socket.socket.sendfile(self, file, offset, count)
        if self._sslobj.ktls_send_enabled():
            return self._sendfile_use_ktls(file, offset, count)
        return self._sendfile_use_write(file, offset, count)

    def pending(self):
        """Decrypted bytes ready for ``read`` without touching the socket."""
        if self._sslobj is None:
            return 0
        return self._sslobj.pending()

    # ---- connection life
    def do_handshake(self, block=False):
        """Run the TLS handshake (``block=True`` blocks even on a non-blocking socket)."""
        self._check_connected()
        timeout = self.gettimeout()
        try:
            if block and timeout == 0.0:
                self.settimeout(None)
            self._sslobj.do_handshake()
        finally:
            self.settimeout(timeout)

    def _real_connect(self, addr, report_errno):
        if self.server_side:
            raise ValueError("can't connect in server-side mode")
        if self._connected or self._sslobj is not None:
            raise ValueError("attempt to connect already-connected SSLSocket!")
        self._sslobj = self._context._wrap_socket(
            self, False, self.server_hostname, owner=self, session=self._session
        )
        try:
            if report_errno:
                code = _socket.socket.connect_ex(self, addr)
            else:
                code = None
                _socket.socket.connect(self, addr)
            if not code:
                self._connected = True
                if self.do_handshake_on_connect:
                    self.do_handshake()
            return code
        except (OSError, ValueError):
            self._sslobj = None
            raise

    def connect(self, addr):
        """Connect to ``addr``, then (``do_handshake_on_connect``) run the handshake."""
        self._real_connect(addr, False)

    def connect_ex(self, addr):
        """``connect`` that returns the errno instead of raising it."""
        return self._real_connect(addr, True)

    def accept(self):
        """Accept a connection: ``(SSLSocket, address)``, the new socket server-side."""
        conn, addr = _socket.socket.accept(self)
        conn = self._context.wrap_socket(
            conn,
            do_handshake_on_connect=self.do_handshake_on_connect,
            suppress_ragged_eofs=self.suppress_ragged_eofs,
            server_side=True,
        )
        return conn, addr

    def unwrap(self):
        """Close TLS (close_notify both ways) and return the plain socket's object."""
        sslobj = self._sslobj
        if not sslobj:
            raise ValueError("No SSL wrapper around " + str(self))
        sock = sslobj.shutdown()
        self._sslobj = None
        return sock

    def shutdown(self, how):
        self._sslobj = None
        _socket.socket.shutdown(self, how)

    def _real_close(self):
        self._sslobj = None
        _socket.socket._real_close(self)

    # ---- queries (as on SSLObject; None where no TLS layer exists)
    def getpeercert(self, binary_form=False):
        self._check_connected()
        return self._sslobj.getpeercert(binary_form)

    def get_verified_chain(self):
        sslobj = self._sslobj
        return [] if sslobj is None else sslobj.get_verified_chain()

    def get_unverified_chain(self):
        sslobj = self._sslobj
        return [] if sslobj is None else sslobj.get_unverified_chain()

    def selected_npn_protocol(self):
        _warnings.warn("ssl NPN is deprecated, use ALPN instead", DeprecationWarning, stacklevel=2)
        return None

    def selected_alpn_protocol(self):
        sslobj = self._sslobj
        return None if sslobj is None else sslobj.selected_alpn_protocol()

    def cipher(self):
        sslobj = self._sslobj
        return None if sslobj is None else sslobj.cipher()

    def shared_ciphers(self):
        sslobj = self._sslobj
        return None if sslobj is None else sslobj.shared_ciphers()

    # TLS 1.3 key-exchange groups (issue 7)
    def group(self):
        sslobj = self._sslobj
        return None if sslobj is None else sslobj.group()

    def compression(self):
        return None

    def get_channel_binding(self, cb_type="tls-unique"):
        sslobj = self._sslobj
        if sslobj is not None:
            return sslobj.get_channel_binding(cb_type)
        if cb_type not in CHANNEL_BINDING_TYPES and cb_type != "tls-exporter":
            raise ValueError(f"{cb_type} channel binding type not implemented")
        return None

    def version(self):
        sslobj = self._sslobj
        return None if sslobj is None else sslobj.version()

    def verify_client_post_handshake(self):
        sslobj = self._sslobj
        if not sslobj:
            raise ValueError("No SSL wrapper around " + str(self))
        return sslobj.verify_client_post_handshake()

    # ---- OCSP stapling and TLS 1.3 early data (as on SSLObject)
    @property
    def ocsp_response(self):
        sslobj = self._sslobj
        return None if sslobj is None else sslobj.ocsp_response()

    def write_early_data(self, data):
        """Clients: send 0-RTT early data, after ``connect`` and before the handshake
        (``do_handshake_on_connect=False``); see ``SSLObject.write_early_data``."""
        sslobj = self._sslobj
        if sslobj is None:
            raise ValueError("Write on closed or unwrapped SSL socket.")
        self._check_connected()
        return sslobj.write_early_data(data)

    def read_early_data(self, len=16384):
        """Servers: read 0-RTT early data before the handshake (``do_handshake_on_connect=False``);
        b"" once there is no more, then ``do_handshake``; see ``SSLObject.read_early_data``."""
        sslobj = self._sslobj
        if sslobj is None:
            raise ValueError("Read on closed or unwrapped SSL socket.")
        self._check_connected()
        return sslobj.read_early_data(len)

    @property
    def early_data_accepted(self):
        sslobj = self._sslobj
        return False if sslobj is None else sslobj.early_data_accepted

    # ---- issue 7: keying material export, kernel TLS
    def export_keying_material(self, label, length, context=None):
        """As ``SSLObject.export_keying_material``: ValueError before the handshake."""
        sslobj = self._sslobj
        if sslobj is None:
            raise ValueError("handshake not done yet")
        return sslobj.export_keying_material(label, length, context)

    @property
    def ktls_send_enabled(self):
        """True when OpenSSL hands the records this socket sends to the kernel's TLS
        (``OP_ENABLE_KTLS``, a kernel with the ``tls`` module, a cipher it supports)."""
        sslobj = self._sslobj
        return False if sslobj is None else sslobj.ktls_send_enabled()

    @property
    def ktls_recv_enabled(self):
        """True when the kernel's TLS decrypts the records this socket receives."""
        sslobj = self._sslobj
        return False if sslobj is None else sslobj.ktls_recv_enabled()

    def _sendfile_use_ktls(self, file, offset, count):
        """``socket.sendfile``'s os.sendfile path, with SSL_sendfile: the file goes from the
        page cache through the kernel's TLS.  Files sendfile(2) cannot read fall back."""
        self._check_sendfile_params(file, offset, count)
        try:
            fileno = file.fileno()
            info = os.fstat(fileno)
        except (AttributeError, OSError):  # io.UnsupportedOperation is an OSError
            return self._sendfile_use_write(file, offset, count)
        if not _stat.S_ISREG(info.st_mode):
            return self._sendfile_use_write(file, offset, count)
        if self.gettimeout() == 0:
            raise ValueError("non-blocking sockets are not supported")
        size = info.st_size
        if not size:
            return 0
        blocksize = min(count or size, 0x7FFFF000)  # what one sendfile(2) moves at most on Linux
        sslobj = self._sslobj
        total = 0
        try:
            while True:
                if count:
                    blocksize = min(count - total, blocksize)
                    if blocksize <= 0:
                        break
                sent = sslobj.sendfile(fileno, offset, blocksize)
                if sent == 0:
                    break  # end of the file
                offset += sent
                total += sent
            return total
        finally:
            if total > 0 and hasattr(file, "seek"):
                file.seek(offset)

    def _sendfile_use_write(self, file, offset, count):
        """The stdlib's read-and-send path (``_sendfile_use_send``: the same offset, count
        and file-position rules) with 256 KiB read into one reused buffer and written
        straight into TLS, where the stdlib makes an 8 KiB bytes object per send: 1.4x its
        rate on CPython, 2.3x on PyPy (256 MiB over loopback).  A file object without
        ``readinto`` takes the stdlib's path."""
        self._check_sendfile_params(file, offset, count)
        if self.gettimeout() == 0:
            raise ValueError("non-blocking sockets are not supported")
        readinto = getattr(file, "readinto", None)
        if readinto is None:
            return self._sendfile_use_send(file, offset, count)
        if offset:
            file.seek(offset)
        view = memoryview(bytearray(_SENDFILE_BLOCK))
        write = self._sslobj.write
        total = 0
        try:
            while True:
                want = _SENDFILE_BLOCK if not count else min(_SENDFILE_BLOCK, count - total)
                if want <= 0:
                    break
                n = readinto(view[:want])
                if not n:
                    break
                done = 0
                while done < n:
                    # one TLS record per write: a timeout then loses at most the record
                    # in flight from the count, so file.tell() is right after an error
                    written = write(view[done : min(n, done + _MAX_RECORD)])
                    done += written
                    total += written
            return total
        finally:
            if total > 0 and hasattr(file, "seek"):
                file.seek(offset + total)


SSLContext.sslobject_class = SSLObject
SSLContext.sslsocket_class = SSLSocket


def _check_purpose(purpose):
    if not isinstance(purpose, _PURPOSE_TYPES):
        raise TypeError(purpose)
    if purpose not in (Purpose.SERVER_AUTH, Purpose.CLIENT_AUTH):
        raise ValueError(purpose)


def _trust_and_keylog(context, purpose, cafile, capath, cadata):
    """What both factories finish with: the CAs given, else (when the context verifies)
    the system's; and SSLKEYLOGFILE, unless Python runs with -E."""
    if cafile or capath or cadata:
        context.load_verify_locations(cafile, capath, cadata)
    elif context.verify_mode != CERT_NONE:
        context.load_default_certs(purpose)
    keylog = os.environ.get("SSLKEYLOGFILE")
    if keylog and not sys.flags.ignore_environment:
        context.keylog_filename = keylog
    return context


def create_default_context(purpose=Purpose.SERVER_AUTH, *, cafile=None, capath=None, cadata=None):
    """A context with the stdlib's secure defaults for ``purpose``.

    ``Purpose.SERVER_AUTH`` (to talk to servers): a client context that requires
    a valid certificate for the host name asked for.  ``Purpose.CLIENT_AUTH``: a
    server context.  Both have TLS 1.2 as the minimum and trust the given CAs,
    or the system's.
    """
    _check_purpose(purpose)
    if purpose == Purpose.SERVER_AUTH:
        context = SSLContext(PROTOCOL_TLS_CLIENT)  # verification and host name checks on
    else:
        context = SSLContext(PROTOCOL_TLS_SERVER)
    return _trust_and_keylog(context, purpose, cafile, capath, cadata)


def _create_unverified_context(
    protocol=None,
    *,
    cert_reqs=CERT_NONE,
    check_hostname=False,
    purpose=Purpose.SERVER_AUTH,
    certfile=None,
    keyfile=None,
    cafile=None,
    capath=None,
    cadata=None,
):
    """The context older stdlib callers get when they pass none: verification off by
    default (``cert_reqs``/``check_hostname`` turn it on), optional client certificate."""
    _check_purpose(purpose)
    if protocol is None:
        protocol = PROTOCOL_TLS_CLIENT if purpose == Purpose.SERVER_AUTH else PROTOCOL_TLS_SERVER
    context = SSLContext(protocol)
    context.check_hostname = check_hostname  # first: CERT_NONE is refused while it is on
    if cert_reqs is not None:
        context.verify_mode = cert_reqs
    if check_hostname:
        context.check_hostname = True
    if keyfile and not certfile:
        raise ValueError("certfile must be specified")
    if certfile or keyfile:
        context.load_cert_chain(certfile, keyfile)
    return _trust_and_keylog(context, purpose, cafile, capath, cadata)


# The names http.client and other stdlib modules call.
_create_default_https_context = create_default_context
_create_stdlib_context = _create_unverified_context


def get_server_certificate(
    addr, ssl_version=PROTOCOL_TLS_CLIENT, ca_certs=None, timeout=_socket._GLOBAL_DEFAULT_TIMEOUT
):
    """The PEM certificate of the TLS server at ``addr`` (host, port).

    Nothing is verified unless ``ca_certs`` names a CA file to check the chain
    against (the host name is never checked, as in the stdlib).
    """
    host, _ = addr
    cert_reqs = CERT_NONE if ca_certs is None else CERT_REQUIRED
    context = _create_stdlib_context(ssl_version, cert_reqs=cert_reqs, cafile=ca_certs)
    with _socket.create_connection(addr, timeout=timeout) as sock:
        with context.wrap_socket(sock, server_hostname=host) as sslsock:
            dercert = sslsock.getpeercert(True)
    return DER_cert_to_PEM_cert(dercert)


def wrap_socket(
    sock,
    keyfile=None,
    certfile=None,
    server_side=False,
    cert_reqs=CERT_NONE,
    ssl_version=PROTOCOL_TLS,
    ca_certs=None,
    do_handshake_on_connect=True,
    suppress_ragged_eofs=True,
    ciphers=None,
):
    """Deprecated (CPython 3.11 still has it): an SSLSocket from a one-off context,
    verifying nothing unless ``cert_reqs`` says so.  Use ``SSLContext.wrap_socket``."""
    _warnings.warn(
        "ssl.wrap_socket() is deprecated, use SSLContext.wrap_socket()", DeprecationWarning, stacklevel=2
    )
    if server_side and not certfile:
        raise ValueError("certfile must be specified for server-side operations")
    if keyfile and not certfile:
        raise ValueError("certfile must be specified")
    context = SSLContext(ssl_version)
    context.verify_mode = cert_reqs
    if ca_certs:
        context.load_verify_locations(ca_certs)
    if certfile:
        context.load_cert_chain(certfile, keyfile)
    if ciphers:
        context.set_ciphers(ciphers)
    return context.wrap_socket(
        sock=sock,
        server_side=server_side,
        do_handshake_on_connect=do_handshake_on_connect,
        suppress_ragged_eofs=suppress_ragged_eofs,
    )


# ---- match_hostname: deprecated since 3.7 (OpenSSL checks names during the handshake),
# still in CPython 3.11 with these rules: one wildcard, the whole leftmost label only;
# IP addresses only against IP Address entries; the subject's commonName only when
# there is no subjectAltName DNS or IP entry.
def _address(text):
    """The packed IPv4/IPv6 address ``text`` names, or None for a host name.  IPv4 must be
    dotted-quad: inet_aton's shorthands ('127.1') are refused, as by the stdlib."""
    try:
        return _ipaddress.ip_address(text).packed
    except ValueError:
        pass
    try:
        _socket.inet_aton(text)
    except OSError:
        return None
    raise ValueError(f"{text!r} is not a quad-dotted IPv4 address.")


def _dns_name_matches(pattern, hostname):
    if not pattern:
        return False
    if "*" not in pattern:
        return pattern.lower() == hostname.lower()
    if pattern.count("*") > 1:
        raise CertificateError(f"too many wildcards in certificate DNS name: {pattern!r}.")
    first, dot, rest = pattern.partition(".")
    if "*" in rest:
        raise CertificateError(f"wildcard can only be present in the leftmost label: {pattern!r}.")
    if not dot:
        raise CertificateError(f"sole wildcard without additional labels are not support: {pattern!r}.")
    if first != "*":
        raise CertificateError(f"partial wildcards in leftmost label are not supported: {pattern!r}.")
    host_first, host_dot, host_rest = hostname.partition(".")
    if not host_first or not host_dot:
        return False
    return rest.lower() == host_rest.lower()


def match_hostname(cert, hostname):
    """Deprecated: check a ``getpeercert()`` dict against ``hostname`` (CertificateError
    when it does not match).  Contexts with ``check_hostname`` do this in OpenSSL."""
    _warnings.warn("ssl.match_hostname() is deprecated", DeprecationWarning, stacklevel=2)
    if not cert:
        raise ValueError(
            "empty or no certificate, match_hostname needs a SSL socket or SSL context with "
            "either CERT_OPTIONAL or CERT_REQUIRED"
        )
    try:
        host_address = _address(hostname)
    except ValueError:  # a malformed address is a name that matches nothing numeric
        host_address = None
    names = []
    for kind, value in cert.get("subjectAltName", ()):
        if kind == "DNS":
            if host_address is None and _dns_name_matches(value, hostname):
                return
        elif kind == "IP Address":
            if host_address is not None and _address(value.rstrip()) == host_address:
                return
        else:
            continue
        names.append(value)
    if not names:
        for rdn in cert.get("subject", ()):
            for kind, value in rdn:
                if kind == "commonName":
                    if _dns_name_matches(value, hostname):
                        return
                    names.append(value)
    if len(names) > 1:
        raise CertificateError(f"hostname {hostname!r} doesn't match either of {', '.join(map(repr, names))}")
    if names:
        raise CertificateError(f"hostname {hostname!r} doesn't match {names[0]!r}")
    raise CertificateError("no appropriate commonName or subjectAltName fields were found")
