/* values.c: the manifest's scalar value parsers: sizes with units, names,
 * UUIDs, MACs, file modes and durations. Pure functions of a string, each
 * failing with one whole message. Not for YAML types (decode_value.c does
 * those). */
#include <ctype.h>

#include "controller/load/decode.h"

char *vf_decode_quote(const char *s, size_t len)
{
	vf_buf b = { 0 };
	vf_buf_add(&b, "\"");
	size_t shown = len > 64 ? 64 : len;
	for (size_t i = 0; i < shown; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\')
			vf_buf_printf(&b, "\\%c", c);
		else if (c == '\n')
			vf_buf_add(&b, "\\n");
		else if (c == '\t')
			vf_buf_add(&b, "\\t");
		else if (c < 0x20 || c == 0x7f)
			vf_buf_printf(&b, "\\x%02x", c);
		else
			vf_buf_addn(&b, (const char *)&s[i], 1);
	}
	vf_buf_add(&b, shown < len ? "...\"" : "\"");
	return vf_buf_steal(&b);
}

/* ---- sizes -------------------------------------------------------------- */

typedef struct vf_unit {
	const char *name;
	uint64_t mult;
} vf_unit;

static const vf_unit vf_size_units[] = {
	{ "B", 1 },
	{ "KiB", 1ull << 10 }, { "MiB", 1ull << 20 }, { "GiB", 1ull << 30 }, { "TiB", 1ull << 40 },
	{ "KB", 1000ull }, { "MB", 1000000ull }, { "GB", 1000000000ull }, { "TB", 1000000000000ull },
};

#define VF_UNITS_HELP "(use B, KiB, MiB, GiB, TiB, KB, MB, GB or TB)"

int vf_size_parse(const char *s, uint64_t *ret, vf_error *err)
{
	_cleanup_free_ char *q = vf_decode_quote(s, strlen(s));
	const char *p = s;
	if (*p == '-')
		return vf_error_set(err, VF_E_SCHEMA, "invalid size %s: sizes cannot be negative", q);
	if (!isdigit((unsigned char)*p))
		return vf_error_set(err, VF_E_SCHEMA,
				    "invalid size %s: expected a number of bytes or a number with a unit, like 20GiB",
				    q);
	uint64_t whole = 0;
	for (; isdigit((unsigned char)*p); p++)
		if (__builtin_mul_overflow(whole, 10, &whole) ||
		    __builtin_add_overflow(whole, (uint64_t)(*p - '0'), &whole))
			goto too_large;
	const char *frac = NULL;
	size_t n_frac = 0;
	if (*p == '.') {
		frac = ++p;
		for (; isdigit((unsigned char)*p); p++)
			n_frac++;
		if (n_frac == 0)
			return vf_error_set(err, VF_E_SCHEMA, "invalid size %s: expected digits after the \".\"", q);
	}
	if (*p == ' ' || *p == '\t')
		return vf_error_set(err, VF_E_SCHEMA,
				    "invalid size %s: write the unit right after the number, like 20GiB", q);
	uint64_t mult = 0;
	if (*p == '\0') {
		mult = 1;
	} else {
		for (size_t i = 0; i < VF_ARRAY_SIZE(vf_size_units); i++)
			if (strcmp(p, vf_size_units[i].name) == 0)
				mult = vf_size_units[i].mult;
		if (!mult) {
			_cleanup_free_ char *u = vf_decode_quote(p, strlen(p));
			return vf_error_set(err, VF_E_SCHEMA, "invalid size %s: unknown unit %s " VF_UNITS_HELP,
					    q, u);
		}
	}
	uint64_t bytes;
	if (__builtin_mul_overflow(whole, mult, &bytes))
		goto too_large;
	while (n_frac > 0 && frac[n_frac - 1] == '0')
		n_frac--;   /* "1.50GB" is "1.5GB" */
	if (n_frac > 0) {
		if (n_frac > 18)
			goto fraction;
		uint64_t f = 0, pow10 = 1;
		for (size_t i = 0; i < n_frac; i++) {
			f = f * 10 + (uint64_t)(frac[i] - '0');
			pow10 *= 10;
		}
		unsigned __int128 part = (unsigned __int128)f * mult;
		if (part % pow10 != 0)
			goto fraction;
		if (__builtin_add_overflow(bytes, (uint64_t)(part / pow10), &bytes))
			goto too_large;
	}
	*ret = bytes;
	return 0;
fraction:
	return vf_error_set(err, VF_E_SCHEMA, "invalid size %s: not a whole number of bytes", q);
too_large:
	return vf_error_set(err, VF_E_SCHEMA,
			    "invalid size %s: too large (at most 18446744073709551615 bytes)", q);
}

/* ---- names, UUIDs, MACs, modes, durations ------------------------------- */

int vf_name_check(const char *s, size_t len, const char *what, vf_error *err)
{
	_cleanup_free_ char *q = vf_decode_quote(s, len);
	if (len == 0)
		return vf_error_set(err, VF_E_SCHEMA, "invalid %s %s: must not be empty", what, q);
	if (len > VF_NAME_MAX)
		return vf_error_set(err, VF_E_SCHEMA, "invalid %s %s: longer than %d bytes", what, q,
				    VF_NAME_MAX);
	if (s[0] == '.')
		return vf_error_set(err, VF_E_SCHEMA, "invalid %s %s: must not start with \".\"", what, q);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '/')
			return vf_error_set(err, VF_E_SCHEMA, "invalid %s %s: must not contain \"/\"", what, q);
		if (c == 0)
			return vf_error_set(err, VF_E_SCHEMA, "invalid %s %s: must not contain a NUL byte", what, q);
		if (c < 0x20 || c == 0x7f)
			return vf_error_set(err, VF_E_SCHEMA, "invalid %s %s: must not contain control characters",
					    what, q);
	}
	return 0;
}

int vf_uuid_parse_strict(const char *s, uuid_t ret, vf_error *err)
{
	_cleanup_free_ char *q = vf_decode_quote(s, strlen(s));
	bool ok = strlen(s) == 36;
	for (size_t i = 0; ok && i < 36; i++)
		ok = (i == 8 || i == 13 || i == 18 || i == 23) ? s[i] == '-' : isxdigit((unsigned char)s[i]) != 0;
	uuid_t u;
	if (!ok || uuid_parse(s, u) < 0)
		return vf_error_set(err, VF_E_SCHEMA,
				    "invalid UUID %s: use 32 hex digits as 8-4-4-4-12, like 4dea22b3-1d52-d8f3-2516-782e98ab3fa0",
				    q);
	if (uuid_is_null(u))
		return vf_error_set(err, VF_E_SCHEMA, "invalid UUID %s: the nil UUID cannot name an object", q);
	uuid_copy(ret, u);
	return 0;
}

int vf_mac_parse(const char *s, char **ret, vf_error *err)
{
	_cleanup_free_ char *q = vf_decode_quote(s, strlen(s));
	bool ok = strlen(s) == 17;
	for (size_t i = 0; ok && i < 17; i++)
		ok = i % 3 == 2 ? s[i] == ':' : isxdigit((unsigned char)s[i]) != 0;
	if (!ok)
		return vf_error_set(err, VF_E_SCHEMA,
				    "invalid MAC address %s: use six hex pairs separated by colons, like 52:54:00:12:34:56",
				    q);
	unsigned first = (unsigned)strtoul((char[3]){ s[0], s[1], '\0' }, NULL, 16);
	if (first & 1)
		return vf_error_set(err, VF_E_SCHEMA,
				    "invalid MAC address %s: a multicast address cannot be given to an interface", q);
	if (strcmp(s, "00:00:00:00:00:00") == 0)
		return vf_error_set(err, VF_E_SCHEMA, "invalid MAC address %s: must not be all zeros", q);
	char *m = vf_strdup(s);
	for (char *c = m; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	*ret = m;
	return 0;
}

int vf_mode_parse(const char *s, int32_t *ret, vf_error *err)
{
	_cleanup_free_ char *q = vf_decode_quote(s, strlen(s));
	if (!*s)
		return vf_error_set(err, VF_E_SCHEMA, "invalid mode %s: use octal digits, like 0755", q);
	uint32_t v = 0;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '7')
			return vf_error_set(err, VF_E_SCHEMA, "invalid mode %s: use octal digits, like 0755", q);
		v = v * 8 + (uint32_t)(*p - '0');
		if (v > 07777)
			return vf_error_set(err, VF_E_SCHEMA, "invalid mode %s: larger than 07777", q);
	}
	*ret = (int32_t)v;
	return 0;
}

int vf_duration_parse(const char *s, uint32_t *ret, vf_error *err)
{
	_cleanup_free_ char *q = vf_decode_quote(s, strlen(s));
	const char *p = s;
	uint64_t v = 0;
	for (; isdigit((unsigned char)*p); p++) {
		v = v * 10 + (uint64_t)(*p - '0');
		if (v > UINT32_MAX)
			goto too_large;
	}
	uint64_t mult = 0;
	if (p != s) {
		if (strcmp(p, "") == 0 || strcmp(p, "s") == 0)
			mult = 1;
		else if (strcmp(p, "m") == 0)
			mult = 60;
		else if (strcmp(p, "h") == 0)
			mult = 3600;
	}
	if (!mult)
		return vf_error_set(err, VF_E_SCHEMA,
				    "invalid duration %s: use whole seconds (90) or a number with s, m or h (90s, 2m, 1h)",
				    q);
	if (v * mult > UINT32_MAX)
		goto too_large;
	*ret = (uint32_t)(v * mult);
	return 0;
too_large:
	return vf_error_set(err, VF_E_SCHEMA, "invalid duration %s: too long (at most %u seconds)", q,
			    (unsigned)UINT32_MAX);
}
