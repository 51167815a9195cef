/* main.c: virtform's commands: the load → observe → plan → apply →
 * re-plan flow of each, and all printing. Their arguments: args.c.
 * Not for policy: planning, applying and loading live in their modules. */
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include "drivers/driver.h"
#include "controller/apply/apply.h"
#include "controller/apply/reconcile.h"
#include "controller/state/ledger.h"
#include "controller/load/manifest.h"
#include "controller/plan/plan.h"
#include "controller/plan/planprint.h"
#include "controller/cli/args.h"
#include "controller/cli/progress.h"
#include "controller/core/statedir.h"
#include "controller/watch/watch.h"
#include "drivers/snapshot/snapshot.h"
#include "controller/apply/saved.h"

static volatile sig_atomic_t vf_stop_requested;

static void vf_on_signal(int sig)
{
	(void)sig;
	vf_stop_requested = 1;
}

/* Load manifests; prints problems. Returns 0 or -1. */
static void vf_print_json_failure(const vf_cli *cli, const vf_error *e);

static int vf_cli_load(const vf_cli *cli, vf_desired *out)
{
	vf_diags diags = { 0 };
	int r = vf_manifest_load((const char *const *)cli->paths, cli->n_paths, out, &diags);
	if (r < 0 || diags.n) {
		vf_diags_print(stderr, &diags, cli->color && isatty(STDERR_FILENO));
		fprintf(stderr, "virtform: %zu problem%s found; nothing was changed.\n", diags.n,
			diags.n == 1 ? "" : "s");
		if (cli->json) {
			/* the problems stay on stderr, as validate prints them */
			vf_error e = { .code = diags.n ? diags.items[0].code : VF_E_SCHEMA,
				       .message = vf_asprintf("%zu problem%s found in the manifests; nothing was changed",
							      diags.n, diags.n == 1 ? "" : "s") };
			vf_print_json_failure(cli, &e);
			vf_error_clear(&e);
		}
		vf_diags_free(&diags);
		return -1;
	}
	vf_diags_free(&diags);
	return 0;
}

static void vf_print_error(const char *what, const vf_error *e)
{
	/* a snapshot's or saved plan's problem: at its line:col, like a compiler */
	if (e->pos.file && e->pos.line > 0) {
		vf_error_print(stderr, e, vf_color_auto() && isatty(STDERR_FILENO));
		return;
	}
	fprintf(stderr, "virtform: %s%s%s\n", what ? what : "", what ? ": " : "",
		e->message ? e->message : vf_code_to_string(e->code));
}

static int vf_cmd_validate(vf_cli *cli)
{
	vf_desired d = { 0 };
	vf_diags diags = { 0 };
	int r = vf_manifest_load((const char *const *)cli->paths, cli->n_paths, &d, &diags);
	/* A wrong path (or manifests named *.yaml.txt) validates nothing: say so
	 * rather than report success, unless an empty set is what was meant. */
	if (r >= 0 && !diags.n && d.n == 0 && !cli->allow_empty)
		vf_diag_add(&diags, VF_E_EMPTY, (vf_pos){ 0 },
			    "no manifest found under %s%s (only *.yaml and *.yml files are read); pass --allow-empty if an empty set is meant",
			    cli->paths[0], cli->n_paths > 1 ? " and the other paths" : "");
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

/* Print why a run failed, on stderr or (--json) as the command's document
 * on stdout; vf_print_json_failure(). */
static void vf_print_fail(const vf_cli *cli, const vf_error *e)
{
	if (cli->json)
		vf_print_json_failure(cli, e);
	else
		vf_print_error(NULL, e);
}

/* Connect (and for apply lock the state directory): returns 0, or an
 * exit code after printing why (--json: the command's document with
 * "error" and "code", so a script reads code "connection"). */
static int vf_session_connect(const vf_cli *cli, vf_session *s, bool take_lock)
{
	vf_error err = { 0 };
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
	vf_print_fail(cli, &err);
	vf_error_clear(&err);
	return VF_EXIT_FAIL;
}

/* Load the manifests, then connect to the host, or (plan --snapshot)
 * read the snapshot into *snap and play it back: no connection, no state
 * directory, no lock. Returns 0, or an exit code after printing why. */
static int vf_session_open(const vf_cli *cli, vf_session *s, bool take_lock, vf_snapshot *snap)
{
	if (vf_cli_load(cli, &s->desired) < 0)
		return VF_EXIT_FAIL;
	if (!cli->snapshot)
		return vf_session_connect(cli, s, take_lock);
	vf_error err = { 0 };
	if (vf_snapshot_read(cli->snapshot, snap, &err) < 0) {
		vf_print_fail(cli, &err);
		vf_error_clear(&err);
		return VF_EXIT_FAIL;
	}
	s->backend = &vf_snapshot_backend;
	vf_snapshot_conn(snap, &s->conn);
	return 0;
}

/* virtform snapshot: observe as plan does, and write it all down. */
static int vf_cmd_snapshot(vf_cli *cli)
{
	vf_session s = { 0 };
	vf_snapshot snap = { 0 };
	vf_error err = { 0 };
	_cleanup_free_ char *text = NULL;
	int rc = vf_session_connect(cli, &s, false);
	if (rc != 0)
		goto out;
	vf_reconcile_opts opts = { .state_dir = cli->state_dir, .dry_run = true };
	rc = VF_EXIT_FAIL;
	if (vf_reconcile_snapshot(s.backend, s.conn, &opts, &snap, &err) < 0) {
		vf_print_error(NULL, &err);
		goto out;
	}
	text = vf_snapshot_to_text(&snap);
	if (cli->out) {
		if (vf_statefile_write(cli->out, text, strlen(text), &err) < 0) {
			vf_print_error(NULL, &err);
			goto out;
		}
	} else if (fputs(text, stdout) < 0 || fflush(stdout) != 0) {
		fprintf(stderr, "virtform: cannot write the snapshot to stdout: %s\n", strerror(errno));
		goto out;
	}
	rc = VF_EXIT_OK;
out:
	vf_error_clear(&err);
	vf_snapshot_free(&snap);
	vf_session_close(&s);
	return rc;
}

static json_object *vf_plan_json_object(const vf_plan *plan, const vf_diags *conflicts)
{
	_cleanup_free_ char *text = vf_plan_to_json(plan, conflicts);
	return json_tokener_parse(text);
}

static void vf_print_json(json_object *o);

/* --json when nothing was applied: for plan the plan document
 * (specs/plan.schema.json); for apply its own document, whose plan member
 * is that plan (with any conflicts), with no steps, converged false and no
 * replan, so a script reading .converged works whatever stopped it. */
static json_object *vf_json_unapplied(const vf_cli *cli, const vf_plan *plan,
				      const vf_diags *conflicts)
{
	json_object *p = vf_plan_json_object(plan, conflicts);
	if (strcmp(cli->command, "apply") != 0)
		return p;
	json_object *doc = json_object_new_object();
	json_object_object_add(doc, "format_version", json_object_new_string("1"));
	json_object_object_add(doc, "plan", p);
	json_object_object_add(doc, "steps", json_object_new_array());
	json_object_object_add(doc, "converged", json_object_new_boolean(false));
	return doc;
}

/* A failure before anything was planned: the command's document with an
 * empty plan, and the error and its code. */
static void vf_print_json_failure(const vf_cli *cli, const vf_error *e)
{
	json_object *doc = vf_json_unapplied(cli, NULL, NULL);
	json_object_object_add(doc, "error", json_object_new_string(e->message ? e->message
										 : vf_code_to_string(e->code)));
	json_object_object_add(doc, "code", json_object_new_string(vf_code_to_string(e->code)));
	vf_print_json(doc);
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
	const vf_saved_plan *saved; /* apply --plan: what the plan made now must match */
	const vf_saved_meta *save;  /* plan --out: recorded beside the plan */
} vf_progress_state;

/* plan --out writes the plan with what it was made against; apply --plan
 * goes ahead only when that all still holds. */
static int vf_check_plan(const vf_plan *plan, const vf_observed *o, const vf_ledger *l,
			 void *userdata, vf_error *err)
{
	vf_progress_state *ps = userdata;
	if (ps->saved)
		return vf_saved_plan_check(ps->saved, plan, o, l, err);
	if (!ps->save)
		return 0;
	_cleanup_free_ char *text = vf_saved_plan_text(ps->save, plan, o, l);
	return vf_statefile_write(ps->cli->out, text, strlen(text), err);
}

/* What a saved plan records besides the objects: the manifest set's
 * digest, the host and the state directory (a snapshot's own when
 * planning offline), and the options. */
static int vf_saved_inputs(const vf_cli *cli, const vf_session *s, const vf_snapshot *snap,
			   vf_saved_meta *m, vf_error *err)
{
	m->manifest_digest = vf_saved_manifest_digest(&s->desired, (const char *const *)cli->paths,
						      cli->n_paths, err);
	if (!m->manifest_digest)
		return -VF_E_IO;
	if (cli->snapshot) {
		m->host = (vf_host_id){ .uri = vf_strdup(snap->host.uri),
					.uuid = vf_strdup(snap->host.uuid),
					.uuid_hardware = snap->host.uuid_hardware,
					.hostname = vf_strdup(snap->host.hostname) };
		m->state_dir = (vf_statedir_id){ .path = vf_strdup(snap->state_dir.path),
						 .device = snap->state_dir.device,
						 .inode = snap->state_dir.inode };
	} else {
		if (s->backend->hv->host_identity) {
			int r = s->backend->hv->host_identity(s->conn, &m->host, err);
			if (r < 0)
				return r;
		} else {
			m->host.uri = vf_strdup(s->backend->hv->uri(s->conn));
		}
		vf_statedir_identify(cli->state_dir, &m->state_dir);
	}
	size_t cap = 0;
	for (size_t i = 0; i < cli->n_replace; i++)
		VF_APPEND(m->replace, m->n_replace, cap, vf_strdup(cli->replace[i]));
	m->allow_empty = cli->allow_empty;
	return 0;
}

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
	vf_snapshot snap = { 0 };         /* plan --snapshot */
	vf_saved_plan saved = { 0 };      /* apply --plan */
	vf_saved_meta meta = { 0 };       /* plan --out; apply --plan: as it is now */
	vf_error serr = { 0 };
	_cleanup_free_ char *lost = NULL; /* vf_lost_message() */
	int rc;
	if (cli->plan_file && vf_saved_plan_read(cli->plan_file, &saved, &serr) < 0) {
		vf_print_fail(cli, &serr);
		rc = VF_EXIT_FAIL;
		goto out;
	}
	rc = vf_session_open(cli, &s, !dry, &snap);
	if (rc != 0)
		goto out;
	if ((cli->out || cli->plan_file) &&
	    (vf_saved_inputs(cli, &s, &snap, &meta, &serr) < 0 ||
	     (cli->plan_file && vf_saved_plan_check_inputs(&saved, &meta.host, &meta.state_dir,
							    meta.manifest_digest, &serr) < 0))) {
		vf_print_fail(cli, &serr);
		rc = VF_EXIT_FAIL;
		goto out;
	}
	ps.saved = cli->plan_file ? &saved : NULL;
	ps.save = cli->out ? &meta : NULL;

	if (cli->json)
		ps.steps = json_object_new_array();
	vf_progress_printer pp = { .out = stderr, .tty = isatty(STDERR_FILENO) };
	vf_fetch_opts fo = { .progress = vf_progress_print, .userdata = &pp }; /* 0s: defaults */
	vf_reconcile_opts opts = {
		.state_dir = cli->state_dir,
		.plan = { .replace = cli->replace, .n_replace = cli->n_replace },
		.dry_run = dry,
		.allow_empty = cli->allow_empty,
		.check_plan = vf_check_plan,
		.on_plan = vf_on_plan,
		.progress = vf_apply_progress,
		.userdata = &ps,
		.stop = &vf_stop_requested,
		.locks = &vf_fcntl_lock_driver,
		.lock_wait_ms = cli->lock_wait_ms,
		.fetch_opts = &fo,
		.snapshot = cli->snapshot ? &snap : NULL,
	};
	if (cli->plan_file) {
		/* the options it was planned with */
		opts.plan.replace = (const char *const *)saved.meta.replace;
		opts.plan.n_replace = saved.meta.n_replace;
		opts.allow_empty = saved.meta.allow_empty;
	}
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
			doc = vf_json_unapplied(cli, planned ? &res.plan : NULL, &res.conflicts);
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
	vf_snapshot_free(&snap);
	vf_saved_plan_free(&saved);
	vf_saved_meta_clear(&meta);
	vf_error_clear(&serr);
	return rc;
}

int main(int argc, char **argv)
{
	vf_cli cli = {
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
	if (strcmp(cmd, "version") == 0 && argc > 2) {
		if (argc == 3 && (strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "-h") == 0)) {
			fputs(vf_usage_version, stdout);
			return VF_EXIT_OK;
		}
		return vf_usage_error("version", "'version' takes no argument, not '%s'", argv[2]);
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
	} else if (strcmp(cmd, "snapshot") == 0) {
		run = vf_cmd_snapshot;
		usage = vf_usage_snapshot;
	} else if (strcmp(cmd, "watch") == 0) {
		return vf_watch_main(argc - 1, argv + 1);
	} else if (strcmp(cmd, "status") == 0) {
		return vf_status_main(argc - 1, argv + 1);
	} else {
		return vf_usage_error(NULL, "unknown command '%s'", cmd);
	}
	rc = vf_parse_args(&cli, argc - 1, argv + 1, usage);
	_cleanup_free_ char *default_state = NULL;
	if (rc < 0 && !cli.state_dir)
		cli.state_dir = default_state = vf_statedir_default(geteuid() == 0);
	if (rc < 0)
		rc = run(&cli);
	free(cli.replace);
	return rc;
}
