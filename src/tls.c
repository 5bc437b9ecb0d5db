/* tls: OpenSSL server sessions on non-blocking sockets driven by server.c's libev
 * watchers. libpq and libcurl use OpenSSL on the same thread: its error queue is shared,
 * so every call here starts from an empty queue and leaves it empty. */
#include "tls.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

/* OpenSSL's first queued error as text (or fallback), and the queue emptied. */
static void tls_error_text(char *buf, size_t size, const char *fallback)
{
	unsigned long e = ERR_peek_error(); /* the first: the cause, not "PEM lib" */

	if (e) {
		char text[256];
		const char *reason = ERR_reason_error_string(e);

		if (!reason) {
			ERR_error_string_n(e, text, sizeof(text));
			reason = text;
		}
		snprintf(buf, size, "%s", reason);
	} else {
		snprintf(buf, size, "%s", fallback);
	}
	ERR_clear_error();
}

struct ssl_ctx_st *tls_context_new(const struct config *cfg, char *err, size_t errlen)
{
	static const unsigned char sid_ctx[] = "primgr";
	char why[256];
	SSL_CTX *ctx;

	ERR_clear_error();
	ctx = SSL_CTX_new(TLS_server_method());
	if (!ctx) {
		tls_error_text(why, sizeof(why), "out of memory");
		util_fail(err, errlen, "TLS context: %s", why);
		return NULL;
	}
	if (!SSL_CTX_set_min_proto_version(ctx, cfg->tls_min_version == TLS_MIN_1_3
							? TLS1_3_VERSION
							: TLS1_2_VERSION)) {
		tls_error_text(why, sizeof(why), "unsupported");
		util_fail(err, errlen, "[http] tls_min_version: %s", why);
		goto fail;
	}
	/* Client-initiated renegotiation costs the server a handshake per request of it. */
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
	/* Partial writes: server.c keeps its offset into the reply itself. Released buffers:
	 * an idle keep-alive connection holds no 34 KiB record buffers. */
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
				      SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
	/* The chain sent is what tls_cert_file holds, not one completed from the client CA
	 * store on every handshake (nginx does the same). */
	SSL_CTX_set_mode(ctx, SSL_MODE_NO_AUTO_CHAIN);
	/* One ticket is enough for a client to resume (each costs an encryption and a write). */
	SSL_CTX_set_num_tickets(ctx, 1);
	/* No session cache inside the process: it would keep a session per handshake (up to
	 * 20,000) and walk them to expire them. Tickets, kept by the clients, still resume. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER | SSL_SESS_CACHE_NO_INTERNAL);
	/* Resumed sessions must come from this service (required with client certificates). */
	SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof(sid_ctx) - 1);
	if (SSL_CTX_use_certificate_chain_file(ctx, cfg->tls_cert_file) != 1) {
		tls_error_text(why, sizeof(why), "cannot read");
		util_fail(err, errlen, "[http] tls_cert_file: %s: %s", cfg->tls_cert_file, why);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, cfg->tls_key_file, SSL_FILETYPE_PEM) != 1) {
		tls_error_text(why, sizeof(why), "cannot read");
		util_fail(err, errlen, "[http] tls_key_file: %s: %s", cfg->tls_key_file, why);
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		tls_error_text(why, sizeof(why), "does not match");
		util_fail(err, errlen, "[http] tls_key_file: %s: %s (tls_cert_file %s)",
			  cfg->tls_key_file, why, cfg->tls_cert_file);
		goto fail;
	}
	if (cfg->tls_client_ca_file[0]) {
		STACK_OF(X509_NAME) *names;

		if (SSL_CTX_load_verify_locations(ctx, cfg->tls_client_ca_file, NULL) != 1 ||
		    !(names = SSL_load_client_CA_file(cfg->tls_client_ca_file))) {
			tls_error_text(why, sizeof(why), "no certificate in it");
			util_fail(err, errlen, "[http] tls_client_ca_file: %s: %s",
				  cfg->tls_client_ca_file, why);
			goto fail;
		}
		SSL_CTX_set_client_CA_list(ctx, names);
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	}
	ERR_clear_error();
	return ctx;
fail:
	SSL_CTX_free(ctx);
	ERR_clear_error();
	return NULL;
}

void tls_context_free(struct ssl_ctx_st *ctx)
{
	SSL_CTX_free(ctx);
}

struct ssl_st *tls_session_new(struct ssl_ctx_st *ctx, int fd)
{
	SSL *s;

	ERR_clear_error();
	s = SSL_new(ctx);
	if (!s || SSL_set_fd(s, fd) != 1) {
		SSL_free(s);
		ERR_clear_error();
		return NULL;
	}
	SSL_set_accept_state(s);
	return s;
}

void tls_session_free(struct ssl_st *s)
{
	SSL_free(s);
}

/* What SSL_get_error says about the return value r of the last call on s. */
static enum tls_io tls_status(SSL *s, int r)
{
	switch (SSL_get_error(s, r)) {
	case SSL_ERROR_WANT_READ:
		return TLS_IO_WANT_READ;
	case SSL_ERROR_WANT_WRITE:
		return TLS_IO_WANT_WRITE;
	case SSL_ERROR_ZERO_RETURN:
		return TLS_IO_EOF;
	case SSL_ERROR_SYSCALL:
		ERR_clear_error();
		/* OpenSSL 3 reports a FIN without close_notify as SSL_ERROR_SSL ("unexpected
		 * eof"); errno 0 here is the same from older versions. */
		return errno == 0 ? TLS_IO_EOF : TLS_IO_ERROR;
	default:
		ERR_clear_error();
		return TLS_IO_ERROR;
	}
}

enum tls_io tls_handshake(struct ssl_st *s, char *why, size_t whylen)
{
	int r, e;
	long v;

	ERR_clear_error();
	errno = 0;
	r = SSL_do_handshake(s);
	if (r == 1)
		return TLS_IO_OK;
	e = SSL_get_error(s, r);
	if (e == SSL_ERROR_WANT_READ)
		return TLS_IO_WANT_READ;
	if (e == SSL_ERROR_WANT_WRITE)
		return TLS_IO_WANT_WRITE;
	v = SSL_get_verify_result(s);
	if (e == SSL_ERROR_SSL && v != X509_V_OK)
		snprintf(why, whylen, "client certificate: %s", X509_verify_cert_error_string(v));
	else if (e == SSL_ERROR_SSL)
		tls_error_text(why, whylen, "protocol error");
	else
		snprintf(why, whylen, "%s", errno ? strerror(errno) : "closed by the client");
	ERR_clear_error();
	return TLS_IO_ERROR;
}

enum tls_io tls_read(struct ssl_st *s, void *buf, size_t len, size_t *n)
{
	ERR_clear_error();
	errno = 0;
	if (SSL_read_ex(s, buf, len, n) == 1)
		return TLS_IO_OK;
	*n = 0;
#ifdef SSL_R_UNEXPECTED_EOF_WHILE_READING /* OpenSSL 3 */
	if (SSL_get_error(s, 0) == SSL_ERROR_SSL &&
	    ERR_GET_REASON(ERR_peek_last_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
		ERR_clear_error();
		return TLS_IO_EOF; /* a client that closes without close_notify */
	}
#endif
	return tls_status(s, 0);
}

enum tls_io tls_write(struct ssl_st *s, const void *buf, size_t len, size_t *n)
{
	ERR_clear_error();
	errno = 0;
	if (SSL_write_ex(s, buf, len, n) == 1)
		return TLS_IO_OK;
	*n = 0;
	return tls_status(s, 0);
}

bool tls_pending(struct ssl_st *s)
{
	return SSL_pending(s) > 0;
}

void tls_close_notify(struct ssl_st *s)
{
	ERR_clear_error();
	if (SSL_is_init_finished(s))
		(void)SSL_shutdown(s);
	ERR_clear_error();
}
