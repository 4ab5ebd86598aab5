//! Markdown to HTML for campaign texts. Raw HTML in the source is shown as text, never
//! passed through.

use pulldown_cmark::{Event, Options, Parser, html};

pub fn to_html(source: &str) -> String {
    let parser = Parser::new_ext(
        source,
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH,
    )
    .map(|event| match event {
        Event::Html(raw) | Event::InlineHtml(raw) => Event::Text(raw),
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
}
