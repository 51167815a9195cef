/* hash.c: checksums for the fetch driver through gnutls (already linked for
 * TLS), cache entry names, and reading an image's format and virtual size
 * from its header. Not for downloading (curl.c). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

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

/* qcow2's header: magic "QFI\xfb", big-endian version at 4, size at 24. */
int vf_image_probe(const char *path, vf_image_info *out, vf_error *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return vf_error_set(err, VF_E_IO, "cannot open image %s: %s", path, strerror(errno));
	struct stat st;
	unsigned char h[32] = { 0 };
	ssize_t n = fstat(fd, &st) < 0 ? -1 : pread(fd, h, sizeof(h), 0);
	int e = errno;
	close(fd);
	if (n < 0)
		return vf_error_set(err, VF_E_IO, "cannot read image %s: %s", path, strerror(e));
	vf_image_info info = { .format = VF_VOL_RAW, .file_size = (uint64_t)st.st_size,
			       .virtual_size = (uint64_t)st.st_size };
	if (n >= 32 && memcmp(h, "QFI\xfb", 4) == 0) {
		uint64_t size = 0;
		for (int i = 24; i < 32; i++)
			size = size << 8 | h[i];
		uint32_t version = (uint32_t)h[4] << 24 | (uint32_t)h[5] << 16 | (uint32_t)h[6] << 8 | h[7];
		if (version < 2 || version > 3)
			return vf_error_set(err, VF_E_IO,
					    "image %s: unsupported qcow2 version %u", path, version);
		info.format = VF_VOL_QCOW2;
		info.virtual_size = size;
	}
	*out = info;
	return 0;
}
