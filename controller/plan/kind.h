/* kind.h: a kind, as the planner sees it. One table per kind, defined in
 * that kind's file (pool.c, volume.c, domain.c) and listed in kind.c; the
 * skeleton (plan.c) walks them in vf_plan_kinds' order to plan what is
 * declared, and in the reverse order to remove what is owned but no
 * longer declared; the conflict check (conflict.c) asks each for its
 * references. Like the
 * driver tables (drivers/driver.h): `name` first, each member marked
 * required or optional. Internal to controller/plan/. */
#pragma once

#include "controller/plan/builder.h"

typedef struct vf_plan_kind {
	/* required: the manifest's kind, as vf_kind_to_string spells it */
	const char *name;
	/* required */
	vf_kind kind;
	/* required: the step for declared object o of this kind. */
	void (*plan)(vf_plan_builder *b, const vf_object *o);
	/* optional: plan every declared object of this kind (objs sorted by
	 * (pool,) name) in an order of its own, calling plan for each (volumes:
	 * a declared backing volume before the volumes it backs). NULL: plan
	 * is called for each in (pool,) name order. */
	void (*plan_all)(vf_plan_builder *b, const vf_object **objs, size_t n);
	/* required: the step for owned entry e, no longer declared (remove,
	 * block or retain). Called in (pool,) name order. */
	void (*remove)(vf_plan_builder *b, const vf_ledger_entry *e);
	/* optional: remove an object before the one whose file backs it
	 * (volumes); false keeps (pool,) name order. */
	bool remove_overlays_first;
	/* optional: a conflict for each object named by declared object o
	 * that is neither declared nor on the host (a volume's pool and
	 * backing volume, a domain's volume disks), found before anything
	 * changes (conflict.c calls it). */
	void (*references)(const vf_plan_ctx *c, const vf_object *o, vf_diags *out);
	/* optional: libvirt gives objects of this kind a UUID (pools,
	 * domains), so a live object holding the declared name or UUID under
	 * the other one is a conflict (conflict.c). */
	bool has_uuid;
} vf_plan_kind;

extern const vf_plan_kind vf_plan_kind_pool;   /* pool.c */
extern const vf_plan_kind vf_plan_kind_volume; /* volume.c */
extern const vf_plan_kind vf_plan_kind_domain; /* domain.c */
extern const vf_plan_kind vf_plan_kind_network; /* network.c */

/* Every kind, in the order they are planned (a volume needs its pool, a
 * domain its volumes); removed in the reverse (kind.c). */
extern const vf_plan_kind *const vf_plan_kinds[];
extern const size_t vf_plan_n_kinds;
/* The table of kind k. */
const vf_plan_kind *vf_plan__kind(vf_kind k);
