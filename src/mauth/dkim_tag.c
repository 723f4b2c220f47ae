/*
 * dkim_tag.c - RFC 6376 3.2 tag lists:
 *
 *   tag-list  =  tag-spec *( ";" tag-spec ) [ ";" ]
 *   tag-spec  =  [FWS] tag-name [FWS] "=" [FWS] tag-value [FWS]
 *   tag-name  =  ALPHA *ALNUMPUNC            ; ALNUMPUNC = ALPHA / DIGIT / "_"
 *   tag-value =  [ tval *( 1*(WSP / FWS) tval ) ]
 *   tval      =  1*VALCHAR                   ; VALCHAR = %x21-3A / %x3C-7E
 *
 * Pure; used on hostile input (headers of any received message, TXT
 * records from anyone's DNS): bounded by the input's length and
 * DKIM_TAGS_MAX, and every byte is checked against the grammar.  FWS is
 * taken as any mix of SP, HTAB and CRLF followed by whitespace; a CR or
 * LF elsewhere is an error.
 */
#include <stdbool.h>
#include <string.h>

#include "dkim_tag.h"

/* fws - skip folding whitespace from *i; false on a CR/LF not in FWS */
static bool
fws(const char *s, size_t len, size_t *i)
{
	while (*i < len) {
		if (s[*i] == ' ' || s[*i] == '\t') {
			(*i)++;
		} else if (s[*i] == '\r') {
			if (*i + 2 >= len || s[*i + 1] != '\n' ||
			    (s[*i + 2] != ' ' && s[*i + 2] != '\t'))
				return false;
			*i += 3;
		} else if (s[*i] == '\n') {
			return false;
		} else {
			break;
		}
	}
	return true;
}

/* is_alpha - ASCII letter */
static inline bool
is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* dkim_tags_parse - the whole list, or nothing */
int
dkim_tags_parse(const char *s, size_t len, struct dkim_tags *out,
    struct err *e)
{
	struct dkim_tags	 t;
	struct dkim_tag		*g;
	size_t			 i = 0, j, end;

	t.n = 0;
	for (;;) {
		if (!fws(s, len, &i))
			return err_set(e, false, 0, "tag list: stray line "
			    "break at offset %zu", i);
		if (i == len) {
			if (t.n == 0)
				return err_set(e, false, 0,
				    "tag list: empty");
			break;	/* the optional ";" at the end was seen */
		}
		if (!is_alpha(s[i]))
			return err_set(e, false, 0, "tag list: tag name "
			    "expected at offset %zu", i);
		if (t.n == DKIM_TAGS_MAX)
			return err_set(e, false, 0, "tag list: more than %d "
			    "tags", DKIM_TAGS_MAX);
		g = &t.v[t.n];
		g->name = s + i;
		while (i < len && (is_alpha(s[i]) || s[i] == '_' ||
		    (s[i] >= '0' && s[i] <= '9')))
			i++;
		g->namelen = (size_t)(s + i - g->name);
		if (!fws(s, len, &i) || i == len || s[i] != '=')
			return err_set(e, false, 0, "tag list: '=' expected "
			    "after tag %.*s", (int)g->namelen, g->name);
		i++;
		if (!fws(s, len, &i))
			return err_set(e, false, 0, "tag list: stray line "
			    "break at offset %zu", i);
		g->value = s + i;
		end = i;
		while (i < len && s[i] != ';') {
			if ((unsigned char)s[i] >= 0x21 &&
			    (unsigned char)s[i] <= 0x7e) {
				end = ++i;
				continue;
			}
			if (!fws(s, len, &i) || (i < len && s[i] != ';' &&
			    ((unsigned char)s[i] < 0x21 ||
			    (unsigned char)s[i] > 0x7e)))
				return err_set(e, false, 0, "tag list: bad "
				    "byte in the value of %.*s",
				    (int)g->namelen, g->name);
		}
		g->valuelen = (size_t)(s + end - g->value);
		for (j = 0; j < t.n; j++)
			if (t.v[j].namelen == g->namelen &&
			    memcmp(t.v[j].name, g->name, g->namelen) == 0)
				return err_set(e, false, 0, "tag list: tag "
				    "%.*s twice", (int)g->namelen, g->name);
		t.n++;
		if (i == len)
			break;
		i++;	/* ";" */
	}
	*out = t;
	return 0;
}

/* dkim_tags_get - look a tag up by its exact name */
const struct dkim_tag *
dkim_tags_get(const struct dkim_tags *t, const char *name)
{
	size_t	i, n = strlen(name);

	for (i = 0; i < t->n; i++)
		if (t->v[i].namelen == n && memcmp(t->v[i].name, name, n) == 0)
			return &t->v[i];
	return NULL;
}

/* dkim_tag_nows - the value without its whitespace */
int
dkim_tag_nows(const struct dkim_tag *g, char *out, size_t outsz)
{
	size_t	i, n = 0;

	for (i = 0; i < g->valuelen; i++) {
		char	c = g->value[i];

		if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
			continue;
		if (n + 1 >= outsz)
			return -1;
		out[n++] = c;
	}
	if (outsz == 0)
		return -1;
	out[n] = '\0';
	return 0;
}
