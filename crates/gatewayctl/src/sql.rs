//! SQL parameters as literals, for `wrangler d1 execute` (which cannot bind parameters).
//! This is the only place gatewayctl puts values into SQL text.

/// A parameter value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Param<'a> {
    /// Text, quoted as an SQLite string literal.
    Text(&'a str),
    /// An integer.
    Int(i64),
    /// NULL.
    Null,
}

/// Replaces `?1`, `?2`, … in `sql` with the literals of `params`.
///
/// Text is single-quoted with embedded quotes doubled; NUL characters are refused. `sql` must
/// not contain `?` inside its own string literals (the statements in `gateway::history` do not).
pub fn bind(sql: &str, params: &[Param<'_>]) -> Result<String, String> {
    let mut out = String::with_capacity(sql.len() + 64);
    let mut rest = sql;
    while let Some(at) = rest.find('?') {
        out.push_str(&rest[..at]);
        let digits: String = rest[at + 1..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        let n: usize = digits
            .parse()
            .map_err(|_| format!("bare `?` in SQL: {sql}"))?;
        let param = params
            .get(n.wrapping_sub(1))
            .ok_or_else(|| format!("no value for ?{n}"))?;
        match param {
            Param::Text(text) if text.contains('\0') => {
                return Err("text contains a NUL character".into())
            }
            Param::Text(text) => {
                out.push('\'');
                out.push_str(&text.replace('\'', "''"));
                out.push('\'');
            }
            Param::Int(i) => out.push_str(&i.to_string()),
            Param::Null => out.push_str("NULL"),
        }
        rest = &rest[at + 1 + digits.len()..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::{bind, Param};

    #[test]
    fn literals() {
        let cases: &[(&str, &[Param<'_>], Result<&str, &str>)] = &[
            ("SELECT ?1", &[Param::Text("a")], Ok("SELECT 'a'")),
            (
                "SELECT ?1",
                &[Param::Text("it's; DROP TABLE x; --")],
                Ok("SELECT 'it''s; DROP TABLE x; --'"),
            ),
            (
                "VALUES (?1, ?2, ?3)",
                &[Param::Int(-4), Param::Null, Param::Text("")],
                Ok("VALUES (-4, NULL, '')"),
            ),
            ("?2 ?1 ?2", &[Param::Int(1), Param::Int(2)], Ok("2 1 2")),
            ("?10", &[Param::Int(0); 10], Ok("0")),
            ("SELECT ?3", &[Param::Int(1)], Err("no value for ?3")),
            ("SELECT ?", &[], Err("bare `?` in SQL: SELECT ?")),
            (
                "SELECT ?1",
                &[Param::Text("a\0b")],
                Err("text contains a NUL character"),
            ),
        ];
        for (sql, params, want) in cases {
            assert_eq!(
                bind(sql, params).as_deref(),
                want.map_err(str::to_owned).as_deref(),
                "{sql}"
            );
        }
    }
}
