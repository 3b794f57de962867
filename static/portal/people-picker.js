// A search box over a multiple select of people: typing hides the people who do not match (by name or
// email), and never the ones already chosen, so a choice cannot vanish from sight. No inline script:
// the box names its select in data-filters.
document.querySelectorAll("input[data-filters]").forEach((box) => {
  const select = document.getElementById(box.dataset.filters);
  if (!select) return;
  const status = document.getElementById(box.dataset.status);
  box.addEventListener("input", () => {
    const words = box.value.trim().toLowerCase();
    let shown = 0;
    for (const option of select.options) {
      option.hidden = Boolean(words) && !option.selected && !option.text.toLowerCase().includes(words);
      if (!option.hidden) shown += 1;
    }
    if (status) status.textContent = `${shown} ${shown === 1 ? "person" : "people"} shown`;
  });
  // Enter in the search box would submit the whole form: it only filters.
  box.addEventListener("keydown", (event) => {
    if (event.key === "Enter") event.preventDefault();
  });
});
