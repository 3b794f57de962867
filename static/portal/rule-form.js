// The SoD rule form: narrow an entitlement picker's options as one types in its search box (chosen
// options always stay shown), and show only the part of the form the rule's kind uses. Without
// script every option and both parts stay shown, and the form still works.
(function () {
  function narrow(search) {
    var select = document.getElementById(search.dataset.filters);
    if (!select) return;
    var words = search.value.trim().toLowerCase().split(/\s+/).filter(Boolean);
    Array.prototype.forEach.call(select.options, function (option) {
      var text = option.text.toLowerCase();
      option.hidden = !option.selected && !words.every(function (word) { return text.indexOf(word) !== -1; });
    });
  }

  function showKind(form) {
    var chosen = form.querySelector('input[name="kind"]:checked');
    form.querySelectorAll("[data-rule-kind]").forEach(function (part) {
      part.hidden = chosen !== null && part.dataset.ruleKind !== chosen.value;
    });
  }

  function start() {
    document.querySelectorAll("input[data-filters]").forEach(function (search) {
      search.addEventListener("input", function () { narrow(search); });
    });
    var form = document.getElementById("rule-form");
    if (form) {
      form.querySelectorAll('input[name="kind"]').forEach(function (radio) {
        radio.addEventListener("change", function () { showKind(form); });
      });
      showKind(form);
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
