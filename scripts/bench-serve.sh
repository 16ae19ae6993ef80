#!/usr/bin/env bash
# bench-serve.sh measures latentzoo serve under load, all in one run: raw ONNX Runtime on
# the server's core (the built-in encoder and decoder at batch 1 and 64), then
# /reconstruct, /decode and /sample at 1, 8, 32 and 64 connections, with dynamic batching
# on and off, printing req/s, p50 and p99 and the ratio to raw ONNX Runtime. The server is
# pinned to core 0 and the load generator (hey) to core 1. Not part of make test: measure
# with nothing else running.
#
#   scripts/bench-serve.sh               # 4 s per level
#   SECONDS_PER_LEVEL=10 scripts/bench-serve.sh
#   LATENTZOO_BIN=old/latentzoo scripts/bench-serve.sh   # another build, e.g. a release before
#                                        # (one without --batch-size runs unbatched only)
set -euo pipefail
cd "$(dirname "$0")/.."

secs=${SECONDS_PER_LEVEL:-4}
port=${PORT:-18080}
levels=(1 8 32 64)
batching=(32 0) # --batch-size: on, off

log() { echo "bench-serve: $*" >&2; }

if ! command -v hey >/dev/null; then
	log "installing hey"
	if [ "$(id -u)" -eq 0 ]; then apt-get install -y -q hey >/dev/null; else sudo apt-get install -y -q hey >/dev/null; fi
fi
command -v taskset >/dev/null || { log "taskset (util-linux) is missing"; exit 1; }
[ "$(nproc)" -ge 2 ] || { log "needs 2 cores: one for the server, one for the load"; exit 1; }

scripts/deps.sh
bin=${LATENTZOO_BIN:-}
if [ -z "$bin" ]; then
	make -s build
	bin=./latentzoo
fi
if [ "$("$bin" serve -h 2>&1 | grep -c -- -batch-size)" -eq 0 ]; then
	batching=(0)
fi
export LATENTZOO_ORT_LIB=${LATENTZOO_ORT_LIB:-$PWD/.deps/onnxruntime/libonnxruntime.so}
export ONNXRUNTIME_SHARED_LIBRARY_PATH=$LATENTZOO_ORT_LIB

work=$(mktemp -d)
server=
cleanup() {
	[ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

# Request bodies: a 28×28 Fashion-MNIST bag, and a latent of zeros.
printf '{"image":"%s"}' "$(base64 -w0 docs/examples/bag.png)" >"$work/reconstruct.json"
printf '{"z":[%s]}' "$(printf '0,%.0s' $(seq 31))0" >"$work/decode.json"
printf '{"n":1,"seed":1}' >"$work/sample.json"

log "raw ONNX Runtime on core 0"
go test -tags onnx -c -o "$work/serve.test" ./serve
# rawbench PATTERN: runs the serve package's Encode/Decode benchmarks matching PATTERN
# pinned to core 0, into $work/raw.txt.
rawbench() { (cd serve && taskset -c 0 "$work/serve.test" -test.run XXX -test.bench "$1" -test.benchtime "${secs}s") >"$work/raw.txt" 2>"$work/raw.err" || { cat "$work/raw.err" >&2; exit 1; }; }
# Benchmark names end in -GOMAXPROCS, except at 1 (one core, as taskset gives it).
rate() { awk -v want="$1" '$1 == want || index($1, want "-") == 1 {for (i = 1; i < NF; i++) if ($(i+1) == "images/s") print $i}' "$work/raw.txt"; }
# A reconstruction is an encode and a decode: its raw rate is their harmonic combination.
harmonic() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.0f", 1 / (1/a + 1/b)}'; }
rawbench 'Encode|Decode'
enc1=$(rate 'BenchmarkEncode/batch=1'); dec1=$(rate 'BenchmarkDecode/batch=1')
enc64=$(rate 'BenchmarkEncode/batch=64'); dec64=$(rate 'BenchmarkDecode/batch=64')
raw1=$(harmonic "$enc1" "$dec1"); raw64=$(harmonic "$enc64" "$dec64")
echo "raw ONNX Runtime, one core: encode $enc1 img/s at batch 1, $enc64 at 64; decode $dec1 and $dec64; encode+decode $raw1 and $raw64"
echo "(at 32 and 64 connections the ratio is to raw batch 64 measured again just before the level: this machine's speed drifts within minutes)"
echo

start_server() {
	local flags=()
	[ "${#batching[@]}" -gt 1 ] && flags=(--batch-size "$1" --log-level error)
	taskset -c 0 "$bin" serve --addr "127.0.0.1:$port" --model vae/fashion-mnist:v1 "${flags[@]}" 2>/dev/null &
	server=$!
	for _ in $(seq 100); do
		curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && return
		sleep 0.1
	done
	log "server did not become ready"
	exit 1
}
stop_server() { kill "$server"; wait "$server" 2>/dev/null || true; server=; }

# load ENDPOINT CONNECTIONS: prints req/s, p50 ms, p99 ms, errors.
load() {
	local url="http://127.0.0.1:$port/$1" args
	args=(-m POST -T application/json -D "$work/$1.json")
	taskset -c 1 hey -z "${secs}s" -c "$2" "${args[@]}" "$url" >"$work/hey.txt"
	awk '/Requests\/sec:/ {rps = $2}
	     /50% in/ {p50 = $3 * 1000} /99% in/ {p99 = $3 * 1000}
	     /^ *\[200\]/ {ok = $2} /^ *\[[0-9]+\]/ {all += $2}
	     END {printf "%8.0f %9.2f %9.2f %7d", rps, p50, p99, all - ok}' "$work/hey.txt"
}

printf '%-12s %-9s %5s %8s %9s %9s %7s %10s %8s\n' endpoint batching conns "req/s" "p50 ms" "p99 ms" errors "÷raw b64" "raw b64"
for b in "${batching[@]}"; do
	start_server "$b"
	# ONNX Runtime plans its memory on the first run of each batch size: warm every
	# endpoint up before timing, or the first level pays for it.
	for ep in reconstruct decode sample; do
		taskset -c 1 hey -z 1s -c 32 -m POST -T application/json -D "$work/$ep.json" "http://127.0.0.1:$port/$ep" >/dev/null
	done
	mode=on; [ "$b" -le 1 ] && mode=off
	for ep in reconstruct decode sample; do
		for c in "${levels[@]}"; do
			# At saturation, raw ONNX Runtime again on the same core just before, the
			# server idle meanwhile.
			rec64=$raw64 d64=$dec64
			if [ "$c" -ge 32 ] && [ "$ep" != sample ]; then
				rawbench '(Encode|Decode)/batch=64'
				d64=$(rate 'BenchmarkDecode/batch=64')
				rec64=$(harmonic "$(rate 'BenchmarkEncode/batch=64')" "$d64")
			fi
			read -r rps p50 p99 errs <<<"$(load "$ep" "$c")"
			ratio=""
			[ "$ep" = reconstruct ] && ratio=$(awk -v r="$rps" -v b="$rec64" 'BEGIN {printf "%.2f", r / b}')
			[ "$ep" = decode ] && ratio=$(awk -v r="$rps" -v b="$d64" 'BEGIN {printf "%.2f", r / b}')
			raw=""
			[ "$ep" = reconstruct ] && raw=$rec64
			[ "$ep" = decode ] && raw=$d64
			printf '%-12s %-9s %5d %8.0f %9.2f %9.2f %7d %10s %8s\n' "/$ep" "$mode" "$c" "$rps" "$p50" "$p99" "$errs" "$ratio" "$raw"
		done
	done
	stop_server
done
