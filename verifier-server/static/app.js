// govid gate page: camera (BarcodeDetector, else the bundled jsQR) or keyboard-wedge scanner ->
// POST /v1/verify -> a large verdict with a symbol and words -> back to "Ready" after a few
// seconds. No third-party code besides the vendored jsQR; nothing is stored in the browser.
(function () {
  "use strict";

  var RESET_MS = 4000;      // how long a verdict stays on screen
  var SAME_CODE_MS = 6000;  // ignore the same code seen again by the camera within this time
  var SCAN_EVERY_MS = 120;

  var $ = function (id) { return document.getElementById(id); };
  var result = $("result"), symbol = $("symbol"), verdict = $("verdict");
  var nameEl = $("name"), orgEl = $("org"), reasonEl = $("reason");
  var video = $("video"), canvas = $("frame"), cameraStatus = $("camera-status");
  var form = $("manual"), input = $("code");

  var busy = false, resetTimer = null, lastText = "", lastAt = 0, detector = null;

  // Words for every reason a gate gives; unknown codes are shown as they are.
  var REASONS = {
    bad_qr: "Not a govid code",
    malformed: "Not a valid ID",
    bad_signature: "Forged or altered ID",
    untrusted_issuer: "Issuer not trusted here",
    unknown_issuer_key: "Issuer key not known",
    issuer_resolution: "Issuer could not be checked",
    expired: "ID has expired",
    not_yet_valid: "ID not valid yet",
    revoked: "ID has been revoked",
    suspended: "ID is suspended",
    status_other: "ID status does not allow entry",
    status_unknown: "ID status could not be checked",
    status_claim_missing: "ID has no status entry",
    replayed: "Code already used: show a fresh code",
    kb_aud: "Code made for another gate",
    kb_nonce: "Code does not answer this gate's challenge",
    kb_iat: "Code is too old: show a fresh code",
    kb_missing: "Code is not bound to the phone",
    kb_signature: "Code not signed by the ID holder",
    sd_hash: "Code was altered",
    missing_claim: "ID did not share what this gate needs",
    challenge_unknown: "Challenge unknown or expired",
    typ: "Not a worker ID",
    vct_not_accepted: "This kind of ID is not accepted here",
    replay_cache_full: "Gate busy: try again",
    too_large: "Code too large",
    rate_limited: "Too many attempts: wait a moment",
    network: "Gate server unreachable"
  };

  function text(el, value) { el.textContent = value || ""; }

  function show(state, sym, word, name, org, reason) {
    document.body.dataset.state = state;
    result.className = "result " + state;
    text(symbol, sym); text(verdict, word); text(nameEl, name); text(orgEl, org); text(reasonEl, reason);
  }

  function ready() {
    busy = false;
    show("ready", "\u25CE", "Ready", "Show your ID code to the camera", "", "");
    input.value = "";
    input.focus();
  }

  function fullName(d) {
    return [d.given_name, d.family_name].filter(Boolean).join(" ");
  }

  function orgName(d) {
    var o = d.organization || {};
    if (o.name && o.code) { return o.name + " (" + o.code + ")"; }
    return o.name || o.code || "";
  }

  function verdictFor(body) {
    if (body && body.decision === "allow") {
      var d = body.disclosed || {};
      var status = body.credential_status === "unknown" ? "Status could not be checked" : "";
      show("allow", "\u2713", "Allowed", fullName(d), orgName(d), status);
    } else {
      var reason = body && (body.reason || body.error);
      show("deny", "\u2717", "Denied", "", "", REASONS[reason] || reason || "Not allowed");
      reasonEl.dataset.reason = reason || "";
    }
    clearTimeout(resetTimer);
    resetTimer = setTimeout(ready, RESET_MS);
  }

  function check(code) {
    code = (code || "").trim();
    if (!code || busy) { return; }
    busy = true;
    lastText = code; lastAt = Date.now();
    show("checking", "\u2026", "Checking", "", "", "");
    fetch("/v1/verify", {
      method: "POST",
      headers: { "Content-Type": "text/plain; charset=utf-8" },
      body: code,
      cache: "no-store",
      credentials: "same-origin"
    }).then(function (r) {
      return r.json().catch(function () { return { error: "network" }; });
    }).then(verdictFor, function () {
      verdictFor({ error: "network" });
    });
  }

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var value = input.value;
    input.value = "";
    check(value);
  });

  // Keep the scanner field focused so a keyboard-wedge scanner always types into it.
  document.addEventListener("click", function (e) {
    if (e.target === document.body || e.target === result) { input.focus(); }
  });

  function onCode(code) {
    if (busy || !code) { return; }
    if (code === lastText && Date.now() - lastAt < SAME_CODE_MS) { return; }
    check(code);
  }

  function scanLoop() {
    setTimeout(scanLoop, SCAN_EVERY_MS);
    if (busy || video.readyState < 2 || !video.videoWidth) { return; }
    if (detector) {
      detector.detect(video).then(function (codes) {
        if (codes && codes.length) { onCode(codes[0].rawValue); }
      }, function () { detector = null; });
      return;
    }
    if (typeof jsQR !== "function") { return; }
    var w = video.videoWidth, h = video.videoHeight;
    var scale = Math.min(1, 800 / Math.max(w, h));
    w = Math.round(w * scale); h = Math.round(h * scale);
    canvas.width = w; canvas.height = h;
    var ctx = canvas.getContext("2d", { willReadFrequently: true });
    ctx.drawImage(video, 0, 0, w, h);
    var found = jsQR(ctx.getImageData(0, 0, w, h).data, w, h, { inversionAttempts: "dontInvert" });
    if (found && found.data) { onCode(found.data); }
  }

  function startCamera() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      text(cameraStatus, "No camera access in this browser: use a scanner or paste the code.");
      return;
    }
    navigator.mediaDevices.getUserMedia({
      video: { facingMode: "environment", width: { ideal: 1280 }, height: { ideal: 720 } },
      audio: false
    }).then(function (stream) {
      video.srcObject = stream;
      var p = video.play(); if (p && p.catch) { p.catch(function () {}); }
      var how = "jsQR";
      if ("BarcodeDetector" in window) {
        try {
          detector = new window.BarcodeDetector({ formats: ["qr_code"] });
          how = "BarcodeDetector";
        } catch (e) { detector = null; }
      }
      text(cameraStatus, "Camera on (" + how + ").");
      document.body.dataset.decoder = how;
      scanLoop();
    }, function () {
      text(cameraStatus, "Camera unavailable: use a scanner or paste the code.");
    });
  }

  // Challenge mode: show the gate's GVC1 code when the gate offers one.
  var challengeBox = $("challenge-box"), challengeButton = $("challenge-button");
  challengeButton.addEventListener("click", function () {
    fetch("/v1/challenge", { method: "POST", cache: "no-store" }).then(function (r) {
      return r.ok ? r.json() : null;
    }).then(function (c) {
      if (!c || !c.qr_png) { return; }
      $("challenge-img").src = c.qr_png;
      $("challenge-figure").hidden = false;
      input.focus();
    }, function () {});
  });

  fetch("/healthz", { cache: "no-store" }).then(function (r) { return r.json(); }).then(function (h) {
    text($("gate"), h && h.gate ? "Gate: " + h.gate : "");
    if (h && h.challenge_mode) { challengeBox.hidden = false; }
  }, function () {});

  ready();
  startCamera();
})();
