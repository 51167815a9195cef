/* plan.c: the planner's skeleton. Orders the declared objects (pools,
 * volumes with backing volumes first, domains; then removals in reverse),
 * decides create / update / blocked / remove / retain for each, and writes
 * the driver ops apply will run. Conflicts live in conflict.c, field-by-field
 * drift in diff.c. Pure: no I/O, no libvirt. */
#include "plan_internal.h"

#include <stdarg.h>
#include <stdio.h>

static const char *const vf_action_table[VF_ACT_MAX] = {
	[VF_ACT_CREATE] = "create", [VF_ACT_UPDATE] = "update", [VF_ACT_REMOVE] = "remove",
	[VF_ACT_BLOCKED] = "blocked", [VF_ACT_RETAIN] = "retain",
};
VF_STRING_TABLE(vf_action, vf_action, VF_ACT_MAX)

static const char *const vf_effect_table[VF_EFFECT_MAX] = {
	[VF_EFFECT_LIVE] = "live",
	[VF_EFFECT_NEXT_BOOT] = "next-boot",
	[VF_EFFECT_REPLACE] = "replace",
};
VF_STRING_TABLE(vf_effect, vf_effect, VF_EFFECT_MAX)

static const char *const vf_op_type_table[VF_OP_MAX] = {
	[VF_OP_POOL_DEFINE] = "pool-define",
	[VF_OP_POOL_START] = "pool-start",
	[VF_OP_POOL_STOP] = "pool-stop",
	[VF_OP_POOL_AUTOSTART] = "pool-autostart",
	[VF_OP_POOL_UNDEFINE] = "pool-undefine",
	[VF_OP_VOLUME_CREATE] = "volume-create",
	[VF_OP_VOLUME_RESIZE] = "volume-resize",
	[VF_OP_VOLUME_DELETE] = "volume-delete",
	[VF_OP_DOMAIN_DEFINE] = "domain-define",
	[VF_OP_DOMAIN_START] = "domain-start",
	[VF_OP_DOMAIN_SHUTDOWN] = "domain-shutdown",
	[VF_OP_DOMAIN_SUSPEND] = "domain-suspend",
	[VF_OP_DOMAIN_RESUME] = "domain-resume",
	[VF_OP_DOMAIN_AUTOSTART] = "domain-autostart",
	[VF_OP_DOMAIN_SET_VCPUS] = "domain-set-vcpus",
	[VF_OP_DOMAIN_SET_MEMORY] = "domain-set-memory",
	[VF_OP_DOMAIN_UNDEFINE] = "domain-undefine",
	[VF_OP_LEDGER_PUT] = "ledger-put",
	[VF_OP_LEDGER_DROP] = "ledger-drop",
	[VF_OP_VOLUME_FETCH] = "volume-fetch",
	[VF_OP_VOLUME_UPLOAD] = "volume-upload",
	[VF_OP_VOLUME_CLONE] = "volume-clone",
	[VF_OP_SEED_WRITE] = "seed-write",
	[VF_OP_SEED_DELETE] = "seed-delete",
};
VF_STRING_TABLE(vf_op_type, vf_op_type, VF_OP_MAX)

/* ---- small helpers shared with conflict.c and diff.c ---------------------- */

const char *vf_plan__base(const char *path)
{
	if (!path)
		return "?";
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

char *vf_plan__disk_key_vol(const char *pool, const char *name)
{
	return vf_asprintf("volume %s/%s", pool ? pool : "?", name ? name : "?");
}

char *vf_plan__disk_key_path(const vf_plan_ctx *c, const char *path)
{
	const vf_obs_volume *v = vf_index_volume_by_path(c->ix, path);
	if (v)
		return vf_plan__disk_key_vol(v->pool, v->name);
	return vf_asprintf("path %s", path ? path : "?");
}

char *vf_plan__disk_key(const vf_plan_ctx *c, const vf_disk *d)
{
	if (d->has_volume)
		return vf_plan__disk_key_vol(d->volume.pool, d->volume.name);
	return vf_plan__disk_key_path(c, d->path);
}

char *vf_plan__obs_disk_key(const vf_plan_ctx *c, const vf_obs_disk *d)
{
	switch (d->type) {
	case VF_OBS_DISK_VOLUME:
		return vf_plan__disk_key_vol(d->pool, d->volume);
	case VF_OBS_DISK_FILE:
	case VF_OBS_DISK_BLOCK:
		if (d->path)
			return vf_plan__disk_key_path(c, d->path);
		break;
	case VF_OBS_DISK_OTHER:
		break;
	}
	return NULL;
}

static void vf_plan__disk_users_free(void *p)
{
	vf_disk_users *u = p;
	free(u->live);
	free(u);
}

static vf_disk_users *vf_plan__disk_users_slot(vf_strmap *m, const char *key)
{
	void **slot = vf_strmap_slot(m, key);
	if (!*slot)
		*slot = vf_calloc(1, sizeof(vf_disk_users));
	return *slot;
}

/* Every declared domain's disks in object order, then the disks of every
 * live domain that is not declared, in host order: the orders the
 * conflict check and vf_plan__volume_user report the first user in. */
static vf_strmap *vf_plan__disk_users(const vf_plan_ctx *c)
{
	vf_strmap *m = vf_strmap_new(c->d->n + c->o->n_domains);
	for (size_t i = 0; i < c->d->n; i++) {
		const vf_object *o = &c->d->objs[i];
		if (o->kind != VF_KIND_DOMAIN)
			continue;
		for (size_t k = 0; k < o->u.domain.n_disks; k++) {
			const vf_disk *dk = &o->u.domain.disks[k];
			_cleanup_free_ char *key = vf_plan__disk_key(c, dk);
			vf_disk_users *u = vf_plan__disk_users_slot(m, key);
			if (!u->decl) {
				u->decl = o;
				u->decl_disk = dk;
			}
			if (!u->decl_excl && !vf_plan__may_share(dk->readonly, dk->shareable, dk->device)) {
				u->decl_excl = o;
				u->decl_excl_disk = dk;
			}
		}
	}
	for (size_t i = 0; i < c->o->n_domains; i++) {
		const vf_obs_domain *dom = &c->o->domains[i];
		if (vf_index_desired(c->ix, VF_KIND_DOMAIN, NULL, dom->name))
			continue;
		for (size_t k = 0; k < dom->n_disks; k++) {
			const vf_obs_disk *od = &dom->disks[k];
			_cleanup_free_ char *key = vf_plan__obs_disk_key(c, od);
			if (!key)
				continue;
			vf_disk_users *u = vf_plan__disk_users_slot(m, key);
			VF_APPEND(u->live, u->n_live, u->cap_live, dom);
			if (!u->live_excl && !vf_plan__may_share(od->readonly, od->shareable, od->device))
				u->live_excl = dom;
		}
	}
	return m;
}

void vf_step__change_take(vf_step *s, const char *field, char *old_value, char *new_value,
			  vf_effect effect)
{
	vf_change c = {
		.field = vf_strdup(field),
		.old_value = old_value,
		.new_value = new_value,
		.effect = effect,
	};
	VF_APPEND(s->changes, s->n_changes, s->cap_changes, c);
}

void vf_step__change(vf_step *s, const char *field, const char *old_value,
		     const char *new_value, vf_effect effect)
{
	vf_step__change_take(s, field, vf_strdup(old_value), vf_strdup(new_value), effect);
}

vf_op *vf_step__op(vf_step *s, vf_op_type type, const vf_object *obj)
{
	vf_op op = {
		.type = type,
		.kind = s->kind,
		.obj = obj,
		.pool = vf_strdup(s->pool),
		.name = vf_strdup(s->name),
	};
	VF_APPEND(s->ops, s->n_ops, s->cap_ops, op);
	return &s->ops[s->n_ops - 1];
}

/* ---- ownership ------------------------------------------------------------ */

bool vf_plan__owned_pool(const vf_plan_ctx *c, const vf_obs_pool *p)
{
	const vf_ledger_entry *e = vf_index_ledger(c->ix, VF_KIND_POOL, NULL, p->name);
	return e && uuid_compare(e->uuid, p->uuid) == 0;
}

bool vf_plan__owned_volume(const vf_plan_ctx *c, const vf_obs_volume *v)
{
	return vf_index_ledger(c->ix, VF_KIND_VOLUME, v->pool, v->name) != NULL;
}

bool vf_plan__owned_domain(const vf_plan_ctx *c, const vf_obs_domain *dom,
			   const vf_object *declared)
{
	const vf_ledger_entry *e =
		vf_index_ledger(c->ix, VF_KIND_DOMAIN, NULL, dom->name);
	/* A pending claim is not ownership: its define may never have run.
	 * Virtform's metadata with the declared UUID says it did. */
	if (e && e->state != VF_LEDGER_PENDING && uuid_compare(e->uuid, dom->uuid) == 0)
		return true;
	return dom->managed && declared && uuid_compare(dom->uuid, declared->uuid) == 0;
}

bool vf_plan__seed_owned(const vf_plan_ctx *c, const char *dom, const vf_obs_domain *live,
			 const char *pool, const char *name)
{
	const vf_ledger_entry *e = vf_index_ledger(c->ix, VF_KIND_VOLUME, pool, name);
	if (e && e->seed_of)
		return vf_streq(e->seed_of, dom);
	if (e || !live || !live->seed_hash)
		return false;
	const vf_ledger_entry *de = vf_index_ledger(c->ix, VF_KIND_DOMAIN, NULL, live->name);
	if (!live->managed && !(de && uuid_compare(de->uuid, live->uuid) == 0))
		return false;
	const vf_obs_disk *sd = vf_diff__live_seed_disk(live);
	return sd && vf_streq(sd->pool, pool) && vf_streq(sd->volume, name);
}

bool vf_plan__path_in_dir(const char *path, const char *dir)
{
	size_t n = dir ? strlen(dir) : 0;
	while (n > 1 && dir[n - 1] == '/')
		n--;
	return path && n && strncmp(path, dir, n) == 0 && path[n] == '/';
}

static int vf_plan__name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

bool vf_plan__pool_has_entry(const vf_obs_pool *p, const char *name)
{
	return p && name && p->n_entries &&
	       bsearch(&name, p->entries, p->n_entries, sizeof(*p->entries), vf_plan__name_cmp);
}

/* ---- the builder ---------------------------------------------------------- */

typedef struct vf_plan_builder {
	vf_plan_ctx c;
	vf_plan plan;
	vf_diags diags;
	char **replaced_pools;    /* pools destroyed and recreated by this plan */
	size_t n_replaced, cap_replaced;
	vf_strmap *removed_domains; /* names of domains this plan removes (before volumes) */
	vf_strmap *deleted;       /* disk keys ("volume POOL/NAME") of volumes this plan deletes */
	vf_strmap *overlays;      /* backing path -> vf_plan_idx of observed volumes on it; lazily */
} vf_plan_builder;

static void vf_step_clear(vf_step *s)
{
	free(s->pool);
	free(s->name);
	free(s->reason);
	for (size_t i = 0; i < s->n_changes; i++) {
		free(s->changes[i].field);
		free(s->changes[i].old_value);
		free(s->changes[i].new_value);
	}
	free(s->changes);
	for (size_t i = 0; i < s->n_ops; i++) {
		free(s->ops[i].pool);
		free(s->ops[i].name);
		free(s->ops[i].path);
	}
	free(s->ops);
	memset(s, 0, sizeof(*s));
}

void vf_plan_free(vf_plan *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++)
		vf_step_clear(&p->steps[i]);
	free(p->steps);
	for (size_t i = 0; i < p->n_leases; i++) {
		free(p->leases[i].object);
		free(p->leases[i].path);
		free(p->leases[i].command);
		free(p->leases[i].lockspace);
		free(p->leases[i].lock_file);
	}
	free(p->leases);
	memset(p, 0, sizeof(*p));
}

bool vf_plan_empty(const vf_plan *p)
{
	return !p || p->n == 0;
}

static vf_step vf_step_new(vf_kind kind, const char *pool, const char *name, vf_pos pos)
{
	return (vf_step){
		.kind = kind,
		.pool = vf_strdup(pool),
		.name = vf_strdup(name),
		.pos = pos,
	};
}

static void vf_step_reason(vf_step *s, const char *fmt, ...) VF_PRINTF(2, 3);
static void vf_step_reason(vf_step *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	free(s->reason);
	s->reason = vf_vasprintf(fmt, ap);
	va_end(ap);
}

static void vf_plan__push(vf_plan_builder *b, vf_step *s)
{
	VF_APPEND(b->plan.steps, b->plan.n, b->plan.cap, *s);
	b->plan.counts[s->action]++;
	memset(s, 0, sizeof(*s));
}

static uint32_t vf_plan__timeout(const vf_domain_spec *ds)
{
	return ds->has_shutdown_timeout ? ds->shutdown_timeout : VF_DEFAULT_SHUTDOWN_TIMEOUT;
}

/* Ownership, the deletionPolicy and, for domains, the shutdownTimeout
 * (u64): what the ledger must remember for when the manifest is gone. */
static void vf_plan__ledger_put(vf_step *s, const vf_object *o, vf_deletion_policy policy)
{
	vf_op *op = vf_step__op(s, VF_OP_LEDGER_PUT, o);
	uuid_copy(op->uuid, o->uuid);
	op->u32 = policy == VF_DELETION_DELETE ? VF_DELETION_DELETE : VF_DELETION_RETAIN;
	if (o->kind == VF_KIND_DOMAIN)
		op->u64 = vf_plan__timeout(&o->u.domain);
}

/* An owned pool's or volume's deletionPolicy that differs from the one its
 * ledger entry remembers for when the manifest is gone: shown as a change
 * (it takes effect at once: only the ledger changes) and true, so the step
 * records the new policy. Unnoticed, a volume changed to Retain would
 * still be deleted with its data once its manifest goes. */
static bool vf_plan__policy_changed(const vf_plan_ctx *c, vf_step *s, vf_kind kind,
				    const char *pool, const char *name, vf_deletion_policy want)
{
	const vf_ledger_entry *e = vf_index_ledger(c->ix, kind, pool, name);
	if (!e)
		return false;
	vf_deletion_policy had = e->deletion == VF_DELETION_DELETE ? VF_DELETION_DELETE
								 : VF_DELETION_RETAIN;
	want = want == VF_DELETION_DELETE ? VF_DELETION_DELETE : VF_DELETION_RETAIN;
	if (had == want)
		return false;
	vf_step__change(s, "spec.deletionPolicy", vf_deletion_policy_to_string(had),
			vf_deletion_policy_to_string(want), VF_EFFECT_LIVE);
	return true;
}

/* The entry of an object whose create or multi-step rewrite an earlier
 * apply did not finish (pending or incomplete); NULL when none. */
static const vf_ledger_entry *vf_plan__unfinished(const vf_plan_ctx *c, vf_kind kind,
						  const char *pool, const char *name)
{
	const vf_ledger_entry *e = vf_index_ledger(c->ix, kind, pool, name);
	return e && e->state != VF_LEDGER_COMPLETE ? e : NULL;
}

#define VF_PLAN_REDO "re-create (incomplete): an earlier apply stopped before it finished; "

/* "StoragePool/NAME", "Volume/POOL/NAME", "Domain/NAME": how --replace
 * names an object. Caller frees. */
static char *vf_plan__ref(vf_kind kind, const char *pool, const char *name)
{
	if (kind == VF_KIND_VOLUME)
		return vf_asprintf("%s/%s/%s", vf_kind_to_string(kind), pool, name);
	return vf_asprintf("%s/%s", vf_kind_to_string(kind), name);
}

static bool vf_plan__replace_allowed(const vf_plan_ctx *c, const char *ref)
{
	for (size_t i = 0; c->opts && i < c->opts->n_replace; i++)
		if (vf_streq(c->opts->replace[i], ref))
			return true;
	return false;
}

/* "spec.type and spec.target.path": the fields that need a replacement. */
static char *vf_plan__replace_fields(const vf_step *s)
{
	vf_buf b = { 0 };
	size_t n = 0, total = 0;
	for (size_t i = 0; i < s->n_changes; i++)
		total += s->changes[i].effect == VF_EFFECT_REPLACE;
	for (size_t i = 0; i < s->n_changes; i++) {
		if (s->changes[i].effect != VF_EFFECT_REPLACE)
			continue;
		if (n)
			vf_buf_add(&b, n + 1 == total ? " and " : ", ");
		vf_buf_add(&b, s->changes[i].field);
		if (s->kind == VF_KIND_VOLUME && strcmp(s->changes[i].field, "spec.capacity") == 0)
			vf_buf_add(&b, " (a shrink)");
		n++;
	}
	return vf_buf_steal(&b);
}

static char *vf_plan__drift_reason(size_t n_changes, bool adopt, const char *what)
{
	if (adopt && n_changes == 0)
		return vf_asprintf("adopt the existing %s (adopt: true)", what);
	if (adopt)
		return vf_asprintf("adopt the existing %s (adopt: true); %zu field%s differ%s", what,
				   n_changes, n_changes == 1 ? "" : "s", n_changes == 1 ? "s" : "");
	return vf_asprintf("%zu field%s differ%s from the manifest", n_changes,
			   n_changes == 1 ? "" : "s", n_changes == 1 ? "s" : "");
}

/* ---- what deleting would take (docs/concepts.md, "What virtform never does") */

/* A growing list of indexes. */
typedef struct vf_plan_idx {
	size_t *v;
	size_t n, cap;
} vf_plan_idx;

static void vf_plan__idx_free(void *p)
{
	vf_plan_idx *l = p;
	free(l->v);
	free(l);
}

/* How many of the things a blocked deletion keeps are named. */
#define VF_PLAN_NAMED 3

static void vf_plan__mark_deleted(vf_plan_builder *b, const char *pool, const char *name)
{
	_cleanup_free_ char *key = vf_plan__disk_key_vol(pool, name);
	*vf_strmap_slot(b->deleted, key) = b->deleted; /* any non-NULL */
}

static bool vf_plan__is_deleted(const vf_plan_builder *b, const char *pool, const char *name)
{
	_cleanup_free_ char *key = vf_plan__disk_key_vol(pool, name);
	return vf_strmap_get(b->deleted, key) != NULL;
}

/* A volume on the host whose backing file is v's, that this plan does not
 * delete and that is not in pool `except` (NULL: none); NULL when none.
 * Deleting v would break it. */
static const vf_obs_volume *vf_plan__overlay(vf_plan_builder *b, const vf_obs_volume *v,
					     const char *except)
{
	const vf_observed *o = b->c.o;
	if (!v->path)
		return NULL;
	if (!b->overlays) {
		b->overlays = vf_strmap_new(o->n_volumes);
		for (size_t i = 0; i < o->n_volumes; i++) {
			if (!o->volumes[i].backing_path)
				continue;
			void **slot = vf_strmap_slot(b->overlays, o->volumes[i].backing_path);
			vf_plan_idx *l = *slot ? *slot : (*slot = vf_calloc(1, sizeof(vf_plan_idx)));
			VF_APPEND(l->v, l->n, l->cap, i);
		}
	}
	const vf_plan_idx *l = vf_strmap_get(b->overlays, v->path);
	for (size_t k = 0; l && k < l->n; k++) {
		const vf_obs_volume *w = &o->volumes[l->v[k]];
		if (w != v && !vf_plan__is_deleted(b, w->pool, w->name) &&
		    !(except && vf_streq(w->pool, except)))
			return w;
	}
	return NULL;
}

/* "backed by it: Volume POOL/NAME (PATH) would lose its backing file" for
 * a deletion reason, or NULL when nothing on the host is backed by v. */
static char *vf_plan__overlay_reason(vf_plan_builder *b, const vf_obs_volume *v, const char *except)
{
	const vf_obs_volume *w = vf_plan__overlay(b, v, except);
	if (!w)
		return NULL;
	return vf_asprintf("Volume %s/%s (%s) is an overlay backed by %s; deleting %s would break it",
			   w->pool, w->name, w->path ? w->path : "?", v->name, v->name);
}

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
	vf_step s = vf_step_new(VF_KIND_POOL, NULL, o->name, o->pos);

	if (!live) {
		s.action = VF_ACT_CREATE;
		if (ps->target_path)
			vf_step_reason(&s, "create %s pool at %s", vf_pool_type_to_string(ps->type),
				       ps->target_path);
		else
			vf_step_reason(&s, "create %s pool", vf_pool_type_to_string(ps->type));
		vf_plan__pool_create_ops(&s, o);
		vf_plan__push(b, &s);
		return;
	}
	bool owned = vf_plan__owned_pool(&b->c, live);
	if (owned && vf_plan__unfinished(&b->c, VF_KIND_POOL, NULL, o->name)) {
		/* its UUID says it is the one virtform defined */
		s.action = VF_ACT_UPDATE;
		vf_step_reason(&s, VF_PLAN_REDO "define and build it again in place (nothing in it is deleted)");
		vf_plan__pool_create_ops(&s, o);
		vf_plan__push(b, &s);
		return;
	}
	if (!owned && !ps->adopt) {
		vf_step_clear(&s); /* a conflict, reported by conflict.c */
		return;
	}
	bool replace = vf_diff__pool(o, live, &s);
	bool policy = owned && vf_plan__policy_changed(&b->c, &s, VF_KIND_POOL, NULL, o->name,
							ps->deletion);
	if (s.n_changes == 0 && owned) {
		vf_step_clear(&s);
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
			vf_step_reason(&s,
				       "changing %s would destroy the pool and every volume in it; use --replace %s",
				       fields, ref);
		} else if (user) {
			s.action = VF_ACT_BLOCKED;
			vf_step_reason(&s,
				       "replace (--replace %s) blocked: Domain \"%s\" is %s and uses %s in this pool; stop it first",
				       ref, user->name, user->state_name ? user->state_name : "running", disk);
		} else if ((keeps = vf_plan__pool_keeps(b, live, true))) {
			s.action = VF_ACT_BLOCKED;
			vf_step_reason(&s, "replace (--replace %s) blocked: %s", ref, keeps);
		} else {
			s.action = VF_ACT_UPDATE;
			vf_step_reason(&s,
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
	s.reason = vf_plan__drift_reason(s.n_changes, !owned, "storage pool");
	if (!owned || policy)
		vf_plan__ledger_put(&s, o, ps->deletion);
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

/* ---- volumes -------------------------------------------------------------- */

static bool vf_plan__pool_replaced(const vf_plan_builder *b, const char *pool)
{
	for (size_t i = 0; i < b->n_replaced; i++)
		if (vf_streq(b->replaced_pools[i], pool))
			return true;
	return false;
}

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
		vf_step_reason(s, "create %s %s volume as a copy of %s/%s", size, fmt,
			       src->volume.pool, src->volume.name);
		if (have > vs->capacity) {
			_cleanup_free_ char *h = vf_format_size(have);
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
		vf_step_reason(s, "create %s %s volume from %s (%s%s, %s)", size, fmt, src->url, k,
			       known->cached ? ", cached" : "", verify);
		/* qcow2's virtual size is in its header: checked at apply time */
		if (known->image_size && vf_vol_fmt(vs) == VF_VOL_RAW && known->size > vs->capacity)
			vf_diag_add(&b->diags, VF_E_CONFLICT, vs->capacity_pos,
				    "Volume \"%s\": capacity %s is smaller than the image %s (%s)",
				    o->name, size, src->url, k);
	} else {
		vf_step_reason(s, "create %s %s volume from %s (size unknown, %s)", size, fmt,
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
		vf_step_reason(s,
			       "re-create (incomplete) blocked: an earlier apply stopped before it finished, but Domain \"%s\" uses it; check its content, then delete the volume (virsh vol-delete) to have it made again",
			       user);
	} else {
		s->action = VF_ACT_UPDATE;
		vf_step_reason(s, VF_PLAN_REDO "delete it and create it again");
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
	vf_step s = vf_step_new(VF_KIND_VOLUME, vs->pool, o->name, o->pos);
	_cleanup_free_ char *size = vf_format_size(vs->capacity);
	const char *fmt = vf_vol_format_to_string(vf_vol_fmt(vs));

	if (!live) {
		s.action = VF_ACT_CREATE;
		if (vs->has_source)
			vf_plan__volume_source(b, o, &s, size, fmt);
		else if (vs->has_backing)
			vf_step_reason(&s, "create %s %s volume backed by %s/%s", size, fmt,
				       vs->backing.pool, vs->backing.name);
		else
			vf_step_reason(&s, "create %s %s volume", size, fmt);
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
		vf_step_clear(&s);
		return;
	}
	bool replace = vf_diff__volume(&b->c, o, live, &s);
	bool policy = owned && vf_plan__policy_changed(&b->c, &s, VF_KIND_VOLUME, vs->pool,
							o->name, vs->deletion);
	if (s.n_changes == 0 && owned) {
		vf_step_clear(&s);
		return;
	}
	_cleanup_free_ char *ref = vf_plan__ref(VF_KIND_VOLUME, vs->pool, o->name);
	if (replace) {
		_cleanup_free_ char *fields = vf_plan__replace_fields(&s);
		const vf_obs_domain *runner = vf_plan__volume_running_user(&b->c, vs->pool, o->name);
		_cleanup_free_ char *overlay = vf_plan__overlay_reason(b, live, NULL);
		if (!vf_plan__replace_allowed(&b->c, ref)) {
			s.action = VF_ACT_BLOCKED;
			vf_step_reason(&s,
				       "changing %s would destroy the data in the volume; use --replace %s",
				       fields, ref);
		} else if (runner) {
			s.action = VF_ACT_BLOCKED;
			vf_step_reason(&s, "replace (--replace %s) blocked: Domain \"%s\" is %s and uses it; stop it first",
				       ref, runner->name, runner->state_name ? runner->state_name : "running");
		} else if (overlay) {
			s.action = VF_ACT_BLOCKED;
			vf_step_reason(&s, "replace (--replace %s) blocked: %s", ref, overlay);
		} else {
			s.action = VF_ACT_UPDATE;
			vf_step_reason(&s,
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

/* ---- domains -------------------------------------------------------------- */

static vf_domain_type vf_plan__dtype(const vf_plan_ctx *c, const vf_domain_spec *ds)
{
	if (ds->type == VF_DOMAIN_KVM || ds->type == VF_DOMAIN_QEMU)
		return ds->type;
	return c->o && c->o->kvm ? VF_DOMAIN_KVM : VF_DOMAIN_QEMU;
}

/* Ops that take a domain from `have` to `want` running state. */
static void vf_plan__state_ops(vf_step *s, const vf_object *o, vf_run_state have,
			       vf_run_state want)
{
	if (have == want)
		return;
	switch (want) {
	case VF_RUN_RUNNING:
		vf_step__op(s, have == VF_RUN_PAUSED ? VF_OP_DOMAIN_RESUME : VF_OP_DOMAIN_START, o);
		break;
	case VF_RUN_SHUTOFF:
		vf_step__op(s, VF_OP_DOMAIN_SHUTDOWN, o)->u32 = vf_plan__timeout(&o->u.domain);
		break;
	case VF_RUN_PAUSED:
		if (have != VF_RUN_RUNNING)
			vf_step__op(s, VF_OP_DOMAIN_START, o);
		vf_step__op(s, VF_OP_DOMAIN_SUSPEND, o);
		break;
	case VF_RUN_UNSET:
	case VF_RUN_MAX:
		break;
	}
}

/* ---- cloud-init seeds (docs/cloud-init.md) -------------------------------- */

/* A SEED_* op on volume pool/name, with the file to lock when it exists. */
static vf_op *vf_plan__seed_op(vf_plan_builder *b, vf_step *s, vf_op_type type,
			       const vf_object *o, const char *pool, const char *volume)
{
	vf_op *op = vf_step__op(s, type, o);
	free(op->pool);
	free(op->name);
	op->pool = vf_strdup(pool);
	op->name = vf_strdup(volume);
	const vf_obs_volume *v = vf_index_volume(b->c.ix, pool, volume);
	op->flag = v != NULL;
	op->path = v && v->path ? vf_strdup(v->path) : NULL;
	/* The seed is virtform's once written (its ledger entry names the
	 * domain, the object of the put) and forgotten once deleted. */
	vf_op *lop = vf_step__op(s, type == VF_OP_SEED_WRITE ? VF_OP_LEDGER_PUT : VF_OP_LEDGER_DROP,
				 type == VF_OP_SEED_WRITE ? o : NULL);
	lop->kind = VF_KIND_VOLUME;
	free(lop->pool);
	free(lop->name);
	lop->pool = vf_strdup(pool);
	lop->name = vf_strdup(volume);
	lop->u32 = VF_DELETION_DELETE;
	vf_uuid_derive(VF_KIND_VOLUME, pool, volume, lop->uuid);
	return &s->ops[s->n_ops - 2];
}

/* The seed needs a pool (the first volume disk's) and a name no declared
 * volume there takes. false after adding a diag. */
static bool vf_plan__seed_ok(vf_plan_builder *b, const vf_object *o)
{
	const vf_cloudinit *ci = &o->u.domain.cloudinit;
	if (!ci->present)
		return true;
	if (!ci->seed_pool) {
		vf_diag_add(&b->diags, VF_E_SCHEMA, ci->pos,
			    "Domain \"%s\": spec.cloudInit needs a volume disk: the seed is stored in the pool of the domain's first volume disk, and spec.disks has none; add one",
			    o->name);
		return false;
	}
	const vf_object *clash = vf_index_desired(b->c.ix, VF_KIND_VOLUME, ci->seed_pool, ci->seed_volume);
	if (clash) {
		vf_diag_add2(&b->diags, VF_E_CONFLICT, clash->name_pos, ci->pos,
			     "Volume \"%s\" in storage pool \"%s\" has the name of Domain \"%s\"'s cloud-init seed; rename the volume",
			     ci->seed_volume, ci->seed_pool, o->name);
		return false;
	}
	/* Writing the seed replaces what has its name: only a seed virtform wrote. */
	const vf_obs_volume *v = vf_index_volume(b->c.ix, ci->seed_pool, ci->seed_volume);
	const vf_obs_pool *p = vf_index_pool(b->c.ix, ci->seed_pool);
	if ((v || vf_plan__pool_has_entry(p, ci->seed_volume)) &&
	    !vf_plan__seed_owned(&b->c, o->name, vf_index_domain(b->c.ix, o->name), ci->seed_pool,
				 ci->seed_volume)) {
		vf_diag_add(&b->diags, VF_E_CONFLICT, ci->pos,
			    "Domain \"%s\": the volume \"%s\" in pool \"%s\" on the host has the name of its cloud-init seed, but virtform did not write it and never overwrites it; move or rename that volume",
			    o->name, ci->seed_volume, ci->seed_pool);
		return false;
	}
	return true;
}

/* The live domain's seed volume when virtform wrote it (and may delete
 * it); NULL when it has none, or it is someone else's. */
static const vf_obs_disk *vf_plan__owned_seed_disk(const vf_plan_builder *b,
						   const vf_obs_domain *live)
{
	const vf_obs_disk *seed = vf_diff__live_seed_disk(live);
	if (!seed || !seed->pool || !vf_index_volume(b->c.ix, seed->pool, seed->volume) ||
	    !vf_plan__seed_owned(&b->c, live->name, live, seed->pool, seed->volume))
		return NULL;
	return seed;
}

static void vf_plan__domain(vf_plan_builder *b, const vf_object *o)
{
	const vf_domain_spec *ds = &o->u.domain;
	const vf_obs_domain *live = vf_index_domain(b->c.ix, o->name);
	const vf_cloudinit *ci = &ds->cloudinit;
	if (!vf_plan__seed_ok(b, o))
		return;
	vf_step s = vf_step_new(VF_KIND_DOMAIN, NULL, o->name, o->pos);
	vf_domain_type dtype = vf_plan__dtype(&b->c, ds);
	vf_run_state want_state = vf_dom_state(ds);
	bool want_auto = vf_tri_get(ds->autostart, false);

	if (!live) {
		static const char *const then[VF_RUN_MAX] = {
			[VF_RUN_RUNNING] = "then start it",
			[VF_RUN_SHUTOFF] = "left shut off",
			[VF_RUN_PAUSED] = "then start and pause it",
		};
		s.action = VF_ACT_CREATE;
		if (ds->xml) {
			vf_step_reason(&s, "define from spec.xml, %s", then[want_state]);
		} else {
			uint32_t vcpus = vf_dom_vcpus(ds);
			_cleanup_free_ char *mem = vf_format_size(vf_dom_memory(ds));
			vf_step_reason(&s, "define with %u vCPU%s and %s%s, %s", vcpus,
				       vcpus == 1 ? "" : "s", mem,
				       ci->present ? " and a cloud-init seed" : "", then[want_state]);
		}
		vf_plan__ledger_put(&s, o, VF_DELETION_DELETE);
		if (ci->present)
			vf_plan__seed_op(b, &s, VF_OP_SEED_WRITE, o, ci->seed_pool, ci->seed_volume);
		vf_step__op(&s, VF_OP_DOMAIN_DEFINE, o)->dtype = dtype;
		if (want_auto)
			vf_step__op(&s, VF_OP_DOMAIN_AUTOSTART, o)->flag = true;
		vf_plan__state_ops(&s, o, VF_RUN_SHUTOFF, want_state);
		vf_plan__push(b, &s);
		return;
	}
	bool owned = vf_plan__owned_domain(&b->c, live, o);
	if (!owned && !ds->adopt) {
		vf_step_clear(&s);
		return;
	}
	if (owned && vf_plan__unfinished(&b->c, VF_KIND_DOMAIN, NULL, o->name)) {
		s.action = VF_ACT_UPDATE;
		vf_step_reason(&s, VF_PLAN_REDO "%s",
			       ci->present ? "write its seed and define it again" : "define it again");
		vf_plan__ledger_put(&s, o, VF_DELETION_DELETE);
		if (ci->present)
			vf_plan__seed_op(b, &s, VF_OP_SEED_WRITE, o, ci->seed_pool, ci->seed_volume);
		vf_step__op(&s, VF_OP_DOMAIN_DEFINE, o)->dtype = dtype;
		if (want_auto != live->autostart)
			vf_step__op(&s, VF_OP_DOMAIN_AUTOSTART, o)->flag = want_auto;
		vf_plan__state_ops(&s, o, live->state, want_state);
		vf_plan__push(b, &s);
		return;
	}
	bool redefine = false, live_vcpus = false, live_memory = false;
	if (vf_diff__domain(&b->c, o, live, &s, &redefine, &live_vcpus, &live_memory,
			    &b->diags) < 0) {
		vf_step_clear(&s);
		return;
	}
	/* The timeout its removal will wait, recorded when it changes (a
	 * ledger older than the field holds the default). */
	const vf_ledger_entry *e = vf_index_ledger(b->c.ix, VF_KIND_DOMAIN, NULL, o->name);
	uint32_t had = e && e->has_shutdown_timeout ? e->shutdown_timeout : VF_DEFAULT_SHUTDOWN_TIMEOUT;
	bool record = owned && e && had != vf_plan__timeout(ds);
	if (record)
		vf_step__change_take(&s, "spec.shutdownTimeout", vf_asprintf("%u", had),
				     vf_asprintf("%u", vf_plan__timeout(ds)), VF_EFFECT_LIVE);
	if (s.n_changes == 0 && owned) {
		vf_step_clear(&s);
		return;
	}
	s.action = VF_ACT_UPDATE;
	if (!s.reason) /* diff.c's word for raw XML changed outside virtform */
		s.reason = vf_plan__drift_reason(s.n_changes, !owned, "domain");
	if (!owned || record)
		vf_plan__ledger_put(&s, o, VF_DELETION_DELETE);
	if (vf_diff__seed_stale(&b->c, o, live))
		vf_plan__seed_op(b, &s, VF_OP_SEED_WRITE, o, ci->seed_pool, ci->seed_volume);
	if (redefine)
		vf_step__op(&s, VF_OP_DOMAIN_DEFINE, o)->dtype = dtype;
	const vf_obs_disk *old_seed = ci->present ? NULL : vf_plan__owned_seed_disk(b, live);
	if (old_seed) {
		vf_plan__seed_op(b, &s, VF_OP_SEED_DELETE, o, old_seed->pool, old_seed->volume);
		vf_plan__mark_deleted(b, old_seed->pool, old_seed->volume);
	}
	if (live_vcpus)
		vf_step__op(&s, VF_OP_DOMAIN_SET_VCPUS, o)->u32 = vf_dom_vcpus(ds);
	if (live_memory)
		vf_step__op(&s, VF_OP_DOMAIN_SET_MEMORY, o)->u64 = vf_dom_memory(ds);
	if (want_auto != live->autostart)
		vf_step__op(&s, VF_OP_DOMAIN_AUTOSTART, o)->flag = want_auto;
	vf_plan__state_ops(&s, o, live->state, want_state);
	vf_plan__push(b, &s);
}

/* ---- ordering of declared objects ----------------------------------------- */

static int vf_plan__cmp_obj(const void *a, const void *b)
{
	const vf_object *x = *(const vf_object *const *)a;
	const vf_object *y = *(const vf_object *const *)b;
	if (x->kind == VF_KIND_VOLUME && y->kind == VF_KIND_VOLUME) {
		int r = strcmp(x->u.volume.pool ? x->u.volume.pool : "",
			       y->u.volume.pool ? y->u.volume.pool : "");
		if (r)
			return r;
	}
	return strcmp(x->name, y->name);
}

/* Declared objects of one kind, sorted by (pool,) name. Caller frees. */
static const vf_object **vf_plan__sorted(const vf_desired *d, vf_kind kind, size_t *ret_n)
{
	const vf_object **v = vf_calloc(d->n ? d->n : 1, sizeof(*v));
	size_t n = 0;
	for (size_t i = 0; i < d->n; i++)
		if (d->objs[i].kind == kind)
			v[n++] = &d->objs[i];
	qsort(v, n, sizeof(*v), vf_plan__cmp_obj);
	*ret_n = n;
	return v;
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
	vf_plan__volume(b, vols[i]);
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

/* ---- removals ------------------------------------------------------------- */

static bool vf_plan__declared(const vf_plan_ctx *c, const vf_ledger_entry *e)
{
	return vf_index_desired(c->ix, e->kind, e->pool, e->name) != NULL;
}

/* A seed's ledger entry is its domain's business while the domain is
 * declared or owned: its step writes and deletes it. An orphan seed
 * (its domain forgotten) is removed like any owned volume. */
static bool vf_plan__seed_kept(const vf_plan_ctx *c, const vf_ledger_entry *e)
{
	return e->kind == VF_KIND_VOLUME && e->seed_of &&
	       (vf_index_desired(c->ix, VF_KIND_DOMAIN, NULL, e->seed_of) ||
		vf_index_ledger(c->ix, VF_KIND_DOMAIN, NULL, e->seed_of));
}

static bool vf_plan__domain_removed(const vf_plan_builder *b, const char *name)
{
	return vf_strmap_get(b->removed_domains, name) != NULL;
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

static void vf_plan__retain(vf_plan_builder *b, const vf_ledger_entry *e, const char *why)
{
	vf_step s = vf_step_new(e->kind, e->pool, e->name, (vf_pos){ 0 });
	s.action = VF_ACT_RETAIN;
	s.reason = vf_strdup(why);
	vf_step__op(&s, VF_OP_LEDGER_DROP, NULL);
	vf_plan__push(b, &s);
}

static void vf_plan__remove_domain(vf_plan_builder *b, const vf_ledger_entry *e)
{
	const vf_obs_domain *live = vf_index_domain(b->c.ix, e->name);
	if (!live || uuid_compare(live->uuid, e->uuid) != 0) {
		vf_plan__retain(b, e, "already gone from the host");
		return;
	}
	vf_step s = vf_step_new(VF_KIND_DOMAIN, NULL, e->name, (vf_pos){ 0 });
	s.action = VF_ACT_REMOVE;
	bool up = live->state == VF_RUN_RUNNING || live->state == VF_RUN_PAUSED;
	/* the shutdownTimeout it was last applied with (ledgers older than
	 * the field: the default) */
	uint32_t timeout = e->has_shutdown_timeout ? e->shutdown_timeout : VF_DEFAULT_SHUTDOWN_TIMEOUT;
	if (!up)
		s.reason = vf_strdup("no longer declared; undefine");
	else if (timeout == VF_DEFAULT_SHUTDOWN_TIMEOUT)
		s.reason = vf_strdup("no longer declared; shut down and undefine");
	else
		vf_step_reason(&s, "no longer declared; shut down (waiting up to %u s, its shutdownTimeout) and undefine",
			       timeout);
	if (up)
		vf_step__op(&s, VF_OP_DOMAIN_SHUTDOWN, NULL)->u32 = timeout;
	vf_step__op(&s, VF_OP_DOMAIN_UNDEFINE, NULL);
	/* its cloud-init seed goes with it, when virtform wrote it */
	const vf_obs_disk *seed = vf_plan__owned_seed_disk(b, live);
	if (seed) {
		vf_plan__seed_op(b, &s, VF_OP_SEED_DELETE, NULL, seed->pool, seed->volume);
		vf_plan__mark_deleted(b, seed->pool, seed->volume);
	}
	vf_step__op(&s, VF_OP_LEDGER_DROP, NULL);
	*vf_strmap_slot(b->removed_domains, e->name) = b->removed_domains; /* any non-NULL */
	vf_plan__push(b, &s);
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
	vf_step s = vf_step_new(VF_KIND_VOLUME, e->pool, e->name, (vf_pos){ 0 });
	const char *user = vf_plan__volume_user(b, e->pool, e->name);
	_cleanup_free_ char *overlay = user ? NULL : vf_plan__overlay_reason(b, live, NULL);
	if (user) {
		s.action = VF_ACT_BLOCKED;
		vf_step_reason(&s,
			       "no longer declared (deletionPolicy Delete), but Domain \"%s\" still uses it; deleting it would destroy that domain's disk",
			       user);
	} else if (overlay) {
		s.action = VF_ACT_BLOCKED;
		vf_step_reason(&s, "no longer declared (deletionPolicy Delete), but %s", overlay);
	} else {
		s.action = VF_ACT_REMOVE;
		s.reason = vf_strdup("no longer declared; delete it and its data (deletionPolicy Delete)");
		vf_step__op(&s, VF_OP_VOLUME_DELETE, NULL);
		vf_step__op(&s, VF_OP_LEDGER_DROP, NULL);
		vf_plan__mark_deleted(b, e->pool, e->name);
	}
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
	vf_step s = vf_step_new(VF_KIND_POOL, NULL, e->name, (vf_pos){ 0 });
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
		vf_step_reason(&s,
			       "no longer declared (deletionPolicy Delete), but it holds Volume \"%s\", which is still declared",
			       why_vol);
	else if (user)
		vf_step_reason(&s,
			       "no longer declared (deletionPolicy Delete), but its volume \"%s\" is still used by Domain \"%s\"",
			       vf_plan__base(disk), user);
	else if (keeps)
		vf_step_reason(&s, "no longer declared (deletionPolicy Delete), but %s", keeps);
	else {
		s.action = VF_ACT_REMOVE;
		s.reason = vf_strdup(
			"no longer declared; delete it with its volumes and target (deletionPolicy Delete)");
		vf_step__op(&s, VF_OP_POOL_UNDEFINE, NULL)->flag = true;
		vf_step__op(&s, VF_OP_LEDGER_DROP, NULL);
	}
	vf_plan__push(b, &s);
}

static int vf_plan__cmp_entry(const void *a, const void *b)
{
	const vf_ledger_entry *x = *(const vf_ledger_entry *const *)a;
	const vf_ledger_entry *y = *(const vf_ledger_entry *const *)b;
	int r = strcmp(x->pool ? x->pool : "", y->pool ? y->pool : "");
	return r ? r : strcmp(x->name, y->name);
}

/* A volume backed by another removed volume is removed first: waits[i]
 * counts the removed volumes not emitted yet that v[i] backs (their
 * backing path is v[i]'s path); emitting one releases what it waits on. */
static size_t *vf_plan__backing_waits(const vf_plan_builder *b, const vf_ledger_entry **v,
				      size_t n, vf_strmap **ret_bases)
{
	size_t *waits = vf_calloc(n ? n : 1, sizeof(*waits));
	vf_strmap *bases = vf_strmap_new(n); /* path -> vf_plan_idx list of bases */
	for (size_t i = 0; i < n; i++) {
		const vf_obs_volume *bv = vf_index_volume(b->c.ix, v[i]->pool, v[i]->name);
		if (!bv || !bv->path)
			continue;
		void **slot = vf_strmap_slot(bases, bv->path);
		vf_plan_idx *l = *slot ? *slot : (*slot = vf_calloc(1, sizeof(vf_plan_idx)));
		VF_APPEND(l->v, l->n, l->cap, i);
	}
	for (size_t j = 0; j < n; j++) {
		const vf_obs_volume *tv = vf_index_volume(b->c.ix, v[j]->pool, v[j]->name);
		const vf_plan_idx *l = tv ? vf_strmap_get(bases, tv->backing_path) : NULL;
		for (size_t k = 0; l && k < l->n; k++)
			if (l->v[k] != j)
				waits[l->v[k]]++;
	}
	*ret_bases = bases;
	return waits;
}

static void vf_plan__backing_release(const vf_plan_builder *b, const vf_ledger_entry *top,
				     size_t j, const vf_strmap *bases, size_t *waits)
{
	const vf_obs_volume *tv = vf_index_volume(b->c.ix, top->pool, top->name);
	const vf_plan_idx *l = tv ? vf_strmap_get(bases, tv->backing_path) : NULL;
	for (size_t k = 0; l && k < l->n; k++)
		if (l->v[k] != j)
			waits[l->v[k]]--;
}

static void vf_plan__removals(vf_plan_builder *b, vf_kind kind)
{
	if (!b->c.l)
		return;
	const vf_ledger_entry **v = vf_calloc(b->c.l->n ? b->c.l->n : 1, sizeof(*v));
	size_t n = 0;
	for (size_t i = 0; i < b->c.l->n; i++)
		if (b->c.l->entries[i].kind == kind && !vf_plan__declared(&b->c, &b->c.l->entries[i]) &&
		    !vf_plan__seed_kept(&b->c, &b->c.l->entries[i]))
			v[n++] = &b->c.l->entries[i];
	qsort(v, n, sizeof(*v), vf_plan__cmp_entry);

	vf_strmap *bases = NULL;
	size_t *waits = kind == VF_KIND_VOLUME ? vf_plan__backing_waits(b, v, n, &bases) : NULL;
	unsigned char *done = vf_calloc(n ? n : 1, 1);
	for (size_t emitted = 0; emitted < n;) {
		size_t before = emitted;
		for (size_t i = 0; i < n; i++) {
			if (done[i] || (waits && waits[i]))
				continue;
			done[i] = 1;
			emitted++;
			if (waits)
				vf_plan__backing_release(b, v[i], i, bases, waits);
			if (kind == VF_KIND_DOMAIN)
				vf_plan__remove_domain(b, v[i]);
			else if (kind == VF_KIND_VOLUME)
				vf_plan__remove_volume(b, v[i]);
			else
				vf_plan__remove_pool(b, v[i]);
		}
		if (emitted == before) /* a backing cycle: fall back to name order */
			for (size_t i = 0; i < n; i++)
				if (!done[i]) {
					done[i] = 1;
					emitted++;
					vf_plan__remove_volume(b, v[i]);
				}
	}
	vf_strmap_free(bases, vf_plan__idx_free);
	free(waits);
	free(done);
	free(v);
}

/* ---- entry point ---------------------------------------------------------- */

int vf_plan_build(const vf_desired *desired, const vf_observed *observed,
		  const vf_ledger *ledger, const vf_plan_opts *opts, vf_plan *out,
		  vf_diags *conflicts)
{
	static const vf_desired no_desired;
	static const vf_observed no_observed;
	vf_plan_builder b = {
		.c = {
			.d = desired ? desired : &no_desired,
			.o = observed ? observed : &no_observed,
			.l = ledger,
			.opts = opts,
		},
	};
	vf_index *ix = vf_index_new(b.c.d, b.c.o, b.c.l);
	b.c.ix = ix;
	b.c.disk_users = vf_plan__disk_users(&b.c);
	b.removed_domains = vf_strmap_new(0);
	b.deleted = vf_strmap_new(0);
	vf_plan__conflicts(&b.c, &b.diags);

	size_t n;
	_cleanup_free_ const vf_object **pools = vf_plan__sorted(b.c.d, VF_KIND_POOL, &n);
	for (size_t i = 0; i < n; i++)
		vf_plan__pool(&b, pools[i]);

	_cleanup_free_ const vf_object **vols = vf_plan__sorted(b.c.d, VF_KIND_VOLUME, &n);
	_cleanup_free_ unsigned char *mark = vf_calloc(n ? n : 1, 1);
	for (size_t i = 0; i < n; i++)
		vf_plan__volume_visit(&b, vols, n, mark, i);

	_cleanup_free_ const vf_object **doms = vf_plan__sorted(b.c.d, VF_KIND_DOMAIN, &n);
	for (size_t i = 0; i < n; i++)
		vf_plan__domain(&b, doms[i]);

	vf_plan__removals(&b, VF_KIND_DOMAIN);
	vf_plan__removals(&b, VF_KIND_VOLUME);
	vf_plan__removals(&b, VF_KIND_POOL);
	vf_plan__leases(&b.c, &b.plan);

	for (size_t i = 0; i < b.n_replaced; i++)
		free(b.replaced_pools[i]);
	free(b.replaced_pools);
	vf_strmap_free(b.removed_domains, NULL);
	vf_strmap_free(b.deleted, NULL);
	vf_strmap_free(b.overlays, vf_plan__idx_free);
	vf_strmap_free(b.c.disk_users, vf_plan__disk_users_free);
	vf_index_free(ix);

	if (b.diags.n) {
		vf_diags_sort(&b.diags);
		for (size_t i = 0; i < b.diags.n; i++)
			VF_APPEND(conflicts->items, conflicts->n, conflicts->cap, b.diags.items[i]);
		free(b.diags.items);
		vf_plan_free(&b.plan);
		return -VF_E_CONFLICT;
	}
	*out = b.plan;
	return 0;
}
