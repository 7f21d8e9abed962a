#!/usr/bin/env bash
# Load run: SIPp places calls through tandem (release build, event log on) to ss7sim over userspace SCTP on
# loopback; prints SIPp's outcome and response times, and replays tandem's log.
#   tests/load/sip_to_isup.sh [CALLS] [RATE_PER_S] [HOLD_MS]
set -euo pipefail
calls="${1:-2000}"
rate="${2:-100}"
hold="${3:-1000}"
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
work="$(mktemp -d)"
trap 'kill "${tandem_pid:-}" "${sim_pid:-}" 2>/dev/null || true; wait 2>/dev/null || true' EXIT

cd "$repo"
cargo build --release --workspace --quiet
cat >"$work/tandem.toml" <<TOML
[sip]
listen = "127.0.0.1:25160"
[event_log]
path = "$work/events.sqlite"
[[trunk]]
name = "pstn"
transport = "udp"
remote = "127.0.0.1:29160"
udp_local_port = 9960
udp_remote_port = 9961
cic_first = 1
cic_last = 4000
TOML
target/release/ss7sim serve --listen 127.0.0.1:29160 --transport udp --udp-port 9961 --udp-remote-port 9960 \
    --cic-first 1 --cic-last 4000 --scenario tests/load/fast_answer.toml 2>"$work/ss7sim.log" &
sim_pid=$!
sleep 0.3
RUST_LOG=warn target/release/tandem run --config "$work/tandem.toml" --seed 1 2>"$work/tandem.log" &
tandem_pid=$!
sleep 1.5
cd "$work"
start=$(date +%s.%N)
set +e
sipp -sf "$repo/tests/sipp/uac_basic.xml" -s 4930123456 -i 127.0.0.1 -p 25161 -mp 26160 \
    -m "$calls" -r "$rate" -l 100000 -d "$hold" -nostdin -timeout 600s -timeout_error \
    -trace_stat -stf stats.csv -trace_rtt -rtt_freq 1 127.0.0.1:25160 >sipp.out 2>&1
status=$?
set -e
end=$(date +%s.%N)
kill -TERM "$tandem_pid"; wait "$tandem_pid" || true
echo "sipp exit status: $status; wall time: $(python3 -c "print(round($end - $start, 1))") s for $calls calls at $rate/s, hold ${hold} ms"
rtt=$(ls ./*_rtt.csv 2>/dev/null | head -n 1 || true)
python3 "$repo/tests/load/sipp_report.py" stats.csv "$rtt"
"$repo/target/release/tandem" replay "$work/events.sqlite"
