/* pool.c: the storage driver's pool operations: define (or redefine in
 * place) and build without overwriting, start, stop, autostart, undefine
 * (optionally deleting every volume and the target); and observing one
 * pool: its XML, flags, and what its directory holds; a pool's XML, built
 * from its spec and read into observed state. Not for volumes (volume.c). */
#include <dirent.h>
#include <errno.h>

#include "lv.h"

int vf_lv_pool_define(vf_conn *c, const vf_object *o, vf_error *err)
{
	vf_lv__pool_forget(c, o->name);
	/* An existing pool with this UUID is redefined in place. */
	_cleanup_pool_ virStoragePoolPtr old = virStoragePoolLookupByUUID(c->conn, o->uuid);
	bool was_active = old && virStoragePoolIsActive(old) == 1;

	_cleanup_free_ char *xml = vf_lv__pool_xml(o);
	_cleanup_pool_ virStoragePoolPtr p = virStoragePoolDefineXML(c->conn, xml, 0);
	if (!p) {
		/* the name taken by a pool with another UUID: not ours (a conflict) */
		_cleanup_free_ char *msg = vf_strdup(vf_lv__msg());
		_cleanup_pool_ virStoragePoolPtr clash = virStoragePoolLookupByName(c->conn, o->name);
		unsigned char u[VIR_UUID_BUFLEN];
		if (clash && virStoragePoolGetUUID(clash, u) == 0 && memcmp(u, o->uuid, sizeof(u)) != 0)
			return vf_error_set(err, VF_E_CONFLICT,
					    "cannot define storage pool \"%s\": a storage pool of that name already exists with another UUID (%s)",
					    o->name, msg);
		return vf_error_set(err, VF_E_DRIVER, "cannot define storage pool \"%s\": %s",
				    o->name, msg);
	}
	if (was_active)
		return 0; /* building is for a pool that is not in use */

	/* Never overwrite: for types that format a device (fs, logical, disk)
	 * NO_OVERWRITE makes libvirt probe for existing data first. Building a
	 * dir or netfs pool only creates its directory, and libvirt rejects
	 * the flag there ("no source device"); the test driver rejects it too. */
	vf_pool_type t = o->u.pool.type;
	bool formats = t == VF_POOL_FS || t == VF_POOL_LOGICAL || t == VF_POOL_DISK;
	unsigned flags = (c->is_test || !formats) ? 0 : VIR_STORAGE_POOL_BUILD_NO_OVERWRITE;
	if (virStoragePoolBuild(p, flags) < 0 && vf_lv__code() != VIR_ERR_NO_SUPPORT)
		return vf_error_set(err, VF_E_DRIVER, "cannot build storage pool \"%s\": %s",
				    o->name, vf_lv__msg());
	return 0;
}

int vf_lv_pool_record(vf_conn *c, const char *name, char **ret_digest, vf_error *err)
{
	_cleanup_pool_ virStoragePoolPtr p = virStoragePoolLookupByName(c->conn, name);
	_cleanup_free_ char *xml = p ? vf_lv__pool_xml_desc(p) : NULL;
	_cleanup_free_ char *bare = NULL, *digest = NULL;
	if (xml)
		vf_lv__record_pool_bare(xml, &bare, &digest);
	if (!digest)
		return vf_error_set(err, VF_E_DRIVER,
				    "storage pool \"%s\" was defined, but its XML could not be read back to record it: %s",
				    name, xml ? vf_lv__xml_last_error() : vf_lv__msg());
	*ret_digest = TAKE_PTR(digest);
	return 0;
}

int vf_lv_pool_start(vf_conn *c, const char *name, vf_error *err)
{
	_cleanup_pool_ virStoragePoolPtr p = virStoragePoolLookupByName(c->conn, name);
	if (p && virStoragePoolIsActive(p) == 1)
		return 0;
	if (!p || virStoragePoolCreate(p, 0) < 0)
		return vf_error_set(err, VF_E_DRIVER, "cannot start storage pool \"%s\": %s", name,
				    vf_lv__msg());
	return 0;
}

int vf_lv_pool_stop(vf_conn *c, const char *name, vf_error *err)
{
	_cleanup_pool_ virStoragePoolPtr p = virStoragePoolLookupByName(c->conn, name);
	if (p && virStoragePoolIsActive(p) == 0)
		return 0;
	if (!p || virStoragePoolDestroy(p) < 0)
		return vf_error_set(err, VF_E_DRIVER, "cannot stop storage pool \"%s\": %s", name,
				    vf_lv__msg());
	return 0;
}

int vf_lv_pool_set_autostart(vf_conn *c, const char *name, bool on, vf_error *err)
{
	_cleanup_pool_ virStoragePoolPtr p = virStoragePoolLookupByName(c->conn, name);
	if (!p || virStoragePoolSetAutostart(p, on ? 1 : 0) < 0)
		return vf_error_set(err, VF_E_DRIVER,
				    "cannot set autostart of storage pool \"%s\": %s", name,
				    vf_lv__msg());
	return 0;
}

/* Refuse to delete an active pool's data while libvirt lists any volume
 * in it. The plan deleted, in earlier ops, exactly the volumes it checked
 * were virtform's; whatever is listed now appeared after the plan was made
 * (or was never virtform's), and deleting the pool would take it along. */
static int vf_lv__pool_check_empty(virStoragePoolPtr p, const char *name, vf_error *err)
{
	if (virStoragePoolRefresh(p, 0) < 0)
		return vf_error_set(err, VF_E_DRIVER,
				    "cannot refresh storage pool \"%s\" before deleting it: %s", name,
				    vf_lv__msg());
	virStorageVolPtr *vols = NULL;
	int n = virStoragePoolListAllVolumes(p, &vols, 0);
	if (n < 0)
		return vf_error_set(err, VF_E_DRIVER,
				    "cannot list the volumes of storage pool \"%s\": %s", name,
				    vf_lv__msg());
	int r = 0;
	if (n > 0)
		r = vf_error_set(err, VF_E_BLOCKED,
				 "storage pool \"%s\" still holds %d volume%s the plan did not delete (\"%s\" first), which appeared after it was made; left the pool and its data in place",
				 name, n, n == 1 ? "" : "s", virStorageVolGetName(vols[0]));
	for (int i = 0; i < n; i++)
		virStorageVolFree(vols[i]);
	free(vols);
	return r;
}

int vf_lv_pool_undefine(vf_conn *c, const char *name, bool delete_data, vf_error *err)
{
	vf_lv__pool_forget(c, name);
	_cleanup_pool_ virStoragePoolPtr p = virStoragePoolLookupByName(c->conn, name);
	if (!p)
		return vf_error_set(err, VF_E_DRIVER, "cannot undefine storage pool \"%s\": %s",
				    name, vf_lv__msg());
	bool persistent = virStoragePoolIsPersistent(p) == 1;
	if (delete_data) {
		if (virStoragePoolIsActive(p) != 1 && virStoragePoolCreate(p, 0) < 0)
			return vf_error_set(err, VF_E_DRIVER,
					    "cannot start storage pool \"%s\" to delete its volumes: %s",
					    name, vf_lv__msg());
		int r = vf_lv__pool_check_empty(p, name, err);
		if (r < 0)
			return r;
	}
	if (virStoragePoolIsActive(p) == 1 && virStoragePoolDestroy(p) < 0)
		return vf_error_set(err, VF_E_DRIVER, "cannot stop storage pool \"%s\": %s", name,
				    vf_lv__msg());
	if (!persistent)
		return 0; /* a transient pool is gone once stopped */
	if (delete_data && virStoragePoolDelete(p, 0) < 0 && vf_lv__code() != VIR_ERR_NO_SUPPORT)
		return vf_error_set(err, VF_E_DRIVER,
				    "cannot delete the target of storage pool \"%s\": %s", name,
				    vf_lv__msg());
	if (virStoragePoolUndefine(p) < 0)
		return vf_error_set(err, VF_E_DRIVER, "cannot undefine storage pool \"%s\": %s",
				    name, vf_lv__msg());
	return 0;
}

/* ---- what a pool holds ------------------------------------------------------ */

/* The names in p's target directory into p->entries, sorted. A directory
 * that does not exist holds nothing; false, with p->contents_note set,
 * when it cannot be read. */
static bool vf_lv__read_target_dir(vf_obs_pool *p)
{
	DIR *d = opendir(p->target_path);
	if (!d) {
		if (errno == ENOENT)
			return true;
		p->contents_note = vf_asprintf("cannot read its directory %s: %s", p->target_path,
					       strerror(errno));
		return false;
	}
	size_t cap = 0;
	struct dirent *e;
	errno = 0;
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			VF_APPEND(p->entries, p->n_entries, cap, vf_strdup(e->d_name));
		errno = 0;
	}
	int saved = errno;
	closedir(d);
	if (saved) {
		p->contents_note = vf_asprintf("cannot read its directory %s: %s", p->target_path,
					       strerror(saved));
		return false;
	}
	if (p->n_entries)
		qsort(p->entries, p->n_entries, sizeof(*p->entries), vf_lv__str_cmp);
	return true;
}

/* Whether p's volumes and entries are all it holds. A dir pool is its
 * directory, read here, active or not (fs and netfs only while mounted:
 * an unmounted mount point shows nothing of the file system). Other pool
 * types hold what libvirt lists, which it does only while they are active. */
static void vf_lv__pool_contents(vf_obs_pool *p, bool files_local)
{
	bool file_pool = p->type == VF_POOL_DIR || p->type == VF_POOL_FS || p->type == VF_POOL_NETFS;
	if (!file_pool) {
		p->contents_known = p->active;
		if (!p->active)
			p->contents_note = vf_asprintf(
				"it is inactive, and libvirt lists a %s pool's volumes only while it is active",
				p->type_name ? p->type_name : "storage");
	} else if (p->type != VF_POOL_DIR && !p->active) {
		p->contents_note = vf_strdup(
			"it is inactive (not mounted), so what its file system holds cannot be seen");
	} else if (!files_local) {
		p->contents_note = vf_strdup(
			"its files are on another host, and virtform reads only local directories");
	} else if (!p->target_path) {
		p->contents_note = vf_strdup("it has no target path to read");
	} else {
		p->contents_known = vf_lv__read_target_dir(p);
	}
}

int vf_lv__observe_pool(virStoragePoolPtr pool, const vf_lv_pool_sets *sets,
			       bool files_local, bool refresh, vf_observed *o, size_t *cap,
			       vf_lv_vol_job *vols, vf_error *err)
{
	const char *name = virStoragePoolGetName(pool);
	_cleanup_free_ char *xml = vf_lv__pool_xml_desc(pool);
	if (!xml) {
		if (vf_lv__vanished())
			return 0;
		return vf_error_set(err, VF_E_DRIVER, "cannot read storage pool \"%s\": %s", name,
				    vf_lv__msg());
	}
	vf_obs_pool p = { .owner = -1, .group = -1, .mode = -1 };
	p.name = vf_strdup(name);
	virStoragePoolGetUUID(pool, p.uuid);
	int in = vf_lv__set_has(&sets->autostart, p.uuid);
	int autostart = 0;
	if (in >= 0)
		p.autostart = in == 1;
	else if (VF_LV_CALL(virStoragePoolGetAutostart(pool, &autostart)) == 0)
		p.autostart = autostart != 0;
	in = vf_lv__set_has(&sets->active, p.uuid);
	p.active = in >= 0 ? in == 1 : VF_LV_CALL(virStoragePoolIsActive(pool)) == 1;
	in = vf_lv__set_has(&sets->persistent, p.uuid);
	p.persistent = in >= 0 ? in == 1 : VF_LV_CALL(virStoragePoolIsPersistent(pool)) == 1;
	int r = vf_lv__parse_pool(xml, &p, err);
	if (r == 0) {
		vf_lv__pool_contents(&p, files_local);
		vf_lv__record_pool_bare(xml, &p.xml_bare, &p.xml_bare_digest);
	}
	VF_APPEND(o->pools, o->n_pools, *cap, p);
	if (r < 0 || !p.active)
		return r;
	/* Files made behind libvirt's back become volumes: with `refresh`, a
	 * pool whose directory was read is refreshed only when libvirt's names
	 * differ from the directory's (each volume's XML read refreshes its
	 * sizes anyway); any other pool, whose listing is all there is,
	 * always. A failed refresh (the pool stopped meanwhile, say) leaves
	 * the listing as it was. */
	bool dir_read = p.contents_known && (p.type == VF_POOL_DIR || p.type == VF_POOL_FS ||
					     p.type == VF_POOL_NETFS);
	const vf_obs_pool *seen = &o->pools[o->n_pools - 1];
	return vf_lv__list_volumes(pool, name, refresh, dir_read ? seen->entries : NULL,
				   dir_read ? seen->n_entries : 0, vols, err);
}

/* ---- XML ------------------------------------------------------------------ */

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

/* spec.xml as written, with the pool's UUID added when it names none, so
 * libvirt does not make up one of its own (the loader checked the document
 * and its <name>). */
static char *vf_lv__pool_xml_raw(const vf_object *o)
{
	xmlDocPtr doc = vf_lv__xml_read(o->u.pool.xml);
	xmlNodePtr root = doc ? xmlDocGetRootElement(doc) : NULL;
	if (!root) {
		xmlFreeDoc(doc);
		return vf_strdup(o->u.pool.xml); /* libvirt says what is wrong with it */
	}
	if (vf_lv__child(root, "uuid")) {
		xmlFreeDoc(doc);
		return vf_strdup(o->u.pool.xml);
	}
	vf_lv__uuid(root, o->uuid);
	return vf_lv__dump_free(doc);
}

char *vf_lv__pool_xml(const vf_object *o)
{
	const vf_pool_spec *s = &o->u.pool;
	if (s->xml)
		return vf_lv__pool_xml_raw(o);
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

/* ---- one pool, for a cache the caller keeps -------------------------------- */

int vf_lv__observe_one_pool(vf_conn *c, const vf_obj_ref *ref, bool fresh, vf_observed *o,
			    vf_error *err)
{
	/* A volume is read with its pool. */
	const char *name = ref->kind == VF_KIND_VOLUME ? ref->pool : ref->name;
	bool by_uuid = ref->kind == VF_KIND_POOL && ref->has_uuid;
	_cleanup_pool_ virStoragePoolPtr pool =
		by_uuid ? VF_LV_CALL(virStoragePoolLookupByUUID(c->conn, ref->uuid))
			: VF_LV_CALL(virStoragePoolLookupByName(c->conn, name));
	if (!pool) {
		if (!vf_lv__vanished())
			return vf_error_set(err, VF_E_DRIVER, "cannot look up storage pool \"%s\": %s",
					    name ? name : "?", vf_lv__msg());
		vf_observed_put_pool(o, name, by_uuid ? ref->uuid : NULL, NULL, NULL, 0);
		return 0;
	}
	/* What this connection remembers of the pool (its refresh, its
	 * volumes' formats) is as old as the cache: forget it. */
	vf_lv__pool_forget(c, virStoragePoolGetName(pool));
	vf_observed one = { 0 };
	vf_lv_pool_sets sets = { 0 }; /* unknown: asked of the pool itself */
	vf_lv_vol_job job = { 0 };
	size_t cap = 0;
	int r = vf_lv__observe_pool(pool, &sets, vf_lv_files_local(c), fresh, &one, &cap, &job, err);
	/* For an event, only the volumes the cache does not have yet. */
	vf_obs_volume *kept = NULL;
	size_t n_kept = 0, cap_kept = 0, k = 0;
	for (size_t i = 0; r == 0 && !fresh && i < job.n; i++) {
		vf_obs_volume v;
		if (vf_observed_take_volume(o, job.pool_names[i], virStorageVolGetName(job.vols[i]), &v)) {
			VF_APPEND(kept, n_kept, cap_kept, v);
			virStorageVolFree(job.vols[i]);
		} else {
			job.vols[k] = job.vols[i];
			job.pool_names[k++] = job.pool_names[i];
		}
	}
	if (r == 0 && !fresh)
		job.n = k;
	if (r == 0)
		r = vf_lv__read_volumes(c, &job, &one, err);
	vf_lv__vol_job_free(&job);
	if (n_kept) {
		one.volumes = vf_realloc(one.volumes, (one.n_volumes + n_kept) * sizeof(*one.volumes));
		memcpy(one.volumes + one.n_volumes, kept, n_kept * sizeof(*kept));
		one.n_volumes += n_kept;
	}
	free(kept);
	if (r == 0)
		vf_observed_put_pool(o, name, by_uuid ? ref->uuid : NULL, one.n_pools ? &one.pools[0] : NULL,
				     TAKE_PTR(one.volumes), one.n_volumes);
	one.n_volumes = 0;
	if (r == 0 && one.n_pools)
		one.n_pools = 0; /* the pool moved into o; its array is freed below */
	vf_observed_free(&one);
	return r;
}
