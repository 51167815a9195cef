#!/bin/bash
# run.sh: the Debian package as an admin gets it. Builds it from a copy of
# the tree with `dpkg-buildpackage -us -uc -b`, runs lintian (no errors, no
# warnings that debian/*.lintian-overrides does not justify), installs it into
# a fresh bookworm chroot made with mmdebstrap from the archive apt is
# configured with, and checks there: `virtform --version`, `virtform validate`
# of the shipped examples, `man virtform`, the state directory's owner and
# mode, the conffile, the unit installed but not enabled, the completion, the
# Ansible module, and that `dpkg --purge` leaves no file but the admin's
# manifests.
# Needs root and the archive: without it, prints SKIP and exits 0.
# Usage: bash tests/package/run.sh   (from make package-check)
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/vf-package.XXXXXX")
trap 'rm -rf "$work"' EXIT
t0=$(date +%s)
step() { echo "# $(($(date +%s) - t0))s: $*"; }
fail() { echo "FAIL: $*"; echo "package: 0 passed, 1 failed"; exit 1; }

if [ "$(id -u)" != 0 ]; then
	echo "SKIP: package: needs root (mmdebstrap, chroot)"
	exit 0
fi
# The archive apt is configured with: its sources go into the chroot as they
# are, so no mirror is named here.
sources=()
[ -s /etc/apt/sources.list ] && grep -q '^deb ' /etc/apt/sources.list && sources+=(/etc/apt/sources.list)
for f in /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
	[ -s "$f" ] && sources+=("$f")
done
[ ${#sources[@]} -gt 0 ] || { echo "SKIP: package: apt has no sources configured"; exit 0; }
if ! (cd "$work" && timeout 60 apt-get download -q=2 debian-archive-keyring >/dev/null 2>&1); then
	echo "SKIP: package: the Debian archive apt is configured with does not answer"
	exit 0
fi

step "build"
mkdir "$work/src"
tar -C "$src" --exclude=./build --exclude=./.git --exclude='./debian/virtform' -cf - . | tar -C "$work/src" -xf -
(cd "$work/src" && DEB_BUILD_OPTIONS="nocheck ${DEB_BUILD_OPTIONS:-}" dpkg-buildpackage -us -uc -b -Pnocheck) \
	>"$work/build.log" 2>&1 || { tail -n 40 "$work/build.log"; fail "dpkg-buildpackage failed"; }
deb=$(ls "$work"/virtform_*_*.deb)

step "lintian"
lintian --allow-root --fail-on error,warning "$work"/virtform_*.changes >"$work/lintian.log" 2>&1 ||
	{ cat "$work/lintian.log"; fail "lintian reports errors or unjustified warnings"; }
[ -s "$work/lintian.log" ] && sed 's/^/    lintian: /' "$work/lintian.log"

# The package's own dependencies go into the chroot with man-db; the
# snapshot taken before `dpkg -i` is what purge must bring back.
deps=$(dpkg-deb -f "$deb" Depends | sed -e 's/([^)]*)//g' -e 's/,/ /g' -e 's/|[^ ]*//g')
cp "$deb" "$work/virtform.deb"
cat >"$work/inside.sh" <<'IN'
set -eu
snap() { find / -xdev \( -path /proc -o -path /sys -o -path /dev -o -path /tmp -o -path /run \
	-o -path /var/cache -o -path /var/lib/dpkg -o -path /var/lib/apt -o -path /var/log \
	-o -path /var/lib/systemd/deb-systemd-helper-enabled \) -prune -o -print | LC_ALL=C sort; }
check() { if eval "$2"; then echo "ok $1"; else echo "FAIL $1: $2"; exit 1; fi; }
snap >/tmp/before
dpkg -i /tmp/virtform.deb >/tmp/dpkg.log 2>&1 || { cat /tmp/dpkg.log; exit 1; }
check version '[ "$(virtform --version)" = "virtform 0.1.0" ]'
for d in /usr/share/doc/virtform/examples/*/; do
	case $d in */systemd/|*/gitops/|*/ansible/) continue ;; esac
	check "validate $d" 'virtform validate "$d" >/tmp/v.log 2>&1 || { cat /tmp/v.log; false; }'
done
check "man virtform" 'man virtform 2>/dev/null | grep -q "keep a libvirt host in the state"'
check "man virtform.yaml" 'man 5 virtform.yaml 2>/dev/null | grep -q "virtform"'
check "fence helper next to virtform" '[ -x /usr/bin/virtform-fence ] && man virtform-fence 2>/dev/null | grep -q "placed guests"'
check "state dir root 0700" '[ "$(stat -c "%U:%G %a" /var/lib/virtform)" = "root:root 700" ]'
check "conffile" 'dpkg-query -W -f="\${Conffiles}" virtform | grep -q " /etc/virtform/virtform.conf "'
check "conf parses, all commented" '! grep -q "^[a-z]" /etc/virtform/virtform.conf &&
	virtform watch --config /etc/virtform/virtform.conf 2>&1 | grep -q "no manifest directory"'
check "unit installed" 'grep -q "^ExecStart=/usr/bin/virtform watch" /lib/systemd/system/virtform.service'
check "unit not enabled" '! ls /etc/systemd/system/*.wants/virtform.service >/dev/null 2>&1'
check "ansible module" '[ -s /usr/share/ansible/plugins/modules/virtform.py ]'
check "completion" 'bash -c ". /usr/share/bash-completion/completions/virtform; complete -p virtform" | grep -q _virtform'
# The admin's work: manifests, and a run that leaves a ledger behind.
mkdir -p /srv/virtform/manifests
cp /usr/share/doc/virtform/examples/quickstart/*.yaml /srv/virtform/manifests/
check "apply to test:///default" 'virtform apply -c test:///default /srv/virtform/manifests >/tmp/a.log 2>&1 || { cat /tmp/a.log; false; }'
check "ledger in /var/lib/virtform" '[ -s /var/lib/virtform/ledger.json ]'
echo "# admin edits the conffile" >>/etc/virtform/virtform.conf
dpkg --purge virtform >/tmp/dpkg.log 2>&1 || { cat /tmp/dpkg.log; exit 1; }
snap >/tmp/after
left=$(LC_ALL=C comm -13 /tmp/before /tmp/after | grep -v '^/srv/virtform' || true)
check "purge leaves only the admin's manifests" '[ -z "$left" ] || { echo "left behind:"; echo "$left"; false; }'
check "manifests kept" '[ -s /srv/virtform/manifests/domain.yaml ]'
gone=$(LC_ALL=C comm -23 /tmp/before /tmp/after)
check "purge removes nothing it did not install" '[ -z "$gone" ] || { echo "gone:"; echo "$gone"; false; }'
echo "inside: all passed"
IN

step "mmdebstrap + install + purge"
mmdebstrap --quiet --variant=apt --include="man-db $deps" \
	--customize-hook="copy-in $work/virtform.deb $work/inside.sh /tmp" \
	--customize-hook='chroot "$1" sh /tmp/inside.sh' \
	bookworm "$work/chroot" "${sources[@]}" >"$work/chroot.log" 2>&1 || {
	tail -n 40 "$work/chroot.log"
	fail "the package did not install, work or purge cleanly in a fresh chroot"
}
grep -E '^(ok|FAIL) ' "$work/chroot.log" | sed 's/^/    /'
n=$(grep -c '^ok ' "$work/chroot.log")
grep -q '^inside: all passed' "$work/chroot.log" || fail "the checks in the chroot did not all pass"
step "done"
echo "package: $((n + 2)) passed, 0 failed"
