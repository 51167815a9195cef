/* placement.c: the placement score (placement.h): fewest placed domains,
 * then the smallest host id; held domains never move. Pure: every host
 * computes it from the same etcd view and so agrees on who tries to take
 * a free domain (a race is still settled by etcd: only one take wins).
 * And the rules for host ids and labels, which manifests and the daemon's
 * flags share. */
#include "controller/core/placement.h"
#include "controller/core/util.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static bool vf_placement__has_label(const vf_place_host *h, const vf_kv *want)
{
	for (size_t i = 0; i < h->n_labels; i++)
		if (strcmp(h->labels[i].key, want->key) == 0)
			return strcmp(h->labels[i].value, want->value) == 0;
	return false;
}

bool vf_placement_host_id_valid(const char *id)
{
	size_t n = strlen(id);
	return n >= 1 && n <= 63 &&
	       strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

/* Kubernetes' label name (and value, which may also be empty): at most 63
 * of [A-Za-z0-9._-], beginning and ending with a letter or digit. */
static bool vf_placement__label_name_ok(const char *s, size_t n)
{
	if (n == 0 || n > 63 || !isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("._-", s[i]))
			return false;
	return true;
}

bool vf_placement_label_key_valid(const char *s)
{
	const char *slash = strchr(s, '/');
	if (!slash)
		return vf_placement__label_name_ok(s, strlen(s));
	size_t plen = (size_t)(slash - s);
	if (plen == 0 || plen > 253 || strchr(slash + 1, '/'))
		return false;
	for (const char *p = s, *e; p < slash; p = e + 1) {
		e = memchr(p, '.', (size_t)(slash - p));
		if (!e)
			e = slash;
		size_t n = (size_t)(e - p);
		if (n == 0 || n > 63 || !isalnum((unsigned char)p[0]) || !isalnum((unsigned char)p[n - 1]))
			return false;
		for (size_t i = 0; i < n; i++)
			if (!(islower((unsigned char)p[i]) || isdigit((unsigned char)p[i]) || p[i] == '-'))
				return false;
	}
	return vf_placement__label_name_ok(slash + 1, strlen(slash + 1));
}

bool vf_placement_label_value_valid(const char *s)
{
	return !*s || vf_placement__label_name_ok(s, strlen(s));
}

bool vf_placement_eligible(const vf_place_domain *d, const vf_place_host *h)
{
	if (d->n_hosts) {
		bool named = false;
		for (size_t i = 0; i < d->n_hosts && !named; i++)
			named = strcmp(d->hosts[i], h->id) == 0;
		if (!named)
			return false;
	}
	for (size_t i = 0; i < d->n_labels; i++)
		if (!vf_placement__has_label(h, &d->labels[i]))
			return false;
	return true;
}

static int vf_placement__by_name(const void *a, const void *b)
{
	const vf_place_domain *const *x = a, *const *y = b;
	return strcmp((*x)->name, (*y)->name);
}

void vf_placement_assign(const vf_place_host *hosts, size_t n_hosts, const vf_place_domain *doms,
			 size_t n_doms, const char **ret)
{
	size_t *load = vf_calloc(n_hosts + 1, sizeof(*load));
	const vf_place_domain **order = vf_calloc(n_doms + 1, sizeof(*order));
	for (size_t i = 0; i < n_doms; i++) {
		ret[i] = doms[i].holder;
		order[i] = &doms[i];
		for (size_t h = 0; doms[i].holder && h < n_hosts; h++)
			if (strcmp(hosts[h].id, doms[i].holder) == 0)
				load[h]++;
	}
	qsort(order, n_doms, sizeof(*order), vf_placement__by_name);
	for (size_t k = 0; k < n_doms; k++) {
		const vf_place_domain *d = order[k];
		if (d->holder)
			continue;
		size_t best = n_hosts;
		for (size_t h = 0; h < n_hosts; h++) {
			if (!vf_placement_eligible(d, &hosts[h]))
				continue;
			if (best == n_hosts || load[h] < load[best] ||
			    (load[h] == load[best] && strcmp(hosts[h].id, hosts[best].id) < 0))
				best = h;
		}
		if (best < n_hosts) {
			ret[d - doms] = hosts[best].id;
			load[best]++;
		}
	}
	free(load);
	free(order);
}
