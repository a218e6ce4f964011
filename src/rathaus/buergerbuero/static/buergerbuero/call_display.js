// Call display: a chime whenever a new call appears (after a person turned sound on:
// browsers allow audio only after a gesture). The list itself is refreshed by htmx.
(function () {
  "use strict";
  let enabled = false;
  let latest = null;
  let context = null;
  function chime() {
    if (!enabled || !context) { return; }
    const now = context.currentTime;
    [659.25, 523.25].forEach(function (frequency, index) {
      const oscillator = context.createOscillator();
      const gain = context.createGain();
      oscillator.frequency.value = frequency;
      gain.gain.setValueAtTime(0.0001, now + index * 0.45);
      gain.gain.exponentialRampToValueAtTime(0.4, now + index * 0.45 + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, now + index * 0.45 + 0.4);
      oscillator.connect(gain).connect(context.destination);
      oscillator.start(now + index * 0.45);
      oscillator.stop(now + index * 0.45 + 0.45);
    });
  }
  function check() {
    const calls = document.getElementById("calls");
    if (!calls) { return; }
    const value = calls.getAttribute("data-latest");
    if (latest !== null && value !== latest && value !== "0") { chime(); }
    latest = value;
  }
  document.addEventListener("DOMContentLoaded", function () {
    check();
    const button = document.getElementById("bb-sound");
    if (button) {
      button.addEventListener("click", function () {
        context = context || new (window.AudioContext || window.webkitAudioContext)();
        enabled = true;
        button.hidden = true;
        chime();
      });
    }
  });
  document.body.addEventListener("htmx:afterSwap", check);
})();
