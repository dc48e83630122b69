# Sourced by the service tests (tests/service): OS users made for the test,
# the custodian service started in the foreground as its own user, and
# running tellonce as one of those users. Needs root; a test calls
# svc_need_root first (skips with 77 outside CI, fails in CI).
#
#   svc_setup NAME...   makes the service user, its group, a vault (init as
#                       the service user, first admin "Anna Admin" with
#                       passphrase file $SVC_DIR/admin.pass), the socket
#                       folder; then one OS user per NAME, in the group
#                       (svc_user NAME gives its login name)
#   svc_outsider NAME   an OS user not in the group
#   svc_start           starts the service in the background ($SVC_PID),
#                       waits for its socket
#   svc_stop            SIGTERM, waits for it to end
#   as NAME CMD...      runs CMD as that OS user (supplementary groups too)
#   tlo_as NAME ARGS... runs tellonce as that OS user through the service
#   as_service ARGS...  runs tellonce as the service user on the vault (embedded)
# A test defines bad() before it sources this file (tests/cli/lib.sh too).

svc_need_root() {
    if [ "$(id -u)" != 0 ]; then
        if [ "${CI:-}" = true ]; then
            echo "FAIL: the service tests make OS users and must run as root in CI" >&2
            exit 1
        fi
        echo "SKIP: the service tests make OS users; run them as root" >&2
        exit 77
    fi
    for t in useradd userdel groupadd setpriv; do
        command -v "$t" >/dev/null || { echo "FAIL: $t is missing (package passwd / util-linux)" >&2; exit 1; }
    done
}

SVC_TAG=t$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
SVC_USERS=()
svc_user() { echo "${SVC_TAG}$1"; }

svc_cleanup() {
    [ -n "${SVC_PID:-}" ] && kill -9 "$SVC_PID" 2>/dev/null
    [ -n "${SVC_SERVICE:-}" ] && pkill -9 -u "$SVC_SERVICE" 2>/dev/null
    for u in "${SVC_USERS[@]}"; do userdel "$u" 2>/dev/null; done
    groupdel "${SVC_TAG}grp" 2>/dev/null
    [ -n "${SVC_DIR:-}" ] && rm -rf "$SVC_DIR"
}

# svc_mkuser LOGIN [GROUP]
svc_mkuser() {
    if [ -n "${2:-}" ]; then
        useradd -M -N -g "$2" -s /usr/sbin/nologin -d /nonexistent "$1" || bad "useradd $1"
    else
        useradd -M -U -s /usr/sbin/nologin -d /nonexistent "$1" || bad "useradd $1"
    fi
    SVC_USERS+=("$1")
}

svc_setup() {
    trap svc_cleanup EXIT
    SVC_DIR=$(mktemp -d /tmp/tlo-svc.XXXXXX)
    chmod 755 "$SVC_DIR"
    # the binary, where every test user may run it (the build tree may sit
    # under a folder only root enters)
    install -m 755 "$tlo" "$SVC_DIR/tellonce"
    SVC_BIN=$SVC_DIR/tellonce
    groupadd "${SVC_TAG}grp" || bad "groupadd"
    SVC_SERVICE=$(svc_user svc)
    useradd -M -g "${SVC_TAG}grp" -s /usr/sbin/nologin -d /nonexistent "$SVC_SERVICE" || bad "useradd svc"
    SVC_USERS+=("$SVC_SERVICE")
    for n in "$@"; do
        svc_mkuser "$(svc_user "$n")"
        usermod -a -G "${SVC_TAG}grp" "$(svc_user "$n")" || bad "usermod $n"
    done
    mkdir -m 700 "$SVC_DIR/home"
    chown "$SVC_SERVICE:${SVC_TAG}grp" "$SVC_DIR/home"
    SVC_VAULT=$SVC_DIR/home/vault
    mkdir -m 750 "$SVC_DIR/run"
    chown "$SVC_SERVICE:${SVC_TAG}grp" "$SVC_DIR/run"
    SVC_SOCKET=$SVC_DIR/run/custodian.sock
    printf 'anna-admin-passphrase\n' >"$SVC_DIR/admin.pass"
    chmod 644 "$SVC_DIR/admin.pass"
    as_service init --vault "$SVC_VAULT" --origin "tellonce.test/$SVC_TAG" --admin "Anna Admin" \
        --passphrase-file "$SVC_DIR/admin.pass" >/dev/null || bad "init as the service user"
}

svc_outsider() {
    svc_mkuser "$(svc_user "$1")"
}

# as NAME CMD...: NAME is a test user's short name, or "svc"
as() {
    local u
    u=$(svc_user "$1")
    shift
    setpriv --reuid="$u" --regid="$(id -g "$u")" --init-groups --reset-env -- \
        env TELLONCE_TEST_FAST_KDF=1 "$@"
}

as_service() { as svc "$SVC_BIN" "$@"; }
tlo_as() {
    local who=$1
    shift
    as "$who" "$SVC_BIN" --socket "$SVC_SOCKET" "$@"
}

svc_start() {
    # exec all the way down: $SVC_PID is the service's own pid
    (exec setpriv --reuid="$SVC_SERVICE" --regid="$(id -g "$SVC_SERVICE")" --init-groups \
        --reset-env -- env TELLONCE_TEST_FAST_KDF=1 ${SVC_ENV:-} "$SVC_BIN" custodian run \
        --vault "$SVC_VAULT" --socket "$SVC_SOCKET" --group "${SVC_TAG}grp" \
        2>>"$SVC_DIR/service.log") &
    SVC_PID=$!
    wait_for 60 "the service's socket" '[ -S "$SVC_SOCKET" ]' "$SVC_PID"
}

svc_stop() {
    kill -TERM "$SVC_PID" 2>/dev/null
    wait "$SVC_PID"
    local rc=$?
    SVC_PID=
    return $rc
}

# The ledger, read as root.
svc_ledger() { sqlite3 -cmd ".timeout 5000" "$SVC_VAULT/ledger.db" "$1"; }
