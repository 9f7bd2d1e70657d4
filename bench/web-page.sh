#!/usr/bin/env bash
# The web page of `scanwire serve` (issue 15), as a browser sees it:
#   1. the first load on the wire: GET / and every /web/ file index.html names, asked for as a
#      browser does (Accept-Encoding: gzip), headers and bodies counted;
#   2. in headless chromium (driven over WebDriver by python3's urllib, chromedriver on a
#      loopback port), RUNS scans of 3 feeder pages (gray, 150 dpi, the unpaced virtual
#      scanner) started from the page's origin: the time from the POST /api/scans answer to
#      the first `status` event (an upper bound on the driver's first STATUS -> browser), and
#      from each `page` event to its thumbnail loaded in the browser;
#   3. the server's RSS (VmRSS) before and after JOBS one-page scans through the same API
#      (POST /api/scans, its event stream to `done`), each in a new document deleted after.
#
# Usage: bench/web-page.sh [RUNS] [JOBS]     (defaults 5 and 200)
# Needs: curl, python3, chromium, chromium-driver. Builds the release binary into
# $CARGO_TARGET_DIR (default target/) unless SCANWIRE_BIN names one. Network: 127.0.0.1 only.
set -euo pipefail

RUNS=${1:-5}
JOBS=${2:-200}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
cd "$ROOT"
source bench/lib.sh
need "curl" curl
need "python3" python3
need "chromium" chromium
need "chromium-driver" chromedriver
scanwire_bin

WORK=$(mktemp -d)
SERVER_PID=
DRIVER_PID=
cleanup() {
    if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; fi
    if [ -n "$DRIVER_PID" ]; then kill "$DRIVER_PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

mkdir -p "$WORK/sane.d" "$WORK/config"
echo test >"$WORK/sane.d/dll.conf"
SCANWIRE_CONFIG_DIR=$WORK/config SANE_CONFIG_DIR=$WORK/sane.d \
    "$bin" serve --listen 127.0.0.1:0 --state-dir "$WORK/state" --set sheets=3 2>"$WORK/serve.log" &
SERVER_PID=$!
for _ in $(seq 200); do
    grep -q '^serving virtual at http://' "$WORK/serve.log" && break
    sleep 0.05
done
BASE=$(sed -n 's|^serving virtual at \(http://[^/]*\)/.*|\1|p' "$WORK/serve.log" | head -1)
[ -n "$BASE" ] || { cat "$WORK/serve.log" >&2; exit 1; }
echo "binary: $bin"
echo "server: $BASE"

echo
echo "== 1. first load (gzip), bytes on the wire"
total=0
curl -s --compressed "$BASE/" -o "$WORK/index.html"
for path in / $(grep -o '/web/[A-Za-z0-9._-]*' "$WORK/index.html" | sort -u); do
    n=$(curl -s -H 'Accept-Encoding: gzip' -D - -o "$WORK/body" "$BASE$path" | wc -c)
    b=$(wc -c <"$WORK/body")
    printf '  %-16s %6d bytes (headers %d)\n' "$path" $((n + b)) "$n"
    total=$((total + n + b))
done
printf '  total            %6d bytes (target <= 102400)\n' "$total"

echo
echo "== 2. in chromium: POST answered -> first status event; page event -> thumbnail loaded"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
chromedriver --port="$PORT" >/dev/null 2>&1 &
DRIVER_PID=$!
python3 - "$PORT" "$BASE" "$RUNS" "$WORK/profile" <<'EOF'
import json, sys, time, urllib.request
port, base, runs, profile = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
def wd(method, path, body=None):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json"})
    return json.load(urllib.request.urlopen(req, timeout=120))["value"]
for _ in range(100):
    try:
        wd("GET", "/status"); break
    except Exception:
        time.sleep(0.05)
args = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={profile}"]
sid = wd("POST", "/session", {"capabilities": {"alwaysMatch": {"browserName": "chrome",
      "goog:chromeOptions": {"binary": "/usr/bin/chromium", "args": args}}}})["sessionId"]
try:
    wd("POST", f"/session/{sid}/url", {"url": base + "/"})
    wd("POST", f"/session/{sid}/timeouts", {"script": 120000})
    # One scan from the page's origin, timed with the browser's clock.
    script = """
    const done = arguments[0];
    const body = {device: 'virtual', source: 'feeder', mode: 'gray', resolution: 150, area_mm: null,
      processing: {deskew: false, crop: 'off', blank: 'keep', sensitivity: 50, rotate: 0},
      ocr: false, document: null, duplex_pass: null, preset: null};
    fetch('/api/scans', {method: 'POST', headers: {'Content-Type': 'application/json', 'X-Scanwire-Request': '1'},
        body: JSON.stringify(body)}).then(r => r.json()).then(r => {
      const t0 = performance.now(); let first = null; const thumbs = []; let pending = 0; let ended = false;
      const es = new EventSource(r.events);
      const finish = () => { if (ended && pending === 0) {
        fetch('/api/documents/' + r.document, {method: 'DELETE', headers: {'X-Scanwire-Request': '1'}})
          .finally(() => done({first, thumbs})); } };
      es.addEventListener('status', () => { if (first === null) first = performance.now() - t0; });
      es.addEventListener('page', (ev) => { const p = JSON.parse(ev.data); const t = performance.now();
        pending++; const img = new Image();
        img.onload = img.onerror = () => { thumbs.push(performance.now() - t); pending--; finish(); };
        img.src = p.thumbnail; });
      es.addEventListener('done', () => { es.close(); ended = true; finish(); });
    }, e => done({error: String(e)}));
    """
    firsts, thumbs = [], []
    for i in range(runs):
        r = wd("POST", f"/session/{sid}/execute/async", {"script": script, "args": []})
        if "error" in r:
            sys.exit(f"scan failed: {r['error']}")
        firsts.append(r["first"]); thumbs += r["thumbs"]
    med = lambda v: sorted(v)[len(v) // 2]
    print(f"  first status event after the POST's answer: median {med(firsts):.1f} ms, max {max(firsts):.1f} ms ({runs} scans)")
    print(f"  page event -> thumbnail loaded:             median {med(thumbs):.1f} ms, max {max(thumbs):.1f} ms ({len(thumbs)} pages)")
finally:
    wd("DELETE", f"/session/{sid}")
EOF

echo
echo "== 3. server RSS over $JOBS one-page scans through the API"
rss() { awk '/^VmRSS/ {print $2}' "/proc/$SERVER_PID/status"; }
job() {
    python3 - "$BASE" "$1" <<'EOF'
import json, sys, urllib.request
base, n = sys.argv[1], int(sys.argv[2])
H = {"Content-Type": "application/json", "X-Scanwire-Request": "1"}
body = {"device": "virtual", "source": "flatbed", "mode": "gray", "resolution": 75, "area_mm": None,
        "ocr": False, "document": None, "duplex_pass": None, "preset": None}
for _ in range(n):
    r = json.load(urllib.request.urlopen(urllib.request.Request(base + "/api/scans",
        data=json.dumps(body).encode(), headers=H, method="POST")))
    with urllib.request.urlopen(base + r["events"]) as ev:
        for line in ev:
            if line.startswith(b"event: done"):
                break
    urllib.request.urlopen(urllib.request.Request(base + "/api/documents/" + r["document"],
        headers=H, method="DELETE")).read()
EOF
}
job 10
before=$(rss)
job "$JOBS"
after=$(rss)
echo "  VmRSS after 10 warm-up jobs: $before kB; after $JOBS more: $after kB"
