/* pool.c: planning StoragePools: create, drift (below), replace when a
 * field needs it and nothing the pool holds would be lost, autostart and
 * state; and the removal of an owned pool no longer declared, blocked
 * while it holds anything this plan does not delete. Pure. */
#include "controller/plan/kind.h"
#include "controller/plan/xmldiff.h"

#include <stdio.h>

/* One thing pool p holds, named `name` (a directory entry or a volume v,
 * either may be missing): counted into *n, and named in *out while fewer
 * than VF_PLAN_NAMED are, unless deleting it is allowed: an owned volume
 * this plan deletes (replacing: an owned volume with deletionPolicy Delete,
 * which the replacement recreates when declared). */
static void vf_plan__pool_keep(const vf_plan_builder *b, const char *name,
			       const vf_obs_volume *v, bool replacing, vf_buf *out, size_t *n)
{
	const vf_ledger_entry *e = v ? vf_index_ledger(b->c.ix, VF_KIND_VOLUME, v->pool, v->name)
				     : NULL;
	bool may = e && (replacing ? e->deletion == VF_DELETION_DELETE
				   : vf_plan__is_deleted(b, v->pool, v->name));
	if (may)
		return;
	if ((*n)++ >= VF_PLAN_NAMED)
		return;
	vf_buf_printf(out, "%s\"%s\"%s", *n > 1 ? ", " : "", name,
		      !e				  ? ""
		      : e->deletion != VF_DELETION_DELETE ? " (deletionPolicy Retain)"
							  : " (virtform's, not deleted by this plan)");
}

/* What deleting live pool p (with its data) would take that it may not,
 * as the end of a reason ("it holds 2 files or volumes this plan does not
 * delete: ..."), or NULL when nothing. Caller frees. */
static char *vf_plan__pool_keeps(vf_plan_builder *b, const vf_obs_pool *p, bool replacing)
{
	if (!p->contents_known)
		return vf_asprintf("what it holds cannot be seen (%s), and deleting it would delete all of it",
				   p->contents_note ? p->contents_note : "not listed");
	vf_buf names = { 0 };
	size_t n = 0;
	for (size_t i = 0; i < p->n_entries; i++)
		vf_plan__pool_keep(b, p->entries[i], vf_index_volume(b->c.ix, p->name, p->entries[i]),
				   replacing, &names, &n);
	for (size_t i = 0; i < b->c.o->n_volumes; i++) {
		const vf_obs_volume *v = &b->c.o->volumes[i];
		if (vf_streq(v->pool, p->name) && !vf_plan__pool_has_entry(p, v->name))
			vf_plan__pool_keep(b, v->name, v, replacing, &names, &n);
	}
	if (n > VF_PLAN_NAMED)
		vf_buf_printf(&names, " and %zu more", n - VF_PLAN_NAMED);
	_cleanup_free_ char *list = vf_buf_steal(&names);
	if (n)
		return vf_asprintf("it holds %zu file%s or volume%s this plan does not delete: %s; move %s out first",
				   n, n == 1 ? "" : "s", n == 1 ? "" : "s", list, n == 1 ? "it" : "them");
	/* its volumes go; nothing elsewhere may be backed by one */
	for (size_t i = 0; i < b->c.o->n_volumes; i++) {
		const vf_obs_volume *v = &b->c.o->volumes[i];
		char *why = vf_streq(v->pool, p->name) ? vf_plan__overlay_reason(b, v, p->name) : NULL;
		if (why)
			return why;
	}
	return NULL;
}

/* ---- drift ----------------------------------------------------------------- */

static void vf_diff__pool_source(vf_step *s, const char *field, const char *want,
				 const char *have, bool *replace)
{
	if (want && !vf_streq(want, have)) {
		vf_step__change(s, field, have, want, VF_EFFECT_REPLACE);
		*replace = true;
	}
}

static bool vf_diff__pool(const vf_object *want, const vf_obs_pool *have, vf_step *s)
{
	const vf_pool_spec *ps = &want->u.pool;
	bool replace = false, raw = ps->xml != NULL;
	bool type_differs = have->type != VF_POOL_TYPE_UNSET
		? have->type != ps->type
		: !vf_streq(have->type_name, vf_pool_type_to_string(ps->type));
	if (ps->type != VF_POOL_TYPE_UNSET && type_differs) {
		vf_step__change(s, raw ? "xml:/pool/@type" : "spec.type", have->type_name,
				vf_pool_type_to_string(ps->type),
				VF_EFFECT_REPLACE);
		replace = true;
	}
	if (ps->target_path && !vf_plan__same_path(ps->target_path, have->target_path)) {
		vf_step__change(s, raw ? "xml:/pool/target/path" : "spec.target.path", have->target_path,
				ps->target_path,
				VF_EFFECT_REPLACE);
		replace = true;
	}
	/* a spec.xml pool's fields are named where its XML has them */
	vf_diff__pool_source(s, raw ? "xml:/pool/source/device/@path" : "spec.source.device",
			     ps->source.device, have->source.device, &replace);
	vf_diff__pool_source(s, raw ? "xml:/pool/source/host/@name" : "spec.source.host",
			     ps->source.host, have->source.host, &replace);
	vf_diff__pool_source(s, raw ? "xml:/pool/source/dir/@path" : "spec.source.dir", ps->source.dir,
			     have->source.dir, &replace);
	vf_diff__pool_source(s, raw ? "xml:/pool/source/name" : "spec.source.name", ps->source.name,
			     have->source.name, &replace);

	bool want_active = ps->state != VF_POOL_INACTIVE;
	if (want_active != have->active)
		vf_step__change(s, "spec.state", have->active ? "active" : "inactive",
				want_active ? "active" : "inactive", VF_EFFECT_LIVE);
	bool want_auto = vf_tri_get(ps->autostart, true);
	if (want_auto != have->autostart)
		vf_step__change(s, "spec.autostart", vf_plan__bool_str(have->autostart),
				vf_plan__bool_str(want_auto), VF_EFFECT_LIVE);
	return replace;
}

/* spec.xml, three ways as for domains (docs/concepts.md, "Raw XML: three
 * ways"): with a record (in the pool's ledger entry), the manifest against
 * the one applied and the live inactive XML against what libvirt made of
 * it, both exact, live figures aside; without one (adopted, first apply),
 * the manifest must be a subset of the live document. Each difference is
 * a redefine in place, seen by an active pool when it next starts.
 * Returns how many were made outside virtform (the manifest unchanged). */
static size_t vf_diff__pool_xml(const vf_object *o, const vf_obs_pool *live, vf_step *s,
				vf_diags *diags)
{
	const vf_pool_spec *ps = &o->u.pool;
	static const char *const ignore[] = { "/pool/uuid" };
	vf_xmldiff_list l = { 0 };
	vf_error err = { 0 };
	size_t n_manifest = 0;
	bool live_side = false;
	int r = vf_xmldiff_recorded(ps->xml, ps->xml_hash, &live->applied, live->xml_bare,
				    live->xml_bare_digest, ignore, 1, &l, &n_manifest, &live_side, &err);
	if (r == 0) {
		live_side = true;
		r = vf_xmldiff_subset(ps->xml, live->xml_bare, ignore, 1, &l, &err);
		live_side = r < 0 && err.code != VF_E_SCHEMA;
		n_manifest = l.n;
	}
	if (r < 0) {
		vf_pos pos = ps->xml_pos.file ? ps->xml_pos : o->pos;
		if (live_side)
			vf_diag_add(diags, VF_E_DRIVER, pos,
				    "StoragePool \"%s\": the live pool's XML could not be read", o->name);
		else
			vf_diag_add(diags, VF_E_SCHEMA, pos,
				    "StoragePool \"%s\": spec.xml is not well-formed XML", o->name);
	}
	for (size_t i = 0; r >= 0 && i < l.n; i++) {
		_cleanup_free_ char *f = vf_asprintf("xml:%s", l.items[i].path);
		vf_step__change(s, f, l.items[i].old_value, l.items[i].new_value, VF_EFFECT_NEXT_BOOT);
	}
	size_t oob = r > 0 && !n_manifest ? l.n : 0;
	vf_xmldiff_list_free(&l);
	vf_error_clear(&err);
	return oob;
}

/* ---- pools ---------------------------------------------------------------- */

/* Ops deleting each volume libvirt lists in live pool p, one by one,
 * before the pool itself: the driver never empties a pool wholesale, so
 * what appears between plan and apply is refused, not deleted. Called
 * only once vf_plan__pool_keeps found every one of them may go. */
static void vf_plan__pool_delete_volumes(const vf_plan_builder *b, vf_step *s,
					 const vf_obs_pool *p)
{
	for (size_t i = 0; i < b->c.o->n_volumes; i++) {
		const vf_obs_volume *v = &b->c.o->volumes[i];
		if (!vf_streq(v->pool, p->name))
			continue;
		vf_op *op = vf_step__op(s, VF_OP_VOLUME_DELETE, NULL);
		op->kind = VF_KIND_VOLUME;
		free(op->pool);
		free(op->name);
		op->pool = vf_strdup(p->name);
		op->name = vf_strdup(v->name);
		op->path = vf_strdup(v->path);
	}
}

static void vf_plan__pool_create_ops(vf_step *s, const vf_object *o)
{
	const vf_pool_spec *ps = &o->u.pool;
	vf_plan__ledger_put(s, o, ps->deletion);
	vf_step__op(s, VF_OP_POOL_DEFINE, o);
	if (ps->state != VF_POOL_INACTIVE)
		vf_step__op(s, VF_OP_POOL_START, o);
	if (vf_tri_get(ps->autostart, true))
		vf_step__op(s, VF_OP_POOL_AUTOSTART, o)->flag = true;
}

/* A live disk in pool p: a volume of it, or a file in its directory. */
static bool vf_plan__obs_disk_in_pool(const vf_obs_disk *od, const vf_obs_pool *p)
{
	return od->type == VF_OBS_DISK_VOLUME ? vf_streq(od->pool, p->name)
					      : vf_plan__path_in_dir(od->path, p->target_path);
}

/* A running (or paused) domain with a disk in live pool `p`, by volume or
 * by a path under its target, and that disk; NULL when none. Replacing the
 * pool would pull the disk from under it. */
static const vf_obs_domain *vf_plan__pool_running_user(const vf_plan_ctx *c, const vf_obs_pool *p,
						       const char **disk)
{
	for (size_t i = 0; i < c->o->n_domains; i++) {
		const vf_obs_domain *d = &c->o->domains[i];
		if (d->state == VF_RUN_SHUTOFF)
			continue;
		for (size_t k = 0; k < d->n_disks; k++) {
			const vf_obs_disk *od = &d->disks[k];
			if (vf_plan__obs_disk_in_pool(od, p)) {
				*disk = od->type == VF_OBS_DISK_VOLUME ? od->volume : od->path;
				return d;
			}
		}
	}
	return NULL;
}

static void vf_plan__pool(vf_plan_builder *b, const vf_object *o)
{
	const vf_pool_spec *ps = &o->u.pool;
	const vf_obs_pool *live = vf_index_pool(b->c.ix, o->name);
	vf_step s = vf_step__new(VF_KIND_POOL, NULL, o->name, o->pos);

	if (!live) {
		s.action = VF_ACT_CREATE;
		if (ps->target_path)
			vf_step__reason(&s, "create %s pool at %s", vf_pool_type_to_string(ps->type),
				       ps->target_path);
		else
			vf_step__reason(&s, "create %s pool", vf_pool_type_to_string(ps->type));
		vf_plan__pool_create_ops(&s, o);
		vf_plan__push(b, &s);
		return;
	}
	bool owned = vf_plan__owned_pool(&b->c, live);
	if (owned && vf_plan__unfinished(&b->c, VF_KIND_POOL, NULL, o->name)) {
		/* its UUID says it is the one virtform defined */
		s.action = VF_ACT_UPDATE;
		vf_step__reason(&s, VF_PLAN_REDO "define and build it again in place (nothing in it is deleted)");
		vf_plan__pool_create_ops(&s, o);
		vf_plan__push(b, &s);
		return;
	}
	if (!owned && !ps->adopt) {
		vf_step__clear(&s); /* a conflict, reported by conflict.c */
		return;
	}
	bool replace = vf_diff__pool(o, live, &s);
	size_t before_xml = s.n_changes, oob = 0;
	if (ps->xml && !replace)
		oob = vf_diff__pool_xml(o, live, &s, &b->diags);
	bool redefine = s.n_changes > before_xml;
	bool policy = owned && vf_plan__policy_changed(&b->c, &s, VF_KIND_POOL, NULL, o->name,
							ps->deletion);
	if (s.n_changes == 0 && owned) {
		vf_step__clear(&s);
		return;
	}
	_cleanup_free_ char *ref = vf_plan__ref(VF_KIND_POOL, NULL, o->name);
	if (replace) {
		_cleanup_free_ char *fields = vf_plan__replace_fields(&s);
		_cleanup_free_ char *keeps = NULL;
		const char *disk = NULL;
		const vf_obs_domain *user = vf_plan__pool_running_user(&b->c, live, &disk);
		if (!vf_plan__replace_allowed(&b->c, ref)) {
			s.action = VF_ACT_BLOCKED;
			vf_step__reason(&s,
				       "changing %s would destroy the pool and every volume in it; use --replace %s",
				       fields, ref);
		} else if (user) {
			s.action = VF_ACT_BLOCKED;
			vf_step__reason(&s,
				       "replace (--replace %s) blocked: Domain \"%s\" is %s and uses %s in this pool; stop it first",
				       ref, user->name, user->state_name ? user->state_name : "running", disk);
		} else if ((keeps = vf_plan__pool_keeps(b, live, true))) {
			s.action = VF_ACT_BLOCKED;
			vf_step__reason(&s, "replace (--replace %s) blocked: %s", ref, keeps);
		} else {
			s.action = VF_ACT_UPDATE;
			vf_step__reason(&s,
				       "replace (--replace %s): changing %s destroys the pool and every volume in it",
				       ref, fields);
			vf_plan__pool_delete_volumes(b, &s, live);
			vf_step__op(&s, VF_OP_POOL_UNDEFINE, o)->flag = true;
			vf_plan__pool_create_ops(&s, o);
			VF_APPEND(b->replaced_pools, b->n_replaced, b->cap_replaced,
				  vf_strdup(o->name));
		}
		vf_plan__push(b, &s);
		return;
	}
	s.action = VF_ACT_UPDATE;
	if (oob && oob == s.n_changes && owned)
		s.reason = vf_asprintf("%zu field%s changed outside virtform since the last apply", oob,
				       oob == 1 ? "" : "s");
	else
		s.reason = vf_plan__drift_reason(s.n_changes, !owned, "storage pool");
	if (!owned || policy || redefine)
		vf_plan__ledger_put(&s, o, ps->deletion);
	if (redefine)
		vf_step__op(&s, VF_OP_POOL_DEFINE, o); /* in place: same UUID, nothing deleted */
	bool want_active = ps->state != VF_POOL_INACTIVE;
	if (want_active && !live->active)
		vf_step__op(&s, VF_OP_POOL_START, o);
	else if (!want_active && live->active)
		vf_step__op(&s, VF_OP_POOL_STOP, o);
	bool want_auto = vf_tri_get(ps->autostart, true);
	if (want_auto != live->autostart)
		vf_step__op(&s, VF_OP_POOL_AUTOSTART, o)->flag = want_auto;
	vf_plan__push(b, &s);
}

/* A domain that keeps using a disk in live pool p after this plan: a
 * declared one, or a live one this plan does not remove, by volume or by
 * a path in the pool's directory, running or not (an inactive pool lists
 * no volumes, but its files are still someone's disks). *disk names the
 * disk. NULL when none. */
static const char *vf_plan__pool_user(const vf_plan_builder *b, const vf_obs_pool *p,
				      const char **disk)
{
	for (size_t i = 0; i < b->c.d->n; i++) {
		const vf_object *o = &b->c.d->objs[i];
		for (size_t k = 0; o->kind == VF_KIND_DOMAIN && k < o->u.domain.n_disks; k++) {
			const vf_disk *d = &o->u.domain.disks[k];
			if (d->has_volume ? vf_streq(d->volume.pool, p->name)
					  : vf_plan__path_in_dir(d->path, p->target_path)) {
				*disk = d->has_volume ? d->volume.name : d->path;
				return o->name;
			}
		}
	}
	for (size_t i = 0; i < b->c.o->n_domains; i++) {
		const vf_obs_domain *dom = &b->c.o->domains[i];
		if (vf_plan__domain_removed(b, dom->name) ||
		    vf_index_desired(b->c.ix, VF_KIND_DOMAIN, NULL, dom->name))
			continue;
		for (size_t k = 0; k < dom->n_disks; k++) {
			const vf_obs_disk *od = &dom->disks[k];
			if (vf_plan__obs_disk_in_pool(od, p)) {
				*disk = od->type == VF_OBS_DISK_VOLUME ? od->volume : od->path;
				return dom->name;
			}
		}
	}
	return NULL;
}

static void vf_plan__remove_pool(vf_plan_builder *b, const vf_ledger_entry *e)
{
	const vf_obs_pool *live = vf_index_pool(b->c.ix, e->name);
	if (!live || uuid_compare(live->uuid, e->uuid) != 0) {
		vf_plan__retain(b, e, "already gone from the host");
		return;
	}
	if (e->deletion != VF_DELETION_DELETE) {
		vf_plan__retain(b, e, "no longer declared, retained (deletionPolicy Retain)");
		return;
	}
	vf_step s = vf_step__new(VF_KIND_POOL, NULL, e->name, (vf_pos){ 0 });
	/* A pool still holding a declared volume, a disk a domain uses, or
	 * anything this plan does not delete would take that data with it. */
	const char *why_vol = NULL, *disk = NULL;
	for (size_t i = 0; i < b->c.d->n && !why_vol; i++) {
		const vf_object *o = &b->c.d->objs[i];
		if (o->kind == VF_KIND_VOLUME && vf_streq(o->u.volume.pool, e->name))
			why_vol = o->name;
	}
	const char *user = why_vol ? NULL : vf_plan__pool_user(b, live, &disk);
	_cleanup_free_ char *keeps = why_vol || user ? NULL : vf_plan__pool_keeps(b, live, false);
	s.action = VF_ACT_BLOCKED;
	if (why_vol)
		vf_step__reason(&s,
			       "no longer declared (deletionPolicy Delete), but it holds Volume \"%s\", which is still declared",
			       why_vol);
	else if (user)
		vf_step__reason(&s,
			       "no longer declared (deletionPolicy Delete), but its volume \"%s\" is still used by Domain \"%s\"",
			       vf_plan__base(disk), user);
	else if (keeps)
		vf_step__reason(&s, "no longer declared (deletionPolicy Delete), but %s", keeps);
	else {
		s.action = VF_ACT_REMOVE;
		s.reason = vf_strdup(
			"no longer declared; delete it with its volumes and target (deletionPolicy Delete)");
		vf_step__op(&s, VF_OP_POOL_UNDEFINE, NULL)->flag = true;
		vf_step__op(&s, VF_OP_LEDGER_DROP, NULL);
	}
	vf_plan__push(b, &s);
}

const vf_plan_kind vf_plan_kind_pool = {
	.name = "StoragePool",
	.kind = VF_KIND_POOL,
	.plan = vf_plan__pool,
	.remove = vf_plan__remove_pool,
	.has_uuid = true,
};
