/* helper.c: the fence helper's loop (helper.h): one thread, poll(2) on its
 * input, a deadline, a table of guarded processes held by pidfd, and a
 * watchdog it pets only while a stop of the helper itself would still be
 * caught in time. Plain libc and no allocation, so the process stays
 * small enough to mlock whole (fence_main.c); no libvirt, no etcd. */
#include "drivers/fence/helper.h"
#include "drivers/fence/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/watchdog.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define VF_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

typedef struct vf_guarded {
	pid_t pid;
	uint64_t start;           /* its start time, as told and checked */
	int pidfd;                /* -1: slot free */
} vf_guarded;

typedef struct vf_fence {
	const vf_fence_opts *o;
	int out;
	int wd;                   /* the watchdog; -1: none */
	uint64_t deadline;        /* 0: none yet */
	vf_guarded g[VF_FENCE_MAX_GUARDED];
	size_t n;                 /* slots in use, packed */
	char expected[VF_FENCE_MAX_EXPECTED][VF_FENCE_MAX_NAME + 1]; /* guest names (expect) */
	size_t n_expected;
	uint64_t next_pet;
	char line[512];
	size_t len;
	bool overlong;            /* discarding the rest of a too-long line */
} vf_fence;

static uint64_t vf_fence__now(void)
{
	struct timespec ts = { 0 };
	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void vf_fence__say(vf_fence *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void vf_fence__say(vf_fence *f, const char *fmt, ...)
{
	char buf[600];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	/* Nobody listening (virtform died) must not stop the helper. */
	ssize_t w = write(f->out, buf, (size_t)n);
	(void)w;
}

/* ---- the watchdog ------------------------------------------------------------ */

static int vf_fence__wd_open(vf_fence *f)
{
	f->wd = -1;
	if (!f->o->watchdog)
		return 0;
	f->wd = open(f->o->watchdog, O_WRONLY | O_CLOEXEC);
	if (f->wd < 0) {
		vf_fence__say(f, "error cannot open the watchdog %s: %s", f->o->watchdog,
			      strerror(errno));
		return -1;
	}
	struct stat st;
	if (fstat(f->wd, &st) == 0 && S_ISCHR(st.st_mode)) {
		/* A real watchdog counts seconds: round down, never up, so it
		 * fires no later than the arithmetic assumes. */
		int secs = (int)(f->o->watchdog_ms / 1000u);
		if (secs < 1 || ioctl(f->wd, WDIOC_SETTIMEOUT, &secs) < 0) {
			vf_fence__say(f, "error cannot set the timeout of the watchdog %s to %u ms: %s",
				      f->o->watchdog, f->o->watchdog_ms,
				      secs < 1 ? "below its 1 s resolution" : strerror(errno));
			/* Disarm again: we could not make it safe to leave. */
			ssize_t w = write(f->wd, "V", 1);
			(void)w;
			close(f->wd);
			f->wd = -1;
			return -1;
		}
	}
	return 0;
}

static void vf_fence__wd_pet(vf_fence *f)
{
	if (f->wd >= 0) {
		ssize_t w = write(f->wd, ".", 1);
		(void)w;
	}
}

/* The magic close: the helper is leaving on purpose. */
static void vf_fence__wd_disarm(vf_fence *f)
{
	if (f->wd < 0)
		return;
	ssize_t w = write(f->wd, "V", 1);
	(void)w;
	close(f->wd);
	f->wd = -1;
}

/* Pet only if, were the helper to stop right after this pet, the watchdog
 * would still reset the host before etcd could give the lease away
 * (deadline + margin). With nothing guarded there is nothing to protect. */
static bool vf_fence__may_pet(const vf_fence *f, uint64_t now)
{
	if (f->n == 0 && f->n_expected == 0)
		return true;
	return now + f->o->watchdog_ms <= f->deadline + f->o->margin_ms;
}

/* ---- guarded processes ------------------------------------------------------------ */

static vf_guarded *vf_fence__find(vf_fence *f, pid_t pid)
{
	for (size_t i = 0; i < f->n; i++)
		if (f->g[i].pid == pid)
			return &f->g[i];
	return NULL;
}

static void vf_fence__drop(vf_fence *f, vf_guarded *g)
{
	close(g->pidfd);
	*g = f->g[--f->n];
}

static void vf_fence__guard(vf_fence *f, pid_t pid, uint64_t start)
{
	if (!f->deadline) {
		vf_fence__say(f, "error guard %ld: no deadline yet", (long)pid);
		return;
	}
	if (pid <= 1 || pid == getpid()) {
		vf_fence__say(f, "error guard %ld: not a process to kill", (long)pid);
		return;
	}
	if (vf_fence__find(f, pid)) {
		vf_fence__say(f, "ok guard %ld (already)", (long)pid);
		return;
	}
	if (f->n == VF_FENCE_MAX_GUARDED) {
		vf_fence__say(f, "error guard %ld: %d processes guarded already", (long)pid,
			      VF_FENCE_MAX_GUARDED);
		return;
	}
	/* Open the pidfd first, then check the start time: if they match,
	 * the pidfd holds the very process we were told about, and a kill
	 * through it can never reach a later owner of the pid. */
	int fd = pidfd_open(pid, 0);
	if (fd < 0) {
		vf_fence__say(f, "error guard %ld: %s", (long)pid, strerror(errno));
		return;
	}
	uint64_t now_start = 0;
	int r = vf_proc_starttime(pid, &now_start);
	if (r < 0 || now_start != start) {
		close(fd);
		if (r < 0)
			vf_fence__say(f, "error guard %ld: %s", (long)pid, strerror(-r));
		else
			vf_fence__say(f,
				      "error guard %ld: that pid now belongs to a process started at %" PRIu64 ", not %" PRIu64 " (reused): not guarded",
				      (long)pid, now_start, start);
		return;
	}
	f->g[f->n++] = (vf_guarded){ .pid = pid, .start = start, .pidfd = fd };
	vf_fence__say(f, "ok guard %ld", (long)pid);
}

/* SIGKILL every guarded process, then wait up to grace_ms for each to go.
 * Returns the helper's exit code. */
/* Add every process of an expected guest to the guarded ones: pidfd
 * first, then the command line checked again, so a pid reused between
 * the scan and the pidfd is never taken. */
static void vf_fence__collect_expected(vf_fence *f)
{
	for (size_t k = 0; k < f->n_expected; k++) {
		pid_t pids[16];
		size_t n = vf_proc_find_guest(f->expected[k], pids, VF_ARRAY_LEN(pids));
		for (size_t i = 0; i < n && i < VF_ARRAY_LEN(pids); i++) {
			if (vf_fence__find(f, pids[i]) || f->n == VF_FENCE_MAX_GUARDED)
				continue;
			int fd = pidfd_open(pids[i], 0);
			if (fd < 0)
				continue;
			uint64_t start = 0;
			if (!vf_proc_is_guest(pids[i], f->expected[k]) ||
			    vf_proc_starttime(pids[i], &start) < 0) {
				close(fd);
				continue;
			}
			f->g[f->n++] = (vf_guarded){ .pid = pids[i], .start = start, .pidfd = fd };
			vf_fence__say(f, "found %ld of guest %s", (long)pids[i], f->expected[k]);
		}
	}
}

static int vf_fence__fire(vf_fence *f, const char *why)
{
	uint64_t t0 = vf_fence__now();
	vf_fence__collect_expected(f);
	vf_fence__say(f, "fence %s: killing %zu", why, f->n);
	for (size_t i = 0; i < f->n; i++) {
		if (pidfd_send_signal(f->g[i].pidfd, SIGKILL, NULL, 0) == 0)
			vf_fence__say(f, "killed %ld", (long)f->g[i].pid);
		else
			vf_fence__say(f, "gone %ld", (long)f->g[i].pid);   /* ESRCH: exited before */
	}
	unsigned grace = f->o->grace_ms ? f->o->grace_ms : 1000u;
	size_t alive = f->n;
	while (alive) {
		struct pollfd p[VF_FENCE_MAX_GUARDED];
		for (size_t i = 0; i < f->n; i++)
			p[i] = (struct pollfd){ .fd = f->g[i].pidfd, .events = POLLIN };
		uint64_t now = vf_fence__now();
		if (now - t0 >= grace)
			break;
		/* No pet while we wait: were the helper stopped now, the
		 * watchdog must still fire by the expiry. A kill that takes
		 * longer than the margin ends in the reset, as it should. */
		int r = poll(p, f->n, (int)(grace - (now - t0)));
		if (r < 0 && errno != EINTR)
			break;
		alive = 0;
		for (size_t i = 0; i < f->n; i++)
			alive += !(p[i].revents & (POLLIN | POLLHUP));
	}
	if (alive) {
		vf_fence__say(f, "error fence incomplete: %zu processes outlived SIGKILL for %u ms",
			      alive, grace);
		if (f->wd < 0)
			return VF_FENCE_EXIT_INCOMPLETE;
		/* Stop petting: the watchdog resets the host, which is the
		 * only fence left. */
		for (;;)
			pause();
	}
	vf_fence__say(f, "fenced %zu in %" PRIu64 " ms", f->n, vf_fence__now() - t0);
	while (f->n)
		vf_fence__drop(f, &f->g[f->n - 1]);
	vf_fence__wd_disarm(f);
	return VF_FENCE_EXIT_FENCED;
}

/* ---- commands ------------------------------------------------------------------ */

/* Returns -1 to go on, or the exit code. */
static int vf_fence__command(vf_fence *f, char *line)
{
	char *save = NULL;
	char *verb = strtok_r(line, " \t", &save);
	char *a1 = verb ? strtok_r(NULL, " \t", &save) : NULL;
	char *a2 = a1 ? strtok_r(NULL, " \t", &save) : NULL;
	char *extra = a2 ? strtok_r(NULL, " \t", &save) : NULL;
	char *end = NULL;
	if (!verb)
		return -1;
	if (strcmp(verb, "deadline") == 0 && a1 && !a2) {
		unsigned long long v = strtoull(a1, &end, 10);
		if (*end || !v) {
			vf_fence__say(f, "error deadline: \"%s\" is not a time in ms", a1);
			return -1;
		}
		f->deadline = v;
		vf_fence__say(f, "ok deadline %llu", v);
		return -1;
	}
	if (strcmp(verb, "guard") == 0 && a2 && !extra) {
		long pid = strtol(a1, &end, 10);
		bool bad = *end != '\0';
		unsigned long long start = strtoull(a2, &end, 10);
		if (bad || *end) {
			vf_fence__say(f, "error guard: expected \"guard PID STARTTIME\"");
			return -1;
		}
		vf_fence__guard(f, (pid_t)pid, start);
		return -1;
	}
	if (strcmp(verb, "unguard") == 0 && a1 && !a2) {
		vf_guarded *g = vf_fence__find(f, (pid_t)strtol(a1, NULL, 10));
		if (g)
			vf_fence__drop(f, g);
		vf_fence__say(f, "ok unguard %s", a1);
		return -1;
	}
	if ((strcmp(verb, "expect") == 0 || strcmp(verb, "unexpect") == 0) && a1 && !a2) {
		size_t k;
		for (k = 0; k < f->n_expected; k++)
			if (strcmp(f->expected[k], a1) == 0)
				break;
		if (verb[0] == 'u') {
			if (k < f->n_expected)
				memcpy(f->expected[k], f->expected[--f->n_expected], sizeof(f->expected[k]));
			vf_fence__say(f, "ok unexpect %s", a1);
		} else if (!f->deadline) {
			vf_fence__say(f, "error expect %s: no deadline yet", a1);
		} else if (strlen(a1) > VF_FENCE_MAX_NAME) {
			vf_fence__say(f, "error expect: a name longer than %d", VF_FENCE_MAX_NAME);
		} else if (k == f->n_expected && f->n_expected == VF_FENCE_MAX_EXPECTED) {
			vf_fence__say(f, "error expect %s: %d names expected already", a1, VF_FENCE_MAX_EXPECTED);
		} else {
			if (k == f->n_expected)
				strcpy(f->expected[f->n_expected++], a1);
			vf_fence__say(f, "ok expect %s", a1);
		}
		return -1;
	}
	if (strcmp(verb, "fence") == 0 && !a1)
		return vf_fence__fire(f, "asked");
	if (strcmp(verb, "release") == 0 && !a1) {
		f->n_expected = 0;
		while (f->n)
			vf_fence__drop(f, &f->g[f->n - 1]);
		vf_fence__wd_disarm(f);
		vf_fence__say(f, "ok released");
		return VF_FENCE_EXIT_RELEASED;
	}
	vf_fence__say(f, "error unknown command \"%s\"", verb);
	return -1;
}

/* The deadline is looked at before every command, so a renewal that
 * arrives after it cannot undo the kill. */
static int vf_fence__check(vf_fence *f)
{
	if (f->deadline && vf_fence__now() >= f->deadline)
		return vf_fence__fire(f, "deadline");
	return -1;
}

/* Read what is there; run each whole line. -1 go on, else the exit code;
 * *eof set at end of input. */
static int vf_fence__input(vf_fence *f, int in, bool *eof)
{
	char buf[512];
	ssize_t n = read(in, buf, sizeof(buf));
	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? -1 : (*eof = true, -1);
	if (n == 0) {
		*eof = true;
		return -1;
	}
	for (ssize_t i = 0; i < n; i++) {
		if (buf[i] != '\n') {
			if (f->len < sizeof(f->line) - 1)
				f->line[f->len++] = buf[i];
			else
				f->overlong = true;
			continue;
		}
		f->line[f->len] = '\0';
		int r = vf_fence__check(f);
		if (r >= 0)
			return r;
		if (f->overlong)
			vf_fence__say(f, "error line too long");
		else if ((r = vf_fence__command(f, f->line)) >= 0)
			return r;
		f->len = 0;
		f->overlong = false;
	}
	return -1;
}

int vf_fence_run(const vf_fence_opts *o, int in, int out)
{
	static vf_fence f;   /* static: big, and there is one per process */
	memset(&f, 0, sizeof(f));
	vf_fence_opts opts = *o;
	if (!opts.watchdog_ms)
		opts.watchdog_ms = VF_FENCE_WATCHDOG_MS_DEFAULT;
	f.o = &opts;
	f.out = out;
	if (opts.watchdog && opts.margin_ms <= opts.watchdog_ms / 4) {
		/* Pets stop W before expiry and come every W/4: a fence at
		 * expiry - margin must finish before the watchdog fires. */
		vf_fence__say(&f, "error a margin of %u ms must exceed a watchdog pet period (%u ms / 4)",
			      opts.margin_ms, opts.watchdog_ms);
		return VF_FENCE_EXIT_USAGE;
	}
	if (vf_fence__wd_open(&f) < 0)
		return VF_FENCE_EXIT_USAGE;
	unsigned pet_every = opts.watchdog_ms / 4 ? opts.watchdog_ms / 4 : 1;
	vf_fence__say(&f, "ready pid %ld watchdog %s", (long)getpid(),
		      opts.watchdog ? opts.watchdog : "none");
	bool eof = false;
	for (;;) {
		int r = vf_fence__check(&f);
		if (r >= 0)
			return r;
		uint64_t now = vf_fence__now();
		if (now >= f.next_pet && vf_fence__may_pet(&f, now)) {
			vf_fence__wd_pet(&f);
			f.next_pet = now + pet_every;
			/* The last pet the rule allows comes near its very last
			 * moment, not up to a pet period before it: the kill and
			 * reap at the deadline then have nearly the whole margin
			 * before the watchdog fires, not as little as margin -
			 * period. Aimed a quarter period early: a wake-up even
			 * 1 ms late would find the rule closed and skip the pet. */
			uint64_t last = f.deadline + opts.margin_ms;
			uint64_t aim = opts.watchdog_ms + pet_every / 4;
			last = last > aim ? last - aim : 0;
			if ((f.n || f.n_expected) && f.deadline && now < last && f.next_pet > last)
				f.next_pet = last;
		}
		if (eof && f.n == 0 && f.n_expected == 0) {
			/* virtform left and nothing is guarded: nothing to fence. */
			vf_fence__wd_disarm(&f);
			return VF_FENCE_EXIT_RELEASED;
		}
		uint64_t wake = f.next_pet > now ? f.next_pet : now + pet_every;
		if (f.deadline && f.deadline < wake)
			wake = f.deadline;
		struct pollfd p = { .fd = eof ? -1 : in, .events = POLLIN };
		int timeout = wake > now ? (int)(wake - now) : 0;
		r = poll(&p, 1, timeout);
		if (r > 0 && (p.revents & (POLLIN | POLLHUP | POLLERR))) {
			r = vf_fence__input(&f, in, &eof);
			if (r >= 0)
				return r;
		}
	}
}
