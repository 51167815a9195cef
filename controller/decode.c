/* decode.c: turns one parsed YAML document into a vf_object, strictly: every
 * unknown field, wrong type, bad value and missing field is reported at its
 * node, and decoding carries on so one run shows every problem.
 * Not for reading files or finding duplicates across documents (manifest.c). */
#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "cloudinit.h"
#include "decode.h"

typedef struct vf_dec {
	const char *file;
	vf_diags *diags;
	int rc;                   /* first problem's -code */
	const char *kind;         /* "Domain", for messages */
} vf_dec;

static void vf_dec__fail(vf_dec *d, vf_code code, vf_pos pos, const char *fmt, ...) VF_PRINTF(4, 5);

static void vf_dec__fail(vf_dec *d, vf_code code, vf_pos pos, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = vf_diag_addv(d->diags, code, pos, fmt, ap);
	va_end(ap);
	if (!d->rc)
		d->rc = r;
}

/* Map `n` (at `path`) sets both of two fields that exclude each other:
 * report it at whichever key comes later, the one most likely added last. */
static void vf_dec__both(vf_dec *d, const vf_ynode *n, const char *path, const char *a,
			 const char *b)
{
	const vf_ynode *ka = vf_ynode_key(n, a), *kb = vf_ynode_key(n, b);
	vf_dec__fail(d, VF_E_SCHEMA, ka->pos.line > kb->pos.line ? ka->pos : kb->pos,
		     "%s has both %s and %s; give exactly one", path, a, b);
}

/* A value parser's message, placed at the node. */
static void vf_dec__fail_err(vf_dec *d, vf_pos pos, vf_error *err)
{
	vf_dec__fail(d, err->code, pos, "%s", err->message);
	vf_error_clear(err);
}

static bool vf_dec__is_bool(const vf_ynode *n)
{
	return n->type == VF_YNODE_SCALAR && n->plain &&
	       (strcmp(n->value, "true") == 0 || strcmp(n->value, "false") == 0);
}

/* YAML 1.2 core-schema numbers: 12, -3, 1.5, 1e3, 0x1f, 0o17, .inf, .nan */
static bool vf_dec__is_number(const vf_ynode *n)
{
	if (n->type != VF_YNODE_SCALAR || !n->plain)
		return false;
	const char *s = n->value;
	if (strcmp(s, ".inf") == 0 || strcmp(s, "-.inf") == 0 || strcmp(s, ".nan") == 0)
		return true;
	if ((s[0] == '0' && (s[1] == 'x' || s[1] == 'o')) && s[2])
		return strspn(s + 2, "0123456789abcdefABCDEF") == strlen(s + 2);
	if (*s == '-' || *s == '+')
		s++;
	size_t digits = strspn(s, "0123456789");
	s += digits;
	if (*s == '.') {
		size_t f = strspn(s + 1, "0123456789");
		digits += f;
		s += 1 + f;
	}
	if (digits == 0)
		return false;
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '-' || *s == '+')
			s++;
		size_t e = strspn(s, "0123456789");
		if (!e)
			return false;
		s += e;
	}
	return *s == '\0';
}

static const char *vf_dec__type_of(const vf_ynode *n)
{
	if (n->type == VF_YNODE_MAP)
		return "a mapping";
	if (n->type == VF_YNODE_SEQ)
		return "a list";
	if (vf_ynode_is_null(n))
		return "null";
	if (vf_dec__is_bool(n))
		return "a boolean";
	if (vf_dec__is_number(n))
		return "a number";
	return "a string";
}

static const char *vf_dec__suggest(const char *word, const char *const *choices, size_t n)
{
	const char *best = NULL;
	size_t best_d = 3;    /* suggest at distance 2 or less */
	for (size_t i = 0; i < n; i++) {
		if (!choices[i])
			continue;
		if (strcasecmp(word, choices[i]) == 0)
			return choices[i];
		size_t dist = vf_edit_distance(word, choices[i]);
		if (dist < best_d && dist < strlen(word)) {
			best = choices[i];
			best_d = dist;
		}
	}
	return best;
}

/* "a, b or c" */
static char *vf_dec__choices(const char *const *choices, size_t n)
{
	vf_buf b = { 0 };
	for (size_t i = 0; i < n; i++)
		vf_buf_printf(&b, "%s%s", i == 0 ? "" : i + 1 == n ? " or " : ", ", choices[i]);
	return vf_buf_steal(&b);
}

/* Report every key of `map` not in `known` (NULL-terminated); `where` names
 * the mapping ("Domain spec.disks[0]"). */
static void vf_dec__fields(vf_dec *d, const vf_ynode *map, const char *const *known, const char *where)
{
	size_t n_known = 0;
	while (known[n_known])
		n_known++;
	for (size_t i = 0; i < map->n_pairs; i++) {
		const vf_ynode *k = map->pairs[i].key;
		if (k->type != VF_YNODE_SCALAR) {
			vf_dec__fail(d, VF_E_SCHEMA, k->pos, "keys in %s must be field names, not %s", where,
				     vf_dec__type_of(k));
			continue;
		}
		bool found = false;
		for (size_t j = 0; j < n_known && !found; j++)
			found = strlen(known[j]) == k->len && strcmp(known[j], k->value) == 0;
		if (found)
			continue;
		_cleanup_free_ char *q = vf_decode_quote(k->value, k->len);
		const char *hint = vf_dec__suggest(k->value, known, n_known);
		if (hint)
			vf_dec__fail(d, VF_E_SCHEMA, k->pos, "unknown field %s in %s; did you mean \"%s\"?", q,
				     where, hint);
		else
			vf_dec__fail(d, VF_E_SCHEMA, k->pos, "unknown field %s in %s", q, where);
	}
}

static void vf_dec__missing(vf_dec *d, const vf_ynode *map, const char *field, const char *where,
			    const char *why)
{
	vf_dec__fail(d, VF_E_SCHEMA, map->pos, "missing required field \"%s\" in %s%s", field, where,
		     why ? why : "");
}

static bool vf_dec__map(vf_dec *d, const vf_ynode *n, const char *path)
{
	if (n->type == VF_YNODE_MAP)
		return true;
	vf_dec__fail(d, VF_E_SCHEMA, n->pos, "%s must be a mapping, not %s", path, vf_dec__type_of(n));
	return false;
}

static bool vf_dec__seq(vf_dec *d, const vf_ynode *n, const char *path)
{
	if (n->type == VF_YNODE_SEQ)
		return true;
	vf_dec__fail(d, VF_E_SCHEMA, n->pos, "%s must be a list, not %s", path, vf_dec__type_of(n));
	return false;
}

/* A string: quoted, or plain text that YAML would not read as a boolean,
 * number or null. *out is set only on success. */
static bool vf_dec__str(vf_dec *d, const vf_ynode *n, const char *path, char **out)
{
	if (n->type != VF_YNODE_SCALAR || vf_ynode_is_null(n)) {
		vf_dec__fail(d, VF_E_SCHEMA, n->pos, "%s must be a string, not %s", path, vf_dec__type_of(n));
		return false;
	}
	if (vf_dec__is_bool(n) || vf_dec__is_number(n)) {
		vf_dec__fail(d, VF_E_SCHEMA, n->pos, "%s must be a string, not %s; quote it (\"%s\") to use it as text",
			     path, vf_dec__type_of(n), n->value);
		return false;
	}
	if (strlen(n->value) != n->len) {
		vf_dec__fail(d, VF_E_SCHEMA, n->pos, "%s must not contain a NUL byte", path);
		return false;
	}
	*out = vf_strdup(n->value);
	return true;
}

/* A scalar's text, quoted or not (sizes, modes, durations, owners). */
static bool vf_dec__text(vf_dec *d, const vf_ynode *n, const char *path, const char **out)
{
	if (n->type != VF_YNODE_SCALAR || vf_ynode_is_null(n) || vf_dec__is_bool(n) ||
	    strlen(n->value) != n->len) {
		vf_dec__fail(d, VF_E_SCHEMA, n->pos, "%s must be a string or number, not %s", path,
			     vf_dec__type_of(n));
		return false;
	}
	*out = n->value;
	return true;
}

static bool vf_dec__name(vf_dec *d, const vf_ynode *n, const char *path, char **out)
{
	char *s = NULL;
	if (!vf_dec__str(d, n, path, &s)) {
		if (n->type == VF_YNODE_SCALAR && strlen(n->value) != n->len) {
			/* vf_dec__str already said it holds a NUL */
		}
		return false;
	}
	vf_error err = { 0 };
	if (vf_name_check(s, strlen(s), path, &err) < 0) {
		vf_dec__fail_err(d, n->pos, &err);
		free(s);
		return false;
	}
	*out = s;
	return true;
}

static bool vf_dec__bool(vf_dec *d, const vf_ynode *n, const char *path, bool *out)
{
	if (vf_dec__is_bool(n)) {
		*out = strcmp(n->value, "true") == 0;
		return true;
	}
	if (n->type != VF_YNODE_SCALAR) {
		vf_dec__fail(d, VF_E_SCHEMA, n->pos, "%s must be true or false, not %s", path, vf_dec__type_of(n));
		return false;
	}
	_cleanup_free_ char *q = vf_decode_quote(n->value, n->len);
	static const char *const yaml11[] = { "yes", "no", "on", "off", "y", "n", "True", "False",
					      "TRUE", "FALSE", "Yes", "No", "YES", "NO", "On", "Off" };
	bool old = false;
	for (size_t i = 0; i < VF_ARRAY_SIZE(yaml11); i++)
		old = old || strcmp(n->value, yaml11[i]) == 0;
	if (!n->plain && (strcmp(n->value, "true") == 0 || strcmp(n->value, "false") == 0))
		vf_dec__fail(d, VF_E_SCHEMA, n->pos, "invalid %s %s: a boolean must be written true or false without quotes",
			     path, q);
	else if (old && n->plain)
		vf_dec__fail(d, VF_E_SCHEMA, n->pos, "invalid %s %s: use true or false (YAML 1.1 spellings such as yes, no, on and off are not accepted)",
			     path, q);
	else
		vf_dec__fail(d, VF_E_SCHEMA, n->pos, "invalid %s %s: use true or false", path, q);
	return false;
}

static bool vf_dec__tri(vf_dec *d, const vf_ynode *n, const char *path, vf_tri *out)
{
	bool b;
	if (!vf_dec__bool(d, n, path, &b))
		return false;
	*out = b ? VF_TRI_TRUE : VF_TRI_FALSE;
	return true;
}

/* A plain decimal integer in [min, max]. */
static bool vf_dec__uint(vf_dec *d, const vf_ynode *n, const char *path, uint64_t min, uint64_t max,
			 uint64_t *out)
{
	if (n->type != VF_YNODE_SCALAR || vf_ynode_is_null(n) || vf_dec__is_bool(n)) {
		vf_dec__fail(d, VF_E_SCHEMA, n->pos, "%s must be a whole number, not %s", path, vf_dec__type_of(n));
		return false;
	}
	_cleanup_free_ char *q = vf_decode_quote(n->value, n->len);
	const char *s = n->value;
	bool neg = *s == '-';
	if (neg)
		s++;
	bool digits = *s && strspn(s, "0123456789") == strlen(s) && strlen(n->value) == n->len;
	if (!digits) {
		vf_dec__fail(d, VF_E_SCHEMA, n->pos, "invalid %s %s: expected a whole number", path, q);
		return false;
	}
	if (!n->plain) {
		vf_dec__fail(d, VF_E_SCHEMA, n->pos, "invalid %s %s: numbers must not be quoted", path, q);
		return false;
	}
	uint64_t v = 0;
	bool over = false;
	for (; *s; s++)
		over = over || __builtin_mul_overflow(v, 10, &v) ||
		       __builtin_add_overflow(v, (uint64_t)(*s - '0'), &v);
	if (neg && v != 0)
		over = true;
	if (over || v < min || v > max) {
		vf_dec__fail(d, VF_E_SCHEMA, n->pos, "invalid %s %s: must be between %llu and %llu", path,
			     n->value, (unsigned long long)min, (unsigned long long)max);
		return false;
	}
	*out = v;
	return true;
}

/* Index of n's value in choices[n_choices], or -1 after reporting. */
static int vf_dec__enum(vf_dec *d, const vf_ynode *n, const char *path, const char *const *choices,
			size_t n_choices)
{
	if (n->type != VF_YNODE_SCALAR || vf_ynode_is_null(n)) {
		vf_dec__fail(d, VF_E_SCHEMA, n->pos, "%s must be a string, not %s", path, vf_dec__type_of(n));
		return -1;
	}
	for (size_t i = 0; i < n_choices; i++)
		if (strlen(choices[i]) == n->len && strcmp(choices[i], n->value) == 0)
			return (int)i;
	_cleanup_free_ char *q = vf_decode_quote(n->value, n->len);
	_cleanup_free_ char *list = vf_dec__choices(choices, n_choices);
	const char *hint = vf_dec__suggest(n->value, choices, n_choices);
	if (hint)
		vf_dec__fail(d, VF_E_SCHEMA, n->pos, "invalid %s %s; did you mean \"%s\"? (use %s)", path, q,
			     hint, list);
	else
		vf_dec__fail(d, VF_E_SCHEMA, n->pos, "invalid %s %s (use %s)", path, q, list);
	return -1;
}

/* Decode an enum field through the model's string table; *out untouched on error. */
#define VF_DEC_ENUM(d, n, path, name, max, out)                                          \
	({                                                                               \
		const char *ch_[(max) + 1];                                              \
		size_t nch_ = 0;                                                         \
		for (int i_ = 0; i_ < (int)(max); i_++)                                  \
			if (name##_to_string(i_))                                        \
				ch_[nch_++] = name##_to_string(i_);                      \
		int k_ = vf_dec__enum((d), (n), (path), ch_, nch_);                      \
		if (k_ >= 0)                                                             \
			*(out) = name##_from_string(ch_[k_]);                            \
		k_ >= 0;                                                                 \
	})

static void vf_dec__uuid(vf_dec *d, const vf_ynode *n, const char *path, bool *has, uuid_t out,
			 vf_pos *pos)
{
	char *s = NULL;
	if (!vf_dec__str(d, n, path, &s))
		return;
	vf_error err = { 0 };
	if (vf_uuid_parse_strict(s, out, &err) < 0)
		vf_dec__fail_err(d, n->pos, &err);
	else {
		*has = true;
		*pos = n->pos;
	}
	free(s);
}

static void vf_dec__size(vf_dec *d, const vf_ynode *n, const char *path, uint64_t *out)
{
	const char *s;
	if (!vf_dec__text(d, n, path, &s))
		return;
	vf_error err = { 0 };
	if (vf_size_parse(s, out, &err) < 0)
		vf_dec__fail_err(d, n->pos, &err);
}

static void vf_dec__kvs(vf_dec *d, const vf_ynode *n, const char *path, vf_kv **kv, size_t *n_kv)
{
	if (!vf_dec__map(d, n, path))
		return;
	size_t cap = 0;
	for (size_t i = 0; i < n->n_pairs; i++) {
		_cleanup_free_ char *kpath = vf_asprintf("keys in %s", path);
		char *key = NULL, *value = NULL;
		if (!vf_dec__str(d, n->pairs[i].key, kpath, &key))
			continue;
		_cleanup_free_ char *vpath = vf_asprintf("%s.%s", path, key);
		if (!vf_dec__str(d, n->pairs[i].value, vpath, &value)) {
			free(key);
			continue;
		}
		vf_kv e = { .key = key, .value = value };
		VF_APPEND(*kv, *n_kv, cap, e);
	}
}

/* ---- shared blocks ------------------------------------------------------ */

static void vf_dec__id(vf_dec *d, const vf_ynode *n, const char *path, int64_t *out, bool user)
{
	const char *s;
	if (!vf_dec__text(d, n, path, &s))
		return;
	if (*s && strspn(s, "0123456789") == strlen(s)) {
		errno = 0;
		unsigned long long v = strtoull(s, NULL, 10);
		if (errno || v >= UINT32_MAX) {
			vf_dec__fail(d, VF_E_SCHEMA, n->pos, "invalid %s %s: too large for a %s id", path, s,
				     user ? "user" : "group");
			return;
		}
		*out = (int64_t)v;
		return;
	}
	_cleanup_free_ char *q = vf_decode_quote(n->value, n->len);
	if (user) {
		struct passwd pw, *res = NULL;
		char buf[4096];
		if (getpwnam_r(s, &pw, buf, sizeof(buf), &res) == 0 && res) {
			*out = (int64_t)res->pw_uid;
			return;
		}
	} else {
		struct group gr, *res = NULL;
		char buf[8192];
		if (getgrnam_r(s, &gr, buf, sizeof(buf), &res) == 0 && res) {
			*out = (int64_t)res->gr_gid;
			return;
		}
	}
	vf_dec__fail(d, VF_E_SCHEMA, n->pos, "invalid %s %s: no such %s on this host", path, q,
		     user ? "user" : "group");
}

static void vf_dec__perms(vf_dec *d, const vf_ynode *n, vf_perms *p)
{
	static const char *const fields[] = { "owner", "group", "mode", NULL };
	if (!vf_dec__map(d, n, "spec.permissions"))
		return;
	_cleanup_free_ char *where = vf_asprintf("%s spec.permissions", d->kind);
	vf_dec__fields(d, n, fields, where);
	p->pos = n->pos;
	const vf_ynode *v;
	if ((v = vf_ynode_get(n, "owner")))
		vf_dec__id(d, v, "spec.permissions.owner", &p->owner, true);
	if ((v = vf_ynode_get(n, "group")))
		vf_dec__id(d, v, "spec.permissions.group", &p->group, false);
	const char *s;
	if ((v = vf_ynode_get(n, "mode")) && vf_dec__text(d, v, "spec.permissions.mode", &s)) {
		vf_error err = { 0 };
		if (vf_mode_parse(s, &p->mode, &err) < 0)
			vf_dec__fail_err(d, v->pos, &err);
	}
}

static void vf_dec__volref(vf_dec *d, const vf_ynode *n, const char *path, vf_volref *r)
{
	static const char *const fields[] = { "pool", "name", NULL };
	if (!vf_dec__map(d, n, path))
		return;
	_cleanup_free_ char *where = vf_asprintf("%s %s", d->kind, path);
	vf_dec__fields(d, n, fields, where);
	r->pos = n->pos;
	const vf_ynode *v;
	_cleanup_free_ char *ppath = vf_asprintf("%s.pool", path);
	_cleanup_free_ char *npath = vf_asprintf("%s.name", path);
	if ((v = vf_ynode_get(n, "pool")))
		vf_dec__name(d, v, ppath, &r->pool);
	else
		vf_dec__missing(d, n, "pool", where, NULL);
	if ((v = vf_ynode_get(n, "name")))
		vf_dec__name(d, v, npath, &r->name);
	else
		vf_dec__missing(d, n, "name", where, NULL);
}

static void vf_dec__abspath(vf_dec *d, const vf_ynode *n, const char *path, char **out)
{
	char *s = NULL;
	if (!vf_dec__str(d, n, path, &s))
		return;
	if (s[0] != '/') {
		_cleanup_free_ char *q = vf_decode_quote(s, strlen(s));
		vf_dec__fail(d, VF_E_SCHEMA, n->pos, "invalid %s %s: must be an absolute path", path, q);
		free(s);
		return;
	}
	*out = s;
}

/* ---- StoragePool -------------------------------------------------------- */

static void vf_dec__pool(vf_dec *d, const vf_ynode *spec, vf_pool_spec *p)
{
	static const char *const fields[] = { "uuid", "type", "target", "source", "state", "autostart",
					      "permissions", "adopt", "deletionPolicy", NULL };
	static const char *const target_fields[] = { "path", NULL };
	static const char *const source_fields[] = { "device", "host", "dir", "name", "format", NULL };
	vf_dec__fields(d, spec, fields, "StoragePool spec");
	p->perms = (vf_perms){ .owner = -1, .group = -1, .mode = -1 };
	const vf_ynode *v, *target = NULL, *source = NULL;
	if ((v = vf_ynode_get(spec, "uuid")))
		vf_dec__uuid(d, v, "spec.uuid", &p->has_uuid, p->uuid, &p->uuid_pos);
	if ((v = vf_ynode_get(spec, "type")))
		VF_DEC_ENUM(d, v, "spec.type", vf_pool_type, VF_POOL_TYPE_MAX, &p->type);
	else
		vf_dec__missing(d, spec, "type", "StoragePool spec", " (use dir, fs, netfs, logical, disk or iscsi)");
	if ((v = vf_ynode_get(spec, "target")) && vf_dec__map(d, v, "spec.target")) {
		target = v;
		vf_dec__fields(d, v, target_fields, "StoragePool spec.target");
		p->target_pos = v->pos;
		if ((v = vf_ynode_get(target, "path")))
			vf_dec__abspath(d, v, "spec.target.path", &p->target_path);
	}
	if ((v = vf_ynode_get(spec, "source")) && vf_dec__map(d, v, "spec.source")) {
		source = v;
		vf_dec__fields(d, v, source_fields, "StoragePool spec.source");
		p->source.pos = v->pos;
		if ((v = vf_ynode_get(source, "device")))
			vf_dec__abspath(d, v, "spec.source.device", &p->source.device);
		if ((v = vf_ynode_get(source, "host")))
			vf_dec__str(d, v, "spec.source.host", &p->source.host);
		if ((v = vf_ynode_get(source, "dir")))
			vf_dec__str(d, v, "spec.source.dir", &p->source.dir);
		if ((v = vf_ynode_get(source, "name")))
			vf_dec__str(d, v, "spec.source.name", &p->source.name);
		if ((v = vf_ynode_get(source, "format")))
			vf_dec__str(d, v, "spec.source.format", &p->source.format);
	}
	if ((v = vf_ynode_get(spec, "state")))
		VF_DEC_ENUM(d, v, "spec.state", vf_pool_state, VF_POOL_STATE_MAX, &p->state);
	if ((v = vf_ynode_get(spec, "autostart")))
		vf_dec__tri(d, v, "spec.autostart", &p->autostart);
	if ((v = vf_ynode_get(spec, "permissions")))
		vf_dec__perms(d, v, &p->perms);
	if ((v = vf_ynode_get(spec, "adopt")))
		vf_dec__bool(d, v, "spec.adopt", &p->adopt);
	if ((v = vf_ynode_get(spec, "deletionPolicy")))
		VF_DEC_ENUM(d, v, "spec.deletionPolicy", vf_deletion_policy, VF_DELETION_MAX, &p->deletion);

	/* what each type needs; only checked where the fields themselves parsed */
	const char *type = vf_pool_type_to_string(p->type);
	bool need_target = p->type == VF_POOL_DIR || p->type == VF_POOL_FS || p->type == VF_POOL_NETFS;
	if (need_target && !vf_ynode_get(spec, "target")) {
		_cleanup_free_ char *why = vf_asprintf(" (%s pools need target.path)", type);
		vf_dec__missing(d, spec, "target", "StoragePool spec", why);
	} else if (need_target && target && !vf_ynode_get(target, "path")) {
		_cleanup_free_ char *why = vf_asprintf(" (%s pools need target.path)", type);
		vf_dec__missing(d, target, "path", "StoragePool spec.target", why);
	}
	const char *needs[2] = { NULL, NULL };
	const char *why = NULL;
	switch (p->type) {
	case VF_POOL_FS:
	case VF_POOL_DISK:
		needs[0] = "device";
		why = p->type == VF_POOL_FS ? " (fs pools need source.device)" : " (disk pools need source.device)";
		break;
	case VF_POOL_NETFS:
		needs[0] = "host";
		needs[1] = "dir";
		why = " (netfs pools need source.host and source.dir)";
		break;
	case VF_POOL_ISCSI:
		needs[0] = "host";
		needs[1] = "name";
		why = " (iscsi pools need source.host and source.name)";
		break;
	case VF_POOL_LOGICAL:
		if (source && (vf_ynode_get(source, "device") || vf_ynode_get(source, "name")))
			break;
		if (!vf_ynode_get(spec, "source"))
			vf_dec__missing(d, spec, "source", "StoragePool spec",
					" (logical pools need source.device or source.name)");
		else if (source)
			vf_dec__missing(d, source, "device", "StoragePool spec.source",
					" (logical pools need source.device or source.name)");
		break;
	default:
		break;
	}
	if (needs[0] && !vf_ynode_get(spec, "source")) {
		vf_dec__missing(d, spec, "source", "StoragePool spec", why);
	} else if (needs[0] && source) {
		for (size_t i = 0; i < 2; i++)
			if (needs[i] && !vf_ynode_get(source, needs[i]))
				vf_dec__missing(d, source, needs[i], "StoragePool spec.source", why);
	}
}

/* ---- Volume ------------------------------------------------------------- */

/* spec.source.sha256 / sha512: hex of the right length, kept lower-case. */
static void vf_dec__checksum(vf_dec *d, const vf_ynode *n, const char *path, size_t hexlen,
			     char **out)
{
	const char *s;
	if (!vf_dec__text(d, n, path, &s))
		return;
	size_t len = strlen(s);
	if (strspn(s, "0123456789abcdefABCDEF") != len) {
		vf_dec__fail(d, VF_E_SCHEMA, n->pos,
			     "invalid %s: not hexadecimal (expected %zu hex digits)", path, hexlen);
		return;
	}
	if (len != hexlen) {
		vf_dec__fail(d, VF_E_SCHEMA, n->pos,
			     "invalid %s: %zu hex digits, expected %zu", path, len, hexlen);
		return;
	}
	char *h = vf_strdup(s);
	for (char *c = h; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	*out = h;
}

/* spec.source: exactly one of url (with a checksum, or insecureSkipVerify
 * written out) and volume. */
static void vf_dec__vol_source(vf_dec *d, const vf_ynode *n, vf_volume_source *src)
{
	static const char *const fields[] = { "url", "sha256", "sha512", "insecureSkipVerify",
					      "caFile", "volume", NULL };
	if (!vf_dec__map(d, n, "spec.source"))
		return;
	vf_dec__fields(d, n, fields, "Volume spec.source");
	src->pos = n->pos;
	const vf_ynode *url = vf_ynode_get(n, "url"), *vol = vf_ynode_get(n, "volume");
	const vf_ynode *s256 = vf_ynode_get(n, "sha256"), *s512 = vf_ynode_get(n, "sha512");
	const vf_ynode *v;
	if (url && vol) {
		vf_dec__both(d, n, "spec.source", "url", "volume");
	} else if (!url && !vol) {
		vf_dec__fail(d, VF_E_SCHEMA, n->pos,
			     "spec.source needs exactly one of url (an image to download) or volume (a volume to clone)");
	}
	if (vol) {
		vf_dec__volref(d, vol, "spec.source.volume", &src->volume);
		src->has_volume = vol->type == VF_YNODE_MAP;
		static const char *const url_only[] = { "sha256", "sha512", "insecureSkipVerify",
							"caFile", NULL };
		for (size_t i = 0; !url && url_only[i]; i++)
			if ((v = vf_ynode_key(n, url_only[i])))
				vf_dec__fail(d, VF_E_SCHEMA, v->pos,
					     "spec.source.%s applies to url sources only, not to source.volume",
					     url_only[i]);
	}
	if (!url)
		return;
	if (vf_dec__str(d, url, "spec.source.url", &src->url)) {
		src->url_pos = url->pos;
		const char *u = src->url;
		bool https = strncasecmp(u, "https://", 8) == 0;
		bool http = strncasecmp(u, "http://", 7) == 0;
		bool file = strncasecmp(u, "file://", 7) == 0;
		_cleanup_free_ char *q = vf_decode_quote(u, strlen(u));
		if (!http && !https && !file)
			vf_dec__fail(d, VF_E_SCHEMA, url->pos,
				     "invalid spec.source.url %s: use an http://, https:// or file:// URL", q);
		else if (file && u[7] != '/')
			vf_dec__fail(d, VF_E_SCHEMA, url->pos,
				     "invalid spec.source.url %s: a file URL needs an absolute path (file:///path)", q);
		else if ((http || https) && (!u[https ? 8 : 7] || u[https ? 8 : 7] == '/'))
			vf_dec__fail(d, VF_E_SCHEMA, url->pos,
				     "invalid spec.source.url %s: no host name", q);
		else if (strpbrk(u, " \t\r\n"))
			vf_dec__fail(d, VF_E_SCHEMA, url->pos,
				     "invalid spec.source.url %s: spaces must be written %%20", q);
		if ((v = vf_ynode_get(n, "caFile"))) {
			if (!https)
				vf_dec__fail(d, VF_E_SCHEMA, vf_ynode_key(n, "caFile")->pos,
					     "spec.source.caFile applies to https URLs only");
			else
				vf_dec__abspath(d, v, "spec.source.caFile", &src->ca_file);
		}
	}
	if (s256 && s512) {
		vf_dec__fail(d, VF_E_SCHEMA, vf_ynode_key(n, "sha512")->pos,
			     "spec.source has both sha256 and sha512; give one");
	} else if (s256) {
		vf_dec__checksum(d, s256, "spec.source.sha256", 64, &src->checksum);
		src->algo = VF_CHECKSUM_SHA256;
		src->checksum_pos = s256->pos;
	} else if (s512) {
		vf_dec__checksum(d, s512, "spec.source.sha512", 128, &src->checksum);
		src->algo = VF_CHECKSUM_SHA512;
		src->checksum_pos = s512->pos;
	}
	if ((v = vf_ynode_get(n, "insecureSkipVerify")))
		vf_dec__bool(d, v, "spec.source.insecureSkipVerify", &src->insecure);
	if (src->insecure && (s256 || s512))
		vf_dec__fail(d, VF_E_SCHEMA, vf_ynode_key(n, "insecureSkipVerify")->pos,
			     "spec.source has a checksum and insecureSkipVerify: true; drop insecureSkipVerify to verify the download");
	else if (!src->insecure && !s256 && !s512)
		vf_dec__fail(d, VF_E_SCHEMA, n->pos,
			     "missing required field \"sha256\" or \"sha512\" in Volume spec.source: a download is verified against its checksum (or write insecureSkipVerify: true to skip that)");
}

static void vf_dec__volume(vf_dec *d, const vf_ynode *spec, vf_volume_spec *vs)
{
	static const char *const fields[] = { "pool", "capacity", "format", "backingVolume",
					      "permissions", "adopt", "deletionPolicy", "source", NULL };
	vf_dec__fields(d, spec, fields, "Volume spec");
	vs->perms = (vf_perms){ .owner = -1, .group = -1, .mode = -1 };
	const vf_ynode *v;
	if ((v = vf_ynode_get(spec, "pool"))) {
		vf_dec__name(d, v, "spec.pool", &vs->pool);
		vs->pool_pos = v->pos;
	} else {
		vf_dec__missing(d, spec, "pool", "Volume spec", NULL);
	}
	if ((v = vf_ynode_get(spec, "capacity"))) {
		vs->capacity_pos = v->pos;
		int before = d->rc;
		size_t n_before = d->diags->n;
		vf_dec__size(d, v, "spec.capacity", &vs->capacity);
		if (d->diags->n == n_before && vs->capacity == 0) {
			_cleanup_free_ char *q = vf_decode_quote(v->value, v->len);
			vf_dec__fail(d, VF_E_SCHEMA, v->pos, "invalid size %s: capacity must be greater than zero", q);
		}
		(void)before;
	} else {
		vf_dec__missing(d, spec, "capacity", "Volume spec", " (a size such as 20GiB)");
	}
	if ((v = vf_ynode_get(spec, "format")))
		VF_DEC_ENUM(d, v, "spec.format", vf_vol_format, VF_VOL_FORMAT_MAX, &vs->format);
	if ((v = vf_ynode_get(spec, "backingVolume"))) {
		vf_dec__volref(d, v, "spec.backingVolume", &vs->backing);
		vs->has_backing = v->type == VF_YNODE_MAP;
		if (vs->format == VF_VOL_RAW)
			vf_dec__fail(d, VF_E_SCHEMA, vf_ynode_key(spec, "backingVolume")->pos,
				     "spec.backingVolume needs format qcow2; a raw volume cannot have a backing volume");
	}
	if ((v = vf_ynode_get(spec, "permissions")))
		vf_dec__perms(d, v, &vs->perms);
	if ((v = vf_ynode_get(spec, "adopt")))
		vf_dec__bool(d, v, "spec.adopt", &vs->adopt);
	if ((v = vf_ynode_get(spec, "deletionPolicy")))
		VF_DEC_ENUM(d, v, "spec.deletionPolicy", vf_deletion_policy, VF_DELETION_MAX, &vs->deletion);
	if ((v = vf_ynode_get(spec, "source"))) {
		vf_dec__vol_source(d, v, &vs->source);
		vs->has_source = v->type == VF_YNODE_MAP;
		if (vf_ynode_get(spec, "backingVolume"))
			vf_dec__fail(d, VF_E_SCHEMA, vf_ynode_key(spec, "source")->pos,
				     "spec.source cannot be combined with spec.backingVolume; a volume gets its content from one or the other");
	}
}

/* ---- Domain ------------------------------------------------------------- */

static void vf_dec__disk(vf_dec *d, const vf_ynode *n, size_t idx, vf_disk *disk)
{
	static const char *const fields[] = { "volume", "path", "target", "bus", "device",
					      "readonly", "shareable", "cache", NULL };
	_cleanup_free_ char *path = vf_asprintf("spec.disks[%zu]", idx);
	if (!vf_dec__map(d, n, path))
		return;
	_cleanup_free_ char *where = vf_asprintf("Domain %s", path);
	vf_dec__fields(d, n, fields, where);
	disk->pos = n->pos;
	const vf_ynode *v, *vol = vf_ynode_get(n, "volume"), *file = vf_ynode_get(n, "path");
	_cleanup_free_ char *p_vol = vf_asprintf("%s.volume", path);
	_cleanup_free_ char *p_path = vf_asprintf("%s.path", path);
	_cleanup_free_ char *p_target = vf_asprintf("%s.target", path);
	_cleanup_free_ char *p_bus = vf_asprintf("%s.bus", path);
	_cleanup_free_ char *p_dev = vf_asprintf("%s.device", path);
	_cleanup_free_ char *p_ro = vf_asprintf("%s.readonly", path);
	_cleanup_free_ char *p_sh = vf_asprintf("%s.shareable", path);
	_cleanup_free_ char *p_cache = vf_asprintf("%s.cache", path);
	if (vol && file) {
		vf_dec__both(d, n, path, "volume", "path");
	} else if (!vol && !file) {
		vf_dec__fail(d, VF_E_SCHEMA, n->pos, "%s needs exactly one of volume or path", path);
	}
	if (vol) {
		vf_dec__volref(d, vol, p_vol, &disk->volume);
		disk->has_volume = vol->type == VF_YNODE_MAP;
	}
	if (file)
		vf_dec__abspath(d, file, p_path, &disk->path);
	if ((v = vf_ynode_get(n, "target")))
		vf_dec__name(d, v, p_target, &disk->target);
	if ((v = vf_ynode_get(n, "bus")))
		VF_DEC_ENUM(d, v, p_bus, vf_disk_bus, VF_BUS_MAX, &disk->bus);
	if ((v = vf_ynode_get(n, "device")))
		VF_DEC_ENUM(d, v, p_dev, vf_disk_device, VF_DISK_DEVICE_MAX, &disk->device);
	if ((v = vf_ynode_get(n, "readonly")))
		vf_dec__bool(d, v, p_ro, &disk->readonly);
	if ((v = vf_ynode_get(n, "shareable")))
		vf_dec__bool(d, v, p_sh, &disk->shareable);
	if ((v = vf_ynode_get(n, "cache")))
		VF_DEC_ENUM(d, v, p_cache, vf_disk_cache, VF_CACHE_MAX, &disk->cache);
}

static void vf_dec__iface(vf_dec *d, const vf_ynode *n, size_t idx, vf_iface *ifc)
{
	static const char *const fields[] = { "network", "bridge", "model", "mac", NULL };
	_cleanup_free_ char *path = vf_asprintf("spec.interfaces[%zu]", idx);
	if (!vf_dec__map(d, n, path))
		return;
	_cleanup_free_ char *where = vf_asprintf("Domain %s", path);
	vf_dec__fields(d, n, fields, where);
	ifc->pos = n->pos;
	const vf_ynode *v, *net = vf_ynode_get(n, "network"), *br = vf_ynode_get(n, "bridge");
	if (net && br) {
		vf_dec__both(d, n, path, "network", "bridge");
	} else if (!net && !br) {
		vf_dec__fail(d, VF_E_SCHEMA, n->pos, "%s needs exactly one of network or bridge", path);
	}
	_cleanup_free_ char *p_net = vf_asprintf("%s.network", path);
	_cleanup_free_ char *p_br = vf_asprintf("%s.bridge", path);
	_cleanup_free_ char *p_model = vf_asprintf("%s.model", path);
	_cleanup_free_ char *p_mac = vf_asprintf("%s.mac", path);
	if (net)
		vf_dec__name(d, net, p_net, &ifc->network);
	if (br)
		vf_dec__name(d, br, p_br, &ifc->bridge);
	if ((v = vf_ynode_get(n, "model")))
		vf_dec__str(d, v, p_model, &ifc->model);
	char *mac = NULL;
	if ((v = vf_ynode_get(n, "mac")) && vf_dec__str(d, v, p_mac, &mac)) {
		vf_error err = { 0 };
		if (vf_mac_parse(mac, &ifc->mac, &err) < 0)
			vf_dec__fail_err(d, v->pos, &err);
		free(mac);
	}
}

static void vf_dec__xml(vf_dec *d, const vf_ynode *n, const char *name, vf_domain_spec *ds)
{
	if (!vf_dec__str(d, n, "spec.xml", &ds->xml))
		return;
	ds->xml_pos = n->pos;
	xmlParserCtxtPtr ctxt = xmlNewParserCtxt();
	if (!ctxt)
		abort();
	xmlDocPtr doc = xmlCtxtReadMemory(ctxt, ds->xml, (int)strlen(ds->xml), "spec.xml", NULL,
					  XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (!doc) {
		const xmlError *e = xmlCtxtGetLastError(ctxt);
		_cleanup_free_ char *msg = vf_strdup(e && e->message ? e->message : "unknown error");
		size_t l = strlen(msg);
		while (l > 0 && (msg[l - 1] == '\n' || msg[l - 1] == ' '))
			msg[--l] = '\0';
		vf_dec__fail(d, VF_E_SCHEMA, n->pos, "invalid spec.xml: not well-formed XML (line %d of the XML): %s",
			     e ? e->line : 0, msg);
		xmlFreeParserCtxt(ctxt);
		return;
	}
	xmlFreeParserCtxt(ctxt);
	xmlNodePtr root = xmlDocGetRootElement(doc);
	if (doc->intSubset) {
		vf_dec__fail(d, VF_E_SCHEMA, n->pos, "invalid spec.xml: a DOCTYPE is not allowed");
	} else if (!root || !strcmp((const char *)root->name, "domain") == 0) {
		vf_dec__fail(d, VF_E_SCHEMA, n->pos, "invalid spec.xml: the root element must be <domain>, not <%s>",
			     root ? (const char *)root->name : "");
	} else {
		xmlChar *xname = NULL, *xuuid = NULL;
		for (xmlNodePtr c = root->children; c; c = c->next) {
			if (c->type != XML_ELEMENT_NODE)
				continue;
			if (!xname && strcmp((const char *)c->name, "name") == 0)
				xname = xmlNodeGetContent(c);
			else if (!xuuid && strcmp((const char *)c->name, "uuid") == 0)
				xuuid = xmlNodeGetContent(c);
		}
		if (!xname)
			vf_dec__fail(d, VF_E_SCHEMA, n->pos, "invalid spec.xml: <name> is missing; it must be \"%s\" (metadata.name)",
				     name ? name : "");
		else if (name && strcmp((const char *)xname, name) != 0) {
			_cleanup_free_ char *q = vf_decode_quote((const char *)xname, strlen((const char *)xname));
			vf_dec__fail(d, VF_E_SCHEMA, n->pos, "invalid spec.xml: <name> is %s but metadata.name is \"%s\"",
				     q, name);
		}
		if (xuuid) {
			uuid_t u;
			char s[37];
			_cleanup_free_ char *q = vf_decode_quote((const char *)xuuid, strlen((const char *)xuuid));
			vf_error err = { 0 };
			if (vf_uuid_parse_strict((const char *)xuuid, u, &err) < 0) {
				vf_error_clear(&err);
				vf_dec__fail(d, VF_E_SCHEMA, n->pos, "invalid spec.xml: <uuid> %s is not a valid UUID", q);
			} else if (ds->has_uuid && uuid_compare(u, ds->uuid) != 0) {
				uuid_unparse_lower(ds->uuid, s);
				vf_dec__fail(d, VF_E_SCHEMA, n->pos, "invalid spec.xml: <uuid> is %s but spec.uuid is \"%s\"",
					     q, s);
			} else if (!ds->has_uuid) {
				/* the XML's own UUID is the identity libvirt will use */
				uuid_copy(ds->uuid, u);
				ds->has_uuid = true;
				ds->uuid_pos = n->pos;
			}
		}
		xmlFree(xname);
		xmlFree(xuuid);
	}
	xmlFreeDoc(doc);
}

/* One of spec.cloudInit's parts: an inline mapping (emitted back to YAML;
 * userData gets the #cloud-config header), a string used verbatim, or
 * {file: PATH} read now, relative to this manifest's folder. */
static void vf_dec__cloudinit_part(vf_dec *d, const vf_ynode *n, const char *field,
				   const char *header, char **out, vf_pos *pos)
{
	_cleanup_free_ char *path = vf_asprintf("spec.cloudInit.%s", field);
	vf_error err = { 0 };
	*pos = n->pos;
	if (n->type == VF_YNODE_MAP && vf_ynode_key(n, "file")) {
		static const char *const fields[] = { "file", NULL };
		_cleanup_free_ char *where = vf_asprintf("Domain %s (a {file: PATH} reference)", path);
		_cleanup_free_ char *fpath = vf_asprintf("%s.file", path);
		vf_dec__fields(d, n, fields, where);
		const vf_ynode *f = vf_ynode_get(n, "file");
		_cleanup_free_ char *file = NULL;
		if (!vf_dec__str(d, f, fpath, &file))
			return;
		if (!*file) {
			vf_dec__fail(d, VF_E_SCHEMA, f->pos, "invalid %s \"\": must name a file", fpath);
			return;
		}
		*pos = f->pos;
		if (vf_cloudinit_read_file(d->file, file, out, &err) < 0)
			vf_dec__fail(d, err.code, f->pos, "%s: %s", fpath, err.message);
	} else if (n->type == VF_YNODE_MAP) {
		if (vf_cloudinit_emit(n, header, out, &err) < 0)
			vf_dec__fail(d, err.code, n->pos, "%s: %s", path, err.message);
	} else if (n->type == VF_YNODE_SCALAR && !vf_ynode_is_null(n) && !vf_dec__is_bool(n) &&
		   !vf_dec__is_number(n)) {
		vf_dec__str(d, n, path, out);
	} else {
		vf_dec__fail(d, VF_E_SCHEMA, n->pos,
			     "%s must be a mapping, a string or {file: PATH}, not %s", path,
			     vf_dec__type_of(n));
	}
	vf_error_clear(&err);
}

/* spec.cloudInit; defaults and the hash are filled in once the UUID is
 * known (vf_cloudinit_finish). */
static void vf_dec__cloudinit(vf_dec *d, const vf_ynode *n, vf_cloudinit *ci)
{
	static const char *const fields[] = { "userData", "metaData", "networkConfig", NULL };
	if (!vf_dec__map(d, n, "spec.cloudInit"))
		return;
	vf_dec__fields(d, n, fields, "Domain spec.cloudInit");
	ci->present = true;
	ci->pos = n->pos;
	const vf_ynode *v;
	if ((v = vf_ynode_get(n, "userData")))
		vf_dec__cloudinit_part(d, v, "userData", VF_CLOUDINIT_HEADER, &ci->user_data,
				       &ci->user_data_pos);
	if ((v = vf_ynode_get(n, "metaData")))
		vf_dec__cloudinit_part(d, v, "metaData", NULL, &ci->meta_data, &ci->meta_data_pos);
	if ((v = vf_ynode_get(n, "networkConfig")))
		vf_dec__cloudinit_part(d, v, "networkConfig", NULL, &ci->network_config,
				       &ci->network_config_pos);
}

static void vf_dec__domain(vf_dec *d, const vf_ynode *spec, const char *name, vf_domain_spec *ds)
{
	static const char *const fields[] = { "uuid", "type", "vcpus", "memory", "cpu", "machine", "firmware",
					      "boot", "disks", "interfaces", "graphics", "serialConsole", "state",
					      "autostart", "shutdownTimeout", "adopt", "xml", "cloudInit", NULL };
	/* the fields spec.xml replaces */
	static const char *const structured[] = { "type", "vcpus", "memory", "cpu", "machine", "firmware",
						  "boot", "disks", "interfaces", "graphics", "serialConsole",
						  "cloudInit", NULL };
	vf_dec__fields(d, spec, fields, "Domain spec");
	const vf_ynode *v;
	bool xml = vf_ynode_get(spec, "xml") != NULL;
	if (xml)
		for (size_t i = 0; structured[i]; i++)
			if ((v = vf_ynode_key(spec, structured[i])))
				vf_dec__fail(d, VF_E_SCHEMA, v->pos,
					     "spec.%s cannot be combined with spec.xml; the XML describes the whole domain",
					     structured[i]);
	if ((v = vf_ynode_get(spec, "uuid")))
		vf_dec__uuid(d, v, "spec.uuid", &ds->has_uuid, ds->uuid, &ds->uuid_pos);
	if ((v = vf_ynode_get(spec, "state")))
		VF_DEC_ENUM(d, v, "spec.state", vf_run_state, VF_RUN_MAX, &ds->state);
	if ((v = vf_ynode_get(spec, "autostart")))
		vf_dec__tri(d, v, "spec.autostart", &ds->autostart);
	if ((v = vf_ynode_get(spec, "shutdownTimeout"))) {
		const char *s;
		if (vf_dec__text(d, v, "spec.shutdownTimeout", &s)) {
			vf_error err = { 0 };
			if (!v->plain && strspn(s, "0123456789") == strlen(s))
				vf_dec__fail(d, VF_E_SCHEMA, v->pos,
					     "invalid spec.shutdownTimeout \"%s\": numbers must not be quoted", s);
			else if (vf_duration_parse(s, &ds->shutdown_timeout, &err) < 0)
				vf_dec__fail_err(d, v->pos, &err);
			else
				ds->has_shutdown_timeout = true;
		}
	}
	if ((v = vf_ynode_get(spec, "adopt")))
		vf_dec__bool(d, v, "spec.adopt", &ds->adopt);
	if (xml) {
		vf_dec__xml(d, vf_ynode_get(spec, "xml"), name, ds);
		return;
	}

	if ((v = vf_ynode_get(spec, "type")))
		VF_DEC_ENUM(d, v, "spec.type", vf_domain_type, VF_DOMAIN_TYPE_MAX, &ds->type);
	uint64_t u;
	if ((v = vf_ynode_get(spec, "vcpus")) && vf_dec__uint(d, v, "spec.vcpus", 1, VF_VCPUS_MAX, &u)) {
		ds->vcpus = (uint32_t)u;
		ds->has_vcpus = true;
	}
	if ((v = vf_ynode_get(spec, "memory"))) {
		size_t before = d->diags->n;
		vf_dec__size(d, v, "spec.memory", &ds->memory);
		if (d->diags->n == before) {
			_cleanup_free_ char *q = vf_decode_quote(v->value, v->len);
			if (ds->memory == 0)
				vf_dec__fail(d, VF_E_SCHEMA, v->pos, "invalid size %s: memory must be greater than zero", q);
			else if (ds->memory % 1024 != 0)
				vf_dec__fail(d, VF_E_SCHEMA, v->pos, "invalid size %s: domain memory must be a multiple of 1 KiB", q);
			else
				ds->has_memory = true;
		}
	}
	if ((v = vf_ynode_get(spec, "cpu")) && vf_dec__map(d, v, "spec.cpu")) {
		static const char *const cpu_fields[] = { "mode", NULL };
		vf_dec__fields(d, v, cpu_fields, "Domain spec.cpu");
		const vf_ynode *m = vf_ynode_get(v, "mode");
		if (m)
			VF_DEC_ENUM(d, m, "spec.cpu.mode", vf_cpu_mode, VF_CPU_MODE_MAX, &ds->cpu_mode);
	}
	if ((v = vf_ynode_get(spec, "machine")))
		vf_dec__str(d, v, "spec.machine", &ds->machine);
	if ((v = vf_ynode_get(spec, "firmware")))
		VF_DEC_ENUM(d, v, "spec.firmware", vf_firmware, VF_FIRMWARE_MAX, &ds->firmware);
	if ((v = vf_ynode_get(spec, "boot")) && vf_dec__seq(d, v, "spec.boot")) {
		ds->boot = vf_calloc(v->n_items, sizeof(*ds->boot));
		for (size_t i = 0; i < v->n_items; i++) {
			_cleanup_free_ char *path = vf_asprintf("spec.boot[%zu]", i);
			vf_boot_dev b = VF_BOOT_UNSET;
			if (!VF_DEC_ENUM(d, v->items[i], path, vf_boot_dev, VF_BOOT_MAX, &b))
				continue;
			bool dup = false;
			for (size_t j = 0; j < ds->n_boot; j++)
				dup = dup || ds->boot[j] == b;
			if (dup)
				vf_dec__fail(d, VF_E_SCHEMA, v->items[i]->pos, "boot device \"%s\" is listed twice in spec.boot",
					     vf_boot_dev_to_string(b));
			else
				ds->boot[ds->n_boot++] = b;
		}
	}
	if ((v = vf_ynode_get(spec, "disks")) && vf_dec__seq(d, v, "spec.disks")) {
		ds->disks = vf_calloc(v->n_items, sizeof(*ds->disks));
		for (size_t i = 0; i < v->n_items; i++) {
			vf_disk *disk = &ds->disks[ds->n_disks++];
			vf_dec__disk(d, v->items[i], i, disk);
			for (size_t j = 0; disk->target && j + 1 < ds->n_disks; j++)
				if (vf_streq(ds->disks[j].target, disk->target))
					vf_dec__fail(d, VF_E_SCHEMA, vf_ynode_get(v->items[i], "target")->pos,
						     "disk target \"%s\" is used twice; first at line %d",
						     disk->target, ds->disks[j].pos.line);
		}
	}
	if ((v = vf_ynode_get(spec, "interfaces")) && vf_dec__seq(d, v, "spec.interfaces")) {
		ds->ifaces = vf_calloc(v->n_items, sizeof(*ds->ifaces));
		for (size_t i = 0; i < v->n_items; i++)
			vf_dec__iface(d, v->items[i], i, &ds->ifaces[ds->n_ifaces++]);
	}
	if ((v = vf_ynode_get(spec, "graphics")) && vf_dec__map(d, v, "spec.graphics")) {
		static const char *const gfx_fields[] = { "type", "listen", NULL };
		vf_dec__fields(d, v, gfx_fields, "Domain spec.graphics");
		const vf_ynode *t = vf_ynode_get(v, "type"), *l = vf_ynode_get(v, "listen");
		if (t)
			VF_DEC_ENUM(d, t, "spec.graphics.type", vf_graphics_type, VF_GRAPHICS_MAX, &ds->graphics);
		else
			vf_dec__missing(d, v, "type", "Domain spec.graphics", " (use none, vnc or spice)");
		if (l)
			vf_dec__str(d, l, "spec.graphics.listen", &ds->graphics_listen);
	}
	if ((v = vf_ynode_get(spec, "serialConsole")))
		vf_dec__tri(d, v, "spec.serialConsole", &ds->serial_console);
	if ((v = vf_ynode_get(spec, "cloudInit")))
		vf_dec__cloudinit(d, v, &ds->cloudinit);
}

/* ---- documents ---------------------------------------------------------- */

static void vf_dec__metadata(vf_dec *d, const vf_ynode *md, vf_object *o)
{
	static const char *const fields[] = { "name", "labels", "annotations", NULL };
	if (!vf_dec__map(d, md, "metadata"))
		return;
	vf_dec__fields(d, md, fields, "metadata");
	const vf_ynode *v;
	if ((v = vf_ynode_get(md, "name"))) {
		o->name_pos = v->pos;
		vf_dec__name(d, v, "metadata.name", &o->name);
	} else {
		vf_dec__missing(d, md, "name", "metadata", NULL);
	}
	if ((v = vf_ynode_get(md, "labels")))
		vf_dec__kvs(d, v, "metadata.labels", &o->labels, &o->n_labels);
	if ((v = vf_ynode_get(md, "annotations")))
		vf_dec__kvs(d, v, "metadata.annotations", &o->annotations, &o->n_annotations);
}

int vf_decode_document(const vf_ydoc *doc, const char *file, vf_desired *out, vf_diags *diags)
{
	static const char *const fields[] = { "apiVersion", "kind", "metadata", "spec", NULL };
	const vf_ynode *root = doc->root;
	if (!root || vf_ynode_is_null(root))
		return 0;   /* an empty document, such as a trailing `---` */
	vf_dec d = { .file = file, .diags = diags };
	if (root->type != VF_YNODE_MAP) {
		vf_dec__fail(&d, VF_E_SCHEMA, root->pos,
			     "a manifest must be a mapping with apiVersion, kind, metadata and spec, not %s",
			     vf_dec__type_of(root));
		return d.rc;
	}
	vf_dec__fields(&d, root, fields, "the manifest");
	const vf_ynode *v;
	char *s = NULL;
	if ((v = vf_ynode_get(root, "apiVersion"))) {
		if (vf_dec__str(&d, v, "apiVersion", &s) && strcmp(s, VF_MANIFEST_API_VERSION) != 0) {
			_cleanup_free_ char *q = vf_decode_quote(s, strlen(s));
			vf_dec__fail(&d, VF_E_SCHEMA, v->pos, "unsupported apiVersion %s (use " VF_MANIFEST_API_VERSION ")", q);
		}
		free(s);
	} else {
		vf_dec__missing(&d, root, "apiVersion", "the manifest", " (use " VF_MANIFEST_API_VERSION ")");
	}
	vf_object o = { .kind = VF_KIND_MAX, .pos = doc->pos };
	if ((v = vf_ynode_get(root, "kind"))) {
		if (vf_dec__str(&d, v, "kind", &s)) {
			int k = vf_kind_from_string(s);
			if (k < 0) {
				static const char *const kinds[] = { "StoragePool", "Volume", "Domain" };
				_cleanup_free_ char *q = vf_decode_quote(s, strlen(s));
				const char *hint = vf_dec__suggest(s, kinds, VF_ARRAY_SIZE(kinds));
				if (hint)
					vf_dec__fail(&d, VF_E_SCHEMA, v->pos,
						     "unknown kind %s; did you mean \"%s\"? (known kinds: StoragePool, Volume, Domain)",
						     q, hint);
				else
					vf_dec__fail(&d, VF_E_SCHEMA, v->pos,
						     "unknown kind %s (known kinds: StoragePool, Volume, Domain)", q);
			} else {
				o.kind = (vf_kind)k;
			}
			free(s);
		}
	} else {
		vf_dec__missing(&d, root, "kind", "the manifest", " (use StoragePool, Volume or Domain)");
	}
	if ((v = vf_ynode_get(root, "metadata")))
		vf_dec__metadata(&d, v, &o);
	else
		vf_dec__missing(&d, root, "metadata", "the manifest", " (metadata.name names the object)");
	d.kind = vf_kind_to_string(o.kind);
	const vf_ynode *spec = vf_ynode_get(root, "spec");
	if (!spec)
		vf_dec__missing(&d, root, "spec", "the manifest", NULL);
	else if (o.kind != VF_KIND_MAX && vf_dec__map(&d, spec, "spec")) {
		switch (o.kind) {
		case VF_KIND_POOL:
			vf_dec__pool(&d, spec, &o.u.pool);
			break;
		case VF_KIND_VOLUME:
			vf_dec__volume(&d, spec, &o.u.volume);
			break;
		case VF_KIND_DOMAIN:
			vf_dec__domain(&d, spec, o.name, &o.u.domain);
			break;
		case VF_KIND_MAX:
			break;
		}
	}
	if (d.rc < 0 || o.kind == VF_KIND_MAX) {
		if (o.kind == VF_KIND_MAX)
			o.kind = VF_KIND_POOL;   /* nothing kind-specific was filled in */
		vf_object_clear(&o);
		return d.rc;
	}
	/* the effective identity: spec.uuid, else derived from kind and name */
	if (o.kind == VF_KIND_POOL && o.u.pool.has_uuid)
		uuid_copy(o.uuid, o.u.pool.uuid);
	else if (o.kind == VF_KIND_DOMAIN && o.u.domain.has_uuid)
		uuid_copy(o.uuid, o.u.domain.uuid);
	else
		vf_uuid_derive(o.kind, o.kind == VF_KIND_VOLUME ? o.u.volume.pool : NULL, o.name, o.uuid);
	if (o.kind == VF_KIND_POOL && !o.u.pool.has_uuid)
		uuid_copy(o.u.pool.uuid, o.uuid);
	if (o.kind == VF_KIND_DOMAIN && !o.u.domain.has_uuid)
		uuid_copy(o.u.domain.uuid, o.uuid);
	if (o.kind == VF_KIND_DOMAIN)
		vf_cloudinit_finish(o.name, o.uuid, &o.u.domain);
	VF_APPEND(out->objs, out->n, out->cap, o);
	return 0;
}
