# test_30_network.sh: a NAT network with a DHCP range and a static host,
# and a running tiny guest on it. Adding a static host and a DNS host is
# applied live (the bridge keeps its ifindex, the guest's tap stays on it,
# dnsmasq's files have the new entries); an MTU change is blocked, naming
# the guest, until --replace Network/NAME restarts the network and puts the
# guest's tap back on the new bridge. Each clash is rejected with nothing
# created; removal goes domain first, and a network a declared domain uses
# is not removed.
. "$(dirname "$0")/lib.sh"
vf_setup

net=${P}net
dom=${P}guest
# A bridge name and subnet from the prefix, unlike anything on the host.
n=$(( $(printf '%s' "$P" | cksum | cut -d' ' -f1) % 50 ))
br=vfbr$(printf '%s' "$P" | cksum | cut -c1-6)
sub=10.$((200 + n)).77
ip -br addr | vf_grep -q " $sub\." && vf_fail "subnet $sub.0/24 is on the host already"
vf_log "bridge $br, subnet $sub.0/24"

network() { # extra spec lines
	printf 'apiVersion: virtform/v1\nkind: Network\nmetadata:\n  name: %s\nspec:\n  bridge: {name: %s}\n' "$net" "$br"
	printf '  ips:\n    - address: %s.1\n      prefix: 24\n      dhcp:\n        ranges: [{start: %s.100, end: %s.199}]\n        hosts:\n          - {mac: "52:54:00:77:00:10", name: web1, ip: %s.10}\n' "$sub" "$sub" "$sub" "$sub"
	local l
	for l in "$@"; do printf '%s\n' "$l"; done
}
guest() {
	yaml_domain "$dom" - 'shutdownTimeout: 2s' 'interfaces:' "  - {network: $net, mac: \"52:54:00:77:00:10\"}"
}
tap_of() { vsh domiflist "$dom" | awk -v n="$net" '$3 == n {print $1}'; }
assert_tap_on_bridge() { # what
	local tap
	tap=$(tap_of)
	[ -n "$tap" ] || vf_fail "$1: the guest has no interface on $net: $(vsh domiflist "$dom")"
	[ -e "/sys/class/net/$br/brif/$tap" ] || vf_fail "$1: tap $tap is not on bridge $br (ports: $(ls /sys/class/net/$br/brif 2>&1))"
}

# ---- 1. create: network first, then the guest on it -----------------------
vf_manifest net.yaml "$(network)"
vf_manifest guest.yaml "$(guest)"
vf_run plan "$MAN"
assert_rc 2 "first plan"
first_net=$(printf '%s\n' "$OUT" | grep -n "Network/$net" | cut -d: -f1)
first_dom=$(printf '%s\n' "$OUT" | grep -n "Domain/$dom" | cut -d: -f1)
[ -n "$first_net" ] && [ -n "$first_dom" ] && [ "$first_net" -lt "$first_dom" ] || vf_fail "the network is not planned before the domain"
vf_run apply "$MAN"
assert_rc 0 "first apply"
assert_domain_state "$dom" running
[ "$(vsh net-info "$net" | awk '/^Active:/ {print $2}')" = yes ] || vf_fail "network $net is not active"
assert_tap_on_bridge "after the first apply"
ifindex=$(cat "/sys/class/net/$br/ifindex")

# ---- 2. live: a static host and a DNS host --------------------------------
vf_manifest net.yaml "$(network "          - {mac: \"52:54:00:77:00:11\", name: web2, ip: $sub.11}" '  dns:' "    hosts: [{ip: $sub.11, names: [web2]}]")"
vf_run plan "$MAN"
assert_rc 2 "plan with a new static host"
assert_out_matches "spec\.ips\[0\]\.dhcp\.hosts: .* \(live\)" "the DHCP host is a live change"
assert_out_matches "spec\.dns\.hosts: .* \(live\)" "the DNS host is a live change"
assert_out_not_contains "(restart)" "nothing needs a restart"
vf_run apply "$MAN"
assert_rc 0 "live apply"
assert_eq "$ifindex" "$(cat "/sys/class/net/$br/ifindex")" "the bridge's ifindex after the live update"
assert_tap_on_bridge "after the live update"
grep -q "52:54:00:77:00:11" "/var/lib/libvirt/dnsmasq/$net.hostsfile" || vf_fail "dnsmasq's hosts file lacks the new host: $(cat /var/lib/libvirt/dnsmasq/$net.hostsfile)"
grep -q "web2" "/var/lib/libvirt/dnsmasq/$net.addnhosts" || vf_fail "dnsmasq's addnhosts lacks web2: $(cat /var/lib/libvirt/dnsmasq/$net.addnhosts 2>&1)"
vf_run plan "$MAN"
assert_rc 0 "plan after the live update"

# ---- 3. restart: the MTU, blocked, then --replace ---------------------------
vf_manifest net.yaml "$(network "          - {mac: \"52:54:00:77:00:11\", name: web2, ip: $sub.11}" '  dns:' "    hosts: [{ip: $sub.11, names: [web2]}]" '  mtu: 1400')"
vf_run plan "$MAN"
assert_rc 2 "plan with an MTU change"
assert_out_contains "! Network/$net: changing spec.mtu needs the network redefined and restarted; running on it: Domain \"$dom\"" "the restart is blocked, naming the guest"
assert_out_contains "spec.mtu: (none) → 1400 (restart)" "the MTU is a restart change"
vf_run apply --replace "Network/$net" "$MAN"
assert_rc 0 "apply --replace Network/$net"
[ "$(cat "/sys/class/net/$br/mtu")" = 1400 ] || vf_fail "bridge MTU: $(cat /sys/class/net/$br/mtu)"
assert_tap_on_bridge "after the restart"
assert_domain_state "$dom" running
vf_run plan "$MAN"
assert_rc 0 "plan after the restart"

# ---- 4. clashes: rejected, nothing created -------------------------------------
before=$(vf_prefixed_networks | tr '\n' ' ')
clash() { # name what spec-lines
	local name=${P}$1 what=$2
	shift 2
	vf_manifest clash.yaml "$(printf 'apiVersion: virtform/v1\nkind: Network\nmetadata:\n  name: %s\nspec:\n' "$name"; for l in "$@"; do printf '  %s\n' "$l"; done)"
	vf_run apply "$MAN"
	assert_rc 1 "$what"
	assert_out_contains "error:" "$what"
	assert_out_contains "Network \"$name\"" "$what: the clash names the new network"
	assert_eq "$before" "$(vf_prefixed_networks | tr '\n' ' ')" "$what: networks after the rejected apply"
}
other=10.$((200 + n)).78 # a subnet of its own: only the bridge clashes
clash samebr "the same bridge as a live network" "bridge: {name: $br}" "ips: [{address: $other.1, prefix: 24}]"
clash samesub "an overlapping subnet" "ips: [{address: $sub.129, prefix: 25}]"
hostif=$(ip -o -4 addr show | awk '$2 != "lo" {print $2, $4; exit}')
if [ -n "$hostif" ]; then
	hip=${hostif#* }
	clash hostbr "a bridge named like a host interface" "bridge: {name: ${hostif%% *}}" "ips: [{address: $other.1, prefix: 24}]"
	clash hostsub "a subnet on a host interface" "ips: [{address: ${hip%/*}, prefix: ${hip#*/}}]"
fi
rm -f "$MAN/clash.yaml"
vf_manifest stray.yaml "$(yaml_domain "${P}stray" - 'state: shutoff' 'interfaces:' "  - {network: ${P}nowhere}")"
vf_run apply "$MAN"
assert_rc 1 "a domain on a network that exists nowhere"
assert_out_contains "is on network \"${P}nowhere\", which is neither declared nor on the host" "the missing network is named"
assert_domain_absent "${P}stray"
rm -f "$MAN/stray.yaml"

# ---- 5. removal: blocked while declared, in reverse order otherwise -----------
rm -f "$MAN/net.yaml"
vf_run apply "$MAN"
assert_out_contains "! Network/$net: no longer declared, but the declared Domain \"$dom\" has an interface on it" "removal blocked by a declared domain"
vsh net-info "$net" >/dev/null 2>&1 || vf_fail "network $net was removed under a declared domain"
rm -f "$MAN/guest.yaml"
vf_manifest keep.yaml "$(yaml_domain "${P}keep" - 'state: shutoff')"
vf_run apply "$MAN"
assert_rc 0 "removing the guest and the network"
rm_dom=$(printf '%s\n' "$OUT" | grep -n -- "- Domain/$dom" | head -n 1 | cut -d: -f1)
rm_net=$(printf '%s\n' "$OUT" | grep -n -- "- Network/$net" | head -n 1 | cut -d: -f1)
[ -n "$rm_dom" ] && [ -n "$rm_net" ] && [ "$rm_dom" -lt "$rm_net" ] || vf_fail "the domain is not removed before its network"
assert_domain_absent "$dom"
vsh net-info "$net" >/dev/null 2>&1 && vf_fail "network $net still exists"
vf_pass
