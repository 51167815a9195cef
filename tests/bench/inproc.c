/* inproc.c: the test:///default benchmark. That driver keeps its state in
 * the process that opened it (and drops it when the last connection
 * closes), so everything is timed here, in one process: virtform's library
 * calls (vf_manifest_load, the driver's observe, vf_ledger_load +
 * vf_plan_build, vf_reconcile) against the floor (floor.h) on a fresh
 * test:///default each repetition. Prints markdown table rows like vfbench.
 *
 *   inproc -n N -r REPS -w WORKDIR [-X]
 *
 * -X: only the spec.xml-against-structured figures (issue 12's bound).
 * Environment, for a shared machine: VFB_CPU=1 times process CPU instead of
 * wall time (bench.h), VFB_PHASES=1 prints load/observe/plan of each -X plan.
 *
 * Not for the real daemon: vfbench.c times the CLI there. */
#include <getopt.h>
#include <sys/stat.h>
#include <sys/resource.h>
#include <unistd.h>

#include "controller/apply/reconcile.h"
#include "controller/state/records.h"
#include "floor.h"

static const char *uri = "test:///default";
static int n_dom = 100;

typedef struct figure {
	const char *name;
	vfb_series wall;
} figure;

/* One table row; per object divides by objs. */
static void row_per(const figure *v, const figure *fl, int objs)
{
	double med, mn, mx;
	vfb_stats(&v->wall, &med, &mn, &mx);
	char flo[64] = "", ratio[64] = "";
	if (fl) {
		double f = vfb_median(&fl->wall);
		snprintf(flo, sizeof(flo), "%.2f ms", f * 1e3);
		snprintf(ratio, sizeof(ratio), "%.2fx", med / f);
	}
	printf("| %s (in-process) | %d | %s | %.2f ms | %.2f ms | %.2f ms | %s | %s | %.2f µs | n/a |\n", uri,
	       n_dom, v->name, med * 1e3, mn * 1e3, mx * 1e3, flo, ratio, med / objs * 1e6);
	fflush(stdout);
}

static void row(const figure *v, const figure *fl)
{
	row_per(v, fl, 2 * n_dom + VFB_POOLS);
}

static void load(const char *dir, vf_desired *d)
{
	vf_diags diags = { 0 };
	const char *paths[] = { dir };
	if (vf_manifest_load(paths, 1, d, &diags) < 0)
		vfb_die("vf_manifest_load %s: %s", dir, diags.n ? diags.items[0].message : "?");
	vf_diags_free(&diags);
}

/* load + ledger + observe + plan; *load_s, *obs_s, *plan_s the parts. */
static double plan_pass(const vf_backend *be, vf_conn *c, const char *dir, const char *state,
			bool want_empty, double *load_s, double *obs_s, double *plan_s)
{
	vf_desired d = { 0 };
	vf_ledger ledger = { 0 };
	vf_observed o = { 0 };
	vf_plan plan = { 0 };
	vf_diags conflicts = { 0 };
	vf_plan_opts popts = { 0 };
	vf_error err = { 0 };
	double t0 = vfb_now();
	load(dir, &d);
	double t1 = vfb_now();
	if (be->hv->observe(c, &o, &err) < 0)
		vfb_die("observe: %s", err.message);
	double t2 = vfb_now();
	if (vf_ledger_load(state, &ledger, &err) < 0)
		vfb_die("vf_ledger_load: %s", err.message);
	vf_records_load(state, &d, &o);
	vf_records_pools(state, &d, &ledger, &o);
	if (vf_plan_build(&d, &o, &ledger, &popts, &plan, &conflicts) < 0)
		vfb_die("vf_plan_build rejected the plan (%zu conflicts)", conflicts.n);
	double t3 = vfb_now();
	if (vf_plan_empty(&plan) != want_empty)
		vfb_die("the plan is %s, expected %s", want_empty ? "not empty" : "empty",
			want_empty ? "empty" : "changes");
	vf_plan_free(&plan);
	vf_diags_free(&conflicts);
	vf_observed_free(&o);
	vf_ledger_free(&ledger);
	vf_desired_free(&d);
	*load_s = t1 - t0;
	*obs_s = t2 - t1;
	*plan_s = t3 - t2;
	return t3 - t0;
}

/* load + vf_reconcile; *load_s the load part. */
static double apply_pass(const vf_backend *be, vf_conn *c, const char *dir, const char *state,
			 size_t want_steps, double *load_s)
{
	vf_desired d = { 0 };
	vf_reconcile_opts opts = { .state_dir = state };
	vf_reconcile_result res = { 0 };
	double t0 = vfb_now();
	load(dir, &d);
	double t1 = vfb_now();
	if (vf_reconcile(be, c, &d, &opts, &res) < 0)
		vfb_die("vf_reconcile: %s", res.err.message);
	double t2 = vfb_now();
	if (!res.converged || res.plan.n != want_steps)
		vfb_die("vf_reconcile: %zu steps (expected %zu), converged %d", res.plan.n, want_steps,
			res.converged);
	vf_reconcile_result_free(&res);
	vf_desired_free(&d);
	*load_s = t1 - t0;
	return t2 - t0;
}

/* A connection to a fresh test:///default and a new state dir in `state`
 * (4096 bytes). */
static vf_conn *fresh(const vf_backend *be, const char *work, char *state)
{
	vf_conn *c = NULL;
	vf_error err = { 0 };
	if (be->hv->open(uri, NULL, &c, &err) < 0)
		vfb_die("open %s: %s", uri, err.message);
	snprintf(state, 4096, "%s/inproc-state-XXXXXX", work);
	if (!mkdtemp(state))
		vfb_die("mkdtemp: %s", strerror(errno));
	return c;
}

/* N domains alone (1 vCPU, 64 MiB, shut off, a serial console), written
 * structured or as spec.xml, into dir. */
static void gen_domains(const char *dir, bool xml)
{
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		vfb_die("cannot create %s: %s", dir, strerror(errno));
	for (int i = 0; i < n_dom; i++) {
		char file[64];
		VFB_FMT(file, "x%05d.yaml", i);
		FILE *f = vfb_fopen(dir, file);
		fprintf(f, "apiVersion: virtform/v1\nkind: Domain\nmetadata:\n  name: vfbench-x%05d\nspec:\n"
			   "  state: shutoff\n", i);
		if (xml)
			fprintf(f, "  xml: |\n    <domain type='test'>\n      <name>vfbench-x%05d</name>\n"
				   "      <memory unit='MiB'>64</memory>\n      <vcpu>1</vcpu>\n"
				   "      <os><type>hvm</type></os>\n      <features><acpi/><apic/></features>\n"
				   "      <devices>\n        <serial type='pty'><target port='0'/></serial>\n"
				   "        <console type='pty'><target type='serial' port='0'/></console>\n"
				   "      </devices>\n    </domain>\n", i);
		else
			fprintf(f, "  vcpus: 1\n  memory: 64MiB\n  graphics: {type: none}\n  serialConsole: true\n");
		fclose(f);
	}
}

/* Issue 12's bound: a no-op plan over N raw-XML domains (three-way, with
 * their records) against one over N structured ones, on fresh drivers. */
static void xml_vs_structured(const vf_backend *be, const char *work, int reps)
{
	figure fig[2] = { { .name = "virtform plan, no-op, domains only: structured" },
			  { .name = "virtform plan, no-op, domains only: spec.xml" } };
	char dirs[2][4096];
	for (int k = 0; k < 2; k++) {
		VFB_FMT(dirs[k], "%s/inproc-domains-%s-%d", work, k ? "xml" : "structured", n_dom);
		gen_domains(dirs[k], k == 1);
	}
	for (int i = 0; i < reps; i++) {
		for (int k = 0; k < 2; k++) {
			char state[4096];
			vf_conn *c = fresh(be, work, state);
			double l, o, p, ls;
			apply_pass(be, c, dirs[k], state, (size_t)n_dom, &ls);
			vfb_add(&fig[k].wall, plan_pass(be, c, dirs[k], state, true, &l, &o, &p));
			if (getenv("VFB_PHASES"))
				fprintf(stderr, "%s load %.1f observe %.1f plan %.1f\n", k ? "xml" : "str", l * 1e3, o * 1e3, p * 1e3);
			be->hv->close(c);
		}
	}
	row_per(&fig[0], NULL, n_dom);
	row_per(&fig[1], &fig[0], n_dom);
}

int main(int argc, char **argv)
{
	int opt, reps = 5;
	bool only_xml = false; /* -X: only the spec.xml-against-structured figures */
	const char *work = NULL;
	while ((opt = getopt(argc, argv, "n:r:w:X")) != -1) {
		switch (opt) {
		case 'X': only_xml = true; break;
		case 'n': n_dom = atoi(optarg); break;
		case 'r': reps = atoi(optarg); break;
		case 'w': work = optarg; break;
		default: vfb_die("usage: inproc -n N -r REPS -w WORKDIR [-X]");
		}
	}
	if (!work || n_dom < 1 || reps < 1 || reps > VFB_MAX_REPS)
		vfb_die("usage: inproc -n N -r REPS -w WORKDIR [-X]");
	virSetErrorFunc(NULL, vfb_quiet); /* errors are read through virGetLastError */
	if (only_xml) {
		xml_vs_structured(vf_backend_for_uri(uri), work, reps);
		return 0;
	}

	char dir[4096];
	VFB_FMT(dir, "%s/inproc-manifests-%d", work, n_dom);
	vfb_gen(dir, "vfbench-", n_dom, "/vfbench-test-driver-images", false); /* test driver: no files */
	vfb_payload payload = { 0 };
	vfb_payload_build(dir, "test", &payload);
	const vf_backend *be = vf_backend_for_uri(uri);
	size_t all_steps = (size_t)(2 * n_dom + VFB_POOLS);

	figure f_cold = { .name = "floor: observe, empty host" },
	       f_apply = { .name = "floor: converge from empty" },
	       f_noop = { .name = "floor: observe, converged host" };
	figure v_cold = { .name = "virtform plan, cold" }, v_apply = { .name = "virtform apply, from empty" },
	       v_nplan = { .name = "virtform plan, no-op" }, v_napply = { .name = "virtform apply, no-op" };
	figure p_load = { .name = "  no-op plan: vf_manifest_load" },
	       p_obs = { .name = "  no-op plan: observe" },
	       p_plan = { .name = "  no-op plan: vf_ledger_load + vf_plan_build" },
	       a_load = { .name = "  apply from empty: vf_manifest_load" },
	       a_rec = { .name = "  apply from empty: vf_reconcile" };

	for (int i = 0; i < reps; i++) {
		/* The floor, on a fresh test:///default. */
		virConnectPtr fc = virConnectOpen(uri);
		if (!fc)
			vfb__lv_die("connect to", uri);
		double t0 = vfb_now();
		vfb_floor_observe(fc);
		double t1 = vfb_now();
		vfb_floor_apply(fc, &payload);
		double t2 = vfb_now();
		vfb_floor_observe(fc);
		double t3 = vfb_now();
		vfb_add(&f_cold.wall, t1 - t0);
		vfb_add(&f_apply.wall, t2 - t1);
		vfb_add(&f_noop.wall, t3 - t2);
		virConnectClose(fc); /* the last connection: the driver drops its state */

		/* virtform, on another fresh test:///default. */
		char state[4096];
		vf_conn *c = fresh(be, work, state);
		double l, o, p, ls;
		vfb_add(&v_cold.wall, plan_pass(be, c, dir, state, false, &l, &o, &p));
		vfb_add(&v_apply.wall, apply_pass(be, c, dir, state, all_steps, &ls));
		vfb_add(&a_load.wall, ls);
		vfb_add(&a_rec.wall, v_apply.wall.v[v_apply.wall.n - 1] - ls);
		vfb_add(&v_nplan.wall, plan_pass(be, c, dir, state, true, &l, &o, &p));
		vfb_add(&p_load.wall, l);
		vfb_add(&p_obs.wall, o);
		vfb_add(&p_plan.wall, p);
		vfb_add(&v_napply.wall, apply_pass(be, c, dir, state, 0, &ls));
		be->hv->close(c);
	}
	row(&f_cold, NULL);
	row(&v_cold, &f_cold);
	row(&f_apply, NULL);
	row(&v_apply, &f_apply);
	row(&a_load, NULL);
	row(&a_rec, NULL);
	row(&f_noop, NULL);
	row(&v_nplan, &f_noop);
	row(&p_load, NULL);
	row(&p_obs, &f_noop);
	row(&p_plan, NULL);
	row(&v_napply, &f_noop);
	xml_vs_structured(be, work, reps);
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	fprintf(stderr, "inproc N=%d: peak RSS of the whole process (test driver state included): %.1f MiB\n",
		n_dom, (double)ru.ru_maxrss / 1024.0);
	vfb_payload_free(&payload);
	return 0;
}
