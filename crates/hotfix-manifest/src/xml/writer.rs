//! The writer: a [`Manifest`] as the exact bytes that are signed.
//!
//! A fixed template (element and attribute order, two-space indentation, `\n` line
//! ends, UTF-8 without BOM), so the same model always gives the same bytes. It must
//! never depend on anything but the model (no clock, no locale, no map iteration
//! order), and never write a construct the reader refuses: [`Manifest::validate`] reads
//! the output back to prove it.

use crate::{FileEntry, Manifest};

impl Manifest {
    /// The exact bytes that are signed.
    ///
    /// Deterministic: the same model always gives the same bytes. Lists are written in
    /// the order they are in; a manifest that [`Manifest::validate`] accepts (call
    /// [`Manifest::sort`] first) reads back equal with [`Manifest::from_xml`].
    pub fn to_xml(&self) -> Vec<u8> {
        let mut w = String::with_capacity(1024 + 160 * self.payload().count());
        w.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        w.push_str("<hotfix");
        attr(&mut w, "format", &self.format.to_string());
        attr(&mut w, "id", &self.id);
        attr(&mut w, "version", &self.version.to_string());
        w.push_str(">\n");

        text_element(&mut w, "title", &self.title);
        if !self.description.is_empty() {
            text_element(&mut w, "description", &self.description);
        }
        w.push_str("  <base");
        attr(&mut w, "release", &self.base.release);
        attr(&mut w, "support-package", &self.base.support_package);
        w.push_str("/>\n");
        text_element(&mut w, "created", &self.created);
        id_list(&mut w, "supersedes", &self.supersedes);
        id_list(&mut w, "requires", &self.requires);

        for p in &self.software_packages {
            w.push_str("  <software-package");
            attr(&mut w, "name", &p.name);
            attr(&mut w, "version", &p.version);
            w.push_str(">\n");
            for f in &p.files {
                w.push_str("    <file");
                file_attrs(&mut w, f);
                w.push_str("/>\n");
            }
            w.push_str("  </software-package>\n");
        }
        for m in &self.msis {
            w.push_str("  <msi");
            file_attrs(&mut w, &m.file);
            attr(&mut w, "product-code", &m.product_code);
            attr(&mut w, "upgrade-code", &m.upgrade_code);
            attr(&mut w, "product-version", &m.product_version);
            attr(&mut w, "product-name", &m.product_name);
            attr(&mut w, "replaces-version", &m.replaces_version);
            w.push_str("/>\n");
        }
        for d in &self.docs {
            w.push_str("  <doc");
            file_attrs(&mut w, d);
            w.push_str("/>\n");
        }
        w.push_str("</hotfix>\n");
        w.into_bytes()
    }
}

fn attr(w: &mut String, name: &str, value: &str) {
    w.push(' ');
    w.push_str(name);
    w.push_str("=\"");
    for c in value.chars() {
        match c {
            '&' => w.push_str("&amp;"),
            '<' => w.push_str("&lt;"),
            '>' => w.push_str("&gt;"),
            '"' => w.push_str("&quot;"),
            // Raw whitespace in attributes is normalised to spaces by readers; keep it.
            '\t' => w.push_str("&#9;"),
            '\n' => w.push_str("&#10;"),
            '\r' => w.push_str("&#13;"),
            c => w.push(c),
        }
    }
    w.push('"');
}

fn file_attrs(w: &mut String, f: &FileEntry) {
    attr(w, "path", &f.path);
    attr(w, "size", &f.size.to_string());
    attr(w, "sha256", &f.sha256.to_hex());
}

fn text_element(w: &mut String, name: &str, text: &str) {
    w.push_str("  <");
    w.push_str(name);
    w.push('>');
    for c in text.chars() {
        match c {
            '&' => w.push_str("&amp;"),
            '<' => w.push_str("&lt;"),
            '>' => w.push_str("&gt;"),
            // A raw CR would be turned into LF by any reader.
            '\r' => w.push_str("&#13;"),
            c => w.push(c),
        }
    }
    w.push_str("</");
    w.push_str(name);
    w.push_str(">\n");
}

fn id_list(w: &mut String, name: &str, ids: &[String]) {
    if ids.is_empty() {
        return;
    }
    w.push_str("  <");
    w.push_str(name);
    w.push_str(">\n");
    for id in ids {
        w.push_str("    <hotfix");
        attr(w, "id", id);
        w.push_str("/>\n");
    }
    w.push_str("  </");
    w.push_str(name);
    w.push_str(">\n");
}
