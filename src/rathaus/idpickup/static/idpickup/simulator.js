// The terminal simulator: speaks the real device protocol (see docs/modules/idpickup.md).
// Each request is signed with HMAC-SHA256 over method, path, timestamp, nonce and the
// SHA-256 of the body, exactly as rathaus.idpickup.signing.canonical_request does.
(function () {
  "use strict";
  var root = document.getElementById("simulator");
  if (!root) { return; }
  var deviceId = root.dataset.deviceId;
  var key = root.dataset.key;
  var api = root.dataset.api;
  var encoder = new TextEncoder();
  var state = { loadCompartment: null, pickupCompartment: null, session: null };

  function hex(buffer) {
    return Array.prototype.map.call(new Uint8Array(buffer), function (b) {
      return b.toString(16).padStart(2, "0");
    }).join("");
  }
  function nonce() {
    var bytes = new Uint8Array(18);
    crypto.getRandomValues(bytes);
    return hex(bytes);
  }
  function log(text, ok) {
    var item = document.createElement("li");
    item.textContent = (ok ? "✓ " : "✗ ") + text;
    item.className = ok ? "ok" : "failed";
    document.getElementById("log").prepend(item);
  }
  async function call(name, payload) {
    var path = api + name;
    var body = JSON.stringify(payload);
    var stamp = String(Math.floor(Date.now() / 1000));
    var once = nonce();
    var bodyHash = hex(await crypto.subtle.digest("SHA-256", encoder.encode(body)));
    var canonical = ["POST", path, stamp, once, bodyHash].join("\n");
    var hmacKey = await crypto.subtle.importKey(
      "raw", encoder.encode(key), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    var signature = hex(await crypto.subtle.sign("HMAC", hmacKey, encoder.encode(canonical)));
    var response = await fetch(path, {
      method: "POST",
      credentials: "omit",
      headers: {
        "Content-Type": "application/json", "Accept": "application/json",
        "X-Device-Id": deviceId, "X-Timestamp": stamp, "X-Nonce": once, "X-Signature": signature
      },
      body: body
    });
    var data = await response.json().catch(function () { return {}; });
    if (!response.ok) {
      var error = (data && data.error) || {};
      log(name + ": " + (error.message || response.status) + " [" + (error.code || "") + "]", false);
      return null;
    }
    return data;
  }
  function eventId() { return "sim-" + nonce(); }
  function door(kind, number, extra) {
    var payload = { event_id: eventId(), type: kind, occurred_at: new Date().toISOString(), compartment: number };
    Object.assign(payload, extra || {});
    return call("events/", payload);
  }
  function value(id) { return document.getElementById(id).value.trim(); }

  document.getElementById("load-form").addEventListener("submit", async function (event) {
    event.preventDefault();
    var data = await call("load/", {
      staff: [{ card: value("card1"), pin: value("pin1") }, { card: value("card2"), pin: value("pin2") }],
      barcode: value("barcode")
    });
    if (!data) { return; }
    state.loadCompartment = data.compartment;
    log("compartment " + data.compartment + " opened", true);
    await door("door_opened", data.compartment);
    document.getElementById("load-close").disabled = false;
  });
  document.getElementById("load-close").addEventListener("click", async function () {
    if (state.loadCompartment === null) { return; }
    var data = await door("door_closed", state.loadCompartment, { empty: false });
    if (data) { log("compartment " + state.loadCompartment + ": " + data.outcome, true); }
    state.loadCompartment = null;
    this.disabled = true;
  });
  document.getElementById("identify-form").addEventListener("submit", async function (event) {
    event.preventDefault();
    var data = await call("pickup/identify/", { pin: value("pickup-pin"), booking_number: value("booking") });
    if (!data) { return; }
    state.session = data.session;
    log("PIN accepted for " + data.given_name + "; fingerprint reference " + data.fingerprint_ref, true);
    document.getElementById("verify-form").hidden = false;
  });
  document.getElementById("verify-form").addEventListener("submit", async function (event) {
    event.preventDefault();
    var method = document.querySelector("input[name=method]:checked").value;
    var data = await call("pickup/verify/", {
      session: state.session || "",
      method: method,
      matched: document.getElementById("matched").checked,
      old_document_invalidated: method === "old_document",
      receipt_confirmed: document.getElementById("receipt").checked
    });
    this.hidden = true;
    state.session = null;
    if (!data) { return; }
    state.pickupCompartment = data.compartment;
    log("compartment " + data.compartment + " opened", true);
    await door("door_opened", data.compartment);
    document.getElementById("pickup-close").disabled = false;
  });
  document.getElementById("pickup-close").addEventListener("click", async function () {
    if (state.pickupCompartment === null) { return; }
    var data = await door("door_closed", state.pickupCompartment, { empty: true });
    if (data) { log("compartment " + state.pickupCompartment + ": " + data.outcome, true); }
    state.pickupCompartment = null;
    this.disabled = true;
  });
  document.getElementById("heartbeat").addEventListener("click", async function () {
    var data = await call("heartbeat/", { camera_ok: true });
    if (data) {
      var used = data.compartments.filter(function (c) { return c.occupied; }).length;
      log("heartbeat: " + used + "/" + data.compartments.length + " occupied", true);
    }
  });
}());
