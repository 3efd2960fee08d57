"""<openssl/x509.h>, <openssl/x509v3.h>, <openssl/x509_vfy.h>, <openssl/asn1.h>,
<openssl/objects.h>: certificates, names, stores and verification parameters."""

INCLUDES = """
#include <openssl/asn1.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
"""

TYPES = """
typedef ... X509;
typedef ... X509_NAME;
typedef ... X509_NAME_ENTRY;
typedef ... X509_STORE;
typedef ... X509_STORE_CTX;
typedef ... X509_OBJECT;
typedef ... X509_VERIFY_PARAM;
typedef ... X509_LOOKUP;
typedef ... X509_LOOKUP_METHOD;
typedef ... ASN1_OBJECT;
typedef ... ASN1_STRING;
typedef ... ASN1_INTEGER;
typedef ... ASN1_TIME;
typedef ... ASN1_OCTET_STRING;
typedef ... ASN1_IA5STRING;
typedef ... GENERAL_NAME;
typedef ... GENERAL_NAMES;
typedef ... OPENSSL_STACK;
typedef ... ACCESS_DESCRIPTION;
typedef ... AUTHORITY_INFO_ACCESS;
typedef ... DIST_POINT;
typedef ... CRL_DIST_POINTS;

typedef enum { X509_LU_NONE, X509_LU_X509, X509_LU_CRL, ... } X509_LOOKUP_TYPE;

static const int NID_undef;
static const int NID_subject_alt_name;
static const int NID_info_access;
static const int NID_crl_distribution_points;
static const int NID_ad_OCSP;
static const int NID_ad_ca_issuers;
static const int GEN_OTHERNAME;
static const int GEN_EMAIL;
static const int GEN_DNS;
static const int GEN_X400;
static const int GEN_DIRNAME;
static const int GEN_EDIPARTY;
static const int GEN_URI;
static const int GEN_IPADD;
static const int GEN_RID;

static const int X509_V_OK;
static const int X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY;
static const int X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT;
static const int X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN;
static const int X509_V_ERR_CERT_HAS_EXPIRED;
static const int X509_V_ERR_CERT_NOT_YET_VALID;
static const int X509_V_ERR_HOSTNAME_MISMATCH;
static const int X509_V_ERR_IP_ADDRESS_MISMATCH;
static const int X509_V_ERR_EMAIL_MISMATCH;

static const long X509_V_FLAG_CRL_CHECK;
static const long X509_V_FLAG_CRL_CHECK_ALL;
static const long X509_V_FLAG_X509_STRICT;
static const long X509_V_FLAG_ALLOW_PROXY_CERTS;
static const long X509_V_FLAG_TRUSTED_FIRST;
static const long X509_V_FLAG_PARTIAL_CHAIN;

static const unsigned int X509_CHECK_FLAG_ALWAYS_CHECK_SUBJECT;
static const unsigned int X509_CHECK_FLAG_NEVER_CHECK_SUBJECT;
static const unsigned int X509_CHECK_FLAG_NO_WILDCARDS;
static const unsigned int X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS;
static const unsigned int X509_CHECK_FLAG_MULTI_LABEL_WILDCARDS;
static const unsigned int X509_CHECK_FLAG_SINGLE_LABEL_SUBDOMAINS;

static const int V_ASN1_UTF8STRING;
static const int X509_R_CERT_ALREADY_IN_HASH_TABLE;
static const int ASN1_R_HEADER_TOO_LONG;
static const int V_ASN1_GENERALIZEDTIME;

/* chain verification (tls.x509) */
typedef ... X509_CRL;
typedef int... time_t;
static const long X509_V_FLAG_POLICY_CHECK;
static const long X509_V_FLAG_EXPLICIT_POLICY;
static const long X509_V_FLAG_INHIBIT_ANY;
static const long X509_V_FLAG_INHIBIT_MAP;
static const long X509_V_FLAG_EXTENDED_CRL_SUPPORT;
static const long X509_V_FLAG_USE_DELTAS;
static const int X509_V_ERR_UNSPECIFIED;
"""

FUNCTIONS = """
/* certificates */
X509 *X509_new(void);
void X509_free(X509 *);
int X509_up_ref(X509 *);
X509 *d2i_X509_bio(BIO *, X509 **);
int i2d_X509(X509 *, unsigned char **);
X509 *d2i_X509(X509 **, const unsigned char **, long);
long X509_get_version(const X509 *);
X509_NAME *X509_get_subject_name(const X509 *);
X509_NAME *X509_get_issuer_name(const X509 *);
ASN1_INTEGER *X509_get_serialNumber(X509 *);
const ASN1_TIME *X509_get0_notBefore(const X509 *);
const ASN1_TIME *X509_get0_notAfter(const X509 *);
void *X509_get_ext_d2i(const X509 *, int, int *, int *);
int X509_check_ca(X509 *);
const char *X509_verify_cert_error_string(long);

/* names */
int X509_NAME_entry_count(const X509_NAME *);
X509_NAME_ENTRY *X509_NAME_get_entry(const X509_NAME *, int);
ASN1_OBJECT *X509_NAME_ENTRY_get_object(const X509_NAME_ENTRY *);
ASN1_STRING *X509_NAME_ENTRY_get_data(const X509_NAME_ENTRY *);
int X509_NAME_ENTRY_set(const X509_NAME_ENTRY *);

/* ASN.1 */
ASN1_OBJECT *OBJ_txt2obj(const char *, int);
ASN1_OBJECT *OBJ_nid2obj(int);
void ASN1_OBJECT_free(ASN1_OBJECT *);
ASN1_OCTET_STRING *a2i_IPADDRESS(const char *);
void ASN1_OCTET_STRING_free(ASN1_OCTET_STRING *);
int OBJ_obj2txt(char *, int, const ASN1_OBJECT *, int);
int OBJ_obj2nid(const ASN1_OBJECT *);
int OBJ_sn2nid(const char *);
const char *OBJ_nid2ln(int);
const char *OBJ_nid2sn(int);
int ASN1_STRING_to_UTF8(unsigned char **, const ASN1_STRING *);
int ASN1_STRING_length(const ASN1_STRING *);
const unsigned char *ASN1_STRING_get0_data(const ASN1_STRING *);
int ASN1_STRING_type(const ASN1_STRING *);
int i2a_ASN1_INTEGER(BIO *, const ASN1_INTEGER *);
int ASN1_TIME_print(BIO *, const ASN1_TIME *);

/* subjectAltName */
void GENERAL_NAMES_free(GENERAL_NAMES *);
void *GENERAL_NAME_get0_value(const GENERAL_NAME *, int *);
int GENERAL_NAME_print(BIO *, GENERAL_NAME *);

/* authorityInfoAccess and crlDistributionPoints (struct fields through helpers) */
void AUTHORITY_INFO_ACCESS_free(AUTHORITY_INFO_ACCESS *);
void CRL_DIST_POINTS_free(CRL_DIST_POINTS *);
ASN1_OBJECT *tls_ACCESS_DESCRIPTION_method(ACCESS_DESCRIPTION *);
GENERAL_NAME *tls_ACCESS_DESCRIPTION_location(ACCESS_DESCRIPTION *);
GENERAL_NAMES *tls_DIST_POINT_fullname(DIST_POINT *);

/* generic stacks */
int OPENSSL_sk_num(const OPENSSL_STACK *);
void *OPENSSL_sk_value(const OPENSSL_STACK *, int);

/* stores */
int X509_STORE_add_cert(X509_STORE *, X509 *);
int X509_STORE_load_locations(X509_STORE *, const char *, const char *);
OPENSSL_STACK *tls_X509_STORE_get0_objects(X509_STORE *);
X509_LOOKUP_TYPE X509_OBJECT_get_type(const X509_OBJECT *);
X509 *X509_OBJECT_get0_X509(const X509_OBJECT *);
X509_VERIFY_PARAM *X509_STORE_get0_param(X509_STORE *);
int X509_STORE_lock(X509_STORE *);
int X509_STORE_unlock(X509_STORE *);

/* verification parameters */
int X509_VERIFY_PARAM_set_flags(X509_VERIFY_PARAM *, unsigned long);
int X509_VERIFY_PARAM_clear_flags(X509_VERIFY_PARAM *, unsigned long);
unsigned long X509_VERIFY_PARAM_get_flags(const X509_VERIFY_PARAM *);
void X509_VERIFY_PARAM_set_hostflags(X509_VERIFY_PARAM *, unsigned int);
unsigned int X509_VERIFY_PARAM_get_hostflags(const X509_VERIFY_PARAM *);
int X509_VERIFY_PARAM_set1_host(X509_VERIFY_PARAM *, const char *, size_t);
int X509_VERIFY_PARAM_set1_ip(X509_VERIFY_PARAM *, const unsigned char *, size_t);

/* default verify paths */
const char *X509_get_default_cert_file(void);
const char *X509_get_default_cert_file_env(void);
const char *X509_get_default_cert_dir(void);
const char *X509_get_default_cert_dir_env(void);

/* chain verification (tls.x509): a per-call store and context, as libssl's
   ssl_verify_cert_chain sets them up (X509_STORE_CTX_set_default "ssl_server" or
   "ssl_client" picks the purpose and trust); the STACK_OF(X509) arguments and results
   through the untyped tls_ accessors below. */
X509_STORE *X509_STORE_new(void);
void X509_STORE_free(X509_STORE *);
X509_STORE_CTX *X509_STORE_CTX_new(void);
void X509_STORE_CTX_free(X509_STORE_CTX *);
int X509_STORE_CTX_set_default(X509_STORE_CTX *, const char *);
X509_VERIFY_PARAM *X509_STORE_CTX_get0_param(X509_STORE_CTX *);
int X509_STORE_CTX_get_error(const X509_STORE_CTX *);
int X509_verify_cert(X509_STORE_CTX *);
void X509_VERIFY_PARAM_set_time(X509_VERIFY_PARAM *, time_t);
int X509_VERIFY_PARAM_set1_ip_asc(X509_VERIFY_PARAM *, const char *);
int X509_VERIFY_PARAM_add0_policy(X509_VERIFY_PARAM *, ASN1_OBJECT *);
X509_CRL *d2i_X509_CRL(X509_CRL **, const unsigned char **, long);
void X509_CRL_free(X509_CRL *);
OPENSSL_STACK *OPENSSL_sk_new_null(void);
int OPENSSL_sk_push(OPENSSL_STACK *, const void *);
void OPENSSL_sk_free(OPENSSL_STACK *);
int tls_X509_STORE_CTX_init(X509_STORE_CTX *, X509_STORE *, X509 *, OPENSSL_STACK *);
OPENSSL_STACK *tls_X509_STORE_CTX_get0_chain(X509_STORE_CTX *);
/* X509_STORE_CTX_set0_crls: the context borrows the stack (the caller frees it after the
   context); CRLs handed in this way are searched whatever their issuer, so indirect CRLs
   are found, where a store looks CRLs up by the certificate issuer's name only. */
void tls_X509_STORE_CTX_set0_crls(X509_STORE_CTX *, OPENSSL_STACK *);

/* ---- certificates and keys from memory (issue 7: cadata, certdata, keydata) */
int X509_check_private_key(const X509 *, const EVP_PKEY *);
EVP_PKEY *d2i_PrivateKey_bio(BIO *, EVP_PKEY **);
/* tls_X509_STORE_add_certs: what CPython's _add_ca_certs does, in one crossing: every
   certificate of ``data`` (PEM text when pem != 0, else concatenated DER) into the
   store; the count loaded (duplicates included).  The loop ends at the end of the data
   or at the first failure, whose errors stay on the queue for the caller to judge (PEM's
   NO_START_LINE after the last block, ...).  *add_failed is set when X509_STORE_add_cert
   failed for another reason than a duplicate (its errors on the queue).  Canonical
   blocks (64-column base64 between the CERTIFICATE lines) are decoded directly; any
   other block, and any block that fails, goes through PEM_read_bio_X509 /
   d2i_X509_bio from the same position, so errors are exactly OpenSSL's. */
int tls_X509_STORE_add_certs(X509_STORE *, const char *, int, int, int *);
"""

CUSTOMIZATIONS = """
static ASN1_OBJECT *tls_ACCESS_DESCRIPTION_method(ACCESS_DESCRIPTION *ad)
{
    return ad->method;
}

static GENERAL_NAME *tls_ACCESS_DESCRIPTION_location(ACCESS_DESCRIPTION *ad)
{
    return ad->location;
}

/* The full-name form of a distribution point, NULL for an empty point (CVE-2019-5010)
   or a relative name. */
static GENERAL_NAMES *tls_DIST_POINT_fullname(DIST_POINT *dp)
{
    if (dp->distpoint == NULL || dp->distpoint->type != 0)
        return NULL;
    return dp->distpoint->name.fullname;
}

/* X509_STORE_get0_objects returns STACK_OF(X509_OBJECT); OpenSSL 3.3 made it
   const-qualified, hence one untyped accessor for every version. */
static OPENSSL_STACK *tls_X509_STORE_get0_objects(X509_STORE *store)
{
    return (OPENSSL_STACK *)X509_STORE_get0_objects(store);
}

/* chain verification (tls.x509): STACK_OF(X509) in and out as an untyped stack. */
static int tls_X509_STORE_CTX_init(X509_STORE_CTX *ctx, X509_STORE *store, X509 *leaf,
                                   OPENSSL_STACK *untrusted)
{
    return X509_STORE_CTX_init(ctx, store, leaf, (STACK_OF(X509) *)untrusted);
}

static OPENSSL_STACK *tls_X509_STORE_CTX_get0_chain(X509_STORE_CTX *ctx)
{
    return (OPENSSL_STACK *)X509_STORE_CTX_get0_chain(ctx);
}

static void tls_X509_STORE_CTX_set0_crls(X509_STORE_CTX *ctx, OPENSSL_STACK *crls)
{
    X509_STORE_CTX_set0_crls(ctx, (STACK_OF(X509_CRL) *)crls);
}

/* ---- certificates and keys from memory (issue 7): tls_X509_STORE_add_certs */
static const char tls_pem_cert_begin[] = "-----BEGIN CERTIFICATE-----";
static const char tls_pem_cert_end[] = "-----END CERTIFICATE-----";

/* The certificate of the canonical PEM block at *pos (header line, base64 lines of 64
   columns but the last, footer line ending in a newline), *pos moved past it; NULL (and
   *pos unchanged, the queue as it was) for anything else. */
static X509 *tls_pem_fast_cert(const char **pos, const char *end)
{
    const size_t blen = sizeof(tls_pem_cert_begin) - 1, elen = sizeof(tls_pem_cert_end) - 1;
    const char *p = *pos, *line;
    unsigned char small_b64[6144], small_der[4608];
    unsigned char *b64 = small_b64, *der = small_der;
    size_t n64 = 0, cap = sizeof(small_b64);
    int last_short = 0, pad = 0, dlen;
    const unsigned char *dp;
    X509 *x = NULL;

    if ((size_t)(end - p) < blen || memcmp(p, tls_pem_cert_begin, blen) != 0)
        return NULL;
    p += blen;
    if (p < end && *p == '\\r')
        p++;
    if (p >= end || *p != '\\n')
        return NULL;
    p++;
    for (;;) {  /* the base64 lines, up to the footer */
        size_t len;
        line = p;
        p = memchr(p, '\\n', (size_t)(end - p));
        if (p == NULL)
            goto out;  /* no newline: not canonical */
        len = (size_t)(p - line);
        if (len > 0 && line[len - 1] == '\\r')
            len--;
        p++;
        if (len == elen && memcmp(line, tls_pem_cert_end, elen) == 0)
            break;
        if (len == 0 || len > 64 || last_short)
            goto out;
        if (len < 64)
            last_short = 1;
        if (n64 + len > cap) {
            unsigned char *bigger;
            cap = cap * 2 + len;
            bigger = OPENSSL_malloc(cap);
            if (bigger == NULL)
                goto out;
            memcpy(bigger, b64, n64);
            if (b64 != small_b64)
                OPENSSL_free(b64);
            b64 = bigger;
        }
        /* EVP_DecodeBlock refuses any character outside base64 but takes '=' as 'A':
           padding only at the end of the last line */
        {
            const char *eq = memchr(line, '=', len);
            if (eq != NULL) {
                size_t at = (size_t)(eq - line);  /* < len; no pointer before line */
                if (at + 2 < len || (at + 2 == len && line[len - 1] != '='))
                    goto out;
                last_short = 1;  /* the footer must follow */
            }
        }
        memcpy(b64 + n64, line, len);
        n64 += len;
    }
    if (n64 == 0 || n64 % 4 != 0 || n64 > INT_MAX)
        goto out;
    if (b64[n64 - 1] == '=')
        pad = b64[n64 - 2] == '=' ? 2 : 1;
    if (n64 / 4 * 3 > sizeof(small_der)) {
        der = OPENSSL_malloc(n64 / 4 * 3);
        if (der == NULL)
            goto out;
    }
    dlen = EVP_DecodeBlock(der, b64, (int)n64);
    if (dlen < 0 || dlen - pad <= 0)
        goto out;
    dlen -= pad;
    ERR_set_mark();
    dp = der;
    x = d2i_X509(NULL, &dp, dlen);
    if (x != NULL && dp != der + dlen) {
        X509_free(x);
        x = NULL;
    }
    ERR_pop_to_mark();
    if (x != NULL)
        *pos = p;
out:
    if (b64 != small_b64)
        OPENSSL_free(b64);
    if (der != small_der)
        OPENSSL_free(der);
    return x;
}

/* The length of the DER element at p (tag 0x30, definite length), 0 when it is not one
   or does not fit in n bytes. */
static size_t tls_der_sequence_length(const unsigned char *p, size_t n)
{
    size_t len, head = 2;
    if (n < 2 || p[0] != 0x30)
        return 0;
    len = p[1];
    if (len & 0x80) {
        size_t k = len & 0x7f, i;
        if (k == 0 || k > 3 || n < 2 + k)
            return 0;
        len = 0;
        for (i = 0; i < k; i++)
            len = (len << 8) | p[2 + i];
        head += k;
    }
    return head + len <= n ? head + len : 0;
}

/* One certificate at *pos through OpenSSL's own readers (a memory BIO over the rest),
   *pos moved past what they consumed; NULL with the reason on the queue. */
static X509 *tls_read_cert_bio(const char **pos, const char *end, int pem)
{
    BIO *bio = BIO_new_mem_buf(*pos, (int)(end - *pos));
    X509 *x;
    char *rest;
    long left;
    if (bio == NULL)
        return NULL;
    if (pem)
        x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    else
        x = BIO_ctrl_pending(bio) > 0 ? d2i_X509_bio(bio, NULL) : NULL;
    left = BIO_get_mem_data(bio, &rest);
    *pos = left > 0 ? rest : end;
    BIO_free(bio);
    return x;
}

static int tls_X509_STORE_add_certs(X509_STORE *store, const char *data, int len, int pem,
                                    int *add_failed)
{
    const char *pos = data, *end = data + len;
    int loaded = 0;
    *add_failed = 0;
    while (pos < end) {
        X509 *x = NULL;
        if (pem) {
            /* the next line starting with '-'; the lines before it are skipped, as
               PEM_read_bio does (which reads 254 columns at a time: longer lines are
               left to it) */
            const char *q = pos;
            size_t column = 0;
            while (q < end && !(column == 0 && *q == '-') && column < 254) {
                column = *q == '\\n' ? 0 : column + 1;
                q++;
            }
            if (q >= end)
                break;  /* no block left: the end, as for PEM's NO_START_LINE */
            if (column == 0)
                x = tls_pem_fast_cert(&q, end);
            if (x != NULL)
                pos = q;
        } else {
            size_t n = tls_der_sequence_length((const unsigned char *)pos, (size_t)(end - pos));
            if (n > 0) {
                const unsigned char *dp = (const unsigned char *)pos;
                ERR_set_mark();
                x = d2i_X509(NULL, &dp, (long)n);
                if (x != NULL && dp != (const unsigned char *)pos + n) {
                    X509_free(x);
                    x = NULL;
                }
                ERR_pop_to_mark();
                if (x != NULL)
                    pos += n;
            }
        }
        if (x == NULL) {
            x = tls_read_cert_bio(&pos, end, pem);
            if (x == NULL)
                break;
        }
        ERR_set_mark();
        if (X509_STORE_add_cert(store, x)) {
            ERR_pop_to_mark();  /* a success may leave notes (X509V3 caching a duplicate's extensions) */
        } else {
            unsigned long e = ERR_peek_last_error();
            if (ERR_GET_LIB(e) == ERR_LIB_X509 && ERR_GET_REASON(e) == X509_R_CERT_ALREADY_IN_HASH_TABLE) {
                ERR_pop_to_mark();
            } else {
                ERR_clear_last_mark();
                X509_free(x);
                *add_failed = 1;
                return loaded;
            }
        }
        X509_free(x);
        loaded++;
    }
    return loaded;
}
"""
