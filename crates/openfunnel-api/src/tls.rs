//! Which TLS library speaks https, chosen by cargo features.
//!
//! | feature | library | build |
//! |---|---|---|
//! | `rustls` (default) | rustls with aws-lc-rs | a C build (`aws-lc-sys`, cmake) |
//! | `rustls-ring` | rustls with *ring* | smaller, cross-compiles more easily |
//! | `native-tls` | the platform's (OpenSSL on Linux, needs its headers) | links the system library |
//!
//! When more than one is enabled, the most specific choice wins, always in
//! this order: `native-tls`, then `rustls-ring`, then `rustls` (so adding a
//! feature to the default one selects it). With none, only plain `http`
//! works (a local simulator), and an `https` request fails.

/// The TLS library this build of the crate uses for `https`.
///
/// ```
/// let backend = openfunnel_api::TLS_BACKEND;
/// println!("https via {backend:?}");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TlsBackend {
    /// rustls with the aws-lc-rs crypto provider (the `rustls` feature).
    RustlsAwsLc,
    /// rustls with the *ring* crypto provider (the `rustls-ring` feature).
    RustlsRing,
    /// The platform's TLS library (the `native-tls` feature).
    NativeTls,
}

/// The backend the enabled features select, or `None` when no TLS feature is
/// enabled (plain `http` only). See [`TlsBackend`] for the order.
///
/// ```
/// # #[cfg(all(feature = "rustls", not(feature = "rustls-ring"), not(feature = "native-tls")))]
/// assert_eq!(openfunnel_api::TLS_BACKEND, Some(openfunnel_api::TlsBackend::RustlsAwsLc));
/// ```
pub const TLS_BACKEND: Option<TlsBackend> = if cfg!(feature = "native-tls") {
    Some(TlsBackend::NativeTls)
} else if cfg!(feature = "rustls-ring") {
    Some(TlsBackend::RustlsRing)
} else if cfg!(feature = "rustls") {
    Some(TlsBackend::RustlsAwsLc)
} else {
    None
};

/// A new `reqwest::ClientBuilder` set to [`TLS_BACKEND`].
///
/// A builder of your own keeps the backend you chose on it; with
/// `rustls-ring`, [`crate::authenticate_with`] still installs *ring* as the
/// process's rustls provider when none is installed, because reqwest built
/// without aws-lc-rs needs one.
///
/// ```
/// let http = openfunnel_api::tls_client_builder().build().unwrap();
/// # let _ = http;
/// ```
pub fn tls_client_builder() -> reqwest::ClientBuilder {
    select(reqwest::Client::builder())
}

#[cfg(feature = "native-tls")]
fn select(builder: reqwest::ClientBuilder) -> reqwest::ClientBuilder {
    builder.tls_backend_native()
}

#[cfg(all(
    not(feature = "native-tls"),
    any(feature = "rustls", feature = "rustls-ring")
))]
fn select(builder: reqwest::ClientBuilder) -> reqwest::ClientBuilder {
    builder.tls_backend_rustls()
}

#[cfg(not(any(feature = "native-tls", feature = "rustls", feature = "rustls-ring")))]
fn select(builder: reqwest::ClientBuilder) -> reqwest::ClientBuilder {
    builder
}

/// With `rustls-ring` selected, installs *ring* as the process's rustls
/// provider unless the application installed one (which is then used: it
/// chose). reqwest reads the process default first, and panics when it is
/// built without aws-lc-rs and finds none.
#[cfg(all(feature = "rustls-ring", not(feature = "native-tls")))]
pub(crate) fn install_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Another thread may install one between the check and here: either
        // way a provider is installed, which is all reqwest needs.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

#[cfg(not(all(feature = "rustls-ring", not(feature = "native-tls"))))]
pub(crate) fn install_provider() {}

#[cfg(test)]
mod tests {
    use super::*;

    // One case per feature set CI tests with (`cargo test -p openfunnel-api
    // --features …`): the order the module documents, case by case.
    #[cfg(all(
        feature = "rustls",
        not(feature = "rustls-ring"),
        not(feature = "native-tls")
    ))]
    #[test]
    fn the_default_feature_selects_rustls_on_aws_lc() {
        assert_eq!(TLS_BACKEND, Some(TlsBackend::RustlsAwsLc));
    }

    #[cfg(all(feature = "rustls-ring", not(feature = "native-tls")))]
    #[test]
    fn rustls_ring_wins_over_the_default_rustls() {
        assert_eq!(TLS_BACKEND, Some(TlsBackend::RustlsRing));
    }

    #[cfg(feature = "native-tls")]
    #[test]
    fn native_tls_wins_over_both_rustls_features() {
        assert_eq!(TLS_BACKEND, Some(TlsBackend::NativeTls));
    }

    #[test]
    fn a_client_builds_with_the_selected_backend() {
        install_provider();
        assert!(tls_client_builder().build().is_ok());
    }

    #[cfg(all(feature = "rustls-ring", not(feature = "native-tls")))]
    #[test]
    fn ring_becomes_the_process_provider_when_none_is_installed() {
        install_provider();
        let provider = rustls::crypto::CryptoProvider::get_default().expect("a provider");
        let ring = rustls::crypto::ring::default_provider();
        assert_eq!(
            format!("{:?}", provider.cipher_suites),
            format!("{:?}", ring.cipher_suites)
        );
    }
}
