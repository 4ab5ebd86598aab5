//! The benchmark's ceiling: a plain loop of lettre sending one rendered newsletter, over
//! `connections` pooled connections opened with TCP_NODELAY, to the same sink.
//! Usage: `bench_smtp_ceiling <port> <connections> <messages> [personalised]`; prints
//! messages/s. With `personalised`, each message is rendered and built for its own
//! recipient first (what any sender of personal newsletters must do), still without a
//! database: the ceiling of personal messages.

use std::time::Instant;

use lettre::{
    Message,
    message::{Mailbox, MultiPart},
    transport::smtp::{client::AsyncSmtpConnection, extension::ClientId},
};
use talentpool_core::newsletters::{NewsletterTemplate, Recipient};

pub const SUBJECT: &str = "News from the talent pool, {{ candidate.first_name }}";
pub const BODY: &str = include_str!("../../../bench/newsletter_body.md");

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let port: u16 = args.get(1).map_or(Ok(2525), |a| a.parse())?;
    let connections: usize = args.get(2).map_or(Ok(8), |a| a.parse())?;
    let messages: usize = args.get(3).map_or(Ok(100_000), |a| a.parse())?;
    let personalised = args.get(4).is_some_and(|a| a == "personalised");
    let template = NewsletterTemplate::compile(SUBJECT, BODY, "http://localhost/privacy".into())
        .map_err(|p| anyhow::anyhow!("{p:?}"))?;
    let template = std::sync::Arc::new(template);
    let from: Mailbox = "Talent Pool <talentpool@bench.example>".parse()?;
    let build = move |template: &NewsletterTemplate, n: usize| -> anyhow::Result<Message> {
        let mut recipient = Recipient::sample(format!("http://localhost/u/token{n}"));
        recipient.first_name = format!("Ada{n}");
        let rendered = template.render(&recipient)?;
        Ok(Message::builder()
            .from(from.clone())
            .to(format!("someone{n}@bench.example").parse()?)
            .subject(rendered.subject)
            .message_id(Some(format!("<bench{n}@bench.example>")))
            .date_now()
            .multipart(MultiPart::alternative_plain_html(
                rendered.text,
                rendered.html,
            ))?)
    };
    let build = std::sync::Arc::new(build);
    let message = build(&template, 0)?;
    let raw = message.formatted();
    let envelope = message.envelope().clone();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..connections {
        let raw = raw.clone();
        let envelope = envelope.clone();
        let (template, build) = (template.clone(), build.clone());
        let share = messages / connections + usize::from(i < messages % connections);
        tasks.push(tokio::spawn(async move {
            let stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
            stream.set_nodelay(true)?;
            let mut conn =
                AsyncSmtpConnection::connect_with_transport(Box::new(stream), &ClientId::default())
                    .await?;
            for n in 0..share {
                if personalised {
                    let message = build(&template, i * share + n)?;
                    conn.send(message.envelope(), &message.formatted()).await?;
                } else {
                    conn.send(&envelope, &raw).await?;
                }
            }
            conn.quit().await?;
            anyhow::Ok(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    let secs = started.elapsed().as_secs_f64();
    println!("ceiling_msgs_per_sec {:.0}", messages as f64 / secs);
    println!("message_bytes {}", raw.len());
    Ok(())
}
