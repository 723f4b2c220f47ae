/*
 * mta_job.c - the job a deliver connection carries: recipients, body
 * descriptor and per-recipient results (struct mta_job in mta.h).
 *
 * Runs in the deliver process; owns nothing but the job's memory and its
 * body descriptor, which mta_job_free() closes.  Reply texts are copied
 * truncated to the fixed result fields.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "xmalloc.h"
#include "deliver/mta.h"

/* mta_job_new - a job for n recipients */
struct mta_job *
mta_job_new(size_t nrcpt)
{
	struct mta_job	*j = xcalloc(1, sizeof(*j));

	j->fd = -1;
	j->nrcpt = nrcpt;
	j->rcpt = xcalloc(nrcpt ? nrcpt : 1, sizeof(*j->rcpt));
	j->res = xcalloc(nrcpt ? nrcpt : 1, sizeof(*j->res));
	return j;
}

/* mta_job_free - release a job and close its body */
void
mta_job_free(struct mta_job *j)
{
	size_t	i;

	if (j == NULL)
		return;
	for (i = 0; i < j->nrcpt; i++)
		free(j->rcpt[i]);
	free(j->rcpt);
	free(j->res);
	free(j->msgid);
	free(j->from);
	free(j->prefix);
	free(j->domain);
	if (j->fd != -1)
		close(j->fd);
	free(j);
}

/* mta_rcpt_set - one recipient's outcome, final */
void
mta_rcpt_set(struct mta_rcpt_res *r, unsigned dr, const char *status,
    const char *reply, const char *remote)
{
	r->dr = dr;
	r->final = true;
	r->accepted = false;
	(void)snprintf(r->status, sizeof(r->status), "%s", status);
	(void)snprintf(r->reply, sizeof(r->reply), "%s", reply);
	(void)snprintf(r->remote, sizeof(r->remote), "%s", remote);
}

/* mta_job_fail_all - decide every undecided recipient */
void
mta_job_fail_all(struct mta_job *j, unsigned dr, const char *status,
    const char *reply, const char *remote)
{
	size_t	i;

	for (i = 0; i < j->nrcpt; i++)
		if (!j->res[i].final)
			mta_rcpt_set(&j->res[i], dr, status, reply, remote);
}
