/* observed_compare.c: does a cache of observed state (the watch daemon's,
 * kept up to date by events) agree with a fresh observation? Compares what
 * the planner reads, object by object, and names each disagreement. Not
 * for figures libvirt changes on its own without an event (a pool's
 * capacity, a volume's allocation) nor leases, which are read afresh
 * before any step. Not for deciding what to do about it: the daemon
 * counts and logs. */
#include "driver.h"

typedef struct vf_cmp {
	bool (*skip)(vf_kind kind, const char *name, void *userdata);
	void (*report)(const char *what, void *userdata);
	void *userdata;
	size_t n;
} vf_cmp;

static void vf_cmp__say(vf_cmp *c, char *what /* taken */)
{
	c->n++;
	if (c->report)
		c->report(what, c->userdata);
	free(what);
}

static const char *vf_cmp__b(bool b)
{
	return b ? "true" : "false";
}

/* The first field that differs, as "field: cache → host"; NULL when equal. */
static char *vf_cmp__domain(const vf_obs_domain *a, const vf_obs_domain *b)
{
	if (a->state != b->state || !vf_streq_null(a->state_name, b->state_name))
		return vf_asprintf("state: %s -> %s", a->state_name ? a->state_name : "?",
				   b->state_name ? b->state_name : "?");
	if (a->autostart != b->autostart)
		return vf_asprintf("autostart: %s -> %s", vf_cmp__b(a->autostart), vf_cmp__b(b->autostart));
	if (a->persistent != b->persistent)
		return vf_asprintf("persistent: %s -> %s", vf_cmp__b(a->persistent),
				   vf_cmp__b(b->persistent));
	if (!vf_streq_null(a->name, b->name))
		return vf_asprintf("name: %s -> %s", a->name, b->name);
	if (a->live_vcpus != b->live_vcpus)
		return vf_asprintf("live vCPUs: %u -> %u", a->live_vcpus, b->live_vcpus);
	if (a->live_memory != b->live_memory)
		return vf_asprintf("live memory: %llu -> %llu bytes", (unsigned long long)a->live_memory,
				   (unsigned long long)b->live_memory);
	if (!vf_streq_null(a->xml, b->xml))
		return vf_strdup("inactive XML differs");
	return NULL;
}

static char *vf_cmp__pool(const vf_obs_pool *a, const vf_obs_pool *b)
{
	if (a->active != b->active)
		return vf_asprintf("active: %s -> %s", vf_cmp__b(a->active), vf_cmp__b(b->active));
	if (a->autostart != b->autostart)
		return vf_asprintf("autostart: %s -> %s", vf_cmp__b(a->autostart), vf_cmp__b(b->autostart));
	if (a->persistent != b->persistent)
		return vf_asprintf("persistent: %s -> %s", vf_cmp__b(a->persistent),
				   vf_cmp__b(b->persistent));
	if (!vf_streq_null(a->type_name, b->type_name) || !vf_streq_null(a->target_path, b->target_path) ||
	    !vf_streq_null(a->source.device, b->source.device) ||
	    !vf_streq_null(a->source.host, b->source.host) || !vf_streq_null(a->source.dir, b->source.dir) ||
	    !vf_streq_null(a->source.name, b->source.name) ||
	    !vf_streq_null(a->source.format, b->source.format) || a->owner != b->owner ||
	    a->group != b->group || a->mode != b->mode)
		return vf_strdup("definition differs");
	if (a->contents_known != b->contents_known || a->n_entries != b->n_entries)
		return vf_asprintf("entries in its directory: %zu -> %zu", a->n_entries, b->n_entries);
	for (size_t i = 0; i < a->n_entries; i++)
		if (!vf_streq(a->entries[i], b->entries[i]))
			return vf_asprintf("entries in its directory: %s -> %s", a->entries[i], b->entries[i]);
	return NULL;
}

static char *vf_cmp__volume(const vf_obs_volume *a, const vf_obs_volume *b)
{
	if (a->capacity != b->capacity)
		return vf_asprintf("capacity: %llu -> %llu", (unsigned long long)a->capacity,
				   (unsigned long long)b->capacity);
	if (!vf_streq_null(a->path, b->path) || !vf_streq_null(a->format_name, b->format_name) ||
	    !vf_streq_null(a->backing_path, b->backing_path) || a->owner != b->owner ||
	    a->group != b->group || a->mode != b->mode)
		return vf_strdup("definition differs");
	return NULL;
}

static bool vf_cmp__skipped(vf_cmp *c, vf_kind kind, const char *name)
{
	return c->skip && c->skip(kind, name, c->userdata);
}

static void vf_cmp__domains(vf_cmp *c, const vf_observed *cache, const vf_observed *fresh)
{
	for (size_t i = 0; i < fresh->n_domains; i++) {
		const vf_obs_domain *b = &fresh->domains[i];
		const vf_obs_domain *a = vf_observed_domain_by_uuid(cache, b->uuid);
		if (vf_cmp__skipped(c, VF_KIND_DOMAIN, b->name) ||
		    (a && vf_cmp__skipped(c, VF_KIND_DOMAIN, a->name)))
			continue;
		if (!a) {
			vf_cmp__say(c, vf_asprintf("Domain/%s: on the host, not in the cache", b->name));
			continue;
		}
		char *what = vf_cmp__domain(a, b);
		if (what) {
			vf_cmp__say(c, vf_asprintf("Domain/%s: %s", b->name, what));
			free(what);
		}
	}
	for (size_t i = 0; i < cache->n_domains; i++) {
		const vf_obs_domain *a = &cache->domains[i];
		if (!vf_observed_domain_by_uuid(fresh, a->uuid) &&
		    !vf_cmp__skipped(c, VF_KIND_DOMAIN, a->name))
			vf_cmp__say(c, vf_asprintf("Domain/%s: in the cache, gone from the host", a->name));
	}
}

static void vf_cmp__pools(vf_cmp *c, const vf_observed *cache, const vf_observed *fresh)
{
	for (size_t i = 0; i < fresh->n_pools; i++) {
		const vf_obs_pool *b = &fresh->pools[i];
		const vf_obs_pool *a = vf_observed_pool_by_uuid(cache, b->uuid);
		if (vf_cmp__skipped(c, VF_KIND_POOL, b->name) ||
		    (a && vf_cmp__skipped(c, VF_KIND_POOL, a->name)))
			continue;
		if (!a) {
			vf_cmp__say(c, vf_asprintf("StoragePool/%s: on the host, not in the cache", b->name));
			continue;
		}
		char *what = vf_cmp__pool(a, b);
		if (what) {
			vf_cmp__say(c, vf_asprintf("StoragePool/%s: %s", b->name, what));
			free(what);
		}
	}
	for (size_t i = 0; i < cache->n_pools; i++) {
		const vf_obs_pool *a = &cache->pools[i];
		if (!vf_observed_pool_by_uuid(fresh, a->uuid) && !vf_cmp__skipped(c, VF_KIND_POOL, a->name))
			vf_cmp__say(c, vf_asprintf("StoragePool/%s: in the cache, gone from the host", a->name));
	}
}

/* Volumes are re-read with their pool, so a pool in flight skips its volumes. */
static void vf_cmp__volumes(vf_cmp *c, const vf_observed *cache, const vf_observed *fresh)
{
	for (size_t i = 0; i < fresh->n_volumes; i++) {
		const vf_obs_volume *b = &fresh->volumes[i];
		if (vf_cmp__skipped(c, VF_KIND_POOL, b->pool))
			continue;
		const vf_obs_volume *a = vf_observed_volume(cache, b->pool, b->name);
		char *what = a ? vf_cmp__volume(a, b) : vf_strdup("on the host, not in the cache");
		if (what) {
			vf_cmp__say(c, vf_asprintf("Volume/%s/%s: %s", b->pool, b->name, what));
			free(what);
		}
	}
	for (size_t i = 0; i < cache->n_volumes; i++) {
		const vf_obs_volume *a = &cache->volumes[i];
		if (!vf_cmp__skipped(c, VF_KIND_POOL, a->pool) &&
		    !vf_observed_volume(fresh, a->pool, a->name))
			vf_cmp__say(c, vf_asprintf("Volume/%s/%s: in the cache, gone from the host", a->pool,
						   a->name));
	}
}

size_t vf_observed_compare(const vf_observed *cache, const vf_observed *fresh,
			   bool (*skip)(vf_kind kind, const char *name, void *userdata),
			   void (*report)(const char *what, void *userdata), void *userdata)
{
	vf_cmp c = { .skip = skip, .report = report, .userdata = userdata };
	vf_cmp__domains(&c, cache, fresh);
	vf_cmp__pools(&c, cache, fresh);
	vf_cmp__volumes(&c, cache, fresh);
	return c.n;
}
