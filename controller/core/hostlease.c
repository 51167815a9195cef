/* hostlease.c: the host lease state machine and its fence deadline
 * (hostlease.h). Pure: times come in as arguments. Fail-safe by design:
 * any doubt (a late answer, a clock that went back, etcd saying the lease
 * is gone) ends in EXPIRED, which fences, and EXPIRED is never left. */
#include "controller/core/hostlease.h"
#include "controller/core/error.h"

#include <string.h>

static const char *const vf_hostlease_state_table[VF_HOSTLEASE_STATE_MAX] = {
	[VF_HOSTLEASE_ACQUIRING] = "acquiring",
	[VF_HOSTLEASE_HELD] = "held",
	[VF_HOSTLEASE_RENEWING] = "renewing",
	[VF_HOSTLEASE_EXPIRED] = "expired",
	[VF_HOSTLEASE_RELEASED] = "released",
};
VF_STRING_TABLE(vf_hostlease_state, vf_hostlease_state, VF_HOSTLEASE_STATE_MAX)

static const char *const vf_hostlease_why_table[VF_HOSTLEASE_WHY_MAX] = {
	[VF_HOSTLEASE_WHY_NONE] = "none",
	[VF_HOSTLEASE_WHY_DEADLINE] = "deadline",
	[VF_HOSTLEASE_WHY_GONE] = "gone",
	[VF_HOSTLEASE_WHY_LATE] = "late",
	[VF_HOSTLEASE_WHY_CLOCK] = "clock",
};
VF_STRING_TABLE(vf_hostlease_why, vf_hostlease_why, VF_HOSTLEASE_WHY_MAX)

uint64_t vf_hostlease_default_margin(uint64_t ttl_ms)
{
	uint64_t m = ttl_ms / 5;
	return m < 500 ? 500 : m;
}

static bool vf_hostlease__final(const vf_hostlease *l)
{
	return l->state == VF_HOSTLEASE_EXPIRED || l->state == VF_HOSTLEASE_RELEASED;
}

static vf_hostlease_state vf_hostlease__expire(vf_hostlease *l, vf_hostlease_why why)
{
	l->state = VF_HOSTLEASE_EXPIRED;
	l->why = why;
	l->deadline_ms = 0;
	return l->state;
}

/* Every event first: a time before one already seen means the clock
 * cannot be trusted, and a deadline on it means nothing. */
static bool vf_hostlease__clock_ok(vf_hostlease *l, uint64_t now_ms)
{
	if (now_ms < l->seen_ms) {
		if (!vf_hostlease__final(l))
			vf_hostlease__expire(l, VF_HOSTLEASE_WHY_CLOCK);
		return false;
	}
	l->seen_ms = now_ms;
	return true;
}

int vf_hostlease_begin(vf_hostlease *l, uint64_t ttl_ms, uint64_t margin_ms, uint64_t now_ms,
		       vf_error *err)
{
	if (ttl_ms == 0 || margin_ms >= ttl_ms)
		return vf_error_set(err, VF_E_USAGE,
				    "a lease margin of %llu ms must be below the TTL of %llu ms",
				    (unsigned long long)margin_ms, (unsigned long long)ttl_ms);
	/* Between two keepalives (TTL/3 apart) the deadline must not pass,
	 * or a host fences itself while everything works. */
	if (ttl_ms - margin_ms <= ttl_ms / 3)
		return vf_error_set(err, VF_E_USAGE,
				    "a lease margin of %llu ms leaves less than a keepalive period (TTL/3) of the %llu ms TTL",
				    (unsigned long long)margin_ms, (unsigned long long)ttl_ms);
	*l = (vf_hostlease){
		.state = VF_HOSTLEASE_ACQUIRING,
		.ttl_ms = ttl_ms,
		.margin_ms = margin_ms,
		.pending_sent_ms = now_ms,
		.seen_ms = now_ms,
	};
	return 0;
}

/* An acknowledged request sent at sent_ms with TTL ttl_ms, at now_ms:
 * the common part of granted and renewed. */
static vf_hostlease_state vf_hostlease__ack(vf_hostlease *l, uint64_t sent_ms, uint64_t ttl_ms,
					    uint64_t now_ms)
{
	if (sent_ms > now_ms)
		return vf_hostlease__expire(l, VF_HOSTLEASE_WHY_CLOCK);   /* answered before sent */
	if (ttl_ms == 0)
		return vf_hostlease__expire(l, VF_HOSTLEASE_WHY_GONE);
	/* An ack of an older request than one acknowledged already (answers
	 * out of order) proves nothing newer: ignore it. */
	if (l->state != VF_HOSTLEASE_ACQUIRING && sent_ms < l->acked_sent_ms)
		return l->state;
	/* A TTL below the margin (etcd never shortens one; a bad answer)
	 * gives no time to run: treat it as a late answer. */
	uint64_t deadline = ttl_ms > l->margin_ms ? sent_ms + ttl_ms - l->margin_ms : sent_ms;
	if (deadline <= now_ms)
		return vf_hostlease__expire(l, VF_HOSTLEASE_WHY_LATE);
	l->ttl_ms = ttl_ms;
	l->acked_sent_ms = sent_ms;
	l->deadline_ms = deadline;
	l->state = VF_HOSTLEASE_HELD;
	return l->state;
}

vf_hostlease_state vf_hostlease_granted(vf_hostlease *l, uint64_t sent_ms, uint64_t ttl_ms,
					uint64_t now_ms)
{
	if (!vf_hostlease__clock_ok(l, now_ms) || l->state != VF_HOSTLEASE_ACQUIRING)
		return l->state;
	return vf_hostlease__ack(l, sent_ms, ttl_ms, now_ms);
}

vf_hostlease_state vf_hostlease_tick(vf_hostlease *l, uint64_t now_ms)
{
	if (!vf_hostlease__clock_ok(l, now_ms))
		return l->state;
	if ((l->state == VF_HOSTLEASE_HELD || l->state == VF_HOSTLEASE_RENEWING) &&
	    now_ms >= l->deadline_ms)
		return vf_hostlease__expire(l, VF_HOSTLEASE_WHY_DEADLINE);
	return l->state;
}

vf_hostlease_state vf_hostlease_renew_sent(vf_hostlease *l, uint64_t now_ms)
{
	if (vf_hostlease_tick(l, now_ms) != VF_HOSTLEASE_HELD &&
	    l->state != VF_HOSTLEASE_RENEWING)
		return l->state;
	l->state = VF_HOSTLEASE_RENEWING;
	l->pending_sent_ms = now_ms;
	return l->state;
}

vf_hostlease_state vf_hostlease_renewed(vf_hostlease *l, uint64_t sent_ms, uint64_t ttl_ms,
					uint64_t now_ms)
{
	/* The deadline is checked before the answer is looked at: an
	 * acknowledgement that arrives after the deadline revives nothing,
	 * since the fence has fired (or may have) and another host may own
	 * the domains. */
	vf_hostlease_tick(l, now_ms);
	if (l->state != VF_HOSTLEASE_RENEWING && l->state != VF_HOSTLEASE_HELD)
		return l->state;
	return vf_hostlease__ack(l, sent_ms, ttl_ms, now_ms);
}

vf_hostlease_state vf_hostlease_renew_failed(vf_hostlease *l, uint64_t now_ms)
{
	if (vf_hostlease_tick(l, now_ms) == VF_HOSTLEASE_RENEWING)
		l->state = VF_HOSTLEASE_HELD;   /* try again; the deadline stands */
	return l->state;
}

vf_hostlease_state vf_hostlease_release(vf_hostlease *l, uint64_t now_ms)
{
	if (vf_hostlease_tick(l, now_ms) != VF_HOSTLEASE_EXPIRED && !vf_hostlease__final(l)) {
		l->state = VF_HOSTLEASE_RELEASED;
		l->deadline_ms = 0;
	}
	return l->state;
}

bool vf_hostlease_may_run(const vf_hostlease *l, uint64_t now_ms)
{
	return (l->state == VF_HOSTLEASE_HELD || l->state == VF_HOSTLEASE_RENEWING) &&
	       now_ms >= l->seen_ms && now_ms < l->deadline_ms;
}

uint64_t vf_hostlease_next_renew_ms(const vf_hostlease *l)
{
	return l->acked_sent_ms + l->ttl_ms / 3;
}
