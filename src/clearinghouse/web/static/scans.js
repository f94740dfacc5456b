/* Scanning pages: the lookup form's answer is swapped in by htmx, and so is its refusal.
 *
 * htmx does not swap 4xx responses by default; a 400 from /scans/lookup carries the message
 * naming the field that was wrong, so it replaces the answer instead of only flashing, and the
 * input is marked invalid for assistive technology. Everything else keeps htmx's defaults.
 */
(function () {
  "use strict";

  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    if (target && target.id === "lookup-result" && event.detail.xhr.status === 400) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    if (!target || target.id !== "lookup-result") {
      return;
    }
    var error = target.querySelector("#lookup-error");
    ["address", "at"].forEach(function (name) {
      var input = document.getElementById(name);
      if (!input) {
        return;
      }
      if (error && error.getAttribute("data-field") === name) {
        input.setAttribute("aria-invalid", "true");
        input.setAttribute("aria-describedby", "lookup-error");
      } else {
        input.removeAttribute("aria-invalid");
        input.removeAttribute("aria-describedby");
      }
    });
  });
})();
