// Review decisions per day, from the JSON the campaign page embeds (no inline script).
document.addEventListener("DOMContentLoaded", () => {
  const canvas = document.getElementById("decisions-chart");
  if (!canvas || !window.Chart) return;
  const data = JSON.parse(document.getElementById("decisions-data").textContent);
  new window.Chart(canvas, {
    type: "bar",
    data: {
      labels: data.map((row) => row.day),
      datasets: [
        { label: "Kept", data: data.map((row) => row.keep), stack: "decisions" },
        { label: "Revoked", data: data.map((row) => row.revoke), stack: "decisions" },
      ],
    },
    options: { responsive: true, scales: { y: { beginAtZero: true, stacked: true, ticks: { precision: 0 } }, x: { stacked: true } } },
  });
});
