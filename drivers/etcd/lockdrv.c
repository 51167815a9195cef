/* lockdrv.c: the etcd lock driver (vf_etcd_lock_driver): SINGLETON locks
 * held as etcd keys, all attached to this process's one lease, so a host
 * that stops renewing loses every lock at once and the fence deadline
 * (drivers/fence/lease.h) covers them all. A key is taken only if absent
 * and given back only if still the one we created; its create revision is
 * the fencing token. Not for deciding what to lock or when to renew (the
 * caller), nor for local locks (drivers/lock/fcntl.c). */
#include "drivers/driver.h"
#include "drivers/etcd/kv.h"
#include "controller/core/placement.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* A token of this driver. Tokens never cross drivers: the fcntl driver
 * has its own struct vf_lock_token, and each driver takes back only what
 * it handed out. */
struct vf_lock_token {
	char *key;                /* <prefix>/lock/<resource> */
	int64_t revision;         /* the key's create revision: the fencing token */
	int64_t lease;            /* the session lease the key is attached to */
};

/* The process's session: one client, one lease. Lock ordering: every
 * use of `session` is under vf_etcdl__mutex; the client serialises its
 * own requests (client.c), so holding this mutex across a request is
 * the only nesting. */
typedef struct vf_etcdl_session {
	vf_etcd *client;
	int64_t lease;
	int64_t ttl_s;
	char *host_id;
	char *prefix;
} vf_etcdl_session;

static pthread_mutex_t vf_etcdl__mutex = PTHREAD_MUTEX_INITIALIZER;
static vf_etcdl_session vf_etcdl__s;   /* guarded by vf_etcdl__mutex */

static void vf_etcdl__session_clear(vf_etcdl_session *s)
{
	vf_etcd_close(s->client);
	free(s->host_id);
	free(s->prefix);
	*s = (vf_etcdl_session){ 0 };
}

int vf_etcd_lock_start(const vf_etcd_lock_config *cfg, vf_error *err)
{
	/* No default: a host id names this host in etcd and in placement,
	 * so only the one the fleet was given (--host-id) will do. */
	const char *id = cfg->host_id;
	if (!id)
		return vf_error_set(err, VF_E_USAGE, "the etcd lock driver needs a host id (--host-id)");
	if (!vf_placement_host_id_valid(id))
		return vf_error_set(err, VF_E_USAGE,
				    "host id \"%s\" is not 1 to 63 of A-Z a-z 0-9 . _ -", id);
	vf_etcd_opts o = { .request_ms = cfg->request_ms };
	vf_etcd *c = NULL;
	int r = vf_etcd_open(cfg->endpoints, &o, &c, err);
	if (r < 0)
		return r;
	int64_t ttl = cfg->ttl_s ? cfg->ttl_s : VF_ETCD_TTL_DEFAULT_S, lease = 0, granted = 0;
	pthread_mutex_lock(&vf_etcdl__mutex);
	if (vf_etcdl__s.client) {
		pthread_mutex_unlock(&vf_etcdl__mutex);
		vf_etcd_close(c);
		return vf_error_set(err, VF_E_USAGE, "the etcd lock driver is started already");
	}
	r = vf_etcd_lease_grant(c, ttl, &lease, &granted, err);
	if (r < 0) {
		pthread_mutex_unlock(&vf_etcdl__mutex);
		vf_etcd_close(c);
		return r;
	}
	vf_etcdl__s = (vf_etcdl_session){
		.client = c,
		.lease = lease,
		.ttl_s = granted ? granted : ttl,
		.host_id = vf_strdup(id),
		.prefix = vf_strdup(cfg->prefix ? cfg->prefix : "/virtform"),
	};
	pthread_mutex_unlock(&vf_etcdl__mutex);
	return 0;
}

int vf_etcd_lock_keepalive(int64_t *ret_ttl_s, uint64_t *ret_sent_ms, vf_error *err)
{
	pthread_mutex_lock(&vf_etcdl__mutex);
	int r = vf_etcdl__s.client
		? vf_etcd_lease_keepalive(vf_etcdl__s.client, vf_etcdl__s.lease, ret_ttl_s,
					  ret_sent_ms, err)
		: vf_error_set(err, VF_E_USAGE, "the etcd lock driver is not started");
	pthread_mutex_unlock(&vf_etcdl__mutex);
	return r;
}

int64_t vf_etcd_lock_lease(void)
{
	pthread_mutex_lock(&vf_etcdl__mutex);
	int64_t l = vf_etcdl__s.lease;
	pthread_mutex_unlock(&vf_etcdl__mutex);
	return l;
}

void vf_etcd_lock_stop(void)
{
	pthread_mutex_lock(&vf_etcdl__mutex);
	if (vf_etcdl__s.client) {
		vf_error e = { 0 };
		/* Best effort: if etcd cannot be reached the lease expires by
		 * itself after its TTL, which frees the keys the same way. */
		(void)vf_etcd_lease_revoke(vf_etcdl__s.client, vf_etcdl__s.lease, &e);
		vf_error_clear(&e);
	}
	vf_etcdl__session_clear(&vf_etcdl__s);
	pthread_mutex_unlock(&vf_etcdl__mutex);
}

int64_t vf_etcd_lock_revision(const vf_lock_token *tok)
{
	return tok ? tok->revision : 0;
}

/* ---- the table ------------------------------------------------------------ */

/* Take vf_etcdl__mutex and set *ret_key to resource's key; on a bad call
 * or a driver not started, an error and the mutex not held. */
static int vf_etcdl__enter(vf_lock_kind kind, const char *resource, char **ret_key, vf_error *err)
{
	if (kind != VF_LOCK_SINGLETON)
		return vf_error_set(err, VF_E_INTERNAL,
				    "the etcd lock driver takes singleton locks only");
	if (!resource || !*resource || resource[0] == '/')
		return vf_error_set(err, VF_E_INTERNAL, "etcd lock: empty or absolute resource name");
	pthread_mutex_lock(&vf_etcdl__mutex);
	if (!vf_etcdl__s.client) {
		pthread_mutex_unlock(&vf_etcdl__mutex);
		return vf_error_set(err, VF_E_USAGE, "the etcd lock driver is not started");
	}
	*ret_key = vf_asprintf("%s/lock/%s", vf_etcdl__s.prefix, resource);
	return 0;
}

/* What the key says about its holder: {"host", "pid", "since"}. */
static char *vf_etcdl__value(void)
{
	json_object *o = json_object_new_object();
	_cleanup_free_ char *since = vf_format_time(time(NULL));
	json_object_object_add(o, "host", json_object_new_string(vf_etcdl__s.host_id));
	json_object_object_add(o, "pid", json_object_new_int64(getpid()));
	json_object_object_add(o, "since", json_object_new_string(since));
	char *s = vf_strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return s;
}

static void vf_etcdl__holder(const vf_etcd_kv *kv, vf_lock_holder *h)
{
	vf_lock_holder_clear(h);
	if (!kv->present)
		return;
	h->held = true;
	h->revision = kv->create_rev;
	h->lease_left_s = kv->ttl_left_s;
	h->lease_ttl_s = kv->ttl_granted_s;
	json_object *o = kv->value ? json_tokener_parse(kv->value) : NULL, *v = NULL;
	if (o && json_object_object_get_ex(o, "host", &v))
		h->host = vf_strdup(json_object_get_string(v));
	if (o && json_object_object_get_ex(o, "since", &v))
		h->since = vf_strdup(json_object_get_string(v));
	if (o && json_object_object_get_ex(o, "pid", &v))
		h->pid = (pid_t)json_object_get_int64(v);
	json_object_put(o);
}

static void vf_etcdl__sleep_ms(unsigned ms)
{
	struct timespec req = { .tv_sec = ms / 1000u, .tv_nsec = (long)(ms % 1000u) * 1000000L };
	struct timespec rem;
	while (nanosleep(&req, &rem) < 0 && errno == EINTR)
		req = rem;
}

static int vf_etcd_lock(vf_lock_kind kind, const char *resource, unsigned wait_ms,
			vf_lock_token **out, vf_lock_holder *holder, vf_error *err)
{
	uint64_t start = vf_etcd_now_ms();
	unsigned delay = 50;
	for (;;) {
		_cleanup_free_ char *key = NULL;
		int r = vf_etcdl__enter(kind, resource, &key, err);
		if (r < 0)
			return r;
		_cleanup_free_ char *value = vf_etcdl__value();
		vf_etcd_kv kv = { 0 };
		int64_t rev = 0, lease = vf_etcdl__s.lease;
		r = vf_etcd_take(vf_etcdl__s.client, key, value, lease, &rev, &kv, err);
		if (r == 0) {
			pthread_mutex_unlock(&vf_etcdl__mutex);
			vf_lock_token *tok = vf_calloc(1, sizeof(*tok));
			tok->key = TAKE_PTR(key);
			tok->revision = rev;
			tok->lease = lease;
			*out = tok;
			return 0;
		}
		if (r == -VF_E_LOCKED && kv.lease)
			(void)vf_etcd_lease_ttl(vf_etcdl__s.client, kv.lease, &kv.ttl_left_s,
						&kv.ttl_granted_s, NULL);
		pthread_mutex_unlock(&vf_etcdl__mutex);
		uint64_t elapsed = vf_etcd_now_ms() - start;
		if (r != -VF_E_LOCKED || wait_ms == 0 || elapsed >= wait_ms) {
			if (r == -VF_E_LOCKED) {
				vf_lock_holder h = { 0 };
				vf_etcdl__holder(&kv, &h);
				r = wait_ms == 0
					? vf_error_set(err, VF_E_LOCKED,
						       "%s is held by host %s (revision %" PRId64 ", lease %" PRId64 " of %" PRId64 " s left)",
						       resource, h.host ? h.host : "(unknown)", h.revision,
						       h.lease_left_s, h.lease_ttl_s)
					: vf_error_set(err, VF_E_TIMEOUT,
						       "%s is still held by host %s after waiting %u ms (revision %" PRId64 ")",
						       resource, h.host ? h.host : "(unknown)", wait_ms,
						       h.revision);
				if (holder) {
					vf_lock_holder_clear(holder);
					*holder = h;
				} else {
					vf_lock_holder_clear(&h);
				}
			}
			vf_etcd_kv_clear(&kv);
			return r;
		}
		vf_etcd_kv_clear(&kv);
		uint64_t left = wait_ms - elapsed;
		vf_etcdl__sleep_ms(left < delay ? (unsigned)left : delay);
		delay = delay * 2 > 1000u ? 1000u : delay * 2;
	}
}

static void vf_etcd_unlock(vf_lock_token *tok)
{
	if (!tok)
		return;
	pthread_mutex_lock(&vf_etcdl__mutex);
	if (vf_etcdl__s.client && vf_etcdl__s.lease == tok->lease) {
		vf_error e = { 0 };
		/* Only if still ours; a failure leaves the key to the lease's
		 * expiry or revocation, which frees it the same way. */
		(void)vf_etcd_release(vf_etcdl__s.client, tok->key, tok->revision, &e);
		vf_error_clear(&e);
	}
	pthread_mutex_unlock(&vf_etcdl__mutex);
	free(tok->key);
	free(tok);
}

static int vf_etcd_query(vf_lock_kind kind, const char *resource, vf_lock_holder *out,
			 vf_error *err)
{
	_cleanup_free_ char *key = NULL;
	int r = vf_etcdl__enter(kind, resource, &key, err);
	if (r < 0)
		return r;
	vf_etcd_kv kv = { 0 };
	r = vf_etcd_get(vf_etcdl__s.client, key, &kv, err);
	pthread_mutex_unlock(&vf_etcdl__mutex);
	if (r < 0)
		return r;
	vf_etcdl__holder(&kv, out);
	vf_etcd_kv_clear(&kv);
	return 0;
}

const vf_lock_driver vf_etcd_lock_driver = {
	.name = "etcd",
	.lock = vf_etcd_lock,
	.unlock = vf_etcd_unlock,
	.query = vf_etcd_query,
};
