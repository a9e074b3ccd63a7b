//! How commands talk to people and scripts, in one place. Each command returns a typed result that is
//! `Serialize` (printed as one JSON document on stdout with `--json`) and `Display` (printed for
//! people); [`emit`] picks. Sizes for people are written by [`size`], in one unit system.
use serde::Serialize;
use std::fmt::Display;

/// Prints a command's result: pretty JSON with `--json` (the only thing on stdout then), else its
/// human form.
pub fn emit<R: Serialize + Display>(json: bool, result: &R) {
    if json {
        println!("{}", serde_json::to_string_pretty(result).expect("json"));
    } else {
        print!("{result}");
    }
}

/// `999 B`, `2.0 KiB`, `9.1 MiB`: binary units, the ones Lambda's limits are set in (its 250 MB
/// unzipped limit is 262,144,000 bytes: 250 MiB).
pub fn size(bytes: u64) -> String {
    const KIB: f64 = 1024.0;
    match bytes {
        b if b < 1024 => format!("{b} B"),
        b if b < 1024 * 1024 => format!("{:.1} KiB", b as f64 / KIB),
        b if b < 1024 * 1024 * 1024 => format!("{:.1} MiB", b as f64 / (KIB * KIB)),
        b => format!("{:.2} GiB", b as f64 / (KIB * KIB * KIB)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_like_a_person_wrote_them() {
        assert_eq!(size(999), "999 B");
        assert_eq!(size(2048), "2.0 KiB");
        assert_eq!(size(3 * 1024 * 1024), "3.0 MiB");
        assert_eq!(size(262_144_000), "250.0 MiB");
        assert_eq!(size(5 << 30), "5.00 GiB");
    }
}
