//! Rendering local files in a warm loop: the one implementation behind `imgdeploy render` and the
//! `render` example (which benchmarks the engine without compiling the AWS SDK). Writes each variant to
//! `OUT/<variant>.<ext>`, or `OUT/<input stem>/<variant>.<ext>` for several inputs, and measures the wall
//! and CPU time of every iteration (the contract of `shared/bench/compare.py`).
use crate::engine::{self, EngineError};
use crate::spec::{Format, Limits, VariantSpec};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// One variant written by the first iteration.
#[derive(Debug, Clone)]
pub struct Written {
    pub path: PathBuf,
    pub format: Format,
    pub width: u32,
    pub height: u32,
    pub bytes: usize,
    pub millis: f64,
    /// The decoder the engine used for the input ("dct-parallel", "libjpeg-turbo", ...).
    pub decoder: engine::Decoder,
}

/// The line both render front ends print for a written variant.
impl std::fmt::Display for Written {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (path, w, h) = (self.path.display(), self.width, self.height);
        write!(
            f,
            "{path}  {w}x{h}  {} bytes  {:.1} ms",
            self.bytes, self.millis
        )
    }
}

/// What a run measured.
#[derive(Debug, Clone, Default)]
pub struct Run {
    /// Wall milliseconds of each iteration (all inputs).
    pub ms: Vec<f64>,
    /// Process user + system CPU milliseconds of each iteration.
    pub cpu_ms: Vec<f64>,
    /// The variants of the first iteration, in order.
    pub written: Vec<Written>,
}

/// Why a run stopped; each names the file and the reason (in the message itself, not as a chained
/// source, so that it prints once).
#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    #[error("cannot read {}: {error}", path.display())]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{} cannot be rendered: {error} [{}]", path.display(), error.kind())]
    Render { path: PathBuf, error: EngineError },
    #[error("cannot write {}: {error}", path.display())]
    Write {
        path: PathBuf,
        error: std::io::Error,
    },
}

/// Renders every input `repeat` times (at least once) into `out`.
pub fn render_files(
    inputs: &[PathBuf],
    out: &Path,
    variants: &[VariantSpec],
    limits: &Limits,
    repeat: usize,
) -> Result<Run, LocalError> {
    let mut run = Run::default();
    // One input buffer for the whole run, as a warm Lambda would keep its download buffer: a fresh
    // 6.5 MB `Vec` per photo was mapped page by page at first touch (1,600 page faults per image on the
    // 48 MP photo, a third of a render's faults with 2 threads).
    let mut bytes = Vec::new();
    for iteration in 0..repeat.max(1) {
        let (t0, c0) = (Instant::now(), engine::process_cpu_ms());
        for input in inputs {
            let dir = if inputs.len() > 1 {
                out.join(stem(input))
            } else {
                out.to_path_buf()
            };
            read_into(input, &mut bytes).map_err(|error| LocalError::Read {
                path: input.clone(),
                error,
            })?;
            let rendered =
                engine::render(&bytes, variants, limits).map_err(|error| LocalError::Render {
                    path: input.clone(),
                    error,
                })?;
            std::fs::create_dir_all(&dir).map_err(|error| LocalError::Write {
                path: dir.clone(),
                error,
            })?;
            for r in rendered {
                let path = dir.join(format!("{}.{}", r.name, r.format.extension()));
                std::fs::write(&path, &r.bytes).map_err(|error| LocalError::Write {
                    path: path.clone(),
                    error,
                })?;
                if iteration == 0 {
                    run.written.push(Written {
                        path,
                        format: r.format,
                        width: r.width,
                        height: r.height,
                        bytes: r.bytes.len(),
                        millis: r.millis,
                        decoder: r.decoder,
                    });
                }
            }
        }
        run.ms.push(t0.elapsed().as_secs_f64() * 1000.0);
        run.cpu_ms.push(engine::process_cpu_ms() - c0);
    }
    Ok(run)
}

/// Replaces `buf`'s contents with the file at `path`, reusing its allocation.
fn read_into(path: &Path, buf: &mut Vec<u8>) -> std::io::Result<()> {
    buf.clear();
    std::fs::File::open(path)?.read_to_end(buf)?;
    Ok(())
}

fn stem(p: &Path) -> String {
    p.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "input".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn several_inputs_get_a_folder_each_and_a_bad_one_is_named() {
        let dir = std::env::temp_dir().join(format!("imgdeploy-local-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let png = |name: &str| {
            let path = dir.join(name);
            image::RgbImage::from_pixel(40, 30, image::Rgb([200, 10, 10]))
                .save(&path)
                .unwrap();
            path
        };
        let inputs = [png("a.png"), png("b.png")];
        let variants: Vec<VariantSpec> = serde_json::from_value(serde_json::json!([
            {"name": "small", "width": 20, "height": 15, "format": "jpeg"}
        ]))
        .unwrap();
        let out = dir.join("out");
        let run = render_files(&inputs, &out, &variants, &Limits::default(), 3).unwrap();
        assert_eq!((run.ms.len(), run.cpu_ms.len()), (3, 3));
        let paths: Vec<_> = run.written.iter().map(|w| w.path.clone()).collect();
        assert_eq!(paths, [out.join("a/small.jpg"), out.join("b/small.jpg")]);
        assert!(run.written.iter().all(|w| (w.width, w.height) == (20, 15)));
        assert!(paths.iter().all(|p| p.is_file()));

        let bad = dir.join("c.png");
        std::fs::write(&bad, b"not a picture").unwrap();
        let err = render_files(&[bad], &out, &variants, &Limits::default(), 1).unwrap_err();
        assert!(
            err.to_string().contains("c.png cannot be rendered"),
            "{err}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
