# test_31_network_xml_corpus.sh: libvirt's own network documents (its
# tests/networkxml2xmlin, for the release this libvirtd runs) as `xml:`
# Networks: every one this libvirtd defines is applied (defined, left
# inactive), and the next plan says "No changes": libvirt's normalisation
# of them is never drift. Define-only: no bridge is created.
#
# The documents come from Debian's .orig tarball of the installed libvirt
# (tests/integration/xml_corpus.py fetch, cached under build/xmlcorpus/ or
# $VFIT_XML_CACHE). Without network and cache the test is skipped.
. "$(dirname "$0")/lib.sh"
vf_setup

here=$(cd "$(dirname "$0")" && pwd)
cache=${VFIT_XML_CACHE:-$(cd "$here/../.." && pwd)/build/xmlcorpus}
version=$(dpkg-query -W -f '${source:Upstream-Version}' libvirt-daemon 2>/dev/null || true)
[ -n "$version" ] || vf_fail "cannot tell the libvirt version (dpkg-query libvirt-daemon)"
tarball=$(python3 "$here/xml_corpus.py" fetch "$cache" "$version") || {
	echo "SKIP: libvirt $version's source tarball is neither cached in $cache nor downloadable"
	exit 0
}

# Each document with its name, no UUID (virtform derives one), a bridge
# name and subnets of its own (two networks on one bridge or one subnet
# are a conflict).
cand=$(vf_mktemp)
tag=$(printf '%s' "$P" | cksum | cut -c1-5)
python3 - "$tarball" "$cand" "$P" "$tag" <<'PY'
import re, sys, tarfile
tarball, out, prefix, tag = sys.argv[1:]
i = 0
with tarfile.open(tarball) as t:
    for m in t:
        if not re.search(r"/tests/networkxml2xmlin/[^/]+\.xml$", m.name) or not m.isfile():
            continue
        text = t.extractfile(m).read().decode("utf-8", "replace")
        if "<network" not in text or "<name>" not in text:
            continue
        # a host-bridge network names a bridge of libvirt's test host, not
        # of this one: virtform refuses it while planning (rule: the host
        # bridge must be an interface on the host)
        if re.search(r"<forward\s[^>]*mode=['\"]bridge['\"]", text) and re.search(r"<bridge\s[^>]*\bname=", text):
            continue
        i += 1
        base = re.sub(r"[^a-z0-9]+", "-", m.name.rsplit("/", 1)[1][:-4].lower())
        name = "%sn-%s" % (prefix, base)
        text = re.sub(r"<name>[^<]*</name>", "<name>%s</name>" % name, text, count=1)
        text = re.sub(r"\s*<uuid>[^<]*</uuid>", "", text, count=1)
        text = re.sub(r"(<bridge\s[^>]*\bname=)(['\"])[^'\"]*\2", r"\1'vfc%s%02d'" % (tag, i), text, count=1)
        # and subnets of its own: virtform refuses overlapping ones while
        # planning, as libvirt does when the second one starts. Within a
        # document every address moves alike (so its ranges stay inside
        # its subnets); netmasks stay.
        text = re.sub(r"\b(?!255\.|0\.)\d{1,3}\.\d{1,3}\.(\d{1,3})\.(\d{1,3})\b",
                      lambda m: "10.%d.%s.%s" % (100 + i, m.group(1), m.group(2)), text)
        text = re.sub(r"\b2001:db8:", "2001:db%02x:" % i, text)
        open("%s/%s.xml" % (out, name), "w").write(text)
PY
# The ones this libvirtd accepts (each defined and undefined at once).
n=0
for f in "$cand"/*.xml; do
	name=$(basename "$f" .xml)
	if vsh net-define "$f" >/dev/null 2>&1; then
		vsh net-undefine "$name" >/dev/null 2>&1
		n=$((n + 1))
		{
			printf 'apiVersion: virtform/v1\nkind: Network\nmetadata:\n  name: %s\nspec:\n  state: inactive\n  autostart: false\n  xml: |\n' "$name"
			sed 's/^/    /' "$f"
		} >"$MAN/$name.yaml"
	fi
done
total=$(ls "$cand" | wc -l)
vf_log "libvirt $version: $total network documents, $n accepted by this libvirtd"
[ "$n" -ge 20 ] || vf_fail "only $n corpus networks this libvirtd accepts; the test needs 20"

vf_run apply "$MAN" >/dev/null
assert_rc 0 "apply of $n corpus networks"
[ "$(vf_prefixed_networks | wc -l)" = "$n" ] || vf_fail "expected $n networks, libvirt lists $(vf_prefixed_networks | wc -l)"
vf_run plan "$MAN"
assert_rc 0 "re-plan after apply: zero false drift over $n networks"
assert_out_contains "No changes. The host matches the manifests." "re-plan after apply"

# One changed behind virtform's back shows, on that network alone.
one=$(vf_prefixed_networks | head -n 1)
f=$(vf_mktemp)/n.xml
vsh net-dumpxml --inactive "$one" | sed 's|</network>|<mtu size="1234"/></network>|' >"$f"
vsh net-define "$f" >/dev/null || vf_fail "virsh net-define of the changed $one failed"
vf_run plan "$MAN"
assert_rc 2 "plan after an out-of-band change"
assert_out_contains "~ Network/$one: " "drift on $one"
assert_out_contains "Plan: 0 to create, 1 to update, 0 to remove, 0 blocked." "only $one changed"
vf_run apply "$MAN" >/dev/null
assert_rc 0 "apply undoing it"
vf_pass
