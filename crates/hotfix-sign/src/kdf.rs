//! scrypt key derivation for passphrase-protected minisign secret keys.
//!
//! minisign stores libsodium's `opslimit`/`memlimit` in the key file, not scrypt's
//! N/r/p; [`pick_params`] turns them into N/r/p exactly as libsodium's `pickparams`
//! does, so both tools derive the same stream. The limits come from an untrusted file:
//! anything more expensive than minisign's own defaults (1 GiB) is refused rather than
//! run, and the derived stream is zeroized on drop.

use zeroize::Zeroizing;

use crate::SignError;

/// libsodium's `crypto_pwhash_scryptsalsa208sha256_OPSLIMIT_SENSITIVE`, as minisign uses.
pub const DEFAULT_OPSLIMIT: u64 = 33_554_432;
/// libsodium's `crypto_pwhash_scryptsalsa208sha256_MEMLIMIT_SENSITIVE` (1 GiB).
pub const DEFAULT_MEMLIMIT: u64 = 1_073_741_824;

/// N = 2^20 with r = 8 is 1 GiB, minisign's default and our ceiling.
const MAX_LOG_N: u8 = 20;
/// Ceiling on r·p: four times the work of minisign's defaults (r = 8, p = 1).
const MAX_R_TIMES_P: u64 = 32;

/// The length of the encrypted part of a secret key: key id, ed25519 key pair, checksum.
pub(crate) const STREAM_LEN: usize = 8 + 64 + 32;

/// scrypt's (log2 N, r, p) for libsodium's (opslimit, memlimit): a transcription of
/// libsodium's `pickparams` (crypto_pwhash/scryptsalsa208sha256/pwhash_scryptsalsa208sha256.c).
pub(crate) fn pick_params(opslimit: u64, memlimit: u64) -> (u8, u32, u32) {
    let opslimit = opslimit.max(32_768);
    let r: u32 = 8;
    let smallest_log_n_above = |max_n: u64| {
        let mut log_n: u8 = 1;
        while log_n < 63 && (1u64 << log_n) <= max_n / 2 {
            log_n += 1;
        }
        log_n
    };
    if opslimit < memlimit / 32 {
        let log_n = smallest_log_n_above(opslimit / (u64::from(r) * 4));
        (log_n, r, 1)
    } else {
        let log_n = smallest_log_n_above(memlimit / (u64::from(r) * 128));
        let max_rp = ((opslimit / 4) >> log_n).min(0x3fff_ffff);
        // max_rp <= 0x3fff_ffff, so it fits in a u32.
        let p = u32::try_from(max_rp).unwrap_or(0x3fff_ffff) / r;
        (log_n, r, p)
    }
}

/// The 104-byte stream that is XORed with the key id, key pair and checksum.
pub(crate) fn derive_stream(
    passphrase: &[u8],
    salt: &[u8; 32],
    opslimit: u64,
    memlimit: u64,
) -> Result<Zeroizing<[u8; STREAM_LEN]>, SignError> {
    let refuse = |reason| SignError::UnsupportedKdfParams {
        opslimit,
        memlimit,
        reason,
    };
    let (log_n, r, p) = pick_params(opslimit, memlimit);
    if log_n > MAX_LOG_N || u64::from(r) * u64::from(p) > MAX_R_TIMES_P {
        return Err(refuse(
            "more expensive than minisign's defaults allow (at most 1 GiB of memory)",
        ));
    }
    if p == 0 {
        return Err(refuse("invalid (they give scrypt p = 0)"));
    }
    let params = scrypt::Params::new(log_n, r, p).map_err(|_| refuse("invalid for scrypt"))?;
    let mut stream = Zeroizing::new([0u8; STREAM_LEN]);
    scrypt::scrypt(passphrase, salt, &params, &mut stream[..])
        .map_err(|_| refuse("invalid for scrypt"))?;
    Ok(stream)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minisign_defaults_pick_n_2_pow_20_r_8_p_1() {
        assert_eq!(pick_params(DEFAULT_OPSLIMIT, DEFAULT_MEMLIMIT), (20, 8, 1));
    }

    #[test]
    fn small_opslimit_picks_a_small_n_with_p_1() {
        assert_eq!(pick_params(32_768, 16 * 1024 * 1024), (10, 8, 1));
        // opslimit below libsodium's floor is raised to 32768.
        assert_eq!(pick_params(0, 16 * 1024 * 1024), (10, 8, 1));
    }

    #[test]
    fn large_opslimit_with_small_memlimit_raises_p() {
        // memlimit 16 MiB: N = 2^14; opslimit 2^25: p = (2^23 >> 14) / 8 = 64.
        assert_eq!(pick_params(1 << 25, 16 * 1024 * 1024), (14, 8, 64));
    }

    #[test]
    fn refuses_parameters_above_one_gibibyte() {
        let err = derive_stream(b"pw", &[0; 32], 1 << 27, 1 << 32).expect_err("must fail");
        assert!(
            matches!(err, SignError::UnsupportedKdfParams { .. }),
            "{err}"
        );
    }

    #[test]
    fn refuses_parameters_with_too_much_work() {
        let err = derive_stream(b"pw", &[0; 32], 1 << 25, 16 * 1024 * 1024).expect_err("must fail");
        assert!(
            matches!(err, SignError::UnsupportedKdfParams { .. }),
            "{err}"
        );
    }

    #[test]
    fn derived_stream_depends_on_passphrase_and_salt() {
        let a = derive_stream(b"one", &[1; 32], 32_768, 16 << 20).expect("derive");
        let b = derive_stream(b"two", &[1; 32], 32_768, 16 << 20).expect("derive");
        let c = derive_stream(b"one", &[2; 32], 32_768, 16 << 20).expect("derive");
        assert_ne!(*a, *b);
        assert_ne!(*a, *c);
        assert_eq!(
            *a,
            *derive_stream(b"one", &[1; 32], 32_768, 16 << 20).expect("derive")
        );
    }
}
