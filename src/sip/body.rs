//! Message bodies tandem reads: `application/sdp` (RFC 4566), `application/ISUP` (RFC 3204,
//! SIP-T/SIP-I encapsulated ISUP) and `multipart/mixed` (RFC 2046 §5.1) holding both.

/// The parts of a body that matter to interworking.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BodyParts {
    /// The SDP part, raw.
    pub sdp: Option<Vec<u8>>,
    /// The encapsulated ISUP message, raw.
    pub isup: Option<Vec<u8>>,
}

/// Whether a body of this media type (lowercased, no parameters) is one tandem reads; an
/// INVITE with another type is answered 415 (RFC 3261 §8.2.3).
pub fn understood(media_type: &str) -> bool {
    matches!(
        media_type,
        "application/sdp" | "application/isup" | "multipart/mixed"
    )
}

/// Split a body by its Content-Type (`media_type` lowercased, `params` raw).
pub fn split(media_type: &str, params: &[(String, String)], body: &[u8]) -> BodyParts {
    let mut parts = BodyParts::default();
    if body.is_empty() {
        return parts;
    }
    match media_type {
        "application/sdp" => parts.sdp = Some(body.to_vec()),
        "application/isup" => parts.isup = Some(body.to_vec()),
        "multipart/mixed" => {
            let Some(boundary) = params
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case("boundary"))
                .map(|(_, v)| v.trim_matches('"').to_string())
            else {
                return parts;
            };
            for (content_type, content) in multipart(body, &boundary) {
                let media = content_type
                    .split(';')
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .to_ascii_lowercase();
                match media.as_str() {
                    "application/sdp" if parts.sdp.is_none() => parts.sdp = Some(content),
                    "application/isup" if parts.isup.is_none() => parts.isup = Some(content),
                    _ => {}
                }
            }
        }
        _ => {}
    }
    parts
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() {
        return None;
    }
    haystack
        .get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// The (Content-Type, content) of every part of a multipart body. Parts are delimited by
/// `--boundary` lines; the CRLF before a delimiter belongs to the delimiter (RFC 2046 §5.1.1).
fn multipart(body: &[u8], boundary: &str) -> Vec<(String, Vec<u8>)> {
    let delimiter = format!("--{boundary}").into_bytes();
    let mut out = Vec::new();
    let Some(mut at) = find(body, &delimiter, 0) else {
        return out;
    };
    loop {
        let after = at + delimiter.len();
        if body.get(after..after + 2) == Some(b"--") {
            break;
        }
        let Some(head_start) = find(body, b"\r\n", after).map(|p| p + 2) else {
            break;
        };
        let next = find(body, &[b"\r\n".as_slice(), &delimiter].concat(), head_start);
        let part_end = next.unwrap_or(body.len());
        let part = body.get(head_start..part_end).unwrap_or_default();
        let (head, content) = match find(part, b"\r\n\r\n", 0) {
            Some(p) => (
                part.get(..p).unwrap_or_default(),
                part.get(p + 4..).unwrap_or_default(),
            ),
            // No part headers at all: the part starts with the blank line.
            None if part.starts_with(b"\r\n") => (&[][..], part.get(2..).unwrap_or_default()),
            None => (part, &[][..]),
        };
        let content_type = String::from_utf8_lossy(head)
            .split("\r\n")
            .find_map(|line| {
                let (name, value) = line.split_once(':')?;
                name.trim()
                    .eq_ignore_ascii_case("content-type")
                    .then(|| value.trim().to_string())
            })
            .unwrap_or_else(|| "text/plain".into());
        out.push((content_type, content.to_vec()));
        match next {
            Some(n) => at = n + 2,
            None => break,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn splits_sip_i_multipart() {
        let body = b"--unique-boundary-1\r\nContent-Type: application/sdp\r\n\r\nv=0\r\n\
--unique-boundary-1\r\nContent-Type: application/ISUP; version=itu-t92+\r\n\
Content-Disposition: signal; handling=required\r\n\r\n\x01\x00\x49\r\n--unique-boundary-1--\r\n";
        let params = vec![("boundary".to_string(), "unique-boundary-1".to_string())];
        let parts = split("multipart/mixed", &params, body);
        // The CRLF before a delimiter belongs to the delimiter.
        assert_eq!(parts.sdp.as_deref(), Some(&b"v=0"[..]));
        assert_eq!(parts.isup.as_deref(), Some(&b"\x01\x00\x49"[..]));
    }

    #[test]
    fn single_isup_body() {
        let parts = split("application/isup", &[], b"\x01\x02");
        assert_eq!(parts.isup.as_deref(), Some(&b"\x01\x02"[..]));
        assert!(parts.sdp.is_none());
    }

    proptest! {
        #[test]
        fn multipart_never_panics(data in proptest::collection::vec(any::<u8>(), 0..300), b in "[a-z-]{0,5}") {
            let params = vec![("boundary".to_string(), b)];
            let _ = split("multipart/mixed", &params, &data);
        }
    }
}
