/* domain_diff.h: a Domain's drift, field by field (domain_diff.c).
 * Internal to controller/plan/. */
#pragma once

#include "controller/plan/context.h"

/* Appends the changes (not ops) to the step; *ret_redefine when the
 * definition must be rewritten, *ret_live_vcpus / *ret_live_memory when
 * those apply live.
 * Returns 0, or -1 with a diag added when the manifest's XML cannot be read. */
int vf_diff__domain(const vf_plan_ctx *c, const vf_object *want, const vf_obs_domain *have,
		    vf_step *s, bool *ret_redefine, bool *ret_live_vcpus, bool *ret_live_memory,
		    vf_diags *diags);

/* Cloud-init seeds (docs/cloud-init.md). The declared seed must be
 * (re)written: its hash differs from the live domain's virtform:seed, or
 * its volume is missing. */
bool vf_diff__seed_stale(const vf_plan_ctx *c, const vf_object *want, const vf_obs_domain *have);

/* container_diff.c: drift in spec.init, spec.filesystems and spec.idmap
 * (containers), appended to s as next-boot changes. */
void vf_diff__container(const vf_domain_spec *ds, const vf_obs_domain *have, vf_step *s);
