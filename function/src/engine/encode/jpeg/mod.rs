//! JPEG output: progressive files from our encoder (`parallel`: libjpeg-turbo's bytes, its scans coded
//! on every core), baseline ones and sizes outside libjpeg's limits from mozjpeg (`libjpeg`).
pub mod libjpeg;
pub mod parallel;

use crate::engine::error::EngineError;
use crate::engine::pixels::{Layout, Pixels};

/// Progressive files come from our encoder (`parallel`: libjpeg-turbo's bytes, its scans coded on
/// every core); baseline ones from mozjpeg.
pub fn encode(img: &Pixels, quality: u8, progressive: bool) -> Result<Vec<u8>, EngineError> {
    // libjpeg's limits on either side; outside them mozjpeg gives the error.
    let fits = (1..=65500).contains(&img.width) && (1..=65500).contains(&img.height);
    if !(progressive && fits) {
        return libjpeg::mozjpeg(img, quality, progressive);
    }
    let img = img.opaque();
    let rgb = img.layout == Layout::Rgb;
    Ok(parallel::progressive(
        &img.data, img.width, img.height, rgb, quality,
    ))
}
