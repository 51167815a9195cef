/* test_watch.c: the watch daemon's parts, each as a user would notice it:
 * bursts of file events fold into one reconcile, a failing object backs off
 * (1 s doubling, capped) while the others' steps still run, editor
 * temporaries are ignored, the tree watcher follows new directories and a
 * swapped symlink, a libvirt lifecycle event from test:///default reaches
 * the loop's descriptor, and the status socket answers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <libvirt/libvirt.h>
#include <poll.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <pthread.h>
#include <signal.h>

#include "controller/watch/watch.h"
#include "controller/watch/config.h"
#include "controller/watch/status.h"
#include "controller/watch/tree_watch.h"
#include "controller/watch/watch_sched.h"
#include "controller/watch/watch_serve.h"
#include "drivers/driver.h"

/* Generous: these are upper bounds on waiting, never speed assertions. */
#define WAIT_MS 60000

static bool wait_readable(int fd, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	return poll(&p, 1, timeout_ms) == 1;
}

/* ---- debounce -------------------------------------------------------------- */

static void test_debounce_folds_a_burst(void **state)
{
	(void)state;
	vf_debounce d = { 0 };
	assert_false(vf_debounce_due(&d, 0));
	/* 50 files touched 10 ms apart, as a git pull does. */
	for (unsigned i = 0; i < 50; i++) {
		vf_debounce_poke(&d, 1000 + i * 10, 250);
		assert_false(vf_debounce_due(&d, 1000 + i * 10));
	}
	assert_false(vf_debounce_due(&d, 1490 + 249));
	assert_true(vf_debounce_due(&d, 1490 + 250));
	assert_int_equal(vf_debounce_fire(&d), 50);
	assert_false(vf_debounce_due(&d, 100000));
}

static void test_debounce_is_not_starved(void **state)
{
	(void)state;
	vf_debounce d = { 0 };
	/* A write every 100 ms forever: fires at most 2 s after the first. */
	uint64_t t = 0;
	while (!vf_debounce_due(&d, t)) {
		vf_debounce_poke(&d, t, 250);
		t += 100;
		assert_true(t <= 2100);
	}
	assert_true(t >= 2000);
}

/* ---- backoff ---------------------------------------------------------------- */

static void test_backoff_doubles_and_caps(void **state)
{
	(void)state;
	assert_int_equal(vf_backoff_delay(1, 1000, 300000), 1000);
	assert_int_equal(vf_backoff_delay(2, 1000, 300000), 2000);
	assert_int_equal(vf_backoff_delay(3, 1000, 300000), 4000);
	assert_int_equal(vf_backoff_delay(9, 1000, 300000), 256000);
	assert_int_equal(vf_backoff_delay(10, 1000, 300000), 300000);
	assert_int_equal(vf_backoff_delay(1000, 1000, 300000), 300000);

	vf_backoff b = { .base_ms = 1000, .max_ms = 5000 };
	const vf_backoff_entry *e = vf_backoff_fail(&b, "Domain/db", 10000, "boom");
	assert_int_equal(e->failures, 1);
	assert_int_equal(e->next_ms, 11000);
	assert_true(vf_backoff_waiting(&b, "Domain/db", 10999));
	assert_false(vf_backoff_waiting(&b, "Domain/db", 11000));
	assert_false(vf_backoff_waiting(&b, "Domain/web", 10000));
	e = vf_backoff_fail(&b, "Domain/db", 11000, "boom again");
	assert_int_equal(e->next_ms, 13000);
	assert_string_equal(e->error, "boom again");
	for (int i = 0; i < 5; i++)
		e = vf_backoff_fail(&b, "Domain/db", 20000, "still");
	assert_int_equal(e->next_ms, 25000); /* capped at 5 s */
	vf_backoff_fail(&b, "StoragePool/p", 20000, "x");
	assert_int_equal(vf_backoff_next_due(&b, 20000), 21000);
	/* The pool's retry comes due at 21 s while the domain still waits. */
	assert_false(vf_backoff_due_between(&b, 20000, 20999));
	assert_true(vf_backoff_due_between(&b, 20000, 21000));
	assert_false(vf_backoff_due_between(&b, 21000, 24999)); /* retried at 21 s already */
	assert_true(vf_backoff_clear(&b, "StoragePool/p"));
	assert_false(vf_backoff_clear(&b, "StoragePool/p"));
	assert_int_equal(vf_backoff_next_due(&b, 20000), 25000);
	assert_int_equal(vf_backoff_next_due(&b, 25000), 0);
	vf_backoff_free(&b);
}

static vf_step mk_step(vf_action a, vf_kind k, const char *pool, const char *name)
{
	vf_step s = { .action = a, .kind = k, .pool = vf_strdup(pool), .name = vf_strdup(name) };
	return s;
}

static void free_steps(vf_plan *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free(p->steps[i].pool);
		free(p->steps[i].name);
	}
	free(p->steps);
	memset(p, 0, sizeof(*p));
}

static void test_backed_off_object_is_held_out_of_the_plan(void **state)
{
	(void)state;
	vf_plan plan = { 0 };
	VF_APPEND(plan.steps, plan.n, plan.cap, mk_step(VF_ACT_CREATE, VF_KIND_POOL, NULL, "p"));
	VF_APPEND(plan.steps, plan.n, plan.cap, mk_step(VF_ACT_CREATE, VF_KIND_VOLUME, "p", "d"));
	VF_APPEND(plan.steps, plan.n, plan.cap, mk_step(VF_ACT_UPDATE, VF_KIND_DOMAIN, NULL, "db"));
	VF_APPEND(plan.steps, plan.n, plan.cap, mk_step(VF_ACT_CREATE, VF_KIND_DOMAIN, NULL, "web"));
	vf_backoff b = { .base_ms = 1000, .max_ms = 300000 };
	vf_backoff_fail(&b, "Domain/db", 0, "cannot start");
	vf_backoff_fail(&b, "Volume/p/d", 0, "no space");

	vf_plan held = { 0 };
	assert_int_equal(vf_plan_hold_back(&plan, &b, 500, &held), 2);
	assert_int_equal(plan.n, 2);
	assert_string_equal(plan.steps[0].name, "p");
	assert_string_equal(plan.steps[1].name, "web");
	assert_int_equal(plan.counts[VF_ACT_CREATE], 2);
	assert_int_equal(plan.counts[VF_ACT_UPDATE], 0);
	assert_int_equal(held.n, 2);
	assert_string_equal(held.steps[0].name, "d");
	assert_string_equal(held.steps[1].name, "db");
	assert_int_equal(held.counts[VF_ACT_UPDATE], 1);

	/* Once its time comes, the object's steps are back in. */
	vf_plan held2 = { 0 };
	VF_APPEND(plan.steps, plan.n, plan.cap, mk_step(VF_ACT_UPDATE, VF_KIND_DOMAIN, NULL, "db"));
	assert_int_equal(vf_plan_hold_back(&plan, &b, 1000, &held2), 0);
	assert_int_equal(plan.n, 3);
	free_steps(&plan);
	free_steps(&held);
	free_steps(&held2);
	vf_backoff_free(&b);
}

static void test_editor_temporaries_are_ignored(void **state)
{
	(void)state;
	assert_true(vf_watch_name_relevant("web.yaml", false));
	assert_true(vf_watch_name_relevant("db.yml", false));
	assert_true(vf_watch_name_relevant("prod", true));
	assert_false(vf_watch_name_relevant(".#web.yaml", false));
	assert_false(vf_watch_name_relevant("web.yaml~", false));
	assert_false(vf_watch_name_relevant("#web.yaml#", false));
	assert_false(vf_watch_name_relevant(".web.yaml.swp", false));
	assert_false(vf_watch_name_relevant(".hidden.yaml", false));
	assert_false(vf_watch_name_relevant("4913", false)); /* vim's probe file */
	assert_false(vf_watch_name_relevant("README.md", false));
	assert_false(vf_watch_name_relevant(".git", true));
}

/* ---- the tree watcher ------------------------------------------------------ */

static char *make_tmpdir(void)
{
	char tmpl[] = "/tmp/vf-watch-XXXXXX";
	char *d = mkdtemp(tmpl);
	assert_non_null(d);
	return vf_strdup(d);
}

static void rm_rf(const char *path)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return;
	if (S_ISDIR(st.st_mode)) {
		DIR *d = opendir(path);
		struct dirent *e;
		while (d && (e = readdir(d))) {
			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
				continue;
			_cleanup_free_ char *p = vf_asprintf("%s/%s", path, e->d_name);
			rm_rf(p);
		}
		if (d)
			closedir(d);
		rmdir(path);
	} else {
		unlink(path);
	}
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* Wait for a change and return it; fails the test after WAIT_MS. */
static void expect_change(vf_tree_watch *w, const char *path_suffix, vf_tree_changes *out)
{
	uint64_t until = vf_now_ms() + WAIT_MS;
	memset(out, 0, sizeof(*out));
	for (;;) {
		uint64_t now = vf_now_ms();
		if (now >= until)
			fail_msg("no change reported for %s", path_suffix);
		if (!wait_readable(vf_tree_watch_fd(w), (int)(until - now)))
			continue;
		vf_tree_changes c;
		vf_tree_watch_take(w, &c);
		bool match = c.events && c.last_path && strlen(c.last_path) >= strlen(path_suffix) &&
			strcmp(c.last_path + strlen(c.last_path) - strlen(path_suffix), path_suffix) == 0;
		out->root_swapped |= c.root_swapped;
		out->events += c.events;
		if (match) {
			free(out->last_path);
			out->last_path = TAKE_PTR(c.last_path);
			vf_tree_changes_clear(&c);
			return;
		}
		vf_tree_changes_clear(&c);
	}
}

static void test_tree_watch_follows_files_and_new_dirs(void **state)
{
	(void)state;
	_cleanup_free_ char *dir = make_tmpdir();
	vf_tree_watch *w = NULL;
	vf_error err = { 0 };
	assert_int_equal(vf_tree_watch_start(dir, &w, &err), 0);

	/* Temporaries first: they must not be what wakes the loop. */
	_cleanup_free_ char *swp = vf_asprintf("%s/.web.yaml.swp", dir);
	_cleanup_free_ char *bak = vf_asprintf("%s/web.yaml~", dir);
	write_file(swp, "x");
	write_file(bak, "x");
	assert_false(wait_readable(vf_tree_watch_fd(w), 300));

	_cleanup_free_ char *web = vf_asprintf("%s/web.yaml", dir);
	write_file(web, "kind: Domain\n");
	vf_tree_changes c;
	expect_change(w, "/web.yaml", &c);
	assert_false(c.root_swapped);
	vf_tree_changes_clear(&c);

	_cleanup_free_ char *sub = vf_asprintf("%s/prod", dir);
	assert_int_equal(mkdir(sub, 0755), 0);
	expect_change(w, "/prod", &c);
	vf_tree_changes_clear(&c);
	_cleanup_free_ char *db = vf_asprintf("%s/db.yaml", sub);
	write_file(db, "kind: Domain\n");
	expect_change(w, "/prod/db.yaml", &c);
	vf_tree_changes_clear(&c);

	assert_int_equal(unlink(web), 0);
	expect_change(w, "/web.yaml", &c);
	vf_tree_changes_clear(&c);

	vf_tree_watch_stop(w);
	rm_rf(dir);
}

static void test_tree_watch_follows_a_swapped_symlink(void **state)
{
	(void)state;
	_cleanup_free_ char *top = make_tmpdir();
	_cleanup_free_ char *rev1 = vf_asprintf("%s/rev1", top);
	_cleanup_free_ char *rev2 = vf_asprintf("%s/rev2", top);
	_cleanup_free_ char *link = vf_asprintf("%s/current", top);
	_cleanup_free_ char *tmp = vf_asprintf("%s/current.tmp", top);
	assert_int_equal(mkdir(rev1, 0755), 0);
	assert_int_equal(mkdir(rev2, 0755), 0);
	assert_int_equal(symlink("rev1", link), 0);

	vf_tree_watch *w = NULL;
	vf_error err = { 0 };
	assert_int_equal(vf_tree_watch_start(link, &w, &err), 0);

	/* git-sync: ln -s rev2 tmp && mv -T tmp current */
	assert_int_equal(symlink("rev2", tmp), 0);
	assert_int_equal(rename(tmp, link), 0);
	vf_tree_changes c;
	expect_change(w, "/current", &c);
	assert_true(c.root_swapped);
	vf_tree_changes_clear(&c);

	/* The new target is watched, the old one no longer. */
	_cleanup_free_ char *old_file = vf_asprintf("%s/old.yaml", rev1);
	write_file(old_file, "x");
	assert_false(wait_readable(vf_tree_watch_fd(w), 300));
	_cleanup_free_ char *new_file = vf_asprintf("%s/new.yaml", rev2);
	write_file(new_file, "x");
	expect_change(w, "/rev2/new.yaml", &c);
	vf_tree_changes_clear(&c);

	vf_tree_watch_stop(w);
	rm_rf(top);
}

/* ---- libvirt events ---------------------------------------------------------- */

static void test_lifecycle_event_reaches_the_loop(void **state)
{
	(void)state;
	vf_error err = { 0 };
	/* The daemon finds its event source through the backend, as here. */
	const vf_event_driver *evd = vf_backend_for_uri("test:///default")->events;
	assert_non_null(evd);
	assert_int_equal(evd->loop_start(&err), 0);
	vf_event_source *ev = NULL;
	if (evd->open("test:///default", &ev, &err) < 0)
		fail_msg("%s", err.message);
	assert_true(evd->alive(ev));
	assert_false(evd->alive(NULL));

	/* Out of band: another connection to the same test driver destroys
	 * its running domain "test". */
	virConnectPtr other = virConnectOpen("test:///default");
	assert_non_null(other);
	virDomainPtr dom = virDomainLookupByName(other, "test");
	assert_non_null(dom);
	assert_int_equal(virDomainDestroy(dom), 0);

	vf_event_report rep = { 0 };
	uint64_t until = vf_now_ms() + WAIT_MS;
	while (!rep.last || !strstr(rep.last, "Domain/test stopped (destroyed)")) {
		uint64_t now = vf_now_ms();
		if (now >= until)
			fail_msg("no lifecycle event; last: %s", rep.last ? rep.last : "none");
		vf_event_report_clear(&rep);
		if (wait_readable(evd->fd(ev), (int)(until - now)))
			evd->take(ev, &rep);
	}
	assert_true(rep.domain_events >= 1);
	assert_false(rep.closed);
	vf_event_report_clear(&rep);

	/* Restore it for later tests, then let go. */
	assert_int_equal(virDomainCreate(dom), 0);
	virDomainFree(dom);
	virConnectClose(other);
	evd->close(ev);
	evd->loop_stop();
}

/* A network stopped out of band reaches the loop too (Network/NAME). */
static void test_network_event_reaches_the_loop(void **state)
{
	(void)state;
	vf_error err = { 0 };
	const vf_event_driver *evd = vf_backend_for_uri("test:///default")->events;
	assert_int_equal(evd->loop_start(&err), 0);
	vf_event_source *ev = NULL;
	if (evd->open("test:///default", &ev, &err) < 0)
		fail_msg("%s", err.message);
	virConnectPtr other = virConnectOpen("test:///default");
	assert_non_null(other);
	virNetworkPtr net = virNetworkLookupByName(other, "default");
	assert_non_null(net);
	assert_int_equal(virNetworkDestroy(net), 0);

	vf_event_report rep = { 0 };
	uint64_t until = vf_now_ms() + WAIT_MS;
	while (!rep.last || !strstr(rep.last, "Network/default stopped")) {
		uint64_t now = vf_now_ms();
		if (now >= until)
			fail_msg("no network event; last: %s", rep.last ? rep.last : "none");
		vf_event_report_clear(&rep);
		if (wait_readable(evd->fd(ev), (int)(until - now)))
			evd->take(ev, &rep);
	}
	assert_true(rep.network_events >= 1);
	vf_event_report_clear(&rep);
	assert_int_equal(virNetworkCreate(net), 0);
	virNetworkFree(net);
	virConnectClose(other);
	evd->close(ev);
	evd->loop_stop();
}

/* ---- status socket ------------------------------------------------------------ */

static json_object *answer(const char *command, bool privileged, void *userdata)
{
	int *calls = userdata;
	(*calls)++;
	if (strcmp(command, "reload") == 0 && !privileged)
		return vf_status_error_response("reload needs watch.sock");
	json_object *o = json_object_new_object();
	json_object_object_add(o, "ok", json_object_new_boolean(true));
	json_object_object_add(o, "command", json_object_new_string(command));
	json_object_object_add(o, "privileged", json_object_new_boolean(privileged));
	return o;
}

/* Serve exactly one request on a thread-free loop: the client connects
 * first (the backlog holds it), then the server answers. */
static json_object *round_trip(vf_status_server *s, const char *dir, const char *cmd, bool priv,
			       int *calls)
{
	/* The client blocks reading the answer, so serve from a child. */
	int fds[2];
	vf_status_server_fds(s, fds);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct pollfd p = { .fd = fds[priv ? 0 : 1], .events = POLLIN };
		if (poll(&p, 1, WAIT_MS) == 1)
			vf_status_server_serve(s, p.fd, answer, calls);
		_exit(0);
	}
	json_object *resp = NULL;
	vf_error err = { 0 };
	int r = vf_status_request(dir, cmd, priv, &resp, &err);
	int wst;
	waitpid(pid, &wst, 0);
	if (r < 0)
		fail_msg("%s", err.message);
	return resp;
}

static void test_status_sockets_answer_and_separate_privilege(void **state)
{
	(void)state;
	_cleanup_free_ char *dir = make_tmpdir();
	vf_error err = { 0 };
	json_object *resp = NULL;

	/* No daemon: the client says so. */
	assert_int_equal(vf_status_request(dir, "status", false, &resp, &err), -VF_E_IO);
	assert_non_null(strstr(err.message, "no virtform watch daemon is running"));
	vf_error_clear(&err);

	vf_status_server *s = NULL;
	assert_int_equal(vf_status_server_open(dir, NULL, &s, &err), 0);
	struct stat st;
	_cleanup_free_ char *rw = vf_asprintf("%s/watch.sock", dir);
	_cleanup_free_ char *ro = vf_asprintf("%s/watch-ro.sock", dir);
	assert_int_equal(stat(rw, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(stat(ro, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0660);

	int calls = 0;
	resp = round_trip(s, dir, "status", false, &calls);
	json_object *v;
	assert_true(json_object_object_get_ex(resp, "privileged", &v));
	assert_false(json_object_get_boolean(v));
	json_object_put(resp);

	resp = round_trip(s, dir, "reload", false, &calls);
	assert_true(json_object_object_get_ex(resp, "ok", &v));
	assert_false(json_object_get_boolean(v));
	json_object_put(resp);

	resp = round_trip(s, dir, "reload", true, &calls);
	assert_true(json_object_object_get_ex(resp, "ok", &v));
	assert_true(json_object_get_boolean(v));
	json_object_put(resp);

	vf_status_server_close(s);
	assert_int_equal(access(rw, F_OK), -1);
	assert_int_equal(access(ro, F_OK), -1);
	rm_rf(dir);
}

/* ---- one deadline per request ------------------------------------------------- */

typedef struct serve_loop {
	vf_status_server *s;
	volatile int stop;
	int calls;
} serve_loop;

static void *serve_loop_thread(void *arg)
{
	serve_loop *l = arg;
	int fds[2];
	vf_status_server_fds(l->s, fds);
	while (!l->stop) {
		struct pollfd p[2] = { { .fd = fds[0], .events = POLLIN }, { .fd = fds[1], .events = POLLIN } };
		if (poll(p, 2, 100) <= 0)
			continue;
		for (int i = 0; i < 2; i++)
			if (p[i].revents & POLLIN)
				vf_status_server_serve(l->s, p[i].fd, answer, &l->calls);
	}
	return NULL;
}

static int connect_unix(const char *path)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	strcpy(sa.sun_path, path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

typedef struct dribbler {
	int fd;
	uint64_t start_ms, dropped_ms; /* dropped_ms 0: never dropped */
} dribbler;

/* A byte every 500 ms, never a newline, for at most 10 s. */
static void *dribble_thread(void *arg)
{
	dribbler *d = arg;
	while (vf_now_ms() - d->start_ms < 10000) {
		if (send(d->fd, "{", 1, MSG_NOSIGNAL) != 1) {
			d->dropped_ms = vf_now_ms();
			break;
		}
		char c;
		if (recv(d->fd, &c, 1, MSG_DONTWAIT) == 0) {
			d->dropped_ms = vf_now_ms();
			break;
		}
		usleep(500 * 1000);
	}
	return NULL;
}

/* A client that dribbles one byte every half second (the old 1 s timeout
 * per recv never fired) neither holds the server nor gets an answer: it
 * is dropped at the request's 2 s deadline, and a client behind it is
 * answered within that. */
static void test_slow_client_is_dropped_at_the_request_deadline(void **state)
{
	(void)state;
	_cleanup_free_ char *dir = make_tmpdir();
	_cleanup_free_ char *ro = vf_asprintf("%s/watch-ro.sock", dir);
	vf_error err = { 0 };
	serve_loop l = { 0 };
	assert_int_equal(vf_status_server_open(dir, NULL, &l.s, &err), 0);
	pthread_t server, slow;
	assert_int_equal(pthread_create(&server, NULL, serve_loop_thread, &l), 0);

	dribbler d = { .fd = connect_unix(ro), .start_ms = vf_now_ms() };
	assert_int_equal(pthread_create(&slow, NULL, dribble_thread, &d), 0);
	usleep(300 * 1000); /* the server is now reading the slow client */

	uint64_t asked = vf_now_ms();
	int fast = connect_unix(ro);
	struct timeval tv = { .tv_sec = 6 };
	setsockopt(fast, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	const char req[] = "{\"command\": \"status\"}\n";
	assert_int_equal(send(fast, req, sizeof(req) - 1, MSG_NOSIGNAL), (ssize_t)sizeof(req) - 1);
	char buf[512] = { 0 };
	ssize_t n = recv(fast, buf, sizeof(buf) - 1, 0);
	uint64_t answered = vf_now_ms() - asked;
	close(fast);
	if (n <= 0)
		fail_msg("the client behind a slow one got no answer within 6 s");
	assert_non_null(strstr(buf, "\"command\":\"status\""));
	assert_true(answered < 3000);

	pthread_join(slow, NULL);
	close(d.fd);
	if (!d.dropped_ms)
		fail_msg("the slow client was never dropped");
	assert_true(d.dropped_ms - d.start_ms < 4000);
	assert_int_equal(l.calls, 1); /* it was never answered */
	l.stop = 1;
	pthread_join(server, NULL);
	vf_status_server_close(l.s);
	rm_rf(dir);
}

/* While the main loop is busy with a pass (this test, here), the serving
 * thread answers: the snapshot from the pass's start, what runs now, and
 * reload/reconcile queued for after the pass, waking the loop. */
static void test_status_answered_during_a_pass(void **state)
{
	(void)state;
	_cleanup_free_ char *dir = make_tmpdir();
	vf_error err = { 0 };
	vf_status_server *srv = NULL;
	assert_int_equal(vf_status_server_open(dir, NULL, &srv, &err), 0);
	int wake[2];
	assert_int_equal(pipe2(wake, O_CLOEXEC | O_NONBLOCK), 0);
	vf_watch_serve *s = NULL;
	assert_int_equal(vf_watch_serve_start(srv, wake[1], &s, &err), 0);

	vf_watch_serve_begin(s, json_tokener_parse("{\"pid\": 7, \"manifests\": \"/srv/m\", \"reconciling\": null}"),
			     "manifest change");
	vf_watch_serve_step(s, "Domain/web: create");
	json_object *resp = NULL, *st, *now, *v;
	assert_int_equal(vf_status_request(dir, "status", false, &resp, &err), 0);
	assert_true(json_object_object_get_ex(resp, "status", &st));
	assert_true(json_object_object_get_ex(st, "manifests", &v));
	assert_string_equal(json_object_get_string(v), "/srv/m");
	assert_true(json_object_object_get_ex(st, "reconciling", &now));
	assert_non_null(now);
	assert_true(json_object_object_get_ex(now, "trigger", &v));
	assert_string_equal(json_object_get_string(v), "manifest change");
	assert_true(json_object_object_get_ex(now, "step", &v));
	assert_string_equal(json_object_get_string(v), "Domain/web: create");
	_cleanup_free_ char *text = vf_status_format_text(st);
	assert_non_null(strstr(text, "Reconciling now: since "));
	assert_non_null(strstr(text, "after manifest change), at Domain/web: create;"));
	json_object_put(resp);

	/* Changing things still needs watch.sock. */
	assert_int_equal(vf_status_request(dir, "reconcile", false, &resp, &err), 0);
	assert_true(json_object_object_get_ex(resp, "ok", &v));
	assert_false(json_object_get_boolean(v));
	json_object_put(resp);
	bool want_pass, want_reload;
	vf_watch_serve_take(s, &want_pass, &want_reload);
	assert_false(want_pass);

	assert_int_equal(vf_status_request(dir, "reconcile", true, &resp, &err), 0);
	assert_true(json_object_object_get_ex(resp, "queued", &v));
	assert_true(json_object_get_boolean(v));
	json_object_put(resp);
	char c;
	assert_int_equal(read(wake[0], &c, 1), 1); /* the loop was woken */
	vf_watch_serve_take(s, &want_pass, &want_reload);
	assert_true(want_pass);
	assert_false(want_reload);
	vf_watch_serve_take(s, &want_pass, &want_reload);
	assert_false(want_pass); /* taken once */

	assert_int_equal(vf_status_request(dir, "reload", true, &resp, &err), 0);
	json_object_put(resp);
	vf_watch_serve_take(s, &want_pass, &want_reload);
	assert_true(want_reload);

	vf_watch_serve_end(s);
	vf_watch_serve_stop(s);
	vf_status_server_close(srv);
	close(wake[0]);
	close(wake[1]);
	rm_rf(dir);
}

static void test_status_text_names_errors_and_retries(void **state)
{
	(void)state;
	json_object *st = json_tokener_parse(
		"{\"pid\": 42, \"manifests\": \"/srv/m\", \"connect\": \"qemu:///system\","
		" \"connected\": true, \"manifests_state\": \"invalid\", \"enforcing\": \"last-good\","
		" \"desired_loaded\": \"2026-01-01T00:00:00Z\","
		" \"errors\": [{\"file\": \"/srv/m/web.yaml\", \"line\": 3, \"col\": 5,"
		"   \"message\": \"unknown field 'vcpu'\"},"
		"  {\"file\": \"/srv/m\", \"line\": 0, \"col\": 0,"
		"   \"message\": \"cannot read it\"}],"
		" \"last_reconcile\": {\"time\": \"2026-01-01T00:00:05Z\", \"seconds_ago\": 2,"
		"   \"trigger\": \"file change\", \"result\": \"converged\"},"
		" \"objects\": [{\"object\": \"Domain/web\", \"state\": \"converged\","
		"   \"file\": \"/srv/m/web.yaml\", \"line\": 1}],"
		" \"retrying\": [{\"object\": \"Domain/db\", \"failures\": 3,"
		"   \"next_attempt_in_seconds\": 4, \"error\": \"no such network\"}],"
		" \"next_resync_in_seconds\": 55}");
	assert_non_null(st);
	_cleanup_free_ char *text = vf_status_format_text(st);
	assert_non_null(strstr(text, "still enforcing the last good set"));
	assert_non_null(strstr(text, "/srv/m/web.yaml:3:5: error: unknown field 'vcpu'"));
	assert_non_null(strstr(text, "  /srv/m: error: cannot read it\n")); /* no made-up 0:0 */
	assert_non_null(strstr(text, "Domain/web"));
	assert_non_null(strstr(text, "failed 3 times, next attempt in 4s: no such network"));
	assert_non_null(strstr(text, "Next full resync in 55s."));
	json_object_put(st);
}

/* The fleet's settings: every key parses, flags add labels one by one,
 * and bad values are refused with a reason. */
static void test_fleet_settings(void **state)
{
	(void)state;
	vf_config c = { 0 };
	vf_error err = { 0 };
	assert_int_equal(vf_config_parse("t.conf",
					 "etcd = http://10.0.0.1:2379,http://10.0.0.2:2379\n"
					 "host_id = h1\netcd_prefix = /fleet\nlease_ttl = 2s\n"
					 "host_labels = rack=r1,ssd=yes\nfence_watchdog = /dev/watchdog\n"
					 "fence_watchdog_ms = 1000\nfence_helper = /usr/bin/virtform-fence\n",
					 &c, &err), 0);
	assert_string_equal(c.etcd, "http://10.0.0.1:2379,http://10.0.0.2:2379");
	assert_string_equal(c.host_id, "h1");
	assert_string_equal(c.etcd_prefix, "/fleet");
	assert_int_equal(c.lease_ttl_ms, 2000);
	assert_string_equal(c.host_labels, "rack=r1,ssd=yes");
	assert_int_equal(c.fence_watchdog_ms, 1000);
	vf_config flags = { 0 };
	assert_int_equal(vf_config_set(&flags, "host_label", "gpu=a100", &err), 0);
	assert_int_equal(vf_config_set(&flags, "host_label", "zone=b", &err), 0);
	vf_config_merge(&c, &flags);
	assert_string_equal(c.host_labels, "gpu=a100,zone=b");   /* flags win, as a whole */
	/* what hostLabels can ask for, --host-label can announce */
	vf_config ok = { 0 };
	assert_int_equal(vf_config_set(&ok, "host_labels", "example.com/rack=r1,ssd=,tier=gold_1.a", &err), 0);
	assert_int_equal(vf_config_set(&ok, "host_label", "zone=b", &err), 0);
	assert_string_equal(ok.host_labels, "example.com/rack=r1,ssd=,tier=gold_1.a,zone=b");
	assert_true(vf_config_set(&ok, "host_label", "zone=c", &err) < 0);   /* the same key twice */
	assert_non_null(strstr(err.message, "gives the label 'zone' twice"));
	vf_error_clear(&err);
	assert_string_equal(ok.host_labels, "example.com/rack=r1,ssd=,tier=gold_1.a,zone=b"); /* unchanged */
	vf_config_free(&ok);
	vf_config_free(&flags);
	vf_config_free(&c);

	vf_config d = { 0 };
	vf_config_defaults(&d);
	assert_int_equal(d.lease_ttl_ms, 10000);
	assert_int_equal(d.fence_watchdog_ms, 5000);
	assert_string_equal(d.etcd_prefix, "/virtform");
	assert_null(d.etcd);   /* no fleet unless asked */
	vf_config_free(&d);
	vf_config e = { .has_lease_ttl_ms = true, .lease_ttl_ms = 3000 };
	vf_config_defaults(&e);
	assert_int_equal(e.fence_watchdog_ms, 2000);   /* 2/3 of a short TTL */
	vf_config_free(&e);

	static const struct { const char *key, *value, *why; } bad[] = {
		{ "host_id", "a/b", "1 to 63 letters" },
		{ "host_id", "0123456789012345678901234567890123456789012345678901234567890123", "1 to 63" },
		{ "lease_ttl", "500ms", "at least 1000 ms" },
		{ "lease_ttl", "2500ms", "whole seconds" },
		{ "lease_ttl", "ten", "such as 10s" },
		{ "host_labels", "rack", "KEY=VALUE" },
		{ "host_labels", "a=b,=c", "KEY=VALUE" },
		/* the rules of spec.placement.hostLabels, not laxer ones */
		{ "host_labels", "rack=r/1", "as spec.placement.hostLabels takes them" },
		{ "host_labels", "-rack=r1", "as spec.placement.hostLabels takes them" },
		{ "host_labels", "rack=r1-", "as spec.placement.hostLabels takes them" },
		{ "host_labels", "Example.com/rack=r1", "as spec.placement.hostLabels takes them" },
		{ "host_labels", "a/b/c=d", "as spec.placement.hostLabels takes them" },
		{ "host_labels", "rack=r1,zone=a,rack=r2", "gives the label 'rack' twice" },
		{ "etcd_prefix", "fleet", "start with '/'" },
		{ "fence_watchdog_ms", "10", "from 1000" },
	};
	for (size_t i = 0; i < VF_ARRAY_SIZE(bad); i++) {
		vf_config b = { 0 };
		assert_true(vf_config_set(&b, bad[i].key, bad[i].value, &err) < 0);
		if (!strstr(err.message, bad[i].why))
			fail_msg("%s = %s: '%s' does not say '%s'", bad[i].key, bad[i].value, err.message,
				 bad[i].why);
		vf_error_clear(&err);
		vf_config_free(&b);
	}
}

static void test_status_text_shows_the_fleet(void **state)
{
	(void)state;
	json_object *st = json_tokener_parse(
		"{\"pid\": 42, \"manifests\": \"/srv/m\", \"connected\": true,"
		" \"manifests_state\": \"valid\", \"next_resync_in_seconds\": 5,"
		" \"fleet\": {\"host_id\": \"h1\", \"lease\": {\"id\": \"5bb9\", \"state\": \"held\","
		"   \"ttl_ms\": 2000, \"margin_ms\": 500, \"deadline_in_ms\": 1148, \"losses\": 1,"
		"   \"last_loss\": \"no keepalive was acknowledged before the fence deadline\"},"
		"  \"hosts\": [{\"id\": \"h1\", \"labels\": {\"rack\": \"r1\"}, \"lease_age_s\": 1},"
		"             {\"id\": \"h2\", \"labels\": {}, \"lease_age_s\": 0}],"
		"  \"domains\": [{\"domain\": \"web\", \"holder\": \"h2\", \"token\": 57, \"held_here\": false}]}}");
	assert_non_null(st);
	_cleanup_free_ char *text = vf_status_format_text(st);
	assert_non_null(strstr(text, "Fleet: host h1, lease 5bb9 held, fence deadline in 1148 ms (TTL 2000 ms, margin 500 ms; 1 lost so far)"));
	assert_non_null(strstr(text, "last lease lost: no keepalive was acknowledged"));
	assert_non_null(strstr(text, "Hosts alive: 2"));
	assert_non_null(strstr(text, "lease age 1s  labels rack=r1"));
	assert_non_null(strstr(text, "held by h2 (token 57)\n"));
	json_object_put(st);
	/* Without a fleet, no section. */
	st = json_tokener_parse("{\"pid\": 1, \"manifests_state\": \"valid\", \"fleet\": null}");
	_cleanup_free_ char *plain = vf_status_format_text(st);
	assert_null(strstr(plain, "Fleet"));
	json_object_put(st);
}

/* ---- the daemon as a whole, against test:///default ---------------------------
 * The daemon runs on a thread of this process, so it shares libvirt's
 * test:///default state with the test's own connection. */

typedef struct daemon_run {
	char *argv[16];
	int argc;
	int rc;
	pthread_t thread;
} daemon_run;

static void *daemon_thread(void *arg)
{
	daemon_run *d = arg;
	d->rc = vf_watch_main(d->argc, d->argv);
	return NULL;
}

/* Start `virtform watch` on test:///default with state dir `st`, runtime
 * dir `run` (its sockets), settings file `conf`, an hour-long resync and a
 * 50 ms debounce, on manifests `dir`. */
static void daemon_start(daemon_run *d, const char *st, const char *run, const char *conf,
			 const char *dir)
{
	const char *args[] = { "watch", "-c", "test:///default", "--state-dir", st,
			       "--runtime-dir", run, "--config", conf, "--resync", "3600", "--debounce", "50",
			       "--log-level", getenv("VF_TEST_LOG") ? getenv("VF_TEST_LOG") : "err", dir };
	for (size_t i = 0; i < VF_ARRAY_SIZE(args); i++)
		d->argv[d->argc++] = vf_strdup(args[i]);
	assert_int_equal(pthread_create(&d->thread, NULL, daemon_thread, d), 0);
}

static void destroy_domain(virConnectPtr c, const char *name)
{
	virDomainPtr dom = virDomainLookupByName(c, name);
	assert_non_null(dom);
	assert_int_equal(virDomainDestroy(dom), 0);
	virDomainFree(dom);
}

static int domain_state(virConnectPtr c, const char *name)
{
	virDomainPtr dom = virDomainLookupByName(c, name);
	if (!dom)
		return -1;
	int st = -1, reason;
	if (virDomainGetState(dom, &st, &reason, 0) < 0)
		st = -1;
	virDomainFree(dom);
	return st;
}

static json_object *daemon_status(const char *runtime_dir)
{
	json_object *resp = NULL, *st = NULL;
	vf_error err = { 0 };
	if (vf_status_request(runtime_dir, "status", false, &resp, &err) < 0) {
		vf_error_clear(&err);
		return NULL;
	}
	if (!json_object_object_get_ex(resp, "status", &st)) {
		json_object_put(resp);
		return NULL;
	}
	json_object_get(st);
	json_object_put(resp);
	return st;
}

static bool status_has(const char *runtime_dir, const char *needle)
{
	json_object *st = daemon_status(runtime_dir);
	if (!st)
		return false;
	bool has = strstr(json_object_to_json_string_ext(st, JSON_C_TO_STRING_PLAIN), needle) != NULL;
	json_object_put(st);
	return has;
}

/* A stand-in for systemd's notify socket: collects every datagram. */
static int notify_socket(const char *path)
{
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	assert_true(fd >= 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	assert_true(strlen(path) < sizeof(sa.sun_path));
	strcpy(sa.sun_path, path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static void notify_collect(int fd, vf_buf *all)
{
	char buf[1024];
	ssize_t n;
	while ((n = recv(fd, buf, sizeof(buf) - 1, 0)) > 0) {
		buf[n] = '\0';
		vf_buf_add(all, buf);
		vf_buf_add(all, "\n");
	}
}

/* What the daemon told "systemd"; drained while waiting, as systemd would,
 * so the daemon never blocks on a full socket. */
static int g_notify_fd = -1;
static vf_buf g_notes;

static void notify_drain(void)
{
	if (g_notify_fd >= 0)
		notify_collect(g_notify_fd, &g_notes);
}

/* Poll `cond` until true or WAIT_MS pass. */
#define WAIT_FOR(cond, what)                                                 \
	do {                                                                 \
		uint64_t until_ = vf_now_ms() + WAIT_MS;                     \
		while (notify_drain(), !(cond)) {                            \
			if (vf_now_ms() > until_)                            \
				fail_msg("timed out waiting for %s", what);  \
			usleep(20 * 1000);                                   \
		}                                                            \
	} while (0)

static const char web_yaml[] =
	"apiVersion: virtform/v1\nkind: Domain\nmetadata:\n  name: vf-watch-web\n"
	"spec:\n  memory: 64MiB\n  state: running\n";

static void test_daemon_restores_and_keeps_last_good_set(void **state)
{
	(void)state;
	_cleanup_free_ char *top = make_tmpdir();
	_cleanup_free_ char *dir = vf_asprintf("%s/manifests", top);
	_cleanup_free_ char *st = vf_asprintf("%s/state", top);
	_cleanup_free_ char *run = vf_asprintf("%s/run", top);
	_cleanup_free_ char *web = vf_asprintf("%s/web.yaml", dir);
	_cleanup_free_ char *bad = vf_asprintf("%s/bad.yaml", dir);
	assert_int_equal(mkdir(dir, 0755), 0);
	write_file(web, web_yaml);
	_cleanup_free_ char *nsock = vf_asprintf("%s/notify", top);
	g_notify_fd = notify_socket(nsock);
	vf_buf_add(&g_notes, "");
	setenv("NOTIFY_SOCKET", nsock, 1);
	setenv("WATCHDOG_USEC", "400000", 1);

	daemon_run d = { 0 };
	daemon_start(&d, st, run, "/dev/null", dir);

	virConnectPtr c = virConnectOpen("test:///default");
	assert_non_null(c);
	WAIT_FOR(domain_state(c, "vf-watch-web") == VIR_DOMAIN_RUNNING, "the domain to be running");
	/* systemd hears READY=1 after the first pass, and watchdog pings. */
	WAIT_FOR(strstr(g_notes.data, "READY=1") && strstr(g_notes.data, "WATCHDOG=1") &&
		 strstr(g_notes.data, "STATUS=converged"),
		 "READY=1, STATUS= and WATCHDOG=1 on the notify socket");

	/* Out of band destroy: back without waiting for the hour-long resync. */
	destroy_domain(c, "vf-watch-web");
	WAIT_FOR(domain_state(c, "vf-watch-web") == VIR_DOMAIN_RUNNING, "the domain to be restored");

	/* A second daemon on the same state directory refuses to start. */
	char *argv2[16];
	const char *args2[] = { "watch", "-c", "test:///default", "--state-dir", st,
				"--config", "/dev/null", "--log-level", "crit", dir };
	for (size_t i = 0; i < VF_ARRAY_SIZE(args2); i++)
		argv2[i] = vf_strdup(args2[i]);
	assert_int_equal(vf_watch_main(10, argv2), 2); /* "crit" is not a level */
	free(argv2[8]);
	argv2[8] = vf_strdup("err");
	assert_int_equal(vf_watch_main(10, argv2), 1); /* the lock is held */
	for (size_t i = 0; i < VF_ARRAY_SIZE(args2); i++)
		free(argv2[i]);

	/* An invalid file: reported with its position; the last good set
	 * is still enforced (the destroyed domain still comes back). */
	write_file(bad, "apiVersion: virtform/v1\nkind: Domain\nmetadata: [\n");
	WAIT_FOR(status_has(run, "\"manifests_state\":\"invalid\""), "status to report invalid manifests");
	assert_true(status_has(run, "bad.yaml"));
	assert_true(status_has(run, "\"enforcing\":\"last-good\""));
	destroy_domain(c, "vf-watch-web");
	WAIT_FOR(domain_state(c, "vf-watch-web") == VIR_DOMAIN_RUNNING,
		 "the last good set to be enforced");

	/* Fixed and removed: the owned domain goes away with its manifest
	 * (another object keeps the set from being empty: rule 5). */
	unlink(bad);
	WAIT_FOR(status_has(run, "\"manifests_state\":\"valid\""), "the fix to be picked up");
	_cleanup_free_ char *keep = vf_asprintf("%s/keep.yaml", dir);
	write_file(keep, "apiVersion: virtform/v1\nkind: Domain\nmetadata:\n  name: vf-watch-keep\n"
			 "spec:\n  memory: 64MiB\n  state: shutoff\n");
	unlink(web);
	WAIT_FOR(domain_state(c, "vf-watch-web") == -1, "the owned domain to be removed");

	/* SIGTERM: a clean exit 0, sockets gone. */
	kill(getpid(), SIGTERM);
	while (pthread_tryjoin_np(d.thread, NULL) != 0) {
		notify_drain();
		usleep(20 * 1000);
	}
	assert_int_equal(d.rc, 0);
	notify_drain();
	assert_non_null(strstr(g_notes.data, "STOPPING=1"));
	vf_buf_free(&g_notes);
	close(g_notify_fd);
	g_notify_fd = -1;
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	_cleanup_free_ char *sock = vf_asprintf("%s/watch-ro.sock", run);
	assert_int_equal(access(sock, F_OK), -1);
	virConnectClose(c);
	for (int i = 0; i < d.argc; i++)
		free(d.argv[i]);
	rm_rf(top);
}

/* Rule 5: a tree that comes up empty, or vanishes, is not a wish to remove
 * everything: the last non-empty set is still enforced (a domain destroyed
 * out of band comes back), the status says why, and only allowEmpty = true
 * (taken on SIGHUP) lets the empty set remove the owned domain. */
static void test_daemon_keeps_last_set_when_tree_empties_or_vanishes(void **state)
{
	(void)state;
	_cleanup_free_ char *top = make_tmpdir();
	_cleanup_free_ char *dir = vf_asprintf("%s/manifests", top);
	_cleanup_free_ char *moved = vf_asprintf("%s/manifests.moved", top);
	_cleanup_free_ char *st = vf_asprintf("%s/state", top);
	_cleanup_free_ char *run = vf_asprintf("%s/run", top);
	_cleanup_free_ char *conf = vf_asprintf("%s/virtform.conf", top);
	_cleanup_free_ char *web = vf_asprintf("%s/web.yaml", dir);
	assert_int_equal(mkdir(dir, 0755), 0);
	write_file(conf, "# rule 5\n");
	write_file(web, "apiVersion: virtform/v1\nkind: Domain\nmetadata:\n  name: vf-watch-empty\n"
			"spec:\n  memory: 64MiB\n  state: running\n");

	daemon_run d = { 0 };
	daemon_start(&d, st, run, conf, dir);
	virConnectPtr c = virConnectOpen("test:///default");
	assert_non_null(c);
	WAIT_FOR(domain_state(c, "vf-watch-empty") == VIR_DOMAIN_RUNNING, "the domain to be running");

	/* Emptied: kept, and still enforced. */
	unlink(web);
	WAIT_FOR(status_has(run, "\"manifests_state\":\"empty\""), "status to report an empty set");
	assert_true(status_has(run, "\"enforcing\":\"last-good\""));
	assert_true(status_has(run, "allowEmpty"));
	destroy_domain(c, "vf-watch-empty");
	WAIT_FOR(domain_state(c, "vf-watch-empty") == VIR_DOMAIN_RUNNING,
		 "the last non-empty set to be enforced on an empty tree");

	/* Moved away: unreadable, kept, still enforced. */
	assert_int_equal(rename(dir, moved), 0);
	destroy_domain(c, "vf-watch-empty");
	WAIT_FOR(status_has(run, "\"manifests_state\":\"unreadable\""),
		 "status to report an unreadable tree");
	WAIT_FOR(domain_state(c, "vf-watch-empty") == VIR_DOMAIN_RUNNING,
		 "the last non-empty set to be enforced with the tree gone");

	/* Back, still empty: allowEmpty = true and SIGHUP let it remove. */
	assert_int_equal(rename(moved, dir), 0);
	WAIT_FOR(status_has(run, "\"manifests_state\":\"empty\""), "the empty tree to be seen again");
	assert_true(domain_state(c, "vf-watch-empty") >= 0);
	write_file(conf, "allowEmpty = true\n");
	kill(getpid(), SIGHUP);
	WAIT_FOR(domain_state(c, "vf-watch-empty") == -1, "allowEmpty to let the empty set remove");
	WAIT_FOR(status_has(run, "\"manifests_state\":\"valid\""), "the empty set to count as valid");

	kill(getpid(), SIGTERM);
	pthread_join(d.thread, NULL);
	assert_int_equal(d.rc, 0);
	virConnectClose(c);
	for (int i = 0; i < d.argc; i++)
		free(d.argv[i]);
	rm_rf(top);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_debounce_folds_a_burst),
		cmocka_unit_test(test_debounce_is_not_starved),
		cmocka_unit_test(test_backoff_doubles_and_caps),
		cmocka_unit_test(test_backed_off_object_is_held_out_of_the_plan),
		cmocka_unit_test(test_editor_temporaries_are_ignored),
		cmocka_unit_test(test_tree_watch_follows_files_and_new_dirs),
		cmocka_unit_test(test_tree_watch_follows_a_swapped_symlink),
		cmocka_unit_test(test_lifecycle_event_reaches_the_loop),
		cmocka_unit_test(test_network_event_reaches_the_loop),
		cmocka_unit_test(test_status_sockets_answer_and_separate_privilege),
		cmocka_unit_test(test_status_answered_during_a_pass),
		cmocka_unit_test(test_slow_client_is_dropped_at_the_request_deadline),
		cmocka_unit_test(test_status_text_names_errors_and_retries),
		cmocka_unit_test(test_fleet_settings),
		cmocka_unit_test(test_status_text_shows_the_fleet),
		cmocka_unit_test(test_daemon_restores_and_keeps_last_good_set),
		cmocka_unit_test(test_daemon_keeps_last_set_when_tree_empties_or_vanishes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
