// The desk's listening timer. The server's clock is the truth: each render carries the server's
// "now" and the moments that matter, and this script only counts on from them (so a reload, a
// second tab or a laptop waking from sleep shows the server's times, never its own).
(function () {
  "use strict";
  var chimed = {};

  function fmt(seconds) {
    seconds = Math.max(0, Math.floor(seconds));
    var h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
    var mm = (h && m < 10 ? "0" : "") + m, ss = (s < 10 ? "0" : "") + s;
    return (h ? h + ":" : "") + mm + ":" + ss;
  }

  function hours(seconds) {
    var minutes = Math.floor(Math.max(0, seconds) / 60), h = Math.floor(minutes / 60), m = minutes % 60;
    return h ? h + " h " + (m < 10 ? "0" : "") + m + " min" : m + " min";
  }

  function chime() {
    var box = document.querySelector("[data-chime]");
    if (!box || !box.checked) return;
    var Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return;
    var ctx = new Ctx(), osc = ctx.createOscillator(), gain = ctx.createGain();
    osc.frequency.value = 660;
    gain.gain.setValueAtTime(0.15, ctx.currentTime);
    gain.gain.exponentialRampToValueAtTime(0.001, ctx.currentTime + 1.2);
    osc.connect(gain).connect(ctx.destination);
    osc.start();
    osc.stop(ctx.currentTime + 1.2);
  }

  function notify(text) {
    if (!("Notification" in window) || Notification.permission !== "granted") return;
    try { new Notification("Headroom", { body: text }); } catch (e) { /* not allowed here */ }
  }

  function prompted(timer) {
    var prompt = timer.querySelector("[data-break-prompt]");
    var key = timer.dataset.due;
    if (prompt) prompt.hidden = false;
    timer.classList.add("break-due");
    if (!chimed[key]) {
      chimed[key] = true;
      chime();
      notify("Time for an ear break.");
    }
  }

  function tick() {
    var timers = document.querySelectorAll("[data-session-timer]");
    for (var i = 0; i < timers.length; i++) {
      var t = timers[i], d = t.dataset;
      if (!d.loadedAt) d.loadedAt = String(Date.now() / 1000);
      var now = Number(d.serverNow) + (Date.now() / 1000 - Number(d.loadedAt));
      var resting = d.restUntil && now < Number(d.restUntil);
      var listened = resting ? 0 : now - Number(d.since);
      var el = t.querySelector("[data-continuous]");
      if (el) el.textContent = fmt(listened);
      var today = Number(d.today) + (resting ? 0 : now - Number(d.serverNow));
      var total = t.querySelector("[data-today-total]");
      if (total) total.textContent = hours(today);
      var meter = t.querySelector("[data-today-meter]");
      if (meter) meter.value = Math.min(today, Number(d.cap));
      var dose = Number(d.dose) + (resting ? 0 : (now - Number(d.serverNow)) * Number(d.doseRate || 0));
      var doseTotal = t.querySelector("[data-dose-total]");
      if (doseTotal) doseTotal.textContent = Math.round(dose) + " %";
      var doseMeter = t.querySelector("[data-dose-meter]");
      if (doseMeter) doseMeter.value = Math.min(dose, Number(d.doseLimit));
      var left = t.querySelector("[data-rest-left]");
      if (left && d.restUntil) left.textContent = fmt(Number(d.restUntil) - now);
      var form = t.querySelector(".session-tick");
      if (d.restUntil && !resting && !d.askedBack) {
        d.askedBack = "1";  // the break is over: ask the server for the timer again
        if (form && window.htmx) window.htmx.trigger(form, "due");
      }
      if (!resting && now >= Number(d.due)) {
        if (t.classList.contains("break-due")) { prompted(t); continue; }
        if (!d.askedDue) {
          d.askedDue = "1";  // the server records the prompt and answers with it
          if (form && window.htmx) window.htmx.trigger(form, "due");
        }
        prompted(t);
      }
    }
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-notify]");
    if (button && "Notification" in window) {
      Notification.requestPermission().then(function () { button.hidden = true; });
    }
  });
  function offerNotify() {
    var buttons = document.querySelectorAll("[data-notify]");
    for (var i = 0; i < buttons.length; i++) {
      buttons[i].hidden = !("Notification" in window) || Notification.permission !== "default";
    }
  }
  document.addEventListener("htmx:afterSettle", function () { offerNotify(); tick(); });
  document.addEventListener("DOMContentLoaded", function () { offerNotify(); tick(); });
  window.setInterval(tick, 1000);
})();
