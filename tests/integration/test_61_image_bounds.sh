# test_61_image_bounds.sh: hostile images on a real libvirtd (docs/concepts.md
# rule 8). Served by tests/tools/httpd.py on 127.0.0.1: a zstd bomb (64MiB of
# zeros in ~2KiB) for a 4MiB volume, a qcow2 whose header names a backing
# file on the host, one with an external data file, a qed image with a
# backing file declared raw, and an https URL that redirects to http.
# `apply` refuses each with its own error, creates none of those volumes and
# leaves nothing of them in the cache (no entry, no .part), the second apply
# the same; then a good image goes through.
. "$(dirname "$0")/lib.sh"
vf_setup

WWW=$(vf_mktemp)
chmod 0755 "$WWW"
head -c 64M /dev/zero | zstd -q -19 >"$WWW/bomb.raw.zst" || vf_fail "zstd"
head -c 1M /dev/urandom >"$WWW/secret.raw"
qemu-img create -q -f qcow2 -b "$WWW/secret.raw" -F raw "$WWW/back.qcow2" 1M || vf_fail "qemu-img -b"
qemu-img create -q -f qcow2 -o data_file="$WWW/data.raw" "$WWW/dat.qcow2" 1M || vf_fail "qemu-img data_file"
qemu-img create -q -f qed -b "$WWW/secret.raw" -F raw "$WWW/back.qed" 1M || vf_fail "qemu-img qed"
head -c 1M /dev/urandom >"$WWW/good.raw"
head -c 1M /dev/urandom >"$WWW/t.raw" # what the https URL redirects to
sum() { sha256sum "$WWW/$1" | cut -d' ' -f1; }

python3 "$(dirname "$0")/../tools/httpd.py" --root "$WWW" --log "$WWW/http.log" >"$WWW/port" &
HTTPD_PID=$!
vf_on_exit 'kill "$HTTPD_PID" 2>/dev/null'
wait_for "[ -s '$WWW/port' ]" 10 || vf_fail "httpd.py did not start"
PORT=$(cat "$WWW/port")
BASE=http://127.0.0.1:$PORT/files

# https on 127.0.0.1 (a self-signed certificate as the volume's caFile)
# whose /away/ redirects to the plain server
have_tls=0
if command -v openssl >/dev/null 2>&1; then
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout "$WWW/key.pem" -out "$WWW/cert.pem" -days 2 -subj /CN=127.0.0.1 \
		-addext subjectAltName=IP:127.0.0.1 2>/dev/null || vf_fail "openssl req"
	python3 "$(dirname "$0")/../tools/httpd.py" --root "$WWW" --log "$WWW/https.log" \
		--cert "$WWW/cert.pem" --key "$WWW/key.pem" \
		--redirect-base "http://127.0.0.1:$PORT" >"$WWW/tls-port" &
	HTTPS_PID=$!
	vf_on_exit 'kill "$HTTPS_PID" 2>/dev/null'
	wait_for "[ -s '$WWW/tls-port' ]" 10 || vf_fail "httpd.py --cert did not start"
	have_tls=1
fi

pool=${P}pool
raw_volume() { # name capacity url sha256 [spec line]
	printf 'apiVersion: virtform/v1\nkind: Volume\nmetadata:\n  name: %s\nspec:\n  pool: %s\n  capacity: %s\n  format: raw\n  source:\n    url: %s\n    sha256: %s\n' \
		"$1" "$pool" "$2" "$3" "$4"
	[ $# -lt 5 ] || printf '    %s\n' "$5"
}
vf_manifest 10-pool.yaml "$(yaml_pool "$pool" "$POOLS/pool")"

# refused VOLUME WHAT EXPECTED-ERROR: apply stops at the refused step with
# that error, twice; the volume is not created; nothing is cached.
refused() {
	local vol=$1 what=$2 want=$3 n
	for n in first second; do
		vf_run apply "$MAN"
		assert_rc 1 "$what: $n apply"
		assert_out_contains "$want" "$what: $n apply's error"
		assert_vol_absent "$pool" "$vol"
		assert_eq "" "$(ls -A "$STATE/cache" 2>/dev/null)" "$what: files in the cache after the $n apply"
	done
	rm -f "$MAN/20-volume.yaml"
}

vf_manifest 20-volume.yaml "$(raw_volume bomb.raw 4MiB "$BASE/bomb.raw.zst" "$(sum bomb.raw.zst)")"
refused bomb.raw "a zstd bomb" \
	"cannot download $BASE/bomb.raw.zst: it unpacks to more than 4MiB, the capacity of Volume $pool/bomb.raw; stopped reading and cached nothing"

vf_manifest 20-volume.yaml "$(yaml_volume "$pool" back.qcow2 64MiB "source: {url: '$BASE/back.qcow2', sha256: $(sum back.qcow2)}")"
refused back.qcow2 "a qcow2 with a backing file" \
	"the image from $BASE/back.qcow2 is qcow2 with the backing file \"$WWW/secret.raw\": a guest could read that host file, so virtform refuses it; flatten it first (qemu-img convert -O qcow2 IN OUT)"

vf_manifest 20-volume.yaml "$(yaml_volume "$pool" dat.qcow2 64MiB "source: {url: '$BASE/dat.qcow2', sha256: $(sum dat.qcow2)}")"
refused dat.qcow2 "a qcow2 with an external data file" \
	"the image from $BASE/dat.qcow2 is qcow2 with the external data file \"$WWW/data.raw\": a guest could read that host file"

# declared raw, but libvirt's refresh would probe it as qed with secret.raw
# as its backingStore, and the domain would open it as qed
vf_manifest 20-volume.yaml "$(raw_volume back.raw 4MiB "$BASE/back.qed" "$(sum back.qed)")"
refused back.raw "a qed image declared raw" \
	"the image from $BASE/back.qed is a qed image, not raw or qcow2: libvirt would open it with any backing or extent file it names, which a guest could read, so virtform refuses it"

if [ $have_tls = 1 ]; then
	TLS_URL=https://127.0.0.1:$(cat "$WWW/tls-port")/away/t.raw
	vf_manifest 20-volume.yaml "$(raw_volume tls.raw 4MiB "$TLS_URL" "$(sum t.raw)" "caFile: $WWW/cert.pem")"
	refused tls.raw "an https URL redirected to http" \
		"cannot download $TLS_URL: the server redirected it to http://127.0.0.1:$PORT/files/t.raw; a download that starts with https:// follows only redirects to https://"
	assert_eq 0 "$(grep -c '^GET /files/t.raw ' "$WWW/http.log")" \
		"plain http is never asked for what https redirected to"
fi

# The same pool and cache take a good image: the cache holds just its entry.
vf_manifest 20-volume.yaml "$(raw_volume good.raw 4MiB "$BASE/good.raw" "$(sum good.raw)")"
vf_run apply "$MAN"
assert_rc 0 "apply with a good image"
cmp -n 1048576 "$WWW/good.raw" "$POOLS/pool/good.raw" || vf_fail "good.raw's content differs"
assert_eq "sha256-$(sum good.raw)" "$(ls -A "$STATE/cache")" "the cache's files"
vf_pass
