/* saved.c: writing, reading and checking saved plans (saved.h). An
 * object's fingerprint is the SHA-256 of its snapshot record (the very
 * JSON `virtform snapshot` writes for it, null when absent) and its
 * ledger entry: the record is kept beside it, so a stale plan can say
 * which fields changed. Not for planning or applying. */
#include "controller/apply/saved.h"

#include "controller/plan/planprint.h"

void vf_saved_meta_clear(vf_saved_meta *m)
{
	if (!m)
		return;
	vf_host_id_clear(&m->host);
	vf_statedir_id_clear(&m->state_dir);
	free(m->manifest_digest);
	for (size_t i = 0; i < m->n_replace; i++)
		free(m->replace[i]);
	free(m->replace);
	memset(m, 0, sizeof(*m));
}

void vf_saved_plan_free(vf_saved_plan *sp)
{
	if (!sp)
		return;
	vf_saved_meta_clear(&sp->meta);
	json_object_put(sp->doc);
	memset(sp, 0, sizeof(*sp));
}

/* ---- the manifest set ------------------------------------------------------ */

char *vf_saved_manifest_digest(const vf_desired *d, const char *const *paths, size_t n_paths,
			       vf_error *err)
{
	vf_buf b = { 0 };
	for (size_t i = 0; i < d->n_files; i++) {
		const char *f = d->files[i], *rel = f;
		for (size_t k = 0; k < n_paths; k++) {
			size_t pl = strlen(paths[k]);
			while (pl > 1 && paths[k][pl - 1] == '/')
				pl--;
			if (strncmp(f, paths[k], pl) == 0 && f[pl] == '/') {
				rel = f + pl + 1;
				break;
			}
			if (strcmp(f, paths[k]) == 0) {
				const char *slash = strrchr(f, '/');
				rel = slash ? slash + 1 : f;
				break;
			}
		}
		_cleanup_free_ char *text = NULL;
		if (vf_jr_read_file(f, "manifest", &text, err) < 0) {
			vf_buf_free(&b);
			return NULL;
		}
		char hex[65];
		vf_sha256_hex(text, strlen(text), hex);
		vf_buf_printf(&b, "file %s %s\n", rel, hex);
	}
	for (size_t i = 0; i < d->n; i++) {
		const vf_object *o = &d->objs[i];
		if (o->kind != VF_KIND_DOMAIN)
			continue;
		vf_buf_printf(&b, "domain %s cloud-init %s xml %s\n", o->name,
			      o->u.domain.cloudinit.present ? o->u.domain.cloudinit.hash : "-",
			      o->u.domain.xml ? o->u.domain.xml_hash : "-");
	}
	char hex[65];
	vf_sha256_hex(b.data ? b.data : "", b.len, hex);
	vf_buf_free(&b);
	return vf_asprintf("sha256:%s", hex);
}

/* ---- what a step touches ----------------------------------------------------- */

typedef struct vf_saved_ref {
	vf_kind kind;
	const char *pool;         /* borrowed from the plan */
	const char *name;
} vf_saved_ref;

static void vf_saved__add_ref(vf_saved_ref **refs, size_t *n, size_t *cap, vf_kind kind,
			      const char *pool, const char *name)
{
	if (!name)
		return;
	if (kind != VF_KIND_VOLUME)
		pool = NULL;
	for (size_t i = 0; i < *n; i++)
		if ((*refs)[i].kind == kind && vf_streq_null((*refs)[i].pool, pool) &&
		    vf_streq((*refs)[i].name, name))
			return;
	vf_saved_ref r = { kind, pool, name };
	VF_APPEND(*refs, *n, *cap, r);
}

/* Every object a step of p touches: its own, a volume's pool, the seed
 * volumes of domains. */
static vf_saved_ref *vf_saved__refs(const vf_plan *p, size_t *ret_n)
{
	vf_saved_ref *refs = NULL;
	size_t n = 0, cap = 0;
	for (size_t i = 0; i < p->n; i++) {
		const vf_step *s = &p->steps[i];
		vf_saved__add_ref(&refs, &n, &cap, s->kind, s->pool, s->name);
		if (s->kind == VF_KIND_VOLUME)
			vf_saved__add_ref(&refs, &n, &cap, VF_KIND_POOL, NULL, s->pool);
		for (size_t k = 0; k < s->n_ops; k++)
			if (s->ops[k].type == VF_OP_SEED_WRITE || s->ops[k].type == VF_OP_SEED_DELETE)
				vf_saved__add_ref(&refs, &n, &cap, VF_KIND_VOLUME, s->ops[k].pool,
						  s->ops[k].name);
	}
	*ret_n = n;
	return refs;
}

static char *vf_saved__id(vf_kind kind, const char *pool, const char *name)
{
	return pool ? vf_asprintf("%s/%s/%s", vf_kind_to_string(kind), pool, name)
		    : vf_asprintf("%s/%s", vf_kind_to_string(kind), name);
}

/* The object's ledger entry as ledger.json holds it, or NULL. */
static json_object *vf_saved__ledger_entry(json_object *ledger, vf_kind kind, const char *pool,
					   const char *name)
{
	json_object *entries = vf_jr_get(ledger, "entries");
	for (size_t i = 0; entries && i < json_object_array_length(entries); i++) {
		json_object *e = json_object_array_get_idx(entries, i);
		json_object *p = vf_jr_get(e, "pool");
		if (vf_streq(json_object_get_string(vf_jr_get(e, "kind")), vf_kind_to_string(kind)) &&
		    vf_streq(json_object_get_string(vf_jr_get(e, "name")), name) &&
		    vf_streq_null(p ? json_object_get_string(p) : NULL, pool))
			return json_object_get(e);
	}
	return NULL;
}

/* {"observed": record|null, "ledger": entry|null} and its fingerprint. */
static json_object *vf_saved__record(const vf_observed *o, json_object *ledger, vf_kind kind,
				     const char *pool, const char *name, char **ret_fp)
{
	json_object *r = json_object_new_object();
	json_object_object_add(r, "observed", vf_snapshot_object_json(o, kind, pool, name));
	json_object_object_add(r, "ledger", vf_saved__ledger_entry(ledger, kind, pool, name));
	*ret_fp = vf_jw_digest(r);
	return r;
}

/* The plan's JSON with what may differ between two spellings of the same
 * manifest directory (each step's file name) taken out. */
static char *vf_saved__plan_key(json_object *plan)
{
	json_object *c = NULL;
	json_object_deep_copy(plan, &c, NULL);
	json_object *steps = vf_jr_get(c, "steps");
	for (size_t i = 0; steps && i < json_object_array_length(steps); i++)
		json_object_object_del(json_object_array_get_idx(steps, i), "file");
	char *text = vf_strdup(json_object_to_json_string_ext(c, JSON_C_TO_STRING_PLAIN));
	json_object_put(c);
	return text;
}

static json_object *vf_saved__plan_json(const vf_plan *p)
{
	_cleanup_free_ char *text = vf_plan_to_json(p, NULL);
	return json_tokener_parse(text);
}

/* ---- writing ----------------------------------------------------------------- */

char *vf_saved_plan_text(const vf_saved_meta *m, const vf_plan *p, const vf_observed *o,
			 const vf_ledger *l)
{
	json_object *doc = json_object_new_object();
	vf_jw_str(doc, "kind", VF_SAVED_PLAN_KIND);
	vf_jw_i64(doc, "format_version", VF_SAVED_PLAN_FORMAT);
	vf_jw_str(doc, "virtform_version", VF_VERSION);
	_cleanup_free_ char *now = vf_format_time(time(NULL));
	vf_jw_str(doc, "made_at", now);
	json_object_object_add(doc, "host", vf_snapshot_host_json(&m->host));
	json_object_object_add(doc, "state_dir", vf_snapshot_statedir_json(&m->state_dir));
	json_object *man = json_object_new_object();
	vf_jw_str(man, "digest", m->manifest_digest);
	json_object_object_add(doc, "manifests", man);
	json_object *opts = json_object_new_object();
	json_object *rep = json_object_new_array();
	for (size_t i = 0; i < m->n_replace; i++)
		json_object_array_add(rep, json_object_new_string(m->replace[i]));
	json_object_object_add(opts, "replace", rep);
	vf_jw_bool(opts, "allow_empty", m->allow_empty);
	json_object_object_add(doc, "options", opts);
	json_object_object_add(doc, "plan", vf_saved__plan_json(p));

	json_object *ledger = vf_ledger_to_json(l);
	json_object *objs = json_object_new_array();
	size_t n = 0;
	_cleanup_free_ vf_saved_ref *refs = vf_saved__refs(p, &n);
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *id = vf_saved__id(refs[i].kind, refs[i].pool, refs[i].name);
		_cleanup_free_ char *fp = NULL;
		json_object *rec = vf_saved__record(o, ledger, refs[i].kind, refs[i].pool, refs[i].name, &fp);
		json_object *e = json_object_new_object();
		vf_jw_str(e, "object", id);
		vf_jw_str(e, "kind", vf_kind_to_string(refs[i].kind));
		vf_jw_str(e, "pool", refs[i].pool);
		vf_jw_str(e, "name", refs[i].name);
		vf_jw_str(e, "fingerprint", fp);
		json_object_object_add(e, "observed", json_object_get(vf_jr_get(rec, "observed")));
		json_object_object_add(e, "ledger", json_object_get(vf_jr_get(rec, "ledger")));
		json_object_put(rec);
		json_object_array_add(objs, e);
	}
	json_object_put(ledger);
	json_object_object_add(doc, "objects", objs);
	_cleanup_free_ char *digest = vf_jw_digest(doc);
	vf_jw_str(doc, "digest", digest);
	char *text = vf_jw_text(doc);
	json_object_put(doc);
	return text;
}

/* ---- reading ----------------------------------------------------------------- */

static const char *const vf_saved_keys[] = {
	"kind", "format_version", "virtform_version", "made_at", "host", "state_dir",
	"manifests", "options", "plan", "objects", "digest", NULL,
};
static const char *const vf_saved_obj_keys[] = { "object", "kind", "pool", "name",
						 "fingerprint", "observed", "ledger", NULL };

int vf_saved_plan_read(const char *path, vf_saved_plan *out, vf_error *err)
{
	_cleanup_free_ char *text = NULL;
	int r = vf_jr_read_file(path, "saved plan", &text, err);
	if (r < 0)
		return r;
	vf_jr jr = { .file = path, .text = text, .what = "saved plan", .err = err };
	json_object *doc = NULL;
	r = vf_jr_parse(&jr, &doc);
	if (r < 0)
		return r;
	vf_saved_plan sp = { .doc = doc };
	json_object *k = vf_jr_get(doc, "kind");
	if (!vf_streq(json_object_get_string(k), VF_SAVED_PLAN_KIND)) {
		vf_jr_fail(&jr, "", k ? "kind" : NULL,
			   "not a virtform saved plan (its \"kind\" is not \"" VF_SAVED_PLAN_KIND "\")");
		goto out;
	}
	/* any other version: its steps may mean something else to this one */
	json_object *v = vf_jr_get(doc, "format_version");
	json_object *by = vf_jr_get(doc, "virtform_version");
	const char *who = json_object_is_type(by, json_type_string) ? json_object_get_string(by) : "?";
	if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) != VF_SAVED_PLAN_FORMAT ||
	    !vf_streq(who, VF_VERSION)) {
		vf_jr_fail(&jr, "", "virtform_version",
			   "made by virtform %s (format %s), which this virtform %s cannot apply: "
			   "make the plan again with this version",
			   who, v ? json_object_get_string(v) : "?", VF_VERSION);
		goto out;
	}
	if (!vf_jr_object(&jr, doc, "", vf_saved_keys))
		goto out;
	vf_snapshot_host_read(&jr, vf_jr_get(doc, "host"), "host", &sp.meta.host);
	vf_snapshot_statedir_read(&jr, vf_jr_get(doc, "state_dir"), "state_dir", &sp.meta.state_dir);
	static const char *const man_keys[] = { "digest", NULL };
	json_object *man = vf_jr_get(doc, "manifests");
	if (vf_jr_object(&jr, man, "manifests", man_keys))
		sp.meta.manifest_digest = vf_jr_str(&jr, man, "manifests", "digest", false);
	static const char *const opt_keys[] = { "replace", "allow_empty", NULL };
	json_object *opts = vf_jr_get(doc, "options");
	if (vf_jr_object(&jr, opts, "options", opt_keys)) {
		size_t n = 0, cap = 0;
		json_object *rep = vf_jr_array(&jr, opts, "options", "replace", &n);
		for (size_t i = 0; i < n && !jr.failed; i++) {
			json_object *x = json_object_array_get_idx(rep, i);
			if (!json_object_is_type(x, json_type_string)) {
				_cleanup_free_ char *xp = vf_jr_index("options.replace", i);
				vf_jr_fail(&jr, xp, NULL, "expected a string");
				break;
			}
			VF_APPEND(sp.meta.replace, sp.meta.n_replace, cap, vf_strdup(json_object_get_string(x)));
		}
		sp.meta.allow_empty = vf_jr_bool(&jr, opts, "options", "allow_empty");
	}
	sp.plan = vf_jr_get(doc, "plan");
	if (!jr.failed && !json_object_is_type(sp.plan, json_type_object))
		vf_jr_fail(&jr, "", "plan", "expected an object");
	size_t n = 0;
	sp.objects = vf_jr_array(&jr, doc, "", "objects", &n);
	for (size_t i = 0; i < n && !jr.failed; i++) {
		_cleanup_free_ char *ep = vf_jr_index("objects", i);
		json_object *e = json_object_array_get_idx(sp.objects, i);
		if (!vf_jr_object(&jr, e, ep, vf_saved_obj_keys))
			break;
		_cleanup_free_ char *kind = vf_jr_str(&jr, e, ep, "kind", false);
		if (kind && vf_kind_from_string(kind) < 0)
			vf_jr_fail(&jr, ep, "kind", "unknown kind \"%s\"", kind);
		free(vf_jr_str(&jr, e, ep, "object", false));
		free(vf_jr_str(&jr, e, ep, "pool", true));
		free(vf_jr_str(&jr, e, ep, "name", false));
		free(vf_jr_str(&jr, e, ep, "fingerprint", false));
	}
	vf_jr_digest_ok(&jr, doc);
out:
	if (jr.failed) {
		vf_saved_plan_free(&sp);
		return -VF_E_FORMAT;
	}
	*out = sp;
	return 0;
}

/* ---- checking ---------------------------------------------------------------- */

int vf_saved_plan_check_inputs(const vf_saved_plan *sp, const vf_host_id *host,
			       const vf_statedir_id *state_dir, const char *manifest_digest,
			       vf_error *err)
{
	const vf_host_id *was = &sp->meta.host;
	/* as rule 10 decides: the host UUID, or, when libvirt made both up (it
	 * does at each start on a machine without SMBIOS data), the same URI
	 * and host name */
	bool same_host = vf_streq(was->uuid, host->uuid) ||
		(!was->uuid_hardware && !host->uuid_hardware && vf_streq(was->uri, host->uri) &&
		 vf_streq_null(was->hostname, host->hostname));
	if (!same_host)
		return vf_error_set(err, VF_E_STALE,
				    "saved plan was made for another host (%s, host UUID %s), not %s (host UUID %s); "
				    "nothing was changed",
				    was->uri, was->uuid ? was->uuid : "unknown", host->uri,
				    host->uuid ? host->uuid : "unknown");
	const vf_statedir_id *sd = &sp->meta.state_dir;
	bool same_dir = sd->inode && state_dir->inode
		? sd->device == state_dir->device && sd->inode == state_dir->inode
		: vf_streq_null(sd->path, state_dir->path); /* it did not exist yet when planned */
	if (!same_dir)
		return vf_error_set(err, VF_E_STALE,
				    "saved plan was made with another state directory (%s), not %s; nothing was changed",
				    sd->path ? sd->path : "unknown", state_dir->path);
	if (!vf_streq(sp->meta.manifest_digest, manifest_digest))
		return vf_error_set(err, VF_E_STALE,
				    "saved plan was made from other manifests: the manifest set changed since the plan "
				    "was made; nothing was changed, make a new plan");
	return 0;
}

/* What differs between a saved record and the live one, for a person:
 * "live memory changed", "is gone from the host". Caller frees. */
static char *vf_saved__what_changed(json_object *was, json_object *now)
{
	json_object *wo = vf_jr_get(was, "observed"), *no = vf_jr_get(now, "observed");
	if (!wo && no)
		return vf_strdup("appeared on the host since the plan was made");
	if (wo && !no)
		return vf_strdup("is gone from the host since the plan was made");
	vf_buf b = { 0 };
	if (wo && no) {
		json_object_object_foreach(wo, key, val) {
			if (json_object_equal(val, vf_jr_get(no, key)))
				continue;
			_cleanup_free_ char *words = vf_strdup(key);
			for (char *c = words; *c; c++)
				if (*c == '_')
					*c = ' ';
			vf_buf_printf(&b, "%s%s", b.len ? ", " : "", words);
		}
	}
	if (b.len)
		vf_buf_add(&b, " changed since the plan was made");
	if (!json_object_equal(vf_jr_get(was, "ledger"), vf_jr_get(now, "ledger")))
		vf_buf_printf(&b, "%sits ownership record in the ledger changed since the plan was made",
			      b.len ? "; " : "");
	if (!b.len)
		vf_buf_add(&b, "changed since the plan was made");
	return vf_buf_steal(&b);
}

/* The first step where two plans' JSON differ: "step 2 (Domain/web)". */
static char *vf_saved__first_difference(json_object *was, json_object *now)
{
	json_object *ws = vf_jr_get(was, "steps"), *ns = vf_jr_get(now, "steps");
	size_t wn = ws ? json_object_array_length(ws) : 0, nn = ns ? json_object_array_length(ns) : 0;
	for (size_t i = 0; i < wn || i < nn; i++) {
		json_object *a = i < wn ? json_object_array_get_idx(ws, i) : NULL;
		json_object *b = i < nn ? json_object_array_get_idx(ns, i) : NULL;
		json_object *s = a ? a : b;
		const char *pool = json_object_get_string(vf_jr_get(s, "pool"));
		_cleanup_free_ char *id = pool
			? vf_asprintf("%s/%s/%s", json_object_get_string(vf_jr_get(s, "kind")), pool,
				      json_object_get_string(vf_jr_get(s, "name")))
			: vf_asprintf("%s/%s", json_object_get_string(vf_jr_get(s, "kind")),
				      json_object_get_string(vf_jr_get(s, "name")));
		if (!a)
			return vf_asprintf("a new step %zu (%s)", i + 1, id);
		if (!b)
			return vf_asprintf("step %zu (%s) is no longer needed", i + 1, id);
		json_object_object_del(a, "file");
		json_object_object_del(b, "file");
		if (!json_object_equal(a, b))
			return vf_asprintf("step %zu (%s)", i + 1, id);
	}
	return vf_strdup("the plan's leases or summary");
}

int vf_saved_plan_check(const vf_saved_plan *sp, const vf_plan *p, const vf_observed *o,
			const vf_ledger *l, vf_error *err)
{
	json_object *ledger = vf_ledger_to_json(l);
	vf_buf b = { 0 };
	size_t n = json_object_array_length(sp->objects);
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(sp->objects, i);
		const char *kind = json_object_get_string(vf_jr_get(e, "kind"));
		json_object *pj = vf_jr_get(e, "pool");
		const char *pool = pj ? json_object_get_string(pj) : NULL;
		const char *name = json_object_get_string(vf_jr_get(e, "name"));
		_cleanup_free_ char *fp = NULL;
		json_object *now = vf_saved__record(o, ledger, (vf_kind)vf_kind_from_string(kind), pool,
						    name, &fp);
		if (!vf_streq(fp, json_object_get_string(vf_jr_get(e, "fingerprint")))) {
			_cleanup_free_ char *what = vf_saved__what_changed(e, now);
			vf_buf_printf(&b, "%s%s: %s", b.len ? "; " : "",
				      json_object_get_string(vf_jr_get(e, "object")), what);
		}
		json_object_put(now);
	}
	json_object_put(ledger);
	if (b.len) {
		_cleanup_free_ char *list = vf_buf_steal(&b);
		return vf_error_set(err, VF_E_STALE,
				    "saved plan is stale: %s; nothing was changed, make a new plan", list);
	}
	json_object *now = vf_saved__plan_json(p);
	_cleanup_free_ char *want = vf_saved__plan_key(sp->plan);
	_cleanup_free_ char *got = vf_saved__plan_key(now);
	int r = 0;
	if (strcmp(want, got) != 0) {
		json_object *was = NULL;
		json_object_deep_copy(sp->plan, &was, NULL);
		_cleanup_free_ char *where = vf_saved__first_difference(was, now);
		json_object_put(was);
		r = vf_error_set(err, VF_E_STALE,
				 "saved plan is stale: the objects it touches are unchanged, but the plan made now "
				 "differs at %s (something else on the host changed); nothing was changed, make a new plan",
				 where);
	}
	json_object_put(now);
	return r;
}
