//! Writing new key files: atomically (a temporary file in the same folder, renamed into
//! place only when complete), never over an existing file, secret keys readable by their
//! owner only (on unix). Missing parent folders are created (owner-only on unix, since
//! they hold a secret key). A failure leaves neither file nor created folder behind.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::SignError;

/// Where a key pair with path prefix `PREFIX` lives: `PREFIX.key` and `PREFIX.pub`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPairPaths {
    pub secret: PathBuf,
    pub public: PathBuf,
}

impl KeyPairPaths {
    /// `PREFIX.key` and `PREFIX.pub` (the suffix is appended, never substituted, so
    /// `keys/release.2026` gives `keys/release.2026.key`).
    pub fn from_prefix(prefix: &Path) -> KeyPairPaths {
        let with = |suffix: &str| {
            let mut name = prefix.as_os_str().to_owned();
            name.push(suffix);
            PathBuf::from(name)
        };
        KeyPairPaths {
            secret: with(".key"),
            public: with(".pub"),
        }
    }

    /// The first of the two files that already exists (even as a dangling link).
    pub fn existing(&self) -> Option<&Path> {
        [&self.secret, &self.public]
            .into_iter()
            .find(|p| std::fs::symlink_metadata(p).is_ok())
            .map(PathBuf::as_path)
    }
}

/// Writes a key pair's file texts to `paths`, refusing to overwrite either file
/// ([`SignError::AlreadyExists`]) and creating missing parent folders. On any error
/// neither file, nor any folder this call created, is left behind.
pub fn write_keypair_files(
    paths: &KeyPairPaths,
    secret_text: &str,
    public_text: &str,
) -> Result<(), SignError> {
    if let Some(existing) = paths.existing() {
        return Err(SignError::AlreadyExists {
            path: existing.to_path_buf(),
        });
    }
    let mut created = Vec::new();
    let result = create_parents(&paths.secret, &mut created)
        .and_then(|()| create_parents(&paths.public, &mut created))
        .and_then(|()| write_new_file(&paths.secret, secret_text.as_bytes(), true))
        .and_then(|()| {
            write_new_file(&paths.public, public_text.as_bytes(), false).inspect_err(|_| {
                // We created the secret key file a moment ago; take it back.
                let _ = std::fs::remove_file(&paths.secret);
            })
        });
    if result.is_err() {
        // Deepest first; remove_dir only removes a folder that is still empty.
        for dir in created.iter().rev() {
            let _ = std::fs::remove_dir(dir);
        }
    }
    result
}

/// Creates the missing folders above `path`, recording each one it created (outermost
/// first) in `created`.
fn create_parents(path: &Path, created: &mut Vec<PathBuf>) -> Result<(), SignError> {
    let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) else {
        return Ok(());
    };
    let missing: Vec<&Path> = parent
        .ancestors()
        .take_while(|a| !a.as_os_str().is_empty() && std::fs::symlink_metadata(a).is_err())
        .collect();
    for dir in missing.into_iter().rev() {
        let mut builder = std::fs::DirBuilder::new();
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            builder.mode(0o700);
        }
        match builder.create(dir) {
            Ok(()) => created.push(dir.to_path_buf()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(source) => {
                return Err(SignError::Write {
                    path: dir.to_path_buf(),
                    source,
                });
            }
        }
    }
    Ok(())
}

/// Writes a public (non-secret) file atomically: a temporary file in the same folder,
/// renamed into place when complete. With `replace`, an existing file is replaced (its
/// readers see the old or the new text, never a mix); without, an existing file is an
/// [`SignError::AlreadyExists`] error. Missing parent folders are created.
pub fn write_public_file(path: &Path, bytes: &[u8], replace: bool) -> Result<(), SignError> {
    let mut created = Vec::new();
    create_parents(path, &mut created)?;
    let result = write_file(path, bytes, false, replace);
    if result.is_err() {
        for dir in created.iter().rev() {
            let _ = std::fs::remove_dir(dir);
        }
    }
    result
}

/// Writes `bytes` to the new file `path` atomically; fails if `path` exists.
fn write_new_file(path: &Path, bytes: &[u8], secret: bool) -> Result<(), SignError> {
    write_file(path, bytes, secret, false)
}

fn write_file(path: &Path, bytes: &[u8], secret: bool, replace: bool) -> Result<(), SignError> {
    let write_err = |source| SignError::Write {
        path: path.to_path_buf(),
        source,
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    // tempfile creates the file readable and writable by its owner only (0600 on unix).
    let mut tmp = tempfile::Builder::new()
        .prefix(".hotfix-key-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(write_err)?;
    tmp.write_all(bytes).map_err(write_err)?;
    #[cfg(unix)]
    if !secret {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))
            .map_err(write_err)?;
    }
    #[cfg(not(unix))]
    let _ = secret;
    tmp.as_file().sync_all().map_err(write_err)?;
    let persisted = if replace {
        tmp.persist(path)
    } else {
        tmp.persist_noclobber(path)
    };
    persisted.map_err(|e| {
        if e.error.kind() == std::io::ErrorKind::AlreadyExists {
            SignError::AlreadyExists {
                path: path.to_path_buf(),
            }
        } else {
            write_err(e.error)
        }
    })?;
    #[cfg(unix)]
    if let Ok(d) = std::fs::File::open(dir) {
        // Make the rename durable; failure here loses nothing already written.
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_gets_suffixes_appended_not_substituted() {
        let p = KeyPairPaths::from_prefix(Path::new("keys/release.2026"));
        assert_eq!(p.secret, Path::new("keys/release.2026.key"));
        assert_eq!(p.public, Path::new("keys/release.2026.pub"));
    }

    #[test]
    fn writes_both_files_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let paths = KeyPairPaths::from_prefix(&dir.path().join("k"));
        write_keypair_files(&paths, "secret\n", "public\n").expect("write");
        assert_eq!(
            std::fs::read_to_string(&paths.secret).expect("read"),
            "secret\n"
        );
        assert_eq!(
            std::fs::read_to_string(&paths.public).expect("read"),
            "public\n"
        );
        assert_eq!(std::fs::read_dir(dir.path()).expect("ls").count(), 2);
    }

    #[cfg(unix)]
    #[test]
    fn secret_key_file_is_readable_by_its_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let paths = KeyPairPaths::from_prefix(&dir.path().join("k"));
        write_keypair_files(&paths, "secret\n", "public\n").expect("write");
        let mode = |p: &Path| std::fs::metadata(p).expect("stat").permissions().mode() & 0o777;
        assert_eq!(mode(&paths.secret), 0o600);
        assert_eq!(mode(&paths.public), 0o644);
    }

    #[test]
    fn refuses_to_overwrite_an_existing_public_key_and_writes_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let paths = KeyPairPaths::from_prefix(&dir.path().join("k"));
        std::fs::write(&paths.public, "old").expect("write");
        let err = write_keypair_files(&paths, "secret\n", "public\n").expect_err("must fail");
        assert!(matches!(&err, SignError::AlreadyExists { path } if *path == paths.public));
        assert!(!paths.secret.exists());
        assert_eq!(std::fs::read_to_string(&paths.public).expect("read"), "old");
    }

    #[test]
    fn failure_writing_the_public_key_removes_the_secret_key() {
        let dir = tempfile::tempdir().expect("tempdir");
        // A file where the public key's folder should be: that folder cannot be made.
        std::fs::write(dir.path().join("not-a-dir"), "").expect("write");
        let paths = KeyPairPaths {
            secret: dir.path().join("k.key"),
            public: dir.path().join("not-a-dir").join("k.pub"),
        };
        let err = write_keypair_files(&paths, "secret\n", "public\n").expect_err("must fail");
        assert!(matches!(err, SignError::Write { .. }), "{err}");
        assert!(!paths.secret.exists());
    }

    #[test]
    fn creates_missing_parent_folders() {
        let dir = tempfile::tempdir().expect("tempdir");
        let paths = KeyPairPaths::from_prefix(&dir.path().join("keys").join("2026").join("k"));
        write_keypair_files(&paths, "secret\n", "public\n").expect("write");
        assert!(paths.secret.is_file() && paths.public.is_file());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("keys"))
                .expect("stat")
                .permissions()
                .mode();
            assert_eq!(
                mode & 0o077,
                0,
                "a folder made for a secret key is owner-only"
            );
        }
    }

    #[test]
    fn a_failure_removes_the_folders_it_created() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("blocker"), "").expect("write");
        let paths = KeyPairPaths {
            secret: dir.path().join("new").join("deeper").join("k.key"),
            public: dir.path().join("blocker").join("k.pub"),
        };
        write_keypair_files(&paths, "secret\n", "public\n").expect_err("must fail");
        assert!(
            !dir.path().join("new").exists(),
            "created folders are taken back"
        );
    }
}
