/* Clearinghouse case room: the embargo countdown and local time, and htmx form behaviour.
 *
 * - The server renders the remaining time once; this ticks it every second
 *   (elements with [data-until]) and shows the end in the viewer's own time zone
 *   ([data-local-time]). Without JavaScript the page keeps the server's text.
 * - A refusal the server sends back to a form's error slot (HX-Retarget, status 4xx) is swapped
 *   in beside the form instead of failing: it names the field to correct.
 * - A message form is emptied once its message is posted; a patch verdict takes the focus.
 * - A patch file over the size cap is refused before it is sent (the server refuses it too,
 *   with a 413, before reading it all).
 */
(function () {
  "use strict";

  function plural(n, unit) {
    return n + " " + unit + (n === 1 ? "" : "s");
  }

  function remaining(until, now) {
    var seconds = Math.floor((until - now) / 1000);
    if (!(seconds > 0)) {
      return "the embargo date has passed";
    }
    var days = Math.floor(seconds / 86400);
    var hours = Math.floor((seconds % 86400) / 3600);
    var minutes = Math.floor((seconds % 3600) / 60);
    var secs = seconds % 60;
    var parts = [];
    if (days) {
      parts.push(plural(days, "day"));
    }
    if (days || hours) {
      parts.push(plural(hours, "hour"));
    }
    parts.push(plural(minutes, "minute"));
    parts.push(plural(secs, "second"));
    return parts.join(", ");
  }

  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-until]").forEach(function (el) {
      var until = Date.parse(el.getAttribute("data-until"));
      if (!isNaN(until)) {
        el.textContent = remaining(until, now);
      }
    });
  }

  function localTimes(root) {
    (root || document).querySelectorAll("[data-local-time]").forEach(function (el) {
      var at = new Date(el.getAttribute("data-local-time"));
      var slot = el.querySelector(".local-time-value");
      if (isNaN(at.getTime()) || !slot) {
        return;
      }
      // dateStyle/timeStyle may not be combined with timeZoneName: name the fields instead
      slot.textContent = at.toLocaleString(undefined, {
        year: "numeric",
        month: "short",
        day: "numeric",
        hour: "2-digit",
        minute: "2-digit",
        timeZoneName: "short"
      });
      el.hidden = false;
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    localTimes(document);
    tick();
    window.setInterval(tick, 1000);
  });

  document.addEventListener("htmx:afterSwap", function () {
    localTimes(document);
    tick();
  });

  function refusePatch(text) {
    var slot = document.getElementById("patch-verdict");
    if (!slot) {
      return;
    }
    var box = document.createElement("div");
    box.className = "verdict-box pverdict-box-refused";
    box.id = "patch-result";
    box.setAttribute("data-verdict", "refused");
    box.tabIndex = -1;
    var line = document.createElement("p");
    line.className = "verdict-line";
    line.appendChild(document.createTextNode("Verdict: "));
    var word = document.createElement("strong");
    word.className = "pverdict pverdict-refused";
    word.textContent = "Refused";
    line.appendChild(word);
    var detail = document.createElement("p");
    detail.textContent = text;
    box.appendChild(line);
    box.appendChild(detail);
    slot.replaceChildren(box);
    box.focus();
  }

  function tooLarge(max) {
    return "patch: the file is larger than " + Math.floor(max / 1024) + " KiB; nothing was sent or stored";
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    var form = event.detail.elt;
    if (!form || form.id !== "patch-form") {
      return;
    }
    var input = form.querySelector("input[type=file][data-max-bytes]");
    var max = input ? Number(input.getAttribute("data-max-bytes")) : 0;
    if (input && input.files && input.files[0] && max && input.files[0].size > max) {
      event.preventDefault();
      refusePatch(tooLarge(max));
    }
  });

  document.addEventListener("htmx:beforeSwap", function (event) {
    var xhr = event.detail.xhr;
    if (xhr.status >= 400 && xhr.status < 500 && xhr.getResponseHeader("HX-Retarget")) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    } else if (xhr.status === 413 && event.detail.elt && event.detail.elt.id === "patch-form") {
      // refused by the server's body cap before the page's route ran: say it here too
      var input = event.detail.elt.querySelector("input[type=file][data-max-bytes]");
      event.detail.shouldSwap = false;
      event.detail.isError = false;
      refusePatch(tooLarge(input ? Number(input.getAttribute("data-max-bytes")) : 1048576));
    }
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    var form = event.detail.elt;
    if (!event.detail.successful || !form || form.tagName !== "FORM") {
      return;
    }
    var slot = form.id ? document.getElementById(form.id + "-error") : null;
    if (slot) {
      slot.textContent = "";
    }
    if (form.hasAttribute("data-reset-on-success")) {
      form.reset();
    }
  });

  document.addEventListener("htmx:afterSettle", function (event) {
    var target = event.detail.target;
    if (target && target.id === "patch-verdict") {
      var result = document.getElementById("patch-result");
      if (result) {
        result.focus();
      }
    }
  });
})();
