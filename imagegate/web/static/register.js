// The register page: each form goes to its /api/register/... endpoint with the page's CSRF token; the
// answer's message is shown (after a reload that shows the register as it now is).
"use strict";
(function () {
  const main = document.getElementById("main");
  const csrf = main.dataset.csrf;
  const box = document.getElementById("message");

  function show(message, ok) {
    box.hidden = false;
    box.className = "message " + (ok ? "ok" : "problem");
    box.textContent = message;
  }
  const kept = sessionStorage.getItem("imagegate-message");
  if (kept) {
    sessionStorage.removeItem("imagegate-message");
    show(kept, true);
  }

  for (const form of document.querySelectorAll("form[data-endpoint]")) {
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const button = form.querySelector("button[type=submit]");
      button.disabled = true;
      try {
        const response = await fetch(form.dataset.endpoint, {
          method: "POST", body: new FormData(form), headers: { "X-CSRF-Token": csrf } });
        const answer = await response.json();
        if (!response.ok || !answer.ok) {
          show(answer.error ? answer.error.message : String(response.status), false);
          return;
        }
        sessionStorage.setItem("imagegate-message", [answer.message, ...(answer.notes || [])].join(" "));
        location.reload();
      } catch (err) {
        show(String(err), false);
      } finally {
        button.disabled = false;
      }
    });
  }

  // reference photos may be dropped onto the enrolment form as well as picked
  const zone = document.getElementById("enrol-drop");
  const input = document.getElementById("enrol-photos");
  if (zone && input) {
    zone.addEventListener("dragover", (e) => { e.preventDefault(); zone.classList.add("over"); });
    zone.addEventListener("dragleave", () => zone.classList.remove("over"));
    zone.addEventListener("drop", (e) => {
      e.preventDefault();
      zone.classList.remove("over");
      input.files = e.dataTransfer.files;
    });
  }
})();
