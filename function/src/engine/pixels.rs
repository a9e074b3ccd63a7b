//! The engine's in-memory picture: 8-bit interleaved samples with 1 to 4 channels.

/// How the samples of one pixel are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    Gray,
    GrayAlpha,
    Rgb,
    Rgba,
}

impl Layout {
    pub fn channels(self) -> usize {
        match self {
            Layout::Gray => 1,
            Layout::GrayAlpha => 2,
            Layout::Rgb => 3,
            Layout::Rgba => 4,
        }
    }
    pub fn has_alpha(self) -> bool {
        matches!(self, Layout::GrayAlpha | Layout::Rgba)
    }
    pub fn is_gray(self) -> bool {
        matches!(self, Layout::Gray | Layout::GrayAlpha)
    }
}

#[derive(Debug, Clone)]
pub struct Pixels {
    pub width: u32,
    pub height: u32,
    pub layout: Layout,
    pub data: Vec<u8>,
}

impl Pixels {
    /// Gray or RGB as it is; with alpha flattened onto white (for JPEG: callers flatten before
    /// encoding already, with the variant's background, so this is the safety net).
    pub fn opaque(&self) -> std::borrow::Cow<'_, Pixels> {
        match self.layout {
            Layout::Gray | Layout::Rgb => std::borrow::Cow::Borrowed(self),
            _ => std::borrow::Cow::Owned(self.clone().flatten([255, 255, 255])),
        }
    }

    /// RGB or RGBA as it is; gray widened to RGB and gray with alpha to RGBA (for encoders that take
    /// nothing else).
    pub fn colour(&self) -> std::borrow::Cow<'_, Pixels> {
        let (layout, data): (_, Vec<u8>) = match self.layout {
            Layout::Rgb | Layout::Rgba => return std::borrow::Cow::Borrowed(self),
            Layout::Gray => (
                Layout::Rgb,
                self.data.iter().flat_map(|&g| [g, g, g]).collect(),
            ),
            Layout::GrayAlpha => (
                Layout::Rgba,
                self.data
                    .chunks_exact(2)
                    .flat_map(|p| [p[0], p[0], p[0], p[1]])
                    .collect(),
            ),
        };
        std::borrow::Cow::Owned(Pixels::new(self.width, self.height, layout, data))
    }

    pub fn new(width: u32, height: u32, layout: Layout, data: Vec<u8>) -> Self {
        debug_assert_eq!(
            data.len(),
            width as usize * height as usize * layout.channels()
        );
        Pixels {
            width,
            height,
            layout,
            data,
        }
    }

    /// Drops an alpha channel that is fully opaque, so that outputs stay small and JPEG-able.
    pub fn drop_opaque_alpha(self) -> Self {
        let (layout, ch) = match self.layout {
            Layout::Rgba => (Layout::Rgb, 4),
            Layout::GrayAlpha => (Layout::Gray, 2),
            _ => return self,
        };
        if !self.data.chunks_exact(ch).all(|p| p[ch - 1] == 255) {
            return self;
        }
        let data = self
            .data
            .chunks_exact(ch)
            .flat_map(|p| p[..ch - 1].iter().copied())
            .collect();
        Pixels {
            layout,
            data,
            ..self
        }
    }

    /// Composites alpha over `bg` (RGB) and drops it; grayscale stays grayscale when `bg` is gray.
    pub fn flatten(self, bg: [u8; 3]) -> Self {
        let blend = |c: u8, a: u8, b: u8| -> u8 {
            let (c, a, b) = (c as u32, a as u32, b as u32);
            ((c * a + b * (255 - a) + 127) / 255) as u8
        };
        match self.layout {
            Layout::Rgba => {
                let data = self
                    .data
                    .chunks_exact(4)
                    .flat_map(|p| [0, 1, 2].map(|i| blend(p[i], p[3], bg[i])))
                    .collect();
                Pixels {
                    layout: Layout::Rgb,
                    data,
                    ..self
                }
            }
            Layout::GrayAlpha if bg[0] == bg[1] && bg[1] == bg[2] => {
                let data = self
                    .data
                    .chunks_exact(2)
                    .map(|p| blend(p[0], p[1], bg[0]))
                    .collect();
                Pixels {
                    layout: Layout::Gray,
                    data,
                    ..self
                }
            }
            Layout::GrayAlpha => {
                let data = self
                    .data
                    .chunks_exact(2)
                    .flat_map(|p| [0, 1, 2].map(|i| blend(p[0], p[1], bg[i])))
                    .collect();
                Pixels {
                    layout: Layout::Rgb,
                    data,
                    ..self
                }
            }
            _ => self,
        }
    }
}
