//! Markdown to HTML for campaign texts. Raw HTML in the source is shown as text, never
//! passed through, and links and images keep only web and mail addresses.

use pulldown_cmark::{CowStr, Event, Options, Parser, Tag, html};

/// Whether a link target is harmless: http(s), mailto, tel, or a relative address.
fn safe_url(url: &str) -> bool {
    let lower = url.trim().to_ascii_lowercase();
    match lower.split_once(':') {
        Some((scheme, _))
            if !scheme.contains('/') && !scheme.contains('?') && !scheme.contains('#') =>
        {
            matches!(scheme, "http" | "https" | "mailto" | "tel")
        }
        _ => true,
    }
}

fn neutralise(url: CowStr<'_>) -> CowStr<'_> {
    if safe_url(&url) {
        url
    } else {
        CowStr::Borrowed("#")
    }
}

pub fn to_html(source: &str) -> String {
    let parser = Parser::new_ext(
        source,
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH,
    )
    .map(|event| match event {
        Event::Html(raw) | Event::InlineHtml(raw) => Event::Text(raw),
        Event::Start(Tag::Link {
            link_type,
            dest_url,
            title,
            id,
        }) => Event::Start(Tag::Link {
            link_type,
            dest_url: neutralise(dest_url),
            title,
            id,
        }),
        Event::Start(Tag::Image {
            link_type,
            dest_url,
            title,
            id,
        }) => Event::Start(Tag::Image {
            link_type,
            dest_url: neutralise(dest_url),
            title,
            id,
        }),
        other => other,
    });
    let mut out = String::with_capacity(source.len() * 2);
    html::push_html(&mut out, parser);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_markdown_and_escapes_html() {
        let html = to_html("# Jobs\n\n**Oslo** <script>alert(1)</script>");
        assert!(html.contains("<h1>Jobs</h1>"));
        assert!(html.contains("<strong>Oslo</strong>"));
        assert!(!html.contains("<script>"));
        assert!(html.contains("&lt;script&gt;"));
    }

    #[test]
    fn keeps_web_links_and_drops_script_links() {
        let html = to_html(
            "[a](https://example.no/jobs) [b](JavaScript:alert(1)) [c](/c/x) [d](mailto:a@b.no) ![e](data:text/html,x)",
        );
        assert!(html.contains(r#"href="https://example.no/jobs""#));
        assert!(html.contains(r#"href="/c/x""#));
        assert!(html.contains(r#"href="mailto:a@b.no""#));
        assert!(!html.to_ascii_lowercase().contains("javascript:"));
        assert!(!html.contains("data:text/html"));
        assert_eq!(html.matches(r##"="#""##).count(), 2);
    }
}
