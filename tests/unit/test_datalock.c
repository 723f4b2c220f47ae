/*
 * test_datalock.c - the data dir's lock (src/proc/datalock.c): the
 * DATA/owner line read back exactly and nothing else accepted, the
 * refuse-or-wait decision, and the lock itself in a temporary directory
 * (a second take refused naming the holder, free again once closed).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/file.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "datalock.h"
#include "err.h"
#include "tutil.h"

static void
test_roundtrip(void **state)
{
	static const enum datalock_state states[] = {
		DL_RUNNING, DL_STOPPING, DL_DRAINING,
	};
	static const pid_t pids[] = { 1, 42, 4194304, 2147483647 };
	struct datalock_owner	o, back;
	char			buf[DATALOCK_LINE_MAX];
	size_t			i, j;
	int			n;

	(void)state;
	for (i = 0; i < sizeof(states) / sizeof(states[0]); i++)
		for (j = 0; j < sizeof(pids) / sizeof(pids[0]); j++) {
			o.pid = pids[j];
			o.state = states[i];
			n = datalock_format(buf, sizeof(buf), &o);
			assert_true(n > 0);
			assert_int_equal(datalock_parse(buf, (size_t)n, &back),
			    0);
			assert_int_equal(back.pid, o.pid);
			assert_int_equal(back.state, o.state);
		}
	n = datalock_format(buf, sizeof(buf), &(struct datalock_owner){ 77,
	    DL_DRAINING });
	assert_string_equal(buf, "pid=77 state=draining\n");
	assert_int_equal(n, 22);
	/* nothing to say, or no room to say it */
	assert_int_equal(datalock_format(buf, sizeof(buf),
	    &(struct datalock_owner){ 0, DL_RUNNING }), -1);
	assert_int_equal(datalock_format(buf, sizeof(buf),
	    &(struct datalock_owner){ 5, DL_UNKNOWN }), -1);
	assert_int_equal(datalock_format(buf, 10,
	    &(struct datalock_owner){ 5, DL_RUNNING }), -1);
}

static void
test_parse_rejects(void **state)
{
	static const char *bad[] = {
		"",
		"pid=",
		"pid=12",
		"pid=12 state=running",		/* no newline: being written */
		"pid=12 state=running\nning\n",	/* a longer line's tail */
		"pid=12 state=runnin\n",
		"pid=12 state=runningx\n",
		"pid=12 state=unknown\n",
		"pid=12  state=running\n",
		"pid=0 state=running\n",
		"pid=012 state=running\n",
		"pid=-1 state=running\n",
		"pid=2147483648 state=running\n",
		"pid=99999999999999999999 state=running\n",
		"pid=12x state=running\n",
		"PID=12 state=running\n",
		" pid=12 state=running\n",
	};
	struct datalock_owner	o;
	size_t			i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		o.pid = 9;
		o.state = DL_RUNNING;
		assert_int_equal(datalock_parse(bad[i], strlen(bad[i]), &o),
		    -1);
		assert_int_equal(o.pid, 0);
		assert_int_equal(o.state, DL_UNKNOWN);
	}
	/* a NUL inside counts as a byte like any other */
	assert_int_equal(datalock_parse("pid=1\0state=running\n", 20, &o), -1);
	assert_int_equal(datalock_parse("pid=1 state=running\n", 20, &o), 0);
	assert_int_equal(o.pid, 1);
}

static void
test_should_wait(void **state)
{
	struct datalock_owner	o = { 100, DL_RUNNING };

	(void)state;
	assert_false(datalock_should_wait(&o, true));	/* serving: refuse */
	assert_true(datalock_should_wait(&o, false));	/* killed: orphans */
	o.state = DL_STOPPING;
	assert_true(datalock_should_wait(&o, true));
	o.state = DL_DRAINING;
	assert_true(datalock_should_wait(&o, true));
	assert_true(datalock_should_wait(&o, false));
	o.state = DL_UNKNOWN;
	o.pid = 0;
	assert_true(datalock_should_wait(&o, false));
}

static void
test_take(void **state)
{
	char			 dir[] = "/tmp/test_datalock.XXXXXX";
	char			 path[256], buf[DATALOCK_LINE_MAX], want[64];
	struct datalock		 a, b;
	struct err		 e;
	FILE			*f;
	size_t			 n;
	int			 fd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(datalock_take(&a, dir, getpid(), 0, &e), 0);
	(void)snprintf(path, sizeof(path), "%s/%s", dir, DATALOCK_OWNER);
	assert_non_null(f = fopen(path, "r"));
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	(void)snprintf(want, sizeof(want), "pid=%ld state=running\n",
	    (long)getpid());
	assert_string_equal(buf, want);

	/* a live running holder: refused at once, named */
	memset(&e, 0, sizeof(e));
	assert_int_equal(datalock_take(&b, dir, 1, 0, &e), -1);
	(void)snprintf(want, sizeof(want), "postern pid %ld (running)",
	    (long)getpid());
	assert_non_null(strstr(e.msg, want));
	assert_int_equal(b.dirfd, -1);

	/* draining: waited for (here 0 s), then refused, named */
	datalock_set(&a, getpid(), DL_DRAINING);
	assert_int_equal(datalock_take(&b, dir, 1, 0, &e), -1);
	assert_non_null(strstr(e.msg, "still in use"));
	(void)snprintf(want, sizeof(want), "pid %ld (draining)",
	    (long)getpid());
	assert_non_null(strstr(e.msg, want));

	/* the holder gone: free, and the owner line is the new one's */
	close(a.dirfd);
	close(a.fd);
	assert_int_equal(datalock_take(&b, dir, 4242, 0, &e), 0);
	assert_non_null(f = fopen(path, "r"));
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	assert_string_equal(buf, "pid=4242 state=running\n");
	close(b.dirfd);
	close(b.fd);

	/* held by someone who wrote no line: waited for, then refused */
	assert_int_equal(unlink(path), 0);
	assert_true((fd = open(dir, O_RDONLY | O_DIRECTORY)) != -1);
	assert_int_equal(flock(fd, LOCK_EX), 0);
	assert_int_equal(datalock_take(&b, dir, 4242, 0, &e), -1);
	assert_non_null(strstr(e.msg, "still in use by a process that left "
	    "no readable owner"));
	close(fd);

	/* DATA/owner that is not a plain file of its own is not written */
	assert_int_equal(symlink("/etc/passwd", path), 0);
	assert_int_equal(datalock_take(&b, dir, 4242, 0, &e), -1);
	assert_int_equal(b.dirfd, -1);
	tutil_rm_rf(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_parse_rejects),
		cmocka_unit_test(test_should_wait),
		cmocka_unit_test(test_take),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
