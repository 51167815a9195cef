/* decode.c: turns one parsed YAML document into a vf_object, strictly: every
 * unknown field, wrong type, bad value and missing field is reported at its
 * node, and decoding carries on so one run shows every problem. Holds the
 * envelope, metadata, StoragePool and Volume; Domain is decode_domain.c.
 * Not for reading files or finding duplicates across documents (manifest.c). */
#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>

#include "controller/load/cloudinit.h"
#include "controller/load/decode_domain.h"

/* ---- blocks more than one kind uses ------------------------------------- */

static void vf_dec__kvs(vf_dec *d, const vf_ynode *n, const char *path, vf_kv **kv, size_t *n_kv)
{
	if (!vf_dec__map(d, n, path))
		return;
	size_t cap = 0;
	for (size_t i = 0; i < n->n_pairs; i++) {
		_cleanup_free_ char *kpath = vf_asprintf("keys in %s", path);
		char *key = NULL, *value = NULL;
		if (!vf_dec__str(d, n->pairs[i].key, kpath, &key))
			continue;
		_cleanup_free_ char *vpath = vf_asprintf("%s.%s", path, key);
		if (!vf_dec__str(d, n->pairs[i].value, vpath, &value)) {
			free(key);
			continue;
		}
		vf_kv e = { .key = key, .value = value };
		VF_APPEND(*kv, *n_kv, cap, e);
	}
}

static void vf_dec__id(vf_dec *d, const vf_ynode *n, const char *path, int64_t *out, bool user)
{
	const char *s;
	if (!vf_dec__text(d, n, path, &s))
		return;
	if (*s && strspn(s, "0123456789") == strlen(s)) {
		errno = 0;
		unsigned long long v = strtoull(s, NULL, 10);
		if (errno || v >= UINT32_MAX) {
			vf_dec__fail(d, VF_E_SCHEMA, n->pos, "invalid %s %s: too large for a %s id", path, s,
				     user ? "user" : "group");
			return;
		}
		*out = (int64_t)v;
		return;
	}
	_cleanup_free_ char *q = vf_decode_quote(n->value, n->len);
	if (user) {
		struct passwd pw, *res = NULL;
		char buf[4096];
		if (getpwnam_r(s, &pw, buf, sizeof(buf), &res) == 0 && res) {
			*out = (int64_t)res->pw_uid;
			return;
		}
	} else {
		struct group gr, *res = NULL;
		char buf[8192];
		if (getgrnam_r(s, &gr, buf, sizeof(buf), &res) == 0 && res) {
			*out = (int64_t)res->gr_gid;
			return;
		}
	}
	vf_dec__fail(d, VF_E_SCHEMA, n->pos, "invalid %s %s: no such %s on this host", path, q,
		     user ? "user" : "group");
}

static void vf_dec__perms(vf_dec *d, const vf_ynode *n, vf_perms *p)
{
	static const char *const fields[] = { "owner", "group", "mode", NULL };
	if (!vf_dec__map(d, n, "spec.permissions"))
		return;
	_cleanup_free_ char *where = vf_asprintf("%s spec.permissions", d->kind);
	vf_dec__fields(d, n, fields, where);
	p->pos = n->pos;
	const vf_ynode *v;
	if ((v = vf_ynode_get(n, "owner")))
		vf_dec__id(d, v, "spec.permissions.owner", &p->owner, true);
	if ((v = vf_ynode_get(n, "group")))
		vf_dec__id(d, v, "spec.permissions.group", &p->group, false);
	const char *s;
	if ((v = vf_ynode_get(n, "mode")) && vf_dec__text(d, v, "spec.permissions.mode", &s)) {
		vf_error err = { 0 };
		if (vf_mode_parse(s, &p->mode, &err) < 0)
			vf_dec__fail_err(d, v->pos, &err);
	}
}

/* ---- StoragePool -------------------------------------------------------- */

/* The optional parts of a pool spec, as bits of vf_dec__pool_types[].uses. */
enum {
	VF_POOL_USES_DEVICE = 1 << 0,   /* source.device */
	VF_POOL_USES_HOST = 1 << 1,     /* source.host */
	VF_POOL_USES_DIR = 1 << 2,      /* source.dir */
	VF_POOL_USES_NAME = 1 << 3,     /* source.name */
	VF_POOL_USES_FORMAT = 1 << 4,   /* source.format */
	VF_POOL_USES_TARGET = 1 << 5,   /* target (its path) */
	VF_POOL_USES_PERMS = 1 << 6,    /* permissions of the target directory */
};

/* What each pool type uses, after libvirt's storage backends
 * (https://libvirt.org/storage.html). libvirt ignores the rest (a logical
 * pool's target is always /dev/VG; only the dir, fs and netfs backends create
 * a directory to set permissions on; iscsi takes no format), so a field the
 * type does not use is refused rather than silently dropped. */
static const struct {
	const char *a;            /* the type with its article, "a dir", "an fs" */
	unsigned uses;            /* VF_POOL_USES_* */
	const char *source;       /* the source fields it takes, for messages */
} vf_dec__pool_types[VF_POOL_TYPE_MAX] = {
	[VF_POOL_DIR] = { "a dir", VF_POOL_USES_TARGET | VF_POOL_USES_PERMS,
			  "a dir pool takes no source, only target.path" },
	[VF_POOL_FS] = { "an fs",
			 VF_POOL_USES_DEVICE | VF_POOL_USES_FORMAT | VF_POOL_USES_TARGET | VF_POOL_USES_PERMS,
			 "fs pools take source.device and source.format" },
	[VF_POOL_NETFS] = { "a netfs",
			    VF_POOL_USES_HOST | VF_POOL_USES_DIR | VF_POOL_USES_FORMAT | VF_POOL_USES_TARGET |
				    VF_POOL_USES_PERMS,
			    "netfs pools take source.host, source.dir and source.format" },
	[VF_POOL_LOGICAL] = { "a logical", VF_POOL_USES_DEVICE | VF_POOL_USES_NAME | VF_POOL_USES_FORMAT,
			      "logical pools take source.device, source.name and source.format" },
	[VF_POOL_DISK] = { "a disk", VF_POOL_USES_DEVICE | VF_POOL_USES_FORMAT | VF_POOL_USES_TARGET,
			   "disk pools take source.device and source.format" },
	[VF_POOL_ISCSI] = { "an iscsi", VF_POOL_USES_HOST | VF_POOL_USES_NAME | VF_POOL_USES_TARGET,
			    "iscsi pools take source.host and source.name (the target's IQN)" },
};

/* Field `key` of `map` (`path` in messages) is present: true when pool type
 * `type` uses it (`bit`), or the type is unknown; else report it at its key,
 * saying `why`, and return false so its value is not read. */
static bool vf_dec__pool_uses(vf_dec *d, vf_pool_type type, unsigned bit, const vf_ynode *map,
			      const char *key, const char *path, const char *why)
{
	if (type == VF_POOL_TYPE_UNSET || (vf_dec__pool_types[type].uses & bit))
		return true;
	vf_dec__fail(d, VF_E_SCHEMA, vf_ynode_key(map, key)->pos, "%s does not apply to %s pool; %s", path,
		     vf_dec__pool_types[type].a, why);
	return false;
}

static void vf_dec__pool(vf_dec *d, const vf_ynode *spec, vf_pool_spec *p)
{
	static const char *const fields[] = { "uuid", "type", "target", "source", "state", "autostart",
					      "permissions", "adopt", "deletionPolicy", NULL };
	static const char *const target_fields[] = { "path", NULL };
	static const char *const source_fields[] = { "device", "host", "dir", "name", "format", NULL };
	vf_dec__fields(d, spec, fields, "StoragePool spec");
	p->perms = (vf_perms){ .owner = -1, .group = -1, .mode = -1 };
	const vf_ynode *v, *target = NULL, *source = NULL;
	if ((v = vf_ynode_get(spec, "uuid")))
		vf_dec__uuid(d, v, "spec.uuid", &p->has_uuid, p->uuid, &p->uuid_pos);
	if ((v = vf_ynode_get(spec, "type")))
		VF_DEC_ENUM(d, v, "spec.type", vf_pool_type, VF_POOL_TYPE_MAX, &p->type);
	else
		vf_dec__missing(d, spec, "type", "StoragePool spec", " (use dir, fs, netfs, logical, disk or iscsi)");
	if ((v = vf_ynode_get(spec, "target"))) {
		/* only logical pools have none; named at target.path when it is there */
		bool at_path = v->type == VF_YNODE_MAP && vf_ynode_key(v, "path");
		if (vf_dec__pool_uses(d, p->type, VF_POOL_USES_TARGET, at_path ? v : spec,
				      at_path ? "path" : "target", at_path ? "spec.target.path" : "spec.target",
				      "libvirt always uses /dev/VG, VG being source.name (default: the pool's name)") &&
		    vf_dec__map(d, v, "spec.target")) {
			target = v;
			vf_dec__fields(d, v, target_fields, "StoragePool spec.target");
			p->target_pos = v->pos;
			if ((v = vf_ynode_get(target, "path")))
				vf_dec__abspath(d, v, "spec.target.path", &p->target_path);
		}
	}
	if ((v = vf_ynode_get(spec, "source")) && vf_dec__map(d, v, "spec.source")) {
		source = v;
		vf_dec__fields(d, v, source_fields, "StoragePool spec.source");
		p->source.pos = v->pos;
		const char *why = vf_dec__pool_types[p->type].source;
		if ((v = vf_ynode_get(source, "device")) &&
		    vf_dec__pool_uses(d, p->type, VF_POOL_USES_DEVICE, source, "device", "spec.source.device", why))
			vf_dec__abspath(d, v, "spec.source.device", &p->source.device);
		if ((v = vf_ynode_get(source, "host")) &&
		    vf_dec__pool_uses(d, p->type, VF_POOL_USES_HOST, source, "host", "spec.source.host", why))
			vf_dec__str(d, v, "spec.source.host", &p->source.host);
		if ((v = vf_ynode_get(source, "dir")) &&
		    vf_dec__pool_uses(d, p->type, VF_POOL_USES_DIR, source, "dir", "spec.source.dir", why))
			vf_dec__str(d, v, "spec.source.dir", &p->source.dir);
		if ((v = vf_ynode_get(source, "name")) &&
		    vf_dec__pool_uses(d, p->type, VF_POOL_USES_NAME, source, "name", "spec.source.name", why))
			vf_dec__str(d, v, "spec.source.name", &p->source.name);
		if ((v = vf_ynode_get(source, "format")) &&
		    vf_dec__pool_uses(d, p->type, VF_POOL_USES_FORMAT, source, "format", "spec.source.format", why))
			vf_dec__str(d, v, "spec.source.format", &p->source.format);
	}
	if ((v = vf_ynode_get(spec, "state")))
		VF_DEC_ENUM(d, v, "spec.state", vf_pool_state, VF_POOL_STATE_MAX, &p->state);
	if ((v = vf_ynode_get(spec, "autostart")))
		vf_dec__tri(d, v, "spec.autostart", &p->autostart);
	if ((v = vf_ynode_get(spec, "permissions")) &&
	    vf_dec__pool_uses(d, p->type, VF_POOL_USES_PERMS, spec, "permissions", "spec.permissions",
			      "libvirt sets owner, group and mode only on the directory of a dir, fs or netfs pool"))
		vf_dec__perms(d, v, &p->perms);
	if ((v = vf_ynode_get(spec, "adopt")))
		vf_dec__bool(d, v, "spec.adopt", &p->adopt);
	if ((v = vf_ynode_get(spec, "deletionPolicy")))
		VF_DEC_ENUM(d, v, "spec.deletionPolicy", vf_deletion_policy, VF_DELETION_MAX, &p->deletion);

	/* libvirt requires a target path but the usual one goes without saying:
	 * where the device nodes are */
	if (!p->target_path && p->type == VF_POOL_DISK)
		p->target_path = vf_strdup("/dev");
	else if (!p->target_path && p->type == VF_POOL_ISCSI)
		p->target_path = vf_strdup("/dev/disk/by-path");

	/* what each type needs; only checked where the fields themselves parsed */
	const char *type = vf_pool_type_to_string(p->type);
	bool need_target = p->type == VF_POOL_DIR || p->type == VF_POOL_FS || p->type == VF_POOL_NETFS;
	if (need_target && !vf_ynode_get(spec, "target")) {
		_cleanup_free_ char *why = vf_asprintf(" (%s pools need target.path)", type);
		vf_dec__missing(d, spec, "target", "StoragePool spec", why);
	} else if (need_target && target && !vf_ynode_get(target, "path")) {
		_cleanup_free_ char *why = vf_asprintf(" (%s pools need target.path)", type);
		vf_dec__missing(d, target, "path", "StoragePool spec.target", why);
	}
	const char *needs[2] = { NULL, NULL };
	const char *why = NULL;
	switch (p->type) {
	case VF_POOL_FS:
	case VF_POOL_DISK:
		needs[0] = "device";
		why = p->type == VF_POOL_FS ? " (fs pools need source.device)" : " (disk pools need source.device)";
		break;
	case VF_POOL_NETFS:
		needs[0] = "host";
		needs[1] = "dir";
		why = " (netfs pools need source.host and source.dir)";
		break;
	case VF_POOL_ISCSI:
		needs[0] = "host";
		needs[1] = "name";
		why = " (iscsi pools need source.host and source.name)";
		break;
	case VF_POOL_LOGICAL:
		if (source && (vf_ynode_get(source, "device") || vf_ynode_get(source, "name")))
			break;
		if (!vf_ynode_get(spec, "source"))
			vf_dec__missing(d, spec, "source", "StoragePool spec",
					" (logical pools need source.device or source.name)");
		else if (source)
			vf_dec__missing(d, source, "device", "StoragePool spec.source",
					" (logical pools need source.device or source.name)");
		break;
	default:
		break;
	}
	if (needs[0] && !vf_ynode_get(spec, "source")) {
		vf_dec__missing(d, spec, "source", "StoragePool spec", why);
	} else if (needs[0] && source) {
		for (size_t i = 0; i < 2; i++)
			if (needs[i] && !vf_ynode_get(source, needs[i]))
				vf_dec__missing(d, source, needs[i], "StoragePool spec.source", why);
	}
}

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

/* ---- documents ---------------------------------------------------------- */

static void vf_dec__metadata(vf_dec *d, const vf_ynode *md, vf_object *o)
{
	static const char *const fields[] = { "name", "labels", "annotations", NULL };
	if (!vf_dec__map(d, md, "metadata"))
		return;
	vf_dec__fields(d, md, fields, "metadata");
	const vf_ynode *v;
	if ((v = vf_ynode_get(md, "name"))) {
		o->name_pos = v->pos;
		vf_dec__name(d, v, "metadata.name", &o->name);
	} else {
		vf_dec__missing(d, md, "name", "metadata", NULL);
	}
	if ((v = vf_ynode_get(md, "labels")))
		vf_dec__kvs(d, v, "metadata.labels", &o->labels, &o->n_labels);
	if ((v = vf_ynode_get(md, "annotations")))
		vf_dec__kvs(d, v, "metadata.annotations", &o->annotations, &o->n_annotations);
}

int vf_decode_document(const vf_ydoc *doc, const char *file, vf_desired *out, vf_diags *diags)
{
	static const char *const fields[] = { "apiVersion", "kind", "metadata", "spec", NULL };
	const vf_ynode *root = doc->root;
	if (!root || vf_ynode_is_null(root))
		return 0;   /* an empty document, such as a trailing `---` */
	vf_dec d = { .file = file, .diags = diags };
	if (root->type != VF_YNODE_MAP) {
		vf_dec__fail(&d, VF_E_SCHEMA, root->pos,
			     "a manifest must be a mapping with apiVersion, kind, metadata and spec, not %s",
			     vf_dec__type_of(root));
		return d.rc;
	}
	vf_dec__fields(&d, root, fields, "the manifest");
	const vf_ynode *v;
	char *s = NULL;
	if ((v = vf_ynode_get(root, "apiVersion"))) {
		if (vf_dec__str(&d, v, "apiVersion", &s) && strcmp(s, VF_MANIFEST_API_VERSION) != 0) {
			_cleanup_free_ char *q = vf_decode_quote(s, strlen(s));
			vf_dec__fail(&d, VF_E_SCHEMA, v->pos, "unsupported apiVersion %s (use " VF_MANIFEST_API_VERSION ")", q);
		}
		free(s);
	} else {
		vf_dec__missing(&d, root, "apiVersion", "the manifest", " (use " VF_MANIFEST_API_VERSION ")");
	}
	vf_object o = { .kind = VF_KIND_MAX, .pos = doc->pos };
	if ((v = vf_ynode_get(root, "kind"))) {
		if (vf_dec__str(&d, v, "kind", &s)) {
			int k = vf_kind_from_string(s);
			if (k < 0) {
				static const char *const kinds[] = { "StoragePool", "Volume", "Domain" };
				_cleanup_free_ char *q = vf_decode_quote(s, strlen(s));
				const char *hint = vf_dec__suggest(s, kinds, VF_ARRAY_SIZE(kinds));
				if (hint)
					vf_dec__fail(&d, VF_E_SCHEMA, v->pos,
						     "unknown kind %s; did you mean \"%s\"? (known kinds: StoragePool, Volume, Domain)",
						     q, hint);
				else
					vf_dec__fail(&d, VF_E_SCHEMA, v->pos,
						     "unknown kind %s (known kinds: StoragePool, Volume, Domain)", q);
			} else {
				o.kind = (vf_kind)k;
			}
			free(s);
		}
	} else {
		vf_dec__missing(&d, root, "kind", "the manifest", " (use StoragePool, Volume or Domain)");
	}
	if ((v = vf_ynode_get(root, "metadata")))
		vf_dec__metadata(&d, v, &o);
	else
		vf_dec__missing(&d, root, "metadata", "the manifest", " (metadata.name names the object)");
	d.kind = vf_kind_to_string(o.kind);
	const vf_ynode *spec = vf_ynode_get(root, "spec");
	if (!spec)
		vf_dec__missing(&d, root, "spec", "the manifest", NULL);
	else if (o.kind != VF_KIND_MAX && vf_dec__map(&d, spec, "spec")) {
		switch (o.kind) {
		case VF_KIND_POOL:
			vf_dec__pool(&d, spec, &o.u.pool);
			break;
		case VF_KIND_VOLUME:
			vf_dec__volume(&d, spec, &o.u.volume);
			break;
		case VF_KIND_DOMAIN:
			vf_dec__domain(&d, spec, o.name, &o.u.domain);
			break;
		case VF_KIND_MAX:
			break;
		}
	}
	if (d.rc < 0 || o.kind == VF_KIND_MAX) {
		if (o.kind == VF_KIND_MAX)
			o.kind = VF_KIND_POOL;   /* nothing kind-specific was filled in */
		vf_object_clear(&o);
		return d.rc;
	}
	/* the effective identity: spec.uuid, else derived from kind and name */
	if (o.kind == VF_KIND_POOL && o.u.pool.has_uuid)
		uuid_copy(o.uuid, o.u.pool.uuid);
	else if (o.kind == VF_KIND_DOMAIN && o.u.domain.has_uuid)
		uuid_copy(o.uuid, o.u.domain.uuid);
	else
		vf_uuid_derive(o.kind, o.kind == VF_KIND_VOLUME ? o.u.volume.pool : NULL, o.name, o.uuid);
	if (o.kind == VF_KIND_POOL && !o.u.pool.has_uuid)
		uuid_copy(o.u.pool.uuid, o.uuid);
	if (o.kind == VF_KIND_DOMAIN && !o.u.domain.has_uuid)
		uuid_copy(o.u.domain.uuid, o.uuid);
	if (o.kind == VF_KIND_DOMAIN)
		vf_cloudinit_finish(o.name, o.uuid, &o.u.domain);
	VF_APPEND(out->objs, out->n, out->cap, o);
	return 0;
}
