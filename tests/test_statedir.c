/* test_statedir.c: virtform's own directories are refused when others
 * could change them (owner, mode, symlinks, parents), files are created
 * there without following planted names, and what a killed run left is
 * swept while resume points stay (docs/concepts.md, rule 7). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include "controller/core/statedir.h"
#include "drivers/driver.h"
#include "controller/core/util.h"
#include "harness/harness.h"

static void expect_refused(const char *dir, const char *needle)
{
	vf_error err = { 0 };
	assert_int_equal(vf_statedir_check(dir, "state directory", 0700, &err), -VF_E_IO);
	if (!strstr(err.message, needle))
		fail_msg("expected '%s' in: %s", needle, err.message);
	assert_non_null(strstr(err.message, dir));
	vf_error_clear(&err);
}

static void test_state_dir_owner_mode_and_symlinks(void **state)
{
	(void)state;
	_cleanup_free_ char *top = vf_test_tmpdir("statedir");
	_cleanup_free_ char *dir = vf_asprintf("%s/a/state", top);
	vf_error err = { 0 };

	/* missing: created 0700 whatever the umask */
	mode_t old = umask(0);
	assert_int_equal(vf_statedir_check(dir, "state directory", 0700, &err), 0);
	umask(old);
	struct stat st;
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	/* a second time: fine as it is */
	assert_int_equal(vf_statedir_check(dir, "state directory", 0700, &err), 0);

	/* group or other writable: refused, naming the mode and the fix */
	assert_int_equal(chmod(dir, 0770), 0);
	expect_refused(dir, "has mode 0770");
	expect_refused(dir, "chmod go-w");
	assert_int_equal(chmod(dir, 0702), 0);
	expect_refused(dir, "has mode 0702");
	assert_int_equal(chmod(dir, 0755), 0); /* readable is fine */
	assert_int_equal(vf_statedir_check(dir, "state directory", 0700, &err), 0);
	assert_int_equal(chmod(dir, 0700), 0);

	/* a symlink, even to a good directory: refused */
	_cleanup_free_ char *link = vf_asprintf("%s/link", top);
	assert_int_equal(symlink(dir, link), 0);
	expect_refused(link, "is a symbolic link");

	/* not a directory */
	_cleanup_free_ char *file = vf_asprintf("%s/file", top);
	vf_test_write_file(file, "x");
	expect_refused(file, "is not a directory");

	/* a parent others may write to (not sticky) */
	_cleanup_free_ char *parent = vf_asprintf("%s/a", top);
	assert_int_equal(chmod(parent, 0777), 0);
	expect_refused(dir, "a parent of the state directory");
	assert_int_equal(chmod(parent, 01777), 0); /* sticky, as /tmp: fine */
	assert_int_equal(vf_statedir_check(dir, "state directory", 0700, &err), 0);
	assert_int_equal(chmod(parent, 0755), 0);

	/* owned by someone else (needs root to arrange) */
	if (geteuid() == 0) {
		assert_int_equal(chown(dir, 65534, 65534), 0);
		expect_refused(dir, "not by root who runs virtform");
		expect_refused(dir, "chown root");
		assert_int_equal(chown(dir, 0, 0), 0);
	}

	/* create_mode 0: a missing dir is not created and not an error */
	_cleanup_free_ char *none = vf_asprintf("%s/none", top);
	assert_int_equal(vf_statedir_check(none, "state directory", 0, &err), 0);
	assert_int_equal(access(none, F_OK), -1);
	vf_test_rm_tree(top);
}

static void test_ensure_never_follows_or_replaces(void **state)
{
	(void)state;
	_cleanup_free_ char *top = vf_test_tmpdir("statedir");
	_cleanup_free_ char *lock = vf_asprintf("%s/lock", top);
	_cleanup_free_ char *victim = vf_asprintf("%s/victim", top);
	vf_error err = { 0 };
	assert_int_equal(vf_statefile_ensure(lock, &err), 0);
	struct stat st;
	assert_int_equal(lstat(lock, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(st.st_nlink, 1); /* the temp name is gone */
	assert_int_equal(vf_statefile_ensure(lock, &err), 0); /* exists: fine */

	unlink(lock);
	vf_test_write_file(victim, "theirs");
	assert_int_equal(symlink(victim, lock), 0);
	assert_int_equal(vf_statefile_ensure(lock, &err), -VF_E_IO);
	assert_non_null(strstr(err.message, "not a regular file"));
	vf_error_clear(&err);
	_cleanup_free_ char *still = vf_test_read_file(victim);
	assert_string_equal(still, "theirs");
	vf_test_rm_tree(top);
}

static void touch_at(const char *path, time_t when)
{
	vf_test_write_file(path, "x");
	struct timespec ts[2] = { { .tv_sec = when }, { .tv_sec = when } };
	assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
}

static void test_clean_sweeps_leftovers_and_keeps_resume_points(void **state)
{
	(void)state;
	_cleanup_free_ char *top = vf_test_tmpdir("statedir");
	_cleanup_free_ char *cache = vf_asprintf("%s/cache", top);
	assert_int_equal(mkdir(cache, 0700), 0);
	time_t now = time(NULL);
	struct {
		const char *name;
		time_t mtime;
		bool stays;
	} files[] = {
		{ "ledger.json", now - 100, true },
		{ "lock", now - 100, true },
		{ "ledger.json.tmp.999999999.0badc0de", now, false },     /* its pid is gone */
		{ "ledger.json.tmp.1.0badc0de", now - 100, false },       /* older than the run */
		{ "ledger.json.tmp.1.0badc0de.keep", now - 100, true },   /* not a temp name */
		{ ".seed-Ab12Cd", now - 100, false },
		{ ".seed-Ef34Gh", now + 100, true },                      /* this run's own */
		{ "cache/sha256-aa", now - 100, true },
		{ "cache/sha256-aa.part", now - 100, false },             /* entry complete */
		{ "cache/sha256-bb.part", now - 100, true },              /* resumes next time */
		{ "cache/sha256-bb.unpack", now - 100, false },           /* rebuilt from the part */
		{ "cache/sha256-cc.tmp.999999999.00000001", now, false },
	};
	for (size_t i = 0; i < VF_ARRAY_SIZE(files); i++) {
		_cleanup_free_ char *p = vf_asprintf("%s/%s", top, files[i].name);
		touch_at(p, files[i].mtime);
	}
	/* this process's own temp file, newer than the run: in use */
	_cleanup_free_ char *mine = vf_asprintf("%s/ledger.json.tmp.%ld.12345678", top, (long)getpid());
	touch_at(mine, now + 100);

	assert_int_equal(vf_statedir_clean(top, now - 10), 6);
	for (size_t i = 0; i < VF_ARRAY_SIZE(files); i++) {
		_cleanup_free_ char *p = vf_asprintf("%s/%s", top, files[i].name);
		if ((access(p, F_OK) == 0) != files[i].stays)
			fail_msg("%s: expected it to be %s", files[i].name, files[i].stays ? "kept" : "removed");
	}
	assert_int_equal(access(mine, F_OK), 0);
	vf_test_rm_tree(top);
}

/* The image cache's files are never opened through a planted symlink:
 * the decompressed ".unpack" (old code: O_CREAT|O_TRUNC, following it and
 * overwriting the victim) is created new with O_EXCL|O_NOFOLLOW. */
static void test_cache_files_never_follow_planted_symlinks(void **state)
{
	(void)state;
	_cleanup_free_ char *top = vf_test_tmpdir("statedir");
	_cleanup_free_ char *cache = vf_asprintf("%s/cache", top);
	_cleanup_free_ char *image = vf_asprintf("%s/image.raw.gz", top);
	_cleanup_free_ char *victim = vf_asprintf("%s/victim", top);
	_cleanup_free_ char *url = vf_asprintf("file://%s", image);
	assert_int_equal(mkdir(cache, 0700), 0);
	gzFile gz = gzopen(image, "wb");
	assert_non_null(gz);
	assert_int_equal(gzputs(gz, "the image's bytes\n"), 18);
	assert_int_equal(gzclose(gz), Z_OK);
	vf_test_write_file(victim, "theirs");

	_cleanup_free_ char *name = vf_fetch_cache_name(url, VF_CHECKSUM_NONE, NULL);
	_cleanup_free_ char *unpack = vf_asprintf("%s/%s.unpack", cache, name);
	assert_int_equal(symlink(victim, unpack), 0);
	vf_error err = { 0 };
	_cleanup_free_ char *got = NULL;
	assert_int_equal(vf_curl_fetch_driver.fetch_to_cache(url, VF_CHECKSUM_NONE, NULL, cache, NULL,
							     &got, &err), 0);
	_cleanup_free_ char *still = vf_test_read_file(victim);
	assert_string_equal(still, "theirs");
	_cleanup_free_ char *content = vf_test_read_file(got);
	assert_string_equal(content, "the image's bytes\n");
	struct stat st;
	assert_int_equal(lstat(got, &st), 0);
	assert_true(S_ISREG(st.st_mode));

	vf_test_rm_tree(top);
}

static void expect_dirs(bool privileged, const char *state, const char *runtime)
{
	_cleanup_free_ char *s = vf_statedir_default(privileged);
	_cleanup_free_ char *r = vf_runtimedir_default(privileged);
	assert_string_equal(s, state);
	assert_string_equal(r, runtime);
}

/* issue 20, point 4: a user other than root gets directories of their own
 * (XDG base directories, libvirt's session daemon's fallbacks), never
 * /var/lib/virtform, which they cannot create and whose ledger is root's. */
static void test_defaults_are_per_user_unless_root(void **state)
{
	(void)state;
	static const char *const names[] = { "HOME", "XDG_STATE_HOME", "XDG_RUNTIME_DIR",
					     "XDG_CACHE_HOME", NULL };
	char **saved = vf_test_env_save(names);

	vf_test_setenv("HOME", "/home/ann");
	vf_test_setenv("XDG_STATE_HOME", NULL);
	vf_test_setenv("XDG_RUNTIME_DIR", NULL);
	vf_test_setenv("XDG_CACHE_HOME", NULL);
	/* root: the system's, whatever the environment says */
	expect_dirs(true, "/var/lib/virtform", "/run/virtform");
	/* nothing set: ~/.local/state, and ~/.cache as libvirt without a runtime dir */
	expect_dirs(false, "/home/ann/.local/state/virtform", "/home/ann/.cache/virtform");
	vf_test_setenv("HOME", "/home/ann/");
	expect_dirs(false, "/home/ann/.local/state/virtform", "/home/ann/.cache/virtform");

	vf_test_setenv("XDG_STATE_HOME", "/srv/ann/state");
	vf_test_setenv("XDG_RUNTIME_DIR", "/run/user/1000");
	vf_test_setenv("XDG_CACHE_HOME", "/srv/ann/cache");
	expect_dirs(false, "/srv/ann/state/virtform", "/run/user/1000/virtform");
	expect_dirs(true, "/var/lib/virtform", "/run/virtform");
	vf_test_setenv("XDG_RUNTIME_DIR", NULL);
	expect_dirs(false, "/srv/ann/state/virtform", "/srv/ann/cache/virtform");

	/* relative values are ignored (the XDG spec), empty ones too */
	vf_test_setenv("XDG_STATE_HOME", "state");
	vf_test_setenv("XDG_RUNTIME_DIR", "");
	vf_test_setenv("XDG_CACHE_HOME", "cache");
	expect_dirs(false, "/home/ann/.local/state/virtform", "/home/ann/.cache/virtform");

	/* no usable $HOME: the passwd entry's home */
	vf_test_setenv("HOME", NULL);
	struct passwd *pw = getpwuid(geteuid());
	assert_non_null(pw);
	_cleanup_free_ char *s = vf_statedir_default(false);
	_cleanup_free_ char *want = vf_asprintf("%s/.local/state/virtform",
						strcmp(pw->pw_dir, "/") == 0 ? "" : pw->pw_dir);
	assert_string_equal(s, want);

	vf_test_env_restore(names, saved);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_state_dir_owner_mode_and_symlinks),
		cmocka_unit_test(test_ensure_never_follows_or_replaces),
		cmocka_unit_test(test_clean_sweeps_leftovers_and_keeps_resume_points),
		cmocka_unit_test(test_cache_files_never_follow_planted_symlinks),
		cmocka_unit_test(test_defaults_are_per_user_unless_root),
	};
	return cmocka_run_group_tests_name("statedir", tests, NULL, NULL);
}
