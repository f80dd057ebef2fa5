//! The one path by which cache keys are encoded.
//!
//! A key is blake3 over a domain string, the key version, and tagged,
//! length-prefixed fields in the order the caller adds them; never `Hash` or
//! map iteration order. Any change to what goes into a key, or how, must bump
//! [`KEY_VERSION`]: the golden test below fails until it is.

use std::fmt;

/// Bump on any change to key encoding or to what callers put in keys.
pub const KEY_VERSION: u32 = 1;

#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key(pub [u8; 32]);

impl Key {
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Key({})", &self.to_hex()[..16])
    }
}

/// Builds a [`Key`] from tagged fields.
pub struct KeyBuilder(blake3::Hasher);

impl KeyBuilder {
    /// `domain` separates kinds of keys (e.g. `"call"`).
    pub fn new(domain: &str) -> KeyBuilder {
        let mut h = blake3::Hasher::new();
        h.update(b"rote-key\0");
        h.update(&KEY_VERSION.to_le_bytes());
        let mut b = KeyBuilder(h);
        b.field(0, domain.as_bytes());
        b
    }

    /// Adds one field: its tag, its length, its bytes.
    pub fn field(&mut self, tag: u8, bytes: &[u8]) -> &mut KeyBuilder {
        self.0.update(&[tag]);
        self.0.update(&(bytes.len() as u64).to_le_bytes());
        self.0.update(bytes);
        self
    }

    pub fn finish(&self) -> Key {
        Key(*self.0.finalize().as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn golden_key_pins_the_encoding() {
        // If this fails you changed the key encoding: bump KEY_VERSION and
        // update the expected value.
        let key = KeyBuilder::new("call")
            .field(1, b"identity")
            .field(2, b"args")
            .finish();
        assert_eq!(KEY_VERSION, 1);
        assert_eq!(key.to_hex(), GOLDEN);
    }

    const GOLDEN: &str = "e1f6ac3af475ec8b56b28e13949e69ef8d4f441db07b4e368efc8aec206b222c";

    #[test]
    fn fields_are_delimited() {
        let a = KeyBuilder::new("call")
            .field(1, b"ab")
            .field(1, b"c")
            .finish();
        let b = KeyBuilder::new("call")
            .field(1, b"a")
            .field(1, b"bc")
            .finish();
        let c = KeyBuilder::new("call")
            .field(2, b"ab")
            .field(1, b"c")
            .finish();
        assert_ne!(a, b);
        assert_ne!(a, c);
        assert_ne!(
            KeyBuilder::new("call").finish(),
            KeyBuilder::new("calm").finish()
        );
    }
}
