//! The generated client speaks https for real: a loopback TLS server (rustls,
//! with a throwaway self-signed certificate from `fixtures/tls/`) answers a
//! poll, and the client verifies the certificate before sending the key.

use openfunnel_api::Client;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::{self, pki_types};

const FIXTURE_KEY: &str = "of_fixture_5eb63bbbe01eeed093cb22bb8f5acdc3";
const CERT_PEM: &[u8] = include_bytes!("fixtures/tls/server.cert.pem");
const KEY_PEM: &[u8] = include_bytes!("fixtures/tls/server.key.pem");

/// Serves every TLS connection with one JSON page; sends each request head
/// it saw on the returned channel.
async fn start_tls_server() -> (String, tokio::sync::mpsc::UnboundedReceiver<String>) {
    use pki_types::pem::PemObject;
    let certs = pki_types::CertificateDer::pem_slice_iter(CERT_PEM)
        .collect::<Result<Vec<_>, _>>()
        .expect("fixture certificate parses");
    let key = pki_types::PrivateKeyDer::from_pem_slice(KEY_PEM).expect("fixture key parses");
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("default protocol versions")
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .expect("fixture certificate and key match");
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let base_url = format!(
        "https://127.0.0.1:{}",
        listener.local_addr().unwrap().port()
    );
    let (heads, received) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            let heads = heads.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return; // a client that refused our certificate
                };
                let mut head = Vec::new();
                let mut buffer = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buffer[..n]),
                    }
                }
                let _ = heads.send(String::from_utf8_lossy(&head).into_owned());
                let body = r#"{"job_id":"j1","status":"completed","rows":[],"count":0}"#;
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = tls.write_all(response.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    (base_url, received)
}

#[tokio::test]
async fn polls_over_https_with_a_trusted_certificate() {
    let (base_url, mut heads) = start_tls_server().await;
    let root = reqwest::Certificate::from_pem(CERT_PEM).expect("fixture certificate");
    let http = openfunnel_api::http_client_builder(FIXTURE_KEY)
        .expect("fixture key is valid")
        .tls_certs_only([root])
        .build()
        .expect("TLS client builds");
    let client = Client::new_with_client(&base_url, http, Default::default());

    let page = client
        .tech_intent_search_status("j1", None)
        .await
        .expect("the https poll succeeds");
    assert_eq!(page.status, "completed");

    let head = heads.recv().await.expect("the server saw the request");
    assert!(
        head.starts_with("GET /api/v2/tech/companies/intent-search/j1 HTTP/1.1"),
        "{head}"
    );
    assert!(
        head.to_lowercase()
            .contains(&format!("x-api-key: {FIXTURE_KEY}")),
        "{head}"
    );
}

#[tokio::test]
async fn an_untrusted_certificate_is_refused_before_the_key_is_sent() {
    let (base_url, mut heads) = start_tls_server().await;
    let client = Client::with_api_key(&base_url, FIXTURE_KEY).expect("fixture key is valid");
    let error = client
        .tech_intent_search_status("j1", None)
        .await
        .expect_err("a self-signed certificate is not trusted by default");
    assert!(
        error.status().is_none(),
        "no HTTP exchange happened: {error}"
    );
    assert!(heads.try_recv().is_err(), "the server received a request");
}
