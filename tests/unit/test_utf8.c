/*
 * test_utf8.c - util/utf8.h: which bytes are UTF-8, and how a comm that
 * may hold anything is shown in a table, a log line or the journal.
 */
#include <string.h>

#include "tests/tap.h"
#include "util/utf8.h"

static void test_char(void)
{
	is_int(utf8_char("a", 1), 1, "ASCII is one byte");
	is_int(utf8_char("\xc3\xa9", 2), 2, "U+00E9 is two");
	is_int(utf8_char("\xe2\x82\xac", 3), 3, "U+20AC is three");
	is_int(utf8_char("\xf0\x9f\x98\x80", 4), 4, "U+1F600 is four");
	is_int(utf8_char("\xe2\x82", 2), -1, "a character cut short says so");
	is_int(utf8_char("\xe2\x28\xa1", 3), 0, "a bad continuation byte is not UTF-8");
	is_int(utf8_char("\x80", 1), 0, "nor a lone continuation byte");
	is_int(utf8_char("\xc0\xaf", 2), 0, "nor an overlong form (C0)");
	is_int(utf8_char("\xe0\x80\xaf", 3), 0, "nor an overlong form (E0 80)");
	is_int(utf8_char("\xed\xa0\x80", 3), 0, "nor a surrogate");
	is_int(utf8_char("\xf4\x90\x80\x80", 4), 0, "nor anything above U+10FFFF");
	is_int(utf8_char("\xff", 1), 0, "nor FF");
}

static void test_shown(void)
{
	char comm[16] = "a\"b\\c\n\t\x01";
	is_str(utf8_shown(comm, sizeof comm).s, "a\"b\\\\c\\n\\t\\x01",
	       "backslash and control bytes escaped, the quote kept");
	is_str(utf8_shown("d\xc3\xa9\xe2\x82\xac", 16).s, "d\xc3\xa9\xe2\x82\xac", "UTF-8 kept");
	is_str(utf8_shown("a\xff\xe2\x82", 4).s, "a\\xff\\xe2\\x82", "invalid bytes as \\xHH, one by one");
	is_str(utf8_shown("\x1b[2J\x7f\xc2\x85", 16).s, "\\x1b[2J\\x7f\\xc2\\x85",
	       "ESC, DEL and a C1 control cannot reach the terminal");
	char full[16];
	memset(full, 0xff, sizeof full);
	struct utf8_shown s = utf8_shown(full, sizeof full);
	ok(strlen(s.s) == 60, "16 bytes and no NUL: 15 shown, each \\xHH, within UTF8_SHOWN (%zu)",
	   strlen(s.s));
	is_str(utf8_shown("ab\0cd", 5).s, "ab", "a NUL ends the comm");
}

static void test_pad(void)
{
	is_int(utf8_pad("d\xc3\xa9\xe2\x82\xac", 15), 12, "three characters in six bytes pad to 15 with 12");
	is_int(utf8_pad("abcdefghijklmnopq", 15), 0, "a wider text is not padded");
}

int main(void)
{
	test_char();
	test_shown();
	test_pad();
	return done_testing();
}
