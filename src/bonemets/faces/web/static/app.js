// Draws each Plotly figure the server embedded in the page as JSON:
// <script type="application/json" data-chart="TARGET_ID"> (or the timeline's #timeline-data).
// The simulator's page may list arms still to run (#sim-pending): they are fetched one by one
// from /simulate/arm and added to the chart, with the progress said in #sim-progress.
document.addEventListener("DOMContentLoaded", () => {
  if (typeof Plotly === "undefined") return;
  const blocks = Array.from(document.querySelectorAll('script[type="application/json"][data-chart]'));
  const timeline = document.getElementById("timeline-data");
  if (timeline) {
    timeline.dataset.chart = "timeline-chart";
    blocks.push(timeline);
  }
  const pendingBlock = document.getElementById("sim-pending");
  const pending = pendingBlock ? JSON.parse(pendingBlock.textContent).arms : [];
  for (const block of blocks) {
    const target = document.getElementById(block.dataset.chart);
    if (!target) continue;
    const figure = JSON.parse(block.textContent);
    const config = { responsive: true, displaylogo: false };
    if (block.dataset.chart === "sim-chart" && pending.length > 0) {
      runArms(target, figure, config, block.dataset, pending);
      continue;
    }
    if (!figure.data || figure.data.length === 0) {
      target.textContent = "Nothing to chart yet.";
      continue;
    }
    Plotly.newPlot(target, figure.data, figure.layout, config);
  }
});

async function runArms(target, figure, config, where, pending) {
  const progress = document.getElementById("sim-progress");
  const total = pending.length;
  if (figure.data.length > 0) Plotly.newPlot(target, figure.data, figure.layout, config);
  for (const [done, item] of pending.entries()) {
    if (progress) progress.textContent = `Running ${item.arm}: arm ${done + 1} of ${total} still to run ...`;
    const query = new URLSearchParams({ model: where.model, treatment: item.arm, days: where.days, index: item.index });
    const answer = await fetch(`/simulate/arm?${query}`, { credentials: "same-origin" });
    if (!answer.ok) {
      if (progress) progress.textContent = `The ${item.arm} arm could not be run (${answer.status}).`;
      return;
    }
    const traces = (await answer.json()).data;
    figure.data.push(...traces);
    // Arms in the order chosen, whatever order they arrived in.
    figure.data.sort((a, b) => a.meta - b.meta); // stable: panels keep their order
    Plotly.react(target, figure.data, figure.layout, config);
  }
  if (progress) progress.textContent = "Done.";
}
