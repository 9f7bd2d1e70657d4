# Shared by the bench scripts; source it from the checkout's root.

# need PACKAGES TOOL...: exits naming the Debian packages when a tool is missing.
need() {
    local packages=$1 tool
    shift
    for tool in "$@"; do
        command -v "$tool" >/dev/null || {
            echo "missing: $tool (apt-get install $packages)" >&2
            exit 1
        }
    done
}

# scanwire_bin: sets `bin` to the binary to measure: $SCANWIRE_BIN when set (another build,
# say of an older commit), else this checkout's release build, built now.
scanwire_bin() {
    if [ -n "${SCANWIRE_BIN:-}" ]; then
        bin=$(realpath "$SCANWIRE_BIN")
    else
        cargo build --release -q -p scanwire
        bin=$(realpath "${CARGO_TARGET_DIR:-target}/release/scanwire")
    fi
}

# sane_test_config DIR: a private SANE configuration in DIR: only the test backend (others
# probe USB and the network), with geometry_max 300 mm so an A4 page is not silently clipped
# to the stock 200 mm.
sane_test_config() {
    mkdir -p "$1/dll.d"
    echo test >"$1/dll.conf"
    sed 's/^[[:space:]]*geometry_max.*/geometry_max 300.0/' /etc/sane.d/test.conf >"$1/test.conf"
    grep -q '^geometry_max 300.0' "$1/test.conf" || echo 'geometry_max 300.0' >>"$1/test.conf"
}
