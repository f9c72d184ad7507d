// Times in the reader's own time zone: <time data-local datetime="2026-11-23T14:05:00+00:00">
// gets its text as "23 Nov 14:05" (local) and the full local date and zone as its title.
// Relative texts ("3 h ago") keep their words and gain the local time as a title.
document.addEventListener("DOMContentLoaded", () => {
  const short = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });
  const full = new Intl.DateTimeFormat(undefined, { dateStyle: "full", timeStyle: "long" });
  for (const el of document.querySelectorAll("time[data-local][datetime]")) {
    const when = new Date(el.getAttribute("datetime"));
    if (Number.isNaN(when.getTime())) continue;
    el.title = full.format(when);
    if (!/ago|just now/.test(el.textContent)) el.textContent = short.format(when);
  }
});
