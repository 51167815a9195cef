/* observed.c: freeing and looking up observed state, shared by every driver
 * and by the planner, and putting one re-read object in place of its old
 * entries (the watch daemon's cache). Not for filling it in: each driver
 * does that. */
#include "driver.h"

static void vf_obs__record_clear(vf_xml_record *r)
{
	free(r->digest);
	free(r->normalised_digest);
	free(r->manifest);
	free(r->normalised);
}

static void vf_obs_pool_clear(vf_obs_pool *p)
{
	free(p->name);
	free(p->type_name);
	free(p->target_path);
	free(p->source.device);
	free(p->source.host);
	free(p->source.dir);
	free(p->source.name);
	free(p->source.format);
	for (size_t i = 0; i < p->n_entries; i++)
		free(p->entries[i]);
	free(p->entries);
	free(p->contents_note);
	free(p->xml_bare);
	free(p->xml_bare_digest);
	vf_obs__record_clear(&p->applied);
}

static void vf_obs_volume_clear(vf_obs_volume *v)
{
	free(v->pool);
	free(v->name);
	free(v->path);
	free(v->format_name);
	free(v->backing_path);
	vf_lease_clear(&v->lease);
}

static void vf_obs_domain_clear(vf_obs_domain *d)
{
	free(d->name);
	free(d->type);
	free(d->machine);
	free(d->boot);
	for (size_t i = 0; i < d->n_disks; i++) {
		free(d->disks[i].path);
		free(d->disks[i].pool);
		free(d->disks[i].volume);
		free(d->disks[i].target);
		vf_lease_clear(&d->disks[i].lease);
	}
	free(d->disks);
	for (size_t i = 0; i < d->n_ifaces; i++) {
		free(d->ifaces[i].network);
		free(d->ifaces[i].bridge);
		free(d->ifaces[i].model);
		free(d->ifaces[i].mac);
	}
	free(d->ifaces);
	free(d->graphics_listen);
	free(d->serial_log);
	free(d->state_name);
	free(d->xml);
	free(d->xml_bare);
	free(d->xml_bare_digest);
	vf_obs__record_clear(&d->applied);
	free(d->seed_hash);
	free(d->fence_host);
	free(d->init);
	vf_strv_free(d->init_args, d->n_init_args);
	vf_kvs_free(d->init_env, d->n_init_env);
	vf_filesystems_free(d->filesystems, d->n_filesystems);
	free(d->uidmap);
	free(d->gidmap);
}

static void vf_obs_network_clear(vf_obs_network *n)
{
	free(n->name);
	vf_net_def_clear(&n->def);
	free(n->live_bridge);
	free(n->xml);
	vf_obs__record_clear(&n->applied);
	free(n->xml_bare);
}

static void vf_obs_hostif_clear(vf_obs_hostif *h)
{
	free(h->name);
	for (size_t i = 0; i < h->n_addrs; i++)
		free(h->addrs[i]);
	free(h->addrs);
}

void vf_observed_free(vf_observed *o)
{
	if (!o)
		return;
	for (size_t i = 0; i < o->n_networks; i++)
		vf_obs_network_clear(&o->networks[i]);
	free(o->networks);
	for (size_t i = 0; i < o->n_hostifs; i++)
		vf_obs_hostif_clear(&o->hostifs[i]);
	free(o->hostifs);
	for (size_t i = 0; i < o->n_pools; i++)
		vf_obs_pool_clear(&o->pools[i]);
	free(o->pools);
	for (size_t i = 0; i < o->n_volumes; i++)
		vf_obs_volume_clear(&o->volumes[i]);
	free(o->volumes);
	for (size_t i = 0; i < o->n_domains; i++)
		vf_obs_domain_clear(&o->domains[i]);
	free(o->domains);
	free(o->hv_type);
	memset(o, 0, sizeof(*o));
}

vf_obs_pool *vf_observed_pool(const vf_observed *o, const char *name)
{
	for (size_t i = 0; i < o->n_pools; i++)
		if (vf_streq(o->pools[i].name, name))
			return &o->pools[i];
	return NULL;
}

vf_obs_pool *vf_observed_pool_by_uuid(const vf_observed *o, const uuid_t uuid)
{
	for (size_t i = 0; i < o->n_pools; i++)
		if (uuid_compare(o->pools[i].uuid, uuid) == 0)
			return &o->pools[i];
	return NULL;
}

vf_obs_volume *vf_observed_volume(const vf_observed *o, const char *pool, const char *name)
{
	for (size_t i = 0; i < o->n_volumes; i++)
		if (vf_streq(o->volumes[i].pool, pool) && vf_streq(o->volumes[i].name, name))
			return &o->volumes[i];
	return NULL;
}

vf_obs_domain *vf_observed_domain(const vf_observed *o, const char *name)
{
	for (size_t i = 0; i < o->n_domains; i++)
		if (vf_streq(o->domains[i].name, name))
			return &o->domains[i];
	return NULL;
}

vf_obs_domain *vf_observed_domain_by_uuid(const vf_observed *o, const uuid_t uuid)
{
	for (size_t i = 0; i < o->n_domains; i++)
		if (uuid_compare(o->domains[i].uuid, uuid) == 0)
			return &o->domains[i];
	return NULL;
}

void vf_lease_clear(vf_lease *l)
{
	if (!l)
		return;
	free(l->command);
	free(l->lockspace);
	free(l->lock_path);
	memset(l, 0, sizeof(*l));
}

void vf_lock_holder_clear(vf_lock_holder *h)
{
	if (!h)
		return;
	free(h->command);
	free(h->since);
	free(h->host);
	memset(h, 0, sizeof(*h));
}

void vf_host_id_clear(vf_host_id *h)
{
	if (!h)
		return;
	free(h->uri);
	free(h->uuid);
	free(h->hostname);
	memset(h, 0, sizeof(*h));
}

vf_obs_network *vf_observed_network(const vf_observed *o, const char *name)
{
	for (size_t i = 0; i < o->n_networks; i++)
		if (vf_streq(o->networks[i].name, name))
			return &o->networks[i];
	return NULL;
}

vf_obs_network *vf_observed_network_by_uuid(const vf_observed *o, const uuid_t uuid)
{
	for (size_t i = 0; i < o->n_networks; i++)
		if (uuid_compare(o->networks[i].uuid, uuid) == 0)
			return &o->networks[i];
	return NULL;
}

/* ---- replacing one object (the watch daemon's cache) ---------------------- */

bool vf_observed_take_volume(vf_observed *o, const char *pool, const char *name,
			     vf_obs_volume *out)
{
	for (size_t i = 0; i < o->n_volumes; i++) {
		if (!vf_streq(o->volumes[i].pool, pool) || !vf_streq(o->volumes[i].name, name))
			continue;
		*out = o->volumes[i];
		memmove(&o->volumes[i], &o->volumes[i + 1], (o->n_volumes - i - 1) * sizeof(*o->volumes));
		o->n_volumes--;
		return true;
	}
	return false;
}

static bool vf_observed__same(const char *name_a, const unsigned char *uuid_a, const char *name_b,
			      const unsigned char *uuid_b)
{
	return (uuid_a && uuid_b && uuid_compare(uuid_a, uuid_b) == 0) || vf_streq(name_a, name_b);
}

void vf_observed_put_domain(vf_observed *o, const char *name, const unsigned char *uuid,
			    vf_obs_domain *fresh)
{
	size_t k = 0;
	for (size_t i = 0; i < o->n_domains; i++) {
		vf_obs_domain *d = &o->domains[i];
		if (vf_observed__same(d->name, d->uuid, name, uuid) ||
		    (fresh && vf_observed__same(d->name, d->uuid, fresh->name, fresh->uuid)))
			vf_obs_domain_clear(d);
		else
			o->domains[k++] = *d;
	}
	o->n_domains = k;
	if (!fresh)
		return;
	o->domains = vf_realloc(o->domains, (o->n_domains + 1) * sizeof(*o->domains));
	o->domains[o->n_domains++] = *fresh;
	memset(fresh, 0, sizeof(*fresh));
}

void vf_observed_put_network(vf_observed *o, const char *name, const unsigned char *uuid,
			     vf_obs_network *fresh)
{
	size_t k = 0;
	for (size_t i = 0; i < o->n_networks; i++) {
		vf_obs_network *n = &o->networks[i];
		if (vf_observed__same(n->name, n->uuid, name, uuid) ||
		    (fresh && vf_observed__same(n->name, n->uuid, fresh->name, fresh->uuid)))
			vf_obs_network_clear(n);
		else
			o->networks[k++] = *n;
	}
	o->n_networks = k;
	if (!fresh)
		return;
	o->networks = vf_realloc(o->networks, (o->n_networks + 1) * sizeof(*o->networks));
	o->networks[o->n_networks++] = *fresh;
	memset(fresh, 0, sizeof(*fresh));
}

static void vf_observed__drop_volumes(vf_observed *o, const char *pool)
{
	size_t k = 0;
	for (size_t i = 0; i < o->n_volumes; i++) {
		if (vf_streq(o->volumes[i].pool, pool))
			vf_obs_volume_clear(&o->volumes[i]);
		else
			o->volumes[k++] = o->volumes[i];
	}
	o->n_volumes = k;
}

void vf_observed_put_pool(vf_observed *o, const char *name, const unsigned char *uuid,
			  vf_obs_pool *fresh, vf_obs_volume *vols, size_t n_vols)
{
	size_t k = 0;
	for (size_t i = 0; i < o->n_pools; i++) {
		vf_obs_pool *p = &o->pools[i];
		if (vf_observed__same(p->name, p->uuid, name, uuid) ||
		    (fresh && vf_observed__same(p->name, p->uuid, fresh->name, fresh->uuid))) {
			vf_observed__drop_volumes(o, p->name);
			vf_obs_pool_clear(p);
		} else {
			o->pools[k++] = *p;
		}
	}
	o->n_pools = k;
	vf_observed__drop_volumes(o, name); /* volumes of a pool the cache never had */
	if (fresh) {
		o->pools = vf_realloc(o->pools, (o->n_pools + 1) * sizeof(*o->pools));
		o->pools[o->n_pools++] = *fresh;
		memset(fresh, 0, sizeof(*fresh));
		if (n_vols) {
			o->volumes = vf_realloc(o->volumes, (o->n_volumes + n_vols) * sizeof(*o->volumes));
			memcpy(o->volumes + o->n_volumes, vols, n_vols * sizeof(*vols));
			o->n_volumes += n_vols;
			n_vols = 0;
		}
	}
	for (size_t i = 0; i < n_vols; i++)
		vf_obs_volume_clear(&vols[i]);
	free(vols);
}
