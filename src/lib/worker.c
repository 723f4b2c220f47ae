/*
 * worker.c - a batch worker thread (worker.h): the event loop posts
 * items; the thread takes every item waiting (at most w->batch at once),
 * runs them off the loop (work), and hands them back through an eventfd,
 * where the loop calls done for each, in order.  Once asked to quit it
 * ends after the batch in hand, or, if drain, once nothing is waiting;
 * when the loop sees it has ended it joins it and calls on_exit.  The
 * thread blocks every signal: the loop handles them.  The callbacks get
 * the caller's arg; nothing here knows what an item is.
 */
#include <sys/eventfd.h>
#include <sys/queue.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "worker.h"

/* efd_kick - wake the loop (an eventfd counter never blocks at 1) */
static void
efd_kick(int efd)
{
	uint64_t	one = 1;

	while (write(efd, &one, sizeof(one)) == -1 && errno == EINTR)
		continue;
}

/* worker_main - the thread: wait for items, run them, hand them back */
static void *
worker_main(void *arg)
{
	struct worker	*w = arg;
	struct witems	 mine;
	struct witem	*it;
	size_t		 n;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (TAILQ_EMPTY(&w->in) && !w->quit)
			pthread_cond_wait(&w->cv, &w->mu);
		if (TAILQ_EMPTY(&w->in) || (w->quit && !w->drain))
			break;
		TAILQ_INIT(&mine);
		for (n = 0; n < w->batch && (it = TAILQ_FIRST(&w->in)) != NULL;
		    n++) {
			TAILQ_REMOVE(&w->in, it, entry);
			TAILQ_INSERT_TAIL(&mine, it, entry);
		}
		pthread_mutex_unlock(&w->mu);
		w->work(w->arg, &mine);
		pthread_mutex_lock(&w->mu);
		TAILQ_CONCAT(&w->out, &mine, entry);
		efd_kick(w->efd);
	}
	w->exited = true;
	efd_kick(w->efd);
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* worker_post - hand an item to the thread; false if it has ended */
bool
worker_post(struct worker *w, struct witem *it)
{
	bool	ok;

	pthread_mutex_lock(&w->mu);
	if ((ok = !w->exited)) {
		TAILQ_INSERT_TAIL(&w->in, it, entry);
		pthread_cond_signal(&w->cv);
	}
	pthread_mutex_unlock(&w->mu);
	return ok;
}

/* worker_stop - ask the thread to end (after its queue if w->drain) */
void
worker_stop(struct worker *w)
{
	pthread_mutex_lock(&w->mu);
	w->quit = true;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

/* worker_wakeup - loop side: take the thread's finished items */
static void
worker_wakeup(evutil_socket_t fd, short what, void *arg)
{
	struct worker	*w = arg;
	struct witems	 done;
	struct witem	*it;
	uint64_t	 n;
	bool		 exited;

	(void)what;
	if (read(fd, &n, sizeof(n)) == -1 && errno != EAGAIN)
		log_warn("queue: eventfd read");
	TAILQ_INIT(&done);
	pthread_mutex_lock(&w->mu);
	TAILQ_CONCAT(&done, &w->out, entry);
	exited = w->exited;
	pthread_mutex_unlock(&w->mu);
	while ((it = TAILQ_FIRST(&done)) != NULL) {
		TAILQ_REMOVE(&done, it, entry);
		w->done(w->arg, it);
	}
	if (exited && w->running) {
		pthread_join(w->th, NULL);
		w->running = false;
		log_debug("%s thread stopped", w->name);
		if (w->on_exit != NULL)
			w->on_exit(w->arg);
	}
}

/* worker_start - create the thread with every signal blocked */
void
worker_start(struct worker *w, struct event_base *base, const char *name,
    size_t batch, bool drain, void (*work)(void *, struct witems *),
    void (*done)(void *, struct witem *), void (*on_exit)(void *), void *arg)
{
	sigset_t	all, old;
	int		rc;

	memset(w, 0, sizeof(*w));
	w->arg = arg;
	w->name = name;
	w->batch = batch;
	w->drain = drain;
	w->work = work;
	w->done = done;
	w->on_exit = on_exit;
	TAILQ_INIT(&w->in);
	TAILQ_INIT(&w->out);
	if (pthread_mutex_init(&w->mu, NULL) != 0 ||
	    pthread_cond_init(&w->cv, NULL) != 0)
		fatalx("queue: pthread init");
	if ((w->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) == -1)
		fatal("queue: eventfd");
	if ((w->ev = event_new(base, w->efd, EV_READ | EV_PERSIST,
	    worker_wakeup, w)) == NULL || event_add(w->ev, NULL) == -1)
		fatalx("queue: event_new");
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&w->th, NULL, worker_main, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		errno = rc;
		fatal("queue: pthread_create %s", name);
	}
	w->running = true;
}

/* worker_free - after the thread is joined */
void
worker_free(struct worker *w)
{
	if (w->ev != NULL)
		event_free(w->ev);
	if (w->efd != -1)
		close(w->efd);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
}
