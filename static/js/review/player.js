// The review room's player: one waveform (wavesurfer.js, drawn from the precomputed peaks) over
// every source the page lists. All sources play in step, each through its own Web Audio gain,
// and only the chosen one is heard: switching is a gain change, so it is instant and keeps the
// place. The gains are the server's (jobs/review/gain.py): loudness matched by attenuation
// only, as mastered, or a -14 LUFS streaming preview. Nothing is fetched until Play.
import WaveSurfer from "../../vendor/wavesurfer.js-7.12.12/wavesurfer.esm.js";
import RegionsPlugin from "../../vendor/wavesurfer.js-7.12.12/plugins/regions.esm.js";
import { fmtTime, loadPeaks } from "./peaks.js";

const DRIFT_S = 0.06; // sources further apart than this are put back in step
const STEP_S = 5;
const RAMP_S = 0.004; // a few milliseconds: a switch without a click

const dbToGain = (db) => Math.pow(10, db / 20);
const shownDb = (db) => {
  const text = (db > -0.05 ? 0 : db).toFixed(1);
  return (text.startsWith("-") ? "\u2212" + text.slice(1) : text) + " dB";
};

function setup(root) {
  const sources = [...root.querySelectorAll("[data-source]")].map((li) => ({
    li,
    key: li.dataset.key,
    file: li.dataset.file,
    name: li.dataset.name,
    label: li.dataset.label,
    peaksUrl: li.dataset.peaks,
    duration: parseFloat(li.dataset.duration) || 0,
    gains: {
      matched: parseFloat(li.dataset.gainMatched) || 0,
      unmatched: 0,
      streaming: parseFloat(li.dataset.gainStreaming) || 0,
    },
    audio: li.querySelector("[data-audio]"),
    pick: li.querySelector("[data-pick]"),
    gainNode: null,
    peaks: null,
  }));
  if (!sources.length) return;

  const ui = {
    wave: root.querySelector("[data-wave]"),
    play: root.querySelector("[data-action=play]"),
    time: root.querySelector("[data-time]"),
    duration: root.querySelector("[data-duration]"),
    nowPlaying: root.querySelector("[data-now-playing]"),
    nowLabel: root.querySelector("[data-now-label]"),
    applied: root.querySelector("[data-applied-gain]"),
  };
  let active = sources[0];
  let mode = "matched";
  let ctx = null;
  let ws = null;
  let regions = null;
  let draft = null; // the region being turned into a comment
  let drawing = false; // the comments' own regions are being drawn
  let resync = null;

  // Progressive enhancement: the plain audio elements become the player's sources.
  for (const s of sources) {
    s.audio.controls = false;
    s.audio.hidden = true;
    s.pick.hidden = false;
    s.pick.addEventListener("click", () => switchTo(s));
  }
  for (const el of root.querySelectorAll("[data-transport], [data-keys], [data-wave]")) el.hidden = false;
  root.classList.add("enhanced");

  function playing() {
    return !active.audio.paused;
  }

  function ensureGraph() {
    if (ctx) return;
    ctx = new AudioContext();
    for (const s of sources) {
      s.gainNode = ctx.createGain();
      s.gainNode.gain.value = 0;
      ctx.createMediaElementSource(s.audio).connect(s.gainNode).connect(ctx.destination);
      s.audio.preload = "auto"; // from now on, keep every source ready to take over
    }
    applyGains();
  }

  function applyGains() {
    const db = active.gains[mode];
    ui.applied.textContent = shownDb(db);
    root.dataset.mode = mode;
    root.dataset.appliedGainDb = db.toFixed(2);
    for (const s of sources) {
      const on = s === active;
      s.li.classList.toggle("active", on);
      s.pick.setAttribute("aria-pressed", on ? "true" : "false");
      s.li.dataset.gainNow = on ? s.gains[mode].toFixed(2) : "off";
      if (s.gainNode) {
        const target = on ? dbToGain(s.gains[mode]) : 0;
        s.gainNode.gain.cancelScheduledValues(ctx.currentTime);
        s.gainNode.gain.setTargetAtTime(target, ctx.currentTime, RAMP_S);
      }
    }
  }

  function inStep(t) {
    for (const s of sources) {
      if (s === active) continue;
      const end = s.duration || s.audio.duration || Infinity;
      if (t < end && Math.abs(s.audio.currentTime - t) > DRIFT_S) s.audio.currentTime = t;
    }
  }

  async function play() {
    ensureGraph();
    await ctx.resume();
    const t = active.audio.currentTime;
    inStep(t);
    await Promise.all(sources.map((s) => s.audio.play().catch(() => undefined)));
    resync = resync || setInterval(() => playing() && inStep(active.audio.currentTime), 250);
    ui.play.textContent = "Pause";
  }

  function pause() {
    for (const s of sources) s.audio.pause();
    clearInterval(resync);
    resync = null;
    ui.play.textContent = "Play";
  }

  function seek(t) {
    const limit = active.duration || active.audio.duration || t;
    const to = Math.max(0, Math.min(t, limit));
    active.audio.currentTime = to;
    inStep(to);
    showTime(to);
  }

  function showTime(t) {
    ui.time.textContent = fmtTime(t);
    root.dataset.position = t.toFixed(3);
  }

  async function peaksOf(s) {
    if (!s.peaks) s.peaks = await loadPeaks(s.peaksUrl);
    if (!s.duration) s.duration = s.peaks.duration;
    return s.peaks;
  }

  async function switchTo(s) {
    if (s === active) return;
    const from = active;
    const t = from.audio.currentTime;
    if (Math.abs(s.audio.currentTime - t) > DRIFT_S) s.audio.currentTime = Math.min(t, s.duration || t);
    active = s;
    applyGains();
    root.dataset.lastSwitch = JSON.stringify({
      from: from.key, to: s.key, fromTime: t, toTime: s.audio.currentTime,
    });
    ui.nowPlaying.textContent = s.name;
    ui.nowLabel.textContent = s.label;
    document.dispatchEvent(new CustomEvent("review:source", { detail: { file: s.file } }));
    if (ws) {
      ws.setMediaElement(s.audio);
      try {
        const p = await peaksOf(s);
        if (active === s) {
          ws.setOptions({ peaks: [p.top, p.bottom], duration: p.duration });
          ui.duration.textContent = fmtTime(p.duration);
          drawComments();
        }
      } catch (error) {
        ui.duration.textContent = error.message;
      }
    }
  }

  // --- comments on the waveform -------------------------------------------------------------
  const form = document.querySelector("[data-comment-form]");

  function formField(name) {
    return document.querySelector(`[data-comment-${name}]`);
  }

  function pinTo(start, end) {
    const startField = formField("start");
    if (!startField) return;
    startField.value = fmtTime(start);
    formField("end").value = end != null && end - start >= 0.05 ? fmtTime(end) : "";
    const file = formField("file");
    if (file) file.value = active.file;
  }

  function drawComments() {
    if (!regions) return;
    drawing = true;
    try {
      drawPins();
    } finally {
      drawing = false;
    }
  }

  function drawPins() {
    for (const r of regions.getRegions()) if (r !== draft) r.remove();
    let n = 0;
    for (const li of document.querySelectorAll("[data-comment]")) {
      n += 1;
      if (li.dataset.file !== active.file) continue;
      const start = parseFloat(li.dataset.start);
      const end = li.dataset.end ? parseFloat(li.dataset.end) : start;
      const region = regions.addRegion({
        id: `pin-${li.dataset.id}`,
        start,
        end,
        content: String(n),
        drag: false,
        resize: false,
        color: li.dataset.open === "1" ? "rgba(217, 119, 6, 0.25)" : "rgba(107, 114, 128, 0.2)",
      });
      region.commentId = li.dataset.id;
    }
  }

  // --- the waveform ---------------------------------------------------------------------------
  async function mount() {
    let first;
    try {
      first = await peaksOf(active);
    } catch (error) {
      ui.wave.textContent = `Waveform: ${error.message}.`;
      return;
    }
    regions = RegionsPlugin.create();
    ws = WaveSurfer.create({
      container: ui.wave,
      height: 112,
      media: active.audio,
      peaks: [first.top, first.bottom],
      duration: first.duration,
      waveColor: "#3f5f8a",
      progressColor: "#1d232a",
      cursorColor: "#b3261e",
      cursorWidth: 2,
      normalize: false,
      dragToSeek: false,
      cspNonce: root.dataset.cspNonce || undefined,
      plugins: [regions],
    });
    ui.duration.textContent = fmtTime(first.duration);
    ws.on("timeupdate", showTime);
    ws.on("interaction", (t) => {
      inStep(t);
      if (!draft) pinTo(t, null);
    });
    ws.on("finish", pause);
    regions.enableDragSelection({ color: "rgba(179, 38, 30, 0.2)" });
    regions.on("region-created", (region) => {
      if (drawing || region.commentId) return;
      if (draft && draft !== region) draft.remove();
      draft = region;
      pinTo(region.start, region.end);
      formField("text")?.focus({ preventScroll: true });
    });
    regions.on("region-updated", (region) => region === draft && pinTo(region.start, region.end));
    regions.on("region-clicked", (region, event) => {
      if (!region.commentId) return;
      event.stopPropagation();
      seek(region.start);
      document.getElementById(`comment-${region.commentId}`)?.scrollIntoView({ block: "nearest" });
    });
    ws.on("ready", drawComments); // regions need the duration: drawn once it is known
  }

  // --- controls and keys --------------------------------------------------------------------
  ui.play.addEventListener("click", () => (playing() ? pause() : play()));
  root.querySelector("[data-action=back]").addEventListener("click", () => seek(active.audio.currentTime - STEP_S));
  root.querySelector("[data-action=forward]").addEventListener("click", () => seek(active.audio.currentTime + STEP_S));
  for (const radio of root.querySelectorAll("input[name=gain-mode]")) {
    radio.addEventListener("change", () => {
      if (radio.checked) {
        mode = radio.value;
        applyGains();
      }
    });
  }
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    if (target.closest && target.closest("input, textarea, select, [contenteditable=true]")) return;
    if (event.key === " ") {
      event.preventDefault();
      if (playing()) pause(); else play();
    } else if (event.key === "ArrowLeft" || event.key === "ArrowRight") {
      event.preventDefault();
      const step = (event.shiftKey ? 1 : STEP_S) * (event.key === "ArrowLeft" ? -1 : 1);
      seek(active.audio.currentTime + step);
    } else if (/^[1-9]$/.test(event.key)) {
      const s = sources.find((x) => x.key === event.key);
      if (s) {
        event.preventDefault();
        switchTo(s);
      }
    }
  });
  document.addEventListener("click", (event) => {
    const link = event.target.closest && event.target.closest("[data-seek]");
    if (!link) return;
    const s = sources.find((x) => x.file === link.dataset.file);
    if (!s) return;
    event.preventDefault();
    switchTo(s).then(() => seek(parseFloat(link.dataset.seek)));
    root.scrollIntoView({ block: "nearest" });
  });
  // The comments region comes back from the server after each comment: keep the pins in step,
  // and show a refusal (400/403 with the reason) in place instead of dropping it.
  document.body.addEventListener("htmx:beforeSwap", (event) => {
    const status = event.detail.xhr.status;
    if ((status === 400 || status === 403) && event.detail.target.id === "comments") {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
  document.body.addEventListener("htmx:afterSwap", (event) => {
    if (event.detail.target.id !== "comments" && !document.getElementById("comments")) return;
    if (draft) {
      draft.remove();
      draft = null;
    }
    drawComments();
    const file = formField("file");
    if (file) file.value = active.file;
  });
  if (form) {
    const file = formField("file");
    if (file) file.addEventListener("change", () => {
      const s = sources.find((x) => x.file === file.value);
      if (s) switchTo(s);
    });
  }
  showTime(0);
  applyGains();
  mount();
  window.headroomPlayer = { sources, get active() { return active; }, switchTo, seek, play, pause };
}

const root = document.getElementById("player");
if (root) setup(root);
