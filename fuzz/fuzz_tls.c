/* fuzz_tls: the TLS accept path (tls.c) as server.c drives it, fed what a client sends
 * before the handshake is done: truncated, garbage or mangled ClientHellos. The input
 * (the client's bytes, with the end of the input as the client's FIN or, when its first
 * byte is odd, as a client that stays silent) is written into one end of a socket pair;
 * the other end gets a server session from a real context (a certificate and key made at
 * start, client certificates required, as a tls_listen with tls_client_ca_file). Checks:
 * no crash and no leak (ASan), the handshake ends in WANT_READ (the client owes more) or an
 * error, never OK (bytes fixed in advance cannot answer our random), and once it failed
 * the session stays failed. */
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../tests/selfsigned.h"
#include "fuzz.h"
#include "tls.h"

static struct ssl_ctx_st *ctx;

/* A self-signed P-256 certificate and key, written to fresh files named in cfg. */
static void make_files(struct config *cfg)
{
	char cert[] = "/tmp/fuzz_tls_cert.XXXXXX", key[] = "/tmp/fuzz_tls_key.XXXXXX";

	if (!selfsigned_write("fuzz", cert, key))
		abort();
	strcpy(cfg->tls_cert_file, cert);
	strcpy(cfg->tls_key_file, key);
	strcpy(cfg->tls_client_ca_file, cert); /* client certificates required */
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static struct config cfg;
	char err[512];

	config_defaults(&cfg);
	make_files(&cfg);
	ctx = tls_context_new(&cfg, err, sizeof(err));
	unlink(cfg.tls_cert_file);
	unlink(cfg.tls_key_file);
	if (!ctx) {
		fprintf(stderr, "fuzz_tls: %s\n", err);
		abort();
	}
	return 0;
}

/* Reads and drops what the server sent, so that its writes never block. */
static void drain(int fd)
{
	char b[4096];

	while (read(fd, b, sizeof(b)) > 0)
		;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int sv[2];
	struct ssl_st *s;
	bool silent = size > 0 && (data[0] & 1);
	enum tls_io r = TLS_IO_WANT_READ;
	char why[200];

	if (size > 0) {
		data++;
		size--;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) < 0)
		abort();
	/* The pair's buffer holds far more than max_len: one write sends it all. */
	if (size > 0 && write(sv[1], data, size) != (ssize_t)size)
		abort();
	if (!silent)
		shutdown(sv[1], SHUT_WR);
	s = tls_session_new(ctx, sv[0]);
	FUZZ_CHECK(s != NULL);
	/* As server.c: step while the socket has what OpenSSL waits for. */
	for (int i = 0; i < 64; i++) {
		r = tls_handshake(s, why, sizeof(why));
		FUZZ_CHECK(r != TLS_IO_OK);
		drain(sv[1]);
		if (r != TLS_IO_WANT_WRITE)
			break;
	}
	FUZZ_CHECK(r == TLS_IO_WANT_READ || r == TLS_IO_ERROR);
	if (r == TLS_IO_ERROR) {
		FUZZ_CHECK(why[0] != '\0');
		FUZZ_CHECK(tls_handshake(s, why, sizeof(why)) == TLS_IO_ERROR);
	} else {
		char b[64];
		size_t n = 0;

		/* Not done: a read is refused the same way, with nothing delivered. */
		FUZZ_CHECK(tls_read(s, b, sizeof(b), &n) != TLS_IO_OK && n == 0);
	}
	tls_close_notify(s);
	tls_session_free(s);
	close(sv[0]);
	close(sv[1]);
	return 0;
}
