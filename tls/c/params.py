"""<openssl/params.h>: OSSL_PARAM arrays, how OpenSSL 3 passes algorithm parameters."""

INCLUDES = """
#include <openssl/params.h>
#include <openssl/core.h>
"""

TYPES = """
typedef struct ossl_param_st {
    const char *key;
    unsigned int data_type;
    void *data;
    size_t data_size;
    size_t return_size;
} OSSL_PARAM;
static const unsigned int OSSL_PARAM_INTEGER;
static const unsigned int OSSL_PARAM_UNSIGNED_INTEGER;
static const unsigned int OSSL_PARAM_UTF8_STRING;
static const unsigned int OSSL_PARAM_OCTET_STRING;
"""

FUNCTIONS = """
const OSSL_PARAM *OSSL_PARAM_locate_const(const OSSL_PARAM *, const char *);
OSSL_PARAM OSSL_PARAM_construct_int(const char *, int *);
OSSL_PARAM OSSL_PARAM_construct_uint(const char *, unsigned int *);
OSSL_PARAM OSSL_PARAM_construct_uint32(const char *, uint32_t *);
OSSL_PARAM OSSL_PARAM_construct_uint64(const char *, uint64_t *);
OSSL_PARAM OSSL_PARAM_construct_size_t(const char *, size_t *);
OSSL_PARAM OSSL_PARAM_construct_utf8_string(const char *, char *, size_t);
OSSL_PARAM OSSL_PARAM_construct_octet_string(const char *, void *, size_t);
OSSL_PARAM OSSL_PARAM_construct_end(void);
"""

CUSTOMIZATIONS = ""
