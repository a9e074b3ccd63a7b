//! The one HTTPS client of every AWS client imgdeploy makes, in the Lambda and in the CLI: hyper 1 and
//! rustls with `ring`, verifying servers against the system's roots, and honouring `HTTPS_PROXY`,
//! `HTTP_PROXY` and `NO_PROXY` as the SDK's default client does. It replaces that default, which
//! would compile aws-lc-sys (C) into both builds; `Cargo.toml` turns the SDK's default features off
//! for that (docs/architecture.md, "Build time").
use aws_config::{BehaviorVersion, ConfigLoader};
use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider, TlsContext};
use aws_smithy_http_client::{proxy::ProxyConfig, Builder, ConnectorBuilder};
use aws_smithy_runtime_api::client::http::SharedHttpClient;

/// The HTTPS client: one connection pool per set of connector settings (timeouts), as the SDK's own.
pub fn client() -> SharedHttpClient {
    client_with(TlsContext::default())
}

/// `aws_config::defaults` with this client: the start of every SDK configuration imgdeploy loads.
pub fn sdk_defaults() -> ConfigLoader {
    aws_config::defaults(BehaviorVersion::latest()).http_client(client())
}

/// The client with a given trust store (the tests trust only their own certificate).
///
/// `build_with_connector_fn` is the path the SDK's default client takes (`aws-smithy-runtime`'s
/// `default_https_client`); it is hidden from the crate's docs, so a release that drops it is a
/// compile error here, never a change of behaviour.
fn client_with(tls: TlsContext) -> SharedHttpClient {
    Builder::new().build_with_connector_fn(move |settings, components| {
        let mut connector = ConnectorBuilder::default()
            .tls_provider(Provider::Rustls(CryptoMode::Ring))
            .tls_context(tls.clone());
        connector.set_connector_settings(settings.cloned());
        if let Some(components) = components {
            connector.set_sleep_impl(components.sleep_impl());
        }
        connector.set_proxy_config(Some(ProxyConfig::from_env()));
        connector.build()
    })
}

#[cfg(test)]
mod tests {
    //! Real TLS on loopback: a rustls server with a self-signed certificate for `localhost`
    //! (`tests/fixtures/tls/`, valid until 2126), and an S3 client of this module on the other end.
    use super::*;
    use aws_sdk_s3::config::{Credentials, Region};
    use aws_smithy_http_client::tls::TrustStore;
    use std::sync::Arc;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio_rustls::rustls::pki_types::{pem::PemObject, CertificateDer, PrivateKeyDer};
    use tokio_rustls::rustls::{self, ProtocolVersion, ServerConfig};

    const CERT: &[u8] = include_bytes!("../tests/fixtures/tls/localhost.pem");
    const KEY: &[u8] = include_bytes!("../tests/fixtures/tls/localhost.key");
    const BUCKETS: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
        <ListAllMyBucketsResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\
        <Owner><ID>owner</ID></Owner><Buckets><Bucket><Name>over-tls</Name>\
        <CreationDate>2026-01-01T00:00:00.000Z</CreationDate></Bucket></Buckets>\
        </ListAllMyBucketsResult>";

    /// What the server saw of one connection: the TLS version and the request's first line, or why
    /// the handshake failed.
    type Seen = Result<(Option<ProtocolVersion>, String), String>;

    /// Serves one connection over TLS (ring) with the fixture's certificate and answers
    /// `ListBuckets`; returns its port and what it saw.
    async fn one_connection_server() -> (u16, tokio::task::JoinHandle<Seen>) {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![CertificateDer::from_pem_slice(CERT).unwrap()],
                PrivateKeyDer::from_pem_slice(KEY).unwrap(),
            )
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.map_err(|e| e.to_string())?;
            let mut tls = acceptor.accept(tcp).await.map_err(|e| e.to_string())?;
            let mut head = Vec::new();
            let mut buf = [0u8; 4096];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = tls.read(&mut buf).await.map_err(|e| e.to_string())?;
                if n == 0 {
                    break;
                }
                head.extend_from_slice(&buf[..n]);
            }
            let version = tls.get_ref().1.protocol_version();
            let response = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/xml\r\ncontent-length: {}\r\n\
                 connection: close\r\n\r\n{BUCKETS}",
                BUCKETS.len()
            );
            tls.write_all(response.as_bytes())
                .await
                .map_err(|e| e.to_string())?;
            tls.shutdown().await.ok();
            let first_line = String::from_utf8_lossy(&head)
                .lines()
                .next()
                .unwrap_or("")
                .to_string();
            Ok((version, first_line))
        });
        (port, server)
    }

    /// An S3 client of `localhost:port` that tries once (the server takes one connection).
    fn s3(http: SharedHttpClient, port: u16) -> aws_sdk_s3::Client {
        let config = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .retry_config(aws_sdk_s3::config::retry::RetryConfig::disabled())
            .http_client(http)
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("k", "s", None, None, "test"))
            .endpoint_url(format!("https://localhost:{port}"))
            .force_path_style(true)
            .build();
        aws_sdk_s3::Client::from_conf(config)
    }

    #[tokio::test]
    async fn a_call_crosses_tls_1_3_with_a_trusted_certificate() {
        let (port, server) = one_connection_server().await;
        let trust = TrustStore::empty().with_pem_certificate(CERT.to_vec());
        let tls = TlsContext::builder()
            .with_trust_store(trust)
            .build()
            .unwrap();
        let listed = s3(client_with(tls), port)
            .list_buckets()
            .send()
            .await
            .unwrap();
        let names: Vec<_> = listed.buckets().iter().filter_map(|b| b.name()).collect();
        assert_eq!(names, ["over-tls"]);
        let (version, first_line) = server.await.unwrap().unwrap();
        assert_eq!(version, Some(ProtocolVersion::TLSv1_3));
        assert!(
            first_line.starts_with("GET /?x-id=ListBuckets HTTP/1.1"),
            "{first_line}"
        );
    }

    #[tokio::test]
    async fn a_certificate_the_system_does_not_trust_is_refused() {
        let (port, server) = one_connection_server().await;
        let err = s3(client(), port).list_buckets().send().await.unwrap_err();
        let text = format!("{err:?}");
        assert!(text.contains("InvalidCertificate"), "{text}");
        let seen = server.await.unwrap();
        assert!(seen.is_err(), "the server saw a request: {seen:?}");
    }
}
