# Two commands do all the set-up on a fresh machine:
#   make demo   -> creates .venv, installs everything, runs the main job on the embedded demo corpus
#   make test   -> creates .venv if needed, installs, runs the test suite (offline)
# llama-cpp-python has no binary wheel for this platform on PyPI: the first run builds it from
# source (~7 min on 2 cores) into $(WHEEL_DIR); every later run (and every new venv) reuses it.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
WHEEL_DIR ?= $(HOME)/.cache/guideminer/wheels
LLAMA_CPP_VERSION := 0.3.36
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
		$(PIP) wheel --no-deps llama-cpp-python==$(LLAMA_CPP_VERSION) -w $(WHEEL_DIR)
	$(PIP) install --quiet --find-links $(WHEEL_DIR) -e '.[server,notebooks,dev,ray]'
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
