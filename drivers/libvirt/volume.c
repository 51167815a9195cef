/* volume.c: the storage driver's volume operations: create (after a pool
 * refresh, so files made behind libvirt's back clash instead of being
 * clobbered; once per pool per observe cycle, as a refresh scans the whole
 * pool; backing volumes resolved through libvirt), grow, delete, and
 * create from an image (a libvirt stream upload) or as a clone; and
 * observing every active pool's volumes, read a few at once; a volume's
 * XML, built and read. Not for pools (pool.c). */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lv.h"

/* Pool types whose volumes are files and so take a file format. */
static bool vf_lv__file_pool(const char *type)
{
	return vf_streq(type, "dir") || vf_streq(type, "fs") || vf_streq(type, "netfs");
}

/* The pool for a new volume (a reference the caller frees) and its type
 * (*type, caller frees). Refreshed once per observe cycle so files made
 * behind libvirt's back are known to it, and then clash in libvirt's own
 * name check instead of being clobbered (qemu-img would overwrite them);
 * the handle and type are cached for the cycle. No check here that the
 * pool is active or the name free: creating checks both anyway, and
 * vf_lv__create_explained explains a failure afterwards, so creating a
 * volume costs one round trip, as it would by hand. */
static virStoragePoolPtr vf_lv__pool_for_new(vf_conn *c, const vf_object *o, char **type,
					     vf_error *err)
{
	const char *pool = o->u.volume.pool;
	const vf_lv_pool_seen *seen = vf_lv__pool_seen(c, pool);
	if (seen && seen->handle && virStoragePoolRef(seen->handle) == 0) {
		*type = seen->type ? vf_strdup(seen->type) : NULL;
		return seen->handle;
	}
	virStoragePoolPtr p = virStoragePoolLookupByName(c->conn, pool);
	if (!p) {
		vf_error_set(err, VF_E_DRIVER, "cannot create volume \"%s\" in storage pool \"%s\": %s",
			     o->name, pool, vf_lv__msg());
		return NULL;
	}
	if (!seen && virStoragePoolRefresh(p, 0) < 0) {
		_cleanup_free_ char *msg = vf_strdup(vf_lv__msg());
		if (virStoragePoolIsActive(p) != 1)
			vf_error_set(err, VF_E_DRIVER,
				     "cannot create volume \"%s\": storage pool \"%s\" is not active",
				     o->name, pool);
		else
			vf_error_set(err, VF_E_DRIVER, "cannot refresh storage pool \"%s\": %s", pool,
				     msg);
		virStoragePoolFree(p);
		return NULL;
	}
	if (seen) {
		*type = seen->type ? vf_strdup(seen->type) : NULL;
		return p;
	}
	_cleanup_free_ char *pool_xml = vf_lv__pool_xml_desc(p);
	*type = pool_xml ? vf_lv__pool_type(pool_xml) : NULL;
	if (pool_xml) /* a failed read is retried next time */
		vf_lv__pool_mark_seen(c, pool, *type, p);
	return p;
}

/* After creating volume o in pool p failed: a volume of that name now
 * found is a clash (virtform never overwrites), an inactive pool is named:
 * <0 with *err set. 0 when neither explains it; the caller then reports
 * libvirt's message, which it must have saved first (these calls reset it). */
static int vf_lv__create_explained(virStoragePoolPtr p, const vf_object *o, vf_error *err)
{
	const char *pool = o->u.volume.pool;
	_cleanup_vol_ virStorageVolPtr clash = virStorageVolLookupByName(p, o->name);
	if (clash) {
		_cleanup_free_ char *path = virStorageVolGetPath(clash);
		return vf_error_set(err, VF_E_CONFLICT,
				    "cannot create volume \"%s\" in storage pool \"%s\": %s already exists and virtform does not overwrite it",
				    o->name, pool, path ? path : "a volume of that name");
	}
	if (virStoragePoolIsActive(p) == 0)
		return vf_error_set(err, VF_E_DRIVER,
				    "cannot create volume \"%s\": storage pool \"%s\" is not active",
				    o->name, pool);
	return 0;
}

/* Creating volume o in pool p failed: the reason, in the user's terms. */
static int vf_lv__create_failed(virStoragePoolPtr p, const vf_object *o, vf_error *err)
{
	_cleanup_free_ char *msg = vf_strdup(vf_lv__msg());
	int r = vf_lv__create_explained(p, o, err);
	if (r < 0)
		return r;
	return vf_error_set(err, VF_E_DRIVER, "cannot create volume \"%s\" in storage pool \"%s\": %s",
			    o->name, o->u.volume.pool, msg);
}

int vf_lv_volume_create(vf_conn *c, const vf_object *o, vf_error *err)
{
	const vf_volume_spec *s = &o->u.volume;
	_cleanup_free_ char *pool_type = NULL;
	_cleanup_pool_ virStoragePoolPtr p = vf_lv__pool_for_new(c, o, &pool_type, err);
	if (!p)
		return -(int)err->code;

	_cleanup_free_ char *backing_path = NULL;
	_cleanup_free_ char *backing_format = NULL;
	if (s->has_backing) {
		const char *bpool = s->backing.pool ? s->backing.pool : s->pool;
		_cleanup_pool_ virStoragePoolPtr bp = virStoragePoolLookupByName(c->conn, bpool);
		_cleanup_vol_ virStorageVolPtr bv = bp ? virStorageVolLookupByName(bp, s->backing.name)
						       : NULL;
		if (bv)
			backing_path = virStorageVolGetPath(bv);
		if (!backing_path)
			return vf_error_set(err, VF_E_DRIVER,
					    "cannot find backing volume \"%s\" in storage pool \"%s\" for volume \"%s\": %s",
					    s->backing.name, bpool, o->name, vf_lv__msg());
		_cleanup_free_ char *bxml = virStorageVolGetXMLDesc(bv, 0);
		backing_format = bxml ? vf_lv__vol_format(bxml) : NULL;
	}

	bool file_pool = vf_lv__file_pool(pool_type);
	_cleanup_free_ char *xml = vf_lv__volume_xml(o, file_pool, backing_path, backing_format);
	vf_lv__format_forget(c, s->pool, o->name);
	_cleanup_vol_ virStorageVolPtr v = virStorageVolCreateXML(p, xml, 0);
	if (!v)
		return vf_lv__create_failed(p, o, err);
	/* A file pool's volume has the format it was created with (the XML
	 * above); other pools' formats are read back when needed. */
	if (file_pool)
		vf_lv__format_remember(c, s->pool, o->name,
				       vf_vol_format_to_string(s->format ? s->format : VF_VOL_QCOW2));
	return 0;
}

static virStorageVolPtr vf_lv__volume(vf_conn *c, const char *pool, const char *name)
{
	_cleanup_pool_ virStoragePoolPtr p = virStoragePoolLookupByName(c->conn, pool);
	return p ? virStorageVolLookupByName(p, name) : NULL;
}

int vf_lv_volume_resize(vf_conn *c, const char *pool, const char *name, uint64_t capacity,
			vf_error *err)
{
	_cleanup_vol_ virStorageVolPtr v = vf_lv__volume(c, pool, name);
	virStorageVolInfo info;
	if (!v || virStorageVolGetInfo(v, &info) < 0)
		return vf_error_set(err, VF_E_DRIVER,
				    "cannot resize volume \"%s\" in storage pool \"%s\": %s", name, pool,
				    vf_lv__msg());
	if (capacity < info.capacity)
		return vf_error_set(err, VF_E_BLOCKED,
				    "refusing to shrink volume \"%s\" in storage pool \"%s\" from %llu to %llu bytes: shrinking would destroy data",
				    name, pool, (unsigned long long)info.capacity,
				    (unsigned long long)capacity);
	if (capacity == info.capacity)
		return 0;
	if (virStorageVolResize(v, capacity, 0) < 0)
		return vf_error_set(err, VF_E_DRIVER,
				    "cannot resize volume \"%s\" in storage pool \"%s\": %s", name, pool,
				    vf_lv__msg());
	return 0;
}

int vf_lv_volume_path(vf_conn *c, const char *pool, const char *name, char **path,
		      vf_error *err)
{
	*path = NULL;
	_cleanup_vol_ virStorageVolPtr v = vf_lv__volume(c, pool, name);
	char *p = v ? virStorageVolGetPath(v) : NULL;
	if (!p)
		return vf_error_set(err, VF_E_DRIVER,
				    "cannot find the path of volume \"%s\" in storage pool \"%s\": %s",
				    name, pool, vf_lv__msg());
	*path = p;
	return 0;
}

int vf_lv_volume_delete(vf_conn *c, const char *pool, const char *name, vf_error *err)
{
	_cleanup_vol_ virStorageVolPtr v = vf_lv__volume(c, pool, name);
	vf_lv__format_forget(c, pool, name);
	if (!v || virStorageVolDelete(v, 0) < 0)
		return vf_error_set(err, VF_E_DRIVER,
				    "cannot delete volume \"%s\" in storage pool \"%s\": %s", name, pool,
				    vf_lv__msg());
	return 0;
}

/* ---- volumes from images and clones (spec.source) ------------------------ */

/* Upload blocks: far above libvirt's default few KiB, so remote pools
 * (qemu+ssh://) are not bound by round trips. */
#define VF_LV_UPLOAD_BLOCK (4u * 1024 * 1024)

static void vf_lv__streamp(virStreamPtr *p)
{
	if (*p)
		virStreamFree(*p);
}

int vf_lv_volume_upload(vf_conn *c, const vf_object *o, const char *local_file, vf_error *err)
{
	const vf_volume_spec *s = &o->u.volume;
	int fd = open(local_file, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return vf_error_set(err, VF_E_IO, "cannot read image %s: %s", local_file, strerror(e));
	}
	_cleanup_free_ char *pool_type = NULL;
	_cleanup_pool_ virStoragePoolPtr p = vf_lv__pool_for_new(c, o, &pool_type, err);
	if (!p) {
		close(fd);
		return -(int)err->code;
	}
	bool file_pool = vf_lv__file_pool(pool_type);
	vf_lv__format_forget(c, s->pool, o->name);

	/* A file pool gets a raw file of exactly the image's size, so the
	 * upload leaves nothing of a freshly formatted header behind; libvirt
	 * probes the uploaded header on refresh. Block pools keep the
	 * declared capacity: the image is written at the start. */
	vf_object tmp = *o;
	tmp.u.volume.has_backing = false;
	if (file_pool) {
		tmp.u.volume.capacity = (uint64_t)st.st_size ? (uint64_t)st.st_size : 1;
		tmp.u.volume.format = VF_VOL_RAW;
	}
	_cleanup_free_ char *xml = vf_lv__volume_xml(&tmp, file_pool, NULL, NULL);
	_cleanup_vol_ virStorageVolPtr v = virStorageVolCreateXML(p, xml, 0);
	if (!v) {
		close(fd);
		return vf_lv__create_failed(p, o, err);
	}

	int r = 0;
	_cleanup_(vf_lv__streamp) virStreamPtr stream = virStreamNew(c->conn, 0);
	_cleanup_free_ char *buf = vf_malloc(VF_LV_UPLOAD_BLOCK);
	if (!stream || virStorageVolUpload(v, stream, 0, (unsigned long long)st.st_size, 0) < 0) {
		r = vf_error_set(err, VF_E_DRIVER, "cannot upload %s to volume \"%s\" in storage pool \"%s\": %s",
				 local_file, o->name, s->pool, vf_lv__msg());
		goto fail;
	}
	for (;;) {
		ssize_t n = read(fd, buf, VF_LV_UPLOAD_BLOCK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = vf_error_set(err, VF_E_IO, "cannot read image %s: %s", local_file,
					 strerror(errno));
			virStreamAbort(stream);
			goto fail;
		}
		if (n == 0)
			break;
		vf_heartbeat(); /* a block sent: a long upload is progress */
		for (ssize_t off = 0; off < n;) {
			int w = virStreamSend(stream, buf + off, (size_t)(n - off));
			if (w < 0) {
				r = vf_error_set(err, VF_E_DRIVER,
						 "cannot upload %s to volume \"%s\" in storage pool \"%s\": %s",
						 local_file, o->name, s->pool, vf_lv__msg());
				virStreamAbort(stream);
				goto fail;
			}
			off += w;
		}
	}
	if (virStreamFinish(stream) < 0) {
		r = vf_error_set(err, VF_E_DRIVER, "cannot finish uploading %s to volume \"%s\": %s",
				 local_file, o->name, vf_lv__msg());
		goto fail;
	}
	close(fd);
	virStoragePoolRefresh(p, 0); /* let libvirt see the image's format and size */
	return 0;
fail:
	close(fd);
	/* A half-written volume would count as existing and never be
	 * replaced: remove it so the next run starts clean. */
	virStorageVolDelete(v, 0);
	return r;
}

int vf_lv_volume_clone(vf_conn *c, const vf_object *o, vf_error *err)
{
	const vf_volume_spec *s = &o->u.volume;
	const vf_volref *src = &s->source.volume;
	if (!s->has_source || !s->source.has_volume)
		return vf_error_set(err, VF_E_INTERNAL, "volume \"%s\" has no source.volume", o->name);
	_cleanup_pool_ virStoragePoolPtr sp = virStoragePoolLookupByName(c->conn, src->pool);
	if (sp)
		virStoragePoolRefresh(sp, 0);
	_cleanup_vol_ virStorageVolPtr sv = sp ? virStorageVolLookupByName(sp, src->name) : NULL;
	virStorageVolInfo info;
	if (!sv || virStorageVolGetInfo(sv, &info) < 0)
		return vf_error_set(err, VF_E_DRIVER,
				    "cannot find source volume \"%s\" in storage pool \"%s\" for volume \"%s\": %s",
				    src->name, src->pool, o->name, vf_lv__msg());
	_cleanup_free_ char *pool_type = NULL;
	_cleanup_pool_ virStoragePoolPtr p = vf_lv__pool_for_new(c, o, &pool_type, err);
	if (!p)
		return -(int)err->code;
	vf_lv__format_forget(c, s->pool, o->name);
	vf_object tmp = *o;
	tmp.u.volume.has_backing = false;
	tmp.u.volume.capacity = info.capacity; /* grown afterwards by volume_resize */
	_cleanup_free_ char *xml = vf_lv__volume_xml(&tmp, vf_lv__file_pool(pool_type), NULL, NULL);
	_cleanup_vol_ virStorageVolPtr v = virStorageVolCreateXMLFrom(p, xml, sv, 0);
	if (!v) {
		_cleanup_free_ char *msg = vf_strdup(vf_lv__msg());
		int r = vf_lv__create_explained(p, o, err);
		if (r < 0)
			return r;
		return vf_error_set(err, VF_E_DRIVER,
				    "cannot clone volume \"%s/%s\" into \"%s\" in storage pool \"%s\": %s",
				    src->pool, src->name, o->name, s->pool, msg);
	}
	return 0;
}

/* ---- observation ---------------------------------------------------------- */

/* A pool stopped between its listing and reading its volumes (libvirt says
 * "operation invalid: pool is not active"): its volumes are not there to
 * observe, which is what a later listing would say too. */
static bool vf_lv__vol_vanished(void)
{
	return vf_lv__vanished() || vf_lv__code() == VIR_ERR_OPERATION_INVALID;
}

int vf_lv__str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Do the names of vols (n of them) differ from the sorted `entries`? */
static bool vf_lv__names_differ(virStorageVolPtr *vols, int n, char *const *entries, size_t n_entries)
{
	if ((size_t)n != n_entries)
		return true;
	const char **names = vf_malloc(((size_t)n + 1) * sizeof(*names));
	for (int i = 0; i < n; i++)
		names[i] = virStorageVolGetName(vols[i]);
	qsort(names, (size_t)n, sizeof(*names), vf_lv__str_cmp);
	bool differ = false;
	for (int i = 0; i < n && !differ; i++)
		differ = !names[i] || strcmp(names[i], entries[i]) != 0;
	free(names);
	return differ;
}

int vf_lv__list_volumes(virStoragePoolPtr pool, const char *pool_name, bool refresh,
			char *const *entries, size_t n_entries, vf_lv_vol_job *j, vf_error *err)
{
	virStorageVolPtr *vols = NULL;
	if (refresh && !entries)
		VF_LV_CALL(virStoragePoolRefresh(pool, 0));
	int n = VF_LV_CALL(virStoragePoolListAllVolumes(pool, &vols, 0));
	if (n >= 0 && refresh && entries && vf_lv__names_differ(vols, n, entries, n_entries)) {
		/* a file made or removed behind libvirt's back: rescan, list again */
		for (int i = 0; i < n; i++)
			virStorageVolFree(vols[i]);
		free(vols);
		vols = NULL;
		VF_LV_CALL(virStoragePoolRefresh(pool, 0));
		n = VF_LV_CALL(virStoragePoolListAllVolumes(pool, &vols, 0));
	}
	if (n < 0) {
		if (vf_lv__vol_vanished())
			return 0;
		return vf_error_set(err, VF_E_DRIVER, "cannot list the volumes of storage pool \"%s\": %s",
				    pool_name, vf_lv__msg());
	}
	if (j->n + (size_t)n > j->cap) {
		j->cap = (j->n + (size_t)n) * 2;
		j->vols = vf_realloc(j->vols, j->cap * sizeof(*j->vols));
		j->pool_names = vf_realloc(j->pool_names, j->cap * sizeof(*j->pool_names));
	}
	for (int i = 0; i < n; i++) {
		j->vols[j->n] = vols[i];
		j->pool_names[j->n++] = pool_name;
	}
	free(vols);
	return 0;
}

static void vf_lv__read_volume(void *ctx, size_t i)
{
	vf_lv_vol_job *j = ctx;
	const char *name = virStorageVolGetName(j->vols[i]);
	_cleanup_free_ char *xml = VF_LV_CALL(virStorageVolGetXMLDesc(j->vols[i], 0));
	if (!xml) {
		if (!vf_lv__vol_vanished())
			vf_error_set(&j->errs[i], VF_E_DRIVER,
				     "cannot read volume \"%s\" in storage pool \"%s\": %s", name,
				     j->pool_names[i], vf_lv__msg());
		return;
	}
	vf_obs_volume *v = &j->slots[i];
	*v = (vf_obs_volume){ .owner = -1, .group = -1, .mode = -1 };
	v->pool = vf_strdup(j->pool_names[i]);
	v->name = vf_strdup(name);
	vf_lv__parse_volume(xml, v, &j->errs[i]);
}

/* Read every listed volume, a few at once, into o in listing order; the
 * first error (in that order) is returned and what was read is freed with
 * o either way. The handles stay for vf_lv__vol_job_free. */
int vf_lv__read_volumes(const vf_conn *c, vf_lv_vol_job *j, vf_observed *o, vf_error *err)
{
	size_t n = j->n;
	vf_obs_volume *slots = vf_calloc(n ? n : 1, sizeof(*slots));
	j->slots = slots;
	j->errs = vf_calloc(n ? n : 1, sizeof(*j->errs));
	vf_lv__parallel(c, n, vf_lv__read_volume, j);
	int r = vf_lv__first_error(j->errs, n, err);
	j->errs = NULL;
	size_t k = 0; /* the slots, closed up, become o's volumes */
	for (size_t i = 0; i < n; i++)
		if (slots[i].pool)
			slots[k++] = slots[i];
	o->volumes = slots;
	o->n_volumes = k;
	j->slots = NULL;
	return r;
}

void vf_lv__vol_job_free(vf_lv_vol_job *j)
{
	for (size_t i = 0; i < j->n; i++)
		virStorageVolFree(j->vols[i]);
	free(j->vols);
	free(j->pool_names);
	free(j->slots);
	free(j->errs);
	memset(j, 0, sizeof(*j));
}

/* ---- XML ------------------------------------------------------------------ */

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

char *vf_lv__vol_format(const char *vol_xml)
{
	_cleanup_(vf_lv__xdoc_free) vf_lv_xdoc x = { 0 };
	if (vf_lv__xdoc_open(&x, vol_xml, "a storage volume", NULL) < 0)
		return NULL;
	return vf_lv__xstr(x.ctx, NULL, "/volume/target/format/@type");
}
