/*
 * cert.c - a self-signed certificate for the embedded default and for
 * tests.
 *
 * Runs in the admin verbs (init) as the admin user, never in a daemon.
 * ECDSA P-256 key, X.509 v3 signed with SHA-256 by that key, a random
 * positive 128-bit serial, valid from an hour ago (clock skew) for ten
 * years, CN and subjectAltName DNS: the host name, basicConstraints
 * CA:FALSE, serverAuth.  Files are created with O_EXCL: an existing
 * certificate or key is never overwritten, and a half-written pair is
 * removed.  privkey.pem is 0600 whatever the umask.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "cert.h"
#include "err.h"
#include "bounds.h"
#include "strutil.h"

#define CERT_DAYS	3653	/* ten years */

/* ssl_err - the last OpenSSL error as text, for an err message */
static const char *
ssl_err(void)
{
	static char	 msg[160];
	unsigned long	 code = ERR_get_error();

	if (code == 0)
		return "unknown OpenSSL error";
	ERR_error_string_n(code, msg, sizeof(msg));
	ERR_clear_error();
	return msg;
}

/* host_ok - letters, digits, '-' and '.': safe inside a v3 config value */
static int
host_ok(const char *h)
{
	size_t	i, n = strlen(h);

	if (n == 0 || n > LIM_DOMAIN)
		return 0;
	for (i = 0; i < n; i++)
		if (!((h[i] >= 'a' && h[i] <= 'z') ||
		    (h[i] >= 'A' && h[i] <= 'Z') ||
		    (h[i] >= '0' && h[i] <= '9') || h[i] == '-' || h[i] == '.'))
			return 0;
	return 1;
}

/* add_ext - one v3 extension from its config text */
static int
add_ext(X509 *x, int nid, const char *value)
{
	X509V3_CTX		 ctx;
	X509_EXTENSION		*ext;
	int			 rc;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	if ((ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value)) == NULL)
		return -1;
	rc = X509_add_ext(x, ext, -1) == 1 ? 0 : -1;
	X509_EXTENSION_free(ext);
	return rc;
}

/* set_serial - a random positive 128-bit serial (RFC 5280 4.1.2.2) */
static int
set_serial(X509 *x)
{
	unsigned char	 r[16];
	BIGNUM		*bn;
	int		 rc = -1;

	if (RAND_bytes(r, sizeof(r)) != 1)
		return -1;
	r[0] &= 0x7f;
	r[0] |= 0x40;	/* keep the full 16 octets, positive */
	if ((bn = BN_bin2bn(r, sizeof(r), NULL)) == NULL)
		return -1;
	if (BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL)
		rc = 0;
	BN_free(bn);
	return rc;
}

/* make_cert - the key and its self-signed certificate for hostname */
static int
make_cert(const char *hostname, EVP_PKEY **keyp, X509 **certp)
{
	EVP_PKEY	*key = NULL;
	X509		*x = NULL;
	X509_NAME	*name;
	char		 san[LIM_DOMAIN + 8];
	int		 rc = -1;

	if ((key = EVP_EC_gen("P-256")) == NULL || (x = X509_new()) == NULL)
		goto out;
	if (X509_set_version(x, X509_VERSION_3) != 1 || set_serial(x) == -1)
		goto out;
	if (X509_gmtime_adj(X509_getm_notBefore(x), -3600) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(x), CERT_DAYS, 0,
	    NULL) == NULL)
		goto out;
	name = X509_get_subject_name(x);
	if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)hostname, -1, -1, 0) != 1 ||
	    X509_set_issuer_name(x, name) != 1 ||
	    X509_set_pubkey(x, key) != 1)
		goto out;
	(void)snprintf(san, sizeof(san), "DNS:%s", hostname);
	if (add_ext(x, NID_basic_constraints, "critical,CA:FALSE") == -1 ||
	    add_ext(x, NID_key_usage, "critical,digitalSignature") == -1 ||
	    add_ext(x, NID_ext_key_usage, "serverAuth") == -1 ||
	    add_ext(x, NID_subject_key_identifier, "hash") == -1 ||
	    add_ext(x, NID_subject_alt_name, san) == -1)
		goto out;
	if (X509_sign(x, key, EVP_sha256()) == 0)
		goto out;
	*keyp = key;
	*certp = x;
	key = NULL;
	x = NULL;
	rc = 0;
out:
	X509_free(x);
	EVP_PKEY_free(key);
	return rc;
}

/* mkdirs - mkdir -p, each new folder with mode */
static int
mkdirs(const char *dir, mode_t mode, struct err *e)
{
	char	 path[PATH_MAX], *p, c;

	if (str_copy(path, dir, sizeof(path)) == -1)
		return err_set(e, false, 0, "%s: path too long", dir);
	for (p = path + 1; ; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		c = *p;
		*p = '\0';
		if (mkdir(path, mode) == -1 && errno != EEXIST)
			return err_set(e, false, errno, "mkdir %s: %s", path,
			    strerror(errno));
		*p = c;
		if (c == '\0')
			break;
	}
	return 0;
}

/* open_new - create dir/name exclusively with exactly mode */
static FILE *
open_new(const char *path, mode_t mode, struct err *e)
{
	FILE	*fp;
	int	 fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
	    O_NOFOLLOW, mode)) == -1) {
		err_set(e, false, errno, "%s: %s", path, errno == EEXIST ?
		    "already exists, not overwriting" : strerror(errno));
		return NULL;
	}
	if (fchmod(fd, mode) == -1 || (fp = fdopen(fd, "w")) == NULL) {
		err_set(e, false, errno, "%s: %s", path, strerror(errno));
		(void)close(fd);
		(void)unlink(path);
		return NULL;
	}
	return fp;
}

/* close_synced - flush, fsync and close; -1 on any failure */
static int
close_synced(FILE *fp)
{
	int	rc = 0;

	if (fflush(fp) == EOF || fsync(fileno(fp)) == -1)
		rc = -1;
	if (fclose(fp) == EOF)
		rc = -1;
	return rc;
}

/*
 * cert_selfsigned - write dir/fullchain.pem (0644) and dir/privkey.pem
 * (0600), creating dir (0755) if missing; refuses to overwrite.
 */
int
cert_selfsigned(const char *dir, const char *hostname, struct err *e)
{
	EVP_PKEY	*key = NULL;
	X509		*x = NULL;
	FILE		*fp = NULL;
	char		 keypath[PATH_MAX], certpath[PATH_MAX];
	int		 made_key = 0, ok, rc = -1;

	if (!host_ok(hostname))
		return err_set(e, false, 0, "\"%.64s\": not a host name",
		    hostname);
	if (snprintf(keypath, sizeof(keypath), "%s/privkey.pem", dir) >=
	    (int)sizeof(keypath) || snprintf(certpath, sizeof(certpath),
	    "%s/fullchain.pem", dir) >= (int)sizeof(certpath))
		return err_set(e, false, 0, "%s: path too long", dir);
	if (access(certpath, F_OK) == 0 || access(keypath, F_OK) == 0)
		return err_set(e, false, EEXIST, "%s: a certificate or key is"
		    " already there, not overwriting", dir);
	if (make_cert(hostname, &key, &x) == -1) {
		err_set(e, false, 0, "self-signed certificate: %s", ssl_err());
		goto out;
	}
	if (mkdirs(dir, 0755, e) == -1)
		goto out;
	if ((fp = open_new(keypath, 0600, e)) == NULL)
		goto out;
	made_key = 1;
	ok = PEM_write_PrivateKey(fp, key, NULL, NULL, 0, NULL, NULL) == 1;
	if (close_synced(fp) == -1 || !ok) {
		err_set(e, false, errno, "%s: write failed", keypath);
		goto out;
	}
	if ((fp = open_new(certpath, 0644, e)) == NULL)
		goto out;
	ok = PEM_write_X509(fp, x) == 1;
	if (close_synced(fp) == -1 || !ok) {
		(void)unlink(certpath);
		err_set(e, false, errno, "%s: write failed", certpath);
		goto out;
	}
	rc = 0;
out:
	if (rc == -1 && made_key)
		(void)unlink(keypath);
	X509_free(x);
	EVP_PKEY_free(key);
	return rc;
}
