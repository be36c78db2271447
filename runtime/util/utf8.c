/*
 * utf8.c - checking UTF-8 and showing bytes that may not be (utf8.h).
 */
#include <stdio.h>
#include <string.h>

#include "util/utf8.h"

int utf8_char(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	if (n == 0)
		return 0;
	unsigned c = p[0], lo = 0x80, hi = 0xbf;
	size_t len;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4;
	else
		return 0;
	if (c == 0xe0)
		lo = 0xa0;              /* overlong */
	else if (c == 0xed)
		hi = 0x9f;              /* surrogates */
	else if (c == 0xf0)
		lo = 0x90;              /* overlong */
	else if (c == 0xf4)
		hi = 0x8f;              /* above U+10FFFF */
	for (size_t k = 1; k < len; k++) {
		if (k == n)
			return -1;
		if (p[k] < (k == 1 ? lo : 0x80) || p[k] > (k == 1 ? hi : 0xbf))
			return 0;
	}
	return (int)len;
}

/* The escape for the byte c, or "" when a valid character starting
 * with c (k bytes) is shown as it is. */
static const char *escape(unsigned char c, int k, unsigned char next, char buf[5])
{
	if (k == 1 && c >= 0x20 && c != 0x7f && c != '\\')
		return "";
	if (k > 1 && !(c == 0xc2 && next < 0xa0))      /* C1 controls */
		return "";
	switch (c) {
	case '\n': return "\\n";
	case '\t': return "\\t";
	case '\r': return "\\r";
	case '\\': return "\\\\";
	}
	snprintf(buf, 5, "\\x%02x", c);
	return buf;
}

struct utf8_shown utf8_shown(const char *s, size_t size)
{
	struct utf8_shown out = { "" };
	size_t n = strnlen(s, size), o = 0;
	for (size_t i = 0; i < n;) {
		int k = utf8_char(s + i, n - i);
		char buf[5];
		const char *e = escape((unsigned char)s[i], k, k > 1 ? (unsigned char)s[i + 1] : 0, buf);
		size_t len = *e ? strlen(e) : (size_t)k;
		if (o + len >= sizeof out.s)
			break;
		memcpy(out.s + o, *e ? e : s + i, len);
		o += len;
		i += *e ? 1 : (size_t)k;
	}
	out.s[o] = 0;
	return out;
}

int utf8_pad(const char *s, int width)
{
	for (; *s && width > 0; s++)
		width -= ((unsigned char)*s & 0xc0) != 0x80;
	return width > 0 ? width : 0;
}
