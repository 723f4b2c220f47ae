/*
 * strutil.c - small string and number helpers (pure).
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "strutil.h"

int
str_copy(char *dst, const char *src, size_t dstsz)
{
	size_t	n = strlen(src);

	if (dstsz == 0)
		return -1;
	if (n >= dstsz) {
		dst[0] = '\0';
		return -1;
	}
	memcpy(dst, src, n + 1);
	return 0;
}

int
str_to_ull(const char *s, unsigned long long min, unsigned long long max,
    unsigned long long *out)
{
	unsigned long long	 v;
	char			*end;

	if (s[0] < '0' || s[0] > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

char *
str_trim(char *s)
{
	size_t	n;

	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
		s++;
	n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' ||
	    s[n - 1] == '\r' || s[n - 1] == '\n'))
		s[--n] = '\0';
	return s;
}

bool
str_has_ctl(const char *s, size_t len)
{
	size_t	i;

	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] == 0x7f)
			return true;
	return false;
}

bool
str_eq_word(const char *s, size_t len, const char *word)
{
	return strlen(word) == len && strncasecmp(s, word, len) == 0;
}

/* str_fmt - snprintf that reports truncation: 0, or -1 (out empty) */
int
str_fmt(char *out, size_t outsz, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = vsnprintf(out, outsz, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= outsz) {
		if (outsz > 0)
			out[0] = '\0';
		return -1;
	}
	return 0;
}

/* str_lower - ASCII lower-case s in place */
void
str_lower(char *s)
{
	for (; *s != '\0'; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

/* str_printable - s cut to max bytes, bytes outside '!'..'~' as '?' */
void
str_printable(char *out, size_t outsz, const char *s, size_t max)
{
	size_t	i;

	if (outsz == 0)
		return;
	for (i = 0; s[i] != '\0' && i + 1 < outsz && i < max; i++)
		out[i] = s[i] > 0x20 && s[i] < 0x7f ? s[i] : '?';
	out[i] = '\0';
}

/* str_sanitize - control characters and DEL to '?', in place */
void
str_sanitize(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
			*s = '?';
}

/* str_line_ok - a bounded line without controls, empty only if allowed */
bool
str_line_ok(const char *s, size_t max, bool may_empty)
{
	size_t	n = strlen(s);

	return (n > 0 || may_empty) && n <= max && !str_has_ctl(s, n);
}
