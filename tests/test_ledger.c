/* test_ledger.c: the ownership ledger round-trips, is written atomically,
 * refuses files it does not understand instead of guessing, and belongs
 * to one host (rule 10): another host is refused, naming both. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "controller/state/ledger.h"
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
	vf_ledger_put(&l, VF_KIND_VOLUME, "images", "web-cidata.iso", u2);
	vf_ledger_find(&l, VF_KIND_VOLUME, "images", "web-cidata.iso")->seed_of = vf_strdup("web");
	/* the state directory is created when missing */
	assert_int_equal(vf_ledger_save(sub, &l, &err), 0);
	struct stat st;
	assert_int_equal(stat(sub, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);

	vf_ledger back = { 0 };
	assert_int_equal(vf_ledger_load(sub, &back, &err), 0);
	assert_int_equal(back.n, 4);
	/* a seed virtform wrote remembers its domain; other volumes have none */
	assert_string_equal(vf_ledger_find(&back, VF_KIND_VOLUME, "images", "web-cidata.iso")->seed_of,
			    "web");
	vf_ledger_entry *v = vf_ledger_find(&back, VF_KIND_VOLUME, "images", "a<b&\"c'.qcow2");
	assert_non_null(v);
	assert_int_equal(uuid_compare(v->uuid, u2), 0);
	assert_int_equal(v->deletion, VF_DELETION_DELETE);
	assert_null(v->seed_of);
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

/* Claims claimed, pending and incomplete, and the shutdownTimeout, round-trip; a
 * complete entry writes no "state", so ledgers from before these fields
 * load as complete with no timeout recorded. */
static void test_state_and_shutdown_timeout(void **state)
{
	(void)state;
	_cleanup_free_ char *dir = vf_test_tmpdir("ledger");
	vf_ledger l = { 0 };
	vf_error err = { 0 };
	uuid_t u;
	vf_uuid_derive(VF_KIND_DOMAIN, NULL, "web", u);
	vf_ledger_put(&l, VF_KIND_DOMAIN, NULL, "web", u);
	l.entries[0].state = VF_LEDGER_PENDING;
	l.entries[0].has_shutdown_timeout = true;
	l.entries[0].shutdown_timeout = 0; /* "force off at once" is a value, not "unrecorded" */
	vf_ledger_put(&l, VF_KIND_VOLUME, "images", "root.qcow2", u);
	l.entries[1].state = VF_LEDGER_INCOMPLETE;
	vf_ledger_put(&l, VF_KIND_POOL, NULL, "images", u);
	vf_ledger_put(&l, VF_KIND_VOLUME, "images", "data.qcow2", u);
	l.entries[3].state = VF_LEDGER_CLAIMED;
	assert_int_equal(vf_ledger_save(dir, &l, &err), 0);
	_cleanup_free_ char *path = vf_asprintf("%s/ledger.json", dir);
	_cleanup_free_ char *text = vf_test_read_file(path);
	assert_non_null(strstr(text, "\"pending\""));
	assert_non_null(strstr(text, "\"incomplete\""));
	assert_non_null(strstr(text, "\"claimed\""));
	assert_null(strstr(text, "\"complete\""));

	vf_ledger back = { 0 };
	assert_int_equal(vf_ledger_load(dir, &back, &err), 0);
	const vf_ledger_entry *d = vf_ledger_find(&back, VF_KIND_DOMAIN, NULL, "web");
	assert_int_equal(d->state, VF_LEDGER_PENDING);
	assert_true(d->has_shutdown_timeout);
	assert_int_equal(d->shutdown_timeout, 0);
	assert_int_equal(vf_ledger_find(&back, VF_KIND_VOLUME, "images", "root.qcow2")->state,
			 VF_LEDGER_INCOMPLETE);
	assert_int_equal(vf_ledger_find(&back, VF_KIND_VOLUME, "images", "data.qcow2")->state,
			 VF_LEDGER_CLAIMED);
	const vf_ledger_entry *p = vf_ledger_find(&back, VF_KIND_POOL, NULL, "images");
	assert_int_equal(p->state, VF_LEDGER_COMPLETE);
	assert_false(p->has_shutdown_timeout);
	vf_ledger_free(&back);
	vf_ledger_free(&l);

	/* a ledger from before the fields */
	vf_test_write_file(path, "{\"version\": 1, \"entries\": [{\"kind\": \"Domain\", \"name\": \"old\", "
				 "\"pool\": null, \"uuid\": \"6b1f3c52-8e0a-4f6d-9a51-2d7e30c48819\", "
				 "\"deletionPolicy\": \"Delete\"}]}");
	assert_int_equal(vf_ledger_load(dir, &back, &err), 0);
	assert_int_equal(back.entries[0].state, VF_LEDGER_COMPLETE);
	assert_false(back.entries[0].has_shutdown_timeout);
	vf_ledger_free(&back);
	vf_test_rm_tree(dir);
}

/* A raw-XML pool's record (its two digests) survives the file; a digest
 * that is not 64 hex digits (it names a file in records/), or half a
 * record, is no record. */
static void test_pool_xml_record(void **state)
{
	(void)state;
	_cleanup_free_ char *dir = vf_test_tmpdir("ledger");
	vf_ledger l = { 0 };
	vf_error err = { 0 };
	uuid_t u;
	char a[65], b[65];
	vf_sha256_hex("a", 1, a);
	vf_sha256_hex("b", 1, b);
	vf_uuid_derive(VF_KIND_POOL, NULL, "raw", u);
	vf_ledger_put(&l, VF_KIND_POOL, NULL, "raw", u);
	l.entries[0].xml_digest = vf_strdup(a);
	l.entries[0].xml_normalised = vf_strdup(b);
	vf_ledger_put(&l, VF_KIND_POOL, NULL, "plain", u);
	assert_int_equal(vf_ledger_save(dir, &l, &err), 0);
	vf_ledger_free(&l);
	vf_ledger back = { 0 };
	assert_int_equal(vf_ledger_load(dir, &back, &err), 0);
	const vf_ledger_entry *e = vf_ledger_find(&back, VF_KIND_POOL, NULL, "raw");
	assert_string_equal(e->xml_digest, a);
	assert_string_equal(e->xml_normalised, b);
	assert_null(vf_ledger_find(&back, VF_KIND_POOL, NULL, "plain")->xml_digest);
	vf_ledger_free(&back);

	_cleanup_free_ char *path = vf_asprintf("%s/ledger.json", dir);
	_cleanup_free_ char *text = vf_asprintf(
		"{\"version\": 1, \"entries\": ["
		"{\"kind\": \"StoragePool\", \"name\": \"p1\", \"pool\": null, \"uuid\": \"6b1f3c52-8e0a-4f6d-9a51-2d7e30c48819\", "
		"\"xml\": {\"sha256\": \"../ledger.json\", \"normalised\": \"%s\"}},"
		"{\"kind\": \"StoragePool\", \"name\": \"p2\", \"pool\": null, \"uuid\": \"6b1f3c52-8e0a-4f6d-9a51-2d7e30c48819\", "
		"\"xml\": {\"sha256\": \"%s\"}}]}", b, a);
	vf_test_write_file(path, text);
	assert_int_equal(vf_ledger_load(dir, &back, &err), 0);
	assert_null(vf_ledger_find(&back, VF_KIND_POOL, NULL, "p1")->xml_digest);
	assert_null(vf_ledger_find(&back, VF_KIND_POOL, NULL, "p2")->xml_digest);
	assert_null(vf_ledger_find(&back, VF_KIND_POOL, NULL, "p2")->xml_normalised);
	vf_ledger_free(&back);
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
		/* a state this virtform does not know: guessing "complete" could accept half-done work */
		"{\"version\": 1, \"entries\": [{\"kind\": \"Domain\", \"name\": \"x\", \"uuid\": \"6b1f3c52-8e0a-4f6d-9a51-2d7e30c48819\", \"state\": \"half\"}]}",
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

#define SYS_UUID "eb8d0899-7bc3-4159-be2f-e4255c6c2f51"
#define OTHER_UUID "1f0e2d3c-4b5a-4697-8877-665544332211"

static vf_host_id host(const char *uri, const char *uuid, bool hw, const char *name)
{
	return (vf_host_id){ .uri = (char *)(uintptr_t)uri, .uuid = (char *)(uintptr_t)uuid,
			     .uuid_hardware = hw, .hostname = (char *)(uintptr_t)name };
}

/* A ledger bound to `h` (copied). */
static vf_ledger bound(vf_host_id h)
{
	vf_ledger l = { 0 };
	vf_error err = { 0 };
	assert_int_equal(vf_ledger_bind_host(&l, &h, "/st", &err), 1);
	return l;
}

static void expect_refused(vf_host_id rec, vf_host_id live, const char *why)
{
	vf_ledger l = bound(rec);
	vf_error err = { 0 };
	assert_int_equal(vf_ledger_bind_host(&l, &live, "/st", &err), -VF_E_HOST);
	assert_int_equal(err.code, VF_E_HOST);
	if (!strstr(err.message, why))
		fail_msg("'%s' lacks '%s'", err.message, why);
	/* both hosts named, URIs and UUIDs, and what to do */
	assert_non_null(strstr(err.message, rec.uri));
	assert_non_null(strstr(err.message, live.uri));
	if (rec.uuid)
		assert_non_null(strstr(err.message, rec.uuid));
	if (live.uuid)
		assert_non_null(strstr(err.message, live.uuid));
	assert_non_null(strstr(err.message, "state directory /st belongs to another host"));
	assert_non_null(strstr(err.message, "Nothing was changed or forgotten"));
	assert_non_null(strstr(err.message, "--state-dir"));
	assert_non_null(strstr(err.message, "move /st aside"));
	/* the ledger still names its own host */
	assert_string_equal(l.host.uri, rec.uri);
	vf_error_clear(&err);
	vf_ledger_free(&l);
}

static void expect_same(vf_host_id rec, vf_host_id live)
{
	vf_ledger l = bound(rec);
	vf_error err = { 0 };
	assert_int_equal(vf_ledger_bind_host(&l, &live, "/st", &err), 0);
	assert_null(err.message);
	assert_string_equal(l.host.uri, live.uri); /* how it was last reached */
	vf_ledger_free(&l);
}

static void test_host_binding(void **state)
{
	(void)state;
	vf_host_id sys = host("qemu:///system", SYS_UUID, true, "kvm1");
	/* The UUID decides, not the URI's spelling. */
	expect_same(sys, host("qemu+ssh://root@127.0.0.1/system", SYS_UUID, true, "kvm1"));
	expect_same(sys, host("qemu+ssh://root@localhost:2222/system?keyfile=/k", SYS_UUID, true,
			      "renamed"));
	/* Another machine; another driver or daemon on the same machine. */
	expect_refused(sys, host("qemu+ssh://root@kvm2/system", OTHER_UUID, true, "kvm2"),
		       "another host UUID");
	expect_refused(sys, host("test:///default", NULL, false, "kvm1"),
		       "another libvirt driver or daemon");
	expect_refused(sys, host("qemu:///session", SYS_UUID, true, "kvm1"),
		       "another libvirt driver or daemon");
	/* Without SMBIOS libvirtd makes a UUID up at each start: the same
	 * name is the same host (a libvirtd restart), another name is not. */
	vf_host_id made_up = host("qemu:///system", SYS_UUID, false, "ct1");
	expect_same(made_up, host("qemu:///system", OTHER_UUID, false, "ct1"));
	expect_refused(made_up, host("qemu:///system", OTHER_UUID, false, "ct2"), "another host name");
	expect_refused(made_up, host("qemu:///system", OTHER_UUID, true, "ct1"), "another host UUID");
	/* test:///default reports no UUID: the driver and name decide. */
	expect_same(host("test:///default", NULL, false, "h"), host("test:///default", NULL, false, "h"));
}

/* The host is a top-level "host" object; a ledger without it (older
 * virtform) loads unbound and is bound by the first write. */
static void test_host_round_trip_and_old_ledger(void **state)
{
	(void)state;
	_cleanup_free_ char *dir = vf_test_tmpdir("ledger");
	_cleanup_free_ char *path = vf_asprintf("%s/ledger.json", dir);
	vf_test_write_file(path, "{\"version\": 1, \"entries\": [{\"kind\": \"Domain\", \"name\": \"web\","
				 " \"uuid\": \"6b1f3c52-8e0a-4f6d-9a51-2d7e30c48819\"}]}");
	vf_ledger l = { 0 };
	vf_error err = { 0 };
	assert_int_equal(vf_ledger_load(dir, &l, &err), 0);
	assert_null(l.host.uri);
	assert_int_equal(l.n, 1);
	vf_host_id sys = host("qemu:///system", SYS_UUID, true, "kvm1");
	assert_int_equal(vf_ledger_bind_host(&l, &sys, dir, &err), 1);
	assert_int_equal(vf_ledger_save(dir, &l, &err), 0);
	vf_ledger_free(&l);

	_cleanup_free_ char *text = vf_test_read_file(path);
	assert_non_null(strstr(text, "\"host\":{"));
	assert_non_null(strstr(text, "\"uuid\":\"" SYS_UUID "\""));
	assert_non_null(strstr(text, "\"uuidSource\":\"smbios\""));
	vf_ledger back = { 0 };
	assert_int_equal(vf_ledger_load(dir, &back, &err), 0);
	assert_string_equal(back.host.uri, "qemu:///system");
	assert_string_equal(back.host.uuid, SYS_UUID);
	assert_true(back.host.uuid_hardware);
	assert_string_equal(back.host.hostname, "kvm1");
	assert_int_equal(back.n, 1);
	vf_ledger_free(&back);

	vf_test_write_file(path, "{\"version\": 1, \"host\": {\"uuid\": \"x\"}, \"entries\": []}");
	assert_int_equal(vf_ledger_load(dir, &back, &err), -VF_E_IO);
	assert_non_null(strstr(err.message, "\"host\" is malformed"));
	vf_error_clear(&err);
	vf_test_rm_tree(dir);
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
		cmocka_unit_test(test_state_and_shutdown_timeout),
		cmocka_unit_test(test_pool_xml_record),
		cmocka_unit_test(test_refuses_foreign_files),
		cmocka_unit_test(test_host_binding),
		cmocka_unit_test(test_host_round_trip_and_old_ledger),
		cmocka_unit_test(test_write_never_follows_a_planted_temp_name),
	};
	return cmocka_run_group_tests_name("ledger", tests, NULL, NULL);
}
