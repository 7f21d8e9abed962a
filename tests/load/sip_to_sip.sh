#!/usr/bin/env bash
# Load run of the SIP-only B2BUA path: a SIPp UAC calls through tandem (release build, event log ON) to a SIPp
# UAS; each call is INVITE/100/180/200/ACK, a hold, BYE/200 on both legs. Prints SIPp's counters, the setup
# latency (UAC: INVITE sent -> 200 received) percentiles, tandem's CPU time, and replays tandem's log.
#   tests/load/sip_to_sip.sh [CALLS] [RATE_PER_S] [HOLD_MS]
# Pinning: TANDEM_CPU (default 0) for tandem, SIPP_CPU (default 1) for both SIPp processes; set either to ""
# to leave a process unpinned. EVENT_LOG_BATCH sets [event_log] batch_size (default 256); LOAD_TMPDIR puts the
# run's directory (event log included) elsewhere than $TMPDIR. Build first: cargo build --release --bins.
set -euo pipefail
calls="${1:-10000}"
rate="${2:-1000}"
hold="${3:-0}"
tandem_cpu="${TANDEM_CPU-0}"
sipp_cpu="${SIPP_CPU-1}"
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
work="$(mktemp -d ${LOAD_TMPDIR:+-p "$LOAD_TMPDIR"})"
trap 'kill "${tandem_pid:-}" "${uas_pid:-}" 2>/dev/null || true; wait 2>/dev/null || true' EXIT
pin() { if [[ -n "$1" ]]; then echo "taskset -c $1"; fi; }
free_port() { python3 -c 'import socket;s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
sip=$(free_port); uas=$(free_port); uac=$(free_port); sctp=$(free_port)

cat >"$work/tandem.toml" <<TOML
[sip]
listen = "127.0.0.1:$sip"
[event_log]
path = "$work/events.sqlite"
batch_size = ${EVENT_LOG_BATCH:-256}
[dialplan]
path = "$work/b2bua.rhai"
watch = false
[[trunk]]
name = "pstn"
transport = "udp"
remote = "127.0.0.1:$sctp"
TOML
cat >"$work/b2bua.rhai" <<RHAI
fn route(view) { #{ action: "sip", uri: "sip:" + view.called + "@127.0.0.1:$uas" } }
RHAI

cd "$work"
$(pin "$sipp_cpu") sipp -sf "$repo/tests/sipp/${UAS_SCENARIO:-uas_basic.xml}" -i 127.0.0.1 -p "$uas" -mp "$(free_port)" \
    -m "$calls" -buff_size 4194304 -nostdin -timeout 600s -trace_err >uas.out 2>&1 &
uas_pid=$!
RUST_LOG=warn $(pin "$tandem_cpu") "$repo/target/release/tandem" run --config "$work/tandem.toml" --seed 1 \
    2>"$work/tandem.log" &
tandem_pid=$!
sleep 1.5
start=$(date +%s.%N)
set +e
$(pin "$sipp_cpu") sipp -sf "$repo/tests/sipp/${UAC_SCENARIO:-uac_basic.xml}" -s 4930123456 -i 127.0.0.1 -p "$uac" -mp "$(free_port)" \
    -m "$calls" -buff_size 4194304 -r "$rate" -l 100000 -d "$hold" -nostdin -timeout 600s -timeout_error \
    -trace_stat -stf stats.csv -trace_rtt -rtt_freq 1 -trace_err "127.0.0.1:$sip" >sipp.out 2>&1
status=$?
set -e
end=$(date +%s.%N)
cpu=$(awk '{print ($14 + $15) / 100}' "/proc/$tandem_pid/stat")
rss=$(awk '/^VmRSS|^VmHWM/ {printf "%s %d MB  ", $1, $2 / 1024}' "/proc/$tandem_pid/status")
kill -TERM "$tandem_pid"; wait "$tandem_pid" || true
echo "sipp exit status: $status; wall time: $(python3 -c "print(round($end - $start, 1))") s for $calls calls at $rate/s, hold ${hold} ms"
echo "tandem CPU time (user+system): ${cpu} s; memory at the end: ${rss}"
rtt=$(ls ./*_rtt.csv 2>/dev/null | head -n 1 || true)
python3 "$repo/tests/load/sipp_report.py" stats.csv "$rtt"
"$repo/target/release/tandem" replay "$work/events.sqlite" | tail -n 1
echo "logs in $work"
