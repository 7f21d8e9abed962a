//! ISDN User Part: the Q.763 wire codec, Q.764 basic call control and the CIC pool of one
//! trunk group.
//!
//! Layering (lowest first): [`codec`] turns octets into [`codec::IsupMessage`] and back and knows
//! nothing of state; [`circuit`] owns which circuits of a trunk group are busy or blocked;
//! [`call`] runs the Q.764 per-circuit call control on top of both. Everything here is sans-IO:
//! time comes in as `now_ms`, messages leave through `poll_*` methods.
//!
//! Only the ITU-T variant is implemented; [`codec::Variant`] marks where ETSI/ANSI would plug in.

pub mod call;
pub mod circuit;
pub mod codec;
pub mod timer;

pub use call::{
    CallControl, CallControlConfig, CallEvent, CallState, ControlledCircuits, Direction,
    IsupCallError,
};
pub use circuit::{CircuitError, CircuitPool, CircuitStatus};
pub use codec::{Cic, IsupError, IsupMessage, MessageType, Variant};
pub use timer::{IsupTimers, Timer};

pub use crate::machine::Transition;
