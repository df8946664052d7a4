//! `Client::from_env` reads `OPENFUNNEL_API_KEY` and `OPENFUNNEL_BASE_URL`.
//! One test in its own binary: it changes the process environment, which no
//! other thread of this binary reads.

use openfunnel::{Client, ClientBuilder, Error};

#[test]
fn the_key_and_base_url_come_from_the_environment() {
    let set = |name: &str, value: Option<&str>| {
        // SAFETY: this binary runs this one test, on one thread; nothing else
        // reads or writes the environment meanwhile.
        unsafe {
            match value {
                Some(value) => std::env::set_var(name, value),
                None => std::env::remove_var(name),
            }
        }
    };

    set("OPENFUNNEL_API_KEY", Some("of_env_fixture_0123"));
    set("OPENFUNNEL_BASE_URL", Some("http://127.0.0.1:8787"));
    let client = Client::from_env().expect("a key and a base URL from the environment");
    assert_eq!(client.base_url(), "http://127.0.0.1:8787");

    // A blank base URL means the default one.
    set("OPENFUNNEL_BASE_URL", Some("  "));
    let client = ClientBuilder::from_env().build().unwrap();
    assert_eq!(client.base_url(), "https://api.openfunnel.dev");

    // No key: the error names the variable.
    set("OPENFUNNEL_API_KEY", None);
    let error = Client::from_env().unwrap_err();
    assert!(matches!(error, Error::Configuration { .. }), "{error:?}");
    assert!(error.to_string().contains("OPENFUNNEL_API_KEY"), "{error}");
}
