#!/usr/bin/env bash
# Issue 14's searchable-document target: a feeder job of the virtual scanner's text pages
# (`--set content=text`: paragraphs of real words in DejaVu Serif, A4 300 dpi gray) to one
# searchable PDF,
#   scanwire scan --source adf --ocr eng -o doc.pdf          (OCR while the feeder runs)
# against the usual chain on the same pages,
#   scanwire scan --source adf -o page-%02d.png               (the same scan, as image files)
#   img2pdf page-*.png -o scan.pdf && ocrmypdf -l eng scan.pdf doc.pdf
# (ocrmypdf's defaults: PDF/A output, all cores), timed by hyperfine in rounds, each round
# running both once in turns; target: ours ≤ 0.6× the chain at equal recall. Recall is the
# share of the words printed on the pages (`scanwire_virtual::page_text`, via the crate's
# `text-page` example) that `pdftotext` finds in each PDF, counted as a multiset (a word
# printed three times must be found three times), case and punctuation ignored.
#
# Then a one-page job, `scanwire scan --ocr eng -o doc.pdf` of text page 1, against
# `tesseract page.png doc -l eng pdf` on the same page (target: Tesseract's time + 10 %), with
# the recall of both.
#
# The table gives medians of wall time and of CPU time (user + system, children included:
# the steadier figure on a loaded machine) and the ratios to the chain / to tesseract.
#
# Usage: bench/scan-ocr-vs-ocrmypdf.sh [PAGES] [RUNS]   (default 10 pages, 3 rounds; needs
# tesseract-ocr, tesseract-ocr-eng, poppler-utils, hyperfine, python3, fonts-dejavu-core;
# installs ocrmypdf (Debian, with img2pdf) when missing). SCANWIRE_BIN measures another build.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
pages=${1:-10}
runs=${2:-3}
if ! command -v ocrmypdf >/dev/null || ! command -v img2pdf >/dev/null; then
    echo "installing ocrmypdf and img2pdf (Debian)" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q ocrmypdf img2pdf >/dev/null
fi
need "tesseract-ocr tesseract-ocr-eng poppler-utils hyperfine python3 ocrmypdf img2pdf" \
    tesseract pdftotext hyperfine python3 ocrmypdf img2pdf
[ -e /usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf ] || {
    echo "missing: DejaVu Serif (apt-get install fonts-dejavu-core)" >&2
    exit 1
}
scanwire_bin
cargo build --release -q -p scanwire-virtual --example text-page
text_page=$(realpath "${CARGO_TARGET_DIR:-target}/release/examples/text-page")
work=$(mktemp -d "${BENCH_DIR:-${TMPDIR:-/tmp}}/scan-ocrmypdf-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

feeder=(scan --source adf --pages "$pages" --set sheets="$pages" --set content=text
        --paper a4 --mode gray --resolution 300 --quiet)
flatbed=(scan --set content=text --paper a4 --mode gray --resolution 300 --quiet)
"$text_page" 1 "$pages" >"$work/truth-job.txt"
"$text_page" 1 >"$work/truth-page.txt"

ours_job="$bin ${feeder[*]} --ocr eng -o $work/ours.pdf"
chain_job="sh -c '$bin ${feeder[*]} -o $work/img/page-%02d.png && img2pdf $work/img/page-*.png -o $work/scan.pdf && ocrmypdf -q -l eng $work/scan.pdf $work/chain.pdf'"
ours_page="$bin ${flatbed[*]} --ocr eng -o $work/ours1.pdf"
tess_page="env OMP_THREAD_LIMIT=1 tesseract $work/page.png $work/tess -l eng pdf"
prepare="rm -rf $work/img $work/ours.pdf $work/chain.pdf $work/scan.pdf $work/ours1.pdf; mkdir -p $work/img"

echo "== recall ($pages text pages, A4 300 dpi gray)"
sh -c "$prepare"
sh -c "$ours_job"
sh -c "$chain_job"
"$bin" "${flatbed[@]}" -o "$work/page.png"
sh -c "$ours_page"
OMP_THREAD_LIMIT=1 tesseract "$work/page.png" "$work/tess" -l eng pdf 2>/dev/null
python3 - "$work" <<'PY'
import collections, re, subprocess, sys
work = sys.argv[1]
def words(text):
    out = []
    for w in text.split():
        w = re.sub(r"^\W+|\W+$", "", w).lower()
        if w:
            out.append(w)
    return collections.Counter(out)
def recall(truth, pdf):
    found = words(subprocess.run(["pdftotext", pdf, "-"], capture_output=True, text=True, check=True).stdout)
    t = words(open(truth).read())
    hit = sum(min(n, found[w]) for w, n in t.items())
    return hit, sum(t.values())
for name, truth, pdf in [
    ("scanwire scan --ocr (job)", "truth-job.txt", "ours.pdf"),
    ("scan + img2pdf + ocrmypdf (job)", "truth-job.txt", "chain.pdf"),
    ("scanwire scan --ocr (page 1)", "truth-page.txt", "ours1.pdf"),
    ("tesseract page.png (page 1)", "truth-page.txt", "tess.pdf"),
]:
    hit, total = recall(f"{work}/{truth}", f"{work}/{pdf}")
    print(f"{name}: recall {100 * hit / total:.2f} % ({hit} of {total} words)")
PY

echo "== time ($runs rounds; each round runs each command once, in turns)"
for r in $(seq "$runs"); do
    hyperfine --runs 1 -N --style none --export-json "$work/round-$r.json" \
        --prepare "sh -c '$prepare'" \
        -n "scanwire scan --ocr eng ($pages pages)" "$ours_job" \
        -n "scan to PNG + img2pdf + ocrmypdf ($pages pages)" "$chain_job" \
        -n "scanwire scan --ocr eng (1 page)" "$ours_page" \
        -n "tesseract page.png doc pdf (1 page)" "$tess_page" \
        >/dev/null
done
python3 - "$work" "$runs" "$pages" <<'PY'
import json, statistics, sys
work, runs, pages = sys.argv[1], int(sys.argv[2]), sys.argv[3]
rows = {}
for r in range(1, runs + 1):
    for res in json.load(open(f"{work}/round-{r}.json"))["results"]:
        row = rows.setdefault(res["command"], {"wall": [], "cpu": []})
        row["wall"] += res["times"]
        user = res["user"] if isinstance(res["user"], list) else [res["user"]]
        system = res["system"] if isinstance(res["system"], list) else [res["system"]]
        row["cpu"] += [u + s for u, s in zip(user, system)]
base = {
    f"scanwire scan --ocr eng ({pages} pages)": f"scan to PNG + img2pdf + ocrmypdf ({pages} pages)",
    f"scan to PNG + img2pdf + ocrmypdf ({pages} pages)": f"scan to PNG + img2pdf + ocrmypdf ({pages} pages)",
    "scanwire scan --ocr eng (1 page)": "tesseract page.png doc pdf (1 page)",
    "tesseract page.png doc pdf (1 page)": "tesseract page.png doc pdf (1 page)",
}
print("| command | wall, median (min–max) | CPU (user+sys), median | wall ratio | CPU ratio |")
print("|---|---|---|---|---|")
for name, row in rows.items():
    b = rows[base[name]]
    bw, bc = statistics.median(b["wall"]), statistics.median(b["cpu"])
    w, c = statistics.median(row["wall"]), statistics.median(row["cpu"])
    print(f"| {name} | {w:.2f} s ({min(row['wall']):.2f}–{max(row['wall']):.2f}) | {c:.2f} s | {w/bw:.2f} | {c/bc:.2f} |")
PY
