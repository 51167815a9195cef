/* network.h: what the rest of the planner asks of network.c beyond its
 * kind table: ownership (conflict.c) and the gate that keeps a domain from
 * starting on an inactive network (plan.c). Internal to controller/plan/. */
#pragma once

#include "controller/plan/builder.h"

/* Live network n is virtform's: the ledger says so (with its UUID) or,
 * without an entry, it carries virtform's metadata and the declared UUID. */
bool vf_plan__owned_network(const vf_plan_ctx *c, const vf_obs_network *n);
/* Block each planned domain start whose network will be inactive. */
void vf_plan__network_gate(vf_plan_builder *b);
