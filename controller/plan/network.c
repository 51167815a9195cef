/* network.c: planning Networks: create, define, start, autostart; drift
 * split into what virNetworkUpdate changes on a running network (DHCP
 * hosts and ranges, DNS hosts, SRV, TXT: "live") and what needs it
 * restarted (everything else: "restart", blocked unless --replace, naming
 * the running domains on it); the removal of an owned network no longer
 * declared, blocked while a domain uses it; and the gate that keeps a
 * domain from starting on an inactive network. Pure. Not for the clashes
 * networks bring (network_conflict.c). */
#include "controller/plan/network.h"
#include "controller/plan/kind.h"
#include "controller/plan/xmldiff.h"

#include <stdio.h>

static vf_net_forward vf_net__mode(const vf_net_def *d)
{
	return d->forward == VF_NET_FORWARD_UNSET ? VF_NET_NAT : d->forward;
}

static bool vf_net__want_active(const vf_network_spec *ns)
{
	return ns->state != VF_NET_INACTIVE;
}

static const vf_obs_network *vf_net__live(const vf_plan_ctx *c, const char *name)
{
	return vf_observed_network(c->o, name);
}

bool vf_plan__owned_network(const vf_plan_ctx *c, const vf_obs_network *n)
{
	const vf_ledger_entry *e = vf_index_ledger(c->ix, VF_KIND_NETWORK, NULL, n->name);
	if (e)
		return uuid_compare(e->uuid, n->uuid) == 0;
	/* a lost ledger: virtform's element and the declared UUID, as for domains */
	const vf_object *o = vf_index_desired(c->ix, VF_KIND_NETWORK, NULL, n->name);
	return n->managed && o && uuid_compare(o->uuid, n->uuid) == 0;
}

/* ---- the parts as sorted text, to compare as sets and to show ------------- */

static int vf_net__cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* items[0..n) sorted and joined by ", "; NULL when n is 0. Frees items. */
static char *vf_net__join(char **items, size_t n)
{
	if (!n) {
		free(items);
		return NULL;
	}
	qsort(items, n, sizeof(*items), vf_net__cmp_str);
	vf_buf b = { 0 };
	for (size_t i = 0; i < n; i++) {
		vf_buf_printf(&b, "%s%s", i ? ", " : "", items[i]);
		free(items[i]);
	}
	free(items);
	return vf_buf_steal(&b);
}

static char *vf_net__ranges(const vf_net_ip *ip)
{
	char **v = vf_calloc(ip->n_ranges + 1, sizeof(*v));
	for (size_t i = 0; i < ip->n_ranges; i++)
		v[i] = vf_asprintf("%s-%s", ip->ranges[i].start, ip->ranges[i].end);
	return vf_net__join(v, ip->n_ranges);
}

static char *vf_net__hosts(const vf_net_ip *ip)
{
	char **v = vf_calloc(ip->n_hosts + 1, sizeof(*v));
	for (size_t i = 0; i < ip->n_hosts; i++) {
		const vf_net_host *h = &ip->hosts[i];
		v[i] = vf_asprintf("%s%s%s=%s", h->mac ? h->mac : "", h->mac && h->name ? "/" : "",
				   h->name ? h->name : "", h->ip ? h->ip : "");
	}
	return vf_net__join(v, ip->n_hosts);
}

static char *vf_net__dns_hosts(const vf_net_def *d)
{
	char **v = vf_calloc(d->n_dns_hosts + 1, sizeof(*v));
	for (size_t i = 0; i < d->n_dns_hosts; i++) {
		vf_buf b = { 0 };
		vf_buf_printf(&b, "%s=", d->dns_hosts[i].ip);
		for (size_t k = 0; k < d->dns_hosts[i].n_names; k++)
			vf_buf_printf(&b, "%s%s", k ? "/" : "", d->dns_hosts[i].names[k]);
		v[i] = vf_buf_steal(&b);
	}
	return vf_net__join(v, d->n_dns_hosts);
}

static char *vf_net__srv(const vf_net_def *d)
{
	char **v = vf_calloc(d->n_srv + 1, sizeof(*v));
	for (size_t i = 0; i < d->n_srv; i++) {
		const vf_net_srv *s = &d->srv[i];
		v[i] = vf_asprintf("_%s._%s%s%s %s:%d prio %d weight %d", s->service, s->protocol,
				   s->domain ? "." : "", s->domain ? s->domain : "",
				   s->target ? s->target : "", s->port, s->priority, s->weight);
	}
	return vf_net__join(v, d->n_srv);
}

static char *vf_net__txt(const vf_net_def *d)
{
	char **v = vf_calloc(d->n_txt + 1, sizeof(*v));
	for (size_t i = 0; i < d->n_txt; i++)
		v[i] = vf_asprintf("%s=%s", d->txt[i].name, d->txt[i].value);
	return vf_net__join(v, d->n_txt);
}

static char *vf_net__forwarders(const vf_net_def *d)
{
	char **v = vf_calloc(d->n_forwarders + 1, sizeof(*v));
	for (size_t i = 0; i < d->n_forwarders; i++)
		v[i] = vf_asprintf("%s%s%s", d->forwarders[i].addr ? d->forwarders[i].addr : "",
				   d->forwarders[i].domain ? "@" : "",
				   d->forwarders[i].domain ? d->forwarders[i].domain : "");
	return vf_net__join(v, d->n_forwarders);
}

static char *vf_net__ip_str(const vf_net_ip *ip)
{
	return vf_asprintf("%s/%u", ip->address, ip->prefix);
}

/* ---- drift ------------------------------------------------------------------ */

typedef struct vf_net_diff {
	bool restart;             /* a field only a redefine and restart applies */
	bool live;                /* a field virNetworkUpdate applies */
	vf_effect restart_effect; /* RESTART on an active network, else LIVE (a redefine) */
} vf_net_diff;

/* want/have (taken) differ: a change of the given class. */
static void vf_net__cmp(vf_step *s, vf_net_diff *nd, const char *field, char *have, char *want,
			bool live_class)
{
	if (vf_streq_null(have, want)) {
		free(have);
		free(want);
		return;
	}
	vf_step__change_take(s, field, have, want, live_class ? VF_EFFECT_LIVE : nd->restart_effect);
	if (live_class)
		nd->live = true;
	else
		nd->restart = true;
}

static const vf_net_ip *vf_net__ip_of(const vf_net_def *d, int family, const char *address)
{
	for (size_t i = 0; i < d->n_ips; i++)
		if (d->ips[i].family == family && vf_streq(d->ips[i].address, address))
			return &d->ips[i];
	return NULL;
}

static void vf_diff__network(const vf_object *o, const vf_obs_network *live, vf_step *s,
			     vf_net_diff *nd)
{
	const vf_net_def *w = &o->u.network.def, *h = &live->def;
	nd->restart_effect = live->active ? VF_EFFECT_RESTART : VF_EFFECT_LIVE;
	vf_net__cmp(s, nd, "spec.forward.mode", vf_strdup(vf_net_forward_to_string(vf_net__mode(h))),
		    vf_strdup(vf_net_forward_to_string(vf_net__mode(w))), false);
	if (w->forward_dev)
		vf_net__cmp(s, nd, "spec.forward.dev", vf_strdup(h->forward_dev), vf_strdup(w->forward_dev), false);
	if (w->bridge)
		vf_net__cmp(s, nd, "spec.bridge.name", vf_strdup(h->bridge), vf_strdup(w->bridge), false);
	if (w->stp != VF_TRI_UNSET)
		vf_net__cmp(s, nd, "spec.bridge.stp", vf_strdup(vf_plan__bool_str(vf_tri_get(h->stp, true))),
			    vf_strdup(vf_plan__bool_str(vf_tri_get(w->stp, true))), false);
	if (w->has_delay)
		vf_net__cmp(s, nd, "spec.bridge.delay", vf_asprintf("%u", h->has_delay ? h->delay : 0),
			    vf_asprintf("%u", w->delay), false);
	if (w->has_mtu)
		vf_net__cmp(s, nd, "spec.mtu", h->has_mtu ? vf_asprintf("%u", h->mtu) : NULL,
			    vf_asprintf("%u", w->mtu), false);
	if (w->mac)
		vf_net__cmp(s, nd, "spec.mac", vf_strdup(h->mac), vf_strdup(w->mac), false);
	if (w->domain)
		vf_net__cmp(s, nd, "spec.domain.name", vf_strdup(h->domain), vf_strdup(w->domain), false);
	if (w->local_only != VF_TRI_UNSET)
		vf_net__cmp(s, nd, "spec.domain.localOnly",
			    vf_strdup(vf_plan__bool_str(vf_tri_get(h->local_only, false))),
			    vf_strdup(vf_plan__bool_str(vf_tri_get(w->local_only, false))), false);
	/* the addresses as a set; each address then its DHCP entries; the
	 * DNS entries; each only when the manifest gives them */
	if (!w->has_ips)
		goto dns;
	char **a = vf_calloc(w->n_ips + 1, sizeof(*a)), **b = vf_calloc(h->n_ips + 1, sizeof(*b));
	for (size_t i = 0; i < w->n_ips; i++)
		a[i] = vf_net__ip_str(&w->ips[i]);
	for (size_t i = 0; i < h->n_ips; i++)
		b[i] = vf_net__ip_str(&h->ips[i]);
	vf_net__cmp(s, nd, "spec.ips", vf_net__join(b, h->n_ips), vf_net__join(a, w->n_ips), false);
	for (size_t i = 0; i < w->n_ips; i++) {
		const vf_net_ip *wi = &w->ips[i];
		const vf_net_ip *hi = vf_net__ip_of(h, wi->family, wi->address);
		static const vf_net_ip none;
		if (!hi)
			hi = &none;
		_cleanup_free_ char *fr = vf_asprintf("spec.ips[%zu].dhcp.ranges", i);
		_cleanup_free_ char *fh = vf_asprintf("spec.ips[%zu].dhcp.hosts", i);
		vf_net__cmp(s, nd, fr, vf_net__ranges(hi), vf_net__ranges(wi), true);
		vf_net__cmp(s, nd, fh, vf_net__hosts(hi), vf_net__hosts(wi), true);
	}
dns:
	if (!w->has_dns)
		return;
	vf_net__cmp(s, nd, "spec.dns.hosts", vf_net__dns_hosts(h), vf_net__dns_hosts(w), true);
	vf_net__cmp(s, nd, "spec.dns.srv", vf_net__srv(h), vf_net__srv(w), true);
	vf_net__cmp(s, nd, "spec.dns.txt", vf_net__txt(h), vf_net__txt(w), true);
	vf_net__cmp(s, nd, "spec.dns.forwarders", vf_net__forwarders(h), vf_net__forwarders(w), false);
}

/* spec.xml, three ways as for domains (docs/concepts.md, "Raw XML: three
 * ways"): with a record, the manifest against the one applied and the live
 * document against what libvirt made of it, both exact; without one
 * (adopted), the manifest must be a subset of the live document. Every
 * difference needs a redefine (and a restart when active). */
static void vf_diff__network_xml(const vf_object *o, const vf_obs_network *live, vf_step *s,
				 vf_net_diff *nd, vf_diags *diags)
{
	const vf_network_spec *ns = &o->u.network;
	const vf_xml_record *rec = &live->applied;
	static const char *const ignore_m[] = { "/network/uuid" };
	static const char *const ignore[] = { "/network/uuid", "/network/metadata" };
	nd->restart_effect = live->active ? VF_EFFECT_RESTART : VF_EFFECT_LIVE;
	vf_xmldiff_list l = { 0 };
	vf_error err = { 0 };
	int r = 0;
	size_t from_manifest = 0;
	if (rec->digest && live->xml_bare) {
		if (!vf_streq(rec->digest, ns->xml_hash))
			r = vf_xmldiff_exact(ns->xml, rec->manifest, ignore_m, 1, &l, &err);
		from_manifest = l.n;
		if (r == 0 && !vf_streq(rec->normalised, live->xml_bare))
			r = vf_xmldiff_exact(rec->normalised, live->xml_bare, NULL, 0, &l, &err);
	} else {
		r = vf_xmldiff_subset(ns->xml, live->xml, ignore, 2, &l, &err);
	}
	if (r < 0)
		vf_diag_add(diags, err.code, ns->xml_pos.file ? ns->xml_pos : o->pos, "Network \"%s\": %s",
			    o->name, err.message);
	for (size_t i = 0; r == 0 && i < l.n; i++) {
		_cleanup_free_ char *f = vf_asprintf("xml:%s", l.items[i].path);
		vf_step__change(s, f, l.items[i].old_value, l.items[i].new_value, nd->restart_effect);
		nd->restart = true;
	}
	if (r == 0 && l.n && !from_manifest)
		s->reason = vf_asprintf("%zu field%s changed outside virtform since the last apply", l.n,
					l.n == 1 ? "" : "s");
	vf_xmldiff_list_free(&l);
	vf_error_clear(&err);
}

/* ---- who is on a network -------------------------------------------------- */

/* The running (or paused) live domains with an interface on network
 * `name`, as "\"a\", \"b\""; NULL when none. Caller frees. */
static char *vf_net__running_users(const vf_plan_builder *b, const char *name, bool skip_removed)
{
	vf_buf out = { 0 };
	size_t n = 0;
	for (size_t i = 0; i < b->c.o->n_domains; i++) {
		const vf_obs_domain *d = &b->c.o->domains[i];
		if (d->state == VF_RUN_SHUTOFF || (skip_removed && vf_plan__domain_removed(b, d->name)))
			continue;
		for (size_t k = 0; k < d->n_ifaces; k++)
			if (vf_streq(d->ifaces[k].network, name)) {
				vf_buf_printf(&out, "%sDomain \"%s\"", n++ ? ", " : "", d->name);
				break;
			}
	}
	char *s = vf_buf_steal(&out);
	if (!n) {
		free(s);
		return NULL;
	}
	return s;
}

/* ---- steps ----------------------------------------------------------------- */

static void vf_plan__network_create_ops(vf_step *s, const vf_object *o)
{
	const vf_network_spec *ns = &o->u.network;
	vf_plan__ledger_put(s, o, VF_DELETION_DELETE);
	vf_step__op(s, VF_OP_NETWORK_DEFINE, o);
	if (vf_net__want_active(ns))
		vf_step__op(s, VF_OP_NETWORK_START, o);
	if (vf_tri_get(ns->autostart, true))
		vf_step__op(s, VF_OP_NETWORK_AUTOSTART, o)->flag = true;
}

static void vf_plan__network(vf_plan_builder *b, const vf_object *o)
{
	const vf_network_spec *ns = &o->u.network;
	const vf_net_def *nd = &ns->def;
	const vf_obs_network *live = vf_net__live(&b->c, o->name);
	vf_step s = vf_step__new(VF_KIND_NETWORK, NULL, o->name, o->pos);
	bool want_active = vf_net__want_active(ns);
	bool want_auto = vf_tri_get(ns->autostart, true);

	if (!live) {
		s.action = VF_ACT_CREATE;
		vf_buf r = { 0 };
		vf_buf_printf(&r, "define %s network", vf_net_forward_to_string(vf_net__mode(nd)));
		if (nd->bridge)
			vf_buf_printf(&r, " on bridge %s", nd->bridge);
		for (size_t i = 0; i < nd->n_ips; i++)
			vf_buf_printf(&r, "%s%s/%u", i ? ", " : " with ", nd->ips[i].address, nd->ips[i].prefix);
		vf_buf_add(&r, want_active ? ", then start it" : ", left inactive");
		s.reason = vf_buf_steal(&r);
		vf_plan__network_create_ops(&s, o);
		vf_plan__push(b, &s);
		return;
	}
	bool owned = vf_plan__owned_network(&b->c, live);
	if (!owned && !ns->adopt) {
		vf_step__clear(&s); /* a conflict, reported by conflict.c */
		return;
	}
	if (owned && vf_plan__unfinished(&b->c, VF_KIND_NETWORK, NULL, o->name)) {
		s.action = VF_ACT_UPDATE;
		vf_step__reason(&s, VF_PLAN_REDO "define it again in place");
		vf_plan__network_create_ops(&s, o);
		vf_plan__push(b, &s);
		return;
	}
	vf_net_diff d = { 0 };
	if (ns->xml)
		vf_diff__network_xml(o, live, &s, &d, &b->diags);
	else
		vf_diff__network(o, live, &s, &d);
	if (want_active != live->active)
		vf_step__change(&s, "spec.state", live->active ? "active" : "inactive",
				want_active ? "active" : "inactive", VF_EFFECT_LIVE);
	if (want_auto != live->autostart)
		vf_step__change(&s, "spec.autostart", vf_plan__bool_str(live->autostart),
				vf_plan__bool_str(want_auto), VF_EFFECT_LIVE);
	if (s.n_changes == 0 && owned) {
		vf_step__clear(&s);
		return;
	}
	_cleanup_free_ char *ref = vf_plan__ref(VF_KIND_NETWORK, NULL, o->name);
	s.action = VF_ACT_UPDATE;
	if (d.restart && live->active) {
		_cleanup_free_ char *users = vf_net__running_users(b, o->name, false);
		_cleanup_free_ char *fields = NULL;
		vf_buf f = { 0 };
		for (size_t i = 0, n = 0; i < s.n_changes; i++)
			if (s.changes[i].effect == VF_EFFECT_RESTART)
				vf_buf_printf(&f, "%s%s", n++ ? ", " : "", s.changes[i].field);
		fields = vf_buf_steal(&f);
		_cleanup_free_ char *who = users ? vf_asprintf("; running on it: %s, whose interfaces are reconnected to the new bridge", users)
						 : vf_strdup("; no running domain uses it");
		if (!vf_plan__replace_allowed(&b->c, ref)) {
			s.action = VF_ACT_BLOCKED;
			free(s.reason);
			s.reason = NULL;
			vf_step__reason(&s, "changing %s needs the network redefined and restarted%s; use --replace %s",
				       fields, who, ref);
			vf_plan__push(b, &s);
			return;
		}
		free(s.reason);
		s.reason = NULL;
		vf_step__reason(&s, "restart (--replace %s): changing %s redefines and restarts the network%s",
			       ref, fields, who);
		if (!owned)
			vf_plan__ledger_put(&s, o, VF_DELETION_DELETE);
		vf_step__op(&s, VF_OP_NETWORK_DEFINE, o);
		if (want_active)
			vf_step__op(&s, VF_OP_NETWORK_RESTART, o);
		else
			vf_step__op(&s, VF_OP_NETWORK_STOP, o);
	} else {
		if (!s.reason)
			s.reason = vf_plan__drift_reason(s.n_changes, !owned, "network");
		if (!owned)
			vf_plan__ledger_put(&s, o, VF_DELETION_DELETE);
		if (d.restart || (d.live && !live->active))
			vf_step__op(&s, VF_OP_NETWORK_DEFINE, o);
		else if (d.live)
			vf_step__op(&s, VF_OP_NETWORK_UPDATE, o);
		if (want_active && !live->active)
			vf_step__op(&s, VF_OP_NETWORK_START, o);
		else if (!want_active && live->active)
			vf_step__op(&s, VF_OP_NETWORK_STOP, o);
	}
	if (want_auto != live->autostart)
		vf_step__op(&s, VF_OP_NETWORK_AUTOSTART, o)->flag = want_auto;
	vf_plan__push(b, &s);
}

/* A declared domain with an interface on network `name`; NULL none. */
static const vf_object *vf_net__declared_user(const vf_plan_ctx *c, const char *name)
{
	for (size_t i = 0; i < c->d->n; i++) {
		const vf_object *o = &c->d->objs[i];
		for (size_t k = 0; o->kind == VF_KIND_DOMAIN && k < o->u.domain.n_ifaces; k++)
			if (vf_streq(o->u.domain.ifaces[k].network, name))
				return o;
	}
	return NULL;
}

static void vf_plan__remove_network(vf_plan_builder *b, const vf_ledger_entry *e)
{
	const vf_obs_network *live = vf_net__live(&b->c, e->name);
	if (!live || uuid_compare(live->uuid, e->uuid) != 0) {
		vf_plan__retain(b, e, "already gone from the host");
		return;
	}
	vf_step s = vf_step__new(VF_KIND_NETWORK, NULL, e->name, (vf_pos){ 0 });
	const vf_object *decl = vf_net__declared_user(&b->c, e->name);
	_cleanup_free_ char *users = decl ? NULL : vf_net__running_users(b, e->name, true);
	if (decl) {
		s.action = VF_ACT_BLOCKED;
		vf_step__reason(&s, "no longer declared, but the declared Domain \"%s\" has an interface on it",
			       decl->name);
	} else if (users) {
		s.action = VF_ACT_BLOCKED;
		vf_step__reason(&s, "no longer declared, but %s is running with an interface on it; stop it or move it first",
			       users);
	} else {
		s.action = VF_ACT_REMOVE;
		s.reason = vf_strdup(live->active ? "no longer declared; stop and undefine"
						  : "no longer declared; undefine");
		vf_step__op(&s, VF_OP_NETWORK_UNDEFINE, NULL);
		vf_step__op(&s, VF_OP_LEDGER_DROP, NULL);
	}
	vf_plan__push(b, &s);
}

/* ---- the gate: no domain starts on an inactive network --------------------- */

/* Network `name` is inactive once this plan has run: declared inactive,
 * or live, inactive and not started by a step of this plan. */
static bool vf_net__ends_inactive(const vf_plan_builder *b, const char *name)
{
	const vf_object *o = vf_index_desired(b->c.ix, VF_KIND_NETWORK, NULL, name);
	if (o)
		return !vf_net__want_active(&o->u.network);
	const vf_obs_network *live = vf_net__live(&b->c, name);
	return live && !live->active;
}

void vf_plan__network_gate(vf_plan_builder *b)
{
	for (size_t i = 0; i < b->plan.n; i++) {
		vf_step *s = &b->plan.steps[i];
		if (s->kind != VF_KIND_DOMAIN || s->action == VF_ACT_BLOCKED)
			continue;
		const vf_object *o = NULL;
		bool starts = false;
		for (size_t k = 0; k < s->n_ops; k++) {
			if (s->ops[k].obj)
				o = s->ops[k].obj;
			starts |= s->ops[k].type == VF_OP_DOMAIN_START || s->ops[k].type == VF_OP_DOMAIN_RESUME;
		}
		if (!starts || !o || o->kind != VF_KIND_DOMAIN)
			continue;
		for (size_t k = 0; k < o->u.domain.n_ifaces; k++) {
			const char *net = o->u.domain.ifaces[k].network;
			if (!net || !vf_net__ends_inactive(b, net))
				continue;
			vf_plan_block_step(&b->plan, s,
					   vf_asprintf("not started: its interface spec.interfaces[%zu] is on Network \"%s\", which is inactive (spec.state: active starts it)",
						       k, net));
			break;
		}
	}
}

const vf_plan_kind vf_plan_kind_network = {
	.name = "Network",
	.kind = VF_KIND_NETWORK,
	.plan = vf_plan__network,
	.remove = vf_plan__remove_network,
	.has_uuid = true,
};
