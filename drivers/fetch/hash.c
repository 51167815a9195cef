/* hash.c: checksums for the fetch driver through gnutls (already linked for
 * TLS) and cache entry names. Not for downloading (curl.c) or reading
 * image headers (image.c). */

#include "fetch_internal.h"

gnutls_digest_algorithm_t vf_hash_algo(vf_checksum_algo a)
{
	return a == VF_CHECKSUM_SHA512 ? GNUTLS_DIG_SHA512 : GNUTLS_DIG_SHA256;
}

static char *vf_hash__hex(const unsigned char *d, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	char *s = vf_malloc(2 * n + 1);
	for (size_t i = 0; i < n; i++) {
		s[2 * i] = digits[d[i] >> 4];
		s[2 * i + 1] = digits[d[i] & 15];
	}
	s[2 * n] = '\0';
	return s;
}

char *vf_hash_hex(gnutls_hash_hd_t h, gnutls_digest_algorithm_t algo)
{
	unsigned char d[64];
	size_t n = gnutls_hash_get_len(algo);
	gnutls_hash_deinit(h, d);
	return vf_hash__hex(d, n);
}

char *vf_fetch_cache_name(const char *url, vf_checksum_algo algo, const char *hex)
{
	if (algo != VF_CHECKSUM_NONE && hex)
		return vf_asprintf("%s-%s", vf_checksum_algo_to_string(algo), hex);
	unsigned char d[32];
	if (gnutls_hash_fast(GNUTLS_DIG_SHA256, url, strlen(url), d) < 0)
		abort();
	_cleanup_free_ char *h = vf_hash__hex(d, sizeof(d));
	return vf_asprintf("url-%s", h);
}
