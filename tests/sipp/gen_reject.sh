#!/usr/bin/env bash
# gen_reject.sh - (re)generate uac_reject_<CODE>.xml from uac_reject.xml.in.
# SIPp 3.6 matches one literal code per <recv response=...>, so every final
# error the tests expect gets its own scenario file.
#   gen_reject.sh            regenerate the default set (the ones committed)
#   gen_reject.sh 486 404    generate just these codes
#   gen_reject.sh --check    exit 1 if a committed file differs from the template
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# RFC 3398 / Q.1912.5 ISUP cause -> SIP status codes the gateway can produce.
default_codes=(403 404 408 410 480 484 486 488 500 501 502 503 504 603)

check=0
if [[ "${1:-}" == "--check" ]]; then
    check=1
    shift
fi
if (($# == 0)); then
    set -- "${default_codes[@]}"
fi

status=0
for code in "$@"; do
    if ! [[ "$code" =~ ^[3-6][0-9][0-9]$ ]]; then
        echo "gen_reject.sh: not a final error status code: $code" >&2
        exit 2
    fi
    out="$here/uac_reject_${code}.xml"
    text="$(sed "s/@CODE@/${code}/g" "$here/uac_reject.xml.in")"
    if ((check)); then
        if [[ ! -f "$out" ]] || [[ "$(cat "$out")" != "$text" ]]; then
            echo "gen_reject.sh: $out is missing or out of date (run gen_reject.sh)" >&2
            status=1
        fi
    else
        printf '%s\n' "$text" >"$out"
    fi
done
exit "$status"
