/* hostif.c: the host's network interfaces and their addresses, which a
 * new network's bridge name and subnets must not clash with. On this
 * machine the kernel's list (getifaddrs, if_nameindex: interfaces without
 * an address too); on a remote or test host, libvirt's interface listing.
 * Observes only; the planner decides what clashes. */
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>

#include "lv.h"
#include "controller/core/netaddr.h"

static vf_obs_hostif *vf_lv__hostif(vf_observed *o, size_t *cap, const char *name)
{
	for (size_t i = 0; i < o->n_hostifs; i++)
		if (strcmp(o->hostifs[i].name, name) == 0)
			return &o->hostifs[i];
	vf_obs_hostif h = { .name = vf_strdup(name) };
	VF_APPEND(o->hostifs, o->n_hostifs, *cap, h);
	return &o->hostifs[o->n_hostifs - 1];
}

static void vf_lv__hostif_addr(vf_obs_hostif *h, const vf_addr *a, unsigned prefix)
{
	_cleanup_free_ char *s = vf_addr_str(a);
	char *cidr = vf_asprintf("%s/%u", s, prefix);
	size_t cap = h->n_addrs;
	VF_APPEND(h->addrs, h->n_addrs, cap, cidr);
}

static unsigned vf_lv__mask_bits(const unsigned char *b, size_t n)
{
	unsigned bits = 0;
	for (size_t i = 0; i < n; i++)
		for (int k = 7; k >= 0 && (b[i] >> k & 1); k--)
			bits++;
	return bits;
}

static void vf_lv__hostifs_kernel(vf_observed *o, size_t *cap)
{
	struct if_nameindex *names = if_nameindex();
	for (struct if_nameindex *p = names; p && p->if_index; p++)
		vf_lv__hostif(o, cap, p->if_name);
	if (names)
		if_freenameindex(names);
	struct ifaddrs *ifa = NULL;
	if (getifaddrs(&ifa) < 0)
		return;
	for (struct ifaddrs *p = ifa; p; p = p->ifa_next) {
		if (!p->ifa_addr || !p->ifa_netmask)
			continue;
		vf_addr a = { 0 };
		unsigned prefix;
		if (p->ifa_addr->sa_family == AF_INET) {
			a.family = 4;
			memcpy(a.b, &((struct sockaddr_in *)p->ifa_addr)->sin_addr, 4);
			prefix = vf_lv__mask_bits((unsigned char *)&((struct sockaddr_in *)p->ifa_netmask)->sin_addr, 4);
		} else if (p->ifa_addr->sa_family == AF_INET6) {
			a.family = 6;
			memcpy(a.b, &((struct sockaddr_in6 *)p->ifa_addr)->sin6_addr, 16);
			if (a.b[0] == 0xfe && (a.b[1] & 0xc0) == 0x80)
				continue; /* link-local: every interface has one */
			prefix = vf_lv__mask_bits((unsigned char *)&((struct sockaddr_in6 *)p->ifa_netmask)->sin6_addr, 16);
		} else {
			continue;
		}
		vf_lv__hostif_addr(vf_lv__hostif(o, cap, p->ifa_name), &a, prefix);
	}
	freeifaddrs(ifa);
}

static void vf_lv__hostifs_libvirt(vf_conn *c, vf_observed *o, size_t *cap)
{
	virInterfacePtr *ifs = NULL;
	int n = virConnectListAllInterfaces(c->conn, &ifs, VIR_CONNECT_LIST_INTERFACES_ACTIVE);
	for (int i = 0; i < n; i++) {
		_cleanup_free_ char *xml = virInterfaceGetXMLDesc(ifs[i], 0);
		vf_obs_hostif *h = vf_lv__hostif(o, cap, virInterfaceGetName(ifs[i]));
		_cleanup_(vf_lv__xdoc_free) vf_lv_xdoc x = { 0 };
		vf_error err = { 0 };
		if (xml && vf_lv__xdoc_open(&x, xml, "an interface", &err) == 0) {
			_cleanup_xobj_ xmlXPathObjectPtr ips = vf_lv__xnodes(x.ctx, NULL, "/interface/protocol/ip");
			for (int k = 0; ips && ips->nodesetval && k < ips->nodesetval->nodeNr; k++) {
				_cleanup_free_ char *addr = vf_lv__xstr(x.ctx, ips->nodesetval->nodeTab[k], "@address");
				vf_addr a;
				if (!vf_addr_parse(addr, &a))
					continue;
				int64_t p = vf_lv__xint(x.ctx, ips->nodesetval->nodeTab[k], "@prefix", 10,
							a.family == 4 ? 32 : 128);
				vf_lv__hostif_addr(h, &a, (unsigned)p);
			}
		}
		vf_error_clear(&err);
		virInterfaceFree(ifs[i]);
	}
	free(ifs);
}

void vf_lv__observe_hostifs(vf_conn *c, vf_observed *o)
{
	size_t cap = 0;
	if (!c->is_test && vf_lv_files_local(c))
		vf_lv__hostifs_kernel(o, &cap);
	else
		vf_lv__hostifs_libvirt(c, o, &cap);
}
