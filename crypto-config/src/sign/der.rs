//! Strict DER codec for ECDSA P-256 signatures (`SEQUENCE { INTEGER r, INTEGER s }`) and the low-S
//! rule.
//!
//! Every signature in endorse → order → validate passes through here: the signer normalizes `s`
//! into the lower half of the group order before the signature leaves the process, and the
//! verifier parses strictly and rejects high-S before spending a curve operation. ECDSA is
//! malleable (`(r, s)` and `(r, n - s)` both verify), so accepting both forms would let anyone
//! re-encode a transaction's signature without the key; Fabric rejects high-S for that reason
//! and so do we. Parsing is allocation-free because it runs once per verified signature.

/// The order `n` of the P-256 group, big-endian.
const ORDER: [u8; 32] = [
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xbc,
    0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
];

/// `floor(n / 2)`: the largest `s` that still counts as low-S.
const HALF_ORDER: [u8; 32] = [
    0x7f, 0xff, 0xff, 0xff, 0x80, 0x00, 0x00, 0x00, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xde,
    0x73, 0x7d, 0x56, 0xd3, 0x8b, 0xcf, 0x42, 0x79, 0xdc, 0xe5, 0x61, 0x7e, 0x31, 0x92, 0xa8,
];

/// The two scalars of an ECDSA signature, left-padded to 32 big-endian bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RawSignature {
    pub(crate) r: [u8; 32],
    pub(crate) s: [u8; 32],
}

impl RawSignature {
    /// Whether `s > n/2`, i.e. the signature is in the malleable upper half.
    pub(crate) fn is_high_s(&self) -> bool {
        self.s > HALF_ORDER
    }

    /// Returns the same signature with `s` replaced by `n - s` when it was high.
    pub(crate) fn to_low_s(self) -> Self {
        if !self.is_high_s() {
            return self;
        }
        Self {
            r: self.r,
            s: negate(&self.s),
        }
    }

    /// Strict DER encoding (minimal integers, short-form lengths).
    pub(crate) fn to_der(self) -> Vec<u8> {
        let r = der_integer(&self.r);
        let s = der_integer(&self.s);
        let mut out = Vec::with_capacity(2 + r.len() + s.len());
        out.push(0x30);
        // At most 2 * (2 + 33) = 70 bytes of content: always the short length form.
        out.push((r.len() + s.len()) as u8);
        out.extend_from_slice(&r);
        out.extend_from_slice(&s);
        out
    }
}

/// Parses a DER signature strictly. The error names the first rule broken.
pub(crate) fn parse(sig: &[u8]) -> Result<RawSignature, &'static str> {
    let (&tag, rest) = sig.split_first().ok_or("empty signature")?;
    if tag != 0x30 {
        return Err("does not start with a DER SEQUENCE");
    }
    let (&len, body) = rest.split_first().ok_or("truncated SEQUENCE header")?;
    if len >= 0x80 {
        // 72 bytes is the longest P-256 signature, so DER demands the short form.
        return Err("SEQUENCE length is not in short form");
    }
    if usize::from(len) != body.len() {
        return Err("SEQUENCE length does not match the signature length");
    }
    let (r, body) = parse_integer(body)?;
    let (s, body) = parse_integer(body)?;
    if !body.is_empty() {
        return Err("trailing bytes after s");
    }
    Ok(RawSignature { r, s })
}

/// Parses one positive, minimally encoded INTEGER in `1..n` and returns it padded to 32 bytes.
fn parse_integer(input: &[u8]) -> Result<([u8; 32], &[u8]), &'static str> {
    let (&tag, rest) = input.split_first().ok_or("missing INTEGER")?;
    if tag != 0x02 {
        return Err("expected an INTEGER");
    }
    let (&len, rest) = rest.split_first().ok_or("truncated INTEGER header")?;
    let len = usize::from(len);
    if len == 0 || len > 33 || rest.len() < len {
        return Err("INTEGER length out of range");
    }
    let (content, rest) = rest.split_at(len);
    if content[0] & 0x80 != 0 {
        return Err("negative INTEGER");
    }
    if len > 1 && content[0] == 0 && content[1] & 0x80 == 0 {
        return Err("INTEGER is not minimally encoded");
    }
    let digits = if content[0] == 0 { &content[1..] } else { content };
    if digits.len() > 32 {
        return Err("INTEGER larger than 256 bits");
    }
    let mut out = [0u8; 32];
    out[32 - digits.len()..].copy_from_slice(digits);
    if out == [0u8; 32] {
        return Err("zero scalar");
    }
    if out >= ORDER {
        return Err("scalar not below the group order");
    }
    Ok((out, rest))
}

/// Minimal DER INTEGER for a non-negative 32-byte big-endian value.
fn der_integer(value: &[u8; 32]) -> Vec<u8> {
    let first = value.iter().position(|&b| b != 0).unwrap_or(31);
    let digits = &value[first..];
    let pad = digits[0] & 0x80 != 0;
    let mut out = Vec::with_capacity(3 + digits.len());
    out.push(0x02);
    out.push((digits.len() + usize::from(pad)) as u8);
    if pad {
        out.push(0);
    }
    out.extend_from_slice(digits);
    out
}

/// `n - s`: the other valid `s` of the same signature.
pub(crate) fn negate(s: &[u8; 32]) -> [u8; 32] {
    sub_be(&ORDER, s)
}

/// `a - b` for 32-byte big-endian values with `a >= b`.
fn sub_be(a: &[u8; 32], b: &[u8; 32]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut borrow = 0i16;
    for i in (0..32).rev() {
        let mut d = i16::from(a[i]) - i16::from(b[i]) - borrow;
        borrow = i16::from(d < 0);
        if d < 0 {
            d += 256;
        }
        out[i] = d as u8;
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn scalar(last: u8) -> [u8; 32] {
        let mut v = [0u8; 32];
        v[31] = last;
        v
    }

    #[test]
    fn round_trips_small_and_padded_integers() {
        let mut big = [0u8; 32];
        big[0] = 0x80;
        big[31] = 1;
        for (r, s) in [(scalar(1), scalar(0x7f)), (big, scalar(0x80))] {
            let raw = RawSignature { r, s };
            assert_eq!(parse(&raw.to_der()), Ok(raw));
        }
    }

    #[test]
    fn rejects_non_canonical_der() {
        let good = RawSignature {
            r: scalar(5),
            s: scalar(6),
        }
        .to_der();
        assert_eq!(good, vec![0x30, 6, 2, 1, 5, 2, 1, 6]);
        let cases: &[(&[u8], &str)] = &[
            (&[], "empty signature"),
            (&[0x31, 6, 2, 1, 5, 2, 1, 6], "does not start with a DER SEQUENCE"),
            (
                &[0x30, 7, 2, 1, 5, 2, 1, 6],
                "SEQUENCE length does not match the signature length",
            ),
            (
                &[0x30, 0x81, 6, 2, 1, 5, 2, 1, 6],
                "SEQUENCE length is not in short form",
            ),
            (
                &[0x30, 7, 2, 2, 0, 5, 2, 1, 6],
                "INTEGER is not minimally encoded",
            ),
            (&[0x30, 6, 2, 1, 0x85, 2, 1, 6], "negative INTEGER"),
            (&[0x30, 6, 2, 1, 0, 2, 1, 6], "zero scalar"),
            (&[0x30, 8, 2, 1, 5, 2, 1, 6, 0, 0], "trailing bytes after s"),
            (&[0x30, 6, 4, 1, 5, 2, 1, 6], "expected an INTEGER"),
        ];
        for (input, reason) in cases {
            assert_eq!(parse(input), Err(*reason), "input {input:02x?}");
        }
        let mut order_der = vec![0x30, 0x26, 0x02, 0x21, 0x00];
        order_der.extend_from_slice(&ORDER);
        order_der.extend_from_slice(&[0x02, 0x01, 0x01]);
        assert_eq!(parse(&order_der), Err("scalar not below the group order"));
    }

    #[test]
    fn low_s_boundary_is_half_the_order() {
        let at_half = RawSignature {
            r: scalar(1),
            s: HALF_ORDER,
        };
        assert!(!at_half.is_high_s());
        let mut above = HALF_ORDER;
        above[31] += 1;
        let high = RawSignature {
            r: scalar(1),
            s: above,
        };
        assert!(high.is_high_s());
        let low = high.to_low_s();
        assert!(!low.is_high_s());
        // n - (n/2 + 1) = n/2 for odd n.
        assert_eq!(low.s, HALF_ORDER);
        assert_eq!(at_half.to_low_s(), at_half);
    }

    #[test]
    fn subtraction_borrows_across_bytes() {
        assert_eq!(sub_be(&scalar(0), &scalar(0)), scalar(0));
        let mut a = [0u8; 32];
        a[30] = 1;
        assert_eq!(sub_be(&a, &scalar(1)), scalar(0xff));
    }
}
