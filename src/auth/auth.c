/*
 * auth.c - the auth process: holds every local domain's password hashes
 * and answers M_AUTH_REQ from the smtp workers with M_AUTH_RES.
 *
 * auth_load() reads DIR/domains/DOMAIN/users for each domain of the
 * configuration (while the process may still be privileged); auth_main()
 * then serves requests on blocking SOCK_SEQPACKET sockets with poll(2),
 * one at a time: hashing is the slow part and it is what this process is
 * for, so the smtp loops never wait on it (DESIGN.md).
 *
 * A login name is "local@domain", split at the last '@', both parts
 * compared lower case.  An unknown domain or user is checked against a
 * dummy hash made at load time, so the answer takes about as long as for
 * a known user and timing does not tell which users exist.  A stored hash
 * that does not parse fails the login and is logged with the user's name.
 *
 * Throttling: the failures of each client address are remembered (at most
 * AUTH_THROTTLE_SLOTS addresses, least recently seen evicted).  Once an
 * address has AUTH_THROTTLE_FAILS failures within AUTH_THROTTLE_WINDOW
 * seconds, its requests are answered AUTH_FAIL without a check (and logged
 * "throttled") until the oldest of those failures is older than the
 * window.  Throttled answers do not count as failures, and a success does
 * not clear the record (an attacker holding one account could otherwise
 * reset the count between guesses at another).
 *
 * Every attempt is logged as "auth user=X client=A result=ok|fail|
 * throttled", with X and A made printable; the password never is.  The
 * received message, which holds it, is wiped before it is freed.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "auth.h"
#include "bounds.h"
#include "conf.h"
#include "err.h"
#include "ipc.h"
#include "log.h"
#include "msg.h"
#include "msgtypes.h"
#include "passwd.h"
#include "ticket.h"
#include "strutil.h"
#include "users.h"
#include "xmalloc.h"

/* failures from one client address that trigger throttling ... */
#define AUTH_THROTTLE_FAILS	5
/* ... when they fall within this many seconds */
#define AUTH_THROTTLE_WINDOW	600
/* client addresses remembered; the least recently seen is evicted */
#define AUTH_THROTTLE_SLOTS	1024
/* longest client address kept (an IPv6 address is at most 45) */
#define AUTH_CLIENT_MAX		63
/* user and client names are cut to this length in log lines */
#define AUTH_LOG_FIELD		128

struct auth_domain {
	char		*name;		/* lower case */
	struct users	 users;
};

struct authdb {
	struct auth_domain	*d;
	size_t			 n;
	char			 dummy[PASSWD_HASH_MAX];
};

struct throttle_entry {
	char		 addr[AUTH_CLIENT_MAX + 1];
	time_t		 fails[AUTH_THROTTLE_FAILS];	/* a ring */
	unsigned	 nfails;			/* up to the ring size */
	unsigned	 next;				/* next ring slot */
	uint64_t	 used;				/* LRU stamp */
};

struct throttle {
	struct throttle_entry	*v;
	size_t			 n;
	uint64_t		 tick;
};

/* auth_load - read the users file of every configured domain */
struct authdb *
auth_load(const struct conf *conf, struct err *e)
{
	struct authdb	*db;
	char		 path[PATH_MAX];
	unsigned char	 rnd[24];
	char		 pw[sizeof(rnd) * 2 + 1];
	size_t		 i;
	int		 rc = -1;

	db = xcalloc(1, sizeof(*db));
	db->d = xcalloc(conf->ndomains, sizeof(*db->d));
	for (i = 0; i < conf->ndomains; i++) {
		if ((size_t)snprintf(path, sizeof(path), "%s/domains/%s/users",
		    conf->dir, conf->domains[i].name) >= sizeof(path)) {
			err_set(e, false, 0, "%s/domains/%s/users: path too "
			    "long", conf->dir, conf->domains[i].name);
			goto out;
		}
		if (users_load(&db->d[db->n].users, path, e) == -1)
			goto out;
		db->d[db->n].name = xstrdup(conf->domains[i].name);
		str_lower(db->d[db->n].name);
		db->n++;
	}
	/* the dummy: a hash of a password nobody knows */
	if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
		err_set(e, true, 0, "no random bytes for the dummy hash");
		goto out;
	}
	for (i = 0; i < sizeof(rnd); i++)
		(void)snprintf(pw + 2 * i, 3, "%02x", rnd[i]);
	if (passwd_hash(pw, db->dummy, sizeof(db->dummy), e) == -1)
		goto out;
	rc = 0;
out:
	OPENSSL_cleanse(rnd, sizeof(rnd));
	OPENSSL_cleanse(pw, sizeof(pw));
	if (rc == -1) {
		auth_free(db);
		return NULL;
	}
	return db;
}

/* auth_free - free db and every hash it holds */
void
auth_free(struct authdb *db)
{
	size_t	i;

	if (db == NULL)
		return;
	for (i = 0; i < db->n; i++) {
		free(db->d[i].name);
		users_free(&db->d[i].users);
	}
	free(db->d);
	OPENSSL_cleanse(db, sizeof(*db));
	free(db);
}

/* auth_users - the users of domain (lower case), or NULL */
static const struct users *
auth_users(const struct authdb *db, const char *domain)
{
	size_t	i;

	for (i = 0; i < db->n; i++)
		if (strcmp(db->d[i].name, domain) == 0)
			return &db->d[i].users;
	return NULL;
}

/*
 * auth_verify - check user's password; on AUTH_OK write "local@domain",
 * lower case, into canon.
 */
static enum auth_result
auth_verify(const struct authdb *db, const char *user, const char *password,
    char *canon, size_t canonsz)
{
	char			 local[LIM_LOCAL_PART + 1];
	char			 domain[LIM_DOMAIN + 1];
	const char		*at, *hash = NULL;
	const struct users	*u;
	struct err		 e;
	size_t			 llen;
	int			 n;

	memset(&e, 0, sizeof(e));
	if ((at = strrchr(user, '@')) != NULL &&
	    (llen = (size_t)(at - user)) > 0 && llen < sizeof(local) &&
	    at[1] != '\0' && strlen(at + 1) < sizeof(domain)) {
		memcpy(local, user, llen);
		local[llen] = '\0';
		memcpy(domain, at + 1, strlen(at + 1) + 1);
		str_lower(local);
		str_lower(domain);
		if ((u = auth_users(db, domain)) != NULL)
			hash = users_find(u, local);
	}
	if (hash == NULL) {
		/* spend the time a real check takes, then fail */
		(void)passwd_verify(password, db->dummy, NULL);
		return AUTH_FAIL;
	}
	switch (passwd_verify(password, hash, &e)) {
	case PASSWD_OK:
		break;
	case PASSWD_MISMATCH:
		return AUTH_FAIL;
	case PASSWD_ERROR:
	default:
		log_warnx("auth: bad password hash of user %s@%s: %s", local,
		    domain, e.msg);
		return AUTH_FAIL;
	}
	n = snprintf(canon, canonsz, "%s@%s", local, domain);
	if (n < 0 || (size_t)n >= canonsz)
		return AUTH_FAIL;
	return AUTH_OK;
}

/* auth_check - the check itself (for ctl and tests): enum auth_result */
int
auth_check(const struct authdb *db, const char *user, const char *password)
{
	char	canon[LIM_LOCAL_PART + 1 + LIM_DOMAIN + 1];

	return auth_verify(db, user, password, canon, sizeof(canon));
}

/* now_sec - monotonic seconds */
static time_t
now_sec(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* throttle_find - the entry of addr, or NULL */
static struct throttle_entry *
throttle_find(struct throttle *th, const char *addr)
{
	size_t	i;

	for (i = 0; i < th->n; i++)
		if (strcmp(th->v[i].addr, addr) == 0)
			return &th->v[i];
	return NULL;
}

/* throttled - has addr failed too often within the window? */
static bool
throttled(struct throttle *th, const char *addr, time_t now)
{
	struct throttle_entry	*t;

	if ((t = throttle_find(th, addr)) == NULL)
		return false;
	t->used = ++th->tick;
	/* the ring is full: t->next is the oldest of the last failures */
	return t->nfails == AUTH_THROTTLE_FAILS &&
	    now - t->fails[t->next] < AUTH_THROTTLE_WINDOW;
}

/* throttle_fail - record a failure of addr, evicting the LRU if full */
static void
throttle_fail(struct throttle *th, const char *addr, time_t now)
{
	struct throttle_entry	*t;
	size_t			 i, lru = 0;

	if ((t = throttle_find(th, addr)) == NULL) {
		if (th->n < AUTH_THROTTLE_SLOTS)
			t = &th->v[th->n++];
		else {
			for (i = 1; i < th->n; i++)
				if (th->v[i].used < th->v[lru].used)
					lru = i;
			t = &th->v[lru];
		}
		memset(t, 0, sizeof(*t));
		memcpy(t->addr, addr, strlen(addr) + 1);
	}
	t->used = ++th->tick;
	t->fails[t->next] = now;
	t->next = (t->next + 1) % AUTH_THROTTLE_FAILS;
	if (t->nfails < AUTH_THROTTLE_FAILS)
		t->nfails++;
}

/* auth_request - answer one M_AUTH_REQ read from m on sock */
static void
auth_request(struct authdb *db, struct throttle *th, int sock,
    struct msg *m)
{
	struct msg		 res;
	struct ipc_auth_req	 req;
	struct err		 e;
	const char		*user, *password, *client;
	char			 canon[LIM_LOCAL_PART + 1 + LIM_DOMAIN + 1];
	char			 key[AUTH_CLIENT_MAX + 1];
	char			 luser[AUTH_LOG_FIELD + 1];
	char			 lclient[AUTH_LOG_FIELD + 1];
	char			 ticket[TICKET_HEX + 1];
	const char		*how;
	enum auth_result	 r;
	uint64_t		 reqid, issued;
	time_t			 now = now_sec();

	if (ipc_auth_req_get(m, &req, &e) == -1)
		fatalx("auth: %s", e.msg);
	reqid = req.reqid;
	user = req.user;
	password = req.password;
	client = req.client;
	str_printable(luser, sizeof(luser), user, AUTH_LOG_FIELD);
	str_printable(lclient, sizeof(lclient), client, AUTH_LOG_FIELD);
	/* the throttle key: the address, cut to a fixed size */
	str_printable(key, sizeof(key), client, AUTH_LOG_FIELD);
	canon[0] = '\0';
	if (throttled(th, key, now)) {
		r = AUTH_FAIL;
		how = "throttled";
	} else if ((r = auth_verify(db, user, password, canon,
	    sizeof(canon))) == AUTH_OK)
		how = "ok";
	else {
		throttle_fail(th, key, now);
		how = "fail";
	}
	log_info("auth user=%s client=%s result=%s", luser, lclient, how);
	ticket[0] = '\0';
	issued = 0;
	if (r == AUTH_OK) {
		issued = ticket_now();
		ticket_make(canon, issued, ticket);
	}
	ipc_auth_res_put(&res, &(struct ipc_auth_res){ .reqid = reqid,
	    .result = (uint32_t)r, .user = r == AUTH_OK ? canon : "",
	    .issued = issued, .ticket = ticket });
	if (msg_send(sock, &res) == -1)
		log_warn("auth: send M_AUTH_RES");
	msg_free(&res);
}

/* auth_serve - read and answer one message; 0 once the peer has closed */
static int
auth_serve(struct authdb *db, struct throttle *th, int sock)
{
	struct msg	m;
	int		rc;

	if ((rc = msg_recv(sock, &m)) == -1) {
		if (errno == EINTR || errno == EAGAIN)
			return 1;
		log_warn("auth: receive");
		return 0;
	}
	if (rc == 0)
		return 0;
	switch (m.type) {
	case M_AUTH_REQ:
		auth_request(db, th, sock, &m);
		break;
	default:
		fatalx("auth: unexpected message type %u", m.type);
	}
	/* the datagram held a password */
	OPENSSL_cleanse(m.data, m.len);
	msg_free(&m);
	return 1;
}

/* auth_main - serve M_AUTH_REQ on each of the n sockets until all close */
void
auth_main(struct authdb *db, const int *socks, size_t n)
{
	struct pollfd	*pfd;
	struct throttle	 th;
	size_t		 i, nopen = n;

	/* a peer that went away must not kill us with SIGPIPE */
	(void)signal(SIGPIPE, SIG_IGN);
	memset(&th, 0, sizeof(th));
	th.v = xcalloc(AUTH_THROTTLE_SLOTS, sizeof(*th.v));
	pfd = xcalloc(n, sizeof(*pfd));
	for (i = 0; i < n; i++) {
		pfd[i].fd = socks[i];
		pfd[i].events = POLLIN;
	}
	while (nopen > 0) {
		if (poll(pfd, n, -1) == -1) {
			if (errno == EINTR)
				continue;
			fatal("auth: poll");
		}
		for (i = 0; i < n; i++) {
			if (pfd[i].fd == -1 || pfd[i].revents == 0)
				continue;
			if (auth_serve(db, &th, pfd[i].fd) == 0) {
				close(pfd[i].fd);
				pfd[i].fd = -1;
				nopen--;
			}
		}
	}
	free(pfd);
	free(th.v);
	auth_free(db);
	exit(0);
}
