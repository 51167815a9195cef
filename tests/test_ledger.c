/* test_ledger.c: the ownership ledger round-trips, is written atomically,
 * and refuses files it does not understand instead of guessing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "controller/ledger.h"
#include "harness/harness.h"

static void test_missing_file_is_empty(void **state)
{
	(void)state;
	_cleanup_free_ char *dir = vf_test_tmpdir("ledger");
	vf_ledger l = { 0 };
	vf_error err = { 0 };
	assert_int_equal(vf_ledger_load(dir, &l, &err), 0);
	assert_int_equal(l.n, 0);
	vf_ledger_free(&l);
	vf_test_rm_tree(dir);
}

static void test_round_trip(void **state)
{
	(void)state;
	_cleanup_free_ char *dir = vf_test_tmpdir("ledger");
	_cleanup_free_ char *sub = vf_asprintf("%s/state", dir);
	vf_ledger l = { 0 };
	vf_error err = { 0 };
	uuid_t u1, u2, u3;
	vf_uuid_derive(VF_KIND_POOL, NULL, "images", u1);
	vf_uuid_derive(VF_KIND_VOLUME, "images", "a<b&\"c'.qcow2", u2);
	vf_uuid_derive(VF_KIND_DOMAIN, NULL, "web", u3);
	vf_ledger_put(&l, VF_KIND_POOL, NULL, "images", u1);
	vf_ledger_put(&l, VF_KIND_VOLUME, "images", "a<b&\"c'.qcow2", u2);
	vf_ledger_find(&l, VF_KIND_VOLUME, "images", "a<b&\"c'.qcow2")->deletion = VF_DELETION_DELETE;
	vf_ledger_put(&l, VF_KIND_DOMAIN, NULL, "web", u3);
	/* the state directory is created when missing */
	assert_int_equal(vf_ledger_save(sub, &l, &err), 0);
	struct stat st;
	assert_int_equal(stat(sub, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);

	vf_ledger back = { 0 };
	assert_int_equal(vf_ledger_load(sub, &back, &err), 0);
	assert_int_equal(back.n, 3);
	vf_ledger_entry *v = vf_ledger_find(&back, VF_KIND_VOLUME, "images", "a<b&\"c'.qcow2");
	assert_non_null(v);
	assert_int_equal(uuid_compare(v->uuid, u2), 0);
	assert_int_equal(v->deletion, VF_DELETION_DELETE);
	vf_ledger_entry *p = vf_ledger_find(&back, VF_KIND_POOL, NULL, "images");
	assert_non_null(p);
	assert_int_equal(p->deletion, VF_DELETION_RETAIN);
	/* the same volume name in another pool is another object */
	assert_null(vf_ledger_find(&back, VF_KIND_VOLUME, "other", "a<b&\"c'.qcow2"));

	/* no temporary file is left next to the ledger */
	DIR *d = opendir(sub);
	struct dirent *e;
	int files = 0;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			files++;
	closedir(d);
	assert_int_equal(files, 1);

	vf_ledger_free(&back);
	vf_ledger_free(&l);
	vf_test_rm_tree(sub);
	vf_test_rm_tree(dir);
}

static void test_put_updates_and_drop_removes(void **state)
{
	(void)state;
	vf_ledger l = { 0 };
	uuid_t a, b;
	vf_uuid_derive(VF_KIND_DOMAIN, NULL, "a", a);
	vf_uuid_derive(VF_KIND_DOMAIN, NULL, "b", b);
	vf_ledger_put(&l, VF_KIND_DOMAIN, NULL, "x", a);
	vf_ledger_put(&l, VF_KIND_DOMAIN, NULL, "x", b);
	assert_int_equal(l.n, 1);
	assert_int_equal(uuid_compare(l.entries[0].uuid, b), 0);
	vf_ledger_put(&l, VF_KIND_POOL, NULL, "x", a); /* same name, other kind */
	assert_int_equal(l.n, 2);
	assert_true(vf_ledger_drop(&l, VF_KIND_DOMAIN, NULL, "x"));
	assert_false(vf_ledger_drop(&l, VF_KIND_DOMAIN, NULL, "x"));
	assert_int_equal(l.n, 1);
	assert_int_equal(l.entries[0].kind, VF_KIND_POOL);
	vf_ledger_free(&l);
}

static void test_refuses_foreign_files(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"not json at all",
		"{\"version\": 2, \"entries\": []}",
		"{\"version\": 1}",
		"{\"version\": 1, \"entries\": [{\"kind\": \"Bucket\", \"name\": \"x\", \"uuid\": \"6b1f3c52-8e0a-4f6d-9a51-2d7e30c48819\"}]}",
		"{\"version\": 1, \"entries\": [{\"kind\": \"Volume\", \"name\": \"x\", \"uuid\": \"6b1f3c52-8e0a-4f6d-9a51-2d7e30c48819\"}]}",
		"{\"version\": 1, \"entries\": [{\"kind\": \"Domain\", \"name\": \"x\", \"uuid\": \"nope\"}]}",
	};
	for (size_t i = 0; i < VF_ARRAY_SIZE(bad); i++) {
		_cleanup_free_ char *dir = vf_test_tmpdir("ledger");
		_cleanup_free_ char *ledger = vf_asprintf("%s/ledger.json", dir);
		vf_test_write_file(ledger, bad[i]);
		vf_ledger l = { 0 };
		vf_error err = { 0 };
		assert_int_equal(vf_ledger_load(dir, &l, &err), -VF_E_IO);
		assert_int_equal(err.code, VF_E_IO);
		assert_non_null(strstr(err.message, "ledger.json"));
		assert_int_equal(l.n, 0);
		vf_error_clear(&err);
		vf_test_rm_tree(dir);
	}
}

/* A name another process planted where the ledger's temp file goes (the
 * old predictable "ledger.json.tmp.<pid>", as a symlink to a file of
 * someone else's) is never followed: the temp file is created with
 * O_EXCL|O_NOFOLLOW under a fresh name, and the victim keeps its bytes. */
static void test_write_never_follows_a_planted_temp_name(void **state)
{
	(void)state;
	_cleanup_free_ char *dir = vf_test_tmpdir("ledger");
	_cleanup_free_ char *victim = vf_asprintf("%s/victim", dir);
	_cleanup_free_ char *planted = vf_asprintf("%s/ledger.json.tmp.%ld", dir, (long)getpid());
	_cleanup_free_ char *ledger = vf_asprintf("%s/ledger.json", dir);
	vf_test_write_file(victim, "not virtform's\n");
	assert_int_equal(symlink(victim, planted), 0);
	vf_ledger l = { 0 };
	vf_error err = { 0 };
	uuid_t u;
	vf_uuid_derive(VF_KIND_DOMAIN, NULL, "web", u);
	vf_ledger_put(&l, VF_KIND_DOMAIN, NULL, "web", u);
	assert_int_equal(vf_ledger_save(dir, &l, &err), 0);
	_cleanup_free_ char *still = vf_test_read_file(victim);
	assert_string_equal(still, "not virtform's\n");
	struct stat st;
	assert_int_equal(lstat(ledger, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);
	vf_ledger back = { 0 };
	assert_int_equal(vf_ledger_load(dir, &back, &err), 0);
	assert_int_equal(back.n, 1);
	vf_ledger_free(&back);
	vf_ledger_free(&l);
	vf_test_rm_tree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_missing_file_is_empty),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_put_updates_and_drop_removes),
		cmocka_unit_test(test_refuses_foreign_files),
		cmocka_unit_test(test_write_never_follows_a_planted_temp_name),
	};
	return cmocka_run_group_tests_name("ledger", tests, NULL, NULL);
}
