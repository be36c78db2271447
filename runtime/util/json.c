/*
 * json.c - jansson's parse with a located error, stream framing, and the
 * byte rule for strings that may not be UTF-8 (see json.h).
 *
 * Framing parses with JSON_DISABLE_EOF_CHECK, which stops after the first
 * complete object or array and reports in error.position the bytes it
 * read.  A message cut short fails where the bytes end, or (cut inside a
 * UTF-8 character) on that character: both mean "wait for more", any
 * other failure is final.  The caller bounds how much it waits for.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/json.h"
#include "util/utf8.h"

static void fail_at(struct xds_err *err, const json_error_t *e, size_t base)
{
	xds_fail(err, "json: line %d column %d (byte %zu): %s", e->line, e->column,
		 base + (size_t)e->position, e->text);
}

json_t *xds_json_parse(const char *text, size_t len, struct xds_err *err)
{
	json_error_t e;
	json_t *v = json_loadb(text, len, JSON_DECODE_ANY, &e);
	if (!v)
		fail_at(err, &e, 0);
	return v;
}

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

int xds_json_take(const char *buf, size_t len, json_t **out, size_t *used,
		  struct xds_err *err)
{
	size_t i = 0;
	while (i < len && is_space(buf[i]))
		i++;
	*out = NULL;
	*used = i;
	if (i == len)
		return 0;
	if (buf[i] != '{' && buf[i] != '[')
		return xds_fail(err, "json: byte %zu: not JSON (a message is an object or an array)", i);
	json_error_t e;
	*out = json_loadb(buf + i, len - i, JSON_DISABLE_EOF_CHECK, &e);
	size_t at = i + (size_t)e.position;
	if (*out) {
		*used = at;
		return 1;
	}
	if (at >= len || json_error_code(&e) == json_error_premature_end_of_input ||
	    (json_error_code(&e) == json_error_invalid_utf8 && utf8_char(buf + at, len - at) < 0))
		return 0;
	fail_at(err, &e, i);
	return -1;
}

json_t *xds_json_bytes(const char *s, size_t n)
{
	static const char fffd[] = "\xef\xbf\xbd";
	size_t i = 0;
	int k;
	while (i < n && (k = utf8_char(s + i, n - i)) > 0)
		i += (size_t)k;
	if (i == n)
		return json_stringn_nocheck(s, n);
	if (n > (SIZE_MAX - 1) / 3)
		return NULL;
	char *fixed = malloc(3 * n + 1);
	if (!fixed)
		return NULL;
	size_t o = 0;
	for (i = 0; i < n; i += k > 0 ? (size_t)k : 1) {
		k = utf8_char(s + i, n - i);
		memcpy(fixed + o, k > 0 ? s + i : fffd, k > 0 ? (size_t)k : 3);
		o += k > 0 ? (size_t)k : 3;
	}
	json_t *v = json_stringn_nocheck(fixed, o);
	free(fixed);
	return v;
}
