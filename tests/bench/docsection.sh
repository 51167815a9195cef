# docsection.sh: sourced by the bench scripts. vf_doc_section DOC NAME GEN
# replaces the lines from "<!-- NAME:begin" to "<!-- NAME:end" in DOC with
# the file GEN (which carries both markers), or appends GEN when DOC has no
# such section yet.
vf_doc_section() {
	local doc=$1 name=$2 gen=$3 tmp
	if [ -f "$doc" ] && grep -q "<!-- $name:begin" "$doc"; then
		tmp=$(mktemp)
		awk -v gen="$gen" -v b="<!-- $name:begin" -v e="<!-- $name:end" '
			index($0, b) == 1 { while ((getline l < gen) > 0) print l; skip = 1; next }
			index($0, e) == 1 { skip = 0; next }
			!skip { print }' "$doc" >"$tmp"
		cat "$tmp" >"$doc"
		rm -f "$tmp"
	else
		{ [ -f "$doc" ] && echo; cat "$gen"; } >>"$doc"
	fi
}
