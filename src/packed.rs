//! Strings joined by U+001F, so a group of them crosses into JS in one call (the
//! response's headers in [`crate::respond`], the click in [`crate::clicks`]), where
//! a small JS function splits them. A group holding U+001F is not joined: its caller
//! takes the slower, exact way, so no string is ever split wrongly.

pub const SEP: char = '\u{1f}';

/// `fields` joined by [`SEP`], or `None` when one of them contains it.
pub fn join<'a>(fields: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let mut out = String::with_capacity(256);
    for (i, field) in fields.into_iter().enumerate() {
        if field.contains(SEP) {
            return None;
        }
        if i > 0 {
            out.push(SEP);
        }
        out.push_str(field);
    }
    Some(out)
}
