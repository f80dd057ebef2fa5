//! Cache-store micro-benchmark; `bench/store.py` runs it and records the result.
//!
//!     cargo run --release --locked -p rote-store --example store_bench -- \
//!         [--dir DIR] [--small N] [--large N] [--lookups N] [--inserts N] \
//!         [--file-mib N] [--file-rounds N] [--checksum-rounds N]
//!
//! Prints one JSON object to stdout (times in seconds, ratios, GB/s for the
//! checksums); progress goes to stderr. Everything happens in a temporary
//! directory made inside `--dir` (default `<workspace>/target/store-bench`,
//! i.e. on the repository's filesystem, not on a tmpfs) and removed at the
//! end. What it measures:
//!
//! * lookup: `Store::lookup` of a random existing key returning the verified
//!   ~1 KiB value, in a store of `--small` and one of `--large` entries, the
//!   two alternating call by call, warm page cache;
//! * insert: `Store::insert` of a new ~1 KiB value into the same two stores,
//!   with fsync on and off (two handles per store), all four alternating;
//! * file_digest: `Store::file_digest` of an unchanged file whose row the
//!   store trusts, against a full re-hash (a store that has never seen the
//!   file, and blake3 of the file directly);
//! * checksum: xxh3-64 (what `lookup` verifies with) against blake3 over one
//!   buffer, and per 1 KiB value.
//!
//! Percentiles are nearest-rank; a median of an even count averages the two
//! middle samples.

use std::fs::File;
use std::hint::black_box;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime};

use rote_store::{Dep, FileDigest, Key, KeyBuilder, NewEntry, Options, RACY_WINDOW, Store};

const VALUE_BYTES: usize = 1024;
const FUNCTION: &str = "bench_module.compute";
const SERIALIZER: &str = "pickle";
/// Untimed lookups per store after (re)opening it, before the timed ones.
const LOOKUP_WARMUP: usize = 1_000;
/// Trusted `file_digest` calls timed per round.
const TRUSTED_PER_ROUND: usize = 50;
/// Stores opened to time their first lookup, per store.
const FIRST_LOOKUPS: usize = 200;
/// 1 KiB checksums timed per sample, and samples.
const SMALL_CHECKSUM_BATCH: usize = 10_000;
const SMALL_CHECKSUM_SAMPLES: usize = 50;

type BoxError = Box<dyn std::error::Error>;

// ---------------------------------------------------------------------------
// Arguments

struct Args {
    dir: PathBuf,
    small: u64,
    large: u64,
    lookups: usize,
    inserts: usize,
    file_bytes: usize,
    file_rounds: usize,
    checksum_rounds: usize,
}

impl Args {
    fn parse() -> Result<Args, String> {
        let mut args = Args {
            dir: Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/store-bench"),
            small: 100,
            large: 100_000,
            lookups: 20_000,
            inserts: 250,
            file_bytes: 100 << 20,
            file_rounds: 20,
            checksum_rounds: 20,
        };
        let mut it = std::env::args().skip(1);
        while let Some(flag) = it.next() {
            if flag == "-h" || flag == "--help" {
                return Err(String::new());
            }
            let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
            let num = || {
                value
                    .parse::<u64>()
                    .map_err(|_| format!("{flag} {value}: not a non-negative integer"))
            };
            match flag.as_str() {
                "--dir" => args.dir = PathBuf::from(&value),
                "--small" => args.small = num()?,
                "--large" => args.large = num()?,
                "--lookups" => args.lookups = num()? as usize,
                "--inserts" => args.inserts = num()? as usize,
                "--file-mib" => args.file_bytes = (num()? as usize) << 20,
                "--file-rounds" => args.file_rounds = num()? as usize,
                "--checksum-rounds" => args.checksum_rounds = num()? as usize,
                _ => return Err(format!("unknown argument {flag}")),
            }
        }
        let check = |ok: bool, what: &str| if ok { Ok(()) } else { Err(what.to_owned()) };
        check(
            args.small >= 1 && args.large >= args.small,
            "need 1 <= --small <= --large",
        )?;
        check(args.lookups >= 10_000, "--lookups: at least 10000")?;
        check(args.inserts >= 200, "--inserts: at least 200")?;
        check(args.file_bytes > 0, "--file-mib: at least 1")?;
        check(args.file_rounds >= 20, "--file-rounds: at least 20")?;
        check(args.checksum_rounds >= 5, "--checksum-rounds: at least 5")?;
        Ok(args)
    }
}

const USAGE: &str = "usage: store_bench [--dir DIR] [--small N] [--large N] [--lookups N] [--inserts N] \
                     [--file-mib N] [--file-rounds N] [--checksum-rounds N]";

// ---------------------------------------------------------------------------
// JSON output (no serde_json: adding it would change Cargo.lock)

enum Json {
    Null,
    Bool(bool),
    Int(u64),
    Num(f64),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

fn obj<const N: usize>(fields: [(&str, Json); N]) -> Json {
    Json::Obj(fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
}

fn escape(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

impl Json {
    fn write(&self, out: &mut String) {
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Json::Int(n) => out.push_str(&n.to_string()),
            // `{:e}` round-trips and is valid JSON (`1.5e-5`, `2e0`).
            Json::Num(x) if x.is_finite() => out.push_str(&format!("{x:e}")),
            Json::Num(_) => out.push_str("null"),
            Json::Str(s) => escape(s, out),
            Json::Arr(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write(out);
                }
                out.push(']');
            }
            Json::Obj(fields) => {
                out.push('{');
                for (i, (k, v)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    escape(k, out);
                    out.push(':');
                    v.write(out);
                }
                out.push('}');
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Statistics

struct Stats {
    samples: Vec<f64>,
}

impl Stats {
    fn new(durations: &[Duration]) -> Stats {
        Stats::from_secs(durations.iter().map(Duration::as_secs_f64).collect())
    }

    fn from_secs(mut samples: Vec<f64>) -> Stats {
        samples.sort_by(f64::total_cmp);
        Stats { samples }
    }

    fn median(&self) -> f64 {
        let s = &self.samples;
        let n = s.len();
        if n % 2 == 1 {
            s[n / 2]
        } else {
            (s[n / 2 - 1] + s[n / 2]) / 2.0
        }
    }

    /// Nearest rank.
    fn percentile(&self, p: f64) -> f64 {
        let n = self.samples.len();
        let rank = ((p / 100.0) * n as f64).ceil().max(1.0) as usize;
        self.samples[rank.min(n) - 1]
    }

    fn mean(&self) -> f64 {
        self.samples.iter().sum::<f64>() / self.samples.len() as f64
    }

    fn json(&self) -> Json {
        obj([
            ("n", Json::Int(self.samples.len() as u64)),
            ("median_s", Json::Num(self.median())),
            ("p90_s", Json::Num(self.percentile(90.0))),
            ("p99_s", Json::Num(self.percentile(99.0))),
            ("mean_s", Json::Num(self.mean())),
            ("min_s", Json::Num(self.samples[0])),
            ("max_s", Json::Num(*self.samples.last().unwrap())),
        ])
    }

    /// As [`Stats::json`], plus the samples in run order.
    fn json_with_samples(&self, in_order: &[Duration]) -> Json {
        let Json::Obj(mut fields) = self.json() else {
            unreachable!()
        };
        fields.push((
            "samples_s".into(),
            Json::Arr(
                in_order
                    .iter()
                    .map(|d| Json::Num(d.as_secs_f64()))
                    .collect(),
            ),
        ));
        Json::Obj(fields)
    }
}

// ---------------------------------------------------------------------------
// Data

/// splitmix64: deterministic, dependency-free.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let bytes = self.next().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }
}

fn key(i: u64) -> Key {
    KeyBuilder::new("call")
        .field(1, FUNCTION.as_bytes())
        .field(2, &i.to_le_bytes())
        .finish()
}

/// Entry `i`'s value: distinct per `i` (blobs are content-addressed).
fn value(i: u64) -> Vec<u8> {
    let mut v = vec![0u8; VALUE_BYTES];
    Rng(i ^ 0x5eed_0000_0000_0000).fill(&mut v);
    v
}

/// What a typical entry depends on, so index rows have a realistic width:
/// the same for every entry of a function (its arguments are in the key),
/// with digests of real-looking bytes (msgpack spends 2 bytes on each byte
/// >= 0x80 of a `Vec<u8>`).
fn deps() -> Vec<Dep> {
    let digest = |what: &str| blake3::hash(what.as_bytes()).as_bytes().to_vec();
    vec![
        Dep::Code {
            name: FUNCTION.into(),
            identity: digest("code"),
        },
        Dep::FileRead {
            path: "/home/user/project/data/input.csv".into(),
            digest: digest("input.csv"),
        },
        Dep::Distribution {
            name: "numpy".into(),
            version: "2.3.1".into(),
        },
        Dep::Interpreter {
            version: "3.13.5".into(),
        },
    ]
}

fn insert(store: &Store, i: u64, value: &[u8], deps: &[Dep]) -> rote_store::Result<()> {
    store
        .insert(&NewEntry {
            key: key(i),
            function: FUNCTION,
            serializer: SERIALIZER,
            value: &[value],
            compute: Duration::from_millis(250),
            deps,
            outputs: &[],
        })
        .map(|_| ())
}

fn opts(fsync: bool) -> Options {
    Options {
        fsync,
        max_size: None,
    }
}

fn progress(msg: &str) {
    eprintln!("store_bench: {msg}");
}

/// Bytes this process has read through read(2) and friends so far.
fn rchar() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/io").ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("rchar:"))
        .and_then(|v| v.trim().parse().ok())
}

// ---------------------------------------------------------------------------
// Lookups and inserts

/// Builds a store of `n` entries with fsync off; returns the seconds it took.
fn build(dir: &Path, n: u64, deps: &[Dep]) -> Result<f64, BoxError> {
    let store = Store::open(dir, opts(false))?;
    let start = Instant::now();
    for i in 0..n {
        insert(&store, i, &value(i), deps)?;
        if (i + 1) % 20_000 == 0 {
            progress(&format!("  {} / {n} entries", i + 1));
        }
    }
    Ok(start.elapsed().as_secs_f64())
}

fn lookup_checked(store: &Store, i: u64) -> Result<Duration, BoxError> {
    let k = key(i);
    let start = Instant::now();
    let found = store.lookup(&k)?;
    let elapsed = start.elapsed();
    let found = found.ok_or_else(|| {
        format!(
            "lookup of existing entry {i} missed in {}",
            store.dir().display()
        )
    })?;
    if found.value != value(i) {
        return Err(format!("lookup of entry {i} returned wrong bytes").into());
    }
    Ok(elapsed)
}

/// Timed lookups of random existing keys, the stores alternating call by call.
fn measure_lookups(
    stores: &[(&Store, u64)],
    lookups: usize,
    rng: &mut Rng,
) -> Result<Vec<Vec<Duration>>, BoxError> {
    for &(store, n) in stores {
        for _ in 0..LOOKUP_WARMUP {
            lookup_checked(store, rng.below(n))?;
        }
    }
    let mut samples = vec![Vec::with_capacity(lookups); stores.len()];
    for _ in 0..lookups {
        for (s, &(store, n)) in stores.iter().enumerate() {
            samples[s].push(lookup_checked(store, rng.below(n))?);
        }
    }
    Ok(samples)
}

/// The entry query `Store::lookup` runs (see `index.rs`), for the breakdown.
const ENTRY_QUERY: &str =
    "SELECT function, blob, serializer, size, checksum, compute_ns, created_ns, last_used_ns, deps
                           FROM entries WHERE key = ?1";

/// How the breakdown reads index rows: (name, `cache_size` in KiB or 0 for
/// SQLite's default of 2000 KiB, `mmap_size` in bytes or 0). The store
/// itself sets `cache_size = -65536` (64 MiB) and no mmap: `cache_64m` is
/// what it does, `cache_2m` what it did before, `cache_512m` whether a
/// bigger cache would help, `cache_64m_mmap` what adding mmap would give.
const INDEX_VARIANTS: &[(&str, i64, i64)] = &[
    ("index_row_cache_2m", 0, 0),
    ("index_row_cache_64m", 65_536, 0),
    ("index_row_cache_512m", 524_288, 0),
    ("index_row_cache_64m_mmap", 65_536, 1 << 30),
];

/// Another connection to a store's index (WAL, as the store's; `synchronous`
/// only matters to writes), with the given page cache and mmap window.
fn index_connection(
    store_dir: &Path,
    cache_kib: i64,
    mmap_bytes: i64,
) -> Result<rusqlite::Connection, BoxError> {
    use rusqlite::OpenFlags;
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = rusqlite::Connection::open_with_flags(store_dir.join("v1/index.sqlite"), flags)?;
    conn.busy_timeout(Duration::from_secs(5))?;
    if cache_kib > 0 {
        conn.pragma_update(None, "cache_size", -cache_kib)?;
    }
    if mmap_bytes > 0 {
        conn.pragma_update(None, "mmap_size", mmap_bytes)?;
    }
    Ok(conn)
}

/// The index's size, and SQLite's default page cache to compare it with.
fn index_shape(store_dir: &Path) -> Result<Json, BoxError> {
    let conn = index_connection(store_dir, 0, 0)?;
    let pragma = |name: &str| conn.query_row(&format!("PRAGMA {name}"), [], |r| r.get::<_, i64>(0));
    let (page_size, pages, cache_size) = (
        pragma("page_size")?,
        pragma("page_count")?,
        pragma("cache_size")?,
    );
    // A negative cache_size is in KiB; a positive one in pages.
    let cache_bytes = if cache_size < 0 {
        -cache_size * 1024
    } else {
        cache_size * page_size
    };
    let (rows, row_bytes, deps_bytes): (i64, f64, f64) = conn.query_row(
        "SELECT count(*), avg(length(key) + length(function) + length(blob) + length(serializer) + length(deps)),
                avg(length(deps)) FROM entries",
        [],
        |r| Ok((r.get(0)?, r.get::<_, Option<f64>>(1)?.unwrap_or(0.0), r.get::<_, Option<f64>>(2)?.unwrap_or(0.0))),
    )?;
    Ok(obj([
        ("entries", Json::Int(rows as u64)),
        ("page_size", Json::Int(page_size as u64)),
        ("pages", Json::Int(pages as u64)),
        ("file_bytes", Json::Int((pages * page_size) as u64)),
        (
            "sqlite_default_page_cache_bytes",
            Json::Int(cache_bytes as u64),
        ),
        ("avg_row_text_blob_bytes", Json::Num(row_bytes)),
        ("avg_deps_bytes", Json::Num(deps_bytes)),
    ]))
}

/// The index half of a lookup: the row of `key`, as `Index::get` reads it.
fn index_get(conn: &rusqlite::Connection, key: &Key) -> Result<Duration, BoxError> {
    let start = Instant::now();
    let mut stmt = conn.prepare_cached(ENTRY_QUERY)?;
    let row = stmt.query_row([&key.0[..]], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, Vec<u8>>(1)?,
            r.get::<_, i64>(4)?,
            r.get::<_, Vec<u8>>(8)?,
        ))
    })?;
    let elapsed = start.elapsed();
    black_box(row);
    Ok(elapsed)
}

/// The blob file of a value, per the documented layout
/// (`v1/blobs/<2 hex>/<62 hex>` of its blake3).
fn blob_path(store_dir: &Path, value: &[u8]) -> PathBuf {
    let hex = blake3::hash(value).to_hex();
    store_dir.join("v1/blobs").join(&hex[..2]).join(&hex[2..])
}

/// The blob half of a lookup: read the file, check size and xxh3.
fn blob_read(path: &Path, expected: &[u8]) -> Result<Duration, BoxError> {
    let sum = xxhash_rust::xxh3::xxh3_64(expected);
    let start = Instant::now();
    let bytes = std::fs::read(path)?;
    let ok = bytes.len() == expected.len() && xxhash_rust::xxh3::xxh3_64(&bytes) == sum;
    let elapsed = start.elapsed();
    if !ok {
        return Err(format!("blob {} does not verify", path.display()).into());
    }
    Ok(elapsed)
}

/// Where a lookup's time goes, per store, the stores alternating call by
/// call: the index row (the store's query, on connections warmed by a pass
/// over all keys, per [`INDEX_VARIANTS`]), the blob read and check, and the
/// first lookup of a freshly opened store (a rote run opens the store once,
/// so its first lookups find SQLite's page cache empty).
fn lookup_breakdown(
    stores: &[(&Path, u64)],
    calls: usize,
    rng: &mut Rng,
) -> Result<Vec<Json>, BoxError> {
    let k = stores.len();
    // Per store: one connection per variant, each warmed by a pass over all
    // keys.
    let mut conns = Vec::new();
    for &(dir, n) in stores {
        let mut per_store = Vec::new();
        for &(_, cache_kib, mmap) in INDEX_VARIANTS {
            let conn = index_connection(dir, cache_kib, mmap)?;
            for i in 0..n {
                index_get(&conn, &key(i))?;
            }
            per_store.push(conn);
        }
        conns.push(per_store);
    }
    let mut idx = vec![vec![vec![]; INDEX_VARIANTS.len()]; k];
    let (mut blob, mut first) = (vec![vec![]; k], vec![vec![]; k]);
    for round in 0..LOOKUP_WARMUP + calls {
        for (s, &(dir, n)) in stores.iter().enumerate() {
            let i = rng.below(n);
            let v = value(i);
            for (variant, conn) in conns[s].iter().enumerate() {
                let t = index_get(conn, &key(i))?;
                if round >= LOOKUP_WARMUP {
                    idx[s][variant].push(t);
                }
            }
            let t = blob_read(&blob_path(dir, &v), &v)?;
            if round >= LOOKUP_WARMUP {
                blob[s].push(t);
            }
        }
    }
    drop(conns);
    for _ in 0..FIRST_LOOKUPS {
        for (s, &(dir, n)) in stores.iter().enumerate() {
            let store = Store::open(dir, opts(true))?;
            first[s].push(lookup_checked(&store, rng.below(n))?);
        }
    }
    let mut shapes: Vec<Option<Json>> = stores
        .iter()
        .map(|(d, _)| index_shape(d).map(Some))
        .collect::<Result<_, _>>()?;
    Ok((0..k)
        .map(|s| {
            let mut fields = vec![("index".to_owned(), shapes[s].take().unwrap_or(Json::Null))];
            for (variant, &(name, _, _)) in INDEX_VARIANTS.iter().enumerate() {
                fields.push((name.to_owned(), Stats::new(&idx[s][variant]).json()));
            }
            fields.push(("blob_read_verify".to_owned(), Stats::new(&blob[s]).json()));
            fields.push((
                "first_lookup_after_open".to_owned(),
                Stats::new(&first[s]).json(),
            ));
            Json::Obj(fields)
        })
        .collect())
}

struct InsertTarget<'a> {
    store: &'a Store,
    next_id: u64,
    samples: Vec<Duration>,
}

/// Timed inserts of new entries, the targets alternating insert by insert.
fn measure_inserts(
    targets: &mut [InsertTarget<'_>],
    inserts: usize,
    deps: &[Dep],
) -> Result<(), BoxError> {
    for round in 0..inserts {
        for t in targets.iter_mut() {
            let v = value(t.next_id);
            let start = Instant::now();
            insert(t.store, t.next_id, &v, deps)?;
            let elapsed = start.elapsed();
            if round > 0 || inserts == 1 {
                t.samples.push(elapsed);
            }
            t.next_id += 1;
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Files

fn write_file(path: &Path, bytes: usize) -> Result<(), BoxError> {
    let mut file = File::create(path)?;
    let mut rng = Rng(42);
    let mut chunk = vec![0u8; 1 << 20];
    let mut left = bytes;
    while left > 0 {
        let n = left.min(chunk.len());
        rng.fill(&mut chunk[..n]);
        file.write_all(&chunk[..n])?;
        left -= n;
    }
    file.set_modified(SystemTime::now() - Duration::from_secs(3600))?;
    file.sync_all()?;
    Ok(())
}

/// Sleeps until the file's last change (mtime or ctime: setting the mtime
/// back moves the ctime to now) is older than the racy window, so that the
/// row of a hash taken from now on is trusted.
fn wait_out_racy_window(path: &Path) -> Result<f64, BoxError> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(path)?;
    let changed_ns = (m.mtime() * 1_000_000_000 + m.mtime_nsec())
        .max(m.ctime() * 1_000_000_000 + m.ctime_nsec());
    let now_ns = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)?
        .as_nanos() as i64;
    let ready_ns = changed_ns + RACY_WINDOW.as_nanos() as i64 + 200_000_000;
    let wait = Duration::from_nanos((ready_ns - now_ns).max(0) as u64);
    std::thread::sleep(wait);
    Ok(wait.as_secs_f64())
}

fn drop_from_page_cache(path: &Path) -> Result<(), BoxError> {
    use std::os::fd::AsRawFd;
    let file = File::open(path)?;
    // SAFETY: a valid fd; advice only.
    let rc = unsafe { libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
    if rc != 0 {
        return Err(format!("posix_fadvise: error {rc}").into());
    }
    Ok(())
}

fn timed<T>(f: impl FnOnce() -> T) -> (Duration, T) {
    let start = Instant::now();
    let out = f();
    (start.elapsed(), out)
}

fn bench_files(base: &Path, args: &Args) -> Result<Json, BoxError> {
    let path = base.join("input.bin");
    let script = base.join("bench_script.py");
    progress(&format!(
        "file_digest: writing a {} MiB file",
        args.file_bytes >> 20
    ));
    write_file(&path, args.file_bytes)?;
    let waited = wait_out_racy_window(&path)?;

    // First sight: hash once, write the row, end the "run".
    let trusting_dir = base.join("files-store");
    let first = {
        let store = Store::open(&trusting_dir, opts(true))?;
        let d = store.file_digest(&path)?;
        store.commit_run("store-bench", &script.to_string_lossy())?;
        d
    };
    let direct = rote_store::hash_file(&path)?;
    if first.digest != direct || first.size != args.file_bytes as u64 {
        return Err("file_digest disagrees with blake3 of the file".into());
    }
    // A later run: the row is in the index, the file unchanged.
    let trusting = Store::open(&trusting_dir, opts(true))?;
    let before = rchar();
    let d = trusting.file_digest(&path)?;
    let trusted_read = rchar().zip(before).map(|(a, b)| a - b);
    if d != first {
        return Err("trusted file_digest returned another digest".into());
    }
    if let Some(read) = trusted_read {
        if read >= args.file_bytes as u64 / 2 {
            return Err(format!(
                "file_digest re-read the file ({read} bytes) instead of trusting its row: \
                 is the racy window longer than {RACY_WINDOW:?}?"
            )
            .into());
        }
    }

    progress(&format!(
        "file_digest: {} rounds (trusted x{TRUSTED_PER_ROUND}, re-hash warm, blake3, re-hash cold)",
        args.file_rounds
    ));
    let mut trusted = Vec::new();
    let mut rehash = Vec::new();
    let mut plain = Vec::new();
    let mut cold = Vec::new();
    let mut rehash_read = None;
    for round in 0..args.file_rounds {
        // A store that has never seen the file: opened untimed.
        let fresh_dir = base.join(format!("fresh-{round}"));
        let fresh = Store::open(&fresh_dir, opts(true))?;
        let before = rchar();
        let (t, d) = timed(|| fresh.file_digest(&path));
        rehash_read = rchar().zip(before).map(|(a, b)| a - b);
        check_digest(d?, &first)?;
        rehash.push(t);
        drop(fresh);

        let (t, d) = timed(|| rote_store::hash_file(&path));
        if d? != first.digest {
            return Err("blake3 of the file changed".into());
        }
        plain.push(t);

        for _ in 0..TRUSTED_PER_ROUND {
            let (t, d) = timed(|| trusting.file_digest(&path));
            check_digest(d?, &first)?;
            trusted.push(t);
        }

        // The same re-hash with the file evicted from the page cache.
        let fresh = Store::open(&base.join(format!("fresh-cold-{round}")), opts(true))?;
        drop_from_page_cache(&path)?;
        let (t, d) = timed(|| fresh.file_digest(&path));
        check_digest(d?, &first)?;
        cold.push(t);
    }
    let trusted_s = Stats::new(&trusted);
    let rehash_s = Stats::new(&rehash);
    let plain_s = Stats::new(&plain);
    let cold_s = Stats::new(&cold);
    let opt_int = |v: Option<u64>| v.map_or(Json::Null, Json::Int);
    Ok(obj([
        ("file_bytes", Json::Int(args.file_bytes as u64)),
        ("rounds", Json::Int(args.file_rounds as u64)),
        ("racy_window_s", Json::Num(RACY_WINDOW.as_secs_f64())),
        ("waited_before_first_hash_s", Json::Num(waited)),
        ("trusted", trusted_s.json()),
        ("trusted_bytes_read", opt_int(trusted_read)),
        ("rehash_store", rehash_s.json_with_samples(&rehash)),
        ("rehash_bytes_read", opt_int(rehash_read)),
        ("rehash_blake3_direct", plain_s.json_with_samples(&plain)),
        ("rehash_store_cold", cold_s.json_with_samples(&cold)),
        ("speedup", Json::Num(rehash_s.median() / trusted_s.median())),
        (
            "speedup_vs_blake3_direct",
            Json::Num(plain_s.median() / trusted_s.median()),
        ),
        (
            "speedup_cold",
            Json::Num(cold_s.median() / trusted_s.median()),
        ),
        (
            "rehash_gb_per_s",
            Json::Num(args.file_bytes as f64 / rehash_s.median() / 1e9),
        ),
        (
            "rehash_cold_gb_per_s",
            Json::Num(args.file_bytes as f64 / cold_s.median() / 1e9),
        ),
    ]))
}

fn check_digest(d: FileDigest, expected: &FileDigest) -> Result<(), BoxError> {
    if &d != expected {
        Err("file_digest returned another digest".into())
    } else {
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// Checksums

fn bench_checksums(args: &Args) -> Json {
    let bytes = args.file_bytes;
    progress(&format!(
        "checksum: {} rounds over {} MiB",
        args.checksum_rounds,
        bytes >> 20
    ));
    let mut buf = vec![0u8; bytes];
    Rng(7).fill(&mut buf);
    let (mut xxh, mut b3, mut b3r) = (Vec::new(), Vec::new(), Vec::new());
    // One untimed pass each, then alternate.
    black_box(xxhash_rust::xxh3::xxh3_64(&buf));
    black_box(blake3::hash(&buf));
    for _ in 0..args.checksum_rounds {
        xxh.push(timed(|| black_box(xxhash_rust::xxh3::xxh3_64(black_box(&buf)))).0);
        b3.push(timed(|| black_box(blake3::hash(black_box(&buf)))).0);
        b3r.push(
            timed(|| {
                black_box(
                    blake3::Hasher::new()
                        .update_rayon(black_box(&buf))
                        .finalize(),
                )
            })
            .0,
        );
    }
    let gbps = |d: &[Duration]| bytes as f64 / Stats::new(d).median() / 1e9;

    let small = &buf[..VALUE_BYTES];
    let (mut xxh_1k, mut b3_1k) = (Vec::new(), Vec::new());
    for _ in 0..SMALL_CHECKSUM_SAMPLES {
        let (t, _) = timed(|| {
            for _ in 0..SMALL_CHECKSUM_BATCH {
                black_box(xxhash_rust::xxh3::xxh3_64(black_box(small)));
            }
        });
        xxh_1k.push(t.as_secs_f64() / SMALL_CHECKSUM_BATCH as f64);
        let (t, _) = timed(|| {
            for _ in 0..SMALL_CHECKSUM_BATCH {
                black_box(blake3::hash(black_box(small)));
            }
        });
        b3_1k.push(t.as_secs_f64() / SMALL_CHECKSUM_BATCH as f64);
    }
    let xxh_1k_s = Stats::from_secs(xxh_1k).median();
    let b3_1k_s = Stats::from_secs(b3_1k).median();
    obj([
        ("buffer_bytes", Json::Int(bytes as u64)),
        ("rounds", Json::Int(args.checksum_rounds as u64)),
        ("xxh3_64", Stats::new(&xxh).json()),
        ("blake3", Stats::new(&b3).json()),
        ("blake3_rayon", Stats::new(&b3r).json()),
        ("xxh3_64_gb_per_s", Json::Num(gbps(&xxh))),
        ("blake3_gb_per_s", Json::Num(gbps(&b3))),
        ("blake3_rayon_gb_per_s", Json::Num(gbps(&b3r))),
        (
            "blake3_over_xxh3",
            Json::Num(Stats::new(&b3).median() / Stats::new(&xxh).median()),
        ),
        ("value_bytes", Json::Int(VALUE_BYTES as u64)),
        ("xxh3_64_per_value_s", Json::Num(xxh_1k_s)),
        ("blake3_per_value_s", Json::Num(b3_1k_s)),
    ])
}

// ---------------------------------------------------------------------------

fn run(args: &Args) -> Result<Json, BoxError> {
    std::fs::create_dir_all(&args.dir)?;
    let tmp = tempfile::Builder::new()
        .prefix("run-")
        .tempdir_in(&args.dir)?;
    let base = tmp.path();
    let deps = deps();
    let (small_dir, large_dir) = (base.join("small"), base.join("large"));
    let (small_n, large_n) = (args.small, args.large);

    progress(&format!(
        "building stores of {small_n} and {large_n} entries (fsync off)"
    ));
    let build_small_s = build(&small_dir, small_n, &deps)?;
    let build_large_s = build(&large_dir, large_n, &deps)?;

    // Warm caches: one pass over all keys through the handles that are then
    // timed puts every blob and index page in the kernel's page cache and,
    // as far as it holds them, in SQLite's page cache of that connection.
    progress("warming the caches");
    let mut rng = Rng(1);
    let small = Store::open(&small_dir, opts(true))?;
    let large = Store::open(&large_dir, opts(true))?;
    for (store, n) in [(&small, small_n), (&large, large_n)] {
        for i in 0..n {
            lookup_checked(store, i)?;
        }
    }
    progress(&format!(
        "lookup: {} random keys per store, alternating",
        args.lookups
    ));
    let samples = measure_lookups(
        &[(&small, small_n), (&large, large_n)],
        args.lookups,
        &mut rng,
    )?;
    let (lookup_small, lookup_large) = (Stats::new(&samples[0]), Stats::new(&samples[1]));
    drop((small, large));
    progress("lookup breakdown: index row, blob read, first lookup after open");
    let parts = lookup_breakdown(
        &[(&small_dir, small_n), (&large_dir, large_n)],
        args.lookups / 2,
        &mut rng,
    )?;
    let [parts_small, parts_large]: [Json; 2] = parts.try_into().map_err(|_| "two stores")?;

    progress(&format!(
        "insert: {} new entries per store and fsync mode, alternating",
        args.inserts
    ));
    let handles = [
        Store::open(&small_dir, opts(true))?,
        Store::open(&small_dir, opts(false))?,
        Store::open(&large_dir, opts(true))?,
        Store::open(&large_dir, opts(false))?,
    ];
    // Ids above every existing one; each handle its own range.
    let ids = [small_n, small_n + 1_000_000, large_n, large_n + 1_000_000];
    let mut targets: Vec<InsertTarget<'_>> = handles
        .iter()
        .zip(ids)
        .map(|(store, next_id)| InsertTarget {
            store,
            next_id,
            samples: Vec::new(),
        })
        .collect();
    measure_inserts(&mut targets, args.inserts + 1, &deps)?;
    let ins: Vec<Stats> = targets.iter().map(|t| Stats::new(&t.samples)).collect();
    drop(targets);
    drop(handles);

    let files = bench_files(base, args)?;
    let checksums = bench_checksums(args);

    let size_entry = |n: u64, s: &Stats| {
        let Json::Obj(mut fields) = s.json() else {
            unreachable!()
        };
        fields.insert(0, ("entries".into(), Json::Int(n)));
        Json::Obj(fields)
    };
    let growth = 2 * args.inserts as u64;
    let insert_mode = |on: bool| {
        let (a, b) = if on {
            (&ins[0], &ins[2])
        } else {
            (&ins[1], &ins[3])
        };
        obj([
            ("small", size_entry(small_n, a)),
            ("large", size_entry(large_n, b)),
            ("ratio_median", Json::Num(b.median() / a.median())),
            (
                "ratio_p90",
                Json::Num(b.percentile(90.0) / a.percentile(90.0)),
            ),
        ])
    };
    Ok(obj([
        (
            "config",
            obj([
                (
                    "dir",
                    Json::Str(args.dir.canonicalize()?.to_string_lossy().into_owned()),
                ),
                ("value_bytes", Json::Int(VALUE_BYTES as u64)),
                ("small_entries", Json::Int(small_n)),
                ("large_entries", Json::Int(large_n)),
                ("lookups", Json::Int(args.lookups as u64)),
                ("lookup_warmup", Json::Int(LOOKUP_WARMUP as u64)),
                ("inserts", Json::Int(args.inserts as u64)),
                ("max_size", Json::Null),
                (
                    "page_cache",
                    Json::Str("warm (every blob and index page read once before timing)".into()),
                ),
                ("order", Json::Str("alternating".into())),
            ]),
        ),
        (
            "build",
            obj([
                ("fsync", Json::Bool(false)),
                ("small_s", Json::Num(build_small_s)),
                ("large_s", Json::Num(build_large_s)),
                (
                    "large_per_insert_s",
                    Json::Num(build_large_s / large_n as f64),
                ),
            ]),
        ),
        (
            "lookup",
            obj([
                ("small", size_entry(small_n, &lookup_small)),
                ("large", size_entry(large_n, &lookup_large)),
                (
                    "ratio_median",
                    Json::Num(lookup_large.median() / lookup_small.median()),
                ),
                (
                    "ratio_p90",
                    Json::Num(lookup_large.percentile(90.0) / lookup_small.percentile(90.0)),
                ),
                (
                    "breakdown",
                    obj([("small", parts_small), ("large", parts_large)]),
                ),
            ]),
        ),
        (
            "insert",
            obj([
                (
                    "note",
                    Json::Str(format!(
                        "each store grows by {growth} entries while measured (two handles, fsync on and off, \
                     insert into it); the first insert of each handle is untimed"
                    )),
                ),
                ("fsync_on", insert_mode(true)),
                ("fsync_off", insert_mode(false)),
                (
                    "fsync_on_over_off_small",
                    Json::Num(ins[0].median() / ins[1].median()),
                ),
                (
                    "fsync_on_over_off_large",
                    Json::Num(ins[2].median() / ins[3].median()),
                ),
            ]),
        ),
        ("file_digest", files),
        ("checksum", checksums),
    ]))
}

fn main() -> ExitCode {
    let args = match Args::parse() {
        Ok(args) => args,
        Err(msg) => {
            if !msg.is_empty() {
                eprintln!("store_bench: {msg}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(doc) => {
            let mut out = String::new();
            doc.write(&mut out);
            println!("{out}");
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("store_bench: error: {err}");
            ExitCode::FAILURE
        }
    }
}
