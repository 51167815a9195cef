/* listing.c: what observing every kind builds on: reading many objects'
 * XML at once over the one connection, sets of UUIDs from filtered
 * listings (active, autostart, persistent) in place of a call per object,
 * whether an object vanished between its listing and the look at it, and
 * a pool's XML with the test driver's fallback. Calls no kind's file. */
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
 * (the caller's among them), or on the caller's alone on a connection
 * whose calls must not overlap; returns when all are done. fn writes only
 * to slot i of whatever ctx holds. */
void vf_lv__parallel(const vf_conn *c, size_t n, void (*fn)(void *ctx, size_t i), void *ctx)
{
	vf_lv_par p = { .n = n, .fn = fn, .ctx = ctx };
	pthread_mutex_init(&p.lock, NULL);
	pthread_t th[VF_LV_OBSERVE_THREADS - 1];
	size_t started = 0;
	if (n >= VF_LV_OBSERVE_PARALLEL_MIN && !c->serial)
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
int vf_lv__first_error(vf_error *errs, size_t n, vf_error *err)
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
bool vf_lv__vanished(void)
{
	int code = vf_lv__code();
	return code == VIR_ERR_NO_DOMAIN || code == VIR_ERR_NO_STORAGE_POOL ||
	       code == VIR_ERR_NO_STORAGE_VOL;
}

char *vf_lv__pool_xml_desc(virStoragePoolPtr p)
{
	char *xml = VF_LV_CALL(virStoragePoolGetXMLDesc(p, VIR_STORAGE_XML_INACTIVE));
	if (!xml && vf_lv__code() == VIR_ERR_INVALID_ARG) /* the test driver lacks the flag */
		xml = VF_LV_CALL(virStoragePoolGetXMLDesc(p, 0));
	return xml;
}

/* ---- sets of objects from filtered listings ------------------------------- */

int vf_lv__uuid_cmp(const void *a, const void *b)
{
	return memcmp(a, b, VIR_UUID_BUFLEN);
}

static void vf_lv__set_sort(vf_lv_set *s)
{
	qsort(s->uuids, s->n, sizeof(*s->uuids), vf_lv__uuid_cmp);
	s->known = true;
}

void vf_lv__domain_set(virConnectPtr conn, unsigned flags, vf_lv_set *out)
{
	virDomainPtr *doms = NULL;
	int n = VF_LV_CALL(virConnectListAllDomains(conn, &doms, flags));
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

void vf_lv__pool_set(virConnectPtr conn, unsigned flags, vf_lv_set *out)
{
	virStoragePoolPtr *pools = NULL;
	int n = VF_LV_CALL(virConnectListAllStoragePools(conn, &pools, flags));
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
int vf_lv__set_has(const vf_lv_set *s, const unsigned char *uuid)
{
	if (!s->known)
		return -1;
	return bsearch(uuid, s->uuids, s->n, sizeof(*s->uuids), vf_lv__uuid_cmp) != NULL;
}
