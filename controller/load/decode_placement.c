/* decode_placement.c: a Domain's spec.placement (the fleet's singleton:
 * which hosts may run it, by id or by their labels; docs/fleet.md), and
 * the refusals that keep a placed domain from running twice (autostart,
 * spec.xml, containers). Not for what the plan does with it
 * (controller/plan/placement.c) nor for a pool's spec.shared (decode_pool.c). */
#include "controller/load/decode_kind.h"
#include "controller/core/placement.h"

static void vf_dec__place_hosts(vf_dec *d, const vf_ynode *n, vf_domain_spec *ds)
{
	if (!vf_dec__seq(d, n, "spec.placement.hosts"))
		return;
	if (n->n_items == 0) {
		vf_dec__fail(d, VF_E_SCHEMA, n->pos,
			     "spec.placement.hosts is empty: list the ids of the hosts that may run this domain, or leave it out and use hostLabels");
		return;
	}
	ds->place_hosts = vf_calloc(n->n_items, sizeof(*ds->place_hosts));
	for (size_t i = 0; i < n->n_items; i++) {
		_cleanup_free_ char *path = vf_asprintf("spec.placement.hosts[%zu]", i);
		char *h = NULL;
		if (!vf_dec__str(d, n->items[i], path, &h))
			continue;
		if (!vf_placement_host_id_valid(h)) {
			_cleanup_free_ char *q = vf_decode_quote(h, strlen(h));
			vf_dec__fail(d, VF_E_SCHEMA, n->items[i]->pos,
				     "invalid %s %s: a host id is 1 to 63 letters, digits, \".\", \"_\" or \"-\" (what `virtform watch --host-id` takes)",
				     path, q);
			free(h);
			continue;
		}
		size_t j = 0;
		while (j < ds->n_place_hosts && strcmp(ds->place_hosts[j], h) != 0)
			j++;
		if (j < ds->n_place_hosts) {
			vf_dec__fail(d, VF_E_SCHEMA, n->items[i]->pos,
				     "host \"%s\" is listed twice in spec.placement.hosts", h);
			free(h);
			continue;
		}
		ds->place_hosts[ds->n_place_hosts++] = h;
	}
}

static void vf_dec__place_labels(vf_dec *d, const vf_ynode *n, vf_domain_spec *ds)
{
	if (!vf_dec__map(d, n, "spec.placement.hostLabels"))
		return;
	if (n->n_pairs == 0) {
		vf_dec__fail(d, VF_E_SCHEMA, n->pos,
			     "spec.placement.hostLabels is empty: give at least one label a host must carry, or leave it out and use hosts");
		return;
	}
	size_t cap = 0;
	for (size_t i = 0; i < n->n_pairs; i++) {
		char *key = NULL, *value = NULL;
		if (!vf_dec__str(d, n->pairs[i].key, "keys in spec.placement.hostLabels", &key))
			continue;
		_cleanup_free_ char *vpath = vf_asprintf("spec.placement.hostLabels.%s", key);
		if (!vf_placement_label_key_valid(key)) {
			_cleanup_free_ char *q = vf_decode_quote(key, strlen(key));
			vf_dec__fail(d, VF_E_SCHEMA, n->pairs[i].key->pos,
				     "invalid label key %s in spec.placement.hostLabels: a key is an optional DNS prefix and \"/\", then 1 to 63 letters, digits, \".\", \"_\" or \"-\", beginning and ending with a letter or digit (as in Kubernetes)",
				     q);
			free(key);
			continue;
		}
		if (!vf_dec__str(d, n->pairs[i].value, vpath, &value)) {
			free(key);
			continue;
		}
		if (!vf_placement_label_value_valid(value)) {
			_cleanup_free_ char *q = vf_decode_quote(value, strlen(value));
			vf_dec__fail(d, VF_E_SCHEMA, n->pairs[i].value->pos,
				     "invalid %s %s: a label value is empty or 1 to 63 letters, digits, \".\", \"_\" or \"-\", beginning and ending with a letter or digit (as in Kubernetes)",
				     vpath, q);
			free(key);
			free(value);
			continue;
		}
		vf_kv e = { .key = key, .value = value };
		VF_APPEND(ds->place_labels, ds->n_place_labels, cap, e);
	}
}

/* The scalar spec.<field> when it is `value`; NULL otherwise. */
static const vf_ynode *vf_dec__is(const vf_ynode *spec, const char *field, const char *value)
{
	const vf_ynode *v = vf_ynode_get(spec, field);
	return v && v->type == VF_YNODE_SCALAR && strcmp(v->value, value) == 0 ? v : NULL;
}

void vf_dec__placement(vf_dec *d, const vf_ynode *spec, vf_domain_spec *ds)
{
	static const char *const fields[] = { "hosts", "hostLabels", NULL };
	const vf_ynode *n = vf_ynode_get(spec, "placement"), *v;
	if (!n || !vf_dec__map(d, n, "spec.placement"))
		return;
	vf_dec__fields(d, n, fields, "Domain spec.placement");
	ds->placed = true;
	ds->placement_pos = n->pos;
	const vf_ynode *hosts = vf_ynode_get(n, "hosts"), *labels = vf_ynode_get(n, "hostLabels");
	if (!hosts && !labels)
		vf_dec__fail(d, VF_E_SCHEMA, n->pos,
			     "spec.placement needs hosts (host ids) or hostLabels (labels a host must carry), or both");
	if (hosts)
		vf_dec__place_hosts(d, hosts, ds);
	if (labels)
		vf_dec__place_labels(d, labels, ds);
	/* libvirt would start it at every host's boot: a double run */
	if ((v = vf_dec__is(spec, "autostart", "true")))
		vf_dec__fail(d, VF_E_SCHEMA, v->pos,
			     "spec.autostart: true cannot be combined with spec.placement: libvirt would start the domain at boot on every host that has it defined, a second copy beside the one the lease holder runs; remove autostart (the fleet starts it on the host holding its lease)");
	if ((v = vf_ynode_key(spec, "xml")))
		vf_dec__fail(d, VF_E_SCHEMA, v->pos,
			     "spec.xml cannot be combined with spec.placement: virtform cannot check yet that the disks of a raw XML domain are on shared storage; describe the domain with structured fields (disks, interfaces, ...)");
	if ((v = vf_dec__is(spec, "type", "lxc")))
		vf_dec__fail(d, VF_E_SCHEMA, v->pos,
			     "spec.type: lxc cannot be combined with spec.placement: a container's filesystems are host folders virtform cannot check are shared, and the fence helper guards QEMU processes only; place virtual machines (type kvm, qemu or auto)");
}
