//! Fabric's policy language: `AND('HospitalAMSP.peer', OR('InsurerMSP.peer', 'LabMSP.peer'))`,
//! `OutOf(2, 'A.member', 'B.member', 'C.member')`. Operators are case-insensitive; principals are
//! quoted `MSPID.role` with role member, admin, client, peer or orderer. Used in configtx.yaml,
//! chaincode definitions and the CLI.

use carechain_crypto::msp::{Principal, Role};

use crate::policy::{PolicyError, Rule, SignaturePolicy};

/// Parses a policy expression.
pub fn parse(text: &str) -> Result<SignaturePolicy, PolicyError> {
    let mut p = Parser {
        text,
        pos: 0,
        principals: Vec::new(),
    };
    let rule = p.expr(0)?;
    p.skip_ws();
    if p.pos != text.len() {
        return Err(p.error("unexpected text after the policy"));
    }
    SignaturePolicy::new(rule, p.principals)
}

struct Parser<'a> {
    text: &'a str,
    pos: usize,
    principals: Vec<Principal>,
}

impl Parser<'_> {
    fn error(&self, reason: &str) -> PolicyError {
        PolicyError::Parse {
            text: self.text.to_string(),
            reason: format!("{reason} at position {}", self.pos),
        }
    }

    fn skip_ws(&mut self) {
        while self.rest().starts_with(char::is_whitespace) {
            self.pos += 1;
        }
    }

    fn rest(&self) -> &str {
        &self.text[self.pos..]
    }

    fn eat(&mut self, c: char) -> bool {
        self.skip_ws();
        if self.rest().starts_with(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }

    fn expr(&mut self, depth: usize) -> Result<Rule, PolicyError> {
        if depth > 32 {
            return Err(self.error("policy nested too deeply"));
        }
        self.skip_ws();
        if self.rest().starts_with(['\'', '"']) {
            return self.principal();
        }
        let word: String = self
            .rest()
            .chars()
            .take_while(|c| c.is_ascii_alphabetic())
            .collect();
        self.pos += word.len();
        let op = word.to_ascii_lowercase();
        if !self.eat('(') {
            return Err(self.error("expected AND(, OR(, OutOf( or a quoted principal"));
        }
        let n = if op == "outof" {
            self.skip_ws();
            let digits: String = self.rest().chars().take_while(char::is_ascii_digit).collect();
            self.pos += digits.len();
            let n = digits
                .parse::<usize>()
                .map_err(|_| self.error("OutOf needs a count first"))?;
            if !self.eat(',') {
                return Err(self.error("expected ',' after the OutOf count"));
            }
            Some(n)
        } else if op == "and" || op == "or" {
            None
        } else {
            return Err(self.error(&format!("unknown operator {word:?}")));
        };
        let mut rules = vec![self.expr(depth + 1)?];
        while self.eat(',') {
            rules.push(self.expr(depth + 1)?);
        }
        if !self.eat(')') {
            return Err(self.error("expected ')'"));
        }
        let n = match (op.as_str(), n) {
            ("and", _) => rules.len(),
            ("or", _) => 1,
            (_, Some(n)) if n <= rules.len() => n,
            (_, Some(n)) => {
                return Err(self.error(&format!("OutOf({n}, ...) has only {} choices", rules.len())));
            }
            _ => 1,
        };
        Ok(Rule::OutOf(n, rules))
    }

    fn principal(&mut self) -> Result<Rule, PolicyError> {
        let quote = self.rest().chars().next().unwrap_or('\'');
        self.pos += 1;
        let Some(end) = self.rest().find(quote) else {
            return Err(self.error("unterminated principal"));
        };
        let body = self.rest()[..end].to_string();
        self.pos += end + 1;
        let Some((msp, role)) = body.rsplit_once('.') else {
            return Err(self.error(&format!("principal {body:?} must be MSPID.role")));
        };
        let role = parse_role(role).ok_or_else(|| {
            self.error(&format!(
                "unknown role {role:?} (member, admin, client, peer, orderer)"
            ))
        })?;
        if msp.is_empty() {
            return Err(self.error("empty MSP id"));
        }
        let principal = Principal::role(msp, role);
        let i = match self.principals.iter().position(|p| *p == principal) {
            Some(i) => i,
            None => {
                self.principals.push(principal);
                self.principals.len() - 1
            }
        };
        Ok(Rule::SignedBy(i))
    }
}

fn parse_role(s: &str) -> Option<Role> {
    Some(match s.to_ascii_lowercase().as_str() {
        "member" => Role::Member,
        "admin" => Role::Admin,
        "client" => Role::Client,
        "peer" => Role::Peer,
        "orderer" => Role::Orderer,
        _ => return None,
    })
}
