//! `rote clear [FUNCTION]`: wipe the cache, or one function's entries.

use anyhow::Context;
use rote_embed::Exit;
use rote_store::Store;

use crate::cli::ClearArgs;

pub fn run(args: ClearArgs) -> anyhow::Result<Exit> {
    let settings = super::settings_here(&args.cache, &[])?;
    let dir = &settings.cache_dir;
    let Some(store) = Store::open_existing(dir, super::store_options(&settings))
        .with_context(|| format!("cannot open the cache at `{}`", dir.display()))?
    else {
        super::data_line(format!("no cache at `{}`: nothing to clear", dir.display()))?;
        return super::done();
    };
    match &args.function {
        Some(function) => {
            let n = store
                .remove_function(function)
                .with_context(|| format!("cannot clear `{}`", dir.display()))?;
            let noun = if n == 1 { "entry" } else { "entries" };
            super::data_line(format!(
                "removed {n} {noun} of `{function}` from `{}`",
                dir.display()
            ))?;
        }
        None => {
            let entries = store.summary().map(|s| s.entries).unwrap_or(0);
            store
                .clear()
                .with_context(|| format!("cannot clear `{}`", dir.display()))?;
            let noun = if entries == 1 { "entry" } else { "entries" };
            super::data_line(format!(
                "cleared `{}`: removed {entries} {noun}",
                dir.display()
            ))?;
        }
    }
    super::done()
}
