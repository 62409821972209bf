/* Behaviours: what the model does when it is sure of a class (say words, play a sound, show a
 * picture or an emoji), for the exported web page and the Studio's Test page alike.
 *
 *   const player = new TLBehaviours.Player({behaviours, language});
 *   button.onclick = () => player.unlock();   // browsers allow sound only after a tap
 *   player.feed("daisy");                      // the sure answer of each frame, or null
 *
 * A behaviour plays when the sure answer has held for STEADY_MS, and not again until the steady
 * answer has changed ("not sure" counts as an answer: daisy, not sure, daisy plays twice). A
 * behaviour is {class_name, say, sound, emoji, picture (a data: URL), recording (base64 WAV),
 * full_screen}; its texts are shown with textContent, never as markup. */
"use strict";
(function (root) {
  const STEADY_MS = 700;  // "steady for a moment": about one second of the same answer
  const SHOW_MS = 2500;   // how long a picture or an emoji stays
  // Built-in sounds, made by oscillators (no files): [frequency Hz, start s, length s, wave, end Hz].
  const SOUNDS = {
    beep: [[880, 0, 0.18, "square"]],
    chime: [[1047, 0, 0.7, "sine"], [1319, 0.16, 0.8, "sine"], [1568, 0.32, 0.9, "sine"]],
    buzz: [[110, 0, 0.5, "sawtooth"], [116, 0, 0.5, "sawtooth"]],
    whistle: [[900, 0, 0.35, "sine", 2200], [2200, 0.4, 0.3, "sine", 1100]],
    fanfare: [[523, 0, 0.14, "triangle"], [659, 0.15, 0.14, "triangle"], [784, 0.3, 0.14, "triangle"],
              [1047, 0.45, 0.5, "triangle"]],
  };

  function decodeBase64(text) {
    const raw = atob(text), bytes = new Uint8Array(raw.length);
    for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    return bytes;
  }

  /* The value fed over and over; ``onChange(value)`` once it has held for ``ms`` and differs
   * from the last value that held. Fed at any rate (every frame, or only when it changes). */
  class Steady {
    constructor(ms, onChange) {
      this.ms = ms;
      this.onChange = onChange;
      this.reset();
    }

    reset() {
      clearTimeout(this.timer);
      this.held = undefined;  // the last value that held; undefined: none yet
      this.candidate = undefined;
      this.since = 0;
    }

    feed(value, now) {
      now = now === undefined ? performance.now() : now;
      if (value !== this.candidate) {
        this.candidate = value;
        this.since = now;
        clearTimeout(this.timer);
        this.timer = setTimeout(() => this.feed(this.candidate), this.ms + 20);
        return undefined;
      }
      if (now - this.since < this.ms || value === this.held) return undefined;
      clearTimeout(this.timer);
      this.held = value;
      return this.onChange(value);
    }
  }

  class Player {
    constructor(options) {
      this.language = options.language || "en";
      this.steadyMs = options.steadyMs || STEADY_MS;
      this.showMs = options.showMs || SHOW_MS;
      this.closeWords = options.closeWords || "";
      this.onPlay = options.onPlay || null;
      this.audio = null;
      this.buffers = new Map();
      this.setBehaviours(options.behaviours || []);
      this.answers = new Steady(this.steadyMs, (answer) => (answer === null ? null : this.play(answer)));
    }

    setBehaviours(list) {
      this.behaviours = new Map();
      for (const b of list || []) this.behaviours.set(b.class_name, b);
      this.buffers.clear();
    }

    reset() {
      this.answers.reset();
    }

    /* On a tap or click (the browser's rule for sound): make the audio context run. */
    unlock() {
      const Context = root.AudioContext || root.webkitAudioContext;
      if (!this.audio && Context) this.audio = new Context();
      if (this.audio && this.audio.state === "suspended") this.audio.resume();
    }

    /* The sure answer now (a class name, or null for not sure / none of the classes); returns
     * the behaviour it played, if any. */
    feed(answer, now) {
      return this.answers.feed(answer === undefined ? null : answer, now) || null;
    }

    /* Play the class's behaviour now (a photo's answer does not wait). */
    play(className) {
      const behaviour = this.behaviours.get(className);
      if (!behaviour) return null;
      if (behaviour.say) this.say(behaviour.say);
      if (behaviour.sound) this.sound(behaviour);
      if (behaviour.picture || behaviour.emoji) this.show(behaviour);
      if (this.onPlay) this.onPlay(behaviour);
      return behaviour;
    }

    say(text) {
      if (!root.speechSynthesis || !root.SpeechSynthesisUtterance) return;
      const utterance = new SpeechSynthesisUtterance(text);
      utterance.lang = this.language;
      root.speechSynthesis.cancel();  // the newest answer speaks, never a queue of old ones
      root.speechSynthesis.speak(utterance);
    }

    sound(behaviour) {
      this.unlock();
      const audio = this.audio;
      if (!audio) return;
      if (behaviour.sound === "recorded") {
        this.recording(behaviour).then((buffer) => {
          const source = audio.createBufferSource();
          source.buffer = buffer;
          source.connect(audio.destination);
          source.start();
        }, () => {});
        return;
      }
      const start = audio.currentTime + 0.02;
      for (const [frequency, at, length, wave, to] of SOUNDS[behaviour.sound] || []) {
        const oscillator = audio.createOscillator(), gain = audio.createGain();
        oscillator.type = wave;
        oscillator.frequency.setValueAtTime(frequency, start + at);
        if (to) oscillator.frequency.exponentialRampToValueAtTime(to, start + at + length);
        gain.gain.setValueAtTime(0.0001, start + at);
        gain.gain.exponentialRampToValueAtTime(0.25, start + at + 0.02);
        gain.gain.exponentialRampToValueAtTime(0.0001, start + at + length);
        oscillator.connect(gain).connect(audio.destination);
        oscillator.start(start + at);
        oscillator.stop(start + at + length + 0.05);
      }
    }

    recording(behaviour) {
      if (!this.buffers.has(behaviour.class_name)) {
        const bytes = decodeBase64(behaviour.recording || "");
        this.buffers.set(behaviour.class_name, this.audio.decodeAudioData(bytes.buffer));
      }
      return this.buffers.get(behaviour.class_name);
    }

    /* The picture or emoji over the page (full screen if asked), for SHOW_MS or until tapped. */
    show(behaviour) {
      const doc = root.document;
      if (!doc) return;
      let stage = doc.getElementById("tl-behaviour-stage");
      if (!stage) {
        stage = doc.createElement("div");
        stage.id = "tl-behaviour-stage";
        stage.setAttribute("role", "img");
        stage.addEventListener("click", () => { stage.style.display = "none"; });
        doc.body.appendChild(stage);
      }
      stage.replaceChildren();
      const full = !!behaviour.full_screen;
      // Inline styles: on the Test page this lives outside the component's own styles.
      stage.style.cssText = "position:fixed;z-index:2147483000;display:flex;align-items:center;" +
        "justify-content:center;cursor:pointer;box-sizing:border-box;" +
        (full ? "inset:0;background:rgba(0,0,0,.88);" :
          "left:50%;top:50%;transform:translate(-50%,-50%);width:min(70vw,22rem);height:min(70vw,22rem);" +
          "padding:.6rem;background:rgba(255,255,255,.96);border-radius:1.2rem;box-shadow:0 .5rem 2rem rgba(0,0,0,.35);");
      if (behaviour.picture) {
        const picture = doc.createElement("img");
        picture.src = behaviour.picture;
        picture.alt = behaviour.class_name;
        picture.style.cssText = "width:100%;height:100%;object-fit:contain;" + (full ? "" : "border-radius:1rem;");
        stage.appendChild(picture);
      } else {
        const text = doc.createElement("span");
        text.textContent = behaviour.emoji;
        text.style.cssText = `font-size:${full ? "min(40vw,40vh)" : "min(30vw,9rem)"};line-height:1;` +
          "text-align:center;overflow-wrap:anywhere;" + (full ? "color:white;" : "");
        stage.appendChild(text);
      }
      stage.setAttribute("aria-label", behaviour.class_name);
      stage.title = this.closeWords;
      clearTimeout(this.hideTimer);
      this.hideTimer = setTimeout(() => { stage.style.display = "none"; }, this.showMs);
    }
  }

  root.TLBehaviours = { Player, Steady, SOUNDS, STEADY_MS, SHOW_MS };
})(typeof window !== "undefined" ? window : globalThis);
