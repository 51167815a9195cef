/* decode.h: internal to the manifest loader: turning one parsed YAML document
 * into a vf_object, and the message helpers the loader's files share.
 * Not for callers outside the loader; they use manifest.h. */
#pragma once

#include "controller/load/manifest.h"
#include "controller/load/yaml.h"

/* `s` quoted for a message: "..." with control characters, quotes and
 * backslashes escaped, cut at 64 bytes with "..." after. Caller frees. */
char *vf_decode_quote(const char *s, size_t len);

/* Decode document `doc` of `file`. A well-formed object is appended to
 * out->objs; every problem goes to *diags. Returns 0 or the -code of the first
 * problem (the object is then dropped). Empty documents return 0 and add nothing. */
int vf_decode_document(const vf_ydoc *doc, const char *file, vf_desired *out, vf_diags *diags);
