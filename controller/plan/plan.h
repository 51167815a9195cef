/* plan.h: the plan, a pure function of (desired, observed, ledger): ordered
 * steps with a reason each, or a rejection listing every conflict found.
 * No I/O here: apply.c carries the steps out, planprint.c shows them. */
#pragma once

#include "drivers/driver.h"
#include "controller/core/error.h"
#include "controller/state/ledger.h"
#include "controller/core/model.h"

typedef enum vf_action {
	VF_ACT_CREATE,            /* "+" */
	VF_ACT_UPDATE,            /* "~" */
	VF_ACT_REMOVE,            /* "-" */
	VF_ACT_BLOCKED,           /* "!": would destroy data / break a lease; not attempted */
	VF_ACT_RETAIN,            /* no longer declared, kept (deletionPolicy Retain); ledger entry dropped */
	VF_ACT_MAX,
} vf_action;
VF_STRING_TABLE_DECL(vf_action, vf_action);

/* When a changed field takes effect. */
typedef enum vf_effect {
	VF_EFFECT_LIVE,           /* "live": applied now, running or not */
	VF_EFFECT_NEXT_BOOT,      /* "next-boot": config redefined; a running domain sees it after a restart */
	VF_EFFECT_REPLACE,        /* "replace": needs the object destroyed and recreated (--replace) */
	VF_EFFECT_RESTART,        /* "restart": a network redefined and restarted (--replace) */
	VF_EFFECT_MAX,
} vf_effect;
VF_STRING_TABLE_DECL(vf_effect, vf_effect);

typedef struct vf_change {
	char *field;              /* manifest path, "spec.memory", "spec.disks[0].cache" */
	char *old_value;          /* as shown; NULL = absent */
	char *new_value;
	vf_effect effect;
	const char *note;         /* static text the plan shows instead of "old → new" (JSON keeps both) */
} vf_change;

/* The driver calls apply makes, in order, for one step. */
typedef enum vf_op_type {
	VF_OP_POOL_DEFINE,        /* define (or redefine) + build */
	VF_OP_POOL_START,
	VF_OP_POOL_STOP,
	VF_OP_POOL_AUTOSTART,     /* flag */
	VF_OP_POOL_UNDEFINE,      /* flag: delete data */
	VF_OP_VOLUME_CREATE,
	VF_OP_VOLUME_RESIZE,      /* u64: new capacity */
	VF_OP_VOLUME_DELETE,
	VF_OP_DOMAIN_DEFINE,      /* dtype: resolved type */
	VF_OP_DOMAIN_START,
	VF_OP_DOMAIN_SHUTDOWN,    /* u32: timeout seconds */
	VF_OP_DOMAIN_SUSPEND,
	VF_OP_DOMAIN_RESUME,
	VF_OP_DOMAIN_AUTOSTART,   /* flag */
	VF_OP_DOMAIN_SET_VCPUS,   /* u32, live */
	VF_OP_DOMAIN_SET_MEMORY,  /* u64 bytes, live */
	VF_OP_DOMAIN_UNDEFINE,    /* flag: keep NVRAM */
	VF_OP_DOMAIN_DESTROY,     /* fleet: force off at once (a placed domain this host does not hold) */
	VF_OP_LEDGER_PUT,         /* claim ownership (pending before a create, confirmed after the step); u64: domains' shutdownTimeout */
	VF_OP_LEDGER_DROP,        /* forget ownership (after removing) */
	VF_OP_VOLUME_FETCH,       /* spec.source.url into <state-dir>/cache (once per checksum) */
	VF_OP_VOLUME_UPLOAD,      /* create the volume from the cached image (libvirt stream) */
	VF_OP_VOLUME_CLONE,       /* create the volume as a copy of spec.source.volume */
	VF_OP_SEED_WRITE,         /* domains: build the cloud-init seed ISO, replace volume pool/name with it */
	VF_OP_SEED_DELETE,        /* domains: delete the seed volume pool/name */
	VF_OP_NETWORK_DEFINE,     /* define or redefine (same UUID) */
	VF_OP_NETWORK_START,
	VF_OP_NETWORK_STOP,
	VF_OP_NETWORK_AUTOSTART,  /* flag */
	VF_OP_NETWORK_UPDATE,     /* DHCP and DNS entries through virNetworkUpdate, live and config */
	VF_OP_NETWORK_RESTART,    /* stop, start, guests' interfaces back on the bridge */
	VF_OP_NETWORK_UNDEFINE,
	VF_OP_MAX,
} vf_op_type;
VF_STRING_TABLE_DECL(vf_op_type, vf_op_type);

typedef struct vf_op {
	vf_op_type type;
	vf_kind kind;
	const vf_object *obj;     /* desired object (borrowed); NULL for removals */
	char *pool;               /* volumes: the pool; SEED_*: the seed volume's pool */
	char *name;               /* SEED_*: the seed volume's name */
	uuid_t uuid;              /* LEDGER_PUT */
	uint64_t u64;
	uint32_t u32;
	bool flag;                /* ...; SEED_WRITE: an old seed volume exists (deleted first) */
	vf_domain_type dtype;
	char *path;               /* VOLUME_RESIZE/DELETE, SEED_*: the file, metadata-locked while the op runs */
	/* fleet (docs/fleet.md): the placed domain this op acts for
	 * (DOMAIN_START: the domain itself; VOLUME_CREATE/UPLOAD/CLONE in a
	 * shared pool: the placed domain that uses the volume, or a volume
	 * made from it; SEED_WRITE: the domain, unless it rewrites a seed the
	 * fleet recorded as created). NULL: not
	 * fleet-managed. Apply asks vf_fleet_hooks before such an op runs. */
	char *placed_for;
} vf_op;

typedef struct vf_step {
	vf_action action;
	vf_kind kind;
	char *pool;               /* volumes */
	char *name;
	vf_pos pos;               /* the manifest that caused it; file NULL for removals */
	char *reason;             /* one sentence: why this step */
	vf_change *changes;       /* updates: each differing field */
	size_t n_changes;
	size_t cap_changes;
	vf_op *ops;
	size_t n_ops;
	size_t cap_ops;
} vf_step;

/* A held content lease the plan saw on a file it cares about. */
typedef struct vf_plan_lease {
	char *object;             /* "Volume/POOL/NAME" or "Domain/NAME" (a path disk) */
	char *path;
	pid_t pid;                /* holder; 0 when unknown */
	char *command;            /* holder's command line; NULL when unknown */
	char *lockspace;          /* "direct" or the indirect lockspace directory */
	char *lock_file;          /* the file whose byte 0 is locked: path, or the indirect lease file */
	bool shared;
} vf_plan_lease;

typedef struct vf_plan {
	vf_step *steps;           /* in dependency order: pools, volumes, domains; removals reversed */
	size_t n;
	size_t cap;
	size_t counts[VF_ACT_MAX];
	vf_plan_lease *leases;    /* every held lease observed (plan --json shows them) */
	size_t n_leases;
	size_t cap_leases;
} vf_plan;

/* What is known, before planning, of a spec.source.url (reconcile asks the
 * server with a HEAD, or finds the image in the cache); the planner does
 * no I/O itself. */
typedef struct vf_source_size {
	const char *url;
	uint64_t size;            /* bytes */
	bool image_size;          /* size is the image's own (uncompressed, or the cache entry) */
	bool cached;              /* already in the cache: apply downloads nothing */
} vf_source_size;

/* A volume in a shared pool that a host of the fleet claimed in etcd
 * before creating it (<prefix>/volumes/POOL/NAME, docs/fleet.md). */
typedef struct vf_fleet_volume {
	const char *pool;
	const char *name;
	const char *host;         /* the host that claimed it */
	const char *domain;       /* the placed domain it was created for */
	bool created;             /* the claimer finished creating it */
} vf_fleet_volume;

/* The fleet as this host sees it at the start of a pass (virtform watch
 * --etcd): which placed domains it holds the lease of, who holds the
 * others, which shared volumes the fleet created. Plain data, so the
 * planner stays pure. NULL in vf_plan_opts: no fleet (plan, apply):
 * placed domains are never defined, started or stopped here. */
typedef struct vf_fleet_view {
	const char *host_id;
	const char *const *held;  /* placed domains whose lease this host holds, sorted */
	size_t n_held;
	const vf_kv *holders;     /* placed domain -> host id holding its lease (all hosts) */
	size_t n_holders;
	const vf_fleet_volume *volumes;
	size_t n_volumes;
} vf_fleet_view;

typedef struct vf_plan_opts {
	const char *const *replace;   /* "KIND/NAME" (volumes "Volume/POOL/NAME") allowed to be replaced */
	size_t n_replace;
	const vf_source_size *sources; /* optional: sizes of spec.source.url images */
	size_t n_sources;
	const vf_fleet_view *fleet;   /* optional: the fleet (watch --etcd) */
} vf_plan_opts;

/* Every --replace names an object the manifests declare: a mistyped name
 * would otherwise be ignored and the replacement the user asked for never
 * happen. Returns 0, or -VF_E_USAGE naming the first unknown one. Pure. */
int vf_plan_check_replace(const vf_desired *desired, const vf_plan_opts *opts, vf_error *err);

/* Build the plan. Returns 0 with *out filled, or -VF_E_CONFLICT with every
 * conflict appended to *conflicts (and *out untouched). Pure: no I/O. */
int vf_plan_build(const vf_desired *desired, const vf_observed *observed,
		  const vf_ledger *ledger, const vf_plan_opts *opts, vf_plan *out,
		  vf_diags *conflicts);

/* True when the plan has nothing to do (RETAIN steps count as changes:
 * they edit the ledger). BLOCKED steps count as pending changes. */
bool vf_plan_empty(const vf_plan *p);

/* Turn a step into a blocked one with `reason` (taken): none of its ops
 * run, and the plan's counts follow. */
void vf_plan_block_step(vf_plan *plan, vf_step *s, char *reason);

void vf_plan_free(vf_plan *p);
