/* plan.c: the planner's skeleton. Walks the kinds (kind.h) in order,
 * pools, volumes, domains, each planning its declared objects, then the
 * removals of owned objects no longer declared in reverse order; checks
 * conflicts first (conflict.c) and leases last (plan_leases.c). What is
 * specific to one kind lives in its file (pool.c, volume.c, domain.c),
 * drift included (a Domain's in domain_diff.c). Pure: no I/O, no libvirt. */
#include "controller/plan/conflict.h"
#include "controller/plan/kind.h"
#include "controller/plan/network.h"
#include "controller/plan/plan_leases.h"

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
	[VF_EFFECT_RESTART] = "restart",
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
	[VF_OP_DOMAIN_DESTROY] = "domain-destroy",
	[VF_OP_LEDGER_PUT] = "ledger-put",
	[VF_OP_LEDGER_DROP] = "ledger-drop",
	[VF_OP_VOLUME_FETCH] = "volume-fetch",
	[VF_OP_VOLUME_UPLOAD] = "volume-upload",
	[VF_OP_VOLUME_CLONE] = "volume-clone",
	[VF_OP_SEED_WRITE] = "seed-write",
	[VF_OP_SEED_DELETE] = "seed-delete",
	[VF_OP_NETWORK_DEFINE] = "network-define",
	[VF_OP_NETWORK_START] = "network-start",
	[VF_OP_NETWORK_STOP] = "network-stop",
	[VF_OP_NETWORK_AUTOSTART] = "network-autostart",
	[VF_OP_NETWORK_UPDATE] = "network-update",
	[VF_OP_NETWORK_RESTART] = "network-restart",
	[VF_OP_NETWORK_UNDEFINE] = "network-undefine",
};
VF_STRING_TABLE(vf_op_type, vf_op_type, VF_OP_MAX)

void vf_plan_free(vf_plan *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++)
		vf_step__clear(&p->steps[i]);
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

static void vf_plan__removals(vf_plan_builder *b, const vf_plan_kind *k)
{
	if (!b->c.l)
		return;
	const vf_ledger_entry **v = vf_calloc(b->c.l->n ? b->c.l->n : 1, sizeof(*v));
	size_t n = 0;
	for (size_t i = 0; i < b->c.l->n; i++)
		if (b->c.l->entries[i].kind == k->kind && !vf_plan__declared(&b->c, &b->c.l->entries[i]) &&
		    !vf_plan__seed_kept(&b->c, &b->c.l->entries[i]))
			v[n++] = &b->c.l->entries[i];
	qsort(v, n, sizeof(*v), vf_plan__cmp_entry);

	vf_strmap *bases = NULL;
	size_t *waits = k->remove_overlays_first ? vf_plan__backing_waits(b, v, n, &bases) : NULL;
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
			k->remove(b, v[i]);
		}
		if (emitted == before) /* a backing cycle: fall back to name order */
			for (size_t i = 0; i < n; i++)
				if (!done[i]) {
					done[i] = 1;
					emitted++;
					k->remove(b, v[i]);
				}
	}
	vf_strmap_free(bases, vf_plan__idx_free);
	free(waits);
	free(done);
	free(v);
}

/* ---- entry point ---------------------------------------------------------- */

/* The ledger as the plan reads it: without the claims of volumes whose
 * create never began ("claimed") but that exist now. Someone else made
 * them, in the window between the claim and our create, so they are not
 * ours to redo, resize or remove; without the claim they are foreign, and
 * the usual rules (a conflict, or `adopt: true`) apply. NULL: no such
 * claim, use the ledger as it is. The copy borrows the entries' strings. */
static vf_ledger *vf_plan__ledger_view(const vf_ledger *l, const vf_observed *o)
{
	vf_ledger *view = NULL;
	for (size_t i = 0; l && i < l->n; i++) {
		const vf_ledger_entry *e = &l->entries[i];
		bool stale = false;
		for (size_t k = 0; e->state == VF_LEDGER_CLAIMED && k < o->n_volumes && !stale; k++)
			stale = vf_streq(o->volumes[k].pool, e->pool) && vf_streq(o->volumes[k].name, e->name);
		if (stale && !view) {
			view = vf_calloc(1, sizeof(*view));
			view->entries = vf_calloc(l->n, sizeof(*view->entries));
			memcpy(view->entries, l->entries, i * sizeof(*view->entries));
			view->n = i;
			view->host = l->host;
		} else if (!stale && view) {
			view->entries[view->n++] = *e;
		}
	}
	return view;
}

int vf_plan_build(const vf_desired *desired, const vf_observed *observed,
		  const vf_ledger *ledger, const vf_plan_opts *opts, vf_plan *out,
		  vf_diags *conflicts)
{
	static const vf_desired no_desired;
	static const vf_observed no_observed;
	vf_ledger *view = vf_plan__ledger_view(ledger, observed ? observed : &no_observed);
	vf_plan_builder b = {
		.c = {
			.d = desired ? desired : &no_desired,
			.o = observed ? observed : &no_observed,
			.l = view ? view : ledger,
			.opts = opts,
		},
	};
	vf_index *ix = vf_index_new(b.c.d, b.c.o, b.c.l);
	b.c.ix = ix;
	b.c.disk_users = vf_plan__disk_users(&b.c);
	b.removed_domains = vf_strmap_new(0);
	b.deleted = vf_strmap_new(0);
	vf_plan__conflicts(&b.c, &b.diags);

	for (size_t k = 0; k < vf_plan_n_kinds; k++) {
		size_t n;
		_cleanup_free_ const vf_object **objs = vf_plan__sorted(b.c.d, vf_plan_kinds[k]->kind, &n);
		if (vf_plan_kinds[k]->plan_all)
			vf_plan_kinds[k]->plan_all(&b, objs, n);
		else
			for (size_t i = 0; i < n; i++)
				vf_plan_kinds[k]->plan(&b, objs[i]);
	}
	vf_plan__network_gate(&b);
	for (size_t k = vf_plan_n_kinds; k-- > 0;)
		vf_plan__removals(&b, vf_plan_kinds[k]);
	vf_plan__leases(&b.c, &b.plan);

	for (size_t i = 0; i < b.n_replaced; i++)
		free(b.replaced_pools[i]);
	free(b.replaced_pools);
	vf_strmap_free(b.removed_domains, NULL);
	vf_strmap_free(b.deleted, NULL);
	vf_strmap_free(b.overlays, vf_plan__idx_free);
	vf_strmap_free(b.c.disk_users, vf_plan__disk_users_free);
	vf_index_free(ix);
	if (view)
		free(view->entries);   /* borrowed strings: not vf_ledger_free */
	free(view);

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
