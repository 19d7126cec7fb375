// Waveform peaks as the server stores them (analysis/audio/peaks.py): a 28-byte header, the
// true-peak overs, then zlib over each channel's minima and maxima as byte-wise differences.
// Decoded into the two envelopes wavesurfer draws (highest above, lowest below), so the browser
// never decodes the audio itself to draw it.

const MAGIC = "HRPK";
const LEVELS = 127;

export function fmtTime(seconds) {
  const millis = Math.max(0, Math.round(seconds * 1000));
  const minutes = Math.floor(millis / 60000);
  const rest = millis % 60000;
  const secs = String(Math.floor(rest / 1000)).padStart(2, "0");
  return `${minutes}:${secs}.${String(rest % 1000).padStart(3, "0")}`;
}

async function inflate(bytes) {
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

export async function decodePeaks(buffer) {
  const view = new DataView(buffer);
  const magic = String.fromCharCode(...new Uint8Array(buffer, 0, 4));
  if (magic !== MAGIC || view.getUint8(4) !== 1) throw new Error("not Headroom peaks data");
  const channels = view.getUint8(5);
  const overCount = view.getUint16(6, true);
  const rate = view.getUint32(8, true);
  const perBucket = view.getUint32(12, true);
  const frames = Number(view.getBigUint64(16, true));
  const buckets = view.getUint32(24, true);
  const overs = [];
  for (let i = 0; i < overCount; i++) {
    const at = 28 + i * 8;
    overs.push({ at: (view.getUint32(at, true) * perBucket) / rate, dbtp: view.getFloat32(at + 4, true) });
  }
  const raw = await inflate(new Uint8Array(buffer, 28 + overCount * 8));
  if (raw.length !== channels * 2 * buckets) throw new Error("peaks data does not match its header");
  const top = new Float32Array(buckets).fill(-1);
  const bottom = new Float32Array(buckets).fill(1);
  for (let c = 0; c < channels; c++) {
    for (let plane = 0; plane < 2; plane++) {
      const base = (c * 2 + plane) * buckets;
      let acc = 0;
      for (let i = 0; i < buckets; i++) {
        acc = (acc + raw[base + i]) & 255;
        const value = ((acc << 24) >> 24) / LEVELS; // back to a signed byte, then to full scale
        if (plane === 1) { if (value > top[i]) top[i] = value; }
        else if (value < bottom[i]) bottom[i] = value;
      }
    }
  }
  return { duration: frames / rate, top, bottom, overs, bucketsPerSecond: rate / perBucket };
}

export async function loadPeaks(url) {
  const response = await fetch(url, { credentials: "same-origin" });
  if (!response.ok) throw new Error(`no waveform yet (${response.status})`);
  return decodePeaks(await response.arrayBuffer());
}
