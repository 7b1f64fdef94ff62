//! Tables of text for people (unit-test diffs, contract mismatches, `kiln
//! show`): every column padded to its widest cell.

pub struct TextTable {
    widths: Vec<usize>,
    right: Vec<bool>,
}

impl TextTable {
    /// Column widths from the header and every row.
    pub fn new(header: &[String], rows: &[Vec<String>]) -> TextTable {
        let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
        for r in rows {
            for (i, v) in r.iter().enumerate() {
                widths[i] = widths[i].max(v.chars().count());
            }
        }
        let right = vec![false; widths.len()];
        TextTable { widths, right }
    }

    /// Right-aligns the columns marked true (numbers).
    pub fn right_aligned(mut self, right: Vec<bool>) -> TextTable {
        self.right = right;
        self
    }

    /// The cells, padded, joined with `sep`.
    pub fn line(&self, cells: &[String], sep: &str) -> String {
        cells
            .iter()
            .enumerate()
            .map(|(i, c)| match self.right[i] {
                true => format!("{c:>w$}", w = self.widths[i]),
                false => format!("{c:<w$}", w = self.widths[i]),
            })
            .collect::<Vec<_>>()
            .join(sep)
    }

    /// A rule of dashes as wide as each column plus `extra`, joined with `sep`.
    pub fn rule(&self, extra: usize, sep: &str) -> String {
        self.widths
            .iter()
            .map(|w| "-".repeat(w + extra))
            .collect::<Vec<_>>()
            .join(sep)
    }
}

/// `a | b` lines: the header, a `--+--` rule, then the rows.
pub fn plain(header: &[String], rows: &[Vec<String>]) -> Vec<String> {
    let t = TextTable::new(header, rows);
    let mut out = vec![t.line(header, " | "), t.rule(0, "-+-")];
    out.extend(rows.iter().map(|r| t.line(r, " | ")));
    out
}
