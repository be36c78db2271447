/*
 * json.h - what xds needs beside jansson, which does all JSON parsing and
 * writing (callers use its API: json_t, json_object_get, json_pack ...).
 *
 * Owns three things jansson lacks: a parse whose error value says where
 * (line, column, byte), cutting one message off the front of a stream of
 * JSON messages (QMP), and the rule for bytes that may not be UTF-8.
 *
 * The byte rule, the same in xds-sim's replies, the QMP client and
 * xds-lua's report: a task's comm is bytes, not necessarily UTF-8.  Valid
 * UTF-8 (util/utf8.h) is kept as it is; each byte that begins no valid
 * character becomes U+FFFD, one per byte, so the text keeps the byte
 * count and never holds invalid UTF-8 (jansson refuses to write it).
 * '"', '\' and control characters are escaped as RFC 8259 says (\", \\,
 * \n, \t, \u0001 ...); a reader gets the bytes back exactly when they
 * were UTF-8.
 */
#ifndef XDS_JSON_H
#define XDS_JSON_H

#include <stddef.h>

#include <jansson.h>

#include "util/err.h"

/* Parse one JSON value that is all of text[0..len).  NULL with err
 * "json: line L column C (byte B): what". */
json_t *xds_json_parse(const char *text, size_t len, struct xds_err *err);

/*
 * One JSON object or array from the front of buf[0..len), as a stream
 * carries them: 1 with *out (caller json_decref) and *used the bytes it
 * took, leading whitespace included; 0 when buf holds only whitespace
 * (*used counts it) or the beginning of a message (more bytes needed);
 * -1 with err when the bytes cannot be one.
 */
int xds_json_take(const char *buf, size_t len, json_t **out, size_t *used,
		  struct xds_err *err);

/* A JSON string of the bytes s[0..n) under the byte rule above, or NULL
 * when out of memory. */
json_t *xds_json_bytes(const char *s, size_t n);

#endif
