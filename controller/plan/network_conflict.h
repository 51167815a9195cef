/* network_conflict.h: the clashes Networks bring (network_conflict.c),
 * which conflict.c asks for once per plan. Internal to controller/plan/. */
#pragma once

#include "controller/plan/context.h"

/* Every Network clash, before anything changes: bridge names, subnets,
 * a domain interface on a network that exists nowhere, a static DHCP MAC
 * on two domains. */
void vf_plan__network_conflicts(const vf_plan_ctx *c, vf_diags *out);
