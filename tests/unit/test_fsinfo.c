/*
 * test_fsinfo.c - src/lib/fsinfo.c: the filesystems known to honour
 * syncfs, those known not to, an unknown magic, and fsinfo_of on real
 * descriptors (/proc is never in the table; a bad descriptor fails).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/vfs.h>

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "fsinfo.h"

static void
test_table(void **state)
{
	static const struct {
		unsigned long	 magic;
		const char	*name;
		bool		 ok;
		bool		 vol;
	} cases[] = {
		{ 0xef53UL, "ext4", true, false },
		{ 0x58465342UL, "xfs", true, false },
		{ 0x9123683eUL, "btrfs", true, false },
		{ 0xf2f52010UL, "f2fs", true, false },
		{ 0x01021994UL, "tmpfs", true, true },
		{ 0x65735546UL, "fuse", false, false },
		{ 0x794c7630UL, "overlayfs", false, false },
		{ 0x6969UL, "nfs", false, false },
		{ 0x9fa0UL, "unknown", false, false },		/* proc */
		{ 0UL, "unknown", false, false },
		{ 0xffffffffUL, "unknown", false, false },
	};
	struct fsinfo	fi;
	size_t		i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&fi, 0xa5, sizeof(fi));
		fsinfo_lookup(cases[i].magic, &fi);
		assert_true(fi.magic == cases[i].magic);
		assert_string_equal(fi.name, cases[i].name);
		assert_int_equal(fi.syncfs_ok, cases[i].ok);
		assert_int_equal(fi.volatile_fs, cases[i].vol);
	}
}

static void
test_of(void **state)
{
	struct fsinfo	fi;
	struct statfs	sf;
	struct err	e;
	int		fd;

	(void)state;
	fd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(fsinfo_of(fd, &fi, &e), 0);
	assert_string_equal(fi.name, "unknown");
	assert_false(fi.syncfs_ok);
	close(fd);

	fd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(fstatfs(fd, &sf), 0);
	assert_int_equal(fsinfo_of(fd, &fi, &e), 0);
	assert_true(fi.magic == (unsigned long)(unsigned int)sf.f_type);
	close(fd);

	memset(&e, 0, sizeof(e));
	assert_int_equal(fsinfo_of(-1, &fi, &e), -1);
	assert_int_equal(e.code, EBADF);
	assert_true(e.temp);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_of),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
