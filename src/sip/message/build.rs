//! Building SIP messages from caller-supplied parts (RFC 3261 §8.1.1, §8.2.6, §21): the request
//! builder, responses that copy the request's Via/From/To/Call-ID/CSeq, default reason phrases, and
//! the 400 salvaged from the raw lines of a request the parser refused. Parsing and typed reads live
//! in the parent module.

use super::{lossy, typed_ok, Method, Request, Response};
use sipx::headers::{self as h};
use sipx::HeaderName;
use sipx_sip as sipx;

/// Error while building a message from caller-supplied parts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    /// A URI did not parse.
    #[error("invalid URI {uri:?}: {reason}")]
    Uri {
        /// The URI.
        uri: String,
        /// Why.
        reason: String,
    },
    /// A header could not be added.
    #[error("invalid header {name:?}: {reason}")]
    Header {
        /// The header name.
        name: String,
        /// Why.
        reason: String,
    },
    /// The status code is outside 100..=699.
    #[error("status code {0} out of range")]
    Status(u16),
}

fn header_name(name: &str) -> HeaderName {
    HeaderName::parse(&name.as_bytes().to_vec().into())
}

fn header(name: &str, value: &str) -> Result<sipx::Header, BuildError> {
    sipx::Header::build(header_name(name), value.to_string()).map_err(|e| BuildError::Header {
        name: name.to_string(),
        reason: e.to_string(),
    })
}

/// Builds a request header by header; Content-Length is always computed from the body.
#[derive(Debug)]
pub struct RequestBuilder {
    inner: sipx::Request,
}

impl RequestBuilder {
    /// Start a request for `method` to `uri`.
    pub fn new(method: &Method, uri: &str) -> Result<Self, BuildError> {
        let parsed =
            sipx::Uri::parse(uri.as_bytes().to_vec().into()).map_err(|e| BuildError::Uri {
                uri: uri.to_string(),
                reason: e.to_string(),
            })?;
        Ok(Self {
            inner: sipx::Request::new(method.to_sipx(), parsed),
        })
    }

    /// Append a header.
    pub fn header(mut self, name: &str, value: &str) -> Result<Self, BuildError> {
        if header_name(name) == HeaderName::ContentLength {
            return Ok(self);
        }
        self.inner.headers.push(header(name, value)?);
        Ok(self)
    }

    /// Set the body (with its Content-Type) and finish; `None` gives `Content-Length: 0`.
    pub fn finish(mut self, body: Option<(&str, &[u8])>) -> Result<Request, BuildError> {
        let bytes = match body {
            Some((content_type, bytes)) => {
                self.inner
                    .headers
                    .push(header("Content-Type", content_type)?);
                bytes.to_vec()
            }
            None => Vec::new(),
        };
        self.inner
            .headers
            .push(header("Content-Length", &bytes.len().to_string())?);
        self.inner.set_body(bytes.into());
        Ok(Request { inner: self.inner })
    }
}

/// Build a response to `request` (RFC 3261 §8.2.6): Via, From, Call-ID, CSeq copied; To copied
/// with `to_tag` added when it has none; `extra` headers appended; Content-Length computed.
pub fn build_response(
    request: &Request,
    status: u16,
    reason: &str,
    to_tag: Option<&str>,
    extra: &[(String, String)],
    body: Option<(&str, &[u8])>,
) -> Result<Response, BuildError> {
    let code = sipx::StatusCode::new(status).ok_or(BuildError::Status(status))?;
    let mut inner = sipx::Response::new(code, reason.to_string());
    check_reason(reason)?;
    let headers = &request.inner.headers;
    for name in [HeaderName::Via, HeaderName::From] {
        for hd in headers.get_all(&name) {
            inner.headers.push(hd.clone());
        }
    }
    if let Some(to) = headers.get(&HeaderName::To) {
        let value = lossy(&to.value());
        // An unparseable To is echoed verbatim rather than risk building an invalid one.
        let needs_tag = typed_ok::<h::To>(headers).is_some_and(|t| t.tag().is_none());
        match to_tag {
            // A value the builder refuses (RFC 4475 §3.1.1.2 puts NUL in a display name) is
            // echoed verbatim, without our tag.
            Some(tag) if needs_tag => match header("To", &format!("{value};tag={tag}")) {
                Ok(with_tag) => inner.headers.push(with_tag),
                Err(_) => inner.headers.push(to.clone()),
            },
            _ => inner.headers.push(to.clone()),
        }
    }
    for name in [HeaderName::CallId, HeaderName::CSeq] {
        if let Some(hd) = headers.get(&name) {
            inner.headers.push(hd.clone());
        }
    }
    for (name, value) in extra {
        if header_name(name) == HeaderName::ContentLength {
            continue;
        }
        inner.headers.push(header(name, value)?);
    }
    let bytes = match body {
        Some((content_type, bytes)) => {
            inner.headers.push(header("Content-Type", content_type)?);
            bytes.to_vec()
        }
        None => Vec::new(),
    };
    inner
        .headers
        .push(header("Content-Length", &bytes.len().to_string())?);
    inner.set_body(bytes.into());
    Ok(Response { inner })
}

fn check_reason(reason: &str) -> Result<(), BuildError> {
    if reason.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
        return Err(BuildError::Header {
            name: "reason-phrase".into(),
            reason: "contains CR, LF or NUL".into(),
        });
    }
    Ok(())
}

/// Default reason phrase for a status code (RFC 3261 §21).
pub fn default_reason(status: u16) -> &'static str {
    match status {
        100 => "Trying",
        180 => "Ringing",
        181 => "Call Is Being Forwarded",
        182 => "Queued",
        183 => "Session Progress",
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        408 => "Request Timeout",
        415 => "Unsupported Media Type",
        420 => "Bad Extension",
        422 => "Session Interval Too Small",
        480 => "Temporarily Unavailable",
        481 => "Call/Transaction Does Not Exist",
        483 => "Too Many Hops",
        486 => "Busy Here",
        487 => "Request Terminated",
        488 => "Not Acceptable Here",
        500 => "Server Internal Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        505 => "Version Not Supported",
        603 => "Decline",
        s if s < 200 => "Session Progress",
        s if s < 300 => "OK",
        s if s < 400 => "Redirection",
        s if s < 500 => "Client Error",
        s if s < 600 => "Server Error",
        _ => "Global Failure",
    }
}

/// A 400 built from the raw lines of a request the parser refused, when Via and CSeq can still be
/// found (From, To and Call-ID are copied when present) (RFC 3261 §8.2: answer if routable).
/// Returns the response bytes and the raw top Via value (for choosing where to send it).
pub fn salvage_bad_request(data: &[u8], reason: &str) -> Option<(Vec<u8>, String)> {
    let text = std::str::from_utf8(data).ok()?;
    let head = text.split("\r\n\r\n").next()?;
    let mut lines = head.split("\r\n");
    let start = lines.next()?;
    if start.starts_with("SIP/") || start.split(' ').count() < 3 {
        return None;
    }
    if start.split(' ').next()? == "ACK" {
        return None;
    }
    let mut copied: Vec<(&'static str, String)> = Vec::new();
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        if name.starts_with([' ', '\t']) {
            continue;
        }
        let canonical = match name.trim().to_ascii_lowercase().as_str() {
            "via" | "v" => "Via",
            "from" | "f" => "From",
            "to" | "t" => "To",
            "call-id" | "i" => "Call-ID",
            "cseq" => "CSeq",
            _ => continue,
        };
        let value = value.trim();
        if value.is_empty() || value.bytes().any(|b| b.is_ascii_control() && b != b'\t') {
            return None;
        }
        copied.push((canonical, value.to_string()));
    }
    // Via routes the response and CSeq names the transaction; a request missing From, To or Call-ID
    // still deserves its 400 (RFC 4475 §3.3.1), which then copies only what is there.
    for required in ["Via", "CSeq"] {
        if !copied.iter().any(|(n, _)| *n == required) {
            return None;
        }
    }
    let top_via = copied
        .iter()
        .find(|(n, _)| *n == "Via")
        .map(|(_, v)| v.clone())?;
    let phrase: String = reason
        .chars()
        .filter(|c| !c.is_control())
        .take(100)
        .collect();
    let mut out = format!("SIP/2.0 400 Bad Request ({phrase})\r\n");
    for (name, value) in copied {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str("Content-Length: 0\r\n\r\n");
    Some((out.into_bytes(), top_via))
}
