/*
 * ctl_json.h - JSON output of the admin verbs (ctl_json.c).
 */
#ifndef POSTERN_CTL_JSON_H
#define POSTERN_CTL_JSON_H

/* ctl_json_str - s on stdout as a JSON string (quotes, escapes) */
void	ctl_json_str(const char *s);

#endif
