/* test_apply.c: one reconcile pass (ledger → observe → plan → apply →
 * re-plan) against libvirt's test driver, as `virtform apply` runs it:
 * convergence, idempotence, removal, and what the ledger says after a
 * failure midway. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "controller/load/manifest.h"
#include "controller/apply/reconcile.h"

typedef struct fx {
	char state[64];
	char manifests[64];
	const vf_backend *be;
	vf_conn *conn;
	vf_desired desired;
} fx;

static void write_manifest(fx *f, const char *name, const char *text)
{
	_cleanup_free_ char *p = vf_asprintf("%s/%s", f->manifests, name);
	FILE *out = fopen(p, "w");
	assert_non_null(out);
	fputs(text, out);
	fclose(out);
}

static void remove_manifest(fx *f, const char *name)
{
	_cleanup_free_ char *p = vf_asprintf("%s/%s", f->manifests, name);
	assert_int_equal(unlink(p), 0);
}

static void load(fx *f)
{
	vf_desired_free(&f->desired);
	vf_diags diags = { 0 };
	const char *paths[] = { f->manifests };
	int r = vf_manifest_load(paths, 1, &f->desired, &diags);
	if (r < 0)
		fail_msg("manifests do not load: %s", diags.n ? diags.items[0].message : "?");
	vf_diags_free(&diags);
}

/* One pass; returns its result code and fills *res. */
static int pass(fx *f, bool dry, vf_reconcile_result *res)
{
	load(f);
	vf_reconcile_opts opts = { .state_dir = f->state, .dry_run = dry };
	return vf_reconcile(f->be, f->conn, &f->desired, &opts, res);
}

static const char pool_yaml[] =
	"apiVersion: virtform/v1\nkind: StoragePool\nmetadata: {name: vt-pool}\n"
	"spec: {type: dir, target: {path: /vt/pool}}\n";
static const char vol_yaml[] =
	"apiVersion: virtform/v1\nkind: Volume\nmetadata: {name: root.qcow2}\n"
	"spec: {pool: vt-pool, capacity: 1GiB}\n";
static const char dom_yaml[] =
	"apiVersion: virtform/v1\nkind: Domain\nmetadata: {name: vt-web}\n"
	"spec:\n  memory: 256MiB\n  disks: [{volume: {pool: vt-pool, name: root.qcow2}}]\n";

static int setup(void **state)
{
	fx *f = vf_calloc(1, sizeof(*f));
	strcpy(f->state, "/tmp/vf-apply-state-XXXXXX");
	strcpy(f->manifests, "/tmp/vf-apply-mf-XXXXXX");
	assert_non_null(mkdtemp(f->state));
	assert_non_null(mkdtemp(f->manifests));
	f->be = vf_backend_for_uri("test:///default");
	vf_error err = { 0 };
	assert_int_equal(f->be->hv->open("test:///default", NULL, &f->conn, &err), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;
	f->be->hv->close(f->conn);
	vf_desired_free(&f->desired);
	_cleanup_free_ char *cmd = vf_asprintf("rm -rf '%s' '%s'", f->state, f->manifests);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static size_t ledger_entries(fx *f)
{
	vf_ledger l = { 0 };
	vf_error err = { 0 };
	assert_int_equal(vf_ledger_load(f->state, &l, &err), 0);
	size_t n = l.n;
	vf_ledger_free(&l);
	return n;
}

static void test_converges_then_changes_nothing(void **state)
{
	fx *f = *state;
	write_manifest(f, "pool.yaml", pool_yaml);
	write_manifest(f, "vol.yaml", vol_yaml);
	write_manifest(f, "dom.yaml", dom_yaml);

	vf_reconcile_result res = { 0 };
	assert_int_equal(pass(f, true, &res), 0);
	assert_int_equal(res.plan.counts[VF_ACT_CREATE], 3);
	assert_false(res.converged);
	assert_false(res.applied);
	vf_reconcile_result_free(&res);
	assert_int_equal(ledger_entries(f), 0); /* a dry run writes nothing */

	assert_int_equal(pass(f, false, &res), 0);
	assert_true(res.applied);
	assert_true(res.converged);
	assert_int_equal(res.replan.n, 0);
	vf_reconcile_result_free(&res);
	assert_int_equal(ledger_entries(f), 3);

	/* the second run finds nothing to do */
	assert_int_equal(pass(f, false, &res), 0);
	assert_int_equal(res.plan.n, 0);
	assert_false(res.applied);
	assert_true(res.converged);
	vf_reconcile_result_free(&res);
}

static void test_removing_a_manifest_removes_only_what_policy_allows(void **state)
{
	fx *f = *state;
	write_manifest(f, "pool.yaml", pool_yaml);
	write_manifest(f, "vol.yaml", vol_yaml);
	write_manifest(f, "dom.yaml", dom_yaml);
	vf_reconcile_result res = { 0 };
	assert_int_equal(pass(f, false, &res), 0);
	vf_reconcile_result_free(&res);

	/* the domain goes; the volume (deletionPolicy Retain) stays on the host */
	remove_manifest(f, "dom.yaml");
	remove_manifest(f, "vol.yaml");
	assert_int_equal(pass(f, false, &res), 0);
	assert_int_equal(res.plan.counts[VF_ACT_REMOVE], 1);
	assert_int_equal(res.plan.counts[VF_ACT_RETAIN], 1);
	vf_reconcile_result_free(&res);

	vf_observed o = { 0 };
	vf_error err = { 0 };
	assert_int_equal(f->be->hv->observe(f->conn, &o, &err), 0);
	assert_null(vf_observed_domain(&o, "vt-web"));
	assert_non_null(vf_observed_volume(&o, "vt-pool", "root.qcow2"));
	vf_observed_free(&o);
	assert_int_equal(ledger_entries(f), 1); /* only the pool is still ours */
}

static void test_failure_midway_leaves_a_state_the_next_run_converges(void **state)
{
	fx *f = *state;
	write_manifest(f, "pool.yaml", pool_yaml);
	write_manifest(f, "vol.yaml", vol_yaml);
	write_manifest(f, "dom.yaml", dom_yaml);
	vf_reconcile_result res = { 0 };
	load(f);
	vf_reconcile_opts opts;

	/* A run stopped before its first step (as SIGTERM would) creates
	 * nothing and keeps no claim for what it never tried: the next run
	 * creates them. */
	volatile sig_atomic_t stop = 1;
	opts = (vf_reconcile_opts){ .state_dir = f->state, .stop = &stop };
	int r = vf_reconcile(f->be, f->conn, &f->desired, &opts, &res);
	assert_int_equal(r, -VF_E_NOT_CONVERGED);
	assert_true(res.applied);
	assert_int_equal(res.replan.counts[VF_ACT_CREATE], 3);
	vf_reconcile_result_free(&res);
	assert_int_equal(ledger_entries(f), 0);

	assert_int_equal(pass(f, false, &res), 0);
	assert_true(res.converged);
	assert_int_equal(res.plan.counts[VF_ACT_CREATE], 3);
	vf_reconcile_result_free(&res);
}

static void test_conflicts_change_nothing(void **state)
{
	fx *f = *state;
	/* the test driver ships an unowned pool "default-pool" */
	write_manifest(f, "pool.yaml",
		       "apiVersion: virtform/v1\nkind: StoragePool\nmetadata: {name: default-pool}\n"
		       "spec: {type: dir, target: {path: /vt/other}}\n");
	write_manifest(f, "dom.yaml",
		       "apiVersion: virtform/v1\nkind: Domain\nmetadata: {name: vt-new}\nspec: {}\n");
	vf_reconcile_result res = { 0 };
	assert_int_equal(pass(f, false, &res), -VF_E_CONFLICT);
	assert_false(res.applied);
	assert_true(res.conflicts.n >= 1);
	assert_int_equal(res.phase, VF_PHASE_PLAN);
	vf_reconcile_result_free(&res);
	vf_observed o = { 0 };
	vf_error err = { 0 };
	assert_int_equal(f->be->hv->observe(f->conn, &o, &err), 0);
	assert_null(vf_observed_domain(&o, "vt-new")); /* nothing was created */
	vf_observed_free(&o);
	assert_int_equal(ledger_entries(f), 0);
}

/* ---- claims: a crash inside a creation, a name taken (rules 2 and 3) ------- */

static const char clone_yaml[] =
	"apiVersion: virtform/v1\nkind: Volume\nmetadata: {name: copy.qcow2}\n"
	"spec: {pool: vt-pool, capacity: 1GiB, source: {volume: {pool: vt-pool, name: root.qcow2}}}\n";

static void copy_file(const char *from, const char *to)
{
	_cleanup_free_ char *cmd = vf_asprintf("cp '%s' '%s'", from, to);
	assert_int_equal(system(cmd), 0);
}

typedef struct crash_point {
	fx *f;
	const char *name;         /* the step's object */
	bool seen;
} crash_point;

/* When the step for cp->name is done, keep the ledger as it is on disk:
 * what a kill -9 anywhere inside its create (mid-clone, mid-upload)
 * leaves, as a step writes its claim "pending" just before its create and
 * nothing more until it is done. */
static void keep_ledger_at_step(const vf_step *s, vf_step_outcome o, const vf_error *err, void *ud)
{
	(void)err;
	crash_point *cp = ud;
	if (o != VF_STEP_DONE || !vf_streq(s->name, cp->name))
		return;
	_cleanup_free_ char *from = vf_asprintf("%s/ledger.json", cp->f->state);
	_cleanup_free_ char *to = vf_asprintf("%s/ledger.crash", cp->f->state);
	copy_file(from, to);
	cp->seen = true;
}

static const vf_step *find_step(const vf_plan *p, const char *name)
{
	for (size_t i = 0; i < p->n; i++)
		if (vf_streq(p->steps[i].name, name))
			return &p->steps[i];
	return NULL;
}

/* The state the ledger file gives volume pool/name now ("complete" for
 * an entry without state, NULL for none). */
static const char *ledger_state_on_disk(fx *f, const char *pool, const char *name, char *buf,
					size_t len)
{
	vf_ledger l = { 0 };
	vf_error err = { 0 };
	assert_int_equal(vf_ledger_load(f->state, &l, &err), 0);
	const vf_ledger_entry *e = vf_ledger_find(&l, VF_KIND_VOLUME, pool, name);
	const char *st = e ? vf_ledger_state_to_string(e->state) : NULL;
	if (st)
		snprintf(buf, len, "%s", st);
	vf_ledger_free(&l);
	return st ? buf : NULL;
}

typedef struct claim_watch {
	fx *f;
	const char *name;         /* the volume, in vt-pool */
	char at_start[16], at_done[16];
} claim_watch;

static void watch_the_claim(const vf_step *s, vf_step_outcome o, const vf_error *err, void *ud)
{
	(void)err;
	claim_watch *w = ud;
	if (s->kind != VF_KIND_VOLUME || !vf_streq(s->name, w->name))
		return;
	char *into = o == VF_STEP_STARTED ? w->at_start : o == VF_STEP_DONE ? w->at_done : NULL;
	if (into && !ledger_state_on_disk(w->f, "vt-pool", w->name, into, sizeof(w->at_start)))
		snprintf(into, sizeof(w->at_start), "none");
}

static void test_a_crash_inside_a_creation_is_redone_not_accepted(void **state)
{
	fx *f = *state;
	write_manifest(f, "pool.yaml", pool_yaml);
	write_manifest(f, "vol.yaml", vol_yaml);
	write_manifest(f, "clone.yaml", clone_yaml);
	load(f);
	crash_point cp = { .f = f, .name = "copy.qcow2" };
	vf_reconcile_opts opts = { .state_dir = f->state, .progress = keep_ledger_at_step,
				   .userdata = &cp };
	vf_reconcile_result res = { 0 };
	int r0 = vf_reconcile(f->be, f->conn, &f->desired, &opts, &res);
	if (r0 < 0)
		fail_msg("%s", res.err.message);
	vf_reconcile_result_free(&res);
	assert_true(cp.seen);

	/* The host has the copy; the ledger is the one a kill inside the clone
	 * would have left. The copy may be partial: it must be made again. */
	_cleanup_free_ char *crash = vf_asprintf("%s/ledger.crash", f->state);
	_cleanup_free_ char *ledger = vf_asprintf("%s/ledger.json", f->state);
	copy_file(crash, ledger);
	assert_int_equal(pass(f, true, &res), 0);
	assert_false(res.converged);
	const vf_step *s = find_step(&res.plan, "copy.qcow2");
	assert_non_null(s);
	assert_int_equal(s->action, VF_ACT_UPDATE);
	assert_non_null(strstr(s->reason, "re-create (incomplete)"));
	assert_int_equal(s->ops[0].type, VF_OP_VOLUME_DELETE);
	assert_null(find_step(&res.plan, "root.qcow2")); /* confirmed before the clone used it */
	vf_reconcile_result_free(&res);

	/* apply redoes it, and then the host has converged; the redo keeps
	 * the claim "pending" until it is done (a kill before its delete
	 * must not leave virtform's own copy looking like someone else's) */
	load(f);
	claim_watch w = { .f = f, .name = "copy.qcow2" };
	vf_reconcile_opts redo = { .state_dir = f->state, .progress = watch_the_claim, .userdata = &w };
	assert_int_equal(vf_reconcile(f->be, f->conn, &f->desired, &redo, &res), 0);
	assert_true(res.converged);
	vf_reconcile_result_free(&res);
	assert_string_equal(w.at_start, "pending");
	assert_string_equal(w.at_done, "pending");
	assert_int_equal(pass(f, true, &res), 0);
	assert_int_equal(res.plan.n, 0);
	vf_reconcile_result_free(&res);
}

/* on_plan: someone makes root.qcow2 between virtform's plan and its create. */
static void make_it_first(const vf_plan *plan, void *ud)
{
	(void)plan;
	fx *f = ud;
	char name[] = "root.qcow2", pool[] = "vt-pool";
	vf_object o = {
		.kind = VF_KIND_VOLUME,
		.name = name,
		.u.volume = { .pool = pool, .capacity = 1 << 20, .format = VF_VOL_RAW,
			      .perms = { .owner = -1, .group = -1, .mode = -1 } },
	};
	vf_error err = { 0 };
	assert_int_equal(f->be->storage->volume_create(f->conn, &o, &err), 0);
}

/* The pool converged, then the volume's manifest added and loaded: the
 * next reconcile plans the volume's create alone. */
static void pool_then_volume(fx *f)
{
	write_manifest(f, "pool.yaml", pool_yaml);
	vf_reconcile_result res = { 0 };
	assert_int_equal(pass(f, false, &res), 0);
	vf_reconcile_result_free(&res);
	write_manifest(f, "vol.yaml", vol_yaml);
	load(f);
}

static void test_a_create_that_finds_the_name_taken_claims_nothing(void **state)
{
	fx *f = *state;
	pool_then_volume(f);
	vf_reconcile_result res = { 0 };
	vf_reconcile_opts opts = { .state_dir = f->state, .on_plan = make_it_first, .userdata = f };
	int r = vf_reconcile(f->be, f->conn, &f->desired, &opts, &res);
	assert_int_equal(r, -VF_E_CONFLICT);
	assert_non_null(strstr(res.err.message, "Volume/vt-pool/root.qcow2: exists and is not owned by virtform"));
	assert_non_null(strstr(res.err.message, "adopt: true"));
	vf_reconcile_result_free(&res);
	assert_int_equal(ledger_entries(f), 1); /* the pool only: the volume is not ours */

	/* so the next run calls it a conflict instead of managing it */
	assert_int_equal(pass(f, false, &res), -VF_E_CONFLICT);
	assert_int_equal(res.phase, VF_PHASE_PLAN);
	vf_reconcile_result_free(&res);
	remove_manifest(f, "vol.yaml");
	assert_int_equal(pass(f, false, &res), 0);
	vf_reconcile_result_free(&res);
	vf_observed o = { 0 };
	vf_error err = { 0 };
	assert_int_equal(f->be->hv->observe(f->conn, &o, &err), 0);
	assert_non_null(vf_observed_volume(&o, "vt-pool", "root.qcow2")); /* never deleted */
	vf_observed_free(&o);
}

/* A volume is claimed "claimed" before the run and written "pending" only
 * as its create begins. So a kill between the two (another step's long
 * download, say) leaves "claimed", and a volume someone makes under that
 * name before the next run is theirs: a conflict, never re-created
 * ("pending" would delete and make it again) nor removed by the Delete
 * policy of a manifest removed since. */
static void test_a_claim_whose_create_never_began_takes_nothing(void **state)
{
	fx *f = *state;
	pool_then_volume(f);
	vf_reconcile_result res = { 0 };
	claim_watch w = { .f = f, .name = "root.qcow2" };
	vf_reconcile_opts opts = { .state_dir = f->state, .progress = watch_the_claim, .userdata = &w };
	int r = vf_reconcile(f->be, f->conn, &f->desired, &opts, &res);
	if (r < 0)
		fail_msg("%s", res.err.message);
	vf_reconcile_result_free(&res);
	assert_string_equal(w.at_start, "claimed");
	assert_string_equal(w.at_done, "pending");

	/* What a kill before root.qcow2's create began leaves, with a Delete
	 * policy: the entry "claimed", no volume; then someone makes one. */
	vf_error err = { 0 };
	assert_int_equal(f->be->storage->volume_delete(f->conn, "vt-pool", "root.qcow2", &err), 0);
	vf_ledger l = { 0 };
	assert_int_equal(vf_ledger_load(f->state, &l, &err), 0);
	vf_ledger_entry *e = vf_ledger_find(&l, VF_KIND_VOLUME, "vt-pool", "root.qcow2");
	assert_non_null(e);
	e->state = VF_LEDGER_CLAIMED;
	e->deletion = VF_DELETION_DELETE;
	assert_int_equal(vf_ledger_save(f->state, &l, &err), 0);
	vf_ledger_free(&l);
	make_it_first(NULL, f);   /* 1 MiB raw: not what the manifest says */

	assert_int_equal(pass(f, false, &res), -VF_E_CONFLICT);
	assert_int_equal(res.phase, VF_PHASE_PLAN);
	assert_int_equal(res.conflicts.n, 1);
	assert_non_null(strstr(res.conflicts.items[0].message, "is not owned by virtform"));
	vf_reconcile_result_free(&res);

	remove_manifest(f, "vol.yaml");
	assert_int_equal(pass(f, false, &res), 0);
	for (size_t i = 0; i < res.plan.n; i++)
		assert_false(res.plan.steps[i].kind == VF_KIND_VOLUME);
	vf_reconcile_result_free(&res);
	vf_observed o = { 0 };
	assert_int_equal(f->be->hv->observe(f->conn, &o, &err), 0);
	vf_obs_volume *v = vf_observed_volume(&o, "vt-pool", "root.qcow2");
	assert_non_null(v);   /* never deleted */
	assert_int_equal(v->capacity, 1 << 20);
	vf_observed_free(&o);
}

/* on_plan: the pool is stopped between virtform's plan and its create. */
static void stop_the_pool(const vf_plan *plan, void *ud)
{
	(void)plan;
	fx *f = ud;
	vf_error err = { 0 };
	assert_int_equal(f->be->storage->pool_stop(f->conn, "vt-pool", &err), 0);
}

/* A create that fails, for any reason but a lost connection, made nothing
 * of virtform's: its pending claim goes. Kept, it would let a volume made
 * later under the name, by someone else, pass for virtform's half-made one
 * (and be deleted by the next run's re-create, or by a Delete policy). */
static void test_a_create_that_fails_keeps_no_claim(void **state)
{
	fx *f = *state;
	write_manifest(f, "pool.yaml", pool_yaml);
	vf_reconcile_result res = { 0 };
	assert_int_equal(pass(f, false, &res), 0);
	vf_reconcile_result_free(&res);
	assert_int_equal(ledger_entries(f), 1);

	write_manifest(f, "vol.yaml", vol_yaml);
	load(f);
	vf_reconcile_opts opts = { .state_dir = f->state, .on_plan = stop_the_pool, .userdata = f };
	assert_true(vf_reconcile(f->be, f->conn, &f->desired, &opts, &res) < 0);
	if (!strstr(res.err.message, "cannot create volume \"root.qcow2\""))
		fail_msg("unexpected error: %s", res.err.message);
	vf_reconcile_result_free(&res);
	assert_int_equal(ledger_entries(f), 1); /* the pool only: no pending volume */
}

/* on_plan: someone defines a domain named vt-web, with its own UUID. */
static void define_it_first(const vf_plan *plan, void *ud)
{
	(void)plan;
	fx *f = ud;
	vf_object o = f->desired.objs[0]; /* a shallow copy: only the UUID differs */
	uuid_generate(o.uuid);
	vf_error err = { 0 };
	assert_int_equal(f->be->hv->domain_define(f->conn, &o, VF_DOMAIN_QEMU, &err), 0);
}

static void test_a_define_that_finds_the_name_taken_claims_nothing(void **state)
{
	fx *f = *state;
	write_manifest(f, "dom.yaml",
		       "apiVersion: virtform/v1\nkind: Domain\nmetadata: {name: vt-web}\nspec: {memory: 256MiB}\n");
	load(f);
	vf_reconcile_opts opts = { .state_dir = f->state, .on_plan = define_it_first, .userdata = f };
	vf_reconcile_result res = { 0 };
	int r = vf_reconcile(f->be, f->conn, &f->desired, &opts, &res);
	assert_int_equal(r, -VF_E_CONFLICT);
	assert_non_null(strstr(res.err.message, "Domain/vt-web: exists and is not owned by virtform"));
	vf_reconcile_result_free(&res);
	assert_int_equal(ledger_entries(f), 0);
}

/* ---- removal waits for the domain's own shutdownTimeout (rule 6) ----------- */

/* The timeout of the shutdown op that removing vt-web would run. */
static uint32_t removal_timeout(fx *f)
{
	vf_reconcile_result res = { 0 };
	assert_int_equal(pass(f, true, &res), 0);
	const vf_step *s = find_step(&res.plan, "vt-web");
	assert_non_null(s);
	assert_int_equal(s->action, VF_ACT_REMOVE);
	assert_int_equal(s->ops[0].type, VF_OP_DOMAIN_SHUTDOWN);
	uint32_t t = s->ops[0].u32;
	vf_reconcile_result_free(&res);
	return t;
}

static void test_removal_waits_for_the_domains_own_shutdown_timeout(void **state)
{
	fx *f = *state;
	write_manifest(f, "dom.yaml",
		       "apiVersion: virtform/v1\nkind: Domain\nmetadata: {name: vt-web}\n"
		       "spec: {memory: 256MiB, state: running, shutdownTimeout: 5m}\n");
	/* another object stays declared, so the set never comes up empty (rule 5) */
	write_manifest(f, "keep.yaml",
		       "apiVersion: virtform/v1\nkind: Domain\nmetadata: {name: vt-keep}\n"
		       "spec: {memory: 128MiB, state: shutoff}\n");
	vf_reconcile_result res = { 0 };
	assert_int_equal(pass(f, false, &res), 0);
	assert_true(res.converged);
	vf_reconcile_result_free(&res);

	remove_manifest(f, "dom.yaml");
	assert_int_equal(removal_timeout(f), 300);

	/* a ledger written before the field existed keeps the 60 s default */
	_cleanup_free_ char *cmd = vf_asprintf(
		"sed -i 's/\"shutdownTimeout\": *[0-9]*,\\?//' '%s/ledger.json'", f->state);
	assert_int_equal(system(cmd), 0);
	vf_ledger l = { 0 };
	vf_error err = { 0 };
	assert_int_equal(vf_ledger_load(f->state, &l, &err), 0);
	assert_int_equal(l.n, 2);
	vf_ledger_free(&l);
	assert_int_equal(removal_timeout(f), 60);
}

/* ---- a placed start (docs/fleet.md, rule 17) --------------------------- */

/* The fleet as host h1 sees it when it holds vt-placed's lease. */
static vf_fleet_view h1_holds_placed(void)
{
	static const char *const held[] = { "vt-placed" };
	static char dom[] = "vt-placed", host[] = "h1";
	static const vf_kv holders[] = { { .key = dom, .value = host } };
	return (vf_fleet_view){ .host_id = "h1", .held = held, .n_held = 1, .holders = holders,
				.n_holders = 1 };
}


typedef struct placed_hooks {
	fx *f;
	bool guard_ok;
	int starts, guards;
	vf_run_state state_at_guard;  /* the domain when the helper was asked to guard it */
} placed_hooks;

static int placed_may_start(void *ud, const char *domain, uint64_t *token, vf_error *err)
{
	(void)err;
	placed_hooks *h = ud;
	assert_string_equal(domain, "vt-placed");
	h->starts++;
	*token = 7;
	return 0;
}

static vf_run_state domain_state(fx *f, const char *name);

static int placed_started(void *ud, const char *domain, vf_error *err)
{
	placed_hooks *h = ud;
	h->state_at_guard = domain_state(h->f, domain);
	h->guards++;
	if (h->guard_ok)
		return 0;
	return vf_error_set(err, VF_E_LOCKED, "Domain/%s could not be guarded (test)", domain);
}

static vf_run_state domain_state(fx *f, const char *name)
{
	vf_observed o = { 0 };
	vf_error err = { 0 };
	assert_int_equal(f->be->hv->observe(f->conn, &o, &err), 0);
	vf_run_state st = VF_RUN_UNSET;
	for (size_t i = 0; i < o.n_domains; i++)
		if (strcmp(o.domains[i].name, name) == 0)
			st = o.domains[i].state;
	vf_observed_free(&o);
	return st;
}

/* The guest starts paused, is guarded, and only then runs: a host that
 * cannot guard it (its fence helper gone, its lease lost while it was
 * stopped) forces it off before any guest code ran. Without the paused
 * start the guard sees a running guest. */
static void test_placed_start_is_guarded_before_it_runs(void **state)
{
	fx *f = *state;
	write_manifest(f, "placed.yaml",
		       "apiVersion: virtform/v1\nkind: Domain\nmetadata: {name: vt-placed}\n"
		       "spec: {memory: 128MiB, placement: {hosts: [h1]}}\n");
	load(f);
	vf_fleet_view view = h1_holds_placed();
	placed_hooks h = { .f = f, .guard_ok = false };
	vf_fleet_hooks hooks = { .may_start = placed_may_start, .started = placed_started,
				 .userdata = &h };
	vf_reconcile_opts opts = { .state_dir = f->state, .plan = { .fleet = &view },
				   .fleet_hooks = &hooks, .fleet_host = "h1" };
	vf_reconcile_result res = { 0 };
	int r0 = vf_reconcile(f->be, f->conn, &f->desired, &opts, &res);
	if (r0 != -VF_E_LOCKED)
		fail_msg("%d: %s", r0, res.err.message);
	assert_non_null(strstr(res.err.message, "could not be guarded"));
	vf_reconcile_result_free(&res);
	assert_int_equal(h.guards, 1);
	assert_int_equal(h.state_at_guard, VF_RUN_PAUSED);
	assert_int_equal(domain_state(f, "vt-placed"), VF_RUN_SHUTOFF);

	/* guarded: it runs, with the token in its metadata */
	h.guard_ok = true;
	res = (vf_reconcile_result){ 0 };
	int r = vf_reconcile(f->be, f->conn, &f->desired, &opts, &res);
	if (r < 0)
		fail_msg("%s", res.err.message);
	vf_reconcile_result_free(&res);
	assert_int_equal(h.state_at_guard, VF_RUN_PAUSED);
	assert_int_equal(domain_state(f, "vt-placed"), VF_RUN_RUNNING);
	vf_observed o = { 0 };
	vf_error err = { 0 };
	assert_int_equal(f->be->hv->observe(f->conn, &o, &err), 0);
	for (size_t i = 0; i < o.n_domains; i++)
		if (strcmp(o.domains[i].name, "vt-placed") == 0) {
			assert_string_equal(o.domains[i].fence_host, "h1");
			assert_int_equal(o.domains[i].fence_token, 7);
		}
	vf_observed_free(&o);
	assert_int_equal(f->be->hv->domain_destroy(f->conn, "vt-placed", &err), 0);
	assert_int_equal(f->be->hv->domain_undefine(f->conn, "vt-placed", false, &err), 0);
}

/* ---- a placed domain's volume in a shared pool (docs/fleet.md) ---------- */

typedef struct claim_hooks {
	fx *f;
	const char *refuse;           /* non-NULL: claim_volume fails, "claimed by" this host */
	int claims, created;
	bool existed_at_claim;        /* the volume already existed when it was claimed */
	char pool[32], name[32], domain[32];
} claim_hooks;

static bool volume_exists(fx *f, const char *pool, const char *name)
{
	vf_observed o = { 0 };
	vf_error err = { 0 };
	assert_int_equal(f->be->hv->observe(f->conn, &o, &err), 0);
	bool found = false;
	for (size_t i = 0; i < o.n_volumes; i++)
		found |= strcmp(o.volumes[i].pool, pool) == 0 && strcmp(o.volumes[i].name, name) == 0;
	vf_observed_free(&o);
	return found;
}

static int claim_volume(void *ud, const char *pool, const char *name, const char *domain,
			vf_error *err)
{
	claim_hooks *h = ud;
	h->claims++;
	h->existed_at_claim |= volume_exists(h->f, pool, name);
	snprintf(h->pool, sizeof(h->pool), "%s", pool);
	snprintf(h->name, sizeof(h->name), "%s", name);
	snprintf(h->domain, sizeof(h->domain), "%s", domain);
	if (h->refuse)
		return vf_error_set(err, VF_E_LOCKED, "Volume %s/%s is claimed by host %s (test)",
				    pool, name, h->refuse);
	return 0;
}

static int claim_created(void *ud, const char *pool, const char *name, vf_error *err)
{
	(void)err;
	claim_hooks *h = ud;
	assert_string_equal(pool, h->pool);
	assert_string_equal(name, h->name);
	assert_true(volume_exists(h->f, pool, name));
	h->created++;
	return 0;
}

static int claim_may_start(void *ud, const char *domain, uint64_t *token, vf_error *err)
{
	(void)ud;
	(void)domain;
	(void)err;
	*token = 9;
	return 0;
}

static int claim_started(void *ud, const char *domain, vf_error *err)
{
	(void)ud;
	(void)domain;
	(void)err;
	return 0;
}

/* Two hosts must never both create one file in a shared pool: the plan
 * saw the volume free, but apply claims it in etcd before it creates it.
 * A claim another host holds stops the step before any file exists and
 * claims nothing in the ledger; a granted one creates it, and marks the
 * claim created only once it exists. An apply that reaches the volume
 * without the fleet's hooks is blocked, whatever the plan said. */
static void test_placed_volume_is_claimed_before_it_is_made(void **state)
{
	fx *f = *state;
	write_manifest(f, "pool.yaml",
		       "apiVersion: virtform/v1\nkind: StoragePool\nmetadata: {name: vt-shared}\n"
		       "spec: {type: dir, target: {path: /vt/shared}, shared: true}\n");
	write_manifest(f, "vol.yaml",
		       "apiVersion: virtform/v1\nkind: Volume\nmetadata: {name: disk.qcow2}\n"
		       "spec: {pool: vt-shared, capacity: 1GiB}\n");
	write_manifest(f, "dom.yaml",
		       "apiVersion: virtform/v1\nkind: Domain\nmetadata: {name: vt-placed}\n"
		       "spec:\n  memory: 128MiB\n  placement: {hosts: [h1, h2]}\n"
		       "  disks: [{volume: {pool: vt-shared, name: disk.qcow2}}]\n");
	load(f);
	vf_fleet_view view = h1_holds_placed();
	claim_hooks h = { .f = f, .refuse = "h2" };
	vf_fleet_hooks hooks = { .may_start = claim_may_start, .started = claim_started,
				 .claim_volume = claim_volume, .volume_created = claim_created,
				 .userdata = &h };

	/* the fleet's view, but no hooks: the volume step is blocked */
	vf_reconcile_opts bare = { .state_dir = f->state, .plan = { .fleet = &view },
				   .fleet_host = "h1" };
	vf_reconcile_result res = { 0 };
	int r = vf_reconcile(f->be, f->conn, &f->desired, &bare, &res);
	if (r != -VF_E_BLOCKED)
		fail_msg("without hooks: %d: %s", r, res.err.message);
	assert_non_null(strstr(res.err.message, "only `virtform watch --etcd` creates it"));
	vf_reconcile_result_free(&res);
	assert_false(volume_exists(f, "vt-shared", "disk.qcow2"));

	/* another host claimed it between the plan and the step */
	vf_reconcile_opts opts = { .state_dir = f->state, .plan = { .fleet = &view },
				   .fleet_hooks = &hooks, .fleet_host = "h1" };
	res = (vf_reconcile_result){ 0 };
	r = vf_reconcile(f->be, f->conn, &f->desired, &opts, &res);
	if (r != -VF_E_LOCKED)
		fail_msg("refused claim: %d: %s", r, res.err.message);
	assert_non_null(strstr(res.err.message, "claimed by host h2"));
	vf_reconcile_result_free(&res);
	assert_int_equal(h.claims, 1);
	assert_string_equal(h.pool, "vt-shared");
	assert_string_equal(h.name, "disk.qcow2");
	assert_string_equal(h.domain, "vt-placed");
	assert_int_equal(h.created, 0);
	assert_false(volume_exists(f, "vt-shared", "disk.qcow2"));
	vf_ledger l = { 0 };
	vf_error err = { 0 };
	assert_int_equal(vf_ledger_load(f->state, &l, &err), 0);
	for (size_t i = 0; i < l.n; i++)
		if (l.entries[i].kind == VF_KIND_VOLUME)
			fail_msg("the ledger claims volume %s after a refused claim", l.entries[i].name);
	vf_ledger_free(&l);

	/* granted: created after the claim, marked created after that */
	h.refuse = NULL;
	res = (vf_reconcile_result){ 0 };
	r = vf_reconcile(f->be, f->conn, &f->desired, &opts, &res);
	if (r < 0)
		fail_msg("granted claim: %s", res.err.message);
	vf_reconcile_result_free(&res);
	assert_int_equal(h.claims, 2);
	assert_false(h.existed_at_claim);
	assert_int_equal(h.created, 1);
	assert_true(volume_exists(f, "vt-shared", "disk.qcow2"));
	assert_int_equal(f->be->hv->domain_destroy(f->conn, "vt-placed", &err), 0);
	assert_int_equal(f->be->hv->domain_undefine(f->conn, "vt-placed", false, &err), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_converges_then_changes_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_placed_volume_is_claimed_before_it_is_made, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_removing_a_manifest_removes_only_what_policy_allows,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_failure_midway_leaves_a_state_the_next_run_converges,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_conflicts_change_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_crash_inside_a_creation_is_redone_not_accepted,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_create_that_finds_the_name_taken_claims_nothing,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_define_that_finds_the_name_taken_claims_nothing,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_create_that_fails_keeps_no_claim, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_a_claim_whose_create_never_began_takes_nothing,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_removal_waits_for_the_domains_own_shutdown_timeout,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_placed_start_is_guarded_before_it_runs, setup, teardown),
	};
	return cmocka_run_group_tests_name("apply", tests, NULL, NULL);
}
