//! Keys an observer learned out of band and pins (protocol-spec/10-verifier.md §10.1):
//! the board (operator) key, role keys and witness keys.
//!
//! A record vouches for itself: its header names the board key, its genesis (leaf 0) the
//! role keys. An operator that rewrites a whole log under keys it made up produces a
//! record that is consistent on its own; only keys the observer obtained elsewhere (the
//! town's website, a printed notice, a witness) tell it apart. Pinned keys make V1 (board
//! key) and V4 (role keys) fail on such a record; pinned witnesses are required by V3
//! like the header's.
//!
//! `vox-verify --board-key HEX --role-key ROLE=HEX --trust FILE` builds a
//! [`TrustAnchors`]; the trust file is its JSON:
//!
//! ```json
//! {"board_public_key": "hex",
//!  "roles": {"registrar": "hex", "petitions-office": "hex", "election-authority": "hex"},
//!  "witnesses": ["hex"]}
//! ```
//!
//! Every field is optional; unknown fields are refused.

use serde::{Deserialize, Serialize};
use vox_protocol::board::BoardPublicKey;
use vox_protocol::roles::Role;

/// Role keys pinned by the observer (the operator's key is
/// [`TrustAnchors::board_public_key`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct PinnedRoles {
    /// The registrar's key in the genesis.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registrar: Option<BoardPublicKey>,
    /// The petitions office's key in the genesis.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub petitions_office: Option<BoardPublicKey>,
    /// The election authority's key in the genesis.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub election_authority: Option<BoardPublicKey>,
}

impl PinnedRoles {
    /// The pinned key of `role` (never one for the operator: see
    /// [`TrustAnchors::board_public_key`]).
    pub fn get(&self, role: Role) -> Option<&BoardPublicKey> {
        match role {
            Role::Operator => None,
            Role::Registrar => self.registrar.as_ref(),
            Role::PetitionsOffice => self.petitions_office.as_ref(),
            Role::ElectionAuthority => self.election_authority.as_ref(),
        }
    }

    /// Whether no role key is pinned.
    pub fn is_empty(&self) -> bool {
        self.registrar.is_none()
            && self.petitions_office.is_none()
            && self.election_authority.is_none()
    }
}

/// Keys the observer trusts independently of the record (the `--trust` file).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustAnchors {
    /// The board (operator) key the record must carry (V1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub board_public_key: Option<BoardPublicKey>,
    /// Role keys the genesis must name (V4).
    #[serde(default, skip_serializing_if = "PinnedRoles::is_empty")]
    pub roles: PinnedRoles,
    /// Witnesses that must have cosigned the head covering the record (V3), in addition
    /// to the header's and the quorum of the witness policy in force.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub witnesses: Vec<BoardPublicKey>,
}

impl TrustAnchors {
    /// Parse a trust file's JSON (unknown fields refused, keys checked like the board
    /// key: 64 hex characters of a valid, non-weak Ed25519 key).
    pub fn from_json(text: &str) -> Result<Self, String> {
        serde_json::from_str(text).map_err(|e| e.to_string())
    }

    /// Pin `key` for `role`; the operator's key is the board key. Pinning a second,
    /// different key for the same role is an error.
    pub fn pin(&mut self, role: Role, key: BoardPublicKey) -> Result<(), String> {
        let slot = match role {
            Role::Operator => &mut self.board_public_key,
            Role::Registrar => &mut self.roles.registrar,
            Role::PetitionsOffice => &mut self.roles.petitions_office,
            Role::ElectionAuthority => &mut self.roles.election_authority,
        };
        match slot {
            Some(old) if *old != key => Err(format!(
                "two different {} keys pinned: {} and {}",
                if role == Role::Operator {
                    "board (operator)"
                } else {
                    role.name()
                },
                old.to_hex(),
                key.to_hex()
            )),
            _ => {
                *slot = Some(key);
                Ok(())
            }
        }
    }

    /// Add everything `other` pins (conflicting keys are an error).
    pub fn merge(&mut self, other: TrustAnchors) -> Result<(), String> {
        if let Some(k) = other.board_public_key {
            self.pin(Role::Operator, k)?;
        }
        for role in [
            Role::Registrar,
            Role::PetitionsOffice,
            Role::ElectionAuthority,
        ] {
            if let Some(k) = other.roles.get(role) {
                self.pin(role, *k)?;
            }
        }
        for w in other.witnesses {
            if !self.witnesses.contains(&w) {
                self.witnesses.push(w);
            }
        }
        Ok(())
    }

    /// Whether nothing is pinned.
    pub fn is_empty(&self) -> bool {
        self.board_public_key.is_none() && self.roles.is_empty() && self.witnesses.is_empty()
    }
}

/// Parse a `--role-key` value, `ROLE=HEX`, ROLE being `operator` (the board key),
/// `registrar`, `petitions-office` or `election-authority`.
pub fn parse_role_key(s: &str) -> Result<(Role, BoardPublicKey), String> {
    let (role, hex) = s
        .split_once('=')
        .ok_or_else(|| format!("expected ROLE=HEX, got {s:?}"))?;
    let role = Role::from_name(role.trim()).map_err(|e| e.to_string())?;
    let key =
        BoardPublicKey::from_hex(hex.trim()).map_err(|e| format!("{} key: {e}", role.name()))?;
    Ok((role, key))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use ed25519_dalek::SigningKey;

    fn key(b: u8) -> BoardPublicKey {
        BoardPublicKey(SigningKey::from_bytes(&[b; 32]).verifying_key())
    }

    #[test]
    fn trust_file_round_trips_and_refuses_unknown_fields() {
        let t = TrustAnchors {
            board_public_key: Some(key(1)),
            roles: PinnedRoles {
                registrar: Some(key(2)),
                petitions_office: None,
                election_authority: Some(key(4)),
            },
            witnesses: vec![key(5)],
        };
        let json = serde_json::to_string(&t).unwrap();
        assert!(json.contains("\"election-authority\""), "{json}");
        assert_eq!(TrustAnchors::from_json(&json).unwrap(), t);
        assert_eq!(
            TrustAnchors::from_json("{}").unwrap(),
            TrustAnchors::default()
        );
        assert!(TrustAnchors::from_json(r#"{"board_key": "00"}"#)
            .unwrap_err()
            .contains("unknown field"));
        assert!(TrustAnchors::from_json(r#"{"roles": {"operator": "00"}}"#)
            .unwrap_err()
            .contains("unknown field"));
        assert!(TrustAnchors::from_json(r#"{"board_public_key": "zz"}"#).is_err());
    }

    #[test]
    fn role_keys_parse_and_conflicts_are_refused() {
        let (r, k) = parse_role_key(&format!("petitions-office={}", key(3).to_hex())).unwrap();
        assert_eq!((r, k), (Role::PetitionsOffice, key(3)));
        let (r, _) = parse_role_key(&format!("operator={}", key(3).to_hex())).unwrap();
        assert_eq!(r, Role::Operator);
        assert!(parse_role_key("registrar")
            .unwrap_err()
            .contains("ROLE=HEX"));
        assert!(parse_role_key("mayor=00")
            .unwrap_err()
            .contains("unknown role"));
        assert!(parse_role_key("registrar=abcd")
            .unwrap_err()
            .contains("registrar key"));
        let mut t = TrustAnchors::default();
        t.pin(Role::Registrar, key(2)).unwrap();
        t.pin(Role::Registrar, key(2)).unwrap();
        assert!(t.pin(Role::Registrar, key(3)).is_err());
        t.pin(Role::Operator, key(1)).unwrap();
        assert_eq!(t.board_public_key, Some(key(1)));
        let mut other = TrustAnchors::default();
        other.pin(Role::Operator, key(9)).unwrap();
        assert!(t.merge(other).unwrap_err().contains("board (operator)"));
    }
}
