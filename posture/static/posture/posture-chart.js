// Controls passed and failed per posture scan, drawn from the JSON the page embeds (no inline script).
document.addEventListener("DOMContentLoaded", () => {
  const canvas = document.getElementById("posture-chart");
  const source = document.getElementById("posture-data");
  if (!canvas || !source || !window.Chart) return;
  const data = JSON.parse(source.textContent);
  new window.Chart(canvas, {
    type: "line",
    data: {
      labels: data.map((scan) => new Date(scan.at).toLocaleString()),
      datasets: [
        { label: "Controls passed", data: data.map((scan) => scan.passed) },
        { label: "Controls failed", data: data.map((scan) => scan.failed) },
      ],
    },
    options: { responsive: true, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
  });
});
