//! SMTP connections opened by us with `TCP_NODELAY`. lettre leaves Nagle's algorithm on
//! and writes a message and its closing `.` separately, so every message waits for the
//! server's delayed ACK (~23 messages/s per connection, STACK.md); its own pool cannot
//! be told otherwise. The newsletter sender holds one such connection per task; the
//! transactional mailer keeps a few open in a [`Pool`].

use std::{
    sync::Mutex,
    time::{Duration, Instant},
};

use lettre::{
    address::Envelope,
    transport::smtp::{
        authentication::{Credentials, Mechanism},
        client::{AsyncSmtpConnection, TlsParameters},
        extension::ClientId,
    },
};
use tokio::net::TcpStream;

/// An SMTP server as `SMTP_URL` names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Server {
    pub host: String,
    pub port: u16,
    pub implicit_tls: bool,
    pub starttls: bool,
    pub credentials: Option<(String, String)>,
}

impl Server {
    /// Reads `smtp://[user:pass@]host[:port][?tls=required]` or `smtps://…`.
    pub fn parse(url: &str) -> Result<Self, String> {
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| format!("SMTP_URL {url:?} has no scheme"))?;
        let implicit_tls = match scheme {
            "smtp" => false,
            "smtps" => true,
            other => return Err(format!("SMTP_URL scheme {other:?} is not smtp or smtps")),
        };
        let (authority, query) = rest.split_once('?').unwrap_or((rest, ""));
        let authority = authority.trim_end_matches('/');
        let (credentials, hostport) = match authority.rsplit_once('@') {
            Some((userinfo, hostport)) => {
                let (user, pass) = userinfo.split_once(':').unwrap_or((userinfo, ""));
                (Some((user.to_owned(), pass.to_owned())), hostport)
            }
            None => (None, authority),
        };
        let (host, port) = match hostport.rsplit_once(':') {
            Some((host, port)) => (
                host.to_owned(),
                port.parse()
                    .map_err(|_| format!("SMTP_URL port {port:?} is not a number"))?,
            ),
            None => (hostport.to_owned(), if implicit_tls { 465 } else { 587 }),
        };
        let starttls = query
            .split('&')
            .any(|kv| kv == "tls=required" || kv == "tls=opportunistic");
        Ok(Self {
            host,
            port,
            implicit_tls,
            starttls,
            credentials,
        })
    }

    /// Opens a connection (TLS and authentication as configured).
    pub async fn connect(&self) -> Result<AsyncSmtpConnection, String> {
        let hello = ClientId::default();
        let mut connection = if self.implicit_tls {
            let tls = TlsParameters::new(self.host.clone()).map_err(|e| e.to_string())?;
            AsyncSmtpConnection::connect_tokio1(
                (self.host.as_str(), self.port),
                Some(Duration::from_secs(30)),
                &hello,
                Some(tls),
                None,
            )
            .await
            .map_err(|e| e.to_string())?
        } else {
            let stream = tokio::time::timeout(
                Duration::from_secs(30),
                TcpStream::connect((self.host.as_str(), self.port)),
            )
            .await
            .map_err(|_| "connecting timed out".to_owned())?
            .map_err(|e| e.to_string())?;
            stream.set_nodelay(true).map_err(|e| e.to_string())?;
            let mut connection =
                AsyncSmtpConnection::connect_with_transport(Box::new(stream), &hello)
                    .await
                    .map_err(|e| e.to_string())?;
            if self.starttls {
                let tls = TlsParameters::new(self.host.clone()).map_err(|e| e.to_string())?;
                connection
                    .starttls(tls, &hello)
                    .await
                    .map_err(|e| e.to_string())?;
            }
            connection
        };
        if let Some((user, password)) = &self.credentials {
            connection
                .auth(
                    &[Mechanism::Plain, Mechanism::Login],
                    &Credentials::new(user.clone(), password.clone()),
                )
                .await
                .map_err(|e| e.to_string())?;
        }
        Ok(connection)
    }
}

/// How a send failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// A 5xx reply: sending again will not help.
    Permanent(String),
    /// A 4xx reply, a lost connection or no connection at all.
    Temporary(String),
}

/// Connections idle longer than this are closed rather than used (servers drop idle
/// clients after a few minutes; RFC 5321 suggests five).
const IDLE_FOR: Duration = Duration::from_secs(30);

/// A few open connections to one server, for mail sent one message at a time by many
/// tasks (confirmation links, invitations).
pub struct Pool {
    server: Server,
    idle: Mutex<Vec<(Instant, AsyncSmtpConnection)>>,
    max_idle: usize,
}

impl Pool {
    pub fn new(server: Server, max_idle: usize) -> Self {
        Self {
            server,
            idle: Mutex::new(Vec::new()),
            max_idle,
        }
    }

    fn take(&self) -> Option<AsyncSmtpConnection> {
        let mut idle = self
            .idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        while let Some((since, connection)) = idle.pop() {
            if since.elapsed() < IDLE_FOR && !connection.has_broken() {
                return Some(connection);
            }
        }
        None
    }

    fn put(&self, connection: AsyncSmtpConnection) {
        let mut idle = self
            .idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if idle.len() < self.max_idle {
            idle.push((Instant::now(), connection));
        }
    }

    /// Sends one message on an idle connection or a new one.
    pub async fn send(&self, envelope: &Envelope, message: &[u8]) -> Result<(), Failure> {
        let mut connection = match self.take() {
            Some(connection) => connection,
            None => self.server.connect().await.map_err(Failure::Temporary)?,
        };
        match connection.send(envelope, message).await {
            Ok(_) => {
                self.put(connection);
                Ok(())
            }
            // lettre has closed the connection after an error reply.
            Err(e) if e.is_permanent() => Err(Failure::Permanent(e.to_string())),
            Err(e) => Err(Failure::Temporary(e.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smtp_urls_are_read() {
        assert_eq!(
            Server::parse("smtp://127.0.0.1:2525"),
            Ok(Server {
                host: "127.0.0.1".into(),
                port: 2525,
                implicit_tls: false,
                starttls: false,
                credentials: None
            })
        );
        assert_eq!(
            Server::parse("smtps://u:p@mail.example.no"),
            Ok(Server {
                host: "mail.example.no".into(),
                port: 465,
                implicit_tls: true,
                starttls: false,
                credentials: Some(("u".into(), "p".into()))
            })
        );
        assert!(matches!(
            Server::parse("smtp://m:587?tls=required"),
            Ok(Server { starttls: true, .. })
        ));
        assert!(Server::parse("http://x").is_err());
        assert!(Server::parse("smtp://x:port").is_err());
    }
}
