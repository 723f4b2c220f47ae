/*
 * tls.c - server-side TLS contexts and SNI selection.
 *
 * Runs in the parent (to validate certificates before a reload) and in
 * the smtp process, which holds the contexts it serves with.  Settings:
 * TLS >= 1.2, ECDHE with AES-GCM or ChaCha20-Poly1305 for TLS 1.2,
 * OpenSSL's TLS 1.3 suites, key exchange on X25519, P-256 or P-384 only,
 * no compression, no renegotiation, server cipher preference.
 * Certificates are looked up by exact SNI name, then by "*.parent"
 * folder, then the default.
 *
 * The group list (tls_set_groups) is also what the outbound contexts
 * (deliver/deliver.c, ctl/ctl_send_conn.c) offer: one list for every
 * context.  No finite-field group and no DHE suite anywhere: a client
 * could make the server compute an ffdhe8192 exchange, about 145 times
 * the cost of an X25519 one, for every connection it opens, before any
 * login (the D(HE)at pattern, CVE-2002-20001).
 */
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "err.h"
#include "log.h"
#include "tls.h"
#include "xmalloc.h"

#define TLS12_CIPHERS	"ECDHE+AESGCM:ECDHE+CHACHA20"
/* Mozilla's "intermediate" groups, preferred first */
#define TLS_GROUPS	"X25519:P-256:P-384"

struct tls_entry {
	char	*name;		/* folder name, lower case */
	SSL_CTX	*ctx;
};

struct tls_store {
	struct tls_entry	*v;
	size_t			 n;
	SSL_CTX			*def;
};

/* tls_ssl_err - e from OpenSSL's first queued error */
static void
tls_ssl_err(struct err *e, const char *what, const char *path)
{
	unsigned long	ec = ERR_get_error();
	char		ebuf[128];

	ERR_error_string_n(ec, ebuf, sizeof(ebuf));
	ERR_clear_error();
	err_set(e, false, 0, "%s %s: %s", what, path, ebuf);
}

/* tls_set_groups - X25519, P-256, P-384: the only key exchanges offered */
int
tls_set_groups(SSL_CTX *ctx, struct err *e)
{
	if (SSL_CTX_set1_groups_list(ctx, TLS_GROUPS) != 1) {
		tls_ssl_err(e, "key exchange groups", TLS_GROUPS);
		return -1;
	}
	return 0;
}

/* tls_server_ctx_new - a hardened server context for one cert/key pair */
SSL_CTX *
tls_server_ctx_new(const char *chain, const char *key, struct err *e)
{
	SSL_CTX	*ctx;

	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		tls_ssl_err(e, "SSL_CTX_new", "");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION |
	    SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
	if (SSL_CTX_set_cipher_list(ctx, TLS12_CIPHERS) != 1) {
		tls_ssl_err(e, "cipher list", "");
		goto fail;
	}
	if (tls_set_groups(ctx, e) == -1)
		goto fail;
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	if (SSL_CTX_use_certificate_chain_file(ctx, chain) != 1) {
		tls_ssl_err(e, "certificate", chain);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		tls_ssl_err(e, "private key", key);
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		tls_ssl_err(e, "key does not match certificate", key);
		goto fail;
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

static SSL_CTX *
tls_store_find(struct tls_store *ts, const char *name)
{
	const char	*dot;
	char		 wild[300];
	size_t		 i;

	for (i = 0; i < ts->n; i++)
		if (strcasecmp(ts->v[i].name, name) == 0)
			return ts->v[i].ctx;
	if ((dot = strchr(name, '.')) != NULL &&
	    (size_t)snprintf(wild, sizeof(wild), "*%s", dot) < sizeof(wild)) {
		for (i = 0; i < ts->n; i++)
			if (strcasecmp(ts->v[i].name, wild) == 0 ||
			    strcasecmp(ts->v[i].name, wild + 2) == 0)
				return ts->v[i].ctx;
	}
	return NULL;
}

/* tls_sni_cb - switch the connection to the certificate for its SNI */
static int
tls_sni_cb(SSL *ssl, int *ad, void *arg)
{
	struct tls_store	*ts = arg;
	const char		*name;
	SSL_CTX			*ctx;

	(void)ad;
	name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	if (name == NULL)
		return SSL_TLSEXT_ERR_OK;
	if ((ctx = tls_store_find(ts, name)) != NULL && ctx != ts->def)
		SSL_set_SSL_CTX(ssl, ctx);
	return SSL_TLSEXT_ERR_OK;
}

static int
tls_entry_cmp(const void *a, const void *b)
{
	const struct tls_entry	*x = a, *y = b;

	return strcmp(x->name, y->name);
}

struct tls_store *
tls_store_load(const char *certdir, const char *default_name, struct err *e)
{
	struct tls_store	*ts = xcalloc(1, sizeof(*ts));
	DIR			*d;
	struct dirent		*de;
	char			 chain[PATH_MAX], key[PATH_MAX];
	SSL_CTX			*ctx;
	size_t			 i;

	if ((d = opendir(certdir)) == NULL) {
		err_set(e, false, errno, "%s: %s", certdir, strerror(errno));
		free(ts);
		return NULL;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if ((size_t)snprintf(chain, sizeof(chain), "%s/%s/fullchain.pem",
		    certdir, de->d_name) >= sizeof(chain) ||
		    (size_t)snprintf(key, sizeof(key), "%s/%s/privkey.pem",
		    certdir, de->d_name) >= sizeof(key))
			continue;
		/* a folder without a chain is not a certificate (a README,
		 * an ACME client's work folder): skip it */
		if (access(chain, F_OK) == -1)
			continue;
		if ((ctx = tls_server_ctx_new(chain, key, e)) == NULL) {
			closedir(d);
			tls_store_free(ts);
			return NULL;
		}
		ts->v = xreallocarray(ts->v, ts->n + 1, sizeof(*ts->v));
		ts->v[ts->n].name = xstrdup(de->d_name);
		ts->v[ts->n].ctx = ctx;
		ts->n++;
	}
	closedir(d);
	if (ts->n == 0) {
		err_set(e, false, 0, "%s: no certificate (expected "
		    "NAME/fullchain.pem and NAME/privkey.pem)", certdir);
		tls_store_free(ts);
		return NULL;
	}
	qsort(ts->v, ts->n, sizeof(*ts->v), tls_entry_cmp);
	if ((ts->def = tls_store_find(ts, default_name)) == NULL)
		ts->def = ts->v[0].ctx;
	for (i = 0; i < ts->n; i++) {
		SSL_CTX_set_tlsext_servername_callback(ts->v[i].ctx, tls_sni_cb);
		SSL_CTX_set_tlsext_servername_arg(ts->v[i].ctx, ts);
	}
	return ts;
}

SSL_CTX *
tls_store_ctx(struct tls_store *ts)
{
	return ts->def;
}

void
tls_store_free(struct tls_store *ts)
{
	size_t	i;

	if (ts == NULL)
		return;
	for (i = 0; i < ts->n; i++) {
		SSL_CTX_free(ts->v[i].ctx);
		free(ts->v[i].name);
	}
	free(ts->v);
	free(ts);
}
