#!/bin/sh
# deps.sh: apt-install the Debian packages virtform needs that are missing.
# Non-interactive, keeps existing configuration files. As non-root, prints the
# exact command to run instead and fails.
set -eu
missing=""
for p in "$@"; do
	st=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
	case "$st" in
	ii*) ;;
	*) missing="$missing $p" ;;
	esac
done
[ -z "$missing" ] && exit 0
cmd="apt-get install -y --no-install-recommends -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold$missing"
if [ "$(id -u)" != 0 ]; then
	echo "make deps: missing Debian packages:$missing" >&2
	echo "make deps: run as root: apt-get update && DEBIAN_FRONTEND=noninteractive $cmd" >&2
	exit 1
fi
# Is a system sshd running? (/run/sshd.pid is Debian's, init script and unit.)
sshd_running() {
	pid=$(cat /run/sshd.pid 2>/dev/null) && [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}
new_sshd=0
case " $missing " in *" openssh-server "*) sshd_running || new_sshd=1 ;; esac
echo "make deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
$cmd
# openssh-server's postinst starts the system sshd on port 22 (systemd's
# unit, or without systemd `invoke-rc.d ssh start` unless a policy-rc.d
# forbids it, as Docker's does) and enables it at boot. The integration
# suite runs an sshd of its own on 127.0.0.1 and wants none of that: a
# machine that had no sshd before is left without one.
if [ "$new_sshd" = 1 ]; then
	if [ -d /run/systemd/system ]; then
		systemctl disable --now ssh.service ssh.socket >/dev/null 2>&1 || true
	else
		invoke-rc.d ssh stop >/dev/null 2>&1 || /etc/init.d/ssh stop >/dev/null 2>&1 || true
		update-rc.d ssh disable >/dev/null 2>&1 || true
	fi
	if sshd_running; then
		echo "make deps: the system sshd openssh-server started is still running (pid $(cat /run/sshd.pid)); stop it if this machine should not accept ssh logins" >&2
	else
		echo "make deps: openssh-server installed for the tests' own sshd; the system sshd it would start on port 22 is stopped and disabled"
	fi
fi
