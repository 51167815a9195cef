/* volume.c: planning Volumes: create (empty, backed, fetched, cloned),
 * redo an unfinished create, drift (below), grow, replace; declared
 * backing volumes first; and the removal of an owned volume no longer
 * declared, blocked while a domain or an overlay still needs it. Pure. */
#include "controller/plan/kind.h"
#include "controller/plan/placement.h"

#include <stdio.h>

/* A running or paused domain using volume pool/name; NULL when none. */
static const vf_obs_domain *vf_plan__volume_running_user(const vf_plan_ctx *c, const char *pool,
							 const char *name)
{
	_cleanup_free_ char *key = vf_plan__disk_key_vol(pool, name);
	for (size_t i = 0; i < c->o->n_domains; i++) {
		const vf_obs_domain *d = &c->o->domains[i];
		if (d->state == VF_RUN_SHUTOFF)
			continue;
		for (size_t k = 0; k < d->n_disks; k++) {
			_cleanup_free_ char *dk = vf_plan__obs_disk_key(c, &d->disks[k]);
			if (vf_streq(dk, key))
				return d;
		}
	}
	return NULL;
}

/* ---- drift ---------------------------------------------------------------- */

/* A live backing path shown as "pool/name" when it is a known volume. */
static char *vf_diff__backing_name(const vf_plan_ctx *c, const char *path)
{
	if (!path)
		return NULL;
	const vf_obs_volume *v = vf_index_volume_by_path(c->ix, path);
	if (v)
		return vf_asprintf("%s/%s", v->pool, v->name);
	return vf_strdup(path);
}

static bool vf_diff__volume(const vf_plan_ctx *c, const vf_object *want, const vf_obs_volume *have,
		     vf_step *s)
{
	const vf_volume_spec *vs = &want->u.volume;
	bool replace = false;
	if (vs->capacity != have->capacity) {
		bool grow = vs->capacity > have->capacity;
		vf_step__change_take(s, "spec.capacity",
				     vf_format_size_exact(have->capacity), vf_format_size_exact(vs->capacity),
				     grow ? VF_EFFECT_LIVE : VF_EFFECT_REPLACE);
		replace |= !grow;
	}
	vf_vol_format fmt = vf_vol_fmt(vs);
	bool fmt_differs = have->format != VF_VOL_FORMAT_UNSET
		? have->format != fmt
		: !vf_streq(have->format_name, vf_vol_format_to_string(fmt));
	if (fmt_differs) {
		vf_step__change(s, "spec.format", have->format_name, vf_vol_format_to_string(fmt),
				VF_EFFECT_REPLACE);
		replace = true;
	}
	if (vs->has_backing) {
		const vf_obs_volume *bv = vf_index_volume(c->ix, vs->backing.pool, vs->backing.name);
		if (!bv || !have->backing_path || !vf_streq(bv->path, have->backing_path)) {
			vf_step__change_take(s, "spec.backingVolume",
					     vf_diff__backing_name(c, have->backing_path),
					     vf_asprintf("%s/%s", vs->backing.pool, vs->backing.name),
					     VF_EFFECT_REPLACE);
			replace = true;
		}
	}
	/* spec.source only matters at creation: a volume is never refilled
	 * because its source changed, so a change means a replacement. What
	 * it was created from is in the ledger (volumes virtform made). */
	const vf_ledger_entry *e =
		vf_index_ledger(c->ix, VF_KIND_VOLUME, have->pool, have->name);
	_cleanup_free_ char *key = vf_volume_source_key(vs);
	if (e && !vf_streq_null(e->source, key)) {
		vf_step__change(s, "spec.source", e->source, key, VF_EFFECT_REPLACE);
		replace = true;
	}
	return replace;
}

/* ---- volumes -------------------------------------------------------------- */

/* What reconcile learnt of a source URL before planning; NULL unknown. */
static const vf_source_size *vf_plan__source_size(const vf_plan_ctx *c, const char *url)
{
	for (size_t i = 0; c->opts && i < c->opts->n_sources; i++)
		if (vf_streq(c->opts->sources[i].url, url))
			return &c->opts->sources[i];
	return NULL;
}

/* The ops that create a volume: from nothing, a download or a clone; then
 * grown to spec.capacity (a no-op when the content is that big already). */
static void vf_plan__volume_create_ops(vf_step *s, const vf_object *o)
{
	const vf_volume_spec *vs = &o->u.volume;
	if (!vs->has_source) {
		vf_step__op(s, VF_OP_VOLUME_CREATE, o);
		return;
	}
	if (vs->source.has_volume) {
		vf_step__op(s, VF_OP_VOLUME_CLONE, o);
	} else {
		vf_step__op(s, VF_OP_VOLUME_FETCH, o);
		vf_step__op(s, VF_OP_VOLUME_UPLOAD, o)->u64 = vs->capacity;
	}
	vf_step__op(s, VF_OP_VOLUME_RESIZE, o)->u64 = vs->capacity;
}

/* A new volume with spec.source: the reason says what is fetched or
 * copied; a capacity below a known content size rejects the plan. */
static void vf_plan__volume_source(vf_plan_builder *b, const vf_object *o, vf_step *s,
				   const char *size, const char *fmt)
{
	const vf_volume_spec *vs = &o->u.volume;
	const vf_volume_source *src = &vs->source;
	if (src->has_volume) {
		const vf_obs_volume *ov = vf_index_volume(b->c.ix, src->volume.pool, src->volume.name);
		const vf_object *dv = vf_index_desired(b->c.ix, VF_KIND_VOLUME, src->volume.pool,
						      src->volume.name);
		uint64_t have = ov ? ov->capacity : dv ? dv->u.volume.capacity : 0;
		vf_step__reason(s, "create %s %s volume as a copy of %s/%s", size, fmt,
			       src->volume.pool, src->volume.name);
		if (have > vs->capacity) {
			_cleanup_free_ char *h = vf_format_size_exact(have);
			vf_diag_add(&b->diags, VF_E_CONFLICT, vs->capacity_pos,
				    "Volume \"%s\": capacity %s is smaller than source volume %s/%s (%s); a copy cannot shrink",
				    o->name, size, src->volume.pool, src->volume.name, h);
		}
		if (!ov && !dv)
			vf_diag_add(&b->diags, VF_E_CONFLICT, src->volume.pos,
				    "Volume \"%s\": source volume %s/%s is neither declared nor on the host",
				    o->name, src->volume.pool, src->volume.name);
		return;
	}
	const vf_source_size *known = vf_plan__source_size(&b->c, src->url);
	const char *verify = src->algo == VF_CHECKSUM_NONE ? "unverified: insecureSkipVerify"
							   : vf_checksum_algo_to_string(src->algo);
	if (known) {
		_cleanup_free_ char *k = vf_format_size(known->size);
		vf_step__reason(s, "create %s %s volume from %s (%s%s, %s)", size, fmt, src->url, k,
			       known->cached ? ", cached" : "", verify);
		/* qcow2's virtual size is in its header: checked at apply time */
		if (known->image_size && vf_vol_fmt(vs) == VF_VOL_RAW && known->size > vs->capacity) {
			_cleanup_free_ char *ke = vf_format_size_exact(known->size);
			_cleanup_free_ char *ce = vf_format_size_exact(vs->capacity);
			vf_diag_add(&b->diags, VF_E_CONFLICT, vs->capacity_pos,
				    "Volume \"%s\": capacity %s is smaller than the image %s (%s)",
				    o->name, ce, src->url, ke);
		}
	} else {
		vf_step__reason(s, "create %s %s volume from %s (size unknown, %s)", size, fmt,
			       src->url, verify);
	}
}

/* A live domain with volume v as a disk, by volume or by path; NULL when
 * none. Borrowed. */
static const char *vf_plan__volume_live_user(const vf_plan_ctx *c, const vf_obs_volume *v)
{
	_cleanup_free_ char *key = vf_plan__disk_key_vol(v->pool, v->name);
	for (size_t i = 0; i < c->o->n_domains; i++) {
		const vf_obs_domain *d = &c->o->domains[i];
		for (size_t k = 0; k < d->n_disks; k++) {
			_cleanup_free_ char *dk = vf_plan__obs_disk_key(c, &d->disks[k]);
			if (vf_streq(dk, key))
				return d->name;
		}
	}
	return NULL;
}

/* A volume whose create an earlier apply did not finish: its content
 * cannot be trusted (a truncated upload, a partial copy), so it is deleted
 * and made again. libvirt gives a volume no identity to check, so a
 * pending claim is taken as ours: the plan saw the name free, and a
 * foreign create of that name would have made ours fail (and the claim be
 * dropped). A volume some domain already uses is not touched: that is no
 * longer a half-made volume nobody has seen. */
static void vf_plan__volume_redo(vf_plan_builder *b, const vf_object *o, const vf_obs_volume *live,
				 vf_step *s)
{
	const char *user = vf_plan__volume_live_user(&b->c, live);
	if (user) {
		s->action = VF_ACT_BLOCKED;
		vf_step__reason(s,
			       "re-create (incomplete) blocked: an earlier apply stopped before it finished, but Domain \"%s\" uses it; check its content, then delete the volume (virsh vol-delete) to have it made again",
			       user);
	} else {
		s->action = VF_ACT_UPDATE;
		vf_step__reason(s, VF_PLAN_REDO "delete it and create it again");
		vf_step__op(s, VF_OP_VOLUME_DELETE, o);
		vf_plan__ledger_put(s, o, o->u.volume.deletion);
		vf_plan__volume_create_ops(s, o);
	}
	vf_plan__push(b, s);
}

static void vf_plan__volume(vf_plan_builder *b, const vf_object *o)
{
	const vf_volume_spec *vs = &o->u.volume;
	const vf_obs_volume *live = vf_plan__pool_replaced(b, vs->pool)
		? NULL
		: vf_index_volume(b->c.ix, vs->pool, o->name);
	vf_step s = vf_step__new(VF_KIND_VOLUME, vs->pool, o->name, o->pos);
	_cleanup_free_ char *size = vf_format_size(vs->capacity);
	const char *fmt = vf_vol_format_to_string(vf_vol_fmt(vs));

	if (!live) {
		s.action = VF_ACT_CREATE;
		if (vs->has_source)
			vf_plan__volume_source(b, o, &s, size, fmt);
		else if (vs->has_backing)
			vf_step__reason(&s, "create %s %s volume backed by %s/%s", size, fmt,
				       vs->backing.pool, vs->backing.name);
		else
			vf_step__reason(&s, "create %s %s volume", size, fmt);
		vf_plan__ledger_put(&s, o, vs->deletion);
		vf_plan__volume_create_ops(&s, o);
		vf_plan__push(b, &s);
		return;
	}
	if (vf_plan__unfinished(&b->c, VF_KIND_VOLUME, vs->pool, o->name)) {
		vf_plan__volume_redo(b, o, live, &s);
		return;
	}
	bool owned = vf_plan__owned_volume(&b->c, live);
	if (!owned && !vs->adopt) {
		vf_step__clear(&s);
		return;
	}
	bool replace = vf_diff__volume(&b->c, o, live, &s);
	bool policy = owned && vf_plan__policy_changed(&b->c, &s, VF_KIND_VOLUME, vs->pool,
							o->name, vs->deletion);
	if (s.n_changes == 0 && owned) {
		vf_step__clear(&s);
		return;
	}
	_cleanup_free_ char *ref = vf_plan__ref(VF_KIND_VOLUME, vs->pool, o->name);
	if (replace) {
		_cleanup_free_ char *fields = vf_plan__replace_fields(&s);
		const vf_obs_domain *runner = vf_plan__volume_running_user(&b->c, vs->pool, o->name);
		_cleanup_free_ char *overlay = vf_plan__overlay_reason(b, live, NULL);
		if (!vf_plan__replace_allowed(&b->c, ref)) {
			s.action = VF_ACT_BLOCKED;
			vf_step__reason(&s,
				       "changing %s would destroy the data in the volume; use --replace %s",
				       fields, ref);
		} else if (runner) {
			s.action = VF_ACT_BLOCKED;
			vf_step__reason(&s, "replace (--replace %s) blocked: Domain \"%s\" is %s and uses it; stop it first",
				       ref, runner->name, runner->state_name ? runner->state_name : "running");
		} else if (overlay) {
			s.action = VF_ACT_BLOCKED;
			vf_step__reason(&s, "replace (--replace %s) blocked: %s", ref, overlay);
		} else {
			s.action = VF_ACT_UPDATE;
			vf_step__reason(&s,
				       "replace (--replace %s): changing %s deletes the volume and its data",
				       ref, fields);
			vf_step__op(&s, VF_OP_VOLUME_DELETE, o);
			vf_plan__ledger_put(&s, o, vs->deletion);
			vf_plan__volume_create_ops(&s, o);
		}
		vf_plan__push(b, &s);
		return;
	}
	s.action = VF_ACT_UPDATE;
	s.reason = vf_plan__drift_reason(s.n_changes, !owned, "volume");
	if (!owned || policy)
		vf_plan__ledger_put(&s, o, vs->deletion);
	if (vs->capacity > live->capacity)
		vf_step__op(&s, VF_OP_VOLUME_RESIZE, o)->u64 = vs->capacity;
	vf_plan__push(b, &s);
}

/* A declared volume; one only placed domains use through placement.c (rule 16). */
static void vf_plan__volume_placed(vf_plan_builder *b, const vf_object *o)
{
	vf_plan__placed(b, o, vf_plan__volume);
}

/* A volume against (pool, name) in the order vf_plan__cmp_obj sorts volumes. */
static int vf_plan__cmp_pool_name(const vf_object *v, const char *pool, const char *name)
{
	int r = strcmp(v->u.volume.pool ? v->u.volume.pool : "", pool);
	return r ? r : strcmp(v->name, name);
}

static void vf_plan__volume_visit_named(vf_plan_builder *b, const vf_object **vols, size_t n,
					unsigned char *mark, const char *pool, const char *name);

/* Depth-first: a declared backing volume is planned before the volumes it backs. */
static void vf_plan__volume_visit(vf_plan_builder *b, const vf_object **vols, size_t n,
				  unsigned char *mark, size_t i)
{
	if (mark[i])
		return;
	mark[i] = 1; /* in progress: a cycle simply stops here */
	const vf_volume_spec *vs = &vols[i]->u.volume;
	if (vs->has_backing)
		vf_plan__volume_visit_named(b, vols, n, mark, vs->backing.pool, vs->backing.name);
	if (vs->has_source && vs->source.has_volume)
		vf_plan__volume_visit_named(b, vols, n, mark, vs->source.volume.pool,
					    vs->source.volume.name);
	vf_plan__volume_placed(b, vols[i]);
}

/* Visit every declared volume pool/name, in array order: a binary search
 * for the first, as `vols` is sorted by (pool, name). */
static void vf_plan__volume_visit_named(vf_plan_builder *b, const vf_object **vols, size_t n,
					unsigned char *mark, const char *pool, const char *name)
{
	if (!pool || !name)
		return; /* matches nothing */
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (vf_plan__cmp_pool_name(vols[mid], pool, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t j = lo; j < n && vf_plan__cmp_pool_name(vols[j], pool, name) == 0; j++)
		if (vf_streq(vols[j]->name, name) && vf_streq(vols[j]->u.volume.pool, pool))
			vf_plan__volume_visit(b, vols, n, mark, j);
}

/* The first domain (declared, or live and staying) using the volume; NULL
 * when none does. Borrowed. */
static const char *vf_plan__volume_user(const vf_plan_builder *b, const char *pool,
					const char *name)
{
	_cleanup_free_ char *key = vf_plan__disk_key_vol(pool, name);
	const vf_disk_users *u = vf_strmap_get(b->c.disk_users, key);
	if (!u)
		return NULL;
	if (u->decl)
		return u->decl->name;
	for (size_t i = 0; i < u->n_live; i++)
		if (!vf_plan__domain_removed(b, u->live[i]->name))
			return u->live[i]->name;
	return NULL;
}

static void vf_plan__remove_volume(vf_plan_builder *b, const vf_ledger_entry *e)
{
	const vf_obs_volume *live = vf_index_volume(b->c.ix, e->pool, e->name);
	if (!live) {
		vf_plan__retain(b, e, "already gone from the host");
		return;
	}
	if (e->deletion != VF_DELETION_DELETE) {
		vf_plan__retain(b, e, "no longer declared, retained (deletionPolicy Retain)");
		return;
	}
	vf_step s = vf_step__new(VF_KIND_VOLUME, e->pool, e->name, (vf_pos){ 0 });
	const char *user = vf_plan__volume_user(b, e->pool, e->name);
	_cleanup_free_ char *overlay = user ? NULL : vf_plan__overlay_reason(b, live, NULL);
	if (user) {
		s.action = VF_ACT_BLOCKED;
		vf_step__reason(&s,
			       "no longer declared (deletionPolicy Delete), but Domain \"%s\" still uses it; deleting it would destroy that domain's disk",
			       user);
	} else if (overlay) {
		s.action = VF_ACT_BLOCKED;
		vf_step__reason(&s, "no longer declared (deletionPolicy Delete), but %s", overlay);
	} else {
		s.action = VF_ACT_REMOVE;
		s.reason = vf_strdup("no longer declared; delete it and its data (deletionPolicy Delete)");
		vf_step__op(&s, VF_OP_VOLUME_DELETE, NULL);
		vf_step__op(&s, VF_OP_LEDGER_DROP, NULL);
		vf_plan__mark_deleted(b, e->pool, e->name);
	}
	vf_plan__push(b, &s);
}

static void vf_plan__volumes(vf_plan_builder *b, const vf_object **objs, size_t n)
{
	_cleanup_free_ unsigned char *mark = vf_calloc(n ? n : 1, 1);
	for (size_t i = 0; i < n; i++)
		vf_plan__volume_visit(b, objs, n, mark, i);
}

/* ---- references (conflict.c asks) ------------------------------------------ */

/* The pool and backing volume it names must be declared or on the host. */
static void vf_plan__volume_references(const vf_plan_ctx *c, const vf_object *o, vf_diags *out)
{
	const vf_volume_spec *vs = &o->u.volume;
	if (!vf_index_desired(c->ix, VF_KIND_POOL, NULL, vs->pool) && !vf_index_pool(c->ix, vs->pool))
		VF_CONFLICT(out, vs->pool_pos.file ? vs->pool_pos : o->pos, (vf_pos){ 0 },
			    "Volume \"%s\" is in pool \"%s\", which is neither declared nor on the host",
			    o->name, vs->pool);
	if (vs->has_backing && !vf_plan__volume_exists(c, vs->backing.pool, vs->backing.name))
		VF_CONFLICT(out, vs->backing.pos.file ? vs->backing.pos : o->pos, (vf_pos){ 0 },
			    "Volume \"%s\" has backing volume \"%s\" in pool \"%s\", which is neither declared nor on the host",
			    o->name, vs->backing.name, vs->backing.pool);
}

const vf_plan_kind vf_plan_kind_volume = {
	.name = "Volume",
	.kind = VF_KIND_VOLUME,
	.plan = vf_plan__volume,
	.plan_all = vf_plan__volumes,
	.references = vf_plan__volume_references,
	.remove = vf_plan__remove_volume,
	.remove_overlays_first = true,
};
