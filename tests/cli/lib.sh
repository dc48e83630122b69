# Sourced by the shell tests in tests/cli: waiting for a condition, never for
# a time, and the ledger queries the recording tests wait on. A test defines
# bad() (prints and counts a failure) before it calls these.

# wait_for SECONDS WHAT CONDITION [PID]: evaluates the shell CONDITION every
# 0.1 s until it holds, then returns 0. After SECONDS, or as soon as process
# PID (if given) is gone, it counts a failure naming WHAT and returns 1.
# Timeouts are generous: a slow machine only makes the test wait longer.
wait_for() {
    local _wf_end=$((SECONDS + $1)) _wf_what=$2 _wf_cond=$3 _wf_pid=${4:-}
    until eval "$_wf_cond"; do
        if [ -n "$_wf_pid" ] && ! kill -0 "$_wf_pid" 2>/dev/null; then
            bad "process $_wf_pid ended while waiting for $_wf_what"
            return 1
        fi
        if [ "$SECONDS" -ge "$_wf_end" ]; then
            bad "timed out after $1 s waiting for $_wf_what"
            return 1
        fi
        sleep 0.1
    done
}

# The ledger of $TELLONCE_VAULT, read while a recording writes to it.
ledger() { sqlite3 -cmd ".timeout 5000" "$TELLONCE_VAULT/ledger.db" "$1"; }
# sessions_started: how many session-start entries are logged.
sessions_started() { ledger "SELECT count(*) FROM entries WHERE kind = 20"; }
# newest_session: the id of the session of the newest session-start entry.
newest_session() {
    ledger "SELECT CAST(body AS TEXT) FROM entries WHERE kind = 20 ORDER BY seq DESC LIMIT 1" |
        sed -n 's/^session=//p'
}
# media_logged SESSION: where the newest segment of SESSION logged ends, in
# ms on the session clock; 0 while none is.
media_logged() {
    local ms
    ms=$(ledger "SELECT CAST(body AS TEXT) FROM entries WHERE kind = 21 AND
                 CAST(body AS TEXT) LIKE '%session=$1%' ORDER BY seq DESC LIMIT 1" |
        sed -n 's/^end_ms=//p')
    echo "${ms:-0}"
}
# markers_logged SESSION: how many marker entries of SESSION are logged.
markers_logged() {
    ledger "SELECT count(*) FROM entries WHERE kind = 22 AND CAST(body AS TEXT) LIKE '%session=$1%'"
}
# now_ms: the wall clock (UTC), in ms, as the ledger's times are.
now_ms() { date +%s%3N; }
