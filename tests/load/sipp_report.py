"""Summary of a SIPp load run for the scripts in tests/load: the last row of SIPp's statistics file
(-trace_stat) and the setup latency (INVITE sent -> 200 received) from its round-trip file (-trace_rtt).

    python3 tests/load/sipp_report.py STATS_CSV [RTT_CSV]
"""
import sys


def counters(path):
    lines = [line.rstrip("\n") for line in open(path) if line.strip()]
    row = dict(zip(lines[0].split(";"), lines[-1].split(";")))
    for key in ("TotalCallCreated", "SuccessfulCall(C)", "FailedCall(C)", "CallRate(C)",
                "ResponseTimesetup(C)", "CallLength(C)"):
        print(f"{key}: {row.get(key, '?')}")


def latency(path):
    rows = [line.strip().split(";") for line in open(path) if line[:1].isdigit()]
    values = sorted(float(r[1]) for r in rows if len(r) > 1 and r[1])
    if not values:
        return
    pick = lambda q: values[min(len(values) - 1, int(q * len(values)))]
    print(f"setup latency ms (INVITE -> 200, SIPp 1 ms resolution): n={len(values)} "
          f"p50={pick(0.5):.1f} p99={pick(0.99):.1f} max={values[-1]:.1f}")
    # SIPp's CallRate(C) averages over the whole run, including the wait for failed calls to time out; this is
    # the rate while calls were being set up: answered calls / time of the last answer since the start.
    last_ms = max(float(r[0]) for r in rows if r[0])
    if last_ms > 0:
        print(f"achieved: {len(values)} answered calls in {last_ms / 1000:.1f} s = "
              f"{len(values) * 1000 / last_ms:.0f} calls/s")


counters(sys.argv[1])
if len(sys.argv) > 2 and sys.argv[2]:
    latency(sys.argv[2])
