// The check page: photos dropped or picked go one by one (two at a time) to POST /api/check; each
// appears at once as "waiting", then as the card the server rendered (the review sheet's template).
// No visible word is written here: they come from the page (messages.WEB).
"use strict";
(function () {
  const main = document.getElementById("main");
  const csrf = main.dataset.csrf;
  const lang = main.dataset.lang;
  const drop = document.getElementById("drop");
  const page = drop.dataset.page;
  const T = JSON.parse(document.getElementById("strings").textContent);
  const IMAGE = /\.(jpe?g|jpe|jfif|png|webp|tiff?|bmp|gif|heic|heif|hif|avif)$/i;
  const IN_FLIGHT = 2;
  const queue = [];
  let running = 0, total = 0, done = 0;

  function text(code, params) {
    return (T[code] || code).replace(/\{(\w+)\}/g, (_, k) => (params && k in params ? params[k] : ""));
  }
  function choice() {
    const ev = document.querySelector('input[name="event"]:checked');
    return { channel: document.getElementById("channel").value, event: ev ? ev.value : "unknown" };
  }

  function pendingCard(file) {
    const card = document.createElement("article");
    card.className = "photo pending";
    card.dataset.decision = "pending";
    const box = document.createElement("div");
    const spin = document.createElement("div");
    spin.className = "noimg spinner";
    box.appendChild(spin);
    const body = document.createElement("div");
    const h = document.createElement("h3");
    h.textContent = file.name;
    const state = document.createElement("span");
    state.className = "badge pending";
    state.textContent = text("waiting");
    body.append(h, state);
    card.append(box, body);
    document.getElementById("group-pending").appendChild(card);
    return card;
  }

  function add(files) {
    for (const file of files) {
      const card = pendingCard(file);
      queue.push({ file, card, ...choice() });
      total += 1;
    }
    document.getElementById("summary").hidden = total === 0;
    progress();
    pump();
  }

  function progress() {
    document.getElementById("progress").textContent = text("progress", { done, total });
    for (const d of ["blocked", "needs_consent", "error", "allowed"]) {
      const section = document.getElementById("group-" + d);
      const n = section.querySelectorAll("article").length;
      document.getElementById("count-" + d).textContent = n;
      section.hidden = n === 0;
    }
  }

  function pump() {
    while (running < IN_FLIGHT && queue.length) {
      const job = queue.shift();
      running += 1;
      check(job).finally(() => { running -= 1; done += 1; progress(); pump(); });
    }
  }

  async function check(job) {
    job.card.querySelector(".badge").textContent = text("checking");
    const form = new FormData();
    form.append("photo", job.file, job.file.name);
    form.append("channel", job.channel);
    form.append("event", job.event);
    form.append("lang", lang);
    form.append("page", page);
    let answer;
    try {
      const response = await fetch("/api/check", { method: "POST", body: form, headers: { "X-CSRF-Token": csrf } });
      answer = await response.json();
      if (!response.ok) throw new Error(answer.error ? answer.error.message : String(response.status));
    } catch (err) {
      showFailure(job, err instanceof TypeError ? text("no_connection") : err.message);
      return;
    }
    const tpl = document.createElement("template");
    tpl.innerHTML = answer.html.trim();  // rendered and escaped by the server's autoescaped template
    const card = tpl.content.firstElementChild;
    job.card.remove();
    document.getElementById("group-" + answer.decision).appendChild(card);
    if (answer.decision === "needs_consent" || answer.decision === "blocked") copyButton(card, job);
  }

  function showFailure(job, message) {
    const card = job.card;
    card.className = "photo error";
    card.dataset.decision = "error";
    const badge = card.querySelector(".badge");
    badge.className = "badge error";
    badge.textContent = text("decision_error").toUpperCase();
    const p = document.createElement("p");
    p.textContent = text("failed", { message });
    badge.after(p);
    document.getElementById("group-error").appendChild(card);
  }

  function copyButton(card, job) {
    const actions = card.querySelector(".actions");
    const button = document.createElement("button");
    button.type = "button";
    button.className = "copy";
    button.textContent = text("download_copy");
    const note = document.createElement("p");
    note.className = "copy-note";
    button.addEventListener("click", async () => {
      button.disabled = true;
      note.textContent = text("making_copy");
      const form = new FormData();
      form.append("photo", job.file, job.file.name);
      form.append("channel", job.channel);
      form.append("event", job.event);
      form.append("lang", lang);
      try {
        const response = await fetch("/api/redact", { method: "POST", body: form, headers: { "X-CSRF-Token": csrf } });
        if (!response.ok) {
          const answer = await response.json();
          throw new Error(answer.error ? answer.error.message : String(response.status));
        }
        const blob = await response.blob();
        const disposition = response.headers.get("content-disposition") || "";
        const m = /filename\*=UTF-8''([^;]+)/.exec(disposition);
        const a = document.createElement("a");
        a.href = URL.createObjectURL(blob);
        a.download = m ? decodeURIComponent(m[1]) : "photo.redacted.jpg";
        document.body.appendChild(a);
        a.click();
        a.remove();
        setTimeout(() => URL.revokeObjectURL(a.href), 60000);
        note.textContent = "";
      } catch (err) {
        note.textContent = text("copy_failed", { message: err instanceof TypeError ? text("no_connection") : err.message });
      } finally {
        button.disabled = false;
      }
    });
    actions.append(button, note);
  }

  // folders: walk dropped directory entries (photos only, like `imagegate check` walking a folder)
  function walk(entry, out) {
    return new Promise((resolve) => {
      if (entry.isFile) {
        entry.file((f) => { if (IMAGE.test(f.name)) out.push(f); resolve(); }, () => resolve());
      } else if (entry.isDirectory) {
        const reader = entry.createReader();
        const all = [];
        const next = () => reader.readEntries((batch) => {
          if (!batch.length) { Promise.all(all.map((e) => walk(e, out))).then(resolve); return; }
          all.push(...batch);
          next();
        }, () => resolve());
        next();
      } else resolve();
    });
  }

  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", async (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    const items = [...(e.dataTransfer.items || [])];
    const entries = items.map((i) => (i.webkitGetAsEntry ? i.webkitGetAsEntry() : null));
    if (entries.length && entries.every((x) => x)) {
      const files = [];
      // a file dropped on its own is always sent (the server says what it is); inside folders, photos only
      for (const entry of entries) {
        if (entry.isFile) await new Promise((r) => entry.file((f) => { files.push(f); r(); }, () => r()));
        else await walk(entry, files);
      }
      add(files);
    } else add([...e.dataTransfer.files]);
  });
  document.getElementById("files").addEventListener("change", (e) => { add([...e.target.files]); e.target.value = ""; });
  document.getElementById("folder").addEventListener("change", (e) => {
    add([...e.target.files].filter((f) => IMAGE.test(f.name)));
    e.target.value = "";
  });
  document.getElementById("clear").addEventListener("click", async () => {
    for (const d of ["blocked", "needs_consent", "error", "allowed"]) {
      document.querySelectorAll("#group-" + d + " article").forEach((a) => a.remove());
    }
    const form = new FormData();
    form.append("page", page);
    await fetch("/api/sheet/clear", { method: "POST", body: form, headers: { "X-CSRF-Token": csrf } });
    total = queue.length + running; done = 0;
    progress();
    document.getElementById("summary").hidden = total === 0;
  });
})();
