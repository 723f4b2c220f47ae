/*
 * queue_dkim.c - the DKIM decision of a new message and the work before
 * the signer's (queue_dkim.h).  Loop only.
 *
 * What is signed: mail of an authenticated user, with every key of the
 * user's local domain (or of the longest enclosing local domain that has
 * keys), and DSNs, with the keys of the hostname's domain; queue_peer.c
 * and queue_bounce.c ask.  The keys' names come from the signer
 * (M_K_KEYS, queue_signer.c); the keys never come here.
 *
 * A stored body is read and hashed by the DKIM thread (lib/worker.c,
 * started with the commit and delivery threads): a large message never
 * holds up the loop.  What it needs from the queue (the domain's key
 * names, the hostname) is copied into the job first; nothing it touches
 * is the loop's until the job is back.  A DSN, in memory, is planned in
 * the loop (queue_dkim_plan).
 *
 * The stored body is never rewritten.  The header as delivered is the
 * prefix (our DKIM-Signature fields, then a Date and a Message-ID when
 * an authenticated submitter's message lacks them, RFC 6409 8.2, 8.3)
 * followed by the stored header; each signature covers the added fields
 * and the stored header (relaxed/relaxed, h= oversigned, dkim_sign.c)
 * and the body hash is made once for all keys, reading the body file
 * once.  A header that cannot be signed (longer than LIM_HEADER_BYTES,
 * a line that is no field) gets no signature and is logged: mail is
 * never held back for it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "bounds.h"
#include "buf.h"
#include "conf.h"
#include "err.h"
#include "log.h"
#include "msgtypes.h"
#include "xmalloc.h"
#include "mauth/dkim_crypto.h"
#include "mauth/dkim_hdr.h"
#include "mauth/dkim_sign.h"
#include "queue/queue_dkim.h"
#include "queue/queue_state.h"
#include "worker.h"

#define Q_DKIM_CHUNK	(64 * 1024)

/* has_key - does the signer hold a key of domain? */
static bool
has_key(const struct queue *q, const char *domain)
{
	size_t	i;

	for (i = 0; i < q->ndkeys; i++)
		if (strcmp(q->dkeys[i].domain, domain) == 0)
			return true;
	return false;
}

/* keys_unreadable - did the signer fail to read a key of domain? */
static bool
keys_unreadable(const struct queue *q, const char *domain)
{
	size_t	i;

	for (i = 0; i < q->ndkeys; i++)
		if (strcmp(q->dkeys[i].domain, domain) == 0 &&
		    q->dkeys[i].alg == K_ALG_UNREADABLE)
			return true;
	return false;
}

/* queue_dkim_signer_domain - the local domain whose keys sign for addr */
const char *
queue_dkim_signer_domain(const struct queue *q, const char *addr)
{
	const char	*d = strrchr(addr, '@');
	size_t		 i;

	d = d != NULL ? d + 1 : addr;
	while (*d != '\0') {
		for (i = 0; i < q->conf->ndomains; i++)
			if (strcasecmp(q->conf->domains[i].name, d) == 0 &&
			    has_key(q, q->conf->domains[i].name))
				return q->conf->domains[i].name;
		if ((d = strchr(d, '.')) == NULL)
			break;
		d++;
	}
	return NULL;
}

/*
 * read_at - up to n bytes at off from fd or msg into out; the count, 0
 * at the end, -1 with e on a read error
 */
static ssize_t
read_at(int fd, const char *msg, size_t len, uint64_t off, char *out,
    size_t n, struct err *e)
{
	ssize_t	r;

	if (fd == -1) {
		if (off >= len)
			return 0;
		if (n > len - off)
			n = (size_t)(len - off);
		memcpy(out, msg + off, n);
		return (ssize_t)n;
	}
	do
		r = pread(fd, out, n, (off_t)off);
	while (r == -1 && errno == EINTR);
	if (r == -1)
		err_set(e, true, errno, "read the message: %s",
		    strerror(errno));
	return r;
}

/*
 * read_header - the header into h, up to its empty line: *hlen bytes of
 * fields (the empty line not counted); the body starts at *body.
 * 0, 1 when it cannot be signed (too long), -1 on a read error.
 */
static int
read_header(int fd, const char *msg, size_t len, struct buf *h,
    size_t *hlen, uint64_t *body, struct err *e)
{
	const char	*end;
	char		*w;
	ssize_t		 r;

	for (;;) {
		if (buf_avail(h) >= 2 && memcmp(buf_ptr(h), "\r\n", 2) == 0) {
			*hlen = 0;
			*body = 2;
			return 0;
		}
		if (buf_avail(h) >= 4 && (end = memmem(buf_ptr(h),
		    buf_avail(h), "\r\n\r\n", 4)) != NULL) {
			*hlen = (size_t)(end - buf_ptr(h)) + 2;
			*body = *hlen + 2;
			return 0;
		}
		if ((w = buf_reserve(h, Q_DKIM_CHUNK)) == NULL)
			return 1;
		if ((r = read_at(fd, msg, len, buf_avail(h), w, Q_DKIM_CHUNK,
		    e)) == -1)
			return -1;
		buf_commit(h, (size_t)r);
		if (r == 0) {
			/* a message of header only */
			*hlen = *body = buf_avail(h);
			return 0;
		}
	}
}

/* body_hash - the relaxed body hash from off to the end, base64 */
static int
body_hash(int fd, const char *msg, size_t len, const struct buf *h,
    uint64_t off, char *b64, size_t b64sz, struct err *e)
{
	struct dkim_bh	 bh;
	char		*chunk;
	ssize_t		 r;
	int		 rc = -1;

	if (dkim_bh_init(&bh, DKIM_CANON_RELAXED, UINT64_MAX, e) == -1)
		return -1;
	/* what the header read took of the body first */
	if (off < buf_avail(h)) {
		dkim_bh_update(&bh, buf_ptr(h) + off, buf_avail(h) - off);
		off = buf_avail(h);
	}
	chunk = xmalloc(Q_DKIM_CHUNK);
	while ((r = read_at(fd, msg, len, off, chunk, Q_DKIM_CHUNK, e)) > 0) {
		dkim_bh_update(&bh, chunk, (size_t)r);
		off += (uint64_t)r;
	}
	if (r == 0)
		rc = dkim_bh_final(&bh, b64, b64sz, e);
	free(chunk);
	dkim_bh_free(&bh);
	return rc;
}

/* add_fields - the Date and Message-ID the header lacks, into pl->added */
static void
add_fields(const char *hostname, const char *hdr, size_t hlen,
    struct dkim_plan *pl)
{
	struct dkim_field	*v = xcalloc(LIM_DKIM_FIELDS, sizeof(*v));
	struct err		 e;
	struct tm		 tm;
	char			 date[64];
	size_t			 n, used, i;
	bool			 has_date = false, has_mid = false;
	time_t			 now = time(NULL);

	if (dkim_fields_split(hdr, hlen, v, LIM_DKIM_FIELDS, &n, &used,
	    &e) == 0) {
		for (i = 0; i < n; i++) {
			has_date |= dkim_field_is(&v[i], "Date");
			has_mid |= dkim_field_is(&v[i], "Message-ID");
		}
		if (!has_mid)
			(void)buf_printf(&pl->added, "Message-ID: <%s@%s>\r\n",
			    pl->id, hostname);
		if (!has_date && localtime_r(&now, &tm) != NULL &&
		    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z",
		    &tm) > 0)
			(void)buf_printf(&pl->added, "Date: %s\r\n", date);
	}
	free(v);
}

/* what a plan is made from: no pointer into the queue (the thread's) */
struct plan_in {
	char		 id[32];
	int		 fd;		/* or -1: msg */
	const char	*msg;
	size_t		 len;
	bool		 add;
	char		 hostname[LIM_DOMAIN + 1];
	char		 domain[LIM_DOMAIN + 1];	/* "": no signature */
	struct qdkey	 keys[Q_DKIM_SIGS];
	size_t		 nkeys;
};

/* a plan the DKIM thread makes (pl is the thread's until it is back) */
struct dkim_job {
	struct witem		 w;		/* first: the thread's item */
	struct plan_in		 in;
	struct dkim_plan	*pl;
	int			 rc;
	struct err		 err;
	void			(*done)(struct queue *, struct dkim_plan *,
				    const struct err *, void *);
	void			*arg;
	bool			 orphan;	/* loop only */
};

/*
 * plan_input - the loop's part: may a plan be made now, and its input
 * (the domain's keys copied, the hostname); -1 with e (temp) if not
 */
static int
plan_input(struct queue *q, const char *id, int fd, const char *msg,
    size_t len, bool add, const char *domain, struct plan_in *in,
    struct err *e)
{
	size_t	i;

	memset(in, 0, sizeof(*in));
	if (!q->dkeys_known)
		return err_set(e, true, 0, "the signer has not said its keys "
		    "yet");
	if (domain != NULL && keys_unreadable(q, domain))
		return err_set(e, true, 0, "the DKIM keys of %s could not be "
		    "read", domain);
	(void)snprintf(in->id, sizeof(in->id), "%s", id);
	in->fd = fd;
	in->msg = msg;
	in->len = len;
	in->add = add;
	(void)snprintf(in->hostname, sizeof(in->hostname), "%s",
	    q->conf->hostname);
	if (domain != NULL)
		(void)snprintf(in->domain, sizeof(in->domain), "%s", domain);
	for (i = 0; domain != NULL && i < q->ndkeys && in->nkeys <
	    Q_DKIM_SIGS; i++)
		if (strcmp(q->dkeys[i].domain, domain) == 0)
			in->keys[in->nkeys++] = q->dkeys[i];
	return 0;
}

/* plan_build - the reading, hashing and preparing (loop or thread) */
static int
plan_build(const struct plan_in *in, struct dkim_plan *pl, struct err *e)
{
	struct buf	 h, full;
	struct err	 se;
	char		 bh[64];
	size_t		 hlen, i;
	uint64_t	 body;
	int		 rc = -1, r;
	bool		 sign = in->domain[0] != '\0';

	memset(pl, 0, sizeof(*pl));
	(void)snprintf(pl->id, sizeof(pl->id), "%s", in->id);
	buf_init(&pl->added, 1024);
	buf_init(&h, LIM_HEADER_BYTES + Q_DKIM_CHUNK);
	buf_init(&full, LIM_HEADER_BYTES + 2048);
	if ((r = read_header(in->fd, in->msg, in->len, &h, &hlen, &body,
	    e)) == -1)
		goto out;
	if (r == 1) {
		if (!sign) {
			rc = 0;
			goto out;
		}
		err_set(e, false, 0, "5.6.0 header longer than %d octets: it "
		    "cannot be signed", LIM_HEADER_BYTES);
		goto out;
	}
	if (in->add)
		add_fields(in->hostname, buf_ptr(&h), hlen, pl);
	if (!sign) {
		rc = 0;
		goto out;
	}
	if (body_hash(in->fd, in->msg, in->len, &h, body, bh, sizeof(bh),
	    e) == -1)
		goto out;
	if ((buf_avail(&pl->added) > 0 && buf_add(&full, buf_ptr(&pl->added),
	    buf_avail(&pl->added)) == -1) || (hlen > 0 && buf_add(&full,
	    buf_ptr(&h), hlen) == -1) || buf_add(&full, "", 1) == -1) {
		err_set(e, false, 0, "5.6.0 header longer than %d octets: it "
		    "cannot be signed", LIM_HEADER_BYTES);
		goto out;
	}
	full.len--;		/* the NUL is only for safety, not signed */
	for (i = 0; i < in->nkeys; i++) {
		struct dkim_psig	*s = &pl->sig[pl->n];

		(void)snprintf(s->domain, sizeof(s->domain), "%s", in->domain);
		(void)snprintf(s->selector, sizeof(s->selector), "%s",
		    in->keys[i].selector);
		buf_init(&s->field, LIM_DKIM_SIG_FIELD);
		memset(&se, 0, sizeof(se));
		if (dkim_sign_prepare(buf_ptr(&full), buf_avail(&full),
		    &(struct dkim_sign_req){ .d = in->domain, .s = s->selector,
		    .alg = in->keys[i].alg == K_ALG_ED25519_SHA256 ?
		    DKIM_ALG_ED25519_SHA256 : DKIM_ALG_RSA_SHA256,
		    .t = (uint64_t)time(NULL), .bh = bh }, &s->field,
		    s->digest, &se) == -1) {
			buf_release(&s->field);
			err_set(e, false, 0, "5.6.0 the header cannot be "
			    "signed: %s", se.msg);
			goto out;
		}
		pl->n++;
	}
	rc = 0;
out:
	if (rc == -1)
		queue_dkim_release(pl);
	buf_release(&h);
	buf_release(&full);
	return rc;
}

/* queue_dkim_plan - a plan made now, in the loop (a message in memory) */
int
queue_dkim_plan(struct queue *q, const char *id, int fd, const char *msg,
    size_t len, bool add, const char *domain, struct dkim_plan *pl,
    struct err *e)
{
	struct plan_in	*in = xmalloc(sizeof(*in));
	int		 rc = -1;

	memset(pl, 0, sizeof(*pl));
	if (plan_input(q, id, fd, msg, len, add, domain, in, e) == 0)
		rc = plan_build(in, pl, e);
	free(in);
	return rc;
}

/* job_free - a job back from the thread, its descriptor closed */
static void
job_free(struct dkim_job *j)
{
	if (j->in.fd != -1)
		close(j->in.fd);
	free(j);
}

/* queue_dkim_post - a plan of a stored body, made by the DKIM thread */
struct dkim_job *
queue_dkim_post(struct queue *q, const char *id, int fd, bool add,
    const char *domain, void (*done)(struct queue *, struct dkim_plan *,
    const struct err *, void *), void *arg, struct dkim_plan **now,
    struct err *e)
{
	struct dkim_job	*j = xcalloc(1, sizeof(*j));

	*now = NULL;
	if (plan_input(q, id, fd, NULL, 0, add, domain, &j->in, e) == -1) {
		j->in.fd = fd;
		job_free(j);
		return NULL;
	}
	j->pl = xcalloc(1, sizeof(*j->pl));
	j->done = done;
	j->arg = arg;
	if (!q->kw.running) {
		/* no thread (its end, or a test's queue): made now */
		if (plan_build(&j->in, j->pl, e) == 0)
			*now = j->pl;
		else
			free(j->pl);
		job_free(j);
		return NULL;
	}
	if (!worker_post(&q->kw, &j->w)) {
		free(j->pl);
		job_free(j);
		err_set(e, true, 0, "queue is shutting down");
		return NULL;
	}
	return j;
}

/* queue_dkim_orphan - done will not run; the plan is freed when back */
void
queue_dkim_orphan(struct queue *q, struct dkim_job *j)
{
	(void)q;
	j->orphan = true;
}

/* dkim_work - the thread: each job's plan */
static void
dkim_work(void *arg, struct witems *items)
{
	struct witem	*it;
	struct dkim_job	*j;

	(void)arg;
	TAILQ_FOREACH(it, items, entry) {
		j = (struct dkim_job *)(void *)it;
		memset(&j->err, 0, sizeof(j->err));
		j->rc = plan_build(&j->in, j->pl, &j->err);
	}
}

/* dkim_done - the loop: a job back */
static void
dkim_done(void *arg, struct witem *it)
{
	struct queue	*q = arg;
	struct dkim_job	*j = (struct dkim_job *)(void *)it;

	if (j->orphan || j->rc == -1) {
		if (j->rc == 0)
			queue_dkim_release(j->pl);
		free(j->pl);
		j->pl = NULL;
	}
	if (!j->orphan)
		j->done(q, j->pl, &j->err, j->arg);
	job_free(j);
}

/* queue_dkim_start - the DKIM thread */
void
queue_dkim_start(struct queue *q, void (*on_exit)(void *))
{
	worker_start(&q->kw, q->base, "dkim", 16, true, dkim_work, dkim_done,
	    on_exit, q);
}

/* queue_dkim_stop - end once the jobs in hand are done */
void
queue_dkim_stop(struct queue *q)
{
	worker_stop(&q->kw);
}

/* queue_dkim_free - once joined: jobs never taken are given back failed */
void
queue_dkim_free(struct queue *q)
{
	struct witem	*it;
	struct dkim_job	*j;

	while ((it = TAILQ_FIRST(&q->kw.in)) != NULL) {
		TAILQ_REMOVE(&q->kw.in, it, entry);
		j = (struct dkim_job *)(void *)it;
		j->rc = err_set(&j->err, true, 0, "queue is shutting down");
		dkim_done(q, it);
	}
	/* made, but the loop had ended */
	while ((it = TAILQ_FIRST(&q->kw.out)) != NULL) {
		TAILQ_REMOVE(&q->kw.out, it, entry);
		dkim_done(q, it);
	}
	worker_free(&q->kw);
}

/* queue_dkim_prefix - the finished signatures then the added fields */
char *
queue_dkim_prefix(const struct dkim_plan *pl)
{
	struct buf	b;
	char		*p;
	size_t		 i;

	buf_init(&b, LIM_PREFIX + 1);
	for (i = 0; i < pl->n; i++)
		if (pl->sig[i].done)
			(void)buf_add(&b, buf_ptr(&pl->sig[i].field),
			    buf_avail(&pl->sig[i].field));
	if (buf_avail(&pl->added) > 0)
		(void)buf_add(&b, buf_ptr(&pl->added), buf_avail(&pl->added));
	p = buf_avail(&b) > 0 ? xstrndup(buf_ptr(&b), buf_avail(&b)) :
	    xstrdup("");
	buf_release(&b);
	return p;
}

/* queue_dkim_free - what the plan holds */
void
queue_dkim_release(struct dkim_plan *pl)
{
	size_t	i;

	for (i = 0; i < pl->n; i++)
		buf_release(&pl->sig[i].field);
	pl->n = 0;
	buf_release(&pl->added);
	if (pl->timer != NULL) {
		event_free(pl->timer);
		pl->timer = NULL;
	}
}
