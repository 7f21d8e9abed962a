//! End-to-end tests: real tandem and ss7sim processes over userspace SCTP on loopback, SIPp on the SIP side,
//! tshark on the wire. One binary, one module per concern (each test binary costs a link on 2 cores).

mod harness;

mod dialog;
mod dialplans;
mod enum_dns;
mod isup_to_sip;
mod loadshare;
mod malformed;
mod registrar;
mod replay;
mod rfc4475;
mod secure_transports;
mod sip_client;
mod sip_to_isup;
mod websocket_users;
mod wire;
