/*
 * check_host.c - what `postern check` (ctl_check.h) looks at on this
 * host: the certificate of the host name, the listeners answering, and
 * whether forwarding is ready (the SRS secret, the aliases that forward).
 */
#include <sys/socket.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "conf.h"
#include "ctl_check.h"
#include "err.h"
#include "srs.h"
#include "xmalloc.h"

#define CERT_WARN_DAYS	14
#define DIAL_MS		3000

/* load_chain - the certificates of a PEM file: the first, then the rest */
static X509 *
load_chain(const char *path, STACK_OF(X509) **rest)
{
	FILE	*fp;
	X509	*x, *y;

	*rest = sk_X509_new_null();
	if ((fp = fopen(path, "r")) == NULL)
		return NULL;
	x = PEM_read_X509(fp, NULL, NULL, NULL);
	while (x != NULL && (y = PEM_read_X509(fp, NULL, NULL, NULL)) != NULL)
		(void)sk_X509_push(*rest, y);
	(void)fclose(fp);
	return x;
}

/* chains - does x chain to the system's trusted roots? why not in why */
static bool
chains(X509 *x, STACK_OF(X509) *rest, char *why, size_t sz)
{
	X509_STORE	*st = X509_STORE_new();
	X509_STORE_CTX	*ctx = X509_STORE_CTX_new();
	bool		 ok = false;

	if (st != NULL && ctx != NULL && X509_STORE_set_default_paths(st) ==
	    1 && X509_STORE_CTX_init(ctx, st, x, rest) == 1) {
		ok = X509_verify_cert(ctx) == 1;
		if (!ok)
			(void)snprintf(why, sz, "%s", X509_verify_cert_error_string(
			    X509_STORE_CTX_get_error(ctx)));
	}
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(st);
	return ok;
}

/* cert_one - the certificate of certs/HOST/: covers it, trusted, in date */
static void
cert_one(struct cctx *c, const char *host)
{
	STACK_OF(X509)	*rest = NULL;
	X509		*x;
	char		 path[PATH_MAX], fix[PATH_MAX + 256], why[160];
	int		 days = 0, secs = 0;
	bool		 self, pub = ctl_name_public(host);

	(void)snprintf(path, sizeof(path), "%s/certs/%s/fullchain.pem",
	    c->confdir, host);
	(void)snprintf(fix, sizeof(fix), "get one from a CA (e.g. certbot "
	    "certonly --standalone -d %s), put fullchain.pem and privkey.pem "
	    "in %s/certs/%s/, then reload", host, c->confdir, host);
	errno = 0;
	if ((x = load_chain(path, &rest)) == NULL) {
		cc_add(c, "cert", CV_FAIL, fix, "%s: no certificate (%s)", path,
		    errno != 0 ? strerror(errno) : "not PEM");
		sk_X509_pop_free(rest, X509_free);
		return;
	}
	/* issued by itself, signed by its own key (X509_check_issued would
	 * also ask for a CA's key usage, which a leaf lacks) */
	self = X509_NAME_cmp(X509_get_subject_name(x),
	    X509_get_issuer_name(x)) == 0 && X509_verify(x,
	    X509_get0_pubkey(x)) == 1;
	(void)ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(x));
	if (X509_check_host(x, host, 0, 0, NULL) != 1)
		cc_add(c, "cert", CV_FAIL, fix, "the certificate in %s does not "
		    "name %s", path, host);
	else if (days < 0 || (days == 0 && secs < 0))
		cc_add(c, "cert", CV_FAIL, fix, "the certificate of %s expired "
		    "%d days ago", host, -days);
	else if (self)
		cc_add(c, "cert", pub ? CV_FAIL : CV_WARN, fix, "the certificate "
		    "of %s is self-signed%s", host, pub ? ": senders that "
		    "verify refuse it, and it tells nobody who you are" :
		    " (fine for a test name, not for the world)");
	else if (!chains(x, rest, why, sizeof(why)))
		cc_add(c, "cert", CV_FAIL, fix, "the certificate of %s does not "
		    "chain to a trusted root: %s (fullchain.pem must hold the "
		    "intermediates)", host, why);
	else if (days < CERT_WARN_DAYS)
		cc_add(c, "cert", CV_WARN, "renew it (certbot renew), then "
		    "reload", "the certificate of %s expires in %d days", host,
		    days);
	else
		cc_add(c, "cert", CV_OK, NULL, "the certificate of %s is "
		    "trusted, valid %d more days", host, days);
	X509_free(x);
	sk_X509_pop_free(rest, X509_free);
}

/* check_cert - the host name's certificate, then each other SNI name's
 * (every folder of certs/) */
void
check_cert(struct cctx *c)
{
	char		 dir[PATH_MAX];
	DIR		*d;
	struct dirent	*de;
	size_t		 n = 0;

	cert_one(c, c->conf->hostname);
	(void)snprintf(dir, sizeof(dir), "%s/certs", c->confdir);
	if ((d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL && n < 64) {
		if (de->d_name[0] == '.' || strcasecmp(de->d_name,
		    c->conf->hostname) == 0 || de->d_type == DT_REG)
			continue;
		cert_one(c, de->d_name);
		n++;
	}
	(void)closedir(d);
}

/* dial - connect to host:port within DIAL_MS; the first line read (or
 * "" for a TLS port, which speaks first only after a hello) */
static int
dial(const char *host, const char *port, bool tls, char *line, size_t sz)
{
	struct addrinfo	 hints, *res = NULL;
	struct pollfd	 pfd;
	ssize_t		 n;
	int		 fd = -1, rc = -1, err;
	socklen_t	 el = sizeof(err);

	line[0] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	if (getaddrinfo(host, port, &hints, &res) != 0)
		return -1;
	if ((fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1)
		goto out;
	if (connect(fd, res->ai_addr, res->ai_addrlen) == -1 &&
	    errno != EINPROGRESS)
		goto out;
	pfd.fd = fd;
	pfd.events = POLLOUT;
	if (poll(&pfd, 1, DIAL_MS) != 1 || getsockopt(fd, SOL_SOCKET,
	    SO_ERROR, &err, &el) == -1 || err != 0)
		goto out;
	if (tls) {
		rc = 0;
		goto out;
	}
	pfd.events = POLLIN;
	if (poll(&pfd, 1, DIAL_MS) != 1 || (n = read(fd, line, sz - 1)) <= 0)
		goto out;
	line[n] = '\0';
	line[strcspn(line, "\r\n")] = '\0';
	rc = 0;
out:
	if (fd != -1)
		(void)close(fd);
	freeaddrinfo(res);
	return rc;
}

/* check_listeners - each listener answers, from this host */
void
check_listeners(struct cctx *c)
{
	const struct listen_list	*l[3] = { &c->conf->smtp_listen,
	    &c->conf->submission_listen, &c->conf->submissions_listen };
	static const char *const	 what[3] = { "MX (25)",
	    "submission (587)", "submissions (465)" };
	char				 line[512], fix[PATH_MAX + 64];
	const char			*h;
	size_t				 i, j;

	(void)snprintf(fix, sizeof(fix), "start it: postern -C %s serve (and "
	    "let the port through the firewall)", c->confdir);
	for (i = 0; i < 3; i++)
		for (j = 0; j < l[i]->n; j++) {
			h = l[i]->addr[j].host;
			if (h[0] == '\0' || strcmp(h, "*") == 0 ||
			    strcmp(h, "0.0.0.0") == 0)
				h = "127.0.0.1";
			else if (strcmp(h, "::") == 0)
				h = "::1";
			if (dial(h, l[i]->addr[j].port, i == 2, line,
			    sizeof(line)) == -1)
				cc_add(c, "listen", CV_FAIL, fix, "%s: nothing "
				    "answers on %s port %s", what[i], h,
				    l[i]->addr[j].port);
			else if (i < 2 && strncmp(line, "220", 3) != 0)
				cc_add(c, "listen", CV_FAIL, fix, "%s on %s port "
				    "%s greets with \"%.80s\", not 220", what[i],
				    h, l[i]->addr[j].port, line);
			else
				cc_add(c, "listen", CV_OK, NULL, "%s answers on "
				    "%s port %s", what[i], h,
				    l[i]->addr[j].port);
		}
}

/* check_forwarding - aliases that forward elsewhere need the SRS secret */
void
check_forwarding(struct cctx *c)
{
	const struct domain	*d = conf_domain(c->conf, c->domain);
	struct srs		*srs = xcalloc(1, sizeof(*srs));
	struct err		 e;
	char			 list[400], fix[PATH_MAX + 200], *at;
	size_t			 i, j, k = 0, nfwd = 0;
	int			 r;

	list[0] = '\0';
	for (i = 0; d != NULL && i < d->naliases; i++)
		for (j = 0; j < d->aliases[i].ntargets; j++) {
			at = strrchr(d->aliases[i].targets[j], '@');
			if (d->aliases[i].targets[j][0] == '|' || at == NULL ||
			    conf_domain(c->conf, at + 1) != NULL)
				continue;
			nfwd++;
			if (k < sizeof(list))
				k += (size_t)snprintf(list + k, sizeof(list) - k,
				    "%s%s -> %s", k ? ", " : "",
				    d->aliases[i].local,
				    d->aliases[i].targets[j]);
		}
	if (k >= sizeof(list))
		(void)snprintf(list + sizeof(list) - 5, 5, "...");
	r = srs_load(srs, c->confdir, &e);
	explicit_bzero(srs, sizeof(*srs));
	free(srs);
	(void)snprintf(fix, sizeof(fix), "write one: head -c 32 /dev/urandom "
	    "| base64 > %s/srs_secrets; chmod 640 %s/srs_secrets; reload",
	    c->confdir, c->confdir);
	if (r == -1)
		cc_add(c, "forward", CV_FAIL, "fix the file, then reload", "%s",
		    e.msg);
	else if (r == 1)
		cc_add(c, "forward", nfwd > 0 ? CV_FAIL : CV_WARN, fix, "no "
		    "srs_secrets: forwarded mail keeps its sender and fails SPF "
		    "at the next hop%s%s", nfwd > 0 ? "; forwarding: " : "",
		    list);
	else
		cc_add(c, "forward", CV_OK, NULL, "SRS secret present; %s%s "
		    "(forwarded mail goes out byte for byte: senders' DKIM "
		    "signatures still verify, so their DMARC p=reject holds)",
		    nfwd > 0 ? "forwarding: " : "no alias forwards elsewhere",
		    list);
}
