/* client.c: the transport of virtform's etcd client: a list of endpoints,
 * one JSON POST to the gateway (/v3/...) with bounded timeouts, trying the
 * next endpoint when one does not answer or has no leader, and errors that
 * name the endpoint. Also base64, the gateway's encoding of bytes.
 * Not for what the requests mean (kv.c) or for locks (lockdrv.c). */
#include "drivers/etcd/client.h"

#include <curl/curl.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

struct vf_etcd {
	char *endpoints[VF_ETCD_MAX_ENDPOINTS];   /* without a trailing '/' */
	size_t n;
	size_t current;           /* the endpoint tried first: the last that answered */
	vf_etcd_opts opts;
	CURL *curl;               /* reused: keeps connections alive */
	pthread_mutex_t mutex;    /* one request at a time per client */
};

uint64_t vf_etcd_now_ms(void)
{
	struct timespec ts = { 0 };
	/* BOOTTIME: monotonic, and it counts a suspend, as etcd's clock
	 * does: a host that wakes up past its deadline must know it. */
	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void vf_etcd__init_once(void)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		abort();
}

int vf_etcd_open(const char *endpoints, const vf_etcd_opts *opts, vf_etcd **out, vf_error *err)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, vf_etcd__init_once);
	if (!endpoints || !*endpoints)
		return vf_error_set(err, VF_E_USAGE, "--etcd: no endpoint given");
	vf_etcd *c = vf_calloc(1, sizeof(*c));
	pthread_mutex_init(&c->mutex, NULL);
	if (opts)
		c->opts = *opts;
	for (const char *p = endpoints; *p;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		_cleanup_free_ char *url = vf_strndup(p, len);
		while (len > 0 && url[len - 1] == '/')
			url[--len] = '\0';
		bool http = strncmp(url, "http://", 7) == 0 && url[7];
		bool https = strncmp(url, "https://", 8) == 0 && url[8];
		if (!http && !https) {
			vf_etcd_close(c);
			return vf_error_set(err, VF_E_USAGE,
					    "--etcd: \"%s\" is not an http:// or https:// URL", url);
		}
		if (strchr(url + (http ? 7 : 8), '/')) {
			vf_etcd_close(c);
			return vf_error_set(err, VF_E_USAGE,
					    "--etcd: \"%s\" has a path; give the client URL only (http://host:2379)",
					    url);
		}
		if (c->n == VF_ETCD_MAX_ENDPOINTS) {
			vf_etcd_close(c);
			return vf_error_set(err, VF_E_USAGE, "--etcd: more than %d endpoints",
					    VF_ETCD_MAX_ENDPOINTS);
		}
		c->endpoints[c->n++] = TAKE_PTR(url);
		p = comma ? comma + 1 : p + len;
	}
	if (!c->opts.connect_ms)
		c->opts.connect_ms = VF_ETCD_CONNECT_MS_DEFAULT;
	if (!c->opts.request_ms)
		c->opts.request_ms = VF_ETCD_REQUEST_MS_DEFAULT;
	if (!c->opts.total_ms)
		c->opts.total_ms = c->opts.request_ms * (unsigned)c->n;
	c->curl = curl_easy_init();
	if (!c->curl)
		abort();
	*out = c;
	return 0;
}

void vf_etcd_close(vf_etcd *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++)
		free(c->endpoints[i]);
	if (c->curl)
		curl_easy_cleanup(c->curl);
	pthread_mutex_destroy(&c->mutex);
	free(c);
}

const char *vf_etcd_endpoint(const vf_etcd *c)
{
	return c->endpoints[c->current];
}

static size_t vf_etcd__write_cb(char *data, size_t size, size_t n, void *user)
{
	vf_buf *b = user;
	if (b->len + size * n > VF_ETCD_MAX_RESPONSE)
		return 0;   /* abort the transfer: no answer of ours is that big */
	vf_buf_addn(b, data, size * n);
	return size * n;
}

/* gRPC codes worth another endpoint: the member cannot serve now
 * (no leader, leader changed, shutting down) or timed out. */
static bool vf_etcd__code_retryable(int64_t code)
{
	return code == 14 /* UNAVAILABLE */ || code == 4 /* DEADLINE_EXCEEDED */;
}

/* One attempt at one endpoint. Returns 0 with *out, 1 "try the next
 * endpoint" (err set), negative for a definite answer (err set). */
static int vf_etcd__attempt(vf_etcd *c, size_t idx, const char *path, const char *body,
			    unsigned budget_ms, json_object **out, vf_error *err)
{
	const char *ep = c->endpoints[idx];
	_cleanup_free_ char *url = vf_asprintf("%s%s", ep, path);
	char errbuf[CURL_ERROR_SIZE] = "";
	vf_buf resp = { 0 };
	CURL *h = c->curl;
	curl_easy_reset(h);
	struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "virtform/" VF_VERSION);
	unsigned conn = c->opts.connect_ms < budget_ms ? c->opts.connect_ms : budget_ms;
	unsigned req = c->opts.request_ms < budget_ms ? c->opts.request_ms : budget_ms;
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)(conn ? conn : 1));
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)(req ? req : 1));
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, vf_etcd__write_cb);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &resp);
	CURLcode cr = curl_easy_perform(h);
	curl_slist_free_all(hdrs);
	long status = 0;
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	if (cr != CURLE_OK) {
		vf_buf_free(&resp);
		vf_error_set(err, cr == CURLE_OPERATION_TIMEDOUT ? VF_E_TIMEOUT : VF_E_CONNECTION,
			     "etcd %s: %s: %s", ep, path, *errbuf ? errbuf : curl_easy_strerror(cr));
		return 1;
	}
	_cleanup_free_ char *text = vf_buf_steal(&resp);
	json_object *j = json_tokener_parse(text);
	if (!j || !json_object_is_type(j, json_type_object)) {
		json_object_put(j);
		/* A proxy's page, or an etcd without the v3 gateway. */
		vf_error_set(err, VF_E_DRIVER,
			     "etcd %s: %s answered HTTP %ld without a JSON object (is this an etcd 3.4+ client URL?)",
			     ep, path, status);
		return status >= 500 ? 1 : -VF_E_DRIVER;
	}
	json_object *e = NULL;
	if (json_object_object_get_ex(j, "error", &e) || status != 200) {
		json_object *m = NULL, *code = NULL;
		const char *msg = json_object_object_get_ex(j, "message", &m) ? json_object_get_string(m)
			: e ? json_object_get_string(e) : "no message";
		int64_t grpc = json_object_object_get_ex(j, "code", &code) ? json_object_get_int64(code) : 0;
		int r = vf_error_set(err, VF_E_DRIVER, "etcd %s: %s failed (HTTP %ld, code %lld): %s",
				     ep, path, status, (long long)grpc, msg);
		json_object_put(j);
		return vf_etcd__code_retryable(grpc) || status == 503 ? 1 : r;
	}
	*out = j;
	return 0;
}

int vf_etcd_call(vf_etcd *c, const char *path, json_object *req, json_object **out,
		 uint64_t *ret_sent_ms, vf_error *err)
{
	const char *body = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN);
	pthread_mutex_lock(&c->mutex);
	uint64_t start = vf_etcd_now_ms();
	int r = -VF_E_CONNECTION;
	vf_buf tried = { 0 };
	for (size_t k = 0; k < c->n; k++) {
		size_t idx = (c->current + k) % c->n;
		uint64_t now = vf_etcd_now_ms();
		if (k > 0 && now - start >= c->opts.total_ms)
			break;
		unsigned budget = (unsigned)(c->opts.total_ms - (now - start));
		vf_error one = { 0 };
		uint64_t sent = now;
		r = vf_etcd__attempt(c, idx, path, body, budget, out, &one);
		if (r == 0) {
			c->current = idx;
			if (ret_sent_ms)
				*ret_sent_ms = sent;
			vf_error_clear(&one);
			break;
		}
		if (r < 0) {
			vf_error_clear(err);
			*err = one;
			break;
		}
		/* Unreachable or no leader: note it and try the next. */
		vf_buf_printf(&tried, "%s%s", tried.len ? "; " : "", one.message);
		r = -(int)one.code;
		vf_error_clear(&one);
	}
	pthread_mutex_unlock(&c->mutex);
	if (r != 0 && tried.len) {
		_cleanup_free_ char *why = vf_buf_steal(&tried);
		return vf_error_set(err, r == -VF_E_TIMEOUT ? VF_E_TIMEOUT : VF_E_CONNECTION,
				    "no etcd endpoint answered %s within %u ms: %s", path,
				    c->opts.total_ms, why);
	}
	vf_buf_free(&tried);
	return r;
}

/* ---- base64 ----------------------------------------------------------------- */

static const char vf_b64__alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *vf_etcd_b64_encode(const void *data, size_t n)
{
	const unsigned char *p = data;
	char *out = vf_malloc((n + 2) / 3 * 4 + 1);
	size_t o = 0;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		out[o++] = vf_b64__alphabet[(v >> 18) & 63];
		out[o++] = vf_b64__alphabet[(v >> 12) & 63];
		out[o++] = i + 1 < n ? vf_b64__alphabet[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < n ? vf_b64__alphabet[v & 63] : '=';
	}
	out[o] = '\0';
	return out;
}

static int vf_b64__value(char ch)
{
	const char *p = ch ? strchr(vf_b64__alphabet, ch) : NULL;
	return p ? (int)(p - vf_b64__alphabet) : -1;
}

char *vf_etcd_b64_decode(const char *s, size_t *ret_n)
{
	size_t len = strlen(s);
	if (len % 4)
		return NULL;
	char *out = vf_malloc(len / 4 * 3 + 1);
	size_t o = 0;
	for (size_t i = 0; i < len; i += 4) {
		int v[4];
		for (int k = 0; k < 4; k++) {
			bool pad = s[i + k] == '=' && i + 4 == len && k >= 2 &&
				   (k == 3 || s[i + 3] == '=');
			v[k] = pad ? 0 : vf_b64__value(s[i + k]);
			if (v[k] < 0) {
				free(out);
				return NULL;
			}
		}
		uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
		out[o++] = (char)(w >> 16);
		if (s[i + 2] != '=')
			out[o++] = (char)(w >> 8);
		if (s[i + 3] != '=')
			out[o++] = (char)w;
	}
	out[o] = '\0';
	if (ret_n)
		*ret_n = o;
	return out;
}
