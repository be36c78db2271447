/*
 * utf8.h - bytes that may not be UTF-8, such as a task's comm.
 *
 * Owns the one rule by which xds decides what is UTF-8 (RFC 3629: no
 * overlong forms, no surrogates, nothing above U+10FFFF) and the way such
 * bytes are shown to a person: in a table, a log line, an error message,
 * a journal.  Leaves JSON to util/json.h, which applies the same rule.
 *
 * Shown text keeps every valid printable character as it is; a control
 * character (C0, DEL, C1), a backslash and each byte that begins no valid
 * character become an escape (\n, \t, \r, \\, \xHH), so a hostile comm
 * can neither move a terminal's cursor nor start a new journal line.
 */
#ifndef XDS_UTF8_H
#define XDS_UTF8_H

#include <stddef.h>

/* Room for a shown comm: 15 bytes, each at worst \xHH, and the NUL. */
#define UTF8_SHOWN 64

/* Bytes (1-4) of the valid character at s[0..n); 0 when s[0] begins none;
 * -1 when s[0..n) is the valid start of a character that n cuts short. */
int utf8_char(const char *s, size_t n);

struct utf8_shown {
	char s[UTF8_SHOWN];
};

/* s[0..size), up to its first NUL, as text to show (see above); cut at a
 * character when it does not fit.  Use it within one expression:
 * printf("%s", utf8_shown(t->comm, sizeof t->comm).s). */
struct utf8_shown utf8_shown(const char *s, size_t size);

/* Spaces that pad the shown text s to width columns (0 when wider). */
int utf8_pad(const char *s, int width);

#endif
