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
            avif: config
                .variants
                .iter()
                .any(|v| v.format == imgdeploy_function::spec::Format::Avif),
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
        assert_eq!(Features { avif: true }.cargo_list(), "lambda,avif");
        assert_eq!(Features::default().cargo_list(), "lambda");
    }
}
