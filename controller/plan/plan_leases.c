/* plan_leases.c: live lease state in the plan. A step that would break a
 * content lease (virtlockd's) is blocked instead of attempted, naming the
 * holder; volume ops learn the file they touch so apply can take libvirt's
 * metadata lock on it. Pure: leases were read during observation. */
#include "controller/plan/plan_leases.h"

static char *vf_leases__holder(const vf_lease *l)
{
	if (l->pid && l->command)
		return vf_asprintf("pid %ld (%s)", (long)l->pid, l->command);
	if (l->pid)
		return vf_asprintf("pid %ld", (long)l->pid);
	return vf_strdup("an unknown holder (another host on shared storage?)");
}

static void vf_leases__record(vf_plan *plan, const char *object, const char *path,
			      const vf_lease *l)
{
	vf_plan_lease pl = {
		.object = vf_strdup(object),
		.path = vf_strdup(path),
		.pid = l->pid,
		.command = vf_strdup(l->command),
		.lockspace = vf_strdup(l->lockspace),
		.lock_file = vf_strdup(l->lock_path),
		.shared = l->shared,
	};
	VF_APPEND(plan->leases, plan->n_leases, plan->cap_leases, pl);
}

void vf_plan_block_step(vf_plan *plan, vf_step *s, char *reason)
{
	for (size_t i = 0; i < s->n_ops; i++) {
		free(s->ops[i].pool);
		free(s->ops[i].name);
		free(s->ops[i].path);
		free(s->ops[i].placed_for);
	}
	s->n_ops = 0;
	plan->counts[s->action]--;
	s->action = VF_ACT_BLOCKED;
	plan->counts[VF_ACT_BLOCKED]++;
	free(s->reason);
	s->reason = reason;
}

/* The file a declared disk uses, as observed; NULL when not known yet. */
static const char *vf_leases__disk_path(const vf_plan_ctx *c, const vf_disk *d)
{
	if (!d->has_volume)
		return d->path;
	const vf_obs_volume *v = vf_index_volume(c->ix, d->volume.pool, d->volume.name);
	return v ? v->path : NULL;
}

/* Why starting `dom` would break a lease, or NULL. */
static char *vf_leases__start_blocker(const vf_plan_ctx *c, const vf_object *dom)
{
	const vf_obs_domain *live = vf_index_domain(c->ix, dom->name);
	if (live && live->state != VF_RUN_SHUTOFF)
		return NULL; /* its own leases */
	const vf_domain_spec *ds = &dom->u.domain;
	for (size_t i = 0; i < ds->n_disks; i++) {
		const vf_disk *d = &ds->disks[i];
		const char *path = vf_leases__disk_path(c, d);
		const vf_lease *l = vf_index_lease(c->ix, path);
		if (!l || (l->shared && (d->shareable || d->readonly)))
			continue;
		_cleanup_free_ char *who = vf_leases__holder(l);
		return vf_asprintf("cannot start: disk %s is leased by %s, not by this domain; "
				   "stop whatever uses it first",
				   path, who);
	}
	return NULL;
}

/* Why deleting pool `name` with everything in it would break a lease, or
 * NULL: a held lease on one of its volumes, or on a domain's disk file in
 * its directory (an inactive pool lists no volumes). */
static char *vf_leases__pool_blocker(const vf_plan_ctx *c, const char *name)
{
	const vf_obs_pool *p = vf_index_pool(c->ix, name);
	const char *path = NULL;
	const vf_lease *l = NULL;
	for (size_t i = 0; i < c->o->n_volumes && !l; i++) {
		const vf_obs_volume *v = &c->o->volumes[i];
		if (v->lease.held && vf_streq(v->pool, name)) {
			l = &v->lease;
			path = v->path;
		}
	}
	for (size_t i = 0; p && i < c->o->n_domains && !l; i++)
		for (size_t k = 0; k < c->o->domains[i].n_disks && !l; k++) {
			const vf_obs_disk *d = &c->o->domains[i].disks[k];
			if (d->lease.held && vf_plan__path_in_dir(d->path, p->target_path)) {
				l = &d->lease;
				path = d->path;
			}
		}
	if (!l)
		return NULL;
	_cleanup_free_ char *who = vf_leases__holder(l);
	return vf_asprintf("cannot delete the pool: %s in it is leased by %s (a running domain uses it); stop that domain first",
			   path ? path : "a volume", who);
}

void vf_plan__leases(const vf_plan_ctx *c, vf_plan *plan)
{
	const vf_observed *o = c->o;

	for (size_t i = 0; i < o->n_volumes; i++) {
		const vf_obs_volume *v = &o->volumes[i];
		if (!v->lease.held)
			continue;
		_cleanup_free_ char *obj = vf_asprintf("Volume/%s/%s", v->pool, v->name);
		vf_leases__record(plan, obj, v->path, &v->lease);
	}
	for (size_t i = 0; i < o->n_domains; i++)
		for (size_t k = 0; k < o->domains[i].n_disks; k++) {
			const vf_obs_disk *d = &o->domains[i].disks[k];
			if (!d->lease.held || d->type == VF_OBS_DISK_VOLUME ||
			    vf_index_lease(c->ix, d->path) != &d->lease)
				continue; /* volumes are listed above; each path once */
			_cleanup_free_ char *obj = vf_asprintf("Domain/%s", o->domains[i].name);
			vf_leases__record(plan, obj, d->path, &d->lease);
		}

	for (size_t i = 0; i < plan->n; i++) {
		vf_step *s = &plan->steps[i];
		if (s->action == VF_ACT_BLOCKED)
			continue;
		char *blocker = NULL;
		for (size_t k = 0; k < s->n_ops && !blocker; k++) {
			vf_op *op = &s->ops[k];
			if (op->type == VF_OP_VOLUME_DELETE || op->type == VF_OP_VOLUME_RESIZE) {
				const char *pool = op->pool ? op->pool : s->pool;
				const char *name = op->name ? op->name : s->name;
				const vf_obs_volume *v = vf_index_volume(c->ix, pool, name);
				if (!v)
					continue;
				free(op->path);
				op->path = vf_strdup(v->path);
				if (op->type == VF_OP_VOLUME_DELETE && v->lease.held) {
					_cleanup_free_ char *who = vf_leases__holder(&v->lease);
					blocker = vf_asprintf("cannot delete: %s is leased by %s (a running "
							      "domain uses it); stop that domain first",
							      v->path, who);
				}
			} else if (op->type == VF_OP_DOMAIN_START && op->obj) {
				blocker = vf_leases__start_blocker(c, op->obj);
			} else if (op->type == VF_OP_POOL_UNDEFINE && op->flag) {
				blocker = vf_leases__pool_blocker(c, s->name);
			}
		}
		if (blocker)
			vf_plan_block_step(plan, s, blocker);
	}
}
