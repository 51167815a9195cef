/* decode_volume.c: decodes a Volume's spec, strictly: capacity, format,
 * a backing volume or a source (a URL with its checksum, or another
 * volume), permissions. Not for the document envelope (decode.c). */
#include "controller/load/decode_kind.h"

#include <ctype.h>

/* ---- Volume ------------------------------------------------------------- */

/* spec.source.sha256 / sha512: hex of the right length, kept lower-case. */
static void vf_dec__checksum(vf_dec *d, const vf_ynode *n, const char *path, size_t hexlen,
			     char **out)
{
	const char *s;
	if (!vf_dec__text(d, n, path, &s))
		return;
	size_t len = strlen(s);
	if (strspn(s, "0123456789abcdefABCDEF") != len) {
		vf_dec__fail(d, VF_E_SCHEMA, n->pos,
			     "invalid %s: not hexadecimal (expected %zu hex digits)", path, hexlen);
		return;
	}
	if (len != hexlen) {
		vf_dec__fail(d, VF_E_SCHEMA, n->pos,
			     "invalid %s: %zu hex digits, expected %zu", path, len, hexlen);
		return;
	}
	char *h = vf_strdup(s);
	for (char *c = h; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	*out = h;
}

/* spec.source: exactly one of url (with a checksum, or insecureSkipVerify
 * written out) and volume. */
static void vf_dec__vol_source(vf_dec *d, const vf_ynode *n, vf_volume_source *src)
{
	static const char *const fields[] = { "url", "sha256", "sha512", "insecureSkipVerify",
					      "caFile", "volume", NULL };
	if (!vf_dec__map(d, n, "spec.source"))
		return;
	vf_dec__fields(d, n, fields, "Volume spec.source");
	src->pos = n->pos;
	const vf_ynode *url = vf_ynode_get(n, "url"), *vol = vf_ynode_get(n, "volume");
	const vf_ynode *s256 = vf_ynode_get(n, "sha256"), *s512 = vf_ynode_get(n, "sha512");
	const vf_ynode *v;
	if (url && vol) {
		vf_dec__both(d, n, "spec.source", "url", "volume");
	} else if (!url && !vol) {
		vf_dec__fail(d, VF_E_SCHEMA, n->pos,
			     "spec.source needs exactly one of url (an image to download) or volume (a volume to clone)");
	}
	if (vol) {
		vf_dec__volref(d, vol, "spec.source.volume", &src->volume);
		src->has_volume = vol->type == VF_YNODE_MAP;
		static const char *const url_only[] = { "sha256", "sha512", "insecureSkipVerify",
							"caFile", NULL };
		for (size_t i = 0; !url && url_only[i]; i++)
			if ((v = vf_ynode_key(n, url_only[i])))
				vf_dec__fail(d, VF_E_SCHEMA, v->pos,
					     "spec.source.%s applies to url sources only, not to source.volume",
					     url_only[i]);
	}
	if (!url)
		return;
	if (vf_dec__str(d, url, "spec.source.url", &src->url)) {
		src->url_pos = url->pos;
		const char *u = src->url;
		bool https = strncasecmp(u, "https://", 8) == 0;
		bool http = strncasecmp(u, "http://", 7) == 0;
		bool file = strncasecmp(u, "file://", 7) == 0;
		_cleanup_free_ char *q = vf_decode_quote(u, strlen(u));
		if (!http && !https && !file)
			vf_dec__fail(d, VF_E_SCHEMA, url->pos,
				     "invalid spec.source.url %s: use an http://, https:// or file:// URL", q);
		else if (file && u[7] != '/')
			vf_dec__fail(d, VF_E_SCHEMA, url->pos,
				     "invalid spec.source.url %s: a file URL needs an absolute path (file:///path)", q);
		else if ((http || https) && (!u[https ? 8 : 7] || u[https ? 8 : 7] == '/'))
			vf_dec__fail(d, VF_E_SCHEMA, url->pos,
				     "invalid spec.source.url %s: no host name", q);
		else if (strpbrk(u, " \t\r\n"))
			vf_dec__fail(d, VF_E_SCHEMA, url->pos,
				     "invalid spec.source.url %s: spaces must be written %%20", q);
		if ((v = vf_ynode_get(n, "caFile"))) {
			if (!https)
				vf_dec__fail(d, VF_E_SCHEMA, vf_ynode_key(n, "caFile")->pos,
					     "spec.source.caFile applies to https URLs only");
			else
				vf_dec__abspath(d, v, "spec.source.caFile", &src->ca_file);
		}
	}
	if (s256 && s512) {
		vf_dec__fail(d, VF_E_SCHEMA, vf_ynode_key(n, "sha512")->pos,
			     "spec.source has both sha256 and sha512; give one");
	} else if (s256) {
		vf_dec__checksum(d, s256, "spec.source.sha256", 64, &src->checksum);
		src->algo = VF_CHECKSUM_SHA256;
		src->checksum_pos = s256->pos;
	} else if (s512) {
		vf_dec__checksum(d, s512, "spec.source.sha512", 128, &src->checksum);
		src->algo = VF_CHECKSUM_SHA512;
		src->checksum_pos = s512->pos;
	}
	if ((v = vf_ynode_get(n, "insecureSkipVerify")))
		vf_dec__bool(d, v, "spec.source.insecureSkipVerify", &src->insecure);
	if (src->insecure && (s256 || s512))
		vf_dec__fail(d, VF_E_SCHEMA, vf_ynode_key(n, "insecureSkipVerify")->pos,
			     "spec.source has a checksum and insecureSkipVerify: true; drop insecureSkipVerify to verify the download");
	else if (!src->insecure && !s256 && !s512)
		vf_dec__fail(d, VF_E_SCHEMA, n->pos,
			     "missing required field \"sha256\" or \"sha512\" in Volume spec.source: a download is verified against its checksum (or write insecureSkipVerify: true to skip that)");
}

static void vf_dec__volume(vf_dec *d, const vf_ynode *spec, vf_volume_spec *vs)
{
	static const char *const fields[] = { "pool", "capacity", "format", "backingVolume",
					      "permissions", "adopt", "deletionPolicy", "source", NULL };
	vf_dec__fields(d, spec, fields, "Volume spec");
	vs->perms = (vf_perms){ .owner = -1, .group = -1, .mode = -1 };
	const vf_ynode *v;
	if ((v = vf_ynode_get(spec, "pool"))) {
		vf_dec__name(d, v, "spec.pool", &vs->pool);
		vs->pool_pos = v->pos;
	} else {
		vf_dec__missing(d, spec, "pool", "Volume spec", NULL);
	}
	if ((v = vf_ynode_get(spec, "capacity"))) {
		vs->capacity_pos = v->pos;
		int before = d->rc;
		size_t n_before = d->diags->n;
		vf_dec__size(d, v, "spec.capacity", &vs->capacity);
		if (d->diags->n == n_before && vs->capacity == 0) {
			_cleanup_free_ char *q = vf_decode_quote(v->value, v->len);
			vf_dec__fail(d, VF_E_SCHEMA, v->pos, "invalid size %s: capacity must be greater than zero", q);
		}
		(void)before;
	} else {
		vf_dec__missing(d, spec, "capacity", "Volume spec", " (a size such as 20GiB)");
	}
	if ((v = vf_ynode_get(spec, "format")))
		VF_DEC_ENUM(d, v, "spec.format", vf_vol_format, VF_VOL_FORMAT_MAX, &vs->format);
	if ((v = vf_ynode_get(spec, "backingVolume"))) {
		vf_dec__volref(d, v, "spec.backingVolume", &vs->backing);
		vs->has_backing = v->type == VF_YNODE_MAP;
		if (vs->format == VF_VOL_RAW)
			vf_dec__fail(d, VF_E_SCHEMA, vf_ynode_key(spec, "backingVolume")->pos,
				     "spec.backingVolume needs format qcow2; a raw volume cannot have a backing volume");
	}
	if ((v = vf_ynode_get(spec, "permissions")))
		vf_dec__perms(d, v, &vs->perms);
	if ((v = vf_ynode_get(spec, "adopt")))
		vf_dec__bool(d, v, "spec.adopt", &vs->adopt);
	if ((v = vf_ynode_get(spec, "deletionPolicy")))
		VF_DEC_ENUM(d, v, "spec.deletionPolicy", vf_deletion_policy, VF_DELETION_MAX, &vs->deletion);
	if ((v = vf_ynode_get(spec, "source"))) {
		vf_dec__vol_source(d, v, &vs->source);
		vs->has_source = v->type == VF_YNODE_MAP;
		if (vf_ynode_get(spec, "backingVolume"))
			vf_dec__fail(d, VF_E_SCHEMA, vf_ynode_key(spec, "source")->pos,
				     "spec.source cannot be combined with spec.backingVolume; a volume gets its content from one or the other");
	}
}

static void vf_dec__volume_spec(vf_dec *d, const vf_ynode *spec, vf_object *o)
{
	vf_dec__volume(d, spec, &o->u.volume);
}

/* Derived from the pool and the name: libvirt gives a volume no UUID. */
static void vf_dec__volume_identity(vf_object *o)
{
	vf_uuid_derive(o->kind, o->u.volume.pool, o->name, o->uuid);
}

const vf_dec_kind vf_dec_kind_volume = {
	.name = "Volume",
	.kind = VF_KIND_VOLUME,
	.spec = vf_dec__volume_spec,
	.identity = vf_dec__volume_identity,
};
