#!/usr/bin/env bash
# Runs every test Scanwire has, installing what the tests need first (Debian packages for the
# real peers: the SANE test backend, scanimage, sane-airscan, qpdf, poppler, libtiff tools, and
# Avahi for the mDNS tests, which run it only inside network namespaces they create).
#
#   ./scripts/test.sh            everything
#   SCANWIRE_REQUIRE_PEERS=1     a missing peer fails its test instead of skipping it (CI)
#   SCANWIRE_FIXTURES=DIR        the real-device fixtures (default: ../shared/fixtures beside
#                                the repository); without them those tests skip
#
# Every stage runs even when an earlier one fails; the end prints each stage's result and the
# tests that were skipped, with why (their `skipped:` lines), and the exit status is non-zero
# if any stage failed. Each stage's output is also in target/test-logs/.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(sane-utils libsane1 sane-airscan qpdf poppler-utils libtiff-tools unpaper
          avahi-daemon avahi-utils dbus-daemon iproute2 util-linux curl
          tesseract-ocr tesseract-ocr-eng tesseract-ocr-osd fonts-dejavu-core liblcms2-utils
          nats-server chromium chromium-driver)

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

# From here on a failing stage is recorded, not fatal.
set +e
logs=target/test-logs
mkdir -p "$logs"
rm -f "$logs"/*.log
stages=()
results=()

# stage NAME COMMAND...: runs COMMAND with its output shown and kept in $logs/NAME.log.
stage() {
    local name=$1
    shift
    echo "== $name"
    "$@" 2>&1 | tee "$logs/$name.log"
    local status=${PIPESTATUS[0]}
    stages+=("$name")
    if [ "$status" = 0 ]; then results+=(passed); else results+=("FAILED (exit $status)"); fi
}

stage cargo-test cargo test --workspace --all-targets --no-fail-fast
stage doc-tests cargo test --workspace --doc
stage loom env RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=target/loom \
    cargo test -p scanwire-core --test loom --release
if [ -x crates/com/run-wine-tests.sh ]; then
    stage wine crates/com/run-wine-tests.sh
fi

echo
echo "== summary"
failed=0
for i in "${!stages[@]}"; do
    printf '  %-12s %s\n' "${stages[$i]}" "${results[$i]}"
    [ "${results[$i]}" = passed ] || failed=1
done
# A skip line may share a terminal line with the harness's own output: take it from `skipped:`.
skipped=$(grep -ho 'skipped: .*' "$logs"/*.log | sort -u)
if [ -n "$skipped" ]; then
    echo "  skipped tests ($(printf '%s\n' "$skipped" | wc -l)):"
    printf '%s\n' "$skipped" | sed 's/^skipped: /    /'
else
    echo "  no test was skipped"
fi
exit "$failed"
