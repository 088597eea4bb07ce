#!/usr/bin/env bash
# anchors.sh - runs the anchor benchmarks that hub-bench is compared with
# (NATS JetStream, the bare hub data path, raw ZeroMQ, raw SQLite), on this
# machine and in the same sitting, and prints their summary table.
#
#   tests/bench/anchors.sh [SECTION...]     default: nats hub zmq sqlite
#                                           (also: fsync mqtt)
#   REPS=3 tests/bench/anchors.sh           repetitions (default 1)
#
# With the hub section, hub_sketch's throughput run goes once more under a
# CPU count (results/cpu/raw.txt): its CPU per event in all its processes.
#
# The anchors live beside the repository, in ../shared/bench-anchors (the
# sibling directory shared/bench-anchors of the repository root), or where
# $BENCH_ANCHORS says. They are built and run in a scratch copy, so that the
# directory itself may be read-only; nothing of them enters this tree.
# Missing Debian packages (nats-server libnats-dev libmosquitto-dev
# mosquitto libzmq3-dev libsqlite3-dev) are installed with apt-get when run
# as root; otherwise the script says what to install and exits 77 (skipped).
# Every load in the anchors is bounded in count and time (run.sh).
set -u

here=$(cd "$(dirname "$0")" && pwd)
root=${HUB_SOURCE_ROOT:-$(cd "$here/../.." && pwd)}
anchors=${BENCH_ANCHORS:-$root/../shared/bench-anchors}
if [ ! -f "$anchors/run.sh" ] || [ ! -f "$anchors/Makefile" ]; then
    echo "skip: no anchor benchmarks at $anchors (set BENCH_ANCHORS to their directory)"
    exit 77
fi
anchors=$(cd "$anchors" && pwd)

sections=("$@")
[ ${#sections[@]} -eq 0 ] && sections=(nats hub zmq sqlite)
for s in "${sections[@]}"; do
    case $s in
    fsync | sqlite | zmq | nats | mqtt | hub) ;;
    *)
        echo "anchors.sh: unknown section \"$s\" (fsync sqlite zmq nats mqtt hub)" >&2
        exit 2
        ;;
    esac
done

# ------------------------------------------------------------ packages
missing=()
for p in nats-server libnats-dev libmosquitto-dev mosquitto libzmq3-dev libsqlite3-dev; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
        echo "anchors.sh: installing ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        if ! { apt-get update -q >/dev/null && apt-get install -y -q "${missing[@]}" >/dev/null; }; then
            echo "anchors.sh: apt-get install ${missing[*]} failed" >&2
            exit 1
        fi
    else
        echo "skip: missing Debian packages: ${missing[*]} (apt-get install -y ${missing[*]})"
        exit 77
    fi
fi
for tool in make cc pkg-config python3 timeout; do
    if ! command -v "$tool" >/dev/null; then
        echo "skip: $tool is not installed"
        exit 77
    fi
done

# ------------------------------------------------------------ run
work=${ANCHORS_WORK:-}
if [ -z "$work" ]; then
    work=$(mktemp -d "${TMPDIR:-/tmp}/hub-anchors-XXXXXX") || exit 1
fi
mkdir -p "$work" || exit 1
cp "$anchors"/*.c "$anchors"/*.h "$anchors"/Makefile "$anchors"/run.sh "$anchors"/summarize.py "$work"/ || exit 1
chmod u+w "$work"/* && chmod u+x "$work"/run.sh "$work"/summarize.py

echo "# anchors: ${sections[*]}, REPS=${REPS:-1}, from $anchors (built in $work)"
echo "# $(nproc) cpus, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), load $(cut -d' ' -f1-3 /proc/loadavg)"
start=$(date +%s)
(cd "$work" && REPS=${REPS:-1} ./run.sh "${sections[@]}")
rc=$?

# hub_sketch's throughput run once more, for the CPU it spends per event in
# all its processes (broker, publisher and 4 subscribers, start-up
# included), and how much of it in the kernel: hub-bench prints the same of
# hubd and its clients, and the two side by side say where the events/s
# part. In results/cpu/raw.txt, as the anchors' own results.
if [ $rc -eq 0 ] && [[ " ${sections[*]} " == *" hub "* ]]; then
    mkdir -p "$work/results/cpu"
    (cd "$work" && python3 - <<'EOF_CPU'
import resource
import subprocess
import sys

cmd = ["timeout", "150", "./hub_sketch", "tput", "tcp", "FULL", "200000", "300", "1000"]
before = resource.getrusage(resource.RUSAGE_CHILDREN)
out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True).stdout
after = resource.getrusage(resource.RUSAGE_CHILDREN)
acked = 0
for line in out.splitlines():
    parts = line.split()
    if len(parts) > 2 and parts[0] == "RESULT" and parts[1] == "hub_pub_ack":
        fields = dict(p.partition("=")[::2] for p in parts[2:])
        acked = int(fields.get("acked", "0") or 0)
if acked <= 0:
    print("# hub_sketch cpu: the throughput run gave no result")
    sys.exit(1)
user = (after.ru_utime - before.ru_utime) * 1e6 / acked
kernel = (after.ru_stime - before.ru_stime) * 1e6 / acked
print("CONTEXT cpu=cpu-tput-tcp-FULL")
print(f"RESULT hub_sketch_cpu events={acked} us_per_event={user + kernel:.2f} kernel_us_per_event={kernel:.2f}")
EOF_CPU
    ) | tee "$work/results/cpu/raw.txt"
    [ "${PIPESTATUS[0]}" -eq 0 ] || rc=1
fi
# keep the results (summary.md, raw.txt), drop the binaries
(cd "$work" && make -s clean >/dev/null 2>&1)
echo "# anchors: exit $rc after $(($(date +%s) - start)) s; results in $work/results"
exit $rc
