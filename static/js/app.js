/*
 * Behaviour every page shares. The Content-Security-Policy allows no inline
 * script or event handler, so templates mark elements with data attributes
 * and this file attaches the behaviour.
 *
 * - data-submit-on-change on a select: choosing an option submits its form
 *   (the language switcher; a <noscript> button does it without script).
 * - data-form-controls="<selector>" on a form: the matching fields, rendered
 *   by Django without classes, get Bootstrap's form-select / form-control.
 */
(function () {
  "use strict";
  document.querySelectorAll("select[data-submit-on-change]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });
  document.querySelectorAll("[data-form-controls]").forEach(function (form) {
    form.querySelectorAll(form.dataset.formControls).forEach(function (field) {
      field.classList.add(field.tagName === "SELECT" ? "form-select" : "form-control");
    });
  });
})();
