//! Which optional parts of the function a build compiles in, decided by the stack's variants, and how
//! cargo and the artifact cache are told.
use crate::config::Config;
use serde::Serialize;

/// The function's optional Cargo features a build turns on. AVIF (libaom, a few minutes of a first
/// build) is compiled in only for a stack with an AVIF variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Features {
    pub avif: bool,
}

impl Features {
    /// What the variants of `config` need.
    pub fn for_config(config: &Config) -> Self {
        Features {
            avif: config.variants.iter().any(|v| v.encodes_avif()),
        }
    }

    /// The function crate's features to build with (after `--no-default-features`).
    pub fn cargo_list(self) -> &'static str {
        if self.avif {
            "lambda,avif"
        } else {
            "lambda"
        }
    }

    /// Whether a built `bootstrap` can do what `self` asks: an error naming the fix when a variant
    /// needs AVIF and the binary carries no AVIF encoder (libaom's name string is in every build
    /// with it, stripped or not).
    pub fn check_binary(self, binary: &[u8]) -> Result<(), String> {
        const LIBAOM_ENCODER: &[u8] = b"AOMedia Project AV1 Encoder";
        let has_avif = binary
            .windows(LIBAOM_ENCODER.len())
            .any(|w| w == LIBAOM_ENCODER);
        if self.avif && !has_avif {
            return Err("a variant encodes AVIF (format = \"avif\" or \"auto\"), but this bootstrap was built without the AVIF encoder: rebuild it with `imgdeploy build --avif` (or `imgdeploy build` beside this configuration)".into());
        }
        Ok(())
    }

    /// What tells this build's cached zip from the others'.
    pub fn cache_suffix(self) -> &'static str {
        if self.avif {
            "-avif"
        } else {
            ""
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_avif_variant_compiles_the_avif_encoder_in() {
        let config = |format: &str| {
            let text = format!("[[variant]]\nname=\"a\"\nwidth=9\nformat=\"jpeg\"\nfit=\"inside\"\n[[variant]]\nname=\"b\"\nwidth=9\nfit=\"inside\"\nformat=\"{format}\"");
            Features::for_config(&Config::parse(&text, "imgdeploy.toml").unwrap())
        };
        assert_eq!(config("webp"), Features { avif: false });
        assert_eq!(config("avif"), Features { avif: true });
        assert_eq!(config("auto"), Features { avif: true });
        assert_eq!(Features { avif: true }.cargo_list(), "lambda,avif");
        assert_eq!(Features::default().cargo_list(), "lambda");
    }

    #[test]
    fn a_binary_without_libaom_is_refused_for_an_avif_stack() {
        let with = b"\x7fELF...AOMedia Project AV1 Encoder v3.11.0\0...".as_slice();
        let without = b"\x7fELF...AOMedia Project AV1 Decoder v3.11.0\0...".as_slice();
        let avif = Features { avif: true };
        assert_eq!(avif.check_binary(with), Ok(()));
        let refused = avif.check_binary(without).unwrap_err();
        assert!(refused.contains("imgdeploy build --avif"), "{refused}");
        // A stack without AVIF takes either.
        assert_eq!(Features::default().check_binary(without), Ok(()));
        assert_eq!(Features::default().check_binary(with), Ok(()));
    }
}
