/* watch_cache.c: the watch daemon's observed state as a cache, as
 * Kubernetes' informers keep one: a full listing at start, after every
 * possible loss of events and at each periodic resync; in between, each
 * object a libvirt event names is read again on its own (the driver's
 * observe_object), so what an event costs does not grow with the host.
 * Before a step acts on an object, that object is read again too (the
 * observer's refresh, called by reconcile): no step runs on what the cache
 * remembered. Not for deciding what to do (the planner) nor for talking to
 * libvirt (the driver). */
#include "controller/watch/watch_cache.h"

/* ---- events in ------------------------------------------------------------ */

void vf_watch_cache_take(vf_watch *w, const vf_event_report *rep)
{
	vf_watch_cache *c = &w->cache;
	c->events += rep->domain_events + rep->pool_events + rep->network_events;
	for (size_t i = 0; i < rep->n_objs; i++) {
		const vf_event_obj *o = &rep->objs[i];
		bool seen = false;
		for (size_t k = 0; k < c->n_dirty && !seen; k++)
			seen = c->dirty[k].kind == o->kind && uuid_compare(c->dirty[k].uuid, o->uuid) == 0;
		if (seen)
			continue;
		vf_event_obj d = { .kind = o->kind, .name = vf_strdup(o->name) };
		uuid_copy(d.uuid, o->uuid);
		VF_APPEND(c->dirty, c->n_dirty, c->cap_dirty, d);
	}
}

static void vf_watch_cache__drop_dirty(vf_watch_cache *c)
{
	for (size_t i = 0; i < c->n_dirty; i++)
		free(c->dirty[i].name);
	c->n_dirty = 0;
}

void vf_watch_cache_invalidate(vf_watch *w, const char *why)
{
	vf_watch_cache *c = &w->cache;
	if (!c->valid && c->invalid_why)
		return; /* the first reason is the one that counts */
	c->valid = false;
	free(c->invalid_why);
	c->invalid_why = vf_strdup(why);
}

/* Events that arrived while the daemon was busy: taken now, so the pass
 * sees them. A closed connection means events were lost. */
static int vf_watch_cache__drain(vf_watch *w, vf_error *err)
{
	const vf_event_driver *ev = w->backend ? w->backend->events : NULL;
	if (!ev || !w->events)
		return 0;
	vf_event_report rep;
	ev->take(w->events, &rep);
	vf_watch_cache_take(w, &rep);
	bool closed = rep.closed || !ev->alive(w->events);
	_cleanup_free_ char *why = vf_strdup(rep.last ? rep.last : "the events connection is gone");
	vf_event_report_clear(&rep);
	if (!closed)
		return 0;
	_cleanup_free_ char *lost = vf_asprintf("lost the connection: %s", why);
	vf_watch_cache_invalidate(w, lost);
	return vf_error_set(err, VF_E_CONNECTION, "lost libvirt's events: %s", why);
}

/* A call failed because the connection is gone: events were lost too. */
static void vf_watch_cache__lost(vf_watch *w, const vf_error *err)
{
	_cleanup_free_ char *why = vf_asprintf("lost the connection: %s",
					       err->message ? err->message : "a call failed");
	vf_watch_cache_invalidate(w, why);
}

/* ---- relisting and re-reading ----------------------------------------------- */

static int vf_watch_cache__relist(vf_watch *w, vf_error *err)
{
	vf_watch_cache *c = &w->cache;
	uint64_t t0 = vf_now_ms();
	vf_observed fresh = { 0 };
	int r = w->backend->hv->observe(w->conn, &fresh, err);
	if (r < 0)
		return r;
	vf_observed_free(&c->obs);
	c->obs = fresh;
	c->valid = true;
	c->relists++;
	c->last_relist = time(NULL);
	c->last_relist_ms = vf_now_ms() - t0;
	free(c->last_relist_why);
	c->last_relist_why = TAKE_PTR(c->invalid_why);
	vf_watch_log(c->relists > 1 ? 5 : 6,
		     "cache: full relist (%s): %zu domains, %zu pools, %zu volumes in %llu ms",
		     c->last_relist_why ? c->last_relist_why : "start", c->obs.n_domains,
		     c->obs.n_pools, c->obs.n_volumes, (unsigned long long)c->last_relist_ms);
	/* The listing is newer than every event taken so far. */
	vf_watch_cache__drop_dirty(c);
	return 0;
}

static uint64_t vf_watch_cache__calls(const vf_watch *w)
{
	return w->backend->hv->observe_calls ? w->backend->hv->observe_calls() : 0;
}

int vf_watch_cache_sync(vf_watch *w, vf_error *err)
{
	vf_watch_cache *c = &w->cache;
	int r = vf_watch_cache__drain(w, err);
	if (r < 0)
		return r;
	if (!c->valid)
		return vf_watch_cache__relist(w, err);
	uint64_t calls0 = vf_watch_cache__calls(w);
	size_t i = 0;
	for (; i < c->n_dirty; i++) {
		const vf_event_obj *d = &c->dirty[i];
		vf_obj_ref ref = { .kind = d->kind, .name = d->name, .has_uuid = true };
		uuid_copy(ref.uuid, d->uuid);
		r = w->backend->hv->observe_object(w->conn, &ref, false, &c->obs, err);
		if (r < 0)
			break;
		c->event_reads++;
		vf_watch_log(7, "cache: read %s/%s again", vf_kind_to_string(d->kind), d->name);
		/* A domain read is as fresh as a step's read: a step on it in
		 * this pass needs no second one. (A pool is read for an event
		 * without a refresh, so a step on it still reads it again.) */
		if (d->kind == VF_KIND_DOMAIN) {
			char *key = vf_asprintf("Domain/%s", d->name);
			VF_APPEND(c->read_keys, c->n_read_keys, c->cap_read_keys, key);
		}
	}
	c->event_calls += vf_watch_cache__calls(w) - calls0;
	/* What failed stays to be read; a lost connection relists anyway. */
	for (size_t k = 0; k < i; k++)
		free(c->dirty[k].name);
	if (i)
		memmove(c->dirty, c->dirty + i, (c->n_dirty - i) * sizeof(*c->dirty));
	c->n_dirty -= i;
	if (r < 0 && err->code == VF_E_CONNECTION)
		vf_watch_cache__lost(w, err);
	return r;
}

/* ---- the periodic check ----------------------------------------------------- */

/* Objects an event named after the cache was brought up to date: the
 * fresh listing may have seen their change, the cache not yet. */
static bool vf_watch_cache__in_flight(vf_kind kind, const char *name, void *userdata)
{
	const vf_watch_cache *c = userdata;
	for (size_t i = 0; i < c->n_dirty; i++)
		if (c->dirty[i].kind == kind && vf_streq(c->dirty[i].name, name))
			return true;
	return false;
}

static void vf_watch_cache__disagrees(const char *what, void *userdata)
{
	vf_watch_cache *c = userdata;
	vf_watch_log(4, "cache: disagrees with the host: %s", what);
	free(c->last_disagreement);
	c->last_disagreement = vf_strdup(what);
}

int vf_watch_cache_resync(vf_watch *w, vf_error *err)
{
	vf_watch_cache *c = &w->cache;
	bool was_valid = c->valid;
	int r = vf_watch_cache_sync(w, err);
	if (r < 0 || !was_valid)
		return r; /* a relist just now is the fresh listing */
	vf_observed fresh = { 0 };
	r = w->backend->hv->observe(w->conn, &fresh, err);
	if (r >= 0)
		r = vf_watch_cache__drain(w, err);
	if (r < 0) {
		vf_observed_free(&fresh);
		return r;
	}
	size_t n = vf_observed_compare(&c->obs, &fresh, vf_watch_cache__in_flight,
				       vf_watch_cache__disagrees, c);
	c->resyncs++;
	c->last_resync = time(NULL);
	c->last_disagreements = n;
	c->disagreements += n;
	vf_watch_log(n ? 4 : 7, "cache: resync: %zu object%s disagreed with a fresh listing", n,
		     n == 1 ? "" : "s");
	vf_observed_free(&c->obs);
	c->obs = fresh;
	return 0;
}

/* ---- the observer a pass plans through ---------------------------------------- */

void vf_watch_cache_pass_begin(vf_watch *w)
{
	vf_watch_cache *c = &w->cache;
	for (size_t i = 0; i < c->n_read_keys; i++)
		free(c->read_keys[i]);
	c->n_read_keys = 0;
}

static int vf_watch_cache__current(void *userdata, vf_observed **out, vf_error *err)
{
	vf_watch *w = userdata;
	int r = vf_watch_cache_sync(w, err);
	if (r < 0)
		return r;
	*out = &w->cache.obs;
	return 0;
}

static bool vf_watch_cache__has(char *const *keys, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(keys[i], key) == 0)
			return true;
	return false;
}

/* Each object a step acts on, read with `fresh` (a pool refreshed first,
 * so its contents are what is on disk now), once per call; before
 * applying, only those not read yet in this pass. A volume is read with
 * its pool. */
static int vf_watch_cache__refresh(void *userdata, const vf_plan *plan, bool after_apply,
				   vf_error *err)
{
	vf_watch *w = userdata;
	vf_watch_cache *c = &w->cache;
	if (after_apply)
		vf_watch_cache_pass_begin(w); /* the steps changed them: read each again */
	uint64_t now = vf_now_ms();
	int n = 0;
	for (size_t i = 0; i < plan->n; i++) {
		const vf_step *s = &plan->steps[i];
		/* Steps that will not run this pass: a blocked one, one backing
		 * off. Reading them would refresh their pool every pass, and the
		 * refresh's own event would start the next pass, for ever. */
		if (s->action == VF_ACT_BLOCKED)
			continue;
		_cleanup_free_ char *step_key = vf_step_key(s);
		if (vf_backoff_waiting(&w->backoff, step_key, now))
			continue;
		bool vol = s->kind == VF_KIND_VOLUME;
		vf_obj_ref ref = { .kind = s->kind, .name = s->name, .pool = s->pool };
		_cleanup_free_ char *key = vol ? vf_asprintf("StoragePool/%s", s->pool)
					       : vf_asprintf("%s/%s", vf_kind_to_string(s->kind), s->name);
		if (vf_watch_cache__has(c->read_keys, c->n_read_keys, key))
			continue;
		int r = w->backend->hv->observe_object(w->conn, &ref, true, &c->obs, err);
		if (r < 0) {
			if (err->code == VF_E_CONNECTION)
				vf_watch_cache__lost(w, err);
			return r;
		}
		c->step_reads++;
		n++;
		VF_APPEND(c->read_keys, c->n_read_keys, c->cap_read_keys, TAKE_PTR(key));
	}
	return n;
}

const vf_observer *vf_watch_cache_observer(vf_watch *w, vf_observer *storage)
{
	if (!w->backend || !w->backend->events || !w->events || !w->backend->hv->observe_object)
		return NULL;
	*storage = (vf_observer){
		.current = vf_watch_cache__current,
		.refresh = vf_watch_cache__refresh,
		.userdata = w,
	};
	return storage;
}

/* ---- status ------------------------------------------------------------------ */

static json_object *vf_watch_cache__u64(uint64_t v)
{
	return json_object_new_int64((int64_t)v);
}

json_object *vf_watch_cache_json(const vf_watch *w)
{
	const vf_watch_cache *c = &w->cache;
	json_object *o = json_object_new_object();
	json_object_object_add(o, "valid", json_object_new_boolean(c->valid));
	json_object_object_add(o, "domains", vf_watch_cache__u64(c->obs.n_domains));
	json_object_object_add(o, "pools", vf_watch_cache__u64(c->obs.n_pools));
	json_object_object_add(o, "volumes", vf_watch_cache__u64(c->obs.n_volumes));
	json_object_object_add(o, "events", vf_watch_cache__u64(c->events));
	json_object_object_add(o, "event_reads", vf_watch_cache__u64(c->event_reads));
	json_object_object_add(o, "event_libvirt_calls", vf_watch_cache__u64(c->event_calls));
	json_object_object_add(o, "libvirt_calls_per_read",
			       json_object_new_double(c->event_reads ? (double)c->event_calls /
									 (double)c->event_reads
								 : 0.0));
	json_object_object_add(o, "step_reads", vf_watch_cache__u64(c->step_reads));
	json_object_object_add(o, "libvirt_calls",
			       vf_watch_cache__u64(w->backend ? vf_watch_cache__calls(w) : 0));
	json_object_object_add(o, "pending", vf_watch_cache__u64(c->n_dirty));
	json_object_object_add(o, "relists", vf_watch_cache__u64(c->relists));
	if (c->relists) {
		_cleanup_free_ char *t = vf_format_time(c->last_relist);
		json_object_object_add(o, "last_relist", json_object_new_string(t));
		json_object_object_add(o, "last_relist_reason",
				       json_object_new_string(c->last_relist_why ? c->last_relist_why : "start"));
		json_object_object_add(o, "last_relist_ms", vf_watch_cache__u64(c->last_relist_ms));
	}
	json_object_object_add(o, "resyncs", vf_watch_cache__u64(c->resyncs));
	json_object_object_add(o, "disagreements", vf_watch_cache__u64(c->disagreements));
	json_object_object_add(o, "last_resync_disagreements", vf_watch_cache__u64(c->last_disagreements));
	json_object_object_add(o, "last_disagreement",
			       c->last_disagreement ? json_object_new_string(c->last_disagreement) : NULL);
	return o;
}

void vf_watch_cache_free(vf_watch_cache *c)
{
	vf_observed_free(&c->obs);
	vf_watch_cache__drop_dirty(c);
	free(c->dirty);
	for (size_t i = 0; i < c->n_read_keys; i++)
		free(c->read_keys[i]);
	free(c->read_keys);
	free(c->invalid_why);
	free(c->last_relist_why);
	free(c->last_disagreement);
	memset(c, 0, sizeof(*c));
}
