/*
 * test_json.c - the JSON reader and writer: values, escapes, round trips,
 * framing, and hostile input (deep nesting, truncation, huge numbers)
 * that must give an error value, never a crash.
 */
#include <stdlib.h>
#include <string.h>

#include "tests/tap.h"
#include "util/json.h"

static struct json *parse(const char *s, struct xds_err *err)
{
	return json_parse(s, strlen(s), err);
}

/* Parse s, print it compactly, compare with want. */
static void round_trip(const char *s, const char *want)
{
	struct xds_err err = {{0}};
	struct json *v = parse(s, &err);
	struct strbuf sb = {0};
	sb_json(&sb, v);
	is_str(v ? sb_str(&sb) : err.msg, want, "round trip of %s", s);
	sb_free(&sb);
	json_free(v);
}

static void rejects(const char *s, size_t len, const char *what,
		    const char *msg_part)
{
	struct xds_err err = {{0}};
	struct json *v = json_parse(s, len, &err);
	ok(v == NULL && strstr(err.msg, msg_part) != NULL,
	   "rejects %s (%s)", what, err.msg);
	json_free(v);
}

static void test_values(void)
{
	struct xds_err err = {{0}};
	const char *doc = "{\"return\": {\"status\": \"paused\", \"running\": false,"
		" \"n\": -42, \"big\": 9007199254740993, \"f\": 2.5e3,"
		" \"list\": [1, null, true, \"x\"]}, \"id\": 7}";
	struct json *v = parse(doc, &err);
	ok(v != NULL, "parses a QMP-like reply (%s)", err.msg);
	struct json *r = json_get(v, "return");
	is_str(json_str(json_get(r, "status")), "paused", "nested string member");
	is_int(json_bool(json_get(r, "running"), -1), 0, "false is 0");
	is_int(json_int(json_get(r, "n"), 0), -42, "negative integer");
	ok(json_int(json_get(r, "big"), 0) == 9007199254740993LL,
	   "integer above 2^53 kept exactly as int64");
	ok(json_num(json_get(r, "f"), 0) == 2500.0 && !json_is_int(json_get(r, "f")),
	   "2.5e3 is the double 2500, not an integer");
	struct json *l = json_get(r, "list");
	is_int(json_len(l), 4, "array length");
	ok(json_is(json_at(l, 1), JSON_NULL), "null element");
	is_int(json_bool(json_at(l, 2), 0), 1, "true element");
	ok(json_at(l, 4) == NULL, "index past the end is NULL");
	ok(json_get(v, "nosuch") == NULL && json_str(json_get(v, "nosuch")) == NULL,
	   "missing key chains to NULL");
	ok(json_int(json_get(r, "status"), 99) == 99, "wrong type gives the default");
	is_str(json_key(v, 1), "id", "keys keep document order");
	struct json *ret = json_take(v, "return");
	ok(ret == r && json_get(v, "return") == NULL && json_len(v) == 1 &&
	   json_int(json_get(v, "id"), 0) == 7, "json_take detaches a member");
	json_free(v);
	is_str(json_str(json_get(ret, "status")), "paused", "taken member outlives its parent");
	json_free(ret);
}

static void test_escapes(void)
{
	struct xds_err err = {{0}};
	struct json *v = parse("\"a\\\"b\\\\c\\/d\\n\\t\\r\\b\\f\"", &err);
	is_str(json_str(v), "a\"b\\c/d\n\t\r\b\f", "simple escapes decode");
	json_free(v);
	v = parse("\"\\u00e9\\u20ac\\ud83d\\ude00\"", &err);
	is_str(json_str(v), "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80",
	       "\\u escapes (2-, 3-byte, surrogate pair) become UTF-8");
	json_free(v);
	v = parse("\"a\\u0000b\"", &err);
	ok(v && json_len(v) == 3 && json_str(v)[1] == 0 && json_str(v)[2] == 'b',
	   "\\u0000 kept inside the string, length 3");
	struct strbuf sb = {0};
	sb_json(&sb, v);
	is_str(sb_str(&sb), "\"a\\u0000b\"", "NUL written back as \\u0000");
	sb_free(&sb);
	json_free(v);
	sb_json_str(&sb, "q\"\\\n\x01z");
	is_str(sb_str(&sb), "\"q\\\"\\\\\\n\\u0001z\"", "sb_json_str escapes");
	sb_free(&sb);
	rejects("\"\\ud800\"", 8, "lone high surrogate", "surrogate");
	rejects("\"\\udc00\"", 8, "lone low surrogate", "surrogate");
	rejects("\"\\x\"", 4, "unknown escape", "invalid escape");
	rejects("\"\\u12g4\"", 8, "bad hex digit", "hex digit");
	rejects("\"a\nb\"", 5, "raw control character", "control character");
}

static void test_round_trips(void)
{
	round_trip(" { \"a\" : [ 1 , 2.5 , -0.125 , true , false , null ] ,"
		   " \"b\" : { } , \"c\" : [ ] , \"d\" : \"\" } ",
		   "{\"a\":[1,2.5,-0.125,true,false,null],\"b\":{},\"c\":[],\"d\":\"\"}");
	round_trip("[-9223372036854775808, 9223372036854775807]",
		   "[-9223372036854775808,9223372036854775807]");
	round_trip("[9223372036854775808]", "[9.2233720368547758e+18]");
	round_trip("\"tab\\there\"", "\"tab\\there\"");
	round_trip("[0.1]", "[0.10000000000000001]");
}

static void test_sb(void)
{
	struct strbuf sb = {0};
	is_str(sb_str(&sb), "", "empty buffer reads as \"\"");
	for (int k = 0; k < 1000; k++)
		sb_printf(&sb, "%d,", k);
	ok(sb.len == strlen(sb.buf) && strncmp(sb.buf, "0,1,2,", 6) == 0 &&
	   strcmp(sb.buf + sb.len - 4, "999,") == 0 && !sb.oom,
	   "sb_printf grows the buffer (%zu bytes)", sb.len);
	sb_reset(&sb);
	sb_puts(&sb, "x");
	is_str(sb_str(&sb), "x", "sb_reset empties");
	sb_free(&sb);
}

static void test_frame(void)
{
	const char *two = "{\"a\":\"}{\\\"\"}\r\n{\"b\":1}";
	long n = json_frame(two, strlen(two));
	is_int(n, 12, "frame ends at the first object's brace, not inside strings");
	is_int(json_frame(two + n, strlen(two + n)), 9, "second frame");
	is_int(json_frame("{\"a\":[1,", 8), 0, "incomplete frame asks for more");
	is_int(json_frame("  \r\n", 4), 0, "whitespace only asks for more");
	is_int(json_frame("x{}", 3), -1, "garbage cannot start a frame");
}

static void test_hostile(void)
{
	char deep[4096];
	memset(deep, '[', sizeof deep);
	rejects(deep, sizeof deep, "4096 nested arrays", "nesting too deep");
	char ok64[2 * JSON_MAX_DEPTH + 1];
	memset(ok64, '[', JSON_MAX_DEPTH);
	memset(ok64 + JSON_MAX_DEPTH, ']', JSON_MAX_DEPTH);
	struct xds_err err = {{0}};
	struct json *v = json_parse(ok64, 2 * JSON_MAX_DEPTH, &err);
	ok(v != NULL, "exactly JSON_MAX_DEPTH levels are accepted");
	json_free(v);
	rejects("{\"a\": [1, 2", 11, "truncated array", "truncated");
	rejects("{\"a\": \"xyz", 10, "truncated string", "unterminated string");
	rejects("{\"a\" 1}", 7, "missing colon", "expected ':'");
	rejects("[1 2]", 5, "missing comma", "expected ','");
	rejects("[1,]", 4, "trailing comma", "unexpected character");
	rejects("{1:2}", 5, "non-string key", "string key");
	rejects("1e400", 5, "number overflowing a double", "out of range");
	rejects("-", 1, "lone minus", "invalid number");
	rejects("01", 2, "leading zero", "trailing");
	rejects("1.", 2, "dot without digits", "digit expected");
	rejects("tru", 3, "truncated literal", "invalid literal");
	rejects("{} {}", 5, "two documents", "trailing");
	rejects("", 0, "empty input", "truncated");
	char longnum[300];
	memset(longnum, '7', sizeof longnum);
	rejects(longnum, sizeof longnum, "a 300-digit number", "too long");
	v = json_parse("12345678901234567890123", 23, &err);
	ok(v && !json_is_int(v) && json_num(v, 0) > 1.2e22,
	   "a 23-digit integer becomes a double, not a wrapped int64");
	json_free(v);
	rejects("[\"a\"]", JSON_MAX_TEXT + 1ul, "text over JSON_MAX_TEXT", "exceeds");
	ok(json_parse(NULL, 0, &err) == NULL, "NULL text is an error");
	/* Many small elements: bounded only by the text, freed without leaks. */
	size_t n = 200000;
	char *big = malloc(2 * n + 2);
	big[0] = '[';
	for (size_t k = 0; k < n; k++) {
		big[1 + 2 * k] = '0';
		big[2 + 2 * k] = ',';
	}
	big[2 * n] = ']';
	v = json_parse(big, 2 * n + 1, &err);
	is_int(json_len(v), n, "an array of 200000 zeros");
	json_free(v);
	free(big);
}

int main(void)
{
	test_values();
	test_escapes();
	test_round_trips();
	test_sb();
	test_frame();
	test_hostile();
	return done_testing();
}
