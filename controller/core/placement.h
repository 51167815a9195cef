/* placement.h: which host of the fleet runs each placed domain
 * (docs/fleet.md "Placement"), as a pure function of what etcd holds: the
 * live announced hosts with their labels, and who holds each domain's
 * lock. No I/O, no clock; the watch daemon (controller/watch/fleet.c)
 * feeds it and acts on the answer. */
#pragma once

#include "controller/core/model.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct vf_place_host {
	const char *id;           /* --host-id */
	const vf_kv *labels;      /* --host-label KEY=VALUE, as announced */
	size_t n_labels;
} vf_place_host;

typedef struct vf_place_domain {
	const char *name;
	const char *const *hosts; /* placement.hosts; n_hosts 0: any host */
	size_t n_hosts;
	const vf_kv *labels;      /* placement.hostLabels: each must match */
	size_t n_labels;
	const char *holder;       /* host holding its lock now; NULL: free */
} vf_place_domain;

/* A host id (--host-id, placement.hosts): 1 to 63 of [A-Za-z0-9._-]. */
bool vf_placement_host_id_valid(const char *id);
/* Labels, as in Kubernetes and as placement.hostLabels and --host-label
 * take them. A key: an optional DNS subdomain prefix (at most 253
 * characters, dot-separated lower-case labels) and "/", then a name of 1
 * to 63 letters, digits, ".", "_" or "-", beginning and ending with a
 * letter or digit. A value: empty, or such a name. */
bool vf_placement_label_key_valid(const char *key);
bool vf_placement_label_value_valid(const char *value);

/* May host h run domain d: named by placement.hosts (when given) and
 * carrying every label of placement.hostLabels with the same value. */
bool vf_placement_eligible(const vf_place_domain *d, const vf_place_host *h);

/* For each domain, the host that should hold it (borrowed from hosts[] or
 * from the domain's holder), or NULL when no live host is eligible:
 *   - a held domain stays with its holder (stability: no move back when a
 *     host returns; a holder no longer eligible gives it up by itself);
 *   - a free one goes to the eligible live host holding the fewest placed
 *     domains (held ones plus those assigned before it here), then the
 *     smallest host id (strcmp).
 * Free domains are assigned in name order, so every host computes the
 * same answer from the same etcd view. ret[] has n_doms entries. */
void vf_placement_assign(const vf_place_host *hosts, size_t n_hosts, const vf_place_domain *doms,
			 size_t n_doms, const char **ret);
