//! The one error type of this crate. Every variant names the file, key id or field
//! involved so an operator can act on the message without reading code.

use std::path::{Path, PathBuf};

use crate::KeyId;

/// Errors from keys, signatures and trust sets.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SignError {
    /// A file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A file could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A file to be created already exists; nothing was overwritten.
    #[error("{} already exists; refusing to overwrite it", path.display())]
    AlreadyExists { path: PathBuf },
    /// A file is far larger than any key or signature file can be.
    #[error("{} is larger than {limit} bytes, too large for a {what}", path.display())]
    FileTooLarge {
        path: PathBuf,
        what: &'static str,
        limit: u64,
    },
    /// The text is not a well-formed key or signature.
    #[error("malformed {what}: {reason}")]
    Malformed { what: &'static str, reason: String },
    /// An algorithm identifier this implementation does not know.
    #[error("unsupported {what} {found:?} (supported: {supported})")]
    UnsupportedAlgorithm {
        what: &'static str,
        found: String,
        supported: &'static str,
    },
    /// The secret key's scrypt parameters are out of the range this tool accepts.
    #[error(
        "the secret key's scrypt parameters (opslimit {opslimit}, memlimit {memlimit}) are {reason}"
    )]
    UnsupportedKdfParams {
        opslimit: u64,
        memlimit: u64,
        reason: &'static str,
    },
    /// The secret key is encrypted but no passphrase was given.
    #[error("the secret key is protected by a passphrase, and none was given")]
    PassphraseRequired,
    /// The passphrase does not decrypt the secret key (its checksum does not match).
    #[error("wrong passphrase: the decrypted secret key does not match its checksum")]
    WrongPassphrase,
    /// A passphrase that minisign could not use.
    #[error("invalid passphrase: {reason}")]
    InvalidPassphrase { reason: &'static str },
    /// A comment that cannot be stored in a minisign file.
    #[error("invalid {what}: {reason}")]
    InvalidComment { what: &'static str, reason: String },
    /// The signature names another key than the one it is checked with.
    #[error("the signature was made by key {signature_key_id}, not by key {public_key_id}")]
    KeyIdMismatch {
        signature_key_id: KeyId,
        public_key_id: KeyId,
    },
    /// The signature does not match the data.
    #[error(
        "the signature by key {key_id} does not match the data: the data or the signature was changed"
    )]
    BadSignature { key_id: KeyId },
    /// The global signature does not match the signature and trusted comment.
    #[error(
        "the trusted comment signature by key {key_id} is invalid: the trusted comment was changed"
    )]
    BadGlobalSignature { key_id: KeyId },
    /// The signer is not among the trusted keys.
    #[error("key {key_id} is not a trusted key")]
    UnknownKey { key_id: KeyId },
    /// A trust folder holds no `*.pub` file.
    #[error("no public key files (*.pub) in folder {}", path.display())]
    NoKeysInFolder { path: PathBuf },
    /// Two different public keys claim the same key id.
    #[error(
        "key id {key_id} belongs to two different public keys: {} and {}",
        first.display(),
        second.display()
    )]
    DuplicateKey {
        key_id: KeyId,
        first: PathBuf,
        second: PathBuf,
    },
    /// The operating system's random number generator failed.
    #[error("cannot get random bytes from the operating system: {reason}")]
    Random { reason: String },
    /// A [`Signer`](crate::Signer) outside this process (a hardware token) failed to sign.
    #[error("the signing device holding key {key_id} failed: {source}")]
    Device {
        key_id: KeyId,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A trust policy, or a package judged under one, is refused by a rule.
    #[error("{message}")]
    Policy {
        rule: crate::policy::PolicyRule,
        message: String,
    },
    /// An error in the named file.
    #[error("{}: {source}", path.display())]
    InFile {
        path: PathBuf,
        #[source]
        source: Box<SignError>,
    },
}

impl SignError {
    /// The error without file context ([`SignError::InFile`] unwrapped), for matching.
    ///
    /// ```
    /// # use hotfix_sign::SignError;
    /// let err = SignError::WrongPassphrase.in_file("release.key".as_ref());
    /// assert!(matches!(err.root(), SignError::WrongPassphrase));
    /// ```
    pub fn root(&self) -> &SignError {
        let mut err = self;
        while let SignError::InFile { source, .. } = err {
            err = source;
        }
        err
    }

    /// The file the error is about, if any.
    pub fn path(&self) -> Option<&Path> {
        match self {
            SignError::Io { path, .. }
            | SignError::Write { path, .. }
            | SignError::AlreadyExists { path }
            | SignError::FileTooLarge { path, .. }
            | SignError::NoKeysInFolder { path }
            | SignError::InFile { path, .. } => Some(path),
            SignError::DuplicateKey { second, .. } => Some(second),
            _ => None,
        }
    }

    /// Adds the file the error is about, unless the error already names a file.
    pub fn in_file(self, path: &Path) -> SignError {
        if self.path().is_some() {
            return self;
        }
        SignError::InFile {
            path: path.to_path_buf(),
            source: Box::new(self),
        }
    }

    pub(crate) fn malformed(what: &'static str, reason: impl Into<String>) -> SignError {
        SignError::Malformed {
            what,
            reason: reason.into(),
        }
    }
}
