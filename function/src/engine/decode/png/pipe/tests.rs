use super::*;
use crate::engine::pixels::Layout;

/// Samples with smooth gradients (where the predictors matter) and noise (where they wrap around).
fn picture(width: usize, height: usize, channels: usize) -> Vec<u8> {
    let mut seed = 0x2545_f491_u32;
    let mut data = Vec::with_capacity(width * height * channels);
    for y in 0..height {
        for x in 0..width {
            for c in 0..channels {
                seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                let noise = (seed >> 24) as usize % 9;
                data.push(((x * 3 + y * 5 + c * 40 + noise) % 256) as u8);
            }
        }
    }
    data
}

fn colour_type(layout: Layout) -> png::ColorType {
    match layout {
        Layout::Gray => png::ColorType::Grayscale,
        Layout::GrayAlpha => png::ColorType::GrayscaleAlpha,
        Layout::Rgb => png::ColorType::Rgb,
        Layout::Rgba => png::ColorType::Rgba,
    }
}

/// A PNG written by the `png` crate; `idat_size` splits the data into IDAT chunks of that size.
fn encode(
    width: usize,
    height: usize,
    layout: Layout,
    filter: png::Filter,
    idat_size: usize,
) -> Vec<u8> {
    let data = picture(width, height, layout.channels());
    let mut out = Vec::new();
    let mut e = png::Encoder::new(&mut out, width as u32, height as u32);
    e.set_color(colour_type(layout));
    e.set_depth(png::BitDepth::Eight);
    e.set_filter(filter);
    let mut w = e.write_header().unwrap();
    let mut stream = w.stream_writer_with_size(idat_size).unwrap();
    std::io::Write::write_all(&mut stream, &data).unwrap();
    stream.finish().unwrap();
    w.finish().unwrap();
    out
}

/// The `png` crate's decoding of `file`.
fn reference(file: &[u8]) -> Vec<u8> {
    let mut reader = png::Decoder::new(std::io::Cursor::new(file))
        .read_info()
        .unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    buf.truncate(info.buffer_size());
    buf
}

const FILTERS: [png::Filter; 6] = [
    png::Filter::NoFilter,
    png::Filter::Sub,
    png::Filter::Up,
    png::Filter::Avg,
    png::Filter::Paeth,
    png::Filter::Adaptive,
];
const LAYOUTS: [Layout; 4] = [Layout::Gray, Layout::GrayAlpha, Layout::Rgb, Layout::Rgba];

#[test]
fn every_filter_and_layout_decodes_as_the_png_crate_does() {
    for layout in LAYOUTS {
        for filter in FILTERS {
            for (w, h) in [(1, 1), (7, 5), (61, 40)] {
                let file = encode(w, h, layout, filter, 1 << 20);
                let want = reference(&file);
                // One band per row, a few rows per band, and the default.
                for band in [1, 400, BAND_BYTES] {
                    let got = decode_in_bands(&file, usize::MAX, band, &mut |_| false)
                        .unwrap_or_else(|| panic!("{layout:?} {filter:?} {w}x{h} band {band}"));
                    assert_eq!((got.width, got.height), (w as u32, h as u32));
                    assert_eq!(got.layout, layout);
                    assert!(
                        got.data == want,
                        "{layout:?} {filter:?} {w}x{h} band {band}"
                    );
                }
            }
        }
    }
}

#[test]
fn image_data_split_over_many_idat_chunks_is_joined() {
    let file = encode(50, 30, Layout::Rgb, png::Filter::Paeth, 97);
    let chunks = file.windows(4).filter(|w| w == b"IDAT").count();
    assert!(chunks > 10, "{chunks} IDAT chunks");
    let got = decode_in_bands(&file, usize::MAX, 300, &mut |_| false).unwrap();
    assert!(got.data == reference(&file));
}

#[test]
fn matches_reaching_back_across_many_bands_decode() {
    // Noise rows that repeat every 35 rows (31.5 KB back, near deflate's 32 KB window), so that the
    // stream is mostly matches far longer ago than a band: the inflater must carry the window over.
    let (width, height, period) = (300usize, 120usize, 35usize);
    let row = width * 3 + 1;
    let mut seed = 7u32;
    let mut noise = || {
        seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
        (seed >> 24) as u8
    };
    let unique: Vec<Vec<u8>> = (0..period)
        .map(|_| {
            let mut r = vec![0u8]; // filter: none
            r.extend((0..width * 3).map(|_| noise()));
            r
        })
        .collect();
    let raw: Vec<u8> = (0..height)
        .flat_map(|y| unique[y % period].clone())
        .collect();
    let z = miniz_oxide::deflate::compress_to_vec_zlib(&raw, 9);
    assert!(z.len() < raw.len() / 2, "the repeats are coded as matches");
    let file = assemble(&[
        (b"IHDR", ihdr(width as u32, height as u32, 8, 2, 0)),
        (b"IDAT", z),
        (b"IEND", vec![]),
    ]);
    let want: Vec<u8> = raw
        .chunks_exact(row)
        .flat_map(|r| r[1..].to_vec())
        .collect();
    for band in [1, 5000, BAND_BYTES] {
        let got = decode_in_bands(&file, usize::MAX, band, &mut |_| false).unwrap();
        assert!(got.data == want, "band {band}");
    }
}

/// A PNG assembled chunk by chunk, each with its CRC.
fn assemble(chunks: &[(&[u8; 4], Vec<u8>)]) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    for (kind, data) in chunks {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let body = [&kind[..], data].concat();
        out.extend_from_slice(&body);
        out.extend_from_slice(&crc32fast::hash(&body).to_be_bytes());
    }
    out
}

fn ihdr(width: u32, height: u32, depth: u8, colour: u8, interlace: u8) -> Vec<u8> {
    let mut h = width.to_be_bytes().to_vec();
    h.extend_from_slice(&height.to_be_bytes());
    h.extend_from_slice(&[depth, colour, 0, 0, interlace]);
    h
}

/// A 4x2 grey picture whose rows carry the given filter bytes.
fn grey_with_filters(filters: [u8; 2]) -> Vec<u8> {
    let raw: Vec<u8> = filters.iter().flat_map(|&f| [f, 10, 20, 30, 40]).collect();
    let z = miniz_oxide::deflate::compress_to_vec_zlib(&raw, 6);
    assemble(&[
        (b"IHDR", ihdr(4, 2, 8, 0, 0)),
        (b"IDAT", z),
        (b"IEND", vec![]),
    ])
}

#[test]
fn hand_assembled_rows_decode_and_an_unknown_filter_is_refused() {
    let ok = decode_in_bands(
        &grey_with_filters([0, 1]),
        usize::MAX,
        BAND_BYTES,
        &mut |_| false,
    )
    .unwrap();
    // Row 2 is Sub: running sums of 10, 20, 30, 40.
    assert_eq!(ok.data, [10, 20, 30, 40, 10, 30, 60, 100]);
    assert!(decode_in_bands(
        &grey_with_filters([0, 5]),
        usize::MAX,
        BAND_BYTES,
        &mut |_| false
    )
    .is_none());
}

#[test]
fn other_shapes_and_damaged_files_go_to_the_png_crate() {
    let good = encode(20, 10, Layout::Rgb, png::Filter::Paeth, 1 << 20);
    assert!(decode(&good, usize::MAX, &mut |_| false).is_some());
    // Over the byte cap.
    assert!(decode(&good, 20 * 10 * 3 - 1, &mut |_| false).is_none());
    // Truncated inside the image data.
    let idat = good.windows(4).position(|w| w == b"IDAT").unwrap();
    assert!(decode(&good[..idat + 30], usize::MAX, &mut |_| false).is_none());
    // A flipped bit in the image data fails its CRC.
    let mut bad_crc = good.clone();
    bad_crc[idat + 10] ^= 1;
    assert!(decode(&bad_crc, usize::MAX, &mut |_| false).is_none());
    // 16-bit, palette and interlaced headers, and a tRNS chunk before the data.
    let z = miniz_oxide::deflate::compress_to_vec_zlib(&[0u8; 9], 6);
    for header in [
        ihdr(2, 2, 16, 2, 0),
        ihdr(2, 2, 8, 3, 0),
        ihdr(2, 2, 8, 2, 1),
    ] {
        let file = assemble(&[(b"IHDR", header), (b"IDAT", z.clone()), (b"IEND", vec![])]);
        assert!(decode(&file, usize::MAX, &mut |_| false).is_none());
    }
    let raw = [[0u8, 1, 2, 3, 4, 5, 6]; 2].concat();
    let z = miniz_oxide::deflate::compress_to_vec_zlib(&raw, 6);
    let plain = [
        (b"IHDR", ihdr(2, 2, 8, 2, 0)),
        (b"IDAT", z.clone()),
        (b"IEND", vec![]),
    ];
    assert!(decode(&assemble(&plain), usize::MAX, &mut |_| false).is_some());
    let trns = [
        (b"IHDR", ihdr(2, 2, 8, 2, 0)),
        (b"tRNS", vec![0, 1, 0, 2, 0, 3]),
        (b"IDAT", z),
        (b"IEND", vec![]),
    ];
    assert!(decode(&assemble(&trns), usize::MAX, &mut |_| false).is_none());
}

/// A picture of `height` rows of noise in one IDAT chunk (split in `pieces` chunks), whose zlib
/// stream's Adler-32 is wrong when `bad_adler`; every chunk's CRC is right.
fn noise_with_adler(height: usize, pieces: usize, bad_adler: bool) -> (Vec<u8>, Vec<u8>) {
    let width = 300;
    let mut seed = 7u32;
    let raw: Vec<u8> = (0..height)
        .flat_map(|_| {
            let mut r = vec![0u8];
            r.extend((0..width * 3).map(|_| {
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
                (seed >> 16) as u8
            }));
            r
        })
        .collect();
    let mut z = miniz_oxide::deflate::compress_to_vec_zlib(&raw, 6);
    if bad_adler {
        let n = z.len();
        z[n - 1] ^= 0x40;
    }
    let piece = z.len().div_ceil(pieces);
    let mut chunks = vec![(b"IHDR", ihdr(width as u32, height as u32, 8, 2, 0))];
    chunks.extend(z.chunks(piece).map(|c| (b"IDAT", c.to_vec())));
    chunks.push((b"IEND", vec![]));
    let want = raw
        .chunks_exact(width * 3 + 1)
        .flat_map(|r| r[1..].to_vec())
        .collect();
    (assemble(&chunks), want)
}

#[test]
fn the_zlib_streams_adler32_is_checked_in_every_band_and_chunk_layout() {
    for (height, pieces, band) in [
        (4, 1, BAND_BYTES),
        (400, 1, 5000),
        (400, 7, 5000),
        (400, 7, 1),
    ] {
        let (good, want) = noise_with_adler(height, pieces, false);
        let got = decode_in_bands(&good, usize::MAX, band, &mut |_| false)
            .unwrap_or_else(|| panic!("{height} rows, {pieces} chunks, band {band}: refused"));
        assert!(got.data == want);
        let (bad, _) = noise_with_adler(height, pieces, true);
        assert!(
            decode_in_bands(&bad, usize::MAX, band, &mut |_| false).is_none(),
            "{height} rows, {pieces} chunks, band {band}: a wrong Adler-32 was decoded"
        );
        // The `png` crate, which takes what the pipeline declines, refuses it too.
        let e = crate::engine::decode::png::library::decode(&bad, usize::MAX).err();
        assert!(
            e.as_ref()
                .is_some_and(|e| e.kind() == "corrupt" && e.to_string().contains("dler")),
            "png crate: {e:?}"
        );
    }
}

#[test]
fn both_forms_of_the_paeth_predictor_agree_everywhere() {
    // The x86-64 build runs one form, the ARM build (the Lambda) the other.
    for a in 0..256 {
        for b in 0..256 {
            for c in 0..256 {
                assert_eq!(
                    paeth::portable::paeth_stb(a, b, c),
                    paeth::portable::paeth_spec(a, b, c),
                    "{a} {b} {c}"
                );
            }
        }
    }
}

#[test]
fn image_data_must_be_ended_by_an_intact_chunk_as_the_png_crate_requires() {
    let file = encode(9, 7, Layout::Rgb, png::Filter::Sub, 64);
    assert!(chunks::shape(&file).is_some());
    let iend = file.len() - 12;
    let png_crate_refuses = |f: &[u8]| {
        let mut reader = png::Decoder::new(std::io::Cursor::new(f))
            .read_info()
            .unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        reader.next_frame(&mut buf).is_err()
    };
    // The file ends after the image data; or in an empty IDAT without its CRC (found by
    // fuzz/fuzz_targets/png_decoders.rs); or in half of IEND's header.
    let no_end = file[..iend].to_vec();
    let empty_idat = [&file[..iend], &[0, 0, 0, 0][..], b"IDAT"].concat();
    let half_iend = file[..iend + 6].to_vec();
    for (name, f) in [
        ("no end", no_end),
        ("empty IDAT", empty_idat),
        ("half IEND", half_iend),
    ] {
        assert!(png_crate_refuses(&f), "{name}: the png crate takes it");
        assert!(chunks::shape(&f).is_none(), "{name}: the pipeline takes it");
    }
}
