//! Compiles carechain's own `.proto` files (Fabric-compatible wire types plus carechain's internal
//! services) with a vendored `protoc`, so a fresh machine needs no manual step.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protoc = protoc_bin_vendored::protoc_bin_path()?;
    let well_known = protoc_bin_vendored::include_path()?;
    // prost-build finds protoc only through the environment; a build script is single-threaded, so
    // setting it here cannot race another thread.
    #[allow(unsafe_code)]
    unsafe {
        std::env::set_var("PROTOC", protoc)
    };

    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let mut files = Vec::new();
    for dir in ["fabric", "google", "carechain"] {
        // Watching the directories too makes a newly added .proto file trigger a rebuild.
        println!("cargo:rerun-if-changed={}", root.join(dir).display());
        collect(&root.join(dir), &mut files)?;
    }
    files.sort();
    for f in &files {
        println!("cargo:rerun-if-changed={}", f.display());
    }
    let includes = [root.join("fabric"), root.clone(), well_known];
    // Services need tonic; the pure crates build the messages only.
    let grpc = std::env::var_os("CARGO_FEATURE_GRPC").is_some();
    tonic_prost_build::configure()
        .bytes(".")
        .build_server(grpc)
        .build_client(grpc)
        .compile_protos(&files, &includes)?;
    Ok(())
}

fn collect(dir: &std::path::Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    if !dir.exists() {
        return Ok(());
    }
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "proto") {
            out.push(path);
        }
    }
    Ok(())
}
