/*
 * queue.h - the queue process: owns the spool, makes accepted mail
 * durable (batched fsync), delivers local recipients to Maildir and
 * schedules retries.  No network.
 */
#ifndef POSTERN_QUEUE_H
#define POSTERN_QUEUE_H

struct conf;

/*
 * queue_main - run the queue on the spool under conf->data_dir, talking to
 * the parent on parent_sock (M_Q_PEER brings each smtp worker's channel,
 * M_RELOAD asks to re-read the config directory).  Recovers the spool
 * first.  Exits 0 on SIGTERM once in-flight commits are answered and
 * running deliveries are done, or when the parent's socket closes.
 */
void	queue_main(struct conf *conf, int parent_sock)
	    __attribute__((noreturn));

#endif
