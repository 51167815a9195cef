/* conflict.h: the identity clashes found before anything changes
 * (conflict.c). Internal to controller/plan/. */
#pragma once

#include "controller/plan/context.h"

/* Append every conflict between desired, observed and ledger to *out. */
void vf_plan__conflicts(const vf_plan_ctx *c, vf_diags *out);
