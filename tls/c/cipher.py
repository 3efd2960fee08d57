"""<openssl/evp.h>, cipher half: EVP_CIPHER and EVP_CIPHER_CTX."""

INCLUDES = """
#include <openssl/evp.h>
"""

TYPES = """
typedef ... EVP_CIPHER;
typedef ... EVP_CIPHER_CTX;
static const int EVP_MAX_KEY_LENGTH;
static const int EVP_MAX_IV_LENGTH;
static const int EVP_MAX_BLOCK_LENGTH;
static const int EVP_CTRL_AEAD_SET_IVLEN;
static const int EVP_CTRL_AEAD_GET_TAG;
static const int EVP_CTRL_AEAD_SET_TAG;
static const unsigned long EVP_CIPH_FLAG_AEAD_CIPHER;
static const int EVP_CIPH_CCM_MODE;
static const int EVP_CIPH_GCM_MODE;
static const int EVP_CIPH_OCB_MODE;
static const int EVP_CIPH_SIV_MODE;
"""

FUNCTIONS = """
EVP_CIPHER *EVP_CIPHER_fetch(OSSL_LIB_CTX *, const char *, const char *);
void EVP_CIPHER_free(EVP_CIPHER *);
const char *EVP_CIPHER_get0_name(const EVP_CIPHER *);
int EVP_CIPHER_get_key_length(const EVP_CIPHER *);
int EVP_CIPHER_get_iv_length(const EVP_CIPHER *);
int EVP_CIPHER_get_block_size(const EVP_CIPHER *);
int EVP_CIPHER_get_mode(const EVP_CIPHER *);
unsigned long EVP_CIPHER_get_flags(const EVP_CIPHER *);
const OSSL_PARAM *EVP_CIPHER_settable_ctx_params(const EVP_CIPHER *);

EVP_CIPHER_CTX *EVP_CIPHER_CTX_new(void);
void EVP_CIPHER_CTX_free(EVP_CIPHER_CTX *);
int EVP_CIPHER_CTX_reset(EVP_CIPHER_CTX *);
int EVP_CIPHER_CTX_copy(EVP_CIPHER_CTX *, const EVP_CIPHER_CTX *);
int EVP_CIPHER_CTX_ctrl(EVP_CIPHER_CTX *, int, int, void *);
int EVP_CIPHER_CTX_set_padding(EVP_CIPHER_CTX *, int);
int EVP_CIPHER_CTX_set_key_length(EVP_CIPHER_CTX *, int);
int EVP_CIPHER_CTX_set_params(EVP_CIPHER_CTX *, const OSSL_PARAM *);
int EVP_CIPHER_CTX_get_params(EVP_CIPHER_CTX *, OSSL_PARAM *);

int EVP_CipherInit_ex2(EVP_CIPHER_CTX *, const EVP_CIPHER *, const unsigned char *,
                       const unsigned char *, int, const OSSL_PARAM *);
int EVP_CipherUpdate(EVP_CIPHER_CTX *, unsigned char *, int *, const unsigned char *, int);
int EVP_CipherFinal_ex(EVP_CIPHER_CTX *, unsigned char *, int *);
"""

CUSTOMIZATIONS = ""
