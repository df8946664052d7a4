//! Writing rows as JSONL, CSV or one JSON array, counting bytes so that an
//! export can record exactly where each page ends.

use crate::cli::Format;
use crate::digest::Digest;
use serde::Serialize;
use serde_json::Value;
use std::io::{self, Write};

/// A writer that counts and digests what passes through it.
pub struct Counting<W> {
    inner: W,
    written: u64,
    digest: Digest,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(bytes)?;
        self.written += n as u64;
        self.digest.update(&bytes[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Writes rows in one format. `rows` and `bytes` count everything written,
/// including what an earlier (resumed) run wrote.
pub struct RowSink<W: Write> {
    out: Counting<W>,
    format: Format,
    columns: &'static [&'static str],
    rows: u64,
    /// Whether CSV text cells that a spreadsheet would run as a formula are
    /// neutralised (see `neutralise`).
    safe_csv: bool,
}

impl<W: Write> RowSink<W> {
    /// A sink over `out`, which already holds `rows` rows in `bytes` bytes
    /// whose digest is `digest` (0 and the empty digest for a fresh export,
    /// which then starts with the header or `[`).
    pub fn new(
        out: W,
        format: Format,
        columns: &'static [&'static str],
        rows: u64,
        bytes: u64,
        digest: Digest,
    ) -> io::Result<Self> {
        let mut sink = RowSink {
            out: Counting {
                inner: out,
                written: bytes,
                digest,
            },
            format,
            columns,
            rows,
            safe_csv: true,
        };
        if bytes == 0 {
            match format {
                Format::Csv => {
                    let mut header: Vec<&str> = columns.to_vec();
                    header.push(EXTRA_COLUMN);
                    write_csv_record(&mut sink.out, header.iter().map(|c| c.to_string()))?;
                }
                Format::Json => sink.out.write_all(b"[")?,
                Format::Jsonl => {}
            }
        }
        Ok(sink)
    }

    /// Writes one row.
    pub fn write_row<T: Serialize>(&mut self, row: &T) -> io::Result<()> {
        match self.format {
            Format::Jsonl => {
                serde_json::to_writer(&mut self.out, row)?;
                self.out.write_all(b"\n")?;
            }
            Format::Json => {
                self.out
                    .write_all(if self.rows == 0 { b"\n" } else { b",\n" })?;
                serde_json::to_writer(&mut self.out, row)?;
            }
            Format::Csv => {
                let value = serde_json::to_value(row)?;
                let fields = csv_fields(self.columns, value, self.safe_csv);
                write_csv_record(&mut self.out, fields)?;
            }
        }
        self.rows += 1;
        Ok(())
    }

    /// Writes CSV text cells exactly as received, formulas included
    /// (`--raw-csv`), instead of neutralising them.
    pub fn raw_csv(mut self) -> Self {
        self.safe_csv = false;
        self
    }

    /// Closes the output's structure (the JSON array); not counted in
    /// [`RowSink::bytes`] nor in [`RowSink::digest`], so a resumed export
    /// overwrites it.
    pub fn finish(&mut self) -> io::Result<()> {
        let (written, digest) = (self.out.written, self.out.digest);
        if self.format == Format::Json {
            self.out
                .write_all(if self.rows == 0 { b"]\n" } else { b"\n]\n" })?;
        }
        self.out.flush()?;
        self.out.written = written;
        self.out.digest = digest;
        Ok(())
    }

    /// The digest of the bytes counted by [`RowSink::bytes`].
    pub fn digest(&self) -> Digest {
        self.out.digest
    }

    /// The writer, for syncing.
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.out.inner
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// Rows written, all runs included.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Bytes of rows (and header) written, all runs included.
    pub fn bytes(&self) -> u64 {
        self.out.written
    }

    #[cfg(test)]
    pub fn get_ref(&self) -> &W {
        &self.out.inner
    }
}

/// The last CSV column: a row's fields that have no column of their own, as
/// one JSON object, so that no field is lost.
pub const EXTRA_COLUMN: &str = "other_fields";

/// A row's CSV fields: one per column, nested values as JSON text, then the
/// remaining fields as one JSON object. With `safe`, text cells a
/// spreadsheet would run as a formula are neutralised.
fn csv_fields(columns: &[&str], value: Value, safe: bool) -> impl Iterator<Item = String> {
    let mut object = match value {
        Value::Object(object) => object,
        other => serde_json::Map::from_iter([("value".to_string(), other)]),
    };
    let mut fields: Vec<String> = columns
        .iter()
        .map(|column| {
            object
                .remove(*column)
                .map(|value| csv_text(value, safe))
                .unwrap_or_default()
        })
        .collect();
    fields.push(if object.is_empty() {
        String::new()
    } else {
        Value::Object(object).to_string()
    });
    fields.into_iter()
}

fn csv_text(value: Value, safe: bool) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(text) if safe => neutralise(text),
        Value::String(text) => text,
        other => other.to_string(),
    }
}

/// CSV injection: Excel, Sheets and LibreOffice run a cell that begins with
/// `=`, `+`, `-` or `@` (and, in some, a tab or carriage return) as a
/// formula. Company names, reasons and snippets come from the web, so such a
/// text cell gets a leading `'`, which spreadsheets show as text (OWASP's
/// advice). Numbers are not text cells and stay as they are.
fn neutralise(text: String) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text
    }
}

/// One RFC 4180 record (CRLF-terminated, quoted where needed), written
/// whole so the byte count stays exact.
fn write_csv_record(out: &mut impl Write, fields: impl Iterator<Item = String>) -> io::Result<()> {
    let mut record = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    record.write_record(fields).map_err(io::Error::other)?;
    let bytes = record
        .into_inner()
        .map_err(|error| io::Error::other(error.to_string()))?;
    out.write_all(&bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn written(format: Format, rows: &[Value]) -> String {
        written_with(format, rows, false)
    }

    fn written_with(format: Format, rows: &[Value], raw: bool) -> String {
        let mut sink = RowSink::new(
            Vec::new(),
            format,
            &["name", "domain"],
            0,
            0,
            Digest::default(),
        )
        .unwrap();
        if raw {
            sink = sink.raw_csv();
        }
        for row in rows {
            sink.write_row(row).unwrap();
        }
        sink.finish().unwrap();
        String::from_utf8(sink.get_ref().clone()).unwrap()
    }

    #[test]
    fn jsonl_writes_one_object_per_line_with_every_field() {
        let text = written(
            Format::Jsonl,
            &[json!({"name": "A", "new_field": 1}), json!({"name": "B"})],
        );
        assert_eq!(text, "{\"name\":\"A\",\"new_field\":1}\n{\"name\":\"B\"}\n");
    }

    #[test]
    fn csv_quotes_nests_as_json_and_keeps_unknown_fields() {
        let text = written(
            Format::Csv,
            &[
                json!({"name": "Acme, \"Inc\"", "domain": "a.com", "tags": ["x", "y"]}),
                json!({"name": "B", "domain": null}),
            ],
        );
        assert_eq!(
            text,
            "name,domain,other_fields\r\n\"Acme, \"\"Inc\"\"\",a.com,\"{\"\"tags\"\":[\"\"x\"\",\"\"y\"\"]}\"\r\nB,,\r\n"
        );
    }

    #[test]
    fn json_is_one_array_and_empty_is_valid() {
        let text = written(Format::Json, &[json!({"name": "A"}), json!({"name": "B"})]);
        let parsed: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(parsed, json!([{"name": "A"}, {"name": "B"}]));
        assert_eq!(
            serde_json::from_str::<Value>(&written(Format::Json, &[])).unwrap(),
            json!([])
        );
    }

    #[test]
    fn the_closing_bracket_is_not_counted_so_a_resume_overwrites_it() {
        let mut sink =
            RowSink::new(Vec::new(), Format::Json, &[], 0, 0, Digest::default()).unwrap();
        sink.write_row(&json!({"a": 1})).unwrap();
        let before = sink.bytes();
        sink.finish().unwrap();
        assert_eq!(sink.bytes(), before);
        assert_eq!(sink.get_ref().len() as u64, before + 3);
    }

    #[test]
    fn formula_cells_are_neutralised_by_default_and_raw_on_request() {
        let formulas = ["=1+1", "+SUM(A1)", "-2+3", "@x", "\tindented", "\rreturn"];
        let rows: Vec<Value> = formulas
            .iter()
            .map(|text| json!({"name": text, "domain": -2, "other": "=HYPERLINK(\"x\")"}))
            .chain([json!({"name": "Acme, Inc. \"quoted\"", "domain": "acme.com"})])
            .collect();
        let read = |text: &str| -> Vec<Vec<String>> {
            csv::Reader::from_reader(text.as_bytes())
                .records()
                .map(|record| record.unwrap().iter().map(str::to_string).collect())
                .collect()
        };
        let safe = read(&written(Format::Csv, &rows));
        let raw = read(&written_with(Format::Csv, &rows, true));
        for (index, formula) in formulas.iter().enumerate() {
            assert_eq!(safe[index][0], format!("'{formula}"), "neutralised");
            assert_eq!(raw[index][0], *formula, "raw with the flag");
            // A JSON number stays a number; nested JSON text is data.
            assert_eq!(safe[index][1], "-2");
            assert_eq!(safe[index][2], r#"{"other":"=HYPERLINK(\"x\")"}"#);
        }
        assert_eq!(safe[6][0], "Acme, Inc. \"quoted\"");
        assert_eq!(safe[6][1], "acme.com");
        // JSONL stays byte-faithful.
        assert!(written(Format::Jsonl, &rows).contains("\"name\":\"=1+1\""));
    }
}
