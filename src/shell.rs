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

struct Parser {
    commands: Vec<Vec<String>>,
    words: Vec<String>,
    word: String,
    /// The word has begun (quotes make an empty word: `''` is a word).
    started: bool,
    last_sep: Option<Sep>,
}

impl Parser {
    fn end_word(&mut self) {
        if self.started {
            self.words.push(std::mem::take(&mut self.word));
            self.started = false;
        }
    }

    /// Ends the current simple command at a separator; `None` when it is
    /// empty (a leading separator, or two in a row).
    fn end_command(&mut self, sep: Sep) -> Option<()> {
        self.end_word();
        if self.words.is_empty() {
            return None;
        }
        self.commands.push(std::mem::take(&mut self.words));
        self.last_sep = Some(sep);
        Some(())
    }
}

/// Splits `text` into simple commands of words, or `None` when it is
/// outside the subset (unknown).
pub(crate) fn parse(text: &str) -> Option<Vec<Vec<String>>> {
    let chars: Vec<char> = text.chars().collect();
    let mut p = Parser {
        commands: Vec::new(),
        words: Vec::new(),
        word: String::new(),
        started: false,
        last_sep: None,
    };
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        match c {
            ' ' | '\t' => p.end_word(),
            '\n' | ';' => p.end_command(Sep::Terminator)?,
            '&' if chars.get(i) == Some(&'&') => {
                i += 1;
                p.end_command(Sep::Joiner)?;
            }
            '&' => p.end_command(Sep::Terminator)?,
            '|' => {
                if chars.get(i) == Some(&'|') {
                    i += 1;
                }
                p.end_command(Sep::Joiner)?;
            }
            '\'' => {
                let close = chars[i..].iter().position(|&q| q == '\'')?;
                p.word.extend(&chars[i..i + close]);
                p.started = true;
                i += close + 1;
            }
            '"' => {
                p.started = true;
                loop {
                    let q = *chars.get(i)?;
                    i += 1;
                    match q {
                        '"' => break,
                        '\\' => match chars.get(i) {
                            Some(&e @ ('"' | '\\' | '`' | '$')) => {
                                p.word.push(e);
                                i += 1;
                            }
                            Some('\n') | None => return None,
                            // Any other character: the backslash is itself,
                            // and the next character is read as usual.
                            Some(_) => p.word.push('\\'),
                        },
                        '$' | '`' => return None,
                        other => p.word.push(other),
                    }
                }
            }
            '\\' => match chars.get(i) {
                None | Some('\n') => return None,
                Some(&e) => {
                    p.word.push(e);
                    p.started = true;
                    i += 1;
                }
            },
            '=' if p.words.is_empty() => return None,
            c if is_unknown_char(c) => return None,
            c => {
                p.word.push(c);
                p.started = true;
            }
        }
    }
    p.end_word();
    if p.words.is_empty() {
        // Nothing after the last separator: fine after `;`, `&` or a
        // newline, unknown after `|`, `&&`, `||` or with no command at all.
        if p.last_sep != Some(Sep::Terminator) {
            return None;
        }
    } else {
        p.commands.push(p.words);
    }
    if p.commands
        .iter()
        .any(|words| RESERVED.contains(&words[0].as_str()))
    {
        return None;
    }
    Some(p.commands)
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
    pub(crate) fn matches(&self, words: &[String]) -> bool {
        let n = self.words.len();
        let count_ok = if self.rest {
            words.len() >= n
        } else {
            words.len() == n
        };
        count_ok && self.words.iter().zip(words).all(|(m, w)| m.is_match(w))
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
        let w = |text: &str| text.split(' ').map(str::to_string).collect::<Vec<_>>();
        assert!(p(&["git", "status"]).matches(&w("git status")));
        assert!(!p(&["git", "status"]).matches(&w("git status -s")));
        assert!(p(&["git", "diff", "*"]).matches(&w("git diff")));
        assert!(p(&["git", "diff", "*"]).matches(&w("git diff HEAD a b")));
        assert!(!p(&["git", "diff", "*"]).matches(&w("git")));
        assert!(p(&["ls", "-*"]).matches(&w("ls -la")));
        assert!(!p(&["ls", "-*"]).matches(&w("ls")));
        assert!(p(&["*", "x"]).matches(&w("anything x")));
        assert!(!p(&["*", "x"]).matches(&w("x")));
        assert!(p(&["git", "commit", "-m", "*"])
            .matches(&["git", "commit", "-m", "a message"].map(String::from)));
    }
}
