#!/bin/sh
# kvm-access.sh: give /dev/kvm the owner and mode Debian's udev rule gives it
# (group kvm, 0660), on a machine where no udev runs to do so (containers,
# minimal VMs). QEMU runs as libvirt-qemu, a member of group kvm; with the
# kernel's default root:root 0600 it cannot open the device and every
# kvm-type guest fails with "Could not access KVM kernel module". Where udev
# runs, it owns the device node and this script changes nothing.
set -eu
dev=${VF_KVM_DEV:-/dev/kvm}
[ -c "$dev" ] || exit 0                       # no KVM: guests fall back to TCG
if [ -S /run/udev/control ]; then             # udev runs and applied its rule
	exit 0
fi
getent group kvm >/dev/null 2>&1 || exit 0    # no kvm group (qemu not installed)
cur=$(stat -c '%G %a' "$dev")
[ "$cur" = "kvm 660" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "make deps: $dev is $cur and no udev runs; as root: chgrp kvm $dev && chmod 0660 $dev" >&2
	exit 0
fi
echo "make deps: no udev runs here; setting $dev to group kvm, mode 0660 (was $cur), as udev's rule would"
chgrp kvm "$dev"
chmod 0660 "$dev"
