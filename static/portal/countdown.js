// Keeps "ends at 14:05 (in 1 h 40 min)" on My access current: the server writes the whole text, this
// updates the relative part every 20 s from the element's data-ends-at (ISO 8601). No dependencies.
// Looked up on every tick, so rows htmx swaps in are counted down too.
(function () {
  "use strict";

  function inWords(seconds) {
    if (seconds <= 0) return "ending now";
    var minutes = Math.ceil(seconds / 60);
    var hours = Math.floor(minutes / 60);
    minutes = minutes % 60;
    if (hours && minutes) return "in " + hours + " h " + minutes + " min";
    return hours ? "in " + hours + " h" : "in " + minutes + " min";
  }

  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-ends-at]").forEach(function (element) {
      var ends = Date.parse(element.getAttribute("data-ends-at"));
      var left = element.querySelector("[data-time-left]");
      if (!isNaN(ends) && left) left.textContent = inWords((ends - now) / 1000);
    });
  }

  tick();
  setInterval(tick, 20000);
})();
