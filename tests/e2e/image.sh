#!/bin/sh
# tests/e2e/image.sh: builds the small Debian cloud images `make e2e` boots,
# once per machine: mmdebstrap (minbase, a kernel, cloud-init with only the
# NoCloud datasource, console on ttyS0) into a folder, `mkfs.ext4 -d` into a
# filesystem image, an MBR from sfdisk, GRUB's boot.img and core.img written
# with dd. No loop devices, nbd or mounts. The mirror is the machine's own apt
# configuration, read now; no mirror's host name is written here.
# Not for booting or checking them (tests/e2e/run.sh).
#
#   sh tests/e2e/image.sh            prints the cache folder holding
#                                    debian-generic.qcow2 and debian-cloud.qcow2
# VF_E2E_CACHE (default /var/cache/virtform-e2e) holds one folder per recipe
# hash: a change to the recipe (below) builds anew; old folders are removed.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
cache_root=${VF_E2E_CACHE:-/var/cache/virtform-e2e}
. /etc/os-release
suite=${VERSION_CODENAME:?no VERSION_CODENAME in /etc/os-release}
# The recipe is the part of this file between the two "recipe" markers
# (and the suite): editing the comments or the plumbing above does not
# rebuild, editing what goes into the image does.
recipe=$( (sed -n '/^# ---- recipe/,/^# ---- end of recipe/p' "$here/image.sh"; echo "$suite") |
	sha256sum | cut -c1-16)
out=$cache_root/$recipe
if [ -f "$out/done" ]; then
	echo "$out"
	exit 0
fi
# One build at a time per cache: a second `make e2e` waits for the first's
# image instead of building (or deleting) it alongside.
mkdir -p "$cache_root"
exec 9>"$cache_root/.lock"
flock 9
if [ -f "$out/done" ]; then
	echo "$out"
	exit 0
fi
for old in "$cache_root"/*; do
	[ -d "$old" ] && [ "$old" != "$out" ] && rm -rf "$old"
done
rm -rf "$out"
mkdir -p "$out"
work=$(mktemp -d "$out/work.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM

# The mirrors: whatever apt on this machine uses (sources.list and
# sources.list.d/*.list or *.sources), passed to mmdebstrap as files.
set --
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
	[ -f "$f" ] && grep -Eq '^[[:space:]]*(deb|Types:)' "$f" && set -- "$@" "$f"
done
[ $# -gt 0 ] || { echo "image.sh: no apt sources on this machine" >&2; exit 1; }

# ---- recipe
start=$(date +%s)
echo "image.sh: building $out (mmdebstrap $suite from this machine's apt sources)" >&2
# Both kernels in one tree; each image keeps one of them.
mmdebstrap --quiet --variant=minbase \
	--include=systemd-sysv,udev,linux-image-amd64,linux-image-cloud-amd64,cloud-init,cloud-guest-utils,e2fsprogs,fdisk \
	--dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
	--dpkgopt='path-exclude=/usr/share/locale/*' \
	--customize-hook='printf "datasource_list: [ NoCloud, None ]\nlocale: C.UTF-8\n" > "$1/etc/cloud/cloud.cfg.d/90-virtform-e2e.cfg"' \
	--customize-hook='chroot "$1" systemctl enable systemd-networkd.service >/dev/null 2>&1; chroot "$1" systemctl mask systemd-networkd-wait-online.service >/dev/null 2>&1' \
	--customize-hook='echo "LABEL=vfroot / ext4 defaults 0 1" > "$1/etc/fstab"' \
	--customize-hook='rm -f "$1/etc/hostname" "$1/etc/machine-id"; touch "$1/etc/machine-id"' \
	"$suite" "$work/root" "$@" >&2

for flavour in generic cloud; do
	tree=$work/root-$flavour
	cp -a "$work/root" "$tree"
	if [ "$flavour" = cloud ]; then keep='*-cloud-amd64'; else keep='*[0-9]-amd64'; fi
	# drop the other kernel: its /boot files and modules
	for k in "$tree"/boot/vmlinuz-*; do
		v=${k#"$tree"/boot/vmlinuz-}
		case "$v" in $keep) kver=$v ;; *) rm -rf "$tree/boot/"*"-$v" "$tree/lib/modules/$v" ;; esac
	done
	mkdir -p "$tree/boot/grub"
	cat >"$tree/boot/grub/grub.cfg" <<CFG
serial --unit=0 --speed=115200
terminal_input serial console
terminal_output serial console
set timeout=0
menuentry "debian $flavour" {
	linux /boot/vmlinuz-$kver root=LABEL=vfroot ro console=tty0 console=ttyS0,115200n8
	initrd /boot/initrd.img-$kver
}
CFG
	# 1 GiB file system (grows with the volume's capacity), from the tree
	mkfs.ext4 -q -L vfroot -d "$tree" "$work/fs.img" 1G
	rm -rf "$tree"
	# disk: 1 MiB for the MBR and GRUB's core, then the partition
	disk=$work/disk.img
	truncate -s 1M "$disk"
	cat "$work/fs.img" >>"$disk"
	rm -f "$work/fs.img"
	echo 'start=2048, type=83, bootable' | sfdisk -q --wipe-partitions never "$disk"
	grub-mkimage -O i386-pc -o "$work/core.img" -p '(hd0,msdos1)/boot/grub' \
		biosdisk part_msdos ext2 normal linux configfile serial terminal search
	dd if=/usr/lib/grub/i386-pc/boot.img of="$disk" bs=440 count=1 conv=notrunc status=none
	dd if="$work/core.img" of="$disk" bs=512 seek=1 conv=notrunc status=none
	qemu-img convert -c -O qcow2 "$disk" "$out/debian-$flavour.qcow2"
	rm -f "$disk"
	sha256sum "$out/debian-$flavour.qcow2" | cut -d' ' -f1 >"$out/debian-$flavour.qcow2.sha256"
done
# ---- end of recipe
echo "image.sh: built in $(($(date +%s) - start))s" >&2
touch "$out/done"
echo "$out"
