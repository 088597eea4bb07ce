#!/usr/bin/env python3
"""verdict.py - the performance targets of one sitting (sitting.sh), judged.

    verdict.py DIR

DIR holds what sitting.sh gathered:
  hub-N.json         hub-bench's last line (throughput, latency) of rep N
  anchors-N/         the anchors' scratch directory of rep N (results/*/raw.txt;
                     results/cpu/raw.txt: hub_sketch's CPU per event)
  rest.json          hub-bench's last line for catch-up, memory and scaling

Prints the table of targets: Switchboard's median (min-max) over the reps,
the anchors' medians from the same reps, the target and whether it is met
(or by how much it is missed), then one line of JSON with the same. Exits 0
when it could judge every figure (met or not), or every one but those that
need anchors when no anchors ran at all; 1 when figures are missing.
"""
import glob
import json
import os
import statistics
import sys

FLAT_RATIO = 1.10  # "flat": 10x the backlog raises the peak RSS by at most this


def load_json_line(path):
    try:
        with open(path) as f:
            lines = [ln for ln in f if ln.startswith("{")]
        return json.loads(lines[-1]) if lines else None
    except (OSError, ValueError):
        return None


def anchor_results(path):
    """RESULT lines of one raw.txt as (context, name, {key: value})."""
    out = []
    ctx = ""
    with open(path) as f:
        for line in f:
            parts = line.split()
            if not parts:
                continue
            if parts[0] == "CONTEXT" and len(parts) > 1:
                k, _, v = parts[1].partition("=")
                ctx = "" if k == "section" else v
            elif parts[0] == "RESULT" and len(parts) > 1:
                kv = {}
                for p in parts[2:]:
                    k, _, v = p.partition("=")
                    try:
                        kv[k] = float(v)
                    except ValueError:
                        pass
                out.append((ctx, parts[1], kv))
    return out


def pick(results, ctx, name, key):
    for c, n, kv in results:
        if c == ctx and n == name and key in kv:
            return kv[key]
    return None


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def span(values):
    values = [v for v in values if v is not None]
    return (min(values), max(values)) if values else (None, None)


def ratio(values, anchor):
    """ " (N x)": Switchboard's median against the anchor's, when both are there."""
    m = med(values)
    return f" ({m / anchor:.2f} x)" if m is not None and anchor else ""


def fmt(v, unit=""):
    if v is None:
        return "-"
    if unit == "ms":
        return f"{v:.2f} ms"
    if unit == "MiB":
        return f"{v:.1f} MiB"
    if unit == "x":
        return f"{v:.2f}"
    if unit == "us":
        return f"{v:.1f} us"
    return f"{v:,.0f}"


def main(d):
    reps = sorted(glob.glob(os.path.join(d, "hub-*.json")))
    hub = [load_json_line(p) for p in reps]
    hub = [h for h in hub if h and h.get("figures")]
    anchors = []  # per rep: the RESULT lines of all its raw.txt files
    for rep_dir in sorted(glob.glob(os.path.join(d, "anchors-*"))):
        raws = sorted(glob.glob(os.path.join(rep_dir, "results", "*", "raw.txt")))
        if raws:
            anchors.append([r for raw in raws for r in anchor_results(raw)])
    rest = load_json_line(os.path.join(d, "rest.json")) or {}

    def hub_fig(phase, metric):
        return [h["figures"].get(phase, {}).get(metric) for h in hub]

    def anchor_fig(ctx, name, key, scale=1.0):
        vals = [pick(a, ctx, name, key) for a in anchors]
        return [v * scale if v is not None else None for v in vals]

    def rest_fig(phase, metric):
        """([median], (min, max) or None): with --runs N, hub-bench gives each figure's span in "spans"."""
        v = rest.get("figures", {}).get(phase, {}).get(metric)
        sp = rest.get("spans", {}).get(phase, {}).get(metric)
        return [v], (tuple(sp) if isinstance(sp, list) and len(sp) == 2 else None)

    rows = []  # (figure, values, unit, anchor text, target text, met, missed_by, (min, max) or None)

    def judge(figure, values, unit, anchor_text, target_text, bound, higher_better=True, spread=None):
        m = med(values)
        if m is None or bound is None:
            rows.append((figure, values, unit, anchor_text, target_text, None, None, spread))
            return
        met = m >= bound if higher_better else m <= bound
        by = None if met else (bound / m if higher_better else m / bound)
        rows.append((figure, values, unit, anchor_text, target_text, met, by, spread))

    # throughput
    ev = hub_fig("throughput", "events/s")
    sketch = med(anchor_fig("tput-tcp-FULL", "hub_pub_ack", "rate"))
    bound = max(100000.0, 0.8 * sketch) if sketch else None
    judge("events/s acked after commit, 4 departments", ev, "", f"hub_sketch {fmt(sketch)}{ratio(ev, sketch)}",
          ">= 100,000 and >= 0.8 x hub_sketch", bound)
    dl = hub_fig("throughput", "deliveries/s")
    js = med(anchor_fig("", "nats_consume", "total_rate"))
    judge("acknowledged deliveries/s", dl, "", f"JetStream 4 consumers {fmt(js)}{ratio(dl, js)}", ">= 2 x JetStream",
          2 * js if js else None)

    # latency (pub->sub at 5,000/s)
    js_lat = [med(anchor_fig("lat-default-flusher", "nats_lat_pub_to_recv", k, 1e-3))
              for k in ("p50_us", "p99_us", "p999_us")]
    sk_lat = [med(anchor_fig("lat5000-tcp-FULL", "hub_lat_pub_to_sub", k, 1e-3))
              for k in ("p50_us", "p99_us", "p999_us")]
    rows.append(("pub->sub p50 at 5,000/s", hub_fig("latency", "pub->sub_p50_ms"), "ms",
                 f"JetStream {fmt(js_lat[0], 'ms')}, hub_sketch {fmt(sk_lat[0], 'ms')}", "", None, None, None))
    judge("pub->sub p99 at 5,000/s", hub_fig("latency", "pub->sub_p99_ms"), "ms",
          f"JetStream {fmt(js_lat[1], 'ms')}, hub_sketch {fmt(sk_lat[1], 'ms')}", "<= 2 ms", 2.0, False)
    judge("pub->sub p99.9 at 5,000/s", hub_fig("latency", "pub->sub_p99.9_ms"), "ms",
          f"JetStream {fmt(js_lat[2], 'ms')}, hub_sketch {fmt(sk_lat[2], 'ms')}", "<= 5 ms", 5.0, False)

    # CPU per event in all processes, and of it in the kernel: beside
    # hub_sketch's, the reason events/s part (no target)
    def summed(a, b):
        return [x + y if x is not None and y is not None else None
                for x, y in zip(hub_fig("throughput", a), hub_fig("throughput", b))]

    sk_cpu = med(anchor_fig("cpu-tput-tcp-FULL", "hub_sketch_cpu", "us_per_event"))
    sk_kernel = med(anchor_fig("cpu-tput-tcp-FULL", "hub_sketch_cpu", "kernel_us_per_event"))
    rows.append(("CPU per event, hubd and its clients", summed("hubd_us/event", "clients_us/event"), "us",
                 f"hub_sketch {fmt(sk_cpu, 'us')}", "", None, None, None))
    rows.append(("of it in the kernel", summed("hubd_kernel_us/event", "clients_kernel_us/event"), "us",
                 f"hub_sketch {fmt(sk_kernel, 'us')}", "", None, None, None))

    # catch-up and memory (hub-bench --runs N: medians already)
    values, spread = rest_fig("catchup", "notifications/s")
    judge("catch-up from disk, notifications/s", values, "", "", ">= 300,000", 300000.0, spread=spread)
    values, spread = rest_fig("memory", "hwm_backlog_1000000_MiB")
    judge("peak RSS, 1M backlog", values, "MiB", "", "<= 64 MiB", 64.0, False, spread)
    values, spread = rest_fig("memory", "hwm_growth_ratio")
    judge("peak RSS growth, 100k -> 1M backlog", values, "x", "", f"<= {FLAT_RATIO} (flat)", FLAT_RATIO, False,
          spread)

    print(f"# sitting: {len(hub)} rep(s) of hub-bench throughput+latency, {len(anchors)} of the anchors")
    print("| figure | Switchboard, median (min-max) | anchor, same sitting | target | verdict |")
    print("|---|---|---|---|---|")
    out = []
    complete = True
    for figure, values, unit, anchor_text, target_text, met, by, spread in rows:
        lo, hi = spread if spread else span(values)
        m = med(values)
        ranged = (len(values) > 1 or spread) and lo is not None and hi is not None
        shown = fmt(m, unit) + (f" ({fmt(lo, unit)} - {fmt(hi, unit)})" if ranged else "")
        if target_text and met is None:
            verdict = "not measured"
            # a missing figure of Switchboard's, or of anchors that ran, is a failure;
            # anchors that are not on this machine at all are not
            if m is None or anchors:
                complete = False
        elif not target_text:
            verdict = ""
        elif met:
            verdict = "met"
        else:
            verdict = f"missed ({by:.2f}x)"
        print(f"| {figure} | {shown} | {anchor_text} | {target_text} | {verdict} |")
        out.append({"figure": figure, "median": m, "min": lo, "max": hi, "anchor": anchor_text,
                    "target": target_text, "met": met, "missed_by": by})
    print(json.dumps({"sitting": out, "reps": len(hub), "anchor_reps": len(anchors)}))
    return 0 if complete else 1


if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        sys.exit(0 if len(sys.argv) == 2 else 2)
    sys.exit(main(sys.argv[1]))
