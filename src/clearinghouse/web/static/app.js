/* Clearinghouse web interface: the little JavaScript the pages use (no inline scripts; the
 * Content-Security-Policy allows only files from this origin).
 *
 * Bundled beside it: htmx 2.0.11 (https://htmx.org, htmx.min.js from the npm package
 * htmx.org@2.0.11), license: Zero-Clause BSD (0BSD); full text in THIRD_PARTY.txt.
 *
 * - Every htmx request carries the page's CSRF token (X-CSRF-Token, from <meta name="csrf-token">).
 * - A failed htmx request shows its message in #flash instead of failing silently.
 * - The triage queue: j / k move the highlighted row, Enter opens it, / focuses the search.
 */
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  document.addEventListener("htmx:configRequest", function (event) {
    event.detail.headers["X-CSRF-Token"] = csrfToken();
  });

  function flash(message) {
    var box = document.getElementById("flash");
    if (!box) {
      return;
    }
    box.textContent = message;
    box.hidden = !message;
  }

  document.addEventListener("htmx:beforeRequest", function () {
    flash("");
  });

  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr;
    var text = "";
    try {
      var doc = new DOMParser().parseFromString(xhr.responseText || "", "text/html");
      text = (doc.body.textContent || "").trim();
    } catch (ignored) {
      text = "";
    }
    flash(text || "The request failed (HTTP " + xhr.status + ").");
  });

  document.addEventListener("htmx:sendError", function () {
    flash("The server could not be reached. Check the connection and try again.");
  });

  /* --- triage keyboard ------------------------------------------------------------------ */

  function rows() {
    return Array.prototype.slice.call(
      document.querySelectorAll("#triage-table tbody tr[data-vuln]")
    );
  }

  function currentRow() {
    return document.querySelector("#triage-table tbody tr.is-current");
  }

  function highlight(row, focus) {
    rows().forEach(function (other) {
      other.classList.remove("is-current");
      other.tabIndex = -1;
    });
    if (!row) {
      return;
    }
    row.classList.add("is-current");
    row.tabIndex = 0;
    if (focus) {
      row.focus();
    }
  }

  function isTyping(target) {
    return Boolean(
      target && target.closest && target.closest("input, textarea, select, [contenteditable]")
    );
  }

  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey) {
      return;
    }
    if (isTyping(event.target)) {
      if (event.key === "Escape") {
        event.target.blur();
      }
      return;
    }
    var search = document.getElementById("q");
    if (event.key === "/" && search) {
      event.preventDefault();
      search.focus();
      search.select();
      return;
    }
    var list = rows();
    if (!list.length) {
      return;
    }
    var at = list.indexOf(currentRow());
    if (at < 0 && document.activeElement && list.indexOf(document.activeElement) >= 0) {
      at = list.indexOf(document.activeElement);
    }
    if (event.key === "j") {
      event.preventDefault();
      highlight(list[Math.min(at + 1, list.length - 1)], true);
    } else if (event.key === "k") {
      event.preventDefault();
      highlight(list[Math.max(at - 1, 0)], true);
    } else if (event.key === "Enter" && event.target.matches && event.target.matches("tr[data-vuln]")) {
      var link = event.target.querySelector("a[href]");
      if (link) {
        event.preventDefault();
        link.click();
      }
    }
  });

  document.addEventListener("focusin", function (event) {
    var row = event.target.closest && event.target.closest("#triage-table tbody tr[data-vuln]");
    if (row && !row.classList.contains("is-current")) {
      highlight(row, false);
    }
  });
})();
