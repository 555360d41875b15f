#!/usr/bin/env bash
# The reports people read (docs/reports.md): the HTML report and the PDF
# calibration certificate of a PASS unit, a FAIL unit (bent needles), a run
# killed with SIGKILL and closed by `rig records recover` (ERROR "run did
# not finish"), and a record whose pen and fixture texts are `<script>&"'`.
#   - HTML: self-contained (no script, no external reference), opened in
#     headless Chromium with a NetLog: no console message, no request made
#     by the page, every plot present in the file and in the DOM (one per
#     error plot, sweep and kept capture, counted from the record and
#     captures/index.csv), the outcome said first, a screenshot that is not
#     blank and shows the outcome's colour at the top;
#   - PDF: 1 to 3 A4 pages rendered by pdftoppm, none blank; pdftotext
#     finds the certificate number on every page, the serial, every sensor
#     certificate id, the suite's SHA-256, the decision rule, the outcome,
#     the build commit and the signature fingerprint;
#   - escaping: the injected text appears as text, never as markup;
#   - valgrind (when installed): no memory error, no definite leak
#     allocated by our code (fontconfig's own are known and ignored).
# The checks check themselves first: a page that makes a request, writes to
# the console or is blank must be caught.
# Usage: test_reports.sh PATH/TO/rig SOURCE_DIR PATH/TO/report_tool
# (KEEP=1 keeps the work folder and says where it is.)
set -u
rig=$1
src=$2
tool=$3
py=/usr/bin/python3
work=$(mktemp -d /tmp/rigtest-reports-XXXXXX)
sim_pid=
cleanup() {
  [ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null && wait "$sim_pid" 2>/dev/null
  if [ "${KEEP:-0}" = 1 ]; then echo "work folder kept: $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok   $*"; }
fail() { failed=$((failed + 1)); echo "FAIL $*"; }

for t in chromium pdftoppm pdftotext pdfinfo; do
  command -v "$t" >/dev/null || { echo "SKIP: $t is not installed (see .ci/quickstart)"; exit 77; }
done

# ---- the checker (Python, standard library only) ----
cat >"$work/check.py" <<'EOF'
import hashlib, json, os, re, struct, sys, zlib

def png_pixels(path):
    """(width, height, rows of RGB tuples) of an 8-bit non-interlaced PNG."""
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, w = 8, b"", None
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
    return w, h, rows

def non_white(rows):
    total = sum(len(r) for r in rows)
    return sum(1 for r in rows for p in r if min(p) < 235) / total

def near(p, q, tol=14):
    return all(abs(a - b) <= tol for a, b in zip(p, q))

BANNER = {"PASS": (27, 122, 47), "FAIL": (198, 30, 30), "INDETERMINATE": (217, 128, 0),
          "ERROR": (89, 89, 97), "ABORTED": (102, 71, 153)}

def expected_plots(run):
    rec = json.load(open(os.path.join(run, "record.json")))
    n = 0
    for s in rec["steps"]:
        ms = s["measurements"]
        if s["type"] in ("as_found", "as_left"):
            for q in ("protrusion", "rate"):
                n += any(m["judged"] and m["quantity"] == q and m["setpoint"] is not None
                         and m["limit"] for m in ms)
        elif s["type"] in ("depth_sweep", "rate_sweep"):
            n += any(m["setpoint"] is not None and m["value"] is not None for m in ms)
    idx = os.path.join(run, "captures", "index.csv")
    if os.path.exists(idx):
        n += len(open(idx).read().splitlines()) - 1
    return rec, n

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

def console_lines(log):
    return [l for l in open(log, errors="replace") if ":CONSOLE" in l]

def check_browser(dom, log, net):
    bad = []
    c = console_lines(log)
    if c: bad.append("console messages: " + " | ".join(x.strip()[:160] for x in c[:3]))
    u = netlog_page_requests(net)
    if u: bad.append("the page made requests: " + ", ".join(u[:3]))
    return bad

def cmd_html(run, html, dom, log, net, shot, inject):
    rec, want = expected_plots(run)
    text = open(html, encoding="utf-8").read()
    domt = open(dom, encoding="utf-8", errors="replace").read()
    bad = check_browser(dom, log, net)
    n_svg, n_fig, n_dom = text.count("<svg"), text.count('<figure class="plot">'), domt.count("<svg")
    if not (n_svg == n_fig == n_dom == want) or want == 0:
        bad.append(f"plots: {n_svg} <svg> in the file, {n_fig} figures, {n_dom} in the DOM; "
                   f"the record and captures/index.csv call for {want}")
    if re.search(r"<script|<link|<iframe|<object|<embed|<img|\ssrc=|@import", text, re.I):
        bad.append("the page has a script or an external reference")
    refs = [r for r in re.findall(r'href="([^"]*)"', text) + re.findall(r"url\(([^)]*)\)", text)
            if not r.startswith("#")]
    if refs: bad.append("references that are not fragments: " + ", ".join(refs[:3]))
    ids = re.findall(r'\sid="([^"]+)"', text)
    if len(ids) != len(set(ids)): bad.append("duplicate ids (SVG pictures would share glyphs)")
    b = text.find('class="banner'); h1 = text.find("<h1")
    if b < 0 or h1 < 0 or b > h1: bad.append("the outcome banner is not first")
    verdict = re.search(r'class="verdict">([A-Z]+)<', text)
    if not verdict or verdict.group(1) != rec["outcome"]:
        bad.append(f"banner verdict {verdict and verdict.group(1)} but the record says {rec['outcome']}")
    if rec["reason"].startswith("run did not finish"):
        first = text.find("Run did not finish")
        if first < 0 or first > text.find('class="verdict"'):
            bad.append("a recovered run does not say 'Run did not finish' first")
    if inject:
        if "&lt;script&gt;&amp;&quot;&#39;" not in text: bad.append("the injected text is not there, escaped")
        if "<script>" in domt.lower(): bad.append("the injected text became markup in the DOM")
    w, h, rows = png_pixels(shot)
    frac = non_white(rows)
    if frac < 0.05: bad.append(f"the screenshot is blank ({frac:.1%} non-white)")
    col = BANNER[rec["outcome"]]
    top = sum(1 for r in rows[:260] for p in r if near(p, col))
    if top < 20000: bad.append(f"the top of the screenshot lacks the {rec['outcome']} colour ({top} px)")
    return bad, f"{want} plots, {frac:.0%} of the screenshot drawn, banner {rec['outcome']}"

def cmd_pdf(run, pdf, txt, pages, inject, *pngs):
    rec = json.load(open(os.path.join(run, "record.json")))
    text = open(txt, encoding="utf-8", errors="replace").read()
    flat = re.sub(r"\s+", " ", text)
    bad, pages = [], int(pages)
    if not 1 <= pages <= 3: bad.append(f"{pages} pages (1 to 3 wanted)")
    if len(pngs) != pages: bad.append(f"pdftoppm rendered {len(pngs)} pages of {pages}")
    for p in pngs:
        frac = non_white(png_pixels(p)[2])
        if frac < 0.01: bad.append(f"{os.path.basename(p)} is blank ({frac:.2%})")
    number = rec["station"]["id"] + "-" + rec["run_id"].replace(".", "").replace("Z", "")
    want = {"certificate number on every page": (number, pages),
            "page numbering": (f"Page {pages} of {pages}", 1),
            "suite SHA-256": (rec["suite"]["sha256"][:16], 1),
            "decision rule": ("ILAC-G8", 1), "guarded acceptance": ("Guarded acceptance", 1),
            "acceptance interval": ("acceptance interval", 1),
            "expanded uncertainty": ("k = 2", 1), "environment": ("Environmental conditions", 1),
            "outcome": ("Result: " + rec["outcome"], 1),
            "build commit": (rec["software"]["commit"], 1), "run id": (rec["run_id"], 1)}
    if not inject:
        want["serial"] = (rec["unit"]["serial"] or "not identified", 1)
    for i in rec["station"]["instruments"]:
        if i.get("certificate") and not inject:
            want["sensor certificate " + i["certificate"]] = (i["certificate"], 1)
            want["due date " + i["due"]] = (i["due"], 1)
    sig = os.path.join(run, "record.sig")
    if os.path.exists(sig):
        want["signature fingerprint"] = (hashlib.sha256(open(sig, "rb").read()).hexdigest()[:16], 1)
    if rec["signature"]:
        want["signer public key"] = (rec["signature"]["public_key"][:32], 1)
    if rec["reason"].startswith("run did not finish"):
        want["not finished, said first"] = ("RUN DID NOT FINISH", 1)
        want["no conformity claimed"] = ("No statement of conformity", 1)
        if flat.find("RUN DID NOT FINISH") > flat.find("Result:"):
            bad.append("a recovered run does not say so before its result")
    if inject:
        want["injected text, as text"] = ('<script>&"\'', 1)
    for what, (s, n) in want.items():
        if flat.count(s) < n: bad.append(f"{what}: '{s}' found {flat.count(s)} times, {n} wanted")
    return bad, f"{pages} page(s), {len(want)} fields found"

def cmd_blank(shot):
    frac = non_white(png_pixels(shot)[2])
    return ([] if frac < 0.01 else [f"{frac:.1%} drawn"]), f"{frac:.2%} drawn"

def cmd_browser(dom, log, net):
    return check_browser(dom, log, net), "clean"

def cmd_valgrind(log):
    t = open(log).read()
    bad = []
    errs = re.findall(r"== (Invalid (?:read|write|free)|Conditional jump|Use of uninitialised|"
                      r"Syscall param|Mismatched free|Source and destination overlap)", t)
    if errs: bad.append(f"{len(errs)} memory errors, e.g. {errs[0]}")
    ours = 0
    for b in re.split(r"\n==\d+== \n", t):
        if "definitely lost" not in b:
            continue
        frames = re.findall(r"(?:at|by) 0x[0-9A-F]+: (\S+) \(([^)]*)\)", b)
        frames = [f for f in frames if "vgpreload" not in f[1]]
        if frames and re.search(r"\.c:\d+", frames[0][1]):
            ours += 1
    if ours: bad.append(f"{ours} definite leaks allocated by our code")
    m = re.search(r"definitely lost: ([\d,]+) bytes", t)
    return bad, f"no memory error; definite leaks only in system libraries ({m.group(1) if m else 0} bytes)"

cmd, args = sys.argv[1], sys.argv[2:]
bad, summary = {"html": cmd_html, "pdf": cmd_pdf, "blank": cmd_blank, "browser": cmd_browser,
                "valgrind": cmd_valgrind}[cmd](*args)
for b in bad:
    print("   ", b)
if not bad:
    print("   ", summary)
sys.exit(1 if bad else 0)
EOF

# Headless Chromium on a page: DOM, log (console messages), NetLog
# (requests), screenshot. No name resolves and the proxy is a closed port,
# so nothing could leave the host even if the page asked.
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

# ---- the checks catch what they are for ----
mkdir -p "$work/control"
printf '<!DOCTYPE html><html><body><img src="http://example.com/x.png"><script>console.error("boom")</script>x</body></html>\n' \
  >"$work/control/bad.html"
printf '<!DOCTYPE html><html><body></body></html>\n' >"$work/control/blank.html"
if browse "$work/control/bad.html" "$work/control/bad" && browse "$work/control/blank.html" "$work/control/blank"; then
  if ! $py "$work/check.py" browser "$work/control/bad.dom" "$work/control/bad.log" \
      "$work/control/bad.net.json" >"$work/control/bad.txt"; then
    grep -q "requests" "$work/control/bad.txt" && grep -q "console" "$work/control/bad.txt" &&
      ok "control: a page's request and console message are caught" ||
      { fail "control: only part of a bad page was caught:"; cat "$work/control/bad.txt"; }
  else
    fail "control: a page with a request and a console error passed the browser check"
  fi
  $py "$work/check.py" blank "$work/control/blank.png" >/dev/null &&
    ok "control: a blank screenshot is recognised as blank" ||
    fail "control: a blank page's screenshot looks drawn"
  $py "$work/check.py" browser "$work/control/blank.dom" "$work/control/blank.log" \
    "$work/control/blank.net.json" >/dev/null &&
    ok "control: a quiet page passes the browser check" ||
    fail "control: Chromium logs console messages or requests of its own on an empty page"
else
  fail "headless Chromium did not run (see $work/control/*.log)"
fi

# ---- records: a PASS and a FAIL unit ----
mkdir -p "$work/demo" && cd "$work/demo" && ln -s "$src/fixtures" fixtures
"$rig" demo --units 2 --lockstep --failure 1=bent-needle >demo.log 2>&1
rc=$?
[ $rc = 1 ] && ok "rig demo: one PASS and one FAIL unit (exit 1)" ||
  { fail "rig demo exit $rc, 1 expected"; tail -5 demo.log; }
pick() { # OUTCOME: the run folder of a record with that outcome
  for r in "$work"/demo/reports/*/2*/record.json; do
    grep -q "^  \"outcome\": \"$1\"" "$r" && { dirname "$r"; return; }
  done
}
pass_dir=$(pick PASS)
fail_dir=$(pick FAIL)

# ---- a run killed mid-run, closed by recovery ----
mkdir -p "$work/kill" && cd "$work/kill"
port=$($py -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$rig" sim --speed 50 --state-dir "$work/kill/sim" --port "$port" --seed 7 >sim.log 2>&1 &
sim_pid=$!
for _ in $(seq 100); do [ -S "$work/kill/sim/nest0.sock" ] && break; sleep 0.1; done
"$rig" run --fixture "$src/fixtures/sim.yaml" --suite "$src/fixtures/suites/calibrate.yaml" \
  --var "SIM_DIR=$work/kill/sim" --var "SIM_PORT=$port" --time-scale 50 \
  --reports "$work/kill/reports" --calibrations "$work/kill/cal" --report-formats none \
  >run.log 2>&1 &
run_pid=$!
killed=0
for _ in $(seq 600); do # until the as-left step has taken a few captures
  j=$(ls "$work"/kill/reports/*/2*/journal.jsonl 2>/dev/null | grep -v _unidentified | head -1)
  if [ -n "$j" ] && grep -q '"name":"as_left"' "$j" &&
      [ "$(sed -n '/"name":"as_left"/,$p' "$j" | grep -c '"event":"capture"')" -ge 3 ]; then
    kill -KILL $run_pid && killed=1
    break
  fi
  kill -0 $run_pid 2>/dev/null || break
  sleep 0.02
done
wait $run_pid 2>/dev/null
"$rig" records recover "$work/kill/reports" --calibrations "$work/kill/cal" >recover.log 2>&1 ||
  { fail "rig records recover failed:"; cat recover.log; }
kill "$sim_pid" 2>/dev/null && wait "$sim_pid" 2>/dev/null
sim_pid=
rec_dir=$(dirname "$(ls "$work"/kill/reports/*/2*/record.json 2>/dev/null | head -1)")
if [ $killed = 1 ] && grep -q '"reason": "run did not finish' "$rec_dir/record.json" 2>/dev/null; then
  ok "rig run killed in as_left and recovered: ERROR \"run did not finish\""
else
  fail "no recovered record (killed=$killed, $rec_dir)"
fi

# ---- write and check the reports ----
check_case() { # NAME RUN_DIR [--inject TEXT]
  local name=$1 run=$2 out="$work/out/$1" inject=
  shift 2
  [ $# -gt 0 ] && inject=1
  mkdir -p "$out"
  if [ -z "$run" ] || [ ! -f "$run/record.json" ]; then
    fail "$name: no run folder"
    return
  fi
  local t0 t1
  t0=$(date +%s%N)
  if ! "$tool" "$run" "$out" "$@" >"$out/tool.log" 2>&1; then
    fail "$name: report_tool failed:"
    cat "$out/tool.log"
    return
  fi
  t1=$(date +%s%N)
  ok "$name: report.html ($(stat -c %s "$out/report.html") bytes) and certificate.pdf" \
    "($(stat -c %s "$out/certificate.pdf") bytes) written in $(((t1 - t0) / 1000000)) ms"
  if browse "$out/report.html" "$out/html"; then
    if $py "$work/check.py" html "$run" "$out/report.html" "$out/html.dom" "$out/html.log" \
        "$out/html.net.json" "$out/html.png" "$inject" >"$out/html.txt"; then
      ok "$name: HTML in Chromium: $(cat "$out/html.txt" | sed 's/^ *//')"
    else
      fail "$name: HTML:"
      cat "$out/html.txt"
    fi
  else
    fail "$name: Chromium could not open report.html (see $out/html.log)"
  fi
  local pages
  pages=$(pdfinfo "$out/certificate.pdf" 2>/dev/null | sed -n 's/^Pages: *//p')
  pdftoppm -r 40 -png "$out/certificate.pdf" "$out/page" 2>"$out/pdftoppm.log"
  pdftotext "$out/certificate.pdf" "$out/certificate.txt" 2>"$out/pdftotext.log"
  if $py "$work/check.py" pdf "$run" "$out/certificate.pdf" "$out/certificate.txt" "${pages:-0}" \
      "$inject" "$out"/page-*.png >"$out/pdf.txt" 2>&1; then
    ok "$name: certificate: $(sed 's/^ *//' "$out/pdf.txt")"
  else
    fail "$name: certificate:"
    cat "$out/pdf.txt"
  fi
}

check_case pass "$pass_dir"
check_case fail "$fail_dir"
check_case recovered "$rec_dir"
check_case escaped "$pass_dir" --inject "<script>&\"'"

# A report of a record without attachments: no capture plots, still a page.
if [ -n "$pass_dir" ]; then
  mkdir -p "$work/bare"
  cp "$pass_dir/record.json" "$work/bare/"
  check_case no-attachments "$work/bare"
fi

# ---- valgrind ----
if command -v valgrind >/dev/null && [ -n "$pass_dir" ]; then
  mkdir -p "$work/vg"
  valgrind --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite \
    --num-callers=30 --log-file="$work/vg/valgrind.log" "$tool" "$pass_dir" "$work/vg" \
    >/dev/null 2>&1
  if $py "$work/check.py" valgrind "$work/vg/valgrind.log" >"$work/vg/check.txt"; then
    ok "valgrind: $(sed 's/^ *//' "$work/vg/check.txt")"
  else
    fail "valgrind:"
    cat "$work/vg/check.txt"
  fi
fi

echo "$passed passed, $failed failed"
[ $failed = 0 ]
