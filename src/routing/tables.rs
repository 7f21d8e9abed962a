//! Lookup tables a dialplan reads: prefix tables for least-cost routing, number translation tables for
//! freephone, barring lists. Operators keep them as data files beside the script (CSV with a header row, or
//! TOML), so a rate change needs no script edit. Tables are loaded once with the script and recorded with it
//! in the event log, so a replay sees the tables the call saw.
//!
//! A table is named after its file stem (`dialplans/lcr_rates.csv` is table `lcr_rates`). The first CSV column
//! is the key; the other columns become fields of the row map the script receives. A TOML table maps each key
//! to an inline table of fields (or to a plain value, which becomes the field `value`).

use std::collections::BTreeMap;

use rhai::{Dynamic, Map};

/// A table file that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct TableError {
    /// The file.
    pub file: String,
    /// 1-based line (0 when unknown).
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// A value in a table row: integers and decimals stay numbers so scripts can compare rates.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// Text.
    Text(String),
    /// A whole number.
    Integer(i64),
    /// A decimal number.
    Decimal(f64),
    /// true/false.
    Boolean(bool),
}

impl Cell {
    fn parse(text: &str) -> Cell {
        let text = text.trim();
        if let Ok(value) = text.parse::<i64>() {
            // Numbers with leading zeros are digit strings (prefixes, numbers), not quantities.
            if !(text.len() > 1 && (text.starts_with('0') || text.starts_with('+'))) {
                return Cell::Integer(value);
            }
        }
        if text.contains('.') {
            if let Ok(value) = text.parse::<f64>() {
                return Cell::Decimal(value);
            }
        }
        Cell::Text(text.to_string())
    }

    fn to_dynamic(&self) -> Dynamic {
        match self {
            Cell::Text(text) => Dynamic::from(text.clone()),
            Cell::Integer(value) => Dynamic::from_int(*value),
            Cell::Decimal(value) => Dynamic::from_float(*value),
            Cell::Boolean(value) => Dynamic::from_bool(*value),
        }
    }
}

/// One row: its key and named fields.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The key (a prefix or a whole number).
    pub key: String,
    /// Fields by column name, in file order.
    pub fields: Vec<(String, Cell)>,
}

impl Row {
    /// The row as a script map: the key under `key` and under the first column's name, then the fields.
    pub fn to_map(&self, key_column: &str) -> Map {
        let mut map = Map::new();
        map.insert("key".into(), Dynamic::from(self.key.clone()));
        map.insert(key_column.into(), Dynamic::from(self.key.clone()));
        for (name, cell) in &self.fields {
            map.insert(name.as_str().into(), cell.to_dynamic());
        }
        map
    }
}

/// A loaded table. Several rows may share a key (one per carrier in a rate table).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Table {
    /// Name of the key column.
    pub key_column: String,
    rows: BTreeMap<String, Vec<Row>>,
    longest_key: usize,
}

impl Table {
    /// Loads a table from a file's text; the format follows the extension (`.csv` or `.toml`).
    pub fn parse(file: &str, text: &str) -> Result<Table, TableError> {
        if file.ends_with(".toml") {
            parse_toml(file, text)
        } else if file.ends_with(".csv") {
            parse_csv(file, text)
        } else {
            Err(TableError {
                file: file.to_string(),
                line: 0,
                message: "a table file must end in .csv or .toml".into(),
            })
        }
    }

    fn insert(&mut self, row: Row) {
        self.longest_key = self.longest_key.max(row.key.len());
        self.rows.entry(row.key.clone()).or_default().push(row);
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.rows.values().map(Vec::len).sum()
    }

    /// Whether the table has no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Rows whose key is exactly `key`.
    pub fn exact(&self, key: &str) -> &[Row] {
        self.rows.get(key).map_or(&[], Vec::as_slice)
    }

    /// Rows of the longest key that is a prefix of `number` (empty when none is).
    pub fn longest_match(&self, number: &str) -> &[Row] {
        // At most `longest_key` map probes, each O(log n): no scan of the table per call.
        let mut end = number.len().min(self.longest_key);
        loop {
            if let Some(prefix) = number.get(..end) {
                if let Some(rows) = self.rows.get(prefix) {
                    return rows;
                }
            }
            if end == 0 {
                return &[];
            }
            end -= 1;
        }
    }
}

fn parse_csv(file: &str, text: &str) -> Result<Table, TableError> {
    let error = |line: usize, message: String| TableError {
        file: file.to_string(),
        line,
        message,
    };
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(index, line)| (index + 1, line.trim()))
        .filter(|(_, line)| !line.is_empty() && !line.starts_with('#'));
    let (_, header) = lines
        .next()
        .ok_or_else(|| error(1, "no header row".into()))?;
    let columns: Vec<String> = header.split(',').map(|c| c.trim().to_string()).collect();
    if columns.iter().any(String::is_empty) {
        return Err(error(1, "empty column name in the header row".into()));
    }
    let mut table = Table {
        key_column: columns.first().cloned().unwrap_or_default(),
        ..Table::default()
    };
    for (line_number, line) in lines {
        let cells: Vec<&str> = line.split(',').collect();
        if cells.len() != columns.len() {
            return Err(error(
                line_number,
                format!("{} fields, the header has {}", cells.len(), columns.len()),
            ));
        }
        let key = cells
            .first()
            .map(|k| k.trim().to_string())
            .unwrap_or_default();
        if key.is_empty() {
            return Err(error(line_number, "empty key".into()));
        }
        let fields = columns
            .iter()
            .zip(cells.iter())
            .skip(1)
            .map(|(name, cell)| (name.clone(), Cell::parse(cell)))
            .collect();
        table.insert(Row { key, fields });
    }
    Ok(table)
}

fn parse_toml(file: &str, text: &str) -> Result<Table, TableError> {
    let value: toml::Table = toml::from_str(text).map_err(|err| TableError {
        file: file.to_string(),
        line: err
            .span()
            .map(|span| {
                text.get(..span.start)
                    .map_or(0, |t| t.lines().count().max(1))
            })
            .unwrap_or(0),
        message: err.message().to_string(),
    })?;
    let mut table = Table {
        key_column: "key".into(),
        ..Table::default()
    };
    for (key, value) in value {
        let fields = match value {
            toml::Value::Table(fields) => fields
                .into_iter()
                .map(|(name, value)| (name, toml_cell(value)))
                .collect(),
            other => vec![("value".to_string(), toml_cell(other))],
        };
        table.insert(Row { key, fields });
    }
    Ok(table)
}

fn toml_cell(value: toml::Value) -> Cell {
    match value {
        toml::Value::String(text) => Cell::Text(text),
        toml::Value::Integer(value) => Cell::Integer(value),
        toml::Value::Float(value) => Cell::Decimal(value),
        toml::Value::Boolean(value) => Cell::Boolean(value),
        other => Cell::Text(other.to_string()),
    }
}

/// The table name of a file: its stem (`dialplans/lcr_rates.csv` → `lcr_rates`).
pub fn table_name(file: &str) -> String {
    std::path::Path::new(file)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| file.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_longest_match_and_types() {
        let table = Table::parse(
            "rates.csv",
            "prefix,carrier,rate\n# comment\n+44,a,0.020\n+44,b,0.018\n+4420,c,0.010\n+1,a,3\n",
        )
        .expect("parses");
        assert_eq!(table.len(), 4);
        let rows = table.longest_match("+442071234567");
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].key, "+4420");
        assert_eq!(table.longest_match("+441611234").len(), 2);
        assert!(table.longest_match("+49301234").is_empty());
        assert_eq!(table.exact("+1")[0].fields[1].1, Cell::Integer(3));
        assert_eq!(table.exact("+44")[1].fields[1].1, Cell::Decimal(0.018));
        let map = table.exact("+1")[0].to_map(&table.key_column);
        assert_eq!(map["prefix"].clone().into_string().unwrap(), "+1");
    }

    #[test]
    fn leading_zero_numbers_stay_text() {
        let table = Table::parse("f.csv", "number,target\n0800123,0301234\n").expect("parses");
        assert_eq!(
            table.exact("0800123")[0].fields[0].1,
            Cell::Text("0301234".into())
        );
    }

    #[test]
    fn csv_errors_name_the_line() {
        let err = Table::parse("r.csv", "a,b\n1,2\n3\n").unwrap_err();
        assert_eq!((err.line, err.file.as_str()), (3, "r.csv"), "{err}");
        assert!(Table::parse("r.csv", "").is_err());
        assert!(Table::parse("r.txt", "a\n").is_err());
    }

    #[test]
    fn toml_tables() {
        let table = Table::parse(
            "free.toml",
            "\"0800100\" = { target = \"+4930100\", note = \"x\" }\n\"0800200\" = \"+4930200\"\n",
        )
        .expect("parses");
        assert_eq!(
            table.exact("0800200")[0].fields,
            vec![("value".to_string(), Cell::Text("+4930200".into()))]
        );
        assert_eq!(table.longest_match("08001009").len(), 1);
        let err = Table::parse("bad.toml", "a = \n").unwrap_err();
        assert_eq!(err.line, 1, "{err}");
    }

    #[test]
    fn names() {
        assert_eq!(table_name("dialplans/lcr_rates.csv"), "lcr_rates");
    }
}
