/* test_lock.c: the local lock driver as a user meets it: a second apply is
 * refused naming the first, a crashed holder blocks nobody, metadata locks
 * back off 1, 2, 4 ... 1000 ms until the deadline and name who held the
 * file, and a virtlockd-style lease shows up with its holder. Real locks
 * are held by forked children; the backoff runs on a fake clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "drivers/driver.h"
#include "drivers/lock/syscalls.h"
#include "harness/harness.h"

static const vf_lock_driver *drv = &vf_fcntl_lock_driver;

/* ---- helpers -------------------------------------------------------------- */

static char *make_file(const char *dir, const char *name)
{
	char *p = vf_asprintf("%s/%s", dir, name);
	int fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "disk", 4), 4);
	close(fd);
	return p;
}

static bool contains(const char *hay, const char *needle)
{
	return hay && strstr(hay, needle);
}

/* A child that takes a raw fcntl lock (as libvirt or virtlockd would),
 * reports "ready" on a pipe, and holds it until told to go (or for
 * hold_ms when that is non-zero). */
typedef struct holder_child {
	pid_t pid;
	int go;                   /* write end: a byte releases the child */
} holder_child;

static holder_child spawn_raw_holder(const char *path, off_t byte, short type, unsigned hold_ms)
{
	int ready[2], go[2];
	assert_int_equal(pipe(ready), 0);
	assert_int_equal(pipe(go), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(ready[0]);
		close(go[1]);
		int fd = open(path, type == F_RDLCK ? O_RDONLY : O_RDWR);
		struct flock fl = { .l_type = type, .l_whence = SEEK_SET, .l_start = byte, .l_len = 1 };
		char ok = (fd >= 0 && fcntl(fd, F_SETLK, &fl) == 0) ? 'y' : 'n';
		if (write(ready[1], &ok, 1) != 1)
			_exit(3);
		if (hold_ms) {
			usleep(hold_ms * 1000u);
			_exit(0);
		}
		char c;
		if (read(go[0], &c, 1) < 0)
			_exit(4);
		_exit(0);
	}
	close(ready[1]);
	close(go[0]);
	char ok = 0;
	assert_int_equal(read(ready[0], &ok, 1), 1);
	close(ready[0]);
	assert_int_equal(ok, 'y');
	return (holder_child){ .pid = pid, .go = go[1] };
}

static void reap(holder_child *c, bool kill_it)
{
	if (kill_it)
		kill(c->pid, SIGKILL);
	else if (write(c->go, "x", 1) != 1)
		fail_msg("cannot release child");
	close(c->go);
	int status = 0;
	assert_int_equal(waitpid(c->pid, &status, 0), c->pid);
	if (!kill_it)
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* ---- fake syscalls -------------------------------------------------------- */

static uint64_t fake_now_ms;
static unsigned sleeps[64];
static size_t n_sleeps;
static int setlk_calls;
static int setlk_fail_times;      /* fail this many F_SETLK calls... */
static int setlk_errno;           /* ...with this errno; -1: always */
static char *opened[8];
static size_t n_opened;

static int fake_clock(clockid_t clk, struct timespec *ts)
{
	assert_int_equal(clk, CLOCK_MONOTONIC);
	ts->tv_sec = (time_t)(fake_now_ms / 1000);
	ts->tv_nsec = (long)(fake_now_ms % 1000) * 1000000L;
	return 0;
}

static int fake_nanosleep(const struct timespec *req, struct timespec *rem)
{
	(void)rem;
	unsigned ms = (unsigned)(req->tv_sec * 1000 + req->tv_nsec / 1000000L);
	assert_true(n_sleeps < VF_ARRAY_SIZE(sleeps));
	sleeps[n_sleeps++] = ms;
	fake_now_ms += ms;
	return 0;
}

static int fake_fcntl(int fd, int cmd, struct flock *fl)
{
	if ((cmd == F_SETLK || cmd == F_OFD_SETLK) && fl->l_type != F_UNLCK) {
		setlk_calls++;
		if (setlk_fail_times < 0 || setlk_calls <= setlk_fail_times) {
			errno = setlk_errno;
			return -1;
		}
	}
	return fcntl(fd, cmd, fl);
}

static int recording_open(const char *path, int flags, mode_t mode)
{
	if (n_opened < VF_ARRAY_SIZE(opened))
		opened[n_opened++] = vf_strdup(path);
	return open(path, flags, mode);
}

/* A file system mounted read-only, for one open(2) for writing. */
static int erofs_open(const char *path, int flags, mode_t mode)
{
	if ((flags & O_ACCMODE) != O_RDONLY) {
		errno = EROFS;
		return -1;
	}
	return open(path, flags, mode);
}

static int setup_fakes(void **state)
{
	(void)state;
	fake_now_ms = 5000;
	n_sleeps = 0;
	setlk_calls = 0;
	setlk_fail_times = 0;
	setlk_errno = 0;
	n_opened = 0;
	vf_lock_sys.clock_gettime = fake_clock;
	vf_lock_sys.nanosleep = fake_nanosleep;
	vf_lock_sys.fcntl = fake_fcntl;
	return 0;
}

static int teardown_fakes(void **state)
{
	(void)state;
	vf_lock_sys_reset();
	for (size_t i = 0; i < n_opened; i++)
		free(opened[i]);
	n_opened = 0;
	return 0;
}

/* ---- backoff on the fake clock -------------------------------------------- */

static void test_backoff_schedule_until_deadline(void **state)
{
	(void)state;
	_cleanup_free_ char *dir = vf_test_tmpdir("lock");
	_cleanup_free_ char *file = make_file(dir, "disk.img");
	setlk_fail_times = -1;
	setlk_errno = EAGAIN;
	vf_lock_token *tok = NULL;
	vf_error err = { 0 };
	assert_int_equal(drv->lock(VF_LOCK_METADATA, file, 3000, &tok, NULL, &err), -VF_E_TIMEOUT);
	assert_null(tok);
	static const unsigned want[] = { 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1000, 977 };
	assert_int_equal(n_sleeps, VF_ARRAY_SIZE(want));
	unsigned total = 0;
	for (size_t i = 0; i < n_sleeps; i++) {
		assert_int_equal(sleeps[i], want[i]);
		total += sleeps[i];
	}
	assert_int_equal(total, 3000);    /* never past the deadline */
	assert_int_equal(setlk_calls, (int)VF_ARRAY_SIZE(want) + 1);
	assert_true(contains(err.message, file));
	assert_true(contains(err.message, "after waiting 3 s"));
	vf_error_clear(&err);
	vf_test_rm_tree(dir);
}

static void test_busy_then_free_retries(void **state)
{
	(void)state;
	_cleanup_free_ char *dir = vf_test_tmpdir("lock");
	_cleanup_free_ char *file = make_file(dir, "disk.img");
	setlk_fail_times = 3;
	setlk_errno = EACCES;   /* some systems say EACCES for "busy" */
	vf_lock_token *tok = NULL;
	vf_error err = { 0 };
	assert_int_equal(drv->lock(VF_LOCK_METADATA, file, 60000, &tok, NULL, &err), 0);
	assert_non_null(tok);
	assert_int_equal(n_sleeps, 3);
	assert_int_equal(sleeps[0], 1);
	assert_int_equal(sleeps[1], 2);
	assert_int_equal(sleeps[2], 4);
	assert_int_equal(setlk_calls, 4);
	assert_true(vf_fcntl_lock_fd(tok) >= 0);
	drv->unlock(tok);
	vf_test_rm_tree(dir);
}

static void test_other_errors_fail_at_once(void **state)
{
	(void)state;
	_cleanup_free_ char *dir = vf_test_tmpdir("lock");
	_cleanup_free_ char *file = make_file(dir, "disk.img");
	setlk_fail_times = -1;
	setlk_errno = EIO;
	vf_lock_token *tok = NULL;
	vf_error err = { 0 };
	assert_int_equal(drv->lock(VF_LOCK_METADATA, file, 60000, &tok, NULL, &err), -VF_E_IO);
	assert_null(tok);
	assert_int_equal(setlk_calls, 1);
	assert_int_equal(n_sleeps, 0);
	assert_true(contains(err.message, file));
	assert_true(contains(err.message, strerror(EIO)));
	vf_error_clear(&err);

	/* A path under a regular file is not "busy" either. */
	_cleanup_free_ char *bad = vf_asprintf("%s/x", file);
	setlk_calls = 0;
	assert_int_equal(drv->lock(VF_LOCK_METADATA, bad, 60000, &tok, NULL, &err), -VF_E_IO);
	assert_int_equal(n_sleeps, 0);
	assert_true(contains(err.message, strerror(ENOTDIR)));
	vf_error_clear(&err);
	vf_test_rm_tree(dir);
}

/* As in libvirt's security manager: a missing file, a directory and a file
 * on a read-only file system have nothing to lock; no token, no error. */
static void test_nothing_to_lock(void **state)
{
	(void)state;
	_cleanup_free_ char *dir = vf_test_tmpdir("lock");
	_cleanup_free_ char *missing = vf_asprintf("%s/nope.img", dir);
	vf_lock_token *tok = (vf_lock_token *)1;
	vf_error err = { 0 };
	assert_int_equal(drv->lock(VF_LOCK_METADATA, missing, 60000, &tok, NULL, &err), 0);
	assert_null(tok);
	tok = (vf_lock_token *)1;
	assert_int_equal(drv->lock(VF_LOCK_METADATA, dir, 60000, &tok, NULL, &err), 0);
	assert_null(tok);
	_cleanup_free_ char *file = make_file(dir, "ro.img");
	vf_lock_sys.open = erofs_open;
	tok = (vf_lock_token *)1;
	assert_int_equal(drv->lock(VF_LOCK_METADATA, file, 60000, &tok, NULL, &err), 0);
	assert_null(tok);
	assert_int_equal(setlk_calls, 0);
	assert_int_equal(n_sleeps, 0);
	drv->unlock(tok);
	/* The reconcile lock still needs its directory. */
	_cleanup_free_ char *sub = vf_asprintf("%s/state", dir);
	vf_lock_sys.open = recording_open;
	assert_int_equal(drv->lock(VF_LOCK_RECONCILE, sub, 0, &tok, NULL, &err), 0);
	assert_non_null(tok);
	drv->unlock(tok);
	vf_test_rm_tree(dir);
}

static void test_wait_zero_fails_without_sleeping(void **state)
{
	(void)state;
	_cleanup_free_ char *dir = vf_test_tmpdir("lock");
	setlk_fail_times = -1;
	setlk_errno = EAGAIN;
	vf_lock_token *tok = NULL;
	vf_error err = { 0 };
	assert_int_equal(drv->lock(VF_LOCK_RECONCILE, dir, 0, &tok, NULL, &err), -VF_E_LOCKED);
	assert_int_equal(n_sleeps, 0);
	assert_int_equal(setlk_calls, 1);
	assert_true(contains(err.message, dir));
	vf_error_clear(&err);
	vf_test_rm_tree(dir);
}

/* ---- many files ------------------------------------------------------------ */

static void test_many_locks_in_sorted_order(void **state)
{
	(void)state;
	_cleanup_free_ char *dir = vf_test_tmpdir("lock");
	_cleanup_free_ char *a = make_file(dir, "a.img");
	_cleanup_free_ char *b = make_file(dir, "b.img");
	_cleanup_free_ char *c = make_file(dir, "c.img");
	const char *paths[] = { c, a, b, a };
	vf_lock_sys.open = recording_open;
	vf_lock_token **toks = NULL;
	vf_error err = { 0 };
	assert_int_equal(vf_lock_metadata_many(drv, paths, 4, 1000, &toks, &err), 0);
	/* Opened in path order, each once, whatever order the caller gave. */
	assert_int_equal(n_opened, 3);
	assert_string_equal(opened[0], a);
	assert_string_equal(opened[1], b);
	assert_string_equal(opened[2], c);
	/* Tokens line up with the caller's array; the repeat gets none. */
	assert_non_null(toks[0]);
	assert_non_null(toks[1]);
	assert_non_null(toks[2]);
	assert_null(toks[3]);
	vf_lock_holder h = { 0 };
	assert_int_equal(drv->query(VF_LOCK_METADATA, c, &h, &err), 0);
	assert_true(h.held);
	assert_int_equal(h.pid, getpid());
	vf_lock_holder_clear(&h);
	vf_lock_release_many(drv, toks, 4);
	assert_int_equal(drv->query(VF_LOCK_METADATA, c, &h, &err), 0);
	assert_false(h.held);
	assert_int_equal(h.pid, 0);
	vf_test_rm_tree(dir);
}

static void test_many_releases_what_it_took_on_failure(void **state)
{
	(void)state;
	_cleanup_free_ char *dir = vf_test_tmpdir("lock");
	_cleanup_free_ char *a = make_file(dir, "a.img");
	_cleanup_free_ char *b = make_file(dir, "b.img");
	_cleanup_free_ char *z = vf_asprintf("%s/z", b); /* ENOTDIR; sorts last */
	const char *paths[] = { z, b, a };
	vf_lock_token **toks = NULL;
	vf_error err = { 0 };
	assert_int_equal(vf_lock_metadata_many(drv, paths, 3, 1000, &toks, &err), -VF_E_IO);
	assert_null(toks);
	assert_true(contains(err.message, z));
	vf_error_clear(&err);
	/* a and b were taken first, then given back: another process can
	 * take them at once. */
	holder_child ca = spawn_raw_holder(a, VF_LOCK_METADATA_BYTE, F_WRLCK, 0);
	holder_child cb = spawn_raw_holder(b, VF_LOCK_METADATA_BYTE, F_WRLCK, 0);
	reap(&ca, false);
	reap(&cb, false);
	vf_test_rm_tree(dir);
}

/* ---- the reconcile lock ------------------------------------------------------ */

/* In a child: try the reconcile lock on dir with wait 0, send back
 * "<code> <holder pid>\n<message>" on a pipe. */
static char *child_try_reconcile(const char *dir, unsigned wait_ms)
{
	int p[2];
	assert_int_equal(pipe(p), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		vf_lock_token *tok = NULL;
		vf_lock_holder h = { 0 };
		vf_error err = { 0 };
		int r = drv->lock(VF_LOCK_RECONCILE, dir, wait_ms, &tok, &h, &err);
		char *out = vf_asprintf("%d %ld\n%s", -r, (long)h.pid, err.message ? err.message : "");
		ssize_t w = write(p[1], out, strlen(out));
		free(out);
		vf_lock_holder_clear(&h);
		vf_error_clear(&err);
		drv->unlock(tok);
		_exit(w > 0 ? 0 : 1);
	}
	close(p[1]);
	vf_buf b = { 0 };
	char buf[512];
	ssize_t n;
	while ((n = read(p[0], buf, sizeof(buf))) > 0)
		vf_buf_addn(&b, buf, (size_t)n);
	close(p[0]);
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	return vf_buf_steal(&b);
}

static void test_reconcile_second_apply_is_refused_naming_holder(void **state)
{
	(void)state;
	_cleanup_free_ char *top = vf_test_tmpdir("lock");
	_cleanup_free_ char *dir = vf_asprintf("%s/state/virtform", top);   /* created */
	vf_lock_token *tok = NULL;
	vf_error err = { 0 };
	assert_int_equal(drv->lock(VF_LOCK_RECONCILE, dir, 0, &tok, NULL, &err), 0);
	struct stat st;
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);

	_cleanup_free_ char *got = child_try_reconcile(dir, 0);
	_cleanup_free_ char *head = vf_asprintf("%d %ld\n", VF_E_LOCKED, (long)getpid());
	if (strncmp(got, head, strlen(head)) != 0)
		fail_msg("child saw: %s (want %s)", got, head);
	_cleanup_free_ char *want = vf_asprintf("state directory %s is locked by pid %ld (", dir,
						(long)getpid());
	assert_true(contains(got, want));
	assert_true(contains(got, "test_lock"));   /* the holder's command line */
	assert_true(contains(got, ") since 20"));  /* ISO 8601 start time */
	assert_true(contains(got, "Z"));

	/* Waiting a bounded time ends in a timeout that says how long. */
	_cleanup_free_ char *late = child_try_reconcile(dir, 30);
	_cleanup_free_ char *thead = vf_asprintf("%d %ld\n", VF_E_TIMEOUT, (long)getpid());
	assert_true(strncmp(late, thead, strlen(thead)) == 0);
	assert_true(contains(late, "after waiting 30 ms"));

	/* The same process taking it twice is refused too. */
	vf_lock_token *again = NULL;
	vf_lock_holder h = { 0 };
	assert_int_equal(drv->lock(VF_LOCK_RECONCILE, dir, 0, &again, &h, &err), -VF_E_LOCKED);
	assert_int_equal(h.pid, getpid());
	vf_lock_holder_clear(&h);
	vf_error_clear(&err);

	drv->unlock(tok);
	_cleanup_free_ char *after = child_try_reconcile(dir, 0);
	assert_true(strncmp(after, "0 0\n", 4) == 0);
	vf_test_rm_tree(top);
}

static void test_reconcile_crashed_holder_blocks_nobody(void **state)
{
	(void)state;
	_cleanup_free_ char *dir = vf_test_tmpdir("lock");
	int ready[2];
	assert_int_equal(pipe(ready), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(ready[0]);
		vf_lock_token *tok = NULL;
		char ok = drv->lock(VF_LOCK_RECONCILE, dir, 0, &tok, NULL, NULL) == 0 ? 'y' : 'n';
		if (write(ready[1], &ok, 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(ready[1]);
	char ok = 0;
	assert_int_equal(read(ready[0], &ok, 1), 1);
	close(ready[0]);
	assert_int_equal(ok, 'y');

	vf_lock_holder h = { 0 };
	vf_error err = { 0 };
	assert_int_equal(drv->query(VF_LOCK_RECONCILE, dir, &h, &err), 0);
	assert_true(h.held);
	assert_int_equal(h.pid, pid);
	assert_non_null(h.since);
	vf_lock_holder_clear(&h);

	kill(pid, SIGKILL);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);

	/* The dead holder's identity is still in the file, but the kernel
	 * released its lock: nobody is named and the lock is free. */
	assert_int_equal(drv->query(VF_LOCK_RECONCILE, dir, &h, &err), 0);
	assert_false(h.held);
	assert_int_equal(h.pid, 0);
	vf_lock_token *tok = NULL;
	assert_int_equal(drv->lock(VF_LOCK_RECONCILE, dir, 0, &tok, NULL, &err), 0);
	drv->unlock(tok);
	vf_test_rm_tree(dir);
}

/* ---- the metadata lock -------------------------------------------------------- */

static void test_metadata_times_out_naming_holder(void **state)
{
	(void)state;
	_cleanup_free_ char *dir = vf_test_tmpdir("lock");
	_cleanup_free_ char *file = make_file(dir, "web.qcow2");
	holder_child c = spawn_raw_holder(file, VF_LOCK_METADATA_BYTE, F_WRLCK, 0);
	vf_lock_token *tok = NULL;
	vf_lock_holder h = { 0 };
	vf_error err = { 0 };
	assert_int_equal(drv->lock(VF_LOCK_METADATA, file, 50, &tok, &h, &err), -VF_E_TIMEOUT);
	assert_null(tok);
	assert_true(h.held);
	assert_int_equal(h.pid, c.pid);
	assert_true(contains(h.command, "test_lock"));
	_cleanup_free_ char *who = vf_asprintf("held by pid %ld (", (long)c.pid);
	assert_true(contains(err.message, file));
	assert_true(contains(err.message, who));
	assert_true(contains(err.message, "after waiting 50 ms"));
	vf_lock_holder_clear(&h);
	vf_error_clear(&err);

	/* Byte 0 (a content lease) does not stand in the way of byte 1. */
	reap(&c, false);
	holder_child lease = spawn_raw_holder(file, VF_LOCK_LEASE_BYTE, F_WRLCK, 0);
	assert_int_equal(drv->lock(VF_LOCK_METADATA, file, 0, &tok, NULL, &err), 0);
	drv->unlock(tok);
	reap(&lease, false);
	vf_test_rm_tree(dir);
}

static void test_metadata_succeeds_when_holder_lets_go(void **state)
{
	(void)state;
	_cleanup_free_ char *dir = vf_test_tmpdir("lock");
	_cleanup_free_ char *file = make_file(dir, "web.qcow2");
	holder_child c = spawn_raw_holder(file, VF_LOCK_METADATA_BYTE, F_WRLCK, 100);
	vf_lock_token *tok = NULL;
	vf_error err = { 0 };
	assert_int_equal(drv->lock(VF_LOCK_METADATA, file, 10000, &tok, NULL, &err), 0);
	assert_non_null(tok);
	int status;
	assert_int_equal(waitpid(c.pid, &status, 0), c.pid);
	close(c.go);
	/* Now we hold it: another process sees byte 1 taken by us. */
	int fd = open(file, O_RDWR);
	assert_true(fd >= 0);
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET,
			    .l_start = VF_LOCK_METADATA_BYTE, .l_len = 1 };
	assert_int_equal(fcntl(fd, F_OFD_GETLK, &fl), 0);
	assert_int_equal(fl.l_type, F_WRLCK);
	close(fd);   /* a close() here drops nothing: the OFD probe took no lock */
	drv->unlock(tok);
	vf_test_rm_tree(dir);
}

static void test_metadata_same_process_waits_and_keeps_lock(void **state)
{
	(void)state;
	_cleanup_free_ char *dir = vf_test_tmpdir("lock");
	_cleanup_free_ char *file = make_file(dir, "web.qcow2");
	vf_lock_token *first = NULL, *second = NULL;
	vf_error err = { 0 };
	assert_int_equal(drv->lock(VF_LOCK_METADATA, file, 0, &first, NULL, &err), 0);
	/* A second lock in this process is busy, not silently shared... */
	assert_int_equal(drv->lock(VF_LOCK_METADATA, file, 20, &second, NULL, &err), -VF_E_TIMEOUT);
	_cleanup_free_ char *who = vf_asprintf("pid %ld", (long)getpid());
	assert_true(contains(err.message, who));
	vf_error_clear(&err);
	/* ...and failing it did not drop the first (the POSIX close rule). */
	int fd = open(file, O_RDONLY);
	assert_true(fd >= 0);
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET,
			    .l_start = VF_LOCK_METADATA_BYTE, .l_len = 1 };
	assert_int_equal(fcntl(fd, F_OFD_GETLK, &fl), 0);
	assert_int_equal(fl.l_type, F_WRLCK);
	close(fd);
	drv->unlock(first);
	assert_int_equal(drv->lock(VF_LOCK_METADATA, file, 0, &second, NULL, &err), 0);
	drv->unlock(second);
	vf_test_rm_tree(dir);
}

/* ---- leases ----------------------------------------------------------------- */

static void test_lease_direct(void **state)
{
	(void)state;
	_cleanup_free_ char *dir = vf_test_tmpdir("lock");
	_cleanup_free_ char *file = make_file(dir, "web.qcow2");
	_cleanup_free_ char *conf = vf_asprintf("%s/no-such.conf", dir);
	vf_lease l = { 0 };
	vf_error err = { 0 };
	assert_int_equal(vf_lease_query(file, conf, &l, &err), 0);
	assert_false(l.held);
	assert_int_equal(l.pid, 0);

	holder_child c = spawn_raw_holder(file, VF_LOCK_LEASE_BYTE, F_WRLCK, 0);
	assert_int_equal(vf_lease_query(file, conf, &l, &err), 0);
	assert_true(l.held);
	assert_false(l.shared);
	assert_int_equal(l.pid, c.pid);
	assert_true(contains(l.command, "test_lock"));
	assert_string_equal(l.lockspace, "direct");
	assert_string_equal(l.lock_path, file);
	vf_lease_clear(&l);
	reap(&c, false);

	/* A shareable disk's lease is a shared lock. */
	holder_child s = spawn_raw_holder(file, VF_LOCK_LEASE_BYTE, F_RDLCK, 0);
	assert_int_equal(vf_lease_query(file, conf, &l, &err), 0);
	assert_true(l.held);
	assert_true(l.shared);
	vf_lease_clear(&l);
	reap(&s, true);
	assert_int_equal(vf_lease_query(file, conf, &l, &err), 0);
	assert_false(l.held);

	/* A metadata lock (byte 1) is not a lease. */
	holder_child m = spawn_raw_holder(file, VF_LOCK_METADATA_BYTE, F_WRLCK, 0);
	assert_int_equal(vf_lease_query(file, conf, &l, &err), 0);
	assert_false(l.held);
	reap(&m, false);

	/* A disk that does not exist yet has no lease. */
	_cleanup_free_ char *missing = vf_asprintf("%s/new.qcow2", dir);
	assert_int_equal(vf_lease_query(missing, conf, &l, &err), 0);
	assert_false(l.held);
	vf_test_rm_tree(dir);
}

static void test_lease_indirect_lockspace(void **state)
{
	(void)state;
	_cleanup_free_ char *dir = vf_test_tmpdir("lock");
	_cleanup_free_ char *space = vf_asprintf("%s/files", dir);
	assert_int_equal(mkdir(space, 0700), 0);
	_cleanup_free_ char *conf = vf_asprintf("%s/qemu-lockd.conf", dir);
	_cleanup_free_ char *text = vf_asprintf("# virtlockd settings\n"
						"#file_lockspace_dir = \"/nowhere\"\n"
						"auto_disk_leases = 1\n"
						"file_lockspace_dir = \"%s\"\n",
						space);
	vf_test_write_file(conf, text);
	/* The disk need not exist here: only its name is hashed.
	 * printf %s /var/lib/libvirt/images/web.qcow2 | sha256sum */
	const char *disk = "/var/lib/libvirt/images/web.qcow2";
	_cleanup_free_ char *leasefile = vf_asprintf(
		"%s/0116ebb808a3b2cf9e181831e9315cd14e6c939a9c6ee083bf58e71790728e5d", space);
	vf_lease l = { 0 };
	vf_error err = { 0 };
	assert_int_equal(vf_lease_query(disk, conf, &l, &err), 0);
	assert_false(l.held);

	{
		_cleanup_free_ char *lf = make_file(space,
			"0116ebb808a3b2cf9e181831e9315cd14e6c939a9c6ee083bf58e71790728e5d");
		assert_string_equal(lf, leasefile);
	}
	assert_int_equal(vf_lease_query(disk, conf, &l, &err), 0);
	assert_false(l.held);   /* the file alone is no lease */

	holder_child c = spawn_raw_holder(leasefile, VF_LOCK_LEASE_BYTE, F_WRLCK, 0);
	assert_int_equal(vf_lease_query(disk, conf, &l, &err), 0);
	assert_true(l.held);
	assert_int_equal(l.pid, c.pid);
	assert_string_equal(l.lockspace, space);
	assert_string_equal(l.lock_path, leasefile);
	vf_lease_clear(&l);

	/* With the key commented out only the direct lockspace applies. */
	vf_test_write_file(conf, "#file_lockspace_dir = \"/var/lib/libvirt/lockd/files\"\n");
	assert_int_equal(vf_lease_query(disk, conf, &l, &err), 0);
	assert_false(l.held);
	reap(&c, false);

	/* A conf that is not libvirt syntax is an error naming the line. */
	vf_test_write_file(conf, "\nfile_lockspace_dir = /unquoted\n");
	assert_int_equal(vf_lease_query(disk, conf, &l, &err), -VF_E_SYNTAX);
	_cleanup_free_ char *where = vf_asprintf("%s:2:", conf);
	assert_true(contains(err.message, where));
	vf_error_clear(&err);
	vf_test_rm_tree(dir);
}

/* issue 20, point 4: a user's own session daemon reads the user's
 * qemu-lockd.conf, as libvirt keeps a session daemon's configuration in
 * ~/.config/libvirt; root's qemu:///session and every other URI read
 * /etc/libvirt's. The indirect lockspace it names is then probed. */
static void test_lockd_conf_of_a_session_daemon(void **state)
{
	(void)state;
	static const char *const names[] = { "HOME", "XDG_CONFIG_HOME", NULL };
	char **saved = vf_test_env_save(names);
	vf_test_setenv("HOME", "/home/ann");
	vf_test_setenv("XDG_CONFIG_HOME", NULL);
	static const struct {
		const char *uri;
		bool privileged;
		const char *conf;
	} cases[] = {
		{ "qemu:///session", false, "/home/ann/.config/libvirt/qemu-lockd.conf" },
		{ "qemu+unix:///session?socket=/run/user/1000/libvirt/libvirt-sock", false,
		  "/home/ann/.config/libvirt/qemu-lockd.conf" },
		{ "qemu:///session", true, VF_LOCKD_CONF_DEFAULT },
		{ "qemu:///system", false, VF_LOCKD_CONF_DEFAULT },
		{ "qemu+ssh://ann@far/session", false, VF_LOCKD_CONF_DEFAULT },
		{ "qemu:///sessions", false, VF_LOCKD_CONF_DEFAULT },
		{ "test:///default", false, VF_LOCKD_CONF_DEFAULT },
		{ NULL, false, VF_LOCKD_CONF_DEFAULT },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		_cleanup_free_ char *conf = vf_lockd_conf_for(cases[i].uri, cases[i].privileged);
		if (strcmp(conf, cases[i].conf) != 0)
			fail_msg("%s (privileged %d): expected %s, got %s", cases[i].uri,
				 cases[i].privileged, cases[i].conf, conf);
	}

	/* $XDG_CONFIG_HOME moves it; the lockspace it names is what is probed */
	_cleanup_free_ char *dir = vf_test_tmpdir("lock");
	_cleanup_free_ char *libvirt = vf_asprintf("%s/libvirt", dir);
	_cleanup_free_ char *space = vf_asprintf("%s/files", dir);
	assert_int_equal(mkdir(libvirt, 0700), 0);
	assert_int_equal(mkdir(space, 0700), 0);
	vf_test_setenv("XDG_CONFIG_HOME", dir);
	_cleanup_free_ char *conf = vf_lockd_conf_for("qemu:///session", false);
	_cleanup_free_ char *want = vf_asprintf("%s/libvirt/qemu-lockd.conf", dir);
	assert_string_equal(conf, want);
	_cleanup_free_ char *text = vf_asprintf("file_lockspace_dir = \"%s\"\n", space);
	vf_test_write_file(conf, text);
	/* printf %s /var/lib/libvirt/images/web.qcow2 | sha256sum */
	_cleanup_free_ char *lf = make_file(space,
		"0116ebb808a3b2cf9e181831e9315cd14e6c939a9c6ee083bf58e71790728e5d");
	holder_child c = spawn_raw_holder(lf, VF_LOCK_LEASE_BYTE, F_WRLCK, 0);
	vf_lease l = { 0 };
	vf_error err = { 0 };
	assert_int_equal(vf_lease_query("/var/lib/libvirt/images/web.qcow2", conf, &l, &err), 0);
	assert_true(l.held);
	assert_string_equal(l.lockspace, space);
	vf_lease_clear(&l);
	reap(&c, false);
	vf_test_rm_tree(dir);
	vf_test_env_restore(names, saved);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_backoff_schedule_until_deadline, setup_fakes,
						teardown_fakes),
		cmocka_unit_test_setup_teardown(test_busy_then_free_retries, setup_fakes,
						teardown_fakes),
		cmocka_unit_test_setup_teardown(test_other_errors_fail_at_once, setup_fakes,
						teardown_fakes),
		cmocka_unit_test_setup_teardown(test_wait_zero_fails_without_sleeping, setup_fakes,
						teardown_fakes),
		cmocka_unit_test_setup_teardown(test_nothing_to_lock, setup_fakes, teardown_fakes),
		cmocka_unit_test_setup_teardown(test_many_locks_in_sorted_order, setup_fakes,
						teardown_fakes),
		cmocka_unit_test(test_many_releases_what_it_took_on_failure),
		cmocka_unit_test(test_reconcile_second_apply_is_refused_naming_holder),
		cmocka_unit_test(test_reconcile_crashed_holder_blocks_nobody),
		cmocka_unit_test(test_metadata_times_out_naming_holder),
		cmocka_unit_test(test_metadata_succeeds_when_holder_lets_go),
		cmocka_unit_test(test_metadata_same_process_waits_and_keeps_lock),
		cmocka_unit_test(test_lease_direct),
		cmocka_unit_test(test_lease_indirect_lockspace),
		cmocka_unit_test(test_lockd_conf_of_a_session_daemon),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
