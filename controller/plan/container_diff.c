/* container_diff.c: a container's drift in what only containers have:
 * spec.init (path, args, env), spec.filesystems and spec.idmap, compared
 * when the manifest sets them, each a next-boot change (virtform
 * redefines; the running container keeps its own until it restarts).
 * Pure. Not for the fields every domain has (domain_diff.c). */
#include "controller/plan/domain_diff.h"

/* "[-c, run]"; "" for none (shown as absent). */
static char *vf_diff__strlist(char *const *items, size_t n)
{
	vf_buf b = { 0 };
	for (size_t i = 0; i < n; i++)
		vf_buf_printf(&b, "%s%s%s", i ? ", " : "[", items[i], i + 1 == n ? "]" : "");
	return vf_buf_steal(&b);
}

/* "{A: 1, B: 2}"; "" for none. */
static char *vf_diff__env(const vf_kv *env, size_t n)
{
	vf_buf b = { 0 };
	for (size_t i = 0; i < n; i++)
		vf_buf_printf(&b, "%s%s: %s%s", i ? ", " : "{", env[i].key, env[i].value,
			      i + 1 == n ? "}" : "");
	return vf_buf_steal(&b);
}

static char *vf_diff__idmap(const vf_idmap_range *r, size_t n)
{
	vf_buf b = { 0 };
	for (size_t i = 0; i < n; i++)
		vf_buf_printf(&b, "%s%u:%u:%u", i ? " " : "", r[i].start, r[i].target, r[i].count);
	return vf_buf_steal(&b);
}

/* "mount /srv/web at /data (readonly)", for both sides alike. */
static char *vf_diff__fs_desc(vf_fs_type type, const char *source, const char *target,
			      bool readonly, uint64_t usage)
{
	const char *t = type ? vf_fs_type_to_string(type) : "(other)";
	_cleanup_free_ char *src = type == VF_FS_RAM ? vf_format_size(usage)
						     : vf_strdup(source ? source : "-");
	return vf_asprintf("%s %s at %s%s", t, src, target ? target : "-",
			   readonly ? " (readonly)" : "");
}

/* One text per side, compared whole: "spec.X: old -> new". */
static void vf_diff__same(vf_step *s, const char *field, char *have, char *want)
{
	if (!vf_streq(have, want))
		vf_step__change(s, field, *have ? have : NULL, *want ? want : NULL,
				VF_EFFECT_NEXT_BOOT);
	free(have);
	free(want);
}

void vf_diff__container(const vf_domain_spec *ds, const vf_obs_domain *have, vf_step *s)
{
	const vf_init *in = &ds->init;
	if (in->path && !vf_streq(in->path, have->init))
		vf_step__change(s, "spec.init.path", have->init, in->path, VF_EFFECT_NEXT_BOOT);
	if (in->pos.file) { /* spec.init given: its args and env are the whole list */
		vf_diff__same(s, "spec.init.args", vf_diff__strlist(have->init_args, have->n_init_args),
			      vf_diff__strlist(in->args, in->n_args));
		vf_diff__same(s, "spec.init.env", vf_diff__env(have->init_env, have->n_init_env),
			      vf_diff__env(in->env, in->n_env));
	}
	if (ds->n_filesystems) {
		size_t n = ds->n_filesystems > have->n_filesystems ? ds->n_filesystems
								   : have->n_filesystems;
		for (size_t i = 0; i < n; i++) {
			_cleanup_free_ char *f = vf_asprintf("spec.filesystems[%zu]", i);
			const vf_filesystem *w = i < ds->n_filesystems ? &ds->filesystems[i] : NULL;
			const vf_filesystem *h = i < have->n_filesystems ? &have->filesystems[i] : NULL;
			char *wd = w ? vf_diff__fs_desc(w->type ? w->type : VF_FS_MOUNT, w->source,
							 w->target, w->readonly, w->usage)
				     : vf_strdup("");
			char *hd = h ? vf_diff__fs_desc(h->type, h->source, h->target, h->readonly,
							 h->usage)
				     : vf_strdup("");
			vf_diff__same(s, f, hd, wd);
		}
	}
	if (ds->idmap_pos.file) {
		vf_diff__same(s, "spec.idmap.uid", vf_diff__idmap(have->uidmap, have->n_uidmap),
			      vf_diff__idmap(ds->uidmap, ds->n_uidmap));
		vf_diff__same(s, "spec.idmap.gid", vf_diff__idmap(have->gidmap, have->n_gidmap),
			      vf_diff__idmap(ds->gidmap, ds->n_gidmap));
	}
}
