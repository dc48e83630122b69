# Shared by scripts/demo, scripts/test and scripts/bench: quiet steps that
# show their output only when they fail.
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
logdir="$top/build-logs"
mkdir -p "$logdir"

# step NAME COMMAND...: runs COMMAND with output in build-logs/NAME.log;
# on failure prints the end of the log and exits.
step() {
    local name=$1; shift
    if ! "$@" >"$logdir/$name.log" 2>&1; then
        echo "FAILED: $name ($*)" >&2
        tail -n 60 "$logdir/$name.log" >&2
        echo "full log: $logdir/$name.log" >&2
        exit 1
    fi
}

# build DIR [MESON-SETUP-OPTIONS...]: configures DIR once, then builds it.
build() {
    local dir=$1; shift
    if [ ! -f "$top/$dir/build.ninja" ]; then
        step "setup-$dir" meson setup "$top/$dir" "$top" "$@"
    fi
    step "ninja-$dir" ninja -C "$top/$dir"
}
