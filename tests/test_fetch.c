/* test_fetch.c: the fetch driver (drivers/fetch/) against tests/tools/httpd.py
 * on 127.0.0.1: downloads land verified in the cache and are reused without
 * a request; mismatches, truncation, 404, a stalled server and redirect
 * loops fail with a clear error and leave no cache entry; an interrupted
 * download resumes with a Range request; .gz/.xz/.zst are unpacked.
 * Hostile inputs (docs/concepts.md rule 8): an endless body, gzip and zstd
 * bombs, an https server redirecting to http, qcow2 images naming a
 * backing file or an external data file. Also image probing, and the
 * storage driver's clone/upload on test:///default. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gnutls/crypto.h>

#include "drivers/driver.h"

#define FD (&vf_curl_fetch_driver)
#define HTTPD SRCDIR "/tests/tools/httpd.py"

/* ---- harness: one server and one scratch dir for the whole binary -------- */

static pid_t server_pid, tls_pid;
static int server_port, tls_port; /* tls_port 0: no openssl, https tests skip */
static char scratch[] = "/tmp/vf-test-fetch-XXXXXX";
static char root[256], logfile[256], cache[256], tls_log[256], ca_pem[256];

#define BOMB_SIZE "64M"   /* what the bombs unpack to; their bound is 1MiB */
#define ENDLESS_CAP (256u << 20) /* the "endless" body's safety stop */

static void run(const char *cmd)
{
	int r = system(cmd);
	if (r != 0)
		fail_msg("`%s` failed (%d)", cmd, r);
}

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *buf = vf_malloc((size_t)n + 1);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static char *hex_of(gnutls_digest_algorithm_t algo, const void *data, size_t len)
{
	unsigned char d[64];
	assert_int_equal(gnutls_hash_fast(algo, data, len, d), 0);
	size_t n = gnutls_hash_get_len(algo);
	char *s = vf_malloc(2 * n + 1);
	for (size_t i = 0; i < n; i++)
		sprintf(s + 2 * i, "%02x", d[i]);
	return s;
}

static char *file_sha256(const char *name)
{
	_cleanup_free_ char *path = vf_asprintf("%s/%s", root, name);
	size_t len;
	_cleanup_free_ char *data = read_file(path, &len);
	assert_non_null(data);
	return hex_of(GNUTLS_DIG_SHA256, data, len);
}

/* A deterministic, poorly compressible payload of n bytes. */
static void make_payload(const char *name, size_t n, unsigned seed)
{
	char *buf = vf_malloc(n);
	uint32_t x = seed * 2654435761u + 1;
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		buf[i] = (char)(x & 0xff);
	}
	_cleanup_free_ char *path = vf_asprintf("%s/%s", root, name);
	write_file(path, buf, n);
	free(buf);
}

/* Requests the server logged whose line contains `needle`. */
static int requests(const char *needle)
{
	size_t len;
	_cleanup_free_ char *log = read_file(logfile, &len);
	if (!log)
		return 0;
	log[len] = '\0';
	int n = 0;
	for (char *line = strtok(log, "\n"); line; line = strtok(NULL, "\n"))
		n += strstr(line, needle) != NULL;
	return n;
}

static char *url(const char *path)
{
	return vf_asprintf("http://127.0.0.1:%d%s", server_port, path);
}

static bool exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

/* Nothing in the cache but .part files (which are not entries). */
static int cache_entries(void)
{
	_cleanup_free_ char *cmd = vf_asprintf("ls %s 2>/dev/null | grep -v '\\.part$' | wc -l", cache);
	FILE *p = popen(cmd, "r");
	int n = -1;
	if (!p || fscanf(p, "%d", &n) != 1)
		n = -1;
	if (p)
		pclose(p);
	return n;
}

static void assert_contains(const char *hay, const char *needle)
{
	if (!hay || !strstr(hay, needle))
		fail_msg("\"%s\" does not contain \"%s\"", hay ? hay : "(null)", needle);
}

/* Start tests/tools/httpd.py with args; returns the port it listens on. */
static int start_server(const char *const *args, pid_t *ret_pid)
{
	char *argv[24] = { vf_strdup("python3"), vf_strdup(HTTPD) };
	for (size_t i = 0; args[i] && i + 3 < VF_ARRAY_SIZE(argv); i++)
		argv[i + 2] = vf_strdup(args[i]);
	int pfd[2];
	if (pipe(pfd) < 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		dup2(pfd[1], 1);
		close(pfd[0]);
		close(pfd[1]);
		execvp("python3", argv);
		_exit(127);
	}
	for (size_t i = 0; argv[i]; i++)
		free(argv[i]);
	close(pfd[1]);
	*ret_pid = pid;
	char line[32] = "";
	FILE *f = fdopen(pfd[0], "r");
	if (!f || !fgets(line, sizeof(line), f))
		return -1;
	fclose(f);
	return atoi(line);
}

static int setup_all(void **state)
{
	(void)state;
	if (!mkdtemp(scratch))
		return -1;
	snprintf(root, sizeof(root), "%s/www", scratch);
	snprintf(logfile, sizeof(logfile), "%s/requests.log", scratch);
	snprintf(cache, sizeof(cache), "%s/state/cache", scratch);
	mkdir(root, 0700);
	make_payload("a.img", 300000, 1);
	make_payload("b.img", 50000, 2);
	make_payload("c.img", 400000, 3);
	make_payload("d.img", 600000, 4);
	make_payload("e.img", 200000, 5);
	make_payload("z.img", 700000, 6);
	char *cmd = vf_asprintf(
		"cd %s && gzip -k -9 z.img && xz -k z.img && zstd -q -k z.img && "
		"head -c 20000 z.img.xz > cut.img.xz && qemu-img create -q -f qcow2 q.qcow2 3G && "
		/* an image a whole number of the unpacker's 256KiB blocks long */
		"head -c 512K /dev/zero > zeros.img && zstd -q -k zeros.img",
		root);
	run(cmd);
	free(cmd);
	cmd = vf_asprintf(
		"cd %s && head -c " BOMB_SIZE " /dev/zero > zeros && gzip -9 -c zeros > bomb.img.gz && "
		"zstd -q -19 -c zeros > bomb.img.zst && rm zeros && "
		"qemu-img create -q -f qcow2 -b %s/b.img -F raw back.qcow2 1M && "
		"qemu-img create -q -f qcow2 -o data_file=%s/data.raw dat.qcow2 1M && "
		"qemu-img create -q -f qed -b %s/b.img -F raw back.qed 1M && "
		"qemu-img create -q -f vmdk -o subformat=monolithicFlat flat.vmdk 1M",
		root, root, root, root);
	run(cmd);
	free(cmd);
	make_payload("big.img", 2u << 20, 7);

	_cleanup_free_ char *cap = vf_asprintf("%u", ENDLESS_CAP);
	const char *plain[] = { "--root", root, "--log", logfile, "--slow", "20",
				"--endless-cap", cap, NULL };
	if ((server_port = start_server(plain, &server_pid)) <= 0)
		return -1;
	/* https on 127.0.0.1 with a self-signed certificate, made now */
	if (system("command -v openssl >/dev/null") == 0) {
		snprintf(ca_pem, sizeof(ca_pem), "%s/cert.pem", scratch);
		snprintf(tls_log, sizeof(tls_log), "%s/tls-requests.log", scratch);
		cmd = vf_asprintf("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
				  "-nodes -keyout %s/key.pem -out %s -days 2 -subj /CN=127.0.0.1 "
				  "-addext subjectAltName=IP:127.0.0.1 2>/dev/null",
				  scratch, ca_pem);
		run(cmd);
		free(cmd);
		_cleanup_free_ char *key = vf_asprintf("%s/key.pem", scratch);
		_cleanup_free_ char *base = vf_asprintf("http://127.0.0.1:%d", server_port);
		const char *tls[] = { "--root", root, "--log", tls_log, "--cert", ca_pem, "--key",
				      key, "--redirect-base", base, NULL };
		if ((tls_port = start_server(tls, &tls_pid)) <= 0)
			return -1;
	}
	return 0;
}

static int teardown_all(void **state)
{
	(void)state;
	pid_t pids[] = { server_pid, tls_pid };
	for (size_t i = 0; i < VF_ARRAY_SIZE(pids); i++) {
		if (pids[i] > 0) {
			kill(pids[i], SIGTERM);
			waitpid(pids[i], NULL, 0);
		}
	}
	_cleanup_free_ char *cmd = vf_asprintf("rm -rf %s", scratch);
	return system(cmd) == 0 ? 0 : -1;
}

/* Each test starts with an empty cache. */
static int setup(void **state)
{
	(void)state;
	_cleanup_free_ char *cmd = vf_asprintf("rm -rf %s", cache);
	return system(cmd) == 0 ? 0 : -1;
}

/* Fetch `path` from the server with the sha256 of file `name`. */
static int fetch(const char *path, const char *name, const vf_fetch_opts *opts, char **out,
		 vf_error *err)
{
	_cleanup_free_ char *u = url(path);
	_cleanup_free_ char *hex = file_sha256(name);
	return FD->fetch_to_cache(u, VF_CHECKSUM_SHA256, hex, cache, opts, out, err);
}

static void assert_same_file(const char *got_path, const char *name)
{
	_cleanup_free_ char *want_path = vf_asprintf("%s/%s", root, name);
	size_t a, b;
	_cleanup_free_ char *x = read_file(got_path, &a);
	_cleanup_free_ char *y = read_file(want_path, &b);
	assert_non_null(x);
	assert_int_equal(a, b);
	assert_memory_equal(x, y, a);
}

/* ---- downloads ------------------------------------------------------------ */

static void test_download_then_cache_hit(void **state)
{
	(void)state;
	vf_error err = { 0 };
	_cleanup_free_ char *p1 = NULL, *p2 = NULL;
	int before = requests("/files/a.img");
	assert_int_equal(fetch("/files/a.img", "a.img", NULL, &p1, &err), 0);
	assert_same_file(p1, "a.img");
	_cleanup_free_ char *hex = file_sha256("a.img");
	_cleanup_free_ char *want = vf_asprintf("%s/sha256-%s", cache, hex);
	assert_string_equal(p1, want);
	assert_int_equal(requests("/files/a.img"), before + 1);
	_cleanup_free_ char *part = vf_asprintf("%s.part", want);
	assert_false(exists(part));

	/* a second volume using the same image: no request at all */
	assert_int_equal(fetch("/files/a.img", "a.img", NULL, &p2, &err), 0);
	assert_string_equal(p2, p1);
	assert_int_equal(requests("/files/a.img"), before + 1);
	assert_int_equal(cache_entries(), 1);
}

static void test_sha512_and_redirect(void **state)
{
	(void)state;
	_cleanup_free_ char *u = url("/redirect/b.img");
	_cleanup_free_ char *path = vf_asprintf("%s/b.img", root);
	size_t len;
	_cleanup_free_ char *data = read_file(path, &len);
	_cleanup_free_ char *hex = hex_of(GNUTLS_DIG_SHA512, data, len);
	_cleanup_free_ char *out = NULL;
	vf_error err = { 0 };
	if (FD->fetch_to_cache(u, VF_CHECKSUM_SHA512, hex, cache, NULL, &out, &err) < 0)
		fail_msg("fetch: %s", err.message);
	assert_same_file(out, "b.img");
	assert_contains(out, "/sha512-");
}

static void test_checksum_mismatch(void **state)
{
	(void)state;
	vf_error err = { 0 };
	char *out = NULL;
	_cleanup_free_ char *hex = file_sha256("b.img");
	assert_int_equal(fetch("/wrong/b.img", "b.img", NULL, &out, &err), -VF_E_DRIVER);
	assert_null(out);
	/* expected vs got, both in full */
	_cleanup_free_ char *expected = vf_asprintf("expected sha256 %s", hex);
	assert_contains(err.message, expected);
	assert_contains(err.message, "got ");
	assert_contains(err.message, "checksum mismatch");
	assert_int_equal(cache_entries(), 0);
	_cleanup_free_ char *part = vf_asprintf("%s/sha256-%s.part", cache, hex);
	assert_false(exists(part));
	vf_error_clear(&err);
}

static void test_truncated_transfer_leaves_no_entry(void **state)
{
	(void)state;
	vf_error err = { 0 };
	char *out = NULL;
	assert_true(fetch("/truncate/c.img", "c.img", NULL, &out, &err) < 0);
	assert_null(out);
	assert_contains(err.message, "ended early after 200000 bytes");
	assert_int_equal(cache_entries(), 0);
	vf_error_clear(&err);
}

static void test_resume_with_range(void **state)
{
	(void)state;
	vf_error err = { 0 };
	char *out = NULL;
	assert_true(fetch("/truncate-once/d.img", "d.img", NULL, &out, &err) < 0);
	vf_error_clear(&err);
	_cleanup_free_ char *hex = file_sha256("d.img");
	_cleanup_free_ char *part = vf_asprintf("%s/sha256-%s.part", cache, hex);
	struct stat st;
	assert_int_equal(stat(part, &st), 0);
	assert_int_equal(st.st_size, 300000);

	/* the next run asks only for the rest, and verifies the whole file */
	_cleanup_free_ char *p = NULL;
	if (fetch("/truncate-once/d.img", "d.img", NULL, &p, &err) < 0)
		fail_msg("resume: %s", err.message);
	assert_int_equal(requests("GET /truncate-once/d.img bytes=300000-"), 1);
	assert_same_file(p, "d.img");
	assert_false(exists(part));
}

static void test_resume_from_server_without_ranges(void **state)
{
	(void)state;
	vf_error err = { 0 };
	char *out = NULL;
	assert_true(fetch("/truncate/e.img", "e.img", NULL, &out, &err) < 0);
	vf_error_clear(&err);
	/* same image (same checksum), a server that answers 200 to a Range */
	_cleanup_free_ char *p = NULL;
	if (fetch("/norange/e.img", "e.img", NULL, &p, &err) < 0)
		fail_msg("fetch: %s", err.message);
	assert_int_equal(requests("GET /norange/e.img bytes=100000-"), 1);
	assert_same_file(p, "e.img");
}

static void test_not_found(void **state)
{
	(void)state;
	vf_error err = { 0 };
	char *out = NULL;
	assert_int_equal(fetch("/nothing/a.img", "a.img", NULL, &out, &err), -VF_E_DRIVER);
	assert_contains(err.message, "HTTP 404");
	assert_int_equal(cache_entries(), 0);
	_cleanup_free_ char *hex = file_sha256("a.img");
	_cleanup_free_ char *part = vf_asprintf("%s/sha256-%s.part", cache, hex);
	assert_false(exists(part));
	vf_error_clear(&err);
}

static void test_stalled_server_times_out(void **state)
{
	(void)state;
	vf_fetch_opts o = { .low_speed_limit = 1024, .low_speed_time_s = 1 };
	vf_error err = { 0 };
	char *out = NULL;
	assert_int_equal(fetch("/slow/b.img", "b.img", &o, &out, &err), -VF_E_TIMEOUT);
	assert_contains(err.message, "timed out");
	assert_contains(err.message, "below 1024 bytes/s for 1 s");
	assert_int_equal(cache_entries(), 0);
	vf_error_clear(&err);
}

static void test_redirect_loop_is_bounded(void **state)
{
	(void)state;
	vf_error err = { 0 };
	char *out = NULL;
	int before = requests("/loop/");
	assert_int_equal(fetch("/loop/0", "a.img", NULL, &out, &err), -VF_E_DRIVER);
	assert_contains(err.message, "more than 5 redirects");
	/* the first request and five redirects, then it stopped */
	assert_int_equal(requests("/loop/") - before, 6);
	assert_int_equal(cache_entries(), 0);
	vf_error_clear(&err);
}

static void decompress_case(const char *served)
{
	vf_error err = { 0 };
	_cleanup_free_ char *p = NULL;
	_cleanup_free_ char *path = vf_asprintf("/files/%s", served);
	/* the checksum is of the file as served (compressed) */
	if (fetch(path, served, NULL, &p, &err) < 0)
		fail_msg("fetch %s: %s", served, err.message);
	assert_same_file(p, "z.img");
}

static void test_gz(void **state)
{
	(void)state;
	decompress_case("z.img.gz");
}

static void test_xz(void **state)
{
	(void)state;
	decompress_case("z.img.xz");
}

static void test_zst(void **state)
{
	(void)state;
	decompress_case("z.img.zst");
}

/* A zstd frame that ends exactly where an output block is full. */
static void test_zst_whole_blocks(void **state)
{
	(void)state;
	vf_error err = { 0 };
	_cleanup_free_ char *p = NULL;
	if (fetch("/files/zeros.img.zst", "zeros.img.zst", NULL, &p, &err) < 0)
		fail_msg("fetch: %s", err.message);
	assert_same_file(p, "zeros.img");
}

static void test_cut_compressed_stream(void **state)
{
	(void)state;
	vf_error err = { 0 };
	char *out = NULL;
	assert_true(fetch("/files/cut.img.xz", "cut.img.xz", NULL, &out, &err) < 0);
	assert_contains(err.message, "xz");
	assert_int_equal(cache_entries(), 0);
	vf_error_clear(&err);
}

typedef struct seen {
	int calls;
	bool done;
	uint64_t last;
} seen;

static void on_progress(const char *u, uint64_t bytes, uint64_t total, double rate, bool done,
			void *userdata)
{
	(void)u;
	(void)total;
	(void)rate;
	seen *s = userdata;
	s->calls++;
	s->done |= done;
	s->last = bytes;
}

static void test_progress_file_url_and_head(void **state)
{
	(void)state;
	seen s = { 0 };
	vf_fetch_opts o = { .progress = on_progress, .userdata = &s };
	_cleanup_free_ char *u = vf_asprintf("file://%s/a.img", root);
	_cleanup_free_ char *hex = file_sha256("a.img");
	_cleanup_free_ char *p = NULL;
	vf_error err = { 0 };
	if (FD->fetch_to_cache(u, VF_CHECKSUM_SHA256, hex, cache, &o, &p, &err) < 0)
		fail_msg("fetch: %s", err.message);
	assert_same_file(p, "a.img");
	assert_true(s.done);
	assert_int_equal(s.last, 300000);

	uint64_t size = 0;
	_cleanup_free_ char *hu = url("/files/c.img");
	assert_int_equal(FD->head(hu, NULL, &size, &err), 0);
	assert_int_equal(size, 400000);
	_cleanup_free_ char *nu = url("/nothing/c.img");
	assert_true(FD->head(nu, NULL, &size, &err) < 0);
	assert_contains(err.message, "404");
	vf_error_clear(&err);
}

static void test_insecure_download(void **state)
{
	(void)state;
	_cleanup_free_ char *u = url("/files/b.img");
	_cleanup_free_ char *p = NULL;
	vf_error err = { 0 };
	if (FD->fetch_to_cache(u, VF_CHECKSUM_NONE, NULL, cache, NULL, &p, &err) < 0)
		fail_msg("fetch: %s", err.message);
	assert_same_file(p, "b.img");
	_cleanup_free_ char *name = vf_fetch_cache_name(u, VF_CHECKSUM_NONE, NULL);
	assert_true(strncmp(name, "url-", 4) == 0);
	assert_contains(p, name);
}

/* ---- hostile inputs: bounds, redirects, qcow2 host files (rule 8) --------- */

static const vf_fetch_opts bounded = { .max_size = 1u << 20, .volume = "p/small" };

static off_t file_size(const char *name)
{
	_cleanup_free_ char *path = vf_asprintf("%s/%s", root, name);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

/* No entry, no .part, no .unpack: nothing at all in the cache dir. */
static void assert_cache_empty(void)
{
	_cleanup_free_ char *cmd = vf_asprintf("ls -A %s 2>/dev/null | wc -l", cache);
	FILE *p = popen(cmd, "r");
	int n = -1;
	assert_non_null(p);
	assert_int_equal(fscanf(p, "%d", &n), 1);
	pclose(p);
	if (n != 0) {
		_cleanup_free_ char *ls = vf_asprintf("ls -la %s >&2", cache);
		run(ls);
		fail_msg("the cache holds %d files", n);
	}
}

/* Bytes the server sent on `path` before the client hung up (-1: not yet). */
static long long endless_sent(const char *path)
{
	size_t len;
	_cleanup_free_ char *log = read_file(logfile, &len);
	if (!log)
		return -1;
	log[len] = '\0';
	_cleanup_free_ char *needle = vf_asprintf("SENT %s ", path);
	char *at = strstr(log, needle);
	return at ? atoll(at + strlen(needle)) : -1;
}

static void test_endless_body_is_bounded(void **state)
{
	(void)state;
	vf_error err = { 0 };
	char *out = NULL;
	assert_int_equal(fetch("/endless/e1", "b.img", &bounded, &out, &err), -VF_E_LIMIT);
	assert_null(out);
	_cleanup_free_ char *u = url("/endless/e1");
	_cleanup_free_ char *want = vf_asprintf(
		"cannot download %s: it is larger than 1MiB, the capacity of Volume p/small; "
		"stopped reading and cached nothing", u);
	assert_string_equal(err.message, want);
	assert_cache_empty();
	/* it stopped reading at the bound: the server could send little more
	 * than that plus what the sockets buffer, not the ENDLESS_CAP */
	long long sent = -1;
	for (int i = 0; i < 50 && (sent = endless_sent("/endless/e1")) < 0; i++)
		usleep(100000);
	assert_true(sent > 0);
	if (sent > 32ll << 20)
		fail_msg("the server sent %lld bytes before the client hung up", sent);
	vf_error_clear(&err);
}

static void test_content_length_over_bound(void **state)
{
	(void)state;
	vf_error err = { 0 };
	char *out = NULL;
	seen s = { 0 };
	vf_fetch_opts o = bounded;
	o.progress = on_progress;
	o.userdata = &s;
	assert_int_equal(fetch("/files/big.img", "big.img", &o, &out, &err), -VF_E_LIMIT);
	_cleanup_free_ char *u = url("/files/big.img");
	_cleanup_free_ char *want = vf_asprintf(
		"cannot download %s: the server announces 2097152 bytes, more than 1MiB, the "
		"capacity of Volume p/small; nothing was cached", u);
	assert_string_equal(err.message, want);
	assert_int_equal(s.last, 0); /* not one byte taken */
	assert_cache_empty();
	vf_error_clear(&err);

	/* exactly at the bound is fine */
	_cleanup_free_ char *p = NULL;
	o = (vf_fetch_opts){ .max_size = 50000, .volume = "p/exact" };
	if (fetch("/files/b.img", "b.img", &o, &p, &err) < 0)
		fail_msg("fetch: %s", err.message);
	assert_same_file(p, "b.img");
	/* and a cached entry over a smaller volume's bound is refused, kept */
	_cleanup_free_ char *p2 = NULL;
	o.max_size = 49999;
	assert_int_equal(fetch("/files/b.img", "b.img", &o, &p2, &err), -VF_E_LIMIT);
	assert_contains(err.message, "is 50000 bytes, more than 48.8KiB (49999 bytes), the capacity of Volume p/exact");
	assert_true(exists(p));
	vf_error_clear(&err);
}

/* A part left by an earlier run that is already over this volume's bound
 * cannot be the start of an image that fits: dropped, downloaded afresh. */
static void test_part_over_bound_starts_over(void **state)
{
	(void)state;
	_cleanup_free_ char *hex = file_sha256("b.img");
	_cleanup_free_ char *cmd = vf_asprintf("mkdir -p %s && head -c 2M /dev/urandom > %s/sha256-%s.part",
					       cache, cache, hex);
	run(cmd);
	vf_fetch_opts o = { .max_size = 1u << 20, .volume = "p/small" };
	_cleanup_free_ char *p = NULL;
	vf_error err = { 0 };
	if (fetch("/files/b.img", "b.img", &o, &p, &err) < 0)
		fail_msg("fetch: %s", err.message);
	assert_same_file(p, "b.img");
	assert_int_equal(requests("GET /files/b.img bytes="), 0); /* no Range: from the start */
}

/* A bomb: small as served, 64MiB unpacked, bound 1MiB. */
static void bomb_case(const char *served)
{
	vf_error err = { 0 };
	char *out = NULL;
	seen s = { 0 };
	vf_fetch_opts o = bounded;
	o.progress = on_progress;
	o.userdata = &s;
	_cleanup_free_ char *path = vf_asprintf("/files/%s", served);
	assert_int_equal(fetch(path, served, &o, &out, &err), -VF_E_LIMIT);
	assert_null(out);
	_cleanup_free_ char *u = url(path);
	_cleanup_free_ char *want = vf_asprintf(
		"cannot download %s: it unpacks to more than 1MiB, the capacity of Volume p/small; "
		"stopped reading and cached nothing", u);
	assert_string_equal(err.message, want);
	/* stopped early: before the whole (small) compressed file was taken */
	assert_true((off_t)s.last < file_size(served));
	assert_cache_empty();
	vf_error_clear(&err);
}

static void test_gzip_bomb(void **state)
{
	(void)state;
	bomb_case("bomb.img.gz");
}

static void test_zstd_bomb(void **state)
{
	(void)state;
	bomb_case("bomb.img.zst");
}

static char *tls_url(const char *path)
{
	return vf_asprintf("https://127.0.0.1:%d%s", tls_port, path);
}

static void test_https_never_redirects_to_http(void **state)
{
	(void)state;
	if (!tls_port)
		skip(); /* no openssl to make a certificate */
	vf_fetch_opts o = { .ca_file = ca_pem };
	_cleanup_free_ char *hex = file_sha256("b.img");
	_cleanup_free_ char *p = NULL;
	vf_error err = { 0 };
	/* https to https is followed (and caFile is what trusts the server) */
	_cleanup_free_ char *ok = tls_url("/redirect/b.img");
	if (FD->fetch_to_cache(ok, VF_CHECKSUM_SHA256, hex, cache, &o, &p, &err) < 0)
		fail_msg("fetch: %s", err.message);
	assert_same_file(p, "b.img");
	assert_int_equal(setup(NULL), 0);

	/* https to http is not, and the http server is never asked */
	int before = requests("GET /files/b.img");
	_cleanup_free_ char *bad = tls_url("/away/b.img");
	char *out = NULL;
	assert_int_equal(FD->fetch_to_cache(bad, VF_CHECKSUM_SHA256, hex, cache, &o, &out, &err),
			 -VF_E_BLOCKED);
	_cleanup_free_ char *to = url("/files/b.img");
	_cleanup_free_ char *want = vf_asprintf(
		"cannot download %s: the server redirected it to %s; a download that starts "
		"with https:// follows only redirects to https://", bad, to);
	assert_string_equal(err.message, want);
	assert_int_equal(requests("GET /files/b.img"), before);
	assert_cache_empty();
	/* the size query (HEAD) follows the same rule */
	uint64_t size = 0;
	assert_int_equal(FD->head(bad, &o, &size, &err), -VF_E_BLOCKED);
	assert_contains(err.message, "redirected it to http://");
	vf_error_clear(&err);
}

/* qcow2 images that name a host file: refused, nothing cached. */
static void host_file_case(const char *name, const char *kind, const char *host_file)
{
	vf_error err = { 0 };
	char *out = NULL;
	_cleanup_free_ char *path = vf_asprintf("/files/%s", name);
	assert_int_equal(fetch(path, name, NULL, &out, &err), -VF_E_BLOCKED);
	assert_null(out);
	_cleanup_free_ char *u = url(path);
	_cleanup_free_ char *want = vf_asprintf(
		"the image from %s is qcow2 with the %s \"%s\": a guest could read that host file, "
		"so virtform refuses it; flatten it first (qemu-img convert -O qcow2 IN OUT)",
		u, kind, host_file);
	if (!strstr(err.message, want))
		fail_msg("\"%s\" does not contain \"%s\"", err.message, want);
	assert_cache_empty();
	vf_error_clear(&err);

	/* an entry already in the cache (an older virtform kept it) is
	 * refused too, and removed */
	_cleanup_free_ char *hex = file_sha256(name);
	_cleanup_free_ char *entry = vf_asprintf("%s/sha256-%s", cache, hex);
	_cleanup_free_ char *cp = vf_asprintf("mkdir -p %s && cp %s/%s %s", cache, root, name, entry);
	run(cp);
	assert_int_equal(fetch(path, name, NULL, &out, &err), -VF_E_BLOCKED);
	assert_contains(err.message, kind);
	assert_false(exists(entry));
	vf_error_clear(&err);
}

static void test_qcow2_backing_file_refused(void **state)
{
	(void)state;
	_cleanup_free_ char *base = vf_asprintf("%s/b.img", root);
	host_file_case("back.qcow2", "backing file", base);
}

static void test_qcow2_data_file_refused(void **state)
{
	(void)state;
	_cleanup_free_ char *data = vf_asprintf("%s/data.raw", root);
	host_file_case("dat.qcow2", "external data file", data);
}

/* Formats libvirt would probe and open with the files they name, whatever
 * the volume declares: qed with a backing file, a vmdk descriptor. */
static void test_other_formats_refused(void **state)
{
	(void)state;
	const char *names[] = { "back.qed", "flat.vmdk" };
	const char *formats[] = { "qed", "vmdk" };
	for (size_t i = 0; i < VF_ARRAY_SIZE(names); i++) {
		vf_error err = { 0 };
		char *out = NULL;
		_cleanup_free_ char *path = vf_asprintf("/files/%s", names[i]);
		assert_int_equal(fetch(path, names[i], NULL, &out, &err), -VF_E_BLOCKED);
		_cleanup_free_ char *u = url(path);
		_cleanup_free_ char *want = vf_asprintf(
			"the image from %s is a %s image, not raw or qcow2: libvirt would open it with "
			"any backing or extent file it names, which a guest could read, so virtform "
			"refuses it; convert it first (qemu-img convert -O qcow2 IN OUT)", u, formats[i]);
		assert_string_equal(err.message, want);
		assert_cache_empty();
		vf_error_clear(&err);
	}
}

static void test_image_probe(void **state)
{
	(void)state;
	vf_image_info info;
	vf_error err = { 0 };
	_cleanup_free_ char *q = vf_asprintf("%s/q.qcow2", root);
	assert_int_equal(vf_image_probe(q, &info, &err), 0);
	assert_int_equal(info.format, VF_VOL_QCOW2);
	assert_int_equal(info.virtual_size, 3ull << 30);
	_cleanup_free_ char *r = vf_asprintf("%s/b.img", root);
	assert_int_equal(vf_image_probe(r, &info, &err), 0);
	assert_int_equal(info.format, VF_VOL_RAW);
	assert_int_equal(info.virtual_size, 50000);
	assert_null(info.host_file_kind);

	/* what the header names is reported, and vf_image_check refuses it */
	_cleanup_free_ char *back = vf_asprintf("%s/back.qcow2", root);
	_cleanup_free_ char *base = vf_asprintf("%s/b.img", root);
	assert_int_equal(vf_image_probe(back, &info, &err), 0);
	assert_int_equal(info.format, VF_VOL_QCOW2);
	assert_string_equal(info.host_file_kind, "backing file");
	assert_string_equal(info.host_file, base);
	_cleanup_free_ char *dat = vf_asprintf("%s/dat.qcow2", root);
	_cleanup_free_ char *data = vf_asprintf("%s/data.raw", root);
	assert_int_equal(vf_image_probe(dat, &info, &err), 0);
	assert_string_equal(info.host_file_kind, "external data file");
	assert_string_equal(info.host_file, data);
	assert_int_equal(vf_image_check(dat, "http://h/dat.qcow2", &info, &err), -VF_E_BLOCKED);
	assert_contains(err.message, "the image from http://h/dat.qcow2 is qcow2 with the external data file");
	vf_error_clear(&err);
	assert_int_equal(vf_image_check(q, "http://h/q.qcow2", &info, &err), 0);
	assert_null(info.host_file_kind);
}

/* ---- the storage driver on test:///default --------------------------------- */

static void test_clone_and_upload_on_test_driver(void **state)
{
	(void)state;
	const vf_hypervisor_driver *hv = &vf_libvirt_hypervisor_driver;
	const vf_storage_driver *st = &vf_libvirt_storage_driver;
	vf_conn *c = NULL;
	vf_error err = { 0 };
	assert_int_equal(hv->open("test:///default", NULL, &c, &err), 0);

	vf_object base = { .kind = VF_KIND_VOLUME, .name = vf_strdup("base") };
	base.u.volume.pool = vf_strdup("default-pool");
	base.u.volume.capacity = 64ull << 20;
	base.u.volume.format = VF_VOL_RAW;
	base.u.volume.perms = (vf_perms){ .owner = -1, .group = -1, .mode = -1 };
	if (st->volume_create(c, &base, &err) < 0)
		fail_msg("create: %s", err.message);

	vf_object copy = { .kind = VF_KIND_VOLUME, .name = vf_strdup("copy") };
	copy.u.volume.pool = vf_strdup("default-pool");
	copy.u.volume.capacity = 128ull << 20;
	copy.u.volume.format = VF_VOL_RAW;
	copy.u.volume.perms = base.u.volume.perms;
	copy.u.volume.has_source = true;
	copy.u.volume.source.has_volume = true;
	copy.u.volume.source.volume.pool = vf_strdup("default-pool");
	copy.u.volume.source.volume.name = vf_strdup("base");
	if (st->volume_clone(c, &copy, &err) < 0)
		fail_msg("clone: %s", err.message);
	vf_observed o = { 0 };
	assert_int_equal(hv->observe(c, &o, &err), 0);
	vf_obs_volume *v = vf_observed_volume(&o, "default-pool", "copy");
	assert_non_null(v);
	assert_int_equal(v->capacity, 64ull << 20); /* the source's; grown by volume_resize */
	vf_observed_free(&o);
	/* a clone never overwrites */
	assert_int_equal(st->volume_clone(c, &copy, &err), -VF_E_CONFLICT);
	vf_error_clear(&err);

	/* The test driver has no virStorageVolUpload: the error says so, and
	 * no half-made volume stays behind (tests/integration covers uploads). */
	vf_object up = { .kind = VF_KIND_VOLUME, .name = vf_strdup("up") };
	up.u.volume.pool = vf_strdup("default-pool");
	up.u.volume.capacity = 1ull << 20;
	up.u.volume.perms = base.u.volume.perms;
	_cleanup_free_ char *img = vf_asprintf("%s/b.img", root);
	assert_int_equal(st->volume_upload(c, &up, img, &err), -VF_E_DRIVER);
	assert_contains(err.message, "not supported");
	vf_error_clear(&err);
	assert_int_equal(hv->observe(c, &o, &err), 0);
	assert_null(vf_observed_volume(&o, "default-pool", "up"));
	vf_observed_free(&o);

	vf_object_clear(&base);
	vf_object_clear(&copy);
	vf_object_clear(&up);
	hv->close(c);
}

/* ---- spec.source: the strict loader and the planner ------------------------ */

#include "controller/load/manifest.h"
#include "controller/plan/plan.h"
#include "controller/cli/progress.h"

#define SHA "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static int load_text(const char *yaml, vf_desired *d, vf_diags *diags)
{
	_cleanup_free_ char *dir = vf_asprintf("%s/m-XXXXXX", scratch);
	assert_non_null(mkdtemp(dir));
	_cleanup_free_ char *file = vf_asprintf("%s/vol.yaml", dir);
	write_file(file, yaml, strlen(yaml));
	const char *paths[] = { dir };
	return vf_manifest_load(paths, 1, d, diags);
}

static const char *vol_head = "apiVersion: virtform/v1\nkind: Volume\nmetadata:\n  name: v\n"
			      "spec:\n  pool: p\n  capacity: 1GiB\n  source:\n";

/* The one diag the spec.source block produces, as "line:col: message". */
static char *one_error(const char *source_lines)
{
	_cleanup_free_ char *yaml = vf_asprintf("%s%s", vol_head, source_lines);
	vf_desired d = { 0 };
	vf_diags diags = { 0 };
	assert_true(load_text(yaml, &d, &diags) < 0);
	assert_int_equal(diags.n, 1);
	char *r = vf_asprintf("%d:%d: %s", diags.items[0].pos.line, diags.items[0].pos.col,
			      diags.items[0].message);
	vf_diags_free(&diags);
	vf_desired_free(&d);
	return r;
}

static void test_source_decoding(void **state)
{
	(void)state;
	_cleanup_free_ char *ok = vf_asprintf("%s    url: https://example.org/d.qcow2\n"
					      "    sha256: %s\n    caFile: /etc/ca.pem\n", vol_head,
					      "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef");
	vf_desired d = { 0 };
	vf_diags diags = { 0 };
	assert_int_equal(load_text(ok, &d, &diags), 0);
	const vf_volume_spec *vs = &d.objs[0].u.volume;
	assert_true(vs->has_source);
	assert_int_equal(vs->source.algo, VF_CHECKSUM_SHA256);
	assert_string_equal(vs->source.checksum, SHA); /* lower-cased */
	assert_string_equal(vs->source.ca_file, "/etc/ca.pem");
	assert_int_equal(vs->source.url_pos.line, 9);
	vf_desired_free(&d);

	char *e;
	e = one_error("    url: http://h/x\n    sha256: " SHA "\n    sha265: " SHA "\n");
	assert_contains(e, "11:5: unknown field \"sha265\" in Volume spec.source; did you mean \"sha256\"?");
	free(e);
	e = one_error("    url: http://h/x\n    sha512: abcd\n");
	assert_contains(e, "10:13: invalid spec.source.sha512: 4 hex digits, expected 128");
	free(e);
	e = one_error("    url: http://h/x\n    sha256: " SHA "\n    volume: {pool: p, name: b}\n");
	assert_contains(e, "11:5: spec.source has both url and volume");
	free(e);
	e = one_error("    url: http://h/x\n");
	assert_contains(e, "9:5: missing required field \"sha256\" or \"sha512\"");
	free(e);
	e = one_error("    url: ftp://h/x\n    insecureSkipVerify: true\n");
	assert_contains(e, "9:10: invalid spec.source.url \"ftp://h/x\": use an http://, https:// or file:// URL");
	free(e);
	e = one_error("    url: http://h/x\n    sha256: " SHA "\n    caFile: /ca.pem\n");
	assert_contains(e, "caFile applies to https URLs only");
	free(e);
}

static vf_object vol_from(const char *name, uint64_t cap, vf_vol_format fmt, const char *u)
{
	vf_object o = { .kind = VF_KIND_VOLUME, .name = vf_strdup(name) };
	o.u.volume.pool = vf_strdup("p");
	o.u.volume.capacity = cap;
	o.u.volume.format = fmt;
	o.u.volume.perms = (vf_perms){ .owner = -1, .group = -1, .mode = -1 };
	o.u.volume.has_source = true;
	o.u.volume.source.url = vf_strdup(u);
	o.u.volume.source.algo = VF_CHECKSUM_SHA256;
	o.u.volume.source.checksum = vf_strdup(SHA);
	return o;
}

/* The download line says a size as the plan does (issue 15: the plan said
 * 194221KiB, the download line 189.7MiB, for one image). */
static void test_progress_lines_use_the_plan_units(void **state)
{
	(void)state;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	assert_non_null(f);
	vf_progress_printer p = { .out = f };
	vf_progress_print("http://h/img.qcow2", 194221ull << 10, 194221ull << 10, 12.5 * 1048576, true, &p);
	p.tty = true;
	vf_progress_print("http://h/img.qcow2", 120ull << 20, 300ull << 20, 11.8 * 1048576, false, &p);
	fclose(f);
	assert_contains(text, "downloaded http://h/img.qcow2: 189.7MiB\n");
	assert_contains(text, " 40%  120MiB/300MiB  11.8MiB/s");
	free(text);
}

static void test_source_planning(void **state)
{
	(void)state;
	vf_desired d = { 0 };
	vf_object o = vol_from("v", 1ull << 30, VF_VOL_QCOW2, "http://h/img.qcow2");
	VF_APPEND(d.objs, d.n, d.cap, o);
	vf_obs_pool pool = { .name = vf_strdup("p"), .active = true, .autostart = true };
	vf_observed obs = { .pools = &pool, .n_pools = 1 };
	vf_ledger l = { 0 };
	vf_source_size known = { .url = "http://h/img.qcow2", .size = 300ull << 20,
				  .image_size = true };
	vf_plan_opts opts = { .sources = &known, .n_sources = 1 };
	vf_plan plan = { 0 };
	vf_diags diags = { 0 };

	/* create: fetch, upload, grow; the reason names the URL and size */
	assert_int_equal(vf_plan_build(&d, &obs, &l, &opts, &plan, &diags), 0);
	assert_int_equal(plan.n, 1);
	assert_contains(plan.steps[0].reason, "from http://h/img.qcow2 (300MiB, sha256)");
	assert_int_equal(plan.steps[0].n_ops, 4);
	vf_plan_free(&plan);
	/* the size in the style the download line prints it too */
	known.size = 194221ull << 10;
	assert_int_equal(vf_plan_build(&d, &obs, &l, &opts, &plan, &diags), 0);
	assert_contains(plan.steps[0].reason, "from http://h/img.qcow2 (189.7MiB, sha256)");
	known.size = 300ull << 20;
	assert_int_equal(plan.steps[0].ops[1].type, VF_OP_VOLUME_FETCH);
	assert_int_equal(plan.steps[0].ops[2].type, VF_OP_VOLUME_UPLOAD);
	assert_int_equal(plan.steps[0].ops[3].type, VF_OP_VOLUME_RESIZE);
	vf_plan_free(&plan);

	/* a raw image larger than the capacity: rejected at plan time */
	d.objs[0].u.volume.format = VF_VOL_RAW;
	known.size = 2ull << 30;
	assert_int_equal(vf_plan_build(&d, &obs, &l, &opts, &plan, &diags), -VF_E_CONFLICT);
	assert_int_equal(diags.n, 1);
	assert_contains(diags.items[0].message, "capacity 1GiB is smaller than the image http://h/img.qcow2 (2GiB)");
	vf_diags_free(&diags);
	d.objs[0].u.volume.format = VF_VOL_QCOW2;

	/* the volume exists and the ledger recorded another checksum: replace, blocked */
	vf_obs_volume live = { .pool = vf_strdup("p"), .name = vf_strdup("v"),
			       .path = vf_strdup("/p/v"), .capacity = 1ull << 30,
			       .format = VF_VOL_QCOW2, .format_name = vf_strdup("qcow2") };
	obs.volumes = &live;
	obs.n_volumes = 1;
	uuid_t u;
	vf_uuid_derive(VF_KIND_VOLUME, "p", "v", u);
	vf_ledger_put(&l, VF_KIND_VOLUME, "p", "v", u);
	l.entries[0].source = vf_asprintf("sha256:%s", SHA);
	assert_int_equal(vf_plan_build(&d, &obs, &l, &opts, &plan, &diags), 0);
	assert_int_equal(plan.n, 0); /* same source: nothing to do, nothing fetched */
	vf_plan_free(&plan);
	free(d.objs[0].u.volume.source.checksum);
	d.objs[0].u.volume.source.checksum = vf_asprintf("ff%s", SHA + 2);
	assert_int_equal(vf_plan_build(&d, &obs, &l, &opts, &plan, &diags), 0);
	assert_int_equal(plan.n, 1);
	assert_int_equal(plan.steps[0].action, VF_ACT_BLOCKED);
	assert_string_equal(plan.steps[0].changes[0].field, "spec.source");
	assert_int_equal(plan.steps[0].changes[0].effect, VF_EFFECT_REPLACE);
	assert_contains(plan.steps[0].reason, "--replace Volume/p/v");
	vf_plan_free(&plan);

	free(live.pool);
	free(live.name);
	free(live.path);
	free(live.format_name);
	free(pool.name);
	vf_ledger_free(&l);
	vf_desired_free(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_download_then_cache_hit, setup),
		cmocka_unit_test_setup(test_sha512_and_redirect, setup),
		cmocka_unit_test_setup(test_checksum_mismatch, setup),
		cmocka_unit_test_setup(test_truncated_transfer_leaves_no_entry, setup),
		cmocka_unit_test_setup(test_resume_with_range, setup),
		cmocka_unit_test_setup(test_resume_from_server_without_ranges, setup),
		cmocka_unit_test_setup(test_not_found, setup),
		cmocka_unit_test_setup(test_stalled_server_times_out, setup),
		cmocka_unit_test_setup(test_redirect_loop_is_bounded, setup),
		cmocka_unit_test_setup(test_gz, setup),
		cmocka_unit_test_setup(test_xz, setup),
		cmocka_unit_test_setup(test_zst, setup),
		cmocka_unit_test_setup(test_zst_whole_blocks, setup),
		cmocka_unit_test_setup(test_cut_compressed_stream, setup),
		cmocka_unit_test_setup(test_progress_file_url_and_head, setup),
		cmocka_unit_test_setup(test_insecure_download, setup),
		cmocka_unit_test_setup(test_endless_body_is_bounded, setup),
		cmocka_unit_test_setup(test_content_length_over_bound, setup),
		cmocka_unit_test_setup(test_part_over_bound_starts_over, setup),
		cmocka_unit_test_setup(test_gzip_bomb, setup),
		cmocka_unit_test_setup(test_zstd_bomb, setup),
		cmocka_unit_test_setup(test_https_never_redirects_to_http, setup),
		cmocka_unit_test_setup(test_qcow2_backing_file_refused, setup),
		cmocka_unit_test_setup(test_qcow2_data_file_refused, setup),
		cmocka_unit_test_setup(test_other_formats_refused, setup),
		cmocka_unit_test(test_image_probe),
		cmocka_unit_test(test_clone_and_upload_on_test_driver),
		cmocka_unit_test(test_source_decoding),
		cmocka_unit_test(test_source_planning),
		cmocka_unit_test(test_progress_lines_use_the_plan_units),
	};
	return cmocka_run_group_tests(tests, setup_all, teardown_all);
}
