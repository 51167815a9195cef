/* util.c: allocation wrappers, string buffers and small string helpers.
 * Not for anything virtform-specific. */
#include "controller/core/util.h"

#include <gnutls/crypto.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

static void vf_oom(void)
{
	fputs("virtform: out of memory\n", stderr);
	abort();
}

void *vf_malloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		vf_oom();
	return p;
}

void *vf_calloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		vf_oom();
	return p;
}

void *vf_realloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		vf_oom();
	return q;
}

char *vf_strdup(const char *s)
{
	if (!s)
		return NULL;
	char *d = strdup(s);
	if (!d)
		vf_oom();
	return d;
}

char *vf_strndup(const char *s, size_t n)
{
	char *d = strndup(s, n);
	if (!d)
		vf_oom();
	return d;
}

char *vf_vasprintf(const char *fmt, va_list ap)
{
	char *s = NULL;
	if (vasprintf(&s, fmt, ap) < 0)
		vf_oom();
	return s;
}

char *vf_asprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = vf_vasprintf(fmt, ap);
	va_end(ap);
	return s;
}

void vf_grow(void *arr, size_t *cap, size_t n, size_t elsz)
{
	void **a = arr;
	if (n <= *cap)
		return;
	size_t ncap = *cap ? *cap : 4;
	while (ncap < n)
		ncap *= 2;
	*a = vf_realloc(*a, ncap * elsz);
	memset((char *)*a + *cap * elsz, 0, (ncap - *cap) * elsz);
	*cap = ncap;
}

void vf_buf_addn(vf_buf *b, const char *s, size_t n)
{
	vf_grow(&b->data, &b->cap, b->len + n + 1, 1);
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void vf_buf_add(vf_buf *b, const char *s)
{
	vf_buf_addn(b, s, strlen(s));
}

void vf_buf_printf(vf_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = NULL;
	int r = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (r < 0)
		vf_oom();
	vf_buf_addn(b, s, (size_t)r);
	free(s);
}

char *vf_buf_steal(vf_buf *b)
{
	char *s = b->data ? b->data : vf_strdup("");
	b->data = NULL;
	b->len = b->cap = 0;
	return s;
}

void vf_buf_free(vf_buf *b)
{
	if (!b)
		return;
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

char *vf_format_time(time_t t)
{
	struct tm tm;
	char buf[32];
	if (!gmtime_r(&t, &tm) || strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return NULL;
	return vf_strdup(buf);
}

/* One style for every size virtform prints (plan, progress, download lines):
 * the largest IEC unit the value reaches, whole when exact ("2GiB",
 * "512MiB"), else one decimal ("1.5GiB" = 1536MiB exact, "189.7MiB" not).
 * *exact says whether the text is the value itself. */
static char *vf_format__size(uint64_t bytes, bool *exact)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	size_t u = 0;
	while (u + 1 < VF_ARRAY_SIZE(units) && bytes >> (10 * (u + 1)))
		u++;
	uint64_t unit = 1ull << (10 * u);
	*exact = bytes % unit == 0;
	if (*exact)
		return vf_asprintf("%llu%s", (unsigned long long)(bytes / unit), units[u]);
	/* tenths, rounded; 1023.96MiB is 1.0GiB, not 1024.0MiB */
	long double t = (long double)bytes * 10 / (long double)unit;
	uint64_t tenths = (uint64_t)(t + 0.5L);
	*exact = (long double)tenths == t;
	if (tenths >= 10240 && u + 1 < VF_ARRAY_SIZE(units)) {
		u++;
		tenths = (tenths + 512) / 1024;
		*exact = false;
	}
	/* "1.0GiB" for 1.02GiB: the decimal says it is not exact */
	return vf_asprintf("%llu.%llu%s", (unsigned long long)(tenths / 10),
			   (unsigned long long)(tenths % 10), units[u]);
}

char *vf_format_size(uint64_t bytes)
{
	bool exact;
	return vf_format__size(bytes, &exact);
}

char *vf_format_size_exact(uint64_t bytes)
{
	bool exact;
	char *s = vf_format__size(bytes, &exact);
	if (exact)
		return s;
	char *both = vf_asprintf("%s (%llu bytes)", s, (unsigned long long)bytes);
	free(s);
	return both;
}

size_t vf_edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t *row = vf_calloc(lb + 1, sizeof(*row));
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t prev = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t cur = row[j];
			size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
			size_t best = prev + cost;
			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			prev = cur;
		}
	}
	size_t d = row[lb];
	free(row);
	return d;
}

bool vf_sha256_hex_valid(const char *s)
{
	if (!s || strlen(s) != 64)
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	return true;
}

void vf_sha256_hex(const void *data, size_t n, char out[65])
{
	unsigned char d[32];
	if (gnutls_hash_fast(GNUTLS_DIG_SHA256, data, n, d) < 0)
		abort();
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < sizeof(d); i++) { /* not snprintf: it was most of a short text's cost */
		out[2 * i] = hex[d[i] >> 4];
		out[2 * i + 1] = hex[d[i] & 15];
	}
	out[64] = '\0';
}

char *vf_user_dir(const char *var, const char *home_rel)
{
	const char *v = getenv(var);
	if (v && v[0] == '/')
		return vf_strdup(v); /* the spec: a relative value is to be ignored */
	const char *home = getenv("HOME");
	if (!home || home[0] != '/') {
		struct passwd *pw = getpwuid(geteuid());
		home = pw && pw->pw_dir && pw->pw_dir[0] == '/' ? pw->pw_dir : "/";
	}
	size_t n = strlen(home);
	while (n > 1 && home[n - 1] == '/')
		n--;
	return vf_asprintf("%.*s/%s", (int)(n == 1 ? 0 : n), home, home_rel);
}
