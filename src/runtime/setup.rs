//! Building the [`Setup`] a run starts from: the resolved configuration (with the users of `[sip] users_db`),
//! the dialplan source and the mapping profiles the trunks use, all as text, so the event log holds everything
//! replay needs.

use std::collections::BTreeSet;

use thiserror::Error;

use crate::config::{Config, ConfigError};
use crate::events::{Setup, SourceText, EVENT_FORMAT_VERSION};
use crate::interwork::tables::MappingTables;

/// Why a setup could not be built.
#[derive(Debug, Error)]
pub enum SetupError {
    /// Reading the dialplan failed.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The configuration did not serialise (a bug: every field is plain data).
    #[error("configuration cannot be recorded: {0}")]
    Serialise(#[from] toml::ser::Error),
    /// The users database (`[sip] users_db`) could not be read.
    #[error(transparent)]
    UsersDb(#[from] super::users_db::UsersDbError),
    /// A trunk names a profile tandem does not ship.
    #[error("trunk {trunk}: unknown mapping profile {profile:?}")]
    UnknownProfile {
        /// Trunk name.
        trunk: String,
        /// The profile it names.
        profile: String,
    },
}

/// Builds the setup for `config` with `seed`.
pub fn build_setup(config: &Config, seed: u64) -> Result<Setup, SetupError> {
    let (name, text) = config.dialplan_source()?;
    let dialplan_tables = config
        .dialplan_tables()?
        .into_iter()
        .map(|(name, text)| SourceText { name, text })
        .collect();
    let mut recorded = config.clone();
    // The dialplan travels as text in the setup; a path would make replay depend on the file still being there.
    recorded.dialplan.path = None;
    recorded.dialplan.tables.clear();
    // Likewise the users database: its users are recorded with the configuration's own.
    recorded.sip.user = super::users_db::merged_users(config)?;
    recorded.sip.users_db = None;
    let mut profiles = BTreeSet::new();
    for trunk in &config.trunks {
        profiles.insert((trunk.profile.clone(), trunk.name.clone()));
    }
    let mut mappings = Vec::new();
    for (profile, trunk) in profiles {
        if mappings.iter().any(|m: &SourceText| m.name == profile) {
            continue;
        }
        let text =
            MappingTables::embedded_source(&profile).ok_or_else(|| SetupError::UnknownProfile {
                trunk,
                profile: profile.clone(),
            })?;
        mappings.push(SourceText {
            name: profile,
            text: text.to_string(),
        });
    }
    Ok(Setup {
        format_version: EVENT_FORMAT_VERSION,
        seed,
        config: toml::to_string(&recorded)?,
        dialplan: SourceText { name, text },
        dialplan_tables,
        mappings,
    })
}
