/* network.c: the hypervisor driver's network operations: define, start,
 * stop, autostart, undefine; the live update of DHCP and DNS entries
 * through virNetworkUpdate (with a probe for the old swapped-argument
 * bug); a restart that puts running guests' interfaces back on the
 * bridge; and observing every network. Not for the XML itself
 * (network_xml.c) or the host's interfaces (hostif.c). */
#include <errno.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/sockios.h>

#include "lv.h"

static inline void vf_lv__netp(virNetworkPtr *p)
{
	if (*p)
		virNetworkFree(*p);
}
#define _cleanup_net_ _cleanup_(vf_lv__netp)

static int vf_lv__net_lookup(vf_conn *c, const char *name, const char *what, virNetworkPtr *out,
			     vf_error *err)
{
	*out = virNetworkLookupByName(c->conn, name);
	if (!*out)
		return vf_error_set(err, VF_E_DRIVER, "cannot %s network \"%s\": %s", what, name,
				    vf_lv__msg());
	return 0;
}

/* The network's inactive XML; its only XML where the driver has no such
 * flag (the test driver). NULL on error. */
static char *vf_lv__net_xml_desc(virNetworkPtr n)
{
	char *xml = virNetworkGetXMLDesc(n, VIR_NETWORK_XML_INACTIVE);
	if (!xml && (vf_lv__code() == VIR_ERR_INVALID_ARG || vf_lv__code() == VIR_ERR_NO_SUPPORT))
		xml = virNetworkGetXMLDesc(n, 0);
	return xml;
}

static int vf_lv__net_define_xml(vf_conn *c, const char *name, const char *xml, virNetworkPtr *out,
				 vf_error *err)
{
	*out = virNetworkDefineXML(c->conn, xml);
	if (!*out)
		return vf_error_set(err, VF_E_DRIVER, "cannot define network \"%s\": %s", name, vf_lv__msg());
	return 0;
}

/* spec.xml: define it, read back what libvirt made of it, and define that
 * again carrying the record (docs/concepts.md, "Raw XML: three ways"):
 * libvirt's document, not spec.xml, or it would fill in what spec.xml
 * leaves out (a random MAC) anew, unlike the first time. */
static int vf_lv__net_define_raw(vf_conn *c, const vf_object *o, vf_error *err)
{
	_cleanup_free_ char *first = NULL, *second = NULL, *back = NULL, *normalised = NULL;
	_cleanup_net_ virNetworkPtr n = NULL, m = NULL;
	int r = vf_lv__network_xml_raw(o, NULL, NULL, &first, err);
	if (r == 0)
		r = vf_lv__net_define_xml(c, o->name, first, &n, err);
	if (r < 0)
		return r;
	back = vf_lv__net_xml_desc(n);
	_cleanup_doc_ xmlDocPtr doc = back ? vf_lv__xml_read(back) : NULL;
	if (!doc)
		return vf_error_set(err, VF_E_DRIVER,
				    "network \"%s\" was defined, but its XML could not be read back to record it: %s",
				    o->name, back ? vf_lv__xml_last_error() : vf_lv__msg());
	normalised = vf_lv__record_strip_dump(doc);
	r = vf_lv__network_xml_raw(o, normalised, normalised, &second, err);
	if (r == 0)
		r = vf_lv__net_define_xml(c, o->name, second, &m, err);
	return r;
}

int vf_lv_network_define(vf_conn *c, const vf_object *o, vf_error *err)
{
	if (o->u.network.xml)
		return vf_lv__net_define_raw(c, o, err);
	_cleanup_free_ char *xml = vf_lv__network_xml(o);
	_cleanup_net_ virNetworkPtr n = NULL;
	return vf_lv__net_define_xml(c, o->name, xml, &n, err);
}

int vf_lv_network_start(vf_conn *c, const char *name, vf_error *err)
{
	_cleanup_net_ virNetworkPtr n = NULL;
	int r = vf_lv__net_lookup(c, name, "start", &n, err);
	if (r < 0 || virNetworkIsActive(n) == 1)
		return r;
	if (virNetworkCreate(n) < 0)
		return vf_error_set(err, VF_E_DRIVER, "cannot start network \"%s\": %s", name,
				    vf_lv__msg());
	return 0;
}

int vf_lv_network_stop(vf_conn *c, const char *name, vf_error *err)
{
	_cleanup_net_ virNetworkPtr n = NULL;
	int r = vf_lv__net_lookup(c, name, "stop", &n, err);
	if (r < 0 || virNetworkIsActive(n) == 0)
		return r;
	if (virNetworkDestroy(n) < 0)
		return vf_error_set(err, VF_E_DRIVER, "cannot stop network \"%s\": %s", name,
				    vf_lv__msg());
	return 0;
}

int vf_lv_network_set_autostart(vf_conn *c, const char *name, bool on, vf_error *err)
{
	_cleanup_net_ virNetworkPtr n = NULL;
	int r = vf_lv__net_lookup(c, name, "set autostart of", &n, err);
	if (r == 0 && virNetworkSetAutostart(n, on ? 1 : 0) < 0)
		r = vf_error_set(err, VF_E_DRIVER, "cannot set autostart of network \"%s\": %s", name,
				 vf_lv__msg());
	return r;
}

int vf_lv_network_undefine(vf_conn *c, const char *name, vf_error *err)
{
	_cleanup_net_ virNetworkPtr n = NULL;
	int r = vf_lv__net_lookup(c, name, "undefine", &n, err);
	if (r < 0)
		return r;
	if (virNetworkIsActive(n) == 1 && virNetworkDestroy(n) < 0)
		return vf_error_set(err, VF_E_DRIVER, "cannot stop network \"%s\": %s", name,
				    vf_lv__msg());
	if (virNetworkIsPersistent(n) == 1 && virNetworkUndefine(n) < 0)
		return vf_error_set(err, VF_E_DRIVER, "cannot undefine network \"%s\": %s", name,
				    vf_lv__msg());
	return 0;
}

/* ---- virNetworkUpdate, and its argument order ------------------------------ */

/* Old libvirt (servers before the fix, and clients that do not check the
 * server's VIR_DRV_FEATURE_NETWORK_UPDATE_HAS_CORRECT_ORDER) carried
 * command and section swapped in the remote protocol, and the fix was
 * backported unevenly, so the version number proves nothing. Probe
 * instead, with a call that changes nothing either way: deleting a TXT
 * record that does not exist. In the right order libvirt looks for it and
 * says it found no such TXT record; swapped, it reads command 11 on
 * section 2 (the domain) and refuses to update that section. */
bool vf_lv__netupdate_swapped(int r, const char *msg)
{
	/* right: "couldn't locate a matching DNS TXT record"; swapped:
	 * "can't update 'domain' section of network"; anything else (no
	 * support, say) proves nothing and keeps the documented order */
	return r < 0 && msg && strstr(msg, "'domain' section") != NULL;
}

static int vf_lv__netupdate_probe(vf_conn *c, virNetworkPtr n)
{
	if (c->netupdate_order)
		return c->netupdate_order;
	int r = virNetworkUpdate(n, VIR_NETWORK_UPDATE_COMMAND_DELETE, VIR_NETWORK_SECTION_DNS_TXT, -1,
				 "<txt name='virtform-probe.invalid' value='x'/>",
				 VIR_NETWORK_UPDATE_AFFECT_CONFIG);
	bool swapped = vf_lv__netupdate_swapped(r, r < 0 ? vf_lv__msg() : NULL);
	c->netupdate_order = swapped ? -1 : 1;
	return c->netupdate_order;
}

static int vf_lv__netupdate(vf_conn *c, virNetworkPtr n, const char *name, unsigned command,
			    unsigned section, int parent, const char *xml, vf_error *err)
{
	unsigned flags = VIR_NETWORK_UPDATE_AFFECT_LIVE | VIR_NETWORK_UPDATE_AFFECT_CONFIG;
	int r = vf_lv__netupdate_probe(c, n) < 0
		? virNetworkUpdate(n, section, command, parent, xml, flags)
		: virNetworkUpdate(n, command, section, parent, xml, flags);
	if (r < 0)
		return vf_error_set(err, VF_E_DRIVER, "cannot update network \"%s\" live (%s): %s", name,
				    xml, vf_lv__msg());
	return 0;
}

/* One element alone, serialised; fn builds it under a scratch parent. */
static char *vf_lv__net_elem(xmlNodePtr (*fn)(xmlNodePtr, const void *), const void *item)
{
	xmlNodePtr root;
	xmlDocPtr doc = vf_lv__new_doc("dns", &root);
	xmlNodePtr e = fn(root, item);
	xmlUnlinkNode(e);
	xmlFreeNode(xmlDocSetRootElement(doc, e));
	return vf_lv__dump_free(doc);
}

static xmlNodePtr vf_lv__e_host(xmlNodePtr p, const void *x)
{
	return vf_lv__net_dns_host(p, x);
}
static xmlNodePtr vf_lv__e_srv(xmlNodePtr p, const void *x)
{
	return vf_lv__net_srv(p, x);
}
static xmlNodePtr vf_lv__e_txt(xmlNodePtr p, const void *x)
{
	return vf_lv__net_txt(p, x);
}
static xmlNodePtr vf_lv__e_range(xmlNodePtr p, const void *x)
{
	const vf_net_range *r = x;
	xmlNodePtr n = vf_lv__add(p, "range", NULL);
	vf_lv__attr(n, "start", r->start);
	vf_lv__attr(n, "end", r->end);
	return n;
}
static xmlNodePtr vf_lv__e_dhcp_host(xmlNodePtr p, const void *x)
{
	const vf_net_host *h = x;
	xmlNodePtr n = vf_lv__add(p, "host", NULL);
	if (h->mac)
		vf_lv__attr(n, "mac", h->mac);
	if (h->name)
		vf_lv__attr(n, "name", h->name);
	vf_lv__attr(n, "ip", h->ip);
	return n;
}

/* Elements of one section as XML text, to compare as sets. */
typedef struct vf_lv_items {
	char **v;
	size_t n, cap;
} vf_lv_items;

static void vf_lv__items_free(vf_lv_items *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static bool vf_lv__items_has(const vf_lv_items *l, const char *s)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i], s) == 0)
			return true;
	return false;
}

#define VF_LV_ITEMS(list, arr, count, fn)                                      \
	do {                                                                   \
		for (size_t i_ = 0; i_ < (count); i_++) {                      \
			char *s_ = vf_lv__net_elem((fn), &(arr)[i_]);          \
			VF_APPEND((list).v, (list).n, (list).cap, s_);         \
		}                                                              \
	} while (0)

/* Make one section's live elements `have` those of `want`: delete what
 * is not wanted, then add what is missing (a changed entry is both). */
static int vf_lv__net_sync(vf_conn *c, virNetworkPtr n, const char *name, unsigned section,
			   int parent, vf_lv_items *have, vf_lv_items *want, vf_error *err)
{
	int r = 0;
	for (size_t i = 0; i < have->n && r == 0; i++)
		if (!vf_lv__items_has(want, have->v[i]))
			r = vf_lv__netupdate(c, n, name, VIR_NETWORK_UPDATE_COMMAND_DELETE, section, parent,
					     have->v[i], err);
	for (size_t i = 0; i < want->n && r == 0; i++)
		if (!vf_lv__items_has(have, want->v[i]))
			r = vf_lv__netupdate(c, n, name, VIR_NETWORK_UPDATE_COMMAND_ADD_LAST, section, parent,
					     want->v[i], err);
	vf_lv__items_free(have);
	vf_lv__items_free(want);
	return r;
}

int vf_lv_network_update_live(vf_conn *c, const vf_object *o, vf_error *err)
{
	_cleanup_net_ virNetworkPtr n = NULL;
	int r = vf_lv__net_lookup(c, o->name, "update", &n, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *xml = vf_lv__net_xml_desc(n);
	if (!xml)
		return vf_error_set(err, VF_E_DRIVER, "cannot read network \"%s\": %s", o->name, vf_lv__msg());
	vf_net_def have = { 0 };
	bool managed;
	r = vf_lv__parse_network(xml, &have, &managed, err);
	const vf_net_def *want = &o->u.network.def;
	for (size_t i = 0; r == 0 && i < want->n_ips; i++) {
		const vf_net_ip *wi = &want->ips[i];
		int parent = -1;
		for (size_t k = 0; k < have.n_ips; k++)
			if (have.ips[k].family == wi->family && vf_streq(have.ips[k].address, wi->address))
				parent = (int)k;
		if (parent < 0)
			continue; /* a new address: a redefine, not this */
		const vf_net_ip *hi = &have.ips[parent];
		vf_lv_items h = { 0 }, w = { 0 };
		VF_LV_ITEMS(h, hi->hosts, hi->n_hosts, vf_lv__e_dhcp_host);
		VF_LV_ITEMS(w, wi->hosts, wi->n_hosts, vf_lv__e_dhcp_host);
		r = vf_lv__net_sync(c, n, o->name, VIR_NETWORK_SECTION_IP_DHCP_HOST, parent, &h, &w, err);
		vf_lv_items hr = { 0 }, wr = { 0 };
		VF_LV_ITEMS(hr, hi->ranges, hi->n_ranges, vf_lv__e_range);
		VF_LV_ITEMS(wr, wi->ranges, wi->n_ranges, vf_lv__e_range);
		if (r == 0)
			r = vf_lv__net_sync(c, n, o->name, VIR_NETWORK_SECTION_IP_DHCP_RANGE, parent, &hr, &wr, err);
		else
			vf_lv__items_free(&hr), vf_lv__items_free(&wr);
	}
	vf_lv_items a = { 0 }, b = { 0 };
	if (r == 0) {
		VF_LV_ITEMS(a, have.dns_hosts, have.n_dns_hosts, vf_lv__e_host);
		VF_LV_ITEMS(b, want->dns_hosts, want->n_dns_hosts, vf_lv__e_host);
		r = vf_lv__net_sync(c, n, o->name, VIR_NETWORK_SECTION_DNS_HOST, -1, &a, &b, err);
	}
	if (r == 0) {
		VF_LV_ITEMS(a, have.srv, have.n_srv, vf_lv__e_srv);
		VF_LV_ITEMS(b, want->srv, want->n_srv, vf_lv__e_srv);
		r = vf_lv__net_sync(c, n, o->name, VIR_NETWORK_SECTION_DNS_SRV, -1, &a, &b, err);
	}
	if (r == 0) {
		VF_LV_ITEMS(a, have.txt, have.n_txt, vf_lv__e_txt);
		VF_LV_ITEMS(b, want->txt, want->n_txt, vf_lv__e_txt);
		r = vf_lv__net_sync(c, n, o->name, VIR_NETWORK_SECTION_DNS_TXT, -1, &a, &b, err);
	}
	vf_net_def_clear(&have);
	return r;
}

/* ---- restart: the guests come back on the bridge ----------------------------- */

/* Put tap `tap` on bridge `bridge` and bring it up (SIOCBRADDIF, as
 * libvirt's virNetDevBridgeAddPort does on this machine). */
static int vf_lv__tap_attach(const char *tap, const char *bridge, vf_error *err)
{
	int fd = socket(AF_LOCAL, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return vf_error_set(err, VF_E_DRIVER, "cannot open a socket to reattach %s: %s", tap,
				    strerror(errno));
	struct ifreq ifr = { 0 };
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", bridge);
	ifr.ifr_ifindex = (int)if_nametoindex(tap);
	int r = 0;
	if (!ifr.ifr_ifindex || (ioctl(fd, SIOCBRADDIF, &ifr) < 0 && errno != EBUSY))
		r = vf_error_set(err, VF_E_DRIVER, "cannot put the guest's interface %s back on bridge %s: %s",
				 tap, bridge, strerror(errno));
	struct ifreq up = { 0 };
	snprintf(up.ifr_name, sizeof(up.ifr_name), "%s", tap);
	if (r == 0 && ioctl(fd, SIOCGIFFLAGS, &up) == 0 && !(up.ifr_flags & IFF_UP)) {
		up.ifr_flags |= IFF_UP;
		ioctl(fd, SIOCSIFFLAGS, &up);
	}
	close(fd);
	return r;
}

/* Every running domain's interface on network `name`: its tap (local
 * host) back on `bridge`, or, remote, the interface updated in place so
 * libvirt reconnects it. */
static int vf_lv__net_reconnect(vf_conn *c, const char *name, const char *bridge, vf_error *err)
{
	virDomainPtr *doms = NULL;
	int nd = virConnectListAllDomains(c->conn, &doms, VIR_CONNECT_LIST_DOMAINS_ACTIVE);
	if (nd < 0)
		return vf_error_set(err, VF_E_DRIVER, "cannot list the running domains on network \"%s\": %s",
				    name, vf_lv__msg());
	int r = 0;
	bool local = vf_lv_files_local(c);
	for (int i = 0; i < nd; i++) {
		_cleanup_free_ char *xml = r == 0 ? virDomainGetXMLDesc(doms[i], 0) : NULL;
		_cleanup_(vf_lv__xdoc_free) vf_lv_xdoc x = { 0 };
		if (xml && vf_lv__xdoc_open(&x, xml, "a domain", err) == 0) {
			_cleanup_free_ char *expr = vf_asprintf(
				"/domain/devices/interface[@type='network'][source/@network='%s']", name);
			_cleanup_xobj_ xmlXPathObjectPtr ifs = vf_lv__xnodes(x.ctx, NULL, expr);
			for (int k = 0; r == 0 && ifs && ifs->nodesetval && k < ifs->nodesetval->nodeNr; k++) {
				xmlNodePtr ifn = ifs->nodesetval->nodeTab[k];
				_cleanup_free_ char *tap = vf_lv__xstr(x.ctx, ifn, "target/@dev");
				if (local && tap) {
					r = vf_lv__tap_attach(tap, bridge, err);
					continue;
				}
				xmlBufferPtr buf = xmlBufferCreate();
				xmlNodeDump(buf, x.doc, ifn, 0, 0);
				if (virDomainUpdateDeviceFlags(doms[i], (const char *)xmlBufferContent(buf),
							       VIR_DOMAIN_AFFECT_LIVE) < 0)
					r = vf_error_set(err, VF_E_DRIVER,
							 "cannot reconnect domain \"%s\" to network \"%s\": %s",
							 virDomainGetName(doms[i]), name, vf_lv__msg());
				xmlBufferFree(buf);
			}
		}
		virDomainFree(doms[i]);
	}
	free(doms);
	return r;
}

int vf_lv_network_restart(vf_conn *c, const char *name, vf_error *err)
{
	_cleanup_net_ virNetworkPtr n = NULL;
	int r = vf_lv__net_lookup(c, name, "restart", &n, err);
	if (r < 0)
		return r;
	if (virNetworkIsActive(n) == 1 && virNetworkDestroy(n) < 0)
		return vf_error_set(err, VF_E_DRIVER, "cannot stop network \"%s\": %s", name, vf_lv__msg());
	if (virNetworkCreate(n) < 0)
		return vf_error_set(err, VF_E_DRIVER, "cannot start network \"%s\" again: %s", name,
				    vf_lv__msg());
	_cleanup_free_ char *bridge = virNetworkGetBridgeName(n);
	if (!bridge || c->is_test)
		return 0; /* no bridge (the test driver's), nothing to reconnect */
	return vf_lv__net_reconnect(c, name, bridge, err);
}

/* ---- observation ----------------------------------------------------------------- */

/* The record of a raw-XML define, and the document without virtform's
 * element to compare it with. */
static void vf_lv__net_record(const char *xml, vf_obs_network *n)
{
	_cleanup_(vf_lv__xdoc_free) vf_lv_xdoc x = { 0 };
	vf_error err = { 0 };
	if (vf_lv__xdoc_open(&x, xml, "a network", &err) < 0) {
		vf_error_clear(&err);
		return;
	}
	xmlXPathObjectPtr owner =
		vf_lv__xnodes(x.ctx, NULL, "/network/metadata/*[namespace-uri()='" VF_METADATA_NS "']");
	bool recorded = owner && owner->nodesetval && owner->nodesetval->nodeNr > 0 &&
			vf_lv__record_read(owner->nodesetval->nodeTab[0], &n->applied);
	if (owner)
		xmlXPathFreeObject(owner); /* before the strip frees its nodes */
	if (recorded)
		n->xml_bare = vf_lv__record_strip_dump(x.doc);
}

static int vf_lv__observe_network(virNetworkPtr net, vf_observed *o, size_t *cap, vf_error *err)
{
	const char *name = virNetworkGetName(net);
	_cleanup_free_ char *xml = vf_lv__net_xml_desc(net);
	if (!xml) {
		if (vf_lv__vanished())
			return 0;
		return vf_error_set(err, VF_E_DRIVER, "cannot read network \"%s\": %s", name, vf_lv__msg());
	}
	vf_obs_network n = { .name = vf_strdup(name) };
	virNetworkGetUUID(net, n.uuid);
	n.active = virNetworkIsActive(net) == 1;
	n.persistent = virNetworkIsPersistent(net) == 1;
	int autostart = 0;
	n.autostart = virNetworkGetAutostart(net, &autostart) == 0 && autostart;
	if (n.active)
		n.live_bridge = virNetworkGetBridgeName(net);
	int r = vf_lv__parse_network(xml, &n.def, &n.managed, err);
	if (r == 0)
		vf_lv__net_record(xml, &n);
	n.xml = TAKE_PTR(xml);
	VF_APPEND(o->networks, o->n_networks, *cap, n);
	return r;
}

/* One network into the cache o (the watch daemon's, after an event):
 * read afresh, or dropped when it is gone. */
int vf_lv__observe_one_network(vf_conn *c, const vf_obj_ref *ref, bool fresh, vf_observed *o,
			       vf_error *err)
{
	(void)fresh; /* a network read is always a fresh one */
	virNetworkPtr net = ref->has_uuid ? VF_LV_CALL(virNetworkLookupByUUID(c->conn, ref->uuid))
					  : VF_LV_CALL(virNetworkLookupByName(c->conn, ref->name));
	if (!net) {
		if (!vf_lv__vanished())
			return vf_error_set(err, VF_E_DRIVER, "cannot look up network \"%s\": %s",
					    ref->name ? ref->name : "?", vf_lv__msg());
		vf_observed_put_network(o, ref->name, ref->has_uuid ? ref->uuid : NULL, NULL);
		return 0;
	}
	vf_observed one = { 0 };
	size_t cap = 0;
	int r = vf_lv__observe_network(net, &one, &cap, err);
	virNetworkFree(net);
	if (r == 0)
		vf_observed_put_network(o, ref->name, ref->has_uuid ? ref->uuid : NULL,
					one.n_networks ? &one.networks[0] : NULL);
	vf_observed_free(&one);
	return r;
}

int vf_lv__observe_networks(vf_conn *c, vf_observed *o, vf_error *err)
{
	virNetworkPtr *nets = NULL;
	int nn = virConnectListAllNetworks(c->conn, &nets, 0);
	if (nn < 0) {
		if (vf_lv__code() == VIR_ERR_NO_SUPPORT)
			return 0; /* a host without a network driver has no networks */
		return vf_error_set(err, VF_E_DRIVER, "cannot list networks: %s", vf_lv__msg());
	}
	int r = 0;
	size_t cap = 0;
	for (int i = 0; i < nn; i++) {
		if (r == 0)
			r = vf_lv__observe_network(nets[i], o, &cap, err);
		virNetworkFree(nets[i]);
	}
	free(nets);
	if (r == 0)
		vf_lv__observe_hostifs(c, o);
	return r;
}
