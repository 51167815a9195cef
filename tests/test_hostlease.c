/* test_hostlease.c: the host lease state machine and its fence deadline,
 * with plain numbers for times (ms on the monotonic clock): the deadline
 * counts from the send time of the newest acknowledged keepalive, never
 * from when the answer arrived; an answer after the deadline revives
 * nothing; a clock that goes back fences; EXPIRED and RELEASED are final. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "controller/core/hostlease.h"

#define TTL 10000u
#define MARGIN 2000u

static vf_hostlease held_at(uint64_t sent, uint64_t now)
{
	vf_hostlease l;
	vf_error err = { 0 };
	assert_int_equal(vf_hostlease_begin(&l, TTL, MARGIN, sent, &err), 0);
	assert_int_equal(l.state, VF_HOSTLEASE_ACQUIRING);
	assert_int_equal(vf_hostlease_granted(&l, sent, TTL, now), VF_HOSTLEASE_HELD);
	return l;
}

static void test_begin_checks_margin(void **state)
{
	vf_hostlease l = { .state = VF_HOSTLEASE_HELD };
	vf_error err = { 0 };
	assert_int_equal(vf_hostlease_begin(&l, TTL, TTL, 0, &err), -VF_E_USAGE);
	assert_int_equal(l.state, VF_HOSTLEASE_HELD);   /* untouched */
	assert_int_equal(vf_hostlease_begin(&l, TTL, 7000, 0, &err), -VF_E_USAGE);
	assert_int_equal(vf_hostlease_begin(&l, 0, 0, 0, &err), -VF_E_USAGE);
	vf_error_clear(&err);
	assert_int_equal(vf_hostlease_default_margin(10000), 2000);
	assert_int_equal(vf_hostlease_default_margin(1000), 500);
	assert_int_equal(vf_hostlease_begin(&l, TTL, vf_hostlease_default_margin(TTL), 0, &err), 0);
}

static void test_acquiring_runs_nothing(void **state)
{
	vf_hostlease l;
	assert_int_equal(vf_hostlease_begin(&l, TTL, MARGIN, 100, NULL), 0);
	assert_false(vf_hostlease_may_run(&l, 100));
	/* No answer yet, however long: still acquiring, still nothing runs. */
	assert_int_equal(vf_hostlease_tick(&l, 60000), VF_HOSTLEASE_ACQUIRING);
	assert_false(vf_hostlease_may_run(&l, 60000));
}

static void test_deadline_counts_from_send_time(void **state)
{
	/* Sent at 1000, answered at 4000 (a slow etcd): the deadline is
	 * 1000 + 10000 - 2000 = 9000, not 4000 + 8000. */
	vf_hostlease l = held_at(1000, 4000);
	assert_int_equal(l.deadline_ms, 9000);
	assert_true(vf_hostlease_may_run(&l, 8999));
	assert_false(vf_hostlease_may_run(&l, 9000));
	assert_int_equal(vf_hostlease_tick(&l, 8999), VF_HOSTLEASE_HELD);
	assert_int_equal(vf_hostlease_tick(&l, 9000), VF_HOSTLEASE_EXPIRED);
	assert_int_equal(l.why, VF_HOSTLEASE_WHY_DEADLINE);
	assert_false(vf_hostlease_may_run(&l, 9000));
}

static void test_renewal_moves_deadline(void **state)
{
	vf_hostlease l = held_at(0, 10);
	assert_int_equal(vf_hostlease_next_renew_ms(&l), TTL / 3);
	assert_int_equal(vf_hostlease_renew_sent(&l, 3333), VF_HOSTLEASE_RENEWING);
	/* Still held while the keepalive is out. */
	assert_true(vf_hostlease_may_run(&l, 5000));
	assert_int_equal(vf_hostlease_renewed(&l, 3333, TTL, 3400), VF_HOSTLEASE_HELD);
	assert_int_equal(l.deadline_ms, 3333 + TTL - MARGIN);
	assert_int_equal(vf_hostlease_next_renew_ms(&l), 3333 + TTL / 3);
	/* etcd may answer a different TTL (a raised minimum): it counts. */
	assert_int_equal(vf_hostlease_renew_sent(&l, 6000), VF_HOSTLEASE_RENEWING);
	assert_int_equal(vf_hostlease_renewed(&l, 6000, 12000, 6100), VF_HOSTLEASE_HELD);
	assert_int_equal(l.deadline_ms, 6000 + 12000 - MARGIN);
}

static void test_failed_renewal_keeps_deadline(void **state)
{
	vf_hostlease l = held_at(0, 10);
	vf_hostlease_renew_sent(&l, 3000);
	assert_int_equal(vf_hostlease_renew_failed(&l, 5000), VF_HOSTLEASE_HELD);
	assert_int_equal(l.deadline_ms, 8000);
	vf_hostlease_renew_sent(&l, 6000);
	assert_int_equal(vf_hostlease_renew_failed(&l, 7999), VF_HOSTLEASE_HELD);
	/* A failure reported after the deadline: expired, whatever it says. */
	vf_hostlease_renew_sent(&l, 7999);
	assert_int_equal(vf_hostlease_renew_failed(&l, 8000), VF_HOSTLEASE_EXPIRED);
	assert_int_equal(l.why, VF_HOSTLEASE_WHY_DEADLINE);
}

static void test_ack_after_deadline_revives_nothing(void **state)
{
	vf_hostlease l = held_at(0, 10);
	vf_hostlease_renew_sent(&l, 7000);
	/* Sent in time, but acknowledged at 8500, past the deadline of 8000:
	 * the fence may have fired, another host may own the domains. */
	assert_int_equal(vf_hostlease_renewed(&l, 7000, TTL, 8500), VF_HOSTLEASE_EXPIRED);
	assert_int_equal(l.why, VF_HOSTLEASE_WHY_DEADLINE);
	assert_false(vf_hostlease_may_run(&l, 8500));
	/* And later answers do not either: EXPIRED is final. */
	assert_int_equal(vf_hostlease_renewed(&l, 8400, TTL, 8600), VF_HOSTLEASE_EXPIRED);
	assert_int_equal(vf_hostlease_renew_sent(&l, 8700), VF_HOSTLEASE_EXPIRED);
	assert_int_equal(vf_hostlease_granted(&l, 8700, TTL, 8800), VF_HOSTLEASE_EXPIRED);
	assert_int_equal(vf_hostlease_release(&l, 9000), VF_HOSTLEASE_EXPIRED);
	assert_false(vf_hostlease_may_run(&l, 9000));
}

static void test_late_ack_whose_own_deadline_passed(void **state)
{
	/* Acked before the current deadline, but the answered request was
	 * sent so long ago that its own deadline (sent + TTL - margin) is
	 * past: it proves nothing about now. */
	vf_hostlease l;
	assert_int_equal(vf_hostlease_begin(&l, TTL, MARGIN, 0, NULL), 0);
	assert_int_equal(vf_hostlease_granted(&l, 0, TTL, 8000), VF_HOSTLEASE_EXPIRED);
	assert_int_equal(l.why, VF_HOSTLEASE_WHY_LATE);
	/* The same through a renewal answered late but before the deadline
	 * cannot happen (its deadline is later than the current one); an
	 * older request's answer (out of order) is ignored instead. */
	vf_hostlease m = held_at(0, 10);
	vf_hostlease_renew_sent(&m, 3000);
	assert_int_equal(vf_hostlease_renewed(&m, 3000, TTL, 3100), VF_HOSTLEASE_HELD);
	assert_int_equal(vf_hostlease_renewed(&m, 1000, TTL, 3200), VF_HOSTLEASE_HELD);
	assert_int_equal(m.deadline_ms, 11000);   /* not pulled back to 9000 */
	assert_int_equal(m.acked_sent_ms, 3000);
}

static void test_lease_gone_in_etcd(void **state)
{
	vf_hostlease l = held_at(0, 10);
	vf_hostlease_renew_sent(&l, 3000);
	assert_int_equal(vf_hostlease_renewed(&l, 3000, 0, 3050), VF_HOSTLEASE_EXPIRED);
	assert_int_equal(l.why, VF_HOSTLEASE_WHY_GONE);
	vf_hostlease g;
	assert_int_equal(vf_hostlease_begin(&g, TTL, MARGIN, 0, NULL), 0);
	assert_int_equal(vf_hostlease_granted(&g, 0, 0, 10), VF_HOSTLEASE_EXPIRED);
	/* A TTL below the margin leaves no time at all. */
	vf_hostlease s;
	assert_int_equal(vf_hostlease_begin(&s, TTL, MARGIN, 0, NULL), 0);
	assert_int_equal(vf_hostlease_granted(&s, 0, 1000, 10), VF_HOSTLEASE_EXPIRED);
	assert_int_equal(s.why, VF_HOSTLEASE_WHY_LATE);
}

static void test_clock_going_back_fences(void **state)
{
	vf_hostlease l = held_at(0, 10);
	assert_int_equal(vf_hostlease_tick(&l, 5000), VF_HOSTLEASE_HELD);
	assert_int_equal(vf_hostlease_tick(&l, 4999), VF_HOSTLEASE_EXPIRED);
	assert_int_equal(l.why, VF_HOSTLEASE_WHY_CLOCK);
	/* An answer sent after it arrived: the clock cannot be trusted. */
	vf_hostlease m = held_at(0, 10);
	vf_hostlease_renew_sent(&m, 3000);
	assert_int_equal(vf_hostlease_renewed(&m, 3500, TTL, 3400), VF_HOSTLEASE_EXPIRED);
	assert_int_equal(m.why, VF_HOSTLEASE_WHY_CLOCK);
	/* may_run asked with a time before one seen: no. */
	vf_hostlease n = held_at(0, 10);
	vf_hostlease_tick(&n, 5000);
	assert_false(vf_hostlease_may_run(&n, 4000));
	assert_true(vf_hostlease_may_run(&n, 5000));
	/* Equal times are fine (a coarse clock). */
	assert_int_equal(vf_hostlease_tick(&n, 5000), VF_HOSTLEASE_HELD);
}

static void test_release(void **state)
{
	vf_hostlease l = held_at(0, 10);
	assert_int_equal(vf_hostlease_release(&l, 1000), VF_HOSTLEASE_RELEASED);
	assert_false(vf_hostlease_may_run(&l, 1000));
	assert_int_equal(vf_hostlease_renewed(&l, 1000, TTL, 1100), VF_HOSTLEASE_RELEASED);
	assert_int_equal(vf_hostlease_tick(&l, 20000), VF_HOSTLEASE_RELEASED);
	/* Released while acquiring: nothing ever ran. */
	vf_hostlease a;
	assert_int_equal(vf_hostlease_begin(&a, TTL, MARGIN, 0, NULL), 0);
	assert_int_equal(vf_hostlease_release(&a, 10), VF_HOSTLEASE_RELEASED);
	assert_int_equal(vf_hostlease_granted(&a, 0, TTL, 20), VF_HOSTLEASE_RELEASED);
	/* Released after the deadline: too late, it expired (fence fired). */
	vf_hostlease e = held_at(0, 10);
	assert_int_equal(vf_hostlease_release(&e, 8000), VF_HOSTLEASE_EXPIRED);
}

static void test_state_names(void **state)
{
	const char *names[] = { "acquiring", "held", "renewing", "expired", "released" };
	for (int i = 0; i < VF_HOSTLEASE_STATE_MAX; i++) {
		assert_string_equal(vf_hostlease_state_to_string(i), names[i]);
		assert_int_equal(vf_hostlease_state_from_string(names[i]), i);
	}
	assert_string_equal(vf_hostlease_why_to_string(VF_HOSTLEASE_WHY_LATE), "late");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_begin_checks_margin),
		cmocka_unit_test(test_acquiring_runs_nothing),
		cmocka_unit_test(test_deadline_counts_from_send_time),
		cmocka_unit_test(test_renewal_moves_deadline),
		cmocka_unit_test(test_failed_renewal_keeps_deadline),
		cmocka_unit_test(test_ack_after_deadline_revives_nothing),
		cmocka_unit_test(test_late_ack_whose_own_deadline_passed),
		cmocka_unit_test(test_lease_gone_in_etcd),
		cmocka_unit_test(test_clock_going_back_fences),
		cmocka_unit_test(test_release),
		cmocka_unit_test(test_state_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
