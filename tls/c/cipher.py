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

# ---------------------------------------------------------------------------
# AEAD helpers (owned by tls/ciphers/aead.py).  One TLS_AEAD per AEAD object:
# the fetched EVP_CIPHER (up-referenced), a copy of the key and two key-scheduled
# working EVP_CIPHER_CTX, one per direction.  Each encrypt/decrypt is ONE call
# (tls_aead_crypt or, for AES-SIV's list of associated data, tls_aead_crypt_v):
# nonce, AAD, data in size_t lengths (split into int-sized chunks where the mode
# can stream), final, tag; a failed decryption zeroes the output.  Threads: a
# working context is taken with an atomic flag; a thread that finds it busy keys
# a private context for that one call.  tls_aead_close frees the OpenSSL objects
# once no call is running; tls_aead_free (the ffi.gc destructor) also frees the
# struct.
# ---------------------------------------------------------------------------
AEAD_TYPES = """
typedef ... TLS_AEAD;
static const int TLS_AEAD_GCM;
static const int TLS_AEAD_CCM;
static const int TLS_AEAD_OCB;
static const int TLS_AEAD_SIV;
static const int TLS_AEAD_CHACHA20_POLY1305;
static const int TLS_AEAD_GCM_SIV;
static const int TLS_AEAD_OK;
static const int TLS_AEAD_ERROR;
static const int TLS_AEAD_BAD_TAG;
static const int TLS_AEAD_TOO_LONG;
static const int TLS_AEAD_CLOSED;
"""

AEAD_FUNCTIONS = """
TLS_AEAD *tls_aead_new(EVP_CIPHER *, int, const unsigned char *, size_t, size_t, uint64_t);
void tls_aead_close(TLS_AEAD *);
void tls_aead_free(TLS_AEAD *);
int tls_aead_crypt(TLS_AEAD *, int, const unsigned char *, size_t, const unsigned char *, size_t,
                   const unsigned char *, size_t, unsigned char *);
int tls_aead_crypt_v(TLS_AEAD *, int, const unsigned char **, const size_t *, size_t,
                     const unsigned char *, size_t, unsigned char *);
"""

AEAD_CUSTOMIZATIONS = r"""
#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/err.h>

#define TLS_AEAD_GCM 0
#define TLS_AEAD_CCM 1
#define TLS_AEAD_OCB 2
#define TLS_AEAD_SIV 3
#define TLS_AEAD_CHACHA20_POLY1305 4
#define TLS_AEAD_GCM_SIV 5

#define TLS_AEAD_OK 1
#define TLS_AEAD_ERROR 0          /* OpenSSL failed: its error queue says why */
#define TLS_AEAD_BAD_TAG (-1)     /* decryption did not authenticate */
#define TLS_AEAD_TOO_LONG (-2)    /* a length over the mode's limit */
#define TLS_AEAD_CLOSED (-3)      /* tls_aead_close was called */

/* Lengths handed to one EVP_CipherUpdate (which takes an int). */
#define TLS_AEAD_CHUNK ((size_t)1 << 30)

#if defined(__GNUC__) || defined(__clang__)
#define TLS_AEAD_XCHG(p, v) __atomic_exchange_n((p), (v), __ATOMIC_SEQ_CST)
#define TLS_AEAD_RELEASE(p) __atomic_store_n((p), 0, __ATOMIC_RELEASE)
#define TLS_AEAD_LOAD(p) __atomic_load_n((p), __ATOMIC_SEQ_CST)
#define TLS_AEAD_ADD(p, v) __atomic_add_fetch((p), (v), __ATOMIC_SEQ_CST)
#elif defined(_MSC_VER)
#include <windows.h>
#define TLS_AEAD_XCHG(p, v) InterlockedExchange((p), (v))
#define TLS_AEAD_RELEASE(p) ((void)InterlockedExchange((p), 0))
#define TLS_AEAD_LOAD(p) InterlockedCompareExchange((p), 0, 0)
#define TLS_AEAD_ADD(p, v) InterlockedAdd((p), (v))
#else
#error "tls needs GCC/Clang __atomic builtins or MSVC Interlocked functions"
#endif

typedef struct tls_aead_st {
    EVP_CIPHER *cipher;           /* up-referenced */
    unsigned char *key;
    size_t keylen;
    /* Key-scheduled working contexts, [0] decrypts and [1] encrypts (some modes,
       e.g. OCB, pick their bulk routine by direction at key setup); each is
       owned by whoever holds its `busy` flag. */
    EVP_CIPHER_CTX *work[2];
    size_t work_ivlen[2];         /* nonce length work[i] is set up for */
    size_t default_ivlen;
    size_t taglen;
    uint64_t max_data;            /* longest message the mode allows */
    int mode;
    long busy[2];
    long refs;                    /* 1 for the owner + 1 per running call */
    long closed;
    long released;
} TLS_AEAD;

static int tls_aead_streams(int mode)
{
    /* CCM, SIV and GCM-SIV take the message (and each AAD item) in one update. */
    return mode == TLS_AEAD_GCM || mode == TLS_AEAD_OCB || mode == TLS_AEAD_CHACHA20_POLY1305;
}

static int tls_aead_rekeys(int mode)
{
    /* SIV and GCM-SIV derive per-message state from the key: key them per message. */
    return mode == TLS_AEAD_SIV || mode == TLS_AEAD_GCM_SIV;
}

/* Key a fresh (or reset) context; CCM's nonce length is fixed at key setup. */
static int tls_aead_setup(const TLS_AEAD *h, EVP_CIPHER_CTX *ctx, int enc, size_t ivlen)
{
    if (h->mode == TLS_AEAD_CCM)
        return EVP_CipherInit_ex2(ctx, h->cipher, NULL, NULL, enc, NULL)
               && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, (int)ivlen, NULL) > 0
               && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, (int)h->taglen, NULL) > 0
               && EVP_CipherInit_ex2(ctx, NULL, h->key, NULL, enc, NULL);
    if (!EVP_CipherInit_ex2(ctx, h->cipher, h->key, NULL, enc, NULL))
        return 0;
    if (ivlen != h->default_ivlen
        && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, (int)ivlen, NULL) <= 0)
        return 0;
    return 1;
}

static void tls_aead_release(TLS_AEAD *h)
{
    if (TLS_AEAD_XCHG(&h->released, 1) == 0) {
        EVP_CIPHER_CTX_free(h->work[0]);
        EVP_CIPHER_CTX_free(h->work[1]);
        EVP_CIPHER_free(h->cipher);
        if (h->key != NULL)
            OPENSSL_clear_free(h->key, h->keylen);
        h->work[0] = h->work[1] = NULL;
        h->cipher = NULL;
        h->key = NULL;
    }
}

static void tls_aead_close(TLS_AEAD *h)
{
    if (TLS_AEAD_XCHG(&h->closed, 1) == 0 && TLS_AEAD_ADD(&h->refs, -1) == 0)
        tls_aead_release(h);
}

static void tls_aead_free(TLS_AEAD *h)
{
    if (h == NULL)
        return;
    tls_aead_close(h);
    tls_aead_release(h);   /* idempotent; no call can be running once the owner drops h */
    OPENSSL_free(h);
}

static TLS_AEAD *tls_aead_new(EVP_CIPHER *cipher, int mode, const unsigned char *key,
                              size_t keylen, size_t taglen, uint64_t max_data)
{
    int enc;
    TLS_AEAD *h = OPENSSL_zalloc(sizeof(*h));
    if (h == NULL)
        return NULL;
    h->refs = 1;
    h->mode = mode;
    h->taglen = taglen;
    h->max_data = max_data;
    h->keylen = keylen;
    h->key = OPENSSL_malloc(keylen ? keylen : 1);
    if (h->key == NULL || !EVP_CIPHER_up_ref(cipher))
        goto err;
    h->cipher = cipher;
    memcpy(h->key, key, keylen);
    /* CCM fixes the nonce length at key setup: start with 13 bytes (the most common). */
    h->default_ivlen = mode == TLS_AEAD_CCM ? 13 : (size_t)EVP_CIPHER_get_iv_length(cipher);
    for (enc = 0; enc < 2; enc++) {
        h->work_ivlen[enc] = h->default_ivlen;
        h->work[enc] = EVP_CIPHER_CTX_new();
        if (h->work[enc] == NULL || !tls_aead_setup(h, h->work[enc], enc, h->default_ivlen))
            goto err;
    }
    return h;
err:
    tls_aead_free(h);
    return NULL;
}

/* Feed `len` bytes (AAD when out == NULL); *done counts the bytes written to out. */
static int tls_aead_update(EVP_CIPHER_CTX *ctx, unsigned char *out, size_t *done,
                           const unsigned char *in, size_t len, int streams)
{
    static const unsigned char empty[1] = {0};
    int outl;
    if (in == NULL)
        in = empty;   /* CCM reads (NULL, NULL) as "set the message length" */
    if (!streams && len > (size_t)INT_MAX)
        return TLS_AEAD_TOO_LONG;
    do {
        size_t n = len < TLS_AEAD_CHUNK ? len : TLS_AEAD_CHUNK;
        if (!EVP_CipherUpdate(ctx, out == NULL ? NULL : out + *done, &outl, in, (int)n))
            return 0;
        if (out != NULL)
            *done += (size_t)outl;
        in += n;
        len -= n;
    } while (len > 0);
    return 1;
}

/* Get (after encrypting) or set (before decrypting) the tag.  The OSSL_PARAM
   route skips EVP_CIPHER_CTX_ctrl's translation layer. */
static int tls_aead_tag(EVP_CIPHER_CTX *ctx, unsigned char *tag, size_t taglen, int get)
{
    OSSL_PARAM params[2];
    params[0] = OSSL_PARAM_construct_octet_string("tag", tag, taglen);
    params[1] = OSSL_PARAM_construct_end();
    return get ? EVP_CIPHER_CTX_get_params(ctx, params) : EVP_CIPHER_CTX_set_params(ctx, params);
}

static int tls_aead_run(TLS_AEAD *h, EVP_CIPHER_CTX *ctx, size_t *ivlen, int enc,
                        const unsigned char *nonce, size_t noncelen,
                        const unsigned char **aads, const size_t *aadlens, size_t naad,
                        const unsigned char *in, size_t len, unsigned char *out,
                        unsigned char *tag)
{
    int mode = h->mode, streams = tls_aead_streams(mode), outl, rc;
    size_t i, done = 0;
    unsigned char scratch[1];

    if ((uint64_t)len > h->max_data)
        return TLS_AEAD_TOO_LONG;
    if (nonce != NULL && noncelen != *ivlen) {
        if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, (int)noncelen, NULL) <= 0)
            return 0;
        *ivlen = noncelen;
        if (mode == TLS_AEAD_CCM && !EVP_CipherInit_ex2(ctx, NULL, h->key, NULL, enc, NULL))
            return 0;
    }
    if (!EVP_CipherInit_ex2(ctx, NULL, tls_aead_rekeys(mode) ? h->key : NULL, nonce, enc, NULL))
        return 0;
    if (!enc && !tls_aead_tag(ctx, tag, h->taglen, 0))
        return 0;
    /* OpenSSL's GCM-SIV (3.2 on, still in 3.5.7) appends each AAD update to a buffer
       that a re-init does not clear, so a reused context would authenticate the
       AAD of every earlier message too.  A zero-length AAD update clears it. */
    if (mode == TLS_AEAD_GCM_SIV && !EVP_CipherUpdate(ctx, NULL, &outl, scratch, 0))
        return 0;
    if (mode == TLS_AEAD_CCM) {
        if (len > (size_t)INT_MAX)
            return TLS_AEAD_TOO_LONG;
        if (!EVP_CipherUpdate(ctx, NULL, &outl, NULL, (int)len))
            return 0;
    }
    for (i = 0; i < naad; i++) {
        if (aadlens[i] == 0 && mode != TLS_AEAD_SIV)
            continue;   /* SIV counts an empty item; the others ignore it */
        rc = tls_aead_update(ctx, NULL, &done, aads[i], aadlens[i], streams);
        if (rc != 1)
            return rc;
    }
    if (out == NULL)
        out = scratch;
    rc = tls_aead_update(ctx, out, &done, in, len, streams);
    if (rc != 1)
        return rc == 0 && !enc ? TLS_AEAD_BAD_TAG : rc;
    if (mode != TLS_AEAD_CCM) {
        if (!EVP_CipherFinal_ex(ctx, out + done, &outl))
            return enc ? 0 : TLS_AEAD_BAD_TAG;
        done += (size_t)outl;
    }
    if (done != len)
        return 0;
    if (enc && !tls_aead_tag(ctx, tag, h->taglen, 1))
        return 0;
    return 1;
}

/* enc: in is the plaintext (inlen bytes); out gets ciphertext and tag (inlen + taglen;
   the tag first for SIV, as RFC 5297 orders it).
   !enc: in is ciphertext with its tag (inlen >= taglen); out gets inlen - taglen bytes,
   zeroed unless authentication succeeds. */
static int tls_aead_call(TLS_AEAD *h, int enc, const unsigned char *nonce, size_t noncelen,
                         const unsigned char **aads, const size_t *aadlens, size_t naad,
                         const unsigned char *in, size_t inlen, unsigned char *out)
{
    EVP_CIPHER_CTX *ctx;
    size_t private_ivlen, *ivlen, len;
    int own, rc, tag_first = h->mode == TLS_AEAD_SIV;
    unsigned char *tag, *body;
    const unsigned char *src;
    unsigned char tagbuf[EVP_MAX_BLOCK_LENGTH];

    if (enc) {
        len = inlen;
        src = in;
        tag = tag_first ? out : out + len;
        body = tag_first ? out + h->taglen : out;
    } else {
        if (inlen < h->taglen)
            return TLS_AEAD_BAD_TAG;
        len = inlen - h->taglen;
        memcpy(tagbuf, tag_first ? in : in + len, h->taglen);
        tag = tagbuf;
        src = tag_first ? in + h->taglen : in;
        body = out;
    }

    TLS_AEAD_ADD(&h->refs, 1);
    if (TLS_AEAD_LOAD(&h->closed)) {
        if (TLS_AEAD_ADD(&h->refs, -1) == 0)
            tls_aead_release(h);
        if (!enc && len > 0)
            OPENSSL_cleanse(out, len);
        return TLS_AEAD_CLOSED;
    }
    enc = enc ? 1 : 0;
    own = TLS_AEAD_XCHG(&h->busy[enc], 1) == 0;
    if (own) {
        ctx = h->work[enc];
        ivlen = &h->work_ivlen[enc];
    } else {
        private_ivlen = h->mode == TLS_AEAD_CCM && nonce != NULL ? noncelen : h->default_ivlen;
        ivlen = &private_ivlen;
        ctx = EVP_CIPHER_CTX_new();
        if (ctx != NULL && !tls_aead_setup(h, ctx, enc, private_ivlen)) {
            EVP_CIPHER_CTX_free(ctx);
            ctx = NULL;
        }
    }
    if (ctx == NULL)
        rc = TLS_AEAD_ERROR;
    else
        rc = tls_aead_run(h, ctx, ivlen, enc, nonce, noncelen, aads, aadlens, naad,
                          src, len, body, tag);
    if (rc != TLS_AEAD_OK) {
        if (!enc && len > 0)
            OPENSSL_cleanse(out, len);
        if (rc == TLS_AEAD_BAD_TAG || rc == TLS_AEAD_TOO_LONG)
            ERR_clear_error();
        if (own) {
            /* Leave the working context in a known state for the next call. */
            /* Re-key the working context so a failed call leaves no state behind.
               If that fails too, the context has no cipher and the next call
               fails cleanly with an OpenSSL error. */
            ERR_set_mark();
            if (EVP_CIPHER_CTX_reset(ctx))
                (void)tls_aead_setup(h, ctx, enc, h->default_ivlen);
            h->work_ivlen[enc] = h->default_ivlen;
            ERR_pop_to_mark();
        }
    }
    if (own)
        TLS_AEAD_RELEASE(&h->busy[enc]);
    else
        EVP_CIPHER_CTX_free(ctx);
    if (TLS_AEAD_ADD(&h->refs, -1) == 0)
        tls_aead_release(h);
    return rc;
}

static int tls_aead_crypt(TLS_AEAD *h, int enc, const unsigned char *nonce, size_t noncelen,
                          const unsigned char *aad, size_t aadlen,
                          const unsigned char *in, size_t inlen, unsigned char *out)
{
    return tls_aead_call(h, enc, nonce, noncelen, &aad, &aadlen, aad == NULL ? 0 : 1,
                         in, inlen, out);
}

static int tls_aead_crypt_v(TLS_AEAD *h, int enc,
                            const unsigned char **aads, const size_t *aadlens, size_t naad,
                            const unsigned char *in, size_t inlen, unsigned char *out)
{
    return tls_aead_call(h, enc, NULL, 0, aads, aadlens, naad, in, inlen, out);
}
"""

TYPES += AEAD_TYPES
FUNCTIONS += AEAD_FUNCTIONS
CUSTOMIZATIONS += AEAD_CUSTOMIZATIONS
