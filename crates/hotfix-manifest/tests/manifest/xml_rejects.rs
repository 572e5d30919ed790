//! One test per way a manifest is refused: the error variant, and that it points at the
//! right line (and column where it is meaningful).
//!
//! Line numbers refer to `tests/data/golden-manifest.xml`:
//!  2 `<hotfix ...>`, 3 title, 4-6 description, 7 base, 8 created, 9-11 supersedes,
//!  12-14 requires, 15-18 ChatServer (files on 16, 17), 19-21 RoutingEngine (file on 20),
//!  22 msi, 23 doc, 24 `</hotfix>`.

use hotfix_manifest::{MAX_MANIFEST_BYTES, Manifest, ManifestError, ManifestErrorKind};

use crate::common::golden;

fn reject(text: &str) -> ManifestError {
    match Manifest::from_xml(text.as_bytes()) {
        Ok(m) => panic!("accepted:\n{text}\n{m:#?}"),
        Err(e) => e,
    }
}

/// The golden manifest with line `n` (1-based) replaced by `new` (may hold `\n`).
fn with_line(n: usize, new: &str) -> String {
    let mut lines: Vec<&str> = golden().lines().collect();
    lines[n - 1] = new;
    lines.join("\n") + "\n"
}

fn line(n: usize) -> &'static str {
    golden().lines().nth(n - 1).expect("line exists")
}

/// The golden manifest with `from` replaced by `to` exactly once.
fn with(from: &str, to: &str) -> String {
    assert_eq!(
        golden().matches(from).count(),
        1,
        "{from:?} must occur once"
    );
    golden().replace(from, to)
}

#[test]
fn rejects_doctype_with_entity_bomb() {
    let bomb = "<!DOCTYPE hotfix [\n <!ENTITY lol \"lol\">\n <!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n]>";
    let text = with_line(
        1,
        &format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{bomb}"),
    )
    .replace("<title>Chat", "<title>&lol2;Chat");
    let e = reject(&text);
    assert!(
        matches!((e.position(), e.kind()), (Some((2, 1)), ManifestErrorKind::Forbidden { construct }) if construct.contains("DOCTYPE")),
        "{e:?}"
    );
}

#[test]
fn rejects_external_entity() {
    let text = with_line(
        1,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE hotfix [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>",
    )
    .replace("<title>Chat", "<title>&xxe;Chat");
    let e = reject(&text);
    assert!(
        matches!(
            (e.position(), e.kind()),
            (Some((2, 1)), ManifestErrorKind::Forbidden { .. })
        ),
        "{e:?}"
    );
}

#[test]
fn rejects_undeclared_entity_in_text() {
    let e = reject(&with("<title>Chat", "<title>&xxe;Chat"));
    assert!(
        matches!((e.position(), e.kind()), (Some((3, 10)), ManifestErrorKind::UnknownEntity { name }) if name == "xxe"),
        "{e:?}"
    );
}

#[test]
fn rejects_undeclared_entity_in_attribute() {
    let e = reject(&with("release=\"7.0\"", "release=\"&ver;\""));
    assert!(
        matches!((e.position(), e.kind()), (Some((7, 3)), ManifestErrorKind::UnknownEntity { name }) if name == "ver"),
        "{e:?}"
    );
}

#[test]
fn rejects_processing_instruction() {
    let e = reject(&with_line(8, "  <?php system('x'); ?>"));
    assert!(
        matches!(
            (e.position(), e.kind()),
            (Some((8, 3)), ManifestErrorKind::Forbidden { .. })
        ),
        "{e:?}"
    );
}

#[test]
fn rejects_cdata_section() {
    let e = reject(&with("<title>Chat", "<title><![CDATA[Chat]]>"));
    assert!(
        matches!(
            (e.position(), e.kind()),
            (Some((3, 10)), ManifestErrorKind::Forbidden { .. })
        ),
        "{e:?}"
    );
}

#[test]
fn rejects_nesting_deeper_than_the_limit() {
    let deep = format!("  <title>{}x{}</title>", "<a>".repeat(8), "</a>".repeat(8));
    let e = reject(&with_line(3, &deep));
    // <hotfix> is depth 1, <title> 2, so the 7th <a> is depth 9.
    let col = "  <title>".len() as u64 + 6 * 3 + 1;
    assert!(
        matches!((e.position(), e.kind()), (Some((3, column)), ManifestErrorKind::TooDeep { max: 8 }) if column == col),
        "{e:?}"
    );
}

#[test]
fn rejects_unknown_element() {
    let e = reject(&with_line(
        8,
        &format!("  <priority>high</priority>\n{}", line(8)),
    ));
    assert!(
        matches!((e.position(), e.kind()), (Some((8, 3)), ManifestErrorKind::UnknownElement { element, parent })
            if element == "priority" && parent == "<hotfix>"),
        "{e:?}"
    );
}

#[test]
fn rejects_unknown_element_inside_a_software_package() {
    let e = reject(&with_line(17, "    <script path=\"x\"/>"));
    assert!(
        matches!((e.position(), e.kind()), (Some((17, _)), ManifestErrorKind::UnknownElement { element, .. }) if element == "script"),
        "{e:?}"
    );
}

#[test]
fn rejects_unknown_attribute() {
    let e = reject(&with(
        "support-package=\"SP3\"/>",
        "support-package=\"SP3\" arch=\"x64\"/>",
    ));
    assert!(
        matches!((e.position(), e.kind()), (Some((7, _)), ManifestErrorKind::UnknownAttribute { element, attribute, .. })
            if element == "base" && attribute == "arch"),
        "{e:?}"
    );
}

#[test]
fn rejects_missing_attribute() {
    let e = reject(&with("size=\"1204\" ", ""));
    assert!(
        matches!((e.position(), e.kind()), (Some((17, 5)), ManifestErrorKind::MissingAttribute { element, attribute })
            if element == "file" && attribute == "size"),
        "{e:?}"
    );
}

#[test]
fn rejects_duplicate_attribute() {
    let e = reject(&with("release=\"7.0\"", "release=\"7.0\" release=\"7.1\""));
    assert!(
        matches!(
            (e.position(), e.kind()),
            (Some((7, _)), ManifestErrorKind::DuplicateAttribute { .. })
        ),
        "{e:?}"
    );
}

/// The message names the repeated attribute, on the root as on any other element.
#[test]
fn duplicate_attribute_error_names_the_attribute() {
    for (from, to, element, attribute) in [
        (
            "release=\"7.0\"",
            "release=\"7.0\" release=\"7.1\"",
            "base",
            "release",
        ),
        ("format=\"1\"", "format=\"1\" id=\"x\"", "hotfix", "id"),
        (
            "format=\"1\"",
            "format=\"1\" format=\"1\"",
            "hotfix",
            "format",
        ),
    ] {
        let e = reject(&with(from, to));
        assert!(
            matches!((e.position(), e.kind()), (_, ManifestErrorKind::DuplicateAttribute { element: el, attribute: at, .. })
                if el == element && at == attribute),
            "{e:?}"
        );
        assert!(
            e.to_string()
                .contains(&format!("attribute '{attribute}' repeated on <{element}>")),
            "{e}"
        );
    }
}

#[test]
fn rejects_newer_format_with_an_upgrade_hint() {
    let e = reject(&with("format=\"1\"", "format=\"2\""));
    assert!(
        matches!(
            (e.position(), e.kind()),
            (
                Some((2, _)),
                ManifestErrorKind::NewerFormat {
                    found: 2,
                    supported: 1,
                    ..
                }
            )
        ),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        "manifest format 2 is newer than this hotfix (reads up to 1); upgrade hotfix"
    );
}

#[test]
fn newer_format_wins_over_its_unknown_attributes_and_elements() {
    let text = with("format=\"1\"", "format=\"7\" channel=\"beta\"")
        .replace("  <title>", "  <rollout/>\n  <title>");
    let e = reject(&text);
    assert!(
        matches!(
            (e.position(), e.kind()),
            (_, ManifestErrorKind::NewerFormat { found: 7, .. })
        ),
        "{e:?}"
    );
}

#[test]
fn rejects_format_zero_and_non_numbers() {
    for bad in ["0", "1.0", "one", "", "01"] {
        let e = reject(&with("format=\"1\"", &format!("format=\"{bad}\"")));
        assert!(
            matches!(
                (e.position(), e.kind()),
                (Some((2, _)), ManifestErrorKind::InvalidValue { .. })
            ),
            "{bad}: {e:?}"
        );
    }
}

#[test]
fn rejects_bad_sha256() {
    let good = "1111111111111111111111111111111111111111111111111111111111111111";
    for bad in [
        &good[1..],                                                         // 63 digits
        "111111111111111111111111111111111111111111111111111111111111111g", // not hex
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", // upper case
        "",
    ] {
        let e = reject(&with(good, bad));
        assert!(
            matches!((e.position(), e.kind()), (Some((16, _)), ManifestErrorKind::InvalidValue { element, attribute, .. })
                if element == "file" && attribute == "sha256"),
            "{bad}: {e:?}"
        );
    }
}

#[test]
fn rejects_bad_sizes_and_versions() {
    for bad in ["-1", "01", "1e3", " 12", "18446744073709551616"] {
        let e = reject(&with("size=\"1204\"", &format!("size=\"{bad}\"")));
        assert!(
            matches!(
                (e.position(), e.kind()),
                (Some((17, _)), ManifestErrorKind::InvalidValue { .. })
            ),
            "{bad}: {e:?}"
        );
    }
    for bad in ["0", "3.0", "x"] {
        let e = reject(&with("version=\"3\"", &format!("version=\"{bad}\"")));
        assert!(
            matches!(
                (e.position(), e.kind()),
                (Some((2, _)), ManifestErrorKind::InvalidValue { .. })
            ),
            "{bad}: {e:?}"
        );
    }
    let e = reject(&with("version=\"7.0.3.12\"", "version=\"7.0.3.12 beta\""));
    assert!(
        matches!(
            (e.position(), e.kind()),
            (Some((15, _)), ManifestErrorKind::InvalidValue { .. })
        ),
        "{e:?}"
    );
}

#[test]
fn rejects_duplicate_path() {
    let e = reject(&with("conf/chat.properties", "bin/chat-core.jar"));
    assert!(
        matches!((e.position(), e.kind()), (Some((17, _)), ManifestErrorKind::DuplicatePath { first_line: 16, path, .. })
            if path == "server/ChatServer/bin/chat-core.jar"),
        "{e:?}"
    );
}

#[test]
fn rejects_paths_that_differ_only_in_case() {
    let doc = line(23);
    let e = reject(&with_line(
        23,
        &format!("{doc}\n{}", doc.replace("RELEASE-NOTES", "release-notes")),
    ));
    assert!(
        matches!(
            (e.position(), e.kind()),
            (
                Some((24, _)),
                ManifestErrorKind::DuplicatePath { first_line: 23, .. }
            )
        ),
        "{e:?}"
    );
}

#[test]
fn rejects_a_path_that_is_also_a_folder() {
    let folder_as_file = line(16).replace("bin/chat-core.jar", "bin");
    let e = reject(&with_line(16, &format!("{folder_as_file}\n{}", line(16))));
    assert!(
        matches!((e.position(), e.kind()), (Some((17, _)), ManifestErrorKind::PathConflict { other, .. }) if other == "server/ChatServer/bin"),
        "{e:?}"
    );
}

#[test]
fn rejects_file_outside_its_package_folder() {
    let e = reject(&with(
        "server/RoutingEngine/lib/librouting.so",
        "server/ChatServer/lib/librouting.so",
    ));
    assert!(
        matches!((e.position(), e.kind()), (Some((20, 5)), ManifestErrorKind::PathOutsideFolder { expected, .. })
            if expected.contains("server/RoutingEngine/")),
        "{e:?}"
    );
}

#[test]
fn rejects_msi_outside_client_or_without_msi_extension() {
    for bad in [
        "server/AgentDesktop.msi",
        "client/AgentDesktop.exe",
        "client/x/AgentDesktop.msi",
        "client/.msi",
    ] {
        let e = reject(&with("client/AgentDesktop.msi", bad));
        assert!(
            matches!(
                (e.position(), e.kind()),
                (Some((22, _)), ManifestErrorKind::PathOutsideFolder { .. })
            ),
            "{bad}: {e:?}"
        );
    }
    // The extension is matched without regard to case.
    let ok = with("client/AgentDesktop.msi", "client/AgentDesktop.MSI");
    Manifest::from_xml(ok.as_bytes()).expect("upper-case .MSI is fine");
}

#[test]
fn rejects_doc_outside_docs() {
    let e = reject(&with("docs/RELEASE-NOTES.txt", "doc/RELEASE-NOTES.txt"));
    assert!(
        matches!(
            (e.position(), e.kind()),
            (Some((23, _)), ManifestErrorKind::PathOutsideFolder { .. })
        ),
        "{e:?}"
    );
}

#[test]
fn rejects_unsafe_entry_names() {
    for bad in [
        "server/ChatServer/../../../etc/passwd",
        "server/ChatServer/bin/a:stream",
        "server/ChatServer/bin/CON",
        "server/ChatServer/bin/x.",
        "server/ChatServer\\bin\\x",
    ] {
        let e = reject(&with("server/ChatServer/bin/chat-core.jar", bad));
        assert!(
            matches!((e.position(), e.kind()), (Some((16, _)), ManifestErrorKind::InvalidName { attribute, .. }) if attribute == "path"),
            "{bad}: {e:?}"
        );
    }
}

#[test]
fn rejects_unsafe_ids_and_package_names() {
    let e = reject(&with("id=\"HF-7.0.3-0042\"", "id=\"../HF\""));
    assert!(
        matches!(
            (e.position(), e.kind()),
            (Some((2, _)), ManifestErrorKind::InvalidName { .. })
        ),
        "{e:?}"
    );
    let e = reject(&with("id=\"HF-7.0.3-0040\"", "id=\"HF 40\""));
    assert!(
        matches!(
            (e.position(), e.kind()),
            (Some((10, _)), ManifestErrorKind::InvalidName { .. })
        ),
        "{e:?}"
    );
    let e = reject(&with("name=\"RoutingEngine\"", "name=\"Routing/Engine\""));
    assert!(
        matches!(
            (e.position(), e.kind()),
            (Some((19, _)), ManifestErrorKind::InvalidName { .. })
        ),
        "{e:?}"
    );
}

#[test]
fn rejects_unsorted_files() {
    let text = with_line(16, line(17)).replace(
        &format!(
            "{}\n  </software-package>\n  <software-package name=\"RoutingEngine\"",
            line(17)
        ),
        &format!(
            "{}\n  </software-package>\n  <software-package name=\"RoutingEngine\"",
            line(16)
        ),
    );
    let e = reject(&text);
    assert!(
        matches!(
            (e.position(), e.kind()),
            (Some((17, _)), ManifestErrorKind::NotSorted { .. })
        ),
        "{e:?}"
    );
}

#[test]
fn rejects_unsorted_packages() {
    let text = with("name=\"ChatServer\"", "name=\"ZChatServer\"")
        .replace("server/ChatServer/", "server/ZChatServer/");
    let e = reject(&text);
    assert!(
        matches!(
            (e.position(), e.kind()),
            (Some((19, _)), ManifestErrorKind::NotSorted { .. })
        ),
        "{e:?}"
    );
}

#[test]
fn rejects_a_hotfix_that_supersedes_itself_or_lists_an_id_twice() {
    let e = reject(&with("id=\"HF-7.0.3-0040\"", "id=\"HF-7.0.3-0042\""));
    assert!(
        matches!(
            (e.position(), e.kind()),
            (Some((10, _)), ManifestErrorKind::InvalidValue { .. })
        ),
        "{e:?}"
    );
    let e = reject(&with("id=\"HF-7.0.3-0031\"", "id=\"hf-7.0.3-0040\""));
    assert!(
        matches!(
            (e.position(), e.kind()),
            (
                Some((13, _)),
                ManifestErrorKind::DuplicateName { first_line: 10, .. }
            )
        ),
        "{e:?}"
    );
}

#[test]
fn rejects_missing_element() {
    let text = with_line(8, "");
    let e = reject(&text);
    assert!(
        matches!((e.position(), e.kind()), (Some((2, 1)), ManifestErrorKind::MissingElement { element, .. }) if element == "created"),
        "{e:?}"
    );
}

#[test]
fn rejects_elements_out_of_order_or_repeated() {
    // created moved before base: base (now line 8) is out of order.
    let e = reject(&with_line(7, &format!("{}\n{}", line(8), line(7))).replace(
        &format!("{}\n{}\n", line(7), line(8)),
        &format!("{}\n", line(7)),
    ));
    assert!(
        matches!((e.position(), e.kind()), (Some((8, _)), ManifestErrorKind::UnexpectedElement { element, .. }) if element == "base"),
        "{e:?}"
    );
    let e = reject(&with_line(3, &format!("{}\n{}", line(3), line(3))));
    assert!(
        matches!(
            (e.position(), e.kind()),
            (Some((4, _)), ManifestErrorKind::UnexpectedElement { .. })
        ),
        "{e:?}"
    );
}

#[test]
fn rejects_a_hotfix_without_payload() {
    let mut lines: Vec<&str> = golden().lines().collect();
    lines.drain(14..22); // software packages and the MSI
    let e = reject(&(lines.join("\n") + "\n"));
    assert!(
        matches!(
            (e.position(), e.kind()),
            (Some((2, _)), ManifestErrorKind::MissingElement { .. })
        ),
        "{e:?}"
    );
}

#[test]
fn rejects_software_package_without_files() {
    let mut lines: Vec<&str> = golden().lines().collect();
    lines.drain(19..20); // RoutingEngine's only file
    let e = reject(&(lines.join("\n") + "\n"));
    assert!(
        matches!((e.position(), e.kind()), (Some((19, _)), ManifestErrorKind::MissingElement { element, .. }) if element == "file"),
        "{e:?}"
    );
}

#[test]
fn rejects_stray_text() {
    let e = reject(&with_line(18, "    hello\n  </software-package>"));
    assert!(
        matches!((e.position(), e.kind()), (Some((17, _)), ManifestErrorKind::UnexpectedText { element, .. }) if element == "software-package"),
        "{e:?}"
    );
}

#[test]
fn rejects_bad_values() {
    let cases: &[(&str, &str, u64)] = &[
        ("2026-11-25T00:00:00Z", "2026-13-25T00:00:00Z", 8),
        ("2026-11-25T00:00:00Z", "2026-11-25 00:00:00", 8),
        ("2026-11-25T00:00:00Z", "2026-11-25T00:00:00+01:00", 8),
        (
            "{6A1E2F4C-3B5D-4E6F-8A9B-0C1D2E3F4A5B}",
            "6A1E2F4C-3B5D-4E6F-8A9B-0C1D2E3F4A5B",
            22,
        ),
        (
            "{0F9E8D7C-6B5A-4948-8372-61504F3E2D1C}",
            "{0F9E8D7C-6B5A-4948-8372-61504F3E2D1X}",
            22,
        ),
        (
            "<title>Chat messages lost on failover</title>",
            "<title> </title>",
            3,
        ),
        ("<title>Chat messages", "<title>Chat&#9;messages", 3),
        ("SP3", "SP 3", 7),
    ];
    for (from, to, line) in cases {
        let e = reject(&with(from, to));
        assert!(
            matches!((e.position(), e.kind()), (Some((l, _)), ManifestErrorKind::InvalidValue { .. }) if l == *line),
            "{to}: {e:?}"
        );
    }
}

#[test]
fn rejects_control_characters_even_as_references() {
    let e = reject(&with("<title>Chat", "<title>&#27;Chat"));
    assert!(
        matches!(
            (e.position(), e.kind()),
            (Some((3, _)), ManifestErrorKind::Syntax { .. })
        ),
        "{e:?}"
    );
    let e = reject(&with("<title>Chat", "<title>\u{1}Chat"));
    assert!(
        matches!(
            (e.position(), e.kind()),
            (Some((3, _)), ManifestErrorKind::Syntax { .. })
        ),
        "{e:?}"
    );
}

#[test]
fn rejects_malformed_xml_with_its_position() {
    let e = reject(&with("</requires>", "</required>"));
    assert!(
        matches!(
            (e.position(), e.kind()),
            (Some((14, _)), ManifestErrorKind::Syntax { .. })
        ),
        "{e:?}"
    );
    let e = reject(&golden().replace("</hotfix>\n", ""));
    assert!(
        matches!(
            (e.position(), e.kind()),
            (_, ManifestErrorKind::Syntax { .. })
        ),
        "{e:?}"
    );
    let e = reject(&format!("{}<hotfix/>\n", golden()));
    assert!(
        matches!(
            (e.position(), e.kind()),
            (Some((25, _)), ManifestErrorKind::UnexpectedElement { .. })
        ),
        "{e:?}"
    );
}

#[test]
fn rejects_non_utf8_and_bom() {
    let mut bytes = golden().as_bytes().to_vec();
    let at = golden().find("messages").expect("in title");
    bytes[at] = 0xff;
    let e = Manifest::from_xml(&bytes).expect_err("refused");
    assert!(
        matches!(
            (e.position(), e.kind()),
            (Some((3, 15)), ManifestErrorKind::Encoding { .. })
        ),
        "{e:?}"
    );

    let with_bom = format!("\u{feff}{}", golden());
    let e = reject(&with_bom);
    assert!(
        matches!(
            (e.position(), e.kind()),
            (Some((1, _)), ManifestErrorKind::Encoding { .. })
        ),
        "{e:?}"
    );

    let e = reject(&with("encoding=\"UTF-8\"", "encoding=\"ISO-8859-1\""));
    assert!(
        matches!(
            (e.position(), e.kind()),
            (Some((1, _)), ManifestErrorKind::Syntax { .. })
        ),
        "{e:?}"
    );
}

#[test]
fn rejects_oversized_input_before_parsing() {
    let big = vec![b' '; MAX_MANIFEST_BYTES as usize + 1];
    let e = Manifest::from_xml(&big).expect_err("refused");
    assert!(
        matches!(
            (e.position(), e.kind()),
            (
                _,
                ManifestErrorKind::TooLarge {
                    max: MAX_MANIFEST_BYTES,
                    ..
                }
            )
        ),
        "{e:?}"
    );
}

#[test]
fn rejects_empty_input() {
    let e = Manifest::from_xml(b"").expect_err("refused");
    assert!(
        matches!(
            (e.position(), e.kind()),
            (Some((1, _)), ManifestErrorKind::MissingElement { .. })
        ),
        "{e:?}"
    );
}

/// A long hostile value (a path, an attribute name) is shown shortened, with its length.
#[test]
fn long_values_are_shortened_in_messages() {
    let long_path = format!("server/ChatServer/{}", "p".repeat(70_000));
    let long_attr = format!("a{}", "b".repeat(70_000));
    for (from, to) in [
        (
            "path=\"server/ChatServer/bin/chat-core.jar\"",
            format!("path=\"{long_path}\""),
        ),
        (
            "release=\"7.0\"",
            format!("release=\"7.0\" {long_attr}=\"x\""),
        ),
    ] {
        let e = reject(&with(from, &to)).to_string();
        assert!(e.len() < 600, "{} bytes: {}", e.len(), &e[..300]);
        assert!(e.contains("… ("), "{e}");
    }
}
