#!/usr/bin/env bash
# The line dashboard (docs/store.md "Dashboard"): `rig results report
# --html` over 400 generated runs of two stations, one drifting on one
# measurand, opened in headless Chromium as tests/cli/test_reports.sh does:
#   - the page loads with no console message and no request of its own;
#   - one chart (SVG, in the file and in the DOM) per row of the measurand
#     table, and as many rows as `rig results stats --json` has measurands;
#   - no script and no external reference in the file;
#   - the first-pass yield printed equals the JSON's;
#   - the drifting measurand lists its rule hits, as many per rule as the
#     JSON flags;
#   - a screenshot that is not blank.
# The browser check checks itself first on a page that makes a request and
# writes to the console.
# Usage: test_dashboard.sh PATH/TO/rig PATH/TO/gen_runs SOURCE_DIR
# (KEEP=1 keeps the work folder and says where it is.)
set -u
rig=$(realpath "$1")
gen=$(realpath "$2")
src=$(realpath "$3")
py=/usr/bin/python3
work=$(mktemp -d /tmp/rigtest-dashboard-XXXXXX)
cleanup() {
  if [ "${KEEP:-0}" = 1 ]; then echo "work folder kept: $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok   $*"; }
fail() { failed=$((failed + 1)); echo "FAIL $*"; }

command -v chromium >/dev/null || { echo "SKIP: chromium is not installed (see .ci/quickstart)"; exit 77; }
[ -d "$src/docs" ] || { fail "no source folder $src"; exit 1; }

# ---- the checker (Python, standard library only) ----
cat >"$work/check.py" <<'EOF'
import json, re, struct, sys, zlib

def png_pixels(path):
    """Rows of RGB tuples of an 8-bit non-interlaced PNG."""
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat = 8, b""
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype, _, _, inter = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and inter == 0 and ctype in (0, 2, 6), "unsupported PNG"
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    bpp = {0: 1, 2: 3, 6: 4}[ctype]
    raw, stride, prev, rows, i = zlib.decompress(idat), w * bpp, bytearray(w * bpp), [], 0
    for _ in range(h):
        f, line = raw[i], bytearray(raw[i + 1:i + 1 + stride])
        i += 1 + stride
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b, c = prev[x], prev[x - bpp] if x >= bpp else 0
            if f == 1: line[x] = (line[x] + a) & 255
            elif f == 2: line[x] = (line[x] + b) & 255
            elif f == 3: line[x] = (line[x] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        prev = line
        rows.append([tuple(line[x:x + 3]) if bpp > 1 else (line[x],) * 3
                     for x in range(0, stride, bpp)])
    return rows

def non_white(rows):
    return sum(1 for r in rows for p in r if min(p) < 235) / sum(len(r) for r in rows)

def netlog_page_requests(path):
    d = json.load(open(path))
    kind = {v: k for k, v in d["constants"]["logEventTypes"].items()}
    urls = []
    for e in d["events"]:
        p = e.get("params", {})
        if kind.get(e["type"]) == "URL_REQUEST_START_JOB" and (
                p.get("initiator") == "null" or str(p.get("network_isolation_key", "")).startswith("file:")):
            urls.append(p.get("url"))
    return urls

def check_browser(log, net):
    bad = []
    c = [l for l in open(log, errors="replace") if ":CONSOLE" in l]
    if c: bad.append("console messages: " + " | ".join(x.strip()[:160] for x in c[:3]))
    u = netlog_page_requests(net)
    if u: bad.append("the page made requests: " + ", ".join(u[:3]))
    return bad

def cmd_browser(log, net):
    return check_browser(log, net), "clean"

def section(text, name):
    """The <section> of the measurand @name (its heading ends with it)."""
    for s in re.findall(r'<section class="measurand".*?</section>', text, re.S):
        if re.search(r"<h3>[^<]* " + re.escape(name) + "</h3>", s):
            return s
    return None

def cmd_page(html, dom, log, net, shot, stats_json, drift_name):
    st = json.load(open(stats_json))
    text = open(html, encoding="utf-8").read()
    domt = open(dom, encoding="utf-8", errors="replace").read()
    bad = check_browser(log, net)
    rows, want = text.count('<tr class="measurand">'), len(st["measurands"])
    n_svg, n_fig, n_dom = text.count("<svg"), text.count('<figure class="plot">'), domt.count("<svg")
    if not (n_svg == n_fig == n_dom == rows == want) or want == 0:
        bad.append(f"charts: {n_svg} <svg> in the file, {n_fig} figures, {n_dom} in the DOM, "
                   f"{rows} measurand rows; the statistics have {want} measurands")
    if re.search(r"<script|<link|<iframe|<object|<embed|<img|\ssrc=|@import", text, re.I):
        bad.append("the page has a script or an external reference")
    refs = [r for r in re.findall(r'href="([^"]*)"', text) + re.findall(r"url\(([^)]*)\)", text)
            if not r.startswith("#")]
    if refs: bad.append("references that are not fragments: " + ", ".join(refs[:3]))
    ids = re.findall(r'\sid="([^"]+)"', text)
    if len(ids) != len(set(ids)): bad.append("duplicate ids")
    m = re.search(r'<dd id="fpy">([^<]*)</dd>', text)
    fpy = "%.2f %%" % (100 * st["yield"]["fpy"])
    if not m or m.group(1) != fpy:
        bad.append(f"first-pass yield printed {m and m.group(1)!r}, the JSON says {fpy!r}")
    jm = [x for x in st["measurands"] if x["name"] == drift_name]
    sec = section(text, drift_name)
    hits = 0
    if not jm or sec is None:
        bad.append(f"no measurand {drift_name} in the JSON or the page")
    else:
        for r in range(1, 5):
            n = len(jm[0]["chart"]["nelson"][f"rule{r}"])
            li = re.search(r'<li class="rule%d">.*?</b> — (\d+) points?:(.*?)</li>' % r, sec, re.S)
            got = int(li.group(1)) if li else 0
            hits += got
            if got != n:
                bad.append(f"{drift_name} rule {r}: the page says {got} points, the JSON {n}")
            if li and n:
                ids = re.findall(r"GEN\d+-\d+", li.group(2))
                if ids != jm[0]["chart"]["nelson"][f"rule{r}"][:10]:
                    bad.append(f"{drift_name} rule {r}: run ids {ids[:3]} differ from the JSON's")
                if n > 10 and f"... and {n - 10} more" not in li.group(2):
                    bad.append(f"{drift_name} rule {r}: no '... and {n - 10} more'")
        if hits == 0:
            bad.append(f"the drifting measurand {drift_name} lists no rule hit")
    frac = non_white(png_pixels(shot))
    if frac < 0.05: bad.append(f"the screenshot is blank ({frac:.1%} non-white)")
    return bad, (f"{want} measurands, {n_svg} charts in the file and the DOM, FPY {fpy}, "
                 f"{drift_name}: {hits} rule hits, {frac:.0%} of the screenshot drawn, "
                 f"{len(text) // 1024} KiB")

cmd, args = sys.argv[1], sys.argv[2:]
bad, summary = {"browser": cmd_browser, "page": cmd_page}[cmd](*args)
for b in bad:
    print("   ", b)
if not bad:
    print("   ", summary)
sys.exit(1 if bad else 0)
EOF

# Headless Chromium on a page, as test_reports.sh: DOM, log (console
# messages), NetLog (requests), screenshot. No name resolves and the proxy
# is a closed port, so nothing could leave the host even if the page asked.
browse() { # FILE OUTPREFIX
  local f=$1 o=$2 flags=(--headless --no-sandbox --disable-gpu --no-first-run
    --disable-background-networking --disable-component-update --disable-sync
    --disable-default-apps --user-data-dir="$work/chrome" --enable-logging=stderr --v=0
    --host-resolver-rules="MAP * ~NOTFOUND" --proxy-server=http://127.0.0.1:9)
  timeout 120 chromium "${flags[@]}" --log-net-log="$o.net.json" --dump-dom "file://$f" \
    >"$o.dom" 2>"$o.log"
  timeout 120 chromium "${flags[@]}" --screenshot="$o.png" --window-size=1200,3000 \
    "file://$f" >/dev/null 2>>"$o.log"
  [ -s "$o.dom" ] && [ -s "$o.png" ] && [ -s "$o.net.json" ]
}

# ---- the browser check catches what it is for ----
mkdir -p "$work/control"
printf '<!DOCTYPE html><html><body><img src="http://example.com/x.png"><script>console.error("boom")</script>x</body></html>\n' \
  >"$work/control/bad.html"
if browse "$work/control/bad.html" "$work/control/bad"; then
  if ! $py "$work/check.py" browser "$work/control/bad.log" "$work/control/bad.net.json" \
      >"$work/control/bad.txt"; then
    grep -q "requests" "$work/control/bad.txt" && grep -q "console" "$work/control/bad.txt" &&
      ok "control: a page's request and console message are caught" ||
      { fail "control: only part of a bad page was caught:"; cat "$work/control/bad.txt"; }
  else
    fail "control: a page with a request and a console error passed the browser check"
  fi
else
  fail "headless Chromium did not run (see $work/control/*.log)"
fi

# ---- a line of two stations, station 1 drifting on protrusion@250um/0 ----
cd "$work"
"$gen" --store X.db --runs 400 --stations 2 --drift 1 --measurements 12 >gen.log 2>&1 ||
  { fail "gen_runs failed:"; cat gen.log; }
t0=$(date +%s%N)
if "$rig" results report --html dash.html --store X.db >report.log 2>&1; then
  t1=$(date +%s%N)
  ok "rig results report: dash.html ($(stat -c %s dash.html) bytes) in $(((t1 - t0) / 1000000)) ms:" \
    "$(cat report.log)"
else
  fail "rig results report failed:"
  cat report.log
fi
"$rig" results stats --json --store X.db >stats.json 2>stats.log ||
  { fail "rig results stats --json failed:"; cat stats.log; }

# A missing --html is a usage error, and nothing is written.
"$rig" results report --store X.db >usage.log 2>&1
rc=$?
[ $rc = 2 ] && grep -q -- "--html FILE is required" usage.log &&
  ok "rig results report without --html: usage error (exit 2)" ||
  { fail "rig results report without --html: exit $rc"; cat usage.log; }

if [ -s dash.html ] && browse "$work/dash.html" "$work/dash"; then
  if $py "$work/check.py" page dash.html dash.dom dash.log dash.net.json dash.png stats.json \
      protrusion@250um/0 >check.txt; then
    ok "dashboard in Chromium: $(sed 's/^ *//' check.txt)"
  else
    fail "dashboard:"
    cat check.txt
  fi
else
  fail "Chromium could not open dash.html (see $work/dash.log)"
fi

echo "$passed passed, $failed failed"
[ $failed = 0 ]
