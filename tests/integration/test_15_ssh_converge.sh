# test_15_ssh_converge.sh: issue 20, remote URIs. test_01_converge.sh again,
# its every plan and apply over qemu+ssh:// to the same libvirtd, through a
# second sshd on 127.0.0.1 (vf_start_sshd: its own config, host key and a
# generated client key; host keys verified against its known_hosts). The
# body's virsh checks stay on qemu:///system.
#
# And over qemu+libssh://, libvirt's own libssh client: with libvirt 9.0
# and libssh 0.10 (Debian 12) a reply libssh has already buffered waits for
# the next thing to arrive on the socket, which virtform's 1 s keepalive
# over libssh provides (lv.h; virsh capabilities waits 5.2 s with the
# default 5 s ping). test_15_ssh_dead_peer.sh covers opening and its bound.
. "$(dirname "$0")/lib.sh"
vf_setup
vf_start_sshd
vf_rerun_over ssh "$VFIT_SSH_URI" test_01_converge
vf_rerun_over libssh "$VFIT_LIBSSH_URI" test_01_converge
vf_pass
