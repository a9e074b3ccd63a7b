//! The Lambda instruction set architectures the function is built for, and what each is called by
//! Rust, zig, Lambda and ELF. A leaf (serde, clap and object only): fuzz/fuzz_targets/config.rs
//! compiles it with the configuration parser.
use serde::{Deserialize, Serialize};
use std::fmt;

/// The glibc of Amazon Linux 2023 (`provided.al2023`): no binary may need a newer symbol version.
pub const AL2023_GLIBC: (u32, u32) = (2, 34);

/// A Lambda instruction set architecture.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, clap::ValueEnum,
)]
pub enum Arch {
    /// Graviton (aarch64): cheaper per GB-second. The default.
    #[default]
    #[serde(rename = "arm64")]
    #[value(name = "arm64")]
    Arm64,
    /// Intel/AMD 64-bit.
    #[serde(rename = "x86_64")]
    #[value(name = "x86_64")]
    X86_64,
}

impl Arch {
    /// The Rust target triple (without the glibc suffix).
    pub fn rust_target(self) -> &'static str {
        match self {
            Arch::Arm64 => "aarch64-unknown-linux-gnu",
            Arch::X86_64 => "x86_64-unknown-linux-gnu",
        }
    }

    /// The target cargo-zigbuild builds for: the triple with glibc pinned to Amazon Linux 2023's.
    pub fn zig_target(self) -> String {
        format!(
            "{}.{}.{}",
            self.rust_target(),
            AL2023_GLIBC.0,
            AL2023_GLIBC.1
        )
    }

    /// The name in Lambda's `Architectures` field.
    pub fn lambda_name(self) -> &'static str {
        match self {
            Arch::Arm64 => "arm64",
            Arch::X86_64 => "x86_64",
        }
    }

    /// The ELF `e_machine` of executables for this architecture.
    pub fn elf_machine(self) -> u16 {
        match self {
            Arch::Arm64 => object::elf::EM_AARCH64,
            Arch::X86_64 => object::elf::EM_X86_64,
        }
    }
}

impl fmt::Display for Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.lambda_name())
    }
}
