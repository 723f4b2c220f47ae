/*
 * queue.h - the queue process: owns the spool, makes accepted mail
 * durable (batched fsync), delivers local recipients to Maildir and
 * schedules retries.  No network.
 */
#ifndef POSTERN_QUEUE_H
#define POSTERN_QUEUE_H

struct conf;
struct datalock;

/*
 * queue_main - run the queue on the spool under conf->data_dir, talking to
 * the parent on parent_sock (M_Q_PEER brings each smtp worker's channel,
 * M_RELOAD asks to re-read the config directory).  Recovers the spool
 * first.  Exits 0 once in-flight commits are answered and the running
 * deliveries are done after the parent's socket closes (1 if that takes
 * over Q_STOP_MAX seconds).  lock: the data dir's, kept until the exit.
 */
void	queue_main(struct conf *conf, int parent_sock,
	    const struct datalock *lock) __attribute__((noreturn));

#endif
