/* xml_parse.c: libvirt's pool, volume, domain and capabilities XML read
 * into the observed-state structs (sizes in bytes, MACs lower-case).
 * Not for talking to libvirt (observe.c) or for writing XML (xml_build.c). */
#include <ctype.h>
#include <errno.h>

#include "lv.h"

/* A parsed document with an XPath context; both freed by cleanup. */
typedef struct vf_lv_xdoc {
	xmlDocPtr doc;
	xmlXPathContextPtr ctx;
} vf_lv_xdoc;

static void vf_lv__xdoc_free(vf_lv_xdoc *x)
{
	if (x->ctx)
		xmlXPathFreeContext(x->ctx);
	if (x->doc)
		xmlFreeDoc(x->doc);
}

static int vf_lv__xdoc_open(vf_lv_xdoc *x, const char *xml, const char *what, vf_error *err)
{
	x->doc = vf_lv__xml_read(xml);
	if (!x->doc || !xmlDocGetRootElement(x->doc))
		return vf_error_set(err, VF_E_DRIVER, "cannot read the XML libvirt gave for %s: %s",
				    what, vf_lv__xml_last_error());
	x->ctx = xmlXPathNewContext(x->doc);
	if (!x->ctx)
		abort();
	return 0;
}

static int64_t vf_lv__xint(xmlXPathContextPtr ctx, xmlNodePtr at, const char *expr, int base,
			   int64_t dflt)
{
	_cleanup_free_ char *s = vf_lv__xstr(ctx, at, expr);
	if (!s)
		return dflt;
	errno = 0;
	char *end = NULL;
	long long v = strtoll(s, &end, base);
	if (errno || end == s || *end)
		return dflt;
	return v;
}

static void vf_lv__read_perms(xmlXPathContextPtr ctx, int64_t *owner, int64_t *group,
			      int32_t *mode)
{
	*owner = vf_lv__xint(ctx, NULL, "/*/target/permissions/owner", 10, -1);
	*group = vf_lv__xint(ctx, NULL, "/*/target/permissions/group", 10, -1);
	*mode = (int32_t)vf_lv__xint(ctx, NULL, "/*/target/permissions/mode", 8, -1);
}

int vf_lv__parse_pool(const char *xml, vf_obs_pool *p, vf_error *err)
{
	_cleanup_(vf_lv__xdoc_free) vf_lv_xdoc x = { 0 };
	int r = vf_lv__xdoc_open(&x, xml, "a storage pool", err);
	if (r < 0)
		return r;
	xmlXPathContextPtr ctx = x.ctx;
	p->type_name = vf_lv__xstr(ctx, NULL, "/pool/@type");
	if (!p->type_name)
		p->type_name = vf_strdup("");
	int t = vf_pool_type_from_string(p->type_name);
	p->type = t < 0 ? VF_POOL_TYPE_UNSET : (vf_pool_type)t;
	p->target_path = vf_lv__xstr(ctx, NULL, "/pool/target/path");
	p->source.device = vf_lv__xstr(ctx, NULL, "/pool/source/device[1]/@path");
	p->source.host = vf_lv__xstr(ctx, NULL, "/pool/source/host[1]/@name");
	p->source.dir = vf_lv__xstr(ctx, NULL, "/pool/source/dir/@path");
	p->source.name = vf_lv__xstr(ctx, NULL, "/pool/source/name");
	p->source.format = vf_lv__xstr(ctx, NULL, "/pool/source/format/@type");
	if (p->type == VF_POOL_ISCSI && !p->source.name) {
		/* the target IQN is <device path>; the model keeps it in source.name */
		p->source.name = TAKE_PTR(p->source.device);
	}
	vf_lv__read_perms(ctx, &p->owner, &p->group, &p->mode);
	vf_lv__xsize(ctx, NULL, "/pool/capacity", 1, &p->capacity);
	vf_lv__xsize(ctx, NULL, "/pool/available", 1, &p->available);
	return 0;
}

int vf_lv__parse_volume(const char *xml, vf_obs_volume *v, vf_error *err)
{
	_cleanup_(vf_lv__xdoc_free) vf_lv_xdoc x = { 0 };
	int r = vf_lv__xdoc_open(&x, xml, "a storage volume", err);
	if (r < 0)
		return r;
	xmlXPathContextPtr ctx = x.ctx;
	v->path = vf_lv__xstr(ctx, NULL, "/volume/target/path");
	if (!v->path)
		v->path = vf_lv__xstr(ctx, NULL, "/volume/key");
	vf_lv__xsize(ctx, NULL, "/volume/capacity", 1, &v->capacity);
	vf_lv__xsize(ctx, NULL, "/volume/allocation", 1, &v->allocation);
	v->format_name = vf_lv__xstr(ctx, NULL, "/volume/target/format/@type");
	int f = vf_vol_format_from_string(v->format_name);
	v->format = f < 0 ? VF_VOL_FORMAT_UNSET : (vf_vol_format)f;
	v->backing_path = vf_lv__xstr(ctx, NULL, "/volume/backingStore/path");
	vf_lv__read_perms(ctx, &v->owner, &v->group, &v->mode);
	return 0;
}

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
	d->managed = vf_lv__xbool(ctx, NULL,
				  "/domain/metadata/*[namespace-uri()='" VF_METADATA_NS "']");
	d->seed_hash = vf_lv__xstr(ctx, NULL,
				   "/domain/metadata/*[namespace-uri()='" VF_METADATA_NS "']"
				   "/@*[local-name()='seed' and namespace-uri()='" VF_METADATA_NS "']");
	_cleanup_xobj_ xmlXPathObjectPtr owner =
		vf_lv__xnodes(ctx, NULL, "/domain/metadata/*[namespace-uri()='" VF_METADATA_NS "']");
	if (owner && owner->nodesetval && owner->nodesetval->nodeNr > 0 &&
	    vf_lv__record_read(owner->nodesetval->nodeTab[0], &d->applied))
		d->xml_bare = vf_lv__record_strip_dump(x.doc); /* last: it changes the tree */
	return 0;
}

bool vf_lv__caps_have_kvm(const char *caps_xml)
{
	_cleanup_(vf_lv__xdoc_free) vf_lv_xdoc x = { 0 };
	if (vf_lv__xdoc_open(&x, caps_xml, "the capabilities", NULL) < 0)
		return false;
	_cleanup_free_ char *arch = vf_lv__xstr(x.ctx, NULL, "/capabilities/host/cpu/arch");
	_cleanup_xobj_ xmlXPathObjectPtr archs =
		vf_lv__xnodes(x.ctx, NULL, "/capabilities/guest/arch[domain/@type='kvm']");
	for (int i = 0; archs && archs->nodesetval && i < archs->nodesetval->nodeNr; i++) {
		_cleanup_free_ char *name = vf_lv__xstr(x.ctx, archs->nodesetval->nodeTab[i], "@name");
		if (vf_streq(name, arch))
			return true;
	}
	return false;
}

char *vf_lv__vol_format(const char *vol_xml)
{
	_cleanup_(vf_lv__xdoc_free) vf_lv_xdoc x = { 0 };
	if (vf_lv__xdoc_open(&x, vol_xml, "a storage volume", NULL) < 0)
		return NULL;
	return vf_lv__xstr(x.ctx, NULL, "/volume/target/format/@type");
}

char *vf_lv__pool_type(const char *pool_xml)
{
	_cleanup_(vf_lv__xdoc_free) vf_lv_xdoc x = { 0 };
	if (vf_lv__xdoc_open(&x, pool_xml, "a storage pool", NULL) < 0)
		return NULL;
	return vf_lv__xstr(x.ctx, NULL, "/pool/@type");
}
