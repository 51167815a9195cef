/* apply.c: runs a plan's ops through the backend's driver tables and keeps
 * the ledger in step. Ownership of everything the plan will create is
 * recorded (one atomic write) before anything is created, and ownership of
 * what it removed is forgotten (one write) after: a crash at any point
 * leaves either a ledger entry for a missing object (recreated, or dropped
 * as "already gone", next run) or nothing; never an unowned orphan that
 * would then clash. Two writes per run, not two per object. */
#include "apply.h"

#include <errno.h>
#include <unistd.h>

#include "../drivers/seed/seed.h"

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
		/* a cloud-init seed: the domain it belongs to (plan.c) */
		free(e->seed_of);
		e->seed_of = vf_strdup(op->obj->name);
	}
	return true;
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

static int vf_apply__op(const vf_apply_ctx *ctx, const vf_op *op, vf_error *err)
{
	const vf_hypervisor_driver *hv = ctx->backend->hv;
	const vf_storage_driver *st = ctx->backend->storage;
	vf_conn *c = ctx->conn;

	switch (op->type) {
	case VF_OP_LEDGER_PUT:
	case VF_OP_LEDGER_DROP:
		return 0; /* vf_apply_plan batches these */
	case VF_OP_POOL_DEFINE:
		return st->pool_define(c, op->obj, err);
	case VF_OP_POOL_START:
		return st->pool_start(c, op->name, err);
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

/* Carry out every step; *dropped is set when a LEDGER_DROP changed the
 * in-memory ledger and it still needs writing. */
static int vf_apply__steps(const vf_apply_ctx *ctx, const vf_plan *plan, bool *dropped,
			   vf_error *err)
{
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
			return vf_error_set(err, VF_E_NOT_CONVERGED,
					    "stopped by a signal after %zu of %zu steps; run apply again to finish",
					    i, plan->n);
		}
		vf_apply__report(ctx, s, VF_STEP_STARTED, NULL);
		for (size_t k = 0; k < s->n_ops; k++) {
			const vf_op *op = &s->ops[k];
			if (op->type == VF_OP_LEDGER_DROP) {
				*dropped |= vf_apply__ledger(ctx, op);
				continue;
			}
			vf_error oe = { 0 };
			if (vf_apply__op_locked(ctx, op, &oe) < 0) {
				vf_apply__report(ctx, s, VF_STEP_FAILED, &oe);
				const char *kind = vf_kind_to_string(s->kind);
				int r = s->pool
					? vf_error_set(err, oe.code, "%s/%s/%s: %s", kind, s->pool,
						       s->name, oe.message)
					: vf_error_set(err, oe.code, "%s/%s: %s", kind, s->name,
						       oe.message);
				vf_error_clear(&oe);
				return r;
			}
		}
		vf_apply__report(ctx, s, VF_STEP_DONE, NULL);
	}
	if (blocked)
		return vf_error_set(err, VF_E_BLOCKED,
				    "%zu step%s blocked; see the plan for why and how to allow them",
				    blocked, blocked == 1 ? " was" : "s were");
	return 0;
}

int vf_apply_plan(const vf_apply_ctx *ctx, const vf_plan *plan, vf_error *err)
{
	/* Claim everything this plan creates or adopts, in one write, first. */
	bool claimed = false;
	for (size_t i = 0; i < plan->n; i++) {
		const vf_step *s = &plan->steps[i];
		if (s->action == VF_ACT_BLOCKED)
			continue;
		for (size_t k = 0; k < s->n_ops; k++)
			if (s->ops[k].type == VF_OP_LEDGER_PUT)
				claimed |= vf_apply__ledger(ctx, &s->ops[k]);
	}
	if (claimed) {
		int r = vf_ledger_save(ctx->state_dir, ctx->ledger, err);
		if (r < 0)
			return r;
	}

	bool dropped = false;
	int r = vf_apply__steps(ctx, plan, &dropped, err);

	/* Forget what was removed, whether or not the run got to the end. */
	if (dropped) {
		vf_error se = { 0 };
		if (vf_ledger_save(ctx->state_dir, ctx->ledger, &se) < 0) {
			if (r == 0) {
				vf_error_clear(err);
				*err = se;
				return -(int)se.code;
			}
			vf_error_clear(&se);
		}
	}
	return r;
}
