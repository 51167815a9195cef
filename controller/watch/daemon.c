/* daemon.c: what the watch daemon's process does below its loop: log to
 * the journal (or stderr) by level, talk to systemd (READY, STATUS,
 * WATCHDOG, EXTEND_TIMEOUT), and turn signals into flags and a byte on a
 * self-pipe the loop polls. Calls nothing else of controller/watch/. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "controller/watch/daemon.h"

volatile sig_atomic_t vf_watch_stop_flag;
volatile sig_atomic_t vf_watch_reload_flag;
int vf_watch_pipe[2] = { -1, -1 };
static int vf_watch_log_level = VF_LOG_INFO;

/* ---- logging and systemd ------------------------------------------------- */

void vf_watch_set_log_level(int level)
{
	vf_watch_log_level = level;
}

void vf_watch_log(int level, const char *fmt, ...)
{
	if (level > vf_watch_log_level)
		return;
	char buf[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	/* One line each: a newline inside a message would start a new record. */
	for (char *p = buf; *p; p++)
		if (*p == '\n')
			*p = ' ';
	fprintf(stderr, "<%d>%s\n", level, buf);
	fflush(stderr);
}

void vf_watch_notify(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	sd_notify(0, buf);
}

/* The idle loop pings every quarter of WATCHDOG_USEC, so two pings are
 * never more than half of it apart (systemd's advice) even with the
 * loop's jitter. Inside a step, heartbeats ping as soon as a sixteenth has
 * passed, so that a ping comes just before a blocking call (forcing a
 * guest off takes a second or two) rather than up to a quarter earlier. */
static uint64_t vf_watch__ping_ms(const vf_watch *w)
{
	uint64_t ms = w->watchdog_usec / 4000u;
	return ms ? ms : 1;
}

/* While starting or stopping, each extension asks for this much more time,
 * and one is sent this often while a step makes progress. */
#define VF_WATCH_EXTEND_USEC 30000000ull
#define VF_WATCH_EXTEND_EVERY_MS 10000u

void vf_watch_heartbeat(vf_watch *w)
{
	uint64_t now = vf_now_ms();
	uint64_t ping = vf_watch__ping_ms(w);
	if (w->watchdog_usec && now + ping - ping / 4 >= w->next_watchdog) {
		vf_watch_notify("WATCHDOG=1");
		w->next_watchdog = now + ping;
	}
	/* READY=1 comes after the first pass, and SIGTERM lets the step under
	 * way finish: a step that keeps making progress (a download, a guest
	 * given its shutdownTimeout) extends TimeoutStartSec/TimeoutStopSec
	 * instead of being killed by them. */
	if ((!w->ready_sent || vf_watch_stop_flag) && now >= w->next_extend) {
		vf_watch_notify("EXTEND_TIMEOUT_USEC=%llu", VF_WATCH_EXTEND_USEC);
		w->next_extend = now + VF_WATCH_EXTEND_EVERY_MS;
	}
}

/* The daemon whose heartbeat long driver waits call (vf_heartbeat_hook). */
vf_watch *vf_watch__beating;

void vf_watch__heartbeat_hook(void)
{
	if (vf_watch__beating)
		vf_watch_heartbeat(vf_watch__beating);
}

/* ---- signals: handlers set flags and write to a self-pipe ---------------- */

static void vf_watch__on_signal(int sig)
{
	int saved = errno;
	if (sig == SIGHUP)
		vf_watch_reload_flag = 1;
	else
		vf_watch_stop_flag = 1; /* also stops vf_apply_plan between steps */
	char c = (char)sig;
	ssize_t n = write(vf_watch_pipe[1], &c, 1);
	(void)n;
	errno = saved;
}

int vf_watch__signals(vf_error *err)
{
	if (pipe2(vf_watch_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
		return vf_error_set(err, VF_E_IO, "pipe: %s", strerror(errno));
	struct sigaction sa = { .sa_handler = vf_watch__on_signal, .sa_flags = SA_RESTART };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

void vf_watch__signals_done(void)
{
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	for (int i = 0; i < 2; i++)
		if (vf_watch_pipe[i] >= 0)
			close(vf_watch_pipe[i]);
	vf_watch_pipe[0] = vf_watch_pipe[1] = -1;
}
