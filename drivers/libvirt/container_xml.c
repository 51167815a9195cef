/* container_xml.c: what a container's domain XML has that a virtual
 * machine's has not (libvirt's LXC driver, type='lxc'): <os> with its init
 * program, arguments and environment, <filesystem> devices, <idmap>, and
 * a console; written from the spec and read back into observed state.
 * Not for the rest of the domain XML (domain_xml.c). */
#include "lv.h"

/* ---- building --------------------------------------------------------------- */

void vf_lv__container_os(xmlNodePtr os, const vf_domain_spec *s)
{
	vf_lv__add(os, "type", "exe");
	if (s->init.path)
		vf_lv__add(os, "init", s->init.path);
	for (size_t i = 0; i < s->init.n_args; i++)
		vf_lv__add(os, "initarg", s->init.args[i]);
	for (size_t i = 0; i < s->init.n_env; i++)
		vf_lv__attr(vf_lv__add(os, "initenv", s->init.env[i].value), "name",
			    s->init.env[i].key);
}

static void vf_lv__idmap_ranges(xmlNodePtr idmap, const char *name, const vf_idmap_range *r,
				size_t n)
{
	for (size_t i = 0; i < n; i++) {
		xmlNodePtr e = vf_lv__add(idmap, name, NULL);
		vf_lv__attrf(e, "start", "%u", r[i].start);
		vf_lv__attrf(e, "target", "%u", r[i].target);
		vf_lv__attrf(e, "count", "%u", r[i].count);
	}
}

void vf_lv__container_idmap(xmlNodePtr root, const vf_domain_spec *s)
{
	if (!s->n_uidmap && !s->n_gidmap)
		return;
	xmlNodePtr idmap = vf_lv__add(root, "idmap", NULL);
	vf_lv__idmap_ranges(idmap, "uid", s->uidmap, s->n_uidmap);
	vf_lv__idmap_ranges(idmap, "gid", s->gidmap, s->n_gidmap);
}

static void vf_lv__filesystem(xmlNodePtr devs, const vf_filesystem *fs)
{
	vf_fs_type type = fs->type ? fs->type : VF_FS_MOUNT;
	xmlNodePtr n = vf_lv__add(devs, "filesystem", NULL);
	vf_lv__attr(n, "type", vf_fs_type_to_string(type));
	xmlNodePtr src;
	switch (type) {
	case VF_FS_BLOCK:
		vf_lv__attr(vf_lv__add(n, "source", NULL), "dev", fs->source);
		break;
	case VF_FS_FILE:
		/* libvirt's LXC driver mounts an image file through a loop device */
		vf_lv__attr(vf_lv__add(n, "driver", NULL), "type", "loop");
		vf_lv__attr(vf_lv__add(n, "source", NULL), "file", fs->source);
		break;
	case VF_FS_RAM:
		src = vf_lv__add(n, "source", NULL);
		vf_lv__attrf(src, "usage", "%llu", (unsigned long long)(fs->usage / 1024));
		vf_lv__attr(src, "units", "KiB");
		break;
	default:
		vf_lv__attr(n, "accessmode", "passthrough");
		vf_lv__attr(vf_lv__add(n, "source", NULL), "dir", fs->source);
		break;
	}
	vf_lv__attr(vf_lv__add(n, "target", NULL), "dir", fs->target);
	if (fs->readonly)
		vf_lv__add(n, "readonly", NULL);
}

void vf_lv__container_devices(xmlNodePtr devs, const vf_domain_spec *s)
{
	for (size_t i = 0; i < s->n_filesystems; i++)
		vf_lv__filesystem(devs, &s->filesystems[i]);
}

void vf_lv__container_console(xmlNodePtr devs)
{
	xmlNodePtr con = vf_lv__add(devs, "console", NULL);
	vf_lv__attr(con, "type", "pty");
	xmlNodePtr t = vf_lv__add(con, "target", NULL);
	vf_lv__attr(t, "type", "lxc");
	vf_lv__attr(t, "port", "0");
}

/* ---- reading ---------------------------------------------------------------- */

/* A ram filesystem's <source usage units>, in bytes; 0 when unreadable. */
static uint64_t vf_lv__ram_usage(xmlXPathContextPtr ctx, xmlNodePtr n)
{
	_cleanup_free_ char *usage = vf_lv__xstr(ctx, n, "source/@usage");
	_cleanup_free_ char *units = vf_lv__xstr(ctx, n, "source/@units");
	static const struct {
		const char *name;
		uint64_t scale;
	} units_table[] = {
		{ "b", 1 },	      { "bytes", 1 },	    { "k", 1024 },	{ "KiB", 1024 },
		{ "M", 1ull << 20 }, { "MiB", 1ull << 20 }, { "G", 1ull << 30 }, { "GiB", 1ull << 30 },
	};
	uint64_t scale = units ? 0 : 1024; /* libvirt's default unit is KiB */
	for (size_t i = 0; units && i < VF_ARRAY_SIZE(units_table); i++)
		if (strcmp(units, units_table[i].name) == 0)
			scale = units_table[i].scale;
	char *end = NULL;
	unsigned long long v = usage ? strtoull(usage, &end, 10) : 0;
	if (!usage || !scale || end == usage || *end || v > UINT64_MAX / scale)
		return 0;
	return (uint64_t)v * scale;
}

static void vf_lv__parse_fs(xmlXPathContextPtr ctx, xmlNodePtr n, vf_filesystem *fs)
{
	_cleanup_free_ char *type = vf_lv__xstr(ctx, n, "@type");
	int t = vf_fs_type_from_string(type ? type : "mount");
	fs->type = t < 0 ? VF_FS_TYPE_UNSET : (vf_fs_type)t;
	switch (fs->type) {
	case VF_FS_MOUNT:
		fs->source = vf_lv__xstr(ctx, n, "source/@dir");
		break;
	case VF_FS_BLOCK:
		fs->source = vf_lv__xstr(ctx, n, "source/@dev");
		break;
	case VF_FS_FILE:
		fs->source = vf_lv__xstr(ctx, n, "source/@file");
		break;
	case VF_FS_RAM:
		fs->usage = vf_lv__ram_usage(ctx, n);
		break;
	default:
		break;
	}
	fs->target = vf_lv__xstr(ctx, n, "target/@dir");
	fs->readonly = vf_lv__xbool(ctx, n, "readonly");
}

static void vf_lv__parse_idmap(xmlXPathContextPtr ctx, const char *expr, vf_idmap_range **out,
			       size_t *n_out)
{
	_cleanup_xobj_ xmlXPathObjectPtr ns = vf_lv__xnodes(ctx, NULL, expr);
	size_t cap = 0;
	for (int i = 0; ns && ns->nodesetval && i < ns->nodesetval->nodeNr; i++) {
		xmlNodePtr e = ns->nodesetval->nodeTab[i];
		vf_idmap_range r = {
			.start = (uint32_t)vf_lv__xint(ctx, e, "@start", 10, 0),
			.target = (uint32_t)vf_lv__xint(ctx, e, "@target", 10, 0),
			.count = (uint32_t)vf_lv__xint(ctx, e, "@count", 10, 0),
		};
		VF_APPEND(*out, *n_out, cap, r);
	}
}

void vf_lv__parse_container(xmlXPathContextPtr ctx, vf_obs_domain *d)
{
	d->init = vf_lv__xstr(ctx, NULL, "/domain/os/init");
	_cleanup_xobj_ xmlXPathObjectPtr args = vf_lv__xnodes(ctx, NULL, "/domain/os/initarg");
	size_t cap = 0;
	for (int i = 0; args && args->nodesetval && i < args->nodesetval->nodeNr; i++) {
		char *a = vf_lv__xstr(ctx, args->nodesetval->nodeTab[i], "string(.)");
		VF_APPEND(d->init_args, d->n_init_args, cap, a ? a : vf_strdup(""));
	}
	_cleanup_xobj_ xmlXPathObjectPtr env = vf_lv__xnodes(ctx, NULL, "/domain/os/initenv");
	cap = 0;
	for (int i = 0; env && env->nodesetval && i < env->nodesetval->nodeNr; i++) {
		xmlNodePtr e = env->nodesetval->nodeTab[i];
		char *v = vf_lv__xstr(ctx, e, "string(.)");
		vf_kv kv = { .key = vf_lv__xstr(ctx, e, "@name"), .value = v ? v : vf_strdup("") };
		VF_APPEND(d->init_env, d->n_init_env, cap, kv);
	}
	_cleanup_xobj_ xmlXPathObjectPtr fss = vf_lv__xnodes(ctx, NULL, "/domain/devices/filesystem");
	cap = 0;
	for (int i = 0; fss && fss->nodesetval && i < fss->nodesetval->nodeNr; i++) {
		vf_filesystem fs = { 0 };
		vf_lv__parse_fs(ctx, fss->nodesetval->nodeTab[i], &fs);
		VF_APPEND(d->filesystems, d->n_filesystems, cap, fs);
	}
	vf_lv__parse_idmap(ctx, "/domain/idmap/uid", &d->uidmap, &d->n_uidmap);
	vf_lv__parse_idmap(ctx, "/domain/idmap/gid", &d->gidmap, &d->n_gidmap);
}
