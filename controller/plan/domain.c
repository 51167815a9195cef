/* domain.c: planning Domains: define, redefine on drift (domain_diff.c), live
 * vcpus and memory, run state, autostart, the cloud-init seed; and the
 * removal of an owned domain no longer declared, with the seed virtform
 * wrote for it. Pure. */
#include "controller/plan/domain_diff.h"
#include "controller/plan/kind.h"
#include "controller/plan/placement.h"

#include <stdio.h>

/* ---- domains -------------------------------------------------------------- */

/* "kvm, qemu" for a set of domain type bits. Caller frees. */
static char *vf_plan__types_str(unsigned bits)
{
	vf_buf b = { 0 };
	for (int t = 0; t < VF_DOMAIN_TYPE_MAX; t++)
		if (bits & (1u << t))
			vf_buf_printf(&b, "%s%s", b.len ? ", " : "", vf_domain_type_to_string(t));
	char *out = vf_buf_steal(&b);
	if (*out)
		return out;
	free(out);
	return vf_strdup("none");
}

/* The type a structured domain is defined with: spec.type, or for auto
 * what the host's hypervisor offers (kvm, else qemu, else lxc). Checked
 * against the types the host's capabilities offer, when the driver knows
 * them, so an impossible type rejects the plan before anything is
 * created; and a domain whose fields are of the other kind (a container
 * with disks, a VM with spec.init) is refused once auto is resolved.
 * VF_DOMAIN_TYPE_UNSET after a diag. */
static vf_domain_type vf_plan__dtype(vf_plan_builder *b, const vf_object *o)
{
	const vf_domain_spec *ds = &o->u.domain;
	const vf_observed *obs = b->c.o;
	unsigned offered = obs ? obs->domain_types : 0;
	bool explicit = ds->type == VF_DOMAIN_KVM || ds->type == VF_DOMAIN_QEMU ||
			ds->type == VF_DOMAIN_LXC;
	vf_pos tpos = ds->type_pos.file ? ds->type_pos : o->pos;
	const char *hv = obs && obs->hv_type ? obs->hv_type : "unknown";
	/* spec.xml names its own type; not known (the test driver): as before */
	if (ds->xml || !offered)
		return explicit ? ds->type : obs && obs->kvm ? VF_DOMAIN_KVM : VF_DOMAIN_QEMU;
	_cleanup_free_ char *list = vf_plan__types_str(offered);
	vf_domain_type t = ds->type;
	if (explicit && !(offered & (1u << t))) {
		vf_diag_add(&b->diags, VF_E_UNSUPPORTED, tpos,
			    "Domain \"%s\": spec.type %s is not offered by this host: its hypervisor (%s) offers %s; use one of those or type auto",
			    o->name, vf_domain_type_to_string(t), hv, list);
		return VF_DOMAIN_TYPE_UNSET;
	}
	if (!explicit) {
		static const vf_domain_type pref[] = { VF_DOMAIN_KVM, VF_DOMAIN_QEMU, VF_DOMAIN_LXC };
		t = VF_DOMAIN_TYPE_UNSET;
		for (size_t i = 0; i < VF_ARRAY_SIZE(pref) && !t; i++)
			if (offered & (1u << pref[i]))
				t = pref[i];
	}
	bool ct = t == VF_DOMAIN_LXC;
	if (ct && ds->vm_field) {
		vf_diag_add(&b->diags, VF_E_UNSUPPORTED, ds->vm_field_pos,
			    "Domain \"%s\": spec.%s is for virtual machines, and spec.type auto makes this domain a container on this host (its hypervisor, %s, offers %s); remove spec.%s, or run it on a host that offers kvm or qemu",
			    o->name, ds->vm_field, hv, list, ds->vm_field);
		return VF_DOMAIN_TYPE_UNSET;
	}
	if (!ct && ds->ct_field) {
		vf_diag_add(&b->diags, VF_E_UNSUPPORTED, ds->ct_field_pos,
			    "Domain \"%s\": spec.%s is for containers, and spec.type auto makes this domain a virtual machine on this host (its hypervisor, %s, offers %s); remove spec.%s, or run it on a host that offers lxc",
			    o->name, ds->ct_field, hv, list, ds->ct_field);
		return VF_DOMAIN_TYPE_UNSET;
	}
	return t;
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

/* The ledger op that goes with a SEED_* op: the seed is virtform's once
 * written or adopted (its ledger entry names the domain, the object of
 * the put) and forgotten once deleted. */
static void vf_plan__seed_ledger_op(vf_step *s, vf_op_type type, const vf_object *o,
				    const char *pool, const char *volume)
{
	vf_op *lop = vf_step__op(s, type == VF_OP_SEED_WRITE ? VF_OP_LEDGER_PUT : VF_OP_LEDGER_DROP,
				 type == VF_OP_SEED_WRITE ? o : NULL);
	lop->kind = VF_KIND_VOLUME;
	free(lop->pool);
	free(lop->name);
	lop->pool = vf_strdup(pool);
	lop->name = vf_strdup(volume);
	lop->u32 = VF_DELETION_DELETE;
	vf_uuid_derive(VF_KIND_VOLUME, pool, volume, lop->uuid);
}

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
	vf_plan__seed_ledger_op(s, type, o, pool, volume);
	return &s->ops[s->n_ops - 2];
}

/* Write o's seed; a placed domain's (rule 16) claimed in etcd first, or
 * the one a host of the fleet wrote adopted as it is. */
static void vf_plan__seed_write(vf_plan_builder *b, vf_step *s, const vf_object *o)
{
	const vf_cloudinit *ci = &o->u.domain.cloudinit;
	vf_place_seed how = vf_plan__placed_seed(&b->c, o, NULL);
	if (how == VF_PLACE_SEED_ADOPT) {
		vf_plan__seed_ledger_op(s, VF_OP_SEED_WRITE, o, ci->seed_pool, ci->seed_volume);
		return;
	}
	vf_op *op = vf_plan__seed_op(b, s, VF_OP_SEED_WRITE, o, ci->seed_pool, ci->seed_volume);
	if (how == VF_PLACE_SEED_CLAIM)
		op->placed_for = vf_strdup(o->name);
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
	vf_place_seed how = vf_plan__placed_seed(&b->c, o, NULL);
	if ((v || vf_plan__pool_has_entry(p, ci->seed_volume)) &&
	    how != VF_PLACE_SEED_ADOPT && how != VF_PLACE_SEED_FLEET &&
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
	const vf_obs_disk *seed = vf_plan__live_seed_disk(live);
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
	vf_domain_type dtype = vf_plan__dtype(b, o);
	if (dtype == VF_DOMAIN_TYPE_UNSET)
		return;
	vf_step s = vf_step__new(VF_KIND_DOMAIN, NULL, o->name, o->pos);
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
			vf_step__reason(&s, "define from spec.xml, %s", then[want_state]);
		} else {
			uint32_t vcpus = vf_dom_vcpus(ds);
			_cleanup_free_ char *mem = vf_format_size(vf_dom_memory(ds));
			const char *writer = NULL;
			_cleanup_free_ char *seed =
				!ci->present ? vf_strdup("")
				: vf_plan__placed_seed(&b->c, o, &writer) == VF_PLACE_SEED_ADOPT
				? vf_asprintf(" and the cloud-init seed host %s wrote (fleet)", writer)
				: vf_strdup(" and a cloud-init seed");
			vf_step__reason(&s, "define with %u vCPU%s and %s%s, %s", vcpus,
				       vcpus == 1 ? "" : "s", mem, seed, then[want_state]);
		}
		vf_plan__ledger_put(&s, o, VF_DELETION_DELETE);
		if (ci->present)
			vf_plan__seed_write(b, &s, o);
		vf_step__op(&s, VF_OP_DOMAIN_DEFINE, o)->dtype = dtype;
		if (want_auto)
			vf_step__op(&s, VF_OP_DOMAIN_AUTOSTART, o)->flag = true;
		vf_plan__state_ops(&s, o, VF_RUN_SHUTOFF, want_state);
		vf_plan__push(b, &s);
		return;
	}
	bool owned = vf_plan__owned_domain(&b->c, live, o);
	if (!owned && !ds->adopt) {
		vf_step__clear(&s);
		return;
	}
	if (owned && vf_plan__unfinished(&b->c, VF_KIND_DOMAIN, NULL, o->name)) {
		s.action = VF_ACT_UPDATE;
		vf_step__reason(&s, VF_PLAN_REDO "%s",
			       ci->present ? "write its seed and define it again" : "define it again");
		vf_plan__ledger_put(&s, o, VF_DELETION_DELETE);
		if (ci->present)
			vf_plan__seed_write(b, &s, o);
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
		vf_step__clear(&s);
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
		vf_step__clear(&s);
		return;
	}
	s.action = VF_ACT_UPDATE;
	if (!s.reason) /* domain_diff.c's word for raw XML changed outside virtform */
		s.reason = vf_plan__drift_reason(s.n_changes, !owned, "domain");
	if (!owned || record)
		vf_plan__ledger_put(&s, o, VF_DELETION_DELETE);
	if (vf_diff__seed_stale(&b->c, o, live))
		vf_plan__seed_write(b, &s, o);
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

/* A declared domain, placed ones through placement.c (rule 16). */
static void vf_plan__domain_placed(vf_plan_builder *b, const vf_object *o)
{
	vf_plan__placed(b, o, vf_plan__domain);
}

static void vf_plan__remove_domain(vf_plan_builder *b, const vf_ledger_entry *e)
{
	const vf_obs_domain *live = vf_index_domain(b->c.ix, e->name);
	if (!live || uuid_compare(live->uuid, e->uuid) != 0) {
		vf_plan__retain(b, e, "already gone from the host");
		return;
	}
	vf_step s = vf_step__new(VF_KIND_DOMAIN, NULL, e->name, (vf_pos){ 0 });
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
		vf_step__reason(&s, "no longer declared; shut down (waiting up to %u s, its shutdownTimeout) and undefine",
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

/* ---- references (conflict.c asks) ------------------------------------------ */

/* A domain's volume disk must name a volume that is declared or on the
 * host: otherwise libvirt would refuse the definition midway through an
 * apply, after other steps had run. */
static void vf_plan__domain_references(const vf_plan_ctx *c, const vf_object *o, vf_diags *out)
{
	const vf_domain_spec *ds = &o->u.domain;
	for (size_t i = 0; i < ds->n_disks; i++) {
		const vf_disk *d = &ds->disks[i];
		if (!d->has_volume || vf_plan__volume_exists(c, d->volume.pool, d->volume.name))
			continue;
		vf_pos at = d->volume.pos.file ? d->volume.pos : d->pos.file ? d->pos : o->pos;
		VF_CONFLICT(out, at, (vf_pos){ 0 },
			    "Domain \"%s\": spec.disks[%zu] uses volume \"%s\" in pool \"%s\", which is neither declared nor on the host",
			    o->name, i, d->volume.name, d->volume.pool);
	}
}

const vf_plan_kind vf_plan_kind_domain = {
	.name = "Domain",
	.kind = VF_KIND_DOMAIN,
	.plan = vf_plan__domain_placed,
	.references = vf_plan__domain_references,
	.remove = vf_plan__remove_domain,
	.has_uuid = true,
};
