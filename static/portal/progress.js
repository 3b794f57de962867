// Progress bars: width from data-progress="done/total" (the page's CSP allows no inline style).
document.querySelectorAll("[data-progress]").forEach((bar) => {
  const [done, total] = bar.dataset.progress.split("/").map(Number);
  bar.style.width = total ? `${Math.round((100 * done) / total)}%` : "0%";
});
