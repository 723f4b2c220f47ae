/*
 * signer.c - the signer: the DKIM key holder.
 *
 * The only process of the server that opens the private keys
 * (DIR/domains/DOMAIN/dkim/SELECTOR.pem, signer/dkim_keys.c).  It speaks
 * no SMTP and never sees a message: the queue, which parses the message
 * and decides what is signed, sends a header digest (M_K_SIGN: domain,
 * selector, the 32-octet SHA-256 of the canonical header block) and gets
 * the signature bytes back (M_K_SIGN_RES): RSASSA-PKCS1-v1_5 for an RSA
 * key, Ed25519 for an Ed25519 one (RFC 6376 3.3, RFC 8463 3).  That is
 * all it can be made to do, whatever the queue asks.
 *
 * Runs unprivileged (the service user, whose group may read the keys)
 * with two channels: the queue's and the parent's.  At start and after
 * each M_RELOAD it reads postern.conf and every local domain's keys
 * again; it then tells the queue which keys it holds (M_K_KEYS: names
 * and algorithms, never key material).  A reload is all or nothing: a
 * key that does not parse is an error naming the file, and the keys in
 * use stay.  At start a domain with such a key has no keys until a
 * reload reads them (the error says so); the other domains are signed
 * for.  It ends when either channel closes.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "bounds.h"
#include "conf.h"
#include "err.h"
#include "ipc.h"
#include "log.h"
#include "msg.h"
#include "msgtypes.h"
#include "xmalloc.h"
#include "mauth/dkim_crypto.h"
#include "signer/dkim_keys.h"
#include "signer/signer.h"

struct skey {
	char			 domain[LIM_DOMAIN + 1];
	struct dkim_keyent	 ke;		/* ke.k NULL: the domain's keys
						   did not read (lenient) */
};

struct keyset {
	struct skey		*v;
	size_t			 n;
};

struct signer {
	struct event_base	*base;
	struct conf		*conf;
	bool			 conf_owned;
	struct keyset		 keys;
	struct chan		*queue;
	struct chan		*parent;
};

/* keyset_free - every key of ks */
static void
keyset_free(struct keyset *ks)
{
	size_t	i;

	for (i = 0; i < ks->n; i++)
		dkim_keys_free(&ks->v[i].ke, 1);
	free(ks->v);
	ks->v = NULL;
	ks->n = 0;
}

/*
 * keyset_load - the keys of every local domain of c; -1 at the first
 * domain whose keys do not all read (e names the file), nothing kept.
 * lenient (at start): such a domain is logged and left without keys.
 */
static int
keyset_load(const struct conf *c, bool lenient, struct keyset *out,
    struct err *e)
{
	struct dkim_keyent	 ke[DKIM_KEYS_MAX];
	struct keyset		 ks = { NULL, 0 };
	size_t			 d, i, n;

	for (d = 0; d < c->ndomains; d++) {
		if (dkim_keys_read(c->dir, c->domains[d].name, ke,
		    DKIM_KEYS_MAX, &n, e) == -1) {
			if (lenient) {
				/* its mail waits (451), never goes unsigned */
				log_warnx("signer: %s: mail of domain=%s is "
				    "refused until a reload reads its keys",
				    e->msg, c->domains[d].name);
				ks.v = xreallocarray(ks.v, ks.n + 1,
				    sizeof(*ks.v));
				memset(&ks.v[ks.n], 0, sizeof(ks.v[ks.n]));
				(void)snprintf(ks.v[ks.n].domain,
				    sizeof(ks.v[ks.n].domain), "%s",
				    c->domains[d].name);
				ks.n++;
				continue;
			}
			keyset_free(&ks);
			return -1;
		}
		if (ks.n + n > LIM_SIGNER_KEYS) {
			dkim_keys_free(ke, n);
			keyset_free(&ks);
			return err_set(e, false, 0, "more than %d DKIM keys",
			    LIM_SIGNER_KEYS);
		}
		ks.v = xreallocarray(ks.v, ks.n + n + 1, sizeof(*ks.v));
		for (i = 0; i < n; i++) {
			(void)snprintf(ks.v[ks.n].domain,
			    sizeof(ks.v[ks.n].domain), "%s",
			    c->domains[d].name);
			ks.v[ks.n++].ke = ke[i];
		}
	}
	*out = ks;
	return 0;
}

/* signer_announce - M_K_KEYS: the names of the keys held now */
static void
signer_announce(struct signer *s)
{
	struct ipc_k_keys	*k = xcalloc(1, sizeof(*k));
	struct msg		 m;
	size_t			 i;

	for (i = 0; i < s->keys.n; i++) {
		k->v[i].domain = s->keys.v[i].domain;
		k->v[i].selector = s->keys.v[i].ke.selector;
		k->v[i].alg = s->keys.v[i].ke.ed25519 ? K_ALG_ED25519_SHA256 :
		    K_ALG_RSA_SHA256;
		if (s->keys.v[i].ke.k == NULL) {
			k->v[i].alg = K_ALG_UNREADABLE;
			continue;
		}
		log_info("dkim key domain=%s selector=%s type=%s bits=%d",
		    s->keys.v[i].domain, s->keys.v[i].ke.selector,
		    s->keys.v[i].ke.ed25519 ? "ed25519" : "rsa",
		    s->keys.v[i].ke.bits);
	}
	k->n = (uint32_t)s->keys.n;
	ipc_k_keys_put(&m, k);
	free(k);
	chan_send(s->queue, &m);
}

/* signer_find - the key (domain, selector), or NULL */
static const struct skey *
signer_find(const struct signer *s, const char *domain, const char *sel)
{
	size_t	i;

	for (i = 0; i < s->keys.n; i++)
		if (s->keys.v[i].ke.k != NULL &&
		    strcmp(s->keys.v[i].domain, domain) == 0 &&
		    strcmp(s->keys.v[i].ke.selector, sel) == 0)
			return &s->keys.v[i];
	return NULL;
}

/* signer_sign - M_K_SIGN: one signature, or why not */
static void
signer_sign(struct signer *s, struct msg *m)
{
	struct ipc_k_sign	 req;
	const struct skey	*k;
	struct msg		 res;
	struct err		 e;
	unsigned char		 sig[DKIM_SIG_MAX];
	size_t			 siglen = 0;
	bool			 ok = false;

	/* the queue is trusted: a malformed request is a broken invariant */
	if (ipc_k_sign_get(m, &req, &e) == -1)
		fatalx("signer: %s", e.msg);
	memset(&e, 0, sizeof(e));
	if ((k = signer_find(s, req.domain, req.selector)) == NULL)
		err_set(&e, false, 0, "no key %s for %s", req.selector,
		    req.domain);
	else if (dkim_crypto_sign(k->ke.k, req.digest, sig, &siglen, &e) ==
	    0 && siglen > 0 && siglen <= LIM_K_SIG)
		ok = true;
	else if (e.msg[0] == '\0')
		err_set(&e, false, 0, "signature of %zu octets", siglen);
	if (!ok)
		log_warnx("signer: domain=%s selector=%s error=%s", req.domain,
		    req.selector, e.msg);
	ipc_k_sign_res_put(&res, &(struct ipc_k_sign_res){ .reqid = req.reqid,
	    .ok = ok, .sig = sig, .siglen = ok ? siglen : 0,
	    .error = ok ? "" : e.msg });
	chan_send(s->queue, &res);
}

/* signer_reload - M_RELOAD: the configuration and every key, or nothing */
static void
signer_reload(struct signer *s)
{
	struct conf	*nc = xcalloc(1, sizeof(*nc));
	struct keyset	 ks;
	struct err	 e;

	if (conf_load(nc, s->conf->dir, &e) == -1 ||
	    keyset_load(nc, false, &ks, &e) == -1) {
		log_warnx("signer: reload failed, keeping the keys in use: "
		    "%s", e.msg);
		conf_free(nc);
		free(nc);
		return;
	}
	keyset_free(&s->keys);
	s->keys = ks;
	if (s->conf_owned) {
		conf_free(s->conf);
		free(s->conf);
	}
	s->conf = nc;
	s->conf_owned = true;
	signer_announce(s);
}

/* signer_queue_cb - the queue's requests; its channel closed: the end */
static void
signer_queue_cb(struct chan *c, struct msg *m, void *arg)
{
	struct signer	*s = arg;

	(void)c;
	if (m == NULL) {
		event_base_loopbreak(s->base);
		return;
	}
	if (m->type != M_K_SIGN)
		fatalx("signer: unexpected message %u from queue", m->type);
	signer_sign(s, m);
}

/* signer_parent_cb - reload, or the end */
static void
signer_parent_cb(struct chan *c, struct msg *m, void *arg)
{
	struct signer	*s = arg;

	(void)c;
	if (m == NULL) {
		event_base_loopbreak(s->base);
		return;
	}
	if (ipc_empty_get(m, M_RELOAD, NULL) == -1)
		fatalx("signer: unexpected message %u from parent", m->type);
	signer_reload(s);
}

/* signer_main - load the keys, tell the queue, serve */
void
signer_main(struct conf *conf, int parent_sock, int queue_sock)
{
	struct signer	s;
	struct err	e;

	memset(&s, 0, sizeof(s));
	log_procname("signer");
	(void)signal(SIGPIPE, SIG_IGN);
	(void)signal(SIGHUP, SIG_IGN);
	if ((s.base = event_base_new()) == NULL)
		fatalx("signer: event_base_new");
	s.conf = conf;
	if (keyset_load(conf, true, &s.keys, &e) == -1)
		log_warnx("signer: %s: no DKIM keys", e.msg);
	s.queue = chan_new(s.base, queue_sock, signer_queue_cb, &s);
	s.parent = chan_new(s.base, parent_sock, signer_parent_cb, &s);
	signer_announce(&s);
	event_base_dispatch(s.base);
	keyset_free(&s.keys);
	log_info("signer stopped");
	exit(0);
}
