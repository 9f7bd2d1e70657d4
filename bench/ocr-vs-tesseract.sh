#!/usr/bin/env bash
# Our OCR engine (scanwire-ocr's `recognize` example: libtesseract through the C API, PNG
# decoded in Rust, words with boxes printed) against the `tesseract` command line on the same
# image with the same language, timed by hyperfine in rounds (issue 14's benchmark, "a one-page job
# costs at most Tesseract's own time for the page + 10 %"). Both sides load the language data
# and recognise one page per run; both print the text.
#
# Three commands:
#   scanwire-ocr                       what Scanwire runs (OpenMP limited to 1 thread, as the
#                                      crate sets OMP_THREAD_LIMIT=1 unless it is set)
#   tesseract, OMP_THREAD_LIMIT=1      the same engine configuration as ours
#   tesseract, default                 what a user gets by default (Debian's libtesseract is
#                                      built with OpenMP; on a busy 2-core machine its threads
#                                      spin against each other)
# Before timing, the words of the first two are compared (they must be identical: same engine).
#
# The table gives medians of wall time and of CPU time (user + system: less sensitive to the
# load of a shared machine) and the ratios to `tesseract` with OMP_THREAD_LIMIT=1.
#
# Usage: [OCR_BENCH_DEFAULT=0] bench/ocr-vs-tesseract.sh [IMAGE.png] [RUNS]   (default: the shared fixture
# unpaper-imgsrc002.png, 3 rounds; needs tesseract-ocr, tesseract-ocr-eng, hyperfine, python3).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
need "tesseract-ocr tesseract-ocr-eng hyperfine python3" tesseract hyperfine python3

fixtures=${SCANWIRE_FIXTURES:-../shared/fixtures}
image=$(realpath "${1:-$fixtures/scans/unpaper-imgsrc002.png}")
runs=${2:-3}
lang=${OCR_LANG:-eng}

cargo build --release -q -p scanwire-ocr --example recognize
ours=$(realpath "${CARGO_TARGET_DIR:-target}/release/examples/recognize")
work=$(mktemp -d "${BENCH_DIR:-${TMPDIR:-/tmp}}/ocr-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

echo "== same words? ($image, -l $lang)"
"$ours" "$image" -l "$lang" --text 2>"$work/ours.log" | tr -s ' \n' '\n\n' | sed '/^$/d' >"$work/ours.words"
OMP_THREAD_LIMIT=1 tesseract "$image" - -l "$lang" 2>/dev/null | tr -s ' \n' '\n\n' | sed '/^$/d' >"$work/cli.words"
cat "$work/ours.log"
if cmp -s "$work/ours.words" "$work/cli.words"; then
    echo "identical: $(wc -l <"$work/ours.words") words"
else
    echo "DIFFERENT words:"; diff "$work/ours.words" "$work/cli.words" | head -20
fi

echo "== time ($runs rounds; each round runs each command once, in turns, so load hits all alike)"
names=("scanwire-ocr" "tesseract (OMP_THREAD_LIMIT=1)")
cmds=("$ours $image -l $lang --text"
      "env OMP_THREAD_LIMIT=1 tesseract $image - -l $lang")
# The default command line takes several times as long; OCR_BENCH_DEFAULT=0 leaves it out.
if [ "${OCR_BENCH_DEFAULT:-1}" != 0 ]; then
    names+=("tesseract (default)")
    cmds+=("tesseract $image - -l $lang")
fi
for r in $(seq "$runs"); do
    args=()
    for i in "${!names[@]}"; do args+=(-n "${names[$i]}" "${cmds[$i]}"); done
    hyperfine --runs 1 -N --style none --export-json "$work/round-$r.json" "${args[@]}" >/dev/null
done
python3 - "$work" "$runs" <<'PY'
import json, statistics, sys
work, runs = sys.argv[1], int(sys.argv[2])
rows = {}
for r in range(1, runs + 1):
    for res in json.load(open(f"{work}/round-{r}.json"))["results"]:
        row = rows.setdefault(res["command"], {"wall": [], "cpu": []})
        row["wall"] += res["times"]
        row["cpu"] += [u + s for u, s in zip(res["user"] if isinstance(res["user"], list) else [res["user"]],
                                            res["system"] if isinstance(res["system"], list) else [res["system"]])]
base = rows["tesseract (OMP_THREAD_LIMIT=1)"]
bw, bc = statistics.median(base["wall"]), statistics.median(base["cpu"])
print("| command | wall, median (min–max) | CPU (user+sys), median | wall ratio | CPU ratio |")
print("|---|---|---|---|---|")
for name, row in rows.items():
    w, c = statistics.median(row["wall"]), statistics.median(row["cpu"])
    print(f"| {name} | {w:.2f} s ({min(row['wall']):.2f}–{max(row['wall']):.2f}) | {c:.2f} s | {w/bw:.2f} | {c/bc:.2f} |")
PY
