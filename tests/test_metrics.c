/* test_metrics.c: the watch daemon's Prometheus metrics as a scraper sees
 * them: the hooks move the counters, the text is the exposition format
 * (HELP, TYPE, a cumulative histogram), the server answers GET /metrics on
 * a Unix socket and 404 otherwise, and only local addresses are accepted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "controller/watch/config.h"
#include "controller/watch/metrics.h"

/* The value of the sample line starting with `series ` in `text`; -1 if absent. */
static double sample(const char *text, const char *series)
{
	size_t n = strlen(series);
	for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (strncmp(p, series, n) == 0 && p[n] == ' ')
			return strtod(p + n + 1, NULL);
	return -1;
}

static void test_hooks_move_the_counters(void **state)
{
	(void)state;
	_cleanup_free_ char *before = vf_metrics_render();
	double conv = sample(before, "virtform_reconcile_total{result=\"converged\"}");
	assert_true(conv >= 0);
	vf_metrics_pass("converged", 30);
	vf_metrics_pass("converged", 700);
	vf_metrics_pass("something-new", 1);
	vf_step st = { .action = VF_ACT_UPDATE, .kind = VF_KIND_DOMAIN, .n_changes = 1 };
	vf_step blocked = { .action = VF_ACT_BLOCKED, .kind = VF_KIND_VOLUME };
	vf_step steps[] = { st, blocked };
	vf_plan plan = { .steps = steps, .n = 2 };
	vf_metrics_plan(&plan, 2);
	vf_metrics_step(VF_KIND_DOMAIN, VF_ACT_UPDATE, VF_STEP_STARTED);
	vf_metrics_step(VF_KIND_DOMAIN, VF_ACT_UPDATE, VF_STEP_DONE);
	vf_metrics_step(VF_KIND_VOLUME, VF_ACT_BLOCKED, VF_STEP_SKIPPED);
	vf_metrics_connection(true, false);
	vf_metrics_connection(false, false);
	vf_metrics_connection(true, true);
	vf_metrics_download(1000);
	vf_metrics_download(24);
	vf_object objs[] = { { .kind = VF_KIND_POOL }, { .kind = VF_KIND_DOMAIN }, { .kind = VF_KIND_DOMAIN } };
	vf_desired d = { .objs = objs, .n = 3 };
	vf_metrics_managed(&d);

	_cleanup_free_ char *t = vf_metrics_render();
	assert_true(sample(t, "virtform_reconcile_total{result=\"converged\"}") == conv + 2);
	assert_true(sample(t, "virtform_reconcile_total{result=\"other\"}") >= 1);
	/* Cumulative buckets: 30 ms is under 0.05 s, 700 ms under 1 s. */
	assert_true(sample(t, "virtform_reconcile_time_seconds_bucket{le=\"0.05\"}") >= 2);
	assert_true(sample(t, "virtform_reconcile_time_seconds_bucket{le=\"1\"}") >= 3);
	assert_true(sample(t, "virtform_reconcile_time_seconds_bucket{le=\"+Inf\"}") ==
		    sample(t, "virtform_reconcile_time_seconds_count"));
	assert_true(sample(t, "virtform_plan_steps_total{kind=\"Domain\",action=\"update\"}") == 1);
	assert_true(sample(t, "virtform_drift_total{kind=\"Domain\"}") == 1);
	assert_true(sample(t, "virtform_drift_total{kind=\"Volume\"}") == 0);
	assert_true(sample(t, "virtform_plan_blocked_steps") == 1);
	assert_true(sample(t, "virtform_plan_conflicts") == 2);
	assert_true(sample(t, "virtform_steps_total{kind=\"Domain\",action=\"update\",outcome=\"done\"}") == 1);
	assert_true(sample(t, "virtform_steps_total{kind=\"Volume\",action=\"blocked\",outcome=\"skipped\"}") == 1);
	assert_true(sample(t, "virtform_libvirt_reconnects_total") == 1);
	assert_true(sample(t, "virtform_libvirt_connected") == 1);
	assert_true(sample(t, "virtform_download_bytes_total") == 1024);
	assert_true(sample(t, "virtform_managed_objects{kind=\"Domain\"}") == 2);
	assert_true(sample(t, "virtform_managed_objects{kind=\"StoragePool\"}") == 1);
	assert_non_null(strstr(t, "# TYPE virtform_reconcile_time_seconds histogram\n"));
	assert_non_null(strstr(t, "# TYPE virtform_reconcile_total counter\n"));
	assert_non_null(strstr(t, "# HELP virtform_managed_objects "));
}

static void test_only_local_addresses(void **state)
{
	(void)state;
	vf_error err = { 0 };
	assert_int_equal(vf_metrics_addr_check("127.0.0.1:9781", &err), 0);
	assert_int_equal(vf_metrics_addr_check("localhost:9781", &err), 0);
	assert_int_equal(vf_metrics_addr_check("unix:/run/virtform/metrics.sock", &err), 0);
	assert_int_equal(vf_metrics_addr_check("/run/virtform/metrics.sock", &err), 0);
	const char *bad[] = { "0.0.0.0:9781", ":9781", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:70000",
			      "10.0.0.1:9781", "metrics.sock", "127.0.0.1:97x" };
	for (size_t i = 0; i < VF_ARRAY_SIZE(bad); i++) {
		assert_int_equal(vf_metrics_addr_check(bad[i], &err), -VF_E_USAGE);
		assert_non_null(strstr(err.message, "127.0.0.1:PORT"));
		vf_error_clear(&err);
	}
	/* In virtform.conf a bad value fails with its line. */
	vf_config c = { 0 };
	assert_true(vf_config_parse("v.conf", "metrics = 0.0.0.0:9100\n", &c, &err) < 0);
	assert_int_equal(err.pos.line, 1);
	vf_error_clear(&err);
	assert_int_equal(vf_config_parse("v.conf", "metrics = 127.0.0.1:9100\n", &c, &err), 0);
	assert_string_equal(c.metrics, "127.0.0.1:9100");
	vf_config_free(&c);
}

static char *http_get(const char *path, const char *req)
{
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_true(write(fd, req, strlen(req)) == (ssize_t)strlen(req));
	vf_buf b = { 0 };
	char buf[4096];
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		vf_buf_addn(&b, buf, (size_t)n);
	close(fd);
	return vf_buf_steal(&b);
}

static void test_serves_get_metrics(void **state)
{
	(void)state;
	char dir[] = "/tmp/vf-metrics-XXXXXX";
	assert_non_null(mkdtemp(dir));
	_cleanup_free_ char *sock = vf_asprintf("%s/metrics.sock", dir);
	_cleanup_free_ char *addr = vf_asprintf("unix:%s", sock);
	vf_error err = { 0 };
	assert_int_equal(vf_metrics_serve_start(addr, &err), 0);
	_cleanup_free_ char *ok = http_get(sock, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_true(strncmp(ok, "HTTP/1.0 200 OK\r\n", 17) == 0);
	assert_non_null(strstr(ok, "Content-Type: text/plain; version=0.0.4"));
	assert_non_null(strstr(ok, "\r\n\r\n# HELP virtform_build_info "));
	_cleanup_free_ char *nf = http_get(sock, "GET /other HTTP/1.0\r\n\r\n");
	assert_true(strncmp(nf, "HTTP/1.0 404 ", 13) == 0);
	vf_metrics_serve_stop();
	assert_int_equal(access(sock, F_OK), -1);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hooks_move_the_counters),
		cmocka_unit_test(test_only_local_addresses),
		cmocka_unit_test(test_serves_get_metrics),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
