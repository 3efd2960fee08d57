"""<openssl/crypto.h>, <openssl/opensslv.h>: versions, memory, constant-time compare."""

INCLUDES = """
#include <openssl/crypto.h>
#include <openssl/opensslv.h>
"""

TYPES = """
typedef ... OSSL_LIB_CTX;
static const long OPENSSL_VERSION_NUMBER;
static const char *const OPENSSL_VERSION_TEXT;
static const int OPENSSL_VERSION;
static const int OPENSSL_CFLAGS;
static const int OPENSSL_BUILT_ON;
static const int OPENSSL_PLATFORM;
static const int OPENSSL_DIR;
static const int OPENSSL_MODULES_DIR;
static const int OPENSSL_CPU_INFO;
"""

FUNCTIONS = """
unsigned long OpenSSL_version_num(void);
const char *OpenSSL_version(int);
int CRYPTO_memcmp(const void *, const void *, size_t);
void OPENSSL_cleanse(void *, size_t);
void OPENSSL_free(void *);
"""

CUSTOMIZATIONS = """
#ifndef OPENSSL_CPU_INFO
/* OpenSSL_version(OPENSSL_CPU_INFO) exists from 3.4 on. */
#define OPENSSL_CPU_INFO 1001
#endif
"""
