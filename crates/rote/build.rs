//! Gives the `rote` binary (and its tests) an rpath to the libpython it was
//! built against, so it runs without `LD_LIBRARY_PATH`, and exports the C
//! library entry points rote interposes (`rote-interpose`) so that libpython
//! and extension modules resolve to them.

fn main() {
    println!("cargo:rerun-if-env-changed=DEP_ROTE_EMBED_LIBDIR");
    if let Ok(dir) = std::env::var("DEP_ROTE_EMBED_LIBDIR") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
    }
    println!("cargo:rerun-if-env-changed=DEP_ROTE_INTERPOSE_DYNAMIC_LIST");
    if let Ok(list) = std::env::var("DEP_ROTE_INTERPOSE_DYNAMIC_LIST") {
        println!("cargo:rustc-link-arg-bins=-Wl,--dynamic-list={list}");
    }
}
