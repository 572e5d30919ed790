//! The CycloneDX 1.5 SBOM of a hotfix package, made from its manifest alone.
//!
//! `hotfix build` puts it into the package as [`SBOM_ENTRY`] (listed in the signed
//! manifest like any payload file, so the signatures cover it), and `hotfix sbom` prints
//! it for any package. Both come from [`cyclonedx_json`], which depends on nothing but
//! the manifest, so the same manifest always gives the same bytes: the SBOM printed
//! from a package equals the one inside it.
//!
//! What it lists (see `docs/FORMAT.md`): the hotfix as the BOM's subject; each server
//! software package (name, version) with every file it replaces (path, SHA-256); each
//! MSI (ProductName, ProductVersion, ProductCode and UpgradeCode as properties, the MSI
//! file's SHA-256); the documents; the hotfixes it requires as dependencies and the
//! ones it supersedes as excluded components.

use hotfix_manifest::{FileEntry, Manifest};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// Where the SBOM stands in a package.
pub const SBOM_ENTRY: &str = "docs/sbom.cdx.json";

fn hashes(f: &FileEntry) -> Value {
    json!([{ "alg": "SHA-256", "content": f.sha256.to_hex() }])
}

fn file_component(f: &FileEntry) -> Value {
    json!({
        "type": "file",
        "bom-ref": format!("file:{}", f.path),
        "name": f.path,
        "hashes": hashes(f),
        "properties": [{ "name": "hotfix:size", "value": f.size.to_string() }],
    })
}

fn hotfix_ref(id: &str) -> String {
    format!("hotfix:{id}")
}

/// A UUID (RFC 4122 form, version 5 bits, variant 1) derived from the manifest's own
/// content, so the serial number is the same for every rebuild of one manifest.
fn serial_number(m: &Manifest) -> String {
    let mut h = Sha256::new();
    h.update(b"hotfix-sbom\0");
    h.update(m.id.as_bytes());
    h.update(b"\0");
    h.update(m.version.to_le_bytes());
    for f in m.payload().filter(|f| f.path != SBOM_ENTRY) {
        h.update(f.path.as_bytes());
        h.update(f.sha256.0);
    }
    let d = h.finalize();
    let mut b = [0u8; 16];
    b.copy_from_slice(&d[..16]);
    b[6] = (b[6] & 0x0f) | 0x50;
    b[8] = (b[8] & 0x3f) | 0x80;
    let x = hex_lower(&b);
    format!(
        "urn:uuid:{}-{}-{}-{}-{}",
        &x[0..8],
        &x[8..12],
        &x[12..16],
        &x[16..20],
        &x[20..32]
    )
}

fn hex_lower(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// The SBOM of the hotfix `m` describes, as pretty-printed JSON ending in a newline.
/// `tool_version` is the version of `hotfix` named as the BOM's tool. A manifest entry
/// for [`SBOM_ENTRY`] itself is left out (an SBOM cannot list its own hash).
pub fn cyclonedx_json(m: &Manifest, tool_version: &str) -> Vec<u8> {
    let subject = hotfix_ref(&m.id);
    let mut components = Vec::new();
    for p in &m.software_packages {
        components.push(json!({
            "type": "application",
            "bom-ref": format!("software-package:{}", p.name),
            "name": p.name,
            "version": p.version,
            "components": p.files.iter().map(file_component).collect::<Vec<_>>(),
        }));
    }
    for msi in &m.msis {
        components.push(json!({
            "type": "application",
            "bom-ref": format!("msi:{}", msi.file.path),
            "name": msi.product_name,
            "version": msi.product_version,
            "hashes": hashes(&msi.file),
            "properties": [
                { "name": "msi:ProductCode", "value": msi.product_code },
                { "name": "msi:UpgradeCode", "value": msi.upgrade_code },
                { "name": "msi:File", "value": msi.file.path },
                { "name": "hotfix:replaces-version", "value": msi.replaces_version },
            ],
        }));
    }
    for doc in m.docs.iter().filter(|d| d.path != SBOM_ENTRY) {
        components.push(file_component(doc));
    }
    for old in &m.supersedes {
        components.push(json!({
            "type": "application",
            "bom-ref": hotfix_ref(old),
            "name": old,
            "scope": "excluded",
            "properties": [{ "name": "hotfix:relation", "value": "superseded-by" }],
        }));
    }
    for req in &m.requires {
        components.push(json!({
            "type": "application",
            "bom-ref": hotfix_ref(req),
            "name": req,
            "scope": "required",
            "properties": [{ "name": "hotfix:relation", "value": "required-by" }],
        }));
    }
    let mut subject_depends: Vec<String> = m
        .software_packages
        .iter()
        .map(|p| format!("software-package:{}", p.name))
        .chain(m.msis.iter().map(|x| format!("msi:{}", x.file.path)))
        .chain(m.requires.iter().map(|r| hotfix_ref(r)))
        .collect();
    subject_depends.dedup();
    let bom = json!({
        "$schema": "http://cyclonedx.org/schema/bom-1.5.schema.json",
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "serialNumber": serial_number(m),
        "version": 1,
        "metadata": {
            "timestamp": m.created,
            "tools": {
                "components": [{ "type": "application", "name": "hotfix", "version": tool_version }],
            },
            "component": {
                "type": "application",
                "bom-ref": subject,
                "name": m.id,
                "version": m.version.to_string(),
                "description": m.title,
                "properties": [
                    { "name": "hotfix:release", "value": m.base.release },
                    { "name": "hotfix:support-package", "value": m.base.support_package },
                ],
            },
        },
        "components": components,
        "dependencies": [{ "ref": subject, "dependsOn": subject_depends }],
    });
    // `json!` keeps keys in sorted order: the output is deterministic.
    let mut out = serde_json::to_vec_pretty(&bom).unwrap_or_default();
    out.push(b'\n');
    out
}
