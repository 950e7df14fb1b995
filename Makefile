# Two commands do all the set-up on a fresh machine:
#   make demo   -> creates .venv, installs everything, runs the main job on the embedded demo corpus
#   make test   -> creates .venv if needed, installs, runs the test suite (offline)
# llama-cpp-python has no binary wheel for this platform on PyPI: the first run builds it from
# source (~7 min on 2 cores) into $(WHEEL_DIR); every later run (and every new venv) reuses it.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
LLAMA_CPP_VERSION := 0.3.36
# Portable llama.cpp: runs on any x86-64 CPU with AVX2 (Haswell / Zen 1 and later). No -march=native,
# no AVX-512, no AMX: a wheel built on one CPU must run on the next machine's (a native build on an
# Intel Xeon with AMX dies with SIGILL at `tilezero` under KVM). See docs/DEVELOPING.md.
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON \
	-DGGML_BMI2=ON -DGGML_AVX_VNNI=OFF -DGGML_AVX512=OFF -DGGML_AVX512_VBMI=OFF -DGGML_AVX512_VNNI=OFF \
	-DGGML_AVX512_BF16=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF \
	-DGGML_CPU_ALL_VARIANTS=OFF -DGGML_BACKEND_DL=OFF -DLLAMA_CURL=OFF
# The wheel cache is keyed by version + build flags: a wheel built with other flags is never reused.
LLAMA_BUILD_KEY := $(shell printf '%s' '$(LLAMA_CPP_VERSION) $(LLAMA_CMAKE_ARGS)' | sha256sum | cut -c1-12)
WHEEL_DIR ?= $(HOME)/.cache/guideminer/wheels/llama-$(LLAMA_CPP_VERSION)-$(LLAMA_BUILD_KEY)
STAMP := $(VENV)/.guideminer-installed
OFFLINE_ENV := HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1 \
	HF_HUB_DISABLE_TELEMETRY=1 DO_NOT_TRACK=1 TOKENIZERS_PARALLELISM=false

.PHONY: install demo test test-slow bench-ingest bench-embed bench-matching bench-cascade bench-bertopic bench-scale bench-proposals clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip wheel setuptools
	mkdir -p $(WHEEL_DIR)
	ls $(WHEEL_DIR)/llama_cpp_python-$(LLAMA_CPP_VERSION)-*.whl >/dev/null 2>&1 || \
		CMAKE_ARGS='$(LLAMA_CMAKE_ARGS)' $(PIP) wheel --no-deps --no-binary llama-cpp-python \
			--no-cache-dir llama-cpp-python==$(LLAMA_CPP_VERSION) -w $(WHEEL_DIR)
	printf '%s\n' '$(LLAMA_CMAKE_ARGS)' > $(WHEEL_DIR)/BUILD_FLAGS
	$(PIP) install --quiet --find-links $(WHEEL_DIR) -e '.[server,notebooks,dev,ray,parlant]'
	touch $(STAMP)

demo: install
	$(OFFLINE_ENV) $(VENV)/bin/guideminer demo

test: install
	$(OFFLINE_ENV) $(PY) -m pytest

test-slow: install
	$(OFFLINE_ENV) $(PY) -m pytest -m slow

bench-ingest: install
	$(OFFLINE_ENV) $(PY) benchmarks/bench_ingest.py

bench-embed: install
	$(OFFLINE_ENV) $(PY) benchmarks/bench_embed.py

bench-matching: install
	$(OFFLINE_ENV) $(PY) benchmarks/bench_matching.py

bench-cascade: install
	$(OFFLINE_ENV) $(PY) benchmarks/bench_cascade.py

bench-bertopic: install
	bash benchmarks/make_bench_venv.sh
	$(OFFLINE_ENV) $(PY) benchmarks/bench_bertopic.py

bench-scale: install
	bash benchmarks/make_bench_venv.sh
	$(OFFLINE_ENV) $(PY) benchmarks/bench_scale.py --sizes 10000 100000 1000000 --out /tmp/scale --bertopic-size 10000

bench-proposals: install
	rm -rf /tmp/ws_sgd /tmp/demo
	$(OFFLINE_ENV) $(VENV)/bin/guideminer ingest ../shared/data/sgd/train --out /tmp/ws_sgd
	$(OFFLINE_ENV) $(VENV)/bin/guideminer mine /tmp/ws_sgd
	$(OFFLINE_ENV) $(VENV)/bin/guideminer demo --out /tmp/demo
	$(OFFLINE_ENV) $(PY) benchmarks/ablate_proposals.py --sgd /tmp/ws_sgd --demo /tmp/demo

clean:
	rm -rf $(VENV) demo-workspace build *.egg-info
