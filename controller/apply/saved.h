/* saved.h: saved plans (`plan --out FILE`, `apply --plan FILE`): the steps
 * as planned, and what they were planned against: a fingerprint of every
 * object a step touches (its observed record and its ledger entry), the
 * manifest set's digest, the host, the state directory and the versions.
 * Applying one re-observes and goes ahead only when all of that still
 * holds and the plan made now is the saved one, step for step; it never
 * re-plans silently. Format: specs/saved-plan.schema.json.
 * Not for carrying the steps out (apply.c) or printing (planprint.c). */
#pragma once

#include <json-c/json.h>

#include "controller/core/error.h"
#include "controller/load/manifest.h"
#include "controller/plan/plan.h"
#include "controller/state/ledger.h"
#include "drivers/snapshot/snapshot.h"

#define VF_SAVED_PLAN_KIND "virtform-saved-plan"
#define VF_SAVED_PLAN_FORMAT 1

/* What a plan was made with, besides the host's objects. */
typedef struct vf_saved_meta {
	vf_host_id host;
	vf_statedir_id state_dir;
	char *manifest_digest;    /* vf_saved_manifest_digest() */
	char **replace;           /* --replace arguments */
	size_t n_replace;
	bool allow_empty;
} vf_saved_meta;

void vf_saved_meta_clear(vf_saved_meta *m);

/* A saved plan as read back. */
typedef struct vf_saved_plan {
	vf_saved_meta meta;
	json_object *doc;         /* the whole document (owned) */
	json_object *plan;        /* borrowed from doc: what plan --json printed */
	json_object *objects;     /* borrowed from doc: the fingerprints */
} vf_saved_plan;

void vf_saved_plan_free(vf_saved_plan *sp);

/* "sha256:HEX" over the manifest set: every file's name relative to the
 * PATH it was found under and its content, in load order, and each
 * domain's rendered cloud-init and raw XML digests (files they read). */
char *vf_saved_manifest_digest(const vf_desired *d, const char *const *paths, size_t n_paths,
			       vf_error *err);

/* The document for plan p, made against o and l. Caller frees. */
char *vf_saved_plan_text(const vf_saved_meta *m, const vf_plan *p, const vf_observed *o,
			 const vf_ledger *l);

/* Read a saved plan; refused whole at its line:col when truncated,
 * edited, foreign, or written by another virtform or format version. */
int vf_saved_plan_read(const char *path, vf_saved_plan *out, vf_error *err);

/* Refuse (VF_E_STALE) a plan made for another host, another state
 * directory or another manifest set, naming which. */
int vf_saved_plan_check_inputs(const vf_saved_plan *sp, const vf_host_id *host,
			       const vf_statedir_id *state_dir, const char *manifest_digest,
			       vf_error *err);

/* Refuse (VF_E_STALE) unless every fingerprinted object is as it was
 * ("saved plan is stale: Domain/web: live memory changed since the plan
 * was made", every changed object named) and `p`, planned now, is the
 * saved plan step for step. */
int vf_saved_plan_check(const vf_saved_plan *sp, const vf_plan *p, const vf_observed *o,
			const vf_ledger *l, vf_error *err);
