//! Reading a script's return value into a [`RouteDecision`]: a route map, an array of route maps (tried in
//! order), or a rejection. Anything outside that contract is an error naming what is wrong.

use rhai::{Dynamic, Map};

use super::{Route, RouteDecision};

/// Most routes one decision may list; more would only delay the caller.
pub const MAX_ROUTES: usize = 16;

fn string_field(map: &Map, key: &str) -> Result<Option<String>, String> {
    match map.get(key) {
        None => Ok(None),
        Some(value) => value
            .clone()
            .into_string()
            .map(Some)
            .map_err(|found| format!("`{key}` must be a string, found {found}")),
    }
}

fn required_string(map: &Map, key: &str, action: &str) -> Result<String, String> {
    match string_field(map, key)? {
        Some(value) if !value.is_empty() => Ok(value),
        _ => Err(format!("action \"{action}\" needs a non-empty `{key}`")),
    }
}

fn only_keys(map: &Map, allowed: &[&str], action: &str) -> Result<(), String> {
    match map.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(key) => Err(format!("unknown key `{key}` for action \"{action}\"")),
        None => Ok(()),
    }
}

/// Reads the value `route(view)` returned.
pub fn decision(value: Dynamic) -> Result<RouteDecision, String> {
    if value.is_array() {
        let array = value.into_array().unwrap_or_default();
        if array.is_empty() {
            return Err("an empty route list (return a reject to refuse the call)".into());
        }
        if array.len() > MAX_ROUTES {
            return Err(format!("{} routes; at most {MAX_ROUTES}", array.len()));
        }
        let routes = array
            .into_iter()
            .enumerate()
            .map(|(index, item)| {
                let map = as_map(item).map_err(|e| format!("route {}: {e}", index + 1))?;
                route(&map).map_err(|e| format!("route {}: {e}", index + 1))
            })
            .collect::<Result<Vec<_>, _>>()?;
        return Ok(RouteDecision::Routes(routes));
    }
    let map = as_map(value)?;
    if string_field(&map, "action")?.as_deref() == Some("reject") {
        only_keys(&map, &["action", "cause"], "reject")?;
        let cause = map
            .get("cause")
            .ok_or("action \"reject\" needs `cause`")?
            .as_int()
            .map_err(|found| format!("`cause` must be an integer, found {found}"))?;
        let cause = u8::try_from(cause)
            .ok()
            .filter(|c| (1..=127).contains(c))
            .ok_or_else(|| format!("`cause` {cause} is not a Q.850 cause (1..=127)"))?;
        return Ok(RouteDecision::Reject { cause });
    }
    Ok(RouteDecision::Routes(vec![route(&map)?]))
}

fn as_map(value: Dynamic) -> Result<Map, String> {
    let type_name = value.type_name();
    value.try_cast::<Map>().ok_or_else(|| {
        format!("expected a map like #{{ action: \"trunk\", ... }} or an array of them, found {type_name}")
    })
}

fn route(map: &Map) -> Result<Route, String> {
    let action = string_field(map, "action")?.ok_or("missing `action`")?;
    match action.as_str() {
        "trunk" => {
            only_keys(
                map,
                &["action", "trunk", "called", "calling", "ported"],
                "trunk",
            )?;
            let ported = match map.get("ported") {
                None => false,
                Some(value) => value
                    .as_bool()
                    .map_err(|found| format!("`ported` must be true or false, found {found}"))?,
            };
            Ok(Route::Trunk {
                trunk: required_string(map, "trunk", "trunk")?,
                called: string_field(map, "called")?,
                calling: string_field(map, "calling")?,
                ported,
            })
        }
        "sip" => {
            only_keys(map, &["action", "uri", "called", "calling"], "sip")?;
            let uri = required_string(map, "uri", "sip")?;
            let scheme_ok = ["sip:", "sips:", "tel:"].iter().any(|scheme| {
                uri.get(..scheme.len())
                    .is_some_and(|s| s.eq_ignore_ascii_case(scheme))
            });
            if !scheme_ok {
                return Err(format!("`uri` {uri:?} is not a sip:, sips: or tel: URI"));
            }
            Ok(Route::Sip {
                uri,
                called: string_field(map, "called")?,
                calling: string_field(map, "calling")?,
            })
        }
        "user" => {
            only_keys(map, &["action", "user", "calling"], "user")?;
            Ok(Route::User {
                user: required_string(map, "user", "user")?,
                calling: string_field(map, "calling")?,
            })
        }
        "reject" => Err("a reject cannot be one of several routes".into()),
        other => Err(format!(
            "unknown action {other:?} (expected \"trunk\", \"sip\", \"user\" or \"reject\")"
        )),
    }
}
