//! SDP (RFC 4566) subset for G.711 offer/answer (RFC 3264): parse an offer's connection
//! address, audio port and rtpmap payloads; build an answer choosing the first of PCMA/PCMU in
//! the offer's order plus telephone-event (RFC 4733); serialise with `to_string()`.

use std::fmt;
use std::net::IpAddr;

/// One `a=rtpmap` entry (or a static payload type without one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpMap {
    /// RTP payload type number.
    pub payload_type: u8,
    /// Encoding name as written (`PCMU`, `PCMA`, `telephone-event`).
    pub encoding: String,
    /// Clock rate in Hz.
    pub clock_rate: u32,
}

/// One `m=` section.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Media {
    /// Media type (`audio`).
    pub media: String,
    /// Transport port.
    pub port: u16,
    /// Transport protocol (`RTP/AVP`).
    pub protocol: String,
    /// Payload types in the order of the m= line.
    pub formats: Vec<u8>,
    /// rtpmaps, in the order of the m= line (static types filled in when no rtpmap is given).
    pub rtpmaps: Vec<RtpMap>,
    /// Media-level `c=` address.
    pub connection: Option<String>,
    /// Direction attribute (`sendrecv`, `sendonly`, ...), if any.
    pub direction: Option<String>,
    /// Other attribute lines, without `a=`.
    pub attributes: Vec<String>,
}

/// A session description.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Sdp {
    /// `o=` session id.
    pub session_id: u64,
    /// `o=` session version.
    pub session_version: u64,
    /// `o=` unicast address.
    pub origin_address: String,
    /// Session-level `c=` address.
    pub connection: Option<String>,
    /// Media sections.
    pub media: Vec<Media>,
}

/// Why SDP could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SdpError {
    /// A line is malformed.
    #[error("malformed SDP line {line}: {reason}")]
    Malformed {
        /// 1-based line number.
        line: usize,
        /// What was wrong.
        reason: &'static str,
    },
    /// The offer has no audio stream with PCMA or PCMU (answer with 488).
    #[error("no common audio codec (PCMA/PCMU) in the offer")]
    NoCommonCodec,
}

fn static_rtpmap(pt: u8) -> Option<RtpMap> {
    let (encoding, clock_rate) = match pt {
        0 => ("PCMU", 8000),
        8 => ("PCMA", 8000),
        _ => return None,
    };
    Some(RtpMap {
        payload_type: pt,
        encoding: encoding.into(),
        clock_rate,
    })
}

fn connection_address(value: &str) -> Option<String> {
    // c=IN IP4 192.0.2.1 (multicast TTL suffix dropped)
    let mut parts = value.split_whitespace();
    let _net = parts.next()?;
    let _kind = parts.next()?;
    parts
        .next()
        .map(|a| a.split('/').next().unwrap_or(a).to_string())
}

impl Sdp {
    /// Parse a session description (CRLF or LF line ends).
    pub fn parse(body: &[u8]) -> Result<Self, SdpError> {
        let text = String::from_utf8_lossy(body);
        let mut sdp = Sdp::default();
        for (index, raw) in text.lines().enumerate() {
            let line_no = index + 1;
            let line = raw.trim_end_matches('\r');
            if line.is_empty() {
                continue;
            }
            let malformed = |reason| SdpError::Malformed {
                line: line_no,
                reason,
            };
            let (kind, value) = line.split_once('=').ok_or(malformed("no '='"))?;
            match kind {
                "o" => {
                    let f: Vec<&str> = value.split_whitespace().collect();
                    sdp.session_id = f.get(1).and_then(|v| v.parse().ok()).unwrap_or(0);
                    sdp.session_version = f.get(2).and_then(|v| v.parse().ok()).unwrap_or(0);
                    sdp.origin_address = f.get(5).map(|s| s.to_string()).unwrap_or_default();
                }
                "c" => {
                    let address = connection_address(value).ok_or(malformed("bad c= line"))?;
                    match sdp.media.last_mut() {
                        Some(m) => m.connection = Some(address),
                        None => sdp.connection = Some(address),
                    }
                }
                "m" => {
                    let mut f = value.split_whitespace();
                    let media = f.next().ok_or(malformed("m= without media"))?.to_string();
                    let port_field = f.next().ok_or(malformed("m= without port"))?;
                    let port = port_field
                        .split('/')
                        .next()
                        .and_then(|p| p.parse().ok())
                        .ok_or(malformed("bad m= port"))?;
                    let protocol = f.next().ok_or(malformed("m= without proto"))?.to_string();
                    let formats: Vec<u8> = f.filter_map(|pt| pt.parse().ok()).collect();
                    let rtpmaps = formats.iter().filter_map(|pt| static_rtpmap(*pt)).collect();
                    sdp.media.push(Media {
                        media,
                        port,
                        protocol,
                        formats,
                        rtpmaps,
                        ..Media::default()
                    });
                }
                "a" => {
                    let Some(m) = sdp.media.last_mut() else {
                        continue;
                    };
                    if let Some(map) = value.strip_prefix("rtpmap:") {
                        let (pt, rest) = map.split_once(' ').ok_or(malformed("bad rtpmap"))?;
                        let pt: u8 = pt.trim().parse().map_err(|_| malformed("bad rtpmap pt"))?;
                        let mut enc = rest.trim().split('/');
                        let encoding = enc.next().unwrap_or_default().to_string();
                        let clock_rate = enc.next().and_then(|c| c.parse().ok()).unwrap_or(8000);
                        m.rtpmaps.retain(|r| r.payload_type != pt);
                        m.rtpmaps.push(RtpMap {
                            payload_type: pt,
                            encoding,
                            clock_rate,
                        });
                    } else if matches!(value, "sendrecv" | "sendonly" | "recvonly" | "inactive") {
                        m.direction = Some(value.to_string());
                    } else {
                        m.attributes.push(value.to_string());
                    }
                }
                _ => {}
            }
        }
        // Keep rtpmaps in m= line order.
        for m in &mut sdp.media {
            let order = m.formats.clone();
            m.rtpmaps.sort_by_key(|r| {
                order
                    .iter()
                    .position(|pt| *pt == r.payload_type)
                    .unwrap_or(usize::MAX)
            });
        }
        Ok(sdp)
    }

    /// The first audio stream with a non-zero port.
    pub fn audio(&self) -> Option<&Media> {
        self.media
            .iter()
            .find(|m| m.media == "audio" && m.port != 0)
    }

    /// The RTP address of the audio stream (media-level c= over session-level).
    pub fn audio_address(&self) -> Option<String> {
        let audio = self.audio()?;
        audio.connection.clone().or_else(|| self.connection.clone())
    }

    /// Build an offer with PCMA, PCMU and telephone-event/8000 (payload type 101).
    pub fn offer(address: IpAddr, port: u16, session_id: u64) -> Self {
        let codecs = vec![
            static_rtpmap(8),
            static_rtpmap(0),
            Some(RtpMap {
                payload_type: 101,
                encoding: "telephone-event".into(),
                clock_rate: 8000,
            }),
        ];
        Self::with_codecs(
            address,
            port,
            session_id,
            codecs.into_iter().flatten().collect(),
        )
    }

    fn with_codecs(address: IpAddr, port: u16, session_id: u64, rtpmaps: Vec<RtpMap>) -> Self {
        let mut attributes = Vec::new();
        if rtpmaps
            .iter()
            .any(|r| r.encoding.eq_ignore_ascii_case("telephone-event"))
        {
            if let Some(te) = rtpmaps
                .iter()
                .find(|r| r.encoding.eq_ignore_ascii_case("telephone-event"))
            {
                attributes.push(format!("fmtp:{} 0-16", te.payload_type));
            }
        }
        attributes.push("ptime:20".into());
        Sdp {
            session_id,
            session_version: session_id,
            origin_address: address.to_string(),
            connection: Some(address.to_string()),
            media: vec![Media {
                media: "audio".into(),
                port,
                protocol: "RTP/AVP".into(),
                formats: rtpmaps.iter().map(|r| r.payload_type).collect(),
                rtpmaps,
                connection: None,
                direction: Some("sendrecv".into()),
                attributes,
            }],
        }
    }

    /// Answer this offer (RFC 3264 §6): first of PCMA/PCMU in the offer's order, plus the
    /// offer's telephone-event/8000 if present, on `address`:`port`.
    pub fn answer(&self, address: IpAddr, port: u16, session_id: u64) -> Result<Self, SdpError> {
        let audio = self.audio().ok_or(SdpError::NoCommonCodec)?;
        let codec = audio
            .rtpmaps
            .iter()
            .find(|r| {
                r.clock_rate == 8000
                    && (r.encoding.eq_ignore_ascii_case("PCMA")
                        || r.encoding.eq_ignore_ascii_case("PCMU"))
            })
            .ok_or(SdpError::NoCommonCodec)?;
        let mut chosen = vec![codec.clone()];
        if let Some(te) = audio
            .rtpmaps
            .iter()
            .find(|r| r.encoding.eq_ignore_ascii_case("telephone-event") && r.clock_rate == 8000)
        {
            chosen.push(te.clone());
        }
        Ok(Self::with_codecs(address, port, session_id, chosen))
    }

    /// The audio codec of a (negotiated) description: first PCMA/PCMU rtpmap.
    pub fn audio_codec(&self) -> Option<&RtpMap> {
        self.audio()?.rtpmaps.iter().find(|r| {
            r.encoding.eq_ignore_ascii_case("PCMA") || r.encoding.eq_ignore_ascii_case("PCMU")
        })
    }
}

fn address_type(address: &str) -> &'static str {
    if address.contains(':') {
        "IP6"
    } else {
        "IP4"
    }
}

impl fmt::Display for Sdp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v=0\r\n")?;
        let origin = &self.origin_address;
        write!(
            f,
            "o=tandem {} {} IN {} {}\r\n",
            self.session_id,
            self.session_version,
            address_type(origin),
            origin
        )?;
        write!(f, "s=tandem\r\n")?;
        if let Some(c) = &self.connection {
            write!(f, "c=IN {} {}\r\n", address_type(c), c)?;
        }
        write!(f, "t=0 0\r\n")?;
        for m in &self.media {
            write!(f, "m={} {} {}", m.media, m.port, m.protocol)?;
            for pt in &m.formats {
                write!(f, " {pt}")?;
            }
            write!(f, "\r\n")?;
            if let Some(c) = &m.connection {
                write!(f, "c=IN {} {}\r\n", address_type(c), c)?;
            }
            for r in &m.rtpmaps {
                write!(
                    f,
                    "a=rtpmap:{} {}/{}\r\n",
                    r.payload_type, r.encoding, r.clock_rate
                )?;
            }
            for a in &m.attributes {
                write!(f, "a={a}\r\n")?;
            }
            if let Some(d) = &m.direction {
                write!(f, "a={d}\r\n")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const OFFER: &str = "v=0\r\no=- 1 2 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\n\
m=audio 49170 RTP/AVP 0 8 96 101\r\na=rtpmap:96 opus/48000/2\r\na=rtpmap:101 telephone-event/8000\r\n\
a=fmtp:101 0-15\r\na=sendrecv\r\n";

    #[test]
    fn parses_offer() {
        let sdp = Sdp::parse(OFFER.as_bytes()).unwrap();
        let audio = sdp.audio().unwrap();
        assert_eq!(audio.port, 49170);
        assert_eq!(audio.formats, vec![0, 8, 96, 101]);
        assert_eq!(sdp.audio_address().as_deref(), Some("192.0.2.10"));
        let names: Vec<&str> = audio.rtpmaps.iter().map(|r| r.encoding.as_str()).collect();
        assert_eq!(names, vec!["PCMU", "PCMA", "opus", "telephone-event"]);
    }

    #[test]
    fn answer_takes_first_g711_of_offer_and_telephone_event() {
        let sdp = Sdp::parse(OFFER.as_bytes()).unwrap();
        let answer = sdp
            .answer("198.51.100.1".parse().unwrap(), 4000, 7)
            .unwrap();
        let text = answer.to_string();
        assert!(text.contains("m=audio 4000 RTP/AVP 0 101\r\n"), "{text}");
        assert!(text.contains("c=IN IP4 198.51.100.1\r\n"));
        assert!(text.contains("a=rtpmap:101 telephone-event/8000\r\n"));
        let reparsed = Sdp::parse(text.as_bytes()).unwrap();
        assert_eq!(reparsed.audio_codec().unwrap().encoding, "PCMU");
    }

    #[test]
    fn answer_fails_without_g711() {
        let offer =
            "v=0\r\nc=IN IP4 192.0.2.1\r\nm=audio 5000 RTP/AVP 96\r\na=rtpmap:96 opus/48000/2\r\n";
        let sdp = Sdp::parse(offer.as_bytes()).unwrap();
        assert_eq!(
            sdp.answer("192.0.2.2".parse().unwrap(), 1, 1),
            Err(SdpError::NoCommonCodec)
        );
    }

    proptest! {
        #[test]
        fn offer_round_trips(port in 1u16.., id in any::<u32>()) {
            let offer = Sdp::offer("192.0.2.5".parse().unwrap(), port, u64::from(id));
            let parsed = Sdp::parse(offer.to_string().as_bytes()).unwrap();
            prop_assert_eq!(parsed, offer);
        }

        #[test]
        fn parse_never_panics(data in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = Sdp::parse(&data);
        }
    }
}
