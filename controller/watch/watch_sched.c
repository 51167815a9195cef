/* watch_sched.c: debounce, per-object backoff and file-name filtering for
 * the watch daemon; pure functions of the time they are given, so the unit
 * tests drive the clock. Not for running anything (watch.c). */
#include <time.h>

#include "controller/watch/watch_sched.h"

uint64_t vf_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void vf_debounce_poke(vf_debounce *d, uint64_t now_ms, unsigned delay_ms)
{
	uint64_t limit = (uint64_t)delay_ms * 8u;
	if (limit < 2000u)
		limit = 2000u;
	if (!d->armed) {
		d->armed = true;
		d->first_ms = now_ms;
		d->pokes = 0;
	}
	d->pokes++;
	d->deadline_ms = now_ms + delay_ms;
	if (d->deadline_ms > d->first_ms + limit)
		d->deadline_ms = d->first_ms + limit;
}

bool vf_debounce_due(const vf_debounce *d, uint64_t now_ms)
{
	return d->armed && now_ms >= d->deadline_ms;
}

unsigned vf_debounce_fire(vf_debounce *d)
{
	unsigned n = d->pokes;
	memset(d, 0, sizeof(*d));
	return n;
}

uint64_t vf_backoff_delay(unsigned failures, uint64_t base_ms, uint64_t max_ms)
{
	uint64_t d = base_ms;
	for (unsigned i = 1; i < failures && d < max_ms; i++)
		d *= 2;
	return d < max_ms ? d : max_ms;
}

static vf_backoff_entry *vf_backoff__find(const vf_backoff *b, const char *key)
{
	for (size_t i = 0; i < b->n; i++)
		if (strcmp(b->items[i].key, key) == 0)
			return &b->items[i];
	return NULL;
}

const vf_backoff_entry *vf_backoff_find(const vf_backoff *b, const char *key)
{
	return vf_backoff__find(b, key);
}

const vf_backoff_entry *vf_backoff_fail(vf_backoff *b, const char *key, uint64_t now_ms,
					const char *error)
{
	vf_backoff_entry *e = vf_backoff__find(b, key);
	if (!e) {
		vf_backoff_entry fresh = { .key = vf_strdup(key) };
		VF_APPEND(b->items, b->n, b->cap, fresh);
		e = &b->items[b->n - 1];
	}
	e->failures++;
	e->next_ms = now_ms + vf_backoff_delay(e->failures, b->base_ms ? b->base_ms : 1000u,
					       b->max_ms ? b->max_ms : 300000u);
	free(e->error);
	e->error = vf_strdup(error);
	return e;
}

bool vf_backoff_clear(vf_backoff *b, const char *key)
{
	vf_backoff_entry *e = vf_backoff__find(b, key);
	if (!e)
		return false;
	free(e->key);
	free(e->error);
	size_t i = (size_t)(e - b->items);
	memmove(e, e + 1, (b->n - i - 1) * sizeof(*e));
	b->n--;
	return true;
}

bool vf_backoff_waiting(const vf_backoff *b, const char *key, uint64_t now_ms)
{
	const vf_backoff_entry *e = vf_backoff__find(b, key);
	return e && now_ms < e->next_ms;
}

bool vf_backoff_due_between(const vf_backoff *b, uint64_t since_ms, uint64_t now_ms)
{
	for (size_t i = 0; i < b->n; i++)
		if (b->items[i].next_ms > since_ms && b->items[i].next_ms <= now_ms)
			return true;
	return false;
}

uint64_t vf_backoff_next_due(const vf_backoff *b, uint64_t now_ms)
{
	uint64_t best = 0;
	for (size_t i = 0; i < b->n; i++)
		if (b->items[i].next_ms > now_ms && (!best || b->items[i].next_ms < best))
			best = b->items[i].next_ms;
	return best;
}

void vf_backoff_free(vf_backoff *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->n; i++) {
		free(b->items[i].key);
		free(b->items[i].error);
	}
	free(b->items);
	b->items = NULL;
	b->n = b->cap = 0;
}

char *vf_step_key(const vf_step *s)
{
	const char *kind = vf_kind_to_string(s->kind);
	if (s->pool)
		return vf_asprintf("%s/%s/%s", kind ? kind : "?", s->pool, s->name);
	return vf_asprintf("%s/%s", kind ? kind : "?", s->name);
}

static void vf_plan__recount(vf_plan *p)
{
	memset(p->counts, 0, sizeof(p->counts));
	for (size_t i = 0; i < p->n; i++)
		if ((int)p->steps[i].action >= 0 && p->steps[i].action < VF_ACT_MAX)
			p->counts[p->steps[i].action]++;
}

size_t vf_plan_hold_back(vf_plan *plan, const vf_backoff *b, uint64_t now_ms, vf_plan *held)
{
	size_t kept = 0, moved = 0;
	for (size_t i = 0; i < plan->n; i++) {
		_cleanup_free_ char *key = vf_step_key(&plan->steps[i]);
		if (vf_backoff_waiting(b, key, now_ms)) {
			VF_APPEND(held->steps, held->n, held->cap, plan->steps[i]);
			moved++;
		} else {
			plan->steps[kept++] = plan->steps[i];
		}
	}
	plan->n = kept;
	vf_plan__recount(plan);
	vf_plan__recount(held);
	return moved;
}

static bool vf__ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

bool vf_watch_name_relevant(const char *name, bool is_dir)
{
	size_t n = name ? strlen(name) : 0;
	if (n == 0 || name[0] == '.')      /* hidden, `.#x` locks, `.x.swp` */
		return false;
	if (name[n - 1] == '~' || (name[0] == '#' && name[n - 1] == '#'))
		return false;
	if (is_dir)
		return true;
	return vf__ends_with(name, ".yaml") || vf__ends_with(name, ".yml");
}
