/* plan_leases.h: live lease state in the plan (plan_leases.c). Internal
 * to controller/plan/. */
#pragma once

#include "controller/plan/context.h"

/* Record every held lease in plan->leases, give volume ops the file they
 * touch (for metadata locks), and block steps that would break a lease:
 * deleting or replacing a leased volume, starting a domain whose disk
 * someone else holds. */
void vf_plan__leases(const vf_plan_ctx *c, vf_plan *plan);
