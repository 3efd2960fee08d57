"""<openssl/ocsp.h>: OCSP responses (only parsed, to check what a server staples)."""

INCLUDES = """
#include <openssl/opensslconf.h>
#ifndef OPENSSL_NO_OCSP
#include <openssl/ocsp.h>
#endif
"""

TYPES = """
typedef ... OCSP_RESPONSE;

/* 0 when OpenSSL was built without OCSP (no-ocsp): no stapling either. */
static const int TLS_HAS_OCSP;
"""

FUNCTIONS = """
OCSP_RESPONSE *d2i_OCSP_RESPONSE(OCSP_RESPONSE **, const unsigned char **, long);
void OCSP_RESPONSE_free(OCSP_RESPONSE *);
"""

CUSTOMIZATIONS = """
#ifdef OPENSSL_NO_OCSP
static const int TLS_HAS_OCSP = 0;
typedef struct tls_no_ocsp_response OCSP_RESPONSE;
static OCSP_RESPONSE *d2i_OCSP_RESPONSE(OCSP_RESPONSE **a, const unsigned char **p, long n)
{
    (void)a; (void)p; (void)n;
    return NULL;
}
static void OCSP_RESPONSE_free(OCSP_RESPONSE *r) { (void)r; }
#else
static const int TLS_HAS_OCSP = 1;
#endif
"""
