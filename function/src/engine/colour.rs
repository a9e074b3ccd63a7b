//! Colour management: embedded ICC profiles to sRGB (lcms2), and CMYK/YCCK JPEG pixels to sRGB with
//! their profile or, without one, the usual naive conversion. sRGB-tagged inputs are left untouched;
//! grayscale stays grayscale (its profile's tone curve is mapped to sRGB's).
use crate::engine::error::EngineError;
use crate::engine::pixels::{Layout, Pixels};
use lcms2::{
    ColorSpaceSignature, Flags, InfoType, Intent, Locale, PixelFormat, Profile, ToneCurve,
    Transform,
};

/// Profiles that are sRGB already (by description): converting would only cost time.
fn is_srgb(p: &Profile) -> bool {
    let d = p
        .info(InfoType::Description, Locale::none())
        .unwrap_or_default()
        .to_ascii_lowercase();
    d.contains("srgb") || d.contains("iec61966-2")
}

/// sRGB's tone curve (IEC 61966-2-1, parametric type 4).
fn srgb_gray() -> Option<Profile> {
    let curve =
        ToneCurve::new_parametric(4, &[2.4, 1.0 / 1.055, 0.055 / 1.055, 1.0 / 12.92, 0.04045])
            .ok()?;
    let d65 = lcms2::CIExyY {
        x: 0.3127,
        y: 0.3290,
        Y: 1.0,
    };
    Profile::new_gray(&d65, &curve).ok()
}

/// Converts RGB(A)/gray pixels tagged with `icc` to sRGB in place. A profile that does not parse, or
/// does not match the pixels, is ignored (like browsers do).
pub fn to_srgb(mut px: Pixels, icc: Option<&[u8]>) -> Pixels {
    let Some(profile) = icc.and_then(|b| Profile::new_icc(b).ok()) else {
        return px;
    };
    let space = profile.color_space();
    let (fmt, out_profile) = match (px.layout, space) {
        (Layout::Rgb, ColorSpaceSignature::RgbData) if !is_srgb(&profile) => {
            (PixelFormat::RGB_8, Profile::new_srgb())
        }
        (Layout::Rgba, ColorSpaceSignature::RgbData) if !is_srgb(&profile) => {
            (PixelFormat::RGBA_8, Profile::new_srgb())
        }
        (Layout::Gray, ColorSpaceSignature::GrayData) => match srgb_gray() {
            Some(p) => (PixelFormat::GRAY_8, p),
            None => return px,
        },
        _ => return px,
    };
    let flags = if px.layout.has_alpha() {
        Flags::COPY_ALPHA
    } else {
        Flags::default()
    };
    if let Ok(t) =
        Transform::<u8, u8>::new_flags(&profile, fmt, &out_profile, fmt, Intent::Perceptual, flags)
    {
        t.transform_in_place(&mut px.data);
    }
    px
}

/// CMYK samples (4 per pixel, as stored; `inverted` for Adobe files) to sRGB.
pub fn cmyk_to_srgb(
    data: &[u8],
    w: u32,
    h: u32,
    icc: Option<&[u8]>,
    inverted: bool,
) -> Result<Pixels, EngineError> {
    let n = w as usize * h as usize;
    if data.len() != n * 4 {
        return Err(EngineError::Internal(format!(
            "CMYK buffer has {} bytes for {w}x{h}",
            data.len()
        )));
    }
    let mut out = vec![0u8; n * 3];
    let profile = icc
        .and_then(|b| Profile::new_icc(b).ok())
        .filter(|p| p.color_space() == ColorSpaceSignature::CmykData);
    let fmt = if inverted {
        PixelFormat::CMYK_8_REV
    } else {
        PixelFormat::CMYK_8
    };
    let transform = profile.and_then(|p| {
        Transform::<u8, u8>::new(
            &p,
            fmt,
            &Profile::new_srgb(),
            PixelFormat::RGB_8,
            Intent::Perceptual,
        )
        .ok()
    });
    match transform {
        Some(t) => t.transform_pixels(data, &mut out),
        None => naive_cmyk(data, &mut out, inverted),
    }
    Ok(Pixels::new(w, h, Layout::Rgb, out))
}

/// Without a profile: R = (1-C)(1-K), the conversion libjpeg-turbo and Pillow use.
fn naive_cmyk(data: &[u8], out: &mut [u8], inverted: bool) {
    for (p, o) in data.chunks_exact(4).zip(out.chunks_exact_mut(3)) {
        // `keep` = 1 - ink, in 0..=255.
        let keep = |v: u8| if inverted { v as u32 } else { 255 - v as u32 };
        let k = keep(p[3]);
        for i in 0..3 {
            o[i] = ((keep(p[i]) * k + 127) / 255) as u8;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn naive_cmyk_handles_adobe_inversion() {
        let mut out = [0u8; 3];
        // Pure cyan ink, no black: stored inverted as C=0, M=Y=K=255.
        naive_cmyk(&[0, 255, 255, 255], &mut out, true);
        assert_eq!(out, [0, 255, 255]);
        naive_cmyk(&[255, 0, 0, 0], &mut out, false);
        assert_eq!(out, [0, 255, 255]);
    }

    #[test]
    fn wide_gamut_red_becomes_srgb_red_and_srgb_is_untouched() {
        // A Rec.2020-like profile built by lcms: its pure red is outside sRGB and clips to (255, 0, 0).
        let d65 = lcms2::CIExyY {
            x: 0.3127,
            y: 0.3290,
            Y: 1.0,
        };
        let prim = lcms2::CIExyYTRIPLE {
            Red: lcms2::CIExyY {
                x: 0.708,
                y: 0.292,
                Y: 1.0,
            },
            Green: lcms2::CIExyY {
                x: 0.170,
                y: 0.797,
                Y: 1.0,
            },
            Blue: lcms2::CIExyY {
                x: 0.131,
                y: 0.046,
                Y: 1.0,
            },
        };
        let g = ToneCurve::new(2.2);
        let p = Profile::new_rgb(&d65, &prim, &[&g, &g, &g]).unwrap();
        let icc = p.icc().unwrap();
        // Mid grey keeps its neutrality; a moderate green gets more saturated in sRGB numbers.
        let px = Pixels::new(2, 1, Layout::Rgb, vec![128, 128, 128, 60, 160, 60]);
        let out = to_srgb(px, Some(&icc));
        assert!(
            (out.data[0] as i32 - out.data[2] as i32).abs() <= 2,
            "{:?}",
            out.data
        );
        assert!(out.data[3] < 60 && out.data[4] > 160, "{:?}", out.data);
        let srgb = Profile::new_srgb().icc().unwrap();
        let px = Pixels::new(1, 1, Layout::Rgb, vec![10, 20, 30]);
        assert_eq!(to_srgb(px, Some(&srgb)).data, vec![10, 20, 30]);
    }
}
