/* driver.h: the header for driver writers. Defines the observed-state model
 * drivers fill in and the tables (structs of function pointers) the
 * controller calls: hypervisor (domains), storage (pools, volumes), events
 * (out-of-band changes, for the watch daemon), fetch, locks.
 * Not for callers' conveniences or policy: drivers touch the world and
 * report; the controller decides. Drivers know nothing of YAML or plans.
 *
 * Conventions for every table: `name` comes first; members are marked
 * required or optional, and callers check optional ones for NULL. Calls
 * return 0 or a negative vf_code and fill the caller's vf_error. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <uuid/uuid.h>

#include "controller/core/error.h"
#include "controller/core/model.h"

/* ---- observed state ------------------------------------------------------ */

/* A disk file's content lease (virtlockd), read by vf_lease_query() in the
 * lock driver and attached to observed volumes and path disks. */
typedef struct vf_lease {
	bool held;                /* someone holds the disk's content lease */
	bool shared;              /* held shared (a <shareable/> disk), not exclusive */
	pid_t pid;                /* holder (virtlockd, normally); 0 when unknown */
	char *command;            /* holder's command line; NULL when unknown */
	char *lockspace;          /* "direct", or the indirect lockspace directory */
	char *lock_path;          /* the file whose byte 0 is locked */
} vf_lease;


/* What virtform last sent for an object defined from raw XML, and what
 * libvirt made of it (docs/concepts.md, "Raw XML: three ways"). The two
 * digests are kept with the object (a domain's virtform metadata, so they
 * survive a lost ledger; a pool's ledger entry); the two texts live in the
 * state directory, named by their digests, and are loaded only when a
 * digest differs (controller/state/records.c). Digests NULL: no record
 * (adopted, or defined before records existed). A text NULL with its
 * digest set: not loaded, or missing from the state directory (then the
 * comparison is the first apply's). */
typedef struct vf_xml_record {
	char *digest;             /* SHA-256 (hex) of spec.xml as written */
	char *normalised_digest;  /* SHA-256 (hex) of `normalised` */
	char *manifest;           /* that spec.xml: the last-applied configuration */
	char *normalised;         /* libvirt's inactive XML right after the define, virtform's element
				   * removed, serialised as vf_obs_domain.xml_bare is */
} vf_xml_record;

typedef struct vf_obs_pool {
	char *name;
	uuid_t uuid;
	vf_pool_type type;        /* UNSET when libvirt's type is one we do not model */
	char *type_name;          /* libvirt's type string, always set */
	char *target_path;
	vf_pool_source source;    /* pos unused */
	bool active;
	bool autostart;
	bool persistent;
	int64_t owner;            /* target permissions; -1 unknown */
	int64_t group;
	int32_t mode;
	uint64_t capacity;        /* figures libvirt reports; never drift */
	uint64_t available;
	/* What the pool holds beyond its observed volumes (which are listed
	 * after a refresh): for dir pools (fs and netfs while mounted) whose
	 * files are local, the names in the target directory, sorted,
	 * without "." and "..", whether libvirt lists them or not. */
	char **entries;
	size_t n_entries;
	bool contents_known;      /* its volumes and entries are all it holds */
	char *contents_note;      /* when not known, why ("the pool's files are on ..."); else NULL */
	char *xml_bare;           /* inactive XML without the live figures (capacity, allocation,
				   * available), serialised as a record's `normalised` is */
	char *xml_bare_digest;    /* SHA-256 (hex) of xml_bare */
	vf_xml_record applied;    /* raw-XML pools: the record of the last define, its digests
				   * copied from the pool's ledger entry (vf_records_pools); NULL none */
} vf_obs_pool;

typedef struct vf_obs_volume {
	char *pool;               /* pool name */
	char *name;
	char *path;               /* the volume's key path on the host */
	uint64_t capacity;
	uint64_t allocation;
	vf_vol_format format;     /* UNSET when another format */
	char *format_name;        /* libvirt's format string ("raw", "qcow2", "iso") */
	char *backing_path;       /* <backingStore><path>, NULL when none */
	int64_t owner;            /* -1 unknown */
	int64_t group;
	int32_t mode;
	vf_lease lease;           /* filled by vf_leases_observe(); zero when free or unknown */
} vf_obs_volume;

typedef enum vf_obs_disk_type {
	VF_OBS_DISK_FILE,         /* type='file': path */
	VF_OBS_DISK_BLOCK,        /* type='block': path */
	VF_OBS_DISK_VOLUME,       /* type='volume': pool + volume */
	VF_OBS_DISK_OTHER,        /* network, nvme, ...: compared by nothing */
} vf_obs_disk_type;

typedef struct vf_obs_disk {
	vf_obs_disk_type type;
	char *path;               /* file/block source; NULL otherwise */
	char *pool;               /* volume source */
	char *volume;
	char *target;             /* <target dev> */
	vf_disk_bus bus;
	vf_disk_device device;
	bool readonly;
	bool shareable;
	vf_disk_cache cache;      /* UNSET when the XML has no cache attribute */
	vf_lease lease;           /* file/block disks: filled by vf_leases_observe() */
} vf_obs_disk;

typedef struct vf_obs_iface {
	char *network;            /* type='network' */
	char *bridge;             /* type='bridge' */
	char *model;
	char *mac;                /* lower case */
} vf_obs_iface;


typedef struct vf_obs_domain {
	char *name;
	uuid_t uuid;
	char *type;               /* <domain type>: "kvm", "qemu", "test", ... */
	uint32_t vcpus;           /* inactive config: the maximum (<vcpu>) */
	uint32_t boot_vcpus;      /* inactive config: those it boots with (<vcpu current>; vcpus when absent) */
	uint64_t memory;          /* <memory> in bytes (maximum) */
	uint64_t current_memory;  /* <currentMemory> in bytes */
	vf_cpu_mode cpu_mode;
	char *machine;            /* <os><type machine> */
	vf_firmware firmware;     /* UEFI when <os firmware='efi'> or a loader; else BIOS */
	vf_boot_dev *boot;
	size_t n_boot;
	vf_obs_disk *disks;
	size_t n_disks;
	vf_obs_iface *ifaces;
	size_t n_ifaces;
	vf_graphics_type graphics;/* NONE when there is no <graphics> */
	char *graphics_listen;
	bool serial_console;      /* a <serial> or <console> device exists */
	char *serial_log;         /* the first <serial>'s <log file>; NULL none */
	bool serial_log_append;   /* its append='on' */
	vf_run_state state;       /* RUNNING, SHUTOFF or PAUSED; others map to SHUTOFF... */
	char *state_name;         /* ...and libvirt's own word is kept here ("crashed") */
	bool autostart;
	bool persistent;
	bool managed;             /* carries virtform's <metadata> element */
	char *seed_hash;          /* virtform:seed on that element: the cloud-init seed's SHA-256; NULL none */
	char *fence_host;         /* fleet: the host that last started it as a placed domain; NULL none */
	uint64_t fence_token;     /* and its fencing token then (0 none); docs/fleet.md */
	char *xml;                /* inactive XML (VIR_DOMAIN_XML_INACTIVE) */
	vf_xml_record applied;    /* raw-XML domains: the record of the last define; all NULL none */
	char *xml_bare;           /* with a record: `xml` without virtform's element, serialised as
				   * `applied.normalised` was, so equal documents compare equal */
	char *xml_bare_digest;    /* with a record: SHA-256 (hex) of xml_bare, compared with
				   * applied.normalised_digest before any tree is diffed */
	uint32_t live_vcpus;      /* running domains: current vCPUs; else 0 */
	uint64_t live_memory;     /* running domains: current balloon in bytes; else 0 */
	uint32_t live_max_vcpus;  /* running domains: the vCPUs they booted with (the most a
				   * live change may set); 0 unknown */
	uint64_t live_max_memory; /* running domains: the memory they booted with, in bytes
				   * (the most the balloon may give); 0 unknown */
	char *init;               /* containers: <os><init>; NULL none */
	char **init_args;         /* <os><initarg>, in order */
	size_t n_init_args;
	vf_kv *init_env;          /* <os><initenv name=...>, in order */
	size_t n_init_env;
	vf_filesystem *filesystems; /* <devices><filesystem>; type UNSET: one virtform does not write */
	size_t n_filesystems;
	vf_idmap_range *uidmap;   /* <idmap><uid>, in order */
	size_t n_uidmap;
	vf_idmap_range *gidmap;   /* <idmap><gid> */
	size_t n_gidmap;
} vf_obs_domain;

typedef struct vf_obs_network {
	char *name;
	uuid_t uuid;
	vf_net_def def;           /* read from the inactive XML; what libvirt filled in included */
	bool active;
	bool autostart;
	bool persistent;
	bool managed;             /* carries virtform's <metadata> element */
	char *live_bridge;        /* the active network's bridge (live XML); NULL inactive */
	char *xml;                /* inactive XML */
	vf_xml_record applied;    /* raw-XML networks: the record of the last define; all NULL none */
	char *xml_bare;           /* with a record: `xml` without virtform's element, as `applied.normalised` */
} vf_obs_network;

/* A host network interface and its addresses, as the kernel lists them
 * (getifaddrs) on this machine, or libvirt's interface listing on a remote
 * or test host. */
typedef struct vf_obs_hostif {
	char *name;
	char **addrs;             /* "10.1.2.3/24", "fd00::2/64"; canonical */
	size_t n_addrs;
} vf_obs_hostif;

typedef struct vf_observed {
	vf_obs_pool *pools;
	size_t n_pools;
	vf_obs_volume *volumes;
	size_t n_volumes;
	vf_obs_domain *domains;
	size_t n_domains;
	vf_obs_network *networks;
	size_t n_networks;
	vf_obs_hostif *hostifs;   /* host interfaces (bridge names and subnets taken) */
	size_t n_hostifs;
	char *hv_type;            /* virConnectGetType(): "QEMU", "Test", ... */
	bool kvm;                 /* the host can run type='kvm' domains */
	/* 1u << vf_domain_type for each of kvm, qemu and lxc the host's
	 * capabilities offer on its own architecture; 0: not known (the
	 * test driver, an observed state from before this field). */
	unsigned domain_types;
} vf_observed;

void vf_observed_free(vf_observed *o);
/* One object of the observed state, as an event names it or a step
 * touches it. Volumes are read with their pool: kind VOLUME names the
 * pool in `pool`. Strings borrowed. */
typedef struct vf_obj_ref {
	vf_kind kind;
	const char *name;
	const char *pool;         /* VF_KIND_VOLUME: its pool */
	uuid_t uuid;
	bool has_uuid;            /* look up by UUID (an event's), else by name */
} vf_obj_ref;
/* Put a freshly read domain (taken; NULL: it no longer exists) in place
 * of every entry of o with its UUID or its name. */
void vf_observed_put_domain(vf_observed *o, const char *name, const unsigned char *uuid,
			    vf_obs_domain *fresh);
/* The same for a network (taken; NULL: it no longer exists). */
void vf_observed_put_network(vf_observed *o, const char *name, const unsigned char *uuid,
			     vf_obs_network *fresh);
/* Put a freshly read pool (taken; NULL: gone) and its volumes (taken, the
 * array freed) in place of the entries with its UUID or name, and their
 * volumes. */
void vf_observed_put_pool(vf_observed *o, const char *name, const unsigned char *uuid,
			  vf_obs_pool *fresh, vf_obs_volume *vols, size_t n_vols);
/* Move volume pool/name out of o into *out (o no longer has it); false
 * when o has no such volume. */
bool vf_observed_take_volume(vf_observed *o, const char *pool, const char *name,
			     vf_obs_volume *out);
/* Compare a cache with a fresh observation: report(what, userdata) once per
 * object that is missing on one side or differs in what the planner reads
 * (never in figures libvirt updates on its own: capacity, allocation,
 * leases). `skip(kind, name, userdata)` (optional) excludes objects with
 * changes in flight. Returns how many disagreed. */
size_t vf_observed_compare(const vf_observed *cache, const vf_observed *fresh,
			   bool (*skip)(vf_kind kind, const char *name, void *userdata),
			   void (*report)(const char *what, void *userdata), void *userdata);
vf_obs_pool *vf_observed_pool(const vf_observed *o, const char *name);
vf_obs_pool *vf_observed_pool_by_uuid(const vf_observed *o, const uuid_t uuid);
vf_obs_volume *vf_observed_volume(const vf_observed *o, const char *pool, const char *name);
vf_obs_domain *vf_observed_domain(const vf_observed *o, const char *name);
vf_obs_domain *vf_observed_domain_by_uuid(const vf_observed *o, const uuid_t uuid);
vf_obs_network *vf_observed_network(const vf_observed *o, const char *name);
vf_obs_network *vf_observed_network_by_uuid(const vf_observed *o, const uuid_t uuid);

/* ---- hypervisor and storage drivers -------------------------------------- */

typedef struct vf_conn vf_conn;   /* a driver's open connection; opaque */

/* The namespace of the <metadata> element virtform puts on domains it owns. */
#define VF_METADATA_NS "https://virtform.dev/xmlns/owner/1"
#define VF_METADATA_PREFIX "virtform"
/* The fleet's element (docs/fleet.md): <vff:fence host="h1" token="42"/>,
 * the host that started a placed domain and its fencing token. */
#define VF_FENCE_NS "https://virtform.dev/xmlns/fence/1"
#define VF_FENCE_PREFIX "vff"

/* Who a connection's host is, for binding a state directory to it
 * (docs/concepts.md, rule 10). Strings are owned; free with
 * vf_host_id_clear(). */
typedef struct vf_host_id {
	char *uri;                /* the URI connected to, as libvirt names it */
	char *uuid;               /* libvirt's host UUID (capabilities <host><uuid>); NULL: none reported */
	bool uuid_hardware;       /* it is the machine's SMBIOS system UUID, so it survives a daemon
	                           * restart; libvirt makes one up at each start on a host without one */
	char *hostname;           /* the host's own name (virConnectGetHostname); NULL unknown */
} vf_host_id;

void vf_host_id_clear(vf_host_id *h);

/* How a connection is opened (docs/virtform.1, --connect-timeout). */
typedef struct vf_conn_opts {
	/* Give up opening when the daemon has not answered within this many
	 * seconds (VF_E_CONNECTION, naming the URI and the wait); 0: wait as
	 * long as it takes. */
	unsigned connect_timeout_s;
} vf_conn_opts;

#define VF_CONNECT_TIMEOUT_DEFAULT_S 15u

typedef struct vf_hypervisor_driver {
	const char *name;
	/* required: open `uri` (NULL: libvirt's default, LIBVIRT_DEFAULT_URI);
	 * opts NULL: VF_CONNECT_TIMEOUT_DEFAULT_S. When the backend has an
	 * event driver, start its loop first: a connection opened with the
	 * loop running is kept alive (a dead peer is noticed, and every call
	 * on it fails within the keepalive's bound instead of hanging).
	 *
	 * Every member taking a vf_conn fails with VF_E_CONNECTION, not
	 * VF_E_DRIVER, when the connection to the host was lost (libvirtd
	 * went away, the keepalive gave up, the ssh tunnel closed); the
	 * message is the operation's own, with libvirt's words. */
	int (*open)(const char *uri, const vf_conn_opts *opts, vf_conn **out, vf_error *err);
	/* required; accepts NULL */
	void (*close)(vf_conn *c);
	/* required: the URI actually connected to (borrowed) */
	const char *(*uri)(vf_conn *c);
	/* optional (NULL: yes): do the paths this connection reports name files
	 * on this machine? Leases are read and metadata locks taken only then;
	 * a remote host's paths would name unrelated local files. Decided by
	 * the host's identity, not by how the URI spells the host. */
	bool (*files_local)(vf_conn *c);
	/* optional (NULL: the host is known by its URI alone): who the host
	 * is. Fills *out only on success. */
	int (*host_identity)(vf_conn *c, vf_host_id *out, vf_error *err);
	/* required: observe pools, volumes and domains in bulk (one listing per
	 * kind, inactive XML of each). Fills *out only on success. */
	int (*observe)(vf_conn *c, vf_observed *out, vf_error *err);
	/* optional: re-read one object into `o`, a cache the caller keeps
	 * from `observe` (the watch daemon's): its entry is replaced, or
	 * dropped when the object no longer exists; a pool comes with its
	 * volumes and what its directory holds. `fresh`: refresh a pool
	 * first (libvirt rescans it) and read every volume, as `observe`
	 * does, for a step that will act on it; without (an event's
	 * re-read), no refresh, so libvirt raises no further event, and
	 * only volumes new to `o` are read: the rest keep their entries, so
	 * an event costs the same however many volumes the pool holds. A
	 * kind it does not read is left alone. */
	int (*observe_object)(vf_conn *c, const vf_obj_ref *ref, bool fresh, vf_observed *o,
			      vf_error *err);
	/* optional: libvirt calls observation made so far, process-wide (the
	 * daemon reports calls per event from it) */
	uint64_t (*observe_calls)(void);

	/* required: define (or redefine, same UUID) a domain from its spec,
	 * with virtform's metadata element. `type` is the resolved domain type
	 * (kvm, qemu or lxc; never auto); on libvirt's test driver, whose only type
	 * is "test", the driver uses that instead. */
	int (*domain_define)(vf_conn *c, const vf_object *dom, vf_domain_type type,
			     vf_error *err);
	/* required */
	int (*domain_start)(vf_conn *c, const char *name, vf_error *err);
	/* required: ACPI shutdown, wait up to timeout_s, then force off */
	int (*domain_shutdown)(vf_conn *c, const char *name, unsigned timeout_s, vf_error *err);
	/* required */
	int (*domain_suspend)(vf_conn *c, const char *name, vf_error *err);
	int (*domain_resume)(vf_conn *c, const char *name, vf_error *err);
	int (*domain_set_autostart)(vf_conn *c, const char *name, bool on, vf_error *err);
	/* optional: change a running domain without a reboot */
	int (*domain_set_vcpus_live)(vf_conn *c, const char *name, uint32_t vcpus, vf_error *err);
	int (*domain_set_memory_live)(vf_conn *c, const char *name, uint64_t bytes, vf_error *err);
	/* required: undefine (must be shut off); keep_nvram keeps UEFI vars */
	int (*domain_undefine)(vf_conn *c, const char *name, bool keep_nvram, vf_error *err);
	/* optional (fleet): force off at once, no ACPI shutdown */
	int (*domain_destroy)(vf_conn *c, const char *name, vf_error *err);
	/* optional (fleet): start with the vCPUs paused, so no guest code runs
	 * until domain_resume (a placed start is guarded in between) */
	int (*domain_start_paused)(vf_conn *c, const char *name, vf_error *err);
	/* optional (fleet): record host and fencing token in the domain's
	 * (persistent) metadata before a placed start; read back as
	 * vf_obs_domain.fence_host/fence_token */
	int (*domain_set_fence)(vf_conn *c, const char *name, const char *host, uint64_t token,
				vf_error *err);
	/* optional (fleet): the running domain's hypervisor process and its
	 * start time (field 22 of /proc/PID/stat), for the fence helper;
	 * local connections only */
	int (*domain_pid)(vf_conn *c, const char *name, int *pid, unsigned long long *starttime,
			  vf_error *err);

	/* optional (NULL: this backend has no networks; a plan with a
	 * Network op fails): define or redefine (same UUID) a network from
	 * its spec, with virtform's metadata element */
	int (*network_define)(vf_conn *c, const vf_object *net, vf_error *err);
	int (*network_start)(vf_conn *c, const char *name, vf_error *err);
	int (*network_stop)(vf_conn *c, const char *name, vf_error *err);
	int (*network_set_autostart)(vf_conn *c, const char *name, bool on, vf_error *err);
	/* make the running network's DHCP hosts and ranges, DNS hosts, SRV
	 * and TXT records those of the spec through virNetworkUpdate
	 * (LIVE|CONFIG): no restart, the bridge stays */
	int (*network_update_live)(vf_conn *c, const vf_object *net, vf_error *err);
	/* stop and start the network, then put every running guest's
	 * interface on it back on its (new) bridge */
	int (*network_restart)(vf_conn *c, const char *name, vf_error *err);
	/* stop when active, undefine */
	int (*network_undefine)(vf_conn *c, const char *name, vf_error *err);
} vf_hypervisor_driver;

typedef struct vf_storage_driver {
	const char *name;
	/* required: define, build (create the target directory / format as the
	 * type needs, never overwriting data) */
	int (*pool_define)(vf_conn *c, const vf_object *pool, vf_error *err);
	int (*pool_start)(vf_conn *c, const char *name, vf_error *err);
	int (*pool_stop)(vf_conn *c, const char *name, vf_error *err);
	int (*pool_set_autostart)(vf_conn *c, const char *name, bool on, vf_error *err);
	/* required: undefine; with delete_data also deletes the target, but
	 * only once libvirt lists no volume in the pool (after a refresh):
	 * the caller deletes the volumes it owns first, one by one, and a
	 * pool still holding any is refused with VF_E_BLOCKED, untouched */
	int (*pool_undefine)(vf_conn *c, const char *name, bool delete_data, vf_error *err);
	/* required: create a volume from its spec. The driver resolves
	 * spec.backingVolume {pool, name} to the backing file's path and
	 * format itself. Refreshes the pool first. */
	int (*volume_create)(vf_conn *c, const vf_object *vol, vf_error *err);
	/* required: grow only */
	int (*volume_resize)(vf_conn *c, const char *pool, const char *name, uint64_t capacity,
			     vf_error *err);
	int (*volume_delete)(vf_conn *c, const char *pool, const char *name, vf_error *err);
	/* optional: create the volume `vol` (spec.source.url) holding exactly
	 * the bytes of local_file, streamed through libvirt (so remote pools
	 * work too), in blocks of at least 1 MiB. File pools get a file of the
	 * image's own size (grow it with volume_resize); libvirt then probes
	 * its format. Refuses to overwrite an existing volume. */
	int (*volume_upload)(vf_conn *c, const vf_object *vol, const char *local_file,
			     vf_error *err);
	/* optional: create the volume `vol` as a copy of spec.source.volume
	 * (virStorageVolCreateXMLFrom), at the source's capacity. */
	int (*volume_clone)(vf_conn *c, const vf_object *vol, vf_error *err);
	/* optional: the file (or device) a volume lives in, in *path (caller
	 * frees); for metadata-locking a volume created earlier in the run,
	 * whose path observation could not know */
	int (*volume_path)(vf_conn *c, const char *pool, const char *name, char **path,
			   vf_error *err);
	/* optional: the SHA-256 (hex) of pool `name`'s inactive XML as it stands,
	 * live figures removed (vf_obs_pool.xml_bare_digest): called right
	 * after a define from spec.xml, for the pool's record. NULL: pools
	 * keep no record (their spec.xml is compared as on a first apply) */
	int (*pool_record)(vf_conn *c, const char *name, char **ret_digest, vf_error *err);
} vf_storage_driver;

/* ---- event drivers -------------------------------------------------------- */

/* What a backend's event source has seen since the last `take`: counts and
 * a one-line description of the latest event, for the daemon's log. The
 * daemon decides what to do about it; the driver only reports. */
typedef struct vf_event_obj {
	vf_kind kind;             /* DOMAIN, POOL (and what other kinds register) */
	char *name;
	uuid_t uuid;
} vf_event_obj;

typedef struct vf_event_report {
	unsigned domain_events;   /* lifecycle and metadata changes */
	unsigned pool_events;     /* storage pool lifecycle and refresh */
	unsigned network_events;  /* network lifecycle */
	bool closed;              /* the connection dropped (libvirtd went away, say) */
	char *last;               /* "Domain/web stopped (destroyed)"; NULL when none */
	/* Each object the events named, once (a burst for one object is one
	 * entry), in order of first arrival. */
	vf_event_obj *objs;
	size_t n_objs, cap_objs;
} vf_event_report;

/* Free `last` and the objects and zero the report; accepts NULL. */
static inline void vf_event_report_clear(vf_event_report *r)
{
	if (!r)
		return;
	free(r->last);
	for (size_t i = 0; i < r->n_objs; i++)
		free(r->objs[i].name);
	free(r->objs);
	memset(r, 0, sizeof(*r));
}

typedef struct vf_event_source vf_event_source; /* one listening connection; opaque */

/* Out-of-band changes on the host, for `virtform watch`. A source listens
 * on a connection of its own, separate from the vf_conn the hypervisor
 * driver opened, and changes nothing. Its callbacks may run on a thread of
 * the driver's; they only note what arrived and make `fd` readable, so the
 * caller's poll loop takes every decision. */
typedef struct vf_event_driver {
	const char *name;
	/* required: start the process-wide event loop (a thread of the
	 * driver's). Call it before the backend opens any connection, event
	 * source or not: every command does, since libvirt's keepalive runs on
	 * it. Idempotent. */
	int (*loop_start)(vf_error *err);
	/* required: stop that loop; idempotent. Close every source and
	 * connection first. */
	void (*loop_stop)(void);
	/* required: connect to `uri` (NULL: the driver's default) to listen
	 * for domain and pool changes and the connection closing. The loop
	 * must be running. Fills *out only on success. */
	int (*open)(const char *uri, vf_event_source **out, vf_error *err);
	/* required: readable while a report waits (borrowed descriptor) */
	int (*fd)(const vf_event_source *s);
	/* required: move what arrived into *out (the caller clears it with
	 * vf_event_report_clear) and drain the descriptor */
	void (*take)(vf_event_source *s, vf_event_report *out);
	/* required: false once the connection has dropped; false for NULL */
	bool (*alive)(vf_event_source *s);
	/* required: stop listening and free; accepts NULL. Call while the
	 * loop still runs (a callback in flight is waited for). */
	void (*close)(vf_event_source *s);
} vf_event_driver;

/* A backend is a hypervisor and a storage driver that share a connection,
 * and the event source that watches the same host, chosen by URI from the
 * static table in drivers/registry.c. */
typedef struct vf_backend {
	const char *name;
	const vf_hypervisor_driver *hv;       /* required */
	const vf_storage_driver *storage;     /* required */
	/* optional (NULL: the backend has no events; `virtform watch` then
	 * notices out-of-band changes only at its periodic resync, and takes
	 * a failed observation as a lost connection) */
	const vf_event_driver *events;
} vf_backend;

/* The backend for a URI (every libvirt URI maps to "libvirt" today). */
const vf_backend *vf_backend_for_uri(const char *uri);

/* A driver inside a long wait (an upload's block loop, a guest's shutdown
 * wait) calls vf_heartbeat() every so often, so whoever runs it can tell
 * a long step from a hang: the watch daemon sets vf_heartbeat_hook to ping
 * systemd's watchdog. A process-wide hook, not a parameter of every table
 * entry: the waits sit deep inside calls whose signatures stay as they
 * are. Called on the thread that runs the step; NULL hook: nothing. */
extern void (*vf_heartbeat_hook)(void);
void vf_heartbeat(void);

extern const vf_hypervisor_driver vf_libvirt_hypervisor_driver;
extern const vf_storage_driver vf_libvirt_storage_driver;
extern const vf_event_driver vf_libvirt_event_driver;

/* ---- fetch drivers (drivers/fetch/) -------------------------------------- */

/* Progress of one download: bytes received so far (as served, compressed
 * or not), the total when known (0 otherwise), and the mean rate in
 * bytes/s since this run of the transfer started. Called at most about
 * ten times a second, and once more with done=true at the end. */
typedef void (*vf_fetch_progress_fn)(const char *url, uint64_t bytes, uint64_t total,
				     double rate, bool done, void *userdata);

typedef struct vf_fetch_opts {
	const char *ca_file;          /* PEM CA bundle for https; NULL: the system's */
	vf_fetch_progress_fn progress;/* optional */
	void *userdata;
	/* 0 = the defaults below; tests shorten them */
	unsigned connect_timeout_s;
	unsigned low_speed_time_s;    /* abort below low_speed_limit for this long */
	unsigned low_speed_limit;     /* bytes/s */
	unsigned head_timeout_s;
	/* The most bytes the download may be, both as served and
	 * decompressed: the capacity of the volume it is for (0: no bound).
	 * Passing it stops the transfer at once (or before it starts, when
	 * Content-Length says so) with VF_E_LIMIT, and nothing is cached. */
	uint64_t max_size;
	const char *volume;           /* "pool/name" named in that error; with max_size */
} vf_fetch_opts;

#define VF_FETCH_CONNECT_TIMEOUT_S 30u
#define VF_FETCH_LOW_SPEED_LIMIT 1024u
#define VF_FETCH_LOW_SPEED_TIME_S 60u
#define VF_FETCH_HEAD_TIMEOUT_S 10u
#define VF_FETCH_MAX_REDIRECTS 5L

typedef struct vf_fetch_driver {
	const char *name;
	/* required: the size the server announces for url (Content-Length
	 * of a HEAD, or a file URL's size), within head_timeout_s. */
	int (*head)(const char *url, const vf_fetch_opts *opts, uint64_t *ret_size,
		    vf_error *err);
	/* required: make <cache_dir>/<vf_fetch_cache_name()> hold url's
	 * content (decompressed when the URL ends in .xz, .gz or .zst),
	 * verified against algo/hex (of the bytes as served) while streaming.
	 * A verified entry is reused without a request; an interrupted
	 * download resumes from its .part with a Range request. A mismatch or
	 * short transfer never becomes an entry. *ret_path (caller frees) is
	 * the entry's path. algo NONE (insecureSkipVerify) skips the check.
	 * opts->max_size bounds the download; an https URL is never followed
	 * to a plain http redirect; a qcow2 image that names a host file
	 * (vf_image_check) is refused, and such an entry is never kept. */
	int (*fetch_to_cache)(const char *url, vf_checksum_algo algo, const char *hex,
			      const char *cache_dir, const vf_fetch_opts *opts, char **ret_path,
			      vf_error *err);
} vf_fetch_driver;

extern const vf_fetch_driver vf_curl_fetch_driver;

/* The cache entry's file name: "<algo>-<hex>", or for unverified
 * downloads "url-<sha256 of the URL>". Caller frees. */
char *vf_fetch_cache_name(const char *url, vf_checksum_algo algo, const char *hex);
/* The URL's path ends in .gz, .xz or .zst: fetch_to_cache unpacks it. */
bool vf_fetch_url_compressed(const char *url);

/* What an image file is: qcow2 (with the virtual size from its header)
 * or raw (virtual size = file size). */
typedef struct vf_image_info {
	vf_vol_format format;
	uint64_t virtual_size;
	uint64_t file_size;
	/* qcow2 only: a host file the header names, which a guest given the
	 * image could read: "backing file" or "external data file" (NULL:
	 * none), and its name as written (cut to fit; may be empty) */
	const char *host_file_kind;
	char host_file[256];
	/* neither raw nor qcow2 but a format whose header can name other host
	 * files (backing, extents) and that libvirt's pool refresh would probe
	 * and open as such: "qed", "vmdk", "cow" (NULL: raw or qcow2) */
	const char *other_format;
} vf_image_info;
int vf_image_probe(const char *path, vf_image_info *out, vf_error *err);
/* vf_image_probe, then refuse (VF_E_BLOCKED) an image that names a host
 * file, or is of an other_format; `url` is where it came from, for the
 * message. */
int vf_image_check(const char *path, const char *url, vf_image_info *out, vf_error *err);

/* ---- lock drivers ------------------------------------------------------- */

typedef struct vf_lock_token vf_lock_token;  /* handed out by lock, taken back by unlock */

typedef struct vf_lock_holder {
	pid_t pid;                /* 0 when unknown */
	char *command;            /* holder's command line; NULL when unknown */
	char *since;              /* ISO 8601 time it took the lock; NULL when unknown */
	char *host;               /* for distributed locks; NULL for local */
	bool held;                /* query/failed lock: someone holds it (pid may be 0) */
	/* distributed locks (etcd) only; 0 otherwise */
	int64_t revision;         /* the key's create revision: the holder's fencing token */
	int64_t lease_left_s;     /* seconds before the holder's lease expires unless renewed */
	int64_t lease_ttl_s;      /* the lease's TTL; lease age ~ lease_ttl_s - lease_left_s */
} vf_lock_holder;

void vf_lock_holder_clear(vf_lock_holder *h);

typedef enum vf_lock_kind {
	VF_LOCK_RECONCILE,        /* one reconciler per state directory */
	VF_LOCK_METADATA,         /* libvirt's metadata lock: byte 1 of a file */
	VF_LOCK_SINGLETON,        /* a name held by one host of a fleet (etcd driver only) */
	VF_LOCK_KIND_MAX,
} vf_lock_kind;

typedef struct vf_lock_driver {
	const char *name;
	/* required: take the lock on `resource` (a state directory for
	 * RECONCILE, a file path for METADATA), waiting up to wait_ms
	 * (0: fail at once). On VF_E_LOCKED/VF_E_TIMEOUT fills *holder when
	 * known (holder may be NULL). A METADATA path that does not exist, is
	 * a directory or is on a read-only file system has nothing to lock, as
	 * in libvirt's security manager: 0 with *out NULL. */
	int (*lock)(vf_lock_kind kind, const char *resource, unsigned wait_ms,
		    vf_lock_token **out, vf_lock_holder *holder, vf_error *err);
	/* required: give the token back; accepts NULL */
	void (*unlock)(vf_lock_token *tok);
	/* optional: who holds `resource`, without taking it (0 and pid 0 when free) */
	int (*query)(vf_lock_kind kind, const char *resource, vf_lock_holder *out, vf_error *err);
} vf_lock_driver;

extern const vf_lock_driver vf_fcntl_lock_driver;

/* The etcd lock driver (drivers/etcd/, docs/fleet.md): SINGLETON locks
 * only, resource = a name ("domain/web"), held as the key
 * <prefix>/lock/<name> attached to this process's one etcd lease, so the
 * lease's expiry frees all of them at once. Start it before locking. */
extern const vf_lock_driver vf_etcd_lock_driver;

typedef struct vf_etcd_lock_config {
	const char *endpoints;    /* --etcd: "http://h1:2379,http://h2:2379" */
	const char *host_id;      /* --host-id, required (vf_placement_host_id_valid) */
	const char *prefix;       /* key prefix; NULL: "/virtform" */
	unsigned ttl_s;           /* the lease's TTL; 0: VF_ETCD_TTL_DEFAULT_S */
	unsigned request_ms;      /* one request at one endpoint; 0: 2000 */
} vf_etcd_lock_config;

#define VF_ETCD_TTL_DEFAULT_S 10u

/* Connect and grant this process's lease (TTL cfg->ttl_s); a second start
 * without a stop is VF_E_USAGE. */
int vf_etcd_lock_start(const vf_etcd_lock_config *cfg, vf_error *err);
/* One keepalive of the lease: *ret_ttl_s the renewed TTL (0: it expired;
 * every lock is lost), *ret_sent_ms the monotonic send time of the
 * request etcd answered (drivers/fence/lease.h takes both). */
int vf_etcd_lock_keepalive(int64_t *ret_ttl_s, uint64_t *ret_sent_ms, vf_error *err);
/* The lease this process holds (0 when not started). */
int64_t vf_etcd_lock_lease(void);
/* Revoke the lease (every key attached goes with it) and disconnect.
 * Tokens still out must be unlocked before; accepts not started. */
void vf_etcd_lock_stop(void);
/* A token's fencing token: the key's create revision (0 for NULL). */
int64_t vf_etcd_lock_revision(const vf_lock_token *tok);

/* Default waits (docs/locking.md): --lock-timeout for the reconcile lock,
 * --lock-wait for metadata locks. */
#define VF_LOCK_TIMEOUT_DEFAULT_MS 0u
#define VF_LOCK_WAIT_DEFAULT_MS 60000u

/* The fcntl driver's descriptor behind a token it handed out (-1 for NULL).
 * Change a locked file's size or owner through this descriptor
 * (ftruncate, fchown): opening and closing the same file elsewhere in this
 * process would silently drop the lock (the POSIX close() rule). */
int vf_fcntl_lock_fd(const vf_lock_token *tok);

/* Take drv's METADATA lock on each of paths[0..n) in sorted (strcmp) path
 * order, so two virtforms locking overlapping sets never deadlock. On
 * success *out is a caller-owned array of n tokens, (*out)[i] for paths[i];
 * a path listed twice is locked once and the later slots are NULL. On
 * failure nothing stays locked and *out is untouched. */
int vf_lock_metadata_many(const vf_lock_driver *drv, const char *const *paths, size_t n,
			  unsigned wait_ms, vf_lock_token ***out, vf_error *err);
/* Unlock every token of a vf_lock_metadata_many() result and free the
 * array; accepts NULL. */
void vf_lock_release_many(const vf_lock_driver *drv, vf_lock_token **toks, size_t n);

/* ---- leases (observed state; read, never taken) -------------------------- */

/* Where virtlockd's lock manager looks when no path is given. */
#define VF_LOCKD_CONF_DEFAULT "/etc/libvirt/qemu-lockd.conf"

/* The qemu-lockd.conf the libvirtd behind `uri` (as libvirt names the
 * connection) reads: a session daemon started for a user other than root
 * (qemu:///session, no host) reads its user's
 * $XDG_CONFIG_HOME/libvirt/qemu-lockd.conf (~/.config/libvirt/), as libvirt
 * keeps a session daemon's configuration; every other one
 * VF_LOCKD_CONF_DEFAULT. `privileged` is geteuid() == 0 (root's
 * qemu:///session is the system daemon's). Caller frees. */
char *vf_lockd_conf_for(const char *uri, bool privileged);


/* Whether the content lease on disk file `path` is held, by probing
 * virtlockd's lockspaces without taking anything: the indirect one
 * (`file_lockspace_dir` in lockd_conf, NULL = VF_LOCKD_CONF_DEFAULT; the
 * lock file is named by the lower-case hex SHA-256 of `path` as written
 * in the domain XML) when configured, and the direct one (byte 0 of the
 * file itself). A missing file or conf is not an error; *out is filled
 * only on success. */
int vf_lease_query(const char *path, const char *lockd_conf, vf_lease *out, vf_error *err);
void vf_lease_clear(vf_lease *l);   /* frees the strings; accepts NULL */

/* Probe the lease of every observed volume and file/block disk. A file
 * that cannot be probed (no permission, gone) is left as "not held":
 * observation never fails because of a lease. */
void vf_leases_observe(vf_observed *o, const char *lockd_conf);
