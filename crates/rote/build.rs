//! Gives the `rote` binary (and its tests) an rpath to the libpython it was
//! built against, so it runs without `LD_LIBRARY_PATH`.

fn main() {
    println!("cargo:rerun-if-env-changed=DEP_ROTE_EMBED_LIBDIR");
    if let Ok(dir) = std::env::var("DEP_ROTE_EMBED_LIBDIR") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
    }
}
