/* planprint.h: showing a plan to people (text, like `terraform plan`) and to
 * programs (versioned JSON, specs/plan.schema.json). Not for deciding
 * anything: the plan is already made. */
#pragma once

#include <stdbool.h>
#include <stdio.h>

#include "controller/core/error.h"
#include "controller/plan/plan.h"

#define VF_PLAN_FORMAT_VERSION "1"

/* One line per step ("+ Domain/web: reason"), each change indented below
 * it, then the summary; an empty plan says so. Colour only when `color`. */
void vf_plan_print_text(FILE *out, const vf_plan *p, bool color);

/* The plan (may be NULL for a rejected plan) and its conflicts (may be
 * NULL) as one JSON document. Caller frees. */
char *vf_plan_to_json(const vf_plan *p, const vf_diags *conflicts);
