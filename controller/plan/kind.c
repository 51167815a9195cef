/* kind.c: the kinds the planner knows, in planning order (kind.h). */
#include "controller/plan/kind.h"

const vf_plan_kind *const vf_plan_kinds[] = {
	&vf_plan_kind_pool,
	&vf_plan_kind_volume,
	&vf_plan_kind_network,
	&vf_plan_kind_domain,
};
const size_t vf_plan_n_kinds = VF_ARRAY_SIZE(vf_plan_kinds);

const vf_plan_kind *vf_plan__kind(vf_kind k)
{
	for (size_t i = 0; i < vf_plan_n_kinds; i++)
		if (vf_plan_kinds[i]->kind == k)
			return vf_plan_kinds[i];
	return NULL;
}
