#!/usr/bin/env bash
# export_into_client_fds: 'tellonce export -o /dev/fd/N --manifest-output
# /dev/fd/M --name PATH' (what the custodian service's child runs for its
# client) writes the clip and the manifest into unnamed files the caller
# made in PATH's folder and links nothing: the folder stays empty until the
# caller links both after exit status 0, and then verify-export passes, the
# manifest and the export entry naming PATH's file name. A stream copy and a
# watermarked export; a file with a name, a file not empty, and the options
# without each other are refused before anything is logged; an export
# killed after its entry leaves the folder empty.
# usage: test_export_fd.sh TELLONCE_BINARY
set -u
tlo=$1
work=$(mktemp -d "${TMPDIR:-/tmp}/tlo-exportfd.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
export TELLONCE_TEST_FAST_KDF=1 TELLONCE_VAULT="$work/vault"
unset TELLONCE_PASSPHRASE TELLONCE_NEW_PASSPHRASE TELLONCE_TEST_KILL_AT
passed=0 failed=0
ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL: $*" >&2; }
contains() { if grep -qF -- "$2" <<<"$1"; then ok; else bad "$3: '$2' not in: $1"; fi; }
ledger_count() { sqlite3 vault/ledger.db "SELECT count(*) FROM entries WHERE kind = $1"; }

# client DIR CLIP [named|full] -- COMMAND...: as the service's client does it:
# two unnamed files (O_TMPFILE) in DIR, their fds in COMMAND for {CLIP} and
# {MANIFEST}; after exit status 0 the manifest and then the clip are linked
# as DIR/CLIP(.manifest). Writes what DIR held before the links to
# before.txt; exits with COMMAND's status. "named": the clip's file has a
# name already; "full": it is not empty.
client() {
    python3 - "$@" <<'PY'
import ctypes, os, subprocess, sys
libc = ctypes.CDLL(None, use_errno=True)
def link_fd(fd, path):  # linkat(AT_FDCWD, /proc/self/fd/FD, ..., AT_SYMLINK_FOLLOW)
    if libc.linkat(-100, b"/proc/self/fd/%d" % fd, -100, path.encode(), 0x400) != 0:
        raise OSError(ctypes.get_errno(), "linkat " + path)
d, clip, how = sys.argv[1], sys.argv[2], sys.argv[3]
cmd = sys.argv[5:]
if how == "named":
    cfd = os.open(os.path.join(d, ".named"), os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
else:
    cfd = os.open(d, os.O_TMPFILE | os.O_RDWR, 0o600)
if how == "full":
    os.write(cfd, b"x")
mfd = os.open(d, os.O_TMPFILE | os.O_RDWR, 0o600)
cmd = [a.replace("{CLIP}", "/dev/fd/%d" % cfd).replace("{MANIFEST}", "/dev/fd/%d" % mfd)
       for a in cmd]
with open("out.txt", "wb") as out, open("err.txt", "wb") as err:
    rc = subprocess.call(cmd, pass_fds=(cfd, mfd), stdout=out, stderr=err,
                         stdin=subprocess.DEVNULL)
open("before.txt", "w").write("\n".join(sorted(os.listdir(d))))
if rc == 0:
    path = os.path.join(d, clip)
    link_fd(mfd, path + ".manifest")
    link_fd(cfd, path)
sys.exit(rc)
PY
}

pass=(--passphrase-file p.pass)
echo 'a secret phrase for the test' > p.pass
"$tlo" init --admin "Anna Admin" "${pass[@]}" >/dev/null || bad "init"
for who in "Ivan Interviewer:interviewer" "Per Prosecutor:prosecutor"; do
    "$tlo" user add "${who%%:*}" --role "${who##*:}" --as "Anna Admin" "${pass[@]}" \
        --new-passphrase-file p.pass >/dev/null || bad "user add $who"
done
"$tlo" case open "2026-K-7" --as "Ivan Interviewer" "${pass[@]}" >/dev/null || bad "case open"
"$tlo" record "2026-K-7" --as "Ivan Interviewer" "${pass[@]}" --duration 8 --no-live \
    >/dev/null 2>&1 || bad "record"
s1=$(sqlite3 vault/ledger.db "SELECT CAST(body AS TEXT) FROM entries WHERE kind = 20" |
    sed -n 's/^session=//p')
key=$("$tlo" checkpoint --verifier-key)
"$tlo" grant "2026-K-7" --to "Per Prosecutor" --session "$s1" --expires 2099-12-31 \
    --purpose "trial" --actions export --as "Anna Admin" "${pass[@]}" >/dev/null || bad "grant"
export_to() { # export_to DIR NAME HOW [OPTIONS...]
    local d=$1 name=$2 how=$3; shift 3
    client "$d" "$name" "$how" -- "$tlo" export "2026-K-7" --session "$s1" --from 2 --to 6 \
        -o "{CLIP}" --manifest-output "{MANIFEST}" --name "$d/$name" \
        --as "Per Prosecutor" "${pass[@]}" "$@"
}

# A stream copy, then a watermarked one.
for kind in copy watermark; do
    mkdir "out-$kind"
    opt=(); [ $kind = watermark ] && opt=(--watermark)
    export_to "out-$kind" "clip-$kind.mp4" tmpfile "${opt[@]}"
    rc=$?
    [ $rc -eq 0 ] && ok || bad "export_into_client_fds ($kind): exit $rc: $(cat err.txt)"
    [ ! -s before.txt ] && ok || bad "export_into_client_fds ($kind): the folder held $(cat before.txt) before the client linked"
    contains "$(cat out.txt)" "out-$kind/clip-$kind.mp4" "the clip named as the client will link it"
    f="out-$kind/clip-$kind.mp4"
    if "$tlo" verify-export "$f" --verifier-key "$key" >v.txt 2>&1; then ok; else bad "verify-export ($kind): $(cat v.txt)"; fi
    if "$tlo" verify-export "$f" --vault vault >v.txt 2>&1; then ok; else bad "verify-export --vault ($kind): $(cat v.txt)"; fi
    grep -q "clip-$kind.mp4" "$f.manifest" && ok || bad "the manifest names the clip's file"
    # The ledger never names the file (it may hold a child's name): the
    # entry is the clip's digest and size.
    [ "$(sqlite3 vault/ledger.db "SELECT count(*) FROM entries WHERE instr(CAST(body AS TEXT), 'clip-$kind') > 0")" = 0 ] &&
        ok || bad "an entry names clip-$kind.mp4"
    ls -a vault/tmp 2>/dev/null | grep -qv '^\.\.\?$' && bad "something left in vault/tmp: $(ls -a vault/tmp)" || ok
done
[ "$(ffprobe -v error -show_entries stream=codec_name -of csv=p=0 out-copy/clip-copy.mp4 | tr '\n' ' ')" = "h264 h264 aac " ] &&
    ok || bad "the clip is the MP4 of two cameras and a microphone"

# Refused before anything is logged: the access entries stay as they were.
g0=$(ledger_count 40) d0=$(ledger_count 41)
mkdir refused
export_to refused clip.mp4 named; rc=$?
[ $rc -eq 2 ] && ok || bad "a file with a name: exit $rc"
contains "$(cat err.txt)" "has a name already" "a file with a name: the reason"
rm -f refused/.named
export_to refused clip.mp4 full; rc=$?
[ $rc -eq 2 ] && ok || bad "a file not empty: exit $rc"
contains "$(cat err.txt)" "is not empty" "a file not empty: the reason"
"$tlo" export "2026-K-7" --session "$s1" -o /dev/fd/1 --as "Per Prosecutor" "${pass[@]}" \
    >out.txt 2>err.txt </dev/null; rc=$?
[ $rc -eq 2 ] && ok || bad "-o /dev/fd/N without --manifest-output and --name: exit $rc"
contains "$(cat err.txt)" "go together" "the options go together"
"$tlo" export "2026-K-7" --session "$s1" -o clip.mp4 --name x.mp4 --as "Per Prosecutor" \
    "${pass[@]}" >out.txt 2>err.txt </dev/null; rc=$?
[ $rc -eq 2 ] && ok || bad "--name without -o /dev/fd/N: exit $rc"
[ "$(ledger_count 40)" = "$g0" ] && [ "$(ledger_count 41)" = "$d0" ] && ok ||
    bad "a refused hand-over logged an access"
[ -z "$(ls -A refused)" ] && ok || bad "refused exports left $(ls -A refused)"

# Killed once the export is logged: the client links nothing, the folder stays empty.
mkdir killed
TELLONCE_TEST_KILL_AT=export-logged export_to killed clip.mp4 tmpfile; rc=$?
[ $rc -ne 0 ] && ok || bad "the killed export exited 0"
[ -z "$(ls -A killed)" ] && ok || bad "a killed export left $(ls -A killed)"

echo "cli_export_fd: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
