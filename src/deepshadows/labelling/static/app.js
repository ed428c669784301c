"use strict";
// The labelling page: a grid of the next cutouts, keys to label them, a chart and a retrain button.
const state = { queue: [], selected: 0, data: null, polling: null };
const $ = (id) => document.getElementById(id);
const imageUrl = (id, cam) => "/api/image?id=" + encodeURIComponent(id) + (cam ? "&gradcam=1" : "");

async function call(method, url, payload) {
  const options = { method, headers: {} };
  if (payload !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(payload);
  }
  const response = await fetch(url, options);
  const data = await response.json();
  if (!response.ok) { throw new Error(data.error || response.statusText); }
  return data;
}

function render(data) {
  state.data = data;
  state.queue = data.queue;
  state.selected = Math.min(state.selected, Math.max(0, state.queue.length - 1));
  $("counter").textContent = data.n_labelled + " labelled / " + data.n_remaining + " remaining" +
    (data.n_skipped ? " (" + data.n_skipped + " skipped)" : "");
  const grid = $("grid");
  grid.replaceChildren();
  state.queue.slice(0, 24).forEach((item, k) => {
    const tile = document.createElement("div");
    tile.className = "tile" + (k === state.selected ? " selected" : "");
    tile.dataset.id = item.id;
    const img = document.createElement("img");
    img.src = imageUrl(item.id, false);
    img.alt = item.id;
    const caption = document.createElement("div");
    caption.textContent = "p = " + item.p.toFixed(2);
    tile.append(img, caption);
    tile.addEventListener("click", () => { state.selected = k; render(state.data); openDetail(); });
    grid.append(tile);
  });
  const recent = $("recent");
  recent.replaceChildren(...data.recent.slice().reverse().map((r) => {
    const li = document.createElement("li");
    li.textContent = r.id + ": " + r.label;
    return li;
  }));
  drawChart(data.curve);
  showRetrain(data.retrain);
}

function drawChart(points) {
  const svg = $("chart");
  const w = 320, h = 200, pad = 30;
  const n = Math.max(10, points.length);
  const x = (v) => pad + (w - pad - 8) * v / n;
  const y = (v) => h - pad - (h - pad - 8) * v;
  const line = (key, colour) => points.length ? '<polyline fill="none" stroke="' + colour +
    '" stroke-width="2" points="' + points.map((p) => x(p.n) + "," + y(p[key])).join(" ") + '"/>' : "";
  svg.innerHTML = '<rect x="0" y="0" width="' + w + '" height="' + h + '" fill="#181818"/>' +
    '<line x1="' + pad + '" y1="' + y(0) + '" x2="' + (w - 8) + '" y2="' + y(0) + '" stroke="#666"/>' +
    '<line x1="' + pad + '" y1="' + y(0) + '" x2="' + pad + '" y2="' + y(1) + '" stroke="#666"/>' +
    '<text x="2" y="' + (y(1) + 4) + '" fill="#aaa" font-size="10">1.0</text>' +
    '<text x="2" y="' + (y(0.5) + 4) + '" fill="#aaa" font-size="10">0.5</text>' +
    '<text x="' + (w / 2) + '" y="' + (h - 8) + '" fill="#aaa" font-size="10">labels (' + points.length + ')</text>' +
    line("expected", "#ffb74d") + line("agreement", "#4fc3f7");
}

function showRetrain(status) {
  const running = status && status.state === "running";
  $("retrain").disabled = running;
  $("progress").hidden = !running;
  if (running) { $("progress").max = status.epochs || 1; $("progress").value = status.epoch || 0; }
  $("retrain-status").textContent = status && status.message ? status.state + ": " + status.message : "";
  if (running && !state.polling) {
    state.polling = setInterval(async () => {
      const s = await call("GET", "/api/retrain");
      showRetrain(s);
      if (s.state !== "running") {
        clearInterval(state.polling);
        state.polling = null;
        state.selected = 0;
        render(await call("GET", "/api/state"));
      }
    }, 1000);
  }
}

async function openDetail() {
  const item = state.queue[state.selected];
  if (!item) { return; }
  const info = await call("GET", "/api/object?id=" + encodeURIComponent(item.id));
  $("detail-image").src = imageUrl(item.id, false);
  $("detail-cam").src = imageUrl(item.id, true);
  let text = info.id + " · p(LSBG) = " + info.p.toFixed(3) + " · acquisition score " + info.score.toFixed(3);
  if (info.ra !== undefined) { text += " · ra " + info.ra.toFixed(5) + ", dec " + info.dec.toFixed(5); }
  $("detail-text").textContent = text;
  const table = $("detail-features");
  table.replaceChildren(...Object.entries(info.features || {}).map(([k, v]) => {
    const tr = document.createElement("tr");
    const a = document.createElement("td"); a.textContent = k;
    const b = document.createElement("td"); b.textContent = v === null ? "—" : v.toFixed(3);
    tr.append(a, b);
    return tr;
  }));
  if (!$("detail").open) { $("detail").showModal(); }
}

async function label(value) {
  const item = state.queue[state.selected];
  if (!item) { return; }
  render(await call("POST", "/api/label", { id: item.id, label: value }));
  if ($("detail").open) { $("detail").close(); }
}

async function undo() {
  try { render(await call("POST", "/api/undo", {})); } catch (err) { $("retrain-status").textContent = err.message; }
}

function move(step) {
  const last = Math.min(state.queue.length, 24) - 1;
  state.selected = Math.max(0, Math.min(last, state.selected + step));
  render(state.data);
}

document.addEventListener("keydown", (event) => {
  if (event.ctrlKey || event.metaKey || event.altKey) { return; }
  const actions = {
    l: () => label("lsbg"), a: () => label("artifact"), s: () => label("skip"), u: () => undo(),
    ArrowRight: () => move(1), ArrowLeft: () => move(-1), ArrowDown: () => move(6), ArrowUp: () => move(-6),
    Enter: () => openDetail(),
  };
  const action = actions[event.key];
  if (action) { event.preventDefault(); action(); }
});

$("retrain").addEventListener("click", async () => {
  try { showRetrain(await call("POST", "/api/retrain", {})); } catch (err) { $("retrain-status").textContent = err.message; }
});

call("GET", "/api/state").then(render);
