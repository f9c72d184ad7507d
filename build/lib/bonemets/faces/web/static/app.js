// Draws each Plotly figure the server embedded in the page as JSON:
// <script type="application/json" data-chart="TARGET_ID"> (or the timeline's #timeline-data).
document.addEventListener("DOMContentLoaded", () => {
  if (typeof Plotly === "undefined") return;
  const blocks = Array.from(document.querySelectorAll('script[type="application/json"][data-chart]'));
  const timeline = document.getElementById("timeline-data");
  if (timeline) {
    timeline.dataset.chart = "timeline-chart";
    blocks.push(timeline);
  }
  for (const block of blocks) {
    const target = document.getElementById(block.dataset.chart);
    if (!target) continue;
    const figure = JSON.parse(block.textContent);
    if (!figure.data || figure.data.length === 0) {
      target.textContent = "Nothing to chart yet.";
      continue;
    }
    Plotly.newPlot(target, figure.data, figure.layout, { responsive: true, displaylogo: false });
  }
});
