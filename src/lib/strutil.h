/*
 * strutil.h - small string and number helpers.
 */
#ifndef POSTERN_STRUTIL_H
#define POSTERN_STRUTIL_H

#include <stdbool.h>
#include <stddef.h>

/* str_copy - copy src into dst of size dstsz; -1 (dst empty) if truncated */
int	 str_copy(char *dst, const char *src, size_t dstsz);
/* str_to_ull - parse a decimal number in [min, max], the whole string */
int	 str_to_ull(const char *s, unsigned long long min,
	    unsigned long long max, unsigned long long *out);
/* str_trim - strip leading and trailing blanks (space, tab, CR, LF) in place */
char	*str_trim(char *s);
/* str_has_ctl - does s (len bytes) contain a control character or DEL? */
bool	 str_has_ctl(const char *s, size_t len);
/* str_eq_word - ASCII case-insensitive: does s (len bytes) equal word? */
bool	 str_eq_word(const char *s, size_t len, const char *word);
/* str_lower - ASCII lower-case s in place (other bytes unchanged) */
void	 str_lower(char *s);
/*
 * str_printable - copy at most max bytes of s into out (outsz with its
 * NUL), each byte outside '!'..'~' as '?': text fit for one log field
 */
void	 str_printable(char *out, size_t outsz, const char *s, size_t max);
/* str_sanitize - control characters and DEL in s to '?', in place */
void	 str_sanitize(char *s);
/*
 * str_line_ok - is s a bounded line without controls: at most max bytes,
 * and not empty unless may_empty?
 */
bool	 str_line_ok(const char *s, size_t max, bool may_empty);
/* str_fmt - snprintf that reports truncation: 0, or -1 (out empty) */
int	 str_fmt(char *out, size_t outsz, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

#endif
