//! A job's summary (its `manifest`): each kind's own type, what every kind
//! shares ([`JobManifest`]), and [`Manifest`], the one value an error carries
//! whatever the job's kind.

use openfunnel_api::types::{BulkLookalikeManifest, TechIntentManifest};

/// What every kind's manifest says: what a progress bar, a bill or a retry
/// decision needs. Implemented by [`crate::LookalikeManifest`] and
/// [`crate::TechIntentManifest`] (and offered by [`Manifest`] directly).
///
/// ```
/// use openfunnel::{JobManifest, LookalikeManifest};
/// let manifest: LookalikeManifest =
///     serde_json::from_str(r#"{"pages": 3, "count": 250, "credits_consumed": 250, "partial": true}"#).unwrap();
/// assert_eq!((manifest.pages(), manifest.count(), manifest.credits_consumed()), (Some(3), Some(250), Some(250)));
/// assert!(manifest.is_partial());
/// ```
pub trait JobManifest {
    /// Pages written and readable.
    fn pages(&self) -> Option<i64>;
    /// Whether the job stopped before finishing (failed or cancelled).
    fn is_partial(&self) -> bool;
    /// Credits billed for the job.
    fn credits_consumed(&self) -> Option<i64>;
    /// Rows delivered.
    fn count(&self) -> Option<i64>;
}

/// The manifest of a job of either kind, as a failed or cancelled job's
/// error carries it ([`crate::Error::JobFailed`]): the shared fields through
/// its methods, the kind's own ones by matching.
///
/// ```
/// use openfunnel::Manifest;
/// let manifest = Manifest::Lookalike(serde_json::from_str(r#"{"pages": 2, "partial": true}"#).unwrap());
/// assert_eq!(manifest.pages(), Some(2));
/// if let Manifest::Lookalike(lookalike) = &manifest {
///     assert_eq!(lookalike.derived_query, None); // the kind's own fields, typed
/// }
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Manifest {
    /// A lookalike job's manifest.
    Lookalike(BulkLookalikeManifest),
    /// A tech-intent job's manifest.
    TechIntent(TechIntentManifest),
}

macro_rules! shared_fields {
    ($($manifest:ty => $variant:ident),*) => {$(
        impl JobManifest for $manifest {
            fn pages(&self) -> Option<i64> {
                self.pages
            }
            fn is_partial(&self) -> bool {
                self.partial
            }
            fn credits_consumed(&self) -> Option<i64> {
                self.credits_consumed
            }
            fn count(&self) -> Option<i64> {
                self.count
            }
        }

        impl From<$manifest> for Manifest {
            fn from(manifest: $manifest) -> Manifest {
                Manifest::$variant(manifest)
            }
        }
    )*};
}

shared_fields!(BulkLookalikeManifest => Lookalike, TechIntentManifest => TechIntent);

impl Manifest {
    fn shared(&self) -> &dyn JobManifest {
        match self {
            Manifest::Lookalike(manifest) => manifest,
            Manifest::TechIntent(manifest) => manifest,
        }
    }

    /// Pages written and readable.
    ///
    /// ```
    /// let manifest = openfunnel::Manifest::TechIntent(serde_json::from_str(r#"{"pages": 4}"#).unwrap());
    /// assert_eq!(manifest.pages(), Some(4));
    /// ```
    pub fn pages(&self) -> Option<i64> {
        self.shared().pages()
    }

    /// Whether the job stopped before finishing (failed or cancelled).
    ///
    /// ```
    /// let manifest = openfunnel::Manifest::TechIntent(serde_json::from_str(r#"{"partial": true}"#).unwrap());
    /// assert!(manifest.is_partial());
    /// ```
    pub fn is_partial(&self) -> bool {
        self.shared().is_partial()
    }

    /// Credits billed for the job.
    ///
    /// ```
    /// let manifest = openfunnel::Manifest::TechIntent(serde_json::from_str(r#"{"credits_consumed": 40}"#).unwrap());
    /// assert_eq!(manifest.credits_consumed(), Some(40));
    /// ```
    pub fn credits_consumed(&self) -> Option<i64> {
        self.shared().credits_consumed()
    }

    /// Rows delivered.
    ///
    /// ```
    /// let manifest = openfunnel::Manifest::Lookalike(serde_json::from_str(r#"{"count": 7}"#).unwrap());
    /// assert_eq!(manifest.count(), Some(7));
    /// ```
    pub fn count(&self) -> Option<i64> {
        self.shared().count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn either_kind_s_manifest_says_what_every_kind_shares() {
        let fields = serde_json::json!({"pages": 3, "count": 250, "credits_consumed": 5000, "partial": true});
        let lookalike = Manifest::Lookalike(serde_json::from_value(fields.clone()).unwrap());
        let intent = Manifest::from(serde_json::from_value::<TechIntentManifest>(fields).unwrap());
        for manifest in [lookalike, intent] {
            assert_eq!(manifest.pages(), Some(3));
            assert_eq!(manifest.count(), Some(250));
            assert_eq!(manifest.credits_consumed(), Some(5000));
            assert!(manifest.is_partial());
        }
        let empty = Manifest::from(
            serde_json::from_value::<BulkLookalikeManifest>(serde_json::json!({"partial": false}))
                .unwrap(),
        );
        assert_eq!(
            (empty.pages(), empty.count(), empty.credits_consumed()),
            (None, None, None)
        );
        assert!(!empty.is_partial());
    }
}
