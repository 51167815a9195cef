/* network_xml.c: a Network's libvirt XML, built from its spec and read
 * back into the same description (vf_net_def), so the planner compares
 * like with like. Not for operations (network.c). */
#include <arpa/inet.h>

#include "lv.h"
#include "controller/core/netaddr.h"

static void vf_lv__net_dhcp(xmlNodePtr ipn, const vf_net_ip *ip)
{
	if (!ip->n_ranges && !ip->n_hosts)
		return;
	xmlNodePtr dhcp = vf_lv__add(ipn, "dhcp", NULL);
	for (size_t k = 0; k < ip->n_ranges; k++) {
		xmlNodePtr r = vf_lv__add(dhcp, "range", NULL);
		vf_lv__attr(r, "start", ip->ranges[k].start);
		vf_lv__attr(r, "end", ip->ranges[k].end);
	}
	for (size_t k = 0; k < ip->n_hosts; k++) {
		xmlNodePtr h = vf_lv__add(dhcp, "host", NULL);
		if (ip->hosts[k].mac)
			vf_lv__attr(h, "mac", ip->hosts[k].mac);
		if (ip->hosts[k].name)
			vf_lv__attr(h, "name", ip->hosts[k].name);
		vf_lv__attr(h, "ip", ip->hosts[k].ip);
	}
}

/* One <host>, <srv>, <txt> element, alone, for virNetworkUpdate too. */
xmlNodePtr vf_lv__net_dns_host(xmlNodePtr parent, const vf_net_dns_host *h)
{
	xmlNodePtr n = vf_lv__add(parent, "host", NULL);
	vf_lv__attr(n, "ip", h->ip);
	for (size_t k = 0; k < h->n_names; k++)
		vf_lv__add(n, "hostname", h->names[k]);
	return n;
}

xmlNodePtr vf_lv__net_srv(xmlNodePtr parent, const vf_net_srv *s)
{
	xmlNodePtr n = vf_lv__add(parent, "srv", NULL);
	vf_lv__attr(n, "service", s->service);
	vf_lv__attr(n, "protocol", s->protocol);
	if (s->domain)
		vf_lv__attr(n, "domain", s->domain);
	if (s->target)
		vf_lv__attr(n, "target", s->target);
	if (s->port >= 0)
		vf_lv__attrf(n, "port", "%d", s->port);
	if (s->priority >= 0)
		vf_lv__attrf(n, "priority", "%d", s->priority);
	if (s->weight >= 0)
		vf_lv__attrf(n, "weight", "%d", s->weight);
	return n;
}

xmlNodePtr vf_lv__net_txt(xmlNodePtr parent, const vf_net_txt *t)
{
	xmlNodePtr n = vf_lv__add(parent, "txt", NULL);
	vf_lv__attr(n, "name", t->name);
	vf_lv__attr(n, "value", t->value);
	return n;
}

char *vf_lv__network_xml(const vf_object *o)
{
	const vf_network_spec *ns = &o->u.network;
	const vf_net_def *d = &ns->def;
	xmlNodePtr root;
	xmlDocPtr doc = vf_lv__new_doc("network", &root);
	vf_lv__add(root, "name", o->name);
	vf_lv__uuid(root, o->uuid);
	vf_lv__owner(vf_lv__add(root, "metadata", NULL), o->name, NULL);
	vf_net_forward mode = d->forward == VF_NET_FORWARD_UNSET ? VF_NET_NAT : d->forward;
	if (mode != VF_NET_ISOLATED) {
		xmlNodePtr f = vf_lv__add(root, "forward", NULL);
		vf_lv__attr(f, "mode", vf_net_forward_to_string(mode));
		if (d->forward_dev)
			vf_lv__attr(f, "dev", d->forward_dev);
	}
	if (d->bridge || d->stp != VF_TRI_UNSET || d->has_delay) {
		xmlNodePtr b = vf_lv__add(root, "bridge", NULL);
		if (d->bridge)
			vf_lv__attr(b, "name", d->bridge);
		if (d->stp != VF_TRI_UNSET)
			vf_lv__attr(b, "stp", d->stp == VF_TRI_TRUE ? "on" : "off");
		if (d->has_delay)
			vf_lv__attrf(b, "delay", "%u", d->delay);
	}
	if (d->has_mtu)
		vf_lv__attrf(vf_lv__add(root, "mtu", NULL), "size", "%u", d->mtu);
	if (mode != VF_NET_BRIDGE) {
		char mac[18];
		if (!d->mac)
			vf_net_mac_derive(o->uuid, mac);
		vf_lv__attr(vf_lv__add(root, "mac", NULL), "address", d->mac ? d->mac : mac);
	}
	if (d->domain) {
		xmlNodePtr n = vf_lv__add(root, "domain", NULL);
		vf_lv__attr(n, "name", d->domain);
		if (d->local_only != VF_TRI_UNSET)
			vf_lv__attr(n, "localOnly", d->local_only == VF_TRI_TRUE ? "yes" : "no");
	}
	if (d->n_dns_hosts || d->n_forwarders || d->n_srv || d->n_txt) {
		xmlNodePtr dns = vf_lv__add(root, "dns", NULL);
		for (size_t i = 0; i < d->n_forwarders; i++) {
			xmlNodePtr f = vf_lv__add(dns, "forwarder", NULL);
			if (d->forwarders[i].addr)
				vf_lv__attr(f, "addr", d->forwarders[i].addr);
			if (d->forwarders[i].domain)
				vf_lv__attr(f, "domain", d->forwarders[i].domain);
		}
		for (size_t i = 0; i < d->n_txt; i++)
			vf_lv__net_txt(dns, &d->txt[i]);
		for (size_t i = 0; i < d->n_dns_hosts; i++)
			vf_lv__net_dns_host(dns, &d->dns_hosts[i]);
		for (size_t i = 0; i < d->n_srv; i++)
			vf_lv__net_srv(dns, &d->srv[i]);
	}
	for (size_t i = 0; i < d->n_ips; i++) {
		const vf_net_ip *ip = &d->ips[i];
		xmlNodePtr n = vf_lv__add(root, "ip", NULL);
		if (ip->family == 6)
			vf_lv__attr(n, "family", "ipv6");
		vf_lv__attr(n, "address", ip->address);
		vf_lv__attrf(n, "prefix", "%u", ip->prefix);
		vf_lv__net_dhcp(n, ip);
	}
	return vf_lv__dump_free(doc);
}

/* ---- reading ---------------------------------------------------------------- */

/* A prefix from a dotted netmask; 0 when it is not one. */
static uint32_t vf_lv__netmask_prefix(const char *mask)
{
	struct in_addr a;
	if (!mask || inet_pton(AF_INET, mask, &a) != 1)
		return 0;
	uint32_t m = ntohl(a.s_addr), p = 0;
	while (m & 0x80000000u) {
		p++;
		m <<= 1;
	}
	return p;
}

/* The canonical form of an address libvirt wrote; NULL stays NULL. */
static char *vf_lv__canon(char *s)
{
	vf_addr a;
	if (!s || !vf_addr_parse(s, &a))
		return s;
	free(s);
	return vf_addr_str(&a);
}

#define VF_LV_EACH(ctx, at, expr, var)                                                        \
	_cleanup_xobj_ xmlXPathObjectPtr var##_set = vf_lv__xnodes((ctx), (at), (expr));      \
	for (int var##_i = 0; var##_set && var##_set->nodesetval &&                           \
			      var##_i < var##_set->nodesetval->nodeNr; var##_i++)              \
		for (xmlNodePtr var = var##_set->nodesetval->nodeTab[var##_i]; var; var = NULL)

static void vf_lv__read_ip(xmlXPathContextPtr ctx, xmlNodePtr n, vf_net_def *d, size_t *cap)
{
	vf_net_ip ip = { 0 };
	_cleanup_free_ char *fam = vf_lv__xstr(ctx, n, "@family");
	ip.address = vf_lv__canon(vf_lv__xstr(ctx, n, "@address"));
	vf_addr a;
	ip.family = fam && strcmp(fam, "ipv6") == 0 ? 6 : ip.address && vf_addr_parse(ip.address, &a) ? a.family : 4;
	_cleanup_free_ char *mask = vf_lv__xstr(ctx, n, "@netmask");
	ip.prefix = (uint32_t)vf_lv__xint(ctx, n, "@prefix", 10, mask ? vf_lv__netmask_prefix(mask) : ip.family == 4 ? 24 : 64);
	size_t cr = 0, ch = 0;
	VF_LV_EACH(ctx, n, "dhcp/range", r) {
		vf_net_range e = { .start = vf_lv__canon(vf_lv__xstr(ctx, r, "@start")),
				   .end = vf_lv__canon(vf_lv__xstr(ctx, r, "@end")) };
		VF_APPEND(ip.ranges, ip.n_ranges, cr, e);
	}
	VF_LV_EACH(ctx, n, "dhcp/host", h) {
		vf_net_host e = { .mac = vf_lv__xstr(ctx, h, "@mac"), .name = vf_lv__xstr(ctx, h, "@name"),
				  .ip = vf_lv__canon(vf_lv__xstr(ctx, h, "@ip")) };
		for (char *p = e.mac; p && *p; p++)
			*p = (char)(*p >= 'A' && *p <= 'F' ? *p - 'A' + 'a' : *p);
		VF_APPEND(ip.hosts, ip.n_hosts, ch, e);
	}
	VF_APPEND(d->ips, d->n_ips, *cap, ip);
}

static void vf_lv__read_dns(xmlXPathContextPtr ctx, vf_net_def *d)
{
	size_t c1 = 0, c2 = 0, c3 = 0, c4 = 0;
	VF_LV_EACH(ctx, NULL, "/network/dns/host", h) {
		vf_net_dns_host e = { .ip = vf_lv__canon(vf_lv__xstr(ctx, h, "@ip")) };
		size_t cn = 0;
		VF_LV_EACH(ctx, h, "hostname", hn) {
			char *s = vf_lv__xstr(ctx, hn, ".");
			if (s)
				VF_APPEND(e.names, e.n_names, cn, s);
		}
		VF_APPEND(d->dns_hosts, d->n_dns_hosts, c1, e);
	}
	VF_LV_EACH(ctx, NULL, "/network/dns/forwarder", f) {
		vf_net_forwarder e = { .addr = vf_lv__canon(vf_lv__xstr(ctx, f, "@addr")),
				       .domain = vf_lv__xstr(ctx, f, "@domain") };
		VF_APPEND(d->forwarders, d->n_forwarders, c2, e);
	}
	VF_LV_EACH(ctx, NULL, "/network/dns/srv", s) {
		vf_net_srv e = {
			.service = vf_lv__xstr(ctx, s, "@service"),
			.protocol = vf_lv__xstr(ctx, s, "@protocol"),
			.domain = vf_lv__xstr(ctx, s, "@domain"),
			.target = vf_lv__xstr(ctx, s, "@target"),
			.port = (int32_t)vf_lv__xint(ctx, s, "@port", 10, -1),
			.priority = (int32_t)vf_lv__xint(ctx, s, "@priority", 10, -1),
			.weight = (int32_t)vf_lv__xint(ctx, s, "@weight", 10, -1),
		};
		VF_APPEND(d->srv, d->n_srv, c3, e);
	}
	VF_LV_EACH(ctx, NULL, "/network/dns/txt", t) {
		vf_net_txt e = { .name = vf_lv__xstr(ctx, t, "@name"), .value = vf_lv__xstr(ctx, t, "@value") };
		VF_APPEND(d->txt, d->n_txt, c4, e);
	}
}

int vf_lv__parse_network(const char *xml, vf_net_def *d, bool *managed, vf_error *err)
{
	_cleanup_(vf_lv__xdoc_free) vf_lv_xdoc x = { 0 };
	int r = vf_lv__xdoc_open(&x, xml, "a network", err);
	if (r < 0)
		return r;
	xmlXPathContextPtr ctx = x.ctx;
	_cleanup_free_ char *mode = vf_lv__xstr(ctx, NULL, "/network/forward/@mode");
	bool has_fwd = vf_lv__xbool(ctx, NULL, "/network/forward");
	int m = vf_net_forward_from_string(mode ? mode : "nat");
	d->forward = !has_fwd ? VF_NET_ISOLATED : m < 0 ? VF_NET_FORWARD_UNSET : (vf_net_forward)m;
	d->forward_dev = vf_lv__xstr(ctx, NULL, "/network/forward/@dev");
	d->bridge = vf_lv__xstr(ctx, NULL, "/network/bridge/@name");
	_cleanup_free_ char *stp = vf_lv__xstr(ctx, NULL, "/network/bridge/@stp");
	d->stp = !stp ? VF_TRI_UNSET : strcmp(stp, "off") == 0 ? VF_TRI_FALSE : VF_TRI_TRUE;
	int64_t delay = vf_lv__xint(ctx, NULL, "/network/bridge/@delay", 10, -1);
	d->has_delay = delay >= 0;
	d->delay = delay >= 0 ? (uint32_t)delay : 0;
	int64_t mtu = vf_lv__xint(ctx, NULL, "/network/mtu/@size", 10, -1);
	d->has_mtu = mtu > 0;
	d->mtu = mtu > 0 ? (uint32_t)mtu : 0;
	d->mac = vf_lv__xstr(ctx, NULL, "/network/mac/@address");
	for (char *p = d->mac; p && *p; p++)
		*p = (char)(*p >= 'A' && *p <= 'F' ? *p - 'A' + 'a' : *p);
	d->domain = vf_lv__xstr(ctx, NULL, "/network/domain/@name");
	_cleanup_free_ char *lo = vf_lv__xstr(ctx, NULL, "/network/domain/@localOnly");
	d->local_only = !lo ? VF_TRI_UNSET : strcmp(lo, "yes") == 0 ? VF_TRI_TRUE : VF_TRI_FALSE;
	size_t cap = 0;
	VF_LV_EACH(ctx, NULL, "/network/ip", ipn)
		vf_lv__read_ip(ctx, ipn, d, &cap);
	vf_lv__read_dns(ctx, d);
	*managed = vf_lv__xbool(ctx, NULL,
				"boolean(/network/metadata/*[namespace-uri()='" VF_METADATA_NS "'])");
	return 0;
}

/* ---- spec.xml ------------------------------------------------------------------ */

static xmlNodePtr vf_lv__net_child(xmlNodePtr root, const char *name)
{
	for (xmlNodePtr n = root->children; n; n = n->next)
		if (n->type == XML_ELEMENT_NODE && !n->ns && xmlStrEqual(n->name, VF_XC(name)))
			return n;
	return NULL;
}

int vf_lv__network_xml_raw(const vf_object *o, const char *base, const char *normalised, char **out,
			   vf_error *err)
{
	const vf_network_spec *s = &o->u.network;
	xmlDocPtr doc = vf_lv__xml_read(base ? base : s->xml);
	xmlNodePtr root = doc ? xmlDocGetRootElement(doc) : NULL;
	if (!root || !xmlStrEqual(root->name, VF_XC("network"))) {
		if (doc)
			xmlFreeDoc(doc);
		return vf_error_set_pos(err, VF_E_SCHEMA, s->xml_pos,
					"spec.xml of network \"%s\" is not a <network> document", o->name);
	}
	if (!vf_lv__net_child(root, "uuid"))
		vf_lv__uuid(root, o->uuid);
	xmlNodePtr meta = vf_lv__net_child(root, "metadata");
	if (!meta)
		meta = vf_lv__add(root, "metadata", NULL);
	for (xmlNodePtr n = meta->children, next; n; n = next) {
		next = n->next;
		if (n->type == XML_ELEMENT_NODE && n->ns && xmlStrEqual(n->ns->href, VF_XC(VF_METADATA_NS))) {
			xmlUnlinkNode(n);
			xmlFreeNode(n);
		}
	}
	vf_lv__owner(meta, o->name, NULL);
	if (normalised) {
		/* the record (xml_record.c reads it back): what was sent, what
		 * libvirt made of it; networks have no SetMetadata call in every
		 * libvirt, so it goes in with a second define */
		xmlNodePtr owner = xmlGetLastChild(meta);
		xmlNodePtr applied = vf_lv__add(owner, "applied", NULL);
		vf_lv__attr(applied, "sha256", s->xml_hash);
		vf_lv__add(applied, "manifest", s->xml);
		vf_lv__add(applied, "normalised", normalised);
	}
	*out = vf_lv__dump_free(doc);
	return 0;
}
