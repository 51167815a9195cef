/* xml_build.c: pool, volume and domain XML built from virtform's specs with
 * libxml2's tree API (which escapes every name and value), and a user's raw
 * domain XML given virtform's UUID and ownership metadata.
 * Not for talking to libvirt: callers look up what the XML needs first. */
#include "lv.h"

static xmlDocPtr vf_lv__new_doc(const char *root_name, xmlNodePtr *root)
{
	xmlDocPtr doc = xmlNewDoc(VF_XC("1.0"));
	if (!doc)
		abort();
	*root = xmlNewNode(NULL, VF_XC(root_name));
	if (!*root)
		abort();
	xmlDocSetRootElement(doc, *root);
	return doc;
}

static char *vf_lv__dump_free(xmlDocPtr doc)
{
	/* libvirt wants the element alone, without an XML declaration */
	xmlBufferPtr buf = xmlBufferCreate();
	if (!buf)
		abort();
	xmlNodeDump(buf, doc, xmlDocGetRootElement(doc), 0, 1);
	char *s = vf_strndup((const char *)xmlBufferContent(buf), (size_t)xmlBufferLength(buf));
	xmlBufferFree(buf);
	xmlFreeDoc(doc);
	return s;
}

static void vf_lv__perms(xmlNodePtr target, const vf_perms *p)
{
	if (p->mode < 0 && p->owner < 0 && p->group < 0)
		return;
	xmlNodePtr perms = vf_lv__add(target, "permissions", NULL);
	if (p->mode >= 0) {
		char mode[16];
		snprintf(mode, sizeof(mode), "%04o", (unsigned)p->mode);
		vf_lv__add(perms, "mode", mode);
	}
	if (p->owner >= 0) {
		_cleanup_free_ char *s = vf_asprintf("%lld", (long long)p->owner);
		vf_lv__add(perms, "owner", s);
	}
	if (p->group >= 0) {
		_cleanup_free_ char *s = vf_asprintf("%lld", (long long)p->group);
		vf_lv__add(perms, "group", s);
	}
}

static void vf_lv__uuid(xmlNodePtr root, const uuid_t uuid)
{
	char s[UUID_STR_LEN];
	uuid_unparse_lower(uuid, s);
	vf_lv__add(root, "uuid", s);
}

/* ---- pools --------------------------------------------------------------- */

static void vf_lv__pool_source(xmlNodePtr root, const vf_pool_spec *s)
{
	const vf_pool_source *src = &s->source;
	if (!src->device && !src->host && !src->dir && !src->name && !src->format)
		return;
	xmlNodePtr n = vf_lv__add(root, "source", NULL);
	if (src->host)
		vf_lv__attr(vf_lv__add(n, "host", NULL), "name", src->host);
	if (src->dir)
		vf_lv__attr(vf_lv__add(n, "dir", NULL), "path", src->dir);
	if (s->type == VF_POOL_ISCSI) {
		/* the target IQN (source.name) is the source <device path> for
		 * iscsi pools; the loader refuses source.device for them */
		if (src->name)
			vf_lv__attr(vf_lv__add(n, "device", NULL), "path", src->name);
		return;
	}
	if (src->device)
		vf_lv__attr(vf_lv__add(n, "device", NULL), "path", src->device);
	if (src->name)
		vf_lv__add(n, "name", src->name);
	if (src->format)
		vf_lv__attr(vf_lv__add(n, "format", NULL), "type", src->format);
}

char *vf_lv__pool_xml(const vf_object *o)
{
	const vf_pool_spec *s = &o->u.pool;
	xmlNodePtr root;
	xmlDocPtr doc = vf_lv__new_doc("pool", &root);
	const char *type = vf_pool_type_to_string(s->type);
	vf_lv__attr(root, "type", type ? type : "dir");
	vf_lv__add(root, "name", o->name);
	vf_lv__uuid(root, o->uuid);
	vf_lv__pool_source(root, s);
	bool has_perms = s->perms.mode >= 0 || s->perms.owner >= 0 || s->perms.group >= 0;
	if (s->target_path || has_perms) {
		xmlNodePtr t = vf_lv__add(root, "target", NULL);
		if (s->target_path)
			vf_lv__add(t, "path", s->target_path);
		vf_lv__perms(t, &s->perms);
	}
	return vf_lv__dump_free(doc);
}

/* ---- volumes ------------------------------------------------------------- */

char *vf_lv__volume_xml(const vf_object *o, bool with_format, const char *backing_path,
			const char *backing_format)
{
	const vf_volume_spec *s = &o->u.volume;
	xmlNodePtr root;
	xmlDocPtr doc = vf_lv__new_doc("volume", &root);
	vf_lv__add(root, "name", o->name);
	_cleanup_free_ char *cap = vf_asprintf("%llu", (unsigned long long)s->capacity);
	vf_lv__attr(vf_lv__add(root, "capacity", cap), "unit", "bytes");
	vf_lv__attr(vf_lv__add(root, "allocation", "0"), "unit", "bytes");
	xmlNodePtr t = vf_lv__add(root, "target", NULL);
	if (with_format) {
		vf_vol_format f = s->format ? s->format : VF_VOL_QCOW2;
		vf_lv__attr(vf_lv__add(t, "format", NULL), "type", vf_vol_format_to_string(f));
	}
	vf_lv__perms(t, &s->perms);
	if (backing_path) {
		xmlNodePtr b = vf_lv__add(root, "backingStore", NULL);
		vf_lv__add(b, "path", backing_path);
		if (backing_format)
			vf_lv__attr(vf_lv__add(b, "format", NULL), "type", backing_format);
	}
	return vf_lv__dump_free(doc);
}

/* ---- domains ------------------------------------------------------------- */

static const char *vf_lv__bus_prefix(vf_disk_bus bus)
{
	switch (bus) {
	case VF_BUS_SATA:
	case VF_BUS_SCSI:
	case VF_BUS_USB:
		return "sd";
	case VF_BUS_IDE:
		return "hd";
	default:
		return "vd";
	}
}

/* libvirt's disk names: 0 -> a, 25 -> z, 26 -> aa, ... */
static char *vf_lv__disk_name(const char *prefix, size_t idx)
{
	char suffix[16];
	size_t n = 0;
	for (size_t i = idx + 1; i > 0 && n < sizeof(suffix) - 1; i = (i - 1) / 26)
		suffix[n++] = (char)('a' + (i - 1) % 26);
	char rev[16];
	for (size_t i = 0; i < n; i++)
		rev[i] = suffix[n - 1 - i];
	rev[n] = '\0';
	return vf_asprintf("%s%s", prefix, rev);
}

static bool vf_lv__target_taken(const vf_domain_spec *s, char **assigned, const char *name)
{
	for (size_t i = 0; i < s->n_disks; i++)
		if (vf_streq(s->disks[i].target, name) || vf_streq(assigned[i], name))
			return true;
	return false;
}

static void vf_lv__disk(xmlNodePtr devs, const vf_disk *d, const char *target,
			const vf_lv_disk_info *info)
{
	xmlNodePtr n = vf_lv__add(devs, "disk", NULL);
	const char *type = d->has_volume ? "volume" : info->block ? "block" : "file";
	vf_lv__attr(n, "type", type);
	vf_lv__attr(n, "device", d->device == VF_DISK_DEVICE_CDROM ? "cdrom" : "disk");
	xmlNodePtr drv = vf_lv__add(n, "driver", NULL);
	vf_lv__attr(drv, "name", "qemu");
	if (d->has_volume && info->format)
		vf_lv__attr(drv, "type", info->format);
	if (d->cache)
		vf_lv__attr(drv, "cache", vf_disk_cache_to_string(d->cache));
	xmlNodePtr src = vf_lv__add(n, "source", NULL);
	if (d->has_volume) {
		vf_lv__attr(src, "pool", d->volume.pool);
		vf_lv__attr(src, "volume", d->volume.name);
	} else {
		vf_lv__attr(src, info->block ? "dev" : "file", d->path);
	}
	xmlNodePtr t = vf_lv__add(n, "target", NULL);
	vf_lv__attr(t, "dev", target);
	vf_lv__attr(t, "bus", vf_disk_bus_to_string(d->bus ? d->bus : VF_BUS_VIRTIO));
	if (d->readonly)
		vf_lv__add(n, "readonly", NULL);
	if (d->shareable)
		vf_lv__add(n, "shareable", NULL);
}

/* The cloud-init seed (docs/cloud-init.md): a read-only SATA CD-ROM on the
 * seed volume, at the first sd* name no declared disk has. */
static void vf_lv__seed_cdrom(xmlNodePtr devs, const vf_domain_spec *s, char **assigned)
{
	const vf_cloudinit *ci = &s->cloudinit;
	if (!ci->present || !ci->seed_pool || !ci->seed_volume)
		return;
	char *target = NULL;
	for (size_t idx = 0; !target; idx++) {
		target = vf_lv__disk_name("sd", idx);
		if (vf_lv__target_taken(s, assigned, target)) {
			free(target);
			target = NULL;
		}
	}
	vf_disk seed = {
		.has_volume = true,
		.volume = { .pool = ci->seed_pool, .name = ci->seed_volume },
		.bus = VF_BUS_SATA,
		.device = VF_DISK_DEVICE_CDROM,
		.readonly = true,
	};
	char raw[] = "raw";
	vf_lv_disk_info info = { .format = raw };
	vf_lv__disk(devs, &seed, target, &info);
	free(target);
}

static void vf_lv__disks(xmlNodePtr devs, const vf_domain_spec *s, const vf_lv_disk_info *info)
{
	char **assigned = vf_calloc(s->n_disks + 1, sizeof(*assigned));
	for (size_t i = 0; i < s->n_disks; i++) {
		const vf_disk *d = &s->disks[i];
		if (d->target)
			continue;
		const char *prefix = vf_lv__bus_prefix(d->bus);
		for (size_t idx = 0;; idx++) {
			char *name = vf_lv__disk_name(prefix, idx);
			if (!vf_lv__target_taken(s, assigned, name)) {
				assigned[i] = name;
				break;
			}
			free(name);
		}
	}
	for (size_t i = 0; i < s->n_disks; i++) {
		const char *target = s->disks[i].target ? s->disks[i].target : assigned[i];
		vf_lv__disk(devs, &s->disks[i], target, &info[i]);
	}
	vf_lv__seed_cdrom(devs, s, assigned);
	for (size_t i = 0; i < s->n_disks; i++)
		free(assigned[i]);
	free(assigned);
}

static void vf_lv__iface(xmlNodePtr devs, const vf_iface *i)
{
	xmlNodePtr n = vf_lv__add(devs, "interface", NULL);
	if (i->bridge) {
		vf_lv__attr(n, "type", "bridge");
		vf_lv__attr(vf_lv__add(n, "source", NULL), "bridge", i->bridge);
	} else {
		vf_lv__attr(n, "type", "network");
		vf_lv__attr(vf_lv__add(n, "source", NULL), "network",
			    i->network ? i->network : "default");
	}
	if (i->mac)
		vf_lv__attr(vf_lv__add(n, "mac", NULL), "address", i->mac);
	vf_lv__attr(vf_lv__add(n, "model", NULL), "type", i->model ? i->model : "virtio");
}

static void vf_lv__graphics(xmlNodePtr devs, const vf_domain_spec *s)
{
	if (s->graphics != VF_GRAPHICS_VNC && s->graphics != VF_GRAPHICS_SPICE)
		return;
	xmlNodePtr g = vf_lv__add(devs, "graphics", NULL);
	vf_lv__attr(g, "type", vf_graphics_type_to_string(s->graphics));
	vf_lv__attr(g, "autoport", "yes");
	xmlNodePtr l = vf_lv__add(g, "listen", NULL);
	vf_lv__attr(l, "type", "address");
	vf_lv__attr(l, "address", s->graphics_listen ? s->graphics_listen : "127.0.0.1");
}

static void vf_lv__serial_console(xmlNodePtr devs)
{
	xmlNodePtr ser = vf_lv__add(devs, "serial", NULL);
	vf_lv__attr(ser, "type", "pty");
	vf_lv__attr(vf_lv__add(ser, "target", NULL), "port", "0");
	xmlNodePtr con = vf_lv__add(devs, "console", NULL);
	vf_lv__attr(con, "type", "pty");
	xmlNodePtr t = vf_lv__add(con, "target", NULL);
	vf_lv__attr(t, "type", "serial");
	vf_lv__attr(t, "port", "0");
}

/* <virtform:owner xmlns:virtform="VF_METADATA_NS" name="..."/> under
 * `metadata`; with a cloud-init seed also virtform:seed="<sha256>", which
 * the planner reads back to know whether the seed is current. */
static void vf_lv__owner(xmlNodePtr metadata, const char *name, const char *seed_hash)
{
	xmlNodePtr owner = vf_lv__add(metadata, "owner", NULL);
	xmlNsPtr ns = xmlNewNs(owner, VF_XC(VF_METADATA_NS), VF_XC(VF_METADATA_PREFIX));
	if (!ns)
		abort();
	xmlSetNs(owner, ns);
	vf_lv__attr(owner, "name", name);
	if (seed_hash && !xmlSetNsProp(owner, ns, VF_XC("seed"), VF_XC(seed_hash)))
		abort();
}

char *vf_lv__domain_xml(const vf_object *o, const char *type, const vf_lv_disk_info *info)
{
	const vf_domain_spec *s = &o->u.domain;
	xmlNodePtr root;
	xmlDocPtr doc = vf_lv__new_doc("domain", &root);
	vf_lv__attr(root, "type", type);
	vf_lv__add(root, "name", o->name);
	vf_lv__uuid(root, o->uuid);
	vf_lv__owner(vf_lv__add(root, "metadata", NULL), o->name,
		     s->cloudinit.present && s->cloudinit.seed_pool ? s->cloudinit.hash : NULL);

	uint64_t kib = (s->has_memory ? s->memory : 512ull << 20) / 1024;
	_cleanup_free_ char *mem = vf_asprintf("%llu", (unsigned long long)kib);
	vf_lv__attr(vf_lv__add(root, "memory", mem), "unit", "KiB");
	vf_lv__attr(vf_lv__add(root, "currentMemory", mem), "unit", "KiB");
	_cleanup_free_ char *vcpus = vf_asprintf("%u", s->has_vcpus ? s->vcpus : 1u);
	vf_lv__add(root, "vcpu", vcpus);

	xmlNodePtr os = vf_lv__add(root, "os", NULL);
	if (s->firmware == VF_FIRMWARE_UEFI)
		vf_lv__attr(os, "firmware", "efi");
	xmlNodePtr ostype = vf_lv__add(os, "type", "hvm");
	if (s->machine)
		vf_lv__attr(ostype, "machine", s->machine);
	for (size_t i = 0; i < s->n_boot; i++) {
		const char *dev = vf_boot_dev_to_string(s->boot[i]);
		if (dev)
			vf_lv__attr(vf_lv__add(os, "boot", NULL), "dev", dev);
	}

	xmlNodePtr feat = vf_lv__add(root, "features", NULL);
	vf_lv__add(feat, "acpi", NULL);
	vf_lv__add(feat, "apic", NULL);
	if (s->cpu_mode)
		vf_lv__attr(vf_lv__add(root, "cpu", NULL), "mode", vf_cpu_mode_to_string(s->cpu_mode));

	xmlNodePtr devs = vf_lv__add(root, "devices", NULL);
	vf_lv__disks(devs, s, info);
	for (size_t i = 0; i < s->n_ifaces; i++)
		vf_lv__iface(devs, &s->ifaces[i]);
	vf_lv__graphics(devs, s);
	if (vf_tri_get(s->serial_console, true))
		vf_lv__serial_console(devs);
	return vf_lv__dump_free(doc);
}

static xmlNodePtr vf_lv__child(xmlNodePtr parent, const char *name)
{
	for (xmlNodePtr n = parent->children; n; n = n->next)
		if (n->type == XML_ELEMENT_NODE && !n->ns && xmlStrEqual(n->name, VF_XC(name)))
			return n;
	return NULL;
}

int vf_lv__domain_xml_raw(const vf_object *o, char **out, vf_error *err)
{
	const vf_domain_spec *s = &o->u.domain;
	xmlDocPtr doc = vf_lv__xml_read(s->xml);
	if (!doc)
		return vf_error_set_pos(err, VF_E_SCHEMA, s->xml_pos,
					"spec.xml of domain \"%s\" is not well-formed XML: %s",
					o->name, vf_lv__xml_last_error());
	xmlNodePtr root = xmlDocGetRootElement(doc);
	if (!root || !xmlStrEqual(root->name, VF_XC("domain"))) {
		xmlFreeDoc(doc);
		return vf_error_set_pos(err, VF_E_SCHEMA, s->xml_pos,
					"spec.xml of domain \"%s\" must have <domain> as its root element",
					o->name);
	}
	xmlNodePtr name = vf_lv__child(root, "name");
	if (!name) {
		vf_lv__add(root, "name", o->name);
	} else {
		xmlChar *text = xmlNodeGetContent(name);
		bool same = text && xmlStrEqual(text, VF_XC(o->name));
		xmlFree(text);
		if (!same) {
			xmlFreeDoc(doc);
			return vf_error_set_pos(err, VF_E_SCHEMA, s->xml_pos,
						"spec.xml of domain \"%s\" names another domain in <name>",
						o->name);
		}
	}
	if (!vf_lv__child(root, "uuid"))
		vf_lv__uuid(root, o->uuid);
	xmlNodePtr meta = vf_lv__child(root, "metadata");
	if (!meta)
		meta = vf_lv__add(root, "metadata", NULL);
	for (xmlNodePtr n = meta->children, next; n; n = next) {
		next = n->next;
		if (n->type == XML_ELEMENT_NODE && n->ns &&
		    xmlStrEqual(n->ns->href, VF_XC(VF_METADATA_NS))) {
			xmlUnlinkNode(n);
			xmlFreeNode(n);
		}
	}
	vf_lv__owner(meta, o->name, NULL); /* spec.xml excludes cloudInit */
	*out = vf_lv__dump_free(doc);
	return 0;
}
