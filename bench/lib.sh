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

# free_port: a TCP port on 127.0.0.1 that nothing listens on now.
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Wall-clock helpers: now (monotonic seconds), secs START END, per_min COUNT SECONDS.
now() { python3 -c 'import time; print(time.monotonic())'; }
secs() { python3 -c "print(round($2 - $1, 2))"; }
per_min() { python3 -c "print(round($1 * 60 / $2, 1))"; }

# nats_cluster NODES DIR: starts NODES `nats-server`s with JetStream on 127.0.0.1 (stores
# and logs in DIR; more than one node: a cluster routed on loopback), appends their PIDs to
# the caller's `pids` array (for its cleanup) and sets `url` to every node's client URL,
# comma-separated, as `--queue` takes it.
nats_cluster() {
    local nodes=$1 dir=$2 i route_list
    local -a clients=() routes=() args
    for i in $(seq 1 "$nodes"); do
        clients+=("$(free_port)")
        routes+=("$(free_port)")
    done
    route_list=$(printf 'nats://127.0.0.1:%s,' "${routes[@]}")
    for i in $(seq 0 $((nodes - 1))); do
        args=(-a 127.0.0.1 -p "${clients[$i]}" -n "n$i" -js -sd "$dir/store$i")
        if [ "$nodes" -gt 1 ]; then
            args+=(--cluster_name bench --cluster "nats://127.0.0.1:${routes[$i]}" --routes "${route_list%,}")
        fi
        nats-server "${args[@]}" >"$dir/nats$i.log" 2>&1 &
        pids+=($!)
    done
    url=$(printf 'nats://127.0.0.1:%s,' "${clients[@]}")
    url=${url%,}
    # The nodes elect JetStream's meta leader before streams can be made.
    sleep 3
}

# bench_cleanup: the usual EXIT trap: Ctrl-C to every PID in the caller's PIDS array, then
# the caller's WORK directory removed.
bench_cleanup() {
    for p in ${PIDS[@]+"${PIDS[@]}"}; do kill -INT "$p" 2>/dev/null || true; done
    sleep 0.3
    rm -rf "$WORK"
}

# wait_for_serve PORT LOG: waits up to 10 s for `scanwire serve` to answer eSCL on PORT;
# otherwise prints its LOG and exits.
wait_for_serve() {
    for _ in $(seq 100); do
        curl -sf "http://127.0.0.1:$1/eSCL/ScannerCapabilities" >/dev/null && return
        sleep 0.1
    done
    echo "scanwire serve did not start on port $1:" >&2
    cat "$2" >&2
    exit 1
}

# airscan_config DIR PORT: a private SANE configuration in DIR with only sane-airscan, which
# knows only http://127.0.0.1:PORT/eSCL (device airscan:e0:Scanwire) and discovers nothing.
airscan_config() {
    mkdir -p "$1/dll.d"
    echo airscan >"$1/dll.conf"
    printf '[devices]\n"Scanwire" = http://127.0.0.1:%s/eSCL, eSCL\n[options]\ndiscovery = disable\nws-discovery = off\n' \
        "$2" >"$1/airscan.conf"
}
