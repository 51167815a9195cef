# test_15_ssh_removal.sh: issue 20, remote URIs. test_04_removal.sh again,
# its every plan and apply over qemu+ssh:// to the same libvirtd, through a
# second sshd on 127.0.0.1 (vf_start_sshd: its own config, host key and a
# generated client key; host keys verified against its known_hosts). The
# body's virsh checks stay on qemu:///system.
# Not over qemu+libssh://: see test_15_ssh_converge.sh (libvirt 9.0's libssh
# transport stalls and crashes).
. "$(dirname "$0")/lib.sh"
vf_setup
vf_start_sshd
vf_rerun_over ssh "$VFIT_SSH_URI" test_04_removal
vf_pass
