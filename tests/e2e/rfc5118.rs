//! The RFC 5118 IPv6 torture messages sent to a tandem listening on `[::1]`, over real UDP and TCP sockets,
//! each checked against `tests/data/rfc5118/verdicts.toml`. Like the RFC 4475 run, it re-runs itself inside a
//! private network namespace (the messages name foreign IPv6 hosts) and checks that every UDP response goes to
//! the packet's IPv6 source (`received`) and the Via or `rport` port (RFC 3261 §18.2.2, RFC 3581).

use std::net::{IpAddr, Ipv6Addr};

use crate::rfc4475::{rerun_in_namespace, run_corpus};

#[test]
fn rfc5118_messages_over_udp_and_tcp_on_ipv6_loopback() {
    if rerun_in_namespace("rfc5118::rfc5118_messages_over_udp_and_tcp_on_ipv6_loopback") {
        return;
    }
    run_corpus("rfc5118", 12, IpAddr::V6(Ipv6Addr::LOCALHOST));
}
