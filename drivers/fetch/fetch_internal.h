/* fetch_internal.h: what the fetch driver's files share: streaming
 * decompression (decompress.c) and checksums (hash.c). Not for callers
 * outside drivers/fetch/: they see vf_fetch_driver in drivers/driver.h. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <gnutls/crypto.h>

#include "../driver.h"

/* ---- decompress.c -------------------------------------------------------- */

typedef enum vf_codec {
	VF_CODEC_NONE,            /* served as is */
	VF_CODEC_GZ,              /* ".gz" */
	VF_CODEC_XZ,              /* ".xz" */
	VF_CODEC_ZSTD,            /* ".zst" */
	VF_CODEC_MAX,
} vf_codec;

/* The codec a URL's path suffix names (the query string is ignored). */
vf_codec vf_codec_for_url(const char *url);
const char *vf_codec_name(vf_codec c);

/* Where decompressed bytes go; returns 0 or a negative vf_code. */
typedef int (*vf_sink_fn)(const void *data, size_t len, void *userdata, vf_error *err);

typedef struct vf_unpacker vf_unpacker;
vf_unpacker *vf_unpacker_new(vf_codec c, vf_sink_fn sink, void *userdata);
/* Feed compressed bytes; output goes to the sink as it is produced. */
int vf_unpacker_feed(vf_unpacker *u, const void *data, size_t len, vf_error *err);
/* The input ended: fails when the compressed stream is incomplete. */
int vf_unpacker_finish(vf_unpacker *u, vf_error *err);
void vf_unpacker_free(vf_unpacker *u);

/* ---- hash.c --------------------------------------------------------------- */

/* gnutls's algorithm for a checksum algorithm (SHA-256 for NONE). */
gnutls_digest_algorithm_t vf_hash_algo(vf_checksum_algo a);
/* Finish `h` into lower-case hex; caller frees. Deinits h. */
char *vf_hash_hex(gnutls_hash_hd_t h, gnutls_digest_algorithm_t algo);
