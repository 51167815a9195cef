/* decode_kind.h: a kind, as the loader sees it. One table per kind,
 * defined in that kind's decoder (decode_pool.c, decode_volume.c,
 * decode_domain.c); the envelope decoder (decode.c) finds the table of a
 * document's `kind` in vf_dec_kinds and lets it decode the spec and set
 * the object's identity. Like the driver tables (drivers/driver.h):
 * `name` first, each member marked required or optional. Internal to
 * controller/load/. */
#pragma once

#include "controller/load/decode_value.h"

typedef struct vf_dec_kind {
	/* required: the manifest's `kind`, as vf_kind_to_string spells it */
	const char *name;
	/* required */
	vf_kind kind;
	/* required: decode `spec` (a mapping) into o->u; problems go to d.
	 * o->name is metadata.name, or NULL. */
	void (*spec)(vf_dec *d, const vf_ynode *spec, vf_object *o);
	/* required: after a clean decode, set o->uuid, the effective identity
	 * (a UUID the spec gives, else one derived from kind and name), and
	 * whatever else follows from it (a Domain's cloud-init seed). */
	void (*identity)(vf_object *o);
} vf_dec_kind;

extern const vf_dec_kind vf_dec_kind_pool;   /* decode_pool.c */
extern const vf_dec_kind vf_dec_kind_volume; /* decode_volume.c */
extern const vf_dec_kind vf_dec_kind_domain; /* decode_domain.c */
extern const vf_dec_kind vf_dec_kind_network; /* decode_network.c */

/* decode_container.c: spec.init, spec.filesystems and spec.idmap, and the
 * refusal of VM-only fields on containers (and the reverse); after
 * spec.type is decoded. */
void vf_dec__container(vf_dec *d, const vf_ynode *spec, vf_domain_spec *ds);

/* decode_placement.c: spec.placement, and the refusals of autostart,
 * spec.xml and containers on a placed domain. */
void vf_dec__placement(vf_dec *d, const vf_ynode *spec, vf_domain_spec *ds);
