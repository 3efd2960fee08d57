"""<openssl/ssl.h>, <openssl/tls1.h>: TLS contexts, connections and ciphers."""

INCLUDES = """
#include <openssl/ssl.h>
#include <openssl/tls1.h>
#include <limits.h> /* INT_MAX in tls_bio_drain */
#include <errno.h>  /* cleared before socket operations, read back through ffi.errno */
#include <openssl/core_names.h>  /* TLS-GROUP capabilities (issue 7: groups) */
#include <openssl/provider.h>
"""

TYPES = """
typedef ... SSL_METHOD;
typedef ... SSL_CTX;
typedef ... SSL;
typedef ... SSL_CIPHER;
typedef ... SSL_SESSION;
typedef int (*SSL_verify_cb)(int, X509_STORE_CTX *);

/* The server's ALPN preference list (wire format) for tls_alpn_select_cb; the
   Python context owns it and keeps it alive as long as the SSL_CTX may use it. */
typedef struct {
    unsigned int length;
    const unsigned char *protocols;
} tls_alpn_protocols;

/* Values whose C type changed between OpenSSL versions (unsigned long -> uint64_t). */
#define SSL_OP_ALL ...
#define SSL_OP_NO_SSLv2 ...
#define SSL_OP_NO_SSLv3 ...
#define SSL_OP_NO_TLSv1 ...
#define SSL_OP_NO_TLSv1_1 ...
#define SSL_OP_NO_TLSv1_2 ...
#define SSL_OP_NO_TLSv1_3 ...
#define SSL_OP_NO_COMPRESSION ...
#define SSL_OP_CIPHER_SERVER_PREFERENCE ...
#define SSL_OP_SINGLE_DH_USE ...
#define SSL_OP_SINGLE_ECDH_USE ...
#define SSL_OP_NO_TICKET ...
#define SSL_OP_NO_RENEGOTIATION ...
#define SSL_OP_ENABLE_MIDDLEBOX_COMPAT ...
#define SSL_OP_IGNORE_UNEXPECTED_EOF ...
#define SSL_OP_DONT_INSERT_EMPTY_FRAGMENTS ...

static const int SSL_ERROR_NONE;
static const int SSL_ERROR_SSL;
static const int SSL_ERROR_WANT_READ;
static const int SSL_ERROR_WANT_WRITE;
static const int SSL_ERROR_WANT_X509_LOOKUP;
static const int SSL_ERROR_SYSCALL;
static const int SSL_ERROR_ZERO_RETURN;
static const int SSL_ERROR_WANT_CONNECT;
static const int SSL_ERROR_WANT_ACCEPT;

static const int SSL_VERIFY_NONE;
static const int SSL_VERIFY_PEER;
static const int SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
static const int SSL_VERIFY_POST_HANDSHAKE;

static const long SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER;
static const long SSL_MODE_AUTO_RETRY;
static const long SSL_MODE_RELEASE_BUFFERS;

static const int SSL_FILETYPE_PEM;
static const int SSL_SENT_SHUTDOWN;
static const int SSL_RECEIVED_SHUTDOWN;

static const int TLS1_VERSION;
static const int TLS1_1_VERSION;
static const int TLS1_2_VERSION;
static const int TLS1_3_VERSION;
static const int SSL3_VERSION;

static const int SSL_TLSEXT_ERR_OK;
static const int SSL_TLSEXT_ERR_NOACK;
static const int OPENSSL_NPN_NEGOTIATED;

static const int SSL_R_CERTIFICATE_VERIFY_FAILED;
static const int SSL_R_UNEXPECTED_EOF_WHILE_READING;

static const int TLSEXT_NAMETYPE_host_name;
static const int SSL_TLSEXT_ERR_ALERT_FATAL;
static const int SSL_AD_HANDSHAKE_FAILURE;
static const int SSL_AD_INTERNAL_ERROR;

static const int TLS_HAS_TLSv1;
static const int TLS_HAS_TLSv1_1;
static const int TLS_HAS_TLSv1_2;
static const int TLS_HAS_TLSv1_3;

/* OCSP stapling (status_request) and TLS 1.3 early data */
static const int TLSEXT_STATUSTYPE_ocsp;
static const int SSL_EARLY_DATA_ACCEPTED;
static const int ERR_R_SHOULD_NOT_HAVE_BEEN_CALLED;

/* TLS 1.3 cipher suites and key-exchange groups (issue 7) */
static const int TLS_HAS_GET0_GROUP_NAME;
static const int TLS_HAS_IMPLEMENTED_GROUPS;

/* ---- issue 7: external PSKs, keying material export, kernel TLS */
#define SSL_OP_ENABLE_KTLS ...
static const int TLS_HAS_PSK;   /* 0 when OpenSSL was built with no-psk */
static const int TLS_HAS_KTLS;  /* 0 when OpenSSL was built without kTLS (OPENSSL_NO_KTLS) */
"""

FUNCTIONS = """
const SSL_METHOD *TLS_method(void);
const SSL_METHOD *TLS_client_method(void);
const SSL_METHOD *TLS_server_method(void);

/* contexts */
SSL_CTX *SSL_CTX_new(const SSL_METHOD *);
void SSL_CTX_free(SSL_CTX *);
uint64_t SSL_CTX_get_options(const SSL_CTX *);
uint64_t SSL_CTX_set_options(SSL_CTX *, uint64_t);
uint64_t SSL_CTX_clear_options(SSL_CTX *, uint64_t);
long SSL_CTX_set_mode(SSL_CTX *, long);
void SSL_CTX_set_verify(SSL_CTX *, int, SSL_verify_cb);
int SSL_CTX_get_verify_mode(const SSL_CTX *);
long SSL_CTX_set_min_proto_version(SSL_CTX *, int);
long SSL_CTX_set_max_proto_version(SSL_CTX *, int);
long SSL_CTX_get_min_proto_version(SSL_CTX *);
long SSL_CTX_get_max_proto_version(SSL_CTX *);
int SSL_CTX_set_cipher_list(SSL_CTX *, const char *);
OPENSSL_STACK *tls_SSL_CTX_get_ciphers(const SSL_CTX *);
int SSL_CTX_use_certificate_chain_file(SSL_CTX *, const char *);
int SSL_CTX_use_PrivateKey_file(SSL_CTX *, const char *, int);
int SSL_CTX_check_private_key(const SSL_CTX *);
/* certificates and keys from memory (issue 7: load_cert_chain(certdata=, keydata=)):
   SSL_CTX_use_cert_and_key with override, whose checks (the security level of the leaf
   and of every chain certificate, the key against the leaf) all run before it replaces
   anything, so a refused chain leaves the context as it was.  The chain is an untyped
   STACK_OF(X509); the context keeps its own references. */
int tls_SSL_CTX_use_cert_and_key(SSL_CTX *, X509 *, EVP_PKEY *, OPENSSL_STACK *);
void SSL_CTX_set_default_passwd_cb(SSL_CTX *, pem_password_cb *);
void SSL_CTX_set_default_passwd_cb_userdata(SSL_CTX *, void *);
pem_password_cb *SSL_CTX_get_default_passwd_cb(SSL_CTX *);
void *SSL_CTX_get_default_passwd_cb_userdata(SSL_CTX *);
int SSL_CTX_load_verify_locations(SSL_CTX *, const char *, const char *);
int SSL_CTX_set_default_verify_paths(SSL_CTX *);
X509_STORE *SSL_CTX_get_cert_store(const SSL_CTX *);
X509_VERIFY_PARAM *SSL_CTX_get0_param(SSL_CTX *);
int SSL_CTX_set_alpn_protos(SSL_CTX *, const unsigned char *, unsigned int);
void tls_SSL_CTX_set_alpn_select(SSL_CTX *, tls_alpn_protocols *);
int SSL_CTX_get_security_level(const SSL_CTX *);
int SSL_CTX_set0_tmp_dh_pkey(SSL_CTX *, EVP_PKEY *);
size_t SSL_CTX_get_num_tickets(const SSL_CTX *);
int SSL_CTX_set_num_tickets(SSL_CTX *, size_t);
long SSL_CTX_set1_groups(SSL_CTX *, int *, int);
long SSL_CTX_sess_number(SSL_CTX *);
long SSL_CTX_sess_connect(SSL_CTX *);
long SSL_CTX_sess_connect_good(SSL_CTX *);
long SSL_CTX_sess_connect_renegotiate(SSL_CTX *);
long SSL_CTX_sess_accept(SSL_CTX *);
long SSL_CTX_sess_accept_good(SSL_CTX *);
long SSL_CTX_sess_accept_renegotiate(SSL_CTX *);
long SSL_CTX_sess_hits(SSL_CTX *);
long SSL_CTX_sess_misses(SSL_CTX *);
long SSL_CTX_sess_timeouts(SSL_CTX *);
long SSL_CTX_sess_cache_full(SSL_CTX *);

/* NSS key log (keylog_filename): the file BIO lives in the SSL_CTX's app data */
int SSL_CTX_set_app_data(SSL_CTX *, void *);
void *SSL_CTX_get_app_data(const SSL_CTX *);
void tls_SSL_CTX_set_keylog(SSL_CTX *, BIO *);

/* SNI: the server-name callback is implemented in Python (tls._ssl) */
extern "Python" int tls_servername_callback(SSL *, int *, void *);
long SSL_CTX_set_tlsext_servername_callback(SSL_CTX *, int (*)(SSL *, int *, void *));
const char *SSL_get_servername(const SSL *, const int);
SSL_CTX *SSL_set_SSL_CTX(SSL *, SSL_CTX *);
int SSL_set_app_data(SSL *, void *);
void *SSL_get_app_data(const SSL *);

/* connections */
SSL *SSL_new(SSL_CTX *);
void SSL_free(SSL *);
void SSL_set_bio(SSL *, BIO *, BIO *);
void SSL_set_connect_state(SSL *);
void SSL_set_accept_state(SSL *);
long SSL_set_mode(SSL *, long);
int SSL_do_handshake(SSL *);
int SSL_read_ex(SSL *, void *, size_t, size_t *);
int SSL_write_ex(SSL *, const void *, size_t, size_t *);
int SSL_pending(const SSL *);
int SSL_shutdown(SSL *);
int SSL_get_shutdown(const SSL *);
int SSL_get_error(const SSL *, int);
int SSL_is_init_finished(const SSL *);
long SSL_get_verify_result(const SSL *);
X509 *SSL_get1_peer_certificate(const SSL *);
const SSL_CIPHER *SSL_get_current_cipher(const SSL *);
const char *SSL_get_version(const SSL *);
void SSL_get0_alpn_selected(const SSL *, const unsigned char **, unsigned int *);
long SSL_set_tlsext_host_name(SSL *, const char *);
X509_VERIFY_PARAM *SSL_get0_param(SSL *);
int SSL_session_reused(const SSL *);
int SSL_get_verify_mode(const SSL *);
SSL_verify_cb SSL_get_verify_callback(const SSL *);
void SSL_set_verify(SSL *, int, SSL_verify_cb);
void SSL_set_post_handshake_auth(SSL *, int);
int SSL_verify_client_post_handshake(SSL *);
size_t SSL_get_finished(const SSL *, void *, size_t);
size_t SSL_get_peer_finished(const SSL *, void *, size_t);
OPENSSL_STACK *tls_SSL_get_ciphers(const SSL *);
OPENSSL_STACK *tls_SSL_get_client_ciphers(const SSL *);

/* peer chains (STACK_OF(X509), untyped here) */
OPENSSL_STACK *tls_SSL_get0_verified_chain(const SSL *);
OPENSSL_STACK *tls_SSL_get_peer_cert_chain(const SSL *);

/* sessions */
SSL_SESSION *SSL_get1_session(SSL *);
int SSL_set_session(SSL *, SSL_SESSION *);
void SSL_SESSION_free(SSL_SESSION *);
const unsigned char *SSL_SESSION_get_id(const SSL_SESSION *, unsigned int *);
long SSL_SESSION_get_time(const SSL_SESSION *);
long SSL_SESSION_get_timeout(const SSL_SESSION *);
unsigned long SSL_SESSION_get_ticket_lifetime_hint(const SSL_SESSION *);
int SSL_SESSION_has_ticket(const SSL_SESSION *);

/* ciphers */
const char *SSL_CIPHER_get_name(const SSL_CIPHER *);
const char *SSL_CIPHER_get_version(const SSL_CIPHER *);
uint32_t SSL_CIPHER_get_id(const SSL_CIPHER *);
char *SSL_CIPHER_description(const SSL_CIPHER *, char *, int);
int SSL_CIPHER_get_bits(const SSL_CIPHER *, int *);
int SSL_CIPHER_is_aead(const SSL_CIPHER *);
int SSL_CIPHER_get_cipher_nid(const SSL_CIPHER *);
int SSL_CIPHER_get_digest_nid(const SSL_CIPHER *);
int SSL_CIPHER_get_kx_nid(const SSL_CIPHER *);
int SSL_CIPHER_get_auth_nid(const SSL_CIPHER *);

/* ---- I/O hot paths (tls._ssl SSLObject.read/write, MemoryBIO.read): one crossing per call.
   tls_ssl_read/tls_ssl_write: SSL_read_ex/SSL_write_ex; the count on success (>= 0),
   otherwise -SSL_get_error() (always < 0), classified right after the failing call.
   These and the handshake/shutdown helpers below first drop errors someone else left
   on the thread's queue (another library, PyPy's own ssl): SSL_get_error reads the
   queue, and a stale entry would turn a clean EOF or WANT_READ into a false error.
   tls_bio_drain: read what a memory BIO holds (at most want bytes when want >= 0) into
   buf (cap bytes); the count read, 0 when it holds nothing, -1 when BIO_read failed,
   -2 - needed when buf is too small (nothing read). */
long long tls_ssl_read(SSL *, void *, size_t);
long long tls_ssl_write(SSL *, const void *, size_t);
long long tls_bio_drain(BIO *, char *, int, int);
/* tls_SSL_set_hostname: what CPython's _ssl_configure_hostname does to the SSL: SNI and
   (check != 0) the host name to verify, or for an IP address (a2i_IPADDRESS; its expected
   failure is cleared) the IP to verify and no SNI.  1 on success, 0 on failure (queue). */
int tls_SSL_set_hostname(SSL *, const char *, int);
/* tls_ssl_do_handshake: 1 when SSL_do_handshake completed, else -SSL_get_error(ret).
   errno is cleared first, so after SSL_ERROR_SYSCALL ffi.errno tells an I/O error (set)
   from a bare EOF (0). */
int tls_ssl_do_handshake(SSL *);
/* tls_SSL_free: SSL_free that keeps the session resumable.  Freeing a connection that
   never sent close_notify makes OpenSSL mark its session not resumable, so a client
   that just closes its socket could not resume; CPython 3.13 marks the shutdown as
   sent first (gh-123249), and so does this. */
void tls_SSL_free(SSL *);
/* tls_ssl_shutdown: SSL_shutdown's 1 or 0, else -SSL_get_error(ret) (errno as above). */
int tls_ssl_shutdown(SSL *);
/* tls_SSL_new_socket: SSL_new reading and writing the socket fd itself (SSL_set_fd: a
   socket BIO that never closes fd), the modes of tls_SSL_new_mem, and the accept
   (server_side) or connect state.  Blocking follows the fd's O_NONBLOCK flag, which
   the Python socket sets from its timeout.  NULL on failure (the queue says why). */
SSL *tls_SSL_new_socket(SSL_CTX *, int, int);
/* tls_SSL_new_mem: SSL_new with two memory BIOs attached (a reference taken on each,
   one when they are the same BIO), SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
   SSL_MODE_AUTO_RETRY, and the accept (server_side) or connect state.  NULL when
   SSL_new or BIO_up_ref fails (the error queue says why; nothing leaks). */
SSL *tls_SSL_new_mem(SSL_CTX *, BIO *, BIO *, int);
/* tls_BIO_new_mem: a memory BIO whose empty read means "retry" (BIO_set_mem_eof_return -1),
   as MemoryBIO wants it; NULL when BIO_new fails. */
BIO *tls_BIO_new_mem(void);

/* ---- OCSP stapling: one status callback per context, implemented in Python (tls._ssl);
   on servers it staples (tls_SSL_set_ocsp_response), on clients it judges the staple. */
extern "Python" int tls_ocsp_status_callback(SSL *, void *);
long SSL_CTX_set_tlsext_status_cb(SSL_CTX *, int (*)(SSL *, void *));
long SSL_set_tlsext_status_type(SSL *, int);
long SSL_get_tlsext_status_ocsp_resp(SSL *, const unsigned char **);
/* tls_SSL_set_ocsp_response: staple a copy of the DER response (OpenSSL takes ownership of
   an OPENSSL_malloc'd buffer); 1 on success, 0 on failure (queue). */
int tls_SSL_set_ocsp_response(SSL *, const unsigned char *, size_t);

/* ---- TLS 1.3 early data (0-RTT) */
int SSL_CTX_set_max_early_data(SSL_CTX *, uint32_t);
uint32_t SSL_CTX_get_max_early_data(const SSL_CTX *);
int SSL_CTX_set_recv_max_early_data(SSL_CTX *, uint32_t);
int SSL_get_early_data_status(const SSL *);
uint32_t SSL_SESSION_get_max_early_data(const SSL_SESSION *);
SSL_SESSION *SSL_get_session(const SSL *);
long SSL_get_max_proto_version(SSL *);
/* tls_ssl_write_early_data: SSL_write_early_data; the count written on success (>= 0),
   otherwise -SSL_get_error() (< 0).  tls_ssl_read_early_data: SSL_read_early_data; the
   count read (> 0) on SSL_READ_EARLY_DATA_SUCCESS, 0 on SSL_READ_EARLY_DATA_FINISH,
   otherwise -SSL_get_error() (< 0).  Both clear errno first, as tls_ssl_do_handshake. */
long long tls_ssl_write_early_data(SSL *, const void *, size_t);
long long tls_ssl_read_early_data(SSL *, void *, size_t);

/* ---- TLS 1.3 cipher suites and key-exchange groups (issue 7) */
int SSL_CTX_set_ciphersuites(SSL_CTX *, const char *);
long SSL_CTX_set1_groups_list(SSL_CTX *, const char *);
/* tls_SSL_group_name: the name of the group the handshake's key exchange used (NULL when
   none or before it): SSL_get0_group_name on OpenSSL 3.2+ (TLS_HAS_GET0_GROUP_NAME),
   SSL_get_negotiated_group + SSL_group_to_name before; never touches a missing session. */
const char *tls_SSL_group_name(SSL *);
/* tls_SSL_CTX_implemented_groups: the groups the context can use within its protocol
   version range, ':'-joined into buf (cap bytes, NUL-terminated when it fits); aliases
   too when all != 0.  SSL_CTX_get0_implemented_groups on OpenSSL 3.5+
   (TLS_HAS_IMPLEMENTED_GROUPS), else tls_provider_groups.  The length needed without
   the NUL, -1 on failure (the queue says why). */
int tls_SSL_CTX_implemented_groups(SSL_CTX *, int, char *, int);
/* tls_provider_groups: the same list made from the loaded providers' TLS-GROUP
   capabilities (what OpenSSL builds its group table from): in provider order, filtered
   by the context's version range, the first name of each group id unless all != 0. */
int tls_provider_groups(SSL_CTX *, int, char *, int);

/* ---- issue 7: external PSKs (CPython 3.13's set_psk_client_callback/set_psk_server_callback).
   The callbacks are implemented in Python (tls._ssl); they find their connection through
   SSL_get_app_data.  With no-psk the setters are stubs and TLS_HAS_PSK is 0. */
extern "Python" unsigned int tls_psk_client_callback(SSL *, const char *, char *, unsigned int,
                                                     unsigned char *, unsigned int);
extern "Python" unsigned int tls_psk_server_callback(SSL *, const char *, unsigned char *, unsigned int);
void SSL_CTX_set_psk_client_callback(SSL_CTX *, unsigned int (*)(SSL *, const char *, char *,
                                     unsigned int, unsigned char *, unsigned int));
void SSL_CTX_set_psk_server_callback(SSL_CTX *, unsigned int (*)(SSL *, const char *,
                                     unsigned char *, unsigned int));
int SSL_CTX_use_psk_identity_hint(SSL_CTX *, const char *);

/* ---- issue 7: keying material export (RFC 5705, RFC 8446 section 7.5; RFC 9266) */
int SSL_export_keying_material(SSL *, unsigned char *, size_t, const char *, size_t,
                               const unsigned char *, size_t, int);
int SSL_version(const SSL *);
long SSL_get_extms_support(SSL *);
uint64_t SSL_get_options(const SSL *);

/* ---- issue 7: kernel TLS.  tls_SSL_get_ktls_send/_recv: whether the connection's write
   (read) BIO sends (receives) through kernel TLS (always 0 without kTLS in OpenSSL).
   tls_ssl_sendfile: SSL_sendfile(s, fd, offset, size, 0): the count sent (>= 0), else
   -SSL_get_error() (errno cleared first, as for the handshake). */
int tls_SSL_get_ktls_send(SSL *);
int tls_SSL_get_ktls_recv(SSL *);
long long tls_ssl_sendfile(SSL *, int, long long, size_t);
"""

CUSTOMIZATIONS = """
typedef struct {
    unsigned int length;
    const unsigned char *protocols;
} tls_alpn_protocols;

#if OPENSSL_VERSION_NUMBER >= 0x30300000L
/* SSL_SESSION_get_time is deprecated from OpenSSL 3.4 on (a long is not Y2038-safe
   everywhere); its time_t form exists from 3.3 on.  Declared as a long either way. */
#define SSL_SESSION_get_time(s) ((long)SSL_SESSION_get_time_ex(s))
#endif

#ifdef OPENSSL_NO_TLS1_METHOD
static const int TLS_HAS_TLSv1 = 0;
#else
static const int TLS_HAS_TLSv1 = 1;
#endif
#ifdef OPENSSL_NO_TLS1_1_METHOD
static const int TLS_HAS_TLSv1_1 = 0;
#else
static const int TLS_HAS_TLSv1_1 = 1;
#endif
#ifdef OPENSSL_NO_TLS1_2_METHOD
static const int TLS_HAS_TLSv1_2 = 0;
#else
static const int TLS_HAS_TLSv1_2 = 1;
#endif
#ifdef OPENSSL_NO_TLS1_3
static const int TLS_HAS_TLSv1_3 = 0;
#else
static const int TLS_HAS_TLSv1_3 = 1;
#endif

/* Writes one NSS key log line; a single BIO_write (one fwrite, locked by stdio)
   keeps lines whole when handshakes run in several threads. */
static void tls_keylog_callback(const SSL *ssl, const char *line)
{
    BIO *bio = (BIO *)SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
    char stack[512];
    char *buf = stack;
    size_t n;
    if (bio == NULL || line == NULL)
        return;
    n = strlen(line);
    if (n + 1 > sizeof(stack)) {
        buf = OPENSSL_malloc(n + 1);
        if (buf == NULL)
            return;
    }
    memcpy(buf, line, n);
    buf[n] = '\\n';
    BIO_write(bio, buf, (int)(n + 1));
    (void)BIO_flush(bio);
    if (buf != stack)
        OPENSSL_free(buf);
}

/* Installs (bio != NULL) or removes the key log; the caller owns the BIO and
   keeps it alive as long as it is installed. */
static void tls_SSL_CTX_set_keylog(SSL_CTX *ctx, BIO *bio)
{
    SSL_CTX_set_app_data(ctx, bio);
    SSL_CTX_set_keylog_callback(ctx, bio != NULL ? tls_keylog_callback : NULL);
}

static OPENSSL_STACK *tls_SSL_CTX_get_ciphers(const SSL_CTX *ctx)
{
    return (OPENSSL_STACK *)SSL_CTX_get_ciphers(ctx);
}

static OPENSSL_STACK *tls_SSL_get0_verified_chain(const SSL *s)
{
    return (OPENSSL_STACK *)SSL_get0_verified_chain(s);
}

static OPENSSL_STACK *tls_SSL_get_peer_cert_chain(const SSL *s)
{
    return (OPENSSL_STACK *)SSL_get_peer_cert_chain(s);
}

static OPENSSL_STACK *tls_SSL_get_ciphers(const SSL *s)
{
    return (OPENSSL_STACK *)SSL_get_ciphers(s);
}

static OPENSSL_STACK *tls_SSL_get_client_ciphers(const SSL *s)
{
    return (OPENSSL_STACK *)SSL_get_client_ciphers(s);
}

/* Server-side ALPN selection with the server's preference order, as CPython's
   _selectALPN_cb: no overlap means no ALPN (NOACK), not a failed handshake. */
static int tls_alpn_select_cb(SSL *s, const unsigned char **out, unsigned char *outlen,
                              const unsigned char *in, unsigned int inlen, void *arg)
{
    tls_alpn_protocols *p = (tls_alpn_protocols *)arg;
    (void)s;
    if (p == NULL || p->length == 0)
        return SSL_TLSEXT_ERR_NOACK;
    if (SSL_select_next_proto((unsigned char **)out, outlen, p->protocols, p->length,
                              in, inlen) != OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_NOACK;
    return SSL_TLSEXT_ERR_OK;
}

static void tls_SSL_CTX_set_alpn_select(SSL_CTX *ctx, tls_alpn_protocols *p)
{
    SSL_CTX_set_alpn_select_cb(ctx, tls_alpn_select_cb, p);
}
/* ---- I/O hot paths (see the declarations) */
static void tls_forget_stale_errors(void)
{
    if (ERR_peek_error() != 0)
        ERR_clear_error();
}

static long long tls_ssl_read(SSL *s, void *buf, size_t n)
{
    size_t got = 0;
    int err;
    tls_forget_stale_errors();
    if (SSL_read_ex(s, buf, n, &got) == 1)
        return (long long)got;
    err = SSL_get_error(s, 0);
    return -(long long)(err > 0 ? err : SSL_ERROR_SSL);
}

static long long tls_ssl_write(SSL *s, const void *buf, size_t n)
{
    size_t done = 0;
    int err;
    tls_forget_stale_errors();
    if (SSL_write_ex(s, buf, n, &done) == 1)
        return (long long)done;
    err = SSL_get_error(s, 0);
    return -(long long)(err > 0 ? err : SSL_ERROR_SSL);
}

static long long tls_bio_drain(BIO *b, char *buf, int cap, int want)
{
    size_t pending = BIO_ctrl_pending(b);
    int n, got;
    n = pending > (size_t)INT_MAX ? INT_MAX : (int)pending;
    if (want >= 0 && want < n)
        n = want;
    if (n == 0)
        return 0;
    if (n > cap)
        return -2 - (long long)n;
    got = BIO_read(b, buf, n);
    return got > 0 ? (long long)got : -1;
}

static int tls_SSL_set_hostname(SSL *s, const char *name, int check)
{
    ASN1_OCTET_STRING *ip = a2i_IPADDRESS(name);
    int ok = 1;
    if (ip == NULL) {
        ERR_clear_error();
        ok = SSL_set_tlsext_host_name(s, name) == 1;
        if (ok && check)
            ok = X509_VERIFY_PARAM_set1_host(SSL_get0_param(s), name, strlen(name)) == 1;
    } else {
        if (check)
            ok = X509_VERIFY_PARAM_set1_ip(SSL_get0_param(s), ASN1_STRING_get0_data(ip),
                                           (size_t)ASN1_STRING_length(ip)) == 1;
        ASN1_OCTET_STRING_free(ip);
    }
    return ok;
}

static int tls_ssl_do_handshake(SSL *s)
{
    int ret, err;
    tls_forget_stale_errors();
    errno = 0;
    ret = SSL_do_handshake(s);
    if (ret == 1)
        return 1;
    err = SSL_get_error(s, ret);
    return -(err > 0 ? err : SSL_ERROR_SSL);
}

static void tls_SSL_free(SSL *s)
{
    SSL_set_shutdown(s, SSL_SENT_SHUTDOWN | SSL_get_shutdown(s));
    SSL_free(s);
}

static int tls_ssl_shutdown(SSL *s)
{
    int ret, err;
    tls_forget_stale_errors();
    errno = 0;
    ret = SSL_shutdown(s);
    if (ret >= 0)
        return ret;
    err = SSL_get_error(s, ret);
    return -(err > 0 ? err : SSL_ERROR_SSL);
}

static BIO *tls_BIO_new_mem(void)
{
    BIO *b = BIO_new(BIO_s_mem());
    if (b != NULL)
        BIO_set_mem_eof_return(b, -1);
    return b;
}

/* The mode and state every new connection starts in. */
static void tls_ssl_start(SSL *s, int server_side)
{
    SSL_set_mode(s, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_AUTO_RETRY);
    if (server_side)
        SSL_set_accept_state(s);
    else
        SSL_set_connect_state(s);
}

static SSL *tls_SSL_new_mem(SSL_CTX *ctx, BIO *rbio, BIO *wbio, int server_side)
{
    SSL *s = SSL_new(ctx);
    if (s == NULL)
        return NULL;
    if (BIO_up_ref(rbio) != 1) {
        SSL_free(s);
        return NULL;
    }
    if (wbio != rbio && BIO_up_ref(wbio) != 1) {
        BIO_free(rbio);
        SSL_free(s);
        return NULL;
    }
    SSL_set_bio(s, rbio, wbio);
    tls_ssl_start(s, server_side);
    return s;
}

static SSL *tls_SSL_new_socket(SSL_CTX *ctx, int fd, int server_side)
{
    SSL *s = SSL_new(ctx);
    if (s == NULL)
        return NULL;
    if (SSL_set_fd(s, fd) != 1) {
        SSL_free(s);
        return NULL;
    }
    tls_ssl_start(s, server_side);
    return s;
}

/* ---- OCSP stapling and TLS 1.3 early data (see the declarations) */
static int tls_SSL_set_ocsp_response(SSL *s, const unsigned char *der, size_t n)
{
    unsigned char *copy;
    if (n == 0 || n > LONG_MAX)
        return 0;
    copy = OPENSSL_memdup(der, n);
    if (copy == NULL)
        return 0;
    if (SSL_set_tlsext_status_ocsp_resp(s, copy, (long)n) != 1) {
        OPENSSL_free(copy);
        return 0;
    }
    return 1;
}

static long long tls_ssl_write_early_data(SSL *s, const void *buf, size_t n)
{
    size_t done = 0;
    int err;
    tls_forget_stale_errors();
    errno = 0;
    if (SSL_write_early_data(s, buf, n, &done) == 1)
        return (long long)done;
    err = SSL_get_error(s, 0);
    return -(long long)(err > 0 ? err : SSL_ERROR_SSL);
}

static long long tls_ssl_read_early_data(SSL *s, void *buf, size_t n)
{
    size_t got = 0;
    int ret, err;
    tls_forget_stale_errors();
    errno = 0;
    ret = SSL_read_early_data(s, buf, n, &got);
    if (ret == SSL_READ_EARLY_DATA_SUCCESS)  /* SSL_read_ex succeeds with >= 1 byte */
        return got > 0 ? (long long)got : -(long long)SSL_ERROR_WANT_READ;
    if (ret == SSL_READ_EARLY_DATA_FINISH)
        return 0;
    err = SSL_get_error(s, 0);
    return -(long long)(err > 0 ? err : SSL_ERROR_SSL);
}

/* ---- TLS 1.3 cipher suites and key-exchange groups (issue 7) */
#if OPENSSL_VERSION_NUMBER >= 0x30200000L
static const int TLS_HAS_GET0_GROUP_NAME = 1;
#else
static const int TLS_HAS_GET0_GROUP_NAME = 0;
#endif
#if OPENSSL_VERSION_NUMBER >= 0x30500000L
static const int TLS_HAS_IMPLEMENTED_GROUPS = 1;
#else
static const int TLS_HAS_IMPLEMENTED_GROUPS = 0;
#endif

static const char *tls_SSL_group_name(SSL *s)
{
    /* before a handshake there is no session, which these functions read unchecked
       (OpenSSL 3.0 to 3.4) */
    if (SSL_get_session(s) == NULL)
        return NULL;
#if OPENSSL_VERSION_NUMBER >= 0x30200000L
    return SSL_get0_group_name(s);
#else
    {
        int id = SSL_get_negotiated_group(s);
        if (id == NID_undef)
            return NULL;
        return SSL_group_to_name(s, id);
    }
#endif
}

/* Appends name (and a ':' before it unless first) to buf; the new length needed. */
static int tls_join_name(char *buf, int cap, int used, const char *name)
{
    size_t n = strlen(name);
    int sep = used > 0 ? 1 : 0;
    if ((size_t)used + sep + n < (size_t)cap) {
        if (sep)
            buf[used] = ':';
        memcpy(buf + used + sep, name, n);
        buf[used + sep + n] = '\\0';
    }
    return used + sep + (int)n;
}

typedef struct {
    int all, min_version, max_version, n, failed;
    struct {
        const char *name;
        unsigned int id;
    } groups[512];
} tls_group_walk;

static int tls_group_capability(const OSSL_PARAM params[], void *arg)
{
    tls_group_walk *w = (tls_group_walk *)arg;
    const OSSL_PARAM *p;
    const char *name = NULL;
    unsigned int id = 0;
    int mintls = 0, maxtls = 0;

    p = OSSL_PARAM_locate_const(params, OSSL_CAPABILITY_TLS_GROUP_NAME);
    if (p == NULL || !OSSL_PARAM_get_utf8_string_ptr(p, &name))
        return 1;  /* not a usable entry: skipped, as OpenSSL's group discovery fails on it */
    p = OSSL_PARAM_locate_const(params, OSSL_CAPABILITY_TLS_GROUP_ID);
    if (p == NULL || !OSSL_PARAM_get_uint(p, &id))
        return 1;
    p = OSSL_PARAM_locate_const(params, OSSL_CAPABILITY_TLS_GROUP_MIN_TLS);
    if (p != NULL && !OSSL_PARAM_get_int(p, &mintls))
        return 1;
    p = OSSL_PARAM_locate_const(params, OSSL_CAPABILITY_TLS_GROUP_MAX_TLS);
    if (p != NULL && !OSSL_PARAM_get_int(p, &maxtls))
        return 1;
    if (maxtls == -1)
        return 1;  /* not for TLS */
    if (mintls > 0 && w->max_version > 0 && mintls > w->max_version)
        return 1;
    if (maxtls > 0 && w->min_version > 0 && maxtls < w->min_version)
        return 1;
    if (w->n >= (int)(sizeof(w->groups) / sizeof(w->groups[0]))) {
        w->failed = 1;
        return 0;
    }
    w->groups[w->n].name = name;  /* the provider's own table: valid during the walk */
    w->groups[w->n].id = id;
    w->n++;
    return 1;
}

static int tls_provider_group_walk(OSSL_PROVIDER *prov, void *arg)
{
    tls_group_walk *w = (tls_group_walk *)arg;
    if (!OSSL_PROVIDER_get_capabilities(prov, "TLS-GROUP", tls_group_capability, arg))
        w->failed = 1;
    return 1;
}

static int tls_provider_groups(SSL_CTX *ctx, int all, char *buf, int cap)
{
    tls_group_walk *w = OPENSSL_zalloc(sizeof(*w));
    int i, j, used = 0;
    if (w == NULL)
        return -1;
    w->all = all;
    w->min_version = (int)SSL_CTX_get_min_proto_version(ctx);
    w->max_version = (int)SSL_CTX_get_max_proto_version(ctx);
    if (cap > 0)
        buf[0] = '\\0';
    if (!OSSL_PROVIDER_do_all(NULL, tls_provider_group_walk, w) || w->failed) {
        OPENSSL_free(w);
        return -1;
    }
    /* ascending group id, then order of appearance (insertion sort: stable), as
       SSL_CTX_get0_implemented_groups lists them; aliases follow their group's name */
    for (i = 1; i < w->n; i++) {
        const char *name = w->groups[i].name;
        unsigned int id = w->groups[i].id;
        for (j = i; j > 0 && w->groups[j - 1].id > id; j--)
            w->groups[j] = w->groups[j - 1];
        w->groups[j].name = name;
        w->groups[j].id = id;
    }
    for (i = 0; i < w->n; i++) {
        if (!all && i > 0 && w->groups[i - 1].id == w->groups[i].id)
            continue;  /* an alias of the group just listed */
        used = tls_join_name(buf, cap, used, w->groups[i].name);
    }
    OPENSSL_free(w);
    return used;
}

static int tls_SSL_CTX_implemented_groups(SSL_CTX *ctx, int all, char *buf, int cap)
{
#if OPENSSL_VERSION_NUMBER >= 0x30500000L
    STACK_OF(OPENSSL_CSTRING) *names = sk_OPENSSL_CSTRING_new_null();
    int i, used = 0;
    if (names == NULL)
        return -1;
    if (!SSL_CTX_get0_implemented_groups(ctx, all, names)) {
        sk_OPENSSL_CSTRING_free(names);
        return -1;
    }
    if (cap > 0)
        buf[0] = '\\0';
    for (i = 0; i < sk_OPENSSL_CSTRING_num(names); i++)
        used = tls_join_name(buf, cap, used, sk_OPENSSL_CSTRING_value(names, i));
    sk_OPENSSL_CSTRING_free(names);
    return used;
#else
    return tls_provider_groups(ctx, all, buf, cap);
#endif
}

/* ---- issue 7: external PSKs, keying material export, kernel TLS (see the declarations) */
#ifdef OPENSSL_NO_PSK
static const int TLS_HAS_PSK = 0;
static void SSL_CTX_set_psk_client_callback(SSL_CTX *ctx, unsigned int (*cb)(SSL *, const char *,
        char *, unsigned int, unsigned char *, unsigned int))
{
    (void)ctx;
    (void)cb;
}
static void SSL_CTX_set_psk_server_callback(SSL_CTX *ctx, unsigned int (*cb)(SSL *, const char *,
        unsigned char *, unsigned int))
{
    (void)ctx;
    (void)cb;
}
static int SSL_CTX_use_psk_identity_hint(SSL_CTX *ctx, const char *hint)
{
    (void)ctx;
    (void)hint;
    return 0;
}
#else
static const int TLS_HAS_PSK = 1;
#endif

#ifdef OPENSSL_NO_KTLS
static const int TLS_HAS_KTLS = 0;
#else
static const int TLS_HAS_KTLS = 1;
#endif

static int tls_SSL_get_ktls_send(SSL *s)
{
    BIO *b = SSL_get_wbio(s);
    return b != NULL && BIO_get_ktls_send(b) ? 1 : 0;
}

static int tls_SSL_get_ktls_recv(SSL *s)
{
    BIO *b = SSL_get_rbio(s);
    return b != NULL && BIO_get_ktls_recv(b) ? 1 : 0;
}

static long long tls_ssl_sendfile(SSL *s, int fd, long long offset, size_t size)
{
    ossl_ssize_t n;
    int err;
    tls_forget_stale_errors();
    errno = 0;
    n = SSL_sendfile(s, fd, (off_t)offset, size, 0);
    if (n >= 0)
        return (long long)n;
    err = SSL_get_error(s, (int)n);
    return -(long long)(err > 0 ? err : SSL_ERROR_SSL);
}

static int tls_SSL_CTX_use_cert_and_key(SSL_CTX *ctx, X509 *leaf, EVP_PKEY *pkey,
                                        OPENSSL_STACK *chain)
{
    return SSL_CTX_use_cert_and_key(ctx, leaf, pkey, (STACK_OF(X509) *)chain, 1);
}
"""
