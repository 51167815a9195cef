/* network.h: what the rest of the planner asks of network.c beyond its
 * kind table: the clashes networks bring (conflict.c calls it once) and
 * the gate that keeps a domain from starting on an inactive network
 * (plan.c). Internal to controller/plan/. */
#pragma once

#include "controller/plan/builder.h"

/* Every Network clash, before anything changes: bridge names, subnets,
 * a domain interface on a network that exists nowhere, a static DHCP MAC
 * on two domains. */
void vf_plan__network_conflicts(const vf_plan_ctx *c, vf_diags *out);
/* Block each planned domain start whose network will be inactive. */
void vf_plan__network_gate(vf_plan_builder *b);
