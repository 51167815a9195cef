/* iso.c: the cloud-init seed written as an ISO 9660 image with libisofs (the
 * library xorriso is built on): Rock Ridge for the exact lower-case names
 * cloud-init opens, Joliet for Windows-style readers, volume id "cidata"
 * kept lower-case as cloud-localds (genisoimage -V cidata) writes it.
 * Not for the files' content or for uploading the image. */
#define LIBISOFS_WITHOUT_LIBBURN 1  /* use libisofs's copy of struct burn_source */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/types.h>
#include <libisofs/libisofs.h>
#include <pthread.h>
#include <unistd.h>

#include "seed.h"

static int vf_seed__init_rc;

/* libisofs keeps global state: initialise it once per process and never
 * let it print (library code never prints; errors come back as codes). */
static void vf_seed__init(void)
{
	vf_seed__init_rc = iso_init();
	if (vf_seed__init_rc >= 0) {
		char never[] = "NEVER", id[] = "virtform";
		iso_set_msgs_severities(never, never, id);
	}
}

static int vf_seed__fail(vf_error *err, int rc, const char *what)
{
	return vf_error_set(err, VF_E_IO, "cannot build the cloud-init seed: %s: %s", what,
			    iso_error_to_msg(rc));
}

static int vf_seed__add(IsoImage *image, const char *name, const char *text, vf_error *err)
{
	size_t len = strlen(text);
	unsigned char *buf = vf_malloc(len ? len : 1);
	memcpy(buf, text, len);
	IsoStream *stream = NULL;
	int rc = iso_memory_stream_new(buf, len, &stream); /* the stream owns buf */
	if (rc < 0) {
		free(buf);
		return vf_seed__fail(err, rc, name);
	}
	IsoFile *file = NULL;
	rc = iso_image_add_new_file(image, iso_image_get_root(image), name, stream, &file);
	if (rc < 0) {
		iso_stream_unref(stream); /* on success the file took this reference */
		return vf_seed__fail(err, rc, name);
	}
	iso_node_set_permissions((IsoNode *)file, 0444);
	iso_node_set_uid((IsoNode *)file, 0);
	iso_node_set_gid((IsoNode *)file, 0);
	return 0;
}

static int vf_seed__write_image(IsoImage *image, int fd, const char *path, vf_error *err)
{
	IsoWriteOpts *opts = NULL;
	int rc = iso_write_opts_new(&opts, 0);
	if (rc < 0)
		return vf_seed__fail(err, rc, "write options");
	iso_write_opts_set_rockridge(opts, 1);
	iso_write_opts_set_joliet(opts, 1);
	iso_write_opts_set_relaxed_vol_atts(opts, 1); /* keep "cidata" lower-case */
	struct burn_source *src = NULL;
	rc = iso_image_create_burn_source(image, opts, &src);
	iso_write_opts_free(opts);
	if (rc < 0)
		return vf_seed__fail(err, rc, "image");
	unsigned char block[2048];
	int r = 0, n;
	while ((n = src->read_xt(src, block, sizeof(block))) > 0) {
		size_t off = 0;
		while (r == 0 && off < (size_t)n) {
			ssize_t w = write(fd, block + off, (size_t)n - off);
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				r = vf_error_set(err, VF_E_IO, "cannot write the cloud-init seed to \"%s\": %s",
						 path, strerror(errno));
			else
				off += (size_t)w;
		}
		if (r < 0)
			break;
	}
	if (r == 0 && n < 0)
		r = vf_error_set(err, VF_E_IO, "cannot build the cloud-init seed: libisofs failed while writing the image");
	/* Drain the writer thread before freeing its source, even after a failure. */
	while (r < 0 && src->read_xt(src, block, sizeof(block)) > 0)
		;
	src->free_data(src);
	free(src);
	return r;
}

int vf_seed_iso_write(const char *path, const char *user_data, const char *meta_data,
		      const char *network_config, vf_error *err)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, vf_seed__init);
	if (vf_seed__init_rc < 0)
		return vf_seed__fail(err, vf_seed__init_rc, "libisofs initialisation");

	IsoImage *image = NULL;
	int rc = iso_image_new(VF_SEED_VOLUME_ID, &image);
	if (rc < 0)
		return vf_seed__fail(err, rc, "new image");
	int r = vf_seed__add(image, "user-data", user_data ? user_data : "", err);
	if (r == 0)
		r = vf_seed__add(image, "meta-data", meta_data ? meta_data : "", err);
	if (r == 0 && network_config)
		r = vf_seed__add(image, "network-config", network_config, err);
	if (r < 0) {
		iso_image_unref(image);
		return r;
	}
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		iso_image_unref(image);
		return vf_error_set(err, VF_E_IO, "cannot create \"%s\": %s", path, strerror(errno));
	}
	r = vf_seed__write_image(image, fd, path, err);
	iso_image_unref(image);
	if (r == 0 && fsync(fd) < 0)
		r = vf_error_set(err, VF_E_IO, "cannot write \"%s\": %s", path, strerror(errno));
	if (close(fd) < 0 && r == 0)
		r = vf_error_set(err, VF_E_IO, "cannot write \"%s\": %s", path, strerror(errno));
	return r;
}
