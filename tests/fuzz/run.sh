#!/bin/sh
# Fuzzes the parsers with libFuzzer for a bounded time.
#
#   tests/fuzz/run.sh [--seconds N] [--jobs N] [--build DIR] [--merge] [TARGET...]
#
# Configures DIR (default build-fuzz) with clang, libFuzzer and the address
# and undefined sanitizers, builds the targets (frame, event_json, policy,
# config, routing; all when none are named) and runs each for N seconds: --seconds,
# else $FUZZ_SECONDS, else the build's fuzz_seconds option (60). --jobs runs
# that many targets at once (default 1).
#
# The seed corpus in tests/fuzz/corpus/TARGET is only read; what the run
# finds stays in DIR/tests/fuzz/fuzz-work/TARGET. --merge adds to the seed
# corpus the inputs that reach new code. An input that breaks a target is
# copied to tests/fuzz/crashers/TARGET/, which every build replays in its
# unit suite. Exit 0 when no target broke, 1 when one did, 2 on usage.
#
# Needs clang and its libFuzzer runtime (Debian: clang libclang-rt-14-dev).
set -u

src=$(cd "$(dirname "$0")/../.." && pwd) || exit 2
build="build-fuzz"
seconds=${FUZZ_SECONDS:-}
jobs=1
merge=0
targets=

usage() {
    sed -n '3,4p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

while [ $# -gt 0 ]; do
    case $1 in
    --seconds) [ $# -ge 2 ] || usage; seconds=$2; shift 2 ;;
    --jobs) [ $# -ge 2 ] || usage; jobs=$2; shift 2 ;;
    --build) [ $# -ge 2 ] || usage; build=$2; shift 2 ;;
    --merge) merge=1; shift ;;
    -h | --help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "run.sh: unknown option $1" >&2; usage ;;
    frame | event_json | policy | config | routing) targets="$targets $1"; shift ;;
    *) echo "run.sh: unknown target $1 (frame, event_json, policy, config, routing)" >&2; exit 2 ;;
    esac
done
[ -n "$targets" ] || targets="frame event_json policy config routing"
case $seconds in '' | *[!0-9]*) [ -z "$seconds" ] || usage ;; esac
case $jobs in '' | *[!0-9]* | 0) usage ;; esac

cd "$src" || exit 2
case $build in /*) ;; *) build=$src/$build ;; esac

if ! command -v clang >/dev/null 2>&1; then
    echo "run.sh: clang not found (Debian: apt-get install clang libclang-rt-14-dev)" >&2
    exit 1
fi
if [ ! -f "$build/build.ninja" ]; then
    CC=clang meson setup "$build" --buildtype=debugoptimized -Db_sanitize=address,undefined -Db_lundef=false \
        -Dc_args=-fsanitize=fuzzer-no-link >"$build.setup.log" 2>&1 || {
        cat "$build.setup.log" >&2
        echo "run.sh: meson setup failed" >&2
        exit 1
    }
    rm -f "$build.setup.log"
fi
if [ -z "$seconds" ]; then
    seconds=$(meson introspect "$build" --buildoptions |
        python3 -c 'import json, sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == "fuzz_seconds"))')
fi

ninja_targets=
for t in $targets; do
    ninja_targets="$ninja_targets tests/fuzz/fuzz_$t tests/fuzz/replay_$t"
done
# shellcheck disable=SC2086 # one word per target
ninja -C "$build" $ninja_targets || exit 1
for t in $targets; do
    if [ ! -x "$build/tests/fuzz/fuzz_$t" ]; then
        echo "run.sh: $build builds no libFuzzer targets: is its compiler clang with libclang-rt-14-dev?" >&2
        exit 1
    fi
done

# Runs one target; its result goes to a file, as jobs run in the background.
run_target() {
    work=$build/tests/fuzz/fuzz-work/$1
    mkdir -p "$work"
    "$src/tests/fuzz/fuzz-one.sh" "$build/tests/fuzz/fuzz_$1" "$1" "$seconds" "$src/tests/fuzz/corpus/$1" "$work" \
        "$src/tests/fuzz/crashers/$1" >"$work/summary" 2>&1
    echo $? >"$work/rc"
    if [ "$merge" = 1 ] && [ "$(cat "$work/rc")" = 0 ]; then
        "$build/tests/fuzz/fuzz_$1" -merge=1 "$src/tests/fuzz/corpus/$1" "$work/corpus" >>"$work/summary" 2>&1 ||
            echo 1 >"$work/rc"
    fi
}

running=0
for t in $targets; do
    run_target "$t" &
    running=$((running + 1))
    if [ "$running" -ge "$jobs" ]; then
        wait
        running=0
    fi
done
wait

failed=
for t in $targets; do
    work=$build/tests/fuzz/fuzz-work/$t
    cat "$work/summary"
    [ "$(cat "$work/rc" 2>/dev/null)" = 0 ] || failed="$failed $t"
done
if [ -n "$failed" ]; then
    echo "run.sh: broken:$failed (inputs kept in tests/fuzz/crashers/)" >&2
    exit 1
fi
echo "run.sh: $targets: ${seconds}s each, nothing broke"
