/* config.c: a small strict parser for virtform.conf (`key = value`, `#`
 * comments, optional double quotes) with LINE:COL errors, and the merging
 * of flags over file over defaults. Not for manifests (manifest.c). */
#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "controller/core/placement.h"
#include "controller/watch/config.h"
#include "controller/watch/metrics.h"

static const char *const vf_log_level_table[VF_LOG_LEVEL_MAX] = {
	[VF_LOG_ERR] = "err",
	[VF_LOG_WARNING] = "warning",
	[VF_LOG_NOTICE] = "notice",
	[VF_LOG_INFO] = "info",
	[VF_LOG_DEBUG] = "debug",
};
VF_STRING_TABLE(vf_log_level, vf_log_level, VF_LOG_LEVEL_MAX)

static const char *const vf_config__keys[] = {
	"connect", "manifests", "state_dir", "debounce_ms", "resync_seconds",
	"max_backoff_seconds", "log_level", "socket_group", "runtime_dir",
	"allowEmpty", /* Argo CD's name for the same setting, hence not snake_case */
	"metrics",
	"host_id", "etcd", "etcd_prefix", "lease_ttl", "host_labels", "fence_watchdog",
	"fence_watchdog_ms", "fence_helper",
};

#define VF_CONFIG_MAX_BYTES (1024 * 1024)

void vf_config_free(vf_config *c)
{
	if (!c)
		return;
	free(c->connect);
	free(c->manifests);
	free(c->state_dir);
	free(c->socket_group);
	free(c->runtime_dir);
	free(c->metrics);
	free(c->host_id);
	free(c->etcd);
	free(c->etcd_prefix);
	free(c->host_labels);
	free(c->fence_watchdog);
	free(c->fence_helper);
	memset(c, 0, sizeof(*c));
}

static int vf_config__uint(const char *key, const char *value, unsigned lo, unsigned hi,
			   const char *unit, unsigned *out, vf_error *err)
{
	char *end = NULL;
	errno = 0;
	unsigned long long v = strtoull(value, &end, 10);
	if (errno || end == value || *end || value[0] == '-' || v < lo || v > hi)
		return vf_error_set(err, VF_E_USAGE, "%s takes a whole number of %s from %u to %u, not '%s'",
				    key, unit, lo, hi, value);
	*out = (unsigned)v;
	return 0;
}

static void vf_config__set_str(char **slot, const char *value)
{
	free(*slot);
	*slot = vf_strdup(value);
}

/* "10s", "2500ms", "1m", or whole seconds ("10"). */
static int vf_config__duration_ms(const char *key, const char *value, unsigned lo_ms,
				  unsigned *out, vf_error *err)
{
	char *end = NULL;
	errno = 0;
	unsigned long long v = strtoull(value, &end, 10);
	unsigned long long mul = 1000;
	if (!errno && end != value && value[0] != '-') {
		if (strcmp(end, "ms") == 0)
			mul = 1;
		else if (strcmp(end, "m") == 0)
			mul = 60000;
		else if (*end && strcmp(end, "s") != 0)
			end = NULL;
	} else {
		end = NULL;
	}
	if (!end || v > 86400000ull / mul || v * mul < lo_ms)
		return vf_error_set(err, VF_E_USAGE,
				    "%s takes a duration of at least %u ms, such as 10s, 2500ms or 1m, not '%s'",
				    key, lo_ms, value);
	*out = (unsigned)(v * mul);
	return 0;
}

/* "K=V[,K=V...]": each key and value as spec.placement.hostLabels takes
 * them (vf_placement_label_*_valid), and no key twice. */
static int vf_config__labels_check(const char *key, const char *value, vf_error *err)
{
	for (const char *p = value;;) {
		const char *e = strchr(p, ',');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		_cleanup_free_ char *item = vf_strndup(p, len);
		char *eq = strchr(item, '=');
		if (eq)
			*eq = '\0';
		if (!eq || !vf_placement_label_key_valid(item) || !vf_placement_label_value_valid(eq + 1))
			return vf_error_set(err, VF_E_USAGE,
					    "%s takes KEY=VALUE, a label key and value as spec.placement.hostLabels takes them (docs/fleet.md), not '%.*s'",
					    key, (int)len, p);
		/* every earlier item ends with a ',' before p */
		for (const char *q = value; q < p; q = strchr(q, ',') + 1) {
			size_t klen = strcspn(q, "=,");
			if (klen == strlen(item) && strncmp(q, item, klen) == 0)
				return vf_error_set(err, VF_E_USAGE, "%s gives the label '%s' twice", key,
						    item);
		}
		if (!e)
			return 0;
		p = e + 1;
	}
}

int vf_config_set(vf_config *c, const char *key, const char *value, vf_error *err)
{
	unsigned u = 0;
	if (strcmp(key, "host_id") == 0) {
		if (!vf_placement_host_id_valid(value))
			return vf_error_set(err, VF_E_USAGE,
					    "host_id takes 1 to 63 letters, digits, '.', '_' or '-', not '%s'",
					    value);
		vf_config__set_str(&c->host_id, value);
	} else if (strcmp(key, "etcd") == 0 || strcmp(key, "etcd_prefix") == 0 ||
		   strcmp(key, "fence_watchdog") == 0 || strcmp(key, "fence_helper") == 0) {
		if (!*value)
			return vf_error_set(err, VF_E_USAGE, "%s must not be empty", key);
		if (strcmp(key, "etcd_prefix") == 0 && (value[0] != '/' || value[strlen(value) - 1] == '/'))
			return vf_error_set(err, VF_E_USAGE,
					    "etcd_prefix must start with '/' and not end with one, not '%s'",
					    value);
		vf_config__set_str(strcmp(key, "etcd") == 0		 ? &c->etcd
				   : strcmp(key, "etcd_prefix") == 0	 ? &c->etcd_prefix
				   : strcmp(key, "fence_watchdog") == 0 ? &c->fence_watchdog
									 : &c->fence_helper,
				   value);
	} else if (strcmp(key, "lease_ttl") == 0) {
		if (vf_config__duration_ms(key, value, 1000, &u, err) < 0)
			return -VF_E_USAGE;
		if (u % 1000)   /* etcd grants leases in whole seconds */
			return vf_error_set(err, VF_E_USAGE,
					    "lease_ttl takes whole seconds (etcd's lease unit), not '%s'", value);
		c->lease_ttl_ms = u;
		c->has_lease_ttl_ms = true;
	} else if (strcmp(key, "fence_watchdog_ms") == 0) {
		if (vf_config__uint(key, value, 1000, 600000, "milliseconds", &u, err) < 0)
			return -VF_E_USAGE;
		c->fence_watchdog_ms = u;
		c->has_fence_watchdog_ms = true;
	} else if (strcmp(key, "host_labels") == 0 || strcmp(key, "host_label") == 0) {
		/* host_label (the repeatable flag) adds one; host_labels sets all */
		_cleanup_free_ char *all = key[10] == '\0' && c->host_labels
						   ? vf_asprintf("%s,%s", c->host_labels, value)
						   : vf_strdup(value);
		if (vf_config__labels_check(key, all, err) < 0)
			return -VF_E_USAGE;
		vf_config__set_str(&c->host_labels, all);
	} else if (strcmp(key, "connect") == 0) {
		vf_config__set_str(&c->connect, value);
	} else if (strcmp(key, "metrics") == 0) {
		if (vf_metrics_addr_check(value, err) < 0)
			return -VF_E_USAGE;
		vf_config__set_str(&c->metrics, value);
	} else if (strcmp(key, "manifests") == 0 || strcmp(key, "state_dir") == 0 ||
		   strcmp(key, "socket_group") == 0 || strcmp(key, "runtime_dir") == 0) {
		if (!*value)
			return vf_error_set(err, VF_E_USAGE, "%s must not be empty", key);
		vf_config__set_str(key[0] == 'm'   ? &c->manifests
				   : key[0] == 'r' ? &c->runtime_dir
				   : key[1] == 't' ? &c->state_dir : &c->socket_group, value);
	} else if (strcmp(key, "debounce_ms") == 0) {
		if (vf_config__uint(key, value, 0, 60000, "milliseconds", &u, err) < 0)
			return -VF_E_USAGE;
		c->debounce_ms = u;
		c->has_debounce_ms = true;
	} else if (strcmp(key, "resync_seconds") == 0) {
		if (vf_config__uint(key, value, 1, 86400, "seconds", &u, err) < 0)
			return -VF_E_USAGE;
		c->resync_seconds = u;
		c->has_resync_seconds = true;
	} else if (strcmp(key, "max_backoff_seconds") == 0) {
		if (vf_config__uint(key, value, 1, 86400, "seconds", &u, err) < 0)
			return -VF_E_USAGE;
		c->max_backoff_seconds = u;
		c->has_max_backoff_seconds = true;
	} else if (strcmp(key, "log_level") == 0) {
		int l = vf_log_level_from_string(value);
		if (l < 0)
			return vf_error_set(err, VF_E_USAGE,
					    "log_level takes err, warning, notice, info or debug, not '%s'",
					    value);
		c->log_level = (vf_log_level)l;
		c->has_log_level = true;
	} else if (strcmp(key, "allowEmpty") == 0) {
		if (strcmp(value, "true") != 0 && strcmp(value, "false") != 0)
			return vf_error_set(err, VF_E_USAGE, "allowEmpty takes true or false, not '%s'",
					    value);
		c->allow_empty = value[0] == 't';
		c->has_allow_empty = true;
	} else {
		return vf_error_set(err, VF_E_USAGE, "unknown setting '%s'", key);
	}
	return 0;
}

static bool vf_config__key_char(char ch, bool first)
{
	return (ch >= 'a' && ch <= 'z') || ch == '_' ||
	       (!first && ((ch >= '0' && ch <= '9') || (ch >= 'A' && ch <= 'Z')));
}

static const char *vf_config__closest_key(const char *key)
{
	const char *best = NULL;
	size_t best_d = 4;
	for (size_t i = 0; i < VF_ARRAY_SIZE(vf_config__keys); i++) {
		size_t d = vf_edit_distance(key, vf_config__keys[i]);
		if (d < best_d) {
			best_d = d;
			best = vf_config__keys[i];
		}
	}
	return best;
}

/* Parse one line (without its newline) into key and value; *col is where
 * an error points. Returns 0 (blank or comment: *key NULL), or -1. */
static int vf_config__line(const char *line, size_t len, char **key, char **value, int *col,
			   const char **why)
{
	size_t i = 0;
	*key = *value = NULL;
	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	if (i == len || line[i] == '#')
		return 0;
	size_t ks = i;
	*col = (int)i + 1;
	if (!vf_config__key_char(line[i], true)) {
		*why = "expected a setting name (lower-case letters, digits, '_')";
		return -1;
	}
	while (i < len && vf_config__key_char(line[i], false))
		i++;
	size_t ke = i;
	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	if (i == len || line[i] != '=') {
		*col = (int)i + 1;
		*why = i == len ? "expected '=' after the setting name, found the end of the line"
				: "expected '=' after the setting name";
		return -1;
	}
	i++;
	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	vf_buf v = { 0 };
	vf_buf_add(&v, "");
	if (i < len && line[i] == '"') {
		size_t open = i++;
		bool closed = false;
		while (i < len) {
			char ch = line[i];
			if (ch == '"') {
				closed = true;
				i++;
				break;
			}
			if (ch == '\\') {
				if (i + 1 < len && (line[i + 1] == '"' || line[i + 1] == '\\')) {
					vf_buf_addn(&v, &line[i + 1], 1);
					i += 2;
					continue;
				}
				*col = (int)i + 1;
				*why = "unknown escape in a quoted value (only \\\" and \\\\)";
				vf_buf_free(&v);
				return -1;
			}
			vf_buf_addn(&v, &ch, 1);
			i++;
		}
		if (!closed) {
			*col = (int)open + 1;
			*why = "quoted value is not closed on this line";
			vf_buf_free(&v);
			return -1;
		}
		while (i < len && (line[i] == ' ' || line[i] == '\t'))
			i++;
		if (i < len && line[i] != '#') {
			*col = (int)i + 1;
			*why = "unexpected text after the quoted value";
			vf_buf_free(&v);
			return -1;
		}
	} else {
		size_t vs = i, ve = i;
		/* An unquoted value runs to the end of the line or to a `#` that
		 * follows a blank; trailing blanks are dropped. */
		while (i < len) {
			if (line[i] == '#' && (line[i - 1] == ' ' || line[i - 1] == '\t'))
				break;
			if (line[i] == '"') {
				*col = (int)i + 1;
				*why = "a '\"' inside an unquoted value; quote the whole value";
				vf_buf_free(&v);
				return -1;
			}
			if (line[i] != ' ' && line[i] != '\t')
				ve = i + 1;
			i++;
		}
		if (ve == vs) {
			*col = (int)vs + 1;
			*why = "expected a value after '='";
			vf_buf_free(&v);
			return -1;
		}
		vf_buf_addn(&v, line + vs, ve - vs);
	}
	*key = vf_strndup(line + ks, ke - ks);
	*value = vf_buf_steal(&v);
	*col = (int)ks + 1;
	return 0;
}

int vf_config_parse(const char *path, const char *text, vf_config *out, vf_error *err)
{
	vf_config c = { 0 };
	bool seen[VF_ARRAY_SIZE(vf_config__keys)] = { false };
	const char *p = text;
	int lineno = 0;
	int r = 0;

	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		lineno++;
		if (len && p[len - 1] == '\r')
			len--;
		_cleanup_free_ char *key = NULL;
		_cleanup_free_ char *value = NULL;
		const char *why = NULL;
		int col = 1;
		vf_pos pos = { .file = path, .line = lineno };
		if (vf_config__line(p, len, &key, &value, &col, &why) < 0) {
			pos.col = col;
			r = vf_error_set_pos(err, VF_E_SYNTAX, pos, "%s", why);
			goto fail;
		}
		pos.col = col;
		if (key) {
			size_t k;
			for (k = 0; k < VF_ARRAY_SIZE(vf_config__keys); k++)
				if (strcmp(key, vf_config__keys[k]) == 0)
					break;
			if (k == VF_ARRAY_SIZE(vf_config__keys)) {
				const char *hint = vf_config__closest_key(key);
				if (hint)
					r = vf_error_set_pos(err, VF_E_SCHEMA, pos,
							     "unknown setting '%s'; did you mean '%s'?", key, hint);
				else
					r = vf_error_set_pos(err, VF_E_SCHEMA, pos, "unknown setting '%s'", key);
				goto fail;
			}
			if (seen[k]) {
				r = vf_error_set_pos(err, VF_E_DUPLICATE, pos,
						     "'%s' is set twice; each setting may appear once", key);
				goto fail;
			}
			seen[k] = true;
			vf_error e = { 0 };
			if (vf_config_set(&c, key, value, &e) < 0) {
				/* Point at the value, where the problem is. */
				const char *eq = memchr(p, '=', len);
				pos.col = eq ? (int)(eq - p) + 2 : col;
				while (eq && pos.col <= (int)len && (p[pos.col - 1] == ' ' || p[pos.col - 1] == '\t'))
					pos.col++;
				r = vf_error_set_pos(err, VF_E_SCHEMA, pos, "%s", e.message);
				vf_error_clear(&e);
				goto fail;
			}
		}
		if (!nl)
			break;
		p = nl + 1;
	}
	vf_config_free(out);
	*out = c;
	return 0;
fail:
	vf_config_free(&c);
	return r;
}

int vf_config_load(const char *path, bool must_exist, vf_config *out, vf_error *err)
{
	FILE *f = fopen(path, "re");
	if (!f) {
		if (errno == ENOENT && !must_exist) {
			vf_config_free(out);
			return 0;
		}
		return vf_error_set(err, VF_E_IO, "cannot read config file %s: %s", path, strerror(errno));
	}
	vf_buf b = { 0 };
	vf_buf_add(&b, "");
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (memchr(chunk, '\0', n)) {
			fclose(f);
			vf_buf_free(&b);
			return vf_error_set(err, VF_E_SYNTAX, "config file %s contains a NUL byte", path);
		}
		vf_buf_addn(&b, chunk, n);
		if (b.len > VF_CONFIG_MAX_BYTES) {
			fclose(f);
			vf_buf_free(&b);
			return vf_error_set(err, VF_E_LIMIT, "config file %s is larger than 1 MiB", path);
		}
	}
	bool bad = ferror(f);
	fclose(f);
	if (bad) {
		vf_buf_free(&b);
		return vf_error_set(err, VF_E_IO, "cannot read config file %s", path);
	}
	int r = vf_config_parse(path, b.data, out, err);
	vf_buf_free(&b);
	return r;
}

void vf_config_merge(vf_config *base, const vf_config *over)
{
	if (over->connect)
		vf_config__set_str(&base->connect, over->connect);
	if (over->manifests)
		vf_config__set_str(&base->manifests, over->manifests);
	if (over->state_dir)
		vf_config__set_str(&base->state_dir, over->state_dir);
	if (over->socket_group)
		vf_config__set_str(&base->socket_group, over->socket_group);
	if (over->runtime_dir)
		vf_config__set_str(&base->runtime_dir, over->runtime_dir);
	if (over->metrics)
		vf_config__set_str(&base->metrics, over->metrics);
	if (over->host_id)
		vf_config__set_str(&base->host_id, over->host_id);
	if (over->etcd)
		vf_config__set_str(&base->etcd, over->etcd);
	if (over->etcd_prefix)
		vf_config__set_str(&base->etcd_prefix, over->etcd_prefix);
	if (over->host_labels)
		vf_config__set_str(&base->host_labels, over->host_labels);
	if (over->fence_watchdog)
		vf_config__set_str(&base->fence_watchdog, over->fence_watchdog);
	if (over->fence_helper)
		vf_config__set_str(&base->fence_helper, over->fence_helper);
	if (over->has_lease_ttl_ms) {
		base->lease_ttl_ms = over->lease_ttl_ms;
		base->has_lease_ttl_ms = true;
	}
	if (over->has_fence_watchdog_ms) {
		base->fence_watchdog_ms = over->fence_watchdog_ms;
		base->has_fence_watchdog_ms = true;
	}
	if (over->has_debounce_ms) {
		base->debounce_ms = over->debounce_ms;
		base->has_debounce_ms = true;
	}
	if (over->has_resync_seconds) {
		base->resync_seconds = over->resync_seconds;
		base->has_resync_seconds = true;
	}
	if (over->has_max_backoff_seconds) {
		base->max_backoff_seconds = over->max_backoff_seconds;
		base->has_max_backoff_seconds = true;
	}
	if (over->has_log_level) {
		base->log_level = over->log_level;
		base->has_log_level = true;
	}
	if (over->has_allow_empty) {
		base->allow_empty = over->allow_empty;
		base->has_allow_empty = true;
	}
}

char *vf_config_default_path(bool privileged)
{
	if (privileged)
		return vf_strdup(VF_CONFIG_DEFAULT_PATH);
	_cleanup_free_ char *base = vf_user_dir("XDG_CONFIG_HOME", ".config");
	return vf_asprintf("%s/virtform/virtform.conf", base);
}

void vf_config_defaults(vf_config *c)
{
	if (!c->state_dir)
		c->state_dir = vf_statedir_default(geteuid() == 0);
	if (!c->runtime_dir)
		c->runtime_dir = vf_runtimedir_default(geteuid() == 0);
	if (!c->has_debounce_ms)
		c->debounce_ms = VF_DEFAULT_DEBOUNCE_MS;
	if (!c->has_resync_seconds)
		c->resync_seconds = VF_DEFAULT_RESYNC_SECONDS;
	if (!c->has_max_backoff_seconds)
		c->max_backoff_seconds = VF_DEFAULT_MAX_BACKOFF_SECONDS;
	if (!c->has_log_level)
		c->log_level = VF_LOG_INFO;
	if (!c->has_lease_ttl_ms)
		c->lease_ttl_ms = VF_DEFAULT_LEASE_TTL_MS;
	if (!c->etcd_prefix)
		c->etcd_prefix = vf_strdup(VF_DEFAULT_ETCD_PREFIX);
	if (!c->has_fence_watchdog_ms)
		c->fence_watchdog_ms = c->lease_ttl_ms * 2 / 3 < 5000u ? c->lease_ttl_ms * 2 / 3 : 5000u;
	c->has_lease_ttl_ms = c->has_fence_watchdog_ms = true;
	c->has_debounce_ms = c->has_resync_seconds = true;
	c->has_max_backoff_seconds = c->has_log_level = true;
}
