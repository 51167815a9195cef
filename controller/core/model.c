/* model.c: string tables, lookup, freeing and UUID derivation for the
 * desired-state model. Not for loading (manifest.c) or comparing (plan.c). */
#include "controller/core/model.h"

#include <stdio.h>

static const char *const vf_kind_table[VF_KIND_MAX] = {
	[VF_KIND_POOL] = "StoragePool",
	[VF_KIND_VOLUME] = "Volume",
	[VF_KIND_DOMAIN] = "Domain",
	[VF_KIND_NETWORK] = "Network",
};
VF_STRING_TABLE(vf_kind, vf_kind, VF_KIND_MAX)

static const char *const vf_deletion_policy_table[VF_DELETION_MAX] = {
	[VF_DELETION_RETAIN] = "Retain",
	[VF_DELETION_DELETE] = "Delete",
};
VF_STRING_TABLE(vf_deletion_policy, vf_deletion_policy, VF_DELETION_MAX)

static const char *const vf_pool_type_table[VF_POOL_TYPE_MAX] = {
	[VF_POOL_DIR] = "dir",         [VF_POOL_FS] = "fs",     [VF_POOL_NETFS] = "netfs",
	[VF_POOL_LOGICAL] = "logical", [VF_POOL_DISK] = "disk", [VF_POOL_ISCSI] = "iscsi",
};
VF_STRING_TABLE(vf_pool_type, vf_pool_type, VF_POOL_TYPE_MAX)

static const char *const vf_pool_state_table[VF_POOL_STATE_MAX] = {
	[VF_POOL_ACTIVE] = "active",
	[VF_POOL_INACTIVE] = "inactive",
};
VF_STRING_TABLE(vf_pool_state, vf_pool_state, VF_POOL_STATE_MAX)

static const char *const vf_vol_format_table[VF_VOL_FORMAT_MAX] = {
	[VF_VOL_RAW] = "raw",
	[VF_VOL_QCOW2] = "qcow2",
};
VF_STRING_TABLE(vf_vol_format, vf_vol_format, VF_VOL_FORMAT_MAX)

static const char *const vf_checksum_algo_table[VF_CHECKSUM_MAX] = {
	[VF_CHECKSUM_SHA256] = "sha256", [VF_CHECKSUM_SHA512] = "sha512",
};
VF_STRING_TABLE(vf_checksum_algo, vf_checksum_algo, VF_CHECKSUM_MAX)

static const char *const vf_domain_type_table[VF_DOMAIN_TYPE_MAX] = {
	[VF_DOMAIN_KVM] = "kvm",
	[VF_DOMAIN_QEMU] = "qemu",
	[VF_DOMAIN_AUTO] = "auto",
	[VF_DOMAIN_LXC] = "lxc",
};
VF_STRING_TABLE(vf_domain_type, vf_domain_type, VF_DOMAIN_TYPE_MAX)

static const char *const vf_fs_type_table[VF_FS_TYPE_MAX] = {
	[VF_FS_MOUNT] = "mount",
	[VF_FS_BLOCK] = "block",
	[VF_FS_FILE] = "file",
	[VF_FS_RAM] = "ram",
};
VF_STRING_TABLE(vf_fs_type, vf_fs_type, VF_FS_TYPE_MAX)

static const char *const vf_firmware_table[VF_FIRMWARE_MAX] = {
	[VF_FIRMWARE_BIOS] = "bios",
	[VF_FIRMWARE_UEFI] = "uefi",
};
VF_STRING_TABLE(vf_firmware, vf_firmware, VF_FIRMWARE_MAX)

static const char *const vf_boot_dev_table[VF_BOOT_MAX] = {
	[VF_BOOT_HD] = "hd",
	[VF_BOOT_CDROM] = "cdrom",
	[VF_BOOT_NETWORK] = "network",
	[VF_BOOT_FD] = "fd",
};
VF_STRING_TABLE(vf_boot_dev, vf_boot_dev, VF_BOOT_MAX)

static const char *const vf_cpu_mode_table[VF_CPU_MODE_MAX] = {
	[VF_CPU_HOST_PASSTHROUGH] = "host-passthrough",
	[VF_CPU_HOST_MODEL] = "host-model",
	[VF_CPU_MAXIMUM] = "maximum",
};
VF_STRING_TABLE(vf_cpu_mode, vf_cpu_mode, VF_CPU_MODE_MAX)

static const char *const vf_disk_bus_table[VF_BUS_MAX] = {
	[VF_BUS_VIRTIO] = "virtio", [VF_BUS_SATA] = "sata", [VF_BUS_SCSI] = "scsi",
	[VF_BUS_IDE] = "ide",       [VF_BUS_USB] = "usb",
};
VF_STRING_TABLE(vf_disk_bus, vf_disk_bus, VF_BUS_MAX)

static const char *const vf_disk_cache_table[VF_CACHE_MAX] = {
	[VF_CACHE_DEFAULT] = "default",
	[VF_CACHE_NONE] = "none",
	[VF_CACHE_WRITETHROUGH] = "writethrough",
	[VF_CACHE_WRITEBACK] = "writeback",
	[VF_CACHE_DIRECTSYNC] = "directsync",
	[VF_CACHE_UNSAFE] = "unsafe",
};
VF_STRING_TABLE(vf_disk_cache, vf_disk_cache, VF_CACHE_MAX)

static const char *const vf_disk_device_table[VF_DISK_DEVICE_MAX] = {
	[VF_DISK_DEVICE_DISK] = "disk",
	[VF_DISK_DEVICE_CDROM] = "cdrom",
};
VF_STRING_TABLE(vf_disk_device, vf_disk_device, VF_DISK_DEVICE_MAX)

static const char *const vf_graphics_type_table[VF_GRAPHICS_MAX] = {
	[VF_GRAPHICS_NONE] = "none",
	[VF_GRAPHICS_VNC] = "vnc",
	[VF_GRAPHICS_SPICE] = "spice",
};
VF_STRING_TABLE(vf_graphics_type, vf_graphics_type, VF_GRAPHICS_MAX)

static const char *const vf_run_state_table[VF_RUN_MAX] = {
	[VF_RUN_RUNNING] = "running",
	[VF_RUN_SHUTOFF] = "shutoff",
	[VF_RUN_PAUSED] = "paused",
};
VF_STRING_TABLE(vf_run_state, vf_run_state, VF_RUN_MAX)

void vf_kvs_free(vf_kv *kv, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(kv[i].key);
		free(kv[i].value);
	}
	free(kv);
}

void vf_filesystems_free(vf_filesystem *fs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(fs[i].source);
		free(fs[i].target);
	}
	free(fs);
}

void vf_strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void vf_volref_clear(vf_volref *r)
{
	free(r->pool);
	free(r->name);
}

static void vf_domain_spec_clear(vf_domain_spec *d)
{
	for (size_t i = 0; i < d->n_place_hosts; i++)
		free(d->place_hosts[i]);
	free(d->place_hosts);
	vf_kvs_free(d->place_labels, d->n_place_labels);
	free(d->machine);
	free(d->boot);
	for (size_t i = 0; i < d->n_disks; i++) {
		vf_volref_clear(&d->disks[i].volume);
		free(d->disks[i].path);
		free(d->disks[i].target);
	}
	free(d->disks);
	for (size_t i = 0; i < d->n_ifaces; i++) {
		free(d->ifaces[i].network);
		free(d->ifaces[i].bridge);
		free(d->ifaces[i].model);
		free(d->ifaces[i].mac);
	}
	free(d->ifaces);
	free(d->graphics_listen);
	free(d->serial_log);
	free(d->xml);
	free(d->cloudinit.user_data);
	free(d->cloudinit.meta_data);
	free(d->cloudinit.network_config);
	free(d->cloudinit.seed_pool);
	free(d->cloudinit.seed_volume);
	free(d->init.path);
	vf_strv_free(d->init.args, d->init.n_args);
	vf_kvs_free(d->init.env, d->init.n_env);
	vf_filesystems_free(d->filesystems, d->n_filesystems);
	free(d->uidmap);
	free(d->gidmap);
}

static const char *const vf_net_forward_table[VF_NET_FORWARD_MAX] = {
	[VF_NET_NAT] = "nat",		[VF_NET_ROUTE] = "route",   [VF_NET_OPEN] = "open",
	[VF_NET_ISOLATED] = "isolated", [VF_NET_BRIDGE] = "bridge",
};
VF_STRING_TABLE(vf_net_forward, vf_net_forward, VF_NET_FORWARD_MAX)

static const char *const vf_net_state_table[VF_NET_STATE_MAX] = {
	[VF_NET_ACTIVE] = "active",
	[VF_NET_INACTIVE] = "inactive",
};
VF_STRING_TABLE(vf_net_state, vf_net_state, VF_NET_STATE_MAX)

void vf_net_def_clear(vf_net_def *n)
{
	if (!n)
		return;
	free(n->forward_dev);
	free(n->bridge);
	free(n->mac);
	free(n->domain);
	for (size_t i = 0; i < n->n_ips; i++) {
		vf_net_ip *ip = &n->ips[i];
		free(ip->address);
		for (size_t k = 0; k < ip->n_ranges; k++) {
			free(ip->ranges[k].start);
			free(ip->ranges[k].end);
		}
		free(ip->ranges);
		for (size_t k = 0; k < ip->n_hosts; k++) {
			free(ip->hosts[k].mac);
			free(ip->hosts[k].name);
			free(ip->hosts[k].ip);
		}
		free(ip->hosts);
	}
	free(n->ips);
	for (size_t i = 0; i < n->n_dns_hosts; i++) {
		free(n->dns_hosts[i].ip);
		for (size_t k = 0; k < n->dns_hosts[i].n_names; k++)
			free(n->dns_hosts[i].names[k]);
		free(n->dns_hosts[i].names);
	}
	free(n->dns_hosts);
	for (size_t i = 0; i < n->n_forwarders; i++) {
		free(n->forwarders[i].addr);
		free(n->forwarders[i].domain);
	}
	free(n->forwarders);
	for (size_t i = 0; i < n->n_srv; i++) {
		free(n->srv[i].service);
		free(n->srv[i].protocol);
		free(n->srv[i].domain);
		free(n->srv[i].target);
	}
	free(n->srv);
	for (size_t i = 0; i < n->n_txt; i++) {
		free(n->txt[i].name);
		free(n->txt[i].value);
	}
	free(n->txt);
	memset(n, 0, sizeof(*n));
}

void vf_net_mac_derive(const uuid_t uuid, char out[18])
{
	snprintf(out, 18, "52:54:00:%02x:%02x:%02x", uuid[13], uuid[14], uuid[15]);
}

void vf_object_clear(vf_object *o)
{
	if (!o)
		return;
	free(o->name);
	vf_kvs_free(o->labels, o->n_labels);
	vf_kvs_free(o->annotations, o->n_annotations);
	switch (o->kind) {
	case VF_KIND_POOL: {
		vf_pool_spec *p = &o->u.pool;
		free(p->xml);
		free(p->target_path);
		free(p->source.device);
		free(p->source.host);
		free(p->source.dir);
		free(p->source.name);
		free(p->source.format);
		break;
	}
	case VF_KIND_VOLUME:
		free(o->u.volume.pool);
		vf_volref_clear(&o->u.volume.backing);
		free(o->u.volume.source.url);
		free(o->u.volume.source.checksum);
		free(o->u.volume.source.ca_file);
		vf_volref_clear(&o->u.volume.source.volume);
		break;
	case VF_KIND_DOMAIN:
		vf_domain_spec_clear(&o->u.domain);
		break;
	case VF_KIND_NETWORK:
		vf_net_def_clear(&o->u.network.def);
		free(o->u.network.xml);
		break;
	case VF_KIND_MAX:
		break;
	}
	memset(o, 0, sizeof(*o));
}

void vf_desired_free(vf_desired *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n; i++)
		vf_object_clear(&d->objs[i]);
	free(d->objs);
	for (size_t i = 0; i < d->n_files; i++)
		free(d->files[i]);
	free(d->files);
	memset(d, 0, sizeof(*d));
}

const char *vf_desired_intern_file(vf_desired *d, const char *path)
{
	for (size_t i = 0; i < d->n_files; i++)
		if (strcmp(d->files[i], path) == 0)
			return d->files[i];
	char *copy = vf_strdup(path);
	VF_APPEND(d->files, d->n_files, d->cap_files, copy);
	return copy;
}

vf_object *vf_desired_find(const vf_desired *d, vf_kind kind, const char *pool, const char *name)
{
	for (size_t i = 0; i < d->n; i++) {
		vf_object *o = &d->objs[i];
		if (o->kind != kind || !vf_streq(o->name, name))
			continue;
		if (kind == VF_KIND_VOLUME && !vf_streq(o->u.volume.pool, pool))
			continue;
		return o;
	}
	return NULL;
}

/* virtform's UUIDv5 namespace. Fixed forever: changing it would give every
 * object without spec.uuid a new identity. */
static const uuid_t vf_uuid_namespace = {
	0x6b, 0x1f, 0x3c, 0x52, 0x8e, 0x0a, 0x4f, 0x6d,
	0x9a, 0x51, 0x2d, 0x7e, 0x30, 0xc4, 0x88, 0x19,
};

void vf_uuid_derive(vf_kind kind, const char *pool, const char *name, uuid_t out)
{
	_cleanup_free_ char *key = kind == VF_KIND_VOLUME
		? vf_asprintf("%s/%s/%s", vf_kind_to_string(kind), pool ? pool : "", name)
		: vf_asprintf("%s/%s", vf_kind_to_string(kind), name);
	uuid_generate_sha1(out, vf_uuid_namespace, key, strlen(key));
}

char *vf_volume_source_key(const vf_volume_spec *vs)
{
	if (!vs->has_source)
		return NULL;
	const vf_volume_source *s = &vs->source;
	if (s->has_volume)
		return vf_asprintf("volume:%s/%s", s->volume.pool, s->volume.name);
	if (s->algo != VF_CHECKSUM_NONE && s->checksum)
		return vf_asprintf("%s:%s", vf_checksum_algo_to_string(s->algo), s->checksum);
	return vf_asprintf("url:%s", s->url ? s->url : "");
}

vf_disk_bus vf_cloudinit_bus(const vf_cloudinit *ci)
{
	return ci->bus ? ci->bus : VF_BUS_SCSI;
}

vf_disk_device vf_cloudinit_seed_device(vf_disk_bus bus)
{
	return bus == VF_BUS_VIRTIO ? VF_DISK_DEVICE_DISK : VF_DISK_DEVICE_CDROM;
}
