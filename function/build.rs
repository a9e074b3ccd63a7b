//! Build-time check of the libjpeg-turbo functions that the JPEG encoder declares by hand
//! (`src/engine/encode/jpeg/parallel/jsimd.rs`). They are private to libjpeg-turbo (`jsimd.h`,
//! `jsimddct.h`: no stable API), so a mozjpeg-sys release could change them without a compile error on
//! our side, only undefined behaviour at run time. `mozjpeg-sys` is pinned exactly in Cargo.toml, and
//! this script reads the C sources that mozjpeg-sys compiles (its `DEP_JPEG_INCLUDE` metadata, from
//! `links = "jpeg"`) and fails the build unless
//! - each declaration is the one `jsimd.rs` was written against, word for word;
//! - the C types behind them are still what the Rust side passes (`DCTELEM` and `JCOEF` 16-bit with
//!   SIMD, `JDIMENSION` 32-bit, samples bytes);
//! - `jsimd_rgb_ycc_convert` still reads no field of the compress struct but `in_color_space` and
//!   `image_width` (the encoder hands it a zeroed struct with only those set), on x86-64 and arm64.
use std::path::{Path, PathBuf};

/// The declarations of `jsimd.rs`'s `extern "C"` block, as the C headers spell them (whitespace
/// collapsed).
const DECLARATIONS: [(&str, &str); 6] = [
    ("jsimd.h", "EXTERN(int) jsimd_can_rgb_ycc(void);"),
    (
        "jsimd.h",
        "EXTERN(void) jsimd_rgb_ycc_convert(j_compress_ptr cinfo, JSAMPARRAY input_buf, \
         JSAMPIMAGE output_buf, JDIMENSION output_row, int num_rows);",
    ),
    ("jsimddct.h", "EXTERN(int) jsimd_can_fdct_islow(void);"),
    (
        "jsimddct.h",
        "EXTERN(void) jsimd_fdct_islow(DCTELEM *data);",
    ),
    ("jsimddct.h", "EXTERN(int) jsimd_can_quantize(void);"),
    (
        "jsimddct.h",
        "EXTERN(void) jsimd_quantize(JCOEFPTR coef_block, DCTELEM *divisors, DCTELEM *workspace);",
    ),
];

/// The typedefs those declarations rest on.
const TYPES: [(&str, &str); 7] = [
    (
        "jdct.h",
        "#ifndef WITH_SIMD typedef int DCTELEM; /* 16 or 32 bits is fine */ typedef unsigned int \
         UDCTELEM; typedef unsigned long long UDCTELEM2; #else typedef short DCTELEM;",
    ),
    ("jmorecfg.h", "typedef short JCOEF;"),
    ("jmorecfg.h", "typedef unsigned int JDIMENSION;"),
    ("jpeglib.h", "typedef JSAMPLE *JSAMPROW;"),
    ("jpeglib.h", "typedef JSAMPROW *JSAMPARRAY;"),
    ("jpeglib.h", "typedef JSAMPARRAY *JSAMPIMAGE;"),
    ("jpeglib.h", "typedef JCOEF *JCOEFPTR;"),
];

/// The SIMD dispatchers whose `jsimd_rgb_ycc_convert` is checked for the fields it reads.
const DISPATCHERS: [&str; 2] = ["simd/x86_64/jsimd.c", "simd/arm/aarch64/jsimd.c"];

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    embed_source();
    let include = std::env::var_os("DEP_JPEG_INCLUDE")
        .expect("mozjpeg-sys did not say where its headers are (DEP_JPEG_INCLUDE)");
    let vendor: PathBuf = std::env::split_paths(&include)
        .find(|d| d.join("jsimd.h").is_file())
        .unwrap_or_else(|| panic!("no jsimd.h in mozjpeg-sys's include path {include:?}"));
    for (file, decl) in DECLARATIONS.iter().chain(&TYPES) {
        let text = words(&read(&vendor.join(file)));
        assert!(
            text.contains(decl),
            "libjpeg-turbo's {file} (mozjpeg-sys, {}) no longer has `{decl}`: the hand-written \
             declarations in src/engine/encode/jpeg/parallel/jsimd.rs must be checked against it",
            vendor.display()
        );
    }
    for file in DISPATCHERS {
        let path = vendor.join(file);
        let source = read(&path);
        let body = function_body(&source, "jsimd_rgb_ycc_convert(")
            .unwrap_or_else(|| panic!("{}: no jsimd_rgb_ycc_convert", path.display()));
        for field in body.split("cinfo->").skip(1) {
            let name: String = field
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            assert!(
                name == "in_color_space" || name == "image_width",
                "{}: jsimd_rgb_ycc_convert now reads cinfo->{name}, which the encoder's zeroed \
                 compress struct does not set (src/engine/encode/jpeg/parallel/jsimd.rs)",
                path.display()
            );
        }
    }
}

fn read(path: &Path) -> String {
    println!("cargo:rerun-if-changed={}", path.display());
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `text` with every run of whitespace made one space.
fn words(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The definition of the function that starts a line with `name`, up to the `}` that starts a line.
fn function_body<'a>(source: &'a str, name: &str) -> Option<&'a str> {
    let start = source.find(&format!("\n{name}"))?;
    let end = source[start..].find("\n}")?;
    Some(&source[start..start + end])
}

/// Writes `$OUT_DIR/source.rs`: every file the `bootstrap` build needs (the manifest, this script, the
/// Lambda profiles, `src/`, the lock file and, inside the repository, the workspace manifest its
/// `*.workspace = true` keys refer to), as `include_bytes!`, for `imgdeploy` to build the function
/// outside the repository (`src/source.rs`, feature `source`).
fn embed_source() {
    let crate_dir =
        PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let mut files: Vec<(String, PathBuf)> = Vec::new();
    for name in ["Cargo.toml", "build.rs", "lambda-profiles.toml"] {
        files.push((name.to_string(), crate_dir.join(name)));
    }
    collect(&crate_dir, Path::new("src"), &mut files);
    // The lock file: the crate's own when packaged (crates.io), the workspace's inside the repository.
    let parent = crate_dir
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let workspace = parent.join("Cargo.toml");
    let in_workspace = std::fs::read_to_string(&workspace)
        .is_ok_and(|text| text.contains("[workspace]"))
        && parent.join("function").join("Cargo.toml").is_file();
    if crate_dir.join("Cargo.lock").is_file() {
        files.push(("Cargo.lock".to_string(), crate_dir.join("Cargo.lock")));
    } else if in_workspace && parent.join("Cargo.lock").is_file() {
        files.push(("Cargo.lock".to_string(), parent.join("Cargo.lock")));
    }
    if in_workspace {
        files.push(("workspace/Cargo.toml".to_string(), workspace));
    }
    files.sort();
    let mut out = String::from(
        "/// The function crate's build inputs: (path relative to the crate, bytes).\n\
         pub static FILES: &[(&str, &[u8])] = &[\n",
    );
    for (name, path) in &files {
        println!("cargo:rerun-if-changed={}", path.display());
        out.push_str(&format!(
            "    ({name:?}, include_bytes!({:?})),\n",
            path.display().to_string()
        ));
    }
    out.push_str("];\n");
    println!("cargo:rerun-if-changed={}", crate_dir.join("src").display());
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR"));
    std::fs::write(out_dir.join("source.rs"), out).expect("writing source.rs");
}

/// Every file under `crate_dir/relative`, in a stable order, with `/`-separated names.
fn collect(crate_dir: &Path, relative: &Path, files: &mut Vec<(String, PathBuf)>) {
    let dir = crate_dir.join(relative);
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        let name = relative.join(path.file_name().expect("file name"));
        if path.is_dir() {
            collect(crate_dir, &name, files);
        } else {
            let name = name
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            files.push((name, path));
        }
    }
}
