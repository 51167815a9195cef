/* tables.c: the libvirt backend's three driver tables, as drivers/driver.h
 * declares them. Every member is filled in; the work lives in the modules
 * named next to each group. */
#include "lv.h"

const vf_hypervisor_driver vf_libvirt_hypervisor_driver = {
	.name = "libvirt",
	/* conn.c, observe.c */
	.open = vf_lv_open,
	.close = vf_lv_close,
	.uri = vf_lv_uri,
	.files_local = vf_lv_files_local,
	.host_identity = vf_lv_host_identity,
	.observe = vf_lv_observe,
	/* domain.c */
	.domain_define = vf_lv_domain_define,
	.domain_start = vf_lv_domain_start,
	.domain_shutdown = vf_lv_domain_shutdown,
	.domain_suspend = vf_lv_domain_suspend,
	.domain_resume = vf_lv_domain_resume,
	.domain_set_autostart = vf_lv_domain_set_autostart,
	.domain_set_vcpus_live = vf_lv_domain_set_vcpus_live,
	.domain_set_memory_live = vf_lv_domain_set_memory_live,
	.domain_undefine = vf_lv_domain_undefine,
};

const vf_storage_driver vf_libvirt_storage_driver = {
	.name = "libvirt",
	/* pool.c */
	.pool_define = vf_lv_pool_define,
	.pool_start = vf_lv_pool_start,
	.pool_stop = vf_lv_pool_stop,
	.pool_set_autostart = vf_lv_pool_set_autostart,
	.pool_undefine = vf_lv_pool_undefine,
	/* volume.c */
	.volume_create = vf_lv_volume_create,
	.volume_resize = vf_lv_volume_resize,
	.volume_path = vf_lv_volume_path,
	.volume_delete = vf_lv_volume_delete,
	.volume_upload = vf_lv_volume_upload,
	.volume_clone = vf_lv_volume_clone,
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
