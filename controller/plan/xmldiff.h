/* xmldiff.h: XML comparison for raw-XML domains. The subset comparison
 * ("is every element and attribute the manifest writes present and equal
 * in the live document?", libvirt's additions ignored) serves domains with
 * no record; the exact one compares two documents libvirt normalised, or
 * two versions of a manifest. Pure and in-memory (libxml2). Not for
 * building or normalising libvirt XML. */
#pragma once

#include <stdbool.h>

#include "controller/core/error.h"
#include "drivers/driver.h"

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

/* Every difference between two documents, both ways: what the subset
 * comparison finds, plus each element and attribute `have` has that
 * `want` lacks (reported `value → (none)`). For two documents libvirt
 * normalised, or two versions of one manifest. Numbers compare by value
 * (0x12 is 18), nothing else is forgiven. Errors as vf_xmldiff_subset
 * (`want` failing is -VF_E_SCHEMA). */
int vf_xmldiff_exact(const char *want, const char *have, const char *const *ignore,
		     size_t n_ignore, vf_xmldiff_list *out, vf_error *err);

/* A manifest's machine type `want` against libvirt's `have`: equal, or an
 * alias libvirt expanded (pc → pc-i440fx-7.2, q35 → pc-q35-7.2). */
bool vf_xmldiff_machine_matches(const char *want, const char *have);

/* The three-way comparison of a raw-XML object with a record (docs/
 * concepts.md, "Raw XML: three ways"): `want` (digest `want_hash`) against
 * the manifest last applied, unless the digests match, then the live
 * document `have_bare` (digest `have_digest`) against what libvirt made of
 * that manifest, unless those match; both exact. Appends to *out, the
 * manifest's differences first (*ret_n_manifest of them). Returns 1 when
 * compared so, 0 when the record is missing or lacks a text it needs (then
 * compare as on a first apply, with vf_xmldiff_subset), or an error as
 * vf_xmldiff_exact's, *ret_live_side saying whether the live document
 * failed. */
int vf_xmldiff_recorded(const char *want, const char *want_hash, const vf_xml_record *rec,
			const char *have_bare, const char *have_digest, const char *const *ignore_m,
			size_t n_ignore_m, vf_xmldiff_list *out, size_t *ret_n_manifest,
			bool *ret_live_side, vf_error *err);

void vf_xmldiff_list_free(vf_xmldiff_list *l);
