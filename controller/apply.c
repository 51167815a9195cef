/* apply.c: runs a plan's ops through the backend's driver tables, saving
 * the ledger whenever ownership changes. Ownership is recorded before an
 * object is created and forgotten after it is removed, so a crash at any
 * point leaves either a ledger entry for a missing object (recreated next
 * run) or nothing: never an unowned orphan that would then clash. */
#include "apply.h"

static int vf_apply__ledger(const vf_apply_ctx *ctx, const vf_op *op, vf_error *err)
{
	if (op->type == VF_OP_LEDGER_PUT) {
		vf_ledger_put(ctx->ledger, op->kind, op->pool, op->name, op->uuid);
		vf_ledger_entry *e = vf_ledger_find(ctx->ledger, op->kind, op->pool, op->name);
		e->deletion = op->u32 == VF_DELETION_DELETE ? VF_DELETION_DELETE : VF_DELETION_RETAIN;
	} else if (!vf_ledger_drop(ctx->ledger, op->kind, op->pool, op->name)) {
		return 0; /* already forgotten: nothing to write */
	}
	return vf_ledger_save(ctx->state_dir, ctx->ledger, err);
}

static int vf_apply__op(const vf_apply_ctx *ctx, const vf_op *op, vf_error *err)
{
	const vf_hypervisor_driver *hv = ctx->backend->hv;
	const vf_storage_driver *st = ctx->backend->storage;
	vf_conn *c = ctx->conn;

	switch (op->type) {
	case VF_OP_LEDGER_PUT:
	case VF_OP_LEDGER_DROP:
		return vf_apply__ledger(ctx, op, err);
	case VF_OP_POOL_DEFINE:
		return st->pool_define(c, op->obj, err);
	case VF_OP_POOL_START:
		return st->pool_start(c, op->name, err);
	case VF_OP_POOL_STOP:
		return st->pool_stop(c, op->name, err);
	case VF_OP_POOL_AUTOSTART:
		return st->pool_set_autostart(c, op->name, op->flag, err);
	case VF_OP_POOL_UNDEFINE:
		return st->pool_undefine(c, op->name, op->flag, err);
	case VF_OP_VOLUME_CREATE:
		return st->volume_create(c, op->obj, err);
	case VF_OP_VOLUME_RESIZE:
		return st->volume_resize(c, op->pool, op->name, op->u64, err);
	case VF_OP_VOLUME_DELETE:
		return st->volume_delete(c, op->pool, op->name, err);
	case VF_OP_DOMAIN_DEFINE:
		return hv->domain_define(c, op->obj, op->dtype, err);
	case VF_OP_DOMAIN_START:
		return hv->domain_start(c, op->name, err);
	case VF_OP_DOMAIN_SHUTDOWN:
		return hv->domain_shutdown(c, op->name, op->u32, err);
	case VF_OP_DOMAIN_SUSPEND:
		return hv->domain_suspend(c, op->name, err);
	case VF_OP_DOMAIN_RESUME:
		return hv->domain_resume(c, op->name, err);
	case VF_OP_DOMAIN_AUTOSTART:
		return hv->domain_set_autostart(c, op->name, op->flag, err);
	case VF_OP_DOMAIN_SET_VCPUS:
		if (!hv->domain_set_vcpus_live)
			return 0; /* optional: the redefine already made it a next-boot change */
		return hv->domain_set_vcpus_live(c, op->name, op->u32, err);
	case VF_OP_DOMAIN_SET_MEMORY:
		if (!hv->domain_set_memory_live)
			return 0;
		return hv->domain_set_memory_live(c, op->name, op->u64, err);
	case VF_OP_DOMAIN_UNDEFINE:
		return hv->domain_undefine(c, op->name, op->flag, err);
	case VF_OP_MAX:
		break;
	}
	return vf_error_set(err, VF_E_INTERNAL, "unknown plan operation %d", (int)op->type);
}

/* Run one op, holding the metadata lock on the file it changes. The lock
 * is taken per op, never across steps, so a long plan does not keep
 * libvirtd from relabelling unrelated files. */
static int vf_apply__op_locked(const vf_apply_ctx *ctx, const vf_op *op, vf_error *err)
{
	if (!ctx->locks || !op->path)
		return vf_apply__op(ctx, op, err);
	vf_lock_token *tok = NULL;
	vf_lock_holder holder = { 0 };
	int r = ctx->locks->lock(VF_LOCK_METADATA, op->path, ctx->lock_wait_ms, &tok, &holder, err);
	vf_lock_holder_clear(&holder);
	if (r < 0)
		return r;
	r = vf_apply__op(ctx, op, err);
	ctx->locks->unlock(tok);
	return r;
}

static void vf_apply__report(const vf_apply_ctx *ctx, const vf_step *s, vf_step_outcome o,
			     const vf_error *err)
{
	if (ctx->progress)
		ctx->progress(s, o, err, ctx->userdata);
}

int vf_apply_plan(const vf_apply_ctx *ctx, const vf_plan *plan, vf_error *err)
{
	size_t blocked = 0;
	for (size_t i = 0; i < plan->n; i++) {
		const vf_step *s = &plan->steps[i];
		if (s->action == VF_ACT_BLOCKED) {
			blocked++;
			vf_apply__report(ctx, s, VF_STEP_SKIPPED, NULL);
			continue;
		}
		if (ctx->stop && *ctx->stop) {
			for (size_t j = i; j < plan->n; j++)
				vf_apply__report(ctx, &plan->steps[j], VF_STEP_SKIPPED, NULL);
			return vf_error_set(err, VF_E_NOT_CONVERGED,
					    "stopped by a signal after %zu of %zu steps; run apply again to finish",
					    i, plan->n);
		}
		vf_apply__report(ctx, s, VF_STEP_STARTED, NULL);
		for (size_t k = 0; k < s->n_ops; k++) {
			vf_error oe = { 0 };
			if (vf_apply__op_locked(ctx, &s->ops[k], &oe) < 0) {
				vf_apply__report(ctx, s, VF_STEP_FAILED, &oe);
				const char *kind = vf_kind_to_string(s->kind);
				int r = s->pool
					? vf_error_set(err, oe.code, "%s/%s/%s: %s", kind, s->pool,
						       s->name, oe.message)
					: vf_error_set(err, oe.code, "%s/%s: %s", kind, s->name,
						       oe.message);
				vf_error_clear(&oe);
				return r;
			}
		}
		vf_apply__report(ctx, s, VF_STEP_DONE, NULL);
	}
	if (blocked)
		return vf_error_set(err, VF_E_BLOCKED,
				    "%zu step%s blocked; see the plan for why and how to allow them",
				    blocked, blocked == 1 ? " was" : "s were");
	return 0;
}
