#!/usr/bin/env bash
# bench-train.sh measures training throughput: the TrainStep benchmark of every family on
# ONNX Runtime (go test -bench, each family's default settings and batch), then the
# PyTorch peers of the VAE and of DC-VAE (scripts/peer_train.py, Debian's python3-torch on
# the CPU, the same batch, at THREADS (2) threads and at 1, the faster kept), and prints
# img/s with two ratios: each family's to the VAE's, measured in the same run so that they
# compare across machines, and ours to PyTorch's. BENCHTIME (20x) and PEER_STEPS (20) set
# the iterations timed; FAMILIES, a regular expression, picks families. Not part of make
# test: run it on a quiet machine.
set -euo pipefail
cd "$(dirname "$0")/.."

threads=${THREADS:-2}
python=${PYTHON:-/usr/bin/python3} # Debian's, which python3-torch installs into
families=${FAMILIES:-.*}
log() { echo "bench-train: $*" >&2; }

"$python" -c 'import torch' 2>/dev/null || { log "installing python3-torch"; apt-get install -y -q python3-torch >/dev/null; }
scripts/deps.sh
export LATENTZOO_ORT_LIB=${LATENTZOO_ORT_LIB:-$PWD/.deps/onnxruntime/libonnxruntime.so}
export ONNXRUNTIME_SHARED_LIBRARY_PATH=$LATENTZOO_ORT_LIB
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

log "latentzoo's TrainStep on ONNX Runtime"
go test -tags onnx -run '^$' -bench "TrainStep/($families)/onnx:cpu" -benchtime "${BENCHTIME:-20x}" -timeout 0 ./train |
	tee -a /dev/stderr | awk '/img\/s/ { split($1, p, "/"); for (i = 2; i <= NF; i++) if ($(i) == "img/s") print p[2], $(i-1) }' >"$work/ours"
# PyTorch at THREADS and at 1 thread, its faster taken: on these machines 2 threads of
# OpenMP spin against each other and run slower than one.
for f in vae dcvae; do
	grep -q "^$f " "$work/ours" || continue
	for t in $(printf '%s\n' 1 "$threads" | sort -u); do
		log "PyTorch peer: $f, $t threads"
		"$python" scripts/peer_train.py --family "$f" --steps "${PEER_STEPS:-20}" --threads "$t" | tee -a /dev/stderr |
			awk -v f="$f" '{ print f, $(NF-1) }' >>"$work/peers"
	done
done
touch "$work/peers"
sort -k1,1 -k2,2gr "$work/peers" | awk '!seen[$1]++' >"$work/peer"

echo
echo "training throughput, $(date -u +%F), $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p' | head -1)"
awk 'FNR == NR { peer[$1] = $2; next }
	FNR == 1 { printf "%-12s %10s %8s %12s %10s\n", "family", "img/s", "/ vae", "PyTorch", "/ PyTorch" }
	{ ours[FNR] = $1; ips[$1] = $2 }
	END {
		for (i = 1; i in ours; i++) {
			f = ours[i]
			rel = ("vae" in ips) ? sprintf("%.2f", ips[f] / ips["vae"]) : "-"
			p = (f in peer) ? sprintf("%.1f", peer[f]) : "-"
			r = (f in peer) ? sprintf("%.2f", ips[f] / peer[f]) : "-"
			printf "%-12s %10.1f %8s %12s %10s\n", f, ips[f], rel, p, r
		}
	}' "$work/peer" "$work/ours"
