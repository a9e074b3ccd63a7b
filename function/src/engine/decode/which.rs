//! Which decoder ran (`Decoder`, reported with every rendered image) and which ones may run
//! (`Decoders`, from `IMGDEPLOY_DECODER`). A leaf: the decoders of every format use it.
use crate::engine::error::EngineError;

/// The decoder that produced an image's pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Decoder {
    /// Our parallel JPEG decoder (`jpeg::parallel`): YCbCr, shrunk in the DCT domain on every core.
    #[serde(rename = "dct-parallel")]
    DctParallel,
    /// libjpeg-turbo, through mozjpeg (`jpeg::libjpeg`).
    #[serde(rename = "libjpeg-turbo")]
    Libjpeg,
    /// Our two-thread PNG decoder (`png::pipe`).
    #[serde(rename = "png-pipe")]
    PngPipe,
    /// The `png` crate (`png::library`).
    #[serde(rename = "png-crate")]
    PngCrate,
    /// The `image` crate (WebP, GIF).
    #[serde(rename = "image")]
    Image,
}

impl Decoder {
    /// The name in logs and `render --json`: "dct-parallel", "libjpeg-turbo", "png-pipe", "png-crate"
    /// or "image".
    pub fn name(self) -> &'static str {
        match self {
            Decoder::DctParallel => "dct-parallel",
            Decoder::Libjpeg => "libjpeg-turbo",
            Decoder::PngPipe => "png-pipe",
            Decoder::PngCrate => "png-crate",
            Decoder::Image => "image",
        }
    }
}

impl std::fmt::Display for Decoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Which decoders an image may go to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Decoders {
    /// Ours where they take the file (the parallel JPEG decoder, the PNG pipeline), the libraries for
    /// the rest.
    #[default]
    Auto,
    /// libjpeg-turbo for every JPEG and the `png` crate for every PNG.
    Library,
}

impl Decoders {
    /// The environment variable that chooses: unset, empty or `auto`, or `library`.
    pub const ENV: &'static str = "IMGDEPLOY_DECODER";

    /// The choice `IMGDEPLOY_DECODER` makes; any other value is an error (a mistyped debugging switch
    /// must not pass unnoticed).
    pub fn from_env() -> Result<Decoders, EngineError> {
        match std::env::var(Self::ENV) {
            Err(std::env::VarError::NotPresent) => Ok(Decoders::Auto),
            Ok(v) if v.is_empty() || v == "auto" => Ok(Decoders::Auto),
            Ok(v) if v == "library" => Ok(Decoders::Library),
            Ok(v) => Err(EngineError::Internal(format!(
                "{}={v:?}: expected \"auto\" or \"library\"",
                Self::ENV
            ))),
            Err(e) => Err(EngineError::Internal(format!("{}: {e}", Self::ENV))),
        }
    }
}
