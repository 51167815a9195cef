/* conn.c: opening and closing a libvirt connection (bounded in time, kept
 * alive), turning libvirt's errors into vf_error and telling a lost
 * connection from a failed call, who the host is (its UUID and name), and the
 * connection's per-observe caches (pools refreshed, volume formats). libvirt's default handlers print to stderr;
 * no-op handlers replace them so library code never prints.
 * Not for any object operation: those live in domain.c, pool.c, volume.c. */
#include <errno.h>
#include <pthread.h>
#include <strings.h>
#include <time.h>

#include <libxml/uri.h>
#include <libxml/xmlerror.h>

#include "lv.h"

static void vf_lv__quiet(void *userdata, virErrorPtr error)
{
	(void)userdata;
	(void)error; /* kept by libvirt for virGetLastError() */
}

static void vf_lv__xml_quiet(void *ctx, const char *msg, ...)
{
	(void)ctx;
	(void)msg;
}

static void vf_lv__init_once(void)
{
	xmlInitParser(); /* before any thread parses (observe.c reads in parallel) */
	virInitialize();
	virSetErrorFunc(NULL, vf_lv__quiet);
}

const char *vf_lv__msg(void)
{
	virErrorPtr e = virGetLastError();
	if (!e || !e->message)
		return "unknown libvirt error";
	return e->message;
}

int vf_lv__code(void)
{
	virErrorPtr e = virGetLastError();
	return e ? e->code : VIR_ERR_OK;
}

/* ---- opening, bounded in time --------------------------------------------- */

/* One virConnectOpen on a thread of its own, so the caller can stop
 * waiting: libvirt has no timeout of its own for the handshake, and a
 * peer that accepts and never answers (a SIGSTOPped libvirtd, a dead ssh
 * tunnel) would hang it for ever. A caller that gave up leaves the
 * opener to close what it opens, if it ever does. */
typedef struct vf_lv_opener {
	pthread_mutex_t lock;     /* guards everything below */
	pthread_cond_t cond;
	char *uri;                /* NULL: libvirt's default */
	bool readonly;            /* virConnectOpenReadOnly */
	virConnectPtr conn;       /* the result, once done */
	virErrorPtr error;        /* libvirt's error when conn is NULL */
	bool keepalive;           /* virConnectSetKeepAlive took */
	bool done;
	bool abandoned;           /* the caller stopped waiting: the opener frees it all */
} vf_lv_opener;

static void vf_lv__opener_free(vf_lv_opener *o)
{
	if (o->conn)
		virConnectClose(o->conn);
	virFreeError(o->error);
	pthread_cond_destroy(&o->cond);
	pthread_mutex_destroy(&o->lock);
	free(o->uri);
	free(o);
}

/* The transport in a URI's scheme ("libssh" in qemu+libssh://), else false. */
static bool vf_lv__transport_is(const char *uri, const char *transport)
{
	xmlURIPtr u = uri ? xmlParseURI(uri) : NULL;
	const char *plus = u && u->scheme ? strchr(u->scheme, '+') : NULL;
	bool is = plus && strcasecmp(plus + 1, transport) == 0;
	xmlFreeURI(u);
	return is;
}

void vf_lv__keepalive_for(const char *uri, int *interval_s, unsigned *count)
{
	*interval_s = VF_LV_KEEPALIVE_INTERVAL_S;
	*count = VF_LV_KEEPALIVE_COUNT;
	if (vf_lv__transport_is(uri, "libssh")) {
		*interval_s = VF_LV_LIBSSH_KEEPALIVE_INTERVAL_S;
		*count = VF_LV_LIBSSH_KEEPALIVE_COUNT;
	}
}

bool vf_lv__calls_may_overlap(const char *uri)
{
	return !vf_lv__transport_is(uri, "libssh");
}

static void *vf_lv__opener_run(void *arg)
{
	vf_lv_opener *o = arg;
	/* The test driver reads its state file with libxml2, which reports a
	 * missing file on stderr itself (this thread's handler); libvirt's
	 * error says it too. */
	xmlSetGenericErrorFunc(NULL, vf_lv__xml_quiet);
	virConnectPtr conn = o->readonly ? virConnectOpenReadOnly(o->uri) : virConnectOpen(o->uri);
	virErrorPtr error = conn ? NULL : virSaveLastError();
	bool keepalive = false;
	if (conn) {
		virConnSetErrorFunc(conn, NULL, vf_lv__quiet);
		/* Needs the event loop (loop_start); local drivers without a
		 * transport have no keepalive and need none. */
		int interval_s;
		unsigned count;
		char *opened = virConnectGetURI(conn);
		vf_lv__keepalive_for(opened ? opened : o->uri, &interval_s, &count);
		free(opened);
		keepalive = virConnectSetKeepAlive(conn, interval_s, count) == 0;
		virResetLastError();
	}
	pthread_mutex_lock(&o->lock);
	o->conn = conn;
	o->error = error;
	o->keepalive = keepalive;
	o->done = true;
	bool abandoned = o->abandoned;
	pthread_cond_broadcast(&o->cond);
	pthread_mutex_unlock(&o->lock);
	if (abandoned)
		vf_lv__opener_free(o);
	return NULL;
}

/* Wait for `o` up to timeout_s (0: for ever); true when it finished. */
static bool vf_lv__opener_wait(vf_lv_opener *o, unsigned timeout_s)
{
	struct timespec until;
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += (time_t)timeout_s;
	pthread_mutex_lock(&o->lock);
	while (!o->done) {
		if (!timeout_s)
			pthread_cond_wait(&o->cond, &o->lock);
		else if (pthread_cond_timedwait(&o->cond, &o->lock, &until) == ETIMEDOUT)
			break;
	}
	bool done = o->done;
	if (!done)
		o->abandoned = true;
	pthread_mutex_unlock(&o->lock);
	return done;
}

int vf_lv__open_bounded(const char *uri, bool readonly, unsigned timeout_s, virConnectPtr *out,
			bool *ret_keepalive, vf_error *err)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, vf_lv__init_once);
	const char *shown = uri ? uri : "libvirt's default URI";

	vf_lv_opener *o = vf_calloc(1, sizeof(*o));
	pthread_mutex_init(&o->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&o->cond, &ca);
	pthread_condattr_destroy(&ca);
	o->uri = uri ? vf_strdup(uri) : NULL;
	o->readonly = readonly;
	pthread_t t;
	pthread_attr_t ta;
	pthread_attr_init(&ta);
	pthread_attr_setdetachstate(&ta, PTHREAD_CREATE_DETACHED);
	int e = pthread_create(&t, &ta, vf_lv__opener_run, o);
	pthread_attr_destroy(&ta);
	if (e) {
		vf_lv__opener_free(o);
		return vf_error_set(err, VF_E_INTERNAL, "cannot start a thread to open %s: %s", shown,
				    strerror(e));
	}
	if (!vf_lv__opener_wait(o, timeout_s))
		return vf_error_set(err, VF_E_CONNECTION,
				    "cannot reach %s: no answer from libvirtd within %u s while opening the connection",
				    shown, timeout_s);
	int r = 0;
	if (!o->conn)
		r = vf_error_set(err, VF_E_DRIVER, "cannot connect to libvirt at \"%s\": %s",
				 uri ? uri : "(default)",
				 o->error && o->error->message ? o->error->message
							       : "unknown libvirt error");
	else if (ret_keepalive)
		*ret_keepalive = o->keepalive;
	if (r == 0)
		*out = TAKE_PTR(o->conn);
	vf_lv__opener_free(o);
	return r;
}

int vf_lv_open(const char *uri, const vf_conn_opts *opts, vf_conn **out, vf_error *err)
{
	virConnectPtr conn = NULL;
	bool keepalive = false;
	int r = vf_lv__open_bounded(uri, false,
				    opts ? opts->connect_timeout_s : VF_CONNECT_TIMEOUT_DEFAULT_S, &conn,
				    &keepalive, err);
	if (r < 0)
		return r;

	vf_conn *c = vf_calloc(1, sizeof(*c));
	c->conn = conn;
	c->keepalive = keepalive;
	c->uri = virConnectGetURI(conn);
	if (!c->uri)
		c->uri = vf_strdup(uri ? uri : "");
	c->serial = !vf_lv__calls_may_overlap(c->uri);
	const char *type = virConnectGetType(conn);
	c->hv_type = vf_strdup(type ? type : "");
	c->is_test = strcasecmp(c->hv_type, "test") == 0;
	virResetLastError();
	*out = c;
	return 0;
}

/* ---- a lost connection ---------------------------------------------------- */

bool vf_lv__lost(vf_conn *c)
{
	return c && c->conn && virConnectIsAlive(c->conn) == 0;
}

int vf_lv__classify(vf_conn *c, vf_error *err, int r)
{
	if (r != -(int)VF_E_DRIVER || !vf_lv__lost(c))
		return r;
	if (err)
		err->code = VF_E_CONNECTION;
	return -(int)VF_E_CONNECTION;
}

/* ---- per-observe caches --------------------------------------------------- */

static void vf_lv__pool_seen_clear(vf_lv_pool_seen *s)
{
	free(s->name);
	free(s->type);
	if (s->handle)
		virStoragePoolFree(s->handle);
	memset(s, 0, sizeof(*s));
}

static void vf_lv__cycle_clear(vf_conn *c)
{
	for (size_t i = 0; i < c->n_pools_seen; i++)
		vf_lv__pool_seen_clear(&c->pools_seen[i]);
	free(c->pools_seen);
	c->pools_seen = NULL;
	c->n_pools_seen = c->cap_pools_seen = 0;
	for (size_t i = 0; i < c->n_formats; i++) {
		free(c->formats[i].pool);
		free(c->formats[i].name);
		free(c->formats[i].format);
	}
	free(c->formats);
	c->formats = NULL;
	c->n_formats = 0;
}

static int vf_lv__format_cmp(const void *a, const void *b)
{
	const vf_lv_vol_format *x = a, *y = b;
	int r = strcmp(x->pool, y->pool);
	return r ? r : strcmp(x->name, y->name);
}

void vf_lv__cycle_reset(vf_conn *c, const vf_observed *o)
{
	vf_lv__cycle_clear(c);
	c->formats = vf_calloc(o->n_volumes ? o->n_volumes : 1, sizeof(*c->formats));
	for (size_t i = 0; i < o->n_volumes; i++) {
		const vf_obs_volume *v = &o->volumes[i];
		if (!v->pool || !v->name)
			continue;
		c->formats[c->n_formats++] = (vf_lv_vol_format){
			.pool = vf_strdup(v->pool),
			.name = vf_strdup(v->name),
			.format = v->format_name ? vf_strdup(v->format_name) : NULL,
			.valid = true,
		};
	}
	qsort(c->formats, c->n_formats, sizeof(*c->formats), vf_lv__format_cmp);
}

const vf_lv_pool_seen *vf_lv__pool_seen(vf_conn *c, const char *pool)
{
	for (size_t i = 0; pool && i < c->n_pools_seen; i++)
		if (strcmp(c->pools_seen[i].name, pool) == 0)
			return &c->pools_seen[i];
	return NULL;
}

void vf_lv__pool_mark_seen(vf_conn *c, const char *pool, const char *type,
			   virStoragePoolPtr handle)
{
	if (!pool || vf_lv__pool_seen(c, pool))
		return;
	if (handle && virStoragePoolRef(handle) < 0)
		handle = NULL;
	vf_lv_pool_seen s = { .name = vf_strdup(pool), .type = type ? vf_strdup(type) : NULL,
			      .handle = handle };
	VF_APPEND(c->pools_seen, c->n_pools_seen, c->cap_pools_seen, s);
}

static vf_lv_vol_format *vf_lv__format_find(vf_conn *c, const char *pool, const char *name)
{
	if (!pool || !name || !c->n_formats)
		return NULL;
	/* the key's strings are only read */
	vf_lv_vol_format key = { .pool = (char *)(uintptr_t)pool, .name = (char *)(uintptr_t)name };
	return bsearch(&key, c->formats, c->n_formats, sizeof(*c->formats), vf_lv__format_cmp);
}

const vf_lv_vol_format *vf_lv__format_cached(vf_conn *c, const char *pool, const char *name)
{
	const vf_lv_vol_format *f = vf_lv__format_find(c, pool, name);
	return f && f->valid ? f : NULL;
}

void vf_lv__format_forget(vf_conn *c, const char *pool, const char *name)
{
	vf_lv_vol_format *f = vf_lv__format_find(c, pool, name);
	if (f)
		f->valid = false;
}

void vf_lv__format_remember(vf_conn *c, const char *pool, const char *name, const char *format)
{
	if (!pool || !name)
		return;
	vf_lv_vol_format *f = vf_lv__format_find(c, pool, name);
	if (!f) {
		/* Insert in order: the array stays sorted for bsearch. */
		vf_lv_vol_format key = { .pool = (char *)(uintptr_t)pool, .name = (char *)(uintptr_t)name };
		size_t at = 0, hi = c->n_formats; /* the first entry not below key */
		while (at < hi) {
			size_t mid = at + (hi - at) / 2;
			if (vf_lv__format_cmp(&c->formats[mid], &key) < 0)
				at = mid + 1;
			else
				hi = mid;
		}
		c->formats = vf_realloc(c->formats, (c->n_formats + 1) * sizeof(*c->formats));
		memmove(&c->formats[at + 1], &c->formats[at], (c->n_formats - at) * sizeof(*c->formats));
		c->n_formats++;
		f = &c->formats[at];
		*f = (vf_lv_vol_format){ .pool = vf_strdup(pool), .name = vf_strdup(name) };
	}
	free(f->format);
	f->format = format ? vf_strdup(format) : NULL;
	f->valid = true;
}

void vf_lv__pool_forget(vf_conn *c, const char *pool)
{
	for (size_t i = 0; pool && i < c->n_pools_seen; i++)
		if (strcmp(c->pools_seen[i].name, pool) == 0) {
			vf_lv__pool_seen_clear(&c->pools_seen[i]);
			c->pools_seen[i] = c->pools_seen[--c->n_pools_seen];
			break;
		}
	for (size_t i = 0; pool && i < c->n_formats; i++)
		if (strcmp(c->formats[i].pool, pool) == 0)
			c->formats[i].valid = false;
}

void vf_lv_close(vf_conn *c)
{
	if (!c)
		return;
	vf_lv__cycle_clear(c);
	if (c->conn)
		virConnectClose(c->conn);
	free(c->uri);
	free(c->caps);
	free(c->hv_type);
	free(c);
}

const char *vf_lv_uri(vf_conn *c)
{
	return c ? c->uri : NULL;
}

/* XPath `expr` of an XML document libvirt returned; NULL when absent. */
static char *vf_lv__doc_str(const char *xml, const char *expr)
{
	if (!xml)
		return NULL;
	_cleanup_doc_ xmlDocPtr doc = vf_lv__xml_read(xml);
	if (!doc)
		return NULL;
	_cleanup_xctx_ xmlXPathContextPtr ctx = xmlXPathNewContext(doc);
	return ctx ? vf_lv__xstr(ctx, NULL, expr) : NULL;
}

int vf_lv_host_identity(vf_conn *c, vf_host_id *out, vf_error *err)
{
	free(c->caps);
	c->caps = virConnectGetCapabilities(c->conn);
	const char *caps = c->caps;
	if (!caps)
		return vf_error_set(err, VF_E_DRIVER, "cannot read the host's capabilities: %s",
				    vf_lv__msg());
	vf_host_id h = {
		.uri = vf_strdup(c->uri),
		.uuid = vf_lv__doc_str(caps, "/capabilities/host/uuid"),
		.hostname = virConnectGetHostname(c->conn),
	};
	if (h.uuid) {
		/* libvirt takes the SMBIOS system UUID when the machine has
		 * one; sysinfo shows the same. Some drivers have no sysinfo. */
		_cleanup_free_ char *sys = virConnectGetSysinfo(c->conn, 0);
		_cleanup_free_ char *smbios =
			vf_lv__doc_str(sys, "/sysinfo/system/entry[@name='uuid']");
		h.uuid_hardware = smbios && strcasecmp(smbios, h.uuid) == 0;
	}
	virResetLastError();
	*out = h;
	return 0;
}

bool vf_lv_uri_local(const char *uri)
{
	if (!uri)
		return true;
	xmlURIPtr u = xmlParseURI(uri);
	if (!u)
		return true; /* libvirt accepted it; keep the local default */
	bool local = !u->server || !*u->server;
	xmlFreeURI(u);
	return local;
}

/* The same driver and daemon as `uri`, reached on this machine:
 * "qemu+ssh://root@h:2222/system?keyfile=k" is "qemu:///system". NULL when
 * there is none to ask: a session daemon would be started just to answer. */
static char *vf_lv__local_twin(const char *uri)
{
	xmlURIPtr u = xmlParseURI(uri);
	if (!u)
		return NULL;
	char *twin = NULL;
	if (u->scheme && u->path && strcmp(u->path, "/session") != 0)
		twin = vf_asprintf("%.*s://%s", (int)strcspn(u->scheme, "+"), u->scheme, u->path);
	xmlFreeURI(u);
	return twin;
}

/* Is the host at the far end of `c` this machine? Its libvirtd says who it
 * is (host UUID and name); the same daemon asked locally must say the
 * same. A URI's spelling proves nothing: "localhost:2222" may be a tunnel
 * to another machine, "127.0.0.1" or another name may be this one. */
static bool vf_lv__same_as_local(vf_conn *c)
{
	_cleanup_free_ char *twin = vf_lv__local_twin(c->uri);
	if (!twin)
		return false;
	virConnectPtr local = NULL;
	vf_error e = { 0 };
	if (vf_lv__open_bounded(twin, true, VF_CONNECT_TIMEOUT_DEFAULT_S, &local, NULL, &e) < 0) {
		vf_error_clear(&e); /* no such daemon here (or none answering): another machine */
		virResetLastError();
		return false;
	}
	_cleanup_free_ char *lcaps = virConnectGetCapabilities(local);
	_cleanup_free_ char *rcaps = virConnectGetCapabilities(c->conn);
	_cleanup_free_ char *lu = vf_lv__doc_str(lcaps, "/capabilities/host/uuid");
	_cleanup_free_ char *ru = vf_lv__doc_str(rcaps, "/capabilities/host/uuid");
	_cleanup_free_ char *ln = virConnectGetHostname(local);
	_cleanup_free_ char *rn = virConnectGetHostname(c->conn);
	virConnectClose(local);
	virResetLastError();
	return lu && ru && strcasecmp(lu, ru) == 0 && vf_streq_null(ln, rn);
}

bool vf_lv_files_local(vf_conn *c)
{
	if (!c || vf_lv_uri_local(c->uri))
		return true;
	if (!c->local_known) {
		c->local = vf_lv__same_as_local(c);
		c->local_known = true;
	}
	return c->local;
}
