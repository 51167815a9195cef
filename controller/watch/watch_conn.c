/* watch_conn.c: the daemon's connection: start the backend's event loop,
 * connect (events source, then the driver), and on a lost connection drop
 * it and schedule a reconnect with backoff. */
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

#include "controller/watch/watch_cache.h"
#include "controller/watch/watch_conn.h"
#include "controller/watch/metrics.h"

#define VF_RECONNECT_MAX_MS 30000u

/* ---- connection -------------------------------------------------------- */

/* The events source belongs to w->backend, which opened it. */
void vf_watch__close_events(vf_watch *w)
{
	if (w->events)
		w->backend->events->close(w->events);
	w->events = NULL;
}

/* Have ev's event loop running (the backend's rule: before it opens any
 * connection). Only a reload to a URI of another backend changes it. */
int vf_watch__start_loop(vf_watch *w, const vf_event_driver *ev, vf_error *err)
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
	/* Whatever happened while nobody listened is unknown: relist. */
	_cleanup_free_ char *lost = vf_asprintf("lost the connection: %s", why);
	vf_watch_cache_invalidate(w, lost);
	vf_watch__close_events(w);
	if (w->conn)
		w->backend->hv->close(w->conn);
	w->conn = NULL;
	vf_metrics_connection(false, false);
	w->reconnect_failures = 0;
	w->reconnect_at = vf_now_ms() + 1000;
	vf_watch_notify("STATUS=disconnected from libvirt; reconnecting");
}

/* Open the events source (when the backend has one) and the driver's
 * connection; on failure schedule the next attempt with backoff. A
 * success asks for a full pass. */
void vf_watch__connect(vf_watch *w)
{
	vf_error err = { 0 };
	w->backend = vf_backend_for_uri(w->cfg.connect);
	const vf_event_driver *ev = w->backend->events;
	if ((!ev || (vf_watch__start_loop(w, ev, &err) == 0 &&
		     ev->open(w->cfg.connect, &w->events, &err) == 0)) &&
	    w->backend->hv->open(w->cfg.connect, NULL, &w->conn, &err) == 0) {
		vf_watch_log(w->reconnect_failures || w->last_result ? 5 : 6, "connected to %s",
			     w->backend->hv->uri(w->conn));
		vf_metrics_connection(true, w->last_result != NULL);
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
