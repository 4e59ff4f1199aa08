#!/usr/bin/env bash
# Headless Chromium for the browser tests of `podtask ui` (tests/ui/), from Debian's packages.
# Playwright's own browser download cannot work here (only the package registries are
# reachable), so the tests drive /usr/bin/chromium directly over the DevTools pipe.
# Exits non-zero, saying why, when Chromium cannot be installed or cannot start: CI must
# fail then, not skip the browser tests.
set -euo pipefail

if ! command -v chromium >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  if ! { apt-get update -q && apt-get install -y -q --no-install-recommends chromium fonts-dejavu-core; } >/tmp/setup-chromium.log 2>&1; then
    tail -20 /tmp/setup-chromium.log >&2
    echo "setup-chromium: 'apt-get install chromium' failed (log above); the browser tests cannot run" >&2
    exit 1
  fi
fi

profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
if ! out=$(timeout 60 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$profile" --dump-dom 'data:text/html,<p>podtask-ok</p>' 2>/dev/null) \
    || [[ "$out" != *podtask-ok* ]]; then
  echo "setup-chromium: chromium is installed but could not render a page headless" >&2
  exit 1
fi
echo "setup-chromium: $(chromium --version 2>/dev/null | head -1) renders pages headless"
