//! The parallel decoders (baseline and progressive) against libjpeg-turbo's scaled decode and against
//! each other, on JPEGs made here and on the corpus photos.
use super::put::{self, Kernel};
use super::*;

/// A photo-like picture: smooth gradients, edges and deterministic grain, so every block has AC data.
fn picture(w: usize, h: usize) -> Vec<u8> {
    let mut seed = 0x2545_f491_u32;
    let mut px = Vec::with_capacity(w * h * 3);
    for y in 0..h {
        for x in 0..w {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            let grain = (seed % 48) as i32 - 24;
            let edge = if (x / 37 + y / 23) % 2 == 0 { 60 } else { 0 };
            for (c, base) in [(x * 255 / w) as i32, (y * 255 / h) as i32, 128]
                .iter()
                .enumerate()
            {
                px.push((base + edge * (c as i32 % 2) + grain).clamp(0, 255) as u8);
            }
        }
    }
    px
}

/// A JPEG of `picture(w, h)` with chroma sampled every `sampling` pixels (e.g. (2, 2) is 4:2:0).
pub(super) fn jpeg(w: usize, h: usize, sampling: (u8, u8), progressive: bool) -> Vec<u8> {
    let mut c = mozjpeg::Compress::new(mozjpeg::ColorSpace::JCS_RGB);
    c.set_fastest_defaults();
    c.set_size(w, h);
    c.set_quality(92.0);
    c.set_chroma_sampling_pixel_sizes(sampling, sampling);
    if progressive {
        c.set_progressive_mode();
    }
    let mut started = c.start_compress(Vec::new()).unwrap();
    started.write_scanlines(&picture(w, h)).unwrap();
    started.finish().unwrap()
}

/// libjpeg-turbo's decode of `input` at `n`/8.
fn libjpeg(input: &[u8], n: u8) -> (usize, usize, Vec<u8>) {
    let mut d = mozjpeg::Decompress::new_mem(input).unwrap();
    d.scale(n);
    let mut started = d.rgb().unwrap();
    let (w, h) = (started.width(), started.height());
    let data: Vec<u8> = started.read_scanlines().unwrap();
    (w, h, data)
}

fn baseline(input: &[u8]) -> Option<Baseline<'_>> {
    match parse::parse(input)? {
        Jpeg::Baseline(b) => Some(b),
        Jpeg::Progressive(_) => None,
    }
}

fn mine(input: &[u8], n: usize, pieces: usize) -> Option<(Rgb, usize)> {
    decode_in(&baseline(input)?, n, pieces)
}

#[test]
fn matches_libjpeg_at_every_scale_and_sampling() {
    for sampling in [(1, 1), (2, 1), (2, 2)] {
        let input = jpeg(301, 203, sampling, false);
        for n in [1u8, 2, 4] {
            let (rgb, _) = mine(&input, n as usize, 1).expect("a baseline JPEG decodes");
            let (w, h, reference) = libjpeg(&input, n);
            assert_eq!(
                (rgb.width as usize, rgb.height as usize),
                (w, h),
                "{sampling:?} n {n}"
            );
            let (luma, chroma) = (
                mean_difference(&rgb.data, &reference, luma),
                mean_difference(&rgb.data, &reference, chroma),
            );
            // Two different shrinks (libjpeg-turbo averages the full IDCT; this keeps the low
            // frequencies), on a grainy picture: close, not equal.
            assert!(
                luma < 3.0,
                "{sampling:?} n {n}: mean luma difference {luma:.2}"
            );
            // Subsampled chroma stays at the file's ratio to luma here, where libjpeg-turbo shrinks it
            // less: coarser (this picture's chroma edges every few output pixels are the worst case,
            // 5.8 at 4:2:0 and 1/8), but the same colours.
            assert!(
                chroma < 6.0,
                "{sampling:?} n {n}: mean chroma difference {chroma:.2}"
            );
        }
    }
}

/// JFIF luma of an RGB pixel.
fn luma(p: &[u8]) -> f64 {
    0.299 * p[0] as f64 + 0.587 * p[1] as f64 + 0.114 * p[2] as f64
}

/// JFIF blue- and red-difference of an RGB pixel, summed in magnitude.
fn chroma(p: &[u8]) -> f64 {
    let y = luma(p);
    (0.564 * (p[2] as f64 - y)).abs() + (0.713 * (p[0] as f64 - y)).abs()
}

/// Mean absolute difference of `channel` between two RGB pictures.
fn mean_difference(a: &[u8], b: &[u8], channel: fn(&[u8]) -> f64) -> f64 {
    let sum: f64 = a
        .chunks_exact(3)
        .zip(b.chunks_exact(3))
        .map(|(a, b)| (channel(a) - channel(b)).abs())
        .sum();
    sum / (a.len() / 3) as f64
}

#[test]
fn speculative_pieces_decode_exactly_what_one_decoder_does() {
    for sampling in [(2, 2), (2, 1)] {
        let input = jpeg(640, 480, sampling, false);
        for n in [2, 4] {
            let (one, none_guessed) = mine(&input, n, 1).unwrap();
            assert_eq!(none_guessed, 0);
            let (four, guessed) = mine(&input, n, 4).unwrap();
            let mcus = baseline(&input).map(|j| j.frame.mcus()).unwrap();
            // The speculative decoders found the true stream: most MCUs came from them.
            assert!(
                guessed * 2 > mcus.0 * mcus.1,
                "{sampling:?}: {guessed} guessed MCUs"
            );
            assert!(
                one.data == four.data,
                "{sampling:?} n {n}: pieces changed pixels"
            );
        }
    }
}

#[test]
fn truncated_or_damaged_data_is_left_to_libjpeg() {
    let input = jpeg(640, 480, (2, 2), false);
    let truncated = &input[..input.len() / 2];
    assert!(mine(truncated, 2, 1).is_none());
    assert!(mine(truncated, 2, 3).is_none());
    // Damage in the middle of the data: whatever it decodes to (libjpeg-turbo would warn and go on),
    // the pieces must not change it.
    let mut damaged = input.clone();
    for b in &mut damaged[input.len() / 2..input.len() / 2 + 64] {
        *b = b.wrapping_mul(31).wrapping_add(7) & 0xFE;
    }
    let one = mine(&damaged, 2, 1).map(|r| r.0.data);
    let three = mine(&damaged, 2, 3).map(|r| r.0.data);
    assert!(one == three);
}

#[test]
fn other_shapes_are_left_to_libjpeg() {
    let mut c = mozjpeg::Compress::new(mozjpeg::ColorSpace::JCS_GRAYSCALE);
    c.set_fastest_defaults();
    c.set_size(16, 16);
    let mut started = c.start_compress(Vec::new()).unwrap();
    started.write_scanlines(&[128u8; 256]).unwrap();
    assert!(
        parse::parse(&started.finish().unwrap()).is_none(),
        "grayscale"
    );
    assert!(
        decode(&jpeg(64, 48, (2, 2), false), 3).is_none(),
        "3/8 is not a planned shrink"
    );
}

/// The shared corpus, which CI has beside the project; `None` (and a note) where it is missing, a
/// failure where it is missing and `CI` is set.
fn corpus() -> Option<std::path::PathBuf> {
    let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus");
    if !corpus.exists() {
        assert!(
            std::env::var_os("CI").is_none(),
            "{} not found, and CI is set: the shared corpus must be beside the project",
            corpus.display()
        );
        eprintln!("SKIPPED: {} not found (it exists in CI)", corpus.display());
        return None;
    }
    Some(corpus)
}

#[test]
fn baseline_corpus_photos_take_the_parallel_path_and_pieces_agree() {
    let Some(corpus) = corpus() else { return };
    // Each has millions of stuffed-byte refills: the bit reader's slow path (a 0xFF in the next eight
    // bytes) and its fast path follow each other at every bit count.
    for name in [
        "sharp_bench_2569067123_aca715a2ee_o.jpg",
        "photo_kleiber_6028x3391.jpg",
    ] {
        let input = std::fs::read(corpus.join(name)).unwrap();
        let jpeg = baseline(&input).expect("a baseline JPEG of the supported shape");
        let (one, _) = decode_in(&jpeg, 1, 1).unwrap_or_else(|| panic!("{name}: refused"));
        let (two, guessed) = decode_in(&jpeg, 1, 2).unwrap_or_else(|| panic!("{name}: refused"));
        assert!(guessed > 0, "{name}: the second piece was not used");
        assert!(one.data == two.data, "{name}: 2 pieces differ from 1");
    }
}

/// Our progressive decode of `input` at `n`/8 on `threads` threads.
fn progressive(input: &[u8], n: usize, threads: usize) -> Option<Rgb> {
    match parse::parse(input)? {
        Jpeg::Progressive(p) => progressive::decode(&p, n, threads),
        Jpeg::Baseline(_) => panic!("not progressive"),
    }
}

#[test]
fn progressive_files_decode_to_exactly_what_their_baseline_twin_does() {
    // The same picture, quality and tables: the quantised coefficients are the same, sent whole in
    // one scan or in ten with successive approximation, so the pixels must be too.
    for sampling in [(1, 1), (2, 1), (2, 2)] {
        let (base, prog) = (
            jpeg(301, 203, sampling, false),
            jpeg(301, 203, sampling, true),
        );
        assert!(matches!(parse::parse(&prog), Some(Jpeg::Progressive(_))));
        for n in [1, 2, 4] {
            let want = mine(&base, n, 1).unwrap().0;
            let got = progressive(&prog, n, 1).expect("a progressive JPEG decodes");
            assert_eq!((got.width, got.height), (want.width, want.height));
            assert!(got.data == want.data, "{sampling:?} n {n}: pixels differ");
        }
    }
}

#[test]
fn progressive_scans_on_several_threads_decode_what_one_does() {
    for sampling in [(2, 2), (2, 1)] {
        let input = jpeg(640, 480, sampling, true);
        for n in [2, 4] {
            let one = progressive(&input, n, 1).unwrap();
            for threads in [2, 3, 8] {
                let many = progressive(&input, n, threads).unwrap();
                assert!(
                    one.data == many.data,
                    "{sampling:?} n {n} {threads} threads"
                );
            }
            // And libjpeg-turbo agrees (within the two shrinks' difference, as above).
            let (_, _, reference) = libjpeg(&input, n as u8);
            let luma = mean_difference(&one.data, &reference, luma);
            assert!(
                luma < 3.0,
                "{sampling:?} n {n}: mean luma difference {luma:.2}"
            );
        }
    }
}

#[test]
fn truncated_or_damaged_progressive_data_is_left_to_libjpeg() {
    let input = jpeg(640, 480, (2, 2), true);
    for cut in [input.len() / 3, input.len() / 2, input.len() - 10] {
        for threads in [1, 2] {
            assert!(
                progressive(&input[..cut], 2, threads).is_none(),
                "cut at {cut}"
            );
        }
    }
    let mut damaged = input.clone();
    for b in &mut damaged[input.len() / 2..input.len() / 2 + 64] {
        *b = b.wrapping_mul(31).wrapping_add(7) & 0xFE;
    }
    let one = progressive(&damaged, 2, 1).map(|r| r.data);
    let two = progressive(&damaged, 2, 2).map(|r| r.data);
    assert!(one == two);
}

#[test]
fn progressive_corpus_photos_take_the_parallel_path_and_agree_with_libjpeg() {
    let Some(corpus) = corpus() else { return };
    for name in [
        "photo_dragonfly_4224x3168.jpg",
        "photo_seeding_5312x2988.jpg",
    ] {
        let input = std::fs::read(corpus.join(name)).unwrap();
        let one = progressive(&input, 1, 1).unwrap_or_else(|| panic!("{name}: refused"));
        let two = progressive(&input, 1, 2).unwrap_or_else(|| panic!("{name}: refused"));
        assert!(one.data == two.data, "{name}: 2 threads differ from 1");
        let (_, _, reference) = libjpeg(&input, 1);
        let luma = mean_difference(&one.data, &reference, luma);
        assert!(luma < 2.0, "{name}: mean luma difference {luma:.2}");
    }
}

#[test]
fn damaged_progressive_files_never_panic_and_threads_agree() {
    // Bytes changed at random in the scans' data and headers: whatever each decodes to (or refuses), it
    // must not panic (debug builds also check arithmetic overflow), and the threads must not change it.
    let input = jpeg(96, 64, (2, 1), true);
    let mut seed = 0x9e37_79b9_u32;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        seed as usize
    };
    for _ in 0..400 {
        let mut damaged = input.clone();
        for _ in 0..1 + next() % 4 {
            let at = 2 + next() % (input.len() - 2);
            damaged[at] = next() as u8;
        }
        for n in [1, 4] {
            let one = progressive_or_none(&damaged, n, 1);
            let three = progressive_or_none(&damaged, n, 3);
            assert!(one == three, "n {n}: threads changed the result");
        }
    }
}

/// Like `progressive`, for inputs that may not even parse as progressive.
fn progressive_or_none(input: &[u8], n: usize, threads: usize) -> Option<Vec<u8>> {
    match parse::parse(input)? {
        Jpeg::Progressive(p) => progressive::decode(&p, n, threads).map(|r| r.data),
        Jpeg::Baseline(_) => None,
    }
}

#[test]
fn every_compilation_of_put_gives_the_same_pixels() {
    // On a CPU with AVX2, `put` must run the AVX2 compilation, and on arm64 the NEON one, or this
    // test would compare the portable one with itself.
    let detected = Kernel::detect();
    #[cfg(target_arch = "x86_64")]
    assert_eq!(
        detected == Kernel::Avx2,
        std::arch::is_x86_feature_detected!("avx2"),
        "Kernel::detect() = {detected:?}"
    );
    #[cfg(target_arch = "aarch64")]
    assert_eq!(detected, Kernel::Neon);
    let mut kernels = vec![Kernel::Portable];
    if detected != Kernel::Portable {
        kernels.push(detected);
    }
    // Coefficients anywhere in i16's range (every bit pattern the entropy decoder can produce),
    // so that the IDCT's overflow, clamping and rounding are exercised, not just the in-range
    // arithmetic a real file mostly needs; and DC offsets that wrap.
    let mut compared = 0;
    for sampling in [(1, 1), (2, 1), (2, 2)] {
        let input = jpeg(64, 48, sampling, false);
        let jpeg = baseline(&input).unwrap();
        for n in [1, 2, 4] {
            let plan = plan::Plan::new(&jpeg, n).unwrap();
            for range in [401u32, 4096, 65536] {
                let mut seed = 0x9e37_79b9_u32;
                let coefs: Vec<i16> = (0..plan.mcus_x * plan.record)
                    .map(|_| {
                        seed ^= seed << 13;
                        seed ^= seed >> 17;
                        seed ^= seed << 5;
                        ((seed % range) as i32 - (range / 2) as i32) as i16
                    })
                    .collect();
                let offsets = [3, -2, i16::MAX as i32];
                let record = |mx: usize| (&coefs[mx * plan.record..], offsets);
                let width = plan.mcus_x * plan.mcu_w - 3; // the last MCU is cut
                let rows: Vec<Vec<u8>> = kernels
                    .iter()
                    .map(|&k| {
                        let mut rows = vec![k as u8; width * 3 * plan.mcu_h];
                        put::put_with(&plan, k, 0..plan.mcus_x, record, &mut rows, width);
                        rows
                    })
                    .collect();
                let mut dispatched = vec![7u8; width * 3 * plan.mcu_h];
                put::put(&plan, 0..plan.mcus_x, record, &mut dispatched, width);
                for (k, r) in kernels.iter().zip(&rows) {
                    assert!(
                        *r == rows[0],
                        "{k:?} differs from portable: {sampling:?} at {n}/8, range {range}"
                    );
                }
                assert!(dispatched == rows[0], "put: {sampling:?} at {n}/8");
                compared += kernels.len() - 1;
            }
        }
    }
    eprintln!("kernels {kernels:?}: {compared} comparisons with the portable one");
}
