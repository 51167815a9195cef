/* index.c: open-addressing hash tables (linear probing, power-of-two size,
 * at most half full) over the planner's inputs, so that planning is linear
 * in the number of objects. The first insertion of a key wins, which is
 * what a front-to-back scan finds. Not for deciding anything: the kinds' planners. */
#include "controller/plan/index.h"

#include <string.h>

/* ---- hashing -------------------------------------------------------------- */

#define VF_FNV_OFFSET 1469598103934665603ull
#define VF_FNV_PRIME 1099511628211ull

static uint64_t vf_ix__mix(uint64_t h, const void *p, size_t n)
{
	const unsigned char *s = p;
	for (size_t i = 0; i < n; i++) {
		h ^= s[i];
		h *= VF_FNV_PRIME;
	}
	return h;
}

static uint64_t vf_ix__mix_str(uint64_t h, const char *s)
{
	if (!s)
		return vf_ix__mix(h, "\x01", 1);
	h = vf_ix__mix(h, s, strlen(s));
	return vf_ix__mix(h, "\0", 1);
}

static size_t vf_ix__size_for(size_t n)
{
	size_t size = 16;
	while (size < 2 * n + 1)
		size *= 2;
	return size;
}

/* ---- the generic table: (kind, a, b, uuid) -> value ----------------------- */

/* A key: NULL strings and a NULL uuid are "not part of this key" (the
 * callers never insert or look up a key whose meaningful part is NULL). */
typedef struct vf_ix_key {
	int kind;
	const char *a;
	const char *b;
	const unsigned char *uuid;
} vf_ix_key;

typedef struct vf_ix_slot {
	uint64_t hash;
	vf_ix_key key;
	const void *val;          /* NULL: an empty slot */
} vf_ix_slot;

typedef struct vf_ix_table {
	vf_ix_slot *slots;
	size_t mask;
} vf_ix_table;

static uint64_t vf_ix__hash(const vf_ix_key *k)
{
	uint64_t h = vf_ix__mix(VF_FNV_OFFSET, &k->kind, sizeof(k->kind));
	h = vf_ix__mix_str(h, k->a);
	h = vf_ix__mix_str(h, k->b);
	if (k->uuid)
		h = vf_ix__mix(h, k->uuid, sizeof(uuid_t));
	return h;
}

static bool vf_ix__str_same(const char *x, const char *y)
{
	return x && y ? strcmp(x, y) == 0 : x == y;
}

static bool vf_ix__key_same(const vf_ix_key *x, const vf_ix_key *y)
{
	if (x->kind != y->kind || !vf_ix__str_same(x->a, y->a) || !vf_ix__str_same(x->b, y->b))
		return false;
	if (!x->uuid || !y->uuid)
		return x->uuid == y->uuid;
	return memcmp(x->uuid, y->uuid, sizeof(uuid_t)) == 0;
}

static void vf_ix__init(vf_ix_table *t, size_t n)
{
	size_t size = vf_ix__size_for(n);
	t->slots = vf_calloc(size, sizeof(*t->slots));
	t->mask = size - 1;
}

static vf_ix_slot *vf_ix__find(const vf_ix_table *t, const vf_ix_key *k, uint64_t h)
{
	for (size_t i = h & t->mask;; i = (i + 1) & t->mask) {
		vf_ix_slot *s = &t->slots[i];
		if (!s->val || (s->hash == h && vf_ix__key_same(&s->key, k)))
			return s;
	}
}

/* Insert unless the key is there already (the first one wins). The table
 * was sized for every insertion, so it never fills. */
static void vf_ix__put(vf_ix_table *t, vf_ix_key k, const void *val)
{
	uint64_t h = vf_ix__hash(&k);
	vf_ix_slot *s = vf_ix__find(t, &k, h);
	if (s->val)
		return;
	*s = (vf_ix_slot){ .hash = h, .key = k, .val = val };
}

static const void *vf_ix__get(const vf_ix_table *t, vf_ix_key k)
{
	if (!t->slots)
		return NULL;
	return vf_ix__find(t, &k, vf_ix__hash(&k))->val;
}

/* ---- the string map ------------------------------------------------------- */

struct vf_strmap {
	vf_ix_table t;            /* key.a is the owned copy; val points into vals */
	void **vals;              /* one value slot per key, in insertion order */
	size_t n, cap;
};

vf_strmap *vf_strmap_new(size_t hint)
{
	vf_strmap *m = vf_calloc(1, sizeof(*m));
	m->cap = hint ? hint : 1;
	vf_ix__init(&m->t, m->cap);
	m->vals = vf_calloc(m->cap, sizeof(*m->vals));
	return m;
}

void vf_strmap_free(vf_strmap *m, void (*free_val)(void *))
{
	if (!m)
		return;
	for (size_t i = 0; i <= m->t.mask; i++)
		if (m->t.slots[i].val)
			free((char *)(uintptr_t)m->t.slots[i].key.a);
	for (size_t i = 0; free_val && i < m->n; i++)
		if (m->vals[i])
			free_val(m->vals[i]);
	free(m->t.slots);
	free(m->vals);
	free(m);
}

static void vf_strmap__grow(vf_strmap *m)
{
	vf_ix_table old = m->t;
	m->cap *= 2;
	vf_ix__init(&m->t, m->cap);
	for (size_t i = 0; i <= old.mask; i++) {
		vf_ix_slot *s = &old.slots[i];
		if (!s->val)
			continue;
		/* values are indexes into vals, stable across a grow */
		*vf_ix__find(&m->t, &s->key, s->hash) = *s;
	}
	free(old.slots);
	m->vals = vf_realloc(m->vals, m->cap * sizeof(*m->vals));
	memset(m->vals + m->n, 0, (m->cap - m->n) * sizeof(*m->vals));
}

/* Values are stored as 1-based indexes into vals so a grow of vals
 * (realloc) never leaves a table slot pointing at freed memory. */
void **vf_strmap_slot(vf_strmap *m, const char *key)
{
	vf_ix_key k = { .a = key };
	uint64_t h = vf_ix__hash(&k);
	vf_ix_slot *s = vf_ix__find(&m->t, &k, h);
	if (s->val)
		return &m->vals[(uintptr_t)s->val - 1];
	if (m->n == m->cap) {
		vf_strmap__grow(m);
		s = vf_ix__find(&m->t, &k, h);
	}
	k.a = vf_strdup(key);
	*s = (vf_ix_slot){ .hash = h, .key = k, .val = (const void *)(uintptr_t)(m->n + 1) };
	return &m->vals[m->n++];
}

void *vf_strmap_get(const vf_strmap *m, const char *key)
{
	if (!m || !key)
		return NULL;
	const void *i = vf_ix__get(&m->t, (vf_ix_key){ .a = key });
	return i ? m->vals[(uintptr_t)i - 1] : NULL;
}

/* ---- the planner's index -------------------------------------------------- */

struct vf_index {
	vf_ix_table desired;      /* (kind, pool for volumes, name) -> vf_object */
	vf_ix_table ledger;       /* (kind, pool for volumes, name) -> vf_ledger_entry */
	vf_ix_table pools;        /* (0, name) and (1, uuid) -> vf_obs_pool */
	vf_ix_table volumes;      /* (0, pool, name) and (1, path) -> vf_obs_volume */
	vf_ix_table domains;      /* (0, name) and (1, uuid) -> vf_obs_domain */
	vf_ix_table leases;       /* (0, path) -> vf_lease */
};

/* The key vf_desired_find and vf_ledger_find compare: the pool only for
 * volumes. false when no object can match (a NULL name or volume pool). */
static bool vf_ix__obj_key(vf_kind kind, const char *pool, const char *name, vf_ix_key *out)
{
	if (!name || (kind == VF_KIND_VOLUME && !pool))
		return false;
	*out = (vf_ix_key){ .kind = (int)kind, .a = kind == VF_KIND_VOLUME ? pool : NULL, .b = name };
	return true;
}

vf_index *vf_index_new(const vf_desired *d, const vf_observed *o, const vf_ledger *l)
{
	vf_index *ix = vf_calloc(1, sizeof(*ix));
	vf_ix_key k;
	size_t n = d ? d->n : 0;
	vf_ix__init(&ix->desired, n);
	for (size_t i = 0; i < n; i++) {
		const vf_object *ob = &d->objs[i];
		const char *pool = ob->kind == VF_KIND_VOLUME ? ob->u.volume.pool : NULL;
		if (vf_ix__obj_key(ob->kind, pool, ob->name, &k))
			vf_ix__put(&ix->desired, k, ob);
	}
	n = l ? l->n : 0;
	vf_ix__init(&ix->ledger, n);
	for (size_t i = 0; i < n; i++) {
		const vf_ledger_entry *e = &l->entries[i];
		if (vf_ix__obj_key(e->kind, e->pool, e->name, &k))
			vf_ix__put(&ix->ledger, k, e);
	}

	static const vf_observed none;
	if (!o)
		o = &none;
	vf_ix__init(&ix->pools, 2 * o->n_pools);
	for (size_t i = 0; i < o->n_pools; i++) {
		const vf_obs_pool *p = &o->pools[i];
		if (p->name)
			vf_ix__put(&ix->pools, (vf_ix_key){ .b = p->name }, p);
		vf_ix__put(&ix->pools, (vf_ix_key){ .kind = 1, .uuid = p->uuid }, p);
	}
	vf_ix__init(&ix->volumes, 2 * o->n_volumes);
	size_t n_disks = 0;
	for (size_t i = 0; i < o->n_volumes; i++) {
		const vf_obs_volume *v = &o->volumes[i];
		if (v->pool && v->name)
			vf_ix__put(&ix->volumes, (vf_ix_key){ .a = v->pool, .b = v->name }, v);
		if (v->path)
			vf_ix__put(&ix->volumes, (vf_ix_key){ .kind = 1, .b = v->path }, v);
	}
	vf_ix__init(&ix->domains, 2 * o->n_domains);
	for (size_t i = 0; i < o->n_domains; i++) {
		const vf_obs_domain *dom = &o->domains[i];
		if (dom->name)
			vf_ix__put(&ix->domains, (vf_ix_key){ .b = dom->name }, dom);
		vf_ix__put(&ix->domains, (vf_ix_key){ .kind = 1, .uuid = dom->uuid }, dom);
		n_disks += dom->n_disks;
	}
	/* Volumes first: a volume's lease is found before a domain disk's. */
	vf_ix__init(&ix->leases, o->n_volumes + n_disks);
	for (size_t i = 0; i < o->n_volumes; i++) {
		const vf_obs_volume *v = &o->volumes[i];
		if (v->lease.held && v->path)
			vf_ix__put(&ix->leases, (vf_ix_key){ .b = v->path }, &v->lease);
	}
	for (size_t i = 0; i < o->n_domains; i++)
		for (size_t j = 0; j < o->domains[i].n_disks; j++) {
			const vf_obs_disk *dk = &o->domains[i].disks[j];
			if (dk->lease.held && dk->path)
				vf_ix__put(&ix->leases, (vf_ix_key){ .b = dk->path }, &dk->lease);
		}
	return ix;
}

void vf_index_free(vf_index *ix)
{
	if (!ix)
		return;
	free(ix->desired.slots);
	free(ix->ledger.slots);
	free(ix->pools.slots);
	free(ix->volumes.slots);
	free(ix->domains.slots);
	free(ix->leases.slots);
	free(ix);
}

const vf_object *vf_index_desired(const vf_index *ix, vf_kind kind, const char *pool,
				  const char *name)
{
	vf_ix_key k;
	return vf_ix__obj_key(kind, pool, name, &k) ? vf_ix__get(&ix->desired, k) : NULL;
}

const vf_ledger_entry *vf_index_ledger(const vf_index *ix, vf_kind kind, const char *pool,
				       const char *name)
{
	vf_ix_key k;
	return vf_ix__obj_key(kind, pool, name, &k) ? vf_ix__get(&ix->ledger, k) : NULL;
}

const vf_obs_pool *vf_index_pool(const vf_index *ix, const char *name)
{
	return name ? vf_ix__get(&ix->pools, (vf_ix_key){ .b = name }) : NULL;
}

const vf_obs_pool *vf_index_pool_by_uuid(const vf_index *ix, const uuid_t uuid)
{
	return vf_ix__get(&ix->pools, (vf_ix_key){ .kind = 1, .uuid = uuid });
}

const vf_obs_volume *vf_index_volume(const vf_index *ix, const char *pool, const char *name)
{
	if (!pool || !name)
		return NULL;
	return vf_ix__get(&ix->volumes, (vf_ix_key){ .a = pool, .b = name });
}

const vf_obs_volume *vf_index_volume_by_path(const vf_index *ix, const char *path)
{
	return path ? vf_ix__get(&ix->volumes, (vf_ix_key){ .kind = 1, .b = path }) : NULL;
}

const vf_obs_domain *vf_index_domain(const vf_index *ix, const char *name)
{
	return name ? vf_ix__get(&ix->domains, (vf_ix_key){ .b = name }) : NULL;
}

const vf_obs_domain *vf_index_domain_by_uuid(const vf_index *ix, const uuid_t uuid)
{
	return vf_ix__get(&ix->domains, (vf_ix_key){ .kind = 1, .uuid = uuid });
}

const vf_lease *vf_index_lease(const vf_index *ix, const char *path)
{
	return path ? vf_ix__get(&ix->leases, (vf_ix_key){ .b = path }) : NULL;
}
