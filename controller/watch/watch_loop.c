/* watch_loop.c: the watch daemon's main loop. Polls a self-pipe
 * (signals), the manifest tree watcher, libvirt events and the control
 * sockets, and runs a reconcile pass (watch_pass.c) when a debounce,
 * resync, retry or reconnect timer comes due; rereads the configuration
 * on SIGHUP. */
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

#include "controller/core/statedir.h"
#include "controller/watch/watch_cache.h"
#include "controller/watch/watch_conn.h"
#include "controller/watch/watch_loop.h"
#include "controller/watch/watch_pass.h"
#include "controller/watch/metrics.h"
#include "controller/watch/fleet.h"

/* Libvirt events start a pass at once: each names its object, which the
 * pass reads again on its own, so there is nothing to wait for. A burst
 * coalesces by itself: what arrives during a pass is one pass after it. */
#define VF_EVENT_DEBOUNCE_MS 0u


/* ---- configuration ------------------------------------------------------- */

int vf_watch__read_config(vf_watch *w, vf_config *out, vf_error *err)
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

void vf_watch__apply_timings(vf_watch *w)
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
	if (!vf_streq_null(c.etcd, w->cfg.etcd) || !vf_streq_null(c.host_id, w->cfg.host_id) ||
	    !vf_streq_null(c.etcd_prefix, w->cfg.etcd_prefix) ||
	    !vf_streq_null(c.host_labels, w->cfg.host_labels) || c.lease_ttl_ms != w->cfg.lease_ttl_ms ||
	    !vf_streq_null(c.fence_watchdog, w->cfg.fence_watchdog) ||
	    c.fence_watchdog_ms != w->cfg.fence_watchdog_ms ||
	    !vf_streq_null(c.fence_helper, w->cfg.fence_helper))
		vf_watch_log(4, "reload: the fleet settings (etcd, host_id, etcd_prefix, lease_ttl, host_labels, fence_*) change only on restart; keeping the running ones");
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
	if (strcmp(command, "resync") == 0) {
		/* The cache against a fresh listing now, as the periodic resync
		 * does; a pass follows when they disagreed. */
		if (!privileged)
			return vf_status_error_response("this command lists the whole host: use watch.sock");
		if (!w->conn || !vf_watch_cache_observer(w, &(vf_observer){ 0 }))
			return vf_status_error_response("no cache to check: not connected, or the backend has no events");
		vf_error err = { 0 };
		if (vf_watch_cache_resync(w, &err) < 0) {
			json_object *e = vf_status_error_response(err.message ? err.message : "resync failed");
			vf_error_clear(&err);
			return e;
		}
		if (w->cache.last_disagreements) {
			w->pass_now = true;
			w->pass_trigger = "requested resync";
		}
		json_object *o = json_object_new_object();
		json_object_object_add(o, "ok", json_object_new_boolean(true));
		json_object_object_add(o, "cache", vf_watch_cache_json(w));
		return o;
	}
	return vf_status_error_response("unknown command; try status, reload, reconcile or resync");
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
	vf_watch_cache_take(w, &rep);
	if (rep.domain_events || rep.pool_events || rep.network_events) {
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
	vf_metrics_pass(w->last_result, vf_now_ms() - w->last_pass_ms);
	vf_watch_serve_end(w->serve);
	if (!w->ready_sent) {
		vf_watch_notify("READY=1");
		w->ready_sent = true;
	}
}

int vf_watch__loop(vf_watch *w)
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
		/* The fleet's threads saw holders or hosts change, or the lease
		 * go: a pass now, so failover does not wait for a resync. */
		const char *fleet_why = NULL;
		if (w->fleet && vf_fleet_take_wake(w->fleet, &fleet_why)) {
			w->pass_now = true;
			w->pass_trigger = fleet_why;
		}

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
			/* Without a cache every pass is a full one, so any resets the
			 * resync clock; with one, only the resync itself does: a
			 * steady stream of events must not put the check off. */
			if (strcmp(trigger, "periodic resync") == 0 ||
			    !vf_watch_cache_observer(w, &(vf_observer){ 0 }))
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
