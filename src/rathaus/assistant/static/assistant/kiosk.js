// Kiosk of the service assistant: display modes and the idle reset that clears
// everything (the page, its query and the modes) so the next visitor sees nothing.
(function () {
  "use strict";
  var root = document.querySelector(".assistant-kiosk");
  if (!root) { return; }
  var modes = { contrast: "assistant-contrast", large: "assistant-large" };
  var stored = {};
  try { stored = JSON.parse(sessionStorage.getItem("assistant-modes") || "{}"); } catch (e) { stored = {}; }
  function apply() {
    Object.keys(modes).forEach(function (mode) {
      document.body.classList.toggle(modes[mode], !!stored[mode]);
      root.querySelectorAll('[data-mode="' + mode + '"]').forEach(function (button) {
        button.setAttribute("aria-pressed", stored[mode] ? "true" : "false");
      });
    });
  }
  root.querySelectorAll("[data-mode]").forEach(function (button) {
    button.addEventListener("click", function () {
      var mode = button.getAttribute("data-mode");
      stored[mode] = !stored[mode];
      sessionStorage.setItem("assistant-modes", JSON.stringify(stored));
      apply();
    });
  });
  apply();
  var seconds = parseInt(root.getAttribute("data-idle-seconds") || "90", 10);
  var timer = null;
  function reset() {
    sessionStorage.removeItem("assistant-modes");
    window.location.replace(root.getAttribute("data-idle-url"));
  }
  function touch() {
    if (timer) { clearTimeout(timer); }
    timer = setTimeout(reset, seconds * 1000);
  }
  ["pointerdown", "keydown", "touchstart", "scroll"].forEach(function (name) {
    document.addEventListener(name, touch, { passive: true });
  });
  touch();
}());
