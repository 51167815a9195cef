/* builder.c: the plan being built, shared by every kind's planner: new
 * steps and their reasons, what the ledger must remember, --replace, and
 * what this plan deletes (so a deletion never takes what another object
 * still needs). Calls only context.c. Pure: no I/O, no libvirt. */
#include "controller/plan/builder.h"

#include <stdarg.h>
#include <stdio.h>

void vf_step__clear(vf_step *s)
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
		free(s->ops[i].placed_for);
	}
	free(s->ops);
	memset(s, 0, sizeof(*s));
}

vf_step vf_step__new(vf_kind kind, const char *pool, const char *name, vf_pos pos)
{
	return (vf_step){
		.kind = kind,
		.pool = vf_strdup(pool),
		.name = vf_strdup(name),
		.pos = pos,
	};
}

void vf_step__reason(vf_step *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	free(s->reason);
	s->reason = vf_vasprintf(fmt, ap);
	va_end(ap);
}

void vf_plan__push(vf_plan_builder *b, vf_step *s)
{
	VF_APPEND(b->plan.steps, b->plan.n, b->plan.cap, *s);
	b->plan.counts[s->action]++;
	memset(s, 0, sizeof(*s));
}

uint32_t vf_plan__timeout(const vf_domain_spec *ds)
{
	return ds->has_shutdown_timeout ? ds->shutdown_timeout : VF_DEFAULT_SHUTDOWN_TIMEOUT;
}

/* Ownership, the deletionPolicy and, for domains, the shutdownTimeout
 * (u64): what the ledger must remember for when the manifest is gone. */
void vf_plan__ledger_put(vf_step *s, const vf_object *o, vf_deletion_policy policy)
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
bool vf_plan__policy_changed(const vf_plan_ctx *c, vf_step *s, vf_kind kind, const char *pool,
			     const char *name, vf_deletion_policy want)
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
const vf_ledger_entry *vf_plan__unfinished(const vf_plan_ctx *c, vf_kind kind,
						  const char *pool, const char *name)
{
	const vf_ledger_entry *e = vf_index_ledger(c->ix, kind, pool, name);
	return e && e->state != VF_LEDGER_COMPLETE ? e : NULL;
}

/* "StoragePool/NAME", "Volume/POOL/NAME", "Domain/NAME": how --replace
 * names an object. Caller frees. */
char *vf_plan__ref(vf_kind kind, const char *pool, const char *name)
{
	if (kind == VF_KIND_VOLUME)
		return vf_asprintf("%s/%s/%s", vf_kind_to_string(kind), pool, name);
	return vf_asprintf("%s/%s", vf_kind_to_string(kind), name);
}

bool vf_plan__replace_allowed(const vf_plan_ctx *c, const char *ref)
{
	for (size_t i = 0; c->opts && i < c->opts->n_replace; i++)
		if (vf_streq(c->opts->replace[i], ref))
			return true;
	return false;
}

int vf_plan_check_replace(const vf_desired *desired, const vf_plan_opts *opts, vf_error *err)
{
	for (size_t i = 0; opts && desired && i < opts->n_replace; i++) {
		bool found = false;
		for (size_t j = 0; j < desired->n && !found; j++) {
			const vf_object *o = &desired->objs[j];
			const char *pool = o->kind == VF_KIND_VOLUME ? o->u.volume.pool : NULL;
			_cleanup_free_ char *ref = vf_plan__ref(o->kind, pool, o->name);
			found = vf_streq(ref, opts->replace[i]);
		}
		if (!found)
			return vf_error_set(err, VF_E_USAGE,
					    "--replace %s: the manifests declare no such object; nothing was changed",
					    opts->replace[i]);
	}
	return 0;
}

/* "spec.type and spec.target.path": the fields that need a replacement. */
char *vf_plan__replace_fields(const vf_step *s)
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

char *vf_plan__drift_reason(size_t n_changes, bool adopt, const char *what)
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

void vf_plan__idx_free(void *p)
{
	vf_plan_idx *l = p;
	free(l->v);
	free(l);
}

void vf_plan__mark_deleted(vf_plan_builder *b, const char *pool, const char *name)
{
	_cleanup_free_ char *key = vf_plan__disk_key_vol(pool, name);
	*vf_strmap_slot(b->deleted, key) = b->deleted; /* any non-NULL */
}

bool vf_plan__is_deleted(const vf_plan_builder *b, const char *pool, const char *name)
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
char *vf_plan__overlay_reason(vf_plan_builder *b, const vf_obs_volume *v, const char *except)
{
	const vf_obs_volume *w = vf_plan__overlay(b, v, except);
	if (!w)
		return NULL;
	return vf_asprintf("Volume %s/%s (%s) is an overlay backed by %s; deleting %s would break it",
			   w->pool, w->name, w->path ? w->path : "?", v->name, v->name);
}

bool vf_plan__pool_replaced(const vf_plan_builder *b, const char *pool)
{
	for (size_t i = 0; i < b->n_replaced; i++)
		if (vf_streq(b->replaced_pools[i], pool))
			return true;
	return false;
}

bool vf_plan__domain_removed(const vf_plan_builder *b, const char *name)
{
	return vf_strmap_get(b->removed_domains, name) != NULL;
}

void vf_plan__retain(vf_plan_builder *b, const vf_ledger_entry *e, const char *why)
{
	vf_step s = vf_step__new(e->kind, e->pool, e->name, (vf_pos){ 0 });
	s.action = VF_ACT_RETAIN;
	s.reason = vf_strdup(why);
	vf_step__op(&s, VF_OP_LEDGER_DROP, NULL);
	vf_plan__push(b, &s);
}
