//! Thin wrapper around the SIP message crate (RFC 3261 §7, §8, §20). This module owns the message
//! types, parsing under hardening limits, the validation findings that decide whether a request can
//! be acted on, and the typed reads of the headers tandem acts on; building requests and responses
//! lives in [`build`] (re-exported here).
//!
//! This folder and `transaction.rs` are the only places that name the external crate, so it can be
//! replaced without touching the rest of tandem. Everything handed out is plain `String`/`Vec`.
//! Unparseable requests are given a second chance by [`salvage_bad_request`], which scans the
//! raw lines for Via/From/To/Call-ID/CSeq so that a 400 can still be sent (RFC 3261 §8.2 wants
//! a response whenever one can be routed).

mod build;

pub use build::{build_response, default_reason, salvage_bad_request, BuildError, RequestBuilder};

use sipx::headers::{self as h};
use sipx::{HeaderName, Limits, Method as XMethod, TypedHeader};
use sipx_sip as sipx;

/// Request methods tandem distinguishes (RFC 3261 §7.1); everything else keeps its token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Method {
    /// INVITE
    Invite,
    /// ACK
    Ack,
    /// BYE
    Bye,
    /// CANCEL
    Cancel,
    /// OPTIONS
    Options,
    /// A method defined by RFC 3261 or an extension that tandem does not implement.
    Known(String),
    /// An unknown extension method token.
    Extension(String),
}

impl Method {
    fn from_sipx(method: &XMethod) -> Self {
        match method {
            XMethod::Invite => Method::Invite,
            XMethod::Ack => Method::Ack,
            XMethod::Bye => Method::Bye,
            XMethod::Cancel => Method::Cancel,
            XMethod::Options => Method::Options,
            XMethod::Other(raw) => Method::Extension(String::from_utf8_lossy(raw).into_owned()),
            other => Method::Known(other.to_string()),
        }
    }

    fn to_sipx(&self) -> XMethod {
        let token = match self {
            Method::Invite => "INVITE",
            Method::Ack => "ACK",
            Method::Bye => "BYE",
            Method::Cancel => "CANCEL",
            Method::Options => "OPTIONS",
            Method::Known(t) | Method::Extension(t) => t.as_str(),
        };
        XMethod::parse(&token.as_bytes().to_vec().into())
    }

    /// The method token.
    pub fn as_str(&self) -> &str {
        match self {
            Method::Invite => "INVITE",
            Method::Ack => "ACK",
            Method::Bye => "BYE",
            Method::Cancel => "CANCEL",
            Method::Options => "OPTIONS",
            Method::Known(t) | Method::Extension(t) => t,
        }
    }
}

/// A name-addr header value (From, To, Contact, Route, P-Asserted-Identity), decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameAddr {
    /// Display name without quotes, if any.
    pub display_name: Option<String>,
    /// The URI as written.
    pub uri: String,
    /// The user part of a sip:/sips: URI (percent-decoded) or the subscriber of a tel: URI.
    pub user: Option<String>,
    /// The host of a sip:/sips: URI.
    pub host: Option<String>,
    /// The port of a sip:/sips: URI.
    pub port: Option<u16>,
    /// The `tag` parameter.
    pub tag: Option<String>,
    /// Whether the URI carries the `lr` parameter (RFC 3261 §19.1.1, loose routing).
    pub loose_route: bool,
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn uri_user(uri: &sipx::Uri) -> Option<String> {
    if let Some(tel) = uri.tel_parts() {
        return Some(lossy(tel.subscriber()));
    }
    uri.decoded_user().map(|u| lossy(&u))
}

fn name_addr(address: &h::Address) -> NameAddr {
    let uri = &address.uri;
    NameAddr {
        display_name: address.display_name.as_deref().map(lossy),
        uri: lossy(&uri.to_bytes()),
        user: uri_user(uri),
        host: uri.host().map(|host| lossy(&host.to_bytes())),
        port: uri.port(),
        tag: address.tag().map(lossy),
        loose_route: uri.params().is_some_and(|p| p.contains("lr")),
    }
}

/// The decoded topmost Via (RFC 3261 §20.42).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViaInfo {
    /// Transport token (UDP, TCP, ...).
    pub transport: String,
    /// The sent-by host.
    pub host: String,
    /// The sent-by port.
    pub port: Option<u16>,
    /// The `branch` parameter.
    pub branch: Option<String>,
    /// Whether `rport` is present (RFC 3581).
    pub rport: bool,
}

/// A parsed SIP request.
#[derive(Debug, Clone)]
pub struct Request {
    pub(super) inner: sipx::Request,
}

/// A parsed SIP response.
#[derive(Debug, Clone)]
pub struct Response {
    pub(super) inner: sipx::Response,
}

/// A parsed SIP message.
#[derive(Debug, Clone)]
pub enum Message {
    /// A request.
    Request(Request),
    /// A response.
    Response(Response),
}

/// Why bytes could not be turned into a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unparseable SIP message: {reason}")]
pub struct ParseError {
    /// What the parser said, for the log.
    pub reason: String,
}

/// Hardening limits applied while parsing (RFC 3261 §20 sets none; these bound the work and memory one
/// message from an untrusted peer can cost). A message over a limit is refused like any unparseable one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseLimits {
    /// Most header fields in one message.
    pub max_headers: usize,
    /// Largest single header field in bytes, folded lines included.
    pub max_header_bytes: usize,
    /// Largest body in bytes.
    pub max_body_bytes: usize,
}

impl Default for ParseLimits {
    /// 256 header fields of at most 8 KiB each and a 64 KiB body.
    fn default() -> Self {
        Self {
            max_headers: 256,
            max_header_bytes: 8 * 1024,
            max_body_bytes: 64 * 1024,
        }
    }
}

/// Whether the two-digit fields of an RFC 1123 date (RFC 3261 §20.17: day, hour, minute, second at
/// octets 5, 17, 20 and 23 of `Sat, 13 Nov 2010 23:29:00 GMT`) hold digits where they are present.
fn date_fields_are_digits(value: &[u8]) -> bool {
    [5, 6, 17, 18, 20, 21, 23, 24]
        .iter()
        .all(|at| value.get(*at).is_none_or(u8::is_ascii_digit))
}

/// Parse one message from a datagram or one framed stream message, with the default limits.
pub fn parse(data: &[u8]) -> Result<Message, ParseError> {
    parse_with(data, &ParseLimits::default())
}

/// Parse one message under the given limits.
pub fn parse_with(data: &[u8], limits: &ParseLimits) -> Result<Message, ParseError> {
    let limits = Limits {
        max_headers: limits.max_headers,
        max_header_bytes: limits.max_header_bytes,
        max_body_bytes: limits.max_body_bytes,
        ..Limits::stream()
    };
    match sipx::parse_datagram(data.to_vec().into(), &limits) {
        Ok(sipx::Message::Request(inner)) => Ok(Message::Request(Request { inner })),
        Ok(sipx::Message::Response(inner)) => Ok(Message::Response(Response { inner })),
        Err(e) => Err(ParseError {
            reason: e.to_string(),
        }),
    }
}

/// Shared typed reads for requests and responses.
trait HeaderAccess {
    fn headers(&self) -> &sipx::Headers;
}

impl HeaderAccess for Request {
    fn headers(&self) -> &sipx::Headers {
        &self.inner.headers
    }
}

impl HeaderAccess for Response {
    fn headers(&self) -> &sipx::Headers {
        &self.inner.headers
    }
}

fn typed_ok<H: TypedHeader>(headers: &sipx::Headers) -> Option<H> {
    headers.typed::<H>().and_then(Result::ok)
}

macro_rules! common_reads {
    ($t:ty) => {
        impl $t {
            /// The Call-ID.
            pub fn call_id(&self) -> Option<String> {
                typed_ok::<h::CallId>(self.headers()).map(|c| lossy(&c.0))
            }
            /// The From header.
            pub fn from(&self) -> Option<NameAddr> {
                typed_ok::<h::From>(self.headers()).map(|a| name_addr(&a.0))
            }
            /// The To header.
            pub fn to(&self) -> Option<NameAddr> {
                typed_ok::<h::To>(self.headers()).map(|a| name_addr(&a.0))
            }
            /// CSeq number and method.
            pub fn cseq(&self) -> Option<(u32, Method)> {
                typed_ok::<h::CSeq>(self.headers())
                    .map(|c| (c.sequence, Method::from_sipx(&c.method)))
            }
            /// The topmost Via.
            pub fn top_via(&self) -> Option<ViaInfo> {
                typed_ok::<h::Via>(self.headers()).map(|v| ViaInfo {
                    transport: lossy(&v.transport),
                    host: lossy(&v.host.to_bytes()),
                    port: v.port,
                    branch: v.branch().map(lossy),
                    rport: v.rport().is_some(),
                })
            }
            /// Every Contact address, in order (malformed rows skipped).
            pub fn contacts(&self) -> Vec<NameAddr> {
                self.headers()
                    .typed_all::<h::Contact>()
                    .filter_map(Result::ok)
                    .map(|c| name_addr(&c.0))
                    .collect()
            }
            /// Every Record-Route address, in wire order (RFC 3261 §12.1).
            pub fn record_route(&self) -> Vec<NameAddr> {
                self.headers()
                    .typed_all::<h::RecordRoute>()
                    .filter_map(Result::ok)
                    .map(|c| name_addr(&c.0))
                    .collect()
            }
            /// The first value of a header by name (case-insensitive, compact forms understood),
            /// unfolded.
            pub fn header(&self, name: &str) -> Option<String> {
                let name = HeaderName::parse(&name.as_bytes().to_vec().into());
                self.headers().value(&name).map(|v| lossy(&v))
            }
            /// All headers as (name as written canonically, unfolded value), in wire order.
            pub fn header_list(&self) -> Vec<(String, String)> {
                self.headers()
                    .iter()
                    .map(|hd| (lossy(hd.name().canonical()), lossy(&hd.value())))
                    .collect()
            }
            /// The body.
            pub fn body(&self) -> &[u8] {
                self.inner.body()
            }
            /// The Content-Type value, lowercased without parameters, and its parameters raw.
            pub fn content_type(&self) -> Option<(String, Vec<(String, String)>)> {
                typed_ok::<h::ContentType>(self.headers()).map(|ct| {
                    let media = format!("{}/{}", lossy(&ct.media_type), lossy(&ct.subtype))
                        .to_ascii_lowercase();
                    let params = ct
                        .params
                        .iter()
                        .map(|p| {
                            (
                                lossy(&p.name),
                                p.value.as_deref().map(lossy).unwrap_or_default(),
                            )
                        })
                        .collect();
                    (media, params)
                })
            }
        }
    };
}

common_reads!(Request);
common_reads!(Response);

impl Request {
    /// The method.
    pub fn method(&self) -> Method {
        Method::from_sipx(&self.inner.method)
    }

    /// The Request-URI as written.
    pub fn request_uri(&self) -> String {
        lossy(&self.inner.uri.to_bytes())
    }

    /// The user part of a sip:/sips: Request-URI (decoded) or the subscriber of a tel: one.
    pub fn request_uri_user(&self) -> Option<String> {
        uri_user(&self.inner.uri)
    }

    /// Whether the Request-URI scheme is one tandem can act on (sip, sips, tel); others get
    /// 416 (RFC 3261 §8.2.2.1).
    pub fn request_uri_scheme_supported(&self) -> bool {
        matches!(
            self.inner.uri.scheme(),
            sipx::Scheme::Sip | sipx::Scheme::Sips | sipx::Scheme::Tel
        )
    }

    /// Whether a response to this request may carry an SDP body (RFC 3261 §20.1): true without an
    /// Accept header, otherwise only when a media range with a non-zero q covers `application/sdp`.
    /// An empty Accept means no format is acceptable.
    pub fn accepts_sdp(&self) -> bool {
        let values: Vec<String> = self
            .inner
            .headers
            .get_all(&HeaderName::Accept)
            .map(|hd| lossy(&hd.value()))
            .collect();
        if values.is_empty() {
            return true;
        }
        values.iter().flat_map(|v| v.split(',')).any(|range| {
            let mut parts = range.split(';');
            let media = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
            let refused = parts.any(|p| {
                p.split_once('=').is_some_and(|(k, v)| {
                    k.trim().eq_ignore_ascii_case("q")
                        && v.trim().parse::<f32>().is_ok_and(|q| q <= 0.0)
                })
            });
            !refused && matches!(media.as_str(), "application/sdp" | "application/*" | "*/*")
        })
    }

    /// Max-Forwards, if present and valid.
    pub fn max_forwards(&self) -> Option<u8> {
        typed_ok::<h::MaxForwards>(&self.inner.headers).map(|m| m.0)
    }

    /// The first P-Asserted-Identity address (RFC 3325 §9.1).
    pub fn p_asserted_identity(&self) -> Option<NameAddr> {
        self.inner
            .headers
            .get_all(&HeaderName::PAssertedIdentity)
            .flat_map(|hd| h::Address::parse_list(&hd.value(), "P-Asserted-Identity").ok())
            .flatten()
            .map(|a| name_addr(&a))
            .next()
    }

    /// Problems that forbid acting on the request (RFC 3261 §8.1.1, §8.2), each with the
    /// status to answer and a reason phrase.
    pub fn findings(&self) -> Vec<(u16, String)> {
        let headers = &self.inner.headers;
        // A missing Max-Forwards is repairable (RFC 2543 peers, RFC 4475 §3.4.1): treat as 70.
        let mut out: Vec<(u16, String)> = sipx::validate_request(&self.inner)
            .into_iter()
            .filter(|finding| !finding.is_repairable())
            .map(|finding| (finding.status(), format!("{finding:?}")))
            .collect();
        // Headers tandem reads or echoes must be well-formed too (RFC 4475 §3.1.2).
        // The Date parser of the SIP crate computes `hi * 10 + lo` on a u8 before checking the octets are
        // digits, which overflows (a panic with overflow checks) on letters where the RFC 1123 date has
        // its two-digit fields; such a Date is refused here before it reaches that parser.
        let date_digits_ok = headers
            .value(&HeaderName::Date)
            .is_none_or(|value| date_fields_are_digits(&value));
        if !date_digits_ok || matches!(headers.typed::<h::Date>(), Some(Err(_))) {
            out.push((400, "malformed Date".into()));
        }
        if headers.typed_all::<h::ContactValue>().any(|c| c.is_err()) {
            out.push((400, "malformed Contact".into()));
        }
        out
    }

    /// Whether the headers every response must copy are readable (Via, From, To, Call-ID,
    /// CSeq), i.e. whether a response can be built at all.
    pub fn answerable(&self) -> bool {
        self.top_via().is_some()
            && self.cseq().is_some()
            && self.call_id().is_some()
            && self.header("From").is_some()
            && self.header("To").is_some()
    }

    /// Serialise.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.inner.write_to(&mut out);
        out
    }
}

impl Response {
    /// The status code.
    pub fn status(&self) -> u16 {
        self.inner.status.code()
    }

    /// The reason phrase.
    pub fn reason(&self) -> String {
        lossy(&self.inner.reason)
    }

    /// Serialise.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.inner.write_to(&mut out);
        out
    }
}
