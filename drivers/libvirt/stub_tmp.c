#include "../driver.h"
const vf_hypervisor_driver vf_libvirt_hypervisor_driver = { .name = "libvirt" };
const vf_storage_driver vf_libvirt_storage_driver = { .name = "libvirt" };
