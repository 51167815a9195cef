/* watch_pass.c: one reconcile pass of the watch daemon (reload manifests,
 * fall back to the last good set when the new one is invalid or rejected,
 * hold back objects that are backing off, log each step) and the status
 * document `virtform status` shows. Not the loop (watch.c). */
#include <sys/types.h>
#include <unistd.h>

#include "controller/load/manifest.h"
#include "controller/apply/reconcile.h"
#include "controller/watch/watch_cache.h"
#include "controller/watch/watch_conn.h"
#include "controller/watch/watch_pass.h"
#include "controller/watch/metrics.h"
#include "controller/watch/fleet.h"

typedef struct vf_pass_ctx {
	vf_watch *w;
	vf_reconcile_result *res;
	vf_plan held;             /* steps of objects still backing off */
	unsigned done;
	unsigned failed;
	char **done_keys;         /* objects with a step that succeeded this pass */
	size_t n_done_keys;
	size_t cap_done_keys;
} vf_pass_ctx;

static void vf_pass_ctx_free(vf_pass_ctx *ctx)
{
	vf_plan_free(&ctx->held);
	for (size_t i = 0; i < ctx->n_done_keys; i++)
		free(ctx->done_keys[i]);
	free(ctx->done_keys);
	memset(ctx, 0, sizeof(*ctx));
}

static bool vf_pass__did(const vf_pass_ctx *ctx, const char *key)
{
	for (size_t i = 0; i < ctx->n_done_keys; i++)
		if (strcmp(ctx->done_keys[i], key) == 0)
			return true;
	return false;
}

static json_object *vf_watch__jstr(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
}

static void vf_watch__add_time(json_object *o, const char *key, time_t t)
{
	_cleanup_free_ char *s = vf_format_time(t);
	json_object_object_add(o, key, vf_watch__jstr(s));
}

/* Remember the current problems (load errors or conflicts) for status and
 * log them when they differ from the last ones logged. */
static void vf_watch__set_problems(vf_watch *w, const vf_diags *d, const char *state)
{
	vf_buf key = { 0 };
	vf_buf_add(&key, state);
	json_object *arr = json_object_new_array();
	for (size_t i = 0; d && i < d->n; i++) {
		const vf_error *e = &d->items[i];
		json_object *o = json_object_new_object();
		json_object_object_add(o, "code", json_object_new_string(vf_code_to_string(e->code)));
		json_object_object_add(o, "message", json_object_new_string(e->message ? e->message : ""));
		json_object_object_add(o, "file", vf_watch__jstr(e->pos.file));
		json_object_object_add(o, "line", json_object_new_int(e->pos.line));
		json_object_object_add(o, "col", json_object_new_int(e->pos.col));
		if (e->other.file) {
			json_object_object_add(o, "other_file", json_object_new_string(e->other.file));
			json_object_object_add(o, "other_line", json_object_new_int(e->other.line));
		}
		json_object_array_add(arr, o);
		vf_buf_printf(&key, "\n%s:%d:%d:%s", e->pos.file ? e->pos.file : "", e->pos.line,
			      e->pos.col, e->message ? e->message : "");
	}
	_cleanup_free_ char *k = vf_buf_steal(&key);
	if (!vf_streq(k, w->problems_key)) {
		if (d && d->n) {
			vf_watch_log(3, "manifests in %s are %s (%zu problem%s); %s", w->cfg.manifests,
				     state, d->n, d->n == 1 ? "" : "s",
				     w->have_desired ? "still enforcing the last good set"
						     : "nothing to enforce yet");
			for (size_t i = 0; i < d->n; i++) {
				const vf_error *e = &d->items[i];
				if (e->pos.file && e->pos.line == 0)
					vf_watch_log(3, "%s: error: %s", e->pos.file,
						     e->message ? e->message : "");
				else if (e->pos.file)
					vf_watch_log(3, "%s:%d:%d: error: %s", e->pos.file, e->pos.line,
						     e->pos.col, e->message ? e->message : "");
				else
					vf_watch_log(3, "error: %s", e->message ? e->message : "");
			}
		} else if (w->problems_key) {
			vf_watch_log(5, "manifests in %s are %s again", w->cfg.manifests, state);
		}
		free(w->problems_key);
		w->problems_key = TAKE_PTR(k);
	}
	json_object_put(w->problems);
	w->problems = arr;
	w->manifests_state = state;
}

/* A tree that vanished or cannot be read, as against one that is wrong:
 * every problem is an I/O error. */
static bool vf_watch__unreadable(const vf_diags *d)
{
	for (size_t i = 0; i < d->n; i++)
		if (d->items[i].code != VF_E_IO)
			return false;
	return d->n > 0;
}

static void vf_watch__on_plan(const vf_plan *plan, void *userdata)
{
	vf_pass_ctx *ctx = userdata;
	(void)plan; /* the same object as ctx->res->plan, which we may edit */
	uint64_t now = vf_now_ms();
	vf_plan_hold_back(&ctx->res->plan, &ctx->w->backoff, now, &ctx->held);
	for (size_t i = 0; i < ctx->held.n; i++) {
		_cleanup_free_ char *key = vf_step_key(&ctx->held.steps[i]);
		const vf_backoff_entry *e = vf_backoff_find(&ctx->w->backoff, key);
		vf_watch_log(7, "%s: %s held back, next attempt in %llus", key,
			     vf_action_to_string(ctx->held.steps[i].action),
			     e ? (unsigned long long)((e->next_ms - now + 999) / 1000) : 0ull);
	}
	const vf_plan *p = &ctx->res->plan;
	if (p->n)
		vf_watch_log(6, "plan: %zu step%s (%zu create, %zu update, %zu remove, %zu blocked)",
			     p->n, p->n == 1 ? "" : "s", p->counts[VF_ACT_CREATE],
			     p->counts[VF_ACT_UPDATE], p->counts[VF_ACT_REMOVE],
			     p->counts[VF_ACT_BLOCKED]);
}

static void vf_watch__progress(const vf_step *s, vf_step_outcome o, const vf_error *err,
			       void *userdata)
{
	vf_pass_ctx *ctx = userdata;
	vf_watch *w = ctx->w;
	_cleanup_free_ char *key = vf_step_key(s);
	const char *act = vf_action_to_string(s->action);
	vf_metrics_step(s->kind, s->action, o);
	switch (o) {
	case VF_STEP_STARTED: {
		vf_watch_log(7, "%s: %s: starting: %s", key, act, s->reason ? s->reason : "");
		_cleanup_free_ char *now = vf_asprintf("%s: %s", key, act);
		vf_watch_serve_step(w->serve, now);
		vf_watch_heartbeat(w); /* a new step is progress, not a hang */
		break;
	}
	case VF_STEP_DONE:
		vf_watch_heartbeat(w);
		ctx->done++;
		vf_backoff_clear(&w->backoff, key);
		if (!vf_pass__did(ctx, key))
			VF_APPEND(ctx->done_keys, ctx->n_done_keys, ctx->cap_done_keys, vf_strdup(key));
		vf_watch_log(6, "%s: %s: done", key, act);
		break;
	case VF_STEP_FAILED: {
		ctx->failed++;
		const char *msg = err && err->message ? err->message : "unknown error";
		const vf_backoff_entry *e = vf_backoff_fail(&w->backoff, key, vf_now_ms(), msg);
		vf_watch_log(3, "%s: %s: failed (attempt %u, next in %llus): %s", key, act, e->failures,
			     (unsigned long long)(vf_backoff_delay(e->failures, w->backoff.base_ms,
								  w->backoff.max_ms) / 1000),
			     msg);
		break;
	}
	case VF_STEP_SKIPPED:
		vf_watch_log(s->action == VF_ACT_BLOCKED ? 4 : 5, "%s: %s: skipped (%s)", key, act,
			     s->action == VF_ACT_BLOCKED ? "blocked" : "stopping");
		break;
	}
}

/* A download's progress (about ten times a second, stalled or not, until
 * curl's low-speed limit gives up): the daemon is alive. */
static void vf_watch__fetch_progress(const char *url, uint64_t bytes, uint64_t total, double rate,
				     bool done, void *userdata)
{
	(void)url, (void)total, (void)rate;
	if (done)
		vf_metrics_download(bytes);
	vf_watch_heartbeat(userdata);
}

static int vf_watch__run(vf_watch *w, const vf_desired *d, vf_reconcile_result *res,
			 vf_pass_ctx *ctx)
{
	ctx->w = w;
	ctx->res = res;
	vf_fetch_opts fetch = { .progress = vf_watch__fetch_progress, .userdata = w };
	vf_observer storage;
	vf_watch_cache_pass_begin(w);
	vf_reconcile_opts opts = {
		.state_dir = w->cfg.state_dir,
		.on_plan = vf_watch__on_plan,
		.progress = vf_watch__progress,
		.userdata = ctx,
		.stop = &vf_watch_stop_flag,
		.allow_empty = w->cfg.allow_empty,
		/* Files are changed under libvirt's metadata lock, as apply does. */
		.locks = &vf_fcntl_lock_driver,
		.lock_wait_ms = VF_LOCK_WAIT_DEFAULT_MS,
		.fetch_opts = &fetch,
		/* Planned from the cache events keep; every object a step acts
		 * on is read afresh first (watch_cache.c). */
		.observer = vf_watch_cache_observer(w, &storage),
	};
	if (!w->fleet)
		return vf_reconcile(w->backend, w->conn, d, &opts, res);
	/* The fleet: placed domains planned with who holds them, started
	 * only through its hooks; guarded or released after (fleet.c). */
	const vf_fleet_view *view = NULL;
	const vf_fleet_hooks *hooks = NULL;
	vf_fleet_pass_begin(w->fleet, d, w->backend, w->conn, &view, &hooks);
	opts.plan.fleet = view;
	opts.fleet_hooks = hooks;
	opts.fleet_host = vf_fleet_host_id(w->fleet);
	int r = vf_reconcile(w->backend, w->conn, d, &opts, res);
	vf_fleet_pass_end(w->fleet, d, w->backend, w->conn);
	return r;
}

static bool vf_watch__plan_has(const vf_plan *p, const char *key, vf_action *action)
{
	for (size_t i = 0; p && i < p->n; i++) {
		_cleanup_free_ char *k = vf_step_key(&p->steps[i]);
		if (strcmp(k, key) == 0) {
			if (action)
				*action = p->steps[i].action;
			return true;
		}
	}
	return false;
}

static char *vf_watch__object_key(const vf_object *o)
{
	if (o->kind == VF_KIND_VOLUME)
		return vf_asprintf("%s/%s/%s", vf_kind_to_string(o->kind), o->u.volume.pool, o->name);
	return vf_asprintf("%s/%s", vf_kind_to_string(o->kind), o->name);
}

/* Each declared object's state after the pass, plus owned objects being
 * removed. `left` is what remains to do (the re-plan, or the plan when
 * nothing was applied); NULL when the pass never got to plan. */
static void vf_watch__objects(vf_watch *w, const vf_plan *left, const vf_plan *held)
{
	json_object *arr = json_object_new_array();
	for (size_t i = 0; i < w->desired.n; i++) {
		const vf_object *o = &w->desired.objs[i];
		_cleanup_free_ char *key = vf_watch__object_key(o);
		const vf_backoff_entry *b = vf_backoff_find(&w->backoff, key);
		vf_action act = VF_ACT_CREATE;
		const char *state = "converged";
		if (!left)
			state = "unknown";
		else if (b || vf_watch__plan_has(held, key, NULL))
			state = "retrying";
		else if (vf_watch__plan_has(left, key, &act))
			state = act == VF_ACT_BLOCKED ? "blocked" : "pending";
		json_object *j = json_object_new_object();
		json_object_object_add(j, "object", json_object_new_string(key));
		json_object_object_add(j, "kind", json_object_new_string(vf_kind_to_string(o->kind)));
		json_object_object_add(j, "name", json_object_new_string(o->name));
		json_object_object_add(j, "state", json_object_new_string(state));
		json_object_object_add(j, "file", vf_watch__jstr(o->pos.file));
		json_object_object_add(j, "line", json_object_new_int(o->pos.line));
		json_object_array_add(arr, j);
	}
	for (size_t i = 0; left && i < left->n; i++) {
		const vf_step *s = &left->steps[i];
		if (s->action != VF_ACT_REMOVE && s->action != VF_ACT_RETAIN)
			continue;
		_cleanup_free_ char *key = vf_step_key(s);
		json_object *j = json_object_new_object();
		json_object_object_add(j, "object", json_object_new_string(key));
		json_object_object_add(j, "kind", json_object_new_string(vf_kind_to_string(s->kind)));
		json_object_object_add(j, "name", json_object_new_string(s->name));
		json_object_object_add(j, "state", json_object_new_string(
					       vf_backoff_find(&w->backoff, key) ? "retrying" : "removing"));
		json_object_array_add(arr, j);
	}
	json_object_put(w->objects);
	w->objects = arr;
}

/* Objects that failed before but have nothing left to do converged some
 * other way: forget their backoff. Objects whose steps succeeded in this
 * pass yet still differ are backed off too, so a field that never
 * converges cannot make the daemon re-apply in a tight loop driven by its
 * own events. (Objects whose steps never ran, because an earlier step
 * failed, are left alone: the follow-up pass runs them.) */
static void vf_watch__settle_backoff(vf_watch *w, const vf_reconcile_result *res,
				     const vf_pass_ctx *ctx)
{
	const vf_plan *held = &ctx->held;
	if (res->phase != VF_PHASE_DONE)
		return;
	const vf_plan *left = res->applied ? &res->replan : &res->plan;
	for (size_t i = 0; i < w->backoff.n;) {
		const char *key = w->backoff.items[i].key;
		if (!vf_watch__plan_has(left, key, NULL) && !vf_watch__plan_has(held, key, NULL)) {
			vf_watch_log(6, "%s: converged; no longer retrying", key);
			vf_backoff_clear(&w->backoff, key);
			continue;
		}
		i++;
	}
	if (!res->applied)
		return;
	uint64_t now = vf_now_ms();
	for (size_t i = 0; i < res->replan.n; i++) {
		const vf_step *s = &res->replan.steps[i];
		_cleanup_free_ char *key = vf_step_key(s);
		if (s->action == VF_ACT_BLOCKED || !vf_pass__did(ctx, key) ||
		    vf_backoff_waiting(&w->backoff, key, now))
			continue;
		/* Name the first differing field: a race with libvirt (a state
		 * still settling) is then visible in the log. */
		const vf_change *c = s->n_changes ? &s->changes[0] : NULL;
		_cleanup_free_ char *msg =
			c ? vf_asprintf("still differs after applying: %s (%s: %s -> %s)",
					s->reason ? s->reason : "re-plan not empty", c->field,
					c->old_value ? c->old_value : "(none)",
					c->new_value ? c->new_value : "(none)")
			  : vf_asprintf("still differs after applying: %s",
					s->reason ? s->reason : "re-plan not empty");
		const vf_backoff_entry *e = vf_backoff_fail(&w->backoff, key, now, msg);
		vf_watch_log(4, "%s: %s (attempt %u)", key, msg, e->failures);
	}
}

static void vf_watch__record(vf_watch *w, int r, const vf_reconcile_result *res,
			     const vf_pass_ctx *ctx, const char *trigger, uint64_t t0)
{
	free(w->last_message);
	w->last_message = NULL;
	w->last_time = time(NULL);
	w->last_trigger = trigger;
	w->last_done = ctx->done;
	w->last_failed = ctx->failed;
	w->last_held = (unsigned)ctx->held.n;
	w->last_duration_ms = vf_now_ms() - t0;
	bool retrying_only = res->phase == VF_PHASE_DONE;
	for (size_t i = 0; retrying_only && i < res->replan.n; i++) {
		_cleanup_free_ char *key = vf_step_key(&res->replan.steps[i]);
		retrying_only = vf_backoff_find(&w->backoff, key) != NULL;
	}
	if (r == 0 && ctx->held.n == 0) {
		w->last_result = "converged";
	} else if (ctx->failed || (r < 0 && res->phase == VF_PHASE_APPLY)) {
		w->last_result = "failed";
	} else if ((r == 0 || res->err.code == VF_E_NOT_CONVERGED) && retrying_only) {
		w->last_result = "retrying";
		w->last_message = vf_asprintf("%zu object%s backing off", w->backoff.n,
					      w->backoff.n == 1 ? "" : "s");
	} else if (res->conflicts.n) {
		w->last_result = "rejected";
	} else if (res->err.code == VF_E_BLOCKED || res->err.code == VF_E_EMPTY) {
		w->last_result = "blocked";
	} else if (res->err.code == VF_E_NOT_CONVERGED) {
		w->last_result = "not-converged";
	} else {
		w->last_result = "error";
	}
	if (!w->last_message && res->err.message)
		w->last_message = vf_strdup(res->err.message);
	int level = strcmp(w->last_result, "converged") == 0 ? 6 : 4;
	if (ctx->done || ctx->failed || level != 6)
		vf_watch_log(level, "reconcile (%s): %s%s%s; %u step%s done, %u failed, %u held back",
			     trigger, w->last_result, w->last_message ? ": " : "",
			     w->last_message ? w->last_message : "", ctx->done,
			     ctx->done == 1 ? "" : "s", ctx->failed, (unsigned)ctx->held.n);
	else
		vf_watch_log(7, "reconcile (%s): nothing to do", trigger);
	vf_watch_notify("STATUS=%s (%s), %zu object%s, %zu retrying", w->last_result, trigger,
			w->desired.n, w->desired.n == 1 ? "" : "s", w->backoff.n);
}

void vf_watch_pass(vf_watch *w, const char *trigger)
{
	uint64_t t0 = vf_now_ms();
	vf_desired cand = { 0 };
	vf_diags diags = { 0 };
	const char *paths[] = { w->cfg.manifests };
	int lr = vf_manifest_load(paths, 1, &cand, &diags);
	bool cand_ok = lr == 0 && diags.n == 0;
	if (!cand_ok) {
		vf_watch__set_problems(w, &diags, vf_watch__unreadable(&diags) ? "unreadable" : "invalid");
		vf_desired_free(&cand);
	} else if (cand.n == 0 && !w->cfg.allow_empty && w->have_desired && w->desired.n > 0) {
		/* Rule 5: a tree that came up empty (an interrupted checkout, an
		 * unmounted share) is not a wish to remove everything. */
		vf_diag_add(&diags, VF_E_EMPTY, (vf_pos){ 0 },
			    "the manifest set in %s is empty; an empty set removes nothing unless "
			    "allowEmpty = true is set in virtform.conf (or --allow-empty)",
			    w->cfg.manifests);
		vf_watch__set_problems(w, &diags, "empty");
		vf_desired_free(&cand);
		cand_ok = false;
	}
	vf_diags_free(&diags);
	if (!cand_ok && !w->have_desired) {
		free(w->last_message);
		w->last_message = vf_strdup("no valid manifest set has been loaded yet");
		w->last_result = "error";
		w->last_time = time(NULL);
		w->last_trigger = trigger;
		return;
	}

	/* The safety net: the cache checked against a fresh listing. */
	if (strcmp(trigger, "periodic resync") == 0 && vf_watch_cache_observer(w, &(vf_observer){ 0 })) {
		vf_error rerr = { 0 };
		if (vf_watch_cache_resync(w, &rerr) < 0)
			vf_watch_log(4, "cache: resync failed: %s", rerr.message ? rerr.message : "?");
		vf_error_clear(&rerr);
	}

	vf_reconcile_result res = { 0 };
	vf_pass_ctx ctx = { 0 };
	size_t n_rejected = 0; /* conflicts of a new set that did not plan, for the metrics */
	int r = vf_watch__run(w, cand_ok ? &cand : &w->desired, &res, &ctx);
	if (cand_ok && r == -VF_E_CONFLICT && res.phase == VF_PHASE_PLAN) {
		n_rejected = res.conflicts.n;
		/* The new set does not plan: keep enforcing the last good one. */
		vf_watch__set_problems(w, &res.conflicts, "rejected");
		vf_desired_free(&cand);
		cand_ok = false;
		vf_reconcile_result_free(&res);
		vf_pass_ctx_free(&ctx);
		if (!w->have_desired) {
			free(w->last_message);
			w->last_message = vf_strdup("the manifest set is rejected and no earlier set was good");
			w->last_result = "rejected";
			w->last_time = time(NULL);
			w->last_trigger = trigger;
			return;
		}
		r = vf_watch__run(w, &w->desired, &res, &ctx);
	}
	if (cand_ok && res.phase > VF_PHASE_PLAN) {
		/* It planned cleanly: this is the new last good set. The plan
		 * borrows objects from `cand`, so swap rather than free. */
		vf_desired old = w->desired;
		w->desired = cand;
		cand = old;
		w->have_desired = true;
		w->desired_loaded = time(NULL);
		vf_watch__set_problems(w, NULL, "valid");
	}

	vf_watch__settle_backoff(w, &res, &ctx);
	const vf_plan *left = res.phase == VF_PHASE_DONE ? (res.applied ? &res.replan : &res.plan)
		: res.phase > VF_PHASE_PLAN ? &res.plan : NULL;
	vf_watch__objects(w, left, &ctx.held);
	vf_watch__record(w, r, &res, &ctx, trigger, t0);
	vf_metrics_plan(&res.plan, n_rejected + res.conflicts.n);
	vf_metrics_managed(&w->desired);

	/* The first failing step stopped the run; run again now so objects
	 * after it converge while the failed one backs off. */
	if (ctx.failed && !vf_watch_stop_flag) {
		w->pass_now = true;
		w->pass_trigger = "a failed step, to go on with the rest";
	}
	/* A failing call with the events connection gone: libvirtd went
	 * away. Without an events source, a failed observation says so. */
	const vf_event_driver *ev = w->backend->events;
	if (r < 0 && (res.err.code == VF_E_CONNECTION ||
		      ((res.err.code == VF_E_DRIVER || res.phase == VF_PHASE_OBSERVE) &&
		       (ev ? !ev->alive(w->events) : res.phase == VF_PHASE_OBSERVE))))
		vf_watch_disconnect(w, res.err.message ? res.err.message : "libvirt call failed");

	vf_reconcile_result_free(&res);
	vf_pass_ctx_free(&ctx);
	vf_desired_free(&cand);
}

json_object *vf_watch_status_json(vf_watch *w)
{
	json_object *st = json_object_new_object();
	time_t now = time(NULL);
	uint64_t now_ms = vf_now_ms();
	json_object_object_add(st, "format_version", json_object_new_string("1"));
	json_object_object_add(st, "pid", json_object_new_int64((int64_t)getpid()));
	json_object_object_add(st, "manifests", vf_watch__jstr(w->cfg.manifests));
	json_object_object_add(st, "manifests_realpath", vf_watch__jstr(w->root_real));
	json_object_object_add(st, "connect", vf_watch__jstr(w->cfg.connect));
	json_object_object_add(st, "connected", json_object_new_boolean(w->conn != NULL));
	json_object_object_add(st, "state_dir", vf_watch__jstr(w->cfg.state_dir));
	json_object_object_add(st, "runtime_dir", vf_watch__jstr(w->cfg.runtime_dir));
	vf_watch__add_time(st, "started", w->started);
	json_object_object_add(st, "manifests_state", json_object_new_string(w->manifests_state));
	json_object_object_add(st, "enforcing", json_object_new_string(
				       !w->have_desired ? "none"
				       : strcmp(w->manifests_state, "valid") == 0 ? "current" : "last-good"));
	if (w->have_desired)
		vf_watch__add_time(st, "desired_loaded", w->desired_loaded);
	json_object_object_add(st, "errors", json_object_get(w->problems));
	if (w->last_result) {
		json_object *l = json_object_new_object();
		vf_watch__add_time(l, "time", w->last_time);
		json_object_object_add(l, "seconds_ago", json_object_new_int64((int64_t)(now - w->last_time)));
		json_object_object_add(l, "trigger", vf_watch__jstr(w->last_trigger));
		json_object_object_add(l, "result", json_object_new_string(w->last_result));
		json_object_object_add(l, "message", vf_watch__jstr(w->last_message));
		json_object_object_add(l, "steps_done", json_object_new_int((int)w->last_done));
		json_object_object_add(l, "steps_failed", json_object_new_int((int)w->last_failed));
		json_object_object_add(l, "steps_held", json_object_new_int((int)w->last_held));
		json_object_object_add(l, "duration_ms", json_object_new_int64((int64_t)w->last_duration_ms));
		json_object_object_add(st, "last_reconcile", l);
	}
	json_object_object_add(st, "objects", w->objects ? json_object_get(w->objects)
							   : json_object_new_array());
	json_object *retry = json_object_new_array();
	for (size_t i = 0; i < w->backoff.n; i++) {
		const vf_backoff_entry *e = &w->backoff.items[i];
		json_object *o = json_object_new_object();
		json_object_object_add(o, "object", json_object_new_string(e->key));
		json_object_object_add(o, "failures", json_object_new_int((int)e->failures));
		uint64_t in = e->next_ms > now_ms ? (e->next_ms - now_ms + 999) / 1000 : 0;
		json_object_object_add(o, "next_attempt_in_seconds", json_object_new_int64((int64_t)in));
		vf_watch__add_time(o, "next_attempt", now + (time_t)in);
		json_object_object_add(o, "error", vf_watch__jstr(e->error));
		json_object_array_add(retry, o);
	}
	json_object_object_add(st, "retrying", retry);
	uint64_t resync_in = w->next_resync > now_ms ? (w->next_resync - now_ms + 999) / 1000 : 0;
	json_object_object_add(st, "next_resync_in_seconds", json_object_new_int64((int64_t)resync_in));
	json_object_object_add(st, "cache", vf_watch_cache_json(w));
	/* null: not in a fleet (no --etcd) */
	json_object_object_add(st, "fleet", w->fleet ? vf_fleet_status_json(w->fleet) : NULL);
	/* null from the loop itself; while a pass runs, watch_serve.c answers
	 * with {since, seconds, trigger, step} */
	json_object_object_add(st, "reconciling", NULL);
	return st;
}

void vf_watch_pass_state_free(vf_watch *w)
{
	json_object_put(w->problems);
	json_object_put(w->objects);
	free(w->problems_key);
	free(w->last_message);
	vf_desired_free(&w->desired);
	vf_backoff_free(&w->backoff);
	vf_watch_cache_free(&w->cache);
	w->problems = w->objects = NULL;
	w->problems_key = w->last_message = NULL;
}
