/* lv.h: internals shared by the libvirt driver's modules: the connection
 * struct, libvirt error capture, cleanup helpers for libvirt and libxml2
 * handles, and the XML readers and writers. Not for callers outside
 * drivers/libvirt/: they see only the tables in drivers/driver.h. */
#pragma once

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>

#include "../driver.h"

/* libxml2's BAD_CAST drops const; its functions take const xmlChar *. */
#define VF_XC(s) ((const xmlChar *)(s))

/* A pool refreshed since the last observe, with its type from its XML and
 * a handle every volume created in it this cycle reuses. */
typedef struct vf_lv_pool_seen {
	char *name;
	char *type;               /* "dir", "logical", ...; NULL unknown */
	virStoragePoolPtr handle; /* a reference of the cache's own */
} vf_lv_pool_seen;

/* A volume's format as the last observe read it. */
typedef struct vf_lv_vol_format {
	char *pool;
	char *name;
	char *format;             /* <target><format type>; NULL when it has none */
	bool valid;               /* false once this connection created or deleted it */
} vf_lv_vol_format;

struct vf_conn {
	virConnectPtr conn;
	char *uri;                /* virConnectGetURI() */
	char *hv_type;            /* virConnectGetType(): "QEMU", "TEST", ... */
	bool is_test;             /* libvirt's built-in test driver */
	int netupdate_order;      /* virNetworkUpdate's argument order, probed once: 0 unknown, 1 right, -1 swapped */
	bool keepalive;           /* libvirt's keepalive runs on it (remote transports, loop running) */
	bool serial;              /* one call at a time on it (vf_lv__calls_may_overlap) */
	bool local_known;         /* `local` was worked out (vf_lv_files_local) */
	bool local;               /* the far end is this machine, by its host UUID */
	/* Per observe cycle, reset by vf_lv_observe: saves a round trip per
	 * object while converging. */
	vf_lv_pool_seen *pools_seen; /* refreshed since the observe */
	size_t n_pools_seen, cap_pools_seen;
	vf_lv_vol_format *formats;   /* sorted by (pool, name) */
	size_t n_formats;
	char *caps;               /* capabilities host_identity read, for the observe that follows
				   * it (one call per reconcile, not two); taken by that observe */
};

/* ---- conn.c: connection and libvirt errors ------------------------------- */

/* libvirt's keepalive on every connection that supports it: a ping after
 * 5 s of silence, and the connection is closed when 3 in a row go
 * unanswered, so a call on a dead peer fails in about 20 s
 * (docs/virtform.1, CONNECTIONS). */
#define VF_LV_KEEPALIVE_INTERVAL_S 5
#define VF_LV_KEEPALIVE_COUNT 3u
/* ...but a ping every second over qemu+libssh://, and 15 unanswered in a
 * row, so a dead peer still fails a call in about 16 s. libvirt 9.0's
 * libssh transport leaves a reply libssh has already buffered unread
 * until something else arrives on the socket: the answer to the next
 * ping. A second's wait per such reply instead of five: a plan of a
 * small tree takes 2.3 s instead of 10.3 s (docs/virtform.1). */
#define VF_LV_LIBSSH_KEEPALIVE_INTERVAL_S 1
#define VF_LV_LIBSSH_KEEPALIVE_COUNT 15u
/* The keepalive for a connection opened on `uri` (NULL: the default). */
void vf_lv__keepalive_for(const char *uri, int *interval_s, unsigned *count);
/* Whether virtform may have several calls in flight at once on a
 * connection opened on `uri` (observe's parallel reads). Not over
 * qemu+libssh://: Debian 12's libvirt 9.0 libssh client dies of SIGSEGV
 * in its RPC event loop, or never returns, within seconds when two
 * threads' calls overlap on one connection (tests/tools/libssh_overlap.c
 * shows it with libvirt's API alone; bookworm-backports' 11.3 crashed too,
 * less often; docs/virtform.1, CONNECTIONS). Every other transport: yes. */
bool vf_lv__calls_may_overlap(const char *uri);

int vf_lv_open(const char *uri, const vf_conn_opts *opts, vf_conn **out, vf_error *err);
/* virConnectOpen(uri) (NULL: libvirt's default; readonly:
 * virConnectOpenReadOnly) with keepalive, giving up after timeout_s (0:
 * never) with VF_E_CONNECTION; libvirt's refusal is VF_E_DRIVER.
 * *ret_keepalive (may be NULL): the keepalive took. Every connection the
 * driver opens goes through here. */
int vf_lv__open_bounded(const char *uri, bool readonly, unsigned timeout_s, virConnectPtr *out,
			bool *ret_keepalive, vf_error *err);
void vf_lv_close(vf_conn *c);
const char *vf_lv_uri(vf_conn *c);
bool vf_lv_files_local(vf_conn *c);
/* The host's UUID (and whether it is the machine's own), name and URI. */
int vf_lv_host_identity(vf_conn *c, vf_host_id *out, vf_error *err);
/* Does `uri` name this machine by its spelling alone (no host part)? A
 * URI with a host, even localhost, is decided by vf_lv_files_local. */
bool vf_lv_uri_local(const char *uri);

/* The per-observe caches: vf_lv__cycle_reset empties both and takes the
 * formats of `o`'s volumes. */
void vf_lv__cycle_reset(vf_conn *c, const vf_observed *o);
/* The pool's entry when it was refreshed this cycle, else NULL. */
const vf_lv_pool_seen *vf_lv__pool_seen(vf_conn *c, const char *pool);
/* Record that `pool` was refreshed, its type and a handle (the cache takes
 * a reference of its own). */
void vf_lv__pool_mark_seen(vf_conn *c, const char *pool, const char *type,
			   virStoragePoolPtr handle);
/* The cached format entry of volume pool/name, or NULL when not known
 * (then ask libvirt). */
const vf_lv_vol_format *vf_lv__format_cached(vf_conn *c, const char *pool, const char *name);
/* Forget pool/name: this connection created or deleted it. */
void vf_lv__format_forget(vf_conn *c, const char *pool, const char *name);
/* Remember pool/name's format (NULL: none): this connection created it
 * so, and the next domain defined on it needs no lookup. */
void vf_lv__format_remember(vf_conn *c, const char *pool, const char *name, const char *format);
/* Forget all the cycle knows of a pool this connection (re)defines or
 * removes: its refresh, its type, its volumes' formats. */
void vf_lv__pool_forget(vf_conn *c, const char *pool);

/* Is the connection gone (libvirtd went away, the keepalive gave up, the
 * tunnel closed)? Like every libvirt call, resets the thread's last
 * error: read the message first. */
bool vf_lv__lost(vf_conn *c);
/* r as a table member returns it, with a VF_E_DRIVER failure turned into
 * VF_E_CONNECTION (err's message kept) when the connection is lost. */
int vf_lv__classify(vf_conn *c, vf_error *err, int r);

/* libvirt's last error on this thread: its message (never NULL) and code. */
const char *vf_lv__msg(void);
int vf_lv__code(void);

/* Every libvirt call observation makes goes through this, so the watch
 * daemon can say how many calls an event costs (observe.c counts). */
void vf_lv__count_call(void);
#define VF_LV_CALL(call) (vf_lv__count_call(), (call))

/* ---- cleanup helpers ------------------------------------------------------ */

static inline void vf_lv__domp(virDomainPtr *p)
{
	if (*p)
		virDomainFree(*p);
}
static inline void vf_lv__poolp(virStoragePoolPtr *p)
{
	if (*p)
		virStoragePoolFree(*p);
}
static inline void vf_lv__volp(virStorageVolPtr *p)
{
	if (*p)
		virStorageVolFree(*p);
}
static inline void vf_lv__docp(xmlDocPtr *p)
{
	if (*p)
		xmlFreeDoc(*p);
}
static inline void vf_lv__xctxp(xmlXPathContextPtr *p)
{
	if (*p)
		xmlXPathFreeContext(*p);
}
static inline void vf_lv__xobjp(xmlXPathObjectPtr *p)
{
	if (*p)
		xmlXPathFreeObject(*p);
}
#define _cleanup_dom_ _cleanup_(vf_lv__domp)
#define _cleanup_pool_ _cleanup_(vf_lv__poolp)
#define _cleanup_vol_ _cleanup_(vf_lv__volp)
#define _cleanup_doc_ _cleanup_(vf_lv__docp)
#define _cleanup_xctx_ _cleanup_(vf_lv__xctxp)
#define _cleanup_xobj_ _cleanup_(vf_lv__xobjp)

/* ---- xml.c: small libxml2 helpers ----------------------------------------- */

/* Parse without network access, entity expansion or printing; NULL on error. */
xmlDocPtr vf_lv__xml_read(const char *text);
/* libxml2's last parse error as one line (borrowed; never NULL). */
const char *vf_lv__xml_last_error(void);
/* The XPath `expr` evaluated with `at` as context node (NULL: the root),
 * as a string; NULL when it is empty or absent. */
char *vf_lv__xstr(xmlXPathContextPtr ctx, xmlNodePtr at, const char *expr);
/* Nodes matching `expr` from `at`; caller frees the result. */
xmlXPathObjectPtr vf_lv__xnodes(xmlXPathContextPtr ctx, xmlNodePtr at, const char *expr);
bool vf_lv__xbool(xmlXPathContextPtr ctx, xmlNodePtr at, const char *expr);
/* An element holding a number with an optional `unit` attribute, in bytes;
 * `dflt_unit` is the multiplier when there is no unit. false when absent. */
bool vf_lv__xsize(xmlXPathContextPtr ctx, xmlNodePtr at, const char *expr,
		  uint64_t dflt_unit, uint64_t *out);

/* Tree building that escapes: a child element with optional text, an attribute. */
xmlNodePtr vf_lv__add(xmlNodePtr parent, const char *name, const char *text);
/* parent's first child element `name` in no namespace; NULL none. */
xmlNodePtr vf_lv__child(xmlNodePtr parent, const char *name);
void vf_lv__attr(xmlNodePtr node, const char *name, const char *value);
void vf_lv__attrf(xmlNodePtr node, const char *name, const char *fmt, ...) VF_PRINTF(3, 4);

/* ---- xml.c, continued: what every kind's XML uses ----------------------- */

/* A parsed document with an XPath context; both freed by cleanup. */
typedef struct vf_lv_xdoc {
	xmlDocPtr doc;
	xmlXPathContextPtr ctx;
} vf_lv_xdoc;

void vf_lv__xdoc_free(vf_lv_xdoc *x);
/* Parse `xml` (`what` names it in the message) with an XPath context. */
int vf_lv__xdoc_open(vf_lv_xdoc *x, const char *xml, const char *what, vf_error *err);
/* The integer at `expr` in `base`; dflt when absent or not a number. */
int64_t vf_lv__xint(xmlXPathContextPtr ctx, xmlNodePtr at, const char *expr, int base,
		    int64_t dflt);
/* <target><permissions> of a pool or volume; -1 for what is absent. */
void vf_lv__read_perms(xmlXPathContextPtr ctx, int64_t *owner, int64_t *group, int32_t *mode);
/* A new document with its root element; serialised and freed. */
xmlDocPtr vf_lv__new_doc(const char *root_name, xmlNodePtr *root);
char *vf_lv__dump_free(xmlDocPtr doc);
/* <target><permissions> and <uuid> written. */
void vf_lv__perms(xmlNodePtr target, const vf_perms *p);
void vf_lv__uuid(xmlNodePtr root, const uuid_t uuid);
/* The capabilities offer type='kvm' guests for the host's architecture. */
bool vf_lv__caps_have_kvm(const char *caps_xml);
/* 1u << vf_domain_type for each of kvm, qemu, lxc offered on the host's arch. */
unsigned vf_lv__caps_domain_types(const char *caps_xml);
/* A pool's type from its XML ("dir", "logical", ...); NULL unknown. */
char *vf_lv__pool_type(const char *pool_xml);

/* ---- each kind's XML: pool.c, volume.c, domain_xml.c -------------------- */

int vf_lv__parse_pool(const char *xml, vf_obs_pool *p, vf_error *err);
int vf_lv__parse_volume(const char *xml, vf_obs_volume *v, vf_error *err);
int vf_lv__parse_domain(const char *xml, vf_obs_domain *d, vf_error *err);
/* A volume's XML: <target><format type> (volume.c). */
char *vf_lv__vol_format(const char *vol_xml);

/* What the domain XML needs that only libvirt or the host knows, per disk. */
typedef struct vf_lv_disk_info {
	char *format;             /* volume disks: the volume's format; NULL unknown */
	bool block;               /* path disks: a block device */
} vf_lv_disk_info;

char *vf_lv__pool_xml(const vf_object *pool);
/* with_format: the pool stores files, so the volume's format applies. */
char *vf_lv__volume_xml(const vf_object *vol, bool with_format, const char *backing_path,
			const char *backing_format);
char *vf_lv__domain_xml(const vf_object *dom, const char *type, const vf_lv_disk_info *disks);
/* spec.xml with a UUID when it has none and virtform's metadata element. */
int vf_lv__domain_xml_raw(const vf_object *dom, char **out, vf_error *err);

/* ---- container_xml.c: what only a container's domain XML has ------------- */
void vf_lv__container_os(xmlNodePtr os, const vf_domain_spec *s);
void vf_lv__container_idmap(xmlNodePtr root, const vf_domain_spec *s);
void vf_lv__container_devices(xmlNodePtr devs, const vf_domain_spec *s);
void vf_lv__container_console(xmlNodePtr devs);
/* init, its arguments and environment, filesystems and idmap into d */
void vf_lv__parse_container(xmlXPathContextPtr ctx, vf_obs_domain *d);
/* <virtform:owner name="..."/> (and virtform:seed) under `metadata`
 * (domain_xml.c; networks use it too). */
void vf_lv__owner(xmlNodePtr metadata, const char *name, const char *seed_hash);

/* ---- network.c: networks and the host's interfaces ---------------------- */

/* network_xml.c: the whole document, and one DNS element for virNetworkUpdate */
char *vf_lv__network_xml(const vf_object *net);
xmlNodePtr vf_lv__net_dns_host(xmlNodePtr parent, const vf_net_dns_host *h);
xmlNodePtr vf_lv__net_srv(xmlNodePtr parent, const vf_net_srv *s);
xmlNodePtr vf_lv__net_txt(xmlNodePtr parent, const vf_net_txt *t);
/* `base` (NULL: spec.xml) with a UUID when it has none and virtform's
 * owner element, holding the record of a define when `normalised` is
 * given. */
int vf_lv__network_xml_raw(const vf_object *net, const char *base, const char *normalised, char **out,
			   vf_error *err);
/* A <network> document into d (its description) and *managed. */
int vf_lv__parse_network(const char *xml, vf_net_def *d, bool *managed, vf_error *err);
/* One network into the cache o (observe_object). */
int vf_lv__observe_one_network(vf_conn *c, const vf_obj_ref *ref, bool fresh, vf_observed *o,
			       vf_error *err);
/* Every network, and the host's interfaces, into o. */
int vf_lv__observe_networks(vf_conn *c, vf_observed *o, vf_error *err);
/* hostif.c: the host's interfaces and addresses into o (best effort: an
 * interface listing the host refuses leaves o->hostifs empty). */
void vf_lv__observe_hostifs(vf_conn *c, vf_observed *o);
/* The probe's answer (virNetworkUpdate's result r and libvirt's message):
 * did the server read command and section swapped? */
bool vf_lv__netupdate_swapped(int r, const char *msg);
int vf_lv_network_define(vf_conn *c, const vf_object *net, vf_error *err);
int vf_lv_network_start(vf_conn *c, const char *name, vf_error *err);
int vf_lv_network_stop(vf_conn *c, const char *name, vf_error *err);
/* ---- fence.c: the fleet's driver ops (docs/fleet.md) -------------------- */
int vf_lv_domain_destroy(vf_conn *c, const char *name, vf_error *err);
int vf_lv_domain_start_paused(vf_conn *c, const char *name, vf_error *err);
int vf_lv_domain_set_fence(vf_conn *c, const char *name, const char *host, uint64_t token,
			   vf_error *err);
int vf_lv_domain_pid(vf_conn *c, const char *name, int *pid, unsigned long long *starttime,
		     vf_error *err);

int vf_lv_network_set_autostart(vf_conn *c, const char *name, bool on, vf_error *err);
int vf_lv_network_update_live(vf_conn *c, const vf_object *net, vf_error *err);
int vf_lv_network_restart(vf_conn *c, const char *name, vf_error *err);
int vf_lv_network_undefine(vf_conn *c, const char *name, vf_error *err);

/* ---- xml_record.c: the record of a raw-XML define ----------------------- */

/* Remove virtform's elements from the root's <metadata> (and <metadata>
 * when nothing else is left in it), then serialise the root as it stands:
 * the form the record's `normalised` document and its live counterpart
 * are compared in. Changes doc. */
char *vf_lv__record_strip_dump(xmlDocPtr doc);
/* vf_lv__record_strip_dump of doc into *ret_bare and its SHA-256 (hex)
 * into *ret_digest (both NULL when doc has no root); changes doc. Any
 * kind's live XML, for comparing with vf_xml_record.normalised_digest. */
void vf_lv__record_bare(xmlDocPtr doc, char **ret_bare, char **ret_digest);
/* The record under virtform's owner element, into *out: its two digests
 * (checked to be 64 hex digits: they name files in the state directory);
 * the texts too when the record is an older one that carried them inline.
 * false (out untouched) when there is none or only part of one. */
bool vf_lv__record_read(const xmlNode *owner, vf_xml_record *out);
/* <owner name=NAME><applied sha256=DIGEST normalised=NORMALISED_DIGEST/>
 * </owner>, unqualified, for a kind's SetMetadata call (which puts the
 * root in VF_METADATA_NS itself and refuses a root that declares it).
 * Caller frees. */
char *vf_lv__record_owner_xml(const char *name, const char *digest, const char *normalised_digest);
/* Read back domain d's inactive XML just defined from spec.xml and record
 * the digest of that spec.xml and of what libvirt made of it in virtform's
 * metadata element (persistent configuration only). */
/* A pool's inactive XML without the live figures (capacity, allocation,
 * available) into *ret_bare and its digest; both NULL when it does not
 * parse. */
void vf_lv__record_pool_bare(const char *xml, char **ret_bare, char **ret_digest);
int vf_lv__record_domain(virDomainPtr d, const char *name, const char *digest, vf_error *err);

/* ---- the table members (observe.c, domain.c, pool.c, volume.c) ---------- */

int vf_lv_observe(vf_conn *c, vf_observed *out, vf_error *err);
int vf_lv_observe_object(vf_conn *c, const vf_obj_ref *ref, bool fresh, vf_observed *o,
			 vf_error *err);
uint64_t vf_lv_observe_calls(void);

int vf_lv_domain_define(vf_conn *c, const vf_object *dom, vf_domain_type type, vf_error *err);
int vf_lv_domain_start(vf_conn *c, const char *name, vf_error *err);
int vf_lv_domain_shutdown(vf_conn *c, const char *name, unsigned timeout_s, vf_error *err);
int vf_lv_domain_suspend(vf_conn *c, const char *name, vf_error *err);
int vf_lv_domain_resume(vf_conn *c, const char *name, vf_error *err);
int vf_lv_domain_set_autostart(vf_conn *c, const char *name, bool on, vf_error *err);
int vf_lv_domain_set_vcpus_live(vf_conn *c, const char *name, uint32_t vcpus, vf_error *err);
int vf_lv_domain_set_memory_live(vf_conn *c, const char *name, uint64_t bytes, vf_error *err);
int vf_lv_domain_undefine(vf_conn *c, const char *name, bool keep_nvram, vf_error *err);

int vf_lv_pool_define(vf_conn *c, const vf_object *pool, vf_error *err);
int vf_lv_pool_start(vf_conn *c, const char *name, vf_error *err);
int vf_lv_pool_stop(vf_conn *c, const char *name, vf_error *err);
int vf_lv_pool_set_autostart(vf_conn *c, const char *name, bool on, vf_error *err);
int vf_lv_pool_undefine(vf_conn *c, const char *name, bool delete_data, vf_error *err);
int vf_lv_pool_record(vf_conn *c, const char *name, char **ret_digest, vf_error *err);
/* The pool's XML; inactive when the driver supports the flag. NULL on error. */
char *vf_lv__pool_xml_desc(virStoragePoolPtr p);

int vf_lv_volume_create(vf_conn *c, const vf_object *vol, vf_error *err);
int vf_lv_volume_resize(vf_conn *c, const char *pool, const char *name, uint64_t capacity,
			vf_error *err);
int vf_lv_volume_delete(vf_conn *c, const char *pool, const char *name, vf_error *err);
int vf_lv_volume_path(vf_conn *c, const char *pool, const char *name, char **path,
		      vf_error *err);
int vf_lv_volume_upload(vf_conn *c, const vf_object *vol, const char *local_file,
			vf_error *err);
int vf_lv_volume_clone(vf_conn *c, const vf_object *vol, vf_error *err);

/* ---- observation: listing.c, and each kind's file ------------------------- */

/* The UUIDs a filtered listing returned, sorted; `known` is false when the
 * driver refused the listing (then each object is asked on its own). */
typedef struct vf_lv_set {
	unsigned char (*uuids)[VIR_UUID_BUFLEN];
	size_t n;
	bool known;
} vf_lv_set;

/* Pools: which are active, autostarted, persistent. */
typedef struct vf_lv_pool_sets {
	vf_lv_set active, autostart, persistent;
} vf_lv_pool_sets;

/* Every active pool's volumes, listed pool by pool, then read all at once
 * (a host's volumes are often spread thinly over many pools). */
typedef struct vf_lv_vol_job {
	virStorageVolPtr *vols;
	const char **pool_names;  /* borrowed from the pools' handles */
	size_t n, cap;
	vf_obs_volume *slots;     /* .pool set: read; else it vanished meanwhile */
	vf_error *errs;
} vf_lv_vol_job;

/* One domain's record; has_* false when the driver did not report it. */
typedef struct vf_lv_dom_stats {
	unsigned char uuid[VIR_UUID_BUFLEN];
	bool has_state, has_vcpus, has_memory;
	int reason;
	int state;
	unsigned vcpus;           /* vcpu.current */
	unsigned max_vcpus;       /* vcpu.maximum; 0 unknown */
	unsigned long long memory_kib; /* balloon.current */
	unsigned long long max_memory_kib; /* balloon.maximum; 0 unknown */
} vf_lv_dom_stats;

/* Domains: which are active, autostarted, persistent, and their stats
 * sorted by UUID (n_stats 0 when the driver has no bulk statistics). */
typedef struct vf_lv_dom_facts {
	vf_lv_set active, autostart, persistent;
	vf_lv_dom_stats *stats;
	size_t n_stats;
} vf_lv_dom_facts;

/* fn(ctx, i) for every i in [0, n), on a few threads (the caller's among
 * them), or on the caller's alone when c is serial; returns when all are
 * done. fn writes only to slot i of ctx. */
void vf_lv__parallel(const vf_conn *c, size_t n, void (*fn)(void *ctx, size_t i), void *ctx);
/* The first error in listing order moved into *err (its -code; 0 none). Frees errs. */
int vf_lv__first_error(vf_error *errs, size_t n, vf_error *err);
/* The object vanished between the listing and the look at it. */
bool vf_lv__vanished(void);
int vf_lv__uuid_cmp(const void *a, const void *b);
void vf_lv__domain_set(virConnectPtr conn, unsigned flags, vf_lv_set *out);
void vf_lv__pool_set(virConnectPtr conn, unsigned flags, vf_lv_set *out);
/* 1 in the set, 0 not, -1 the set is not known. */
int vf_lv__set_has(const vf_lv_set *s, const unsigned char *uuid);

/* pool.c: one pool into o (with what its directory holds), its volumes
 * listed into vols when it is active. */
int vf_lv__observe_pool(virStoragePoolPtr pool, const vf_lv_pool_sets *sets, bool files_local,
			bool refresh, vf_observed *o, size_t *cap, vf_lv_vol_job *vols, vf_error *err);
/* One pool (with its volumes and directory) into the cache o; refresh it
 * first when `fresh` (pool.c). */
int vf_lv__observe_one_pool(vf_conn *c, const vf_obj_ref *ref, bool fresh, vf_observed *o,
			    vf_error *err);
/* volume.c: list pool's volumes into j; read them all, a few at once, into o.
 * Without `refresh`, libvirt's listing as it is. With it, and `entries`
 * (sorted, n_entries: what the pool's directory holds, read just now),
 * the pool is refreshed first only when libvirt's names differ from them;
 * with entries NULL, refreshed first, always. */
int vf_lv__list_volumes(virStoragePoolPtr pool, const char *pool_name, bool refresh,
			char *const *entries, size_t n_entries, vf_lv_vol_job *j, vf_error *err);
/* qsort/bsearch comparator of two char * */
int vf_lv__str_cmp(const void *a, const void *b);
int vf_lv__read_volumes(const vf_conn *c, vf_lv_vol_job *j, vf_observed *o, vf_error *err);
void vf_lv__vol_job_free(vf_lv_vol_job *j);
/* domain.c: the bulk statistics into f; every domain, a few at once, into o. */
void vf_lv__domain_stats(virConnectPtr conn, vf_lv_dom_facts *f);
void vf_lv__dom_facts_free(vf_lv_dom_facts *f);
int vf_lv__observe_domains(const vf_conn *c, virDomainPtr *doms, size_t n,
			   const vf_lv_dom_facts *facts, vf_observed *o, vf_error *err);
/* One domain into the cache o, by UUID or name (domain.c). */
int vf_lv__observe_one_domain(vf_conn *c, const vf_obj_ref *ref, bool fresh, vf_observed *o,
			      vf_error *err);

/* ---- events.c: the event driver's members (the watch daemon's source) ---- */

int vf_lv_event_loop_start(vf_error *err);
void vf_lv_event_loop_stop(void);
int vf_lv_events_open(const char *uri, vf_event_source **out, vf_error *err);
int vf_lv_events_fd(const vf_event_source *s);
void vf_lv_events_take(vf_event_source *s, vf_event_report *out);
bool vf_lv_events_alive(vf_event_source *s);
void vf_lv_events_close(vf_event_source *s);
