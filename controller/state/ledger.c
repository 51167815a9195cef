/* ledger.c: reading and atomically writing <state-dir>/ledger.json, the
 * record of what virtform owns. Not for deciding what ownership means
 * (plan.c) or for locking the state directory (drivers/lock/). */
#include "controller/state/ledger.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "controller/core/statedir.h"

#define VF_LEDGER_FILE "ledger.json"
#define VF_LEDGER_VERSION 1

/* "complete" is never written: an entry without "state" is complete, so
 * ledgers written before the field existed load unchanged. */
static const char *const vf_ledger_state_table[VF_LEDGER_STATE_MAX] = {
	[VF_LEDGER_COMPLETE] = "complete",
	[VF_LEDGER_PENDING] = "pending",
	[VF_LEDGER_INCOMPLETE] = "incomplete",
	[VF_LEDGER_CLAIMED] = "claimed",
};
VF_STRING_TABLE(vf_ledger_state, vf_ledger_state, VF_LEDGER_STATE_MAX)

void vf_ledger_free(vf_ledger *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++) {
		free(l->entries[i].pool);
		free(l->entries[i].name);
		free(l->entries[i].source);
		free(l->entries[i].seed_of);
		free(l->entries[i].xml_digest);
		free(l->entries[i].xml_normalised);
	}
	free(l->entries);
	vf_host_id_clear(&l->host);
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
	free(e->seed_of);
	free(e->xml_digest);
	free(e->xml_normalised);
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

/* The top-level "host": {uri, uuid, uuidSource, hostname}; absent in a
 * ledger no run has bound yet. */
static int vf_ledger__host_load(json_object *root, vf_host_id *out)
{
	json_object *h = NULL;
	if (!json_object_object_get_ex(root, "host", &h) || json_object_is_type(h, json_type_null))
		return 0;
	const char *uri = json_object_is_type(h, json_type_object) ? vf_ledger__str(h, "uri") : NULL;
	if (!uri)
		return -1;
	const char *uuid = vf_ledger__str(h, "uuid");
	*out = (vf_host_id){
		.uri = vf_strdup(uri),
		.uuid = vf_strdup(uuid),
		.uuid_hardware = vf_streq(vf_ledger__str(h, "uuidSource"), "smbios"),
		.hostname = vf_strdup(vf_ledger__str(h, "hostname")),
	};
	return 0;
}

static json_object *vf_ledger__host_json(const vf_host_id *h)
{
	if (!h->uri)
		return NULL;
	json_object *o = json_object_new_object();
	json_object_object_add(o, "uri", json_object_new_string(h->uri));
	json_object_object_add(o, "uuid", h->uuid ? json_object_new_string(h->uuid) : NULL);
	json_object_object_add(o, "uuidSource",
			       h->uuid ? json_object_new_string(h->uuid_hardware ? "smbios" : "libvirt")
				       : NULL);
	json_object_object_add(o, "hostname", h->hostname ? json_object_new_string(h->hostname) : NULL);
	return o;
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
	int r = vf_ledger_from_json(root, path, out, err);
	json_object_put(root);
	return r;
}

int vf_ledger_from_json(json_object *root, const char *path, vf_ledger *out, vf_error *err)
{
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
	if (vf_ledger__host_load(root, &l.host) < 0) {
		r = vf_error_set(err, VF_E_IO, "ledger %s: its \"host\" is malformed", path);
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
		const char *seed_of = vf_ledger__str(e, "seedOf");
		free(l.entries[l.n - 1].seed_of);
		l.entries[l.n - 1].seed_of = vf_strdup(seed_of);
		const char *state = vf_ledger__str(e, "state");
		int st = state ? vf_ledger_state_from_string(state) : VF_LEDGER_COMPLETE;
		if (st < 0) {
			r = vf_error_set(err, VF_E_IO,
					 "ledger %s: entry %zu has an unknown state \"%s\"; move the ledger aside to start over",
					 path, i, state);
			goto out;
		}
		l.entries[l.n - 1].state = (vf_ledger_state)st;
		json_object *t = NULL;
		if (json_object_object_get_ex(e, "shutdownTimeout", &t) &&
		    json_object_is_type(t, json_type_int) && json_object_get_int64(t) >= 0 &&
		    json_object_get_int64(t) <= UINT32_MAX) {
			l.entries[l.n - 1].has_shutdown_timeout = true;
			l.entries[l.n - 1].shutdown_timeout = (uint32_t)json_object_get_int64(t);
		}
		json_object *x = NULL;
		if (json_object_object_get_ex(e, "xml", &x) && json_object_is_type(x, json_type_object)) {
			/* each digest names a file in records/: only 64 hex digits,
			 * and half a record is none */
			const char *dg = vf_ledger__str(x, "sha256"), *nd = vf_ledger__str(x, "normalised");
			if (vf_sha256_hex_valid(dg) && vf_sha256_hex_valid(nd)) {
				l.entries[l.n - 1].xml_digest = vf_strdup(dg);
				l.entries[l.n - 1].xml_normalised = vf_strdup(nd);
			}
		}
	}
	*out = l;
	l = (vf_ledger){ 0 };
out:
	vf_ledger_free(&l);
	return r;
}

int vf_ledger_save(const char *state_dir, const vf_ledger *l, vf_error *err)
{
	if (mkdir(state_dir, 0700) < 0 && errno != EEXIST)
		return vf_error_set(err, VF_E_IO, "cannot create state directory %s: %s",
				    state_dir, strerror(errno));

	json_object *root = vf_ledger_to_json(l);
	const char *text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
								JSON_C_TO_STRING_NOSLASHESCAPE);
	_cleanup_free_ char *data = vf_asprintf("%s\n", text);
	json_object_put(root);

	_cleanup_free_ char *path = vf_asprintf("%s/%s", state_dir, VF_LEDGER_FILE);
	/* temp name, O_EXCL|O_NOFOLLOW, fsync, rename, fsync of the folder */
	return vf_statefile_write(path, data, strlen(data), err);
}

json_object *vf_ledger_to_json(const vf_ledger *l)
{
	json_object *root = json_object_new_object();
	json_object_object_add(root, "version", json_object_new_int(VF_LEDGER_VERSION));
	if (l->host.uri)
		json_object_object_add(root, "host", vf_ledger__host_json(&l->host));
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
		if (e->seed_of)
			json_object_object_add(o, "seedOf", json_object_new_string(e->seed_of));
		if (e->state != VF_LEDGER_COMPLETE)
			json_object_object_add(o, "state", json_object_new_string(
							       vf_ledger_state_to_string(e->state)));
		if (e->has_shutdown_timeout)
			json_object_object_add(o, "shutdownTimeout",
					       json_object_new_int64(e->shutdown_timeout));
		if (e->xml_digest && e->xml_normalised) {
			json_object *x = json_object_new_object();
			json_object_object_add(x, "sha256", json_object_new_string(e->xml_digest));
			json_object_object_add(x, "normalised", json_object_new_string(e->xml_normalised));
			json_object_object_add(o, "xml", x);
		}
		json_object_array_add(arr, o);
	}
	json_object_object_add(root, "entries", arr);
	return root;
}

/* ---- the host a state directory belongs to -------------------------------- */

/* What names one libvirt driver and daemon in a URI, whatever the transport
 * and the host part: "qemu+ssh://root@h:2222/system?keyfile=k" is
 * "qemu" + "/system". */
static char *vf_ledger__instance(const char *uri)
{
	const char *colon = strchr(uri, ':');
	if (!colon)
		return vf_strdup(uri);
	size_t scheme = strcspn(uri, "+:");
	const char *rest = colon + 1;
	if (strncmp(rest, "//", 2) == 0) {
		rest += 2;
		rest += strcspn(rest, "/?"); /* the authority: user@host:port */
	}
	size_t path = strcspn(rest, "?#");
	return vf_asprintf("%.*s:%.*s", (int)scheme, uri, (int)path, rest);
}

static char *vf_ledger__host_desc(const vf_host_id *h)
{
	return vf_asprintf("%s (host UUID %s%s, host name %s)", h->uri,
			   h->uuid ? h->uuid : "none reported",
			   h->uuid && !h->uuid_hardware ? ", not from SMBIOS" : "",
			   h->hostname ? h->hostname : "unknown");
}

/* NULL when `live` is the recorded host, else why it is not. */
static const char *vf_ledger__host_differs(const vf_host_id *rec, const vf_host_id *live)
{
	_cleanup_free_ char *ri = vf_ledger__instance(rec->uri);
	_cleanup_free_ char *li = vf_ledger__instance(live->uri);
	if (strcmp(ri, li) != 0)
		return "another libvirt driver or daemon";
	if (rec->uuid && live->uuid) {
		if (strcasecmp(rec->uuid, live->uuid) == 0)
			return NULL;
		/* The machine's own UUID on either side: two machines. */
		if (rec->uuid_hardware || live->uuid_hardware)
			return "another host UUID";
	}
	/* Without SMBIOS, libvirtd makes up a host UUID at each start (and a
	 * driver may report none): the host's name decides then. */
	if (!vf_streq_null(rec->hostname, live->hostname))
		return "another host name";
	return NULL;
}

int vf_ledger_bind_host(vf_ledger *l, const vf_host_id *live, const char *state_dir,
			vf_error *err)
{
	bool bound = l->host.uri != NULL;
	if (bound) {
		const char *why = vf_ledger__host_differs(&l->host, live);
		if (why) {
			_cleanup_free_ char *rec = vf_ledger__host_desc(&l->host);
			_cleanup_free_ char *now = vf_ledger__host_desc(live);
			return vf_error_set(err, VF_E_HOST,
					    "state directory %s belongs to another host (%s): its ledger "
					    "is bound to %s, and this connection is to %s. Nothing was "
					    "changed or forgotten. Use this host's own state directory "
					    "(--state-dir), or connect to the ledger's host (-c %s); to "
					    "start over on this host, move %s aside",
					    state_dir, why, rec, now, l->host.uri, state_dir);
		}
	}
	vf_host_id h = {
		.uri = vf_strdup(live->uri),
		.uuid = vf_strdup(live->uuid),
		.uuid_hardware = live->uuid_hardware,
		.hostname = vf_strdup(live->hostname),
	};
	vf_host_id_clear(&l->host);
	l->host = h;
	return bound ? 0 : 1;
}
