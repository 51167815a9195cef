#!/bin/bash
# run.sh: bash completion (controller/cli/completion.bash) as a user at an
# interactive bash sees it: the script loads in `bash -i`, registers itself
# for virtform (`complete -p`), and a TAB on a simulated command line
# (COMP_LINE, COMP_POINT, COMP_WORDS, COMP_CWORD) offers the commands, each
# command's flags, --replace KIND/NAME from the manifests and -c URIs.
# Needs no libvirt. Usage: bash tests/completion/run.sh PATH/TO/virtform
set -u
vf=${1:?usage: run.sh PATH/TO/virtform}
case "$vf" in /*) ;; *) vf=$(pwd)/$vf ;; esac
src=$(cd "$(dirname "$0")/../.." && pwd)
script=$src/controller/cli/completion.bash
work=$(mktemp -d "${TMPDIR:-/tmp}/vf-completion.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/bin" "$work/home" "$work/m/sub"
ln -s "$vf" "$work/bin/virtform"
fail=0
pass=0

# What TAB offers at the end of LINE, one candidate a line, sorted; run in
# the directory $work/m.
complete_line() { # LINE
	(cd "$work/m" && env -i HOME="$work/home" PATH="$work/bin:/usr/bin:/bin" TERM=dumb \
		LIBVIRT_DEFAULT_URI="${URI:-}" LINE="$1" SCRIPT="$script" \
		bash --norc --noprofile -i -c '
			. "$SCRIPT"
			complete -p virtform >/dev/null || { echo "NOT REGISTERED"; exit 1; }
			COMP_LINE=$LINE
			COMP_POINT=${#LINE}
			read -r -a COMP_WORDS <<<"$LINE"
			[[ $LINE == *" " ]] && COMP_WORDS+=("")
			COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
			fn=$(complete -p virtform | sed -n "s/.*-F \([^ ]*\).*/\1/p")
			"$fn" virtform "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
			printf "%s\n" "${COMPREPLY[@]}"' 2>/dev/null | sed '/^$/d' | LC_ALL=C sort)
}

expect() { # LINE EXPECTED(newline-separated, sorted) WHAT
	local got
	got=$(complete_line "$1")
	if [ "$got" = "$2" ]; then
		pass=$((pass + 1))
	else
		echo "FAIL: $3: TAB after '$1' offers:"
		printf '%s\n' "$got" | sed 's/^/    /'
		echo "  expected:"
		printf '%s\n' "$2" | sed 's/^/    /'
		fail=$((fail + 1))
	fi
}

expect_has() { # LINE WORD WHAT
	if complete_line "$1" | grep -qxF -- "$2"; then
		pass=$((pass + 1))
	else
		echo "FAIL: $3: TAB after '$1' does not offer '$2' (offers: $(complete_line "$1" | tr '\n' ' '))"
		fail=$((fail + 1))
	fi
}

cat >"$work/m/pool.yaml" <<'Y'
apiVersion: virtform/v1
kind: StoragePool
metadata: {name: tank}
spec: {type: dir, target: {path: /srv/tank}}
---
apiVersion: virtform/v1
kind: Volume
metadata: {name: root.qcow2}
spec: {pool: tank, capacity: 1GiB, format: qcow2}
Y
cat >"$work/m/sub/web.yaml" <<'Y'
apiVersion: virtform/v1
kind: Domain
metadata: {name: web}
spec: {vcpus: 1, memory: 128MiB}
Y
cat >"$work/other.yaml" <<'Y'
apiVersion: virtform/v1
kind: Domain
metadata: {name: elsewhere}
spec: {vcpus: 1, memory: 128MiB}
Y
echo notes >"$work/m/README"

# The commands are the ones `virtform --help` lists.
cmds=$("$vf" --help | sed -n '/^Commands:/,/^$/s/^  \([a-z][a-z]*\) .*/\1/p')
expect "virtform " "$(printf '%s\n' --help --version $cmds | LC_ALL=C sort)" "the commands virtform --help lists"
expect "virtform " "$(printf '%s\n' --help --version apply plan snapshot status validate version watch | LC_ALL=C sort)" \
	"the commands"
expect "virtform sn" "snapshot" "snapshot is a command"
expect "virtform pl" "plan" "a command's prefix"
# Every flag `plan --help` documents on an option line, and only those: not
# the ones its descriptions name (`for apply --plan`).
expect "virtform plan --" "$(printf '%s\n' --allow-empty --color --connect --connect-timeout --help \
	--json --out --replace --snapshot --state-dir | LC_ALL=C sort)" "plan's flags are the ones plan --help lists"
expect "virtform apply --" "$(printf '%s\n' --allow-empty --color --connect --connect-timeout --help \
	--json --lock-timeout --lock-wait --plan --replace --state-dir | LC_ALL=C sort)" \
	"apply's flags (not --out, which its --plan description names)"
expect "virtform snapshot --" "$(printf '%s\n' --connect --connect-timeout --help --out --state-dir |
	LC_ALL=C sort)" "snapshot's flags (not --snapshot, which its description names)"
expect "virtform plan -" "$(printf '%s\n' -c -h --allow-empty --color --connect --connect-timeout --help \
	--json --out --replace --snapshot --state-dir | LC_ALL=C sort)" "plan's short flags too"
expect_has "virtform plan --" "--replace" "plan offers --replace"
expect "virtform apply --lock-" "$(printf '%s\n' --lock-timeout --lock-wait)" "apply's --lock- flags"
expect "virtform watch --log" "--log-level" "watch's flags"
expect "virtform watch --log-level " "$(printf '%s\n' debug err info notice warning)" "log levels"
expect "virtform validate --" "$(printf '%s\n' --allow-empty --color --help --json)" "validate has no -c or --replace"
expect "virtform plan --color a" "$(printf '%s\n' always auto)" "--color values"
# --replace: the objects of the current directory when no PATH is given...
expect "virtform apply --replace " "$(printf '%s\n' Domain/web StoragePool/tank Volume/tank/root.qcow2)" \
	"--replace offers the current directory's objects"
expect "virtform apply --replace V" "Volume/tank/root.qcow2" "--replace completes a prefix"
expect "virtform apply --replace=D" "Domain/web" "--replace=VALUE"
# ...and those of the PATHs on the line (before or after the flag).
expect "virtform apply -c test:///default ../other.yaml --replace " "Domain/elsewhere" \
	"--replace reads the PATHs given"
# --snapshot, --plan and --out take a FILE (any file), and that FILE is not
# a PATH of manifests for --replace.
all_files=$(printf '%s\n' README pool.yaml sub | LC_ALL=C sort)
expect "virtform plan --snapshot " "$all_files" "--snapshot offers any file"
expect "virtform apply --plan " "$all_files" "--plan offers any file"
expect "virtform plan --out R" "README" "--out offers files"
expect "virtform snapshot --out=p" "pool.yaml" "snapshot --out=FILE"
here=$(printf '%s\n' Domain/web StoragePool/tank Volume/tank/root.qcow2)
expect "virtform plan --snapshot ../other.yaml --replace " "$here" "--snapshot's FILE is not a PATH"
expect "virtform plan --out ../other.yaml --replace " "$here" "--out's FILE is not a PATH"
expect "virtform apply --plan ../other.yaml --replace " "$here" "--plan's FILE is not a PATH"
# -c: bash splits the word at ':', so it gets what follows the last colon.
URI=qemu+ssh://root@h1/system expect_has "virtform plan -c " "qemu+ssh://root@h1/system" \
	"-c offers LIBVIRT_DEFAULT_URI"
expect_has "virtform plan -c " "qemu:///system" "-c offers qemu:///system"
expect_has "virtform plan --connect " "test:///default" "--connect offers test:///default"
expect "virtform plan -c test:" "///default" "a URI's part after the colon"
# PATHs: directories and manifests, not other files.
expect "virtform plan " "$(printf '%s\n' pool.yaml sub | LC_ALL=C sort)" "PATH offers dirs and *.yaml"
expect "virtform watch " "sub" "watch's DIR is a directory"

echo "completion: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
