#!/bin/sh
# Runs every fuzz target for SECONDS (default 60) of wall time, starting from the seeds of
# corpus/ (fuzz/corpus-seeds/<target>/, written by fuzz/make-seeds.py), and prints the CPU time each one used.
# Usage, from the repository root: fuzz/run.sh [SECONDS] [TARGET...]
# Needs a nightly toolchain and cargo-fuzz. Exits non-zero when a target finds a crash;
# the input is then in fuzz/artifacts/<target>/.
set -eu
cd "$(dirname "$0")"
secs=${1:-60}
[ $# -gt 0 ] && shift
targets=${*:-parse_filter parse_path parse_patch roundtrip evaluate apply}
cargo +nightly fuzz build
failed=""
for t in $targets; do
    seeds=""
    [ -d "corpus-seeds/$t" ] && seeds="corpus-seeds/$t"
    mkdir -p "corpus/$t"
    log="corpus/$t.log"
    # shellcheck disable=SC2086
    if ! /usr/bin/time -f "$t: %U s user + %S s system CPU in %e s wall" \
        cargo +nightly fuzz run "$t" "corpus/$t" $seeds -- -max_total_time="$secs" >"$log" 2>&1; then
        failed="$failed $t"
    fi
    grep -E "^(#[0-9]+ *DONE|Done [0-9]|SUMMARY|$t: |thread .* panicked)" "$log" || true
done
if [ -n "$failed" ]; then
    echo "crashes in:$failed (inputs in fuzz/artifacts/, logs in fuzz/corpus/*.log)" >&2
    exit 1
fi
