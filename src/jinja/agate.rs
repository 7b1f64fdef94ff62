//! Query results as templates see them, in the shape of dbt's agate tables:
//! `table.rows` (rows indexable by position and by column name),
//! `table.columns['name'].values()`, `table.column_names`, iteration, len.

use std::sync::Arc;

use minijinja::value::{Enumerator, Object, ObjectRepr, Value};
use minijinja::{Error, ErrorKind, State};

use crate::adapter::{Cell, Table};
use crate::jinja::methods::List;

/// A cell as a template value.
pub fn cell_value(c: &Cell) -> Value {
    match c {
        Cell::Null => Value::from(()),
        Cell::Bool(b) => Value::from(*b),
        Cell::Int(i) => i64::try_from(*i)
            .map(Value::from)
            .unwrap_or_else(|_| Value::from(i.to_string())),
        Cell::Float(f) => Value::from(*f),
        Cell::Decimal(s) => s
            .parse::<f64>()
            .map(Value::from)
            .unwrap_or_else(|_| Value::from(s.clone())),
        Cell::Text(s) | Cell::Other(s) => Value::from(s.clone()),
    }
}

#[derive(Debug)]
pub struct AgateTable {
    names: Arc<Vec<String>>,
    types: Vec<String>,
    rows: Vec<Value>,
}

#[derive(Debug)]
struct AgateRow {
    names: Arc<Vec<String>>,
    values: Vec<Value>,
}

#[derive(Debug)]
struct AgateColumns(Arc<AgateTable>);

#[derive(Debug)]
struct AgateColumn {
    name: String,
    data_type: String,
    values: Vec<Value>,
}

impl AgateTable {
    pub fn from_table(t: &Table) -> Value {
        let names = Arc::new(t.columns.iter().map(|c| c.name.clone()).collect::<Vec<_>>());
        let rows = t
            .rows
            .iter()
            .map(|r| {
                Value::from_object(AgateRow {
                    names: names.clone(),
                    values: r.iter().map(cell_value).collect(),
                })
            })
            .collect();
        Value::from_object(AgateTable {
            names,
            types: t.columns.iter().map(|c| c.data_type.clone()).collect(),
            rows,
        })
    }

    pub fn empty() -> Value {
        AgateTable::from_table(&Table::default())
    }
}

impl Object for AgateTable {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Seq
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        if let Some(i) = key.as_i64() {
            let i = if i < 0 { self.rows.len() as i64 + i } else { i };
            return self.rows.get(usize::try_from(i).ok()?).cloned();
        }
        match key.as_str()? {
            "rows" => Some(List::new_value(self.rows.clone())),
            "columns" => Some(Value::from_object(AgateColumns(self.clone()))),
            "column_names" => Some(Value::from(
                self.names
                    .iter()
                    .cloned()
                    .map(Value::from)
                    .collect::<Vec<_>>(),
            )),
            "column_types" => Some(Value::from(
                self.types
                    .iter()
                    .cloned()
                    .map(Value::from)
                    .collect::<Vec<_>>(),
            )),
            _ => None,
        }
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(self.rows.clone())
    }

    fn enumerator_len(self: &Arc<Self>) -> Option<usize> {
        Some(self.rows.len())
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        _args: &[Value],
    ) -> Result<Value, Error> {
        match method {
            "print_table" => Ok(Value::from("")),
            "rows" => Ok(List::new_value(self.rows.clone())),
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }
}

impl Object for AgateRow {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Seq
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        if let Some(i) = key.as_i64() {
            let i = if i < 0 {
                self.values.len() as i64 + i
            } else {
                i
            };
            return self.values.get(usize::try_from(i).ok()?).cloned();
        }
        let name = key.as_str()?;
        let idx = self
            .names
            .iter()
            .position(|n| n == name || n.eq_ignore_ascii_case(name))?;
        self.values.get(idx).cloned()
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(self.values.clone())
    }

    fn enumerator_len(self: &Arc<Self>) -> Option<usize> {
        Some(self.values.len())
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        _args: &[Value],
    ) -> Result<Value, Error> {
        match method {
            "keys" => Ok(List::new_value(
                self.names.iter().cloned().map(Value::from).collect(),
            )),
            "values" => Ok(List::new_value(self.values.clone())),
            "items" => Ok(List::new_value(
                self.names
                    .iter()
                    .zip(&self.values)
                    .map(|(n, v)| Value::from(vec![Value::from(n.clone()), v.clone()]))
                    .collect(),
            )),
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }
}

impl Object for AgateColumns {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Seq
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let t = &self.0;
        let idx = match key.as_i64() {
            Some(i) => usize::try_from(i).ok()?,
            None => {
                let name = key.as_str()?;
                t.names
                    .iter()
                    .position(|n| n == name || n.eq_ignore_ascii_case(name))?
            }
        };
        let name = t.names.get(idx)?.clone();
        let values = t
            .rows
            .iter()
            .map(|r| r.get_item(&Value::from(idx)).unwrap_or_default())
            .collect();
        Some(Value::from_object(AgateColumn {
            name,
            data_type: t.types.get(idx).cloned().unwrap_or_default(),
            values,
        }))
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(self.all())
    }

    /// agate's MappedSequence: keys(), values(), items() by column name.
    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        _args: &[Value],
    ) -> Result<Value, Error> {
        let names = || self.0.names.iter().cloned().map(Value::from);
        match method {
            "keys" => Ok(List::new_value(names().collect())),
            "values" => Ok(List::new_value(self.all())),
            "items" => Ok(List::new_value(
                names()
                    .zip(self.all())
                    .map(|(n, c)| Value::from(vec![n, c]))
                    .collect(),
            )),
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }
}

impl AgateColumns {
    fn all(self: &Arc<Self>) -> Vec<Value> {
        (0..self.0.names.len())
            .filter_map(|i| self.get_value(&Value::from(i)))
            .collect()
    }
}

impl Object for AgateColumn {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        match key.as_str()? {
            "name" => Some(Value::from(self.name.clone())),
            "data_type" => Some(Value::from(self.data_type.clone())),
            _ => None,
        }
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        _args: &[Value],
    ) -> Result<Value, Error> {
        match method {
            "values" | "values_distinct" => Ok(List::new_value(self.values.clone())),
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }
}
