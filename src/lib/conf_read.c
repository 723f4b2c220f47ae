/*
 * conf_read.c - reading the files of the config directory: a bounded line
 * reader for postern.conf, users and aliases files, and whole-file reads.
 *
 * Runs wherever conf.c runs (the parent, the admin verbs); pure apart from
 * conf_read_file_at(), which opens only the name it is given relative to a
 * directory fd.  A line is at most LIM_CONF_LINE octets without its line
 * end, with no NUL and no control character but tab; a file at most
 * CONF_READ_FILE_MAX bytes.  A file is read into one allocation that is
 * never grown, so the caller can wipe the only copy of a users file.
 * Errors name file and line ("domains/example.com/users:3: NUL byte").
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf_read.h"
#include "err.h"
#include "strutil.h"
#include "xmalloc.h"

/* conf_read_init - start reading text; a UTF-8 byte order mark is skipped */
void
conf_read_init(struct conf_read *l, const char *text, size_t len,
    const char *fname)
{
	l->text = text;
	l->len = len;
	l->pos = 0;
	l->lineno = 0;
	l->fname = fname;
	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
		l->pos = 3;
}

/* strip_comment - cut s at a '#' that starts it or follows a blank */
static void
strip_comment(char *s)
{
	char	*p;

	for (p = s; *p != '\0'; p++)
		if (*p == '#' && (p == s || p[-1] == ' ' || p[-1] == '\t')) {
			*p = '\0';
			return;
		}
}

/* conf_read_next - the next line, bounded, without comment and blanks */
enum conf_read_result
conf_read_next(struct conf_read *l, char **out, struct err *e)
{
	const char	*p, *nl;
	char		*s;
	size_t		 n;

	if (l->pos >= l->len)
		return CONF_READ_END;
	p = l->text + l->pos;
	nl = memchr(p, '\n', l->len - l->pos);
	n = nl != NULL ? (size_t)(nl - p) : l->len - l->pos;
	l->pos += n + (nl != NULL);
	l->lineno++;
	if (n > 0 && p[n - 1] == '\r')
		n--;
	if (n > LIM_CONF_LINE) {
		err_set(e, false, 0, "%s:%u: line longer than %d octets",
		    l->fname, l->lineno, LIM_CONF_LINE);
		return CONF_READ_ERROR;
	}
	if (memchr(p, '\0', n) != NULL) {
		err_set(e, false, 0, "%s:%u: NUL byte", l->fname, l->lineno);
		return CONF_READ_ERROR;
	}
	memcpy(l->line, p, n);
	l->line[n] = '\0';
	strip_comment(l->line);
	for (s = l->line; *s != '\0'; s++)
		if (*s != '\t' && ((unsigned char)*s < 0x20 || *s == 0x7f)) {
			err_set(e, false, 0, "%s:%u: control character",
			    l->fname, l->lineno);
			return CONF_READ_ERROR;
		}
	*out = str_trim(l->line);
	return CONF_READ_LINE;
}

/* conf_read_file_at - read a whole regular file; missing_ok: ENOENT is empty */
int
conf_read_file_at(int dfd, const char *name, const char *shown,
    bool missing_ok, char **text, size_t *len, struct err *e)
{
	struct stat	 st;
	char		*p = NULL, extra;
	size_t		 n = 0;
	ssize_t		 r;
	int		 fd, rc = -1;

	*text = NULL;
	*len = 0;
	if ((fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		if (errno == ENOENT && missing_ok)
			return 0;
		return err_set(e, errno != ENOENT, errno, "%s: %s", shown,
		    strerror(errno));
	}
	if (fstat(fd, &st) == -1) {
		err_set(e, true, errno, "%s: %s", shown, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		err_set(e, false, 0, "%s: not a regular file", shown);
		goto out;
	}
	if (st.st_size > CONF_READ_FILE_MAX) {
		err_set(e, false, 0, "%s: larger than %d bytes", shown,
		    CONF_READ_FILE_MAX);
		goto out;
	}
	/* one allocation, never grown: no stale copy of a hash is left */
	p = xmalloc((size_t)st.st_size + 1);
	while (n < (size_t)st.st_size) {
		if ((r = read(fd, p + n, (size_t)st.st_size - n)) == -1) {
			if (errno == EINTR)
				continue;
			err_set(e, true, errno, "%s: %s", shown,
			    strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n == (size_t)st.st_size && read(fd, &extra, 1) > 0) {
		err_set(e, true, 0, "%s: changed while being read", shown);
		goto out;
	}
	p[n] = '\0';
	*text = p;
	*len = n;
	p = NULL;
	rc = 0;
out:
	if (p != NULL) {
		explicit_bzero(p, (size_t)st.st_size);
		free(p);
	}
	(void)close(fd);
	return rc;
}

/* conf_read_kv - "key = value" */
int
conf_read_kv(const struct conf_read *l, char *s, char **key, char **val,
    struct err *e)
{
	char	*eq;

	if ((eq = strchr(s, '=')) == NULL)
		return err_set(e, false, 0, "%s:%u: missing \"=\" in "
		    "\"%.64s\"", l->fname, l->lineno, s);
	*eq = '\0';
	*key = str_trim(s);
	*val = str_trim(eq + 1);
	if (**key == '\0')
		return err_set(e, false, 0, "%s:%u: missing key before \"=\"",
		    l->fname, l->lineno);
	return 0;
}
