//! Kernel SCTP descriptors (Linux, RFC 6458 one-to-one style): the probe for
//! `CONFIG_IP_SCTP`, and socket/bind/listen/connect/accept done here because `sctp-rs` 0.3
//! neither exposes its descriptors nor sets `SO_RCVBUF`. The connected descriptor then goes to
//! `sctp_rs::ConnectedSocket`.
#![allow(unsafe_code)]

use std::ffi::c_int;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use super::{check, SctpInitMsg, IPPROTO_SCTP};

/// Whether `socket(AF_INET, SOCK_STREAM, IPPROTO_SCTP)` succeeds on this host.
pub(crate) fn kernel_sctp_socket_works() -> bool {
    // SAFETY: plain system call with constant arguments; the descriptor is closed right away
    // and never escapes.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM, libc::IPPROTO_SCTP);
        if fd < 0 {
            return false;
        }
        libc::close(fd);
    }
    true
}

/// Linux `SCTP_INITMSG` (differs from usrsctp's value).
const LINUX_SCTP_INITMSG: c_int = 2;

fn check_fd(result: c_int) -> io::Result<OwnedFd> {
    if result < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a non-negative result of socket()/accept4() is a fresh descriptor nobody else
    // owns.
    Ok(unsafe { OwnedFd::from_raw_fd(result) })
}

fn set_fd_option<T>(fd: &OwnedFd, level: c_int, name: c_int, value: &T) -> io::Result<()> {
    // SAFETY: `value` points to a live `T` whose size is passed; the kernel copies it.
    check(unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (value as *const T).cast(),
            std::mem::size_of::<T>() as libc::socklen_t,
        )
    })
}

fn from_storage(storage: &libc::sockaddr_storage) -> Option<SocketAddr> {
    match c_int::from(storage.ss_family) {
        libc::AF_INET => {
            // SAFETY: the family says the storage holds a sockaddr_in.
            let sin: libc::sockaddr_in =
                unsafe { std::ptr::read((storage as *const libc::sockaddr_storage).cast()) };
            Some(SocketAddr::V4(SocketAddrV4::new(
                Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr)),
                u16::from_be(sin.sin_port),
            )))
        }
        libc::AF_INET6 => {
            // SAFETY: the family says the storage holds a sockaddr_in6.
            let sin6: libc::sockaddr_in6 =
                unsafe { std::ptr::read((storage as *const libc::sockaddr_storage).cast()) };
            Some(SocketAddr::V6(SocketAddrV6::new(
                Ipv6Addr::from(sin6.sin6_addr.s6_addr),
                u16::from_be(sin6.sin6_port),
                sin6.sin6_flowinfo,
                sin6.sin6_scope_id,
            )))
        }
        _ => None,
    }
}

/// Opens a non-blocking one-to-one kernel SCTP socket for `family_of`'s address family with
/// `streams` in and out (INIT, RFC 6458 §8.1.3) and a `receive_buffer`-byte `SO_RCVBUF`.
pub(crate) fn kernel_socket(
    family_of: SocketAddr,
    streams: u16,
    init_attempts: u16,
    init_max_timeout_ms: u16,
    receive_buffer: c_int,
) -> io::Result<OwnedFd> {
    let family = if family_of.is_ipv4() {
        libc::AF_INET
    } else {
        libc::AF_INET6
    };
    // SAFETY: plain system call; the result is checked and owned by check_fd.
    let fd = check_fd(unsafe {
        libc::socket(
            family,
            libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            libc::IPPROTO_SCTP,
        )
    })?;
    set_fd_option(&fd, libc::SOL_SOCKET, libc::SO_RCVBUF, &receive_buffer)?;
    let init = SctpInitMsg {
        sinit_num_ostreams: streams,
        sinit_max_instreams: streams,
        sinit_max_attempts: init_attempts,
        sinit_max_init_timeo: init_max_timeout_ms,
    };
    set_fd_option(&fd, IPPROTO_SCTP, LINUX_SCTP_INITMSG, &init)?;
    Ok(fd)
}

/// Linux `SCTP_RTOINFO`, `SCTP_ASSOCINFO`, `SCTP_PEER_ADDR_PARAMS`, `SCTP_SOCKOPT_BINDX_ADD`,
/// `SCTP_SOCKOPT_CONNECTX` (include/uapi/linux/sctp.h).
const LINUX_SCTP_RTOINFO: c_int = 0;
const LINUX_SCTP_ASSOCINFO: c_int = 1;
const LINUX_SCTP_PEER_ADDR_PARAMS: c_int = 9;
const LINUX_SCTP_SOCKOPT_BINDX_ADD: c_int = 100;
const LINUX_SCTP_SOCKOPT_CONNECTX: c_int = 110;
/// `spp_flags`: heartbeats enabled.
const SPP_HB_ENABLE: u32 = 1;

/// `struct sctp_rtoinfo`.
#[repr(C)]
struct SctpRtoInfo {
    srto_assoc_id: i32,
    srto_initial: u32,
    srto_max: u32,
    srto_min: u32,
}

/// `struct sctp_assocparams`.
#[repr(C)]
struct SctpAssocParams {
    sasoc_assoc_id: i32,
    sasoc_asocmaxrxt: u16,
    sasoc_number_peer_destinations: u16,
    sasoc_peer_rwnd: u32,
    sasoc_local_rwnd: u32,
    sasoc_cookie_life: u32,
}

/// `struct sctp_paddrparams`, which Linux declares `packed, aligned(4)`: no padding between
/// the fields, 156 bytes in all (hence the explicit tail byte).
#[repr(C, packed)]
struct SctpPaddrParams {
    spp_assoc_id: i32,
    spp_address: [u8; 128],
    spp_hbinterval: u32,
    spp_pathmaxrxt: u16,
    spp_pathmtu: u32,
    spp_sackdelay: u32,
    spp_flags: u32,
    spp_ipv6_flowlabel: u32,
    spp_dscp: u8,
    tail: u8,
}

/// Sets the defaults for the socket's future association (assoc id 0, `SCTP_FUTURE_ASSOC`);
/// zero fields leave the kernel's values.
pub(crate) fn kernel_set_params(
    fd: &OwnedFd,
    params: &crate::sigtran::sctp::AssociationParams,
) -> io::Result<()> {
    let rto = SctpRtoInfo {
        srto_assoc_id: 0,
        srto_initial: params.rto_initial_ms.unwrap_or(0),
        srto_max: params.rto_max_ms.unwrap_or(0),
        srto_min: params.rto_min_ms.unwrap_or(0),
    };
    if rto.srto_initial != 0 || rto.srto_max != 0 || rto.srto_min != 0 {
        set_fd_option(fd, IPPROTO_SCTP, LINUX_SCTP_RTOINFO, &rto)?;
    }
    if let Some(retrans) = params.association_max_retrans {
        let assoc = SctpAssocParams {
            sasoc_assoc_id: 0,
            sasoc_asocmaxrxt: retrans,
            sasoc_number_peer_destinations: 0,
            sasoc_peer_rwnd: 0,
            sasoc_local_rwnd: 0,
            sasoc_cookie_life: 0,
        };
        set_fd_option(fd, IPPROTO_SCTP, LINUX_SCTP_ASSOCINFO, &assoc)?;
    }
    if params.heartbeat_interval_ms.is_some() || params.path_max_retrans.is_some() {
        let paddr = SctpPaddrParams {
            spp_assoc_id: 0,
            spp_address: [0; 128],
            spp_hbinterval: params.heartbeat_interval_ms.unwrap_or(0),
            spp_pathmaxrxt: params.path_max_retrans.unwrap_or(0),
            spp_pathmtu: 0,
            spp_sackdelay: 0,
            spp_flags: if params.heartbeat_interval_ms.is_some() {
                SPP_HB_ENABLE
            } else {
                0
            },
            spp_ipv6_flowlabel: 0,
            spp_dscp: 0,
            tail: 0,
        };
        set_fd_option(fd, IPPROTO_SCTP, LINUX_SCTP_PEER_ADDR_PARAMS, &paddr)?;
    }
    Ok(())
}

/// Packs addresses back to back as `sctp_bindx`/`sctp_connectx` take them (RFC 6458 §9.1).
fn packed_addresses(addresses: &[SocketAddr]) -> Vec<u8> {
    let mut packed = Vec::new();
    for address in addresses {
        let (storage, length) = crate::sockaddr::to_storage(*address);
        // SAFETY: `storage` is initialised and at least `length` bytes long.
        let bytes = unsafe {
            std::slice::from_raw_parts(
                (&storage as *const libc::sockaddr_storage).cast::<u8>(),
                length as usize,
            )
        };
        packed.extend_from_slice(bytes);
    }
    packed
}

fn set_raw_option(fd: &OwnedFd, name: c_int, bytes: &[u8]) -> c_int {
    // SAFETY: `bytes` is live for the call and its length is passed.
    unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            IPPROTO_SCTP,
            name,
            bytes.as_ptr().cast(),
            bytes.len() as libc::socklen_t,
        )
    }
}

/// `sctp_bindx(SCTP_BINDX_ADD_ADDR)`: further local addresses after `bind(2)`.
pub(crate) fn kernel_bindx_add(fd: &OwnedFd, addresses: &[SocketAddr]) -> io::Result<()> {
    if addresses.is_empty() {
        return Ok(());
    }
    check(set_raw_option(
        fd,
        LINUX_SCTP_SOCKOPT_BINDX_ADD,
        &packed_addresses(addresses),
    ))
}

/// Starts a non-blocking `sctp_connectx` to all of the peer's addresses; `Ok(true)` when it is
/// still in progress.
pub(crate) fn kernel_connectx_start(fd: &OwnedFd, addresses: &[SocketAddr]) -> io::Result<bool> {
    let result = set_raw_option(
        fd,
        LINUX_SCTP_SOCKOPT_CONNECTX,
        &packed_addresses(addresses),
    );
    // A positive result is the new association's id.
    match check(result.min(0)) {
        Ok(()) => Ok(false),
        Err(error) if error.raw_os_error() == Some(libc::EINPROGRESS) => Ok(true),
        Err(error) => Err(error),
    }
}

/// `bind(2)`.
pub(crate) fn kernel_bind(fd: &OwnedFd, address: SocketAddr) -> io::Result<()> {
    let (storage, length) = crate::sockaddr::to_storage(address);
    // SAFETY: `storage` holds a valid address of `length` bytes for the call.
    check(unsafe {
        libc::bind(
            fd.as_raw_fd(),
            (&storage as *const libc::sockaddr_storage).cast(),
            length,
        )
    })
}

/// `listen(2)`.
pub(crate) fn kernel_listen(fd: &OwnedFd, backlog: c_int) -> io::Result<()> {
    // SAFETY: plain system call on an owned descriptor.
    check(unsafe { libc::listen(fd.as_raw_fd(), backlog) })
}

/// Starts a non-blocking `connect(2)`; `Ok(true)` when it is still in progress.
pub(crate) fn kernel_connect_start(fd: &OwnedFd, address: SocketAddr) -> io::Result<bool> {
    let (storage, length) = crate::sockaddr::to_storage(address);
    // SAFETY: `storage` holds a valid address of `length` bytes for the call.
    let result = unsafe {
        libc::connect(
            fd.as_raw_fd(),
            (&storage as *const libc::sockaddr_storage).cast(),
            length,
        )
    };
    match check(result) {
        Ok(()) => Ok(false),
        Err(error) if error.raw_os_error() == Some(libc::EINPROGRESS) => Ok(true),
        Err(error) => Err(error),
    }
}

/// The pending error of a socket (`SO_ERROR`), e.g. the outcome of a non-blocking connect.
pub(crate) fn kernel_take_error(fd: &OwnedFd) -> io::Result<()> {
    let mut error: c_int = 0;
    let mut length = std::mem::size_of::<c_int>() as libc::socklen_t;
    // SAFETY: `error`/`length` describe a writable c_int.
    check(unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_ERROR,
            (&mut error as *mut c_int).cast(),
            &mut length,
        )
    })?;
    if error == 0 {
        Ok(())
    } else {
        Err(io::Error::from_raw_os_error(error))
    }
}

/// Non-blocking `accept4(2)`; the new descriptor is non-blocking too.
pub(crate) fn kernel_accept(fd: &OwnedFd) -> io::Result<(OwnedFd, Option<SocketAddr>)> {
    // SAFETY: all-zero is a valid sockaddr_storage.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut length = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    // SAFETY: `storage`/`length` describe a writable buffer of the stated size.
    let accepted = check_fd(unsafe {
        libc::accept4(
            fd.as_raw_fd(),
            (&mut storage as *mut libc::sockaddr_storage).cast(),
            &mut length,
            libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
        )
    })?;
    Ok((accepted, from_storage(&storage)))
}

/// Registers `fd` with the tokio reactor for `interest`.
pub(crate) fn kernel_async_fd(
    fd: OwnedFd,
    interest: tokio::io::Interest,
) -> io::Result<tokio::io::unix::AsyncFd<OwnedFd>> {
    // SAFETY: an OwnedFd keeps its descriptor open until dropped and `as_raw_fd` always returns
    // that same descriptor, which is what `register_with_interest` requires.
    unsafe { tokio::io::unix::AsyncFd::register_with_interest(fd, interest) }
        .map_err(io::Error::from)
}
