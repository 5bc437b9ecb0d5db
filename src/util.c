/* util: small helpers shared by every module: durations, integers, host:port, error
 * messages, printable UTF-8, growable buffers and atomic file writes. */
#include "util.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

bool util_strlcpy(char *dst, const char *src, size_t size)
{
	size_t n = strlen(src);
	if (size == 0)
		return false;
	if (n >= size) {
		memcpy(dst, src, size - 1);
		dst[size - 1] = '\0';
		return false;
	}
	memcpy(dst, src, n + 1);
	return true;
}

void util_copy_cut(char *dst, const char *src, size_t size)
{
	if (!util_strlcpy(dst, src, size))
		return; /* cut: still terminated, good enough for a message */
}

bool util_appendf(char *buf, size_t size, size_t *off, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*off >= size)
		return false;
	va_start(ap, fmt);
	n = vsnprintf(buf + *off, size - *off, fmt, ap);
	va_end(ap);
	if (n < 0) {
		buf[*off] = '\0';
		return false;
	}
	if ((size_t)n >= size - *off) {
		*off = size - 1;
		return false;
	}
	*off += (size_t)n;
	return true;
}

static bool fail_v(char *err, size_t errlen, const char *file, int line, const char *fmt,
                   va_list ap)
{
	size_t off = 0;
	int n = 0;

	if (!err || errlen == 0)
		return false;
	err[0] = '\0';
	if (line > 0)
		n = snprintf(err, errlen, "%s:%d: ", file ? file : "", line);
	else if (file && file[0])
		n = snprintf(err, errlen, "%s: ", file);
	if (n > 0)
		off = (size_t)n < errlen ? (size_t)n : errlen;
	if (off < errlen)
		vsnprintf(err + off, errlen - off, fmt, ap);
	return false;
}

bool util_fail_at(char *err, size_t errlen, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fail_v(err, errlen, file, line, fmt, ap);
	va_end(ap);
	return false;
}

bool util_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fail_v(err, errlen, NULL, 0, fmt, ap);
	va_end(ap);
	return false;
}

bool util_text_ok(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		unsigned c = *p, need;
		uint32_t cp;

		if (c < 0x20 || c == 0x7f)
			return false;
		if (c < 0x80) {
			p++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			need = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			need = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			need = 3;
			cp = c & 0x07;
		} else {
			return false;
		}
		for (unsigned i = 1; i <= need; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (p[i] & 0x3f);
		}
		if ((need == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
		    (need == 3 && (cp < 0x10000 || cp > 0x10ffff)))
			return false;
		p += need + 1;
	}
	return true;
}

bool util_parse_duration(const char *s, uint32_t *ms)
{
	static const struct {
		const char *unit;
		uint64_t ms;
	} units[] = { { "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 } };
	uint64_t v = 0;
	const char *p = s;

	if (!isdigit((unsigned char)*p))
		return false;
	while (isdigit((unsigned char)*p)) {
		v = v * 10 + (uint64_t)(*p - '0');
		if (v > UINT32_MAX)
			return false;
		p++;
	}
	for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
		if (strcmp(p, units[i].unit) == 0) {
			if (v * units[i].ms > UINT32_MAX)
				return false;
			*ms = (uint32_t)(v * units[i].ms);
			return true;
		}
	}
	return false;
}

void util_format_duration(uint32_t ms, char *buf, size_t size)
{
	if (ms != 0 && ms % 3600000 == 0)
		snprintf(buf, size, "%uh", ms / 3600000);
	else if (ms != 0 && ms % 60000 == 0)
		snprintf(buf, size, "%um", ms / 60000);
	else if (ms != 0 && ms % 1000 == 0)
		snprintf(buf, size, "%us", ms / 1000);
	else
		snprintf(buf, size, "%ums", ms);
}

static const struct {
	const char *unit;
	int64_t mult;
} size_units[] = {
	{ "TB", 1LL << 40 }, { "GB", 1LL << 30 }, { "MB", 1LL << 20 }, { "kB", 1LL << 10 },
	{ "B", 1 },          { "", 1 },           { "TiB", 1LL << 40 }, { "GiB", 1LL << 30 },
	{ "MiB", 1LL << 20 }, { "KiB", 1LL << 10 },
};

bool util_parse_size(const char *s, int64_t *bytes)
{
	int64_t v = 0;
	const char *p = s;

	if (!isdigit((unsigned char)*p))
		return false;
	for (; isdigit((unsigned char)*p); p++) {
		if (v > (INT64_MAX - (*p - '0')) / 10)
			return false;
		v = v * 10 + (*p - '0');
	}
	for (size_t i = 0; i < ARRAY_SIZE(size_units); i++) {
		if (strcasecmp(p, size_units[i].unit) == 0) {
			if (v > INT64_MAX / size_units[i].mult)
				return false;
			*bytes = v * size_units[i].mult;
			return true;
		}
	}
	return false;
}

void util_format_size(int64_t bytes, char *buf, size_t size)
{
	for (size_t i = 0; i < 4; i++) {
		if (bytes != 0 && bytes % size_units[i].mult == 0) {
			snprintf(buf, size, "%lld%s", (long long)(bytes / size_units[i].mult),
				 size_units[i].unit);
			return;
		}
	}
	snprintf(buf, size, "%lldB", (long long)bytes);
}

bool util_parse_int(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	if (*s == '\0' || isspace((unsigned char)*s))
		return false;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return false;
	*out = v;
	return true;
}

bool util_parse_bool(const char *s, bool *out)
{
	static const char *yes[] = { "true", "yes", "on", "1" };
	static const char *no[] = { "false", "no", "off", "0" };

	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return true;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return true;
		}
	}
	return false;
}

char *util_trim(char *s)
{
	char *start = s, *end;

	while (isspace((unsigned char)*start))
		start++;
	end = start + strlen(start);
	while (end > start && isspace((unsigned char)end[-1]))
		end--;
	*end = '\0';
	if (start != s)
		memmove(s, start, (size_t)(end - start) + 1);
	return s;
}

static int64_t clock_ms(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t util_now_ms(void)
{
	return clock_ms(CLOCK_MONOTONIC);
}

int64_t util_wall_ms(void)
{
	return clock_ms(CLOCK_REALTIME);
}

int util_write_file_atomic(const char *path, const void *data, size_t len, unsigned mode)
{
	char tmp[PATH_MAX];
	const char *p = data;
	int fd, saved;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, (mode_t)mode);
	if (fd < 0)
		return -1;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		p += n;
		len -= (size_t)n;
	}
	if (fsync(fd) < 0)
		goto fail;
	if (close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) < 0)
		goto fail;
	return 0;
fail:
	saved = errno;
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	errno = saved;
	return -1;
}

char *util_read_file(const char *path, size_t max, size_t *len)
{
	FILE *f = fopen(path, "rbe");
	char *data = NULL;
	size_t n = 0, cap = 0;
	int saved;

	if (!f)
		return NULL;
	for (;;) {
		if (n + 1 >= cap) {
			size_t ncap = cap ? cap * 2 : 4096;
			char *nd;
			if (ncap > max + 2)
				ncap = max + 2;
			nd = realloc(data, ncap);
			if (!nd) {
				errno = ENOMEM;
				goto fail;
			}
			data = nd;
			cap = ncap;
		}
		size_t r = fread(data + n, 1, cap - n - 1, f);
		n += r;
		if (n > max) {
			errno = EFBIG;
			goto fail;
		}
		if (r == 0) {
			if (ferror(f)) {
				errno = EIO;
				goto fail;
			}
			break;
		}
	}
	fclose(f);
	data[n] = '\0';
	if (len)
		*len = n;
	return data;
fail:
	saved = errno;
	fclose(f);
	free(data);
	errno = saved;
	return NULL;
}

bool util_split_hostport(const char *s, char *host, size_t hostsize, uint16_t *port)
{
	const char *colon;
	long p;
	size_t hlen;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (!close || close[1] != ':')
			return false;
		hlen = (size_t)(close - s - 1);
		if (hlen == 0 || hlen >= hostsize)
			return false;
		memcpy(host, s + 1, hlen);
		host[hlen] = '\0';
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon || colon == s || memchr(s, ':', (size_t)(colon - s)))
			return false;
		hlen = (size_t)(colon - s);
		if (hlen >= hostsize)
			return false;
		memcpy(host, s, hlen);
		host[hlen] = '\0';
		if (strcmp(host, "*") == 0)
			host[0] = '\0';
	}
	/* brackets only ever enclose a v6 host: "host:port" must read back as written */
	if (strpbrk(host, "[]"))
		return false;
	if (!util_parse_int(colon + 1, 1, 65535, &p))
		return false;
	*port = (uint16_t)p;
	return true;
}

void buf_init(struct buf *b, size_t max)
{
	b->data = NULL;
	b->len = b->cap = 0;
	b->max = max;
}

void buf_free(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

static bool buf_reserve(struct buf *b, size_t extra)
{
	size_t need = b->len + extra + 1, ncap;
	char *nd;

	if (need <= b->cap)
		return true;
	if (need > b->max + 1)
		return false;
	ncap = b->cap ? b->cap : 256;
	while (ncap < need)
		ncap *= 2;
	if (ncap > b->max + 1)
		ncap = b->max + 1;
	nd = realloc(b->data, ncap);
	if (!nd)
		return false;
	b->data = nd;
	b->cap = ncap;
	return true;
}

bool buf_append(struct buf *b, const void *data, size_t len)
{
	if (!buf_reserve(b, len))
		return false;
	memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
	return true;
}

bool buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !buf_reserve(b, (size_t)n))
		return false;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return true;
}

bool util_parse_cidr(const char *s, struct cidr *c)
{
	char text[INET6_ADDRSTRLEN + 8];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	long bits;
	int max;

	if (alen == 0 || alen >= INET6_ADDRSTRLEN)
		return false;
	memcpy(text, s, alen);
	text[alen] = '\0';
	memset(c, 0, sizeof(*c));
	if (inet_pton(AF_INET, text, c->addr) == 1)
		c->family = AF_INET, max = 32;
	else if (inet_pton(AF_INET6, text, c->addr) == 1)
		c->family = AF_INET6, max = 128;
	else
		return false;
	if (!slash)
		bits = max;
	else if (!isdigit((unsigned char)slash[1]) || !util_parse_int(slash + 1, 0, max, &bits))
		return false;
	c->bits = (int)bits;
	for (int i = c->bits; i < max; i++)
		if (c->addr[i / 8] & (0x80 >> (i % 8)))
			return false;
	return true;
}

void util_format_cidr(const struct cidr *c, char *buf, size_t size)
{
	char a[INET6_ADDRSTRLEN] = "?";
	int max = c->family == AF_INET ? 32 : 128;

	inet_ntop(c->family, c->addr, a, sizeof(a));
	if (c->bits == max)
		snprintf(buf, size, "%s", a);
	else
		snprintf(buf, size, "%s/%d", a, c->bits);
}

bool util_cidr_match(const struct cidr *c, int family, const void *addr)
{
	const uint8_t *a = addr;
	int whole = c->bits / 8, rest = c->bits % 8;

	if (family != c->family)
		return false;
	if (memcmp(a, c->addr, (size_t)whole) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((a[whole] ^ c->addr[whole]) & (uint8_t)(0xff << (8 - rest))) == 0;
}
