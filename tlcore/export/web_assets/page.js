/* The page that is the model: camera or photo in, the app's answer out, and its behaviours.
 *
 * Everything it needs is in this file: TensorFlow.js, the model and its weights (#tl-data),
 * the words it shows (#tl-words, one dictionary, filled by Python). It answers like the Studio:
 * the same centre square and Lanczos resize (picture.js), the same model (TensorFlow.js),
 * "not sure" below the student's line, and "none of my classes" from the same familiarity
 * numbers (the features at the head's input, compared with the pictures it learned from).
 *
 * window.tlPage, for tests and the curious: ready (a promise), last (the last answer),
 * frames, backend, freeze() / resume() (stop after the current frame), frameDataURL(). */
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const words = JSON.parse($("tl-words").textContent);
  const data = JSON.parse($("tl-data").textContent);
  const size = data.input_size;
  const MIN_FRAME_MS = 66;  // at most about 15 answers a second: enough, and kind to a phone's battery
  const page = { ready: null, last: null, frames: 0, backend: null };
  window.tlPage = page;

  function say(template, values) {
    return template.replace(/\{(\w+)\}/g, (all, name) => (name in values ? String(values[name]) : all));
  }

  function percent(p) {
    return `${Math.round(p * 100)}%`;
  }

  function belowLine(p, line) {  // never shows 50% for an answer below a 50% line
    const shown = percent(p);
    return shown === percent(line) ? `${(Math.floor(p * 1000) / 10).toFixed(1)}%` : shown;
  }

  function decodeBase64(text) {
    const raw = atob(text), bytes = new Uint8Array(raw.length);
    for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    return bytes;
  }

  function halfToFloat(bits) {  // IEEE 754 half (float16) to a number
    const sign = bits & 0x8000 ? -1 : 1, exponent = (bits >> 10) & 0x1f, fraction = bits & 0x3ff;
    if (exponent === 0) return sign * fraction * Math.pow(2, -24);
    if (exponent === 31) return fraction ? NaN : sign * Infinity;
    return sign * (1 + fraction / 1024) * Math.pow(2, exponent - 15);
  }

  // -- words --------------------------------------------------------------------------------------
  for (const element of document.querySelectorAll("[data-word]")) element.textContent = words[element.dataset.word];
  for (const element of document.querySelectorAll("[data-word-label]")) {
    element.setAttribute("aria-label", words[element.dataset.wordLabel]);
  }
  document.title = data.classes.join(" · ");
  $("tl-name").textContent = data.classes.join(" · ");  // what it tells apart, as the student named them
  $("tl-model").textContent = say(words.model, { name: data.name });
  $("tl-line").textContent = say(words.line, { line: percent(data.not_sure) });
  $("tl-view").setAttribute("aria-label", words.camera_view);

  // -- the bars, one per class, in the model's order ---------------------------------------------
  const bars = data.classes.map((name) => {
    const item = document.createElement("li"), label = document.createElement("span");
    const value = document.createElement("span"), bar = document.createElement("div");
    const fill = document.createElement("div");
    label.className = "name";
    label.textContent = name;
    value.className = "value";
    bar.className = "bar";
    bar.setAttribute("aria-hidden", "true");
    fill.className = "fill";
    bar.appendChild(fill);
    item.append(label, value, bar);
    $("tl-bars").appendChild(item);
    return { item, value, fill };
  });

  // -- "none of my classes": the app's familiarity, in plain JavaScript --------------------------
  const familiarity = (() => {
    const f = data.familiarity;
    if (!f) return null;
    const bytes = decodeBase64(f.reference), halves = new Uint16Array(bytes.buffer, 0, f.rows * f.width);
    const reference = new Float32Array(halves.length);
    for (let i = 0; i < halves.length; i++) reference[i] = halfToFloat(halves[i]);
    return { ...f, reference, k: Math.min(Math.max(1, f.k), f.rows) };
  })();

  /* The mean cosine similarity to the k most similar pictures it learned from, and whether that
   * reaches the line set on its validation pictures (tlcore/understand/scoring.py). */
  function familiar(features) {
    if (!familiarity) return { familiar: null, score: null };
    const { reference, rows, width, k, threshold } = familiarity;
    let length = 0;
    for (let i = 0; i < width; i++) length += features[i] * features[i];
    const scale = 1 / Math.max(Math.fround(Math.sqrt(length)), 1e-30);
    const similarities = new Float64Array(rows);
    for (let row = 0; row < rows; row++) {
      let dot = 0;
      for (let i = 0, at = row * width; i < width; i++) dot += features[i] * reference[at + i];
      similarities[row] = dot * scale;
    }
    similarities.sort();
    let total = 0;
    for (let i = rows - k; i < rows; i++) total += similarities[i];
    const score = Math.fround(total / k);
    return { familiar: threshold === null ? true : score >= Math.fround(threshold), score };
  }

  // -- the model ---------------------------------------------------------------------------------
  let model = null;

  async function chooseBackend() {
    try {  // the GPU where its numbers are 32-bit (16-bit ones would change the answers)
      if (await tf.setBackend("webgl") && tf.env().getBool("WEBGL_RENDER_FLOAT32_CAPABLE")) return "webgl";
    } catch (error) { /* no WebGL here */ }
    await tf.setBackend("cpu");
    return "cpu";
  }

  async function loadModel() {
    page.backend = await chooseBackend();
    const weights = decodeBase64(data.model.weights);
    model = await tf.loadLayersModel(tf.io.fromMemory({ modelTopology: data.model.topology,
      weightSpecs: data.model.weights_manifest, weightData: weights.buffer }));
    tf.tidy(() => { model.predict(tf.zeros([1, size, size, 3])); });  // the first answer compiles; do it now
  }

  /* The answer for RGBA pixels (width × height): centre square, Lanczos to the model's size,
   * fed as Teachable Machine's library feeds a model (x / 127 - 1). */
  async function answer(pixels, width, height) {
    const rgb = TLPicture.fitSquare(pixels, 4, width, height, size, data.lanczos_vertical_first);
    const input = new Float32Array(rgb.length);
    for (let i = 0; i < rgb.length; i++) input[i] = rgb[i] / 127 - 1;
    const x = tf.tensor4d(input, [1, size, size, 3]);
    const outputs = model.predict(x);
    const [features, probabilities] = Array.isArray(outputs) ? outputs : [null, outputs];
    const p = Array.from(await probabilities.data());
    const known = features ? familiar(await features.data()) : { familiar: null, score: null };
    tf.dispose([x, outputs]);
    let top = 0;
    for (let i = 1; i < p.length; i++) if (p[i] > p[top]) top = i;
    return { probabilities: p, top: data.classes[top], top_probability: p[top], ...known };
  }

  /* The class when the answer is sure (familiar, at or above the line); null otherwise. */
  function sureAnswer(result) {
    return result.familiar !== false && result.top_probability >= data.not_sure ? result.top : null;
  }

  function shownAnswer(result) {
    if (result.familiar === false) return words.unfamiliar;
    return result.top_probability < data.not_sure ? words.not_sure : result.top;
  }

  // -- showing it --------------------------------------------------------------------------------
  const announcer = new TLBehaviours.Steady(TLBehaviours.STEADY_MS, (text) => { $("tl-announce").textContent = text; });
  const player = new TLBehaviours.Player({ behaviours: data.behaviours, language: data.language,
                                           closeWords: words.tap_to_close });

  function show(result) {
    const card = $("tl-card"), shown = shownAnswer(result), values = { class: result.top };
    let note, tone;
    if (result.familiar === false) {
      note = say(words.unfamiliar_note, values);
      tone = "warn";
    } else if (result.top_probability < data.not_sure) {
      note = say(words.not_sure_note, { ...values, percent: belowLine(result.top_probability, data.not_sure),
                                        line: percent(data.not_sure) });
      tone = "warn";
    } else {
      note = say(words.sure_note, { percent: percent(result.top_probability) });
      tone = "good";
    }
    card.className = `tl-card ${tone}`;
    $("tl-answer").textContent = shown;
    $("tl-answer").classList.toggle("wordy", shown.length > 18);
    $("tl-note").textContent = note;
    result.probabilities.forEach((p, i) => {
      bars[i].value.textContent = percent(p);
      bars[i].fill.style.width = `${(100 * p).toFixed(1)}%`;
      bars[i].item.classList.toggle("top", data.classes[i] === result.top && shown === result.top);
    });
    announcer.feed(shown);
  }

  function problem(text) {
    $("tl-problem").textContent = text || "";
    $("tl-problem").hidden = !text;
  }

  // -- the camera --------------------------------------------------------------------------------
  const video = $("tl-video"), frame = document.createElement("canvas");
  const context = frame.getContext("2d", { willReadFrequently: true });
  let stream = null, cameras = [], cameraIndex = -1, live = false, loops = 0, freezing = null;

  function stopCamera() {
    if (stream) for (const track of stream.getTracks()) track.stop();
    stream = null;
    video.srcObject = null;
  }

  function cameraProblem(error) {
    if (!window.isSecureContext) return words.camera_insecure;
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) return words.camera_unsupported;
    const name = error && error.name;
    if (name === "NotAllowedError" || name === "SecurityError") return words.camera_denied;
    if (name === "NotFoundError" || name === "OverconstrainedError") return words.camera_missing;
    return words.camera_failed;
  }

  async function startCamera() {
    player.unlock();  // this tap is the one the browser wants before any sound
    problem("");
    showPhoto(false);
    if (!window.isSecureContext || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      problem(cameraProblem());
      return;
    }
    $("tl-view-message").textContent = words.starting_camera;
    const wanted = { width: { ideal: 640 }, height: { ideal: 480 } };
    if (cameras.length && cameraIndex >= 0) wanted.deviceId = { exact: cameras[cameraIndex].deviceId };
    else wanted.facingMode = { ideal: "environment" };  // a phone's back camera first
    stopCamera();
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: wanted, audio: false });
    } catch (error) {
      $("tl-view-message").textContent = "";
      problem(cameraProblem(error));
      return;
    }
    video.srcObject = stream;
    await video.play().catch(() => {});
    const track = stream.getVideoTracks()[0], settings = track.getSettings ? track.getSettings() : {};
    const back = settings.facingMode === "environment" || /back|rear|environment/i.test(track.label);
    video.classList.toggle("mirrored", !back);  // like a mirror for a camera that faces you; never the model's input
    cameras = (await navigator.mediaDevices.enumerateDevices()).filter((d) => d.kind === "videoinput");
    cameraIndex = Math.max(0, cameras.findIndex((d) => d.deviceId === settings.deviceId));
    $("tl-switch").hidden = cameras.length < 2;
    $("tl-start").hidden = true;
    $("tl-view-message").textContent = "";
    startLoop(true);
  }

  function startLoop(fresh) {
    if (live) return;
    live = true;
    if (fresh) player.reset();  // a new camera or the end of a photo: the first sure answer plays
    loop(++loops);
  }

  async function loop(id) {
    while (live && id === loops) {
      const started = performance.now();
      if (video.readyState >= 2 && video.videoWidth > 0) {
        const width = video.videoWidth, height = video.videoHeight;
        if (frame.width !== width || frame.height !== height) {
          frame.width = width;
          frame.height = height;
        }
        context.drawImage(video, 0, 0, width, height);
        const result = await answer(context.getImageData(0, 0, width, height).data, width, height);
        if (!live || id !== loops) break;
        page.frames += 1;
        page.last = { ...result, source: "camera", frame: page.frames, width, height };
        show(result);
        player.feed(sureAnswer(result));
      }
      if (freezing) {
        live = false;
        freezing();
        freezing = null;
        break;
      }
      await new Promise((done) => setTimeout(done, Math.max(0, MIN_FRAME_MS - (performance.now() - started))));
    }
  }

  page.freeze = () => new Promise((done) => { if (!live) done(); else freezing = done; });
  page.resume = () => { if (stream) startLoop(false); };
  page.frameDataURL = () => frame.toDataURL("image/png");

  // -- a photo -----------------------------------------------------------------------------------
  function showPhoto(on) {
    if (on) $("tl-view-message").textContent = "";
    $("tl-photo").hidden = !on;
    video.hidden = on;
    $("tl-back").hidden = !on || !stream;
    $("tl-view").setAttribute("aria-label", on ? words.photo_view : words.camera_view);
  }

  async function decodePhoto(file) {
    try {  // upright as the photo says (EXIF), its colours as stored, as the Studio reads it
      return await createImageBitmap(file, { imageOrientation: "from-image", colorSpaceConversion: "none",
                                             premultiplyAlpha: "none" });
    } catch (error) {  // an older browser without those options
      const url = URL.createObjectURL(file);
      try {
        const image = new Image();
        image.src = url;
        await image.decode();
        return image;
      } finally {
        URL.revokeObjectURL(url);
      }
    }
  }

  async function answerPhoto(file) {
    player.unlock();
    await page.ready;
    problem("");
    let picture;
    try {
      picture = await decodePhoto(file);
    } catch (error) {
      problem(words.photo_unreadable);
      return;
    }
    live = false;
    const width = picture.width, height = picture.height;
    frame.width = width;
    frame.height = height;
    context.fillStyle = "#fff";  // a transparent picture stands on white, as in the Studio
    context.fillRect(0, 0, width, height);
    context.drawImage(picture, 0, 0);
    const result = await answer(context.getImageData(0, 0, width, height).data, width, height);
    const shown = $("tl-photo"), side = Math.min(width, height);
    shown.width = shown.height = Math.min(side, 720);
    shown.getContext("2d").drawImage(frame, (width - side) / 2, (height - side) / 2, side, side, 0, 0,
                                     shown.width, shown.height);
    showPhoto(true);
    page.frames += 1;
    page.last = { ...result, source: "photo", frame: page.frames, width, height };
    show(result);
    const sure = sureAnswer(result);
    player.reset();  // a photo is an answer of its own: it plays at once
    if (sure !== null) player.play(sure);
  }

  // -- start -------------------------------------------------------------------------------------
  $("tl-view-message").textContent = words.loading;
  $("tl-start").disabled = true;
  $("tl-start").addEventListener("click", startCamera);
  $("tl-switch").addEventListener("click", () => {
    if (!cameras.length) return;
    cameraIndex = (cameraIndex + 1) % cameras.length;
    live = false;
    startCamera();
  });
  $("tl-back").addEventListener("click", () => { showPhoto(false); problem(""); startLoop(true); });
  $("tl-photo-input").addEventListener("change", (event) => {
    const file = event.target.files && event.target.files[0];
    event.target.value = "";  // the same photo chosen again is a new answer
    if (file) answerPhoto(file);
  });
  page.ready = loadModel().then(() => {
    $("tl-view-message").textContent = words.ready;
    $("tl-start").disabled = false;
  }, (error) => {
    $("tl-view-message").textContent = "";
    problem(words.model_failed);
    throw error;
  });
})();
