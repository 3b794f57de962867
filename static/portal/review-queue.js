// Keyboard use of the review queue, in the approvals inbox's manner: j/k move between lines, a keeps
// (k already moves up), r revokes (into the line's reason: type it, Enter sends it), x selects for a
// bulk decision, ? shows or hides the list of keys, Esc leaves a reason field or closes the list.
(function () {
  "use strict";
  const table = document.getElementById("review-lines");
  const help = document.getElementById("review-keys");
  const toggle = document.getElementById("keys-toggle");
  if (!table || !help || !toggle) return;
  // After a decision the page comes back without the decided line: select the line now in its place.
  const STORE = `review-queue-line:${window.location.pathname}`;
  const rows = () => Array.from(table.querySelectorAll("tr.review-line"));
  let current = -1;

  function select(index) {
    const all = rows();
    if (!all.length) return;
    current = Math.max(0, Math.min(index, all.length - 1));
    all.forEach((row, i) => {
      row.classList.toggle("table-active", i === current);
      if (i === current) row.setAttribute("aria-current", "true");
      else row.removeAttribute("aria-current");
    });
    all[current].focus();
  }

  function showHelp(show) {
    help.hidden = !show;
    toggle.setAttribute("aria-expanded", String(show));
    if (show) help.focus();
  }

  toggle.addEventListener("click", () => showHelp(help.hidden));

  table.addEventListener("submit", (event) => {
    const row = event.target.closest("tr.review-line");
    if (row) window.sessionStorage.setItem(STORE, String(rows().indexOf(row)));
  });

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const field = event.target.closest ? event.target.closest("input, textarea, select") : null;
    if (field) {
      const row = field.closest("tr.review-line");
      if (event.key === "Escape" && row) {
        row.focus();
        event.preventDefault();
      }
      return;
    }
    const row = rows()[current];
    if (event.key === "?") showHelp(help.hidden);
    else if (event.key === "Escape" && !help.hidden) {
      showHelp(false);
      toggle.focus();
    } else if (event.key === "j") select(current + 1);
    else if (event.key === "k") select(current - 1);
    else if (row && event.key === "a") {
      const keep = row.querySelector('button[data-key="a"]');
      if (keep) keep.click();
    } else if (row && event.key === "r") {
      const reason = row.querySelector('input[data-key="r"]');
      if (reason) reason.focus();
    } else if (row && event.key === "x") {
      const box = row.querySelector("input[type=checkbox]");
      if (box) box.checked = !box.checked;
    } else return;
    event.preventDefault();
  });

  const saved = window.sessionStorage.getItem(STORE);
  if (saved !== null) {
    window.sessionStorage.removeItem(STORE);
    select(Number(saved));
  }
})();
