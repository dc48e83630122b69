#!/usr/bin/env bash
# bench_record: the cost of sealing and logging while recording.
#
# The same simulated room (2 cameras 640x360 at 25 fps, a tone; as built by
# capture/capture.c) is recorded live for SECONDS twice: once by
# 'tellonce record' (sealed, fsynced, logged), once by gst-launch-1.0 with the
# identical pipeline writing plain segment files with filesink. Reports CPU
# seconds and peak memory of each (GNU time), their ratio, and the delay from
# each segment's end on the session clock to its durable ledger entry.
# usage: bench_record.sh TELLONCE_BINARY [SECONDS]
set -euo pipefail
tlo=$1
seconds=${2:-60}
work=$(mktemp -d "${TMPDIR:-/var/tmp}/tlo-bench-record.XXXXXX")
trap 'rm -rf "$work"' EXIT
export TELLONCE_VAULT="$work/vault" TELLONCE_TEST_FAST_KDF=1
echo 'bench admin' >"$work/a.pass"
echo 'bench interviewer' >"$work/i.pass"
"$tlo" init --admin Admin --passphrase-file "$work/a.pass" >/dev/null
"$tlo" user add Interviewer --role interviewer --as Admin --passphrase-file "$work/a.pass" \
    --new-passphrase-file "$work/i.pass" >/dev/null
"$tlo" case open BENCH-1 --as Interviewer --passphrase-file "$work/i.pass" >/dev/null

measure() { # measure LABEL COMMAND...: prints "LABEL user+sys seconds, max RSS KiB"
    local label=$1; shift
    /usr/bin/time -f "%U %S %M" -o "$work/time.$label" "$@" >"$work/out.$label" 2>&1
    read -r u s m <"$work/time.$label"
    python3 -c "print(f'{\"$label\":<28} CPU {$u + $s:6.2f} s (user $u, sys $s)   peak memory $m KiB')"
    python3 -c "print($u + $s)" >"$work/cpu.$label"
}

measure "tellonce record" "$tlo" record BENCH-1 --as Interviewer --passphrase-file "$work/i.pass" \
    --duration "$seconds"
mkdir "$work/plain"
measure "gst-launch + filesink" gst-launch-1.0 -q -e \
    splitmuxsink name=smux async-finalize=true max-size-time=4000000000 send-keyframe-requests=true \
    muxer-factory=mp4mux 'muxer-properties=properties,fragment-duration=500,streamable=true' \
    sink-factory=filesink location="$work/plain/seg%05d.mp4" \
    videotestsrc pattern=smpte is-live=true num-buffers=$((seconds * 25)) \
    ! video/x-raw,width=640,height=360,framerate=25/1 ! timeoverlay 'text=camera 1' \
    ! x264enc speed-preset=veryfast tune=zerolatency key-int-max=12 ! h264parse ! smux.video \
    videotestsrc pattern=ball is-live=true num-buffers=$((seconds * 25)) \
    ! video/x-raw,width=640,height=360,framerate=25/1 ! timeoverlay 'text=camera 2' \
    ! x264enc speed-preset=veryfast tune=zerolatency key-int-max=12 ! h264parse ! smux.video_aux_0 \
    audiotestsrc wave=sine freq=440 is-live=true samplesperbuffer=960 num-buffers=$((seconds * 50)) \
    ! audio/x-raw,rate=48000,channels=1 ! audioconvert ! avenc_aac ! aacparse ! smux.audio_0
a=$(cat "$work/cpu.tellonce record"); b=$(cat "$work/cpu.gst-launch + filesink")
python3 -c "print(f'CPU ratio tellonce / plain files: {$a / $b:.3f} (target <= 1.03)')"
echo "plain files: $(ls "$work/plain" | wc -l) segments, $(du -sk "$work/plain" | cut -f1) KiB;" \
    "sealed: $(ls "$work/vault/objects" | wc -l) objects (one is the case's fields), $(du -sk "$work/vault/objects" | cut -f1) KiB"

# Delay from a segment's end (session start + 4 s per segment, on the
# session clock) to its entry; the session-start entry precedes the pipeline's
# start, so this slightly overstates the delay.
"$tlo" log --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
start = [e for e in d if e["kind"] == "session-start"][-1]
segs = [e for e in d if e["kind"] == "segment" and e["body"]["session"] == start["body"]["session"]]
delays = sorted(e["time_ms"] - start["time_ms"] - 4000 * (int(e["body"]["index"]) + 1) for e in segs[:-1])
seal = sorted(e["time_ms"] - int(e["body"]["wall_end_ms"]) for e in segs)
p = lambda v, q: v[min(len(v) - 1, int(q * len(v)))]
print(f"segment end -> durable entry: p50 {p(delays, .5)} ms, p99 {p(delays, .99)} ms over {len(delays)} full segments (target < 1000)")
print(f"sealed and fsynced -> durable entry: p50 {p(seal, .5)} ms, p99 {p(seal, .99)} ms")'
