#!/usr/bin/env bash
# Installs what the build needs and runs the whole test suite (engine parity, queue, daemon + mdctl).
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
ensure_packages "${PACKAGES[@]}"
ensure_swift
echo "==> swift build --build-tests"
swift build --build-tests
echo "==> swift test"
swift test
