//! What an entry depended on when it was computed, stored with the entry so
//! that a lookup can re-validate every item. Encoded as msgpack, digests as
//! msgpack binary (serde's default would spend up to two bytes per byte).

use serde::{Deserialize, Serialize};

/// One dependency; digests are blake3 (32 bytes) unless stated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Dep {
    /// A function called (transitively): its name and code identity.
    Code {
        name: String,
        #[serde(with = "serde_bytes")]
        identity: Vec<u8>,
    },
    /// A module-level global read: its name and fingerprint.
    Global {
        name: String,
        #[serde(with = "serde_bytes")]
        fingerprint: Vec<u8>,
    },
    /// A file read: absolute path and content digest.
    FileRead {
        path: String,
        #[serde(with = "serde_bytes")]
        digest: Vec<u8>,
    },
    /// A file written and closed by the call: path and content digest.
    FileWritten {
        path: String,
        #[serde(with = "serde_bytes")]
        digest: Vec<u8>,
    },
    /// A directory listed: path and digest of the sorted listing.
    Listing {
        path: String,
        #[serde(with = "serde_bytes")]
        digest: Vec<u8>,
    },
    /// A path looked for and not found.
    Missing { path: String },
    /// The working directory, when a relative path was opened.
    Cwd { path: String },
    /// An installed distribution whose modules were used.
    Distribution { name: String, version: String },
    /// The interpreter version.
    Interpreter { version: String },
    /// Text the call wrote to stdout (`stream` 1) or stderr (2), in order,
    /// UTF-8 with lone surrogates passed through: replayed on a hit, never
    /// validated.
    Printed {
        stream: u8,
        #[serde(with = "serde_bytes")]
        text: Vec<u8>,
    },
    /// A path whose metadata the call looked at (`os.path.getsize`,
    /// `isdir`): its kind and size, not its content.
    Meta {
        path: String,
        #[serde(with = "serde_bytes")]
        digest: Vec<u8>,
    },
    /// The call's bound arguments (their digest): tells a source edit from
    /// new arguments when a lookup misses. Never validated.
    Arguments {
        #[serde(with = "serde_bytes")]
        digest: Vec<u8>,
    },
    /// An environment variable read (`os.environ`, `os.getenv`): its name
    /// and the digest of its value or of its absence; `*` for the whole
    /// environment (iterated or copied).
    Env {
        name: String,
        #[serde(with = "serde_bytes")]
        digest: Vec<u8>,
    },
}

pub(crate) fn encode(deps: &[Dep]) -> Vec<u8> {
    rmp_serde::to_vec(deps).expect("dependencies always encode")
}

pub(crate) fn decode(bytes: &[u8]) -> Result<Vec<Dep>, rmp_serde::decode::Error> {
    rmp_serde::from_slice(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_stored_as_binary_and_round_trip() {
        let deps = vec![
            Dep::FileRead {
                path: "/data/raw.csv".into(),
                digest: vec![0xff; 32],
            },
            Dep::Missing {
                path: "/data/extra.csv".into(),
            },
            Dep::Code {
                name: "helpers.clean".into(),
                identity: vec![0x80; 32],
            },
        ];
        let bytes = encode(&deps);
        assert_eq!(decode(&bytes).unwrap(), deps);
        // Digests as msgpack bin8 (0xc4, length 32, the bytes), not as arrays
        // of integers (two bytes for each byte of 0x80 or more).
        let bin: Vec<u8> = [0xc4, 32].into_iter().chain([0xff; 32]).collect();
        assert!(bytes.windows(bin.len()).any(|w| w == bin), "{bytes:x?}");
    }
}
