/* kv.c: virtform's requests to etcd: leases and the lock transactions.
 * Keys and values travel base64-encoded, 64-bit numbers as JSON strings
 * (the gateway's proto3 JSON mapping). Every function answers in whole
 * sentences naming the endpoint (client.c). Not for choosing keys or
 * holding locks (lockdrv.c). */
#include "drivers/etcd/kv.h"

#include <inttypes.h>
#include <string.h>

static void vf_kv__put_int(json_object *o, const char *name, int64_t v)
{
	char buf[24];
	snprintf(buf, sizeof(buf), "%" PRId64, v);
	json_object_object_add(o, name, json_object_new_string(buf));
}

static void vf_kv__put_b64(json_object *o, const char *name, const char *s)
{
	_cleanup_free_ char *b = vf_etcd_b64_encode(s, strlen(s));
	json_object_object_add(o, name, json_object_new_string(b));
}

/* A 64-bit field the gateway sends as a string (absent: 0). */
static int64_t vf_kv__int(json_object *o, const char *name)
{
	json_object *v = NULL;
	return o && json_object_object_get_ex(o, name, &v) ? json_object_get_int64(v) : 0;
}

static json_object *vf_kv__get(json_object *o, const char *name)
{
	json_object *v = NULL;
	return o && json_object_object_get_ex(o, name, &v) ? v : NULL;
}

static void vf_kv__putp(json_object **p)
{
	json_object_put(*p);
}
#define _cleanup_json_ __attribute__((cleanup(vf_kv__putp)))

static int vf_kv__call(vf_etcd *c, const char *path, json_object *req, json_object **out,
		       uint64_t *ret_sent_ms, vf_error *err)
{
	int r = vf_etcd_call(c, path, req, out, ret_sent_ms, err);
	json_object_put(req);
	return r;
}

/* ---- leases -------------------------------------------------------------- */

/* POST {"ID": id} to one of the lease paths. */
static int vf_kv__lease_call(vf_etcd *c, const char *path, int64_t id, json_object **out,
			     uint64_t *ret_sent_ms, vf_error *err)
{
	json_object *req = json_object_new_object();
	vf_kv__put_int(req, "ID", id);
	return vf_kv__call(c, path, req, out, ret_sent_ms, err);
}

int vf_etcd_lease_grant(vf_etcd *c, int64_t ttl_s, int64_t *ret_id, int64_t *ret_ttl_s,
			vf_error *err)
{
	if (ttl_s <= 0)
		return vf_error_set(err, VF_E_USAGE, "etcd lease: a TTL of %" PRId64 " s is not positive",
				    ttl_s);
	json_object *req = json_object_new_object();
	vf_kv__put_int(req, "TTL", ttl_s);
	_cleanup_json_ json_object *resp = NULL;
	int r = vf_kv__call(c, "/v3/lease/grant", req, &resp, NULL, err);
	if (r < 0)
		return r;
	int64_t id = vf_kv__int(resp, "ID");
	if (id == 0)
		return vf_error_set(err, VF_E_DRIVER, "etcd %s: lease grant answered without a lease ID",
				    vf_etcd_endpoint(c));
	*ret_id = id;
	if (ret_ttl_s)
		*ret_ttl_s = vf_kv__int(resp, "TTL");
	return 0;
}

int vf_etcd_lease_keepalive(vf_etcd *c, int64_t id, int64_t *ret_ttl_s, uint64_t *ret_sent_ms,
			    vf_error *err)
{
	_cleanup_json_ json_object *resp = NULL;
	uint64_t sent = 0;
	/* A stream in gRPC; the gateway answers one request with one
	 * {"result": ...} and ends the stream. */
	int r = vf_kv__lease_call(c, "/v3/lease/keepalive", id, &resp, &sent, err);
	if (r < 0)
		return r;
	json_object *res = vf_kv__get(resp, "result");
	if (!res)
		return vf_error_set(err, VF_E_DRIVER, "etcd %s: lease keepalive answered without a result",
				    vf_etcd_endpoint(c));
	*ret_ttl_s = vf_kv__int(res, "TTL");   /* absent: the lease is gone */
	if (ret_sent_ms)
		*ret_sent_ms = sent;
	return 0;
}

int vf_etcd_lease_revoke(vf_etcd *c, int64_t id, vf_error *err)
{
	_cleanup_json_ json_object *resp = NULL;
	vf_error e = { 0 };
	int r = vf_kv__lease_call(c, "/v3/lease/revoke", id, &resp, NULL, &e);
	if (r < 0 && e.message && strstr(e.message, "lease not found")) {
		vf_error_clear(&e);
		return 0;   /* expired or revoked already: the goal is met */
	}
	if (r < 0) {
		vf_error_clear(err);
		*err = e;
		return r;
	}
	return 0;
}

int vf_etcd_lease_ttl(vf_etcd *c, int64_t id, int64_t *ret_left_s, int64_t *ret_granted_s,
		      vf_error *err)
{
	_cleanup_json_ json_object *resp = NULL;
	int r = vf_kv__lease_call(c, "/v3/lease/timetolive", id, &resp, NULL, err);
	if (r < 0)
		return r;
	json_object *ttl = vf_kv__get(resp, "TTL");
	*ret_left_s = ttl ? json_object_get_int64(ttl) : -1;
	*ret_granted_s = vf_kv__int(resp, "grantedTTL");
	if (*ret_granted_s == 0)
		*ret_left_s = -1;   /* etcd answers TTL -1 for a lease it does not know */
	return 0;
}

/* ---- keys ------------------------------------------------------------------- */

void vf_etcd_kv_clear(vf_etcd_kv *kv)
{
	if (!kv)
		return;
	free(kv->value);
	*kv = (vf_etcd_kv){ 0 };
}

/* Fill *out from one element of a range answer's "kvs". */
static int vf_kv__decode(vf_etcd *c, json_object *kvo, vf_etcd_kv *out, vf_error *err)
{
	json_object *v = vf_kv__get(kvo, "value");
	size_t n = 0;
	_cleanup_free_ char *value = vf_etcd_b64_decode(v ? json_object_get_string(v) : "", &n);
	if (!value)
		return vf_error_set(err, VF_E_DRIVER, "etcd %s: a key's value is not valid base64",
				    vf_etcd_endpoint(c));
	vf_etcd_kv kv = {
		.present = true,
		.value = TAKE_PTR(value),
		.create_rev = vf_kv__int(kvo, "create_revision"),
		.mod_rev = vf_kv__int(kvo, "mod_revision"),
		.lease = vf_kv__int(kvo, "lease"),
		.ttl_left_s = -1,
	};
	vf_etcd_kv_clear(out);
	*out = kv;
	return 0;
}

/* The first kv of a range answer (kvs may be absent: no such key). */
static int vf_kv__first(vf_etcd *c, json_object *range, vf_etcd_kv *out, vf_error *err)
{
	json_object *kvs = vf_kv__get(range, "kvs");
	if (!kvs || json_object_array_length(kvs) == 0) {
		vf_etcd_kv_clear(out);
		out->ttl_left_s = -1;
		return 0;
	}
	return vf_kv__decode(c, json_object_array_get_idx(kvs, 0), out, err);
}

/* A compare on a key's create revision. */
static json_object *vf_kv__compare_create(const char *key, int64_t rev)
{
	json_object *cmp = json_object_new_object();
	json_object_object_add(cmp, "target", json_object_new_string("CREATE"));
	json_object_object_add(cmp, "result", json_object_new_string("EQUAL"));
	vf_kv__put_b64(cmp, "key", key);
	vf_kv__put_int(cmp, "create_revision", rev);
	json_object *a = json_object_new_array();
	json_object_array_add(a, cmp);
	return a;
}

static json_object *vf_kv__one_op(const char *op, json_object *body)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, op, body);
	json_object *a = json_object_new_array();
	json_object_array_add(a, o);
	return a;
}

static json_object *vf_kv__key_only(const char *key)
{
	json_object *o = json_object_new_object();
	vf_kv__put_b64(o, "key", key);
	return o;
}

/* One transaction: if `compare` (an array, taken) then `success` (taken;
 * NULL: nothing) else read range_key. *ok says which branch ran. */
static int vf_kv__txn(vf_etcd *c, json_object *compare, json_object *success, const char *range_key,
		      json_object **resp, bool *ok, vf_error *err)
{
	json_object *req = json_object_new_object();
	json_object_object_add(req, "compare", compare);
	if (success)
		json_object_object_add(req, "success", success);
	json_object_object_add(req, "failure", vf_kv__one_op("request_range", vf_kv__key_only(range_key)));
	int r = vf_kv__call(c, "/v3/kv/txn", req, resp, NULL, err);
	if (r < 0)
		return r;
	json_object *o = vf_kv__get(*resp, "succeeded");
	*ok = o && json_object_get_boolean(o);
	return 0;
}

/* The key a failed transaction's one request_range read, into *out. */
static int vf_kv__failure_range(vf_etcd *c, json_object *resp, vf_etcd_kv *out, vf_error *err)
{
	json_object *resps = vf_kv__get(resp, "responses");
	json_object *range = resps && json_object_array_length(resps) > 0
		? vf_kv__get(json_object_array_get_idx(resps, 0), "response_range") : NULL;
	return vf_kv__first(c, range, out, err);
}

int vf_etcd_take(vf_etcd *c, const char *key, const char *value, int64_t lease,
		 int64_t *ret_rev, vf_etcd_kv *holder, vf_error *err)
{
	json_object *put = vf_kv__key_only(key);
	vf_kv__put_b64(put, "value", value);
	vf_kv__put_int(put, "lease", lease);
	_cleanup_json_ json_object *resp = NULL;
	bool ok = false;
	int r = vf_kv__txn(c, vf_kv__compare_create(key, 0), vf_kv__one_op("request_put", put), key,
			   &resp, &ok, err);
	if (r < 0)
		return r;
	if (ok) {
		int64_t rev = vf_kv__int(vf_kv__get(resp, "header"), "revision");
		if (rev <= 0)
			return vf_error_set(err, VF_E_DRIVER,
					    "etcd %s: the transaction on %s answered without a revision",
					    vf_etcd_endpoint(c), key);
		*ret_rev = rev;   /* the put's revision is the key's create revision */
		return 0;
	}
	vf_etcd_kv kv = { 0 };
	if ((r = vf_kv__failure_range(c, resp, &kv, err)) < 0)
		return r;
	if (!kv.present) {
		/* Deleted between the compare and the range: cannot happen in
		 * one transaction; an answer we do not understand. */
		return vf_error_set(err, VF_E_DRIVER,
				    "etcd %s: the transaction on %s failed but the key is absent",
				    vf_etcd_endpoint(c), key);
	}
	if (lease != 0 && kv.lease == lease) {
		/* Ours: an earlier put under this very lease whose answer was
		 * lost (a timeout, then a retry at another endpoint). Without
		 * a lease nothing tells whose a key is: never ours. */
		*ret_rev = kv.create_rev;
		vf_etcd_kv_clear(&kv);
		return 0;
	}
	r = vf_error_set(err, VF_E_LOCKED, "etcd key %s is held (lease %" PRIx64 ", revision %" PRId64 ")",
			 key, (uint64_t)kv.lease, kv.create_rev);
	if (holder) {
		vf_etcd_kv_clear(holder);
		*holder = kv;
	} else {
		vf_etcd_kv_clear(&kv);
	}
	return r;
}

int vf_etcd_release(vf_etcd *c, const char *key, int64_t rev, vf_error *err)
{
	json_object *req = json_object_new_object();
	json_object_object_add(req, "compare", vf_kv__compare_create(key, rev));
	json_object_object_add(req, "success",
			       vf_kv__one_op("request_delete_range", vf_kv__key_only(key)));
	_cleanup_json_ json_object *resp = NULL;
	int r = vf_kv__call(c, "/v3/kv/txn", req, &resp, NULL, err);
	if (r < 0)
		return r;
	json_object *ok = vf_kv__get(resp, "succeeded");
	return ok && json_object_get_boolean(ok) ? 1 : 0;
}

int vf_etcd_get(vf_etcd *c, const char *key, vf_etcd_kv *out, vf_error *err)
{
	_cleanup_json_ json_object *resp = NULL;
	int r = vf_kv__call(c, "/v3/kv/range", vf_kv__key_only(key), &resp, NULL, err);
	if (r < 0)
		return r;
	vf_etcd_kv kv = { 0 };
	if ((r = vf_kv__first(c, resp, &kv, err)) < 0)
		return r;
	if (kv.present && kv.lease) {
		r = vf_etcd_lease_ttl(c, kv.lease, &kv.ttl_left_s, &kv.ttl_granted_s, err);
		if (r < 0) {
			vf_etcd_kv_clear(&kv);
			return r;
		}
	}
	vf_etcd_kv_clear(out);
	*out = kv;
	return 0;
}

/* ---- the fleet's requests --------------------------------------------------- */

void vf_etcd_kvs_clear(vf_etcd_kvs *k)
{
	if (!k)
		return;
	for (size_t i = 0; i < k->n; i++) {
		free(k->keys[i]);
		vf_etcd_kv_clear(&k->kvs[i]);
	}
	free(k->keys);
	free(k->kvs);
	*k = (vf_etcd_kvs){ 0 };
}

/* The smallest key after every key that starts with `prefix`: etcd's
 * range_end for a prefix (the last byte plus one). */
static char *vf_kv__prefix_end(const char *prefix)
{
	char *e = vf_strdup(prefix);
	size_t n = strlen(e);
	while (n > 0 && (unsigned char)e[n - 1] == 0xff)
		e[--n] = '\0';
	if (n > 0)
		e[n - 1] = (char)((unsigned char)e[n - 1] + 1);
	return e;
}

int vf_etcd_range_prefix(vf_etcd *c, const char *prefix, vf_etcd_kvs *out, vf_error *err)
{
	json_object *req = vf_kv__key_only(prefix);
	_cleanup_free_ char *end = vf_kv__prefix_end(prefix);
	vf_kv__put_b64(req, "range_end", end);
	_cleanup_json_ json_object *resp = NULL;
	int r = vf_kv__call(c, "/v3/kv/range", req, &resp, NULL, err);
	if (r < 0)
		return r;
	json_object *kvs = vf_kv__get(resp, "kvs");
	size_t n = kvs ? json_object_array_length(kvs) : 0;
	vf_etcd_kvs k = { .keys = vf_calloc(n + 1, sizeof(char *)),
			  .kvs = vf_calloc(n + 1, sizeof(vf_etcd_kv)),
			  .revision = vf_kv__int(vf_kv__get(resp, "header"), "revision") };
	for (size_t i = 0; i < n; i++) {
		json_object *kvo = json_object_array_get_idx(kvs, i);
		json_object *ko = vf_kv__get(kvo, "key");
		size_t kn = 0;
		char *key = vf_etcd_b64_decode(ko ? json_object_get_string(ko) : "", &kn);
		if (!key || (r = vf_kv__decode(c, kvo, &k.kvs[k.n], err)) < 0) {
			free(key);
			vf_etcd_kvs_clear(&k);
			return r < 0 ? r : vf_error_set(err, VF_E_DRIVER, "etcd %s: a key is not valid base64",
							vf_etcd_endpoint(c));
		}
		k.keys[k.n++] = key;
	}
	vf_etcd_kvs_clear(out);
	*out = k;
	return 0;
}

int vf_etcd_put(vf_etcd *c, const char *key, const char *value, int64_t lease, vf_error *err)
{
	json_object *req = vf_kv__key_only(key);
	vf_kv__put_b64(req, "value", value);
	if (lease)
		vf_kv__put_int(req, "lease", lease);
	_cleanup_json_ json_object *resp = NULL;
	return vf_kv__call(c, "/v3/kv/put", req, &resp, NULL, err);
}

int vf_etcd_held(vf_etcd *c, const char *key, int64_t rev, int64_t lease, vf_etcd_kv *holder,
		 vf_error *err)
{
	if (rev <= 0 || lease == 0)
		return vf_error_set(err, VF_E_INTERNAL, "etcd: checking %s needs a revision and a lease", key);
	json_object *cmp = vf_kv__compare_create(key, rev);
	json_object *l = json_object_new_object();
	json_object_object_add(l, "target", json_object_new_string("LEASE"));
	json_object_object_add(l, "result", json_object_new_string("EQUAL"));
	vf_kv__put_b64(l, "key", key);
	vf_kv__put_int(l, "lease", lease);
	json_object_array_add(cmp, l);
	_cleanup_json_ json_object *resp = NULL;
	bool ok = false;
	int r = vf_kv__txn(c, cmp, NULL, key, &resp, &ok, err);
	if (r < 0)
		return r;
	if (ok)
		return 1;
	if (holder && (r = vf_kv__failure_range(c, resp, holder, err)) < 0)
		return r;
	return 0;
}
