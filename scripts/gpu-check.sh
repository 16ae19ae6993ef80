#!/usr/bin/env bash
# gpu-check.sh checks GPU training on a lent GPU machine, which has CUDA 13, cuDNN, JAX
# with XLA's CUDA PJRT plugin and PyTorch in its Python environment but no Go and no
# network. In two halves:
#
#   scripts/gpu-check.sh build   here: the train package's test binary with the XLA
#                                backend (-tags xla, gzipped) and Fashion-MNIST's training
#                                splits into .gpu/ (about 51 MB), to carry to the machine.
#   scripts/gpu-check.sh         there, from the repository root with .gpu/ beside it:
#                                TestGPUBackendsMatchCPU on xla:cuda (every family's first
#                                two steps against the pure-Go backend), the TrainStep
#                                benchmark of every family on xla:cuda, and the PyTorch
#                                peers (scripts/peer_train.py) on cuda; everything goes to
#                                $OUT (or .gpu/out) as gpu-check.txt.
#
# ONNX Runtime's CUDA provider (onnx:cuda) is not checked there: its library is about
# 230 MB, more than a run may carry. BENCHTIME (20x) and PEER_STEPS (20) set the timed
# iterations.
set -euo pipefail
cd "$(dirname "$0")/.."
log() { echo "gpu-check: $*" >&2; }

if [ "${1:-}" = build ]; then
	mkdir -p .gpu/fashion-mnist
	go test -c -tags xla -ldflags='-s -w' -o .gpu/train.test ./train
	gzip -9f .gpu/train.test
	src=${LATENTZOO_FASHION_MNIST:-/usr/share/datasets/fashion-mnist}
	cp "$src"/*-idx[13]-ubyte.gz .gpu/fashion-mnist/
	du -sh .gpu
	exit 0
fi

out=${OUT:-.gpu/out}
mkdir -p "$out"
exec > >(tee "$out/gpu-check.txt") 2>&1
python=${PYTHON:-python3}
nvidia-smi -L || true

# The CUDA libraries of the Python environment's nvidia-* packages, and XLA's CUDA plugin.
libs=$("$python" -c 'import glob, nvidia, os; print(":".join(sorted(d for p in nvidia.__path__ for d in glob.glob(os.path.join(p, "*", "lib")))))')
export LD_LIBRARY_PATH=$libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
LATENTZOO_PJRT_CUDA=$("$python" -c 'import glob, jax_plugins, os; print(sorted(f for p in jax_plugins.__path__ for f in glob.glob(os.path.join(p, "xla_cuda*", "xla_cuda_plugin.so")))[0])')
export LATENTZOO_PJRT_CUDA
nvcc=$("$python" -c 'import nvidia, os; print(next((os.path.join(p, "cuda_nvcc") for p in nvidia.__path__ if os.path.isdir(os.path.join(p, "cuda_nvcc"))), ""))')
[ -n "$nvcc" ] && export XLA_FLAGS="--xla_gpu_cuda_data_dir=$nvcc" PATH="$nvcc/bin:$PATH"
export LATENTZOO_FASHION_MNIST=$PWD/.gpu/fashion-mnist
log "PJRT plugin $LATENTZOO_PJRT_CUDA; CUDA data dir ${nvcc:-none}"

gunzip -kf .gpu/train.test.gz
chmod +x .gpu/train.test
(cd train && ../.gpu/train.test -test.run 'TestGPUBackendsMatchCPU' -test.v -test.count=1) || log "TestGPUBackendsMatchCPU failed"
(cd train && ../.gpu/train.test -test.run '^$' -test.bench 'TrainStep/.*/xla' -test.benchtime "${BENCHTIME:-20x}") || log "TrainStep on xla:cuda failed"
for f in vae dcvae; do
	"$python" scripts/peer_train.py --family "$f" --device cuda --steps "${PEER_STEPS:-20}" --threads "$(nproc)" || log "PyTorch peer $f on cuda failed"
done
