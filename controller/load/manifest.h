/* manifest.h: loading manifest directories into the desired model, strictly:
 * every problem in every file is reported at its file:line:col. Also the
 * value parsers the loader uses (sizes, names, UUIDs...), for tests and tools.
 * Not for planning or for printing; callers print the diags. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "controller/core/error.h"
#include "controller/core/model.h"

#define VF_MANIFEST_API_VERSION "virtform/v1"
#define VF_MANIFEST_MAX_FILE (4u * 1024 * 1024)  /* bytes per manifest file */

/* Load every manifest under each path (a directory, recursively, or a single
 * file). Fills *out with every object (positions into out->files) and appends
 * every problem found to *diags (all of them, sorted by file/line/col).
 * Returns 0 when there were no problems, else the negative vf_code of the
 * first. On failure *out keeps no objects but still owns the file names the
 * diags point to: free it with vf_desired_free() after using the diags. */
int vf_manifest_load(const char *const *paths, size_t n_paths, vf_desired *out, vf_diags *diags);

/* ---- value parsers: 0 or -VF_E_SCHEMA with one whole message in *err ----- */

/* "1073741824", "512MiB", "20GiB", "1.5TB" (a whole number of bytes). */
int vf_size_parse(const char *s, uint64_t *ret, vf_error *err);

/* A name safe for libvirt and the filesystem: non-empty, at most
 * VF_NAME_MAX bytes, no '/', no leading '.', no control characters or NUL.
 * `len` is the byte length (a YAML string may hold NULs); `what` names the
 * field in the message ("metadata.name"). */
int vf_name_check(const char *s, size_t len, const char *what, vf_error *err);

/* Canonical 8-4-4-4-12 hex UUID, either case. */
int vf_uuid_parse_strict(const char *s, uuid_t ret, vf_error *err);

/* Unicast MAC "52:54:00:12:34:56"; *ret is the lower-case form (caller frees). */
int vf_mac_parse(const char *s, char **ret, vf_error *err);

/* Octal file mode "0755" or "755", at most 07777. */
int vf_mode_parse(const char *s, int32_t *ret, vf_error *err);

/* Seconds: "90", "90s", "2m", "1h". */
int vf_duration_parse(const char *s, uint32_t *ret, vf_error *err);
