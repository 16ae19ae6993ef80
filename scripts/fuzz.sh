#!/usr/bin/env bash
# fuzz.sh runs every Go fuzz target of the repo, one after another, each for FUZZTIME (10m)
# with FUZZ_PARALLEL (1) workers, and prints each target's last progress line (executions,
# new inputs). SHARD=i/n runs every n-th target from the i-th (1-based), so that n shards
# can share a machine; FUZZ_TARGETS, a regular expression, picks targets by name. A target that fails stops the script; Go keeps the failing input in
# the package's testdata/fuzz/, where make test replays it from then on.
# Not part of make test.
set -euo pipefail
cd "$(dirname "$0")/.."

fuzztime=${FUZZTIME:-10m}
parallel=${FUZZ_PARALLEL:-1}
shard=${SHARD:-1/1}
targets=${FUZZ_TARGETS:-.}
i=${shard%/*} n=${shard#*/}
export LATENTZOO_ORT_LIB=${LATENTZOO_ORT_LIB:-$PWD/.deps/onnxruntime/libonnxruntime.so}
export ONNXRUNTIME_SHARED_LIBRARY_PATH=$LATENTZOO_ORT_LIB

k=0
for pkg in $(go list -tags onnx ./...); do
	for target in $(go test -tags onnx -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
		k=$((k + 1))
		[ $(((k - i) % n)) -eq 0 ] && [[ $target =~ $targets ]] || continue
		start=$(date +%s)
		out=$(go test -tags onnx -run '^$' -fuzz "^$target\$" -fuzztime "$fuzztime" -timeout 0 -parallel "$parallel" "$pkg" 2>&1) || {
			echo "$out"
			echo "fuzz: $pkg $target FAILED" >&2
			exit 1
		}
		last=$(echo "$out" | grep 'fuzz: elapsed' | tail -1)
		echo "fuzz: $pkg $target ran $(($(date +%s) - start)) s: ${last#*fuzz: }"
	done
done
