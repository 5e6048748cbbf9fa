# Shared helpers for the scripts: root/sudo, Debian packages, the Swift toolchain.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# Runs a command as root: directly when we are root (no sudo needed, none installed on a bare Debian), else through
# sudo. Only package installation needs it; the build, the tests and the demo run as the calling user.
as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        echo "error: installing packages needs root: run this script as root, or install sudo" >&2
        exit 1
    fi
}

# Installs the Debian packages that are missing (apt-get update only when something is).
ensure_packages() {
    local missing=()
    for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
    if [ ${#missing[@]} -gt 0 ]; then
        echo "==> installing ${missing[*]}"
        as_root apt-get update -qq
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
}

# The packages mdd builds and runs with, and the tools its tests use.
PACKAGES=(libopenblas-dev libdnnl-dev libpng-dev libsqlite3-dev sqlite3 postgresql libpq-dev util-linux systemd chromium)

ensure_swift() {
    if ! command -v swift >/dev/null 2>&1; then
        for d in /opt/swift/usr/bin /usr/share/swift/usr/bin; do [ -x "$d/swift" ] && export PATH="$d:$PATH"; done
    fi
    command -v swift >/dev/null 2>&1 || {
        echo "error: no Swift toolchain on PATH (Swift 6 is needed; see https://www.swift.org/install/linux/)" >&2
        exit 1
    }
}
