/* domain.c: the hypervisor driver's domain operations: define (from the
 * structured spec or the user's raw XML), start, shutdown with a deadline,
 * suspend, resume, autostart, live vCPU and memory changes, undefine.
 * Not for building or reading XML: xml_build.c and xml_parse.c do that. */
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
	default: {
		/* The controller resolves auto; this is only a safety net. */
		_cleanup_free_ char *caps = virConnectGetCapabilities(c->conn);
		return caps && vf_lv__caps_have_kvm(caps) ? "kvm" : "qemu";
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
		return vf_lv__record_domain(d, o->name, o->u.domain.xml_hash, o->u.domain.xml, err);
	return 0;
}

int vf_lv_domain_start(vf_conn *c, const char *name, vf_error *err)
{
	_cleanup_dom_ virDomainPtr d = virDomainLookupByName(c->conn, name);
	if (!d || virDomainCreate(d) < 0)
		return vf_error_set(err, VF_E_DRIVER, "cannot start domain \"%s\": %s", name,
				    vf_lv__msg());
	return 0;
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
	if (virDomainShutdown(d) == 0) {
		/* Poll every 100 ms until it is off or the deadline passes. */
		for (unsigned long waited_ms = 0;; waited_ms += 100) {
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
	 * neither NVRAM nor checkpoints): retry with fewer, never with more. */
	const unsigned tries[] = {
		base | nvram | VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA,
		base | nvram,
		base,
	};
	for (size_t i = 0; i < VF_ARRAY_SIZE(tries); i++) {
		if (virDomainUndefineFlags(d, tries[i]) == 0)
			return 0;
		if (vf_lv__code() != VIR_ERR_INVALID_ARG)
			break;
	}
	return vf_error_set(err, VF_E_DRIVER, "cannot undefine domain \"%s\": %s", name,
			    vf_lv__msg());
}
