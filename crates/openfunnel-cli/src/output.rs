//! Writing rows as JSONL, CSV or one JSON array, counting bytes so that an
//! export can record exactly where each page ends.

use crate::cli::Format;
use crate::digest::Digest;
use serde_json::value::RawValue;
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
    columns: Vec<String>,
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
        columns: Vec<String>,
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
                    let header = sink.columns.iter().cloned();
                    write_csv_record(&mut sink.out, header.chain([EXTRA_COLUMN.to_string()]))?;
                }
                Format::Json => sink.out.write_all(b"[")?,
                Format::Jsonl => {}
            }
        }
        Ok(sink)
    }

    /// Writes one row, given as the server's JSON text for it: JSONL and
    /// JSON get that text itself (on one line: whitespace between tokens is
    /// dropped only if the server put a line break there), CSV its values
    /// as sent.
    pub fn write_row(&mut self, row: &RawValue) -> io::Result<()> {
        match self.format {
            Format::Jsonl => {
                write_one_line(&mut self.out, row.get())?;
                self.out.write_all(b"\n")?;
            }
            Format::Json => {
                self.out
                    .write_all(if self.rows == 0 { b"\n" } else { b",\n" })?;
                write_one_line(&mut self.out, row.get())?;
            }
            Format::Csv => {
                let fields = csv_fields(&self.columns, row, self.safe_csv)?;
                write_csv_record(&mut self.out, fields.into_iter())?;
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

/// A row's CSV fields: one per column, nested values as their JSON text,
/// then the remaining fields as one JSON object (in the order sent), so
/// that no field is lost. Numbers are written as sent. With `safe`, text
/// cells a spreadsheet would run as a formula are neutralised.
fn csv_fields(columns: &[String], row: &RawValue, safe: bool) -> io::Result<Vec<String>> {
    let fields: Fields<'_> = match serde_json::from_str(row.get()) {
        Ok(fields) => fields,
        // Not an object: the whole row is one extra value.
        Err(_) => Fields(vec![("value".into(), row)]),
    };
    let mut fields = fields.0;
    let mut cells = Vec::with_capacity(columns.len() + 1);
    for column in columns {
        let cell = match fields.iter().position(|(name, _)| name == column) {
            Some(index) => csv_text(fields.remove(index).1, safe)?,
            None => String::new(),
        };
        cells.push(cell);
    }
    cells.push(if fields.is_empty() {
        String::new()
    } else {
        let mut object = String::from("{");
        for (index, (name, value)) in fields.iter().enumerate() {
            if index > 0 {
                object.push(',');
            }
            object.push_str(&serde_json::to_string(name)?);
            object.push(':');
            object.push_str(&one_line(value.get()));
        }
        object.push('}');
        object
    });
    Ok(cells)
}

/// A JSON object's members in the order sent, each value as its JSON text.
struct Fields<'a>(Vec<(std::borrow::Cow<'a, str>, &'a RawValue)>);

impl<'de> serde::Deserialize<'de> for Fields<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Members;
        impl<'de> serde::de::Visitor<'de> for Members {
            type Value = Fields<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Fields<'de>, A::Error> {
                let mut members = Vec::new();
                while let Some(name) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    members.push((name, map.next_value::<&'de RawValue>()?));
                }
                Ok(Fields(members))
            }
        }
        deserializer.deserialize_map(Members)
    }
}

/// One cell: a string's text, nothing for `null`, anything else (a number,
/// a boolean, an array, an object) as its JSON text as sent.
fn csv_text(value: &RawValue, safe: bool) -> io::Result<String> {
    let text = value.get();
    if text == "null" {
        return Ok(String::new());
    }
    if text.starts_with('"') {
        let text: String = serde_json::from_str(text)?;
        return Ok(if safe { neutralise(text) } else { text });
    }
    Ok(one_line(text).into_owned())
}

/// `json` on one line: unchanged unless it holds a line break, which JSON
/// allows only as whitespace between tokens; then the whitespace between
/// tokens is dropped (strings are kept exactly).
fn one_line(json: &str) -> std::borrow::Cow<'_, str> {
    if !json.contains(['\n', '\r']) {
        return std::borrow::Cow::Borrowed(json);
    }
    let mut compact = String::with_capacity(json.len());
    let (mut in_string, mut escaped) = (false, false);
    for character in json.chars() {
        if in_string {
            compact.push(character);
            match (escaped, character) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
        } else if !matches!(character, ' ' | '\t' | '\n' | '\r') {
            in_string = character == '"';
            compact.push(character);
        }
    }
    std::borrow::Cow::Owned(compact)
}

fn write_one_line(out: &mut impl Write, json: &str) -> io::Result<()> {
    out.write_all(one_line(json).as_bytes())
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
    use serde_json::{Value, json};

    fn written(format: Format, rows: &[Value]) -> String {
        written_with(format, rows, false)
    }

    fn written_with(format: Format, rows: &[Value], raw: bool) -> String {
        let mut sink = RowSink::new(
            Vec::new(),
            format,
            vec!["name".into(), "domain".into()],
            0,
            0,
            Digest::default(),
        )
        .unwrap();
        if raw {
            sink = sink.raw_csv();
        }
        for row in rows {
            sink.write_row(&serde_json::value::to_raw_value(row).unwrap())
                .unwrap();
        }
        sink.finish().unwrap();
        String::from_utf8(sink.get_ref().clone()).unwrap()
    }

    #[test]
    fn a_row_spread_over_lines_is_put_on_one_with_its_strings_intact() {
        let spread = "{\n  \"a\": \"x \\\" y  z\\\\\",\n\t\"b\" : [1, 2]\r\n}";
        assert_eq!(one_line(spread), r#"{"a":"x \" y  z\\","b":[1,2]}"#);
        // Without a line break the text is kept as it is, spaces included.
        assert_eq!(one_line(r#"{"a": 1}"#), r#"{"a": 1}"#);
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
        let mut sink = RowSink::new(
            Vec::new(),
            Format::Json,
            Vec::new(),
            0,
            0,
            Digest::default(),
        )
        .unwrap();
        sink.write_row(&serde_json::value::to_raw_value(&json!({"a": 1})).unwrap())
            .unwrap();
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
