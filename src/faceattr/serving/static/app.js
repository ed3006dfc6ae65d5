// faceattr web page: upload a photo, POST it to /v1/analyze, draw boxes + landmarks, list bars.
"use strict";

const $ = (id) => document.getElementById(id);
const POINT_COLORS = ["#22c55e", "#22c55e", "#eab308", "#ef4444", "#ef4444"];
let current = null;  // {bitmap, result}

function setState(state, message) {
  document.body.dataset.state = state;
  $("status").textContent = message || "";
}

function showError(message) {
  const box = $("error");
  box.textContent = message;
  box.hidden = false;
  setState("error");
}

function clearError() {
  $("error").hidden = true;
  $("error").textContent = "";
}

async function loadBitmap(file) {
  try {
    return await createImageBitmap(file, { imageOrientation: "from-image" });
  } catch (err) {
    return null;  // e.g. TIFF/CMYK: the server may still read it; results are listed anyway
  }
}

function draw(bitmap, result, selected) {
  const canvas = $("canvas");
  const ctx = canvas.getContext("2d");
  const { width, height } = result.image;
  canvas.width = width;
  canvas.height = height;
  if (bitmap) {
    ctx.drawImage(bitmap, 0, 0, width, height);
  } else {
    ctx.fillStyle = "#e2e8f0";
    ctx.fillRect(0, 0, width, height);
  }
  const line = Math.max(2, Math.round(Math.min(width, height) / 150));
  let points = 0;
  let outside = 0;
  result.faces.forEach((face, i) => {
    const [x0, y0, x1, y1] = face.box;
    ctx.lineWidth = line;
    ctx.strokeStyle = i === selected ? "#2563eb" : "#94a3b8";
    ctx.strokeRect(x0, y0, x1 - x0, y1 - y0);
    const size = Math.max(12, line * 6);
    const label = `${i + 1} ${face.gender.label}`;
    ctx.font = `${size}px system-ui, sans-serif`;
    const tx = x0 + line;
    const ty = Math.max(y0 + line, 0);
    ctx.fillStyle = ctx.strokeStyle;
    ctx.fillRect(tx, ty, ctx.measureText(label).width + size * 0.6, size * 1.3);
    ctx.fillStyle = "#fff";
    ctx.fillText(label, tx + size * 0.3, ty + size);
    face.landmarks.forEach(([x, y], k) => {
      ctx.beginPath();
      ctx.arc(x, y, line * 1.6, 0, 2 * Math.PI);
      ctx.fillStyle = POINT_COLORS[k % POINT_COLORS.length];
      ctx.fill();
      ctx.lineWidth = 1;
      ctx.strokeStyle = "#fff";
      ctx.stroke();
      points += 1;
      if (x < 0 || y < 0 || x >= width || y >= height) outside += 1;
    });
  });
  canvas.dataset.boxes = String(result.faces.length);
  canvas.dataset.landmarks = String(points);
  canvas.dataset.points = JSON.stringify(result.faces.map((face) => face.landmarks));
  canvas.dataset.outside = String(outside);
  $("outside").textContent = outside ? `${outside} of ${points} landmarks fall outside the ` +
    "photo (not drawn)." : "";
}

function listAttributes(face) {
  const list = $("attributes");
  list.replaceChildren();
  const sorted = Object.entries(face ? face.attributes : {}).sort((a, b) => b[1] - a[1]);
  for (const [name, p] of sorted) {
    const item = document.createElement("li");
    item.className = p >= 0.5 ? "bar" : "bar low";
    item.dataset.name = name;
    item.dataset.p = String(p);
    const label = document.createElement("span");
    label.textContent = name.replaceAll("_", " ");
    const track = document.createElement("span");
    track.className = "track";
    const fill = document.createElement("span");
    fill.className = "fill";
    fill.style.width = `${(p * 100).toFixed(1)}%`;
    track.append(fill);
    const value = document.createElement("span");
    value.className = "value";
    value.textContent = `${Math.round(p * 100)}%`;
    item.append(label, track, value);
    list.append(item);
  }
  list.dataset.count = String(sorted.length);
}

function select(index) {
  const { bitmap, result } = current;
  draw(bitmap, result, index);
  document.querySelectorAll(".face").forEach((el, i) => {
    el.classList.toggle("selected", i === index);
  });
  $("face-index").textContent = String(index + 1);
  listAttributes(result.faces[index]);
}

function render(bitmap, result) {
  current = { bitmap, result };
  const faces = $("faces");
  faces.replaceChildren();
  result.faces.forEach((face, i) => {
    const card = document.createElement("div");
    card.className = "face";
    card.id = `face-${i}`;
    const pMale = face.gender.p_male;
    const sure = pMale === null ? "" :
      ` (${Math.round(100 * (face.gender.label === "male" ? pMale : 1 - pMale))}%)`;
    card.append(`Face ${i + 1}: `);
    const gender = document.createElement("strong");
    gender.className = "gender";
    gender.textContent = face.gender.label + sure;
    card.append(gender);
    card.addEventListener("click", () => select(i));
    faces.append(card);
  });
  $("meta").textContent = `${result.image.width}×${result.image.height} px · ` +
    `${result.faces.length} face(s) · model ${result.model} · ${result.ms} ms` +
    (bitmap ? "" : " · this browser cannot display the file itself");
  $("result").hidden = false;
  if (result.faces.length) {
    select(0);
  } else {
    draw(bitmap, result, -1);
    listAttributes(null);
  }
  setState("done", result.faces.length ? "" : "No face found in this photo.");
}

async function analyze(file) {
  clearError();
  setState("loading", `Analysing ${file.name}…`);
  const form = new FormData();
  form.append("image", file, file.name);
  let response;
  try {
    response = await fetch("/v1/analyze", { method: "POST", body: form });
  } catch (err) {
    showError(`Could not reach the server: ${err.message}`);
    return;
  }
  let body = null;
  try {
    body = await response.json();
  } catch (err) {
    body = null;
  }
  if (!response.ok) {
    const detail = body && body.detail ? body.detail : response.statusText;
    showError(`Error ${response.status}: ${detail}`);
    return;
  }
  render(await loadBitmap(file), body);
}

function setup() {
  const drop = $("drop");
  $("file").addEventListener("change", (event) => {
    const file = event.target.files[0];
    if (file) analyze(file);
    event.target.value = "";
  });
  drop.addEventListener("dragover", (event) => {
    event.preventDefault();
    drop.classList.add("over");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    const file = event.dataTransfer.files[0];
    if (file) analyze(file);
  });
  drop.addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === " ") $("file").click();
  });
  fetch("/health").then((r) => r.json()).then((h) => {
    $("service").textContent = h.model_loaded
      ? `model ${h.model}${h.detect ? "" : " (aligned crops: detection off)"}`
      : "no model loaded";
  }).catch(() => { $("service").textContent = "service unreachable"; });
}

setup();
