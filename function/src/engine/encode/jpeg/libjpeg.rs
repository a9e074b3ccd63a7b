//! mozjpeg in libjpeg-turbo's mode (`set_fastest_defaults`: no trellis, 4:2:0, optimised Huffman
//! tables), baseline or progressive: the engine's baseline JPEG encoder, and the reference whose bytes
//! the parallel encoder's tests hold it to.
use crate::engine::error::EngineError;
use crate::engine::pixels::{Layout, Pixels};

/// mozjpeg in libjpeg-turbo's mode (also the reference parallel encoder's tests hold its bytes to).
pub fn mozjpeg(img: &Pixels, quality: u8, progressive: bool) -> Result<Vec<u8>, EngineError> {
    let img = img.opaque();
    let space = if img.layout == Layout::Gray {
        mozjpeg::ColorSpace::JCS_GRAYSCALE
    } else {
        mozjpeg::ColorSpace::JCS_RGB
    };
    let run = || -> std::io::Result<Vec<u8>> {
        let mut c = mozjpeg::Compress::new(space);
        c.set_fastest_defaults();
        c.set_size(img.width as usize, img.height as usize);
        c.set_quality(quality as f32);
        if space == mozjpeg::ColorSpace::JCS_RGB {
            c.set_chroma_sampling_pixel_sizes((2, 2), (2, 2));
        }
        if progressive {
            c.set_progressive_mode();
        }
        c.set_optimize_coding(true);
        let cap = img.width as usize * img.height as usize / 4 + 4096;
        let mut started = c.start_compress(Vec::with_capacity(cap))?;
        started.write_scanlines(&img.data)?;
        started.finish()
    };
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(run)) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(EngineError::Internal(format!("JPEG encoder: {e}"))),
        Err(_) => Err(EngineError::Internal("JPEG encoder failed".into())),
    }
}
