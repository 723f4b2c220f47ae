/*
 * fuzz_envelope.c - envelope_parse on arbitrary bytes.  Whatever parses
 * must dump, and the dump must parse back to the same envelope and dump
 * to the same bytes (the format is canonical).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "queue/envelope.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* same - do two parsed envelopes hold the same values? */
static int
same(const struct envelope *a, const struct envelope *b)
{
	size_t	i;

	if (strcmp(a->id, b->id) != 0 || a->created != b->created ||
	    a->size != b->size || strcmp(a->from, b->from) != 0 ||
	    strcmp(a->client, b->client) != 0 || a->flags != b->flags ||
	    (a->auth_user == NULL) != (b->auth_user == NULL) ||
	    (a->auth_user != NULL && strcmp(a->auth_user, b->auth_user) != 0) ||
	    a->nrcpts != b->nrcpts)
		return 0;
	for (i = 0; i < a->nrcpts; i++) {
		const struct env_rcpt *x = &a->rcpts[i], *y = &b->rcpts[i];

		if (strcmp(x->addr, y->addr) != 0 ||
		    strcmp(x->orig, y->orig) != 0 || x->state != y->state ||
		    x->attempts != y->attempts || x->next_try != y->next_try ||
		    (x->last_error == NULL) != (y->last_error == NULL) ||
		    (x->last_error != NULL &&
		    strcmp(x->last_error, y->last_error) != 0))
			return 0;
	}
	return 1;
}

/* truncated - does env hold a text longer than dump keeps (1024)? */
static int
truncated(const struct envelope *env)
{
	size_t	i;

	if (strlen(env->client) > 1024)
		return 1;
	for (i = 0; i < env->nrcpts; i++)
		if (env->rcpts[i].last_error != NULL &&
		    strlen(env->rcpts[i].last_error) > 1024)
			return 1;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct envelope	 env, back;
	struct buf	 b1, b2;
	struct err	 e;

	if (envelope_parse(&env, (const char *)data, size, &e) == -1)
		return 0;
	buf_init(&b1, 1 << 26);
	buf_init(&b2, 1 << 26);
	/* texts longer than dump keeps (client, error) are truncated, so
	 * compare the second generation with the first */
	if (envelope_dump(&env, &b1) == -1)
		abort();
	if (envelope_parse(&back, buf_ptr(&b1), buf_avail(&b1), &e) == -1)
		abort();
	if (envelope_dump(&back, &b2) == -1)
		abort();
	if (buf_avail(&b1) != buf_avail(&b2) ||
	    memcmp(buf_ptr(&b1), buf_ptr(&b2), buf_avail(&b1)) != 0)
		abort();
	/* unless dump had to truncate free text, nothing changed */
	if (!truncated(&env) && !same(&env, &back))
		abort();
	buf_release(&b1);
	buf_release(&b2);
	envelope_free(&back);
	envelope_free(&env);
	return 0;
}
