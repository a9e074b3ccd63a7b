//! libjpeg-turbo's SIMD kernels for the encoder's front (RGB to YCbCr, the accurate integer forward
//! DCT, quantisation), declared by hand: they are libjpeg-turbo's private functions (`jsimd.h`,
//! `jsimddct.h`), which mozjpeg-sys compiles and links but does not bind. With them the encoder's
//! coefficients come from the same kernels as mozjpeg's own (`encode::jpeg::libjpeg`); without them
//! (`jsimd_can_*` false: libjpeg-turbo built without SIMD, or a CPU without the instructions) the Rust
//! code beside each call site computes the same numbers (the encoder's tests hold both to libjpeg's
//! bytes).
//!
//! Private functions can change in any release without a compile error here, only undefined
//! behaviour. So:
//! - mozjpeg-sys is pinned exactly in Cargo.toml (`=2.2.3`): an update is a deliberate edit;
//! - `build.rs` reads the C sources mozjpeg-sys builds (its `DEP_JPEG_INCLUDE`) and fails the build
//!   unless every declaration below is still the one in libjpeg-turbo's headers, word for word, the
//!   types behind them still have the sizes used here (`DCTELEM` and `JCOEF` 16-bit with SIMD,
//!   `JDIMENSION` 32-bit), and `jsimd_rgb_ycc_convert` still reads only `in_color_space` and
//!   `image_width` of the compress struct (the caller passes a zeroed one with those two set).
//!
//! Updating mozjpeg-sys: change the pin, build; if build.rs fails, compare the new declarations with
//! the ones below and with the call sites in `front` and `dct`, then update build.rs's copy.
use mozjpeg_sys as ffi;
use std::os::raw::c_int;

// The C declarations each one mirrors are in build.rs (`DECLARATIONS`).
extern "C" {
    /// `EXTERN(int) jsimd_can_rgb_ycc(void);`
    pub(super) fn jsimd_can_rgb_ycc() -> c_int;
    /// `EXTERN(void) jsimd_rgb_ycc_convert(j_compress_ptr cinfo, JSAMPARRAY input_buf,
    /// JSAMPIMAGE output_buf, JDIMENSION output_row, int num_rows);`
    pub(super) fn jsimd_rgb_ycc_convert(
        cinfo: *mut ffi::jpeg_compress_struct,
        input: *const *const u8,
        output: *const *const *mut u8,
        output_row: u32,
        rows: c_int,
    );
    /// `EXTERN(int) jsimd_can_fdct_islow(void);`
    pub(super) fn jsimd_can_fdct_islow() -> c_int;
    /// `EXTERN(int) jsimd_can_quantize(void);`
    pub(super) fn jsimd_can_quantize() -> c_int;
    /// `EXTERN(void) jsimd_fdct_islow(DCTELEM *data);` (DCTELEM is `short` with SIMD)
    pub(super) fn jsimd_fdct_islow(data: *mut i16);
    /// `EXTERN(void) jsimd_quantize(JCOEFPTR coef_block, DCTELEM *divisors, DCTELEM *workspace);`
    pub(super) fn jsimd_quantize(coefs: *mut i16, divisors: *mut i16, workspace: *mut i16);
}
