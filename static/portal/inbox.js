// Keyboard use of the approval inbox: j/k move between rows, a approves, d denies, x selects.
(function () {
  "use strict";
  const rows = () => Array.from(document.querySelectorAll("tr.inbox-row"));
  let current = -1;

  function focusRow(index) {
    const all = rows();
    if (!all.length) return;
    current = Math.max(0, Math.min(index, all.length - 1));
    all.forEach((row, i) => row.classList.toggle("table-active", i === current));
    all[current].focus();
  }

  document.addEventListener("keydown", (event) => {
    const typing = event.target.closest("input, textarea, select");
    if (typing || event.ctrlKey || event.metaKey || event.altKey) return;
    const row = rows()[current];
    if (event.key === "j") focusRow(current + 1);
    else if (event.key === "k") focusRow(current - 1);
    else if (row && (event.key === "a" || event.key === "d")) {
      const button = row.querySelector(`button[data-key="${event.key}"]`);
      if (button) button.click();
    } else if (row && event.key === "x") {
      const box = row.querySelector("input[type=checkbox]");
      if (box) box.checked = !box.checked;
    } else return;
    event.preventDefault();
  });
})();
