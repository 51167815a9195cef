/* cloudinit.c: a Domain's cloud-init NoCloud seed content: inline YAML
 * emitted back to text with libyaml's emitter (so quoting, escapes and
 * multi-line strings come out as YAML, never pasted together), the default
 * meta-data, the SHA-256 the planner compares against the live domain's
 * virtform:seed, and where the seed volume lives.
 * Not for the ISO (drivers/seed/iso.c) or for the manifest's schema (decode_domain.c). */
#include "controller/load/cloudinit.h"

#include <errno.h>
#include <fcntl.h>
#include <gnutls/crypto.h>
#include <stdio.h>
#include <strings.h>
#include <unistd.h>
#include <yaml.h>

/* ---- emitting ------------------------------------------------------------- */

static int vf_ci__write(void *data, unsigned char *buffer, size_t size)
{
	vf_buf_addn(data, (const char *)buffer, size);
	return 1;
}

static int vf_ci__emit_event(yaml_emitter_t *e, yaml_event_t *ev, vf_error *err)
{
	if (yaml_emitter_emit(e, ev))
		return 0;
	return vf_error_set(err, VF_E_INTERNAL, "cannot emit YAML: %s",
			    e->problem ? e->problem : "unknown libyaml error");
}

static int vf_ci__emit_node(yaml_emitter_t *e, const vf_ynode *n, vf_error *err)
{
	yaml_event_t ev;
	int r;
	switch (n->type) {
	case VF_YNODE_SCALAR: {
		/* A plain scalar stays plain; a quoted one must stay a string, so
		 * it is marked non-plain and libyaml quotes it; `|` stays literal. */
		yaml_scalar_style_t style = n->literal ? YAML_LITERAL_SCALAR_STYLE
						       : n->plain ? YAML_PLAIN_SCALAR_STYLE
								  : YAML_ANY_SCALAR_STYLE;
		if (!yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)n->value,
						  (int)n->len, n->plain, 1, style))
			abort();
		return vf_ci__emit_event(e, &ev, err);
	}
	case VF_YNODE_MAP:
		if (!yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE))
			abort();
		if ((r = vf_ci__emit_event(e, &ev, err)) < 0)
			return r;
		for (size_t i = 0; i < n->n_pairs; i++) {
			if ((r = vf_ci__emit_node(e, n->pairs[i].key, err)) < 0 ||
			    (r = vf_ci__emit_node(e, n->pairs[i].value, err)) < 0)
				return r;
		}
		if (!yaml_mapping_end_event_initialize(&ev))
			abort();
		return vf_ci__emit_event(e, &ev, err);
	case VF_YNODE_SEQ:
		if (!yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_SEQUENCE_STYLE))
			abort();
		if ((r = vf_ci__emit_event(e, &ev, err)) < 0)
			return r;
		for (size_t i = 0; i < n->n_items; i++)
			if ((r = vf_ci__emit_node(e, n->items[i], err)) < 0)
				return r;
		if (!yaml_sequence_end_event_initialize(&ev))
			abort();
		return vf_ci__emit_event(e, &ev, err);
	}
	return vf_error_set(err, VF_E_INTERNAL, "unknown YAML node type %d", (int)n->type);
}

int vf_cloudinit_emit(const vf_ynode *n, const char *header, char **out, vf_error *err)
{
	yaml_emitter_t e;
	yaml_event_t ev;
	vf_buf b = { 0 };
	if (header)
		vf_buf_add(&b, header);
	if (!yaml_emitter_initialize(&e))
		abort();
	yaml_emitter_set_output(&e, vf_ci__write, &b);
	yaml_emitter_set_unicode(&e, 1);
	yaml_emitter_set_width(&e, -1);   /* never fold long lines: scripts stay as written */
	yaml_emitter_set_indent(&e, 2);
	int r = 0;
	if (!yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING))
		abort();
	r = vf_ci__emit_event(&e, &ev, err);
	if (r == 0) {
		if (!yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1))
			abort();
		r = vf_ci__emit_event(&e, &ev, err);
	}
	if (r == 0)
		r = vf_ci__emit_node(&e, n, err);
	if (r == 0) {
		if (!yaml_document_end_event_initialize(&ev, 1))
			abort();
		r = vf_ci__emit_event(&e, &ev, err);
	}
	if (r == 0) {
		if (!yaml_stream_end_event_initialize(&ev))
			abort();
		r = vf_ci__emit_event(&e, &ev, err);
	}
	if (r == 0 && !yaml_emitter_flush(&e))
		r = vf_error_set(err, VF_E_INTERNAL, "cannot emit YAML: %s",
				 e.problem ? e.problem : "flush failed");
	yaml_emitter_delete(&e);
	if (r < 0) {
		vf_buf_free(&b);
		return r;
	}
	*out = vf_buf_steal(&b);
	return 0;
}

/* ---- {file: PATH} ----------------------------------------------------------- */

int vf_cloudinit_read_file(const char *manifest, const char *path, char **out, vf_error *err)
{
	_cleanup_free_ char *full = NULL;
	const char *slash = manifest ? strrchr(manifest, '/') : NULL;
	if (path[0] == '/' || !slash)
		full = vf_strdup(path);
	else
		full = vf_asprintf("%.*s/%s", (int)(slash - manifest), manifest, path);
	int fd = open(full, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return vf_error_set(err, VF_E_IO, "cannot read \"%s\": %s", full, strerror(errno));
	vf_buf b = { 0 };
	char chunk[65536];
	for (;;) {
		ssize_t r = read(fd, chunk, sizeof(chunk));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			close(fd);
			vf_buf_free(&b);
			return vf_error_set(err, VF_E_IO, "cannot read \"%s\": %s", full, strerror(e));
		}
		if (r == 0)
			break;
		if (memchr(chunk, '\0', (size_t)r)) {
			close(fd);
			vf_buf_free(&b);
			return vf_error_set(err, VF_E_SCHEMA,
					    "\"%s\" contains a NUL byte; cloud-init files must be text (compressed user-data is not supported)",
					    full);
		}
		vf_buf_addn(&b, chunk, (size_t)r);
		if (b.len > VF_CLOUDINIT_MAX_FILE) {
			close(fd);
			vf_buf_free(&b);
			return vf_error_set(err, VF_E_LIMIT, "\"%s\" is larger than %u MiB", full,
					    VF_CLOUDINIT_MAX_FILE >> 20);
		}
	}
	close(fd);
	*out = vf_buf_steal(&b);
	return 0;
}

/* ---- defaults, hash, names -------------------------------------------------- */

/* Whether YAML 1.1 readers (cloud-init uses PyYAML) take `s` unquoted as a
 * string: a letter first, then host-name characters, and not a boolean or
 * null word. Anything else is quoted. */
static bool vf_ci__plain_string(const char *s)
{
	static const char *const words[] = { "true", "false", "yes", "no", "on", "off",
					     "y", "n", "null" };
	if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
		return false;
	if (strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_") != strlen(s))
		return false;
	for (size_t i = 0; i < VF_ARRAY_SIZE(words); i++)
		if (strcasecmp(s, words[i]) == 0)
			return false;
	return true;
}

char *vf_cloudinit_default_meta(const uuid_t uuid, const char *name)
{
	char u[UUID_STR_LEN];
	uuid_unparse_lower(uuid, u);
	/* metadata.name is a checked name (no control characters); one that
	 * YAML could read as another type is quoted. */
	char id_key[] = "instance-id", host_key[] = "local-hostname";
	_cleanup_free_ char *host = vf_strdup(name);
	vf_ynode k1 = { .type = VF_YNODE_SCALAR, .value = id_key, .len = strlen(id_key), .plain = true };
	vf_ynode v1 = { .type = VF_YNODE_SCALAR, .value = u, .len = strlen(u), .plain = true };
	vf_ynode k2 = { .type = VF_YNODE_SCALAR, .value = host_key, .len = strlen(host_key), .plain = true };
	vf_ynode v2 = { .type = VF_YNODE_SCALAR, .value = host, .len = strlen(host),
			.plain = vf_ci__plain_string(host) };
	vf_ypair pairs[2] = { { &k1, &v1 }, { &k2, &v2 } };
	vf_ynode map = { .type = VF_YNODE_MAP, .pairs = pairs, .n_pairs = 2 };
	char *out = NULL;
	if (vf_cloudinit_emit(&map, NULL, &out, NULL) < 0)
		abort(); /* fixed shape: cannot fail */
	return out;
}

static void vf_ci__hash_part(gnutls_hash_hd_t h, const char *name, const char *text)
{
	char frame[64];
	int n = text ? snprintf(frame, sizeof(frame), "%s %zu\n", name, strlen(text))
		     : snprintf(frame, sizeof(frame), "%s absent\n", name);
	gnutls_hash(h, frame, (size_t)n);
	if (text)
		gnutls_hash(h, text, strlen(text));
}

void vf_cloudinit_hash(const char *user_data, const char *meta_data, const char *network_config,
		       char out[65])
{
	gnutls_hash_hd_t h;
	unsigned char d[32];
	if (gnutls_hash_init(&h, GNUTLS_DIG_SHA256) < 0)
		abort();
	vf_ci__hash_part(h, "user-data", user_data);
	vf_ci__hash_part(h, "meta-data", meta_data);
	vf_ci__hash_part(h, "network-config", network_config);
	gnutls_hash_deinit(h, d);
	for (size_t i = 0; i < sizeof(d); i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
	out[64] = '\0';
}

char *vf_cloudinit_seed_name(const char *domain)
{
	return vf_asprintf("%s" VF_CLOUDINIT_SEED_SUFFIX, domain);
}

void vf_cloudinit_finish(const char *name, const uuid_t uuid, vf_domain_spec *ds)
{
	vf_cloudinit *ci = &ds->cloudinit;
	if (!ci->present)
		return;
	if (!ci->user_data)
		ci->user_data = vf_strdup("");
	if (!ci->meta_data)
		ci->meta_data = vf_cloudinit_default_meta(uuid, name);
	for (size_t i = 0; i < ds->n_disks && !ci->seed_pool; i++)
		if (ds->disks[i].has_volume)
			ci->seed_pool = vf_strdup(ds->disks[i].volume.pool);
	free(ci->seed_volume);
	ci->seed_volume = vf_cloudinit_seed_name(name);
	vf_cloudinit_hash(ci->user_data, ci->meta_data, ci->network_config, ci->hash);
}
