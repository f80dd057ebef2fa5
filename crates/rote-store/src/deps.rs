//! What an entry depended on when it was computed, stored with the entry so
//! that a lookup can re-validate every item. Encoded as msgpack.

use serde::{Deserialize, Serialize};

/// One dependency; digests are blake3 (32 bytes) unless stated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Dep {
    /// A function called (transitively): its name and code identity.
    Code { name: String, identity: Vec<u8> },
    /// A module-level global read: its name and fingerprint.
    Global { name: String, fingerprint: Vec<u8> },
    /// A file read: absolute path and content digest.
    FileRead { path: String, digest: Vec<u8> },
    /// A file written and closed by the call: path and content digest.
    FileWritten { path: String, digest: Vec<u8> },
    /// A directory listed: path and digest of the sorted listing.
    Listing { path: String, digest: Vec<u8> },
    /// A path looked for and not found.
    Missing { path: String },
    /// The working directory, when a relative path was opened.
    Cwd { path: String },
    /// An installed distribution whose modules were used.
    Distribution { name: String, version: String },
    /// The interpreter version.
    Interpreter { version: String },
}

pub(crate) fn encode(deps: &[Dep]) -> Vec<u8> {
    rmp_serde::to_vec(deps).expect("dependencies always encode")
}

pub(crate) fn decode(bytes: &[u8]) -> Result<Vec<Dep>, rmp_serde::decode::Error> {
    rmp_serde::from_slice(bytes)
}
