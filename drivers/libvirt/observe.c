/* observe.c: one read-only pass over a libvirt host: every pool, the volumes
 * of active pools and every domain, listed in bulk, each with its XML,
 * state, autostart and persistence. Those flags come from a few filtered
 * listings and one virConnectGetAllDomainStats call, not from calls per
 * object; per-object calls remain only as the fallback for a driver that
 * lacks a bulk call (the test driver has no balloon or vCPU statistics).
 * Each object's XML is a round trip of its own, so those are read by a few
 * threads at once over the one connection. A dir pool's target directory
 * is read when its files are local, and the pool refreshed (libvirt
 * rescans; nothing on disk changes) only when libvirt's names differ from
 * the directory's; other active pools are refreshed before their volumes
 * are listed. So the planner sees everything a pool holds, files libvirt
 * has not listed included. Changes nothing else.
 * This file is the order of the pass; each kind observes itself in its
 * own file (pool.c, volume.c, domain.c) on what listing.c provides.
 * Also the way to read one object again, by kind (the watch daemon's
 * cache), and the count of libvirt calls observation makes.
 * Not for reading the XML itself: each kind's file does that. */
#include "lv.h"

int vf_lv_observe(vf_conn *c, vf_observed *out, vf_error *err)
{
	vf_observed o = { 0 };
	virStoragePoolPtr *pools = NULL;
	virDomainPtr *doms = NULL;
	int n_pools = 0, n_doms = 0, r = 0;
	vf_lv_pool_sets psets = { 0 };
	vf_lv_dom_facts facts = { 0 };
	vf_lv_vol_job vol_job = { 0 };

	const char *type = virConnectGetType(c->conn);
	o.hv_type = vf_strdup(type ? type : c->hv_type);
	/* the capabilities the host identity read this pass, else ask */
	_cleanup_free_ char *caps = c->caps ? TAKE_PTR(c->caps)
					     : VF_LV_CALL(virConnectGetCapabilities(c->conn));
	if (!caps) {
		r = vf_error_set(err, VF_E_DRIVER, "cannot read the host's capabilities: %s",
				 vf_lv__msg());
		goto cleanup;
	}
	o.kvm = vf_lv__caps_have_kvm(caps);
	o.domain_types = vf_lv__caps_domain_types(caps);

	n_pools = VF_LV_CALL(virConnectListAllStoragePools(c->conn, &pools, 0));
	if (n_pools < 0) {
		n_pools = 0;
		r = vf_error_set(err, VF_E_DRIVER, "cannot list storage pools: %s", vf_lv__msg());
		goto cleanup;
	}
	vf_lv__pool_set(c->conn, VIR_CONNECT_LIST_STORAGE_POOLS_ACTIVE, &psets.active);
	vf_lv__pool_set(c->conn, VIR_CONNECT_LIST_STORAGE_POOLS_AUTOSTART, &psets.autostart);
	vf_lv__pool_set(c->conn, VIR_CONNECT_LIST_STORAGE_POOLS_PERSISTENT, &psets.persistent);
	size_t pcap = 0;
	bool local = vf_lv_files_local(c);
	for (int i = 0; i < n_pools && r == 0; i++)
		r = vf_lv__observe_pool(pools[i], &psets, local, true, &o, &pcap, &vol_job, err);
	if (r == 0)
		r = vf_lv__read_volumes(c, &vol_job, &o, err);
	if (r < 0)
		goto cleanup;

	n_doms = VF_LV_CALL(virConnectListAllDomains(c->conn, &doms, 0));
	if (n_doms < 0) {
		n_doms = 0;
		r = vf_error_set(err, VF_E_DRIVER, "cannot list domains: %s", vf_lv__msg());
		goto cleanup;
	}
	vf_lv__domain_set(c->conn, VIR_CONNECT_LIST_DOMAINS_ACTIVE, &facts.active);
	vf_lv__domain_set(c->conn, VIR_CONNECT_LIST_DOMAINS_AUTOSTART, &facts.autostart);
	vf_lv__domain_set(c->conn, VIR_CONNECT_LIST_DOMAINS_PERSISTENT, &facts.persistent);
	vf_lv__domain_stats(c->conn, &facts);
	r = vf_lv__observe_domains(c, doms, (size_t)n_doms, &facts, &o, err);
	if (r == 0)
		r = vf_lv__observe_networks(c, &o, err);

cleanup:
	vf_lv__cycle_reset(c, r < 0 ? &(vf_observed){ 0 } : &o);
	free(psets.active.uuids);
	free(psets.autostart.uuids);
	free(psets.persistent.uuids);
	vf_lv__dom_facts_free(&facts);
	vf_lv__vol_job_free(&vol_job); /* before the pools: it borrows their names */
	for (int i = 0; i < n_pools; i++)
		virStoragePoolFree(pools[i]);
	free(pools);
	for (int i = 0; i < n_doms; i++)
		virDomainFree(doms[i]);
	free(doms);
	if (r < 0) {
		vf_observed_free(&o);
		return r;
	}
	*out = o;
	return 0;
}

/* ---- one object, for a cache the caller keeps ------------------------------ */

static _Atomic uint64_t vf_lv__calls;

void vf_lv__count_call(void)
{
	vf_lv__calls++;
}

uint64_t vf_lv_observe_calls(void)
{
	return vf_lv__calls;
}

/* How each kind re-reads one object: one entry per kind. Volumes are read
 * with their pool. */
static const struct {
	vf_kind kind;
	int (*read)(vf_conn *c, const vf_obj_ref *ref, bool fresh, vf_observed *o, vf_error *err);
} vf_lv__observe_one[] = {
	{ VF_KIND_DOMAIN, vf_lv__observe_one_domain },
	{ VF_KIND_POOL, vf_lv__observe_one_pool },
	{ VF_KIND_VOLUME, vf_lv__observe_one_pool },
	{ VF_KIND_NETWORK, vf_lv__observe_one_network },
};

int vf_lv_observe_object(vf_conn *c, const vf_obj_ref *ref, bool fresh, vf_observed *o,
			 vf_error *err)
{
	/* A read for a step starts a new cycle, as observe does: what this
	 * connection remembers (pools refreshed, volumes' formats) may be
	 * as old as the caller's cache, and a step must not build on it (a
	 * domain defined with a volume's old format, a volume created in a
	 * pool not refreshed since files appeared in it). */
	if (fresh)
		vf_lv__cycle_reset(c, &(vf_observed){ 0 });
	for (size_t i = 0; i < VF_ARRAY_SIZE(vf_lv__observe_one); i++)
		if (vf_lv__observe_one[i].kind == ref->kind)
			return vf_lv__observe_one[i].read(c, ref, fresh, o, err);
	return 0;
}
