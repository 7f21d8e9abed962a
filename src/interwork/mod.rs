//! Interworking: the call state machine joining a SIP leg and an ISUP circuit (RFC 3398, both directions), the
//! number conversions between SIP URIs and ISUP address signals, and the mapping tables (causes, progress
//! events, IAM profile) that are data in `mappings/`, never code.
//!
//! The call logic lives in `impl Gateway` blocks split by the side an event comes from: [`sip_side`] handles what
//! the SIP endpoint reports, [`isup_side`] what ISUP call control and the M3UA ASP report, `routing` runs the
//! dialplan (waiting for ENUM answers without blocking other calls) and walks a decision's route list,
//! `sip_targets` resolves a SIP route's URI (RFC 3263) and fails over between its targets.

pub mod call;
pub(crate) mod iam;
pub mod numbers;
pub mod tables;

mod b2bua;
mod b2bua_dialog;
mod isup_side;
mod routing;

pub(crate) use routing::EnumQuery;
mod sip_side;
pub(crate) mod sip_targets;
