/* t.h: a tiny TAP producer for the unit tests. Each check prints "ok N - name" or
 * "not ok N - name" with the file and line; t_done() prints the plan and returns the
 * exit status. tests/run counts the lines. */
#ifndef PRIMGR_T_H
#define PRIMGR_T_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static int t_count, t_failed;

__attribute__((unused)) static bool t_check(bool ok, const char *file, int line, const char *name)
{
	t_count++;
	if (ok) {
		printf("ok %d - %s\n", t_count, name);
	} else {
		t_failed++;
		printf("not ok %d - %s\n#   at %s:%d\n", t_count, name, file, line);
	}
	fflush(stdout);
	return ok;
}

#define T_OK(cond, name) t_check((cond), __FILE__, __LINE__, (name))

#define T_EQ_INT(got, want, name)                                                         \
	do {                                                                                  \
		long long t_g_ = (long long)(got), t_w_ = (long long)(want);                      \
		if (!t_check(t_g_ == t_w_, __FILE__, __LINE__, (name)))                           \
			printf("#   got %lld, want %lld\n", t_g_, t_w_);                              \
	} while (0)

#define T_EQ_STR(got, want, name)                                                         \
	do {                                                                                  \
		const char *t_g_ = (got), *t_w_ = (want);                                         \
		bool t_ok_ = t_g_ && t_w_ && strcmp(t_g_, t_w_) == 0;                             \
		if (!t_check(t_ok_, __FILE__, __LINE__, (name)))                                  \
			printf("#   got  \"%s\"\n#   want \"%s\"\n", t_g_ ? t_g_ : "(null)",           \
			       t_w_ ? t_w_ : "(null)");                                              \
	} while (0)

__attribute__((unused)) static int t_done(void)
{
	printf("1..%d\n", t_count);
	return t_failed ? 1 : 0;
}

#endif
