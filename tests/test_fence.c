/* test_fence.c: the fence helper (build/virtform-fence) as a real process
 * guarding real processes (`sleep`, standing in for QEMU): killed at the
 * deadline and not before; renewals postpone it; a renewal that arrives
 * after the deadline undoes nothing; a pid reused by another process is
 * never killed (a real reuse, forced through ns_last_pid); a stopped or
 * dead feeder (virtform) still leads to the kill; and a simulated watchdog
 * (a FIFO read by this test) resets the host when the helper itself stops,
 * never before etcd's earliest expiry. Times are CLOCK_BOOTTIME ms. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "controller/core/util.h"
#include "drivers/fence/proc.h"
#include "harness/harness.h"

#define MARGIN 300u

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- a stand-in for QEMU ------------------------------------------------------ */

static uint64_t starttime(pid_t pid)
{
	uint64_t st = 0;
	assert_int_equal(vf_proc_starttime(pid, &st), 0);
	return st;
}

/* Still running (not reaped, not a zombie)? */
static bool alive(pid_t pid)
{
	int status;
	return waitpid(pid, &status, WNOHANG) == 0;
}

/* Reap pid within timeout_ms; its death time, and that it was SIGKILL. */
static uint64_t reaped_by(pid_t pid, unsigned timeout_ms)
{
	uint64_t t0 = now_ms();
	while (now_ms() - t0 < timeout_ms) {
		int status;
		if (waitpid(pid, &status, WNOHANG) == pid) {
			assert_true(WIFSIGNALED(status));
			assert_int_equal(WTERMSIG(status), SIGKILL);
			return now_ms();
		}
		usleep(2000);
	}
	fail_msg("pid %ld still alive after %u ms", (long)pid, timeout_ms);
	return 0;
}

static void finish(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* ---- the helper -------------------------------------------------------------- */

typedef struct helper {
	pid_t pid;
	int in;                   /* its stdin; -1 once closed */
	int out;                  /* its stdout */
	char buf[8192];
	size_t len;
} helper;

static void helper_start(helper *h, const char *watchdog, unsigned watchdog_ms)
{
	int in[2], out[2];
	assert_int_equal(pipe2(in, O_CLOEXEC), 0);
	assert_int_equal(pipe2(out, O_CLOEXEC), 0);
	_cleanup_free_ char *margin = vf_asprintf("%u", MARGIN);
	_cleanup_free_ char *wdms = vf_asprintf("%u", watchdog_ms);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		if (watchdog)
			execl(VF_FENCE_BIN, "virtform-fence", "--margin-ms", margin, "--grace-ms", "500",
			      "--watchdog", watchdog, "--watchdog-ms", wdms, (char *)NULL);
		else
			execl(VF_FENCE_BIN, "virtform-fence", "--margin-ms", margin, "--grace-ms", "500",
			      (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	*h = (helper){ .pid = pid, .in = in[1], .out = out[0] };
}

/* The next line that starts with `prefix`, within timeout_ms (others are
 * skipped); a copy, or a failed test. */
static char *helper_expect(helper *h, const char *prefix, unsigned timeout_ms)
{
	uint64_t t0 = now_ms();
	for (;;) {
		char *nl;
		while ((nl = memchr(h->buf, '\n', h->len))) {
			*nl = '\0';
			char *line = vf_strdup(h->buf);
			size_t used = (size_t)(nl - h->buf) + 1;
			memmove(h->buf, nl + 1, h->len - used);
			h->len -= used;
			if (strncmp(line, prefix, strlen(prefix)) == 0)
				return line;
			free(line);
		}
		uint64_t el = now_ms() - t0;
		if (el >= timeout_ms)
			fail_msg("no \"%s\" from the helper within %u ms", prefix, timeout_ms);
		struct pollfd p = { .fd = h->out, .events = POLLIN };
		if (poll(&p, 1, (int)(timeout_ms - el)) > 0) {
			ssize_t n = read(h->out, h->buf + h->len, sizeof(h->buf) - 1 - h->len);
			if (n <= 0)
				fail_msg("the helper closed its output before \"%s\"", prefix);
			h->len += (size_t)n;
		}
	}
}

static void helper_say(helper *h, const char *fmt, ...) VF_PRINTF(2, 3);
static void helper_say(helper *h, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	_cleanup_free_ char *s = vf_vasprintf(fmt, ap);
	va_end(ap);
	_cleanup_free_ char *line = vf_asprintf("%s\n", s);
	assert_int_equal(write(h->in, line, strlen(line)), (ssize_t)strlen(line));
}

/* Send a command and wait for its answer line. */
static void helper_do(helper *h, const char *answer, const char *fmt, ...) VF_PRINTF(3, 4);
static void helper_do(helper *h, const char *answer, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	_cleanup_free_ char *s = vf_vasprintf(fmt, ap);
	va_end(ap);
	helper_say(h, "%s", s);
	free(helper_expect(h, answer, 2000));
}

static int helper_exit(helper *h, unsigned timeout_ms)
{
	uint64_t t0 = now_ms();
	int status = 0;
	while (waitpid(h->pid, &status, WNOHANG) != h->pid) {
		if (now_ms() - t0 > timeout_ms) {
			kill(h->pid, SIGKILL);
			waitpid(h->pid, &status, 0);
			fail_msg("the helper did not exit within %u ms", timeout_ms);
		}
		usleep(2000);
	}
	if (h->in >= 0)
		close(h->in);
	close(h->out);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void helper_ready(helper *h)
{
	free(helper_expect(h, "ready", 5000));
}

/* A sleep (the QEMU), and a fresh helper guarding it with a deadline
 * in_ms from now; returns the deadline. */
static uint64_t guarded(helper *h, pid_t *qemu, const char *watchdog, unsigned in_ms)
{
	*qemu = vf_test_spawn_sleep();
	helper_start(h, watchdog, 400);
	helper_ready(h);
	uint64_t deadline = now_ms() + in_ms;
	helper_do(h, "ok deadline", "deadline %llu", (unsigned long long)deadline);
	helper_do(h, "ok guard", "guard %ld %llu", (long)*qemu, (unsigned long long)starttime(*qemu));
	return deadline;
}

/* ---- the tests -------------------------------------------------------------------- */

static void test_killed_at_the_deadline_not_before(void **state)
{
	pid_t qemu;
	helper h;
	uint64_t deadline = guarded(&h, &qemu, NULL, 800);
	while (now_ms() < deadline - 100) {
		assert_true(alive(qemu));
		usleep(20 * 1000);
	}
	uint64_t died = reaped_by(qemu, 2000);
	print_message("killed and reaped %llu ms after the deadline\n",
		      (unsigned long long)(died - deadline));
	assert_true(died >= deadline);
	assert_true(died < deadline + 250);
	free(helper_expect(&h, "fenced 1", 1000));
	assert_int_equal(helper_exit(&h, 2000), 2);
}

/* A process whose command line is argv[0] `arg0` then `flag`
 * `guest=NAME,debug-threads=on`: a shell that stops itself, so it costs
 * nothing and a SIGKILL still ends it. With flag "-name" it is a guest as
 * libvirt starts QEMU; with "-f" it is a `pgrep -f guest=NAME,`. */
static pid_t spawn_named(const char *arg0, const char *flag, const char *name)
{
	_cleanup_free_ char *arg = vf_asprintf("guest=%s,debug-threads=on", name);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		execl("/bin/sh", arg0, "-c", "kill -STOP $$", flag, arg, (char *)NULL);
		_exit(127);
	}
	_cleanup_free_ char *path = vf_asprintf("/proc/%ld/cmdline", (long)pid);
	for (int i = 0; i < 200; i++) {
		_cleanup_free_ char *cmd = NULL;
		size_t len = 0;
		FILE *f = fopen(path, "r");
		if (f) {
			ssize_t n = getdelim(&cmd, &len, '\0', f);
			fclose(f);
			if (n > 0 && strcmp(cmd, arg0) == 0)
				break;
		}
		usleep(5000);
	}
	return pid;
}

static pid_t spawn_guest(const char *name)
{
	return spawn_named("qemu-system-x86_64", "-name", name);
}

/* `expect NAME`: a QEMU that started after the expectation, whose pid the
 * helper was never told (virtform stopped in the middle of the start), is
 * killed at the deadline all the same; a guest of another name, and one
 * whose name only starts the same, are not. */
static void test_expected_guest_is_killed_without_its_pid(void **state)
{
	helper h;
	helper_start(&h, NULL, 400);
	helper_ready(&h);
	uint64_t deadline = now_ms() + 800;
	helper_do(&h, "ok deadline", "deadline %llu", (unsigned long long)deadline);
	_cleanup_free_ char *name = vf_asprintf("vft-%ld-web", (long)getpid());
	_cleanup_free_ char *longer = vf_asprintf("%s2", name);
	helper_do(&h, "ok expect", "expect %s", name);
	pid_t qemu = spawn_guest(name);       /* started after: the helper never saw its pid */
	pid_t other = spawn_guest(longer);
	pid_t grep = spawn_named("pgrep", "-f", name);   /* names it, runs no guest */
	assert_true(vf_proc_is_guest(qemu, name));
	assert_false(vf_proc_is_guest(other, name));
	assert_false(vf_proc_is_guest(grep, name));
	pid_t found[4];
	assert_int_equal(vf_proc_find_guest(name, found, 4), 1);
	assert_int_equal(found[0], qemu);
	close(h.in);   /* virtform gone: the expectation keeps the helper */
	h.in = -1;
	while (now_ms() < deadline - 100) {
		assert_true(alive(qemu));
		usleep(20 * 1000);
	}
	uint64_t died = reaped_by(qemu, 2000);
	print_message("expected guest killed %llu ms after the deadline\n",
		      (unsigned long long)(died - deadline));
	assert_true(died >= deadline && died < deadline + 250);
	assert_true(alive(other));
	assert_true(alive(grep));
	free(helper_expect(&h, "fenced 1", 1000));
	assert_int_equal(helper_exit(&h, 2000), 2);
	finish(other);
	finish(grep);
}

static void test_renewals_postpone_the_kill(void **state)
{
	pid_t qemu;
	helper h;
	uint64_t deadline = guarded(&h, &qemu, NULL, 500);
	uint64_t until = now_ms() + 1500;
	while (now_ms() < until) {
		deadline = now_ms() + 500;
		helper_do(&h, "ok deadline", "deadline %llu", (unsigned long long)deadline);
		usleep(150 * 1000);
		assert_true(alive(qemu));
	}
	uint64_t died = reaped_by(qemu, 2000);
	assert_true(died >= deadline && died < deadline + 250);
	assert_int_equal(helper_exit(&h, 2000), 2);
}

static void test_renewal_after_the_deadline_undoes_nothing(void **state)
{
	pid_t qemu;
	helper h;
	uint64_t deadline = guarded(&h, &qemu, NULL, 400);
	/* The helper is held (as a scheduler may); meanwhile the deadline
	 * passes and a renewal is queued. On waking it must kill first. */
	kill(h.pid, SIGSTOP);
	while (now_ms() < deadline + 200)
		usleep(10 * 1000);
	helper_say(&h, "deadline %llu", (unsigned long long)(now_ms() + 10000));
	kill(h.pid, SIGCONT);
	reaped_by(qemu, 1000);
	free(helper_expect(&h, "fenced 1", 1000));
	assert_int_equal(helper_exit(&h, 2000), 2);
}

static void test_wrong_start_time_is_not_guarded(void **state)
{
	pid_t qemu = vf_test_spawn_sleep();
	helper h;
	helper_start(&h, NULL, 0);
	helper_ready(&h);
	uint64_t deadline = now_ms() + 300;
	helper_do(&h, "ok deadline", "deadline %llu", (unsigned long long)deadline);
	/* What a pid reused since virtform looked looks like to the helper. */
	helper_say(&h, "guard %ld %llu", (long)qemu, (unsigned long long)starttime(qemu) + 1);
	_cleanup_free_ char *e = helper_expect(&h, "error guard", 2000);
	assert_non_null(strstr(e, "(reused): not guarded"));
	free(helper_expect(&h, "fenced 0", 2000));
	assert_int_equal(helper_exit(&h, 2000), 2);
	assert_true(alive(qemu));
	finish(qemu);
}

/* Make the next fork get `pid` (root: /proc/sys/kernel/ns_last_pid).
 * Other processes on the machine fork too, so this may miss; the caller
 * retries. */
static pid_t fork_as(pid_t pid)
{
	int fd = open("/proc/sys/kernel/ns_last_pid", O_WRONLY);
	if (fd < 0)
		return -1;
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%ld", (long)pid - 1);
	bool ok = write(fd, buf, (size_t)n) == n;
	close(fd);
	if (!ok)
		return -1;
	pid_t child = fork();
	if (child == 0) {
		execlp("sleep", "sleep", "60", (char *)NULL);
		_exit(127);
	}
	return child;
}

static void test_reused_pid_is_never_killed(void **state)
{
	if (access("/proc/sys/kernel/ns_last_pid", W_OK) != 0) {
		skip();   /* not root: the start-time test above still covers it */
	}
	helper h;
	helper_start(&h, NULL, 0);
	helper_ready(&h);
	uint64_t deadline = now_ms() + 1500;
	helper_do(&h, "ok deadline", "deadline %llu", (unsigned long long)deadline);
	pid_t first = vf_test_spawn_sleep();
	helper_do(&h, "ok guard", "guard %ld %llu", (long)first, (unsigned long long)starttime(first));
	/* The guarded QEMU exits on its own (a guest powered off) ... */
	finish(first);
	/* ... and an unrelated process gets the same pid. */
	pid_t reuse = -1;
	for (int tries = 0; tries < 50 && reuse != first; tries++) {
		if (reuse > 0)
			finish(reuse);
		reuse = fork_as(first);
	}
	assert_int_equal(reuse, first);
	free(helper_expect(&h, "gone", 3000));
	free(helper_expect(&h, "fenced 1", 1000));
	assert_int_equal(helper_exit(&h, 2000), 2);
	usleep(100 * 1000);
	assert_true(alive(reuse));   /* the new owner of the pid lives */
	finish(reuse);
}

static void test_stopped_feeder_leads_to_the_kill(void **state)
{
	pid_t qemu;
	helper h;
	guarded(&h, &qemu, NULL, 600);
	/* The feeder (virtform's part): a renewal every 150 ms, each worth
	 * 600 ms, from its own process. */
	pid_t feeder = fork();
	assert_true(feeder >= 0);
	if (feeder == 0) {
		for (;;) {
			char line[64];
			int n = snprintf(line, sizeof(line), "deadline %llu\n",
					 (unsigned long long)(now_ms() + 600));
			if (write(h.in, line, (size_t)n) != n)
				_exit(0);
			usleep(150 * 1000);
		}
	}
	close(h.in);
	h.in = -1;
	usleep(700 * 1000);
	assert_true(alive(qemu));   /* renewed past the first deadline */
	kill(feeder, SIGSTOP);
	uint64_t stopped = now_ms();
	uint64_t died = reaped_by(qemu, 2000);
	assert_true(died < stopped + 600 + 250);
	assert_int_equal(helper_exit(&h, 2000), 2);
	kill(feeder, SIGCONT);
	finish(feeder);
}

static void test_dead_feeder_keeps_the_deadline(void **state)
{
	pid_t qemu;
	helper h;
	uint64_t deadline = guarded(&h, &qemu, NULL, 500);
	close(h.in);   /* virtform crashed */
	h.in = -1;
	usleep(300 * 1000);
	assert_true(alive(qemu));
	uint64_t died = reaped_by(qemu, 2000);
	assert_true(died >= deadline && died < deadline + 250);
	assert_int_equal(helper_exit(&h, 2000), 2);
}

/* ---- the simulated watchdog --------------------------------------------------------- */

typedef struct sim_watchdog {
	char *dir;                /* removed by sim_watchdog_stop */
	char *path;               /* a FIFO in it */
	int fd;
	unsigned timeout_ms;
	pthread_t thread;
	volatile bool stop;
	uint64_t first_pet, last_pet;
	uint64_t reset_at;        /* 0: no reset */
	bool disarmed;            /* saw the magic 'V' */
	unsigned pets;
} sim_watchdog;

/* Like softdog: armed by the first write, reset when no write comes for
 * timeout_ms, or when closed without the magic 'V'. */
static void *sim_watchdog_run(void *arg)
{
	sim_watchdog *w = arg;
	while (!w->stop && !w->reset_at && !w->disarmed) {
		struct pollfd p = { .fd = w->fd, .events = POLLIN };
		int r = poll(&p, 1, 5);
		uint64_t now = now_ms();
		if (r > 0) {
			char buf[64];
			ssize_t n = read(w->fd, buf, sizeof(buf));
			for (ssize_t i = 0; i < n; i++) {
				if (buf[i] == 'V') {
					w->disarmed = true;
				} else {
					w->last_pet = now;
					w->first_pet = w->first_pet ? w->first_pet : now;
					w->pets++;
				}
			}
			if (n == 0 && w->first_pet && !w->disarmed)
				w->reset_at = now;   /* closed unarmed: reset */
			if (n == 0)
				usleep(5000);
		}
		if (w->first_pet && !w->disarmed && now - w->last_pet > w->timeout_ms)
			w->reset_at = w->last_pet + w->timeout_ms;
	}
	return NULL;
}

static void sim_watchdog_start(sim_watchdog *w, unsigned timeout_ms)
{
	char *dir = vf_test_tmpdir("fence");
	*w = (sim_watchdog){ .dir = dir, .path = vf_asprintf("%s/watchdog", dir),
			     .timeout_ms = timeout_ms };
	assert_int_equal(mkfifo(w->path, 0600), 0);
	w->fd = open(w->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	assert_true(w->fd >= 0);
	pthread_create(&w->thread, NULL, sim_watchdog_run, w);
}

static void sim_watchdog_stop(sim_watchdog *w)
{
	w->stop = true;
	pthread_join(w->thread, NULL);
	close(w->fd);
	vf_test_rm_tree(w->dir);
	free(w->path);
	free(w->dir);
}

static void test_watchdog_resets_when_the_helper_stops(void **state)
{
	sim_watchdog w;
	sim_watchdog_start(&w, 400);
	pid_t qemu;
	helper h;
	uint64_t deadline = guarded(&h, &qemu, w.path, 700);
	/* Renewed every 200 ms for a second: armed, no reset. */
	for (int i = 0; i < 5; i++) {
		usleep(200 * 1000);
		deadline = now_ms() + 700;
		helper_do(&h, "ok deadline", "deadline %llu", (unsigned long long)deadline);
	}
	assert_true(w.pets >= 5);
	assert_int_equal(w.reset_at, 0);
	/* The helper itself stops: the watchdog resets the host, no later
	 * than etcd's earliest expiry (deadline + margin). */
	kill(h.pid, SIGSTOP);
	uint64_t stopped = now_ms();
	while (!w.reset_at && now_ms() < stopped + 3000)
		usleep(5000);
	assert_true(w.reset_at != 0);
	assert_true(w.reset_at <= deadline + MARGIN + 20);
	assert_true(w.reset_at <= stopped + 400 + 20);
	kill(h.pid, SIGKILL);
	helper_exit(&h, 2000);
	sim_watchdog_stop(&w);
	finish(qemu);
}

static void test_watchdog_quiet_when_the_helper_fences(void **state)
{
	sim_watchdog w;
	sim_watchdog_start(&w, 400);
	/* No renewal at all: pets stop 400 ms before expiry, the helper
	 * kills at the deadline (300 ms before expiry), then disarms. (Not
	 * a multiple of the 100 ms pet period: a helper that petted up to
	 * the deadline would pet 50 ms before it.) */
	pid_t qemu;
	helper h;
	uint64_t deadline = guarded(&h, &qemu, w.path, 850);
	reaped_by(qemu, 2000);
	assert_int_equal(helper_exit(&h, 2000), 2);
	usleep(50 * 1000);
	assert_true(w.disarmed);
	assert_int_equal(w.reset_at, 0);
	assert_true(w.last_pet + 400 <= deadline + MARGIN + 15);
	/* ... and near the last moment the rule allows (aimed at 725 ms of
	 * the 750 ms, not the 700 ms of the pet period), so the kill has
	 * nearly the whole margin before a reset, not as little as the
	 * margin less a pet period. */
	assert_true(w.last_pet + 400 + 40 >= deadline + MARGIN);
	sim_watchdog_stop(&w);
}

static void test_release_disarms_and_kills_nothing(void **state)
{
	sim_watchdog w;
	sim_watchdog_start(&w, 400);
	pid_t qemu;
	helper h;
	uint64_t deadline = guarded(&h, &qemu, w.path, 300);
	helper_do(&h, "ok released", "release");
	assert_int_equal(helper_exit(&h, 2000), 0);
	while (now_ms() < deadline + 300)
		usleep(10 * 1000);
	assert_true(alive(qemu));
	assert_true(w.disarmed);
	assert_int_equal(w.reset_at, 0);
	sim_watchdog_stop(&w);
	finish(qemu);
}

static void test_helper_is_locked_in_memory(void **state)
{
	helper h;
	helper_start(&h, NULL, 0);
	helper_ready(&h);
	_cleanup_free_ char *p = vf_asprintf("/proc/%ld/status", (long)h.pid);
	_cleanup_free_ char *status = vf_test_read_file(p);
	const char *lck = status ? strstr(status, "VmLck:") : NULL;
	assert_non_null(lck);
#if !defined(__SANITIZE_ADDRESS__)
	assert_true(strtoul(lck + 6, NULL, 10) > 0);   /* ASan makes mlockall a no-op */
#endif
	/* Its own session: a ^C at virtform's terminal is not its signal. */
	assert_int_equal(getsid(h.pid), h.pid);
	/* A margin the watchdog could outrun is refused at start. */
	helper bad;
	int in[2], out[2];
	assert_int_equal(pipe2(in, O_CLOEXEC), 0);
	assert_int_equal(pipe2(out, O_CLOEXEC), 0);
	pid_t pid = fork();
	if (pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		execl(VF_FENCE_BIN, "virtform-fence", "--margin-ms", "100", "--watchdog", "/dev/null",
		      "--watchdog-ms", "400", (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	bad = (helper){ .pid = pid, .in = in[1], .out = out[0] };
	_cleanup_free_ char *refused = helper_expect(&bad, "error a margin of 100 ms", 3000);
	assert_int_equal(helper_exit(&bad, 2000), 1);
	/* Bad input is answered, not obeyed. */
	helper_do(&h, "error guard", "guard 12 34");
	helper_do(&h, "error unknown command", "kill 1");
	helper_do(&h, "error deadline", "deadline soon");
	close(h.in);
	h.in = -1;
	assert_int_equal(helper_exit(&h, 2000), 0);   /* nothing guarded: leaves */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_killed_at_the_deadline_not_before),
		cmocka_unit_test(test_expected_guest_is_killed_without_its_pid),
		cmocka_unit_test(test_renewals_postpone_the_kill),
		cmocka_unit_test(test_renewal_after_the_deadline_undoes_nothing),
		cmocka_unit_test(test_wrong_start_time_is_not_guarded),
		cmocka_unit_test(test_reused_pid_is_never_killed),
		cmocka_unit_test(test_stopped_feeder_leads_to_the_kill),
		cmocka_unit_test(test_dead_feeder_keeps_the_deadline),
		cmocka_unit_test(test_watchdog_resets_when_the_helper_stops),
		cmocka_unit_test(test_watchdog_quiet_when_the_helper_fences),
		cmocka_unit_test(test_release_disarms_and_kills_nothing),
		cmocka_unit_test(test_helper_is_locked_in_memory),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
