//! The engine's outputs, byte for byte. Every variant of a fixed set of inputs is hashed (md5) and held
//! to a list committed beside this file, so that a refactoring that changes a single output byte fails
//! here, with the names of the outputs that changed:
//! - `fixtures/engine-outputs.md5`: pictures synthesised below (integer arithmetic only, so the inputs
//!   themselves cannot drift), one per decoder path (the parallel baseline and progressive JPEG decoders
//!   at 1/8, 1/4 and 1/2, libjpeg-turbo at full scale and for gray and CMYK, the PNG pipeline and the
//!   `png` crate, WebP and GIF through `image`), through every output format and fit mode (but the
//!   outputs that depend on thread timing, see `streamed`);
//! - `fixtures/corpus-outputs.md5`: the photos of `../shared/corpus` (and its EXIF set) through the
//!   benchmark jobs of `../shared/bench/jobs`; where `../shared` is missing the test returns, unless `CI`
//!   is set, when it fails.
//!
//! An intended change of the outputs is recorded with `IMGDEPLOY_BLESS=1 cargo test -p
//! imgdeploy-function --test engine_stable`, and the diff of the lists goes into the commit. The lists
//! hold for x86-64 with AVX2 (the machines the project is built and tested on).
mod engine_common;
use engine_common::fixtures::fixtures;
use engine_common::shared;
use imgdeploy_function::engine;
use imgdeploy_function::spec::{Limits, VariantSpec};
use md5::{Digest, Md5};
use std::path::{Path, PathBuf};

/// Fixture pictures up to 1/2 of their size decode in the DCT domain; this job's largest variant
/// needs 1/2 (with the 1.3 quality margin), so the parallel JPEG decoders run at 1/2.
const HALF: &str = r##"[
    {"name":"cover","width":160,"height":120,"fit":"cover","format":"jpeg","quality":80},
    {"name":"baseline","width":120,"height":120,"fit":"inside","format":"jpeg","quality":85,"progressive":false},
    {"name":"contain","width":100,"height":60,"fit":"contain","background":"#336699","format":"png"},
    {"name":"entropy","width":90,"height":90,"fit":"cover","gravity":"entropy","format":"webp","quality":70},
    {"name":"fill","width":64,"height":40,"fit":"fill","format":"webp","lossless":true},
    {"name":"attention","width":70,"height":100,"fit":"cover","gravity":"attention","format":"jpeg"}
]"##;
/// ... 1/4
const QUARTER: &str = r##"[
    {"name":"q","width":96,"height":96,"fit":"inside","format":"jpeg","quality":75},
    {"name":"qpng","width":80,"height":50,"fit":"outside","format":"png"}
]"##;
/// ... 1/8
const EIGHTH: &str = r##"[{"name":"e","width":48,"height":36,"fit":"cover","format":"jpeg"}]"##;
/// Full size (libjpeg-turbo decodes every JPEG), and an enlargement.
const FULL: &str = r##"[
    {"name":"full","width":600,"height":450,"fit":"inside","format":"jpeg","quality":90},
    {"name":"up","width":900,"fit":"inside","format":"webp","quality":60}
]"##;

fn variants(json: &str) -> Vec<VariantSpec> {
    serde_json::from_str(json).unwrap()
}

fn md5_hex(bytes: &[u8]) -> String {
    Md5::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Renders `input` with each job and hashes every output, as `<input>/<job>/<variant>.<ext>`.
fn sums(
    input_name: &str,
    input: &[u8],
    jobs: &[(&str, Vec<VariantSpec>)],
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (job, vs) in jobs {
        let rendered = engine::render(input, vs, &Limits::default())
            .unwrap_or_else(|e| panic!("{input_name} / {job}: {e}"));
        for r in rendered {
            out.push((
                format!("{input_name}/{job}/{}.{}", r.name, r.format.extension()),
                md5_hex(&r.bytes),
            ));
        }
    }
    out
}

/// Holds `actual` to the list at `path` (relative to the crate), or writes it with `IMGDEPLOY_BLESS`.
fn check(path: &str, actual: &[(String, String)]) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    let text: String = actual.iter().map(|(n, h)| format!("{h}  {n}\n")).collect();
    if std::env::var_os("IMGDEPLOY_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (IMGDEPLOY_BLESS=1 writes it)", path.display()));
    let want: std::collections::BTreeMap<&str, &str> = expected
        .lines()
        .filter_map(|l| l.split_once("  "))
        .map(|(h, n)| (n, h))
        .collect();
    let got: std::collections::BTreeMap<&str, &str> = actual
        .iter()
        .map(|(n, h)| (n.as_str(), h.as_str()))
        .collect();
    let mut wrong = Vec::new();
    for (name, hash) in &want {
        match got.get(name) {
            None => wrong.push(format!("missing  {name}")),
            Some(h) if h != hash => wrong.push(format!("changed  {name}")),
            Some(_) => {}
        }
    }
    wrong.extend(
        got.keys()
            .filter(|n| !want.contains_key(*n))
            .map(|n| format!("new      {n}")),
    );
    assert!(
        wrong.is_empty(),
        "{} of {} outputs differ from {}:\n{}",
        wrong.len(),
        want.len().max(got.len()),
        path.display(),
        wrong.join("\n")
    );
}

/// Whether the variant `v` of the fixture `input` is resampled while the picture decodes
/// (`resize::streamed`: opaque PNGs that the PNG pipeline decodes, variants that are not
/// content-aware). Those outputs depend on thread timing: a band resampled early rounds the last bit
/// of a weight differently from the whole resample, so that the bytes differ from run to run
/// (rgb.png's cover, contain and qpng variants, in about half the runs). They are left out of the
/// list; the PNG pipeline's pixels are still held to it through the content-aware variants and the
/// RGBA fixture, and to the `png` crate's in `engine_decoders`.
fn streamed(input: &str, v: &VariantSpec) -> bool {
    use imgdeploy_function::spec::Gravity;
    matches!(input, "rgb.png" | "gray.png")
        && !matches!(v.gravity, Gravity::Entropy | Gravity::Attention)
}

#[test]
fn fixture_outputs_are_byte_identical_to_the_committed_sums() {
    let jobs = [
        ("half", variants(HALF)),
        ("quarter", variants(QUARTER)),
        ("eighth", variants(EIGHTH)),
        ("full", variants(FULL)),
    ];
    let mut all = Vec::new();
    for (name, input) in fixtures() {
        let timed: Vec<String> = (jobs.iter())
            .flat_map(|(job, vs)| vs.iter().map(move |v| (job, v)))
            .filter(|(_, v)| streamed(name, v))
            .map(|(job, v)| format!("{name}/{job}/{}.{}", v.name, v.format.extension()))
            .collect();
        let sums = sums(name, &input, &jobs);
        all.extend(sums.into_iter().filter(|(n, _)| !timed.contains(n)));
    }
    check("tests/fixtures/engine-outputs.md5", &all);
}

/// The benchmark jobs that the engine can render (not `avif1000`: this build has no AVIF encoder).
const CORPUS_JOBS: [&str; 2] = ["cover3", "thumb1000"];

#[derive(serde::Deserialize)]
struct Job {
    variant: Vec<VariantSpec>,
}

#[test]
fn corpus_outputs_are_byte_identical_to_the_committed_sums() {
    let (Some(corpus), Some(jobs_dir)) = (shared("corpus"), shared("bench/jobs")) else {
        return;
    };
    let jobs: Vec<(&str, Vec<VariantSpec>)> = CORPUS_JOBS
        .iter()
        .map(|j| {
            let text = std::fs::read_to_string(jobs_dir.join(format!("{j}.toml"))).unwrap();
            (*j, toml::from_str::<Job>(&text).unwrap().variant)
        })
        .collect();
    let mut inputs: Vec<PathBuf> = Vec::new();
    for dir in [corpus.clone(), corpus.join("exif")] {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "jpg" || x == "png") {
                inputs.push(p);
            }
        }
    }
    inputs.sort();
    let mut all = Vec::new();
    for p in &inputs {
        let name = p
            .strip_prefix(&corpus)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        all.extend(sums(&name, &std::fs::read(p).unwrap(), &jobs));
    }
    check("tests/fixtures/corpus-outputs.md5", &all);
}
