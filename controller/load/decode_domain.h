/* decode_domain.h: a Domain's spec from YAML (decode_domain.c). Internal
 * to controller/load/: the loader uses decode.h, everyone else manifest.h. */
#pragma once

#include "controller/load/decode_value.h"

/* A Domain's spec (decode_domain.c); `name` is metadata.name, or NULL. */
void vf_dec__domain(vf_dec *d, const vf_ynode *spec, const char *name, vf_domain_spec *ds);
