/*
 * test_json.c - what util/json.h adds to jansson: a parse error that says
 * where, cutting messages off a stream (whole, in pieces cut at every
 * byte, garbage, hostile nesting and numbers), and the byte rule for
 * strings that may not be UTF-8, checked on jansson's written text.
 */
#include <stdlib.h>
#include <string.h>

#include "tests/tap.h"
#include "util/json.h"

static void test_parse(void)
{
	struct xds_err err = {{0}};
	json_t *v = xds_json_parse("{\"a\": [1, 2.5, \"x\"]} ", 21, &err);
	ok(json_integer_value(json_array_get(json_object_get(v, "a"), 0)) == 1 &&
	   json_real_value(json_array_get(json_object_get(v, "a"), 1)) == 2.5,
	   "parses a document (%s)", err.msg);
	json_decref(v);
	v = xds_json_parse("7", 1, &err);
	ok(json_integer_value(v) == 7, "a lone number is a document too");
	json_decref(v);
	v = xds_json_parse("{\"a\":\n [1 2]}", 13, &err);
	ok(!v && strstr(err.msg, "json: line 2 column ") && strstr(err.msg, "(byte 11)") &&
	   strstr(err.msg, "']' expected"), "an error says line, column and byte (%s)", err.msg);
	v = xds_json_parse("{} {}", 5, &err);
	ok(!v && strstr(err.msg, "end of file expected"), "two documents are one too many (%s)", err.msg);
}

/* xds_json_take on s: its result, *used and the message's "n" member. */
static int take(const char *s, size_t len, size_t *used, json_int_t *n, struct xds_err *err)
{
	json_t *m;
	int r = xds_json_take(s, len, &m, used, err);
	*n = json_integer_value(json_object_get(m, "n"));
	json_decref(m);
	return r;
}

static void test_take(void)
{
	struct xds_err err = {{0}};
	size_t used;
	json_int_t n;
	const char *two = "\r\n {\"s\": \"}{\\\"\", \"n\": 1}\r\n{\"n\": 2}";
	is_int(take(two, strlen(two), &used, &n, &err), 1, "a message at the front is taken");
	ok(used == 24 && n == 1, "up to its closing brace, leading whitespace included (%zu)", used);
	is_int(take(two + used, strlen(two + used), &used, &n, &err), 1, "then the next one");
	ok(n == 2 && used == 10, "which is all the rest (%zu)", used);
	is_int(take(" \r\n\t", 4, &used, &n, &err), 0, "whitespace asks for more");
	is_int(used, 4, "and is consumed");

	/* Cut at every byte, inside escapes, numbers, words and UTF-8. */
	const char *msg = "{\"n\": -12, \"t\": true, \"s\": \"d\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80 \\u00e9\\n\"}";
	size_t len = strlen(msg);
	int more = 0;
	for (size_t k = 0; k < len; k++)
		more += take(msg, k, &used, &n, &err) == 0;
	is_int(more, len, "each of its %zu proper prefixes asks for more", len);
	ok(take(msg, len, &used, &n, &err) == 1 && n == -12 && used == len, "the whole is one message");

	ok(take("QEMU says hello\r\n", 17, &used, &n, &err) < 0 && strstr(err.msg, "not JSON"),
	   "text that is not JSON is refused at once (%s)", err.msg);
	ok(take("[1 2]", 5, &used, &n, &err) < 0 && strstr(err.msg, "near '2'"),
	   "a malformed message is refused where it breaks (%s)", err.msg);
	ok(take("[\"a\xff\"]", 5, &used, &n, &err) < 0 && strstr(err.msg, "0xff"),
	   "invalid UTF-8 is refused (%s)", err.msg);
	ok(take("[\"\xc0\xaf\"]", 6, &used, &n, &err) < 0, "an overlong form too");
	ok(take("[\"a\\u0000\"]", 11, &used, &n, &err) < 0, "\\u0000 too (%s)", err.msg);
	ok(take("[\"\\ud800\"]", 10, &used, &n, &err) < 0, "a lone surrogate too (%s)", err.msg);
	ok(take("[123456789012345678901234]", 26, &used, &n, &err) < 0 && strstr(err.msg, "too big"),
	   "an integer beyond int64 is refused (%s)", err.msg);
	ok(take("[1e400]", 7, &used, &n, &err) < 0, "a real beyond double too (%s)", err.msg);
	char deep[4000];
	memset(deep, '[', sizeof deep);
	ok(take(deep, sizeof deep, &used, &n, &err) < 0 && strstr(err.msg, "depth"),
	   "4000 nested arrays are refused, not recursed into (%s)", err.msg);
	char ok_deep[2 * JSON_PARSER_MAX_DEPTH];
	memset(ok_deep, '[', JSON_PARSER_MAX_DEPTH);
	memset(ok_deep + JSON_PARSER_MAX_DEPTH, ']', JSON_PARSER_MAX_DEPTH);
	is_int(take(ok_deep, sizeof ok_deep, &used, &n, &err), 1, "%d levels are accepted",
	       JSON_PARSER_MAX_DEPTH);
}

/* The text jansson writes for xds_json_bytes(s, n). */
static char *written(const char *s, size_t n)
{
	json_t *v = xds_json_bytes(s, n);
	char *text = json_dumps(v, JSON_ENCODE_ANY);
	json_decref(v);
	return text;
}

/* Written, then read back: the string jansson returns (caller frees). */
static char *round_trip(const char *s, size_t n)
{
	char *text = written(s, n), *back = NULL;
	json_t *v = text ? xds_json_parse(text, strlen(text), NULL) : NULL;
	if (json_is_string(v))
		back = strdup(json_string_value(v));
	json_decref(v);
	free(text);
	return back;
}

static void test_bytes(void)
{
	const char awk[] = "a\"b\\c\n\t\x01";
	char *t = written(awk, sizeof awk - 1);
	is_str(t, "\"a\\\"b\\\\c\\n\\t\\u0001\"", "quote, backslash and control bytes escaped per RFC 8259");
	free(t);
	t = round_trip(awk, sizeof awk - 1);
	is_str(t, awk, "and read back as the same bytes");
	free(t);
	t = written("d\xc3\xa9\xe2\x82\xac", 6);
	is_str(t, "\"d\xc3\xa9\xe2\x82\xac\"", "UTF-8 is written as it is, not as \\u escapes");
	free(t);
	t = round_trip("a\xff" "b", 3);
	is_str(t, "a\xef\xbf\xbd" "b", "an invalid byte becomes U+FFFD");
	free(t);
	t = round_trip("x\xe2\x82", 3);
	is_str(t, "x\xef\xbf\xbd\xef\xbf\xbd", "a character cut short: one U+FFFD per byte");
	free(t);
	t = round_trip("\xc0\xaf\xed\xa0\x80\xf4\x90\x80\x80", 9);
	ok(t && strlen(t) == 27, "overlong, surrogate, above U+10FFFF: 9 bytes, 9 U+FFFD (%zu bytes)",
	   t ? strlen(t) : 0);
	free(t);
	t = round_trip("", 0);
	is_str(t, "", "the empty string");
	free(t);
}

int main(void)
{
	test_parse();
	test_take();
	test_bytes();
	return done_testing();
}
