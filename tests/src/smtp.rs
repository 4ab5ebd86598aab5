//! A real SMTP server in the test process: it speaks enough ESMTP for lettre and keeps
//! every message it receives. It can be told to refuse chosen recipients (451, 550) for
//! some attempts or always, to refuse the first N recipients of any address, or to drop
//! the connection instead of answering a message.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex as StdMutex},
    time::Duration,
};

use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::{TcpListener, TcpStream},
    sync::{Mutex, Notify},
};

#[derive(Debug, Clone)]
pub struct Received {
    pub from: String,
    pub to: Vec<String>,
    pub raw: Vec<u8>,
}

impl Received {
    pub fn parsed(&self) -> mail_parser::Message<'_> {
        mail_parser::MessageParser::default()
            .parse(&self.raw)
            .expect("a parseable message")
    }

    pub fn text(&self) -> String {
        self.parsed()
            .body_text(0)
            .map(|t| t.into_owned())
            .expect("a text part")
    }

    pub fn html(&self) -> String {
        self.parsed()
            .body_html(0)
            .map(|t| t.into_owned())
            .expect("an HTML part")
    }

    pub fn subject(&self) -> String {
        self.parsed().subject().unwrap_or_default().to_owned()
    }

    /// The first link in the text part that starts with `prefix`.
    pub fn link(&self, prefix: &str) -> Option<String> {
        let text = self.text();
        text.split_whitespace()
            .find(|w| w.starts_with(prefix))
            .map(str::to_owned)
    }
}

/// What the sink does with a recipient instead of accepting it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Answer `RCPT TO` with this code (451: try later; 550: no such user).
    Reply(u16),
    /// Read the whole message, then close the connection without answering.
    Drop,
}

#[derive(Debug, Default)]
struct Rules {
    /// Address → fault and how many more times (`None`: always).
    by_address: HashMap<String, (Fault, Option<usize>)>,
    /// The next N recipients of any address get this fault.
    first: Option<(Fault, usize)>,
    /// `RCPT TO` attempts per address, accepted or not.
    attempts: HashMap<String, usize>,
}

impl Rules {
    fn fault_for(&mut self, address: &str) -> Option<Fault> {
        *self
            .attempts
            .entry(address.to_ascii_lowercase())
            .or_default() += 1;
        if let Some((fault, left)) = self.first.as_mut() {
            let fault = *fault;
            *left -= 1;
            if *left == 0 {
                self.first = None;
            }
            return Some(fault);
        }
        let entry = self.by_address.get_mut(&address.to_ascii_lowercase())?;
        let fault = entry.0;
        match &mut entry.1 {
            None => Some(fault),
            Some(0) => None,
            Some(left) => {
                *left -= 1;
                Some(fault)
            }
        }
    }
}

#[derive(Clone)]
pub struct SmtpSink {
    port: u16,
    messages: Arc<Mutex<Vec<Received>>>,
    arrived: Arc<Notify>,
    rules: Arc<StdMutex<Rules>>,
    /// Benchmarks count messages without keeping them.
    count_only: bool,
    accepted: Arc<std::sync::atomic::AtomicU64>,
}

impl SmtpSink {
    pub async fn start() -> std::io::Result<Self> {
        Self::start_on("127.0.0.1:0", false).await
    }

    /// A sink on `addr` that counts messages but does not keep them (for benchmarks).
    pub async fn start_counting(addr: &str) -> std::io::Result<Self> {
        Self::start_on(addr, true).await
    }

    /// Messages accepted so far.
    pub fn accepted(&self) -> u64 {
        self.accepted.load(std::sync::atomic::Ordering::Relaxed)
    }

    async fn start_on(addr: &str, count_only: bool) -> std::io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        let sink = Self {
            port: listener.local_addr()?.port(),
            messages: Arc::default(),
            arrived: Arc::default(),
            rules: Arc::default(),
            count_only,
            accepted: Arc::default(),
        };
        let handle = sink.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let handle = handle.clone();
                tokio::spawn(async move {
                    let _ = handle.session(stream).await;
                });
            }
        });
        Ok(sink)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    fn rules(&self) -> std::sync::MutexGuard<'_, Rules> {
        self.rules
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// `address` gets `fault` for its next `times` attempts (`None`: always).
    pub fn fail_address(&self, address: &str, fault: Fault, times: Option<usize>) {
        self.rules()
            .by_address
            .insert(address.to_ascii_lowercase(), (fault, times));
    }

    /// The next `n` recipients, whoever they are, get `fault`.
    pub fn fail_first(&self, n: usize, fault: Fault) {
        self.rules().first = (n > 0).then_some((fault, n));
    }

    /// How often a message to `address` was attempted (`RCPT TO`), accepted or not.
    pub fn attempts(&self, address: &str) -> usize {
        self.rules()
            .attempts
            .get(&address.to_ascii_lowercase())
            .copied()
            .unwrap_or(0)
    }

    pub async fn messages(&self) -> Vec<Received> {
        self.messages.lock().await.clone()
    }

    /// Messages to `address`.
    pub async fn to(&self, address: &str) -> Vec<Received> {
        self.messages()
            .await
            .into_iter()
            .filter(|m| m.to.iter().any(|t| t.eq_ignore_ascii_case(address)))
            .collect()
    }

    /// Waits until `count` messages have reached `address`; `Err` with what did arrive
    /// when they don't within `within`.
    pub async fn wait_for(
        &self,
        address: &str,
        count: usize,
        within: Duration,
    ) -> Result<Vec<Received>, Vec<Received>> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let notified = self.arrived.notified();
            let found = self.to(address).await;
            if found.len() >= count {
                return Ok(found);
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return Err(found);
            }
        }
    }

    /// Waits until `count` messages have arrived in all; panics after `within`.
    pub async fn wait_for_total(&self, count: usize, within: Duration) {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let notified = self.arrived.notified();
            let n = self.messages.lock().await.len();
            if n >= count {
                return;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                panic!("{count} messages expected, {n} arrived");
            }
        }
    }

    async fn session(&self, stream: TcpStream) -> std::io::Result<()> {
        stream.set_nodelay(true)?;
        let (read, mut write) = stream.into_split();
        let mut reader = BufReader::new(read);
        write.write_all(b"220 sink.test ESMTP ready\r\n").await?;
        let mut from = String::new();
        let mut to = Vec::new();
        let mut dropping = false;
        let mut line = String::new();
        loop {
            line.clear();
            if reader.read_line(&mut line).await? == 0 {
                return Ok(());
            }
            let command = line.trim_end().to_owned();
            let upper = command.to_ascii_uppercase();
            if upper.starts_with("EHLO") {
                write
                    .write_all(
                        b"250-sink.test\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 PIPELINING\r\n",
                    )
                    .await?;
            } else if upper.starts_with("HELO") {
                write.write_all(b"250 sink.test\r\n").await?;
            } else if upper.starts_with("MAIL FROM:") {
                from = address(&command[10..]);
                to.clear();
                write.write_all(b"250 OK\r\n").await?;
            } else if upper.starts_with("RCPT TO:") {
                let recipient = address(&command[8..]);
                let fault = self.rules().fault_for(&recipient);
                match fault {
                    Some(Fault::Reply(code)) if code >= 500 => {
                        write
                            .write_all(
                                format!("{code} 5.1.1 <{recipient}>: no such user\r\n").as_bytes(),
                            )
                            .await?;
                    }
                    Some(Fault::Reply(code)) => {
                        write
                            .write_all(
                                format!("{code} 4.7.1 <{recipient}>: try again later\r\n")
                                    .as_bytes(),
                            )
                            .await?;
                    }
                    Some(Fault::Drop) => {
                        dropping = true;
                        to.push(recipient);
                        write.write_all(b"250 OK\r\n").await?;
                    }
                    None => {
                        to.push(recipient);
                        write.write_all(b"250 OK\r\n").await?;
                    }
                }
            } else if upper == "DATA" {
                write.write_all(b"354 go ahead\r\n").await?;
                let mut raw = Vec::new();
                loop {
                    let mut data = String::new();
                    if reader.read_line(&mut data).await? == 0 {
                        return Ok(());
                    }
                    if data == ".\r\n" || data == ".\n" {
                        break;
                    }
                    let unstuffed = data.strip_prefix('.').unwrap_or(&data);
                    raw.extend_from_slice(unstuffed.as_bytes());
                }
                if dropping {
                    // The message is lost with the connection: the sender cannot know.
                    return Ok(());
                }
                self.accepted
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if self.count_only {
                    to.clear();
                } else {
                    self.messages.lock().await.push(Received {
                        from: from.clone(),
                        to: std::mem::take(&mut to),
                        raw,
                    });
                    self.arrived.notify_waiters();
                }
                write.write_all(b"250 OK queued\r\n").await?;
            } else if upper == "RSET" || upper == "NOOP" {
                write.write_all(b"250 OK\r\n").await?;
            } else if upper == "QUIT" {
                write.write_all(b"221 bye\r\n").await?;
                return Ok(());
            } else {
                write.write_all(b"502 not implemented\r\n").await?;
            }
        }
    }
}

fn address(arg: &str) -> String {
    let arg = arg.trim();
    let inner = arg
        .split_once('<')
        .and_then(|(_, rest)| rest.split_once('>'))
        .map_or(arg, |(addr, _)| addr);
    inner.to_owned()
}
