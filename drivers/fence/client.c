/* client.c: start and feed the fence helper (client.h). One line out, one
 * answer line back, each wait bounded by VF_FENCE_ANSWER_MS; an answer
 * that does not come is an error the caller must treat as a fence that may
 * not hold (it cannot know the helper took the deadline). */
#include "drivers/fence/client.h"
#include "drivers/fence/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint64_t vf_fencec__now(void)
{
	struct timespec ts = { 0 };
	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* The next line the helper writes; its answers start with `ok` or `error`,
 * events (killed, fenced) are skipped here. */
static int vf_fencec__answer(vf_fence_client *c, const char *what, char *line, size_t cap,
			     vf_error *err)
{
	uint64_t t0 = vf_fencec__now();
	for (;;) {
		char *nl;
		while ((nl = memchr(c->buf, '\n', c->len))) {
			size_t n = (size_t)(nl - c->buf);
			size_t k = n < cap - 1 ? n : cap - 1;
			memcpy(line, c->buf, k);
			line[k] = '\0';
			memmove(c->buf, nl + 1, c->len - n - 1);
			c->len -= n + 1;
			if (strncmp(line, "ok", 2) == 0 || strncmp(line, "error", 5) == 0 ||
			    strncmp(line, "ready", 5) == 0)
				return 0;
		}
		uint64_t el = vf_fencec__now() - t0;
		if (el >= VF_FENCE_ANSWER_MS)
			return vf_error_set(err, VF_E_TIMEOUT,
					    "the fence helper (pid %ld) did not answer %s within %u ms",
					    (long)c->pid, what, VF_FENCE_ANSWER_MS);
		if (c->len == sizeof(c->buf))
			c->len = 0;   /* a line longer than any answer: drop it */
		struct pollfd p = { .fd = c->from, .events = POLLIN };
		int r = poll(&p, 1, (int)(VF_FENCE_ANSWER_MS - el));
		if (r < 0 && errno != EINTR)
			return vf_error_set(err, VF_E_IO, "fence helper: poll: %s", strerror(errno));
		if (r > 0) {
			ssize_t n = read(c->from, c->buf + c->len, sizeof(c->buf) - c->len);
			if (n <= 0)
				return vf_error_set(err, VF_E_IO,
						    "the fence helper (pid %ld) closed its output before answering %s",
						    (long)c->pid, what);
			c->len += (size_t)n;
		}
	}
}

/* Send one line and take its answer: 0 for "ok ...". */
static int vf_fencec__do(vf_fence_client *c, const char *what, const char *line, vf_error *err)
{
	if (!c->pid || c->to < 0)
		return vf_error_set(err, VF_E_INTERNAL, "the fence helper is not running");
	size_t len = strlen(line);
	/* A socket, so a helper gone away is EPIPE, never a SIGPIPE that
	 * would kill virtform. */
	if (send(c->to, line, len, MSG_NOSIGNAL) != (ssize_t)len)
		return vf_error_set(err, VF_E_IO, "cannot send %s to the fence helper (pid %ld): %s",
				    what, (long)c->pid, strerror(errno));
	char answer[600];
	int r = vf_fencec__answer(c, what, answer, sizeof(answer), err);
	if (r < 0)
		return r;
	if (strncmp(answer, "ok", 2) != 0)
		return vf_error_set(err, VF_E_DRIVER, "the fence helper refused %s: %s", what, answer);
	return 0;
}

int vf_fence_spawn(const char *bin, const vf_fence_opts *o, vf_fence_client *out, vf_error *err)
{
	int in[2], outp[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) < 0)
		return vf_error_set(err, VF_E_IO, "fence helper: socketpair: %s", strerror(errno));
	if (pipe2(outp, O_CLOEXEC) < 0) {
		int e = errno;
		close(in[0]);
		close(in[1]);
		return vf_error_set(err, VF_E_IO, "fence helper: pipe: %s", strerror(e));
	}
	char margin[16], wd_ms[16], grace[16];
	snprintf(margin, sizeof(margin), "%u", o->margin_ms ? o->margin_ms : 1);
	snprintf(wd_ms, sizeof(wd_ms), "%u", o->watchdog_ms ? o->watchdog_ms : VF_FENCE_WATCHDOG_MS_DEFAULT);
	snprintf(grace, sizeof(grace), "%u", o->grace_ms ? o->grace_ms : 1000u);
	const char *argv[12] = { bin, "--margin-ms", margin, "--grace-ms", grace, NULL };
	if (o->watchdog) {
		argv[5] = "--watchdog";
		argv[6] = o->watchdog;
		argv[7] = "--watchdog-ms";
		argv[8] = wd_ms;
	}
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(in[0]);
		close(in[1]);
		close(outp[0]);
		close(outp[1]);
		return vf_error_set(err, VF_E_IO, "fence helper: fork: %s", strerror(e));
	}
	if (pid == 0) {
		dup2(in[0], 0);
		dup2(outp[1], 1);
		char *args[12] = { 0 };
		for (size_t i = 0; argv[i]; i++)
			args[i] = strdup(argv[i]);   /* execv wants them writable */
		execv(bin, args);
		_exit(127);
	}
	close(in[0]);
	close(outp[1]);
	vf_fence_client c = { .pid = pid, .to = in[1], .from = outp[0] };
	char answer[600];
	int r = vf_fencec__answer(&c, "its start", answer, sizeof(answer), err);
	if (r == 0 && strncmp(answer, "ready", 5) != 0)
		r = vf_error_set(err, VF_E_DRIVER, "the fence helper %s did not start: %s", bin, answer);
	if (r < 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		close(c.to);
		close(c.from);
		return r;
	}
	*out = c;
	return 0;
}

int vf_fence_set_deadline(vf_fence_client *c, uint64_t deadline_ms, vf_error *err)
{
	char line[64];
	snprintf(line, sizeof(line), "deadline %" PRIu64 "\n", deadline_ms);
	return vf_fencec__do(c, "a deadline", line, err);
}

int vf_fence_guard_at(vf_fence_client *c, pid_t pid, uint64_t starttime, vf_error *err)
{
	char line[64];
	snprintf(line, sizeof(line), "guard %ld %" PRIu64 "\n", (long)pid, starttime);
	return vf_fencec__do(c, "a process to guard", line, err);
}

int vf_fence_guard(vf_fence_client *c, pid_t pid, vf_error *err)
{
	uint64_t start = 0;
	int r = vf_proc_starttime(pid, &start);
	if (r < 0)
		return vf_error_set(err, VF_E_IO, "cannot read the start time of pid %ld: %s",
				    (long)pid, strerror(-r));
	return vf_fence_guard_at(c, pid, start, err);
}

static int vf_fencec__name(vf_fence_client *c, const char *verb, const char *name, vf_error *err)
{
	if (!*name || strlen(name) > VF_FENCE_MAX_NAME || strpbrk(name, " \t\n"))
		return vf_error_set(err, VF_E_USAGE, "the fence helper cannot %s the guest name \"%s\"",
				    verb, name);
	char line[VF_FENCE_MAX_NAME + 16];
	snprintf(line, sizeof(line), "%s %s\n", verb, name);
	return vf_fencec__do(c, verb[0] == 'u' ? "a guest name to forget" : "a guest name to expect", line, err);
}

int vf_fence_expect(vf_fence_client *c, const char *name, vf_error *err)
{
	return vf_fencec__name(c, "expect", name, err);
}

int vf_fence_unexpect(vf_fence_client *c, const char *name, vf_error *err)
{
	return vf_fencec__name(c, "unexpect", name, err);
}

int vf_fence_unguard(vf_fence_client *c, pid_t pid, vf_error *err)
{
	char line[64];
	snprintf(line, sizeof(line), "unguard %ld\n", (long)pid);
	return vf_fencec__do(c, "a process to stop guarding", line, err);
}

int vf_fence_release(vf_fence_client *c, vf_error *err)
{
	int r = vf_fencec__do(c, "the release", "release\n", err);
	if (r == 0) {
		waitpid(c->pid, NULL, 0);
		close(c->to);
		close(c->from);
		*c = (vf_fence_client){ 0 };
	}
	return r;
}

void vf_fence_detach(vf_fence_client *c)
{
	if (!c->pid)
		return;
	close(c->to);
	close(c->from);
	*c = (vf_fence_client){ 0 };
}
