/*
 * test_maildir.c - delivery into a temporary Maildir: the file lands in
 * new/ with exactly prefix + body, tmp/ is left empty, names are unique,
 * the shared body fd's offset is untouched, and failures leave nothing.
 * The split steps run as the queue's delivery batch does under each
 * sync_method (fdatasync + fsync of new/, or syncfs before and after).
 * With no body fd only the prefix is written (the queue's direct
 * delivery, whose body another descriptor appends).  maildir_sync_groups:
 * one sync per group, each member its result, failed ones revoked.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "tutil.h"

#include <ctype.h>
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "local/maildir.h"

struct fixture {
	char	root[64];
	char	md[128];	/* root/mail/example.com/bob: not yet there */
};

static int
setup(void **state)
{
	struct fixture	*f = calloc(1, sizeof(*f));

	(void)snprintf(f->root, sizeof(f->root), "/tmp/test_maildir.XXXXXX");
	if (mkdtemp(f->root) == NULL)
		return -1;
	(void)snprintf(f->md, sizeof(f->md), "%s/mail/example.com/bob",
	    f->root);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;

	tutil_rm_rf(f->root);
	free(f);
	return 0;
}

/* list - the names in md/sub (up to max), returns how many */
static size_t
list(const struct fixture *f, const char *sub, char names[][256], size_t max)
{
	char		 path[256];
	DIR		*d;
	struct dirent	*de;
	size_t		 n = 0;

	(void)snprintf(path, sizeof(path), "%s/%s", f->md, sub);
	if ((d = opendir(path)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (n < max)
			(void)snprintf(names[n], 256, "%s", de->d_name);
		n++;
	}
	closedir(d);
	return n;
}

/* body_file - an unlinked temporary file holding len bytes of data */
static int
body_file(const char *data, size_t len)
{
	char	path[] = "/tmp/test_maildir_body.XXXXXX";
	int	fd = mkstemp(path);

	assert_true(fd >= 0);
	(void)unlink(path);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	return fd;
}

/* slurp - the whole file md/new/name */
static char *
slurp(const struct fixture *f, const char *name, size_t *len)
{
	char		 path[512];
	struct stat	 st;
	char		*p;
	int		 fd;

	(void)snprintf(path, sizeof(path), "%s/new/%s", f->md, name);
	assert_true((fd = open(path, O_RDONLY)) >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	p = malloc((size_t)st.st_size + 1);
	assert_int_equal(read(fd, p, (size_t)st.st_size), st.st_size);
	close(fd);
	*len = (size_t)st.st_size;
	return p;
}

static void
test_deliver_exact(void **state)
{
	struct fixture	*f = *state;
	const char	*prefix =
	    "Return-Path: <a@b>\r\nDelivered-To: bob@x\r\n";
	size_t		 blen = 3 * 65536 + 123, plen = strlen(prefix), len, i;
	char		*body = malloc(blen), *got, names[4][256], path[256];
	char		 pid[32];
	struct stat	 st;
	struct err	 e;
	int		 fd;

	/* every byte value, bare LF and NUL included: copied as stored */
	for (i = 0; i < blen; i++)
		body[i] = (char)(i * 7 + i / 251);
	fd = body_file(body, blen);
	assert_int_equal(lseek(fd, 17, SEEK_SET), 17);
	assert_int_equal(maildir_deliver(f->md, fd, prefix, &e), 0);
	/* the shared offset is not moved (pread only) */
	assert_int_equal(lseek(fd, 0, SEEK_CUR), 17);
	close(fd);

	assert_int_equal(list(f, "new", names, 4), 1);
	assert_int_equal(list(f, "tmp", names + 1, 3), 0);
	assert_int_equal(list(f, "cur", names + 1, 3), 0);
	got = slurp(f, names[0], &len);
	assert_int_equal(len, plen + blen);
	assert_memory_equal(got, prefix, plen);
	assert_memory_equal(got + plen, body, blen);
	free(got);
	free(body);

	/* <time>.<pid>_<counter>_<random>.<host> */
	assert_true(isdigit((unsigned char)names[0][0]));
	(void)snprintf(pid, sizeof(pid), ".%d_", (int)getpid());
	assert_non_null(strstr(names[0], pid));
	assert_null(strchr(names[0], '/'));
	assert_null(strchr(names[0], ':'));

	/* every directory on the way was created 0700 */
	static const char *dirs[] = { "", "/tmp", "/new", "/cur", "/..",
	    "/../.." };
	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		(void)snprintf(path, sizeof(path), "%s%s", f->md, dirs[i]);
		assert_int_equal(stat(path, &st), 0);
		assert_true(S_ISDIR(st.st_mode));
		assert_int_equal(st.st_mode & 0777, 0700);
	}
}

static void
test_deliver_many_unique(void **state)
{
	struct fixture	*f = *state;
	char		 names[40][256];
	struct err	 e;
	size_t		 i, j, len;
	char		*got;
	int		 fd = body_file("x", 1);

	for (i = 0; i < 40; i++)
		assert_int_equal(maildir_deliver(f->md, fd, "", &e), 0);
	close(fd);
	assert_int_equal(list(f, "new", names, 40), 40);
	for (i = 0; i < 40; i++) {
		for (j = 0; j < i; j++)
			assert_string_not_equal(names[i], names[j]);
		got = slurp(f, names[i], &len);
		assert_int_equal(len, 1);
		assert_int_equal(got[0], 'x');
		free(got);
	}
	assert_int_equal(list(f, "tmp", names, 1), 0);
}

static void
test_deliver_empty(void **state)
{
	struct fixture	*f = *state;
	char		 names[2][256], *got;
	struct err	 e;
	size_t		 len;
	int		 fd = body_file("", 0);

	/* an existing Maildir is used as is */
	assert_int_equal(maildir_deliver(f->md, fd, "", &e), 0);
	assert_int_equal(maildir_deliver(f->md, fd, "H: v\r\n", &e), 0);
	close(fd);
	assert_int_equal(list(f, "new", names, 2), 2);
	got = slurp(f, names[0], &len);
	assert_true(len == 0 || len == 6);
	free(got);
}

static void
test_deliver_failures(void **state)
{
	struct fixture	*f = *state;
	char		 names[2][256], path[256];
	struct err	 e;
	int		 fd, wfd;

	/* the body cannot be read: nothing is left anywhere */
	(void)snprintf(path, sizeof(path), "%s/wo", f->root);
	assert_true((wfd = open(path, O_WRONLY | O_CREAT, 0600)) >= 0);
	memset(&e, 0, sizeof(e));
	assert_int_equal(maildir_deliver(f->md, wfd, "P: x\r\n", &e), -1);
	assert_true(e.msg[0] != '\0');
	assert_true(e.temp);
	close(wfd);
	assert_int_equal(list(f, "new", names, 2), 0);
	assert_int_equal(list(f, "tmp", names, 2), 0);

	/* a file where a directory should be */
	fd = body_file("x", 1);
	(void)snprintf(path, sizeof(path), "%s/plainfile", f->root);
	fclose(fopen(path, "w"));
	(void)snprintf(path, sizeof(path), "%s/plainfile/box", f->root);
	assert_int_equal(maildir_deliver(path, fd, "", &e), -1);
	assert_true(e.msg[0] != '\0');
	/* new/ is a file: the delivery fails and tmp/ is cleaned */
	(void)snprintf(path, sizeof(path), "%s/odd", f->root);
	assert_int_equal(mkdir(path, 0700), 0);
	(void)snprintf(path, sizeof(path), "%s/odd/new", f->root);
	fclose(fopen(path, "w"));
	(void)snprintf(path, sizeof(path), "%s/odd", f->root);
	assert_int_equal(maildir_deliver(path, fd, "", &e), -1);
	close(fd);
	/* an over-long path */
	char	 longp[5000];
	memset(longp, 'a', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = '\0';
	assert_int_equal(maildir_deliver(longp, 0, "", &e), -1);
}

/*
 * batch - N deliveries of "m<i>" into f->md as one batch: every file
 * begun, made durable (each fdatasynced, or one syncfs), linked, the
 * links made durable (new/ fsynced, or one syncfs); revoke: the index of
 * one to take back out of new/ (as after a failed sync), or -1
 */
static void
batch(const struct fixture *f, bool fs, size_t n, int revoke)
{
	struct maildir_tx	tx[8];
	struct err		e;
	char			body[16];
	size_t			i;
	int			fds[8];

	assert_true(n <= 8);
	for (i = 0; i < n; i++) {
		(void)snprintf(body, sizeof(body), "m%zu", i);
		fds[i] = body_file(body, strlen(body));
		assert_int_equal(maildir_begin(f->md, fds[i], "", &tx[i], &e),
		    0);
		assert_true(tx[i].in_tmp);
		assert_false(tx[i].in_new);
	}
	if (fs)
		assert_int_equal(syncfs(tx[0].tmp_dfd), 0);
	for (i = 0; i < n; i++) {
		if (!fs)
			assert_int_equal(fdatasync(tx[i].fd), 0);
		assert_int_equal(maildir_commit(&tx[i], &e), 0);
		assert_true(tx[i].in_new);
		assert_int_equal(tx[i].fd, -1);
	}
	if (fs)
		assert_int_equal(syncfs(tx[0].tmp_dfd), 0);
	else
		assert_int_equal(fsync(tx[0].new_dfd), 0);
	if (revoke >= 0)
		maildir_revoke(&tx[revoke]);
	for (i = 0; i < n; i++) {
		maildir_end(&tx[i]);
		assert_int_equal(tx[i].tmp_dfd, -1);
		assert_int_equal(tx[i].new_dfd, -1);
		close(fds[i]);
	}
}

static void
test_batch_methods(void **state)
{
	struct fixture	*f = *state;
	char		 names[20][256], del[512], *got;
	bool		 seen[8];
	size_t		 i, len, k;
	int		 fs;

	for (fs = 0; fs < 2; fs++) {
		memset(seen, 0, sizeof(seen));
		batch(f, fs != 0, 8, -1);
		assert_int_equal(list(f, "new", names, 20), 8);
		assert_int_equal(list(f, "tmp", names + 8, 12), 0);
		for (i = 0; i < 8; i++) {
			got = slurp(f, names[i], &len);
			assert_int_equal(len, 2);
			assert_int_equal(got[0], 'm');
			k = (size_t)(got[1] - '0');
			assert_true(k < 8 && !seen[k]);
			seen[k] = true;
			free(got);
			(void)snprintf(del, sizeof(del), "%s/new/%.255s", f->md,
			    names[i]);
			assert_int_equal(unlink(del), 0);
		}
		/* one taken back after its sync failed: not in new/ */
		batch(f, fs != 0, 3, 1);
		assert_int_equal(list(f, "new", names, 20), 2);
		assert_int_equal(list(f, "tmp", names + 2, 18), 0);
		for (i = 0; i < 2; i++) {
			got = slurp(f, names[i], &len);
			assert_int_not_equal(got[1], '1');
			free(got);
			(void)snprintf(del, sizeof(del), "%s/new/%.255s", f->md,
			    names[i]);
			assert_int_equal(unlink(del), 0);
		}
	}
	/* begun but never committed (a failed sync): tmp/ is cleaned */
	{
		struct maildir_tx	tx;
		struct err		e;
		int			fd = body_file("x", 1);

		assert_int_equal(maildir_begin(f->md, fd, "", &tx, &e), 0);
		assert_int_equal(list(f, "tmp", names, 20), 1);
		maildir_end(&tx);
		close(fd);
		assert_int_equal(list(f, "tmp", names, 20), 0);
		assert_int_equal(list(f, "new", names, 20), 0);
	}
}

/*
 * test_prefix_only - no body fd (the queue's direct delivery): the prefix
 * is written, tx.fd reads it back and stays after it; a second, appending
 * descriptor (smtp's) adds the body; committed, the file is prefix + body;
 * ended without commit, nothing is left
 */
static void
test_prefix_only(void **state)
{
	static const char	*prefixes[] = { "", "P: 1\r\n",
	    "Return-Path: <a@b>\r\nDelivered-To: c@d\r\n" };
	struct fixture		*f = *state;
	struct maildir_tx	 tx;
	struct err		 e;
	char			 names[4][256], head[128], path[1024], *got;
	size_t			 i, plen, len;
	int			 wfd;

	for (i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		plen = strlen(prefixes[i]);
		assert_int_equal(maildir_begin(f->md, -1, prefixes[i], &tx, &e),
		    0);
		assert_int_equal(lseek(tx.fd, 0, SEEK_CUR), (off_t)plen);
		assert_int_equal(pread(tx.fd, head, sizeof(head), 0),
		    (ssize_t)plen);
		assert_memory_equal(head, prefixes[i], plen);
		(void)snprintf(path, sizeof(path), "%s/tmp/%s", f->md, tx.name);
		assert_true((wfd = open(path, O_WRONLY | O_APPEND)) >= 0);
		assert_int_equal(write(wfd, "body\r\n", 6), 6);
		close(wfd);
		if (i == 1) {
			/* aborted: the file goes */
			maildir_end(&tx);
			assert_int_equal(list(f, "tmp", names, 4), 0);
			assert_int_equal(list(f, "new", names, 4), 0);
			continue;
		}
		assert_int_equal(fdatasync(tx.fd), 0);
		assert_int_equal(maildir_commit(&tx, &e), 0);
		maildir_end(&tx);
		assert_int_equal(list(f, "tmp", names, 4), 0);
		assert_int_equal(list(f, "new", names, 4), 1);
		got = slurp(f, names[0], &len);
		assert_int_equal(len, plen + 6);
		assert_memory_equal(got, prefixes[i], plen);
		assert_memory_equal(got + plen, "body\r\n", 6);
		free(got);
		(void)snprintf(path, sizeof(path), "%s/new/%.255s", f->md,
		    names[0]);
		assert_int_equal(unlink(path), 0);
	}
}

/* test_partial_maildir - what exists is used, what is missing is made */
static void
test_partial_maildir(void **state)
{
	struct fixture	*f = *state;
	char		 names[2][256], path[512], other[512];
	struct stat	 st;
	struct err	 e;
	int		 fd = body_file("x", 1);

	/* a complete Maildir, then cur/ removed: tmp/ and new/ suffice */
	assert_int_equal(maildir_deliver(f->md, fd, "", &e), 0);
	(void)snprintf(path, sizeof(path), "%s/cur", f->md);
	assert_int_equal(rmdir(path), 0);
	assert_int_equal(maildir_deliver(f->md, fd, "", &e), 0);
	assert_int_equal(list(f, "new", names, 2), 2);
	/* new/ missing: made again, with cur/ */
	(void)snprintf(path, sizeof(path), "%s/new/%s", f->md, names[0]);
	assert_int_equal(unlink(path), 0);
	(void)snprintf(path, sizeof(path), "%s/new/%s", f->md, names[1]);
	assert_int_equal(unlink(path), 0);
	(void)snprintf(path, sizeof(path), "%s/new", f->md);
	assert_int_equal(rmdir(path), 0);
	assert_int_equal(maildir_deliver(f->md, fd, "", &e), 0);
	assert_int_equal(list(f, "new", names, 2), 1);
	(void)snprintf(path, sizeof(path), "%s/cur", f->md);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	/* new/ a symlink to elsewhere: refused, nothing written there */
	(void)snprintf(path, sizeof(path), "%s/new/%s", f->md, names[0]);
	assert_int_equal(unlink(path), 0);
	(void)snprintf(path, sizeof(path), "%s/new", f->md);
	assert_int_equal(rmdir(path), 0);
	(void)snprintf(other, sizeof(other), "%s/elsewhere", f->root);
	assert_int_equal(mkdir(other, 0700), 0);
	assert_int_equal(symlink(other, path), 0);
	assert_int_equal(maildir_deliver(f->md, fd, "", &e), -1);
	assert_true(e.msg[0] != '\0');
	assert_int_equal(list(f, "tmp", names, 2), 0);
	assert_int_equal(rmdir(other), 0);	/* still empty */
	close(fd);
}

/* mkfile - an empty file dir/name */
static void
mkfile(const char *dir, const char *name)
{
	char	path[256];
	int	fd;

	(void)snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_true((fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600)) !=
	    -1);
	close(fd);
}

/*
 * maildir_sync_groups by directory: one fsync per new/, every member of
 * a group gets its result, a failed one is revoked (its link removed),
 * one marked synced already is left alone.  An O_PATH descriptor makes
 * fsync fail (EBADF) while unlinkat through it still works.
 */
static void
test_sync_groups_by_dir(void **state)
{
	struct fixture		*f = *state;
	struct maildir_tx	 tx[4];
	struct maildir_sync	 v[4];
	char			 a[128], b[128], path[256];
	int			 afd, bfd;
	size_t			 i;

	(void)snprintf(a, sizeof(a), "%s/a", f->root);
	(void)snprintf(b, sizeof(b), "%s/b", f->root);
	assert_int_equal(mkdir(a, 0700), 0);
	assert_int_equal(mkdir(b, 0700), 0);
	assert_true((afd = open(a, O_RDONLY | O_DIRECTORY)) != -1);
	assert_true((bfd = open(b, O_PATH | O_DIRECTORY)) != -1);
	memset(tx, 0, sizeof(tx));
	memset(v, 0, sizeof(v));
	for (i = 0; i < 4; i++) {
		tx[i].new_dfd = i % 2 == 0 ? afd : bfd;
		tx[i].tmp_dfd = tx[i].fd = -1;
		tx[i].in_new = true;
		(void)snprintf(tx[i].name, sizeof(tx[i].name), "m%zu", i);
		mkfile(i % 2 == 0 ? a : b, tx[i].name);
		v[i].tx = &tx[i];
		v[i].maildir = i % 2 == 0 ? a : b;
		v[i].err = -1;
	}
	v[3].synced = true;		/* failed before: nothing to do */
	maildir_sync_groups(v, 4, MAILDIR_BY_DIR);
	for (i = 0; i < 4; i++)
		assert_true(v[i].synced);
	assert_int_equal(v[0].err, 0);
	assert_int_equal(v[2].err, 0);
	assert_int_equal(v[1].err, EBADF);
	assert_int_equal(v[3].err, 0);
	assert_true(tx[0].in_new && tx[2].in_new && tx[3].in_new);
	assert_false(tx[1].in_new);
	(void)snprintf(path, sizeof(path), "%s/m1", b);
	assert_int_equal(access(path, F_OK), -1);
	(void)snprintf(path, sizeof(path), "%s/m3", b);
	assert_int_equal(access(path, F_OK), 0);
	close(afd);
	close(bfd);
}

/*
 * maildir_sync_groups by filesystem: one syncfs per dev, through the
 * member with the lowest order (opened first), whatever its place
 */
static void
test_sync_groups_by_dev(void **state)
{
	struct fixture		*f = *state;
	struct maildir_tx	 tx[3];
	struct maildir_sync	 v[3];
	int			 good, bad;
	size_t			 i;

	assert_true((good = open(f->root, O_RDONLY | O_DIRECTORY)) != -1);
	assert_true((bad = open(f->root, O_PATH | O_DIRECTORY)) != -1);
	memset(tx, 0, sizeof(tx));
	memset(v, 0, sizeof(v));
	for (i = 0; i < 3; i++) {
		tx[i].new_dfd = tx[i].fd = -1;
		v[i].tx = &tx[i];
		v[i].maildir = f->md;
	}
	/* dev 1: the second (order 2) is opened first and syncs for both */
	tx[0].tmp_dfd = bad;
	v[0].dev = 1;
	v[0].order = 5;
	tx[1].tmp_dfd = good;
	v[1].dev = 1;
	v[1].order = 2;
	/* dev 2: alone, and its syncfs fails */
	tx[2].tmp_dfd = bad;
	v[2].dev = 2;
	v[2].order = 1;
	maildir_sync_groups(v, 3, MAILDIR_BY_DEV);
	assert_int_equal(v[0].err, 0);
	assert_int_equal(v[1].err, 0);
	assert_int_equal(v[2].err, EBADF);
	close(good);
	close(bad);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_deliver_exact, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_deliver_many_unique, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_deliver_empty, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_deliver_failures, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_batch_methods, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_partial_maildir, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_sync_groups_by_dir, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_sync_groups_by_dev, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_prefix_only, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
