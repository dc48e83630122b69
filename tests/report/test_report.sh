#!/usr/bin/env bash
# tellonce report on a recorded case, checked in a real browser: two
# sessions, grants to two people, views of known ranges (play --headless),
# an export, a marker, a refused view; the report is rendered by Debian's
# headless Chromium to a PNG and a PDF. Checks: the coverage bands' pixel
# columns are where the access entries' from_ms/to_ms say, the other columns
# of each band row are empty (png_bands.py); the page asks the network for
# nothing (Chromium's net log names no URL but the file; the HTML has no
# http:, src= or url( ); it holds no case number without --as and holds it
# with --as of a prosecutor (a case-view entry logs that); hostile names are
# escaped; the JSON says the same facts; log names the viewer, not the
# custodian; under zh_CN the page is drawn in CJK glyphs. With TELLONCE_UPDATE_DOCS=1 a PNG of the same case's report made
# before the hostile name acts (ordinary names only) is copied to
# docs/report-example.png in the source tree.
# usage: test_report.sh TELLONCE_BINARY SOURCE_ROOT
set -u
tlo=$1 src=$2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$src/tests/cli/lib.sh"
work=$(mktemp -d "${TMPDIR:-/tmp}/tlo-report.XXXXXX")
[ -n "${TLO_TEST_KEEP:-}" ] || trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
export TELLONCE_TEST_FAST_KDF=1 TELLONCE_VAULT="$work/vault"
unset TELLONCE_PASSPHRASE TELLONCE_NEW_PASSPHRASE TELLONCE_TEST_NOW_MS
passed=0 failed=0
ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL: $*" >&2; }
expect() {
    local want=$1 what=$2; shift 3
    "$@" >out.txt 2>err.txt </dev/null; local got=$?
    err=$(cat err.txt); out=$(cat out.txt)
    if [ "$got" -eq "$want" ]; then ok; else bad "$what: exit $got, expected $want; stderr: $err"; fi
}
contains() { if grep -qF -- "$2" <<<"$1"; then ok; else bad "$3: '$2' not in: $1"; fi; }
lacks() { if grep -qF -- "$2" "$1"; then bad "$3: '$2' is in $1"; else ok; fi; }

number="2026-刑-0042"
evil='Eve <b onmouseover=alert(1)>Doc</b>'
pass=(--passphrase-file p.pass)
echo 'a long secret' >p.pass
"$tlo" init --admin "Anna Admin" "${pass[@]}" >/dev/null || bad "init"
for who in "张警官:interviewer" "王芳:prosecutor" "$evil:medical" "Aud Itor:auditor"; do
    "$tlo" user add "${who%%:*}" --role "${who##*:}" --as "Anna Admin" "${pass[@]}" \
        --new-passphrase-file p.pass >/dev/null || bad "user add ${who%%:*}"
done
"$tlo" case open "$number" --as "张警官" "${pass[@]}" >/dev/null || bad "case open"
expect 0 "record session 1 (12 s)" -- "$tlo" record "$number" --as "张警官" "${pass[@]}" \
    --duration 12 --no-live
expect 0 "record session 2 (8 s)" -- "$tlo" record "$number" --as "张警官" "${pass[@]}" \
    --duration 8 --no-live
sessions=$(sqlite3 vault/ledger.db "SELECT CAST(body AS TEXT) FROM entries WHERE kind = 20 ORDER BY seq" |
    sed -n 's/^session=//p')
s1=$(sed -n 1p <<<"$sessions") s2=$(sed -n 2p <<<"$sessions")
caseid=$("$tlo" log --json | python3 -c 'import json,sys; print([e["case_id"] for e in json.load(sys.stdin) if e["kind"]=="case-open"][0])')
expect 0 "a marker with markup in it" -- "$tlo" mark "$number" --session "$s1" --at 5 \
    "break <b>now</b>" --as "张警官" "${pass[@]}"
expect 0 "grant 王芳 view and export of session 1" -- "$tlo" grant "$number" --to "王芳" \
    --session "$s1" --from 2 --until 11 --expires 2099-12-31 --purpose "hearing 2027-01-15" \
    --actions view,export --as "Anna Admin" "${pass[@]}"
play() { # play WHO SESSION FROM TO
    expect 0 "$1 views $3-$4 s of ${2:0:8}" -- "$tlo" play "$number" --session "$2" --from "$3" \
        --to "$4" --as "$1" "${pass[@]}" --headless
}
play "王芳" "$s1" 2 6
play "王芳" "$s1" 9 11
play "张警官" "$s2" 0 2
expect 0 "王芳 exports 4-8 s of session 1" -- "$tlo" export "$number" --session "$s1" --from 4 \
    --to 8 -o clip.mp4 --as "王芳" "${pass[@]}"
# The README's example (docs/report-example.png, TELLONCE_UPDATE_DOCS=1 below)
# is this report, made before the person with the hostile name acts in the
# case: a real report with ordinary names.
expect 0 "the example report" -- "$tlo" report "$caseid" -o example.html
lacks example.html "onmouseover" "the example report names nobody hostile"
grep -qF "王芳 (prosecutor) viewed 00:00:02–00:00:06 of session 1" example.html &&
    ok || bad "the example report has the views"
expect 0 "grant the doctor session 2" -- "$tlo" grant "$number" --to "$evil" --session "$s2" \
    --expires 2099-12-31 --purpose "exam <notes>" --as "Anna Admin" "${pass[@]}"
g2=$(sed -n 's/^Grant \([0-9]*\):.*/\1/p' out.txt)
play "$evil" "$s2" 1 5
expect 1 "the doctor may not view session 1" -- "$tlo" play "$number" --session "$s1" \
    --as "$evil" "${pass[@]}" --headless

# log_names_the_viewer: the person behind a view, not the custodian.
expect 0 "log" -- "$tlo" log --case "$caseid"
grep -F "access-granted" out.txt | grep -q "^ *[0-9]* .*custodian" &&
    bad "log_names_the_viewer: an access-granted line names the custodian" || ok
contains "$out" "王芳 (prosecutor) viewed 00:00:02–00:00:06 of session 1, purpose hearing 2027-01-15" \
    "log: a view in words"
expect 0 "log --json" -- "$tlo" log --case "$caseid" --json
python3 -c '
import json, sys
d = json.load(open("out.txt"))
v = [e for e in d if e["kind"] == "access-granted"]
assert v and all(e["person"] != "custodian" for e in v), v
assert v[0]["person"] == "王芳" and v[0]["actor_name"] == "custodian"
assert all("description" in e for e in d)
' && ok || bad "log --json: person and description"
cp out.txt log.json

# ---- the report, without --as ----
expect 0 "report" -- "$tlo" report "$caseid" -o report.html --json report.json
contains "$out" "The ledger verified" "report: verified"
for f in report.html report.json; do
    lacks $f "$number" "report_no_case_number ($f)"
    lacks $f "刑-0042" "report_no_case_number ($f)"
done
lacks report.html "<script" "no script"
lacks report.html "http:" "no http: in the page"
lacks report.html "https:" "no https: in the page"
lacks report.html "src=" "no src= in the page"
lacks report.html "url(" "no url( in the page"
lacks report.html "<b onmouseover" "report_escapes_names: a name's markup is text"
lacks report.html "<b>now" "report_escapes_markers"
lacks report.html "clip.mp4" "no export file name"
grep -qF "Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\"" \
    report.html && ok || bad "the CSP meta"
grep -qF "@media print" report.html && ok || bad "a print stylesheet"
grep -qF "Eve &lt;b onmouseover=alert(1)&gt;Doc&lt;/b&gt;" report.html && ok || bad "the doctor's name, escaped"
grep -qF "break &lt;b&gt;now&lt;/b&gt;" report.html && ok || bad "the marker's text, escaped"
grep -qF "exam &lt;notes&gt;" report.html && ok || bad "a purpose, escaped"
grep -qF "王芳 (prosecutor) viewed 00:00:02–00:00:06 of session 1, purpose hearing 2027-01-15" \
    report.html && ok || bad "the timeline in words"
grep -qF "tellonce verify --vault '$work/vault' --case $caseid --verifier-key '" report.json &&
    ok || bad "the verify command"
# The command the report prints works.
cmd=$(python3 -c 'import json; print(json.load(open("report.json"))["verification"]["command"])')
PATH="$(dirname "$tlo"):$PATH" eval "$cmd" >verify.out 2>&1 && ok || bad "the report's verify command: $(cat verify.out)"
python3 - "$s1" "$s2" <<'PY' && ok || bad "report.json: the facts"
import json, sys
r = json.load(open("report.json"))
s1, s2 = sys.argv[1], sys.argv[2]
assert r["case_number"] is None
assert r["verification"]["ok"] and r["verification"]["checkpoint_size"] > 0
S = {s["session"]: s for s in r["sessions"]}
assert [s["session"] for s in r["sessions"]] == [s1, s2]
a = S[s1]
assert a["segments"] >= 3 and a["length_ms"] >= 11000 and a["gaps"] == [], a
assert [m["text"] for m in a["markers"]] == ["break <b>now</b>"]
people = r["people"]
ranges = [(people[x["person_index"]]["person"], x["action"], x["from_ms"], x["to_ms"]) for x in a["access"]]
assert ranges == [("王芳", "view", 2000, 6000), ("王芳", "view", 9000, 11000),
                  ("王芳", "export", 4000, 8000)], ranges
# report_json_person_is_the_name: as "person" is everywhere (docs/json.md)
assert [x["person"] for x in a["access"]] == ["王芳"] * 3, a["access"]
assert people[r["opener_index"]]["person"] == r["opener"], (r["opener"], r["opener_index"])
assert len(r["exports"]) == 1 and len(r["exports"][0]["sha256"]) == 64
g = r["grants"]
assert [x["status"] for x in g] == ["active", "active"], g
kinds = [x["kind"] for x in r["refusals"]]
assert kinds == ["access-denied"], kinds
PY
sha=$(sha256sum clip.mp4 | cut -d' ' -f1)
grep -qF "$sha" report.html && ok || bad "the export's SHA-256 is the clip's"

# ---- in a real browser ----
chrome() {
    chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --force-device-scale-factor=1 \
        --disable-background-networking --disable-component-update --no-first-run \
        --disable-sync --disable-default-apps --user-data-dir="$work/chrome" "$@" \
        "file://$work/${page:-report.html}" >>chrome.log 2>&1
}
if ! command -v chromium >/dev/null; then
    bad "chromium is not installed (scripts/install-deps installs it)"
else
    chrome --window-size=1000,4000 --screenshot="$work/report.png" --log-net-log="$work/net.json"
    [ -s report.png ] && ok || bad "chromium made no PNG: $(tail -5 chrome.log)"
    chrome --print-to-pdf="$work/report.pdf" --no-pdf-header-footer
    head -c 5 report.pdf 2>/dev/null | grep -q '%PDF-' && ok || bad "chromium made no PDF: $(tail -5 chrome.log)"
    pages=$(grep -ao '/Type */Pages*' report.pdf | grep -c 'Page$')
    [ "${pages:-0}" -ge 2 ] && ok || bad "the PDF has $pages pages"
    # report_no_network: no request made for the page. Chromium's net log
    # also holds Chromium's own background requests (component updates,
    # the network time, accounts), which the flags above do not all stop:
    # those carry initiator "not an origin" and no file:// isolation key.
    # A request the page makes (an image, a font, a stylesheet) names its
    # document: initiator "null" (a file's opaque origin) and the isolation
    # key file://. The control below shows this check catches one.
    cat >netcheck.py <<'PY'
import json, sys
text = open(sys.argv[1]).read().rstrip()
try:
    log = json.loads(text)
except ValueError: # a log Chromium did not close
    log = json.loads(text.rstrip(",") + "]}")
page = set()
for ev in log.get("events", []):
    p = ev.get("params") or {}
    if "url" not in p or p["url"] == sys.argv[2]:
        continue
    nik = str(p.get("network_isolation_key", "")) + str(p.get("site_for_cookies", ""))
    if ("initiator" in p and p["initiator"] != "not an origin") or "file://" in nik:
        page.add(p["url"])
if page:
    print("requests made for the page:", sorted(page))
    sys.exit(1)
PY
    python3 netcheck.py net.json "file://$work/report.html" && ok || bad "report_no_network"
    # The check can fail: a page with an image from the network is caught.
    cp report.html report.html.keep
    echo '<!DOCTYPE html><img src="http://127.0.0.1:9/x.png">' >report.html
    chrome --window-size=400,300 --screenshot="$work/control.png" --log-net-log="$work/net2.json"
    python3 netcheck.py net2.json "file://$work/report.html" >/dev/null && bad "the network check misses a request" || ok
    mv report.html.keep report.html
    # report_zh_cn_cjk_glyphs: the page under zh_CN is drawn in CJK glyphs
    # (WenQuanYi Zen Hei, scripts/deps), not boxes: against the same page
    # with its Chinese replaced by a character no font has (png_glyphs.py).
    LC_ALL=zh_CN.UTF-8 "$tlo" report "$caseid" -o zh.html >/dev/null 2>&1 || bad "report under zh_CN"
    python3 "$here/png_glyphs.py" --boxes zh.html zh-boxes.html || bad "png_glyphs --boxes"
    page=zh.html chrome --window-size=1000,600 --screenshot="$work/zh.png"
    page=zh-boxes.html chrome --window-size=1000,600 --screenshot="$work/zh-boxes.png"
    python3 "$here/png_glyphs.py" zh.png zh-boxes.png >glyphs.out 2>&1 && ok ||
        bad "report_zh_cn_cjk_glyphs: $(cat glyphs.out)"
    cat glyphs.out
    python3 "$here/png_bands.py" report.png log.json >bands.out 2>&1 && ok ||
        bad "report_bands_where_the_ledger_says: $(cat bands.out)"
    cat bands.out
    if [ "${TELLONCE_UPDATE_DOCS:-}" = 1 ]; then
        # the top of the example page (verification, session 1 and its chart), for the README
        page=example.html chrome --window-size=1000,1400 --screenshot="$work/example.png"
        cp example.png "$src/docs/report-example.png" && echo "updated $src/docs/report-example.png"
    fi
fi

# ---- with --as ----
views() { sqlite3 vault/ledger.db "SELECT count(*) FROM entries WHERE kind = 11"; }
v0=$(views)
expect 0 "report --as a prosecutor" -- "$tlo" report "$caseid" -o as.html --json as.json \
    --as "王芳" "${pass[@]}"
grep -qF "$number" as.html && ok || bad "report_number_for_prosecutor: no number in as.html"
grep -qF "$number" as.json && ok || bad "report_number_for_prosecutor: no number in as.json"
[ "$(views)" -eq $((v0 + 1)) ] && ok || bad "the number shown is logged (case-view)"
grep -qF "was shown the case&#39;s number" as.html && ok || bad "the report's timeline has the case-view"
expect 0 "report --as an auditor" -- "$tlo" report "$caseid" -o aud.html --as "Aud Itor" "${pass[@]}"
lacks aud.html "$number" "report_no_number_for_auditor"
contains "$err" "case numbers are shown only" "an auditor is told why there is no number"

# Grants as they stand: revoked, and expired once their day has passed.
expect 0 "revoke the doctor's grant" -- "$tlo" grant revoke "$g2" --as "Anna Admin" "${pass[@]}"
TELLONCE_TEST_NOW_MS=4102444800000 expect 0 "report in 2100" -- "$tlo" report "$caseid" \
    -o later.html --json later.json
python3 -c '
import json
g = json.load(open("later.json"))["grants"]
assert [x["status"] for x in g] == ["expired", "revoked"], g
' && ok || bad "report_grant_status: expired and revoked"

# A ledger that does not verify: the report is written, says so, exit 1.
cp -a vault vault2
sqlite3 vault2/ledger.db "DROP TRIGGER entries_no_update; UPDATE entries SET body = CAST(replace(CAST(body AS TEXT), 'break', 'brake') AS BLOB) WHERE kind = 22"
expect 1 "report of a tampered ledger" -- "$tlo" report "$caseid" --vault vault2 -o bad.html
grep -qF "FAILED" bad.html && ok || bad "report_says_failed: no FAILED in bad.html"

echo "test_report: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
