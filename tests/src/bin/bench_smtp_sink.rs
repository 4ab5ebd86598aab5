//! The benchmark's SMTP sink: accepts and counts messages on `127.0.0.1:<port>` until
//! killed. Usage: `bench_smtp_sink <port>`.

use std::time::Duration;

use talentpool_tests::SmtpSink;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let port = std::env::args().nth(1).unwrap_or_else(|| "2525".into());
    let sink = SmtpSink::start_counting(&format!("127.0.0.1:{port}")).await?;
    println!("listening {}", sink.port());
    loop {
        tokio::time::sleep(Duration::from_secs(5)).await;
        println!("accepted {}", sink.accepted());
    }
}
