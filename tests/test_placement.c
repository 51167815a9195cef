/* test_placement.c: the placement score (controller/core/placement.c):
 * eligibility by placement.hosts and hostLabels, fewest placed domains
 * then the smallest host id, and stability: a held domain never moves,
 * not even back to a host that returns. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "controller/core/placement.h"

/* A writable string, as vf_kv holds them. */
#define S(x) ((char[]){ x })

static vf_kv rack1[] = { { S("rack"), S("r1") }, { S("ssd"), S("yes") } };
static vf_kv rack2[] = { { S("rack"), S("r2") } };

static const vf_place_host three[] = {
	{ .id = "h2", .labels = rack1, .n_labels = 2 },
	{ .id = "h1", .labels = rack2, .n_labels = 1 },
	{ .id = "h3" },
};

static void test_eligible_by_hosts_and_labels(void **state)
{
	const char *const only_h3[] = { "h3", "h1" };
	vf_place_domain any = { .name = "a" };
	vf_place_domain named = { .name = "b", .hosts = only_h3, .n_hosts = 2 };
	vf_kv want[] = { { S("rack"), S("r1") } };
	vf_kv want_both[] = { { S("rack"), S("r1") }, { S("ssd"), S("no") } };
	vf_place_domain labelled = { .name = "c", .labels = want, .n_labels = 1 };
	vf_place_domain mismatch = { .name = "d", .labels = want_both, .n_labels = 2 };
	for (size_t i = 0; i < 3; i++)
		assert_true(vf_placement_eligible(&any, &three[i]));
	assert_false(vf_placement_eligible(&named, &three[0]));
	assert_true(vf_placement_eligible(&named, &three[1]));
	assert_true(vf_placement_eligible(&named, &three[2]));
	assert_true(vf_placement_eligible(&labelled, &three[0]));
	assert_false(vf_placement_eligible(&labelled, &three[1]));
	assert_false(vf_placement_eligible(&labelled, &three[2]));   /* no labels at all */
	assert_false(vf_placement_eligible(&mismatch, &three[0]));   /* ssd=yes, not no */
}

static void test_free_domains_spread_by_load_then_id(void **state)
{
	/* Given in no order; assigned in name order: a to h1 (all 0, smallest
	 * id), b to h2, c to h3, d back to h1. */
	vf_place_domain d[] = { { .name = "d" }, { .name = "b" }, { .name = "a" }, { .name = "c" } };
	const char *ret[4];
	vf_placement_assign(three, 3, d, 4, ret);
	assert_string_equal(ret[2], "h1");
	assert_string_equal(ret[1], "h2");
	assert_string_equal(ret[3], "h3");
	assert_string_equal(ret[0], "h1");
}

static void test_held_domains_count_and_stay(void **state)
{
	/* h1 holds two already: the free one goes to h2 (fewest), and the held
	 * ones stay on h1 although h1 has more than the others. */
	vf_place_domain d[] = { { .name = "x", .holder = "h1" }, { .name = "y", .holder = "h1" },
				{ .name = "z" } };
	const char *ret[3];
	vf_placement_assign(three, 3, d, 3, ret);
	assert_string_equal(ret[0], "h1");
	assert_string_equal(ret[1], "h1");
	assert_string_equal(ret[2], "h2");
}

static void test_no_move_back_when_a_host_returns(void **state)
{
	/* web failed over from h1 to h3; h1 returns, announced again, with
	 * nothing held: web stays on h3. */
	vf_place_domain d[] = { { .name = "web", .holder = "h3" } };
	const char *ret[1];
	vf_placement_assign(three, 3, d, 1, ret);
	assert_string_equal(ret[0], "h3");
	/* And when h3 goes (its lease expired, the lock with it), the
	 * smallest eligible id takes it. */
	d[0].holder = NULL;
	vf_placement_assign(three, 3, d, 1, ret);
	assert_string_equal(ret[0], "h1");
}

static void test_no_eligible_host_is_null(void **state)
{
	const char *const gone[] = { "h9" };
	vf_kv want[] = { { S("gpu"), S("yes") } };
	vf_place_domain d[] = { { .name = "a", .hosts = gone, .n_hosts = 1 },
				{ .name = "b", .labels = want, .n_labels = 1 } };
	const char *ret[2] = { "x", "x" };
	vf_placement_assign(three, 3, d, 2, ret);
	assert_null(ret[0]);
	assert_null(ret[1]);
	vf_placement_assign(NULL, 0, d, 2, ret);   /* no live host at all */
	assert_null(ret[0]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_eligible_by_hosts_and_labels),
		cmocka_unit_test(test_free_domains_spread_by_load_then_id),
		cmocka_unit_test(test_held_domains_count_and_stay),
		cmocka_unit_test(test_no_move_back_when_a_host_returns),
		cmocka_unit_test(test_no_eligible_host_is_null),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
