//! Values from a closed set, written as a fixed text (`"open"`, `"major"`):
//! what a status-like column stores. Reading an unknown text is an error to
//! the reader, never a default.

/// A value of a closed set with a text form.
pub trait Closed: Copy + Eq + std::fmt::Debug + Send + Sync + 'static {
    /// What the set is called, for messages (`HazardStatus`).
    const NAME: &'static str;
    /// The text form.
    fn as_str(self) -> &'static str;
    /// The value a text names; `None` for any other text.
    fn parse(s: &str) -> Option<Self>;
}
