/* registry.c: the static table of backends, chosen by URI. Drivers are
 * compiled in and listed here; there is no dlopen. */
#include "driver.h"

static const vf_backend vf_backends[] = {
	{
		.name = "libvirt",
		.hv = &vf_libvirt_hypervisor_driver,
		.storage = &vf_libvirt_storage_driver,
		.events = &vf_libvirt_event_driver,
	},
};

const vf_backend *vf_backend_for_uri(const char *uri)
{
	(void)uri; /* every URI libvirt understands goes to libvirt */
	return &vf_backends[0];
}

void (*vf_heartbeat_hook)(void);

void vf_heartbeat(void)
{
	if (vf_heartbeat_hook)
		vf_heartbeat_hook();
}
