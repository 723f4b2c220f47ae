/*
 * deliver.h - the deliver process: outbound SMTP to the world's MX hosts.
 * It gets jobs (one message, one destination domain, its recipients, the
 * body as a read-only descriptor) from the queue and answers each with
 * per-recipient results.  Runs unprivileged; never opens spool paths.
 */
#ifndef POSTERN_DELIVER_H
#define POSTERN_DELIVER_H

struct conf;

/*
 * deliver_main - serve M_D_JOB from the queue on queue_sock; M_RELOAD on
 * parent_sock re-reads the configuration.  Exits 0 when the queue's
 * channel closes, once running jobs are answered or abandoned.
 */
void	deliver_main(struct conf *conf, int parent_sock, int queue_sock)
	    __attribute__((noreturn));

#endif
