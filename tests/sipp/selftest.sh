#!/usr/bin/env bash
# selftest.sh - check the SIPp scenarios of tests/sipp/ against SIPp itself.
#
# Each check runs a server-side SIPp (UAS) and a client-side SIPp (UAC) on
# 127.0.0.1 with spare ports and compares their exit codes with what the
# scenarios must do: the scenarios must pass against a correct peer AND fail
# against broken peers (tests/sipp/selftest/peer_*.xml), otherwise they could
# not catch a broken gateway.
#
#   tests/sipp/selftest.sh          all checks; prints "N passed, N failed"
#   SIPP_SELFTEST_KEEP=1 ...        keep the work directory (SIPp logs)
# Exit status: 0 if every check passed, 1 otherwise, 2 if sipp is missing.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
peers="$here/selftest"
sipp_bin="${SIPP:-sipp}"

if ! command -v "$sipp_bin" >/dev/null 2>&1; then
    echo "selftest: sipp not found (apt-get install sip-tester)" >&2
    exit 2
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/sipp-selftest.XXXXXX")"
uas_pid=""
cleanup() {
    if [[ -n "$uas_pid" ]]; then
        kill "$uas_pid" 2>/dev/null || true
    fi
    if [[ "${SIPP_SELFTEST_KEEP:-0}" == 1 ]]; then
        echo "selftest: logs kept in $work"
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT

passed=0
failed=0

# A base port with room for 40 ports per check; ports already bound are skipped.
next_port=$((20000 + (RANDOM % 400) * 100))
udp_port_busy() {
    command -v ss >/dev/null 2>&1 && ss -Hlun "sport = :$1" 2>/dev/null | grep -q .
}
take_port() {
    while udp_port_busy "$next_port" || udp_port_busy "$((next_port + 2))"; do
        next_port=$((next_port + 4))
    done
    port=$next_port
    next_port=$((next_port + 4))
}

# verdict WANT RC: does exit code RC satisfy WANT (ok | fail | any)?
verdict() {
    case "$1" in
        ok) [[ "$2" == 0 ]] ;;
        fail) [[ "$2" != 0 ]] ;;
        any) true ;;
    esac
}

# check NAME WANT_UAS WANT_UAC UAS_XML UAC_XML TIMEOUT [REASON]
# Extra arguments come from the arrays UAS_ARGS and UAC_ARGS. Both sides must
# have received SIP messages (so a peer that failed to load cannot make a
# negative check pass), and a side that must fail must have logged REASON (an
# extended regexp) in its -trace_err log.
check() {
    local name="$1" want_uas="$2" want_uac="$3" uas_xml="$4" uac_xml="$5" timeout="$6"
    local reason="${7:-}"
    local dir="$work/$name" uas_port uac_port uas_mp uac_mp uas_rc uac_rc why="" side
    mkdir -p "$dir"
    take_port
    uas_port=$port
    take_port
    uas_mp=$port
    take_port
    uac_port=$port
    take_port
    uac_mp=$port

    (cd "$dir" && exec "$sipp_bin" -sf "$uas_xml" -i 127.0.0.1 -p "$uas_port" -mp "$uas_mp" \
        -nostdin -timeout "$timeout" -timeout_error -trace_err -trace_msg \
        "${UAS_ARGS[@]}" >uas.out 2>&1) &
    uas_pid=$!
    sleep 0.3

    uac_rc=0
    (cd "$dir" && exec "$sipp_bin" "127.0.0.1:$uas_port" -sf "$uac_xml" -i 127.0.0.1 -p "$uac_port" \
        -mp "$uac_mp" -nostdin -timeout "$timeout" -timeout_error -trace_err -trace_msg \
        "${UAC_ARGS[@]}" >uac.out 2>&1) || uac_rc=$?

    # When the UAS's verdict does not matter it may wait for a call that the
    # failed UAC never finishes: stop it rather than wait for its timeout.
    if [[ "$want_uas" == any ]]; then
        sleep 0.5
        kill "$uas_pid" 2>/dev/null || true
    fi
    uas_rc=0
    wait "$uas_pid" || uas_rc=$?
    uas_pid=""

    if ! verdict "$want_uas" "$uas_rc" || ! verdict "$want_uac" "$uac_rc"; then
        why="unexpected exit code"
    fi
    for side in "$uas_xml" "$uac_xml"; do
        side="$(basename "$side" .xml)"
        if ! grep -q "message received" "$dir/${side}"_*_messages.log 2>/dev/null; then
            why="${why:+$why; }$side received no SIP message"
        fi
    done
    if [[ -n "$reason" ]]; then
        side="$uac_xml"
        [[ "$want_uas" == fail ]] && side="$uas_xml"
        side="$(basename "$side" .xml)"
        # Error entries quote whole messages over many lines: match them flat.
        if ! cat "$dir/${side}"_*_errors.log 2>/dev/null | tr '\r\n' '  ' | grep -q -E -- "$reason"; then
            why="${why:+$why; }$side did not fail with /$reason/"
        fi
    fi

    if [[ -z "$why" ]]; then
        passed=$((passed + 1))
        printf 'ok   %-34s uas=%-3s (want %-4s) uac=%-3s (want %s)\n' \
            "$name" "$uas_rc" "$want_uas" "$uac_rc" "$want_uac"
    else
        failed=$((failed + 1))
        printf 'FAIL %-34s uas=%-3s (want %-4s) uac=%-3s (want %s): %s\n' \
            "$name" "$uas_rc" "$want_uas" "$uac_rc" "$want_uac" "$why"
        for f in "$dir"/*errors.log; do
            [[ -f "$f" ]] && sed 's/^/    | /' "$f" | tail -n 15
        done
        grep -h -E 'Successful call|Failed call' "$dir"/uas.out "$dir"/uac.out 2>/dev/null |
            sed 's/^/    | /' | tail -n 4
        SIPP_SELFTEST_KEEP=1
    fi
}

calls=(-m 5 -r 5)

# The rejecting peer, one file per status code (SIPp reads the code at load).
for code in 404 486; do
    sed "s/@CODE@/$code/g" "$peers/peer_uas_reject.xml.in" >"$work/peer_uas_reject_$code.xml"
done

echo "== correct peers: the scenarios must pass (5 calls each)"
UAS_ARGS=("${calls[@]}")
UAC_ARGS=("${calls[@]}" -s 5551234 -d 500)
check basic ok ok "$here/uas_basic.xml" "$here/uac_basic.xml" 20s
check basic_record_route ok ok "$peers/peer_uas_rr.xml" "$here/uac_basic.xml" 20s

UAS_ARGS=("${calls[@]}" -d 500)
UAC_ARGS=("${calls[@]}" -s 5551234)
check remote_release ok ok "$here/uas_release.xml" "$here/uac_remote_release.xml" 20s
check uas_release_routing ok ok "$here/uas_release.xml" "$peers/peer_uac_check_bye.xml" 20s

UAS_ARGS=("${calls[@]}")
UAC_ARGS=("${calls[@]}" -s 5551234)
check cancel_200_first ok ok "$peers/peer_uas_cancel_200_first.xml" "$here/uac_cancel.xml" 20s
check cancel_487_first ok ok "$peers/peer_uas_cancel_487_first.xml" "$here/uac_cancel.xml" 20s

UAS_ARGS=("${calls[@]}")
for code in 486 404; do
    check "reject_$code" ok ok "$work/peer_uas_reject_$code.xml" "$here/uac_reject_$code.xml" 20s
done

echo "== broken peers: the scenario under test must fail"
UAS_ARGS=(-m 1)
UAC_ARGS=(-m 1 -s 5551234 -d 200)
unexpected="Aborting call on unexpected message"
check basic_vs_486 any fail "$work/peer_uas_reject_486.xml" "$here/uac_basic.xml" 8s "$unexpected"
check reject_404_vs_486 any fail "$work/peer_uas_reject_486.xml" "$here/uac_reject_404.xml" 8s "$unexpected"
check basic_vs_183_no_180 any fail "$peers/peer_uas_183_only.xml" "$here/uac_basic.xml" 8s "$unexpected"
check basic_vs_200_without_sdp any fail "$peers/peer_uas_no_sdp.xml" "$here/uac_basic.xml" 8s \
    "Failed regexp match.*m=audio"
check basic_vs_wrong_bye_answer any fail "$peers/peer_uas_wrong_bye_answer.xml" "$here/uac_basic.xml" 8s \
    "Failed regexp match.*INVITE', with regexp 'BYE'"
check cancel_vs_peer_without_487 any fail "$here/uas_basic.xml" "$here/uac_cancel.xml" 5s "timed out"
check remote_release_vs_no_bye any fail "$here/uas_basic.xml" "$here/uac_remote_release.xml" 5s "timed out"
UAC_ARGS=(-m 1 -s 5551234)
check uas_basic_vs_invite_without_sdp fail any "$here/uas_basic.xml" "$peers/peer_uac_no_sdp.xml" 5s \
    "Failed regexp match.*m=audio"

echo "== mutated scenarios: the peers' checks must catch a broken scenario"
# mutate NAME SOURCE SED_SCRIPT: write $work/NAME.xml, a broken copy of SOURCE.
mutate() {
    sed -e "$3" "$2" >"$work/$1.xml"
    if cmp -s "$2" "$work/$1.xml"; then
        echo "selftest: mutation $1 changed nothing in $2" >&2
        exit 1
    fi
}
mutate mut_reject_ack_branch "$here/uac_reject_486.xml" 's/branch=\[branch-5\]/branch=[branch-4]/'
mutate mut_cancel_branch "$here/uac_cancel.xml" 's/branch=\[branch-3\]/branch=[branch]/'
mutate mut_cancel_ack_branch "$here/uac_cancel.xml" 's/branch=\[branch-7\]/branch=[branch]/'
mutate mut_basic_no_routes "$here/uac_basic.xml" '/^ *\[routes\]$/d'
mutate mut_basic_to_remote_ip "$here/uac_basic.xml" 's/^\( *[A-Z]*\) \[next_url\] SIP/\1 sip:[service]@[remote_ip]:[remote_port] SIP/'
# shellcheck disable=SC2016 # the $ are SIPp's variable syntax, not the shell's
mutate mut_release_from_to "$here/uas_release.xml" 's/\[\$local_party\]/[$LOCAL]/; s/\[\$remote_party\]/[$local_party]/; s/\[\$LOCAL\]/[$remote_party]/'
mutate mut_release_to_remote_ip "$here/uas_release.xml" 's/BYE \[next_url\] SIP/BYE sip:[remote_ip]:[remote_port] SIP/'
UAS_ARGS=(-m 1)
UAC_ARGS=(-m 1 -s 5551234)
failed_check="receive timeout on message peer"
check mut_reject_ack_branch fail any "$work/peer_uas_reject_486.xml" "$work/mut_reject_ack_branch.xml" 5s \
    "$failed_check"
check mut_cancel_branch fail any "$peers/peer_uas_cancel_200_first.xml" "$work/mut_cancel_branch.xml" 5s \
    "$failed_check"
check mut_cancel_ack_branch fail any "$peers/peer_uas_cancel_200_first.xml" "$work/mut_cancel_ack_branch.xml" 5s \
    "$failed_check"
check mut_basic_no_routes fail any "$peers/peer_uas_rr.xml" "$work/mut_basic_no_routes.xml" 5s \
    "Failed regexp match: header Route: not found"
check mut_basic_to_remote_ip fail any "$peers/peer_uas_rr.xml" "$work/mut_basic_to_remote_ip.xml" 5s \
    "Failed regexp match.*callee-contact"
UAS_ARGS=(-m 1 -d 200)
check mut_release_from_to any fail "$work/mut_release_from_to.xml" "$peers/peer_uac_check_bye.xml" 5s \
    "Failed regexp match.*SIPpTag0"
check mut_release_to_remote_ip any fail "$work/mut_release_to_remote_ip.xml" "$peers/peer_uac_check_bye.xml" 5s \
    "Failed regexp match.*caller-contact"

echo "== generated files"
if "$here/gen_reject.sh" --check; then
    passed=$((passed + 1))
    echo "ok   uac_reject_*.xml match uac_reject.xml.in"
else
    failed=$((failed + 1))
    echo "FAIL uac_reject_*.xml differ from uac_reject.xml.in (run gen_reject.sh)"
fi

echo "$passed passed, $failed failed"
((failed == 0))
