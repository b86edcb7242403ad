/*
 * The showcase form: moves focus to the error summary after a refused submit (the summary
 * carries `autofocus` too), and shows the address the showcase will have as the user types —
 * the key derived from the name as the server derives it (lower case, the part before the first
 * comma, runs of anything but a-z0-9 turned into "-"), the year from the start date.
 * The form works without it. Vanilla JS, no build step.
 */
(function () {
  "use strict";

  function deriveKey(name) {
    return name.toLowerCase().split(",")[0].replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "");
  }

  function value(form, id) {
    var element = form.querySelector("#" + id);
    return element ? element.value.trim() : "";
  }

  function init() {
    var summary = document.getElementById("error-summary");
    if (summary) summary.focus();
    var form = document.querySelector("form.showcase-form");
    var output = document.getElementById("address");
    if (!form || !output) return;
    var fleet = (form.dataset.fleetUrl || "").replace(/\/+$/, "");
    function update() {
      var select = form.querySelector("#location_id");
      var option = select ? select.options[select.selectedIndex] : null;
      var location = option ? option.getAttribute("data-key") : "";
      var key = value(form, "key") || deriveKey(value(form, "name"));
      var start = value(form, "start_date");
      var year = value(form, "year") || (start ? start.slice(0, 4) : "");
      output.textContent = key && year && location
        ? fleet + "/showcase/" + year + "/" + location + "/" + key + "/"
        : "(fill in the name and the start date)";
    }
    form.addEventListener("input", update);
    form.addEventListener("change", update);
    update();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
