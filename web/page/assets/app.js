// latentzoo demo page: plain JavaScript over the server's HTTP API (serve/API.md).
//
// An image put in (upload, drop, drawing or test image) is encoded once with /encode; its
// latent then serves the reconstruction (/decode), the attribute edits (/edit) and, as an
// end of the interpolation, every frame (/decode of a point on the path: slerp for sphere
// latents, a straight line for Gaussian ones). Every canvas says in words what went wrong
// when the server refuses a request, and what to do when it is empty.
"use strict";

const $ = (id) => document.getElementById(id);

const state = {
  model: null, // the chosen model's summary from GET /models
  input: null, // {blob, z}: the current input and its latent
  ends: { a: null, b: null }, // interpolation ends, each {blob, z}
  generation: 0, // bumped when the model changes: answers for an older model are dropped
  examples: [], // the test images shown
};

// ---------------------------------------------------------------- HTTP

// call fetches path and throws an Error holding the server's own message for any answer
// other than 2xx.
async function call(path, opts = {}) {
  let resp;
  try {
    resp = await fetch(path, opts);
  } catch (e) {
    throw new Error(`cannot reach the server (${e.message})`);
  }
  if (!resp.ok) {
    let msg = `the server answered ${resp.status} ${resp.statusText}`;
    try {
      const body = await resp.json();
      if (body && body.error) msg = `${body.error} (HTTP ${resp.status})`;
    } catch (_) {
      // not JSON: keep the status line
    }
    throw new Error(msg);
  }
  return resp;
}

function postJSON(path, body) {
  return call(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
}

// modelPath is the path of a model under /models/, its slash kept.
function modelPath(name) {
  return name.split("/").map(encodeURIComponent).join("/");
}

// encode returns the latent of an image blob.
async function encode(blob) {
  const form = new FormData();
  form.append("model", state.model.name);
  form.append("image", blob, "image");
  const resp = await call("/encode", { method: "POST", body: form });
  return (await resp.json()).z;
}

// decode returns the PNG of one latent.
async function decode(z) {
  const resp = await postJSON("/decode", { model: state.model.name, z });
  return resp.blob();
}

// ---------------------------------------------------------------- canvases

// showBlob draws a PNG blob on canvas at its own size; CSS enlarges it without smoothing.
async function showBlob(canvas, blob) {
  const bmp = await createImageBitmap(blob);
  canvas.width = bmp.width;
  canvas.height = bmp.height;
  const ctx = canvas.getContext("2d");
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(bmp, 0, 0);
  bmp.close();
  shown(canvas);
}

// shown marks a canvas as holding an image and counts its renders (the browser test waits
// on the count).
function shown(canvas) {
  const frame = canvas.parentElement;
  frame.classList.add("has-image");
  frame.classList.remove("failed");
  canvas.dataset.renders = String((Number(canvas.dataset.renders) || 0) + 1);
}

// say puts a message over a canvas in place of its image: failed for an error.
function say(canvas, message, failed) {
  const frame = canvas.parentElement;
  frame.classList.remove("has-image");
  frame.classList.toggle("failed", !!failed);
  frame.querySelector(".msg").textContent = message;
}

// status writes a panel's status line, in red for an error, and sets the panel's state.
function status(panel, text, kind) {
  const line = $(`${panel}-status`);
  line.textContent = text;
  line.classList.toggle("error", kind === "error");
  $(`${panel}-panel`).dataset.state = kind || "ok";
}

// latest wraps an async function so that at most one call runs at a time and, of the calls
// made meanwhile, only the last runs next: a slider decodes as it moves without a queue of
// stale requests. Errors go to onError.
function latest(fn, onError) {
  let running = false;
  let pending = null;
  return function (...args) {
    pending = args;
    if (running) return;
    running = true;
    (async () => {
      while (pending) {
        const a = pending;
        pending = null;
        try {
          await fn(...a);
        } catch (e) {
          onError(e);
        }
      }
      running = false;
    })();
  };
}

// ---------------------------------------------------------------- latent paths

function lerp(a, b, t) {
  return a.map((v, i) => (1 - t) * v + t * b[i]);
}

const norm = (v) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));

// slerp follows the great circle from a to b, their lengths interpolated alongside, as the
// server's /interpolate does; nearly parallel latents take the straight line.
function slerp(a, b, t) {
  const na = norm(a);
  const nb = norm(b);
  if (na === 0 || nb === 0) return lerp(a, b, t);
  const cos = Math.max(-1, Math.min(1, a.reduce((s, x, i) => s + x * b[i], 0) / (na * nb)));
  const omega = Math.acos(cos);
  const s = Math.sin(omega);
  if (s < 1e-6) return lerp(a, b, t);
  const wa = Math.sin((1 - t) * omega) / s;
  const wb = Math.sin(t * omega) / s;
  return a.map((v, i) => wa * v + wb * b[i]);
}

function pathName() {
  return state.model.latent_kind === "sphere" ? "slerp" : "linear";
}

// ---------------------------------------------------------------- models

async function loadModels() {
  let list;
  try {
    list = await (await call("/models")).json();
  } catch (e) {
    const banner = $("page-error");
    banner.textContent = `Cannot list the models: ${e.message}`;
    banner.hidden = false;
    $("model-info").textContent = "no models";
    return;
  }
  const select = $("model");
  select.replaceChildren();
  for (const m of list.models) {
    const opt = document.createElement("option");
    opt.value = m.name;
    opt.textContent = m.name;
    opt.selected = m.name === list.default;
    select.append(opt);
  }
  select.onchange = () => selectModel(list.models.find((m) => m.name === select.value));
  await selectModel(list.models.find((m) => m.name === select.value) || list.models[0]);
}

function chip(label, value) {
  const c = document.createElement("span");
  c.className = "chip";
  const b = document.createElement("b");
  b.textContent = value;
  c.append(`${label} `, b);
  return c;
}

// showModelInfo shows the model's data set, size, latent and metrics.
async function showModelInfo(m) {
  const info = $("model-info");
  const grey = m.channels === 1 ? "grey" : m.channels === 3 ? "RGB" : `${m.channels} channels`;
  info.replaceChildren(
    chip("data", m.dataset),
    chip("family", m.family),
    chip("images", `${m.resolution}×${m.resolution} ${grey}`),
    chip("latent", `${m.latent_kind}, ${m.latent_size} values`),
  );
  try {
    const detail = await (await call(`/models/${modelPath(m.name)}`)).json();
    const metrics = (detail.manifest && detail.manifest.metrics) || {};
    const fixed = (n) => (v) => v.toFixed(n);
    const fmt = { test_psnr: (v) => `${v.toFixed(2)} dB`, test_ssim: fixed(4), test_mse: fixed(5), fid_samples: fixed(1), fid_reconstructions: fixed(1), precision: fixed(3), recall: fixed(3) };
    const names = { test_psnr: "test PSNR", test_ssim: "test SSIM", test_mse: "test MSE", fid_samples: "FID samples", fid_reconstructions: "FID reconstructions", precision: "precision", recall: "recall" };
    showSheet(m, detail.manifest);
    let any = false;
    for (const key of ["test_psnr", "test_ssim", "test_mse", "fid_samples", "fid_reconstructions", "precision", "recall"]) {
      if (typeof metrics[key] === "number") {
        info.append(chip(names[key], fmt[key](metrics[key])));
        any = true;
      }
    }
    if (!any) info.append(chip("metrics", "not measured"));
  } catch (e) {
    info.append(chip("metrics", `unavailable: ${e.message}`));
  }
  info.append(chip("attributes", String((m.attributes || []).length)));
}

// showSheet shows the sheet on the model's card (GET /models/{name}/pictures/sheet), or
// says there is none.
function showSheet(m, manifest) {
  const img = $("model-sheet");
  if (!(manifest && manifest.pictures && manifest.pictures.sheet)) {
    img.hidden = true;
    img.removeAttribute("src");
    $("sheet-caption").textContent = "this model's card has no sheet: latentzoo eval draws one";
    return;
  }
  img.src = `/models/${modelPath(m.name)}/pictures/sheet`;
  img.hidden = false;
  $("sheet-caption").textContent = "test images, their reconstructions, samples from the prior and an interpolation, as latentzoo eval drew them for the model card";
}

async function selectModel(m) {
  if (!m) return;
  state.generation++;
  state.model = m;
  state.input = null;
  state.ends = { a: null, b: null };
  const empty = {
    input: "no input yet",
    recon: "the reconstruction appears here",
    "interp-a": "A",
    "interp-b": "B",
    "interp-frame": "choose A and B",
    "interp-strip": "the whole path appears here",
    edited: "put in an image to edit it",
    samples: "samples appear here",
  };
  for (const [id, message] of Object.entries(empty)) say($(id), message);
  for (const p of ["input", "interp", "edit", "sample"]) status(p, "", "empty");
  buildSliders(m);
  await showModelInfo(m);
  runSample();
  await loadExamples(null, true);
}

// ---------------------------------------------------------------- input

// showInput draws the input as the model will see it: centre-cropped to a square and
// scaled to the model's resolution (a 28×28 image on a 32×32 model padded by 2 pixels),
// grey for one-channel models. It reports whether the browser could read the image.
async function showInput(blob) {
  const canvas = $("input");
  let bmp;
  try {
    bmp = await createImageBitmap(blob);
  } catch (_) {
    say(canvas, "the browser cannot read this file as an image", true);
    return false;
  }
  const res = state.model.resolution;
  canvas.width = res;
  canvas.height = res;
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#000";
  ctx.fillRect(0, 0, res, res);
  if (bmp.width === 28 && bmp.height === 28 && res === 32) {
    ctx.drawImage(bmp, 2, 2);
  } else {
    const side = Math.min(bmp.width, bmp.height);
    ctx.imageSmoothingEnabled = true;
    ctx.imageSmoothingQuality = "high";
    ctx.drawImage(bmp, (bmp.width - side) / 2, (bmp.height - side) / 2, side, side, 0, 0, res, res);
  }
  bmp.close();
  if (state.model.channels === 1) {
    const img = ctx.getImageData(0, 0, res, res);
    const p = img.data;
    for (let i = 0; i < p.length; i += 4) {
      const y = Math.round(0.299 * p[i] + 0.587 * p[i + 1] + 0.114 * p[i + 2]);
      p[i] = p[i + 1] = p[i + 2] = y;
    }
    ctx.putImageData(img, 0, 0);
  }
  shown(canvas);
  return true;
}

// setInput makes blob the input: it shows it, encodes it once, decodes the reconstruction
// and refreshes the edit.
async function setInput(blob, source) {
  const gen = state.generation;
  const input = { blob, z: null };
  state.input = input;
  status("input", `encoding ${source}…`, "busy");
  say($("recon"), "encoding…");
  await showInput(blob);
  try {
    input.z = await encode(blob);
    if (gen !== state.generation || state.input !== input) return;
    await showBlob($("recon"), await decode(input.z));
    if (gen !== state.generation || state.input !== input) return;
    status("input", `${source}: encoded to a ${state.model.latent_kind} latent of ${input.z.length} values, decoded again`);
    runEdit();
  } catch (e) {
    if (gen !== state.generation || state.input !== input) return;
    say($("recon"), e.message, true);
    say($("edited"), `no latent to edit: ${e.message}`, true);
    status("input", `${source}: ${e.message}`, "error");
  }
}

function setupInput() {
  const file = $("file");
  file.onchange = () => {
    if (file.files.length > 0) setInput(file.files[0], file.files[0].name);
    file.value = "";
  };
  const panel = $("input-panel");
  panel.addEventListener("dragover", (e) => {
    e.preventDefault();
    panel.classList.add("dragover");
  });
  panel.addEventListener("dragleave", () => panel.classList.remove("dragover"));
  panel.addEventListener("drop", (e) => {
    e.preventDefault();
    panel.classList.remove("dragover");
    const f = e.dataTransfer.files[0];
    if (!f) {
      status("input", "drop an image file (PNG or JPEG)", "error");
      return;
    }
    setInput(f, f.name);
  });
  // A file dropped anywhere else must not replace the page.
  window.addEventListener("dragover", (e) => e.preventDefault());
  window.addEventListener("drop", (e) => e.preventDefault());
  setupDrawing();
}

// setupDrawing lets the mouse draw white strokes on black; each finished stroke makes the
// drawing the input.
function setupDrawing() {
  const canvas = $("draw");
  const ctx = canvas.getContext("2d");
  const clear = () => {
    ctx.fillStyle = "#000";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
  };
  clear();
  let last = null;
  const point = (e) => {
    const r = canvas.getBoundingClientRect();
    return [((e.clientX - r.left) * canvas.width) / r.width, ((e.clientY - r.top) * canvas.height) / r.height];
  };
  const line = (a, b) => {
    ctx.strokeStyle = "#fff";
    ctx.lineWidth = canvas.width / 11;
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    ctx.beginPath();
    ctx.moveTo(a[0], a[1]);
    ctx.lineTo(b[0], b[1]);
    ctx.stroke();
  };
  canvas.addEventListener("pointerdown", (e) => {
    canvas.setPointerCapture(e.pointerId);
    last = point(e);
    line(last, last);
  });
  canvas.addEventListener("pointermove", (e) => {
    if (!last) return;
    const p = point(e);
    line(last, p);
    last = p;
  });
  const end = () => {
    if (!last) return;
    last = null;
    canvas.toBlob((blob) => setInput(blob, "your drawing"), "image/png");
  };
  canvas.addEventListener("pointerup", end);
  canvas.addEventListener("pointercancel", end);
  $("draw-clear").onclick = clear;
}

// ---------------------------------------------------------------- test images

function base64Blob(b64) {
  const bin = atob(b64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return new Blob([bytes], { type: "image/png" });
}

// loadExamples shows a row of test images; first (on a model's first load) also makes them
// the input and the interpolation's ends, so every panel shows something at once.
async function loadExamples(seed, first) {
  const gen = state.generation;
  const row = $("examples");
  const m = state.model;
  let query = "n=12";
  if (seed !== null) query += `&seed=${seed}`;
  let list;
  try {
    list = await (await call(`/models/${modelPath(m.name)}/examples?${query}`)).json();
  } catch (e) {
    if (gen !== state.generation) return;
    const msg = document.createElement("span");
    msg.className = "hint error";
    msg.textContent = `No test images: ${e.message}. Upload, drop or draw an image instead.`;
    row.replaceChildren(msg);
    $("examples-more").hidden = true;
    return;
  }
  if (gen !== state.generation) return;
  $("examples-more").hidden = false;
  state.examples = list.examples;
  row.replaceChildren();
  list.examples.forEach((ex) => {
    const img = document.createElement("img");
    img.src = `data:image/png;base64,${ex.image}`;
    const what = `test image ${ex.index}${ex.label ? ` (${ex.label})` : ""}`;
    img.alt = what;
    img.title = what;
    img.onclick = () => {
      row.querySelectorAll("img.picked").forEach((x) => x.classList.remove("picked"));
      img.classList.add("picked");
      setInput(base64Blob(ex.image), what);
    };
    row.append(img);
  });
  if (!first || list.examples.length === 0) return;
  const ex = list.examples;
  const a = ex[0];
  const b = ex.find((x) => x.label !== a.label) || ex[ex.length - 1];
  if (!state.input) row.querySelector("img").click();
  await setEnd("a", base64Blob(a.image), `test image ${a.index}`);
  await setEnd("b", base64Blob(b.image), `test image ${b.index}`);
}

// ---------------------------------------------------------------- interpolation

// setEnd encodes an end of the interpolation once and shows its decoded latent.
async function setEnd(which, blob, source) {
  const gen = state.generation;
  const canvas = $(`interp-${which}`);
  const end = { blob, z: null };
  state.ends[which] = end;
  status("interp", `encoding ${source} as ${which.toUpperCase()}…`, "busy");
  try {
    end.z = await encode(blob);
    if (gen !== state.generation || state.ends[which] !== end) return;
    await showBlob(canvas, await decode(end.z));
    status("interp", `${which.toUpperCase()} is ${source}`);
    renderFrame();
    renderStrip();
  } catch (e) {
    if (gen !== state.generation || state.ends[which] !== end) return;
    state.ends[which] = null;
    say(canvas, e.message, true);
    status("interp", `${which.toUpperCase()}: ${e.message}`, "error");
  }
}

const renderFrame = latest(
  async () => {
    const { a, b } = state.ends;
    if (!a || !b || !a.z || !b.z) return;
    const gen = state.generation;
    const t = Number($("interp-t").value);
    const z = pathName() === "slerp" ? slerp(a.z, b.z, t) : lerp(a.z, b.z, t);
    const png = await decode(z);
    if (gen !== state.generation) return;
    await showBlob($("interp-frame"), png);
    $("interp-caption").textContent = `t = ${t.toFixed(2)} along the ${pathName()} path`;
    status("interp", `frame at t = ${t.toFixed(2)}, decoded by /decode`);
  },
  (e) => {
    say($("interp-frame"), e.message, true);
    status("interp", e.message, "error");
  },
);

// renderStrip shows the whole path between the ends, decoded by the server in one
// /interpolate request on the latents already fetched.
const renderStrip = latest(
  async () => {
    const { a, b } = state.ends;
    if (!a || !b || !a.z || !b.z) return;
    const gen = state.generation;
    const resp = await postJSON("/interpolate", { model: state.model.name, za: a.z, zb: b.z, steps: 10, path: pathName() });
    const png = await resp.blob();
    if (gen !== state.generation) return;
    await showBlob($("interp-strip"), png);
  },
  (e) => {
    say($("interp-strip"), e.message, true);
    status("interp", e.message, "error");
  },
);

function setupInterpolation() {
  $("interp-t").addEventListener("input", () => renderFrame());
  for (const which of ["a", "b"]) {
    $(`set-${which}`).onclick = () => {
      if (!state.input) {
        status("interp", "put in an image first: it becomes this end", "error");
        return;
      }
      setEnd(which, state.input.blob, "the input");
    };
  }
}

// ---------------------------------------------------------------- attribute editing

// buildSliders makes one slider per attribute of the model, classes then measures.
function buildSliders(m) {
  const box = $("sliders");
  box.replaceChildren();
  const attrs = m.attributes || [];
  if (attrs.length === 0) {
    const p = document.createElement("p");
    p.className = "hint";
    p.textContent = `This model has no attribute directions yet. Add them with: latentzoo attributes ${m.name}`;
    box.append(p);
    say($("edited"), "this model has no attribute directions to edit along");
    return;
  }
  const headings = { class: "classes", measure: "measured from the pixels" };
  let kind = null;
  for (const a of attrs) {
    if (a.kind !== kind) {
      kind = a.kind;
      const h = document.createElement("h3");
      h.textContent = headings[kind] || kind;
      box.append(h);
    }
    const label = document.createElement("label");
    label.title = `${a.description} (${a.with} images with, ${a.without} without)`;
    const name = document.createElement("span");
    name.textContent = a.name;
    const input = document.createElement("input");
    input.type = "range";
    input.min = "-3";
    input.max = "3";
    input.step = "0.1";
    input.value = "0";
    input.dataset.attribute = a.name;
    input.setAttribute("aria-label", a.name);
    const out = document.createElement("output");
    out.textContent = "0";
    input.addEventListener("input", () => {
      out.textContent = Number(input.value).toFixed(1);
      runEdit();
    });
    label.append(name, input, out);
    box.append(label);
  }
}

const runEdit = latest(
  async () => {
    const input = state.input;
    if (!input || !input.z || (state.model.attributes || []).length === 0) return;
    const gen = state.generation;
    const strengths = {};
    for (const s of $("sliders").querySelectorAll("input[data-attribute]")) {
      const v = Number(s.value);
      if (v !== 0) strengths[s.dataset.attribute] = v;
    }
    status("edit", "editing…", "busy");
    const resp = await postJSON("/edit", { model: state.model.name, z: input.z, attributes: strengths });
    const png = await resp.blob();
    if (gen !== state.generation || state.input !== input) return;
    await showBlob($("edited"), png);
    const parts = Object.entries(strengths).map(([k, v]) => `${k} ${v > 0 ? "+" : ""}${v}`);
    status("edit", parts.length ? `edited: ${parts.join(", ")}` : "no edit: move a slider");
  },
  (e) => {
    say($("edited"), e.message, true);
    status("edit", e.message, "error");
  },
);

function setupEdit() {
  $("edit-reset").onclick = () => {
    for (const s of $("sliders").querySelectorAll("input[data-attribute]")) {
      s.value = "0";
      s.nextElementSibling.textContent = "0";
    }
    runEdit();
  };
}

// ---------------------------------------------------------------- sampling

const runSample = latest(
  async () => {
    const gen = state.generation;
    const m = state.model;
    const seed = $("seed").value.trim();
    const n = $("sample-n").value;
    status("sample", "sampling…", "busy");
    const q = new URLSearchParams({ model: m.name, n, seed });
    const png = await (await call(`/sample?${q}`, { method: "POST" })).blob();
    if (gen !== state.generation) return;
    await showBlob($("samples"), png);
    const prior = m.latent_kind === "sphere" ? "uniform on the sphere" : "N(0, I)";
    const by = m.sample && m.sample !== "decoder" ? ` by the ${m.sample}` : "";
    status("sample", `${n} latents drawn from ${prior} with seed ${seed}, decoded${by}`);
  },
  (e) => {
    say($("samples"), e.message, true);
    status("sample", e.message, "error");
  },
);

function setupSampling() {
  $("sample").onclick = () => runSample();
  $("sample-n").onchange = () => runSample();
  $("seed").addEventListener("keydown", (e) => {
    if (e.key === "Enter") runSample();
  });
  $("sample-new").onclick = () => {
    $("seed").value = String(Math.floor(Math.random() * 1e9));
    runSample();
  };
  $("examples-more").onclick = () => loadExamples(Math.floor(Math.random() * 1e9), false);
}

// ---------------------------------------------------------------- start

setupInput();
setupInterpolation();
setupEdit();
setupSampling();
loadModels();
