/* netaddr.c: addresses and subnets as values (netaddr.h). Not for
 * interfaces or routes: drivers observe those. */
#include "controller/core/netaddr.h"

#include <arpa/inet.h>
#include <string.h>

#include "controller/core/util.h"

bool vf_addr_parse(const char *s, vf_addr *out)
{
	vf_addr a = { 0 };
	if (!s)
		return false;
	if (inet_pton(AF_INET, s, a.b) == 1)
		a.family = 4;
	else if (inet_pton(AF_INET6, s, a.b) == 1)
		a.family = 6;
	else
		return false;
	*out = a;
	return true;
}

char *vf_addr_str(const vf_addr *a)
{
	char buf[INET6_ADDRSTRLEN];
	if (!inet_ntop(a->family == 4 ? AF_INET : AF_INET6, a->b, buf, sizeof(buf)))
		return vf_strdup("?");
	return vf_strdup(buf);
}

unsigned vf_addr_bits(const vf_addr *a)
{
	return a->family == 4 ? 32 : 128;
}

/* The first `bits` bits of a and b are equal. */
static bool vf_addr__prefix_eq(const vf_addr *a, const vf_addr *b, unsigned bits)
{
	unsigned full = bits / 8, rest = bits % 8;
	if (memcmp(a->b, b->b, full) != 0)
		return false;
	if (!rest)
		return true;
	unsigned char mask = (unsigned char)(0xff << (8 - rest));
	return (a->b[full] & mask) == (b->b[full] & mask);
}

bool vf_addr_in_subnet(const vf_addr *a, const vf_addr *net, unsigned prefix)
{
	return a->family == net->family && prefix <= vf_addr_bits(a) &&
	       vf_addr__prefix_eq(a, net, prefix);
}

bool vf_subnets_overlap(const vf_addr *a, unsigned pa, const vf_addr *b, unsigned pb)
{
	if (a->family != b->family)
		return false;
	unsigned p = pa < pb ? pa : pb;
	if (p > vf_addr_bits(a))
		p = vf_addr_bits(a);
	return vf_addr__prefix_eq(a, b, p);
}

int vf_addr_cmp(const vf_addr *a, const vf_addr *b)
{
	if (a->family != b->family)
		return a->family - b->family;
	return memcmp(a->b, b->b, a->family == 4 ? 4 : 16);
}

char *vf_subnet_str(const vf_addr *a, unsigned prefix)
{
	vf_addr n = *a;
	unsigned bits = vf_addr_bits(a);
	if (prefix > bits)
		prefix = bits;
	for (unsigned i = prefix; i < bits; i++)
		n.b[i / 8] &= (unsigned char)~(0x80 >> (i % 8));
	_cleanup_free_ char *s = vf_addr_str(&n);
	return vf_asprintf("%s/%u", s, prefix);
}
