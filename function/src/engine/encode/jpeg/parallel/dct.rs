//! The forward DCT and quantisation of one 8x8 block, libjpeg-turbo's accurate integer DCT
//! (jfdctint.c) and its reciprocal quantisation (jcdctmgr.c). Where libjpeg-turbo was built with
//! its SIMD code (x86-64, Arm), its own kernels are called; elsewhere the same arithmetic in Rust
//! (the encoder tests compare both against libjpeg-turbo's files).
use std::sync::OnceLock;

use super::jsimd::{jsimd_can_fdct_islow, jsimd_can_quantize, jsimd_fdct_islow, jsimd_quantize};
use super::tables::NATURAL;

fn simd() -> bool {
    static SIMD: OnceLock<bool> = OnceLock::new();
    // SAFETY: the probes take no arguments and only read CPU features.
    *SIMD.get_or_init(|| unsafe { jsimd_can_fdct_islow() != 0 && jsimd_can_quantize() != 0 })
}

/// 32-byte aligned, as libjpeg-turbo's AVX2 kernels load and store their operands.
#[repr(C, align(32))]
struct Aligned<T>(T);

/// A quantisation table prepared for division by multiplication.
pub struct Quantiser {
    /// libjpeg's divisor table: reciprocals, corrections, scales, shifts (64 each).
    table: Aligned<[i16; 256]>,
}

impl Quantiser {
    /// For quantisation values `q` (natural order); the DCT's output is 8 times too large, so each
    /// divisor is `8 q` (jcdctmgr.c's `compute_reciprocal`).
    pub fn new(q: &[u16; 64]) -> Quantiser {
        let mut table = [0i16; 256];
        for (i, &q) in q.iter().enumerate() {
            let divisor = (q as u32) << 3;
            let b = 31 - divisor.leading_zeros();
            let mut r = 16 + b;
            let mut fq = (1u64 << r) / divisor as u64;
            let fr = (1u64 << r) % divisor as u64;
            let mut c = divisor / 2;
            if fr == 0 {
                fq >>= 1;
                r -= 1;
            } else if fr <= (divisor / 2) as u64 {
                c += 1;
            } else {
                fq += 1;
            }
            table[i] = fq as u16 as i16;
            table[64 + i] = c as u16 as i16;
            table[128 + i] = (1u32 << (32 - r)) as u16 as i16;
            table[192 + i] = (r - 16) as i16;
        }
        Quantiser {
            table: Aligned(table),
        }
    }

    /// Transforms and quantises the 8x8 `samples` (rows of 8) into `out`, in zigzag order.
    pub fn block(&self, samples: [[u8; 8]; 8], out: &mut [i16; 64]) {
        if !simd() {
            *out = self.scalar(samples);
            return;
        }
        let mut work = Aligned([0i16; 64]);
        for (w, s) in work.0.chunks_exact_mut(8).zip(samples) {
            for (w, s) in w.iter_mut().zip(s) {
                *w = s as i16 - 128;
            }
        }
        let mut natural = Aligned([0i16; 64]);
        // The quantiser only reads its divisor table (libjpeg declares it mutable).
        let divisors = self.table.0.as_ptr().cast_mut();
        // SAFETY: the three buffers are 64 (or 256) 16-bit values, 32-byte aligned, as the kernels
        // require; the kernels touch nothing else.
        unsafe {
            jsimd_fdct_islow(work.0.as_mut_ptr());
            jsimd_quantize(natural.0.as_mut_ptr(), divisors, work.0.as_mut_ptr());
        }
        for (o, &k) in out.iter_mut().zip(&NATURAL) {
            *o = natural.0[k];
        }
    }

    /// The same in Rust, for builds without libjpeg-turbo's SIMD kernels.
    pub(super) fn scalar(&self, samples: [[u8; 8]; 8]) -> [i16; 64] {
        let mut wide: [i32; 64] = std::array::from_fn(|k| samples[k / 8][k % 8] as i32 - 128);
        fdct_islow(&mut wide);
        std::array::from_fn(|z| {
            let x = wide[NATURAL[z]];
            let (k, table) = (NATURAL[z], &self.table.0);
            let (reciprocal, correction) = (table[k] as u16 as u32, table[64 + k] as u16 as u32);
            let shift = table[192 + k] as u32 + 16;
            let q = ((x.unsigned_abs() + correction) as u64 * reciprocal as u64) >> shift;
            if x < 0 {
                -(q as i16)
            } else {
                q as i16
            }
        })
    }
}

/// jfdctint.c: the accurate integer forward DCT, results scaled up by 8.
fn fdct_islow(data: &mut [i32; 64]) {
    const CONST_BITS: i32 = 13;
    const PASS1_BITS: i32 = 2;
    const F0_298: i32 = 2446;
    const F0_390: i32 = 3196;
    const F0_541: i32 = 4433;
    const F0_765: i32 = 6270;
    const F0_899: i32 = 7373;
    const F1_175: i32 = 9633;
    const F1_501: i32 = 12299;
    const F1_847: i32 = 15137;
    const F1_961: i32 = 16069;
    const F2_053: i32 = 16819;
    const F2_562: i32 = 20995;
    const F3_072: i32 = 25172;
    let descale = |x: i32, n: i32| (x + (1 << (n - 1))) >> n;
    // One 1-D pass over 8 values: rows first (keeping PASS1_BITS more), then columns.
    let pass = |d: [i32; 8], first: bool| -> [i32; 8] {
        let (tmp0, tmp7) = (d[0] + d[7], d[0] - d[7]);
        let (tmp1, tmp6) = (d[1] + d[6], d[1] - d[6]);
        let (tmp2, tmp5) = (d[2] + d[5], d[2] - d[5]);
        let (tmp3, tmp4) = (d[3] + d[4], d[3] - d[4]);
        let (tmp10, tmp13) = (tmp0 + tmp3, tmp0 - tmp3);
        let (tmp11, tmp12) = (tmp1 + tmp2, tmp1 - tmp2);
        let mut o = [0i32; 8];
        let shift = if first {
            o[0] = (tmp10 + tmp11) << PASS1_BITS;
            o[4] = (tmp10 - tmp11) << PASS1_BITS;
            CONST_BITS - PASS1_BITS
        } else {
            o[0] = descale(tmp10 + tmp11, PASS1_BITS);
            o[4] = descale(tmp10 - tmp11, PASS1_BITS);
            CONST_BITS + PASS1_BITS
        };
        let z1 = (tmp12 + tmp13) * F0_541;
        o[2] = descale(z1 + tmp13 * F0_765, shift);
        o[6] = descale(z1 + tmp12 * -F1_847, shift);
        let (z1, z2, z3, z4) = (tmp4 + tmp7, tmp5 + tmp6, tmp4 + tmp6, tmp5 + tmp7);
        let z5 = (z3 + z4) * F1_175;
        let (tmp4, tmp5) = (tmp4 * F0_298, tmp5 * F2_053);
        let (tmp6, tmp7) = (tmp6 * F3_072, tmp7 * F1_501);
        let (z1, z2) = (z1 * -F0_899, z2 * -F2_562);
        let (z3, z4) = (z3 * -F1_961 + z5, z4 * -F0_390 + z5);
        o[7] = descale(tmp4 + z1 + z3, shift);
        o[5] = descale(tmp5 + z2 + z4, shift);
        o[3] = descale(tmp6 + z2 + z3, shift);
        o[1] = descale(tmp7 + z1 + z4, shift);
        // libjpeg keeps each pass's results in 16-bit DCT elements.
        o.map(|v| v as i16 as i32)
    };
    for row in 0..8 {
        let d: [i32; 8] = std::array::from_fn(|i| data[row * 8 + i]);
        data[row * 8..row * 8 + 8].copy_from_slice(&pass(d, true));
    }
    for col in 0..8 {
        let d: [i32; 8] = std::array::from_fn(|i| data[i * 8 + col]);
        for (i, v) in pass(d, false).into_iter().enumerate() {
            data[i * 8 + col] = v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libjpegs_kernels_and_the_rust_dct_agree() {
        let q = Quantiser::new(&super::super::tables::quant_tables(80)[0]);
        let fine = Quantiser::new(&[1; 64]);
        let mut state = 7u32;
        for i in 0..2000 {
            let samples: [[u8; 8]; 8] = std::array::from_fn(|y| {
                std::array::from_fn(|x| {
                    state = state.wrapping_mul(1_103_515_245).wrapping_add(12345);
                    match i % 4 {
                        0 => (state >> 24) as u8,
                        1 => [0, 255][(state >> 31) as usize],
                        2 => (x * 30 + y * 2) as u8,
                        _ => 128 + (state >> 29) as u8,
                    }
                })
            });
            for q in [&q, &fine] {
                let mut simd = [0; 64];
                q.block(samples, &mut simd);
                assert_eq!(simd, q.scalar(samples), "block {i}");
            }
        }
    }
}
