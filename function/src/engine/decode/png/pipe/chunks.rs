//! The PNG chunk list: chunks with their CRCs, and the header and image data of a file in the shape
//! the pipeline (`pipe`) decodes.
use crate::engine::pixels::Layout;

/// The image header and its compressed data, when the file has the shape the pipeline (`pipe`) decodes.
pub(super) struct Shape<'a> {
    pub width: usize,
    pub height: usize,
    pub layout: Layout,
    pub idat: Vec<&'a [u8]>,
}

/// One chunk of a PNG file.
pub(in crate::engine) struct Chunk<'a> {
    /// Type and data, what the CRC covers.
    body: &'a [u8],
    crc: &'a [u8],
}

impl<'a> Chunk<'a> {
    pub(in crate::engine) fn kind(&self) -> &'a [u8] {
        &self.body[..4]
    }

    pub(in crate::engine) fn data(&self) -> &'a [u8] {
        &self.body[4..]
    }

    fn intact(&self) -> bool {
        crc32fast::hash(self.body).to_be_bytes() == self.crc
    }
}

/// The chunks after the 8-byte signature (not checked here), up to the first that runs past the input.
pub(in crate::engine) fn chunks(input: &[u8]) -> impl Iterator<Item = Chunk<'_>> {
    let mut rest = input.get(8..).unwrap_or_default();
    std::iter::from_fn(move || {
        let len = u32::from_be_bytes(rest.get(..4)?.try_into().ok()?) as usize;
        let end = len.checked_add(12)?;
        let chunk = Chunk {
            body: rest.get(4..end - 4)?,
            crc: rest.get(end - 4..end)?,
        };
        rest = &rest[end..];
        Some(chunk)
    })
}

/// Reads the chunk list, up to the first chunk that fails its CRC: IHDR must describe the supported
/// shape, and a tRNS chunk (which would add alpha) sends the file to the `png` crate.
pub(super) fn shape(input: &[u8]) -> Option<Shape<'_>> {
    if !input.starts_with(b"\x89PNG\r\n\x1a\n") {
        return None;
    }
    let mut chunks = chunks(input).map_while(|c| c.intact().then_some(c));
    let ihdr = chunks.next()?;
    let (kind, ihdr) = (ihdr.kind(), ihdr.data());
    if kind != b"IHDR" || ihdr.len() != 13 {
        return None;
    }
    let be = |at: usize| u32::from_be_bytes([ihdr[at], ihdr[at + 1], ihdr[at + 2], ihdr[at + 3]]);
    let (width, height) = (be(0) as usize, be(4) as usize);
    let layout = match ihdr[9] {
        0 => Layout::Gray,
        2 => Layout::Rgb,
        4 => Layout::GrayAlpha,
        6 => Layout::Rgba,
        _ => return None,
    };
    // Bit depth 8; compression, filter method and interlace all 0.
    if width == 0 || height == 0 || ihdr[8] != 8 || ihdr[10..13] != [0, 0, 0] {
        return None;
    }
    let mut idat = Vec::new();
    // The image data is one run of consecutive IDAT chunks, which an intact chunk of another kind must
    // end: the `png` crate reads on to that chunk and refuses a file that ends before it, or in a
    // damaged IDAT (found by fuzz/fuzz_targets/png_decoders.rs). The chunks after it are not needed.
    let mut ended = false;
    for chunk in chunks {
        match chunk.kind() {
            b"IDAT" => idat.push(chunk.data()),
            _ if !idat.is_empty() => {
                ended = true;
                break;
            }
            b"tRNS" => return None,
            _ => {}
        }
    }
    ended.then_some(Shape {
        width,
        height,
        layout,
        idat,
    })
}
