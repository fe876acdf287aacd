//! Lexical POSIX path normalisation for `path_under` and `path_glob`
//! (CONDITIONS.md, "Path normalisation"): no file system access, so a
//! decision never depends on what exists on the machine that decides.

/// Normalises an absolute path: split on `/`, drop empty segments and `.`,
/// let `..` remove the previous segment (at the root it is dropped), join
/// after a leading `/`. `None` for a path that does not start with `/` or
/// contains NUL: such a value is *unknown* to the path operators.
pub(crate) fn normalize(path: &str) -> Option<std::borrow::Cow<'_, str>> {
    if !path.starts_with('/') || path.contains('\0') {
        return None;
    }
    // Most paths are already normal: no empty, `.` or `..` segment, no
    // trailing `/` (but the root).
    let normal = path == "/"
        || (!path.ends_with('/')
            && path[1..]
                .split('/')
                .all(|seg| !matches!(seg, "" | "." | "..")));
    if normal {
        return Some(std::borrow::Cow::Borrowed(path));
    }
    let mut kept: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                kept.pop();
            }
            s => kept.push(s),
        }
    }
    let mut out = String::with_capacity(path.len());
    for s in &kept {
        out.push('/');
        out.push_str(s);
    }
    if out.is_empty() {
        out.push('/');
    }
    Some(std::borrow::Cow::Owned(out))
}

/// Whether the normalised `path` equals the normalised directory `dir` or
/// lies below it. `/` is under `/`; `/workspace2` is not under `/workspace`.
pub(crate) fn is_under(path: &str, dir: &str) -> bool {
    if dir == "/" {
        return true;
    }
    path == dir || (path.starts_with(dir) && path.as_bytes().get(dir.len()) == Some(&b'/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalisation_table() {
        for (input, want) in [
            ("/", Some("/")),
            ("//", Some("/")),
            ("/workspace/../etc/passwd", Some("/etc/passwd")),
            ("/a/./b//c/", Some("/a/b/c")),
            ("/..", Some("/")),
            ("/../../a", Some("/a")),
            ("/a/b/../../..", Some("/")),
            ("/a/..b/c", Some("/a/..b/c")),
            ("/a/.../c", Some("/a/.../c")),
            ("/é/😀", Some("/é/😀")),
            ("relative/a", None),
            ("", None),
            ("./a", None),
            ("~/a", None),
            ("/a\0b", None),
        ] {
            assert_eq!(normalize(input).as_deref(), want, "{input:?}");
        }
    }

    #[test]
    fn under_table() {
        for (path, dir, want) in [
            ("/workspace", "/workspace", true),
            ("/workspace/a", "/workspace", true),
            ("/workspace2", "/workspace", false),
            ("/workspac", "/workspace", false),
            ("/", "/", true),
            ("/etc", "/", true),
            ("/work", "/workspace", false),
        ] {
            assert_eq!(is_under(path, dir), want, "{path:?} under {dir:?}");
        }
    }
}
