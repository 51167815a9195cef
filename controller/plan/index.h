/* index.h: hash indexes over the planner's inputs (desired, observed,
 * ledger), built once per vf_plan_build so every lookup by kind/pool/name,
 * UUID or path is O(1) instead of a scan. Each lookup answers exactly what
 * the matching linear finder (vf_desired_find, vf_observed_*,
 * vf_ledger_find) answers: the first match in array order, never a match on
 * a NULL key. Not for ownership or any planning decision: the kinds (pool.c, volume.c, domain.c). */
#pragma once

#include "controller/state/ledger.h"
#include "controller/core/model.h"
#include "drivers/driver.h"

/* ---- a string-keyed map: the building block ------------------------------ */

typedef struct vf_strmap vf_strmap;

vf_strmap *vf_strmap_new(size_t hint);
/* Free the map; free_val (may be NULL) is called on every non-NULL value. */
void vf_strmap_free(vf_strmap *m, void (*free_val)(void *));
/* The value slot for `key` (copied), created holding NULL when absent. */
void **vf_strmap_slot(vf_strmap *m, const char *key);
/* The value for `key`, or NULL when absent (or key is NULL). */
void *vf_strmap_get(const vf_strmap *m, const char *key);

/* ---- the planner's index -------------------------------------------------- */

typedef struct vf_index vf_index;

/* Any argument may be NULL (nothing of that kind). The index borrows the
 * inputs: they must outlive it unchanged. */
vf_index *vf_index_new(const vf_desired *d, const vf_observed *o, const vf_ledger *l);
void vf_index_free(vf_index *ix);

/* vf_desired_find / vf_ledger_find: `pool` matters for volumes only. */
const vf_object *vf_index_desired(const vf_index *ix, vf_kind kind, const char *pool,
				  const char *name);
const vf_ledger_entry *vf_index_ledger(const vf_index *ix, vf_kind kind, const char *pool,
				       const char *name);

/* vf_observed_pool, _pool_by_uuid, _volume, _domain, _domain_by_uuid. */
const vf_obs_pool *vf_index_pool(const vf_index *ix, const char *name);
const vf_obs_pool *vf_index_pool_by_uuid(const vf_index *ix, const uuid_t uuid);
const vf_obs_volume *vf_index_volume(const vf_index *ix, const char *pool, const char *name);
const vf_obs_domain *vf_index_domain(const vf_index *ix, const char *name);
const vf_obs_domain *vf_index_domain_by_uuid(const vf_index *ix, const uuid_t uuid);

/* The first observed volume whose path is `path`. */
const vf_obs_volume *vf_index_volume_by_path(const vf_index *ix, const char *path);
/* The held lease on `path`: the first volume's with that path and a held
 * lease, else the first live domain disk's. */
const vf_lease *vf_index_lease(const vf_index *ix, const char *path);
