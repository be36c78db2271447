/*
 * json.h - a small JSON reader (text -> tree) and writer (string buffer).
 *
 * Owns: parsing RFC 8259 JSON into a tree of struct json nodes, read-only
 * accessors on that tree, framing of a JSON stream (json_frame), and
 * struct strbuf, a growable string used to build JSON text (or any text).
 * Used by the QMP client (runtime/backend) and the simulator's QMP server.
 * Leaves to callers: what the documents mean; there is no schema here.
 *
 * Input is treated as hostile: nesting is bounded (JSON_MAX_DEPTH), the
 * text is bounded (JSON_MAX_TEXT), numbers and strings are checked, and any
 * defect is an error value with the byte offset, never a crash.
 *
 * Numbers: every number keeps its double value; a number written without
 * fraction or exponent that fits in int64_t is also an integer
 * (json_is_int).  Strings are UTF-8 with \uXXXX escapes (surrogate pairs
 * included) decoded; they may hold NUL bytes, so json_len gives the length.
 * Accessors accept NULL and the wrong type and then return NULL, 0 or the
 * caller's default, so that chains like json_str(json_get(v, "desc"))
 * need one check at the end.
 */
#ifndef XDS_JSON_H
#define XDS_JSON_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define JSON_MAX_DEPTH 64                 /* arrays/objects nested */
#define JSON_MAX_TEXT  (64u << 20)        /* bytes of one document */

enum json_type {
	JSON_NULL,
	JSON_BOOL,
	JSON_NUM,
	JSON_STR,
	JSON_ARR,
	JSON_OBJ,
};

struct json;

/* Parse exactly one JSON value from text[0..len) (surrounding whitespace
 * allowed).  Returns a tree to release with json_free, or NULL with err. */
struct json *json_parse(const char *text, size_t len, struct xds_err *err);

/* Release a tree (NULL is fine). */
void json_free(struct json *v);

enum json_type json_type(const struct json *v);  /* JSON_NULL for NULL */
int json_is(const struct json *v, enum json_type t);

/* Object member by key (first one if repeated), NULL if absent/not object. */
struct json *json_get(const struct json *obj, const char *key);
/* Array element or object member value i, NULL when out of range. */
struct json *json_at(const struct json *v, size_t i);
/* Key of object member i, NULL when out of range or not an object. */
const char *json_key(const struct json *obj, size_t i);
/* Elements of an array, members of an object, bytes of a string; else 0. */
size_t json_len(const struct json *v);

/* The string (NUL-terminated; may contain NULs, see json_len), or NULL. */
const char *json_str(const struct json *v);
/* Number as double, or dflt when v is not a number. */
double json_num(const struct json *v, double dflt);
/* 1 when v is a number that is an exact int64 (no fraction, no exponent). */
int json_is_int(const struct json *v);
/* Integer value, or dflt when v is not an integer (see json_is_int). */
int64_t json_int(const struct json *v, int64_t dflt);
/* 0/1 for false/true, or dflt when v is not a boolean. */
int json_bool(const struct json *v, int dflt);

/* Remove member key from obj and return it (caller frees), or NULL.
 * Lets a caller keep one part of a reply and free the rest. */
struct json *json_take(struct json *obj, const char *key);

/* Length of the first complete JSON object or array at the start of buf
 * (leading whitespace included), 0 if more bytes are needed, -1 if the
 * bytes cannot start one.  For framing a stream such as QMP. */
long json_frame(const char *buf, size_t len);

/*
 * struct strbuf: a growable NUL-terminated string.  Zero-initialise it
 * (struct strbuf sb = {0};), append, read sb.buf (NULL until the first
 * append; sb_str never returns NULL), sb_free at the end.  An allocation
 * failure sets sb.oom and later appends do nothing; check it once at the
 * end.
 */
struct strbuf {
	char *buf;
	size_t len;   /* bytes, without the terminating NUL */
	size_t cap;
	int oom;
};

void sb_append(struct strbuf *sb, const char *data, size_t n);
void sb_puts(struct strbuf *sb, const char *s);
void sb_putc(struct strbuf *sb, char c);
void sb_printf(struct strbuf *sb, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void sb_vprintf(struct strbuf *sb, const char *fmt, va_list ap);
/* Append s as a quoted JSON string, escaping as needed. */
void sb_json_str(struct strbuf *sb, const char *s);
void sb_json_strn(struct strbuf *sb, const char *s, size_t n);
/* Append the compact JSON text of a tree (numbers: integers exactly,
 * other numbers with 17 significant digits). */
void sb_json(struct strbuf *sb, const struct json *v);
const char *sb_str(const struct strbuf *sb);
void sb_reset(struct strbuf *sb);  /* empty, keep the memory */
void sb_free(struct strbuf *sb);

#endif
