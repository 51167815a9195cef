/* placement.c: the planner's side of the fleet (docs/fleet.md, rule 16 of
 * docs/concepts.md): a placed domain runs only where its lease is held.
 * Without a fleet view (plan, apply) a placed domain, and a volume only
 * placed domains use in a shared pool, is never acted on; with one, the
 * host holding the lease plans it as usual (its starts and shared creates
 * marked placed_for, so apply asks etcd first), the others force off a
 * copy running here and otherwise leave it alone. Also the check that
 * placed domains' disks are on shared storage. Pure: the fleet view is
 * plain data. Not for taking leases or choosing hosts (controller/watch). */
#include "controller/plan/placement.h"

#include <stdio.h>

static const vf_fleet_view *vf_place__fleet(const vf_plan_ctx *c)
{
	return c->opts ? c->opts->fleet : NULL;
}

static bool vf_place__held(const vf_fleet_view *f, const char *name)
{
	for (size_t i = 0; i < f->n_held; i++)
		if (vf_streq(f->held[i], name))
			return true;
	return false;
}

/* The host holding domain `name`'s lease, as the fleet last saw it; NULL none. */
static const char *vf_place__holder(const vf_fleet_view *f, const char *name)
{
	for (size_t i = 0; i < f->n_holders; i++)
		if (vf_streq(f->holders[i].key, name))
			return f->holders[i].value;
	return NULL;
}

/* The fleet's claim on shared volume pool/name; NULL none. */
static const vf_fleet_volume *vf_place__claim(const vf_fleet_view *f, const char *pool,
					      const char *name)
{
	for (size_t i = 0; i < f->n_volumes; i++)
		if (vf_streq(f->volumes[i].pool, pool) && vf_streq(f->volumes[i].name, name))
			return &f->volumes[i];
	return NULL;
}

static vf_place_mode vf_place__domain_mode(const vf_plan_ctx *c, const vf_object *o)
{
	const vf_fleet_view *f = vf_place__fleet(c);
	if (!o->u.domain.placed)
		return VF_PLACE_NONE;
	if (!f)
		return VF_PLACE_NO_FLEET;
	return vf_place__held(f, o->name) ? VF_PLACE_HELD : VF_PLACE_ELSEWHERE;
}

/* The declared pool `name` when it says spec.shared: true; NULL otherwise. */
static const vf_object *vf_place__shared_pool(const vf_plan_ctx *c, const char *name)
{
	const vf_object *p = name ? vf_index_desired(c->ix, VF_KIND_POOL, NULL, name) : NULL;
	return p && p->u.pool.shared ? p : NULL;
}

/* ---- what placed domains' volumes are made from ---------------------------- */

/* A volume a domain's disk is, or is made from. */
typedef struct vf_place_link {
	const char *pool, *name;  /* the volume */
	size_t disk;              /* the index in spec.disks it was reached from */
	const vf_object *from;    /* the declared volume it backs or is cloned into; NULL: the disk's own */
	const char *field;        /* from's spec.backingVolume or spec.source.volume */
	vf_pos pos;               /* that field's position */
} vf_place_link;

/* Return true to stop the walk. */
typedef bool (*vf_place_fn)(const vf_plan_ctx *c, const vf_place_link *l, void *ud);

/* Deeper than any backing chain qemu-img accepts; a cycle stops here. */
#define VF_PLACE_DEPTH 64

/* fn on volume l and every declared volume it is made from, transitively
 * (spec.backingVolume, spec.source.volume): a base image an overlay needs
 * is needed by the overlay's domain. true when fn stopped it. */
static bool vf_place__walk(const vf_plan_ctx *c, const vf_place_link *l, unsigned depth,
			   vf_place_fn fn, void *ud)
{
	if (fn(c, l, ud))
		return true;
	const vf_object *v = depth < VF_PLACE_DEPTH
		? vf_index_desired(c->ix, VF_KIND_VOLUME, l->pool, l->name) : NULL;
	if (!v)
		return false;
	const vf_volume_spec *vs = &v->u.volume;
	if (vs->has_backing) {
		vf_place_link up = { vs->backing.pool, vs->backing.name, l->disk, v,
				     "spec.backingVolume", vs->backing.pos };
		if (vf_place__walk(c, &up, depth + 1, fn, ud))
			return true;
	}
	if (vs->has_source && vs->source.has_volume) {
		vf_place_link up = { vs->source.volume.pool, vs->source.volume.name, l->disk, v,
				     "spec.source.volume", vs->source.volume.pos };
		if (vf_place__walk(c, &up, depth + 1, fn, ud))
			return true;
	}
	return false;
}

/* fn on every volume domain o's disks are or are made from (a path disk:
 * the volume on the host at that path, if any). */
static bool vf_place__walk_disks(const vf_plan_ctx *c, const vf_object *o, vf_place_fn fn, void *ud)
{
	for (size_t i = 0; i < o->u.domain.n_disks; i++) {
		const vf_disk *d = &o->u.domain.disks[i];
		const vf_obs_volume *at = d->has_volume ? NULL : vf_index_volume_by_path(c->ix, d->path);
		vf_place_link l = { .disk = i };
		if (d->has_volume) {
			l.pool = d->volume.pool;
			l.name = d->volume.name;
		} else if (at) {
			l.pool = at->pool;
			l.name = at->name;
		} else {
			continue;
		}
		if (vf_place__walk(c, &l, 0, fn, ud))
			return true;
	}
	return false;
}

static bool vf_place__is(const vf_plan_ctx *c, const vf_place_link *l, void *ud)
{
	(void)c;
	const vf_object *v = *(const vf_object **)ud;
	return vf_streq(l->pool, v->u.volume.pool) && vf_streq(l->name, v->name);
}

/* A volume in a shared pool whose declared users (the domains whose disks
 * are it or are made from it) are all placed domains stands where they
 * stand: held when this host holds one of them (*ret_user: the first
 * such, by name), elsewhere when it holds none; *ret_n (optional): how
 * many users. Any unplaced user, or none, or an unshared pool: as on any
 * host. */
static vf_place_mode vf_place__volume_mode(const vf_plan_ctx *c, const vf_object *o,
					   const vf_object **ret_user, size_t *ret_n)
{
	size_t n = 0;
	const vf_volume_spec *vs = &o->u.volume;
	if (!vf_place__shared_pool(c, vs->pool))
		return VF_PLACE_NONE;
	const vf_object *first = NULL, *held = NULL;
	for (size_t i = 0; i < c->d->n; i++) {
		const vf_object *dom = &c->d->objs[i];
		if (dom->kind != VF_KIND_DOMAIN || !vf_place__walk_disks(c, dom, vf_place__is, &o))
			continue;
		vf_place_mode m = vf_place__domain_mode(c, dom);
		if (m == VF_PLACE_NONE)
			return VF_PLACE_NONE;
		n++;
		if (!first || strcmp(dom->name, first->name) < 0)
			first = dom;
		if (m == VF_PLACE_HELD && (!held || strcmp(dom->name, held->name) < 0))
			held = dom;
	}
	if (!first)
		return VF_PLACE_NONE;
	*ret_user = held ? held : first;
	if (ret_n)
		*ret_n = n;
	if (!vf_place__fleet(c))
		return VF_PLACE_NO_FLEET;
	return held ? VF_PLACE_HELD : VF_PLACE_ELSEWHERE;
}

/* Another host of the fleet claimed volume pool/name and is creating it still. */
static const vf_fleet_volume *vf_place__busy_claim(const vf_plan_ctx *c, const char *pool,
						   const char *name)
{
	const vf_fleet_view *f = vf_place__fleet(c);
	const vf_fleet_volume *claim = f ? vf_place__claim(f, pool, name) : NULL;
	return claim && !claim->created && !vf_streq(claim->host, f->host_id) ? claim : NULL;
}

static bool vf_place__busy(const vf_plan_ctx *c, const vf_place_link *l, void *ud)
{
	const vf_fleet_volume **out = ud;
	*out = vf_place__busy_claim(c, l->pool, l->name);
	return *out != NULL;
}

static char *vf_place__busy_reason(const vf_fleet_volume *claim)
{
	return vf_asprintf("waits for volume %s/%s, being created by host %s (fleet)", claim->pool,
			   claim->name, claim->host ? claim->host : "?");
}

/* Why held domain o waits: a volume it uses or its overlays are made
 * from, or its cloud-init seed, that another host of the fleet is
 * creating still. NULL when none. Caller frees. */
static char *vf_place__disk_busy(const vf_plan_ctx *c, const vf_object *o)
{
	const vf_fleet_volume *claim = NULL;
	const vf_cloudinit *ci = &o->u.domain.cloudinit;
	if (vf_place__walk_disks(c, o, vf_place__busy, &claim) ||
	    (ci->present && ci->seed_pool &&
	     (claim = vf_place__busy_claim(c, ci->seed_pool, ci->seed_volume))))
		return vf_place__busy_reason(claim);
	return NULL;
}

/* Append `text` to s's reason. */
static void vf_place__reason_add(vf_step *s, const char *text)
{
	char *r = vf_asprintf("%s%s", s->reason ? s->reason : "", text);
	free(s->reason);
	s->reason = r;
}

/* ---- domains -------------------------------------------------------------- */

static bool vf_plan__placed_domain_first(vf_plan_builder *b, const vf_object *o)
{
	const vf_domain_spec *ds = &o->u.domain;
	vf_place_mode mode = vf_place__domain_mode(&b->c, o);
	if (mode == VF_PLACE_NONE)
		return false;
	/* type auto becomes a container on a host that offers only lxc; a
	 * container is never placed (decode_placement.c) */
	unsigned offered = b->c.o->domain_types;
	unsigned vm = (1u << VF_DOMAIN_KVM) | (1u << VF_DOMAIN_QEMU);
	if ((ds->type == VF_DOMAIN_TYPE_UNSET || ds->type == VF_DOMAIN_AUTO) && offered &&
	    !(offered & vm)) {
		vf_diag_add(&b->diags, VF_E_UNSUPPORTED, ds->placement_pos,
			    "Domain \"%s\" is placed (spec.placement), and spec.type auto makes it a container on this host (its hypervisor offers lxc only); only virtual machines are placed: run the fleet on hosts that offer kvm or qemu",
			    o->name);
		return true;
	}
	if (mode != VF_PLACE_ELSEWHERE)
		return false;
	/* Not held here: never defined or started. A copy running here runs
	 * without the lease (a host that lost it, a start behind virtform's
	 * back): forced off at once, not shut down, as the holder may be
	 * running it already. A copy that is shut off is left as it is. */
	const vf_obs_domain *live = vf_index_domain(b->c.ix, o->name);
	if (!live || (live->state != VF_RUN_RUNNING && live->state != VF_RUN_PAUSED) ||
	    !vf_plan__owned_domain(&b->c, live, o))
		return true;
	const vf_fleet_view *f = vf_place__fleet(&b->c);
	if (!f)
		return true;
	const char *holder = vf_place__holder(f, o->name);
	vf_step s = vf_step__new(VF_KIND_DOMAIN, NULL, o->name, o->pos);
	s.action = VF_ACT_UPDATE;
	if (holder && !vf_streq(holder, f->host_id))
		vf_step__reason(&s, "placed on %s (it holds the lease): force off here", holder);
	else
		vf_step__reason(&s, "placed (spec.placement), and this host does not hold its lease: force off here");
	vf_step__op(&s, VF_OP_DOMAIN_DESTROY, o);
	vf_plan__push(b, &s);
	return true;
}

static void vf_plan__placed_domain_after(vf_plan_builder *b, const vf_object *o, size_t from)
{
	vf_place_mode mode = vf_place__domain_mode(&b->c, o);
	const vf_fleet_view *f = vf_place__fleet(&b->c);
	for (size_t i = from; i < b->plan.n; i++) {
		vf_step *s = &b->plan.steps[i];
		if (mode == VF_PLACE_NO_FLEET && s->n_ops && s->action != VF_ACT_BLOCKED) {
			vf_plan_block_step(&b->plan, s, vf_strdup(
				"placed (spec.placement): only `virtform watch --etcd` runs it, on the host holding its lease"));
			continue;
		}
		if (mode != VF_PLACE_HELD || !f)
			continue;
		_cleanup_free_ char *busy = vf_place__disk_busy(&b->c, o);
		if (busy && s->action != VF_ACT_BLOCKED) {
			vf_plan_block_step(&b->plan, s, TAKE_PTR(busy));
			continue;
		}
		bool starts = false;
		for (size_t k = 0; k < s->n_ops; k++)
			if (s->ops[k].type == VF_OP_DOMAIN_START && !s->ops[k].placed_for) {
				s->ops[k].placed_for = vf_strdup(o->name);
				starts = true;
			}
		if (starts) {
			_cleanup_free_ char *why = vf_asprintf(" (placed here: %s holds the lease)",
							       f->host_id ? f->host_id : "this host");
			vf_place__reason_add(s, why);
		}
	}
}

/* ---- volumes -------------------------------------------------------------- */

static bool vf_plan__placed_volume_first(vf_plan_builder *b, const vf_object *o)
{
	const vf_object *user = NULL;
	vf_place_mode mode = vf_place__volume_mode(&b->c, o, &user, NULL);
	if (mode == VF_PLACE_ELSEWHERE)
		return true; /* the host holding its domain's lease makes it */
	if (mode != VF_PLACE_HELD)
		return false;
	const vf_volume_spec *vs = &o->u.volume;
	const vf_fleet_view *f = vf_place__fleet(&b->c);
	const vf_fleet_volume *claim = f ? vf_place__claim(f, vs->pool, o->name) : NULL;
	if (!claim)
		return false; /* the usual rules: made here, or someone's, never touched */
	const vf_obs_volume *live = vf_plan__pool_replaced(b, vs->pool)
		? NULL
		: vf_index_volume(b->c.ix, vs->pool, o->name);
	vf_step s = vf_step__new(VF_KIND_VOLUME, vs->pool, o->name, o->pos);
	if (!claim->created && !vf_streq(claim->host, f->host_id)) {
		s.action = VF_ACT_BLOCKED;
		vf_step__reason(&s, "being created by host %s for Domain/%s (fleet): wait until it finishes",
			       claim->host ? claim->host : "?", claim->domain ? claim->domain : "?");
		vf_plan__push(b, &s);
		return true;
	}
	if (claim->created && live && !vf_plan__owned_volume(&b->c, live)) {
		/* made by a host of the fleet for a placed domain: ours too now,
		 * as spec.adopt would make it */
		s.action = VF_ACT_UPDATE;
		vf_step__reason(&s, "adopt volume created by %s for Domain/%s (fleet)",
			       claim->host ? claim->host : "?", claim->domain ? claim->domain : "?");
		vf_plan__ledger_put(&s, o, vs->deletion);
		vf_plan__push(b, &s);
		return true;
	}
	vf_step__clear(&s);
	return false;
}

static void vf_plan__placed_volume_after(vf_plan_builder *b, const vf_object *o, size_t from)
{
	const vf_object *user = NULL;
	size_t n_users = 0;
	vf_place_mode mode = vf_place__volume_mode(&b->c, o, &user, &n_users);
	for (size_t i = from; i < b->plan.n; i++) {
		vf_step *s = &b->plan.steps[i];
		if (mode == VF_PLACE_NO_FLEET && s->n_ops && s->action != VF_ACT_BLOCKED) {
			vf_plan_block_step(&b->plan, s, n_users == 1 ? vf_asprintf(
				"used only by placed Domain/%s (spec.placement) in shared pool \"%s\": only `virtform watch --etcd` creates or changes it, on the host holding the domain's lease",
				user->name, o->u.volume.pool) : vf_asprintf(
				"used only by placed domains (Domain/%s and %zu more; spec.placement) in shared pool \"%s\": only `virtform watch --etcd` creates or changes it, on a host holding one of their leases",
				user->name, n_users - 1, o->u.volume.pool));
			continue;
		}
		if (mode != VF_PLACE_HELD)
			continue;
		/* an overlay or a clone of a base another host is creating still */
		const vf_fleet_volume *claim = NULL;
		vf_place_link self = { .pool = o->u.volume.pool, .name = o->name };
		if (s->n_ops && s->action != VF_ACT_BLOCKED &&
		    vf_place__walk(&b->c, &self, 0, vf_place__busy, &claim)) {
			vf_plan_block_step(&b->plan, s, vf_place__busy_reason(claim));
			continue;
		}
		for (size_t k = 0; k < s->n_ops; k++) {
			vf_op *op = &s->ops[k];
			if ((op->type == VF_OP_VOLUME_CREATE || op->type == VF_OP_VOLUME_UPLOAD ||
			     op->type == VF_OP_VOLUME_CLONE) && !op->placed_for)
				op->placed_for = vf_strdup(user->name);
		}
	}
}

bool vf_plan__placed_volume_quiet(const vf_plan_ctx *c, const vf_object *o)
{
	const vf_object *user = NULL;
	vf_place_mode mode = vf_place__volume_mode(c, o, &user, NULL);
	if (mode == VF_PLACE_NO_FLEET || mode == VF_PLACE_ELSEWHERE)
		return true; /* not acted on here */
	if (mode != VF_PLACE_HELD)
		return false;
	const vf_fleet_view *f = vf_place__fleet(c);
	const vf_fleet_volume *claim = f ? vf_place__claim(f, o->u.volume.pool, o->name) : NULL;
	return claim && (claim->created || !vf_streq(claim->host, f->host_id));
}

/* ---- cloud-init seeds ----------------------------------------------------- */

vf_place_seed vf_plan__placed_seed(const vf_plan_ctx *c, const vf_object *o, const char **ret_host)
{
	const vf_cloudinit *ci = &o->u.domain.cloudinit;
	vf_place_mode mode = vf_place__domain_mode(c, o);
	if (mode == VF_PLACE_NONE || !ci->present || !ci->seed_pool ||
	    !vf_place__shared_pool(c, ci->seed_pool))
		return VF_PLACE_SEED_USUAL; /* an unshared seed pool is a conflict */
	const vf_fleet_view *f = vf_place__fleet(c);
	if (mode != VF_PLACE_HELD || !f)
		return VF_PLACE_SEED_FLEET;
	const vf_fleet_volume *claim = vf_place__claim(f, ci->seed_pool, ci->seed_volume);
	if (!claim || (!claim->created && vf_streq(claim->host, f->host_id)))
		return VF_PLACE_SEED_CLAIM; /* none, or our own unfinished write */
	if (!claim->created)
		return VF_PLACE_SEED_FLEET; /* the domain waits (vf_place__disk_busy) */
	/* Written by a host of the fleet (its content follows from the
	 * manifest, instance-id its UUID): rewritten only once it is ours
	 * here and stale, without a claim (etcd has it, done). */
	const vf_obs_volume *v = vf_index_volume(c->ix, ci->seed_pool, ci->seed_volume);
	if (!v || vf_plan__seed_owned(c, o->name, vf_index_domain(c->ix, o->name), ci->seed_pool,
				      ci->seed_volume))
		return VF_PLACE_SEED_USUAL;
	if (ret_host)
		*ret_host = claim->host ? claim->host : "?";
	return VF_PLACE_SEED_ADOPT;
}

/* ---- shared storage ------------------------------------------------------- */

typedef struct vf_place_unshared {
	const vf_object *dom;
	vf_diags *out;
} vf_place_unshared;

/* A volume a placed domain's volume is made from, in a pool not shared:
 * the host that takes the domain over could not read its base. */
static bool vf_place__unshared_base(const vf_plan_ctx *c, const vf_place_link *l, void *ud)
{
	const vf_place_unshared *u = ud;
	if (!l->from || vf_place__shared_pool(c, l->pool))
		return false;
	const vf_object *p = vf_index_desired(c->ix, VF_KIND_POOL, NULL, l->pool);
	const vf_disk *d = &u->dom->u.domain.disks[l->disk];
	VF_CONFLICT(u->out, d->pos.file ? d->pos : u->dom->pos,
		    l->pos.file ? l->pos : l->from->pos,
		    "Domain \"%s\" is placed (spec.placement), and spec.disks[%zu] needs volume \"%s\" in pool \"%s\" (%s of Volume \"%s\"), which is not %s: the other hosts of the fleet could not reach it; move that volume to a pool with spec.shared: true, or set shared: true on pool \"%s\" if every host sees the same storage there",
		    u->dom->name, l->disk, l->name, l->pool, l->field, l->from->name,
		    p ? "shared" : "declared shared", l->pool);
	return false;
}

void vf_plan__placement_conflicts(const vf_plan_ctx *c, vf_diags *out)
{
	for (size_t j = 0; j < c->d->n; j++) {
		const vf_object *o = &c->d->objs[j];
		if (o->kind != VF_KIND_DOMAIN || !o->u.domain.placed)
			continue;
		const vf_domain_spec *ds = &o->u.domain;
		for (size_t i = 0; i < ds->n_disks; i++) {
			const vf_disk *d = &ds->disks[i];
			vf_pos at = d->pos.file ? d->pos : o->pos;
			if (d->has_volume) {
				if (vf_place__shared_pool(c, d->volume.pool))
					continue;
				const vf_object *p = vf_index_desired(c->ix, VF_KIND_POOL, NULL, d->volume.pool);
				if (p)
					VF_CONFLICT(out, at, p->name_pos,
						    "Domain \"%s\" is placed (spec.placement), but spec.disks[%zu] uses volume \"%s\" in pool \"%s\", which is not shared: the other hosts of the fleet could not reach it; move the volume to a pool with spec.shared: true, or set shared: true on pool \"%s\" if every host sees the same storage there",
						    o->name, i, d->volume.name, d->volume.pool, d->volume.pool);
				else
					VF_CONFLICT(out, at, (vf_pos){ 0 },
						    "Domain \"%s\" is placed (spec.placement), but spec.disks[%zu] uses volume \"%s\" in pool \"%s\", which the manifests do not declare shared: declare the pool with spec.shared: true (every host must see the same storage there), or use a volume of a shared pool",
						    o->name, i, d->volume.name, d->volume.pool);
				continue;
			}
			if (!d->path)
				continue;
			bool below = false;
			for (size_t k = 0; k < c->d->n && !below; k++) {
				const vf_object *p = &c->d->objs[k];
				below = p->kind == VF_KIND_POOL && p->u.pool.shared && p->u.pool.target_path &&
					vf_plan__path_in_dir(d->path, p->u.pool.target_path);
			}
			if (!below)
				VF_CONFLICT(out, at, (vf_pos){ 0 },
					    "Domain \"%s\" is placed (spec.placement), but spec.disks[%zu] uses the path %s, which is below no shared pool's target path: the other hosts of the fleet could not reach it; use a volume of a pool with spec.shared: true, or a path below such a pool's target",
					    o->name, i, d->path);
		}
		/* the bases and sources of its volumes, as its volumes */
		vf_place_unshared u = { o, out };
		vf_place__walk_disks(c, o, vf_place__unshared_base, &u);
		/* its cloud-init seed is written to its first volume disk's pool */
		const vf_cloudinit *ci = &ds->cloudinit;
		if (ci->present && ci->seed_pool && !vf_place__shared_pool(c, ci->seed_pool))
			VF_CONFLICT(out, ci->pos, (vf_pos){ 0 },
				    "Domain \"%s\" is placed (spec.placement), and its cloud-init seed %s is written to pool \"%s\" (its first volume disk's), which is not shared: the host that takes the domain over could not read it; put the first volume disk in a pool with spec.shared: true",
				    o->name, ci->seed_volume, ci->seed_pool);
	}
}

void vf_plan__placed(vf_plan_builder *b, const vf_object *o,
		     void (*plan)(vf_plan_builder *b, const vf_object *o))
{
	bool dom = o->kind == VF_KIND_DOMAIN;
	size_t from = b->plan.n;
	if (dom ? vf_plan__placed_domain_first(b, o) : vf_plan__placed_volume_first(b, o))
		return;
	plan(b, o);
	if (dom)
		vf_plan__placed_domain_after(b, o, from);
	else
		vf_plan__placed_volume_after(b, o, from);
}
