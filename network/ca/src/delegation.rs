//! Registrar delegation, as in fabric-ca: who may register, revoke, list and generate CRLs, and which
//! types, affiliations and attributes a registrar may hand out.
//!
//! The identities a CA issues decide who can endorse and submit in endorse → order → validate, and
//! which attributes chaincode sees; a hospital's ward administrator must be able to register nurses
//! without being able to mint doctors or peers. The rules:
//!
//! - `hf.Registrar.Roles` (`client,admin` or `*`): the types the registrar may register, revoke and list.
//! - `hf.Registrar.DelegateRoles`: the types it may put into another identity's `hf.Registrar.Roles`
//!   (default: its own `hf.Registrar.Roles`).
//! - `hf.Registrar.Attributes`: comma-separated patterns of attribute names it may register: `role`,
//!   `dept.*` (prefix), `*` (any). carechain extension: `role=nurse|patient` restricts the values too.
//! - `hf.*` privileges can only be delegated by a registrar holding them: `hf.Revoker` / `hf.GenCRL`
//!   as `true` only if the registrar's is `true`; role lists only as subsets; attribute patterns only
//!   if the registrar's own patterns cover them.
//! - Affiliations are a tree (`hospitala.cardiology`); a registrar acts only at or below its own.
//!
//! Pure: takes attribute lists, returns a typed refusal naming the registrar and what it lacks.

use std::collections::BTreeSet;

use crate::model::{
    self, Attribute, GEN_CRL, IdentityType, REGISTRAR_ATTRIBUTES, REGISTRAR_DELEGATE_ROLES, REGISTRAR_ROLES,
    REVOKER, affiliation_covers,
};

/// Why a registrar may not do what it asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    /// The caller has no `hf.Registrar.Roles`.
    #[error(
        "{caller} is not a registrar: it has no hf.Registrar.Roles attribute, so it may not register identities"
    )]
    NotRegistrar {
        /// The caller's enrollment id.
        caller: String,
    },
    /// The type is outside the registrar's `hf.Registrar.Roles`.
    #[error("{caller} may not {action} identities of type {wanted}: its hf.Registrar.Roles is {allowed:?}")]
    Type {
        /// The caller.
        caller: String,
        /// register, revoke...
        action: &'static str,
        /// The type asked for.
        wanted: IdentityType,
        /// The registrar's roles.
        allowed: String,
    },
    /// The affiliation is not at or below the registrar's.
    #[error(
        "{caller} (affiliation {caller_affiliation:?}) may not {action} identities of affiliation {wanted:?}"
    )]
    Affiliation {
        /// The caller.
        caller: String,
        /// register, revoke...
        action: &'static str,
        /// Its affiliation.
        caller_affiliation: String,
        /// The affiliation asked for.
        wanted: String,
    },
    /// The attribute (or its value) is not covered by `hf.Registrar.Attributes`.
    #[error(
        "{caller} may not register attribute {attribute}={value}: its hf.Registrar.Attributes is {allowed:?}"
    )]
    Attribute {
        /// The caller.
        caller: String,
        /// Attribute name.
        attribute: String,
        /// Attribute value.
        value: String,
        /// The registrar's patterns.
        allowed: String,
    },
    /// A privilege (`hf.*`) the registrar does not hold itself, or holds a narrower form of.
    #[error("{caller} may not grant {attribute}={value}: {reason}")]
    Privilege {
        /// The caller.
        caller: String,
        /// The privilege attribute.
        attribute: String,
        /// The value asked for.
        value: String,
        /// What the registrar holds instead.
        reason: String,
    },
    /// The caller lacks `hf.Revoker=true`.
    #[error("{caller} may not revoke: it does not have hf.Revoker=true")]
    NotRevoker {
        /// The caller.
        caller: String,
    },
    /// The caller lacks `hf.GenCRL=true`.
    #[error("{caller} may not generate CRLs: it does not have hf.GenCRL=true")]
    NotCrlIssuer {
        /// The caller.
        caller: String,
    },
}

/// A set of identity types: `*` or a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TypeSet {
    /// Every type.
    All,
    /// These types.
    Some(BTreeSet<IdentityType>),
}

impl TypeSet {
    /// Parses `*` or `client,peer`. Unknown names are an error.
    pub fn parse(value: &str) -> Result<Self, String> {
        let items: Vec<&str> = value
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        if items.contains(&"*") {
            return Ok(Self::All);
        }
        items
            .iter()
            .map(|s| s.parse::<IdentityType>())
            .collect::<Result<_, _>>()
            .map(Self::Some)
    }

    /// Whether `t` is in the set.
    pub fn contains(&self, t: IdentityType) -> bool {
        match self {
            Self::All => true,
            Self::Some(s) => s.contains(&t),
        }
    }

    fn is_subset_of(&self, other: &TypeSet) -> bool {
        match (self, other) {
            (_, Self::All) => true,
            (Self::All, Self::Some(_)) => false,
            (Self::Some(a), Self::Some(b)) => a.is_subset(b),
        }
    }
}

/// One `hf.Registrar.Attributes` pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttrPattern {
    name: NamePattern,
    /// Allowed values (carechain extension `name=v1|v2`); `None` = any value.
    values: Option<BTreeSet<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum NamePattern {
    Any,
    Prefix(String),
    Exact(String),
}

impl AttrPattern {
    /// Parses a comma-separated pattern list (`role=doctor|nurse,department,lab.*`).
    pub fn parse_list(value: &str) -> Result<Vec<AttrPattern>, String> {
        value
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(Self::parse)
            .collect()
    }

    fn parse(item: &str) -> Result<AttrPattern, String> {
        let (name, values) = match item.split_once('=') {
            Some((n, v)) => {
                let set: BTreeSet<String> = v.split('|').map(|s| s.trim().to_string()).collect();
                if set.iter().any(String::is_empty) {
                    return Err(format!("attribute pattern {item:?} has an empty value"));
                }
                (n.trim(), Some(set))
            }
            None => (item, None),
        };
        let name = if name == "*" {
            NamePattern::Any
        } else if let Some(prefix) = name.strip_suffix('*') {
            model::validate_attribute_name(prefix.trim_end_matches('.'))?;
            NamePattern::Prefix(prefix.to_string())
        } else {
            model::validate_attribute_name(name)?;
            NamePattern::Exact(name.to_string())
        };
        if values.is_some() && !matches!(name, NamePattern::Exact(_)) {
            return Err(format!(
                "attribute pattern {item:?}: values can only be restricted for an exact name"
            ));
        }
        Ok(AttrPattern { name, values })
    }

    fn allows(&self, name: &str, value: &str) -> bool {
        let name_ok = match &self.name {
            NamePattern::Any => true,
            NamePattern::Prefix(p) => name.starts_with(p.as_str()),
            NamePattern::Exact(n) => n == name,
        };
        name_ok && self.values.as_ref().is_none_or(|v| v.contains(value))
    }

    /// Whether every (name, value) `other` allows, `self` allows too.
    fn covers(&self, other: &AttrPattern) -> bool {
        let names = match (&self.name, &other.name) {
            (NamePattern::Any, _) => true,
            (NamePattern::Prefix(p), NamePattern::Prefix(q)) => q.starts_with(p.as_str()),
            (NamePattern::Prefix(p), NamePattern::Exact(n)) => n.starts_with(p.as_str()),
            (NamePattern::Exact(a), NamePattern::Exact(b)) => a == b,
            _ => false,
        };
        let values = match (&self.values, &other.values) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(a), Some(b)) => b.is_subset(a),
        };
        names && values
    }
}

/// The powers of one registry identity, read from its attributes.
#[derive(Debug, Clone)]
pub struct Registrar<'a> {
    id: &'a str,
    affiliation: &'a str,
    attributes: &'a [Attribute],
}

fn attr<'a>(attributes: &'a [Attribute], name: &str) -> Option<&'a str> {
    attributes
        .iter()
        .find(|a| a.name == name)
        .map(|a| a.value.as_str())
}

impl<'a> Registrar<'a> {
    /// The powers of identity `id`.
    pub fn new(id: &'a str, affiliation: &'a str, attributes: &'a [Attribute]) -> Self {
        Self {
            id,
            affiliation,
            attributes,
        }
    }

    fn raw(&self, name: &str) -> &'a str {
        attr(self.attributes, name).unwrap_or("")
    }

    /// Types it may register (empty when it is no registrar; an unreadable list counts as empty).
    pub fn roles(&self) -> TypeSet {
        TypeSet::parse(self.raw(REGISTRAR_ROLES)).unwrap_or(TypeSet::Some(BTreeSet::new()))
    }

    fn delegate_roles(&self) -> TypeSet {
        match attr(self.attributes, REGISTRAR_DELEGATE_ROLES) {
            Some(v) => TypeSet::parse(v).unwrap_or(TypeSet::Some(BTreeSet::new())),
            None => self.roles(),
        }
    }

    fn patterns(&self) -> Vec<AttrPattern> {
        AttrPattern::parse_list(self.raw(REGISTRAR_ATTRIBUTES)).unwrap_or_default()
    }

    fn flag(&self, name: &str) -> bool {
        self.raw(name) == "true"
    }

    /// Whether it holds any registrar role at all.
    pub fn is_registrar(&self) -> bool {
        self.roles() != TypeSet::Some(BTreeSet::new())
    }

    fn reach(&self, action: &'static str, t: IdentityType, affiliation: &str) -> Result<(), Denied> {
        if !self.roles().contains(t) {
            return Err(Denied::Type {
                caller: self.id.into(),
                action,
                wanted: t,
                allowed: self.raw(REGISTRAR_ROLES).into(),
            });
        }
        if !affiliation_covers(self.affiliation, affiliation) {
            return Err(Denied::Affiliation {
                caller: self.id.into(),
                action,
                caller_affiliation: self.affiliation.into(),
                wanted: affiliation.into(),
            });
        }
        Ok(())
    }

    /// May it register an identity of type `t`, affiliation `affiliation`, with `attributes` (the
    /// caller-supplied ones; the CA adds `hf.EnrollmentID`, `hf.Type`, `hf.Affiliation` itself)?
    pub fn check_register(
        &self,
        t: IdentityType,
        affiliation: &str,
        attributes: &[Attribute],
    ) -> Result<(), Denied> {
        if !self.is_registrar() {
            return Err(Denied::NotRegistrar {
                caller: self.id.into(),
            });
        }
        self.reach("register", t, affiliation)?;
        let patterns = self.patterns();
        for a in attributes {
            if !patterns.iter().any(|p| p.allows(&a.name, &a.value)) {
                return Err(Denied::Attribute {
                    caller: self.id.into(),
                    attribute: a.name.clone(),
                    value: a.value.clone(),
                    allowed: self.raw(REGISTRAR_ATTRIBUTES).into(),
                });
            }
            self.check_privilege(a)?;
        }
        Ok(())
    }

    fn check_privilege(&self, a: &Attribute) -> Result<(), Denied> {
        let refuse = |reason: String| Denied::Privilege {
            caller: self.id.into(),
            attribute: a.name.clone(),
            value: a.value.clone(),
            reason,
        };
        match a.name.as_str() {
            REGISTRAR_ROLES | REGISTRAR_DELEGATE_ROLES => {
                let wanted = TypeSet::parse(&a.value).map_err(refuse)?;
                if !wanted.is_subset_of(&self.delegate_roles()) {
                    return Err(refuse(format!(
                        "it may delegate only the types in its hf.Registrar.DelegateRoles ({:?})",
                        attr(self.attributes, REGISTRAR_DELEGATE_ROLES).unwrap_or(self.raw(REGISTRAR_ROLES))
                    )));
                }
            }
            REGISTRAR_ATTRIBUTES => {
                let wanted = AttrPattern::parse_list(&a.value).map_err(refuse)?;
                let own = self.patterns();
                if let Some(p) = wanted.iter().find(|w| !own.iter().any(|o| o.covers(w))) {
                    return Err(refuse(format!(
                        "pattern {p:?} is not covered by its own hf.Registrar.Attributes ({:?})",
                        self.raw(REGISTRAR_ATTRIBUTES)
                    )));
                }
            }
            REVOKER | GEN_CRL => match a.value.as_str() {
                "false" => {}
                "true" if self.flag(&a.name) => {}
                "true" => return Err(refuse(format!("it does not have {}=true itself", a.name))),
                _ => return Err(refuse("the value must be true or false".into())),
            },
            other if other.starts_with("hf.") => {
                return Err(refuse(format!(
                    "hf.* names are reserved; the CA sets hf.EnrollmentID, hf.Type and hf.Affiliation, and registrars may delegate only {}",
                    model::PRIVILEGES.join(", ")
                )));
            }
            _ => {}
        }
        Ok(())
    }

    /// May it revoke an identity of type `t` and affiliation `affiliation`? (Anyone with
    /// `hf.Revoker=true` may revoke its own certificates.)
    pub fn check_revoke(&self, target_id: &str, t: IdentityType, affiliation: &str) -> Result<(), Denied> {
        if !self.flag(REVOKER) {
            return Err(Denied::NotRevoker {
                caller: self.id.into(),
            });
        }
        if target_id == self.id {
            return Ok(());
        }
        self.reach("revoke", t, affiliation)
    }

    /// May it generate CRLs?
    pub fn check_gen_crl(&self) -> Result<(), Denied> {
        if self.flag(GEN_CRL) {
            Ok(())
        } else {
            Err(Denied::NotCrlIssuer {
                caller: self.id.into(),
            })
        }
    }

    /// May it see identity `target_id` in listings? Itself always; others within its delegation.
    pub fn can_see(&self, target_id: &str, t: IdentityType, affiliation: &str) -> bool {
        target_id == self.id || self.reach("list", t, affiliation).is_ok()
    }
}

/// The privileges of a CA's bootstrap administrator: everything, as fabric-ca's `-b admin:adminpw`.
pub fn bootstrap_privileges() -> Vec<Attribute> {
    vec![
        Attribute::internal(REGISTRAR_ROLES, "*"),
        Attribute::internal(REGISTRAR_DELEGATE_ROLES, "*"),
        Attribute::internal(REGISTRAR_ATTRIBUTES, "*"),
        Attribute::internal(REVOKER, "true"),
        Attribute::internal(GEN_CRL, "true"),
    ]
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
#[path = "delegation_tests.rs"]
mod tests;
