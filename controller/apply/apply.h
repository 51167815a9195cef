/* apply.h: carrying out a plan's steps through a backend's drivers, in the
 * plan's order, keeping the ledger in step. Not for deciding what to do
 * (plan.h) or printing (the CLI prints through the progress callback). */
#pragma once

#include <signal.h>

#include "drivers/driver.h"
#include "controller/core/error.h"
#include "controller/state/ledger.h"
#include "controller/plan/plan.h"

typedef enum vf_step_outcome {
	VF_STEP_STARTED,          /* about to run the step's ops */
	VF_STEP_DONE,             /* every op succeeded */
	VF_STEP_FAILED,           /* an op failed; err says which and why */
	VF_STEP_SKIPPED,          /* blocked, or not run because the run stopped */
} vf_step_outcome;

/* Called before and after each step; `err` is set for VF_STEP_FAILED. */
typedef void (*vf_apply_progress_fn)(const vf_step *step, vf_step_outcome outcome,
				     const vf_error *err, void *userdata);

/* The fleet's checks around ops that act for a placed domain (an op's
 * placed_for; docs/fleet.md), implemented by the watch daemon over etcd.
 * A negative return fails the op before it runs, with *err saying why. */
typedef struct vf_fleet_hooks {
	/* before DOMAIN_START: confirm, in one etcd transaction, that this
	 * host still holds the domain's lease; *token = its fencing token
	 * (the lease key's create revision), which the start records */
	int (*may_start)(void *userdata, const char *domain, uint64_t *token, vf_error *err);
	/* after the domain's process exists (started paused when the driver
	 * can): guard it with the fence helper and confirm the lease is still
	 * good. A negative return: apply forces the domain off and fails the
	 * step; with a paused start no guest code ran unguarded. */
	int (*started)(void *userdata, const char *domain, vf_error *err);
	/* before creating pool/name (a shared pool) for placed domain `domain`:
	 * claim it in etcd, failing when another host claimed it */
	int (*claim_volume)(void *userdata, const char *pool, const char *name,
			    const char *domain, vf_error *err);
	/* after the create succeeded: mark the claim created */
	int (*volume_created)(void *userdata, const char *pool, const char *name, vf_error *err);
	void *userdata;
} vf_fleet_hooks;

typedef struct vf_apply_ctx {
	const vf_backend *backend;
	vf_conn *conn;
	const char *state_dir;    /* where the ledger lives */
	vf_ledger *ledger;        /* updated and saved as ownership changes */
	vf_apply_progress_fn progress; /* optional */
	void *userdata;
	/* optional: set (by a signal handler) to stop between steps; a step
	 * that has started always finishes, so nothing is left half-done */
	volatile sig_atomic_t *stop;
	/* optional: take libvirt's metadata lock (byte 1) on the file an op
	 * changes (vf_op.path) for the op's duration, waiting up to lock_wait_ms */
	const vf_lock_driver *locks;
	unsigned lock_wait_ms;
	/* optional: image downloads (spec.source.url) into <state_dir>/cache;
	 * NULL: vf_curl_fetch_driver. fetch_opts (optional) carries the
	 * progress callback and, for tests, shorter timeouts. */
	const vf_fetch_driver *fetch;
	const vf_fetch_opts *fetch_opts;
	/* optional (watch --etcd): the fleet's checks for placed_for ops; an
	 * op with placed_for and no hooks fails (no fleet, no placed start) */
	const vf_fleet_hooks *fleet;
	const char *fleet_host;   /* this host's id (--host-id), recorded at a placed start */
} vf_apply_ctx;

/* Run every step of `plan` in order. Blocked steps are skipped (and make
 * the result VF_E_BLOCKED at the end, after everything else ran). The
 * first failing step stops the run: its error is returned in *err and the
 * host is left in a state the next run converges from. */
int vf_apply_plan(const vf_apply_ctx *ctx, const vf_plan *plan, vf_error *err);
