// Small progressive enhancements; every page works without this file.
(function () {
  "use strict";
  // After htmx swaps in a form with errors, move focus to the error summary so that
  // screen-reader users hear what went wrong.
  document.addEventListener("htmx:afterSwap", function (event) {
    var summary = event.target.querySelector && event.target.querySelector(".error-summary");
    if (summary) { summary.focus(); }
  });
  document.addEventListener("DOMContentLoaded", function () {
    var summary = document.querySelector(".error-summary");
    if (summary) { summary.focus(); }
  });
})();
