/* main.c: virtform's command line: argument parsing, the load → observe →
 * plan → apply → re-plan flow of each command, and all printing.
 * Not for policy: planning, applying and loading live in their modules. */
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include "../drivers/driver.h"
#include "apply.h"
#include "reconcile.h"
#include "ledger.h"
#include "manifest.h"
#include "plan.h"
#include "planprint.h"
#include "progress.h"
#include "statedir.h"
#include "watch.h"

#define VF_DEFAULT_STATE_DIR "/var/lib/virtform"

/* Exit codes (docs/virtform.1). */
enum {
	VF_EXIT_OK = 0,
	VF_EXIT_FAIL = 1,
	VF_EXIT_CHANGES = 2, /* plan: changes pending */
	VF_EXIT_USAGE = 2,
};

typedef struct vf_cli {
	const char *command;
	const char *uri;
	const char *state_dir;
	bool json;
	bool color;
	bool allow_empty;         /* --allow-empty: an empty manifest set may remove */
	unsigned lock_timeout_ms;
	unsigned lock_wait_ms;
	unsigned connect_timeout_ms; /* --connect-timeout; 0: wait for ever */
	const char **replace;
	size_t n_replace;
	size_t cap_replace;
	char **paths;
	size_t n_paths;
} vf_cli;

static volatile sig_atomic_t vf_stop_requested;

static void vf_on_signal(int sig)
{
	(void)sig;
	vf_stop_requested = 1;
}

static const char vf_usage_main[] =
	"Usage: virtform COMMAND [OPTIONS] PATH...\n"
	"\n"
	"Keep a libvirt host in the state a directory of YAML manifests declares.\n"
	"\n"
	"Commands:\n"
	"  validate PATH...   check manifests strictly; change nothing\n"
	"  plan PATH...       show what apply would change; change nothing\n"
	"                     (exit 0: no changes, 2: changes pending, 1: error)\n"
	"  apply PATH...      converge the host, then re-plan to prove it\n"
	"  watch DIR          keep converging: react to manifest changes and\n"
	"                     libvirt events (docs/watch.md)\n"
	"  status             ask the running watch daemon how things stand\n"
	"  version            print the version\n"
	"\n"
	"Run 'virtform COMMAND --help' for a command's options.\n"
	"Manifest format: man virtform.yaml (docs/virtform.yaml.5).\n";

static const char vf_usage_validate[] =
	"Usage: virtform validate [--json] PATH...\n"
	"\n"
	"Load every *.yaml/*.yml under each PATH (a directory, recursively, or a\n"
	"file) strictly and report every problem as FILE:LINE:COL. Touches no host.\n"
	"\n"
	"  --json          print the result as JSON\n"
	"  --color WHEN    auto (default), always or never\n"
	"  -h, --help      show this help\n"
	"\n"
	"Exit status: 0 valid, 1 invalid, 2 usage error.\n";

static const char vf_usage_plan[] =
	"Usage: virtform plan [OPTIONS] PATH...\n"
	"\n"
	"Compare the manifests under PATH with the live host and print the steps\n"
	"apply would take. Changes nothing.\n"
	"\n"
	"  -c, --connect URI     libvirt URI (default: libvirt's default,\n"
	"                        LIBVIRT_DEFAULT_URI honoured; test:///default works)\n"
	"      --state-dir DIR   where the ownership ledger lives (" VF_DEFAULT_STATE_DIR ")\n"
	"      --replace KIND/NAME  allow replacing this object (Volume/POOL/NAME)\n"
	"      --allow-empty     plan the removals an empty manifest set makes\n"
	"                        (otherwise they are blocked and plan exits 1)\n"
	"      --connect-timeout SECONDS  give up when libvirtd has not answered\n"
	"                        the connection within this long (default 15; 0: wait)\n"
	"      --json            print the plan as JSON (specs/plan.schema.json)\n"
	"      --color WHEN      auto (default), always or never\n"
	"  -h, --help            show this help\n"
	"\n"
	"Exit status: 0 no changes, 2 changes pending, 1 error, plan rejected or usage error.\n";

static const char vf_usage_apply[] =
	"Usage: virtform apply [OPTIONS] PATH...\n"
	"\n"
	"Plan, print the plan, carry it out in dependency order, then observe the\n"
	"host again and re-plan: succeed only when nothing is left to do.\n"
	"\n"
	"  -c, --connect URI     libvirt URI (default: libvirt's default)\n"
	"      --state-dir DIR   where the ownership ledger and lock live (" VF_DEFAULT_STATE_DIR ")\n"
	"      --replace KIND/NAME  allow destroying and recreating this object;\n"
	"                        repeatable (StoragePool/NAME, Volume/POOL/NAME, Domain/NAME)\n"
	"      --allow-empty     let an empty manifest set remove what virtform owns\n"
	"                        (otherwise apply removes nothing and exits 1)\n"
	"      --lock-timeout SECONDS  wait this long for another apply or watch\n"
	"                        on the same state directory (default 0: fail at once)\n"
	"      --lock-wait SECONDS  wait this long for libvirt's metadata lock on a\n"
	"                        file before changing it (default 60)\n"
	"      --connect-timeout SECONDS  give up when libvirtd has not answered\n"
	"                        the connection within this long (default 15; 0: wait)\n"
	"      --json            print the plan and the result as JSON\n"
	"      --color WHEN      auto (default), always or never\n"
	"  -h, --help            show this help\n"
	"\n"
	"Exit status: 0 converged, 1 error, rejected, blocked or not converged, 2 usage error.\n";

static int vf_usage_error(const char *cmd, const char *fmt, ...) VF_PRINTF(2, 3);
static int vf_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("virtform: ", stderr);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (cmd)
		fprintf(stderr, "\nTry 'virtform %s --help'.\n", cmd);
	else
		fputs("\nTry 'virtform --help'.\n", stderr);
	/* plan's 2 means "changes pending": a script acting on it must never
	 * apply because of a mistyped flag */
	if (cmd && strcmp(cmd, "plan") == 0)
		return VF_EXIT_FAIL;
	return VF_EXIT_USAGE;
}

static bool vf_color_auto(void)
{
	const char *term = getenv("TERM");
	return isatty(STDOUT_FILENO) && !getenv("NO_COLOR") && term && strcmp(term, "dumb") != 0;
}

static int vf_parse_seconds(const char *s, unsigned *out_ms)
{
	char *end = NULL;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || v < 0 || v > 86400.0)
		return -1;
	*out_ms = (unsigned)(v * 1000.0);
	return 0;
}

/* KIND/NAME for pools and domains, Volume/POOL/NAME for volumes. */
static bool vf_replace_arg_ok(const char *arg)
{
	const char *slash = strchr(arg, '/');
	if (!slash)
		return false;
	_cleanup_free_ char *kind = vf_strndup(arg, (size_t)(slash - arg));
	int k = vf_kind_from_string(kind);
	const char *rest = slash + 1;
	if (k < 0 || !*rest)
		return false;
	const char *slash2 = strchr(rest, '/');
	if (k == VF_KIND_VOLUME)
		return slash2 && slash2 != rest && slash2[1] && !strchr(slash2 + 1, '/');
	return !slash2;
}

enum {
	OPT_STATE_DIR = 0x100,
	OPT_JSON,
	OPT_REPLACE,
	OPT_COLOR,
	OPT_LOCK_TIMEOUT,
	OPT_LOCK_WAIT,
	OPT_ALLOW_EMPTY,
	OPT_CONNECT_TIMEOUT,
};

/* Parse the options of `cmd`; returns -1 to go on, else an exit code. */
static int vf_parse_args(vf_cli *cli, int argc, char **argv, const char *usage)
{
	static const struct option opts[] = {
		{ "connect", required_argument, NULL, 'c' },
		{ "state-dir", required_argument, NULL, OPT_STATE_DIR },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "replace", required_argument, NULL, OPT_REPLACE },
		{ "color", required_argument, NULL, OPT_COLOR },
		{ "lock-timeout", required_argument, NULL, OPT_LOCK_TIMEOUT },
		{ "lock-wait", required_argument, NULL, OPT_LOCK_WAIT },
		{ "allow-empty", no_argument, NULL, OPT_ALLOW_EMPTY },
		{ "connect-timeout", required_argument, NULL, OPT_CONNECT_TIMEOUT },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	bool is_validate = strcmp(cli->command, "validate") == 0;
	bool is_apply = strcmp(cli->command, "apply") == 0;
	int c;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			fputs(usage, stdout);
			return VF_EXIT_OK;
		case 'c':
		case OPT_STATE_DIR:
		case OPT_REPLACE:
			if (is_validate)
				return vf_usage_error(cli->command, "'validate' takes no %s option",
						      argv[optind - 1]);
			if (c == 'c')
				cli->uri = optarg;
			else if (c == OPT_STATE_DIR)
				cli->state_dir = optarg;
			else {
				if (!vf_replace_arg_ok(optarg))
					return vf_usage_error(cli->command,
							      "--replace takes StoragePool/NAME, Volume/POOL/NAME or Domain/NAME, not '%s'",
							      optarg);
				VF_APPEND(cli->replace, cli->n_replace, cli->cap_replace, optarg);
			}
			break;
		case OPT_LOCK_TIMEOUT:
		case OPT_LOCK_WAIT: {
			const char *name = c == OPT_LOCK_TIMEOUT ? "--lock-timeout" : "--lock-wait";
			if (!is_apply)
				return vf_usage_error(cli->command, "%s is for apply only", name);
			if (vf_parse_seconds(optarg, c == OPT_LOCK_TIMEOUT ? &cli->lock_timeout_ms
									 : &cli->lock_wait_ms) < 0)
				return vf_usage_error(cli->command,
						      "%s takes seconds (0 to 86400), not '%s'", name,
						      optarg);
			break;
		}
		case OPT_CONNECT_TIMEOUT:
			if (is_validate)
				return vf_usage_error(cli->command, "'validate' takes no --connect-timeout option");
			if (vf_parse_seconds(optarg, &cli->connect_timeout_ms) < 0)
				return vf_usage_error(cli->command,
						      "--connect-timeout takes seconds (0 to 86400), not '%s'",
						      optarg);
			break;
		case OPT_JSON:
			cli->json = true;
			break;
		case OPT_ALLOW_EMPTY:
			if (is_validate)
				return vf_usage_error(cli->command, "'validate' takes no --allow-empty option");
			cli->allow_empty = true;
			break;
		case OPT_COLOR:
			if (strcmp(optarg, "always") == 0)
				cli->color = true;
			else if (strcmp(optarg, "never") == 0)
				cli->color = false;
			else if (strcmp(optarg, "auto") == 0)
				cli->color = vf_color_auto();
			else
				return vf_usage_error(cli->command,
						      "--color takes auto, always or never, not '%s'",
						      optarg);
			break;
		case '?':
		default:
			if (optopt && optopt < 0x100 && optopt != '?')
				return vf_usage_error(cli->command, "option -%c needs an argument",
						      (char)optopt);
			return vf_usage_error(cli->command, "unknown option '%s'", argv[optind - 1]);
		}
	}
	cli->paths = argv + optind;
	cli->n_paths = (size_t)(argc - optind);
	if (cli->n_paths == 0)
		return vf_usage_error(cli->command, "'%s' needs at least one manifest PATH",
				      cli->command);
	return -1;
}

/* Load manifests; prints problems. Returns 0 or -1. */
static int vf_cli_load(const vf_cli *cli, vf_desired *out)
{
	vf_diags diags = { 0 };
	int r = vf_manifest_load((const char *const *)cli->paths, cli->n_paths, out, &diags);
	if (r < 0 || diags.n) {
		vf_diags_print(stderr, &diags, cli->color && isatty(STDERR_FILENO));
		fprintf(stderr, "virtform: %zu problem%s found; nothing was changed.\n", diags.n,
			diags.n == 1 ? "" : "s");
		vf_diags_free(&diags);
		return -1;
	}
	vf_diags_free(&diags);
	return 0;
}

static void vf_print_error(const char *what, const vf_error *e)
{
	fprintf(stderr, "virtform: %s%s%s\n", what ? what : "", what ? ": " : "",
		e->message ? e->message : vf_code_to_string(e->code));
}

static int vf_cmd_validate(vf_cli *cli)
{
	vf_desired d = { 0 };
	vf_diags diags = { 0 };
	int r = vf_manifest_load((const char *const *)cli->paths, cli->n_paths, &d, &diags);
	int rc = (r < 0 || diags.n) ? VF_EXIT_FAIL : VF_EXIT_OK;
	if (cli->json) {
		json_object *root = json_object_new_object();
		json_object_object_add(root, "format_version", json_object_new_string("1"));
		json_object_object_add(root, "valid", json_object_new_boolean(rc == VF_EXIT_OK));
		json_object *objs = json_object_new_array();
		for (size_t i = 0; rc == VF_EXIT_OK && i < d.n; i++) {
			json_object *o = json_object_new_object();
			json_object_object_add(o, "kind", json_object_new_string(vf_kind_to_string(d.objs[i].kind)));
			json_object_object_add(o, "name", json_object_new_string(d.objs[i].name));
			json_object_object_add(o, "file", json_object_new_string(d.objs[i].pos.file));
			json_object_object_add(o, "line", json_object_new_int(d.objs[i].pos.line));
			json_object_array_add(objs, o);
		}
		json_object_object_add(root, "objects", objs);
		json_object *errs = json_object_new_array();
		for (size_t i = 0; i < diags.n; i++) {
			const vf_error *e = &diags.items[i];
			json_object *o = json_object_new_object();
			json_object_object_add(o, "code", json_object_new_string(vf_code_to_string(e->code)));
			json_object_object_add(o, "message", json_object_new_string(e->message));
			json_object_object_add(o, "file", e->pos.file ? json_object_new_string(e->pos.file) : NULL);
			json_object_object_add(o, "line", json_object_new_int(e->pos.line));
			json_object_object_add(o, "col", json_object_new_int(e->pos.col));
			json_object_array_add(errs, o);
		}
		json_object_object_add(root, "errors", errs);
		puts(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(root);
	} else if (rc != VF_EXIT_OK) {
		vf_diags_print(stderr, &diags, cli->color && isatty(STDERR_FILENO));
		fprintf(stderr, "virtform: %zu problem%s found.\n", diags.n, diags.n == 1 ? "" : "s");
	} else {
		for (size_t i = 0; i < d.n; i++) {
			const vf_object *o = &d.objs[i];
			if (o->kind == VF_KIND_VOLUME)
				printf("ok  %s/%s/%s  (%s:%d)\n", vf_kind_to_string(o->kind),
				       o->u.volume.pool, o->name, o->pos.file, o->pos.line);
			else
				printf("ok  %s/%s  (%s:%d)\n", vf_kind_to_string(o->kind), o->name,
				       o->pos.file, o->pos.line);
		}
		printf("%zu object%s valid in %zu file%s.\n", d.n, d.n == 1 ? "" : "s", d.n_files,
		       d.n_files == 1 ? "" : "s");
	}
	vf_diags_free(&diags);
	vf_desired_free(&d);
	return rc;
}

/* Everything plan and apply share: loaded manifests, a connection and,
 * for apply, the reconcile lock. */
typedef struct vf_session {
	vf_desired desired;
	const vf_backend *backend;
	vf_conn *conn;
	vf_lock_token *lock;
	bool loop;                /* the backend's event loop runs */
} vf_session;

static void vf_session_close(vf_session *s)
{
	if (s->backend && s->conn)
		s->backend->hv->close(s->conn);
	if (s->loop)
		s->backend->events->loop_stop();
	vf_fcntl_lock_driver.unlock(s->lock);
	vf_desired_free(&s->desired);
}

/* Returns 0, or an exit code after printing why. */
static int vf_session_open(const vf_cli *cli, vf_session *s, bool take_lock)
{
	vf_error err = { 0 };
	if (vf_cli_load(cli, &s->desired) < 0)
		return VF_EXIT_FAIL;
	/* Refuse a state directory others could change (a missing one is
	 * created 0700 by a run that writes, and is fine for a plan). */
	if (vf_statedir_check(cli->state_dir, "state directory", take_lock ? 0700 : 0, &err) < 0)
		goto fail;
	if (take_lock) {
		time_t run_start = time(NULL);
		vf_lock_holder holder = { 0 };
		int r = vf_fcntl_lock_driver.lock(VF_LOCK_RECONCILE, cli->state_dir,
						  cli->lock_timeout_ms, &s->lock, &holder, &err);
		vf_lock_holder_clear(&holder);
		if (r < 0)
			goto fail;
		/* Holding the lock: what a killed run left is nobody's now. */
		vf_statedir_clean(cli->state_dir, run_start);
	}
	s->backend = vf_backend_for_uri(cli->uri);
	/* The event loop runs in every command, not only in watch: libvirt's
	 * keepalive needs it, and without a keepalive a call on a dead peer
	 * (a hung libvirtd, a dropped ssh tunnel) would never return. */
	const vf_event_driver *ev = s->backend->events;
	if (ev) {
		if (ev->loop_start(&err) < 0)
			goto fail;
		s->loop = true;
	}
	/* Whole seconds, rounded up: a fraction still bounds the wait. */
	vf_conn_opts co = { .connect_timeout_s = (cli->connect_timeout_ms + 999) / 1000 };
	if (s->backend->hv->open(cli->uri, &co, &s->conn, &err) < 0)
		goto fail;
	return 0;
fail:
	vf_print_error(NULL, &err);
	vf_error_clear(&err);
	return VF_EXIT_FAIL;
}

static json_object *vf_plan_json_object(const vf_plan *plan, const vf_diags *conflicts)
{
	_cleanup_free_ char *text = vf_plan_to_json(plan, conflicts);
	return json_tokener_parse(text);
}

static void vf_print_json(json_object *o)
{
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
						       JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

typedef struct vf_progress_state {
	const vf_cli *cli;
	size_t done[VF_ACT_MAX];
	json_object *steps;       /* --json: one entry per step outcome */
	char *lost_at;            /* the step the connection was lost in: "removing Domain/web" */
	char *lost_why;           /* and the driver's message for it */
} vf_progress_state;

/* The one line a lost connection is reported with, whatever the step:
 * the URI, what virtform was doing and to which object, the driver's
 * message (libvirt's own words), and what to do. NULL when the pass did
 * not stop for a lost connection. Caller frees. */
static char *vf_lost_message(const vf_progress_state *ps, const vf_reconcile_result *res,
			     const char *uri)
{
	if (res->err.code != VF_E_CONNECTION)
		return NULL;
	if (ps->lost_at)
		return vf_asprintf("lost the connection to %s while %s: %s; the steps before it are done, "
				   "run apply again once libvirtd answers",
				   uri, ps->lost_at, ps->lost_why);
	const char *doing = res->phase == VF_PHASE_LEDGER ? "reading who the host is"
		: res->phase == VF_PHASE_REOBSERVE ? "observing the host after applying"
		: "observing the host";
	return vf_asprintf("lost the connection to %s while %s: %s", uri, doing, res->err.message);
}

/* Print why a reconcile pass stopped early (load problems are printed by
 * vf_cli_load; conflicts come with both sides' positions). */
static void vf_print_failure(const vf_cli *cli, const vf_reconcile_result *res, const char *lost)
{
	if (res->conflicts.n)
		vf_diags_print(stderr, &res->conflicts, cli->color && isatty(STDERR_FILENO));
	if (lost)
		fprintf(stderr, "virtform: %s\n", lost);
	else if (res->err.message)
		vf_print_error(res->phase == VF_PHASE_APPLY ? "apply stopped" : NULL, &res->err);
}

static void vf_on_plan(const vf_plan *plan, void *userdata)
{
	vf_progress_state *ps = userdata;
	if (ps->cli->json)
		return;
	vf_plan_print_text(stdout, plan, ps->cli->color);
	if (strcmp(ps->cli->command, "apply") == 0 && !vf_plan_empty(plan))
		puts("");
	fflush(stdout);
}

static void vf_apply_progress(const vf_step *s, vf_step_outcome o, const vf_error *err,
			      void *userdata)
{
	vf_progress_state *ps = userdata;
	static const char *const words[] = { "started", "done", "failed", "skipped" };
	/* indexed by vf_action: what is happening, and what happened */
	static const char *const doing[VF_ACT_MAX] = { "creating", "updating", "removing",
						       "blocked", "forgetting" };
	static const char *const did[VF_ACT_MAX] = { "created", "updated", "removed", "blocked",
						     "no longer owned (kept on the host)" };
	if (o == VF_STEP_DONE)
		ps->done[s->action]++;
	_cleanup_free_ char *id = s->pool
		? vf_asprintf("%s/%s/%s", vf_kind_to_string(s->kind), s->pool, s->name)
		: vf_asprintf("%s/%s", vf_kind_to_string(s->kind), s->name);
	if (o == VF_STEP_FAILED && err && err->code == VF_E_CONNECTION && !ps->lost_at) {
		ps->lost_at = vf_asprintf("%s %s", doing[s->action], id);
		ps->lost_why = vf_strdup(err->message ? err->message : "unknown error");
	}
	if (ps->cli->json) {
		if (o == VF_STEP_STARTED)
			return;
		json_object *j = json_object_new_object();
		json_object_object_add(j, "object", json_object_new_string(id));
		json_object_object_add(j, "action", json_object_new_string(vf_action_to_string(s->action)));
		json_object_object_add(j, "outcome", json_object_new_string(words[o]));
		if (err && err->message) {
			json_object_object_add(j, "error", json_object_new_string(err->message));
			json_object_object_add(j, "code",
					       json_object_new_string(vf_code_to_string(err->code)));
		}
		json_object_array_add(ps->steps, j);
		return;
	}
	switch (o) {
	case VF_STEP_STARTED:
		printf("%s: %s...\n", id, doing[s->action]);
		break;
	case VF_STEP_DONE:
		printf("%s: %s\n", id, did[s->action]);
		break;
	case VF_STEP_FAILED:
		printf("%s: failed: %s\n", id, err && err->message ? err->message : "unknown error");
		break;
	case VF_STEP_SKIPPED:
		printf("%s: skipped (%s)\n", id,
		       s->action == VF_ACT_BLOCKED ? "blocked" : "run stopped");
		break;
	}
	fflush(stdout);
}

/* plan and apply: one reconcile pass, dry or not. */
static int vf_cmd_reconcile(vf_cli *cli)
{
	bool dry = strcmp(cli->command, "plan") == 0;
	vf_session s = { 0 };
	vf_reconcile_result res = { 0 };
	vf_progress_state ps = { .cli = cli };
	_cleanup_free_ char *lost = NULL; /* vf_lost_message() */
	int rc = vf_session_open(cli, &s, !dry);
	if (rc != 0)
		goto out;

	if (cli->json)
		ps.steps = json_object_new_array();
	vf_progress_printer pp = { .out = stderr, .tty = isatty(STDERR_FILENO) };
	vf_fetch_opts fo = { .progress = vf_progress_print, .userdata = &pp }; /* 0s: defaults */
	vf_reconcile_opts opts = {
		.state_dir = cli->state_dir,
		.plan = { .replace = cli->replace, .n_replace = cli->n_replace },
		.dry_run = dry,
		.allow_empty = cli->allow_empty,
		.on_plan = vf_on_plan,
		.progress = vf_apply_progress,
		.userdata = &ps,
		.stop = &vf_stop_requested,
		.locks = &vf_fcntl_lock_driver,
		.lock_wait_ms = cli->lock_wait_ms,
		.fetch_opts = &fo,
	};
	if (!dry) {
		signal(SIGINT, vf_on_signal);
		signal(SIGTERM, vf_on_signal);
	}
	int r = vf_reconcile(s.backend, s.conn, &s.desired, &opts, &res);
	bool planned = res.phase > VF_PHASE_PLAN;
	lost = vf_lost_message(&ps, &res, s.backend->hv->uri(s.conn));

	if (cli->json) {
		json_object *doc;
		if (dry || !planned) {
			doc = vf_plan_json_object(planned ? &res.plan : NULL, &res.conflicts);
		} else {
			doc = json_object_new_object();
			json_object_object_add(doc, "format_version", json_object_new_string("1"));
			json_object_object_add(doc, "plan", vf_plan_json_object(&res.plan, NULL));
			json_object_object_add(doc, "steps", ps.steps);
			ps.steps = NULL;
			if (res.applied && res.phase == VF_PHASE_DONE)
				json_object_object_add(doc, "replan",
						       vf_plan_json_object(&res.replan, &res.conflicts));
			json_object_object_add(doc, "converged", json_object_new_boolean(r == 0));
		}
		if (res.err.message) {
			json_object_object_add(doc, "error",
					       json_object_new_string(lost ? lost : res.err.message));
			json_object_object_add(doc, "code",
					       json_object_new_string(vf_code_to_string(res.err.code)));
		}
		vf_print_json(doc);
	} else if (res.applied && res.phase == VF_PHASE_DONE) {
		puts("\nRe-plan after applying:");
		vf_plan_print_text(stdout, &res.replan, cli->color);
		if (res.converged)
			printf("Apply complete: %zu created, %zu updated, %zu removed.\n",
			       ps.done[VF_ACT_CREATE], ps.done[VF_ACT_UPDATE], ps.done[VF_ACT_REMOVE]);
	}
	if (r < 0 && !cli->json)
		vf_print_failure(cli, &res, lost);
	else if (r < 0 && res.conflicts.n)
		vf_diags_print(stderr, &res.conflicts, false);

	if (dry)
		rc = r < 0 ? VF_EXIT_FAIL : (res.converged ? VF_EXIT_OK : VF_EXIT_CHANGES);
	else
		rc = r < 0 ? VF_EXIT_FAIL : VF_EXIT_OK;
out:
	json_object_put(ps.steps);
	free(ps.lost_at);
	free(ps.lost_why);
	vf_reconcile_result_free(&res);
	vf_session_close(&s);
	return rc;
}

int main(int argc, char **argv)
{
	vf_cli cli = {
		.state_dir = VF_DEFAULT_STATE_DIR,
		.lock_timeout_ms = VF_LOCK_TIMEOUT_DEFAULT_MS,
		.lock_wait_ms = VF_LOCK_WAIT_DEFAULT_MS,
		.connect_timeout_ms = VF_CONNECT_TIMEOUT_DEFAULT_S * 1000,
	};
	cli.color = vf_color_auto();
	/* A libvirtd that goes away mid-write must be a reported error, not
	 * a silent death by SIGPIPE (exit 141): libvirt's write then fails
	 * with EPIPE and the lost connection is named. */
	signal(SIGPIPE, SIG_IGN);
	if (argc < 2)
		return vf_usage_error(NULL, "missing COMMAND");

	const char *cmd = argv[1];
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
		fputs(vf_usage_main, stdout);
		return VF_EXIT_OK;
	}
	if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
		printf("virtform %s\n", VF_VERSION);
		return VF_EXIT_OK;
	}
	cli.command = cmd;
	int rc;
	int (*run)(vf_cli *) = NULL;
	const char *usage = NULL;
	if (strcmp(cmd, "validate") == 0) {
		run = vf_cmd_validate;
		usage = vf_usage_validate;
	} else if (strcmp(cmd, "plan") == 0) {
		run = vf_cmd_reconcile;
		usage = vf_usage_plan;
	} else if (strcmp(cmd, "apply") == 0) {
		run = vf_cmd_reconcile;
		usage = vf_usage_apply;
	} else if (strcmp(cmd, "watch") == 0) {
		return vf_watch_main(argc - 1, argv + 1);
	} else if (strcmp(cmd, "status") == 0) {
		return vf_status_main(argc - 1, argv + 1);
	} else {
		return vf_usage_error(NULL, "unknown command '%s'", cmd);
	}
	rc = vf_parse_args(&cli, argc - 1, argv + 1, usage);
	if (rc < 0)
		rc = run(&cli);
	free(cli.replace);
	return rc;
}
