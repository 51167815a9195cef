/* watch_sched.h: the watch daemon's timing decisions as pure functions of
 * the clock it is handed: debouncing bursts of file events, per-object
 * exponential backoff, holding a backed-off object's steps out of a plan,
 * and which file names are worth a reconcile. No I/O, no threads. */
#pragma once

#include <stdint.h>

#include "controller/plan/plan.h"
#include "controller/core/util.h"

/* Milliseconds on CLOCK_MONOTONIC. */
uint64_t vf_now_ms(void);

/* ---- debounce ---------------------------------------------------------- */

/* Fires `delay` after the last poke, but never later than `delay` * 8
 * (at least 2 s) after the first one, so a steady trickle of writes cannot
 * starve reconciles forever. */
typedef struct vf_debounce {
	bool armed;
	uint64_t first_ms;        /* first poke since the last fire */
	uint64_t deadline_ms;     /* when it fires */
	unsigned pokes;           /* pokes folded into this firing */
} vf_debounce;

void vf_debounce_poke(vf_debounce *d, uint64_t now_ms, unsigned delay_ms);
bool vf_debounce_due(const vf_debounce *d, uint64_t now_ms);
/* Disarm after firing; returns how many pokes it folded together. */
unsigned vf_debounce_fire(vf_debounce *d);

/* ---- per-object backoff ------------------------------------------------- */

typedef struct vf_backoff_entry {
	char *key;                /* "Domain/web", "Volume/pool/disk" */
	unsigned failures;        /* consecutive failed attempts */
	uint64_t next_ms;         /* not retried before this */
	char *error;              /* the last failure's message */
} vf_backoff_entry;

typedef struct vf_backoff {
	vf_backoff_entry *items;
	size_t n;
	size_t cap;
	uint64_t base_ms;         /* first delay (1000) */
	uint64_t max_ms;          /* cap (--max-backoff) */
} vf_backoff;

/* base doubled per earlier failure, capped at max: 1 s, 2 s, 4 s, ... */
uint64_t vf_backoff_delay(unsigned failures, uint64_t base_ms, uint64_t max_ms);
/* Record a failure of `key` at now; returns the entry (borrowed). */
const vf_backoff_entry *vf_backoff_fail(vf_backoff *b, const char *key, uint64_t now_ms,
					const char *error);
/* Forget `key` (it succeeded or converged); true if it was there. */
bool vf_backoff_clear(vf_backoff *b, const char *key);
const vf_backoff_entry *vf_backoff_find(const vf_backoff *b, const char *key);
/* True while `key` must not be retried. */
bool vf_backoff_waiting(const vf_backoff *b, const char *key, uint64_t now_ms);
/* True when some object's retry time fell in (since_ms, now_ms]: it came
 * due after the last pass and deserves one now. */
bool vf_backoff_due_between(const vf_backoff *b, uint64_t since_ms, uint64_t now_ms);
/* The earliest retry time after now_ms, or 0 when nothing waits. */
uint64_t vf_backoff_next_due(const vf_backoff *b, uint64_t now_ms);
void vf_backoff_free(vf_backoff *b);

/* "Domain/web" or "Volume/POOL/NAME": the key a step is backed off under.
 * The caller frees it. */
char *vf_step_key(const vf_step *s);

/* Move every step of an object still waiting in `b` out of `plan` into
 * `held` (both keep their order; counts are recomputed). Returns how
 * many steps were held back. The caller frees `held` with vf_plan_free. */
size_t vf_plan_hold_back(vf_plan *plan, const vf_backoff *b, uint64_t now_ms, vf_plan *held);

/* ---- file names ---------------------------------------------------------- */

/* Whether a change to `name` (a base name) can change the manifest set:
 * directories that are not hidden, and *.yaml / *.yml files that are not
 * editor temporaries or hidden (`.#x`, `x~`, `#x#`, `.x.swp`, `.x`). */
bool vf_watch_name_relevant(const char *name, bool is_dir);
