//! Build tasks that plain `cargo build` cannot do. One task today:
//!
//! `sdk [--test-hooks]`: builds `crates/sdk` for `wasm32-unknown-unknown`, runs wasm-bindgen
//! (the library the CLI wraps, pinned to the exact `wasm-bindgen` version, so nothing is
//! downloaded and the versions cannot drift), shrinks the module with `wasm-opt -Oz` and the script
//! with `esbuild --minify` when the npm packages `binaryen` and `esbuild` are installed in
//! `crates/sdk/node_modules`, and writes the files the
//! server serves under `/sdk/v1/` into `target/sdk/dist` (`target/sdk/dist-test` with the test
//! hooks): `beckon.js` (the loader and the glue in one classic script that defines no global but
//! the command function), `beckon_bg.<hash>.wasm` (immutable, content-hashed name), gzip (Zopfli)
//! and Brotli copies of both, `beckon.d.ts` and `snippet.html`. It prints every file's raw, gzip
//! and Brotli size.
//!
//! The SDK is compiled with its own `--target-dir` (`target/sdk`): a build running inside another
//! cargo build would otherwise wait forever on the shared target directory's lock.

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
        .arg(&target_dir)
        // The standard library rebuilt with `panic = immediate-abort`: a panic becomes a bare
        // `unreachable`, so no panic message, location or `core::fmt` machinery is linked in.
        // `fmt-debug=none` makes every `Debug` impl empty and `location-detail=none` drops the
        // source paths `#[track_caller]` functions carry; `optimize_for_size` picks std's
        // smaller implementations. All are nightly features; RUSTC_BOOTSTRAP lets the pinned
        // stable toolchain use them (see scripts/build-sdk.sh, which installs the rust-src
        // component they need).
        .env("RUSTC_BOOTSTRAP", "1")
        .env(
            "RUSTFLAGS",
            "-Zunstable-options -Cpanic=immediate-abort -Zfmt-debug=none -Zlocation-detail=none",
        )
        .arg("-Zbuild-std=std,panic_abort")
        .arg("-Zbuild-std-features=optimize_for_size");
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
    std::fs::create_dir_all(&generated)?;
    let mut output = wasm_bindgen_cli_support::Bindgen::new()
        .input_path(&wasm_in)
        .no_modules(true)?
        .typescript(false)
        .remove_producers_section(true)
        .generate_output()
        .context("wasm-bindgen")?;
    let glue = short_init(output.js())?;
    untable_closure_invokes(output.wasm_mut());
    let glue = shorten_names(output.wasm_mut(), &glue)?;
    let wasm = optimize(&root, &generated, output.wasm_mut().emit_wasm())?;

    let hash = hex(&Sha256::digest(&wasm))[..16].to_owned();
    let wasm_name = format!("beckon_bg.{hash}.wasm");
    let js_dir = root.join("crates/sdk/js");
    let loader = std::fs::read_to_string(js_dir.join("loader.js"))?;
    let loader = replace_checked(&loader, "__BECKON_WASM__", &wasm_name)?;
    let script = format!(
        "/*! Beckon browser SDK {version}, Apache-2.0 */\n(function () {{\n'use strict';\n{body}\n}})();\n",
        version = env!("CARGO_PKG_VERSION"),
        body = replace_checked(&loader, "// __BECKON_GLUE__\n", &glue)?,
    );

    let script = minify(&root, &generated, script)?;
    // Chromium's explicit compile hint: compile every function of the script while it streams
    // in, off the main thread. Start-up calls many of them (the glue, the loader, the imports
    // it uses: 73 of about 210 were compiled on first call in one trace), which took a few
    // milliseconds of the main thread between the module's arrival and ready; compiling the rest
    // too costs a background thread, not the page. esbuild drops `//#` comments, so it goes on
    // after minifying.
    let script = [b"//# allFunctionsCalledOnLoad\n".as_slice(), &script].concat();

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
    let (mut gzip_total, mut br_total) = (0, 0);
    for (name, bytes) in &files {
        std::fs::write(dist.join(name), bytes)?;
        let gz = gzip(bytes)?;
        let br = brotli(bytes)?;
        let downloaded = name.ends_with(".js") || name.ends_with(".wasm");
        if downloaded {
            std::fs::write(dist.join(format!("{name}.gz")), &gz)?;
            std::fs::write(dist.join(format!("{name}.br")), &br)?;
            gzip_total += gz.len();
            br_total += br.len();
        }
        println!(
            "sdk: {name:<32} {:>8} bytes  {:>7} gzip  {:>7} br",
            bytes.len(),
            gz.len(),
            br.len()
        );
    }
    println!(
        "sdk: a page downloads {gzip_total} bytes gzip ({:.1} KB), {br_total} bytes br ({:.1} KB); written to {}",
        gzip_total as f64 / 1024.0,
        br_total as f64 / 1024.0,
        dist.display()
    );
    Ok(())
}

/// Renames every import and export of the module to a short name, and the glue to match.
///
/// wasm-bindgen names imports after the Rust item and a hash (`__wbg_addEventListener_70e3…`),
/// exports after the closure shims (`wasm_bindgen__convert__closures_____invoke__h…`), and the
/// import module after the glue file, repeated for every import. Hashes do not compress: these
/// names were about 5 KB of the module and as much again of the script. The glue refers to an
/// import by its key in the imports object and to an export as `wasm.<name>`; the build fails if
/// any old name is left in the glue.
fn shorten_names(module: &mut walrus::Module, glue: &str) -> Result<String> {
    let mut renames: Vec<(String, String)> = Vec::new();
    let mut modules: Vec<(String, String)> = Vec::new();
    for (n, import) in module.imports.iter_mut().enumerate() {
        if !modules.iter().any(|(old, _)| *old == import.module) {
            modules.push((import.module.clone(), short_name(modules.len())));
        }
        let (_, short) = modules
            .iter()
            .find(|(old, _)| *old == import.module)
            .unwrap();
        import.module = short.clone();
        let short = short_name(n);
        renames.push((std::mem::replace(&mut import.name, short.clone()), short));
    }
    let mut exports: Vec<(String, String)> = Vec::new();
    for (n, export) in module.exports.iter_mut().enumerate() {
        let short = short_name(n);
        exports.push((std::mem::replace(&mut export.name, short.clone()), short));
    }
    let mut glue = glue.to_owned();
    for (old, short) in &modules {
        glue = replace_checked(&glue, &format!("\"{old}\":"), &format!("\"{short}\":"))?;
    }
    for (old, short) in &renames {
        glue = replace_name(&glue, old, short);
    }
    for (old, short) in &exports {
        glue = replace_name(&glue, &format!("wasm.{old}"), &format!("wasm.{short}"));
    }
    let imported = renames.iter().map(|(old, _)| old.clone());
    let exported = exports.iter().map(|(old, _)| format!("wasm.{old}"));
    for old in imported.chain(exported).filter(|old| old.len() > 8) {
        if glue.contains(old.as_str()) {
            bail!("the glue still names `{old}` after renaming the module's imports and exports");
        }
    }
    Ok(glue)
}

/// Takes wasm-bindgen's closure `invoke` functions out of the module's function table.
///
/// Describing a closure type to wasm-bindgen puts its `invoke` function in the table, and js-sys
/// describes dozens the SDK never makes (typed arrays' `forEach`, `Promise::new`, …). Once the
/// descriptions are read nothing calls them through the table: the glue calls the few closure
/// types the SDK has through exported shims, which call their `invoke` directly. Their slots
/// now all hold one of them, so every other function keeps its index, and wasm-opt drops the
/// ones nothing else refers to (about 2.2 KB of the module, 0.6 KB gzip). They are found by
/// name (the module keeps its name section until wasm-opt); without names nothing changes.
fn untable_closure_invokes(module: &mut walrus::Module) {
    let invokes: Vec<walrus::FunctionId> = module
        .funcs
        .iter()
        .filter(|f| {
            f.name.as_deref().is_some_and(|name| {
                name.contains("convert::closures::_::invoke") && !name.contains(" shim")
            })
        })
        .map(|f| f.id())
        .collect();
    let Some(&kept) = invokes.first() else {
        return;
    };
    for element in module.elements.iter_mut() {
        if let walrus::ElementItems::Functions(items) = &mut element.items {
            for item in items.iter_mut().filter(|item| invokes.contains(item)) {
                *item = kept;
            }
        }
    }
}

/// Replaces the glue's general-purpose start-up with the one the loader uses.
///
/// wasm-bindgen's `__wbg_init` takes a URL, a `Request`, a `Response`, a module or bytes, in a
/// current or a deprecated form, and comes with `initSync` and a script-URL lookup; the loader
/// only ever passes the promise of the module's `fetch`. What is kept: a failed download is an
/// error with its status, the module is compiled while it streams in, and from its bytes when
/// the server did not label it `application/wasm` (or the browser cannot stream). About 2 KB of
/// glue (0.4 KB gzip) leave the script; the build fails if the generated text changed.
fn short_init(glue: &str) -> Result<String> {
    let script_src = "            let script_src;
            if (typeof document !== 'undefined' && document.currentScript !== null) {
                script_src = new URL(document.currentScript.src, location.href).toString();
            }
";
    let glue = replace_checked(glue, script_src, "")?;
    let start = "            async function __wbg_load(module, imports) {";
    let end = "return Object.assign(__wbg_init, { initSync }, exports);";
    let (Some(from), Some(to)) = (glue.find(start), glue.find(end)) else {
        bail!("the wasm-bindgen glue's start-up changed; see short_init in xtask");
    };
    let init = "async function __wbg_init(download) {
    const imports = __wbg_get_imports(), response = await download;
    if (!response.ok) {
        throw new Error(`failed to fetch Wasm: ${response.status} ${response.statusText} fetching '${response.url}'`);
    }
    let result;
    try {
        result = await WebAssembly.instantiateStreaming(response, imports);
    } catch (e) {
        if (WebAssembly.instantiateStreaming && response.headers.get('Content-Type') === 'application/wasm') { throw e; }
        result = await WebAssembly.instantiate(await response.arrayBuffer(), imports);
    }
    return __wbg_finalize_init(result.instance, result.module);
}
return Object.assign(__wbg_init, exports);";
    Ok([&glue[..from], init, &glue[to + end.len()..]].concat())
}

/// `a`, `b`, … `Z`, then `aa`, `ab`, …: valid JavaScript property names.
fn short_name(mut n: usize) -> String {
    const LETTERS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut name = vec![LETTERS[n % LETTERS.len()]];
    n /= LETTERS.len();
    while n > 0 {
        n -= 1;
        name.push(LETTERS[n % LETTERS.len()]);
        n /= LETTERS.len();
    }
    name.reverse();
    String::from_utf8(name).expect("ASCII")
}

/// Replaces each whole-word occurrence of `old` (not followed by an identifier character).
fn replace_name(text: &str, old: &str, new: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(old) {
        let after = &rest[at + old.len()..];
        let whole = !after.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_' || c == '$');
        out.push_str(&rest[..at]);
        out.push_str(if whole { new } else { old });
        rest = after;
    }
    out.push_str(rest);
    out
}

/// Replaces every `old`, failing when there is none (a placeholder or a glue pattern is gone).
fn replace_checked(text: &str, old: &str, new: &str) -> Result<String> {
    if !text.contains(old) {
        bail!("`{old}` is missing (crates/sdk/js/loader.js or the wasm-bindgen glue changed)");
    }
    Ok(text.replace(old, new))
}

/// `wasm-opt -Oz` (and the passes below) from the npm package `binaryen` (Debian's is too old
/// for current Rust output).
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
    // Before `-Oz`: the module's low 1 KB of memory is never used (the stack grows down from
    // 1 MiB towards it, the data lies above) and its memory starts zeroed (it is not imported:
    // wasm-bindgen's glue instantiates the module with its own memory), which lets wasm-opt fold
    // constant addresses and drop zero data; `--flatten --rereloop` rebuilds the control flow,
    // after which `-Oz` finds more to fold (about 0.7 KB gzip on 2026-11-29's tree).
    let status = Command::new(&wasm_opt)
        .args(["--low-memory-unused", "--zero-filled-memory"])
        .args(["--flatten", "--rereloop", "-Oz", "-Oz"])
        .arg("--converge")
        // A function called from one place is inlined only when it is small (25 instructions;
        // -Oz inlines every one): inlined into its caller, a larger one is flattened and
        // re-looped with it, and the result compresses worse (about 1 KB gzip on 2026-11-29's
        // tree, measured from 0 to unlimited; 20 to 30 were best).
        .arg("--one-caller-inline-max-function-size=25")
        // The target features section is for tools (wasm-bindgen has read it); browsers ignore it.
        .arg("--strip-target-features")
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

/// Gzip by Zopfli: a few percent smaller than zlib's best, readable by every gzip decoder; the
/// files are compressed once per build, so its slowness costs nothing a page sees.
fn gzip(bytes: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    zopfli::compress(
        zopfli::Options::default(),
        zopfli::Format::Gzip,
        bytes,
        &mut out,
    )?;
    Ok(out)
}

/// Brotli at its best quality, for browsers that accept it (every current one
/// on https and on localhost): smaller than the best gzip, and compressed once per build.
fn brotli(bytes: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let params = brotli::enc::BrotliEncoderParams {
        quality: 11,
        size_hint: bytes.len(),
        ..Default::default()
    };
    brotli::BrotliCompress(&mut &bytes[..], &mut out, &params)?;
    Ok(out)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
