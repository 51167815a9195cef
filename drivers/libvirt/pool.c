/* pool.c: the storage driver's pool operations: define (or redefine in
 * place) and build without overwriting, start, stop, autostart, undefine
 * (optionally deleting every volume and the target).
 * Not for volumes (volume.c) or XML (xml_build.c). */
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
