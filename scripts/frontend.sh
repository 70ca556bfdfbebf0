#!/usr/bin/env bash
# The dashboard's build steps, idempotent and quick when already done (the Makefile calls
# these). Usage: scripts/frontend.sh deps|build|lint|test|chromium|all
#
#   deps      npm ci when node_modules is missing or older than package-lock.json
#   build     deps, then `npm run build` (tsc --noEmit + vite build) when dist/ is missing or
#             older than any source (src/, index.html, configs, lock file, gen/ts)
#   lint      deps, then tsc --noEmit
#   test      deps, then Vitest (component and unit tests)
#   chromium  make sure Debian's Chromium is installed for the browser tests (installs it
#             with apt-get when running as root; otherwise says how)
#   all       deps build lint test chromium
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

FE=frontend

deps() {
  local stamp=$FE/node_modules/.package-lock.json
  if [[ ! -f $stamp || $FE/package-lock.json -nt $stamp ]]; then
    npm ci --prefix "$FE" --no-audit --no-fund --loglevel=error
  fi
}

build() {
  deps
  local index=$FE/dist/index.html
  if [[ -f $index ]] && [[ -z $(find "$FE/src" "$FE/index.html" "$FE/vite.config.ts" \
    "$FE/tsconfig.json" "$FE/package-lock.json" gen/ts -newer "$index" -print -quit) ]]; then
    return 0
  fi
  npm run --prefix "$FE" --silent build
}

lint() {
  deps
  npm run --prefix "$FE" --silent typecheck
}

test() {
  deps
  npm run --prefix "$FE" --silent test
}

chromium() {
  # type -P: the executable on PATH (command -v would find this very function).
  if type -P chromium >/dev/null 2>&1; then
    return 0
  fi
  if [[ $(id -u) -eq 0 ]]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null
  else
    echo "frontend.sh: the browser tests need Chromium: sudo apt-get install -y chromium" >&2
    return 1
  fi
}

for step in "${@:-all}"; do
  case $step in
    deps | build | lint | test | chromium) "$step" ;;
    all) deps && build && lint && test && chromium ;;
    *)
      echo "usage: $0 deps|build|lint|test|chromium|all" >&2
      exit 2
      ;;
  esac
done
