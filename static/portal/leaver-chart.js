// Seconds from leaving until each step was read back, drawn from the JSON the page embeds (no inline script).
// Drawn on load and after htmx swaps in the finished removal (the page refreshes itself until nothing is left).
(() => {
  const draw = () => {
    const canvas = document.getElementById("leaver-chart");
    const source = document.getElementById("leaver-chart-data");
    if (!canvas || !source || !window.Chart || canvas.dataset.drawn) return;
    const data = JSON.parse(source.textContent);
    canvas.dataset.drawn = "yes";
    new window.Chart(canvas, {
      type: "bar",
      data: {
        labels: data.map((step) => step.label),
        datasets: [{ label: "Seconds after leaving", data: data.map((step) => step.seconds) }],
      },
      options: { indexAxis: "y", responsive: true, scales: { x: { beginAtZero: true } } },
    });
  };
  document.addEventListener("DOMContentLoaded", draw);
  document.addEventListener("htmx:afterSettle", draw);
  if (document.readyState !== "loading") draw();
})();
