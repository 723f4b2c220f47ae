/*
 * main.c - the postern binary: "postern [-C DIR] VERB ...".  Only the
 * verb table lives here; each verb is in src/ctl/.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl.h"

struct verb {
	const char	*name;
	int		(*run)(const char *confdir, int argc, char **argv);
	const char	*usage;
};

static const struct verb verbs[] = {
	{ "init",		ctl_init,	  "init DOMAIN [--hostname H] [--listen-base PORT] [--data-dir D] [--dial] [--dns-resolver HOST:PORT]" },
	{ "serve",		ctl_serve,	  "serve [-d]" },
	{ "user-add",		ctl_user_add,	  "user-add ADDR [--password-stdin]" },
	{ "user-remove",	ctl_user_remove,  "user-remove ADDR" },
	{ "user-list",		ctl_user_list,	  "user-list [DOMAIN]" },
	{ "aliases-resolve",	ctl_aliases_resolve, "aliases-resolve ADDR" },
	{ "authenticate",	ctl_authenticate, "authenticate ADDR --password=P" },
	{ "send",		ctl_send,	  "send --from ADDR --to ADDR [--to ADDR...] "
	    "[--server HOST:PORT] [--user U --password-stdin] [--starttls|--tls] "
	    "[--subject S] [--insecure]" },
	{ "dkim-keygen",	ctl_dkim_keygen_verb, "dkim-keygen DOMAIN [--selector S] "
	    "[--type rsa|ed25519] [--bits 2048|3072|4096]" },
	{ "dns",		ctl_dns,	  "dns DOMAIN" },
	{ "check",		ctl_check,	  "check DOMAIN [--ip ADDR]... [--json] [-v] [--no-dnsbl] [--dial] [--send TO --user U --password-stdin]" },
	{ "verify",		ctl_verify,	  "verify --ip IP [--helo NAME] "
	    "[--from ADDR] [--json] < MESSAGE" },
	{ "queue",		ctl_queue,	  "queue list | show ID | flush [ID] | remove ID" },
};

static void
usage(void)
{
	size_t	i;

	fprintf(stderr, "usage: postern [-C DIR] VERB ...\nverbs:\n");
	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		fprintf(stderr, "  postern [-C DIR] %s\n", verbs[i].usage);
	exit(2);
}

int
main(int argc, char **argv)
{
	const char	*confdir;
	size_t		 i;

	if ((confdir = getenv("POSTERN_CONFIG_DIR")) == NULL || *confdir == '\0')
		confdir = "/etc/postern";
	argc--, argv++;
	while (argc > 0 && argv[0][0] == '-') {
		if (strcmp(argv[0], "-C") == 0 && argc > 1) {
			confdir = argv[1];
			argc -= 2, argv += 2;
		} else if (strncmp(argv[0], "-C", 2) == 0 && argv[0][2] != '\0') {
			confdir = argv[0] + 2;
			argc--, argv++;
		} else if (strcmp(argv[0], "-h") == 0 ||
		    strcmp(argv[0], "--help") == 0) {
			usage();
		} else {
			fprintf(stderr, "postern: unknown option %s\n", argv[0]);
			usage();
		}
	}
	if (argc == 0)
		usage();
	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (strcmp(argv[0], verbs[i].name) == 0)
			return verbs[i].run(confdir, argc, argv);
	fprintf(stderr, "postern: unknown verb \"%s\"\n", argv[0]);
	usage();
}
