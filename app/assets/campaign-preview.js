// Live preview of a campaign's Markdown text in the back office: the server renders it
// exactly as the landing page will, a moment after typing stops. Without this script
// the form's Preview button does the same with a full page load.
(function () {
  "use strict";
  var source = document.querySelector("textarea[data-preview]");
  if (!source) return;
  var target = document.getElementById(source.getAttribute("data-preview"));
  var section = document.getElementById("campaign-preview-section");
  var token = source.form && source.form.querySelector("input[name=authenticity_token]");
  if (!target || !token) return;
  var timer = null;
  var sent = 0;
  function refresh() {
    var ticket = ++sent;
    var body = new URLSearchParams();
    body.set("authenticity_token", token.value);
    body.set("body_markdown", source.value);
    fetch("/admin/campaigns/preview", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: body.toString()
    })
      .then(function (response) {
        return response.ok ? response.text() : null;
      })
      .then(function (html) {
        // Only the answer to the latest request is shown.
        if (html === null || ticket !== sent) return;
        target.innerHTML = html;
        if (section) section.hidden = false;
      })
      .catch(function () {});
  }
  source.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(refresh, 300);
  });
})();
