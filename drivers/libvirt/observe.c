/* observe.c: one read-only pass over a libvirt host: every pool, the volumes
 * of active pools and every domain, listed in bulk, each with its XML,
 * state, autostart and persistence. Changes nothing (no pool refresh).
 * Not for reading the XML itself: xml_parse.c does that. */
#include "lv.h"

/* An object that vanished between the listing and the look at it is skipped. */
static bool vf_lv__vanished(void)
{
	int code = vf_lv__code();
	return code == VIR_ERR_NO_DOMAIN || code == VIR_ERR_NO_STORAGE_POOL ||
	       code == VIR_ERR_NO_STORAGE_VOL;
}

char *vf_lv__pool_xml_desc(virStoragePoolPtr p)
{
	char *xml = virStoragePoolGetXMLDesc(p, VIR_STORAGE_XML_INACTIVE);
	if (!xml && vf_lv__code() == VIR_ERR_INVALID_ARG) /* the test driver lacks the flag */
		xml = virStoragePoolGetXMLDesc(p, 0);
	return xml;
}

static int vf_lv__observe_volumes(virStoragePoolPtr pool, const char *pool_name, vf_observed *o,
				  size_t *cap, vf_error *err)
{
	virStorageVolPtr *vols = NULL;
	int n = virStoragePoolListAllVolumes(pool, &vols, 0);
	if (n < 0) {
		if (vf_lv__vanished())
			return 0;
		return vf_error_set(err, VF_E_DRIVER, "cannot list the volumes of storage pool \"%s\": %s",
				    pool_name, vf_lv__msg());
	}
	int r = 0;
	for (int i = 0; i < n; i++) {
		if (r == 0) {
			vf_obs_volume v = { .owner = -1, .group = -1, .mode = -1 };
			const char *name = virStorageVolGetName(vols[i]);
			_cleanup_free_ char *xml = virStorageVolGetXMLDesc(vols[i], 0);
			if (!xml) {
				if (!vf_lv__vanished())
					r = vf_error_set(err, VF_E_DRIVER,
							 "cannot read volume \"%s\" in storage pool \"%s\": %s",
							 name, pool_name, vf_lv__msg());
			} else {
				v.pool = vf_strdup(pool_name);
				v.name = vf_strdup(name);
				r = vf_lv__parse_volume(xml, &v, err);
				VF_APPEND(o->volumes, o->n_volumes, *cap, v); /* freed with o either way */
			}
		}
		virStorageVolFree(vols[i]);
	}
	free(vols);
	return r;
}

static int vf_lv__observe_pool(virStoragePoolPtr pool, vf_observed *o, size_t *cap,
			       size_t *vcap, vf_error *err)
{
	const char *name = virStoragePoolGetName(pool);
	_cleanup_free_ char *xml = vf_lv__pool_xml_desc(pool);
	if (!xml) {
		if (vf_lv__vanished())
			return 0;
		return vf_error_set(err, VF_E_DRIVER, "cannot read storage pool \"%s\": %s", name,
				    vf_lv__msg());
	}
	vf_obs_pool p = { .owner = -1, .group = -1, .mode = -1 };
	p.name = vf_strdup(name);
	virStoragePoolGetUUID(pool, p.uuid);
	int autostart = 0;
	if (virStoragePoolGetAutostart(pool, &autostart) == 0)
		p.autostart = autostart != 0;
	p.active = virStoragePoolIsActive(pool) == 1;
	p.persistent = virStoragePoolIsPersistent(pool) == 1;
	int r = vf_lv__parse_pool(xml, &p, err);
	VF_APPEND(o->pools, o->n_pools, *cap, p);
	if (r < 0)
		return r;
	if (p.active)
		return vf_lv__observe_volumes(pool, name, o, vcap, err);
	return 0;
}

static const char *const vf_lv__state_names[] = {
	[VIR_DOMAIN_NOSTATE] = "nostate",   [VIR_DOMAIN_RUNNING] = "running",
	[VIR_DOMAIN_BLOCKED] = "blocked",   [VIR_DOMAIN_PAUSED] = "paused",
	[VIR_DOMAIN_SHUTDOWN] = "shutdown", [VIR_DOMAIN_SHUTOFF] = "shutoff",
	[VIR_DOMAIN_CRASHED] = "crashed",   [VIR_DOMAIN_PMSUSPENDED] = "pmsuspended",
};

static int vf_lv__observe_domain(virDomainPtr dom, vf_observed *o, size_t *cap, vf_error *err)
{
	const char *name = virDomainGetName(dom);
	char *xml = virDomainGetXMLDesc(dom, VIR_DOMAIN_XML_INACTIVE);
	int state = VIR_DOMAIN_NOSTATE, reason = 0;
	if (!xml || virDomainGetState(dom, &state, &reason, 0) < 0) {
		free(xml);
		if (vf_lv__vanished())
			return 0;
		return vf_error_set(err, VF_E_DRIVER, "cannot read domain \"%s\": %s", name,
				    vf_lv__msg());
	}
	vf_obs_domain d = { 0 };
	d.name = vf_strdup(name);
	d.xml = xml;
	virDomainGetUUID(dom, d.uuid);
	switch (state) {
	case VIR_DOMAIN_RUNNING:
	case VIR_DOMAIN_BLOCKED:
		d.state = VF_RUN_RUNNING;
		break;
	case VIR_DOMAIN_PAUSED:
		d.state = VF_RUN_PAUSED;
		break;
	default:
		d.state = VF_RUN_SHUTOFF;
		break;
	}
	bool known = state >= 0 && (size_t)state < VF_ARRAY_SIZE(vf_lv__state_names) &&
		     vf_lv__state_names[state];
	d.state_name = vf_strdup(known ? vf_lv__state_names[state] : "unknown");
	int autostart = 0;
	if (virDomainGetAutostart(dom, &autostart) == 0)
		d.autostart = autostart != 0;
	d.persistent = virDomainIsPersistent(dom) == 1;
	/* Live figures for every active domain: paused ones keep theirs. */
	virDomainInfo info;
	if (virDomainIsActive(dom) == 1 && virDomainGetInfo(dom, &info) == 0) {
		d.live_vcpus = info.nrVirtCpu;
		d.live_memory = (uint64_t)info.memory * 1024;
	}
	int r = vf_lv__parse_domain(xml, &d, err);
	VF_APPEND(o->domains, o->n_domains, *cap, d);
	return r;
}

int vf_lv_observe(vf_conn *c, vf_observed *out, vf_error *err)
{
	vf_observed o = { 0 };
	virStoragePoolPtr *pools = NULL;
	virDomainPtr *doms = NULL;
	int n_pools = 0, n_doms = 0, r = 0;

	const char *type = virConnectGetType(c->conn);
	o.hv_type = vf_strdup(type ? type : c->hv_type);
	_cleanup_free_ char *caps = virConnectGetCapabilities(c->conn);
	if (!caps) {
		r = vf_error_set(err, VF_E_DRIVER, "cannot read the host's capabilities: %s",
				 vf_lv__msg());
		goto cleanup;
	}
	o.kvm = vf_lv__caps_have_kvm(caps);

	n_pools = virConnectListAllStoragePools(c->conn, &pools, 0);
	if (n_pools < 0) {
		n_pools = 0;
		r = vf_error_set(err, VF_E_DRIVER, "cannot list storage pools: %s", vf_lv__msg());
		goto cleanup;
	}
	size_t pcap = 0, vcap = 0, dcap = 0;
	for (int i = 0; i < n_pools && r == 0; i++)
		r = vf_lv__observe_pool(pools[i], &o, &pcap, &vcap, err);
	if (r < 0)
		goto cleanup;

	n_doms = virConnectListAllDomains(c->conn, &doms, 0);
	if (n_doms < 0) {
		n_doms = 0;
		r = vf_error_set(err, VF_E_DRIVER, "cannot list domains: %s", vf_lv__msg());
		goto cleanup;
	}
	for (int i = 0; i < n_doms && r == 0; i++)
		r = vf_lv__observe_domain(doms[i], &o, &dcap, err);

cleanup:
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
