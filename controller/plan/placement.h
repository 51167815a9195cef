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

/* Before planning declared domain o: true when placement decided its step
 * already (not held here: nothing, or a force-off of a copy running here;
 * or a diag). */
bool vf_plan__placed_domain_first(vf_plan_builder *b, const vf_object *o);
/* After planning domain o, whose steps are b->plan.steps[from..]: without
 * the fleet they are blocked; held, its starts carry placed_for. */
void vf_plan__placed_domain_after(vf_plan_builder *b, const vf_object *o, size_t from);

/* The same for declared volume o (volume.c): true when placement decided
 * its step (nothing, an adoption of the fleet's volume, or blocked). */
bool vf_plan__placed_volume_first(vf_plan_builder *b, const vf_object *o);
void vf_plan__placed_volume_after(vf_plan_builder *b, const vf_object *o, size_t from);

/* Volume o is one this host leaves alone for the fleet, so a live copy it
 * does not own is no conflict (conflict.c). */
bool vf_plan__placed_volume_quiet(const vf_plan_ctx *c, const vf_object *o);

/* Placed domains' disks on storage every host shares (conflict.c). */
void vf_plan__placement_conflicts(const vf_plan_ctx *c, vf_diags *out);
