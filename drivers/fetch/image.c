/* image.c: what a downloaded image is, read from its header: qcow2 or raw,
 * its virtual size, and whether a qcow2 header names a host file (a
 * backing file or an external data file) that a guest given the image
 * could read; or whether it is another format (qed, vmdk, cow) whose header
 * can name host files. Such an image is refused before it is cached or
 * uploaded.
 * Not for converting or repairing images (qemu-img does that). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fetch_internal.h"

/* The qcow2 header (QEMU docs/interop/qcow2.txt), all fields big-endian:
 *    0  magic "QFI\xfb"          4  version (2 or 3)
 *    8  backing_file_offset      16 backing_file_size (u32)
 *   20  cluster_bits (u32)       24 size (virtual, u64)
 *   72  incompatible_features (v3; bit 2: external data file)
 *  100  header_length (v3; v2 headers are 72 bytes)
 * Header extensions follow the header, inside the first cluster: u32 type,
 * u32 length, data padded to 8 bytes, until type 0. Type 0x44415441
 * ("DATA") is the external data file's name. */
#define VF_QCOW2_V2_HEADER 72u
#define VF_QCOW2_INCOMPAT_DATA_FILE (1ull << 2)
#define VF_QCOW2_EXT_END 0u
#define VF_QCOW2_EXT_DATA_FILE 0x44415441u
#define VF_QCOW2_MAX_CLUSTER (2u << 20) /* cluster_bits 21, QEMU's largest */

/* Formats libvirt probes (virStorageFileProbeFormat) whose header can
 * name other files on the host: a file of any of these declared raw would
 * be opened by the guest's QEMU as that format after libvirt's refresh. */
static const struct {
	const char *magic;
	size_t len;
	const char *name;
} vf_image__others[] = {
	{ "QED\0", 4, "qed" },                      /* backing file */
	{ "KDMV", 4, "vmdk" },                       /* sparse extent: parent hint */
	{ "# Disk DescriptorFile", 21, "vmdk" },     /* descriptor: extent files */
	{ "OOOM", 4, "cow" },                        /* UML COW: backing file */
};

static uint64_t vf_be(const unsigned char *p, size_t n)
{
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

/* Copy a name stored without a terminator, cut to fit. */
static void vf_image__name(vf_image_info *info, const char *kind, const unsigned char *p,
			   size_t len)
{
	info->host_file_kind = kind;
	if (len > sizeof(info->host_file) - 1)
		len = sizeof(info->host_file) - 1;
	memcpy(info->host_file, p, len);
	info->host_file[len] = '\0';
}

/* The host file the header in h[0..n) names, if any, into info. A name
 * outside what was read leaves host_file empty but the kind set. */
static void vf_image__host_file(const unsigned char *h, size_t n, vf_image_info *info)
{
	uint32_t version = (uint32_t)vf_be(h + 4, 4);
	uint64_t backing_off = vf_be(h + 8, 8);
	uint32_t backing_len = (uint32_t)vf_be(h + 16, 4);
	if (backing_off != 0) {
		info->host_file_kind = "backing file";
		if (backing_off < n && backing_len <= n - backing_off)
			vf_image__name(info, "backing file", h + backing_off, backing_len);
		return;
	}
	if (version < 3 || n < 104)
		return; /* v2 has neither feature bits nor a data file */
	if (vf_be(h + 72, 8) & VF_QCOW2_INCOMPAT_DATA_FILE)
		info->host_file_kind = "external data file";
	uint64_t at = vf_be(h + 100, 4);
	if (at < VF_QCOW2_V2_HEADER)
		at = VF_QCOW2_V2_HEADER;
	at = (at + 7) & ~7ull;
	while (at + 8 <= n) {
		uint32_t type = (uint32_t)vf_be(h + at, 4);
		uint32_t len = (uint32_t)vf_be(h + at + 4, 4);
		if (type == VF_QCOW2_EXT_END || len > n - at - 8)
			break;
		if (type == VF_QCOW2_EXT_DATA_FILE) {
			vf_image__name(info, "external data file", h + at + 8, len);
			return;
		}
		at += 8 + (((uint64_t)len + 7) & ~7ull);
	}
}

int vf_image_probe(const char *path, vf_image_info *out, vf_error *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return vf_error_set(err, VF_E_IO, "cannot open image %s: %s", path, strerror(errno));
	struct stat st;
	/* the first cluster at most: where the header and its extensions live */
	_cleanup_free_ unsigned char *h = vf_calloc(1, VF_QCOW2_MAX_CLUSTER);
	ssize_t n = fstat(fd, &st) < 0 ? -1 : pread(fd, h, VF_QCOW2_MAX_CLUSTER, 0);
	int e = errno;
	close(fd);
	if (n < 0)
		return vf_error_set(err, VF_E_IO, "cannot read image %s: %s", path, strerror(e));
	vf_image_info info = { .format = VF_VOL_RAW, .file_size = (uint64_t)st.st_size,
			       .virtual_size = (uint64_t)st.st_size };
	if (n >= VF_QCOW2_V2_HEADER && memcmp(h, "QFI\xfb", 4) == 0) {
		uint32_t version = (uint32_t)vf_be(h + 4, 4);
		if (version < 2 || version > 3)
			return vf_error_set(err, VF_E_IO,
					    "image %s: unsupported qcow2 version %u", path, version);
		info.format = VF_VOL_QCOW2;
		info.virtual_size = vf_be(h + 24, 8);
		uint32_t cluster_bits = (uint32_t)vf_be(h + 20, 4);
		size_t cluster = cluster_bits >= 9 && cluster_bits <= 21 ? (size_t)1 << cluster_bits
									 : VF_QCOW2_MAX_CLUSTER;
		vf_image__host_file(h, (size_t)n < cluster ? (size_t)n : cluster, &info);
	}
	for (size_t i = 0; i < VF_ARRAY_SIZE(vf_image__others); i++)
		if ((size_t)n >= vf_image__others[i].len &&
		    memcmp(h, vf_image__others[i].magic, vf_image__others[i].len) == 0)
			info.other_format = vf_image__others[i].name;
	*out = info;
	return 0;
}

int vf_image_check(const char *path, const char *url, vf_image_info *out, vf_error *err)
{
	vf_image_info info;
	int r = vf_image_probe(path, &info, err);
	if (r < 0)
		return r;
	if (info.host_file_kind)
		return vf_error_set(err, VF_E_BLOCKED,
				    "the image from %s is qcow2 with the %s \"%s\": a guest could read that host file, so virtform refuses it; flatten it first (qemu-img convert -O qcow2 IN OUT)",
				    url, info.host_file_kind, info.host_file);
	if (info.other_format)
		return vf_error_set(err, VF_E_BLOCKED,
				    "the image from %s is a %s image, not raw or qcow2: libvirt would open it with any backing or extent file it names, which a guest could read, so virtform refuses it; convert it first (qemu-img convert -O qcow2 IN OUT)",
				    url, info.other_format);
	*out = info;
	return 0;
}
