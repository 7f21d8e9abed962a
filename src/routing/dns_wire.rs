//! The DNS messages an ENUM lookup needs (RFC 1035 §4): a NAPTR query (RFC 3403 §4.1, type 35) and the
//! reading of its response into an [`EnumAnswer`] — NAPTR records of the answer section, NXDOMAIN with the
//! negative TTL from the authority section's SOA (RFC 2308 §5), SERVFAIL/REFUSED as failures. No IO: the
//! runtime sends the bytes. Every read is bounds-checked; a malformed response is an error, never a panic.

use super::enum_dns::{EnumAnswer, Naptr};

/// NAPTR resource record type (RFC 3403 §4).
const TYPE_NAPTR: u16 = 35;
/// SOA resource record type (RFC 1035 §3.2.2).
const TYPE_SOA: u16 = 6;
/// The Internet class.
const CLASS_IN: u16 = 1;

/// A DNS response that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed DNS response: {0}")]
pub struct DnsWireError(pub &'static str);

/// A query for the NAPTR records of `domain` with message id `id` (recursion desired, so a resolver answers
/// as well as an authoritative server).
pub fn naptr_query(id: u16, domain: &str) -> Vec<u8> {
    let mut message = Vec::with_capacity(domain.len() + 18);
    message.extend_from_slice(&id.to_be_bytes());
    message.extend_from_slice(&[0x01, 0x00]); // QR=0, OPCODE=0, RD=1
    message.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]); // QDCOUNT=1
    for label in domain.trim_end_matches('.').split('.') {
        let bytes = label.as_bytes();
        // Labels are at most 63 octets (RFC 1035 §2.3.4); ENUM labels are single digits.
        let length = bytes.len().min(63);
        message.push(length as u8);
        message.extend_from_slice(&bytes[..length]);
    }
    message.push(0);
    message.extend_from_slice(&TYPE_NAPTR.to_be_bytes());
    message.extend_from_slice(&CLASS_IN.to_be_bytes());
    message
}

struct Reader<'a> {
    data: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn u8(&mut self) -> Result<u8, DnsWireError> {
        let value = *self.data.get(self.at).ok_or(DnsWireError("truncated"))?;
        self.at += 1;
        Ok(value)
    }

    /// Owner name, type, class, TTL and RDLENGTH of a resource record (RFC 1035 §4.1.3): the type, the TTL and
    /// where the record's data ends.
    fn record_header(&mut self) -> Result<(u16, u32, usize), DnsWireError> {
        self.name()?;
        let rtype = self.u16()?;
        let _class = self.u16()?;
        let ttl = self.u32()?;
        let length = usize::from(self.u16()?);
        Ok((rtype, ttl, self.at.saturating_add(length)))
    }

    fn u16(&mut self) -> Result<u16, DnsWireError> {
        Ok(u16::from_be_bytes([self.u8()?, self.u8()?]))
    }

    fn u32(&mut self) -> Result<u32, DnsWireError> {
        Ok(u32::from_be_bytes([
            self.u8()?,
            self.u8()?,
            self.u8()?,
            self.u8()?,
        ]))
    }

    fn bytes(&mut self, length: usize) -> Result<&'a [u8], DnsWireError> {
        let end = self.at.checked_add(length).ok_or(DnsWireError("length"))?;
        let slice = self
            .data
            .get(self.at..end)
            .ok_or(DnsWireError("truncated"))?;
        self.at = end;
        Ok(slice)
    }

    /// A <character-string> (RFC 1035 §3.3).
    fn character_string(&mut self) -> Result<String, DnsWireError> {
        let length = usize::from(self.u8()?);
        Ok(String::from_utf8_lossy(self.bytes(length)?).into_owned())
    }

    /// A domain name, following compression pointers (RFC 1035 §4.1.4) with a bound against loops.
    fn name(&mut self) -> Result<String, DnsWireError> {
        let mut labels: Vec<String> = Vec::new();
        let mut at = self.at;
        let mut jumped = false;
        for _ in 0..128 {
            let length = *self.data.get(at).ok_or(DnsWireError("truncated name"))?;
            match length {
                0 => {
                    if !jumped {
                        self.at = at + 1;
                    }
                    return Ok(labels.join("."));
                }
                l if l & 0xC0 == 0xC0 => {
                    let low = *self
                        .data
                        .get(at + 1)
                        .ok_or(DnsWireError("truncated pointer"))?;
                    if !jumped {
                        self.at = at + 2;
                    }
                    jumped = true;
                    at = (usize::from(l & 0x3F) << 8) | usize::from(low);
                }
                l if l < 64 => {
                    let start = at + 1;
                    let label = self
                        .data
                        .get(start..start + usize::from(l))
                        .ok_or(DnsWireError("truncated label"))?;
                    labels.push(String::from_utf8_lossy(label).to_ascii_lowercase());
                    at = start + usize::from(l);
                }
                _ => return Err(DnsWireError("bad label type")),
            }
        }
        Err(DnsWireError("name too long or looping"))
    }
}

/// Reads the response to query `id`. `Ok(None)` when the message is not that response (another id, not a
/// response), so the caller keeps waiting.
pub fn read_naptr_response(id: u16, message: &[u8]) -> Result<Option<EnumAnswer>, DnsWireError> {
    let mut reader = Reader {
        data: message,
        at: 0,
    };
    if reader.u16()? != id {
        return Ok(None);
    }
    let flags = reader.u16()?;
    if flags & 0x8000 == 0 {
        return Ok(None);
    }
    let rcode = flags & 0x000F;
    let truncated = flags & 0x0200 != 0;
    let questions = reader.u16()?;
    let answers = reader.u16()?;
    let authorities = reader.u16()?;
    let _additional = reader.u16()?;
    for _ in 0..questions {
        reader.name()?;
        reader.u16()?;
        reader.u16()?;
    }
    match rcode {
        0 => {}
        3 => {}
        2 => {
            return Ok(Some(EnumAnswer::Failed {
                reason: "SERVFAIL".into(),
            }))
        }
        5 => {
            return Ok(Some(EnumAnswer::Failed {
                reason: "REFUSED".into(),
            }))
        }
        other => {
            return Ok(Some(EnumAnswer::Failed {
                reason: format!("RCODE {other}"),
            }))
        }
    }
    let mut records = Vec::new();
    let mut ttl_s = u32::MAX;
    for _ in 0..answers {
        let (rtype, ttl, end) = reader.record_header()?;
        if rtype == TYPE_NAPTR {
            records.push(Naptr {
                order: reader.u16()?,
                preference: reader.u16()?,
                flags: reader.character_string()?,
                services: reader.character_string()?,
                regexp: reader.character_string()?,
                replacement: match reader.name()? {
                    name if name.is_empty() => ".".to_string(),
                    name => name,
                },
            });
            ttl_s = ttl_s.min(ttl);
        }
        if reader.at > end || end > message.len() {
            return Err(DnsWireError("record length"));
        }
        reader.at = end;
    }
    let mut negative_ttl_s = 0;
    for _ in 0..authorities {
        let (rtype, ttl, end) = reader.record_header()?;
        if rtype == TYPE_SOA {
            reader.name()?;
            reader.name()?;
            reader.bytes(16)?;
            let minimum = reader.u32()?;
            negative_ttl_s = minimum.min(ttl);
        }
        if reader.at > end || end > message.len() {
            return Err(DnsWireError("record length"));
        }
        reader.at = end;
    }
    if rcode == 3 {
        return Ok(Some(EnumAnswer::NxDomain { negative_ttl_s }));
    }
    if records.is_empty() && truncated {
        return Ok(Some(EnumAnswer::Failed {
            reason: "truncated response (TCP not tried)".into(),
        }));
    }
    if records.is_empty() {
        // NODATA: the name exists without NAPTR records; cached for the negative TTL.
        ttl_s = negative_ttl_s;
    }
    Ok(Some(EnumAnswer::Records { records, ttl_s }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn response(rcode: u8, answers: &[(&str, u32, Naptr)], soa_minimum: Option<u32>) -> Vec<u8> {
        let mut m = vec![0x12, 0x34, 0x85, rcode, 0, 1, 0, answers.len() as u8, 0];
        m.push(u8::from(soa_minimum.is_some()));
        m.extend_from_slice(&[0, 0]);
        let question = naptr_query(0x1234, "4.3.e164.arpa");
        m.extend_from_slice(&question[12..]);
        for (_, ttl, naptr) in answers {
            m.extend_from_slice(&[0xC0, 12]); // pointer to the question name
            m.extend_from_slice(&TYPE_NAPTR.to_be_bytes());
            m.extend_from_slice(&CLASS_IN.to_be_bytes());
            m.extend_from_slice(&ttl.to_be_bytes());
            let mut rdata = Vec::new();
            rdata.extend_from_slice(&naptr.order.to_be_bytes());
            rdata.extend_from_slice(&naptr.preference.to_be_bytes());
            for s in [&naptr.flags, &naptr.services, &naptr.regexp] {
                rdata.push(s.len() as u8);
                rdata.extend_from_slice(s.as_bytes());
            }
            rdata.push(0);
            m.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
            m.extend_from_slice(&rdata);
        }
        if let Some(minimum) = soa_minimum {
            m.extend_from_slice(&[0xC0, 12 + 4]); // "e164.arpa" inside the question name
            m.extend_from_slice(&TYPE_SOA.to_be_bytes());
            m.extend_from_slice(&CLASS_IN.to_be_bytes());
            m.extend_from_slice(&300u32.to_be_bytes());
            let mut rdata = vec![0, 0]; // root names for MNAME and RNAME
            rdata.extend_from_slice(&[0; 16]);
            rdata.extend_from_slice(&minimum.to_be_bytes());
            m.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
            m.extend_from_slice(&rdata);
        }
        m
    }

    fn naptr() -> Naptr {
        Naptr {
            order: 10,
            preference: 100,
            flags: "u".into(),
            services: "E2U+sip".into(),
            regexp: "!^.*$!sip:a@b!".into(),
            replacement: ".".into(),
        }
    }

    #[test]
    fn query_layout() {
        let q = naptr_query(7, "1.e164.arpa.");
        assert_eq!(&q[..4], &[0, 7, 1, 0]);
        assert_eq!(&q[12..], b"\x011\x04e164\x04arpa\x00\x00\x23\x00\x01");
    }

    #[test]
    fn reads_records_nxdomain_and_failures() {
        let answer = read_naptr_response(0x1234, &response(0, &[("", 120, naptr())], None));
        assert_eq!(
            answer,
            Ok(Some(EnumAnswer::Records {
                records: vec![naptr()],
                ttl_s: 120
            }))
        );
        assert_eq!(
            read_naptr_response(0x1234, &response(3, &[], Some(60))),
            Ok(Some(EnumAnswer::NxDomain { negative_ttl_s: 60 }))
        );
        assert!(matches!(
            read_naptr_response(0x1234, &response(2, &[], None)),
            Ok(Some(EnumAnswer::Failed { .. }))
        ));
        assert_eq!(
            read_naptr_response(0x9999, &response(0, &[], None)),
            Ok(None)
        );
        let full = response(0, &[("", 120, naptr())], None);
        let whole = read_naptr_response(0x1234, &full);
        for cut in 0..full.len() {
            assert_ne!(
                read_naptr_response(0x1234, &full[..cut]),
                whole,
                "cut at {cut}"
            );
        }
    }

    proptest! {
        #[test]
        fn never_panics_on_garbage(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = read_naptr_response(0x1234, &bytes);
        }
    }
}
