/* apply.c: runs a plan's ops through the backend's driver tables and keeps
 * the ledger in step (docs/concepts.md, "What virtform never does", 2-3).
 *
 * A creation is claimed "pending" before it runs and confirmed after its
 * step's last op (an upload, a clone, a build, a seed write): a crash in
 * between leaves the entry pending, and the next plan redoes the object
 * ("re-create (incomplete)") instead of counting it converged. A rewrite of
 * an owned object in several steps (a seed, a pool's build) is marked
 * "incomplete" the same way. A create that finds the name taken drops its
 * claim and fails as a conflict: virtform never owns what it did not make.
 * A claim whose step never ran (a failure or a signal stopped the run
 * first) is dropped too.
 *
 * Writes, each atomic: one before the first step (every claim of the
 * plan), one before a step that builds on volumes created earlier in the
 * run (a domain, an overlay or a clone: what it uses must be confirmed
 * first, or a crash would leave a used volume looking half-made), and one
 * at the end (the other confirmations, and what removals forgot). So a run
 * costs three writes, not two per object. A pool's or domain's
 * confirmation can wait: its UUID or virtform's metadata identifies it if
 * a crash comes first, and redoing either is done in place. */
#include "controller/apply/apply.h"

#include <errno.h>
#include <unistd.h>

#include "drivers/seed/seed.h"

/* Record a LEDGER_PUT or LEDGER_DROP in memory; true when it changed the
 * ledger. The caller writes the ledger. */
static bool vf_apply__ledger(const vf_apply_ctx *ctx, const vf_op *op)
{
	if (op->type == VF_OP_LEDGER_DROP)
		return vf_ledger_drop(ctx->ledger, op->kind, op->pool, op->name);
	vf_ledger_put(ctx->ledger, op->kind, op->pool, op->name, op->uuid);
	vf_ledger_entry *e = vf_ledger_find(ctx->ledger, op->kind, op->pool, op->name);
	e->deletion = op->u32 == VF_DELETION_DELETE ? VF_DELETION_DELETE : VF_DELETION_RETAIN;
	if (op->kind == VF_KIND_VOLUME && op->obj && op->obj->kind == VF_KIND_VOLUME) {
		/* what it is created from, so a later source change shows */
		free(e->source);
		e->source = vf_volume_source_key(&op->obj->u.volume);
	} else if (op->kind == VF_KIND_VOLUME && op->obj) {
		/* a cloud-init seed: the domain it belongs to (controller/plan/domain.c) */
		free(e->seed_of);
		e->seed_of = vf_strdup(op->obj->name);
	}
	if (op->kind == VF_KIND_DOMAIN) {
		/* what its removal waits for, when the manifest no longer says */
		e->has_shutdown_timeout = true;
		e->shutdown_timeout = (uint32_t)op->u64;
	}
	return true;
}

/* ---- claims: pending, incomplete, confirmed -------------------------------- */

static bool vf_apply__has_op(const vf_step *s, vf_op_type type)
{
	for (size_t k = 0; k < s->n_ops; k++)
		if (s->ops[k].type == type)
			return true;
	return false;
}

/* The op that brings the step's object into being (a define that
 * redefines an existing object creates nothing). */
static bool vf_apply__is_create(const vf_step *s, const vf_op *op)
{
	switch (op->type) {
	case VF_OP_VOLUME_CREATE:
	case VF_OP_VOLUME_UPLOAD:
	case VF_OP_VOLUME_CLONE:
		return true;
	case VF_OP_POOL_DEFINE:
		return s->action == VF_ACT_CREATE || vf_apply__has_op(s, VF_OP_POOL_UNDEFINE);
	case VF_OP_DOMAIN_DEFINE:
	case VF_OP_NETWORK_DEFINE:
		return s->action == VF_ACT_CREATE;
	default:
		return false;
	}
}

/* What the ledger says of the step's object while the step runs: pending
 * if it creates it, incomplete if it rewrites it in several steps (a seed,
 * a pool's define and build), complete otherwise. */
static vf_ledger_state vf_apply__claim_state(const vf_step *s)
{
	bool rewrite = false;
	for (size_t k = 0; k < s->n_ops; k++) {
		if (vf_apply__is_create(s, &s->ops[k]))
			return VF_LEDGER_PENDING;
		rewrite |= s->ops[k].type == VF_OP_SEED_WRITE || s->ops[k].type == VF_OP_POOL_DEFINE;
	}
	return rewrite ? VF_LEDGER_INCOMPLETE : VF_LEDGER_COMPLETE;
}

static vf_ledger_entry *vf_apply__entry(const vf_apply_ctx *ctx, const vf_step *s)
{
	return vf_ledger_find(ctx->ledger, s->kind, s->pool, s->name);
}

/* A step that uses objects created before it in the run: a domain (its
 * disks), an overlay (its backing volume), a clone (its source). Their
 * confirmations are written first. */
static bool vf_apply__builds_on(const vf_step *s)
{
	if (s->kind == VF_KIND_DOMAIN)
		return true;
	for (size_t k = 0; k < s->n_ops; k++) {
		const vf_object *o = s->ops[k].obj;
		if (o && o->kind == VF_KIND_VOLUME &&
		    (o->u.volume.has_backing || (o->u.volume.has_source && o->u.volume.source.has_volume)))
			return true;
	}
	return false;
}

/* Per step: what the claim was marked, and whether this run added the
 * entry (so a step that never ran leaves no trace). */
typedef struct vf_apply_claim {
	vf_ledger_state state;
	bool fresh;
} vf_apply_claim;

/* Claim, in memory, everything the plan creates, adopts or rewrites; true
 * when the ledger changed. */
static bool vf_apply__claim_all(const vf_apply_ctx *ctx, const vf_plan *plan,
				vf_apply_claim *claims)
{
	bool changed = false;
	for (size_t i = 0; i < plan->n; i++) {
		const vf_step *s = &plan->steps[i];
		if (s->action == VF_ACT_BLOCKED)
			continue;
		vf_ledger_state want = vf_apply__claim_state(s);
		/* nothing of ours under the name yet: no entry, or a claim whose
		 * create never began (an entry "pending" or complete stays so, as
		 * the volume there may be ours: a redo, a replace) */
		const vf_ledger_entry *old = vf_apply__entry(ctx, s);
		bool unowned = !old || old->state == VF_LEDGER_CLAIMED;
		bool put = false;
		for (size_t k = 0; k < s->n_ops; k++) {
			if (s->ops[k].type != VF_OP_LEDGER_PUT)
				continue;
			claims[i].fresh = !vf_apply__entry(ctx, s);
			vf_apply__ledger(ctx, &s->ops[k]);
			put = changed = true;
		}
		vf_ledger_entry *e = vf_apply__entry(ctx, s);
		if (!e || (!put && want == VF_LEDGER_COMPLETE))
			continue;
		if (put || e->state == VF_LEDGER_COMPLETE) {
			/* a new volume's create is only claimed here; the step marks
			 * it pending, on disk, the moment its create begins */
			vf_ledger_state st =
				want == VF_LEDGER_PENDING && s->kind == VF_KIND_VOLUME && unowned
				? VF_LEDGER_CLAIMED : want;
			changed |= e->state != st;
			e->state = st;
		}
		claims[i].state = e->state == VF_LEDGER_CLAIMED ? VF_LEDGER_PENDING : e->state;
	}
	return changed;
}

/* Forget the claims this run added for steps from..n-1, which never ran. */
static bool vf_apply__unclaim_rest(const vf_apply_ctx *ctx, const vf_plan *plan,
				   const vf_apply_claim *claims, size_t from)
{
	bool changed = false;
	for (size_t j = from; j < plan->n; j++)
		if (claims[j].fresh)
			changed |= vf_ledger_drop(ctx->ledger, plan->steps[j].kind, plan->steps[j].pool,
						  plan->steps[j].name);
	return changed;
}

/* ---- volumes from images (docs/images.md) ---------------------------------- */

static const vf_fetch_driver *vf_apply__fetcher(const vf_apply_ctx *ctx)
{
	return ctx->fetch ? ctx->fetch : &vf_curl_fetch_driver;
}

static char *vf_apply__cache_dir(const vf_apply_ctx *ctx)
{
	return vf_asprintf("%s/cache", ctx->state_dir);
}

static int vf_apply__fetch(const vf_apply_ctx *ctx, const vf_op *op, vf_error *err)
{
	const vf_volume_source *src = &op->obj->u.volume.source;
	vf_fetch_opts o = ctx->fetch_opts ? *ctx->fetch_opts : (vf_fetch_opts){ 0 };
	o.ca_file = src->ca_file;
	/* no download may outgrow its volume (capacity is required) */
	_cleanup_free_ char *vol = vf_asprintf("%s/%s", op->obj->u.volume.pool, op->obj->name);
	o.max_size = op->obj->u.volume.capacity;
	o.volume = vol;
	_cleanup_free_ char *dir = vf_apply__cache_dir(ctx);
	_cleanup_free_ char *path = NULL;
	return vf_apply__fetcher(ctx)->fetch_to_cache(src->url, src->algo, src->checksum, dir, &o,
						      &path, err);
}

/* The cached image (fetched by the step's previous op) into the pool,
 * after checking it fits the declared format and capacity and names no
 * host file (the fetch checked that too; this also stops an entry that an
 * older virtform cached, or someone put there by hand). */
static int vf_apply__upload(const vf_apply_ctx *ctx, const vf_op *op, vf_error *err)
{
	const vf_storage_driver *st = ctx->backend->storage;
	const vf_volume_spec *vs = &op->obj->u.volume;
	const vf_volume_source *src = &vs->source;
	if (!st->volume_upload)
		return vf_error_set(err, VF_E_DRIVER,
				    "the %s storage driver cannot create volumes from images",
				    st->name);
	_cleanup_free_ char *dir = vf_apply__cache_dir(ctx);
	_cleanup_free_ char *name = vf_fetch_cache_name(src->url, src->algo, src->checksum);
	_cleanup_free_ char *path = vf_asprintf("%s/%s", dir, name);
	vf_image_info info;
	int r = vf_image_check(path, src->url, &info, err);
	if (r < 0)
		return r;
	vf_vol_format want = vs->format == VF_VOL_FORMAT_UNSET ? VF_VOL_QCOW2 : vs->format;
	if (info.format != want)
		return vf_error_set(err, VF_E_BLOCKED,
				    "the image from %s is %s but the volume's format is %s; set spec.format: %s",
				    src->url, vf_vol_format_to_string(info.format),
				    vf_vol_format_to_string(want), vf_vol_format_to_string(info.format));
	if (info.virtual_size > vs->capacity)
		return vf_error_set(err, VF_E_BLOCKED,
				    "capacity %llu bytes is smaller than the image's virtual size %llu bytes (%s); raise spec.capacity",
				    (unsigned long long)vs->capacity,
				    (unsigned long long)info.virtual_size, src->url);
	return st->volume_upload(ctx->conn, op->obj, path, err);
}

/* ---- cloud-init seeds (docs/cloud-init.md) -------------------------------- */

/* Build the seed ISO in a temp file under the state dir (never /tmp: the
 * state dir is virtform's own and on persistent storage), then replace the
 * seed volume with it through the storage driver's upload (a libvirt
 * stream, so remote pools work). The temp file is removed either way. */
static int vf_apply__seed_write(const vf_apply_ctx *ctx, const vf_op *op, vf_error *err)
{
	const vf_storage_driver *st = ctx->backend->storage;
	const vf_cloudinit *ci = &op->obj->u.domain.cloudinit;
	if (!st->volume_upload)
		return vf_error_set(err, VF_E_DRIVER,
				    "the %s storage driver cannot upload volumes, so it cannot store a cloud-init seed",
				    st->name);
	_cleanup_free_ char *tmp = vf_asprintf("%s/.seed-XXXXXX", ctx->state_dir);
	int fd = mkstemp(tmp);
	if (fd < 0)
		return vf_error_set(err, VF_E_IO, "cannot create a temporary file in %s: %s",
				    ctx->state_dir, strerror(errno));
	close(fd);
	int r = vf_seed_iso_write(tmp, ci->user_data, ci->meta_data, ci->network_config, err);
	if (r == 0 && op->flag)
		r = st->volume_delete(ctx->conn, op->pool, op->name, err);
	if (r == 0) {
		/* The seed as a raw volume of the ISO's own size (the driver sizes it). */
		vf_object vol = {
			.kind = VF_KIND_VOLUME,
			.name = op->name,
			.pos = op->obj->pos,
			.u.volume = {
				.pool = op->pool,
				.capacity = 1,
				.format = VF_VOL_RAW,
				.perms = { .owner = -1, .group = -1, .mode = -1 },
			},
		};
		r = st->volume_upload(ctx->conn, &vol, tmp, err);
	}
	unlink(tmp);
	return r;
}

/* A Network op, through the hypervisor driver's optional network members. */
static int vf_apply__network_op(const vf_hypervisor_driver *hv, vf_conn *c, const vf_op *op,
				vf_error *err)
{
	if (!hv->network_define)
		return vf_error_set(err, VF_E_DRIVER, "the %s driver cannot manage networks", hv->name);
	switch (op->type) {
	case VF_OP_NETWORK_DEFINE:
		return hv->network_define(c, op->obj, err);
	case VF_OP_NETWORK_START:
		return hv->network_start(c, op->name, err);
	case VF_OP_NETWORK_STOP:
		return hv->network_stop(c, op->name, err);
	case VF_OP_NETWORK_AUTOSTART:
		return hv->network_set_autostart(c, op->name, op->flag, err);
	case VF_OP_NETWORK_UPDATE:
		return hv->network_update_live(c, op->obj, err);
	case VF_OP_NETWORK_RESTART:
		return hv->network_restart(c, op->name, err);
	default:
		return hv->network_undefine(c, op->name, err);
	}
}

/* Record in a raw-XML pool's ledger entry (pools have no <metadata>) the
 * digest of the spec.xml sent and of what libvirt made of it, read back
 * now. Called right after the define, and again right after the same
 * step starts the pool: starting completes libvirt's form of it (a dir
 * pool's <owner> and <group>, read from the directory), which is libvirt's
 * normalisation too, not a change behind virtform's back. */
static int vf_apply__pool_record(const vf_apply_ctx *ctx, const vf_op *op, bool define,
				 vf_error *err)
{
	const vf_storage_driver *st = ctx->backend->storage;
	vf_ledger_entry *e = op->obj ? vf_ledger_find(ctx->ledger, VF_KIND_POOL, NULL, op->obj->name)
				     : NULL;
	if (!e || op->obj->kind != VF_KIND_POOL)
		return 0;
	const vf_pool_spec *ps = &op->obj->u.pool;
	if (!define && !vf_streq(e->xml_digest, ps->xml_hash))
		return 0; /* a start with no define of this spec.xml before it */
	/* a record that cannot be taken is none: compared as on a first apply */
	free(e->xml_digest);
	free(e->xml_normalised);
	e->xml_digest = e->xml_normalised = NULL;
	if (!ps->xml || !st->pool_record)
		return 0;
	char *normalised = NULL;
	int r = st->pool_record(ctx->conn, op->obj->name, &normalised, err);
	if (r < 0)
		return r;
	e->xml_digest = vf_strdup(ps->xml_hash);
	e->xml_normalised = normalised;
	return 0;
}

/* A placed domain's start: only while this host holds its lease, checked
 * in etcd just before (rule 16, docs/fleet.md); the fencing token goes
 * into the domain's metadata first, so whoever reads it later knows which
 * lease it ran under. Without the fleet (plan, apply) a placed domain is
 * never started. */
static int vf_apply__placed_start(const vf_apply_ctx *ctx, const vf_op *op, vf_error *err)
{
	const vf_hypervisor_driver *hv = ctx->backend->hv;
	const vf_fleet_hooks *f = ctx->fleet;
	if (!f || !f->may_start)
		return vf_error_set(err, VF_E_BLOCKED,
				    "Domain \"%s\" is placed (spec.placement): only `virtform watch --etcd` starts it, on the host that holds its lease",
				    op->placed_for);
	uint64_t token = 0;
	int r = f->may_start(f->userdata, op->placed_for, &token, err);
	if (r < 0)
		return r;
	if (hv->domain_set_fence) {
		const char *host = ctx->fleet_host ? ctx->fleet_host : "";
		r = hv->domain_set_fence(ctx->conn, op->name, host, token, err);
		if (r < 0)
			return r;
	}
	/* Started paused, guarded, then resumed: a stop of this process
	 * between the etcd check and the start (SIGSTOP, a long stall) cannot
	 * let guest code run past the fence deadline unguarded. */
	bool paused = hv->domain_start_paused && hv->domain_resume;
	r = paused ? hv->domain_start_paused(ctx->conn, op->name, err)
		   : hv->domain_start(ctx->conn, op->name, err);
	if (r < 0 || !f->started)
		return r;
	if (f->started(f->userdata, op->placed_for, err) < 0) {
		vf_error e = { 0 };
		if (hv->domain_destroy)
			(void)hv->domain_destroy(ctx->conn, op->name, &e);
		vf_error_clear(&e);
		return -VF_E_LOCKED;
	}
	return paused ? hv->domain_resume(ctx->conn, op->name, err) : 0;
}

/* A volume a placed domain uses, in a shared pool: claimed in etcd first,
 * so two hosts never create the same file; marked created after. */
static int vf_apply__op_plain(const vf_apply_ctx *ctx, const vf_op *op, vf_error *err);

static int vf_apply__placed_volume(const vf_apply_ctx *ctx, const vf_op *op, vf_error *err)
{
	const vf_fleet_hooks *f = ctx->fleet;
	/* a seed write names its volume in the op; a volume op is its object */
	bool seed = op->type == VF_OP_SEED_WRITE;
	const char *pool = seed ? op->pool : op->obj ? op->obj->u.volume.pool : NULL;
	const char *name = seed ? op->name : op->obj ? op->obj->name : NULL;
	if (!pool || !name)
		return vf_error_set(err, VF_E_INTERNAL, "a placed volume op names no volume");
	if (!f || !f->claim_volume)
		return vf_error_set(err, VF_E_BLOCKED,
				    "Volume \"%s/%s\" is used by placed Domain \"%s\": only `virtform watch --etcd` creates it, on the host that holds the domain's lease",
				    pool, name, op->placed_for);
	int r = f->claim_volume(f->userdata, pool, name, op->placed_for, err);
	if (r < 0)
		return r;
	r = vf_apply__op_plain(ctx, op, err);
	if (r < 0 || !f->volume_created)
		return r;
	return f->volume_created(f->userdata, pool, name, err);
}

static int vf_apply__op(const vf_apply_ctx *ctx, const vf_op *op, vf_error *err)
{
	if (op->placed_for) {
		if (op->type == VF_OP_DOMAIN_START)
			return vf_apply__placed_start(ctx, op, err);
		if (op->type == VF_OP_VOLUME_CREATE || op->type == VF_OP_VOLUME_UPLOAD ||
		    op->type == VF_OP_VOLUME_CLONE || op->type == VF_OP_SEED_WRITE)
			return vf_apply__placed_volume(ctx, op, err);
	}
	return vf_apply__op_plain(ctx, op, err);
}

static int vf_apply__op_plain(const vf_apply_ctx *ctx, const vf_op *op, vf_error *err)
{
	const vf_hypervisor_driver *hv = ctx->backend->hv;
	const vf_storage_driver *st = ctx->backend->storage;
	vf_conn *c = ctx->conn;

	switch (op->type) {
	case VF_OP_LEDGER_PUT:
	case VF_OP_LEDGER_DROP:
		return 0; /* vf_apply_plan batches these */
	case VF_OP_POOL_DEFINE: {
		int r = st->pool_define(c, op->obj, err);
		return r < 0 ? r : vf_apply__pool_record(ctx, op, true, err);
	}
	case VF_OP_POOL_START: {
		int r = st->pool_start(c, op->name, err);
		return r < 0 ? r : vf_apply__pool_record(ctx, op, false, err);
	}
	case VF_OP_POOL_STOP:
		return st->pool_stop(c, op->name, err);
	case VF_OP_POOL_AUTOSTART:
		return st->pool_set_autostart(c, op->name, op->flag, err);
	case VF_OP_POOL_UNDEFINE:
		return st->pool_undefine(c, op->name, op->flag, err);
	case VF_OP_VOLUME_CREATE:
		return st->volume_create(c, op->obj, err);
	case VF_OP_VOLUME_RESIZE:
		return st->volume_resize(c, op->pool, op->name, op->u64, err);
	case VF_OP_VOLUME_DELETE:
		return st->volume_delete(c, op->pool, op->name, err);
	case VF_OP_DOMAIN_DEFINE:
		return hv->domain_define(c, op->obj, op->dtype, err);
	case VF_OP_DOMAIN_START:
		return hv->domain_start(c, op->name, err);
	case VF_OP_DOMAIN_SHUTDOWN:
		return hv->domain_shutdown(c, op->name, op->u32, err);
	case VF_OP_DOMAIN_SUSPEND:
		return hv->domain_suspend(c, op->name, err);
	case VF_OP_DOMAIN_RESUME:
		return hv->domain_resume(c, op->name, err);
	case VF_OP_DOMAIN_AUTOSTART:
		return hv->domain_set_autostart(c, op->name, op->flag, err);
	case VF_OP_DOMAIN_SET_VCPUS:
		if (!hv->domain_set_vcpus_live)
			return 0; /* optional: the redefine already made it a next-boot change */
		return hv->domain_set_vcpus_live(c, op->name, op->u32, err);
	case VF_OP_DOMAIN_SET_MEMORY:
		if (!hv->domain_set_memory_live)
			return 0;
		return hv->domain_set_memory_live(c, op->name, op->u64, err);
	case VF_OP_DOMAIN_UNDEFINE:
		return hv->domain_undefine(c, op->name, op->flag, err);
	case VF_OP_DOMAIN_DESTROY:
		if (!hv->domain_destroy)
			return vf_error_set(err, VF_E_DRIVER, "the %s driver cannot force a domain off",
					    hv->name);
		return hv->domain_destroy(c, op->name, err);
	case VF_OP_VOLUME_FETCH:
		return vf_apply__fetch(ctx, op, err);
	case VF_OP_VOLUME_UPLOAD:
		return vf_apply__upload(ctx, op, err);
	case VF_OP_VOLUME_CLONE:
		if (!st->volume_clone)
			return vf_error_set(err, VF_E_DRIVER,
					    "the %s storage driver cannot clone volumes", st->name);
		return st->volume_clone(c, op->obj, err);
	case VF_OP_SEED_WRITE:
		return vf_apply__seed_write(ctx, op, err);
	case VF_OP_SEED_DELETE:
		return st->volume_delete(c, op->pool, op->name, err);
	case VF_OP_NETWORK_DEFINE:
	case VF_OP_NETWORK_START:
	case VF_OP_NETWORK_STOP:
	case VF_OP_NETWORK_AUTOSTART:
	case VF_OP_NETWORK_UPDATE:
	case VF_OP_NETWORK_RESTART:
	case VF_OP_NETWORK_UNDEFINE:
		return vf_apply__network_op(hv, c, op, err);
	case VF_OP_MAX:
		break;
	}
	return vf_error_set(err, VF_E_INTERNAL, "unknown plan operation %d", (int)op->type);
}

/* Run one op, holding the metadata lock on the file it changes. The lock
 * is taken per op, never across steps, so a long plan does not keep
 * libvirtd from relabelling unrelated files. A resize of a volume created
 * earlier in this run (from an image or a copy) has no observed path: the
 * driver is asked for it. Creating takes no lock: there is no file yet,
 * and libvirt's security manager skips missing paths too. */
static int vf_apply__op_locked(const vf_apply_ctx *ctx, const vf_op *op, vf_error *err)
{
	if (!ctx->locks)
		return vf_apply__op(ctx, op, err);
	_cleanup_free_ char *found = NULL;
	const char *path = op->path;
	const vf_storage_driver *st = ctx->backend->storage;
	if (!path && op->type == VF_OP_VOLUME_RESIZE && st->volume_path) {
		int r = st->volume_path(ctx->conn, op->pool, op->name, &found, err);
		if (r < 0)
			return r;
		path = found;
	}
	if (!path)
		return vf_apply__op(ctx, op, err);
	vf_lock_token *tok = NULL;
	vf_lock_holder holder = { 0 };
	int r = ctx->locks->lock(VF_LOCK_METADATA, path, ctx->lock_wait_ms, &tok, &holder, err);
	vf_lock_holder_clear(&holder);
	if (r < 0)
		return r;
	r = vf_apply__op(ctx, op, err);
	ctx->locks->unlock(tok);
	return r;
}

static void vf_apply__report(const vf_apply_ctx *ctx, const vf_step *s, vf_step_outcome o,
			     const vf_error *err)
{
	if (ctx->progress)
		ctx->progress(s, o, err, ctx->userdata);
}

/* "Kind/pool/name: message", or "Kind/name: message". */
static int vf_apply__step_error(const vf_step *s, const vf_error *oe, vf_code code,
				const char *prefix, vf_error *err)
{
	const char *kind = vf_kind_to_string(s->kind);
	if (s->pool)
		return vf_error_set(err, code, "%s/%s/%s: %s%s", kind, s->pool, s->name, prefix,
				    oe->message);
	return vf_error_set(err, code, "%s/%s: %s%s", kind, s->name, prefix, oe->message);
}

typedef struct vf_apply_run {
	const vf_apply_ctx *ctx;
	const vf_plan *plan;
	vf_apply_claim *claims;
	bool dirty;               /* the in-memory ledger differs from the file */
	bool unsaved_confirm;     /* ...by a volume's confirmation, which a later step may build on */
} vf_apply_run;

static int vf_apply__flush(vf_apply_run *run, vf_error *err)
{
	if (!run->dirty)
		return 0;
	int r = vf_ledger_save(run->ctx->state_dir, run->ctx->ledger, err);
	if (r == 0)
		run->dirty = run->unsaved_confirm = false;
	return r;
}

/* A volume's create is about to begin: its claim turns from "claimed" to
 * "pending" and is saved first. A crash before this point leaves
 * "claimed", and a volume of that name found later is someone else's (the
 * plan does not take it); after it, "pending": ours, half-made, redone. A
 * failed save stops the step before anything is created. */
static int vf_apply__begin_create(vf_apply_run *run, const vf_step *s, vf_error *err)
{
	vf_ledger_entry *e = vf_apply__entry(run->ctx, s);
	if (!e || e->state != VF_LEDGER_CLAIMED)
		return 0;
	e->state = VF_LEDGER_PENDING;
	run->dirty = true;
	vf_error se = { 0 };
	if (vf_apply__flush(run, &se) == 0)
		return 0;
	e->state = VF_LEDGER_CLAIMED;
	vf_apply__report(run->ctx, s, VF_STEP_FAILED, &se);
	int r = vf_apply__step_error(s, &se, se.code, "cannot record the start of its create: ", err);
	vf_error_clear(&se);
	return r;
}

/* Run one step's ops. On failure, the claim follows what happened: a
 * create that found the name taken made nothing of ours (claim dropped,
 * a conflict); a failure after the create leaves the object ours but
 * unfinished (incomplete); a failure before it, with a claim this run
 * added, made nothing (dropped). */
static int vf_apply__step(vf_apply_run *run, size_t i, vf_error *err)
{
	const vf_apply_ctx *ctx = run->ctx;
	const vf_step *s = &run->plan->steps[i];
	const vf_apply_claim *cl = &run->claims[i];
	bool created = false, tried_create = false;
	for (size_t k = 0; k < s->n_ops; k++) {
		const vf_op *op = &s->ops[k];
		if (op->type == VF_OP_LEDGER_DROP) {
			run->dirty |= vf_apply__ledger(ctx, op);
			continue;
		}
		bool creates = vf_apply__is_create(s, op);
		if (creates && !tried_create) {
			int r = vf_apply__begin_create(run, s, err);
			if (r < 0)
				return r;
		}
		tried_create |= creates;
		vf_error oe = { 0 };
		if (vf_apply__op_locked(ctx, op, &oe) == 0) {
			created |= creates;
			continue;
		}
		vf_apply__report(ctx, s, VF_STEP_FAILED, &oe);
		vf_ledger_entry *e = vf_apply__entry(ctx, s);
		int r;
		if (e && cl->state == VF_LEDGER_PENDING && creates && oe.code == VF_E_CONFLICT) {
			vf_ledger_drop(ctx->ledger, s->kind, s->pool, s->name);
			run->dirty = true;
			r = vf_apply__step_error(s, &oe, VF_E_CONFLICT,
						 "exists and is not owned by virtform (add \"adopt: true\" to its spec to manage it); ",
						 err);
		} else {
			if (e && created) {
				run->dirty |= e->state != VF_LEDGER_INCOMPLETE;
				e->state = VF_LEDGER_INCOMPLETE;
			} else if (e && cl->state == VF_LEDGER_PENDING && creates &&
				   oe.code != VF_E_CONNECTION && oe.code != VF_E_TIMEOUT) {
				/* The create itself failed and said so: it made nothing
				 * of ours (a driver deletes what a failed create left).
				 * A pending claim kept here would let a volume someone
				 * makes later under this name pass for ours. Only a lost
				 * connection or a timeout leaves the outcome unknown. */
				vf_ledger_drop(ctx->ledger, s->kind, s->pool, s->name);
				run->dirty = true;
			} else if (e && cl->fresh && !tried_create) {
				vf_ledger_drop(ctx->ledger, s->kind, s->pool, s->name);
				run->dirty = true;
			}
			r = vf_apply__step_error(s, &oe, oe.code, "", err);
		}
		vf_error_clear(&oe);
		return r;
	}
	vf_ledger_entry *e = vf_apply__entry(ctx, s);
	if (e && e->state != VF_LEDGER_COMPLETE) {
		e->state = VF_LEDGER_COMPLETE;
		run->dirty = true;
		/* only a volume's looks half-made without it (a pool's UUID and a
		 * domain's metadata say they are ours): the others can wait */
		run->unsaved_confirm |= s->kind == VF_KIND_VOLUME;
	}
	vf_apply__report(ctx, s, VF_STEP_DONE, NULL);
	return 0;
}

/* Carry out every step; the ledger is written before a step that builds
 * on confirmations not yet written. */
static int vf_apply__steps(vf_apply_run *run, vf_error *err)
{
	const vf_apply_ctx *ctx = run->ctx;
	const vf_plan *plan = run->plan;
	size_t blocked = 0;
	for (size_t i = 0; i < plan->n; i++) {
		const vf_step *s = &plan->steps[i];
		if (s->action == VF_ACT_BLOCKED) {
			blocked++;
			vf_apply__report(ctx, s, VF_STEP_SKIPPED, NULL);
			continue;
		}
		if (ctx->stop && *ctx->stop) {
			for (size_t j = i; j < plan->n; j++)
				vf_apply__report(ctx, &plan->steps[j], VF_STEP_SKIPPED, NULL);
			run->dirty |= vf_apply__unclaim_rest(ctx, plan, run->claims, i);
			return vf_error_set(err, VF_E_NOT_CONVERGED,
					    "stopped by a signal after %zu of %zu steps; run apply again to finish",
					    i, plan->n);
		}
		if (run->unsaved_confirm && vf_apply__builds_on(s)) {
			int r = vf_apply__flush(run, err);
			if (r < 0)
				return r;
		}
		vf_apply__report(ctx, s, VF_STEP_STARTED, NULL);
		int r = vf_apply__step(run, i, err);
		if (r < 0) {
			run->dirty |= vf_apply__unclaim_rest(ctx, plan, run->claims, i + 1);
			return r;
		}
	}
	if (blocked)
		return vf_error_set(err, VF_E_BLOCKED,
				    "%zu step%s blocked; see the plan for why and how to allow them",
				    blocked, blocked == 1 ? " was" : "s were");
	return 0;
}

int vf_apply_plan(const vf_apply_ctx *ctx, const vf_plan *plan, vf_error *err)
{
	_cleanup_free_ vf_apply_claim *claims = vf_calloc(plan->n ? plan->n : 1, sizeof(*claims));
	vf_apply_run run = { .ctx = ctx, .plan = plan, .claims = claims };

	/* Claim everything this plan creates or adopts, in one write, first. */
	run.dirty = vf_apply__claim_all(ctx, plan, claims);
	int r = vf_apply__flush(&run, err);
	if (r < 0)
		return r;

	r = vf_apply__steps(&run, err);

	/* Confirm and forget, whether or not the run got to the end. */
	vf_error se = { 0 };
	if (vf_apply__flush(&run, &se) < 0) {
		if (r == 0) {
			vf_error_clear(err);
			*err = se;
			return -(int)se.code;
		}
		vf_error_clear(&se);
	}
	return r;
}
