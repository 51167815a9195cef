/* sections.c: each part of the observed state as a snapshot section, in
 * both directions, and the table that lists them (at the end). Every
 * member is written, null when unset, in a fixed order; reading wants
 * exactly those members. Not for the document around them (snapshot.c).
 * A new kind (Network, say) adds its write/read/one functions here and one
 * line to vf_snap_sections. */
#include "snap.h"
#include "drivers/libvirt/lv.h" /* vf_lv__parse_network: a network's XML, read back */

#define VF_SNAP_APPEND(arr, n, cap) (vf_grow(&(arr), &(cap), (n) + 1, sizeof(*(arr))), \
				     memset(&(arr)[(n)], 0, sizeof(*(arr))), &(arr)[(n)++])

/* ---- shared pieces ---------------------------------------------------------- */

static void vf_snap__uuid(json_object *o, const char *key, const uuid_t u)
{
	char s[37];
	uuid_unparse_lower(u, s);
	vf_jw_str(o, key, s);
}

static void vf_snap__read_uuid(vf_jr *jr, json_object *o, const char *path, const char *key,
			       uuid_t out)
{
	_cleanup_free_ char *s = vf_jr_str(jr, o, path, key, false);
	if (s && uuid_parse(s, out) < 0)
		vf_jr_fail(jr, path, key, "not a UUID");
}

static void vf_snap__perms(json_object *o, int64_t owner, int64_t group, int32_t mode)
{
	vf_jw_i64(o, "owner", owner);
	vf_jw_i64(o, "group", group);
	vf_jw_i64(o, "mode", mode);
}

static void vf_snap__read_perms(vf_jr *jr, json_object *o, const char *path, int64_t *owner,
				int64_t *group, int32_t *mode)
{
	*owner = vf_jr_i64(jr, o, path, "owner", -1, UINT32_MAX);
	*group = vf_jr_i64(jr, o, path, "group", -1, UINT32_MAX);
	*mode = (int32_t)vf_jr_i64(jr, o, path, "mode", -1, 07777);
}

static const char *const vf_snap_lease_keys[] = { "held", "shared", "pid", "command",
						  "lockspace", "lock_path", NULL };

static json_object *vf_snap__lease(const vf_lease *l)
{
	json_object *o = json_object_new_object();
	vf_jw_bool(o, "held", l->held);
	vf_jw_bool(o, "shared", l->shared);
	vf_jw_i64(o, "pid", l->pid);
	vf_jw_str(o, "command", l->command);
	vf_jw_str(o, "lockspace", l->lockspace);
	vf_jw_str(o, "lock_path", l->lock_path);
	return o;
}

static void vf_snap__read_lease(vf_jr *jr, json_object *parent, const char *ppath, vf_lease *l)
{
	_cleanup_free_ char *path = vf_jr_path(ppath, "lease");
	json_object *o = vf_jr_get(parent, "lease");
	if (!vf_jr_object(jr, o, path, vf_snap_lease_keys))
		return;
	l->held = vf_jr_bool(jr, o, path, "held");
	l->shared = vf_jr_bool(jr, o, path, "shared");
	l->pid = (pid_t)vf_jr_i64(jr, o, path, "pid", 0, INT32_MAX);
	l->command = vf_jr_str(jr, o, path, "command", true);
	l->lockspace = vf_jr_str(jr, o, path, "lockspace", true);
	l->lock_path = vf_jr_str(jr, o, path, "lock_path", true);
}

static json_object *vf_snap__strings(char *const *v, size_t n)
{
	json_object *a = json_object_new_array();
	for (size_t i = 0; i < n; i++)
		json_object_array_add(a, json_object_new_string(v[i]));
	return a;
}

/* Walk an array member: for each element, its path and value. */
#define VF_SNAP_EACH(jr, arr, path, i, epath, ev)                                            \
	for (size_t i = 0, n_##i = (arr) ? json_object_array_length(arr) : 0; i < n_##i &&   \
	     !(jr)->failed; i++)                                                              \
		for (char *epath = vf_jr_index(path, i), *once_##i = epath; once_##i;                \
		     free(epath), once_##i = NULL)                                               \
			for (json_object *ev = json_object_array_get_idx(arr, i); ev; ev = NULL)

static void vf_snap__read_strings(vf_jr *jr, json_object *o, const char *path, const char *key,
				  char ***out, size_t *n_out)
{
	size_t n = 0, cap = 0;
	json_object *arr = vf_jr_array(jr, o, path, key, &n);
	_cleanup_free_ char *ap = vf_jr_path(path, key);
	VF_SNAP_EACH(jr, arr, ap, k, xp, x) {
		if (!json_object_is_type(x, json_type_string)) {
			vf_jr_fail(jr, xp, NULL, "expected a string");
			break;
		}
		VF_APPEND(*out, *n_out, cap, vf_strdup(json_object_get_string(x)));
	}
}

static bool vf_snap__is_array(vf_jr *jr, json_object *v, const char *path)
{
	if (json_object_is_type(v, json_type_array))
		return true;
	vf_jr_fail(jr, path, NULL, "expected an array");
	return false;
}


static const char *const vf_snap_applied_keys[] = { "digest", "manifest", "normalised",
						    "normalised_digest", NULL };

/* ---- the record of an xml: define (domains, networks, pools) ---- */

static json_object *vf_snap__record(const vf_xml_record *r)
{
	json_object *a = json_object_new_object();
	vf_jw_str(a, "digest", r->digest);
	vf_jw_str(a, "manifest", r->manifest);
	vf_jw_str(a, "normalised", r->normalised);
	vf_jw_str(a, "normalised_digest", r->normalised_digest);
	return a;
}

static void vf_snap__read_record(vf_jr *jr, json_object *e, const char *ep, vf_xml_record *r)
{
	_cleanup_free_ char *ap = vf_jr_path(ep, "applied");
	json_object *a = vf_jr_get(e, "applied");
	if (vf_jr_object(jr, a, ap, vf_snap_applied_keys)) {
		r->digest = vf_jr_str(jr, a, ap, "digest", true);
		r->manifest = vf_jr_str(jr, a, ap, "manifest", true);
		r->normalised = vf_jr_str(jr, a, ap, "normalised", true);
		r->normalised_digest = vf_jr_str(jr, a, ap, "normalised_digest", true);
	}
}

/* ---- pools ------------------------------------------------------------------ */

static const char *const vf_snap_pool_keys[] = {
	"name", "uuid", "type", "type_name", "target_path", "source", "active", "autostart",
	"persistent", "owner", "group", "mode", "capacity", "available", "entries",
	"contents_known", "contents_note", "xml_bare", "xml_bare_digest", "applied", NULL,
};
static const char *const vf_snap_source_keys[] = { "device", "host", "dir", "name", "format",
						   NULL };

static json_object *vf_snap__pool(const vf_obs_pool *p)
{
	json_object *o = json_object_new_object();
	vf_jw_str(o, "name", p->name);
	vf_snap__uuid(o, "uuid", p->uuid);
	vf_jw_str(o, "type", vf_pool_type_to_string(p->type));
	vf_jw_str(o, "type_name", p->type_name);
	vf_jw_str(o, "target_path", p->target_path);
	json_object *s = json_object_new_object();
	vf_jw_str(s, "device", p->source.device);
	vf_jw_str(s, "host", p->source.host);
	vf_jw_str(s, "dir", p->source.dir);
	vf_jw_str(s, "name", p->source.name);
	vf_jw_str(s, "format", p->source.format);
	json_object_object_add(o, "source", s);
	vf_jw_bool(o, "active", p->active);
	vf_jw_bool(o, "autostart", p->autostart);
	vf_jw_bool(o, "persistent", p->persistent);
	vf_snap__perms(o, p->owner, p->group, p->mode);
	vf_jw_u64(o, "capacity", p->capacity);
	vf_jw_u64(o, "available", p->available);
	json_object_object_add(o, "entries", vf_snap__strings(p->entries, p->n_entries));
	vf_jw_bool(o, "contents_known", p->contents_known);
	vf_jw_str(o, "contents_note", p->contents_note);
	vf_jw_str(o, "xml_bare", p->xml_bare);
	vf_jw_str(o, "xml_bare_digest", p->xml_bare_digest);
	json_object_object_add(o, "applied", vf_snap__record(&p->applied));
	return o;
}

static json_object *vf_snap__pools(const vf_observed *o)
{
	json_object *a = json_object_new_array();
	for (size_t i = 0; i < o->n_pools; i++)
		json_object_array_add(a, vf_snap__pool(&o->pools[i]));
	return a;
}

static void vf_snap__read_pools(vf_jr *jr, json_object *v, const char *path, vf_observed *out)
{
	size_t cap = 0;
	if (!vf_snap__is_array(jr, v, path))
		return;
	VF_SNAP_EACH(jr, v, path, i, ep, e) {
		if (!vf_jr_object(jr, e, ep, vf_snap_pool_keys))
			break;
		vf_obs_pool *p = VF_SNAP_APPEND(out->pools, out->n_pools, cap);
		p->name = vf_jr_str(jr, e, ep, "name", false);
		vf_snap__read_uuid(jr, e, ep, "uuid", p->uuid);
		p->type = vf_jr_enum(jr, e, ep, "type", vf_pool_type_from_string, true, 0);
		p->type_name = vf_jr_str(jr, e, ep, "type_name", false);
		p->target_path = vf_jr_str(jr, e, ep, "target_path", true);
		_cleanup_free_ char *sp = vf_jr_path(ep, "source");
		json_object *s = vf_jr_get(e, "source");
		if (vf_jr_object(jr, s, sp, vf_snap_source_keys)) {
			p->source.device = vf_jr_str(jr, s, sp, "device", true);
			p->source.host = vf_jr_str(jr, s, sp, "host", true);
			p->source.dir = vf_jr_str(jr, s, sp, "dir", true);
			p->source.name = vf_jr_str(jr, s, sp, "name", true);
			p->source.format = vf_jr_str(jr, s, sp, "format", true);
		}
		p->active = vf_jr_bool(jr, e, ep, "active");
		p->autostart = vf_jr_bool(jr, e, ep, "autostart");
		p->persistent = vf_jr_bool(jr, e, ep, "persistent");
		vf_snap__read_perms(jr, e, ep, &p->owner, &p->group, &p->mode);
		p->capacity = vf_jr_u64(jr, e, ep, "capacity");
		p->available = vf_jr_u64(jr, e, ep, "available");
		vf_snap__read_strings(jr, e, ep, "entries", &p->entries, &p->n_entries);
		p->contents_known = vf_jr_bool(jr, e, ep, "contents_known");
		p->contents_note = vf_jr_str(jr, e, ep, "contents_note", true);
		p->xml_bare = vf_jr_str(jr, e, ep, "xml_bare", true);
		p->xml_bare_digest = vf_jr_str(jr, e, ep, "xml_bare_digest", true);
		if (vf_jr_get(e, "applied")) /* absent in snapshots from before pool records */
			vf_snap__read_record(jr, e, ep, &p->applied);
	}
}

static json_object *vf_snap__one_pool(const vf_observed *o, const char *pool, const char *name)
{
	const vf_obs_pool *p = vf_observed_pool(o, name);
	return p ? vf_snap__pool(p) : NULL;
}

/* ---- volumes ---------------------------------------------------------------- */

static const char *const vf_snap_volume_keys[] = {
	"pool", "name", "path", "capacity", "allocation", "format", "format_name", "backing_path",
	"owner", "group", "mode", "lease", NULL,
};

static json_object *vf_snap__volume(const vf_obs_volume *v)
{
	json_object *o = json_object_new_object();
	vf_jw_str(o, "pool", v->pool);
	vf_jw_str(o, "name", v->name);
	vf_jw_str(o, "path", v->path);
	vf_jw_u64(o, "capacity", v->capacity);
	vf_jw_u64(o, "allocation", v->allocation);
	vf_jw_str(o, "format", vf_vol_format_to_string(v->format));
	vf_jw_str(o, "format_name", v->format_name);
	vf_jw_str(o, "backing_path", v->backing_path);
	vf_snap__perms(o, v->owner, v->group, v->mode);
	json_object_object_add(o, "lease", vf_snap__lease(&v->lease));
	return o;
}

static json_object *vf_snap__volumes(const vf_observed *o)
{
	json_object *a = json_object_new_array();
	for (size_t i = 0; i < o->n_volumes; i++)
		json_object_array_add(a, vf_snap__volume(&o->volumes[i]));
	return a;
}

static void vf_snap__read_volumes(vf_jr *jr, json_object *v, const char *path, vf_observed *out)
{
	size_t cap = 0;
	if (!vf_snap__is_array(jr, v, path))
		return;
	VF_SNAP_EACH(jr, v, path, i, ep, e) {
		if (!vf_jr_object(jr, e, ep, vf_snap_volume_keys))
			break;
		vf_obs_volume *x = VF_SNAP_APPEND(out->volumes, out->n_volumes, cap);
		x->pool = vf_jr_str(jr, e, ep, "pool", false);
		x->name = vf_jr_str(jr, e, ep, "name", false);
		x->path = vf_jr_str(jr, e, ep, "path", true);
		x->capacity = vf_jr_u64(jr, e, ep, "capacity");
		x->allocation = vf_jr_u64(jr, e, ep, "allocation");
		x->format = vf_jr_enum(jr, e, ep, "format", vf_vol_format_from_string, true, 0);
		x->format_name = vf_jr_str(jr, e, ep, "format_name", true);
		x->backing_path = vf_jr_str(jr, e, ep, "backing_path", true);
		vf_snap__read_perms(jr, e, ep, &x->owner, &x->group, &x->mode);
		vf_snap__read_lease(jr, e, ep, &x->lease);
	}
}

static json_object *vf_snap__one_volume(const vf_observed *o, const char *pool, const char *name)
{
	const vf_obs_volume *v = vf_observed_volume(o, pool, name);
	return v ? vf_snap__volume(v) : NULL;
}

/* ---- domains ---------------------------------------------------------------- */

static const char *const vf_snap_domain_keys[] = {
	"name", "uuid", "type", "vcpus", "boot_vcpus", "memory", "current_memory", "cpu_mode",
	"machine", "firmware", "boot", "disks", "interfaces", "graphics", "graphics_listen",
	"serial_console", "serial_log", "serial_log_append", "state", "state_name", "autostart",
	"persistent", "managed", "seed_hash", "xml", "applied", "xml_bare", "xml_bare_digest",
	"live_vcpus", "live_memory", "live_max_vcpus", "live_max_memory", "init", "init_args",
	"init_env", "filesystems", "uidmap", "gidmap", "fence_host", "fence_token", NULL,
};
static const char *const vf_snap_fs_keys[] = { "type", "source", "target", "readonly", "usage",
					       NULL };
static const char *const vf_snap_idmap_keys[] = { "start", "target", "count", NULL };
static const char *const vf_snap_env_keys[] = { "name", "value", NULL };
static const char *const vf_snap_disk_keys[] = {
	"type", "path", "pool", "volume", "target", "bus", "device", "readonly", "shareable",
	"cache", "lease", NULL,
};
static const char *const vf_snap_iface_keys[] = { "network", "bridge", "model", "mac", NULL };

static const char *const vf_snap_disk_type_table[] = {
	[VF_OBS_DISK_FILE] = "file", [VF_OBS_DISK_BLOCK] = "block",
	[VF_OBS_DISK_VOLUME] = "volume", [VF_OBS_DISK_OTHER] = "other",
};
static int vf_snap__disk_type(const char *s)
{
	for (size_t i = 0; i < VF_ARRAY_SIZE(vf_snap_disk_type_table); i++)
		if (strcmp(vf_snap_disk_type_table[i], s) == 0)
			return (int)i;
	return -1;
}

/* ---- containers' parts of a domain ---- */

static json_object *vf_snap__idmap(const vf_idmap_range *r, size_t n)
{
	json_object *a = json_object_new_array();
	for (size_t i = 0; i < n; i++) {
		json_object *j = json_object_new_object();
		vf_jw_u64(j, "start", r[i].start);
		vf_jw_u64(j, "target", r[i].target);
		vf_jw_u64(j, "count", r[i].count);
		json_object_array_add(a, j);
	}
	return a;
}

static void vf_snap__container(json_object *o, const vf_obs_domain *d)
{
	vf_jw_str(o, "init", d->init);
	json_object_object_add(o, "init_args", vf_snap__strings(d->init_args, d->n_init_args));
	json_object *env = json_object_new_array();
	for (size_t i = 0; i < d->n_init_env; i++) {
		json_object *j = json_object_new_object();
		vf_jw_str(j, "name", d->init_env[i].key);
		vf_jw_str(j, "value", d->init_env[i].value);
		json_object_array_add(env, j);
	}
	json_object_object_add(o, "init_env", env);
	json_object *fss = json_object_new_array();
	for (size_t i = 0; i < d->n_filesystems; i++) {
		const vf_filesystem *fs = &d->filesystems[i];
		json_object *j = json_object_new_object();
		vf_jw_str(j, "type", fs->type ? vf_fs_type_to_string(fs->type) : NULL);
		vf_jw_str(j, "source", fs->source);
		vf_jw_str(j, "target", fs->target);
		vf_jw_bool(j, "readonly", fs->readonly);
		vf_jw_u64(j, "usage", fs->usage);
		json_object_array_add(fss, j);
	}
	json_object_object_add(o, "filesystems", fss);
	json_object_object_add(o, "uidmap", vf_snap__idmap(d->uidmap, d->n_uidmap));
	json_object_object_add(o, "gidmap", vf_snap__idmap(d->gidmap, d->n_gidmap));
}

static void vf_snap__read_idmap(vf_jr *jr, json_object *e, const char *ep, const char *key,
				vf_idmap_range **out, size_t *n_out)
{
	size_t n = 0, cap = 0;
	json_object *arr = vf_jr_array(jr, e, ep, key, &n);
	_cleanup_free_ char *path = vf_jr_path(ep, key);
	VF_SNAP_EACH(jr, arr, path, i, kp, k) {
		if (!vf_jr_object(jr, k, kp, vf_snap_idmap_keys))
			break;
		vf_idmap_range *x = VF_SNAP_APPEND(*out, *n_out, cap);
		x->start = (uint32_t)vf_jr_i64(jr, k, kp, "start", 0, UINT32_MAX);
		x->target = (uint32_t)vf_jr_i64(jr, k, kp, "target", 0, UINT32_MAX);
		x->count = (uint32_t)vf_jr_i64(jr, k, kp, "count", 0, UINT32_MAX);
	}
}

static void vf_snap__read_container(vf_jr *jr, json_object *e, const char *ep, vf_obs_domain *d)
{
	d->init = vf_jr_str(jr, e, ep, "init", true);
	vf_snap__read_strings(jr, e, ep, "init_args", &d->init_args, &d->n_init_args);
	size_t n = 0, cap = 0;
	json_object *env = vf_jr_array(jr, e, ep, "init_env", &n);
	_cleanup_free_ char *envp = vf_jr_path(ep, "init_env");
	VF_SNAP_EACH(jr, env, envp, i, kp, k) {
		if (!vf_jr_object(jr, k, kp, vf_snap_env_keys))
			break;
		vf_kv *x = VF_SNAP_APPEND(d->init_env, d->n_init_env, cap);
		x->key = vf_jr_str(jr, k, kp, "name", false);
		x->value = vf_jr_str(jr, k, kp, "value", false);
	}
	cap = 0;
	json_object *fss = vf_jr_array(jr, e, ep, "filesystems", &n);
	_cleanup_free_ char *fsp = vf_jr_path(ep, "filesystems");
	VF_SNAP_EACH(jr, fss, fsp, i, kp, k) {
		if (!vf_jr_object(jr, k, kp, vf_snap_fs_keys))
			break;
		vf_filesystem *x = VF_SNAP_APPEND(d->filesystems, d->n_filesystems, cap);
		x->type = vf_jr_enum(jr, k, kp, "type", vf_fs_type_from_string, true, 0);
		x->source = vf_jr_str(jr, k, kp, "source", true);
		x->target = vf_jr_str(jr, k, kp, "target", true);
		x->readonly = vf_jr_bool(jr, k, kp, "readonly");
		x->usage = vf_jr_u64(jr, k, kp, "usage");
	}
	vf_snap__read_idmap(jr, e, ep, "uidmap", &d->uidmap, &d->n_uidmap);
	vf_snap__read_idmap(jr, e, ep, "gidmap", &d->gidmap, &d->n_gidmap);
}

static json_object *vf_snap__domain(const vf_obs_domain *d)
{
	json_object *o = json_object_new_object();
	vf_jw_str(o, "name", d->name);
	vf_snap__uuid(o, "uuid", d->uuid);
	vf_jw_str(o, "type", d->type);
	vf_jw_u64(o, "vcpus", d->vcpus);
	vf_jw_u64(o, "boot_vcpus", d->boot_vcpus);
	vf_jw_u64(o, "memory", d->memory);
	vf_jw_u64(o, "current_memory", d->current_memory);
	vf_jw_str(o, "cpu_mode", vf_cpu_mode_to_string(d->cpu_mode));
	vf_jw_str(o, "machine", d->machine);
	vf_jw_str(o, "firmware", vf_firmware_to_string(d->firmware));
	json_object *boot = json_object_new_array();
	for (size_t i = 0; i < d->n_boot; i++)
		json_object_array_add(boot, json_object_new_string(vf_boot_dev_to_string(d->boot[i])));
	json_object_object_add(o, "boot", boot);
	json_object *disks = json_object_new_array();
	for (size_t i = 0; i < d->n_disks; i++) {
		const vf_obs_disk *k = &d->disks[i];
		json_object *j = json_object_new_object();
		vf_jw_str(j, "type", vf_snap_disk_type_table[k->type]);
		vf_jw_str(j, "path", k->path);
		vf_jw_str(j, "pool", k->pool);
		vf_jw_str(j, "volume", k->volume);
		vf_jw_str(j, "target", k->target);
		vf_jw_str(j, "bus", vf_disk_bus_to_string(k->bus));
		vf_jw_str(j, "device", vf_disk_device_to_string(k->device));
		vf_jw_bool(j, "readonly", k->readonly);
		vf_jw_bool(j, "shareable", k->shareable);
		vf_jw_str(j, "cache", vf_disk_cache_to_string(k->cache));
		json_object_object_add(j, "lease", vf_snap__lease(&k->lease));
		json_object_array_add(disks, j);
	}
	json_object_object_add(o, "disks", disks);
	json_object *ifaces = json_object_new_array();
	for (size_t i = 0; i < d->n_ifaces; i++) {
		json_object *j = json_object_new_object();
		vf_jw_str(j, "network", d->ifaces[i].network);
		vf_jw_str(j, "bridge", d->ifaces[i].bridge);
		vf_jw_str(j, "model", d->ifaces[i].model);
		vf_jw_str(j, "mac", d->ifaces[i].mac);
		json_object_array_add(ifaces, j);
	}
	json_object_object_add(o, "interfaces", ifaces);
	vf_jw_str(o, "graphics", vf_graphics_type_to_string(d->graphics));
	vf_jw_str(o, "graphics_listen", d->graphics_listen);
	vf_jw_bool(o, "serial_console", d->serial_console);
	vf_jw_str(o, "serial_log", d->serial_log);
	vf_jw_bool(o, "serial_log_append", d->serial_log_append);
	vf_jw_str(o, "state", vf_run_state_to_string(d->state));
	vf_jw_str(o, "state_name", d->state_name);
	vf_jw_bool(o, "autostart", d->autostart);
	vf_jw_bool(o, "persistent", d->persistent);
	vf_jw_bool(o, "managed", d->managed);
	vf_jw_str(o, "seed_hash", d->seed_hash);
	vf_jw_str(o, "fence_host", d->fence_host);
	vf_jw_u64(o, "fence_token", d->fence_token);
	vf_jw_str(o, "xml", d->xml);
	json_object_object_add(o, "applied", vf_snap__record(&d->applied));
	vf_jw_str(o, "xml_bare", d->xml_bare);
	vf_jw_str(o, "xml_bare_digest", d->xml_bare_digest);
	vf_jw_u64(o, "live_vcpus", d->live_vcpus);
	vf_jw_u64(o, "live_memory", d->live_memory);
	vf_jw_u64(o, "live_max_vcpus", d->live_max_vcpus);
	vf_jw_u64(o, "live_max_memory", d->live_max_memory);
	vf_snap__container(o, d);
	return o;
}

static json_object *vf_snap__domains(const vf_observed *o)
{
	json_object *a = json_object_new_array();
	for (size_t i = 0; i < o->n_domains; i++)
		json_object_array_add(a, vf_snap__domain(&o->domains[i]));
	return a;
}

static void vf_snap__read_disks(vf_jr *jr, json_object *e, const char *ep, vf_obs_domain *d)
{
	size_t n = 0, cap = 0;
	json_object *arr = vf_jr_array(jr, e, ep, "disks", &n);
	_cleanup_free_ char *path = vf_jr_path(ep, "disks");
	VF_SNAP_EACH(jr, arr, path, i, kp, k) {
		if (!vf_jr_object(jr, k, kp, vf_snap_disk_keys))
			break;
		vf_obs_disk *x = VF_SNAP_APPEND(d->disks, d->n_disks, cap);
		x->type = vf_jr_enum(jr, k, kp, "type", vf_snap__disk_type, false, 0);
		x->path = vf_jr_str(jr, k, kp, "path", true);
		x->pool = vf_jr_str(jr, k, kp, "pool", true);
		x->volume = vf_jr_str(jr, k, kp, "volume", true);
		x->target = vf_jr_str(jr, k, kp, "target", true);
		x->bus = vf_jr_enum(jr, k, kp, "bus", vf_disk_bus_from_string, true, 0);
		x->device = vf_jr_enum(jr, k, kp, "device", vf_disk_device_from_string, true, 0);
		x->readonly = vf_jr_bool(jr, k, kp, "readonly");
		x->shareable = vf_jr_bool(jr, k, kp, "shareable");
		x->cache = vf_jr_enum(jr, k, kp, "cache", vf_disk_cache_from_string, true, 0);
		vf_snap__read_lease(jr, k, kp, &x->lease);
	}
}

static void vf_snap__read_ifaces(vf_jr *jr, json_object *e, const char *ep, vf_obs_domain *d)
{
	size_t n = 0, cap = 0;
	json_object *arr = vf_jr_array(jr, e, ep, "interfaces", &n);
	_cleanup_free_ char *path = vf_jr_path(ep, "interfaces");
	VF_SNAP_EACH(jr, arr, path, i, kp, k) {
		if (!vf_jr_object(jr, k, kp, vf_snap_iface_keys))
			break;
		vf_obs_iface *x = VF_SNAP_APPEND(d->ifaces, d->n_ifaces, cap);
		x->network = vf_jr_str(jr, k, kp, "network", true);
		x->bridge = vf_jr_str(jr, k, kp, "bridge", true);
		x->model = vf_jr_str(jr, k, kp, "model", true);
		x->mac = vf_jr_str(jr, k, kp, "mac", true);
	}
}

static void vf_snap__read_domains(vf_jr *jr, json_object *v, const char *path, vf_observed *out)
{
	size_t cap = 0;
	if (!vf_snap__is_array(jr, v, path))
		return;
	VF_SNAP_EACH(jr, v, path, i, ep, e) {
		if (!vf_jr_object(jr, e, ep, vf_snap_domain_keys))
			break;
		vf_obs_domain *d = VF_SNAP_APPEND(out->domains, out->n_domains, cap);
		d->name = vf_jr_str(jr, e, ep, "name", false);
		vf_snap__read_uuid(jr, e, ep, "uuid", d->uuid);
		d->type = vf_jr_str(jr, e, ep, "type", true);
		d->vcpus = (uint32_t)vf_jr_i64(jr, e, ep, "vcpus", 0, UINT32_MAX);
		d->boot_vcpus = (uint32_t)vf_jr_i64(jr, e, ep, "boot_vcpus", 0, UINT32_MAX);
		d->memory = vf_jr_u64(jr, e, ep, "memory");
		d->current_memory = vf_jr_u64(jr, e, ep, "current_memory");
		d->cpu_mode = vf_jr_enum(jr, e, ep, "cpu_mode", vf_cpu_mode_from_string, true, 0);
		d->machine = vf_jr_str(jr, e, ep, "machine", true);
		d->firmware = vf_jr_enum(jr, e, ep, "firmware", vf_firmware_from_string, true, 0);
		size_t nb = 0, bcap = 0;
		json_object *boot = vf_jr_array(jr, e, ep, "boot", &nb);
		_cleanup_free_ char *bp = vf_jr_path(ep, "boot");
		VF_SNAP_EACH(jr, boot, bp, k, xp, x) {
			int b = json_object_is_type(x, json_type_string)
				? vf_boot_dev_from_string(json_object_get_string(x)) : -1;
			if (b <= 0) {
				vf_jr_fail(jr, xp, NULL, "expected a boot device (hd, cdrom, network, fd)");
				break;
			}
			VF_APPEND(d->boot, d->n_boot, bcap, (vf_boot_dev)b);
		}
		vf_snap__read_disks(jr, e, ep, d);
		vf_snap__read_ifaces(jr, e, ep, d);
		d->graphics = vf_jr_enum(jr, e, ep, "graphics", vf_graphics_type_from_string, true, 0);
		d->graphics_listen = vf_jr_str(jr, e, ep, "graphics_listen", true);
		d->serial_console = vf_jr_bool(jr, e, ep, "serial_console");
		d->serial_log = vf_jr_str(jr, e, ep, "serial_log", true);
		d->serial_log_append = vf_jr_bool(jr, e, ep, "serial_log_append");
		d->state = vf_jr_enum(jr, e, ep, "state", vf_run_state_from_string, true, 0);
		d->state_name = vf_jr_str(jr, e, ep, "state_name", true);
		d->autostart = vf_jr_bool(jr, e, ep, "autostart");
		d->persistent = vf_jr_bool(jr, e, ep, "persistent");
		d->managed = vf_jr_bool(jr, e, ep, "managed");
		d->seed_hash = vf_jr_str(jr, e, ep, "seed_hash", true);
		if (vf_jr_get(e, "fence_host")) { /* absent in snapshots from before the fleet */
			d->fence_host = vf_jr_str(jr, e, ep, "fence_host", true);
			d->fence_token = vf_jr_u64(jr, e, ep, "fence_token");
		}
		d->xml = vf_jr_str(jr, e, ep, "xml", true);
		vf_snap__read_record(jr, e, ep, &d->applied);
		d->xml_bare = vf_jr_str(jr, e, ep, "xml_bare", true);
		d->xml_bare_digest = vf_jr_str(jr, e, ep, "xml_bare_digest", true);
		d->live_vcpus = (uint32_t)vf_jr_i64(jr, e, ep, "live_vcpus", 0, UINT32_MAX);
		d->live_memory = vf_jr_u64(jr, e, ep, "live_memory");
		d->live_max_vcpus = (uint32_t)vf_jr_i64(jr, e, ep, "live_max_vcpus", 0, UINT32_MAX);
		d->live_max_memory = vf_jr_u64(jr, e, ep, "live_max_memory");
		vf_snap__read_container(jr, e, ep, d);
	}
}

static json_object *vf_snap__one_domain(const vf_observed *o, const char *pool, const char *name)
{
	const vf_obs_domain *d = vf_observed_domain(o, name);
	return d ? vf_snap__domain(d) : NULL;
}

/* ---- networks ------------------------------------------------------------------ */

/* A network's description is what its inactive XML says: the snapshot keeps
 * the XML and reads the description back with the libvirt driver's own
 * parser, so the two can never disagree. */
static const char *const vf_snap_network_keys[] = {
	"name", "uuid", "active", "autostart", "persistent", "managed", "live_bridge", "xml",
	"applied", "xml_bare", NULL,
};

static json_object *vf_snap__network(const vf_obs_network *n)
{
	json_object *o = json_object_new_object();
	vf_jw_str(o, "name", n->name);
	vf_snap__uuid(o, "uuid", n->uuid);
	vf_jw_bool(o, "active", n->active);
	vf_jw_bool(o, "autostart", n->autostart);
	vf_jw_bool(o, "persistent", n->persistent);
	vf_jw_bool(o, "managed", n->managed);
	vf_jw_str(o, "live_bridge", n->live_bridge);
	vf_jw_str(o, "xml", n->xml);
	json_object_object_add(o, "applied", vf_snap__record(&n->applied));
	vf_jw_str(o, "xml_bare", n->xml_bare);
	return o;
}

static json_object *vf_snap__networks(const vf_observed *o)
{
	json_object *a = json_object_new_array();
	for (size_t i = 0; i < o->n_networks; i++)
		json_object_array_add(a, vf_snap__network(&o->networks[i]));
	return a;
}

static void vf_snap__read_networks(vf_jr *jr, json_object *v, const char *path, vf_observed *out)
{
	size_t cap = 0;
	if (!vf_snap__is_array(jr, v, path))
		return;
	VF_SNAP_EACH(jr, v, path, i, ep, e) {
		if (!vf_jr_object(jr, e, ep, vf_snap_network_keys))
			break;
		vf_obs_network *n = VF_SNAP_APPEND(out->networks, out->n_networks, cap);
		n->name = vf_jr_str(jr, e, ep, "name", false);
		vf_snap__read_uuid(jr, e, ep, "uuid", n->uuid);
		n->active = vf_jr_bool(jr, e, ep, "active");
		n->autostart = vf_jr_bool(jr, e, ep, "autostart");
		n->persistent = vf_jr_bool(jr, e, ep, "persistent");
		n->managed = vf_jr_bool(jr, e, ep, "managed");
		n->live_bridge = vf_jr_str(jr, e, ep, "live_bridge", true);
		n->xml = vf_jr_str(jr, e, ep, "xml", false);
		vf_snap__read_record(jr, e, ep, &n->applied);
		n->xml_bare = vf_jr_str(jr, e, ep, "xml_bare", true);
		if (jr->failed || !n->xml)
			break;
		bool managed = false;
		vf_error perr = { 0 };
		if (vf_lv__parse_network(n->xml, &n->def, &managed, &perr) < 0) {
			_cleanup_free_ char *xp = vf_jr_path(ep, "xml");
			vf_jr_fail(jr, xp, NULL, "%s",
				   perr.message ? perr.message : "not a libvirt network document");
			vf_error_clear(&perr);
			break;
		}
	}
}

static json_object *vf_snap__one_network(const vf_observed *o, const char *pool, const char *name)
{
	const vf_obs_network *n = vf_observed_network(o, name);
	return n ? vf_snap__network(n) : NULL;
}

/* ---- host interfaces: bridge names and subnets already taken ------------------- */

static const char *const vf_snap_hostif_keys[] = { "name", "addrs", NULL };

static json_object *vf_snap__hostifs(const vf_observed *o)
{
	json_object *a = json_object_new_array();
	for (size_t i = 0; i < o->n_hostifs; i++) {
		json_object *j = json_object_new_object();
		vf_jw_str(j, "name", o->hostifs[i].name);
		json_object_object_add(j, "addrs",
				       vf_snap__strings(o->hostifs[i].addrs, o->hostifs[i].n_addrs));
		json_object_array_add(a, j);
	}
	return a;
}

static void vf_snap__read_hostifs(vf_jr *jr, json_object *v, const char *path, vf_observed *out)
{
	size_t cap = 0;
	if (!vf_snap__is_array(jr, v, path))
		return;
	VF_SNAP_EACH(jr, v, path, i, ep, e) {
		if (!vf_jr_object(jr, e, ep, vf_snap_hostif_keys))
			break;
		vf_obs_hostif *h = VF_SNAP_APPEND(out->hostifs, out->n_hostifs, cap);
		h->name = vf_jr_str(jr, e, ep, "name", false);
		vf_snap__read_strings(jr, e, ep, "addrs", &h->addrs, &h->n_addrs);
	}
}

/* ---- capabilities: what the planner reads of the host itself ---------------- */

static const char *const vf_snap_caps_keys[] = { "hypervisor", "kvm", "domain_types", NULL };

static json_object *vf_snap__caps(const vf_observed *o)
{
	json_object *c = json_object_new_object();
	vf_jw_str(c, "hypervisor", o->hv_type);
	vf_jw_bool(c, "kvm", o->kvm);
	/* by name, not as the bit set: the enum's order is not the format */
	json_object *types = json_object_new_array();
	for (int t = 0; t < VF_DOMAIN_TYPE_MAX; t++)
		if (o->domain_types & (1u << t))
			json_object_array_add(types, json_object_new_string(vf_domain_type_to_string(t)));
	json_object_object_add(c, "domain_types", types);
	return c;
}

static void vf_snap__read_caps(vf_jr *jr, json_object *v, const char *path, vf_observed *out)
{
	if (!vf_jr_object(jr, v, path, vf_snap_caps_keys))
		return;
	out->hv_type = vf_jr_str(jr, v, path, "hypervisor", true);
	out->kvm = vf_jr_bool(jr, v, path, "kvm");
	size_t n = 0;
	json_object *types = vf_jr_array(jr, v, path, "domain_types", &n);
	_cleanup_free_ char *tp = vf_jr_path(path, "domain_types");
	VF_SNAP_EACH(jr, types, tp, i, xp, x) {
		int t = json_object_is_type(x, json_type_string)
			? vf_domain_type_from_string(json_object_get_string(x)) : -1;
		if (t != VF_DOMAIN_KVM && t != VF_DOMAIN_QEMU && t != VF_DOMAIN_LXC) {
			vf_jr_fail(jr, xp, NULL, "expected a domain type (kvm, qemu, lxc)");
			break;
		}
		out->domain_types |= 1u << t;
	}
}

/* Figures libvirt reports that no plan reads and that move by themselves
 * (free space, a guest's writes): never drift, so never staleness. */
static const char *const vf_snap_pool_unplanned[] = { "capacity", "available", NULL };
static const char *const vf_snap_volume_unplanned[] = { "allocation", NULL };

/* ---- the table ---------------------------------------------------------------- */

const vf_snap_section vf_snap_sections[] = {
	{ "capabilities", VF_KIND_MAX, vf_snap__caps, vf_snap__read_caps, NULL, NULL },
	{ "pools", VF_KIND_POOL, vf_snap__pools, vf_snap__read_pools, vf_snap__one_pool,
	  vf_snap_pool_unplanned },
	{ "volumes", VF_KIND_VOLUME, vf_snap__volumes, vf_snap__read_volumes, vf_snap__one_volume,
	  vf_snap_volume_unplanned },
	{ "domains", VF_KIND_DOMAIN, vf_snap__domains, vf_snap__read_domains, vf_snap__one_domain,
	  NULL },
	{ "networks", VF_KIND_NETWORK, vf_snap__networks, vf_snap__read_networks,
	  vf_snap__one_network, NULL },
	{ "host_interfaces", VF_KIND_MAX, vf_snap__hostifs, vf_snap__read_hostifs, NULL, NULL },
};
const size_t vf_snap_n_sections = VF_ARRAY_SIZE(vf_snap_sections);
