// The diagram of one process instance: done, current and failed elements are marked
// with CSS classes (workflow.css). The list under the diagram says the same in text.
(function () {
  "use strict";

  function ids(element, name) {
    return (element.getAttribute(name) || "").split(" ").filter(Boolean);
  }

  function start() {
    var wrapper = document.getElementById("diagram");
    var source = document.getElementById("diagram-xml");
    if (!wrapper || !source || typeof window.BpmnJS !== "function" || !source.value) { return; }
    var viewer = new window.BpmnJS({ container: document.getElementById("diagram-canvas") });
    window.rathausViewer = viewer;
    wrapper.hidden = false;
    viewer.importXML(source.value).then(function () {
      var canvas = viewer.get("canvas");
      var registry = viewer.get("elementRegistry");
      var marks = { "data-done": "wf-done", "data-current": "wf-current", "data-failed": "wf-failed" };
      Object.keys(marks).forEach(function (attribute) {
        ids(wrapper, attribute).forEach(function (id) {
          if (registry.get(id)) { canvas.addMarker(id, marks[attribute]); }
        });
      });
      canvas.zoom("fit-viewport");
      wrapper.setAttribute("data-ready", "true");
    }).catch(function () {
      wrapper.hidden = true;
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
