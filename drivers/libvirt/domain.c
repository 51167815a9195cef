/* domain.c: the hypervisor driver's domain operations: define (from the
 * structured spec or the user's raw XML), start, shutdown with a deadline,
 * suspend, resume, autostart, live vCPU and memory changes, undefine; and
 * observing every domain, with one bulk statistics call for their state.
 * Not for building or reading its XML: domain_xml.c does that. */
#include <limits.h>
#include <sys/stat.h>
#include <time.h>

#include "lv.h"

static const char *vf_lv__domain_type(vf_conn *c, vf_domain_type type)
{
	if (c->is_test)
		return "test"; /* the test driver's only type */
	switch (type) {
	case VF_DOMAIN_KVM:
		return "kvm";
	case VF_DOMAIN_QEMU:
		return "qemu";
	case VF_DOMAIN_LXC:
		return "lxc";
	default: {
		/* The controller resolves auto; this is only a safety net. */
		_cleanup_free_ char *caps = virConnectGetCapabilities(c->conn);
		unsigned t = caps ? vf_lv__caps_domain_types(caps) : 0;
		return t & (1u << VF_DOMAIN_KVM)    ? "kvm"
		       : t & (1u << VF_DOMAIN_QEMU) ? "qemu"
		       : t & (1u << VF_DOMAIN_LXC)  ? "lxc"
						    : "qemu";
	}
	}
}

/* The format of volume {pool, name}, or NULL when it cannot be found yet.
 * What the last observe read, unless this connection changed the volume. */
static char *vf_lv__volume_format(vf_conn *c, const char *pool, const char *name)
{
	const vf_lv_vol_format *f = vf_lv__format_cached(c, pool, name);
	if (f)
		return f->format ? vf_strdup(f->format) : NULL;
	_cleanup_pool_ virStoragePoolPtr p = virStoragePoolLookupByName(c->conn, pool);
	if (!p)
		return NULL;
	_cleanup_vol_ virStorageVolPtr v = virStorageVolLookupByName(p, name);
	if (!v)
		return NULL;
	_cleanup_free_ char *xml = virStorageVolGetXMLDesc(v, 0);
	return xml ? vf_lv__vol_format(xml) : NULL;
}

static char *vf_lv__build_xml(vf_conn *c, const vf_object *o, vf_domain_type type)
{
	const vf_domain_spec *s = &o->u.domain;
	vf_lv_disk_info *info = vf_calloc(s->n_disks + 1, sizeof(*info));
	for (size_t i = 0; i < s->n_disks; i++) {
		const vf_disk *d = &s->disks[i];
		if (d->has_volume) {
			info[i].format = vf_lv__volume_format(c, d->volume.pool, d->volume.name);
		} else if (d->path) {
			struct stat st;
			info[i].block = stat(d->path, &st) == 0 && S_ISBLK(st.st_mode);
		}
	}
	char *xml = vf_lv__domain_xml(o, vf_lv__domain_type(c, type), info);
	for (size_t i = 0; i < s->n_disks; i++)
		free(info[i].format);
	free(info);
	return xml;
}

int vf_lv_domain_define(vf_conn *c, const vf_object *o, vf_domain_type type, vf_error *err)
{
	_cleanup_free_ char *xml = NULL;
	if (o->u.domain.xml) {
		int r = vf_lv__domain_xml_raw(o, &xml, err);
		if (r < 0)
			return r;
	} else {
		xml = vf_lv__build_xml(c, o, type);
	}
	_cleanup_dom_ virDomainPtr d = virDomainDefineXML(c->conn, xml);
	if (!d) {
		/* the name taken by a domain with another UUID: not ours (a conflict) */
		_cleanup_free_ char *msg = vf_strdup(vf_lv__msg());
		_cleanup_dom_ virDomainPtr clash = virDomainLookupByName(c->conn, o->name);
		unsigned char u[VIR_UUID_BUFLEN];
		if (clash && virDomainGetUUID(clash, u) == 0 && memcmp(u, o->uuid, sizeof(u)) != 0)
			return vf_error_set(err, VF_E_CONFLICT,
					    "cannot define domain \"%s\": a domain of that name already exists with another UUID (%s)",
					    o->name, msg);
		return vf_error_set(err, VF_E_DRIVER, "cannot define domain \"%s\": %s", o->name, msg);
	}
	if (o->u.domain.xml)
		return vf_lv__record_domain(d, o->name, o->u.domain.xml_hash, err);
	return 0;
}

static int vf_lv__domain_create(vf_conn *c, const char *name, unsigned flags, vf_error *err)
{
	_cleanup_dom_ virDomainPtr d = virDomainLookupByName(c->conn, name);
	if (!d || virDomainCreateWithFlags(d, flags) < 0)
		return vf_error_set(err, VF_E_DRIVER, "cannot start domain \"%s\": %s", name,
				    vf_lv__msg());
	return 0;
}

int vf_lv_domain_start(vf_conn *c, const char *name, vf_error *err)
{
	return vf_lv__domain_create(c, name, 0, err);
}

int vf_lv_domain_start_paused(vf_conn *c, const char *name, vf_error *err)
{
	/* libvirt's test driver takes no flags and runs no guest code: a
	 * create and a suspend are the same states there */
	if (c->is_test) {
		int r = vf_lv__domain_create(c, name, 0, err);
		return r < 0 ? r : vf_lv_domain_suspend(c, name, err);
	}
	return vf_lv__domain_create(c, name, VIR_DOMAIN_START_PAUSED, err);
}

static int vf_lv__state(virDomainPtr d)
{
	int state = VIR_DOMAIN_NOSTATE, reason = 0;
	if (virDomainGetState(d, &state, &reason, 0) < 0)
		return -1;
	return state;
}

int vf_lv_domain_shutdown(vf_conn *c, const char *name, unsigned timeout_s, vf_error *err)
{
	_cleanup_dom_ virDomainPtr d = virDomainLookupByName(c->conn, name);
	if (!d)
		return vf_error_set(err, VF_E_DRIVER, "cannot shut down domain \"%s\": %s", name,
				    vf_lv__msg());
	int active = virDomainIsActive(d);
	if (active == 0)
		return 0;
	/* A paused guest cannot answer ACPI: let it run so it can shut down. */
	if (vf_lv__state(d) == VIR_DOMAIN_PAUSED)
		(void)virDomainResume(d);
	/* A container (os type "exe", libvirt's LXC driver): libvirt 9.0 asks
	 * its init through initctl and, finding no initctl pipe, reports
	 * success without sending the SIGTERM it promises; so send it
	 * ourselves (VIR_DOMAIN_SHUTDOWN_SIGNAL) once the init has had a
	 * moment to answer initctl: at a third of the timeout, at most 3 s. */
	_cleanup_free_ char *os = virDomainGetOSType(d);
	unsigned long signal_ms = ULONG_MAX;
	if (os && strcmp(os, "exe") == 0) {
		signal_ms = (unsigned long)timeout_s * 1000 / 3;
		if (signal_ms > 3000)
			signal_ms = 3000;
	}
	if (!os)
		virResetLastError();
	if (virDomainShutdown(d) == 0) {
		/* Poll every 100 ms until it is off or the deadline passes. */
		for (unsigned long waited_ms = 0;; waited_ms += 100) {
			if (waited_ms >= signal_ms) {
				if (virDomainShutdownFlags(d, VIR_DOMAIN_SHUTDOWN_SIGNAL) < 0)
					virResetLastError(); /* it may have stopped meanwhile */
				signal_ms = ULONG_MAX; /* once */
			}
			int st = vf_lv__state(d);
			/* libvirtd went away: waiting out the timeout would only
			 * repeat the same failure (and force it off blindly after). */
			if (st < 0) {
				virErrorPtr why = virSaveLastError();
				int r = vf_lv__lost(c)
					? vf_error_set(err, VF_E_DRIVER,
						       "cannot shut down domain \"%s\" (waiting for it to stop): %s",
						       name, why && why->message ? why->message : "unknown libvirt error")
					: 0;
				virFreeError(why);
				if (r < 0)
					return r;
			}
			if (st == VIR_DOMAIN_SHUTOFF || virDomainIsActive(d) == 0)
				return 0;
			if (waited_ms >= (unsigned long)timeout_s * 1000)
				break;
			vf_heartbeat(); /* waiting for the guest is progress, not a hang */
			nanosleep(&(struct timespec){ .tv_nsec = 100 * 1000 * 1000 }, NULL);
		}
	}
	/* No ACPI, or it took too long: force it off. */
	vf_heartbeat();
	if (virDomainDestroy(d) < 0) {
		if (virDomainIsActive(d) == 0)
			return 0; /* it went down on its own meanwhile */
		return vf_error_set(err, VF_E_DRIVER, "cannot force off domain \"%s\": %s", name,
				    vf_lv__msg());
	}
	return 0;
}

int vf_lv_domain_suspend(vf_conn *c, const char *name, vf_error *err)
{
	_cleanup_dom_ virDomainPtr d = virDomainLookupByName(c->conn, name);
	if (!d || virDomainSuspend(d) < 0)
		return vf_error_set(err, VF_E_DRIVER, "cannot suspend domain \"%s\": %s", name,
				    vf_lv__msg());
	return 0;
}

int vf_lv_domain_resume(vf_conn *c, const char *name, vf_error *err)
{
	_cleanup_dom_ virDomainPtr d = virDomainLookupByName(c->conn, name);
	if (!d || virDomainResume(d) < 0)
		return vf_error_set(err, VF_E_DRIVER, "cannot resume domain \"%s\": %s", name,
				    vf_lv__msg());
	return 0;
}

int vf_lv_domain_set_autostart(vf_conn *c, const char *name, bool on, vf_error *err)
{
	_cleanup_dom_ virDomainPtr d = virDomainLookupByName(c->conn, name);
	if (!d || virDomainSetAutostart(d, on ? 1 : 0) < 0)
		return vf_error_set(err, VF_E_DRIVER, "cannot set autostart of domain \"%s\": %s",
				    name, vf_lv__msg());
	return 0;
}

int vf_lv_domain_set_vcpus_live(vf_conn *c, const char *name, uint32_t vcpus, vf_error *err)
{
	_cleanup_dom_ virDomainPtr d = virDomainLookupByName(c->conn, name);
	if (!d || virDomainSetVcpusFlags(d, vcpus, VIR_DOMAIN_AFFECT_LIVE) < 0)
		return vf_error_set(err, VF_E_DRIVER,
				    "cannot set the live vCPUs of domain \"%s\" to %u: %s", name, vcpus,
				    vf_lv__msg());
	return 0;
}

int vf_lv_domain_set_memory_live(vf_conn *c, const char *name, uint64_t bytes, vf_error *err)
{
	_cleanup_dom_ virDomainPtr d = virDomainLookupByName(c->conn, name);
	unsigned long kib = (unsigned long)(bytes / 1024);
	if (!d || virDomainSetMemoryFlags(d, kib, VIR_DOMAIN_AFFECT_LIVE) < 0)
		return vf_error_set(err, VF_E_DRIVER,
				    "cannot set the live memory of domain \"%s\" to %lu KiB: %s", name,
				    kib, vf_lv__msg());
	return 0;
}

int vf_lv_domain_undefine(vf_conn *c, const char *name, bool keep_nvram, vf_error *err)
{
	_cleanup_dom_ virDomainPtr d = virDomainLookupByName(c->conn, name);
	if (!d)
		return vf_error_set(err, VF_E_DRIVER, "cannot undefine domain \"%s\": %s", name,
				    vf_lv__msg());
	if (virDomainIsActive(d) == 1)
		return vf_error_set(err, VF_E_DRIVER,
				    "cannot undefine domain \"%s\": it is still running; shut it down first",
				    name);
	unsigned base = VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA;
	unsigned nvram = keep_nvram ? VIR_DOMAIN_UNDEFINE_KEEP_NVRAM : VIR_DOMAIN_UNDEFINE_NVRAM;
	/* Drivers that do not know a flag reject it (the test driver knows
	 * neither NVRAM nor checkpoints, LXC none at all): retry with fewer,
	 * never with more. Each flag only allows removing what it names, so
	 * a driver that rejects it refuses to undefine a domain that still
	 * has such a thing (qemu: "cannot undefine domain with nvram")
	 * rather than delete it: dropping one never deletes more. */
	const unsigned tries[] = {
		base | nvram | VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA,
		base | nvram,
		base,
		0,
	};
	for (size_t i = 0; i < VF_ARRAY_SIZE(tries); i++) {
		if (virDomainUndefineFlags(d, tries[i]) == 0)
			return 0;
		if (vf_lv__code() == VIR_ERR_NO_SUPPORT)
			break;
		if (vf_lv__code() != VIR_ERR_INVALID_ARG)
			goto fail;
	}
	/* A driver without UndefineFlags at all: the plain call is flags 0. */
	if (vf_lv__code() == VIR_ERR_NO_SUPPORT && virDomainUndefine(d) == 0)
		return 0;
fail:
	return vf_error_set(err, VF_E_DRIVER, "cannot undefine domain \"%s\": %s", name,
			    vf_lv__msg());
}

/* ---- observation ---------------------------------------------------------- */

static const char *const vf_lv__state_names[] = {
	[VIR_DOMAIN_NOSTATE] = "nostate",   [VIR_DOMAIN_RUNNING] = "running",
	[VIR_DOMAIN_BLOCKED] = "blocked",   [VIR_DOMAIN_PAUSED] = "paused",
	[VIR_DOMAIN_SHUTDOWN] = "shutdown", [VIR_DOMAIN_SHUTOFF] = "shutoff",
	[VIR_DOMAIN_CRASHED] = "crashed",   [VIR_DOMAIN_PMSUSPENDED] = "pmsuspended",
};

/* ---- domains: what one virConnectGetAllDomainStats call tells ------------- */

void vf_lv__domain_stats(virConnectPtr conn, vf_lv_dom_facts *f)
{
	virDomainStatsRecordPtr *recs = NULL;
	int n = VF_LV_CALL(virConnectGetAllDomainStats(conn,
					    VIR_DOMAIN_STATS_STATE | VIR_DOMAIN_STATS_BALLOON |
						    VIR_DOMAIN_STATS_VCPU,
					    &recs, 0));
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
		if (virTypedParamsGetUInt(params, np, "vcpu.maximum", &st->max_vcpus) != 1)
			st->max_vcpus = 0;
		if (virTypedParamsGetULLong(params, np, "balloon.maximum", &st->max_memory_kib) != 1)
			st->max_memory_kib = 0;
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

void vf_lv__dom_facts_free(vf_lv_dom_facts *f)
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
	char *xml = VF_LV_CALL(virDomainGetXMLDesc(dom, VIR_DOMAIN_XML_INACTIVE));
	int state = VIR_DOMAIN_NOSTATE, reason = 0;
	if (st && st->has_state) {
		state = st->state;
		reason = st->reason;
	}
	if (!xml || (!(st && st->has_state) && VF_LV_CALL(virDomainGetState(dom, &state, &reason, 0)) < 0)) {
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
	else if (VF_LV_CALL(virDomainGetAutostart(dom, &autostart)) == 0)
		d.autostart = autostart != 0;
	in = have_uuid ? vf_lv__set_has(&facts->persistent, uuid) : -1;
	d.persistent = in >= 0 ? in == 1 : VF_LV_CALL(virDomainIsPersistent(dom)) == 1;
	/* Live figures for every active domain: paused ones keep theirs. */
	in = have_uuid ? vf_lv__set_has(&facts->active, uuid) : -1;
	bool active = in >= 0 ? in == 1 : VF_LV_CALL(virDomainIsActive(dom)) == 1;
	virDomainInfo info;
	if (active && st && st->has_vcpus && st->has_memory) {
		d.live_vcpus = st->vcpus;
		d.live_memory = (uint64_t)st->memory_kib * 1024;
		d.live_max_vcpus = st->max_vcpus;
		d.live_max_memory = (uint64_t)st->max_memory_kib * 1024;
	} else if (active && VF_LV_CALL(virDomainGetInfo(dom, &info)) == 0) {
		d.live_vcpus = info.nrVirtCpu;
		d.live_memory = (uint64_t)info.memory * 1024;
		d.live_max_memory = (uint64_t)info.maxMem * 1024;
	}
	if (active && !d.live_max_vcpus) {
		int max = VF_LV_CALL(
			virDomainGetVcpusFlags(dom, VIR_DOMAIN_AFFECT_LIVE | VIR_DOMAIN_VCPU_MAXIMUM));
		d.live_max_vcpus = max > 0 ? (uint32_t)max : 0;
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
int vf_lv__observe_domains(const vf_conn *c, virDomainPtr *doms, size_t n,
			   const vf_lv_dom_facts *facts, vf_observed *o, vf_error *err)
{
	vf_lv_dom_job j = {
		.doms = doms,
		.facts = facts,
		.slots = vf_calloc(n ? n : 1, sizeof(*j.slots)),
		.errs = vf_calloc(n ? n : 1, sizeof(*j.errs)),
	};
	vf_lv__parallel(c, n, vf_lv__read_domain, &j);
	int r = vf_lv__first_error(j.errs, n, err);
	size_t k = 0; /* the slots, closed up, become o's domains */
	for (size_t i = 0; i < n; i++)
		if (j.slots[i].xml)
			j.slots[k++] = j.slots[i];
	o->domains = j.slots;
	o->n_domains = k;
	return r;
}

/* ---- one domain, for a cache the caller keeps ------------------------------ */

/* What the bulk statistics say, for this one domain: one call, the same
 * figures a full observation reads, so cache and listing agree. */
static void vf_lv__one_stats(virDomainPtr dom, vf_lv_dom_facts *f)
{
	virDomainPtr doms[2] = { dom, NULL };
	virDomainStatsRecordPtr *recs = NULL;
	int n = VF_LV_CALL(virDomainListGetStats(doms,
						 VIR_DOMAIN_STATS_STATE | VIR_DOMAIN_STATS_BALLOON |
							 VIR_DOMAIN_STATS_VCPU,
						 &recs, 0));
	if (n < 1) {
		virDomainStatsRecordListFree(recs);
		virResetLastError(); /* the per-object calls answer instead */
		return;
	}
	vf_lv_dom_stats *st = f->stats = vf_calloc(1, sizeof(*f->stats));
	virDomainGetUUID(dom, st->uuid);
	virTypedParameterPtr params = recs[0]->params;
	int np = recs[0]->nparams;
	st->has_state = virTypedParamsGetInt(params, np, "state.state", &st->state) == 1;
	if (virTypedParamsGetInt(params, np, "state.reason", &st->reason) != 1)
		st->reason = 0;
	st->has_vcpus = virTypedParamsGetUInt(params, np, "vcpu.current", &st->vcpus) == 1;
	st->has_memory = virTypedParamsGetULLong(params, np, "balloon.current", &st->memory_kib) == 1;
	f->n_stats = 1;
	virDomainStatsRecordListFree(recs);
}

int vf_lv__observe_one_domain(vf_conn *c, const vf_obj_ref *ref, bool fresh, vf_observed *o,
			      vf_error *err)
{
	(void)fresh; /* a domain read is always a fresh one */
	_cleanup_dom_ virDomainPtr dom = ref->has_uuid
		? VF_LV_CALL(virDomainLookupByUUID(c->conn, ref->uuid))
		: VF_LV_CALL(virDomainLookupByName(c->conn, ref->name));
	if (!dom) {
		if (!vf_lv__vanished())
			return vf_error_set(err, VF_E_DRIVER, "cannot look up domain \"%s\": %s",
					    ref->name ? ref->name : "?", vf_lv__msg());
		vf_observed_put_domain(o, ref->name, ref->has_uuid ? ref->uuid : NULL, NULL);
		return 0;
	}
	vf_lv_dom_facts facts = { 0 }; /* sets unknown: asked of the domain itself */
	vf_lv__one_stats(dom, &facts);
	vf_obs_domain d = { 0 };
	vf_error e = { 0 };
	int r = vf_lv__observe_domain(dom, &facts, &d, &e);
	vf_lv__dom_facts_free(&facts);
	if (r < 0 || e.code) {
		if (r > 0) {
			vf_observed drop = { 0 };
			vf_observed_put_domain(&drop, NULL, NULL, &d);
			vf_observed_free(&drop);
		}
		*err = e;
		return -(int)e.code;
	}
	vf_observed_put_domain(o, ref->name, ref->has_uuid ? ref->uuid : NULL, r > 0 ? &d : NULL);
	return 0;
}
