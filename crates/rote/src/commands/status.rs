//! `rote status`: what the cache holds, what it saved, why calls were not
//! cached, and what happened in the last run. Human text, or `--json`
//! (docs/status-json.md). Never creates a cache.

use std::fmt::Write as _;

use anyhow::Context;
use rote_config::format_size;
use rote_embed::Exit;
use rote_store::{Store, Summary};
use serde_json::json;

use crate::cli::StatusArgs;

pub fn run(args: StatusArgs) -> anyhow::Result<Exit> {
    let settings = super::settings_here(&args.cache, &[])?;
    let dir = &settings.cache_dir;
    let store = Store::open_existing(dir, super::store_options(&settings))
        .with_context(|| format!("cannot read the cache at `{}`", dir.display()))?;
    let summary = match &store {
        Some(store) => store
            .summary()
            .with_context(|| format!("cannot read the cache at `{}`", dir.display()))?,
        None => Summary::default(),
    };
    let text = if args.json {
        to_json(&dir.display().to_string(), &summary)
    } else {
        human(dir, store.is_some(), &summary)
    };
    super::print_data(&text)?;
    super::done()
}

fn to_json(cache_dir: &str, s: &Summary) -> String {
    let last_run = s
        .last_run
        .as_ref()
        .map(|run| json!({"script": run.script, "functions": run.functions}));
    let value = json!({
        "cache_dir": cache_dir,
        "entries": s.entries,
        "bytes": s.bytes_on_disk,
        "hits": s.hits,
        "misses": s.misses,
        "stored": s.stored,
        "time_saved_s": s.time_saved_s,
        "invalidation_reasons": s.invalidation_reasons,
        "last_run": last_run,
    });
    let mut text = serde_json::to_string_pretty(&value).expect("status serializes");
    text.push('\n');
    text
}

fn human(dir: &std::path::Path, exists: bool, s: &Summary) -> String {
    let mut out = String::new();
    if !exists {
        let _ = writeln!(
            out,
            "no cache at `{}` yet: `rote run` creates it when it first stores a call",
            dir.display()
        );
        return out;
    }
    let plural = |n: u64, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let _ = writeln!(
        out,
        "cache `{}`: {}, {} on disk",
        dir.display(),
        plural(s.entries, "entry", "entries"),
        format_size(s.bytes_on_disk)
    );
    let _ = writeln!(
        out,
        "all runs: {}, {}, {} stored, {:.1} s saved",
        plural(s.hits, "hit", "hits"),
        plural(s.misses, "miss", "misses"),
        s.stored,
        s.time_saved_s
    );
    if !s.top_functions.is_empty() {
        let _ = writeln!(out, "saved most:");
        for (function, hits, saved) in &s.top_functions {
            let _ = writeln!(
                out,
                "  {function:<40} {saved:>9.1} s  {}",
                plural(*hits, "hit", "hits")
            );
        }
    }
    if !s.invalidation_reasons.is_empty() {
        let _ = writeln!(out, "why calls were not cached:");
        let mut reasons: Vec<_> = s.invalidation_reasons.iter().collect();
        reasons.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        for (reason, count) in reasons.into_iter().take(8) {
            let _ = writeln!(out, "  {reason:<40} {count:>6}");
        }
    }
    match &s.last_run {
        None => {
            let _ = writeln!(out, "last run: none recorded");
        }
        Some(run) => {
            let _ = writeln!(out, "last run: {}", run.script);
            for (function, f) in &run.functions {
                let mut line = format!(
                    "  {function:<40} {}, {}, {} stored",
                    plural(f.hits, "hit", "hits"),
                    plural(f.misses, "miss", "misses"),
                    f.stored
                );
                if !f.reasons.is_empty() {
                    let reasons: Vec<_> =
                        f.reasons.iter().map(|(r, n)| format!("{r} ×{n}")).collect();
                    let _ = write!(line, " ({})", reasons.join(", "));
                }
                let _ = writeln!(out, "{line}");
            }
        }
    }
    out
}
