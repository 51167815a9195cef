/* reconcile.c: one pass of ledger → observe → plan → apply → observe →
 * re-plan. Apply counts as success only when the second plan is empty:
 * that is what makes "converged" a fact and not a hope. */
#include "reconcile.h"

void vf_reconcile_result_free(vf_reconcile_result *r)
{
	if (!r)
		return;
	vf_plan_free(&r->plan);
	vf_plan_free(&r->replan);
	vf_diags_free(&r->conflicts);
	vf_error_clear(&r->err);
	memset(r, 0, sizeof(*r));
}

int vf_reconcile(const vf_backend *backend, vf_conn *conn, const vf_desired *desired,
		 const vf_reconcile_opts *opts, vf_reconcile_result *res)
{
	vf_ledger ledger = { 0 };
	vf_observed observed = { 0 };
	int r;

	res->phase = VF_PHASE_LEDGER;
	r = vf_ledger_load(opts->state_dir, &ledger, &res->err);
	if (r < 0)
		goto out;

	res->phase = VF_PHASE_OBSERVE;
	r = backend->hv->observe(conn, &observed, &res->err);
	if (r < 0)
		goto out;
	vf_leases_observe(&observed, opts->lockd_conf);

	res->phase = VF_PHASE_PLAN;
	r = vf_plan_build(desired, &observed, &ledger, &opts->plan, &res->plan, &res->conflicts);
	if (r < 0) {
		vf_error_set(&res->err, VF_E_CONFLICT, "plan rejected: %zu conflict%s; nothing was changed",
			     res->conflicts.n, res->conflicts.n == 1 ? "" : "s");
		goto out;
	}
	if (opts->on_plan)
		opts->on_plan(&res->plan, opts->userdata);
	if (opts->dry_run || vf_plan_empty(&res->plan)) {
		res->converged = vf_plan_empty(&res->plan);
		res->phase = VF_PHASE_DONE;
		r = 0;
		goto out;
	}

	res->phase = VF_PHASE_APPLY;
	res->applied = true;
	vf_apply_ctx ctx = {
		.backend = backend,
		.conn = conn,
		.state_dir = opts->state_dir,
		.ledger = &ledger,
		.progress = opts->progress,
		.userdata = opts->userdata,
		.stop = opts->stop,
		.locks = opts->locks,
		.lock_wait_ms = opts->lock_wait_ms,
	};
	int ar = vf_apply_plan(&ctx, &res->plan, &res->err);

	/* Observe again whatever happened, so the caller can say what is left. */
	res->phase = VF_PHASE_REOBSERVE;
	vf_observed_free(&observed);
	vf_error oe = { 0 };
	r = backend->hv->observe(conn, &observed, &oe);
	if (r < 0) {
		if (ar == 0) {
			vf_error_clear(&res->err);
			res->err = oe;
		} else {
			vf_error_clear(&oe);
		}
		goto out;
	}
	vf_leases_observe(&observed, opts->lockd_conf);
	vf_diags late = { 0 };
	r = vf_plan_build(desired, &observed, &ledger, &opts->plan, &res->replan, &late);
	if (r < 0) {
		/* Cannot happen unless the host changed under us mid-run. */
		vf_diags_free(&res->conflicts);
		res->conflicts = late;
		if (ar == 0)
			vf_error_set(&res->err, VF_E_CONFLICT,
				     "the host changed while applying and the re-plan is rejected");
		goto out;
	}
	vf_diags_free(&late);
	res->converged = vf_plan_empty(&res->replan);
	res->phase = VF_PHASE_DONE;
	if (ar < 0)
		r = ar;
	else if (!res->converged)
		r = vf_error_set(&res->err, VF_E_NOT_CONVERGED,
				 "apply finished but the host has not converged; %zu step%s still to do",
				 res->replan.n, res->replan.n == 1 ? "" : "s");
	else
		r = 0;
out:
	vf_observed_free(&observed);
	vf_ledger_free(&ledger);
	return r;
}
