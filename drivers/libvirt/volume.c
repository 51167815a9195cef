/* volume.c: the storage driver's volume operations: create (after a pool
 * refresh, so files made behind libvirt's back clash instead of being
 * clobbered; backing volumes resolved through libvirt), grow, delete.
 * Not for pools (pool.c) or XML (xml_build.c). */
#include "lv.h"

/* Pool types whose volumes are files and so take a file format. */
static bool vf_lv__file_pool(const char *type)
{
	return vf_streq(type, "dir") || vf_streq(type, "fs") || vf_streq(type, "netfs");
}

int vf_lv_volume_create(vf_conn *c, const vf_object *o, vf_error *err)
{
	const vf_volume_spec *s = &o->u.volume;
	_cleanup_pool_ virStoragePoolPtr p = virStoragePoolLookupByName(c->conn, s->pool);
	if (!p)
		return vf_error_set(err, VF_E_DRIVER, "cannot create volume \"%s\" in storage pool \"%s\": %s",
				    o->name, s->pool, vf_lv__msg());
	if (virStoragePoolIsActive(p) != 1)
		return vf_error_set(err, VF_E_DRIVER,
				    "cannot create volume \"%s\": storage pool \"%s\" is not active",
				    o->name, s->pool);
	if (virStoragePoolRefresh(p, 0) < 0)
		return vf_error_set(err, VF_E_DRIVER, "cannot refresh storage pool \"%s\": %s",
				    s->pool, vf_lv__msg());
	_cleanup_vol_ virStorageVolPtr clash = virStorageVolLookupByName(p, o->name);
	if (clash) {
		_cleanup_free_ char *path = virStorageVolGetPath(clash);
		return vf_error_set(err, VF_E_CONFLICT,
				    "cannot create volume \"%s\" in storage pool \"%s\": %s already exists and virtform does not overwrite it",
				    o->name, s->pool, path ? path : "a volume of that name");
	}

	_cleanup_free_ char *pool_xml = vf_lv__pool_xml_desc(p);
	_cleanup_free_ char *pool_type = pool_xml ? vf_lv__pool_type(pool_xml) : NULL;

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

	_cleanup_free_ char *xml =
		vf_lv__volume_xml(o, vf_lv__file_pool(pool_type), backing_path, backing_format);
	_cleanup_vol_ virStorageVolPtr v = virStorageVolCreateXML(p, xml, 0);
	if (!v)
		return vf_error_set(err, VF_E_DRIVER,
				    "cannot create volume \"%s\" in storage pool \"%s\": %s", o->name,
				    s->pool, vf_lv__msg());
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

int vf_lv_volume_delete(vf_conn *c, const char *pool, const char *name, vf_error *err)
{
	_cleanup_vol_ virStorageVolPtr v = vf_lv__volume(c, pool, name);
	if (!v || virStorageVolDelete(v, 0) < 0)
		return vf_error_set(err, VF_E_DRIVER,
				    "cannot delete volume \"%s\" in storage pool \"%s\": %s", name, pool,
				    vf_lv__msg());
	return 0;
}
