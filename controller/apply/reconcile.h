/* reconcile.h: one reconcile pass over an open connection: read the ledger,
 * observe, plan, apply, observe again and re-plan. Shared by `apply` and
 * the watch daemon. Not for loading manifests, taking the reconcile lock or
 * printing: callers do those and get told what happened through callbacks. */
#pragma once

#include "drivers/driver.h"
#include "controller/apply/apply.h"
#include "controller/core/error.h"
#include "controller/state/ledger.h"
#include "controller/core/model.h"
#include "controller/plan/plan.h"
#include "drivers/snapshot/snapshot.h"

typedef enum vf_reconcile_phase {
	VF_PHASE_LEDGER,          /* reading the ledger */
	VF_PHASE_OBSERVE,         /* listing live state */
	VF_PHASE_PLAN,            /* planning (conflicts land here) */
	VF_PHASE_APPLY,           /* carrying out the steps */
	VF_PHASE_REOBSERVE,       /* observing again after applying */
	VF_PHASE_DONE,
} vf_reconcile_phase;

typedef struct vf_reconcile_result {
	vf_reconcile_phase phase; /* how far it got (DONE when it ran to the end) */
	vf_plan plan;             /* the plan that was (or would be) applied */
	vf_plan replan;           /* after applying; empty when converged */
	vf_diags conflicts;       /* a rejected plan's conflicts */
	vf_error err;             /* the error that stopped it, if any */
	bool applied;             /* apply was attempted */
	bool converged;           /* the re-plan was empty (or, dry run, the plan was) */
} vf_reconcile_result;

/* Where a pass's observed state comes from when it is not a full
 * observation each time: the watch daemon's cache, kept by events. */
typedef struct vf_observer {
	/* required: the observed state to plan from, borrowed until the next
	 * call; fails when it cannot be trusted and a relist fails */
	int (*current)(void *userdata, vf_observed **out, vf_error *err);
	/* required: re-read the objects the plan's steps act on. Before
	 * applying (after_apply false) only those not read yet in this pass:
	 * returns how many it read, and the pass re-plans until that is 0, so
	 * every step is planned from objects read just before it runs. After
	 * applying, every one of them again. <0 on error. */
	int (*refresh)(void *userdata, const vf_plan *plan, bool after_apply, vf_error *err);
	void *userdata;
} vf_observer;

typedef struct vf_reconcile_opts {
	const char *state_dir;
	vf_plan_opts plan;
	bool dry_run;             /* plan only */
	/* An empty manifest set removes nothing unless this is set (apply
	 * --allow-empty, allowEmpty = true in virtform.conf): see
	 * docs/concepts.md, rule 5. */
	bool allow_empty;
	/* optional: called with the plan before anything is applied */
	void (*on_plan)(const vf_plan *plan, void *userdata);
	/* optional: called with every plan made (not a rejected or an empty-set
	 * blocked one), before on_plan, with what it was made against: plan
	 * --out saves it, apply --plan checks it against the saved one. A
	 * negative return stops the pass there (phase PLAN): nothing is
	 * shown or applied. */
	int (*check_plan)(const vf_plan *plan, const vf_observed *o, const vf_ledger *l,
			  void *userdata, vf_error *err);
	vf_apply_progress_fn progress; /* optional */
	void *userdata;
	volatile sig_atomic_t *stop;   /* optional: stop between steps */
	const vf_lock_driver *locks;   /* optional: metadata locks around file changes */
	unsigned lock_wait_ms;         /* how long to wait for one (--lock-wait) */
	const char *lockd_conf;        /* NULL: vf_lockd_conf_for() the connection */
	/* optional: image downloads (NULL: vf_curl_fetch_driver); the opts
	 * carry the progress callback. Before planning, each volume to be
	 * created from a URL is looked up in the cache or asked with a HEAD. */
	const vf_fetch_driver *fetch;
	const vf_fetch_opts *fetch_opts;
	/* optional (plan --snapshot, dry runs only): plan against this
	 * snapshot, whose backend and connection the caller passes: its
	 * ledger instead of state_dir's, its image cache instead of
	 * state_dir/cache, and no server is asked for an image's size. */
	const vf_snapshot *snapshot;
	/* optional: observed state from here, not backend->hv->observe */
	const vf_observer *observer;
	/* optional (watch --etcd): passed to vf_apply_ctx.fleet; the fleet
	 * view goes in plan.fleet */
	const vf_fleet_hooks *fleet_hooks;
	const char *fleet_host;
} vf_reconcile_opts;

/* Run one pass. Returns 0 when the host converged (dry run: when nothing
 * is to be done), else a negative vf_code with result->err (or conflicts)
 * saying why. *result must be zeroed; free it with vf_reconcile_result_free. */
int vf_reconcile(const vf_backend *backend, vf_conn *conn, const vf_desired *desired,
		 const vf_reconcile_opts *opts, vf_reconcile_result *result);

void vf_reconcile_result_free(vf_reconcile_result *r);

/* What a plan of this host would read, as a snapshot (`virtform
 * snapshot`): the ledger in opts->state_dir (checked against the host as
 * a plan checks it, rule 10), the host's identity, the observed state
 * with its leases, the image cache's entries. Fills *out only on
 * success; free it with vf_snapshot_free. */
int vf_reconcile_snapshot(const vf_backend *backend, vf_conn *conn, const vf_reconcile_opts *opts,
			  vf_snapshot *out, vf_error *err);

/* Which state directory `dir` is: its path as given, and its device and
 * inode when it exists (0 when it does not). */
void vf_statedir_identify(const char *dir, vf_statedir_id *out);
