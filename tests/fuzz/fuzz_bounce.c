/*
 * fuzz_bounce.c - bounce_build on an arbitrary original message and
 * arbitrary recipient values.  The input is split at 0xff octets into
 * flags, from, addr, orig, status, diag, remote_mta, and the rest is the
 * original message.  Whatever is built must be CRLF only with no line over
 * 998 octets and no NUL, and its boundary must occur exactly in the
 * Content-Type field and the four delimiters.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "queue/bounce.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define NFIELDS	7

/* check - the invariants of a built bounce; abort() on a violation */
static void
check(const char *p, size_t n)
{
	const char	*b, *q;
	char		 boundary[80];
	size_t		 i, col = 0, blen, hits = 0;

	if (n < 2 || p[n - 2] != '\r' || p[n - 1] != '\n')
		abort();
	for (i = 0; i < n; i++) {
		if (p[i] == '\r') {
			if (i + 1 >= n || p[i + 1] != '\n')
				abort();
			i++;
			col = 0;
			continue;
		}
		if (p[i] == '\n' || p[i] == '\0' || ++col > 998)
			abort();
	}
	/* the boundary parameter of our own Content-Type: values taken from
	 * the input (the sender in To:, say) may contain "boundary=\"" but
	 * never CRLF, so the folded form is ours alone */
#define BPARAM	"report-type=delivery-status;\r\n\tboundary=\""
	if ((b = memmem(p, n, BPARAM, sizeof(BPARAM) - 1)) == NULL)
		abort();
	b += sizeof(BPARAM) - 1;
#undef BPARAM
	blen = strcspn(b, "\"");
	if (blen == 0 || blen >= sizeof(boundary))
		abort();
	memcpy(boundary, b, blen);
	boundary[blen] = '\0';
	for (q = p; (q = memmem(q, n - (size_t)(q - p), boundary, blen)) !=
	    NULL; q += blen)
		hits++;
	if (hits != 5)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int	 fd = -1;
	char		*field[NFIELDS];
	const uint8_t	*p = data, *end = data + size, *sep;
	struct bounce_rcpt r[2];
	struct bounce_msg m;
	struct buf	 out;
	struct err	 e;
	size_t		 i, n;
	uint8_t		 flags;

	if (fd == -1 && (fd = memfd_create("fuzz_bounce", MFD_CLOEXEC)) == -1)
		abort();
	for (i = 0; i < NFIELDS; i++) {
		sep = memchr(p, 0xff, (size_t)(end - p));
		n = sep == NULL ? (size_t)(end - p) : (size_t)(sep - p);
		field[i] = strndup((const char *)p, n);
		p = sep == NULL ? end : sep + 1;
	}
	if (ftruncate(fd, 0) == -1 ||
	    pwrite(fd, p, (size_t)(end - p), 0) != (ssize_t)(end - p))
		abort();
	flags = field[0][0];

	memset(r, 0, sizeof(r));
	r[0].addr = field[2];
	r[0].orig = field[3];
	r[0].status = (flags & 4) ? NULL : field[4];
	r[0].diag = (flags & 8) ? NULL : field[5];
	r[0].remote_mta = field[6];
	r[0].failed = flags & 1;
	r[1].addr = "second@example.org";
	r[1].diag = field[5];
	r[1].failed = !(flags & 1);
	memset(&m, 0, sizeof(m));
	m.id = "FUZZ";
	m.hostname = "mx.example.org";
	m.from = field[1];
	m.arrival = (flags & 16) ? 0 : 1700000000;
	m.rcpts = r;
	m.nrcpts = (flags & 32) ? 2 : 1;
	m.warning = flags & 2;
	m.retry_hours = flags & 64 ? 0 : (unsigned)flags * 1000000u;

	buf_init(&out, 1 << 20);
	if (bounce_build(&m, fd, &out, &e) == 0)
		check(buf_ptr(&out), buf_avail(&out));
	else if (bounce_wanted(m.from) && *r[0].addr != '\0' && !e.temp &&
	    strstr(e.msg, "sender") == NULL)
		abort();	/* nothing else may fail */
	buf_release(&out);
	for (i = 0; i < NFIELDS; i++)
		free(field[i]);
	return 0;
}
