// Behaviour every page shares, kept out of the templates so the Content-Security-Policy can
// forbid inline scripts (htmx runs with allowEval off: no hx-on attributes).
(function () {
  "use strict";
  // A refused stage move answers 400 or 403 with the row and the reason: swap it in anyway.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var status = event.detail.xhr.status;
    var elt = event.detail.elt;
    if ((status === 400 || status === 403) && elt && elt.closest("[data-swap-refusals]")) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
})();
