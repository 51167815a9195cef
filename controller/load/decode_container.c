/* decode_container.c: the parts of a Domain's spec only a container has
 * (spec.init, spec.filesystems, spec.idmap), and the rule that a domain is
 * either a container or a virtual machine: fields of the one are refused
 * on the other at their file:line:col. Called by decode_domain.c.
 * Not for the rest of the Domain spec (decode_domain.c) or for the XML
 * (drivers/libvirt/domain_xml.c). */
#include <sys/types.h>

#include "controller/load/decode_kind.h"

/* Fields only a virtual machine has, with what a container does instead. */
static const struct {
	const char *field;
	const char *instead;
} vf_dec__vm_fields[] = {
	{ "disks", "give it a filesystem instead (spec.filesystems, type block or file)" },
	{ "cpu", "it runs on the host's own CPU" },
	{ "machine", "it has no machine type" },
	{ "firmware", "it has no firmware: it runs spec.init" },
	{ "boot", "it has no boot order: it runs spec.init" },
	{ "graphics", "it has a text console only (spec.serialConsole)" },
	{ "cloudInit", "configure it through spec.init and spec.filesystems" },
};

/* Fields only a container has. */
static const char *const vf_dec__ct_fields[] = { "init", "filesystems", "idmap" };

/* The table's own spelling of `key` (it outlives the YAML), or NULL. */
static const char *vf_dec__ct_field(const char *key)
{
	for (size_t i = 0; i < VF_ARRAY_SIZE(vf_dec__ct_fields); i++)
		if (strcmp(key, vf_dec__ct_fields[i]) == 0)
			return vf_dec__ct_fields[i];
	return NULL;
}

static ssize_t vf_dec__vm_field(const char *key)
{
	for (size_t i = 0; i < VF_ARRAY_SIZE(vf_dec__vm_fields); i++)
		if (strcmp(key, vf_dec__vm_fields[i].field) == 0)
			return (ssize_t)i;
	return -1;
}

/* Record the first VM-only and the first container-only field of `spec`
 * (the planner checks them once spec.type auto is resolved); with an
 * explicit type, refuse every field of the other kind now. */
static void vf_dec__kind_fields(vf_dec *d, const vf_ynode *spec, vf_domain_spec *ds)
{
	for (size_t i = 0; i < spec->n_pairs; i++) {
		const vf_ynode *k = spec->pairs[i].key;
		if (k->type != VF_YNODE_SCALAR)
			continue;
		ssize_t vm = vf_dec__vm_field(k->value);
		const char *instead = vm >= 0 ? vf_dec__vm_fields[vm].instead : NULL;
		const char *ct = vf_dec__ct_field(k->value);
		if (instead && !ds->vm_field) {
			ds->vm_field = vf_dec__vm_fields[vm].field;
			ds->vm_field_pos = k->pos;
		}
		if (ct && !ds->ct_field) {
			ds->ct_field = ct;
			ds->ct_field_pos = k->pos;
		}
		if (instead && ds->type == VF_DOMAIN_LXC)
			vf_dec__fail(d, VF_E_SCHEMA, k->pos,
				     "spec.%s is for virtual machines, and this domain is a container (spec.type: lxc): %s",
				     k->value, instead);
		if (ct && (ds->type == VF_DOMAIN_KVM || ds->type == VF_DOMAIN_QEMU))
			vf_dec__fail(d, VF_E_SCHEMA, k->pos,
				     "spec.%s is for containers (spec.type: lxc), and this domain is a virtual machine (spec.type: %s): a virtual machine boots from its disks",
				     k->value, vf_domain_type_to_string(ds->type));
	}
}

static void vf_dec__init(vf_dec *d, const vf_ynode *n, vf_init *in)
{
	static const char *const fields[] = { "path", "args", "env", NULL };
	if (!vf_dec__map(d, n, "spec.init"))
		return;
	vf_dec__fields(d, n, fields, "Domain spec.init");
	in->pos = n->pos;
	const vf_ynode *v;
	if ((v = vf_ynode_get(n, "path")))
		vf_dec__abspath(d, v, "spec.init.path", &in->path);
	else
		vf_dec__missing(d, n, "path", "Domain spec.init", " (the program the container runs as its pid 1)");
	if ((v = vf_ynode_get(n, "args")) && vf_dec__seq(d, v, "spec.init.args")) {
		in->args = vf_calloc(v->n_items + 1, sizeof(*in->args));
		for (size_t i = 0; i < v->n_items; i++) {
			_cleanup_free_ char *path = vf_asprintf("spec.init.args[%zu]", i);
			const char *s;
			if (vf_dec__text(d, v->items[i], path, &s))
				in->args[in->n_args++] = vf_strdup(s);
		}
	}
	if ((v = vf_ynode_get(n, "env")) && vf_dec__map(d, v, "spec.init.env")) {
		in->env = vf_calloc(v->n_pairs + 1, sizeof(*in->env));
		for (size_t i = 0; i < v->n_pairs; i++) {
			const vf_ynode *k = v->pairs[i].key, *val = v->pairs[i].value;
			_cleanup_free_ char *path = vf_asprintf("spec.init.env.%s", k->value ? k->value : "");
			const char *s;
			if (!k->value || !*k->value || strpbrk(k->value, "= ")) {
				vf_dec__fail(d, VF_E_SCHEMA, k->pos,
					     "invalid %s: an environment variable's name is not empty and has no '=' or space",
					     path);
				continue;
			}
			if (!vf_dec__text(d, val, path, &s))
				continue;
			in->env[in->n_env].key = vf_strdup(k->value);
			in->env[in->n_env++].value = vf_strdup(s);
		}
	}
}

static void vf_dec__filesystem(vf_dec *d, const vf_ynode *n, size_t idx, vf_filesystem *fs)
{
	static const char *const fields[] = { "type", "source", "target", "readonly", "usage", NULL };
	_cleanup_free_ char *path = vf_asprintf("spec.filesystems[%zu]", idx);
	if (!vf_dec__map(d, n, path))
		return;
	_cleanup_free_ char *where = vf_asprintf("Domain %s", path);
	vf_dec__fields(d, n, fields, where);
	fs->pos = n->pos;
	_cleanup_free_ char *p_type = vf_asprintf("%s.type", path);
	_cleanup_free_ char *p_src = vf_asprintf("%s.source", path);
	_cleanup_free_ char *p_tgt = vf_asprintf("%s.target", path);
	_cleanup_free_ char *p_ro = vf_asprintf("%s.readonly", path);
	_cleanup_free_ char *p_use = vf_asprintf("%s.usage", path);
	const vf_ynode *v, *src = vf_ynode_get(n, "source"), *use = vf_ynode_get(n, "usage");
	if ((v = vf_ynode_get(n, "type")) &&
	    !VF_DEC_ENUM(d, v, p_type, vf_fs_type, VF_FS_TYPE_MAX, &fs->type))
		return;
	bool ram = fs->type == VF_FS_RAM;
	const char *tname = vf_fs_type_to_string(fs->type ? fs->type : VF_FS_MOUNT);
	if ((v = vf_ynode_get(n, "target")))
		vf_dec__abspath(d, v, p_tgt, &fs->target);
	else
		vf_dec__missing(d, n, "target", where, " (the path inside the container)");
	if (ram && src)
		vf_dec__fail(d, VF_E_SCHEMA, vf_ynode_key(n, "source")->pos,
			     "%s: a filesystem of type ram has no source (it is a new tmpfs; give its size as usage)",
			     p_src);
	else if (!ram && use)
		vf_dec__fail(d, VF_E_SCHEMA, vf_ynode_key(n, "usage")->pos,
			     "%s: only a filesystem of type ram has a usage (this one is of type %s)", p_use,
			     tname);
	else if (ram && !use)
		vf_dec__missing(d, n, "usage", where, " (the size of the tmpfs, e.g. 64MiB)");
	else if (!ram && !src)
		vf_dec__missing(d, n, "source", where,
				fs->type == VF_FS_BLOCK	 ? " (the host block device)"
				: fs->type == VF_FS_FILE ? " (the host image file)"
							 : " (the host directory)");
	if (src && !ram)
		vf_dec__abspath(d, src, p_src, &fs->source);
	if (use && ram) {
		size_t before = d->diags->n;
		uint64_t bytes = 0;
		vf_dec__size(d, use, p_use, &bytes);
		if (d->diags->n == before && (bytes == 0 || bytes % 1024 != 0))
			vf_dec__fail(d, VF_E_SCHEMA, use->pos,
				     "invalid %s: a tmpfs size is greater than zero and a multiple of 1 KiB", p_use);
		else if (d->diags->n == before)
			fs->usage = bytes;
	}
	if ((v = vf_ynode_get(n, "readonly")))
		vf_dec__bool(d, v, p_ro, &fs->readonly);
}

static void vf_dec__idmap_list(vf_dec *d, const vf_ynode *n, const char *path,
			       vf_idmap_range **out, size_t *n_out)
{
	static const char *const fields[] = { "start", "target", "count", NULL };
	if (!vf_dec__seq(d, n, path))
		return;
	if (n->n_items == 0)
		vf_dec__fail(d, VF_E_SCHEMA, n->pos, "%s must list at least one range", path);
	*out = vf_calloc(n->n_items + 1, sizeof(**out));
	for (size_t i = 0; i < n->n_items; i++) {
		const vf_ynode *it = n->items[i];
		_cleanup_free_ char *p = vf_asprintf("%s[%zu]", path, i);
		if (!vf_dec__map(d, it, p))
			continue;
		_cleanup_free_ char *where = vf_asprintf("Domain %s", p);
		vf_dec__fields(d, it, fields, where);
		vf_idmap_range r = { .pos = it->pos };
		uint64_t u[3] = { 0 };
		bool ok = true;
		for (size_t f = 0; f < 3; f++) {
			const vf_ynode *v = vf_ynode_get(it, fields[f]);
			_cleanup_free_ char *pf = vf_asprintf("%s.%s", p, fields[f]);
			if (!v) {
				vf_dec__missing(d, it, fields[f], where, NULL);
				ok = false;
			} else if (!vf_dec__uint(d, v, pf, f == 2 ? 1 : 0, UINT32_MAX, &u[f])) {
				ok = false;
			}
		}
		if (!ok)
			continue;
		r.start = (uint32_t)u[0];
		r.target = (uint32_t)u[1];
		r.count = (uint32_t)u[2];
		(*out)[(*n_out)++] = r;
	}
}

static void vf_dec__idmap(vf_dec *d, const vf_ynode *n, vf_domain_spec *ds)
{
	static const char *const fields[] = { "uid", "gid", NULL };
	if (!vf_dec__map(d, n, "spec.idmap"))
		return;
	vf_dec__fields(d, n, fields, "Domain spec.idmap");
	ds->idmap_pos = n->pos;
	const vf_ynode *v;
	/* libvirt maps both or neither: a user namespace needs both maps */
	if ((v = vf_ynode_get(n, "uid")))
		vf_dec__idmap_list(d, v, "spec.idmap.uid", &ds->uidmap, &ds->n_uidmap);
	else
		vf_dec__missing(d, n, "uid", "Domain spec.idmap", " (a user namespace maps both uids and gids)");
	if ((v = vf_ynode_get(n, "gid")))
		vf_dec__idmap_list(d, v, "spec.idmap.gid", &ds->gidmap, &ds->n_gidmap);
	else
		vf_dec__missing(d, n, "gid", "Domain spec.idmap", " (a user namespace maps both uids and gids)");
}

void vf_dec__container(vf_dec *d, const vf_ynode *spec, vf_domain_spec *ds)
{
	vf_dec__kind_fields(d, spec, ds);
	const vf_ynode *v;
	if ((v = vf_ynode_get(spec, "type")))
		ds->type_pos = v->pos;
	if ((v = vf_ynode_get(spec, "init")))
		vf_dec__init(d, v, &ds->init);
	if ((v = vf_ynode_get(spec, "filesystems")) && vf_dec__seq(d, v, "spec.filesystems")) {
		ds->filesystems = vf_calloc(v->n_items + 1, sizeof(*ds->filesystems));
		for (size_t i = 0; i < v->n_items; i++) {
			vf_filesystem *fs = &ds->filesystems[ds->n_filesystems++];
			vf_dec__filesystem(d, v->items[i], i, fs);
			for (size_t j = 0; fs->target && j + 1 < ds->n_filesystems; j++)
				if (vf_streq(ds->filesystems[j].target, fs->target))
					vf_dec__fail(d, VF_E_SCHEMA, vf_ynode_get(v->items[i], "target")->pos,
						     "filesystem target \"%s\" is used twice; first at line %d",
						     fs->target, ds->filesystems[j].pos.line);
		}
	}
	if ((v = vf_ynode_get(spec, "idmap")))
		vf_dec__idmap(d, v, ds);
}
