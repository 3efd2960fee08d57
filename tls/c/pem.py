"""<openssl/pem.h>: PEM encoding of certificates and keys, with a password callback
that never prompts on a terminal."""

INCLUDES = """
#include <openssl/pem.h>
"""

TYPES = """
typedef ... EVP_PKEY;
typedef int pem_password_cb(char *, int, int, void *);

/* Password source for tls_pem_password_cb: ``password`` (NULL when none is
   known yet) and its length; ``called`` is set when OpenSSL asked for one. */
typedef struct {
    const char *password;
    int length;
    int called;
} tls_pem_password;

static const int PEM_BUFSIZE;
static const char *const PEM_STRING_DHPARAMS;
static const int PEM_R_NO_START_LINE;
static const int PEM_R_BAD_DECRYPT;
static const int PEM_R_BAD_PASSWORD_READ;
"""

FUNCTIONS = """
X509 *PEM_read_bio_X509(BIO *, X509 **, pem_password_cb *, void *);
X509 *PEM_read_bio_X509_AUX(BIO *, X509 **, pem_password_cb *, void *);
X509_CRL *PEM_read_bio_X509_CRL(BIO *, X509_CRL **, pem_password_cb *, void *);  /* tls.x509 */
int PEM_write_bio_X509(BIO *, X509 *);
EVP_PKEY *PEM_read_bio_Parameters(BIO *, EVP_PKEY **);
int PEM_bytes_read_bio(unsigned char **, long *, char **, const char *, BIO *, pem_password_cb *, void *);
int EVP_PKEY_is_a(const EVP_PKEY *, const char *);
/* certificates and keys from memory (issue 7: load_cert_chain(certdata=, keydata=)) */
EVP_PKEY *PEM_read_bio_PrivateKey(BIO *, EVP_PKEY **, pem_password_cb *, void *);
EVP_PKEY *d2i_PKCS8PrivateKey_bio(BIO *, EVP_PKEY **, pem_password_cb *, void *);
void EVP_PKEY_free(EVP_PKEY *);

/* Fills ``buf`` from a tls_pem_password; answers -1 (no password) when it holds none. */
int tls_pem_password_cb(char *, int, int, void *);
"""

CUSTOMIZATIONS = """
typedef struct {
    const char *password;
    int length;
    int called;
} tls_pem_password;

static int tls_pem_password_cb(char *buf, int size, int rwflag, void *userdata)
{
    tls_pem_password *pw = (tls_pem_password *)userdata;
    (void)rwflag;
    if (pw == NULL)
        return -1;
    pw->called = 1;
    if (pw->password == NULL || pw->length > size)
        return -1;
    memcpy(buf, pw->password, (size_t)pw->length);
    return pw->length;
}
"""
