/* domain_xml.c: a domain's XML: built from virtform's spec with libxml2's
 * tree API (which escapes every name and value), a user's raw domain XML
 * given virtform's UUID and ownership metadata, and libvirt's domain XML
 * read into observed state (sizes in bytes, MACs lower-case).
 * Not for talking to libvirt (domain.c) or for the record of a raw-XML
 * define (xml_record.c). */
#include <ctype.h>
#include <errno.h>

#include "lv.h"

/* ---- building --------------------------------------------------------------- */

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

/* The cloud-init seed (docs/cloud-init.md): read-only, on spec.cloudInit.bus
 * at the first name of that bus no declared disk has. The default, scsi, is a
 * CD-ROM on a virtio-scsi controller: Debian's generic and cloud kernels
 * both have virtio_scsi and sr_mod, on i440fx and q35 alike, while the cloud
 * kernel has no AHCI (sata) and q35 has no IDE. virtio is a plain disk. */
static void vf_lv__seed(xmlNodePtr devs, const vf_domain_spec *s, char **assigned)
{
	const vf_cloudinit *ci = &s->cloudinit;
	if (!ci->present || !ci->seed_pool || !ci->seed_volume)
		return;
	vf_disk_bus bus = vf_cloudinit_bus(ci);
	char *target = NULL;
	for (size_t idx = 0; !target; idx++) {
		target = vf_lv__disk_name(vf_lv__bus_prefix(bus), idx);
		if (vf_lv__target_taken(s, assigned, target)) {
			free(target);
			target = NULL;
		}
	}
	vf_disk seed = {
		.has_volume = true,
		.volume = { .pool = ci->seed_pool, .name = ci->seed_volume },
		.bus = bus,
		.device = vf_cloudinit_seed_device(bus),
		.readonly = true,
	};
	char raw[] = "raw";
	vf_lv_disk_info info = { .format = raw };
	vf_lv__disk(devs, &seed, target, &info);
	free(target);
	/* without a model libvirt would pick lsilogic, which cloud kernels lack */
	if (bus == VF_BUS_SCSI) {
		xmlNodePtr c = vf_lv__add(devs, "controller", NULL);
		vf_lv__attr(c, "type", "scsi");
		vf_lv__attr(c, "model", "virtio-scsi");
	}
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
	vf_lv__seed(devs, s, assigned);
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

/* A pty serial port and its console; with spec.serialConsole.log, libvirt
 * (virtlogd) also copies what the guest prints to that file. */
static void vf_lv__serial_console(xmlNodePtr devs, const vf_domain_spec *s)
{
	xmlNodePtr ser = vf_lv__add(devs, "serial", NULL);
	vf_lv__attr(ser, "type", "pty");
	if (s->serial_log) {
		xmlNodePtr log = vf_lv__add(ser, "log", NULL);
		vf_lv__attr(log, "file", s->serial_log);
		vf_lv__attr(log, "append", s->serial_log_append ? "on" : "off");
	}
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
void vf_lv__owner(xmlNodePtr metadata, const char *name, const char *seed_hash)
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
	if (strcmp(type, "lxc") == 0) {
		/* a container: its init, filesystems, idmap and a console; the
		 * loader and the planner refused every VM-only field */
		vf_lv__container_os(os, s);
		vf_lv__container_idmap(root, s);
		xmlNodePtr devs = vf_lv__add(root, "devices", NULL);
		vf_lv__container_devices(devs, s);
		for (size_t i = 0; i < s->n_ifaces; i++)
			vf_lv__iface(devs, &s->ifaces[i]);
		if (vf_tri_get(s->serial_console, true))
			vf_lv__container_console(devs);
		return vf_lv__dump_free(doc);
	}
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
		vf_lv__serial_console(devs, s);
	return vf_lv__dump_free(doc);
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

/* ---- reading ---------------------------------------------------------------- */

static char *vf_lv__lower(char *s)
{
	for (char *p = s; p && *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return s;
}

static void vf_lv__parse_disk(xmlXPathContextPtr ctx, xmlNodePtr n, vf_obs_disk *d)
{
	_cleanup_free_ char *type = vf_lv__xstr(ctx, n, "@type");
	if (vf_streq(type, "file")) {
		d->type = VF_OBS_DISK_FILE;
		d->path = vf_lv__xstr(ctx, n, "source/@file");
	} else if (vf_streq(type, "block")) {
		d->type = VF_OBS_DISK_BLOCK;
		d->path = vf_lv__xstr(ctx, n, "source/@dev");
	} else if (vf_streq(type, "volume")) {
		d->type = VF_OBS_DISK_VOLUME;
		d->pool = vf_lv__xstr(ctx, n, "source/@pool");
		d->volume = vf_lv__xstr(ctx, n, "source/@volume");
	} else {
		d->type = VF_OBS_DISK_OTHER;
	}
	d->target = vf_lv__xstr(ctx, n, "target/@dev");
	_cleanup_free_ char *bus = vf_lv__xstr(ctx, n, "target/@bus");
	int b = vf_disk_bus_from_string(bus);
	d->bus = b < 0 ? VF_BUS_UNSET : (vf_disk_bus)b;
	_cleanup_free_ char *device = vf_lv__xstr(ctx, n, "@device");
	int dv = vf_disk_device_from_string(device ? device : "disk");
	d->device = dv < 0 ? VF_DISK_DEVICE_UNSET : (vf_disk_device)dv;
	d->readonly = vf_lv__xbool(ctx, n, "readonly");
	d->shareable = vf_lv__xbool(ctx, n, "shareable");
	_cleanup_free_ char *cache = vf_lv__xstr(ctx, n, "driver/@cache");
	int c = vf_disk_cache_from_string(cache);
	d->cache = c < 0 ? VF_CACHE_UNSET : (vf_disk_cache)c;
}

static void vf_lv__parse_iface(xmlXPathContextPtr ctx, xmlNodePtr n, vf_obs_iface *i)
{
	_cleanup_free_ char *type = vf_lv__xstr(ctx, n, "@type");
	if (vf_streq(type, "network"))
		i->network = vf_lv__xstr(ctx, n, "source/@network");
	else if (vf_streq(type, "bridge"))
		i->bridge = vf_lv__xstr(ctx, n, "source/@bridge");
	i->model = vf_lv__xstr(ctx, n, "model/@type");
	i->mac = vf_lv__lower(vf_lv__xstr(ctx, n, "mac/@address"));
}

int vf_lv__parse_domain(const char *xml, vf_obs_domain *d, vf_error *err)
{
	_cleanup_(vf_lv__xdoc_free) vf_lv_xdoc x = { 0 };
	int r = vf_lv__xdoc_open(&x, xml, "a domain", err);
	if (r < 0)
		return r;
	xmlXPathContextPtr ctx = x.ctx;
	d->type = vf_lv__xstr(ctx, NULL, "/domain/@type");
	d->vcpus = (uint32_t)vf_lv__xint(ctx, NULL, "/domain/vcpu", 10, 0);
	d->boot_vcpus = (uint32_t)vf_lv__xint(ctx, NULL, "/domain/vcpu/@current", 10, d->vcpus);
	vf_lv__xsize(ctx, NULL, "/domain/memory", 1024, &d->memory);
	if (!vf_lv__xsize(ctx, NULL, "/domain/currentMemory", 1024, &d->current_memory))
		d->current_memory = d->memory;

	_cleanup_free_ char *mode = vf_lv__xstr(ctx, NULL, "/domain/cpu/@mode");
	int m = vf_cpu_mode_from_string(mode);
	d->cpu_mode = m < 0 ? VF_CPU_MODE_UNSET : (vf_cpu_mode)m;
	d->machine = vf_lv__xstr(ctx, NULL, "/domain/os/type/@machine");
	d->firmware = vf_lv__xbool(ctx, NULL, "/domain/os[@firmware='efi'] | /domain/os/loader")
			      ? VF_FIRMWARE_UEFI
			      : VF_FIRMWARE_BIOS;

	_cleanup_xobj_ xmlXPathObjectPtr boots = vf_lv__xnodes(ctx, NULL, "/domain/os/boot");
	size_t cap = 0;
	for (int i = 0; boots && boots->nodesetval && i < boots->nodesetval->nodeNr; i++) {
		_cleanup_free_ char *dev = vf_lv__xstr(ctx, boots->nodesetval->nodeTab[i], "@dev");
		int b = vf_boot_dev_from_string(dev);
		if (b > 0)
			VF_APPEND(d->boot, d->n_boot, cap, (vf_boot_dev)b);
	}

	_cleanup_xobj_ xmlXPathObjectPtr disks = vf_lv__xnodes(ctx, NULL, "/domain/devices/disk");
	cap = 0;
	for (int i = 0; disks && disks->nodesetval && i < disks->nodesetval->nodeNr; i++) {
		vf_obs_disk disk = { 0 };
		vf_lv__parse_disk(ctx, disks->nodesetval->nodeTab[i], &disk);
		VF_APPEND(d->disks, d->n_disks, cap, disk);
	}

	_cleanup_xobj_ xmlXPathObjectPtr ifs = vf_lv__xnodes(ctx, NULL, "/domain/devices/interface");
	cap = 0;
	for (int i = 0; ifs && ifs->nodesetval && i < ifs->nodesetval->nodeNr; i++) {
		vf_obs_iface ifc = { 0 };
		vf_lv__parse_iface(ctx, ifs->nodesetval->nodeTab[i], &ifc);
		VF_APPEND(d->ifaces, d->n_ifaces, cap, ifc);
	}

	_cleanup_free_ char *gtype = vf_lv__xstr(ctx, NULL, "/domain/devices/graphics[1]/@type");
	if (!gtype) {
		d->graphics = VF_GRAPHICS_NONE;
	} else {
		int g = vf_graphics_type_from_string(gtype);
		d->graphics = g < 0 ? VF_GRAPHICS_UNSET : (vf_graphics_type)g;
		d->graphics_listen = vf_lv__xstr(
			ctx, NULL, "/domain/devices/graphics[1]/listen[@type='address'][1]/@address");
		if (!d->graphics_listen)
			d->graphics_listen =
				vf_lv__xstr(ctx, NULL, "/domain/devices/graphics[1]/@listen");
	}
	d->serial_console = vf_lv__xbool(ctx, NULL, "/domain/devices/serial | /domain/devices/console");
	vf_lv__parse_container(ctx, d);
	d->serial_log = vf_lv__xstr(ctx, NULL, "/domain/devices/serial[1]/log/@file");
	_cleanup_free_ char *append = vf_lv__xstr(ctx, NULL, "/domain/devices/serial[1]/log/@append");
	d->serial_log_append = vf_streq(append, "on");
	d->managed = vf_lv__xbool(ctx, NULL,
				  "/domain/metadata/*[namespace-uri()='" VF_METADATA_NS "']");
	d->seed_hash = vf_lv__xstr(ctx, NULL,
				   "/domain/metadata/*[namespace-uri()='" VF_METADATA_NS "']"
				   "/@*[local-name()='seed' and namespace-uri()='" VF_METADATA_NS "']");
	/* The fleet's fencing record (fence.c), in a namespace of its own. */
	d->fence_host = vf_lv__xstr(ctx, NULL, "/domain/metadata/*[namespace-uri()='" VF_FENCE_NS "']/@host");
	_cleanup_free_ char *fence_token =
		vf_lv__xstr(ctx, NULL, "/domain/metadata/*[namespace-uri()='" VF_FENCE_NS "']/@token");
	d->fence_token = fence_token ? strtoull(fence_token, NULL, 10) : 0;
	xmlXPathObjectPtr owner =
		vf_lv__xnodes(ctx, NULL, "/domain/metadata/*[namespace-uri()='" VF_METADATA_NS "']");
	bool recorded = owner && owner->nodesetval && owner->nodesetval->nodeNr > 0 &&
			vf_lv__record_read(owner->nodesetval->nodeTab[0], &d->applied);
	/* Free the node set before the strip frees the nodes it points to:
	 * xmlXPathFreeObject reads each node's type (valgrind saw that read
	 * of freed memory; ASan cannot, the read is inside libxml2). */
	if (owner)
		xmlXPathFreeObject(owner);
	if (recorded)
		vf_lv__record_bare(x.doc, &d->xml_bare, &d->xml_bare_digest); /* last: it changes the tree */
	return 0;
}
