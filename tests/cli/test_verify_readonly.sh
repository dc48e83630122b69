#!/usr/bin/env bash
# verify on a read-only copy of a vault (cp -a, chmod -R a-w) changes nothing
# in it, as root and as another user: the same names and bytes after.
# usage: test_verify_readonly.sh TELLONCE_BINARY
set -u
tlo=$1
work=$(mktemp -d "${TMPDIR:-/tmp}/tlo-verify-ro.XXXXXX")
trap 'chmod -R u+w "$work"; rm -rf "$work"' EXIT
cd "$work" || exit 1
chmod 755 "$work"
export TELLONCE_TEST_FAST_KDF=1 TELLONCE_VAULT="$work/vault"
passed=0 failed=0
ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL: $*" >&2; }
echo 'a long secret' > p.pass
"$tlo" init --admin "Anna Admin" --passphrase-file p.pass >/dev/null || bad "init"
"$tlo" user add "Ivan Interviewer" --role interviewer --as "Anna Admin" --passphrase-file p.pass \
    --new-passphrase-file p.pass >/dev/null || bad "user add"
"$tlo" case open A-1 --as "Ivan Interviewer" --passphrase-file p.pass >/dev/null || bad "case open"
"$tlo" record A-1 --as "Ivan Interviewer" --passphrase-file p.pass --duration 4 --no-live >/dev/null ||
    bad "record"
cp -a vault ro
chmod -R a+rX ro && chmod -R a-w ro
state() { (cd ro && find . -printf '%p %s %m\n' | sort && find . -type f -print0 | sort -z | xargs -0 sha256sum); }
state > before.txt
"$tlo" verify --vault ro >out.txt 2>&1 && ok || bad "verify of the read-only copy as $(id -un): $(cat out.txt)"
state | diff before.txt - >/dev/null && ok || bad "verify as $(id -un) changed the copy: $(state | diff before.txt -)"
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
    # A copy of the binary nobody can run wherever the build tree is (a
    # clone under /root is not theirs to enter).
    cp "$tlo" "$work/tellonce" && chmod 755 "$work/tellonce"
    setpriv --reuid=65534 --regid=65534 --clear-groups "$work/tellonce" verify --vault "$work/ro" >out.txt 2>&1 &&
        ok || bad "verify of the read-only copy as nobody: $(cat out.txt)"
    state | diff before.txt - >/dev/null && ok || bad "verify as nobody changed the copy"
fi
echo "cli_verify_readonly: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
