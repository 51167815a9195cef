/* domain_diff.c: a Domain's drift, field by field, between its manifest
 * and the live domain (pools' and volumes' drift: pool.c, volume.c, on
 * the same rules). Only fields the manifest sets are compared, plus the
 * defaults virtform itself applies; what libvirt fills in (addresses,
 * generated MACs, capacity figures) is never drift. Each change says when
 * it takes effect: live, next boot, or only by replacing the object. */
#include "controller/load/cloudinit.h"
#include "controller/plan/domain_diff.h"
#include "controller/plan/xmldiff.h"

#include <stdio.h>
#include <strings.h>

/* libvirt's test driver calls itself "TEST" (virConnectGetType); its only
 * domain type is "test", whatever the manifest asks for. */
static bool vf_diff__test_driver(const vf_observed *o)
{
	return o->hv_type && strcasecmp(o->hv_type, "test") == 0;
}

/* ---- domains: structured fields ------------------------------------------- */

static char *vf_diff__boot_str(const vf_boot_dev *b, size_t n)
{
	vf_buf buf = { 0 };
	vf_buf_add(&buf, "[");
	for (size_t i = 0; i < n; i++)
		vf_buf_printf(&buf, "%s%s", i ? ", " : "", vf_boot_dev_to_string(b[i]) ?: "?");
	vf_buf_add(&buf, "]");
	return vf_buf_steal(&buf);
}

/* "volume images/root" or "path /srv/iso/x.iso": what a disk points at. */
static char *vf_diff__disk_source(const vf_plan_ctx *c, const vf_disk *d)
{
	return vf_plan__disk_key(c, d);
}

static void vf_diff__disks(const vf_plan_ctx *c, const vf_domain_spec *ds,
			   const vf_obs_domain *have, vf_step *s)
{
	size_t n = ds->n_disks > have->n_disks ? ds->n_disks : have->n_disks;
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *f = vf_asprintf("spec.disks[%zu]", i);
		if (i >= have->n_disks) {
			vf_step__change_take(s, f, NULL, vf_diff__disk_source(c, &ds->disks[i]),
					     VF_EFFECT_NEXT_BOOT);
			continue;
		}
		const vf_obs_disk *hd = &have->disks[i];
		_cleanup_free_ char *hkey = vf_plan__obs_disk_key(c, hd);
		if (i >= ds->n_disks) {
			vf_step__change(s, f, hkey ? hkey : "(a disk)", NULL, VF_EFFECT_NEXT_BOOT);
			continue;
		}
		const vf_disk *wd = &ds->disks[i];
		_cleanup_free_ char *wkey = vf_diff__disk_source(c, wd);
		if (!vf_streq(wkey, hkey)) {
			_cleanup_free_ char *ff = vf_asprintf("%s.%s", f, wd->has_volume ? "volume" : "path");
			vf_step__change(s, ff, hkey, wkey, VF_EFFECT_NEXT_BOOT);
		}
		if (wd->target && !vf_streq(wd->target, hd->target)) {
			_cleanup_free_ char *ff = vf_asprintf("%s.target", f);
			vf_step__change(s, ff, hd->target, wd->target, VF_EFFECT_NEXT_BOOT);
		}
		vf_disk_bus bus = wd->bus ? wd->bus : VF_BUS_VIRTIO;
		if (hd->bus != VF_BUS_UNSET && hd->bus != bus) {
			_cleanup_free_ char *ff = vf_asprintf("%s.bus", f);
			vf_step__change(s, ff, vf_disk_bus_to_string(hd->bus), vf_disk_bus_to_string(bus),
					VF_EFFECT_NEXT_BOOT);
		}
		vf_disk_device dev = wd->device ? wd->device : VF_DISK_DEVICE_DISK;
		vf_disk_device hdev = hd->device ? hd->device : VF_DISK_DEVICE_DISK;
		if (hdev != dev) {
			_cleanup_free_ char *ff = vf_asprintf("%s.device", f);
			vf_step__change(s, ff, vf_disk_device_to_string(hdev),
					vf_disk_device_to_string(dev), VF_EFFECT_NEXT_BOOT);
		}
		/* A CD-ROM is read-only whatever the manifest says. */
		if (dev != VF_DISK_DEVICE_CDROM && wd->readonly != hd->readonly) {
			_cleanup_free_ char *ff = vf_asprintf("%s.readonly", f);
			vf_step__change(s, ff, vf_plan__bool_str(hd->readonly), vf_plan__bool_str(wd->readonly),
					VF_EFFECT_NEXT_BOOT);
		}
		if (wd->shareable != hd->shareable) {
			_cleanup_free_ char *ff = vf_asprintf("%s.shareable", f);
			vf_step__change(s, ff, vf_plan__bool_str(hd->shareable), vf_plan__bool_str(wd->shareable),
					VF_EFFECT_NEXT_BOOT);
		}
		if (wd->cache != VF_CACHE_UNSET && wd->cache != hd->cache) {
			_cleanup_free_ char *ff = vf_asprintf("%s.cache", f);
			vf_step__change(s, ff, vf_disk_cache_to_string(hd->cache),
					vf_disk_cache_to_string(wd->cache), VF_EFFECT_NEXT_BOOT);
		}
	}
}

static char *vf_diff__iface_desc(const char *network, const char *bridge)
{
	if (network)
		return vf_asprintf("network %s", network);
	if (bridge)
		return vf_asprintf("bridge %s", bridge);
	return vf_strdup("(other)");
}

static void vf_diff__ifaces(const vf_domain_spec *ds, const vf_obs_domain *have, vf_step *s)
{
	size_t n = ds->n_ifaces > have->n_ifaces ? ds->n_ifaces : have->n_ifaces;
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *f = vf_asprintf("spec.interfaces[%zu]", i);
		if (i >= have->n_ifaces) {
			vf_step__change_take(s, f, NULL,
					     vf_diff__iface_desc(ds->ifaces[i].network, ds->ifaces[i].bridge),
					     VF_EFFECT_NEXT_BOOT);
			continue;
		}
		const vf_obs_iface *hi = &have->ifaces[i];
		if (i >= ds->n_ifaces) {
			vf_step__change_take(s, f, vf_diff__iface_desc(hi->network, hi->bridge), NULL,
					     VF_EFFECT_NEXT_BOOT);
			continue;
		}
		const vf_iface *wi = &ds->ifaces[i];
		_cleanup_free_ char *wdesc = vf_diff__iface_desc(wi->network, wi->bridge);
		_cleanup_free_ char *hdesc = vf_diff__iface_desc(hi->network, hi->bridge);
		if (strcmp(wdesc, hdesc) != 0) {
			_cleanup_free_ char *ff =
				vf_asprintf("%s.%s", f, wi->network ? "network" : "bridge");
			vf_step__change(s, ff, hdesc, wdesc, VF_EFFECT_NEXT_BOOT);
		}
		/* Model: virtio is virtform's default; a live interface without a
		 * model element is libvirt's business unless the manifest names one. */
		const char *model = wi->model ? wi->model : "virtio";
		if ((wi->model || hi->model) && !vf_streq(model, hi->model)) {
			_cleanup_free_ char *ff = vf_asprintf("%s.model", f);
			vf_step__change(s, ff, hi->model, model, VF_EFFECT_NEXT_BOOT);
		}
		/* A MAC libvirt generated is not drift; only a declared one is compared. */
		if (wi->mac && (!hi->mac || strcasecmp(wi->mac, hi->mac) != 0)) {
			_cleanup_free_ char *ff = vf_asprintf("%s.mac", f);
			vf_step__change(s, ff, hi->mac, wi->mac, VF_EFFECT_NEXT_BOOT);
		}
	}
}

/* ---- domains: cloud-init seeds (docs/cloud-init.md) ------------------------ */

static bool vf_diff__seed_stale_spec(const vf_plan_ctx *c, const vf_domain_spec *ds,
				     const vf_obs_domain *have)
{
	const vf_cloudinit *ci = &ds->cloudinit;
	if (!ci->present || !ci->seed_pool)
		return false;
	return !vf_streq(have->seed_hash, ci->hash) ||
	       !vf_index_volume(c->ix, ci->seed_pool, ci->seed_volume);
}

bool vf_diff__seed_stale(const vf_plan_ctx *c, const vf_object *want, const vf_obs_domain *have)
{
	return vf_diff__seed_stale_spec(c, &want->u.domain, have);
}

static char *vf_diff__seed_label(const char *hash)
{
	return hash ? vf_asprintf("sha256:%s", hash) : NULL;
}

/* One change for the seed: its content, its volume, its CD-ROM, or its
 * removal. The plan shows a note; JSON keeps the hashes. */
static void vf_diff__cloudinit(const vf_plan_ctx *c, const vf_domain_spec *ds,
			       const vf_obs_domain *have, vf_step *s)
{
	const vf_cloudinit *ci = &ds->cloudinit;
	const vf_obs_disk *disk = vf_plan__live_seed_disk(have);
	const char *note = NULL;
	if (!ci->present) {
		if (disk && disk->pool &&
		    !vf_plan__seed_owned(c, have->name, have, disk->pool, disk->volume))
			note = "removed (seed detached; its volume is not virtform's and stays; next-boot)";
		else if (disk || have->seed_hash)
			note = "removed (seed detached and deleted; next-boot)";
	} else if (!ci->seed_pool) {
		return; /* a plan error, reported by the planner */
	} else if (!vf_streq(have->seed_hash, ci->hash)) {
		note = have->seed_hash ? "changed (seed regenerated; next-boot)"
				       : "added (seed created and attached; next-boot)";
	} else if (!vf_index_volume(c->ix, ci->seed_pool, ci->seed_volume)) {
		note = "seed volume missing (seed regenerated; next-boot)";
	} else if (!disk || !vf_streq(disk->pool, ci->seed_pool) ||
		   disk->device != vf_cloudinit_seed_device(disk->bus)) {
		note = "seed not attached (seed re-attached; next-boot)";
	} else if (ci->bus && disk->bus != ci->bus) {
		/* Only a declared bus moves a seed: a domain made before the default
		 * became scsi keeps its sata seed, which its first boot already read. */
		vf_step__change(s, "spec.cloudInit.bus", vf_disk_bus_to_string(disk->bus),
				vf_disk_bus_to_string(ci->bus), VF_EFFECT_NEXT_BOOT);
	}
	if (!note)
		return;
	vf_step__change_take(s, "spec.cloudInit", vf_diff__seed_label(have->seed_hash),
			     vf_diff__seed_label(ci->present ? ci->hash : NULL), VF_EFFECT_NEXT_BOOT);
	s->changes[s->n_changes - 1].note = note;
}

static void vf_diff__domain_fields(const vf_plan_ctx *c, const vf_domain_spec *ds,
				   const vf_obs_domain *have, vf_step *s)
{
	if ((ds->type == VF_DOMAIN_KVM || ds->type == VF_DOMAIN_QEMU || ds->type == VF_DOMAIN_LXC) &&
	    !vf_diff__test_driver(c->o) &&
	    !vf_streq(have->type, vf_domain_type_to_string(ds->type)))
		vf_step__change(s, "spec.type", have->type, vf_domain_type_to_string(ds->type),
				VF_EFFECT_NEXT_BOOT);
	if (ds->cpu_mode != VF_CPU_MODE_UNSET && ds->cpu_mode != have->cpu_mode)
		vf_step__change(s, "spec.cpu.mode", vf_cpu_mode_to_string(have->cpu_mode),
				vf_cpu_mode_to_string(ds->cpu_mode), VF_EFFECT_NEXT_BOOT);
	if (ds->machine && !vf_xmldiff_machine_matches(ds->machine, have->machine))
		vf_step__change(s, "spec.machine", have->machine, ds->machine, VF_EFFECT_NEXT_BOOT);
	if (ds->firmware != VF_FIRMWARE_UNSET && ds->firmware != have->firmware)
		vf_step__change(s, "spec.firmware", vf_firmware_to_string(have->firmware),
				vf_firmware_to_string(ds->firmware), VF_EFFECT_NEXT_BOOT);
	if (ds->n_boot) {
		bool same = ds->n_boot == have->n_boot;
		for (size_t i = 0; same && i < ds->n_boot; i++)
			same = ds->boot[i] == have->boot[i];
		if (!same)
			vf_step__change_take(s, "spec.boot", vf_diff__boot_str(have->boot, have->n_boot),
					     vf_diff__boot_str(ds->boot, ds->n_boot),
					     VF_EFFECT_NEXT_BOOT);
	}
	if (ds->n_disks) {
		/* The seed CD-ROM is virtform's, compared by vf_diff__cloudinit. */
		vf_obs_domain view = *have;
		const vf_obs_disk *seed = vf_plan__live_seed_disk(have);
		_cleanup_free_ vf_obs_disk *disks = vf_calloc(have->n_disks + 1, sizeof(*disks));
		view.disks = disks;
		view.n_disks = 0;
		for (size_t i = 0; i < have->n_disks; i++)
			if (&have->disks[i] != seed)
				disks[view.n_disks++] = have->disks[i];
		vf_diff__disks(c, ds, &view, s);
	}
	vf_diff__cloudinit(c, ds, have, s);
	if (ds->n_ifaces)
		vf_diff__ifaces(ds, have, s);
	if (ds->graphics != VF_GRAPHICS_UNSET && ds->graphics != have->graphics)
		vf_step__change(s, "spec.graphics.type", vf_graphics_type_to_string(have->graphics),
				vf_graphics_type_to_string(ds->graphics), VF_EFFECT_NEXT_BOOT);
	if (ds->graphics_listen && ds->graphics != VF_GRAPHICS_NONE &&
	    have->graphics != VF_GRAPHICS_NONE && !vf_streq(ds->graphics_listen, have->graphics_listen))
		vf_step__change(s, "spec.graphics.listen", have->graphics_listen, ds->graphics_listen,
				VF_EFFECT_NEXT_BOOT);
	if (ds->serial_console != VF_TRI_UNSET &&
	    vf_tri_get(ds->serial_console, true) != have->serial_console)
		vf_step__change(s, "spec.serialConsole", vf_plan__bool_str(have->serial_console),
				vf_plan__bool_str(vf_tri_get(ds->serial_console, true)), VF_EFFECT_NEXT_BOOT);
	vf_diff__container(ds, have, s);
	/* the log only when serialConsole is declared: `true` means no log */
	if (vf_tri_get(ds->serial_console, false) && have->serial_console) {
		if (!vf_streq(ds->serial_log, have->serial_log))
			vf_step__change(s, "spec.serialConsole.log", have->serial_log, ds->serial_log,
					VF_EFFECT_NEXT_BOOT);
		else if (ds->serial_log && ds->serial_log_append != have->serial_log_append)
			vf_step__change(s, "spec.serialConsole.append",
					vf_plan__bool_str(have->serial_log_append),
					vf_plan__bool_str(ds->serial_log_append), VF_EFFECT_NEXT_BOOT);
	}
}

/* ---- domains: raw XML ----------------------------------------------------- */

/* Append l's entries as changes "xml:PATH", all next-boot: virtform applies
 * spec.xml by redefining, never live. */
static void vf_diff__xml_changes(vf_step *s, const vf_xmldiff_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		_cleanup_free_ char *f = vf_asprintf("xml:%s", l->items[i].path);
		vf_step__change(s, f, l->items[i].old_value, l->items[i].new_value, VF_EFFECT_NEXT_BOOT);
	}
}

static void vf_diff__xml_diag(const vf_object *want, const vf_error *err, bool live_side,
			      vf_diags *diags)
{
	vf_pos pos = want->u.domain.xml_pos.file ? want->u.domain.xml_pos : want->pos;
	if (!live_side && err->code == VF_E_SCHEMA)
		vf_diag_add(diags, VF_E_SCHEMA, pos, "Domain \"%s\": spec.xml is not well-formed XML",
			    want->name);
	else
		vf_diag_add(diags, VF_E_DRIVER, pos,
			    "Domain \"%s\": the live domain's XML could not be read", want->name);
}

/* Three ways, as kubectl apply keeps its last-applied configuration
 * (docs/concepts.md, "Raw XML: three ways"): with a record of the last
 * define, a changed manifest is the diff between the manifest applied then
 * and now, and a change made behind virtform's back the diff between what
 * libvirt returned then and what it returns now: both exact, so libvirt's
 * normalisation is never drift. Digests first: equal digests need no text
 * and no tree. Without a record (adopted, or defined before records), or
 * when a text a differing digest needs is missing from the state
 * directory, the manifest must be a subset of the live XML (the first
 * apply's comparison, never a silent "no drift"). */
static int vf_diff__domain_xml(const vf_plan_ctx *c, const vf_object *want,
			       const vf_obs_domain *have, vf_step *s, vf_diags *diags)
{
	const vf_domain_spec *ds = &want->u.domain;
	const vf_xml_record *rec = &have->applied;
	vf_xmldiff_list l = { 0 };
	vf_error err = { 0 };
	int r = 0;
	/* the UUID may be the one virtform filled in for the manifest */
	const char *ignore_m[] = { "/domain/uuid" };
	size_t n_manifest = 0;
	bool live_side = false;
	r = vf_xmldiff_recorded(ds->xml, ds->xml_hash, rec, have->xml_bare, have->xml_bare_digest,
				ignore_m, 1, &l, &n_manifest, &live_side, &err);
	if (r < 0) {
		vf_diff__xml_diag(want, &err, live_side, diags);
		goto out;
	}
	if (r > 0) {
		vf_diff__xml_changes(s, &l);
		if (l.n > n_manifest && !n_manifest)
			s->reason = vf_asprintf("%zu field%s changed outside virtform since the last apply",
						l.n, l.n == 1 ? "" : "s");
		goto out;
	}
	/* The UUID and virtform's metadata are virtform's to write; on the test
	 * driver every domain's type is "test" whatever the manifest says. */
	const char *ignore[] = { "/domain/uuid", "/domain/metadata", "/domain/@type" };
	size_t n_ignore = vf_diff__test_driver(c->o) ? 3 : 2;
	if ((r = vf_xmldiff_subset(ds->xml, have->xml, ignore, n_ignore, &l, &err)) < 0) {
		vf_diff__xml_diag(want, &err, err.code != VF_E_SCHEMA, diags);
		goto out;
	}
	vf_diff__xml_changes(s, &l);
out:
	vf_xmldiff_list_free(&l);
	vf_error_clear(&err);
	return r < 0 ? -1 : 0;
}

/* ---- domains -------------------------------------------------------------- */

int vf_diff__domain(const vf_plan_ctx *c, const vf_object *want, const vf_obs_domain *have,
		    vf_step *s, bool *ret_redefine, bool *ret_live_vcpus, bool *ret_live_memory,
		    vf_diags *diags)
{
	const vf_domain_spec *ds = &want->u.domain;
	bool running = have->state == VF_RUN_RUNNING || have->state == VF_RUN_PAUSED;
	*ret_redefine = *ret_live_vcpus = *ret_live_memory = false;

	if (ds->xml) {
		if (vf_diff__domain_xml(c, want, have, s, diags) < 0)
			return -1;
		*ret_redefine = s->n_changes > 0;
	} else {
		/* vCPUs and memory: live on a running domain when within the
		 * maximum it booted with; otherwise they wait for the next boot.
		 * That maximum is the running guest's, not the definition's: a
		 * next-boot change already written (128MiB -> 256MiB) does not
		 * raise what the running guest can take. */
		uint32_t vcpus = vf_dom_vcpus(ds);
		uint32_t max_vcpus = have->vcpus;
		if (have->live_max_vcpus && have->live_max_vcpus < max_vcpus)
			max_vcpus = have->live_max_vcpus;
		uint64_t max_mem = have->memory;
		if (have->live_max_memory && have->live_max_memory < max_mem)
			max_mem = have->live_max_memory;
		if (vcpus != have->vcpus) {
			/* libvirt's LXC driver cannot change a container's vCPUs live */
			bool live = running && vcpus <= max_vcpus && !vf_streq(have->type, "lxc");
			_cleanup_free_ char *o = vf_asprintf("%u", have->vcpus);
			_cleanup_free_ char *n = vf_asprintf("%u", vcpus);
			vf_step__change(s, "spec.vcpus", o, n, live ? VF_EFFECT_LIVE : VF_EFFECT_NEXT_BOOT);
			*ret_live_vcpus = live;
		} else if (have->boot_vcpus && have->boot_vcpus != vcpus) {
			/* the maximum is right but the guest boots with fewer
			 * (virsh setvcpus --config): the definition virtform writes
			 * boots with them all */
			_cleanup_free_ char *o = vf_asprintf("%u of %u at boot", have->boot_vcpus, have->vcpus);
			_cleanup_free_ char *n = vf_asprintf("%u", vcpus);
			vf_step__change(s, "spec.vcpus", o, n, VF_EFFECT_NEXT_BOOT);
		}
		uint64_t mem = vf_dom_memory(ds);
		if (mem != have->memory) {
			bool live = running && mem <= max_mem;
			vf_step__change_take(s, "spec.memory", vf_format_size(have->memory),
					     vf_format_size(mem),
					     live ? VF_EFFECT_LIVE : VF_EFFECT_NEXT_BOOT);
			*ret_live_memory = live;
		} else if (have->current_memory && have->current_memory != mem) {
			/* the maximum is right but the guest boots ballooned down
			 * (virsh setmem --config): virtform's definition boots it
			 * with all of it (<currentMemory> equal to <memory>) */
			_cleanup_free_ char *cur = vf_format_size(have->current_memory);
			_cleanup_free_ char *max = vf_format_size(have->memory);
			vf_step__change_take(s, "spec.memory", vf_asprintf("%s of %s at boot", cur, max),
					     vf_format_size(mem), VF_EFFECT_NEXT_BOOT);
		}
		size_t before = s->n_changes;
		vf_diff__domain_fields(c, ds, have, s);
		*ret_redefine = s->n_changes > 0 || before > 0;
	}

	vf_run_state st = vf_dom_state(ds);
	if (st != have->state) {
		/* libvirt's own word when it is not one of ours ("shutoff (crashed)") */
		const char *word = vf_run_state_to_string(have->state);
		char *old = have->state_name && vf_run_state_from_string(have->state_name) < 0 &&
				    !vf_streq(have->state_name, "shut off")
			? vf_asprintf("%s (%s)", word, have->state_name)
			: vf_strdup(word);
		vf_step__change_take(s, "spec.state", old, vf_strdup(vf_run_state_to_string(st)),
				     VF_EFFECT_LIVE);
	}
	bool want_auto = vf_tri_get(ds->autostart, false);
	if (want_auto != have->autostart)
		vf_step__change(s, "spec.autostart", vf_plan__bool_str(have->autostart),
				vf_plan__bool_str(want_auto), VF_EFFECT_LIVE);
	return 0;
}
