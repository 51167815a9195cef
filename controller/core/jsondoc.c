/* jsondoc.c: writing and strictly reading virtform's own JSON documents,
 * with problems at line:col. Not for the documents' meaning (snapshot.c,
 * saved.c) or for the printed plan (planprint.c). */
#include "controller/core/jsondoc.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

#define VF_JW_FLAGS (JSON_C_TO_STRING_NOSLASHESCAPE)

void vf_jw_str(json_object *o, const char *key, const char *s)
{
	json_object_object_add(o, key, s ? json_object_new_string(s) : NULL);
}

void vf_jw_u64(json_object *o, const char *key, uint64_t v)
{
	json_object_object_add(o, key, json_object_new_uint64(v));
}

void vf_jw_i64(json_object *o, const char *key, int64_t v)
{
	json_object_object_add(o, key, json_object_new_int64(v));
}

void vf_jw_bool(json_object *o, const char *key, bool v)
{
	json_object_object_add(o, key, json_object_new_boolean(v));
}

char *vf_jw_text(json_object *doc)
{
	return vf_asprintf("%s\n", json_object_to_json_string_ext(
					   doc, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | VF_JW_FLAGS));
}

char *vf_jw_digest(json_object *doc)
{
	json_object *d = NULL;
	if (json_object_object_get_ex(doc, "digest", &d)) {
		json_object_get(d);
		json_object_object_del(doc, "digest");
	}
	const char *plain = json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN | VF_JW_FLAGS);
	char hex[65];
	vf_sha256_hex(plain, strlen(plain), hex);
	if (d)
		json_object_object_add(doc, "digest", d);
	return vf_asprintf("sha256:%s", hex);
}

/* ---- positions ------------------------------------------------------------ */

static const char *vf_jr__ws(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	return p;
}

static const char *vf_jr__skip_string(const char *p)
{
	for (p++; *p && *p != '"'; p++)
		if (*p == '\\' && p[1])
			p++;
	return *p ? p + 1 : p;
}

static const char *vf_jr__skip_value(const char *p)
{
	p = vf_jr__ws(p);
	if (*p == '"')
		return vf_jr__skip_string(p);
	if (*p == '{' || *p == '[') {
		int depth = 0;
		while (*p) {
			if (*p == '"') {
				p = vf_jr__skip_string(p);
				continue;
			}
			if (*p == '{' || *p == '[')
				depth++;
			else if ((*p == '}' || *p == ']') && --depth == 0)
				return p + 1;
			p++;
		}
		return p;
	}
	while (*p && !strchr(",}] \t\r\n", *p))
		p++;
	return p;
}

/* The offset of the value `path` names in a document that parsed, or of
 * the deepest enclosing value that exists (a missing member: its object). */
static size_t vf_jr__locate(const char *text, const char *path)
{
	const char *p = vf_jr__ws(text), *best = p, *c = path;
	while (*c) {
		if (*c == '.')
			c++;
		if (*c == '[') {
			char *end = NULL;
			unsigned long idx = strtoul(c + 1, &end, 10);
			c = *end == ']' ? end + 1 : end;
			if (*p != '[')
				break;
			p = vf_jr__ws(p + 1);
			for (unsigned long i = 0; i < idx && *p && *p != ']'; i++) {
				p = vf_jr__ws(vf_jr__skip_value(p));
				if (*p != ',')
					return (size_t)(best - text);
				p = vf_jr__ws(p + 1);
			}
			if (*p == ']' || !*p)
				break;
			best = p;
			continue;
		}
		size_t klen = strcspn(c, ".[");
		if (*p != '{')
			break;
		p = vf_jr__ws(p + 1);
		bool found = false;
		while (*p == '"') {
			const char *kend = vf_jr__skip_string(p);
			bool match = (size_t)(kend - p) == klen + 2 && strncmp(p + 1, c, klen) == 0;
			p = vf_jr__ws(kend);
			if (*p != ':')
				break;
			p = vf_jr__ws(p + 1);
			if (match) {
				found = true;
				break;
			}
			p = vf_jr__ws(vf_jr__skip_value(p));
			if (*p != ',')
				break;
			p = vf_jr__ws(p + 1);
		}
		if (!found)
			break;
		best = p;
		c += klen;
	}
	return (size_t)(best - text);
}

static vf_pos vf_jr__pos(const vf_jr *jr, size_t off)
{
	vf_pos pos = { .file = jr->file, .line = 1, .col = 1 };
	for (size_t i = 0; i < off && jr->text[i]; i++) {
		if (jr->text[i] == '\n') {
			pos.line++;
			pos.col = 1;
		} else {
			pos.col++;
		}
	}
	return pos;
}

char *vf_jr_path(const char *path, const char *key)
{
	if (!key)
		return vf_strdup(path);
	return *path ? vf_asprintf("%s.%s", path, key) : vf_strdup(key);
}

char *vf_jr_index(const char *path, size_t i)
{
	return vf_asprintf("%s[%zu]", path, i);
}

int vf_jr_fail(vf_jr *jr, const char *path, const char *key, const char *fmt, ...)
{
	if (jr->failed)
		return -VF_E_FORMAT;
	jr->failed = true;
	_cleanup_free_ char *full = vf_jr_path(path, key);
	va_list ap;
	va_start(ap, fmt);
	_cleanup_free_ char *msg = vf_vasprintf(fmt, ap);
	va_end(ap);
	vf_pos pos = vf_jr__pos(jr, vf_jr__locate(jr->text, full));
	if (*full)
		return vf_error_set_pos(jr->err, VF_E_FORMAT, pos, "%s %s: %s", jr->what, full, msg);
	return vf_error_set_pos(jr->err, VF_E_FORMAT, pos, "%s: %s", jr->what, msg);
}

int vf_jr_read_file(const char *path, const char *what, char **ret_text, vf_error *err)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return vf_error_set(err, VF_E_IO, "cannot open %s %s: %s", what, path, strerror(errno));
	vf_buf b = { 0 };
	char chunk[65536];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		vf_buf_addn(&b, chunk, n);
	bool bad = ferror(f);
	fclose(f);
	size_t len = b.len;
	char *text = vf_buf_steal(&b);
	if (bad || strlen(text) != len) {
		free(text);
		return bad ? vf_error_set(err, VF_E_IO, "cannot read %s %s", what, path)
			   : vf_error_set(err, VF_E_FORMAT, "%s %s holds a NUL byte: not a JSON document",
					  what, path);
	}
	*ret_text = text;
	return 0;
}

int vf_jr_parse(vf_jr *jr, json_object **out)
{
	size_t len = strlen(jr->text);
	json_tokener *tok = json_tokener_new();
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	json_object *doc = json_tokener_parse_ex(tok, jr->text, (int)len);
	enum json_tokener_error e = json_tokener_get_error(tok);
	size_t end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	int r = 0;
	if (e == json_tokener_continue || (!doc && e == json_tokener_success)) {
		jr->failed = true;
		r = vf_error_set_pos(jr->err, VF_E_FORMAT, vf_jr__pos(jr, len),
				     "%s ends before its JSON does (truncated?)", jr->what);
	} else if (e != json_tokener_success) {
		jr->failed = true;
		r = vf_error_set_pos(jr->err, VF_E_FORMAT, vf_jr__pos(jr, end),
				     "%s is not valid JSON here: %s", jr->what,
				     json_tokener_error_desc(e));
	} else if (*vf_jr__ws(jr->text + end)) {
		jr->failed = true;
		r = vf_error_set_pos(jr->err, VF_E_FORMAT,
				     vf_jr__pos(jr, (size_t)(vf_jr__ws(jr->text + end) - jr->text)),
				     "%s has text after its JSON document", jr->what);
	} else if (!json_object_is_type(doc, json_type_object)) {
		r = vf_jr_fail(jr, "", NULL, "not a JSON object");
	}
	if (r < 0) {
		json_object_put(doc);
		return r;
	}
	*out = doc;
	return 0;
}

/* ---- members -------------------------------------------------------------- */

bool vf_jr_object(vf_jr *jr, json_object *o, const char *path, const char *const *keys)
{
	if (jr->failed)
		return false;
	if (!json_object_is_type(o, json_type_object)) {
		vf_jr_fail(jr, path, NULL, "expected an object");
		return false;
	}
	json_object_object_foreach(o, k, v) {
		(void)v;
		bool known = false;
		for (size_t i = 0; keys[i] && !known; i++)
			known = strcmp(keys[i], k) == 0;
		if (!known) {
			vf_jr_fail(jr, path, k, "unknown member");
			return false;
		}
	}
	for (size_t i = 0; keys[i]; i++)
		if (!json_object_object_get_ex(o, keys[i], NULL)) {
			vf_jr_fail(jr, path, NULL, "member \"%s\" is missing", keys[i]);
			return false;
		}
	return true;
}

json_object *vf_jr_get(json_object *o, const char *key)
{
	json_object *v = NULL;
	json_object_object_get_ex(o, key, &v);
	return v;
}

char *vf_jr_str(vf_jr *jr, json_object *o, const char *path, const char *key, bool nullable)
{
	json_object *v = vf_jr_get(o, key);
	if (jr->failed)
		return NULL;
	if (!v && nullable)
		return NULL;
	if (!json_object_is_type(v, json_type_string)) {
		vf_jr_fail(jr, path, key, nullable ? "expected a string or null" : "expected a string");
		return NULL;
	}
	return vf_strdup(json_object_get_string(v));
}

uint64_t vf_jr_u64(vf_jr *jr, json_object *o, const char *path, const char *key)
{
	json_object *v = vf_jr_get(o, key);
	if (jr->failed)
		return 0;
	if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 0) {
		vf_jr_fail(jr, path, key, "expected an unsigned integer");
		return 0;
	}
	return json_object_get_uint64(v);
}

int64_t vf_jr_i64(vf_jr *jr, json_object *o, const char *path, const char *key, int64_t min,
		  int64_t max)
{
	json_object *v = vf_jr_get(o, key);
	if (jr->failed)
		return 0;
	int64_t x = json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : 0;
	if (!json_object_is_type(v, json_type_int) || x < min || x > max) {
		vf_jr_fail(jr, path, key, "expected an integer from %" PRId64 " to %" PRId64, min, max);
		return 0;
	}
	return x;
}

bool vf_jr_bool(vf_jr *jr, json_object *o, const char *path, const char *key)
{
	json_object *v = vf_jr_get(o, key);
	if (jr->failed)
		return false;
	if (!json_object_is_type(v, json_type_boolean)) {
		vf_jr_fail(jr, path, key, "expected true or false");
		return false;
	}
	return json_object_get_boolean(v);
}

json_object *vf_jr_array(vf_jr *jr, json_object *o, const char *path, const char *key, size_t *n)
{
	json_object *v = vf_jr_get(o, key);
	*n = 0;
	if (jr->failed)
		return NULL;
	if (!json_object_is_type(v, json_type_array)) {
		vf_jr_fail(jr, path, key, "expected an array");
		return NULL;
	}
	*n = json_object_array_length(v);
	return v;
}

int vf_jr_enum(vf_jr *jr, json_object *o, const char *path, const char *key,
	       int (*from)(const char *), bool nullable, int unset)
{
	_cleanup_free_ char *s = vf_jr_str(jr, o, path, key, nullable);
	if (jr->failed || !s)
		return unset;
	int v = from(s);
	if (v < 0) {
		vf_jr_fail(jr, path, key, "unknown value \"%s\"", s);
		return unset;
	}
	return v;
}

bool vf_jr_digest_ok(vf_jr *jr, json_object *doc)
{
	if (jr->failed)
		return false;
	_cleanup_free_ char *want = vf_jw_digest(doc);
	json_object *d = vf_jr_get(doc, "digest");
	if (!json_object_is_type(d, json_type_string) ||
	    strcmp(json_object_get_string(d), want) != 0) {
		vf_jr_fail(jr, "digest", NULL,
			   "does not match the content: the file was edited or damaged after it was written; "
			   "make it again");
		return false;
	}
	return true;
}
