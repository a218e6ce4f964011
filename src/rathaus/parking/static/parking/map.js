// The parking map: markers from the list (the list is the source of truth and works
// without this script); refreshed whenever htmx swaps in a new list.
(function () {
  "use strict";
  function init() {
    var element = document.getElementById("parking-map");
    if (!element || typeof window.L === "undefined") { return; }
    var L = window.L;
    element.closest("section").hidden = false;
    var map = L.map(element, { scrollWheelZoom: false });
    L.tileLayer(element.dataset.tiles, { maxZoom: 19, attribution: element.dataset.attribution }).addTo(map);
    var layer = L.layerGroup().addTo(map);
    var colours = { free: "#1e6b30", full: "#b00020", stale: "#4d4d4d" };
    var fitted = false;
    function draw() {
      layer.clearLayers();
      var bounds = [];
      document.querySelectorAll("#parking-list .parking-site").forEach(function (item) {
        var lat = parseFloat(item.dataset.lat), lon = parseFloat(item.dataset.lon);
        if (isNaN(lat) || isNaN(lon)) { return; }
        var free = item.querySelector("[data-role=free]");
        var popup = document.createElement("div");
        var link = document.createElement("a");
        link.href = item.dataset.url;
        link.textContent = item.dataset.name;
        popup.appendChild(link);
        var text = document.createElement("p");
        text.textContent = free ? free.textContent.trim() : "";
        popup.appendChild(text);
        L.circleMarker([lat, lon], {
          radius: 10, color: "#ffffff", weight: 2, fillOpacity: 1,
          fillColor: colours[item.dataset.status] || colours.stale
        }).bindPopup(popup).bindTooltip(item.dataset.name + ": " + text.textContent).addTo(layer);
        bounds.push([lat, lon]);
      });
      if (!fitted && bounds.length) { map.fitBounds(bounds, { padding: [24, 24], maxZoom: 16 }); fitted = true; }
    }
    draw();
    document.addEventListener("htmx:afterSettle", draw);
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
