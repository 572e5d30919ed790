//! Byte offsets into the manifest text as 1-based line and column (in characters), the
//! position every [`super::ManifestError`] from the text carries.
//!
//! It must never panic on an offset past the end or inside a character (both clamp to
//! a character boundary), and never rescan the text from the start for each event of a
//! pass: [`LineCursor`] keeps a whole pass linear.

use std::cell::Cell;

/// [`line_col`] for offsets that mostly grow, as a parser asks for them: it counts on
/// from the previous answer, so a whole pass costs one scan of the text instead of one
/// scan per event (which made parsing a 20,000-file manifest quadratic).
#[derive(Debug, Default)]
pub(super) struct LineCursor {
    /// (byte offset on a character boundary, its 1-based line, its 1-based column).
    last: Cell<(usize, u64, u64)>,
}

impl LineCursor {
    pub(super) fn at(&self, text: &str, offset: u64) -> (u64, u64) {
        let mut off = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(text.len());
        while !text.is_char_boundary(off) {
            off -= 1;
        }
        let (prev, line, column) = match self.last.get() {
            (0, 0, 0) => (0, 1, 1),
            (p, _, _) if p > off => (0, 1, 1),
            l => l,
        };
        let between = &text[prev..off];
        let (line, column) = match between.rfind('\n') {
            None => (line, column + between.chars().count() as u64),
            Some(i) => (
                line + between.bytes().filter(|&b| b == b'\n').count() as u64,
                between[i + 1..].chars().count() as u64 + 1,
            ),
        };
        self.last.set((off, line, column));
        (line, column)
    }
}

/// 1-based line and column (in characters) of a byte offset into `text`.
pub(super) fn line_col(text: &str, offset: u64) -> (u64, u64) {
    let mut off = usize::try_from(offset)
        .unwrap_or(usize::MAX)
        .min(text.len());
    while !text.is_char_boundary(off) {
        off -= 1;
    }
    let before = &text[..off];
    let line = before.bytes().filter(|&b| b == b'\n').count() as u64 + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() as u64 + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_cursor_agrees_with_line_col_in_any_order() {
        let t = "ab\ncdé\nf\n\nghé";
        let c = LineCursor::default();
        for off in (0..=t.len() as u64 + 3)
            .chain((0..=t.len() as u64).rev())
            .chain([5, 2, 9, 9, 0])
        {
            assert_eq!(c.at(t, off), line_col(t, off), "offset {off}");
        }
    }

    #[test]
    fn line_col_counts_characters_from_one() {
        let t = "ab\ncdé\nf";
        assert_eq!(line_col(t, 0), (1, 1));
        assert_eq!(line_col(t, 3), (2, 1));
        assert_eq!(line_col(t, 7), (2, 4));
        assert_eq!(line_col(t, 6), (2, 3)); // inside 'é': the character's start
        assert_eq!(line_col(t, 8), (3, 1));
        assert_eq!(line_col(t, 1000), (3, 2));
    }
}
