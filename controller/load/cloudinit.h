/* cloudinit.h: the content of a Domain's cloud-init NoCloud seed, built from
 * spec.cloudInit: inline YAML emitted back to text with libyaml, the default
 * meta-data, the content hash the planner compares, the seed volume's name.
 * Not for writing the ISO (drivers/seed/) or for decoding the manifest
 * (decode_domain.c calls these). Pure, except vf_cloudinit_read_file, the loader's
 * one read of a {file: PATH} part. docs/cloud-init.md. */
#pragma once

#include <uuid/uuid.h>

#include "controller/core/error.h"
#include "controller/core/model.h"
#include "controller/load/yaml.h"

#define VF_CLOUDINIT_MAX_FILE (4u << 20)  /* bytes in one {file: PATH} part */
#define VF_CLOUDINIT_HEADER "#cloud-config\n"
#define VF_CLOUDINIT_SEED_SUFFIX "-cidata.iso"

/* YAML text of node `n` (a mapping, list or scalar; aliases expanded),
 * emitted block-style by libyaml's emitter, after `header` (may be NULL).
 * Quoted scalars stay quoted so a quoted "true" is still a string. */
int vf_cloudinit_emit(const vf_ynode *n, const char *header, char **out, vf_error *err);

/* Read `path` (relative paths are relative to the folder of `manifest`,
 * the file that names it): at most VF_CLOUDINIT_MAX_FILE bytes, no NUL
 * bytes. *out is set only on success; err has no position (the caller
 * places it at the node). */
int vf_cloudinit_read_file(const char *manifest, const char *path, char **out, vf_error *err);

/* "instance-id: <uuid>\nlocal-hostname: <name>\n". Caller frees. */
char *vf_cloudinit_default_meta(const uuid_t uuid, const char *name);

/* Lower-case hex SHA-256 over the three texts, each framed by its name and
 * length, so moving bytes between files, or an absent network-config
 * versus an empty one, changes it. */
void vf_cloudinit_hash(const char *user_data, const char *meta_data, const char *network_config,
		       char out[65]);

/* "<domain>-cidata.iso". Caller frees. */
char *vf_cloudinit_seed_name(const char *domain);

/* After a Domain is decoded and its UUID known: default user-data and
 * meta-data, the seed's pool (the first volume disk's) and name, the hash.
 * No-op when spec.cloudInit is absent. */
void vf_cloudinit_finish(const char *name, const uuid_t uuid, vf_domain_spec *ds);
