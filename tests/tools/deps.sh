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
echo "make deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
$cmd
