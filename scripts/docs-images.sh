#!/usr/bin/env bash
# docs-images.sh draws the README's pictures of the default model again, with the very
# requests the README shows: docs/reconstruct.png, docs/interpolate.png, docs/sample.png.
# Run it (make docs) after a built-in entry changes.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
make -s build
export LATENTZOO_ORT_LIB=${LATENTZOO_ORT_LIB:-$PWD/.deps/onnxruntime/libonnxruntime.so}
export ONNXRUNTIME_SHARED_LIBRARY_PATH=$LATENTZOO_ORT_LIB
port=${PORT:-18081}
./latentzoo serve --addr "127.0.0.1:$port" --log-level error &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
for _ in $(seq 100); do
	curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break
	sleep 0.1
done
url=http://127.0.0.1:$port
curl -sf -F image=@docs/examples/bag.png "$url/reconstruct" -o docs/reconstruct.png
curl -sf -F a=@docs/examples/bag.png -F b=@docs/examples/boot.png -F steps=8 "$url/interpolate" -o docs/interpolate.png
curl -sf -X POST "$url/sample?n=16&seed=7" -o docs/sample.png
echo "wrote docs/reconstruct.png, docs/interpolate.png and docs/sample.png"
