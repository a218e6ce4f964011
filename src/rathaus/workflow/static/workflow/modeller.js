// The diagram editor of /verwaltung/prozesse/versionen/<id>/bearbeiten/<file>.
// Loads the XML from the form's textarea into bpmn-js (BPMN) or dmn-js (DMN), and on
// "deploy" writes the edited XML back into the textarea and submits the form: the server
// validates it like an upload. Without these libraries the textarea stays the editor.
(function () {
  "use strict";

  function start() {
    var form = document.getElementById("modeller-form");
    if (!form) { return; }
    var kind = form.getAttribute("data-kind");
    var Library = kind === "dmn" ? window.DmnJS : window.BpmnJS;
    if (typeof Library !== "function") { return; }
    var wrapper = document.getElementById("modeller");
    var canvas = document.getElementById("modeller-canvas");
    var status = document.getElementById("modeller-status");
    var field = document.getElementById("xml-field");
    var textarea = form.querySelector("textarea[name=xml]");
    var editor = new Library({ container: canvas, });
    window.rathausModeller = editor;

    wrapper.hidden = false;
    editor.importXML(textarea.value).then(function () {
      field.classList.add("js-hidden");
      if (kind === "dmn") {
        // Our decision files have no diagram (DRD): open the first decision table.
        var table = editor.getViews().filter(function (view) { return view.type === "decisionTable"; })[0];
        if (table) { return editor.open(table); }
      } else {
        editor.get("canvas").zoom("fit-viewport");
      }
    }).then(function () {
      form.setAttribute("data-ready", "true");
    }).catch(function (error) {
      // Keep the XML field so the file can still be corrected by hand.
      wrapper.hidden = true;
      field.classList.remove("js-hidden");
      status.textContent = form.getAttribute("data-load-error") || String(error && error.message || error);
    });

    var saving = false;
    form.addEventListener("submit", function (event) {
      if (saving || field.classList.contains("js-hidden") === false) { return; }
      event.preventDefault();
      saving = true;
      editor.saveXML({ format: true }).then(function (result) {
        textarea.value = result.xml;
        form.submit();
      }).catch(function (error) {
        saving = false;
        status.textContent = String(error && error.message || error);
      });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
