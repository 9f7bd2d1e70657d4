#!/usr/bin/env bash
# Runs every test Scanwire has, installing what the tests need first (Debian packages for the
# real peers: the SANE test backend, scanimage, sane-airscan, qpdf, poppler, libtiff tools, and
# Avahi for the mDNS tests, which run it only inside network namespaces they create).
#
#   ./scripts/test.sh            everything
#   SCANWIRE_REQUIRE_PEERS=1     a missing peer fails its test instead of skipping it (CI)
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(sane-utils libsane1 sane-airscan qpdf poppler-utils libtiff-tools
          avahi-daemon avahi-utils dbus-daemon iproute2 util-linux curl
          tesseract-ocr tesseract-ocr-eng tesseract-ocr-osd fonts-dejavu-core)

missing=()
for p in "${PACKAGES[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "== installing ${missing[*]}"
        # Installing avahi-daemon must not start it on this machine's real interfaces: a
        # policy-rc.d that refuses every service start holds for the install.
        policy=/usr/sbin/policy-rc.d
        own_policy=
        if [ ! -e "$policy" ]; then
            printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && own_policy=1
            # Removed however the install ends, so no later service start is refused.
            trap 'rm -f "$policy"' EXIT
        fi
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
        [ -z "$own_policy" ] || { rm -f "$policy"; trap - EXIT; }
        # Nor at the next boot, where systemd runs: the tests start their own avahi-daemon,
        # in network namespaces.
        if [[ " ${missing[*]} " == *" avahi-daemon "* ]] && command -v systemctl >/dev/null; then
            systemctl mask avahi-daemon.service avahi-daemon.socket >/dev/null 2>&1 || true
        fi
    else
        echo "warning: missing Debian packages: ${missing[*]} (install them, or their tests skip;" \
             "with SCANWIRE_REQUIRE_PEERS=1 they fail)" >&2
    fi
fi

echo "== cargo test (workspace)"
cargo test --workspace --all-targets --no-fail-fast
cargo test --workspace --doc

echo "== loom model checks (scanwire-core)"
RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=target/loom \
    cargo test -p scanwire-core --test loom --release

if [ -x crates/com/run-wine-tests.sh ]; then
    echo "== Windows COM layer under wine"
    crates/com/run-wine-tests.sh
fi
