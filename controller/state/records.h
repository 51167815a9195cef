/* records.h: the texts of raw-XML records (vf_xml_record: the spec.xml
 * virtform last applied and what libvirt made of it) in the state
 * directory, as records/<SHA-256 of the text>, one file per text, written
 * atomically and only through statedir.c. The objects keep just the two
 * digests; a text is read only when its digest differs from the live one,
 * and a file whose content does not hash to its name is not read at all.
 * Not for the digests (the drivers keep them with each object) or for
 * comparing (controller/plan/domain_diff.c). */
#pragma once

#include "drivers/driver.h"
#include "controller/core/error.h"
#include "controller/core/model.h"
#include "controller/state/ledger.h"

/* Store `text` as records/<its digest> unless that file exists with the
 * text's size (a torn one is replaced). */
int vf_records_put(const char *state_dir, const char *text, vf_error *err);

/* The text stored under `digest` (64 hex digits), or NULL when it is
 * missing, unreadable or does not hash to its name. Caller frees. */
char *vf_records_get(const char *state_dir, const char *digest);

/* Fill the texts of each observed raw-XML domain's record that the plan
 * will diff: the applied manifest when d's spec.xml has another digest,
 * the normalised document when the live one has. A text not found stays
 * NULL (the planner then compares as on a first apply). */
void vf_records_load(const char *state_dir, const vf_desired *d, vf_observed *o);

/* Fill both texts of every observed record, whatever the manifests say:
 * a snapshot is taken without them, and an offline plan must diff what a
 * plan on the host would (and never read the state directory). */
void vf_records_load_all(const char *state_dir, vf_observed *o);

/* Pools keep their record's digests in their ledger entry (no <metadata>):
 * copy them into each observed pool's `applied` (only where the entry's
 * UUID is the live pool's), and load the texts the plan will diff as
 * vf_records_load does; d NULL: both texts, as vf_records_load_all. Call
 * after every observation, before planning or saving. */
void vf_records_pools(const char *state_dir, const vf_desired *d, const vf_ledger *l,
		      vf_observed *o);

/* After an apply's observation: store the texts the observed records name
 * that are at hand (d's spec.xml whose digest the record holds, the live
 * document when it still hashes to the recorded one), then remove stored
 * texts no observed record (domain or pool) names. Hold the reconcile lock. */
int vf_records_save(const char *state_dir, const vf_desired *d, const vf_observed *o,
		    vf_error *err);
