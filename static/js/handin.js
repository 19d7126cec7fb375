// The hand-in: drop stems, the rough mix and references; each file's kind is suggested from its
// name and its header is read for quick checks (naming scheme, sample rate, length) before it
// is uploaded resumably (tus, or S3 multipart when files live on S3) with a progress bar. These
// are hints: the server measures every file and stays the judge. Without JavaScript the plain
// form above does the same job in one request.
(function () {
  "use strict";

  var root = document.getElementById("handin");
  if (!root || !window.Uppy || !window.fetch || !window.DataView) return;
  var U = window.Uppy;
  var rules = JSON.parse(document.getElementById("handin-rules").textContent);
  var mode = root.dataset.mode;
  var track = root.dataset.trackTitle || "";
  var chunkBytes = parseInt(root.dataset.chunkBytes, 10) || 64 * 1024 * 1024;
  var maxFile = parseInt(root.dataset.maxFileBytes, 10) || null;
  var KINDS = [["stem", "Stem"], ["rough_mix", "Rough mix"], ["reference", "Reference"]];

  function csrfToken() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
    } catch (e) {
      return "";
    }
  }

  // --- names: the same rules as analysis/intake/naming.py ----------------------------------
  function rx(source) { return new RegExp(source, "i"); }
  var R = {
    split: rx(rules.split), generic: rx(rules.generic), copy: rx(rules.copy),
    rough: rx(rules.rough_mix), ref: rx(rules.reference),
    instruments: rules.instruments.map(function (p) { return [p[0], rx(p[1])]; })
  };

  function suffixOf(name) {
    var dot = name.lastIndexOf(".");
    return dot > 0 ? name.slice(dot).toLowerCase() : "";
  }
  function baseName(name) {
    var leaf = name.replace(/\\/g, "/").split("/").pop();
    var suffix = suffixOf(leaf);
    if (rules.audio_suffixes.indexOf(suffix) >= 0) leaf = leaf.slice(0, -suffix.length);
    return leaf.trim();
  }
  function suggestKind(name) {
    var text = baseName(name).replace(/[_.]+/g, " ");
    if (R.ref.test(text)) return "reference";
    if (R.rough.test(text)) return "rough_mix";
    return "stem";
  }
  function parseStem(name) {
    var stem = baseName(name);
    if (R.copy.test(stem)) return null;
    var m = R.split.exec(stem.replace(/_-_/g, " - "));
    if (!m) return null;
    var instrument = m.groups.instrument.trim(), trackName = m.groups.track.trim();
    if (!/[^\W\d_]/.test(instrument) || R.generic.test(instrument) || !trackName) return null;
    return { instrument: instrument, track: trackName };
  }
  function guessInstrument(name) {
    var text = baseName(name).replace(/[_.]+/g, " ").replace(/([a-z])(\d)/gi, "$1 $2");
    for (var i = 0; i < R.instruments.length; i++) {
      var m = R.instruments[i][1].exec(text);
      if (m) {
        var number = /^\s*(\d{1,2})\b/.exec(text.slice(m.index + m[0].length, m.index + m[0].length + 4));
        return number ? R.instruments[i][0] + " " + number[1] : R.instruments[i][0];
      }
    }
    return null;
  }
  function suggestName(name) {
    var parsed = parseStem(name);
    var instrument = (parsed && parsed.instrument) || guessInstrument(name) || "Instrument";
    var ext = rules.audio_suffixes.indexOf(suffixOf(name)) >= 0 ? suffixOf(name) : ".wav";
    return instrument + " - " + (track.trim() || (parsed && parsed.track) || "Track Name") + ext;
  }

  // --- headers: WAV/RF64, AIFF/AIFC, FLAC, read from the first bytes ------------------------
  function bytesAt(file, start, length) {
    return file.slice(start, start + length).arrayBuffer().then(function (b) { return new DataView(b); });
  }
  function tag(view, at) {
    var s = "";
    for (var i = 0; i < 4 && at + i < view.byteLength; i++) s += String.fromCharCode(view.getUint8(at + i));
    return s;
  }
  function extended80(view, at) {
    var exponent = view.getUint16(at) & 0x7fff;
    var mantissa = view.getUint32(at + 2) * 4294967296 + view.getUint32(at + 6);
    return exponent === 0 ? 0 : mantissa * Math.pow(2, exponent - 16383 - 63);
  }
  function walk(file, at, little, found, hops) {
    // Chunk by chunk (id, size), without reading the audio itself.
    if (hops > 64 || at + 8 > file.size) return Promise.resolve(found);
    return bytesAt(file, at, 40).then(function (v) {
      if (v.byteLength < 8) return found;
      var id = tag(v, 0), size = v.getUint32(4, little);
      if (id === "ds64" && v.byteLength >= 28) {
        found.dataSize64 = v.getUint32(16, true) + v.getUint32(20, true) * 4294967296;
      } else if (id === "fmt " && v.byteLength >= 24) {
        found.channels = v.getUint16(10, true);
        found.rate = v.getUint32(12, true);
        found.blockAlign = v.getUint16(20, true);
        found.bits = v.getUint16(22, true);
        found.isFloat = v.getUint16(8, true) === 3;
      } else if (id === "COMM" && v.byteLength >= 26) {
        found.channels = v.getUint16(8);
        found.frames = v.getUint32(10);
        found.bits = v.getUint16(14);
        found.rate = extended80(v, 16);
      } else if (id === "data" || id === "SSND") {
        if (id === "data") {
          var dataSize = size === 0xffffffff && found.dataSize64 ? found.dataSize64 : size;
          if (found.blockAlign) found.frames = Math.floor(dataSize / found.blockAlign);
        }
        return found;
      }
      return walk(file, at + 8 + size + (size % 2), little, found, hops + 1);
    });
  }
  function readHeader(file) {
    return bytesAt(file, 0, 42).then(function (v) {
      var magic = tag(v, 0), form = tag(v, 8);
      if ((magic === "RIFF" || magic === "RF64" || magic === "BW64") && form === "WAVE") {
        return walk(file, 12, true, { type: magic === "RIFF" ? "WAV" : "RF64" }, 0);
      }
      if (magic === "FORM" && (form === "AIFF" || form === "AIFC")) {
        return walk(file, 12, false, { type: "AIFF" }, 0);
      }
      if (magic === "fLaC" && v.byteLength >= 26) {
        var b = function (i) { return v.getUint8(18 + i); };
        return {
          type: "FLAC",
          rate: (b(0) << 12) | (b(1) << 4) | (b(2) >> 4),
          channels: ((b(2) >> 1) & 7) + 1,
          bits: (((b(2) & 1) << 4) | (b(3) >> 4)) + 1,
          frames: (b(3) & 0x0f) * 4294967296 + (((b(4) << 24) | (b(5) << 16) | (b(6) << 8) | b(7)) >>> 0)
        };
      }
      return { type: null };
    }).catch(function () { return { type: null }; });
  }

  function clock(seconds) {
    var m = Math.floor(seconds / 60), s = seconds - m * 60;
    return m + ":" + (s < 10 ? "0" : "") + s.toFixed(1);
  }
  function megabytes(n) { return (n / 1048576).toFixed(n < 10485760 ? 1 : 0) + " MB"; }

  // --- the rows ---------------------------------------------------------------------------
  var list = root.querySelector(".handin-files");
  var startButton = root.querySelector(".handin-start");
  var summary = root.querySelector(".handin-summary");
  var rows = {};
  var headers = {};

  function el(name, attrs, text) {
    var node = document.createElement(name);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text) node.textContent = text;
    return node;
  }

  function addRow(file) {
    var li = el("li", { "class": "handin-file", "data-file": file.id });
    var line = el("div", { "class": "row" });
    line.appendChild(el("span", { "class": "name" }, file.name));
    var label = el("label", {}, "Kind ");
    var select = el("select", { "class": "kind", "aria-label": "Kind of " + file.name });
    KINDS.forEach(function (k) {
      var option = el("option", { value: k[0] }, k[1]);
      if (k[0] === file.meta.kind) option.selected = true;
      select.appendChild(option);
    });
    select.addEventListener("change", function () {
      uppy.setFileMeta(file.id, { kind: select.value });
      recheck();
    });
    label.appendChild(select);
    line.appendChild(label);
    var remove = el("button", { type: "button", "class": "remove" }, "Remove");
    remove.addEventListener("click", function () { uppy.removeFile(file.id); });
    line.appendChild(remove);
    li.appendChild(line);
    li.appendChild(el("div", { "class": "facts muted" }, megabytes(file.size) + " · reading the header…"));
    li.appendChild(el("ul", { "class": "checks" }));
    var bar = el("progress", { max: "100", value: "0" });
    bar.hidden = true;
    li.appendChild(bar);
    li.appendChild(el("div", { "class": "state muted" }));
    list.appendChild(li);
    rows[file.id] = li;
  }

  function state(id, text, cls) {
    var li = rows[id];
    if (!li) return;
    li.querySelector(".state").textContent = text;
    li.classList.remove("is-done", "is-error");
    if (cls) li.classList.add(cls);
  }

  function recheck() {
    // Per file and across the stems: the cheap versions of intake's own rules.
    var stems = uppy.getFiles().filter(function (f) { return f.meta.kind === "stem" && headers[f.id] && headers[f.id].type; });
    var rates = {}, common = null;
    stems.forEach(function (f) { var r = headers[f.id].rate; rates[r] = (rates[r] || 0) + 1; });
    Object.keys(rates).forEach(function (r) { if (common === null || rates[r] > rates[common]) common = r; });
    var lengths = stems.map(function (f) { return headers[f.id].frames; }).filter(Boolean);
    var longest = lengths.length ? Math.max.apply(null, lengths) : 0;
    uppy.getFiles().forEach(function (f) {
      var li = rows[f.id], h = headers[f.id];
      if (!li || !h) return;
      var checks = [];
      if (!h.type) {
        checks.push("This is not a WAV, AIFF or FLAC file: intake will report it as unreadable.");
      } else {
        if (f.meta.kind === "stem" && !parseStem(f.name)) {
          checks.push("Stems are named “Instrument - Track Name”: rename it, e.g. “" + suggestName(f.name) + "”.");
        }
        if (f.meta.kind === "stem" && common !== null && String(h.rate) !== common) {
          checks.push("Its sample rate (" + h.rate + " Hz) differs from the other stems (" + common + " Hz).");
        }
        if (f.meta.kind === "stem" && h.frames && longest && h.frames !== longest) {
          var ms = ((longest - h.frames) / h.rate) * 1000;
          checks.push("It is " + (longest - h.frames) + " samples (" + ms.toFixed(0) + " ms) shorter than the longest stem: export every stem from the same start to the same end.");
        }
      }
      var ul = li.querySelector(".checks");
      ul.textContent = "";
      checks.forEach(function (c) { ul.appendChild(el("li", {}, c)); });
    });
  }

  function describe(h, file) {
    if (!h.type) return megabytes(file.size) + " · not recognised as audio";
    var bits = h.isFloat ? h.bits + "-bit float" : h.bits + "-bit";
    var parts = [megabytes(file.size), h.type, (h.rate / 1000) + " kHz", bits, h.channels === 1 ? "mono" : h.channels === 2 ? "stereo" : h.channels + " channels"];
    if (h.frames && h.rate) parts.push(clock(h.frames / h.rate));
    return parts.join(" · ");
  }

  // --- Uppy -------------------------------------------------------------------------------
  var uppy = new U.Uppy({ autoProceed: false, restrictions: { maxFileSize: maxFile } });
  uppy.use(U.DropTarget, { target: root.querySelector(".dropzone") });

  if (mode === "s3") {
    var start = root.dataset.s3Start;
    var byKey = {};
    var postJSON = function (url, body) {
      return fetch(url, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
        body: JSON.stringify(body)
      }).then(function (r) {
        return r.json().then(function (data) {
          if (!r.ok) throw new Error(data.error || "The upload was refused.");
          return data;
        });
      });
    };
    uppy.addPreProcessor(function (ids) {
      return Promise.all(ids.map(function (id) {
        var f = uppy.getFile(id);
        return postJSON(start, { name: f.name, size: f.size, kind: f.meta.kind, fingerprint: f.meta.fingerprint })
          .then(function (r) {
            byKey[r.key] = r.id;
            uppy.setFileMeta(id, { key: r.key, record: r.id });
            // The server started (or found again) the multipart upload: S3 lists the parts it
            // holds and only the missing ones are sent.
            uppy.setFileState(id, { s3Multipart: { key: r.key, uploadId: r.uploadId } });
          })
          .catch(function (err) { state(id, err.message, "is-error"); uppy.removeFile(id); });
      }));
    });
    uppy.use(U.AwsS3, {
      shouldUseMultipart: true,
      limit: 2,
      getChunkSize: function () { return Math.max(chunkBytes, 5 * 1024 * 1024); },
      generateObjectKey: function (f) { return f.meta.key; },
      signRequest: function (req) {
        return postJSON(start + byKey[req.key] + "/sign/", {
          method: req.method, partNumber: req.partNumber, uploadId: req.uploadId
        });
      }
    });
    uppy.on("upload-success", function (file) {
      state(file.id, "Checking the stored file…");
      postJSON(start + file.meta.record + "/join/", {})
        .then(function () { state(file.id, "Stored and added to the job.", "is-done"); refreshFiles(); })
        .catch(function (err) { state(file.id, err.message, "is-error"); });
    });
  } else {
    uppy.use(U.Tus, {
      endpoint: root.dataset.tusEndpoint,
      headers: function () { return { "X-CSRFToken": csrfToken() }; },
      chunkSize: chunkBytes,
      retryDelays: [0, 1000, 3000, 5000, 10000, 20000, 30000],
      removeFingerprintOnSuccess: true,
      allowedMetaFields: ["name", "type", "kind", "fingerprint"]
    });
    uppy.on("upload-success", function (file) {
      state(file.id, "Stored and added to the job.", "is-done");
    });
  }

  uppy.on("file-added", function (file) {
    uppy.setFileMeta(file.id, {
      kind: suggestKind(file.name),
      fingerprint: [file.name, file.size, file.data && file.data.lastModified].join("|")
    });
    addRow(uppy.getFile(file.id));
    readHeader(file.data).then(function (h) {
      headers[file.id] = h;
      var li = rows[file.id];
      if (li) li.querySelector(".facts").textContent = describe(h, file);
      recheck();
    });
    startButton.hidden = false;
    startButton.disabled = false;
    startButton.textContent = "Upload " + uppy.getFiles().length + (uppy.getFiles().length === 1 ? " file" : " files");
  });
  uppy.on("file-removed", function (file) {
    if (rows[file.id] && !rows[file.id].classList.contains("is-error")) rows[file.id].remove();
    delete rows[file.id];
    delete headers[file.id];
    recheck();
    if (!uppy.getFiles().length) startButton.hidden = true;
  });
  uppy.on("restriction-failed", function (file, error) {
    summary.textContent = error.message;
  });
  uppy.on("upload-progress", function (file, progress) {
    var li = rows[file.id];
    if (!li || !progress.bytesTotal) return;
    var bar = li.querySelector("progress");
    bar.hidden = false;
    bar.value = Math.floor((progress.bytesUploaded / progress.bytesTotal) * 100);
    state(file.id, megabytes(progress.bytesUploaded) + " of " + megabytes(progress.bytesTotal));
  });
  var restarted = {};
  uppy.on("upload-error", function (file, error, response) {
    var status = response && response.status;
    var text = (response && response.body && response.body.message) || "";
    var original = error && error.originalResponse;
    if (original && original.getStatus) {
      status = original.getStatus();
      text = original.getBody() || text;
    }
    if (status === 460 && !restarted[file.id]) {
      // The stored bytes did not match: the server dropped them; send the file again.
      restarted[file.id] = true;
      state(file.id, "The stored copy did not match; sending the file again…");
      setTimeout(function () { uppy.retryUpload(file.id); }, 500);
      return;
    }
    state(file.id, text || "The upload failed: " + (error && error.message), "is-error");
  });
  uppy.on("is-offline", function () {
    summary.textContent = "The connection dropped: the uploads wait and resume from the last stored byte.";
  });
  uppy.on("is-online", function () { summary.textContent = ""; });
  uppy.on("upload", function () {
    root.querySelectorAll("select.kind, button.remove").forEach(function (n) { n.disabled = true; });
  });
  uppy.on("complete", function (result) {
    startButton.hidden = uppy.getFiles().every(function (f) { return f.progress.uploadComplete; });
    var done = result.successful ? result.successful.length : 0;
    var failed = result.failed ? result.failed.length : 0;
    summary.textContent = done + (done === 1 ? " file" : " files") + " added" + (failed ? ", " + failed + " failed" : "") + ".";
    if (mode !== "s3") refreshFiles();
  });

  startButton.addEventListener("click", function () {
    startButton.disabled = true;
    summary.textContent = "";
    uppy.upload();
  });
  root.querySelector(".handin-input").addEventListener("change", function (event) {
    Array.prototype.forEach.call(event.target.files, function (f) {
      try {
        uppy.addFile({ source: "input", name: f.name, type: f.type, data: f });
      } catch (err) {
        summary.textContent = err.message;
      }
    });
    event.target.value = "";
  });

  // The file list above comes from the server: after uploads it is read again from the page,
  // keeping this hand-in (and its Uppy) in place.
  function refreshFiles() {
    fetch(root.dataset.page, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html) return;
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("files");
        var live = document.getElementById("files");
        if (!fresh || !live) return;
        var slot = fresh.querySelector("#handin");
        fresh.querySelectorAll("script").forEach(function (n) { n.remove(); });
        var plain = fresh.querySelector("#upload-form");
        if (plain) plain.hidden = true;
        if (slot) slot.replaceWith(root);
        live.replaceWith(fresh);
      });
  }

  var plain = document.getElementById("upload-form");
  if (plain) plain.hidden = true;
  root.hidden = false;
})();
