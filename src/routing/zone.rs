//! The embedded ENUM backend: DNS zone files in master-file format (RFC 1035 §5) with NAPTR records
//! (RFC 3403 §4.1), answered without a DNS server so the demo and the dialplan tests need none.
//!
//! The parser understands `$ORIGIN`, `$TTL`, relative and absolute owner names, `@`, an empty owner (the
//! previous one), optional TTL and class, parentheses across lines, quoted strings with `\` escapes and `;`
//! comments. Record types other than SOA and NAPTR are accepted and only mark their owner as existing (so
//! that the name answers NODATA rather than NXDOMAIN).

use std::collections::{BTreeMap, BTreeSet};

use super::enum_dns::{EnumAnswer, Naptr};

/// A zone file that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct ZoneError {
    /// The file.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// One parsed zone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Zone {
    /// The zone's origin (lower case, no trailing dot).
    pub origin: String,
    /// SOA MINIMUM (negative-caching TTL, RFC 2308 §5), seconds.
    pub negative_ttl_s: u32,
    naptr: BTreeMap<String, (u32, Vec<Naptr>)>,
    names: BTreeSet<String>,
}

/// Several zones; a query goes to the zone with the longest matching origin.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ZoneSet {
    zones: Vec<Zone>,
}

impl ZoneSet {
    /// Parses each `(file name, text)` into a zone.
    pub fn parse(files: &[(String, String)]) -> Result<ZoneSet, ZoneError> {
        let zones = files
            .iter()
            .map(|(name, text)| Zone::parse(name, text))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ZoneSet { zones })
    }

    /// Whether no zone is loaded.
    pub fn is_empty(&self) -> bool {
        self.zones.is_empty()
    }

    /// The answer for `domain`: its NAPTR records, NXDOMAIN, or a failure when no zone covers it (a DNS
    /// server without the zone would answer REFUSED).
    pub fn answer(&self, domain: &str) -> EnumAnswer {
        let name = domain.trim_end_matches('.').to_ascii_lowercase();
        let zone = self
            .zones
            .iter()
            .filter(|z| name == z.origin || name.ends_with(&format!(".{}", z.origin)))
            .max_by_key(|z| z.origin.len());
        match zone {
            None => EnumAnswer::Failed {
                reason: format!("REFUSED: no zone for {name}"),
            },
            Some(zone) => zone.answer(&name),
        }
    }
}

impl Zone {
    /// The answer for a name inside this zone.
    pub fn answer(&self, name: &str) -> EnumAnswer {
        if let Some((ttl_s, records)) = self.naptr.get(name) {
            return EnumAnswer::Records {
                records: records.clone(),
                ttl_s: *ttl_s,
            };
        }
        // RFC 8020: a name with no records but with names below it exists (an empty non-terminal).
        let below = format!(".{name}");
        let exists = self.names.contains(name)
            || self
                .names
                .range(name.to_string()..)
                .any(|n| n.ends_with(&below));
        if exists {
            EnumAnswer::Records {
                records: Vec::new(),
                ttl_s: self.negative_ttl_s,
            }
        } else {
            EnumAnswer::NxDomain {
                negative_ttl_s: self.negative_ttl_s,
            }
        }
    }

    /// Parses a master file. The origin comes from `$ORIGIN` (required before the first relative name).
    pub fn parse(file: &str, text: &str) -> Result<Zone, ZoneError> {
        let mut zone = Zone::default();
        let mut default_ttl: u32 = 3600;
        let mut previous_owner: Option<String> = None;
        for (line, tokens, starts_blank) in logical_lines(file, text)? {
            let error = |message: String| ZoneError {
                file: file.to_string(),
                line,
                message,
            };
            let mut tokens = tokens.into_iter().peekable();
            let Some(first) = tokens.peek().cloned() else {
                continue;
            };
            if first.eq_ignore_ascii_case("$ORIGIN") {
                tokens.next();
                let origin = tokens
                    .next()
                    .ok_or_else(|| error("$ORIGIN needs a name".into()))?;
                zone.origin =
                    absolute(&origin, &zone.origin).ok_or_else(|| error("bad $ORIGIN".into()))?;
                continue;
            }
            if first.eq_ignore_ascii_case("$TTL") {
                tokens.next();
                default_ttl = tokens
                    .next()
                    .and_then(|t| parse_ttl(&t))
                    .ok_or_else(|| error("$TTL needs a number of seconds".into()))?;
                continue;
            }
            if first.starts_with('$') {
                return Err(error(format!("unsupported directive {first}")));
            }
            let owner = if starts_blank {
                previous_owner
                    .clone()
                    .ok_or_else(|| error("record without an owner name".into()))?
            } else {
                let token = tokens.next().unwrap_or_default();
                if zone.origin.is_empty() && !token.ends_with('.') {
                    return Err(error("relative name before $ORIGIN".into()));
                }
                absolute(&token, &zone.origin)
                    .ok_or_else(|| error(format!("bad name {token:?}")))?
            };
            previous_owner = Some(owner.clone());
            let mut ttl = default_ttl;
            let rtype = loop {
                let token = tokens
                    .next()
                    .ok_or_else(|| error("record without a type".into()))?;
                if let Some(value) = parse_ttl(&token) {
                    ttl = value;
                } else if !token.eq_ignore_ascii_case("IN") {
                    break token.to_ascii_uppercase();
                }
            };
            let rdata: Vec<String> = tokens.collect();
            match rtype.as_str() {
                "SOA" => {
                    let minimum = rdata
                        .get(6)
                        .and_then(|t| parse_ttl(t))
                        .ok_or_else(|| error("SOA needs 7 fields".into()))?;
                    // RFC 2308 §5: the negative TTL is the lesser of the SOA's TTL and its MINIMUM.
                    zone.negative_ttl_s = minimum.min(ttl);
                }
                "NAPTR" => {
                    let [order, preference, flags, services, regexp, replacement] =
                        rdata.as_slice()
                    else {
                        return Err(error(format!(
                            "NAPTR needs 6 fields (order preference flags services regexp replacement), found {}",
                            rdata.len()
                        )));
                    };
                    let number = |t: &str, what: &str| {
                        t.parse::<u16>().map_err(|_| {
                            error(format!("NAPTR {what} {t:?} is not a number 0..65535"))
                        })
                    };
                    let record = Naptr {
                        order: number(order, "order")?,
                        preference: number(preference, "preference")?,
                        flags: flags.clone(),
                        services: services.clone(),
                        regexp: regexp.clone(),
                        replacement: replacement.clone(),
                    };
                    let entry = zone.naptr.entry(owner.clone()).or_insert((ttl, Vec::new()));
                    entry.0 = entry.0.min(ttl);
                    entry.1.push(record);
                }
                _ => {}
            }
            zone.names.insert(owner);
        }
        if zone.origin.is_empty() {
            return Err(ZoneError {
                file: file.to_string(),
                line: 1,
                message: "no $ORIGIN".into(),
            });
        }
        Ok(zone)
    }
}

/// `name` made absolute against `origin`, lower case, without the trailing dot.
fn absolute(name: &str, origin: &str) -> Option<String> {
    if name.is_empty() {
        return None;
    }
    if name == "@" {
        return Some(origin.to_string());
    }
    let lower = name.to_ascii_lowercase();
    if let Some(stripped) = lower.strip_suffix('.') {
        return Some(stripped.to_string());
    }
    if origin.is_empty() {
        return Some(lower);
    }
    Some(format!("{lower}.{origin}"))
}

/// A TTL in seconds, with the BIND unit suffixes (s, m, h, d, w) accepted.
fn parse_ttl(token: &str) -> Option<u32> {
    if let Ok(value) = token.parse::<u32>() {
        return Some(value);
    }
    let (number, unit) = token.split_at(token.len().checked_sub(1)?);
    let factor = match unit.to_ascii_lowercase().as_str() {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 604_800,
        _ => return None,
    };
    number.parse::<u32>().ok()?.checked_mul(factor)
}

/// Splits the text into logical lines (parentheses join physical lines) of tokens; reports for each its first
/// physical line and whether it started with white space (an omitted owner).
fn logical_lines(file: &str, text: &str) -> Result<Vec<(usize, Vec<String>, bool)>, ZoneError> {
    let mut lines = Vec::new();
    let mut tokens: Vec<String> = Vec::new();
    let mut depth = 0usize;
    let mut start_line = 1;
    let mut starts_blank = false;
    for (index, physical) in text.lines().enumerate() {
        let line_number = index + 1;
        if depth == 0 {
            start_line = line_number;
            starts_blank = physical.starts_with([' ', '\t']);
        }
        let mut chars = physical.chars().peekable();
        let mut current: Option<String> = None;
        while let Some(c) = chars.next() {
            match c {
                ';' => break,
                '"' => {
                    let mut quoted = String::new();
                    let mut closed = false;
                    while let Some(q) = chars.next() {
                        match q {
                            '\\' => {
                                if let Some(escaped) = chars.next() {
                                    quoted.push(escaped);
                                }
                            }
                            '"' => {
                                closed = true;
                                break;
                            }
                            other => quoted.push(other),
                        }
                    }
                    if !closed {
                        return Err(ZoneError {
                            file: file.to_string(),
                            line: line_number,
                            message: "unterminated quoted string".into(),
                        });
                    }
                    tokens.extend(current.take());
                    tokens.push(quoted);
                }
                '(' => {
                    tokens.extend(current.take());
                    depth += 1;
                }
                ')' => {
                    tokens.extend(current.take());
                    depth = depth.checked_sub(1).ok_or_else(|| ZoneError {
                        file: file.to_string(),
                        line: line_number,
                        message: "unbalanced ')'".into(),
                    })?;
                }
                c if c.is_whitespace() => tokens.extend(current.take()),
                other => current.get_or_insert_with(String::new).push(other),
            }
        }
        tokens.extend(current.take());
        if depth == 0 && !tokens.is_empty() {
            lines.push((start_line, std::mem::take(&mut tokens), starts_blank));
        }
    }
    if depth != 0 {
        return Err(ZoneError {
            file: file.to_string(),
            line: start_line,
            message: "unclosed '('".into(),
        });
    }
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ZONE: &str = r#"
$ORIGIN 4.4.e164.arpa.
$TTL 300
@   IN SOA ns.example. hostmaster.example. (
        1 3600 600 86400
        60 )   ; minimum: negative TTL
    IN NS ns.example.
0.0.0.0.6.4.9.7.0.2 600 IN NAPTR 10 100 "u" "E2U+sip" "!^\\+(.*)$!sip:\\1@127.0.0.1:5070!" .
                    IN NAPTR 20 100 "u" "E2U+pstn:tel" "!^(.*)$!tel:\\1;npdi!" .
1.0.0.0.6.4.9.7.0.2 NAPTR 10 10 "u" "E2U+pstn:tel" "!^(.*)$!tel:\1;npdi;rn=+4420999!" .
"#;

    #[test]
    fn parses_naptr_soa_and_answers() {
        let zones = ZoneSet::parse(&[("44.zone".into(), ZONE.into())]).expect("parses");
        match zones.answer("0.0.0.0.6.4.9.7.0.2.4.4.e164.arpa.") {
            EnumAnswer::Records { records, ttl_s } => {
                assert_eq!(ttl_s, 300, "smallest TTL of the set");
                assert_eq!(records.len(), 2);
                assert_eq!(records[0].regexp, "!^\\+(.*)$!sip:\\1@127.0.0.1:5070!");
                assert_eq!(records[1].services, "E2U+pstn:tel");
            }
            other => panic!("{other:?}"),
        }
        match zones.answer("1.0.0.0.6.4.9.7.0.2.4.4.e164.arpa") {
            EnumAnswer::Records { records, .. } => {
                assert_eq!(records[0].regexp, "!^(.*)$!tel:1;npdi;rn=+4420999!")
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            zones.answer("9.9.4.4.e164.arpa"),
            EnumAnswer::NxDomain { negative_ttl_s: 60 }
        );
        assert!(
            matches!(
                zones.answer("0.2.4.4.e164.arpa"),
                EnumAnswer::Records { ref records, .. } if records.is_empty()
            ),
            "empty non-terminal is NODATA"
        );
        assert!(matches!(
            zones.answer("1.e164.arpa"),
            EnumAnswer::Failed { .. }
        ));
    }

    #[test]
    fn errors_name_file_and_line() {
        let err = Zone::parse("z", "$ORIGIN e164.arpa.\n1 NAPTR 10 \"u\"\n").unwrap_err();
        assert_eq!(err.line, 2, "{err}");
        let err = Zone::parse("z", "1 NAPTR 1 1 \"u\" \"E2U+sip\" \"!a!b!\" .\n").unwrap_err();
        assert!(err.message.contains("$ORIGIN"), "{err}");
        assert!(Zone::parse("z", "$ORIGIN x.\n( \n").is_err());
        assert!(Zone::parse("z", "$ORIGIN x.\n1 TXT \"open\n").is_err());
        assert_eq!(parse_ttl("1h"), Some(3600));
    }
}
