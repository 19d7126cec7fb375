// Upload with a progress bar: the form posts through XHR (marked as an htmx request, so the
// server answers with the form's region: the files, or the delivery for masters), and works as
// a plain form without JavaScript.
(function () {
  "use strict";
  function wire(form) {
    form.addEventListener("submit", function (event) {
      if (!window.XMLHttpRequest || !window.FormData) return;
      event.preventDefault();
      var bar = form.querySelector(".upload-progress");
      var status = form.querySelector(".upload-status");
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      xhr.setRequestHeader("HX-Request", "true");
      xhr.upload.addEventListener("progress", function (e) {
        if (!e.lengthComputable) return;
        bar.hidden = false;
        bar.value = Math.round((e.loaded / e.total) * 100);
        status.textContent = bar.value + " %";
      });
      xhr.addEventListener("load", function () {
        var selector = form.dataset.target || "#files";
        var target = document.querySelector(selector);
        if (target && xhr.responseText) {
          target.outerHTML = xhr.responseText;
          var region = document.querySelector(selector);
          if (region && window.htmx) window.htmx.process(region);  // e.g. the delivery's poll
          var again = document.getElementById(form.id);
          if (again) wire(again);
        }
      });
      xhr.addEventListener("error", function () {
        status.textContent = "The upload failed; check the connection and try again.";
      });
      xhr.send(new FormData(form));
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    ["upload-form", "master-upload-form"].forEach(function (id) {
      var form = document.getElementById(id);
      if (form) wire(form);
    });
  });
})();
