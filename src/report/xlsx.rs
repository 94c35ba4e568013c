//! A small XLSX writer for the communes' fix lists.
//!
//! The fix lists need a narrow part of the format: text and number cells in three styles,
//! column widths, a frozen header, an autofilter, a drop-down list, page setup and print
//! titles. Each sheet's XML is written straight into one buffer as the rows come (the cell
//! reference from a table of column letters and one row number per row, the text escaped
//! byte by byte, strings inline), then the parts are deflated at level 1 into the archive.
//! That is what rust_xlsxwriter's constant-memory mode does too, without its per-cell
//! bookkeeping and its temporary files: a 1 M check's workbooks take about a third of the
//! time (docs/BENCHMARKS.md). The output is plain SpreadsheetML that Excel, LibreOffice and
//! calamine read (tests/output_schema.rs and tests/verdicts.rs read it back).

use std::io::{Cursor, Write};

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

/// A cell's look: the styles of xl/styles.xml, by index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    Normal = 0,
    Bold = 1,
    Wrap = 2,
}

/// A drop-down list on one column's cells below the header.
#[derive(Clone, Debug)]
pub struct ListValidation {
    pub col: u16,
    pub title: &'static str,
    pub prompt: &'static str,
    pub items: &'static [&'static str],
}

/// One worksheet, written row by row in ascending order.
pub struct Sheet {
    name: String,
    widths: Vec<(u16, f64)>,
    data: Vec<u8>,
    /// The open row (0-based), if any.
    open: Option<u32>,
    /// The open row's reference digits ("12" for row index 11), reused row after row.
    digits: Vec<u8>,
    last_row: u32,
    last_col: u16,
    freeze_header: bool,
    autofilter: bool,
    validation: Option<ListValidation>,
    landscape: bool,
    a4: bool,
    fit_width: u16,
    /// Row 1 and columns A..=n repeated on every printed page.
    repeat_cols: Option<u16>,
    /// The next row's height in lines of text, when it holds wrapped text (see [`Sheet::lines`]).
    next_lines: Option<(u32, u32)>,
}

/// Points a line of Calibri 11 takes (Excel's default row is one line, 15 points).
const LINE_POINTS: u32 = 15;
/// Excel's tallest row, in points.
const MAX_ROW_POINTS: u32 = 409;

/// The lines `text` takes wrapped in a column `width` characters wide: words laid greedily on
/// lines of `1.1 × width - 2` characters (a width counts the digit "0"; letters are narrower on
/// average, and printed with a wider fallback font a 50-wide column held 55), a word longer
/// than a line cut across lines. A spreadsheet does not size a row to its wrapped text when
/// the file says nothing, so the writer says it: LibreOffice printed a list's wrapped cells
/// over the rows below them.
pub fn wrapped_lines(text: &str, width: f64) -> u32 {
    let per_line = (1.1 * width - 2.0).max(4.0) as usize;
    let mut lines = 1u32;
    let mut used = 0;
    for word in text.split(' ') {
        let mut n = word.chars().count();
        if used > 0 && used + 1 + n <= per_line {
            used += 1 + n;
            continue;
        }
        if used > 0 {
            lines += 1;
        }
        // At a line's start: a word longer than a line runs on over the next ones.
        while n > per_line {
            lines += 1;
            n -= per_line;
        }
        used = n;
    }
    lines
}

impl Sheet {
    pub fn new(name: impl Into<String>) -> Self {
        Sheet {
            name: name.into(),
            widths: Vec::new(),
            data: Vec::with_capacity(64 * 1024),
            open: None,
            digits: Vec::with_capacity(8),
            last_row: 0,
            last_col: 0,
            freeze_header: false,
            autofilter: false,
            validation: None,
            landscape: false,
            a4: false,
            fit_width: 0,
            repeat_cols: None,
            next_lines: None,
        }
    }

    /// The height of `row` (written next), in lines of text: called before its first cell
    /// when it holds wrapped text ([`wrapped_lines`]).
    pub fn lines(&mut self, row: u32, lines: u32) {
        self.next_lines = (lines > 1).then_some((row, lines));
    }

    /// A column's width in characters.
    pub fn width(&mut self, col: u16, chars: f64) {
        self.widths.push((col, chars));
    }

    /// The first row stays in view; a filter over every written row and column.
    pub fn header_with_filter(&mut self) {
        self.freeze_header = true;
        self.autofilter = true;
    }

    pub fn validation(&mut self, v: ListValidation) {
        self.validation = Some(v);
    }

    /// Printed landscape (optionally on A4), `pages` wide and as many pages long as needed.
    pub fn print(&mut self, landscape: bool, a4: bool, pages: u16) {
        self.landscape = landscape;
        self.a4 = a4;
        self.fit_width = pages;
    }

    /// The header row and the first `cols` columns on every printed page.
    pub fn repeat_on_pages(&mut self, cols: u16) {
        self.repeat_cols = Some(cols);
    }

    fn cell_start(&mut self, row: u32, col: u16, style: Style) {
        match self.open {
            Some(r) if r == row => {}
            Some(r) => {
                debug_assert!(r < row, "rows are written in order");
                self.data.extend_from_slice(b"</row>");
                self.open_row(row);
            }
            None => self.open_row(row),
        }
        self.last_row = self.last_row.max(row);
        self.last_col = self.last_col.max(col);
        self.data.extend_from_slice(b"<c r=\"");
        push_col(&mut self.data, col);
        self.data.extend_from_slice(&self.digits);
        self.data.push(b'"');
        if style != Style::Normal {
            self.data.extend_from_slice(b" s=\"");
            self.data.push(b'0' + style as u8);
            self.data.push(b'"');
        }
    }

    fn open_row(&mut self, row: u32) {
        self.digits.clear();
        write!(self.digits, "{}", row + 1).expect("writing to memory");
        self.data.extend_from_slice(b"<row r=\"");
        self.data.extend_from_slice(&self.digits);
        self.data.push(b'"');
        if let Some((r, lines)) = self.next_lines.take() {
            if r == row {
                let points = (lines * LINE_POINTS).min(MAX_ROW_POINTS);
                write!(self.data, " ht=\"{points}\" customHeight=\"1\"").expect("memory");
            }
        }
        self.data.push(b'>');
        self.open = Some(row);
    }

    /// A text cell (0-based row and column; rows ascending, columns ascending in a row).
    pub fn text(&mut self, row: u32, col: u16, s: &str, style: Style) {
        self.cell_start(row, col, style);
        let edge_space = s.starts_with(char::is_whitespace) || s.ends_with(char::is_whitespace);
        self.data.extend_from_slice(if edge_space {
            b" t=\"inlineStr\"><is><t xml:space=\"preserve\">".as_slice()
        } else {
            b" t=\"inlineStr\"><is><t>".as_slice()
        });
        escape_into(&mut self.data, s);
        self.data.extend_from_slice(b"</t></is></c>");
    }

    /// A number cell.
    pub fn number(&mut self, row: u32, col: u16, v: f64, style: Style) {
        self.cell_start(row, col, style);
        self.data.extend_from_slice(b"><v>");
        if v.is_finite() {
            write!(self.data, "{v}").expect("writing to memory");
        } else {
            self.data.push(b'0');
        }
        self.data.extend_from_slice(b"</v></c>");
    }

    fn xml(&self, index: usize) -> Vec<u8> {
        let mut x = Vec::with_capacity(self.data.len() + 2048);
        x.extend_from_slice(XML_DECL.as_bytes());
        x.extend_from_slice(
            b"<worksheet xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\" \
              xmlns:r=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships\">",
        );
        if self.fit_width > 0 {
            x.extend_from_slice(b"<sheetPr><pageSetUpPr fitToPage=\"1\"/></sheetPr>");
        }
        x.extend_from_slice(b"<dimension ref=\"A1:");
        push_col(&mut x, self.last_col);
        write!(x, "{}\"/>", self.last_row + 1).expect("memory");
        x.extend_from_slice(b"<sheetViews><sheetView ");
        if index == 0 {
            x.extend_from_slice(b"tabSelected=\"1\" ");
        }
        x.extend_from_slice(b"workbookViewId=\"0\"");
        if self.freeze_header {
            x.extend_from_slice(
                b"><pane ySplit=\"1\" topLeftCell=\"A2\" activePane=\"bottomLeft\" \
                  state=\"frozen\"/><selection pane=\"bottomLeft\"/></sheetView>",
            );
        } else {
            x.extend_from_slice(b"/>");
        }
        x.extend_from_slice(b"</sheetViews><sheetFormatPr defaultRowHeight=\"15\"/>");
        if !self.widths.is_empty() {
            let mut widths = self.widths.clone();
            widths.sort_by_key(|w| w.0);
            x.extend_from_slice(b"<cols>");
            for (c, w) in widths {
                write!(
                    x,
                    "<col min=\"{n}\" max=\"{n}\" width=\"{}\" customWidth=\"1\"/>",
                    excel_width(w),
                    n = c + 1
                )
                .expect("memory");
            }
            x.extend_from_slice(b"</cols>");
        }
        if self.data.is_empty() {
            x.extend_from_slice(b"<sheetData/>");
        } else {
            x.extend_from_slice(b"<sheetData>");
            x.extend_from_slice(&self.data);
            x.extend_from_slice(b"</row></sheetData>");
        }
        if self.autofilter {
            x.extend_from_slice(b"<autoFilter ref=\"");
            x.extend_from_slice(self.range(false).as_bytes());
            x.extend_from_slice(b"\"/>");
        }
        if let Some(v) = &self.validation {
            x.extend_from_slice(
                b"<dataValidations count=\"1\"><dataValidation type=\"list\" allowBlank=\"1\" \
                  showInputMessage=\"1\" showErrorMessage=\"1\" promptTitle=\"",
            );
            escape_attr_into(&mut x, v.title);
            x.extend_from_slice(b"\" prompt=\"");
            escape_attr_into(&mut x, v.prompt);
            x.extend_from_slice(b"\" sqref=\"");
            push_col(&mut x, v.col);
            x.extend_from_slice(b"2:");
            push_col(&mut x, v.col);
            write!(x, "{}\"><formula1>&quot;", self.last_row.max(1) + 1).expect("memory");
            // The list's items, comma-separated inside one quoted string.
            escape_into(&mut x, &v.items.join(","));
            x.extend_from_slice(b"&quot;</formula1></dataValidation></dataValidations>");
        }
        x.extend_from_slice(
            b"<pageMargins left=\"0.7\" right=\"0.7\" top=\"0.75\" bottom=\"0.75\" \
              header=\"0.3\" footer=\"0.3\"/><pageSetup",
        );
        if self.a4 {
            x.extend_from_slice(b" paperSize=\"9\"");
        }
        if self.fit_width > 0 {
            write!(x, " fitToWidth=\"{}\" fitToHeight=\"0\"", self.fit_width).expect("memory");
        }
        x.extend_from_slice(if self.landscape {
            b" orientation=\"landscape\"/>".as_slice()
        } else {
            b" orientation=\"portrait\"/>".as_slice()
        });
        x.extend_from_slice(b"</worksheet>");
        x
    }

    /// `'Name'!$A$1:$Z$9` (absolute) or `A1:Z9`.
    fn range(&self, absolute: bool) -> String {
        let mut r = Vec::new();
        let d = if absolute { "$" } else { "" };
        if absolute {
            r.extend_from_slice(quoted(&self.name).as_bytes());
            r.push(b'!');
        }
        write!(r, "{d}A{d}1:{d}").expect("memory");
        push_col(&mut r, self.last_col);
        write!(r, "{d}{}", self.last_row.max(1) + 1).expect("memory");
        String::from_utf8(r).expect("ASCII and the sheet's name")
    }
}

/// A workbook: its sheets in order, dated (not by the clock: the same run, the same bytes).
pub fn workbook(sheets: &[Sheet], created: (i32, u32, u32)) -> zip::result::ZipResult<Vec<u8>> {
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        // Level 1: a commune's list saves about 3x faster than at the default level 6, for a
        // file a little larger (docs/BENCHMARKS.md).
        .compression_level(Some(1))
        .unix_permissions(0o600)
        .last_modified_time(DateTime::default());
    let part = |zip: &mut ZipWriter<Cursor<Vec<u8>>>, name: &str, bytes: &[u8]| {
        zip.start_file(name, options)?;
        zip.write_all(bytes)?;
        Ok::<(), zip::result::ZipError>(())
    };

    let mut types = String::from(XML_DECL);
    types.push_str(
        "<Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\">\
         <Default Extension=\"rels\" ContentType=\"application/vnd.openxmlformats-package.relationships+xml\"/>\
         <Default Extension=\"xml\" ContentType=\"application/xml\"/>\
         <Override PartName=\"/docProps/app.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.extended-properties+xml\"/>\
         <Override PartName=\"/docProps/core.xml\" ContentType=\"application/vnd.openxmlformats-package.core-properties+xml\"/>\
         <Override PartName=\"/xl/styles.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml\"/>\
         <Override PartName=\"/xl/workbook.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml\"/>",
    );
    for i in 1..=sheets.len() {
        types.push_str(&format!(
            "<Override PartName=\"/xl/worksheets/sheet{i}.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml\"/>"
        ));
    }
    types.push_str("</Types>");
    part(&mut zip, "[Content_Types].xml", types.as_bytes())?;
    part(&mut zip, "_rels/.rels", ROOT_RELS.as_bytes())?;
    part(&mut zip, "docProps/app.xml", APP.as_bytes())?;
    let (y, m, d) = created;
    let stamp = format!("{y:04}-{:02}-{:02}T00:00:00Z", m.max(1), d.max(1));
    part(
        &mut zip,
        "docProps/core.xml",
        format!(
            "{XML_DECL}<cp:coreProperties xmlns:cp=\"http://schemas.openxmlformats.org/package/2006/metadata/core-properties\" \
             xmlns:dc=\"http://purl.org/dc/elements/1.1/\" xmlns:dcterms=\"http://purl.org/dc/terms/\" \
             xmlns:dcmitype=\"http://purl.org/dc/dcmitype/\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\
             <dc:creator>lamsach</dc:creator>\
             <dcterms:created xsi:type=\"dcterms:W3CDTF\">{stamp}</dcterms:created>\
             <dcterms:modified xsi:type=\"dcterms:W3CDTF\">{stamp}</dcterms:modified></cp:coreProperties>"
        )
        .as_bytes(),
    )?;

    let mut book = String::from(XML_DECL);
    book.push_str(
        "<workbook xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\" \
         xmlns:r=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships\">\
         <bookViews><workbookView/></bookViews><sheets>",
    );
    let mut rels = String::from(XML_DECL);
    rels.push_str(
        "<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">",
    );
    for (i, s) in sheets.iter().enumerate() {
        let n = i + 1;
        book.push_str("<sheet name=\"");
        book.push_str(&attr(&s.name));
        book.push_str(&format!("\" sheetId=\"{n}\" r:id=\"rId{n}\"/>"));
        rels.push_str(&format!(
            "<Relationship Id=\"rId{n}\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet\" Target=\"worksheets/sheet{n}.xml\"/>"
        ));
    }
    book.push_str("</sheets>");
    let mut names: Vec<String> = Vec::new();
    for (i, s) in sheets.iter().enumerate() {
        if s.autofilter {
            names.push(format!(
                "<definedName name=\"_xlnm._FilterDatabase\" localSheetId=\"{i}\" hidden=\"1\">{}</definedName>",
                attr(&s.range(true))
            ));
        }
        if let Some(cols) = s.repeat_cols {
            let q = quoted(&s.name);
            let mut last = Vec::new();
            push_col(&mut last, cols);
            let last = String::from_utf8(last).expect("ASCII");
            names.push(format!(
                "<definedName name=\"_xlnm.Print_Titles\" localSheetId=\"{i}\">{}</definedName>",
                attr(&format!("{q}!$A:${last},{q}!$1:$1"))
            ));
        }
    }
    if !names.is_empty() {
        book.push_str("<definedNames>");
        names.iter().for_each(|n| book.push_str(n));
        book.push_str("</definedNames>");
    }
    book.push_str("<calcPr calcId=\"124519\" fullCalcOnLoad=\"1\"/></workbook>");
    rels.push_str(&format!(
        "<Relationship Id=\"rId{}\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles\" Target=\"styles.xml\"/></Relationships>",
        sheets.len() + 1
    ));
    part(&mut zip, "xl/workbook.xml", book.as_bytes())?;
    part(&mut zip, "xl/_rels/workbook.xml.rels", rels.as_bytes())?;
    part(&mut zip, "xl/styles.xml", STYLES.as_bytes())?;
    for (i, s) in sheets.iter().enumerate() {
        part(
            &mut zip,
            &format!("xl/worksheets/sheet{}.xml", i + 1),
            &s.xml(i),
        )?;
    }
    Ok(zip.finish()?.into_inner())
}

const XML_DECL: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n";

const ROOT_RELS: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n\
<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">\
<Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument\" Target=\"xl/workbook.xml\"/>\
<Relationship Id=\"rId2\" Type=\"http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties\" Target=\"docProps/core.xml\"/>\
<Relationship Id=\"rId3\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/extended-properties\" Target=\"docProps/app.xml\"/>\
</Relationships>";

const APP: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n\
<Properties xmlns=\"http://schemas.openxmlformats.org/officeDocument/2006/extended-properties\">\
<Application>lamsach</Application></Properties>";

/// Calibri 11 (Excel's default), the same in bold, and wrapped text; a cell's text starts at the
/// top of its row (a row holding a wrapped text is taller).
const STYLES: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n\
<styleSheet xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\">\
<fonts count=\"2\"><font><sz val=\"11\"/><name val=\"Calibri\"/><family val=\"2\"/></font>\
<font><b/><sz val=\"11\"/><name val=\"Calibri\"/><family val=\"2\"/></font></fonts>\
<fills count=\"2\"><fill><patternFill patternType=\"none\"/></fill><fill><patternFill patternType=\"gray125\"/></fill></fills>\
<borders count=\"1\"><border><left/><right/><top/><bottom/><diagonal/></border></borders>\
<cellStyleXfs count=\"1\"><xf numFmtId=\"0\" fontId=\"0\" fillId=\"0\" borderId=\"0\" applyAlignment=\"1\"><alignment vertical=\"top\"/></xf></cellStyleXfs>\
<cellXfs count=\"3\"><xf numFmtId=\"0\" fontId=\"0\" fillId=\"0\" borderId=\"0\" xfId=\"0\" applyAlignment=\"1\"><alignment vertical=\"top\"/></xf>\
<xf numFmtId=\"0\" fontId=\"1\" fillId=\"0\" borderId=\"0\" xfId=\"0\" applyFont=\"1\" applyAlignment=\"1\"><alignment vertical=\"top\"/></xf>\
<xf numFmtId=\"0\" fontId=\"0\" fillId=\"0\" borderId=\"0\" xfId=\"0\" applyAlignment=\"1\"><alignment vertical=\"top\" wrapText=\"1\"/></xf></cellXfs>\
<cellStyles count=\"1\"><cellStyle name=\"Normal\" xfId=\"0\" builtinId=\"0\"/></cellStyles>\
</styleSheet>";

/// Excel's stored width for a width in characters of Calibri 11 (7-pixel digits, 5 pixels
/// of padding, kept to 1/256 of a character), as Excel itself writes it.
fn excel_width(chars: f64) -> f64 {
    let pixels = (chars * 7.0 + 5.0).round();
    (pixels / 7.0 * 256.0).trunc() / 256.0
}

/// Column letters: 0 -> A, 25 -> Z, 26 -> AA.
fn push_col(out: &mut Vec<u8>, col: u16) {
    let mut n = u32::from(col) + 1;
    let mut letters = [0u8; 4];
    let mut i = letters.len();
    while n > 0 {
        i -= 1;
        letters[i] = b'A' + ((n - 1) % 26) as u8;
        n = (n - 1) / 26;
    }
    out.extend_from_slice(&letters[i..]);
}

/// A sheet's name in a formula: always quoted, a quote doubled.
fn quoted(name: &str) -> String {
    format!("'{}'", name.replace('\'', "''"))
}

fn attr(s: &str) -> String {
    let mut v = Vec::with_capacity(s.len());
    escape_attr_into(&mut v, s);
    String::from_utf8(v).expect("escaping keeps UTF-8")
}

/// Text for an element's content: `&`, `<`, `>` escaped; control characters, which XML 1.0
/// cannot hold, written as Excel writes them (`_x0001_`), as are U+FFFE and U+FFFF.
fn escape_into(out: &mut Vec<u8>, s: &str) {
    escape_with(out, s, false)
}

/// Text for an attribute: also `"` and line breaks.
fn escape_attr_into(out: &mut Vec<u8>, s: &str) {
    escape_with(out, s, true)
}

fn escape_with(out: &mut Vec<u8>, s: &str, attribute: bool) {
    let b = s.as_bytes();
    let mut from = 0;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let rep: Option<&[u8]> = match c {
            b'&' => Some(b"&amp;"),
            b'<' => Some(b"&lt;"),
            b'>' => Some(b"&gt;"),
            b'"' if attribute => Some(b"&quot;"),
            b'\n' if attribute => Some(b"&#xA;"),
            // Control characters but tab and line feed; U+FFFE and U+FFFF (EF BF BE / BF).
            0..=0x08 | 0x0B..=0x1F => None,
            0xEF if b.get(i + 1) == Some(&0xBF) && matches!(b.get(i + 2), Some(0xBE | 0xBF)) => {
                None
            }
            _ => {
                i += 1;
                continue;
            }
        };
        out.extend_from_slice(&b[from..i]);
        match rep {
            Some(r) => {
                out.extend_from_slice(r);
                i += 1;
            }
            None if c == 0xEF => {
                let code = if b[i + 2] == 0xBE { "FFFE" } else { "FFFF" };
                write!(out, "_x{code}_").expect("memory");
                i += 3;
            }
            None => {
                write!(out, "_x{c:04X}_").expect("memory");
                i += 1;
            }
        }
        from = i;
    }
    out.extend_from_slice(&b[from..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_holding_wrapped_text_is_as_tall_as_its_lines() {
        // Words laid on lines of 1.1 × width - 2 characters (53 for a 50-wide column).
        assert_eq!(wrapped_lines("", 50.0), 1);
        assert_eq!(wrapped_lines(&"x".repeat(53), 50.0), 1);
        assert_eq!(wrapped_lines(&"x".repeat(54), 50.0), 2);
        let action = "Đề nghị xóa bản ghi này, giữ bản ghi Dân cư DC00440007962 (xã 01954: Xã Ngân Sơn — Thái Nguyên)";
        assert_eq!(wrapped_lines(action, 50.0), 2);
        // A word longer than a line runs on over the next ones.
        assert_eq!(wrapped_lines(&format!("ab {}", "y".repeat(120)), 50.0), 4);
        let mut sheet = Sheet::new("Sạch");
        sheet.lines(1, 3);
        sheet.text(1, 0, action, Style::Wrap);
        sheet.lines(2, 1);
        sheet.text(2, 0, "ngắn", Style::Normal);
        let xml = String::from_utf8(sheet.data.clone()).unwrap();
        assert!(
            xml.contains("<row r=\"2\" ht=\"45\" customHeight=\"1\"><c r=\"A2\" s=\"2\""),
            "{xml}"
        );
        assert!(xml.contains("<row r=\"3\"><c r=\"A3\" t="), "{xml}");
    }

    fn escaped(s: &str) -> String {
        let mut v = Vec::new();
        escape_into(&mut v, s);
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn text_is_escaped_as_excel_writes_it() {
        assert_eq!(
            escaped("Nguyễn <An> & \"Út\""),
            "Nguyễn &lt;An&gt; &amp; \"Út\""
        );
        assert_eq!(escaped("a\u{1}b\tc\nd\re"), "a_x0001_b\tc\nd_x000D_e");
        assert_eq!(escaped("x\u{FFFE}y\u{FFFF}"), "x_xFFFE_y_xFFFF_");
        assert_eq!(escaped("ệ\u{FFFD}"), "ệ\u{FFFD}");
    }

    #[test]
    fn columns_are_lettered_past_z() {
        let letters = |c| {
            let mut v = Vec::new();
            push_col(&mut v, c);
            String::from_utf8(v).unwrap()
        };
        assert_eq!(letters(0), "A");
        assert_eq!(letters(25), "Z");
        assert_eq!(letters(26), "AA");
        assert_eq!(letters(701), "ZZ");
        assert_eq!(letters(702), "AAA");
        assert_eq!(letters(16_383), "XFD");
    }

    #[test]
    fn widths_are_stored_as_excel_stores_them() {
        assert_eq!(excel_width(8.0), 8.7109375);
        assert_eq!(excel_width(50.0), 50.7109375);
    }
}
