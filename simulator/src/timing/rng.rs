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

/// `e^x` with basic arithmetic only (portable to the last bit).
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
    let k = (x / std::f64::consts::LN_2).round();
    let r = x - k * std::f64::consts::LN_2;
    // Taylor series of e^r, |r| <= 0.347: 13 terms (Horner) leave a truncation error
    // below 0.347^13/13! ≈ 2e-16.
    const INV_FACT: [f64; 13] = [
        1.0,
        1.0,
        0.5,
        0.16666666666666666,
        0.041666666666666664,
        0.008333333333333333,
        0.001388888888888889,
        0.0001984126984126984,
        2.48015873015873e-05,
        2.7557319223985893e-06,
        2.755731922398589e-07,
        2.505210838544172e-08,
        2.08767569878681e-09,
    ];
    let mut sum = 0.0;
    for c in INV_FACT.iter().rev() {
        sum = sum * r + c;
    }
    let scale = f64::from_bits(((k as i64 + 1023) as u64) << 52);
    sum * scale
}

/// A standard normal variate (Marsaglia's polar method), portable to the last bit.
pub(crate) fn normal(rng: &mut Pcg64Mcg) -> f64 {
    loop {
        let u = 2.0 * unit(rng.next_u64()) - 1.0;
        let v = 2.0 * unit(rng.next_u64()) - 1.0;
        let s = u * u + v * v;
        if s > 0.0 && s < 1.0 {
            // sqrt is exactly rounded by IEEE 754, so it is portable.
            return u * (-2.0 * ln(s) / s).sqrt();
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
