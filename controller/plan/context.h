/* context.h: what every file of the planner sees, below all of them: the
 * planning context (desired, observed, ledger, their index), who uses
 * which disk, ownership, disk identities, the defaults virtform applies,
 * and the helpers that add changes and ops to a step (context.c). Not for
 * callers outside controller/plan/: they use plan.h. */
#pragma once

#include "controller/plan/index.h"
#include "controller/plan/plan.h"

typedef struct vf_plan_ctx {
	const vf_desired *d;
	const vf_observed *o;
	const vf_ledger *l;
	const vf_plan_opts *opts;
	const vf_index *ix;       /* lookups into d, o and l; built once per plan */
	vf_strmap *disk_users;    /* disk key -> vf_disk_users (vf_plan__disk_users) */
} vf_plan_ctx;

/* Who uses one disk (a vf_plan__disk_key), so the conflict check and the
 * removal of a volume find its users without scanning every domain. */
typedef struct vf_disk_users {
	const vf_object *decl;        /* first declared domain using it (object order) */
	const vf_disk *decl_disk;
	const vf_object *decl_excl;   /* first declared use that may not share it */
	const vf_disk *decl_excl_disk;
	const vf_obs_domain **live;   /* live domains not declared using it, host order */
	size_t n_live, cap_live;
	const vf_obs_domain *live_excl; /* first of those whose disk may not share it */
} vf_disk_users;

/* A disk may be used by more than one domain. */
static inline bool vf_plan__may_share(bool readonly, bool shareable, vf_disk_device device)
{
	return readonly || shareable || device == VF_DISK_DEVICE_CDROM;
}

/* ---- context.c ----------------------------------------------------------- */

/* Ownership: the ledger has it (pools, domains: with the live UUID) or,
 * for domains, the live domain carries virtform's metadata and the
 * declared UUID. `live_uuid` may be NULL for volumes. */
bool vf_plan__owned_pool(const vf_plan_ctx *c, const vf_obs_pool *p);
bool vf_plan__owned_volume(const vf_plan_ctx *c, const vf_obs_volume *v);
bool vf_plan__owned_domain(const vf_plan_ctx *c, const vf_obs_domain *dom,
			   const vf_object *declared);

/* The live domain's cloud-init seed CD-ROM (a volume disk named
 * "<domain>-cidata.iso", docs/cloud-init.md); NULL when it has none. */
const vf_obs_disk *vf_plan__live_seed_disk(const vf_obs_domain *have);

/* A cloud-init seed volume pool/name of domain `dom` that virtform wrote:
 * the ledger records it (seedOf), or, for a seed written before the ledger
 * recorded seeds, the live domain `live` (may be NULL) is virtform's,
 * carries the seed hash virtform recorded when it wrote its seed, and
 * has that volume as its seed CD-ROM. */
bool vf_plan__seed_owned(const vf_plan_ctx *c, const char *dom, const vf_obs_domain *live,
			 const char *pool, const char *name);

/* Is `path` below directory `dir` (trailing slashes ignored)? */
bool vf_plan__path_in_dir(const char *path, const char *dir);
/* Does live pool p's directory hold an entry `name` (libvirt may not list it)? */
bool vf_plan__pool_has_entry(const vf_obs_pool *p, const char *name);

/* The file name without its folders, for messages. */
const char *vf_plan__base(const char *path);

/* A disk's identity: "volume POOL/NAME" or "path PATH"; a path that is a
 * known volume's observed path is that volume. Caller frees. */
char *vf_plan__disk_key_vol(const char *pool, const char *name);
char *vf_plan__disk_key_path(const vf_plan_ctx *c, const char *path);
char *vf_plan__disk_key(const vf_plan_ctx *c, const vf_disk *d);
char *vf_plan__obs_disk_key(const vf_plan_ctx *c, const vf_obs_disk *d);

void vf_step__change(vf_step *s, const char *field, const char *old_value,
		     const char *new_value, vf_effect effect);
/* Take ownership of old/new (either may be NULL). */
void vf_step__change_take(vf_step *s, const char *field, char *old_value, char *new_value,
			  vf_effect effect);
vf_op *vf_step__op(vf_step *s, vf_op_type type, const vf_object *obj);

/* Who uses each disk key (vf_disk_users): every declared domain's disks
 * in object order, then the disks of every live domain not declared. Free
 * with vf_strmap_free(m, vf_plan__disk_users_free). */
vf_strmap *vf_plan__disk_users(const vf_plan_ctx *c);
void vf_plan__disk_users_free(void *p);

/* Is volume pool/name declared, or on the host? */
bool vf_plan__volume_exists(const vf_plan_ctx *c, const char *pool, const char *name);

/* A conflict at `pos` (and `other`, may be empty), for vf_plan__conflicts. */
#define VF_CONFLICT(d, pos, other, ...) vf_diag_add2((d), VF_E_CONFLICT, (pos), (other), __VA_ARGS__)

/* "true" or "false", for a change's old and new value. */
const char *vf_plan__bool_str(bool b);
/* The same directory, trailing slashes aside (NULL only equals NULL). */
bool vf_plan__same_path(const char *a, const char *b);

/* Defaults virtform applies (and therefore compares). */
#define VF_DEFAULT_VCPUS 1u
#define VF_DEFAULT_MEMORY (512ull * 1024 * 1024)
#define VF_DEFAULT_SHUTDOWN_TIMEOUT 60u

static inline uint32_t vf_dom_vcpus(const vf_domain_spec *d)
{
	return d->has_vcpus ? d->vcpus : VF_DEFAULT_VCPUS;
}
static inline uint64_t vf_dom_memory(const vf_domain_spec *d)
{
	return d->has_memory ? d->memory : VF_DEFAULT_MEMORY;
}
static inline vf_run_state vf_dom_state(const vf_domain_spec *d)
{
	return d->state == VF_RUN_UNSET ? VF_RUN_RUNNING : d->state;
}
static inline vf_vol_format vf_vol_fmt(const vf_volume_spec *v)
{
	return v->format == VF_VOL_FORMAT_UNSET ? VF_VOL_QCOW2 : v->format;
}
