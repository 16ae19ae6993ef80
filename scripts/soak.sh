#!/usr/bin/env bash
# soak.sh holds latentzoo serve under load for a while and watches it: 64 connections in
# all over /reconstruct, /decode, /sample and the OIP decoder, for SOAK_SECONDS (300), the
# server pinned to core 0 and hey to core 1. Every SAMPLE_SECONDS (10) it samples the
# server's RSS and goroutines (go_goroutines in /metrics); at the end it prints them, each
# endpoint's req/s, p99 and errors, and the change of RSS after warm-up (the first minute).
# Not part of make test: run it on a quiet machine.
set -euo pipefail
cd "$(dirname "$0")/.."

secs=${SOAK_SECONDS:-300}
every=${SAMPLE_SECONDS:-10}
port=${PORT:-18090}
log() { echo "soak: $*" >&2; }

command -v hey >/dev/null || { log "installing hey"; apt-get install -y -q hey >/dev/null; }
scripts/deps.sh
make -s build
export LATENTZOO_ORT_LIB=${LATENTZOO_ORT_LIB:-$PWD/.deps/onnxruntime/libonnxruntime.so}

work=$(mktemp -d)
server=
cleanup() {
	[ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

printf '{"image":"%s"}' "$(base64 -w0 docs/examples/bag.png)" >"$work/reconstruct.json"
zeros=$(printf '0,%.0s' $(seq 31))0
printf '{"z":[%s]}' "$zeros" >"$work/decode.json"
printf '{"n":4,"seed":1}' >"$work/sample.json"
printf '{"inputs":[{"name":"z","shape":[1,32],"datatype":"FP32","data":[%s]}]}' "$zeros" >"$work/oip.json"

taskset -c 0 ./latentzoo serve --addr "127.0.0.1:$port" --model vae/fashion-mnist:v1 --log-level error &
server=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done

base=http://127.0.0.1:$port
declare -A url=([reconstruct]=$base/reconstruct [decode]=$base/decode [sample]=$base/sample [oip]=$base/v2/models/vae_fashion-mnist_decoder/infer)
pids=()
for ep in reconstruct decode sample oip; do
	taskset -c 1 hey -z "${secs}s" -c 16 -m POST -T application/json -D "$work/$ep.json" "${url[$ep]}" >"$work/$ep.txt" &
	pids+=($!)
done

echo "t_s rss_mb goroutines"
start=$(date +%s)
while kill -0 "${pids[0]}" 2>/dev/null; do
	rss=$(awk '/VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$server/status")
	gor=$(curl -sf "$base/metrics" | awk '$1 == "go_goroutines" {print $2}')
	echo "$(($(date +%s) - start)) $rss $gor" | tee -a "$work/samples.txt"
	sleep "$every"
done
wait "${pids[@]}"

echo
printf '%-12s %8s %9s %7s\n' endpoint "req/s" "p99 ms" errors
for ep in reconstruct decode sample oip; do
	awk -v ep="/$ep" '/Requests\/sec:/ {rps = $2} /99% in/ {p99 = $3 * 1000}
	     /^ *\[200\]/ {ok = $2} /^ *\[[0-9]+\]/ {all += $2}
	     END {printf "%-12s %8.0f %9.1f %7d\n", ep, rps, p99, all - ok}' "$work/$ep.txt"
done
awk -v warm=60 '$1 >= warm {if (!n++) first = $2; last = $2; if ($2 > hi) hi = $2; if (lo == "" || $2 < lo) lo = $2}
     END {if (n) printf "\nRSS after warm-up: %.1f MB first, %.1f last, %.1f to %.1f (%.1f%% of the first)\n", first, last, lo, hi, 100 * (hi - lo) / first}' "$work/samples.txt"
