/* test_records.c: the texts of raw-XML records in the state directory
 * (controller/state/records.c), through whole reconcile passes against
 * libvirt's test driver: an apply stores them under their digests, a
 * no-op plan needs none of them, a change behind virtform's back is the
 * exact diff of the stored text, and a text that is missing or does not
 * hash to its name degrades to the first apply's comparison, never to
 * "no changes" for a real change and never to a crash. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "controller/apply/reconcile.h"
#include "controller/load/manifest.h"
#include "controller/state/records.h"
#include "drivers/libvirt/lv.h"
#include "harness/harness.h"

typedef struct fx {
	char *state;
	char *manifests;
	const vf_backend *be;
	vf_conn *conn;
	vf_desired desired;
} fx;

static const char dom_yaml[] =
	"apiVersion: virtform/v1\nkind: Domain\nmetadata: {name: vr-raw}\nspec:\n  state: shutoff\n"
	"  xml: |\n    <domain type='test'>\n      <name>vr-raw</name>\n"
	"      <memory unit='MiB'>64</memory>\n      <vcpu>1</vcpu>\n"
	"      <os><type>hvm</type></os>\n    </domain>\n";

static int pass(fx *f, bool dry, vf_reconcile_result *res)
{
	vf_desired_free(&f->desired);
	vf_diags diags = { 0 };
	const char *paths[] = { f->manifests };
	if (vf_manifest_load(paths, 1, &f->desired, &diags) < 0)
		fail_msg("manifests do not load: %s", diags.n ? diags.items[0].message : "?");
	vf_diags_free(&diags);
	vf_reconcile_opts opts = { .state_dir = f->state, .dry_run = dry };
	return vf_reconcile(f->be, f->conn, &f->desired, &opts, res);
}

static int setup(void **state)
{
	fx *f = vf_calloc(1, sizeof(*f));
	f->state = vf_test_tmpdir("records-state");
	f->manifests = vf_test_tmpdir("records-mf");
	_cleanup_free_ char *p = vf_asprintf("%s/dom.yaml", f->manifests);
	vf_test_write_file(p, dom_yaml);
	f->be = vf_backend_for_uri("test:///default");
	vf_error err = { 0 };
	assert_int_equal(f->be->hv->open("test:///default", NULL, &f->conn, &err), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;
	vf_error err = { 0 };
	f->be->hv->domain_undefine(f->conn, "vr-raw", false, &err);
	vf_error_clear(&err);
	f->be->storage->pool_undefine(f->conn, "vr-pool", false, &err);
	vf_error_clear(&err);
	f->be->hv->close(f->conn);
	vf_desired_free(&f->desired);
	vf_test_rm_tree(f->state);
	vf_test_rm_tree(f->manifests);
	free(f->state);
	free(f->manifests);
	free(f);
	return 0;
}

/* The names in <state>/records, in *names (up to 8); returns how many. */
static size_t record_files(fx *f, char names[8][65])
{
	_cleanup_free_ char *dir = vf_asprintf("%s/records", f->state);
	DIR *d = opendir(dir);
	size_t n = 0;
	for (struct dirent *e; d && (e = readdir(d));)
		if (e->d_name[0] != '.' && n < 8 && strlen(e->d_name) < 65)
			memcpy(names[n++], e->d_name, strlen(e->d_name) + 1);
	if (d)
		closedir(d);
	return n;
}

/* The live domain redefined behind virtform's back with 2 vCPUs. */
static void change_behind_its_back(fx *f)
{
	vf_observed o = { 0 };
	vf_error err = { 0 };
	assert_int_equal(f->be->hv->observe(f->conn, &o, &err), 0);
	vf_obs_domain *d = vf_observed_domain(&o, "vr-raw");
	assert_non_null(d);
	_cleanup_free_ char *xml = vf_strdup(d->xml);
	char *v = strstr(xml, ">1</vcpu>");
	assert_non_null(v);
	v[1] = '2';
	vf_observed_free(&o);
	/* what `virsh define` does on a real host */
	virDomainPtr raw = virDomainDefineXML(f->conn->conn, xml);
	assert_non_null(raw);
	virDomainFree(raw);
}

static const vf_step *only_step(const vf_reconcile_result *res)
{
	assert_int_equal(res->plan.n, 1);
	return &res->plan.steps[0];
}

static bool has_change(const vf_step *s, const char *field)
{
	for (size_t i = 0; i < s->n_changes; i++)
		if (strcmp(s->changes[i].field, field) == 0)
			return true;
	return false;
}

static void test_apply_stores_texts_and_a_no_op_plan_needs_none(void **state)
{
	fx *f = *state;
	vf_reconcile_result res = { 0 };
	assert_int_equal(pass(f, false, &res), 0);
	assert_true(res.converged);
	vf_reconcile_result_free(&res);

	char names[8][65];
	assert_int_equal(record_files(f, names), 2); /* the spec.xml, and what libvirt made of it */
	for (size_t i = 0; i < 2; i++) {
		_cleanup_free_ char *text = vf_records_get(f->state, names[i]);
		assert_non_null(text); /* each hashes to its name */
	}

	/* no text is needed while both digests match: none there, no changes */
	_cleanup_free_ char *dir = vf_asprintf("%s/records", f->state);
	vf_test_rm_tree(dir);
	assert_int_equal(pass(f, true, &res), 0);
	assert_int_equal(res.plan.n, 0);
	vf_reconcile_result_free(&res);

	/* a converged apply stores them again */
	assert_int_equal(pass(f, false, &res), 0);
	vf_reconcile_result_free(&res);
	assert_int_equal(record_files(f, names), 2);
}

static void test_live_change_is_the_stored_texts_diff(void **state)
{
	fx *f = *state;
	vf_reconcile_result res = { 0 };
	assert_int_equal(pass(f, false, &res), 0);
	vf_reconcile_result_free(&res);
	change_behind_its_back(f);

	assert_int_equal(pass(f, true, &res), 0);
	const vf_step *s = only_step(&res);
	assert_true(has_change(s, "xml:/domain/vcpu"));
	assert_non_null(strstr(s->reason, "changed outside virtform"));
	vf_reconcile_result_free(&res);

	/* apply undoes it; the old text is pruned, the new ones stored */
	assert_int_equal(pass(f, false, &res), 0);
	assert_true(res.converged);
	vf_reconcile_result_free(&res);
	char names[8][65];
	assert_int_equal(record_files(f, names), 2);
}

static void test_missing_or_torn_text_compares_as_a_first_apply(void **state)
{
	fx *f = *state;
	vf_reconcile_result res = { 0 };
	assert_int_equal(pass(f, false, &res), 0);
	vf_reconcile_result_free(&res);
	change_behind_its_back(f);

	/* every text torn (not what its name says): as good as missing */
	char names[8][65];
	size_t n = record_files(f, names);
	assert_int_equal(n, 2);
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *p = vf_asprintf("%s/records/%s", f->state, names[i]);
		vf_test_write_file(p, "<domain/>");
		assert_null(vf_records_get(f->state, names[i]));
	}
	/* the manifest writes <vcpu>: the first apply's subset comparison
	 * still finds the change, without the record's texts */
	assert_int_equal(pass(f, true, &res), 0);
	const vf_step *s = only_step(&res);
	assert_true(has_change(s, "xml:/domain/vcpu"));
	if (!strstr(s->reason, "from the manifest"))
		fail_msg("reason: %s", s->reason);
	vf_reconcile_result_free(&res);

	assert_int_equal(pass(f, false, &res), 0);
	assert_true(res.converged);
	vf_reconcile_result_free(&res);
	/* the torn files no record names are gone; the right ones are back */
	n = record_files(f, names);
	assert_int_equal(n, 2);
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *text = vf_records_get(f->state, names[i]);
		assert_non_null(text);
	}
}

static void test_a_name_that_is_no_digest_is_never_opened(void **state)
{
	fx *f = *state;
	assert_null(vf_records_get(f->state, "../ledger.json"));
	assert_null(vf_records_get(f->state, NULL));
	/* a planted symlink under a digest's name is not followed */
	vf_error err = { 0 };
	assert_int_equal(vf_records_put(f->state, "text", &err), 0);
	char hex[65];
	vf_sha256_hex("other", 5, hex);
	_cleanup_free_ char *target = vf_asprintf("%s/secret", f->state);
	vf_test_write_file(target, "other");
	_cleanup_free_ char *link = vf_asprintf("%s/records/%s", f->state, hex);
	assert_int_equal(symlink(target, link), 0);
	assert_null(vf_records_get(f->state, hex));
}

static const char pool_yaml[] =
	"apiVersion: virtform/v1\nkind: StoragePool\nmetadata: {name: vr-pool}\nspec:\n  autostart: false\n  state: inactive\n"
	"  xml: |\n    <pool type='dir'>\n      <name>vr-pool</name>\n"
	"      <target><path>/vr-pool/</path><permissions><mode>0755</mode></permissions></target>\n"
	"    </pool>\n";

/* Pools keep their record in the ledger (no <metadata>) and their texts
 * in records/ beside the domains': an apply stores both pairs, a no-op
 * plan is empty although libvirt rewrote the path, a pool changed behind
 * virtform's back is drift on it alone (the stored text's exact diff, so
 * the texts were not pruned as nobody's), and apply undoes it. */
static void test_pool_record_in_the_ledger_texts_kept(void **state)
{
	fx *f = *state;
	_cleanup_free_ char *p = vf_asprintf("%s/pool.yaml", f->manifests);
	vf_test_write_file(p, pool_yaml);
	vf_reconcile_result res = { 0 };
	assert_int_equal(pass(f, false, &res), 0);
	assert_true(res.converged);
	vf_reconcile_result_free(&res);
	char names[8][65];
	assert_int_equal(record_files(f, names), 4);
	vf_ledger l = { 0 };
	vf_error err = { 0 };
	assert_int_equal(vf_ledger_load(f->state, &l, &err), 0);
	const vf_ledger_entry *e = vf_ledger_find(&l, VF_KIND_POOL, NULL, "vr-pool");
	assert_non_null(e);
	assert_true(vf_sha256_hex_valid(e->xml_digest));
	assert_true(vf_sha256_hex_valid(e->xml_normalised));
	vf_ledger_free(&l);

	assert_int_equal(pass(f, true, &res), 0);
	assert_int_equal(res.plan.n, 0);
	vf_reconcile_result_free(&res);

	/* virsh pool-define of an edited dump */
	virStoragePoolPtr pool = virStoragePoolLookupByName(f->conn->conn, "vr-pool");
	assert_non_null(pool);
	_cleanup_free_ char *xml = virStoragePoolGetXMLDesc(pool, 0);
	virStoragePoolFree(pool);
	char *m = strstr(xml, "<mode>0755</mode>");
	assert_non_null(m);
	m[9] = '0'; /* 0750 */
	pool = virStoragePoolDefineXML(f->conn->conn, xml, 0);
	assert_non_null(pool);
	virStoragePoolFree(pool);

	assert_int_equal(pass(f, true, &res), 0);
	const vf_step *s = only_step(&res);
	assert_string_equal(s->name, "vr-pool");
	assert_true(has_change(s, "xml:/pool/target/permissions/mode"));
	if (!strstr(s->reason, "changed outside virtform"))
		fail_msg("reason: %s", s->reason);
	vf_reconcile_result_free(&res);

	assert_int_equal(pass(f, false, &res), 0);
	assert_true(res.converged);
	vf_reconcile_result_free(&res);
	assert_int_equal(record_files(f, names), 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_apply_stores_texts_and_a_no_op_plan_needs_none, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_live_change_is_the_stored_texts_diff, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_or_torn_text_compares_as_a_first_apply, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_pool_record_in_the_ledger_texts_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_name_that_is_no_digest_is_never_opened, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
