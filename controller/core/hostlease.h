/* hostlease.h: a host's etcd lease as a state machine, and the fence
 * deadline arithmetic, as pure code: every event carries the monotonic
 * time it happened (ms), nothing here reads a clock, sleeps or talks to
 * etcd, so every transition is unit-tested with plain numbers. The caller
 * (the watch daemon, later) sends the requests (drivers/etcd/) and feeds
 * the answers in; the fence helper (drivers/fence/) holds the deadline.
 * docs/fleet.md has the timing diagram and its assumptions.
 *
 * The rule: a host may run placed domains only while now < deadline, and
 *   deadline = (send time of the newest keepalive etcd acknowledged)
 *              + TTL - margin,
 * on this host's monotonic clock (CLOCK_BOOTTIME, which counts a
 * suspend). etcd renews a lease when it receives the request, which is
 * after we sent it, so its expiry is at the earliest sent + TTL (on
 * etcd's clock); the margin covers clock rates, the time a kill takes,
 * and scheduling. Never from the answer's arrival time: a slow
 * answer would push the deadline past etcd's expiry. */
#pragma once

#include "controller/core/error.h"
#include "controller/core/util.h"

#include <stdbool.h>
#include <stdint.h>

typedef enum vf_hostlease_state {
	VF_HOSTLEASE_ACQUIRING,   /* grant sent, not answered: nothing may run */
	VF_HOSTLEASE_HELD,        /* granted or renewed; now < deadline */
	VF_HOSTLEASE_RENEWING,    /* a keepalive is out; still held until the deadline */
	VF_HOSTLEASE_EXPIRED,     /* deadline passed, etcd said gone, or the clock went
				   * back: fence (destroy placed domains); final */
	VF_HOSTLEASE_RELEASED,    /* given up on purpose (revoked) before any expiry; final */
	VF_HOSTLEASE_STATE_MAX,
} vf_hostlease_state;

VF_STRING_TABLE_DECL(vf_hostlease_state, vf_hostlease_state);

/* Why a lease ended in EXPIRED. */
typedef enum vf_hostlease_why {
	VF_HOSTLEASE_WHY_NONE,
	VF_HOSTLEASE_WHY_DEADLINE,    /* no acknowledged keepalive in time */
	VF_HOSTLEASE_WHY_GONE,        /* etcd answered TTL 0: expired or revoked there */
	VF_HOSTLEASE_WHY_LATE,        /* an answer came when its deadline had passed */
	VF_HOSTLEASE_WHY_CLOCK,       /* a time earlier than one already seen */
	VF_HOSTLEASE_WHY_MAX,
} vf_hostlease_why;

VF_STRING_TABLE_DECL(vf_hostlease_why, vf_hostlease_why);

typedef struct vf_hostlease {
	vf_hostlease_state state;
	vf_hostlease_why why;     /* set when state is EXPIRED */
	uint64_t ttl_ms;          /* as requested; an answer's TTL replaces it */
	uint64_t margin_ms;
	uint64_t deadline_ms;     /* HELD/RENEWING: run placed domains only before it */
	uint64_t acked_sent_ms;   /* send time of the newest acknowledged request */
	uint64_t pending_sent_ms; /* send time of the request out now (ACQUIRING/RENEWING) */
	uint64_t seen_ms;         /* the latest time any event carried */
} vf_hostlease;

/* The default margin for a TTL: a fifth of it, at least 500 ms. */
uint64_t vf_hostlease_default_margin(uint64_t ttl_ms);

/* Start: the grant request is sent at now_ms. margin_ms must be below
 * ttl_ms, and leave at least a third of the TTL (the keepalive period)
 * between two deadlines; otherwise VF_E_USAGE and *l is untouched. */
int vf_hostlease_begin(vf_hostlease *l, uint64_t ttl_ms, uint64_t margin_ms, uint64_t now_ms,
		       vf_error *err);

/* Events. Each returns the new state. `sent_ms` is the send time of the
 * request being answered, `ttl_ms` what etcd answered (0: gone). */
vf_hostlease_state vf_hostlease_granted(vf_hostlease *l, uint64_t sent_ms, uint64_t ttl_ms,
					uint64_t now_ms);
vf_hostlease_state vf_hostlease_renew_sent(vf_hostlease *l, uint64_t now_ms);
vf_hostlease_state vf_hostlease_renewed(vf_hostlease *l, uint64_t sent_ms, uint64_t ttl_ms,
					uint64_t now_ms);
/* The keepalive failed (no endpoint answered): still held until the deadline. */
vf_hostlease_state vf_hostlease_renew_failed(vf_hostlease *l, uint64_t now_ms);
/* Time passes: HELD/RENEWING become EXPIRED at the deadline. */
vf_hostlease_state vf_hostlease_tick(vf_hostlease *l, uint64_t now_ms);
/* Given up on purpose (the caller revokes it): RELEASED, unless it had
 * expired already, which stays EXPIRED (the fence has fired). */
vf_hostlease_state vf_hostlease_release(vf_hostlease *l, uint64_t now_ms);

/* May placed domains run at now_ms? HELD or RENEWING and before the
 * deadline; a pure question (does not change *l). */
bool vf_hostlease_may_run(const vf_hostlease *l, uint64_t now_ms);
/* When the next keepalive is due: a third of the TTL after the newest
 * acknowledged send (etcd's own clients renew at TTL/3). */
uint64_t vf_hostlease_next_renew_ms(const vf_hostlease *l);
