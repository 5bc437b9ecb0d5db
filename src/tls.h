/* tls: OpenSSL on a non-blocking socket, for server.c's TLS listeners. A context holds the
 * certificate, key, client CA and minimum version of one configuration; a session is one
 * connection. server.c calls only this small interface and never sees OpenSSL itself.
 * Functions returning bool: true = ok. */
#ifndef PRIMGR_TLS_H
#define PRIMGR_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

struct ssl_ctx_st; /* OpenSSL's SSL_CTX */
struct ssl_st;     /* OpenSSL's SSL */

/* What an operation needs before it can go on. */
enum tls_io {
	TLS_IO_OK,
	TLS_IO_WANT_READ,   /* call again when the socket is readable */
	TLS_IO_WANT_WRITE,  /* ... writable */
	TLS_IO_EOF,         /* the client closed (close_notify or a bare FIN) */
	TLS_IO_ERROR,       /* a protocol or socket error: close the connection */
};

/* A new server context from cfg's [http] tls_* keys: the certificate chain and key (which
 * must match), the client CA (a client certificate signed by it is then required) and the
 * minimum version. NULL with one line in err ("[http] tls_cert_file: PATH: why"). */
struct ssl_ctx_st *tls_context_new(const struct config *cfg, char *err, size_t errlen) WUR;
/* Drops a reference: sessions made from it keep it alive until they are freed. */
void tls_context_free(struct ssl_ctx_st *ctx);

/* A server session on fd (non-blocking, accepted); NULL when out of memory. */
struct ssl_st *tls_session_new(struct ssl_ctx_st *ctx, int fd);
void tls_session_free(struct ssl_st *s);

/* The handshake, one step: OK when done. On ERROR why says what failed (for a debug log). */
enum tls_io tls_handshake(struct ssl_st *s, char *why, size_t whylen);
/* Reads at most len bytes into buf; *n is how many (OK only with *n > 0). */
enum tls_io tls_read(struct ssl_st *s, void *buf, size_t len, size_t *n);
/* Writes from buf (the same buf and len again after a WANT_*); *n is how many were taken. */
enum tls_io tls_write(struct ssl_st *s, const void *buf, size_t len, size_t *n);
/* Decrypted bytes are buffered in OpenSSL: the socket will not say readable for them. */
bool tls_pending(struct ssl_st *s);
/* Sends our close_notify, without waiting for the client's. */
void tls_close_notify(struct ssl_st *s);

#endif
