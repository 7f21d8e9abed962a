//! Dialog state (RFC 3261 §12): identifiers, route set, remote target and CSeq counters, and
//! the construction of in-dialog requests (ACK for 2xx, BYE) per §12.2.1.1.
//!
//! Strict routing (a first route without `lr`, §12.2.1.1 second case) is not supported: the
//! Request-URI is always the remote target and the route set goes into Route headers.

use std::net::{IpAddr, SocketAddr};

use super::message::{BuildError, Method, NameAddr, Request, RequestBuilder};

/// Key identifying a dialog from this endpoint's point of view: Call-ID, local tag, remote tag.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DialogId {
    /// Call-ID.
    pub call_id: String,
    /// Our tag.
    pub local_tag: String,
    /// The peer's tag.
    pub remote_tag: String,
}

/// One confirmed (or early-confirmed) dialog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dialog {
    /// The identifiers.
    pub id: DialogId,
    /// Our URI (From of our requests), without tag.
    pub local_uri: String,
    /// The peer's URI (To of our requests), without tag.
    pub remote_uri: String,
    /// The peer's Contact URI (§12.1.1/§12.1.2 remote target).
    pub remote_target: String,
    /// The route set, in the order our requests must carry it.
    pub route_set: Vec<String>,
    /// Our last CSeq number.
    pub local_cseq: u32,
    /// Where in-dialog requests go when neither the first route nor the remote target has an
    /// IP-literal host (the runtime resolves no names): the peer's transport address.
    pub fallback_destination: SocketAddr,
    /// First-route or remote-target address resolved from IP literals, if possible.
    pub destination: SocketAddr,
}

fn ip_destination(addr: &NameAddr) -> Option<SocketAddr> {
    let host = addr.host.as_deref()?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let ip: IpAddr = host.parse().ok()?;
    Some(SocketAddr::new(ip, addr.port.unwrap_or(5060)))
}

impl Dialog {
    /// Build a dialog. `route_set` is in request order already (UAS: Record-Route as received;
    /// UAC: Record-Route reversed). The destination is the first route if present, else the
    /// remote target, when its host is an IP literal; otherwise `fallback`.
    pub fn new(
        id: DialogId,
        local_uri: String,
        remote_uri: String,
        remote_target: Option<&NameAddr>,
        route_set: &[NameAddr],
        local_cseq: u32,
        fallback: SocketAddr,
    ) -> Self {
        let target_uri = remote_target
            .map(|c| c.uri.clone())
            .unwrap_or_else(|| remote_uri.clone());
        let first_hop = route_set.first().or(remote_target);
        let destination = first_hop.and_then(ip_destination).unwrap_or(fallback);
        Self {
            id,
            local_uri,
            remote_uri,
            remote_target: target_uri,
            route_set: route_set.iter().map(|r| r.uri.clone()).collect(),
            local_cseq,
            fallback_destination: fallback,
            destination,
        }
    }

    /// Build an in-dialog request (§12.2.1.1). `cseq` is used as given (ACK reuses the INVITE's).
    pub fn request(
        &self,
        method: &Method,
        cseq: u32,
        via: &str,
        max_forwards: u8,
        user_agent: &str,
    ) -> Result<Request, BuildError> {
        self.request_with(method, cseq, via, max_forwards, user_agent, &[])
    }

    /// As [`Dialog::request`], with extra headers (e.g. `RAck` on PRACK, `Session-Expires` on a refresh).
    pub fn request_with(
        &self,
        method: &Method,
        cseq: u32,
        via: &str,
        max_forwards: u8,
        user_agent: &str,
        extra: &[(String, String)],
    ) -> Result<Request, BuildError> {
        self.request_full(method, cseq, via, max_forwards, user_agent, extra, None)
    }

    /// As [`Dialog::request_with`], with a body and its Content-Type (a re-INVITE's or UPDATE's offer, an
    /// INFO's payload).
    #[allow(clippy::too_many_arguments)]
    pub fn request_full(
        &self,
        method: &Method,
        cseq: u32,
        via: &str,
        max_forwards: u8,
        user_agent: &str,
        extra: &[(String, String)],
        body: Option<(&str, &[u8])>,
    ) -> Result<Request, BuildError> {
        let mut builder = RequestBuilder::new(method, &self.remote_target)?
            .header("Via", via)?
            .header("Max-Forwards", &max_forwards.to_string())?;
        for route in &self.route_set {
            builder = builder.header("Route", &format!("<{route}>"))?;
        }
        builder = builder
            .header(
                "From",
                &format!("<{}>;tag={}", self.local_uri, self.id.local_tag),
            )?
            .header(
                "To",
                &format!("<{}>;tag={}", self.remote_uri, self.id.remote_tag),
            )?
            .header("Call-ID", &self.id.call_id)?
            .header("CSeq", &format!("{cseq} {}", method.as_str()))?
            .header("User-Agent", user_agent)?;
        for (name, value) in extra {
            builder = builder.header(name, value)?;
        }
        builder.finish(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(uri: &str, host: &str, port: Option<u16>) -> NameAddr {
        NameAddr {
            display_name: None,
            uri: uri.into(),
            user: None,
            host: Some(host.into()),
            port,
            tag: None,
            loose_route: true,
        }
    }

    #[test]
    fn destination_prefers_first_route_then_target_then_fallback() {
        let id = DialogId {
            call_id: "c".into(),
            local_tag: "l".into(),
            remote_tag: "r".into(),
        };
        let fallback: SocketAddr = "192.0.2.9:5060".parse().unwrap();
        let target = addr("sip:b@192.0.2.2:5070", "192.0.2.2", Some(5070));
        let route = addr("sip:192.0.2.3;lr", "192.0.2.3", None);
        let named = addr("sip:proxy.example;lr", "proxy.example", None);
        let d = Dialog::new(
            id.clone(),
            "sip:a@x".into(),
            "sip:b@y".into(),
            Some(&target),
            &[route],
            1,
            fallback,
        );
        assert_eq!(d.destination, "192.0.2.3:5060".parse().unwrap());
        let d = Dialog::new(
            id.clone(),
            "sip:a@x".into(),
            "sip:b@y".into(),
            Some(&target),
            &[],
            1,
            fallback,
        );
        assert_eq!(d.destination, "192.0.2.2:5070".parse().unwrap());
        let d = Dialog::new(
            id,
            "sip:a@x".into(),
            "sip:b@y".into(),
            Some(&target),
            &[named],
            1,
            fallback,
        );
        assert_eq!(d.destination, fallback);
        let bye = d
            .request(
                &Method::Bye,
                2,
                "SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKx",
                70,
                "t",
            )
            .unwrap();
        let text = String::from_utf8(bye.to_bytes()).unwrap();
        assert!(text.starts_with("BYE sip:b@192.0.2.2:5070 SIP/2.0\r\n"));
        assert!(text.contains("Route: <sip:proxy.example;lr>\r\n"));
        assert!(text.contains("CSeq: 2 BYE\r\n"));
    }
}
