/*
 * srs.c - the Sender Rewriting Scheme codec and its secrets (srs.h).
 *
 * Pure but for srs_load.  An address is split at its last '@'; the local
 * part of an SRS0 address is "SRS0" SEP HASH "=" TT "=" HOST "=" USER,
 * USER taking the rest (it may hold '='); of an SRS1 address "SRS1" SEP
 * HASH "=" HOST "=" REST, REST being what followed "SRS0" in the first
 * forwarder's address (so it starts with that separator: "==" appears).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "addr.h"
#include "bounds.h"
#include "b64.h"
#include "err.h"
#include "srs.h"

#define SRS_DAY		86400
#define SRS_SLOTS	1024		/* two base32 characters */
#define SRS_FILE_MAX	(64 * 1024)

static const char	 base32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/* is_sep - a separator after the SRS0/SRS1 tag */
static bool
is_sep(char c)
{
	return c == '=' || c == '+' || c == '-';
}

/* tag - is local "SRSn" and a separator (n: '0' or '1')? */
static bool
tag(const char *local, char n)
{
	return strncasecmp(local, "SRS", 3) == 0 && local[3] == n &&
	    is_sep(local[4]);
}

/* srs_is_srs - does local start with SRS0 or SRS1 and a separator? */
bool
srs_is_srs(const char *local)
{
	return tag(local, '0') || tag(local, '1');
}

/*
 * mac - the base64 HMAC-SHA1 under secret of the lowercased fields (a
 * NULL-terminated list), into out (at least 29 octets)
 */
static int
mac(const char *secret, const char *const *field, char *out, size_t outsz)
{
	unsigned char	 data[2 * LIM_PATH], md[EVP_MAX_MD_SIZE];
	size_t		 n = 0, i, mdlen = 0;

	for (; *field != NULL; field++)
		for (i = 0; (*field)[i] != '\0'; i++) {
			if (n == sizeof(data))
				return -1;
			data[n++] = (unsigned char)((*field)[i] >= 'A' &&
			    (*field)[i] <= 'Z' ? (*field)[i] + 32 : (*field)[i]);
		}
	if (EVP_Q_mac(NULL, "HMAC", NULL, "SHA1", NULL, secret,
	    strlen(secret), data, n, md, sizeof(md), &mdlen) == NULL)
		return -1;
	return b64_encode(md, mdlen, out, outsz);
}

/* upper - c in upper case if a letter */
static char
upper(char c)
{
	return c >= 'a' && c <= 'z' ? (char)(c - 32) : c;
}

/* hash_ok - does h (case, either alphabet) match the fields' mac? */
static bool
hash_ok(const struct srs *s, const char *h, size_t hlen,
    const char *const *field)
{
	char	want[64], c;
	size_t	k, i;

	if (hlen < SRS_HASHLEN || hlen > 27)
		return false;
	for (k = 0; k < s->n; k++) {
		if (mac(s->secret[k], field, want, sizeof(want)) == -1)
			continue;
		for (i = 0; i < hlen; i++) {
			c = h[i] == '-' ? '+' : h[i] == '_' ? '/' : h[i];
			if (upper(c) != upper(want[i]))
				break;
		}
		if (i == hlen)
			return true;
	}
	return false;
}

/* stamp - today's two base32 characters */
static void
stamp(time_t now, char out[3])
{
	unsigned long	d = (unsigned long)(now / SRS_DAY) % SRS_SLOTS;

	out[0] = base32[(d >> 5) & 31];
	out[1] = base32[d & 31];
	out[2] = '\0';
}

/* stamp_ok - is ts (2 characters, any case) within maxage days of now? */
static int
stamp_ok(const struct srs *s, const char *ts, time_t now)
{
	const char	*p0, *p1;
	unsigned long	 t, today;

	if (ts[0] == '\0' || ts[1] == '\0' ||
	    (p0 = strchr(base32, upper(ts[0]))) == NULL ||
	    (p1 = strchr(base32, upper(ts[1]))) == NULL)
		return SRS_MALFORMED;
	t = (unsigned long)(p0 - base32) * 32 + (unsigned long)(p1 - base32);
	today = (unsigned long)(now / SRS_DAY) % SRS_SLOTS;
	if (today < t)
		today += SRS_SLOTS;
	return today <= t + s->maxage ? SRS_OK : SRS_EXPIRED;
}

/* split - addr at its last '@' into local (copied) and *domain */
static int
split(const char *addr, char *local, size_t lsz, const char **domain)
{
	const char	*at = strrchr(addr, '@');

	if (at == NULL || at == addr || at[1] == '\0' ||
	    (size_t)(at - addr) >= lsz)
		return -1;
	memcpy(local, addr, (size_t)(at - addr));
	local[at - addr] = '\0';
	*domain = at + 1;
	return 0;
}

/* printable - no blank, control character or DEL in s */
static bool
printable(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= ' ' || (unsigned char)*s == 0x7f)
			return false;
	return true;
}

/* srs_forward - the SRS address for sender forwarded by fwd_domain */
int
srs_forward(const struct srs *s, const char *sender, const char *fwd_domain,
    time_t now, char *out, size_t outsz, struct err *e)
{
	char		 local[LIM_PATH + 1], h[64], ts[3], *p, *q;
	const char	*domain;
	int		 n;

	if (s->n == 0)
		return err_set(e, false, 0, "no SRS secret"), SRS_MALFORMED;
	if (strlen(sender) > LIM_PATH)
		return err_set(e, false, 0, "sender longer than %d octets",
		    LIM_PATH), SRS_TOOLONG;
	if (split(sender, local, sizeof(local), &domain) == -1 ||
	    local[0] == '"' || !printable(local) ||
	    !(addr_domain_valid(domain, strlen(domain), true) ||
	    addr_literal_valid(domain, strlen(domain))))
		return err_set(e, false, 0, "sender <%s> cannot be rewritten",
		    sender), SRS_MALFORMED;
	if (strcasecmp(domain, fwd_domain) == 0)
		n = snprintf(out, outsz, "%s", sender);
	else if (tag(local, '1')) {
		/* SRS1 of another: keep its first hop, hash it again */
		p = local + 5;
		if ((q = strchr(p, '=')) == NULL || (p = strchr(q + 1, '=')) ==
		    NULL || p == q + 1 || p[1] == '\0')
			return err_set(e, false, 0, "malformed SRS1 sender "
			    "<%s>", sender), SRS_MALFORMED;
		*p = '\0';	/* q + 1: the first hop, p + 1: the rest */
		if (mac(s->secret[0], (const char *[]){ q + 1, p + 1, NULL },
		    h, sizeof(h)) == -1)
			return err_set(e, false, 0, "SRS hash failed"),
			    SRS_MALFORMED;
		n = snprintf(out, outsz, "SRS1=%.4s=%s=%s@%s", h, q + 1, p + 1,
		    fwd_domain);
	} else if (tag(local, '0')) {
		/* the first hop is the sender's domain, the rest is kept */
		if (mac(s->secret[0], (const char *[]){ domain, local + 4,
		    NULL }, h, sizeof(h)) == -1)
			return err_set(e, false, 0, "SRS hash failed"),
			    SRS_MALFORMED;
		n = snprintf(out, outsz, "SRS1=%.4s=%s=%s@%s", h, domain,
		    local + 4, fwd_domain);
	} else {
		stamp(now, ts);
		if (mac(s->secret[0], (const char *[]){ ts, domain, local,
		    NULL }, h, sizeof(h)) == -1)
			return err_set(e, false, 0, "SRS hash failed"),
			    SRS_MALFORMED;
		n = snprintf(out, outsz, "SRS0=%.4s=%s=%s=%s@%s", h, ts,
		    domain, local, fwd_domain);
	}
	if (n < 0 || (size_t)n >= outsz || (size_t)n > LIM_PATH ||
	    strrchr(out, '@') - out > LIM_LOCAL_PART)
		return err_set(e, false, 0, "SRS address for <%s> would be "
		    "longer than %d octets of local part", sender,
		    LIM_LOCAL_PART), SRS_TOOLONG;
	return SRS_OK;
}

/* srs_reverse - what an SRS address of ours stands for */
int
srs_reverse(const struct srs *s, const char *addr, time_t now, char *out,
    size_t outsz, struct err *e)
{
	char		 local[LIM_PATH + 1], *hash, *f1, *f2, *f3;
	const char	*domain;
	int		 n, r;

	if (split(addr, local, sizeof(local), &domain) == -1 ||
	    !srs_is_srs(local))
		return err_set(e, false, 0, "not an SRS address"), SRS_NOT;
	hash = local + 5;
	if ((f1 = strchr(hash, '=')) == NULL)
		goto malformed;
	*f1++ = '\0';
	if ((f2 = strchr(f1, '=')) == NULL)
		goto malformed;
	*f2++ = '\0';
	if (tag(local, '1')) {
		/* HASH=HOST=REST, REST the first forwarder's after "SRS0" */
		if (*f1 == '\0' || *f2 == '\0')
			goto malformed;
		if (!hash_ok(s, hash, strlen(hash), (const char *[]){ f1, f2,
		    NULL }))
			goto badhash;
		n = snprintf(out, outsz, "SRS0%s@%s", f2, f1);
	} else {
		/* HASH=TT=HOST=USER */
		if ((f3 = strchr(f2, '=')) == NULL)
			goto malformed;
		*f3++ = '\0';
		if (strlen(f1) != 2 || *f2 == '\0' || *f3 == '\0')
			goto malformed;
		if (!hash_ok(s, hash, strlen(hash), (const char *[]){ f1, f2,
		    f3, NULL }))
			goto badhash;
		if ((r = stamp_ok(s, f1, now)) == SRS_MALFORMED)
			goto malformed;
		if (r == SRS_EXPIRED)
			return err_set(e, false, 0, "SRS address expired"),
			    SRS_EXPIRED;
		n = snprintf(out, outsz, "%s@%s", f3, f2);
	}
	if (n < 0 || (size_t)n >= outsz)
		return err_set(e, false, 0, "SRS address too long"),
		    SRS_TOOLONG;
	return SRS_OK;
malformed:
	return err_set(e, false, 0, "malformed SRS address"), SRS_MALFORMED;
badhash:
	return err_set(e, false, 0, "SRS address with a bad hash"),
	    SRS_BADHASH;
}

/* srs_secrets_parse - the secrets file */
int
srs_secrets_parse(struct srs *s, const char *text, size_t len,
    const char *fname, struct err *e)
{
	struct srs	 t;
	const char	*p = text, *end = text + len, *nl, *a, *b;
	unsigned	 line = 0;
	size_t		 i;

	memset(&t, 0, sizeof(t));
	t.maxage = s->maxage != 0 ? s->maxage : SRS_MAXAGE;
	for (; p < end; p = nl + 1) {
		line++;
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		for (a = p; a < nl && (*a == ' ' || *a == '\t'); a++)
			;
		for (b = nl; b > a && (b[-1] == ' ' || b[-1] == '\t' ||
		    b[-1] == '\r'); b--)
			;
		if (a == b || *a == '#')
			continue;
		for (i = 0; a + i < b; i++)
			if ((unsigned char)a[i] <= ' ' ||
			    (unsigned char)a[i] >= 0x7f)
				return err_set(e, false, 0, "%s:%u: a secret "
				    "is printable ASCII without blanks", fname,
				    line);
		if (i < SRS_SECRET_MIN || i > SRS_SECRET_MAX)
			return err_set(e, false, 0, "%s:%u: a secret has "
			    "%d to %d characters", fname, line,
			    SRS_SECRET_MIN, SRS_SECRET_MAX);
		if (t.n == SRS_MAX_SECRETS)
			return err_set(e, false, 0, "%s:%u: more than %d "
			    "secrets", fname, line, SRS_MAX_SECRETS);
		memcpy(t.secret[t.n], a, i);
		t.secret[t.n++][i] = '\0';
	}
	if (t.n == 0)
		return err_set(e, false, 0, "%s: no secret", fname);
	*s = t;
	explicit_bzero(&t, sizeof(t));
	return 0;
}

/* srs_load - DIR/srs_secrets into s */
int
srs_load(struct srs *s, const char *dir, struct err *e)
{
	char	 path[PATH_MAX], *text;
	ssize_t	 n;
	size_t	 len = 0;
	int	 fd, rc;

	(void)snprintf(path, sizeof(path), "%s/srs_secrets", dir);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1) {
		if (errno == ENOENT) {
			explicit_bzero(s->secret, sizeof(s->secret));
			s->n = 0;
			return 1;
		}
		return err_set(e, true, errno, "%s: %s", path,
		    strerror(errno));
	}
	text = malloc(SRS_FILE_MAX + 1);
	if (text == NULL) {
		(void)close(fd);
		return err_set(e, true, errno, "%s: out of memory", path);
	}
	while (len <= SRS_FILE_MAX && (n = read(fd, text + len,
	    SRS_FILE_MAX + 1 - len)) > 0)
		len += (size_t)n;
	(void)close(fd);
	if (len > SRS_FILE_MAX)
		rc = err_set(e, false, 0, "%s: larger than %d octets", path,
		    SRS_FILE_MAX);
	else
		rc = srs_secrets_parse(s, text, len, path, e);
	explicit_bzero(text, SRS_FILE_MAX + 1);
	free(text);
	return rc;
}
