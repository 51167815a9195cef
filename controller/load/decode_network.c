/* decode_network.c: decodes a Network's spec, strictly: addresses,
 * prefixes and MACs parsed, DHCP ranges and hosts inside their subnet, no
 * MAC or IP given twice among the static hosts, and the fields each
 * forward mode takes. Not for the document envelope (decode.c), the
 * network's XML (drivers/libvirt/network.c) or clashes between objects
 * (controller/plan/network.c). */
#include "controller/load/decode_kind.h"
#include "controller/core/netaddr.h"

/* One address at n (path in messages) into *text (canonical) and *out;
 * family 0 takes either. */
/* A prefix from a dotted IPv4 netmask; -1 when it is not one. */
static int vf_dec__netmask_prefix(const char *mask)
{
	vf_addr m;
	if (!mask || !vf_addr_parse(mask, &m) || m.family != 4)
		return -1;
	uint32_t v = (uint32_t)m.b[0] << 24 | (uint32_t)m.b[1] << 16 | (uint32_t)m.b[2] << 8 | m.b[3];
	uint32_t host = ~v;
	if (host & (host + 1)) /* the ones are not all at the top */
		return -1;
	int bits = 0;
	while (v & 0x80000000u) {
		bits++;
		v <<= 1;
	}
	return bits;
}

/* A raw-XML network yields what the planner's clash rules read (forward
 * mode, bridge name, addresses and prefixes), so a bridge or subnet taken
 * by another network or a host interface is caught while planning for it
 * as for a structured one. Only for conflicts: has_ips stays false, and
 * the XML alone is what is defined and compared. vf_dec__raw_xml checked
 * the document already. */
static void vf_dec__network_xml_fields(vf_network_spec *ns)
{
	vf_net_def *nd = &ns->def;
	/* A manifest that also gave structured fields was refused already;
	 * what they decoded goes, or the XML's values would leak it. */
	vf_net_def_clear(nd);
	*nd = (vf_net_def){ 0 };
	xmlDocPtr doc = xmlReadMemory(ns->xml, (int)strlen(ns->xml), "spec.xml", NULL,
				      XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	xmlNodePtr root = doc ? xmlDocGetRootElement(doc) : NULL;
	if (!root) {
		xmlFreeDoc(doc);
		return;
	}
	xmlNodePtr fwd = vf_dec__xml_child(root, "forward");
	_cleanup_free_ char *mode = vf_dec__xml_attr(fwd, "mode");
	if (!fwd)
		nd->forward = VF_NET_ISOLATED;
	else if (!mode || strcmp(mode, "nat") == 0)
		nd->forward = VF_NET_NAT;
	else if (strcmp(mode, "route") == 0)
		nd->forward = VF_NET_ROUTE;
	else if (strcmp(mode, "open") == 0)
		nd->forward = VF_NET_OPEN;
	else
		nd->forward = VF_NET_BRIDGE; /* bridge, passthrough, macvtap...: the host's devices */
	nd->bridge = vf_dec__xml_get(root, "bridge", "name");
	ns->bridge_pos = ns->xml_pos; /* a clash points at spec.xml */
	size_t cap = 0;
	for (xmlNodePtr c = root->children; c; c = c->next) {
		if (c->type != XML_ELEMENT_NODE || c->ns || strcmp((const char *)c->name, "ip") != 0)
			continue;
		_cleanup_free_ char *address = vf_dec__xml_attr(c, "address");
		_cleanup_free_ char *prefix = vf_dec__xml_attr(c, "prefix");
		_cleanup_free_ char *netmask = vf_dec__xml_attr(c, "netmask");
		vf_addr a;
		if (!address || !vf_addr_parse(address, &a))
			continue;
		long p = prefix ? strtol(prefix, NULL, 10) : netmask ? vf_dec__netmask_prefix(netmask)
								   : a.family == 4 ? 24 : 64;
		if (p < 0 || (unsigned long)p > vf_addr_bits(&a))
			continue;
		vf_net_ip ip = { .family = a.family, .address = vf_addr_str(&a), .prefix = (uint32_t)p,
				 .pos = ns->xml_pos };
		VF_APPEND(nd->ips, nd->n_ips, cap, ip);
	}
	xmlFreeDoc(doc);
}

static bool vf_dec__addr(vf_dec *d, const vf_ynode *n, const char *path, int family, vf_addr *out,
			 char **text)
{
	const char *s;
	if (!vf_dec__text(d, n, path, &s))
		return false;
	vf_addr a;
	if (!vf_addr_parse(s, &a)) {
		_cleanup_free_ char *q = vf_decode_quote(s, strlen(s));
		vf_dec__fail(d, VF_E_SCHEMA, n->pos, "%s: %s is not an IP address", path, q);
		return false;
	}
	if (family && a.family != family) {
		_cleanup_free_ char *q = vf_decode_quote(s, strlen(s));
		vf_dec__fail(d, VF_E_SCHEMA, n->pos, "%s: %s is not an IPv%d address", path, q, family);
		return false;
	}
	*out = a;
	if (text)
		*text = vf_addr_str(&a);
	return true;
}

/* The address at n lies in the ip's subnet. */
static void vf_dec__in_subnet(vf_dec *d, const vf_ynode *n, const char *path, const vf_addr *a,
			      const vf_addr *net, unsigned prefix, bool known)
{
	if (!known || vf_addr_in_subnet(a, net, prefix))
		return;
	_cleanup_free_ char *sa = vf_addr_str(a);
	_cleanup_free_ char *sn = vf_subnet_str(net, prefix);
	vf_dec__fail(d, VF_E_SCHEMA, n->pos, "%s: %s is outside the subnet %s", path, sa, sn);
}

static void vf_dec__net_ranges(vf_dec *d, const vf_ynode *seq, const char *path, vf_net_ip *ip,
			       const vf_addr *net, bool known)
{
	static const char *const fields[] = { "start", "end", NULL };
	if (!vf_dec__seq(d, seq, path))
		return;
	size_t cap = 0;
	for (size_t i = 0; i < seq->n_items; i++) {
		const vf_ynode *n = seq->items[i];
		_cleanup_free_ char *p = vf_asprintf("%s[%zu]", path, i);
		if (!vf_dec__map(d, n, p))
			continue;
		vf_dec__fields(d, n, fields, p);
		vf_net_range r = { .pos = n->pos };
		vf_addr a, b;
		bool ok_a = false, ok_b = false;
		const vf_ynode *v;
		_cleanup_free_ char *ps = vf_asprintf("%s.start", p);
		_cleanup_free_ char *pe = vf_asprintf("%s.end", p);
		if ((v = vf_ynode_get(n, "start")) && (ok_a = vf_dec__addr(d, v, ps, ip->family, &a, &r.start)))
			vf_dec__in_subnet(d, v, ps, &a, net, ip->prefix, known);
		else if (!v)
			vf_dec__missing(d, n, "start", p, NULL);
		if ((v = vf_ynode_get(n, "end")) && (ok_b = vf_dec__addr(d, v, pe, ip->family, &b, &r.end)))
			vf_dec__in_subnet(d, v, pe, &b, net, ip->prefix, known);
		else if (!v)
			vf_dec__missing(d, n, "end", p, NULL);
		if (ok_a && ok_b && vf_addr_cmp(&a, &b) > 0)
			vf_dec__fail(d, VF_E_SCHEMA, n->pos, "%s: start %s comes after end %s", p, r.start, r.end);
		VF_APPEND(ip->ranges, ip->n_ranges, cap, r);
	}
}

static void vf_dec__net_hosts(vf_dec *d, const vf_ynode *seq, const char *path, vf_net_ip *ip,
			      const vf_addr *net, bool known)
{
	static const char *const fields[] = { "mac", "name", "ip", NULL };
	if (!vf_dec__seq(d, seq, path))
		return;
	size_t cap = 0;
	for (size_t i = 0; i < seq->n_items; i++) {
		const vf_ynode *n = seq->items[i];
		_cleanup_free_ char *p = vf_asprintf("%s[%zu]", path, i);
		if (!vf_dec__map(d, n, p))
			continue;
		vf_dec__fields(d, n, fields, p);
		vf_net_host h = { .pos = n->pos };
		const vf_ynode *v;
		_cleanup_free_ char *pm = vf_asprintf("%s.mac", p);
		_cleanup_free_ char *pn = vf_asprintf("%s.name", p);
		_cleanup_free_ char *pi = vf_asprintf("%s.ip", p);
		const char *s;
		if ((v = vf_ynode_get(n, "mac")) && vf_dec__text(d, v, pm, &s)) {
			vf_error err = { 0 };
			if (ip->family == 6)
				vf_dec__fail(d, VF_E_SCHEMA, v->pos,
					     "%s does not apply to an IPv6 subnet; libvirt matches IPv6 hosts by name (or id), not MAC",
					     pm);
			else if (vf_mac_parse(s, &h.mac, &err) < 0)
				vf_dec__fail_err(d, v->pos, &err);
		}
		if ((v = vf_ynode_get(n, "name")))
			vf_dec__str(d, v, pn, &h.name);
		vf_addr a;
		if ((v = vf_ynode_get(n, "ip")) && vf_dec__addr(d, v, pi, ip->family, &a, &h.ip))
			vf_dec__in_subnet(d, v, pi, &a, net, ip->prefix, known);
		else if (!v)
			vf_dec__missing(d, n, "ip", p, NULL);
		if (!vf_ynode_get(n, "mac") && !vf_ynode_get(n, "name"))
			vf_dec__fail(d, VF_E_SCHEMA, n->pos, "%s needs a mac or a name", p);
		/* the same MAC or IP twice: dnsmasq would hand out one of them */
		for (size_t k = 0; k < ip->n_hosts; k++) {
			const vf_net_host *o = &ip->hosts[k];
			if (h.mac && vf_streq(o->mac, h.mac))
				vf_dec__fail(d, VF_E_SCHEMA, vf_ynode_get(n, "mac")->pos,
					     "%s: MAC %s is already the MAC of %s[%zu] (line %d)", pm, h.mac, path, k,
					     o->pos.line);
			if (h.ip && vf_streq(o->ip, h.ip))
				vf_dec__fail(d, VF_E_SCHEMA, vf_ynode_get(n, "ip")->pos,
					     "%s: IP %s is already the IP of %s[%zu] (line %d)", pi, h.ip, path, k,
					     o->pos.line);
		}
		VF_APPEND(ip->hosts, ip->n_hosts, cap, h);
	}
}

static void vf_dec__net_ip(vf_dec *d, const vf_ynode *n, size_t idx, vf_net_ip *ip, bool routed)
{
	static const char *const fields[] = { "family", "address", "prefix", "dhcp", NULL };
	static const char *const dhcp_fields[] = { "ranges", "hosts", NULL };
	_cleanup_free_ char *path = vf_asprintf("spec.ips[%zu]", idx);
	if (!vf_dec__map(d, n, path))
		return;
	vf_dec__fields(d, n, fields, path);
	ip->pos = n->pos;
	const vf_ynode *v;
	_cleanup_free_ char *pf = vf_asprintf("%s.family", path);
	_cleanup_free_ char *pa = vf_asprintf("%s.address", path);
	_cleanup_free_ char *pp = vf_asprintf("%s.prefix", path);
	_cleanup_free_ char *pd = vf_asprintf("%s.dhcp", path);
	static const char *const fams[] = { "ipv4", "ipv6" };
	int want = 0;
	if ((v = vf_ynode_get(n, "family"))) {
		int k = vf_dec__enum(d, v, pf, fams, 2);
		want = k < 0 ? 0 : k == 0 ? 4 : 6;
	}
	vf_addr a = { 0 };
	bool have_addr = false;
	if ((v = vf_ynode_get(n, "address")))
		have_addr = vf_dec__addr(d, v, pa, want, &a, &ip->address);
	else
		vf_dec__missing(d, n, "address", path, NULL);
	ip->family = have_addr ? a.family : want ? want : 4;
	bool have_prefix = false;
	if ((v = vf_ynode_get(n, "prefix"))) {
		uint64_t p;
		if (vf_dec__uint(d, v, pp, ip->family == 4 ? 1 : 1, ip->family == 4 ? 32 : 128, &p)) {
			ip->prefix = (uint32_t)p;
			have_prefix = true;
		}
	} else {
		vf_dec__missing(d, n, "prefix", path, NULL);
	}
	if (have_addr && have_prefix && ip->prefix < vf_addr_bits(&a)) {
		/* the bridge's own address must be a host of the subnet */
		_cleanup_free_ char *net = vf_subnet_str(&a, ip->prefix);
		vf_addr na;
		char *slash = strchr(net, '/');
		*slash = '\0';
		if (vf_addr_parse(net, &na) && vf_addr_cmp(&na, &a) == 0 && a.family == 4 && ip->prefix < 31)
			vf_dec__fail(d, VF_E_SCHEMA, vf_ynode_get(n, "address")->pos,
				     "%s: %s is the subnet's network address, not a host address (the bridge's)",
				     pa, ip->address);
	}
	if (!(v = vf_ynode_get(n, "dhcp")))
		return;
	if (routed) {
		vf_dec__fail(d, VF_E_SCHEMA, vf_ynode_key(n, "dhcp")->pos,
			     "%s does not apply to a bridge-mode network; libvirt runs no DHCP server on a host bridge",
			     pd);
		return;
	}
	if (!vf_dec__map(d, v, pd))
		return;
	vf_dec__fields(d, v, dhcp_fields, pd);
	bool known = have_addr && have_prefix;
	const vf_ynode *w;
	_cleanup_free_ char *pr = vf_asprintf("%s.ranges", pd);
	_cleanup_free_ char *ph = vf_asprintf("%s.hosts", pd);
	if ((w = vf_ynode_get(v, "ranges")))
		vf_dec__net_ranges(d, w, pr, ip, &a, known);
	if ((w = vf_ynode_get(v, "hosts")))
		vf_dec__net_hosts(d, w, ph, ip, &a, known);
}

static void vf_dec__net_names(vf_dec *d, const vf_ynode *seq, const char *path, vf_net_dns_host *h)
{
	if (!vf_dec__seq(d, seq, path))
		return;
	size_t cap = 0;
	for (size_t i = 0; i < seq->n_items; i++) {
		_cleanup_free_ char *p = vf_asprintf("%s[%zu]", path, i);
		char *s = NULL;
		if (vf_dec__str(d, seq->items[i], p, &s))
			VF_APPEND(h->names, h->n_names, cap, s);
	}
	if (!seq->n_items)
		vf_dec__fail(d, VF_E_SCHEMA, seq->pos, "%s needs at least one name", path);
}

/* A list at `key` of dns, each item a mapping decoded by fn. */
#define VF_DEC_NET_LIST(d, dns, key, arr, n, fn)                                          \
	do {                                                                              \
		const vf_ynode *l_ = vf_ynode_get((dns), (key));                          \
		if (!l_ || !vf_dec__seq((d), l_, "spec.dns." key))                        \
			break;                                                            \
		size_t cap_ = 0;                                                          \
		for (size_t i_ = 0; i_ < l_->n_items; i_++) {                             \
			_cleanup_free_ char *p_ = vf_asprintf("spec.dns." key "[%zu]", i_); \
			if (!vf_dec__map((d), l_->items[i_], p_))                         \
				continue;                                                 \
			__typeof__(*(arr)) e_ = { .pos = l_->items[i_]->pos };            \
			fn((d), l_->items[i_], p_, &e_);                                  \
			VF_APPEND((arr), (n), cap_, e_);                                  \
		}                                                                         \
	} while (0)

static void vf_dec__dns_host(vf_dec *d, const vf_ynode *n, const char *p, vf_net_dns_host *h)
{
	static const char *const fields[] = { "ip", "names", NULL };
	vf_dec__fields(d, n, fields, p);
	const vf_ynode *v;
	vf_addr a;
	_cleanup_free_ char *pi = vf_asprintf("%s.ip", p);
	_cleanup_free_ char *pn = vf_asprintf("%s.names", p);
	if ((v = vf_ynode_get(n, "ip")))
		vf_dec__addr(d, v, pi, 0, &a, &h->ip);
	else
		vf_dec__missing(d, n, "ip", p, NULL);
	if ((v = vf_ynode_get(n, "names")))
		vf_dec__net_names(d, v, pn, h);
	else
		vf_dec__missing(d, n, "names", p, NULL);
}

static void vf_dec__dns_fwd(vf_dec *d, const vf_ynode *n, const char *p, vf_net_forwarder *f)
{
	static const char *const fields[] = { "addr", "domain", NULL };
	vf_dec__fields(d, n, fields, p);
	const vf_ynode *v;
	vf_addr a;
	_cleanup_free_ char *pa = vf_asprintf("%s.addr", p);
	_cleanup_free_ char *pd = vf_asprintf("%s.domain", p);
	if ((v = vf_ynode_get(n, "addr")))
		vf_dec__addr(d, v, pa, 0, &a, &f->addr);
	if ((v = vf_ynode_get(n, "domain")))
		vf_dec__str(d, v, pd, &f->domain);
	if (!vf_ynode_get(n, "addr") && !vf_ynode_get(n, "domain"))
		vf_dec__fail(d, VF_E_SCHEMA, n->pos, "%s needs an addr or a domain", p);
}

static void vf_dec__dns_port(vf_dec *d, const vf_ynode *n, const char *p, const char *key,
			     int32_t *out)
{
	const vf_ynode *v = vf_ynode_get(n, key);
	uint64_t x;
	_cleanup_free_ char *pk = vf_asprintf("%s.%s", p, key);
	if (v && vf_dec__uint(d, v, pk, 0, 65535, &x))
		*out = (int32_t)x;
}

static void vf_dec__dns_srv(vf_dec *d, const vf_ynode *n, const char *p, vf_net_srv *s)
{
	static const char *const fields[] = { "service", "protocol", "domain", "target",
					      "port", "priority", "weight", NULL };
	static const char *const protos[] = { "tcp", "udp" };
	vf_dec__fields(d, n, fields, p);
	s->port = s->priority = s->weight = -1;
	const vf_ynode *v;
	_cleanup_free_ char *ps = vf_asprintf("%s.service", p);
	_cleanup_free_ char *pp = vf_asprintf("%s.protocol", p);
	_cleanup_free_ char *pd = vf_asprintf("%s.domain", p);
	_cleanup_free_ char *pt = vf_asprintf("%s.target", p);
	if ((v = vf_ynode_get(n, "service")))
		vf_dec__str(d, v, ps, &s->service);
	else
		vf_dec__missing(d, n, "service", p, NULL);
	if ((v = vf_ynode_get(n, "protocol"))) {
		int k = vf_dec__enum(d, v, pp, protos, 2);
		if (k >= 0)
			s->protocol = vf_strdup(protos[k]);
	} else {
		vf_dec__missing(d, n, "protocol", p, " (tcp or udp)");
	}
	if ((v = vf_ynode_get(n, "domain")))
		vf_dec__str(d, v, pd, &s->domain);
	if ((v = vf_ynode_get(n, "target")))
		vf_dec__str(d, v, pt, &s->target);
	vf_dec__dns_port(d, n, p, "port", &s->port);
	vf_dec__dns_port(d, n, p, "priority", &s->priority);
	vf_dec__dns_port(d, n, p, "weight", &s->weight);
}

static void vf_dec__dns_txt(vf_dec *d, const vf_ynode *n, const char *p, vf_net_txt *t)
{
	static const char *const fields[] = { "name", "value", NULL };
	vf_dec__fields(d, n, fields, p);
	const vf_ynode *v;
	_cleanup_free_ char *pn = vf_asprintf("%s.name", p);
	_cleanup_free_ char *pv = vf_asprintf("%s.value", p);
	if ((v = vf_ynode_get(n, "name")))
		vf_dec__str(d, v, pn, &t->name);
	else
		vf_dec__missing(d, n, "name", p, NULL);
	if ((v = vf_ynode_get(n, "value")))
		vf_dec__str(d, v, pv, &t->value);
	else
		vf_dec__missing(d, n, "value", p, NULL);
}

static void vf_dec__net_dns(vf_dec *d, const vf_ynode *dns, vf_net_def *nd)
{
	static const char *const fields[] = { "hosts", "forwarders", "srv", "txt", NULL };
	if (!vf_dec__map(d, dns, "spec.dns"))
		return;
	vf_dec__fields(d, dns, fields, "Network spec.dns");
	VF_DEC_NET_LIST(d, dns, "hosts", nd->dns_hosts, nd->n_dns_hosts, vf_dec__dns_host);
	VF_DEC_NET_LIST(d, dns, "forwarders", nd->forwarders, nd->n_forwarders, vf_dec__dns_fwd);
	VF_DEC_NET_LIST(d, dns, "srv", nd->srv, nd->n_srv, vf_dec__dns_srv);
	VF_DEC_NET_LIST(d, dns, "txt", nd->txt, nd->n_txt, vf_dec__dns_txt);
}

/* A field a forward mode has no use for: refused at its key. */
static void vf_dec__net_not(vf_dec *d, const vf_ynode *map, const char *key, const char *path,
			    const char *why)
{
	if (vf_ynode_get(map, key))
		vf_dec__fail(d, VF_E_SCHEMA, vf_ynode_key(map, key)->pos, "%s does not apply %s", path, why);
}

static void vf_dec__network(vf_dec *d, const vf_ynode *spec, const char *name, vf_network_spec *ns)
{
	static const char *const fields[] = { "uuid", "forward", "bridge", "mtu", "mac", "domain", "ips",
					      "dns", "autostart", "state", "adopt", "xml", NULL };
	/* the fields spec.xml replaces */
	static const char *const structured[] = { "forward", "bridge", "mtu", "mac", "domain", "ips", "dns", NULL };
	static const char *const fwd_fields[] = { "mode", "dev", NULL };
	static const char *const br_fields[] = { "name", "stp", "delay", NULL };
	static const char *const dom_fields[] = { "name", "localOnly", NULL };
	vf_dec__fields(d, spec, fields, "Network spec");
	vf_net_def *nd = &ns->def;
	const vf_ynode *v, *w;
	if ((v = vf_ynode_get(spec, "uuid")))
		vf_dec__uuid(d, v, "spec.uuid", &ns->has_uuid, ns->uuid, &ns->uuid_pos);
	if ((v = vf_ynode_get(spec, "xml"))) {
		for (size_t i = 0; structured[i]; i++)
			if ((w = vf_ynode_key(spec, structured[i])))
				vf_dec__fail(d, VF_E_SCHEMA, w->pos,
					     "spec.%s cannot be combined with spec.xml; the XML describes the whole network",
					     structured[i]);
		vf_dec__raw_xml(d, v, "network", name, &ns->xml, ns->xml_hash, &ns->xml_pos, &ns->has_uuid,
				ns->uuid, &ns->uuid_pos);
		nd->has_ips = nd->has_dns = false;
	}
	if ((v = vf_ynode_get(spec, "forward")) && vf_dec__map(d, v, "spec.forward")) {
		vf_dec__fields(d, v, fwd_fields, "Network spec.forward");
		ns->forward_pos = v->pos;
		if ((w = vf_ynode_get(v, "mode")))
			VF_DEC_ENUM(d, w, "spec.forward.mode", vf_net_forward, VF_NET_FORWARD_MAX, &nd->forward);
		if ((w = vf_ynode_get(v, "dev")))
			vf_dec__name(d, w, "spec.forward.dev", &nd->forward_dev);
	}
	vf_net_forward mode = nd->forward == VF_NET_FORWARD_UNSET ? VF_NET_NAT : nd->forward;
	bool bridged = mode == VF_NET_BRIDGE;
	if ((v = vf_ynode_get(spec, "bridge")) && vf_dec__map(d, v, "spec.bridge")) {
		vf_dec__fields(d, v, br_fields, "Network spec.bridge");
		if ((w = vf_ynode_get(v, "name"))) {
			ns->bridge_pos = w->pos;
			if (vf_dec__name(d, w, "spec.bridge.name", &nd->bridge) && strlen(nd->bridge) > 15) {
				vf_dec__fail(d, VF_E_SCHEMA, w->pos,
					     "spec.bridge.name: \"%s\" is longer than the 15 bytes Linux allows an interface name",
					     nd->bridge);
			}
		}
		if ((w = vf_ynode_get(v, "stp")))
			vf_dec__tri(d, w, "spec.bridge.stp", &nd->stp);
		uint64_t x;
		if ((w = vf_ynode_get(v, "delay")) && vf_dec__uint(d, w, "spec.bridge.delay", 0, 3600, &x)) {
			nd->has_delay = true;
			nd->delay = (uint32_t)x;
		}
		if (bridged) {
			vf_dec__net_not(d, v, "stp", "spec.bridge.stp", "to a bridge-mode network; the host bridge is not libvirt's to configure");
			vf_dec__net_not(d, v, "delay", "spec.bridge.delay", "to a bridge-mode network; the host bridge is not libvirt's to configure");
		}
	}
	if (bridged && !nd->bridge && !vf_ynode_get(spec, "bridge"))
		vf_dec__missing(d, spec, "bridge", "Network spec", " (forward mode bridge names an existing host bridge in bridge.name)");
	if ((v = vf_ynode_get(spec, "mtu"))) {
		uint64_t x;
		if (vf_dec__uint(d, v, "spec.mtu", 68, 65535, &x)) {
			nd->has_mtu = true;
			nd->mtu = (uint32_t)x;
		}
	}
	const char *s;
	if ((v = vf_ynode_get(spec, "mac")) && vf_dec__text(d, v, "spec.mac", &s)) {
		vf_error err = { 0 };
		ns->mac_pos = v->pos;
		if (bridged)
			vf_dec__net_not(d, spec, "mac", "spec.mac", "to a bridge-mode network; the host bridge keeps its own MAC");
		else if (vf_mac_parse(s, &nd->mac, &err) < 0)
			vf_dec__fail_err(d, v->pos, &err);
	}
	if ((v = vf_ynode_get(spec, "domain")) && vf_dec__map(d, v, "spec.domain")) {
		vf_dec__fields(d, v, dom_fields, "Network spec.domain");
		if (bridged)
			vf_dec__net_not(d, spec, "domain", "spec.domain", "to a bridge-mode network; libvirt runs no DNS server on a host bridge");
		if ((w = vf_ynode_get(v, "name")))
			vf_dec__str(d, w, "spec.domain.name", &nd->domain);
		else
			vf_dec__missing(d, v, "name", "Network spec.domain", NULL);
		if ((w = vf_ynode_get(v, "localOnly")))
			vf_dec__tri(d, w, "spec.domain.localOnly", &nd->local_only);
	}
	if ((v = vf_ynode_get(spec, "ips"))) {
		if (bridged)
			vf_dec__net_not(d, spec, "ips", "spec.ips", "to a bridge-mode network; the host bridge's addresses are the host's");
		else if (vf_dec__seq(d, v, "spec.ips")) {
			size_t cap = 0;
			nd->has_ips = true;
			int v4 = 0, v6 = 0;
			for (size_t i = 0; i < v->n_items; i++) {
				vf_net_ip ip = { 0 };
				vf_dec__net_ip(d, v->items[i], i, &ip, bridged);
				if ((ip.family == 4 ? v4++ : v6++) && (ip.n_ranges || ip.n_hosts))
					vf_dec__fail(d, VF_E_SCHEMA, v->items[i]->pos,
						     "spec.ips[%zu]: libvirt serves DHCP on one IPv%d subnet per network only",
						     i, ip.family);
				VF_APPEND(nd->ips, nd->n_ips, cap, ip);
			}
		}
	}
	if ((v = vf_ynode_get(spec, "dns"))) {
		if (bridged)
			vf_dec__net_not(d, spec, "dns", "spec.dns", "to a bridge-mode network; libvirt runs no DNS server on a host bridge");
		else
			vf_dec__net_dns(d, v, nd);
		nd->has_dns = true;
	}
	if (mode == VF_NET_ISOLATED && nd->forward_dev)
		vf_dec__fail(d, VF_E_SCHEMA, ns->forward_pos,
			     "spec.forward.dev does not apply to an isolated network; it forwards nothing");
	if ((v = vf_ynode_get(spec, "state")))
		VF_DEC_ENUM(d, v, "spec.state", vf_net_state, VF_NET_STATE_MAX, &ns->state);
	if ((v = vf_ynode_get(spec, "autostart")))
		vf_dec__tri(d, v, "spec.autostart", &ns->autostart);
	if ((v = vf_ynode_get(spec, "adopt")))
		vf_dec__bool(d, v, "spec.adopt", &ns->adopt);
	/* libvirt refuses NAT or routing without an address to do it from
	 * (an adopted network keeps its own) */
	if ((mode == VF_NET_NAT || mode == VF_NET_ROUTE) && !vf_ynode_get(spec, "ips") && !ns->adopt &&
	    !vf_ynode_get(spec, "xml")) {
		_cleanup_free_ char *why = vf_asprintf(" (forward mode %s%s needs an address to forward from)",
						       vf_net_forward_to_string(mode),
						       nd->forward == VF_NET_FORWARD_UNSET ? ", the default," : "");
		vf_dec__missing(d, spec, "ips", "Network spec", why);
	}
	/* last: the XML's own fields are not the manifest's to validate */
	if (ns->xml)
		vf_dec__network_xml_fields(ns);
}

static void vf_dec__network_spec(vf_dec *d, const vf_ynode *spec, vf_object *o)
{
	vf_dec__network(d, spec, o->name, &o->u.network);
}

static void vf_dec__network_identity(vf_object *o)
{
	vf_dec__spec_uuid(o, o->u.network.has_uuid, o->u.network.uuid);
}

const vf_dec_kind vf_dec_kind_network = {
	.name = "Network",
	.kind = VF_KIND_NETWORK,
	.spec = vf_dec__network_spec,
	.identity = vf_dec__network_identity,
};
