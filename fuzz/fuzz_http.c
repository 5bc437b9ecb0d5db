/* fuzz_http: the HTTP/1.x request parser as the server drives it. The input is raw bytes
 * from a client. Checks: the parser never reads past len (ASan), an OK result is sane, a
 * prefix of a whole request head is INCOMPLETE (the server parses again as bytes arrive),
 * and each parsed request of a pipeline gets a well-formed response from a real snapshot. */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "fuzz.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "state.h"

static struct config cfg;

/* A snapshot like a healthy primary's, so every route formats a full body. */
static void publish_snapshot(void)
{
	struct snapshot *s = calloc(1, sizeof(*s));
	static const char *const names[] = { "node1", "node-2", "n\xc3\xa9ud3" };

	if (!s || !(s->nodes = calloc(3, sizeof(*s->nodes))))
		abort();
	s->seq = 1;
	s->made_ms = 1000;
	s->made_wall_ms = 1700000000000;
	s->c.verdict = VERDICT_PRIMARY;
	s->c.primary_id = 1;
	s->c.voters = 3;
	s->c.quorum = 2;
	s->c.votes = 3;
	strcpy(s->c.reason, "3 of 3 votes");
	s->db_up = true;
	s->timeline = 1;
	s->self_id = 1;
	strcpy(s->self_name, "node1");
	strcpy(s->self_location, "dc1");
	strcpy(s->primary_name, "node1");
	s->nnodes = 3;
	for (int i = 0; i < 3; i++) {
		struct node_view *v = &s->nodes[i];
		v->node.id = i + 1;
		strcpy(v->node.name, names[i]);
		v->node.type = i == 0 ? NODE_PRIMARY : NODE_STANDBY;
		v->node.active = true;
		strcpy(v->node.location, "dc1");
		v->vote.status = i == 0 ? PEER_UNPOLLED : PEER_ANSWERED;
		v->vote.named_id = 1;
		strcpy(v->vote.named_name, "node1");
		v->reply_ms = i == 0 ? -1 : 3;
	}
	state_publish(s);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log_set_level(LOG_ERR);
	config_defaults(&cfg);
	publish_snapshot();
	http_set_metrics(metrics_format);
	return 0;
}

/* A response is a status line, headers ending in an empty line, and exactly
 * Content-Length body bytes (none for HEAD). */
static void check_response(const struct buf *out, bool head_only)
{
	const char *end, *cl;
	size_t hlen;
	unsigned long blen;

	FUZZ_CHECK(out->len > 12 && memcmp(out->data, "HTTP/1.1 ", 9) == 0);
	end = memmem(out->data, out->len, "\r\n\r\n", 4);
	FUZZ_CHECK(end != NULL);
	hlen = (size_t)(end - out->data) + 4;
	cl = memmem(out->data, hlen, "Content-Length: ", 16);
	FUZZ_CHECK(cl != NULL);
	blen = strtoul(cl + 16, NULL, 10);
	FUZZ_CHECK(out->len - hlen == (head_only ? 0 : blen));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The server's buffer is NUL-terminated after the bytes read; the parser gets len. */
	char *buf = malloc(size + 1);
	size_t off = 0;
	struct buf out;

	if (!buf)
		abort();
	memcpy(buf, data, size);
	buf[size] = '\0';
	buf_init(&out, 1 << 20);
	for (int i = 0; i < 64 && off <= size; i++) {
		struct http_request req, again;
		enum http_parse r = http_parse_request(buf + off, size - off, &req);

		if (r == HTTP_PARSE_INCOMPLETE) {
			FUZZ_CHECK(size - off < HTTP_MAX_HEAD);
			break;
		}
		buf_reset(&out);
		if (r != HTTP_PARSE_OK) {
			FUZZ_CHECK(http_respond_error(r, &out));
			check_response(&out, false);
			break;
		}
		FUZZ_CHECK(req.head_len > 0 && req.head_len <= size - off);
		FUZZ_CHECK(req.head_len <= HTTP_MAX_HEAD);
		FUZZ_CHECK(fuzz_terminated(req.path, sizeof(req.path)));
		FUZZ_CHECK(req.minor == 0 || req.minor == 1);
		FUZZ_CHECK(!(req.keep_alive && req.has_body));
		/* The head alone parses the same; one byte less is not yet a request. */
		FUZZ_CHECK(http_parse_request(buf + off, req.head_len, &again) == HTTP_PARSE_OK);
		FUZZ_CHECK(again.head_len == req.head_len && strcmp(again.path, req.path) == 0);
		FUZZ_CHECK(http_parse_request(buf + off, req.head_len - 1, &again) ==
		           HTTP_PARSE_INCOMPLETE);
		FUZZ_CHECK(fuzz_terminated(req.query, sizeof(req.query)));
		if (http_respond(&req, &cfg, 1500, &out))
			check_response(&out, req.method == HTTP_HEAD || req.method == HTTP_OPTIONS);
		else
			FUZZ_CHECK(strcmp(req.path, "/realPrimary") == 0 && req.query[0] == '\0');
		off += req.head_len;
	}
	buf_free(&out);
	free(buf);
	return 0;
}
