// Progress bars: width from data-progress="done/total" (the page's CSP allows no inline style),
// on load and again whenever htmx swaps in a fresh fragment.
function sizeProgressBars(root) {
  root.querySelectorAll("[data-progress]").forEach((bar) => {
    const [done, total] = bar.dataset.progress.split("/").map(Number);
    bar.style.width = total ? `${Math.round((100 * done) / total)}%` : "0%";
  });
}
sizeProgressBars(document);
document.addEventListener("htmx:afterSettle", () => sizeProgressBars(document));
