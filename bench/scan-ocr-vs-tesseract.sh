#!/usr/bin/env bash
# A one-page searchable-PDF job, `scanwire scan --ocr eng -o doc.pdf` (scan, OCR in the page
# pipeline, PDF with its text layer), against Tesseract's own time for the same page,
# `tesseract page.png doc -l eng pdf` (its searchable-PDF renderer), in turns, timed by
# hyperfine in rounds (issue 14's target: "a one-page job costs at most Tesseract's own time
# for the page + 10 %").
#
# The page is the virtual scanner's A4 300 dpi gray flatbed page, scanned once to page.png
# for Tesseract. Scanwire's side includes the scan itself (the virtual scanner renders the
# page) and Scanwire's JPEG encoding of the image; Tesseract's side reads the PNG and stores
# it losslessly. Both run the engine with OMP_THREAD_LIMIT=1 (Scanwire sets it; see the
# section on the engine in BENCHMARKS.md). Before timing, pdftotext's words of both PDFs are
# compared.
#
# The table gives medians of wall time and of CPU time (user + system: the steadier figure
# on a loaded machine) and the ratios to Tesseract.
#
# Usage: bench/scan-ocr-vs-tesseract.sh [RUNS]   (default 3 rounds; needs tesseract-ocr,
# tesseract-ocr-eng, poppler-utils, hyperfine, python3). SCANWIRE_BIN measures another build.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
need "tesseract-ocr tesseract-ocr-eng poppler-utils hyperfine python3" tesseract pdftotext hyperfine python3
runs=${1:-3}
scanwire_bin
work=$(mktemp -d "${BENCH_DIR:-${TMPDIR:-/tmp}}/scan-ocr-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
scan=(scan --mode gray --resolution 300 --quiet)

"$bin" "${scan[@]}" -o "$work/page.png"
echo "== same words? (virtual scanner, A4 300 dpi gray)"
# The engine's words (--ocr-text against Tesseract's txt), then what pdftotext reads back
# from each PDF's text layer.
"$bin" "${scan[@]}" --ocr eng --ocr-text "$work/ours.txt" -o "$work/ours.pdf"
OMP_THREAD_LIMIT=1 tesseract "$work/page.png" "$work/tess" -l eng pdf txt 2>/dev/null
words() { tr -s ' \n\f' '\n\n\n' | sed '/^$/d'; }
words <"$work/ours.txt" >"$work/ours.words"
words <"$work/tess.txt" >"$work/tess.words"
if cmp -s "$work/ours.words" "$work/tess.words"; then
    echo "engine: identical, $(wc -l <"$work/ours.words") words"
else
    echo "engine: DIFFERENT words:"; diff "$work/ours.words" "$work/tess.words" | head -20 || true
fi
echo "pdftotext: ours $(pdftotext "$work/ours.pdf" - | words | wc -l) words," \
    "tesseract's PDF $(pdftotext "$work/tess.pdf" - | words | wc -l)"

echo "== time ($runs rounds; each round runs both once, in turns)"
for r in $(seq "$runs"); do
    rm -f "$work/ours.pdf"
    hyperfine --runs 1 -N --style none --export-json "$work/round-$r.json" \
        --prepare "rm -f $work/ours.pdf" \
        -n "scanwire scan --ocr eng -o doc.pdf" "$bin ${scan[*]} --ocr eng -o $work/ours.pdf" \
        -n "tesseract page.png doc pdf" "env OMP_THREAD_LIMIT=1 tesseract $work/page.png $work/tess -l eng pdf" \
        >/dev/null
done
python3 - "$work" "$runs" <<'PY'
import json, statistics, sys
work, runs = sys.argv[1], int(sys.argv[2])
rows = {}
for r in range(1, runs + 1):
    for res in json.load(open(f"{work}/round-{r}.json"))["results"]:
        row = rows.setdefault(res["command"], {"wall": [], "cpu": []})
        row["wall"] += res["times"]
        user = res["user"] if isinstance(res["user"], list) else [res["user"]]
        system = res["system"] if isinstance(res["system"], list) else [res["system"]]
        row["cpu"] += [u + s for u, s in zip(user, system)]
base = rows["tesseract page.png doc pdf"]
bw, bc = statistics.median(base["wall"]), statistics.median(base["cpu"])
print("| command | wall, median (min–max) | CPU (user+sys), median | wall ratio | CPU ratio |")
print("|---|---|---|---|---|")
for name, row in rows.items():
    w, c = statistics.median(row["wall"]), statistics.median(row["cpu"])
    print(f"| {name} | {w:.2f} s ({min(row['wall']):.2f}–{max(row['wall']):.2f}) | {c:.2f} s | {w/bw:.2f} | {c/bc:.2f} |")
PY
