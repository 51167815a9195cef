/* test_plan.c: the planner as a user sees it. Desired, observed and ledger
 * are plain structs built here; each test checks the printed plan (or the
 * conflicts) a user would read, and the ops apply would run. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <json-c/json.h>
#include <stdio.h>

#include "controller/plan/plan.h"
#include "controller/plan/planprint.h"
#include "controller/plan/xmldiff.h"

/* ---- fixture -------------------------------------------------------------- */

typedef struct fx {
	vf_desired d;
	vf_observed o;
	vf_ledger l;
	vf_plan plan;
	vf_diags conflicts;
	const char *replace[4];
	size_t n_replace;
	const vf_fleet_view *fleet; /* NULL: no fleet */
	int rc;
} fx;

static fx *fx_new(void)
{
	fx *f = vf_calloc(1, sizeof(*f));
	f->o.hv_type = vf_strdup("QEMU");
	f->o.kvm = true;
	return f;
}

static void fx_free(fx *f)
{
	vf_desired_free(&f->d);
	vf_observed_free(&f->o);
	vf_ledger_free(&f->l);
	vf_plan_free(&f->plan);
	vf_diags_free(&f->conflicts);
	free(f);
}

static vf_pos at(fx *f, const char *file, int line)
{
	return (vf_pos){ .file = vf_desired_intern_file(&f->d, file), .line = line, .col = 3 };
}

static vf_object *add_obj(fx *f, vf_kind kind, const char *pool, const char *name,
			  const char *file, int line)
{
	vf_object o = { .kind = kind, .name = vf_strdup(name) };
	o.pos = at(f, file, line);
	o.name_pos = at(f, file, line + 2);
	vf_uuid_derive(kind, pool, name, o.uuid);
	VF_APPEND(f->d.objs, f->d.n, f->d.cap, o);
	return &f->d.objs[f->d.n - 1];
}

static vf_object *add_pool(fx *f, const char *name, const char *path, const char *file, int line)
{
	vf_object *o = add_obj(f, VF_KIND_POOL, NULL, name, file, line);
	o->u.pool.type = VF_POOL_DIR;
	o->u.pool.target_path = vf_strdup(path);
	o->u.pool.target_pos = at(f, file, line + 5);
	o->u.pool.perms = (vf_perms){ -1, -1, -1, { 0 } };
	return o;
}

static vf_object *add_vol(fx *f, const char *pool, const char *name, uint64_t cap,
			  const char *file, int line)
{
	vf_object *o = add_obj(f, VF_KIND_VOLUME, pool, name, file, line);
	o->u.volume.pool = vf_strdup(pool);
	o->u.volume.pool_pos = at(f, file, line + 4);
	o->u.volume.capacity = cap;
	o->u.volume.perms = (vf_perms){ -1, -1, -1, { 0 } };
	return o;
}

static vf_object *add_dom(fx *f, const char *name, const char *file, int line)
{
	return add_obj(f, VF_KIND_DOMAIN, NULL, name, file, line);
}

static vf_disk *dom_disk_vol(fx *f, vf_object *d, const char *pool, const char *vol, int line)
{
	vf_domain_spec *ds = &d->u.domain;
	ds->disks = vf_realloc(ds->disks, (ds->n_disks + 1) * sizeof(*ds->disks));
	vf_disk *k = &ds->disks[ds->n_disks++];
	*k = (vf_disk){ .has_volume = true };
	k->volume.pool = vf_strdup(pool);
	k->volume.name = vf_strdup(vol);
	k->pos = at(f, d->pos.file, line);
	return k;
}

static vf_disk *dom_disk_path(fx *f, vf_object *d, const char *path, int line)
{
	vf_domain_spec *ds = &d->u.domain;
	ds->disks = vf_realloc(ds->disks, (ds->n_disks + 1) * sizeof(*ds->disks));
	vf_disk *k = &ds->disks[ds->n_disks++];
	*k = (vf_disk){ .path = vf_strdup(path) };
	k->pos = at(f, d->pos.file, line);
	return k;
}

static vf_obs_pool *live_pool(fx *f, const char *name, const char *path, bool owned)
{
	f->o.pools = vf_realloc(f->o.pools, (f->o.n_pools + 1) * sizeof(*f->o.pools));
	vf_obs_pool *p = &f->o.pools[f->o.n_pools++];
	*p = (vf_obs_pool){ .name = vf_strdup(name), .type = VF_POOL_DIR, .type_name = vf_strdup("dir"),
			    .target_path = vf_strdup(path), .active = true, .autostart = true,
			    .persistent = true, .owner = -1, .group = -1, .mode = -1,
			    .contents_known = true /* its volumes, and the files added by pool_file() */ };
	vf_uuid_derive(VF_KIND_POOL, NULL, name, p->uuid);
	if (owned)
		vf_ledger_put(&f->l, VF_KIND_POOL, NULL, name, p->uuid);
	return p;
}

/* A file in live pool `pool`'s directory, listed by libvirt or not. */
static void pool_file(fx *f, const char *pool, const char *name)
{
	vf_obs_pool *p = vf_observed_pool(&f->o, pool);
	p->entries = vf_realloc(p->entries, (p->n_entries + 1) * sizeof(*p->entries));
	size_t i = p->n_entries++;
	while (i > 0 && strcmp(p->entries[i - 1], name) > 0) { /* kept sorted, as observed */
		p->entries[i] = p->entries[i - 1];
		i--;
	}
	p->entries[i] = vf_strdup(name);
}

static vf_obs_volume *live_vol(fx *f, const char *pool, const char *name, uint64_t cap,
			       bool owned)
{
	f->o.volumes = vf_realloc(f->o.volumes, (f->o.n_volumes + 1) * sizeof(*f->o.volumes));
	vf_obs_volume *v = &f->o.volumes[f->o.n_volumes++];
	*v = (vf_obs_volume){ .pool = vf_strdup(pool), .name = vf_strdup(name),
			      .path = vf_asprintf("/srv/%s/%s", pool, name), .capacity = cap,
			      .format = VF_VOL_QCOW2, .format_name = vf_strdup("qcow2"),
			      .owner = -1, .group = -1, .mode = -1 };
	if (owned) {
		uuid_t u;
		vf_uuid_derive(VF_KIND_VOLUME, pool, name, u);
		vf_ledger_put(&f->l, VF_KIND_VOLUME, pool, name, u);
	}
	return v;
}

/* A live domain as virtform would have defined it from defaults. */
static vf_obs_domain *live_dom(fx *f, const char *name, vf_run_state st, bool owned)
{
	f->o.domains = vf_realloc(f->o.domains, (f->o.n_domains + 1) * sizeof(*f->o.domains));
	vf_obs_domain *d = &f->o.domains[f->o.n_domains++];
	*d = (vf_obs_domain){ .name = vf_strdup(name), .type = vf_strdup("kvm"), .vcpus = 1,
			      .memory = 512ull << 20, .current_memory = 512ull << 20,
			      .machine = vf_strdup("pc-q35-7.2"), .firmware = VF_FIRMWARE_BIOS,
			      .graphics = VF_GRAPHICS_NONE, .serial_console = true, .state = st,
			      .persistent = true };
	vf_uuid_derive(VF_KIND_DOMAIN, NULL, name, d->uuid);
	if (owned)
		vf_ledger_put(&f->l, VF_KIND_DOMAIN, NULL, name, d->uuid);
	return d;
}

static vf_obs_disk *live_disk(vf_obs_domain *d, vf_obs_disk_type type, const char *a,
			      const char *b, const char *target)
{
	d->disks = vf_realloc(d->disks, (d->n_disks + 1) * sizeof(*d->disks));
	vf_obs_disk *k = &d->disks[d->n_disks++];
	*k = (vf_obs_disk){ .type = type, .target = vf_strdup(target), .bus = VF_BUS_VIRTIO,
			    .device = VF_DISK_DEVICE_DISK };
	if (type == VF_OBS_DISK_VOLUME) {
		k->pool = vf_strdup(a);
		k->volume = vf_strdup(b);
	} else {
		k->path = vf_strdup(a);
	}
	return k;
}

static void set_policy(fx *f, vf_kind kind, const char *pool, const char *name,
		       vf_deletion_policy p)
{
	vf_ledger_entry *e = vf_ledger_find(&f->l, kind, pool, name);
	assert_non_null(e);
	e->deletion = p;
}

static int build(fx *f)
{
	vf_plan_opts opts = { .replace = f->replace, .n_replace = f->n_replace, .fleet = f->fleet };
	f->rc = vf_plan_build(&f->d, &f->o, &f->l, &opts, &f->plan, &f->conflicts);
	return f->rc;
}

/* The plan as the CLI prints it. Caller frees. */
static char *plan_text(const vf_plan *p)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	vf_plan_print_text(m, p, false);
	fclose(m);
	return buf;
}

static void expect_plan(fx *f, const char *expected)
{
	assert_int_equal(build(f), 0);
	assert_int_equal(f->conflicts.n, 0);
	_cleanup_free_ char *t = plan_text(&f->plan);
	if (strcmp(t, expected) != 0)
		fail_msg("plan differs.\n--- expected\n%s--- got\n%s", expected, t);
}

/* Every conflict message, one per line, as "file:line: message [other:line]". */
static char *conflict_text(const vf_diags *d)
{
	vf_buf b = { 0 };
	for (size_t i = 0; i < d->n; i++) {
		const vf_error *e = &d->items[i];
		assert_int_equal(e->code, VF_E_CONFLICT);
		vf_buf_printf(&b, "%s:%d: %s", e->pos.file ? e->pos.file : "-", e->pos.line, e->message);
		if (e->other.file)
			vf_buf_printf(&b, " [%s:%d]", e->other.file, e->other.line);
		vf_buf_add(&b, "\n");
	}
	return vf_buf_steal(&b);
}

static void expect_conflicts(fx *f, const char *expected)
{
	assert_int_equal(build(f), -VF_E_CONFLICT);
	assert_int_equal(f->plan.n, 0);
	_cleanup_free_ char *t = conflict_text(&f->conflicts);
	if (strcmp(t, expected) != 0)
		fail_msg("conflicts differ.\n--- expected\n%s--- got\n%s", expected, t);
}

static void expect_ops(const vf_step *s, const vf_op_type *ops, size_t n)
{
	vf_buf got = { 0 }, want = { 0 };
	for (size_t i = 0; i < s->n_ops; i++)
		vf_buf_printf(&got, "%s ", vf_op_type_to_string(s->ops[i].type));
	for (size_t i = 0; i < n; i++)
		vf_buf_printf(&want, "%s ", vf_op_type_to_string(ops[i]));
	_cleanup_free_ char *g = vf_buf_steal(&got);
	_cleanup_free_ char *w = vf_buf_steal(&want);
	if (strcmp(g, w) != 0)
		fail_msg("ops of %s differ: expected [%s] got [%s]", s->name, w, g);
}
#define EXPECT_OPS(step, ...)                                                    \
	do {                                                                     \
		const vf_op_type ops_[] = { __VA_ARGS__ };                       \
		expect_ops((step), ops_, VF_ARRAY_SIZE(ops_));                   \
	} while (0)

/* ---- creates -------------------------------------------------------------- */

static void test_empty_plan(void **state)
{
	(void)state;
	fx *f = fx_new();
	expect_plan(f, "No changes. The host matches the manifests.\n");
	assert_true(vf_plan_empty(&f->plan));
	fx_free(f);
}

static void test_creates_in_dependency_order(void **state)
{
	(void)state;
	fx *f = fx_new();
	vf_object *web = add_dom(f, "web", "web.yaml", 1);
	web->u.domain.has_memory = true;
	web->u.domain.memory = 1ull << 30;
	web->u.domain.has_vcpus = true;
	web->u.domain.vcpus = 2;
	web->u.domain.autostart = VF_TRI_TRUE;
	dom_disk_vol(f, web, "images", "a-root", 12);
	vf_object *top = add_vol(f, "images", "a-root", 20ull << 30, "vol.yaml", 1);
	top->u.volume.has_backing = true;
	top->u.volume.backing = (vf_volref){ vf_strdup("images"), vf_strdup("z-base"), { 0 } };
	add_vol(f, "images", "z-base", 10ull << 30, "vol.yaml", 20);
	vf_object *db = add_dom(f, "db", "db.yaml", 1);
	db->u.domain.state = VF_RUN_PAUSED;
	add_pool(f, "images", "/srv/images", "pool.yaml", 1);

	expect_plan(f, "+ StoragePool/images: create dir pool at /srv/images\n"
		       "+ Volume/images/z-base: create 10GiB qcow2 volume\n"
		       "+ Volume/images/a-root: create 20GiB qcow2 volume backed by images/z-base\n"
		       "+ Domain/db: define with 1 vCPU and 512MiB, then start and pause it\n"
		       "+ Domain/web: define with 2 vCPUs and 1GiB, then start it\n"
		       "\n"
		       "Plan: 5 to create, 0 to update, 0 to remove, 0 blocked.\n");
	assert_int_equal(f->plan.counts[VF_ACT_CREATE], 5);
	EXPECT_OPS(&f->plan.steps[0], VF_OP_LEDGER_PUT, VF_OP_POOL_DEFINE, VF_OP_POOL_START,
		   VF_OP_POOL_AUTOSTART);
	EXPECT_OPS(&f->plan.steps[1], VF_OP_LEDGER_PUT, VF_OP_VOLUME_CREATE);
	EXPECT_OPS(&f->plan.steps[3], VF_OP_LEDGER_PUT, VF_OP_DOMAIN_DEFINE, VF_OP_DOMAIN_START,
		   VF_OP_DOMAIN_SUSPEND);
	EXPECT_OPS(&f->plan.steps[4], VF_OP_LEDGER_PUT, VF_OP_DOMAIN_DEFINE,
		   VF_OP_DOMAIN_AUTOSTART, VF_OP_DOMAIN_START);
	/* type auto on a KVM host resolves to kvm; the step points at its manifest */
	assert_int_equal(f->plan.steps[4].ops[1].dtype, VF_DOMAIN_KVM);
	assert_string_equal(f->plan.steps[4].pos.file, "web.yaml");
	fx_free(f);
}

static void test_create_inactive_pool_and_shutoff_domain_on_tcg_host(void **state)
{
	(void)state;
	fx *f = fx_new();
	f->o.kvm = false;
	vf_object *p = add_pool(f, "cold", "/srv/cold", "p.yaml", 1);
	p->u.pool.state = VF_POOL_INACTIVE;
	p->u.pool.autostart = VF_TRI_FALSE;
	p->u.pool.deletion = VF_DELETION_DELETE;
	vf_object *d = add_dom(f, "off", "d.yaml", 1);
	d->u.domain.state = VF_RUN_SHUTOFF;
	expect_plan(f, "+ StoragePool/cold: create dir pool at /srv/cold\n"
		       "+ Domain/off: define with 1 vCPU and 512MiB, left shut off\n"
		       "\n"
		       "Plan: 2 to create, 0 to update, 0 to remove, 0 blocked.\n");
	EXPECT_OPS(&f->plan.steps[0], VF_OP_LEDGER_PUT, VF_OP_POOL_DEFINE);
	/* the policy travels with LEDGER_PUT so a removed manifest still has it */
	assert_int_equal(f->plan.steps[0].ops[0].u32, VF_DELETION_DELETE);
	EXPECT_OPS(&f->plan.steps[1], VF_OP_LEDGER_PUT, VF_OP_DOMAIN_DEFINE);
	assert_int_equal(f->plan.steps[1].ops[1].dtype, VF_DOMAIN_QEMU);
	fx_free(f);
}

/* ---- domain types: what the host offers decides (issue 20) ---------------- */

/* The one diag of a rejected plan: its code, "file:line:col: message". */
static void expect_one_diag(fx *f, vf_code code, const char *expected)
{
	assert_int_equal(build(f), -VF_E_CONFLICT);
	assert_int_equal(f->plan.n, 0);
	assert_int_equal(f->conflicts.n, 1);
	const vf_error *e = &f->conflicts.items[0];
	assert_int_equal(e->code, code);
	_cleanup_free_ char *t = vf_asprintf("%s:%d:%d: %s", e->pos.file, e->pos.line, e->pos.col,
					     e->message);
	assert_string_equal(t, expected);
}

/* A fixture on an LXC host (lxc:///system): it offers containers only. */
static fx *fx_new_lxc(void)
{
	fx *f = fx_new();
	free(f->o.hv_type);
	f->o.hv_type = vf_strdup("LXC");
	f->o.kvm = false;
	f->o.domain_types = 1u << VF_DOMAIN_LXC;
	return f;
}

static void test_type_auto_resolves_from_the_host(void **state)
{
	(void)state;
	/* an LXC host: auto is a container */
	fx *f = fx_new_lxc();
	vf_object *ct = add_dom(f, "ct", "ct.yaml", 1);
	ct->u.domain.init.path = vf_strdup("/bin/sh");
	ct->u.domain.ct_field = "init";
	ct->u.domain.ct_field_pos = at(f, "ct.yaml", 6);
	expect_plan(f, "+ Domain/ct: define with 1 vCPU and 512MiB, then start it\n"
		       "\n"
		       "Plan: 1 to create, 0 to update, 0 to remove, 0 blocked.\n");
	assert_int_equal(f->plan.steps[0].ops[1].dtype, VF_DOMAIN_LXC);
	fx_free(f);

	/* a TCG-only qemu host: qemu, not kvm */
	f = fx_new();
	f->o.kvm = false;
	f->o.domain_types = 1u << VF_DOMAIN_QEMU;
	add_dom(f, "vm", "vm.yaml", 1);
	assert_int_equal(build(f), 0);
	assert_int_equal(f->plan.steps[0].ops[1].dtype, VF_DOMAIN_QEMU);
	fx_free(f);
}

static void test_type_the_host_does_not_offer_is_a_plan_error(void **state)
{
	(void)state;
	/* issue 20: a qemu VM on lxc:///system; before, the pool and volume
	 * were created and the define failed ("could not find capabilities
	 * for arch=x86_64 domaintype=qemu") */
	fx *f = fx_new_lxc();
	add_pool(f, "images", "/srv/images", "p.yaml", 1);
	add_vol(f, "images", "disk.qcow2", 1 << 20, "v.yaml", 1);
	vf_object *vm = add_dom(f, "vm", "vm.yaml", 1);
	vm->u.domain.type = VF_DOMAIN_QEMU;
	vm->u.domain.type_pos = at(f, "vm.yaml", 6);
	dom_disk_vol(f, vm, "images", "disk.qcow2", 9);
	vm->u.domain.vm_field = "disks";
	vm->u.domain.vm_field_pos = at(f, "vm.yaml", 8);
	expect_one_diag(f, VF_E_UNSUPPORTED,
			"vm.yaml:6:3: Domain \"vm\": spec.type qemu is not offered by this host: its hypervisor (LXC) offers lxc; use one of those or type auto");

	/* auto makes it a container here: its disks are refused where they are */
	vm->u.domain.type = VF_DOMAIN_AUTO;
	vf_plan_free(&f->plan);
	vf_diags_free(&f->conflicts);
	expect_one_diag(f, VF_E_UNSUPPORTED,
			"vm.yaml:8:3: Domain \"vm\": spec.disks is for virtual machines, and spec.type auto makes this domain a container on this host (its hypervisor, LXC, offers lxc); remove spec.disks, or run it on a host that offers kvm or qemu");
	fx_free(f);

	/* and spec.init on a host that offers only VMs */
	f = fx_new();
	f->o.domain_types = (1u << VF_DOMAIN_KVM) | (1u << VF_DOMAIN_QEMU);
	vf_object *ct = add_dom(f, "ct", "ct.yaml", 1);
	ct->u.domain.ct_field = "init";
	ct->u.domain.ct_field_pos = at(f, "ct.yaml", 6);
	expect_one_diag(f, VF_E_UNSUPPORTED,
			"ct.yaml:6:3: Domain \"ct\": spec.init is for containers, and spec.type auto makes this domain a virtual machine on this host (its hypervisor, QEMU, offers kvm, qemu); remove spec.init, or run it on a host that offers lxc");
	fx_free(f);
}

/* ---- conflicts ------------------------------------------------------------ */

typedef struct conflict_case {
	const char *name;
	void (*setup)(fx *f);
	const char *expected;
} conflict_case;

static void cc_same_uuid_pools(fx *f)
{
	vf_object *a = add_pool(f, "data", "/srv/data", "a.yaml", 1);
	vf_object *b = add_pool(f, "images", "/srv/images", "b.yaml", 1);
	uuid_parse("11111111-2222-3333-4444-555555555555", a->uuid);
	uuid_copy(b->uuid, a->uuid);
	a->u.pool.has_uuid = b->u.pool.has_uuid = true;
	a->u.pool.uuid_pos = at(f, "a.yaml", 6);
	b->u.pool.uuid_pos = at(f, "b.yaml", 6);
}

static void cc_same_uuid_domains(fx *f)
{
	vf_object *a = add_dom(f, "a", "a.yaml", 1);
	vf_object *b = add_dom(f, "b", "b.yaml", 1);
	uuid_parse("11111111-2222-3333-4444-555555555555", a->uuid);
	uuid_copy(b->uuid, a->uuid);
}

static void cc_name_with_other_uuid(fx *f)
{
	add_dom(f, "web", "web.yaml", 1);
	vf_obs_domain *d = live_dom(f, "web", VF_RUN_RUNNING, false);
	uuid_parse("99999999-2222-3333-4444-555555555555", d->uuid);
}

static void cc_uuid_under_other_name(fx *f)
{
	vf_object *p = add_pool(f, "images", "/srv/images", "p.yaml", 1);
	vf_obs_pool *lp = live_pool(f, "old-images", "/srv/old", false);
	uuid_copy(lp->uuid, p->uuid);
}

static void cc_same_target_path(fx *f)
{
	add_pool(f, "data", "/srv/images", "b.yaml", 1);
	add_pool(f, "images", "/srv/images/", "a.yaml", 10);
}

static void cc_same_path_as_live_pool(fx *f)
{
	add_pool(f, "images", "/srv/images", "a.yaml", 1);
	live_pool(f, "default", "/srv/images", false);
}

static void cc_same_source_device(fx *f)
{
	vf_object *a = add_pool(f, "vg1", NULL, "a.yaml", 1);
	vf_object *b = add_pool(f, "vg2", NULL, "b.yaml", 1);
	a->u.pool.type = b->u.pool.type = VF_POOL_LOGICAL;
	a->u.pool.source.device = vf_strdup("/dev/sdb");
	b->u.pool.source.device = vf_strdup("/dev/sdb");
	a->u.pool.source.pos = at(f, "a.yaml", 7);
	b->u.pool.source.pos = at(f, "b.yaml", 7);
}

static void cc_disk_two_domains(fx *f)
{
	add_pool(f, "images", "/srv/images", "p.yaml", 1);
	add_vol(f, "images", "root", 1ull << 30, "v.yaml", 1);
	dom_disk_vol(f, add_dom(f, "a", "a.yaml", 1), "images", "root", 9);
	dom_disk_vol(f, add_dom(f, "b", "b.yaml", 1), "images", "root", 9);
}

static void cc_disk_by_path_is_volume(fx *f)
{
	/* a path equal to a known volume's path is that volume */
	live_pool(f, "images", "/srv/images", true);
	live_vol(f, "images", "root", 1ull << 30, true);
	dom_disk_path(f, add_dom(f, "b", "b.yaml", 1), "/srv/images/root", 9);
	vf_obs_domain *other = live_dom(f, "legacy", VF_RUN_RUNNING, false);
	live_disk(other, VF_OBS_DISK_VOLUME, "images", "root", "vda");
}

static void cc_volume_pool_nowhere(fx *f)
{
	add_vol(f, "nopool", "root", 1ull << 30, "v.yaml", 1);
}

static void cc_backing_nowhere(fx *f)
{
	add_pool(f, "images", "/srv/images", "p.yaml", 1);
	vf_object *v = add_vol(f, "images", "root", 1ull << 30, "v.yaml", 1);
	v->u.volume.has_backing = true;
	v->u.volume.backing = (vf_volref){ vf_strdup("images"), vf_strdup("gold"), at(f, "v.yaml", 8) };
}

static void cc_disk_volume_nowhere(fx *f)
{
	add_pool(f, "images", "/srv/images", "p.yaml", 1);
	add_vol(f, "images", "root", 1ull << 30, "v.yaml", 1);
	vf_object *d = add_dom(f, "web", "d.yaml", 1);
	dom_disk_vol(f, d, "images", "root", 9);            /* declared: fine */
	dom_disk_vol(f, d, "images", "data", 12);           /* exists nowhere */
}

static void cc_unowned_live_objects(fx *f)
{
	add_pool(f, "images", "/srv/images", "p.yaml", 1);
	live_pool(f, "images", "/srv/images", false);
	add_vol(f, "images", "root", 1ull << 30, "v.yaml", 1);
	live_vol(f, "images", "root", 1ull << 30, false);
	add_dom(f, "web", "d.yaml", 1);
	live_dom(f, "web", VF_RUN_RUNNING, false);
}

static const conflict_case conflict_cases[] = {
	{ "same UUID on two pools", cc_same_uuid_pools,
	  "b.yaml:6: StoragePool \"images\" has the same UUID 11111111-2222-3333-4444-555555555555 as StoragePool \"data\" (a.yaml:6) [a.yaml:6]\n" },
	{ "same UUID on two domains", cc_same_uuid_domains,
	  "b.yaml:3: Domain \"b\" has the same UUID 11111111-2222-3333-4444-555555555555 as Domain \"a\" (a.yaml:3) [a.yaml:3]\n" },
	{ "declared name lives with another UUID", cc_name_with_other_uuid, NULL },
	{ "declared UUID lives under another name", cc_uuid_under_other_name, NULL },
	{ "two pools on one target path", cc_same_target_path,
	  "a.yaml:15: StoragePool \"images\" has the same target path \"/srv/images/\" as StoragePool \"data\" (b.yaml:6) [b.yaml:6]\n" },
	{ "a pool on a live pool's path", cc_same_path_as_live_pool,
	  "a.yaml:6: StoragePool \"images\" has the same target path \"/srv/images\" as the live pool \"default\" on the host\n" },
	{ "two pools on one device", cc_same_source_device,
	  "b.yaml:7: StoragePool \"vg2\" has the same source device \"/dev/sdb\" as StoragePool \"vg1\" (a.yaml:7) [a.yaml:7]\n" },
	{ "a disk in two domains", cc_disk_two_domains,
	  "b.yaml:9: Domain \"b\" uses volume images/root, which Domain \"a\" (a.yaml:9) also uses; mark the disk shareable or readonly in both [a.yaml:9]\n" },
	{ "a path that is a live domain's volume", cc_disk_by_path_is_volume,
	  "b.yaml:9: Domain \"b\" uses volume images/root, which the live domain \"legacy\" on the host also uses; mark the disk shareable or readonly in both\n" },
	{ "a volume in a pool that exists nowhere", cc_volume_pool_nowhere,
	  "v.yaml:5: Volume \"root\" is in pool \"nopool\", which is neither declared nor on the host\n" },
	{ "a backing volume that exists nowhere", cc_backing_nowhere,
	  "v.yaml:8: Volume \"root\" has backing volume \"gold\" in pool \"images\", which is neither declared nor on the host\n" },
	{ "a domain disk on a volume that exists nowhere", cc_disk_volume_nowhere,
	  "d.yaml:12: Domain \"web\": spec.disks[1] uses volume \"data\" in pool \"images\", which is neither declared nor on the host\n" },
	{ "live objects virtform does not own, all at once", cc_unowned_live_objects,
	  "d.yaml:3: Domain \"web\": the live domain \"web\" on the host is not owned by virtform (not in the ledger, no virtform metadata); add \"adopt: true\" to its spec to manage it\n"
	  "p.yaml:3: StoragePool \"images\": the live pool \"images\" on the host is not owned by virtform; add \"adopt: true\" to its spec to manage it\n"
	  "v.yaml:3: Volume \"root\": the live volume \"root\" in pool \"images\" on the host is not owned by virtform; add \"adopt: true\" to its spec to manage it\n" },
};

static void test_conflict_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < VF_ARRAY_SIZE(conflict_cases); i++) {
		const conflict_case *cc = &conflict_cases[i];
		fx *f = fx_new();
		cc->setup(f);
		if (build(f) != -VF_E_CONFLICT)
			fail_msg("%s: plan not rejected", cc->name);
		if (cc->expected) {
			_cleanup_free_ char *t = conflict_text(&f->conflicts);
			if (strcmp(t, cc->expected) != 0)
				fail_msg("%s:\n--- expected\n%s--- got\n%s", cc->name, cc->expected, t);
		}
		fx_free(f);
	}
}

static void test_conflict_identity_messages(void **state)
{
	(void)state;
	fx *f = fx_new();
	cc_name_with_other_uuid(f);
	char u[37];
	uuid_unparse_lower(f->d.objs[0].uuid, u);
	_cleanup_free_ char *want = vf_asprintf(
		"web.yaml:3: Domain \"web\" has the derived UUID %s, but the live domain \"web\" on the host has UUID 99999999-2222-3333-4444-555555555555; libvirt cannot change a domain's UUID\n",
		u);
	expect_conflicts(f, want);
	fx_free(f);

	f = fx_new();
	cc_uuid_under_other_name(f);
	uuid_unparse_lower(f->d.objs[0].uuid, u);
	_cleanup_free_ char *want2 = vf_asprintf(
		"p.yaml:3: StoragePool \"images\" has UUID %s, which the live pool \"old-images\" on the host already has; libvirt cannot rename it or give two pools one UUID\n",
		u);
	expect_conflicts(f, want2);
	fx_free(f);
}

static void test_every_conflict_reported_at_once(void **state)
{
	(void)state;
	fx *f = fx_new();
	cc_same_target_path(f);
	cc_volume_pool_nowhere(f);
	dom_disk_path(f, add_dom(f, "a", "a.yaml", 20), "/srv/disk.img", 29);
	dom_disk_path(f, add_dom(f, "b", "b.yaml", 20), "/srv/disk.img", 29);
	assert_int_equal(build(f), -VF_E_CONFLICT);
	assert_int_equal(f->conflicts.n, 3);
	/* sorted by file and line, so the output never depends on discovery order */
	assert_string_equal(f->conflicts.items[0].pos.file, "a.yaml");
	assert_string_equal(f->conflicts.items[1].pos.file, "b.yaml");
	assert_int_equal(f->conflicts.items[1].pos.line, 29);
	assert_string_equal(f->conflicts.items[2].pos.file, "v.yaml");
	fx_free(f);
}

static void test_shareable_and_readonly_disks_do_not_conflict(void **state)
{
	(void)state;
	fx *f = fx_new();
	dom_disk_path(f, add_dom(f, "a", "a.yaml", 1), "/srv/iso/install.iso", 9)->readonly = true;
	dom_disk_path(f, add_dom(f, "b", "b.yaml", 1), "/srv/iso/install.iso", 9)->readonly = true;
	dom_disk_path(f, add_dom(f, "c", "c.yaml", 1), "/srv/shared.img", 9)->shareable = true;
	dom_disk_path(f, add_dom(f, "d", "d.yaml", 1), "/srv/shared.img", 9)->shareable = true;
	assert_int_equal(build(f), 0);
	assert_int_equal(f->plan.counts[VF_ACT_CREATE], 4);
	fx_free(f);

	/* one side writable is still a clash */
	f = fx_new();
	dom_disk_path(f, add_dom(f, "a", "a.yaml", 1), "/srv/shared.img", 9)->shareable = true;
	dom_disk_path(f, add_dom(f, "b", "b.yaml", 1), "/srv/shared.img", 9);
	assert_int_equal(build(f), -VF_E_CONFLICT);
	assert_int_equal(f->conflicts.n, 1);
	fx_free(f);
}

/* ---- ownership and adopt -------------------------------------------------- */

static void test_adopt_takes_ownership_then_fixes_drift(void **state)
{
	(void)state;
	fx *f = fx_new();
	vf_object *p = add_pool(f, "images", "/srv/images", "p.yaml", 1);
	p->u.pool.adopt = true;
	live_pool(f, "images", "/srv/images", false);
	vf_object *d = add_dom(f, "web", "d.yaml", 1);
	d->u.domain.adopt = true;
	live_dom(f, "web", VF_RUN_SHUTOFF, false);
	expect_plan(f, "~ StoragePool/images: adopt the existing storage pool (adopt: true)\n"
		       "~ Domain/web: adopt the existing domain (adopt: true); 1 field differs\n"
		       "    spec.state: shutoff \u2192 running (live)\n"
		       "\n"
		       "Plan: 0 to create, 2 to update, 0 to remove, 0 blocked.\n");
	EXPECT_OPS(&f->plan.steps[0], VF_OP_LEDGER_PUT);
	EXPECT_OPS(&f->plan.steps[1], VF_OP_LEDGER_PUT, VF_OP_DOMAIN_START);
	fx_free(f);
}

static void test_managed_metadata_means_owned(void **state)
{
	(void)state;
	fx *f = fx_new();
	add_dom(f, "web", "d.yaml", 1);
	live_dom(f, "web", VF_RUN_RUNNING, false)->managed = true; /* ledger lost */
	expect_plan(f, "No changes. The host matches the manifests.\n");
	fx_free(f);
}

/* ---- drift ---------------------------------------------------------------- */

typedef struct drift_case {
	const char *name;
	void (*setup)(fx *f);
	const char *expected;
} drift_case;

static void dc_unset_fields_are_not_drift(fx *f)
{
	/* libvirt's additions: a generated MAC, a model, a machine alias,
	 * capacity figures; none is declared, so none is drift */
	vf_object *d = add_dom(f, "web", "d.yaml", 1);
	d->u.domain.ifaces = vf_calloc(1, sizeof(vf_iface));
	d->u.domain.n_ifaces = 1;
	d->u.domain.ifaces[0].network = vf_strdup("default");
	d->u.domain.machine = vf_strdup("q35");
	vf_obs_domain *o = live_dom(f, "web", VF_RUN_RUNNING, true);
	o->ifaces = vf_calloc(1, sizeof(vf_obs_iface));
	o->n_ifaces = 1;
	o->ifaces[0] = (vf_obs_iface){ .network = vf_strdup("default"), .model = vf_strdup("virtio"),
				       .mac = vf_strdup("52:54:00:aa:bb:cc") };
	o->graphics = VF_GRAPHICS_VNC;
	o->cpu_mode = VF_CPU_HOST_MODEL;
	/* the network it is on exists (a domain on a missing one is a conflict) */
	f->o.networks = vf_calloc(1, sizeof(vf_obs_network));
	f->o.networks[0] = (vf_obs_network){ .name = vf_strdup("default"), .active = true };
	f->o.n_networks = 1;
	add_pool(f, "images", "/srv/images", "p.yaml", 1);
	vf_obs_pool *p = live_pool(f, "images", "/srv/images", true);
	p->capacity = 1ull << 40;
	p->available = 1ull << 39;
}

static void dc_declared_mac_is_compared(fx *f)
{
	dc_unset_fields_are_not_drift(f);
	f->d.objs[0].u.domain.ifaces[0].mac = vf_strdup("52:54:00:00:00:01");
}

static void dc_memory_grow_running(fx *f)
{
	vf_object *d = add_dom(f, "web", "d.yaml", 1);
	d->u.domain.has_memory = true;
	d->u.domain.memory = 1ull << 30;
	live_dom(f, "web", VF_RUN_RUNNING, true);
}

static void dc_memory_shrink_running(fx *f)
{
	vf_object *d = add_dom(f, "web", "d.yaml", 1);
	d->u.domain.has_memory = true;
	d->u.domain.memory = 256ull << 20;
	d->u.domain.has_vcpus = true;
	d->u.domain.vcpus = 1;
	live_dom(f, "web", VF_RUN_RUNNING, true)->vcpus = 4;
}

/* A next-boot raise already written (128MiB -> 512MiB in the definition)
 * leaves the running guest at its boot maximum of 128MiB and 1 vCPU: 256MiB
 * and 2 vCPUs are within the definition's maximum but not the guest's, so
 * they wait for the next boot (setting them live fails in libvirt). */
static void dc_memory_above_the_running_maximum(fx *f)
{
	vf_object *d = add_dom(f, "web", "d.yaml", 1);
	d->u.domain.has_memory = true;
	d->u.domain.memory = 256ull << 20;
	d->u.domain.has_vcpus = true;
	d->u.domain.vcpus = 2;
	vf_obs_domain *l = live_dom(f, "web", VF_RUN_RUNNING, true);
	l->vcpus = 4;
	l->live_max_vcpus = 1;
	l->live_max_memory = 128ull << 20;
}

static void dc_memory_shutoff_domain(fx *f)
{
	vf_object *d = add_dom(f, "web", "d.yaml", 1);
	d->u.domain.has_memory = true;
	d->u.domain.memory = 256ull << 20;
	d->u.domain.state = VF_RUN_SHUTOFF;
	live_dom(f, "web", VF_RUN_SHUTOFF, true);
}

static void dc_domain_devices(fx *f)
{
	vf_object *d = add_dom(f, "web", "d.yaml", 1);
	vf_domain_spec *ds = &d->u.domain;
	dom_disk_vol(f, d, "images", "root", 9)->cache = VF_CACHE_NONE;
	ds->cpu_mode = VF_CPU_HOST_PASSTHROUGH;
	ds->firmware = VF_FIRMWARE_UEFI;
	ds->boot = vf_calloc(2, sizeof(vf_boot_dev));
	ds->boot[0] = VF_BOOT_CDROM;
	ds->boot[1] = VF_BOOT_HD;
	ds->n_boot = 2;
	ds->graphics = VF_GRAPHICS_VNC;
	ds->serial_console = VF_TRI_FALSE;
	ds->type = VF_DOMAIN_QEMU;
	live_pool(f, "images", "/srv/images", false);
	live_vol(f, "images", "root", 1ull << 30, false);
	vf_obs_domain *o = live_dom(f, "web", VF_RUN_RUNNING, true);
	live_disk(o, VF_OBS_DISK_FILE, "/srv/images/root", NULL, "vda");
	o->boot = vf_calloc(1, sizeof(vf_boot_dev));
	o->boot[0] = VF_BOOT_HD;
	o->n_boot = 1;
}

static void dc_state_and_autostart(fx *f)
{
	vf_object *d = add_dom(f, "web", "d.yaml", 1);
	d->u.domain.state = VF_RUN_SHUTOFF;
	d->u.domain.has_shutdown_timeout = true;
	d->u.domain.shutdown_timeout = 90;
	d->u.domain.autostart = VF_TRI_TRUE;
	live_dom(f, "web", VF_RUN_PAUSED, true);
	/* applied with that timeout before: recording it again is no change */
	vf_ledger_entry *e = vf_ledger_find(&f->l, VF_KIND_DOMAIN, NULL, "web");
	e->has_shutdown_timeout = true;
	e->shutdown_timeout = 90;
	vf_object *p = add_pool(f, "images", "/srv/images", "p.yaml", 1);
	p->u.pool.state = VF_POOL_INACTIVE;
	live_pool(f, "images", "/srv/images", true)->autostart = false;
}

static void dc_volume_grow(fx *f)
{
	add_pool(f, "images", "/srv/images", "p.yaml", 1);
	live_pool(f, "images", "/srv/images", true);
	add_vol(f, "images", "root", 30ull << 30, "v.yaml", 1);
	live_vol(f, "images", "root", 20ull << 30, true);
}

static void dc_volume_shrink_blocked(fx *f)
{
	add_pool(f, "images", "/srv/images", "p.yaml", 1);
	live_pool(f, "images", "/srv/images", true);
	vf_object *v = add_vol(f, "images", "root", 10ull << 30, "v.yaml", 1);
	v->u.volume.format = VF_VOL_RAW;
	live_vol(f, "images", "root", 20ull << 30, true);
}

static void dc_volume_replace_allowed(fx *f)
{
	dc_volume_shrink_blocked(f);
	f->replace[f->n_replace++] = "Volume/images/root";
}

static void dc_pool_path_blocked(fx *f)
{
	add_pool(f, "images", "/srv/new", "p.yaml", 1);
	live_pool(f, "images", "/srv/images", true);
}

static void dc_pool_replace_allowed_recreates_volumes(fx *f)
{
	dc_pool_path_blocked(f);
	/* deletionPolicy Delete: a Retain volume would block the replacement */
	add_vol(f, "images", "root", 1ull << 30, "v.yaml", 1)->u.volume.deletion = VF_DELETION_DELETE;
	live_vol(f, "images", "root", 1ull << 30, true);
	set_policy(f, VF_KIND_VOLUME, "images", "root", VF_DELETION_DELETE);
	f->replace[f->n_replace++] = "StoragePool/images";
}

/* --replace does not pull a running guest's disk from under it, whether it
 * names the volume or a path in the pool's directory. */
static void dc_pool_replace_blocked_by_running_volume_user(fx *f)
{
	dc_pool_replace_allowed_recreates_volumes(f);
	vf_obs_domain *d = live_dom(f, "legacy", VF_RUN_RUNNING, false);
	live_disk(d, VF_OBS_DISK_VOLUME, "images", "root", "vda");
}

static void dc_pool_replace_blocked_by_running_path_user(fx *f)
{
	dc_pool_replace_allowed_recreates_volumes(f);
	live_dom(f, "off", VF_RUN_SHUTOFF, false);
	live_disk(&f->o.domains[0], VF_OBS_DISK_FILE, "/srv/images/root", NULL, "vda");
	vf_obs_domain *d = live_dom(f, "paused", VF_RUN_PAUSED, false);
	d->state_name = vf_strdup("paused");
	live_disk(d, VF_OBS_DISK_FILE, "/srv/images/root", NULL, "vda");
	/* a sibling directory that only starts the same is not in the pool */
	live_disk(live_dom(f, "near", VF_RUN_RUNNING, false), VF_OBS_DISK_FILE,
		  "/srv/images2/x", NULL, "vda");
}

static void dc_raw_xml_subset(fx *f)
{
	vf_object *d = add_dom(f, "raw", "r.yaml", 1);
	d->u.domain.xml = vf_strdup(
		"<domain type='kvm'><name>raw</name><uuid>00000000-0000-0000-0000-000000000001</uuid>"
		"<memory unit='MiB'>1024</memory><vcpu>2</vcpu>"
		"<devices><disk type='file' device='disk'><source file='/a.img'/><target dev='vda' bus='virtio'/></disk>"
		"<interface type='network'><source network='default'/></interface></devices></domain>");
	vf_obs_domain *o = live_dom(f, "raw", VF_RUN_RUNNING, true);
	o->xml = vf_strdup(
		"<domain type='kvm'><name>raw</name><uuid>6f1c1c1c-0000-0000-0000-000000000009</uuid>"
		"<metadata><virtform:owner xmlns:virtform='https://virtform.dev/xmlns/owner/1'/></metadata>"
		"<memory unit='KiB'>1048576</memory><currentMemory unit='KiB'>1048576</currentMemory>"
		"<vcpu placement='static'>1</vcpu><os><type arch='x86_64' machine='pc-q35-7.2'>hvm</type></os>"
		"<devices><disk type='file' device='disk'><driver name='qemu' type='qcow2'/>"
		"<source file='/b.img'/><target dev='vda' bus='virtio'/>"
		"<address type='pci' domain='0x0000' bus='0x04' slot='0x00' function='0x0'/></disk>"
		"<controller type='usb' index='0' model='qemu-xhci'/>"
		"<interface type='network'><mac address='52:54:00:12:34:56'/><source network='default'/>"
		"<model type='virtio'/></interface></devices></domain>");
}

static const drift_case drift_cases[] = {
	{ "unset fields, generated MAC and capacity figures are not drift",
	  dc_unset_fields_are_not_drift, "No changes. The host matches the manifests.\n" },
	{ "a declared MAC is compared", dc_declared_mac_is_compared,
	  "~ Domain/web: 1 field differs from the manifest\n"
	  "    spec.interfaces[0].mac: 52:54:00:aa:bb:cc \u2192 52:54:00:00:00:01 (next-boot)\n"
	  "\nPlan: 0 to create, 1 to update, 0 to remove, 0 blocked.\n" },
	{ "memory above the running maximum waits for the next boot", dc_memory_grow_running,
	  "~ Domain/web: 1 field differs from the manifest\n"
	  "    spec.memory: 512MiB \u2192 1GiB (next-boot)\n"
	  "\nPlan: 0 to create, 1 to update, 0 to remove, 0 blocked.\n" },
	{ "memory and vCPUs within the maximum apply live", dc_memory_shrink_running,
	  "~ Domain/web: 2 fields differ from the manifest\n"
	  "    spec.vcpus: 4 \u2192 1 (live)\n"
	  "    spec.memory: 512MiB \u2192 256MiB (live)\n"
	  "\nPlan: 0 to create, 1 to update, 0 to remove, 0 blocked.\n" },
	{ "the running guest's maximum, not the definition's, bounds a live change",
	  dc_memory_above_the_running_maximum,
	  "~ Domain/web: 2 fields differ from the manifest\n"
	  "    spec.vcpus: 4 \u2192 2 (next-boot)\n"
	  "    spec.memory: 512MiB \u2192 256MiB (next-boot)\n"
	  "\nPlan: 0 to create, 1 to update, 0 to remove, 0 blocked.\n" },
	{ "a shut-off domain sees changes at its next boot", dc_memory_shutoff_domain,
	  "~ Domain/web: 1 field differs from the manifest\n"
	  "    spec.memory: 512MiB \u2192 256MiB (next-boot)\n"
	  "\nPlan: 0 to create, 1 to update, 0 to remove, 0 blocked.\n" },
	{ "devices, firmware, boot, graphics, serial and type are next-boot", dc_domain_devices,
	  "~ Domain/web: 7 fields differ from the manifest\n"
	  "    spec.type: kvm \u2192 qemu (next-boot)\n"
	  "    spec.cpu.mode: (none) \u2192 host-passthrough (next-boot)\n"
	  "    spec.firmware: bios \u2192 uefi (next-boot)\n"
	  "    spec.boot: [hd] \u2192 [cdrom, hd] (next-boot)\n"
	  "    spec.disks[0].cache: (none) \u2192 none (next-boot)\n"
	  "    spec.graphics.type: none \u2192 vnc (next-boot)\n"
	  "    spec.serialConsole: true \u2192 false (next-boot)\n"
	  "\nPlan: 0 to create, 1 to update, 0 to remove, 0 blocked.\n" },
	{ "state and autostart are live, every run", dc_state_and_autostart,
	  "~ StoragePool/images: 2 fields differ from the manifest\n"
	  "    spec.state: active \u2192 inactive (live)\n"
	  "    spec.autostart: false \u2192 true (live)\n"
	  "~ Domain/web: 2 fields differ from the manifest\n"
	  "    spec.state: paused \u2192 shutoff (live)\n"
	  "    spec.autostart: false \u2192 true (live)\n"
	  "\nPlan: 0 to create, 2 to update, 0 to remove, 0 blocked.\n" },
	{ "a volume grows live", dc_volume_grow,
	  "~ Volume/images/root: 1 field differs from the manifest\n"
	  "    spec.capacity: 20GiB \u2192 30GiB (live)\n"
	  "\nPlan: 0 to create, 1 to update, 0 to remove, 0 blocked.\n" },
	{ "shrinking or reformatting a volume is blocked", dc_volume_shrink_blocked,
	  "! Volume/images/root: changing spec.capacity (a shrink) and spec.format would destroy the data in the volume; use --replace Volume/images/root\n"
	  "    spec.capacity: 20GiB \u2192 10GiB (replace)\n"
	  "    spec.format: qcow2 \u2192 raw (replace)\n"
	  "\nPlan: 0 to create, 0 to update, 0 to remove, 1 blocked.\n" },
	{ "--replace allows it", dc_volume_replace_allowed,
	  "~ Volume/images/root: replace (--replace Volume/images/root): changing spec.capacity (a shrink) and spec.format deletes the volume and its data\n"
	  "    spec.capacity: 20GiB \u2192 10GiB (replace)\n"
	  "    spec.format: qcow2 \u2192 raw (replace)\n"
	  "\nPlan: 0 to create, 1 to update, 0 to remove, 0 blocked.\n" },
	{ "moving a pool is blocked", dc_pool_path_blocked,
	  "! StoragePool/images: changing spec.target.path would destroy the pool and every volume in it; use --replace StoragePool/images\n"
	  "    spec.target.path: /srv/images \u2192 /srv/new (replace)\n"
	  "\nPlan: 0 to create, 0 to update, 0 to remove, 1 blocked.\n" },
	{ "replacing a pool recreates its volumes", dc_pool_replace_allowed_recreates_volumes,
	  "~ StoragePool/images: replace (--replace StoragePool/images): changing spec.target.path destroys the pool and every volume in it\n"
	  "    spec.target.path: /srv/images \u2192 /srv/new (replace)\n"
	  "+ Volume/images/root: create 1GiB qcow2 volume\n"
	  "\nPlan: 1 to create, 1 to update, 0 to remove, 0 blocked.\n" },
	{ "replacing a pool a running domain uses is blocked", dc_pool_replace_blocked_by_running_volume_user,
	  "! StoragePool/images: replace (--replace StoragePool/images) blocked: Domain \"legacy\" is running and uses root in this pool; stop it first\n"
	  "    spec.target.path: /srv/images \u2192 /srv/new (replace)\n"
	  "\nPlan: 0 to create, 0 to update, 0 to remove, 1 blocked.\n" },
	{ "a paused domain's file in the pool's directory blocks it too", dc_pool_replace_blocked_by_running_path_user,
	  "! StoragePool/images: replace (--replace StoragePool/images) blocked: Domain \"paused\" is paused and uses /srv/images/root in this pool; stop it first\n"
	  "    spec.target.path: /srv/images \u2192 /srv/new (replace)\n"
	  "\nPlan: 0 to create, 0 to update, 0 to remove, 1 blocked.\n" },
	{ "raw XML: only the manifest's elements and attributes count", dc_raw_xml_subset,
	  "~ Domain/raw: 2 fields differ from the manifest\n"
	  "    xml:/domain/vcpu: 1 \u2192 2 (next-boot)\n"
	  "    xml:/domain/devices/disk/source/@file: /b.img \u2192 /a.img (next-boot)\n"
	  "\nPlan: 0 to create, 1 to update, 0 to remove, 0 blocked.\n" },
};

static void test_drift_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < VF_ARRAY_SIZE(drift_cases); i++) {
		const drift_case *dc = &drift_cases[i];
		fx *f = fx_new();
		dc->setup(f);
		if (build(f) != 0) {
			_cleanup_free_ char *c = conflict_text(&f->conflicts);
			fail_msg("%s: rejected:\n%s", dc->name, c);
		}
		_cleanup_free_ char *t = plan_text(&f->plan);
		if (strcmp(t, dc->expected) != 0)
			fail_msg("%s:\n--- expected\n%s--- got\n%s", dc->name, dc->expected, t);
		fx_free(f);
	}
}

static void test_drift_ops(void **state)
{
	(void)state;
	fx *f = fx_new();
	dc_memory_shrink_running(f);
	assert_int_equal(build(f), 0);
	EXPECT_OPS(&f->plan.steps[0], VF_OP_DOMAIN_DEFINE, VF_OP_DOMAIN_SET_VCPUS,
		   VF_OP_DOMAIN_SET_MEMORY);
	assert_int_equal(f->plan.steps[0].ops[2].u64, 256ull << 20);
	fx_free(f);

	f = fx_new();
	dc_state_and_autostart(f);
	assert_int_equal(build(f), 0);
	EXPECT_OPS(&f->plan.steps[0], VF_OP_POOL_STOP, VF_OP_POOL_AUTOSTART);
	EXPECT_OPS(&f->plan.steps[1], VF_OP_DOMAIN_AUTOSTART, VF_OP_DOMAIN_SHUTDOWN);
	assert_int_equal(f->plan.steps[1].ops[1].u32, 90);
	fx_free(f);

	f = fx_new();
	dc_volume_grow(f);
	assert_int_equal(build(f), 0);
	EXPECT_OPS(&f->plan.steps[0], VF_OP_VOLUME_RESIZE);
	assert_int_equal(f->plan.steps[0].ops[0].u64, 30ull << 30);
	fx_free(f);

	f = fx_new();
	dc_volume_replace_allowed(f);
	assert_int_equal(build(f), 0);
	EXPECT_OPS(&f->plan.steps[0], VF_OP_VOLUME_DELETE, VF_OP_LEDGER_PUT, VF_OP_VOLUME_CREATE);
	fx_free(f);

	f = fx_new();
	dc_volume_shrink_blocked(f);
	assert_int_equal(build(f), 0);
	assert_int_equal(f->plan.steps[0].action, VF_ACT_BLOCKED);
	assert_false(vf_plan_empty(&f->plan));
	fx_free(f);
}

/* ---- removals ------------------------------------------------------------- */

/* ---- what virtform never does (docs/concepts.md) -------------------------- */

/* A pool with deletionPolicy Delete goes only with nothing in it but owned
 * volumes this plan deletes: a Retain volume, an unowned volume and files
 * libvirt never listed keep it, named (three) and counted. */
static void test_pool_delete_keeps_what_is_not_owned(void **state)
{
	(void)state;
	fx *f = fx_new();
	live_pool(f, "scratch", "/srv/scratch", true);
	set_policy(f, VF_KIND_POOL, NULL, "scratch", VF_DELETION_DELETE);
	live_vol(f, "scratch", "tmp.raw", 1ull << 30, true);
	set_policy(f, VF_KIND_VOLUME, "scratch", "tmp.raw", VF_DELETION_DELETE);
	live_vol(f, "scratch", "keep.qcow2", 1ull << 30, true); /* Retain */
	live_vol(f, "scratch", "their.img", 1ull << 30, false);
	pool_file(f, "scratch", "tmp.raw");
	pool_file(f, "scratch", "keep.qcow2");
	pool_file(f, "scratch", "their.img");
	pool_file(f, "scratch", "photos.tar");
	pool_file(f, "scratch", "notes.txt");
	expect_plan(f, "= Volume/scratch/keep.qcow2: no longer declared, retained (deletionPolicy Retain)\n"
		       "- Volume/scratch/tmp.raw: no longer declared; delete it and its data (deletionPolicy Delete)\n"
		       "! StoragePool/scratch: no longer declared (deletionPolicy Delete), but it holds 4 files or volumes this plan does not delete: \"keep.qcow2\" (deletionPolicy Retain), \"notes.txt\", \"photos.tar\" and 1 more; move them out first\n"
		       "\nPlan: 0 to create, 0 to update, 1 to remove, 1 blocked, 1 to forget.\n");
	assert_int_equal(f->plan.steps[2].n_ops, 0);
	fx_free(f);

	/* only what it deletes: the pool goes */
	f = fx_new();
	live_pool(f, "scratch", "/srv/scratch", true);
	set_policy(f, VF_KIND_POOL, NULL, "scratch", VF_DELETION_DELETE);
	live_vol(f, "scratch", "tmp.raw", 1ull << 30, true);
	set_policy(f, VF_KIND_VOLUME, "scratch", "tmp.raw", VF_DELETION_DELETE);
	pool_file(f, "scratch", "tmp.raw");
	expect_plan(f, "- Volume/scratch/tmp.raw: no longer declared; delete it and its data (deletionPolicy Delete)\n"
		       "- StoragePool/scratch: no longer declared; delete it with its volumes and target (deletionPolicy Delete)\n"
		       "\nPlan: 0 to create, 0 to update, 2 to remove, 0 blocked.\n");
	fx_free(f);
}

/* What a pool holds cannot always be seen (another host's files, an
 * unmounted file system, an unreadable directory): then it is not deleted. */
static void test_pool_delete_blocked_when_contents_unknown(void **state)
{
	(void)state;
	fx *f = fx_new();
	vf_obs_pool *p = live_pool(f, "remote", "/srv/remote", true);
	p->contents_known = false;
	p->contents_note = vf_strdup("its files are on another host, and virtform reads only local directories");
	set_policy(f, VF_KIND_POOL, NULL, "remote", VF_DELETION_DELETE);
	expect_plan(f, "! StoragePool/remote: no longer declared (deletionPolicy Delete), but what it holds cannot be seen (its files are on another host, and virtform reads only local directories), and deleting it would delete all of it\n"
		       "\nPlan: 0 to create, 0 to update, 0 to remove, 1 blocked.\n");
	fx_free(f);
}

/* An inactive pool lists no volumes, but a domain's disk in its directory
 * is still a disk; and a leased file in it is still leased. */
static void test_inactive_pool_in_use_is_not_deleted(void **state)
{
	(void)state;
	fx *f = fx_new();
	vf_obs_pool *p = live_pool(f, "scratch", "/srv/scratch", true);
	p->active = false;
	set_policy(f, VF_KIND_POOL, NULL, "scratch", VF_DELETION_DELETE);
	vf_obs_domain *d = live_dom(f, "stranger", VF_RUN_SHUTOFF, false);
	live_disk(d, VF_OBS_DISK_FILE, "/srv/scratch/disk.qcow2", NULL, "vda");
	expect_plan(f, "! StoragePool/scratch: no longer declared (deletionPolicy Delete), but its volume \"disk.qcow2\" is still used by Domain \"stranger\"\n"
		       "\nPlan: 0 to create, 0 to update, 0 to remove, 1 blocked.\n");
	fx_free(f);

	/* a declared domain's volume disk in it counts too */
	f = fx_new();
	p = live_pool(f, "scratch", "/srv/scratch", true);
	p->active = false;
	set_policy(f, VF_KIND_POOL, NULL, "scratch", VF_DELETION_DELETE);
	live_pool(f, "images", "/srv/images", false);
	live_vol(f, "images", "root", 1ull << 30, false);
	vf_object *web = add_dom(f, "web", "web.yaml", 1);
	dom_disk_vol(f, web, "images", "root", 8);
	dom_disk_vol(f, web, "scratch", "data", 9);
	assert_int_equal(build(f), -VF_E_CONFLICT); /* data: neither declared nor on the host */
	fx_free(f);

	/* a lease on a disk in its directory, held from another host */
	f = fx_new();
	p = live_pool(f, "scratch", "/srv/scratch", true);
	set_policy(f, VF_KIND_POOL, NULL, "scratch", VF_DELETION_DELETE);
	vf_obs_volume *v = live_vol(f, "scratch", "shared.raw", 1ull << 30, true);
	set_policy(f, VF_KIND_VOLUME, "scratch", "shared.raw", VF_DELETION_DELETE);
	v->lease.held = true;
	v->lease.pid = 0;
	v->lease.lockspace = vf_strdup("direct");
	assert_int_equal(build(f), 0);
	const vf_step *s = &f->plan.steps[f->plan.n - 1];
	assert_int_equal(s->kind, VF_KIND_POOL);
	assert_int_equal(s->action, VF_ACT_BLOCKED);
	assert_non_null(strstr(s->reason, "cannot delete the pool: /srv/scratch/shared.raw in it is leased by an unknown holder"));
	assert_int_equal(s->n_ops, 0);
	fx_free(f);
}

/* Replacing a pool destroys what it holds: not a Retain volume, not a
 * file virtform does not own. */
static void test_pool_replace_keeps_retained_and_foreign(void **state)
{
	(void)state;
	fx *f = fx_new();
	add_pool(f, "images", "/srv/new", "p.yaml", 1);
	live_pool(f, "images", "/srv/images", true);
	add_vol(f, "images", "root", 1ull << 30, "v.yaml", 1);
	live_vol(f, "images", "root", 1ull << 30, true); /* Retain (the default) */
	f->replace[f->n_replace++] = "StoragePool/images";
	assert_int_equal(build(f), 0);
	assert_int_equal(f->plan.steps[0].action, VF_ACT_BLOCKED);
	assert_string_equal(f->plan.steps[0].reason,
			    "replace (--replace StoragePool/images) blocked: it holds 1 file or volume this plan does not delete: \"root\" (deletionPolicy Retain); move it out first");
	fx_free(f);

	f = fx_new();
	add_pool(f, "images", "/srv/new", "p.yaml", 1);
	live_pool(f, "images", "/srv/images", true);
	add_vol(f, "images", "root", 1ull << 30, "v.yaml", 1)->u.volume.deletion = VF_DELETION_DELETE;
	live_vol(f, "images", "root", 1ull << 30, true);
	set_policy(f, VF_KIND_VOLUME, "images", "root", VF_DELETION_DELETE);
	pool_file(f, "images", "root");
	pool_file(f, "images", "vacation.iso"); /* someone's, never listed */
	f->replace[f->n_replace++] = "StoragePool/images";
	assert_int_equal(build(f), 0);
	assert_int_equal(f->plan.steps[0].action, VF_ACT_BLOCKED);
	assert_string_equal(f->plan.steps[0].reason,
			    "replace (--replace StoragePool/images) blocked: it holds 1 file or volume this plan does not delete: \"vacation.iso\"; move it out first");
	fx_free(f);
}

/* A file in a dir pool's directory that libvirt does not list yet, with a
 * declared volume's name, is someone's: a conflict, never created over. */
static void test_unlisted_file_with_a_declared_name_conflicts(void **state)
{
	(void)state;
	fx *f = fx_new();
	add_pool(f, "images", "/srv/images", "p.yaml", 1);
	vf_obs_pool *p = live_pool(f, "images", "/srv/images", true);
	p->active = false;
	pool_file(f, "images", "root.qcow2");
	vf_object *v = add_vol(f, "images", "root.qcow2", 1ull << 30, "v.yaml", 1);
	expect_conflicts(f, "v.yaml:3: Volume \"root.qcow2\": the file \"root.qcow2\" in the directory /srv/images of pool \"images\" exists and is not owned by virtform (libvirt does not list it yet); add \"adopt: true\" to its spec to manage it\n");
	v->u.volume.adopt = true;
	vf_plan_free(&f->plan);
	vf_diags_free(&f->conflicts);
	expect_conflicts(f, "v.yaml:3: Volume \"root.qcow2\": the file \"root.qcow2\" in the directory /srv/images of pool \"images\" is not a volume libvirt lists (the pool is inactive), so it cannot be adopted yet; start the pool first\n");
	fx_free(f);
}

/* Give declared domain `o` a cloud-init seed in pool `pool`. */
static void with_seed(vf_object *o, const char *pool)
{
	vf_cloudinit *ci = &o->u.domain.cloudinit;
	ci->present = true;
	ci->pos = o->pos;
	ci->seed_pool = vf_strdup(pool);
	ci->seed_volume = vf_asprintf("%s-cidata.iso", o->name);
	memset(ci->hash, 'a', 64);
}

/* A seed volume is written over or deleted only when virtform wrote it. */
static void test_seeds_virtform_did_not_write_are_not_touched(void **state)
{
	(void)state;
	/* someone's volume with the seed's name */
	fx *f = fx_new();
	live_pool(f, "images", "/srv/images", false);
	live_vol(f, "images", "root", 1ull << 30, false);
	live_vol(f, "images", "web-cidata.iso", 1 << 20, false);
	vf_object *web = add_dom(f, "web", "web.yaml", 1);
	dom_disk_vol(f, web, "images", "root", 8);
	with_seed(web, "images");
	expect_conflicts(f, "web.yaml:1: Domain \"web\": the volume \"web-cidata.iso\" in pool \"images\" on the host has the name of its cloud-init seed, but virtform did not write it and never overwrites it; move or rename that volume\n");
	fx_free(f);

	/* an adopted domain's own seed CD-ROM stays when it is removed */
	f = fx_new();
	live_pool(f, "images", "/srv/images", false);
	live_vol(f, "images", "web-cidata.iso", 1 << 20, false);
	vf_obs_domain *d = live_dom(f, "web", VF_RUN_SHUTOFF, true); /* adopted: in the ledger */
	live_disk(d, VF_OBS_DISK_VOLUME, "images", "web-cidata.iso", "sda")->device = VF_DISK_DEVICE_CDROM;
	expect_plan(f, "- Domain/web: no longer declared; undefine\n"
		       "\nPlan: 0 to create, 0 to update, 1 to remove, 0 blocked.\n");
	EXPECT_OPS(&f->plan.steps[0], VF_OP_DOMAIN_UNDEFINE, VF_OP_LEDGER_DROP);
	fx_free(f);

	/* one virtform wrote goes with its domain, and is forgotten */
	f = fx_new();
	live_pool(f, "images", "/srv/images", true);
	set_policy(f, VF_KIND_POOL, NULL, "images", VF_DELETION_DELETE);
	live_vol(f, "images", "web-cidata.iso", 1 << 20, true);
	vf_ledger_find(&f->l, VF_KIND_VOLUME, "images", "web-cidata.iso")->seed_of = vf_strdup("web");
	d = live_dom(f, "web", VF_RUN_SHUTOFF, true);
	live_disk(d, VF_OBS_DISK_VOLUME, "images", "web-cidata.iso", "sda")->device = VF_DISK_DEVICE_CDROM;
	expect_plan(f, "- Domain/web: no longer declared; undefine\n"
		       "- StoragePool/images: no longer declared; delete it with its volumes and target (deletionPolicy Delete)\n"
		       "\nPlan: 0 to create, 0 to update, 2 to remove, 0 blocked.\n");
	EXPECT_OPS(&f->plan.steps[0], VF_OP_DOMAIN_UNDEFINE, VF_OP_SEED_DELETE, VF_OP_LEDGER_DROP,
		   VF_OP_LEDGER_DROP);
	assert_int_equal(f->plan.steps[0].ops[2].kind, VF_KIND_VOLUME);
	assert_string_equal(f->plan.steps[0].ops[2].name, "web-cidata.iso");
	fx_free(f);

	/* writing a new seed records it */
	f = fx_new();
	live_pool(f, "images", "/srv/images", false);
	live_vol(f, "images", "root", 1ull << 30, false);
	web = add_dom(f, "web", "web.yaml", 1);
	dom_disk_vol(f, web, "images", "root", 8);
	with_seed(web, "images");
	assert_int_equal(build(f), 0);
	const vf_step *s = &f->plan.steps[0];
	EXPECT_OPS(s, VF_OP_LEDGER_PUT, VF_OP_SEED_WRITE, VF_OP_LEDGER_PUT, VF_OP_DOMAIN_DEFINE,
		   VF_OP_DOMAIN_START);
	assert_int_equal(s->ops[2].kind, VF_KIND_VOLUME);
	assert_string_equal(s->ops[2].pool, "images");
	assert_string_equal(s->ops[2].name, "web-cidata.iso");
	assert_ptr_equal(s->ops[2].obj, web); /* apply records it as web's seed */
	fx_free(f);
}

/* A volume that backs another on the host is not deleted from under it. */
static void test_backing_file_of_an_overlay_is_not_deleted(void **state)
{
	(void)state;
	fx *f = fx_new();
	live_pool(f, "images", "/srv/images", false);
	live_pool(f, "other", "/srv/other", false);
	vf_obs_volume *base = live_vol(f, "images", "base.qcow2", 1ull << 30, true);
	set_policy(f, VF_KIND_VOLUME, "images", "base.qcow2", VF_DELETION_DELETE);
	char *bpath = vf_strdup(base->path);
	live_vol(f, "other", "clone.qcow2", 1ull << 30, false)->backing_path = bpath;
	expect_plan(f, "! Volume/images/base.qcow2: no longer declared (deletionPolicy Delete), but Volume other/clone.qcow2 (/srv/other/clone.qcow2) is an overlay backed by base.qcow2; deleting base.qcow2 would break it\n"
		       "\nPlan: 0 to create, 0 to update, 0 to remove, 1 blocked.\n");
	fx_free(f);

	/* --replace of the base, and deleting its pool, are blocked the same way */
	f = fx_new();
	add_pool(f, "images", "/srv/new", "p.yaml", 1);
	live_pool(f, "images", "/srv/images", true);
	live_pool(f, "other", "/srv/other", false);
	add_vol(f, "images", "base.qcow2", 1ull << 30, "v.yaml", 1)->u.volume.deletion = VF_DELETION_DELETE;
	base = live_vol(f, "images", "base.qcow2", 1ull << 30, true);
	set_policy(f, VF_KIND_VOLUME, "images", "base.qcow2", VF_DELETION_DELETE);
	bpath = vf_strdup(base->path);
	live_vol(f, "other", "clone.qcow2", 1ull << 30, false)->backing_path = bpath;
	f->replace[f->n_replace++] = "StoragePool/images";
	assert_int_equal(build(f), 0);
	assert_int_equal(f->plan.steps[0].action, VF_ACT_BLOCKED);
	assert_string_equal(f->plan.steps[0].reason,
			    "replace (--replace StoragePool/images) blocked: Volume other/clone.qcow2 (/srv/other/clone.qcow2) is an overlay backed by base.qcow2; deleting base.qcow2 would break it");
	fx_free(f);

	/* an overlay deleted by the same plan goes first, then its base */
	f = fx_new();
	live_pool(f, "images", "/srv/images", false);
	base = live_vol(f, "images", "base.qcow2", 1ull << 30, true);
	set_policy(f, VF_KIND_VOLUME, "images", "base.qcow2", VF_DELETION_DELETE);
	bpath = vf_strdup(base->path);
	live_vol(f, "images", "top.qcow2", 1ull << 30, true)->backing_path = bpath;
	set_policy(f, VF_KIND_VOLUME, "images", "top.qcow2", VF_DELETION_DELETE);
	expect_plan(f, "- Volume/images/top.qcow2: no longer declared; delete it and its data (deletionPolicy Delete)\n"
		       "- Volume/images/base.qcow2: no longer declared; delete it and its data (deletionPolicy Delete)\n"
		       "\nPlan: 0 to create, 0 to update, 2 to remove, 0 blocked.\n");
	fx_free(f);
}

/* --replace Volume never pulls a disk from under a running or paused
 * guest, lockd or not. */
static void test_replace_volume_blocked_while_a_guest_runs(void **state)
{
	(void)state;
	for (int st = 0; st < 3; st++) {
		fx *f = fx_new();
		dc_volume_replace_allowed(f);
		vf_run_state states[] = { VF_RUN_RUNNING, VF_RUN_PAUSED, VF_RUN_SHUTOFF };
		vf_obs_domain *d = live_dom(f, "web", states[st], false);
		d->state_name = vf_strdup(st == 0 ? "running" : st == 1 ? "paused" : "shutoff");
		live_disk(d, VF_OBS_DISK_FILE, "/srv/images/root", NULL, "vda"); /* by path */
		assert_int_equal(build(f), 0);
		const vf_step *s = &f->plan.steps[0];
		if (st < 2) {
			assert_int_equal(s->action, VF_ACT_BLOCKED);
			_cleanup_free_ char *want = vf_asprintf(
				"replace (--replace Volume/images/root) blocked: Domain \"web\" is %s and uses it; stop it first",
				d->state_name);
			assert_string_equal(s->reason, want);
			assert_int_equal(s->n_ops, 0);
		} else {
			assert_int_equal(s->action, VF_ACT_UPDATE);
		}
		fx_free(f);
	}
}

/* A mistyped --replace is refused before anything is observed: ignored, it
 * would leave the user believing the replacement they asked for happened. */
static void test_replace_must_name_a_declared_object(void **state)
{
	(void)state;
	fx *f = fx_new();
	add_pool(f, "images", "/srv/images", "a.yaml", 1);
	add_vol(f, "images", "root", 1 << 20, "a.yaml", 10);
	add_dom(f, "web", "a.yaml", 20);
	const char *good[] = { "StoragePool/images", "Volume/images/root", "Domain/web" };
	vf_plan_opts opts = { .replace = good, .n_replace = 3 };
	vf_error err = { 0 };
	assert_int_equal(vf_plan_check_replace(&f->d, &opts, &err), 0);
	/* a known one first, then the unknown one: the unknown is named */
	const char *bad[][2] = { { "Domain/web", "Volume/root" }, { "Domain/web", "Domain/wbe" } };
	for (size_t i = 0; i < 2; i++) {
		opts = (vf_plan_opts){ .replace = bad[i], .n_replace = 2 };
		assert_int_equal(vf_plan_check_replace(&f->d, &opts, &err), -VF_E_USAGE);
		_cleanup_free_ char *want = vf_asprintf(
			"--replace %s: the manifests declare no such object; nothing was changed", bad[i][1]);
		assert_string_equal(err.message, want);
		vf_error_clear(&err);
	}
	fx_free(f);
}

static void test_removals_follow_deletion_policy(void **state)
{
	(void)state;
	fx *f = fx_new();
	live_pool(f, "keep", "/srv/keep", true);
	live_pool(f, "scratch", "/srv/scratch", true);
	set_policy(f, VF_KIND_POOL, NULL, "scratch", VF_DELETION_DELETE);
	live_vol(f, "keep", "data", 1ull << 30, true);
	set_policy(f, VF_KIND_VOLUME, "keep", "data", VF_DELETION_RETAIN);
	live_vol(f, "scratch", "tmp", 1ull << 30, true);
	set_policy(f, VF_KIND_VOLUME, "scratch", "tmp", VF_DELETION_DELETE);
	vf_obs_domain *d = live_dom(f, "old", VF_RUN_RUNNING, true);
	live_disk(d, VF_OBS_DISK_VOLUME, "scratch", "tmp", "vda");
	uuid_t u;
	vf_uuid_derive(VF_KIND_DOMAIN, NULL, "ghost", u);
	vf_ledger_put(&f->l, VF_KIND_DOMAIN, NULL, "ghost", u);
	live_dom(f, "stranger", VF_RUN_RUNNING, false); /* not ours: never touched */

	expect_plan(f, "= Domain/ghost: already gone from the host\n"
		       "- Domain/old: no longer declared; shut down and undefine\n"
		       "= Volume/keep/data: no longer declared, retained (deletionPolicy Retain)\n"
		       "- Volume/scratch/tmp: no longer declared; delete it and its data (deletionPolicy Delete)\n"
		       "= StoragePool/keep: no longer declared, retained (deletionPolicy Retain)\n"
		       "- StoragePool/scratch: no longer declared; delete it with its volumes and target (deletionPolicy Delete)\n"
		       "\nPlan: 0 to create, 0 to update, 3 to remove, 0 blocked, 3 to forget.\n");
	EXPECT_OPS(&f->plan.steps[0], VF_OP_LEDGER_DROP);
	EXPECT_OPS(&f->plan.steps[1], VF_OP_DOMAIN_SHUTDOWN, VF_OP_DOMAIN_UNDEFINE, VF_OP_LEDGER_DROP);
	EXPECT_OPS(&f->plan.steps[2], VF_OP_LEDGER_DROP);
	EXPECT_OPS(&f->plan.steps[3], VF_OP_VOLUME_DELETE, VF_OP_LEDGER_DROP);
	EXPECT_OPS(&f->plan.steps[5], VF_OP_POOL_UNDEFINE, VF_OP_LEDGER_DROP);
	assert_true(f->plan.steps[5].ops[0].flag);
	assert_int_equal(f->plan.counts[VF_ACT_RETAIN], 3);
	fx_free(f);
}

/* A removed volume that backs another removed one goes after it, however
 * the names sort: top, then middle, then base. */
static void test_removed_backing_chain_goes_top_first(void **state)
{
	(void)state;
	fx *f = fx_new();
	live_pool(f, "p", "/srv/p", false);
	live_vol(f, "p", "a-base", 1ull << 30, true);
	live_vol(f, "p", "b-mid", 1ull << 30, true);
	live_vol(f, "p", "c-top", 1ull << 30, true);
	vf_obs_volume *v = f->o.volumes; /* live_vol moves the array: index it now */
	v[1].backing_path = vf_strdup(v[0].path);
	v[2].backing_path = vf_strdup(v[1].path);
	set_policy(f, VF_KIND_VOLUME, "p", "a-base", VF_DELETION_DELETE);
	set_policy(f, VF_KIND_VOLUME, "p", "b-mid", VF_DELETION_DELETE);
	set_policy(f, VF_KIND_VOLUME, "p", "c-top", VF_DELETION_DELETE);
	expect_plan(f, "- Volume/p/c-top: no longer declared; delete it and its data (deletionPolicy Delete)\n"
		       "- Volume/p/b-mid: no longer declared; delete it and its data (deletionPolicy Delete)\n"
		       "- Volume/p/a-base: no longer declared; delete it and its data (deletionPolicy Delete)\n"
		       "\nPlan: 0 to create, 0 to update, 3 to remove, 0 blocked.\n");
	fx_free(f);
}

static void test_deleting_a_volume_in_use_is_blocked(void **state)
{
	(void)state;
	fx *f = fx_new();
	live_pool(f, "images", "/srv/images", true);
	add_pool(f, "images", "/srv/images", "p.yaml", 1);
	live_vol(f, "images", "root", 1ull << 30, true);
	set_policy(f, VF_KIND_VOLUME, "images", "root", VF_DELETION_DELETE);
	dom_disk_vol(f, add_dom(f, "web", "d.yaml", 1), "images", "root", 9);
	live_disk(live_dom(f, "web", VF_RUN_RUNNING, true), VF_OBS_DISK_VOLUME, "images", "root",
		  "vda");
	expect_plan(f, "! Volume/images/root: no longer declared (deletionPolicy Delete), but Domain \"web\" still uses it; deleting it would destroy that domain's disk\n"
		       "\nPlan: 0 to create, 0 to update, 0 to remove, 1 blocked.\n");
	assert_int_equal(f->plan.steps[0].n_ops, 0);
	fx_free(f);
}

static void hold(vf_lease *l, pid_t pid, bool shared)
{
	*l = (vf_lease){ .held = true, .pid = pid, .shared = shared,
			 .command = vf_strdup("/usr/sbin/virtlockd"),
			 .lockspace = vf_strdup("direct") };
}

static void test_leased_volume_is_not_deleted(void **state)
{
	(void)state;
	fx *f = fx_new();
	live_pool(f, "images", "/srv/images", true);
	add_pool(f, "images", "/srv/images", "p.yaml", 1);
	vf_obs_volume *v = live_vol(f, "images", "old", 1ull << 30, true);
	set_policy(f, VF_KIND_VOLUME, "images", "old", VF_DELETION_DELETE);
	/* another host's domain holds it on shared storage: no local user */
	hold(&v->lease, 4242, false);
	expect_plan(f, "! Volume/images/old: cannot delete: /srv/images/old is leased by pid 4242 (/usr/sbin/virtlockd) (a running domain uses it); stop that domain first\n"
		       "\nPlan: 0 to create, 0 to update, 0 to remove, 1 blocked.\n"
		       "\nLeases held (1):\n"
		       "    Volume/images/old: /srv/images/old by pid 4242 (/usr/sbin/virtlockd), exclusive, lockspace direct\n");
	assert_int_equal(f->plan.steps[0].n_ops, 0);
	assert_int_equal(f->plan.counts[VF_ACT_REMOVE], 0);
	assert_int_equal(f->plan.n_leases, 1);
	assert_string_equal(f->plan.leases[0].object, "Volume/images/old");
	assert_string_equal(f->plan.leases[0].path, "/srv/images/old");
	assert_int_equal(f->plan.leases[0].pid, 4242);
	fx_free(f);
}

/* Text shows five leases and counts the rest; JSON has every one, with
 * the file actually locked. */
static void test_leases_listed_in_text_and_json(void **state)
{
	(void)state;
	fx *f = fx_new();
	live_pool(f, "images", "/srv/images", true);
	add_pool(f, "images", "/srv/images", "p.yaml", 1);
	for (int i = 0; i < 7; i++) {
		_cleanup_free_ char *name = vf_asprintf("v%d", i);
		live_vol(f, "images", name, 1ull << 30, true);
		add_vol(f, "images", name, 1ull << 30, "v.yaml", i + 1);
	}
	for (size_t i = 0; i < f->o.n_volumes; i++) {
		hold(&f->o.volumes[i].lease, 900 + (pid_t)i, i == 6);
		f->o.volumes[i].lease.lock_path = vf_asprintf("/var/lib/libvirt/lockd/files/h%zu", i);
		free(f->o.volumes[i].lease.lockspace);
		f->o.volumes[i].lease.lockspace = vf_strdup("/var/lib/libvirt/lockd/files");
	}
	expect_plan(f, "No changes. The host matches the manifests.\n"
		       "\nLeases held (7):\n"
		       "    Volume/images/v0: /srv/images/v0 by pid 900 (/usr/sbin/virtlockd), exclusive, lockspace /var/lib/libvirt/lockd/files\n"
		       "    Volume/images/v1: /srv/images/v1 by pid 901 (/usr/sbin/virtlockd), exclusive, lockspace /var/lib/libvirt/lockd/files\n"
		       "    Volume/images/v2: /srv/images/v2 by pid 902 (/usr/sbin/virtlockd), exclusive, lockspace /var/lib/libvirt/lockd/files\n"
		       "    Volume/images/v3: /srv/images/v3 by pid 903 (/usr/sbin/virtlockd), exclusive, lockspace /var/lib/libvirt/lockd/files\n"
		       "    Volume/images/v4: /srv/images/v4 by pid 904 (/usr/sbin/virtlockd), exclusive, lockspace /var/lib/libvirt/lockd/files\n"
		       "    ... and 2 more; virtform plan --json lists them all.\n");
	_cleanup_free_ char *json = vf_plan_to_json(&f->plan, NULL);
	assert_non_null(strstr(json, "\"lockFile\":\"/var/lib/libvirt/lockd/files/h6\""));
	assert_non_null(strstr(json, "\"shared\":true"));
	fx_free(f);
}

static void test_free_volume_ops_carry_the_path_to_lock(void **state)
{
	(void)state;
	fx *f = fx_new();
	live_pool(f, "images", "/srv/images", true);
	add_pool(f, "images", "/srv/images", "p.yaml", 1);
	live_vol(f, "images", "old", 1ull << 30, true);
	set_policy(f, VF_KIND_VOLUME, "images", "old", VF_DELETION_DELETE);
	assert_int_equal(build(f), 0);
	assert_int_equal(f->plan.counts[VF_ACT_REMOVE], 1);
	EXPECT_OPS(&f->plan.steps[0], VF_OP_VOLUME_DELETE, VF_OP_LEDGER_DROP);
	assert_string_equal(f->plan.steps[0].ops[0].path, "/srv/images/old");
	assert_int_equal(f->plan.n_leases, 0);
	fx_free(f);
}

static void test_start_blocked_by_someone_elses_lease(void **state)
{
	(void)state;
	fx *f = fx_new();
	live_pool(f, "images", "/srv/images", true);
	add_pool(f, "images", "/srv/images", "p.yaml", 1);
	live_vol(f, "images", "root", 1ull << 30, true);
	add_vol(f, "images", "root", 1ull << 30, "v.yaml", 1);
	vf_object *web = add_dom(f, "web", "d.yaml", 1);
	dom_disk_vol(f, web, "images", "root", 9);
	live_dom(f, "web", VF_RUN_SHUTOFF, true);
	hold(&f->o.volumes[0].lease, 77, false);
	assert_int_equal(build(f), 0);
	assert_int_equal(f->plan.n, 1);
	const vf_step *s = &f->plan.steps[0];
	assert_int_equal(s->action, VF_ACT_BLOCKED);
	assert_string_equal(s->name, "web");
	assert_non_null(strstr(s->reason, "disk /srv/images/root is leased by pid 77"));
	assert_int_equal(s->n_ops, 0);

	/* a shared lease does not block a shareable disk */
	vf_plan_free(&f->plan);
	f->d.objs[f->d.n - 1].u.domain.disks[0].shareable = true;
	f->o.volumes[0].lease.shared = true;
	assert_int_equal(build(f), 0);
	assert_int_equal(f->plan.steps[0].action, VF_ACT_UPDATE);
	/* the live definition lacks the disk, so it is redefined, then started */
	EXPECT_OPS(&f->plan.steps[0], VF_OP_DOMAIN_DEFINE, VF_OP_DOMAIN_START);
	fx_free(f);
}

/* ---- raw xml and json ----------------------------------------------------- */

static void test_xmldiff_ignores_libvirt_additions(void **state)
{
	(void)state;
	vf_xmldiff_list l = { 0 };
	const char *ignore[] = { "/domain/uuid" };
	assert_int_equal(vf_xmldiff_subset(
				 "<domain><uuid>1</uuid><memory>524288</memory><devices><disk><target dev='vdb'/></disk><disk><target dev='vda'/></disk></devices></domain>",
				 "<domain><uuid>2</uuid><memory unit='KiB'>524288</memory><devices><disk><target dev='vda' bus='virtio'/></disk><disk><target dev='vdb'/></disk><controller/></devices></domain>",
				 ignore, 1, &l, NULL),
			 0);
	assert_int_equal(l.n, 0);
	/* a missing element is reported with where it would go */
	assert_int_equal(vf_xmldiff_subset("<domain><devices><tpm model='tpm-crb'/></devices></domain>",
					   "<domain><devices/></domain>", NULL, 0, &l, NULL),
			 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.items[0].path, "/domain/devices/tpm");
	assert_null(l.items[0].old_value);
	assert_string_equal(l.items[0].new_value, "<tpm>");
	vf_xmldiff_list_free(&l);
	vf_error err = { 0 };
	assert_int_equal(vf_xmldiff_subset("<domain", "<domain/>", NULL, 0, &l, &err), -VF_E_SCHEMA);
	vf_error_clear(&err);
}

static json_object *jget(json_object *o, const char *key)
{
	json_object *v = NULL;
	if (!json_object_object_get_ex(o, key, &v))
		fail_msg("JSON has no \"%s\"", key);
	return v;
}

static void test_json_output(void **state)
{
	(void)state;
	fx *f = fx_new();
	dc_volume_shrink_blocked(f);
	add_dom(f, "web", "d.yaml", 1);
	assert_int_equal(build(f), 0);
	_cleanup_free_ char *text = vf_plan_to_json(&f->plan, NULL);
	json_object *j = json_tokener_parse(text);
	assert_non_null(j);
	assert_string_equal(json_object_get_string(jget(j, "format_version")), "1");
	assert_true(json_object_get_boolean(jget(j, "changes")));
	json_object *steps = jget(j, "steps");
	assert_int_equal(json_object_array_length(steps), 2);
	json_object *s0 = json_object_array_get_idx(steps, 0);
	assert_string_equal(json_object_get_string(jget(s0, "action")), "blocked");
	assert_string_equal(json_object_get_string(jget(s0, "kind")), "Volume");
	assert_string_equal(json_object_get_string(jget(s0, "pool")), "images");
	assert_string_equal(json_object_get_string(jget(s0, "file")), "v.yaml");
	assert_int_equal(json_object_get_int(jget(s0, "line")), 1);
	json_object *c0 = json_object_array_get_idx(jget(s0, "changes"), 0);
	assert_string_equal(json_object_get_string(jget(c0, "field")), "spec.capacity");
	assert_string_equal(json_object_get_string(jget(c0, "old")), "20GiB");
	assert_string_equal(json_object_get_string(jget(c0, "new")), "10GiB");
	assert_string_equal(json_object_get_string(jget(c0, "effect")), "replace");
	json_object *sum = jget(j, "summary");
	assert_int_equal(json_object_get_int(jget(sum, "create")), 1);
	assert_int_equal(json_object_get_int(jget(sum, "blocked")), 1);
	assert_int_equal(json_object_array_length(jget(j, "conflicts")), 0);
	json_object_put(j);
	fx_free(f);

	/* a rejected plan: no plan, every conflict with both sides */
	f = fx_new();
	cc_same_target_path(f);
	assert_int_equal(build(f), -VF_E_CONFLICT);
	_cleanup_free_ char *t2 = vf_plan_to_json(NULL, &f->conflicts);
	j = json_tokener_parse(t2);
	assert_non_null(j);
	assert_false(json_object_get_boolean(jget(j, "changes")));
	json_object *c = json_object_array_get_idx(jget(j, "conflicts"), 0);
	assert_string_equal(json_object_get_string(jget(c, "code")), "conflict");
	assert_string_equal(json_object_get_string(jget(c, "file")), "a.yaml");
	assert_int_equal(json_object_get_int(jget(c, "line")), 15);
	assert_int_equal(json_object_get_int(jget(c, "col")), 3);
	assert_string_equal(json_object_get_string(jget(c, "other_file")), "b.yaml");
	assert_int_equal(json_object_get_int(jget(c, "other_line")), 6);
	json_object_put(j);
	fx_free(f);
}

static void test_color_only_when_asked(void **state)
{
	(void)state;
	fx *f = fx_new();
	add_dom(f, "web", "d.yaml", 1);
	assert_int_equal(build(f), 0);
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	vf_plan_print_text(m, &f->plan, true);
	fclose(m);
	assert_non_null(strstr(buf, "\033[32m+ Domain/web\033[0m: "));
	free(buf);
	_cleanup_free_ char *plain = plan_text(&f->plan);
	assert_null(strchr(plain, '\033'));
	fx_free(f);
}

/* ---- placement (rule 16, docs/fleet.md) ----------------------------------- */

/* Shared pool nfs with volume root, used only by placed domain web; and
 * db, not placed, on a local volume: planned as on any host throughout. */
static fx *placed_fx(void)
{
	fx *f = fx_new();
	add_pool(f, "nfs", "/srv/nfs", "pool.yaml", 1)->u.pool.shared = true;
	add_pool(f, "local", "/srv/local", "pool.yaml", 20);
	add_vol(f, "nfs", "root", 10ull << 30, "vol.yaml", 1);
	add_vol(f, "local", "db", 10ull << 30, "vol.yaml", 20);
	vf_object *web = add_dom(f, "web", "web.yaml", 1);
	web->u.domain.placed = true;
	web->u.domain.placement_pos = at(f, "web.yaml", 6);
	dom_disk_vol(f, web, "nfs", "root", 12);
	dom_disk_vol(f, add_dom(f, "db", "db.yaml", 1), "local", "db", 12);
	return f;
}

static const vf_step *step_of(const fx *f, vf_kind kind, const char *name)
{
	for (size_t i = 0; i < f->plan.n; i++)
		if (f->plan.steps[i].kind == kind && vf_streq(f->plan.steps[i].name, name))
			return &f->plan.steps[i];
	return NULL;
}

/* The placed_for of s's first op of `type`; "-" when it has none, "none"
 * when s has no such op. */
static const char *placed_for(const vf_step *s, vf_op_type type)
{
	for (size_t i = 0; s && i < s->n_ops; i++)
		if (s->ops[i].type == type)
			return s->ops[i].placed_for ? s->ops[i].placed_for : "-";
	return "none";
}

static void test_placed_without_fleet_is_never_acted_on(void **state)
{
	(void)state;
	fx *f = placed_fx();
	assert_int_equal(build(f), 0);
	const vf_step *web = step_of(f, VF_KIND_DOMAIN, "web");
	const vf_step *root = step_of(f, VF_KIND_VOLUME, "root");
	assert_int_equal(web->action, VF_ACT_BLOCKED);
	assert_int_equal(web->n_ops, 0);
	assert_string_equal(web->reason,
			    "placed (spec.placement): only `virtform watch --etcd` runs it, on the host holding its lease");
	assert_int_equal(root->action, VF_ACT_BLOCKED);
	assert_int_equal(root->n_ops, 0);
	/* db and its volume are not placed: created as on any host */
	assert_int_equal(step_of(f, VF_KIND_DOMAIN, "db")->action, VF_ACT_CREATE);
	assert_string_equal(placed_for(step_of(f, VF_KIND_DOMAIN, "db"), VF_OP_DOMAIN_START), "-");
	assert_int_equal(step_of(f, VF_KIND_VOLUME, "db")->action, VF_ACT_CREATE);
	assert_int_equal(f->plan.counts[VF_ACT_BLOCKED], 2);
	fx_free(f);
}

static void test_placed_and_held_starts_fenced(void **state)
{
	(void)state;
	fx *f = placed_fx();
	const char *held[] = { "web" };
	char web_s[] = "web", host_s[] = "host-a";
	vf_kv holders[] = { { web_s, host_s } };
	vf_fleet_view fleet = { .host_id = "host-a", .held = held, .n_held = 1, .holders = holders,
				.n_holders = 1 };
	f->fleet = &fleet;
	assert_int_equal(build(f), 0);
	const vf_step *web = step_of(f, VF_KIND_DOMAIN, "web");
	assert_int_equal(web->action, VF_ACT_CREATE);
	assert_string_equal(web->reason,
			    "define with 1 vCPU and 512MiB, then start it (placed here: host-a holds the lease)");
	EXPECT_OPS(web, VF_OP_LEDGER_PUT, VF_OP_DOMAIN_DEFINE, VF_OP_DOMAIN_START);
	assert_string_equal(placed_for(web, VF_OP_DOMAIN_START), "web");
	assert_string_equal(placed_for(web, VF_OP_DOMAIN_DEFINE), "-");
	/* its volume in the shared pool is claimed in etcd before it is made */
	assert_string_equal(placed_for(step_of(f, VF_KIND_VOLUME, "root"), VF_OP_VOLUME_CREATE), "web");
	assert_string_equal(placed_for(step_of(f, VF_KIND_VOLUME, "db"), VF_OP_VOLUME_CREATE), "-");
	assert_string_equal(placed_for(step_of(f, VF_KIND_DOMAIN, "db"), VF_OP_DOMAIN_START), "-");
	fx_free(f);
}

static void test_placed_elsewhere_is_forced_off_here(void **state)
{
	(void)state;
	static const vf_run_state states[] = { VF_RUN_RUNNING, VF_RUN_PAUSED, VF_RUN_SHUTOFF };
	for (size_t i = 0; i < VF_ARRAY_SIZE(states); i++) {
		fx *f = placed_fx();
		live_pool(f, "nfs", "/srv/nfs", true);
		live_vol(f, "nfs", "root", 10ull << 30, false); /* host-b made it */
		live_disk(live_dom(f, "web", states[i], true), VF_OBS_DISK_VOLUME, "nfs", "root", "vda");
		char web_s[] = "web", host_s[] = "host-b";
		vf_kv holders[] = { { web_s, host_s } };
		vf_fleet_view fleet = { .host_id = "host-a", .holders = holders, .n_holders = 1 };
		f->fleet = &fleet;
		assert_int_equal(build(f), 0);
		const vf_step *web = step_of(f, VF_KIND_DOMAIN, "web");
		if (states[i] == VF_RUN_SHUTOFF) {
			assert_null(web); /* a copy that does not run: left as it is */
		} else {
			assert_int_equal(web->action, VF_ACT_UPDATE);
			assert_string_equal(web->reason, "placed on host-b (it holds the lease): force off here");
			EXPECT_OPS(web, VF_OP_DOMAIN_DESTROY);
		}
		/* host-b's volume: not created, adopted or called foreign here */
		assert_null(step_of(f, VF_KIND_VOLUME, "root"));
		fx_free(f);
	}
}

static void test_placed_disks_must_be_shared(void **state)
{
	(void)state;
	fx *f = placed_fx();
	add_vol(f, "local", "scratch", 1ull << 30, "vol.yaml", 40);
	vf_object *web = &f->d.objs[4];
	assert_string_equal(web->name, "web");
	dom_disk_vol(f, web, "local", "scratch", 13);
	dom_disk_path(f, web, "/srv/nfs/iso/boot.iso", 14)->device = VF_DISK_DEVICE_CDROM;
	dom_disk_path(f, web, "/srv/nfs2/x.img", 15);
	expect_conflicts(f,
			 "web.yaml:13: Domain \"web\" is placed (spec.placement), but spec.disks[1] uses volume \"scratch\" in pool \"local\", which is not shared: the other hosts of the fleet could not reach it; move the volume to a pool with spec.shared: true, or set shared: true on pool \"local\" if every host sees the same storage there [pool.yaml:22]\n"
			 "web.yaml:15: Domain \"web\" is placed (spec.placement), but spec.disks[3] uses the path /srv/nfs2/x.img, which is below no shared pool's target path: the other hosts of the fleet could not reach it; use a volume of a pool with spec.shared: true, or a path below such a pool's target\n");
	fx_free(f);
}

/* Find declared object kind/name (pointers into f->d move as it grows). */
static vf_object *obj_of(fx *f, vf_kind kind, const char *name)
{
	for (size_t i = 0; i < f->d.n; i++)
		if (f->d.objs[i].kind == kind && vf_streq(f->d.objs[i].name, name))
			return &f->d.objs[i];
	return NULL;
}

/* placed_fx, with root an overlay on nfs/base, itself a clone of
 * nfs/golden; and nfs/common the base of db's volume (db is unplaced). */
static fx *placed_bases_fx(void)
{
	fx *f = placed_fx();
	add_vol(f, "nfs", "base", 2ull << 30, "vol.yaml", 40);
	add_vol(f, "nfs", "golden", 2ull << 30, "vol.yaml", 50);
	add_vol(f, "nfs", "common", 2ull << 30, "vol.yaml", 60);
	vf_volume_spec *root = &obj_of(f, VF_KIND_VOLUME, "root")->u.volume;
	root->has_backing = true;
	root->backing = (vf_volref){ vf_strdup("nfs"), vf_strdup("base"), at(f, "vol.yaml", 7) };
	vf_volume_spec *base = &obj_of(f, VF_KIND_VOLUME, "base")->u.volume;
	base->has_source = true;
	base->source.has_volume = true;
	base->source.volume = (vf_volref){ vf_strdup("nfs"), vf_strdup("golden"), at(f, "vol.yaml", 46) };
	vf_volume_spec *db = &obj_of(f, VF_KIND_VOLUME, "db")->u.volume;
	db->has_backing = true;
	db->backing = (vf_volref){ vf_strdup("nfs"), vf_strdup("common"), at(f, "vol.yaml", 27) };
	return f;
}

/* A base or a source a placed domain's volume is made from is the
 * domain's too: claimed for it when held, left alone when not, blocked
 * without a fleet; one an unplaced domain needs is any host's. */
static void test_placed_bases_follow_their_domain(void **state)
{
	(void)state;
	fx *f = placed_bases_fx();
	assert_int_equal(build(f), 0);
	assert_int_equal(step_of(f, VF_KIND_VOLUME, "base")->action, VF_ACT_BLOCKED);
	assert_int_equal(step_of(f, VF_KIND_VOLUME, "golden")->action, VF_ACT_BLOCKED);
	assert_string_equal(step_of(f, VF_KIND_VOLUME, "golden")->reason,
			    "used only by placed Domain/web (spec.placement) in shared pool \"nfs\": only `virtform watch --etcd` creates or changes it, on the host holding the domain's lease");
	assert_int_equal(step_of(f, VF_KIND_VOLUME, "common")->action, VF_ACT_CREATE);
	fx_free(f);

	f = placed_bases_fx();
	const char *held[] = { "web" };
	char web_s[] = "web", host_a[] = "host-a", host_b[] = "host-b";
	vf_kv holders[] = { { web_s, host_a } };
	vf_fleet_view fleet = { .host_id = "host-a", .held = held, .n_held = 1, .holders = holders,
				.n_holders = 1 };
	f->fleet = &fleet;
	assert_int_equal(build(f), 0);
	assert_string_equal(placed_for(step_of(f, VF_KIND_VOLUME, "golden"), VF_OP_VOLUME_CREATE), "web");
	assert_string_equal(placed_for(step_of(f, VF_KIND_VOLUME, "base"), VF_OP_VOLUME_CLONE), "web");
	assert_string_equal(placed_for(step_of(f, VF_KIND_VOLUME, "root"), VF_OP_VOLUME_CREATE), "web");
	assert_string_equal(placed_for(step_of(f, VF_KIND_VOLUME, "common"), VF_OP_VOLUME_CREATE), "-");
	fx_free(f);

	/* host-b holds web: nothing of its chain is planned here */
	f = placed_bases_fx();
	vf_kv elsewhere[] = { { web_s, host_b } };
	vf_fleet_view other = { .host_id = "host-a", .holders = elsewhere, .n_holders = 1 };
	f->fleet = &other;
	assert_int_equal(build(f), 0);
	assert_null(step_of(f, VF_KIND_VOLUME, "golden"));
	assert_null(step_of(f, VF_KIND_VOLUME, "base"));
	assert_null(step_of(f, VF_KIND_VOLUME, "root"));
	assert_int_equal(step_of(f, VF_KIND_VOLUME, "common")->action, VF_ACT_CREATE);
	fx_free(f);

	/* host-b is making golden still: base and root wait for it, and web */
	f = placed_bases_fx();
	vf_fleet_volume vols[] = { { "nfs", "golden", "host-b", "web", false } };
	fleet.volumes = vols;
	fleet.n_volumes = 1;
	f->fleet = &fleet;
	assert_int_equal(build(f), 0);
	assert_string_equal(step_of(f, VF_KIND_VOLUME, "base")->reason,
			    "waits for volume nfs/golden, being created by host host-b (fleet)");
	assert_string_equal(step_of(f, VF_KIND_VOLUME, "root")->reason,
			    "waits for volume nfs/golden, being created by host host-b (fleet)");
	assert_string_equal(step_of(f, VF_KIND_DOMAIN, "web")->reason,
			    "waits for volume nfs/golden, being created by host host-b (fleet)");
	assert_int_equal(f->plan.counts[VF_ACT_BLOCKED], 4);
	fx_free(f);
}

/* A placed domain's base in a pool not shared is a plan-time error. */
static void test_placed_bases_must_be_shared(void **state)
{
	(void)state;
	fx *f = placed_bases_fx();
	vf_volume_spec *golden = &obj_of(f, VF_KIND_VOLUME, "golden")->u.volume;
	free(golden->pool);
	golden->pool = vf_strdup("local");
	vf_volume_spec *base = &obj_of(f, VF_KIND_VOLUME, "base")->u.volume;
	free(base->source.volume.pool);
	base->source.volume.pool = vf_strdup("local");
	expect_conflicts(f,
			 "web.yaml:12: Domain \"web\" is placed (spec.placement), and spec.disks[0] needs volume \"golden\" in pool \"local\" (spec.source.volume of Volume \"base\"), which is not shared: the other hosts of the fleet could not reach it; move that volume to a pool with spec.shared: true, or set shared: true on pool \"local\" if every host sees the same storage there [vol.yaml:46]\n");
	fx_free(f);
}

/* A placed domain's seed is written by the lease holder, claimed in etcd
 * first; one a host of the fleet wrote is adopted as it is, and rewritten
 * (unclaimed: etcd has it) only once it is ours and its hash differs. */
/* placed_fx with a cloud-init seed for web; with `file`, the seed's file
 * is on the host (in the ledger when `ours`). */
static fx *placed_seed_fx(bool file, bool ours)
{
	fx *f = placed_fx();
	with_seed(obj_of(f, VF_KIND_DOMAIN, "web"), "nfs");
	if (file) {
		live_pool(f, "nfs", "/srv/nfs", true);
		live_vol(f, "nfs", "web-cidata.iso", 1 << 20, ours);
	}
	return f;
}

/* web as host-a defined it when it held it before, its seed's hash `hash`. */
static void placed_seed_live(fx *f, const char *hash)
{
	live_vol(f, "nfs", "root", 10ull << 30, true);
	vf_ledger_find(&f->l, VF_KIND_VOLUME, "nfs", "web-cidata.iso")->seed_of = vf_strdup("web");
	vf_obs_domain *d = live_dom(f, "web", VF_RUN_RUNNING, true);
	d->managed = true;
	d->seed_hash = vf_strdup(hash);
	live_disk(d, VF_OBS_DISK_VOLUME, "nfs", "root", "vda");
	vf_obs_disk *sd = live_disk(d, VF_OBS_DISK_VOLUME, "nfs", "web-cidata.iso", "sda");
	sd->device = VF_DISK_DEVICE_CDROM;
	sd->bus = VF_BUS_SCSI;
}

static void test_placed_seed_is_claimed_or_adopted(void **state)
{
	(void)state;
	const char *held[] = { "web" };
	char web_s[] = "web", host_a[] = "host-a";
	vf_kv holders[] = { { web_s, host_a } };
	vf_fleet_volume by_b[] = { { "nfs", "web-cidata.iso", "host-b", "web", true } };
	vf_fleet_view fleet = { .host_id = "host-a", .held = held, .n_held = 1, .holders = holders,
				.n_holders = 1 };

	/* nothing yet: written here, claimed first */
	fx *f = placed_seed_fx(false, false);
	f->fleet = &fleet;
	assert_int_equal(build(f), 0);
	const vf_step *web = step_of(f, VF_KIND_DOMAIN, "web");
	assert_int_equal(web->action, VF_ACT_CREATE);
	assert_string_equal(placed_for(web, VF_OP_SEED_WRITE), "web");
	fx_free(f);

	/* host-b wrote it (web failed over): adopted, not rewritten, no conflict */
	f = placed_seed_fx(true, false);
	fleet.volumes = by_b;
	fleet.n_volumes = 1;
	f->fleet = &fleet;
	assert_int_equal(build(f), 0);
	web = step_of(f, VF_KIND_DOMAIN, "web");
	assert_string_equal(web->reason,
			    "define with 1 vCPU and 512MiB and the cloud-init seed host host-b wrote (fleet), then start it (placed here: host-a holds the lease)");
	EXPECT_OPS(web, VF_OP_LEDGER_PUT, VF_OP_LEDGER_PUT, VF_OP_DOMAIN_DEFINE, VF_OP_DOMAIN_START);
	assert_int_equal(web->ops[1].kind, VF_KIND_VOLUME);
	assert_string_equal(web->ops[1].name, "web-cidata.iso");
	fx_free(f);

	/* ours here since, and the manifest's seed changed: rewritten, unclaimed */
	f = placed_seed_fx(true, true);
	placed_seed_live(f, "0000");
	f->fleet = &fleet;
	assert_int_equal(build(f), 0);
	assert_string_equal(placed_for(step_of(f, VF_KIND_DOMAIN, "web"), VF_OP_SEED_WRITE), "-");
	fx_free(f);

	/* ours, and the same hash: not rewritten */
	f = placed_seed_fx(true, true);
	char same[65] = { 0 };
	memset(same, 'a', 64); /* with_seed's hash */
	placed_seed_live(f, same);
	f->fleet = &fleet;
	assert_int_equal(build(f), 0);
	assert_string_equal(placed_for(step_of(f, VF_KIND_DOMAIN, "web"), VF_OP_SEED_WRITE), "none");
	fx_free(f);

	/* host-b is writing it still: web waits */
	f = placed_seed_fx(true, false);
	by_b[0].created = false;
	f->fleet = &fleet;
	assert_int_equal(build(f), 0);
	web = step_of(f, VF_KIND_DOMAIN, "web");
	assert_int_equal(web->action, VF_ACT_BLOCKED);
	assert_string_equal(web->reason,
			    "waits for volume nfs/web-cidata.iso, being created by host host-b (fleet)");
	fx_free(f);

	/* no fleet (plan): blocked, and the fleet's seed is no conflict */
	f = placed_seed_fx(true, false);
	assert_int_equal(build(f), 0);
	assert_int_equal(step_of(f, VF_KIND_DOMAIN, "web")->action, VF_ACT_BLOCKED);
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_plan),
		cmocka_unit_test(test_creates_in_dependency_order),
		cmocka_unit_test(test_create_inactive_pool_and_shutoff_domain_on_tcg_host),
		cmocka_unit_test(test_type_auto_resolves_from_the_host),
		cmocka_unit_test(test_type_the_host_does_not_offer_is_a_plan_error),
		cmocka_unit_test(test_conflict_table),
		cmocka_unit_test(test_conflict_identity_messages),
		cmocka_unit_test(test_every_conflict_reported_at_once),
		cmocka_unit_test(test_shareable_and_readonly_disks_do_not_conflict),
		cmocka_unit_test(test_adopt_takes_ownership_then_fixes_drift),
		cmocka_unit_test(test_managed_metadata_means_owned),
		cmocka_unit_test(test_drift_table),
		cmocka_unit_test(test_drift_ops),
		cmocka_unit_test(test_removals_follow_deletion_policy),
		cmocka_unit_test(test_pool_delete_keeps_what_is_not_owned),
		cmocka_unit_test(test_pool_delete_blocked_when_contents_unknown),
		cmocka_unit_test(test_inactive_pool_in_use_is_not_deleted),
		cmocka_unit_test(test_pool_replace_keeps_retained_and_foreign),
		cmocka_unit_test(test_unlisted_file_with_a_declared_name_conflicts),
		cmocka_unit_test(test_seeds_virtform_did_not_write_are_not_touched),
		cmocka_unit_test(test_backing_file_of_an_overlay_is_not_deleted),
		cmocka_unit_test(test_replace_volume_blocked_while_a_guest_runs),
		cmocka_unit_test(test_removed_backing_chain_goes_top_first),
		cmocka_unit_test(test_deleting_a_volume_in_use_is_blocked),
		cmocka_unit_test(test_leased_volume_is_not_deleted),
		cmocka_unit_test(test_leases_listed_in_text_and_json),
		cmocka_unit_test(test_free_volume_ops_carry_the_path_to_lock),
		cmocka_unit_test(test_start_blocked_by_someone_elses_lease),
		cmocka_unit_test(test_xmldiff_ignores_libvirt_additions),
		cmocka_unit_test(test_replace_must_name_a_declared_object),
		cmocka_unit_test(test_json_output),
		cmocka_unit_test(test_color_only_when_asked),
		cmocka_unit_test(test_placed_without_fleet_is_never_acted_on),
		cmocka_unit_test(test_placed_and_held_starts_fenced),
		cmocka_unit_test(test_placed_elsewhere_is_forced_off_here),
		cmocka_unit_test(test_placed_disks_must_be_shared),
		cmocka_unit_test(test_placed_bases_follow_their_domain),
		cmocka_unit_test(test_placed_bases_must_be_shared),
		cmocka_unit_test(test_placed_seed_is_claimed_or_adopted),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
