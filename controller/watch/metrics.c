/* metrics.c: the watch daemon's Prometheus metrics (metrics.h): counters
 * and gauges under one mutex, rendered in the text exposition format
 * (version 0.0.4), and a small HTTP/1.0 server thread answering
 * `GET /metrics` on a Unix socket or 127.0.0.1. Names follow
 * controller-runtime's reconcile metrics and the kubelet's. Not a general
 * HTTP server: one request per connection, then close. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "controller/watch/metrics.h"

/* controller-runtime's reconcile_time_seconds buckets (seconds). */
static const double vf_metrics__buckets[] = { 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
					      2.5,   5,    10,    15,   30,  60,   120, 300 };
#define VF_METRICS_N_BUCKETS (sizeof(vf_metrics__buckets) / sizeof(vf_metrics__buckets[0]))

/* The results a pass ends with (watch_pass.c); anything else is "other". */
static const char *const vf_metrics__results[] = {
	"converged", "retrying", "failed", "rejected", "blocked", "not-converged", "error", "other",
};
#define VF_METRICS_N_RESULTS (sizeof(vf_metrics__results) / sizeof(vf_metrics__results[0]))

static const char *const vf_metrics__outcomes[] = { "started", "done", "failed", "skipped" };
#define VF_METRICS_N_OUTCOMES (sizeof(vf_metrics__outcomes) / sizeof(vf_metrics__outcomes[0]))

/* Everything below is guarded by vf_metrics__lock. */
static pthread_mutex_t vf_metrics__lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	uint64_t passes[VF_METRICS_N_RESULTS];
	uint64_t hist[VF_METRICS_N_BUCKETS]; /* cumulative at render time, per bucket here */
	uint64_t hist_count;
	double hist_sum;
	double last_pass_time;               /* unix seconds; 0: none yet */
	uint64_t planned[VF_KIND_MAX][VF_ACT_MAX];
	uint64_t drift[VF_KIND_MAX];
	uint64_t steps[VF_KIND_MAX][VF_ACT_MAX][VF_METRICS_N_OUTCOMES];
	uint64_t managed[VF_KIND_MAX];
	uint64_t conflicts, conflicts_total;  /* last plan; every plan */
	uint64_t blocked, blocked_total;
	uint64_t leases;
	uint64_t reconnects;
	bool connected;
	uint64_t download_bytes, downloads;
	double started;
} vf_metrics__m;

static double vf_metrics__now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void vf_metrics_pass(const char *result, uint64_t ms)
{
	size_t r = VF_METRICS_N_RESULTS - 1;
	for (size_t i = 0; result && i + 1 < VF_METRICS_N_RESULTS; i++)
		if (strcmp(result, vf_metrics__results[i]) == 0)
			r = i;
	double s = (double)ms / 1000.0;
	pthread_mutex_lock(&vf_metrics__lock);
	vf_metrics__m.passes[r]++;
	for (size_t i = 0; i < VF_METRICS_N_BUCKETS; i++)
		if (s <= vf_metrics__buckets[i]) {
			vf_metrics__m.hist[i]++;
			break;
		}
	vf_metrics__m.hist_count++;
	vf_metrics__m.hist_sum += s;
	vf_metrics__m.last_pass_time = vf_metrics__now();
	pthread_mutex_unlock(&vf_metrics__lock);
}

void vf_metrics_plan(const vf_plan *plan, size_t n_conflicts)
{
	pthread_mutex_lock(&vf_metrics__lock);
	vf_metrics__m.conflicts = n_conflicts;
	vf_metrics__m.conflicts_total += n_conflicts;
	vf_metrics__m.blocked = 0;
	vf_metrics__m.leases = plan ? plan->n_leases : 0;
	for (size_t i = 0; plan && i < plan->n; i++) {
		const vf_step *s = &plan->steps[i];
		if ((int)s->kind < 0 || s->kind >= VF_KIND_MAX || (int)s->action < 0 || s->action >= VF_ACT_MAX)
			continue;
		vf_metrics__m.planned[s->kind][s->action]++;
		if (s->action == VF_ACT_UPDATE && s->n_changes)
			vf_metrics__m.drift[s->kind]++;
		if (s->action == VF_ACT_BLOCKED)
			vf_metrics__m.blocked++;
	}
	vf_metrics__m.blocked_total += vf_metrics__m.blocked;
	pthread_mutex_unlock(&vf_metrics__lock);
}

void vf_metrics_managed(const vf_desired *d)
{
	uint64_t n[VF_KIND_MAX] = { 0 };
	for (size_t i = 0; d && i < d->n; i++)
		if ((int)d->objs[i].kind >= 0 && d->objs[i].kind < VF_KIND_MAX)
			n[d->objs[i].kind]++;
	pthread_mutex_lock(&vf_metrics__lock);
	memcpy(vf_metrics__m.managed, n, sizeof(n));
	pthread_mutex_unlock(&vf_metrics__lock);
}

void vf_metrics_step(vf_kind kind, vf_action action, vf_step_outcome outcome)
{
	if (outcome == VF_STEP_STARTED || (int)kind < 0 || kind >= VF_KIND_MAX || (int)action < 0 ||
	    action >= VF_ACT_MAX || (size_t)outcome >= VF_METRICS_N_OUTCOMES)
		return;
	pthread_mutex_lock(&vf_metrics__lock);
	vf_metrics__m.steps[kind][action][outcome]++;
	pthread_mutex_unlock(&vf_metrics__lock);
}

void vf_metrics_connection(bool up, bool reconnect)
{
	pthread_mutex_lock(&vf_metrics__lock);
	vf_metrics__m.connected = up;
	if (up && reconnect)
		vf_metrics__m.reconnects++;
	pthread_mutex_unlock(&vf_metrics__lock);
}

void vf_metrics_download(uint64_t bytes)
{
	pthread_mutex_lock(&vf_metrics__lock);
	vf_metrics__m.download_bytes += bytes;
	vf_metrics__m.downloads++;
	pthread_mutex_unlock(&vf_metrics__lock);
}

/* ---- rendering ------------------------------------------------------------- */

static void vf_metrics__head(vf_buf *b, const char *name, const char *type, const char *help)
{
	vf_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

char *vf_metrics_render(void)
{
	vf_buf b = { 0 };
	pthread_mutex_lock(&vf_metrics__lock);
	const typeof(vf_metrics__m) *m = &vf_metrics__m;

	vf_metrics__head(&b, "virtform_build_info", "gauge", "The running virtform's version.");
	vf_buf_printf(&b, "virtform_build_info{version=\"%s\"} 1\n", VF_VERSION);
	vf_metrics__head(&b, "process_start_time_seconds", "gauge", "When the daemon started (unix time).");
	vf_buf_printf(&b, "process_start_time_seconds %.3f\n", m->started);

	vf_metrics__head(&b, "virtform_reconcile_total", "counter",
			 "Reconcile passes, by how they ended.");
	for (size_t i = 0; i < VF_METRICS_N_RESULTS; i++)
		vf_buf_printf(&b, "virtform_reconcile_total{result=\"%s\"} %llu\n", vf_metrics__results[i],
			      (unsigned long long)m->passes[i]);
	vf_metrics__head(&b, "virtform_reconcile_time_seconds", "histogram",
			 "How long a reconcile pass took (load, observe, plan, apply, re-plan).");
	uint64_t cum = 0;
	for (size_t i = 0; i < VF_METRICS_N_BUCKETS; i++) {
		cum += m->hist[i];
		vf_buf_printf(&b, "virtform_reconcile_time_seconds_bucket{le=\"%g\"} %llu\n",
			      vf_metrics__buckets[i], (unsigned long long)cum);
	}
	vf_buf_printf(&b, "virtform_reconcile_time_seconds_bucket{le=\"+Inf\"} %llu\n",
		      (unsigned long long)m->hist_count);
	vf_buf_printf(&b, "virtform_reconcile_time_seconds_sum %.6f\n", m->hist_sum);
	vf_buf_printf(&b, "virtform_reconcile_time_seconds_count %llu\n",
		      (unsigned long long)m->hist_count);
	vf_metrics__head(&b, "virtform_last_reconcile_timestamp_seconds", "gauge",
			 "When the last pass ended (unix time; 0: none yet).");
	vf_buf_printf(&b, "virtform_last_reconcile_timestamp_seconds %.3f\n", m->last_pass_time);

	vf_metrics__head(&b, "virtform_plan_steps_total", "counter",
			 "Steps the passes' plans contained, by kind and action.");
	for (int k = 0; k < VF_KIND_MAX; k++)
		for (int a = 0; a < VF_ACT_MAX; a++)
			vf_buf_printf(&b, "virtform_plan_steps_total{kind=\"%s\",action=\"%s\"} %llu\n",
				      vf_kind_to_string((vf_kind)k), vf_action_to_string((vf_action)a),
				      (unsigned long long)m->planned[k][a]);
	vf_metrics__head(&b, "virtform_steps_total", "counter",
			 "Steps carried out, by kind, action and outcome (done, failed, skipped).");
	for (int k = 0; k < VF_KIND_MAX; k++)
		for (int a = 0; a < VF_ACT_MAX; a++)
			for (size_t o = 1; o < VF_METRICS_N_OUTCOMES; o++)
				vf_buf_printf(&b, "virtform_steps_total{kind=\"%s\",action=\"%s\",outcome=\"%s\"} %llu\n",
					      vf_kind_to_string((vf_kind)k),
					      vf_action_to_string((vf_action)a), vf_metrics__outcomes[o],
					      (unsigned long long)m->steps[k][a][o]);
	vf_metrics__head(&b, "virtform_drift_total", "counter",
			 "Objects found to differ from their manifest (update steps with changed fields), by kind.");
	for (int k = 0; k < VF_KIND_MAX; k++)
		vf_buf_printf(&b, "virtform_drift_total{kind=\"%s\"} %llu\n",
			      vf_kind_to_string((vf_kind)k), (unsigned long long)m->drift[k]);
	vf_metrics__head(&b, "virtform_managed_objects", "gauge",
			 "Objects in the manifest set being enforced, by kind.");
	for (int k = 0; k < VF_KIND_MAX; k++)
		vf_buf_printf(&b, "virtform_managed_objects{kind=\"%s\"} %llu\n",
			      vf_kind_to_string((vf_kind)k), (unsigned long long)m->managed[k]);
	vf_metrics__head(&b, "virtform_plan_conflicts", "gauge",
			 "Conflicts that rejected the last pass's plan.");
	vf_buf_printf(&b, "virtform_plan_conflicts %llu\n", (unsigned long long)m->conflicts);
	vf_metrics__head(&b, "virtform_plan_conflicts_total", "counter", "Conflicts found, every pass.");
	vf_buf_printf(&b, "virtform_plan_conflicts_total %llu\n", (unsigned long long)m->conflicts_total);
	vf_metrics__head(&b, "virtform_plan_blocked_steps", "gauge",
			 "Blocked steps (would destroy data or break a lease) in the last pass's plan.");
	vf_buf_printf(&b, "virtform_plan_blocked_steps %llu\n", (unsigned long long)m->blocked);
	vf_metrics__head(&b, "virtform_plan_blocked_steps_total", "counter", "Blocked steps, every pass.");
	vf_buf_printf(&b, "virtform_plan_blocked_steps_total %llu\n", (unsigned long long)m->blocked_total);
	vf_metrics__head(&b, "virtform_leases_held", "gauge",
			 "Disk content leases (virtlockd's) the last plan observed held.");
	vf_buf_printf(&b, "virtform_leases_held %llu\n", (unsigned long long)m->leases);

	vf_metrics__head(&b, "virtform_libvirt_connected", "gauge", "1 while connected to libvirt.");
	vf_buf_printf(&b, "virtform_libvirt_connected %d\n", m->connected ? 1 : 0);
	vf_metrics__head(&b, "virtform_libvirt_reconnects_total", "counter",
			 "Connections to libvirt made again after one was lost.");
	vf_buf_printf(&b, "virtform_libvirt_reconnects_total %llu\n", (unsigned long long)m->reconnects);
	vf_metrics__head(&b, "virtform_download_bytes_total", "counter", "Bytes of images downloaded.");
	vf_buf_printf(&b, "virtform_download_bytes_total %llu\n", (unsigned long long)m->download_bytes);
	vf_metrics__head(&b, "virtform_downloads_total", "counter", "Image downloads finished.");
	vf_buf_printf(&b, "virtform_downloads_total %llu\n", (unsigned long long)m->downloads);
	pthread_mutex_unlock(&vf_metrics__lock);
	return vf_buf_steal(&b);
}

/* ---- the server ------------------------------------------------------------ */

typedef struct vf_metrics_addr {
	bool is_unix;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	unsigned port;
} vf_metrics_addr;

static int vf_metrics__parse(const char *addr, vf_metrics_addr *out, vf_error *err)
{
	vf_metrics_addr a = { 0 };
	const char *p = strncmp(addr, "unix:", 5) == 0 ? addr + 5 : addr;
	if (p[0] == '/') {
		if (strlen(p) >= sizeof(a.path))
			return vf_error_set(err, VF_E_USAGE, "metrics socket path %s is too long for a Unix socket", p);
		a.is_unix = true;
		snprintf(a.path, sizeof(a.path), "%s", p);
	} else {
		const char *colon = strrchr(addr, ':');
		char *end = NULL;
		unsigned long port = colon ? strtoul(colon + 1, &end, 10) : 0;
		size_t hl = colon ? (size_t)(colon - addr) : 0;
		bool local = (hl == 9 && strncmp(addr, "127.0.0.1", 9) == 0) ||
			     (hl == 9 && strncmp(addr, "localhost", 9) == 0);
		if (!colon || !local || !end || end == colon + 1 || *end || port < 1 || port > 65535)
			return vf_error_set(err, VF_E_USAGE,
					    "metrics takes unix:/PATH, /PATH or 127.0.0.1:PORT (metrics are served on this host only), not '%s'",
					    addr);
		a.port = (unsigned)port;
	}
	*out = a;
	return 0;
}

int vf_metrics_addr_check(const char *addr, vf_error *err)
{
	vf_metrics_addr a;
	return vf_metrics__parse(addr, &a, err);
}

static struct {
	int fd;                   /* listening socket; -1: not serving */
	int stop[2];              /* self-pipe: a byte stops the thread */
	pthread_t thread;
	bool running;             /* thread was started */
	vf_metrics_addr addr;
} vf_metrics__srv = { .fd = -1, .stop = { -1, -1 } };

/* One connection: read the request head (2 s at most), answer, close. */
static void vf_metrics__answer(int fd)
{
	char req[2048];
	size_t len = 0;
	while (len < sizeof(req) - 1) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, 2000) <= 0)
			break;
		ssize_t n = read(fd, req + len, sizeof(req) - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
		req[len] = 0;
		if (strstr(req, "\r\n\r\n") || strstr(req, "\n\n"))
			break;
	}
	req[len] = 0;
	_cleanup_free_ char *body = NULL;
	const char *status = "200 OK", *type = "text/plain; version=0.0.4; charset=utf-8";
	if (strncmp(req, "GET /metrics ", 13) == 0 || strncmp(req, "GET /metrics?", 13) == 0 ||
	    strncmp(req, "GET / ", 6) == 0) {
		body = vf_metrics_render();
	} else {
		status = "404 Not Found";
		type = "text/plain; charset=utf-8";
		body = vf_strdup("virtform serves GET /metrics only\n");
	}
	_cleanup_free_ char *head = vf_asprintf("HTTP/1.0 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
						"Connection: close\r\n\r\n", status, type, strlen(body));
	const char *parts[] = { head, body };
	for (size_t i = 0; i < 2; i++) {
		size_t off = 0, n = strlen(parts[i]);
		while (off < n) {
			ssize_t w = send(fd, parts[i] + off, n - off, MSG_NOSIGNAL);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				return;
			off += (size_t)w;
		}
	}
}

static void *vf_metrics__thread(void *arg)
{
	(void)arg;
	for (;;) {
		struct pollfd p[2] = { { .fd = vf_metrics__srv.fd, .events = POLLIN },
				       { .fd = vf_metrics__srv.stop[0], .events = POLLIN } };
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents)
			break;
		if (!(p[0].revents & POLLIN))
			continue;
		int c = accept4(vf_metrics__srv.fd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			continue;
		vf_metrics__answer(c);
		close(c);
	}
	return NULL;
}

static int vf_metrics__listen(const vf_metrics_addr *a, vf_error *err)
{
	int fd = socket(a->is_unix ? AF_UNIX : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return vf_error_set(err, VF_E_IO, "metrics: socket: %s", strerror(errno));
	int r;
	if (a->is_unix) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", a->path);
		struct stat st;
		/* A socket a killed daemon left behind; never anything else. */
		if (lstat(a->path, &st) == 0 && S_ISSOCK(st.st_mode))
			unlink(a->path);
		r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
		/* Metrics carry counts and kinds, no names: anyone on the host may scrape. */
		if (r == 0)
			chmod(a->path, 0666);
	} else {
		int one = 1;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)a->port),
					  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	}
	if (r < 0 || listen(fd, 16) < 0) {
		int e = errno;
		close(fd);
		if (a->is_unix)
			return vf_error_set(err, VF_E_IO, "metrics: cannot listen on %s: %s", a->path, strerror(e));
		return vf_error_set(err, VF_E_IO, "metrics: cannot listen on 127.0.0.1:%u: %s", a->port,
				    strerror(e));
	}
	return fd;
}

int vf_metrics_serve_start(const char *addr, vf_error *err)
{
	vf_metrics_addr a;
	if (vf_metrics__parse(addr, &a, err) < 0)
		return -VF_E_USAGE;
	pthread_mutex_lock(&vf_metrics__lock);
	vf_metrics__m.started = vf_metrics__now();
	pthread_mutex_unlock(&vf_metrics__lock);
	int fd = vf_metrics__listen(&a, err);
	if (fd < 0)
		return fd;
	if (pipe2(vf_metrics__srv.stop, O_CLOEXEC) < 0) {
		close(fd);
		return vf_error_set(err, VF_E_IO, "metrics: pipe: %s", strerror(errno));
	}
	vf_metrics__srv.fd = fd;
	vf_metrics__srv.addr = a;
	int e = pthread_create(&vf_metrics__srv.thread, NULL, vf_metrics__thread, NULL);
	vf_metrics__srv.running = e == 0;
	if (e) {
		vf_metrics_serve_stop();
		return vf_error_set(err, VF_E_IO, "metrics: cannot start its thread: %s", strerror(e));
	}
	return 0;
}

void vf_metrics_serve_stop(void)
{
	if (vf_metrics__srv.fd < 0)
		return;
	if (vf_metrics__srv.running) {
		ssize_t w = write(vf_metrics__srv.stop[1], "x", 1);
		(void)w;
		pthread_join(vf_metrics__srv.thread, NULL);
	}
	close(vf_metrics__srv.fd);
	close(vf_metrics__srv.stop[0]);
	close(vf_metrics__srv.stop[1]);
	if (vf_metrics__srv.addr.is_unix)
		unlink(vf_metrics__srv.addr.path);
	vf_metrics__srv.fd = -1;
	vf_metrics__srv.stop[0] = vf_metrics__srv.stop[1] = -1;
	vf_metrics__srv.running = false;
}
