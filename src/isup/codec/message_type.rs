//! ISUP message type codes of Q.763 Table 4 (ITU-T, 1999 with later additions).

macro_rules! message_types {
    ($($(#[$doc:meta])* $name:ident = $code:literal),* $(,)?) => {
        /// Message type (Q.763 §1.4, Table 4). Codes not in the table are kept in
        /// [`MessageType::Unknown`] so they can be answered (CFN, cause 97) or passed on.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum MessageType {
            $($(#[$doc])* $name,)*
            /// A code Table 4 does not define (or defines as reserved).
            Unknown(u8),
        }

        impl MessageType {
            /// The message type for a wire code.
            pub fn from_code(code: u8) -> Self {
                match code {
                    $($code => MessageType::$name,)*
                    other => MessageType::Unknown(other),
                }
            }

            /// The wire code.
            pub fn code(self) -> u8 {
                match self {
                    $(MessageType::$name => $code,)*
                    MessageType::Unknown(code) => code,
                }
            }

            /// The Q.763 abbreviation ("IAM", "ACM", …), or "UNKNOWN".
            pub fn abbreviation(self) -> &'static str {
                match self {
                    $(MessageType::$name => stringify!($name),)*
                    MessageType::Unknown(_) => "UNKNOWN",
                }
            }
        }
    };
}

message_types! {
    /// Initial address.
    IAM = 0x01,
    /// Subsequent address.
    SAM = 0x02,
    /// Information request (national use).
    INR = 0x03,
    /// Information (national use).
    INF = 0x04,
    /// Continuity.
    COT = 0x05,
    /// Address complete.
    ACM = 0x06,
    /// Connect.
    CON = 0x07,
    /// Forward transfer.
    FOT = 0x08,
    /// Answer.
    ANM = 0x09,
    /// Release.
    REL = 0x0C,
    /// Suspend.
    SUS = 0x0D,
    /// Resume.
    RES = 0x0E,
    /// Release complete.
    RLC = 0x10,
    /// Continuity check request.
    CCR = 0x11,
    /// Reset circuit.
    RSC = 0x12,
    /// Blocking.
    BLO = 0x13,
    /// Unblocking.
    UBL = 0x14,
    /// Blocking acknowledgement.
    BLA = 0x15,
    /// Unblocking acknowledgement.
    UBA = 0x16,
    /// Circuit group reset.
    GRS = 0x17,
    /// Circuit group blocking.
    CGB = 0x18,
    /// Circuit group unblocking.
    CGU = 0x19,
    /// Circuit group blocking acknowledgement.
    CGBA = 0x1A,
    /// Circuit group unblocking acknowledgement.
    CGUA = 0x1B,
    /// Call modification request (reserved, used in 1988 version).
    CMR = 0x1C,
    /// Call modification completed (reserved, used in 1988 version).
    CMC = 0x1D,
    /// Call modification reject (reserved, used in 1988 version).
    CMRJ = 0x1E,
    /// Facility request.
    FAR = 0x1F,
    /// Facility accepted.
    FAA = 0x20,
    /// Facility reject.
    FRJ = 0x21,
    /// Facility deactivated (reserved, used in 1984 version).
    FAD = 0x22,
    /// Facility information (reserved, used in 1984 version).
    FAI = 0x23,
    /// Loop back acknowledgement (national use).
    LPA = 0x24,
    /// CSVQ (reserved, used in 1988 version).
    CSVQ = 0x25,
    /// CSVR (reserved, used in 1988 version).
    CSVR = 0x26,
    /// Delayed release (reserved, used in 1988 version).
    DRS = 0x27,
    /// Pass-along (national use).
    PAM = 0x28,
    /// Circuit group reset acknowledgement.
    GRA = 0x29,
    /// Circuit group query (national use).
    CQM = 0x2A,
    /// Circuit group query response (national use).
    CQR = 0x2B,
    /// Call progress.
    CPG = 0x2C,
    /// User-to-user information.
    USR = 0x2D,
    /// Unequipped CIC (national use).
    UCIC = 0x2E,
    /// Confusion.
    CFN = 0x2F,
    /// Overload (national use).
    OLM = 0x30,
    /// Charge information (national use).
    CRG = 0x31,
    /// Network resource management.
    NRM = 0x32,
    /// Facility.
    FAC = 0x33,
    /// User part test.
    UPT = 0x34,
    /// User part available.
    UPA = 0x35,
    /// Identification request.
    IDR = 0x36,
    /// Identification response.
    IRS = 0x37,
    /// Segmentation.
    SGM = 0x38,
    /// Loop prevention.
    LOP = 0x40,
    /// Application transport.
    APM = 0x41,
    /// Pre-release information.
    PRI = 0x42,
    /// Subsequent directory number (national use).
    SDN = 0x43,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_round_trips() {
        for code in 0..=255u8 {
            assert_eq!(MessageType::from_code(code).code(), code);
        }
        assert_eq!(MessageType::from_code(0x01), MessageType::IAM);
        assert_eq!(MessageType::from_code(0x2F), MessageType::CFN);
        assert_eq!(MessageType::from_code(0x0A), MessageType::Unknown(0x0A));
        assert_eq!(MessageType::GRA.abbreviation(), "GRA");
    }
}
