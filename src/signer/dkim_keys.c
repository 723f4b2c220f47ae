/*
 * dkim_keys.c - read a domain's DKIM private keys (dkim_keys.h).  A
 * key file is PKCS#8 (or any PEM private key OpenSSL reads) named
 * SELECTOR.pem; other names and dot files are not looked at.  Reading
 * is all or nothing, so a caller never signs with half a key set.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>

#include "strutil.h"
#include "mauth/dkim_crypto.h"
#include "signer/dkim_keys.h"

/* dkim_keys_selector_ok - a label: letters, digits, inner hyphens */
bool
dkim_keys_selector_ok(const char *s)
{
	size_t	i, n = strlen(s);

	if (n == 0 || n > DKIM_SELECTOR_MAX || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' &&
		    s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '-'))
			return false;
	return true;
}

/* dkim_keys_dir - DIR/domains/DOMAIN/dkim */
int
dkim_keys_dir(const char *confdir, const char *domain, char *out,
    size_t outsz, struct err *e)
{
	if (str_fmt(out, outsz, "%s/domains/%s/dkim", confdir, domain) == -1)
		return err_set(e, false, 0, "path too long");
	return 0;
}

/* cmp_key - by selector */
static int
cmp_key(const void *a, const void *b)
{
	return strcmp(((const struct dkim_keyent *)a)->selector,
	    ((const struct dkim_keyent *)b)->selector);
}

/* key_load - one file into *ke */
static int
key_load(const char *path, struct dkim_keyent *ke, struct err *e)
{
	FILE	*fp;

	if ((fp = fopen(path, "re")) == NULL)
		return err_set(e, false, errno, "%s: %s", path,
		    strerror(errno));
	ke->k = PEM_read_PrivateKey(fp, NULL, NULL, NULL);
	(void)fclose(fp);
	if (ke->k == NULL)
		return err_set(e, false, 0, "%s: not a PEM private key",
		    path);
	ke->ed25519 = EVP_PKEY_get_id(ke->k) == EVP_PKEY_ED25519;
	ke->bits = EVP_PKEY_get_bits(ke->k);
	if (!ke->ed25519 && EVP_PKEY_get_id(ke->k) != EVP_PKEY_RSA)
		err_set(e, false, 0, "%s: neither an RSA nor an Ed25519 key",
		    path);
	else if (!ke->ed25519 && ke->bits < DKIM_RSA_MIN_BITS)
		err_set(e, false, 0, "%s: an RSA key of %d bits (at least "
		    "%d, RFC 8301)", path, ke->bits, DKIM_RSA_MIN_BITS);
	else
		return 0;
	EVP_PKEY_free(ke->k);
	ke->k = NULL;
	return -1;
}

/* dkim_keys_read - every SELECTOR.pem of the domain, all or none */
int
dkim_keys_read(const char *confdir, const char *domain,
    struct dkim_keyent *v, size_t max, size_t *n, struct err *e)
{
	char		 dir[PATH_MAX], path[PATH_MAX];
	DIR		*d;
	struct dirent	*de;
	size_t		 len, k_n = 0;
	int		 rc = -1;

	*n = 0;
	if (dkim_keys_dir(confdir, domain, dir, sizeof(dir), e) == -1)
		return -1;
	if ((d = opendir(dir)) == NULL) {
		if (errno == ENOENT)
			return 0;
		return err_set(e, false, errno, "%s: %s", dir,
		    strerror(errno));
	}
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (len < 5 || de->d_name[0] == '.' ||
		    strcmp(de->d_name + len - 4, ".pem") != 0)
			continue;
		if (k_n == max) {
			err_set(e, false, 0, "%s: more than %zu keys", dir,
			    max);
			goto out;
		}
		memset(&v[k_n], 0, sizeof(v[k_n]));
		(void)snprintf(v[k_n].selector, sizeof(v[k_n].selector),
		    "%.*s", (int)(len - 4), de->d_name);
		if (len - 4 > DKIM_SELECTOR_MAX ||
		    !dkim_keys_selector_ok(v[k_n].selector)) {
			err_set(e, false, 0, "%s/%s: the name is not a "
			    "selector", dir, de->d_name);
			goto out;
		}
		if (str_fmt(path, sizeof(path), "%s/%s", dir, de->d_name) ==
		    -1) {
			err_set(e, false, 0, "%s/%s: path too long", dir,
			    de->d_name);
			goto out;
		}
		if (key_load(path, &v[k_n], e) == -1)
			goto out;
		k_n++;
	}
	qsort(v, k_n, sizeof(v[0]), cmp_key);
	*n = k_n;
	rc = 0;
out:
	if (rc == -1)
		dkim_keys_free(v, k_n);
	(void)closedir(d);
	return rc;
}

/* dkim_keys_free - the keys of v[0..n) */
void
dkim_keys_free(struct dkim_keyent *v, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		EVP_PKEY_free(v[i].k);
		v[i].k = NULL;
	}
}
