/* watch.c: `virtform watch` and `virtform status`: their command lines,
 * the daemon's setup and shutdown. The loop is watch_loop.c, its
 * connection watch_conn.c, a pass watch_pass.c, logging, systemd and
 * signals daemon.c. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "controller/core/statedir.h"
#include "controller/watch/watch.h"
#include "controller/watch/watch_conn.h"
#include "controller/watch/watch_loop.h"
#include "controller/watch/watch_pass.h"
#include "controller/watch/metrics.h"
#include "controller/watch/fleet.h"


enum {
	VF_EXIT_OK = 0,
	VF_EXIT_FAIL = 1,
	VF_EXIT_USAGE = 2,
};

static const char vf_usage_watch[] =
	"Usage: virtform watch [OPTIONS] DIR\n"
	"\n"
	"Keep the host converged to the manifests under DIR, forever: reconcile on\n"
	"file changes (debounced), on libvirt events (an owned domain destroyed out\n"
	"of band comes back), and on a periodic full resync. A failing object is\n"
	"retried with exponential backoff while the others keep converging. An\n"
	"invalid or rejected manifest set is reported and the last good one is\n"
	"still enforced. SIGHUP reloads; SIGTERM finishes the current step and exits.\n"
	"\n"
	"  -c, --connect URI          libvirt URI (default: libvirt's default)\n"
	"      --state-dir DIR        ledger, lock, image cache (" VF_WATCH_DEFAULT_STATE_DIR ";\n"
	"                             not root: $XDG_STATE_HOME/virtform)\n"
	"      --runtime-dir DIR      control sockets (" VF_WATCH_DEFAULT_RUNTIME_DIR ";\n"
	"                             not root: $XDG_RUNTIME_DIR/virtform)\n"
	"      --config FILE          settings file (default " VF_CONFIG_DEFAULT_PATH ";\n"
	"                             not root: $XDG_CONFIG_HOME/virtform/virtform.conf;\n"
	"                             the default may be missing, FILE may not)\n"
	"      --debounce MS          quiet time after a file change (250)\n"
	"      --resync SECONDS       full resync period (60)\n"
	"      --max-backoff SECONDS  cap of a failing object's retry delay (300)\n"
	"      --log-level LEVEL      err, warning, notice, info (default) or debug\n"
	"      --socket-group GROUP   group allowed to use watch-ro.sock\n"
	"      --allow-empty          an empty manifest set removes what virtform\n"
	"                             owns (default: keep enforcing the last set)\n"
	"      --metrics ADDR         serve Prometheus metrics on unix:/PATH or\n"
	"                             127.0.0.1:PORT (default: off)\n"
	"\n"
	"The fleet (docs/fleet.md): several hosts, one manifest tree, placed domains\n"
	"run by exactly one host that holds their lease in etcd.\n"
	"      --etcd URL[,URL...]    etcd client URLs; fleet mode is on when given\n"
	"      --host-id NAME         this host in the fleet (default: the hostname;\n"
	"                             1-63 of A-Z a-z 0-9 . _ -)\n"
	"      --etcd-prefix P        key prefix in etcd (" VF_DEFAULT_ETCD_PREFIX ")\n"
	"      --lease-ttl DURATION   the host lease's TTL, whole seconds (10s, min 1s)\n"
	"      --host-label KEY=VALUE announce a label (repeatable), for hostLabels\n"
	"      --fence-watchdog PATH  watchdog device the fence helper pets\n"
	"                             (/dev/watchdog; default: none)\n"
	"      --fence-watchdog-ms MS its timeout (default: 2/3 of the TTL, at most 5000)\n"
	"      --fence-helper PATH    the fence helper (default: virtform-fence next\n"
	"                             to virtform)\n"
	"  -h, --help                 show this help\n"
	"\n"
	"Flags override the config file. See docs/watch.md.\n";

static const char vf_usage_status[] =
	"Usage: virtform status [--json] [--runtime-dir DIR] [--config FILE]\n"
	"\n"
	"Ask the running 'virtform watch' daemon how things stand: when it last\n"
	"reconciled and with what result, current manifest errors (FILE:LINE:COL),\n"
	"each object's state, and what is being retried and when.\n"
	"\n"
	"      --json            print the daemon's status document as JSON\n"
	"      --runtime-dir DIR the daemon's runtime directory, where its sockets are\n"
	"                        (" VF_WATCH_DEFAULT_RUNTIME_DIR "; not root: $XDG_RUNTIME_DIR/virtform)\n"
	"      --config FILE     read runtime_dir from this settings file\n"
	"  -h, --help            show this help\n"
	"\n"
	"Exit status: 0 the daemon answered, 1 no daemon runs or it failed, 2 usage.\n";

static int vf_watch__usage(const char *cmd, const char *fmt, ...) VF_PRINTF(2, 3);
static int vf_watch__usage(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("virtform: ", stderr);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'virtform %s --help'.\n", cmd);
	return VF_EXIT_USAGE;
}

enum {
	OPT_STATE_DIR = 0x100,
	OPT_CONFIG,
	OPT_DEBOUNCE,
	OPT_RESYNC,
	OPT_MAX_BACKOFF,
	OPT_LOG_LEVEL,
	OPT_SOCKET_GROUP,
	OPT_RUNTIME_DIR,
	OPT_JSON,
	OPT_ALLOW_EMPTY,
	OPT_METRICS,
	OPT_HOST_ID,
	OPT_ETCD,
	OPT_ETCD_PREFIX,
	OPT_LEASE_TTL,
	OPT_HOST_LABEL,
	OPT_FENCE_WATCHDOG,
	OPT_FENCE_WATCHDOG_MS,
	OPT_FENCE_HELPER,
};

static const struct {
	int opt;
	const char *key;
} vf_watch__opt_keys[] = {
	{ 'c', "connect" },
	{ OPT_STATE_DIR, "state_dir" },
	{ OPT_DEBOUNCE, "debounce_ms" },
	{ OPT_RESYNC, "resync_seconds" },
	{ OPT_MAX_BACKOFF, "max_backoff_seconds" },
	{ OPT_LOG_LEVEL, "log_level" },
	{ OPT_SOCKET_GROUP, "socket_group" },
	{ OPT_RUNTIME_DIR, "runtime_dir" },
	{ OPT_METRICS, "metrics" },
	{ OPT_HOST_ID, "host_id" },
	{ OPT_ETCD, "etcd" },
	{ OPT_ETCD_PREFIX, "etcd_prefix" },
	{ OPT_LEASE_TTL, "lease_ttl" },
	{ OPT_HOST_LABEL, "host_label" },
	{ OPT_FENCE_WATCHDOG, "fence_watchdog" },
	{ OPT_FENCE_WATCHDOG_MS, "fence_watchdog_ms" },
	{ OPT_FENCE_HELPER, "fence_helper" },
};

/* Parse watch's options into w->flags; -1 to go on, else an exit code. */
static int vf_watch__parse(vf_watch *w, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "connect", required_argument, NULL, 'c' },
		{ "state-dir", required_argument, NULL, OPT_STATE_DIR },
		{ "config", required_argument, NULL, OPT_CONFIG },
		{ "debounce", required_argument, NULL, OPT_DEBOUNCE },
		{ "resync", required_argument, NULL, OPT_RESYNC },
		{ "max-backoff", required_argument, NULL, OPT_MAX_BACKOFF },
		{ "log-level", required_argument, NULL, OPT_LOG_LEVEL },
		{ "socket-group", required_argument, NULL, OPT_SOCKET_GROUP },
		{ "allow-empty", no_argument, NULL, OPT_ALLOW_EMPTY },
		{ "runtime-dir", required_argument, NULL, OPT_RUNTIME_DIR },
		{ "metrics", required_argument, NULL, OPT_METRICS },
		{ "host-id", required_argument, NULL, OPT_HOST_ID },
		{ "etcd", required_argument, NULL, OPT_ETCD },
		{ "etcd-prefix", required_argument, NULL, OPT_ETCD_PREFIX },
		{ "lease-ttl", required_argument, NULL, OPT_LEASE_TTL },
		{ "host-label", required_argument, NULL, OPT_HOST_LABEL },
		{ "fence-watchdog", required_argument, NULL, OPT_FENCE_WATCHDOG },
		{ "fence-watchdog-ms", required_argument, NULL, OPT_FENCE_WATCHDOG_MS },
		{ "fence-helper", required_argument, NULL, OPT_FENCE_HELPER },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *cmd = argv[0];
	int c, li = -1;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+c:h", opts, &li)) != -1) {
		if (c == 'h') {
			fputs(vf_usage_watch, stdout);
			return VF_EXIT_OK;
		}
		if (c == OPT_CONFIG) {
			w->config_path = optarg;
			w->config_explicit = true;
			continue;
		}
		if (c == OPT_ALLOW_EMPTY) {
			vf_config_set(&w->flags, "allowEmpty", "true", NULL);
			continue;
		}
		const char *key = NULL;
		for (size_t i = 0; i < VF_ARRAY_SIZE(vf_watch__opt_keys); i++)
			if (vf_watch__opt_keys[i].opt == c)
				key = vf_watch__opt_keys[i].key;
		if (key) {
			vf_error err = { 0 };
			if (vf_config_set(&w->flags, key, optarg, &err) < 0) {
				int rc = vf_watch__usage(cmd, "%s%s: %s", c == 'c' ? "-" : "--",
							 c == 'c' ? "c" : opts[li].name, err.message);
				vf_error_clear(&err);
				return rc;
			}
			continue;
		}
		if (optopt && optopt < 0x100 && optopt != '?')
			return vf_watch__usage(cmd, "option -%c needs an argument", optopt);
		if (optopt >= 0x100)
			return vf_watch__usage(cmd, "option '%s' needs an argument", argv[optind - 1]);
		return vf_watch__usage(cmd, "unknown option '%s'", argv[optind - 1]);
	}
	if (argc - optind > 1)
		return vf_watch__usage(cmd, "watch takes one manifest DIR, not several (extra: '%s')",
				       argv[optind + 1]);
	if (argc - optind == 1)
		vf_config_set(&w->flags, "manifests", argv[optind], NULL);
	return -1;
}

static void vf_watch__teardown(vf_watch *w)
{
	if (vf_watch__beating == w) {
		vf_heartbeat_hook = NULL;
		vf_watch__beating = NULL;
	}
	vf_fleet_stop(w->fleet);   /* before the connection: its hooks use it */
	w->fleet = NULL;
	vf_watch__close_events(w);
	if (w->conn)
		w->backend->hv->close(w->conn);
	if (w->loop)
		w->loop->loop_stop();
	vf_tree_watch_stop(w->tree);
	vf_metrics_serve_stop();
	vf_watch_serve_stop(w->serve); /* before the sockets it serves */
	vf_status_server_close(w->status);
	vf_fcntl_lock_driver.unlock(w->lock);
	vf_watch_pass_state_free(w);
	vf_config_free(&w->cfg);
	vf_config_free(&w->flags);
	free(w->root_real);
	if (w->signals_installed)
		vf_watch__signals_done();
}

static int vf_watch__fail(vf_watch *w, vf_error *err)
{
	if (err->pos.file)
		vf_watch_log(3, "%s:%d:%d: error: %s", err->pos.file, err->pos.line, err->pos.col,
			     err->message);
	else
		vf_watch_log(3, "%s", err->message ? err->message : vf_code_to_string(err->code));
	vf_error_clear(err);
	vf_watch__teardown(w);
	return VF_EXIT_FAIL;
}

int vf_watch_main(int argc, char **argv)
{
	_cleanup_free_ char *default_config = vf_config_default_path(geteuid() == 0);
	vf_watch w = { .config_path = default_config, .manifests_state = "unloaded" };
	vf_error err = { 0 };
	vf_watch_stop_flag = 0;
	vf_watch_reload_flag = 0;
	int rc = vf_watch__parse(&w, argc, argv);
	if (rc >= 0) {
		vf_config_free(&w.flags);
		return rc;
	}
	if (vf_watch__read_config(&w, &w.cfg, &err) < 0) {
		if (err.code == VF_E_USAGE && !err.pos.file) {
			rc = vf_watch__usage(argv[0], "%s", err.message);
			vf_error_clear(&err);
			vf_config_free(&w.flags);
			return rc;
		}
		return vf_watch__fail(&w, &err);
	}
	vf_watch__apply_timings(&w);
	w.started = time(NULL);

	/* One reconciler per state directory, for the daemon's whole life.
	 * Taken first, so a refused second daemon touches nothing else. */
	if (vf_statedir_check(w.cfg.state_dir, "state directory", 0700, &err) < 0)
		return vf_watch__fail(&w, &err);
	vf_lock_holder holder = { 0 };
	int r = vf_fcntl_lock_driver.lock(VF_LOCK_RECONCILE, w.cfg.state_dir, 0, &w.lock, &holder, &err);
	vf_lock_holder_clear(&holder);
	if (r < 0)
		return vf_watch__fail(&w, &err);
	unsigned swept = vf_statedir_clean(w.cfg.state_dir, w.started);
	vf_watch_set_log_level(w.cfg.log_level); /* process-wide: only once we own the state dir */
	if (swept)
		vf_watch_log(6, "removed %u temporary file%s a killed run left in %s", swept,
			     swept == 1 ? "" : "s", w.cfg.state_dir);
	if (vf_watch__signals(&err) < 0)
		return vf_watch__fail(&w, &err);
	w.signals_installed = true;
	if (vf_status_server_open(w.cfg.runtime_dir, w.cfg.socket_group, &w.status, &err) < 0 ||
	    vf_watch_serve_start(w.status, vf_watch_pipe[1], &w.serve, &err) < 0)
		return vf_watch__fail(&w, &err);
	if (vf_tree_watch_start(w.cfg.manifests, &w.tree, &err) < 0)
		return vf_watch__fail(&w, &err);
	if (w.cfg.metrics && vf_metrics_serve_start(w.cfg.metrics, &err) < 0)
		return vf_watch__fail(&w, &err);
	char real[PATH_MAX];
	if (realpath(w.cfg.manifests, real))
		w.root_real = vf_strdup(real);
	/* A backend without events leaves out-of-band changes to the resync. */
	w.backend = vf_backend_for_uri(w.cfg.connect);
	if (w.backend->events && vf_watch__start_loop(&w, w.backend->events, &err) < 0)
		return vf_watch__fail(&w, &err);
	uint64_t wd = 0;
	if (sd_watchdog_enabled(0, &wd) > 0) {
		w.watchdog_usec = wd;
		w.next_watchdog = vf_now_ms();
	}
	if (w.cfg.etcd) {
		/* The fleet (docs/fleet.md): lease, fence helper, announcement,
		 * before the first pass, so no placed domain is acted for
		 * without a lease. */
		vf_fleet_opts fo = {
			.host_id = w.cfg.host_id,
			.endpoints = w.cfg.etcd,
			.prefix = w.cfg.etcd_prefix,
			.ttl_ms = w.cfg.lease_ttl_ms,
			.labels = w.cfg.host_labels,
			.fence_helper = w.cfg.fence_helper,
			.watchdog = w.cfg.fence_watchdog,
			.watchdog_ms = w.cfg.fence_watchdog_ms,
			.wake_fd = vf_watch_pipe[1],
		};
		struct vf_fleet *fl = NULL;
		if (vf_fleet_start(&fo, &fl, &err) < 0)
			return vf_watch__fail(&w, &err);
		w.fleet = fl;
		vf_watch_log(6, "fleet: host %s, etcd %s, prefix %s", vf_fleet_host_id(fl), w.cfg.etcd,
			     w.cfg.etcd_prefix);
	}
	vf_watch__beating = &w;
	vf_heartbeat_hook = vf_watch__heartbeat_hook;
	vf_watch_log(6, "virtform %s watching %s (state %s, sockets in %s, debounce %ums, resync %us, max backoff %us)",
		     VF_VERSION, w.cfg.manifests, w.cfg.state_dir, w.cfg.runtime_dir, w.cfg.debounce_ms,
		     w.cfg.resync_seconds, w.cfg.max_backoff_seconds);
	vf_watch__connect(&w);

	rc = vf_watch__loop(&w) < 0 ? VF_EXIT_FAIL : VF_EXIT_OK;
	vf_watch_notify("STOPPING=1");
	vf_watch_log(6, "stopping");
	vf_watch__teardown(&w);
	return rc;
}

int vf_status_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, OPT_JSON },
		{ "runtime-dir", required_argument, NULL, OPT_RUNTIME_DIR },
		{ "state-dir", required_argument, NULL, OPT_STATE_DIR },
		{ "config", required_argument, NULL, OPT_CONFIG },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *cmd = argv[0];
	const char *runtime_dir = NULL;
	_cleanup_free_ char *default_config = vf_config_default_path(geteuid() == 0);
	const char *config = default_config;
	bool config_explicit = false, json = false;
	int c;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			fputs(vf_usage_status, stdout);
			return VF_EXIT_OK;
		case OPT_JSON:
			json = true;
			break;
		case OPT_RUNTIME_DIR:
			runtime_dir = optarg;
			break;
		case OPT_STATE_DIR:
			return vf_watch__usage(cmd, "status finds the daemon by its runtime directory, where its sockets are, not by its state directory: give --runtime-dir DIR (default " VF_WATCH_DEFAULT_RUNTIME_DIR ")");
		case OPT_CONFIG:
			config = optarg;
			config_explicit = true;
			break;
		default:
			if (optopt >= 0x100)
				return vf_watch__usage(cmd, "option '%s' needs an argument", argv[optind - 1]);
			return vf_watch__usage(cmd, "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return vf_watch__usage(cmd, "status takes no arguments (got '%s')", argv[optind]);

	vf_config cfg = { 0 };
	vf_error err = { 0 };
	int rc = VF_EXIT_FAIL;
	json_object *resp = NULL;
	if (!runtime_dir) {
		/* The daemon's own defaults and file: the one place they live. */
		if (vf_config_load(config, config_explicit, &cfg, &err) < 0) {
			vf_error_print(stderr, &err, false);
			goto out;
		}
		vf_config_defaults(&cfg);
		runtime_dir = cfg.runtime_dir;
	}
	if (vf_status_request(runtime_dir, "status", false, &resp, &err) < 0) {
		fprintf(stderr, "virtform: %s\n", err.message);
		goto out;
	}
	json_object *ok = NULL, *st = NULL, *why = NULL;
	json_object_object_get_ex(resp, "ok", &ok);
	if (!ok || !json_object_get_boolean(ok) || !json_object_object_get_ex(resp, "status", &st)) {
		json_object_object_get_ex(resp, "error", &why);
		fprintf(stderr, "virtform: the daemon refused: %s\n",
			why ? json_object_get_string(why) : "no reason given");
		goto out;
	}
	if (json) {
		puts(json_object_to_json_string_ext(st, JSON_C_TO_STRING_PRETTY |
								  JSON_C_TO_STRING_NOSLASHESCAPE));
	} else {
		_cleanup_free_ char *text = vf_status_format_text(st);
		fputs(text, stdout);
	}
	rc = VF_EXIT_OK;
out:
	json_object_put(resp);
	vf_error_clear(&err);
	vf_config_free(&cfg);
	return rc;
}
