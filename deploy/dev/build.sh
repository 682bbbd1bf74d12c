#!/usr/bin/env bash
# Configures and builds siem-agent, its tests, fakes and benchmarks into ./build.
# Extra arguments are passed to the CMake configure step (e.g. -DSIEM_WERROR=ON).
set -euo pipefail
cd "$(dirname "$0")/../.."
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release "$@"
cmake --build build -j "$(nproc)"
