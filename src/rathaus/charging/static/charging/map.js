// The charging map: markers from the open-data API on top of the configured tiles.
// The list on the page is the accessible alternative; without Leaflet nothing happens.
(function () {
  "use strict";
  function start() {
    var element = document.getElementById("charging-map");
    if (!element || !window.L) { return; }
    var map = window.L.map(element, { scrollWheelZoom: false });
    window.L.tileLayer(element.dataset.tiles, {
      maxZoom: 19, attribution: element.dataset.attribution
    }).addTo(map);
    fetch(element.dataset.locations, { headers: { "Accept": "application/json" } })
      .then(function (response) { return response.json(); })
      .then(function (body) {
        var bounds = [];
        (body.data || []).forEach(function (location) {
          var lat = parseFloat(location.coordinates.latitude);
          var lon = parseFloat(location.coordinates.longitude);
          var free = (location.evses || []).filter(function (evse) {
            return evse.status === "AVAILABLE";
          }).length;
          var popup = document.createElement("div");
          var title = document.createElement("strong");
          title.textContent = location.name;
          popup.appendChild(title);
          popup.appendChild(document.createElement("br"));
          popup.appendChild(document.createTextNode(
            free + " / " + (location.evses || []).length + " " + element.dataset.connectors));
          window.L.marker([lat, lon], { title: location.name }).addTo(map).bindPopup(popup);
          bounds.push([lat, lon]);
        });
        if (bounds.length) { map.fitBounds(bounds, { maxZoom: 16, padding: [24, 24] }); }
        else { map.setView([51.16, 10.45], 6); }
      })
      .catch(function () { element.hidden = true; });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); }
  else { start(); }
})();
