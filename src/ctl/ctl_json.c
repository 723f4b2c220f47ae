/*
 * ctl_json.c - JSON strings on stdout for the admin verbs (ctl_json.h).
 */
#include <stdio.h>

#include "ctl_json.h"

/* ctl_json_str - s as a JSON string */
void
ctl_json_str(const char *s)
{
	const unsigned char	*p;

	putchar('"');
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			printf("\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			printf("\\u%04x", *p);
		else
			putchar(*p);
	}
	putchar('"');
}
