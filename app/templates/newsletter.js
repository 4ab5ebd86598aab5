// Refreshes a newsletter's progress on its page without a reload.
(function () {
  "use strict";
  var section = document.getElementById("progress");
  if (!section) { return; }
  var url = section.getAttribute("data-progress-url");
  var finished = ["done", "cancelled", "draft"];
  var statusField = section.querySelector("[data-field=status]");
  var initial = statusField ? statusField.textContent.trim() : "";
  function show(data) {
    section.querySelectorAll("[data-field]").forEach(function (el) {
      var key = el.getAttribute("data-field");
      var value = data[key];
      if (key === "status_reason") {
        el.hidden = !value;
        el.textContent = value || "";
        return;
      }
      if (key === "rate_per_sec") { value = Math.round(value * 10) / 10; }
      el.textContent = value === null || value === undefined ? "–" : String(value);
    });
  }
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (data && data.status !== initial) {
          // A new state has other buttons (resume, …): load the page again.
          window.location.reload();
          return;
        }
        if (data) { show(data); }
        if (!data || finished.indexOf(data.status) === -1) { setTimeout(poll, 1000); }
      })
      .catch(function () { setTimeout(poll, 3000); });
  }
  setTimeout(poll, 500);
})();
