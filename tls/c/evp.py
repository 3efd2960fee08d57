"""<openssl/evp.h>, digest and MAC half: EVP_MD, EVP_MD_CTX, EVP_MAC, EVP_MAC_CTX.

The ``tls_*`` helpers fold a multi-call operation into one crossing: on
CPython the number of cffi calls decides small-message speed.
"""

INCLUDES = """
#include <openssl/evp.h>
#include <string.h>
"""

TYPES = """
typedef ... EVP_MD;
typedef ... EVP_MD_CTX;
typedef ... EVP_MAC;
typedef ... EVP_MAC_CTX;
static const unsigned long EVP_MD_FLAG_XOF;
static const int EVP_MAX_MD_SIZE;

static const int TLS_LIST_DIGESTS;
static const int TLS_LIST_CIPHERS;
static const int TLS_LIST_MACS;
static const int TLS_LIST_KDFS;
"""

FUNCTIONS = """
EVP_MD *EVP_MD_fetch(OSSL_LIB_CTX *, const char *, const char *);
void EVP_MD_free(EVP_MD *);
const char *EVP_MD_get0_name(const EVP_MD *);
int EVP_MD_get_size(const EVP_MD *);
int EVP_MD_get_block_size(const EVP_MD *);
unsigned long EVP_MD_get_flags(const EVP_MD *);
const OSSL_PARAM *EVP_MD_settable_ctx_params(const EVP_MD *);

EVP_MD_CTX *EVP_MD_CTX_new(void);
void EVP_MD_CTX_free(EVP_MD_CTX *);
int EVP_MD_CTX_copy_ex(EVP_MD_CTX *, const EVP_MD_CTX *);
int EVP_MD_CTX_set_params(EVP_MD_CTX *, const OSSL_PARAM *);
int EVP_DigestInit_ex2(EVP_MD_CTX *, const EVP_MD *, const OSSL_PARAM *);
int EVP_DigestUpdate(EVP_MD_CTX *, const void *, size_t);
int EVP_DigestFinal_ex(EVP_MD_CTX *, unsigned char *, unsigned int *);
int EVP_DigestFinalXOF(EVP_MD_CTX *, unsigned char *, size_t);

EVP_MAC *EVP_MAC_fetch(OSSL_LIB_CTX *, const char *, const char *);
void EVP_MAC_free(EVP_MAC *);
const OSSL_PARAM *EVP_MAC_settable_ctx_params(const EVP_MAC *);
EVP_MAC_CTX *EVP_MAC_CTX_new(EVP_MAC *);
void EVP_MAC_CTX_free(EVP_MAC_CTX *);
EVP_MAC_CTX *EVP_MAC_CTX_dup(const EVP_MAC_CTX *);
int EVP_MAC_CTX_set_params(EVP_MAC_CTX *, const OSSL_PARAM *);
size_t EVP_MAC_CTX_get_mac_size(EVP_MAC_CTX *);
size_t EVP_MAC_CTX_get_block_size(EVP_MAC_CTX *);
int EVP_MAC_init(EVP_MAC_CTX *, const unsigned char *, size_t, const OSSL_PARAM *);
int EVP_MAC_update(EVP_MAC_CTX *, const unsigned char *, size_t);
int EVP_MAC_final(EVP_MAC_CTX *, unsigned char *, size_t *, size_t);

int tls_digest_oneshot(const EVP_MD *, const void *, size_t, unsigned char *, size_t, int);
int tls_digest_final_copy(const EVP_MD_CTX *, unsigned char *, size_t, int);
int tls_mac_final_copy(const EVP_MAC_CTX *, unsigned char *, size_t);
size_t tls_list_names(int, char *, size_t);

/* --- added for tls.hashes ---
   EVP_MD_get_type: the NID tells real digests from NID-less ones (KECCAK-KMAC,
   NULL), which hashlib leaves out of algorithms_available.
   tls_digest_oneshot_ctx: one-shot digest in a caller-kept, reused context.
   tls_digest_start: a new context fed two buffers, in one crossing. */
int EVP_MD_get_type(const EVP_MD *);
int tls_digest_oneshot_ctx(EVP_MD_CTX *, const EVP_MD *, const void *, size_t, unsigned char *);
EVP_MD_CTX *tls_digest_start(const EVP_MD *, const void *, size_t, const void *, size_t);
/* --- end of tls.hashes additions --- */

/* tls.hmac: RFC 2104 HMAC of one message over a fetched EVP_MD, one crossing. */
int tls_hmac_md_oneshot(const EVP_MD *, const unsigned char *, size_t,
                        const void *, size_t, unsigned char *, size_t);
"""

CUSTOMIZATIONS = """
#include <openssl/kdf.h>

/* One-shot digest with an already fetched EVP_MD: no implicit fetch, one
   crossing.  xof != 0 means an extendable-output digest of outlen bytes. */
static int tls_digest_oneshot(const EVP_MD *md, const void *data, size_t len,
                              unsigned char *out, size_t outlen, int xof)
{
    EVP_MD_CTX *ctx;
    int ok;
    if (!xof)
        return EVP_Digest(data, len, out, NULL, md, NULL);
    ctx = EVP_MD_CTX_new();
    if (ctx == NULL)
        return 0;
    ok = EVP_DigestInit_ex2(ctx, md, NULL)
         && EVP_DigestUpdate(ctx, data, len)
         && EVP_DigestFinalXOF(ctx, out, outlen);
    EVP_MD_CTX_free(ctx);
    return ok;
}

/* tls.hashes: one-shot digest (fixed-size output) in a context the caller
   keeps for reuse, saving the allocations of tls_digest_oneshot per call. */
static int tls_digest_oneshot_ctx(EVP_MD_CTX *ctx, const EVP_MD *md,
                                  const void *data, size_t len,
                                  unsigned char *out)
{
    return EVP_DigestInit_ex2(ctx, md, NULL)
           && EVP_DigestUpdate(ctx, data, len)
           && EVP_DigestFinal_ex(ctx, out, NULL);
}

/* tls.hashes: a new running context fed two buffers (the data a lazy hash
   object kept, then the update that needs a context): one crossing instead
   of four.  NULL on failure (the error queue says why). */
static EVP_MD_CTX *tls_digest_start(const EVP_MD *md, const void *kept, size_t keptlen,
                                    const void *data, size_t len)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (ctx == NULL)
        return NULL;
    if (!EVP_DigestInit_ex2(ctx, md, NULL)
        || !EVP_DigestUpdate(ctx, kept, keptlen)
        || !EVP_DigestUpdate(ctx, data, len)) {
        EVP_MD_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

/* digest() without ending the running context: finish a copy of it. */
static int tls_digest_final_copy(const EVP_MD_CTX *ctx, unsigned char *out,
                                 size_t outlen, int xof)
{
    EVP_MD_CTX *tmp = EVP_MD_CTX_new();
    int ok;
    if (tmp == NULL)
        return 0;
    ok = EVP_MD_CTX_copy_ex(tmp, ctx)
         && (xof ? EVP_DigestFinalXOF(tmp, out, outlen)
                 : EVP_DigestFinal_ex(tmp, out, NULL));
    EVP_MD_CTX_free(tmp);
    return ok;
}

static int tls_mac_final_copy(const EVP_MAC_CTX *ctx, unsigned char *out,
                              size_t outlen)
{
    EVP_MAC_CTX *tmp = EVP_MAC_CTX_dup(ctx);
    size_t written = 0;
    int ok;
    if (tmp == NULL)
        return 0;
    ok = EVP_MAC_final(tmp, out, &written, outlen) && written == outlen;
    EVP_MAC_CTX_free(tmp);
    return ok;
}

/* tls.hmac (hmac branch): RFC 2104 HMAC of one message over an already
   fetched EVP_MD, with one EVP_MD_CTX in one crossing.  The EVP_MAC route
   (tls_mac_oneshot: dup a template, key it, update, final) costs about twice
   as much per small message: the dup and the key schedule allocate and set
   up three digest contexts.  Key material is cleansed before returning. */
#define TLS_HMAC_MAX_BLOCK 256
static int tls_hmac_md_oneshot(const EVP_MD *md,
                               const unsigned char *key, size_t keylen,
                               const void *data, size_t len,
                               unsigned char *out, size_t outlen)
{
    unsigned char pad[TLS_HMAC_MAX_BLOCK], inner[EVP_MAX_MD_SIZE];
    unsigned int innerlen = 0, written = 0;
    int block = EVP_MD_get_block_size(md), ok = 0, i;
    EVP_MD_CTX *ctx;

    if (block <= 0 || block > TLS_HMAC_MAX_BLOCK
        || EVP_MD_get_size(md) <= 0 || outlen != (size_t)EVP_MD_get_size(md)
        || (EVP_MD_get_flags(md) & EVP_MD_FLAG_XOF))
        return 0;
    ctx = EVP_MD_CTX_new();
    if (ctx == NULL)
        return 0;
    memset(pad, 0, sizeof(pad));
    if (keylen > (size_t)block) {   /* K = H(key) for keys longer than a block */
        if (!EVP_DigestInit_ex2(ctx, md, NULL)
            || !EVP_DigestUpdate(ctx, key, keylen)
            || !EVP_DigestFinal_ex(ctx, pad, NULL))
            goto end;
    } else if (keylen > 0) {
        memcpy(pad, key, keylen);
    }
    for (i = 0; i < block; i++)
        pad[i] ^= 0x36;
    if (!EVP_DigestInit_ex2(ctx, md, NULL)
        || !EVP_DigestUpdate(ctx, pad, block)
        || !EVP_DigestUpdate(ctx, data, len)
        || !EVP_DigestFinal_ex(ctx, inner, &innerlen))
        goto end;
    for (i = 0; i < block; i++)
        pad[i] ^= 0x36 ^ 0x5c;
    ok = EVP_DigestInit_ex2(ctx, md, NULL)
         && EVP_DigestUpdate(ctx, pad, block)
         && EVP_DigestUpdate(ctx, inner, innerlen)
         && EVP_DigestFinal_ex(ctx, out, &written)
         && written == outlen;
end:
    OPENSSL_cleanse(pad, sizeof(pad));
    OPENSSL_cleanse(inner, sizeof(inner));
    EVP_MD_CTX_free(ctx);
    return ok;
}

/* Names of every algorithm the loaded providers offer, '\\n'-separated,
   aliases included.  Returns the length needed; writes at most buflen. */
#define TLS_LIST_DIGESTS 0
#define TLS_LIST_CIPHERS 1
#define TLS_LIST_MACS 2
#define TLS_LIST_KDFS 3

struct tls_name_sink { char *buf; size_t len; size_t used; };

static void tls_sink_name(const char *name, void *arg)
{
    struct tls_name_sink *sink = arg;
    size_t n = strlen(name);
    if (sink->used + n + 1 <= sink->len) {
        memcpy(sink->buf + sink->used, name, n);
        sink->buf[sink->used + n] = '\\n';
    }
    sink->used += n + 1;
}
static void tls_sink_md(EVP_MD *x, void *arg) { EVP_MD_names_do_all(x, tls_sink_name, arg); }
static void tls_sink_cipher(EVP_CIPHER *x, void *arg) { EVP_CIPHER_names_do_all(x, tls_sink_name, arg); }
static void tls_sink_mac(EVP_MAC *x, void *arg) { EVP_MAC_names_do_all(x, tls_sink_name, arg); }
static void tls_sink_kdf(EVP_KDF *x, void *arg) { EVP_KDF_names_do_all(x, tls_sink_name, arg); }

static size_t tls_list_names(int kind, char *buf, size_t buflen)
{
    struct tls_name_sink sink = { buf, buflen, 0 };
    switch (kind) {
    case TLS_LIST_DIGESTS: EVP_MD_do_all_provided(NULL, tls_sink_md, &sink); break;
    case TLS_LIST_CIPHERS: EVP_CIPHER_do_all_provided(NULL, tls_sink_cipher, &sink); break;
    case TLS_LIST_MACS: EVP_MAC_do_all_provided(NULL, tls_sink_mac, &sink); break;
    case TLS_LIST_KDFS: EVP_KDF_do_all_provided(NULL, tls_sink_kdf, &sink); break;
    }
    return sink.used;
}
"""
