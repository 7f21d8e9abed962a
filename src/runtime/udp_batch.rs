//! Batched SIP UDP IO for the core loop: draining every datagram that is ready with non-blocking receives, and
//! sending a turn's datagrams with `sendmmsg(2)` (one system call for many). Under load the per-datagram
//! `sendto` and the hand-off from a reader task to the core loop were most of tandem's time (docs/benchmarks.md);
//! this module only moves bytes, so the sans-IO core and the recorded input order are untouched.
#![allow(unsafe_code)]

use std::net::SocketAddr;
use std::os::fd::AsRawFd;

use tokio::net::UdpSocket;

/// Most datagrams sent by one `sendmmsg` call (the kernel's `UIO_MAXIOV` is 1024).
const SEND_BATCH: usize = 64;

/// One datagram to send: its destination and bytes.
pub(crate) type Datagram<'a> = (SocketAddr, &'a [u8]);

/// Sends `datagrams` in order. Whole batches go through `sendmmsg`; when the kernel refuses one (a full socket
/// buffer, an ICMP error reported late), that datagram goes through tokio's `send_to`, which waits for room and
/// reports its error, and batching resumes after it.
pub(crate) async fn send_all(socket: &UdpSocket, datagrams: &[Datagram<'_>]) {
    let mut rest = datagrams;
    while !rest.is_empty() {
        let take = rest.len().min(SEND_BATCH);
        let sent = match rest.get(..take) {
            Some(chunk) => sendmmsg(socket, chunk),
            None => 0,
        };
        if sent > 0 {
            rest = rest.get(sent..).unwrap_or_default();
            continue;
        }
        if let Some(((to, data), tail)) = rest.split_first() {
            if let Err(error) = socket.send_to(data, to).await {
                tracing::warn!(%to, %error, "SIP UDP send failed");
            }
            rest = tail;
        }
    }
}

/// Asks for a `bytes` receive buffer on `socket` (`SO_RCVBUF`; the kernel caps it at `net.core.rmem_max`).
pub(crate) fn set_receive_buffer(socket: &UdpSocket, bytes: usize) -> std::io::Result<()> {
    let value = libc::c_int::try_from(bytes).unwrap_or(libc::c_int::MAX);
    // SAFETY: the option value is a c_int that lives across the call, and its size is passed with it.
    let result = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            (&value as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if result == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// One non-blocking `sendmmsg` call; how many of `chunk` the kernel took (0 on any error).
fn sendmmsg(socket: &UdpSocket, chunk: &[Datagram<'_>]) -> usize {
    let mut names: Vec<(libc::sockaddr_storage, libc::socklen_t)> = chunk
        .iter()
        .map(|(to, _)| crate::sockaddr::to_storage(*to))
        .collect();
    let mut iovecs: Vec<libc::iovec> = chunk
        .iter()
        .map(|(_, data)| libc::iovec {
            iov_base: data.as_ptr() as *mut libc::c_void,
            iov_len: data.len(),
        })
        .collect();
    let mut headers: Vec<libc::mmsghdr> = names
        .iter_mut()
        .zip(iovecs.iter_mut())
        .map(|((name, length), iovec)| {
            // SAFETY: msghdr is plain data; all-zero is its documented empty value.
            let mut header: libc::msghdr = unsafe { std::mem::zeroed() };
            header.msg_name = (name as *mut libc::sockaddr_storage).cast();
            header.msg_namelen = *length;
            header.msg_iov = iovec;
            header.msg_iovlen = 1;
            libc::mmsghdr {
                msg_hdr: header,
                msg_len: 0,
            }
        })
        .collect();
    let count = libc::c_uint::try_from(headers.len()).unwrap_or(0);
    // SAFETY: every header points into `names` and `iovecs`, and every iovec into a datagram of `chunk`, all of
    // which outlive the call; the kernel only reads them (and writes `msg_len`). The socket is non-blocking.
    let sent = unsafe {
        libc::sendmmsg(
            socket.as_raw_fd(),
            headers.as_mut_ptr(),
            count,
            libc::MSG_DONTWAIT,
        )
    };
    usize::try_from(sent).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn receive(socket: &UdpSocket) -> (Vec<u8>, SocketAddr) {
        let mut buffer = vec![0u8; 2048];
        let (length, from) = socket.recv_from(&mut buffer).await.unwrap();
        buffer.truncate(length);
        (buffer, from)
    }

    #[tokio::test]
    async fn sends_every_datagram_in_order_to_its_destination() {
        let sender = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let (to_a, to_b) = (a.local_addr().unwrap(), b.local_addr().unwrap());
        // More than one sendmmsg batch, alternating destinations and sizes.
        let payloads: Vec<Vec<u8>> = (0..150u32)
            .map(|i| format!("datagram {i} {}", "x".repeat(i as usize)).into_bytes())
            .collect();
        let datagrams: Vec<Datagram<'_>> = payloads
            .iter()
            .enumerate()
            .map(|(i, data)| (if i % 2 == 0 { to_a } else { to_b }, data.as_slice()))
            .collect();
        send_all(&sender, &datagrams).await;
        let from = sender.local_addr().unwrap();
        for (i, expected) in payloads.iter().enumerate() {
            let socket = if i % 2 == 0 { &a } else { &b };
            let (data, source) = receive(socket).await;
            assert_eq!(&data, expected);
            assert_eq!(source, from);
        }
    }

    #[tokio::test]
    async fn receive_buffer_grows() {
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let before = receive_buffer(&socket);
        let cap = std::fs::read_to_string("/proc/sys/net/core/rmem_max")
            .ok()
            .and_then(|text| text.trim().parse::<usize>().ok())
            .unwrap_or(0);
        set_receive_buffer(&socket, before * 4).unwrap();
        // Linux doubles the value asked for (bookkeeping) and caps the request at rmem_max.
        let expected = (before * 4).min(cap) * 2;
        if expected > before {
            assert_eq!(receive_buffer(&socket), expected);
        }
    }

    fn receive_buffer(socket: &UdpSocket) -> usize {
        let mut value: libc::c_int = 0;
        let mut length = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: value and length live across the call and describe a c_int.
        let result = unsafe {
            libc::getsockopt(
                socket.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVBUF,
                (&mut value as *mut libc::c_int).cast(),
                &mut length,
            )
        };
        assert_eq!(result, 0);
        usize::try_from(value).unwrap()
    }

    #[tokio::test]
    async fn sends_over_ipv6() {
        let Ok(sender) = UdpSocket::bind("[::1]:0").await else {
            return; // no IPv6 loopback on this host
        };
        let receiver = UdpSocket::bind("[::1]:0").await.unwrap();
        let to = receiver.local_addr().unwrap();
        send_all(&sender, &[(to, b"v6 one"), (to, b"v6 two")]).await;
        assert_eq!(receive(&receiver).await.0, b"v6 one");
        assert_eq!(receive(&receiver).await.0, b"v6 two");
    }

    #[tokio::test]
    async fn a_refused_datagram_does_not_stop_the_rest() {
        let sender = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let receiver = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let to = receiver.local_addr().unwrap();
        // An IPv6 destination on an IPv4 socket: the kernel refuses that one datagram.
        let bad: SocketAddr = "[::1]:9".parse().unwrap();
        send_all(&sender, &[(to, b"first"), (bad, b"refused"), (to, b"last")]).await;
        assert_eq!(receive(&receiver).await.0, b"first");
        assert_eq!(receive(&receiver).await.0, b"last");
    }
}
