/* fuzz.h: what the libFuzzer targets share: a reader that splits one input into typed
 * fields (so one corpus file drives several arguments), and a check that aborts, so a
 * broken invariant is a crash libFuzzer keeps. Header-only: each target is one file. */
#ifndef PRIMGR_FUZZ_H
#define PRIMGR_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The input, consumed from the front. */
struct fuzz_in {
	const uint8_t *p;
	size_t n;
};

/* An invariant the code under test promises; failing it is a bug, reported as a crash. */
#define FUZZ_CHECK(cond)                                                                   \
	do {                                                                               \
		if (!(cond)) {                                                             \
			fprintf(stderr, "%s:%d: FUZZ_CHECK failed: %s\n", __FILE__, __LINE__, \
			        #cond);                                                    \
			abort();                                                           \
		}                                                                          \
	} while (0)

__attribute__((unused)) static uint8_t fuzz_byte(struct fuzz_in *in)
{
	uint8_t b;

	if (in->n == 0)
		return 0;
	b = *in->p++;
	in->n--;
	return b;
}

__attribute__((unused)) static uint32_t fuzz_u32(struct fuzz_in *in)
{
	uint32_t v = 0;

	for (int i = 0; i < 4; i++)
		v = (v << 8) | fuzz_byte(in);
	return v;
}

__attribute__((unused)) static int64_t fuzz_i64(struct fuzz_in *in)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = (v << 8) | fuzz_byte(in);
	return (int64_t)v;
}

/* The next field: bytes up to a '\n' (not included) or the end, copied NUL-terminated
 * into dst (cut at size - 1; embedded NULs kept, so C strings see a prefix). Seeds are
 * plain text, one field per line. */
__attribute__((unused)) static size_t fuzz_field(struct fuzz_in *in, char *dst, size_t size)
{
	const uint8_t *nl = memchr(in->p, '\n', in->n);
	size_t len = nl ? (size_t)(nl - in->p) : in->n;
	size_t copy = len < size - 1 ? len : size - 1;

	memcpy(dst, in->p, copy);
	dst[copy] = '\0';
	in->p += len + (nl ? 1 : 0);
	in->n -= len + (nl ? 1 : 0);
	return copy;
}

/* The rest of the input as a malloc'd NUL-terminated string (the caller frees). */
__attribute__((unused)) static char *fuzz_rest(struct fuzz_in *in, size_t *len)
{
	char *s = malloc(in->n + 1);

	if (!s)
		abort();
	memcpy(s, in->p, in->n);
	s[in->n] = '\0';
	*len = in->n;
	in->p += in->n;
	in->n = 0;
	return s;
}

/* s is NUL-terminated within size bytes. */
__attribute__((unused)) static bool fuzz_terminated(const char *s, size_t size)
{
	return memchr(s, '\0', size) != NULL;
}

#endif
