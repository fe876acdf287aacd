//! The small POSIX shell subset that the `command` operator reads
//! (CONDITIONS.md, "Shell commands").
//!
//! A string is split into simple commands, each a list of words, exactly
//! when it stays inside a subset in which a word list shows what runs: no
//! expansions, redirections, subshells, globbing, comments, assignments or
//! compound commands. Anything outside it is *unknown* (`None`), which an
//! allow rule reads as "not allowed" and a deny rule as "denied".

use crate::pattern::Matcher;

/// First words that begin compound commands or change how the rest is
/// read: a word list cannot show what they run.
const RESERVED: [&str; 18] = [
    "if", "then", "else", "elif", "fi", "for", "while", "until", "do", "done", "case", "esac",
    "function", "select", "time", "coproc", "[[", "]]",
];

/// Characters that are unknown when unquoted and unescaped (`=` only in the
/// first word of a simple command, handled apart).
fn is_unknown_char(c: char) -> bool {
    matches!(
        c,
        '$' | '`' | '<' | '>' | '(' | ')' | '{' | '}' | '*' | '?' | '[' | ']' | '~' | '#' | '!'
    )
}

/// The separator that ended a simple command.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Sep {
    /// `;`, `&` or newline: may also end the whole string.
    Terminator,
    /// `|`, `&&`, `||`: must be followed by a command.
    Joiner,
}

/// One simple command's words, as spans of a shared buffer.
pub(crate) struct Words<'a> {
    buf: &'a str,
    spans: &'a [(usize, usize)],
}

impl<'a> Words<'a> {
    /// How many words.
    pub(crate) fn len(&self) -> usize {
        self.spans.len()
    }

    /// The `k`th word.
    pub(crate) fn get(&self, k: usize) -> &'a str {
        let (a, b) = self.spans[k];
        &self.buf[a..b]
    }
}

/// Reads `text` as a command list and hands each simple command's words to
/// `visit`, in order; `None` when the string is outside the subset
/// (unknown), in which case what `visit` saw must be discarded.
///
/// Every character the subset treats specially is ASCII, so the string is
/// read byte by byte: a byte of a multi-byte character is never one of
/// them, and every cut falls on a character boundary.
pub(crate) fn for_each_command(text: &str, mut visit: impl FnMut(&Words<'_>)) -> Option<()> {
    let bytes = text.as_bytes();
    // All words, one after another; each word is a span of it.
    let mut buf = String::with_capacity(text.len());
    let mut spans: Vec<(usize, usize)> = Vec::new();
    // The current simple command's first span; the current word's start
    // (`None` until the word begins: quotes make an empty word begin).
    let mut command_start = 0;
    let mut word: Option<usize> = None;
    let mut last_sep: Option<Sep> = None;
    let mut commands = 0usize;
    let end_word = |buf: &String, spans: &mut Vec<(usize, usize)>, word: &mut Option<usize>| {
        if let Some(start) = word.take() {
            spans.push((start, buf.len()));
        }
    };
    // Ends the current simple command at a separator: `None` when it is
    // empty (a leading separator, or two in a row) or starts with a
    // reserved word.
    let mut end_command = |buf: &String,
                           spans: &mut Vec<(usize, usize)>,
                           command_start: &mut usize,
                           visit: &mut dyn FnMut(&Words<'_>)|
     -> Option<()> {
        if spans.len() == *command_start {
            return None;
        }
        let words = Words {
            buf,
            spans: &spans[*command_start..],
        };
        if RESERVED.contains(&words.get(0)) {
            return None;
        }
        visit(&words);
        commands += 1;
        *command_start = spans.len();
        Some(())
    };
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b' ' | b'\t' => {
                end_word(&buf, &mut spans, &mut word);
                i += 1;
            }
            b'\n' | b';' | b'&' | b'|' => {
                let doubled = matches!(c, b'&' | b'|') && bytes.get(i + 1) == Some(&c);
                let sep = match (c, doubled) {
                    (b'|', _) | (b'&', true) => Sep::Joiner,
                    _ => Sep::Terminator,
                };
                end_word(&buf, &mut spans, &mut word);
                end_command(&buf, &mut spans, &mut command_start, &mut visit)?;
                last_sep = Some(sep);
                i += if doubled { 2 } else { 1 };
            }
            b'\'' => {
                let close = i + 1 + bytes[i + 1..].iter().position(|&q| q == b'\'')?;
                word.get_or_insert(buf.len());
                buf.push_str(&text[i + 1..close]);
                i = close + 1;
            }
            b'"' => {
                word.get_or_insert(buf.len());
                i += 1;
                loop {
                    let q = *bytes.get(i)?;
                    match q {
                        b'"' => {
                            i += 1;
                            break;
                        }
                        b'\\' => match bytes.get(i + 1) {
                            Some(&e @ (b'"' | b'\\' | b'`' | b'$')) => {
                                buf.push(e as char);
                                i += 2;
                            }
                            Some(b'\n') | None => return None,
                            // Any other character: the backslash is itself,
                            // and the next character is read as usual.
                            Some(_) => {
                                buf.push('\\');
                                i += 1;
                            }
                        },
                        b'$' | b'`' => return None,
                        _ => {
                            let run = bytes[i..]
                                .iter()
                                .position(|&b| matches!(b, b'"' | b'\\' | b'$' | b'`'))
                                .map_or(bytes.len(), |k| i + k);
                            buf.push_str(&text[i..run]);
                            i = run;
                        }
                    }
                }
            }
            b'\\' => {
                let next = text[i + 1..].chars().next()?;
                if next == '\n' {
                    return None;
                }
                word.get_or_insert(buf.len());
                buf.push(next);
                i += 1 + next.len_utf8();
            }
            b'=' if spans.len() == command_start => return None,
            c if c.is_ascii() && is_unknown_char(c as char) => return None,
            _ => {
                // A run of ordinary characters: this one (an `=` past the
                // first word is one), then up to the next special byte.
                let run = bytes[i + 1..]
                    .iter()
                    .position(|&b| b.is_ascii() && is_special(b))
                    .map_or(bytes.len(), |k| i + 1 + k);
                word.get_or_insert(buf.len());
                buf.push_str(&text[i..run]);
                i = run;
            }
        }
    }
    end_word(&buf, &mut spans, &mut word);
    if spans.len() == command_start {
        // Nothing after the last separator: fine after `;`, `&` or a
        // newline, unknown after `|`, `&&`, `||` or with no command at all.
        if last_sep != Some(Sep::Terminator) {
            return None;
        }
    } else {
        end_command(&buf, &mut spans, &mut command_start, &mut visit)?;
    }
    (commands > 0).then_some(())
}

/// Whether an ASCII byte ends a run of ordinary word characters.
fn is_special(b: u8) -> bool {
    matches!(
        b,
        b' ' | b'\t' | b'\n' | b';' | b'&' | b'|' | b'\'' | b'"' | b'\\' | b'='
    ) || is_unknown_char(b as char)
}

/// Splits `text` into simple commands of words, or `None` when it is
/// outside the subset (unknown).
#[cfg(test)]
pub(crate) fn parse(text: &str) -> Option<Vec<Vec<String>>> {
    let mut out = Vec::new();
    for_each_command(text, |w| {
        out.push((0..w.len()).map(|k| w.get(k).to_string()).collect());
    })?;
    Some(out)
}

/// A compiled command pattern: one glob per word; a last glob that is
/// exactly `*` matches zero or more remaining words.
#[derive(Clone, Debug)]
pub(crate) struct CommandPattern {
    words: Vec<Matcher>,
    rest: bool,
}

impl CommandPattern {
    /// Compiles word globs (already checked to be non-empty).
    pub(crate) fn new(globs: &[String]) -> CommandPattern {
        let rest = globs.last().is_some_and(|g| g == "*");
        let fixed = if rest {
            &globs[..globs.len() - 1]
        } else {
            globs
        };
        CommandPattern {
            words: fixed.iter().map(|g| Matcher::new(g)).collect(),
            rest,
        }
    }

    /// Whether a simple command's words match.
    pub(crate) fn matches(&self, words: &Words<'_>) -> bool {
        let n = self.words.len();
        let count_ok = if self.rest {
            words.len() >= n
        } else {
            words.len() == n
        };
        count_ok
            && self
                .words
                .iter()
                .enumerate()
                .all(|(k, m)| m.is_match(words.get(k)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Option<Vec<Vec<String>>> {
        parse(text)
    }

    #[test]
    fn the_subset() {
        let some = |v: &[&[&str]]| {
            Some(
                v.iter()
                    .map(|c| c.iter().map(|w| w.to_string()).collect())
                    .collect::<Vec<Vec<String>>>(),
            )
        };
        assert_eq!(words("git status"), some(&[&["git", "status"]]));
        assert_eq!(
            words("git status && git diff HEAD"),
            some(&[&["git", "status"], &["git", "diff", "HEAD"]])
        );
        assert_eq!(words("ls; rm -rf /"), some(&[&["ls"], &["rm", "-rf", "/"]]));
        assert_eq!(
            words("a|b||c&d&&e\nf"),
            some(&[&["a"], &["b"], &["c"], &["d"], &["e"], &["f"]])
        );
        assert_eq!(words("  ls \t -la  "), some(&[&["ls", "-la"]]));
        assert_eq!(words("ls;"), some(&[&["ls"]]));
        assert_eq!(words("ls &"), some(&[&["ls"]]));
        assert_eq!(words("ls\n"), some(&[&["ls"]]));
        assert_eq!(words("a'b c'\"d\""), some(&[&["ab cd"]]));
        assert_eq!(words("echo ''"), some(&[&["echo", ""]]));
        assert_eq!(
            words(r#"echo "a\"b\\c\$d\`e\xf""#),
            some(&[&["echo", "a\"b\\c$d`e\\xf"]])
        );
        assert_eq!(words(r"echo a\ b\;c"), some(&[&["echo", "a b;c"]]));
        assert_eq!(
            words("echo '$HOME' \"*\""),
            some(&[&["echo", "$HOME", "*"]])
        );
        assert_eq!(
            words("git log --format=%H"),
            some(&[&["git", "log", "--format=%H"]])
        );
        assert_eq!(words("'a=b' c"), some(&[&["a=b", "c"]]));
        assert_eq!(words(r"a\=b"), some(&[&["a=b"]]));
        for unknown in [
            "",
            "   ",
            "\t",
            ";",
            "; ls",
            "ls;;",
            "a;;b",
            "ls |",
            "ls &&",
            "ls ||",
            "a | | b",
            "a |& b",
            "git log $(rm -rf /)",
            "echo $HOME",
            "echo `id`",
            "cat < f",
            "echo > f",
            "2>&1",
            "(ls)",
            "{ ls; }",
            "ls *",
            "ls ?",
            "ls [a]",
            "cd ~",
            "ls # c",
            "! ls",
            "a=b ls",
            "x=1",
            "'unterminated",
            "\"unterminated",
            "ends with \\",
            "line \\\ncontinued",
            "\"a\\\nb\"",
            "\"$x\"",
            "\"`x`\"",
            "if true",
            "for x",
            "time ls",
            "'if' x",
            "ls; while",
        ] {
            assert_eq!(words(unknown), None, "{unknown:?}");
        }
    }

    #[test]
    fn command_patterns() {
        let p = |globs: &[&str]| {
            CommandPattern::new(&globs.iter().map(|g| g.to_string()).collect::<Vec<_>>())
        };
        let check = |p: &CommandPattern, words: &[&str]| {
            let buf = words.concat();
            let mut spans = Vec::new();
            let mut at = 0;
            for w in words {
                spans.push((at, at + w.len()));
                at += w.len();
            }
            p.matches(&Words {
                buf: &buf,
                spans: &spans,
            })
        };
        let w = |text: &'static str| text.split(' ').collect::<Vec<_>>();
        assert!(check(&p(&["git", "status"]), &w("git status")));
        assert!(!check(&p(&["git", "status"]), &w("git status -s")));
        assert!(check(&p(&["git", "diff", "*"]), &w("git diff")));
        assert!(check(&p(&["git", "diff", "*"]), &w("git diff HEAD a b")));
        assert!(!check(&p(&["git", "diff", "*"]), &w("git")));
        assert!(check(&p(&["ls", "-*"]), &w("ls -la")));
        assert!(!check(&p(&["ls", "-*"]), &w("ls")));
        assert!(check(&p(&["*", "x"]), &w("anything x")));
        assert!(!check(&p(&["*", "x"]), &w("x")));
        assert!(check(
            &p(&["git", "commit", "-m", "*"]),
            &["git", "commit", "-m", "a message"]
        ));
    }
}
