/* curl.c: the fetch driver: image downloads through libcurl into the cache
 * in the state directory, keyed by checksum. Bytes are hashed as they
 * arrive (the checksum is of the file as served), decompressed while
 * streaming, and written to "<entry>.part"; only a verified, complete
 * download is renamed into place, so a mismatch or a cut-off transfer never
 * becomes an entry. An interrupted download resumes with a Range request
 * after the existing part is re-hashed. Downloads are bounded by the
 * volume's capacity (as served and unpacked), an https URL is never
 * followed to http, and a qcow2 image naming a host file is refused
 * (docs/concepts.md, rule 8). Not for putting images into pools (the
 * storage driver's volume_upload). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "controller/core/statedir.h"
#include "fetch_internal.h"

#ifndef VF_VERSION
#define VF_VERSION "dev"
#endif

typedef struct vf_dl {
	const char *url;
	const vf_fetch_opts *opts;
	CURL *curl;
	vf_checksum_algo algo;
	gnutls_digest_algorithm_t halgo;
	gnutls_hash_hd_t hash;
	vf_codec codec;
	vf_unpacker *unpack;
	int part_fd;              /* the bytes as served (resume point) */
	int out_fd;               /* decompressed output; == part_fd when not compressed */
	const char *part_path;
	const char *out_path;
	uint64_t offset;          /* bytes already in the part before this request */
	uint64_t received;        /* bytes this request delivered */
	uint64_t unpacked;        /* decompressed bytes written since the last reset */
	bool status_checked;
	vf_error werr;            /* why the write path stopped the transfer */
	double last_report;
	char *last_url;           /* where the last transfer ended (redirects followed) */
} vf_dl;

static void vf_curl__init_once(void)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		abort();
}

static void vf_curl__init(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, vf_curl__init_once);
}

static unsigned vf_opt(unsigned v, unsigned dflt)
{
	return v ? v : dflt;
}

static double vf_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int vf_write_all(int fd, const void *data, size_t len, const char *path, vf_error *err)
{
	const char *p = data;
	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return vf_error_set(err, VF_E_IO, "cannot write %s: %s", path, strerror(errno));
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

static int vf_mkdir_p(const char *dir, vf_error *err)
{
	_cleanup_free_ char *p = vf_strdup(dir);
	for (char *s = p + 1;; s++) {
		bool end = *s == '\0';
		if (*s == '/' || end) {
			*s = '\0';
			if (mkdir(p, 0700) < 0 && errno != EEXIST)
				return vf_error_set(err, VF_E_IO, "cannot create directory %s: %s", p,
						    strerror(errno));
			if (end)
				break;
			*s = '/';
		}
	}
	return 0;
}

/* ---- the streaming pipeline: hash, then decompress, then write ---------- */

/* The bound (opts->max_size, 0: none) is passed by `more` bytes after `have`. */
static bool vf_dl__over(const vf_dl *d, uint64_t have, uint64_t more)
{
	uint64_t max = d->opts ? d->opts->max_size : 0;
	return max > 0 && (have > max || more > max - have);
}

/* The error for a download over its bound; `what` is how it was found. */
typedef enum vf_over { VF_OVER_SERVED, VF_OVER_UNPACKED, VF_OVER_ANNOUNCED, VF_OVER_CACHED } vf_over;

static int vf_dl__over_error(const vf_dl *d, vf_over what, uint64_t size, const char *path,
			     vf_error *err)
{
	_cleanup_free_ char *max = vf_format_size_exact(d->opts->max_size);
	const char *vol = d->opts->volume ? d->opts->volume : "?";
	switch (what) {
	case VF_OVER_SERVED:
		return vf_error_set(err, VF_E_LIMIT,
				    "cannot download %s: it is larger than %s, the capacity of Volume %s; stopped reading and cached nothing",
				    d->url, max, vol);
	case VF_OVER_UNPACKED:
		return vf_error_set(err, VF_E_LIMIT,
				    "cannot download %s: it unpacks to more than %s, the capacity of Volume %s; stopped reading and cached nothing",
				    d->url, max, vol);
	case VF_OVER_ANNOUNCED:
		return vf_error_set(err, VF_E_LIMIT,
				    "cannot download %s: the server announces %llu bytes, more than %s, the capacity of Volume %s; nothing was cached",
				    d->url, (unsigned long long)size, max, vol);
	case VF_OVER_CACHED:
		break;
	}
	return vf_error_set(err, VF_E_LIMIT,
			    "cannot download %s: the cached image %s is %llu bytes, more than %s, the capacity of Volume %s",
			    d->url, path, (unsigned long long)size, max, vol);
}

static int vf_dl__out(const void *data, size_t len, void *userdata, vf_error *err)
{
	vf_dl *d = userdata;
	if (d->codec != VF_CODEC_NONE && vf_dl__over(d, d->unpacked, len))
		return vf_dl__over_error(d, VF_OVER_UNPACKED, 0, NULL, err);
	d->unpacked += len;
	return vf_write_all(d->out_fd, data, len, d->out_path, err);
}

/* Bytes as served: hashed, kept in the part when compressed, unpacked. */
static int vf_dl__consume(vf_dl *d, const void *data, size_t len, vf_error *err)
{
	if (vf_dl__over(d, d->offset + d->received, len))
		return vf_dl__over_error(d, VF_OVER_SERVED, 0, NULL, err);
	if (gnutls_hash(d->hash, data, len) < 0)
		return vf_error_set(err, VF_E_INTERNAL, "gnutls_hash failed");
	if (d->codec != VF_CODEC_NONE &&
	    vf_write_all(d->part_fd, data, len, d->part_path, err) < 0)
		return -(int)err->code;
	return vf_unpacker_feed(d->unpack, data, len, err);
}

/* Start over: empty files, fresh hash and decompressor. */
static int vf_dl__reset(vf_dl *d, vf_error *err)
{
	if (d->hash) {
		unsigned char junk[64];
		gnutls_hash_deinit(d->hash, junk);
		d->hash = NULL;
	}
	if (gnutls_hash_init(&d->hash, d->halgo) < 0)
		return vf_error_set(err, VF_E_INTERNAL, "gnutls_hash_init failed");
	vf_unpacker_free(d->unpack);
	d->unpack = vf_unpacker_new(d->codec, vf_dl__out, d);
	if (ftruncate(d->part_fd, 0) < 0 || lseek(d->part_fd, 0, SEEK_SET) < 0 ||
	    (d->out_fd != d->part_fd &&
	     (ftruncate(d->out_fd, 0) < 0 || lseek(d->out_fd, 0, SEEK_SET) < 0)))
		return vf_error_set(err, VF_E_IO, "cannot truncate %s: %s", d->part_path,
				    strerror(errno));
	d->offset = 0;
	d->unpacked = 0;
	return 0;
}

/* Resume: feed what the part already holds through hash and decompressor
 * (rebuilding the decompressed output), so the whole file is verified
 * from its first byte. */
static int vf_dl__replay(vf_dl *d, vf_error *err)
{
	if (lseek(d->part_fd, 0, SEEK_SET) < 0)
		return vf_error_set(err, VF_E_IO, "cannot seek %s: %s", d->part_path, strerror(errno));
	_cleanup_free_ unsigned char *buf = vf_malloc(1u << 20);
	uint64_t total = 0;
	for (;;) {
		ssize_t n = read(d->part_fd, buf, 1u << 20);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return vf_error_set(err, VF_E_IO, "cannot read %s: %s", d->part_path,
					    strerror(errno));
		if (n == 0)
			break;
		if (vf_dl__over(d, total, (uint64_t)n))
			return vf_dl__over_error(d, VF_OVER_SERVED, 0, NULL, err);
		if (gnutls_hash(d->hash, buf, (size_t)n) < 0)
			return vf_error_set(err, VF_E_INTERNAL, "gnutls_hash failed");
		/* uncompressed: the part is the output already */
		if (d->codec != VF_CODEC_NONE && vf_unpacker_feed(d->unpack, buf, (size_t)n, err) < 0)
			return -(int)err->code;
		total += (uint64_t)n;
	}
	d->offset = total;
	return 0;
}

static size_t vf_dl__write_cb(char *data, size_t size, size_t nmemb, void *userdata)
{
	vf_dl *d = userdata;
	size_t len = size * nmemb;
	if (!d->status_checked) {
		d->status_checked = true;
		long code = 0;
		curl_easy_getinfo(d->curl, CURLINFO_RESPONSE_CODE, &code);
		/* A server that ignores Range sends the whole file: start over. */
		if (d->offset > 0 && code == 200 && vf_dl__reset(d, &d->werr) < 0)
			return 0;
		/* what the server says is coming (the rest, for a 206) */
		curl_off_t cl = -1;
		curl_easy_getinfo(d->curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);
		if (cl >= 0 && vf_dl__over(d, d->offset, (uint64_t)cl)) {
			vf_dl__over_error(d, VF_OVER_ANNOUNCED, d->offset + (uint64_t)cl, NULL,
					  &d->werr);
			return 0;
		}
	}
	if (vf_dl__consume(d, data, len, &d->werr) < 0)
		return 0; /* CURLE_WRITE_ERROR; werr says why */
	d->received += len;
	return len;
}

static int vf_dl__progress_cb(void *userdata, curl_off_t dltotal, curl_off_t dlnow,
			      curl_off_t ultotal, curl_off_t ulnow)
{
	(void)ultotal;
	(void)ulnow;
	vf_dl *d = userdata;
	if (!d->opts || !d->opts->progress)
		return 0;
	double now = vf_now();
	if (now - d->last_report < 0.1)
		return 0;
	d->last_report = now;
	curl_off_t speed = 0;
	curl_easy_getinfo(d->curl, CURLINFO_SPEED_DOWNLOAD_T, &speed);
	uint64_t total = dltotal > 0 ? d->offset + (uint64_t)dltotal : 0;
	d->opts->progress(d->url, d->offset + (uint64_t)dlnow, total, (double)speed, false,
			  d->opts->userdata);
	return 0;
}

static bool vf_is_file_url(const char *url)
{
	return strncasecmp(url, "file://", 7) == 0;
}

static bool vf_is_https_url(const char *url)
{
	return strncasecmp(url, "https://", 8) == 0;
}

/* After a transfer of `url` failed with rc, ended at `last` (the
 * effective URL): was it an https URL redirected to plain http? Then
 * say so, and return the negative code; else 0. */
static int vf_curl__downgrade(const char *url, CURLcode rc, const char *last, bool head,
			      vf_error *err)
{
	if (rc != CURLE_UNSUPPORTED_PROTOCOL || !vf_is_https_url(url) || !last ||
	    vf_is_https_url(last))
		return 0;
	if (head)
		return vf_error_set(err, VF_E_BLOCKED,
				    "cannot ask %s for its size: the server redirected it to %s; a download that starts with https:// follows only redirects to https://",
				    url, last);
	return vf_error_set(err, VF_E_BLOCKED,
			    "cannot download %s: the server redirected it to %s; a download that starts with https:// follows only redirects to https://",
			    url, last);
}

static void vf_curl__common(CURL *c, const char *url, const vf_fetch_opts *o, char *errbuf)
{
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(c, CURLOPT_MAXREDIRS, VF_FETCH_MAX_REDIRECTS);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https,file");
	/* https stays https: a redirect to http fails (vf_curl__downgrade) */
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR,
			 vf_is_https_url(url) ? "https" : "http,https");
	curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "virtform/" VF_VERSION);
	/* TLS verification is never turned off; caFile only replaces the CAs. */
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (o && o->ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, o->ca_file);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT,
			 (long)vf_opt(o ? o->connect_timeout_s : 0, VF_FETCH_CONNECT_TIMEOUT_S));
	/* Proxies come from http_proxy, https_proxy, no_proxy: libcurl's default. */
}


/* ---- head ----------------------------------------------------------------- */

static int vf_curl_head(const char *url, const vf_fetch_opts *opts, uint64_t *ret_size,
			vf_error *err)
{
	vf_curl__init();
	CURL *c = curl_easy_init();
	if (!c)
		return vf_error_set(err, VF_E_INTERNAL, "curl_easy_init failed");
	char errbuf[CURL_ERROR_SIZE] = "";
	vf_curl__common(c, url, opts, errbuf);
	curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT,
			 (long)vf_opt(opts ? opts->head_timeout_s : 0, VF_FETCH_HEAD_TIMEOUT_S));
	CURLcode rc = curl_easy_perform(c);
	curl_off_t len = -1;
	long code = 0;
	char *last = NULL;
	curl_easy_getinfo(c, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &len);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_getinfo(c, CURLINFO_EFFECTIVE_URL, &last);
	int r = vf_curl__downgrade(url, rc, last, true, err);
	curl_easy_cleanup(c);
	if (r < 0)
		return r;
	if (rc != CURLE_OK)
		return vf_error_set(err, VF_E_DRIVER, "cannot ask %s for its size: %s", url,
				    errbuf[0] ? errbuf : curl_easy_strerror(rc));
	if (len < 0)
		return vf_error_set(err, VF_E_DRIVER, "%s: the server did not say its size (no Content-Length)",
				    url);
	*ret_size = (uint64_t)len;
	return 0;
}

/* ---- fetch_to_cache ------------------------------------------------------- */

static void vf_dl__close(vf_dl *d)
{
	if (d->out_fd >= 0 && d->out_fd != d->part_fd)
		close(d->out_fd);
	if (d->part_fd >= 0)
		close(d->part_fd);
	d->out_fd = d->part_fd = -1;
	if (d->hash) {
		unsigned char junk[64];
		gnutls_hash_deinit(d->hash, junk);
		d->hash = NULL;
	}
	vf_unpacker_free(d->unpack);
	d->unpack = NULL;
	vf_error_clear(&d->werr);
	free(d->last_url);
	d->last_url = NULL;
}

/* One transfer from d->offset. Returns 0, or a negative code with the
 * curl result in *ret_rc (CURLE_OK when the failure was ours). */
static int vf_dl__perform(vf_dl *d, char *errbuf, CURLcode *ret_rc, long *ret_status)
{
	CURL *c = curl_easy_init();
	if (!c)
		abort();
	d->curl = c;
	d->status_checked = false;
	d->received = 0;
	d->last_report = 0;
	errbuf[0] = '\0';
	vf_curl__common(c, d->url, d->opts, errbuf);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, vf_dl__write_cb);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, d);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, vf_dl__progress_cb);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, d);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT,
			 (long)vf_opt(d->opts ? d->opts->low_speed_limit : 0, VF_FETCH_LOW_SPEED_LIMIT));
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME,
			 (long)vf_opt(d->opts ? d->opts->low_speed_time_s : 0, VF_FETCH_LOW_SPEED_TIME_S));
	if (d->offset > 0)
		curl_easy_setopt(c, CURLOPT_RESUME_FROM_LARGE, (curl_off_t)d->offset);
	CURLcode rc = curl_easy_perform(c);
	*ret_status = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, ret_status);
	char *last = NULL;
	curl_easy_getinfo(c, CURLINFO_EFFECTIVE_URL, &last);
	free(d->last_url);
	d->last_url = last ? vf_strdup(last) : NULL;
	if (d->opts && d->opts->progress) {
		curl_off_t speed = 0;
		curl_easy_getinfo(c, CURLINFO_SPEED_DOWNLOAD_T, &speed);
		d->opts->progress(d->url, d->offset + d->received, 0, (double)speed, true,
				  d->opts->userdata);
	}
	curl_easy_cleanup(c);
	d->curl = NULL;
	*ret_rc = rc;
	return rc == CURLE_OK ? 0 : -1;
}

static int vf_dl__fail(vf_dl *d, CURLcode rc, long status, const char *errbuf, vf_error *err)
{
	const vf_fetch_opts *o = d->opts;
	uint64_t have = d->offset + d->received;
	if (rc == CURLE_WRITE_ERROR && d->werr.code == VF_E_LIMIT)
		return vf_error_set(err, VF_E_LIMIT, "%s", d->werr.message); /* a whole message */
	if (rc == CURLE_WRITE_ERROR && d->werr.message)
		return vf_error_set(err, d->werr.code, "cannot download %s: %s", d->url,
				    d->werr.message);
	int r = vf_curl__downgrade(d->url, rc, d->last_url, false, err);
	if (r < 0)
		return r;
	switch (rc) {
	case CURLE_HTTP_RETURNED_ERROR:
		return vf_error_set(err, VF_E_DRIVER, "cannot download %s: the server answered HTTP %ld",
				    d->url, status);
	case CURLE_PARTIAL_FILE:
		return vf_error_set(err, VF_E_DRIVER,
				    "cannot download %s: the transfer ended early after %llu bytes (%s); the partial download is kept and the next run resumes it",
				    d->url, (unsigned long long)have, errbuf);
	case CURLE_OPERATION_TIMEDOUT:
		return vf_error_set(err, VF_E_TIMEOUT,
				    "cannot download %s: timed out after %llu bytes (connect timeout %u s; aborts below %u bytes/s for %u s): %s",
				    d->url, (unsigned long long)have,
				    vf_opt(o ? o->connect_timeout_s : 0, VF_FETCH_CONNECT_TIMEOUT_S),
				    vf_opt(o ? o->low_speed_limit : 0, VF_FETCH_LOW_SPEED_LIMIT),
				    vf_opt(o ? o->low_speed_time_s : 0, VF_FETCH_LOW_SPEED_TIME_S), errbuf);
	case CURLE_TOO_MANY_REDIRECTS:
		return vf_error_set(err, VF_E_DRIVER,
				    "cannot download %s: more than %ld redirects (a redirect loop?)", d->url,
				    VF_FETCH_MAX_REDIRECTS);
	default:
		return vf_error_set(err, VF_E_DRIVER, "cannot download %s: %s", d->url,
				    errbuf[0] ? errbuf : curl_easy_strerror(rc));
	}
}

static int vf_curl_fetch_to_cache(const char *url, vf_checksum_algo algo, const char *hex,
				  const char *cache_dir, const vf_fetch_opts *opts,
				  char **ret_path, vf_error *err)
{
	vf_curl__init();
	if (algo != VF_CHECKSUM_NONE && !hex)
		return vf_error_set(err, VF_E_INTERNAL, "a checksum algorithm without a checksum");
	_cleanup_free_ char *name = vf_fetch_cache_name(url, algo, hex);
	_cleanup_free_ char *final = vf_asprintf("%s/%s", cache_dir, name);
	_cleanup_free_ char *part = vf_asprintf("%s.part", final);
	_cleanup_free_ char *out = vf_asprintf("%s.unpack", final);
	vf_dl d = { .url = url, .opts = opts, .algo = algo, .halgo = vf_hash_algo(algo),
		    .codec = vf_codec_for_url(url), .part_fd = -1, .out_fd = -1,
		    .part_path = part, .out_path = out };
	struct stat st;
	vf_image_info info;
	int r;
	if (stat(final, &st) == 0 && S_ISREG(st.st_mode)) {
		/* verified before it was renamed here; it may still be too big
		 * for this volume (kept: it fits others), or be an image an
		 * older virtform cached before qcow2 headers were checked
		 * (removed: it is no good for any volume) */
		if (vf_dl__over(&d, 0, (uint64_t)st.st_size))
			return vf_dl__over_error(&d, VF_OVER_CACHED, (uint64_t)st.st_size, final, err);
		if ((r = vf_image_check(final, url, &info, err)) < 0) {
			if (r == -VF_E_BLOCKED)
				unlink(final);
			return r;
		}
		*ret_path = TAKE_PTR(final);
		return 0;
	}
	if ((r = vf_mkdir_p(cache_dir, err)) < 0)
		return r;

	bool resumable = !vf_is_file_url(url);
	if (!resumable)
		unlink(part);
	/* The part is a resume point, so it is opened again if it exists, but
	 * never through a symlink (vf_statefile_ensure, O_NOFOLLOW). */
	if ((r = vf_statefile_ensure(part, err)) < 0)
		return r;
	d.part_fd = open(part, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	if (d.part_fd < 0)
		return vf_error_set(err, VF_E_IO, "cannot open %s: %s", part, strerror(errno));
	if (d.codec == VF_CODEC_NONE) {
		d.out_fd = d.part_fd;
		d.out_path = part;
	} else {
		/* rebuilt from the part every time: a new file, O_EXCL|O_NOFOLLOW */
		unlink(out);
		d.out_fd = open(out, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (d.out_fd < 0) {
			r = vf_error_set(err, VF_E_IO, "cannot create %s: %s", out, strerror(errno));
			goto fail_keep;
		}
	}
	if (gnutls_hash_init(&d.hash, d.halgo) < 0) {
		r = vf_error_set(err, VF_E_INTERNAL, "gnutls_hash_init failed");
		goto fail_keep;
	}
	d.unpack = vf_unpacker_new(d.codec, vf_dl__out, &d);
	/* a part left by an interrupted run: verify it from the first byte */
	if ((r = vf_dl__replay(&d, err)) < 0) {
		/* unreadable, or longer than this volume's bound (so not the
		 * start of an image that fits): start over */
		vf_error_clear(err);
		if ((r = vf_dl__reset(&d, err)) < 0)
			goto fail_keep;
	}
	if (lseek(d.out_fd, 0, SEEK_END) < 0 || lseek(d.part_fd, 0, SEEK_END) < 0) {
		r = vf_error_set(err, VF_E_IO, "cannot seek %s: %s", part, strerror(errno));
		goto fail_keep;
	}

	char errbuf[CURL_ERROR_SIZE];
	CURLcode rc;
	long status;
	r = vf_dl__perform(&d, errbuf, &rc, &status);
	if (r < 0 && d.offset > 0 &&
	    ((rc == CURLE_HTTP_RETURNED_ERROR && status == 416) || rc == CURLE_RANGE_ERROR)) {
		/* the server cannot continue this part (no ranges, or the part
		 * is longer than its file): start over once */
		if ((r = vf_dl__reset(&d, err)) < 0)
			goto fail_keep;
		r = vf_dl__perform(&d, errbuf, &rc, &status);
	}
	if (r < 0) {
		r = vf_dl__fail(&d, rc, status, errbuf, err);
		/* a cut-off or stalled transfer keeps its part for resuming */
		if (rc == CURLE_PARTIAL_FILE || rc == CURLE_OPERATION_TIMEDOUT ||
		    rc == CURLE_RECV_ERROR || rc == CURLE_GOT_NOTHING)
			goto fail_keep;
		goto fail_drop;
	}
	if ((r = vf_unpacker_finish(d.unpack, err)) < 0)
		goto fail_drop;
	char *got = vf_hash_hex(d.hash, d.halgo);
	d.hash = NULL;
	if (algo != VF_CHECKSUM_NONE && strcasecmp(got, hex) != 0) {
		r = vf_error_set(err, VF_E_DRIVER,
				 "checksum mismatch for %s: expected %s %s, got %s (%llu bytes); nothing was cached",
				 url, vf_checksum_algo_to_string(algo), hex, got,
				 (unsigned long long)(d.offset + d.received));
		free(got);
		goto fail_drop;
	}
	free(got);
	/* verified, but it must not point a guest at a host file */
	if ((r = vf_image_check(d.out_path, url, &info, err)) < 0)
		goto fail_drop;
	if (fsync(d.out_fd) < 0) {
		r = vf_error_set(err, VF_E_IO, "cannot flush %s: %s", d.out_path, strerror(errno));
		goto fail_drop;
	}
	if (rename(d.out_path, final) < 0) {
		r = vf_error_set(err, VF_E_IO, "cannot rename %s to %s: %s", d.out_path, final,
				 strerror(errno));
		goto fail_drop;
	}
	if (d.codec != VF_CODEC_NONE)
		unlink(part);
	vf_dl__close(&d);
	*ret_path = TAKE_PTR(final);
	return 0;

fail_drop:
	vf_dl__close(&d);
	unlink(part);
	if (d.codec != VF_CODEC_NONE)
		unlink(out);
	return r;
fail_keep:
	vf_dl__close(&d);
	if (d.codec != VF_CODEC_NONE)
		unlink(out); /* rebuilt from the part next time */
	return r;
}

const vf_fetch_driver vf_curl_fetch_driver = {
	.name = "curl",
	.head = vf_curl_head,
	.fetch_to_cache = vf_curl_fetch_to_cache,
};
