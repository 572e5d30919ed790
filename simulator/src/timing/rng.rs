//! Seeded, portable randomness for the timing model.
//!
//! Every random quantity is a pure function of `(seed, stream, index, attempt)`: the
//! apply duration of node 17 on its 2nd attempt is the same whatever the rollout strategy,
//! the event order or the number of threads. That gives common random numbers when two
//! strategies are compared, and byte-identical results across runs and platforms.
//!
//! Never use the platform's libm here (`f64::ln`, `exp`, `cos`): their last bits differ
//! between C libraries. The few transcendental functions needed are written with basic
//! IEEE arithmetic, which is exactly rounded everywhere.

use rand_core::{Rng, SeedableRng};
use rand_pcg::Pcg64Mcg;

/// What a draw is for; each purpose is an independent stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u64)]
pub(crate) enum Stream {
    TransferFail = 1,
    TransferFailPoint = 2,
    Apply = 3,
    ApplyFail = 4,
    Unreachable = 5,
    Ia = 6,
    WsRemove = 7,
    WsInstall = 8,
    WsFail = 9,
    Rollback = 10,
    WsLogon = 11,
    WsOff = 12,
    WsOffFor = 13,
}

/// SplitMix64 finaliser: a bijective, well-mixing hash of 64 bits.
#[inline]
fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A PCG generator for one `(seed, stream, index, attempt)`.
#[inline]
pub(crate) fn rng_for(seed: u64, stream: Stream, index: u32, attempt: u32) -> Pcg64Mcg {
    let a = mix64(seed ^ mix64(stream as u64));
    let b = mix64(a ^ ((u64::from(index) << 32) | u64::from(attempt)));
    let mut seed_bytes = [0u8; 16];
    seed_bytes[..8].copy_from_slice(&a.to_le_bytes());
    seed_bytes[8..].copy_from_slice(&b.to_le_bytes());
    Pcg64Mcg::from_seed(seed_bytes)
}

/// One uniform `u64` for `(seed, stream, index, attempt)`.
#[inline]
pub(crate) fn draw(seed: u64, stream: Stream, index: u32, attempt: u32) -> u64 {
    rng_for(seed, stream, index, attempt).next_u64()
}

/// A uniform `f64` in `[0, 1)` from the top 53 bits of `x`.
#[inline]
pub(crate) fn unit(x: u64) -> f64 {
    (x >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// True with probability `p` (given as parts per 2^64, see [`prob_threshold`]).
#[inline]
pub(crate) fn chance(
    seed: u64,
    stream: Stream,
    index: u32,
    attempt: u32,
    threshold: Option<u64>,
) -> bool {
    match threshold {
        None => false,
        Some(u64::MAX) => true,
        Some(t) => draw(seed, stream, index, attempt) < t,
    }
}

/// Converts a probability into a `u64` threshold so that "draw < threshold" has that
/// probability; `None` for zero (no draw needed), `Some(u64::MAX)` for one.
pub(crate) fn prob_threshold(p: f64) -> Option<u64> {
    if p <= 0.0 {
        None
    } else if p >= 1.0 {
        Some(u64::MAX)
    } else {
        // Exact: p * 2^64 is a multiplication by a power of two.
        Some((p * 18_446_744_073_709_551_616.0) as u64)
    }
}

/// Natural logarithm with basic arithmetic only (portable to the last bit).
pub(crate) fn ln(x: f64) -> f64 {
    if x.is_nan() || x < 0.0 {
        return f64::NAN;
    }
    if x == 0.0 {
        return f64::NEG_INFINITY;
    }
    if x.is_infinite() {
        return f64::INFINITY;
    }
    let mut bits = x.to_bits();
    let mut e: i64 = ((bits >> 52) & 0x7ff) as i64;
    if e == 0 {
        // Subnormal: scale up first.
        let y = x * (1u64 << 54) as f64;
        bits = y.to_bits();
        e = ((bits >> 52) & 0x7ff) as i64 - 54;
    }
    e -= 1023;
    // Mantissa in [1, 2).
    let mut m = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | 0x3ff0_0000_0000_0000);
    if m > std::f64::consts::SQRT_2 {
        m *= 0.5;
        e += 1;
    }
    // ln(m) = 2 atanh(s), s = (m-1)/(m+1), |s| <= 0.1716: 8 odd terms (Horner in s²)
    // leave a truncation error below 0.1716^17/17 ≈ 6e-15.
    const INV_ODD: [f64; 8] = [
        1.0,
        0.3333333333333333,
        0.2,
        0.14285714285714285,
        0.1111111111111111,
        0.09090909090909091,
        0.07692307692307693,
        0.06666666666666667,
    ];
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    let mut poly = 0.0;
    for c in INV_ODD.iter().rev() {
        poly = poly * s2 + c;
    }
    let sum = s * poly;
    2.0 * sum + e as f64 * std::f64::consts::LN_2
}

/// `2^(j/64)` for `j` in `0..64`, by a Taylor series of `e^(j ln2 / 64)` at compile time
/// (27 terms: the truncation error is far below an ulp for arguments up to ln 2).
const EXP2_64THS: [f64; 64] = {
    let mut t = [0.0; 64];
    let mut j = 0;
    while j < 64 {
        let r = j as f64 * (std::f64::consts::LN_2 / 64.0);
        let mut term = 1.0;
        let mut sum = 1.0;
        let mut n = 1;
        while n < 27 {
            term = term * r / n as f64;
            sum += term;
            n += 1;
        }
        t[j] = sum;
        j += 1;
    }
    t
};

/// Rounds to the nearest integer (halves away from zero) with a conversion the CPU does
/// inline; `f64::round` is a library call on baseline x86-64.
#[inline]
pub(crate) fn round_i64(x: f64) -> i64 {
    (x + 0.5f64.copysign(x)) as i64
}

/// `e^x` with basic arithmetic only (portable to the last bit): `x = (64m + j) ln2/64 + r`
/// with `|r| <= ln2/128`, so `e^x = 2^m · 2^(j/64) · e^r`, and six Taylor terms give `e^r`
/// to below 1e-19.
#[inline]
pub(crate) fn exp(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    if x > 709.0 {
        return f64::INFINITY;
    }
    if x < -708.0 {
        return 0.0;
    }
    let k = round_i64(x * (64.0 / std::f64::consts::LN_2));
    // Cody–Waite: ln 2 in two parts (fdlibm's); `k · LN2_HI` is exact for |k| < 2^21.
    const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000);
    const LN2_LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76);
    let kf = k as f64;
    let r = (x - kf * (LN2_HI / 64.0)) - kf * (LN2_LO / 64.0);
    let er = 1.0
        + r * (1.0
            + r * (0.5
                + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0))))));
    let (m, j) = (k.div_euclid(64), k.rem_euclid(64) as usize);
    let scale = f64::from_bits(((m + 1023) as u64) << 52);
    EXP2_64THS[j] * er * scale
}

/// Layers of the ziggurat.
const ZIG_LAYERS: usize = 256;
/// Where the tail starts, and the area of each layer, for 256 layers under
/// `f(x) = exp(-x²/2)` (Marsaglia and Tsang, "The Ziggurat Method for Generating Random
/// Variables", 2000; the constants rand_distr uses for the same layout).
const ZIG_R: f64 = 3.654_152_885_361_009;
const ZIG_V: f64 = 0.004_928_673_233_99;

/// The ziggurat's layer edges `x[0..=256]` (decreasing, `x[1] = R`, `x[256] = 0`) and
/// `f(x[i])`. Computed once from [`ln`] and [`exp`], so identical on every platform.
struct Ziggurat {
    x: [f64; ZIG_LAYERS + 1],
    f: [f64; ZIG_LAYERS + 1],
}

fn ziggurat() -> &'static Ziggurat {
    static TABLES: std::sync::OnceLock<Ziggurat> = std::sync::OnceLock::new();
    TABLES.get_or_init(|| {
        let pdf = |x: f64| exp(-0.5 * x * x);
        let mut x = [0.0; ZIG_LAYERS + 1];
        x[0] = ZIG_V / pdf(ZIG_R);
        x[1] = ZIG_R;
        for i in 2..ZIG_LAYERS {
            // Each layer has area V: x[i-1] * (f(x[i]) - f(x[i-1])) = V.
            let fx = (ZIG_V / x[i - 1] + pdf(x[i - 1])).min(1.0);
            x[i] = (-2.0 * ln(fx)).sqrt();
        }
        x[ZIG_LAYERS] = 0.0;
        let mut f = [0.0; ZIG_LAYERS + 1];
        for (fi, xi) in f.iter_mut().zip(x.iter()) {
            *fi = pdf(*xi);
        }
        Ziggurat { x, f }
    })
}

/// A uniform in the open interval (0, 1).
#[inline]
fn open01(x: u64) -> f64 {
    ((x >> 12) as f64 + 0.5) * (1.0 / (1u64 << 52) as f64)
}

/// A standard normal variate (ziggurat), portable to the last bit: one 64-bit draw and
/// two multiplications in about 99 % of the calls; the rest use [`ln`] and [`exp`].
pub(crate) fn normal(rng: &mut Pcg64Mcg) -> f64 {
    let zig = ziggurat();
    loop {
        let bits = rng.next_u64();
        let i = (bits & 0xff) as usize;
        // A uniform in (-1, 1) from the 52 bits above the layer index.
        let u = 2.0 * open01(bits) - 1.0;
        let x = u * zig.x[i];
        if x.abs() < zig.x[i + 1] {
            return x;
        }
        if i == 0 {
            // The tail beyond R (Marsaglia's method).
            loop {
                let t = ln(open01(rng.next_u64())) / ZIG_R;
                let y = ln(open01(rng.next_u64()));
                if -2.0 * y >= t * t {
                    return if u < 0.0 { t - ZIG_R } else { ZIG_R - t };
                }
            }
        }
        // The wedge between the layer's rectangle and the curve.
        let f = zig.f[i + 1] + (zig.f[i] - zig.f[i + 1]) * unit(rng.next_u64());
        if f < exp(-0.5 * x * x) {
            return x;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ln_and_exp_agree_with_libm_closely() {
        for &x in &[
            1e-300, 1e-5, 0.1, 0.5, 1.0, 1.5, 2.0, 10.0, 12345.678, 1e300,
        ] {
            let ours = ln(x);
            let libm = x.ln();
            assert!(
                (ours - libm).abs() <= 1e-12 * libm.abs().max(1.0),
                "ln({x})"
            );
        }
        for &x in &[-700.0, -20.0, -1.0, -0.1, 0.0, 0.3, 1.0, 5.5, 100.0, 700.0] {
            let ours = exp(x);
            let libm = x.exp();
            assert!((ours - libm).abs() <= 1e-13 * libm, "exp({x})");
        }
    }

    #[test]
    fn exp_is_within_a_few_ulps_of_libm_everywhere_it_is_used() {
        let mut worst = 0.0f64;
        for i in -200_000..=200_000 {
            let x = f64::from(i) * 0.000_37 + 0.000_011;
            let (ours, libm) = (exp(x), x.exp());
            worst = worst.max((ours - libm).abs() / libm);
        }
        assert!(worst < 1e-15, "worst relative error {worst}");
        assert_eq!(exp(0.0), 1.0);
        assert_eq!(round_i64(2.5), 3);
        assert_eq!(round_i64(-2.5), -3);
        assert_eq!(round_i64(-0.4), 0);
    }

    #[test]
    fn ziggurat_tables_are_well_formed() {
        let z = ziggurat();
        assert_eq!(z.x[1], ZIG_R);
        assert_eq!(z.x[ZIG_LAYERS], 0.0);
        for i in 1..ZIG_LAYERS {
            assert!(
                z.x[i] > z.x[i + 1],
                "x[{i}] = {} not above x[{}]",
                z.x[i],
                i + 1
            );
            assert!(z.f[i] < z.f[i + 1]);
        }
        // The recursion closes: the top layer's area is V too (to the precision of V).
        let top = z.x[ZIG_LAYERS - 1] * (1.0 - z.f[ZIG_LAYERS - 1]);
        assert!((top - ZIG_V).abs() < 1e-6 * ZIG_V, "top layer area {top}");
    }

    #[test]
    fn normal_has_the_moments_and_tails_of_a_standard_normal() {
        let mut rng = rng_for(7, Stream::Apply, 0, 0);
        let n = 400_000;
        let (mut sum, mut sq, mut beyond2, mut beyond_r, mut neg) = (0.0, 0.0, 0u32, 0u32, 0u32);
        for _ in 0..n {
            let z = normal(&mut rng);
            sum += z;
            sq += z * z;
            beyond2 += u32::from(z.abs() > 2.0);
            beyond_r += u32::from(z.abs() > ZIG_R);
            neg += u32::from(z < 0.0);
        }
        let n_f = f64::from(n);
        let mean = sum / n_f;
        let var = sq / n_f - mean * mean;
        // Standard errors: mean 0.0016, variance 0.0022, P(|z|>2) = 0.0455 ± 0.00033,
        // P(|z|>R) = 0.000258 (103 expected), P(z<0) = 0.5 ± 0.0008. Bounds are ~4-5 σ.
        assert!(mean.abs() < 0.008, "mean {mean}");
        assert!((var - 1.0).abs() < 0.011, "variance {var}");
        let p2 = f64::from(beyond2) / n_f;
        assert!((p2 - 0.0455).abs() < 0.0016, "P(|z|>2) = {p2}");
        assert!((55..=160).contains(&beyond_r), "{beyond_r} beyond R");
        let pn = f64::from(neg) / n_f;
        assert!((pn - 0.5).abs() < 0.004, "P(z<0) = {pn}");
    }

    #[test]
    fn draws_depend_on_every_coordinate() {
        let base = draw(1, Stream::Apply, 2, 3);
        assert_eq!(base, draw(1, Stream::Apply, 2, 3));
        assert_ne!(base, draw(2, Stream::Apply, 2, 3));
        assert_ne!(base, draw(1, Stream::ApplyFail, 2, 3));
        assert_ne!(base, draw(1, Stream::Apply, 3, 3));
        assert_ne!(base, draw(1, Stream::Apply, 2, 4));
    }

    #[test]
    fn probability_thresholds_are_exact_at_the_ends() {
        assert_eq!(prob_threshold(0.0), None);
        assert_eq!(prob_threshold(1.0), Some(u64::MAX));
        assert_eq!(prob_threshold(0.5), Some(1 << 63));
    }
}
