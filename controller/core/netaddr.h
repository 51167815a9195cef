/* netaddr.h: IPv4 and IPv6 addresses and subnets as values: parse, print,
 * membership and overlap. Shared by the Network decoder (a DHCP range
 * inside its subnet) and the planner (two subnets that overlap). Pure: no
 * I/O, no name resolution. Not for MAC addresses (manifest.h). */
#pragma once

#include <stdbool.h>

typedef struct vf_addr {
	int family;               /* 4 or 6 */
	unsigned char b[16];      /* network order; IPv4 in the first 4 */
} vf_addr;

/* A numeric address (no names, no zone); false when it is not one. */
bool vf_addr_parse(const char *s, vf_addr *out);
/* The canonical text (inet_ntop). Caller frees. */
char *vf_addr_str(const vf_addr *a);
/* The most bits a prefix of a's family has (32 or 128). */
unsigned vf_addr_bits(const vf_addr *a);
/* a is inside net/prefix (same family). */
bool vf_addr_in_subnet(const vf_addr *a, const vf_addr *net, unsigned prefix);
/* The two subnets share an address (same family). */
bool vf_subnets_overlap(const vf_addr *a, unsigned pa, const vf_addr *b, unsigned pb);
/* Compare as numbers; families first. */
int vf_addr_cmp(const vf_addr *a, const vf_addr *b);
/* "10.77.0.0/24": the subnet of a/prefix. Caller frees. */
char *vf_subnet_str(const vf_addr *a, unsigned prefix);
