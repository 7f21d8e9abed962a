//! The registrar, digest-authentication and keep-alive parts of `[sip]`: `[[sip.user]]`, `[[sip.peer]]` and
//! `trusted_peers`, turned into what the SIP endpoint takes (RFC 3261 §10, §22; RFC 8760).

use serde::Deserialize;

use super::SipConfig;

/// `[[sip.user]]`: one user; give `password`, or `ha1` (MD5) and/or `ha1_sha256`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct SipUser {
    /// Username (the user part of its address-of-record).
    pub name: String,
    /// Plain password (both H(A1) values are computed from it).
    #[serde(default)]
    pub password: Option<String>,
    /// H(username:realm:password) with MD5, hex.
    #[serde(default)]
    pub ha1: Option<String>,
    /// H(username:realm:password) with SHA-256, hex.
    #[serde(default)]
    pub ha1_sha256: Option<String>,
    /// Realm of the H(A1) values; absent: `[sip] realm`.
    #[serde(default)]
    pub realm: Option<String>,
}

impl SipUser {
    /// Why this user cannot be used, if it cannot: it needs a name and either a password or H(A1) values of the
    /// right length (32 hex digits for MD5, 64 for SHA-256).
    pub fn problem(&self) -> Option<String> {
        let is_hex =
            |h: &str, len: usize| h.len() == len && h.bytes().all(|b| b.is_ascii_hexdigit());
        let has_ha1 = self.ha1.is_some() || self.ha1_sha256.is_some();
        if self.name.is_empty() {
            Some("a user needs a name".to_string())
        } else if self.password.is_some() == has_ha1 {
            Some(format!(
                "user {:?} needs either password or ha1/ha1_sha256",
                self.name
            ))
        } else if self.ha1.as_deref().is_some_and(|h| !is_hex(h, 32))
            || self.ha1_sha256.as_deref().is_some_and(|h| !is_hex(h, 64))
        {
            Some(format!(
                "user {:?}: ha1 is 32 hex digits, ha1_sha256 64",
                self.name
            ))
        } else {
            None
        }
    }
}

/// `[[sip.peer]]`: a peer pinged with OPTIONS.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct SipPeer {
    /// Name for logs.
    pub name: String,
    /// `sip:` URI with an IP literal host.
    pub uri: String,
    /// Ping interval; 0 disables pings.
    #[serde(default = "default_keepalive_interval")]
    pub keepalive_interval_ms: u64,
    /// Unanswered pings in a row before the peer is down.
    #[serde(default = "default_keepalive_failures")]
    pub keepalive_failures: u32,
}

fn default_keepalive_interval() -> u64 {
    30_000
}

fn default_keepalive_failures() -> u32 {
    3
}

impl SipConfig {
    /// The endpoint's users, with H(A1) computed from passwords.
    pub fn digest_users(&self) -> Vec<crate::sip::digest::User> {
        self.digest_users_of(&self.user)
    }

    /// `users` as the endpoint takes them (a realm left out is `[sip] realm`).
    pub fn digest_users_of(&self, users: &[SipUser]) -> Vec<crate::sip::digest::User> {
        users
            .iter()
            .map(|u| {
                let realm = u.realm.clone().unwrap_or_else(|| self.realm.clone());
                match &u.password {
                    Some(password) => {
                        crate::sip::digest::User::with_password(&u.name, &realm, password)
                    }
                    None => crate::sip::digest::User {
                        name: u.name.clone(),
                        realm,
                        ha1_md5: u.ha1.as_ref().map(|h| h.to_ascii_lowercase()),
                        ha1_sha256: u.ha1_sha256.as_ref().map(|h| h.to_ascii_lowercase()),
                    },
                }
            })
            .collect()
    }

    /// The digest algorithms offered; unknown names are skipped (validation reports them).
    pub fn digest_algorithm_list(&self) -> Vec<crate::sip::digest::Algorithm> {
        self.digest_algorithms
            .iter()
            .filter_map(|a| crate::sip::digest::Algorithm::from_token(Some(a)))
            .collect()
    }

    /// The trusted sources; entries that do not parse are skipped (validation reports them).
    pub fn trusted_sources(&self) -> Vec<crate::sip::peers::TrustedSource> {
        self.trusted_peers
            .iter()
            .filter_map(|t| crate::sip::peers::TrustedSource::parse(t))
            .collect()
    }

    /// The keep-alive peers; peers without an IP-literal URI are skipped (validation reports them).
    pub fn keepalive_peers(&self) -> Vec<crate::sip::peers::PeerConfig> {
        self.peer
            .iter()
            .filter_map(|p| {
                Some(crate::sip::peers::PeerConfig {
                    name: p.name.clone(),
                    uri: p.uri.clone(),
                    destination: crate::sip::socket_addr_of_uri(&p.uri)?,
                    transport: if p.uri.to_ascii_lowercase().contains("transport=tcp") {
                        crate::sip::TransportKind::Tcp
                    } else {
                        crate::sip::TransportKind::Udp
                    },
                    interval_ms: p.keepalive_interval_ms,
                    failures_before_down: p.keepalive_failures,
                })
            })
            .collect()
    }
}
