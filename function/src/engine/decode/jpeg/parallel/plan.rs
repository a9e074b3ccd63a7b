//! How the blocks of a file are decoded, shrunk and colour-converted: the plan both decoders (baseline
//! and progressive) follow once the coefficients are known, and the baseline MCU decode (`put` carries
//! out the shrink and colour conversion a plan describes).
use super::huffman::{Bits, Invalid, Table};
use super::parse::{Baseline, Frame, HuffSpec};

/// Zigzag position of each natural (row-major) coefficient index.
const ZIGZAG_OF: [u8; 64] = [
    0, 1, 5, 6, 14, 15, 27, 28, 2, 4, 7, 13, 16, 26, 29, 42, 3, 8, 12, 17, 25, 30, 41, 43, 9, 11,
    18, 24, 31, 40, 44, 53, 10, 19, 23, 32, 39, 45, 52, 54, 20, 22, 33, 38, 46, 51, 55, 60, 21, 34,
    37, 47, 50, 56, 59, 61, 35, 36, 48, 49, 57, 58, 62, 63,
];

/// A decoded picture: RGB8 rows, `width` x `height`.
pub struct Rgb {
    pub width: u32,
    pub height: u32,
    pub data: Vec<u8>,
}

/// How blocks of this file are decoded and shrunk.
pub(super) struct Plan {
    pub(super) dc: Vec<Option<Table>>,
    pub(super) ac: Vec<Option<Table>>,
    /// The blocks of one MCU in stream order.
    pub(super) blocks: Vec<BlockPlan>,
    /// Every block shrinks to `n` x `n` pixels (1, 2 or 4).
    pub(super) n: usize,
    /// Coefficients kept per MCU.
    pub(super) record: usize,
    pub(super) mcus_x: usize,
    pub(super) mcus_y: usize,
    /// Output pixels per MCU, across and down.
    pub(super) mcu_w: usize,
    pub(super) mcu_h: usize,
    /// How many luma pixels share one chroma sample, across and down (1 or 2: the file's subsampling).
    pub(super) chroma_h: usize,
    pub(super) chroma_v: usize,
    /// Bits of entropy data: a decoder past this has read padding, not data.
    pub(super) limit: usize,
    /// Where in a record each component's last DC value is (the prediction for the next MCU).
    pub(super) last_dc: [usize; 3],
}

pub(super) struct BlockPlan {
    pub(super) component: usize,
    pub(super) dc: usize,
    pub(super) ac: usize,
    /// Where the block's `n` x `n` coefficients start in an MCU's record.
    pub(super) offset: usize,
    /// Kept coefficient index of each zigzag position (255: not kept).
    pub(super) slot: [u8; 64],
    /// Dequantisation of each kept coefficient.
    pub(super) quant: [f32; 64],
    /// The last zigzag position kept.
    pub(super) needed: usize,
    /// Top-left pixel of the shrunk block inside the MCU, in its component's plane.
    pub(super) x: usize,
    pub(super) y: usize,
}

impl Plan {
    /// The plan for decoding the baseline `jpeg`.
    pub(super) fn new(jpeg: &Baseline, n: usize) -> Option<Plan> {
        let mut plan = Plan::layout(&jpeg.frame, n)?;
        plan.dc = tables(&jpeg.dc, false)?;
        plan.ac = tables(&jpeg.ac, true)?;
        plan.limit = jpeg.entropy.len() * 8;
        Some(plan)
    }

    /// Where each block of an MCU goes and how it shrinks, without Huffman tables.
    pub(super) fn layout(jpeg: &Frame, n: usize) -> Option<Plan> {
        if !matches!(n, 1 | 2 | 4) {
            return None;
        }
        let (max_h, max_v) = (jpeg.max_h(), jpeg.max_v());
        let mut blocks = Vec::new();
        let mut offset = 0;
        // Every block shrinks to n x n: chroma keeps the file's own subsampling and is widened when
        // converted to RGB (see `put`).
        for (ci, c) in jpeg.components.iter().enumerate() {
            let (mut slot, mut quant) = ([255u8; 64], [0f32; 64]);
            for v in 0..n {
                for u in 0..n {
                    let zigzag = ZIGZAG_OF[v * 8 + u] as usize;
                    slot[zigzag] = (v * n + u) as u8;
                    quant[v * n + u] = jpeg.quant[c.quant][zigzag] as f32;
                }
            }
            for by in 0..c.v {
                for bx in 0..c.h {
                    blocks.push(BlockPlan {
                        component: ci,
                        dc: c.dc_table,
                        ac: c.ac_table,
                        offset,
                        slot,
                        quant,
                        needed: (0..64).rfind(|&k| slot[k] != 255).unwrap_or(0),
                        x: bx * n,
                        y: by * n,
                    });
                    offset += n * n;
                }
            }
        }
        let (mcus_x, mcus_y) = jpeg.mcus();
        let mut last_dc = [0; 3];
        for b in &blocks {
            last_dc[b.component] = b.offset;
        }
        Some(Plan {
            dc: Vec::new(),
            ac: Vec::new(),
            blocks,
            n,
            record: offset,
            mcus_x,
            mcus_y,
            mcu_w: n * max_h,
            mcu_h: n * max_v,
            chroma_h: max_h,
            chroma_v: max_v,
            limit: 0,
            last_dc,
        })
    }

    pub(super) fn mcus(&self) -> usize {
        self.mcus_x * self.mcus_y
    }

    /// Decodes the next MCU into `record`.
    #[inline(always)]
    pub(super) fn mcu(
        &self,
        bits: &mut Bits,
        preds: &mut [i32; 3],
        record: &mut [i16],
    ) -> Result<(), Invalid> {
        // The kept count as a constant, so that each block's coefficients move without a library call.
        match self.n {
            1 => self.mcu_keeping::<1>(bits, preds, record),
            2 => self.mcu_keeping::<4>(bits, preds, record),
            _ => self.mcu_keeping::<16>(bits, preds, record),
        }
    }

    #[inline(always)]
    fn mcu_keeping<const KEPT: usize>(
        &self,
        bits: &mut Bits,
        preds: &mut [i32; 3],
        record: &mut [i16],
    ) -> Result<(), Invalid> {
        for b in &self.blocks {
            let (dc, ac) = (self.dc[b.dc].as_ref(), self.ac[b.ac].as_ref());
            let (Some(dc), Some(ac)) = (dc, ac) else {
                return Err(Invalid);
            };
            let out = (&mut record[b.offset..b.offset + KEPT]).try_into();
            let out: &mut [i16; KEPT] = out.map_err(|_| Invalid)?;
            bits.block(dc, ac, &mut preds[b.component], out, &b.slot, b.needed)?;
        }
        Ok(())
    }

    /// Samples of `mcus` MCUs in the luma plane and in each chroma plane.
    pub(super) fn plane_lens(&self, mcus: usize) -> (usize, usize) {
        let luma = mcus * self.mcu_w * self.mcu_h;
        (luma, luma / self.chroma_h / self.chroma_v)
    }
}

/// Huffman tables from their specifications, where defined.
fn tables(specs: &[Option<HuffSpec>; 4], ac: bool) -> Option<Vec<Option<Table>>> {
    specs
        .iter()
        .map(|s| Table::optional(s.as_ref(), ac))
        .collect()
}
