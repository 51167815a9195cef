/* model.h: the desired-state object model that manifests load into, shared
 * by the loader, the planner and the drivers (which build libvirt XML from it).
 * Not for observed state (drivers/driver.h) or for parsing (manifest.h).
 *
 * "Unset" matters: a field the manifest leaves out is libvirt's to default and
 * is never drift. Every optional field therefore has an explicit unset value:
 * NULL strings, 0 enums (each enum's 0 is *_UNSET), VF_TRI_UNSET booleans,
 * and `has_*` flags for numbers. Defaults the planner applies are documented
 * in docs/virtform.yaml.5 and listed next to each field below. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <uuid/uuid.h>

#include "controller/core/error.h"
#include "controller/core/util.h"

/* ---- small shared types ------------------------------------------------ */

typedef enum vf_kind {
	VF_KIND_POOL,     /* "StoragePool" */
	VF_KIND_VOLUME,   /* "Volume" */
	VF_KIND_DOMAIN,   /* "Domain" */
	VF_KIND_NETWORK,  /* "Network" */
	VF_KIND_MAX,
} vf_kind;
VF_STRING_TABLE_DECL(vf_kind, vf_kind);

typedef enum vf_tri {
	VF_TRI_UNSET = 0,
	VF_TRI_FALSE,
	VF_TRI_TRUE,
} vf_tri;

static inline bool vf_tri_get(vf_tri t, bool dflt)
{
	return t == VF_TRI_UNSET ? dflt : t == VF_TRI_TRUE;
}

typedef struct vf_kv {
	char *key;
	char *value;
} vf_kv;

/* Free n pairs (or strings) and the array; NULL is fine. */
void vf_kvs_free(vf_kv *kv, size_t n);
void vf_strv_free(char **v, size_t n);

/* `permissions: {owner, group, mode}` on pools and volumes. */
typedef struct vf_perms {
	int64_t owner;            /* uid; -1 unset. Names are resolved at load */
	int64_t group;            /* gid; -1 unset */
	int32_t mode;             /* e.g. 0755 (YAML "0755" or "755"); -1 unset */
	vf_pos pos;
} vf_perms;

/* `{pool, name}` reference to a volume. */
typedef struct vf_volref {
	char *pool;
	char *name;
	vf_pos pos;
} vf_volref;

typedef enum vf_deletion_policy {
	VF_DELETION_UNSET = 0,    /* = Retain */
	VF_DELETION_RETAIN,       /* "Retain" */
	VF_DELETION_DELETE,       /* "Delete" */
	VF_DELETION_MAX,
} vf_deletion_policy;
VF_STRING_TABLE_DECL(vf_deletion_policy, vf_deletion_policy);

/* ---- StoragePool -------------------------------------------------------- */

typedef enum vf_pool_type {
	VF_POOL_TYPE_UNSET = 0,   /* required field: never unset after load */
	VF_POOL_DIR,              /* "dir" */
	VF_POOL_FS,               /* "fs" */
	VF_POOL_NETFS,            /* "netfs" */
	VF_POOL_LOGICAL,          /* "logical" */
	VF_POOL_DISK,             /* "disk" */
	VF_POOL_ISCSI,            /* "iscsi" */
	VF_POOL_TYPE_MAX,
} vf_pool_type;
VF_STRING_TABLE_DECL(vf_pool_type, vf_pool_type);

typedef enum vf_pool_state {
	VF_POOL_STATE_UNSET = 0,  /* default: active */
	VF_POOL_ACTIVE,           /* "active" */
	VF_POOL_INACTIVE,         /* "inactive" */
	VF_POOL_STATE_MAX,
} vf_pool_state;
VF_STRING_TABLE_DECL(vf_pool_state, vf_pool_state);

typedef struct vf_pool_source {
	char *device;             /* fs, logical, disk: a block device path */
	char *host;               /* netfs, iscsi: server host name */
	char *dir;                /* netfs: exported directory */
	char *name;               /* logical: volume group name; iscsi: target IQN */
	char *format;             /* fs: ext4, xfs, auto...; netfs: nfs, cifs...; disk: dos, gpt... */
	vf_pos pos;
} vf_pool_source;

typedef struct vf_pool_spec {
	bool has_uuid;
	uuid_t uuid;              /* spec.uuid, or derived: vf_uuid_derive() */
	vf_pos uuid_pos;
	vf_pool_type type;        /* spec.type (required) */
	char *target_path;        /* spec.target.path (required for dir, fs, netfs) */
	vf_pos target_pos;
	vf_pool_source source;    /* spec.source (what the type needs) */
	vf_pool_state state;      /* spec.state, default active */
	vf_tri autostart;         /* spec.autostart, default true */
	vf_perms perms;           /* spec.permissions (target directory) */
	bool adopt;               /* spec.adopt, default false */
	vf_deletion_policy deletion; /* spec.deletionPolicy, default Retain */
	char *xml;                /* spec.xml: complete libvirt pool XML; type, target.path and
				   * source above are read from it, the other structured fields excluded */
	char xml_hash[65];        /* SHA-256 (hex) of spec.xml as written; "" without it */
	vf_pos xml_pos;
	bool shared;              /* spec.shared: every host of the fleet sees the same storage
				   * (NFS, iSCSI, a cluster filesystem); placed domains' disks must
				   * live in such pools (docs/fleet.md) */
	vf_pos shared_pos;
} vf_pool_spec;

/* ---- Volume ------------------------------------------------------------- */

typedef enum vf_vol_format {
	VF_VOL_FORMAT_UNSET = 0,  /* default: qcow2 */
	VF_VOL_RAW,               /* "raw" */
	VF_VOL_QCOW2,             /* "qcow2" */
	VF_VOL_FORMAT_MAX,
} vf_vol_format;
VF_STRING_TABLE_DECL(vf_vol_format, vf_vol_format);

/* spec.source's checksum algorithm. */
typedef enum vf_checksum_algo {
	VF_CHECKSUM_NONE = 0,     /* insecureSkipVerify: true */
	VF_CHECKSUM_SHA256,       /* "sha256" */
	VF_CHECKSUM_SHA512,       /* "sha512" */
	VF_CHECKSUM_MAX,
} vf_checksum_algo;
VF_STRING_TABLE_DECL(vf_checksum_algo, vf_checksum_algo);

/* spec.source: where a new volume's content comes from (docs/images.md).
 * Exactly one of `url` and `has_volume`. Only read when the volume is
 * created; a change later is a replacement, never a re-download. */
typedef struct vf_volume_source {
	char *url;                /* source.url: http, https or file URL */
	vf_pos url_pos;
	vf_checksum_algo algo;    /* source.sha256 / source.sha512; NONE with insecure */
	char *checksum;           /* lower-case hex of the file as served */
	vf_pos checksum_pos;
	bool insecure;            /* source.insecureSkipVerify: true (written out) */
	char *ca_file;            /* source.caFile: PEM bundle for https */
	bool has_volume;
	vf_volref volume;         /* source.volume {pool, name}: clone it */
	vf_pos pos;               /* the source mapping */
} vf_volume_source;

typedef struct vf_volume_spec {
	char *pool;               /* spec.pool (required): a StoragePool name */
	vf_pos pool_pos;
	uint64_t capacity;        /* spec.capacity in bytes (required, > 0) */
	vf_pos capacity_pos;
	vf_vol_format format;     /* spec.format, default qcow2 */
	bool has_backing;
	vf_volref backing;        /* spec.backingVolume {pool, name} (qcow2 only) */
	vf_perms perms;           /* spec.permissions */
	bool adopt;
	vf_deletion_policy deletion; /* default Retain */
	bool has_source;
	vf_volume_source source;  /* spec.source: initial content (url or volume) */
} vf_volume_spec;

/* ---- Domain ------------------------------------------------------------- */

typedef enum vf_domain_type {
	VF_DOMAIN_TYPE_UNSET = 0, /* = auto */
	VF_DOMAIN_KVM,            /* "kvm" */
	VF_DOMAIN_QEMU,           /* "qemu" (TCG) */
	VF_DOMAIN_AUTO,           /* "auto": the host's hypervisor decides: kvm, else qemu, else lxc */
	VF_DOMAIN_LXC,            /* "lxc": a container (libvirt's LXC driver) */
	VF_DOMAIN_TYPE_MAX,
} vf_domain_type;
VF_STRING_TABLE_DECL(vf_domain_type, vf_domain_type);

typedef enum vf_firmware {
	VF_FIRMWARE_UNSET = 0,    /* libvirt's default (bios) */
	VF_FIRMWARE_BIOS,         /* "bios" */
	VF_FIRMWARE_UEFI,         /* "uefi" */
	VF_FIRMWARE_MAX,
} vf_firmware;
VF_STRING_TABLE_DECL(vf_firmware, vf_firmware);

typedef enum vf_boot_dev {
	VF_BOOT_UNSET = 0,
	VF_BOOT_HD,               /* "hd" */
	VF_BOOT_CDROM,            /* "cdrom" */
	VF_BOOT_NETWORK,          /* "network" */
	VF_BOOT_FD,               /* "fd" */
	VF_BOOT_MAX,
} vf_boot_dev;
VF_STRING_TABLE_DECL(vf_boot_dev, vf_boot_dev);

typedef enum vf_cpu_mode {
	VF_CPU_MODE_UNSET = 0,
	VF_CPU_HOST_PASSTHROUGH,  /* "host-passthrough" */
	VF_CPU_HOST_MODEL,        /* "host-model" */
	VF_CPU_MAXIMUM,           /* "maximum" */
	VF_CPU_MODE_MAX,
} vf_cpu_mode;
VF_STRING_TABLE_DECL(vf_cpu_mode, vf_cpu_mode);

typedef enum vf_disk_bus {
	VF_BUS_UNSET = 0,         /* default: virtio */
	VF_BUS_VIRTIO,            /* "virtio" */
	VF_BUS_SATA,              /* "sata" */
	VF_BUS_SCSI,              /* "scsi" */
	VF_BUS_IDE,               /* "ide" */
	VF_BUS_USB,               /* "usb" */
	VF_BUS_MAX,
} vf_disk_bus;
VF_STRING_TABLE_DECL(vf_disk_bus, vf_disk_bus);

typedef enum vf_disk_cache {
	VF_CACHE_UNSET = 0,       /* libvirt's default */
	VF_CACHE_DEFAULT,         /* "default" */
	VF_CACHE_NONE,            /* "none" */
	VF_CACHE_WRITETHROUGH,    /* "writethrough" */
	VF_CACHE_WRITEBACK,       /* "writeback" */
	VF_CACHE_DIRECTSYNC,      /* "directsync" */
	VF_CACHE_UNSAFE,          /* "unsafe" */
	VF_CACHE_MAX,
} vf_disk_cache;
VF_STRING_TABLE_DECL(vf_disk_cache, vf_disk_cache);

typedef enum vf_disk_device {
	VF_DISK_DEVICE_UNSET = 0, /* default: disk */
	VF_DISK_DEVICE_DISK,      /* "disk" */
	VF_DISK_DEVICE_CDROM,     /* "cdrom" */
	VF_DISK_DEVICE_MAX,
} vf_disk_device;
VF_STRING_TABLE_DECL(vf_disk_device, vf_disk_device);

/* spec.disks[i]: exactly one of `volume` and `path`. */
typedef struct vf_disk {
	bool has_volume;
	vf_volref volume;         /* disks[].volume {pool, name} */
	char *path;               /* disks[].path: an existing file or block device */
	char *target;             /* disks[].target ("vda"); default: next free name for the bus */
	vf_disk_bus bus;          /* disks[].bus, default virtio */
	vf_disk_device device;    /* disks[].device, default disk */
	bool readonly;            /* disks[].readonly, default false */
	bool shareable;           /* disks[].shareable, default false */
	vf_disk_cache cache;      /* disks[].cache */
	vf_pos pos;
} vf_disk;

/* spec.interfaces[i]: exactly one of `network` and `bridge`. */
typedef struct vf_iface {
	char *network;            /* interfaces[].network: a libvirt network name */
	char *bridge;             /* interfaces[].bridge: a host bridge name */
	char *model;              /* interfaces[].model, default virtio */
	char *mac;                /* interfaces[].mac, canonical lower-case; NULL = libvirt generates */
	vf_pos pos;
} vf_iface;

typedef enum vf_graphics_type {
	VF_GRAPHICS_UNSET = 0,    /* = none */
	VF_GRAPHICS_NONE,         /* "none" */
	VF_GRAPHICS_VNC,          /* "vnc" */
	VF_GRAPHICS_SPICE,        /* "spice" */
	VF_GRAPHICS_MAX,
} vf_graphics_type;
VF_STRING_TABLE_DECL(vf_graphics_type, vf_graphics_type);

typedef enum vf_run_state {
	VF_RUN_UNSET = 0,         /* default: running */
	VF_RUN_RUNNING,           /* "running" */
	VF_RUN_SHUTOFF,           /* "shutoff" */
	VF_RUN_PAUSED,            /* "paused" */
	VF_RUN_MAX,
} vf_run_state;
VF_STRING_TABLE_DECL(vf_run_state, vf_run_state);

/* spec.cloudInit {userData, metaData, networkConfig}: the NoCloud seed's
 * files, rendered to text at load time (controller/load/cloudinit.c) from an
 * inline mapping (emitted as YAML), a string (verbatim) or {file: PATH}.
 * docs/cloud-init.md. */
typedef struct vf_cloudinit {
	bool present;             /* spec.cloudInit is given */
	char *user_data;          /* user-data; "" when userData is not given */
	char *meta_data;          /* meta-data; default instance-id + local-hostname */
	char *network_config;     /* network-config; NULL = no such file on the seed */
	vf_pos pos;               /* spec.cloudInit */
	vf_pos user_data_pos;     /* each part's node; file 0 when defaulted */
	vf_pos meta_data_pos;
	vf_pos network_config_pos;
	char *seed_pool;          /* pool of the first volume disk; NULL = none (a plan error) */
	char *seed_volume;        /* "<domain>-cidata.iso" */
	vf_disk_bus bus;          /* spec.cloudInit.bus; UNSET = scsi (a CD-ROM on virtio-scsi) */
	vf_pos bus_pos;
	char hash[65];            /* lower-case hex SHA-256 of the three texts */
} vf_cloudinit;

/* spec.filesystems[i].type: what a container's filesystem is made of. */
typedef enum vf_fs_type {
	VF_FS_TYPE_UNSET = 0,     /* = mount */
	VF_FS_MOUNT,              /* "mount": a host directory bind-mounted */
	VF_FS_BLOCK,              /* "block": a host block device */
	VF_FS_FILE,               /* "file": a host image file, loop-mounted */
	VF_FS_RAM,                /* "ram": a tmpfs of spec.filesystems[i].usage */
	VF_FS_TYPE_MAX,
} vf_fs_type;
VF_STRING_TABLE_DECL(vf_fs_type, vf_fs_type);

/* spec.filesystems[i] (containers). */
typedef struct vf_filesystem {
	vf_fs_type type;          /* default mount */
	char *source;             /* mount: dir; block: device; file: image; NULL for ram */
	char *target;             /* the path inside the container (required, absolute) */
	bool readonly;            /* default false */
	uint64_t usage;           /* ram: the tmpfs size in bytes (required, multiple of 1KiB) */
	vf_pos pos;
} vf_filesystem;

void vf_filesystems_free(vf_filesystem *fs, size_t n);

/* spec.idmap.uid[i] / gid[i]: container ids start..start+count-1 are host
 * ids target..target+count-1. */
typedef struct vf_idmap_range {
	uint32_t start;
	uint32_t target;
	uint32_t count;
	vf_pos pos;
} vf_idmap_range;

/* spec.init (containers): the process the container runs as its pid 1. */
typedef struct vf_init {
	char *path;               /* init.path: absolute, inside the container; NULL = libvirt's /sbin/init */
	char **args;              /* init.args */
	size_t n_args;
	vf_kv *env;               /* init.env, in manifest order */
	size_t n_env;
	vf_pos pos;
} vf_init;

typedef struct vf_domain_spec {
	bool has_uuid;
	uuid_t uuid;              /* spec.uuid, or derived */
	vf_pos uuid_pos;
	vf_domain_type type;      /* spec.type, default auto */
	bool has_vcpus;
	uint32_t vcpus;           /* spec.vcpus, default 1, 1..4096 */
	bool has_memory;
	uint64_t memory;          /* spec.memory in bytes, default 512MiB, multiple of 1KiB */
	vf_cpu_mode cpu_mode;     /* spec.cpu.mode */
	char *machine;            /* spec.machine ("q35", "pc") */
	vf_firmware firmware;     /* spec.firmware */
	vf_boot_dev *boot;        /* spec.boot: ordered list, e.g. [hd, cdrom] */
	size_t n_boot;
	vf_disk *disks;           /* spec.disks */
	size_t n_disks;
	vf_iface *ifaces;         /* spec.interfaces */
	size_t n_ifaces;
	vf_graphics_type graphics;/* spec.graphics.type */
	char *graphics_listen;    /* spec.graphics.listen, default 127.0.0.1 */
	vf_tri serial_console;    /* spec.serialConsole, default true (a pty serial + console) */
	char *serial_log;         /* spec.serialConsole.log: an absolute file; NULL = no log */
	bool serial_log_append;   /* spec.serialConsole.append, default false (truncated at start) */
	vf_run_state state;       /* spec.state, default running */
	vf_tri autostart;         /* spec.autostart, default false */
	bool has_shutdown_timeout;
	uint32_t shutdown_timeout;/* spec.shutdownTimeout in seconds ("60", "90s", "2m"), default 60 */
	bool adopt;
	char *xml;                /* spec.xml: complete libvirt domain XML; excludes the structured fields */
	char xml_hash[65];        /* SHA-256 (hex) of spec.xml as written; "" without spec.xml */
	vf_pos xml_pos;
	vf_cloudinit cloudinit;   /* spec.cloudInit: the NoCloud seed (not with spec.xml) */
	vf_init init;             /* spec.init (containers) */
	vf_filesystem *filesystems; /* spec.filesystems (containers) */
	size_t n_filesystems;
	vf_idmap_range *uidmap;   /* spec.idmap.uid (containers) */
	size_t n_uidmap;
	vf_idmap_range *gidmap;   /* spec.idmap.gid */
	size_t n_gidmap;
	vf_pos idmap_pos;
	vf_pos type_pos;          /* spec.type's value; file NULL when not given */
	/* The first field given that only a virtual machine has, and the first
	 * only a container has (static strings, NULL none): refused at load
	 * for an explicit type, at plan time when auto resolves. */
	const char *vm_field;
	vf_pos vm_field_pos;
	const char *ct_field;
	vf_pos ct_field_pos;
	/* spec.placement (docs/fleet.md): a placed domain is a singleton of
	 * the fleet, run by exactly one host that holds its lease in etcd. */
	bool placed;              /* spec.placement given */
	char **place_hosts;       /* placement.hosts: eligible host ids, manifest order */
	size_t n_place_hosts;
	vf_kv *place_labels;      /* placement.hostLabels: every one must match a host's label */
	size_t n_place_labels;
	vf_pos placement_pos;
} vf_domain_spec;

/* ---- Network ------------------------------------------------------------ */

typedef enum vf_net_forward {
	VF_NET_FORWARD_UNSET = 0, /* default: nat */
	VF_NET_NAT,               /* "nat" */
	VF_NET_ROUTE,             /* "route" */
	VF_NET_OPEN,              /* "open" */
	VF_NET_ISOLATED,          /* "isolated": no <forward> element */
	VF_NET_BRIDGE,            /* "bridge": an existing host bridge (bridge.name) */
	VF_NET_FORWARD_MAX,
} vf_net_forward;
VF_STRING_TABLE_DECL(vf_net_forward, vf_net_forward);

typedef enum vf_net_state {
	VF_NET_STATE_UNSET = 0,   /* default: active */
	VF_NET_ACTIVE,            /* "active" */
	VF_NET_INACTIVE,          /* "inactive" */
	VF_NET_STATE_MAX,
} vf_net_state;
VF_STRING_TABLE_DECL(vf_net_state, vf_net_state);

/* ips[].dhcp.ranges[i]: both ends inside the ip's subnet, start <= end. */
typedef struct vf_net_range {
	char *start;              /* canonical text (inet_ntop) */
	char *end;
	vf_pos pos;
} vf_net_range;

/* ips[].dhcp.hosts[i]: a static lease; mac (IPv4) and/or name, and ip. */
typedef struct vf_net_host {
	char *mac;                /* canonical lower case; NULL for IPv6 hosts by name */
	char *name;
	char *ip;                 /* canonical; inside the subnet */
	vf_pos pos;
} vf_net_host;

typedef struct vf_net_ip {
	int family;               /* 4 or 6 (ips[].family, default from the address) */
	char *address;            /* canonical text of the bridge's address */
	uint32_t prefix;          /* 0..32 / 0..128 */
	vf_net_range *ranges;
	size_t n_ranges;
	vf_net_host *hosts;
	size_t n_hosts;
	vf_pos pos;
} vf_net_ip;

typedef struct vf_net_dns_host {
	char *ip;
	char **names;
	size_t n_names;
	vf_pos pos;
} vf_net_dns_host;

typedef struct vf_net_forwarder {
	char *addr;               /* NULL with only domain */
	char *domain;
	vf_pos pos;
} vf_net_forwarder;

typedef struct vf_net_srv {
	char *service;            /* required */
	char *protocol;           /* required: tcp or udp */
	char *domain;
	char *target;
	int32_t port, priority, weight; /* -1 unset */
	vf_pos pos;
} vf_net_srv;

typedef struct vf_net_txt {
	char *name;
	char *value;
	vf_pos pos;
} vf_net_txt;

/* The parts of a network libvirt's <network> describes. The loader fills
 * it from the manifest, the libvirt driver from live XML (so the planner
 * compares like with like). Unset: NULL, 0 with has_* false, VF_TRI_UNSET. */
typedef struct vf_net_def {
	vf_net_forward forward;   /* spec.forward.mode, default nat */
	char *forward_dev;        /* spec.forward.dev */
	char *bridge;             /* spec.bridge.name; libvirt picks virbrN when unset */
	vf_tri stp;               /* spec.bridge.stp, libvirt's default true */
	bool has_delay;
	uint32_t delay;           /* spec.bridge.delay seconds, libvirt's default 0 */
	bool has_mtu;
	uint32_t mtu;             /* spec.mtu */
	char *mac;                /* spec.mac; default derived from the UUID (vf_net_mac_derive) */
	char *domain;             /* spec.domain.name */
	vf_tri local_only;        /* spec.domain.localOnly */
	bool has_ips;             /* spec.ips is given (else libvirt's addresses are not compared) */
	vf_net_ip *ips;           /* spec.ips */
	size_t n_ips;
	bool has_dns;             /* spec.dns is given (else its entries are not compared) */
	vf_net_dns_host *dns_hosts; /* spec.dns.hosts */
	size_t n_dns_hosts;
	vf_net_forwarder *forwarders; /* spec.dns.forwarders */
	size_t n_forwarders;
	vf_net_srv *srv;          /* spec.dns.srv */
	size_t n_srv;
	vf_net_txt *txt;          /* spec.dns.txt */
	size_t n_txt;
} vf_net_def;

typedef struct vf_network_spec {
	bool has_uuid;
	uuid_t uuid;              /* spec.uuid, or derived */
	vf_pos uuid_pos;
	vf_net_def def;
	vf_pos forward_pos;       /* spec.forward */
	vf_pos bridge_pos;        /* spec.bridge.name */
	vf_pos mac_pos;
	vf_net_state state;       /* spec.state, default active */
	vf_tri autostart;         /* spec.autostart, default true */
	bool adopt;               /* spec.adopt, default false */
	char *xml;                /* spec.xml: complete libvirt network XML; excludes def's fields */
	char xml_hash[65];        /* SHA-256 (hex) of spec.xml as written; "" without it */
	vf_pos xml_pos;
} vf_network_spec;

/* ---- objects and the desired set --------------------------------------- */

typedef struct vf_object {
	vf_kind kind;
	char *name;               /* metadata.name */
	vf_kv *labels;            /* metadata.labels */
	size_t n_labels;
	vf_kv *annotations;       /* metadata.annotations */
	size_t n_annotations;
	vf_pos pos;               /* the document's start */
	vf_pos name_pos;          /* metadata.name's value */
	uuid_t uuid;              /* effective UUID: spec.uuid or derived (pools, domains) */
	union {
		vf_pool_spec pool;
		vf_volume_spec volume;
		vf_domain_spec domain;
		vf_network_spec network;
	} u;
} vf_object;

/* Everything loaded from one or more manifest directories. Owns the file
 * names that every vf_pos in it points to. */
typedef struct vf_desired {
	vf_object *objs;
	size_t n;
	size_t cap;
	char **files;             /* interned file names (vf_pos.file points here) */
	size_t n_files;
	size_t cap_files;
} vf_desired;

void vf_object_clear(vf_object *o);
void vf_desired_free(vf_desired *d);

/* A volume's spec.source as recorded in the ledger, so a later change is
 * seen: "sha256:HEX", "sha512:HEX", "url:URL" (insecureSkipVerify) or
 * "volume:POOL/NAME"; NULL without a source. Caller frees. */
char *vf_volume_source_key(const vf_volume_spec *vs);

/* Intern a file name in d; the result lives as long as d. */
const char *vf_desired_intern_file(vf_desired *d, const char *path);

/* Find an object; NULL if absent. For volumes `pool` is required, else ignored. */
vf_object *vf_desired_find(const vf_desired *d, vf_kind kind, const char *pool, const char *name);

/* UUIDv5 under virtform's fixed namespace from "<Kind>/<name>" (volumes:
 * "Volume/<pool>/<name>"), so every host and every run agrees. */
void vf_uuid_derive(vf_kind kind, const char *pool, const char *name, uuid_t out);

/* The seed's bus: spec.cloudInit.bus, default scsi (docs/cloud-init.md); and
 * the device it is on that bus: a plain disk on virtio, else a CD-ROM. */
vf_disk_bus vf_cloudinit_bus(const vf_cloudinit *ci);
vf_disk_device vf_cloudinit_seed_device(vf_disk_bus bus);
/* Free what a network description holds and zero it; accepts NULL. */
void vf_net_def_clear(vf_net_def *n);
/* The bridge MAC virtform gives a network without spec.mac: 52:54:00 (the
 * prefix libvirt uses) and three bytes of its UUID, so a re-created bridge
 * keeps its MAC. out holds 18 bytes. */
void vf_net_mac_derive(const uuid_t uuid, char out[18]);

/* Limits shared by the loader and the docs. */
#define VF_NAME_MAX 200       /* bytes in metadata.name */
#define VF_VCPUS_MAX 4096
