//! `rote gc [--max-size SIZE]`: trim the cache to its limit, evicting the
//! entries worth least first, and collect blobs and temp files that no entry
//! refers to (left by crashed or killed writers).

use anyhow::Context;
use rote_config::format_size;
use rote_embed::Exit;
use rote_store::Store;

use crate::cli::GcArgs;

pub fn run(args: GcArgs) -> anyhow::Result<Exit> {
    let flags: Vec<(&'static str, String)> = args
        .max_size
        .iter()
        .map(|s| ("max_size", s.clone()))
        .collect();
    let settings = super::settings_here(&args.cache, &flags)?;
    let dir = &settings.cache_dir;
    let Some(store) = Store::open_existing(dir, super::store_options(&settings))
        .with_context(|| format!("cannot open the cache at `{}`", dir.display()))?
    else {
        super::data_line(format!(
            "no cache at `{}`: nothing to collect",
            dir.display()
        ))?;
        return super::done();
    };
    let report = store
        .gc(Some(settings.max_size))
        .with_context(|| format!("cannot collect `{}`", dir.display()))?;
    super::data_line(format!(
        "`{}`: evicted {} entries, removed {} unreferenced blobs and {} temp files; {} in entries (limit {})",
        dir.display(),
        report.evicted_entries,
        report.removed_blobs,
        report.removed_temp_files,
        format_size(report.bytes_after),
        format_size(settings.max_size)
    ))?;
    super::done()
}
