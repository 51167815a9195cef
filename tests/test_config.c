/* test_config.c: virtform.conf parses every key, rejects bad lines with the
 * LINE:COL a user needs to fix them, and command-line flags win over it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <unistd.h>

#include "controller/watch/config.h"
#include "harness/harness.h"

static void test_every_key(void **state)
{
	(void)state;
	const char *text =
		"# virtform watch settings\n"
		"\n"
		"connect = qemu:///system\n"
		"manifests=/srv/manifests   # trailing comment\n"
		"  state_dir = \"/var/lib/virt form\"\n"
		"debounce_ms = 500\n"
		"resync_seconds = 120\n"
		"max_backoff_seconds = 30\n"
		"log_level = debug\n"
		"socket_group = libvirt\r\n"
		"runtime_dir = /run/vf\n";
	vf_config c = { 0 };
	vf_error err = { 0 };
	assert_int_equal(vf_config_parse("t.conf", text, &c, &err), 0);
	assert_string_equal(c.connect, "qemu:///system");
	assert_string_equal(c.manifests, "/srv/manifests");
	assert_string_equal(c.state_dir, "/var/lib/virt form");
	assert_true(c.has_debounce_ms);
	assert_int_equal(c.debounce_ms, 500);
	assert_int_equal(c.resync_seconds, 120);
	assert_int_equal(c.max_backoff_seconds, 30);
	assert_int_equal(c.log_level, VF_LOG_DEBUG);
	assert_string_equal(c.socket_group, "libvirt");
	assert_string_equal(c.runtime_dir, "/run/vf");
	vf_config_free(&c);
}

static void test_hash_inside_value_and_quotes(void **state)
{
	(void)state;
	vf_config c = { 0 };
	vf_error err = { 0 };
	assert_int_equal(vf_config_parse("t.conf",
					 "connect = qemu+ssh://h/system?x=a#b\n"
					 "manifests = \"/srv/a \\\"b\\\" #c\"  # note\n",
					 &c, &err), 0);
	assert_string_equal(c.connect, "qemu+ssh://h/system?x=a#b");
	assert_string_equal(c.manifests, "/srv/a \"b\" #c");
	vf_config_free(&c);
}

/* Parse `text`, expect failure at line:col with `needle` in the message. */
static void expect_error(const char *text, int line, int col, const char *needle)
{
	vf_config c = { 0 };
	vf_error err = { 0 };
	int r = vf_config_parse("bad.conf", text, &c, &err);
	assert_true(r < 0);
	assert_non_null(err.message);
	if (!strstr(err.message, needle))
		fail_msg("message '%s' lacks '%s'", err.message, needle);
	assert_string_equal(err.pos.file, "bad.conf");
	assert_int_equal(err.pos.line, line);
	assert_int_equal(err.pos.col, col);
	assert_null(c.connect);
	vf_error_clear(&err);
}

static void test_bad_lines_point_at_line_and_column(void **state)
{
	(void)state;
	expect_error("connect = x\nlog_level debug\n", 2, 11, "expected '='");
	expect_error("\n\n  Connect = x\n", 3, 3, "setting name");
	expect_error("debounce = 10\n", 1, 1, "did you mean 'debounce_ms'");
	expect_error("debounce_ms = 10ms\n", 1, 15, "whole number of milliseconds");
	expect_error("resync_seconds = 0\n", 1, 18, "from 1 to 86400");
	expect_error("max_backoff_seconds = -5\n", 1, 23, "whole number");
	expect_error("log_level = verbose\n", 1, 13, "err, warning, notice, info or debug");
	expect_error("manifests =   \n", 1, 15, "expected a value");
	expect_error("manifests = \"/srv\n", 1, 13, "not closed");
	expect_error("manifests = \"/srv\" x\n", 1, 20, "after the quoted value");
	expect_error("manifests = a\"b\n", 1, 14, "quote the whole value");
	expect_error("connect = a\nstate_dir = /x\nconnect = b\n", 3, 1, "set twice");
}

static void test_flags_override_file(void **state)
{
	(void)state;
	vf_config file = { 0 }, flags = { 0 };
	vf_error err = { 0 };
	assert_int_equal(vf_config_parse("t.conf",
					 "connect = test:///default\ndebounce_ms = 900\n"
					 "log_level = err\nstate_dir = /from/file\n",
					 &file, &err), 0);
	assert_int_equal(vf_config_set(&flags, "debounce_ms", "100", &err), 0);
	assert_int_equal(vf_config_set(&flags, "state_dir", "/from/flag", &err), 0);
	vf_config_merge(&file, &flags);
	vf_config_defaults(&file);
	assert_string_equal(file.connect, "test:///default");   /* file only */
	assert_int_equal(file.debounce_ms, 100);                /* flag wins */
	assert_string_equal(file.state_dir, "/from/flag");      /* flag wins */
	assert_int_equal(file.log_level, VF_LOG_ERR);           /* file only */
	assert_int_equal(file.resync_seconds, VF_DEFAULT_RESYNC_SECONDS);  /* default */
	assert_int_equal(file.max_backoff_seconds, VF_DEFAULT_MAX_BACKOFF_SECONDS);
	_cleanup_free_ char *runtime = vf_runtimedir_default(geteuid() == 0);
	assert_string_equal(file.runtime_dir, runtime); /* default: root's, or the user's */
	assert_string_equal(VF_WATCH_DEFAULT_RUNTIME_DIR, "/run/virtform");
	assert_int_equal(vf_config_set(&flags, "runtime_dir", "", &err), -VF_E_USAGE);
	vf_error_clear(&err);
	assert_int_equal(vf_config_set(&flags, "log_level", "loud", &err), -VF_E_USAGE);
	assert_non_null(strstr(err.message, "log_level"));
	vf_error_clear(&err);
	vf_config_free(&file);
	vf_config_free(&flags);
}

/* allowEmpty (rule 5): off unless set, Argo CD's name and spelling,
 * true or false only, and a flag's true wins over the file's false. */
static void test_allow_empty(void **state)
{
	(void)state;
	vf_config c = { 0 }, flags = { 0 };
	vf_error err = { 0 };
	assert_int_equal(vf_config_parse("t.conf", "connect = test:///default\n", &c, &err), 0);
	vf_config_defaults(&c);
	assert_false(c.allow_empty);
	vf_config_free(&c);
	assert_int_equal(vf_config_parse("t.conf", "allowEmpty = true\n", &c, &err), 0);
	assert_true(c.allow_empty);
	vf_config_free(&c);
	assert_int_equal(vf_config_parse("t.conf", "allowEmpty = false\n", &c, &err), 0);
	assert_false(c.allow_empty);
	assert_int_equal(vf_config_set(&flags, "allowEmpty", "true", &err), 0);
	vf_config_merge(&c, &flags);
	assert_true(c.allow_empty);
	vf_config_free(&c);
	vf_config_free(&flags);
	expect_error("allowEmpty = yes\n", 1, 14, "true or false");
	expect_error("allow_empty = true\n", 1, 1, "did you mean 'allowEmpty'");
}

static void test_load_missing_default_and_explicit(void **state)
{
	(void)state;
	vf_config c = { 0 };
	vf_error err = { 0 };
	assert_int_equal(vf_config_load("/nonexistent/virtform.conf", false, &c, &err), 0);
	assert_null(c.connect);
	assert_int_equal(vf_config_load("/nonexistent/virtform.conf", true, &c, &err), -VF_E_IO);
	assert_non_null(strstr(err.message, "/nonexistent/virtform.conf"));
	vf_error_clear(&err);

	char path[] = "/tmp/vf-conf-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	const char text[] = "connect = test:///default\nresync_seconds = 7\n";
	assert_int_equal(write(fd, text, sizeof(text) - 1), (ssize_t)(sizeof(text) - 1));
	close(fd);
	assert_int_equal(vf_config_load(path, true, &c, &err), 0);
	assert_string_equal(c.connect, "test:///default");
	assert_int_equal(c.resync_seconds, 7);
	unlink(path);
	vf_config_free(&c);
}

/* issue 20, point 4: a user's daemon reads the user's settings file, never
 * the system daemon's (whose state_dir is root's). */
static void test_default_config_file_is_per_user(void **state)
{
	(void)state;
	static const char *const names[] = { "HOME", "XDG_CONFIG_HOME", NULL };
	char **saved = vf_test_env_save(names);
	vf_test_setenv("HOME", "/home/ann");
	vf_test_setenv("XDG_CONFIG_HOME", NULL);
	_cleanup_free_ char *root = vf_config_default_path(true);
	_cleanup_free_ char *user = vf_config_default_path(false);
	assert_string_equal(root, "/etc/virtform/virtform.conf");
	assert_string_equal(user, "/home/ann/.config/virtform/virtform.conf");
	setenv("XDG_CONFIG_HOME", "/srv/ann/conf", 1);
	_cleanup_free_ char *xdg = vf_config_default_path(false);
	assert_string_equal(xdg, "/srv/ann/conf/virtform/virtform.conf");
	vf_test_env_restore(names, saved);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_key),
		cmocka_unit_test(test_hash_inside_value_and_quotes),
		cmocka_unit_test(test_bad_lines_point_at_line_and_column),
		cmocka_unit_test(test_flags_override_file),
		cmocka_unit_test(test_load_missing_default_and_explicit),
		cmocka_unit_test(test_allow_empty),
		cmocka_unit_test(test_default_config_file_is_per_user),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
