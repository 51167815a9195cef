/* decode_pool.c: decodes a StoragePool's spec, strictly: each pool type
 * takes only the fields libvirt's backend for it uses. Not for the
 * document envelope (decode.c) or the pool's XML
 * (drivers/libvirt/pool.c). */
#include "controller/load/decode_kind.h"

#include <libxml/parser.h>
#include <libxml/tree.h>

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


/* ---- spec.xml ------------------------------------------------------------ */


/* A raw-XML pool yields the fields the planner's pool rules read (type,
 * target.path, source), so target clashes, the directory's contents and
 * the deletion checks hold for it as for a structured pool. A type those
 * rules cannot reason about (rbd, gluster, zfs, ...: no local target to
 * check) is refused. vf_dec__raw_xml checked the document already. */
static void vf_dec__pool_xml_fields(vf_dec *d, const vf_ynode *n, vf_pool_spec *p)
{
	xmlDocPtr doc = xmlReadMemory(p->xml, (int)strlen(p->xml), "spec.xml", NULL,
				      XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	xmlNodePtr root = doc ? xmlDocGetRootElement(doc) : NULL;
	if (!root) {
		xmlFreeDoc(doc);
		return;
	}
	xmlChar *type = xmlGetProp(root, (const xmlChar *)"type");
	int t = type ? vf_pool_type_from_string((const char *)type) : -1;
	if (!type) {
		vf_dec__fail(d, VF_E_SCHEMA, n->pos,
			     "invalid spec.xml: <pool> has no type attribute (use dir, fs, netfs, logical, disk or iscsi)");
	} else if (t <= 0) {
		_cleanup_free_ char *q = vf_decode_quote((const char *)type, strlen((const char *)type));
		vf_dec__fail(d, VF_E_SCHEMA, n->pos,
			     "invalid spec.xml: pool type %s is not one virtform can protect (use dir, fs, netfs, logical, disk or iscsi): its rules on target paths and on what a pool holds would not apply",
			     q);
	} else {
		p->type = (vf_pool_type)t;
	}
	xmlFree(type);
	xmlNodePtr src = vf_dec__xml_child(root, "source");
	p->target_path = vf_dec__xml_get(vf_dec__xml_child(root, "target"), "path", NULL);
	p->target_pos = n->pos;
	p->source.pos = n->pos;
	p->source.device = vf_dec__xml_get(src, "device", "path");
	p->source.host = vf_dec__xml_get(src, "host", "name");
	p->source.dir = vf_dec__xml_get(src, "dir", "path");
	p->source.name = vf_dec__xml_get(src, "name", NULL);
	p->source.format = vf_dec__xml_get(src, "format", "type");
	if (p->type == VF_POOL_ISCSI && !p->source.name)
		p->source.name = TAKE_PTR(p->source.device); /* the target IQN, as the model keeps it */
	bool need_target = p->type == VF_POOL_DIR || p->type == VF_POOL_FS || p->type == VF_POOL_NETFS;
	if (p->target_path && p->target_path[0] != '/')
		vf_dec__fail(d, VF_E_SCHEMA, n->pos, "invalid spec.xml: <target><path> \"%s\" must be absolute",
			     p->target_path);
	else if (need_target && !p->target_path)
		vf_dec__fail(d, VF_E_SCHEMA, n->pos, "invalid spec.xml: %s pool needs <target><path>",
			     vf_dec__pool_types[p->type].a);
	xmlFreeDoc(doc);
}

/* spec.xml instead of the structured fields: each of those is refused at
 * its key; identity, state and policies stay YAML's. */
static void vf_dec__pool_raw(vf_dec *d, const vf_ynode *spec, const vf_ynode *v, const char *name,
			     vf_pool_spec *p)
{
	static const char *const structured[] = { "type", "target", "source", "permissions", NULL };
	const vf_ynode *w;
	for (size_t i = 0; structured[i]; i++)
		if ((w = vf_ynode_key(spec, structured[i])))
			vf_dec__fail(d, VF_E_SCHEMA, w->pos,
				     "spec.%s cannot be combined with spec.xml; the XML describes the whole pool",
				     structured[i]);
	size_t before = d->diags ? d->diags->n : 0;
	vf_dec__raw_xml(d, v, "pool", name, &p->xml, p->xml_hash, &p->xml_pos, &p->has_uuid, p->uuid,
			&p->uuid_pos);
	if (p->xml && (!d->diags || d->diags->n == before))
		vf_dec__pool_xml_fields(d, v, p);
}

/* The fields a pool takes with or without spec.xml. */
static void vf_dec__pool_common(vf_dec *d, const vf_ynode *spec, vf_pool_spec *p)
{
	const vf_ynode *v;
	if ((v = vf_ynode_get(spec, "state")))
		VF_DEC_ENUM(d, v, "spec.state", vf_pool_state, VF_POOL_STATE_MAX, &p->state);
	if ((v = vf_ynode_get(spec, "autostart")))
		vf_dec__tri(d, v, "spec.autostart", &p->autostart);
	if ((v = vf_ynode_get(spec, "adopt")))
		vf_dec__bool(d, v, "spec.adopt", &p->adopt);
	if ((v = vf_ynode_get(spec, "deletionPolicy")))
		VF_DEC_ENUM(d, v, "spec.deletionPolicy", vf_deletion_policy, VF_DELETION_MAX, &p->deletion);
	/* the user's word that every host of the fleet sees this storage
	 * (docs/fleet.md); placed domains' disks must live in such pools */
	if ((v = vf_ynode_get(spec, "shared")) && vf_dec__bool(d, v, "spec.shared", &p->shared))
		p->shared_pos = v->pos;
}

static void vf_dec__pool(vf_dec *d, const vf_ynode *spec, const char *name, vf_pool_spec *p)
{
	static const char *const fields[] = { "uuid", "type", "target", "source", "state", "autostart",
					      "permissions", "adopt", "deletionPolicy", "xml", "shared", NULL };
	static const char *const target_fields[] = { "path", NULL };
	static const char *const source_fields[] = { "device", "host", "dir", "name", "format", NULL };
	vf_dec__fields(d, spec, fields, "StoragePool spec");
	p->perms = (vf_perms){ .owner = -1, .group = -1, .mode = -1 };
	const vf_ynode *v, *target = NULL, *source = NULL;
	if ((v = vf_ynode_get(spec, "uuid")))
		vf_dec__uuid(d, v, "spec.uuid", &p->has_uuid, p->uuid, &p->uuid_pos);
	if ((v = vf_ynode_get(spec, "xml"))) {
		vf_dec__pool_raw(d, spec, v, name, p);
		vf_dec__pool_common(d, spec, p);
		return;
	}
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
	if ((v = vf_ynode_get(spec, "permissions")) &&
	    vf_dec__pool_uses(d, p->type, VF_POOL_USES_PERMS, spec, "permissions", "spec.permissions",
			      "libvirt sets owner, group and mode only on the directory of a dir, fs or netfs pool"))
		vf_dec__perms(d, v, &p->perms);
	vf_dec__pool_common(d, spec, p);

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

static void vf_dec__pool_spec(vf_dec *d, const vf_ynode *spec, vf_object *o)
{
	vf_dec__pool(d, spec, o->name, &o->u.pool);
}

/* spec.uuid, else derived from the name; the spec keeps the effective one. */
static void vf_dec__pool_identity(vf_object *o)
{
	vf_dec__spec_uuid(o, o->u.pool.has_uuid, o->u.pool.uuid);
}

const vf_dec_kind vf_dec_kind_pool = {
	.name = "StoragePool",
	.kind = VF_KIND_POOL,
	.spec = vf_dec__pool_spec,
	.identity = vf_dec__pool_identity,
};
