# Two commands do everything on a fresh machine (Debian/Ubuntu, Go 1.26, Node 20):
#   make quickstart   install what is needed, build, run the whole pipeline offline
#   make test         install what is needed, run the tests
GO_TAGS ?= openblas
BIN := bin/distill

.PHONY: setup build quickstart test bench

# OpenBLAS for fast matrix products (cgo); strace for the test that watches
# files reach the disk before their rename; Slurm and munge for the test
# that runs the Slurm array template on a single-node cluster; DuckDB and
# the reference tokenizers (npm) for the tests that check our files and
# token ids against them; the Python venv (python/.venv, pinned in
# python/requirements.lock) that the engine jobs run with and the tests
# check our files in.
setup:
	@if ! ldconfig -p | grep -q libopenblas; then \
		echo "installing libopenblas-dev"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libopenblas-dev) >/dev/null; \
	fi
	@if ! command -v strace >/dev/null; then \
		echo "installing strace"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq strace) >/dev/null; \
	fi
	@if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then \
		echo "installing slurm-wlm and munge"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends slurm-wlm munge) >/dev/null; \
	fi
	@cd scripts/node && npm ci --no-audit --no-fund --loglevel=error
	@python/setup.sh

build:
	go build -tags '$(GO_TAGS)' -o $(BIN) .

quickstart: setup build
	./$(BIN) run --config configs/quickstart.yaml

# Tests build without default.pgo (-pgo=off): the profile changes no
# behaviour, and the root package's tests would otherwise build every
# package a second time with it.
test: setup
	go vet -pgo=off -tags '$(GO_TAGS)' ./...
	go test -pgo=off -tags '$(GO_TAGS)' -timeout 40m ./...
	go test -tags purego ./student/kernel ./student/blas/... ./student/graph ./student/model ./dataset
	go test -run='^$$' -fuzz=FuzzParseHeader -fuzztime=10s ./student/safetensors
