"""Certificates as CPython's ``_ssl`` returns them: ``getpeercert()`` dicts and DER."""

from __future__ import annotations

from tls._binding import consume_errors, ffi, lib, openssl_assert

_NAME_BUFSIZE = 256


def _text(ptr):
    return ffi.string(ptr).decode("utf-8", "replace")


def _obj_name(obj):
    """The long name of an ASN.1 object, or its dotted OID when it has none
    (OBJ_obj2txt with no_name=0, as CPython's _create_tuple_for_attribute)."""
    buf = ffi.new("char[]", _NAME_BUFSIZE)
    n = lib.OBJ_obj2txt(buf, _NAME_BUFSIZE, obj, 0)
    if n < 0:
        _raise("OBJ_obj2txt")
    if n >= _NAME_BUFSIZE:
        buf = ffi.new("char[]", n + 1)
        lib.OBJ_obj2txt(buf, n + 1, obj, 0)
    return _text(buf)


def _asn1_string(value):
    out = ffi.new("unsigned char **")
    n = lib.ASN1_STRING_to_UTF8(out, value)
    if n < 0:
        _raise("ASN1_STRING_to_UTF8")
    try:
        return ffi.buffer(out[0], n)[:].decode("utf-8")
    finally:
        lib.OPENSSL_free(out[0])


def _raise(what):
    from tls._ssl import _ssl_error_from_queue

    raise _ssl_error_from_queue(what)


def decode_name(name):
    """X509_NAME -> tuple of RDNs, each a tuple of (long name, value) pairs."""
    rdns = []
    rdn = []
    rdn_level = -1
    count = lib.X509_NAME_entry_count(name)
    for i in range(count):
        entry = lib.X509_NAME_get_entry(name, i)
        openssl_assert(entry != ffi.NULL, "X509_NAME_get_entry")
        level = lib.X509_NAME_ENTRY_set(entry)
        if level != rdn_level and rdn:
            rdns.append(tuple(rdn))
            rdn = []
        rdn_level = level
        attr = (
            _obj_name(lib.X509_NAME_ENTRY_get_object(entry)),
            _asn1_string(lib.X509_NAME_ENTRY_get_data(entry)),
        )
        rdn.append(attr)
    if rdn:
        rdns.append(tuple(rdn))
    return tuple(rdns)


def _bio_text(func, arg):
    bio = lib.BIO_new(lib.BIO_s_mem())
    openssl_assert(bio != ffi.NULL, "BIO_new")
    try:
        if func(bio, arg) < 0:
            _raise(func.__name__)
        ptr = ffi.new("char **")
        n = lib.BIO_get_mem_data(bio, ptr)
        return ffi.buffer(ptr[0], n)[:].decode("ascii", "replace")
    finally:
        lib.BIO_free(bio)


def _ip_text(octets):
    if len(octets) == 4:
        return ".".join(str(b) for b in octets)
    if len(octets) == 16:
        return ":".join(f"{octets[i] << 8 | octets[i + 1]:X}" for i in range(0, 16, 2))
    return "<invalid>"


def _alt_names(cert):
    names = lib.X509_get_ext_d2i(cert, lib.NID_subject_alt_name, ffi.NULL, ffi.NULL)
    if names == ffi.NULL:
        consume_errors()  # a malformed extension leaves errors; CPython reports no SAN then
        return None
    names = ffi.cast("GENERAL_NAMES *", names)
    try:
        stack = ffi.cast("OPENSSL_STACK *", names)
        result = []
        ptype = ffi.new("int *")
        for i in range(lib.OPENSSL_sk_num(stack)):
            gn = ffi.cast("GENERAL_NAME *", lib.OPENSSL_sk_value(stack, i))
            value = lib.GENERAL_NAME_get0_value(gn, ptype)
            kind = ptype[0]
            if kind == lib.GEN_DIRNAME:
                result.append(("DirName", decode_name(ffi.cast("X509_NAME *", value))))
            elif kind in (lib.GEN_DNS, lib.GEN_EMAIL, lib.GEN_URI):
                label = {lib.GEN_DNS: "DNS", lib.GEN_EMAIL: "email", lib.GEN_URI: "URI"}[kind]
                s = ffi.cast("ASN1_STRING *", value)
                data = ffi.buffer(lib.ASN1_STRING_get0_data(s), lib.ASN1_STRING_length(s))[:]
                result.append((label, data.decode("ascii", "backslashreplace")))
            elif kind == lib.GEN_IPADD:
                s = ffi.cast("ASN1_STRING *", value)
                data = ffi.buffer(lib.ASN1_STRING_get0_data(s), lib.ASN1_STRING_length(s))[:]
                result.append(("IP Address", _ip_text(data)))
            elif kind == lib.GEN_RID:
                result.append(("Registered ID", _obj_name(ffi.cast("ASN1_OBJECT *", value))))
            else:
                text = _bio_text(lib.GENERAL_NAME_print, gn)
                label, _, rest = text.partition(":")
                result.append((label, rest))
        return tuple(result)
    finally:
        lib.GENERAL_NAMES_free(names)


def _uri(gn, ptype):
    """The URI text of a GENERAL_NAME, or None for any other kind of name."""
    value = lib.GENERAL_NAME_get0_value(gn, ptype)
    if ptype[0] != lib.GEN_URI:
        return None
    s = ffi.cast("ASN1_STRING *", value)
    return ffi.buffer(lib.ASN1_STRING_get0_data(s), lib.ASN1_STRING_length(s))[:].decode("ascii", "replace")


def _aia_uris(cert):
    """{"OCSP": (...), "caIssuers": (...)} from authorityInfoAccess (CPython's _get_aia_uri)."""
    info = lib.X509_get_ext_d2i(cert, lib.NID_info_access, ffi.NULL, ffi.NULL)
    if info == ffi.NULL:
        consume_errors()
        return {}
    info = ffi.cast("AUTHORITY_INFO_ACCESS *", info)
    found = {"OCSP": [], "caIssuers": []}
    ptype = ffi.new("int *")
    try:
        stack = ffi.cast("OPENSSL_STACK *", info)
        for i in range(lib.OPENSSL_sk_num(stack)):
            ad = ffi.cast("ACCESS_DESCRIPTION *", lib.OPENSSL_sk_value(stack, i))
            nid = lib.OBJ_obj2nid(lib.tls_ACCESS_DESCRIPTION_method(ad))
            key = "OCSP" if nid == lib.NID_ad_OCSP else "caIssuers" if nid == lib.NID_ad_ca_issuers else None
            uri = _uri(lib.tls_ACCESS_DESCRIPTION_location(ad), ptype)
            if key is not None and uri is not None:
                found[key].append(uri)
    finally:
        lib.AUTHORITY_INFO_ACCESS_free(info)
    return {k: tuple(v) for k, v in found.items() if v}


def _crl_uris(cert):
    """URIs of crlDistributionPoints (CPython's _get_crl_dp), or None."""
    dps = lib.X509_get_ext_d2i(cert, lib.NID_crl_distribution_points, ffi.NULL, ffi.NULL)
    if dps == ffi.NULL:
        consume_errors()
        return None
    dps = ffi.cast("CRL_DIST_POINTS *", dps)
    uris = []
    ptype = ffi.new("int *")
    try:
        stack = ffi.cast("OPENSSL_STACK *", dps)
        for i in range(lib.OPENSSL_sk_num(stack)):
            names = lib.tls_DIST_POINT_fullname(ffi.cast("DIST_POINT *", lib.OPENSSL_sk_value(stack, i)))
            if names == ffi.NULL:
                continue
            gns = ffi.cast("OPENSSL_STACK *", names)
            for j in range(lib.OPENSSL_sk_num(gns)):
                uri = _uri(ffi.cast("GENERAL_NAME *", lib.OPENSSL_sk_value(gns, j)), ptype)
                if uri is not None:
                    uris.append(uri)
    finally:
        lib.CRL_DIST_POINTS_free(dps)
    return tuple(uris) if uris else None


def decode_certificate(cert):
    """X509 -> the dict CPython's ``_ssl._test_decode_cert`` / ``getpeercert()`` returns."""
    result = {
        "subject": decode_name(lib.X509_get_subject_name(cert)),
        "issuer": decode_name(lib.X509_get_issuer_name(cert)),
        "version": lib.X509_get_version(cert) + 1,
        "serialNumber": _bio_text(lib.i2a_ASN1_INTEGER, lib.X509_get_serialNumber(cert)),
        "notBefore": _bio_text(lib.ASN1_TIME_print, lib.X509_get0_notBefore(cert)),
        "notAfter": _bio_text(lib.ASN1_TIME_print, lib.X509_get0_notAfter(cert)),
    }
    alt = _alt_names(cert)
    if alt is not None:
        result["subjectAltName"] = alt
    result.update(_aia_uris(cert))
    crl = _crl_uris(cert)
    if crl is not None:
        result["crlDistributionPoints"] = crl
    return result


def certificate_der(cert):
    """X509 -> DER bytes."""
    n = lib.i2d_X509(cert, ffi.NULL)
    if n < 0:
        _raise("i2d_X509")
    buf = ffi.new("unsigned char[]", n)
    p = ffi.new("unsigned char **", buf)
    lib.i2d_X509(cert, p)
    return ffi.buffer(buf, n)[:]
