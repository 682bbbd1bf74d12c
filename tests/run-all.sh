#!/usr/bin/env bash
# Installs what is needed, builds with warnings as errors, checks formatting, and runs every test
# (unit and integration) with CTest.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${SKIP_INSTALL:-0}" != 1 ]; then deploy/dev/install-deps.sh; fi

if command -v git >/dev/null && git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  mapfile -t sources < <(git ls-files '*.cc' '*.h')
else
  mapfile -t sources < <(find agent sinks tests -name '*.cc' -o -name '*.h')
fi
clang-format --dry-run -Werror "${sources[@]}"

deploy/dev/build.sh -DSIEM_WERROR=ON
cd build
ctest --output-on-failure -j 2 --timeout 900
