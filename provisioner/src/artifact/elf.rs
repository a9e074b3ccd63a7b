//! Reads the bootstrap's ELF headers and refuses what would not start on `provided.al2023`: the wrong
//! machine, a glibc symbol version newer than 2.34, a library Amazon Linux 2023 does not ship, or a
//! file that is not an executable at all.
use super::{Arch, ArtifactError, AL2023_GLIBC, MAX_UNZIPPED_BYTES};
use object::elf::{self, FileHeader64};
use object::read::elf::{Dyn, FileHeader, ProgramHeader};
use object::{Endianness, FileKind};
use serde::Serialize;

/// The shared libraries every Amazon Linux 2023 image has (glibc and libgcc). Anything else must be
/// linked statically.
const AL2023_LIBRARIES: &[&str] = &[
    "libc.so.6",
    "libm.so.6",
    "libdl.so.2",
    "libpthread.so.0",
    "librt.so.1",
    "libutil.so.1",
    "libresolv.so.2",
    "libgcc_s.so.1",
    "ld-linux-aarch64.so.1",
    "ld-linux-x86-64.so.2",
];

/// What the check found, for the build summary and `--json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ElfReport {
    pub machine: &'static str,
    /// `executable`, `pie executable` or `static executable`.
    pub kind: &'static str,
    pub interpreter: Option<String>,
    pub needed: Vec<String>,
    /// The newest `GLIBC_x.y` version the binary needs, if it needs glibc at all.
    pub max_glibc: Option<String>,
    pub size: u64,
}

/// Checks that `bytes` is an executable for `arch` that Amazon Linux 2023 can load.
pub fn check_elf(bytes: &[u8], arch: Arch) -> Result<ElfReport, ArtifactError> {
    if bytes.len() as u64 > MAX_UNZIPPED_BYTES {
        return Err(ArtifactError::TooLarge {
            what: "the bootstrap",
            size: bytes.len() as u64,
            limit: MAX_UNZIPPED_BYTES,
            limit_name: "an unzipped package",
        });
    }
    match FileKind::parse(bytes) {
        Ok(FileKind::Elf64) => {}
        Ok(FileKind::Elf32) => {
            return Err(ArtifactError::WrongMachine {
                expected: arch,
                found: "32-bit".into(),
            });
        }
        _ if bytes.starts_with(b"\x7fELF") => return Err(malformed("the header is incomplete")),
        _ => {
            return Err(ArtifactError::NotElf {
                magic: magic_of(bytes),
            })
        }
    }
    let header = FileHeader64::<Endianness>::parse(bytes).map_err(malformed)?;
    let endian = header.endian().map_err(malformed)?;
    let machine = header.e_machine(endian);
    if machine != arch.elf_machine() {
        return Err(ArtifactError::WrongMachine {
            expected: arch,
            found: machine_name(machine).into(),
        });
    }

    let mut interpreter = None;
    for segment in header.program_headers(endian, bytes).map_err(malformed)? {
        if let Some(path) = segment.interpreter(endian, bytes).map_err(malformed)? {
            interpreter = Some(String::from_utf8_lossy(path).into_owned());
        }
    }
    let sections = header.sections(endian, bytes).map_err(malformed)?;
    if sections.is_empty() && interpreter.is_some() {
        return Err(malformed(
            "a dynamically linked binary without section headers cannot be checked",
        ));
    }

    let mut needed = Vec::new();
    let mut flags_1 = 0;
    if let Some((entries, strings_index)) = sections.dynamic(endian, bytes).map_err(malformed)? {
        let strings = sections
            .strings(endian, bytes, strings_index)
            .map_err(malformed)?;
        for entry in entries {
            match entry.tag32(endian) {
                Some(elf::DT_NEEDED) => {
                    let name = entry.string(endian, strings).map_err(malformed)?;
                    needed.push(String::from_utf8_lossy(name).into_owned());
                }
                Some(elf::DT_FLAGS_1) => flags_1 = entry.val32(endian).unwrap_or(0),
                _ => {}
            }
        }
    }

    let kind = match header.e_type(endian) {
        elf::ET_EXEC if interpreter.is_some() => "executable",
        elf::ET_EXEC => "static executable",
        elf::ET_DYN if interpreter.is_some() => "pie executable",
        elf::ET_DYN if flags_1 & elf::DF_1_PIE != 0 => "static pie executable",
        elf::ET_DYN => {
            return Err(ArtifactError::NotExecutable {
                kind: "a shared library",
            })
        }
        elf::ET_REL => {
            return Err(ArtifactError::NotExecutable {
                kind: "a relocatable object file (.o)",
            })
        }
        elf::ET_CORE => {
            return Err(ArtifactError::NotExecutable {
                kind: "a core dump",
            })
        }
        _ => {
            return Err(ArtifactError::NotExecutable {
                kind: "an ELF file of unknown type",
            })
        }
    };

    if let Some(library) = needed
        .iter()
        .find(|name| !AL2023_LIBRARIES.contains(&name.as_str()))
    {
        return Err(ArtifactError::UnsupportedLibrary {
            library: library.clone(),
        });
    }

    let max_glibc = newest_glibc(endian, bytes, &sections)?;
    Ok(ElfReport {
        machine: machine_name(machine),
        kind,
        interpreter,
        needed,
        max_glibc: max_glibc.map(|(major, minor)| format!("GLIBC_{major}.{minor}")),
        size: bytes.len() as u64,
    })
}

type Sections<'a> = object::read::elf::SectionTable<'a, FileHeader64<Endianness>, &'a [u8]>;

/// The newest `GLIBC_x.y` in `.gnu.version_r`; refuses anything newer than Amazon Linux 2023's.
fn newest_glibc(
    endian: Endianness,
    bytes: &[u8],
    sections: &Sections<'_>,
) -> Result<Option<(u32, u32)>, ArtifactError> {
    let Some((mut needs, strings_index)) =
        sections.gnu_verneed(endian, bytes).map_err(malformed)?
    else {
        return Ok(None);
    };
    let strings = sections
        .strings(endian, bytes, strings_index)
        .map_err(malformed)?;
    let mut newest = None;
    while let Some((need, mut versions)) = needs.next().map_err(malformed)? {
        let library = strings
            .get(need.vn_file.get(endian))
            .map_err(|()| bad_string())?;
        while let Some(version) = versions.next().map_err(malformed)? {
            let name = strings
                .get(version.vna_name.get(endian))
                .map_err(|()| bad_string())?;
            let name = String::from_utf8_lossy(name);
            let Some(required) = glibc_version_needed(&name) else {
                continue;
            };
            if required > AL2023_GLIBC {
                return Err(ArtifactError::GlibcTooNew {
                    version: name.into_owned(),
                    library: String::from_utf8_lossy(library).into_owned(),
                });
            }
            newest = newest.max(Some(required));
        }
    }
    Ok(newest)
}

/// The glibc release that introduced a version name: `GLIBC_2.35` -> 2.35. `GLIBC_ABI_DT_RELR`
/// (packed relocations, emitted by newer linkers) came with glibc 2.36.
fn glibc_version_needed(name: &str) -> Option<(u32, u32)> {
    if name == "GLIBC_ABI_DT_RELR" {
        return Some((2, 36));
    }
    let (major, rest) = name.strip_prefix("GLIBC_")?.split_once('.')?;
    let minor = rest.split('.').next()?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

fn machine_name(machine: u16) -> &'static str {
    match machine {
        elf::EM_AARCH64 => "arm64 (aarch64)",
        elf::EM_X86_64 => "x86_64",
        elf::EM_386 => "x86 (32-bit)",
        elf::EM_ARM => "arm (32-bit)",
        elf::EM_RISCV => "riscv",
        elf::EM_PPC64 => "ppc64",
        elf::EM_S390 => "s390x",
        _ => "foreign-architecture",
    }
}

/// The first bytes, printable, so that "it starts with \"PK\\u{3}\\u{4}\"" tells a zip from a script.
fn magic_of(bytes: &[u8]) -> String {
    String::from_utf8_lossy(&bytes[..bytes.len().min(4)]).into_owned()
}

fn bad_string() -> ArtifactError {
    malformed("a version name points outside the string table")
}

fn malformed(error: impl std::fmt::Display) -> ArtifactError {
    ArtifactError::Malformed(error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glibc_version_names_parse() {
        assert_eq!(glibc_version_needed("GLIBC_2.34"), Some((2, 34)));
        assert_eq!(glibc_version_needed("GLIBC_2.2.5"), Some((2, 2)));
        assert_eq!(glibc_version_needed("GLIBC_ABI_DT_RELR"), Some((2, 36)));
        assert_eq!(glibc_version_needed("GLIBC_PRIVATE"), None);
        assert_eq!(glibc_version_needed("GCC_3.0"), None);
        assert!(glibc_version_needed("GLIBC_2.35").unwrap() > AL2023_GLIBC);
        assert!(glibc_version_needed("GLIBC_2.17").unwrap() <= AL2023_GLIBC);
    }

    #[test]
    fn text_is_not_elf() {
        let err = check_elf(b"#!/bin/sh\necho hi\n", Arch::Arm64).unwrap_err();
        assert!(matches!(err, ArtifactError::NotElf { .. }), "{err}");
        assert!(err.to_string().contains("not an ELF executable"), "{err}");
        assert!(err.to_string().contains("#!/b"), "{err}");
    }

    #[test]
    fn truncated_elf_is_malformed() {
        let err = check_elf(b"\x7fELF\x02\x01\x01\0", Arch::X86_64).unwrap_err();
        assert!(matches!(err, ArtifactError::Malformed(_)), "{err}");
    }
}
