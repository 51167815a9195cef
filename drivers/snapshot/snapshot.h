/* snapshot.h: a host's observed state in a file (`virtform snapshot`), and
 * the backend that plays it back (`plan --snapshot`) with no libvirt
 * connection, no lock files and no network. The format is
 * specs/snapshot.schema.json; one section per kind of object, all listed
 * in one table (sections.c), so a new kind adds its section there.
 * Not for the ledger's meaning: its section is carried as JSON and read by
 * controller/state/ledger.c. */
#pragma once

#include <json-c/json.h>

#include "controller/core/jsondoc.h"
#include "drivers/driver.h"

#define VF_SNAPSHOT_KIND "virtform-snapshot"
/* The format written; snapshots older than VF_SNAPSHOT_FORMAT_MIN are too
 * old to plan against (a section they lack would read as "nothing there").
 * 2: networks, host_interfaces, capabilities.domain_types, the container
 * fields of domains and the record digests; format 1 had none of them. */
#define VF_SNAPSHOT_FORMAT 2
#define VF_SNAPSHOT_FORMAT_MIN 2

/* A file in the state directory's image cache: its name and size (a plan
 * shows a cached image's size and downloads nothing for it). */
typedef struct vf_cache_entry {
	char *name;
	uint64_t size;
} vf_cache_entry;

/* Which state directory a snapshot or plan was made with: the path as
 * given and, when it existed, its device and inode (0 when it did not). */
typedef struct vf_statedir_id {
	char *path;
	uint64_t device;
	uint64_t inode;
} vf_statedir_id;

typedef struct vf_snapshot {
	char *virtform_version;   /* who wrote it */
	char *taken_at;           /* ISO 8601, UTC */
	vf_host_id host;
	vf_statedir_id state_dir;
	vf_observed observed;     /* with leases as probed when it was taken */
	json_object *ledger;      /* the ledger as controller/state writes it; NULL: none */
	vf_cache_entry *cache;    /* sorted by name */
	size_t n_cache;
} vf_snapshot;

void vf_snapshot_free(vf_snapshot *s);
void vf_statedir_id_clear(vf_statedir_id *id);

/* The document for s (caller frees), written in a fixed member order so
 * that two snapshots diff well, with its digest. */
char *vf_snapshot_to_text(const vf_snapshot *s);

/* Read a snapshot from `text`, named `file` in positions (it must outlive
 * err). Anything truncated, edited by hand, foreign or of another format
 * version is refused at its line:col (VF_E_FORMAT), and *out is then
 * untouched. */
int vf_snapshot_from_text(const char *text, const char *file, vf_snapshot *out, vf_error *err);
int vf_snapshot_read(const char *path, vf_snapshot *out, vf_error *err);

/* One observed object's record as the snapshot writes it, without the
 * figures no plan reads (a pool's capacity and free space, a volume's
 * allocation), for saved plans' fingerprints. NULL when `name` is not
 * observed. */
json_object *vf_snapshot_object_json(const vf_observed *o, vf_kind kind, const char *pool,
				     const char *name);

/* The host and state directory members, shared with saved plans. */
json_object *vf_snapshot_host_json(const vf_host_id *host);
json_object *vf_snapshot_statedir_json(const vf_statedir_id *id);
void vf_snapshot_host_read(vf_jr *jr, json_object *h, const char *path, vf_host_id *out);
void vf_snapshot_statedir_read(vf_jr *jr, json_object *sd, const char *path, vf_statedir_id *out);

/* The snapshot backend: a connection over a loaded snapshot (borrowed; it
 * must outlive the connection). observe() hands out a fresh copy of the
 * observed state, host_identity() the recorded host, files_local() false
 * (leases come from the snapshot; no file is probed or locked). Every
 * member that would change the host fails with VF_E_DRIVER. */
int vf_snapshot_conn(const vf_snapshot *s, vf_conn **out);
extern const vf_backend vf_snapshot_backend;
