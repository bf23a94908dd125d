#!/usr/bin/env bash
# Runs the given pytest command. A test failure fails at once. A crash of the interpreter itself (killed by a
# signal: a segmentation fault inside a native library) is reported with the crashing thread's stack, which
# faulthandler writes to stderr, and the same run is tried once more; a second crash fails.
# Why: on 2026-12-07 one CI run of the date-sensitive suites died of a segmentation fault inside a native library,
# which local reruns of the same suites did not repeat, and the stack it printed was cut before the crashing thread.
set -uo pipefail
crash_log="$(mktemp -t pytest-crash.XXXXXX)"
trap 'rm -f "$crash_log"' EXIT
for attempt in 1 2; do
    "$@" 2> >(tee "$crash_log" >&2)
    status=$?
    wait  # let tee finish writing the stderr copy
    if ((status < 128)); then
        exit "$status"
    fi
    echo "== pytest was killed by signal $((status - 128)) (attempt $attempt): a native crash, not a test failure" >&2
    echo "== the crashing thread, as faulthandler printed it:" >&2
    sed -n '/^Current thread/,/^$/p' "$crash_log" | head -60 >&2
done
exit "$status"
