/* xmldiff.h: "is the manifest's XML a subset of the live XML?" for raw-XML
 * domains. Every element and attribute the manifest writes must be present
 * and equal in the live document; what libvirt adds is ignored. Pure and
 * in-memory (libxml2). Not for building or normalising libvirt XML. */
#pragma once

#include "error.h"

typedef struct vf_xmldiff {
	char *path;               /* XPath-like: "/domain/devices/disk[2]/source/@file" */
	char *old_value;          /* live value; NULL = absent */
	char *new_value;          /* the manifest's value */
} vf_xmldiff;

typedef struct vf_xmldiff_list {
	vf_xmldiff *items;
	size_t n;
	size_t cap;
} vf_xmldiff_list;

/* Compare `want` (the manifest's document) against `have` (the live one).
 * Paths listed in `ignore` ("/domain/uuid", "/domain/@type") are skipped
 * with everything under them. Appends one entry per difference to *out.
 * Returns 0, or -VF_E_SCHEMA when `want` does not parse / -VF_E_DRIVER
 * when `have` does not, with *err set. */
int vf_xmldiff_subset(const char *want, const char *have, const char *const *ignore,
		      size_t n_ignore, vf_xmldiff_list *out, vf_error *err);

void vf_xmldiff_list_free(vf_xmldiff_list *l);
