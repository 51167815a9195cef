/* observe.c: one read-only pass over a libvirt host: every pool, the volumes
 * of active pools and every domain, listed in bulk, each with its XML,
 * state, autostart and persistence. Those flags come from a few filtered
 * listings and one virConnectGetAllDomainStats call, not from calls per
 * object; per-object calls remain only as the fallback for a driver that
 * lacks a bulk call (the test driver has no balloon or vCPU statistics).
 * Each object's XML is a round trip of its own, so those are read by a few
 * threads at once over the one connection. Active pools are refreshed
 * before their volumes are listed (libvirt rescans; nothing on disk
 * changes), and a dir pool's target directory is read when its files are
 * local, so the planner sees everything a pool holds, files libvirt has
 * not listed included. Changes nothing else.
 * Not for reading the XML itself: xml_parse.c does that. */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>

#include "lv.h"

/* ---- reading many objects at once ------------------------------------------ */

/* Threads reading objects' XML at once. libvirt multiplexes calls on one
 * connection and libvirtd answers them from its pool of workers, so a
 * round trip no longer waits for the one before it; parsing overlaps the
 * waiting too. A few suffice: past that the daemon's cores are the limit. */
#define VF_LV_OBSERVE_THREADS 4
/* Below this many objects threads cost more than they save. */
#define VF_LV_OBSERVE_PARALLEL_MIN 32

typedef struct vf_lv_par {
	pthread_mutex_t lock;
	size_t next, n;
	void (*fn)(void *ctx, size_t i);
	void *ctx;
} vf_lv_par;

static void *vf_lv__par_run(void *arg)
{
	vf_lv_par *p = arg;
	for (;;) {
		pthread_mutex_lock(&p->lock);
		size_t i = p->next++;
		pthread_mutex_unlock(&p->lock);
		if (i >= p->n)
			return NULL;
		p->fn(p->ctx, i);
	}
}

/* fn(ctx, i) for every i in [0, n), on up to VF_LV_OBSERVE_THREADS threads
 * (the caller's among them); returns when all are done. fn writes only
 * to slot i of whatever ctx holds. */
static void vf_lv__parallel(size_t n, void (*fn)(void *ctx, size_t i), void *ctx)
{
	vf_lv_par p = { .n = n, .fn = fn, .ctx = ctx };
	pthread_mutex_init(&p.lock, NULL);
	pthread_t th[VF_LV_OBSERVE_THREADS - 1];
	size_t started = 0;
	if (n >= VF_LV_OBSERVE_PARALLEL_MIN)
		for (; started < VF_ARRAY_SIZE(th); started++)
			if (pthread_create(&th[started], NULL, vf_lv__par_run, &p) != 0)
				break; /* fewer threads: still correct */
	vf_lv__par_run(&p);
	for (size_t i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	pthread_mutex_destroy(&p.lock);
}

/* After a parallel read: the first error in listing order, as one thread
 * would have met it, moved into *err (its -code returned; 0 when none);
 * the others are dropped. Frees errs. */
static int vf_lv__first_error(vf_error *errs, size_t n, vf_error *err)
{
	int r = 0;
	for (size_t i = 0; i < n; i++) {
		if (errs[i].code && r == 0) {
			*err = errs[i];
			r = -(int)err->code;
		} else {
			vf_error_clear(&errs[i]);
		}
	}
	free(errs);
	return r;
}

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

/* ---- sets of objects from filtered listings ------------------------------- */

/* The UUIDs a filtered listing returned, sorted; `known` is false when the
 * driver refused the listing (then each object is asked on its own). */
typedef struct vf_lv_set {
	unsigned char (*uuids)[VIR_UUID_BUFLEN];
	size_t n;
	bool known;
} vf_lv_set;

static int vf_lv__uuid_cmp(const void *a, const void *b)
{
	return memcmp(a, b, VIR_UUID_BUFLEN);
}

static void vf_lv__set_sort(vf_lv_set *s)
{
	qsort(s->uuids, s->n, sizeof(*s->uuids), vf_lv__uuid_cmp);
	s->known = true;
}

static void vf_lv__domain_set(virConnectPtr conn, unsigned flags, vf_lv_set *out)
{
	virDomainPtr *doms = NULL;
	int n = virConnectListAllDomains(conn, &doms, flags);
	*out = (vf_lv_set){ 0 };
	if (n < 0)
		return;
	out->uuids = vf_calloc(n ? (size_t)n : 1, sizeof(*out->uuids));
	for (int i = 0; i < n; i++) {
		if (virDomainGetUUID(doms[i], out->uuids[out->n]) == 0)
			out->n++;
		virDomainFree(doms[i]);
	}
	free(doms);
	vf_lv__set_sort(out);
}

static void vf_lv__pool_set(virConnectPtr conn, unsigned flags, vf_lv_set *out)
{
	virStoragePoolPtr *pools = NULL;
	int n = virConnectListAllStoragePools(conn, &pools, flags);
	*out = (vf_lv_set){ 0 };
	if (n < 0)
		return;
	out->uuids = vf_calloc(n ? (size_t)n : 1, sizeof(*out->uuids));
	for (int i = 0; i < n; i++) {
		if (virStoragePoolGetUUID(pools[i], out->uuids[out->n]) == 0)
			out->n++;
		virStoragePoolFree(pools[i]);
	}
	free(pools);
	vf_lv__set_sort(out);
}

/* 1 in the set, 0 not, -1 the set is not known. */
static int vf_lv__set_has(const vf_lv_set *s, const unsigned char *uuid)
{
	if (!s->known)
		return -1;
	return bsearch(uuid, s->uuids, s->n, sizeof(*s->uuids), vf_lv__uuid_cmp) != NULL;
}

/* Pools: which are active, autostarted, persistent. */
typedef struct vf_lv_pool_sets {
	vf_lv_set active, autostart, persistent;
} vf_lv_pool_sets;

/* A pool stopped between its listing and reading its volumes (libvirt says
 * "operation invalid: pool is not active"): its volumes are not there to
 * observe, which is what a later listing would say too. */
static bool vf_lv__vol_vanished(void)
{
	return vf_lv__vanished() || vf_lv__code() == VIR_ERR_OPERATION_INVALID;
}

/* Every active pool's volumes, listed pool by pool, then read all at once
 * (a host's volumes are often spread thinly over many pools). */
typedef struct vf_lv_vol_job {
	virStorageVolPtr *vols;
	const char **pool_names;  /* borrowed from the pools' handles */
	size_t n, cap;
	vf_obs_volume *slots;     /* .pool set: read; else it vanished meanwhile */
	vf_error *errs;
} vf_lv_vol_job;

static int vf_lv__list_volumes(virStoragePoolPtr pool, const char *pool_name, vf_lv_vol_job *j,
			       vf_error *err)
{
	virStorageVolPtr *vols = NULL;
	int n = virStoragePoolListAllVolumes(pool, &vols, 0);
	if (n < 0) {
		if (vf_lv__vol_vanished())
			return 0;
		return vf_error_set(err, VF_E_DRIVER, "cannot list the volumes of storage pool \"%s\": %s",
				    pool_name, vf_lv__msg());
	}
	if (j->n + (size_t)n > j->cap) {
		j->cap = (j->n + (size_t)n) * 2;
		j->vols = vf_realloc(j->vols, j->cap * sizeof(*j->vols));
		j->pool_names = vf_realloc(j->pool_names, j->cap * sizeof(*j->pool_names));
	}
	for (int i = 0; i < n; i++) {
		j->vols[j->n] = vols[i];
		j->pool_names[j->n++] = pool_name;
	}
	free(vols);
	return 0;
}

static void vf_lv__read_volume(void *ctx, size_t i)
{
	vf_lv_vol_job *j = ctx;
	const char *name = virStorageVolGetName(j->vols[i]);
	_cleanup_free_ char *xml = virStorageVolGetXMLDesc(j->vols[i], 0);
	if (!xml) {
		if (!vf_lv__vol_vanished())
			vf_error_set(&j->errs[i], VF_E_DRIVER,
				     "cannot read volume \"%s\" in storage pool \"%s\": %s", name,
				     j->pool_names[i], vf_lv__msg());
		return;
	}
	vf_obs_volume *v = &j->slots[i];
	*v = (vf_obs_volume){ .owner = -1, .group = -1, .mode = -1 };
	v->pool = vf_strdup(j->pool_names[i]);
	v->name = vf_strdup(name);
	vf_lv__parse_volume(xml, v, &j->errs[i]);
}

/* Read every listed volume, a few at once, into o in listing order; the
 * first error (in that order) is returned and what was read is freed with
 * o either way. The handles stay for vf_lv__vol_job_free. */
static int vf_lv__read_volumes(vf_lv_vol_job *j, vf_observed *o, vf_error *err)
{
	size_t n = j->n;
	vf_obs_volume *slots = vf_calloc(n ? n : 1, sizeof(*slots));
	j->slots = slots;
	j->errs = vf_calloc(n ? n : 1, sizeof(*j->errs));
	vf_lv__parallel(n, vf_lv__read_volume, j);
	int r = vf_lv__first_error(j->errs, n, err);
	j->errs = NULL;
	size_t k = 0; /* the slots, closed up, become o's volumes */
	for (size_t i = 0; i < n; i++)
		if (slots[i].pool)
			slots[k++] = slots[i];
	o->volumes = slots;
	o->n_volumes = k;
	j->slots = NULL;
	return r;
}

static void vf_lv__vol_job_free(vf_lv_vol_job *j)
{
	for (size_t i = 0; i < j->n; i++)
		virStorageVolFree(j->vols[i]);
	free(j->vols);
	free(j->pool_names);
	free(j->slots);
	free(j->errs);
	memset(j, 0, sizeof(*j));
}

/* ---- what a pool holds ------------------------------------------------------ */

static int vf_lv__name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in p's target directory into p->entries, sorted. A directory
 * that does not exist holds nothing; false, with p->contents_note set,
 * when it cannot be read. */
static bool vf_lv__read_target_dir(vf_obs_pool *p)
{
	DIR *d = opendir(p->target_path);
	if (!d) {
		if (errno == ENOENT)
			return true;
		p->contents_note = vf_asprintf("cannot read its directory %s: %s", p->target_path,
					       strerror(errno));
		return false;
	}
	size_t cap = 0;
	struct dirent *e;
	errno = 0;
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			VF_APPEND(p->entries, p->n_entries, cap, vf_strdup(e->d_name));
		errno = 0;
	}
	int saved = errno;
	closedir(d);
	if (saved) {
		p->contents_note = vf_asprintf("cannot read its directory %s: %s", p->target_path,
					       strerror(saved));
		return false;
	}
	if (p->n_entries)
		qsort(p->entries, p->n_entries, sizeof(*p->entries), vf_lv__name_cmp);
	return true;
}

/* Whether p's volumes and entries are all it holds. A dir pool is its
 * directory, read here, active or not (fs and netfs only while mounted:
 * an unmounted mount point shows nothing of the file system). Other pool
 * types hold what libvirt lists, which it does only while they are active. */
static void vf_lv__pool_contents(vf_obs_pool *p, bool files_local)
{
	bool file_pool = p->type == VF_POOL_DIR || p->type == VF_POOL_FS || p->type == VF_POOL_NETFS;
	if (!file_pool) {
		p->contents_known = p->active;
		if (!p->active)
			p->contents_note = vf_asprintf(
				"it is inactive, and libvirt lists a %s pool's volumes only while it is active",
				p->type_name ? p->type_name : "storage");
	} else if (p->type != VF_POOL_DIR && !p->active) {
		p->contents_note = vf_strdup(
			"it is inactive (not mounted), so what its file system holds cannot be seen");
	} else if (!files_local) {
		p->contents_note = vf_strdup(
			"its files are on another host, and virtform reads only local directories");
	} else if (!p->target_path) {
		p->contents_note = vf_strdup("it has no target path to read");
	} else {
		p->contents_known = vf_lv__read_target_dir(p);
	}
}

static int vf_lv__observe_pool(virStoragePoolPtr pool, const vf_lv_pool_sets *sets,
			       bool files_local, vf_observed *o, size_t *cap, vf_lv_vol_job *vols,
			       vf_error *err)
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
	int in = vf_lv__set_has(&sets->autostart, p.uuid);
	int autostart = 0;
	if (in >= 0)
		p.autostart = in == 1;
	else if (virStoragePoolGetAutostart(pool, &autostart) == 0)
		p.autostart = autostart != 0;
	in = vf_lv__set_has(&sets->active, p.uuid);
	p.active = in >= 0 ? in == 1 : virStoragePoolIsActive(pool) == 1;
	in = vf_lv__set_has(&sets->persistent, p.uuid);
	p.persistent = in >= 0 ? in == 1 : virStoragePoolIsPersistent(pool) == 1;
	int r = vf_lv__parse_pool(xml, &p, err);
	if (r == 0)
		vf_lv__pool_contents(&p, files_local);
	VF_APPEND(o->pools, o->n_pools, *cap, p);
	if (r < 0 || !p.active)
		return r;
	/* Files made behind libvirt's back become volumes; a failed refresh
	 * (the pool stopped meanwhile, say) leaves the listing as it was. */
	virStoragePoolRefresh(pool, 0);
	return vf_lv__list_volumes(pool, name, vols, err);
}

static const char *const vf_lv__state_names[] = {
	[VIR_DOMAIN_NOSTATE] = "nostate",   [VIR_DOMAIN_RUNNING] = "running",
	[VIR_DOMAIN_BLOCKED] = "blocked",   [VIR_DOMAIN_PAUSED] = "paused",
	[VIR_DOMAIN_SHUTDOWN] = "shutdown", [VIR_DOMAIN_SHUTOFF] = "shutoff",
	[VIR_DOMAIN_CRASHED] = "crashed",   [VIR_DOMAIN_PMSUSPENDED] = "pmsuspended",
};

/* ---- domains: what one virConnectGetAllDomainStats call tells ------------- */

/* One domain's record; has_* false when the driver did not report it. */
typedef struct vf_lv_dom_stats {
	unsigned char uuid[VIR_UUID_BUFLEN];
	bool has_state, has_vcpus, has_memory;
	int reason;
	int state;
	unsigned vcpus;           /* vcpu.current */
	unsigned long long memory_kib; /* balloon.current */
} vf_lv_dom_stats;

/* Domains: which are active, autostarted, persistent, and their stats
 * sorted by UUID (n_stats 0 when the driver has no bulk statistics). */
typedef struct vf_lv_dom_facts {
	vf_lv_set active, autostart, persistent;
	vf_lv_dom_stats *stats;
	size_t n_stats;
} vf_lv_dom_facts;

static void vf_lv__domain_stats(virConnectPtr conn, vf_lv_dom_facts *f)
{
	virDomainStatsRecordPtr *recs = NULL;
	int n = virConnectGetAllDomainStats(conn,
					    VIR_DOMAIN_STATS_STATE | VIR_DOMAIN_STATS_BALLOON |
						    VIR_DOMAIN_STATS_VCPU,
					    &recs, 0);
	if (n < 0)
		return;
	f->stats = vf_calloc(n ? (size_t)n : 1, sizeof(*f->stats));
	for (int i = 0; i < n; i++) {
		vf_lv_dom_stats *st = &f->stats[f->n_stats];
		if (virDomainGetUUID(recs[i]->dom, st->uuid) < 0)
			continue;
		virTypedParameterPtr params = recs[i]->params;
		int np = recs[i]->nparams;
		st->has_state = virTypedParamsGetInt(params, np, "state.state", &st->state) == 1;
		if (virTypedParamsGetInt(params, np, "state.reason", &st->reason) != 1)
			st->reason = 0;
		st->has_vcpus = virTypedParamsGetUInt(params, np, "vcpu.current", &st->vcpus) == 1;
		st->has_memory = virTypedParamsGetULLong(params, np, "balloon.current",
							 &st->memory_kib) == 1;
		f->n_stats++;
	}
	virDomainStatsRecordListFree(recs);
	qsort(f->stats, f->n_stats, sizeof(*f->stats), vf_lv__uuid_cmp);
}

static const vf_lv_dom_stats *vf_lv__stats_for(const vf_lv_dom_facts *f, const unsigned char *uuid)
{
	if (!f->n_stats)
		return NULL;
	return bsearch(uuid, f->stats, f->n_stats, sizeof(*f->stats), vf_lv__uuid_cmp);
}

static void vf_lv__dom_facts_free(vf_lv_dom_facts *f)
{
	free(f->active.uuids);
	free(f->autostart.uuids);
	free(f->persistent.uuids);
	free(f->stats);
}

/* Read one domain into *out: 1 read (out filled, even when parsing its XML
 * failed and *err says so), 0 vanished meanwhile, <0 error. */
static int vf_lv__observe_domain(virDomainPtr dom, const vf_lv_dom_facts *facts,
				 vf_obs_domain *out, vf_error *err)
{
	const char *name = virDomainGetName(dom);
	unsigned char uuid[VIR_UUID_BUFLEN] = { 0 };
	bool have_uuid = virDomainGetUUID(dom, uuid) == 0;
	const vf_lv_dom_stats *st = have_uuid ? vf_lv__stats_for(facts, uuid) : NULL;
	char *xml = virDomainGetXMLDesc(dom, VIR_DOMAIN_XML_INACTIVE);
	int state = VIR_DOMAIN_NOSTATE, reason = 0;
	if (st && st->has_state) {
		state = st->state;
		reason = st->reason;
	}
	if (!xml || (!(st && st->has_state) && virDomainGetState(dom, &state, &reason, 0) < 0)) {
		free(xml);
		if (vf_lv__vanished())
			return 0;
		return vf_error_set(err, VF_E_DRIVER, "cannot read domain \"%s\": %s", name,
				    vf_lv__msg());
	}
	vf_obs_domain d = { 0 };
	d.name = vf_strdup(name);
	d.xml = xml;
	memcpy(d.uuid, uuid, sizeof(d.uuid));
	switch (state) {
	case VIR_DOMAIN_RUNNING:
	case VIR_DOMAIN_BLOCKED:
		d.state = VF_RUN_RUNNING;
		break;
	case VIR_DOMAIN_PAUSED:
		/* Paused while qemu starts up is a start in progress (libvirtd
		 * finishes a start whose client was killed): it is running. */
		d.state = reason == VIR_DOMAIN_PAUSED_STARTING_UP ? VF_RUN_RUNNING : VF_RUN_PAUSED;
		break;
	default:
		d.state = VF_RUN_SHUTOFF;
		break;
	}
	bool known = state >= 0 && (size_t)state < VF_ARRAY_SIZE(vf_lv__state_names) &&
		     vf_lv__state_names[state];
	d.state_name = vf_strdup(known ? vf_lv__state_names[state] : "unknown");
	int in = have_uuid ? vf_lv__set_has(&facts->autostart, uuid) : -1;
	int autostart = 0;
	if (in >= 0)
		d.autostart = in == 1;
	else if (virDomainGetAutostart(dom, &autostart) == 0)
		d.autostart = autostart != 0;
	in = have_uuid ? vf_lv__set_has(&facts->persistent, uuid) : -1;
	d.persistent = in >= 0 ? in == 1 : virDomainIsPersistent(dom) == 1;
	/* Live figures for every active domain: paused ones keep theirs. */
	in = have_uuid ? vf_lv__set_has(&facts->active, uuid) : -1;
	bool active = in >= 0 ? in == 1 : virDomainIsActive(dom) == 1;
	virDomainInfo info;
	if (active && st && st->has_vcpus && st->has_memory) {
		d.live_vcpus = st->vcpus;
		d.live_memory = (uint64_t)st->memory_kib * 1024;
	} else if (active && virDomainGetInfo(dom, &info) == 0) {
		d.live_vcpus = info.nrVirtCpu;
		d.live_memory = (uint64_t)info.memory * 1024;
	}
	vf_lv__parse_domain(xml, &d, err);
	*out = d;
	return 1;
}

typedef struct vf_lv_dom_job {
	virDomainPtr *doms;
	const vf_lv_dom_facts *facts;
	vf_obs_domain *slots;     /* .xml set: read; else it vanished meanwhile */
	vf_error *errs;
} vf_lv_dom_job;

static void vf_lv__read_domain(void *ctx, size_t i)
{
	vf_lv_dom_job *j = ctx;
	vf_lv__observe_domain(j->doms[i], j->facts, &j->slots[i], &j->errs[i]);
}

/* Every domain, read a few at once, into o in listing order; the first
 * error (in that order) is returned and what was read is freed with o. */
static int vf_lv__observe_domains(virDomainPtr *doms, size_t n, const vf_lv_dom_facts *facts,
				  vf_observed *o, vf_error *err)
{
	vf_lv_dom_job j = {
		.doms = doms,
		.facts = facts,
		.slots = vf_calloc(n ? n : 1, sizeof(*j.slots)),
		.errs = vf_calloc(n ? n : 1, sizeof(*j.errs)),
	};
	vf_lv__parallel(n, vf_lv__read_domain, &j);
	int r = vf_lv__first_error(j.errs, n, err);
	size_t k = 0; /* the slots, closed up, become o's domains */
	for (size_t i = 0; i < n; i++)
		if (j.slots[i].xml)
			j.slots[k++] = j.slots[i];
	o->domains = j.slots;
	o->n_domains = k;
	return r;
}

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
	vf_lv__pool_set(c->conn, VIR_CONNECT_LIST_STORAGE_POOLS_ACTIVE, &psets.active);
	vf_lv__pool_set(c->conn, VIR_CONNECT_LIST_STORAGE_POOLS_AUTOSTART, &psets.autostart);
	vf_lv__pool_set(c->conn, VIR_CONNECT_LIST_STORAGE_POOLS_PERSISTENT, &psets.persistent);
	size_t pcap = 0;
	bool local = vf_lv_files_local(c);
	for (int i = 0; i < n_pools && r == 0; i++)
		r = vf_lv__observe_pool(pools[i], &psets, local, &o, &pcap, &vol_job, err);
	if (r == 0)
		r = vf_lv__read_volumes(&vol_job, &o, err);
	if (r < 0)
		goto cleanup;

	n_doms = virConnectListAllDomains(c->conn, &doms, 0);
	if (n_doms < 0) {
		n_doms = 0;
		r = vf_error_set(err, VF_E_DRIVER, "cannot list domains: %s", vf_lv__msg());
		goto cleanup;
	}
	vf_lv__domain_set(c->conn, VIR_CONNECT_LIST_DOMAINS_ACTIVE, &facts.active);
	vf_lv__domain_set(c->conn, VIR_CONNECT_LIST_DOMAINS_AUTOSTART, &facts.autostart);
	vf_lv__domain_set(c->conn, VIR_CONNECT_LIST_DOMAINS_PERSISTENT, &facts.persistent);
	vf_lv__domain_stats(c->conn, &facts);
	r = vf_lv__observe_domains(doms, (size_t)n_doms, &facts, &o, err);

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
