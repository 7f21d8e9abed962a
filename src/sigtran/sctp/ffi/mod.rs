//! The only unsafe code of the SCTP transport. This file: hand-written bindings to Debian's
//! libusrsctp (userspace SCTP, RFC 4960, encapsulated in UDP per RFC 6951), mirroring
//! `/usr/include/usrsctp.h` (0.9.5) for the handful of functions, structs and constants used.
//! [`kernel`]: raw Linux kernel SCTP descriptors.
//!
//! Callers see only safe items: [`UsrSocket`], the owner of one usrsctp socket, and the
//! `kernel_*` functions.
#![allow(unsafe_code)]

use std::collections::HashMap;
use std::ffi::{c_int, c_uint, c_void};
use std::io;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use tokio::sync::Notify;

/// `IPPROTO_SCTP`, also the option level of the SCTP socket options.
pub(super) const IPPROTO_SCTP: c_int = 132;
/// `SCTP_INITMSG` (RFC 6458 §8.1.3).
const SCTP_INITMSG: c_int = 0x03;
/// `SCTP_NODELAY`: send small M3UA messages at once instead of bundling them later.
const SCTP_NODELAY: c_int = 0x04;
/// `SCTP_RECVRCVINFO` (RFC 6458 §8.1.29): deliver `sctp_rcvinfo` with each message.
const SCTP_RECVRCVINFO: c_int = 0x1f;
/// `SCTP_REMOTE_UDP_ENCAPS_PORT` (RFC 6951 §5.1).
const SCTP_REMOTE_UDP_ENCAPS_PORT: c_int = 0x24;
/// `SCTP_SENDV_SNDINFO`: the `info` argument of `usrsctp_sendv` is a `sctp_sndinfo`.
const SCTP_SENDV_SNDINFO: c_uint = 1;
/// `SCTP_RECVV_RCVINFO`: `usrsctp_recvv` filled in a `sctp_rcvinfo`.
const SCTP_RECVV_RCVINFO: c_uint = 1;
/// `MSG_NOTIFICATION` as usrsctp defines it on Linux.
pub(super) const MSG_NOTIFICATION: c_int = 0x2000;

mod kernel;
pub(super) use kernel::{
    kernel_accept, kernel_async_fd, kernel_bind, kernel_bindx_add, kernel_connect_start,
    kernel_connectx_start, kernel_listen, kernel_sctp_socket_works, kernel_set_params,
    kernel_socket, kernel_take_error,
};

/// Opaque `struct socket` of usrsctp.
#[repr(C)]
struct RawUsrSocket {
    _private: [u8; 0],
}

/// `struct sctp_rcvinfo` (RFC 6458 §5.3.5).
#[repr(C)]
#[derive(Default, Clone, Copy)]
struct SctpRcvInfo {
    rcv_sid: u16,
    rcv_ssn: u16,
    rcv_flags: u16,
    rcv_ppid: u32,
    rcv_tsn: u32,
    rcv_cumtsn: u32,
    rcv_context: u32,
    rcv_assoc_id: u32,
}

/// `struct sctp_sndinfo` (RFC 6458 §5.3.4).
#[repr(C)]
struct SctpSndInfo {
    snd_sid: u16,
    snd_flags: u16,
    snd_ppid: u32,
    snd_context: u32,
    snd_assoc_id: u32,
}

/// `struct sctp_initmsg` (RFC 6458 §8.1.3).
#[repr(C)]
pub(super) struct SctpInitMsg {
    pub(super) sinit_num_ostreams: u16,
    pub(super) sinit_max_instreams: u16,
    pub(super) sinit_max_attempts: u16,
    pub(super) sinit_max_init_timeo: u16,
}

/// `struct sctp_udpencaps` (RFC 6951 §5.1).
#[repr(C)]
struct SctpUdpEncaps {
    sue_address: libc::sockaddr_storage,
    sue_assoc_id: u32,
    sue_port: u16,
}

type Upcall = extern "C" fn(*mut RawUsrSocket, *mut c_void, c_int);

#[link(name = "usrsctp")]
extern "C" {
    fn usrsctp_init(port: u16, conn_output: *const c_void, debug_printf: *const c_void);
    fn usrsctp_socket(
        domain: c_int,
        kind: c_int,
        protocol: c_int,
        receive_cb: *const c_void,
        send_cb: *const c_void,
        sb_threshold: u32,
        ulp_info: *mut c_void,
    ) -> *mut RawUsrSocket;
    fn usrsctp_setsockopt(
        so: *mut RawUsrSocket,
        level: c_int,
        name: c_int,
        value: *const c_void,
        len: libc::socklen_t,
    ) -> c_int;
    fn usrsctp_bind(
        so: *mut RawUsrSocket,
        name: *const libc::sockaddr,
        len: libc::socklen_t,
    ) -> c_int;
    fn usrsctp_listen(so: *mut RawUsrSocket, backlog: c_int) -> c_int;
    fn usrsctp_accept(
        so: *mut RawUsrSocket,
        name: *mut libc::sockaddr,
        len: *mut libc::socklen_t,
    ) -> *mut RawUsrSocket;
    fn usrsctp_connect(
        so: *mut RawUsrSocket,
        name: *const libc::sockaddr,
        len: libc::socklen_t,
    ) -> c_int;
    fn usrsctp_close(so: *mut RawUsrSocket);
    fn usrsctp_shutdown(so: *mut RawUsrSocket, how: c_int) -> c_int;
    fn usrsctp_set_non_blocking(so: *mut RawUsrSocket, on: c_int) -> c_int;
    fn usrsctp_set_upcall(so: *mut RawUsrSocket, upcall: Upcall, arg: *mut c_void) -> c_int;
    #[allow(clippy::too_many_arguments)]
    fn usrsctp_sendv(
        so: *mut RawUsrSocket,
        data: *const c_void,
        len: usize,
        to: *mut libc::sockaddr,
        addrcnt: c_int,
        info: *mut c_void,
        infolen: libc::socklen_t,
        infotype: c_uint,
        flags: c_int,
    ) -> isize;
    #[allow(clippy::too_many_arguments)]
    fn usrsctp_recvv(
        so: *mut RawUsrSocket,
        dbuf: *mut c_void,
        len: usize,
        from: *mut libc::sockaddr,
        fromlen: *mut libc::socklen_t,
        info: *mut c_void,
        infolen: *mut libc::socklen_t,
        infotype: *mut c_uint,
        msg_flags: *mut c_int,
    ) -> isize;
}

/// The UDP port usrsctp was started on; usrsctp has one stack per process.
static USRSCTP_PORT: Mutex<Option<u16>> = Mutex::new(None);

/// Starts the process-wide usrsctp stack on `udp_port` the first time and returns the port
/// it runs on (the caller compares it with its configuration). usrsctp_init reports nothing
/// when it cannot bind its UDP socket, so the port is tried with a plain socket first.
pub(super) fn usrsctp_start(udp_port: u16) -> io::Result<u16> {
    let mut started = USRSCTP_PORT
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(active) = *started {
        return Ok(active);
    }
    drop(std::net::UdpSocket::bind((
        Ipv4Addr::UNSPECIFIED,
        udp_port,
    ))?);
    // SAFETY: runs once per process (guarded by USRSCTP_PORT's lock); NULL callbacks select
    // usrsctp's own UDP/raw sockets and no debug output, as the header documents.
    unsafe { usrsctp_init(udp_port, std::ptr::null(), std::ptr::null()) };
    *started = Some(udp_port);
    Ok(udp_port)
}

/// Wake-ups of one usrsctp socket, fed by the upcall.
#[derive(Default)]
pub(super) struct Wakers {
    /// Something may be readable (data, EOF, a pending accept, an error).
    pub(super) readable: Notify,
    /// Send space may have become free.
    pub(super) writable: Notify,
}

impl Wakers {
    fn wake(&self) {
        // notify_waiters wakes every sender clone already waiting; notify_one leaves a permit
        // for a task that is between its failed attempt and its `.await`.
        self.readable.notify_one();
        self.writable.notify_waiters();
        self.writable.notify_one();
    }
}

/// Upcall argument → wakers. The argument is a plain id, not a pointer, so an upcall racing
/// with `usrsctp_close` finds nothing instead of touching freed memory.
static REGISTRY: OnceLock<Mutex<HashMap<usize, Arc<Wakers>>>> = OnceLock::new();
static NEXT_ID: AtomicUsize = AtomicUsize::new(1);

fn registry() -> &'static Mutex<HashMap<usize, Arc<Wakers>>> {
    REGISTRY.get_or_init(|| Mutex::new(HashMap::new()))
}

extern "C" fn upcall(_so: *mut RawUsrSocket, arg: *mut c_void, _flags: c_int) {
    let id = arg as usize;
    let wakers = {
        let map = registry()
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        map.get(&id).cloned()
    };
    if let Some(wakers) = wakers {
        wakers.wake();
    }
}

/// What one `usrsctp_recvv` call returned.
pub(super) struct RecvOutcome {
    /// Bytes written into the buffer; 0 means the peer shut the association down.
    pub(super) length: usize,
    /// Stream identifier, when usrsctp delivered `sctp_rcvinfo`.
    pub(super) stream: Option<u16>,
    /// Payload protocol identifier in host order, with `stream`.
    pub(super) ppid: u32,
    /// `msg_flags` (`MSG_EOR`, `MSG_NOTIFICATION`).
    pub(super) flags: c_int,
}

/// One usrsctp one-to-one (`SOCK_STREAM`) socket, closed on drop.
pub(super) struct UsrSocket {
    socket: NonNull<RawUsrSocket>,
    id: usize,
    wakers: Arc<Wakers>,
}

// SAFETY: usrsctp sockets are protected by usrsctp's own locks (the library is built for its
// timer and receive threads to use them concurrently with the application), so the handle
// may move between threads and be used from several at once.
unsafe impl Send for UsrSocket {}
// SAFETY: see `Send`; every method takes `&self` and maps onto one locked usrsctp call.
unsafe impl Sync for UsrSocket {}

pub(super) fn check(result: c_int) -> io::Result<()> {
    if result < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

impl UsrSocket {
    /// Opens an IPv4 one-to-one socket (blocking until [`UsrSocket::set_nonblocking`]).
    pub(super) fn new_v4() -> io::Result<Self> {
        // SAFETY: NULL callbacks select the socket-API (recvv/upcall) mode; ulp_info is unused.
        let raw = unsafe {
            usrsctp_socket(
                libc::AF_INET,
                libc::SOCK_STREAM,
                IPPROTO_SCTP,
                std::ptr::null(),
                std::ptr::null(),
                0,
                std::ptr::null_mut(),
            )
        };
        let socket = NonNull::new(raw).ok_or_else(io::Error::last_os_error)?;
        Ok(Self::adopt(socket))
    }

    fn adopt(socket: NonNull<RawUsrSocket>) -> Self {
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let wakers = Arc::new(Wakers::default());
        registry()
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(id, wakers.clone());
        Self { socket, id, wakers }
    }

    /// The notifications the upcall fires for this socket.
    pub(super) fn wakers(&self) -> &Wakers {
        &self.wakers
    }

    /// Routes readiness changes to [`UsrSocket::wakers`].
    pub(super) fn enable_upcall(&self) -> io::Result<()> {
        // SAFETY: the socket is open; `upcall` is a plain extern fn and its argument an integer
        // id looked up in REGISTRY, so it stays valid whatever the socket's lifetime.
        check(unsafe { usrsctp_set_upcall(self.socket.as_ptr(), upcall, self.id as *mut c_void) })
    }

    /// Switches between blocking and non-blocking calls.
    pub(super) fn set_nonblocking(&self, on: bool) -> io::Result<()> {
        // SAFETY: the socket is open.
        check(unsafe { usrsctp_set_non_blocking(self.socket.as_ptr(), c_int::from(on)) })
    }

    fn set_option<T>(&self, level: c_int, name: c_int, value: &T) -> io::Result<()> {
        let length = std::mem::size_of::<T>() as libc::socklen_t;
        // SAFETY: `value` points to a live `T` of `length` bytes for the duration of the call;
        // usrsctp copies it.
        check(unsafe {
            usrsctp_setsockopt(
                self.socket.as_ptr(),
                level,
                name,
                (value as *const T).cast(),
                length,
            )
        })
    }

    /// `SCTP_INITMSG`: streams offered and accepted, INIT retransmissions and their cap (ms).
    pub(super) fn set_init(
        &self,
        streams: u16,
        attempts: u16,
        max_timeout_ms: u16,
    ) -> io::Result<()> {
        let init = SctpInitMsg {
            sinit_num_ostreams: streams,
            sinit_max_instreams: streams,
            sinit_max_attempts: attempts,
            sinit_max_init_timeo: max_timeout_ms,
        };
        self.set_option(IPPROTO_SCTP, SCTP_INITMSG, &init)
    }

    /// `SCTP_REMOTE_UDP_ENCAPS_PORT`: the peer's RFC 6951 UDP port for new associations.
    pub(super) fn set_remote_udp_port(&self, port: u16) -> io::Result<()> {
        // SAFETY: all-zero is a valid `sockaddr_storage` (the wildcard address).
        let mut address: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
        address.ss_family = libc::AF_INET as libc::sa_family_t;
        let encaps = SctpUdpEncaps {
            sue_address: address,
            sue_assoc_id: 0,
            sue_port: port.to_be(),
        };
        self.set_option(IPPROTO_SCTP, SCTP_REMOTE_UDP_ENCAPS_PORT, &encaps)
    }

    /// Asks for `sctp_rcvinfo` (stream, PPID) with every message, and turns Nagle-like
    /// bundling delays off.
    pub(super) fn set_message_options(&self) -> io::Result<()> {
        let on: c_int = 1;
        self.set_option(IPPROTO_SCTP, SCTP_RECVRCVINFO, &on)?;
        self.set_option(IPPROTO_SCTP, SCTP_NODELAY, &on)
    }

    /// `SO_RCVBUF` in bytes.
    pub(super) fn set_receive_buffer(&self, bytes: c_int) -> io::Result<()> {
        self.set_option(libc::SOL_SOCKET, libc::SO_RCVBUF, &bytes)
    }

    /// Binds the local address.
    pub(super) fn bind(&self, address: SocketAddrV4) -> io::Result<()> {
        let sin = crate::sockaddr::sockaddr_in(address);
        // SAFETY: `sin` is a valid sockaddr_in for the duration of the call.
        check(unsafe {
            usrsctp_bind(
                self.socket.as_ptr(),
                (&sin as *const libc::sockaddr_in).cast(),
                std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
            )
        })
    }

    /// Marks the socket as listening.
    pub(super) fn listen(&self, backlog: c_int) -> io::Result<()> {
        // SAFETY: the socket is open.
        check(unsafe { usrsctp_listen(self.socket.as_ptr(), backlog) })
    }

    /// Connects (blocks unless non-blocking; then `EINPROGRESS`).
    pub(super) fn connect(&self, address: SocketAddrV4) -> io::Result<()> {
        let sin = crate::sockaddr::sockaddr_in(address);
        // SAFETY: `sin` is a valid sockaddr_in for the duration of the call.
        check(unsafe {
            usrsctp_connect(
                self.socket.as_ptr(),
                (&sin as *const libc::sockaddr_in).cast(),
                std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
            )
        })
    }

    /// Accepts one association and returns its socket and the peer address.
    pub(super) fn accept(&self) -> io::Result<(UsrSocket, SocketAddr)> {
        // SAFETY: all-zero is a valid sockaddr_in.
        let mut sin: libc::sockaddr_in = unsafe { std::mem::zeroed() };
        let mut length = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        // SAFETY: `sin`/`length` describe a writable buffer of the stated size.
        let raw = unsafe {
            usrsctp_accept(
                self.socket.as_ptr(),
                (&mut sin as *mut libc::sockaddr_in).cast(),
                &mut length,
            )
        };
        let socket = NonNull::new(raw).ok_or_else(io::Error::last_os_error)?;
        let peer = SocketAddrV4::new(
            Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr)),
            u16::from_be(sin.sin_port),
        );
        Ok((Self::adopt(socket), SocketAddr::V4(peer)))
    }

    /// Sends one message on `stream` with `ppid` (host order; converted to network order,
    /// which is how usrsctp, like the kernel, copies it into the DATA chunk).
    pub(super) fn send(&self, stream: u16, ppid: u32, data: &[u8]) -> io::Result<usize> {
        let mut info = SctpSndInfo {
            snd_sid: stream,
            snd_flags: 0,
            snd_ppid: ppid.to_be(),
            snd_context: 0,
            snd_assoc_id: 0,
        };
        // SAFETY: `data` and `info` are live for the call and their lengths are exact; a NULL
        // destination with count 0 means "the connected peer".
        let sent = unsafe {
            usrsctp_sendv(
                self.socket.as_ptr(),
                data.as_ptr().cast(),
                data.len(),
                std::ptr::null_mut(),
                0,
                (&mut info as *mut SctpSndInfo).cast(),
                std::mem::size_of::<SctpSndInfo>() as libc::socklen_t,
                SCTP_SENDV_SNDINFO,
                0,
            )
        };
        usize::try_from(sent).map_err(|_| io::Error::last_os_error())
    }

    /// Receives (part of) one message into `buffer`.
    pub(super) fn receive(&self, buffer: &mut [u8]) -> io::Result<RecvOutcome> {
        // SAFETY: all-zero is a valid sockaddr_in.
        let mut from: libc::sockaddr_in = unsafe { std::mem::zeroed() };
        let mut from_length = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        let mut info = SctpRcvInfo::default();
        let mut info_length = std::mem::size_of::<SctpRcvInfo>() as libc::socklen_t;
        let mut info_type: c_uint = 0;
        let mut flags: c_int = 0;
        // SAFETY: every pointer refers to a live local or to `buffer`, with its true size.
        let received = unsafe {
            usrsctp_recvv(
                self.socket.as_ptr(),
                buffer.as_mut_ptr().cast(),
                buffer.len(),
                (&mut from as *mut libc::sockaddr_in).cast(),
                &mut from_length,
                (&mut info as *mut SctpRcvInfo).cast(),
                &mut info_length,
                &mut info_type,
                &mut flags,
            )
        };
        let length = usize::try_from(received).map_err(|_| io::Error::last_os_error())?;
        let has_info = info_type == SCTP_RECVV_RCVINFO;
        Ok(RecvOutcome {
            length,
            stream: has_info.then_some(info.rcv_sid),
            ppid: u32::from_be(info.rcv_ppid),
            flags,
        })
    }

    /// `shutdown(2)`; `SHUT_WR` starts the SCTP SHUTDOWN handshake.
    pub(super) fn shutdown(&self, how: c_int) -> io::Result<()> {
        // SAFETY: the socket is open.
        check(unsafe { usrsctp_shutdown(self.socket.as_ptr(), how) })
    }
}

impl Drop for UsrSocket {
    fn drop(&mut self) {
        registry()
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .remove(&self.id);
        // SAFETY: we own the socket and nothing uses it after drop (all users hold `&self`).
        unsafe { usrsctp_close(self.socket.as_ptr()) };
    }
}
