/* fleet.c: the watch daemon in a fleet (fleet.h, docs/fleet.md). Two
 * threads of its own, neither of which ever calls libvirt: the keepalive
 * thread renews the host lease every TTL/3, feeds each acknowledged
 * deadline to the fence helper, notices expiry and re-joins (new lease,
 * new helper, new announcement); the poll thread reads the live hosts and
 * the lock holders every TTL/4 and wakes the loop when they change. The
 * main thread places domains, takes and releases their locks, builds the
 * fleet view of each pass and runs apply's hooks. Not the plan (pure,
 * controller/plan/) nor the wire format (drivers/etcd/kv.c). */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "controller/core/hostlease.h"
#include "controller/core/placement.h"
#include "controller/watch/daemon.h"
#include "controller/watch/fleet.h"
#include "drivers/etcd/kv.h"
#include "drivers/fence/client.h"
#include "drivers/fence/proc.h"

/* A placed domain's lock this host holds (main thread only). */
typedef struct vf_fleet_lock {
	char *domain;
	int64_t rev;              /* the key's create revision: the fencing token */
} vf_fleet_lock;

/* A live announced host, as the poll read it. */
typedef struct vf_fleet_host {
	char *id;
	vf_kv *labels;
	size_t n_labels;
	int64_t lease;
	int64_t left_s;           /* its lease's seconds left (-1 unknown) */
	int64_t ttl_s;            /* and its granted TTL */
	int64_t pid;
	char *since;
	char *version;
} vf_fleet_host;

/* Who holds a placed domain's lock, as the poll read it. */
typedef struct vf_fleet_holder {
	char *domain;
	char *host;
	int64_t rev;
	int64_t lease;
} vf_fleet_holder;

/* A process the helper guards for us. */
typedef struct vf_fleet_guard {
	char *domain;
	pid_t pid;
	uint64_t start;
} vf_fleet_guard;

/* Lock ordering: `fence_mu` may be taken first and `mu` inside it, never
 * the other way round; nobody waits for etcd or the helper while holding
 * `mu` (a stopped helper must not hold up a keepalive's bookkeeping). */
struct vf_fleet {
	/* set at start, read-only after */
	char *host_id, *prefix, *helper, *watchdog;
	unsigned ttl_ms, margin_ms, watchdog_ms;
	vf_kv *labels;
	size_t n_labels;
	int wake_fd;
	vf_etcd *ka_etcd;         /* the keepalive thread's client */
	vf_etcd *poll_etcd;       /* the poll thread's */
	vf_etcd *etcd;            /* the main thread's */
	pthread_t ka_thread, poll_thread;
	bool ka_started, poll_started;
	atomic_bool stop;

	pthread_mutex_t fence_mu; /* guards fc, guards, old_helpers */
	vf_fence_client fc;       /* this lease's helper; pid 0: none */
	vf_fleet_guard *guards;
	size_t n_guards;
	pid_t old_helpers[16];    /* detached helpers, reaped when they exit */
	size_t n_old;

	pthread_mutex_t mu;       /* guards everything from here to "main thread only" */
	vf_hostlease hl;
	int64_t lease;            /* 0: none (joining) */
	uint64_t gen;             /* changes at each loss and each join */
	uint64_t joins, losses;
	char *lost_why;           /* why the last lease was lost */
	vf_fleet_host *hosts;
	size_t n_hosts;
	vf_fleet_holder *holders;
	size_t n_holders;
	bool polled;
	char *fingerprint;        /* of hosts and holders, to see a change */
	char *poll_error;
	bool wake;
	const char *wake_why;

	/* main thread only */
	vf_fleet_lock *held;
	size_t n_held;
	uint64_t held_gen;        /* the gen the held locks belong to */
	const vf_backend *be;     /* the pass's, for the started hook */
	vf_conn *conn;
	/* the view of the current pass and what it points to */
	vf_fleet_view view;
	char **view_held;
	vf_kv *view_holders;
	size_t n_view_holders;
	vf_fleet_volume *view_vols;
	char **view_strs;         /* strings the volumes point to */
	size_t n_view_strs;
	vf_fleet_hooks hooks;
	char *claim_domain;       /* the placed domain of the claim in progress */
};

/* ---- small helpers --------------------------------------------------------- */

static void vf_fleet__sleep_ms(uint64_t ms)
{
	struct timespec ts = { .tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Sleep up to ms, in slices, returning early when stopping. */
static void vf_fleet__nap(vf_fleet *f, uint64_t ms)
{
	while (ms > 0 && !atomic_load(&f->stop)) {
		uint64_t s = ms < 50 ? ms : 50;
		vf_fleet__sleep_ms(s);
		ms -= s;
	}
}

/* Called with mu held. */
static void vf_fleet__wake_locked(vf_fleet *f, const char *why)
{
	f->wake = true;
	f->wake_why = why;
	if (f->wake_fd >= 0) {
		ssize_t n = write(f->wake_fd, "f", 1);
		(void)n; /* a full pipe already wakes the loop */
	}
}

static char *vf_fleet__key(const vf_fleet *f, const char *what, const char *name)
{
	return vf_asprintf("%s/%s/%s", f->prefix, what, name);
}

static const char *vf_fleet__jget(json_object *o, const char *k)
{
	json_object *v = NULL;
	return o && json_object_object_get_ex(o, k, &v) && json_object_is_type(v, json_type_string)
		? json_object_get_string(v) : NULL;
}

static char *vf_fleet__lock_value(const vf_fleet *f)
{
	_cleanup_free_ char *since = vf_format_time(time(NULL));
	json_object *o = json_object_new_object();
	json_object_object_add(o, "host", json_object_new_string(f->host_id));
	json_object_object_add(o, "pid", json_object_new_int64((int64_t)getpid()));
	json_object_object_add(o, "since", json_object_new_string(since ? since : ""));
	char *s = vf_strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return s;
}

/* The host a lock or claim value names ({"host": ...}); caller frees. */
static char *vf_fleet__value_host(const char *value)
{
	json_object *o = value ? json_tokener_parse(value) : NULL;
	const char *h = vf_fleet__jget(o, "host");
	char *r = h ? vf_strdup(h) : NULL;
	json_object_put(o);
	return r;
}

static void vf_fleet__host_clear(vf_fleet_host *h)
{
	free(h->id);
	vf_kvs_free(h->labels, h->n_labels);
	free(h->since);
	free(h->version);
	memset(h, 0, sizeof(*h));
}

static void vf_fleet__hosts_free(vf_fleet_host *h, size_t n)
{
	for (size_t i = 0; i < n; i++)
		vf_fleet__host_clear(&h[i]);
	free(h);
}

static void vf_fleet__holders_free(vf_fleet_holder *h, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(h[i].domain);
		free(h[i].host);
	}
	free(h);
}

/* "K=V,K=V" into pairs (checked by config.c already). */
static vf_kv *vf_fleet__parse_labels(const char *s, size_t *ret_n)
{
	size_t n = 0, cap = 0;
	vf_kv *kv = NULL;
	for (const char *p = s; p && *p;) {
		const char *e = strchr(p, ',');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		const char *eq = memchr(p, '=', len);
		if (eq) {
			if (n == cap) {
				cap = cap ? cap * 2 : 4;
				kv = vf_realloc(kv, cap * sizeof(*kv));
			}
			kv[n].key = vf_strndup(p, (size_t)(eq - p));
			kv[n].value = vf_strndup(eq + 1, len - (size_t)(eq - p) - 1);
			n++;
		}
		p = e ? e + 1 : NULL;
	}
	*ret_n = n;
	return kv;
}

/* ---- the helper and the lease: keepalive thread ----------------------------- */

static void vf_fleet__reap(vf_fleet *f)
{
	pthread_mutex_lock(&f->fence_mu);
	for (size_t i = 0; i < f->n_old;) {
		if (waitpid(f->old_helpers[i], NULL, WNOHANG) != 0) {
			f->old_helpers[i] = f->old_helpers[--f->n_old];
			continue;
		}
		i++;
	}
	pthread_mutex_unlock(&f->fence_mu);
}

/* Called with fence_mu held: forget the helper (it keeps its deadline). */
static void vf_fleet__detach_locked(vf_fleet *f)
{
	if (f->fc.pid && f->n_old < VF_ARRAY_SIZE(f->old_helpers))
		f->old_helpers[f->n_old++] = f->fc.pid;
	vf_fence_detach(&f->fc);
	for (size_t i = 0; i < f->n_guards; i++)
		free(f->guards[i].domain);
	free(f->guards);
	f->guards = NULL;
	f->n_guards = 0;
}

/* The lease is gone (expired here, etcd said so, or the fence cannot be
 * trusted): every lock with it. Placed domains stop being acted for at
 * once (gen changes: the main thread drops its locks); the helper fences
 * at its deadline by itself. The next keepalive turn re-joins. */
static void vf_fleet__lose(vf_fleet *f, const char *why)
{
	pthread_mutex_lock(&f->mu);
	if (!f->lease) {
		pthread_mutex_unlock(&f->mu);
		return;
	}
	int64_t old = f->lease;
	f->lease = 0;
	f->gen++;
	f->losses++;
	free(f->lost_why);
	f->lost_why = vf_strdup(why);
	vf_fleet__wake_locked(f, "the host lease was lost");
	pthread_mutex_unlock(&f->mu);
	pthread_mutex_lock(&f->fence_mu);
	vf_fleet__detach_locked(f);
	pthread_mutex_unlock(&f->fence_mu);
	vf_watch_log(3, "fleet: host %s lost its etcd lease %" PRIx64 " (%s): every placed domain's lock is gone with it and the fence helper kills this host's placed domains at the deadline; joining again",
		     f->host_id, (uint64_t)old, why);
}

/* The helper did not take a deadline: it may be gone or stopped, so the
 * fence may not hold. Kill what it guards ourselves (pid and start time
 * checked), then give the lease up as lost. */
static void vf_fleet__helper_failed(vf_fleet *f, const char *why)
{
	pthread_mutex_lock(&f->fence_mu);
	for (size_t i = 0; i < f->n_guards; i++) {
		uint64_t st = 0;
		if (vf_proc_starttime(f->guards[i].pid, &st) == 0 && st == f->guards[i].start)
			kill(f->guards[i].pid, SIGKILL);
	}
	if (f->fc.pid)
		kill(f->fc.pid, SIGKILL);   /* a stopped helper must not wake up armed */
	pthread_mutex_unlock(&f->fence_mu);
	_cleanup_free_ char *msg = vf_asprintf("the fence helper failed (%s): its placed domains were killed here", why);
	vf_fleet__lose(f, msg);
}

static int vf_fleet__announce(vf_fleet *f, vf_etcd *c, int64_t lease, vf_error *err)
{
	_cleanup_free_ char *since = vf_format_time(time(NULL));
	json_object *o = json_object_new_object();
	json_object *labels = json_object_new_object();
	for (size_t i = 0; i < f->n_labels; i++)
		json_object_object_add(labels, f->labels[i].key, json_object_new_string(f->labels[i].value));
	json_object_object_add(o, "labels", labels);
	json_object_object_add(o, "pid", json_object_new_int64((int64_t)getpid()));
	json_object_object_add(o, "since", json_object_new_string(since ? since : ""));
	json_object_object_add(o, "version", json_object_new_string(VF_VERSION));
	_cleanup_free_ char *key = vf_fleet__key(f, "hosts", f->host_id);
	int r = vf_etcd_put(c, key, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN), lease, err);
	json_object_put(o);
	return r;
}

/* Grant a lease, start its helper with the first deadline, announce the
 * host; only then is the lease this host's (under mu). */
static int vf_fleet__join(vf_fleet *f, vf_error *err)
{
	uint64_t sent = vf_etcd_now_ms();
	int64_t id = 0, granted = 0;
	int r = vf_etcd_lease_grant(f->ka_etcd, f->ttl_ms / 1000, &id, &granted, err);
	if (r < 0)
		return r;
	vf_hostlease hl;
	uint64_t ttl = granted > 0 ? (uint64_t)granted * 1000u : f->ttl_ms;
	if ((r = vf_hostlease_begin(&hl, f->ttl_ms, f->margin_ms, sent, err)) < 0)
		goto revoke;
	if (vf_hostlease_granted(&hl, sent, ttl, vf_etcd_now_ms()) != VF_HOSTLEASE_HELD) {
		r = vf_error_set(err, VF_E_TIMEOUT,
				 "etcd granted lease %" PRIx64 " too late to use it (after its own fence deadline)",
				 (uint64_t)id);
		goto revoke;
	}
	vf_fence_opts fo = { .watchdog = f->watchdog, .watchdog_ms = f->watchdog_ms,
			     .margin_ms = f->margin_ms };
	vf_fence_client fc = { 0 };
	if ((r = vf_fence_spawn(f->helper, &fo, &fc, err)) < 0)
		goto revoke;
	if ((r = vf_fence_set_deadline(&fc, hl.deadline_ms, err)) < 0 ||
	    (r = vf_fleet__announce(f, f->ka_etcd, id, err)) < 0) {
		vf_error e = { 0 };
		if (vf_fence_release(&fc, &e) < 0) {
			kill(fc.pid, SIGKILL);
			waitpid(fc.pid, NULL, 0);
			vf_fence_detach(&fc);
		}
		vf_error_clear(&e);
		goto revoke;
	}
	pthread_mutex_lock(&f->fence_mu);
	vf_fleet__detach_locked(f);
	f->fc = fc;
	pthread_mutex_unlock(&f->fence_mu);
	pthread_mutex_lock(&f->mu);
	f->hl = hl;
	f->lease = id;
	f->gen++;
	f->joins++;
	vf_fleet__wake_locked(f, "joined the fleet");
	pthread_mutex_unlock(&f->mu);
	vf_watch_log(5, "fleet: host %s holds etcd lease %" PRIx64 " (TTL %" PRIu64 " ms, fence margin %u ms, helper pid %ld)",
		     f->host_id, (uint64_t)id, ttl, f->margin_ms, (long)fc.pid);
	return 0;
revoke:;
	vf_error e = { 0 };
	(void)vf_etcd_lease_revoke(f->ka_etcd, id, &e);
	vf_error_clear(&e);
	return r;
}

/* The daemon's signals (TERM, HUP) are the main thread's to take. */
static void vf_fleet__block_signals(void)
{
	sigset_t all;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
}

static void *vf_fleet__keepalive_main(void *arg)
{
	vf_fleet *f = arg;
	vf_fleet__block_signals();
	uint64_t retry_at = 0;
	unsigned join_failures = 0;
	while (!atomic_load(&f->stop)) {
		vf_fleet__reap(f);
		pthread_mutex_lock(&f->mu);
		int64_t lease = f->lease;
		pthread_mutex_unlock(&f->mu);
		if (!lease) {
			vf_error e = { 0 };
			if (vf_fleet__join(f, &e) < 0) {
				/* Once at err, then every 30th try: a cut-off host retries
				 * every TTL/3 and would flood the journal. */
				if (join_failures++ % 30 == 0)
					vf_watch_log(3, "fleet: cannot join (%u attempt%s so far): %s; trying again every %u ms",
						     join_failures, join_failures == 1 ? "" : "s", e.message,
						     f->ttl_ms / 3);
				vf_fleet__nap(f, f->ttl_ms / 3);
			} else {
				join_failures = 0;
			}
			vf_error_clear(&e);
			continue;
		}
		/* The time is read under the mutex: the main thread ticks the
		 * same lease, and a time older than one it saw reads as a clock
		 * gone back (EXPIRED). */
		pthread_mutex_lock(&f->mu);
		uint64_t now = vf_etcd_now_ms();
		vf_hostlease_state st = vf_hostlease_tick(&f->hl, now);
		uint64_t due = vf_hostlease_next_renew_ms(&f->hl);
		pthread_mutex_unlock(&f->mu);
		if (st == VF_HOSTLEASE_EXPIRED) {
			vf_fleet__lose(f, "no keepalive was acknowledged before the fence deadline");
			continue;
		}
		if (due < retry_at)
			due = retry_at;   /* a failed keepalive is retried after a pause */
		if (now < due) {
			vf_fleet__nap(f, due - now < 50 ? due - now : 50);
			continue;
		}
		pthread_mutex_lock(&f->mu);
		vf_hostlease_renew_sent(&f->hl, vf_etcd_now_ms());
		pthread_mutex_unlock(&f->mu);
		int64_t ttl = 0;
		uint64_t sent = 0;
		vf_error e = { 0 };
		bool ok = vf_etcd_lease_keepalive(f->ka_etcd, lease, &ttl, &sent, &e) == 0;
		pthread_mutex_lock(&f->mu);
		st = ok ? vf_hostlease_renewed(&f->hl, sent, (uint64_t)ttl * 1000u, vf_etcd_now_ms())
			: vf_hostlease_renew_failed(&f->hl, vf_etcd_now_ms());
		uint64_t deadline = f->hl.deadline_ms;
		bool same = f->lease == lease;
		pthread_mutex_unlock(&f->mu);
		if (!ok) {
			vf_watch_log(4, "fleet: keepalive failed: %s", e.message);
			retry_at = vf_etcd_now_ms() + (f->ttl_ms / 10 > 100 ? f->ttl_ms / 10 : 100);
		}
		vf_error_clear(&e);
		if (st == VF_HOSTLEASE_EXPIRED) {
			vf_fleet__lose(f, ok && ttl == 0 ? "etcd says the lease expired or was revoked"
							 : "a keepalive was acknowledged after the fence deadline");
			continue;
		}
		/* Only an acknowledged renewal moves the helper's deadline. */
		if (ok && same && st == VF_HOSTLEASE_HELD) {
			pthread_mutex_lock(&f->fence_mu);
			int r = f->fc.pid ? vf_fence_set_deadline(&f->fc, deadline, &e) : 0;
			pthread_mutex_unlock(&f->fence_mu);
			if (r < 0)
				vf_fleet__helper_failed(f, e.message);
			vf_error_clear(&e);
		}
	}
	return NULL;
}

/* ---- who is alive and who holds what: poll thread ---------------------------- */

static int vf_fleet__poll_once(vf_fleet *f, vf_error *err)
{
	_cleanup_free_ char *hp = vf_asprintf("%s/hosts/", f->prefix);
	_cleanup_free_ char *lp = vf_asprintf("%s/lock/domain/", f->prefix);
	vf_etcd_kvs hk = { 0 }, lk = { 0 };
	int r = vf_etcd_range_prefix(f->poll_etcd, hp, &hk, err);
	if (r == 0)
		r = vf_etcd_range_prefix(f->poll_etcd, lp, &lk, err);
	if (r < 0) {
		vf_etcd_kvs_clear(&hk);
		return r;
	}
	vf_fleet_host *hosts = vf_calloc(hk.n + 1, sizeof(*hosts));
	size_t nh = 0;
	vf_buf fp = { 0 };
	vf_buf_add(&fp, "");
	for (size_t i = 0; i < hk.n; i++) {
		const char *id = hk.keys[i] + strlen(hp);
		json_object *o = json_tokener_parse(hk.kvs[i].value ? hk.kvs[i].value : "");
		vf_fleet_host *h = &hosts[nh++];
		h->id = vf_strdup(id);
		h->lease = hk.kvs[i].lease;
		h->left_s = -1;
		json_object *labels = NULL, *pid = NULL;
		if (o && json_object_object_get_ex(o, "labels", &labels) &&
		    json_object_is_type(labels, json_type_object)) {
			size_t n = (size_t)json_object_object_length(labels), k = 0;
			h->labels = vf_calloc(n + 1, sizeof(vf_kv));
			json_object_object_foreach(labels, key, val) {
				if (k < n && json_object_is_type(val, json_type_string)) {
					h->labels[k].key = vf_strdup(key);
					h->labels[k].value = vf_strdup(json_object_get_string(val));
					k++;
				}
			}
			h->n_labels = k;
		}
		if (o && json_object_object_get_ex(o, "pid", &pid))
			h->pid = json_object_get_int64(pid);
		const char *since = vf_fleet__jget(o, "since"), *version = vf_fleet__jget(o, "version");
		h->since = since ? vf_strdup(since) : NULL;
		h->version = version ? vf_strdup(version) : NULL;
		json_object_put(o);
		if (h->lease) {
			vf_error e = { 0 };
			if (vf_etcd_lease_ttl(f->poll_etcd, h->lease, &h->left_s, &h->ttl_s, &e) < 0)
				h->left_s = -1;
			vf_error_clear(&e);
		}
		char *s = vf_asprintf("host %s %" PRId64 ";", h->id, h->lease);
		vf_buf_add(&fp, s);
		free(s);
	}
	vf_fleet_holder *holders = vf_calloc(lk.n + 1, sizeof(*holders));
	size_t nl = 0;
	for (size_t i = 0; i < lk.n; i++) {
		vf_fleet_holder *h = &holders[nl++];
		h->domain = vf_strdup(lk.keys[i] + strlen(lp));
		h->host = vf_fleet__value_host(lk.kvs[i].value);
		if (!h->host)
			h->host = vf_strdup("?");
		h->rev = lk.kvs[i].create_rev;
		h->lease = lk.kvs[i].lease;
		char *s = vf_asprintf("lock %s %s %" PRId64 ";", h->domain, h->host, h->rev);
		vf_buf_add(&fp, s);
		free(s);
	}
	vf_etcd_kvs_clear(&hk);
	vf_etcd_kvs_clear(&lk);
	char *print = vf_buf_steal(&fp);
	pthread_mutex_lock(&f->mu);
	bool changed = !f->polled || !vf_streq(print, f->fingerprint);
	vf_fleet__hosts_free(f->hosts, f->n_hosts);
	vf_fleet__holders_free(f->holders, f->n_holders);
	f->hosts = hosts;
	f->n_hosts = nh;
	f->holders = holders;
	f->n_holders = nl;
	free(f->fingerprint);
	f->fingerprint = print;
	f->polled = true;
	free(f->poll_error);
	f->poll_error = NULL;
	if (changed)
		vf_fleet__wake_locked(f, "fleet change (hosts or lock holders)");
	pthread_mutex_unlock(&f->mu);
	return 0;
}

static void *vf_fleet__poll_main(void *arg)
{
	vf_fleet *f = arg;
	vf_fleet__block_signals();
	while (!atomic_load(&f->stop)) {
		uint64_t t0 = vf_etcd_now_ms();
		vf_error e = { 0 };
		if (vf_fleet__poll_once(f, &e) < 0) {
			pthread_mutex_lock(&f->mu);
			bool first = !f->poll_error;
			free(f->poll_error);
			f->poll_error = vf_strdup(e.message ? e.message : "poll failed");
			pthread_mutex_unlock(&f->mu);
			if (first)
				vf_watch_log(4, "fleet: cannot read the fleet's hosts and locks: %s", e.message);
		}
		vf_error_clear(&e);
		uint64_t el = vf_etcd_now_ms() - t0, period = f->ttl_ms / 4;
		vf_fleet__nap(f, el < period ? period - el : 10);
	}
	return NULL;
}

/* ---- start and stop ------------------------------------------------------------ */

static char *vf_fleet__default_helper(void)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return vf_strdup("virtform-fence");
	self[n] = '\0';
	char *slash = strrchr(self, '/');
	if (slash)
		*slash = '\0';
	return vf_asprintf("%s/virtform-fence", self);
}

int vf_fleet_start(const vf_fleet_opts *o, vf_fleet **out, vf_error *err)
{
	char host[256] = "";
	const char *id = o->host_id;
	if (!id) {
		if (gethostname(host, sizeof(host) - 1) < 0 || !*host)
			return vf_error_set(err, VF_E_USAGE,
					    "no --host-id given and the hostname cannot be read");
		char *dot = strchr(host, '.');
		if (dot && dot != host)
			*dot = '\0';   /* the short name, as `hostname -s` */
		id = host;
	}
	if (!vf_placement_host_id_valid(id))
		return vf_error_set(err, VF_E_USAGE,
				    "the host id \"%s\" (the hostname) is not 1 to 63 of A-Z a-z 0-9 . _ -: give --host-id",
				    id);
	unsigned ttl = o->ttl_ms ? o->ttl_ms : VF_DEFAULT_LEASE_TTL_MS;
	unsigned margin = (unsigned)vf_hostlease_default_margin(ttl);
	/* The helper needs a margin above a watchdog pet period (W/4). */
	if (o->watchdog && margin <= o->watchdog_ms / 4)
		margin = o->watchdog_ms / 4 + 1;
	vf_hostlease probe;
	if (vf_hostlease_begin(&probe, ttl, margin, 0, NULL) < 0)
		return vf_error_set(err, VF_E_USAGE,
				    "--fence-watchdog-ms %u needs a fence margin of %u ms, too large for a lease TTL of %u ms (the margin must leave a third of the TTL): lower it to at most %u",
				    o->watchdog_ms, margin, ttl, (ttl - ttl / 3) * 4 - 4);
	vf_fleet *f = vf_calloc(1, sizeof(*f));
	f->host_id = vf_strdup(id);
	f->prefix = vf_strdup(o->prefix ? o->prefix : "/virtform");
	f->helper = o->fence_helper ? vf_strdup(o->fence_helper) : vf_fleet__default_helper();
	f->watchdog = o->watchdog ? vf_strdup(o->watchdog) : NULL;
	f->watchdog_ms = o->watchdog_ms;
	f->ttl_ms = ttl;
	f->margin_ms = margin;
	f->labels = vf_fleet__parse_labels(o->labels, &f->n_labels);
	f->wake_fd = o->wake_fd;
	pthread_mutex_init(&f->mu, NULL);
	pthread_mutex_init(&f->fence_mu, NULL);
	/* Each thread its own client, bounded well inside a keepalive period,
	 * so one slow endpoint never costs a renewal. */
	vf_etcd_opts eo = { .connect_ms = ttl / 4 < 1000 ? ttl / 4 : 1000, .request_ms = ttl / 4,
			    .total_ms = ttl / 3 };
	int r = vf_etcd_open(o->endpoints, &eo, &f->ka_etcd, err);
	if (r == 0)
		r = vf_etcd_open(o->endpoints, &eo, &f->poll_etcd, err);
	if (r == 0)
		r = vf_etcd_open(o->endpoints, &eo, &f->etcd, err);
	if (r == 0)
		r = vf_fleet__join(f, err);
	if (r == 0)
		r = vf_fleet__poll_once(f, err);
	if (r == 0) {
		if (pthread_create(&f->ka_thread, NULL, vf_fleet__keepalive_main, f) == 0)
			f->ka_started = true;
		if (pthread_create(&f->poll_thread, NULL, vf_fleet__poll_main, f) == 0)
			f->poll_started = true;
		if (!f->ka_started || !f->poll_started)
			r = vf_error_set(err, VF_E_INTERNAL, "fleet: cannot start its threads");
	}
	if (r < 0) {
		vf_fleet_stop(f);
		return r;
	}
	*out = f;
	return 0;
}

static void vf_fleet__view_free(vf_fleet *f);

void vf_fleet_stop(vf_fleet *f)
{
	if (!f)
		return;
	atomic_store(&f->stop, true);
	if (f->ka_started)
		pthread_join(f->ka_thread, NULL);
	if (f->poll_started)
		pthread_join(f->poll_thread, NULL);
	pthread_mutex_lock(&f->fence_mu);
	bool guarding = f->n_guards > 0;
	if (f->fc.pid && !guarding) {
		vf_error e = { 0 };
		if (vf_fence_release(&f->fc, &e) < 0)
			vf_fleet__detach_locked(f);
		vf_error_clear(&e);
	} else {
		vf_fleet__detach_locked(f);
	}
	pthread_mutex_unlock(&f->fence_mu);
	if (!guarding && f->lease && f->etcd) {
		/* Nothing runs here for the fleet: give everything back now, so
		 * other hosts need not wait for the TTL. */
		vf_error e = { 0 };
		(void)vf_etcd_lease_revoke(f->etcd, f->lease, &e);
		vf_error_clear(&e);
	} else if (guarding) {
		vf_watch_log(4, "fleet: leaving with placed domains running here: the fence helper kills them at the lease's deadline and other hosts take them over");
	}
	vf_fleet__view_free(f);
	for (size_t i = 0; i < f->n_held; i++)
		free(f->held[i].domain);
	free(f->held);
	vf_fleet__hosts_free(f->hosts, f->n_hosts);
	vf_fleet__holders_free(f->holders, f->n_holders);
	vf_etcd_close(f->ka_etcd);
	vf_etcd_close(f->poll_etcd);
	vf_etcd_close(f->etcd);
	vf_kvs_free(f->labels, f->n_labels);
	free(f->host_id);
	free(f->prefix);
	free(f->helper);
	free(f->watchdog);
	free(f->lost_why);
	free(f->fingerprint);
	free(f->poll_error);
	free(f->claim_domain);
	pthread_mutex_destroy(&f->mu);
	pthread_mutex_destroy(&f->fence_mu);
	free(f);
}

const char *vf_fleet_host_id(const vf_fleet *f)
{
	return f->host_id;
}

bool vf_fleet_take_wake(vf_fleet *f, const char **why)
{
	pthread_mutex_lock(&f->mu);
	bool w = f->wake;
	*why = f->wake_why ? f->wake_why : "fleet change";
	f->wake = false;
	pthread_mutex_unlock(&f->mu);
	return w;
}

/* ---- the pass: placement, locks, the view ---------------------------------------- */

/* May this host act for placed domains now? Also the lease and gen. */
static bool vf_fleet__may_run(vf_fleet *f, int64_t *ret_lease, uint64_t *ret_gen, uint64_t *ret_left)
{
	pthread_mutex_lock(&f->mu);
	uint64_t now = vf_etcd_now_ms();
	vf_hostlease_tick(&f->hl, now);
	bool ok = f->lease != 0 && vf_hostlease_may_run(&f->hl, now);
	if (ret_lease)
		*ret_lease = f->lease;
	if (ret_gen)
		*ret_gen = f->gen;
	if (ret_left)
		*ret_left = ok ? f->hl.deadline_ms - now : 0;
	pthread_mutex_unlock(&f->mu);
	return ok;
}

static vf_fleet_lock *vf_fleet__held(vf_fleet *f, const char *domain)
{
	for (size_t i = 0; i < f->n_held; i++)
		if (strcmp(f->held[i].domain, domain) == 0)
			return &f->held[i];
	return NULL;
}

static void vf_fleet__drop_held(vf_fleet *f, const char *domain)
{
	vf_fleet_lock *l = vf_fleet__held(f, domain);
	if (!l)
		return;
	free(l->domain);
	*l = f->held[--f->n_held];
}

static void vf_fleet__view_free(vf_fleet *f)
{
	free(f->view_held);
	vf_kvs_free(f->view_holders, f->n_view_holders);
	free(f->view_vols);
	for (size_t i = 0; i < f->n_view_strs; i++)
		free(f->view_strs[i]);
	free(f->view_strs);
	f->view_held = NULL;
	f->view_holders = NULL;
	f->view_vols = NULL;
	f->view_strs = NULL;
	f->n_view_holders = f->n_view_strs = 0;
	memset(&f->view, 0, sizeof(f->view));
}

static const char *vf_fleet__keep(vf_fleet *f, const char *s, size_t *cap)
{
	if (f->n_view_strs == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		f->view_strs = vf_realloc(f->view_strs, *cap * sizeof(char *));
	}
	return f->view_strs[f->n_view_strs++] = vf_strdup(s ? s : "");
}

static int vf_fleet__strcmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The fleet's volume claims: <prefix>/volumes/POOL/NAME = {host, domain, created}. */
static void vf_fleet__read_volumes(vf_fleet *f)
{
	_cleanup_free_ char *vp = vf_asprintf("%s/volumes/", f->prefix);
	vf_etcd_kvs k = { 0 };
	vf_error e = { 0 };
	if (vf_etcd_range_prefix(f->etcd, vp, &k, &e) < 0) {
		vf_watch_log(4, "fleet: cannot read the shared volumes' claims: %s", e.message);
		vf_error_clear(&e);
		return;
	}
	f->view_vols = vf_calloc(k.n + 1, sizeof(vf_fleet_volume));
	size_t cap = f->n_view_strs, n = 0;
	for (size_t i = 0; i < k.n; i++) {
		const char *pn = k.keys[i] + strlen(vp);
		const char *slash = strchr(pn, '/');
		json_object *o = json_tokener_parse(k.kvs[i].value ? k.kvs[i].value : "");
		json_object *created = NULL;
		if (slash && o) {
			_cleanup_free_ char *pool = vf_strndup(pn, (size_t)(slash - pn));
			vf_fleet_volume *v = &f->view_vols[n++];
			v->pool = vf_fleet__keep(f, pool, &cap);
			v->name = vf_fleet__keep(f, slash + 1, &cap);
			v->host = vf_fleet__keep(f, vf_fleet__jget(o, "host"), &cap);
			v->domain = vf_fleet__keep(f, vf_fleet__jget(o, "domain"), &cap);
			v->created = json_object_object_get_ex(o, "created", &created) &&
				     json_object_get_boolean(created);
		}
		json_object_put(o);
	}
	f->view.volumes = f->view_vols;
	f->view.n_volumes = n;
	vf_etcd_kvs_clear(&k);
}

static const vf_place_host *vf_fleet__self(const vf_fleet *f, vf_place_host *storage)
{
	*storage = (vf_place_host){ .id = f->host_id, .labels = f->labels, .n_labels = f->n_labels };
	return storage;
}

static int vf_fleet__may_start(void *userdata, const char *domain, uint64_t *token, vf_error *err);
static int vf_fleet__started(void *userdata, const char *domain, vf_error *err);
static int vf_fleet__claim_volume(void *userdata, const char *pool, const char *name,
				  const char *domain, vf_error *err);
static int vf_fleet__volume_created(void *userdata, const char *pool, const char *name, vf_error *err);

void vf_fleet_pass_begin(vf_fleet *f, const vf_desired *d, const vf_backend *be, vf_conn *conn,
			 const vf_fleet_view **ret_view, const vf_fleet_hooks **ret_hooks)
{
	f->be = be;
	f->conn = conn;
	vf_fleet__view_free(f);
	int64_t lease = 0;
	uint64_t gen = 0;
	bool may_run = vf_fleet__may_run(f, &lease, &gen, NULL);
	if (gen != f->held_gen) {
		if (f->n_held)
			vf_watch_log(4, "fleet: dropping %zu lock%s of an earlier lease", f->n_held,
				     f->n_held == 1 ? "" : "s");
		for (size_t i = 0; i < f->n_held; i++)
			free(f->held[i].domain);
		f->n_held = 0;
		f->held_gen = gen;
	}

	/* A copy of what the poll saw, so the threads go on meanwhile. */
	pthread_mutex_lock(&f->mu);
	size_t nh = f->n_hosts, nl = f->n_holders;
	vf_place_host *hosts = vf_calloc(nh + 2, sizeof(*hosts));
	char **ids = vf_calloc(nh + 1, sizeof(char *));
	vf_kv **labels = vf_calloc(nh + 1, sizeof(vf_kv *));
	size_t n_hosts = 0;
	for (size_t i = 0; i < nh; i++) {
		if (strcmp(f->hosts[i].id, f->host_id) == 0)
			continue;   /* this host is added below, from what it knows itself */
		ids[n_hosts] = vf_strdup(f->hosts[i].id);
		labels[n_hosts] = vf_calloc(f->hosts[i].n_labels + 1, sizeof(vf_kv));
		for (size_t k = 0; k < f->hosts[i].n_labels; k++) {
			labels[n_hosts][k].key = vf_strdup(f->hosts[i].labels[k].key);
			labels[n_hosts][k].value = vf_strdup(f->hosts[i].labels[k].value);
		}
		hosts[n_hosts] = (vf_place_host){ .id = ids[n_hosts], .labels = labels[n_hosts],
						  .n_labels = f->hosts[i].n_labels };
		n_hosts++;
	}
	vf_kv *holders = vf_calloc(nl + 1, sizeof(vf_kv));
	for (size_t i = 0; i < nl; i++) {
		holders[i].key = vf_strdup(f->holders[i].domain);
		holders[i].value = vf_strdup(f->holders[i].host);
	}
	pthread_mutex_unlock(&f->mu);
	size_t n_snap = n_hosts;
	vf_place_host self;
	if (may_run)
		hosts[n_hosts++] = *vf_fleet__self(f, &self);

	/* The declared placed domains and who holds them. */
	size_t np = 0;
	for (size_t i = 0; d && i < d->n; i++)
		np += d->objs[i].kind == VF_KIND_DOMAIN && d->objs[i].u.domain.placed;
	vf_place_domain *pd = vf_calloc(np + 1, sizeof(*pd));
	const char **chosen = vf_calloc(np + 1, sizeof(char *));
	np = 0;
	for (size_t i = 0; d && i < d->n; i++) {
		const vf_object *o = &d->objs[i];
		if (o->kind != VF_KIND_DOMAIN || !o->u.domain.placed)
			continue;
		vf_place_domain *p = &pd[np++];
		*p = (vf_place_domain){ .name = o->name,
					.hosts = (const char *const *)o->u.domain.place_hosts,
					.n_hosts = o->u.domain.n_place_hosts,
					.labels = o->u.domain.place_labels,
					.n_labels = o->u.domain.n_place_labels };
		if (vf_fleet__held(f, o->name))
			p->holder = f->host_id;
		for (size_t k = 0; !p->holder && k < nl; k++)
			if (strcmp(holders[k].key, o->name) == 0)
				p->holder = holders[k].value;
	}
	vf_placement_assign(hosts, n_hosts, pd, np, chosen);

	/* Take what is free and ours to take; a race lost just shows the winner. */
	_cleanup_free_ char *value = vf_fleet__lock_value(f);
	for (size_t i = 0; may_run && i < np; i++) {
		if (pd[i].holder || !chosen[i] || strcmp(chosen[i], f->host_id) != 0)
			continue;
		_cleanup_free_ char *key = vf_fleet__key(f, "lock/domain", pd[i].name);
		int64_t rev = 0;
		vf_etcd_kv holder = { 0 };
		vf_error e = { 0 };
		int r = vf_etcd_take(f->etcd, key, value, lease, &rev, &holder, &e);
		if (r == 0) {
			f->held = vf_realloc(f->held, (f->n_held + 1) * sizeof(*f->held));
			f->held[f->n_held++] = (vf_fleet_lock){ .domain = vf_strdup(pd[i].name), .rev = rev };
			vf_watch_log(5, "fleet: took the lease of Domain/%s (fencing token %" PRId64 ")",
				     pd[i].name, rev);
		} else if (r == -VF_E_LOCKED) {
			_cleanup_free_ char *who = vf_fleet__value_host(holder.value);
			vf_watch_log(6, "fleet: Domain/%s was taken first by host %s", pd[i].name,
				     who ? who : "?");
		} else {
			vf_watch_log(4, "fleet: cannot take the lease of Domain/%s: %s", pd[i].name, e.message);
		}
		vf_etcd_kv_clear(&holder);
		vf_error_clear(&e);
	}

	/* The view: held = held here, still declared and eligible (a held
	 * domain that is not eligible any more is forced off, then released). */
	f->view_held = vf_calloc(f->n_held + 1, sizeof(char *));
	size_t n_vh = 0;
	for (size_t i = 0; may_run && i < f->n_held; i++) {
		for (size_t k = 0; k < np; k++)
			if (strcmp(pd[k].name, f->held[i].domain) == 0 &&
			    vf_placement_eligible(&pd[k], vf_fleet__self(f, &self)))
				f->view_held[n_vh++] = f->held[i].domain;
	}
	qsort(f->view_held, n_vh, sizeof(char *), vf_fleet__strcmp);
	/* holders: the poll's, with ours (fresher) over them */
	f->view_holders = vf_calloc(nl + f->n_held + 1, sizeof(vf_kv));
	size_t n_vk = 0;
	for (size_t i = 0; i < f->n_held; i++) {
		f->view_holders[n_vk].key = vf_strdup(f->held[i].domain);
		f->view_holders[n_vk++].value = vf_strdup(f->host_id);
	}
	for (size_t i = 0; i < nl; i++) {
		if (vf_fleet__held(f, holders[i].key))
			continue;
		f->view_holders[n_vk].key = TAKE_PTR(holders[i].key);
		f->view_holders[n_vk++].value = TAKE_PTR(holders[i].value);
	}
	f->n_view_holders = n_vk;
	f->view = (vf_fleet_view){ .host_id = f->host_id, .held = (const char *const *)f->view_held,
				   .n_held = n_vh, .holders = f->view_holders, .n_holders = n_vk };
	vf_fleet__read_volumes(f);
	f->hooks = (vf_fleet_hooks){ .may_start = vf_fleet__may_start, .started = vf_fleet__started,
				     .claim_volume = vf_fleet__claim_volume,
				     .volume_created = vf_fleet__volume_created, .userdata = f };
	*ret_view = &f->view;
	*ret_hooks = &f->hooks;

	vf_kvs_free(holders, nl);
	for (size_t i = 0; i < n_snap; i++) {
		vf_kvs_free(labels[i], hosts[i].n_labels);
		free(ids[i]);
	}
	free(ids);
	free(labels);
	free(hosts);
	free(pd);
	free(chosen);
}

/* ---- apply's hooks ------------------------------------------------------------------ */

static int vf_fleet__may_start(void *userdata, const char *domain, uint64_t *token, vf_error *err)
{
	vf_fleet *f = userdata;
	int64_t lease = 0;
	uint64_t gen = 0, left = 0;
	bool ok = vf_fleet__may_run(f, &lease, &gen, &left);
	if (!ok || gen != f->held_gen) {
		pthread_mutex_lock(&f->mu);
		_cleanup_free_ char *why = vf_strdup(f->lost_why ? f->lost_why : "no lease yet");
		pthread_mutex_unlock(&f->mu);
		return vf_error_set(err, VF_E_LOCKED,
				    "the lease of Domain/%s was lost (this host's etcd lease: %s): not started",
				    domain, why);
	}
	vf_fleet_lock *l = vf_fleet__held(f, domain);
	if (!l)
		return vf_error_set(err, VF_E_LOCKED,
				    "host %s does not hold the lease of Domain/%s: not started", f->host_id,
				    domain);
	/* A start must finish and be guarded well before the deadline. */
	if (left < f->ttl_ms / 4)
		return vf_error_set(err, VF_E_LOCKED,
				    "the lease of Domain/%s is %" PRIu64 " ms from its fence deadline, too close to start it: not started",
				    domain, left);
	_cleanup_free_ char *key = vf_fleet__key(f, "lock/domain", domain);
	vf_etcd_kv holder = { 0 };
	int r = vf_etcd_held(f->etcd, key, l->rev, lease, &holder, err);
	if (r == 0) {
		_cleanup_free_ char *who = vf_fleet__value_host(holder.value);
		r = holder.present
			? vf_error_set(err, VF_E_LOCKED,
				       "the lease of Domain/%s was lost (%s now holds it with token %" PRId64 ", ours was %" PRId64 "): not started",
				       domain, who ? who : "another host", holder.create_rev, l->rev)
			: vf_error_set(err, VF_E_LOCKED,
				       "the lease of Domain/%s was lost (its key is gone from etcd; our token was %" PRId64 "): not started",
				       domain, l->rev);
		vf_fleet__drop_held(f, domain);
	}
	vf_etcd_kv_clear(&holder);
	if (r < 0)
		return r;
	/* The transaction took time: the lease must still be good now. */
	if (!vf_fleet__may_run(f, NULL, &gen, NULL) || gen != f->held_gen)
		return vf_error_set(err, VF_E_LOCKED,
				    "the lease of Domain/%s was lost while it was being confirmed: not started",
				    domain);
	/* The helper kills any QEMU of this guest at the deadline from now
	 * on, by name: the one about to start is covered before its pid is
	 * known, even if this process stops in the middle of the start. */
	pthread_mutex_lock(&f->fence_mu);
	r = f->fc.pid ? vf_fence_expect(&f->fc, domain, err)
		      : vf_error_set(err, VF_E_LOCKED, "no fence helper to guard Domain/%s: not started",
				     domain);
	pthread_mutex_unlock(&f->fence_mu);
	if (r < 0)
		return r;
	*token = (uint64_t)l->rev;
	return 0;
}

/* Guard `domain`'s process: 0, or -1 when it could not be (the caller
 * forces it off: an unguarded placed domain is not allowed to run). */
static int vf_fleet__guard(vf_fleet *f, const char *domain, vf_error *err)
{
	int pid = 0;
	unsigned long long st = 0;
	if (!f->be->hv->domain_pid)
		return vf_error_set(err, VF_E_USAGE, "the %s driver cannot name a domain's process",
				    f->be->hv->name);
	int r = f->be->hv->domain_pid(f->conn, domain, &pid, &st, err);
	if (r < 0)
		return r;
	uint64_t gen = 0;
	bool ok = vf_fleet__may_run(f, NULL, &gen, NULL) && gen == f->held_gen;
	pthread_mutex_lock(&f->fence_mu);
	for (size_t i = 0; i < f->n_guards; i++) {
		if (strcmp(f->guards[i].domain, domain) == 0 && f->guards[i].pid == pid &&
		    f->guards[i].start == st) {
			pthread_mutex_unlock(&f->fence_mu);
			return 0;   /* guarded already */
		}
	}
	if (!ok || !f->fc.pid)
		r = vf_error_set(err, VF_E_LOCKED, "the lease was lost: no fence helper to guard Domain/%s",
				 domain);
	else
		r = vf_fence_guard_at(&f->fc, pid, st, err);
	if (r == 0) {
		f->guards = vf_realloc(f->guards, (f->n_guards + 1) * sizeof(*f->guards));
		f->guards[f->n_guards++] = (vf_fleet_guard){ .domain = vf_strdup(domain), .pid = pid,
							     .start = st };
	}
	pthread_mutex_unlock(&f->fence_mu);
	return r;
}

static void vf_fleet__force_off(vf_fleet *f, const char *domain, const char *why)
{
	vf_error e = { 0 };
	if (f->be->hv->domain_destroy && f->be->hv->domain_destroy(f->conn, domain, &e) == 0)
		vf_watch_log(3, "fleet: Domain/%s forced off: %s", domain, why);
	else
		vf_watch_log(2, "fleet: Domain/%s could not be guarded (%s) nor forced off (%s); the fence helper still kills it by name at the deadline, and the next pass tries again",
			     domain, why, e.message ? e.message : "no destroy");
	vf_error_clear(&e);
}

/* The domain's process exists (paused, when the driver starts it so):
 * guard it, or fail, and apply forces it off before any guest code ran. */
static int vf_fleet__started(void *userdata, const char *domain, vf_error *err)
{
	vf_fleet *f = userdata;
	vf_error e = { 0 };
	if (vf_fleet__guard(f, domain, &e) < 0) {
		vf_watch_log(3, "fleet: Domain/%s could not be guarded (%s): forced off", domain,
			     e.message ? e.message : "?");
		int r = vf_error_set(err, VF_E_LOCKED,
				     "Domain/%s could not be guarded by the fence helper (%s): forced off, not run",
				     domain, e.message ? e.message : "?");
		vf_error_clear(&e);
		return r;
	}
	vf_watch_log(6, "fleet: Domain/%s started and guarded by the fence helper", domain);
	return 0;
}

static int vf_fleet__claim_volume(void *userdata, const char *pool, const char *name,
				  const char *domain, vf_error *err)
{
	vf_fleet *f = userdata;
	if (!vf_fleet__may_run(f, NULL, NULL, NULL) || !vf_fleet__held(f, domain))
		return vf_error_set(err, VF_E_LOCKED,
				    "host %s does not hold the lease of Domain/%s: Volume %s/%s not created",
				    f->host_id, domain, pool, name);
	_cleanup_free_ char *pn = vf_asprintf("%s/%s", pool, name);
	_cleanup_free_ char *key = vf_fleet__key(f, "volumes", pn);
	json_object *o = json_object_new_object();
	json_object_object_add(o, "host", json_object_new_string(f->host_id));
	json_object_object_add(o, "domain", json_object_new_string(domain));
	json_object_object_add(o, "created", json_object_new_boolean(false));
	int64_t rev = 0;
	vf_etcd_kv holder = { 0 };
	vf_error e = { 0 };
	int r = vf_etcd_take(f->etcd, key, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN), 0,
			     &rev, &holder, &e);
	json_object_put(o);
	if (r == -VF_E_LOCKED) {
		_cleanup_free_ char *who = vf_fleet__value_host(holder.value);
		if (who && strcmp(who, f->host_id) == 0) {
			r = 0;   /* our own claim: an earlier attempt that did not finish */
		} else {
			r = vf_error_set(err, VF_E_LOCKED,
					 "Volume %s/%s is claimed by host %s in etcd (%s): not created here",
					 pool, name, who ? who : "?", key);
		}
	} else if (r < 0) {
		vf_error_clear(err);
		*err = e;
		e = (vf_error){ 0 };
	}
	vf_etcd_kv_clear(&holder);
	vf_error_clear(&e);
	if (r == 0) {
		free(f->claim_domain);
		f->claim_domain = vf_strdup(domain);
	}
	return r;
}

static int vf_fleet__volume_created(void *userdata, const char *pool, const char *name, vf_error *err)
{
	vf_fleet *f = userdata;
	_cleanup_free_ char *pn = vf_asprintf("%s/%s", pool, name);
	_cleanup_free_ char *key = vf_fleet__key(f, "volumes", pn);
	json_object *o = json_object_new_object();
	json_object_object_add(o, "host", json_object_new_string(f->host_id));
	json_object_object_add(o, "domain", json_object_new_string(f->claim_domain ? f->claim_domain : ""));
	json_object_object_add(o, "created", json_object_new_boolean(true));
	int r = vf_etcd_put(f->etcd, key, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN), 0, err);
	json_object_put(o);
	return r;
}

/* ---- after the pass: guard, unguard, release ------------------------------------------- */

static const vf_object *vf_fleet__declared(const vf_desired *d, const char *name)
{
	for (size_t i = 0; d && i < d->n; i++)
		if (d->objs[i].kind == VF_KIND_DOMAIN && d->objs[i].u.domain.placed &&
		    strcmp(d->objs[i].name, name) == 0)
			return &d->objs[i];
	return NULL;
}

void vf_fleet_pass_end(vf_fleet *f, const vf_desired *d, const vf_backend *be, vf_conn *conn)
{
	f->be = be;
	f->conn = conn;
	uint64_t gen = 0;
	bool may_run = vf_fleet__may_run(f, NULL, &gen, NULL) && gen == f->held_gen;
	/* Unguard what no longer runs as the process we guard, or is not held. */
	pthread_mutex_lock(&f->fence_mu);
	for (size_t i = 0; i < f->n_guards;) {
		vf_fleet_guard *g = &f->guards[i];
		uint64_t st = 0;
		bool alive = vf_proc_starttime(g->pid, &st) == 0 && st == g->start;
		if (alive && vf_fleet__held(f, g->domain)) {
			i++;
			continue;
		}
		if (alive) {
			i++;   /* running but not held: the plan forces it off; keep the guard */
			continue;
		}
		vf_error e = { 0 };
		if (f->fc.pid)
			(void)vf_fence_unguard(&f->fc, g->pid, &e);
		vf_error_clear(&e);
		free(g->domain);
		*g = f->guards[--f->n_guards];
	}
	pthread_mutex_unlock(&f->fence_mu);
	for (size_t i = 0; i < f->n_held;) {
		const char *name = f->held[i].domain;
		int pid = 0;
		unsigned long long st = 0;
		vf_error e = { 0 };
		int r = be->hv->domain_pid ? be->hv->domain_pid(conn, name, &pid, &st, &e) : -VF_E_USAGE;
		bool running = r == 0;
		bool surely_off = r == -VF_E_DRIVER;   /* not running, or not defined here */
		vf_error_clear(&e);
		if (running && may_run && vf_fleet__guard(f, name, &e) < 0)
			vf_fleet__force_off(f, name, e.message ? e.message : "not guarded");
		vf_error_clear(&e);
		const vf_object *o = vf_fleet__declared(d, name);
		vf_place_domain pd = { .name = name };
		if (o)
			pd = (vf_place_domain){ .name = name,
						.hosts = (const char *const *)o->u.domain.place_hosts,
						.n_hosts = o->u.domain.n_place_hosts,
						.labels = o->u.domain.place_labels,
						.n_labels = o->u.domain.n_place_labels };
		vf_place_host self;
		bool keep = o && vf_placement_eligible(&pd, vf_fleet__self(f, &self));
		if (keep || !surely_off) {
			i++;
			continue;
		}
		_cleanup_free_ char *key = vf_fleet__key(f, "lock/domain", name);
		pthread_mutex_lock(&f->fence_mu);
		if (f->fc.pid)
			(void)vf_fence_unexpect(&f->fc, name, &e);
		pthread_mutex_unlock(&f->fence_mu);
		vf_error_clear(&e);
		if (vf_etcd_release(f->etcd, key, f->held[i].rev, &e) >= 0) {
			vf_watch_log(5, "fleet: released the lease of Domain/%s (%s)", name,
				     o ? "no longer eligible here" : "no longer declared");
			vf_fleet__drop_held(f, name);
		} else {
			vf_watch_log(4, "fleet: cannot release the lease of Domain/%s: %s", name, e.message);
			i++;
		}
		vf_error_clear(&e);
	}
}

/* ---- status ------------------------------------------------------------------------- */

json_object *vf_fleet_status_json(vf_fleet *f)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "host_id", json_object_new_string(f->host_id));
	json_object_object_add(o, "prefix", json_object_new_string(f->prefix));
	json_object *l = json_object_new_object();
	pthread_mutex_lock(&f->mu);
	uint64_t now = vf_etcd_now_ms();
	char id[24];
	snprintf(id, sizeof(id), "%" PRIx64, (uint64_t)f->lease);
	json_object_object_add(l, "id", f->lease ? json_object_new_string(id) : NULL);
	bool ok = f->lease && vf_hostlease_may_run(&f->hl, now);
	json_object_object_add(l, "state", json_object_new_string(
				       !f->lease ? "joining"
				       : ok ? vf_hostlease_state_to_string(f->hl.state) : "expired"));
	json_object_object_add(l, "ttl_ms", json_object_new_int64((int64_t)f->ttl_ms));
	json_object_object_add(l, "margin_ms", json_object_new_int64((int64_t)f->margin_ms));
	json_object_object_add(l, "deadline_in_ms",
			       ok ? json_object_new_int64((int64_t)(f->hl.deadline_ms - now)) : NULL);
	json_object_object_add(l, "joins", json_object_new_int64((int64_t)f->joins));
	json_object_object_add(l, "losses", json_object_new_int64((int64_t)f->losses));
	json_object_object_add(l, "last_loss", f->lost_why ? json_object_new_string(f->lost_why) : NULL);
	json_object_object_add(o, "lease", l);
	json_object *hosts = json_object_new_array();
	for (size_t i = 0; i < f->n_hosts; i++) {
		const vf_fleet_host *h = &f->hosts[i];
		json_object *ho = json_object_new_object();
		json_object_object_add(ho, "id", json_object_new_string(h->id));
		json_object *lab = json_object_new_object();
		for (size_t k = 0; k < h->n_labels; k++)
			json_object_object_add(lab, h->labels[k].key, json_object_new_string(h->labels[k].value));
		json_object_object_add(ho, "labels", lab);
		json_object_object_add(ho, "lease_age_s", h->left_s >= 0
				       ? json_object_new_int64(h->ttl_s - h->left_s) : NULL);
		json_object_object_add(ho, "lease_left_s", h->left_s >= 0 ? json_object_new_int64(h->left_s) : NULL);
		json_object_object_add(ho, "pid", json_object_new_int64(h->pid));
		json_object_object_add(ho, "since", h->since ? json_object_new_string(h->since) : NULL);
		json_object_object_add(ho, "version", h->version ? json_object_new_string(h->version) : NULL);
		json_object_array_add(hosts, ho);
	}
	json_object_object_add(o, "hosts", hosts);
	json_object *doms = json_object_new_array();
	for (size_t i = 0; i < f->n_holders; i++) {
		json_object *d = json_object_new_object();
		json_object_object_add(d, "domain", json_object_new_string(f->holders[i].domain));
		json_object_object_add(d, "holder", json_object_new_string(f->holders[i].host));
		json_object_object_add(d, "token", json_object_new_int64(f->holders[i].rev));
		json_object_object_add(d, "held_here", json_object_new_boolean(
					       f->holders[i].lease == f->lease && f->lease));
		json_object_array_add(doms, d);
	}
	json_object_object_add(o, "domains", doms);
	json_object_object_add(o, "poll_error", f->poll_error ? json_object_new_string(f->poll_error) : NULL);
	pthread_mutex_unlock(&f->mu);
	pthread_mutex_lock(&f->fence_mu);
	json_object_object_add(o, "fence_helper_pid", f->fc.pid ? json_object_new_int64(f->fc.pid) : NULL);
	json_object_object_add(o, "guarded", json_object_new_int64((int64_t)f->n_guards));
	pthread_mutex_unlock(&f->fence_mu);
	return o;
}
