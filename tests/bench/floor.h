/* floor.h: the benchmark's floor, the libvirt calls virtform cannot avoid,
 * shared by the floor program (real libvirtd) and the in-process bench
 * (test:///default). Observing: the bulk listings (pools, each active
 * pool's volumes, domains) and the inactive XML of every object. Converging
 * from empty: that observation, then per pool define + build + create +
 * autostart (the manifests' pools are autostarted, so the end state needs
 * it), per volume one create, per domain one define. The XML payloads are
 * built before timing with virtform's own XML writers, so libvirt parses
 * exactly what virtform would send. Not for timing or cleanup policy. */
#pragma once

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "bench.h"
#include "controller/load/manifest.h"
#include "drivers/libvirt/lv.h"

typedef struct vfb_item {
	vf_kind kind;
	char *name;
	char *pool;               /* volumes */
	char *xml;
} vfb_item;

typedef struct vfb_payload {
	vfb_item *items;          /* pools, then volumes, then domains */
	size_t n;
	size_t cap;
} vfb_payload;

static inline void vfb_payload_free(vfb_payload *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free(p->items[i].name);
		free(p->items[i].pool);
		free(p->items[i].xml);
	}
	free(p->items);
	memset(p, 0, sizeof(*p));
}

static inline void vfb__push(vfb_payload *p, vf_kind kind, const char *name, const char *pool,
			     char *xml)
{
	if (!xml)
		vfb_die("cannot build the XML of %s", name);
	vfb_item it = { kind, vf_strdup(name), pool ? vf_strdup(pool) : NULL, xml };
	VF_APPEND(p->items, p->n, p->cap, it);
}

/* Build the payloads of every object under `dir` (untimed). dom_type is
 * the domain type virtform resolves to: "test", "kvm" or "qemu". */
static inline void vfb_payload_build(const char *dir, const char *dom_type, vfb_payload *out)
{
	vf_desired d = { 0 };
	vf_diags diags = { 0 };
	const char *paths[] = { dir };
	if (vf_manifest_load(paths, 1, &d, &diags) < 0)
		vfb_die("cannot load the manifests in %s", dir);
	vf_diags_free(&diags);
	for (int pass = 0; pass < 3; pass++) {
		vf_kind want = pass == 0 ? VF_KIND_POOL : pass == 1 ? VF_KIND_VOLUME : VF_KIND_DOMAIN;
		for (size_t i = 0; i < d.n; i++) {
			const vf_object *o = &d.objs[i];
			if (o->kind != want)
				continue;
			if (want == VF_KIND_POOL) {
				vfb__push(out, want, o->name, NULL, vf_lv__pool_xml(o));
			} else if (want == VF_KIND_VOLUME) {
				vfb__push(out, want, o->name, o->u.volume.pool,
					  vf_lv__volume_xml(o, true, NULL, NULL));
			} else {
				size_t nd = o->u.domain.n_disks;
				vf_lv_disk_info *info = vf_calloc(nd + 1, sizeof(*info));
				for (size_t k = 0; k < nd; k++)
					info[k].format = vf_strdup("raw"); /* the volumes' format */
				vfb__push(out, want, o->name, NULL, vf_lv__domain_xml(o, dom_type, info));
				for (size_t k = 0; k < nd; k++)
					free(info[k].format);
				free(info);
			}
		}
	}
	vf_desired_free(&d);
}

/* libvirt's default error handler prints every error, expected or not. */
static inline void vfb_quiet(void *userdata, virErrorPtr e)
{
	(void)userdata;
	(void)e;
}

/* Another program may remove its objects while we list: skip those. */
static inline bool vfb__vanished(void)
{
	int code = virGetLastErrorCode();
	return code == VIR_ERR_NO_DOMAIN || code == VIR_ERR_NO_STORAGE_POOL ||
	       code == VIR_ERR_NO_STORAGE_VOL;
}

static inline void vfb__lv_die(const char *what, const char *name)
{
	const virError *e = virGetLastError();
	vfb_die("%s %s: %s", what, name ? name : "", e && e->message ? e->message : "unknown error");
}

/* The observation floor. Returns the number of objects seen. */
static inline size_t vfb_floor_observe(virConnectPtr c)
{
	size_t seen = 0;
	virStoragePoolPtr *pools = NULL;
	int np = virConnectListAllStoragePools(c, &pools, 0);
	if (np < 0)
		vfb__lv_die("list pools", NULL);
	for (int i = 0; i < np; i++) {
		char *x = virStoragePoolGetXMLDesc(pools[i], VIR_STORAGE_XML_INACTIVE);
		if (!x)
			x = virStoragePoolGetXMLDesc(pools[i], 0); /* the test driver lacks the flag */
		if (!x && !vfb__vanished())
			vfb__lv_die("pool XML", virStoragePoolGetName(pools[i]));
		free(x);
		seen++;
		virStorageVolPtr *vols = NULL;
		int nv = virStoragePoolListAllVolumes(pools[i], &vols, 0);
		for (int j = 0; j < nv; j++) { /* inactive pools: nv < 0, nothing to read */
			x = virStorageVolGetXMLDesc(vols[j], 0);
			if (!x && !vfb__vanished())
				vfb__lv_die("volume XML", virStorageVolGetName(vols[j]));
			free(x);
			seen++;
			virStorageVolFree(vols[j]);
		}
		free(vols);
		virStoragePoolFree(pools[i]);
	}
	free(pools);
	virDomainPtr *doms = NULL;
	int nd = virConnectListAllDomains(c, &doms, 0);
	if (nd < 0)
		vfb__lv_die("list domains", NULL);
	for (int i = 0; i < nd; i++) {
		char *x = virDomainGetXMLDesc(doms[i], VIR_DOMAIN_XML_INACTIVE);
		if (!x && !vfb__vanished())
			vfb__lv_die("domain XML", virDomainGetName(doms[i]));
		free(x);
		seen++;
		virDomainFree(doms[i]);
	}
	free(doms);
	return seen;
}

/* The converging floor: observe, then create everything in the payload. */
static inline void vfb_floor_apply(virConnectPtr c, const vfb_payload *p)
{
	vfb_floor_observe(c);
	virStoragePoolPtr pools[VFB_POOLS * 4] = { 0 };
	const char *pool_names[VFB_POOLS * 4] = { 0 };
	size_t npools = 0;
	for (size_t i = 0; i < p->n; i++) {
		const vfb_item *it = &p->items[i];
		if (it->kind == VF_KIND_POOL) {
			virStoragePoolPtr sp = virStoragePoolDefineXML(c, it->xml, 0);
			if (!sp)
				vfb__lv_die("define pool", it->name);
			/* flags 0: libvirt 9 rejects NO_OVERWRITE for dir pools ("no source device") */
			if (virStoragePoolBuild(sp, 0) < 0 &&
			    virGetLastErrorCode() != VIR_ERR_NO_SUPPORT)
				vfb__lv_die("build pool", it->name);
			if (virStoragePoolCreate(sp, 0) < 0)
				vfb__lv_die("start pool", it->name);
			if (virStoragePoolSetAutostart(sp, 1) < 0)
				vfb__lv_die("autostart pool", it->name);
			if (npools == VF_ARRAY_SIZE(pools))
				vfb_die("too many pools");
			pools[npools] = sp;
			pool_names[npools++] = it->name;
		} else if (it->kind == VF_KIND_VOLUME) {
			virStoragePoolPtr sp = NULL;
			for (size_t k = 0; k < npools && !sp; k++)
				if (strcmp(pool_names[k], it->pool) == 0)
					sp = pools[k];
			if (!sp)
				vfb_die("volume %s: pool %s not in the payload", it->name, it->pool);
			virStorageVolPtr v = virStorageVolCreateXML(sp, it->xml, 0);
			if (!v)
				vfb__lv_die("create volume", it->name);
			virStorageVolFree(v);
		} else {
			virDomainPtr d = virDomainDefineXML(c, it->xml);
			if (!d)
				vfb__lv_die("define domain", it->name);
			virDomainFree(d);
		}
	}
	for (size_t k = 0; k < npools; k++)
		virStoragePoolFree(pools[k]);
}
