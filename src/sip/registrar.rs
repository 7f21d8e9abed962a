//! The registrar: bindings of addresses-of-record to contacts (RFC 3261 §10.3), with RFC 5626 basics.
//!
//! Sans-IO and inside the core, so bindings are state derived from recorded inputs and replay stays exact:
//! a REGISTER (already authenticated by the endpoint) goes through [`Registrar::register`], which checks the
//! whole request first and changes nothing when it fails (§10.3 step 7: "the update MUST be aborted"). Each
//! binding keeps its contact, q-value, expiry on the core's clock, the Call-ID and CSeq that last refreshed
//! it, the source address and transport the REGISTER came from (the flow requests to the contact go back on,
//! RFC 5626 §5.3) and the `+sip.instance` / `reg-id` of RFC 5626 §4.2 (a binding with both is matched by
//! them instead of by its URI; `reg-id` counts only with `Supported: outbound`, §6). When a connection closes,
//! [`Registrar::flow_closed`] marks the bindings reachable only on it `FlowFailed` (§5.3): they are skipped by
//! [`Registrar::lookup`] until refreshed on a new flow or expired. Every change of a binding is recorded as a
//! `sip.binding` transition through one door, [`Registrar::set_binding`]; expiries happen in
//! [`Registrar::expire`], which the endpoint calls from its timer.

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;

use super::{Transition, TransportKind};

/// Registrar limits, `[sip]` `min_expires`, `max_expires`, `default_expires`, `max_contacts`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegistrarConfig {
    /// Shorter non-zero expiries are refused with 423 and `Min-Expires` (RFC 3261 §10.3 step 7).
    pub min_expires_s: u32,
    /// Longer expiries are shortened to this.
    pub max_expires_s: u32,
    /// Expiry when neither the contact nor the request gives one.
    pub default_expires_s: u32,
    /// Most bindings per address-of-record; more are refused with 403.
    pub max_contacts: usize,
    /// RFC 5626 §5.4 `Flow-Timer` (seconds) sent in the 200 to an outbound REGISTER.
    pub flow_timer_s: u32,
}

impl Default for RegistrarConfig {
    fn default() -> Self {
        RegistrarConfig {
            min_expires_s: 60,
            max_expires_s: 7200,
            default_expires_s: 3600,
            max_contacts: 10,
            flow_timer_s: 120,
        }
    }
}

/// One binding of an address-of-record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// The contact URI as registered.
    pub uri: String,
    /// q-value in thousandths (1000 when absent).
    pub q: u16,
    /// Expiry on the core's clock.
    pub expires_at_ms: u64,
    /// Call-ID of the REGISTER that last refreshed the binding.
    pub call_id: String,
    /// Its CSeq.
    pub cseq: u32,
    /// Where that REGISTER came from: requests to the contact are sent there (the flow).
    pub source: SocketAddr,
    /// The transport it came on.
    pub transport: TransportKind,
    /// RFC 5626 `+sip.instance`.
    pub instance: Option<String>,
    /// RFC 5626 `reg-id`.
    pub reg_id: Option<u32>,
    /// The flow this binding is reached on has closed (RFC 5626 §5.3: a request for it "MUST NOT" be sent
    /// another way); it stays until refreshed on a new flow, unregistered or expired, but is not looked up.
    pub flow_failed: bool,
}

impl Binding {
    /// Whether requests to this binding can only go back on its flow: the transports whose flows are reused
    /// (TLS, WS, WSS: a WebSocket client cannot be connected to, RFC 7118 §5) and RFC 5626 outbound bindings
    /// on TCP.
    pub fn flow_bound(&self) -> bool {
        self.transport.reuses_flow() || (self.transport == TransportKind::Tcp && self.outbound())
    }

    /// Whether the binding was registered with RFC 5626 outbound (`+sip.instance` and `reg-id`).
    pub fn outbound(&self) -> bool {
        self.instance.is_some() && self.reg_id.is_some()
    }

    /// The state name recorded in `sip.binding` transitions.
    fn state(&self) -> &'static str {
        if self.flow_failed {
            "FlowFailed"
        } else {
            "Bound"
        }
    }

    fn same_as(&self, other: &Binding) -> bool {
        match (&self.instance, self.reg_id, &other.instance, other.reg_id) {
            (Some(a), Some(x), Some(b), Some(y)) => a == b && x == y,
            _ => self.uri.eq_ignore_ascii_case(&other.uri),
        }
    }
}

/// A REGISTER as the registrar needs it.
#[derive(Debug, Clone)]
pub struct RegisterRequest {
    /// User part of the To URI (the address-of-record).
    pub aor: String,
    /// Call-ID.
    pub call_id: String,
    /// CSeq number.
    pub cseq: u32,
    /// The `Expires` header, if any.
    pub expires: Option<u32>,
    /// Every Contact header value, unsplit.
    pub contact_values: Vec<String>,
    /// Source address of the request.
    pub source: SocketAddr,
    /// Transport it came on.
    pub transport: TransportKind,
    /// The request lists `outbound` in Supported (RFC 5626 §5.2); without it a `reg-id` is ignored (§6).
    pub outbound: bool,
}

/// A refused REGISTER: the status and the headers to add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// Status code (400, 403, 423, 500).
    pub status: u16,
    /// Extra headers (e.g. `Min-Expires`).
    pub headers: Vec<(String, String)>,
    /// Why, for the log.
    pub reason: String,
}

fn refuse(status: u16, reason: impl Into<String>) -> Refusal {
    Refusal {
        status,
        headers: Vec::new(),
        reason: reason.into(),
    }
}

/// One parsed Contact: `*`, or a URI with its parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
enum ContactSpec {
    Star,
    Uri {
        uri: String,
        expires: Option<u32>,
        q: Option<u16>,
        instance: Option<String>,
        reg_id: Option<u32>,
    },
}

/// Bindings per address-of-record (see the module documentation).
#[derive(Debug, Clone, Default)]
pub struct Registrar {
    cfg: RegistrarConfig,
    bindings: BTreeMap<String, Vec<Binding>>,
    transitions: VecDeque<Transition>,
}

impl Registrar {
    /// An empty registrar.
    pub fn new(cfg: RegistrarConfig) -> Self {
        Registrar {
            cfg,
            ..Registrar::default()
        }
    }

    /// Applies a REGISTER; returns the `Contact` values of the 200 (every current binding with its remaining
    /// expiry), or the refusal. A refused request changes nothing.
    pub fn register(
        &mut self,
        request: &RegisterRequest,
        now_ms: u64,
    ) -> Result<Vec<(String, String)>, Refusal> {
        self.expire(now_ms);
        let mut specs = Vec::new();
        for value in &request.contact_values {
            for part in split_contacts(value) {
                specs.push(
                    parse_contact(&part)
                        .ok_or_else(|| refuse(400, format!("unreadable Contact {part:?}")))?,
                );
            }
        }
        let current = self.bindings.get(&request.aor).cloned().unwrap_or_default();
        let mut next = current.clone();
        if specs.contains(&ContactSpec::Star) {
            // RFC 3261 §10.3 step 6: `*` only alone and only with Expires: 0.
            if specs.len() != 1 || request.expires != Some(0) {
                return Err(refuse(
                    400,
                    "Contact * needs Expires: 0 and no other contact",
                ));
            }
            if let Some(b) = current
                .iter()
                .find(|b| b.call_id == request.call_id && b.cseq >= request.cseq)
            {
                return Err(refuse(
                    500,
                    format!("CSeq {} not above {} of {}", request.cseq, b.cseq, b.uri),
                ));
            }
            next.clear();
        }
        for spec in &specs {
            let ContactSpec::Uri {
                uri,
                expires,
                q,
                instance,
                reg_id,
            } = spec
            else {
                continue;
            };
            let expires = expires
                .or(request.expires)
                .unwrap_or(self.cfg.default_expires_s);
            if expires != 0 && expires < self.cfg.min_expires_s {
                return Err(Refusal {
                    status: 423,
                    headers: vec![("Min-Expires".into(), self.cfg.min_expires_s.to_string())],
                    reason: format!("expiry {expires} s below {}", self.cfg.min_expires_s),
                });
            }
            let expires = expires.min(self.cfg.max_expires_s);
            let binding = Binding {
                uri: uri.clone(),
                q: q.unwrap_or(1000),
                expires_at_ms: now_ms.saturating_add(u64::from(expires) * 1000),
                call_id: request.call_id.clone(),
                cseq: request.cseq,
                source: request.source,
                transport: request.transport,
                instance: instance.clone(),
                reg_id: reg_id.filter(|_| request.outbound),
                flow_failed: false,
            };
            let existing = next.iter().position(|b| b.same_as(&binding));
            if let Some(index) = existing {
                let old = next.get(index).cloned();
                // §10.3 step 7: same Call-ID needs a higher CSeq, or the update is aborted.
                if let Some(old) =
                    old.filter(|o| o.call_id == binding.call_id && o.cseq >= binding.cseq)
                {
                    return Err(refuse(
                        500,
                        format!(
                            "CSeq {} not above {} of {}",
                            binding.cseq, old.cseq, old.uri
                        ),
                    ));
                }
                next.remove(index);
            }
            if expires > 0 {
                next.push(binding);
            }
        }
        if next.len() > self.cfg.max_contacts {
            return Err(refuse(
                403,
                format!("more than {} contacts", self.cfg.max_contacts),
            ));
        }
        self.commit(&request.aor, current, next, now_ms);
        Ok(self.contact_headers(&request.aor, now_ms))
    }

    /// The headers RFC 5626 §6 adds to the 200 of an outbound REGISTER (Supported: outbound and a contact
    /// with `+sip.instance` and `reg-id`): `Require: outbound`, and the `Flow-Timer` telling the client how
    /// often to send keep-alives on the flow (§5.4). Empty otherwise.
    pub fn outbound_headers(&self, request: &RegisterRequest) -> Vec<(String, String)> {
        let outbound_contact = request
            .contact_values
            .iter()
            .flat_map(|v| split_contacts(v))
            .filter_map(|part| parse_contact(&part))
            .any(|spec| {
                matches!(spec, ContactSpec::Uri { instance: Some(_), reg_id: Some(_), expires, .. }
                    if expires.or(request.expires) != Some(0))
            });
        if !(request.outbound && outbound_contact) {
            return Vec::new();
        }
        vec![
            ("Require".to_string(), "outbound".to_string()),
            ("Flow-Timer".to_string(), self.cfg.flow_timer_s.to_string()),
        ]
    }

    /// Records the differences between `old` and `new` bindings of `aor` and stores `new`.
    fn commit(&mut self, aor: &str, old: Vec<Binding>, new: Vec<Binding>, now_ms: u64) {
        for gone in old.iter().filter(|o| !new.iter().any(|n| n.same_as(o))) {
            self.set_binding(aor, &gone.uri, gone.state(), "Unbound", "unregistered");
        }
        for binding in &new {
            let remaining = binding.expires_at_ms.saturating_sub(now_ms) / 1000;
            let from = old
                .iter()
                .find(|o| o.same_as(binding))
                .map_or("Unbound", Binding::state);
            let reason = format!("REGISTER from {} expires={remaining}", binding.source);
            self.set_binding(aor, &binding.uri, from, "Bound", &reason);
        }
        if new.is_empty() {
            self.bindings.remove(aor);
        } else {
            self.bindings.insert(aor.to_string(), new);
        }
    }

    /// The one door for binding changes: records a `sip.binding` transition.
    fn set_binding(&mut self, aor: &str, uri: &str, from: &str, to: &str, reason: &str) {
        self.transitions.push_back(Transition {
            machine: "sip.binding",
            id: format!("{aor} {uri}"),
            from: from.to_string(),
            to: to.to_string(),
            reason: reason.to_string(),
        });
    }

    /// Removes every binding whose expiry has passed.
    pub fn expire(&mut self, now_ms: u64) {
        let mut gone = Vec::new();
        for (aor, list) in &mut self.bindings {
            list.retain(|b| {
                let alive = b.expires_at_ms > now_ms;
                if !alive {
                    gone.push((aor.clone(), b.uri.clone(), b.state()));
                }
                alive
            });
        }
        self.bindings.retain(|_, list| !list.is_empty());
        for (aor, uri, state) in gone {
            self.set_binding(&aor, &uri, state, "Unbound", "expired");
        }
    }

    /// The connection `transport`/`source` closed: every binding that can only be reached on that flow
    /// becomes unreachable (RFC 5626 §5.3, §7: the proxy skips it and tries the next binding). Returns the
    /// address-of-record and URI of each binding this changed.
    pub fn flow_closed(
        &mut self,
        transport: TransportKind,
        source: SocketAddr,
    ) -> Vec<(String, String)> {
        let mut failed = Vec::new();
        for (aor, list) in &mut self.bindings {
            for binding in list.iter_mut().filter(|b| {
                !b.flow_failed && b.transport == transport && b.source == source && b.flow_bound()
            }) {
                binding.flow_failed = true;
                failed.push((aor.clone(), binding.uri.clone()));
            }
        }
        let reason = format!("{transport:?} flow from {source} closed");
        for (aor, uri) in &failed {
            self.set_binding(aor, uri, "Bound", "FlowFailed", &reason);
        }
        failed
    }

    /// The earliest binding expiry.
    pub fn next_expiry(&self) -> Option<u64> {
        self.bindings
            .values()
            .flatten()
            .map(|b| b.expires_at_ms)
            .min()
    }

    /// The live, reachable bindings of `aor`, highest q first (the oldest registration first among equals).
    pub fn lookup(&self, aor: &str, now_ms: u64) -> Vec<&Binding> {
        let mut list: Vec<&Binding> = self
            .bindings
            .get(aor)
            .map(|l| {
                l.iter()
                    .filter(|b| b.expires_at_ms > now_ms && !b.flow_failed)
                    .collect()
            })
            .unwrap_or_default();
        list.sort_by_key(|b| std::cmp::Reverse(b.q));
        list
    }

    /// `Contact` headers listing the current bindings of `aor` with their remaining expiry (§10.3 step 8).
    pub fn contact_headers(&self, aor: &str, now_ms: u64) -> Vec<(String, String)> {
        self.lookup(aor, now_ms)
            .into_iter()
            .map(|b| {
                let remaining = b.expires_at_ms.saturating_sub(now_ms).div_ceil(1000);
                let mut value = format!("<{}>;expires={remaining}", b.uri);
                if b.q != 1000 {
                    value.push_str(&format!(";q={}", format_q(b.q)));
                }
                if let (Some(instance), Some(reg_id)) = (&b.instance, b.reg_id) {
                    value.push_str(&format!(";+sip.instance=\"{instance}\";reg-id={reg_id}"));
                }
                ("Contact".to_string(), value)
            })
            .collect()
    }

    /// Next recorded binding transition.
    pub fn poll_transition(&mut self) -> Option<Transition> {
        self.transitions.pop_front()
    }
}

fn format_q(q: u16) -> String {
    let text = format!("{}.{:03}", q / 1000, q % 1000);
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// Splits a Contact header value at the commas between contacts (not inside `<>` or quotes).
fn split_contacts(value: &str) -> Vec<String> {
    let (mut parts, mut current) = (Vec::new(), String::new());
    let (mut in_angle, mut in_quote, mut escaped) = (false, false, false);
    for c in value.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_quote => escaped = true,
            '"' => in_quote = !in_quote,
            '<' if !in_quote => in_angle = true,
            '>' if !in_quote => in_angle = false,
            ',' if !in_angle && !in_quote => {
                parts.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    parts.push(current);
    parts
        .into_iter()
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect()
}

/// One contact: `*`, `"name" <uri>;params` or `uri;params` (RFC 3261 §20.10: without angle brackets the
/// parameters belong to the header).
fn parse_contact(text: &str) -> Option<ContactSpec> {
    if text == "*" {
        return Some(ContactSpec::Star);
    }
    let (uri, params) = match text.find('<') {
        Some(open) => {
            let rest = text.get(open + 1..)?;
            let close = rest.find('>')?;
            (rest.get(..close)?, rest.get(close + 1..)?)
        }
        None => text.split_once(';').unwrap_or((text, "")),
    };
    let uri = uri.trim();
    if uri.is_empty() || !uri.contains(':') {
        return None;
    }
    let (mut expires, mut q, mut instance, mut reg_id) = (None, None, None, None);
    for param in params.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, value) = param.split_once('=').unwrap_or((param, ""));
        let value = value.trim().trim_matches('"');
        match name.trim().to_ascii_lowercase().as_str() {
            "expires" => expires = Some(value.parse().ok()?),
            "q" => q = Some(parse_q(value)?),
            "+sip.instance" => instance = Some(value.to_string()),
            "reg-id" => reg_id = Some(value.parse().ok()?),
            _ => {}
        }
    }
    Some(ContactSpec::Uri {
        uri: uri.to_string(),
        expires,
        q,
        instance,
        reg_id,
    })
}

/// A q-value (RFC 3261 §20.10: 0 to 1 with up to three decimals) in thousandths.
fn parse_q(text: &str) -> Option<u16> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let whole: u16 = whole.parse().ok()?;
    let fraction: u16 = if fraction.is_empty() {
        0
    } else {
        format!("{fraction:0<3}").parse().ok()?
    };
    let q = whole.checked_mul(1000)?.checked_add(fraction)?;
    (q <= 1000).then_some(q)
}
