//! Times the progressive JPEG encoders on one photo shrunk to 1000 pixels across (the thumb1000
//! variant): mozjpeg (libjpeg-turbo, one core) against the engine's `jpegenc` on one core and on the
//! whole rayon pool, medians of 21 runs per round. Checks that both write the same bytes.
//! `cargo run --release --no-default-features -p imgdeploy-function --example encode -- PHOTO`
use imgdeploy_function::engine::encoders::{mozjpeg, progressive, Layout, Pixels};
use imgdeploy_function::engine::process_cpu_ms;
use std::time::Instant;

fn main() {
    let path = std::env::args().nth(1).expect("usage: encode PHOTO");
    let photo = image::open(&path)
        .expect("a photo the image crate reads")
        .to_rgb8();
    let (w, h) = (1000, (1000 * photo.height() / photo.width()).max(1));
    let small = image::imageops::resize(&photo, w, h, image::imageops::FilterType::Triangle);
    let pixels = Pixels::new(w, h, Layout::Rgb, small.as_raw().clone());
    let ours = progressive(&pixels.data, w, h, true, 80);
    assert!(
        ours == mozjpeg(&pixels, 80, true).unwrap(),
        "the encoders disagree"
    );
    // Median wall ms and mean CPU ms per call.
    let time = |f: &dyn Fn()| {
        let cpu = process_cpu_ms();
        let mut wall: Vec<f64> = (0..21)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed().as_secs_f64() * 1e3
            })
            .collect();
        wall.sort_by(f64::total_cmp);
        (wall[10], (process_cpu_ms() - cpu) / 21.0)
    };
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    println!("{w}x{h}, {} bytes; wall ms (CPU ms)", ours.len());
    for round in 1..=3 {
        let (a, ac) = time(&|| drop(mozjpeg(&pixels, 80, true)));
        let (b, bc) = one.install(|| time(&|| drop(progressive(&pixels.data, w, h, true, 80))));
        let (c, cc) = time(&|| drop(progressive(&pixels.data, w, h, true, 80)));
        println!(
            "round {round}: mozjpeg {a:.2} ({ac:.2}), jpegenc 1 thread {b:.2} ({bc:.2}), {} threads {c:.2} ({cc:.2})",
            rayon::current_num_threads()
        );
    }
}
