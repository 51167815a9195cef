/* ledger.h: the record of which objects virtform owns, kept as JSON in the
 * state directory (ledger.json) and written atomically (temp file, fsync,
 * rename, fsync of the folder). Not for deciding what to do with owned
 * objects: the planner does that. */
#pragma once

#include <json-c/json.h>
#include <uuid/uuid.h>

#include "drivers/driver.h"
#include "controller/core/error.h"
#include "controller/core/model.h"

/* How far virtform got with an entry's object. A claim is written before
 * the create it is for and confirmed after the step's last op, so a crash
 * (kill -9) in between leaves it marked: the next plan redoes the object
 * instead of counting it converged (docs/concepts.md, rules 2 and 3). */
typedef enum vf_ledger_state {
	VF_LEDGER_COMPLETE,       /* absent from the file: made (or adopted) and finished */
	VF_LEDGER_PENDING,        /* "pending": claimed before its create; it may not have happened */
	VF_LEDGER_INCOMPLETE,     /* "incomplete": virtform's own, a later step (upload, seed) unfinished */
	/* "claimed": a volume an apply will create, its create not begun.
	 * Written up front with the other claims, and turned "pending" (and
	 * saved) just before the create starts. A claimed volume found to
	 * exist was made by someone else: the plan does not count it ours. */
	VF_LEDGER_CLAIMED,
	VF_LEDGER_STATE_MAX,
} vf_ledger_state;
VF_STRING_TABLE_DECL(vf_ledger_state, vf_ledger_state);

typedef struct vf_ledger_entry {
	vf_kind kind;
	char *pool;               /* volumes only */
	char *name;
	uuid_t uuid;              /* pools and domains: the UUID virtform gave it */
	vf_deletion_policy deletion; /* the manifest's policy, remembered for when it is gone */
	char *source;             /* volumes: vf_volume_source_key() it was created from; NULL none */
	char *seed_of;            /* volumes: the Domain whose cloud-init seed virtform wrote here; NULL none */
	vf_ledger_state state;    /* COMPLETE unless a create or rewrite is unfinished */
	bool has_shutdown_timeout; /* domains: false in ledgers older than the field */
	uint32_t shutdown_timeout; /* domains: seconds removal waits, as last applied */
	char *xml_digest;         /* raw-XML pools: SHA-256 of the spec.xml last defined; NULL none */
	char *xml_normalised;     /* ...and of libvirt's inactive XML right after that define,
				   * live figures removed (vf_obs_pool.xml_bare_digest); both or neither */
} vf_ledger_entry;

typedef struct vf_ledger {
	vf_ledger_entry *entries;
	size_t n;
	size_t cap;
	vf_host_id host;          /* the host it belongs to (top-level "host"); uri NULL: not bound yet */
} vf_ledger;

/* Load <state_dir>/ledger.json; a missing file is an empty ledger. */
int vf_ledger_load(const char *state_dir, vf_ledger *out, vf_error *err);
/* Write it atomically; creates state_dir (0700) when missing. */
int vf_ledger_save(const char *state_dir, const vf_ledger *l, vf_error *err);
void vf_ledger_free(vf_ledger *l);
/* The ledger as ledger.json holds it, and back (a snapshot carries it so);
 * `path` names the document in errors. from_json fills *out only on
 * success; to_json's result is the caller's (json_object_put). */
int vf_ledger_from_json(json_object *root, const char *path, vf_ledger *out, vf_error *err);
json_object *vf_ledger_to_json(const vf_ledger *l);

/* Rule 10 (docs/concepts.md): a state directory belongs to one host. Check
 * that `live` is the host the ledger is bound to, and bind an unbound
 * (older) ledger to it in memory, so the next save records it. The host
 * UUID decides, not the URI's spelling, within one libvirt driver and
 * daemon (qemu:///system and qemu+ssh://root@127.0.0.1/system are one
 * host; qemu:///session is another). Returns 1 when it bound the ledger,
 * 0 when it matched (the recorded URI becomes live's), or -VF_E_HOST with
 * err naming both hosts and what to do; then *l is unchanged. */
int vf_ledger_bind_host(vf_ledger *l, const vf_host_id *live, const char *state_dir,
			vf_error *err);

/* NULL when absent; pool is ignored except for volumes. */
vf_ledger_entry *vf_ledger_find(const vf_ledger *l, vf_kind kind, const char *pool,
				const char *name);
/* Add or update (same kind/pool/name) an entry. */
void vf_ledger_put(vf_ledger *l, vf_kind kind, const char *pool, const char *name,
		   const uuid_t uuid);
/* Remove an entry; returns true if one was there. */
bool vf_ledger_drop(vf_ledger *l, vf_kind kind, const char *pool, const char *name);
