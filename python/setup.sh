#!/usr/bin/env bash
# Creates python/.venv from python/requirements.lock (hash-checked), and
# reuses it while the lock is unchanged. uv, itself a pinned wheel from PyPI,
# installs the lock from its cache (~/.cache/uv), so a fresh clone on a
# machine that ran this before installs in seconds.
set -euo pipefail
cd "$(dirname "$0")"
want=$(sha256sum requirements.lock | cut -d' ' -f1)
if [ -f .venv/.lock-sha256 ] && [ "$(cat .venv/.lock-sha256)" = "$want" ]; then
	exit 0
fi
py=${PYTHON:-python3}
if [ ! -x .uv/bin/uv ]; then
	"$py" -m venv .uv
	.uv/bin/pip install -q --disable-pip-version-check uv==0.13.8
fi
echo "python/.venv: installing python/requirements.lock (a cold install downloads about 4 GB and builds llama.cpp)"
.uv/bin/uv venv -q --allow-existing --python "$py" .venv
CMAKE_BUILD_PARALLEL_LEVEL=$(nproc) .uv/bin/uv pip sync -q --python .venv/bin/python --require-hashes requirements.lock
echo "$want" >.venv/.lock-sha256
