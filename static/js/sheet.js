/*
 * Live totals of a score sheet while the unit types. Points are handled in
 * integer hundredths (as the server stores them), so the page shows the same
 * exact totals the server will compute: standard + min(bonus, cap) − min(deductions, cap);
 * a group's subtotal is the signed sum of the leaves under it.
 */
(function () {
  "use strict";
  var form = document.getElementById("sheet-form");
  if (!form) { return; }

  function hundredths(text) {
    var value = String(text || "").trim().replace(",", ".");
    if (value === "" || !/^\d+(\.\d{0,2})?$/.test(value)) { return null; }
    var parts = value.split(".");
    return parseInt(parts[0], 10) * 100 + parseInt(((parts[1] || "") + "00").slice(0, 2), 10);
  }
  function show(cents) {
    var sign = cents < 0 ? "-" : "";
    cents = Math.abs(cents);
    var whole = Math.floor(cents / 100), frac = cents % 100;
    if (frac === 0) { return sign + whole; }
    return sign + whole + "," + (frac % 10 === 0 ? String(frac / 10) : String(frac).padStart(2, "0"));
  }

  var bonusCap = hundredths(form.dataset.bonusCap);
  var deductionCap = hundredths(form.dataset.deductionCap);
  var rows = Array.prototype.slice.call(form.querySelectorAll("tr[data-criterion]"));

  function recompute() {
    var sums = { standard: 0, bonus: 0, deduction: 0 };
    var subtotals = {};
    var filled = 0, missing = 0;
    rows.forEach(function (row) {
      var input = row.querySelector("input.points");
      var cents = hundredths(input.value);
      var kind = row.dataset.kind;
      if (input.value.trim() !== "") { filled += 1; }
      input.classList.toggle("is-invalid", input.value.trim() !== "" && cents === null);
      if (cents === null) { cents = 0; }
      sums[kind] += cents;
      var code = row.dataset.code;
      while (code.indexOf(".") > 0) {
        code = code.slice(0, code.lastIndexOf("."));
        subtotals[code] = (subtotals[code] || 0) + (kind === "deduction" ? -cents : cents);
      }
      var files = row.querySelector("input[type=file]");
      var kept = row.querySelectorAll("input[name=remove_evidence]:not(:checked)").length;
      var count = kept + (files && files.files ? files.files.length : 0);
      if (row.dataset.evidenceRequired === "1" && cents > 0 && count === 0) { missing += 1; }
    });
    Object.keys(subtotals).forEach(function (code) {
      var cell = document.querySelector('[data-subtotal="' + code + '"]');
      if (cell) { cell.textContent = show(subtotals[code]); }
    });
    var total = sums.standard + Math.min(sums.bonus, bonusCap) - Math.min(sums.deduction, deductionCap);
    var set = function (name, cents) {
      var cell = document.querySelector('[data-total="' + name + '"]');
      if (cell) { cell.textContent = show(cents); }
    };
    set("standard", sums.standard); set("bonus", sums.bonus); set("deduction", sums.deduction); set("total", total);
    var percent = rows.length ? Math.round(100 * filled / rows.length) : 0;
    document.getElementById("progress-bar").style.width = percent + "%";
    document.getElementById("progress-text").textContent =
      form.dataset.progressLabel.replace("%(filled)s", filled).replace("%(total)s", rows.length);
    document.getElementById("evidence-text").textContent =
      missing ? form.dataset.missingLabel.replace("%(count)s", missing) : "";
  }

  form.addEventListener("input", recompute);
  form.addEventListener("change", recompute);
  recompute();
})();
