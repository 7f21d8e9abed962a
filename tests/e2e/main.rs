//! End-to-end tests: real tandem and ss7sim processes over userspace SCTP on loopback, SIPp on the SIP side,
//! tshark on the wire. One binary, one module per concern (each test binary costs a link on 2 cores).

mod harness;

mod b2bua;
mod dialog;
mod dialplans;
mod enum_dns;
mod ipsp_congestion;
mod isup_to_sip;
mod loadshare;
mod lossy_relay;
mod malformed;
mod netns_link_drop;
mod registrar;
mod replay;
mod rfc4475;
mod rfc5118;
mod secure_transports;
mod sip_client;
mod sip_dns;
mod sip_to_isup;
mod websocket_users;
mod wire;
