//! AVIF output through libavif and libaom (the encoder sharp ships), chosen by measurement over rav1e:
//! docs/engine.md, "AVIF". 8-bit 4:2:0 (4:0:0 for gray), full range, tagged sRGB; alpha, when the
//! picture has it, is a second AV1 image at the same quality. Nothing but pixels is written.
use crate::engine::error::EngineError;
use crate::engine::pixels::{Layout, Pixels};
use libavif_sys as sys;

/// libaom's fastest speed, which is effort 0; effort `e` runs at speed `9 - e`, as in sharp.
const SPEED_AT_EFFORT_0: u8 = 9;

/// Encodes `img` at `quality` (1–100, libavif's scale, as sharp's) and `effort` (0–9).
pub fn encode(img: &Pixels, quality: u8, effort: u8) -> Result<Vec<u8>, EngineError> {
    // libavif converts RGB(A) to YUV itself; gray is widened to RGB for it and stored as 4:0:0.
    let colour = img.colour();
    let data = &colour.data;
    let rgb_format = match colour.layout {
        Layout::Rgba => sys::AVIF_RGB_FORMAT_RGBA,
        _ => sys::AVIF_RGB_FORMAT_RGB,
    };
    let row_bytes = img.width as usize * colour.layout.channels();
    if data.len() != row_bytes * img.height as usize {
        return Err(EngineError::Internal("AVIF: pixel buffer size".into()));
    }
    let yuv = if img.layout.is_gray() {
        sys::AVIF_PIXEL_FORMAT_YUV400
    } else {
        sys::AVIF_PIXEL_FORMAT_YUV420
    };

    // SAFETY: every pointer below comes from libavif's own constructors and is freed exactly once by
    // the guards; `data` outlives the conversion that reads it (libavif copies into its planes).
    unsafe {
        let image = Guard::new(sys::avifImageCreate(img.width, img.height, 8, yuv), |p| {
            sys::avifImageDestroy(p)
        })?;
        let im = &mut *image.0;
        im.yuvRange = sys::AVIF_RANGE_FULL;
        im.colorPrimaries = sys::AVIF_COLOR_PRIMARIES_BT709 as _;
        im.transferCharacteristics = sys::AVIF_TRANSFER_CHARACTERISTICS_SRGB as _;
        im.matrixCoefficients = sys::AVIF_MATRIX_COEFFICIENTS_BT601 as _;

        let mut rgb: sys::avifRGBImage = std::mem::zeroed();
        sys::avifRGBImageSetDefaults(&mut rgb, image.0);
        rgb.format = rgb_format;
        rgb.depth = 8;
        rgb.chromaDownsampling = sys::AVIF_CHROMA_DOWNSAMPLING_BEST_QUALITY;
        rgb.pixels = data.as_ptr() as *mut u8;
        rgb.rowBytes = row_bytes as u32;
        check("RGB to YUV", sys::avifImageRGBToYUV(image.0, &rgb))?;

        let encoder = Guard::new(sys::avifEncoderCreate(), |p| sys::avifEncoderDestroy(p))?;
        let enc = &mut *encoder.0;
        enc.codecChoice = sys::AVIF_CODEC_CHOICE_AOM;
        enc.quality = i32::from(quality.clamp(1, 100));
        enc.qualityAlpha = enc.quality;
        enc.speed = i32::from(SPEED_AT_EFFORT_0 - effort.min(SPEED_AT_EFFORT_0));
        enc.maxThreads = threads();

        let mut out: sys::avifRWData = std::mem::zeroed();
        let written = sys::avifEncoderWrite(encoder.0, image.0, &mut out);
        let bytes = if out.data.is_null() {
            Vec::new()
        } else {
            std::slice::from_raw_parts(out.data, out.size).to_vec()
        };
        sys::avifRWDataFree(&mut out);
        check("encoder", written)?;
        Ok(bytes)
    }
}

/// libaom's row-based threads within one picture: variants already run in parallel, so this only
/// shortens the wall time of the longest one.
fn threads() -> i32 {
    std::thread::available_parallelism().map_or(1, |n| n.get().min(4) as i32)
}

/// Owns one libavif object and frees it on every path out.
struct Guard<T>(*mut T, unsafe fn(*mut T));

impl<T> Guard<T> {
    fn new(ptr: *mut T, free: unsafe fn(*mut T)) -> Result<Self, EngineError> {
        if ptr.is_null() {
            return Err(EngineError::Internal(
                "AVIF: libavif is out of memory".into(),
            ));
        }
        Ok(Guard(ptr, free))
    }
}

impl<T> Drop for Guard<T> {
    fn drop(&mut self) {
        // SAFETY: `new` refused null, and nothing else frees the pointer.
        unsafe { (self.1)(self.0) }
    }
}

fn check(step: &str, result: sys::avifResult) -> Result<(), EngineError> {
    if result == sys::AVIF_RESULT_OK {
        return Ok(());
    }
    // SAFETY: libavif returns a static, NUL-terminated string for every result code.
    let why = unsafe { std::ffi::CStr::from_ptr(sys::avifResultToString(result)) };
    Err(EngineError::Internal(format!(
        "AVIF {step}: {}",
        why.to_string_lossy()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn picture(layout: Layout, w: u32, h: u32) -> Pixels {
        let c = layout.channels();
        let data = (0..w * h)
            .flat_map(|i| {
                let (x, y) = (i % w, i / w);
                let px = [
                    (x * 255 / w) as u8,
                    (y * 255 / h) as u8,
                    128,
                    (x + y) as u8 | 0x80,
                ];
                match c {
                    1 => vec![px[0]],
                    2 => vec![px[0], px[3]],
                    3 => px[..3].to_vec(),
                    _ => px.to_vec(),
                }
            })
            .collect();
        Pixels {
            width: w,
            height: h,
            layout,
            data,
        }
    }

    #[test]
    fn every_layout_encodes_to_an_avif_file() {
        for layout in [Layout::Gray, Layout::GrayAlpha, Layout::Rgb, Layout::Rgba] {
            // Odd sizes: 4:2:0 rounds the chroma planes up.
            let bytes = encode(&picture(layout, 33, 17), 50, 9).unwrap();
            // An ISO-BMFF file whose first box is `ftyp` with the `avif` brand.
            assert_eq!(&bytes[4..12], b"ftypavif", "{layout:?}");
            assert!(bytes.len() > 100, "{layout:?}: {} bytes", bytes.len());
        }
    }

    #[test]
    fn quality_and_effort_reach_the_encoder() {
        // Texture, so that quality changes what is kept.
        let mut img = picture(Layout::Rgb, 96, 64);
        let mut seed = 1u32;
        for b in &mut img.data {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            *b = b.wrapping_add((seed >> 26) as u8);
        }
        let low = encode(&img, 10, 9).unwrap();
        let high = encode(&img, 95, 9).unwrap();
        assert!(
            high.len() > low.len() * 2,
            "{} vs {}",
            high.len(),
            low.len()
        );
        // A different speed gives a different bitstream.
        assert_ne!(encode(&img, 50, 0).unwrap(), encode(&img, 50, 9).unwrap());
    }
}
