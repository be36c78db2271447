/*
 * err.h - errors as values.
 *
 * A function that can fail returns -1 (or NULL) and fills a struct xds_err
 * with one line saying what failed and where: the guest, the address, the
 * file and line.  Callers add context by prefixing (xds_err_wrap); the CLI
 * prints the message once, at the top.  No errno juggling, no exits.
 */
#ifndef XDS_ERR_H
#define XDS_ERR_H

#include <stddef.h>

struct xds_err {
	char msg[512];
};

/* Format the error; returns -1 so that `return xds_fail(err, ...)` reads well.
 * err may be NULL (the message is then dropped). */
int xds_fail(struct xds_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Prefix an existing message: "ctx: old message".  Returns -1. */
int xds_err_wrap(struct xds_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* snprintf that refuses to truncate: -1 with "name too long" in err. */
int xds_format(struct xds_err *err, char *out, size_t n, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif
