/* builder.h: the plan being built, as every kind's planner (pool.c,
 * volume.c, domain.c) and the skeleton (plan.c) share it: the builder
 * state, new steps and their reasons, what the plan deletes and replaces,
 * and the wording the kinds have in common (builder.c). Internal to
 * controller/plan/. */
#pragma once

#include "controller/plan/context.h"

typedef struct vf_plan_builder {
	vf_plan_ctx c;
	vf_plan plan;
	vf_diags diags;
	char **replaced_pools;    /* pools destroyed and recreated by this plan */
	size_t n_replaced, cap_replaced;
	vf_strmap *removed_domains; /* names of domains this plan removes (before volumes) */
	vf_strmap *deleted;       /* disk keys ("volume POOL/NAME") of volumes this plan deletes */
	vf_strmap *overlays;      /* backing path -> vf_plan_idx of observed volumes on it; lazily */
} vf_plan_builder;

/* A growing list of indexes. */
typedef struct vf_plan_idx {
	size_t *v;
	size_t n, cap;
} vf_plan_idx;
void vf_plan__idx_free(void *p);

/* How many of the things a blocked deletion keeps are named. */
#define VF_PLAN_NAMED 3

#define VF_PLAN_REDO "re-create (incomplete): an earlier apply stopped before it finished; "

/* ---- steps ---------------------------------------------------------------- */

/* Free what s holds and zero it. */
void vf_step__clear(vf_step *s);
vf_step vf_step__new(vf_kind kind, const char *pool, const char *name, vf_pos pos);
void vf_step__reason(vf_step *s, const char *fmt, ...) VF_PRINTF(2, 3);
/* Append s to the plan (it moves: s is zeroed). */
void vf_plan__push(vf_plan_builder *b, vf_step *s);
/* A step that only forgets owned entry e, saying why it is left alone. */
void vf_plan__retain(vf_plan_builder *b, const vf_ledger_entry *e, const char *why);

/* The domain's spec.shutdownTimeout, or the default. */
uint32_t vf_plan__timeout(const vf_domain_spec *ds);
/* Ownership, the deletionPolicy and, for domains, the shutdownTimeout
 * (u64): what the ledger must remember for when the manifest is gone. */
void vf_plan__ledger_put(vf_step *s, const vf_object *o, vf_deletion_policy policy);
/* An owned pool's or volume's deletionPolicy differs from the one its
 * ledger entry remembers: adds the spec.deletionPolicy change to s (live:
 * only the ledger changes) and returns true, so the step records it. */
bool vf_plan__policy_changed(const vf_plan_ctx *c, vf_step *s, vf_kind kind, const char *pool,
			     const char *name, vf_deletion_policy want);
/* The entry of an object whose create or multi-step rewrite an earlier
 * apply did not finish (pending or incomplete); NULL when none. */
const vf_ledger_entry *vf_plan__unfinished(const vf_plan_ctx *c, vf_kind kind, const char *pool,
					   const char *name);

/* ---- replacing and drift -------------------------------------------------- */

/* "StoragePool/NAME", "Volume/POOL/NAME", "Domain/NAME": how --replace
 * names an object. Caller frees. */
char *vf_plan__ref(vf_kind kind, const char *pool, const char *name);
bool vf_plan__replace_allowed(const vf_plan_ctx *c, const char *ref);
/* "spec.type and spec.target.path": the fields that need a replacement. */
char *vf_plan__replace_fields(const vf_step *s);
char *vf_plan__drift_reason(size_t n_changes, bool adopt, const char *what);

/* ---- what this plan deletes (docs/concepts.md, "What virtform never does") */

void vf_plan__mark_deleted(vf_plan_builder *b, const char *pool, const char *name);
bool vf_plan__is_deleted(const vf_plan_builder *b, const char *pool, const char *name);
/* "Volume POOL/NAME (PATH) is an overlay backed by ..." for a deletion
 * reason: a volume outside pool `except` (NULL: none) that this plan does
 * not delete and whose backing file is v's; NULL when none. */
char *vf_plan__overlay_reason(vf_plan_builder *b, const vf_obs_volume *v, const char *except);
/* Pool `pool` is destroyed and recreated by this plan. */
bool vf_plan__pool_replaced(const vf_plan_builder *b, const char *pool);
/* Domain `name` is removed by this plan (its step came before). */
bool vf_plan__domain_removed(const vf_plan_builder *b, const char *name);
