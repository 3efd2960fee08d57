"""Test certificates, made once per test session with the ``openssl`` CLI into a
temporary directory (never committed; nothing here needs ``cryptography``, so it
works on PyPy too).

``make_certs(directory)`` returns a ``Certs`` with PEM paths:
  ca / ca_key                 the trusted test CA
  server / server_key         RSA-2048, SAN DNS:localhost IP:127.0.0.1, serverAuth
  server_ec / server_ec_key   ECDSA P-256, same names
  client / client_key         RSA client certificate (clientAuth)
  server_key_encrypted        server_key under AES-256 with password PASSWORD
  many_names                  every subjectAltName kind, UTF-8 subject
  self_signed / _key          self-signed localhost certificate
  other_ca, unknown_server    a CA nobody trusts and a localhost cert it issued
  dh_params                   ffdhe2048 Diffie-Hellman parameters (PEM)
  expired / expired_key       localhost cert from the trusted CA, expired in 2020
                              (None when the CLI cannot back-date certificates)
  not_yet_valid / _key        localhost cert from the trusted CA, valid from 2099
  intermediate / _key         a CA:TRUE intermediate issued by the trusted CA
  chained / chained_key       localhost cert issued by the intermediate (leaf only)
  chained_full                chained + intermediate in one file (a complete chain)
  bad_intermediate / _key     a CA:FALSE "intermediate" issued by the trusted CA
  bad_chained_full / _key     localhost cert issued by bad_intermediate, with it
                              (None when the CLI refuses to sign with a non-CA)
  client_eku / _key           localhost cert from the trusted CA, EKU clientAuth only
  rich / rich_key             leaf from the trusted CA: every SAN kind, AIA, CRL
                              distribution points, UTF8String subject fields
  rich_ca                     a CA:TRUE certificate with the same extensions
  many_names_key              the key of many_names
  revoked / revoked_key       localhost cert from the trusted CA, revoked in ...
  crl                         ... the trusted CA's CRL (PEM, valid for 30 days)
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import threading
from types import SimpleNamespace

PASSWORD = "s3cret-pässword"

_SERVER_EXT = """\
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1, IP:::1
"""
_SERVER_EXT_FULL = (
    _SERVER_EXT
    + """\
authorityInfoAccess = OCSP;URI:http://ocsp.example.com/, caIssuers;URI:http://ca.example.com/ca.pem
crlDistributionPoints = URI:http://crl.example.com/ca.crl, URI:ldap://crl.example.com/ca
"""
)
_MANY_NAMES_EXT = """\
basicConstraints = critical, CA:FALSE
subjectAltName = @alt
[alt]
DNS.1 = a.example
DNS.2 = *.b.example
email.1 = x@example.com
URI.1 = https://example.com/path?q=1
IP.1 = 10.0.0.1
IP.2 = 2001:db8::1
RID.1 = 1.2.3.4
dirName.1 = dir_sect
otherName.1 = 1.2.3.4;UTF8:some other name
[dir_sect]
C = XY
O = Directory Name
CN = dir
"""
_CLIENT_EXT = """\
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectAltName = email:client@example.com
"""
_CA_EXT = """\
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
"""
_NOT_CA_EXT = """\
basicConstraints = critical, CA:FALSE
keyUsage = critical, keyCertSign, cRLSign, digitalSignature
subjectKeyIdentifier = hash
"""
_CLIENT_ONLY_EKU_EXT = """\
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
"""
_RICH_TAIL = """\
authorityInfoAccess = @aia
crlDistributionPoints = URI:http://crl.example.com/rich.crl, URI:ldap://crl.example.com/cn=rich
subjectAltName = @alt
[aia]
OCSP;URI.1 = http://ocsp.example.com/
OCSP;URI.2 = http://ocsp2.example.com/
caIssuers;URI.1 = http://ca.example.com/ca.der
[alt]
DNS.1 = localhost
DNS.2 = *.xn--bcher-kva.example
IP.1 = 127.0.0.1
IP.2 = ::1
IP.3 = 2001:db8:0:1::ff
email.1 = x@example.com
email.2 = y@xn--bcher-kva.example
URI.1 = https://example.com/path?q=1
dirName.1 = rich_dir
[rich_dir]
C = CH
O = Dïrectory Ñame
CN = dir ünicode
"""
_RICH_EXT = "basicConstraints = critical, CA:FALSE\n" + _RICH_TAIL
_RICH_CA_EXT = (
    "basicConstraints = critical, CA:TRUE\nkeyUsage = critical, keyCertSign, cRLSign\n" + _RICH_TAIL
)


def _run(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def cli_version():
    """(major, minor) of the ``openssl`` CLI on PATH, which may be another OpenSSL than
    the one tls loads (e.g. the system's CLI with tls built against a newer library)."""
    out = subprocess.run(["openssl", "version"], check=True, capture_output=True, text=True).stdout
    major, minor = out.split()[1].split(".")[:2]
    return int(major), int(minor)


def _write(directory, name, text):
    path = os.path.join(directory, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def _key(d, name, kind):
    if kind == "ec":
        _run("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", name, cwd=d)
    else:
        _run("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", name, cwd=d)
    return os.path.join(d, name)


def _ca(d, name, cn):
    _key(d, f"{name}.key", "rsa")
    ext = _write(d, "ca.ext", _CA_EXT)
    _run("req", "-new", "-key", f"{name}.key", "-subj", f"/O=tls tests/CN={cn}", "-out", f"{name}.csr", cwd=d)
    _run(
        "x509",
        "-req",
        "-in",
        f"{name}.csr",
        "-signkey",
        f"{name}.key",
        "-days",
        "3650",
        "-extfile",
        ext,
        "-set_serial",
        "1",
        "-out",
        f"{name}.pem",
        cwd=d,
    )
    return os.path.join(d, f"{name}.pem"), os.path.join(d, f"{name}.key")


def _leaf(d, name, ca, subject, ext_text, kind="rsa", serial=1000):
    _key(d, f"{name}.key", kind)
    ext = _write(d, f"{name}.ext", ext_text)
    _run("req", "-new", "-utf8", "-key", f"{name}.key", "-subj", subject, "-out", f"{name}.csr", cwd=d)
    _run(
        "x509",
        "-req",
        "-in",
        f"{name}.csr",
        "-CA",
        ca + ".pem",
        "-CAkey",
        ca + ".key",
        "-days",
        "365",
        "-extfile",
        ext,
        "-set_serial",
        str(serial),
        "-out",
        f"{name}.pem",
        cwd=d,
    )
    return os.path.join(d, f"{name}.pem"), os.path.join(d, f"{name}.key")


def _expired(d):
    """A localhost certificate from the trusted CA valid only in January 2020,
    made with ``openssl ca`` (``x509 -req`` cannot back-date on OpenSSL 3.0)."""
    _key(d, "expired.key", "rsa")
    _run("req", "-new", "-key", "expired.key", "-subj", "/CN=localhost", "-out", "expired.csr", cwd=d)
    os.makedirs(os.path.join(d, "cadb"), exist_ok=True)
    _write(d, "cadb/index.txt", "")
    _write(d, "cadb/serial", "2000\n")
    conf = _write(
        d,
        "ca.cnf",
        "[ca]\ndefault_ca = test\n[test]\ndir = cadb\ndatabase = cadb/index.txt\n"
        "new_certs_dir = cadb\nserial = cadb/serial\ndefault_md = sha256\npolicy = any\n"
        "x509_extensions = ext\ncopy_extensions = none\nunique_subject = no\n"
        "[any]\ncommonName = supplied\n[ext]\n" + _SERVER_EXT.replace(" = ", "=").replace(", ", ","),
    )
    try:
        _run(
            "ca",
            "-batch",
            "-config",
            conf,
            "-cert",
            "ca.pem",
            "-keyfile",
            "ca.key",
            "-in",
            "expired.csr",
            "-startdate",
            "20200101000000Z",
            "-enddate",
            "20200102000000Z",
            "-notext",
            "-out",
            "expired.pem",
            cwd=d,
        )
    except subprocess.CalledProcessError:
        return None, None
    return os.path.join(d, "expired.pem"), os.path.join(d, "expired.key")


def _not_yet_valid(d):
    """A localhost certificate from the trusted CA valid only from 2099, made with
    ``openssl ca -startdate`` (``x509`` cannot set notBefore on OpenSSL 3.0)."""
    _key(d, "future.key", "rsa")
    _run("req", "-new", "-key", "future.key", "-subj", "/CN=localhost", "-out", "future.csr", cwd=d)
    os.makedirs(os.path.join(d, "cadb_future"), exist_ok=True)
    _write(d, "cadb_future/index.txt", "")
    _write(d, "cadb_future/serial", "3000\n")
    conf = _write(
        d,
        "ca_future.cnf",
        "[ca]\ndefault_ca = test\n[test]\ndir = cadb_future\ndatabase = cadb_future/index.txt\n"
        "new_certs_dir = cadb_future\nserial = cadb_future/serial\ndefault_md = sha256\npolicy = any\n"
        "x509_extensions = ext\ncopy_extensions = none\nunique_subject = no\n"
        "[any]\ncommonName = supplied\n[ext]\n" + _SERVER_EXT.replace(" = ", "=").replace(", ", ","),
    )
    _run(
        "ca",
        "-batch",
        "-config",
        conf,
        "-cert",
        "ca.pem",
        "-keyfile",
        "ca.key",
        "-in",
        "future.csr",
        "-startdate",
        "20990101000000Z",
        "-enddate",
        "21000101000000Z",
        "-notext",
        "-out",
        "future.pem",
        cwd=d,
    )
    return os.path.join(d, "future.pem"), os.path.join(d, "future.key")


def _revocation(d):
    """A localhost certificate issued and then revoked by the trusted CA with
    ``openssl ca``, and the CA's CRL listing it."""
    _key(d, "revoked.key", "rsa")
    _run("req", "-new", "-key", "revoked.key", "-subj", "/CN=localhost", "-out", "revoked.csr", cwd=d)
    os.makedirs(os.path.join(d, "cadb_crl"), exist_ok=True)
    _write(d, "cadb_crl/index.txt", "")
    _write(d, "cadb_crl/serial", "4000\n")
    _write(d, "cadb_crl/crlnumber", "01\n")
    conf = _write(
        d,
        "ca_crl.cnf",
        "[ca]\ndefault_ca = test\n[test]\ndir = cadb_crl\ndatabase = cadb_crl/index.txt\n"
        "new_certs_dir = cadb_crl\nserial = cadb_crl/serial\ncrlnumber = cadb_crl/crlnumber\n"
        "default_md = sha256\ndefault_days = 365\ndefault_crl_days = 30\npolicy = any\n"
        "x509_extensions = ext\ncopy_extensions = none\nunique_subject = no\n"
        "[any]\ncommonName = supplied\n[ext]\n" + _SERVER_EXT.replace(" = ", "=").replace(", ", ","),
    )
    common = ("-batch", "-config", conf, "-cert", "ca.pem", "-keyfile", "ca.key")
    _run("ca", *common, "-in", "revoked.csr", "-notext", "-out", "revoked.pem", cwd=d)
    _run("ca", *common, "-revoke", "revoked.pem", "-crl_reason", "keyCompromise", cwd=d)
    _run("ca", *common, "-gencrl", "-out", "ca.crl", cwd=d)
    return os.path.join(d, "revoked.pem"), os.path.join(d, "revoked.key"), os.path.join(d, "ca.crl")


def _concat(d, name, *paths):
    path = os.path.join(d, name)
    with open(path, "w") as out:
        for p in paths:
            with open(p) as f:
                out.write(f.read())
    return path


def _verification_cases(d):
    """Certificates for the verification-failure tests (see the module docstring)."""
    ca = os.path.join(d, "ca")
    not_yet_valid, not_yet_valid_key = _not_yet_valid(d)
    intermediate, intermediate_key = _leaf(
        d, "inter", ca, "/O=tls tests/CN=tls test intermediate", _CA_EXT, serial=1010
    )
    chained, chained_key = _leaf(
        d, "chained", os.path.join(d, "inter"), "/CN=localhost", _SERVER_EXT, serial=1011
    )
    bad_inter, bad_inter_key = _leaf(d, "bad_inter", ca, "/O=tls tests/CN=not a CA", _NOT_CA_EXT, serial=1012)
    try:
        bad_chained, bad_chained_key = _leaf(
            d, "bad_chained", os.path.join(d, "bad_inter"), "/CN=localhost", _SERVER_EXT, serial=1013
        )
        bad_chained_full = _concat(d, "bad_chained_full.pem", bad_chained, bad_inter)
    except subprocess.CalledProcessError:  # a CLI that refuses to sign with a CA:FALSE certificate
        bad_chained_full = bad_chained_key = None
    client_eku, client_eku_key = _leaf(
        d, "client_eku", ca, "/CN=localhost", _CLIENT_ONLY_EKU_EXT, serial=1014
    )
    rich_subject = "/C=CH/ST=Zürich/L=Genève/O=tls tésts/OU=日本語/CN=localhost/emailAddress=x@example.com"
    rich, rich_key = _leaf(d, "rich", ca, rich_subject, _RICH_EXT, serial=1015)
    rich_ca, _ = _leaf(
        d, "rich_ca", ca, rich_subject.replace("localhost", "rich CA"), _RICH_CA_EXT, serial=1016
    )
    return dict(
        not_yet_valid=not_yet_valid,
        not_yet_valid_key=not_yet_valid_key,
        intermediate=intermediate,
        intermediate_key=intermediate_key,
        chained=chained,
        chained_key=chained_key,
        chained_full=_concat(d, "chained_full.pem", chained, intermediate),
        bad_intermediate=bad_inter,
        bad_intermediate_key=bad_inter_key,
        bad_chained_full=bad_chained_full,
        bad_chained_full_key=bad_chained_key,
        client_eku=client_eku,
        client_eku_key=client_eku_key,
        rich=rich,
        rich_key=rich_key,
        rich_ca=rich_ca,
        many_names_key=os.path.join(d, "many.key"),
        **dict(zip(("revoked", "revoked_key", "crl"), _revocation(d))),
    )


def make_certs(directory):
    d = str(directory)
    ca, ca_key = _ca(d, "ca", "tls test CA")
    server, server_key = _leaf(
        d, "server", os.path.join(d, "ca"), "/C=XY/O=tls tests/OU=a+OU=b/CN=localhost", _SERVER_EXT_FULL
    )
    server_ec, server_ec_key = _leaf(
        d,
        "server_ec",
        os.path.join(d, "ca"),
        "/O=tls tests/CN=localhost",
        _SERVER_EXT,
        kind="ec",
        serial=1001,
    )
    client, client_key = _leaf(
        d, "client", os.path.join(d, "ca"), "/O=tls tests/CN=client", _CLIENT_EXT, serial=1002
    )
    many_names, _ = _leaf(
        d,
        "many",
        os.path.join(d, "ca"),
        "/C=XY/ST=Zürich/O=tls tésts/CN=many names",
        _MANY_NAMES_EXT,
        serial=1004,
    )
    encrypted = os.path.join(d, "server_enc.key")
    _run("pkey", "-in", server_key, "-aes256", "-passout", "pass:" + PASSWORD, "-out", encrypted, cwd=d)
    _run(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "self.key",
        "-out",
        "self.pem",
        "-days",
        "30",
        "-subj",
        "/CN=localhost",
        "-addext",
        "subjectAltName=DNS:localhost",
        cwd=d,
    )
    other_ca, _ = _ca(d, "other_ca", "untrusted CA")
    unknown, unknown_key = _leaf(
        d, "unknown", os.path.join(d, "other_ca"), "/CN=localhost", _SERVER_EXT, serial=1003
    )
    expired, expired_key = _expired(d)
    _run(
        "genpkey", "-genparam", "-algorithm", "DH", "-pkeyopt", "dh_param:ffdhe2048", "-out", "dh.pem", cwd=d
    )
    return SimpleNamespace(
        dir=d,
        ca=ca,
        ca_key=ca_key,
        server=server,
        server_key=server_key,
        server_ec=server_ec,
        server_ec_key=server_ec_key,
        client=client,
        client_key=client_key,
        server_key_encrypted=encrypted,
        many_names=many_names,
        self_signed=os.path.join(d, "self.pem"),
        self_signed_key=os.path.join(d, "self.key"),
        other_ca=other_ca,
        unknown_server=unknown,
        unknown_server_key=unknown_key,
        expired=expired,
        expired_key=expired_key,
        dh_params=os.path.join(d, "dh.pem"),
        **_verification_cases(d),
    )


def ipv6_loopback():
    """True when this machine can bind ::1 (tests needing it skip otherwise)."""
    import socket

    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


# ----------------------------------------------------------------------------- memory pairs
_CACHE = {}


def session_certs(tmp_path_factory):
    """The per-session certificate set (made on first use)."""
    key = id(tmp_path_factory)
    if key not in _CACHE:
        _CACHE[key] = make_certs(tmp_path_factory.mktemp("certs"))
    return _CACHE[key]


class Pair:
    """A client and a server SSLObject joined by two MemoryBIO pairs.

    ``client_mod``/``server_mod`` give each side's ``MemoryBIO`` class (tls.ssl's,
    or the stdlib's to exercise the foreign-BIO path).
    """

    def __init__(self, client_ctx, server_ctx, client_bio=None, server_bio=None, server_hostname="localhost"):
        client_bio = client_bio or _bio_class(client_ctx)
        server_bio = server_bio or _bio_class(server_ctx)
        self.c_in, self.c_out = client_bio(), client_bio()
        self.s_in, self.s_out = server_bio(), server_bio()
        self.client = client_ctx.wrap_bio(self.c_in, self.c_out, server_hostname=server_hostname)
        self.server = server_ctx.wrap_bio(self.s_in, self.s_out, server_side=True)

    def transfer(self):
        """Move pending bytes both ways; True when anything moved."""
        moved = False
        data = self.c_out.read()
        if data:
            self.s_in.write(data)
            moved = True
        data = self.s_out.read()
        if data:
            self.c_in.write(data)
            moved = True
        return moved

    def handshake(self):
        import ssl

        done = {"client": False, "server": False}
        for _ in range(50):
            for name in ("client", "server"):
                if not done[name]:
                    try:
                        getattr(self, name).do_handshake()
                        done[name] = True
                    except ssl.SSLWantReadError:
                        pass
            moved = self.transfer()
            if done["client"] and done["server"] and not moved:
                return
        raise AssertionError("handshake did not finish")

    def send(self, sender, receiver, data, chunk=16384, read_size=65536):
        """Write ``data`` from one side and read it back on the other."""
        import ssl

        received = bytearray()
        view = memoryview(data)
        for start in range(0, len(data), chunk):
            sender.write(view[start : start + chunk])
            self.transfer()
            while True:
                try:
                    received += receiver.read(read_size)
                except ssl.SSLWantReadError:
                    break
        self.transfer()
        while len(received) < len(data):
            received += receiver.read(read_size)
        return bytes(received)


def _bio_class(ctx):
    import ssl

    import tls.ssl

    if isinstance(ctx, tls.ssl.SSLContext):
        return tls.ssl.MemoryBIO

    return ssl.MemoryBIO


def assert_error_queue_clean():
    """OpenSSL's per-thread error queue must be empty after every tls.ssl call."""
    from tls._binding import consume_errors

    left = consume_errors()
    assert not left, f"tls.ssl left errors on OpenSSL's queue: {left}"


# ----------------------------------------------------------------------------- odd certificates
# One explicit configuration for every odd certificate (never the system's openssl.cnf):
# each is a self-signed CA, so it can be trusted as itself and is listed by get_ca_certs.
_ODD_CONF = """\
oid_section = new_oids
[new_oids]
testUnknownAttribute = 1.3.6.1.4.1.55555.1
[req]
distinguished_name = dn
x509_extensions = ca_ext
[dn]
[ca_ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, digitalSignature
[crl_ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, digitalSignature
crlDistributionPoints = dp1, dp2
[dp1]
fullname = URI:http://x.example/1.crl, URI:ldap://x.example/2
[dp2]
fullname = dirName:dp2_name
CRLissuer = URI:http://issuer.example/
[dp2_name]
CN = crl directory name
"""


def make_odd_certs(directory):
    """Self-signed P-256 certificates with unusual encodings, for decoding
    differentials: name -> PEM path. Each comes from a plain ``openssl req -x509``."""
    d = str(directory)
    _key(d, "odd.key", "ec")
    conf = _write(d, "odd.cnf", _ODD_CONF)
    specs = {
        # a 20-byte serial, unknown OID and unusual attribute types in the subject
        "big_serial": (
            "-subj",
            "/CN=big/testUnknownAttribute=unknown oid/serialNumber=42/DC=example/DC=com/title=Dr/UID=abc",
            "-set_serial",
            "0x7fffffffffffffffffffffffffffffffffffff01",
        ),
        "negative_serial": ("-subj", "/CN=negative", "-set_serial", "-5"),
        "zero_serial": ("-subj", "/CN=zero", "-set_serial", "0"),
        # no subject at all, the name in a critical subjectAltName
        "empty_subject": ("-subj", "/", "-addext", "subjectAltName=critical,DNS:x.example"),
        # edge addresses, a bare wildcard, a URN, AIA entries that are not URIs
        "edge_names": (
            "-subj",
            "/CN=edge",
            "-addext",
            "subjectAltName=IP:0.0.0.0,IP:::,IP:::ffff:1.2.3.4,DNS:*,URI:urn:x:y,email:@x.example",
            "-addext",
            "authorityInfoAccess=OCSP;URI:http://o.example/,caIssuers;URI:http://c.example/,"
            "OCSP;email:x@y.example,caIssuers;DNS:x.example",
        ),
        # notAfter in 2136: a GeneralizedTime
        "generalized_time": ("-subj", "/CN=far future", "-days", "40000"),
        # CRL distribution points with several names, a dirName and a CRL issuer
        "crl_points": ("-subj", "/CN=crl points", "-extensions", "crl_ext"),
    }
    out = {}
    for name, args in specs.items():
        args = list(args)
        if "-days" not in args:
            args += ["-days", "30"]
        _run(
            "req",
            "-x509",
            "-config",
            conf,
            "-utf8",
            "-key",
            "odd.key",
            "-out",
            f"odd_{name}.pem",
            *args,
            cwd=d,
        )
        out[name] = os.path.join(d, f"odd_{name}.pem")
    # a version 1 certificate (no extensions) with a multi-valued RDN.  From OpenSSL 3.2 on
    # the CLI makes v3 certificates with key identifiers unless asked for v1 (req -x509v1,
    # which 3.0 and 3.1 do not know; their x509 -req makes v1).
    v1_subject = ("-subj", "/CN=v1/O=a+OU=b+CN=c", "-multivalue-rdn")
    if cli_version() >= (3, 2):
        plain = _write(d, "plain.cnf", "[req]\ndistinguished_name = dn\n[dn]\n")
        _run(
            "req",
            "-x509v1",
            "-config",
            plain,
            "-key",
            "odd.key",
            *v1_subject,
            "-days",
            "30",
            "-out",
            "odd_v1.pem",
            cwd=d,
        )
    else:
        _run("req", "-new", "-key", "odd.key", *v1_subject, "-out", "odd_v1.csr", cwd=d)
        _run(
            "x509", "-req", "-in", "odd_v1.csr", "-key", "odd.key", "-days", "30", "-out", "odd_v1.pem", cwd=d
        )
    out["v1"] = os.path.join(d, "odd_v1.pem")
    out["key"] = os.path.join(d, "odd.key")
    return out


@contextlib.contextmanager
def openssl_s_server(cert, key, *extra, host="127.0.0.1"):
    """``openssl s_server`` on an ephemeral loopback port; yields the port; always stopped."""
    accept = f"[{host}]:0" if ":" in host else f"{host}:0"
    proc = subprocess.Popen(
        ["openssl", "s_server", "-accept", accept, "-cert", cert, "-key", key, *extra],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        port = None
        for _ in range(20):
            line = proc.stdout.readline().decode()
            if line.startswith("ACCEPT"):
                port = int(line.rsplit(":", 1)[1])
                break
        assert port, "openssl s_server did not report its port"
        threading.Thread(target=proc.stdout.read, daemon=True).start()  # never block on a full pipe
        yield port
    finally:
        proc.terminate()
        proc.wait(10)


def stdlib_rejects_der_cadata(cert_path):
    """Whether the stdlib ``ssl`` rejects the valid DER form of ``cert_path`` as ``cadata``
    with ``[ASN1: NOT_ENOUGH_DATA]`` (CPython issue 151504).  CPython's loader reads
    certificates until ``d2i_X509_bio`` fails and takes only ASN1_R_HEADER_TOO_LONG as
    the end of the data; newer OpenSSL releases (3.5.7 here) report NOT_ENOUGH_DATA there.
    tls stops when the data is used up, so it loads the certificate on every version: tests
    that compare DER cadata with the stdlib load the stdlib's copy as PEM where this holds."""
    import ssl

    from tls._binding import clear_errors

    with open(cert_path) as f:
        der = ssl.PEM_cert_to_DER_cert(f.read())
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cadata=der)
    except ssl.SSLError as exc:
        return (exc.library, exc.reason) == ("ASN1", "NOT_ENOUGH_DATA")
    finally:
        clear_errors()  # the stdlib may share OpenSSL's error queue with tls
    return False
