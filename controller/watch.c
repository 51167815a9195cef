/* watch.c: `virtform watch` and `virtform status`. The daemon's main loop
 * polls a self-pipe (signals), the manifest tree watcher, libvirt events,
 * and the control sockets, and runs a reconcile pass when a debounce,
 * resync, retry or reconnect timer comes due. Passes themselves live in
 * watch_pass.c; this file owns setup, timers, reconnects and shutdown. */
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

#include "statedir.h"
#include "watch.h"
#include "watch_internal.h"

enum {
	VF_EXIT_OK = 0,
	VF_EXIT_FAIL = 1,
	VF_EXIT_USAGE = 2,
};

/* Libvirt events are folded this long before a pass: long enough to
 * gather one action's several events, short enough to restore a destroyed
 * domain within about a second. */
#define VF_EVENT_DEBOUNCE_MS 200u
#define VF_RECONNECT_MAX_MS 30000u

volatile sig_atomic_t vf_watch_stop_flag;
static volatile sig_atomic_t vf_watch_reload_flag;
static int vf_watch_pipe[2] = { -1, -1 };
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
static vf_watch *vf_watch__beating;

static void vf_watch__heartbeat_hook(void)
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

static int vf_watch__signals(vf_error *err)
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

static void vf_watch__signals_done(void)
{
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	for (int i = 0; i < 2; i++)
		if (vf_watch_pipe[i] >= 0)
			close(vf_watch_pipe[i]);
	vf_watch_pipe[0] = vf_watch_pipe[1] = -1;
}

/* ---- connection -------------------------------------------------------- */

/* The events source belongs to w->backend, which opened it. */
static void vf_watch__close_events(vf_watch *w)
{
	if (w->events)
		w->backend->events->close(w->events);
	w->events = NULL;
}

/* Have ev's event loop running (the backend's rule: before it opens any
 * connection). Only a reload to a URI of another backend changes it. */
static int vf_watch__start_loop(vf_watch *w, const vf_event_driver *ev, vf_error *err)
{
	if (w->loop == ev)
		return 0;
	if (w->loop)
		w->loop->loop_stop();
	w->loop = NULL;
	int r = ev->loop_start(err);
	if (r == 0)
		w->loop = ev;
	return r;
}

void vf_watch_disconnect(vf_watch *w, const char *why)
{
	if (!w->conn && !w->events)
		return;
	vf_watch_log(3, "lost the connection to %s: %s; reconnecting",
		     w->cfg.connect ? w->cfg.connect : "libvirt", why);
	vf_watch__close_events(w);
	if (w->conn)
		w->backend->hv->close(w->conn);
	w->conn = NULL;
	w->reconnect_failures = 0;
	w->reconnect_at = vf_now_ms() + 1000;
	vf_watch_notify("STATUS=disconnected from libvirt; reconnecting");
}

/* Open the events source (when the backend has one) and the driver's
 * connection; on failure schedule the next attempt with backoff. A
 * success asks for a full pass. */
static void vf_watch__connect(vf_watch *w)
{
	vf_error err = { 0 };
	w->backend = vf_backend_for_uri(w->cfg.connect);
	const vf_event_driver *ev = w->backend->events;
	if ((!ev || (vf_watch__start_loop(w, ev, &err) == 0 &&
		     ev->open(w->cfg.connect, &w->events, &err) == 0)) &&
	    w->backend->hv->open(w->cfg.connect, NULL, &w->conn, &err) == 0) {
		vf_watch_log(w->reconnect_failures || w->last_result ? 5 : 6, "connected to %s",
			     w->backend->hv->uri(w->conn));
		w->reconnect_failures = 0;
		w->reconnect_at = 0;
		w->pass_now = true;
		w->pass_trigger = w->last_result ? "reconnected" : "start";
		return;
	}
	vf_watch__close_events(w);
	w->conn = NULL;
	w->reconnect_failures++;
	uint64_t delay = vf_backoff_delay(w->reconnect_failures, 1000, VF_RECONNECT_MAX_MS);
	vf_watch_log(3, "%s; retrying in %llus", err.message ? err.message : "cannot connect",
		     (unsigned long long)(delay / 1000));
	w->reconnect_at = vf_now_ms() + delay;
	/* systemd must not time the start out while libvirt is away: the
	 * daemon is up and doing its job, which includes waiting. */
	if (!w->ready_sent) {
		vf_watch_notify("READY=1\nSTATUS=waiting for libvirt: %s",
				err.message ? err.message : "cannot connect");
		w->ready_sent = true;
	}
	vf_error_clear(&err);
}

/* ---- configuration ------------------------------------------------------- */

/* File, then flags over it, then defaults. 0 or an error (not applied). */
static int vf_watch__read_config(vf_watch *w, vf_config *out, vf_error *err)
{
	vf_config c = { 0 };
	int r = vf_config_load(w->config_path, w->config_explicit, &c, err);
	if (r < 0)
		return r;
	vf_config_merge(&c, &w->flags);
	vf_config_defaults(&c);
	if (!c.manifests) {
		vf_config_free(&c);
		return vf_error_set(err, VF_E_USAGE,
				    "no manifest directory: give DIR or set 'manifests' in %s",
				    w->config_path);
	}
	*out = c;
	return 0;
}

static void vf_watch__apply_timings(vf_watch *w)
{
	w->backoff.base_ms = 1000;
	w->backoff.max_ms = (uint64_t)w->cfg.max_backoff_seconds * 1000u;
	w->next_resync = vf_now_ms() + (uint64_t)w->cfg.resync_seconds * 1000u;
}

/* SIGHUP: re-read the config file and take what can change live. */
static void vf_watch__reload(vf_watch *w)
{
	vf_config c = { 0 };
	vf_error err = { 0 };
	if (vf_watch__read_config(w, &c, &err) < 0) {
		if (err.pos.file)
			vf_watch_log(3, "reload: %s:%d:%d: %s; keeping the current settings",
				     err.pos.file, err.pos.line, err.pos.col, err.message);
		else
			vf_watch_log(3, "reload: %s; keeping the current settings", err.message);
		vf_error_clear(&err);
		w->pass_now = true;
		w->pass_trigger = "reload";
		return;
	}
	if (!vf_streq_null(c.state_dir, w->cfg.state_dir) ||
	    !vf_streq_null(c.runtime_dir, w->cfg.runtime_dir) ||
	    !vf_streq_null(c.socket_group, w->cfg.socket_group))
		vf_watch_log(4, "reload: state_dir, runtime_dir and socket_group change only on restart; keeping %s and %s",
			     w->cfg.state_dir, w->cfg.runtime_dir);
	free(c.state_dir);
	c.state_dir = vf_strdup(w->cfg.state_dir);
	free(c.runtime_dir);
	c.runtime_dir = vf_strdup(w->cfg.runtime_dir);
	free(c.socket_group);
	c.socket_group = vf_strdup(w->cfg.socket_group);
	bool new_dir = !vf_streq(c.manifests, w->cfg.manifests);
	bool new_uri = !vf_streq_null(c.connect, w->cfg.connect);
	vf_config_free(&w->cfg);
	w->cfg = c;
	vf_watch__apply_timings(w);
	vf_watch_set_log_level(w->cfg.log_level);
	if (new_dir) {
		vf_tree_watch *t = NULL;
		vf_tree_watch_stop(w->tree);
		w->tree = NULL;
		if (vf_tree_watch_start(w->cfg.manifests, &t, &err) < 0) {
			vf_watch_log(3, "reload: %s; relying on the periodic resync", err.message);
			vf_error_clear(&err);
		}
		w->tree = t;
	}
	if (new_uri) {
		vf_watch_disconnect(w, "reload changed the URI");
		w->reconnect_at = vf_now_ms();
	}
	vf_watch_log(5, "reloaded: manifests %s, debounce %ums, resync %us, max backoff %us",
		     w->cfg.manifests, w->cfg.debounce_ms, w->cfg.resync_seconds,
		     w->cfg.max_backoff_seconds);
	w->pass_now = true;
	w->pass_trigger = "reload";
}

/* ---- status socket ------------------------------------------------------------ */

static json_object *vf_watch__answer(const char *command, bool privileged, void *userdata)
{
	vf_watch *w = userdata;
	if (strcmp(command, "status") == 0) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "ok", json_object_new_boolean(true));
		json_object_object_add(o, "status", vf_watch_status_json(w));
		return o;
	}
	if (strcmp(command, "reload") == 0 || strcmp(command, "reconcile") == 0) {
		if (!privileged)
			return vf_status_error_response("this command changes things: use watch.sock");
		if (strcmp(command, "reload") == 0)
			vf_watch_reload_flag = 1;
		w->pass_now = true;
		w->pass_trigger = "requested";
		json_object *o = json_object_new_object();
		json_object_object_add(o, "ok", json_object_new_boolean(true));
		return o;
	}
	return vf_status_error_response("unknown command; try status, reload or reconcile");
}

/* ---- the loop ------------------------------------------------------------- */

static uint64_t vf_watch__min(uint64_t a, uint64_t b)
{
	return !a ? b : !b ? a : a < b ? a : b;
}

static void vf_watch__take_tree(vf_watch *w, uint64_t now)
{
	vf_tree_changes c;
	vf_tree_watch_take(w->tree, &c);
	if (c.error)
		vf_watch_log(4, "watching %s: %s", w->cfg.manifests, c.error);
	if (c.root_swapped)
		vf_watch_log(5, "%s now points to %s", w->cfg.manifests, c.root ? c.root : "nothing");
	if (c.root) {
		free(w->root_real);
		w->root_real = TAKE_PTR(c.root);
	}
	if (c.events) {
		vf_watch_log(7, "manifest change: %s (%u event%s)", c.last_path ? c.last_path : "?",
			     c.events, c.events == 1 ? "" : "s");
		vf_debounce_poke(&w->files, now, w->cfg.debounce_ms);
	}
	vf_tree_changes_clear(&c);
}

static void vf_watch__take_events(vf_watch *w, uint64_t now)
{
	vf_event_report rep;
	w->backend->events->take(w->events, &rep);
	if (rep.domain_events || rep.pool_events) {
		vf_watch_log(7, "libvirt: %s", rep.last ? rep.last : "event");
		vf_debounce_poke(&w->libvirt, now, VF_EVENT_DEBOUNCE_MS);
	}
	if (rep.closed)
		vf_watch_disconnect(w, rep.last ? rep.last : "connection closed");
	vf_event_report_clear(&rep);
}

static void vf_watch__run_pass(vf_watch *w, const char *trigger)
{
	w->pass_now = false;
	vf_debounce_fire(&w->files);
	vf_debounce_fire(&w->libvirt);
	if (!w->conn)
		return; /* the reconnect asks for a pass */
	/* A person changed something: whatever was backing off may work now. */
	if (w->backoff.n && (strcmp(trigger, "manifest change") == 0 || strcmp(trigger, "reload") == 0 ||
			     strcmp(trigger, "requested") == 0)) {
		vf_watch_log(6, "%s: retrying the %zu object%s that were backing off", trigger,
			     w->backoff.n, w->backoff.n == 1 ? "" : "s");
		uint64_t base = w->backoff.base_ms, max = w->backoff.max_ms;
		vf_backoff_free(&w->backoff);
		w->backoff.base_ms = base;
		w->backoff.max_ms = max;
	}
	w->last_pass_ms = vf_now_ms();
	vf_watch_serve_begin(w->serve, vf_watch_status_json(w), trigger);
	vf_watch_pass(w, trigger);
	vf_watch_serve_end(w->serve);
	if (!w->ready_sent) {
		vf_watch_notify("READY=1");
		w->ready_sent = true;
	}
}

static int vf_watch__loop(vf_watch *w)
{
	while (!vf_watch_stop_flag) {
		uint64_t now = vf_now_ms();
		bool want_pass, want_reload;
		vf_watch_serve_take(w->serve, &want_pass, &want_reload);
		if (want_reload)
			vf_watch_reload_flag = 1;
		if (want_pass) {
			w->pass_now = true;
			w->pass_trigger = "requested";
		}
		if (vf_watch_reload_flag) {
			vf_watch_reload_flag = 0;
			vf_watch_log(5, "reloading configuration and manifests");
			vf_watch_notify("RELOADING=1");
			vf_watch__reload(w);
			vf_watch_notify("READY=1");
		}
		if (!w->conn && w->reconnect_at && now >= w->reconnect_at)
			vf_watch__connect(w);
		if (w->watchdog_usec && now >= w->next_watchdog)
			vf_watch_heartbeat(w);

		const char *trigger = NULL;
		if (w->pass_now)
			trigger = w->pass_trigger ? w->pass_trigger : "requested";
		else if (vf_debounce_due(&w->files, now))
			trigger = "manifest change";
		else if (vf_debounce_due(&w->libvirt, now))
			trigger = "libvirt event";
		else if (now >= w->next_resync)
			trigger = "periodic resync";
		else if (vf_backoff_due_between(&w->backoff, w->last_pass_ms, now))
			trigger = "retry";
		if (trigger) {
			if (strcmp(trigger, "periodic resync") == 0 && w->tree)
				vf_tree_watch_recheck(w->tree);
			/* Every pass is a full one, so it also resets the resync clock. */
			w->next_resync = now + (uint64_t)w->cfg.resync_seconds * 1000u;
			vf_watch__run_pass(w, trigger);
			continue;
		}

		uint64_t due = w->next_resync;
		if (w->files.armed)
			due = vf_watch__min(due, w->files.deadline_ms);
		if (w->libvirt.armed)
			due = vf_watch__min(due, w->libvirt.deadline_ms);
		due = vf_watch__min(due, vf_backoff_next_due(&w->backoff, now));
		if (!w->conn)
			due = vf_watch__min(due, w->reconnect_at);
		if (w->watchdog_usec)
			due = vf_watch__min(due, w->next_watchdog);
		int timeout = due <= now ? 0 : (int)(due - now > INT_MAX ? INT_MAX : due - now);

		struct pollfd fds[5];
		nfds_t n = 0;
		int sfd[2];
		vf_status_server_fds(w->status, sfd);
		fds[n++] = (struct pollfd){ .fd = vf_watch_pipe[0], .events = POLLIN };
		fds[n++] = (struct pollfd){ .fd = sfd[0], .events = POLLIN };
		fds[n++] = (struct pollfd){ .fd = sfd[1], .events = POLLIN };
		fds[n++] = (struct pollfd){ .fd = w->tree ? vf_tree_watch_fd(w->tree) : -1, .events = POLLIN };
		fds[n++] = (struct pollfd){ .fd = w->events ? w->backend->events->fd(w->events) : -1,
					    .events = POLLIN };
		int pr = poll(fds, n, timeout);
		if (pr < 0 && errno != EINTR) {
			vf_watch_log(3, "poll: %s", strerror(errno));
			return -1;
		}
		if (pr <= 0)
			continue;
		now = vf_now_ms();
		if (fds[0].revents) {
			char buf[64];
			while (read(vf_watch_pipe[0], buf, sizeof(buf)) > 0)
				;
		}
		for (int i = 1; i <= 2; i++)
			if (fds[i].revents & POLLIN)
				vf_status_server_serve(w->status, fds[i].fd, vf_watch__answer, w);
		if (w->tree && (fds[3].revents & POLLIN))
			vf_watch__take_tree(w, now);
		if (w->events && (fds[4].revents & POLLIN))
			vf_watch__take_events(w, now);
	}
	return 0;
}

/* ---- command line ---------------------------------------------------------- */

static const char vf_usage_watch[] =
	"Usage: virtform watch [OPTIONS] DIR\n"
	"\n"
	"Keep the host converged to the manifests under DIR, forever: reconcile on\n"
	"file changes (debounced), on libvirt events (an owned domain destroyed out\n"
	"of band comes back), and on a periodic full resync. A failing object is\n"
	"retried with exponential backoff while the others keep converging. An\n"
	"invalid or rejected manifest set is reported and the last good one is\n"
	"still enforced. SIGHUP reloads; SIGTERM finishes the current step and exits.\n"
	"\n"
	"  -c, --connect URI          libvirt URI (default: libvirt's default)\n"
	"      --state-dir DIR        ledger, lock, image cache (" VF_WATCH_DEFAULT_STATE_DIR ")\n"
	"      --runtime-dir DIR      control sockets (" VF_WATCH_DEFAULT_RUNTIME_DIR ")\n"
	"      --config FILE          settings file (default " VF_CONFIG_DEFAULT_PATH ",\n"
	"                             which may be missing; FILE may not)\n"
	"      --debounce MS          quiet time after a file change (250)\n"
	"      --resync SECONDS       full resync period (60)\n"
	"      --max-backoff SECONDS  cap of a failing object's retry delay (300)\n"
	"      --log-level LEVEL      err, warning, notice, info (default) or debug\n"
	"      --socket-group GROUP   group allowed to use watch-ro.sock\n"
	"      --allow-empty          an empty manifest set removes what virtform\n"
	"                             owns (default: keep enforcing the last set)\n"
	"  -h, --help                 show this help\n"
	"\n"
	"Flags override the config file. See docs/watch.md.\n";

static const char vf_usage_status[] =
	"Usage: virtform status [--json] [--runtime-dir DIR] [--config FILE]\n"
	"\n"
	"Ask the running 'virtform watch' daemon how things stand: when it last\n"
	"reconciled and with what result, current manifest errors (FILE:LINE:COL),\n"
	"each object's state, and what is being retried and when.\n"
	"\n"
	"      --json            print the daemon's status document as JSON\n"
	"      --runtime-dir DIR the daemon's runtime directory, where its sockets are\n"
	"                        (" VF_WATCH_DEFAULT_RUNTIME_DIR ")\n"
	"      --config FILE     read runtime_dir from this settings file\n"
	"  -h, --help            show this help\n"
	"\n"
	"Exit status: 0 the daemon answered, 1 no daemon runs or it failed, 2 usage.\n";

static int vf_watch__usage(const char *cmd, const char *fmt, ...) VF_PRINTF(2, 3);
static int vf_watch__usage(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("virtform: ", stderr);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'virtform %s --help'.\n", cmd);
	return VF_EXIT_USAGE;
}

enum {
	OPT_STATE_DIR = 0x100,
	OPT_CONFIG,
	OPT_DEBOUNCE,
	OPT_RESYNC,
	OPT_MAX_BACKOFF,
	OPT_LOG_LEVEL,
	OPT_SOCKET_GROUP,
	OPT_RUNTIME_DIR,
	OPT_JSON,
	OPT_ALLOW_EMPTY,
};

static const struct {
	int opt;
	const char *key;
} vf_watch__opt_keys[] = {
	{ 'c', "connect" },
	{ OPT_STATE_DIR, "state_dir" },
	{ OPT_DEBOUNCE, "debounce_ms" },
	{ OPT_RESYNC, "resync_seconds" },
	{ OPT_MAX_BACKOFF, "max_backoff_seconds" },
	{ OPT_LOG_LEVEL, "log_level" },
	{ OPT_SOCKET_GROUP, "socket_group" },
	{ OPT_RUNTIME_DIR, "runtime_dir" },
};

/* Parse watch's options into w->flags; -1 to go on, else an exit code. */
static int vf_watch__parse(vf_watch *w, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "connect", required_argument, NULL, 'c' },
		{ "state-dir", required_argument, NULL, OPT_STATE_DIR },
		{ "config", required_argument, NULL, OPT_CONFIG },
		{ "debounce", required_argument, NULL, OPT_DEBOUNCE },
		{ "resync", required_argument, NULL, OPT_RESYNC },
		{ "max-backoff", required_argument, NULL, OPT_MAX_BACKOFF },
		{ "log-level", required_argument, NULL, OPT_LOG_LEVEL },
		{ "socket-group", required_argument, NULL, OPT_SOCKET_GROUP },
		{ "allow-empty", no_argument, NULL, OPT_ALLOW_EMPTY },
		{ "runtime-dir", required_argument, NULL, OPT_RUNTIME_DIR },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *cmd = argv[0];
	int c, li = -1;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+c:h", opts, &li)) != -1) {
		if (c == 'h') {
			fputs(vf_usage_watch, stdout);
			return VF_EXIT_OK;
		}
		if (c == OPT_CONFIG) {
			w->config_path = optarg;
			w->config_explicit = true;
			continue;
		}
		if (c == OPT_ALLOW_EMPTY) {
			vf_config_set(&w->flags, "allowEmpty", "true", NULL);
			continue;
		}
		const char *key = NULL;
		for (size_t i = 0; i < VF_ARRAY_SIZE(vf_watch__opt_keys); i++)
			if (vf_watch__opt_keys[i].opt == c)
				key = vf_watch__opt_keys[i].key;
		if (key) {
			vf_error err = { 0 };
			if (vf_config_set(&w->flags, key, optarg, &err) < 0) {
				int rc = vf_watch__usage(cmd, "%s%s: %s", c == 'c' ? "-" : "--",
							 c == 'c' ? "c" : opts[li].name, err.message);
				vf_error_clear(&err);
				return rc;
			}
			continue;
		}
		if (optopt && optopt < 0x100 && optopt != '?')
			return vf_watch__usage(cmd, "option -%c needs an argument", optopt);
		if (optopt >= 0x100)
			return vf_watch__usage(cmd, "option '%s' needs an argument", argv[optind - 1]);
		return vf_watch__usage(cmd, "unknown option '%s'", argv[optind - 1]);
	}
	if (argc - optind > 1)
		return vf_watch__usage(cmd, "watch takes one manifest DIR, not several (extra: '%s')",
				       argv[optind + 1]);
	if (argc - optind == 1)
		vf_config_set(&w->flags, "manifests", argv[optind], NULL);
	return -1;
}

static void vf_watch__teardown(vf_watch *w)
{
	if (vf_watch__beating == w) {
		vf_heartbeat_hook = NULL;
		vf_watch__beating = NULL;
	}
	vf_watch__close_events(w);
	if (w->conn)
		w->backend->hv->close(w->conn);
	if (w->loop)
		w->loop->loop_stop();
	vf_tree_watch_stop(w->tree);
	vf_watch_serve_stop(w->serve); /* before the sockets it serves */
	vf_status_server_close(w->status);
	vf_fcntl_lock_driver.unlock(w->lock);
	vf_watch_pass_state_free(w);
	vf_config_free(&w->cfg);
	vf_config_free(&w->flags);
	free(w->root_real);
	if (w->signals_installed)
		vf_watch__signals_done();
}

static int vf_watch__fail(vf_watch *w, vf_error *err)
{
	if (err->pos.file)
		vf_watch_log(3, "%s:%d:%d: error: %s", err->pos.file, err->pos.line, err->pos.col,
			     err->message);
	else
		vf_watch_log(3, "%s", err->message ? err->message : vf_code_to_string(err->code));
	vf_error_clear(err);
	vf_watch__teardown(w);
	return VF_EXIT_FAIL;
}

int vf_watch_main(int argc, char **argv)
{
	vf_watch w = { .config_path = VF_CONFIG_DEFAULT_PATH, .manifests_state = "unloaded" };
	vf_error err = { 0 };
	vf_watch_stop_flag = 0;
	vf_watch_reload_flag = 0;
	int rc = vf_watch__parse(&w, argc, argv);
	if (rc >= 0) {
		vf_config_free(&w.flags);
		return rc;
	}
	if (vf_watch__read_config(&w, &w.cfg, &err) < 0) {
		if (err.code == VF_E_USAGE && !err.pos.file) {
			rc = vf_watch__usage(argv[0], "%s", err.message);
			vf_error_clear(&err);
			vf_config_free(&w.flags);
			return rc;
		}
		return vf_watch__fail(&w, &err);
	}
	vf_watch__apply_timings(&w);
	w.started = time(NULL);

	/* One reconciler per state directory, for the daemon's whole life.
	 * Taken first, so a refused second daemon touches nothing else. */
	if (vf_statedir_check(w.cfg.state_dir, "state directory", 0700, &err) < 0)
		return vf_watch__fail(&w, &err);
	vf_lock_holder holder = { 0 };
	int r = vf_fcntl_lock_driver.lock(VF_LOCK_RECONCILE, w.cfg.state_dir, 0, &w.lock, &holder, &err);
	vf_lock_holder_clear(&holder);
	if (r < 0)
		return vf_watch__fail(&w, &err);
	unsigned swept = vf_statedir_clean(w.cfg.state_dir, w.started);
	vf_watch_set_log_level(w.cfg.log_level); /* process-wide: only once we own the state dir */
	if (swept)
		vf_watch_log(6, "removed %u temporary file%s a killed run left in %s", swept,
			     swept == 1 ? "" : "s", w.cfg.state_dir);
	if (vf_watch__signals(&err) < 0)
		return vf_watch__fail(&w, &err);
	w.signals_installed = true;
	if (vf_status_server_open(w.cfg.runtime_dir, w.cfg.socket_group, &w.status, &err) < 0 ||
	    vf_watch_serve_start(w.status, vf_watch_pipe[1], &w.serve, &err) < 0)
		return vf_watch__fail(&w, &err);
	if (vf_tree_watch_start(w.cfg.manifests, &w.tree, &err) < 0)
		return vf_watch__fail(&w, &err);
	char real[PATH_MAX];
	if (realpath(w.cfg.manifests, real))
		w.root_real = vf_strdup(real);
	/* A backend without events leaves out-of-band changes to the resync. */
	w.backend = vf_backend_for_uri(w.cfg.connect);
	if (w.backend->events && vf_watch__start_loop(&w, w.backend->events, &err) < 0)
		return vf_watch__fail(&w, &err);
	uint64_t wd = 0;
	if (sd_watchdog_enabled(0, &wd) > 0) {
		w.watchdog_usec = wd;
		w.next_watchdog = vf_now_ms();
	}
	vf_watch__beating = &w;
	vf_heartbeat_hook = vf_watch__heartbeat_hook;
	vf_watch_log(6, "virtform %s watching %s (state %s, sockets in %s, debounce %ums, resync %us, max backoff %us)",
		     VF_VERSION, w.cfg.manifests, w.cfg.state_dir, w.cfg.runtime_dir, w.cfg.debounce_ms,
		     w.cfg.resync_seconds, w.cfg.max_backoff_seconds);
	vf_watch__connect(&w);

	rc = vf_watch__loop(&w) < 0 ? VF_EXIT_FAIL : VF_EXIT_OK;
	vf_watch_notify("STOPPING=1");
	vf_watch_log(6, "stopping");
	vf_watch__teardown(&w);
	return rc;
}

int vf_status_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, OPT_JSON },
		{ "runtime-dir", required_argument, NULL, OPT_RUNTIME_DIR },
		{ "state-dir", required_argument, NULL, OPT_STATE_DIR },
		{ "config", required_argument, NULL, OPT_CONFIG },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *cmd = argv[0];
	const char *runtime_dir = NULL;
	const char *config = VF_CONFIG_DEFAULT_PATH;
	bool config_explicit = false, json = false;
	int c;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			fputs(vf_usage_status, stdout);
			return VF_EXIT_OK;
		case OPT_JSON:
			json = true;
			break;
		case OPT_RUNTIME_DIR:
			runtime_dir = optarg;
			break;
		case OPT_STATE_DIR:
			return vf_watch__usage(cmd, "status finds the daemon by its runtime directory, where its sockets are, not by its state directory: give --runtime-dir DIR (default " VF_WATCH_DEFAULT_RUNTIME_DIR ")");
		case OPT_CONFIG:
			config = optarg;
			config_explicit = true;
			break;
		default:
			if (optopt >= 0x100)
				return vf_watch__usage(cmd, "option '%s' needs an argument", argv[optind - 1]);
			return vf_watch__usage(cmd, "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return vf_watch__usage(cmd, "status takes no arguments (got '%s')", argv[optind]);

	vf_config cfg = { 0 };
	vf_error err = { 0 };
	int rc = VF_EXIT_FAIL;
	json_object *resp = NULL;
	if (!runtime_dir) {
		/* The daemon's own defaults and file: the one place they live. */
		if (vf_config_load(config, config_explicit, &cfg, &err) < 0) {
			vf_error_print(stderr, &err, false);
			goto out;
		}
		vf_config_defaults(&cfg);
		runtime_dir = cfg.runtime_dir;
	}
	if (vf_status_request(runtime_dir, "status", false, &resp, &err) < 0) {
		fprintf(stderr, "virtform: %s\n", err.message);
		goto out;
	}
	json_object *ok = NULL, *st = NULL, *why = NULL;
	json_object_object_get_ex(resp, "ok", &ok);
	if (!ok || !json_object_get_boolean(ok) || !json_object_object_get_ex(resp, "status", &st)) {
		json_object_object_get_ex(resp, "error", &why);
		fprintf(stderr, "virtform: the daemon refused: %s\n",
			why ? json_object_get_string(why) : "no reason given");
		goto out;
	}
	if (json) {
		puts(json_object_to_json_string_ext(st, JSON_C_TO_STRING_PRETTY |
								  JSON_C_TO_STRING_NOSLASHESCAPE));
	} else {
		_cleanup_free_ char *text = vf_status_format_text(st);
		fputs(text, stdout);
	}
	rc = VF_EXIT_OK;
out:
	json_object_put(resp);
	vf_error_clear(&err);
	vf_config_free(&cfg);
	return rc;
}
