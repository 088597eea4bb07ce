#!/bin/sh
# Runs one libFuzzer target for a bounded time.
#
#   fuzz-one.sh EXE NAME SECONDS CORPUS WORK [KEEP]
#
# EXE is a fuzz_<NAME> binary; CORPUS its seed corpus (read, never written);
# WORK a scratch directory: WORK/corpus gets the inputs found, WORK/crashers
# what broke the target, WORK/fuzz.log the run. When KEEP is given, crashers
# are copied there too (tests/fuzz/crashers/NAME: regression inputs).
# Exit 0 when the target ran SECONDS without breaking, 1 when it broke.
set -u

if [ $# -lt 5 ]; then
    echo "usage: fuzz-one.sh EXE NAME SECONDS CORPUS WORK [KEEP]" >&2
    exit 2
fi
exe=$1 name=$2 seconds=$3 corpus=$4 work=$5 keep=${6:-}

mkdir -p "$work/corpus" "$work/crashers" || exit 1
# Replay the kept crashers first; they are read like the seeds.
crashers=$(dirname "$(dirname "$corpus")")/crashers/$name
[ -d "$crashers" ] || crashers=

# An undefined-behaviour report stops the run like a crash, so that the
# input is saved. libFuzzer's own error code (77) would read as "skipped".
UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS ASAN_OPTIONS

echo "fuzz: $name for ${seconds}s (log: $work/fuzz.log)"
# shellcheck disable=SC2086 # $crashers is one path or nothing
# FUZZ_SEED fixes libFuzzer's seed: the short run of the test command then
# walks the same inputs every time (a slower machine walks fewer of them).
"$exe" ${FUZZ_SEED:+-seed="$FUZZ_SEED"} -max_total_time="$seconds" -timeout=25 -rss_limit_mb=2048 -error_exitcode=1 -timeout_exitcode=1 \
    -print_final_stats=1 -artifact_prefix="$work/crashers/" \
    "$work/corpus" "$corpus" $crashers >"$work/fuzz.log" 2>&1
rc=$?

if [ $rc -eq 0 ]; then
    grep -E '^stat::(number_of_executed_units|new_units_added)|^Done' "$work/fuzz.log"
    echo "fuzz: $name: ok"
    exit 0
fi
tail -n 80 "$work/fuzz.log"
echo "fuzz: $name: FAILED (exit $rc); inputs that broke it:"
for f in "$work"/crashers/*; do
    [ -f "$f" ] || continue
    echo "  $f"
    if [ -n "$keep" ]; then
        mkdir -p "$keep" && cp "$f" "$keep/" && echo "  kept as $keep/$(basename "$f")"
    fi
done
echo "fuzz: reproduce with: $exe FILE (or replay_$name FILE in any build)"
exit 1
