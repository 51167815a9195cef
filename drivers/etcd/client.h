/* client.h: the transport of virtform's etcd client (client.c), private to
 * drivers/etcd/ and its tests: endpoints, bounded JSON POSTs to etcd's gRPC
 * gateway (/v3/..., etcd 3.4 and later), base64. What the requests mean is
 * kv.h; the lock driver table is lockdrv.c; docs/fleet.md the whole.
 * Not a general etcd client: no watch, no auth, no client certificates. */
#pragma once

#include "controller/core/error.h"
#include "controller/core/util.h"

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

/* Per-request bounds. One call tries each endpoint at most once, in order
 * starting from the last one that answered, and never longer than
 * total_ms in all. */
typedef struct vf_etcd_opts {
	unsigned connect_ms;      /* TCP/TLS connect, per endpoint; 0 = 1000 */
	unsigned request_ms;      /* one request, per endpoint; 0 = 2000 */
	unsigned total_ms;        /* one call over all endpoints; 0 = request_ms * endpoints */
} vf_etcd_opts;

#define VF_ETCD_CONNECT_MS_DEFAULT 1000u
#define VF_ETCD_REQUEST_MS_DEFAULT 2000u
#define VF_ETCD_MAX_ENDPOINTS 16

typedef struct vf_etcd vf_etcd;

/* A client for `endpoints`: "http://h:2379[,https://h2:2379...]" (no path,
 * no trailing slash needed). Checks the list only; nothing is sent. */
int vf_etcd_open(const char *endpoints, const vf_etcd_opts *opts, vf_etcd **out, vf_error *err);
void vf_etcd_close(vf_etcd *c);   /* accepts NULL */
/* The endpoint the last successful call went to (borrowed). */
const char *vf_etcd_endpoint(const vf_etcd *c);

/* The client's clock, in ms: CLOCK_BOOTTIME, which never steps with the
 * wall clock and, unlike CLOCK_MONOTONIC, keeps counting while the host
 * is suspended. The fence deadline and the fence helper use it too. */
uint64_t vf_etcd_now_ms(void);

/* The largest answer read (a range of one key, a lease): 1 MiB. */
#define VF_ETCD_MAX_RESPONSE (1u << 20)

/* POST req (JSON) to `path` ("/v3/kv/range"): tries the endpoints as
 * vf_etcd_opts says and returns 0 with the answer object in *out (caller
 * puts it) and, when ret_sent_ms is not NULL, the monotonic time just
 * before the answered request was sent. An etcd error answer is
 * VF_E_DRIVER naming the endpoint; no endpoint answering is
 * VF_E_CONNECTION or VF_E_TIMEOUT listing each endpoint's reason. */
int vf_etcd_call(vf_etcd *c, const char *path, json_object *req, json_object **out,
		 uint64_t *ret_sent_ms, vf_error *err);

/* ---- base64 (the gateway's encoding of keys and values) ------------------ */
char *vf_etcd_b64_encode(const void *data, size_t n);
/* NULL on a malformed input; *ret_n gets the length (a NUL follows). */
char *vf_etcd_b64_decode(const char *s, size_t *ret_n);
