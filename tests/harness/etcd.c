/* etcd.c: start and stop real etcd members for the tests (etcd.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "controller/core/util.h"
#include "drivers/etcd/client.h"
#include "etcd.h"
#include "harness.h"

/* A port nobody listens on now (the kernel's pick for port 0). */
static int vf_test__free_port(void)
{
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(s >= 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	socklen_t len = sizeof(a);
	assert_int_equal(getsockname(s, (struct sockaddr *)&a, &len), 0);
	close(s);
	return ntohs(a.sin_port);
}

/* POST {} to path at one member; the answer object or NULL. */
static json_object *vf_test__ask(const char *url, const char *path)
{
	vf_etcd *c = NULL;
	vf_etcd_opts o = { .connect_ms = 300, .request_ms = 1000 };
	if (vf_etcd_open(url, &o, &c, NULL) < 0)
		return NULL;
	json_object *req = json_object_new_object(), *resp = NULL;
	vf_error err = { 0 };
	if (vf_etcd_call(c, path, req, &resp, NULL, &err) < 0)
		resp = NULL;
	vf_error_clear(&err);
	json_object_put(req);
	vf_etcd_close(c);
	return resp;
}

void vf_test_etcd_start(vf_test_etcd *e, int n)
{
	assert_true(n >= 1 && n <= VF_TEST_ETCD_MAX);
	*e = (vf_test_etcd){ .n = n, .dir = vf_test_tmpdir("etcd") };
	int peer[VF_TEST_ETCD_MAX];
	vf_buf cluster = { 0 }, eps = { 0 };
	for (int i = 0; i < n; i++) {
		peer[i] = vf_test__free_port();
		e->client_url[i] = vf_asprintf("http://127.0.0.1:%d", vf_test__free_port());
		vf_buf_printf(&cluster, "%sm%d=http://127.0.0.1:%d", i ? "," : "", i, peer[i]);
		vf_buf_printf(&eps, "%s%s", i ? "," : "", e->client_url[i]);
	}
	_cleanup_free_ char *initial = vf_buf_steal(&cluster);
	e->endpoints = vf_buf_steal(&eps);
	for (int i = 0; i < n; i++) {
		_cleanup_free_ char *name = vf_asprintf("m%d", i);
		_cleanup_free_ char *data = vf_asprintf("%s/m%d", e->dir, i);
		_cleanup_free_ char *log = vf_asprintf("%s/m%d.log", e->dir, i);
		_cleanup_free_ char *peer_url = vf_asprintf("http://127.0.0.1:%d", peer[i]);
		_cleanup_free_ char *token = vf_asprintf("vf-test-%ld", (long)getpid());
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			/* Dies with the test, even one that crashes. */
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
			if (fd >= 0) {
				dup2(fd, 1);
				dup2(fd, 2);
			}
			execlp("etcd", "etcd", "--name", name, "--data-dir", data,
			       "--listen-client-urls", e->client_url[i],
			       "--advertise-client-urls", e->client_url[i],
			       "--listen-peer-urls", peer_url, "--initial-advertise-peer-urls", peer_url,
			       "--initial-cluster", initial, "--initial-cluster-state", "new",
			       "--initial-cluster-token", token, "--heartbeat-interval", "50",
			       "--election-timeout", "500", (char *)NULL);
			_exit(127);
		}
		e->pid[i] = pid;
	}
	/* Up when every member answers and one of them leads. */
	for (int tries = 0; tries < 200; tries++) {
		int up = 0;
		for (int i = 0; i < n; i++) {
			json_object *s = vf_test__ask(e->client_url[i], "/v3/maintenance/status");
			up += s != NULL;
			json_object_put(s);
		}
		if (up == n && vf_test_etcd_leader(e) >= 0)
			return;
		int st;
		for (int i = 0; i < n; i++)
			if (waitpid(e->pid[i], &st, WNOHANG) == e->pid[i])
				fail_msg("etcd member %d exited; see %s/m%d.log", i, e->dir, i);
		usleep(100 * 1000);
	}
	fail_msg("etcd did not come up within 20 s; see %s", e->dir);
}

int vf_test_etcd_leader(const vf_test_etcd *e)
{
	for (int i = 0; i < e->n; i++) {
		if (!e->pid[i])
			continue;
		json_object *s = vf_test__ask(e->client_url[i], "/v3/maintenance/status");
		json_object *h = NULL, *me = NULL, *leader = NULL;
		bool lead = s && json_object_object_get_ex(s, "header", &h) &&
			    json_object_object_get_ex(h, "member_id", &me) &&
			    json_object_object_get_ex(s, "leader", &leader) &&
			    strcmp(json_object_get_string(me), json_object_get_string(leader)) == 0;
		json_object_put(s);
		if (lead)
			return i;
	}
	return -1;
}

void vf_test_etcd_kill(vf_test_etcd *e, int i)
{
	if (!e->pid[i])
		return;
	kill(e->pid[i], SIGKILL);
	waitpid(e->pid[i], NULL, 0);
	e->pid[i] = 0;
}

void vf_test_etcd_stop(vf_test_etcd *e)
{
	for (int i = 0; i < e->n; i++) {
		vf_test_etcd_kill(e, i);
		free(e->client_url[i]);
	}
	if (e->dir) {
		vf_test_rm_tree(e->dir);
		free(e->dir);
	}
	free(e->endpoints);
	*e = (vf_test_etcd){ 0 };
}
