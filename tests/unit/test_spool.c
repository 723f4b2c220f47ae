/*
 * test_spool.c - the on-disk queue in a temporary directory: new body,
 * envelope, sync, publish, recovery, update, removal, quarantine, and the
 * refusal of anything that is not a queue id.  The tests that publish run
 * twice, once per sync_method: file (fdatasync each file, fsync the
 * directories) and filesystem (syncfs, renames, syncfs).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "tutil.h"

#include <stdbool.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "queue/spool.h"

struct fixture {
	char		 root[64];	/* mkdtemp */
	char		 dir[128];	/* root/a/b/queue: parents created */
	struct spool	 sp;
	bool		 fs;		/* sync_method filesystem */
	int		 sync_fd;	/* spool_sync_fd(), when fs */
};

static int
setup_method(void **state, bool fs)
{
	struct fixture	*f = calloc(1, sizeof(*f));
	struct err	 e;

	(void)snprintf(f->root, sizeof(f->root), "/tmp/test_spool.XXXXXX");
	if (mkdtemp(f->root) == NULL)
		return -1;
	(void)snprintf(f->dir, sizeof(f->dir), "%s/a/b/queue", f->root);
	if (spool_open(&f->sp, f->dir, &e) == -1) {
		fprintf(stderr, "spool_open: %s\n", e.msg);
		return -1;
	}
	f->fs = fs;
	f->sync_fd = -1;
	if (fs && (f->sync_fd = spool_sync_fd(&f->sp, &e)) == -1) {
		fprintf(stderr, "spool_sync_fd: %s\n", e.msg);
		return -1;
	}
	*state = f;
	return 0;
}

static int
setup(void **state)
{
	return setup_method(state, false);
}

static int
setup_fs(void **state)
{
	return setup_method(state, true);
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;

	if (f->sync_fd != -1)
		close(f->sync_fd);
	spool_close(&f->sp);
	tutil_rm_rf(f->root);
	free(f);
	return 0;
}

/* count - entries of dir (relative to the spool) other than . and .. */
static size_t
count(struct fixture *f, const char *sub)
{
	char		 path[256];
	DIR		*d;
	struct dirent	*de;
	size_t		 n = 0;

	(void)snprintf(path, sizeof(path), "%s/%s", f->dir, sub);
	assert_non_null(d = opendir(path));
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

/* exists - does spool-relative path exist? */
static bool
exists(struct fixture *f, const char *sub, const char *name)
{
	char		path[1024];
	struct stat	st;

	(void)snprintf(path, sizeof(path), "%s/%s/%s", f->dir, sub, name);
	return lstat(path, &st) == 0;
}

/* put - create spool-relative sub/name with content */
static void
put(struct fixture *f, const char *sub, const char *name, const char *s)
{
	char	path[1024];
	FILE	*fp;

	(void)snprintf(path, sizeof(path), "%s/%s/%s", f->dir, sub, name);
	assert_non_null(fp = fopen(path, "w"));
	fputs(s, fp);
	fclose(fp);
}

/* new_message - a new body with content, and its envelope text */
static void
new_message(struct fixture *f, char id[SPOOL_ID_LEN + 1], const char *body,
    const char *env)
{
	struct buf	b;
	struct err	e;
	int		fd;

	assert_int_equal(spool_new_body(&f->sp, id, &fd, &e), 0);
	assert_int_equal(write(fd, body, strlen(body)), (ssize_t)strlen(body));
	close(fd);
	buf_init(&b, 1 << 20);
	assert_int_equal(buf_addstr(&b, env), 0);
	assert_int_equal(spool_write_env(&f->sp, id, &b, &e), 0);
	buf_release(&b);
}

/* commit - sync, publish and sync again, as the commit thread does */
static void
commit(struct fixture *f, const char *id)
{
	struct err	e;

	if (f->fs)
		assert_int_equal(spool_syncfs(f->sync_fd, &e), 0);
	else
		assert_int_equal(spool_sync_files(&f->sp, id, &e), 0);
	assert_int_equal(spool_publish(&f->sp, id, &e), 0);
	if (f->fs)
		assert_int_equal(spool_syncfs(f->sync_fd, &e), 0);
	else
		assert_int_equal(spool_sync_dirs(&f->sp, &e), 0);
}

/* settle - the sync after which files renamed into free/ are reusable */
static void
settle(struct fixture *f)
{
	struct err	e;

	if (f->fs)
		assert_int_equal(spool_syncfs_pool(&f->sp, f->sync_fd, &e), 0);
	else
		assert_int_equal(spool_sync_dirs(&f->sp, &e), 0);
}

/* update - replace env/<id> with text, by the fixture's sync_method */
static int
update(struct fixture *f, const char *id, const char *text, struct err *e)
{
	struct buf	b;
	int		rc;

	buf_init(&b, 1 << 20);
	assert_int_equal(buf_addstr(&b, text), 0);
	if (!f->fs)
		rc = spool_update_env(&f->sp, id, &b, e);
	else if ((rc = spool_write_update(&f->sp, id, &b, e)) == 0) {
		assert_int_equal(spool_syncfs(f->sync_fd, e), 0);
		rc = spool_swap_update(&f->sp, id, e);
	}
	buf_release(&b);
	return rc;
}

static void
test_open_layout(void **state)
{
	struct fixture	*f = *state;
	static const char *subs[] = { "", "/tmp", "/body", "/env", "/corrupt",
	    "/free" };
	char		 path[256];
	struct stat	 st;
	struct spool	 again;
	struct err	 e;
	size_t		 i;

	for (i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		(void)snprintf(path, sizeof(path), "%s%s", f->dir, subs[i]);
		assert_int_equal(stat(path, &st), 0);
		assert_true(S_ISDIR(st.st_mode));
		assert_int_equal(st.st_mode & 0777, 0700);
	}
	/* opening an existing spool again is fine */
	assert_int_equal(spool_open(&again, f->dir, &e), 0);
	spool_close(&again);
	spool_close(&again);	/* idempotent */
	/* a file in the way is an error */
	(void)snprintf(path, sizeof(path), "%s/file", f->root);
	fclose(fopen(path, "w"));
	assert_int_equal(spool_open(&again, path, &e), -1);
	assert_true(e.msg[0] != '\0');
	(void)snprintf(path, sizeof(path), "%s/file/queue", f->root);
	assert_int_equal(spool_open(&again, path, &e), -1);
}

static void
test_new_body(void **state)
{
	struct fixture	*f = *state;
	char		 ids[200][SPOOL_ID_LEN + 1], name[64];
	struct err	 e;
	struct stat	 st;
	size_t		 i, j, k;
	int		 fd;

	for (i = 0; i < 200; i++) {
		assert_int_equal(spool_new_body(&f->sp, ids[i], &fd, &e), 0);
		assert_int_equal(strlen(ids[i]), SPOOL_ID_LEN);
		for (k = 0; k < SPOOL_ID_LEN; k++)
			assert_non_null(strchr("0123456789abcdef", ids[i][k]));
		assert_int_equal(fstat(fd, &st), 0);
		assert_int_equal(st.st_mode & 0777, 0600);
		assert_int_equal(st.st_size, 0);
		/* O_RDWR */
		assert_int_equal(write(fd, "x", 1), 1);
		assert_int_equal(pread(fd, name, 1, 0), 1);
		close(fd);
		for (j = 0; j < i; j++)
			assert_string_not_equal(ids[i], ids[j]);
		(void)snprintf(name, sizeof(name), "%s.body", ids[i]);
		assert_true(exists(f, "tmp", name));
	}
	assert_int_equal(count(f, "tmp"), 200);
	/* ids sort by creation time (the first 14 digits are microseconds) */
	for (i = 1; i < 200; i++)
		assert_true(strncmp(ids[i - 1], ids[i], 14) <= 0);
}

static void
test_tmp_body_modes(void **state)
{
	struct fixture	*f = *state;
	char		 id[SPOOL_ID_LEN + 1], c;
	struct err	 e;
	int		 fd, wfd, rfd;

	assert_int_equal(spool_new_body(&f->sp, id, &fd, &e), 0);
	close(fd);
	assert_true((wfd = spool_open_tmp_body(&f->sp, id, O_WRONLY, &e)) >= 0);
	assert_int_equal(write(wfd, "hello", 5), 5);
	assert_int_equal(read(wfd, &c, 1), -1);	/* write-only */
	assert_int_equal(errno, EBADF);
	close(wfd);
	assert_true((rfd = spool_open_tmp_body(&f->sp, id, O_RDONLY, &e)) >= 0);
	assert_int_equal(write(rfd, "x", 1), -1);
	assert_int_equal(read(rfd, &c, 1), 1);
	assert_int_equal(c, 'h');
	close(rfd);
	assert_int_equal(spool_open_tmp_body(&f->sp, id, O_RDWR, &e), -1);
	assert_int_equal(spool_open_tmp_body(&f->sp, "0000000000000000000f",
	    O_RDONLY, &e), -1);
	spool_discard(&f->sp, id);
	assert_int_equal(count(f, "tmp"), 0);
}

static void
test_publish(void **state)
{
	struct fixture	*f = *state;
	char		 id[SPOOL_ID_LEN + 1], got[64];
	struct buf	 b;
	struct err	 e;
	int		 fd;

	new_message(f, id, "Subject: hi\r\n\r\nbody\r\n", "ENV1\n");
	assert_int_equal(count(f, "tmp"), 2);
	assert_false(exists(f, "env", id));
	commit(f, id);
	assert_int_equal(count(f, "tmp"), 0);
	assert_true(exists(f, "body", id));
	assert_true(exists(f, "env", id));
	buf_init(&b, 1 << 20);
	assert_int_equal(spool_read_env(&f->sp, id, &b, &e), 0);
	assert_int_equal(buf_avail(&b), 5);
	assert_memory_equal(buf_ptr(&b), "ENV1\n", 5);
	buf_release(&b);
	assert_true((fd = spool_open_body(&f->sp, id, &e)) >= 0);
	assert_int_equal(read(fd, got, sizeof(got)), 21);
	assert_memory_equal(got, "Subject: hi\r\n\r\nbody\r\n", 21);
	close(fd);
	/* a buffer smaller than the file */
	buf_init(&b, 3);
	assert_int_equal(spool_read_env(&f->sp, id, &b, &e), -1);
	assert_int_equal(e.code, EFBIG);
	buf_release(&b);
}

static void
test_publish_never_replaces(void **state)
{
	struct fixture	*f = *state;
	char		 id[SPOOL_ID_LEN + 1];
	struct buf	 b;
	struct err	 e;

	new_message(f, id, "new", "ENV\n");
	/* an accepted message already holds this id's envelope name */
	put(f, "env", id, "OLD\n");
	assert_int_equal(spool_sync_files(&f->sp, id, &e), 0);
	assert_int_equal(spool_publish(&f->sp, id, &e), -1);
	assert_true(e.temp);
	/* nothing is left published by the failed attempt */
	assert_false(exists(f, "body", id));
	buf_init(&b, 64);
	assert_int_equal(spool_read_env(&f->sp, id, &b, &e), 0);
	assert_memory_equal(buf_ptr(&b), "OLD\n", 4);
	buf_release(&b);
	spool_discard(&f->sp, id);
	assert_int_equal(count(f, "tmp"), 0);
	/* sync of a message whose files are gone fails */
	assert_int_equal(spool_sync_files(&f->sp, id, &e), -1);
}

static void
test_create_body(void **state)
{
	struct fixture	*f = *state;
	char		 id[SPOOL_ID_LEN + 1], name[64], path[256], c;
	uint64_t	 size = 99;
	struct err	 e;
	struct stat	 st;
	int		 fd;

	assert_int_equal(spool_create_body(&f->sp, id, O_WRONLY, &fd, &e), 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(spool_tmp_body_size(&f->sp, id, &size, &e), 0);
	assert_true(size == 0);
	assert_int_equal(write(fd, "hello", 5), 5);
	assert_int_equal(read(fd, &c, 1), -1);	/* write-only */
	assert_int_equal(errno, EBADF);
	close(fd);
	assert_int_equal(spool_tmp_body_size(&f->sp, id, &size, &e), 0);
	assert_true(size == 5);
	spool_discard(&f->sp, id);
	assert_int_equal(spool_tmp_body_size(&f->sp, id, &size, &e), -1);
	assert_int_equal(e.code, ENOENT);
	/* only O_RDWR and O_WRONLY */
	assert_int_equal(spool_create_body(&f->sp, id, O_RDONLY, &fd, &e), -1);
	assert_int_equal(spool_create_body(&f->sp, id, O_WRONLY | O_APPEND,
	    &fd, &e), -1);
	assert_int_equal(count(f, "tmp"), 0);
	/* something else than a file under the name */
	(void)snprintf(name, sizeof(name), "%s.body", id);
	(void)snprintf(path, sizeof(path), "%s/tmp/%s", f->dir, name);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(spool_tmp_body_size(&f->sp, id, &size, &e), -1);
	assert_int_equal(rmdir(path), 0);
	assert_int_equal(symlink("/etc/passwd", path), 0);
	assert_int_equal(spool_tmp_body_size(&f->sp, id, &size, &e), -1);
	assert_int_equal(unlink(path), 0);
}

static void
test_syncfs(void **state)
{
	struct fixture	*f = *state;
	struct err	 e;
	int		 a, b;

	assert_true((a = spool_sync_fd(&f->sp, &e)) >= 0);
	assert_true((b = spool_sync_fd(&f->sp, &e)) >= 0);
	assert_int_not_equal(a, b);
	assert_int_equal(spool_syncfs(a, &e), 0);
	assert_int_equal(spool_syncfs(b, &e), 0);
	assert_true(fcntl(a, F_GETFD) & FD_CLOEXEC);
	close(a);
	close(b);
	memset(&e, 0, sizeof(e));
	assert_int_equal(spool_syncfs(a, &e), -1);
	assert_int_equal(e.code, EBADF);
	assert_true(e.temp);
	assert_non_null(strstr(e.msg, "syncfs"));
}

/*
 * test_batch - a commit batch as the commit thread runs it, under the
 * fixture's sync_method: one message whose id is taken fails alone and
 * leaves nothing published, the others are accepted
 */
static void
test_batch(void **state)
{
	struct fixture	*f = *state;
	enum { N = 24, BAD = 7 };
	char		 ids[N][SPOOL_ID_LEN + 1], body[32], env[32];
	struct err	 e;
	int		 rc[N];
	size_t		 i;

	for (i = 0; i < N; i++) {
		(void)snprintf(body, sizeof(body), "body %zu\r\n", i);
		(void)snprintf(env, sizeof(env), "ENV %zu\n", i);
		new_message(f, ids[i], body, env);
	}
	put(f, "env", ids[BAD], "OLD\n");
	assert_int_equal(count(f, "tmp"), 2 * N);
	if (f->fs)
		assert_int_equal(spool_syncfs(f->sync_fd, &e), 0);
	else
		for (i = 0; i < N; i++)
			assert_int_equal(spool_sync_files(&f->sp, ids[i], &e),
			    0);
	for (i = 0; i < N; i++)
		rc[i] = spool_publish(&f->sp, ids[i], &e);
	if (f->fs)
		assert_int_equal(spool_syncfs(f->sync_fd, &e), 0);
	else
		assert_int_equal(spool_sync_dirs(&f->sp, &e), 0);
	for (i = 0; i < N; i++) {
		if (i == BAD) {
			assert_int_equal(rc[i], -1);
			assert_false(exists(f, "body", ids[i]));
			spool_discard(&f->sp, ids[i]);
			continue;
		}
		assert_int_equal(rc[i], 0);
		assert_true(exists(f, "body", ids[i]));
		assert_true(exists(f, "env", ids[i]));
	}
	assert_int_equal(count(f, "tmp"), 0);
	assert_int_equal(count(f, "env"), N);
	assert_int_equal(count(f, "body"), N - 1);
	/* the rollback after a failed sync: removed, body and all */
	assert_int_equal(spool_remove(&f->sp, ids[0], &e), 0);
	assert_false(exists(f, "env", ids[0]));
	assert_false(exists(f, "body", ids[0]));
}

/* test_update_steps - spool_write_update, then swap or drop */
static void
test_update_steps(void **state)
{
	struct fixture	*f = *state;
	char		 id[SPOOL_ID_LEN + 1], name[64];
	struct buf	 b;
	struct err	 e;

	new_message(f, id, "body", "ENV1\n");
	commit(f, id);
	(void)snprintf(name, sizeof(name), "%s.upd", id);
	buf_init(&b, 1 << 20);
	assert_int_equal(buf_addstr(&b, "ENV2\n"), 0);
	/* written, not yet in place */
	assert_int_equal(spool_write_update(&f->sp, id, &b, &e), 0);
	assert_true(exists(f, "tmp", name));
	buf_reset(&b);
	assert_int_equal(spool_read_env(&f->sp, id, &b, &e), 0);
	assert_memory_equal(buf_ptr(&b), "ENV1\n", 5);
	/* given up: gone from tmp/, its file kept for reuse */
	spool_drop_update(&f->sp, id);
	assert_int_equal(count(f, "tmp"), 0);
	assert_int_equal(count(f, "free"), 1);
	settle(f);
	assert_int_equal(spool_swap_update(&f->sp, id, &e), -1);
	buf_reset(&b);
	assert_int_equal(spool_read_env(&f->sp, id, &b, &e), 0);
	assert_memory_equal(buf_ptr(&b), "ENV1\n", 5);
	/* written, synced, swapped in; the old file goes to free/ */
	buf_reset(&b);
	assert_int_equal(buf_addstr(&b, "ENV3 longer\n"), 0);
	assert_int_equal(spool_write_update(&f->sp, id, &b, &e), 0);
	assert_int_equal(count(f, "free"), 0);
	assert_int_equal(spool_syncfs(f->sp.root_dfd, &e), 0);
	assert_int_equal(spool_swap_update(&f->sp, id, &e), 0);
	assert_int_equal(count(f, "tmp"), 0);
	assert_int_equal(count(f, "free"), 1);
	buf_reset(&b);
	assert_int_equal(spool_read_env(&f->sp, id, &b, &e), 0);
	assert_int_equal(buf_avail(&b), 12);
	assert_memory_equal(buf_ptr(&b), "ENV3 longer\n", 12);
	/* a message that is gone is never brought back */
	assert_int_equal(spool_write_update(&f->sp, id, &b, &e), 0);
	assert_int_equal(spool_remove(&f->sp, id, &e), 0);
	assert_int_equal(spool_swap_update(&f->sp, id, &e), -1);
	assert_false(exists(f, "env", id));
	assert_int_equal(count(f, "tmp"), 0);
	assert_int_equal(spool_write_update(&f->sp, id, &b, &e), -1);
	assert_int_equal(count(f, "tmp"), 0);
	buf_release(&b);
}

struct seen {
	char	ids[8][SPOOL_ID_LEN + 1];
	size_t	n;
};

static void
seen_cb(const char *id, void *arg)
{
	struct seen	*s = arg;

	assert_true(s->n < 8);
	(void)snprintf(s->ids[s->n++], SPOOL_ID_LEN + 1, "%s", id);
}

static void
test_recover(void **state)
{
	struct fixture	*f = *state;
	char		 kept[SPOOL_ID_LEN + 1], open_id[SPOOL_ID_LEN + 1];
	char		 name[64];
	const char	*orphan = "00000000000000aaaaaa";
	struct seen	 s;
	struct err	 e;
	int		 fd;

	new_message(f, kept, "body", "ENV\n");
	commit(f, kept);
	/* an open transaction and some junk in tmp/ */
	assert_int_equal(spool_new_body(&f->sp, open_id, &fd, &e), 0);
	close(fd);
	put(f, "tmp", "junk", "x");
	(void)snprintf(name, sizeof(name), "%s.upd", kept);
	put(f, "tmp", name, "half an update");
	/* a body whose envelope never made it (crash mid-publish) */
	put(f, "body", orphan, "orphan");
	/* names that are not ids are left alone and not reported */
	put(f, "env", "README", "x");
	put(f, "body", "README", "x");

	memset(&s, 0, sizeof(s));
	assert_int_equal(spool_recover(&f->sp, seen_cb, &s, &e), 0);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.ids[0], kept);
	assert_int_equal(count(f, "tmp"), 0);
	assert_false(exists(f, "body", orphan));
	assert_true(exists(f, "body", kept));
	assert_true(exists(f, "env", kept));
	assert_true(exists(f, "env", "README"));
	assert_true(exists(f, "body", "README"));
	/* a second recovery (fresh directory streams) reports it again */
	memset(&s, 0, sizeof(s));
	assert_int_equal(spool_recover(&f->sp, seen_cb, &s, &e), 0);
	assert_int_equal(s.n, 1);
}

static void
test_update_remove(void **state)
{
	struct fixture	*f = *state;
	char		 id[SPOOL_ID_LEN + 1];
	struct buf	 b;
	struct err	 e;

	new_message(f, id, "body", "ENV1\n");
	commit(f, id);
	buf_init(&b, 1 << 20);
	assert_int_equal(update(f, id, "ENV2 longer\n", &e), 0);
	assert_int_equal(spool_read_env(&f->sp, id, &b, &e), 0);
	assert_int_equal(buf_avail(&b), 12);
	assert_memory_equal(buf_ptr(&b), "ENV2 longer\n", 12);
	assert_int_equal(count(f, "tmp"), 0);

	assert_int_equal(spool_remove(&f->sp, id, &e), 0);
	assert_false(exists(f, "env", id));
	assert_false(exists(f, "body", id));
	/* removing again is not an error; updating a removed one is */
	assert_int_equal(spool_remove(&f->sp, id, &e), 0);
	assert_int_equal(update(f, id, "ENV3\n", &e), -1);
	assert_false(exists(f, "env", id));
	assert_int_equal(count(f, "tmp"), 0);
	assert_int_equal(spool_open_body(&f->sp, id, &e), -1);
	assert_int_equal(e.code, ENOENT);
	assert_int_equal(spool_read_env(&f->sp, id, &b, &e), -1);
	buf_release(&b);
}

static void
test_quarantine(void **state)
{
	struct fixture	*f = *state;
	char		 id[SPOOL_ID_LEN + 1], name[64], path[256];
	struct seen	 s;
	struct err	 e;

	new_message(f, id, "body", "garbage\n");
	commit(f, id);
	assert_int_equal(spool_quarantine(&f->sp, id, &e), 0);
	assert_false(exists(f, "env", id));
	assert_false(exists(f, "body", id));
	assert_true(exists(f, "corrupt", id));
	(void)snprintf(name, sizeof(name), "%s.body", id);
	assert_true(exists(f, "corrupt", name));
	memset(&s, 0, sizeof(s));
	assert_int_equal(spool_recover(&f->sp, seen_cb, &s, &e), 0);
	assert_int_equal(s.n, 0);
	assert_int_equal(count(f, "corrupt"), 2);
	/* an envelope without body (a crash between the two moves) */
	new_message(f, id, "body", "garbage\n");
	commit(f, id);
	(void)snprintf(path, sizeof(path), "%s/body/%s", f->dir, id);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(spool_quarantine(&f->sp, id, &e), 0);
	assert_true(exists(f, "corrupt", id));
	assert_int_equal(count(f, "corrupt"), 3);
	/* nothing left to quarantine */
	assert_int_equal(spool_quarantine(&f->sp, id, &e), -1);
}

static void
test_recycle(void **state)
{
	struct fixture	*f = *state;
	char		 a[SPOOL_ID_LEN + 1], b[SPOOL_ID_LEN + 1], name[256];
	char		 c[SPOOL_ID_LEN + 1];
	struct spool	 again;
	struct seen	 s;
	struct stat	 st1, st2;
	struct buf	 buf;
	struct err	 e;
	size_t		 i;

	/* a removed envelope's file goes to free/ ... */
	new_message(f, a, "body a", "a long envelope text\n");
	commit(f, a);
	(void)snprintf(name, sizeof(name), "%s/env/%s", f->dir, a);
	assert_int_equal(stat(name, &st1), 0);
	assert_int_equal(spool_remove(&f->sp, a, &e), 0);
	assert_int_equal(count(f, "free"), 2);		/* envelope, body */
	assert_int_equal(count(f, "env"), 0);
	assert_int_equal(count(f, "body"), 0);
	/*
	 * not before a sync has made those renames durable: until then a
	 * crash could leave env/<a> naming the inode, rewritten meanwhile;
	 * nor after a sync that failed
	 */
	assert_int_equal(spool_syncfs_pool(&f->sp, -1, &e), -1);
	new_message(f, c, "body c", "env c\n");
	assert_int_equal(count(f, "free"), 2);
	(void)snprintf(name, sizeof(name), "%s/tmp/%s.env", f->dir, c);
	assert_int_equal(stat(name, &st2), 0);
	assert_true(st2.st_ino != st1.st_ino);		/* a new file */
	spool_discard(&f->sp, c);
	assert_int_equal(count(f, "free"), 4);
	/* ... after it, the next envelope written is one of them (the
	 * newest: c's), cut to length */
	settle(f);
	st1 = st2;
	new_message(f, b, "body b", "short\n");
	assert_int_equal(count(f, "free"), 2);
	commit(f, b);
	(void)snprintf(name, sizeof(name), "%s/env/%s", f->dir, b);
	assert_int_equal(stat(name, &st2), 0);
	assert_int_equal(st1.st_ino, st2.st_ino);
	assert_int_equal(st2.st_size, 6);
	buf_init(&buf, 1024);
	assert_int_equal(spool_read_env(&f->sp, b, &buf, &e), 0);
	assert_int_equal(buf_avail(&buf), 6);
	assert_memory_equal(buf_ptr(&buf), "short\n", 6);
	/* an update swaps in the new file and keeps the old one */
	assert_int_equal(update(f, b, "updated\n", &e), 0);
	assert_int_equal(count(f, "free"), 2);
	assert_int_equal(count(f, "tmp"), 0);
	buf_reset(&buf);
	assert_int_equal(spool_read_env(&f->sp, b, &buf, &e), 0);
	assert_memory_equal(buf_ptr(&buf), "updated\n", 8);
	buf_release(&buf);
	/* a discarded transaction's files are kept too */
	settle(f);
	new_message(f, c, "body c", "env c\n");
	assert_int_equal(count(f, "free"), 0);
	spool_discard(&f->sp, c);
	assert_int_equal(count(f, "tmp"), 0);
	assert_int_equal(count(f, "free"), 2);

	/* a restart takes stock of free/: junk goes, the rest is reused */
	put(f, "free", "junk", "x");
	(void)snprintf(name, sizeof(name), "%s/free/edir", f->dir);
	assert_int_equal(mkdir(name, 0700), 0);
	for (i = 0; i < 1100; i++) {
		(void)snprintf(name, sizeof(name), "e%04zu", i);
		put(f, "free", name, "old");
	}
	spool_close(&f->sp);
	assert_int_equal(spool_open(&again, f->dir, &e), 0);
	f->sp = again;
	memset(&s, 0, sizeof(s));
	assert_int_equal(spool_recover(&f->sp, seen_cb, &s, &e), 0);
	assert_int_equal(s.n, 1);
	/* at most 1,024 envelopes kept (and the empty body); the directory
	 * "edir" is not a file to reuse */
	assert_true(count(f, "free") <= 1026);
	assert_false(exists(f, "free", "junk"));
	new_message(f, c, "body", "fresh\n");
	buf_init(&buf, 1024);
	commit(f, c);
	assert_int_equal(spool_read_env(&f->sp, c, &buf, &e), 0);
	assert_int_equal(buf_avail(&buf), 6);
	buf_release(&buf);
	(void)snprintf(name, sizeof(name), "%s/free/edir", f->dir);
	(void)rmdir(name);
}

/* body_ino - the inode of body/<id> */
static ino_t
body_ino(struct fixture *f, const char *id)
{
	char		path[1024];
	struct stat	st;

	(void)snprintf(path, sizeof(path), "%s/body/%s", f->dir, id);
	assert_int_equal(stat(path, &st), 0);
	return st.st_ino;
}

static void
test_recycle_body(void **state)
{
	struct fixture	*f = *state;
	char		 a[SPOOL_ID_LEN + 1], b[SPOOL_ID_LEN + 1], path[1024];
	struct stat	 st;
	struct seen	 s;
	struct err	 e;
	ino_t		 ino;
	int		 fd, held, i;

	/* nobody else has it open: emptied, and it is the next body */
	new_message(f, a, "the first message's bytes\n", "env a\n");
	commit(f, a);
	ino = body_ino(f, a);
	assert_int_equal(spool_remove(&f->sp, a, &e), 0);
	assert_int_equal(count(f, "free"), 2);
	settle(f);
	assert_int_equal(spool_new_body(&f->sp, b, &fd, &e), 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_ino, ino);
	assert_int_equal(st.st_size, 0);		/* no old bytes */
	assert_int_equal(st.st_mode & 07777, 0600);
	close(fd);
	spool_discard(&f->sp, b);
	assert_int_equal(count(f, "free"), 2);

	/*
	 * another descriptor still open, for writing (a compromised smtp
	 * keeping it) or reading (a delivery still going): never reused,
	 * so it can never reach someone else's message
	 */
	for (i = 0; i < 2; i++) {
		new_message(f, a, "kept open\n", "env\n");
		commit(f, a);
		ino = body_ino(f, a);
		(void)snprintf(path, sizeof(path), "%s/body/%s", f->dir, a);
		held = i == 0 ? open(path, O_WRONLY | O_APPEND) :
		    spool_open_body(&f->sp, a, &e);
		assert_true(held >= 0);
		assert_int_equal(spool_remove(&f->sp, a, &e), 0);
		assert_int_equal(fstat(held, &st), 0);
		assert_int_equal(st.st_nlink, 0);	/* unlinked */
		assert_int_equal(count(f, "body"), 0);
		assert_int_equal(spool_new_body(&f->sp, b, &fd, &e), 0);
		assert_int_equal(fstat(fd, &st), 0);
		assert_true(st.st_ino != ino);
		if (i == 0)
			assert_int_equal(write(held, "x", 1), 1);
		assert_int_equal(fstat(fd, &st), 0);
		assert_int_equal(st.st_size, 0);
		close(held);
		close(fd);
		spool_discard(&f->sp, b);
	}

	/*
	 * a restart keeps empty bodies in free/, drops one with bytes, and
	 * drops any file there with a second name (a crash and fsck can
	 * leave a live envelope linked into free/ too)
	 */
	put(f, "free", "b00000000000000aa", "");
	put(f, "free", "b00000000000000bb", "a crash left bytes");
	new_message(f, a, "live", "live env\n");
	commit(f, a);
	(void)snprintf(path, sizeof(path), "%s/env/%s", f->dir, a);
	{
		char	lnk[1024];

		(void)snprintf(lnk, sizeof(lnk), "%s/free/e00000000000000cc",
		    f->dir);
		assert_int_equal(link(path, lnk), 0);
	}
	spool_close(&f->sp);
	assert_int_equal(spool_open(&f->sp, f->dir, &e), 0);
	memset(&s, 0, sizeof(s));
	assert_int_equal(spool_recover(&f->sp, seen_cb, &s, &e), 0);
	assert_int_equal(s.n, 1);
	assert_true(exists(f, "free", "b00000000000000aa"));
	assert_false(exists(f, "free", "b00000000000000bb"));
	assert_false(exists(f, "free", "e00000000000000cc"));
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_nlink, 1);
}

static void
test_bad_ids(void **state)
{
	struct fixture	*f = *state;
	static const char *bad[] = {
		"", "../../../etc/passwd", "0123456789abcdef012",
		"0123456789abcdef01234", "0123456789ABCDEF0123",
		"0123456789abcdef012/", "0123456789abcdefg123",
		"..", ".",
	};
	struct buf	 b;
	struct err	 e;
	uint64_t	 size;
	size_t		 i;

	buf_init(&b, 64);
	assert_int_equal(buf_addstr(&b, "x"), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(spool_write_env(&f->sp, bad[i], &b, &e), -1);
		assert_int_equal(spool_sync_files(&f->sp, bad[i], &e), -1);
		assert_int_equal(spool_publish(&f->sp, bad[i], &e), -1);
		assert_int_equal(spool_update_env(&f->sp, bad[i], &b, &e), -1);
		assert_int_equal(spool_remove(&f->sp, bad[i], &e), -1);
		assert_int_equal(spool_open_body(&f->sp, bad[i], &e), -1);
		assert_int_equal(spool_read_env(&f->sp, bad[i], &b, &e), -1);
		assert_int_equal(spool_quarantine(&f->sp, bad[i], &e), -1);
		assert_int_equal(spool_open_tmp_body(&f->sp, bad[i], O_RDONLY,
		    &e), -1);
		assert_int_equal(spool_tmp_body_size(&f->sp, bad[i], &size,
		    &e), -1);
		assert_int_equal(spool_write_update(&f->sp, bad[i], &b, &e),
		    -1);
		assert_int_equal(spool_swap_update(&f->sp, bad[i], &e), -1);
		spool_drop_update(&f->sp, bad[i]);
		spool_discard(&f->sp, bad[i]);
	}
	buf_release(&b);
	assert_int_equal(count(f, "tmp"), 0);
}

/* both sync methods for every test that publishes */
#define BOTH(fn)							\
	cmocka_unit_test_setup_teardown(fn, setup, teardown),		\
	cmocka_unit_test_setup_teardown(fn, setup_fs, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open_layout, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_new_body, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tmp_body_modes, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_create_body, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_syncfs, setup, teardown),
		BOTH(test_publish),
		BOTH(test_batch),
		BOTH(test_publish_never_replaces),
		BOTH(test_recover),
		BOTH(test_update_remove),
		cmocka_unit_test_setup_teardown(test_update_steps, setup,
		    teardown),
		BOTH(test_quarantine),
		BOTH(test_recycle),
		BOTH(test_recycle_body),
		cmocka_unit_test_setup_teardown(test_bad_ids, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
