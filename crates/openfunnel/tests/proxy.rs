//! `HTTP_PROXY` is ignored for a loopback base URL: a local simulator is
//! reached directly, and the key never travels (in clear text, for plain
//! http) to a proxy.
//!
//! Its own test binary, with one test: it sets process-wide environment
//! variables, which would leak into tests running beside it.

mod common;

use common::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

#[tokio::test]
async fn http_proxy_is_bypassed_for_a_loopback_simulator() {
    // A "proxy" that counts connections and answers nothing.
    let proxy = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy_url = format!("http://{}", proxy.local_addr().unwrap());
    let connections = Arc::new(AtomicUsize::new(0));
    let seen = connections.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = proxy.accept().await {
            seen.fetch_add(1, Ordering::SeqCst);
            drop(socket);
        }
    });
    // SAFETY: this binary runs this one test, and no other thread reads the
    // environment while it is changed.
    unsafe {
        for name in [
            "HTTP_PROXY",
            "http_proxy",
            "HTTPS_PROXY",
            "https_proxy",
            "ALL_PROXY",
            "all_proxy",
        ] {
            std::env::set_var(name, &proxy_url);
        }
        std::env::remove_var("NO_PROXY");
        std::env::remove_var("no_proxy");
    }

    let server = httpmock::MockServer::start_async().await;
    serve(
        &server,
        None,
        terminal("completed", Some("page_0000"), None, rows(0..1), 1),
        None,
    )
    .await;
    let timer = VirtualTimer::new();
    let page = lookalike_job(&client(&server, &timer))
        .poll()
        .await
        .expect("the loopback server is reached directly");
    assert_eq!(page.rows.len(), 1);
    assert_eq!(
        connections.load(Ordering::SeqCst),
        0,
        "the proxy saw a connection"
    );
}
