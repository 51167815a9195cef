/* placement.h: what the plan does with placed domains (spec.placement) and
 * the volumes only they use, given the fleet view (plan.h) or none, and
 * the plan-time checks on their storage (placement.c). Internal to
 * controller/plan/; rule 16 of docs/concepts.md. */
#pragma once

#include "controller/plan/builder.h"

/* Where a placed domain (or a volume only placed domains use) stands. */
typedef enum vf_place_mode {
	VF_PLACE_NONE,            /* not placed: planned as on any host */
	VF_PLACE_NO_FLEET,        /* placed, and no fleet (plan, apply): never acted on here */
	VF_PLACE_HELD,            /* this host holds its lease: planned as usual, starts fenced */
	VF_PLACE_ELSEWHERE,       /* the fleet runs it elsewhere (or nowhere yet) */
} vf_place_mode;

/* Plan declared domain or volume o with `plan` (its kind's planner), as
 * placement has it: not at all when placement decides its step (not held
 * here: nothing, or a force-off of a domain's copy running here; a
 * fleet-made volume adopted, one being made elsewhere blocked); else
 * `plan`'s steps, blocked without the fleet, their starts and shared
 * creates marked placed_for when held. */
void vf_plan__placed(vf_plan_builder *b, const vf_object *o,
		     void (*plan)(vf_plan_builder *b, const vf_object *o));

/* Volume o is one this host leaves alone for the fleet, so a live copy it
 * does not own is no conflict (conflict.c). */
bool vf_plan__placed_volume_quiet(const vf_plan_ctx *c, const vf_object *o);

/* What becomes of placed domain o's cloud-init seed here (rule 16). */
typedef enum vf_place_seed {
	VF_PLACE_SEED_USUAL,      /* the usual rules: written when stale, never over a file virtform did not write */
	VF_PLACE_SEED_CLAIM,      /* held, and no host of the fleet finished it: written, claimed in etcd first (placed_for) */
	VF_PLACE_SEED_ADOPT,      /* held, and a host of the fleet wrote it (*ret_host): adopted as it is, not rewritten */
	VF_PLACE_SEED_FLEET,      /* not written here (no fleet, not held, or being written by another host): a file there is no conflict */
} vf_place_seed;
vf_place_seed vf_plan__placed_seed(const vf_plan_ctx *c, const vf_object *o, const char **ret_host);

/* Placed domains' disks on storage every host shares (conflict.c). */
void vf_plan__placement_conflicts(const vf_plan_ctx *c, vf_diags *out);
