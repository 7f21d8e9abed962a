//! HTTP Digest authentication for SIP (RFC 3261 §22, updated by RFC 8760 to the algorithms of RFC 7616).
//!
//! Owns the credential check: challenges (`WWW-Authenticate` / `Proxy-Authenticate`) offering SHA-256 and
//! MD5 with `qop="auth"`, parsing of `Authorization` / `Proxy-Authorization`, the response computation of
//! RFC 7616 §3.4.1, nonces and nonce-count tracking. Nonces carry their issue time and a keyed hash over it
//! (RFC 7616 §3.3 leaves the form to the server): the key comes from the core's seed and the time from the
//! core's clock, so the same recorded inputs issue and accept the same nonces on replay. A nonce older than
//! the lifetime is answered with a fresh challenge marked `stale=true` (RFC 7616 §3.3); a nonce-count that
//! does not grow is refused as a replay (RFC 7616 §3.4.5).

use std::collections::HashMap;

use md5::Md5;
use sha2::{Digest as _, Sha256};

/// A digest algorithm of RFC 8760 that tandem accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// MD5 (RFC 2617; kept for old clients).
    Md5,
    /// SHA-256 (RFC 7616, RFC 8760), offered first.
    Sha256,
}

impl Algorithm {
    /// The token of the `algorithm` parameter.
    pub fn token(self) -> &'static str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Sha256 => "SHA-256",
        }
    }

    /// The algorithm an `algorithm` parameter names (absent means MD5, RFC 7616 §3.3).
    pub fn from_token(token: Option<&str>) -> Option<Algorithm> {
        match token {
            None => Some(Algorithm::Md5),
            Some(t) if t.eq_ignore_ascii_case("MD5") => Some(Algorithm::Md5),
            Some(t) if t.eq_ignore_ascii_case("SHA-256") => Some(Algorithm::Sha256),
            Some(_) => None,
        }
    }

    /// Lowercase hex of the hash of `data`.
    pub fn hash(self, data: &str) -> String {
        match self {
            Algorithm::Md5 => crate::hex::encode(&Md5::digest(data.as_bytes())),
            Algorithm::Sha256 => crate::hex::encode(&Sha256::digest(data.as_bytes())),
        }
    }
}

/// H(username:realm:password), RFC 7616 §3.4.2.
pub fn ha1(algorithm: Algorithm, username: &str, realm: &str, password: &str) -> String {
    algorithm.hash(&format!("{username}:{realm}:{password}"))
}

/// The `response` of RFC 7616 §3.4.1 for `qop=auth` (or RFC 2069's form when `qop` is absent).
pub fn response(algorithm: Algorithm, ha1: &str, method: &str, c: &Credentials) -> String {
    let ha2 = algorithm.hash(&format!("{method}:{}", c.uri));
    match &c.qop {
        Some(qop) => algorithm.hash(&format!(
            "{ha1}:{}:{}:{}:{qop}:{ha2}",
            c.nonce,
            c.nc.as_deref().unwrap_or_default(),
            c.cnonce.as_deref().unwrap_or_default()
        )),
        None => algorithm.hash(&format!("{ha1}:{}:{ha2}", c.nonce)),
    }
}

/// The parameters of an `Authorization` / `Proxy-Authorization` header with the `Digest` scheme.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Credentials {
    /// `username`.
    pub username: String,
    /// `realm`.
    pub realm: String,
    /// `nonce`.
    pub nonce: String,
    /// `uri` (the digest-uri).
    pub uri: String,
    /// `response`.
    pub response: String,
    /// `algorithm` as written.
    pub algorithm: Option<String>,
    /// `cnonce`.
    pub cnonce: Option<String>,
    /// `nc` (8 hex digits).
    pub nc: Option<String>,
    /// `qop`.
    pub qop: Option<String>,
}

/// Parses a `Digest` credentials header value; `None` when the scheme is not Digest or a required
/// parameter is missing.
pub fn parse_credentials(value: &str) -> Option<Credentials> {
    let value = value.trim_start();
    let scheme = value.get(..6)?;
    if !scheme.eq_ignore_ascii_case("digest") {
        return None;
    }
    let params = parse_params(value.get(6..)?);
    let get = |name: &str| params.get(name).cloned();
    Some(Credentials {
        username: get("username")?,
        realm: get("realm")?,
        nonce: get("nonce")?,
        uri: get("uri")?,
        response: get("response")?,
        algorithm: get("algorithm"),
        cnonce: get("cnonce"),
        nc: get("nc"),
        qop: get("qop"),
    })
}

/// `name=value` pairs separated by commas, values plain or quoted (backslash escapes honoured).
fn parse_params(text: &str) -> HashMap<String, String> {
    let mut params = HashMap::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace() || *c == ',') {
            chars.next();
        }
        let name: String = chars
            .by_ref()
            .take_while(|c| *c != '=')
            .collect::<String>()
            .trim()
            .to_ascii_lowercase();
        if name.is_empty() {
            return params;
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next()),
                    '"' => break,
                    other => value.push(other),
                }
            }
        } else {
            while let Some(c) = chars.peek().copied() {
                if c == ',' {
                    break;
                }
                value.push(c);
                chars.next();
            }
            value = value.trim().to_string();
        }
        params.insert(name, value);
    }
}

/// One user's stored secrets: H(A1) per algorithm (from a password, or given as `ha1`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// The username (also the registrar's address-of-record user part).
    pub name: String,
    /// The realm the H(A1) values were computed for.
    pub realm: String,
    /// H(A1) with MD5, if known.
    pub ha1_md5: Option<String>,
    /// H(A1) with SHA-256, if known.
    pub ha1_sha256: Option<String>,
}

impl User {
    /// A user whose secrets are computed from the plain password for both algorithms.
    pub fn with_password(name: &str, realm: &str, password: &str) -> User {
        User {
            name: name.to_string(),
            realm: realm.to_string(),
            ha1_md5: Some(ha1(Algorithm::Md5, name, realm, password)),
            ha1_sha256: Some(ha1(Algorithm::Sha256, name, realm, password)),
        }
    }

    fn ha1(&self, algorithm: Algorithm) -> Option<&str> {
        match algorithm {
            Algorithm::Md5 => self.ha1_md5.as_deref(),
            Algorithm::Sha256 => self.ha1_sha256.as_deref(),
        }
    }
}

/// The verdict on a request's credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The credentials are valid for this user.
    Authenticated(String),
    /// No credentials for our realm: challenge.
    Missing,
    /// Right password, but the nonce is too old: challenge with `stale=true`.
    Stale,
    /// Wrong response, unknown user, bad nonce or a replayed nonce-count: challenge again.
    Failed(String),
}

/// Issues challenges and checks credentials (see the module documentation).
#[derive(Debug, Clone)]
pub struct Authenticator {
    realm: String,
    users: HashMap<String, User>,
    key: u64,
    nonce_lifetime_ms: u64,
    /// Algorithms offered, in order of preference.
    algorithms: Vec<Algorithm>,
    /// Highest nonce-count seen per nonce still alive (RFC 7616 §3.4.5 replay protection).
    counts: HashMap<String, (u64, u32)>,
}

impl Authenticator {
    /// An authenticator for `realm`, keyed from the core's seed.
    pub fn new(realm: &str, users: Vec<User>, seed: u64, nonce_lifetime_ms: u64) -> Self {
        Authenticator {
            realm: realm.to_string(),
            users: users.into_iter().map(|u| (u.name.clone(), u)).collect(),
            // A fixed tweak keeps the nonce key apart from the identifiers drawn from the same seed.
            key: seed ^ 0x6e6f_6e63_655f_6b65,
            nonce_lifetime_ms,
            algorithms: vec![Algorithm::Sha256, Algorithm::Md5],
            counts: HashMap::new(),
        }
    }

    /// Replaces the users (a reload); nonces already issued stay valid for the users still there.
    pub fn set_users(&mut self, users: Vec<User>) {
        self.users = users.into_iter().map(|u| (u.name.clone(), u)).collect();
    }

    /// Offers `algorithms` in this order instead of SHA-256 then MD5 (an empty list keeps the default).
    pub fn with_algorithms(mut self, algorithms: &[Algorithm]) -> Self {
        if !algorithms.is_empty() {
            self.algorithms = algorithms.to_vec();
        }
        self
    }

    /// Whether any user is configured (authentication is in force only then).
    pub fn has_users(&self) -> bool {
        !self.users.is_empty()
    }

    /// The realm.
    pub fn realm(&self) -> &str {
        &self.realm
    }

    fn nonce_mac(&self, issued_ms: u64) -> String {
        let hash = Algorithm::Sha256.hash(&format!("{:016x}:{issued_ms}:{}", self.key, self.realm));
        hash.get(..32).unwrap_or_default().to_string()
    }

    /// A nonce issued at `now_ms`.
    pub fn nonce(&self, now_ms: u64) -> String {
        format!("{now_ms:x}.{}", self.nonce_mac(now_ms))
    }

    /// The challenge header values, one per offered algorithm, the preferred first (RFC 8760 §2.4; by
    /// default SHA-256, then MD5).
    pub fn challenges(&self, now_ms: u64, stale: bool) -> Vec<String> {
        let nonce = self.nonce(now_ms);
        self.algorithms
            .iter()
            .map(|algorithm| {
                let stale = if stale { ", stale=true" } else { "" };
                format!(
                    "Digest realm=\"{}\", nonce=\"{nonce}\", algorithm={}, qop=\"auth\"{stale}",
                    self.realm,
                    algorithm.token()
                )
            })
            .collect()
    }

    /// Checks the credentials in `header_values` (every Authorization or Proxy-Authorization value of the
    /// request) for `method`; a successful check records the nonce-count.
    pub fn verify(&mut self, method: &str, header_values: &[String], now_ms: u64) -> Verdict {
        self.counts
            .retain(|_, (issued, _)| issued.saturating_add(self.nonce_lifetime_ms) > now_ms);
        let Some(credentials) = header_values
            .iter()
            .filter_map(|v| parse_credentials(v))
            .find(|c| c.realm == self.realm)
        else {
            return Verdict::Missing;
        };
        let algorithm = Algorithm::from_token(credentials.algorithm.as_deref())
            .filter(|a| self.algorithms.contains(a));
        let Some(algorithm) = algorithm else {
            return Verdict::Failed(format!("unsupported algorithm {:?}", credentials.algorithm));
        };
        let Some(ha1) = self
            .users
            .get(&credentials.username)
            .and_then(|u| u.ha1(algorithm))
        else {
            return Verdict::Failed(format!(
                "no {} secret for user {:?}",
                algorithm.token(),
                credentials.username
            ));
        };
        let Some(issued) = self.check_nonce(&credentials.nonce) else {
            return Verdict::Failed("nonce not issued by us".into());
        };
        if response(algorithm, ha1, method, &credentials) != credentials.response.to_lowercase() {
            return Verdict::Failed(format!(
                "wrong digest response for user {:?}",
                credentials.username
            ));
        }
        if issued.saturating_add(self.nonce_lifetime_ms) <= now_ms {
            return Verdict::Stale;
        }
        if credentials.qop.is_some() {
            let nc = credentials
                .nc
                .as_deref()
                .and_then(|nc| u32::from_str_radix(nc, 16).ok());
            let Some(nc) = nc else {
                return Verdict::Failed("qop without a usable nc".into());
            };
            let seen = self.counts.get(&credentials.nonce).map_or(0, |(_, n)| *n);
            if nc <= seen {
                return Verdict::Failed(format!("nonce-count {nc} not above {seen} (replay)"));
            }
            self.counts.insert(credentials.nonce.clone(), (issued, nc));
        }
        Verdict::Authenticated(credentials.username)
    }

    /// The issue time of a nonce we issued, or `None` for a forged one.
    fn check_nonce(&self, nonce: &str) -> Option<u64> {
        let (time, mac) = nonce.split_once('.')?;
        let issued = u64::from_str_radix(time, 16).ok()?;
        (self.nonce_mac(issued) == mac).then_some(issued)
    }
}
