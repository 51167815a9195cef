/* ledger.c: reading and atomically writing <state-dir>/ledger.json, the
 * record of what virtform owns. Not for deciding what ownership means
 * (plan.c) or for locking the state directory (drivers/lock/). */
#include "ledger.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "statedir.h"

#define VF_LEDGER_FILE "ledger.json"
#define VF_LEDGER_VERSION 1

void vf_ledger_free(vf_ledger *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++) {
		free(l->entries[i].pool);
		free(l->entries[i].name);
		free(l->entries[i].source);
	}
	free(l->entries);
	memset(l, 0, sizeof(*l));
}

vf_ledger_entry *vf_ledger_find(const vf_ledger *l, vf_kind kind, const char *pool,
				const char *name)
{
	for (size_t i = 0; i < l->n; i++) {
		vf_ledger_entry *e = &l->entries[i];
		if (e->kind != kind || !vf_streq(e->name, name))
			continue;
		if (kind == VF_KIND_VOLUME && !vf_streq(e->pool, pool))
			continue;
		return e;
	}
	return NULL;
}

void vf_ledger_put(vf_ledger *l, vf_kind kind, const char *pool, const char *name,
		   const uuid_t uuid)
{
	vf_ledger_entry *e = vf_ledger_find(l, kind, pool, name);
	if (!e) {
		vf_ledger_entry n = {
			.kind = kind,
			.pool = kind == VF_KIND_VOLUME ? vf_strdup(pool) : NULL,
			.name = vf_strdup(name),
		};
		VF_APPEND(l->entries, l->n, l->cap, n);
		e = &l->entries[l->n - 1];
	}
	uuid_copy(e->uuid, uuid);
}

bool vf_ledger_drop(vf_ledger *l, vf_kind kind, const char *pool, const char *name)
{
	vf_ledger_entry *e = vf_ledger_find(l, kind, pool, name);
	if (!e)
		return false;
	free(e->pool);
	free(e->name);
	free(e->source);
	size_t i = (size_t)(e - l->entries);
	memmove(&l->entries[i], &l->entries[i + 1], (l->n - i - 1) * sizeof(*e));
	l->n--;
	return true;
}

static const char *vf_ledger__str(json_object *o, const char *key)
{
	json_object *v = NULL;
	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

int vf_ledger_load(const char *state_dir, vf_ledger *out, vf_error *err)
{
	_cleanup_free_ char *path = vf_asprintf("%s/%s", state_dir, VF_LEDGER_FILE);
	if (access(path, F_OK) < 0) {
		if (errno == ENOENT) {
			*out = (vf_ledger){ 0 };
			return 0;
		}
		return vf_error_set(err, VF_E_IO, "cannot access ledger %s: %s", path,
				    strerror(errno));
	}
	json_object *root = json_object_from_file(path);
	if (!root)
		return vf_error_set(err, VF_E_IO, "cannot read ledger %s: %s", path,
				    json_util_get_last_err());

	int r = 0;
	vf_ledger l = { 0 };
	json_object *entries = NULL, *ver = NULL;
	if (!json_object_object_get_ex(root, "version", &ver) ||
	    json_object_get_int(ver) != VF_LEDGER_VERSION ||
	    !json_object_object_get_ex(root, "entries", &entries) ||
	    !json_object_is_type(entries, json_type_array)) {
		r = vf_error_set(err, VF_E_IO,
				 "ledger %s is not a version %d virtform ledger; move it aside to start over",
				 path, VF_LEDGER_VERSION);
		goto out;
	}
	for (size_t i = 0; i < json_object_array_length(entries); i++) {
		json_object *e = json_object_array_get_idx(entries, i);
		const char *kind = vf_ledger__str(e, "kind");
		const char *name = vf_ledger__str(e, "name");
		const char *pool = vf_ledger__str(e, "pool");
		const char *uuid = vf_ledger__str(e, "uuid");
		const char *policy = vf_ledger__str(e, "deletionPolicy");
		int k = vf_kind_from_string(kind);
		uuid_t u;
		if (k < 0 || !name || (k == VF_KIND_VOLUME && !pool) || !uuid ||
		    uuid_parse(uuid, u) < 0) {
			r = vf_error_set(err, VF_E_IO, "ledger %s: entry %zu is malformed", path, i);
			goto out;
		}
		vf_ledger_put(&l, (vf_kind)k, pool, name, u);
		int p = vf_deletion_policy_from_string(policy);
		l.entries[l.n - 1].deletion = p < 0 ? VF_DELETION_RETAIN : (vf_deletion_policy)p;
		const char *source = vf_ledger__str(e, "source");
		free(l.entries[l.n - 1].source);
		l.entries[l.n - 1].source = vf_strdup(source);
	}
	*out = l;
	l = (vf_ledger){ 0 };
out:
	vf_ledger_free(&l);
	json_object_put(root);
	return r;
}

int vf_ledger_save(const char *state_dir, const vf_ledger *l, vf_error *err)
{
	if (mkdir(state_dir, 0700) < 0 && errno != EEXIST)
		return vf_error_set(err, VF_E_IO, "cannot create state directory %s: %s",
				    state_dir, strerror(errno));

	json_object *root = json_object_new_object();
	json_object_object_add(root, "version", json_object_new_int(VF_LEDGER_VERSION));
	json_object *arr = json_object_new_array();
	for (size_t i = 0; i < l->n; i++) {
		const vf_ledger_entry *e = &l->entries[i];
		char ustr[37];
		uuid_unparse_lower(e->uuid, ustr);
		json_object *o = json_object_new_object();
		json_object_object_add(o, "kind", json_object_new_string(vf_kind_to_string(e->kind)));
		json_object_object_add(o, "pool", e->pool ? json_object_new_string(e->pool) : NULL);
		json_object_object_add(o, "name", json_object_new_string(e->name));
		json_object_object_add(o, "uuid", json_object_new_string(ustr));
		json_object_object_add(o, "deletionPolicy",
				       json_object_new_string(vf_deletion_policy_to_string(
					       e->deletion == VF_DELETION_DELETE ? VF_DELETION_DELETE
										  : VF_DELETION_RETAIN)));
		if (e->source)
			json_object_object_add(o, "source", json_object_new_string(e->source));
		json_object_array_add(arr, o);
	}
	json_object_object_add(root, "entries", arr);
	const char *text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
								JSON_C_TO_STRING_NOSLASHESCAPE);
	_cleanup_free_ char *data = vf_asprintf("%s\n", text);
	json_object_put(root);

	_cleanup_free_ char *path = vf_asprintf("%s/%s", state_dir, VF_LEDGER_FILE);
	/* temp name, O_EXCL|O_NOFOLLOW, fsync, rename, fsync of the folder */
	return vf_statefile_write(path, data, strlen(data), err);
}
