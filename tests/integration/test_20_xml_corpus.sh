# test_20_xml_corpus.sh: libvirt's own domain documents (its
# tests/qemuxml2argvdata, for the release this libvirtd runs) as `xml:`
# manifests converge with zero false drift: apply exits 0, the next plan
# says "No changes". Then changes made behind virtform's back on a sample
# (virsh setmaxmem --config; a device added, one removed and an attribute
# changed with virsh define) each show as drift on that domain alone, and
# apply undoes them. Define-only: no guest is started.
#
# The documents come from Debian's .orig tarball of the installed libvirt,
# through the mirror apt uses, cached under build/xmlcorpus/ (nothing from it
# is committed); only those this libvirtd defines are used (checked with
# virsh define --validate on a throwaway name, cached too). Without network
# and cache the test is skipped, saying so.
. "$(dirname "$0")/lib.sh"
vf_setup

here=$(cd "$(dirname "$0")" && pwd)
corpus_py=$here/xml_corpus.py
cache=${VFIT_XML_CACHE:-$(cd "$here/../.." && pwd)/build/xmlcorpus}
want=${VFIT_XML_CORPUS_SIZE:-100000}
version=$(dpkg-query -W -f '${source:Upstream-Version}' libvirt-daemon 2>/dev/null || true)
[ -n "$version" ] || vf_fail "cannot tell the libvirt version (dpkg-query libvirt-daemon)"
tarball=$(python3 "$corpus_py" fetch "$cache" "$version") || {
	echo "SKIP: libvirt $version's source tarball is neither cached in $cache nor downloadable"
	exit 0
}

# Candidates, and the ones this libvirtd accepts, once per daemon version.
hv=$(vsh version 2>/dev/null | sed -n 's/^Running hypervisor: *//p' | tr -c 'A-Za-z0-9.\n' _)
key="$version-${hv:-unknown}-$DTYPE"
cand=$cache/$key/candidates
accepted=$cache/$key/accepted
if [ ! -s "$accepted" ]; then
	rm -rf "$cache/$key"
	mkdir -p "$cand"
	n=$(python3 "$corpus_py" candidates "$tarball" "$cand" "$DTYPE") || vf_fail "cannot unpack $tarball"
	probe=$(vf_mktemp)
	i=0
	: >"$probe/cmds"
	: >"$probe/map"
	for f in "$cand"/*.xml; do
		i=$((i + 1))
		sed "s|@NAME@|${P}probe-$i|g" "$f" >"$probe/$i.xml"
		printf 'define --validate %s\nundefine %s --keep-nvram\n' "$probe/$i.xml" "${P}probe-$i" >>"$probe/cmds"
		printf '%s %s\n' "${P}probe-$i" "$(basename "$f" .xml)" >>"$probe/map"
	done
	virsh -c "$VFIT_URI" <"$probe/cmds" >"$probe/out" 2>/dev/null || true
	sed -n "s/^Domain '\([^']*\)' defined from .*/\1/p" "$probe/out" | sort >"$probe/ok"
	awk 'NR==FNR { ok[$1] = 1; next } ok[$1] { print $2 }' "$probe/ok" "$probe/map" >"$accepted.part"
	mv "$accepted.part" "$accepted"
	vf_log "libvirt $version: $n documents, $(wc -l <"$accepted") accepted by this libvirtd"
fi
[ "$(vsh list --all --name | grep -c "^${P}probe-")" = 0 ] || vf_fail "probe domains were left defined"

chosen=$(python3 "$corpus_py" select "$cand" "$accepted" "$want")
count=$(printf '%s\n' "$chosen" | grep -c .)
[ "$count" -ge 100 ] || vf_fail "only $count corpus documents this libvirtd accepts; the test needs 100"

# One manifest per document; names carry the prefix and the document's name.
names=()
for b in $chosen; do
	name=${P}x-$(printf '%s' "$b" | tr 'A-Z' 'a-z' | tr -c 'a-z0-9\n' -)
	names+=("$name")
	{
		printf 'apiVersion: virtform/v1\nkind: Domain\nmetadata:\n  name: %s\nspec:\n  state: shutoff\n  xml: |\n' "$name"
		sed "s|@NAME@|$name|g; s/^/    /" "$cand/$b.xml"
	} >"$MAN/$name.yaml"
done

t0=$SECONDS
vf_run apply "$MAN" >/dev/null
assert_rc 0 "apply of $count corpus documents"
vf_log "apply of $count documents: $((SECONDS - t0)) s"
t0=$SECONDS
vf_run plan "$MAN"
assert_rc 0 "re-plan after apply: zero false drift over $count documents"
assert_out_contains "No changes. The host matches the manifests." "re-plan after apply"
vf_log "no-op plan over $count documents: $((SECONDS - t0)) s"

# ---- changes behind virtform's back, on a sample ---------------------------
# Each returns the inactive XML, changed, for virsh define.
inactive() { vsh dumpxml --inactive "$1"; }
pick() { # VAR RE [NOT-RE]: VAR := an unused domain whose inactive XML matches RE, not NOT-RE
	local var=$1 n xml
	shift
	for n in "${names[@]}"; do
		case " $used " in *" $n "*) continue ;; esac
		# read it whole first: under pipefail, grep -q closing the pipe
		# early can kill virsh with SIGPIPE and turn a match into a miss
		xml=$(inactive "$n") || continue
		if grep -Eq -- "$1" <<<"$xml" && ! grep -Eq -- "${2:-^\$never}" <<<"$xml"; then
			used="$used $n"
			printf -v "$var" '%s' "$n"
			return 0
		fi
	done
	return 1
}
used=
pick d_mem "<memory unit='KiB'>[0-9]{6,}</memory>" "<numa>" || vf_fail "no corpus domain with 100 MiB of memory or more"
pick d_add "<devices>" "<watchdog" || vf_fail "no corpus domain without a watchdog"
pick d_del "<interface |<disk " || vf_fail "no corpus domain with an interface or a disk"
pick d_attr "<on_crash>destroy</on_crash>" || vf_fail "no corpus domain with on_crash destroy"

vsh setmaxmem "$d_mem" 98304 --config >/dev/null || vf_fail "virsh setmaxmem --config failed on $d_mem"
redefine() { # name python-expression-on-s: the changed inactive XML
	local f
	f=$(vf_mktemp)/d.xml
	inactive "$1" | python3 -c 'import re, sys; s = sys.stdin.read(); sys.stdout.write('"$2"')' >"$f"
	cmp -s "$f" <(inactive "$1") && vf_fail "the change to $1 ($2) changed nothing"
	vsh define "$f" >/dev/null || vf_fail "virsh define of the changed $1 failed"
}
redefine "$d_add" "s.replace('</devices>', \"<watchdog model='i6300esb' action='reset'/></devices>\", 1)"
if inactive "$d_del" | vf_grep -q "<interface "; then
	del_what=interface
else
	del_what=disk
fi
redefine "$d_del" "re.sub(r'\\s*<$del_what .*?</$del_what>', '', s, count=1, flags=re.S)"
redefine "$d_attr" "s.replace('<on_crash>destroy</on_crash>', '<on_crash>restart</on_crash>', 1)"
inactive "$d_del" | vf_grep -q "<$del_what " && vf_log "$d_del still has another $del_what (it had several)"

vf_run plan "$MAN"
assert_rc 2 "plan after out-of-band changes"
assert_out_contains "Plan: 0 to create, 4 to update, 0 to remove, 0 blocked." "exactly the 4 changed domains"
for d in "$d_mem" "$d_add" "$d_del" "$d_attr"; do
	assert_out_contains "~ Domain/$d: " "drift on $d"
done
printf '%s\n' "$OUT" | grep -A3 "~ Domain/$d_mem: " | vf_grep -Eq "xml:/domain/memory: 98304 KiB → [0-9]+ KiB" ||
	vf_fail "setmaxmem on $d_mem not shown as xml:/domain/memory"
printf '%s\n' "$OUT" | grep -A3 "~ Domain/$d_add: " | vf_grep -Fq "xml:/domain/devices/watchdog" ||
	vf_fail "the watchdog added to $d_add not shown"
printf '%s\n' "$OUT" | grep -A40 "~ Domain/$d_del: " | vf_grep -Eq "xml:/domain/devices/$del_what(\[[0-9]+\])?(/.*)?: " ||
	vf_fail "the $del_what removed from $d_del not shown"
printf '%s\n' "$OUT" | grep -A3 "~ Domain/$d_attr: " | vf_grep -Fq "xml:/domain/on_crash: restart → destroy" ||
	vf_fail "on_crash changed on $d_attr not shown"

vf_run apply "$MAN" >/dev/null
assert_rc 0 "apply undoing the out-of-band changes"
vf_run plan "$MAN" >/dev/null
assert_rc 0 "plan after undoing them"
inactive "$d_add" | vf_grep -q "<watchdog model='i6300esb' action='reset'/>" && vf_fail "the watchdog is still on $d_add"
inactive "$d_attr" | vf_grep -q "<on_crash>destroy</on_crash>" || vf_fail "on_crash is not destroy again on $d_attr"
vf_pass
