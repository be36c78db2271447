/*
 * json.c - JSON text to tree and back (see json.h).
 *
 * A recursive-descent parser over a bounded buffer: the depth counter
 * bounds recursion, the end pointer bounds every scan, and every node is
 * owned by its parent so json_free of the root releases all.  Objects keep
 * their members in order (a small vector, linear lookup: QMP documents
 * are small).  The writer side is struct strbuf.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/json.h"

#define JSON_MAX_NUMBER 128     /* characters in one number */

struct json {
	enum json_type type;
	int boolean;
	int is_int;
	double num;
	int64_t i;
	char *str;              /* JSON_STR: NUL-terminated, len bytes */
	size_t len;
	struct json **items;    /* JSON_ARR / JSON_OBJ: n values */
	char **keys;            /* JSON_OBJ: n keys */
	size_t n, cap;
};

struct parser {
	const char *start, *p, *end;
	int depth;
	struct xds_err *err;
};

static struct json *parse_value(struct parser *ps);

static int perr(struct parser *ps, const char *what)
{
	return xds_fail(ps->err, "json: offset %zu: %s",
			(size_t)(ps->p - ps->start), what);
}

static void skip_ws(struct parser *ps)
{
	while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' ||
				   *ps->p == '\n' || *ps->p == '\r'))
		ps->p++;
}

static struct json *new_node(struct parser *ps, enum json_type t)
{
	struct json *v = calloc(1, sizeof *v);
	if (!v)
		perr(ps, "out of memory");
	else
		v->type = t;
	return v;
}

static int match_word(struct parser *ps, const char *word)
{
	size_t n = strlen(word);
	if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0)
		return perr(ps, "invalid literal");
	ps->p += n;
	return 0;
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Scan the number grammar of RFC 8259; *integral says no '.', no exponent. */
static int scan_number(struct parser *ps, int *integral)
{
	const char *p = ps->p, *e = ps->end;
	*integral = 1;
	if (p < e && *p == '-')
		p++;
	if (p < e && *p == '0')
		p++;
	else if (p < e && is_digit(*p))
		while (p < e && is_digit(*p))
			p++;
	else
		return perr(ps, "invalid number");
	if (p < e && *p == '.') {
		*integral = 0;
		if (++p >= e || !is_digit(*p))
			return perr(ps, "invalid number: digit expected after '.'");
		while (p < e && is_digit(*p))
			p++;
	}
	if (p < e && (*p == 'e' || *p == 'E')) {
		*integral = 0;
		p++;
		if (p < e && (*p == '+' || *p == '-'))
			p++;
		if (p >= e || !is_digit(*p))
			return perr(ps, "invalid number: digit expected in exponent");
		while (p < e && is_digit(*p))
			p++;
	}
	if (p - ps->p > JSON_MAX_NUMBER)
		return perr(ps, "number too long");
	return (int)(p - ps->p);
}

static struct json *parse_number(struct parser *ps)
{
	int integral;
	int n = scan_number(ps, &integral);
	if (n < 0)
		return NULL;
	char buf[JSON_MAX_NUMBER + 1];
	memcpy(buf, ps->p, (size_t)n);
	buf[n] = 0;
	double d = strtod(buf, NULL);
	if (isinf(d)) {
		perr(ps, "number out of range");
		return NULL;
	}
	struct json *v = new_node(ps, JSON_NUM);
	if (!v)
		return NULL;
	v->num = d;
	if (integral) {
		errno = 0;
		long long ll = strtoll(buf, NULL, 10);
		if (errno == 0) {
			v->is_int = 1;
			v->i = ll;
		}
	}
	ps->p += n;
	return v;
}

static int hex4(struct parser *ps, unsigned *out)
{
	if (ps->end - ps->p < 4)
		return perr(ps, "truncated \\u escape");
	unsigned u = 0;
	for (int k = 0; k < 4; k++) {
		char c = ps->p[k];
		u <<= 4;
		if (is_digit(c))
			u |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			u |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			u |= (unsigned)(c - 'A' + 10);
		else
			return perr(ps, "invalid hex digit in \\u escape");
	}
	ps->p += 4;
	*out = u;
	return 0;
}

static void put_utf8(struct strbuf *sb, unsigned cp)
{
	char b[4];
	size_t n;
	if (cp < 0x80) {
		b[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (char)(0xc0 | (cp >> 6));
		b[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (char)(0xe0 | (cp >> 12));
		b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		b[0] = (char)(0xf0 | (cp >> 18));
		b[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		b[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	sb_append(sb, b, n);
}

/* \uXXXX, with a following \uXXXX when the first is a high surrogate. */
static int parse_uescape(struct parser *ps, struct strbuf *sb)
{
	unsigned cp, lo;
	if (hex4(ps, &cp) < 0)
		return -1;
	if (cp >= 0xdc00 && cp <= 0xdfff)
		return perr(ps, "unpaired low surrogate in \\u escape");
	if (cp >= 0xd800 && cp <= 0xdbff) {
		if (ps->end - ps->p < 2 || ps->p[0] != '\\' || ps->p[1] != 'u')
			return perr(ps, "unpaired high surrogate in \\u escape");
		ps->p += 2;
		if (hex4(ps, &lo) < 0)
			return -1;
		if (lo < 0xdc00 || lo > 0xdfff)
			return perr(ps, "invalid low surrogate in \\u escape");
		cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
	}
	put_utf8(sb, cp);
	return 0;
}

static int parse_escape(struct parser *ps, struct strbuf *sb)
{
	if (ps->p >= ps->end)
		return perr(ps, "truncated escape");
	char c = *ps->p++;
	switch (c) {
	case '"': case '\\': case '/': sb_putc(sb, c); return 0;
	case 'b': sb_putc(sb, '\b'); return 0;
	case 'f': sb_putc(sb, '\f'); return 0;
	case 'n': sb_putc(sb, '\n'); return 0;
	case 'r': sb_putc(sb, '\r'); return 0;
	case 't': sb_putc(sb, '\t'); return 0;
	case 'u': return parse_uescape(ps, sb);
	default:
		ps->p--;
		return perr(ps, "invalid escape");
	}
}

/* At the opening quote; on success sb holds the decoded bytes. */
static int parse_string_into(struct parser *ps, struct strbuf *sb)
{
	ps->p++;
	for (;;) {
		const char *run = ps->p;
		while (ps->p < ps->end && *ps->p != '"' && *ps->p != '\\' &&
		       (unsigned char)*ps->p >= 0x20)
			ps->p++;
		sb_append(sb, run, (size_t)(ps->p - run));
		if (ps->p >= ps->end)
			return perr(ps, "unterminated string");
		char c = *ps->p;
		if (c == '"') {
			ps->p++;
			break;
		}
		if (c != '\\')
			return perr(ps, "control character in string");
		ps->p++;
		if (parse_escape(ps, sb) < 0)
			return -1;
	}
	if (!sb->buf)
		sb_append(sb, "", 0);   /* an empty string still owns a "" */
	return sb->oom ? perr(ps, "out of memory") : 0;
}

static struct json *parse_string(struct parser *ps)
{
	struct strbuf sb = {0};
	if (parse_string_into(ps, &sb) < 0) {
		sb_free(&sb);
		return NULL;
	}
	struct json *v = new_node(ps, JSON_STR);
	if (!v) {
		sb_free(&sb);
		return NULL;
	}
	v->str = sb.buf;
	v->len = sb.len;
	return v;
}

static int push(struct parser *ps, struct json *c, struct json *item, char *key)
{
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 4;
		struct json **items = realloc(c->items, cap * sizeof *items);
		if (!items)
			return perr(ps, "out of memory");
		c->items = items;
		if (c->type == JSON_OBJ) {
			char **keys = realloc(c->keys, cap * sizeof *keys);
			if (!keys)
				return perr(ps, "out of memory");
			c->keys = keys;
		}
		c->cap = cap;
	}
	c->items[c->n] = item;
	if (c->type == JSON_OBJ)
		c->keys[c->n] = key;
	c->n++;
	return 0;
}

static int parse_member(struct parser *ps, struct json *obj)
{
	skip_ws(ps);
	if (ps->p >= ps->end || *ps->p != '"')
		return perr(ps, "expected a string key");
	struct strbuf key = {0};
	if (parse_string_into(ps, &key) < 0) {
		sb_free(&key);
		return -1;
	}
	skip_ws(ps);
	if (ps->p >= ps->end || *ps->p != ':') {
		sb_free(&key);
		return perr(ps, "expected ':'");
	}
	ps->p++;
	struct json *val = parse_value(ps);
	if (!val || push(ps, obj, val, key.buf) < 0) {
		json_free(val);
		sb_free(&key);
		return -1;
	}
	return 0;
}

static int parse_element(struct parser *ps, struct json *c)
{
	if (c->type == JSON_OBJ)
		return parse_member(ps, c);
	struct json *val = parse_value(ps);
	if (!val || push(ps, c, val, NULL) < 0) {
		json_free(val);
		return -1;
	}
	return 0;
}

/* Array or object: at '[' or '{'. */
static struct json *parse_container(struct parser *ps, enum json_type t)
{
	char close = t == JSON_ARR ? ']' : '}';
	if (++ps->depth > JSON_MAX_DEPTH) {
		perr(ps, "nesting too deep");
		return NULL;
	}
	struct json *c = new_node(ps, t);
	if (!c)
		return NULL;
	ps->p++;
	skip_ws(ps);
	if (ps->p < ps->end && *ps->p == close) {
		ps->p++;
		ps->depth--;
		return c;
	}
	for (;;) {
		if (parse_element(ps, c) < 0)
			break;
		skip_ws(ps);
		if (ps->p >= ps->end) {
			perr(ps, "truncated input");
			break;
		}
		if (*ps->p == close) {
			ps->p++;
			ps->depth--;
			return c;
		}
		if (*ps->p != ',') {
			perr(ps, t == JSON_ARR ? "expected ',' or ']'"
					       : "expected ',' or '}'");
			break;
		}
		ps->p++;
	}
	json_free(c);
	return NULL;
}

static struct json *parse_literal(struct parser *ps, const char *word,
				  enum json_type t, int b)
{
	if (match_word(ps, word) < 0)
		return NULL;
	struct json *v = new_node(ps, t);
	if (v)
		v->boolean = b;
	return v;
}

static struct json *parse_value(struct parser *ps)
{
	skip_ws(ps);
	if (ps->p >= ps->end) {
		perr(ps, "truncated input");
		return NULL;
	}
	switch (*ps->p) {
	case '{': return parse_container(ps, JSON_OBJ);
	case '[': return parse_container(ps, JSON_ARR);
	case '"': return parse_string(ps);
	case 't': return parse_literal(ps, "true", JSON_BOOL, 1);
	case 'f': return parse_literal(ps, "false", JSON_BOOL, 0);
	case 'n': return parse_literal(ps, "null", JSON_NULL, 0);
	default:
		if (*ps->p == '-' || is_digit(*ps->p))
			return parse_number(ps);
		perr(ps, "unexpected character");
		return NULL;
	}
}

struct json *json_parse(const char *text, size_t len, struct xds_err *err)
{
	if (!text) {
		xds_fail(err, "json: no text");
		return NULL;
	}
	if (len > JSON_MAX_TEXT) {
		xds_fail(err, "json: document of %zu bytes exceeds %u", len,
			 JSON_MAX_TEXT);
		return NULL;
	}
	struct parser ps = { text, text, text + len, 0, err };
	struct json *v = parse_value(&ps);
	if (!v)
		return NULL;
	skip_ws(&ps);
	if (ps.p != ps.end) {
		perr(&ps, "trailing characters after the value");
		json_free(v);
		return NULL;
	}
	return v;
}

void json_free(struct json *v)
{
	if (!v)
		return;
	for (size_t k = 0; k < v->n; k++) {
		json_free(v->items[k]);
		if (v->keys)
			free(v->keys[k]);
	}
	free(v->items);
	free(v->keys);
	free(v->str);
	free(v);
}

enum json_type json_type(const struct json *v)
{
	return v ? v->type : JSON_NULL;
}

int json_is(const struct json *v, enum json_type t)
{
	return v && v->type == t;
}

static long find_key(const struct json *obj, const char *key)
{
	if (!obj || obj->type != JSON_OBJ || !key)
		return -1;
	for (size_t k = 0; k < obj->n; k++)
		if (strcmp(obj->keys[k], key) == 0)
			return (long)k;
	return -1;
}

struct json *json_get(const struct json *obj, const char *key)
{
	long k = find_key(obj, key);
	return k < 0 ? NULL : obj->items[k];
}

struct json *json_at(const struct json *v, size_t i)
{
	if (!v || (v->type != JSON_ARR && v->type != JSON_OBJ) || i >= v->n)
		return NULL;
	return v->items[i];
}

const char *json_key(const struct json *obj, size_t i)
{
	if (!obj || obj->type != JSON_OBJ || i >= obj->n)
		return NULL;
	return obj->keys[i];
}

size_t json_len(const struct json *v)
{
	if (!v)
		return 0;
	if (v->type == JSON_STR)
		return v->len;
	if (v->type == JSON_ARR || v->type == JSON_OBJ)
		return v->n;
	return 0;
}

const char *json_str(const struct json *v)
{
	return v && v->type == JSON_STR ? v->str : NULL;
}

double json_num(const struct json *v, double dflt)
{
	return v && v->type == JSON_NUM ? v->num : dflt;
}

int json_is_int(const struct json *v)
{
	return v && v->type == JSON_NUM && v->is_int;
}

int64_t json_int(const struct json *v, int64_t dflt)
{
	return json_is_int(v) ? v->i : dflt;
}

int json_bool(const struct json *v, int dflt)
{
	return v && v->type == JSON_BOOL ? v->boolean : dflt;
}

struct json *json_take(struct json *obj, const char *key)
{
	long k = find_key(obj, key);
	if (k < 0)
		return NULL;
	struct json *v = obj->items[k];
	free(obj->keys[k]);
	size_t rest = obj->n - (size_t)k - 1;
	memmove(obj->items + k, obj->items + k + 1, rest * sizeof *obj->items);
	memmove(obj->keys + k, obj->keys + k + 1, rest * sizeof *obj->keys);
	obj->n--;
	return v;
}

long json_frame(const char *buf, size_t len)
{
	size_t i = 0;
	while (i < len && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\n' ||
			   buf[i] == '\r'))
		i++;
	if (i == len)
		return 0;
	if (buf[i] != '{' && buf[i] != '[')
		return -1;
	long depth = 0;
	int in_str = 0, esc = 0;
	for (; i < len; i++) {
		char c = buf[i];
		if (in_str) {
			if (esc)
				esc = 0;
			else if (c == '\\')
				esc = 1;
			else if (c == '"')
				in_str = 0;
		} else if (c == '"') {
			in_str = 1;
		} else if (c == '{' || c == '[') {
			depth++;
		} else if (c == '}' || c == ']') {
			if (--depth == 0)
				return (long)(i + 1);
		}
	}
	return 0;
}

/* ---- struct strbuf ---- */

static int sb_reserve(struct strbuf *sb, size_t more)
{
	if (sb->oom)
		return -1;
	if (more >= SIZE_MAX / 2 - sb->len) {
		sb->oom = 1;
		return -1;
	}
	size_t need = sb->len + more + 1;
	if (need <= sb->cap)
		return 0;
	size_t cap = sb->cap ? sb->cap : 64;
	while (cap < need)
		cap *= 2;
	char *b = realloc(sb->buf, cap);
	if (!b) {
		sb->oom = 1;
		return -1;
	}
	sb->buf = b;
	sb->cap = cap;
	return 0;
}

void sb_append(struct strbuf *sb, const char *data, size_t n)
{
	if (sb_reserve(sb, n) < 0)
		return;
	if (n)
		memcpy(sb->buf + sb->len, data, n);
	sb->len += n;
	sb->buf[sb->len] = 0;
}

void sb_puts(struct strbuf *sb, const char *s)
{
	sb_append(sb, s, strlen(s));
}

void sb_putc(struct strbuf *sb, char c)
{
	sb_append(sb, &c, 1);
}

void sb_vprintf(struct strbuf *sb, const char *fmt, va_list ap)
{
	va_list ap2;
	va_copy(ap2, ap);
	int n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0 || sb_reserve(sb, (size_t)n) < 0)
		return;
	vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap);
	sb->len += (size_t)n;
}

void sb_printf(struct strbuf *sb, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	sb_vprintf(sb, fmt, ap);
	va_end(ap);
}

void sb_json_strn(struct strbuf *sb, const char *s, size_t n)
{
	sb_putc(sb, '"');
	for (size_t k = 0; k < n; k++) {
		unsigned char c = (unsigned char)s[k];
		switch (c) {
		case '"': sb_puts(sb, "\\\""); break;
		case '\\': sb_puts(sb, "\\\\"); break;
		case '\n': sb_puts(sb, "\\n"); break;
		case '\r': sb_puts(sb, "\\r"); break;
		case '\t': sb_puts(sb, "\\t"); break;
		case '\b': sb_puts(sb, "\\b"); break;
		case '\f': sb_puts(sb, "\\f"); break;
		default:
			if (c < 0x20 || c == 0x7f)
				sb_printf(sb, "\\u%04x", c);
			else
				sb_putc(sb, (char)c);
		}
	}
	sb_putc(sb, '"');
}

void sb_json_str(struct strbuf *sb, const char *s)
{
	sb_json_strn(sb, s, strlen(s));
}

/* Recursion is bounded by the tree's depth, which json_parse bounds. */
void sb_json(struct strbuf *sb, const struct json *v)
{
	switch (json_type(v)) {
	case JSON_NULL: sb_puts(sb, "null"); return;
	case JSON_BOOL: sb_puts(sb, v->boolean ? "true" : "false"); return;
	case JSON_NUM:
		if (v->is_int)
			sb_printf(sb, "%" PRId64, v->i);
		else
			sb_printf(sb, "%.17g", v->num);
		return;
	case JSON_STR: sb_json_strn(sb, v->str, v->len); return;
	case JSON_ARR:
	case JSON_OBJ:
		break;
	}
	sb_putc(sb, v->type == JSON_ARR ? '[' : '{');
	for (size_t k = 0; k < v->n; k++) {
		if (k)
			sb_putc(sb, ',');
		if (v->type == JSON_OBJ) {
			sb_json_str(sb, v->keys[k]);
			sb_putc(sb, ':');
		}
		sb_json(sb, v->items[k]);
	}
	sb_putc(sb, v->type == JSON_ARR ? ']' : '}');
}

const char *sb_str(const struct strbuf *sb)
{
	return sb->buf ? sb->buf : "";
}

void sb_reset(struct strbuf *sb)
{
	sb->len = 0;
	if (sb->buf)
		sb->buf[0] = 0;
}

void sb_free(struct strbuf *sb)
{
	free(sb->buf);
	sb->buf = NULL;
	sb->len = sb->cap = 0;
	sb->oom = 0;
}
