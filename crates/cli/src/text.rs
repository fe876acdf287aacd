//! Showing untrusted text (tool names, patterns, reasons from a policy
//! under review) safely: in a terminal, in Markdown.

use agentguard::analysis::Location;
use serde_json::{Map, Value};

/// Text for a terminal: control characters (an escape sequence hidden in a
/// pattern, say) are shown as `\u{1b}` instead of being sent as they are.
pub fn clean(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_control() && c != '\n' {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// A tool name as written in text output: as it is when it is plain, as a
/// JSON string when it is empty or holds spaces or control characters.
pub fn show_tool(tool: &str) -> String {
    if !tool.is_empty() && !tool.chars().any(|c| c.is_whitespace() || c.is_control()) {
        tool.to_string()
    } else {
        clean(&Value::String(tool.to_string()).to_string())
    }
}

/// Arguments as compact JSON.
pub fn show_args(args: &Map<String, Value>) -> String {
    clean(&Value::Object(args.clone()).to_string())
}

/// A call as one line: `write_file {"path":"/etc/passwd"}`, or just the
/// name when there are no arguments.
pub fn show_call(tool: &str, args: &Map<String, Value>) -> String {
    if args.is_empty() {
        show_tool(tool)
    } else {
        format!("{} {}", show_tool(tool), show_args(args))
    }
}

/// The path of a location in the document: `deny[3]`, `rules[2].when.amount`.
pub fn location_path(loc: &Location) -> String {
    match loc.index {
        Some(i) => format!("{}[{i}]", loc.field),
        None => loc.field.clone(),
    }
}

/// A Markdown code span holding `s` exactly, usable inside a table cell:
/// backticks in it get a longer fence, `|` is escaped (GFM reads `\|` as
/// `|` even in code), and line breaks and control characters are written
/// as escapes, since a table cell is one line.
pub fn md_code(s: &str) -> String {
    let mut body = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '|' => body.push_str("\\|"),
            '\n' => body.push_str("\\n"),
            '\r' => body.push_str("\\r"),
            '\t' => body.push_str("\\t"),
            c if c.is_control() => body.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => body.push(c),
        }
    }
    let mut longest = 0;
    let mut run = 0;
    for c in body.chars() {
        if c == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    let fence = "`".repeat(longest + 1);
    if body.is_empty() {
        // An empty code span does not exist in Markdown: show the quotes.
        return "`\"\"`".to_string();
    }
    let pad = if body.starts_with('`') || body.ends_with('`') || body.trim().is_empty() {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{body}{pad}{fence}")
}

/// Plain text for Markdown: every character that could start markup is
/// escaped, and line breaks become spaces.
pub fn md_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '#' | '~' | '!' | '&' | '{'
            | '}' | '(' | ')' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' => out.push(' '),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_text() {
        assert_eq!(clean("a\u{1b}[31mb"), "a\\u{1b}[31mb");
        assert_eq!(show_tool("drop_table"), "drop_table");
        assert_eq!(show_tool(""), "\"\"");
        assert_eq!(show_tool("a b"), "\"a b\"");
        assert_eq!(show_tool("a\nb"), "\"a\\nb\"");
    }

    #[test]
    fn markdown() {
        assert_eq!(md_code("drop_*"), "`drop_*`");
        assert_eq!(md_code("a|b"), "`a\\|b`");
        assert_eq!(md_code("a`b"), "``a`b``");
        assert_eq!(md_code("`a"), "`` `a ``");
        assert_eq!(md_code("a\nb"), "`a\\nb`");
        assert_eq!(md_code(""), "`\"\"`");
        assert_eq!(md_text("*a* <b>|"), "\\*a\\* \\<b\\>\\|");
    }
}
