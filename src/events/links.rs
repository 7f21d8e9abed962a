//! `tandem links`: the operator's view of the signalling links, folded from an event log. For each trunk it shows
//! the configured association (transport, remote, point codes, routing context or dynamic key), whether the SCTP
//! association is up, the M3UA ASP state (RFC 4666 §4.3), the routing context in use, the last AS state the
//! peer notified, and what SSNM (DUNA/DAVA/SCON/DUPU) said about the destination. The running gateway writes its
//! log continuously (WAL), so this works on a live log as well as on an old one.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::{Event, EventKind, Input, Output};
use crate::config::Config;

/// What the log says about one trunk's link.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LinkStatus {
    /// Trunk name.
    pub trunk: String,
    /// Configured transport, remote, point codes and M3UA addressing, from the log's setup.
    pub configured: String,
    /// `Some(true)` after `sctp_up`, `Some(false)` after `sctp_down`; `None` before either.
    pub sctp_up: Option<bool>,
    /// Why the association last went down.
    pub down_reason: Option<String>,
    /// Last ASP state (the `to` of the last `m3ua_asp` transition), `Down` before any.
    pub asp_state: String,
    /// Clock (ms) of the last ASP state change, counted from the log's start.
    pub since_ms: u64,
    /// IPSP double exchange: the peer IPSP's last state (`m3ua_ipsp_peer` transitions).
    pub peer_ipsp_state: Option<String>,
    /// Routing context registered dynamically, if any.
    pub registered_routing_context: Option<u32>,
    /// Last AS state notified by the peer (NTFY status type 1).
    pub as_state: Option<&'static str>,
    /// The destination's state from SSNM (`m3ua_destination` transitions), as "DPC n: State".
    pub destination: Option<String>,
    /// Last SSNM message names seen (newest last, at most five).
    pub network_management: Vec<String>,
    /// On a trunk with several associations: the last route change of this one ("available; traffic on ...").
    pub route: Option<String>,
    /// Associations that came up, and that went down.
    pub ups: u64,
    /// See `ups`.
    pub downs: u64,
}

/// Folds a log into one [`LinkStatus`] per trunk, in configuration order.
pub fn link_statuses(events: &[Event]) -> Vec<LinkStatus> {
    let mut order: Vec<String> = Vec::new();
    let start_ms = events.first().map_or(0, |event| event.at_ms);
    let mut links: BTreeMap<String, LinkStatus> = BTreeMap::new();
    let entry = |links: &mut BTreeMap<String, LinkStatus>, order: &mut Vec<String>, trunk: &str| {
        if !links.contains_key(trunk) {
            order.push(trunk.to_owned());
        }
        links
            .entry(trunk.to_owned())
            .or_insert_with(|| LinkStatus {
                trunk: trunk.to_owned(),
                asp_state: "Down".to_owned(),
                ..LinkStatus::default()
            })
            .trunk
            .clone()
    };
    for event in events {
        match &event.kind {
            EventKind::Input(Input::Start(setup)) => {
                let Ok(config) = Config::from_toml_str("log setup", &setup.config) else {
                    continue;
                };
                for trunk in &config.trunks {
                    for link_config in trunk.links() {
                        let name = entry(&mut links, &mut order, &link_config.id);
                        if let Some(link) = links.get_mut(&name) {
                            link.configured = configured(trunk, &link_config);
                        }
                    }
                }
            }
            EventKind::Input(Input::SctpUp { trunk }) => {
                let name = entry(&mut links, &mut order, trunk);
                if let Some(link) = links.get_mut(&name) {
                    link.sctp_up = Some(true);
                    link.ups += 1;
                }
            }
            EventKind::Input(Input::SctpDown { trunk, reason }) => {
                let name = entry(&mut links, &mut order, trunk);
                if let Some(link) = links.get_mut(&name) {
                    link.sctp_up = Some(false);
                    link.down_reason = Some(reason.clone());
                    link.downs += 1;
                }
            }
            EventKind::Transition(transition) if transition.machine == "m3ua_asp" => {
                let name = entry(&mut links, &mut order, &transition.id);
                if let Some(link) = links.get_mut(&name) {
                    link.asp_state.clone_from(&transition.to);
                    link.since_ms = event.at_ms.saturating_sub(start_ms);
                }
            }
            EventKind::Transition(transition) if transition.machine == "m3ua_ipsp_peer" => {
                if let Some(link) = links.get_mut(&transition.id) {
                    link.peer_ipsp_state = Some(transition.to.clone());
                }
            }
            EventKind::Transition(transition) if transition.machine == "m3ua_destination" => {
                // The id is `link/DPC`; a link id may itself hold a '/' (`trunk/association`).
                let Some((trunk, dpc)) = transition.id.rsplit_once('/') else {
                    continue;
                };
                if let Some(link) = links.get_mut(trunk) {
                    link.destination = Some(format!("DPC {dpc}: {}", transition.to));
                }
            }
            EventKind::Output(Output::Log { message, .. }) => {
                let Some((trunk, text)) = message
                    .strip_prefix("trunk ")
                    .and_then(|rest| rest.split_once(": "))
                else {
                    continue;
                };
                let Some(link) = links.get_mut(trunk) else {
                    continue;
                };
                fold_log_line(link, text);
            }
            _ => {}
        }
    }
    order
        .into_iter()
        .filter_map(|name| links.remove(&name))
        .collect()
}

/// The configured line of one link: transport, peer, point codes, addressing, traffic mode, and the route
/// priority on a trunk with several associations.
fn configured(trunk: &crate::config::TrunkConfig, link: &crate::config::LinkConfig) -> String {
    let addressing = match (link.register_routing_key, link.routing_context) {
        (true, _) => "dynamic routing key".to_owned(),
        (false, Some(rc)) => format!("routing context {rc}"),
        (false, None) => "no routing context".to_owned(),
    };
    let priority = if trunk.association.is_empty() {
        String::new()
    } else {
        format!(", priority {}", link.priority)
    };
    let mode = match trunk.mode {
        crate::config::LinkMode::Asp => "",
        crate::config::LinkMode::IpspSingle => ", IPSP single exchange",
        crate::config::LinkMode::IpspDouble => ", IPSP double exchange",
    };
    let text = format!(
        "{:?} {} OPC {} DPC {}, {addressing}, {:?}{priority}",
        link.transport, link.remote, trunk.opc, trunk.dpc, link.traffic_mode
    )
    .to_lowercase();
    format!("{text}{mode}")
}

/// The gateway's log lines about a trunk's M3UA (see `interwork::isup_side`).
fn fold_log_line(link: &mut LinkStatus, text: &str) {
    if let Some(rc) = text.strip_prefix("routing key registered, routing context ") {
        link.registered_routing_context = rc.trim().parse().ok();
    } else if text.starts_with("routing key deregistered") {
        link.registered_routing_context = None;
    } else if let Some(info) = text.strip_prefix("NTFY status type 1, info ") {
        // RFC 4666 §3.8.2 status information for AS state changes.
        link.as_state = match info.trim() {
            "2" => Some("AS-INACTIVE"),
            "3" => Some("AS-ACTIVE"),
            "4" => Some("AS-PENDING"),
            _ => link.as_state,
        };
    } else if let Some(route) = text
        .strip_prefix("route to DPC ")
        .and_then(|rest| rest.split_once(' '))
    {
        link.route = Some(route.1.to_owned());
    } else if let Some(name) = text.strip_prefix("network management ") {
        link.network_management.push(name.to_owned());
        if link.network_management.len() > 5 {
            link.network_management.remove(0);
        }
    }
}

/// The report `tandem links` prints.
pub fn render_links(statuses: &[LinkStatus]) -> String {
    let mut out = String::new();
    if statuses.is_empty() {
        out.push_str("no trunks in this log\n");
    }
    for link in statuses {
        let sctp = match link.sctp_up {
            Some(true) => "up".to_owned(),
            Some(false) => format!(
                "down ({})",
                link.down_reason.as_deref().unwrap_or("unknown reason")
            ),
            None => "not yet connected".to_owned(),
        };
        let _ = writeln!(out, "trunk {}", link.trunk);
        if !link.configured.is_empty() {
            let _ = writeln!(out, "  configured      {}", link.configured);
        }
        let _ = writeln!(
            out,
            "  association     {sctp}; {} up, {} down so far",
            link.ups, link.downs
        );
        let _ = writeln!(
            out,
            "  ASP             {} since {:.3} s after start",
            link.asp_state,
            link.since_ms as f64 / 1000.0
        );
        if let Some(state) = &link.peer_ipsp_state {
            let _ = writeln!(out, "  peer IPSP       {state}");
        }
        if let Some(rc) = link.registered_routing_context {
            let _ = writeln!(out, "  registered RC   {rc}");
        }
        let _ = writeln!(
            out,
            "  AS (NTFY)       {}",
            link.as_state.unwrap_or("no notification yet")
        );
        let destination = if link.network_management.is_empty() {
            "no SSNM received".to_owned()
        } else {
            link.network_management.join(", ")
        };
        let _ = writeln!(out, "  SSNM            {destination}");
        if let Some(state) = &link.destination {
            let _ = writeln!(out, "  destination     {state}");
        }
        if let Some(route) = &link.route {
            let _ = writeln!(out, "  route           {route}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{LogLevel, Transition};

    fn event(seq: u64, kind: EventKind) -> Event {
        Event {
            seq,
            at_ms: seq * 100,
            call: None,
            kind,
        }
    }

    fn log(message: &str) -> EventKind {
        EventKind::Output(Output::Log {
            level: LogLevel::Info,
            message: message.to_owned(),
        })
    }

    fn asp(to: &str) -> EventKind {
        EventKind::Transition(Transition {
            machine: "m3ua_asp".into(),
            id: "pstn".into(),
            from: "x".into(),
            to: to.into(),
            reason: "r".into(),
        })
    }

    #[test]
    fn folds_association_asp_registration_ntfy_and_ssnm() {
        let events = vec![
            event(
                1,
                EventKind::Input(Input::SctpUp {
                    trunk: "pstn".into(),
                }),
            ),
            event(2, asp("UpPending")),
            event(
                3,
                log("trunk pstn: routing key registered, routing context 7"),
            ),
            event(4, asp("Active")),
            event(5, log("trunk pstn: NTFY status type 1, info 3")),
            event(6, log("trunk pstn: network management DAVA")),
            event(7, log("trunk other: network management DUNA")),
        ];
        let links = link_statuses(&events);
        assert_eq!(links.len(), 1, "{links:?}");
        let link = &links[0];
        assert_eq!(link.sctp_up, Some(true));
        assert_eq!(link.asp_state, "Active");
        assert_eq!(link.since_ms, 300);
        assert_eq!(link.registered_routing_context, Some(7));
        assert_eq!(link.as_state, Some("AS-ACTIVE"));
        assert_eq!(link.network_management, ["DAVA"]);
        let text = render_links(&links);
        assert!(text.contains("trunk pstn"), "{text}");
        assert!(
            text.contains("ASP             Active since 0.300 s after start"),
            "{text}"
        );
        assert!(text.contains("registered RC   7"), "{text}");
    }

    #[test]
    fn several_associations_of_one_trunk_are_shown_apart() {
        let config = "[[trunk]]\nname = \"pstn\"\nopc = 1\ndpc = 2\n\
            [[trunk.association]]\nname = \"a\"\nremote = \"127.0.0.1:2905\"\n\
            [[trunk.association]]\nname = \"b\"\nremote = \"127.0.0.2:2905\"\npriority = 1\n";
        let setup = crate::events::Setup {
            format_version: crate::events::EVENT_FORMAT_VERSION,
            seed: 0,
            config: config.into(),
            dialplan: crate::events::SourceText {
                name: "none".into(),
                text: String::new(),
            },
            dialplan_tables: Vec::new(),
            mappings: Vec::new(),
        };
        let destination = EventKind::Transition(Transition {
            machine: "m3ua_destination".into(),
            id: "pstn/b/2".into(),
            from: "Unknown".into(),
            to: "Available".into(),
            reason: "DAVA received".into(),
        });
        let events = vec![
            event(1, EventKind::Input(Input::Start(Box::new(setup)))),
            event(
                2,
                EventKind::Input(Input::SctpUp {
                    trunk: "pstn/b".into(),
                }),
            ),
            event(3, destination),
            event(
                4,
                log("trunk pstn/b: route to DPC 2 available; traffic on pstn/b"),
            ),
        ];
        let links = link_statuses(&events);
        let ids: Vec<&str> = links.iter().map(|l| l.trunk.as_str()).collect();
        assert_eq!(ids, ["pstn/a", "pstn/b"]);
        assert_eq!(links[0].sctp_up, None);
        assert_eq!(links[1].sctp_up, Some(true));
        assert_eq!(links[1].destination.as_deref(), Some("DPC 2: Available"));
        assert_eq!(
            links[1].route.as_deref(),
            Some("available; traffic on pstn/b")
        );
        assert!(links[1].configured.contains("127.0.0.2:2905"), "{links:?}");
        assert!(links[1].configured.ends_with("priority 1"), "{links:?}");
        assert!(render_links(&links).contains("trunk pstn/a"));
    }

    #[test]
    fn loss_shows_down_with_reason_and_counts() {
        let events = vec![
            event(
                1,
                EventKind::Input(Input::SctpUp {
                    trunk: "pstn".into(),
                }),
            ),
            event(2, asp("Active")),
            event(
                3,
                EventKind::Input(Input::SctpDown {
                    trunk: "pstn".into(),
                    reason: "Aborted".into(),
                }),
            ),
            event(4, asp("Down")),
        ];
        let links = link_statuses(&events);
        assert_eq!(links[0].sctp_up, Some(false));
        assert_eq!(links[0].asp_state, "Down");
        assert_eq!((links[0].ups, links[0].downs), (1, 1));
        assert!(render_links(&links).contains("down (Aborted); 1 up, 1 down so far"));
    }

    #[test]
    fn shows_the_peer_ipsp_of_a_double_exchange_link() {
        let peer = |to: &str| {
            EventKind::Transition(Transition {
                machine: "m3ua_ipsp_peer".into(),
                id: "pstn".into(),
                from: "x".into(),
                to: to.into(),
                reason: "r".into(),
            })
        };
        let events = vec![
            event(1, asp("Active")),
            event(2, peer("Inactive")),
            event(3, peer("Active")),
        ];
        let links = link_statuses(&events);
        assert_eq!(links[0].peer_ipsp_state.as_deref(), Some("Active"));
        let text = render_links(&links);
        assert!(text.contains("peer IPSP       Active"), "{text}");
        // An ASP link has no peer IPSP line.
        assert!(!render_links(&link_statuses(&events[..1])).contains("peer IPSP"));
    }
}
