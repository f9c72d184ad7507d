// Draws the patient timeline from the figure JSON the server embedded in the page.
document.addEventListener("DOMContentLoaded", () => {
  const data = document.getElementById("timeline-data");
  const target = document.getElementById("timeline-chart");
  if (!data || !target || typeof Plotly === "undefined") return;
  const figure = JSON.parse(data.textContent);
  if (!figure.data || figure.data.length === 0) {
    target.textContent = "No results to chart yet.";
    return;
  }
  Plotly.newPlot(target, figure.data, figure.layout, { responsive: true, displaylogo: false });
});
