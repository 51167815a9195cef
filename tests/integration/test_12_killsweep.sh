# test_12_killsweep.sh: `kill -9` of apply inside its multi-step creations,
# at random byte offsets and times, never only between steps: mid-download
# (a server that dribbles the image), mid-upload of the image into its
# volume (when the volume file holds N bytes), mid-clone of that volume,
# around the cloud-init seed write, and at random times over the whole run.
# After each kill a plain `apply` must exit 0 and leave exactly the declared
# content: both volumes `qemu-img compare` equal to the served image, the
# seed byte for byte the one a clean run writes, the ledger with no pending
# or incomplete entry. Before the fix, a truncated upload was accepted.
# Each point starts from the same host: the pool, owned, and nothing else.
. "$(dirname "$0")/lib.sh"
vf_setup
command -v isoinfo >/dev/null 2>&1 || vf_fail "isoinfo (genisoimage) is not installed"

WWW=$(vf_mktemp)
# 64 MiB virtual, 24 MiB of data in three patterned runs: the upload takes
# long enough to be killed in, and a truncated one shows in a compare.
qemu-img create -q -f qcow2 "$WWW/img.qcow2" 64M || vf_fail "qemu-img create"
qemu-io -f qcow2 -c 'write -P 0x11 0 8M' -c 'write -P 0x22 20M 8M' -c 'write -P 0x33 48M 8M' \
	"$WWW/img.qcow2" >/dev/null || vf_fail "qemu-io write"
sum=$(sha256sum "$WWW/img.qcow2" | cut -d' ' -f1)
size=$(stat -c %s "$WWW/img.qcow2")

python3 "$(dirname "$0")/../tools/httpd.py" --root "$WWW" --log "$WWW/requests.log" \
	--dribble 0.002 >"$WWW/port" &
HTTPD_PID=$!
vf_on_exit 'kill "$HTTPD_PID" 2>/dev/null'
wait_for "[ -s '$WWW/port' ]" 10 || vf_fail "httpd.py did not start"
URL=http://127.0.0.1:$(cat "$WWW/port")/dribble/img.qcow2

pool=${P}pool
dom=${P}vm
seed=${dom}-cidata.iso
dir=$POOLS/pool
MAN0=$(vf_mktemp)
printf '%s\n' "$(yaml_pool "$pool" "$dir")" >"$MAN0/10-pool.yaml"
cp "$MAN0/10-pool.yaml" "$MAN/"
vf_manifest 20-volumes.yaml "$(yaml_volume "$pool" img.qcow2 64MiB "source: {url: '$URL', sha256: $sum}")
---
$(yaml_volume "$pool" copy.qcow2 64MiB "source: {volume: {pool: $pool, name: img.qcow2}}")"
vf_manifest 30-vm.yaml "$(yaml_domain "$dom" "$pool/copy.qcow2" 'state: shutoff' 'cloudInit:' \
	'  userData: {packages: [nginx]}')"

# The starting point of every kill: the pool, owned, and its ledger.
vf_run apply "$MAN0"
assert_rc 0 "apply of the pool alone"
cp "$STATE/ledger.json" "$WWW/ledger.pool"

reset_host() {
	vsh undefine "$dom" >/dev/null 2>&1
	local v
	for v in img.qcow2 copy.qcow2 "$seed"; do
		vsh vol-delete --pool "$pool" "$v" >/dev/null 2>&1
	done
	rm -f "$dir"/* # what libvirt never saw (a kill between create and refresh)
	vsh pool-refresh "$pool" >/dev/null 2>&1
	cp "$WWW/ledger.pool" "$STATE/ledger.json"
}

check_content() { # what
	qemu-img compare -q "$WWW/img.qcow2" "$dir/img.qcow2" ||
		vf_fail "$1: volume img.qcow2 differs from the served image"
	qemu-img compare -q "$WWW/img.qcow2" "$dir/copy.qcow2" ||
		vf_fail "$1: volume copy.qcow2 differs from the served image"
	# libisofs stamps the ISO with the time it was made: compare what a
	# guest reads (every file on it) and the size, not the raw bytes.
	assert_eq "$seed_files" "$(seed_files)" "$1: the files on the seed"
	assert_eq "$seed_size" "$(stat -c %s "$dir/$seed")" "$1: the seed's size"
	if grep -Eq '"(pending|incomplete)"' "$STATE/ledger.json"; then
		vf_fail "$1: the ledger still has unfinished entries: $(cat "$STATE/ledger.json")"
	fi
}

seed_files() { # every file on the seed, name and content
	local f
	for f in $(isoinfo -R -f -i "$dir/$seed" 2>/dev/null | sort); do
		printf '%s: %s\n' "$f" "$(isoinfo -R -i "$dir/$seed" -x "$f" | sha256sum | cut -d' ' -f1)"
	done
}

# A clean run: the seed it writes, and how long a run with the image cached takes.
vf_run apply "$MAN"
assert_rc 0 "clean apply (downloads the image)"
seed_files=$(seed_files)
seed_size=$(stat -c %s "$dir/$seed")
vf_log "the seed holds: $(printf '%s' "$seed_files" | tr '\n' ' ')"
[ -n "$seed_files" ] || vf_fail "isoinfo finds no files on the seed"
check_content "clean apply"
reset_host
t0=$(date +%s%N)
vf_run apply "$MAN"
assert_rc 0 "clean apply, image cached"
run_ms=$((($(date +%s%N) - t0) / 1000000))
vf_log "a run with the image cached takes ${run_ms} ms"
check_content "clean apply, image cached"

# ---- killing ----------------------------------------------------------------

alloc() { # bytes a file holds on disk; -1 when it does not exist
	local b
	b=$(stat -c %b "$1" 2>/dev/null) || { echo -1; return; }
	echo $((b * 512))
}

# kill_when POINT CONDITION: start apply, kill -9 it once CONDITION (a shell
# test, polled every few ms) holds, then recover with a plain apply.
kill_when() {
	local point=$1 cond=$2 pid what="finished before the kill"
	reset_host
	"$VF_BIN" apply -c "$VFIT_URI" --state-dir "$STATE" "$MAN" >"$WWW/killed.log" 2>&1 &
	pid=$!
	while kill -0 "$pid" 2>/dev/null; do
		if eval "$cond"; then
			kill -9 "$pid" 2>/dev/null && what="killed"
			break
		fi
		sleep 0.002
	done
	wait "$pid" 2>/dev/null
	vf_log "point $point: $what; img $(alloc "$dir/img.qcow2") B, copy $(alloc "$dir/copy.qcow2") B, seed $(alloc "$dir/$seed") B on disk"
	python3 -m json.tool "$STATE/ledger.json" >/dev/null 2>&1 ||
		vf_fail "point $point: the ledger does not parse after kill -9"
	# A clone runs inside libvirtd and outlives its client: let it end, as
	# it has by the time anyone runs apply again.
	wait_for "! pgrep -f 'qemu-img convert.*$dir/copy.qcow2'" 10 >/dev/null
	vf_run apply "$MAN"
	assert_rc 0 "point $point: apply after kill -9"
	check_content "point $point"
}

failed=""
rnd() { # a random integer in [0, $1)
	echo $(($(od -An -N4 -tu4 /dev/urandom) % $1))
}
cache=$(ls "$STATE/cache/" | grep -v '\.part$' | head -n 1)
[ -n "$cache" ] || vf_fail "no cache entry after the clean run"

# Mid-download: the cache entry removed, killed once N bytes of it arrived.
for i in 1 2 3; do
	n=$(rnd "$size")
	rm -f "$STATE/cache/$cache" "$STATE/cache/$cache.part"
	( kill_when "download@$n" "[ \$(alloc '$STATE/cache/$cache.part') -ge $n ]" ) || failed="$failed download@$n"
done
# Mid-upload: killed once the volume file holds N bytes of the image.
for i in $(seq 8); do
	n=$(($(rnd $((size - 1048576))) + 65536))
	( kill_when "upload@$n" "[ \$(alloc '$dir/img.qcow2') -ge $n ]" ) || failed="$failed upload@$n"
done
# Mid-clone: once the copy exists, after a random few ms.
for i in $(seq 5); do
	ms=$(rnd 90)
	( kill_when "clone+${ms}ms" "[ -e '$dir/copy.qcow2' ] && sleep 0.$(printf '%03d' "$ms")" ) ||
		failed="$failed clone+${ms}ms"
done
# Around the seed write: once its volume file exists, after 0-9 ms.
for i in $(seq 4); do
	ms=$(rnd 10)
	( kill_when "seed+${ms}ms" "[ -e '$dir/$seed' ] && sleep 0.00$ms" ) || failed="$failed seed+${ms}ms"
done
# Anywhere in a run.
for i in $(seq 4); do
	ms=$(rnd "$run_ms")
	( kill_when "time+${ms}ms" "sleep $(awk "BEGIN { print $ms / 1000 }"); true" ) ||
		failed="$failed time+${ms}ms"
done

[ -z "$failed" ] || vf_fail "recovery after kill -9 failed at:$failed; see above"
vf_pass
