/*
 * err.c - formatting of error values (see err.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util/err.h"

int xds_fail(struct xds_err *err, const char *fmt, ...)
{
	if (!err)
		return -1;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof err->msg, fmt, ap);
	va_end(ap);
	return -1;
}

int xds_err_wrap(struct xds_err *err, const char *fmt, ...)
{
	if (!err)
		return -1;
	char prefix[256], old[sizeof err->msg];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof prefix, fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof old);
	if (snprintf(err->msg, sizeof err->msg, "%s: %s", prefix, old) < 0)
		err->msg[0] = 0;
	return -1;
}

int xds_format(struct xds_err *err, char *out, size_t n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = vsnprintf(out, n, fmt, ap);
	va_end(ap);
	if (r < 0 || (size_t)r >= n)
		return xds_fail(err, "name too long: %.80s...", out);
	return 0;
}
