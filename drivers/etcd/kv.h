/* kv.h: what virtform asks etcd (kv.c): leases (grant, keepalive, revoke,
 * time to live) and the three key transactions of a distributed lock (take
 * a key only if absent, give it back only if still ours, read who holds
 * it). Private to drivers/etcd/ and its tests. Not the transport
 * (client.h) and not the lease state machine (drivers/fence/lease.h). */
#pragma once

#include "drivers/etcd/client.h"

/* ---- leases -------------------------------------------------------------- */

/* Grant a lease of ttl_s seconds; *ret_id is its ID, *ret_ttl_s what etcd
 * granted (etcd may raise a TTL below its minimum). */
int vf_etcd_lease_grant(vf_etcd *c, int64_t ttl_s, int64_t *ret_id, int64_t *ret_ttl_s,
			vf_error *err);
/* One keepalive. On 0, *ret_ttl_s is the renewed TTL (0: the lease has
 * expired or was revoked: nothing was renewed) and *ret_sent_ms the
 * monotonic time just before the request that etcd answered was sent:
 * the lease cannot expire before sent + TTL (docs/fleet.md). */
int vf_etcd_lease_keepalive(vf_etcd *c, int64_t id, int64_t *ret_ttl_s, uint64_t *ret_sent_ms,
			    vf_error *err);
/* Revoke: the lease's keys go with it. A lease already gone is not an error. */
int vf_etcd_lease_revoke(vf_etcd *c, int64_t id, vf_error *err);
/* Seconds left (-1: gone) and as granted. */
int vf_etcd_lease_ttl(vf_etcd *c, int64_t id, int64_t *ret_left_s, int64_t *ret_granted_s,
		      vf_error *err);

/* ---- keys ------------------------------------------------------------------ */

/* One key as etcd holds it. */
typedef struct vf_etcd_kv {
	bool present;
	char *value;              /* NUL-terminated copy; NULL when absent */
	int64_t create_rev;       /* revision that created it: the fencing token */
	int64_t mod_rev;
	int64_t lease;            /* 0: no lease */
	int64_t ttl_left_s;       /* vf_etcd_get only: the lease's seconds left; -1 gone/none */
	int64_t ttl_granted_s;    /* vf_etcd_get only: its granted TTL; 0 none */
} vf_etcd_kv;

void vf_etcd_kv_clear(vf_etcd_kv *kv);   /* frees value; accepts NULL */

/* Put key=value attached to `lease` in one transaction, only if the key
 * does not exist (create_revision == 0). On 0, *ret_rev is the key's
 * create revision (the fencing token). When the key exists and is
 * attached to `lease` itself (our own earlier put whose answer was lost),
 * it is ours: 0 and its revision (lease 0, no lease: never). Otherwise
 * VF_E_LOCKED, and *holder
 * (may be NULL) is filled with the key as it is. */
int vf_etcd_take(vf_etcd *c, const char *key, const char *value, int64_t lease,
		 int64_t *ret_rev, vf_etcd_kv *holder, vf_error *err);
/* Delete key only if it is still the one created at revision `rev`.
 * Returns 1 deleted, 0 not ours any more (absent, or re-created by
 * someone), negative on error. */
int vf_etcd_release(vf_etcd *c, const char *key, int64_t rev, vf_error *err);
/* Read key and, when it has a lease, the lease's time to live. */
int vf_etcd_get(vf_etcd *c, const char *key, vf_etcd_kv *out, vf_error *err);


/* ---- the fleet's requests (controller/watch/fleet.c) ----------------------- */

/* Every key under `prefix` (one range request, keys in order). */
typedef struct vf_etcd_kvs {
	char **keys;
	vf_etcd_kv *kvs;
	size_t n;
	int64_t revision;         /* the store's revision the range was read at */
} vf_etcd_kvs;

void vf_etcd_kvs_clear(vf_etcd_kvs *k);   /* accepts NULL */
int vf_etcd_range_prefix(vf_etcd *c, const char *prefix, vf_etcd_kvs *out, vf_error *err);
/* Put key=value (attached to `lease`; 0 none), unconditionally. */
int vf_etcd_put(vf_etcd *c, const char *key, const char *value, int64_t lease, vf_error *err);
/* One transaction: is `key` still the one created at `rev` and attached
 * to `lease`? 1 yes, 0 no (then *holder, may be NULL, is the key as it
 * is: absent or someone else's), negative on error. */
int vf_etcd_held(vf_etcd *c, const char *key, int64_t rev, int64_t lease, vf_etcd_kv *holder,
		 vf_error *err);
