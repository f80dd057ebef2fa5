//! Helpers shared by the rote-store integration tests: deterministic
//! randomness, self-checksummed values, worker processes (the test binary
//! re-executed), and file-tree helpers.
#![allow(dead_code)]

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rote_store::{Dep, Found, Key, KeyBuilder, NewEntry, Options, Store};

// ---------------------------------------------------------------- randomness

/// splitmix64: small, fast, good enough to pick keys, sizes and bytes.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9e37_79b9_7f4a_7c15)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    /// True with probability `num / den`.
    pub fn chance(&mut self, num: u64, den: u64) -> bool {
        self.below(den) < num
    }

    /// Log-uniform in `lo..=hi`: as many tiny values as large ones.
    pub fn size(&mut self, lo: usize, hi: usize) -> usize {
        let bits = self.range(lo.max(1).ilog2() as u64, hi.ilog2() as u64) as u32;
        let base = 1usize << bits;
        (base + self.below(base as u64) as usize).clamp(lo, hi)
    }

    pub fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let word = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&word[..chunk.len()]);
        }
    }

    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        let mut v = vec![0; n];
        self.fill(&mut v);
        v
    }
}

/// `ROTE_STORE_SEED` when set (to replay a failure), else the clock.
pub fn seed() -> u64 {
    match std::env::var("ROTE_STORE_SEED") {
        Ok(s) => s.parse().expect("ROTE_STORE_SEED must be an integer"),
        Err(_) => {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                ^ std::process::id() as u64
        }
    }
}

// ------------------------------------------------------ self-checksummed values

const MAGIC: &[u8; 8] = b"roteVAL1";
/// magic, key index (u32), writer (u32), sequence (u64), payload length (u64).
pub const HEADER: usize = 32;
/// blake3 of header and payload.
pub const TRAILER: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValueInfo {
    pub key: u32,
    pub writer: u32,
    pub seq: u64,
    pub payload: u64,
}

/// A value that names its key and carries its own checksum, so a reader can
/// tell a right value from a wrong, torn or foreign one.
pub fn make_value(key: u32, writer: u32, seq: u64, payload: usize, rng: &mut Rng) -> Vec<u8> {
    let mut v = Vec::with_capacity(HEADER + payload + TRAILER);
    v.extend_from_slice(MAGIC);
    v.extend_from_slice(&key.to_le_bytes());
    v.extend_from_slice(&writer.to_le_bytes());
    v.extend_from_slice(&seq.to_le_bytes());
    v.extend_from_slice(&(payload as u64).to_le_bytes());
    v.resize(HEADER + payload, 0);
    rng.fill(&mut v[HEADER..]);
    let sum = blake3::hash(&v);
    v.extend_from_slice(sum.as_bytes());
    v
}

/// Checks a value made by [`make_value`] for key index `key`.
pub fn check_value(key: u32, v: &[u8]) -> Result<ValueInfo, String> {
    if v.len() < HEADER + TRAILER {
        return Err(format!(
            "value of {} bytes is shorter than header and trailer",
            v.len()
        ));
    }
    if &v[..8] != MAGIC {
        return Err("bad magic".into());
    }
    let u32_at = |i: usize| u32::from_le_bytes(v[i..i + 4].try_into().unwrap());
    let u64_at = |i: usize| u64::from_le_bytes(v[i..i + 8].try_into().unwrap());
    let info = ValueInfo {
        key: u32_at(8),
        writer: u32_at(12),
        seq: u64_at(16),
        payload: u64_at(24),
    };
    if info.key != key {
        return Err(format!("value of key {} returned for key {key}", info.key));
    }
    if v.len() as u64 != HEADER as u64 + info.payload + TRAILER as u64 {
        return Err(format!(
            "value has {} bytes, its header says {}",
            v.len(),
            HEADER as u64 + info.payload + 32
        ));
    }
    let (body, sum) = v.split_at(v.len() - TRAILER);
    if blake3::hash(body).as_bytes() != sum {
        return Err(format!("checksum mismatch ({info:?})"));
    }
    Ok(info)
}

/// Dependencies stored with a value: they repeat its header, so a reader can
/// check that the index row and the blob belong to the same insert.
pub fn value_deps(v: &[u8]) -> Vec<Dep> {
    vec![
        Dep::Global {
            name: "header".into(),
            fingerprint: v[..HEADER].to_vec(),
        },
        Dep::Interpreter {
            version: "3.13.0".into(),
        },
    ]
}

/// Compute time stored with a value, derived from its header.
pub fn compute_for(writer: u32, seq: u64) -> Duration {
    Duration::from_micros(writer as u64 * 1_000_000 + seq)
}

pub const SERIALIZER: &str = "test-serializer";

/// Inserts a value made by [`make_value`] with its deps and compute time.
pub fn insert_value(
    store: &Store,
    key: &Key,
    function: &str,
    value: &[u8],
) -> rote_store::Result<()> {
    let info = check_value(u32::from_le_bytes(value[8..12].try_into().unwrap()), value)
        .expect("a made value");
    store
        .insert(&NewEntry {
            key: *key,
            function,
            serializer: SERIALIZER,
            value: &[value],
            compute: compute_for(info.writer, info.seq),
            deps: &value_deps(value),
            outputs: &[],
        })
        .map(|stored| assert!(stored, "a value within the limit is stored"))
}

/// Checks a hit: the value, and that the row's metadata and deps match it.
pub fn check_found(key: u32, function: &str, found: &Found) -> Result<ValueInfo, String> {
    let info = check_value(key, &found.value)?;
    let meta = &found.meta;
    if meta.function != function {
        return Err(format!(
            "function `{}`, expected `{function}`",
            meta.function
        ));
    }
    if meta.serializer != SERIALIZER {
        return Err(format!("serializer `{}`", meta.serializer));
    }
    if meta.size != found.value.len() as u64 {
        return Err(format!(
            "meta size {} for a value of {} bytes",
            meta.size,
            found.value.len()
        ));
    }
    if meta.compute != compute_for(info.writer, info.seq) {
        return Err(format!(
            "compute {:?} does not belong to value {info:?}",
            meta.compute
        ));
    }
    if found.deps != value_deps(&found.value) {
        return Err(format!("deps do not belong to value {info:?}"));
    }
    Ok(info)
}

/// The key of test key index `i` in namespace `ns`.
pub fn key(ns: &str, i: u32) -> Key {
    KeyBuilder::new("test")
        .field(1, ns.as_bytes())
        .field(2, &i.to_le_bytes())
        .finish()
}

/// No size limit, no fsync: for tests that do not care about either.
pub fn quick() -> Options {
    Options {
        max_size: None,
        fsync: false,
    }
}

// ------------------------------------------------------------------ workers

pub const WORKER_ENV: &str = "ROTE_STORE_WORKER";

/// The role this process was started for, if it is a worker.
pub fn worker_role() -> Option<String> {
    std::env::var(WORKER_ENV).ok()
}

pub fn env_var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("worker started without {name}"))
}

/// This very test binary, told to run only the worker test `test_name` in
/// role `role`, its output going to `log`; killed if the spawning thread dies.
pub fn worker_command(test_name: &str, role: &str, log: &Path) -> Command {
    let mut cmd = Command::new(std::env::current_exe().expect("current_exe"));
    cmd.args([
        "--exact",
        test_name,
        "--nocapture",
        "--test-threads=1",
        "--include-ignored",
        "-q",
    ])
    .env(WORKER_ENV, role)
    .stdin(Stdio::null());
    let out = std::fs::File::create(log).expect("worker log");
    cmd.stdout(out.try_clone().unwrap()).stderr(out);
    // SAFETY: prctl is async-signal-safe; nothing else runs in the child.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    cmd
}

/// A worker process, killed (and reaped) if still running when dropped.
pub struct Worker {
    pub child: Child,
    pub log: PathBuf,
    pub name: String,
    done: bool,
}

impl Worker {
    pub fn spawn(mut cmd: Command, log: PathBuf, name: String) -> Worker {
        let child = cmd.spawn().expect("spawn worker");
        Worker {
            child,
            log,
            name,
            done: false,
        }
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// SIGKILL, then reap.
    pub fn kill9(&mut self) -> ExitStatus {
        // SAFETY: our own child, not yet reaped, so the pid is still ours.
        unsafe { libc::kill(self.pid(), libc::SIGKILL) };
        self.wait()
    }

    pub fn wait(&mut self) -> ExitStatus {
        let status = self.child.wait().expect("wait");
        self.done = true;
        status
    }

    /// Waits until `deadline`; kills the worker and returns `None` past it.
    pub fn wait_until(&mut self, deadline: Instant) -> Option<ExitStatus> {
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                self.done = true;
                return Some(status);
            }
            if Instant::now() > deadline {
                self.kill9();
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        if !self.done {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Writes `text` to `path` whole or not at all.
pub fn write_whole(path: &Path, text: &str) {
    let tmp = path.with_extension("partial");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

// -------------------------------------------------------------- file trees

/// Regular files below `dir`, recursively, sorted.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        let Ok(items) = std::fs::read_dir(&d) else {
            continue;
        };
        for item in items.flatten() {
            let ty = item.file_type().unwrap();
            if ty.is_dir() {
                stack.push(item.path());
            } else {
                out.push(item.path());
            }
        }
    }
    out.sort();
    out
}

pub fn blobs_dir(cache: &Path) -> PathBuf {
    cache.join("v1").join("blobs")
}

pub fn tmp_dir(cache: &Path) -> PathBuf {
    cache.join("v1").join("tmp")
}

pub fn index_path(cache: &Path) -> PathBuf {
    cache.join("v1").join("index.sqlite")
}

pub fn blob_files(cache: &Path) -> Vec<PathBuf> {
    files_under(&blobs_dir(cache))
}

pub fn tmp_files(cache: &Path) -> Vec<PathBuf> {
    files_under(&tmp_dir(cache))
}

/// Where the store keeps `value`: `v1/blobs/<2 hex>/<62 hex>` of its blake3.
pub fn blob_path(cache: &Path, value: &[u8]) -> PathBuf {
    let hex = blake3::hash(value).to_hex();
    blobs_dir(cache).join(&hex[..2]).join(&hex[2..])
}

pub fn set_mtime(path: &Path, t: SystemTime) {
    std::fs::File::open(path).unwrap().set_modified(t).unwrap();
}

/// Moves a file's mtime `by` into the past.
pub fn backdate(path: &Path, by: Duration) {
    set_mtime(path, SystemTime::now() - by);
}
