/* context.c: what every file of the planner uses: disk identities and
 * who uses each disk, ownership of live objects, and adding changes and
 * ops to a step. Below every other planner file; calls none of them.
 * Pure: no I/O, no libvirt. */
#include "controller/load/cloudinit.h"
#include "controller/plan/context.h"

#include <stdlib.h>

/* ---- disk identities and their users -------------------------------------- */

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

void vf_plan__disk_users_free(void *p)
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

vf_strmap *vf_plan__disk_users(const vf_plan_ctx *c)
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

const vf_obs_disk *vf_plan__live_seed_disk(const vf_obs_domain *have)
{
	_cleanup_free_ char *name = vf_cloudinit_seed_name(have->name);
	for (size_t i = 0; i < have->n_disks; i++)
		if (have->disks[i].type == VF_OBS_DISK_VOLUME && vf_streq(have->disks[i].volume, name))
			return &have->disks[i];
	return NULL;
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
	const vf_obs_disk *sd = vf_plan__live_seed_disk(live);
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

/* Is volume pool/name declared, or on the host? */
bool vf_plan__volume_exists(const vf_plan_ctx *c, const char *pool, const char *name)
{
	return vf_index_desired(c->ix, VF_KIND_VOLUME, pool, name) ||
	       vf_index_volume(c->ix, pool, name);
}

/* ---- drift helpers ------------------------------------------------------- */

const char *vf_plan__bool_str(bool b)
{
	return b ? "true" : "false";
}

bool vf_plan__same_path(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	size_t na = strlen(a), nb = strlen(b);
	while (na > 1 && a[na - 1] == '/')
		na--;
	while (nb > 1 && b[nb - 1] == '/')
		nb--;
	return na == nb && strncmp(a, b, na) == 0;
}
