/* seed.h: the cloud-init NoCloud seed as an ISO 9660 image (Rock Ridge and
 * Joliet, volume id "cidata"), written with libisofs, the library behind
 * xorriso. Not for deciding the files' content (controller/load/cloudinit.c) or
 * for storing the image in a pool (the storage driver's volume_upload). */
#pragma once

#include "controller/core/error.h"

#define VF_SEED_VOLUME_ID "cidata"

/* Write the seed to `path` (created or truncated, mode 0600): files
 * user-data and meta-data, and network-config when network_config is not
 * NULL, each 0444 and owned by root. Every text is written byte for byte. */
int vf_seed_iso_write(const char *path, const char *user_data, const char *meta_data,
		      const char *network_config, vf_error *err);
