// "Analyse my camera": the browser's camera (getUserMedia) pushed to the daemon as JPEG frames over
// the WebSocket /v1/ingest/{id}, at the chosen width and rate. The daemon analyses them as it
// analyses any stream; the stream view draws its results over the frames this page sent, matched by
// frame number (the n-th message on the socket is frame n), so boxes sit on the frame they were
// found in. Frames leave this page for this daemon only; the stream goes when the socket closes.
import { ingestUrl } from './api.js';

// Frames kept to match results to: a few seconds at the chosen rate (analysis lags behind).
const KEEP_FRAMES = 40;
// JPEG quality: faces stay sharp at a third of the bytes of 0.95.
const QUALITY = 0.8;
// Frames in flight on the socket before a frame is skipped rather than queued.
const MAX_BUFFERED_FRAMES = 2;

export class CameraSession {
  constructor({ width, fps, onState, onNotice }) {
    this.width = width;
    this.fps = fps;
    this.onState = onState;
    this.onNotice = onNotice;
    this.id = `camera-${crypto.getRandomValues(new Uint32Array(1))[0].toString(36)}`;
    this.frames = new Map();
    this.sent = 0;
    this.stopped = false;
    this.lastBytes = 0;
  }

  /** Asks for the camera, then opens the socket; frames flow once it is open. Throws if the camera is refused. */
  async start() {
    this.media = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: this.width }, frameRate: { ideal: this.fps } }, audio: false });
    if (this.stopped) return this.release();
    this.video = document.createElement('video');
    this.video.muted = true;
    this.video.playsInline = true;
    this.video.srcObject = this.media;
    await this.video.play();
    this.canvas = document.createElement('canvas');
    this.ctx = this.canvas.getContext('2d');
    this.ws = new WebSocket(ingestUrl(this.id));
    this.ws.binaryType = 'arraybuffer';
    this.ws.onopen = () => {
      this.onState?.('open');
      this.timer = setInterval(() => void this.capture(), 1000 / this.fps);
    };
    this.ws.onmessage = (m) => {
      if (typeof m.data !== 'string') return;
      try {
        this.onNotice?.(JSON.parse(m.data));
      } catch {
        // Not JSON: ignored.
      }
    };
    this.ws.onclose = (e) => {
      this.onState?.('closed', e.code, e.reason);
      this.release();
    };
  }

  async capture() {
    const v = this.video;
    if (this.stopped || !v || v.videoWidth === 0 || this.ws.readyState !== WebSocket.OPEN) return;
    if (this.ws.bufferedAmount > MAX_BUFFERED_FRAMES * Math.max(this.lastBytes, 16_384)) return;
    const w = Math.min(this.width, v.videoWidth);
    const h = Math.round((v.videoHeight * w) / v.videoWidth / 2) * 2;
    if (this.canvas.width !== w || this.canvas.height !== h) Object.assign(this.canvas, { width: w, height: h });
    this.ctx.drawImage(v, 0, 0, w, h);
    const [blob, bitmap] = await Promise.all([new Promise((r) => this.canvas.toBlob(r, 'image/jpeg', QUALITY)), createImageBitmap(this.canvas)]);
    if (this.stopped || !blob || this.ws.readyState !== WebSocket.OPEN) return bitmap.close();
    const bytes = await blob.arrayBuffer();
    if (this.stopped || this.ws.readyState !== WebSocket.OPEN) return bitmap.close();
    this.lastBytes = bytes.byteLength;
    // The daemon numbers frames by their order on the socket: this is that number.
    const seq = this.sent++;
    this.ws.send(bytes);
    this.frames.set(seq, bitmap);
    for (const [k, b] of this.frames) {
      if (this.frames.size <= KEEP_FRAMES) break;
      b.close();
      this.frames.delete(k);
    }
  }

  /** The frame sent as `seq`, or the latest one when it is gone (or no result has come yet). */
  frame(seq) {
    const hit = seq !== undefined ? this.frames.get(seq) : undefined;
    if (hit) return { bitmap: hit, seq };
    const last = this.sent - 1;
    return { bitmap: this.frames.get(last) ?? null, seq: last };
  }

  stop() {
    this.stopped = true;
    this.ws?.close(1000, 'camera stopped');
    this.release();
  }

  release() {
    clearInterval(this.timer);
    for (const t of this.media?.getTracks() ?? []) t.stop();
    for (const b of this.frames.values()) b.close();
    this.frames.clear();
  }
}
