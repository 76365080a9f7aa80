// stepvox realtime page: microphone (AudioWorklet, 16 kHz pcm16) -> /v1/realtime websocket;
// reply audio played as it streams; live transcript; per-turn latency.
"use strict";
const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const token = params.get("token");
let ws = null, micCtx = null, outCtx = null, outGain = null, playAt = 0, sources = [];
let botTalking = false;
// The reply being played: where its audio started on outCtx's clock and how much is queued,
// so a barge-in can tell the server how far playback really got (conversation.item.truncate).
let playing = null;  // {responseId, itemId, startAt, queued}
let turn = null, prevTurn = null;  // {el, speechStoppedAt, firstAudioAt}
// Counters for tests and for a look in the console.
window.stepvoxStats = { audioDeltas: 0, audioSeconds: 0, responses: 0, errors: 0, truncates: 0 };

function wsUrl() {
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  return `${proto}//${location.host}/v1/realtime` + (token ? `?token=${encodeURIComponent(token)}` : "");
}

function send(type, fields = {}) {
  if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type, ...fields }));
}

function toBase64(buffer) {
  const bytes = new Uint8Array(buffer);
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

function playPcm16(b64, rate, responseId, itemId) {
  const bin = atob(b64), n = bin.length >> 1;
  const view = new DataView(new ArrayBuffer(bin.length));
  for (let i = 0; i < bin.length; i++) view.setUint8(i, bin.charCodeAt(i));
  const buffer = outCtx.createBuffer(1, n, rate), data = buffer.getChannelData(0);
  for (let i = 0; i < n; i++) data[i] = view.getInt16(2 * i, true) / 32768;
  const src = outCtx.createBufferSource();
  src.buffer = buffer;
  src.connect(outGain);
  playAt = Math.max(playAt, outCtx.currentTime + 0.02);
  if (!playing || playing.responseId !== responseId) {
    playing = { responseId, itemId: itemId || responseId + "_output", startAt: playAt, queued: 0 };
  }
  playing.queued += buffer.duration;
  src.start(playAt);
  playAt += buffer.duration;
  sources.push(src);
  src.onended = () => { sources = sources.filter((s) => s !== src); };
}

function stopPlayback(responseId) {  // barge-in: drop everything queued
  if (playing && playing.responseId === responseId) {
    // Say what was actually heard: the server keeps only those words in the history.
    const heard = Math.min(Math.max(outCtx.currentTime - playing.startAt, 0), playing.queued);
    send("conversation.item.truncate", { item_id: playing.itemId, content_index: 0,
                                         audio_end_ms: Math.round(heard * 1000) });
    window.stepvoxStats.truncates += 1;
  }
  playing = null;
  for (const s of sources) { try { s.stop(); } catch (_) {} }
  sources = [];
  playAt = 0;
  duck(false);
}

// The server waits for ~600 ms of speech before calling it a barge-in (so "uh-huh" does not
// stop the bot); meanwhile the reply is ducked at once, and restored if it was a backchannel.
function duck(on) {
  if (outGain) outGain.gain.setTargetAtTime(on ? 0.25 : 1.0, outCtx.currentTime, 0.03);
}

let lastEstimate = null;  // the latest turn-end estimate of the utterance in progress

function newTurn() {
  const el = document.createElement("div");
  el.className = "turn";
  el.innerHTML = '<div class="user">…</div><div class="bot"></div><div class="lat"></div>';
  $("log").prepend(el);
  prevTurn = turn;
  turn = { el, speechStoppedAt: performance.now(), firstAudioAt: null, estimate: lastEstimate };
  lastEstimate = null;
  return turn;
}

function onEvent(e) {
  switch (e.type) {
    case "session.created":
      send("session.update", { session: { input_sample_rate: micCtx.sampleRate, input_audio_format: "pcm16" } });
      break;
    case "conversation.state.changed":
      botTalking = e.state === "bot_replying";
      if (!botTalking) duck(false);
      $("state").textContent = e.state.replace("_", " ");
      $("state").className = e.state;
      break;
    case "input_audio_buffer.speech_started": if (botTalking) duck(true); break;
    case "input_audio_buffer.backchannel":  // not a turn: the reply goes on in its own row
      duck(false);
      if (turn && prevTurn) { turn.el.remove(); turn = prevTurn; }
      break;
    case "input_audio_buffer.turn_end_estimate":  // semantic_vad: shown with the next turn
      lastEstimate = `${e.verdict} (${e.probability.toFixed(2)}) -> ends after ${e.end_of_turn_ms} ms`;
      break;
    case "input_audio_buffer.speech_resumed": lastEstimate = null; break;
    case "input_audio_buffer.speech_stopped": newTurn(); break;
    case "response.created": if (!turn) newTurn(); break;
    case "conversation.item.input_audio_transcription.completed":
      if (turn) turn.el.querySelector(".user").textContent = "You: " + e.transcript;
      break;
    case "response.text.delta":
      if (turn) {
        const bot = turn.el.querySelector(".bot");
        bot.textContent = (bot.textContent || "Bot: ") + e.delta;
      }
      break;
    case "response.audio.delta":
      if (turn && turn.firstAudioAt === null) turn.firstAudioAt = performance.now();
      playPcm16(e.delta, e.sample_rate, e.response_id, e.item_id);
      window.stepvoxStats.audioDeltas += 1;
      window.stepvoxStats.audioSeconds += (e.delta.length * 3 / 4 / 2) / e.sample_rate;
      break;
    case "output_audio_buffer.cleared": stopPlayback(e.response_id); break;
    case "conversation.item.truncated":
    case "response.done": {
      const r = e.response || {};
      if (turn && (r.status === "cancelled" || e.type === "conversation.item.truncated")) {
        const cut = document.createElement("div");
        cut.className = "cut";
        cut.textContent = "interrupted; heard: " + (r.played_text ?? e.played_text ?? "");
        turn.el.append(cut);
      }
      if (turn && r.stages_ms) {  // ms from the end of the user's speech, measured at the server
        const t = r.stages_ms, client = turn.firstAudioAt ? Math.round(turn.firstAudioAt - turn.speechStoppedAt) : "–";
        turn.el.querySelector(".lat").textContent =
          `turn end detected ${t.end_of_speech_detected ?? "–"} ms · transcript ${t.final_transcript ?? "–"} ms · ` +
          `first token ${t.llm_first_token ?? "–"} ms · first audio sent ${t.first_audio_sent ?? "–"} ms` +
          (r.speculation === "committed" ? ` (speculation saved ~${r.speculation_saved_ms} ms)` : "") +
          ` · at this page ${client} ms after speech stopped` +
          (turn.estimate ? ` · turn end: ${turn.estimate}` : "");
      }
      if (r.error) $("error").textContent = r.error;
      if (e.type === "response.done") window.stepvoxStats.responses += 1;
      break;
    }
    case "error":
      window.stepvoxStats.errors += 1;
      $("error").textContent = `${e.error.code}: ${e.error.message}`;
      break;
  }
}

async function start() {
  $("start").disabled = true;
  const stream = await navigator.mediaDevices.getUserMedia({
    audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true, autoGainControl: true },
  });
  try { micCtx = new AudioContext({ sampleRate: 16000 }); }
  catch (_) { micCtx = new AudioContext(); }  // the server resamples any rate
  outCtx = new AudioContext();
  outGain = outCtx.createGain();
  outGain.connect(outCtx.destination);
  await micCtx.audioWorklet.addModule("/static/mic-worklet.js");
  const node = new AudioWorkletNode(micCtx, "mic-processor");
  micCtx.createMediaStreamSource(stream).connect(node);
  ws = new WebSocket(wsUrl());
  ws.onmessage = (m) => onEvent(JSON.parse(m.data));
  ws.onclose = (c) => { $("state").textContent = "disconnected"; $("state").className = ""; if (c.reason) $("error").textContent = c.reason; };
  node.port.onmessage = (m) => send("input_audio_buffer.append", { audio: toBase64(m.data) });
  $("persona").onchange = () => send("session.update", { session: { persona: $("persona").value || null } });
}

fetch("/v1/personas").then((r) => r.json()).then((p) => {
  for (const name of p.personas) {
    const o = document.createElement("option");
    o.value = o.textContent = name;
    $("persona").append(o);
  }
});
$("start").onclick = () => start().catch((err) => { $("error").textContent = String(err); $("start").disabled = false; });
