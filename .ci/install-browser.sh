#!/usr/bin/env bash
# System packages the tests need beyond requirements.lock: Debian's Chromium for the web-page
# test (driven by Playwright with executable_path=/usr/bin/chromium). Idempotent. Never run
# `playwright install`: it downloads its own browser, which fails on a closed network.
set -euo pipefail
command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium)
