/* test_fleet.c: the fleet's parts together, end to end, with the real
 * things: a real etcd, the etcd lock driver, the host lease state machine
 * and the fence helper, run by a forked "virtform" the way the watch
 * daemon does (keepalive every TTL/3, each acknowledged deadline fed to
 * the helper), guarding a `sleep` standing in for QEMU. The property: when
 * that virtform stops (SIGSTOP) or loses etcd, its QEMU is dead before
 * etcd frees the lock for another host. Also the daemon's own fleet
 * module (controller/watch/fleet.c), two hosts in this process against
 * one etcd, and the libvirt driver's fleet ops on test:///default. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "controller/core/hostlease.h"
#include "controller/watch/fleet.h"
#include "drivers/driver.h"
#include "drivers/etcd/kv.h"
#include "drivers/fence/client.h"
#include "harness/etcd.h"
#include "harness/harness.h"

#define TTL_S 2u
#define MARGIN_MS 500u

static vf_test_etcd etcd;

static int stop_etcd(void **state)
{
	vf_test_etcd_stop(&etcd);
	return 0;
}

static pid_t test_pid;       /* the prefix is the test's, not host-a's own pid */

static char *prefix(void)
{
	if (!test_pid)
		test_pid = getpid();
	return vf_asprintf("/vf-fleet/%ld", (long)test_pid);
}

/* The "virtform" of host-a: hold domain/web, guard qemu, renew forever.
 * Reports "ready" on `report` once the helper has its first deadline. */
static void virtform_host_a(const char *endpoints, pid_t qemu, int report)
{
	_cleanup_free_ char *pfx = prefix();
	vf_etcd_lock_config cfg = { .endpoints = endpoints, .host_id = "host-a", .prefix = pfx,
				    .ttl_s = TTL_S, .request_ms = 300 };
	vf_error err = { 0 };
	vf_hostlease hl;
	uint64_t sent = vf_etcd_now_ms();   /* before the grant is sent */
	if (vf_etcd_lock_start(&cfg, &err) < 0 ||
	    vf_hostlease_begin(&hl, TTL_S * 1000u, MARGIN_MS, sent, &err) < 0)
		_exit(10);
	if (vf_hostlease_granted(&hl, sent, TTL_S * 1000u, vf_etcd_now_ms()) != VF_HOSTLEASE_HELD)
		_exit(11);
	vf_lock_token *tok = NULL;
	if (vf_etcd_lock_driver.lock(VF_LOCK_SINGLETON, "domain/web", 0, &tok, NULL, &err) < 0)
		_exit(12);
	vf_fence_opts fo = { .margin_ms = MARGIN_MS, .grace_ms = 200 };
	vf_fence_client fc;
	if (vf_fence_spawn(VF_FENCE_BIN, &fo, &fc, &err) < 0 ||
	    vf_fence_set_deadline(&fc, hl.deadline_ms, &err) < 0 || vf_fence_guard(&fc, qemu, &err) < 0)
		_exit(13);
	if (write(report, "ready\n", 6) != 6)
		_exit(14);
	for (;;) {
		uint64_t now = vf_etcd_now_ms(), due = vf_hostlease_next_renew_ms(&hl);
		if (due > now)
			usleep((useconds_t)(due - now) * 1000);
		vf_hostlease_renew_sent(&hl, vf_etcd_now_ms());
		int64_t ttl = 0;
		uint64_t ka_sent = 0;
		vf_error e = { 0 };
		bool renewed = vf_etcd_lock_keepalive(&ttl, &ka_sent, &e) == 0;
		if (renewed)
			vf_hostlease_renewed(&hl, ka_sent, (uint64_t)ttl * 1000u, vf_etcd_now_ms());
		else
			vf_hostlease_renew_failed(&hl, vf_etcd_now_ms());
		vf_error_clear(&e);
		if (hl.state == VF_HOSTLEASE_EXPIRED)
			_exit(0);   /* the helper fences; a daemon would stop starting domains */
		/* Only an acknowledged renewal moves the helper's deadline: after a
		 * failed one the old deadline stands, and the helper, which may
		 * have fenced and left already, is not written to. */
		if (renewed && hl.state == VF_HOSTLEASE_HELD &&
		    vf_fence_set_deadline(&fc, hl.deadline_ms, &e) < 0)
			_exit(15);
		vf_error_clear(&e);
	}
}

static pid_t start_host_a(pid_t qemu)
{
	int p[2];
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);   /* not inherited by the helper */
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		virtform_host_a(etcd.endpoints, qemu, p[1]);
		_exit(1);
	}
	close(p[1]);
	char buf[8] = "";
	struct pollfd pf = { .fd = p[0], .events = POLLIN };
	ssize_t n = poll(&pf, 1, 10000) == 1 ? read(p[0], buf, 6) : -1;
	close(p[0]);
	if (n != 6) {
		int status = 0;
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		fail_msg("host-a did not get ready (exit status %d)",
			 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	}
	assert_string_equal(buf, "ready\n");
	return pid;
}

/* When did qemu die (reaped, by SIGKILL) and when did etcd free the lock,
 * polling both every 10 ms for up to 10 s. */
static void watch_both(pid_t qemu, const char *key, uint64_t *ret_dead, uint64_t *ret_freed,
		       bool etcd_alive)
{
	vf_etcd *c = NULL;
	vf_etcd_opts o = { .connect_ms = 200, .request_ms = 300 };
	assert_int_equal(vf_etcd_open(etcd.endpoints, &o, &c, NULL), 0);
	*ret_dead = *ret_freed = 0;
	uint64_t t0 = vf_etcd_now_ms();
	while ((!*ret_dead || (etcd_alive && !*ret_freed)) && vf_etcd_now_ms() - t0 < 10000) {
		int status;
		if (!*ret_dead && waitpid(qemu, &status, WNOHANG) == qemu) {
			assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
			*ret_dead = vf_etcd_now_ms();
		}
		if (etcd_alive && !*ret_freed) {
			vf_etcd_kv kv = { 0 };
			vf_error e = { 0 };
			if (vf_etcd_get(c, key, &kv, &e) == 0 && !kv.present)
				*ret_freed = vf_etcd_now_ms();
			vf_etcd_kv_clear(&kv);
			vf_error_clear(&e);
		}
		usleep(10 * 1000);
	}
	vf_etcd_close(c);
	assert_true(*ret_dead != 0);
}

static void test_stopped_virtform_is_fenced_before_the_lock_moves(void **state)
{
	vf_test_etcd_stop(&etcd);   /* an earlier failed test may have left one */
	vf_test_etcd_start(&etcd, 1);
	_cleanup_free_ char *pfx = prefix();
	pid_t qemu = vf_test_spawn_sleep();
	pid_t host_a = start_host_a(qemu);
	_cleanup_free_ char *key = vf_asprintf("%s/lock/domain/web", pfx);
	/* Renewals keep it alive well past one TTL. */
	usleep(3 * TTL_S * 1000 * 1000);
	int status;
	assert_int_equal(waitpid(qemu, &status, WNOHANG), 0);
	kill(host_a, SIGSTOP);
	uint64_t stopped = vf_etcd_now_ms(), dead, freed;
	watch_both(qemu, key, &dead, &freed, true);
	assert_true(freed != 0);
	print_message("virtform stopped: QEMU killed %llu ms later, etcd freed its lock %llu ms later\n",
		      (unsigned long long)(dead - stopped), (unsigned long long)(freed - stopped));
	assert_true(dead < freed);   /* dead before another host could take it */
	assert_true(dead - stopped <= TTL_S * 1000u - MARGIN_MS + 100);
	/* The lock moves: another host takes it, with a higher token. */
	vf_etcd *c = NULL;
	assert_int_equal(vf_etcd_open(etcd.endpoints, NULL, &c, NULL), 0);
	int64_t lease = 0, rev = 0;
	vf_error err = { 0 };
	assert_int_equal(vf_etcd_lease_grant(c, 5, &lease, NULL, &err), 0);
	assert_int_equal(vf_etcd_take(c, key, "{\"host\":\"host-b\"}", lease, &rev, NULL, &err), 0);
	vf_etcd_close(c);
	kill(host_a, SIGKILL);
	waitpid(host_a, NULL, 0);
	vf_test_etcd_stop(&etcd);
}

static void test_virtform_cut_from_etcd_is_fenced_in_time(void **state)
{
	vf_test_etcd_stop(&etcd);   /* an earlier failed test may have left one */
	vf_test_etcd_start(&etcd, 1);
	pid_t qemu = vf_test_spawn_sleep();
	pid_t host_a = start_host_a(qemu);
	usleep(TTL_S * 1000 * 1000);
	/* etcd goes (as it would behind a cut link): keepalives fail, the
	 * deadline stands, the helper kills. */
	vf_test_etcd_kill(&etcd, 0);
	uint64_t cut = vf_etcd_now_ms(), dead, freed;
	watch_both(qemu, "", &dead, &freed, false);
	print_message("etcd gone: QEMU killed %llu ms later (TTL %u s, margin %u ms)\n",
		      (unsigned long long)(dead - cut), TTL_S, MARGIN_MS);
	/* The last acknowledged send was at most TTL/3 before the cut. */
	assert_true(dead - cut <= TTL_S * 1000u - MARGIN_MS + 100);
	assert_true(dead - cut + TTL_S * 1000u / 3 + 100 >= TTL_S * 1000u - MARGIN_MS);
	int status;
	assert_int_equal(waitpid(host_a, &status, 0), host_a);   /* it saw EXPIRED and left */
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("host-a did not leave on EXPIRED: %s %d", WIFEXITED(status) ? "exit" : "signal",
			 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	vf_test_etcd_stop(&etcd);
}

/* ---- the libvirt driver's fleet ops, on test:///default -------------------- */

static vf_obs_domain *observe_test_domain(const vf_backend *be, vf_conn *conn, vf_observed *o)
{
	vf_error err = { 0 };
	assert_int_equal(be->hv->observe(conn, o, &err), 0);
	vf_obs_domain *d = vf_observed_domain(o, "test");
	assert_non_null(d);
	return d;
}

static void test_driver_fence_metadata_destroy_and_pid(void **state)
{
	const vf_backend *be = vf_backend_for_uri("test:///default");
	vf_conn *conn = NULL;
	vf_error err = { 0 };
	assert_int_equal(be->hv->open("test:///default", NULL, &conn, &err), 0);
	vf_observed o = { 0 };
	vf_obs_domain *d = observe_test_domain(be, conn, &o);
	assert_null(d->fence_host);
	assert_int_equal(d->fence_token, 0);
	assert_int_equal(d->state, VF_RUN_RUNNING);
	vf_observed_free(&o);

	/* The token goes into the metadata and reads back; a later start's
	 * token replaces it. */
	assert_int_equal(be->hv->domain_set_fence(conn, "test", "h1", 41, &err), 0);
	assert_int_equal(be->hv->domain_set_fence(conn, "test", "h2", 57, &err), 0);
	d = observe_test_domain(be, conn, &o);
	assert_non_null(d->fence_host);
	assert_string_equal(d->fence_host, "h2");
	assert_int_equal(d->fence_token, 57);
	vf_observed_free(&o);

	/* The pid is local-only: a clear error elsewhere. */
	int pid = 0;
	unsigned long long st = 0;
	assert_true(be->hv->domain_pid(conn, "test", &pid, &st, &err) < 0);
	assert_non_null(strstr(err.message, "qemu:///system only"));
	vf_error_clear(&err);

	/* Destroy: off at once; destroying it again is not an error. */
	assert_int_equal(be->hv->domain_destroy(conn, "test", &err), 0);
	d = observe_test_domain(be, conn, &o);
	assert_int_equal(d->state, VF_RUN_SHUTOFF);
	assert_int_equal(d->fence_token, 57);   /* persistent: survives the stop */
	vf_observed_free(&o);
	assert_int_equal(be->hv->domain_destroy(conn, "test", &err), 0);
	be->hv->close(conn);
}

/* ---- the daemon's fleet module (controller/watch/fleet.c), real etcd ---------------- */

/* A manifest set of one placed domain, `web`, on any host. */
static void placed_set(vf_desired *d, const char *name)
{
	d->objs = vf_calloc(1, sizeof(vf_object));
	d->n = d->cap = 1;
	d->objs[0].kind = VF_KIND_DOMAIN;
	d->objs[0].name = vf_strdup(name);
	d->objs[0].u.domain.placed = true;
}

static vf_fleet *start_host(const char *id, const char *pfx, int wake_fd)
{
	vf_fleet_opts o = { .host_id = id, .endpoints = etcd.endpoints, .prefix = pfx,
			    .ttl_ms = TTL_S * 1000u, .labels = "rack=r1", .fence_helper = VF_FENCE_BIN,
			    .wake_fd = wake_fd };
	vf_fleet *f = NULL;
	vf_error err = { 0 };
	if (vf_fleet_start(&o, &f, &err) < 0)
		fail_msg("vf_fleet_start(%s): %s", id, err.message);
	return f;
}

static bool view_holds(const vf_fleet_view *v, const char *name)
{
	for (size_t i = 0; i < v->n_held; i++)
		if (strcmp(v->held[i], name) == 0)
			return true;
	return false;
}

static const char *view_holder(const vf_fleet_view *v, const char *name)
{
	for (size_t i = 0; i < v->n_holders; i++)
		if (strcmp(v->holders[i].key, name) == 0)
			return v->holders[i].value;
	return NULL;
}

/* Wait (up to ms) until the fleet's threads ask for a pass. */
static bool wait_wake(vf_fleet *f, unsigned ms, const char **why)
{
	for (unsigned t = 0; t < ms; t += 20) {
		if (vf_fleet_take_wake(f, why))
			return true;
		usleep(20 * 1000);
	}
	return false;
}

/* Passes (pass_begin only) every 20 ms, up to 3 s, until web is held
 * here (held) or its holder is known and elsewhere (!held). */
static void pass_until(vf_fleet *f, const vf_desired *d, const vf_backend *be, vf_conn *conn,
		       const vf_fleet_view **v, const vf_fleet_hooks **k, bool held)
{
	for (int i = 0; i < 150; i++) {
		vf_fleet_pass_begin(f, d, be, conn, v, k);
		if (held ? view_holds(*v, "web") : view_holder(*v, "web") != NULL)
			return;
		usleep(20 * 1000);
	}
}

/* Wait (up to ms) until f's poll has seen n live hosts. */
static bool wait_hosts(vf_fleet *f, size_t n, unsigned ms)
{
	for (unsigned t = 0; t < ms; t += 20) {
		json_object *st = vf_fleet_status_json(f), *hosts = NULL;
		bool ok = json_object_object_get_ex(st, "hosts", &hosts) &&
			  json_object_array_length(hosts) == n;
		json_object_put(st);
		if (ok)
			return true;
		usleep(20 * 1000);
	}
	return false;
}

static void test_daemon_one_host_holds_a_placed_domain_and_it_fails_over(void **state)
{
	vf_test_etcd_stop(&etcd);
	vf_test_etcd_start(&etcd, 1);
	_cleanup_free_ char *pfx = prefix();
	const vf_backend *be = vf_backend_for_uri("test:///default");
	vf_conn *conn = NULL;
	vf_error err = { 0 };
	assert_int_equal(be->hv->open("test:///default", NULL, &conn, &err), 0);
	vf_desired d = { 0 };
	placed_set(&d, "web");
	int p[2];
	assert_int_equal(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
	vf_fleet *h2 = start_host("h2", pfx, p[1]);
	vf_fleet *h1 = start_host("h1", pfx, p[1]);
	const char *why = NULL;
	/* h2's poll sees h1 arrive. */
	assert_true(wait_hosts(h2, 2, 3000));

	/* Both place it on h1 (fewest placed domains, then the smaller id);
	 * only h1 takes it. */
	const vf_fleet_view *v1, *v2;
	const vf_fleet_hooks *k1, *k2;
	vf_fleet_pass_begin(h2, &d, be, conn, &v2, &k2);
	assert_false(view_holds(v2, "web"));
	vf_fleet_pass_begin(h1, &d, be, conn, &v1, &k1);
	assert_true(view_holds(v1, "web"));
	assert_string_equal(v1->host_id, "h1");
	assert_string_equal(view_holder(v1, "web"), "h1");
	uint64_t t1 = 0, t2 = 0;
	assert_int_equal(k1->may_start(k1->userdata, "web", &t1, &err), 0);
	assert_true(t1 > 0);
	assert_true(k2->may_start(k2->userdata, "web", &t2, &err) < 0);
	assert_int_equal(err.code, VF_E_LOCKED);
	assert_non_null(strstr(err.message, "does not hold the lease of Domain/web"));
	vf_error_clear(&err);
	/* h2 sees h1 as the holder once its poll has read the lock (the poll
	 * wakes it: one TTL/4 at most). */
	assert_true(wait_wake(h2, 2000, &why));
	pass_until(h2, &d, be, conn, &v2, &k2, false);
	assert_false(view_holds(v2, "web"));
	assert_non_null(view_holder(v2, "web"));
	assert_string_equal(view_holder(v2, "web"), "h1");

	/* A shared volume: claimed by the holder; the other host is refused,
	 * naming the claimer. */
	assert_int_equal(k1->claim_volume(k1->userdata, "shared", "web.qcow2", "web", &err), 0);
	assert_int_equal(k1->volume_created(k1->userdata, "shared", "web.qcow2", &err), 0);
	assert_true(k2->claim_volume(k2->userdata, "shared", "web.qcow2", "web", &err) < 0);
	vf_error_clear(&err);
	vf_fleet_pass_begin(h2, &d, be, conn, &v2, &k2);
	assert_int_equal(v2->n_volumes, 1);
	assert_string_equal(v2->volumes[0].host, "h1");
	assert_string_equal(v2->volumes[0].domain, "web");
	assert_true(v2->volumes[0].created);

	/* A placed domain this host cannot guard (test:/// names no process)
	 * is not allowed to run: the started hook refuses it (apply then
	 * forces it off: test_apply's test_placed_start_*). */
	assert_true(k1->started(k1->userdata, "test", &err) < 0);
	assert_non_null(strstr(err.message, "could not be guarded"));
	vf_error_clear(&err);

	/* h1's lease is revoked behind its back (as an expiry looks): it
	 * stops acting for web at once, re-joins with a new lease, and the
	 * lock comes back with a larger fencing token. */
	json_object *st = vf_fleet_status_json(h1);
	json_object *lease = NULL, *id = NULL;
	assert_true(json_object_object_get_ex(st, "lease", &lease));
	assert_true(json_object_object_get_ex(lease, "id", &id));
	int64_t old = (int64_t)strtoull(json_object_get_string(id), NULL, 16);
	json_object_put(st);
	vf_etcd *c = NULL;
	assert_int_equal(vf_etcd_open(etcd.endpoints, NULL, &c, NULL), 0);
	assert_int_equal(vf_etcd_lease_revoke(c, old, &err), 0);
	bool lost = false;
	for (int i = 0; i < 100 && !lost; i++) {
		usleep(20 * 1000);
		lost = k1->may_start(k1->userdata, "web", &t2, &err) < 0;
		if (lost)
			assert_non_null(strstr(err.message, "lost"));
		vf_error_clear(&err);
	}
	assert_true(lost);
	pass_until(h1, &d, be, conn, &v1, &k1, true);   /* re-joined */
	assert_true(view_holds(v1, "web"));
	assert_int_equal(k1->may_start(k1->userdata, "web", &t2, &err), 0);
	assert_true(t2 > t1);
	print_message("lease revoked: h1 re-joined and took web again, token %llu -> %llu\n",
		      (unsigned long long)t1, (unsigned long long)t2);

	/* h1 leaves (nothing runs there: it revokes): h2 is woken and takes
	 * web, with a larger token still. */
	vf_fleet_stop(h1);
	uint64_t left = vf_etcd_now_ms();
	assert_true(wait_wake(h2, 3000, &why));
	pass_until(h2, &d, be, conn, &v2, &k2, true);
	assert_true(view_holds(v2, "web"));
	uint64_t t3 = 0;
	assert_int_equal(k2->may_start(k2->userdata, "web", &t3, &err), 0);
	assert_true(t3 > t2);
	print_message("h1 left: h2 holds web %llu ms later (token %llu)\n",
		      (unsigned long long)(vf_etcd_now_ms() - left), (unsigned long long)t3);

	/* Still declared and eligible, not running here: h2 keeps the lock.
	 * No longer declared (and not running here): h2 releases it. */
	_cleanup_free_ char *key = vf_asprintf("%s/lock/domain/web", pfx);
	vf_etcd_kv kv = { 0 };
	vf_fleet_pass_end(h2, &d, be, conn);
	assert_int_equal(vf_etcd_get(c, key, &kv, &err), 0);
	assert_true(kv.present);
	vf_etcd_kv_clear(&kv);
	vf_desired none = { 0 };
	vf_fleet_pass_end(h2, &none, be, conn);
	assert_int_equal(vf_etcd_get(c, key, &kv, &err), 0);
	assert_false(kv.present);
	vf_etcd_kv_clear(&kv);
	vf_fleet_stop(h2);
	vf_etcd_close(c);
	vf_desired_free(&d);
	close(p[0]);
	close(p[1]);
	be->hv->close(conn);
	vf_test_etcd_stop(&etcd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_driver_fence_metadata_destroy_and_pid),
		cmocka_unit_test(test_daemon_one_host_holds_a_placed_domain_and_it_fails_over),
		cmocka_unit_test(test_stopped_virtform_is_fenced_before_the_lock_moves),
		cmocka_unit_test(test_virtform_cut_from_etcd_is_fenced_in_time),
	};
	return cmocka_run_group_tests(tests, NULL, stop_etcd);
}
