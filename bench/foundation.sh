#!/usr/bin/env bash
# End-to-end figures for the foundation (issue 2), measured in one run:
#  1. one A4 300 dpi color page from the virtual scanner to PNG (target <= 1 s);
#  2. peak memory of a 50-page feeder scan against a 5-page one (target <= 1.2x).
# Usage: bench/foundation.sh   (builds the release binary first; needs hyperfine and GNU time)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p scanwire
bin=${CARGO_TARGET_DIR:-target}/release/scanwire
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

echo "== A4 300 dpi color page -> PNG"
hyperfine --warmup 2 --runs 10 --export-json "$out/a4.json" \
    "$bin scan -q -o $out/a4.png" | sed -n '/Time/,/Range/p'
python3 - "$out/a4.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
print(f"median {r['median']*1000:.0f} ms, mean {r['mean']*1000:.0f} ms, min {r['min']*1000:.0f} ms")
PY
ls -l "$out/a4.png" | awk '{print "file size", $5, "bytes"}'

rss() { /usr/bin/time -f '%M' "$@" 2>&1 >/dev/null | tail -1; }
echo "== peak memory, feeder scans to PNG (KiB)"
for n in 5 50; do
    best=
    for _ in 1 2 3; do
        m=$(rss "$bin" scan -q --source adf --set sheets=$n -o "$out/p-{n}.png")
        rm -f "$out"/p-*.png
        if [ -z "$best" ] || [ "$m" -lt "$best" ]; then best=$m; fi
    done
    echo "$n pages: max RSS $best KiB (best of 3)"
    eval "rss_$n=$best"
done
python3 -c "print(f'ratio 50/5 pages: {$rss_50/$rss_5:.2f}x (target <= 1.2x)')"
