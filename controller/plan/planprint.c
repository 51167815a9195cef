/* planprint.c: the plan as text for a terminal and as versioned JSON
 * (json-c) for programs. Sizes are already formatted by the planner
 * (vf_format_size); this file only lays them out. Not for planning. */
#include "controller/plan/planprint.h"

#include <json-c/json.h>

static const char *const vf_plan__sigil[VF_ACT_MAX] = {
	[VF_ACT_CREATE] = "+", [VF_ACT_UPDATE] = "~", [VF_ACT_REMOVE] = "-",
	[VF_ACT_BLOCKED] = "!", [VF_ACT_RETAIN] = "=",
};

/* green +, yellow ~, red -, magenta !, plain = */
static const char *const vf_plan__colour[VF_ACT_MAX] = {
	[VF_ACT_CREATE] = "\033[32m", [VF_ACT_UPDATE] = "\033[33m", [VF_ACT_REMOVE] = "\033[31m",
	[VF_ACT_BLOCKED] = "\033[35m", [VF_ACT_RETAIN] = "",
};

static void vf_plan__print_id(FILE *out, const vf_step *s)
{
	if (s->pool)
		fprintf(out, "%s/%s/%s", vf_kind_to_string(s->kind), s->pool, s->name);
	else
		fprintf(out, "%s/%s", vf_kind_to_string(s->kind), s->name);
}

/* Held leases, after the plan: a few by name, the rest counted (plan
 * --json lists every one). */
static void vf_plan__print_leases(FILE *out, const vf_plan *p)
{
	enum { VF_LEASES_SHOWN = 5 };
	if (!p || p->n_leases == 0)
		return;
	fprintf(out, "\nLeases held (%zu):\n", p->n_leases);
	for (size_t i = 0; i < p->n_leases && i < VF_LEASES_SHOWN; i++) {
		const vf_plan_lease *l = &p->leases[i];
		fprintf(out, "    %s: %s", l->object, l->path);
		if (l->pid)
			fprintf(out, " by pid %ld", (long)l->pid);
		else
			fputs(" by an unknown holder", out);
		if (l->command)
			fprintf(out, " (%s)", l->command);
		fprintf(out, ", %s, lockspace %s\n", l->shared ? "shared" : "exclusive",
			l->lockspace ? l->lockspace : "?");
	}
	if (p->n_leases > VF_LEASES_SHOWN)
		fprintf(out, "    ... and %zu more; virtform plan --json lists them all.\n",
			p->n_leases - VF_LEASES_SHOWN);
}

void vf_plan_print_text(FILE *out, const vf_plan *p, bool color)
{
	if (vf_plan_empty(p)) {
		fputs("No changes. The host matches the manifests.\n", out);
		vf_plan__print_leases(out, p);
		return;
	}
	const char *reset = color ? "\033[0m" : "";
	for (size_t i = 0; i < p->n; i++) {
		const vf_step *s = &p->steps[i];
		const char *col = color ? vf_plan__colour[s->action] : "";
		fprintf(out, "%s%s ", col, vf_plan__sigil[s->action]);
		vf_plan__print_id(out, s);
		fprintf(out, "%s: %s\n", *col ? reset : "", s->reason ? s->reason : "");
		for (size_t k = 0; k < s->n_changes; k++) {
			const vf_change *c = &s->changes[k];
			if (c->note) {
				fprintf(out, "    %s: %s\n", c->field, c->note);
				continue;
			}
			fprintf(out, "    %s: %s \u2192 %s (%s)\n", c->field,
				c->old_value ? c->old_value : "(none)",
				c->new_value ? c->new_value : "(none)", vf_effect_to_string(c->effect));
		}
	}
	fprintf(out, "\nPlan: %zu to create, %zu to update, %zu to remove, %zu blocked",
		p->counts[VF_ACT_CREATE], p->counts[VF_ACT_UPDATE], p->counts[VF_ACT_REMOVE],
		p->counts[VF_ACT_BLOCKED]);
	/* "=" steps change only the ledger, but they are changes (plan exits
	 * 2), so the summary says so rather than read as "nothing" */
	if (p->counts[VF_ACT_RETAIN])
		fprintf(out, ", %zu to forget", p->counts[VF_ACT_RETAIN]);
	fputs(".\n", out);
	vf_plan__print_leases(out, p);
}

static json_object *vf_json_str(const char *s)
{
	return s ? json_object_new_string(s) : NULL; /* NULL adds JSON null */
}

static json_object *vf_plan__step_json(const vf_step *s)
{
	json_object *j = json_object_new_object();
	json_object_object_add(j, "action", vf_json_str(vf_action_to_string(s->action)));
	json_object_object_add(j, "kind", vf_json_str(vf_kind_to_string(s->kind)));
	json_object_object_add(j, "pool", vf_json_str(s->pool));
	json_object_object_add(j, "name", vf_json_str(s->name));
	json_object_object_add(j, "file", vf_json_str(s->pos.file));
	json_object_object_add(j, "line", s->pos.file ? json_object_new_int(s->pos.line) : NULL);
	json_object_object_add(j, "reason", vf_json_str(s->reason ? s->reason : ""));
	json_object *changes = json_object_new_array();
	for (size_t k = 0; k < s->n_changes; k++) {
		const vf_change *c = &s->changes[k];
		json_object *jc = json_object_new_object();
		json_object_object_add(jc, "field", vf_json_str(c->field));
		json_object_object_add(jc, "old", vf_json_str(c->old_value));
		json_object_object_add(jc, "new", vf_json_str(c->new_value));
		json_object_object_add(jc, "effect", vf_json_str(vf_effect_to_string(c->effect)));
		json_object_array_add(changes, jc);
	}
	json_object_object_add(j, "changes", changes);
	return j;
}

static json_object *vf_plan__conflict_json(const vf_error *e)
{
	json_object *j = json_object_new_object();
	json_object_object_add(j, "code", vf_json_str(vf_code_to_string(e->code)));
	json_object_object_add(j, "message", vf_json_str(e->message ? e->message : ""));
	json_object_object_add(j, "file", vf_json_str(e->pos.file));
	json_object_object_add(j, "line", e->pos.line > 0 ? json_object_new_int(e->pos.line) : NULL);
	json_object_object_add(j, "col", e->pos.col > 0 ? json_object_new_int(e->pos.col) : NULL);
	json_object_object_add(j, "other_file", vf_json_str(e->other.file));
	json_object_object_add(j, "other_line",
			       e->other.line > 0 ? json_object_new_int(e->other.line) : NULL);
	return j;
}

char *vf_plan_to_json(const vf_plan *p, const vf_diags *conflicts)
{
	json_object *root = json_object_new_object();
	json_object_object_add(root, "format_version", json_object_new_string(VF_PLAN_FORMAT_VERSION));
	bool rejected = conflicts && conflicts->n > 0;
	json_object_object_add(root, "rejected", json_object_new_boolean(rejected));
	json_object_object_add(root, "changes", json_object_new_boolean(p && !vf_plan_empty(p)));
	json_object *steps = json_object_new_array();
	for (size_t i = 0; p && i < p->n; i++)
		json_object_array_add(steps, vf_plan__step_json(&p->steps[i]));
	json_object_object_add(root, "steps", steps);

	json_object *sum = json_object_new_object();
	static const struct {
		const char *key;
		vf_action action;
	} keys[] = {
		{ "create", VF_ACT_CREATE }, { "update", VF_ACT_UPDATE }, { "remove", VF_ACT_REMOVE },
		{ "blocked", VF_ACT_BLOCKED }, { "retain", VF_ACT_RETAIN },
	};
	for (size_t i = 0; i < VF_ARRAY_SIZE(keys); i++)
		json_object_object_add(sum, keys[i].key,
				       json_object_new_int64(p ? (int64_t)p->counts[keys[i].action] : 0));
	json_object_object_add(root, "summary", sum);

	json_object *cs = json_object_new_array();
	for (size_t i = 0; conflicts && i < conflicts->n; i++)
		json_object_array_add(cs, vf_plan__conflict_json(&conflicts->items[i]));
	json_object_object_add(root, "conflicts", cs);

	json_object *ls = json_object_new_array();
	for (size_t i = 0; p && i < p->n_leases; i++) {
		const vf_plan_lease *l = &p->leases[i];
		json_object *o = json_object_new_object();
		json_object_object_add(o, "object", json_object_new_string(l->object));
		json_object_object_add(o, "path", json_object_new_string(l->path));
		json_object_object_add(o, "pid", l->pid ? json_object_new_int64(l->pid) : NULL);
		json_object_object_add(o, "command", l->command ? json_object_new_string(l->command) : NULL);
		json_object_object_add(o, "lockspace", l->lockspace ? json_object_new_string(l->lockspace) : NULL);
		json_object_object_add(o, "lockFile", vf_json_str(l->lock_file));
		json_object_object_add(o, "shared", json_object_new_boolean(l->shared));
		json_object_array_add(ls, o);
	}
	json_object_object_add(root, "leases", ls);

	char *text = vf_strdup(json_object_to_json_string_ext(
		root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(root);
	return text;
}
