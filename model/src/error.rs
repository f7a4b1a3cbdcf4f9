//! Errors of the model: a matcher that does not compile, and [`StoreError`],
//! how a store behind a [`crate::Querier`] or [`crate::Appender`] reports a
//! failure without the consumer depending on the store's crate.

use std::error::Error as StdError;

/// Errors building model values from untrusted text.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A regex matcher whose pattern does not compile; names the matcher.
    #[error("invalid matcher {0}")]
    InvalidMatcher(String),

    /// A selection would hold more samples than [`crate::SelectHints::max_samples`].
    #[error("the selection would load more than {limit} samples")]
    TooManySamples { limit: usize },

    /// A selection ran past [`crate::SelectHints::deadline`].
    #[error("the selection ran past its deadline")]
    DeadlineExceeded,
}

/// A failure of the store behind a [`crate::Querier`] or [`crate::Appender`],
/// carrying the store's own typed error. Its text is the store error's text;
/// a caller that knows the store gets the typed error back with
/// [`StoreError::downcast_ref`] (the server does, to pick a status code).
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct StoreError(Box<dyn StdError + Send + Sync + 'static>);

impl StoreError {
    pub fn new(error: impl StdError + Send + Sync + 'static) -> Self {
        Self(Box::new(error))
    }

    /// The store's error, if it is a `T`.
    pub fn downcast_ref<T: StdError + 'static>(&self) -> Option<&T> {
        self.0.downcast_ref::<T>()
    }

    /// The store's error as a `T`, or itself when it is not one.
    pub fn downcast<T: StdError + 'static>(self) -> Result<T, Self> {
        self.0.downcast::<T>().map(|t| *t).map_err(Self)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn store_errors_keep_their_text_and_type() {
        let inner = std::io::Error::other("disk on fire");
        let e = StoreError::new(inner);
        assert_eq!(e.to_string(), "disk on fire");
        assert_eq!(e.downcast_ref::<std::io::Error>().unwrap().kind(), std::io::ErrorKind::Other);
        assert!(e.downcast_ref::<Error>().is_none());
    }
}
