# completion.bash: bash completion for virtform (installed by `make install`
# and the Debian package as share/bash-completion/completions/virtform).
# Commands come from `virtform --help` and flags from `virtform COMMAND --help`
# (main.c, args.c and watch.c stay the one list of both); --replace offers KIND/NAME of the objects the
# manifests on the command line declare (`virtform validate`, which touches no
# host); -c offers $LIBVIRT_DEFAULT_URI, libvirt's client uri_default and
# the usual local URIs. Needs nothing from the bash-completion package.

# The word under the cursor and the one before, split on blanks only: bash
# splits `qemu:///system` at the colon and `--replace=X` at the `=`.
_virtform_words() {
	local line=${COMP_LINE:0:COMP_POINT}
	_vf_cur=${line##*[[:space:]]}
	line=${line%"$_vf_cur"}
	line=${line%"${line##*[![:space:]]}"}
	_vf_prev=${line##*[[:space:]]}
	read -r -a _vf_all <<<"${COMP_LINE:0:COMP_POINT}"
	[ -z "$_vf_cur" ] || unset '_vf_all[${#_vf_all[@]}-1]'
}

# Offer the words of $1 that start with $2, minus what bash already has
# before the last colon or equals sign of the word (it completes only the
# part after it).
_virtform_reply() {
	local words=$1 cur=$2 w keep=""
	case $cur in *[:=]*) keep=${cur%"${cur##*[:=]}"} ;; esac
	COMPREPLY=()
	for w in $words; do
		[[ $w == "$cur"* ]] && COMPREPLY+=("${w#"$keep"}")
	done
}

_virtform_uris() {
	local f u
	[ -n "${LIBVIRT_DEFAULT_URI:-}" ] && printf '%s\n' "$LIBVIRT_DEFAULT_URI"
	for f in "${XDG_CONFIG_HOME:-$HOME/.config}/libvirt/libvirt.conf" /etc/libvirt/libvirt.conf; do
		[ -r "$f" ] || continue
		u=$(sed -n 's/^[[:space:]]*uri_default[[:space:]]*=[[:space:]]*"\([^"]*\)".*/\1/p' "$f" 2>/dev/null)
		[ -n "$u" ] && printf '%s\n' "$u"
	done
	printf '%s\n' qemu:///system qemu:///session test:///default lxc:///system \
		qemu+ssh:// qemu+libssh2://
}

# The commands `virtform --help` lists under "Commands:".
_virtform_commands() {
	"$1" --help 2>/dev/null | sed -n '/^Commands:/,/^$/s/^  \([a-z][a-z]*\) .*/\1/p'
}

# The flags `virtform COMMAND --help` documents: only those that open an
# option line (`  -c, --connect URI`, `      --out FILE`), not the ones a
# description names (`for apply --plan`).
_virtform_flags() {
	"$1" "$2" --help 2>/dev/null |
		sed -n 's/^ \{1,\}\(-[a-z], \)\{0,1\}\(--[a-z][a-z-]*\).*/\1\2/p' |
		tr -d , | tr ' ' '\n' | sort -u
}

# KIND/NAME (Volume/POOL/NAME) of every object the PATHs declare.
_virtform_objects() {
	"$1" validate --color never "${@:2}" 2>/dev/null | sed -n 's/^ok  \([^ ]*\)  .*/\1/p'
}

_virtform() {
	local _vf_cur _vf_prev _vf_all
	_virtform_words
	local cur=$_vf_cur prev=$_vf_prev vf=${_vf_all[0]:-virtform} cmd="" i w
	local -a paths=()
	# The command is the first word after virtform; PATHs are the words
	# after it that are neither flags nor a flag's value.
	for ((i = 1; i < ${#_vf_all[@]}; i++)); do
		w=${_vf_all[i]}
		if [ -z "$cmd" ]; then
			[[ $w == -* ]] || cmd=$w
			continue
		fi
		case $w in
		-c | --connect | --state-dir | --replace | --color | --lock-timeout | --lock-wait | \
			--connect-timeout | --runtime-dir | --config | --debounce | --resync | \
			--max-backoff | --log-level | --socket-group | --metrics | --snapshot | --out | \
			--plan | --host-id | --etcd | --etcd-prefix | --lease-ttl | --host-label | \
			--fence-watchdog | --fence-watchdog-ms | --fence-helper) ((i++)) ;;
		-*) ;;
		*) paths+=("$w") ;;
		esac
	done

	if [ -z "$cmd" ]; then
		_virtform_reply "$(_virtform_commands "$vf") --help --version" "$cur"
		return 0
	fi

	# --flag=value: complete the value as if it were the next word.
	local val=$cur
	if [[ $cur == --*=* ]]; then
		prev=${cur%%=*}
		val=${cur#*=}
	fi
	case $prev in
	-c | --connect)
		_virtform_reply "$(_virtform_uris | awk '!seen[$0]++')" "$val"
		return 0 ;;
	--replace)
		[ ${#paths[@]} -gt 0 ] || paths=(.)
		_virtform_reply "$(_virtform_objects "$vf" "${paths[@]}")" "$val"
		return 0 ;;
	--color)
		_virtform_reply "auto always never" "$val"
		return 0 ;;
	--log-level)
		_virtform_reply "err warning notice info debug" "$val"
		return 0 ;;
	--socket-group)
		_virtform_reply "$(compgen -g)" "$val"
		return 0 ;;
	--state-dir | --runtime-dir)
		compopt -o filenames 2>/dev/null
		mapfile -t COMPREPLY < <(compgen -d -- "$val")
		return 0 ;;
	--config | --snapshot | --plan | --out | --fence-watchdog | --fence-helper)
		compopt -o filenames 2>/dev/null
		mapfile -t COMPREPLY < <(compgen -f -- "$val")
		return 0 ;;
	--metrics)
		_virtform_reply "127.0.0.1: unix:/run/virtform/metrics.sock" "$val"
		return 0 ;;
	--lock-timeout | --lock-wait | --connect-timeout | --debounce | --resync | --max-backoff | \
		--host-id | --etcd | --etcd-prefix | --lease-ttl | --host-label | --fence-watchdog-ms)
		COMPREPLY=()
		return 0 ;;
	esac

	if [[ $cur == -* ]]; then
		_virtform_reply "$(_virtform_flags "$vf" "$cmd")" "$cur"
		return 0
	fi
	COMPREPLY=()
	case $cmd in
	validate | plan | apply)
		# Directories and manifest files.
		compopt -o filenames 2>/dev/null
		while IFS= read -r w; do
			[[ -d $w || $w == *.yaml || $w == *.yml ]] && COMPREPLY+=("$w")
		done < <(compgen -f -- "$cur") ;;
	watch)
		compopt -o filenames 2>/dev/null
		mapfile -t COMPREPLY < <(compgen -d -- "$cur") ;;
	esac
	return 0
}

complete -F _virtform virtform
