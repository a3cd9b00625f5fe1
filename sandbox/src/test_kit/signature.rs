use starpos_protocol::signature::{Point, Signature};

/// A name written in three strokes of 150 points, sampled every 8 ms, on a 1080 x 360 canvas:
/// what a phone's signature pad reports for a customer's signature.
pub fn sample_signature() -> Signature {
    let mut t = 0;
    let strokes = (0..3u32)
        .map(|s| {
            (0..150u32)
                .map(|i| {
                    t += 8;
                    let y = 180.0 + (f64::from(i) / 9.0 + f64::from(s)).sin() * 90.0;
                    Point { x: 60 + s * 320 + i * 2, y: y as u32, t_ms: t }
                })
                .collect()
        })
        .collect();
    Signature { width: 1080, height: 360, strokes }
}
