//! Signature policies: who must have signed. Endorsement policies (checked at validation), channel
//! Readers/Writers/Admins (checked by the orderer at Broadcast and by peers for config updates) and
//! key-level policies are all this one structure, Fabric's `SignaturePolicyEnvelope`.
//!
//! Evaluation follows Fabric exactly: every signer satisfies at most one `SignedBy` leaf per
//! evaluation, and `OutOf(n, ...)` succeeds when at least `n` sub-rules do, each consuming the
//! signers it used. So `AND('A.peer', 'A.member')` needs two distinct identities of A.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;

use carechain_crypto::msp::{Identity, Principal, Role};
use carechain_proto::common::{
    SignaturePolicy as PbRule, SignaturePolicyEnvelope, signature_policy::NOutOf, signature_policy::Type,
};

/// Why a policy could not be built or was not satisfied.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum PolicyError {
    /// The policy definition itself is malformed.
    #[error("invalid policy: {0}")]
    Invalid(String),
    /// A policy string does not parse.
    #[error("cannot parse policy {text:?}: {reason}")]
    Parse {
        /// The text given.
        text: String,
        /// What is wrong, with position.
        reason: String,
    },
    /// The policy was evaluated and not met.
    #[error("policy {policy} not satisfied: {detail}")]
    NotSatisfied {
        /// The policy (path or expression).
        policy: String,
        /// Who signed, and what was missing.
        detail: String,
    },
    /// A policy path names nothing in the channel configuration.
    #[error("no policy {0} in the channel configuration")]
    Unknown(String),
}

/// A node of a signature policy.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Rule {
    /// Satisfied by one unused signer matching principal number `i`.
    SignedBy(usize),
    /// At least `n` of the sub-rules.
    OutOf(usize, Vec<Rule>),
}

/// A compiled `SignaturePolicyEnvelope`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SignaturePolicy {
    rule: Rule,
    principals: Vec<Principal>,
}

/// Anything that can stand for a signer in policy evaluation: a validated identity, or (for endorsement
/// planning in the gateway) "some peer of org X".
pub trait Subject {
    /// Whether this signer satisfies `principal`.
    fn satisfies(&self, principal: &Principal) -> bool;
    /// A short description for error messages.
    fn describe(&self) -> String;
}

impl Subject for Identity {
    fn satisfies(&self, principal: &Principal) -> bool {
        Identity::satisfies(self, principal)
    }
    fn describe(&self) -> String {
        Identity::describe(self)
    }
}

impl<T: Subject + ?Sized> Subject for Arc<T> {
    fn satisfies(&self, principal: &Principal) -> bool {
        (**self).satisfies(principal)
    }
    fn describe(&self) -> String {
        (**self).describe()
    }
}

impl<T: Subject + ?Sized> Subject for &T {
    fn satisfies(&self, principal: &Principal) -> bool {
        (**self).satisfies(principal)
    }
    fn describe(&self) -> String {
        (**self).describe()
    }
}

impl SignaturePolicy {
    /// Builds a policy, checking every `SignedBy` index names a principal.
    pub fn new(rule: Rule, principals: Vec<Principal>) -> Result<Self, PolicyError> {
        check_rule(&rule, principals.len())?;
        Ok(SignaturePolicy { rule, principals })
    }

    /// `SignedBy(principal)` alone.
    pub fn signed_by(principal: Principal) -> Self {
        SignaturePolicy {
            rule: Rule::SignedBy(0),
            principals: vec![principal],
        }
    }

    /// `OutOf(n, principals...)`: n distinct signers among the principals.
    pub fn n_of(n: usize, principals: Vec<Principal>) -> Self {
        let rules = (0..principals.len()).map(Rule::SignedBy).collect();
        SignaturePolicy {
            rule: Rule::OutOf(n, rules),
            principals,
        }
    }

    /// The root rule.
    pub fn rule(&self) -> &Rule {
        &self.rule
    }

    /// The principals leaves refer to.
    pub fn principals(&self) -> &[Principal] {
        &self.principals
    }

    /// The MSPs the policy mentions.
    pub fn msp_ids(&self) -> BTreeSet<String> {
        self.principals.iter().map(|p| p.msp_id().to_string()).collect()
    }

    /// Decodes Fabric's envelope.
    pub fn from_proto(env: &SignaturePolicyEnvelope) -> Result<Self, PolicyError> {
        let principals = env
            .identities
            .iter()
            .map(|p| Principal::from_proto(p).map_err(|e| PolicyError::Invalid(e.to_string())))
            .collect::<Result<Vec<_>, _>>()?;
        let rule = env
            .rule
            .as_ref()
            .ok_or_else(|| PolicyError::Invalid("signature policy has no rule".into()))?;
        SignaturePolicy::new(rule_from_proto(rule, 0)?, principals)
    }

    /// Encodes Fabric's envelope.
    pub fn to_proto(&self) -> SignaturePolicyEnvelope {
        SignaturePolicyEnvelope {
            version: 0,
            rule: Some(rule_to_proto(&self.rule)),
            identities: self.principals.iter().map(Principal::to_proto).collect(),
        }
    }

    /// Whether the (already signature-checked, de-duplicated) signers satisfy the policy.
    pub fn evaluate<S: Subject>(&self, signers: &[S]) -> bool {
        let mut used = vec![false; signers.len()];
        eval(&self.rule, &self.principals, signers, &mut used)
    }

    /// Like [`SignaturePolicy::evaluate`], with an error that names the policy and the signers.
    pub fn check<S: Subject>(&self, name: &str, signers: &[S]) -> Result<(), PolicyError> {
        if self.evaluate(signers) {
            return Ok(());
        }
        let who: Vec<String> = signers.iter().map(Subject::describe).collect();
        Err(PolicyError::NotSatisfied {
            policy: format!("{name} = {self}"),
            detail: if who.is_empty() {
                "no valid signatures".into()
            } else {
                format!("signed by {}", who.join(", "))
            },
        })
    }
}

fn check_rule(rule: &Rule, n: usize) -> Result<(), PolicyError> {
    match rule {
        Rule::SignedBy(i) if *i >= n => Err(PolicyError::Invalid(format!(
            "SignedBy({i}) refers to a principal that does not exist ({n} principals)"
        ))),
        Rule::SignedBy(_) => Ok(()),
        Rule::OutOf(_, rules) => rules.iter().try_for_each(|r| check_rule(r, n)),
    }
}

fn rule_from_proto(p: &PbRule, depth: usize) -> Result<Rule, PolicyError> {
    // Bounded recursion: a hostile config update must not overflow the stack.
    if depth > 32 {
        return Err(PolicyError::Invalid("policy nested deeper than 32 levels".into()));
    }
    match &p.r#type {
        Some(Type::SignedBy(i)) => usize::try_from(*i)
            .map(Rule::SignedBy)
            .map_err(|_| PolicyError::Invalid(format!("negative SignedBy index {i}"))),
        Some(Type::NOutOf(n)) => {
            let rules = n
                .rules
                .iter()
                .map(|r| rule_from_proto(r, depth + 1))
                .collect::<Result<Vec<_>, _>>()?;
            let count = usize::try_from(n.n)
                .map_err(|_| PolicyError::Invalid(format!("negative OutOf count {}", n.n)))?;
            Ok(Rule::OutOf(count, rules))
        }
        None => Err(PolicyError::Invalid("empty signature policy rule".into())),
    }
}

fn rule_to_proto(r: &Rule) -> PbRule {
    PbRule {
        r#type: Some(match r {
            Rule::SignedBy(i) => Type::SignedBy(*i as i32),
            Rule::OutOf(n, rules) => Type::NOutOf(NOutOf {
                n: *n as i32,
                rules: rules.iter().map(rule_to_proto).collect(),
            }),
        }),
    }
}

fn eval<S: Subject>(rule: &Rule, principals: &[Principal], signers: &[S], used: &mut [bool]) -> bool {
    match rule {
        Rule::SignedBy(i) => {
            let Some(p) = principals.get(*i) else {
                return false;
            };
            for (j, s) in signers.iter().enumerate() {
                if !used[j] && s.satisfies(p) {
                    used[j] = true;
                    return true;
                }
            }
            false
        }
        Rule::OutOf(n, rules) => {
            let mut verified = 0;
            let mut scratch = used.to_vec();
            for r in rules {
                scratch.copy_from_slice(used);
                if eval(r, principals, signers, &mut scratch) {
                    verified += 1;
                    used.copy_from_slice(&scratch);
                }
            }
            verified >= *n
        }
    }
}

impl fmt::Display for SignaturePolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_rule(&self.rule, &self.principals, f)
    }
}

fn fmt_rule(r: &Rule, principals: &[Principal], f: &mut fmt::Formatter<'_>) -> fmt::Result {
    match r {
        Rule::SignedBy(i) => match principals.get(*i) {
            Some(Principal::Role { msp_id, role }) => write!(f, "'{msp_id}.{role}'"),
            Some(p) => write!(f, "'{p}'"),
            None => write!(f, "'?'"),
        },
        Rule::OutOf(n, rules) => {
            if *n == rules.len() && *n > 1 {
                f.write_str("AND(")?;
            } else if *n == 1 && rules.len() > 1 {
                f.write_str("OR(")?;
            } else {
                write!(f, "OutOf({n}, ")?;
            }
            for (i, sub) in rules.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                fmt_rule(sub, principals, f)?;
            }
            f.write_str(")")
        }
    }
}

/// A stand-in signer for endorsement planning: "a peer of this org".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrgPeer(pub String);

impl Subject for OrgPeer {
    fn satisfies(&self, principal: &Principal) -> bool {
        matches!(principal, Principal::Role { msp_id, role: Role::Peer | Role::Member } if *msp_id == self.0)
    }
    fn describe(&self) -> String {
        format!("a peer of {}", self.0)
    }
}

#[cfg(test)]
#[path = "policy_tests.rs"]
mod tests;
