/* util: small helpers shared by every module (no I/O but the atomic file write). */
#ifndef PRIMGR_UTIL_H
#define PRIMGR_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WUR __attribute__((warn_unused_result))

#define container_of(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Copies at most size-1 bytes and always terminates; returns true when src fit whole. */
bool util_strlcpy(char *dst, const char *src, size_t size) WUR;

/* util_strlcpy for texts where a cut copy is good enough (messages, names shown to people). */
void util_copy_cut(char *dst, const char *src, size_t size);

/* Appends formatted text at *off, never past size; returns false (and leaves the
 * buffer terminated) when the text did not fit. */
bool util_appendf(char *buf, size_t size, size_t *off, const char *fmt, ...)
	__attribute__((format(printf, 4, 5))) WUR;

/* Writes an error into err (at most errlen bytes, always terminated; err may be NULL):
 * "file:line: " when line > 0, "file: " when only file is set, then the message. Returns
 * false, so a failed check reads `return util_fail_at(...)`. */
bool util_fail_at(char *err, size_t errlen, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* util_fail_at without a place. Returns false. */
bool util_fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Node names, locations and hosts end up in JSON bodies, logs and the cache file: true when
 * s is valid UTF-8 (jansson refuses anything else) without control characters. */
bool util_text_ok(const char *s);

/* Parses "250ms", "2s", "1m", "1h" (integer and unit, no spaces) into milliseconds.
 * Returns false on anything else or on overflow past UINT32_MAX ms. */
bool util_parse_duration(const char *s, uint32_t *ms) WUR;

/* Formats ms back into the shortest exact unit ("250ms", "2s", "1m"). */
void util_format_duration(uint32_t ms, char *buf, size_t size);

/* Parses a size: a whole number and an optional unit B, kB, MB, GB, TB (1024-based, as
 * PostgreSQL; KiB.. TiB too, case-insensitive), no spaces, at most INT64_MAX bytes. */
bool util_parse_size(const char *s, int64_t *bytes) WUR;

/* Formats bytes in the largest exact unit ("16MB", "1500B"). */
void util_format_size(int64_t bytes, char *buf, size_t size);

/* Parses a base-10 integer in [min, max] with nothing trailing. */
bool util_parse_int(const char *s, long min, long max, long *out) WUR;

/* Parses true/false/yes/no/on/off/1/0 (case-insensitive). */
bool util_parse_bool(const char *s, bool *out) WUR;

/* Trims ASCII whitespace at both ends in place; returns s. */
char *util_trim(char *s);

/* Monotonic and wall clocks in milliseconds. */
int64_t util_now_ms(void);
int64_t util_wall_ms(void);

/* Writes data to path.tmp.PID, fsyncs and renames it over path.
 * Returns 0, or -1 with errno set. */
int util_write_file_atomic(const char *path, const void *data, size_t len, unsigned mode) WUR;

/* Reads a whole file of at most max bytes into a NUL-terminated malloc'd buffer.
 * Returns NULL with errno set (EFBIG when larger than max). */
char *util_read_file(const char *path, size_t max, size_t *len) WUR;

/* Splits "host:port", "[v6]:port" or "*:port" into host (empty for "*") and port.
 * Returns false on a malformed address or a port outside 1-65535. */
bool util_split_hostport(const char *s, char *host, size_t hostsize, uint16_t *port) WUR;

/* An address block of an allowlist: family AF_INET or AF_INET6, the address in network
 * order (4 or 16 bytes used) and the prefix length. */
struct cidr {
	int family;
	uint8_t addr[16];
	int bits;
};

/* Parses "10.0.0.0/8", "192.0.2.7", "2001:db8::/32" or "::1" (no /bits: the one address).
 * Refuses host bits set past the prefix ("10.1.0.0/8"): the author meant something else. */
bool util_parse_cidr(const char *s, struct cidr *c) WUR;

/* "10.0.0.0/8", or the bare address when the prefix is the whole of it. */
void util_format_cidr(const struct cidr *c, char *buf, size_t size);

/* True when addr (4 or 16 bytes in network order, of family) is inside c. An IPv4 address
 * seen by a dual-stack socket (::ffff:a.b.c.d) is given here as AF_INET by the caller. */
bool util_cidr_match(const struct cidr *c, int family, const void *addr);

/* A growable byte buffer; buf_* return false when growing past max or out of memory. */
struct buf {
	char *data;
	size_t len, cap, max;
};
void buf_init(struct buf *b, size_t max);
void buf_free(struct buf *b);
void buf_reset(struct buf *b);
bool buf_append(struct buf *b, const void *data, size_t len) WUR;
bool buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3))) WUR;

#endif
