//! Build tasks that plain `cargo build` cannot do. One task today:
//!
//! `sdk [--test-hooks]`: builds `crates/sdk` for `wasm32-unknown-unknown`, runs wasm-bindgen
//! (the library the CLI wraps, pinned to the exact `wasm-bindgen` version, so nothing is
//! downloaded and the versions cannot drift), shrinks the module with `wasm-opt -Oz` and the script
//! with `esbuild --minify` when the npm packages `binaryen` and `esbuild` are installed in
//! `crates/sdk/node_modules`, and writes the files the
//! server serves under `/sdk/v1/` into `target/sdk/dist` (`target/sdk/dist-test` with the test
//! hooks): `beckon.js` (the loader and the glue in one classic script that defines no global but
//! the command function), `beckon_bg.<hash>.wasm` (immutable, content-hashed name), gzip copies
//! of both, `beckon.d.ts` and `snippet.html`. It prints every file's raw and gzip size.
//!
//! The SDK is compiled with its own `--target-dir` (`target/sdk`): a build running inside another
//! cargo build would otherwise wait forever on the shared target directory's lock.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("sdk") => {
            let test_hooks = args.iter().any(|a| a == "--test-hooks");
            build_sdk(test_hooks)
        }
        _ => bail!("usage: cargo run --manifest-path xtask/Cargo.toml -- sdk [--test-hooks]"),
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace root")
        .to_path_buf()
}

fn build_sdk(test_hooks: bool) -> Result<()> {
    let root = workspace_root();
    let target_dir = root.join("target/sdk");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut build = Command::new(cargo);
    build
        .current_dir(&root)
        .args(["build", "-p", "beckon-sdk", "--lib", "--locked"])
        .args(["--target", "wasm32-unknown-unknown", "--profile", "sdk"])
        .arg("--target-dir")
        .arg(&target_dir);
    if test_hooks {
        build.args(["--features", "test-hooks"]);
    }
    let status = build.status().context("running cargo build for the SDK")?;
    if !status.success() {
        bail!("building beckon-sdk for wasm32-unknown-unknown failed");
    }
    let wasm_in = target_dir.join("wasm32-unknown-unknown/sdk/beckon_sdk.wasm");

    let generated = target_dir.join(if test_hooks {
        "bindgen-test"
    } else {
        "bindgen"
    });
    let _ = std::fs::remove_dir_all(&generated);
    wasm_bindgen_cli_support::Bindgen::new()
        .input_path(&wasm_in)
        .no_modules(true)?
        .typescript(false)
        .remove_producers_section(true)
        .generate(&generated)
        .context("wasm-bindgen")?;
    let glue = std::fs::read_to_string(generated.join("beckon_sdk.js"))?;
    let mut wasm = std::fs::read(generated.join("beckon_sdk_bg.wasm"))?;
    wasm = optimize(&root, &generated, wasm)?;

    let hash = hex(&Sha256::digest(&wasm))[..16].to_owned();
    let wasm_name = format!("beckon_bg.{hash}.wasm");
    let js_dir = root.join("crates/sdk/js");
    let loader = std::fs::read_to_string(js_dir.join("loader.js"))?;
    if !loader.contains("__BECKON_WASM__") {
        bail!("crates/sdk/js/loader.js lost its __BECKON_WASM__ placeholder");
    }
    let script = format!(
        "/*! Beckon browser SDK {version}, Apache-2.0 */\n(function () {{\n'use strict';\n{glue}\n{loader}\n}})();\n",
        version = env!("CARGO_PKG_VERSION"),
        loader = loader.replace("__BECKON_WASM__", &wasm_name),
    );

    let script = minify(&root, &generated, script)?;

    let dist = target_dir.join(if test_hooks { "dist-test" } else { "dist" });
    let _ = std::fs::remove_dir_all(&dist);
    std::fs::create_dir_all(&dist)?;
    let files: Vec<(String, Vec<u8>)> = vec![
        ("beckon.js".into(), script),
        (wasm_name, wasm),
        (
            "beckon.d.ts".into(),
            std::fs::read(js_dir.join("beckon.d.ts"))?,
        ),
        (
            "snippet.html".into(),
            std::fs::read(js_dir.join("snippet.html"))?,
        ),
    ];
    let mut page_total = 0;
    for (name, bytes) in &files {
        std::fs::write(dist.join(name), bytes)?;
        let gz = gzip(bytes)?;
        let downloaded = name.ends_with(".js") || name.ends_with(".wasm");
        if downloaded {
            std::fs::write(dist.join(format!("{name}.gz")), &gz)?;
            page_total += gz.len();
        }
        println!(
            "sdk: {name:<32} {:>8} bytes  {:>7} gzip",
            bytes.len(),
            gz.len()
        );
    }
    println!(
        "sdk: a page downloads {page_total} bytes gzip ({:.1} KB); written to {}",
        page_total as f64 / 1024.0,
        dist.display()
    );
    Ok(())
}

/// `wasm-opt -Oz` from the npm package `binaryen` (Debian's is too old for current Rust output).
fn optimize(root: &Path, scratch: &Path, wasm: Vec<u8>) -> Result<Vec<u8>> {
    let wasm_opt = std::env::var_os("WASM_OPT")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("crates/sdk/node_modules/.bin/wasm-opt"));
    if !wasm_opt.exists() {
        eprintln!(
            "sdk: warning: {} not found (run `npm ci` in crates/sdk); the module is not shrunk",
            wasm_opt.display()
        );
        return Ok(wasm);
    }
    let input = scratch.join("in.wasm");
    let output = scratch.join("out.wasm");
    std::fs::write(&input, &wasm)?;
    let status = Command::new(&wasm_opt)
        .arg("-Oz")
        .arg("--converge")
        .arg("--enable-bulk-memory")
        .arg("--enable-nontrapping-float-to-int")
        .arg("--enable-sign-ext")
        .arg("--enable-mutable-globals")
        .arg("--enable-reference-types")
        .arg("--enable-multivalue")
        .arg(&input)
        .arg("-o")
        .arg(&output)
        .status()
        .context("running wasm-opt")?;
    if !status.success() {
        bail!("wasm-opt failed");
    }
    Ok(std::fs::read(output)?)
}

/// `esbuild --minify` from the npm package `esbuild`: the wasm-bindgen glue is written to be read,
/// and a page downloads it. The licence comment (`/*! ... */`) is kept.
fn minify(root: &Path, scratch: &Path, script: String) -> Result<Vec<u8>> {
    let esbuild = std::env::var_os("ESBUILD")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("crates/sdk/node_modules/.bin/esbuild"));
    if !esbuild.exists() {
        eprintln!(
            "sdk: warning: {} not found (run `npm ci` in crates/sdk); the script is not minified",
            esbuild.display()
        );
        return Ok(script.into_bytes());
    }
    let input = scratch.join("beckon.js");
    let output = scratch.join("beckon.min.js");
    std::fs::write(&input, script)?;
    let status = Command::new(&esbuild)
        .arg(&input)
        .arg("--minify")
        .arg("--legal-comments=inline")
        .arg("--log-level=warning")
        .arg("--outfile=".to_owned() + &output.to_string_lossy())
        .status()
        .context("running esbuild")?;
    if !status.success() {
        bail!("esbuild failed");
    }
    Ok(std::fs::read(output)?)
}

fn gzip(bytes: &[u8]) -> Result<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(bytes)?;
    Ok(encoder.finish()?)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
