//! Framing SIP messages out of a TCP byte stream by Content-Length (RFC 3261 §18.3, §20.14).
//!
//! The runtime owns one [`StreamFramer`] per connection, pushes every chunk it reads and hands
//! each complete message to `Endpoint::handle_datagram`. CRLF keep-alives between messages
//! (RFC 5626 §4.4.1) are skipped and counted: each double-CRLF "ping" is one [`StreamFramer::take_pings`],
//! which the runtime answers with a single-CRLF "pong" (§3.5.1). A framing error is fatal for the connection: the runtime must
//! close it, since resynchronising would guess where the next message starts.

/// Why the stream cannot be framed any more.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FramingError {
    /// The header section grew past the limit without a blank line.
    #[error("SIP header section exceeds {0} bytes without an empty line")]
    HeaderTooLong(usize),
    /// No Content-Length, which a stream transport requires (RFC 3261 §18.3).
    #[error("SIP message on a stream without Content-Length")]
    MissingContentLength,
    /// Content-Length not a decimal number, or repeated.
    #[error("malformed or repeated Content-Length")]
    BadContentLength,
    /// Declared body larger than the limit.
    #[error("Content-Length {0} exceeds the limit")]
    BodyTooLong(usize),
}

/// Cuts a byte stream into whole SIP messages.
#[derive(Debug, Clone)]
pub struct StreamFramer {
    buffer: Vec<u8>,
    max_message: usize,
    failed: Option<FramingError>,
    /// CR and LF octets seen in a row between messages (a ping is four: CRLF CRLF).
    keepalive_octets: usize,
    /// Pings seen and not yet taken.
    pings: usize,
}

impl Default for StreamFramer {
    fn default() -> Self {
        Self::new(64 * 1024)
    }
}

fn find_blank_line(data: &[u8]) -> Option<usize> {
    data.windows(4).position(|w| w == b"\r\n\r\n")
}

fn content_length(head: &[u8]) -> Result<usize, FramingError> {
    let text = String::from_utf8_lossy(head);
    let mut found = None;
    for line in text.split("\r\n").skip(1) {
        if line.starts_with([' ', '\t']) {
            continue;
        }
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let name = name.trim();
        if name.eq_ignore_ascii_case("content-length") || name.eq_ignore_ascii_case("l") {
            let value = value.trim();
            if found.is_some() || value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
                return Err(FramingError::BadContentLength);
            }
            found = Some(
                value
                    .parse::<usize>()
                    .map_err(|_| FramingError::BadContentLength)?,
            );
        }
    }
    found.ok_or(FramingError::MissingContentLength)
}

impl StreamFramer {
    /// A framer refusing messages larger than `max_message` bytes.
    pub fn new(max_message: usize) -> Self {
        Self {
            buffer: Vec::new(),
            max_message,
            failed: None,
            keepalive_octets: 0,
            pings: 0,
        }
    }

    /// Bytes held that are not yet a whole message (for slow-sender timeouts).
    pub fn pending(&self) -> usize {
        self.buffer.len()
    }

    /// How many RFC 5626 §4.4.1 double-CRLF pings arrived since the last call; each deserves a CRLF pong.
    pub fn take_pings(&mut self) -> usize {
        std::mem::take(&mut self.pings)
    }

    /// The error that made the stream unframeable, once one has.
    pub fn failed(&self) -> Option<&FramingError> {
        self.failed.as_ref()
    }

    /// Append a chunk and return every message it completed, in order. When the chunk completes some
    /// messages and then breaks the framing, the messages are returned and the error is kept: see
    /// [`StreamFramer::failed`]; every later push returns it.
    pub fn push(&mut self, chunk: &[u8]) -> Result<Vec<Vec<u8>>, FramingError> {
        if let Some(error) = &self.failed {
            return Err(error.clone());
        }
        self.buffer.extend_from_slice(chunk);
        let mut out = Vec::new();
        loop {
            let skip = self
                .buffer
                .iter()
                .position(|b| *b != b'\r' && *b != b'\n')
                .unwrap_or(self.buffer.len());
            // Keep-alive octets may arrive split over reads; count them across pushes.
            self.keepalive_octets += skip;
            self.pings += self.keepalive_octets / 4;
            self.keepalive_octets %= 4;
            self.buffer.drain(..skip);
            if !self.buffer.is_empty() {
                self.keepalive_octets = 0;
            }
            if self.buffer.is_empty() {
                break;
            }
            let Some(head_end) = find_blank_line(&self.buffer) else {
                if self.buffer.len() > self.max_message {
                    return self.fail(FramingError::HeaderTooLong(self.max_message), out);
                }
                break;
            };
            let head = self.buffer.get(..head_end).unwrap_or_default();
            let body_len = match content_length(head) {
                Ok(n) => n,
                Err(e) => return self.fail(e, out),
            };
            let total = head_end + 4 + body_len;
            if total > self.max_message {
                return self.fail(FramingError::BodyTooLong(body_len), out);
            }
            if self.buffer.len() < total {
                break;
            }
            out.push(self.buffer.drain(..total).collect());
        }
        Ok(out)
    }

    /// Messages completed before the error are still delivered (RFC 4475 §3.1.1.8: the trailing octets of
    /// a stream must not cost the request before them).
    fn fail(
        &mut self,
        error: FramingError,
        done: Vec<Vec<u8>>,
    ) -> Result<Vec<Vec<u8>>, FramingError> {
        self.failed = Some(error.clone());
        self.buffer.clear();
        if done.is_empty() {
            Err(error)
        } else {
            Ok(done)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MSG: &[u8] = b"OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h\r\nl: 4\r\n\r\nabcd";

    #[test]
    fn frames_split_and_joined_messages() {
        let mut framer = StreamFramer::default();
        let mut stream = b"\r\n\r\n".to_vec();
        stream.extend_from_slice(MSG);
        stream.extend_from_slice(MSG);
        let (a, b) = stream.split_at(30);
        assert!(framer.push(a).unwrap().is_empty());
        let messages = framer.push(b).unwrap();
        assert_eq!(messages, vec![MSG.to_vec(), MSG.to_vec()]);
        assert_eq!(framer.pending(), 0);
    }

    #[test]
    fn counts_double_crlf_pings_split_over_reads() {
        let mut framer = StreamFramer::default();
        assert!(framer.push(b"\r\n").unwrap().is_empty());
        assert_eq!(framer.take_pings(), 0, "half a ping is no ping yet");
        assert!(framer.push(b"\r\n").unwrap().is_empty());
        assert_eq!(framer.take_pings(), 1);
        assert_eq!(framer.take_pings(), 0, "taken once");
        let mut stream = b"\r\n\r\n\r\n\r\n".to_vec();
        stream.extend_from_slice(MSG);
        stream.extend_from_slice(b"\r\n");
        assert_eq!(framer.push(&stream).unwrap(), vec![MSG.to_vec()]);
        assert_eq!(framer.take_pings(), 2);
        // A lone CRLF after a message does not pair with one after the next message.
        assert_eq!(framer.push(MSG).unwrap(), vec![MSG.to_vec()]);
        assert!(framer.push(b"\r\n").unwrap().is_empty());
        assert_eq!(framer.take_pings(), 0);
    }

    #[test]
    fn missing_length_is_fatal() {
        let mut framer = StreamFramer::default();
        let err = framer
            .push(b"BYE sip:a@b SIP/2.0\r\nVia: x\r\n\r\n")
            .unwrap_err();
        assert_eq!(err, FramingError::MissingContentLength);
        assert!(framer.push(MSG).is_err());
    }

    proptest! {
        #[test]
        fn any_split_gives_same_messages(cut in 0usize..MSG.len() * 2) {
            let mut stream = MSG.to_vec();
            stream.extend_from_slice(MSG);
            let (a, b) = stream.split_at(cut.min(stream.len()));
            let mut framer = StreamFramer::default();
            let mut got = framer.push(a).unwrap();
            got.extend(framer.push(b).unwrap());
            prop_assert_eq!(got, vec![MSG.to_vec(), MSG.to_vec()]);
        }

        #[test]
        fn never_panics(data in proptest::collection::vec(any::<u8>(), 0..500)) {
            let mut framer = StreamFramer::new(256);
            let _ = framer.push(&data);
        }
    }
}
