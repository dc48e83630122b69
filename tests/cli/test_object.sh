#!/usr/bin/env bash
# tellonce object seal|open|inspect, as a person or a script uses them.
# usage: test_object.sh TELLONCE_BINARY SOURCE_ROOT
set -u
tlo=$1
root=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/tlo-cli.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
passed=0 failed=0

ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL: $*" >&2; }
# expect CODE DESCRIPTION -- COMMAND...: runs it, checks the exit code, keeps stderr in $err
expect() {
    local want=$1 what=$2; shift 3
    "$@" >out.txt 2>err.txt; local got=$?
    err=$(cat err.txt)
    if [ "$got" -eq "$want" ]; then ok; else bad "$what: exit $got, expected $want; stderr: $err"; fi
}
# flip FILE OFFSET: inverts every bit of one byte (writing a fixed value would
# change nothing when the byte already had it, 1 time in 256)
flip() {
    local b
    b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
    printf "\\x$(printf %02x $((b ^ 0xff)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
contains() { # contains FILE-OR-STRING NEEDLE DESCRIPTION
    if grep -qF -- "$2" <<<"$1"; then ok; else bad "$3: '$2' not in: $1"; fi
}

head -c 32 /dev/urandom > raw.key
od -An -tx1 raw.key | tr -d ' \n' > hex.key
{ cat hex.key; echo; } > hexnl.key
head -c 32 /dev/urandom > other.key

# --- help and usage ---
expect 0 "--help" -- "$tlo" --help
contains "$(cat out.txt)" "object" "--help lists commands"
expect 0 "--version" -- "$tlo" --version
v=$(cat out.txt)
expect 0 "-V" -- "$tlo" -V
[ "$(cat out.txt)" = "$v" ] && ok || bad "-V prints what --version does"
expect 0 "version" -- "$tlo" version
[ "$(cat out.txt)" = "$v" ] && ok || bad "'tellonce version' prints what --version does"
# a subcommand's --help is its command's help (grant list --help failed)
for sub in "grant list" "grant revoke" "user list" "note show" "sample list"; do
    # shellcheck disable=SC2086
    expect 0 "$sub --help" -- "$tlo" $sub --help
    contains "$(tr -s " \n" "  " <out.txt)" "usage: tellonce ${sub%% *}" "$sub --help prints the usage"
done
# a wrong option gets one line saying where the options are, not the usage
for c in "grant --bogus" "user list --bogus" "log --bogus" "checkpoint --bogus"; do
    # shellcheck disable=SC2086
    expect 2 "$c" -- "$tlo" $c
    [ "$(wc -l <err.txt)" -le 2 ] && ! grep -q "usage:" err.txt && ok ||
        bad "$c printed more than the error and one hint: $err"
    contains "$err" "see 'tellonce ${c%% *} --help'" "$c says where its options are"
done
# --vault DIR before the command is the command's own --vault
expect 2 "--vault DIR before the command" -- "$tlo" --vault "$work/no-vault" log
contains "$err" "$work/no-vault is not a tellonce vault" "--vault DIR log reads that folder"
expect 2 "--vault without a folder" -- "$tlo" --vault
expect 2 "--vault DIR without a command" -- "$tlo" --vault "$work/no-vault"
contains "$err" "--vault takes the vault's folder, then a command" "--vault DIR alone says a command is missing"
contains "$err" "--vault takes the vault's folder" "--vault alone says what it takes"
expect 2 "no command" -- "$tlo"
expect 2 "unknown command" -- "$tlo" frobnicate
contains "$err" "not a tellonce command" "unknown command message"
expect 0 "object --help" -- "$tlo" object --help
contains "$(cat out.txt)" "PLAINTEXT" "object --help warns that open writes plaintext"
expect 2 "seal without key" -- "$tlo" object seal a b

# --- key files ---
head -c 31 /dev/urandom > short.key
expect 2 "31-byte key" -- "$tlo" object seal --key-file short.key /dev/null x.tlo
contains "$err" "32 raw bytes or 64 hex" "short key message"
printf 'zz%.0s' $(seq 32) > nothex.key
expect 2 "non-hex key" -- "$tlo" object seal --key-file nothex.key /dev/null x.tlo
expect 3 "missing key file" -- "$tlo" object seal --key-file nope.key /dev/null x.tlo
[ ! -e x.tlo ] && ok || bad "a failed seal left x.tlo behind"

# --- round trips, three key encodings, several sizes ---
for size in 0 1 65535 65536 65537 200000 3000000; do
    head -c "$size" /dev/urandom > "in.$size"
    for k in raw hex hexnl; do
        rm -f "o.tlo" "back"
        expect 0 "seal $size ($k)" -- "$tlo" object seal --key-file $k.key "in.$size" o.tlo
        expect 0 "open $size ($k)" -- "$tlo" object open --key-file raw.key o.tlo back
        cmp -s "in.$size" back && ok || bad "round trip of $size bytes ($k key) differs"
    done
    sha=$(sha256sum "in.$size" | cut -d' ' -f1)
    "$tlo" object seal --key-file raw.key "in.$size" "s.$size.tlo" > seal.txt
    contains "$(cat seal.txt)" "$sha" "seal prints the plaintext sha256 ($size)"
    contains "$(cat seal.txt)" "$(sha256sum "s.$size.tlo" | cut -d' ' -f1)" "seal prints the sealed sha256 ($size)"
done
# stdin in, stdout out
head -c 100000 /dev/urandom > in.pipe
cat in.pipe | "$tlo" object seal --key-file raw.key - pipe.tlo > /dev/null && ok || bad "seal from stdin"
"$tlo" object open --key-file raw.key pipe.tlo - | cmp -s - in.pipe && ok || bad "open to stdout"

# --- slices ---
for spec in "0 1" "65530 20" "65536 65536" "199999 1" "200000 0" "1000 150000"; do
    set -- $spec
    rm -f slice
    expect 0 "slice $spec" -- "$tlo" object open --key-file raw.key --offset "$1" --length "$2" s.200000.tlo slice
    tail -c +$(($1 + 1)) in.200000 | head -c "$2" | cmp -s - slice && ok || bad "slice $spec differs"
done
"$tlo" object open --key-file raw.key --offset 150000 s.200000.tlo - | cmp -s - <(tail -c +150001 in.200000) \
    && ok || bad "offset without length reads to the end"
expect 2 "slice past the end" -- "$tlo" object open --key-file raw.key --offset 199990 --length 11 s.200000.tlo x
contains "$err" "outside" "slice past the end message"
[ ! -e x ] && ok || bad "a refused open created its output"

# --- never overwrite ---
echo precious > keep.tlo
expect 2 "seal over an existing file" -- "$tlo" object seal --key-file raw.key in.1 keep.tlo
[ "$(cat keep.tlo)" = precious ] && ok || bad "seal overwrote an existing file"
expect 2 "open over an existing file" -- "$tlo" object open --key-file raw.key s.1.tlo keep.tlo
[ "$(cat keep.tlo)" = precious ] && ok || bad "open overwrote an existing file"

# --- inspect, without a key ---
expect 0 "inspect" -- "$tlo" object inspect s.200000.tlo
contains "$(cat out.txt)" "chunks           4" "inspect chunk count"
contains "$(cat out.txt)" "plaintext bytes  200000" "inspect plaintext size"
contains "$(cat out.txt)" "Nothing above is authenticated" "inspect says it authenticates nothing"
expect 0 "inspect --json" -- "$tlo" object inspect --json s.200000.tlo
python3 -c 'import json,sys; d=json.load(open("out.txt")); sys.exit(0 if d["chunks"]==4 and d["plaintext_bytes"]==200000 and d["authenticated"] is False else 1)' \
    && ok || bad "inspect --json"
expect 1 "inspect a non-object" -- "$tlo" object inspect in.200000
contains "$err" "not a tellonce sealed object" "inspect of a non-object"

# --- damage: each failure has its exit code, message, and leaves no output ---
cp s.200000.tlo d.tlo
expect 1 "wrong key" -- "$tlo" object open --key-file other.key d.tlo x
contains "$err" "key given has id" "wrong key message"
flip d.tlo 20
expect 1 "header altered" -- "$tlo" object open --key-file raw.key d.tlo x
contains "$err" "header was altered" "header altered message"
cp s.200000.tlo d.tlo
flip d.tlo 70000
expect 1 "chunk altered" -- "$tlo" object open --key-file raw.key d.tlo x
contains "$err" "chunk 1 fails authentication" "chunk altered message"
[ ! -e x ] && ok || bad "a failed open left plaintext behind"
head -c $((104 + 2 * 65552)) s.200000.tlo > t.tlo
expect 1 "truncated" -- "$tlo" object open --key-file raw.key t.tlo x
contains "$err" "truncated" "truncation message"
{ cat s.200000.tlo; echo junk; } > a.tlo
expect 1 "appended" -- "$tlo" object open --key-file raw.key a.tlo x
contains "$err" "5 bytes of extra data" "appended data message"
expect 0 "inspect a damaged object still works" -- "$tlo" object inspect a.tlo
contains "$(cat out.txt)" "unknown" "inspect notices the size mismatch"

# --- an independent reader, written from docs/format.md alone, agrees ---
ref="$root/tests/vault/reference_reader.py"
if [ -f "$ref" ]; then
    for size in 0 1 65536 200000; do
        python3 "$ref" open --key-file raw.key "s.$size.tlo" > ref.out 2> ref.err \
            && cmp -s ref.out "in.$size" && ok || bad "reference reader on $size bytes: $(cat ref.err)"
    done
fi

echo "cli_object: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
