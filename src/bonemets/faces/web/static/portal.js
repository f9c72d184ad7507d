// The check-in keeps its answers as the patient goes: each change is sent to the draft
// (POST /portal/check-in/save, the same form fields), so leaving the page loses nothing.
// Without scripts the "Save and finish later" button does the same.
document.addEventListener("DOMContentLoaded", () => {
  const form = document.querySelector("form[data-autosave]");
  if (!form) return;
  let timer = null;
  let sent = false; // once the form is sent (or saved by a button), no late autosave
  const save = () => {
    timer = null;
    if (sent) return;
    fetch(form.dataset.autosave, {
      method: "POST",
      body: new FormData(form),
      headers: { "X-Autosave": "1" },
      credentials: "same-origin",
      keepalive: true,
    }).catch(() => {});
  };
  const soon = () => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(save, 400);
  };
  form.addEventListener("submit", () => {
    sent = true;
    if (timer) clearTimeout(timer);
  });
  form.addEventListener("change", soon);
  form.addEventListener("input", soon);
  window.addEventListener("pagehide", () => {
    if (timer) { clearTimeout(timer); save(); }
  });
});
