//! ENUM (RFC 6116): E.164 numbers to domain names, NAPTR records (RFC 3403) and their substitution
//! expressions (RFC 3402 §3.2), `E2U+sip` and `E2U+pstn:tel` services (RFC 4769) with the number-portability
//! parameters `npdi` and `rn` (RFC 4694), and a cache with TTLs and negative caching (RFC 2308).
//!
//! Sans-IO: the gateway asks for a domain with an output and gets the raw NAPTR records back as a recorded
//! input ([`EnumAnswer`]); everything from there on (ordering, regexp, number portability) is done here,
//! deterministically, so a replay computes the same URIs. Backends (the embedded zone files, DNS servers)
//! live in the runtime.

use std::collections::HashMap;

use rhai::{Array, Dynamic, Map};
use serde::{Deserialize, Serialize};

/// One NAPTR resource record (RFC 3403 §4.1), as the backend found it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Naptr {
    /// ORDER: lower first; records of a higher order are used only when all lower ones fail.
    pub order: u16,
    /// PREFERENCE within one order.
    pub preference: u16,
    /// FLAGS ("u" = the rule gives a URI and is terminal).
    pub flags: String,
    /// SERVICES, e.g. "E2U+sip" or "E2U+pstn:tel".
    pub services: String,
    /// REGEXP, a substitution expression (RFC 3402 §3.2).
    pub regexp: String,
    /// REPLACEMENT (unused by terminal ENUM rules; "." when empty).
    pub replacement: String,
}

/// What a backend answered for one ENUM domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum EnumAnswer {
    /// The domain exists; its NAPTR records (possibly none).
    Records {
        /// The records.
        records: Vec<Naptr>,
        /// Smallest TTL of the set, seconds.
        ttl_s: u32,
    },
    /// NXDOMAIN: the number is not in ENUM.
    NxDomain {
        /// How long to remember that (SOA minimum, RFC 2308), seconds.
        negative_ttl_s: u32,
    },
    /// SERVFAIL, REFUSED, a timeout or no backend: route as if ENUM were not there.
    Failed {
        /// What went wrong.
        reason: String,
    },
}

/// The ENUM domain of an E.164 number under `suffix` (RFC 6116 §2.4): digits reversed, dot separated.
/// `None` when the number has no digits.
pub fn enum_domain(number: &str, suffix: &str) -> Option<String> {
    let digits: Vec<char> = number.chars().filter(char::is_ascii_digit).collect();
    if digits.is_empty() {
        return None;
    }
    let mut name = String::with_capacity(digits.len() * 2 + suffix.len());
    for digit in digits.iter().rev() {
        name.push(*digit);
        name.push('.');
    }
    name.push_str(suffix.trim_matches('.'));
    Some(name)
}

/// One usable ENUM result: a URI, with number-portability data when it is a `tel:` URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnumRecord {
    /// ORDER of the record.
    pub order: u16,
    /// PREFERENCE of the record.
    pub preference: u16,
    /// The ENUM service ("E2U+sip", "E2U+pstn:tel", ...).
    pub service: String,
    /// The URI the substitution produced.
    pub uri: String,
    /// Routing number (`rn=`, RFC 4694 §4), when the URI carries one.
    pub rn: Option<String>,
    /// Whether number-portability data was dipped (`npdi`, RFC 4694 §4).
    pub npdi: bool,
}

/// The outcome of a lookup as a dialplan sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnumResult {
    /// The domain answered; usable records in ORDER then PREFERENCE order.
    Found(Vec<EnumRecord>),
    /// NXDOMAIN.
    NotFound,
    /// The lookup failed (timeout, SERVFAIL, no backend).
    Failed(String),
}

impl EnumResult {
    /// Applies RFC 3403/3402 rules to an answer for the number `aus` (the Application Unique String, the
    /// number with its '+').
    pub fn from_answer(answer: &EnumAnswer, aus: &str) -> EnumResult {
        match answer {
            EnumAnswer::NxDomain { .. } => EnumResult::NotFound,
            EnumAnswer::Failed { reason } => EnumResult::Failed(reason.clone()),
            EnumAnswer::Records { records, .. } => {
                let mut sorted: Vec<&Naptr> = records
                    .iter()
                    // RFC 6116 §3.4.1: ENUM rules are terminal ("u"); non-terminal rules (empty flags) would need a
                    // further lookup, which tandem does not follow.
                    .filter(|r| r.flags.eq_ignore_ascii_case("u"))
                    .filter(|r| r.services.to_ascii_uppercase().starts_with("E2U+"))
                    .collect();
                sorted.sort_by_key(|r| (r.order, r.preference));
                let found = sorted
                    .into_iter()
                    .filter_map(|record| {
                        let uri = substitute(&record.regexp, aus)?;
                        let (rn, npdi) = portability(&uri);
                        Some(EnumRecord {
                            order: record.order,
                            preference: record.preference,
                            service: record.services.clone(),
                            uri,
                            rn,
                            npdi,
                        })
                    })
                    .collect();
                EnumResult::Found(found)
            }
        }
    }

    /// The map `enum_lookup` returns to a script: `status` ("ok", "nxdomain", "error"), `records` (array of
    /// maps with order, preference, service, uri, rn, npdi), and the best record's `uri`, `rn`, `npdi`, `ported`.
    pub fn to_map(&self) -> Map {
        let mut map = Map::new();
        let (status, records, reason): (&str, &[EnumRecord], &str) = match self {
            EnumResult::Found(records) => ("ok", records, ""),
            EnumResult::NotFound => ("nxdomain", &[], ""),
            EnumResult::Failed(reason) => ("error", &[], reason),
        };
        map.insert("status".into(), Dynamic::from(status.to_string()));
        map.insert("reason".into(), Dynamic::from(reason.to_string()));
        let array: Array = records
            .iter()
            .map(|r| {
                let mut m = Map::new();
                m.insert("order".into(), Dynamic::from_int(i64::from(r.order)));
                m.insert(
                    "preference".into(),
                    Dynamic::from_int(i64::from(r.preference)),
                );
                m.insert("service".into(), Dynamic::from(r.service.clone()));
                m.insert("uri".into(), Dynamic::from(r.uri.clone()));
                m.insert("rn".into(), Dynamic::from(r.rn.clone().unwrap_or_default()));
                m.insert("npdi".into(), Dynamic::from_bool(r.npdi));
                Dynamic::from_map(m)
            })
            .collect();
        let best = records.first();
        map.insert(
            "uri".into(),
            Dynamic::from(best.map(|r| r.uri.clone()).unwrap_or_default()),
        );
        let rn = best.and_then(|r| r.rn.clone()).unwrap_or_default();
        map.insert("ported".into(), Dynamic::from_bool(!rn.is_empty()));
        map.insert("rn".into(), Dynamic::from(rn));
        map.insert(
            "npdi".into(),
            Dynamic::from_bool(best.is_some_and(|r| r.npdi)),
        );
        map.insert("records".into(), Dynamic::from_array(array));
        map
    }
}

/// `rn=` and `npdi` of a `tel:` URI (RFC 3966 parameters, RFC 4694 §4).
fn portability(uri: &str) -> (Option<String>, bool) {
    if !uri.get(..4).is_some_and(|s| s.eq_ignore_ascii_case("tel:")) {
        return (None, false);
    }
    let mut rn = None;
    let mut npdi = false;
    for parameter in uri.split(';').skip(1) {
        let (name, value) = parameter.split_once('=').unwrap_or((parameter, ""));
        if name.eq_ignore_ascii_case("rn") && !value.is_empty() {
            rn = Some(value.to_string());
        } else if name.eq_ignore_ascii_case("npdi") {
            npdi = true;
        }
    }
    (rn, npdi)
}

/// Applies an RFC 3402 §3.2 substitution expression `delim ere delim repl delim flags` to `aus`.
/// `None` when the expression is malformed or does not match.
pub fn substitute(expression: &str, aus: &str) -> Option<String> {
    let delimiter = expression.chars().next()?;
    // RFC 3402 §3.2: the delimiter is any non-digit character other than a flag ('i') or backslash.
    if delimiter.is_ascii_digit() || delimiter == '\\' || delimiter == 'i' {
        return None;
    }
    let body = expression.get(delimiter.len_utf8()..)?;
    let parts = split_unescaped(body, delimiter);
    let [ere, replacement, flags] = parts.as_slice() else {
        return None;
    };
    let case_insensitive = match flags.as_str() {
        "" => false,
        "i" => true,
        _ => return None,
    };
    let regex = regex::RegexBuilder::new(ere)
        .case_insensitive(case_insensitive)
        .size_limit(1 << 16)
        .build()
        .ok()?;
    let captures = regex.captures(aus)?;
    let mut out = String::new();
    let mut chars = replacement.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some(d @ '1'..='9') => {
                let index = d.to_digit(10).map_or(0, |n| n as usize);
                out.push_str(captures.get(index).map_or("", |m| m.as_str()));
            }
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    Some(out)
}

/// Splits on `delimiter` where it is not escaped by a backslash; escaped delimiters lose their backslash.
fn split_unescaped(text: &str, delimiter: char) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' && chars.peek() == Some(&delimiter) {
            chars.next();
            if let Some(last) = parts.last_mut() {
                last.push(delimiter);
            }
        } else if c == delimiter {
            parts.push(String::new());
        } else if let Some(last) = parts.last_mut() {
            last.push(c);
        }
    }
    parts
}

/// A cached answer with the result computed from it for one Application Unique String.
#[derive(Debug, Clone)]
struct CacheEntry {
    expires_ms: u64,
    answer: EnumAnswer,
    aus: String,
    result: EnumResult,
}

/// ENUM answers remembered by domain until their TTL passes (times on the core's clock, so hits replay). The
/// processed result (ordering, RFC 3402 substitution) is kept too, so a hit costs a map probe and a clone.
#[derive(Debug, Default)]
pub struct EnumCache {
    entries: HashMap<String, CacheEntry>,
    /// TTL of failed lookups, ms (0: not cached).
    pub failure_ttl_ms: u64,
    /// Upper bound on any TTL, ms.
    pub max_ttl_ms: u64,
    /// Most entries kept; the cache is cleared when full (simple and bounded).
    pub capacity: usize,
}

impl EnumCache {
    /// An empty cache.
    pub fn new(failure_ttl_ms: u64, max_ttl_ms: u64, capacity: usize) -> EnumCache {
        EnumCache {
            entries: HashMap::new(),
            failure_ttl_ms,
            max_ttl_ms,
            capacity,
        }
    }

    /// The cached answer for `domain`, when it has not expired at `now_ms`.
    pub fn get(&self, domain: &str, now_ms: u64) -> Option<&EnumAnswer> {
        self.entries
            .get(domain)
            .filter(|entry| entry.expires_ms > now_ms)
            .map(|entry| &entry.answer)
    }

    /// The result for `aus` (the number with its '+') from the cached answer for `domain`, if fresh.
    pub fn result(&self, domain: &str, aus: &str, now_ms: u64) -> Option<EnumResult> {
        let entry = self
            .entries
            .get(domain)
            .filter(|entry| entry.expires_ms > now_ms)?;
        Some(if entry.aus == aus {
            entry.result.clone()
        } else {
            EnumResult::from_answer(&entry.answer, aus)
        })
    }

    /// Remembers `answer` (the answer to the query for `aus`) for its TTL: the record TTL, the negative TTL for
    /// NXDOMAIN, the failure TTL for failures.
    pub fn insert(&mut self, domain: &str, answer: &EnumAnswer, aus: &str, now_ms: u64) {
        let ttl_ms = match answer {
            EnumAnswer::Records { ttl_s, .. } => u64::from(*ttl_s) * 1000,
            EnumAnswer::NxDomain { negative_ttl_s } => u64::from(*negative_ttl_s) * 1000,
            EnumAnswer::Failed { .. } => self.failure_ttl_ms,
        }
        .min(self.max_ttl_ms);
        if ttl_ms == 0 {
            return;
        }
        if self.entries.len() >= self.capacity {
            self.entries.retain(|_, entry| entry.expires_ms > now_ms);
            if self.entries.len() >= self.capacity {
                self.entries.clear();
            }
        }
        let entry = CacheEntry {
            expires_ms: now_ms + ttl_ms,
            answer: answer.clone(),
            aus: aus.to_string(),
            result: EnumResult::from_answer(answer, aus),
        };
        self.entries.insert(domain.to_string(), entry);
    }

    /// Number of entries (expired ones included until they are swept).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naptr(order: u16, preference: u16, services: &str, regexp: &str) -> Naptr {
        Naptr {
            order,
            preference,
            flags: "u".into(),
            services: services.into(),
            regexp: regexp.into(),
            replacement: ".".into(),
        }
    }

    #[test]
    fn domain_reverses_digits() {
        assert_eq!(
            enum_domain("+44 20 7946 0000", "e164.arpa.").as_deref(),
            Some("0.0.0.0.6.4.9.7.0.2.4.4.e164.arpa")
        );
        assert_eq!(enum_domain("+", "e164.arpa"), None);
    }

    #[test]
    fn substitution_rules() {
        assert_eq!(
            substitute("!^.*$!sip:info@example.com!", "+441234").as_deref(),
            Some("sip:info@example.com")
        );
        assert_eq!(
            substitute("!^\\+(.*)$!sip:\\1@10.0.0.1!", "+441234").as_deref(),
            Some("sip:441234@10.0.0.1")
        );
        assert_eq!(
            substitute("/^(\\+44)(.*)$/tel:\\1\\2;npdi;rn=+4499\\2/", "+441234").as_deref(),
            Some("tel:+441234;npdi;rn=+44991234")
        );
        assert_eq!(substitute("!^\\+1.*$!x!", "+44"), None, "no match");
        assert_eq!(substitute("!^(.*$!x!", "+44"), None, "bad ERE");
        assert_eq!(substitute("!a!b", "+44"), None, "missing delimiter");
        assert_eq!(substitute("1a1b1", "+44"), None, "digit delimiter");
        assert_eq!(
            substitute("!^X$!y!i", "x").as_deref(),
            Some("y"),
            "case flag"
        );
    }

    #[test]
    fn order_preference_and_portability() {
        let answer = EnumAnswer::Records {
            records: vec![
                naptr(20, 10, "E2U+sip", "!^.*$!sip:late@h!"),
                naptr(10, 20, "E2U+sip", "!^.*$!sip:second@h!"),
                naptr(10, 10, "E2U+pstn:tel", "!^(.*)$!tel:\\1;npdi;rn=+4930999!"),
                Naptr {
                    flags: String::new(),
                    ..naptr(1, 1, "E2U+sip", "!^.*$!sip:nonterminal@h!")
                },
                naptr(1, 1, "X-other", "!^.*$!sip:other@h!"),
            ],
            ttl_s: 60,
        };
        let EnumResult::Found(records) = EnumResult::from_answer(&answer, "+4930123") else {
            panic!("found");
        };
        let uris: Vec<&str> = records.iter().map(|r| r.uri.as_str()).collect();
        assert_eq!(
            uris,
            [
                "tel:+4930123;npdi;rn=+4930999",
                "sip:second@h",
                "sip:late@h"
            ]
        );
        assert_eq!(records[0].rn.as_deref(), Some("+4930999"));
        assert!(records[0].npdi);
        assert_eq!(records[1].rn, None);
        let map = EnumResult::Found(records).to_map();
        assert!(map["ported"].as_bool().unwrap());
        assert_eq!(
            EnumResult::from_answer(&EnumAnswer::NxDomain { negative_ttl_s: 5 }, "+1"),
            EnumResult::NotFound
        );
    }

    #[test]
    fn cache_ttl_and_negative_entries() {
        let mut cache = EnumCache::new(0, 3_600_000, 2);
        let found = EnumAnswer::Records {
            records: vec![],
            ttl_s: 10,
        };
        cache.insert("a", &found, "+1", 1000);
        assert!(cache.get("a", 10_999).is_some());
        assert!(cache.get("a", 11_000).is_none(), "expired");
        cache.insert("b", &EnumAnswer::NxDomain { negative_ttl_s: 1 }, "+1", 0);
        assert_eq!(cache.result("b", "+1", 5), Some(EnumResult::NotFound));
        assert!(cache.get("b", 999).is_some());
        cache.insert(
            "c",
            &EnumAnswer::Failed {
                reason: "timeout".into(),
            },
            "+1",
            0,
        );
        assert!(
            cache.get("c", 0).is_none(),
            "failures not cached with ttl 0"
        );
        cache.insert("d", &found, "+1", 20_000);
        assert!(cache.len() <= 2, "bounded");
        assert!(cache.get("d", 20_001).is_some());
    }
}
