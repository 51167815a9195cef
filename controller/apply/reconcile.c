/* reconcile.c: one pass of ledger → observe → plan → apply → observe →
 * re-plan. Apply counts as success only when the second plan is empty:
 * that is what makes "converged" a fact and not a hope. */
#include "controller/apply/reconcile.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "controller/state/records.h"

/* What is known of the images that volumes still to be created come from:
 * the cache entry's size when there is one, else what a HEAD says (within
 * its own short timeout). A failed HEAD leaves the size unknown and the
 * plan says so; the download reports the real problem. URLs are borrowed
 * from `d`. */
static vf_source_size *vf_reconcile__sources(const vf_reconcile_opts *opts, const vf_desired *d,
					     const vf_observed *o, size_t *ret_n)
{
	const vf_fetch_driver *f = opts->fetch ? opts->fetch : &vf_curl_fetch_driver;
	vf_source_size *v = NULL;
	size_t n = 0, cap = 0;
	for (size_t i = 0; i < d->n; i++) {
		const vf_object *obj = &d->objs[i];
		if (obj->kind != VF_KIND_VOLUME || !obj->u.volume.has_source)
			continue;
		const vf_volume_source *src = &obj->u.volume.source;
		if (!src->url || vf_observed_volume(o, obj->u.volume.pool, obj->name))
			continue;
		bool seen = false;
		for (size_t k = 0; k < n && !seen; k++)
			seen = vf_streq(v[k].url, src->url);
		if (seen)
			continue;
		vf_source_size e = { .url = src->url };
		_cleanup_free_ char *name = vf_fetch_cache_name(src->url, src->algo, src->checksum);
		_cleanup_free_ char *path = vf_asprintf("%s/cache/%s", opts->state_dir, name);
		struct stat st;
		vf_error err = { 0 };
		vf_fetch_opts fo = opts->fetch_opts ? *opts->fetch_opts : (vf_fetch_opts){ 0 };
		fo.ca_file = src->ca_file;
		if (opts->snapshot) {
			/* offline: the cache as it was; nobody is asked */
			const vf_snapshot *snap = opts->snapshot;
			size_t k = 0;
			while (k < snap->n_cache && !vf_streq(snap->cache[k].name, name))
				k++;
			if (k == snap->n_cache)
				continue;
			e.size = snap->cache[k].size;
			e.image_size = e.cached = true;
		} else if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
			e.size = (uint64_t)st.st_size;
			e.image_size = e.cached = true;
		} else if (f->head(src->url, &fo, &e.size, &err) == 0) {
			e.image_size = !vf_fetch_url_compressed(src->url);
		} else {
			vf_error_clear(&err);
			continue;
		}
		VF_APPEND(v, n, cap, e);
	}
	*ret_n = n;
	return v;
}

/* Rule 5: an empty manifest set is far more often an accident (an
 * interrupted checkout, an unmounted share, a git-sync revision pointing
 * at an empty tree) than a wish to remove everything, as Argo CD's
 * allowEmpty knows. Every step of such a plan is a removal or a forget;
 * each is blocked with the reason, and the pass fails with the counts.
 * Returns 0 when nothing was blocked. */
static int vf_reconcile__guard_empty(const vf_desired *d, bool allow, bool dry, vf_plan *p,
				     vf_error *err)
{
	if (allow || d->n > 0 || vf_plan_empty(p))
		return 0;
	size_t removes = p->counts[VF_ACT_REMOVE] + p->counts[VF_ACT_BLOCKED];
	size_t forgets = p->counts[VF_ACT_RETAIN];
	for (size_t i = 0; i < p->n; i++)
		vf_plan_block_step(p, &p->steps[i],
				   vf_strdup("not removed: the manifest set is empty (allow it with --allow-empty)"));
	return vf_error_set(err, VF_E_EMPTY,
			    "the manifest set is empty: %s would remove %zu owned object%s and forget %zu; "
			    "nothing was changed. An interrupted checkout or an unmounted share looks like "
			    "this. To remove everything virtform owns here, use --allow-empty "
			    "(allowEmpty = true for watch)",
			    dry ? "apply" : "this apply", removes, removes == 1 ? "" : "s", forgets);
}

/* Rule 10: the ledger belongs to one host. A ledger bound to another is
 * refused before anything is observed, planned or forgotten; an unbound
 * (older) one is bound now, and written at once when it owns something,
 * so that a later run against another host cannot forget it all. */
static int vf_reconcile__host(const vf_backend *backend, vf_conn *conn,
			      const vf_reconcile_opts *opts, vf_ledger *ledger, vf_error *err)
{
	vf_host_id live = { 0 };
	if (backend->hv->host_identity) {
		int r = backend->hv->host_identity(conn, &live, err);
		if (r < 0)
			return r;
	} else {
		live.uri = vf_strdup(backend->hv->uri(conn));
	}
	int r = vf_ledger_bind_host(ledger, &live, opts->state_dir, err);
	vf_host_id_clear(&live);
	if (r == 1 && !opts->dry_run && ledger->n > 0)
		return vf_ledger_save(opts->state_dir, ledger, err);
	return r < 0 ? r : 0;
}

void vf_reconcile_result_free(vf_reconcile_result *r)
{
	if (!r)
		return;
	vf_plan_free(&r->plan);
	vf_plan_free(&r->replan);
	vf_diags_free(&r->conflicts);
	vf_error_clear(&r->err);
	memset(r, 0, sizeof(*r));
}

/* Observed state to plan from: a full observation into *own, or the
 * observer's cache (borrowed); with `leases`, the leases read too (they
 * only ever block steps, so a plan with no steps needs none). */
/* Observe (or take the observer's cache), read the leases when asked and
 * the host's files are ours to probe (lockd_conf non-NULL), and fill the
 * record texts the plan will diff. */
static int vf_reconcile__observe(const vf_backend *backend, vf_conn *conn,
				 const vf_reconcile_opts *opts, const vf_desired *desired,
				 const vf_ledger *ledger, const char *lockd_conf, bool leases,
				 vf_observed *own, vf_observed **out, vf_error *err)
{
	vf_observed_free(own);
	int r;
	if (opts->observer) {
		r = opts->observer->current(opts->observer->userdata, out, err);
	} else {
		r = backend->hv->observe(conn, own, err);
		*out = own;
	}
	if (r < 0)
		return r;
	if (lockd_conf && leases)
		vf_leases_observe(*out, lockd_conf);
	vf_records_load(opts->state_dir, desired, *out);
	vf_records_pools(opts->state_dir, desired, ledger, *out);
	return 0;
}

/* Plan into res->plan (conflicts into res->conflicts), with the image
 * sizes of volumes still to come. */
static int vf_reconcile__plan(const vf_desired *desired, const vf_observed *observed,
			      const vf_ledger *ledger, const vf_reconcile_opts *opts,
			      vf_plan_opts *popts, vf_source_size **sources, vf_reconcile_result *res)
{
	free(*sources);
	vf_plan_free(&res->plan);
	vf_diags_free(&res->conflicts);
	*popts = opts->plan;
	*sources = vf_reconcile__sources(opts, desired, observed, &popts->n_sources);
	popts->sources = *sources;
	int r = vf_plan_build(desired, observed, ledger, popts, &res->plan, &res->conflicts);
	if (r < 0) {
		/* "1 conflict", "2 problems": identity clashes by name, anything
		 * else the planner refuses (a type the host lacks) counted apart */
		size_t nc = 0;
		for (size_t i = 0; i < res->conflicts.n; i++)
			nc += res->conflicts.items[i].code == VF_E_CONFLICT;
		size_t n = res->conflicts.n;
		vf_code code = nc || !n ? VF_E_CONFLICT : res->conflicts.items[0].code;
		if (nc == n)
			vf_error_set(&res->err, code, "plan rejected: %zu conflict%s; nothing was changed",
				     n, n == 1 ? "" : "s");
		else
			vf_error_set(&res->err, code, "plan rejected: %zu problem%s; nothing was changed",
				     n, n == 1 ? "" : "s");
	}
	return r;
}

/* Rounds of re-reading a cached plan's objects before giving up on it. */
#define VF_RECONCILE_FRESH_ROUNDS 8

int vf_reconcile(const vf_backend *backend, vf_conn *conn, const vf_desired *desired,
		 const vf_reconcile_opts *opts, vf_reconcile_result *res)
{
	vf_ledger ledger = { 0 };
	vf_observed own = { 0 };  /* a full observation's; unused with an observer */
	vf_observed *observed = &own;
	vf_plan_opts popts;
	vf_source_size *sources = NULL; /* image sizes the plan shows (volumes from URLs) */
	char *lockd_conf = NULL;        /* where the host's virtlockd is configured */
	int r;

	res->phase = VF_PHASE_PLAN;
	r = vf_plan_check_replace(desired, &opts->plan, &res->err);
	if (r < 0)
		goto out;
	res->phase = VF_PHASE_LEDGER;
	if (opts->snapshot && !opts->dry_run)
		r = vf_error_set(&res->err, VF_E_USAGE, "a snapshot can be planned against, not applied");
	else if (opts->snapshot)
		r = opts->snapshot->ledger
			? vf_ledger_from_json(opts->snapshot->ledger, "in the snapshot", &ledger, &res->err)
			: 0;
	else
		r = vf_ledger_load(opts->state_dir, &ledger, &res->err);
	if (r < 0)
		goto out;
	r = vf_reconcile__host(backend, conn, opts, &ledger, &res->err);
	if (r < 0)
		goto out;

	res->phase = VF_PHASE_OBSERVE;
	/* A remote host's files are not ours to probe or lock. */
	bool local = !backend->hv->files_local || backend->hv->files_local(conn);
	/* A user's session daemon reads the user's own qemu-lockd.conf. */
	lockd_conf = opts->lockd_conf ? vf_strdup(opts->lockd_conf)
				      : vf_lockd_conf_for(backend->hv->uri(conn), geteuid() == 0);
	/* From a cache, leases are read once there is a step to block (the
	 * files of every disk on the host are too many to probe per event). */
	r = vf_reconcile__observe(backend, conn, opts, desired, &ledger,
				  local ? lockd_conf : NULL, !opts->observer, &own, &observed,
				  &res->err);
	if (r < 0)
		goto out;

	res->phase = VF_PHASE_PLAN;
	r = vf_reconcile__plan(desired, observed, &ledger, opts, &popts, &sources, res);
	/* From a cache: every object a step acts on is read again and the
	 * plan made again, until the plan names nothing not read in this
	 * pass. No step runs on what the cache remembered. */
	for (int round = 0; r == 0 && opts->observer && !vf_plan_empty(&res->plan); round++) {
		if (round == VF_RECONCILE_FRESH_ROUNDS) {
			r = vf_error_set(&res->err, VF_E_NOT_CONVERGED,
					 "the host kept changing while planning (%d rounds of re-reading the objects the plan acts on); nothing was changed",
					 round);
			goto out;
		}
		int n = opts->observer->refresh(opts->observer->userdata, &res->plan, false, &res->err);
		if (n <= 0) {
			r = n;
			if (r < 0) {
				res->phase = VF_PHASE_OBSERVE;
				goto out;
			}
			break;
		}
		r = vf_reconcile__observe(backend, conn, opts, desired, &ledger,
					  local ? lockd_conf : NULL, false, &own, &observed,
					  &res->err);
		if (r < 0) {
			res->phase = VF_PHASE_OBSERVE;
			goto out;
		}
		r = vf_reconcile__plan(desired, observed, &ledger, opts, &popts, &sources, res);
	}
	if (r == 0 && opts->observer && !vf_plan_empty(&res->plan)) {
		if (local)
			vf_leases_observe(observed, lockd_conf);
		r = vf_reconcile__plan(desired, observed, &ledger, opts, &popts, &sources, res);
	}
	if (r < 0)
		goto out;
	int er = vf_reconcile__guard_empty(desired, opts->allow_empty, opts->dry_run, &res->plan,
					   &res->err);
	if (er == 0 && opts->check_plan) {
		r = opts->check_plan(&res->plan, observed, &ledger, opts->userdata, &res->err);
		if (r < 0)
			goto out;
	}
	if (opts->on_plan)
		opts->on_plan(&res->plan, opts->userdata);
	if (er < 0) {
		/* planned, shown, and refused: nothing is applied */
		res->phase = VF_PHASE_DONE;
		r = er;
		goto out;
	}
	if (opts->dry_run || vf_plan_empty(&res->plan)) {
		res->converged = vf_plan_empty(&res->plan);
		res->phase = VF_PHASE_DONE;
		/* a converged apply still stores the record texts it can */
		r = opts->dry_run ? 0 : vf_records_save(opts->state_dir, desired, observed, &res->err);
		goto out;
	}

	res->phase = VF_PHASE_APPLY;
	res->applied = true;
	vf_apply_ctx ctx = {
		.backend = backend,
		.conn = conn,
		.state_dir = opts->state_dir,
		.ledger = &ledger,
		.progress = opts->progress,
		.userdata = opts->userdata,
		.stop = opts->stop,
		.locks = local ? opts->locks : NULL,
		.lock_wait_ms = opts->lock_wait_ms,
		.fetch = opts->fetch,
		.fetch_opts = opts->fetch_opts,
		.fleet = opts->fleet_hooks,
		.fleet_host = opts->fleet_host,
	};
	int ar = vf_apply_plan(&ctx, &res->plan, &res->err);

	/* Observe again whatever happened, so the caller can say what is left. */
	res->phase = VF_PHASE_REOBSERVE;
	vf_error oe = { 0 };
	r = 0;
	if (opts->observer)
		r = opts->observer->refresh(opts->observer->userdata, &res->plan, true, &oe);
	if (r >= 0)
		r = vf_reconcile__observe(backend, conn, opts, desired, &ledger,
					  local ? lockd_conf : NULL, true, &own, &observed, &oe);
	if (r < 0) {
		if (ar == 0) {
			vf_error_clear(&res->err);
			res->err = oe;
		} else {
			vf_error_clear(&oe);
		}
		goto out;
	}
	vf_diags late = { 0 };
	r = vf_plan_build(desired, observed, &ledger, &popts, &res->replan, &late);
	if (r < 0) {
		/* Cannot happen unless the host changed under us mid-run. */
		vf_diags_free(&res->conflicts);
		res->conflicts = late;
		if (ar == 0)
			vf_error_set(&res->err, VF_E_CONFLICT,
				     "the host changed while applying and the re-plan is rejected");
		goto out;
	}
	vf_diags_free(&late);
	res->converged = vf_plan_empty(&res->replan);
	res->phase = VF_PHASE_DONE;
	/* The texts of the records just made, named by the digests the
	 * defines wrote (controller/state/records.h). */
	vf_error se = { 0 };
	int sr = vf_records_save(opts->state_dir, desired, observed, &se);
	if (ar < 0)
		r = ar;
	else if (sr < 0)
		r = vf_error_set(&res->err, se.code, "%s", se.message);
	else if (!res->converged)
		r = vf_error_set(&res->err, VF_E_NOT_CONVERGED,
				 "apply finished but the host has not converged; %zu step%s still to do",
				 res->replan.n, res->replan.n == 1 ? "" : "s");
	else
		r = 0;
	vf_error_clear(&se);
out:
	free(sources);
	free(lockd_conf);
	vf_observed_free(&own);
	vf_ledger_free(&ledger);
	return r;
}

void vf_statedir_identify(const char *dir, vf_statedir_id *out)
{
	struct stat st;
	*out = (vf_statedir_id){ .path = vf_strdup(dir) };
	if (stat(dir, &st) == 0) {
		out->device = (uint64_t)st.st_dev;
		out->inode = (uint64_t)st.st_ino;
	}
}

static int vf_reconcile__cache_cmp(const void *a, const void *b)
{
	return strcmp(((const vf_cache_entry *)a)->name, ((const vf_cache_entry *)b)->name);
}

/* The image cache's complete entries: regular files, not a download in
 * progress or a temp file (vf_statedir_clean's patterns). */
static void vf_reconcile__cache(const char *state_dir, vf_snapshot *s)
{
	_cleanup_free_ char *dir = vf_asprintf("%s/cache", state_dir);
	DIR *dp = opendir(dir);
	size_t cap = 0;
	for (struct dirent *e; dp && (e = readdir(dp));) {
		const char *n = e->d_name;
		size_t len = strlen(n);
		if (n[0] == '.' || strstr(n, ".tmp.") ||
		    (len > 5 && strcmp(n + len - 5, ".part") == 0) ||
		    (len > 7 && strcmp(n + len - 7, ".unpack") == 0))
			continue;
		_cleanup_free_ char *path = vf_asprintf("%s/%s", dir, n);
		struct stat st;
		if (lstat(path, &st) < 0 || !S_ISREG(st.st_mode))
			continue;
		vf_cache_entry ce = { .name = vf_strdup(n), .size = (uint64_t)st.st_size };
		VF_APPEND(s->cache, s->n_cache, cap, ce);
	}
	if (dp)
		closedir(dp);
	if (s->n_cache)
		qsort(s->cache, s->n_cache, sizeof(*s->cache), vf_reconcile__cache_cmp);
}

int vf_reconcile_snapshot(const vf_backend *backend, vf_conn *conn, const vf_reconcile_opts *opts,
			  vf_snapshot *out, vf_error *err)
{
	vf_ledger ledger = { 0 };
	vf_snapshot s = { 0 };
	vf_reconcile_opts dry = *opts;
	dry.dry_run = true;
	int r = vf_ledger_load(opts->state_dir, &ledger, err);
	if (r < 0)
		goto out;
	bool has_ledger = ledger.n > 0 || ledger.host.uri;
	/* as the file holds it: the offline plan binds it as a plan would */
	s.ledger = has_ledger ? vf_ledger_to_json(&ledger) : NULL;
	r = vf_reconcile__host(backend, conn, &dry, &ledger, err);
	if (r < 0)
		goto out;
	if (backend->hv->host_identity) {
		r = backend->hv->host_identity(conn, &s.host, err);
		if (r < 0)
			goto out;
	} else {
		s.host.uri = vf_strdup(backend->hv->uri(conn));
	}
	r = backend->hv->observe(conn, &s.observed, err);
	if (r < 0)
		goto out;
	if (!backend->hv->files_local || backend->hv->files_local(conn))
		vf_leases_observe(&s.observed, opts->lockd_conf);
	vf_records_load_all(opts->state_dir, &s.observed);
	vf_records_pools(opts->state_dir, NULL, &ledger, &s.observed);
	vf_reconcile__cache(opts->state_dir, &s);
	vf_statedir_identify(opts->state_dir, &s.state_dir);
	s.virtform_version = vf_strdup(VF_VERSION);
	s.taken_at = vf_format_time(time(NULL));
	*out = s;
	s = (vf_snapshot){ 0 };
out:
	vf_snapshot_free(&s);
	vf_ledger_free(&ledger);
	return r;
}
