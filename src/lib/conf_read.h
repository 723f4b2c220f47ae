/*
 * conf_read.h - private to the conf module (conf.c, conf_domain.c): the
 * bounded line reader shared by postern.conf, users and aliases files, and
 * whole-file reading relative to a directory fd.  Not for other modules.
 */
#ifndef POSTERN_CONF_READ_H
#define POSTERN_CONF_READ_H

#include <stdbool.h>
#include <stddef.h>

#include "bounds.h"

struct err;

/* a config, users or aliases file larger than this is refused */
#define CONF_READ_FILE_MAX	(64 * 1024 * 1024)

/* the line reader shared by the three file formats */
struct conf_read {
	const char	*text;
	size_t		 len;
	size_t		 pos;
	unsigned	 lineno;
	const char	*fname;
	char		 line[LIM_CONF_LINE + 1];
};

enum conf_read_result {
	CONF_READ_LINE,		/* *out is the trimmed line, comments removed */
	CONF_READ_END,
	CONF_READ_ERROR,	/* e is filled */
};

/* conf_read_init - start reading text; a UTF-8 byte order mark is skipped */
void	conf_read_init(struct conf_read *l, const char *text, size_t len,
	    const char *fname);
/* conf_read_next - the next line, bounded, without comment and blanks */
enum conf_read_result conf_read_next(struct conf_read *l, char **out,
	    struct err *e);
/*
 * conf_read_kv - split line s (from conf_read_next) of l at its first "="
 * into a trimmed key and value; -1 with e naming file and line when there
 * is no "=" or no key
 */
int	conf_read_kv(const struct conf_read *l, char *s, char **key,
	    char **val, struct err *e);
/*
 * conf_read_file_at - read the whole regular file name under dfd (shown in
 * errors as shown) into a NUL-terminated *text of *len bytes; missing_ok:
 * ENOENT gives *text == NULL and 0.  At most CONF_READ_FILE_MAX bytes.
 */
int	conf_read_file_at(int dfd, const char *name, const char *shown,
	    bool missing_ok, char **text, size_t *len, struct err *e);

#endif
