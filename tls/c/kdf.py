"""<openssl/kdf.h>: EVP_KDF (PBKDF2, scrypt, HKDF, ...)."""

INCLUDES = """
#include <openssl/kdf.h>
"""

TYPES = """
typedef ... EVP_KDF;
typedef ... EVP_KDF_CTX;
static const int EVP_KDF_HKDF_MODE_EXTRACT_AND_EXPAND;
static const int EVP_KDF_HKDF_MODE_EXTRACT_ONLY;
static const int EVP_KDF_HKDF_MODE_EXPAND_ONLY;
"""

FUNCTIONS = """
EVP_KDF *EVP_KDF_fetch(OSSL_LIB_CTX *, const char *, const char *);
void EVP_KDF_free(EVP_KDF *);
const OSSL_PARAM *EVP_KDF_settable_ctx_params(const EVP_KDF *);
EVP_KDF_CTX *EVP_KDF_CTX_new(EVP_KDF *);
void EVP_KDF_CTX_free(EVP_KDF_CTX *);
int EVP_KDF_derive(EVP_KDF_CTX *, unsigned char *, size_t, const OSSL_PARAM *);

/* tls.kdf (hmac branch): set parameters apart from deriving, so a rejected
   parameter and a failed derivation give different errors. */
int EVP_KDF_CTX_set_params(EVP_KDF_CTX *, const OSSL_PARAM *);
"""

CUSTOMIZATIONS = ""
