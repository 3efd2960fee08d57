"""<openssl/bio.h>: memory BIOs (the transport of MemoryBIO and SSLObject)."""

INCLUDES = """
#include <openssl/bio.h>
"""

TYPES = """
typedef ... BIO;
typedef ... BIO_METHOD;
"""

FUNCTIONS = """
const BIO_METHOD *BIO_s_mem(void);
BIO *BIO_new(const BIO_METHOD *);
BIO *BIO_new_mem_buf(const void *, int);
int BIO_free(BIO *);
int BIO_up_ref(BIO *);
int BIO_read(BIO *, void *, int);
int BIO_write(BIO *, const void *, int);
size_t BIO_ctrl_pending(BIO *);
long BIO_set_mem_eof_return(BIO *, long);
long BIO_get_mem_data(BIO *, char **);
int BIO_should_retry(BIO *);
BIO *BIO_new_file(const char *, const char *);
int BIO_puts(BIO *, const char *);
int BIO_flush(BIO *);
int BIO_tell(BIO *);
"""

CUSTOMIZATIONS = ""
