/* decode_domain.c: decodes a Domain's spec: disks, interfaces, graphics,
 * cloudInit and the spec.xml escape hatch, strictly, like the other kinds.
 * Not for the document envelope, pools or volumes (decode.c) or for turning
 * the spec into libvirt XML (drivers/libvirt/domain_xml.c). */
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "controller/load/cloudinit.h"
#include "controller/load/decode_kind.h"

/* The guest names libvirt gives each bus's disks: a prefix, then lower-case
 * letters counting a, b, ... z, aa, ab, ... (vda, sdb, hdc). */
static const struct {
	const char *prefix;
	const char *buses;        /* for messages */
} vf_dec__disk_names[] = {
	{ "vd", "virtio" },
	{ "sd", "sata, scsi or usb" },
	{ "hd", "ide" },
};

static size_t vf_dec__disk_names_of(vf_disk_bus bus)
{
	switch (bus) {
	case VF_BUS_SATA:
	case VF_BUS_SCSI:
	case VF_BUS_USB:
		return 1;
	case VF_BUS_IDE:
		return 2;
	default:
		return 0;   /* virtio, also the default */
	}
}

static bool vf_dec__disk_name_is(const char *target, const char *prefix)
{
	size_t len = strlen(prefix);
	return strncmp(target, prefix, len) == 0 && target[len] &&
	       strspn(target + len, "abcdefghijklmnopqrstuvwxyz") == strlen(target + len);
}

/* disks[].target (node `n`, named `path`) must be a name of the disk's bus;
 * a wrong one is reported and dropped, so it is not also called a duplicate. */
static void vf_dec__disk_target(vf_dec *d, const vf_ynode *n, const char *path, vf_disk *disk)
{
	size_t want = vf_dec__disk_names_of(disk->bus);
	const char *prefix = vf_dec__disk_names[want].prefix;
	if (vf_dec__disk_name_is(disk->target, prefix))
		return;
	_cleanup_free_ char *q = vf_decode_quote(disk->target, strlen(disk->target));
	const char *bus = disk->bus ? vf_disk_bus_to_string(disk->bus) : "virtio";
	const char *dflt = disk->bus ? "" : " (the default)";
	size_t other = want;
	for (size_t i = 0; i < VF_ARRAY_SIZE(vf_dec__disk_names); i++)
		if (i != want && vf_dec__disk_name_is(disk->target, vf_dec__disk_names[i].prefix))
			other = i;
	if (other != want)
		vf_dec__fail(d, VF_E_SCHEMA, n->pos,
			     "invalid %s %s: a disk on the %s bus%s is named %s followed by lower-case letters (%sa, %sb, ...); %s names are for bus %s",
			     path, q, bus, dflt, prefix, prefix, prefix, vf_dec__disk_names[other].prefix,
			     vf_dec__disk_names[other].buses);
	else
		vf_dec__fail(d, VF_E_SCHEMA, n->pos,
			     "invalid %s %s: a disk on the %s bus%s is named %s followed by lower-case letters (%sa, %sb, ...)",
			     path, q, bus, dflt, prefix, prefix, prefix);
	free(disk->target);
	disk->target = NULL;
}

static void vf_dec__disk(vf_dec *d, const vf_ynode *n, size_t idx, vf_disk *disk)
{
	static const char *const fields[] = { "volume", "path", "target", "bus", "device",
					      "readonly", "shareable", "cache", NULL };
	_cleanup_free_ char *path = vf_asprintf("spec.disks[%zu]", idx);
	if (!vf_dec__map(d, n, path))
		return;
	_cleanup_free_ char *where = vf_asprintf("Domain %s", path);
	vf_dec__fields(d, n, fields, where);
	disk->pos = n->pos;
	const vf_ynode *v, *vol = vf_ynode_get(n, "volume"), *file = vf_ynode_get(n, "path");
	_cleanup_free_ char *p_vol = vf_asprintf("%s.volume", path);
	_cleanup_free_ char *p_path = vf_asprintf("%s.path", path);
	_cleanup_free_ char *p_target = vf_asprintf("%s.target", path);
	_cleanup_free_ char *p_bus = vf_asprintf("%s.bus", path);
	_cleanup_free_ char *p_dev = vf_asprintf("%s.device", path);
	_cleanup_free_ char *p_ro = vf_asprintf("%s.readonly", path);
	_cleanup_free_ char *p_sh = vf_asprintf("%s.shareable", path);
	_cleanup_free_ char *p_cache = vf_asprintf("%s.cache", path);
	if (vol && file) {
		vf_dec__both(d, n, path, "volume", "path");
	} else if (!vol && !file) {
		vf_dec__fail(d, VF_E_SCHEMA, n->pos, "%s needs exactly one of volume or path", path);
	}
	if (vol) {
		vf_dec__volref(d, vol, p_vol, &disk->volume);
		disk->has_volume = vol->type == VF_YNODE_MAP;
	}
	if (file)
		vf_dec__abspath(d, file, p_path, &disk->path);
	if ((v = vf_ynode_get(n, "target")))
		vf_dec__name(d, v, p_target, &disk->target);
	bool bus_ok = true;
	if ((v = vf_ynode_get(n, "bus")))
		bus_ok = VF_DEC_ENUM(d, v, p_bus, vf_disk_bus, VF_BUS_MAX, &disk->bus);
	if (disk->target && bus_ok)
		vf_dec__disk_target(d, vf_ynode_get(n, "target"), p_target, disk);
	if ((v = vf_ynode_get(n, "device")))
		VF_DEC_ENUM(d, v, p_dev, vf_disk_device, VF_DISK_DEVICE_MAX, &disk->device);
	if ((v = vf_ynode_get(n, "readonly")))
		vf_dec__bool(d, v, p_ro, &disk->readonly);
	if ((v = vf_ynode_get(n, "shareable")))
		vf_dec__bool(d, v, p_sh, &disk->shareable);
	if ((v = vf_ynode_get(n, "cache")))
		VF_DEC_ENUM(d, v, p_cache, vf_disk_cache, VF_CACHE_MAX, &disk->cache);
}

static void vf_dec__iface(vf_dec *d, const vf_ynode *n, size_t idx, vf_iface *ifc)
{
	static const char *const fields[] = { "network", "bridge", "model", "mac", NULL };
	_cleanup_free_ char *path = vf_asprintf("spec.interfaces[%zu]", idx);
	if (!vf_dec__map(d, n, path))
		return;
	_cleanup_free_ char *where = vf_asprintf("Domain %s", path);
	vf_dec__fields(d, n, fields, where);
	ifc->pos = n->pos;
	const vf_ynode *v, *net = vf_ynode_get(n, "network"), *br = vf_ynode_get(n, "bridge");
	if (net && br) {
		vf_dec__both(d, n, path, "network", "bridge");
	} else if (!net && !br) {
		vf_dec__fail(d, VF_E_SCHEMA, n->pos, "%s needs exactly one of network or bridge", path);
	}
	_cleanup_free_ char *p_net = vf_asprintf("%s.network", path);
	_cleanup_free_ char *p_br = vf_asprintf("%s.bridge", path);
	_cleanup_free_ char *p_model = vf_asprintf("%s.model", path);
	_cleanup_free_ char *p_mac = vf_asprintf("%s.mac", path);
	if (net)
		vf_dec__name(d, net, p_net, &ifc->network);
	if (br)
		vf_dec__name(d, br, p_br, &ifc->bridge);
	if ((v = vf_ynode_get(n, "model")))
		vf_dec__str(d, v, p_model, &ifc->model);
	char *mac = NULL;
	if ((v = vf_ynode_get(n, "mac")) && vf_dec__str(d, v, p_mac, &mac)) {
		vf_error err = { 0 };
		if (vf_mac_parse(mac, &ifc->mac, &err) < 0)
			vf_dec__fail_err(d, v->pos, &err);
		free(mac);
	}
}

static void vf_dec__xml(vf_dec *d, const vf_ynode *n, const char *name, vf_domain_spec *ds)
{
	vf_dec__raw_xml(d, n, "domain", name, &ds->xml, ds->xml_hash, &ds->xml_pos, &ds->has_uuid,
			ds->uuid, &ds->uuid_pos);
}

/* One of spec.cloudInit's parts: an inline mapping (emitted back to YAML;
 * userData gets the #cloud-config header), a string used verbatim, or
 * {file: PATH} read now, relative to this manifest's folder. */
static void vf_dec__cloudinit_part(vf_dec *d, const vf_ynode *n, const char *field,
				   const char *header, char **out, vf_pos *pos)
{
	_cleanup_free_ char *path = vf_asprintf("spec.cloudInit.%s", field);
	vf_error err = { 0 };
	*pos = n->pos;
	if (n->type == VF_YNODE_MAP && vf_ynode_key(n, "file")) {
		static const char *const fields[] = { "file", NULL };
		_cleanup_free_ char *where = vf_asprintf("Domain %s (a {file: PATH} reference)", path);
		_cleanup_free_ char *fpath = vf_asprintf("%s.file", path);
		vf_dec__fields(d, n, fields, where);
		const vf_ynode *f = vf_ynode_get(n, "file");
		_cleanup_free_ char *file = NULL;
		if (!vf_dec__str(d, f, fpath, &file))
			return;
		if (!*file) {
			vf_dec__fail(d, VF_E_SCHEMA, f->pos, "invalid %s \"\": must name a file", fpath);
			return;
		}
		*pos = f->pos;
		if (vf_cloudinit_read_file(d->file, file, out, &err) < 0)
			vf_dec__fail(d, err.code, f->pos, "%s: %s", fpath, err.message);
	} else if (n->type == VF_YNODE_MAP) {
		if (vf_cloudinit_emit(n, header, out, &err) < 0)
			vf_dec__fail(d, err.code, n->pos, "%s: %s", path, err.message);
	} else if (n->type == VF_YNODE_SCALAR && !vf_ynode_is_null(n) && !vf_dec__is_bool(n) &&
		   !vf_dec__is_number(n)) {
		vf_dec__str(d, n, path, out);
	} else {
		vf_dec__fail(d, VF_E_SCHEMA, n->pos,
			     "%s must be a mapping, a string or {file: PATH}, not %s", path,
			     vf_dec__type_of(n));
	}
	vf_error_clear(&err);
}

/* spec.cloudInit; defaults and the hash are filled in once the UUID is
 * known (vf_cloudinit_finish). */
static void vf_dec__cloudinit(vf_dec *d, const vf_ynode *n, vf_cloudinit *ci)
{
	static const char *const fields[] = { "userData", "metaData", "networkConfig", "bus", NULL };
	if (!vf_dec__map(d, n, "spec.cloudInit"))
		return;
	vf_dec__fields(d, n, fields, "Domain spec.cloudInit");
	ci->present = true;
	ci->pos = n->pos;
	const vf_ynode *v;
	if ((v = vf_ynode_get(n, "userData")))
		vf_dec__cloudinit_part(d, v, "userData", VF_CLOUDINIT_HEADER, &ci->user_data,
				       &ci->user_data_pos);
	if ((v = vf_ynode_get(n, "metaData")))
		vf_dec__cloudinit_part(d, v, "metaData", NULL, &ci->meta_data, &ci->meta_data_pos);
	if ((v = vf_ynode_get(n, "networkConfig")))
		vf_dec__cloudinit_part(d, v, "networkConfig", NULL, &ci->network_config,
				       &ci->network_config_pos);
	if ((v = vf_ynode_get(n, "bus"))) {
		/* the buses a NoCloud seed can sit on (docs/cloud-init.md); usb is not one */
		ci->bus_pos = v->pos;
		if (VF_DEC_ENUM(d, v, "spec.cloudInit.bus", vf_disk_bus, VF_BUS_MAX, &ci->bus) &&
		    ci->bus == VF_BUS_USB) {
			ci->bus = VF_BUS_UNSET;
			vf_dec__fail(d, VF_E_SCHEMA, v->pos,
				     "invalid spec.cloudInit.bus \"usb\": use scsi (the default), virtio, sata or ide");
		}
	}
}

/* spec.serialConsole: true/false, or {log: PATH, append: BOOL}, which is on
 * with a log file (docs/virtform.yaml.5). The path is absolute and plain
 * (no "." or ".." parts, no "//", not a folder) so the plan compares it as
 * libvirt keeps it. */
static void vf_dec__serial_console(vf_dec *d, const vf_ynode *n, vf_domain_spec *ds)
{
	if (n->type != VF_YNODE_MAP) {
		vf_dec__tri(d, n, "spec.serialConsole", &ds->serial_console);
		return;
	}
	static const char *const fields[] = { "log", "append", NULL };
	vf_dec__fields(d, n, fields, "Domain spec.serialConsole");
	ds->serial_console = VF_TRI_TRUE;
	const vf_ynode *log = vf_ynode_get(n, "log"), *app = vf_ynode_get(n, "append");
	if (app)
		vf_dec__bool(d, app, "spec.serialConsole.append", &ds->serial_log_append);
	if (!log) {
		vf_dec__missing(d, n, "log", "Domain spec.serialConsole",
				" (a file such as /var/log/libvirt/qemu/NAME-console.log; or write serialConsole: true)");
		return;
	}
	char *p = NULL;
	vf_dec__abspath(d, log, "spec.serialConsole.log", &p);
	if (!p)
		return;
	size_t len = strlen(p);
	bool bad = p[len - 1] == '/' || strstr(p, "//") || strstr(p, "/./") || strstr(p, "/../") ||
		   (len >= 2 && strcmp(p + len - 2, "/.") == 0) ||
		   (len >= 3 && strcmp(p + len - 3, "/..") == 0);
	for (size_t i = 0; i < len && !bad; i++)
		bad = (unsigned char)p[i] < 0x20 || p[i] == 0x7f;
	if (bad || len >= 4096) {
		_cleanup_free_ char *q = vf_decode_quote(p, len);
		vf_dec__fail(d, VF_E_SCHEMA, log->pos,
			     "invalid spec.serialConsole.log %s: must name a file by a plain absolute path (no \".\" or \"..\" parts, no \"//\", no trailing \"/\", no control characters)",
			     q);
		free(p);
		return;
	}
	ds->serial_log = p;
}

static void vf_dec__domain(vf_dec *d, const vf_ynode *spec, const char *name,
			   vf_domain_spec *ds)
{
	static const char *const fields[] = { "uuid", "type", "vcpus", "memory", "cpu", "machine", "firmware",
					      "boot", "disks", "interfaces", "graphics", "serialConsole", "state",
					      "autostart", "shutdownTimeout", "adopt", "xml", "cloudInit",
					      "init", "filesystems", "idmap", "placement", NULL };
	/* the fields spec.xml replaces */
	static const char *const structured[] = { "type", "vcpus", "memory", "cpu", "machine", "firmware",
						  "boot", "disks", "interfaces", "graphics", "serialConsole",
						  "cloudInit", "init", "filesystems", "idmap", NULL };
	vf_dec__fields(d, spec, fields, "Domain spec");
	const vf_ynode *v;
	bool xml = vf_ynode_get(spec, "xml") != NULL;
	if (xml)
		for (size_t i = 0; structured[i]; i++)
			if ((v = vf_ynode_key(spec, structured[i])))
				vf_dec__fail(d, VF_E_SCHEMA, v->pos,
					     "spec.%s cannot be combined with spec.xml; the XML describes the whole domain",
					     structured[i]);
	if ((v = vf_ynode_get(spec, "uuid")))
		vf_dec__uuid(d, v, "spec.uuid", &ds->has_uuid, ds->uuid, &ds->uuid_pos);
	if ((v = vf_ynode_get(spec, "state")))
		VF_DEC_ENUM(d, v, "spec.state", vf_run_state, VF_RUN_MAX, &ds->state);
	if ((v = vf_ynode_get(spec, "autostart")))
		vf_dec__tri(d, v, "spec.autostart", &ds->autostart);
	if ((v = vf_ynode_get(spec, "shutdownTimeout"))) {
		const char *s;
		if (vf_dec__text(d, v, "spec.shutdownTimeout", &s)) {
			vf_error err = { 0 };
			if (!v->plain && strspn(s, "0123456789") == strlen(s))
				vf_dec__fail(d, VF_E_SCHEMA, v->pos,
					     "invalid spec.shutdownTimeout \"%s\": numbers must not be quoted", s);
			else if (vf_duration_parse(s, &ds->shutdown_timeout, &err) < 0)
				vf_dec__fail_err(d, v->pos, &err);
			else
				ds->has_shutdown_timeout = true;
		}
	}
	if ((v = vf_ynode_get(spec, "adopt")))
		vf_dec__bool(d, v, "spec.adopt", &ds->adopt);
	vf_dec__placement(d, spec, ds);
	if (xml) {
		vf_dec__xml(d, vf_ynode_get(spec, "xml"), name, ds);
		return;
	}

	if ((v = vf_ynode_get(spec, "type")))
		VF_DEC_ENUM(d, v, "spec.type", vf_domain_type, VF_DOMAIN_TYPE_MAX, &ds->type);
	uint64_t u;
	if ((v = vf_ynode_get(spec, "vcpus")) && vf_dec__uint(d, v, "spec.vcpus", 1, VF_VCPUS_MAX, &u)) {
		ds->vcpus = (uint32_t)u;
		ds->has_vcpus = true;
	}
	if ((v = vf_ynode_get(spec, "memory"))) {
		size_t before = d->diags->n;
		vf_dec__size(d, v, "spec.memory", &ds->memory);
		if (d->diags->n == before) {
			_cleanup_free_ char *q = vf_decode_quote(v->value, v->len);
			if (ds->memory == 0)
				vf_dec__fail(d, VF_E_SCHEMA, v->pos, "invalid size %s: memory must be greater than zero", q);
			else if (ds->memory % 1024 != 0)
				vf_dec__fail(d, VF_E_SCHEMA, v->pos, "invalid size %s: domain memory must be a multiple of 1 KiB", q);
			else
				ds->has_memory = true;
		}
	}
	if ((v = vf_ynode_get(spec, "cpu")) && vf_dec__map(d, v, "spec.cpu")) {
		static const char *const cpu_fields[] = { "mode", NULL };
		vf_dec__fields(d, v, cpu_fields, "Domain spec.cpu");
		const vf_ynode *m = vf_ynode_get(v, "mode");
		if (m)
			VF_DEC_ENUM(d, m, "spec.cpu.mode", vf_cpu_mode, VF_CPU_MODE_MAX, &ds->cpu_mode);
	}
	if ((v = vf_ynode_get(spec, "machine")))
		vf_dec__str(d, v, "spec.machine", &ds->machine);
	if ((v = vf_ynode_get(spec, "firmware")))
		VF_DEC_ENUM(d, v, "spec.firmware", vf_firmware, VF_FIRMWARE_MAX, &ds->firmware);
	if ((v = vf_ynode_get(spec, "boot")) && vf_dec__seq(d, v, "spec.boot")) {
		ds->boot = vf_calloc(v->n_items, sizeof(*ds->boot));
		for (size_t i = 0; i < v->n_items; i++) {
			_cleanup_free_ char *path = vf_asprintf("spec.boot[%zu]", i);
			vf_boot_dev b = VF_BOOT_UNSET;
			if (!VF_DEC_ENUM(d, v->items[i], path, vf_boot_dev, VF_BOOT_MAX, &b))
				continue;
			bool dup = false;
			for (size_t j = 0; j < ds->n_boot; j++)
				dup = dup || ds->boot[j] == b;
			if (dup)
				vf_dec__fail(d, VF_E_SCHEMA, v->items[i]->pos, "boot device \"%s\" is listed twice in spec.boot",
					     vf_boot_dev_to_string(b));
			else
				ds->boot[ds->n_boot++] = b;
		}
	}
	if ((v = vf_ynode_get(spec, "disks")) && vf_dec__seq(d, v, "spec.disks")) {
		ds->disks = vf_calloc(v->n_items, sizeof(*ds->disks));
		for (size_t i = 0; i < v->n_items; i++) {
			vf_disk *disk = &ds->disks[ds->n_disks++];
			vf_dec__disk(d, v->items[i], i, disk);
			for (size_t j = 0; disk->target && j + 1 < ds->n_disks; j++)
				if (vf_streq(ds->disks[j].target, disk->target))
					vf_dec__fail(d, VF_E_SCHEMA, vf_ynode_get(v->items[i], "target")->pos,
						     "disk target \"%s\" is used twice; first at line %d",
						     disk->target, ds->disks[j].pos.line);
		}
	}
	if ((v = vf_ynode_get(spec, "interfaces")) && vf_dec__seq(d, v, "spec.interfaces")) {
		ds->ifaces = vf_calloc(v->n_items, sizeof(*ds->ifaces));
		for (size_t i = 0; i < v->n_items; i++)
			vf_dec__iface(d, v->items[i], i, &ds->ifaces[ds->n_ifaces++]);
	}
	if ((v = vf_ynode_get(spec, "graphics")) && vf_dec__map(d, v, "spec.graphics")) {
		static const char *const gfx_fields[] = { "type", "listen", NULL };
		vf_dec__fields(d, v, gfx_fields, "Domain spec.graphics");
		const vf_ynode *t = vf_ynode_get(v, "type"), *l = vf_ynode_get(v, "listen");
		if (t)
			VF_DEC_ENUM(d, t, "spec.graphics.type", vf_graphics_type, VF_GRAPHICS_MAX, &ds->graphics);
		else
			vf_dec__missing(d, v, "type", "Domain spec.graphics", " (use none, vnc or spice)");
		if (l)
			vf_dec__str(d, l, "spec.graphics.listen", &ds->graphics_listen);
	}
	if ((v = vf_ynode_get(spec, "serialConsole")))
		vf_dec__serial_console(d, v, ds);
	if ((v = vf_ynode_get(spec, "cloudInit")))
		vf_dec__cloudinit(d, v, &ds->cloudinit);
	vf_dec__container(d, spec, ds);
}

static void vf_dec__domain_spec(vf_dec *d, const vf_ynode *spec, vf_object *o)
{
	vf_dec__domain(d, spec, o->name, &o->u.domain);
}

/* spec.uuid, else derived from the name; the spec keeps the effective
 * one, and the cloud-init seed is rendered with it. */
static void vf_dec__domain_identity(vf_object *o)
{
	vf_dec__spec_uuid(o, o->u.domain.has_uuid, o->u.domain.uuid);
	vf_cloudinit_finish(o->name, o->uuid, &o->u.domain);
}

const vf_dec_kind vf_dec_kind_domain = {
	.name = "Domain",
	.kind = VF_KIND_DOMAIN,
	.spec = vf_dec__domain_spec,
	.identity = vf_dec__domain_identity,
};
