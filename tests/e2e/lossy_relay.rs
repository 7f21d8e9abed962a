//! A UDP relay between SIPp and tandem that loses datagrams by a seeded, timing-independent pattern, so that a
//! "30% packet loss" test gives the same losses on every run.
//!
//! SIPp's own `-lost 30` draws from an unseeded generator, and which datagram a draw hits depends on timing, so
//! a call fails now and then for want of luck. Here the fate of a datagram depends only on what it is: its
//! direction, the call it belongs to (numbered in order of first appearance), its start line and CSeq, and how
//! many identical copies went before it (retransmissions). A fixed seed therefore loses the same messages every
//! time, whatever the scheduling. To stay within what RFC 3261 retransmissions repair (Timer A/E double up to
//! seven sends, and a 2xx is retransmitted until its ACK), no message loses more than [`MAX_LOST_COPIES`] copies
//! in a row: the next one always passes.

use std::collections::HashMap;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// Copies of one message that may be lost in a row; the next always gets through.
const MAX_LOST_COPIES: u64 = 2;

/// A running relay: SIPp sends to [`LossyRelay::address`]; tandem sees the relay as the peer.
pub struct LossyRelay {
    /// Where SIPp sends (the relay's side facing SIPp).
    pub address: SocketAddr,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
    /// Datagrams forwarded.
    pub passed: Arc<AtomicU64>,
    /// Datagrams dropped.
    pub lost: Arc<AtomicU64>,
}

/// The pattern's state shared by both directions: call numbering and per-message copy counts.
struct Pattern {
    seed: u64,
    percent: u64,
    calls: HashMap<String, u64>,
    copies: HashMap<String, u64>,
}

impl Pattern {
    /// Whether this datagram is lost.
    fn lose(&mut self, toward_tandem: bool, data: &[u8]) -> bool {
        let text = String::from_utf8_lossy(data);
        let head = text.split("\r\n\r\n").next().unwrap_or_default();
        let mut lines = head.split("\r\n");
        let start = lines.next().unwrap_or_default().to_string();
        let (mut call_id, mut cseq) = (String::new(), String::new());
        for line in lines {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            match name.trim().to_ascii_lowercase().as_str() {
                "call-id" | "i" => call_id = value.trim().to_string(),
                "cseq" => cseq = value.trim().to_string(),
                _ => {}
            }
        }
        let next = self.calls.len() as u64;
        let call = *self.calls.entry(call_id).or_insert(next);
        let key = format!("{toward_tandem} {call} {start} {cseq}");
        let copy = self.copies.entry(key.clone()).or_insert(0);
        let nth = *copy;
        *copy += 1;
        if nth >= MAX_LOST_COPIES {
            return false;
        }
        // Lose copy n if draws 0..=n all say "lose": a message's losses are consecutive copies from the first.
        (0..=nth)
            .all(|i| splitmix(self.seed ^ fnv(&key) ^ i.wrapping_mul(0x9e37)) % 100 < self.percent)
    }
}

fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

impl LossyRelay {
    /// Starts a relay on loopback toward `tandem`, losing about `percent`% of first copies in each direction.
    pub fn start(tandem: SocketAddr, seed: u64, percent: u64) -> LossyRelay {
        let facing_sipp = UdpSocket::bind("127.0.0.1:0").expect("bind relay");
        let facing_tandem = UdpSocket::bind("127.0.0.1:0").expect("bind relay");
        for socket in [&facing_sipp, &facing_tandem] {
            socket
                .set_read_timeout(Some(Duration::from_millis(50)))
                .unwrap();
        }
        let address = facing_sipp.local_addr().unwrap();
        let pattern = Arc::new(Mutex::new(Pattern {
            seed,
            percent,
            calls: HashMap::new(),
            copies: HashMap::new(),
        }));
        let sipp: Arc<Mutex<Option<SocketAddr>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let passed = Arc::new(AtomicU64::new(0));
        let lost = Arc::new(AtomicU64::new(0));
        let facing_sipp = Arc::new(facing_sipp);
        let facing_tandem = Arc::new(facing_tandem);
        let mut threads = Vec::new();
        for toward_tandem in [true, false] {
            let (from, to) = if toward_tandem {
                (facing_sipp.clone(), facing_tandem.clone())
            } else {
                (facing_tandem.clone(), facing_sipp.clone())
            };
            let (pattern, sipp, stop) = (pattern.clone(), sipp.clone(), stop.clone());
            let (passed, lost) = (passed.clone(), lost.clone());
            threads.push(std::thread::spawn(move || {
                let mut buffer = vec![0u8; 65_536];
                while !stop.load(Ordering::Relaxed) {
                    let Ok((length, source)) = from.recv_from(&mut buffer) else {
                        continue;
                    };
                    let data = &buffer[..length];
                    let destination = if toward_tandem {
                        *sipp.lock().unwrap() = Some(source);
                        tandem
                    } else {
                        match *sipp.lock().unwrap() {
                            Some(address) => address,
                            None => continue,
                        }
                    };
                    if pattern.lock().unwrap().lose(toward_tandem, data) {
                        lost.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                    passed.fetch_add(1, Ordering::Relaxed);
                    let _ = to.send_to(data, destination);
                }
            }));
        }
        LossyRelay {
            address,
            stop,
            threads,
            passed,
            lost,
        }
    }

    /// The share of datagrams lost so far, in percent.
    pub fn lost_percent(&self) -> f64 {
        let lost = self.lost.load(Ordering::Relaxed) as f64;
        let total = lost + self.passed.load(Ordering::Relaxed) as f64;
        if total == 0.0 {
            0.0
        } else {
            100.0 * lost / total
        }
    }
}

impl Drop for LossyRelay {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

#[test]
fn the_loss_pattern_depends_only_on_the_messages() {
    let messages: Vec<String> = (0..200)
        .map(|n| {
            format!(
                "INVITE sip:x SIP/2.0\r\nCall-ID: c{}\r\nCSeq: {n} INVITE\r\n\r\n",
                n % 7
            )
        })
        .collect();
    let run = |seed| {
        let mut pattern = Pattern {
            seed,
            percent: 30,
            calls: HashMap::new(),
            copies: HashMap::new(),
        };
        let fates: Vec<bool> = messages
            .iter()
            .map(|m| pattern.lose(true, m.as_bytes()))
            .collect();
        // Every message repeated: never more than MAX_LOST_COPIES copies in a row are lost.
        for m in &messages {
            let lost_in_a_row = (0..5)
                .take_while(|_| pattern.lose(true, m.as_bytes()))
                .count() as u64;
            assert!(lost_in_a_row <= MAX_LOST_COPIES);
        }
        fates
    };
    let first = run(7);
    assert_eq!(first, run(7), "same seed, same losses");
    assert_ne!(first, run(8), "another seed, other losses");
    let lost = first.iter().filter(|lost| **lost).count();
    assert!((40..=80).contains(&lost), "{lost} of 200 lost at 30%");
}
