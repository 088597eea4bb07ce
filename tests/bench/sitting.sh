#!/usr/bin/env bash
# sitting.sh - the performance targets measured in one sitting and judged.
#
#   tests/bench/sitting.sh             HUBD: the hubd to measure
#                                      HUB_BENCH: hub-bench (default: beside
#                                      this script in the build tree, as meson
#                                      passes it)
#                                      REPS: repetitions (default 3)
#
# A machine's speed drifts, here by a third within an hour, so a figure is
# compared only with anchors measured beside it: each repetition runs
# hub-bench's throughput and latency phases, then the anchors they are
# judged against (anchors.sh nats hub: NATS JetStream and hub_sketch, and
# the CPU hub_sketch spends per event), one after the other. Then
# catch-up, memory and scaling, judged against fixed targets, run with
# --runs REPS. verdict.py prints the table of targets
# (medians, the anchors beside them, met or missed by how much) and one
# line of JSON. Without the anchors (anchors.sh skips) the figures are
# printed and the ratio targets say "not measured".
#
# Exit: 0 when every figure was measured and judged (met or not; without
# any anchors, every figure but the ratios), 1 when one is missing or a run
# failed, 77 (skipped) without python3.
set -u

here=$(cd "$(dirname "$0")" && pwd)
reps=${REPS:-3}
bench=${HUB_BENCH:-}
case $reps in
[1-9]) ;;
*)
    echo "sitting.sh: REPS must be 1 to 9, not \"$reps\"" >&2
    exit 2
    ;;
esac
if [ -z "$bench" ] || [ ! -x "$bench" ]; then
    echo "sitting.sh: set HUB_BENCH to the hub-bench program (meson test --suite bench does)" >&2
    exit 2
fi
if ! command -v python3 >/dev/null; then
    echo "skip: python3 is not installed (apt-get install python3)"
    exit 77
fi

out=$(mktemp -d "${TMPDIR:-/tmp}/hub-sitting-XXXXXX") || exit 1
echo "# sitting: $reps rep(s), $(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg); files in $out"
rc=0
for rep in $(seq 1 "$reps"); do
    echo "## rep $rep: hub-bench throughput, latency ($(date +%T))"
    "$bench" --only throughput,latency | tee "$out/hub-$rep.json"
    [ "${PIPESTATUS[0]}" -eq 0 ] || rc=1
    echo "## rep $rep: anchors nats hub ($(date +%T))"
    ANCHORS_WORK=$out/anchors-$rep REPS=1 "$here/anchors.sh" nats hub
    arc=$?
    [ $arc -ne 0 ] && [ $arc -ne 77 ] && rc=1
done
echo "## hub-bench catch-up, memory, scaling, $reps run(s) ($(date +%T))"
"$bench" --only catchup,memory,scaling --runs "$reps" | tee "$out/rest.json"
[ "${PIPESTATUS[0]}" -eq 0 ] || rc=1
echo "## verdict ($(date +%T))"
python3 "$here/verdict.py" "$out" || rc=1
exit $rc
