//! The encoder's front: RGB to YCbCr, 4:2:0 downsampling, edge padding, the forward DCT and
//! quantisation, each as libjpeg-turbo does it (jccolor.c, jcsample.c, jcprepct.c, jfdctint.c,
//! jcdctmgr.c), so that the scans coded from these coefficients are libjpeg-turbo's byte for byte.
//! Bands of 8 or 16 rows are independent, so they are transformed on every core.
use super::dct::Quantiser;
use super::jsimd::{jsimd_can_rgb_ycc, jsimd_rgb_ycc_convert};
use mozjpeg_sys as ffi;
use rayon::prelude::*;
use std::os::raw::c_int;
use std::sync::OnceLock;

/// One component's quantised coefficients: `blocks_x` x `blocks_y` blocks in raster order, each in
/// zigzag order (the order scans take them in, so that a scan's band is contiguous).
pub struct Component {
    /// Sampling factors (2 for luma and 1 for chroma in 4:2:0; 1 for gray).
    pub h: usize,
    pub v: usize,
    pub blocks_x: usize,
    pub blocks_y: usize,
    /// Quantisation table and Huffman table slot (0 luma, 1 chroma).
    pub table: usize,
    pub blocks: Vec<[i16; 64]>,
}

/// The components of a `width` x `height` picture, their coefficients not yet computed.
pub fn layout(width: usize, height: usize, rgb: bool) -> Vec<Component> {
    let blocks = |n: usize, f: usize| n.div_ceil(f).div_ceil(8);
    let component = |f: usize, table: usize| Component {
        h: if rgb && table == 0 { 2 } else { 1 },
        v: if rgb && table == 0 { 2 } else { 1 },
        blocks_x: blocks(width, f),
        blocks_y: blocks(height, f),
        table,
        blocks: vec![[0; 64]; blocks(width, f) * blocks(height, f)],
    };
    if rgb {
        vec![component(1, 0), component(2, 1), component(2, 1)]
    } else {
        vec![component(1, 0)]
    }
}

/// Fills the components' coefficients from `data` (RGB or gray rows).
pub fn transform(
    data: &[u8],
    width: usize,
    height: usize,
    tables: &[[u16; 64]; 2],
    comps: &mut [Component],
) {
    let quantisers = tables.map(|t| Quantiser::new(&t));
    let band = 8 * comps[0].v; // pixel rows per band: one row of MCUs
    let per_band: Vec<usize> = comps.iter().map(|c| c.blocks_x * c.v).collect();
    let shapes: Vec<(usize, usize)> = comps.iter().map(|c| (c.blocks_x, c.table)).collect();
    let mut chunks: Vec<_> = comps
        .iter_mut()
        .zip(&per_band)
        .map(|(c, &n)| c.blocks.chunks_mut(n).collect::<Vec<_>>())
        .collect();
    let mut bands: Vec<(usize, Vec<&mut [[i16; 64]]>)> = Vec::new();
    for b in 0..height.div_ceil(band) {
        bands.push((
            b,
            chunks
                .iter_mut()
                .map(|c| std::mem::take(&mut c[b]))
                .collect(),
        ));
    }
    let rgb = per_band.len() == 3;
    bands.into_par_iter().for_each(|(b, mut out)| {
        let rows = Band::new(data, width, height, rgb, b * band, band);
        for (ci, blocks) in out.iter_mut().enumerate() {
            let (across, table) = shapes[ci];
            for (i, block) in blocks.iter_mut().enumerate() {
                quantisers[table].block(rows.block(ci, i % across, i / across), block);
            }
        }
    });
}

/// One band's samples of every component, padded as libjpeg pads: the last column and row repeat.
struct Band {
    /// Per component: rows of samples, each `stride` long.
    planes: Vec<Vec<u8>>,
    strides: Vec<usize>,
}

impl Band {
    fn new(data: &[u8], width: usize, height: usize, rgb: bool, top: usize, rows: usize) -> Band {
        // The picture's rows of this band; rows past its bottom repeat the last one.
        let source = |y: usize, bytes: usize| {
            &data[(top + y).min(height - 1) * width * bytes..][..width * bytes]
        };
        let luma_w = width.div_ceil(8) * 8;
        if !rgb {
            let mut plane = vec![0u8; luma_w * rows];
            for (y, dst) in plane.chunks_exact_mut(luma_w).enumerate() {
                let src = source(y, 1);
                dst[..width].copy_from_slice(src);
                dst[width..].fill(src[width - 1]);
            }
            return Band {
                planes: vec![plane],
                strides: vec![luma_w],
            };
        }
        // Chroma blocks span 16 full-resolution columns; luma is padded to its own blocks.
        let chroma_w = width.div_ceil(2).div_ceil(8) * 8;
        let full_w = (chroma_w * 2).max(luma_w);
        // libjpeg-turbo's SIMD conversion stores whole vectors past the width, as into its own rows.
        let stride = full_w.next_multiple_of(64);
        let mut ycc: [Vec<u8>; 3] = std::array::from_fn(|_| vec![0u8; stride * rows]);
        let sources: Vec<&[u8]> = (0..rows).map(|y| source(y, 3)).collect();
        to_ycc(&sources, width, &mut ycc, stride);
        for plane in &mut ycc {
            for row in plane.chunks_exact_mut(stride) {
                let last = row[width - 1];
                row[width..full_w].fill(last);
            }
        }
        // Chroma rows past the picture's last (half-height) row repeat it.
        let last = (height.div_ceil(2) - 1).saturating_sub(top / 2);
        let [luma, cb, cr] = ycc;
        let chroma = [cb, cr].map(|plane| downsample(&plane, stride, chroma_w, rows / 2, last));
        let [cb, cr] = chroma;
        Band {
            planes: vec![luma, cb, cr],
            strides: vec![stride, chroma_w, chroma_w],
        }
    }

    /// The 8x8 samples of block (`bx`, `by`) of component `c` in this band.
    fn block(&self, c: usize, bx: usize, by: usize) -> [[u8; 8]; 8] {
        let stride = self.strides[c];
        std::array::from_fn(|y| {
            let at = (by * 8 + y) * stride + bx * 8;
            self.planes[c][at..at + 8].try_into().unwrap()
        })
    }
}

/// jcsample.c's 2x2 box average (`h2v2_downsample`: rounding bias 1, 2, 1, 2, ... across a row) of
/// `plane` (rows of `stride`) into `rows` rows of `width`; output rows past `last` repeat it.
fn downsample(plane: &[u8], stride: usize, width: usize, rows: usize, last: usize) -> Vec<u8> {
    let mut out = vec![0u8; width * rows];
    for (y, dst) in out.chunks_exact_mut(width).enumerate() {
        let y = y.min(last);
        let (r0, r1) = (&plane[2 * y * stride..], &plane[(2 * y + 1) * stride..]);
        for (x, d) in dst.iter_mut().enumerate() {
            let sum =
                r0[2 * x] as u16 + r0[2 * x + 1] as u16 + r1[2 * x] as u16 + r1[2 * x + 1] as u16;
            *d = ((sum + 1 + (x & 1) as u16) >> 2) as u8;
        }
    }
    out
}

/// Converts the RGB rows `sources` (`width` pixels each) into the Y, Cb and Cr planes `ycc` (rows
/// of `stride`), with libjpeg-turbo's kernel where it has one.
fn to_ycc(sources: &[&[u8]], width: usize, ycc: &mut [Vec<u8>; 3], stride: usize) {
    static SIMD: OnceLock<bool> = OnceLock::new();
    // SAFETY: the probe takes no arguments and only reads CPU features.
    if *SIMD.get_or_init(|| unsafe { jsimd_can_rgb_ycc() != 0 }) {
        let inputs: Vec<*const u8> = sources.iter().map(|r| r.as_ptr()).collect();
        let rows: [Vec<*mut u8>; 3] = std::array::from_fn(|c| {
            ycc[c]
                .chunks_exact_mut(stride)
                .map(|r| r.as_mut_ptr())
                .collect()
        });
        let planes: [*const *mut u8; 3] = std::array::from_fn(|c| rows[c].as_ptr());
        // SAFETY: the kernel reads only `image_width` and `in_color_space` of the (otherwise zeroed)
        // compress struct, `width` RGB pixels from each input row, and writes each output row up to
        // the next 64-byte multiple of `width`, which `stride` (a multiple of 64, at least
        // `width`) allows.
        unsafe {
            let mut cinfo: ffi::jpeg_compress_struct = std::mem::zeroed();
            cinfo.image_width = width as u32;
            cinfo.in_color_space = ffi::J_COLOR_SPACE::JCS_RGB;
            jsimd_rgb_ycc_convert(
                &mut cinfo,
                inputs.as_ptr(),
                planes.as_ptr(),
                0,
                sources.len() as c_int,
            );
        }
        return;
    }
    to_ycc_in_rust(sources, ycc, stride);
}

fn to_ycc_in_rust(sources: &[&[u8]], ycc: &mut [Vec<u8>; 3], stride: usize) {
    for (y, src) in sources.iter().enumerate() {
        for (x, p) in src.chunks_exact(3).enumerate() {
            let [l, cb, cr] = rgb_to_ycc(p[0], p[1], p[2]);
            ycc[0][y * stride + x] = l;
            ycc[1][y * stride + x] = cb;
            ycc[2][y * stride + x] = cr;
        }
    }
}

/// jccolor.c's fixed-point conversion (16 fraction bits; Cb and Cr round with 0.5 - epsilon).
fn rgb_to_ycc(r: u8, g: u8, b: u8) -> [u8; 3] {
    const fn fix(x: f64) -> i32 {
        (x * 65536.0 + 0.5) as i32
    }
    const HALF: i32 = 1 << 15;
    const OFFSET: i32 = 128 << 16;
    let (r, g, b) = (r as i32, g as i32, b as i32);
    let y = (fix(0.29900) * r + fix(0.58700) * g + fix(0.11400) * b + HALF) >> 16;
    let cb = (-fix(0.16874) * r - fix(0.33126) * g + fix(0.5) * b + OFFSET + HALF - 1) >> 16;
    let cr = (fix(0.5) * r - fix(0.41869) * g - fix(0.08131) * b + OFFSET + HALF - 1) >> 16;
    [y as u8, cb as u8, cr as u8]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libjpegs_colour_kernel_and_the_rust_conversion_agree() {
        let mut state = 99u32;
        for width in [1usize, 7, 31, 32, 33, 100, 257] {
            let rows: Vec<Vec<u8>> = (0..3)
                .map(|_| {
                    (0..width * 3)
                        .map(|_| {
                            state = state.wrapping_mul(1_103_515_245).wrapping_add(12345);
                            (state >> 24) as u8
                        })
                        .collect()
                })
                .collect();
            let sources: Vec<&[u8]> = rows.iter().map(|r| &r[..]).collect();
            let stride = width.next_multiple_of(64);
            let mut kernel: [Vec<u8>; 3] = std::array::from_fn(|_| vec![0; stride * 3]);
            let mut rust = kernel.clone();
            to_ycc(&sources, width, &mut kernel, stride);
            to_ycc_in_rust(&sources, &mut rust, stride);
            for c in 0..3 {
                for y in 0..3 {
                    let row = y * stride..y * stride + width;
                    assert_eq!(
                        kernel[c][row.clone()],
                        rust[c][row],
                        "width {width} plane {c}"
                    );
                }
            }
        }
    }
}
