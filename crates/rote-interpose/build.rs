//! Compiles the interposition layer and tells the `rote` binary (through
//! `DEP_ROTE_INTERPOSE_DYNAMIC_LIST`) which symbols to export.

fn main() {
    println!("cargo:rerun-if-changed=src/interpose.c");
    println!("cargo:rerun-if-changed=rote.dynamic-list");
    cc::Build::new()
        .file("src/interpose.c")
        .flag_if_supported("-fno-strict-aliasing")
        .warnings(true)
        .compile("rote_interpose");
    println!("cargo:rustc-link-lib=dl");
    let list = std::path::Path::new(&std::env::var("CARGO_MANIFEST_DIR").unwrap())
        .join("rote.dynamic-list");
    println!("cargo:dynamic_list={}", list.display());
}
