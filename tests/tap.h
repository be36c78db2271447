/*
 * tap.h - the Test Anything Protocol for the C tests, in one header.
 *
 * A test program calls ok()/is_int()/is_str() as it goes and done_testing()
 * at the end; prove reads the plan from the last line.  Nothing here
 * decides what passes: every check is an assertion the test makes.
 */
#ifndef XDS_TAP_H
#define XDS_TAP_H

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_count, tap_failed;

static inline int tap_vok(int cond, const char *fmt, va_list ap)
{
	tap_count++;
	if (!cond)
		tap_failed++;
	printf("%sok %d - ", cond ? "" : "not ", tap_count);
	vprintf(fmt, ap);
	printf("\n");
	fflush(stdout);
	return cond;
}

static inline int ok(int cond, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static inline int ok(int cond, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = tap_vok(cond, fmt, ap);
	va_end(ap);
	return r;
}

#define is_int(got, want, ...) do {                                        \
	long long g_ = (long long)(got), w_ = (long long)(want);           \
	if (!ok(g_ == w_, __VA_ARGS__))                                    \
		printf("#   got %lld, expected %lld\n", g_, w_);           \
} while (0)

#define is_str(got, want, ...) do {                                        \
	const char *g_ = (got), *w_ = (want);                              \
	if (!ok(g_ && w_ && strcmp(g_, w_) == 0, __VA_ARGS__))             \
		printf("#   got '%s', expected '%s'\n", g_ ? g_ : "(null)", \
		       w_ ? w_ : "(null)");                                \
} while (0)

static inline void diag(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
static inline void diag(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	printf("# ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
}

static inline int done_testing(void)
{
	printf("1..%d\n", tap_count);
	return tap_failed ? 1 : 0;
}

#endif
