"""The stdlib ``ssl`` API over ``tls``'s OpenSSL binding (CPython 3.11 is the spec).

This module mirrors ``Lib/ssl.py``: it turns the engine's constants into the
stdlib's enums and adds ``SSLContext``, ``SSLObject`` and the context factories
on top of the private engine ``tls._ssl``.  Exceptions also subclass the
stdlib's, so ``except ssl.SSLError`` catches them.  Sockets (``SSLSocket``,
``wrap_socket``) are not part of this module yet.
"""

from __future__ import annotations

import base64
import functools
import os
import socket as _socket
import sys
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
    RAND_bytes,
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

_RESTRICTED_SERVER_CIPHERS = _DEFAULT_CIPHERS
CHANNEL_BINDING_TYPES = ["tls-unique"]
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


class Purpose(_ASN1Object, _Enum):
    """SSLContext purpose flags with X509v3 Extended Key Usage objects."""

    SERVER_AUTH = "1.3.6.1.5.5.7.3.1"
    CLIENT_AUTH = "1.3.6.1.5.5.7.3.2"


DefaultVerifyPaths = namedtuple(
    "DefaultVerifyPaths",
    "cafile capath openssl_cafile_env openssl_cafile openssl_capath_env openssl_capath",
)


def get_default_verify_paths():
    """Return paths to default cafile and capath."""
    parts = _ssl.get_default_verify_paths()

    # environment vars shadow paths
    cafile = os.environ.get(parts[0], parts[1])
    capath = os.environ.get(parts[2], parts[3])

    return DefaultVerifyPaths(
        cafile if os.path.isfile(cafile) else None, capath if os.path.isdir(capath) else None, *parts
    )


def cert_time_to_seconds(cert_time):
    """Return the time in seconds since the Epoch, given the timestring
    representing the "notBefore" or "notAfter" date from a certificate
    in ``"%b %d %H:%M:%S %Y %Z"`` strptime format (C locale).
    """
    from calendar import timegm
    from time import strptime

    months = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
    time_format = " %d %H:%M:%S %Y GMT"  # NOTE: no month, fixed GMT
    try:
        month_number = months.index(cert_time[:3].title()) + 1
    except ValueError:
        raise ValueError(f'time data {cert_time!r} does not match format "%b{time_format}"') from None
    tt = strptime(cert_time[3:], time_format)
    return timegm((tt[0], month_number) + tt[2:6])


def DER_cert_to_PEM_cert(der_cert_bytes):
    """Takes a certificate in binary DER format and returns the
    PEM version of it as a string."""
    f = str(base64.standard_b64encode(der_cert_bytes), "ASCII", "strict")
    ss = [PEM_HEADER]
    ss += [f[i : i + 64] for i in range(0, len(f), 64)]
    ss.append(PEM_FOOTER + "\n")
    return "\n".join(ss)


def PEM_cert_to_DER_cert(pem_cert_string):
    """Takes a certificate in ASCII PEM format and returns the
    DER-encoded version of it as a byte sequence"""
    if not pem_cert_string.startswith(PEM_HEADER):
        raise ValueError(f"Invalid PEM encoding; must start with {PEM_HEADER}")
    if not pem_cert_string.strip().endswith(PEM_FOOTER):
        raise ValueError(f"Invalid PEM encoding; must end with {PEM_FOOTER}")
    d = pem_cert_string.strip()[len(PEM_HEADER) : -len(PEM_FOOTER)]
    return base64.decodebytes(d.encode("ASCII", "strict"))


class SSLContext(_SSLContext):
    """An SSLContext holds various SSL-related configuration options and data,
    such as certificates and possibly a private key."""

    sslobject_class = None  # set below, once SSLObject exists

    def __new__(cls, protocol=None, *args, **kwargs):
        if protocol is None:
            import warnings

            warnings.warn(
                "ssl.SSLContext() without protocol argument is deprecated.",
                category=DeprecationWarning,
                stacklevel=2,
            )
            protocol = PROTOCOL_TLS
        return _SSLContext.__new__(cls, protocol)

    def _encode_hostname(self, hostname):
        if hostname is None:
            return None
        elif isinstance(hostname, str):
            return hostname.encode("idna").decode("ascii")
        else:
            return hostname.decode("ascii")

    def wrap_bio(self, incoming, outgoing, server_side=False, server_hostname=None, session=None):
        # Need to encode server_hostname here because _wrap_bio() can only
        # handle ASCII str.
        return self.sslobject_class._create(
            incoming,
            outgoing,
            server_side=server_side,
            server_hostname=self._encode_hostname(server_hostname),
            session=session,
            context=self,
        )

    def set_servername_callback(self, server_name_callback):
        if server_name_callback is None:
            self.sni_callback = None
        else:
            if not callable(server_name_callback):
                raise TypeError("not a callable object")

            @functools.wraps(server_name_callback)
            def shim_cb(sslobj, servername, sslctx):
                servername = self._encode_hostname(servername)
                return server_name_callback(sslobj, servername, sslctx)

            self.sni_callback = shim_cb

    def set_npn_protocols(self, npn_protocols):
        import warnings

        warnings.warn("ssl NPN is deprecated, use ALPN instead", DeprecationWarning, stacklevel=2)
        protos = bytearray()
        for protocol in npn_protocols:
            b = bytes(protocol, "ascii")
            if len(b) == 0 or len(b) > 255:
                raise SSLError("NPN protocols must be 1 to 255 in length")
            protos.append(len(b))
            protos.extend(b)

        # As CPython 3.11 built without NPN (HAS_NPN is False): the engine has no
        # _set_npn_protocols, so this ends in AttributeError, exactly like the stdlib.
        self._set_npn_protocols(protos)

    def set_alpn_protocols(self, alpn_protocols):
        protos = bytearray()
        for protocol in alpn_protocols:
            b = bytes(protocol, "ascii")
            if len(b) == 0 or len(b) > 255:
                raise SSLError("ALPN protocols must be 1 to 255 in length")
            protos.append(len(b))
            protos.extend(b)
        self._set_alpn_protocols(protos)

    def load_default_certs(self, purpose=Purpose.SERVER_AUTH):
        if not isinstance(purpose, _ASN1Object):
            raise TypeError(purpose)
        self.set_default_verify_paths()

    @property
    def options(self):
        return Options(super().options)

    @options.setter
    def options(self, value):
        super(SSLContext, SSLContext).options.__set__(self, value)

    @property
    def verify_flags(self):
        return VerifyFlags(super().verify_flags)

    @verify_flags.setter
    def verify_flags(self, value):
        super(SSLContext, SSLContext).verify_flags.__set__(self, value)

    @property
    def verify_mode(self):
        value = super().verify_mode
        try:
            return VerifyMode(value)
        except ValueError:
            return value

    @verify_mode.setter
    def verify_mode(self, value):
        super(SSLContext, SSLContext).verify_mode.__set__(self, value)

    @property
    def minimum_version(self):
        return TLSVersion(super().minimum_version)

    @minimum_version.setter
    def minimum_version(self, value):
        if value == TLSVersion.SSLv3:
            self.options &= ~Options.OP_NO_SSLv3
        super(SSLContext, SSLContext).minimum_version.__set__(self, value)

    @property
    def maximum_version(self):
        return TLSVersion(super().maximum_version)

    @maximum_version.setter
    def maximum_version(self, value):
        super(SSLContext, SSLContext).maximum_version.__set__(self, value)

    @property
    def protocol(self):
        return _SSLMethod(super().protocol)


class SSLObject:
    """This class implements an interface on top of a low-level SSL object as
    implemented by OpenSSL. This object captures the state of an SSL connection
    but does not provide any network IO itself. IO needs to be performed
    through separate "BIO" objects which are OpenSSL's IO abstraction layer.

    This class does not have a public constructor. Instances are returned by
    ``SSLContext.wrap_bio``. This class is typically used by framework authors
    that want to implement asynchronous IO for SSL through memory buffers.
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
        """The SSLContext that is currently in use."""
        return self._sslobj.context

    @context.setter
    def context(self, ctx):
        self._sslobj.context = ctx

    @property
    def session(self):
        """The SSLSession for client socket."""
        return self._sslobj.session

    @session.setter
    def session(self, session):
        self._sslobj.session = session

    @property
    def session_reused(self):
        """Was the client session reused during handshake"""
        return self._sslobj.session_reused()

    @property
    def server_side(self):
        """Whether this is a server-side socket."""
        return self._sslobj.server_side

    @property
    def server_hostname(self):
        """The currently set server hostname (for SNI), or ``None`` if no
        server hostname is set."""
        return self._sslobj.server_hostname

    def read(self, len=1024, buffer=None):
        """Read up to 'len' bytes from the SSL object and return them.

        If 'buffer' is provided, read into this buffer and return the number of
        bytes read.
        """
        if buffer is not None:
            return self._sslobj.read(len, buffer)
        return self._sslobj.read(len)

    def write(self, data):
        """Write 'data' to the SSL object and return the number of bytes
        written.

        The 'data' argument must support the buffer interface.
        """
        return self._sslobj.write(data)

    def getpeercert(self, binary_form=False):
        """Returns a formatted version of the data in the certificate provided
        by the other end of the SSL channel.

        Return None if no certificate was provided, {} if a certificate was
        provided, but not validated.
        """
        return self._sslobj.getpeercert(binary_form)

    def get_verified_chain(self):
        """Returns verified certificate chain provided by the other
        end of the SSL channel as a list of DER-encoded bytes.

        If certificate verification was disabled method acts the same as
        ``SSLSocket.get_unverified_chain``.
        """
        return self._sslobj.get_verified_chain()

    def get_unverified_chain(self):
        """Returns raw certificate chain provided by the other
        end of the SSL channel as a list of DER-encoded bytes.
        """
        return self._sslobj.get_unverified_chain()

    def selected_npn_protocol(self):
        """Return the currently selected NPN protocol as a string, or ``None``
        if a next protocol was not negotiated or if NPN is not supported by one
        of the peers."""
        import warnings

        warnings.warn("ssl NPN is deprecated, use ALPN instead", DeprecationWarning, stacklevel=2)

    def selected_alpn_protocol(self):
        """Return the currently selected ALPN protocol as a string, or ``None``
        if a next protocol was not negotiated or if ALPN is not supported by one
        of the peers."""
        return self._sslobj.selected_alpn_protocol()

    def cipher(self):
        """Return the currently selected cipher as a 3-tuple ``(name,
        ssl_version, secret_bits)``."""
        return self._sslobj.cipher()

    def shared_ciphers(self):
        """Return a list of ciphers shared by the client during the handshake or
        None if this is not a valid server connection.
        """
        return self._sslobj.shared_ciphers()

    def get_channel_binding(self, cb_type="tls-unique"):
        """Get channel binding data for current connection.  Raise ValueError
        if the requested `cb_type` is not supported.  Return bytes of the data
        or None if the data is not available (e.g. before the handshake).
        """
        return self._sslobj.get_channel_binding(cb_type)

    def compression(self):
        """Return the current compression algorithm in use, or ``None`` if
        compression was not negotiated or not supported by one of the peers."""
        return None

    def pending(self):
        """Return the number of bytes that can be read immediately."""
        return self._sslobj.pending()

    def do_handshake(self):
        """Start the SSL/TLS handshake."""
        self._sslobj.do_handshake()

    def unwrap(self):
        """Start the SSL shutdown handshake."""
        return self._sslobj.shutdown()

    def version(self):
        """Return a string identifying the protocol version used by the
        current SSL channel."""
        return self._sslobj.version()

    def verify_client_post_handshake(self):
        """Request a client certificate after the TLS 1.3 handshake (servers)."""
        return self._sslobj.verify_client_post_handshake()


SSLContext.sslobject_class = SSLObject


def create_default_context(purpose=Purpose.SERVER_AUTH, *, cafile=None, capath=None, cadata=None):
    """Create a SSLContext object with default settings.

    NOTE: The protocol and settings may change anytime without prior
          deprecation. The values represent a fair balance between maximum
          compatibility and security.
    """
    if not isinstance(purpose, _ASN1Object):
        raise TypeError(purpose)

    # SSLContext sets OP_NO_SSLv2, OP_NO_SSLv3, OP_NO_COMPRESSION,
    # OP_CIPHER_SERVER_PREFERENCE, OP_SINGLE_DH_USE and OP_SINGLE_ECDH_USE
    # by default.
    if purpose == Purpose.SERVER_AUTH:
        # verify certs and host name in client mode
        context = SSLContext(PROTOCOL_TLS_CLIENT)
        context.verify_mode = CERT_REQUIRED
        context.check_hostname = True
    elif purpose == Purpose.CLIENT_AUTH:
        context = SSLContext(PROTOCOL_TLS_SERVER)
    else:
        raise ValueError(purpose)

    if cafile or capath or cadata:
        context.load_verify_locations(cafile, capath, cadata)
    elif context.verify_mode != CERT_NONE:
        # no explicit cafile, capath or cadata but the verify mode is
        # CERT_OPTIONAL or CERT_REQUIRED. Let's try to load default system
        # root CA certificates for the given purpose. This may fail silently.
        context.load_default_certs(purpose)
    # OpenSSL 1.1.1 keylog file
    if hasattr(context, "keylog_filename"):
        keylogfile = os.environ.get("SSLKEYLOGFILE")
        if keylogfile and not sys.flags.ignore_environment:
            context.keylog_filename = keylogfile
    return context


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
    """Create a SSLContext object for Python stdlib modules

    All Python stdlib modules shall use this function to create SSLContext
    objects in order to keep common settings in one place. The configuration
    is less restrict than create_default_context()'s to increase backward
    compatibility.
    """
    if not isinstance(purpose, _ASN1Object):
        raise TypeError(purpose)

    if purpose == Purpose.SERVER_AUTH:
        # verify certs and host name in client mode
        if protocol is None:
            protocol = PROTOCOL_TLS_CLIENT
    elif purpose == Purpose.CLIENT_AUTH:
        if protocol is None:
            protocol = PROTOCOL_TLS_SERVER
    else:
        raise ValueError(purpose)

    context = SSLContext(protocol)
    context.check_hostname = check_hostname
    if cert_reqs is not None:
        context.verify_mode = cert_reqs
    if check_hostname:
        context.check_hostname = True

    if keyfile and not certfile:
        raise ValueError("certfile must be specified")
    if certfile or keyfile:
        context.load_cert_chain(certfile, keyfile)

    # load CA root certs
    if cafile or capath or cadata:
        context.load_verify_locations(cafile, capath, cadata)
    elif context.verify_mode != CERT_NONE:
        # no explicit cafile, capath or cadata but the verify mode is
        # CERT_OPTIONAL or CERT_REQUIRED. Let's try to load default system
        # root CA certificates for the given purpose. This may fail silently.
        context.load_default_certs(purpose)
    # OpenSSL 1.1.1 keylog file
    if hasattr(context, "keylog_filename"):
        keylogfile = os.environ.get("SSLKEYLOGFILE")
        if keylogfile and not sys.flags.ignore_environment:
            context.keylog_filename = keylogfile
    return context


# Used by http.client if no context is explicitly passed.
_create_default_https_context = create_default_context

# Backwards compatibility alias, even though it's not a public name.
_create_stdlib_context = _create_unverified_context


def get_server_certificate(
    addr, ssl_version=PROTOCOL_TLS_CLIENT, ca_certs=None, timeout=_socket._GLOBAL_DEFAULT_TIMEOUT
):
    """Retrieve the certificate from the server at the specified address,
    and return it as a PEM-encoded string.
    If 'ca_certs' is specified, validate the server cert against it.
    If 'ssl_version' is specified, use it in the connection attempt.
    If 'timeout' is specified, use it in the connection attempt.
    """
    host, port = addr
    if ca_certs is not None:
        cert_reqs = CERT_REQUIRED
    else:
        cert_reqs = CERT_NONE
    context = _create_stdlib_context(ssl_version, cert_reqs=cert_reqs, cafile=ca_certs)
    with _socket.create_connection(addr, timeout=timeout) as sock:
        dercert = _handshake_over_socket(context, sock, host).getpeercert(True)
    return DER_cert_to_PEM_cert(dercert)


def _handshake_over_socket(context, sock, server_hostname):
    """A client handshake of an SSLObject over MemoryBIOs, pumped through a
    connected socket (what ``SSLSocket.do_handshake`` does until SSLSocket exists).
    A socket timeout becomes the stdlib's handshake TimeoutError; the peer's EOF
    reaches OpenSSL, which reports it as the stdlib does (SSLEOFError); a failed
    handshake still sends its alert."""
    incoming, outgoing = MemoryBIO(), MemoryBIO()
    sslobj = context.wrap_bio(incoming, outgoing, server_hostname=server_hostname)
    try:
        while True:
            try:
                sslobj.do_handshake()
                done = True
            except SSLWantReadError:
                done = False
            except SSLError:
                # the alert OpenSSL queued reaches the peer, as from an SSLSocket
                data = outgoing.read()
                if data:
                    try:
                        sock.sendall(data)
                    except OSError:
                        pass
                raise
            data = outgoing.read()
            if data:
                sock.sendall(data)
            if done:
                return sslobj
            data = sock.recv(32768)
            if data:
                incoming.write(data)
            else:
                incoming.write_eof()
    except _socket.timeout:
        pass
    # raised outside the except clause: the stdlib's error carries no context
    raise _socket.timeout(_LOCATION + ": The handshake operation timed out")
