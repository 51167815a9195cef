/* test_cases.c: golden plans. Each folder under tests/cases/ is one case:
 * manifests/ (YAML), observed.xml (a libvirt test-driver state file, read
 * through the real libvirt driver at test://<absolute path>), optional
 * ledger.json and replace (one --replace argument a line), and
 * expected-plan.txt: the plan exactly as `virtform plan` prints it, or, for
 * a rejected plan, one `file:line:col: error: message` line per conflict
 * with the file relative to the case folder. In observed.xml, @CASEDIR@
 * stands for the case folder's absolute path (pools whose target is a real
 * directory of the case, which the driver reads); the plan shows it as
 * @CASEDIR@ too. Adding a case is adding a folder. VF_UPDATE_GOLDEN=1 rewrites expected-plan.txt (review the diff!).
 * Every case runs twice: the second pass writes the observed state and
 * the ledger to a snapshot, reads it back through the snapshot backend
 * (plan --snapshot's path) and wants the plan's text and JSON
 * byte-identical to the first pass's. An optional fleet.json is the fleet
 * view (plan.h) of `virtform watch --etcd`: {"host": ID, "held": [DOMAIN],
 * "holders": {DOMAIN: HOST}, "volumes": [{"pool", "name", "host", "domain",
 * "created"}]}; without it, no fleet (plan, apply). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <sys/stat.h>

#include "controller/state/ledger.h"
#include "controller/state/records.h"
#include "controller/load/manifest.h"
#include "controller/plan/plan.h"
#include "controller/plan/planprint.h"
#include "drivers/driver.h"
#include "drivers/snapshot/snapshot.h"
#include "harness/harness.h"

static bool exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

/* Relative to the case folder, so expected output never holds a checkout path. */
static const char *rel(const char *file, const char *dir)
{
	size_t n = strlen(dir);
	if (file && strncmp(file, dir, n) == 0 && file[n] == '/')
		return file + n + 1;
	return file ? file : "-";
}

/* `text` with every `from` replaced by `to`. Caller frees. */
static char *replace_all(const char *text, const char *from, const char *to)
{
	vf_buf b = { 0 };
	size_t n = strlen(from);
	for (const char *p; (p = strstr(text, from)); text = p + n) {
		vf_buf_addn(&b, text, (size_t)(p - text));
		vf_buf_add(&b, to);
	}
	vf_buf_add(&b, text);
	return vf_buf_steal(&b);
}

/* Plan one case's inputs: the text `virtform plan` prints (a rejected
 * plan: its conflicts, one line each) and the JSON `plan --json` prints. */
static void plan_case(const vf_desired *d, const vf_observed *o, const vf_ledger *l,
		      const vf_plan_opts *opts, const char *dir, char **ret_text, char **ret_json)
{
	vf_plan plan = { 0 };
	vf_diags conflicts = { 0 };
	char *out = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&out, &len);
	bool ok = vf_plan_build(d, o, l, opts, &plan, &conflicts) == 0;
	if (ok) {
		vf_plan_print_text(m, &plan, false);
	} else {
		for (size_t i = 0; i < conflicts.n; i++) {
			const vf_error *e = &conflicts.items[i];
			fprintf(m, "%s:%d:%d: error: %s\n", rel(e->pos.file, dir), e->pos.line,
				e->pos.col, e->message);
		}
	}
	fclose(m);
	*ret_json = vf_plan_to_json(ok ? &plan : NULL, &conflicts);
	*ret_text = out;
	vf_plan_free(&plan);
	vf_diags_free(&conflicts);
}

/* The fleet view of fleet.json (its strings borrowed from *ret_json, which
 * the caller frees), or NULL when the case has none. */
typedef struct case_fleet {
	vf_fleet_view view;
	const char *held[16];
	vf_kv holders[16];
	vf_fleet_volume volumes[16];
} case_fleet;

static const char *jstr(json_object *o, const char *key)
{
	json_object *v = NULL;
	return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : NULL;
}

static const vf_fleet_view *load_fleet(const char *dir, case_fleet *cf, json_object **ret_json)
{
	_cleanup_free_ char *path = vf_asprintf("%s/fleet.json", dir);
	_cleanup_free_ char *text = vf_test_read_file(path);
	*ret_json = NULL;
	if (!text)
		return NULL;
	json_object *j = json_tokener_parse(text), *v = NULL;
	if (!j)
		fail_msg("%s: fleet.json is not JSON", dir);
	*ret_json = j;
	memset(cf, 0, sizeof(*cf));
	cf->view.host_id = jstr(j, "host");
	if (json_object_object_get_ex(j, "held", &v))
		for (size_t i = 0; i < json_object_array_length(v) && i < 16; i++)
			cf->held[cf->view.n_held++] = json_object_get_string(json_object_array_get_idx(v, i));
	if (json_object_object_get_ex(j, "holders", &v)) {
		json_object_object_foreach(v, key, val) {
			if (cf->view.n_holders < 16)
				cf->holders[cf->view.n_holders++] =
					(vf_kv){ .key = vf_strdup(key), .value = vf_strdup(json_object_get_string(val)) };
		}
	}
	if (json_object_object_get_ex(j, "volumes", &v))
		for (size_t i = 0; i < json_object_array_length(v) && i < 16; i++) {
			json_object *e = json_object_array_get_idx(v, i), *c = NULL;
			cf->volumes[cf->view.n_volumes++] = (vf_fleet_volume){
				.pool = jstr(e, "pool"), .name = jstr(e, "name"), .host = jstr(e, "host"),
				.domain = jstr(e, "domain"),
				.created = json_object_object_get_ex(e, "created", &c) && json_object_get_boolean(c),
			};
		}
	cf->view.held = cf->held;
	cf->view.holders = cf->holders;
	cf->view.volumes = cf->volumes;
	return &cf->view;
}

/* Run one case; returns what `virtform plan` would show. Caller frees. */
static char *run_case(const char *dir)
{
	_cleanup_free_ char *mdir = vf_asprintf("%s/manifests", dir);
	_cleanup_free_ char *state = vf_asprintf("%s/observed.xml", dir);
	_cleanup_free_ char *tmp = NULL;
	_cleanup_free_ char *xml = vf_test_read_file(state);
	if (xml && strstr(xml, "@CASEDIR@")) {
		_cleanup_free_ char *text = replace_all(xml, "@CASEDIR@", dir);
		tmp = vf_test_tmpdir("case");
		free(state);
		state = vf_asprintf("%s/observed.xml", tmp);
		vf_test_write_file(state, text);
	}
	_cleanup_free_ char *uri = vf_asprintf("test://%s", state);
	vf_desired d = { 0 };
	vf_diags diags = { 0 };
	const char *paths[] = { mdir };
	int r = vf_manifest_load(paths, 1, &d, &diags);
	if (r < 0) {
		vf_buf b = { 0 };
		for (size_t i = 0; i < diags.n; i++)
			vf_buf_printf(&b, "%s:%d: %s\n", diags.items[i].pos.file, diags.items[i].pos.line,
				      diags.items[i].message);
		_cleanup_free_ char *msg = vf_buf_steal(&b);
		fail_msg("%s: manifests do not load:\n%s", dir, msg);
	}

	vf_conn *conn = NULL;
	vf_error err = { 0 };
	vf_observed o = { 0 };
	if (vf_libvirt_hypervisor_driver.open(uri, NULL, &conn, &err) < 0 ||
	    vf_libvirt_hypervisor_driver.observe(conn, &o, &err) < 0)
		fail_msg("%s: cannot observe %s: %s", dir, uri, err.message);
	vf_libvirt_hypervisor_driver.close(conn);

	vf_ledger l = { 0 };
	if (vf_ledger_load(dir, &l, &err) < 0)
		fail_msg("%s: %s", dir, err.message);
	vf_records_load(dir, &d, &o); /* optional records/: the state directory's record texts */
	vf_records_pools(dir, &d, &l, &o);

	/* optional `replace`: one --replace argument a line */
	_cleanup_free_ char *rpath = vf_asprintf("%s/replace", dir);
	_cleanup_free_ char *rtext = vf_test_read_file(rpath);
	const char *replace[16];
	size_t n_replace = 0;
	for (char *save = NULL, *tok = rtext ? strtok_r(rtext, "\n", &save) : NULL;
	     tok && n_replace < VF_ARRAY_SIZE(replace); tok = strtok_r(NULL, "\n", &save))
		replace[n_replace++] = tok;
	case_fleet cf;
	json_object *fleet_json = NULL;
	const vf_fleet_view *fleet = load_fleet(dir, &cf, &fleet_json);
	vf_plan_opts opts = { .replace = replace, .n_replace = n_replace, .fleet = fleet };

	char *out = NULL, *json = NULL;
	plan_case(&d, &o, &l, &opts, dir, &out, &json);

	/* the second pass: the same inputs through a snapshot */
	char host_uri[] = "test:///case";
	vf_snapshot w = { .observed = o, .host = { .uri = host_uri } };
	vf_records_load_all(dir, &w.observed); /* as virtform snapshot takes them */
	vf_records_pools(dir, NULL, &l, &w.observed);
	w.ledger = l.n || l.host.uri ? vf_ledger_to_json(&l) : NULL;
	_cleanup_free_ char *text = vf_snapshot_to_text(&w);
	o = w.observed;
	json_object_put(w.ledger);
	vf_snapshot r2 = { 0 };
	if (vf_snapshot_from_text(text, "case.json", &r2, &err) < 0)
		fail_msg("%s: snapshot does not read back: %s", dir, err.message);
	vf_conn *sc = NULL;
	vf_observed o2 = { 0 };
	vf_ledger l2 = { 0 };
	vf_snapshot_conn(&r2, &sc);
	if (vf_snapshot_backend.hv->observe(sc, &o2, &err) < 0 ||
	    (r2.ledger && vf_ledger_from_json(r2.ledger, "case.json", &l2, &err) < 0))
		fail_msg("%s: snapshot does not play back: %s", dir, err.message);
	vf_snapshot_backend.hv->close(sc);
	char *out2 = NULL, *json2 = NULL;
	plan_case(&d, &o2, &l2, &opts, dir, &out2, &json2);
	if (strcmp(out, out2) != 0)
		fail_msg("%s: plan --snapshot text differs.\n--- plan\n%s--- plan --snapshot\n%s", dir,
			 out, out2);
	if (strcmp(json, json2) != 0)
		fail_msg("%s: plan --snapshot JSON differs.\n--- plan\n%s\n--- plan --snapshot\n%s", dir,
			 json, json2);
	free(out2);
	free(json2);
	free(json);
	json_object_put(fleet_json);
	for (size_t i = 0; fleet && i < cf.view.n_holders; i++) {
		free(cf.holders[i].key);
		free(cf.holders[i].value);
	}
	vf_ledger_free(&l2);
	vf_observed_free(&o2);
	vf_snapshot_free(&r2);
	vf_ledger_free(&l);
	vf_observed_free(&o);
	vf_diags_free(&diags);
	vf_desired_free(&d);
	if (tmp) {
		vf_test_rm_tree(tmp);
		char *shown = replace_all(out, dir, "@CASEDIR@");
		free(out);
		out = shown;
	}
	return out;
}

static void test_case(void **state)
{
	const char *name = *state;
	_cleanup_free_ char *dir = vf_asprintf("%s/%s", CASESDIR, name);
	_cleanup_free_ char *exp_path = vf_asprintf("%s/expected-plan.txt", dir);
	_cleanup_free_ char *got = run_case(dir);
	const char *update = getenv("VF_UPDATE_GOLDEN");
	if (update && *update == '1') {
		FILE *f = fopen(exp_path, "w");
		assert_non_null(f);
		fputs(got, f);
		fclose(f);
		return;
	}
	_cleanup_free_ char *want = vf_test_read_file(exp_path);
	if (!want)
		fail_msg("%s: no expected-plan.txt; got:\n%s", name, got);
	if (strcmp(want, got) != 0)
		fail_msg("%s: plan differs.\n--- expected\n%s--- got\n%s", name, want, got);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(void)
{
	DIR *dp = opendir(CASESDIR);
	if (!dp) {
		fprintf(stderr, "cannot open %s\n", CASESDIR);
		return 1;
	}
	char **names = NULL;
	size_t n = 0, cap = 0;
	for (struct dirent *e; (e = readdir(dp));) {
		if (e->d_name[0] == '.')
			continue;
		_cleanup_free_ char *probe = vf_asprintf("%s/%s/manifests", CASESDIR, e->d_name);
		if (exists(probe))
			VF_APPEND(names, n, cap, vf_strdup(e->d_name));
	}
	closedir(dp);
	qsort(names, n, sizeof(*names), cmp_str);

	struct CMUnitTest *tests = vf_calloc(n ? n : 1, sizeof(*tests));
	for (size_t i = 0; i < n; i++)
		tests[i] = (struct CMUnitTest){ .name = names[i], .test_func = test_case,
						.initial_state = names[i] };
	int r = n ? _cmocka_run_group_tests("cases", tests, n, NULL, NULL) : 1;
	free(tests);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return r;
}
