/* tables.c: the libvirt backend's three driver tables, as drivers/driver.h
 * declares them. Every member is filled in; the work lives in the modules
 * named next to each group. Here too, in one place for all of them: a
 * member that failed because the connection was lost says so
 * (VF_E_CONNECTION, vf_lv__classify). */
#include "lv.h"

/* fn##_c: fn, its failure classified. PARAMS is its parameter list (with
 * `c` and `err`), ARGS the same names as arguments. */
#define VF_LV_CLASSIFIED(fn, params, ...) \
	static int fn##_c params { return vf_lv__classify(c, err, fn(__VA_ARGS__)); }

VF_LV_CLASSIFIED(vf_lv_host_identity, (vf_conn *c, vf_host_id *out, vf_error *err), c, out, err)
VF_LV_CLASSIFIED(vf_lv_observe, (vf_conn *c, vf_observed *out, vf_error *err), c, out, err)
VF_LV_CLASSIFIED(vf_lv_observe_object,
		 (vf_conn *c, const vf_obj_ref *ref, bool fresh, vf_observed *o, vf_error *err),
		 c, ref, fresh, o, err)
VF_LV_CLASSIFIED(vf_lv_domain_define,
		 (vf_conn *c, const vf_object *dom, vf_domain_type type, vf_error *err),
		 c, dom, type, err)
VF_LV_CLASSIFIED(vf_lv_domain_start, (vf_conn *c, const char *name, vf_error *err), c, name, err)
VF_LV_CLASSIFIED(vf_lv_domain_shutdown,
		 (vf_conn *c, const char *name, unsigned timeout_s, vf_error *err),
		 c, name, timeout_s, err)
VF_LV_CLASSIFIED(vf_lv_domain_suspend, (vf_conn *c, const char *name, vf_error *err), c, name, err)
VF_LV_CLASSIFIED(vf_lv_domain_resume, (vf_conn *c, const char *name, vf_error *err), c, name, err)
VF_LV_CLASSIFIED(vf_lv_domain_set_autostart, (vf_conn *c, const char *name, bool on, vf_error *err),
		 c, name, on, err)
VF_LV_CLASSIFIED(vf_lv_domain_set_vcpus_live,
		 (vf_conn *c, const char *name, uint32_t vcpus, vf_error *err), c, name, vcpus, err)
VF_LV_CLASSIFIED(vf_lv_domain_set_memory_live,
		 (vf_conn *c, const char *name, uint64_t bytes, vf_error *err), c, name, bytes, err)
VF_LV_CLASSIFIED(vf_lv_domain_undefine, (vf_conn *c, const char *name, bool keep_nvram, vf_error *err),
		 c, name, keep_nvram, err)
VF_LV_CLASSIFIED(vf_lv_domain_destroy, (vf_conn *c, const char *name, vf_error *err), c, name, err)
VF_LV_CLASSIFIED(vf_lv_domain_start_paused, (vf_conn *c, const char *name, vf_error *err), c, name,
		 err)
VF_LV_CLASSIFIED(vf_lv_domain_set_fence,
		 (vf_conn *c, const char *name, const char *host, uint64_t token, vf_error *err),
		 c, name, host, token, err)
VF_LV_CLASSIFIED(vf_lv_domain_pid,
		 (vf_conn *c, const char *name, int *pid, unsigned long long *starttime, vf_error *err),
		 c, name, pid, starttime, err)
VF_LV_CLASSIFIED(vf_lv_pool_define, (vf_conn *c, const vf_object *pool, vf_error *err), c, pool, err)
VF_LV_CLASSIFIED(vf_lv_pool_start, (vf_conn *c, const char *name, vf_error *err), c, name, err)
VF_LV_CLASSIFIED(vf_lv_pool_stop, (vf_conn *c, const char *name, vf_error *err), c, name, err)
VF_LV_CLASSIFIED(vf_lv_pool_set_autostart, (vf_conn *c, const char *name, bool on, vf_error *err),
		 c, name, on, err)
VF_LV_CLASSIFIED(vf_lv_pool_undefine, (vf_conn *c, const char *name, bool delete_data, vf_error *err),
		 c, name, delete_data, err)
VF_LV_CLASSIFIED(vf_lv_pool_record, (vf_conn *c, const char *name, char **ret_digest, vf_error *err),
		 c, name, ret_digest, err)
VF_LV_CLASSIFIED(vf_lv_volume_create, (vf_conn *c, const vf_object *vol, vf_error *err), c, vol, err)
VF_LV_CLASSIFIED(vf_lv_volume_resize,
		 (vf_conn *c, const char *pool, const char *name, uint64_t capacity, vf_error *err),
		 c, pool, name, capacity, err)
VF_LV_CLASSIFIED(vf_lv_volume_path,
		 (vf_conn *c, const char *pool, const char *name, char **path, vf_error *err),
		 c, pool, name, path, err)
VF_LV_CLASSIFIED(vf_lv_volume_delete, (vf_conn *c, const char *pool, const char *name, vf_error *err),
		 c, pool, name, err)
VF_LV_CLASSIFIED(vf_lv_volume_upload,
		 (vf_conn *c, const vf_object *vol, const char *local_file, vf_error *err),
		 c, vol, local_file, err)
VF_LV_CLASSIFIED(vf_lv_volume_clone, (vf_conn *c, const vf_object *vol, vf_error *err), c, vol, err)
VF_LV_CLASSIFIED(vf_lv_network_define, (vf_conn *c, const vf_object *net, vf_error *err), c, net, err)
VF_LV_CLASSIFIED(vf_lv_network_start, (vf_conn *c, const char *name, vf_error *err), c, name, err)
VF_LV_CLASSIFIED(vf_lv_network_stop, (vf_conn *c, const char *name, vf_error *err), c, name, err)
VF_LV_CLASSIFIED(vf_lv_network_set_autostart, (vf_conn *c, const char *name, bool on, vf_error *err),
		 c, name, on, err)
VF_LV_CLASSIFIED(vf_lv_network_update_live, (vf_conn *c, const vf_object *net, vf_error *err), c, net, err)
VF_LV_CLASSIFIED(vf_lv_network_restart, (vf_conn *c, const char *name, vf_error *err), c, name, err)
VF_LV_CLASSIFIED(vf_lv_network_undefine, (vf_conn *c, const char *name, vf_error *err), c, name, err)

const vf_hypervisor_driver vf_libvirt_hypervisor_driver = {
	.name = "libvirt",
	/* conn.c, observe.c */
	.open = vf_lv_open,
	.close = vf_lv_close,
	.uri = vf_lv_uri,
	.files_local = vf_lv_files_local,
	.host_identity = vf_lv_host_identity_c,
	.observe = vf_lv_observe_c,
	.observe_object = vf_lv_observe_object_c,
	.observe_calls = vf_lv_observe_calls,
	/* domain.c */
	.domain_define = vf_lv_domain_define_c,
	.domain_start = vf_lv_domain_start_c,
	.domain_shutdown = vf_lv_domain_shutdown_c,
	.domain_suspend = vf_lv_domain_suspend_c,
	.domain_resume = vf_lv_domain_resume_c,
	.domain_set_autostart = vf_lv_domain_set_autostart_c,
	.domain_set_vcpus_live = vf_lv_domain_set_vcpus_live_c,
	.domain_set_memory_live = vf_lv_domain_set_memory_live_c,
	.domain_undefine = vf_lv_domain_undefine_c,
	/* fence.c */
	.domain_destroy = vf_lv_domain_destroy_c,
	.domain_start_paused = vf_lv_domain_start_paused_c,
	.domain_set_fence = vf_lv_domain_set_fence_c,
	.domain_pid = vf_lv_domain_pid_c,
	/* network.c */
	.network_define = vf_lv_network_define_c,
	.network_start = vf_lv_network_start_c,
	.network_stop = vf_lv_network_stop_c,
	.network_set_autostart = vf_lv_network_set_autostart_c,
	.network_update_live = vf_lv_network_update_live_c,
	.network_restart = vf_lv_network_restart_c,
	.network_undefine = vf_lv_network_undefine_c,
};

const vf_storage_driver vf_libvirt_storage_driver = {
	.name = "libvirt",
	/* pool.c */
	.pool_define = vf_lv_pool_define_c,
	.pool_start = vf_lv_pool_start_c,
	.pool_stop = vf_lv_pool_stop_c,
	.pool_set_autostart = vf_lv_pool_set_autostart_c,
	.pool_undefine = vf_lv_pool_undefine_c,
	.pool_record = vf_lv_pool_record_c,
	/* volume.c */
	.volume_create = vf_lv_volume_create_c,
	.volume_resize = vf_lv_volume_resize_c,
	.volume_path = vf_lv_volume_path_c,
	.volume_delete = vf_lv_volume_delete_c,
	.volume_upload = vf_lv_volume_upload_c,
	.volume_clone = vf_lv_volume_clone_c,
};

const vf_event_driver vf_libvirt_event_driver = {
	.name = "libvirt",
	/* events.c */
	.loop_start = vf_lv_event_loop_start,
	.loop_stop = vf_lv_event_loop_stop,
	.open = vf_lv_events_open,
	.fd = vf_lv_events_fd,
	.take = vf_lv_events_take,
	.alive = vf_lv_events_alive,
	.close = vf_lv_events_close,
};
