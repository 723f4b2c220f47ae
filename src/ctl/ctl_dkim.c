/*
 * ctl_dkim.c - DKIM keys in the config directory:
 *
 *	postern [-C DIR] dkim-keygen DOMAIN [--selector S]
 *	    [--type rsa|ed25519] [--bits 2048|3072|4096]
 *
 * Runs as the administrator.  Writes DIR/domains/DOMAIN/dkim/S.pem, a
 * PKCS#8 private key, mode 0640 with the service user's group (the
 * signing process reads it; nobody else may), through a temporary file
 * that is fsynced and then linked into place, so an existing key is never
 * overwritten and a crash leaves no half key.  RSA is 2048 bits unless
 * asked (RFC 8301: at least 1024 to verify, 2048 recommended to sign);
 * Ed25519 follows RFC 8463.  Prints the TXT record to publish, whose p=
 * is the DER SubjectPublicKeyInfo (RSA, RFC 6376 3.6.1) or the raw
 * 32-byte key (Ed25519, RFC 8463 4.2), base64.
 *
 * Exit codes: 0 done, 1 failed (one line on stderr), 2 usage.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "addr.h"
#include "b64.h"
#include "ctl.h"
#include "ctl_dkim.h"
#include "fsutil.h"
#include "strutil.h"

#define KEYGEN_USAGE	"usage: postern [-C DIR] dkim-keygen DOMAIN " \
			"[--selector S] [--type rsa|ed25519] " \
			"[--bits 2048|3072|4096]"
#define SERVICE_GROUP	"postern"

/* key_txt - the record of a key, and its type and size */
static int
key_txt(EVP_PKEY *k, struct ctl_dkim_key *out, struct err *e)
{
	unsigned char	 raw[32], *der = NULL;
	char		 b64[800];
	size_t		 rawlen = sizeof(raw);
	int		 derlen, rc = -1;

	out->ed25519 = EVP_PKEY_get_id(k) == EVP_PKEY_ED25519;
	out->bits = EVP_PKEY_get_bits(k);
	if (out->ed25519) {
		if (EVP_PKEY_get_raw_public_key(k, raw, &rawlen) != 1 ||
		    b64_encode(raw, rawlen, b64, sizeof(b64)) == -1)
			return err_set(e, false, 0, "Ed25519 public key");
	} else if (EVP_PKEY_get_id(k) == EVP_PKEY_RSA) {
		if ((derlen = i2d_PUBKEY(k, &der)) <= 0 ||
		    b64_encode(der, (size_t)derlen, b64, sizeof(b64)) == -1) {
			err_set(e, false, 0, "RSA public key too large");
			goto out;
		}
	} else {
		return err_set(e, false, 0, "neither an RSA nor an Ed25519 "
		    "key");
	}
	(void)snprintf(out->txt, sizeof(out->txt), "v=DKIM1; k=%s; p=%s",
	    out->ed25519 ? "ed25519" : "rsa", b64);
	rc = 0;
out:
	OPENSSL_free(der);
	return rc;
}

/* write_key - k as PEM into dir/SELECTOR.pem, never over another */
static int
write_key(const char *dir, const char *selector, EVP_PKEY *k,
    struct err *e)
{
	char		 tmp[PATH_MAX], path[PATH_MAX];
	struct group	*gr;
	FILE		*fp = NULL;
	int		 fd = -1, rc = -1;

	if (str_fmt(path, sizeof(path), "%s/%s.pem", dir, selector) == -1 ||
	    str_fmt(tmp, sizeof(tmp), "%s/.%s.pem.%ld", dir, selector,
	    (long)getpid()) == -1)
		return err_set(e, false, 0, "path too long");
	if (access(path, F_OK) == 0)
		return err_set(e, false, EEXIST, "%s exists; choose another "
		    "selector", path);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640)) ==
	    -1) {
		err_set(e, false, errno, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	if ((gr = getgrnam(SERVICE_GROUP)) != NULL &&
	    fchown(fd, (uid_t)-1, gr->gr_gid) == -1 && errno != EPERM) {
		err_set(e, false, errno, "chown %s: %s", tmp, strerror(errno));
		goto out;
	}
	if ((fp = fdopen(fd, "w")) == NULL) {
		err_set(e, false, errno, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	fd = -1;
	if (PEM_write_PrivateKey(fp, k, NULL, NULL, 0, NULL, NULL) != 1 ||
	    fflush(fp) != 0 || fsync(fileno(fp)) == -1) {
		err_set(e, false, errno, "%s: write failed", tmp);
		goto out;
	}
	if (link(tmp, path) == -1) {
		err_set(e, false, errno, "%s: %s", path, strerror(errno));
		goto out;
	}
	fsutil_fsync_parent(path);
	rc = 0;
out:
	if (fp != NULL)
		(void)fclose(fp);
	if (fd != -1)
		(void)close(fd);
	(void)unlink(tmp);
	return rc;
}

/* ctl_dkim_keygen - generate, write, describe */
int
ctl_dkim_keygen(const char *confdir, const char *domain, const char *sel,
    bool ed25519, int bits, struct ctl_dkim_key *out, struct err *e)
{
	char		 dir[PATH_MAX];
	struct stat	 st;
	struct group	*gr;
	EVP_PKEY	*k;
	int		 rc = -1;

	if (!addr_domain_valid(domain, strlen(domain), false))
		return err_set(e, false, 0, "bad domain \"%s\"", domain);
	if (!dkim_keys_selector_ok(sel))
		return err_set(e, false, 0, "bad selector \"%s\": one DNS "
		    "label of letters, digits and '-'", sel);
	if (dkim_keys_dir(confdir, domain, dir, sizeof(dir), e) == -1)
		return -1;
	if (str_fmt(out->selector, sizeof(out->selector), "%s", sel) == -1)
		return err_set(e, false, 0, "selector too long");
	if (stat(dir, &st) == -1) {
		char	dom[PATH_MAX];

		if (str_fmt(dom, sizeof(dom), "%s/domains/%s", confdir,
		    domain) == -1 || stat(dom, &st) == -1)
			return err_set(e, false, errno, "no domain %s in %s "
			    "(postern init %s first)", domain, confdir,
			    domain);
		if (mkdir(dir, 0750) == -1 && errno != EEXIST)
			return err_set(e, false, errno, "mkdir %s: %s", dir,
			    strerror(errno));
	}
	/* the signing process enters the directory through its group */
	if ((gr = getgrnam(SERVICE_GROUP)) != NULL &&
	    chown(dir, (uid_t)-1, gr->gr_gid) == 0)
		(void)chmod(dir, 0750);
	k = ed25519 ? EVP_PKEY_Q_keygen(NULL, NULL, "ED25519") :
	    EVP_RSA_gen((unsigned)bits);
	if (k == NULL)
		return err_set(e, false, 0, "key generation failed");
	if (key_txt(k, out, e) == 0 && write_key(dir, sel, k, e) == 0)
		rc = 0;
	EVP_PKEY_free(k);
	return rc;
}

/* ctl_dkim_keys - every SELECTOR.pem of the domain, read and described */
int
ctl_dkim_keys(const char *confdir, const char *domain,
    struct ctl_dkim_key *v, size_t max, size_t *n, struct err *e)
{
	struct dkim_keyent	 ke[DKIM_KEYS_MAX];
	size_t			 i, nk;
	int			 rc = 0;

	*n = 0;
	if (dkim_keys_read(confdir, domain, ke, max < DKIM_KEYS_MAX ? max :
	    DKIM_KEYS_MAX, &nk, e) == -1)
		return -1;
	for (i = 0; i < nk && rc == 0; i++) {
		memcpy(v[i].selector, ke[i].selector, sizeof(v[i].selector));
		if (key_txt(ke[i].k, &v[i], e) == -1)
			rc = err_set(e, false, 0, "%s/%s.pem: %s", domain,
			    ke[i].selector, e->msg);
	}
	dkim_keys_free(ke, nk);
	if (rc == 0)
		*n = nk;
	return rc;
}

/* ctl_dkim_txt_zone - one zone-file line, strings of 255 bytes at most */
int
ctl_dkim_txt_zone(const char *domain, const struct ctl_dkim_key *k,
    struct buf *out)
{
	size_t	i, n = strlen(k->txt), chunk;

	if (buf_printf(out, "%s._domainkey.%s. 3600 IN TXT (", k->selector,
	    domain) == -1)
		return -1;
	for (i = 0; i < n; i += chunk) {
		chunk = n - i > 255 ? 255 : n - i;
		if (buf_printf(out, " \"%.*s\"", (int)chunk, k->txt + i) == -1)
			return -1;
	}
	return buf_addstr(out, " )\n");
}

/* ctl_dkim_keygen_verb - the verb's arguments, then keygen and print */
int
ctl_dkim_keygen_verb(const char *confdir, int argc, char **argv)
{
	struct ctl_dkim_key	 k;
	struct buf		 out;
	struct err		 e;
	char			 domain[LIM_DOMAIN + 1], sel[32];
	const char		*selector = NULL;
	bool			 ed = false;
	int			 i, bits = 2048;
	time_t			 now = time(NULL);
	struct tm		 tm;

	memset(&e, 0, sizeof(e));
	domain[0] = '\0';
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--selector") == 0 && i + 1 < argc)
			selector = argv[++i];
		else if (strcmp(argv[i], "--type") == 0 && i + 1 < argc) {
			i++;
			if (strcmp(argv[i], "ed25519") == 0)
				ed = true;
			else if (strcmp(argv[i], "rsa") != 0)
				goto usage;
		} else if (strcmp(argv[i], "--bits") == 0 && i + 1 < argc) {
			bits = atoi(argv[++i]);
			if (bits != 2048 && bits != 3072 && bits != 4096)
				goto usage;
		} else if (argv[i][0] != '-' && domain[0] == '\0' &&
		    strlen(argv[i]) < sizeof(domain)) {
			(void)snprintf(domain, sizeof(domain), "%s", argv[i]);
			addr_lower(domain);
		} else
			goto usage;
	}
	if (domain[0] == '\0')
		goto usage;
	if (selector == NULL) {
		/* the default names the year and the type: p2026, e2026 */
		(void)gmtime_r(&now, &tm);
		(void)snprintf(sel, sizeof(sel), "%c%04d", ed ? 'e' : 'p',
		    tm.tm_year + 1900);
		selector = sel;
	}
	if (ctl_dkim_keygen(confdir, domain, selector, ed, bits, &k, &e) ==
	    -1) {
		fprintf(stderr, "postern: %s\n", e.msg);
		return 1;
	}
	buf_init(&out, 8192);
	if (ctl_dkim_txt_zone(domain, &k, &out) == 0)
		printf("wrote %s/domains/%s/dkim/%s.pem (%s, %d bits)\n"
		    "publish:\n%.*s", confdir, domain, k.selector,
		    k.ed25519 ? "ed25519" : "rsa", k.bits,
		    (int)buf_avail(&out), buf_ptr(&out));
	buf_release(&out);
	return 0;
usage:
	fprintf(stderr, "%s\n", KEYGEN_USAGE);
	return 2;
}
