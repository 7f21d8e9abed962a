//! Session timers (RFC 4028) on incoming calls: tandem is the UAS and leaves the refreshing to the caller
//! (`refresher=uac`). The interval is negotiated on the INVITE (422 with `Min-SE` when it is below our
//! minimum, §8.1), echoed in the 2xx with `Require: timer` (§9), renewed by every re-INVITE or UPDATE that
//! is answered 2xx (§10), and when no refresh arrives tandem sends BYE `min(32, interval/3)` seconds before
//! the session would expire (§10) and the leg ends with `TerminationReason::SessionExpired`, which the
//! interworking turns into a release with the SIP-timeout cause of the trunk's table.
//!
//! A caller asking `refresher=uas`, or not listing `timer` in Supported, gets no session timer on the incoming
//! leg. On the INVITEs tandem sends, the callee chooses and tandem refreshes when asked (`uac_extensions.rs`).

use super::message::Request;

/// `Session-Expires` as received: the interval in seconds and the refresher, if named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SessionExpires {
    pub(crate) interval_s: u32,
    pub(crate) refresher: Option<String>,
}

/// The request's Session-Expires (compact form `x` included), if present and well-formed.
pub(crate) fn session_expires(request: &Request) -> Option<SessionExpires> {
    parse_session_expires(&request.header("Session-Expires")?)
}

/// A Session-Expires value: `delta-seconds *(;param)`, with the `refresher` parameter lowercased.
pub(crate) fn parse_session_expires(value: &str) -> Option<SessionExpires> {
    let mut parts = value.split(';');
    let interval_s = parts.next()?.trim().parse().ok()?;
    let refresher = parts.find_map(|p| {
        let (name, value) = p.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("refresher")
            .then(|| value.trim().to_ascii_lowercase())
    });
    Some(SessionExpires {
        interval_s,
        refresher,
    })
}

/// Whether the request lists `timer` in Supported (compact `k` included).
pub(crate) fn supports_timer(request: &Request) -> bool {
    request.header_list().iter().any(|(name, value)| {
        (name.eq_ignore_ascii_case("Supported") || name.eq_ignore_ascii_case("k"))
            && value
                .split(',')
                .any(|option| option.trim().eq_ignore_ascii_case("timer"))
    })
}

/// The interval tandem runs for a request, if any: the caller supports timers, asks for one at least
/// `min_se_s` long, and refreshes itself.
pub(crate) fn negotiated(request: &Request, min_se_s: u32) -> Option<u32> {
    let se = session_expires(request)?;
    let uac_refreshes = se.refresher.as_deref().is_none_or(|r| r == "uac");
    (supports_timer(request) && uac_refreshes && se.interval_s >= min_se_s).then_some(se.interval_s)
}

/// When to send BYE if no refresh arrives (RFC 4028 §10): `min(32, interval/3)` seconds before expiry.
pub(crate) fn bye_at(now_ms: u64, interval_s: u32) -> u64 {
    let lead = (interval_s / 3).min(32);
    now_ms.saturating_add(u64::from(interval_s - lead) * 1000)
}

/// The headers of a 2xx that runs the timer (RFC 4028 §9).
pub(crate) fn response_headers(interval_s: u32) -> Vec<(String, String)> {
    vec![
        (
            "Session-Expires".to_string(),
            format!("{interval_s};refresher=uac"),
        ),
        ("Require".to_string(), "timer".to_string()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bye_goes_a_third_or_32_seconds_early() {
        assert_eq!(bye_at(0, 90), 60_000);
        assert_eq!(bye_at(1000, 1800), 1000 + 1_768_000);
        assert_eq!(bye_at(0, 3), 2_000);
    }
}
