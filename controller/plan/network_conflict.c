/* network_conflict.c: every clash Networks bring, found before anything
 * changes: bridge names (declared, live, host interfaces), overlapping
 * IPv4/IPv6 subnets (declared, live, host addresses), a domain interface
 * on a network that exists nowhere, a static DHCP MAC on two domains.
 * Each names both sides. Pure: host interfaces come from observed state.
 * Not for the identity clashes every kind has (conflict.c). */
#include "controller/plan/network_conflict.h"
#include "controller/core/netaddr.h"

#include <stdio.h>

static vf_net_forward vf_net__mode(const vf_net_def *d)
{
	return d->forward == VF_NET_FORWARD_UNSET ? VF_NET_NAT : d->forward;
}

static const vf_obs_network *vf_net__live(const vf_plan_ctx *c, const char *name)
{
	return vf_observed_network(c->o, name);
}

static char *vf_net__where(vf_pos p)
{
	return vf_asprintf("%s:%d", vf_plan__base(p.file), p.line);
}

static vf_pos vf_net__pos(vf_pos p, const vf_object *o)
{
	return p.file ? p : o->pos;
}

/* Is host interface `name` a live network's own bridge? */
static bool vf_net__is_live_bridge(const vf_plan_ctx *c, const char *name)
{
	for (size_t i = 0; i < c->o->n_networks; i++)
		if (vf_streq(c->o->networks[i].def.bridge, name) ||
		    vf_streq(c->o->networks[i].live_bridge, name))
			return true;
	return false;
}

static const vf_obs_hostif *vf_net__hostif(const vf_plan_ctx *c, const char *name)
{
	for (size_t i = 0; i < c->o->n_hostifs; i++)
		if (vf_streq(c->o->hostifs[i].name, name))
			return &c->o->hostifs[i];
	return NULL;
}

/* Live networks other than `name` and not declared (those are checked
 * through their declaration). */
static bool vf_net__other_live(const vf_plan_ctx *c, const vf_obs_network *n, const char *name)
{
	return !vf_streq(n->name, name) && !vf_index_desired(c->ix, VF_KIND_NETWORK, NULL, n->name);
}

static void vf_net__bridges(const vf_plan_ctx *c, const vf_object **nets, size_t n, vf_diags *out)
{
	for (size_t j = 0; j < n; j++) {
		const vf_object *b = nets[j];
		const vf_net_def *bd = &b->u.network.def;
		if (!bd->bridge)
			continue;
		vf_pos bp = vf_net__pos(b->u.network.bridge_pos, b);
		if (vf_net__mode(bd) == VF_NET_BRIDGE) {
			/* a host bridge it attaches to: it must be there */
			if (c->o->n_hostifs && !vf_net__hostif(c, bd->bridge))
				VF_CONFLICT(out, bp, (vf_pos){ 0 },
					    "Network \"%s\": forward mode bridge needs the host bridge \"%s\", which is not an interface on the host",
					    b->name, bd->bridge);
			continue;
		}
		for (size_t i = 0; i < j; i++) {
			const vf_object *a = nets[i];
			if (vf_net__mode(&a->u.network.def) == VF_NET_BRIDGE ||
			    !vf_streq(a->u.network.def.bridge, bd->bridge))
				continue;
			vf_pos ap = vf_net__pos(a->u.network.bridge_pos, a);
			_cleanup_free_ char *w = vf_net__where(ap);
			VF_CONFLICT(out, bp, ap, "Network \"%s\" has the same bridge name \"%s\" as Network \"%s\" (%s)",
				    b->name, bd->bridge, a->name, w);
		}
		bool live_clash = false;
		for (size_t i = 0; i < c->o->n_networks; i++) {
			const vf_obs_network *l = &c->o->networks[i];
			if (!vf_net__other_live(c, l, b->name) || vf_net__mode(&l->def) == VF_NET_BRIDGE ||
			    !(vf_streq(l->def.bridge, bd->bridge) || vf_streq(l->live_bridge, bd->bridge)))
				continue;
			VF_CONFLICT(out, bp, (vf_pos){ 0 },
				    "Network \"%s\" has the same bridge name \"%s\" as the live network \"%s\" on the host",
				    b->name, bd->bridge, l->name);
			live_clash = true;
		}
		const vf_obs_network *self = vf_net__live(c, b->name);
		bool own = self && (vf_streq(self->def.bridge, bd->bridge) || vf_streq(self->live_bridge, bd->bridge));
		if (!live_clash && !own && vf_net__hostif(c, bd->bridge) && !vf_net__is_live_bridge(c, bd->bridge))
			VF_CONFLICT(out, bp, (vf_pos){ 0 },
				    "Network \"%s\": the bridge name \"%s\" is already an interface on the host",
				    b->name, bd->bridge);
	}
}

/* One subnet, for the overlap check. */
typedef struct vf_net_subnet {
	vf_addr a;
	unsigned prefix;
	vf_pos pos;
} vf_net_subnet;

static bool vf_net__subnet(const vf_net_ip *ip, vf_net_subnet *out)
{
	if (!vf_addr_parse(ip->address, &out->a))
		return false;
	out->prefix = ip->prefix;
	out->pos = ip->pos;
	return true;
}

/* "10.0.0.5/24" of a host interface into a subnet. */
static bool vf_net__cidr(const char *cidr, vf_net_subnet *out)
{
	const char *slash = strchr(cidr, '/');
	if (!slash)
		return false;
	_cleanup_free_ char *addr = vf_strndup(cidr, (size_t)(slash - cidr));
	out->prefix = (unsigned)strtoul(slash + 1, NULL, 10);
	return vf_addr_parse(addr, &out->a);
}

static void vf_net__subnets(const vf_plan_ctx *c, const vf_object **nets, size_t n, vf_diags *out)
{
	for (size_t j = 0; j < n; j++) {
		const vf_object *b = nets[j];
		const vf_net_def *bd = &b->u.network.def;
		for (size_t bi = 0; bi < bd->n_ips; bi++) {
			vf_net_subnet sb;
			if (!vf_net__subnet(&bd->ips[bi], &sb))
				continue;
			vf_pos bp = vf_net__pos(sb.pos, b);
			_cleanup_free_ char *bs = vf_subnet_str(&sb.a, sb.prefix);
			for (size_t i = 0; i < j; i++) {
				const vf_net_def *ad = &nets[i]->u.network.def;
				for (size_t ai = 0; ai < ad->n_ips; ai++) {
					vf_net_subnet sa;
					if (!vf_net__subnet(&ad->ips[ai], &sa) ||
					    !vf_subnets_overlap(&sa.a, sa.prefix, &sb.a, sb.prefix))
						continue;
					vf_pos ap = vf_net__pos(sa.pos, nets[i]);
					_cleanup_free_ char *w = vf_net__where(ap);
					_cleanup_free_ char *as = vf_subnet_str(&sa.a, sa.prefix);
					VF_CONFLICT(out, bp, ap,
						    "Network \"%s\": its subnet %s overlaps the subnet %s of Network \"%s\" (%s)",
						    b->name, bs, as, nets[i]->name, w);
				}
			}
			for (size_t i = 0; i < c->o->n_networks; i++) {
				const vf_obs_network *l = &c->o->networks[i];
				if (!vf_net__other_live(c, l, b->name))
					continue;
				for (size_t ai = 0; ai < l->def.n_ips; ai++) {
					vf_net_subnet sa;
					if (!vf_net__subnet(&l->def.ips[ai], &sa) ||
					    !vf_subnets_overlap(&sa.a, sa.prefix, &sb.a, sb.prefix))
						continue;
					_cleanup_free_ char *as = vf_subnet_str(&sa.a, sa.prefix);
					VF_CONFLICT(out, bp, (vf_pos){ 0 },
						    "Network \"%s\": its subnet %s overlaps the subnet %s of the live network \"%s\" on the host",
						    b->name, bs, as, l->name);
				}
			}
			for (size_t i = 0; i < c->o->n_hostifs; i++) {
				const vf_obs_hostif *h = &c->o->hostifs[i];
				if (vf_net__is_live_bridge(c, h->name))
					continue; /* a network's own bridge: checked as that network */
				for (size_t k = 0; k < h->n_addrs; k++) {
					vf_net_subnet sa;
					if (!vf_net__cidr(h->addrs[k], &sa) ||
					    !vf_subnets_overlap(&sa.a, sa.prefix, &sb.a, sb.prefix))
						continue;
					VF_CONFLICT(out, bp, (vf_pos){ 0 },
						    "Network \"%s\": its subnet %s overlaps the address %s of the host interface \"%s\"",
						    b->name, bs, h->addrs[k], h->name);
				}
			}
		}
	}
}

/* Domain interfaces: the network exists somewhere, and a MAC that is a
 * static DHCP host is on one domain only. */
static void vf_net__domain_ifaces(const vf_plan_ctx *c, vf_diags *out)
{
	for (size_t j = 0; j < c->d->n; j++) {
		const vf_object *o = &c->d->objs[j];
		if (o->kind != VF_KIND_DOMAIN)
			continue;
		for (size_t k = 0; k < o->u.domain.n_ifaces; k++) {
			const vf_iface *ifc = &o->u.domain.ifaces[k];
			vf_pos at = vf_net__pos(ifc->pos, o);
			if (ifc->network && !vf_index_desired(c->ix, VF_KIND_NETWORK, NULL, ifc->network) &&
			    !vf_net__live(c, ifc->network))
				VF_CONFLICT(out, at, (vf_pos){ 0 },
					    "Domain \"%s\": spec.interfaces[%zu] is on network \"%s\", which is neither declared nor on the host",
					    o->name, k, ifc->network);
			if (!ifc->mac)
				continue;
			/* the same MAC on an earlier domain's interface */
			for (size_t i = 0; i < j; i++) {
				const vf_object *p = &c->d->objs[i];
				for (size_t m = 0; p->kind == VF_KIND_DOMAIN && m < p->u.domain.n_ifaces; m++) {
					const vf_iface *q = &p->u.domain.ifaces[m];
					if (!vf_streq(q->mac, ifc->mac))
						continue;
					/* a static host for that MAC on either network */
					const char *ip_a = NULL, *ip_b = NULL;
					for (size_t t = 0; t < 2; t++) {
						const char *nn = t ? ifc->network : q->network;
						const vf_object *no = nn ? vf_index_desired(c->ix, VF_KIND_NETWORK, NULL, nn) : NULL;
						for (size_t x = 0; no && x < no->u.network.def.n_ips; x++)
							for (size_t y = 0; y < no->u.network.def.ips[x].n_hosts; y++)
								if (vf_streq(no->u.network.def.ips[x].hosts[y].mac, ifc->mac))
									*(t ? &ip_b : &ip_a) = no->u.network.def.ips[x].hosts[y].ip;
					}
					if (!ip_a && !ip_b)
						continue;
					vf_pos qp = vf_net__pos(q->pos, p);
					_cleanup_free_ char *w = vf_net__where(qp);
					VF_CONFLICT(out, at, qp,
						    "Domain \"%s\": spec.interfaces[%zu] has MAC %s, a static DHCP host (%s), which Domain \"%s\" (%s) also uses (%s); each would take the other's address",
						    o->name, k, ifc->mac, ip_b ? ip_b : "none on its network", p->name, w,
						    ip_a ? ip_a : "none on its network");
				}
			}
		}
	}
}

void vf_plan__network_conflicts(const vf_plan_ctx *c, vf_diags *out)
{
	_cleanup_free_ const vf_object **nets = vf_calloc(c->d->n + 1, sizeof(*nets));
	size_t n = 0;
	for (size_t i = 0; i < c->d->n; i++)
		if (c->d->objs[i].kind == VF_KIND_NETWORK)
			nets[n++] = &c->d->objs[i];
	vf_net__bridges(c, nets, n, out);
	vf_net__subnets(c, nets, n, out);
	vf_net__domain_ifaces(c, out);
}

