/* test_snapshot.c: snapshots of a real (test:///default) host: written in
 * a stable form, read back whole, and every kind of bad file refused at
 * its line:col with nothing half-used. The plans they give are checked in
 * test_cases.c (every golden case) and tests/integration/test_40. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>

#include "controller/apply/reconcile.h"
#include "drivers/snapshot/snapshot.h"
#include "harness/harness.h"

/* A snapshot of test:///default with a ledger, as `virtform snapshot` takes it. */
static char *take(void)
{
	_cleanup_free_ char *dir = vf_test_tmpdir("snap");
	_cleanup_free_ char *ledger = vf_asprintf("%s/ledger.json", dir);
	vf_test_write_file(ledger, "{\"version\": 1, \"entries\": [{\"kind\": \"Domain\", \"name\": \"test\", "
			   "\"uuid\": \"6695eb01-f6a4-8304-79aa-97f2502e193f\", \"deletionPolicy\": \"Retain\"}]}");
	vf_conn *c = NULL;
	vf_error err = { 0 };
	vf_snapshot s = { 0 };
	assert_int_equal(vf_libvirt_hypervisor_driver.open("test:///default", NULL, &c, &err), 0);
	const vf_backend *b = vf_backend_for_uri("test:///default");
	vf_reconcile_opts opts = { .state_dir = dir, .dry_run = true };
	if (vf_reconcile_snapshot(b, c, &opts, &s, &err) < 0)
		fail_msg("snapshot: %s", err.message);
	vf_libvirt_hypervisor_driver.close(c);
	char *text = vf_snapshot_to_text(&s);
	vf_snapshot_free(&s);
	vf_test_rm_tree(dir);
	return text;
}

static void test_round_trip_is_stable(void **state)
{
	_cleanup_free_ char *text = take();
	vf_snapshot s = { 0 };
	vf_error err = { 0 };
	assert_int_equal(vf_snapshot_from_text(text, "s.json", &s, &err), 0);
	assert_int_equal(s.observed.n_domains, 1);
	assert_string_equal(s.observed.domains[0].name, "test");
	assert_non_null(s.ledger);
	/* written again: the same bytes, so nightly snapshots diff only where the host changed */
	_cleanup_free_ char *again = vf_snapshot_to_text(&s);
	assert_string_equal(text, again);
	vf_snapshot_free(&s);
}

/* The fleet's record on a domain (its fence host and token, docs/fleet.md)
 * survives a snapshot, as plan --snapshot must see what plan sees. */
static void test_fence_record_round_trips(void **state)
{
	(void)state;
	_cleanup_free_ char *text = take();
	vf_snapshot s = { 0 };
	vf_error err = { 0 };
	assert_int_equal(vf_snapshot_from_text(text, "s.json", &s, &err), 0);
	assert_null(s.observed.domains[0].fence_host);
	s.observed.domains[0].fence_host = vf_strdup("host-b");
	s.observed.domains[0].fence_token = 4242;
	_cleanup_free_ char *again = vf_snapshot_to_text(&s);
	vf_snapshot_free(&s);
	vf_snapshot r = { 0 };
	assert_int_equal(vf_snapshot_from_text(again, "s.json", &r, &err), 0);
	assert_string_equal(r.observed.domains[0].fence_host, "host-b");
	assert_int_equal(r.observed.domains[0].fence_token, 4242);
	vf_snapshot_free(&r);
}

/* Refused with VF_E_FORMAT at line:col, message containing `want`. */
static void refused(const char *text, int line, int col, const char *want)
{
	vf_snapshot s = { .n_cache = 12345 };
	vf_error err = { 0 };
	int r = vf_snapshot_from_text(text, "s.json", &s, &err);
	if (r != -VF_E_FORMAT || !err.message || !strstr(err.message, want))
		fail_msg("want a refusal with \"%s\", got %d: %s", want, r,
			 err.message ? err.message : "(none)");
	assert_string_equal(err.pos.file, "s.json");
	if (err.pos.line != line || err.pos.col != col)
		fail_msg("\"%s\" at %d:%d, want %d:%d", err.message, err.pos.line, err.pos.col, line, col);
	assert_int_equal(s.n_cache, 12345); /* untouched: nothing half-used */
	vf_error_clear(&err);
}

/* Line and column (1-based) where `needle` starts in text. */
static void where(const char *text, const char *needle, int *line, int *col)
{
	const char *p = strstr(text, needle);
	assert_non_null(p);
	*line = 1;
	const char *bol = text;
	for (const char *q = text; q < p; q++)
		if (*q == '\n') {
			(*line)++;
			bol = q + 1;
		}
	*col = (int)(p - bol) + 1;
}

static char *replace1(const char *text, const char *from, const char *to)
{
	const char *p = strstr(text, from);
	assert_non_null(p);
	return vf_asprintf("%.*s%s%s", (int)(p - text), text, to, p + strlen(from));
}

/* A snapshot as the first `virtform snapshot` wrote it (format 1: no
 * networks, host_interfaces, domain_types) is refused as too old, at its
 * format_version, before a missing section is read as "none on the host". */
static void test_format_1_is_too_old(void **state)
{
	_cleanup_free_ char *text = take();
	json_object *doc = json_tokener_parse(text);
	assert_non_null(doc);
	json_object_object_del(doc, "networks");
	json_object_object_del(doc, "host_interfaces");
	json_object_object_del(json_object_object_get(doc, "capabilities"), "domain_types");
	json_object_object_add(doc, "format_version", json_object_new_int(1));
	_cleanup_free_ char *v1 = vf_strdup(json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PRETTY));
	json_object_put(doc);
	int line, col;
	where(v1, "\"format_version\"", &line, &col);
	const char *p = strstr(v1, "\"format_version\"") + strlen("\"format_version\"");
	for (col += (int)strlen("\"format_version\""); *p == ':' || *p == ' '; p++)
		col++;
	refused(v1, line, col, "format 1 (virtform 0.1.0) is too old");
	refused(v1, line, col, "take a new snapshot with this version");
}

static void test_bad_files_refused_at_their_position(void **state)
{
	_cleanup_free_ char *text = take();
	int line, col;

	/* truncated: at the end, saying so */
	_cleanup_free_ char *cut = vf_strndup(text, strlen(text) / 2);
	int nl = 1, lc = 1;
	for (const char *q = cut; *q; q++)
		if (*q == '\n') {
			nl++;
			lc = 1;
		} else {
			lc++;
		}
	refused(cut, nl, lc, "truncated");

	/* a wrong type where a value was edited */
	_cleanup_free_ char *typed = replace1(text, "\"capacity\": ", "\"capacity\": -");
	where(typed, "\"capacity\": -", &line, &col);
	col += (int)strlen("\"capacity\": ");
	refused(typed, line, col, "pools[0].capacity: expected an unsigned integer");
	_cleanup_free_ char *typed2 = replace1(text, "\"contents_note\": null", "\"contents_note\": 7");
	where(typed2, "\"contents_note\": 7", &line, &col);
	col += (int)strlen("\"contents_note\": ");
	refused(typed2, line, col, "pools[0].contents_note: expected a string or null");

	/* a member nobody writes */
	_cleanup_free_ char *extra = replace1(text, "\"persistent\": ", "\"colour\": 1, \"persistent\": ");
	where(extra, "1, \"persistent\"", &line, &col);
	refused(extra, line, col, ".colour: unknown member");

	/* a valid-looking edit: the digest catches it */
	_cleanup_free_ char *edited = replace1(text, "\"kvm\": false", "\"kvm\": true ");
	where(edited, "\"sha256:", &line, &col);
	refused(edited, line, col, "edited or damaged");

	/* foreign JSON */
	refused("{\n  \"version\": 1,\n  \"entries\": []\n}\n", 1, 1, "not a virtform snapshot");
	refused("[1, 2]", 1, 1, "not a JSON object");

	/* too old, and too new */
	_cleanup_free_ char *old = replace1(text, "\"format_version\": 2", "\"format_version\": 0");
	where(old, "0,", &line, &col);
	refused(old, line, col, "too old");
	_cleanup_free_ char *newer = replace1(text, "\"format_version\": 2", "\"format_version\": 9");
	refused(newer, line, col, "newer virtform");

	/* not JSON at all */
	refused("{\n  \"kind\": virtform\n}", 2, 11, "not valid JSON");
	refused("{} {}", 1, 4, "not valid JSON");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_is_stable),
		cmocka_unit_test(test_fence_record_round_trips),
		cmocka_unit_test(test_bad_files_refused_at_their_position),
		cmocka_unit_test(test_format_1_is_too_old),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
