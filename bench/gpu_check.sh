#!/usr/bin/env bash
# GPU path check (issue 6): onnxruntime-gpu with the judge bundle's fp16 model on TensorRT/CUDA (engine
# built with the bundle's min/opt/max profile), parity with the CPU int8 model, latency and throughput;
# then the real sidecar on the GPU over loopback (bench/bench_sidecar.py).
#
#   BUNDLE=path/to/bundle-with-fp16 bash bench/gpu_check.sh
#
# Needs an NVIDIA GPU with a CUDA 13 driver (>= 580), Python 3.11/3.12 with numpy, tokenizers, PyYAML,
# and CUDA 13 + cuDNN 9 libraries (system-wide, or the nvidia-* wheels that torch's CUDA 13 build uses;
# onnxruntime.preload_dlls() finds those). TensorRT runs only where libnvinfer 10 is installed; without
# it the [tensorrt, cuda] list falls back to CUDA and the output says so.
# Packages: from PyPI, or with WHEELS=dir from a folder of wheels (machines without network).
# The bundle's fp16 model is built on demand: `python -m export fp16 --bundle DIR` (export extra).
set -euo pipefail
cd "$(dirname "$0")/.."
BUNDLE=${BUNDLE:-models/judge}
RESULTS=${RESULTS:-bench/results}
SITE=${SITE:-/tmp/theraguard-gpu-site}
PACKAGES="onnxruntime-gpu==1.31.1 grpcio==1.85.1 grpcio-health-checking==1.85.1 grpcio-reflection==1.85.1 protobuf==7.36.2"

if [ -n "${WHEELS:-}" ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --target "$SITE" "$WHEELS"/*.whl
else
  python3 -m pip install -q --no-deps --target "$SITE" $PACKAGES
fi
export PYTHONPATH="$SITE:$PWD" PYTHONUNBUFFERED=1
# CUDA/cuDNN from the nvidia-* wheels (torch's CUDA build), where no system CUDA is installed: the
# sidecar subprocess needs them on the loader path too (gpu_check.py itself uses preload_dlls()).
nvlibs=$(python3 - <<'PY' 2>/dev/null || true
import glob, os, site
dirs = {os.path.dirname(p) for d in site.getsitepackages() for p in glob.glob(d + "/nvidia/**/lib*.so*", recursive=True)}
print(":".join(sorted(dirs)))
PY
)
[ -n "$nvlibs" ] && export LD_LIBRARY_PATH="$nvlibs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
mkdir -p "$RESULTS"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader

echo "== judge on the GPU vs int8 on the CPU"
python3 bench/gpu_check.py --bundle "$BUNDLE" --out "$RESULTS/gpu_check.json"

echo "== the sidecar on the GPU over loopback"
config=$(mktemp -d)/theraguard.yaml
bundle_abs=$(cd "$BUNDLE" && pwd)
sed -e "s#^  bundle: .*#  bundle: $bundle_abs#" \
    -e "s#^  require_gpu: false#  require_gpu: true#" \
    -e "s#^  backend: local #  backend: none  #" \
    -e "s#^policy_file: policy.yaml#policy_file: $PWD/config/policy.yaml#" \
    config/theraguard.yaml > "$config"
python3 bench/bench_sidecar.py --config "$config" --seconds 5 --out "$RESULTS/sidecar_gpu.json"
