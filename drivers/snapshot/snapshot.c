/* snapshot.c: the snapshot document: its header (what it is, which
 * format, who wrote it, when, of which host and state directory), the
 * sections of sections.c in their order, the ledger and image cache, and
 * a digest over all of it. Reading refuses the whole file at the first
 * problem. Not for observing (the libvirt driver) or planning. */
#include "snap.h"

static const char *const vf_snap_host_keys[] = { "uri", "uuid", "uuid_hardware", "hostname",
						 NULL };
static const char *const vf_snap_sd_keys[] = { "path", "device", "inode", NULL };
static const char *const vf_snap_cache_keys[] = { "name", "size", NULL };

void vf_statedir_id_clear(vf_statedir_id *id)
{
	if (!id)
		return;
	free(id->path);
	memset(id, 0, sizeof(*id));
}

void vf_snapshot_free(vf_snapshot *s)
{
	if (!s)
		return;
	free(s->virtform_version);
	free(s->taken_at);
	vf_host_id_clear(&s->host);
	vf_statedir_id_clear(&s->state_dir);
	vf_observed_free(&s->observed);
	json_object_put(s->ledger);
	for (size_t i = 0; i < s->n_cache; i++)
		free(s->cache[i].name);
	free(s->cache);
	memset(s, 0, sizeof(*s));
}

json_object *vf_snapshot_host_json(const vf_host_id *host)
{
	json_object *h = json_object_new_object();
	vf_jw_str(h, "uri", host->uri);
	vf_jw_str(h, "uuid", host->uuid);
	vf_jw_bool(h, "uuid_hardware", host->uuid_hardware);
	vf_jw_str(h, "hostname", host->hostname);
	return h;
}

json_object *vf_snapshot_statedir_json(const vf_statedir_id *id)
{
	json_object *sd = json_object_new_object();
	vf_jw_str(sd, "path", id->path);
	vf_jw_u64(sd, "device", id->device);
	vf_jw_u64(sd, "inode", id->inode);
	return sd;
}

void vf_snapshot_host_read(vf_jr *jr, json_object *h, const char *path, vf_host_id *out)
{
	if (!vf_jr_object(jr, h, path, vf_snap_host_keys))
		return;
	out->uri = vf_jr_str(jr, h, path, "uri", false);
	out->uuid = vf_jr_str(jr, h, path, "uuid", true);
	out->uuid_hardware = vf_jr_bool(jr, h, path, "uuid_hardware");
	out->hostname = vf_jr_str(jr, h, path, "hostname", true);
}

void vf_snapshot_statedir_read(vf_jr *jr, json_object *sd, const char *path, vf_statedir_id *out)
{
	if (!vf_jr_object(jr, sd, path, vf_snap_sd_keys))
		return;
	out->path = vf_jr_str(jr, sd, path, "path", true);
	out->device = vf_jr_u64(jr, sd, path, "device");
	out->inode = vf_jr_u64(jr, sd, path, "inode");
}

char *vf_snapshot_to_text(const vf_snapshot *s)
{
	json_object *doc = json_object_new_object();
	vf_jw_str(doc, "kind", VF_SNAPSHOT_KIND);
	vf_jw_i64(doc, "format_version", VF_SNAPSHOT_FORMAT);
	vf_jw_str(doc, "virtform_version", VF_VERSION); /* written by this version */
	vf_jw_str(doc, "taken_at", s->taken_at);
	json_object_object_add(doc, "host", vf_snapshot_host_json(&s->host));
	json_object_object_add(doc, "state_dir", vf_snapshot_statedir_json(&s->state_dir));
	for (size_t i = 0; i < vf_snap_n_sections; i++)
		json_object_object_add(doc, vf_snap_sections[i].key,
				       vf_snap_sections[i].write(&s->observed));
	json_object_object_add(doc, "ledger", s->ledger ? json_object_get(s->ledger) : NULL);
	json_object *cache = json_object_new_array();
	for (size_t i = 0; i < s->n_cache; i++) {
		json_object *e = json_object_new_object();
		vf_jw_str(e, "name", s->cache[i].name);
		vf_jw_u64(e, "size", s->cache[i].size);
		json_object_array_add(cache, e);
	}
	json_object_object_add(doc, "image_cache", cache);
	char *digest = vf_jw_digest(doc);
	json_object_object_add(doc, "digest", json_object_new_string(digest));
	free(digest);
	char *text = vf_jw_text(doc);
	json_object_put(doc);
	return text;
}

/* kind and format_version, before anything else is believed. */
static int vf_snap__header(vf_jr *jr, json_object *doc)
{
	json_object *k = vf_jr_get(doc, "kind");
	if (!json_object_is_type(k, json_type_string) ||
	    strcmp(json_object_get_string(k), VF_SNAPSHOT_KIND) != 0)
		return vf_jr_fail(jr, "", k ? "kind" : NULL,
				  "not a virtform snapshot (its \"kind\" is not \"" VF_SNAPSHOT_KIND "\")");
	json_object *v = vf_jr_get(doc, "format_version");
	if (!json_object_is_type(v, json_type_int))
		return vf_jr_fail(jr, "", "format_version", "expected an integer");
	int64_t ver = json_object_get_int64(v);
	json_object *by = vf_jr_get(doc, "virtform_version");
	const char *who = json_object_is_type(by, json_type_string) ? json_object_get_string(by) : "?";
	if (ver < VF_SNAPSHOT_FORMAT_MIN)
		return vf_jr_fail(jr, "", "format_version",
				  "format %lld (virtform %s) is too old for virtform %s, which reads formats %d to %d; "
				  "take a new snapshot with this version",
				  (long long)ver, who, VF_VERSION, VF_SNAPSHOT_FORMAT_MIN, VF_SNAPSHOT_FORMAT);
	if (ver > VF_SNAPSHOT_FORMAT)
		return vf_jr_fail(jr, "", "format_version",
				  "format %lld was written by a newer virtform (%s); virtform %s reads formats %d to %d",
				  (long long)ver, who, VF_VERSION, VF_SNAPSHOT_FORMAT_MIN, VF_SNAPSHOT_FORMAT);
	return 0;
}

int vf_snapshot_from_text(const char *text, const char *file, vf_snapshot *out, vf_error *err)
{
	vf_jr jr = { .file = file, .text = text, .what = "snapshot", .err = err };
	json_object *doc = NULL;
	int r = vf_jr_parse(&jr, &doc);
	if (r < 0)
		return r;
	vf_snapshot s = { 0 };
	if (vf_snap__header(&jr, doc) < 0)
		goto out;

	const char *keys[32];
	size_t nk = 0;
	static const char *const head[] = { "kind", "format_version", "virtform_version", "taken_at",
					    "host", "state_dir" };
	for (size_t i = 0; i < VF_ARRAY_SIZE(head); i++)
		keys[nk++] = head[i];
	for (size_t i = 0; i < vf_snap_n_sections && nk < VF_ARRAY_SIZE(keys) - 4; i++)
		keys[nk++] = vf_snap_sections[i].key;
	keys[nk++] = "ledger";
	keys[nk++] = "image_cache";
	keys[nk++] = "digest";
	keys[nk] = NULL;
	if (!vf_jr_object(&jr, doc, "", keys))
		goto out;

	s.virtform_version = vf_jr_str(&jr, doc, "", "virtform_version", false);
	s.taken_at = vf_jr_str(&jr, doc, "", "taken_at", true);
	vf_snapshot_host_read(&jr, vf_jr_get(doc, "host"), "host", &s.host);
	vf_snapshot_statedir_read(&jr, vf_jr_get(doc, "state_dir"), "state_dir", &s.state_dir);
	for (size_t i = 0; i < vf_snap_n_sections && !jr.failed; i++)
		vf_snap_sections[i].read(&jr, vf_jr_get(doc, vf_snap_sections[i].key),
					 vf_snap_sections[i].key, &s.observed);
	json_object *l = vf_jr_get(doc, "ledger");
	if (l && !json_object_is_type(l, json_type_object))
		vf_jr_fail(&jr, "", "ledger", "expected an object or null");
	else if (l)
		s.ledger = json_object_get(l);
	size_t n = 0, cap = 0;
	json_object *cache = vf_jr_array(&jr, doc, "", "image_cache", &n);
	for (size_t i = 0; i < n && !jr.failed; i++) {
		_cleanup_free_ char *ep = vf_jr_index("image_cache", i);
		json_object *e = json_object_array_get_idx(cache, i);
		if (!vf_jr_object(&jr, e, ep, vf_snap_cache_keys))
			break;
		vf_cache_entry ce = { .name = vf_jr_str(&jr, e, ep, "name", false),
				      .size = vf_jr_u64(&jr, e, ep, "size") };
		VF_APPEND(s.cache, s.n_cache, cap, ce);
	}
	vf_jr_digest_ok(&jr, doc);
out:
	json_object_put(doc);
	if (jr.failed) {
		vf_snapshot_free(&s);
		return -VF_E_FORMAT;
	}
	*out = s;
	return 0;
}

int vf_snapshot_read(const char *path, vf_snapshot *out, vf_error *err)
{
	_cleanup_free_ char *text = NULL;
	int r = vf_jr_read_file(path, "snapshot", &text, err);
	if (r < 0)
		return r;
	return vf_snapshot_from_text(text, path, out, err);
}

json_object *vf_snapshot_object_json(const vf_observed *o, vf_kind kind, const char *pool,
				     const char *name)
{
	for (size_t i = 0; i < vf_snap_n_sections; i++) {
		const vf_snap_section *sec = &vf_snap_sections[i];
		if (sec->kind != kind || !sec->one)
			continue;
		json_object *r = sec->one(o, pool, name);
		for (size_t k = 0; r && sec->unplanned && sec->unplanned[k]; k++)
			json_object_object_del(r, sec->unplanned[k]);
		return r;
	}
	return NULL;
}
