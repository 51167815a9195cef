/* backend.c: the snapshot backend, which plays a snapshot back through the
 * hypervisor and storage tables so that `plan --snapshot` runs the same
 * reconcile pass as `plan`, with no connection, lock or network. It
 * observes and identifies; everything that would change a host fails.
 * Not for reading the file (snapshot.c). */
#include "snap.h"

struct vf_conn {
	const vf_snapshot *s;
	vf_snapshot *owned;       /* opened by path: freed with the connection */
};

int vf_snapshot_conn(const vf_snapshot *s, vf_conn **out)
{
	vf_conn *c = vf_calloc(1, sizeof(*c));
	c->s = s;
	*out = c;
	return 0;
}

static int vf_snapb__open(const char *uri, const vf_conn_opts *opts, vf_conn **out, vf_error *err)
{
	if (!uri)
		return vf_error_set(err, VF_E_USAGE, "the snapshot backend needs a file name");
	vf_snapshot *s = vf_calloc(1, sizeof(*s));
	int r = vf_snapshot_read(uri, s, err);
	if (r < 0) {
		free(s);
		return r;
	}
	vf_snapshot_conn(s, out);
	(*out)->owned = s;
	return 0;
}

static void vf_snapb__close(vf_conn *c)
{
	if (!c)
		return;
	vf_snapshot_free(c->owned);
	free(c->owned);
	free(c);
}

static const char *vf_snapb__uri(vf_conn *c)
{
	return c->s->host.uri;
}

static bool vf_snapb__files_local(vf_conn *c)
{
	return false;
}

static int vf_snapb__host_identity(vf_conn *c, vf_host_id *out, vf_error *err)
{
	*out = (vf_host_id){
		.uri = vf_strdup(c->s->host.uri),
		.uuid = vf_strdup(c->s->host.uuid),
		.uuid_hardware = c->s->host.uuid_hardware,
		.hostname = vf_strdup(c->s->host.hostname),
	};
	return 0;
}

/* A fresh copy each time, as a live observation would be: written out
 * and read back through the same sections. */
static int vf_snapb__observe(vf_conn *c, vf_observed *out, vf_error *err)
{
	vf_observed o = { 0 };
	vf_jr jr = { .file = "(snapshot copy)", .text = "", .what = "snapshot", .err = err };
	for (size_t i = 0; i < vf_snap_n_sections; i++) {
		json_object *v = vf_snap_sections[i].write(&c->s->observed);
		vf_snap_sections[i].read(&jr, v, vf_snap_sections[i].key, &o);
		json_object_put(v);
	}
	if (jr.failed) {
		vf_observed_free(&o);
		return -VF_E_INTERNAL;
	}
	*out = o;
	return 0;
}

/* Everything that would change a host. */
#define VF_SNAPB_RO(err) \
	vf_error_set(err, VF_E_DRIVER, "a snapshot is read-only: plan against it, apply on the host")

static int vf_snapb__dom_define(vf_conn *c, const vf_object *d, vf_domain_type t, vf_error *err)
{
	return VF_SNAPB_RO(err);
}
static int vf_snapb__name(vf_conn *c, const char *name, vf_error *err)
{
	return VF_SNAPB_RO(err);
}
static int vf_snapb__name_u(vf_conn *c, const char *name, unsigned v, vf_error *err)
{
	return VF_SNAPB_RO(err);
}
static int vf_snapb__name_b(vf_conn *c, const char *name, bool v, vf_error *err)
{
	return VF_SNAPB_RO(err);
}
static int vf_snapb__name_u32(vf_conn *c, const char *name, uint32_t v, vf_error *err)
{
	return VF_SNAPB_RO(err);
}
static int vf_snapb__name_u64(vf_conn *c, const char *name, uint64_t v, vf_error *err)
{
	return VF_SNAPB_RO(err);
}
static int vf_snapb__obj(vf_conn *c, const vf_object *o, vf_error *err)
{
	return VF_SNAPB_RO(err);
}
static int vf_snapb__vol_resize(vf_conn *c, const char *p, const char *n, uint64_t cap,
				vf_error *err)
{
	return VF_SNAPB_RO(err);
}
static int vf_snapb__vol_delete(vf_conn *c, const char *p, const char *n, vf_error *err)
{
	return VF_SNAPB_RO(err);
}
static int vf_snapb__vol_upload(vf_conn *c, const vf_object *o, const char *f, vf_error *err)
{
	return VF_SNAPB_RO(err);
}

static const vf_hypervisor_driver vf_snapshot_hypervisor_driver = {
	.name = "snapshot",
	.open = vf_snapb__open,
	.close = vf_snapb__close,
	.uri = vf_snapb__uri,
	.files_local = vf_snapb__files_local,
	.host_identity = vf_snapb__host_identity,
	.observe = vf_snapb__observe,
	.domain_define = vf_snapb__dom_define,
	.domain_start = vf_snapb__name,
	.domain_shutdown = vf_snapb__name_u,
	.domain_suspend = vf_snapb__name,
	.domain_resume = vf_snapb__name,
	.domain_set_autostart = vf_snapb__name_b,
	.domain_set_vcpus_live = vf_snapb__name_u32,
	.domain_set_memory_live = vf_snapb__name_u64,
	.domain_undefine = vf_snapb__name_b,
};

static const vf_storage_driver vf_snapshot_storage_driver = {
	.name = "snapshot",
	.pool_define = vf_snapb__obj,
	.pool_start = vf_snapb__name,
	.pool_stop = vf_snapb__name,
	.pool_set_autostart = vf_snapb__name_b,
	.pool_undefine = vf_snapb__name_b,
	.volume_create = vf_snapb__obj,
	.volume_resize = vf_snapb__vol_resize,
	.volume_delete = vf_snapb__vol_delete,
	.volume_upload = vf_snapb__vol_upload,
	.volume_clone = vf_snapb__obj,
};

const vf_backend vf_snapshot_backend = {
	.name = "snapshot",
	.hv = &vf_snapshot_hypervisor_driver,
	.storage = &vf_snapshot_storage_driver,
	.events = NULL,
};
