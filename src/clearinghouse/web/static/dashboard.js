/* The operator dashboard's own script (loaded only there; the CSP allows no inline code).
 *
 * - The SBOM upload's <progress> follows the bytes sent (htmx's htmx:xhr:progress event) and
 *   ends at 100 % with words, so the state is not shown by the bar alone.
 * - A refused upload (400/413/415/422) is shown in place, in #upload-result, with its reason,
 *   instead of only in the page's flash line.
 * - htmx settles ``style`` among other attributes, copying an old element's style attribute
 *   onto its replacement; under this CSP that is a violation whenever anything (a browser
 *   extension, a screenshot tool) left one, so style is not settled here.
 * - After the scans section is swapped (kill switch, confirmation, revoke), focus moves to the
 *   confirmation question or the kill switch's new state, so keyboard and screen-reader users
 *   are not left on a button that no longer exists.
 */
(function () {
  "use strict";

  function parts() {
    return {
      bar: document.getElementById("sbom-progress"),
      text: document.getElementById("sbom-progress-text"),
    };
  }

  function isUpload(event) {
    var elt = event.detail && event.detail.elt;
    return Boolean(elt && elt.id === "sbom-form");
  }

  function show(percent, words) {
    var p = parts();
    if (!p.bar) {
      return;
    }
    p.bar.hidden = false;
    p.bar.value = percent;
    p.bar.setAttribute("aria-valuetext", words);
    if (p.text) {
      p.text.textContent = words;
    }
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    if (isUpload(event)) {
      show(0, "Uploading… 0%");
    }
  });

  document.addEventListener("htmx:xhr:progress", function (event) {
    if (!isUpload(event) || !event.detail.lengthComputable || !event.detail.total) {
      return;
    }
    var percent = Math.min(100, Math.round((100 * event.detail.loaded) / event.detail.total));
    show(percent, percent < 100 ? "Uploading… " + percent + "%" : "Uploaded, checking the SBOM…");
  });

  document.addEventListener("htmx:beforeSwap", function (event) {
    if (!isUpload(event)) {
      return;
    }
    var status = event.detail.xhr.status;
    if (status >= 400 && status < 500 && status !== 401 && status !== 403 && status !== 404) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    if (!isUpload(event)) {
      return;
    }
    var status = event.detail.xhr ? event.detail.xhr.status : 0;
    if (event.detail.successful) {
      show(100, "Upload complete (100%)");
      var form = document.getElementById("sbom-form");
      if (form) {
        form.reset();
      }
    } else {
      show(100, status ? "Upload refused (HTTP " + status + ")" : "Upload failed");
    }
  });

  document.addEventListener("htmx:afterSettle", function (event) {
    var target = event.detail && event.detail.target;
    if (!target || target.id !== "scans") {
      return;
    }
    var next = document.getElementById("kill-switch-confirm") || document.getElementById("kill-switch");
    if (next) {
      next.focus();
    }
  });
})();
