// Drift found and changes made per reconcile, drawn from the JSON the page embeds (no inline script).
document.addEventListener("DOMContentLoaded", () => {
  const data = JSON.parse(document.getElementById("runs-data").textContent);
  const canvas = document.getElementById("runs-chart");
  if (!canvas || !window.Chart) return;
  new window.Chart(canvas, {
    type: "bar",
    data: {
      labels: data.map((run) => new Date(run.at).toLocaleString()),
      datasets: [
        { label: "Drift found", data: data.map((run) => run.drift) },
        { label: "Changes made", data: data.map((run) => run.changes) },
      ],
    },
    options: { responsive: true, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
  });
});
