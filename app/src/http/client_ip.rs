//! The client address that rate limits count by: the TCP peer, or, behind a proxy that
//! sets it (Fly.io's `Fly-Client-IP`), the header named by `CLIENT_IP_HEADER`. Headers
//! are never trusted unless configured, so a client cannot pick its own key.

use std::net::{IpAddr, SocketAddr};

use axum::{
    extract::ConnectInfo,
    http::{HeaderMap, Request},
};
use tower_governor::{GovernorError, key_extractor::KeyExtractor};

#[derive(Debug, Clone)]
pub struct ClientIp {
    pub trusted_header: Option<String>,
}

impl ClientIp {
    pub fn of<T>(&self, request: &Request<T>) -> Option<IpAddr> {
        self.from_parts(
            request.headers(),
            request
                .extensions()
                .get::<ConnectInfo<SocketAddr>>()
                .map(|info| info.0),
        )
    }

    pub fn from_parts(&self, headers: &HeaderMap, peer: Option<SocketAddr>) -> Option<IpAddr> {
        if let Some(header) = &self.trusted_header {
            let from_header = headers
                .get(header.as_str())
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<IpAddr>().ok());
            if from_header.is_some() {
                return from_header;
            }
        }
        peer.map(|addr| addr.ip())
    }
}

impl KeyExtractor for ClientIp {
    type Key = IpAddr;

    fn extract<T>(&self, request: &Request<T>) -> Result<Self::Key, GovernorError> {
        self.of(request).ok_or(GovernorError::UnableToExtractKey)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(header: Option<&str>) -> Request<()> {
        let mut builder = Request::builder().uri("/");
        if let Some(value) = header {
            builder = builder.header("fly-client-ip", value);
        }
        let mut request = builder.body(()).expect("request");
        request
            .extensions_mut()
            .insert(ConnectInfo(SocketAddr::from(([10, 0, 0, 1], 4000))));
        request
    }

    #[test]
    fn headers_count_only_when_trusted() {
        let untrusted = ClientIp {
            trusted_header: None,
        };
        assert_eq!(
            untrusted.of(&request(Some("203.0.113.9"))),
            Some(IpAddr::from([10, 0, 0, 1]))
        );
        let trusted = ClientIp {
            trusted_header: Some("Fly-Client-IP".into()),
        };
        assert_eq!(
            trusted.of(&request(Some("203.0.113.9"))),
            Some(IpAddr::from([203, 0, 113, 9]))
        );
        assert_eq!(
            trusted.of(&request(Some("garbage"))),
            Some(IpAddr::from([10, 0, 0, 1]))
        );
        assert_eq!(
            trusted.of(&request(None)),
            Some(IpAddr::from([10, 0, 0, 1]))
        );
    }
}
