/* snap.h: the snapshot driver's own header, private to drivers/snapshot/:
 * the table of sections, one per kind of observed object (sections.c),
 * that the document (snapshot.c) writes and reads in order. */
#pragma once

#include "controller/core/jsondoc.h"
#include "drivers/snapshot/snapshot.h"

/* One top-level member of a snapshot holding one part of vf_observed.
 * To add a kind: write its two functions in sections.c and add its entry
 * to vf_snap_sections (and, when an older snapshot's lack of the section
 * would mislead a plan, raise VF_SNAPSHOT_FORMAT and _MIN). */
typedef struct vf_snap_section {
	const char *key;          /* the member: "pools" */
	vf_kind kind;             /* the objects' kind; VF_KIND_MAX: not objects */
	/* required: the section's value for o */
	json_object *(*write)(const vf_observed *o);
	/* required: read the value (path names it) into *o, which the caller
	 * frees whatever happens; problems go to jr */
	void (*read)(vf_jr *jr, json_object *v, const char *path, vf_observed *o);
	/* optional (objects only): one object's record, NULL when absent */
	json_object *(*one)(const vf_observed *o, const char *pool, const char *name);
	/* optional (NULL-ended): members no plan reads, which change on their
	 * own (a pool's free space); left out of saved plans' fingerprints */
	const char *const *unplanned;
} vf_snap_section;

extern const vf_snap_section vf_snap_sections[];
extern const size_t vf_snap_n_sections;
