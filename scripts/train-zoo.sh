#!/usr/bin/env bash
# train-zoo.sh trains the zoo's built-in entries as the full-zoo issue asks, one family
# after another: each family given as an argument trains on Fashion-MNIST with its own
# defaults, the samples' FID on the yardstick every 1,000 steps and the best checkpoint
# kept, for EPOCHS (20) epochs, then 5 more at a time while the best FID of the run's last
# quarter is 5% or more better than the best before it, up to MAX_EPOCHS (60). Runs live
# in $LATENTZOO_HOME/runs/zoo-FAMILY, outside the work tree; run the script again with
# the same arguments to resume (finished runs return at once). Hours of CPU: start it
# detached, e.g.
#
#   nohup scripts/train-zoo.sh vae wae moca avae dcvae vaegan introvae sintrovae asintrovae > zoo.log 2>&1 &
#
# With FINALIZE=1 it exports each finished run's best checkpoint to
# $LATENTZOO_HOME/runs/export/FAMILY instead, measures it with eval (the card's numbers
# and pictures) and, for the VAE, computes its attribute directions; copying an entry
# into zoo/builtin is left to you.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${LATENTZOO_BIN:-./latentzoo}
[ -n "${LATENTZOO_BIN:-}" ] || make -s build
home=${LATENTZOO_HOME:-$HOME/.latentzoo}
export LATENTZOO_ORT_LIB=${LATENTZOO_ORT_LIB:-$PWD/.deps/onnxruntime/libonnxruntime.so}
export ONNXRUNTIME_SHARED_LIBRARY_PATH=$LATENTZOO_ORT_LIB
python=${PYTHON:-python3}
epochs=${EPOCHS:-20}
max=${MAX_EPOCHS:-60}

# plateaued RUN: true when the run's FID log says it stopped improving.
plateaued() {
	"$python" - "$1/log.jsonl" <<'PY'
import json, sys
fids = [(r["step"], r["fid_samples"]) for r in map(json.loads, open(sys.argv[1])) if "fid_samples" in r]
last = fids[-1][0]
before = [f for s, f in fids if s <= 0.75 * last]
after = [f for s, f in fids if s > 0.75 * last]
if not before or not after:
    sys.exit(1)
b, a = min(before), min(after)
print(f"best FID before the last quarter {b:.1f}, in it {a:.1f}: {100 * (b - a) / b:.1f}% better")
sys.exit(0 if a > 0.95 * b else 1)
PY
}

for fam in "$@"; do
	run=$home/runs/zoo-$fam
	if [ "${FINALIZE:-0}" = 1 ]; then
		out=$home/runs/export/$fam
		rm -rf "$out"
		mkdir -p "$(dirname "$out")"
		"$bin" export "$run" -name "$fam/fashion-mnist:v1" -checkpoint best -out "$out"
		"$bin" eval "$out"
		[ "$fam" != vae ] || "$bin" attributes "$out"
		continue
	fi
	e=$epochs
	if [ -f "$run/config.json" ]; then # a resumed run picks up where its epochs had got to
		e=$("$python" -c 'import json, sys; print(max(json.load(open(sys.argv[1]))["epochs"], int(sys.argv[2])))' "$run/config.json" "$epochs")
	fi
	while :; do
		echo "== $fam to epoch $e $(date -u +%FT%TZ)"
		"$bin" train --family "$fam" --dataset fashion-mnist --epochs "$e" --fid-every 1000 --out "$run"
		if plateaued "$run"; then break; fi
		if [ "$e" -ge "$max" ]; then
			echo "== $fam still improving at $max epochs; stopping there"
			break
		fi
		e=$((e + 5))
	done
	echo "== $fam done $(date -u +%FT%TZ)"
done
