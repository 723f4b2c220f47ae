/*
 * srs_probe.c - the SRS codec from the command line, for the interop
 * test with python3-srs (test_srs_interop.py):
 *
 *   srs_probe forward SECRET SENDER FWDDOMAIN [NOW]
 *   srs_probe reverse SECRET ADDR [NOW]
 *
 * SECRET may be several, comma-separated (the first signs).  Prints the
 * result, or the error and exits 1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bounds.h"
#include "err.h"
#include "srs.h"

int
main(int argc, char **argv)
{
	struct srs	 s;
	struct err	 e;
	char		 out[LIM_PATH + 1], *sec, *tok;
	time_t		 now;
	int		 fwd, n, rc;

	if (argc < 4 || ((fwd = strcmp(argv[1], "forward") == 0) == 0 &&
	    strcmp(argv[1], "reverse") != 0)) {
		fprintf(stderr, "usage: srs_probe forward|reverse SECRET ...\n");
		return 2;
	}
	n = fwd ? 5 : 4;
	if (argc < n || argc > n + 1)
		return 2;
	now = argc == n + 1 ? (time_t)strtoll(argv[n], NULL, 10) :
	    time(NULL);
	memset(&s, 0, sizeof(s));
	s.maxage = SRS_MAXAGE;
	sec = argv[2];
	while ((tok = strsep(&sec, ",")) != NULL && s.n < SRS_MAX_SECRETS)
		(void)snprintf(s.secret[s.n++], sizeof(s.secret[0]), "%s", tok);
	memset(&e, 0, sizeof(e));
	rc = fwd ? srs_forward(&s, argv[3], argv[4], now, out, sizeof(out), &e) :
	    srs_reverse(&s, argv[3], now, out, sizeof(out), &e);
	if (rc != SRS_OK) {
		printf("error %d: %s\n", rc, e.msg);
		return 1;
	}
	printf("%s\n", out);
	return 0;
}
