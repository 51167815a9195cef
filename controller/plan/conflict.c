/* conflict.c: every identity clash between the manifests and the host,
 * found before anything changes: shared UUIDs, libvirt's name/UUID rules,
 * shared pool paths and devices, disks used by two domains, references to
 * pools and volumes that exist nowhere (each kind's `references`, kind.h),
 * and live objects virtform does not own. Each conflict names both sides. Not for drift (the kinds' files). */
#include "controller/plan/conflict.h"
#include "controller/plan/kind.h"
#include "controller/plan/network.h"
#include "controller/plan/network_conflict.h"
#include "controller/plan/placement.h"

#include <stdio.h>

static void vf_uuid_str(const uuid_t u, char out[37])
{
	uuid_unparse_lower(u, out);
}

static vf_pos vf_conflict__uuid_pos(const vf_object *o)
{
	bool has = o->kind == VF_KIND_POOL      ? o->u.pool.has_uuid
		   : o->kind == VF_KIND_DOMAIN  ? o->u.domain.has_uuid
		   : o->kind == VF_KIND_NETWORK ? o->u.network.has_uuid
						: false;
	vf_pos p = has ? (o->kind == VF_KIND_POOL     ? o->u.pool.uuid_pos
			  : o->kind == VF_KIND_DOMAIN ? o->u.domain.uuid_pos
						      : o->u.network.uuid_pos)
		       : o->name_pos;
	return p.file ? p : o->pos;
}

static bool vf_conflict__has_uuid(const vf_object *o)
{
	return o->kind == VF_KIND_POOL	   ? o->u.pool.has_uuid
	       : o->kind == VF_KIND_NETWORK ? o->u.network.has_uuid
					    : o->u.domain.has_uuid;
}

static vf_pos vf_conflict__name_pos(const vf_object *o)
{
	return o->name_pos.file ? o->name_pos : o->pos;
}

/* "a.yaml:3" for messages. Caller frees. */
static char *vf_conflict__where(vf_pos p)
{
	return vf_asprintf("%s:%d", vf_plan__base(p.file), p.line);
}

/* ---- shared UUIDs among declared objects ---------------------------------- */

static void vf_conflict__same_uuid(const vf_plan_ctx *c, vf_diags *out)
{
	/* "UUID KIND [POOL]" -> the first object with it; volumes compare
	 * within their pool, and a volume without a pool matches nothing. */
	const vf_desired *d = c->d;
	vf_strmap *first = vf_strmap_new(d->n);
	for (size_t j = 0; j < d->n; j++) {
		const vf_object *b = &d->objs[j];
		if (uuid_is_null(b->uuid))
			continue;
		if (b->kind == VF_KIND_VOLUME && !b->u.volume.pool)
			continue;
		char u[37];
		vf_uuid_str(b->uuid, u);
		_cleanup_free_ char *key =
			vf_asprintf("%s %d %s", u, (int)b->kind,
				    b->kind == VF_KIND_VOLUME ? b->u.volume.pool : "");
		void **slot = vf_strmap_slot(first, key);
		if (!*slot) {
			*slot = (void *)(uintptr_t)b;
			continue;
		}
		const vf_object *a = *slot;
		_cleanup_free_ char *w = vf_conflict__where(vf_conflict__uuid_pos(a));
		VF_CONFLICT(out, vf_conflict__uuid_pos(b), vf_conflict__uuid_pos(a),
			    "%s \"%s\" has the same UUID %s as %s \"%s\" (%s)",
			    vf_kind_to_string(b->kind), b->name, u, vf_kind_to_string(a->kind),
			    a->name, w);
	}
	vf_strmap_free(first, NULL);
}

/* ---- libvirt's rules: one name, one UUID ---------------------------------- */

/* Returns true when it reported a clash for `o`. */
static bool vf_conflict__live_identity(const vf_plan_ctx *c, const vf_object *o, vf_diags *out)
{
	const char *what = o->kind == VF_KIND_POOL ? "pool" : o->kind == VF_KIND_NETWORK ? "network" : "domain";
	const char *kind = vf_kind_to_string(o->kind);
	const uuid_t *by_name = NULL;
	const char *by_uuid_name = NULL;
	if (o->kind == VF_KIND_POOL) {
		const vf_obs_pool *p = vf_index_pool(c->ix, o->name);
		const vf_obs_pool *q = vf_index_pool_by_uuid(c->ix, o->uuid);
		by_name = p ? &p->uuid : NULL;
		by_uuid_name = q ? q->name : NULL;
	} else if (o->kind == VF_KIND_NETWORK) {
		const vf_obs_network *p = vf_observed_network(c->o, o->name);
		const vf_obs_network *q = vf_observed_network_by_uuid(c->o, o->uuid);
		by_name = p ? &p->uuid : NULL;
		by_uuid_name = q ? q->name : NULL;
	} else {
		const vf_obs_domain *p = vf_index_domain(c->ix, o->name);
		const vf_obs_domain *q = vf_index_domain_by_uuid(c->ix, o->uuid);
		by_name = p ? &p->uuid : NULL;
		by_uuid_name = q ? q->name : NULL;
	}
	bool adopt = o->kind == VF_KIND_POOL	  ? o->u.pool.adopt
		     : o->kind == VF_KIND_NETWORK ? o->u.network.adopt
						  : o->u.domain.adopt;
	bool found = false;
	char want[37], have[37];
	vf_uuid_str(o->uuid, want);
	if (by_name && uuid_compare(*by_name, o->uuid) != 0) {
		vf_uuid_str(*by_name, have);
		const char *source = vf_conflict__has_uuid(o) ? "declares" : "has the derived";
		if (adopt)
			VF_CONFLICT(out, vf_conflict__uuid_pos(o), (vf_pos){ 0 },
				    "%s \"%s\" %s UUID %s, but the live %s \"%s\" on the host has UUID %s; to adopt it, set spec.uuid to %s",
				    kind, o->name, source, want, what, o->name, have, have);
		else
			VF_CONFLICT(out, vf_conflict__uuid_pos(o), (vf_pos){ 0 },
				    "%s \"%s\" %s UUID %s, but the live %s \"%s\" on the host has UUID %s; libvirt cannot change a %s's UUID",
				    kind, o->name, source, want, what, o->name, have, what);
		found = true;
	}
	if (by_uuid_name && !vf_streq(by_uuid_name, o->name)) {
		VF_CONFLICT(out, vf_conflict__uuid_pos(o), (vf_pos){ 0 },
			    "%s \"%s\" has UUID %s, which the live %s \"%s\" on the host already has; libvirt cannot rename it or give two %ss one UUID",
			    kind, o->name, want, what, by_uuid_name, what);
		found = true;
	}
	return found;
}

/* ---- live objects virtform does not own ----------------------------------- */

static void vf_conflict__unowned(const vf_plan_ctx *c, const vf_object *o, vf_diags *out)
{
	const char *kind = vf_kind_to_string(o->kind);
	vf_pos pos = vf_conflict__name_pos(o);
	switch (o->kind) {
	case VF_KIND_POOL: {
		const vf_obs_pool *p = vf_index_pool(c->ix, o->name);
		if (p && !o->u.pool.adopt && !vf_plan__owned_pool(c, p))
			VF_CONFLICT(out, pos, (vf_pos){ 0 },
				    "%s \"%s\": the live pool \"%s\" on the host is not owned by virtform; add \"adopt: true\" to its spec to manage it",
				    kind, o->name, p->name);
		break;
	}
	case VF_KIND_VOLUME: {
		if (vf_plan__placed_volume_quiet(c, o))
			break; /* left to the fleet: not acted on here (placement.c) */
		const vf_obs_volume *v = vf_index_volume(c->ix, o->u.volume.pool, o->name);
		if (v && !o->u.volume.adopt && !vf_plan__owned_volume(c, v))
			VF_CONFLICT(out, pos, (vf_pos){ 0 },
				    "%s \"%s\": the live volume \"%s\" in pool \"%s\" on the host is not owned by virtform; add \"adopt: true\" to its spec to manage it",
				    kind, o->name, v->name, v->pool);
		/* A file libvirt has not listed (its pool is inactive, or was not
		 * refreshed) is someone's all the same: never claimed by creating. */
		const vf_obs_pool *p = v ? NULL : vf_index_pool(c->ix, o->u.volume.pool);
		if (!vf_plan__pool_has_entry(p, o->name) ||
		    vf_index_ledger(c->ix, VF_KIND_VOLUME, o->u.volume.pool, o->name))
			break;
		if (!o->u.volume.adopt)
			VF_CONFLICT(out, pos, (vf_pos){ 0 },
				    "%s \"%s\": the file \"%s\" in the directory %s of pool \"%s\" exists and is not owned by virtform (libvirt does not list it yet); add \"adopt: true\" to its spec to manage it",
				    kind, o->name, o->name, p->target_path, p->name);
		else
			VF_CONFLICT(out, pos, (vf_pos){ 0 },
				    "%s \"%s\": the file \"%s\" in the directory %s of pool \"%s\" is not a volume libvirt lists (the pool is %s), so it cannot be adopted yet; start the pool first",
				    kind, o->name, o->name, p->target_path, p->name,
				    p->active ? "not refreshed" : "inactive");
		break;
	}
	case VF_KIND_DOMAIN: {
		const vf_obs_domain *dom = vf_index_domain(c->ix, o->name);
		if (dom && !o->u.domain.adopt && !vf_plan__owned_domain(c, dom, o))
			VF_CONFLICT(out, pos, (vf_pos){ 0 },
				    "%s \"%s\": the live domain \"%s\" on the host is not owned by virtform (not in the ledger, no virtform metadata); add \"adopt: true\" to its spec to manage it",
				    kind, o->name, dom->name);
		break;
	}
	case VF_KIND_NETWORK: {
		const vf_obs_network *n = vf_observed_network(c->o, o->name);
		if (n && !o->u.network.adopt && !vf_plan__owned_network(c, n))
			VF_CONFLICT(out, pos, (vf_pos){ 0 },
				    "%s \"%s\": the live network \"%s\" on the host is not owned by virtform; add \"adopt: true\" to its spec to manage it",
				    kind, o->name, n->name);
		break;
	}
	case VF_KIND_MAX:
		break;
	}
}

/* ---- pools sharing a target path or a source device ----------------------- */

/* Paths compare without trailing slashes. Caller frees. */
static char *vf_conflict__norm(const char *path)
{
	size_t n = strlen(path);
	while (n > 1 && path[n - 1] == '/')
		n--;
	return vf_strndup(path, n);
}

static bool vf_conflict__same_path(const char *a, const char *b)
{
	if (!a || !b)
		return false;
	_cleanup_free_ char *x = vf_conflict__norm(a);
	_cleanup_free_ char *y = vf_conflict__norm(b);
	return strcmp(x, y) == 0;
}

static void vf_conflict__pool_places(const vf_plan_ctx *c, vf_diags *out)
{
	const vf_desired *d = c->d;
	_cleanup_free_ const vf_object **pools = vf_calloc(d->n ? d->n : 1, sizeof(*pools));
	size_t n_pools = 0;
	for (size_t j = 0; j < d->n; j++) {
		const vf_object *b = &d->objs[j];
		if (b->kind != VF_KIND_POOL)
			continue;
		const vf_pool_spec *bs = &b->u.pool;
		vf_pos bt = bs->target_pos.file ? bs->target_pos : b->pos;
		vf_pos bd = bs->source.pos.file ? bs->source.pos : b->pos;
		for (size_t i = 0; i < n_pools; i++) {
			const vf_object *a = pools[i];
			const vf_pool_spec *as = &a->u.pool;
			if (vf_conflict__same_path(as->target_path, bs->target_path)) {
				vf_pos at = as->target_pos.file ? as->target_pos : a->pos;
				_cleanup_free_ char *w = vf_conflict__where(at);
				VF_CONFLICT(out, bt, at,
					    "StoragePool \"%s\" has the same target path \"%s\" as StoragePool \"%s\" (%s)",
					    b->name, bs->target_path, a->name, w);
			}
			if (vf_conflict__same_path(as->source.device, bs->source.device)) {
				vf_pos ad = as->source.pos.file ? as->source.pos : a->pos;
				_cleanup_free_ char *w = vf_conflict__where(ad);
				VF_CONFLICT(out, bd, ad,
					    "StoragePool \"%s\" has the same source device \"%s\" as StoragePool \"%s\" (%s)",
					    b->name, bs->source.device, a->name, w);
			}
		}
		pools[n_pools++] = b;
		/* Live pools that are not this pool and not declared themselves
		 * (a declared one is checked through its declaration). */
		for (size_t i = 0; i < c->o->n_pools; i++) {
			const vf_obs_pool *p = &c->o->pools[i];
			if (vf_streq(p->name, b->name) ||
			    vf_index_desired(c->ix, VF_KIND_POOL, NULL, p->name))
				continue;
			if (vf_conflict__same_path(p->target_path, bs->target_path))
				VF_CONFLICT(out, bt, (vf_pos){ 0 },
					    "StoragePool \"%s\" has the same target path \"%s\" as the live pool \"%s\" on the host",
					    b->name, bs->target_path, p->name);
			if (vf_conflict__same_path(p->source.device, bs->source.device))
				VF_CONFLICT(out, bd, (vf_pos){ 0 },
					    "StoragePool \"%s\" has the same source device \"%s\" as the live pool \"%s\" on the host",
					    b->name, bs->source.device, p->name);
		}
	}
}

/* ---- disks used by two domains -------------------------------------------- */

/* Each disk against the first earlier declared domain, then the first live
 * undeclared domain, that uses it where sharing is not allowed: found in
 * c->disk_users (context.c), which keeps exactly those first users. */
static void vf_conflict__disks(const vf_plan_ctx *c, vf_diags *out)
{
	const vf_desired *d = c->d;
	for (size_t j = 0; j < d->n; j++) {
		const vf_object *b = &d->objs[j];
		if (b->kind != VF_KIND_DOMAIN)
			continue;
		for (size_t bk = 0; bk < b->u.domain.n_disks; bk++) {
			const vf_disk *bdisk = &b->u.domain.disks[bk];
			_cleanup_free_ char *key = vf_plan__disk_key(c, bdisk);
			const vf_disk_users *u = vf_strmap_get(c->disk_users, key);
			if (!u)
				continue;
			bool b_ok = vf_plan__may_share(bdisk->readonly, bdisk->shareable, bdisk->device);
			vf_pos bp = bdisk->pos.file ? bdisk->pos : b->pos;
			const vf_object *a = b_ok ? u->decl_excl : u->decl;
			const vf_disk *adisk = b_ok ? u->decl_excl_disk : u->decl_disk;
			if (a && (size_t)(a - d->objs) < j) {
				vf_pos ap = adisk->pos.file ? adisk->pos : a->pos;
				_cleanup_free_ char *w = vf_conflict__where(ap);
				VF_CONFLICT(out, bp, ap,
					    "Domain \"%s\" uses %s, which Domain \"%s\" (%s) also uses; mark the disk shareable or readonly in both",
					    b->name, key, a->name, w);
				continue;
			}
			const vf_obs_domain *dom = b_ok ? u->live_excl : u->n_live ? u->live[0] : NULL;
			if (dom)
				VF_CONFLICT(out, bp, (vf_pos){ 0 },
					    "Domain \"%s\" uses %s, which the live domain \"%s\" on the host also uses; mark the disk shareable or readonly in both",
					    b->name, key, dom->name);
		}
	}
}

void vf_plan__conflicts(const vf_plan_ctx *c, vf_diags *out)
{
	vf_conflict__same_uuid(c, out);
	for (size_t i = 0; i < c->d->n; i++) {
		const vf_object *o = &c->d->objs[i];
		const vf_plan_kind *k = vf_plan__kind(o->kind);
		bool identity = false;
		if (k->has_uuid)
			identity = vf_conflict__live_identity(c, o, out);
		if (k->references)
			k->references(c, o, out);
		if (!identity)
			vf_conflict__unowned(c, o, out);
	}
	vf_conflict__pool_places(c, out);
	vf_conflict__disks(c, out);
	vf_plan__placement_conflicts(c, out);
	vf_plan__network_conflicts(c, out);
}
