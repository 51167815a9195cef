/* test_etcd.c: the etcd client and lock driver against a real etcd
 * (etcd-server 3.4, started by the test on 127.0.0.1 with free ports and a
 * temporary data directory): a key is taken only when absent, given back
 * only while still ours, its revision is the fencing token and grows;
 * leases renew, expire and revoke; every error names the endpoint; no
 * call waits longer than its bound; a dead endpoint is skipped; etcd frees
 * a key no earlier than send time + TTL, across a leader change too; and
 * in a three-member cluster a lock survives killing the leader. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "drivers/driver.h"
#include "drivers/etcd/kv.h"
#include "harness/etcd.h"
#include "harness/harness.h"

static vf_test_etcd one;      /* a single member for most tests */
static vf_test_etcd three;    /* the cluster test's; stopped in teardown too */

static int start_one(void **state)
{
	vf_test_etcd_start(&one, 1);
	return 0;
}

static int stop_one(void **state)
{
	vf_test_etcd_stop(&one);
	vf_test_etcd_stop(&three);   /* a failed cluster test leaves it running */
	return 0;
}

static bool contains(const char *hay, const char *needle)
{
	return hay && strstr(hay, needle);
}

static vf_etcd *client(const char *endpoints, unsigned request_ms)
{
	vf_etcd *c = NULL;
	vf_error err = { 0 };
	vf_etcd_opts o = { .connect_ms = 300, .request_ms = request_ms };
	assert_int_equal(vf_etcd_open(endpoints, &o, &c, &err), 0);
	return c;
}

static int64_t grant(vf_etcd *c, int64_t ttl)
{
	int64_t id = 0, granted = 0;
	vf_error err = { 0 };
	assert_int_equal(vf_etcd_lease_grant(c, ttl, &id, &granted, &err), 0);
	assert_true(id != 0);
	return id;
}

/* A unique key per test, so tests sharing one etcd never meet. */
static char *test_key(const char *tag)
{
	static int n;
	return vf_asprintf("/vf-test/%ld/%s/%d", (long)getpid(), tag, ++n);
}

/* ---- client ------------------------------------------------------------------ */

static void test_base64_round_trip(void **state)
{
	const char *in[] = { "", "a", "ab", "abc", "abcd", "/virtform/lock/domain/web" };
	for (size_t i = 0; i < sizeof(in) / sizeof(*in); i++) {
		_cleanup_free_ char *b = vf_etcd_b64_encode(in[i], strlen(in[i]));
		size_t n = 0;
		_cleanup_free_ char *d = vf_etcd_b64_decode(b, &n);
		assert_non_null(d);
		assert_int_equal(n, strlen(in[i]));
		assert_string_equal(d, in[i]);
	}
	_cleanup_free_ char *k1 = vf_etcd_b64_encode("k1", 2);
	assert_string_equal(k1, "azE=");   /* what etcd itself answered */
	assert_null(vf_etcd_b64_decode("a=bc", NULL));
	assert_null(vf_etcd_b64_decode("abc", NULL));
}

static void test_bad_endpoints_are_usage_errors(void **state)
{
	const char *bad[] = { "", "127.0.0.1:2379", "ftp://h:1", "http://h:2379/v3", "http://" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		vf_etcd *c = NULL;
		vf_error err = { 0 };
		assert_int_equal(vf_etcd_open(bad[i], NULL, &c, &err), -VF_E_USAGE);
		assert_null(c);
		assert_true(contains(err.message, "--etcd"));
		vf_error_clear(&err);
	}
}

/* A listener that never answers: connect succeeds (the backlog), the
 * request hangs. */
static int silent_listener(char **url)
{
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(s, 8), 0);
	socklen_t len = sizeof(a);
	getsockname(s, (struct sockaddr *)&a, &len);
	*url = vf_asprintf("http://127.0.0.1:%d", ntohs(a.sin_port));
	return s;
}

static void test_unreachable_endpoint_is_named_and_bounded(void **state)
{
	_cleanup_free_ char *hang = NULL;
	int s = silent_listener(&hang);
	_cleanup_free_ char *eps = vf_asprintf("http://127.0.0.1:1,%s", hang);
	vf_etcd *c = client(eps, 400);
	int64_t id = 0;
	vf_error err = { 0 };
	uint64_t t0 = vf_etcd_now_ms();
	int r = vf_etcd_lease_grant(c, 5, &id, NULL, &err);
	uint64_t took = vf_etcd_now_ms() - t0;
	assert_true(r == -VF_E_CONNECTION || r == -VF_E_TIMEOUT);
	assert_int_equal(id, 0);
	/* Both endpoints named, each with its reason, in one message. */
	assert_true(contains(err.message, "no etcd endpoint answered /v3/lease/grant"));
	assert_true(contains(err.message, "http://127.0.0.1:1"));
	assert_true(contains(err.message, hang));
	/* total = request_ms x endpoints = 800 ms, plus scheduling slack */
	assert_true(took < 1500);
	vf_error_clear(&err);
	vf_etcd_close(c);
	close(s);
}

static void test_dead_endpoint_is_skipped(void **state)
{
	_cleanup_free_ char *eps = vf_asprintf("http://127.0.0.1:1,%s", one.client_url[0]);
	vf_etcd *c = client(eps, 1000);
	int64_t id = grant(c, 5);
	assert_string_equal(vf_etcd_endpoint(c), one.client_url[0]);
	vf_error err = { 0 };
	assert_int_equal(vf_etcd_lease_revoke(c, id, &err), 0);
	vf_etcd_close(c);
}

static void test_etcd_error_names_endpoint(void **state)
{
	vf_etcd *c = client(one.client_url[0], 1000);
	_cleanup_free_ char *key = test_key("nolease");
	int64_t rev = 0;
	vf_error err = { 0 };
	/* A put under a lease etcd never granted: etcd's own refusal. */
	int r = vf_etcd_take(c, key, "v", 0x1234567, &rev, NULL, &err);
	assert_int_equal(r, -VF_E_DRIVER);
	assert_true(contains(err.message, one.client_url[0]));
	assert_true(contains(err.message, "lease not found"));
	assert_int_equal(rev, 0);
	vf_error_clear(&err);
	vf_etcd_close(c);
}

/* ---- leases ------------------------------------------------------------------- */

static void test_lease_keepalive_and_revoke(void **state)
{
	vf_etcd *c = client(one.client_url[0], 1000);
	int64_t id = grant(c, 5);
	int64_t ttl = -1;
	uint64_t sent = 0, before = vf_etcd_now_ms();
	vf_error err = { 0 };
	assert_int_equal(vf_etcd_lease_keepalive(c, id, &ttl, &sent, &err), 0);
	assert_int_equal(ttl, 5);
	assert_true(sent >= before && sent <= vf_etcd_now_ms());
	int64_t left = 0, granted = 0;
	assert_int_equal(vf_etcd_lease_ttl(c, id, &left, &granted, &err), 0);
	assert_int_equal(granted, 5);
	assert_true(left >= 4 && left <= 5);
	assert_int_equal(vf_etcd_lease_revoke(c, id, &err), 0);
	/* Gone: a keepalive renews nothing, and says so with TTL 0. */
	assert_int_equal(vf_etcd_lease_keepalive(c, id, &ttl, &sent, &err), 0);
	assert_int_equal(ttl, 0);
	assert_int_equal(vf_etcd_lease_ttl(c, id, &left, &granted, &err), 0);
	assert_int_equal(left, -1);
	/* Revoking twice is not an error: the lease is gone either way. */
	assert_int_equal(vf_etcd_lease_revoke(c, id, &err), 0);
	vf_etcd_close(c);
}

static void test_expired_lease_frees_its_key(void **state)
{
	vf_etcd *c = client(one.client_url[0], 1000);
	uint64_t sent = vf_etcd_now_ms();
	int64_t id = grant(c, 2);
	_cleanup_free_ char *key = test_key("expire");
	int64_t rev = 0;
	vf_error err = { 0 };
	assert_int_equal(vf_etcd_take(c, key, "a", id, &rev, NULL, &err), 0);
	vf_etcd_kv kv = { 0 };
	assert_int_equal(vf_etcd_get(c, key, &kv, &err), 0);
	assert_true(kv.present);
	assert_int_equal(kv.lease, id);
	assert_int_equal(kv.ttl_granted_s, 2);
	vf_etcd_kv_clear(&kv);
	/* No keepalive: after the TTL the key is gone, and another lease
	 * takes it with a higher fencing token. */
	bool gone = false;
	for (int i = 0; i < 50 && !gone; i++) {
		usleep(100 * 1000);
		assert_int_equal(vf_etcd_get(c, key, &kv, &err), 0);
		gone = !kv.present;
		vf_etcd_kv_clear(&kv);
	}
	assert_true(gone);
	uint64_t freed = vf_etcd_now_ms() - sent;
	print_message("lease TTL 2 s, one member: key freed %llu ms after the grant was sent\n",
		      (unsigned long long)freed);
	assert_true(freed >= 2000);   /* never before sent + TTL */
	int64_t other = grant(c, 5), rev2 = 0;
	assert_int_equal(vf_etcd_take(c, key, "b", other, &rev2, NULL, &err), 0);
	assert_true(rev2 > rev);
	assert_int_equal(vf_etcd_lease_revoke(c, other, &err), 0);
	vf_etcd_close(c);
}

/* ---- keys ----------------------------------------------------------------------- */

static void test_take_only_if_absent(void **state)
{
	vf_etcd *c = client(one.client_url[0], 1000);
	int64_t a = grant(c, 10), b = grant(c, 10);
	_cleanup_free_ char *key = test_key("take");
	int64_t rev = 0, rev_b = 0, again = 0;
	vf_error err = { 0 };
	assert_int_equal(vf_etcd_take(c, key, "host-a", a, &rev, NULL, &err), 0);
	assert_true(rev > 0);
	vf_etcd_kv holder = { 0 };
	assert_int_equal(vf_etcd_take(c, key, "host-b", b, &rev_b, &holder, &err), -VF_E_LOCKED);
	assert_int_equal(rev_b, 0);
	assert_true(holder.present);
	assert_string_equal(holder.value, "host-a");
	assert_int_equal(holder.lease, a);
	assert_int_equal(holder.create_rev, rev);
	assert_true(contains(err.message, key));
	vf_etcd_kv_clear(&holder);
	/* The same lease again (a retry after a lost answer): ours, the
	 * same revision, nothing rewritten. */
	assert_int_equal(vf_etcd_take(c, key, "host-a-retry", a, &again, NULL, &err), 0);
	assert_int_equal(again, rev);
	vf_etcd_kv kv = { 0 };
	assert_int_equal(vf_etcd_get(c, key, &kv, &err), 0);
	assert_string_equal(kv.value, "host-a");
	assert_int_equal(kv.mod_rev, rev);
	vf_etcd_kv_clear(&kv);
	/* Without a lease, no key is anybody's by lease: a second take of a
	 * lease-less key is refused like any other. */
	_cleanup_free_ char *bare = test_key("nolease-take");
	int64_t r1 = 0, r2 = 0;
	assert_int_equal(vf_etcd_take(c, bare, "x", 0, &r1, NULL, &err), 0);
	assert_int_equal(vf_etcd_take(c, bare, "y", 0, &r2, NULL, &err), -VF_E_LOCKED);
	assert_int_equal(r2, 0);
	assert_int_equal(vf_etcd_release(c, bare, r1, &err), 1);
	vf_etcd_lease_revoke(c, a, &err);
	vf_etcd_lease_revoke(c, b, &err);
	vf_error_clear(&err);
	vf_etcd_close(c);
}

static void test_release_only_if_still_ours(void **state)
{
	vf_etcd *c = client(one.client_url[0], 1000);
	int64_t a = grant(c, 10), b = grant(c, 10);
	_cleanup_free_ char *key = test_key("release");
	int64_t rev_a = 0, rev_b = 0;
	vf_error err = { 0 };
	assert_int_equal(vf_etcd_take(c, key, "a", a, &rev_a, NULL, &err), 0);
	assert_int_equal(vf_etcd_release(c, key, rev_a + 1000, &err), 0);   /* not ours */
	vf_etcd_kv kv = { 0 };
	assert_int_equal(vf_etcd_get(c, key, &kv, &err), 0);
	assert_true(kv.present);
	vf_etcd_kv_clear(&kv);
	assert_int_equal(vf_etcd_release(c, key, rev_a, &err), 1);
	/* b takes it; a's late release (an old token) must not free b's key. */
	assert_int_equal(vf_etcd_take(c, key, "b", b, &rev_b, NULL, &err), 0);
	assert_true(rev_b > rev_a);
	assert_int_equal(vf_etcd_release(c, key, rev_a, &err), 0);
	assert_int_equal(vf_etcd_get(c, key, &kv, &err), 0);
	assert_true(kv.present);
	assert_string_equal(kv.value, "b");
	assert_int_equal(kv.create_rev, rev_b);
	vf_etcd_kv_clear(&kv);
	/* Absent: nothing to give back. */
	assert_int_equal(vf_etcd_release(c, key, rev_b, &err), 1);
	assert_int_equal(vf_etcd_release(c, key, rev_b, &err), 0);
	vf_etcd_lease_revoke(c, a, &err);
	vf_etcd_lease_revoke(c, b, &err);
	vf_etcd_close(c);
}

/* ---- the lock driver ------------------------------------------------------------- */

static void start_driver(const char *endpoints, const char *host, unsigned ttl)
{
	_cleanup_free_ char *prefix = vf_asprintf("/vf-test/%ld", (long)getpid());
	vf_etcd_lock_config cfg = { .endpoints = endpoints, .host_id = host, .prefix = prefix,
				    .ttl_s = ttl, .request_ms = 1000 };
	vf_error err = { 0 };
	vf_etcd_lock_stop();   /* an earlier failed test may have left it started */
	assert_int_equal(vf_etcd_lock_start(&cfg, &err), 0);
}

/* "Another host": its own lease and the same key, through the client. */
typedef struct other_host {
	vf_etcd *c;
	int64_t lease;
	unsigned release_after_ms;   /* revoke after this long (a thread) */
} other_host;

static void *other_host_release(void *arg)
{
	other_host *o = arg;
	usleep(o->release_after_ms * 1000);
	vf_error err = { 0 };
	vf_etcd_lease_revoke(o->c, o->lease, &err);
	vf_error_clear(&err);
	return NULL;
}

static void test_lock_driver_singleton(void **state)
{
	const vf_lock_driver *drv = &vf_etcd_lock_driver;
	/* a host id is the fleet's, never guessed: none, or one placement
	 * would refuse, does not start the driver */
	const char *bad[] = { NULL, "", "rack/h1", "h 1" };
	for (size_t i = 0; i < VF_ARRAY_SIZE(bad); i++) {
		vf_etcd_lock_config cfg = { .endpoints = one.client_url[0], .host_id = bad[i] };
		vf_error e = { 0 };
		assert_int_equal(vf_etcd_lock_start(&cfg, &e), -VF_E_USAGE);
		assert_int_equal(vf_etcd_lock_lease(), 0);
		vf_error_clear(&e);
	}
	start_driver(one.client_url[0], "host-a", 10);
	vf_lock_token *tok = NULL;
	vf_lock_holder h = { 0 };
	vf_error err = { 0 };
	assert_int_equal(drv->lock(VF_LOCK_SINGLETON, "domain/web", 0, &tok, &h, &err), 0);
	int64_t rev = vf_etcd_lock_revision(tok);
	assert_true(rev > 0);
	assert_int_equal(drv->query(VF_LOCK_SINGLETON, "domain/web", &h, &err), 0);
	assert_true(h.held);
	assert_string_equal(h.host, "host-a");
	assert_int_equal(h.pid, getpid());
	assert_non_null(h.since);
	assert_int_equal(h.revision, rev);
	assert_int_equal(h.lease_ttl_s, 10);
	assert_true(h.lease_left_s >= 9 && h.lease_left_s <= 10);
	vf_lock_holder_clear(&h);
	/* Only singleton locks: local locks stay with the fcntl driver. */
	vf_lock_token *t2 = NULL;
	assert_int_equal(drv->lock(VF_LOCK_RECONCILE, "/tmp", 0, &t2, NULL, &err), -VF_E_INTERNAL);
	assert_int_equal(vf_fcntl_lock_driver.lock(VF_LOCK_SINGLETON, "domain/web", 0, &t2, NULL,
						   &err), -VF_E_INTERNAL);
	drv->unlock(tok);
	assert_int_equal(drv->query(VF_LOCK_SINGLETON, "domain/web", &h, &err), 0);
	assert_false(h.held);
	/* Taken again: a new, higher fencing token. */
	assert_int_equal(drv->lock(VF_LOCK_SINGLETON, "domain/web", 0, &tok, NULL, &err), 0);
	assert_true(vf_etcd_lock_revision(tok) > rev);
	drv->unlock(tok);
	vf_error_clear(&err);
	vf_etcd_lock_stop();
}

static void test_lock_driver_names_the_other_host_and_waits(void **state)
{
	const vf_lock_driver *drv = &vf_etcd_lock_driver;
	_cleanup_free_ char *prefix = vf_asprintf("/vf-test/%ld", (long)getpid());
	_cleanup_free_ char *key = vf_asprintf("%s/lock/domain/db", prefix);
	other_host o = { .c = client(one.client_url[0], 1000), .release_after_ms = 700 };
	o.lease = grant(o.c, 10);
	int64_t orev = 0;
	vf_error err = { 0 };
	assert_int_equal(vf_etcd_take(o.c, key, "{\"host\":\"host-b\",\"pid\":1}", o.lease, &orev,
				      NULL, &err), 0);
	start_driver(one.client_url[0], "host-a", 10);
	vf_lock_token *tok = NULL;
	vf_lock_holder h = { 0 };
	assert_int_equal(drv->lock(VF_LOCK_SINGLETON, "domain/db", 0, &tok, &h, &err),
			 -VF_E_LOCKED);
	assert_null(tok);
	assert_true(contains(err.message, "domain/db is held by host host-b"));
	assert_string_equal(h.host, "host-b");
	assert_int_equal(h.revision, orev);
	vf_lock_holder_clear(&h);
	/* A bounded wait that outlasts the holder: taken once its lease goes. */
	pthread_t th;
	pthread_create(&th, NULL, other_host_release, &o);
	uint64_t t0 = vf_etcd_now_ms();
	assert_int_equal(drv->lock(VF_LOCK_SINGLETON, "domain/db", 5000, &tok, &h, &err), 0);
	uint64_t took = vf_etcd_now_ms() - t0;
	pthread_join(th, NULL);
	assert_true(took >= 600 && took < 3000);
	assert_true(vf_etcd_lock_revision(tok) > orev);
	/* A wait that does not: VF_E_TIMEOUT after about wait_ms. */
	int64_t l2 = grant(o.c, 10), r2 = 0;
	_cleanup_free_ char *key2 = vf_asprintf("%s/lock/domain/db2", prefix);
	assert_int_equal(vf_etcd_take(o.c, key2, "{\"host\":\"host-b\"}", l2, &r2, NULL, &err), 0);
	vf_lock_token *t2 = NULL;
	t0 = vf_etcd_now_ms();
	assert_int_equal(drv->lock(VF_LOCK_SINGLETON, "domain/db2", 400, &t2, NULL, &err),
			 -VF_E_TIMEOUT);
	took = vf_etcd_now_ms() - t0;
	assert_true(took >= 400 && took < 1500);
	assert_true(contains(err.message, "still held by host host-b after waiting 400 ms"));
	drv->unlock(tok);
	vf_etcd_lock_stop();
	vf_etcd_lease_revoke(o.c, l2, &err);
	vf_error_clear(&err);
	vf_etcd_close(o.c);
}

static void test_lock_driver_stop_frees_every_key(void **state)
{
	const vf_lock_driver *drv = &vf_etcd_lock_driver;
	start_driver(one.client_url[0], "host-a", 10);
	vf_lock_token *t1 = NULL, *t2 = NULL;
	vf_error err = { 0 };
	assert_int_equal(drv->lock(VF_LOCK_SINGLETON, "domain/s1", 0, &t1, NULL, &err), 0);
	assert_int_equal(drv->lock(VF_LOCK_SINGLETON, "domain/s2", 0, &t2, NULL, &err), 0);
	int64_t ttl = 0;
	uint64_t sent = 0;
	assert_int_equal(vf_etcd_lock_keepalive(&ttl, &sent, &err), 0);
	assert_int_equal(ttl, 10);
	/* The lease goes (a revoke here; its expiry in a crash): both keys
	 * go with it, and a keepalive now says TTL 0: every lock is lost. */
	vf_etcd *c = client(one.client_url[0], 1000);
	assert_int_equal(vf_etcd_lease_revoke(c, vf_etcd_lock_lease(), &err), 0);
	assert_int_equal(vf_etcd_lock_keepalive(&ttl, &sent, &err), 0);
	assert_int_equal(ttl, 0);
	vf_lock_holder h = { 0 };
	assert_int_equal(drv->query(VF_LOCK_SINGLETON, "domain/s1", &h, &err), 0);
	assert_false(h.held);
	assert_int_equal(drv->query(VF_LOCK_SINGLETON, "domain/s2", &h, &err), 0);
	assert_false(h.held);
	drv->unlock(t1);
	drv->unlock(t2);
	vf_etcd_lock_stop();
	/* Not started: a clear usage error, not a crash. */
	assert_int_equal(drv->lock(VF_LOCK_SINGLETON, "domain/s1", 0, &t1, NULL, &err), -VF_E_USAGE);
	assert_true(contains(err.message, "not started"));
	vf_error_clear(&err);
	vf_etcd_close(c);
}

/* ---- a three-member cluster ---------------------------------------------------------- */

static void test_cluster_lock_survives_leader_kill(void **state)
{
	vf_test_etcd_start(&three, 3);
	const vf_lock_driver *drv = &vf_etcd_lock_driver;
	start_driver(three.endpoints, "host-a", 10);
	vf_lock_token *tok = NULL;
	vf_error err = { 0 };
	assert_int_equal(drv->lock(VF_LOCK_SINGLETON, "domain/ha", 0, &tok, NULL, &err), 0);
	int64_t rev = vf_etcd_lock_revision(tok);
	int leader = vf_test_etcd_leader(&three);
	assert_true(leader >= 0);
	vf_test_etcd_kill(&three, leader);
	/* Keepalives go on through the survivors within a few election
	 * timeouts (500 ms here); meanwhile a keepalive may fail, boundedly. */
	int64_t ttl = 0;
	uint64_t sent = 0, t0 = vf_etcd_now_ms();
	int r = -1;
	while (r != 0 && vf_etcd_now_ms() - t0 < 8000) {
		vf_error e = { 0 };
		r = vf_etcd_lock_keepalive(&ttl, &sent, &e);
		assert_true(r == 0 || r == -VF_E_CONNECTION || r == -VF_E_TIMEOUT ||
			    r == -VF_E_DRIVER);
		vf_error_clear(&e);
		if (r != 0)
			usleep(100 * 1000);
	}
	assert_int_equal(r, 0);
	assert_int_equal(ttl, 10);   /* renewed: the lock is still ours */
	vf_lock_holder h = { 0 };
	assert_int_equal(drv->query(VF_LOCK_SINGLETON, "domain/ha", &h, &err), 0);
	assert_true(h.held);
	assert_int_equal(h.revision, rev);
	assert_string_equal(h.host, "host-a");
	vf_lock_holder_clear(&h);
	/* Another host still cannot take it. */
	vf_etcd *c = client(three.endpoints, 1000);
	int64_t other = grant(c, 10), orev = 0;
	_cleanup_free_ char *key = vf_asprintf("/vf-test/%ld/lock/domain/ha", (long)getpid());
	assert_int_equal(vf_etcd_take(c, key, "b", other, &orev, NULL, &err), -VF_E_LOCKED);
	drv->unlock(tok);
	vf_etcd_lock_stop();
	vf_error_clear(&err);
	vf_etcd_close(c);
	vf_test_etcd_stop(&three);
}

static void test_cluster_expiry_never_early_across_leader_change(void **state)
{
	/* The fence deadline assumes etcd frees a key no earlier than the
	 * lease's last acknowledged send time + TTL. A leader change resets
	 * every lease's expiry to a full TTL on the new leader (etcd's
	 * lessor promote), which only makes it later: measured here. */
	vf_test_etcd_start(&three, 3);
	vf_etcd *c = client(three.endpoints, 1000);
	uint64_t sent = vf_etcd_now_ms();
	int64_t lease = grant(c, 2), rev = 0;
	_cleanup_free_ char *key = test_key("leaderchange");
	vf_error err = { 0 };
	assert_int_equal(vf_etcd_take(c, key, "host-a", lease, &rev, NULL, &err), 0);
	usleep(1000 * 1000);
	int leader = vf_test_etcd_leader(&three);
	assert_true(leader >= 0);
	vf_test_etcd_kill(&three, leader);
	uint64_t gone = 0;
	while (!gone && vf_etcd_now_ms() - sent < 15000) {
		vf_etcd_kv kv = { 0 };
		vf_error e = { 0 };
		if (vf_etcd_get(c, key, &kv, &e) == 0 && !kv.present)
			gone = vf_etcd_now_ms();
		vf_etcd_kv_clear(&kv);
		vf_error_clear(&e);
		usleep(50 * 1000);
	}
	assert_true(gone != 0);
	print_message("lease TTL 2 s, leader killed after 1 s: key freed %llu ms after the grant was sent\n",
		      (unsigned long long)(gone - sent));
	assert_true(gone - sent >= 2000);
	/* And the lock moves: another host takes it, with a higher token. */
	int64_t other = grant(c, 5), rev2 = 0;
	assert_int_equal(vf_etcd_take(c, key, "host-b", other, &rev2, NULL, &err), 0);
	assert_true(rev2 > rev);
	vf_etcd_close(c);
	vf_test_etcd_stop(&three);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base64_round_trip),
		cmocka_unit_test(test_bad_endpoints_are_usage_errors),
		cmocka_unit_test(test_unreachable_endpoint_is_named_and_bounded),
		cmocka_unit_test(test_dead_endpoint_is_skipped),
		cmocka_unit_test(test_etcd_error_names_endpoint),
		cmocka_unit_test(test_lease_keepalive_and_revoke),
		cmocka_unit_test(test_expired_lease_frees_its_key),
		cmocka_unit_test(test_take_only_if_absent),
		cmocka_unit_test(test_release_only_if_still_ours),
		cmocka_unit_test(test_lock_driver_singleton),
		cmocka_unit_test(test_lock_driver_names_the_other_host_and_waits),
		cmocka_unit_test(test_lock_driver_stop_frees_every_key),
		cmocka_unit_test(test_cluster_lock_survives_leader_kill),
		cmocka_unit_test(test_cluster_expiry_never_early_across_leader_change),
	};
	return cmocka_run_group_tests(tests, start_one, stop_one);
}
